"""predict / predict_many: invariants, hand-checkable pieces, errors."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hundredx.chip import load_system
from hundredx.errors import InputError
from hundredx.kernel.runtime import RuntimeSpec, SpeculativeSpec
from hundredx.kernel.sharding import shard_ops
from hundredx.model import build_ops, load_model
from hundredx.predict import predict, predict_many
from hundredx.scenario import Stack, Workload
from hundredx.scenario.memory import max_batch, memory_use

LLAMA8 = "meta-llama/Llama-3.1-8B-Instruct"
LLAMA70 = "meta-llama/Llama-3.1-70B-Instruct"


@pytest.fixture(scope="module")
def llama8():
    return load_model(LLAMA8)


@pytest.fixture(scope="module")
def h100():
    return load_system("h100-sxm")


def _with_bandwidth(system, factor):
    chip = replace(system.chip, mem_bytes_per_s=system.chip.mem_bytes_per_s * factor)
    return replace(system, chip=chip)


@settings(max_examples=25, deadline=None)
@given(batch=st.integers(1, 128), isl=st.integers(16, 4096), factor=st.floats(1.01, 4.0))
def test_more_hbm_bandwidth_never_slower(llama8, h100, batch, isl, factor):
    w = Workload(isl=isl, osl=64, batch=batch)
    slow = predict(Stack(llama8, h100), w, check_memory=False)
    fast = predict(Stack(llama8, _with_bandwidth(h100, factor)), w, check_memory=False)
    assert fast.tpot_s <= slow.tpot_s * (1 + 1e-9)
    assert fast.ttft_s <= slow.ttft_s * (1 + 1e-9)


@settings(max_examples=25, deadline=None)
@given(batch=st.integers(1, 256), isl=st.integers(1, 8192), tp=st.sampled_from([1, 2, 4, 8]))
def test_lower_bound_below_prediction(llama8, h100, batch, isl, tp):
    p = predict(Stack(llama8, h100, RuntimeSpec(tp=tp)), Workload(isl=isl, osl=32, batch=batch), check_memory=False)
    assert 0 < p.lower_bound["ttft_s"] <= p.ttft_s
    assert 0 < p.lower_bound["tpot_s"] <= p.tpot_s


@pytest.mark.parametrize("model_id", [LLAMA8, "deepseek-ai/DeepSeek-V3", "Qwen/Qwen3-30B-A3B"])
@pytest.mark.parametrize("tp", [2, 4, 8])
def test_sharding_conserves_flops(model_id, tp):
    model = load_model(model_id)
    ops = build_ops(model, 4, 256, 0)
    moe = model.moe is not None
    rt = RuntimeSpec(tp=tp, ep=tp if moe else 1, expert_placement="balanced")  # the mean rank (kernel/ep_load)
    dev_ops, _ = shard_ops(ops, rt, 2.0, model.hidden_size)
    total = sum(float(np.sum(o.flops)) * o.count for o in ops)
    replicated = sum(float(np.sum(o.flops)) * o.count for o in ops if o.shard == "replicated" and o.kind != "attention")
    sharded = sum(float(np.sum(d.flops)) * d.count for d, o in zip(dev_ops, ops)
                  if not (o.shard == "replicated" and o.kind != "attention"))
    assert sharded * tp == pytest.approx(total - replicated, rel=1e-9)


def test_decode_is_memory_bound_and_throughput_consistent(llama8, h100):
    p = predict(Stack(llama8, h100), Workload(isl=1024, osl=128, batch=1))
    assert p.bottleneck in ("memory", "overhead")
    weights = 2 * 8.03e9
    assert p.tpot_s >= weights / h100.chip.mem_bytes_per_s
    assert p.tokens_per_s_per_user == pytest.approx(1 / p.tpot_s)
    assert p.output_tokens_per_s == pytest.approx(128 / (p.ttft_s + 128 * p.tpot_s))


def test_tensor_parallel_speeds_up_decode_and_adds_allreduce(llama8, h100):
    one = predict(Stack(llama8, h100, RuntimeSpec(tp=1)), Workload(batch=8))
    four = predict(Stack(llama8, h100, RuntimeSpec(tp=4)), Workload(batch=8))
    assert four.tpot_s < one.tpot_s
    assert any(r["kind"] == "collective" for r in four.breakdown)
    assert not any(r["kind"] == "collective" for r in one.breakdown)


def test_speculative_decoding_lowers_tpot(llama8, h100):
    base = predict(Stack(llama8, h100), Workload(batch=1))
    spec = predict(Stack(llama8, h100, RuntimeSpec(speculative=SpeculativeSpec("mtp", 3, 0.8))), Workload(batch=1))
    assert spec.tpot_s < base.tpot_s


def test_memory_and_fit_error(h100):
    model = load_model(LLAMA70)
    with pytest.raises(InputError, match="does not fit"):
        predict(Stack(model, h100, RuntimeSpec(tp=1)), Workload(batch=1))
    mem = memory_use(Stack(model, h100, RuntimeSpec(tp=8)), 1, 1024, 128)
    assert float(mem.weights_bytes) == pytest.approx(70.55e9 * 2 / 8, rel=0.02)
    assert max_batch(Stack(model, h100, RuntimeSpec(tp=8)), 1024, 128) > 100


def test_stack_rejects_impossible_parallelism(llama8, h100):
    with pytest.raises(InputError, match="tp"):
        Stack(llama8, h100, RuntimeSpec(tp=3))
    with pytest.raises(InputError, match="ep"):
        Stack(llama8, h100, RuntimeSpec(tp=2, ep=2))
    with pytest.raises(InputError):
        Workload(isl=-1)


def test_predict_many_matches_predict(llama8, h100):
    table = {"model": [LLAMA8] * 3, "chip": ["h100-sxm"] * 3, "tp": [1, 2, 3], "batch": [1, 16, 4],
             "isl": [512, 1024, 256], "osl": [64, 128, 32]}
    out = predict_many(table)
    for i in range(2):
        p = predict(Stack(llama8, h100, RuntimeSpec(tp=table["tp"][i])),
                    Workload(isl=table["isl"][i], osl=table["osl"][i], batch=table["batch"][i]))
        assert out["tpot_s"].iloc[i] == pytest.approx(p.tpot_s, rel=1e-9)
        assert out["ttft_s"].iloc[i] == pytest.approx(p.ttft_s, rel=1e-9)
    assert not out["valid"].iloc[2] and "tp" in out["invalid_reason"].iloc[2]
