"""Serving metrics from per-request timestamps (the MLPerf / InferenceX vocabulary).

Per request: TTFT = first token - arrival; TPOT = (finish - first token) / (output - 1)
(undefined for one-token answers); end-to-end = finish - arrival. Over the run
(makespan T = last finish - first arrival): output and input tokens/s, per device,
tokens/s per user = 1 / mean TPOT (interactivity), goodput = requests meeting both SLOs
per second (DistServe's definition), utilization = busy time / (replicas * T) and
KV = block-seconds used / (blocks * T). Cost per million output tokens =
$/device-hour * devices * T / 3600 / output tokens * 1e6; energy per output token =
W/device * devices * T / output tokens (J), a board-power upper bound (idle included).
"""

from __future__ import annotations

import math

import numpy as np


def request_times(arrival_s, first_s, finish_s, output_len) -> dict[str, np.ndarray]:
    """TTFT, TPOT and end-to-end latency per request (NaN where undefined)."""
    out = np.asarray(output_len, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        tpot = np.where(out > 1, (finish_s - first_s) / np.maximum(out - 1, 1), np.nan)
    return {"ttft_s": first_s - arrival_s, "tpot_s": tpot, "e2e_s": finish_s - arrival_s}


def percentiles(x: np.ndarray) -> dict[str, float]:
    """mean, p50, p90, p99 of the finite values (NaN when there are none)."""
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return {"mean": math.nan, "p50": math.nan, "p90": math.nan, "p99": math.nan}
    p50, p90, p99 = np.percentile(x, [50, 90, 99])
    return {"mean": float(x.mean()), "p50": float(p50), "p90": float(p90), "p99": float(p99)}


def goodput_mask(ttft_s, tpot_s, ttft_limit_s: float, tpot_limit_s: float, finished) -> np.ndarray:
    """Finished requests within both SLOs (a one-token answer has no TPOT and meets that SLO)."""
    tpot_ok = ~np.isfinite(tpot_s) | (tpot_s <= tpot_limit_s)
    return np.asarray(finished) & (ttft_s <= ttft_limit_s) & tpot_ok


def _pool_stats(stats: list[dict], makespan_s: float) -> dict[str, float]:
    if not stats or makespan_s <= 0:
        return {"busy_fraction": math.nan, "kv_utilization": math.nan, "kv_peak_utilization": math.nan}
    busy = sum(s["busy_s"] for s in stats)
    blocks = sum(s["kv_blocks"] for s in stats)
    return {"busy_fraction": busy / (len(stats) * makespan_s),
            "kv_utilization": sum(s["kv_block_s"] for s in stats) / (blocks * makespan_s),
            "kv_peak_utilization": max(s["kv_peak_blocks"] / s["kv_blocks"] for s in stats)}


def summarize(times: dict[str, np.ndarray], arrival_s, finish_s, input_len, output_len, finished,
              ttft_limit_s: float, tpot_limit_s: float, devices: float, device_hour_usd: float,
              device_power_w: float, main_stats: list[dict], prefill_stats: list[dict]) -> dict:
    """Run-level metrics (see module docstring); every value is a float or int."""
    finished = np.asarray(finished, dtype=bool)
    out_tokens = float(np.sum(output_len[finished]))
    in_tokens = float(np.sum(input_len[finished]))
    makespan = float(np.max(finish_s[finished]) - np.min(arrival_s)) if finished.any() else 0.0
    rate = (lambda x: x / makespan) if makespan > 0 else (lambda x: math.nan)
    good = goodput_mask(times["ttft_s"], times["tpot_s"], ttft_limit_s, tpot_limit_s, finished)
    tpot_mean = percentiles(times["tpot_s"])["mean"]
    out = {"makespan_s": makespan, "output_tokens": out_tokens, "input_tokens": in_tokens,
           "output_tokens_per_s": rate(out_tokens), "input_tokens_per_s": rate(in_tokens),
           "output_tokens_per_s_per_device": rate(out_tokens) / devices,
           "tokens_per_s_per_user": 1.0 / tpot_mean if tpot_mean > 0 else math.nan,
           "requests_per_s": rate(float(finished.sum())),
           "goodput_requests_per_s": rate(float(good.sum())), "goodput_fraction": float(good.mean()),
           "ttft_limit_s": ttft_limit_s, "tpot_limit_s": tpot_limit_s, "devices": devices}
    for name in ("ttft_s", "tpot_s", "e2e_s"):
        for stat, value in percentiles(times[name][finished]).items():
            out[f"{name.removesuffix('_s')}_{stat}_s"] = value
    device_s = devices * makespan
    out["usd_per_million_output_tokens"] = (device_hour_usd * device_s / 3600 / out_tokens * 1e6
                                            if out_tokens and device_hour_usd else math.nan)
    out["joules_per_output_token"] = device_power_w * device_s / out_tokens if out_tokens and device_power_w \
        else math.nan
    out["joules_per_token"] = device_power_w * device_s / (out_tokens + in_tokens) \
        if out_tokens and device_power_w else math.nan
    out.update(_pool_stats(main_stats, makespan))
    if prefill_stats:
        pre = _pool_stats(prefill_stats, makespan)
        out.update({f"prefill_{k}": v for k, v in pre.items()})
        busy_p = sum(s["busy_s"] for s in prefill_stats)
        busy_d = sum(s["busy_s"] for s in main_stats)
        out["pd_replicas"] = f"{len(prefill_stats)}:{len(main_stats)}"
        out["pd_utilization_ratio"] = pre["busy_fraction"] / out["busy_fraction"] if out["busy_fraction"] else math.nan
        out["pd_balanced_ratio"] = busy_p / busy_d if busy_d else math.nan
    return out
