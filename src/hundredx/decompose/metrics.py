"""Metrics a decomposition compares, at one operating point of a `Scenario`.

Operating point: a fixed `workload.batch` (or concurrency) is used as given; `batch: auto`
searches the batch per replica: the largest batch in [1, memory limit] whose predicted TPOT
and TTFT meet the workload's limits (bisection over `predict`, assuming TPOT and TTFT grow
with batch); the memory limit is `scenario.memory.max_batch`. For the latency metrics
(tpot_s, ttft_s) `batch: auto` means batch 1 (the minimum-latency point).

Metrics (all per device, so deployments of different sizes compare):
  output_tokens_per_s_per_device  higher is better
  cost_per_million_tokens   = price_per_hour / 3600 / (tokens/s/device) * 1e6   (USD)
  energy_per_token_j        = power_w / (tokens/s/device)                       (J = W*s)
  tpot_s, ttft_s            seconds
Intervals: each evaluation carries the 80% interval of its value (`value_interval`: the
prediction's own interval, predict/intervals.py, at the operating point's batch).
The decomposition works on a "goodness" g that is larger-is-better: g = metric for
throughput, 1/metric for the lower-is-better metrics, so every ratio B/A > 1 means B is better.

P/D disaggregation (analytic pools; KV transfer not modelled): the decode pool (dp_d replicas)
makes dp_d * b_d / TPOT(b_d) tokens/s; the prefill pool (dp_p replicas) admits
dp_p * b_p / TTFT(b_p) requests/s (b_p: largest prefill batch meeting the TTFT limit);
output = min(decode, prefill * osl), over prefill + decode devices.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from hundredx.errors import InputError
from hundredx.predict import Prediction, predict
from hundredx.scenario import Scenario, Workload
from hundredx.scenario.memory import max_batch

METRICS = {
    "output_tokens_per_s_per_device": ("higher", "tokens/s/device"),
    "cost_per_million_tokens": ("lower", "USD per 1M output tokens"),
    "energy_per_token_j": ("lower", "J per output token"),
    "tpot_s": ("lower", "s"),
    "ttft_s": ("lower", "s"),
}
ALIASES = {"throughput": "output_tokens_per_s_per_device", "tokens_per_s_per_device": "output_tokens_per_s_per_device",
           "cost": "cost_per_million_tokens", "energy": "energy_per_token_j", "energy_per_token": "energy_per_token_j",
           "tpot": "tpot_s", "ttft": "ttft_s"}
DEFAULT_METRIC = "output_tokens_per_s_per_device"


class Infeasible(Exception):
    """The scenario cannot run (memory, SLO, parallelism); str() is the reason."""


def metric_name(metric: str) -> str:
    key = ALIASES.get(metric, metric)
    if key not in METRICS:
        raise InputError("metric", metric, f"must be one of {', '.join(METRICS)} (or {', '.join(ALIASES)})")
    return key


@dataclass
class Evaluation:
    metric: str
    value: float
    goodness: float
    batch: int
    limited_by: str
    tokens_per_s_per_device: float
    tpot_s: float
    ttft_s: float
    devices: int
    prediction: Prediction = field(repr=False)
    notes: list[str] = field(default_factory=list)
    interval: list[float] | None = None  # 80% interval of `value` (goodness_interval module docstring)

    def to_dict(self) -> dict:
        return {"metric": self.metric, "value": self.value, "interval": self.interval, "batch": self.batch,
                "limited_by": self.limited_by, "output_tokens_per_s_per_device": self.tokens_per_s_per_device,
                "tpot_s": self.tpot_s, "ttft_s": self.ttft_s, "devices": self.devices, "notes": self.notes}

    @property
    def goodness_interval(self) -> tuple[float, float] | None:
        """80% interval of the goodness (larger is better) from `interval`."""
        if self.interval is None:
            return None
        lo, hi = self.interval
        if METRICS[self.metric][0] == "higher":
            return lo, hi
        return 1.0 / hi, 1.0 / lo


def value_interval(metric: str, value: float, pred: Prediction) -> list[float] | None:
    """80% interval of a metric's value from the prediction's intervals (predict/intervals.py).

    Throughput, cost and energy per token scale with the prediction's output tokens/s per
    device (its relative interval; under P/D the decode pool's); TPOT and TTFT take theirs."""
    key = "output_tokens_per_s_per_device" if metric not in ("tpot_s", "ttft_s") else metric
    bounds = pred.intervals.get(key)
    base = getattr(pred, key, None)
    if not bounds or not base or not all(math.isfinite(x) and x > 0 for x in bounds):
        return None
    lo, hi = bounds[0] / base, bounds[1] / base
    if metric in ("cost_per_million_tokens", "energy_per_token_j"):
        lo, hi = 1.0 / hi, 1.0 / lo
    return [min(value * lo, value), max(value * hi, value)]


def _predict(stack, w: Workload, batch: int, check: bool = True) -> Prediction:
    try:
        return predict(stack, replace(w, batch=int(batch)), check_memory=check)
    except InputError as exc:
        raise Infeasible(f"{stack.model.id} on {stack.system.id}: {exc.why}") from None


def _ok(p: Prediction, w: Workload, use_ttft: bool = True, use_tpot: bool = True) -> bool:
    return w.meets(p.ttft_s, p.tpot_s, use_ttft, use_tpot)


def search_batch(stack, w: Workload, use_ttft: bool = True, use_tpot: bool = True) -> tuple[int, str, Prediction]:
    """(largest batch meeting the limits and memory, what limited it, its prediction)."""
    cap = max_batch(stack, w.isl, w.osl)
    if cap < 1:
        raise Infeasible(f"{stack.model.id} on {stack.system.id} (tp={stack.runtime.tp} pp={stack.runtime.pp} "
                         f"ep={stack.runtime.ep}): weights + KV of one sequence do not fit")
    first = _predict(stack, w, 1, check=False)
    if not _ok(first, w, use_ttft, use_tpot):
        raise Infeasible(f"misses the SLO even at batch 1: TPOT {first.tpot_s * 1e3:.1f} ms "
                         f"(limit {w.tpot_limit_s * 1e3:g}), TTFT {first.ttft_s:.3f} s (limit {w.ttft_limit_s:g})")
    top = _predict(stack, w, cap, check=False)
    if _ok(top, w, use_ttft, use_tpot):
        return cap, "memory", top
    lo, hi, best = 1, cap, first
    while hi - lo > 1:
        mid = (lo + hi) // 2
        p = _predict(stack, w, mid, check=False)
        if _ok(p, w, use_ttft, use_tpot):
            lo, best = mid, p
        else:
            hi = mid
    return lo, "slo", best


def _disaggregated(scn: Scenario, metric: str) -> tuple[float, float, float, int, str, Prediction]:
    """(tokens/s/device, tpot, ttft, decode batch, limited_by, decode prediction) for P/D pools."""
    stack, w, d = scn.stack, scn.workload, scn.runtime.disaggregation
    assert d is not None  # evaluate() calls this for a disaggregated runtime only
    replica = stack.runtime.tp * stack.runtime.pp * stack.runtime.cp
    latency = metric in ("tpot_s", "ttft_s")
    if scn.batch_auto:
        b_d, limited, pd = (1, "latency", _predict(stack, w, 1)) if latency else search_batch(stack, w, use_ttft=False)
    else:
        b_d, limited, pd = w.batch, "fixed", _predict(stack, w, w.batch)
    pre_dp = max(1, d.prefill_devices // replica)
    pre = stack.with_runtime(dp=pre_dp, ep=min(stack.runtime.ep, stack.runtime.tp * pre_dp))
    wp = replace(w, osl=1)
    if scn.batch_auto and not latency:
        b_p, _, pp_ = search_batch(pre, wp, use_tpot=False)
    else:
        b_p, pp_ = b_d, _predict(pre, wp, b_d)
    decode_tps = (d.decode_devices // replica) * b_d / pd.tpot_s
    prefill_rps = (d.prefill_devices // replica) * b_p / pp_.ttft_s
    tps = min(decode_tps, prefill_rps * w.osl) / (d.prefill_devices + d.decode_devices)
    if prefill_rps * w.osl < decode_tps:
        limited += "+prefill_pool"
    return tps, pd.tpot_s, pp_.ttft_s, b_d, limited, pd


def evaluate(scn: Scenario, metric: str = DEFAULT_METRIC) -> Evaluation:
    """The metric of one scenario at its operating point; raises Infeasible with the reason."""
    metric = metric_name(metric)
    stack, w = scn.stack, scn.workload
    notes = list(scn.adjustments)
    if scn.runtime.disaggregation is not None:
        tps, tpot, ttft, batch, limited, pred = _disaggregated(scn, metric)
    else:
        if not scn.batch_auto:
            batch, limited, pred = w.batch, "fixed", _predict(stack, w, w.batch)
        elif metric in ("tpot_s", "ttft_s"):
            batch, limited, pred = 1, "latency", _predict(stack, w, 1)
        else:
            batch, limited, pred = search_batch(stack, w)
        tps, tpot, ttft = pred.output_tokens_per_s_per_device, pred.tpot_s, pred.ttft_s
    if not tps > 0:
        raise Infeasible("predicted throughput is zero")
    devices = scn.devices
    value = {"output_tokens_per_s_per_device": tps, "tpot_s": tpot, "ttft_s": ttft,
             "cost_per_million_tokens": scn.chip.price_per_hour / 3600.0 / tps * 1e6,
             "energy_per_token_j": scn.chip.tdp_w / tps}[metric]
    if value <= 0:
        raise Infeasible(f"{metric} = {value}: price or power is zero for {stack.chip.id}")
    goodness = value if METRICS[metric][0] == "higher" else 1.0 / value
    interval = value_interval(metric, value, pred)
    return Evaluation(metric, value, goodness, int(batch), limited, tps, tpot, ttft, devices, pred, notes, interval)
