"""Fit the serving-engine overheads (kernel/engine.py) on the public serving cases, generic and per engine.

Evaluates every predictable serving case with its engine's documented mechanisms (CUDA-graph sizes,
padding, overlap scheduling: kernel/engines/engines.yaml) and given overheads, then fits
gpu_time_factor and per_seq_step_s by robust least squares on log(pred/measured): once on every
case (the generic pair), and once per engine that has at least MIN_ENGINE_CASES cases from at least
MIN_ENGINE_SOURCES sources (identifiability: fewer cases do not pin two parameters; such an engine
inherits the generic pair and fitted/engine.json says why). A per_seq_step_s the fit drives onto its
lower bound (below PER_SEQ_FLOOR_S) is not identified by the cases: it is not fitted, the analytic
value (kernel/engine.py DEFAULT, 0) is kept, gpu_time_factor is refitted alone, and the file says so.
Writes src/hundredx/kernel/fitted/engine.json
with the cases, date and fit quality.
Run: python scripts/fit_engine.py [CASES.jsonl]
"""

from __future__ import annotations

import datetime
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
from scipy.optimize import least_squares

import hundredx.kernel.engine as engine_mod
from hundredx.fileio import atomic_write
from hundredx.kernel.engine import DEFAULT, FITTED, MIN_ENGINE_CASES, MIN_ENGINE_SOURCES
from hundredx.validate.base import Unpredictable
from hundredx.validate.serving import predict_case

DEFAULT_CASES = Path(__file__).resolve().parents[1] / "data" / "validation" / "serving.jsonl"
KNOWN = ("trtllm", "vllm", "sglang", "deepseek")
PER_SEQ_FLOOR_S = 1e-9  # a host time per sequence below a nanosecond is the optimizer sitting on the bound 0


def _prediction(case: dict, factor: float, per_seq: float) -> float:
    original = engine_mod.fitted_values
    engine_mod.fitted_values = lambda engine: ({"gpu_time_factor": factor, "per_seq_step_s": per_seq}, "fit")
    try:
        return predict_case(case)
    finally:
        engine_mod.fitted_values = original


def _as_generic(case: dict) -> dict:
    return {**case, "config": {**case["config"], "engine": "generic"}}


def _fit(cases: list[dict], fixed_per_seq: float | None = None) -> tuple[list[float], dict]:
    """(gpu_time_factor, per_seq_step_s) and the fit's provenance; per_seq_step_s held at `fixed_per_seq`
    when given (it is then not identified by these cases)."""
    measured = np.array([c["value"] for c in cases], dtype=float)

    def residuals(x):
        per_seq = float(x[1]) if fixed_per_seq is None else fixed_per_seq
        pred = np.array([_prediction(c, float(x[0]), per_seq) for c in cases])
        return np.log(pred / measured)

    start, lo, hi = ([1.2, 5e-6], [1.0, 0.0], [3.0, 1e-3]) if fixed_per_seq is None else ([1.2], [1.0], [3.0])
    fit = least_squares(residuals, start, bounds=(lo, hi), loss="soft_l1", f_scale=0.3,
                        diff_step=[1e-3, 1e-2][:len(start)])
    x = [float(fit.x[0]), float(fit.x[1]) if fixed_per_seq is None else fixed_per_seq]
    ape = np.abs(np.exp(residuals(fit.x)) - 1.0)
    base = np.abs(np.exp(residuals([1.0, 0.0][:len(start)])) - 1.0)
    lower_better = sum(c["metric"] in ("time_per_output_token_s", "ttft_s") for c in cases)
    return x, {"cases": len(cases), "latency_cases": int(lower_better),
               "sources": sorted({c.get("source", "").split(" (")[0] for c in cases}),
               "median_ape_before": float(np.median(base)), "p90_ape_before": float(np.percentile(base, 90)),
               "median_ape_after": float(np.median(ape)), "p90_ape_after": float(np.percentile(ape, 90))}


def _per_seq_identified(cases: list[dict], factor: float, per_seq: float) -> bool:
    """Whether the cases see per_seq_step_s at all: doubling it must move some prediction by 0.1%
    (under overlap scheduling the host time hides behind the device time)."""
    a = np.array([_prediction(c, factor, per_seq) for c in cases])
    b = np.array([_prediction(c, factor, 2.0 * per_seq + 1e-6) for c in cases])
    return bool(np.max(np.abs(np.log(b / a))) > 1e-3)


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_CASES
    cases = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    usable = []
    for case in cases:
        try:
            _prediction(case, 1.0, 0.0)
            usable.append(case)
        except Unpredictable:
            continue
    by_engine: dict[str, list[dict]] = defaultdict(list)
    for case in usable:
        name = case["config"].get("engine", "generic")
        by_engine[name if name in KNOWN else "generic"].append(case)
    generic = [_as_generic(c) for c in usable]  # the generic engine: no graph limit, no overlap
    x, prov = _fit(generic)
    if x[1] < PER_SEQ_FLOOR_S:  # driven onto its bound: the cases do not identify it, keep the analytic value
        x, prov = _fit(generic, DEFAULT["per_seq_step_s"])
        prov["per_seq_step_s"] = ("not identified by these cases (the fit drives it onto its lower bound, below "
                                  f"{PER_SEQ_FLOOR_S:g} s): not fitted, the analytic value "
                                  f"{DEFAULT['per_seq_step_s']:g}")
    today = datetime.date.today().isoformat()
    doc: dict = {"values": {"gpu_time_factor": x[0], "per_seq_step_s": x[1]},
                 "provenance": {"fitted_on": path.name, "date": today, "method": "scipy least_squares, soft_l1, "
                                "log error; every case run as the generic engine", **prov},
                 "engines": {}, "not_fitted": {}}
    for name in KNOWN:
        group = by_engine.get(name, [])
        sources = {c.get("source", "") for c in group}
        if len(group) < MIN_ENGINE_CASES or len(sources) < MIN_ENGINE_SOURCES:
            doc["not_fitted"][name] = (f"{len(group)} public cases from {len(sources)} sources, fewer than "
                                       f"{MIN_ENGINE_CASES} cases from {MIN_ENGINE_SOURCES} sources: "
                                       "inherits the generic fit")
            continue
        fixed = None if _per_seq_identified(group, x[0], x[1]) else x[1]
        xe, pe = _fit(group, fixed)
        why = "host time hidden by overlap scheduling"
        if fixed is None and (abs(xe[1] - 5e-6) < 1e-12 or xe[1] < PER_SEQ_FLOOR_S):
            why = "the fit leaves it at its start or drives it onto its lower bound"  # flat or at the bound
            fixed = x[1]
            xe, pe = _fit(group, fixed)
        if fixed is not None:
            pe["per_seq_step_s"] = f"not identified by these cases ({why}): the generic value"
        doc["engines"][name] = {"values": {"gpu_time_factor": xe[0], "per_seq_step_s": xe[1]},
                                "provenance": {"fitted_on": path.name, "date": today,
                                               "method": "as above, the engine's documented mechanisms on", **pe}}
    atomic_write(FITTED, json.dumps(doc, indent=1) + "\n")
    print(json.dumps(doc, indent=1))


if __name__ == "__main__":
    main()
