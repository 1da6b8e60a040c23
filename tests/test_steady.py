"""predict/steady.py against the serving simulator, MLPerf benchmark semantics, validate's assumptions."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hundredx.errors import InputError
from hundredx.model import load_model
from hundredx.predict import steady
from hundredx.scenario import Workload, build
from hundredx.serve import simulate
from hundredx.serve.from_stack import deployment_from_stack
from hundredx.serve.mlperf import BENCHMARKS, benchmark, lengths

# Stated tolerance of the steady state against `serve` (closed loop, fixed lengths, concurrency below
# the engine's slots): throughput within 15%, mean TPOT within 15%, p50 TTFT within 35% (isl 1024).
TOL_THROUGHPUT, TOL_TPOT, TOL_TTFT = 0.15, 0.15, 0.35


@pytest.fixture(scope="module")
def stacks():
    return {"8b-h100": build(load_model("meta-llama/Llama-3.1-8B-Instruct", weights="fp8"), "h100-sxm", tp=1).stack,
            "70b-h200-tp4": build(load_model("meta-llama/Llama-3.1-70B-Instruct", weights="fp8"), "h200-sxm",
                                  tp=4).stack}


@pytest.mark.parametrize("name", ["8b-h100", "70b-h200-tp4"])
@pytest.mark.parametrize("isl,osl", [(1024, 128), (128, 1024)])
@pytest.mark.parametrize("conc", [1, 8, 64])
def test_closed_loop_matches_simulator(stacks, name, isl, osl, conc):
    stack = stacks[name]
    ss = steady.closed_loop(stack, isl, osl, [conc]).scalar()
    sim = simulate(deployment_from_stack(stack),
                   Workload(isl=isl, osl=osl, arrival="closed", concurrency=conc, num_requests=max(4 * conc, 64)))
    r = sim.to_dict()
    assert abs(ss["output_tokens_per_s"] / r["output_tokens_per_s"] - 1) < TOL_THROUGHPUT
    assert abs(ss["tpot_s"] / r["tpot_mean_s"] - 1) < TOL_TPOT
    if conc > 1 and isl >= 1024:  # short prompts: TTFT of a few ms, host time dominates
        assert abs(ss["ttft_s"] / r["ttft_p50_s"] - 1) < TOL_TTFT


def test_steady_state_vectorized_and_monotone(stacks):
    st = steady.closed_loop(stacks["8b-h100"], 1024, 256, np.array([1, 4, 16, 64, 256, 1024]))
    assert st.tpot_s.shape == (6,)
    assert np.all(np.diff(st.tpot_s) >= -1e-12)  # more load, slower tokens
    assert np.all(np.diff(st.output_tokens_per_s) >= -1e-6 * st.output_tokens_per_s[:-1])
    assert st.queue_wait_s[-1] > 0 and st.queue_wait_s[0] == 0  # beyond the slots, requests queue
    # TPOT definition: (E2E - TTFT) / (osl - 1)
    assert np.allclose((st.e2e_s - st.ttft_s) / 255, st.tpot_s)


def test_offline_and_open_loop(stacks):
    stack = stacks["8b-h100"]
    off = steady.offline(stack, 1024, 256).scalar()
    assert off["running_per_replica"] == off["slots_per_replica"]
    lo = steady.open_loop(stack, 1024, 256, 0.2 * off["requests_per_s"])
    hi = steady.open_loop(stack, 1024, 256, 0.8 * off["requests_per_s"])
    assert lo["tpot_s"] < hi["tpot_s"] and math.isclose(lo["requests_per_s"], 0.2 * off["requests_per_s"])
    with pytest.raises(InputError):
        steady.open_loop(stack, 1024, 256, 10 * off["requests_per_s"])


def test_best_rate_tightens_with_limits(stacks):
    stack = stacks["70b-h200-tp4"]
    loose = steady.best_rate_under_limits(stack, 512, 294.45, 2.0, 0.2)
    tight = steady.best_rate_under_limits(stack, 512, 294.45, 0.45, 0.04)
    assert tight["requests_per_s"] < loose["requests_per_s"]
    assert loose["tpot_p_s"] <= 0.2 and tight["tpot_p_s"] <= 0.04 and tight["ttft_p_s"] <= 0.45


def test_mlperf_table_is_sourced():
    b = benchmark("llama2-70b-99")
    assert (b.server_ttft_s, b.server_tpot_s) == (2.0, 0.2) and b.limits("interactive") == (0.45, 0.04)
    assert benchmark("llama3_1-405b").limits("server") == (6.0, 0.175)
    assert benchmark("deepseek-r1").limits("interactive") == (1.5, 0.015)
    isl, osl, notes = lengths(b)
    assert osl == 294.45 and any("assumed" in n for n in notes)
    with pytest.raises(InputError):
        lengths(benchmark("deepseek-r1"))  # no published output length: refused unless recorded
    assert lengths(benchmark("deepseek-r1"), 1000, 2000)[:2] == (1000.0, 2000.0)
    assert set(BENCHMARKS) >= {"llama2-70b", "mixtral-8x7b", "llama3.1-405b", "llama3.1-8b", "deepseek-r1"}
    with pytest.raises(InputError):
        benchmark("resnet50")


def _case(**config):
    base = {"model": "meta-llama/Llama-3.1-8B-Instruct", "engine": "vllm", "weight_dtype": "fp8", "tp": 1,
            "isl": 1024, "osl": 128}
    return {"id": "t", "kind": "serving", "hardware": "h100-sxm", "n_devices": 1, "config": {**base, **config},
            "metric": "output_tokens_per_s", "value": 1000.0, "source": "test"}


def test_validate_semantics_and_assumptions():
    from hundredx.validate.serving import predict_case_detail

    closed, notes = predict_case_detail(_case(concurrency=64))
    assert any("vllm default" in n for n in notes)
    offline, _ = predict_case_detail(_case(offline=True))
    assert offline > closed  # every slot busy beats 64 clients
    rate, _ = predict_case_detail(_case(request_rate=2.0))
    assert math.isclose(rate, 2.0 * 128, rel_tol=1e-9)  # open loop below capacity: output = rate * osl
    given, notes2 = predict_case_detail(_case(concurrency=64, max_num_seqs=32, max_num_batched_tokens=4096))
    assert given < closed and not any("max sequences" in n for n in notes2)
    mlperf = {"model": "meta-llama/Llama-2-70b-chat-hf", "same_arch_as": "meta-llama/Llama-2-70b-hf",
              "engine": "mlperf-nvidia", "weight_dtype": "fp8", "scenario": "server", "benchmark": "llama2-70b-99"}
    case = {"id": "m", "kind": "serving", "hardware": "h200-sxm", "n_devices": 8, "config": mlperf,
            "metric": "output_tokens_per_s", "value": 1.0, "source": "test"}
    server, notes3 = predict_case_detail(case)
    offline_case = {**case, "config": {**mlperf, "scenario": "offline", "offline": True}}
    # kernel prices are not exactly monotone in the batch near the top slots: allow 10%
    assert 0 < server < 1.10 * predict_case_detail(offline_case)[0]
    assert any("tp 1" in n for n in notes3) and any("294.45" in n for n in notes3)


def test_warmup_requests_leave_the_metrics(stacks):
    dep = deployment_from_stack(stacks["8b-h100"])
    base = dict(isl=1024, osl=128, arrival="closed", concurrency=128, num_requests=600)
    cold = simulate(dep, Workload(**base)).to_dict()
    warm = simulate(dep, Workload(**base, warmup_requests=128)).to_dict()
    assert warm["warmup_requests"] == 128 and warm["finished"] == cold["finished"] == 600
    assert warm["ttft_p99_s"] < cold["ttft_p99_s"]  # the initial burst's queueing is the warm-up
    with pytest.raises(InputError):
        simulate(dep, Workload(**{**base, "num_requests": 100}, warmup_requests=100))


def test_mlperf_workloads():
    from hundredx.serve.mlperf import workload

    off, notes = workload("llama2-70b-99", "offline", num_requests=100)
    assert off.arrival == "offline" and off.osl == 294 and off.num_requests == 100 and notes
    srv, _ = workload("llama2-70b-99", "interactive", rate_per_s=5.0)
    assert srv.arrival == "poisson" and (srv.ttft_limit_s, srv.tpot_limit_s) == (0.45, 0.04)
    assert srv.num_requests == 24576  # the benchmark's sample count
    with pytest.raises(InputError):
        workload("llama2-70b-99", "server")  # the rate is what Server searches for: it must be given


def test_cli_predict_shows_the_steady_state():
    import json

    from typer.testing import CliRunner

    from hundredx.cli import app

    args = ["predict", "--model", "meta-llama/Llama-3.1-8B-Instruct", "--chip", "h100-sxm", "--isl", "1024",
            "--osl", "128"]
    r = CliRunner().invoke(app, [*args, "--concurrency", "64", "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    st = d["steady_state"]
    assert d["static_batch_prefill_s"] == d["ttft_s"] and st["ttft_s"] < d["ttft_s"]  # one request, not the batch
    assert {"ttft_s", "tpot_s", "output_tokens_per_s"} <= set(st["intervals"]) and st["assumptions"]
    plain = json.loads(CliRunner().invoke(app, [*args, "--json"]).output)
    assert "steady_state" not in plain
    table = CliRunner().invoke(app, [*args, "--concurrency", "64"])
    assert "steady" in table.output and "static-batch" in table.output  # rows wrap in a narrow terminal


def test_attention_dp_ranks_each_run_a_scheduler():
    """With attention DP the scheduler's max_seqs and token budget hold per attention-DP rank (tp of them)."""
    from dataclasses import replace

    model = load_model("deepseek-ai/DeepSeek-V3", weights="fp8")
    adp = build(model, "h200-sxm", tp=8, ep=8, attention_dp=True).stack
    plain = build(model, "h200-sxm", tp=8, ep=8).stack
    assert steady.schedulers(adp) == 8 and steady.schedulers(plain) == 1
    small = replace(adp, runtime=replace(adp.runtime, scheduler=replace(adp.runtime.scheduler, max_seqs=16)))
    assert steady.slots(small, 1024, 1024) == 8 * 16  # 16 a rank, far below the KV fit
    one = replace(plain, runtime=replace(plain.runtime, scheduler=replace(plain.runtime.scheduler, max_seqs=16)))
    assert steady.slots(one, 1024, 1024) == 16
    assert steady.slots(small, 1024, 1024, cap=20) == 20  # an explicit cap is per replica


