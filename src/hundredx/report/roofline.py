"""Roofline data of a stack: each op at the bytes and the compute class it is priced with.

The roofline (Williams, Waterman & Patterson, CACM 52(4) 2009) puts an op at arithmetic intensity
AI = FLOPs / bytes and achieved rate FLOPs / time under the roof min(peak, AI x bandwidth). Two
rules keep the picture honest about what the kernel layer priced:

- each op against its OWN format's roof: the compute class its kernel ran in (kernel/gemm.py
  `resolve_compute`, after any fallback such as fp4 -> fp8; attention in fp8 or bf16; memory ops
  in bf16), not the chip's highest peak;
- bytes as timed: a memory op fused into its neighbour (kernel/memory.py) moves only
  `mem.fused_share` of its nominal bytes, other memory ops their traffic factor (an RMSNorm's
  `mem.rmsnorm.traffic`), the rest `bytes_total`. Plotting fused ops at their unfused bytes put
  them ~9x above the roof.

`roofline_points(stack, workload)` prices both phases once (predict's `phase_steps`) and returns one
record per op with FLOPs > 0 and `roofs(chip, formats)` the roof lines; charts.py draws them
(PNG/SVG) and interactive.py (plotly HTML, hover per point).
"""

from __future__ import annotations

from typing import Any

import numpy as np

ATTENTION_CLASS = {"fp8": "fp8"}  # kernel/cost_kinds.py _attention: fp8 kernels or bf16


def _scalar(x: Any) -> float:
    return float(np.max(np.asarray(x, dtype=float)))


def compute_class(op, chip) -> str:
    """The compute class op's kernel runs in on `chip` (module docstring)."""
    from hundredx.kernel.gemm import resolve_compute

    if op.kind == "attention":
        return ATTENTION_CLASS.get(op.compute, "bf16")
    if op.kind in ("memory", "embedding", "router"):
        return "bf16"
    wanted = op.compute if op.kind != "recurrent" or op.compute in ("bf16", "fp16") else "bf16"
    return resolve_compute(wanted, chip)[0]


def priced_bytes(op, fused: bool, params) -> float:
    """The bytes the kernel layer timed one instance of `op` with (module docstring)."""
    nominal = _scalar(op.bytes_total)
    if op.kind not in ("memory", "embedding", "router"):
        return nominal
    if fused:
        return nominal * float(params["mem.fused_share"])
    from hundredx.kernel.cost_kinds import mem_op_name
    from hundredx.kernel.memory import op_shape

    return nominal * float(op_shape(mem_op_name(op), params)[1])


def roofline_points(stack, workload) -> list[dict]:
    """One record per op of the prefill and decode steps (FLOPs > 0): phase, op, kind, format,
    flops, bytes (as priced), time_s (per instance), intensity, achieved_flops_per_s, roof_flops_per_s."""
    from hundredx.predict.engine import chip_params
    from hundredx.predict.single import phase_steps

    w = workload
    prefill, _, decode, _ = phase_steps(stack, w.batch, w.isl, w.isl + w.osl / 2.0)
    chip, params = stack.chip, chip_params(stack.chip)
    out = []
    for phase, cost in (("prefill", prefill), ("decode", decode)):
        records = cost.records
        table = cost.table
        for i, op in enumerate(cost.ops):  # records list the ops first, in the same order
            rec = records[i]
            count, total = _scalar(rec.count), _scalar(rec.time_s)
            flops = _scalar(op.flops)
            if flops <= 0 or count <= 0 or total <= 0:
                continue
            fused = bool(table.fused[i]) if table is not None else False
            nbytes = priced_bytes(op, fused, params)
            fmt = compute_class(op, chip)
            t = total / count
            intensity = flops / nbytes if nbytes > 0 else float("inf")
            roof = min(chip.peak(fmt), intensity * chip.mem_bytes_per_s)
            out.append({"phase": phase, "op": op.name, "count": count, "total_time_s": total, "group": op.group,
                        "kind": op.kind, "format": fmt,
                        "fused": fused, "flops": flops, "bytes": nbytes, "nominal_bytes": _scalar(op.bytes_total),
                        "time_s": t, "intensity": intensity, "achieved_flops_per_s": flops / t,
                        "roof_flops_per_s": roof})
    return out


def roofs(chip, formats) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """format -> (intensity grid, roof min(peak_format, AI x bandwidth)) for each format with a peak."""
    xs = np.logspace(-1, 5, 121)
    return {f: (xs, np.minimum(chip.peak(f), xs * chip.mem_bytes_per_s)) for f in sorted(set(formats))
            if chip.peak(f) > 0}


def stack_points(scenario, evaluation=None) -> list[dict]:
    """`roofline_points` of a scenario at the batch its evaluation ran (decompose's batch: auto)."""
    import dataclasses

    w = scenario.workload
    if evaluation is not None and getattr(evaluation, "batch", None):
        w = dataclasses.replace(w, batch=int(evaluation.batch))
    return roofline_points(scenario.stack, w)
