"""Predict kernel-level validation cases (gemm, attention, memory, grouped_gemm) with the kernel models.

`predict_case(case) -> float` returns the value in the case's metric (tflops, time_s,
bandwidth_gbps; FLOP conventions of docs/cases.md; kernel/cases.py prices the case) using the chip's
fitted parameters ($HUNDREDX_HOME/fitted/<chip>.json, else the shipped kernel/fitted/<chip>.json:
kernel/loading.py), else the analytic defaults; it raises
`Unpredictable(reason)` for an unknown chip, a missing config field, a kernel or format the
chip has no path for, a multi-device case, or a metric the kernel models do not produce.
`predict_detail(case)` adds the source class and place the interval is read for
(kernel/intervals.py). Under `--calibration profile` (kernel/loading.calibration_scope) a case
is predicted from the measured profiles of its chip with the case itself left out
(leave-one-case-out interpolation, kernel/measured.py), else it is unpredicted; otherwise the
fitted, family or analytic parameters answer as `load_params` allows.
`error_summary(cases)` gives per-kind median / p90 absolute percentage error and the worst cases.
"""

from __future__ import annotations

import numpy as np

from hundredx.errors import InputError
from hundredx.kernel.cases import KINDS, case_time, predict_value
from hundredx.kernel.domain import describe_case
from hundredx.kernel.intervals import classify
from hundredx.kernel.loading import current_calibration, load_params
from hundredx.kernel.roofline import case_metric_flops
from hundredx.validate.base import Unpredictable

_LOOKUP_KEYS = ("m", "n", "k", "dtype", "library", "phase", "batch", "seqlen_q", "seqlen_kv", "heads_q", "heads_kv",
                "head_dim", "causal", "kernel", "tokens_per_group", "groups", "tokens_total", "op", "bytes")


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
    return predict_detail(case)[0]


def _from_profile(case: dict, chip) -> float:
    """The case's value interpolated from its chip's profiles, the case itself left out."""
    from hundredx.kernel.measured import measured_efficiency, sol_time_s

    cfg, kind = case["config"], case["kind"]
    shape = {k: cfg[k] for k in _LOOKUP_KEYS if cfg.get(k) is not None}
    eff, why = measured_efficiency(kind, chip.id, chip=chip, exclude_id=case.get("id"), **shape)
    sol = sol_time_s(kind, cfg, chip)
    if eff is None or sol is None:
        raise Unpredictable(f"calibration=profile: {why}")
    time_s = sol / eff
    metric = case.get("metric")
    if metric == "time_s":
        return time_s
    if metric == "tflops":
        return case_metric_flops(kind, cfg) / time_s / 1e12
    if metric == "bandwidth_gbps" and kind == "memory":
        return float(cfg["bytes"]) / time_s / 1e9
    raise Unpredictable(f"metric {metric!r} not predictable for kind {kind}")


def predict_detail(case: dict) -> tuple[float, str, str]:
    """(predicted value in the case's metric, source class, place) or Unpredictable(reason)."""
    kind = case.get("kind")
    if kind not in KINDS:
        raise Unpredictable(f"kind {kind!r} is not a kernel case ({', '.join(KINDS)})")
    if int(case.get("n_devices", 1) or 1) != 1:
        raise Unpredictable(f"kernel cases are single-device; n_devices={case.get('n_devices')}")
    chip = _chip(str(case.get("hardware")))
    try:
        if current_calibration()[0] == "profile":
            return _from_profile(case, chip), "profile", "in"
        params = load_params(chip)
        t = case_time(case, chip, params)[0]
        fallback = t.parts.get("fallback", "")
        if fallback:
            raise Unpredictable(f"{chip.id} has no path for config.dtype={case['config'].get('dtype')} ({fallback})")
        cls, where = classify(describe_case(case, chip, t.parts.get("kernel")), params)
        return predict_value(case, chip, params), cls, where
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
