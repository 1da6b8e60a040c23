"""Interval widths from held-out residuals: the cells of kernel/intervals.py's table.

Input: records {"class", "group", "place", "r"[, "cluster"]} with r = log(predicted time / measured time)
of HELD-OUT predictions (validate/cv.py) and the case's cluster: its measurement campaign, one source on
one chip, "hardware | source" (validate/runner.case_cluster; a record without one is a campaign of its
own). A cell (class, group, place) takes the split-conformal order statistics of its residuals: with n
sorted residuals, the ceil((n+1)(1+L)/2)-th and floor((n+1)(1-L)/2)-th (L = 0.8), which cover at least L
of a new exchangeable case — 80% without being made huge.

Two rules come from leave-one-chip-out / leave-one-source-out residuals (docs/kernels.md, "Intervals"):

* Residuals are exchangeable between campaigns, not between cases: the cases of one campaign share a
  harness, a library and a chip, and their errors move together (212 H100 torch GEMMs held out: 13% too
  fast at the median; the other Hopper campaigns, DeepGEMM and cuBLASLt, 0-9% too slow). A cell whose
  residuals come from fewer than MIN_CLUSTERS campaigns describes those campaigns, not a new one, so it
  does not stand alone however many cases it has: a cell needs MIN_CASES residuals from MIN_CLUSTERS
  campaigns. (Weighting each campaign equally instead — the group-balanced conformal rank with the unseen
  campaign counted once — needs 9 campaigns before its 90% rank exists; the public set has 9 GEMM
  campaigns in all, so every cell became the min..max of its residuals: 5-fold GEMM 99% covered at 113%
  mean width, LOCO 73% at 164%. Not used.)
* The "new" place (the GEMM library or the compute class / attention kernel no fit behind the values has
  seen) IS an analytic prediction for what matters: its key or harness-dependent parameters are the
  analytic defaults (kernel/transfer.py). Its residuals are the analytic ones case by case (H100 torch
  GEMMs held out: q10 / median / q90 -0.44 / -0.13 / +0.01 as `family/new`, -0.44 / -0.11 / +0.05 with
  every parameter analytic; DeepGEMM on H800 identical), so a "new" cell of any class is the analytic
  cell of its group; its own thin "new" cells had come from two or three campaigns (LOSO H100 torch
  GEMMs from 11 residuals of 3: 216% wide).

A cell with too few residuals or campaigns borrows, in this order, from the same class over all groups,
then from the same class at the wider places (in -> out -> the residuals of "new" predictions, never
narrower: too few cases is no reason for a narrow interval), then from the next wider class (profile ->
fitted -> family -> analytic) the same way, at last from every kernel residual of its place; it records
where its residuals came from (`from`), how many (`n`) and from how many campaigns (`clusters`). An
"out" cell (outside the fitted domain) is never narrower than its "in" cell. `fallback` is the cell of
all residuals (a class or group the table has never seen). Serving, collective and layer classes have
the place "any" and borrow over their groups only, under the same campaign rule.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from hundredx.kernel.intervals import KERNEL_CLASSES, PLACES, TABLE_FORMAT

LEVEL = 0.8
MIN_CASES = 10
MIN_CLUSTERS = 3
KERNEL_GROUPS = ("gemm", "attention", "memory", "grouped_gemm")
ANALYTIC = KERNEL_CLASSES[-1]

Rows = list[tuple[float, str]]  # (residual, campaign)


def conformal(r: np.ndarray, level: float = LEVEL) -> tuple[float, float]:
    """(lo, hi): the split-conformal central `level` interval of residuals r."""
    s = np.sort(np.asarray(r, float))
    n = s.size
    hi_rank = min(math.ceil((n + 1) * (1 + level) / 2), n)
    lo_rank = max(math.floor((n + 1) * (1 - level) / 2), 1)
    return float(s[lo_rank - 1]), float(s[hi_rank - 1])


def _cell(rows: Rows, source: str) -> dict:
    lo, hi = conformal(np.array([v for v, _ in rows]))
    return {"lo": lo, "hi": hi, "n": len(rows), "clusters": len({c for _, c in rows}), "from": source}


def _enough(rows: Rows, min_cases: int, min_clusters: int) -> bool:
    """Whether a cell stands alone: min_cases residuals from min_clusters campaigns (module docstring)."""
    return len(rows) >= min_cases and len({c for _, c in rows}) >= min_clusters


def _chain(i: int, group: str, where: str) -> list[tuple[str, str, str]]:
    """Where a thin (class, group, place) cell borrows from, narrowest first: the class over all groups,
    then the class at the wider places (in -> out -> new: never narrower), then the wider classes."""
    places = PLACES[PLACES.index(where):]
    return [(c, g, w) for c in KERNEL_CLASSES[i:] for w in places for g in (group, "*")]


def _widen(by_place: dict) -> None:
    """Each place never narrower than the one inside it (in -> out -> new, before "new" takes the analytic cell);
    a missing one copies it."""
    for inner_name, outer_name in zip(PLACES, PLACES[1:]):
        inner = by_place.get(inner_name)
        if inner is None:
            continue
        outer = by_place.get(outer_name)
        if outer is None:
            by_place[outer_name] = dict(inner, **{"from": inner["from"] + f" (no {outer_name} cell)"})
        else:
            outer["lo"], outer["hi"] = min(outer["lo"], inner["lo"]), max(outer["hi"], inner["hi"])


def _kernel_cells(pool: dict[tuple[str, str, str], Rows], min_cases: int, min_clusters: int) -> dict:
    cells: dict = {}
    for i, cls in enumerate(KERNEL_CLASSES):
        for group in KERNEL_GROUPS:
            for where in PLACES:
                for c, g, w in _chain(i, group, where):
                    rows = pool.get((c, g, w), [])
                    if _enough(rows, min_cases, min_clusters):
                        cells.setdefault(cls, {}).setdefault(group, {})[where] = _cell(rows, f"{c}/{g}/{w}")
                        break
                else:  # no class from here down has enough: every kernel residual of this place
                    rows = [v for c in KERNEL_CLASSES for v in pool.get((c, "*", where), [])]
                    if rows:
                        cells.setdefault(cls, {}).setdefault(group, {})[where] = _cell(rows, f"*/*/{where}")
            _widen(cells.get(cls, {}).get(group, {}))
    for cls in KERNEL_CLASSES[:-1]:  # "new": the analytic cell of the group (module docstring)
        for group, by_place in cells.get(cls, {}).items():
            analytic = cells.get(ANALYTIC, {}).get(group, {}).get("out")
            if analytic is not None:
                by_place["new"] = dict(analytic, **{"from": f"{analytic['from']} (new: the analytic cell)"})
    return cells


def build_table(records: Iterable[dict], provenance: dict | None = None, min_cases: int = MIN_CASES,
                min_clusters: int = MIN_CLUSTERS) -> dict:
    """The interval table (module docstring) from held-out residual records."""
    pool: dict[tuple[str, str, str], Rows] = {}
    every: Rows = []
    for k, rec in enumerate(records):
        cls, group, where = rec["class"], rec["group"], rec["place"]
        row = (float(rec["r"]), str(rec.get("cluster") or f"#{k}"))  # no campaign named: one of its own
        for key in ((cls, group, where), (cls, "*", where)):
            pool.setdefault(key, []).append(row)
        every.append(row)
    cells = _kernel_cells(pool, min_cases, min_clusters)
    for cls in sorted({k[0] for k in pool} - set(KERNEL_CLASSES)):
        for group in sorted({k[1] for k in pool if k[0] == cls and k[1] != "*"}):
            rows = pool[(cls, group, "any")]
            alone = _enough(rows, min_cases, min_clusters)
            cells.setdefault(cls, {})[group] = {"any": _cell(rows if alone else pool[(cls, "*", "any")],
                                                             f"{cls}/{group}/any" if alone else f"{cls}/*/any")}
    fallback = (_cell(every, "all residuals") if every
                else {"lo": -1.0, "hi": 1.0, "n": 0, "clusters": 0, "from": "none"})
    counts = {f"{c}/{g}/{w}": len(v) for (c, g, w), v in sorted(pool.items()) if g != "*"}
    return {"format": TABLE_FORMAT, "level": LEVEL, "min_cases": min_cases, "min_clusters": min_clusters,
            "cells": cells, "fallback": fallback, "residual_counts": counts, "provenance": dict(provenance or {})}
