"""Goodput at an SLO with the request-level simulator: the prefill/decode disaggregation claim.

DistServe-style measure: the highest Poisson request rate at which at least ATTAINMENT of the
requests meet both the TTFT and the TPOT limit, found by doubling then bisection over the rate
(each point one seeded simulation of ARRIVAL_WINDOW_S seconds of arrivals, 200 to 3,000
requests, so that a queue can build up). Disaggregated placements try the P:D splits 1:3, 1:1 and 3:1 of the
devices (a coarse version of DistServe's placement search) and keep the best; the colocated deployment runs the
same devices as tp-1 replicas with chunked prefill.
"""

from __future__ import annotations

ATTAINMENT = 0.9
MIN_REQUESTS, MAX_REQUESTS, ARRIVAL_WINDOW_S = 200, 3000, 10.0


def max_goodput_rate(deployment, isl: int, osl: int, ttft_s: float, tpot_s: float, steps: int = 6) -> float:
    """Highest request rate (req/s) with >= ATTAINMENT of requests inside both SLOs (0 if none)."""
    from hundredx.serve import LengthDist, Workload, simulate

    def attained(rate: float) -> bool:
        n = int(min(max(rate * ARRIVAL_WINDOW_S, MIN_REQUESTS), MAX_REQUESTS))  # long enough for queues to form
        work = Workload(num_requests=n, arrival="poisson", rate_per_s=rate,
                        input_len=LengthDist("fixed", float(isl)), output_len=LengthDist("fixed", float(osl)),
                        ttft_limit_s=ttft_s, tpot_limit_s=tpot_s)
        return simulate(deployment, work, seed=0).to_dict()["goodput_fraction"] >= ATTAINMENT

    lo, hi = 0.0, 1.0
    while attained(hi) and hi < 1e5:
        lo, hi = hi, hi * 2.0
    for _ in range(steps):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if attained(mid) else (lo, mid)
    return lo


def pd_goodput_ratio(model_id: str, chip: str, devices: int, isl: int, osl: int, ttft_s: float,
                     tpot_s: float) -> dict:
    """Best disaggregated P:D split vs colocated, both on `devices` tp-1 replicas of `model_id`."""
    from hundredx.kernel.runtime import Disaggregation
    from hundredx.scenario import build
    from hundredx.serve.from_stack import deployment_from_stack

    stack = build(model_id, chip, devices=devices, tp=1, weights="fp8", kv="fp8").stack
    colocated = max_goodput_rate(deployment_from_stack(stack), isl, osl, ttft_s, tpot_s)
    splits = {}
    for p in sorted({max(1, devices // 4), devices // 2, devices - max(1, devices // 4)}):
        pools = build(model_id, chip, tp=1, weights="fp8", kv="fp8",
                      disaggregation=Disaggregation(p, devices - p)).stack
        dep = deployment_from_stack(pools)
        splits[f"{p}:{devices - p}"] = max_goodput_rate(dep, isl, osl, ttft_s, tpot_s)
    best = max(splits, key=lambda split: splits[split])
    return {"colocated_rate": colocated, "disaggregated_rate": splits[best], "best_split": best, "splits": splits,
            "ratio": splits[best] / colocated if colocated > 0 else float("inf")}
