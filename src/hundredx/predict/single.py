"""`predict(stack, workload) -> Prediction`: TTFT, TPOT, throughput, memory, bounds, breakdown.

Static batch model (the offline-benchmark cycle): a replica holds `batch` sequences;
TTFT is the prefill of the batch (isl tokens each); TPOT is one decode step at the mean
context isl + osl/2 (decode time is linear in context, so the midpoint is exact for the
context-dependent part). Both phases' forward passes are priced in one `forward_costs` call
(`phase_steps`). Pipeline parallelism: prefill runs min(batch, pp) micro-batches on a GPipe
schedule (bubble (pp - 1) / (m + pp - 1)); decode runs micro-batches of batch/pp. Memory: with
continuous batching the paged KV cache holds isl + osl/2 tokens per sequence on average (static
batching: isl + osl). Speculative decoding: TPOT = (verify step over k+1 tokens + k draft passes) /
E[tokens per step] (predict/speculative.py: an MTP draft pass is one layer plus the LM head).
Output tokens/s of a replica = batch * osl / (TTFT + osl * TPOT);
the deployment runs dp replicas. Lower bounds use the ops' speed-of-light times.
Intervals (predict/intervals.py): every breakdown row carries the 80% interval of its time
(`interval_s`), and `intervals` holds those of TTFT, TPOT and the throughputs, from the
measured cross-validation error of the source each op used (kernel/intervals.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from hundredx.errors import InputError
from hundredx.kernel.engine import engine_profile, engine_provenance
from hundredx.kernel.intervals import withheld
from hundredx.predict import intervals as iv
from hundredx.predict.engine import BOUNDS, ForwardCost, ForwardStep, chip_params, forward_costs
from hundredx.predict.speculative import draft_pass_s
from hundredx.scenario.memory import MemoryUse, memory_use
from hundredx.scenario.rules import check_context
from hundredx.scenario.stack import Stack
from hundredx.scenario.workload import Workload
from hundredx.units import fmt_bytes
from hundredx.views import View


@dataclass(repr=False)
class Prediction(View):
    ttft_s: float
    tpot_s: float
    output_tokens_per_s: float
    output_tokens_per_s_per_device: float
    tokens_per_s_per_user: float
    devices: int
    memory: MemoryUse
    bottleneck: str
    lower_bound: dict
    time_by_bound: dict
    breakdown: list[dict]
    provenance: dict
    mismatches: list[str] = field(default_factory=list)
    pipeline_bubble: float = 0.0
    intervals: dict = field(default_factory=dict)  # metric -> [lo, hi], 80% (predict/intervals.py)

    def to_dict(self) -> dict:
        return {"ttft_s": self.ttft_s, "tpot_s": self.tpot_s, "output_tokens_per_s": self.output_tokens_per_s,
                "output_tokens_per_s_per_device": self.output_tokens_per_s_per_device,
                "tokens_per_s_per_user": self.tokens_per_s_per_user, "devices": self.devices,
                "memory_per_device_bytes": self.memory.to_dict(), "bottleneck": self.bottleneck,
                "time_by_bound": self.time_by_bound, "lower_bound": self.lower_bound,
                "breakdown": self.breakdown, "provenance": self.provenance, "fallbacks": self.mismatches,
                "pipeline_bubble": self.pipeline_bubble, "intervals": self.intervals}

    def _title(self) -> str:
        return f"{self.provenance.get('system', '?')}, {self.devices} devices, {self.bottleneck}-bound decode"

    def _summary(self) -> list[tuple[str, Any]]:
        iv_ = self.intervals
        mem = self.memory.to_dict()
        out = [("ttft_s", self.ttft_s), ("ttft_s 80%", iv_.get("ttft_s")), ("tpot_s", self.tpot_s),
               ("tpot_s 80%", iv_.get("tpot_s")), ("output_tokens_per_s", self.output_tokens_per_s),
               ("output_tokens_per_s_per_device", self.output_tokens_per_s_per_device),
               ("tokens_per_s_per_user", self.tokens_per_s_per_user),
               ("memory/device", f"{fmt_bytes(mem['total'])} of {fmt_bytes(mem['usable'])}"),
               ("bottleneck", self.bottleneck), ("lower bound tpot_s", self.lower_bound.get("tpot_s")),
               ("ops", f"{len(self.breakdown)} rows (to_frame())")]
        out += [("fallback", m) for m in self.mismatches[:3]]
        out += [("assumption", a) for a in self.provenance.get("assumptions", [])[:3]]
        return out

    def _rows(self) -> list[dict]:
        return [dict(r) for r in self.breakdown]


def user_assumptions(system) -> list[str]:
    """The source lines of a system and its chip that are the user's, not the catalog's (chip/userfile.py)."""
    from hundredx.chip.userfile import ASSUMPTION_PREFIXES

    return [s for s in (*system.chip.sources, *system.sources) if str(s).startswith(ASSUMPTION_PREFIXES)]


def _f(x) -> float:
    """A scalar as float; an array (a sweep's configurations) as its maximum."""
    if isinstance(x, (float, int, np.floating)):
        return float(x)
    return float(np.max(x))


def _breakdown(phase: str, cost: ForwardCost, recs: list, factors: list) -> list[dict]:
    total = max(_f(cost.time_s), 1e-30)
    try:  # one configuration: every number is a scalar, converted in one call
        nums = np.array([(r.time_s, r.count, r.sol_s, r.flops, r.bytes[0], r.bytes[1], r.efficiency) for r in recs],
                        dtype=float).tolist()
    except (TypeError, ValueError):  # arrays (a sweep): each number is its maximum over the configurations
        nums = [[_f(x) for x in (r.time_s, r.count, r.sol_s, r.flops, r.bytes[0], r.bytes[1], r.efficiency)]
                for r in recs]
    return [{"phase": phase, "op": r.name, "kind": r.kind, "group": r.group, "count": count, "time_s": t,
             "share": t / total, "sol_s": sol, "flops": flops * count, "bytes": (read + written) * count,
             "bound": str(r.bound), "efficiency": eff, "source": r.source, "interval_s": iv.time_interval(t, fac)}
            for r, (t, count, sol, flops, read, written, eff), fac in zip(recs, nums, factors)]


def _decode_steps(stack: Stack, batch, context, pp) -> tuple[list[ForwardStep], object]:
    """(the forward passes of one decode iteration, True where it runs without a CUDA graph): one step of
    batch/pp sequences (a micro-batch per pipeline stage), priced at the engine's padded CUDA-graph batch
    (kernel/engine.EngineProfile.graph_batch) with the host work of the real one; with speculative decoding a
    verify pass over k+1 tokens and a 1-token pass."""
    micro = np.maximum(np.divide(batch, pp), 1.0)
    rt = stack.runtime
    priced, eager = engine_profile(rt.engine, rt.tp).graph_batch(micro) if rt.cuda_graphs else (micro, True)
    spec = rt.speculative
    if spec is None:
        return [ForwardStep(priced, 1, context, host_seqs=micro)], eager
    return [ForwardStep(priced, spec.draft_tokens + 1, context, host_seqs=micro),
            ForwardStep(priced, 1, context, host_seqs=micro)], eager


def _price_decode(stack: Stack, steps: list[ForwardStep], eager, tp, ep, pp) -> list[ForwardCost]:
    """The decode steps priced with CUDA graphs, without them (every kernel pays the host launch) where the
    engine runs the batch eagerly, or both and chosen element-wise."""
    eager_arr = np.asarray(eager, dtype=bool)
    if not eager_arr.any() or not stack.runtime.cuda_graphs:
        return forward_costs(stack, steps, tp, ep, pp)
    plain = replace(stack, runtime=replace(stack.runtime, cuda_graphs=False))
    eager_costs = forward_costs(plain, steps, tp, ep, pp)
    if eager_arr.all():
        return eager_costs
    graphed = forward_costs(stack, steps, tp, ep, pp)
    for g, e in zip(graphed, eager_costs):
        g.time_s, g.sol_s = np.where(eager_arr, e.time_s, g.time_s), np.where(eager_arr, e.sol_s, g.sol_s)
        for key in BOUNDS:
            g.by_bound[key] = np.where(eager_arr, e.by_bound[key], g.by_bound[key])
    return graphed


def _decode_finish(stack: Stack, costs: list[ForwardCost]) -> tuple[ForwardCost, object]:
    """(cost of one decode iteration, output tokens it yields per sequence): with speculative decoding
    the verify pass plus k draft passes (predict/speculative.py), their bound split like the plain step."""
    spec = stack.runtime.speculative
    if spec is None:
        return costs[0], 1.0
    verify, one = costs
    draft = np.multiply(draft_pass_s(stack, one), spec.draft_tokens)
    share = np.divide(draft, np.maximum(one.time_s, 1e-30))
    verify.time_s = np.add(verify.time_s, draft)
    for key in BOUNDS:  # the draft passes' time, split by bound like the plain decode step
        verify.by_bound[key] = np.add(verify.by_bound[key], np.multiply(one.by_bound[key], share))
    return verify, spec.expected_tokens_per_step


def _prefill_steps(stack: Stack, batch, isl, pp) -> list[ForwardStep]:
    """With pp stages the batch runs as m = min(batch, pp) micro-batches of batch/m sequences."""
    pp_v = np.asarray(pp, dtype=float)
    if not np.any(pp_v > 1):
        return [ForwardStep(batch, isl, 0)]
    return [ForwardStep(np.divide(batch, np.minimum(np.asarray(batch, dtype=float), pp_v)), isl, 0)]


def _prefill_finish(cost: ForwardCost, batch, pp) -> tuple[ForwardCost, object]:
    """GPipe schedule: time = (m + pp - 1) * stage_time(batch / m); the bubble is (pp - 1) / (m + pp - 1)."""
    pp_v = np.asarray(pp, dtype=float)
    if not np.any(pp_v > 1):
        return cost, 0.0
    micro = np.minimum(np.asarray(batch, dtype=float), pp_v)
    scale = np.divide(micro + pp_v - 1.0, pp_v)  # forward_cost already counts pp stage times
    cost.time_s = np.multiply(cost.time_s, scale)
    cost.sol_s = np.multiply(cost.sol_s, scale)
    for key in BOUNDS:
        cost.by_bound[key] = np.multiply(cost.by_bound[key], scale)
    cost.record_scale = np.multiply(cost.record_scale, scale)
    return cost, np.divide(pp_v - 1.0, micro + pp_v - 1.0)


def phase_steps(stack: Stack, batch, isl, context, tp=None, ep=None, pp=None):
    """(prefill cost, bubble, decode cost, tokens per decode step): both phases' forward passes are
    priced as one table (one efficiency-model call per op kind for the whole prediction)."""
    pp = stack.runtime.pp if pp is None else pp
    prefill = _prefill_steps(stack, batch, isl, pp)
    decode_steps, eager = _decode_steps(stack, batch, context, pp)
    if np.asarray(eager).any() and stack.runtime.cuda_graphs:  # eager decode: its own table
        costs = forward_costs(stack, prefill, tp, ep, pp) + _price_decode(stack, decode_steps, eager, tp, ep, pp)
    else:
        costs = forward_costs(stack, prefill + decode_steps, tp, ep, pp)
    cost, bubble = _prefill_finish(costs[0], batch, pp)
    decode, per_step = _decode_finish(stack, costs[len(prefill):])
    return cost, bubble, decode, per_step


_WORKLOAD_FIELDS = frozenset(Workload.__dataclass_fields__)


def _resolve(stack, workload, args: dict) -> tuple[Stack, Workload]:
    """(Stack, Workload) from predict's arguments: a Stack, a Scenario, or ids for scenario.build."""
    from hundredx.scenario.build import Scenario, build

    if isinstance(stack, (Stack, Scenario)):
        unknown = sorted(set(args) - _WORKLOAD_FIELDS)
        if unknown:
            raise InputError(unknown[0], args[unknown[0]], "predict(stack, ...) takes Workload fields only")
        base = workload if workload is not None else (stack.workload if isinstance(stack, Scenario) else Workload())
        return (stack.stack if isinstance(stack, Scenario) else stack), (replace(base, **args) if args else base)
    chip = args.pop("chip", None)
    if isinstance(workload, str):  # predict(model, chip, ...): the second positional argument is the chip
        chip, workload = workload, None
    if chip is None:
        raise InputError("chip", None, "predict(model, chip, ...) needs a chip or system id")
    fields = {k: args.pop(k) for k in list(args) if k in _WORKLOAD_FIELDS}
    if workload is None:
        workload = Workload(**fields)
    elif fields:
        raise InputError(sorted(fields)[0], fields[sorted(fields)[0]], "give workload fields or a Workload, not both")
    scn = build(stack, chip, workload=workload, **args)
    return scn.stack, scn.workload


def check_fits(stack: Stack, mem: MemoryUse, batch: int = 1) -> None:
    if not bool(np.all(mem.fits)):
        d = mem.to_dict()
        raise InputError("batch", batch, f"{stack.model.id} does not fit on {stack.chip.id} with tp={stack.runtime.tp} "
                         f"pp={stack.runtime.pp} ep={stack.runtime.ep}: needs {fmt_bytes(d['total'])} per device "
                         f"(weights {fmt_bytes(d['weights'])}, KV {fmt_bytes(d['kv_cache'])}), "
                         f"usable {fmt_bytes(d['usable'])}")


def predict(stack: Any, workload: Workload | str | None = None, check_memory: bool = True,
            calibration: str | None = None, **build_args: Any) -> Prediction:
    """Predict one stack on one workload (see the module docstring for the model).

    `stack` is a `Stack`, a `Scenario` (its workload is used unless one is given), or a model id /
    spec followed by a chip id as in `predict("meta-llama/Llama-3.1-8B-Instruct", "h100-sxm", batch=8,
    isl=1024, osl=256, tp=1)`: workload fields and every `scenario.build` argument are keywords.
    `calibration` restricts the sources the kernel prices may use (auto, profile, fitted, family,
    analytic: kernel/loading.py); None keeps the current `calibration_scope` (auto outside one)."""
    if calibration is not None:
        from hundredx.kernel.loading import calibration_scope

        with calibration_scope(calibration):
            return predict(stack, workload, check_memory, None, **build_args)
    stack, workload = _resolve(stack, workload, build_args)
    rt, w = stack.runtime, workload
    context_note = check_context(stack.model, w.isl, w.osl)
    # Paged KV under continuous batching holds isl + osl/2 tokens per sequence on average.
    kv_osl = w.osl / 2.0 if rt.scheduler.policy == "continuous" else w.osl
    mem = memory_use(stack, w.batch, w.isl, kv_osl)
    if check_memory:
        check_fits(stack, mem, w.batch)
    prefill, bubble, decode, tokens_per_step = phase_steps(stack, w.batch, w.isl, w.isl + w.osl / 2.0)
    ttft = _f(prefill.time_s)
    tpot = _f(decode.time_s) / tokens_per_step
    replica_tps = w.batch * w.osl / (ttft + w.osl * tpot)
    total_tps = replica_tps * rt.dp
    devices = rt.devices
    ttft_lb = _f(prefill.sol_s)
    tpot_lb = _f(decode.sol_s) / tokens_per_step
    by_bound = {b: _f(decode.by_bound[b]) / tokens_per_step for b in BOUNDS}
    bottleneck = max(by_bound, key=lambda b: by_bound[b])
    lower = {"ttft_s": ttft_lb, "tpot_s": tpot_lb,
             # times are lower bounds, so this throughput is an upper bound (speed of light)
             "output_tokens_per_s_max": w.batch * w.osl / (ttft_lb + w.osl * tpot_lb) * rt.dp if tpot_lb > 0 else None}
    params = chip_params(stack.chip)
    provenance = {"model": getattr(stack.model, "source", stack.model.id), "chip": list(stack.chip.sources),
                  "system": stack.system.id, "kernel_sources": sorted(prefill.sources | decode.sources),
                  "not_modelled": list(getattr(stack.model, "not_modelled", ())), "calibration": params.calibration,
                  "intervals": iv.table_provenance(), "assumptions": user_assumptions(stack.system),
                  "engine": engine_provenance(rt, stack.chip.family)}
    table = iv.load_table()
    pre_recs, dec_recs = prefill.records, decode.records
    pre_f = iv.record_factors(prefill, stack.chip, params, table)
    dec_f = iv.record_factors(decode, stack.chip, params, table)
    intervals = iv.metric_intervals(ttft, tpot, w.batch, w.osl, rt.dp, devices, iv.phase_bounds(pre_recs, pre_f),
                                    iv.phase_bounds(dec_recs, dec_f), table)
    unmeasured = withheld(stack.chip, table)  # no interval where nothing measures the error (kernel/intervals.py)
    breakdown = _breakdown("prefill", prefill, pre_recs, pre_f) + _breakdown("decode", decode, dec_recs, dec_f)
    if unmeasured:
        intervals = {}
        for row in breakdown:
            row["interval_s"] = None
    notes = _fallbacks(stack, prefill, decode, context_note) + ([unmeasured] if unmeasured else [])
    return Prediction(ttft, tpot, total_tps, total_tps / devices, 1.0 / tpot, devices, mem, bottleneck, lower,
                      {"decode": by_bound, "prefill": {b: _f(prefill.by_bound[b]) for b in BOUNDS}}, breakdown,
                      provenance, notes, float(np.max(bubble)), intervals)


def _sram_note(stack: Stack) -> str:
    """The SRAM-dataflow assumption (kernel/platforms.py): weights resident on-chip over the devices."""
    from hundredx.kernel.platforms import platform_of

    if not platform_of(stack.chip).sram_dataflow:
        return ""
    rt = stack.runtime
    return (f"{stack.chip.id}: SRAM dataflow, weights resident in on-chip SRAM over {rt.devices} chips "
            f"(tp={rt.tp}, pp={rt.pp}); decode priced as the generic ops on SRAM bandwidth and chip-to-chip links "
            f"(ASSUMPTION: no measured case)")


def _fallbacks(stack: Stack, prefill, decode, context_note: str = "") -> list[str]:
    """The ops' substitutions, sorted, after the chip's preliminary flag (chip/spec.py) and the RoPE
    extension the context relies on (scenario/rules.check_context), when there are."""
    notes = [n for n in (stack.chip.preliminary_note, context_note, _sram_note(stack)) if n]
    engine = engine_profile(stack.runtime.engine, stack.runtime.tp).note
    return notes + sorted(prefill.fallbacks | decode.fallbacks | ({engine} if engine else set()))
