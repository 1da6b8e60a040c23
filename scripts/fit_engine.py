"""Fit the serving-engine overheads (kernel/engine.py) on the public serving cases, generic and per engine.

Evaluates every predictable serving case with its engine's documented mechanisms (CUDA-graph sizes,
padding, overlap scheduling: kernel/engines/engines.yaml) and given overheads, then fits
gpu_time_factor and per_seq_step_s by robust least squares on log(pred/measured): once on every
case (the generic pair), and once per engine that has at least MIN_ENGINE_CASES cases from at least
MIN_ENGINE_SOURCES sources (identifiability: fewer cases do not pin two parameters; such an engine
inherits the generic pair and fitted/engine.json says why). A per_seq_step_s the fit drives onto its
lower bound (below PER_SEQ_FLOOR_S) is not identified by the cases: it is not fitted, the analytic
value (kernel/engine.py DEFAULT, 0) is kept, gpu_time_factor is refitted alone, and the file says so.
Inside a fitted engine, gpu_time_factor alone is refitted per chip family (chip/family.py) whose
cases of that engine meet the same rule; other families inherit the engine's factor (recorded).
Writes src/hundredx/kernel/fitted/engine.json
with the cases, date and fit quality.
Run: python scripts/fit_engine.py [CASES.jsonl]     (writes the fit)
     python scripts/fit_engine.py --cv-chip         (serving APE with the overheads refitted per left-out chip)
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
from hundredx.chip.catalog import load_chip
from hundredx.fileio import atomic_write
from hundredx.kernel.engine import DEFAULT, FITTED, MIN_ENGINE_CASES, MIN_ENGINE_SOURCES
from hundredx.validate.base import Unpredictable
from hundredx.validate.serving import predict_case

DEFAULT_CASES = Path(__file__).resolve().parents[1] / "data" / "validation" / "serving.jsonl"
KNOWN = ("trtllm", "vllm", "sglang", "deepseek")
PER_SEQ_FLOOR_S = 1e-9  # a host time per sequence below a nanosecond is the optimizer sitting on the bound 0


def _prediction(case: dict, factor: float, per_seq: float) -> float:
    original = engine_mod.fitted_values
    engine_mod.fitted_values = lambda engine, family="": ({"gpu_time_factor": factor, "per_seq_step_s": per_seq},
                                                          "fit")
    try:
        return predict_case(case)
    finally:
        engine_mod.fitted_values = original


def _as_generic(case: dict) -> dict:
    return {**case, "config": {**case["config"], "engine": "generic"}}


def _sources(cases: list[dict]) -> set[str]:
    """The distinct sources of `cases` (a source's name without its commit / table detail in parentheses)."""
    return {c.get("source", "").split(" (")[0] for c in cases}


def _identified(cases: list[dict]) -> bool:
    """Whether `cases` pin a fit of their own: at least MIN_ENGINE_CASES cases from MIN_ENGINE_SOURCES sources."""
    return len(cases) >= MIN_ENGINE_CASES and len(_sources(cases)) >= MIN_ENGINE_SOURCES


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
               "sources": sorted(_sources(cases)),
               "median_ape_before": float(np.median(base)), "p90_ape_before": float(np.percentile(base, 90)),
               "median_ape_after": float(np.median(ape)), "p90_ape_after": float(np.percentile(ape, 90))}


def _per_seq_identified(cases: list[dict], factor: float, per_seq: float) -> bool:
    """Whether the cases see per_seq_step_s at all: doubling it must move some prediction by 0.1%
    (under overlap scheduling the host time hides behind the device time)."""
    a = np.array([_prediction(c, factor, per_seq) for c in cases])
    b = np.array([_prediction(c, factor, 2.0 * per_seq + 1e-6) for c in cases])
    return bool(np.max(np.abs(np.log(b / a))) > 1e-3)


def _family_fits(group: list[dict], per_seq: float, fitted_on: str, today: str) -> dict:
    """gpu_time_factor per chip family of one engine's cases where that family's cases are identifying
    (MIN_ENGINE_CASES from MIN_ENGINE_SOURCES sources); per_seq_step_s held at the engine's value."""
    by_family: dict[str, list[dict]] = defaultdict(list)
    for case in group:
        by_family[load_chip(case["hardware"]).family].append(case)
    families, not_fitted = {}, {}
    for family, cases in sorted(by_family.items()):
        sources = _sources(cases)
        if not _identified(cases):
            not_fitted[family] = (f"{len(cases)} cases from {len(sources)} sources, fewer than {MIN_ENGINE_CASES} "
                                  f"from {MIN_ENGINE_SOURCES}: the engine's factor")
            continue
        xf, pf = _fit(cases, per_seq)
        pf["per_seq_step_s"] = "the engine's value (only gpu_time_factor is refitted per family)"
        families[family] = {"values": {"gpu_time_factor": xf[0]},
                            "provenance": {"fitted_on": fitted_on, "date": today, "method": "as the engine's, "
                                           "gpu_time_factor alone, on this family's cases", **pf}}
    return {"families": families, "families_not_fitted": not_fitted}


def fit_doc(cases: list[dict], fitted_on: str) -> dict:
    """The engine.json document fitted on `cases` (module docstring)."""
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
                 "provenance": {"fitted_on": fitted_on, "date": today, "method": "scipy least_squares, soft_l1, "
                                "log error; every case run as the generic engine", **prov},
                 "engines": {}, "not_fitted": {}}
    for name in KNOWN:
        group = by_engine.get(name, [])
        sources = _sources(group)
        if not _identified(group):
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
                                "provenance": {"fitted_on": fitted_on, "date": today,
                                               "method": "as above, the engine's documented mechanisms on", **pe},
                                **_family_fits(group, xe[1], fitted_on, today)}
    return doc


def leave_one_chip_out(cases: list[dict]) -> dict:
    """Serving APE with the engine overheads refitted without each chip's cases (the kernel parameters
    stay the full fit's: scripts/fit_intervals.py refits those); median / p90 and the cases counted."""
    apes = []
    for chip in sorted({c["hardware"] for c in cases}):
        held = [c for c in cases if c["hardware"] == chip]
        doc = fit_doc([c for c in cases if c["hardware"] != chip], "fold")
        original = engine_mod._fitted
        engine_mod._fitted = lambda doc=doc: doc
        try:
            for case in held:
                try:
                    apes.append(abs(predict_case(case) / case["value"] - 1.0))
                except Unpredictable:
                    continue
        finally:
            engine_mod._fitted = original
    return {"cases": len(apes), "median_ape": float(np.median(apes)), "p90_ape": float(np.percentile(apes, 90))}


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    path = Path(args[0]) if args else DEFAULT_CASES
    cases = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    if "--cv-chip" in sys.argv:
        print(json.dumps(leave_one_chip_out(cases), indent=1))
        return
    doc = fit_doc(cases, path.name)
    atomic_write(FITTED, json.dumps(doc, indent=1) + "\n")
    print(json.dumps(doc, indent=1))


if __name__ == "__main__":
    main()
