"""Kernel-efficiency parameters per chip: names, meanings, analytic defaults, fitted values.

Every efficiency model of the kernel layer (gemm, attention, grouped_gemm, memory) reads
its few physically meaningful constants from one `KernelParams`: a flat mapping
`name -> float` plus where the values came from (`source`: "analytic" or
"fitted:<file>"). `PARAMS` documents each name; its default is derived from the
`ChipSpec` alone (efficiencies are dimensionless fractions of the chip's datasheet
peaks, latencies start from `chip.kernel_launch_s`), so any catalog chip gets a
prediction; fitted files replace the defaults where measured cases exist. The per-kernel
parameters (`gemm.lib.<l>`, `attn.eff.<k>`, `grouped.lib.<l>`) come from the rows of the
kernel catalog (kernel/catalog.py) and follow it when rows are registered at run time
(`rebuild`); a `KernelParams` loaded before a row was registered reads that row's
parameters at their analytic default.

Also here: `KernelTime`, the breakdown every model returns (arrays broadcast over shapes).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hundredx.chip.spec import ChipSpec
from hundredx.formats import COMPUTE_CLASSES
from hundredx.kernel import catalog

MEMORY_OPS = ("copy", "read", "add", "triad", "rmsnorm", "activation", "rope", "quantize", "gather")

_GEMM_EFF = {"fp32": 0.80, "tf32": 0.60, "bf16": 0.75, "fp16": 0.75, "fp8": 0.68, "int8": 0.70, "fp6": 0.65,
             "fp4": 0.70}


@dataclass(frozen=True, slots=True)
class ParamSpec:
    """One parameter: default from the chip, fit bounds, meaning (shown in docs/kernels.md)."""

    name: str
    default: Callable[[ChipSpec], float]
    lo: float
    hi: float
    doc: str


def _from_catalog(kind: str) -> list[ParamSpec]:
    """The efficiency parameters of the catalog rows of one kind, in catalog order."""
    return [ParamSpec(p.name, _constant(p.default), p.lo, p.hi, p.doc)
            for row in catalog.rows(kind) for p in row.params]


def _constant(value: float) -> Callable[[ChipSpec], float]:
    """A default that is the same on every chip."""
    return lambda c: value


# GEMM parameters beyond the per-class and per-library efficiencies
_GEMM_SPECS: tuple[ParamSpec, ...] = (
    ParamSpec("gemm.mem_eff", lambda c: 0.80, 0.2, 1.0,
              "fraction of HBM bandwidth when a GEMM streams weights (small M)"),
    ParamSpec("gemm.latency_s", lambda c: c.kernel_launch_s, 5e-7, 5e-5,
              "fixed time per GEMM call (launch + prologue/epilogue)"),
    ParamSpec("gemm.scaled_latency_s", lambda c: 1e-6, 1e-8, 5e-5,
              "extra fixed time of block-scaled FP4/MX GEMMs (scale layout/setup)"),
    ParamSpec("gemm.overlap_p", lambda c: 4.0, 1.0, 16.0,
              "p-norm combining compute and memory time (p=inf: perfect overlap)"),
    ParamSpec("gemm.unaligned", lambda c: 0.33, 0.05, 1.0,
              "efficiency factor when a K or N row stride is not a multiple of alignment_bytes"),
    ParamSpec("gemm.unaligned_mem", lambda c: 0.70, 0.1, 1.0,
              "memory-bandwidth factor of GEMMs with unaligned operand strides"),
    ParamSpec("gemm.odd", lambda c: 0.8, 0.05, 1.0,
              "further factor when a row stride is not even 4-byte aligned (odd sizes)"),
    ParamSpec("gemm.dequant_eff", lambda c: 0.85, 0.3, 1.0,
              "compute-rate factor of a GEMM dequantizing weights of a format the chip has no tensor-core path "
              "for (FP4 on Hopper, FP8 on Ampere; ASSUMPTION, no case identifies it)"),
    ParamSpec("gemm.k_half", lambda c: 64.0, 1.0, 2048.0,
              "K at which per-tile prologue/epilogue halves efficiency: eff_k = K/(K+k_half)"),
)
# attention beyond the per-kernel efficiencies, memory-bound kernels, host and recurrent kernels
_OTHER_SPECS: tuple[ParamSpec, ...] = (
    ParamSpec("attn.seq_half", lambda c: 300.0, 1.0, 8192.0,
              "KV length at which short-sequence underfill halves efficiency"),
    ParamSpec("attn.seq_exp", lambda c: 1.7, 0.5, 4.0, "exponent of the underfill law eff = 1/(1+(s_half/s)^exp)"),
    ParamSpec("attn.hdim_half", lambda c: 54.0, 1.0, 512.0,
              "head dim at which small-head-dim efficiency halves (normalised at 128)"),
    ParamSpec("attn.hdim_large", lambda c: 0.10, 0.0, 2.0, "efficiency loss exponent above head dim 128: (128/d)^x"),
    ParamSpec("attn.causal_eff", lambda c: 0.92, 0.3, 1.0,
              "efficiency factor of causal masking (diagonal tiles, imbalance)"),
    ParamSpec("attn.bwd_ratio", lambda c: 0.85, 0.2, 1.2,
              "backward-pass efficiency relative to the forward of the same kernel"),
    ParamSpec("attn.decode_mem_eff", lambda c: 0.90, 0.2, 1.0, "fraction of HBM bandwidth for decode KV reads"),
    ParamSpec("attn.decode_latency_s", lambda c: 2.0 * c.kernel_launch_s, 5e-7, 1e-4,
              "fixed time of a decode attention call (incl. split-KV combine)"),
    ParamSpec("attn.unfused_passes", lambda c: 4.0, 0.5, 16.0,
              "unfused attention: HBM passes over each GQA-expanded KV copy"),
    ParamSpec("mem.eff", lambda c: 0.90, 0.2, 1.0, "achievable fraction of HBM bandwidth for streaming kernels"),
    ParamSpec("mem.latency_s", lambda c: c.kernel_launch_s, 5e-7, 5e-5,
              "fixed time per memory-bound kernel (half-saturation size = latency*bw*eff)"),
    ParamSpec("mem.rmsnorm.kernels", lambda c: 1.0, 1.0, 12.0, "kernels per unfused RMSNorm (1 = one fused kernel)"),
    ParamSpec("mem.rmsnorm.traffic", lambda c: 1.0, 1.0, 6.0,
              "HBM bytes moved per nominal RMSNorm byte (fp32 upcast, re-reads)"),
    ParamSpec("mem.fused_share", lambda c: 0.10, 0.0, 1.0,
              "fraction of a fused op's bytes still paid inside its host kernel"),
    ParamSpec("launch_s", lambda c: c.kernel_launch_s, 5e-7, 5e-5, "host launch cost per kernel without CUDA graphs"),
    ParamSpec("graph_kernel_s", lambda c: 3.0e-6, 1e-7, 1e-5,
              "per-kernel fixed time inside a CUDA-graph replay "
              "(ASSUMPTION: 2-4 us on Hopper incl. the inter-kernel gap)"),
    ParamSpec("recurrent.eff", lambda c: 0.30, 0.02, 1.0, "tensor-core efficiency of chunked linear-attention kernels"),
)


def _specs() -> dict[str, ParamSpec]:
    s: list[ParamSpec] = []
    for cls in COMPUTE_CLASSES:
        s.append(ParamSpec(f"gemm.eff.{cls}", _constant(_GEMM_EFF[cls]), 0.05, 1.0,
                           f"max fraction of the {cls} dense peak a large, aligned GEMM reaches"))
    s += _from_catalog("gemm")
    s += _GEMM_SPECS
    s += _from_catalog("attention")
    s += _OTHER_SPECS
    s += _from_catalog("grouped_gemm")
    return {p.name: p for p in s}


PARAMS: dict[str, ParamSpec] = _specs()
_CATALOG_DEFAULTS: dict[str, float] = {p.name: p.default for p in catalog.eff_params()}


def rebuild() -> None:
    """Refresh PARAMS (in place: every importer sees it) after the kernel catalog changed."""
    PARAMS.clear()
    PARAMS.update(_specs())
    _CATALOG_DEFAULTS.clear()
    _CATALOG_DEFAULTS.update({p.name: p.default for p in catalog.eff_params()})


def default_values(chip: ChipSpec) -> dict[str, float]:
    """Analytic defaults for every parameter, derived from the chip spec."""
    return {name: float(spec.default(chip)) for name, spec in PARAMS.items()}


@dataclass(frozen=True, slots=True)
class KernelParams:
    """Parameter values for one chip. `source` is "analytic", "fitted:<file>" or "family:<file>".
    `domains` holds the fitted domains the values were informed by (kernel/domain.py): "fitted"
    (the chip's own cases) and "family" (the family fit it was pooled with or transferred from);
    `calibration` the restriction they were loaded under (kernel/loading.py)."""

    chip_id: str
    values: dict[str, float]
    source: str = "analytic"
    fitted_keys: tuple[str, ...] = ()
    provenance: dict = field(default_factory=dict)
    domains: dict = field(default_factory=dict)
    calibration: str = "auto"

    def __post_init__(self) -> None:
        unknown = sorted(set(self.values) - set(PARAMS))
        if unknown:
            raise ValueError(f"kernel params for {self.chip_id}: unknown names {unknown}")
        for name, value in self.values.items():
            if not np.isfinite(value) or value < 0:
                raise ValueError(f"kernel params for {self.chip_id}: {name}={value} must be finite and >= 0")

    def __getitem__(self, name: str) -> float:
        try:
            return self.values[name]
        except KeyError:  # a catalog row registered after these values were loaded: its analytic default
            if name in _CATALOG_DEFAULTS:
                return _CATALOG_DEFAULTS[name]
            raise

    @classmethod
    def analytic(cls, chip: ChipSpec) -> KernelParams:
        return cls(chip.id, default_values(chip), "analytic")

    def replace_values(self, updates: dict[str, float], source: str | None = None) -> KernelParams:
        values = dict(self.values)
        values.update({k: float(v) for k, v in updates.items()})
        return KernelParams(self.chip_id, values, source or self.source, self.fitted_keys, self.provenance,
                            self.domains, self.calibration)

    def to_dict(self) -> dict[str, Any]:
        return {"chip": self.chip_id, "values": self.values, "fitted_keys": list(self.fitted_keys),
                "provenance": self.provenance}


@dataclass(frozen=True, slots=True)
class KernelTime:
    """Time breakdown of one kernel call (arrays broadcast over shapes), in seconds.

    time_s = combine(compute_s, memory_s) + latency_s; sol_s = max(flops/peak, bytes/bw).
    """

    time_s: Any
    compute_s: Any
    memory_s: Any
    latency_s: Any
    sol_s: Any
    flops: Any
    bytes: Any
    parts: dict = field(default_factory=dict)
    unsupported: str = ""


def combine(compute_s: Any, memory_s: Any, p: float) -> Any:
    """p-norm of compute and memory time: max() at p=inf, the sum at p=1 (partial overlap between)."""
    c, m = np.asarray(compute_s, float), np.asarray(memory_s, float)
    top = np.maximum(np.maximum(c, m), 1e-30)
    return top * ((c / top) ** p + (m / top) ** p) ** (1.0 / p)
