"""Serving simulator core: hand-checked timelines, determinism, conservation, invariants."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from hundredx.errors import InputError
from hundredx.kernel.runtime import SchedulerSpec
from hundredx.serve import Deployment, LengthDist, LinearStepCost, MemoStepCost, Pool, Requests, Workload, simulate

# t = 10 ms + 1 ms per prefill token + 2 ms per decode sequence; no context terms
HAND = LinearStepCost(fixed_s=0.010, prefill_s_per_token=0.001, prefill_s_per_context_token=0.0,
                      decode_s_per_seq=0.002, decode_s_per_context_token=0.0,
                      kv_bytes_per_token=1.0, kv_capacity_bytes=1e6)


def reqs(arrival, inp, out, pid=None, ptok=None, concurrency=0):
    n = len(inp)
    return Requests(np.asarray(arrival, float), np.asarray(inp, np.int64), np.asarray(out, np.int64),
                    np.asarray(pid if pid is not None else [-1] * n, np.int64),
                    np.asarray(ptok if ptok is not None else [0] * n, np.int64), concurrency)


def test_two_requests_by_hand():
    # r0 @0: prefill 4 tok -> 14 ms (first token 0.014).  r1 @5 ms waits for that step.
    # step 2 @14 ms: r0 decode + r1 prefill 2 tok = 10+2+2 = 14 ms -> 0.028 (r0 token 2, r1 token 1)
    # step 3 @28 ms: decode r0 + r1 = 10+4 = 14 ms -> 0.042: r0 token 3 (done), r1 token 2 (done)
    res = simulate(Deployment(Pool(HAND)), reqs([0.0, 0.005], [4, 2], [3, 2]))
    r = res.requests
    np.testing.assert_allclose(r["first_token_s"], [0.014, 0.028], atol=1e-12)
    np.testing.assert_allclose(r["finish_s"], [0.042, 0.042], atol=1e-12)
    np.testing.assert_allclose(r["ttft_s"], [0.014, 0.023], atol=1e-12)
    np.testing.assert_allclose(r["tpot_s"], [0.014, 0.014], atol=1e-12)
    assert res["steps"] == 3 and res["finished"] == 2
    assert res["output_tokens_per_s"] == pytest.approx(5 / 0.042)


def test_token_budget_chunks_prefill():
    # budget 4: a 10-token prompt is prefilled as 4 + 4 + 2 -> steps of 14, 14, 12 ms; first token at 0.040
    pool = Pool(HAND, scheduler=SchedulerSpec(max_batched_tokens=4))
    res = simulate(Deployment(pool), reqs([0.0], [10], [1]))
    assert res.requests["first_token_s"][0] == pytest.approx(0.040)
    assert res["steps"] == 3


def test_macro_steps_match_single_steps():
    # a long pure-decode stretch (run as macro-steps) against the closed form: prefill 14 ms, then 99 x 12 ms
    res = simulate(Deployment(Pool(HAND)), reqs([0.0], [4], [100]))
    assert res.requests["finish_s"][0] == pytest.approx(0.014 + 99 * 0.012)
    assert res["steps"] == 100


def test_arrival_cuts_a_decode_stretch():
    # decode boundaries at 0.014 + j*0.012; r1 arrives at 0.045 mid-stretch and is admitted at the next
    # boundary 0.050; that step = 10 + 2 (decode r0) + 3 (prefill r1) ms -> r1's only token at 0.065
    res = simulate(Deployment(Pool(HAND)), reqs([0.0, 0.045], [4, 3], [100, 1]))
    assert res.requests["first_token_s"][1] == pytest.approx(0.065)
    assert res.requests["finish_s"][0] == pytest.approx(0.014 + 99 * 0.012 + 0.003)


BASE_W = Workload(num_requests=300, arrival="poisson", rate_per_s=40.0,
                  input_len=LengthDist("lognormal", 600, sigma=0.6, high=4000),
                  output_len=LengthDist("uniform", low=16, high=300))


def test_same_seed_same_result_and_json():
    dep = Deployment(Pool(LinearStepCost(), replicas=2), routing="least_loaded")
    a, b = simulate(dep, BASE_W, seed=7).to_dict(), simulate(dep, BASE_W, seed=7).to_dict()
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
    c = simulate(dep, BASE_W, seed=8).to_dict()
    assert c["ttft_mean_s"] != a["ttft_mean_s"]


def test_conservation_and_preemption():
    # KV for ~3000 tokens: long requests must preempt and recompute, and still all finish exactly once
    small = LinearStepCost(kv_bytes_per_token=1.0, kv_capacity_bytes=3000)
    w = Workload(num_requests=200, arrival="offline", input_len=LengthDist("uniform", low=100, high=900),
                 output_len=LengthDist("uniform", low=50, high=600))
    res = simulate(Deployment(Pool(small, scheduler=SchedulerSpec(kv_block_tokens=16))), w, seed=3)
    r = res.requests
    assert res["preemptions"] > 0
    assert res["finished"] + res["rejected"] == 200 and res["rejected"] == 0
    assert res["kv_leaked_blocks"] == 0 and res["pinned_prefixes"] == 0
    assert np.all(np.isfinite(r["finish_s"])) and np.all(r["finish_s"] >= r["first_token_s"])
    assert np.all(r["first_token_s"] > r["arrival_s"])
    assert res["kv_peak_utilization"] <= 1.0
    assert res["output_tokens"] == r["output_len"].sum()


def test_too_long_request_is_rejected_not_hung():
    small = LinearStepCost(kv_bytes_per_token=1.0, kv_capacity_bytes=160)  # 10 blocks of 16
    res = simulate(Deployment(Pool(small)), reqs([0.0, 0.0], [100, 300], [20, 20]))
    assert res["finished"] == 1 and res["rejected"] == 1
    assert math.isnan(res.requests["finish_s"][1])


def test_closed_loop_keeps_concurrency():
    w = Workload(num_requests=120, arrival="closed", concurrency=8, output_len=LengthDist("uniform", low=5, high=50))
    res = simulate(Deployment(Pool(LinearStepCost())), w, seed=1)
    r = res.requests
    t = np.sort(np.concatenate([r["arrival_s"], r["finish_s"]]))
    inflight = [(np.sum(r["arrival_s"] <= x) - np.sum(r["finish_s"] <= x)) for x in t]
    assert max(inflight) <= 8 and res["finished"] == 120
    assert np.sum(r["arrival_s"] == 0.0) == 8


def test_more_replicas_never_lower_saturated_throughput():
    w = Workload(num_requests=400, arrival="offline", output_len=LengthDist("uniform", low=20, high=200))
    tput = [simulate(Deployment(Pool(LinearStepCost(), replicas=k)), w)["output_tokens_per_s"] for k in (1, 2, 4)]
    assert tput[0] <= tput[1] <= tput[2]
    assert tput[2] > 2.5 * tput[0]


def test_prefix_cache_never_slows_and_hits():
    w = Workload(num_requests=300, arrival="poisson", rate_per_s=30, prefix_groups=4, prefix_tokens=768,
                 input_len=LengthDist("uniform", low=800, high=1500))
    runs = {}
    for on in (False, True):
        dep = Deployment(Pool(LinearStepCost(), scheduler=SchedulerSpec(prefix_cache=on)))
        runs[on] = simulate(dep, w, seed=5)
    assert runs[True]["prefix_hit_rate"] > 0.3 and runs[False]["prefix_hit_rate"] == 0
    assert runs[True]["ttft_mean_s"] <= runs[False]["ttft_mean_s"]
    assert runs[True]["e2e_mean_s"] <= runs[False]["e2e_mean_s"]
    assert runs[True]["kv_leaked_blocks"] == 0 and runs[True]["pinned_prefixes"] == 0


def test_prefix_cache_under_memory_pressure_evicts_and_conserves():
    small = LinearStepCost(kv_bytes_per_token=1.0, kv_capacity_bytes=16 * 400)
    w = Workload(num_requests=200, arrival="offline", prefix_groups=30, prefix_tokens=512,
                 input_len=LengthDist("uniform", low=520, high=1200),
                 output_len=LengthDist("uniform", low=10, high=200))
    res = simulate(Deployment(Pool(small, scheduler=SchedulerSpec(prefix_cache=True))), w, seed=2)
    assert res["finished"] == 200 and res["kv_leaked_blocks"] == 0 and res["pinned_prefixes"] == 0
    assert 0 < res["prefix_hit_rate"] < 1


def test_costs_and_energy():
    dep = Deployment(Pool(HAND, devices_per_replica=8), device_hour_usd=2.0, device_power_w=700.0)
    res = simulate(dep, reqs([0.0, 0.005], [4, 2], [3, 2]))
    assert res["usd_per_million_output_tokens"] == pytest.approx(2.0 * 8 * 0.042 / 3600 / 5 * 1e6)
    assert res["joules_per_output_token"] == pytest.approx(700 * 8 * 0.042 / 5)
    assert res["output_tokens_per_s_per_device"] == pytest.approx(5 / 0.042 / 8)


def test_slo_goodput():
    w = Workload(num_requests=200, arrival="poisson", rate_per_s=12, ttft_limit_s=0.3, tpot_limit_s=0.04)
    res = simulate(Deployment(Pool(LinearStepCost())), w, seed=0)
    r = res.requests
    ok = (r["ttft_s"] <= 0.3) & (r["tpot_s"] <= 0.04)
    assert res["goodput_fraction"] == pytest.approx(ok.mean())
    assert 0 < res["goodput_fraction"] < 1


def test_progress_callback_monotone():
    seen = []
    simulate(Deployment(Pool(LinearStepCost())), Workload(num_requests=50, arrival="offline"), progress=seen.append)
    assert seen[-1] == 1.0 and seen == sorted(seen) and len(seen) <= 101


def test_memoized_cost_close_to_exact():
    exact = simulate(Deployment(Pool(LinearStepCost(), replicas=2)), BASE_W, seed=4)
    memo_cost = MemoStepCost(LinearStepCost())
    memo = simulate(Deployment(Pool(memo_cost, replicas=2)), BASE_W, seed=4)
    assert memo["output_tokens_per_s"] == pytest.approx(exact["output_tokens_per_s"], rel=0.05)
    assert memo_cost.hits > 0


def test_bad_inputs_name_the_field():
    with pytest.raises(InputError, match="replicas"):
        Pool(LinearStepCost(), replicas=0)
    with pytest.raises(InputError, match="routing"):
        Deployment(Pool(LinearStepCost()), routing="random")
    with pytest.raises(InputError, match="deployment"):
        simulate("nope", Workload())
    with pytest.raises(InputError, match="kv_capacity_bytes"):
        simulate(Deployment(Pool(LinearStepCost(kv_capacity_bytes=10.0))), Workload(num_requests=1))


@pytest.mark.parametrize("case", range(12))
def test_random_configurations_conserve(case):
    r = np.random.default_rng(case)
    bt = int(r.choice([1, 8, 16, 32]))
    cost = LinearStepCost(kv_bytes_per_token=1.0, kv_capacity_bytes=float(r.integers(2500, 20000)))
    eng = SchedulerSpec(max_seqs=int(r.integers(1, 64)), max_batched_tokens=int(r.integers(64, 4096)),
                        kv_block_tokens=bt,
                       chunked_prefill=bool(r.random() < 0.7), prefix_cache=bool(r.random() < 0.5))
    from hundredx.kernel.runtime import SpeculativeSpec
    from hundredx.serve import KVTransfer

    spec = (SpeculativeSpec(draft_tokens=int(r.integers(1, 5)), acceptance=float(r.random()))
            if r.random() < 0.3 else None)
    pre = Pool(cost, replicas=int(r.integers(1, 3)), scheduler=eng) if r.random() < 0.3 else None
    dep = Deployment(Pool(cost, replicas=int(r.integers(1, 4)), scheduler=eng), prefill=pre,
                     transfer=KVTransfer(1e9, 1e-4) if pre else None, speculative=spec,
                     routing=str(r.choice(["round_robin", "least_loaded"])))
    w = Workload(num_requests=150, arrival=str(r.choice(["poisson", "offline", "closed", "gamma"])), rate_per_s=30,
                 concurrency=16, prefix_groups=5, prefix_tokens=300,
                 input_len=LengthDist("lognormal", 500, sigma=1.0, high=3000),
                 output_len=LengthDist("lognormal", 150, sigma=1.0, high=1500))
    res = simulate(dep, w, seed=case)
    rq = res.requests
    assert res["finished"] + res["rejected"] == 150
    assert res["kv_leaked_blocks"] == 0 and res["pinned_prefixes"] == 0
    done = rq["finished"]
    assert np.all(rq["first_token_s"][done] >= rq["arrival_s"][done])
    assert np.all(rq["finish_s"][done] >= rq["first_token_s"][done])
    assert res["output_tokens"] == rq["output_len"][done].sum()
