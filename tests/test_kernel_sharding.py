"""Sharding's typed output: device ops with sharded payloads, and typed collectives (Collective, MoeExchange)."""

from __future__ import annotations

import pytest

from hundredx.kernel.runtime import RuntimeSpec
from hundredx.kernel.sharding import Collective, MoeExchange, shard_ops
from hundredx.model import build_ops, load_model


def _shard(model_id: str, rt: RuntimeSpec, batch=64, new_tokens=1, context=1000):
    model = load_model(model_id)
    ops = build_ops(model, batch, new_tokens, context)
    return ops, *shard_ops(ops, rt, model.quant.act.bytes_per_element, model.hidden_size)


def test_moe_dispatch_and_combine_carry_a_typed_exchange():
    ops, dev, comms = _shard("deepseek-ai/DeepSeek-V3", RuntimeSpec(tp=8, ep=8, attention_dp=True,
                                                                   expert_placement="balanced"))  # the mean rank
    by_name = {c.name.rsplit(".", 1)[-1]: c for c in comms if c.op.startswith("moe_")}
    dispatch, combine = by_name["dispatch"], by_name["combine"]
    act_bytes = load_model("deepseek-ai/DeepSeek-V3").quant.act.bytes_per_element
    assert isinstance(dispatch.moe, MoeExchange) and combine.moe.dtype == "bf16"  # combine returns bf16 outputs
    assert combine.message_bytes == pytest.approx(dispatch.message_bytes * 2.0 / act_bytes)
    assert dispatch.moe.tokens == 64 / 8 and dispatch.moe.mode == "low_latency"  # decode: 8 tokens per rank
    assert dispatch.moe.experts == 256 and dispatch.moe.topk == 8 and dispatch.moe.hidden == 7168
    assert all(c.moe is None for c in comms if not c.op.startswith("moe_"))
    experts = next(op for op in dev if op.name == "moe.gate_up")
    assert experts.shape.groups == 256 / 8 and experts.shape.moe_tp == 1.0 and experts.shape.stage == "up"


def test_tensor_parallel_splits_the_payloads():
    ops, dev, comms = _shard("meta-llama/Llama-3.1-8B-Instruct", RuntimeSpec(tp=4))
    glob, local = {op.name: op for op in ops}, {op.name: op for op in dev}
    assert local["attn.qkv"].shape.n == glob["attn.qkv"].shape.n / 4  # column: N/tp
    assert local["attn.o"].shape.k == glob["attn.o"].shape.k / 4  # row: K/tp, then an all-reduce
    att = local["attn.core"].shape
    assert (att.heads_q, att.heads_kv) == (32 / 4, 8 / 4)
    assert att.kv_read_bytes == glob["attn.core"].shape.kv_read_bytes / 4
    assert {c.op for c in comms} == {"all_reduce", "all_gather"}


def test_context_parallel_scales_the_exchange_tokens():
    rt = RuntimeSpec(tp=8, ep=8, attention_dp=True)
    _, _, plain = _shard("deepseek-ai/DeepSeek-V3", rt, batch=8, new_tokens=4096, context=0)
    _, _, split = _shard("deepseek-ai/DeepSeek-V3", RuntimeSpec(tp=8, ep=8, attention_dp=True, cp=2), batch=8,
                         new_tokens=4096, context=0)
    before = next(c for c in plain if c.op == "moe_dispatch")
    after = next(c for c in split if c.op == "moe_dispatch")
    assert after.moe.tokens == before.moe.tokens / 2 and after.message_bytes == before.message_bytes / 2
    assert any(c.name.endswith("cp_ring") and c.moe is None for c in split)


def test_a_collective_has_an_exchange_exactly_when_it_is_a_moe_one():
    exchange = MoeExchange(tokens=8.0, hidden=7168, topk=8, experts=256, mode="low_latency", dtype="bf16")
    with pytest.raises(ValueError, match="MoeExchange"):
        Collective("x.dispatch", "moe_dispatch", 1.0, 8, 1.0)
    with pytest.raises(ValueError, match="MoeExchange"):
        Collective("x.all_reduce", "all_reduce", 1.0, 8, 1.0, exchange)
    assert Collective("x.combine", "moe_combine", 1.0, 8, 1.0, exchange).moe.kwargs()["topk"] == 8


def test_context_parallel_splits_the_expert_gemm_rows_it_prices():
    rt, cp2 = RuntimeSpec(tp=8, ep=8, attention_dp=True), RuntimeSpec(tp=8, ep=8, attention_dp=True, cp=2)
    _, plain, _ = _shard("deepseek-ai/DeepSeek-V3", rt, batch=8, new_tokens=4096, context=0)
    _, split, _ = _shard("deepseek-ai/DeepSeek-V3", cp2, batch=8, new_tokens=4096, context=0)
    before = next(op for op in plain if op.name == "moe.gate_up")
    after = next(op for op in split if op.name == "moe.gate_up")
    assert after.flops == pytest.approx(before.flops / 2)
    assert after.shape.tokens_total == pytest.approx(before.shape.tokens_total / 2)  # priced rows follow the FLOPs
    assert after.shape.tokens == pytest.approx(before.shape.tokens / 2)


