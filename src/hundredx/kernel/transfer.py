"""How a kernel parameter's family value transfers to one chip of the family (the datasheet scaling).

Within an architecture family (chip/family.py) a fitted value is stored at the family's
reference clock and carried to each member by the rule of its parameter:

* `as_is` — every efficiency (`gemm.eff.*`, `gemm.lib.*`, `gemm.mem_eff`, `gemm.unaligned*`,
  `gemm.odd`, `attn.eff.*`, `attn.causal_eff`, `attn.bwd_ratio`, `attn.decode_mem_eff`,
  `mem.eff`, `mem.fused_share`, `grouped.lib.*`, `recurrent.eff`), the overlap exponent and
  the shape constants (`gemm.k_half`, `attn.seq_half`, `attn.seq_exp`, `attn.hdim_half`,
  `attn.hdim_large`, `attn.unfused_passes`, `mem.rmsnorm.*`). An efficiency is a fraction of
  the chip's OWN datasheet peak and bandwidth, so what the datasheet says differs (tensor rate
  = SMs x clock x FLOP/clk, HBM bandwidth, the SM count of the tile/wave model, capacity) is
  already in the speed of light it multiplies; shape constants belong to the kernel's tiling.
* `clock` — `gemm.latency_s`, `gemm.scaled_latency_s`, `attn.decode_latency_s`,
  `mem.latency_s`: a device-side fixed time (prologue/epilogue, split-KV combine, a small
  kernel's ramp) is a number of the chip's clock cycles: value x clock_ref / clock_chip.
* `as_is (host)` — `launch_s`, `graph_kernel_s`. ASSUMPTION: the host's launch path and the
  graph replay's per-node gap do not follow the GPU clock.

`to_chip(values, reference_clock_hz, chip)` applies the rules; `to_reference` inverts them.

Across GEMM libraries (`harness_scope`): the parameters of `HARNESS_DEPENDENT` (the fixed time
per call, the unaligned-stride and small-M bandwidth factors, the overlap exponent, the K
half-saturation) are properties of a library's kernels and of the harness that timed them, not
of the chip. A fit (chip file or family file) records the GEMM libraries of its cases in its
domain (kernel/domain.py); a GEMM priced with a NAMED library that none of the domains the
values came from has seen takes the analytic defaults for exactly those parameters, and the
op's notes say so. `library: auto` (every model-layer GEMM) keeps the fitted values. Measured
cause: leave-one-chip-out with H100 held out fitted the Hopper family on H200 cuBLASLt and H800
DeepGEMM FP8 cases only and carried gemm.latency_s 2.7 us (H100 torch: 7.1 us) and the others
to H100's torch GEMMs: 28% median / 115% p90 error (docs/kernels.md).

Across compute classes of ONE chip (`class_transfer`): a fit that identifies the GEMM efficiency
of some tensor-core classes but not of another (MI300X: FP8 measured, BF16 not) does not leave
the missing class at the analytic prior, which would price an unmeasured class on the chip's
own peak as if its kernels were as good as the best measured chip's (MI300X BF16 at 839 TFLOP/s,
above H100's 735, with no evidence). The missing class takes, in order: the value of its twin
on the same datapath (bf16 <-> fp16), else its analytic prior times the geometric mean of
fitted / prior over the classes the fit has — the chip's measured distance from the prior.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from hundredx.chip.spec import ChipSpec
from hundredx.kernel.params import PARAMS, KernelParams

CLOCK_SCALED: frozenset[str] = frozenset({"gemm.latency_s", "gemm.scaled_latency_s", "attn.decode_latency_s",
                                          "mem.latency_s"})
HOST_TIMES: frozenset[str] = frozenset({"launch_s", "graph_kernel_s"})


TENSOR_CLASSES = ("bf16", "fp16", "fp8", "fp6", "fp4", "int8", "tf32")
_TWIN = {"bf16": "fp16", "fp16": "bf16"}


def class_transfer(values: Mapping[str, float], present: set[str] | frozenset[str],
                   defaults: Mapping[str, float]) -> tuple[dict[str, float], dict[str, str]]:
    """(gemm.eff.<class> values for the tensor classes not in `present`, how each was derived) —
    module docstring. `present` names the gemm.eff keys the fit gave; nothing when it gave none."""
    have = [c for c in TENSOR_CLASSES if f"gemm.eff.{c}" in present]
    if not have:
        return {}, {}
    ratios = [float(values[f"gemm.eff.{c}"]) / float(defaults[f"gemm.eff.{c}"]) for c in have]
    scale = math.exp(sum(math.log(max(r, 1e-9)) for r in ratios) / len(ratios))
    out: dict[str, float] = {}
    how: dict[str, str] = {}
    for c in TENSOR_CLASSES:
        key = f"gemm.eff.{c}"
        if c in have or key not in defaults:
            continue
        twin = _TWIN.get(c)
        if twin in have:
            out[key], how[key] = float(values[f"gemm.eff.{twin}"]), f"= gemm.eff.{twin} (same datapath)"
        else:
            out[key] = min(float(defaults[key]) * scale, 1.0)
            how[key] = f"prior x {scale:.3f} (fitted/prior of {', '.join(have)})"
    return out, how


def scaling(name: str) -> str:
    """The transfer rule of a parameter: "clock", "as_is (host)" or "as_is"."""
    if name in CLOCK_SCALED:
        return "clock"
    return "as_is (host)" if name in HOST_TIMES else "as_is"


def _factor(name: str, reference_clock_hz: float, chip: ChipSpec) -> float:
    return reference_clock_hz / chip.clock_hz if name in CLOCK_SCALED else 1.0


def to_chip(values: Mapping[str, float], reference_clock_hz: float, chip: ChipSpec) -> dict[str, float]:
    """Family values (at the reference clock) as the chip's values."""
    return {k: float(v) * _factor(k, reference_clock_hz, chip) for k, v in values.items()}


