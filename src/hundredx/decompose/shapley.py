"""Multiplicative attribution over layers: log-space Shapley values, one-at-a-time factors, interaction.

A coalition S (a subset of the players, here {model, kernel, chip}) is the stack that takes
the layers in S from B and the rest from A; v(S) > 0 is its "goodness" (a metric oriented so
that larger is better). With n players the Shapley value of player i in log space is

    phi_i = sum_{S not containing i} |S|! (n-|S|-1)! / n!  [ln v(S + i) - ln v(S)]

(Shapley 1953). The phi_i sum to ln v(N) - ln v(empty) (efficiency), so the factors
exp(phi_i) multiply exactly to the total ratio v(N)/v(empty). Symmetric players get equal
factors; a player that never changes v gets factor 1 (null player).
One-at-a-time factor of i: v({i})/v(empty). Interaction (co-design bonus > 1, penalty < 1):
total / prod_i one_at_a_time_i.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from itertools import combinations

Coalition = frozenset


def coalitions(players: Iterable[str]) -> list[frozenset]:
    """All 2^n subsets, smallest first."""
    ps = tuple(players)
    return [frozenset(c) for r in range(len(ps) + 1) for c in combinations(ps, r)]


def _check(values: Mapping[frozenset, float], players: tuple[str, ...]) -> None:
    for s in coalitions(players):
        v = values.get(s)
        if v is None or not (v > 0 and math.isfinite(v)):
            raise ValueError(f"coalition {sorted(s)}: value {v!r} must be positive and finite")


def shapley_log(values: Mapping[frozenset, float], players: Iterable[str]) -> dict[str, float]:
    """phi_i in log space (natural log); needs v(S) > 0 for every coalition."""
    ps = tuple(players)
    _check(values, ps)
    n = len(ps)
    out = {}
    for i in ps:
        others = [p for p in ps if p != i]
        total = 0.0
        for r in range(n):
            weight = math.factorial(r) * math.factorial(n - r - 1) / math.factorial(n)
            for combo in combinations(others, r):
                s = frozenset(combo)
                total += weight * (math.log(values[s | {i}]) - math.log(values[s]))
        out[i] = total
    return out


def shapley_factors(values: Mapping[frozenset, float], players: Iterable[str]) -> dict[str, float]:
    """Multiplicative Shapley factors: exp(phi_i); their product is v(N)/v(empty)."""
    return {k: math.exp(v) for k, v in shapley_log(values, players).items()}


def one_at_a_time(values: Mapping[frozenset, float | None], players: Iterable[str]) -> dict[str, float | None]:
    """v({i}) / v(empty) per player; None where either value is missing."""
    base = values.get(frozenset())
    out = {}
    for i in players:
        v = values.get(frozenset({i}))
        out[i] = (v / base) if (v is not None and base) else None
    return out


def interaction(values: Mapping[frozenset, float | None], players: Iterable[str]) -> float | None:
    """total / product of one-at-a-time factors (None when any is missing)."""
    ps = tuple(players)
    oat = one_at_a_time(values, ps)
    full, base = values.get(frozenset(ps)), values.get(frozenset())
    factors = [v for v in oat.values() if v is not None]
    if full is None or not base or len(factors) < len(oat):
        return None
    return (full / base) / math.prod(factors)


def evaluate_all(players: Iterable[str], fn: Callable[[frozenset], float]) -> dict[frozenset, float]:
    """v(S) for every coalition by calling fn(S)."""
    return {s: fn(s) for s in coalitions(players)}
