"""Fit a collective library's own link constants (kernel/comm_libs.py) on its public cases.

Cases are `collective` rows of data/validation/collective.jsonl (docs/cases.md) whose `library` is
the one fitted. What they identify decides what is fitted (identifiability, recorded in the result):

- one message size: only the link efficiency `eff_scaleup` (the bandwidth term's scale);
- two sizes: `eff_scaleup` and the ramp's half-bandwidth size `ramp_bytes`;
- three or more: also the ramp's sharpness `ramp_p`. The ramp's rank exponent and the per-step
  latency stay NCCL's (one rank count, and latency is indistinguishable from the ramp at one n).
With as many constants as cases the fit is exact and says nothing of accuracy; `loo_errors` (each
case predicted by a fit on the others, where they still identify every key) is the honest error.

Least squares on log(predicted / measured) (scipy.optimize.least_squares, bounded), every other
constant the chip layer's FIT. The fitted values are copied into kernel/comm_libs.LIBRARIES by
scripts/fit_comm_libs.py's user; tests/test_comm_libs.py refits and compares.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import least_squares

from hundredx.chip.catalog import load_system
from hundredx.chip.collectives import FIT, collective_time
from hundredx.kernel import catalog
from hundredx.kernel.comm_libs import LIBRARIES

BOUNDS = {"eff_scaleup": (0.2, 1.0), "ramp_bytes": (1e5, 1e9), "ramp_p": (0.3, 3.0)}


def library_cases(cases: list[dict], library: str) -> list[dict]:
    """The intra-domain all-reduce / all-gather / reduce-scatter busbw cases of `library`."""
    return [c for c in cases if c.get("kind") == "collective" and c.get("config", {}).get("library") == library
            and c.get("metric") == "bus_bandwidth_gbps"
            and c["config"].get("op") in ("all_reduce", "all_gather", "reduce_scatter")]


def _predict(case: dict, library: str, params: dict) -> float:
    cfg = case["config"]
    model, row = LIBRARIES[library], catalog.get("collective", library)
    cost = collective_time(load_system(case["hardware"]), cfg["op"], float(cfg["message_bytes"]),
                           int(cfg.get("n_ranks", case.get("n_devices", 1))), cfg.get("scope", "auto"),
                           fit={**FIT, **params}, algorithms=model.algorithms,
                           one_shot_all_reduce=row.one_shot_all_reduce)
    return float(cost.bus_bandwidth_bytes_per_s) / 1e9


def fit_library(cases: list[dict], library: str) -> dict:
    """{"params": fitted constants, "identified": their names, "cases": ids, "errors": {id: in-sample relative
    error}, "loo_errors": {id: leave-one-out relative error}}."""
    mine = library_cases(cases, library)
    if not mine:
        return {"params": {}, "identified": [], "cases": [], "errors": {}, "loo_errors": {}}
    params, errs = _fit(mine, library)
    loo = {}
    for i, case in enumerate(mine):
        rest = mine[:i] + mine[i + 1:]
        if _keys(rest) == list(params):
            loo[case["id"]] = _predict(case, library, _fit(rest, library)[0]) / float(case["value"]) - 1.0
    return {"params": params, "identified": list(params), "cases": [c["id"] for c in mine],
            "errors": {c["id"]: float(e) for c, e in zip(mine, errs)}, "loo_errors": loo}


def _keys(cases: list[dict]) -> list[str]:
    sizes = {float(c["config"]["message_bytes"]) for c in cases}
    return ["eff_scaleup", "ramp_bytes", "ramp_p"][:min(len(sizes), 3)]


def _fit(mine: list[dict], library: str) -> tuple[dict, np.ndarray]:
    keys = _keys(mine)
    start = np.log([FIT[k] for k in keys])
    lo, hi = (np.log([BOUNDS[k][i] for k in keys]) for i in (0, 1))
    measured = np.array([float(c["value"]) for c in mine])

    def residual(x):
        params = dict(zip(keys, np.exp(x)))
        return np.log([_predict(c, library, params) for c in mine]) - np.log(measured)

    sol = least_squares(residual, start, bounds=(lo, hi))
    return {k: float(v) for k, v in zip(keys, np.exp(sol.x))}, np.exp(residual(sol.x)) - 1.0