def test_reserve_to_completion_scheduler_fits_isl_plus_osl():
    """TensorRT-LLM's GUARANTEED_NO_EVICT scheduler (engines.yaml kv_reserve full) holds isl + osl of KV per admitted
    sequence; a paged engine's mean sequence holds isl + osl/2. The KV fit follows; the arrays path agrees."""
    from dataclasses import replace

    model = load_model("meta-llama/Llama-3.1-70B-Instruct", weights="fp8")
    paged = build(model, "h200-sxm", tp=1, engine="generic").stack  # paged, KV fraction of the free memory as trtllm
    full = build(model, "h200-sxm", tp=1, engine="trtllm").stack
    assert not steady.full_reserve(paged) and steady.full_reserve(full)
    big = 100_000  # far above the KV fit, so the fit decides
    paged, full = (replace(s, runtime=replace(s.runtime, scheduler=replace(s.runtime.scheduler, max_seqs=big)))
                   for s in (paged, full))
    isl, osl = 500, 2000
    a, b = steady.slots(paged, isl, osl), steady.slots(full, isl, osl)
    assert b < a
    assert a / b == pytest.approx((isl + osl) / (isl + osl / 2), rel=0.02)
    rows = steady.max_batch_rows(full, isl, osl, 0.9, big, np.array([1.0]), np.array([1.0]), np.array([1.0]))
    assert int(rows[0]) == b