@pytest.mark.parametrize("attention_dp", [False, True])
def test_per_configuration_choices_give_each_configuration_what_it_gets_alone(attention_dp):
    """ep per configuration (the grouped GEMM's expert count), ep <= tp or > tp (all-reduce or dispatch) and
    DeepEP's mode (both sides of LL_MAX_TOKENS) vary over one array call: each element equals its scalar call."""
    import numpy as np

    from hundredx.predict.engine import ForwardStep, forward_costs
    from hundredx.scenario import build

    stack = build("deepseek-ai/DeepSeek-V3", "h200-sxm", tp=1, dp=16, attention_dp=attention_dp).stack
    tp = np.array([8.0, 8.0, 4.0, 4.0, 2.0, 8.0, 1.0])
    ep = np.array([8.0, 16.0, 4.0, 16.0, 1.0, 16.0, 16.0])
    batch = np.array([1.0, 300.0, 1.0, 2000.0, 64.0, 8.0, 130.0])
    steps = [ForwardStep(batch, 1, 1000.0), ForwardStep(batch, 64, 0)]
    together = [c.time_s for c in forward_costs(stack, steps, tp, ep, 1)]
    for i in range(tp.size):
        alone = forward_costs(stack, [ForwardStep(batch[i], 1, 1000.0), ForwardStep(batch[i], 64, 0)],
                              float(tp[i]), float(ep[i]), 1)
        for t, a in zip(together, alone):
            assert t[i] == pytest.approx(float(a.time_s), rel=1e-12), (i, tp[i], ep[i], batch[i])


def test_tp_all_reduce_sums_the_gemm_outputs_in_the_base_dtype():
    """A W8A8 checkpoint quantizes a GEMM's input, not its partial sums: the TP all-reduce after a row-parallel
    GEMM (and of the MoE output) moves the [tokens, D] output in the base dtype (bf16), as the GEMM writes it."""
    from hundredx.model.quant import with_quant

    base = load_model("meta-llama/Llama-3.1-8B-Instruct")
    fp8 = with_quant(base, weights="fp8")
    assert fp8.quant.act.bytes_per_element == 1.0 and fp8.quant.base.bytes_per_element == 2.0
    ops = build_ops(fp8, 64, 1, 1000)
    rt = RuntimeSpec(tp=4)
    _, comms = shard_ops(ops, rt, fp8.quant.act.bytes_per_element, fp8.hidden_size, sum_bytes=2.0)
    reduce = {c.name: c for c in comms if c.op == "all_reduce"}
    o = next(op for op in ops if op.name == "attn.o")
    assert reduce["attn.o.all_reduce"].message_bytes == pytest.approx(64 * fp8.hidden_size * 2.0)
    assert reduce["attn.o.all_reduce"].message_bytes == pytest.approx(o.bytes_written)  # what the GEMM wrote
    _, legacy = shard_ops(ops, rt, fp8.quant.act.bytes_per_element, fp8.hidden_size)  # sum_bytes None: act_bytes
    assert {c.name: c for c in legacy}["attn.o.all_reduce"].message_bytes == pytest.approx(64 * fp8.hidden_size)
    moe = load_model("mistralai/Mixtral-8x7B-Instruct-v0.1")
    moe8 = with_quant(moe, weights="fp8")
    _, mcomms = shard_ops(build_ops(moe8, 32, 1, 100), RuntimeSpec(tp=2), 1.0, moe8.hidden_size, sum_bytes=2.0)
    moe_ar = next(c for c in mcomms if c.name.endswith("moe_all_reduce"))
    assert moe_ar.message_bytes == pytest.approx(32 * moe8.hidden_size * 2.0)


def test_predict_prices_the_all_reduce_of_a_fp8_model_in_bf16():
    """predict passes the base dtype: a FP8 and a BF16 checkpoint move the same all-reduce bytes at one batch."""
    from hundredx.predict.engine import forward_cost
    from hundredx.scenario import build

    def reduce_bytes(weights):
        stack = build("meta-llama/Llama-3.1-8B-Instruct", "hgx-h100-8", tp=8, weights=weights).stack
        rec = [r for r in forward_cost(stack, 256, 1, 1024).records if r.name == "attn.o.all_reduce"]
        return float(rec[0].bytes[0])

    assert reduce_bytes("fp8") == pytest.approx(reduce_bytes("bf16")) == pytest.approx(256 * 4096 * 2.0)
