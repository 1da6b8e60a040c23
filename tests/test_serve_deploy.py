"""Serving simulator deployments: P/D disaggregation, speculative decoding, attention/FFN disaggregation."""

from __future__ import annotations

import numpy as np
import pytest

from hundredx.errors import InputError
from hundredx.kernel.runtime import SchedulerSpec, SpeculativeSpec
from hundredx.serve import (
    AFDStepCost,
    Deployment,
    KVTransfer,
    LengthDist,
    LinearStepCost,
    Pool,
    Requests,
    Workload,
    simulate,
)

HAND = LinearStepCost(fixed_s=0.010, prefill_s_per_token=0.001, prefill_s_per_context_token=0.0,
                      decode_s_per_seq=0.002, decode_s_per_context_token=0.0,
                      kv_bytes_per_token=1.0, kv_capacity_bytes=1e6)


def one(inp: int, out: int) -> Requests:
    return Requests(np.zeros(1), np.array([inp]), np.array([out]), np.array([-1]), np.array([0]))


def test_pd_single_request_by_hand():
    # prefill 4 tokens on the P pool: 14 ms (first token). KV = 4 B over 1 kB/s + 1 ms = 5 ms -> decode starts 0.019;
    # two decode steps of 12 ms -> finish 0.043
    dep = Deployment(Pool(HAND), prefill=Pool(HAND), transfer=KVTransfer(link_bytes_per_s=1e3, latency_s=1e-3))
    res = simulate(dep, one(4, 3))
    r = res.requests
    assert r["first_token_s"][0] == pytest.approx(0.014)
    assert r["finish_s"][0] == pytest.approx(0.043)
    assert r["tpot_s"][0] == pytest.approx(0.0145)
    assert res["kv_leaked_blocks"] == 0 and all(rep["held_transfers"] == 0 for rep in res.replicas)
    assert res["disaggregated"] and res["pd_replicas"] == "1:1"


def test_pd_conserves_and_reports_balance():
    w = Workload(num_requests=300, arrival="poisson", rate_per_s=20,
                 input_len=LengthDist("uniform", low=200, high=3000),
                 output_len=LengthDist("uniform", low=10, high=400))
    small = LinearStepCost(kv_bytes_per_token=1.0, kv_capacity_bytes=16 * 1500)
    dep = Deployment(Pool(small, replicas=2), prefill=Pool(LinearStepCost(), replicas=1),
                     transfer=KVTransfer(50e9, 1e-4), routing="least_loaded")
    res = simulate(dep, w, seed=9)
    assert res["finished"] == 300 and res["kv_leaked_blocks"] == 0
    assert res["pd_balanced_ratio"] > 0 and 0 < res["prefill_busy_fraction"] <= 1
    assert res["devices"] == 3
    pools = {rep["pool"] for rep in res.replicas}
    assert pools == {"prefill", "decode"}


def test_pd_transfer_time_shows_in_latency():
    w = Workload(num_requests=50, arrival="poisson", rate_per_s=2)
    fast = Deployment(Pool(LinearStepCost()), prefill=Pool(LinearStepCost()), transfer=KVTransfer(1e12, 0.0))
    slow = Deployment(Pool(LinearStepCost()), prefill=Pool(LinearStepCost()), transfer=KVTransfer(1e9, 0.05))
    a, b = simulate(fast, w, seed=1), simulate(slow, w, seed=1)
    assert a["ttft_mean_s"] == pytest.approx(b["ttft_mean_s"])  # first token comes from the prefill pool
    assert b["e2e_mean_s"] > a["e2e_mean_s"] + 0.05


def test_pd_needs_transfer():
    with pytest.raises(InputError, match="transfer"):
        Deployment(Pool(HAND), prefill=Pool(HAND))


