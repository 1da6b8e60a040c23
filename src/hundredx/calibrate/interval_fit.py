"""Interval widths from held-out residuals: the cells of kernel/intervals.py's table.

Input: records {"class", "group", "place", "r"} with r = log(predicted time / measured time)
of HELD-OUT predictions (validate/cv.py). A cell (class, group, place) takes the
split-conformal order statistics of its residuals: with n sorted residuals, the
ceil((n+1)(1+L)/2)-th and floor((n+1)(1-L)/2)-th (L = 0.8), which cover at least L of a new
exchangeable case — 80% without being made huge. A cell with fewer than MIN_CASES residuals
borrows, in this order, from the same class over all groups, then from the same class at the
wider places (in -> out -> new, never narrower: too few cases is no reason for a narrow
interval), then from the next wider class (profile -> fitted -> family -> analytic) the same
way, at last from every kernel residual of its place; it records
where its residuals came from (`from`) and how many (`n`). An "out" cell (outside the fitted
domain) is never narrower than its "in" cell, a "new" cell (format or library unseen) never
narrower than its "out" cell. `fallback` is the cell of all residuals (a
class or group the table has never seen). Serving, collective and layer classes have the
place "any" and borrow over their groups only.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from hundredx.kernel.intervals import KERNEL_CLASSES, PLACES, TABLE_FORMAT

LEVEL = 0.8
MIN_CASES = 10
KERNEL_GROUPS = ("gemm", "attention", "memory", "grouped_gemm")


def conformal(r: np.ndarray, level: float = LEVEL) -> tuple[float, float]:
    """(lo, hi): the split-conformal central `level` interval of residuals r."""
    s = np.sort(np.asarray(r, float))
    n = s.size
    hi_rank = min(math.ceil((n + 1) * (1 + level) / 2), n)
    lo_rank = max(math.floor((n + 1) * (1 - level) / 2), 1)
    return float(s[lo_rank - 1]), float(s[hi_rank - 1])


def _cell(r: list[float], source: str) -> dict:
    lo, hi = conformal(np.array(r))
    return {"lo": lo, "hi": hi, "n": len(r), "from": source}


def _chain(i: int, group: str, where: str) -> list[tuple[str, str, str]]:
    """Where a thin (class, group, place) cell borrows from, narrowest first: the class over all groups,
    then the class at the wider places (in -> out -> new: never narrower), then the wider classes."""
    places = PLACES[PLACES.index(where):]
    return [(c, g, w) for c in KERNEL_CLASSES[i:] for w in places for g in (group, "*")]


def _widen(by_place: dict) -> None:
    """Each place never narrower than the one inside it (in -> out -> new); a missing one copies it."""
    for inner_name, outer_name in zip(PLACES, PLACES[1:]):
        inner = by_place.get(inner_name)
        if inner is None:
            continue
        outer = by_place.get(outer_name)
        if outer is None:
            by_place[outer_name] = dict(inner, **{"from": inner["from"] + f" (no {outer_name} cell)"})
        else:
            outer["lo"], outer["hi"] = min(outer["lo"], inner["lo"]), max(outer["hi"], inner["hi"])


def _kernel_cells(pool: dict, min_cases: int) -> dict:
    cells: dict = {}
    for i, cls in enumerate(KERNEL_CLASSES):
        for group in KERNEL_GROUPS:
            for where in PLACES:
                for c, g, w in _chain(i, group, where):
                    r = pool.get((c, g, w), [])
                    if len(r) >= min_cases:
                        cells.setdefault(cls, {}).setdefault(group, {})[where] = _cell(r, f"{c}/{g}/{w}")
                        break
                else:  # no class from here down has enough: every kernel residual of this place
                    r = [v for c in KERNEL_CLASSES for v in pool.get((c, "*", where), [])]
                    if r:
                        cells.setdefault(cls, {}).setdefault(group, {})[where] = _cell(r, f"*/*/{where}")
            _widen(cells.get(cls, {}).get(group, {}))
    return cells


def build_table(records: Iterable[dict], provenance: dict | None = None, min_cases: int = MIN_CASES) -> dict:
    """The interval table (module docstring) from held-out residual records."""
    pool: dict[tuple[str, str, str], list[float]] = {}
    every: list[float] = []
    for rec in records:
        cls, group, where, value = rec["class"], rec["group"], rec["place"], float(rec["r"])
        for key in ((cls, group, where), (cls, "*", where)):
            pool.setdefault(key, []).append(value)
        every.append(value)
    cells = _kernel_cells(pool, min_cases)
    for cls in sorted({k[0] for k in pool} - set(KERNEL_CLASSES)):
        groups = sorted({k[1] for k in pool if k[0] == cls and k[1] != "*"})
        for group in groups:
            r = pool[(cls, group, "any")]
            source = f"{cls}/{group}/any" if len(r) >= min_cases else f"{cls}/*/any"
            cells.setdefault(cls, {})[group] = {"any": _cell(r if len(r) >= min_cases else pool[(cls, "*", "any")],
                                                             source)}
    fallback = _cell(every, "all residuals") if every else {"lo": -1.0, "hi": 1.0, "n": 0, "from": "none"}
    counts = {f"{c}/{g}/{w}": len(v) for (c, g, w), v in sorted(pool.items()) if g != "*"}
    return {"format": TABLE_FORMAT, "level": LEVEL, "min_cases": min_cases, "cells": cells, "fallback": fallback,
            "residual_counts": counts, "provenance": dict(provenance or {})}
