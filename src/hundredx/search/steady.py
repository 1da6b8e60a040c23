"""Aggregated search rows at the steady state a benchmark sees (the formula's one home: predict/steady.py).

A benchmark of an aggregated deployment runs closed-loop clients against a continuous-batching
engine: a request's TTFT is its queue wait plus its chunked prefill inside the running batch, not
the whole batch's prefill that `predict`'s static model prices (issue 12). An aggregated row at
batch b and dp replicas is the closed loop at concurrency C = b dp (`predict --concurrency C`
prints the same numbers in its `steady_state` block). The running rows of one unit are grouped by
replica structure (attention-DP, tp, pp, ep, devices): each group is one `scenario.build` stack,
the same the row's command builds, and one `predict.steady.closed_loop` call vectorized over the
group's concurrencies. Rows whose closed loop has no room for one sequence do not run.
"""

from __future__ import annotations

import numpy as np

from hundredx.predict.steady import closed_loop_arrays
from hundredx.search.space import Question
from hundredx.search.units import Unit

STEADY = ("ttft_s", "tpot_s", "output_tokens_per_s", "request_rate_per_s")


def steady_columns(question: Question, unit: Unit, rows: dict[str, np.ndarray], dp: np.ndarray,
                   devices: np.ndarray, runs: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """(closed-loop TTFT, TPOT, output tokens/s and requests/s of the deployment per row; the rows whose
    closed loop has no room for one sequence), NaN where a row does not run (module docstring)."""
    from hundredx.search.evaluate import structure

    n = int(runs.size)
    out = {k: np.full(n, np.nan) for k in STEADY}
    no_room = np.zeros(n, dtype=bool)
    for adp in (False, True):
        sel = np.flatnonzero(runs & (rows["attention_dp"] == adp))
        if not sel.size:
            continue
        stack = structure(question, unit, adp, question.devices)
        st = closed_loop_arrays(stack, float(question.isl), float(question.osl), rows["batch"][sel] * dp[sel],
                                rows["tp"][sel], rows["ep"][sel], rows["pp"][sel], dp[sel],
                                static_tpot_s=rows["tpot_s"][sel])
        no_room[sel] = np.asarray(st.slots_per_replica) < 1
        for key, value in (("ttft_s", st.ttft_s), ("tpot_s", st.tpot_s),
                           ("output_tokens_per_s", st.output_tokens_per_s), ("request_rate_per_s", st.requests_per_s)):
            out[key][sel] = value
    return out, no_room


__all__ = ["STEADY", "steady_columns"]
