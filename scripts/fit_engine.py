"""Fit the serving-engine overheads (kernel/engine.py) on the public serving cases.

Evaluates every predictable serving case with the overheads switched off (factor 1, no host
time), then fits gpu_time_factor and per_seq_step_s by robust least squares on log(pred/measured)
and writes src/hundredx/kernel/fitted/engine.json with the data, date and fit quality.
Run: python scripts/fit_engine.py [CASES.jsonl]
"""

from __future__ import annotations

import datetime
import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
from scipy.optimize import least_squares

from hundredx.fileio import atomic_write
from hundredx.kernel.engine import FITTED
from hundredx.validate.base import Unpredictable
from hundredx.validate.serving import predict_case

DEFAULT_CASES = Path(__file__).resolve().parents[1] / "data" / "validation" / "serving.jsonl"


def _prediction(case: dict, factor: float, per_seq: float) -> float:
    import hundredx.validate.serving as serving

    original = serving._runtime

    def patched(c, devices):
        return replace(original(c, devices), gpu_time_factor=factor, per_seq_step_s=per_seq)

    serving._runtime = patched
    try:
        return predict_case(case)
    finally:
        serving._runtime = original


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
    measured = np.array([c["value"] for c in usable], dtype=float)
    lower_better = np.array([c["metric"] in ("time_per_output_token_s", "ttft_s") for c in usable])

    def residuals(x):
        pred = np.array([_prediction(c, float(x[0]), float(x[1])) for c in usable])
        return np.log(pred / measured)

    fit = least_squares(residuals, [1.2, 5e-6], bounds=([1.0, 0.0], [3.0, 1e-3]), loss="soft_l1", f_scale=0.3,
                        diff_step=[1e-3, 1e-2])
    ape = np.abs(np.exp(residuals(fit.x)) - 1.0)
    base = np.abs(np.exp(residuals([1.0, 0.0])) - 1.0)
    doc = {"values": {"gpu_time_factor": float(fit.x[0]), "per_seq_step_s": float(fit.x[1])},
           "provenance": {"fitted_on": str(path.name), "cases": len(usable), "latency_cases": int(lower_better.sum()),
                          "date": datetime.date.today().isoformat(),
                          "method": "scipy least_squares, soft_l1, log error",
                          "median_ape_before": float(np.median(base)), "p90_ape_before": float(np.percentile(base, 90)),
                          "median_ape_after": float(np.median(ape)), "p90_ape_after": float(np.percentile(ape, 90))}}
    atomic_write(FITTED, json.dumps(doc, indent=1) + "\n")
    print(json.dumps(doc, indent=1))


if __name__ == "__main__":
    main()