def test_speculative_by_hand():
    # verify step = 10 ms + 4 tokens * 1 ms, + 1 ms draft; a = 1 accepts all 3 drafts: 4 tokens per step
    spec = SpeculativeSpec(draft_tokens=3, acceptance=1.0)
    res = simulate(Deployment(Pool(HAND), speculative=spec, draft_fixed_s=0.001), one(4, 9))
    assert res.requests["finish_s"][0] == pytest.approx(0.014 + 2 * 0.015)
    assert res["steps"] == 3
    none = simulate(Deployment(Pool(HAND), speculative=SpeculativeSpec(draft_tokens=3, acceptance=0.0),
                                 draft_fixed_s=0.001), one(4, 9))
    assert none.requests["finish_s"][0] == pytest.approx(0.014 + 8 * 0.015)


def test_speculative_tokens_per_step_match_truncated_geometric():
    spec = SpeculativeSpec(draft_tokens=3, acceptance=0.7)
    res = simulate(Deployment(Pool(HAND), speculative=spec), one(4, 6001), seed=11)
    per_step = 6000 / (res["steps"] - 1)
    assert per_step == pytest.approx(spec.expected_tokens_per_step, rel=0.03)
    assert res.requests["finish_s"][0] > 0


def test_speculative_conserves_under_memory_pressure():
    small = LinearStepCost(kv_bytes_per_token=1.0, kv_capacity_bytes=16 * 200)
    w = Workload(num_requests=100, arrival="offline", input_len=LengthDist("uniform", low=50, high=600),
                 output_len=LengthDist("uniform", low=20, high=900))
    res = simulate(Deployment(Pool(small), speculative=SpeculativeSpec(draft_tokens=4, acceptance=0.8)), w, seed=2)
    assert res["finished"] == 100 and res["kv_leaked_blocks"] == 0 and res["preemptions"] > 0
    np.testing.assert_array_equal(res.to_frame()["output_len"].sum(), res["output_tokens"])


def test_speculation_helps_memory_bound_decode():
    w = Workload(num_requests=64, arrival="closed", concurrency=8, output_len=LengthDist("fixed", 500))
    base = simulate(Deployment(Pool(LinearStepCost())), w)
    spec = simulate(Deployment(Pool(LinearStepCost()), speculative=SpeculativeSpec(draft_tokens=3, acceptance=0.8),
                                 draft_fixed_s=1e-3), w)
    assert spec["tokens_per_s_per_user"] > 1.5 * base["tokens_per_s_per_user"]


def test_afd_step_by_hand():
    att = LinearStepCost(fixed_s=0, prefill_s_per_token=0, decode_s_per_seq=1e-3, decode_s_per_context_token=0)
    ffn = LinearStepCost(fixed_s=0, prefill_s_per_token=0, decode_s_per_seq=2e-3, decode_s_per_context_token=0)
    afd = AFDStepCost(att, ffn, layers=2, activation_bytes_per_token=1.0, link_bytes_per_s=1e3, micro_batches=2)
    # 2 seqs per micro-batch: a = 1 ms, f = 2 ms, x = 2 ms per layer; cycle = max(2*2, 1+2+4) = 7 ms; 2 layers
    assert afd.step_time_s(0, 0, 0, 4, 0) == pytest.approx(14e-3)
    afd4 = AFDStepCost(att, ffn, layers=2, activation_bytes_per_token=1.0, link_bytes_per_s=1e3, micro_batches=4)
    # 1 seq each: a = 0.5, f = 1, x = 1 ms; cycle = max(4*1, 0.5+1+2) = 4 ms
    assert afd4.step_time_s(0, 0, 0, 4, 0) == pytest.approx(8e-3)
    assert afd.kv_capacity_bytes == att.kv_capacity_bytes
    res = simulate(Deployment(Pool(afd, devices_per_replica=4)), Workload(num_requests=20, arrival="offline"))
    assert res["finished"] == 20


def test_bad_speculative_and_engine_values():
    with pytest.raises(InputError, match="acceptance"):
        SpeculativeSpec(draft_tokens=2, acceptance=1.5)
    with pytest.raises(InputError, match="block_tokens"):
        SchedulerSpec(kv_block_tokens=0)
    with pytest.raises(InputError, match="link_bytes_per_s"):
        KVTransfer(0.0)
