"""Mismatch finder: where a stack's layers were not designed for each other, and what it costs.

Checks (each a `Mismatch` with the layers involved, the field, a message and a cost):
  format_path      a weight/activation/KV format whose compute class has no hardware path on
                   the chip (chip.peak(class) == 0): the kernel layer falls back (fp4 -> fp8 ...).
                   Cost: time share of the ops that ran on the fallback path.
  gemm_alignment   per-device GEMM N or K (after tp/ep sharding) not a multiple of the chip's
                   GEMM tile (gemm_tile_n / gemm_tile_k) or of `alignment_bytes` row strides.
                   Cost: re-predict with the FFN / expert width padded to the aligned size.
  expert_padding   tokens per expert (batch * k / E at decode, * isl at prefill) not a
                   multiple of the M tile: padded rows waste tensor-core work.
                   Cost: re-predict with tile-aware token rounding (moe_routing=tile_rounded).
  ep_scaleout      ep (or tp) larger than the system's scale-up domain: the all-to-all / all-
                   reduce crosses the scale-out network. Cost: network share of the decode step.
  kv_capacity      the batch is limited by KV-cache memory before the SLO (batch: auto), or a
                   fixed batch does not fit. Cost: re-predict at the SLO batch ignoring memory.
  attention_kernel an attention kernel the chip does not have (kernel catalog: attention_kernels_on).
                   Cost: re-predict with attention_kernel=auto.
  kernel_assumption an op priced by an assumption instead of a native, measured kernel: an efficiency
                   that is only an analytic prior (the chip platform's own kernels, kernel/catalog.py
                   prior_only), a library that does not run on the chip (priced as if it did), an op
                   with no efficiency model, engine overheads not applied (kernel/platforms.py).
                   Cost: time share of the ops named (no fix to re-predict: the number is uncertain).
`cost_fraction` is the share of output tokens/s per device lost (1 - actual / fixed);
`time_share` the share of step time spent in the affected ops; either is None when unknown.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, replace

import numpy as np

from hundredx.decompose.metrics import Evaluation, Infeasible, evaluate
from hundredx.errors import InputError
from hundredx.kernel.catalog import attention_kernels_on
from hundredx.kernel.platforms import platform_of
from hundredx.predict import predict
from hundredx.scenario import Scenario


@dataclass(frozen=True, slots=True)
class Mismatch:
    kind: str
    layers: str
    field: str
    message: str
    cost_fraction: float | None = None
    time_share: float | None = None
    estimate: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


def _tps(scn: Scenario) -> float | None:
    try:
        return evaluate(scn).tokens_per_s_per_device
    except (Infeasible, InputError, ValueError):
        return None


def _cost(actual: float, fixed: float | None) -> float | None:
    return None if not fixed or fixed <= 0 else max(0.0, 1.0 - actual / fixed)


def _share(ev: Evaluation, names: set[str], phase: str = "decode") -> float:
    rows = [r for r in ev.prediction.breakdown if r["phase"] == phase]
    total = sum(r["time_s"] for r in rows if r["kind"] != "collective") or 1.0
    return sum(r["time_s"] for r in rows if r["op"] in names) / total


_FORMAT_NOTE = re.compile(r"^[a-z0-9]+->[a-z0-9]+$")  # kernel/gemm.resolve_compute's note, e.g. "fp4->fp8"


def _formats(scn: Scenario, ev: Evaluation) -> list[Mismatch]:
    model, chip = scn.stack.model, scn.stack.chip
    q = model.quant
    out = []
    for name, fmt in (("model.weights", q.weight), ("model.weights (experts)", q.experts), ("model.act", q.act)):
        cls = fmt.compute
        if cls in ("int4",) or chip.peak(cls) > 0 or (name.endswith("(experts)") and fmt is q.weight):
            continue
        notes = [m for m in ev.prediction.mismatches if _FORMAT_NOTE.match(m.split(":", 1)[-1].strip())]
        ops = {m.split(":", 1)[0] for m in notes}  # only the format fallbacks, not kernel/library notes
        share = _share(ev, ops) if ops else None
        out.append(Mismatch("format_path", "model x chip", name, f"{fmt.name} ({cls}) has no tensor-core path on "
                            f"{chip.id}; the kernels fall back ({'; '.join(sorted(notes)[:3])})",
                            None, share, "time share of the ops on the fallback path (compute runs at the "
                            "fallback rate; memory savings are kept)"))
    return out


def _aligned(n: float, k: float, bits: int, chip) -> tuple[bool, bool]:
    stride_ok = not platform_of(chip).stride_penalty or all(  # XLA/Neuron/CANN/dataflow lay operands out
        math.isclose((x * bits / 8.0) % chip.alignment_bytes, 0.0, abs_tol=1e-9) for x in (n, k))
    tile_ok = (math.isclose(n % chip.gemm_tile_n, 0.0, abs_tol=1e-9)
               and math.isclose(k % chip.gemm_tile_k, 0.0, abs_tol=1e-9))
    return stride_ok, tile_ok


def _device_ops(scn: Scenario, batch: int):
    from hundredx.kernel.sharding import shard_ops
    from hundredx.model import build_ops

    model, rt = scn.stack.model, scn.stack.runtime
    ops = build_ops(model, batch, 1, scn.workload.isl)
    dev, _ = shard_ops(ops, rt, model.quant.act.bytes_per_element, model.hidden_size)
    return dev


def _padded_model(model, tp: int, ep: int, tile: int):
    """The model with the dense FFN / expert widths padded so every per-device slice is a multiple of `tile`."""
    def pad(width: int, split: int) -> int:
        return int(math.ceil(width / (split * tile)) * split * tile)

    changes = {}
    if model.intermediate_size:
        changes["intermediate_size"] = pad(model.intermediate_size, tp)
    if model.moe is not None:
        moe_tp = max(tp // max(ep, 1), 1)
        changes["moe"] = replace(model.moe, expert_width=pad(model.moe.expert_width, moe_tp))
    return replace(model, **changes)


def _alignment(scn: Scenario, ev: Evaluation) -> list[Mismatch]:
    chip, model, rt = scn.stack.chip, scn.stack.model, scn.stack.runtime
    bad = []
    for op in _device_ops(scn, ev.batch):
        if op.kind not in ("gemm", "grouped_gemm"):
            continue
        n, k = float(np.max(op.shape.n)), float(np.max(op.shape.k))
        bits = model.quant.experts.bits if op.kind == "grouped_gemm" else model.quant.weight.bits
        stride_ok, tile_ok = _aligned(n, k, bits, chip)
        if not (stride_ok and tile_ok):
            bad.append((op.name, n, k, stride_ok))
    if not bad:
        return []
    padded = replace(scn, stack=replace(scn.stack, model=_padded_model(model, rt.tp, rt.ep, chip.gemm_tile_n)))
    ffn = {name for name, *_ in bad if "expert" in name or "ffn" in name or "mlp" in name or "up" in name
           or "down" in name}
    fixed = _tps(padded) if ffn else None
    share = _share(ev, {b[0] for b in bad})
    detail = ", ".join(f"{name} N={n:g} K={k:g}{'' if s else ' (16-byte stride!)'}" for name, n, k, s in bad[:6])
    return [Mismatch("gemm_alignment", "model x kernel x chip", "model / kernel.tp",
                     f"per-device GEMM dims not multiples of the {chip.gemm_tile_n}x{chip.gemm_tile_k} tile or "
                     f"{chip.alignment_bytes}-byte rows on {chip.id}: {detail}",
                     _cost(ev.tokens_per_s_per_device, fixed),
                     share, "re-predicted with the FFN/expert widths padded to whole tiles per device"
                     if fixed else "time share of the unaligned GEMMs in the decode step")]


def _expert_padding(scn: Scenario, ev: Evaluation) -> list[Mismatch]:
    model, chip, w = scn.stack.model, scn.stack.chip, scn.workload
    if model.moe is None:
        return []
    per_expert = {"decode": ev.batch * model.moe.top_k / model.moe.num_experts,
                  "prefill": ev.batch * w.isl * model.moe.top_k / model.moe.num_experts}
    tile = chip.gemm_tile_m
    waste = {ph: 1.0 - t / (math.ceil(t / tile) * tile) for ph, t in per_expert.items() if t > 0}
    if max(waste.values()) < 0.05:
        return []
    fixed, how = None, "padded share of expert rows (no tile-rounded routing to compare)"
    roundable = any(t >= tile / 2 for ph, t in per_expert.items() if ph in waste and waste[ph] >= 0.05)
    if not roundable:
        how = ("padded share of expert rows; under half a tile per expert, token rounding would drop most "
               "tokens: a larger batch per expert (more EP, bigger batch) is the fix")
    elif scn.stack.runtime.moe_routing != "tile_rounded":
        alt = replace(scn, stack=scn.stack.with_runtime(moe_routing="tile_rounded"))
        fixed, how = _tps(alt), "re-predicted with moe_routing=tile_rounded (SonicMoE token rounding)"
    msg = "; ".join(f"{ph}: {per_expert[ph]:.1f} tokens/expert -> {100 * waste[ph]:.0f}% padded rows "
                    f"(M tile {tile})" for ph in waste)
    return [Mismatch("expert_padding", "model x kernel x chip", "kernel.moe_routing", msg,
                     _cost(ev.tokens_per_s_per_device, fixed), waste.get("decode"), how)]


def _scaleout(scn: Scenario, ev: Evaluation) -> list[Mismatch]:
    rt, system = scn.stack.runtime, scn.stack.system
    out = []
    by = ev.prediction.time_by_bound.get("decode", {})
    net = by.get("network", 0.0) / max(sum(by.values()), 1e-30)
    for name, degree in (("kernel.ep", rt.ep), ("kernel.tp", rt.tp * rt.cp)):
        if degree > system.scaleup_domain:
            out.append(Mismatch("ep_scaleout" if name == "kernel.ep" else "tp_scaleout", "kernel x chip", name,
                                f"{name.split('.')[1]}={degree} spans more than the {system.scaleup_domain}-device "
                                f"scale-up domain of {system.id}: its collectives cross the scale-out network",
                                None, net, "network share of the decode step"))
    return out


def _slo_batch(stack, w, lo: int, cap: int = 16384) -> int:
    """Largest batch meeting the SLOs with memory ignored (bisection from `lo`)."""
    def ok(b: int) -> bool:
        p = predict(stack, replace(w, batch=b), check_memory=False)
        return w.meets(p.ttft_s, p.tpot_s)

    hi = lo
    while hi < cap and ok(min(2 * hi, cap)):
        hi = min(2 * hi, cap)
    top = min(2 * hi, cap)
    while top - hi > 1:
        mid = (hi + top) // 2
        hi, top = (mid, top) if ok(mid) else (hi, mid)
    return hi


def _kv(scn: Scenario, ev: Evaluation) -> list[Mismatch]:
    w = scn.workload
    if ev.limited_by != "memory" or not w.has_limits:
        return []
    try:
        slo = _slo_batch(scn.stack, w, ev.batch)
        if slo <= ev.batch * 1.05:
            return []
        fixed = predict(scn.stack, replace(w, batch=slo), check_memory=False).output_tokens_per_s_per_device
    except (InputError, ValueError):
        return []
    return [Mismatch("kv_capacity", "model x chip", "workload.batch",
                     f"KV-cache memory limits the batch to {ev.batch} per replica; the SLO would allow {slo}",
                     _cost(ev.tokens_per_s_per_device, fixed), None,
                     "re-predicted at the SLO batch without the memory limit")]


def _attention(scn: Scenario, ev: Evaluation) -> list[Mismatch]:
    rt, chip = scn.stack.runtime, scn.stack.chip
    if rt.attention_kernel == "auto" or rt.attention_kernel in attention_kernels_on(chip):
        return []
    alt = replace(scn, stack=scn.stack.with_runtime(attention_kernel="auto"))
    return [Mismatch("attention_kernel", "kernel x chip", "kernel.attention",
                     f"{rt.attention_kernel} does not exist for {chip.id} "
                     f"(has {', '.join(attention_kernels_on(chip))})",
                     _cost(ev.tokens_per_s_per_device, _tps(alt)), None, "re-predicted with attention=auto")]


_ASSUMPTION_MARKS = ("analytic prior", "does not run on", "no efficiency model", "not applied on",
                     "fitted on NCCL/RCCL")


def _assumptions(scn: Scenario, ev: Evaluation) -> list[Mismatch]:
    notes = [m for m in ev.prediction.mismatches if any(mark in m for mark in _ASSUMPTION_MARKS)]
    if not notes:
        return []
    ops = {m.split(":", 1)[0] for m in notes if ":" in m}
    return [Mismatch("kernel_assumption", "kernel x chip", "kernel", f"{len(notes)} op(s) priced by an assumption on "
                     f"{scn.stack.chip.id}: {'; '.join(sorted(notes)[:3])}", None, _share(ev, ops) if ops else None,
                     "time share of the ops priced by the assumption")]


def find_mismatches(scn: Scenario, ev: Evaluation | None = None) -> list[Mismatch]:
    """All mismatches of one scenario at its operating point (evaluated here when `ev` is None)."""
    if ev is None:
        try:
            ev = evaluate(scn)
        except Infeasible as exc:
            return [Mismatch("not_runnable", "model x kernel x chip", "stack", str(exc))]
    out: list[Mismatch] = []
    for check in (_formats, _alignment, _expert_padding, _scaleout, _kv, _attention, _assumptions):
        out.extend(check(scn, ev))
    return out


__all__ = ["Mismatch", "find_mismatches"]