def test_kv_fraction_of_the_free_or_of_the_total_memory():
    """TensorRT-LLM gives the KV pool its fraction of the memory left after loading; vLLM's gpu_memory_utilization
    and SGLang's mem_fraction_static are fractions of the capacity that weights, activations and KV share
    (engines.yaml kv_memory): KV = f C - W - A. Tight memory (70B FP8 on one H100) leaves vLLM fewer sequences;
    the arrays path agrees."""
    from dataclasses import replace

    from hundredx.scenario.memory import USABLE_FRACTION, kv_room

    assert kv_room(100.0, 60.0, 2.0, 0.9) == pytest.approx(0.9 * (100 * USABLE_FRACTION - 62.0))
    assert kv_room(100.0, 60.0, 2.0, 0.9, of_total=True) == pytest.approx(90.0 - 62.0)
    model = load_model("meta-llama/Llama-3.1-70B-Instruct", weights="fp8")
    big = 100_000
    stacks = {e: build(model, "h100-sxm", tp=1, engine=e).stack for e in ("generic", "vllm", "sglang")}
    stacks = {e: replace(s, runtime=replace(s.runtime, scheduler=replace(s.runtime.scheduler, max_seqs=big)))
              for e, s in stacks.items()}
    assert not steady.kv_of_total(stacks["generic"]) and steady.kv_of_total(stacks["vllm"])
    assert steady.kv_of_total(stacks["sglang"])
    isl, osl = 128, 2048
    free, total = steady.slots(stacks["generic"], isl, osl), steady.slots(stacks["vllm"], isl, osl)
    assert 0 < total < free  # 0.9 C - W - A < 0.9 (0.95 C - W - A) when the weights take most of the device
    rows = steady.max_batch_rows(stacks["vllm"], isl, osl, 0.9, big, np.array([1.0]), np.array([1.0]),
                                 np.array([1.0]))
    assert int(rows[0]) == total
