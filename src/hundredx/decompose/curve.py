"""Decomposition as a curve over interactivity: the factors at every point of a sweep.

A single operating point decides nothing: the same H200 -> GB200 NVL72 pair gives a small gain
at a loose TPOT limit and a huge one at a tight limit, where A can barely run. `decompose_curve`
sweeps the latency limit — interactivity x = tokens/s per user = 1 / TPOT limit, the axis
serving dashboards plot (InferenceMAX-style throughput/interactivity charts) — and decomposes B/A
at each point with the same 8-coalition Shapley computation as `decompose` (both stacks run at
their largest batch meeting the limit, on A's workload with that limit). Each point carries the
total, the Shapley factors, the one-at-a-time factors, the interaction and what limited each
side, the 80% interval of each factor (decompose/uncertainty.py) and the combinations the
search re-planned at that point (decompose/replan.py); a point where a combination cannot run
says so (its Shapley factors are null, as in `decompose`). `summary(points)` gives the range
of the total and of each factor over the points that ran.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from hundredx.decompose.core import decompose
from hundredx.decompose.metrics import DEFAULT_METRIC
from hundredx.errors import InputError
from hundredx.scenario import Scenario, with_changes

DEFAULT_USER_RATES = (5.0, 10.0, 20.0, 30.0, 50.0, 100.0)  # tokens/s per user: TPOT limits 200 .. 10 ms
MAX_POINTS = 64


@dataclass
class CurvePoint:
    tokens_per_s_per_user: float
    tpot_limit_s: float
    total: float | None
    shapley: dict | None
    one_at_a_time: dict
    interaction: float | None
    a: dict
    b: dict
    notes: list[str] = field(default_factory=list)
    intervals: dict = field(default_factory=dict)  # 80% intervals of the factors (decompose/uncertainty.py)
    replanned: list[str] = field(default_factory=list)  # "label: old -> new" per re-planned combination

    def to_dict(self) -> dict:
        return {"tokens_per_s_per_user": self.tokens_per_s_per_user, "tpot_limit_s": self.tpot_limit_s,
                "total": self.total, "shapley": self.shapley, "one_at_a_time": self.one_at_a_time,
                "interaction": self.interaction, "intervals": self.intervals, "a": self.a, "b": self.b,
                "replanned": self.replanned, "notes": self.notes}


def _check_rates(rates: Sequence[float]) -> list[float]:
    rates = [float(r) for r in rates]
    if not rates or len(rates) > MAX_POINTS:
        raise InputError("sweep", len(rates), f"give 1 to {MAX_POINTS} interactivity points")
    bad = [r for r in rates if not (math.isfinite(r) and 0.01 <= r <= 100_000)]
    if bad:
        raise InputError("sweep", bad[0], "tokens/s per user must be in [0.01, 100000]")
    return sorted(set(rates))


def decompose_curve(a: Scenario, b: Scenario, user_rates: Sequence[float] = DEFAULT_USER_RATES,
                    metric: str = DEFAULT_METRIC, replan: bool | str = True) -> list[CurvePoint]:
    """Decompose B/A at each interactivity point (tokens/s per user; TPOT limit = 1 / rate)."""
    out = []
    for rate in _check_rates(user_rates):
        change = {"workload.tpot_limit_s": 1.0 / rate, "workload.batch": "auto"}
        pa, pb = with_changes(a, change), with_changes(b, change)
        d = decompose(pa, pb, metric, mismatches=False, with_waterfall=False, replan=replan)
        keep = ("value", "interval", "batch", "limited_by", "tpot_s", "output_tokens_per_s_per_device")
        again = [f"{c['label']}: {c['replanned']['change']}" for c in d.combinations if c.get("replanned")]
        out.append(CurvePoint(rate, 1.0 / rate, d.total, d.shapley, d.one_at_a_time, d.interaction,
                              {k: d.a.get(k) for k in keep}, {k: d.b.get(k) for k in keep}, d.notes,
                              d.intervals, again))
    return out


def summary(points: list[CurvePoint]) -> dict:
    """Range of the total and of each Shapley factor (and the interaction) over the points that ran."""
    ran = [p for p in points if p.total is not None]
    out: dict = {"points": len(points), "ran": len(ran)}
    if not ran:
        return out
    out["total"] = [min(p.total for p in ran if p.total), max(p.total for p in ran if p.total)]
    with_shap = [p for p in ran if p.shapley]
    for layer in ("model", "kernel", "chip"):
        vals = [p.shapley[layer] for p in with_shap if p.shapley]
        if vals:
            out[layer] = [min(vals), max(vals)]
    inter = [p.interaction for p in ran if p.interaction is not None]
    if inter:
        out["interaction"] = [min(inter), max(inter)]
    return out
