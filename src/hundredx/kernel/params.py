"""Kernel-efficiency parameters per chip: names, meanings, analytic defaults, fitted values.

Every efficiency model of the kernel layer (gemm, attention, grouped_gemm, memory) reads
its few physically meaningful constants from one `KernelParams`: a flat mapping
`name -> float` plus where the values came from (`source`: "analytic" or
"fitted:<file>"). `PARAMS` documents each name; its default is derived from the
`ChipSpec` alone (efficiencies are dimensionless fractions of the chip's datasheet
peaks, latencies start from `chip.kernel_launch_s`), so any catalog chip gets a
prediction; `fit.py` replaces the defaults where measured cases exist.

Also here: `KernelTime`, the breakdown every model returns (arrays broadcast over shapes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from hundredx.chip.spec import ChipSpec
from hundredx.formats import COMPUTE_CLASSES

ATTN_KERNELS = ("fa2", "fa3", "fa4", "cudnn", "flashinfer", "flashmla", "sdpa_flash", "triton", "sdpa_math",
                "eager_unfused")
GEMM_LIBS = ("cublas", "cublaslt", "torch", "cutlass", "deepgemm")
GROUPED_LIBS = ("deepgemm", "torch_grouped_mm", "torch_mm_loop", "sonicmoe", "scattermoe", "megablocks")
MEMORY_OPS = ("copy", "read", "add", "triad", "rmsnorm", "activation", "rope", "quantize", "gather")

_GEMM_EFF = {"fp32": 0.80, "tf32": 0.60, "bf16": 0.75, "fp16": 0.75, "fp8": 0.68, "int8": 0.70, "fp6": 0.65,
             "fp4": 0.70}
_ATTN_EFF = {"fa2": 0.40, "fa3": 0.66, "fa4": 0.70, "cudnn": 0.60, "flashinfer": 0.55, "flashmla": 0.50,
             "sdpa_flash": 0.36, "triton": 0.40, "sdpa_math": 0.60, "eager_unfused": 0.60}
_GROUPED_LIB = {"deepgemm": 1.0, "torch_grouped_mm": 0.85, "torch_mm_loop": 1.0, "sonicmoe": 0.95,
                "scattermoe": 0.70, "megablocks": 0.75}


@dataclass(frozen=True, slots=True)
class ParamSpec:
    """One parameter: default from the chip, fit bounds, meaning (shown in docs/kernels.md)."""

    name: str
    default: Callable[[ChipSpec], float]
    lo: float
    hi: float
    doc: str


def _specs() -> dict[str, ParamSpec]:
    s: list[ParamSpec] = []
    for cls in COMPUTE_CLASSES:
        s.append(ParamSpec(f"gemm.eff.{cls}", lambda c, v=_GEMM_EFF[cls]: v, 0.05, 1.0,
                           f"max fraction of the {cls} dense peak a large, aligned GEMM reaches"))
    for lib in GEMM_LIBS:
        s.append(ParamSpec(f"gemm.lib.{lib}", lambda c: 1.0, 0.3, 1.3,
                           f"{lib} compute efficiency relative to gemm.eff (1 = same)"))
    s += [
        ParamSpec("gemm.mem_eff", lambda c: 0.80, 0.2, 1.0, "fraction of HBM bandwidth when a GEMM streams weights (small M)"),
        ParamSpec("gemm.latency_s", lambda c: c.kernel_launch_s, 5e-7, 5e-5, "fixed time per GEMM call (launch + prologue/epilogue)"),
        ParamSpec("gemm.scaled_latency_s", lambda c: 1e-6, 1e-8, 5e-5, "extra fixed time of block-scaled FP4/MX GEMMs (scale layout/setup)"),
        ParamSpec("gemm.overlap_p", lambda c: 4.0, 1.0, 16.0, "p-norm combining compute and memory time (p=inf: perfect overlap)"),
        ParamSpec("gemm.unaligned", lambda c: 0.33, 0.05, 1.0, "efficiency factor when a K or N row stride is not a multiple of alignment_bytes"),
        ParamSpec("gemm.unaligned_mem", lambda c: 0.70, 0.1, 1.0, "memory-bandwidth factor of GEMMs with unaligned operand strides"),
        ParamSpec("gemm.odd", lambda c: 0.8, 0.05, 1.0, "further factor when a row stride is not even 4-byte aligned (odd sizes)"),
        ParamSpec("gemm.k_half", lambda c: 64.0, 1.0, 2048.0, "K at which per-tile prologue/epilogue halves efficiency: eff_k = K/(K+k_half)"),
    ]
    for kern in ATTN_KERNELS:
        s.append(ParamSpec(f"attn.eff.{kern}", lambda c, v=_ATTN_EFF[kern]: v, 0.02, 1.0,
                           f"{kern}: max fraction of the 16-bit peak, long non-causal prefill, head_dim 128"))
    s += [
        ParamSpec("attn.seq_half", lambda c: 300.0, 1.0, 8192.0, "KV length at which short-sequence underfill halves efficiency"),
        ParamSpec("attn.seq_exp", lambda c: 1.7, 0.5, 4.0, "exponent of the underfill law eff = 1/(1+(s_half/s)^exp)"),
        ParamSpec("attn.hdim_half", lambda c: 54.0, 1.0, 512.0, "head dim at which small-head-dim efficiency halves (normalised at 128)"),
        ParamSpec("attn.hdim_large", lambda c: 0.10, 0.0, 2.0, "efficiency loss exponent above head dim 128: (128/d)^x"),
        ParamSpec("attn.causal_eff", lambda c: 0.92, 0.3, 1.0, "efficiency factor of causal masking (diagonal tiles, imbalance)"),
        ParamSpec("attn.bwd_ratio", lambda c: 0.85, 0.2, 1.2, "backward-pass efficiency relative to the forward of the same kernel"),
        ParamSpec("attn.decode_mem_eff", lambda c: 0.90, 0.2, 1.0, "fraction of HBM bandwidth for decode KV reads"),
        ParamSpec("attn.decode_latency_s", lambda c: 2.0 * c.kernel_launch_s, 5e-7, 1e-4, "fixed time of a decode attention call (incl. split-KV combine)"),
        ParamSpec("attn.unfused_passes", lambda c: 4.0, 0.5, 16.0, "unfused attention: HBM passes over each GQA-expanded KV copy"),
        ParamSpec("mem.eff", lambda c: 0.90, 0.2, 1.0, "achievable fraction of HBM bandwidth for streaming kernels"),
        ParamSpec("mem.latency_s", lambda c: c.kernel_launch_s, 5e-7, 5e-5, "fixed time per memory-bound kernel (half-saturation size = latency*bw*eff)"),
        ParamSpec("mem.rmsnorm.kernels", lambda c: 1.0, 1.0, 12.0, "kernels per unfused RMSNorm (1 = one fused kernel)"),
        ParamSpec("mem.rmsnorm.traffic", lambda c: 1.0, 1.0, 6.0, "HBM bytes moved per nominal RMSNorm byte (fp32 upcast, re-reads)"),
        ParamSpec("mem.fused_share", lambda c: 0.10, 0.0, 1.0, "fraction of a fused op's bytes still paid inside its host kernel"),
        ParamSpec("launch_s", lambda c: c.kernel_launch_s, 5e-7, 5e-5, "host launch cost per kernel without CUDA graphs"),
        ParamSpec("graph_kernel_s", lambda c: 3.0e-6, 1e-7, 1e-5, "per-kernel fixed time inside a CUDA-graph replay (ASSUMPTION: 2-4 us on Hopper incl. the inter-kernel gap)"),
        ParamSpec("recurrent.eff", lambda c: 0.30, 0.02, 1.0, "tensor-core efficiency of chunked linear-attention kernels"),
    ]
    for lib in GROUPED_LIBS:
        s.append(ParamSpec(f"grouped.lib.{lib}", lambda c, v=_GROUPED_LIB[lib]: v, 0.2, 1.3,
                           f"{lib}: grouped-GEMM compute efficiency relative to a dense GEMM"))
    return {p.name: p for p in s}


PARAMS: dict[str, ParamSpec] = _specs()


def default_values(chip: ChipSpec) -> dict[str, float]:
    """Analytic defaults for every parameter, derived from the chip spec."""
    return {name: float(spec.default(chip)) for name, spec in PARAMS.items()}


@dataclass(frozen=True, slots=True)
class KernelParams:
    """Parameter values for one chip. `source` is "analytic" or "fitted:<file>"."""

    chip_id: str
    values: dict[str, float]
    source: str = "analytic"
    fitted_keys: tuple[str, ...] = ()
    provenance: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = sorted(set(self.values) - set(PARAMS))
        if unknown:
            raise ValueError(f"kernel params for {self.chip_id}: unknown names {unknown}")
        for name, value in self.values.items():
            if not np.isfinite(value) or value < 0:
                raise ValueError(f"kernel params for {self.chip_id}: {name}={value} must be finite and >= 0")

    def __getitem__(self, name: str) -> float:
        return self.values[name]

    @classmethod
    def analytic(cls, chip: ChipSpec) -> "KernelParams":
        return cls(chip.id, default_values(chip), "analytic")

    def replace_values(self, updates: dict[str, float], source: str | None = None) -> "KernelParams":
        values = dict(self.values)
        values.update({k: float(v) for k, v in updates.items()})
        return KernelParams(self.chip_id, values, source or self.source, self.fitted_keys, self.provenance)

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
