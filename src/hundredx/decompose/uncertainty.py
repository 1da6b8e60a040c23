"""80% intervals of a decomposition's factors, carried through from the predictions' intervals.

Input: each coalition S's goodness v_S and its 80% interval [lo_S, hi_S] (decompose.metrics:
the prediction's interval of the metric, predict/intervals.py, at the operating point's batch;
the batch is not re-searched inside the interval). Model: ln v_S is a two-piece normal with
median ln v_S, lower scale ln(v_S / lo_S) / z and upper scale ln(hi_S / v_S) / z, z = 1.2816
(the 90th percentile of a standard normal: the 10-90% band is the 80% interval). A log-normal
approximation, with the skew the input intervals have.

Correlation between coalitions is not measured, so both limits are computed and the
interval is their union. Correlated limit: the errors of the coalitions on one chip are fully
correlated (one chip's fitted parameters price all of them — the assumption predict/intervals.py
makes within a phase) and the two chips' errors are independent: two standard normals z_A
(coalitions with A's chip) and z_B (with B's chip) on a deterministic grid of GRID x GRID normal
quantiles. Under it a same-chip ratio (a model or kernel swap) is nearly certain and the chip
factor carries the error. Independent limit: every coalition its own normal (GRID^2 draws of a
seeded generator, SEED). For every sample the Shapley formula (decompose/shapley.py, in log
space), the one-at-a-time factors, the total and the interaction are recomputed; each one's
band is the 10th to 90th percentile, widened to contain the point value (so the point is
always inside).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from itertools import combinations
from statistics import NormalDist

import numpy as np

Z80 = NormalDist().inv_cdf(0.9)  # 1.2816
GRID = 64
SEED = 0
METHOD = ("two-piece log-normal per coalition; union of the 10-90% bands with chip errors fully correlated "
          "and with every coalition independent")


def _grid() -> tuple[np.ndarray, np.ndarray]:
    q = np.array([NormalDist().inv_cdf((i + 0.5) / GRID) for i in range(GRID)])
    za, zb = np.meshgrid(q, q, indexing="ij")
    return za.ravel(), zb.ravel()


def _log_samples(v: float, bounds, z: np.ndarray) -> np.ndarray:
    lo, hi = bounds if bounds is not None else (v, v)
    lo, hi = min(float(lo), v), max(float(hi), v)
    s_lo = math.log(v / lo) / Z80 if lo > 0 else 0.0
    s_hi = math.log(hi / v) / Z80
    return math.log(v) + np.where(z > 0, z * s_hi, z * s_lo)


def _band(samples: np.ndarray, point: float) -> list[float]:
    lo, hi = np.percentile(samples, [10.0, 90.0])
    return [float(min(lo, point)), float(max(hi, point))]


def _shapley(logs: Mapping[frozenset, np.ndarray], players: tuple[str, ...]) -> dict[str, np.ndarray]:
    n = len(players)
    out = {}
    for i in players:
        others = [p for p in players if p != i]
        total = np.zeros_like(next(iter(logs.values())))
        for r in range(n):
            weight = math.factorial(r) * math.factorial(n - r - 1) / math.factorial(n)
            for combo in combinations(others, r):
                s = frozenset(combo)
                total = total + weight * (logs[s | {i}] - logs[s])
        out[i] = total
    return out


def _samples(logs: Mapping[frozenset, np.ndarray], players: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Samples of every quantity that the coalitions present allow (log space)."""
    empty, full = frozenset[str](), frozenset(players)
    out: dict[str, np.ndarray] = {}
    if empty not in logs:
        return out
    for p in players:
        if frozenset({p}) in logs:
            out[f"oat.{p}"] = logs[frozenset({p})] - logs[empty]
    if full in logs:
        out["total"] = logs[full] - logs[empty]
        if all(f"oat.{p}" in out for p in players):
            out["interaction"] = out["total"] - sum(out[f"oat.{p}"] for p in players)
    if len(logs) == 2 ** len(players):
        out.update({f"shapley.{p}": x for p, x in _shapley(logs, players).items()})
    return out


def _points(values: Mapping[frozenset, float | None], players: tuple[str, ...]) -> dict[str, float]:
    from hundredx.decompose.shapley import interaction, one_at_a_time, shapley_factors

    empty, full = frozenset[str](), frozenset(players)
    out = {f"oat.{p}": v for p, v in one_at_a_time(values, players).items() if v is not None}
    if values.get(full) and values.get(empty):
        out["total"] = values[full] / values[empty]  # type: ignore[operator]
    inter = interaction(values, players)
    if inter is not None:
        out["interaction"] = inter
    if all(values.get(s) for s in _all(players)):
        out.update({f"shapley.{p}": v for p, v in
                    shapley_factors({s: float(v) for s, v in values.items() if v}, players).items()})
    return out


def _all(players: tuple[str, ...]) -> list[frozenset]:
    return [frozenset(c) for r in range(len(players) + 1) for c in combinations(players, r)]


def factor_intervals(values: Mapping[frozenset, float | None], bounds: Mapping[frozenset, tuple | None],
                     players: tuple[str, ...], shared: str = "chip") -> dict:
    """80% intervals of total, Shapley and one-at-a-time factors and the interaction (module docstring).

    `values[S]` is v_S (None where S did not run), `bounds[S]` its (lo, hi) or None (no error
    known); coalitions containing `shared` share z_B, the others z_A (the correlated limit);
    the independent limit gives every coalition its own draw. Missing values give None for
    whatever needs them."""
    za, zb = _grid()
    ran = [s for s in _all(players) if values.get(s)]
    rng = np.random.default_rng(SEED)
    free = rng.standard_normal((len(ran), za.size))
    corr = {s: _log_samples(float(values[s]), bounds.get(s), zb if shared in s else za)  # type: ignore[arg-type]
            for s in ran}
    indep = {s: _log_samples(float(values[s]), bounds.get(s), free[i]) for i, s in enumerate(ran)}  # type: ignore
    a, b, points = _samples(corr, players), _samples(indep, players), _points(values, players)
    bands = {}
    for key, point in points.items():
        lo1, hi1 = _band(np.exp(a[key]), point)
        lo2, hi2 = _band(np.exp(b[key]), point)
        bands[key] = [min(lo1, lo2), max(hi1, hi2)]
    return {"total": bands.get("total"), "interaction": bands.get("interaction"),
            "one_at_a_time": {p: bands.get(f"oat.{p}") for p in players},
            "shapley": ({p: bands[f"shapley.{p}"] for p in players} if f"shapley.{players[0]}" in bands else None),
            "method": METHOD}


__all__ = ["GRID", "METHOD", "Z80", "factor_intervals"]
