"""Predict kernel-level validation cases (gemm, attention, memory, grouped_gemm) with the kernel models.

`predict_case(case) -> float` returns the value in the case's metric (tflops, time_s,
bandwidth_gbps; FLOP conventions of docs/cases.md; kernel/cases.py prices the case) using the chip's
fitted parameters ($HUNDREDX_HOME/fitted/<chip>.json, else the shipped kernel/fitted/<chip>.json:
kernel/loading.py), else the analytic defaults; it raises
`Unpredictable(reason)` for an unknown chip, a missing config field, a kernel or format the
chip has no path for, a multi-device case, or a metric the kernel models do not produce.
`error_summary(cases)` gives per-kind median / p90 absolute percentage error and the worst cases.
"""

from __future__ import annotations

import numpy as np

from hundredx.errors import InputError
from hundredx.kernel.cases import KINDS, case_time, predict_value
from hundredx.kernel.loading import load_params
from hundredx.validate.base import Unpredictable


def _chip(hardware: str):
    try:
        from hundredx.chip import load_chip
    except ImportError as exc:
        raise Unpredictable(f"chip catalog loader unavailable: {exc}") from None
    try:
        return load_chip(hardware)
    except (InputError, KeyError, FileNotFoundError, ValueError) as exc:
        raise Unpredictable(f"unknown chip {hardware!r}: {exc}") from None


def predict_case(case: dict) -> float:
    """Predicted value of one kernel case in its metric, or Unpredictable(reason)."""
    kind = case.get("kind")
    if kind not in KINDS:
        raise Unpredictable(f"kind {kind!r} is not a kernel case ({', '.join(KINDS)})")
    if int(case.get("n_devices", 1) or 1) != 1:
        raise Unpredictable(f"kernel cases are single-device; n_devices={case.get('n_devices')}")
    chip = _chip(str(case.get("hardware")))
    params = load_params(chip)
    try:
        fallback = case_time(case, chip, params)[0].parts.get("fallback", "")
        if fallback:
            raise Unpredictable(f"{chip.id} has no path for config.dtype={case['config'].get('dtype')} ({fallback})")
        return predict_value(case, chip, params)
    except (InputError, KeyError, ValueError, ZeroDivisionError) as exc:
        raise Unpredictable(str(exc)) from None


def error_summary(cases: list[dict], worst: int = 5) -> dict[str | None, dict]:
    """Per kind: n, unpredicted (with reasons), median and p90 APE, and the worst cases (a case
    without a kind is counted, unpredicted, under None)."""
    out: dict[str | None, dict] = {}
    for case in cases:
        kind = case.get("kind")
        entry = out.setdefault(kind, {"n": 0, "rows": [], "unpredicted": []})
        entry["n"] += 1
        try:
            pred = predict_case(case)
        except Unpredictable as exc:
            entry["unpredicted"].append({"id": case.get("id"), "reason": str(exc)})
            continue
        meas = float(case["value"])
        entry["rows"].append({"id": case.get("id"), "predicted": pred, "measured": meas, "error": pred / meas - 1.0})
    for entry in out.values():
        ape = np.abs([r["error"] for r in entry["rows"]]) if entry["rows"] else np.array([np.nan])
        entry["median_ape"] = float(np.median(ape))
        entry["p90_ape"] = float(np.percentile(ape, 90))
        entry["worst"] = sorted(entry.pop("rows"), key=lambda r: -abs(r["error"]))[:worst]
    return out
