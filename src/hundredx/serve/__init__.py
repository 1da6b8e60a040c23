"""Request-level serving simulator: continuous batching, chunked prefill, paged KV, prefix
caching, DP routing, P/D and attention/FFN disaggregation, speculative decoding.

    simulate(Deployment(Pool(step_cost, replicas=4)), Workload(arrival="poisson", rate_per_s=20))

The workload is the one `scenario.Workload`; each pool's engine scheduler is a
`kernel.runtime.SchedulerSpec` and speculative decoding a `kernel.runtime.SpeculativeSpec`.
The cost of each engine iteration comes from a `StepCost` (stepcost.py); the event loop is
in engine.py, the per-replica policy in scheduler.py, metrics in metrics.py, Pareto fronts in
pareto.py. Seeded and deterministic: the same (deployment, workload, seed) gives the same result.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from hundredx.errors import InputError
from hundredx.scenario.workload import LengthDist, Workload
from hundredx.serve.deploy import AFDStepCost, Deployment, KVTransfer, Pool
from hundredx.serve.engine import Engine
from hundredx.serve.result import SimResult, build_result
from hundredx.serve.stepcost import LinearStepCost, MemoStepCost, StepCost, TableStepCost
from hundredx.serve.workload import Requests, load_trace, make_requests

__all__ = ["AFDStepCost", "Deployment", "KVTransfer", "LengthDist", "LinearStepCost",
           "MemoStepCost", "Pool", "Requests", "SimResult", "StepCost", "TableStepCost",
           "Workload", "load_trace", "make_requests", "simulate"]


def simulate(deployment: Deployment, workload: Workload | Requests, seed: int = 0,
             progress: Callable[[float], None] | None = None) -> SimResult:
    """Simulate serving `workload` on `deployment`; `progress(fraction)` is called as requests finish."""
    if not isinstance(deployment, Deployment):
        raise InputError("deployment", type(deployment).__name__, "must be a serve.Deployment")
    warmup = 0
    if isinstance(workload, Requests):
        requests, slo_ttft, slo_tpot = workload, math.inf, math.inf
    elif isinstance(workload, Workload):
        rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0x3A7]))
        requests, slo_ttft, slo_tpot = make_requests(workload, rng), workload.ttft_limit_s, workload.tpot_limit_s
        warmup = workload.warmup_requests
        if warmup >= len(requests):
            raise InputError("warmup_requests", warmup, f"leaves none of the {len(requests)} requests to measure")
    else:
        raise InputError("workload", type(workload).__name__, "must be a serve.Workload or serve.Requests")
    book, main, pre = Engine(deployment, requests, seed, progress).run()
    return build_result(deployment, requests, book, main, pre, slo_ttft, slo_tpot, warmup)
