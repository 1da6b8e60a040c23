"""80% intervals of a prediction: per op from its source's measured error, per metric composed.

Per op (kernel/intervals.py): the source class of the op's price (a measured profile, the
chip's fitted parameters, its family's, the analytic defaults), whether its shape, format
and kernel lie inside the fitted domain, and the residual quantiles (lo, hi) of that class
and kind; the op's time interval is [t e^-hi, t e^-lo]. Collectives take the collective
cell; engine overheads and pipeline hops carry no kernel error of their own.

Per phase the op errors are treated as fully correlated (one chip's parameters price all
of them, so their errors share a sign): the phase's relative bounds are the time-weighted
means of its ops' e^-hi and e^-lo. The metric intervals are then the union of this
composition with the serving cell of the metric (the measured error of whole-deployment
predictions, which includes what the kernel composition leaves out: the engine and the
scheduler): TTFT from the prefill phase, TPOT from the decode step, throughput
batch·osl/(TTFT + osl·TPOT) from the bounds of both (its low end from both high ends).
"""

from __future__ import annotations

import math
from operator import attrgetter

import numpy as np

from hundredx.kernel.cost_kinds import mem_op_name
from hundredx.kernel.domain import describe_op
from hundredx.kernel.intervals import classify, load_table, serving_group, time_factors, value_interval
from hundredx.kernel.params import KernelParams

GROUP_OF_KIND = {"gemm": "gemm", "grouped_gemm": "grouped_gemm", "attention": "attention", "memory": "memory",
                 "embedding": "memory", "router": "memory", "recurrent": "attention"}
NO_ERROR = (0.0, 0.0)
_PLACES: dict[tuple, tuple[str, str]] = {}  # (params source, calibration, op signature) -> (class, place)
_SIGNATURE_FIELDS = {"gemm": attrgetter("m", "n", "k"),
                     "attention": attrgetter("seqlen_q", "seqlen_kv", "head_dim", "causal"),
                     "grouped_gemm": attrgetter("tokens_total", "n", "k")}
_MEMORY_KINDS = frozenset({"memory", "embedding", "router"})


def _signature(op, kernel: str) -> tuple | None:
    """What classifies a single-configuration op (None for array-valued ops: not cached)."""
    kind = op.kind
    if kind in _MEMORY_KINDS:
        values: tuple = (op.bytes_read, op.bytes_written, op.name)
    else:
        get = _SIGNATURE_FIELDS.get(kind)
        values = get(op.shape) if get is not None else ()
    for v in values:
        if isinstance(v, np.ndarray):
            return None
    return (kind, op.compute, kernel) + values


def _classify(op, kernel: str, measured: bool, chip, params: KernelParams) -> tuple[str, str]:
    if measured:
        return "profile", "in"
    sig = _signature(op, kernel)
    key = None if sig is None else (chip.id, params.source, params.calibration) + sig
    if key is not None and key in _PLACES:
        return _PLACES[key]
    desc = describe_op(op, chip, kernel, mem_op_name(op)) if op.kind in GROUP_OF_KIND else None
    found = classify(desc, params)
    if key is not None:
        if len(_PLACES) > 65536:
            _PLACES.clear()
        _PLACES[key] = found
    return found


def _scalar(x) -> float:
    return float(x) if isinstance(x, (float, int)) else float(np.max(x))


def record_factors(cost, chip, params: KernelParams, table: dict) -> list[tuple[float, float]]:
    """(lo, hi) residual quantiles of every record of a ForwardCost (ops first, then extras)."""
    out = []
    tab = cost.table
    cache: dict = {}
    for i, op in enumerate(cost.ops):
        cls, where = _classify(op, tab.kernel[i], tab.source[i].startswith("measured"), chip, params)
        key = (cls, GROUP_OF_KIND.get(op.kind, "attention"), where)
        if key not in cache:
            cache[key] = time_factors(table, *key)
        out.append(cache[key])
    for rec in cost.extra:
        out.append(time_factors(table, "collective", "collective", "any") if rec.kind == "collective" else NO_ERROR)
    return out


def phase_bounds(records, factors: list[tuple[float, float]]) -> tuple[float, float]:
    """(low, high) multipliers of a phase's time: time-weighted means of the records' e^-hi, e^-lo."""
    times = np.array([_scalar(r.time_s) for r in records], dtype=float)
    total = times.sum()
    if total <= 0:
        return 1.0, 1.0
    lo = np.array([f[0] for f in factors])
    hi = np.array([f[1] for f in factors])
    return float(np.dot(times, np.exp(-hi)) / total), float(np.dot(times, np.exp(-lo)) / total)


def _union(a: list[float], b: list[float]) -> list[float]:
    return [min(a[0], b[0]), max(a[1], b[1])]


def metric_intervals(ttft: float, tpot: float, batch: float, osl: float, dp: float, devices: int,
                     prefill: tuple[float, float], decode: tuple[float, float], table: dict) -> dict:
    """The 80% intervals of TTFT, TPOT and the throughputs (module docstring)."""
    serving = lambda metric: time_factors(table, "serving", serving_group(metric), "any")  # noqa: E731
    ttft_iv = _union([ttft * prefill[0], ttft * prefill[1]], value_interval(ttft, "ttft_s", serving("ttft_s")))
    tpot_iv = _union([tpot * decode[0], tpot * decode[1]],
                     value_interval(tpot, "time_per_output_token_s", serving("time_per_output_token_s")))
    tps = batch * osl / (ttft + osl * tpot) * dp
    composed = [batch * osl / (ttft_iv[1] + osl * tpot_iv[1]) * dp, batch * osl / (ttft_iv[0] + osl * tpot_iv[0]) * dp]
    tps_iv = _union(composed, value_interval(tps, "output_tokens_per_s", serving("output_tokens_per_s")))
    return {"ttft_s": ttft_iv, "tpot_s": tpot_iv, "output_tokens_per_s": tps_iv,
            "output_tokens_per_s_per_device": [v / devices for v in tps_iv],
            "tokens_per_s_per_user": [1.0 / tpot_iv[1], 1.0 / tpot_iv[0]]}


def time_interval(time_s: float, factors: tuple[float, float]) -> list[float]:
    """[t e^-hi, t e^-lo] of one op's time."""
    return [time_s * math.exp(-factors[1]), time_s * math.exp(-factors[0])]


def table_provenance() -> dict:
    """What the intervals were read from (shown in a prediction's provenance)."""
    table = load_table()
    prov = table.get("provenance", {})
    return {"level": table.get("level"), "file": "kernel/fitted/intervals.json", "method": prov.get("method", ""),
            "date": prov.get("date", "")}
