"""Ranking a search's rows: the best row per mode, the top rows, and the verdict.

Objective: with the question's devices fixed, the most output tokens/s per device among the
feasible rows (ties: more tokens/s per user); with a target rate, the fewest devices (ties:
more output tokens/s per device). The verdict compares the best aggregated and the best
disaggregated row on that objective: "disaggregated: 1.70x the output tokens/s per device of
aggregated (...)" or, with a target rate, "... needs 8 devices, aggregated 16 (2.00x)".
"""

from __future__ import annotations

import math

import numpy as np

from hundredx.search.space import Question

RANK_COLUMNS = ("unit", "row", "mode", "feasible", "devices", "output_tokens_per_s_per_device", "tokens_per_s_per_user")


def order(question: Question, cols: dict[str, np.ndarray]) -> np.ndarray:
    """Indices of the feasible rows, best first (module docstring)."""
    feasible = np.flatnonzero(np.asarray(cols["feasible"], dtype=bool))
    per_device = np.nan_to_num(np.asarray(cols["output_tokens_per_s_per_device"], float)[feasible], nan=-1.0)
    per_user = np.nan_to_num(np.asarray(cols["tokens_per_s_per_user"], float)[feasible], nan=-1.0)
    if question.target_rate_per_s is None:
        keys: tuple = (-per_user, -per_device)
    else:
        keys = (-per_device, np.asarray(cols["devices"], float)[feasible])
    return feasible[np.lexsort(keys)]


def best_by_mode(question: Question, cols: dict[str, np.ndarray], ranked: np.ndarray) -> dict[str, int | None]:
    """The index of the best row of each asked mode (None when none is feasible)."""
    modes = np.asarray(cols["mode"], dtype=object)[ranked]
    out: dict[str, int | None] = {}
    for mode in question.modes:
        hit = np.flatnonzero(modes == mode)
        out[mode] = int(ranked[hit[0]]) if hit.size else None
    return out


def _limits(question: Question) -> str:
    parts = [f"{name} <= {value:g} s" for name, value in (("TTFT", question.ttft_limit_s),
                                                           ("TPOT", question.tpot_limit_s),
                                                           ("request latency", question.request_latency_limit_s))
             if math.isfinite(value)]
    return ", ".join(parts) if parts else "no latency limit"


def verdict(question: Question, best: dict[str, dict | None]) -> str:
    """One sentence: which mode wins this question and by how much (module docstring)."""
    agg, dis = best.get("agg"), best.get("disagg")
    where = _limits(question)
    if question.target_rate_per_s is not None:
        rate = f"{question.target_rate_per_s:g} requests/s"
        if agg is None and dis is None:
            return f"no configuration serves {rate} within {question.devices} devices at {where}"
        if agg is None or dis is None:
            mode, row = ("aggregated", agg) if dis is None else ("disaggregated", dis)
            assert row is not None  # one of the two is set here
            return f"{mode}: {row['devices']} devices serve {rate} at {where} (the other mode cannot)"
        a, d = agg["devices"], dis["devices"]
        win, lose, ratio = ("disaggregated", "aggregated", a / d) if d < a else ("aggregated", "disaggregated", d / a)
        return (f"{win}: {min(a, d)} devices serve {rate} at {where}; {lose} needs {max(a, d)} "
                f"({ratio:.2f}x)")
    if agg is None and dis is None:
        return f"no configuration meets {where} on {question.devices} devices"
    if agg is None or dis is None:
        mode, row = ("aggregated", agg) if dis is None else ("disaggregated", dis)
        assert row is not None  # one of the two is set here
        other = "disaggregated" if dis is None else "aggregated"
        if len(question.modes) == 1:
            return f"{mode} only: {row['output_tokens_per_s_per_device']:.1f} output tokens/s per device at {where}"
        return (f"{mode}: {row['output_tokens_per_s_per_device']:.1f} output tokens/s per device at {where}; "
                f"no {other} configuration meets it")
    a, d = agg["output_tokens_per_s_per_device"], dis["output_tokens_per_s_per_device"]
    win, ratio = ("disaggregated", d / a) if d > a else ("aggregated", a / d)
    return (f"{win}: {ratio:.2f}x the output tokens/s per device of the "
            f"{'aggregated' if win == 'disaggregated' else 'disaggregated'} best ({max(a, d):.1f} vs {min(a, d):.1f}) "
            f"at {where}")


__all__ = ["RANK_COLUMNS", "best_by_mode", "order", "verdict"]