def to_reference(values: Mapping[str, float], chip: ChipSpec, reference_clock_hz: float) -> dict[str, float]:
    """A chip's values expressed at the family's reference clock (the inverse of to_chip)."""
    return {k: float(v) / _factor(k, reference_clock_hz, chip) for k, v in values.items()}


# Parameters a fit carries to a GEMM library only where its cases included that library, with the reason.
HARNESS_DEPENDENT: dict[str, str] = {
    "gemm.latency_s": "the fixed time per call is the library's host path (heuristic query, descriptor setup, "
                      "torch dispatch) plus how the harness timed it (one call vs a graph of many); fitted "
                      "2.7 us on H200 cuBLASLt vs 7.1 us on H100 torch",
    "gemm.unaligned": "the penalty of a misaligned stride is the fallback kernel the library picks (padding, "
                      "non-TMA path), which differs between libraries",
    "gemm.unaligned_mem": "the bandwidth of those fallback kernels, library-specific like the kernels",
    "gemm.mem_eff": "the small-M (weight-streaming) kernels a library selects (split-K, GEMV paths) set the "
                    "fraction of HBM bandwidth reached",
    "gemm.overlap_p": "how far compute and memory overlap is the library's pipelining (stages, warp "
                      "specialisation)",
    "gemm.k_half": "the per-tile prologue/epilogue cost is the library's kernel design (tile K, epilogue "
                   "fusion)",
}


def gemm_libraries(domains: Mapping[str, dict]) -> frozenset[str] | None:
    """The GEMM libraries of the cases behind `domains` (KernelParams.domains); None when none of them holds
    GEMM cases (parameters not from a fit: nothing to restrict)."""
    seen: set[str] = set()
    found = False
    for dom in domains.values():
        for cell in (dom or {}).get("gemm", {}).values():
            found = True
            seen.update(cell.get("cats", {}).get("library", ()))
    return frozenset(seen) if found else None


def harness_scope(params: KernelParams, library: str, chip: ChipSpec) -> tuple[KernelParams, str]:
    """(`params` for a GEMM of `library`, a note) — HARNESS_DEPENDENT at the analytic defaults when no fit the
    values came from saw `library` (module docstring); unchanged, with no note, otherwise or for "auto"."""
    if library == "auto":
        return params, ""
    seen = gemm_libraries(params.domains)
    if seen is None or library in seen:
        return params, ""
    defaults = {k: float(PARAMS[k].default(chip)) for k in HARNESS_DEPENDENT}
    if all(params[k] == v for k, v in defaults.items()):
        return params, ""
    saw = ", ".join(sorted(seen)) or "no named library"
    note = (f"GEMM library {library} unseen by the fit ({params.source}: {saw}): {', '.join(HARNESS_DEPENDENT)} "
            f"at analytic defaults")
    return params.replace_values(defaults), note
