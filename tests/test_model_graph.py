"""Op graph: hand-computed FLOPs/bytes for tiny dense and MoE+MLA configs, and invariants."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hundredx.errors import InputError
from hundredx.model import build_ops, kv_bytes_per_token, load_model, params_active, params_total
from hundredx.model.config import spec_from_config
from hundredx.model.graph import total_flops

DENSE = {"model_type": "llama", "num_hidden_layers": 2, "hidden_size": 64, "intermediate_size": 128,
         "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 1000, "torch_dtype": "bfloat16"}
MOE_MLA = {"model_type": "deepseek_v3", "num_hidden_layers": 3, "first_k_dense_replace": 1, "hidden_size": 64,
           "intermediate_size": 128, "moe_intermediate_size": 32, "n_routed_experts": 8, "num_experts_per_tok": 2,
           "n_shared_experts": 1, "num_attention_heads": 4, "num_key_value_heads": 4, "q_lora_rank": 32,
           "kv_lora_rank": 16, "qk_nope_head_dim": 8, "qk_rope_head_dim": 4, "v_head_dim": 8, "vocab_size": 500,
           "topk_method": "noaux_tc", "torch_dtype": "bfloat16"}


def _by_name(ops, group=None):
    return {op.name: op for op in ops if group is None or op.group == group}


def test_dense_prefill_hand_computed():
    spec = spec_from_config(DENSE, "tiny-dense")
    ops = _by_name(build_ops(spec, 2, 8, 0))  # T = 16 tokens, H = 16
    qkv = ops["attn.qkv"]
    assert (qkv.shape.m, qkv.shape.n, qkv.shape.k, qkv.count) == (16, 128, 64, 2.0)
    assert qkv.flops == 2 * 16 * 128 * 64 and qkv.weight_bytes == 128 * 64 * 2
    assert qkv.bytes_read == 128 * 64 * 2 + 16 * 64 * 2 and qkv.bytes_written == 16 * 128 * 2
    assert qkv.shard == "column" and qkv.compute == "bf16"
    assert ops["attn.o"].flops == 2 * 16 * 64 * 64 and ops["attn.o"].shard == "row"
    assert ops["ffn.gate_up"].flops == 2 * 16 * 256 * 64 and ops["ffn.down"].flops == 2 * 16 * 64 * 128
    att = ops["attn.core"]
    assert att.shape.pairs == 8 * 9 / 2  # causal incl. diagonal
    assert att.flops == 2 * 2 * 36 * 4 * (16 + 16)
    assert att.shape.causal and att.shape.phase == "prefill" and att.shape.variant == "gqa"
    assert (att.shape.heads_q, att.shape.heads_kv, att.shape.head_dim) == (4, 2, 16)
    assert ops["lm_head"].shape.m == 2 and ops["lm_head"].flops == 2 * 2 * 1000 * 64  # last token per sequence
    assert ops["attn_norm"].shape.fusable and ops["attn.rope"].shape.fusable
    gemm_flops = sum(o.flops * o.count for o in ops.values() if o.kind == "gemm" and o.name != "lm_head")
    assert gemm_flops == 2 * 16 * (params_total(spec) - 2 * 1000 * 64 - 5 * 64)  # 2*T*linear params


def test_dense_decode_hand_computed():
    spec = spec_from_config(DENSE, "tiny-dense")
    ops = _by_name(build_ops(spec, 2, 1, 10))
    att = ops["attn.core"]
    assert att.shape.pairs == 11 and att.shape.seqlen_kv == 11 and not att.shape.causal
    assert att.flops == 2 * 2 * 11 * 4 * 32
    assert att.bytes_read == 2 * 4 * 16 * 2 + 2 * 11 * (2 * 2 * 16 * 2)  # Q + K,V of 11 keys
    assert att.shape.kv_bytes_per_token_layer == 2 * 2 * 16 * 2 and att.shape.phase == "decode"
    assert ops["lm_head"].shape.m == 2


def test_moe_mla_params_hand_computed():
    spec = spec_from_config(MOE_MLA, "tiny-moe")
    attn = 64 * 32 + 32 * 4 * 12 + 64 * 20 + 16 * 4 * 16 + 4 * 8 * 64 + 32 + 16
    moe = 8 * 3 * 64 * 32 + 64 * 8 + 8 + 3 * 64 * 32
    total = 3 * (attn + 128) + 3 * 64 * 128 + 2 * moe + 2 * 500 * 64 + 64
    assert params_total(spec) == total
    assert params_active(spec) == total - 2 * 8 * 3 * 64 * 32 * (1 - 2 / 8)
    assert kv_bytes_per_token(spec) == 3 * (16 + 4) * 2


def test_moe_mla_decode_hand_computed():
    spec = spec_from_config(MOE_MLA, "tiny-moe")
    ops = build_ops(spec, 4, 1, 100)
    moe = _by_name(ops, "full/moe")
    gu = moe["moe.gate_up"]
    touched = 8 * (1 - 0.75 ** 4)
    assert gu.kind == "grouped_gemm" and gu.count == 2 and gu.shard == "experts"
    assert gu.flops == 2 * 8 * 64 * 64 and gu.shape.tokens_total == 8
    assert gu.shape.experts_touched == pytest.approx(touched)
    assert gu.weight_bytes == pytest.approx(touched * 64 * 64 * 2)
    assert moe["moe.down"].flops == 2 * 8 * 64 * 32
    assert moe["shared.gate_up"].shape.m == 4 and moe["moe.router_gemm"].shape.n == 8
    att = moe["attn.core"]  # absorbed FlashMLA form
    assert (att.shape.heads_kv, att.shape.head_dim, att.shape.head_dim_v) == (1, 20, 16)
    assert att.flops == 2 * 4 * 101 * 4 * (20 + 16)
    assert att.bytes_read == 4 * 4 * 20 * 2 + 4 * 101 * 20 * 2
    assert moe["attn.q_absorb"].flops == 2 * 4 * 4 * 16 * 8 and moe["attn.o_absorb"].flops == 2 * 4 * 4 * 8 * 16
    assert "full/dense" in {o.group for o in ops} and _by_name(ops, "full/dense")["ffn.gate_up"].count == 1


def test_moe_mla_prefill_expanded_form():
    spec = spec_from_config(MOE_MLA, "tiny-moe")
    ops = _by_name(build_ops(spec, 1, 10, 0), "full/moe")
    assert ops["attn.kv_b"].flops == 2 * 10 * 64 * 16
    att = ops["attn.core"]
    assert (att.shape.heads_kv, att.shape.head_dim, att.shape.head_dim_v) == (4, 12, 8)
    assert att.flops == 2 * 55 * 4 * (12 + 8)
    assert "attn.q_absorb" not in ops


def test_chunked_prefill_counts_context():
    spec = spec_from_config(DENSE, "tiny-dense")
    att = _by_name(build_ops(spec, 1, 4, 6))["attn.core"]
    assert att.shape.pairs == 7 + 8 + 9 + 10  # queries at positions 6..9


def test_fp8_inserts_quantize_and_fp8_compute():
    spec = load_model("DeepSeek-V3")
    ops = build_ops(spec, 1, 1, 100)
    assert any(o.name.endswith("quant_in") and o.shape.fusable for o in ops)
    gemms = [o for o in ops if o.kind in ("gemm", "grouped_gemm") and o.name.startswith(("attn.q_a", "moe.gate"))]
    assert gemms and all(o.compute == "fp8" for o in gemms)
    assert _by_name(ops)["moe.router_gemm"].compute == "bf16"


def test_sparse_attention_and_indexer():
    spec = load_model("DeepSeek-V3.2")
    ops = _by_name(build_ops(spec, 1, 1, 100000), "sparse/moe")
    assert ops["attn.core"].shape.pairs == 2048 and ops["attn.core"].shape.variant == "sparse"
    idx = ops["idx.score"]
    assert idx.shape.pairs == 100001 and idx.flops == 2 * 100001 * 64 * 128
    assert ops["idx.topk"].bytes_read == 100001 * 4


def test_v4_compressed_attention_pairs():
    spec = load_model("DeepSeek-V4-Flash")
    ops = build_ops(spec, 1, 1, 65535)  # query at position 65535 sees 16384 entries (r=4), 512 (r=128)
    hca = _by_name(ops, "hca128/moe")["attn.core"]
    csa = _by_name(ops, "csa4/moe")["attn.core"]
    assert hca.shape.pairs == 128 + 65536 // 128
    assert csa.shape.pairs == 128 + 512  # top-512 of the compressed entries
    assert _by_name(ops, "csa4/moe")["idx.score"].shape.pairs == 65536 // 4


def test_linear_attention_recurrent_op():
    spec = load_model("Qwen3-Next-80B-A3B-Instruct")
    rec = _by_name(build_ops(spec, 4, 1, 1000), "linear/moe")["attn.recurrent"]
    state = 4 * 32 * 128 * 128 * 4
    assert rec.kind == "recurrent" and rec.count == 36
    assert rec.bytes_read >= state and rec.bytes_written >= state
    assert rec.flops == 4 * 32 * 6 * 128 * 128


def test_bad_shapes_raise_input_error():
    spec = spec_from_config(DENSE, "tiny-dense")
    for kwargs, field in (({"batch": 0}, "batch"), ({"new_tokens": 0}, "new_tokens"), ({"context": -1}, "context")):
        with pytest.raises(InputError) as err:
            build_ops(spec, **kwargs)
        assert err.value.field == field


def test_arrays_broadcast_like_scalars():
    spec = load_model("gpt-oss-20b")
    ctx = np.array([10, 1000, 100000])
    vec = build_ops(spec, 8, 1, ctx)
    for i, c in enumerate(ctx):
        for a, b in zip(vec, build_ops(spec, 8, 1, int(c))):
            assert np.asarray(a.flops, float).reshape(-1)[min(i, np.size(a.flops) - 1)] == pytest.approx(float(b.flops))


@settings(max_examples=25, deadline=None)
@given(b=st.integers(1, 64), s=st.integers(1, 4096), c=st.integers(0, 100000))
def test_flops_linear_in_batch(b, s, c):
    spec = load_model("Qwen3-30B-A3B")
    assert total_flops(build_ops(spec, 2 * b, s, c)) == pytest.approx(2 * total_flops(build_ops(spec, b, s, c)))


@settings(max_examples=25, deadline=None)
@given(c=st.integers(0, 200000), extra=st.integers(1, 50000))
def test_decode_attention_bytes_grow_and_sliding_capped(c, extra):
    spec = load_model("gpt-oss-120b")
    small, large = build_ops(spec, 4, 1, c), build_ops(spec, 4, 1, c + extra)
    full = [(a, b) for a, b in zip(small, large) if a.name == "attn.core" and a.group == "full/moe"]
    slide = [(a, b) for a, b in zip(small, large) if a.name == "attn.core" and a.group == "sliding/moe"]
    assert full and slide
    assert all(b.bytes_read > a.bytes_read for a, b in full)
    assert all(b.bytes_read >= a.bytes_read for a, b in slide)
    if c >= 128:
        assert all(b.flops == a.flops and b.bytes_read == a.bytes_read for a, b in slide)


def test_ops_conventions():
    """model/ops.py conventions: block on every op, kv_read_bytes, MoE stage/tokens, shared_expert."""
    spec = load_model("DeepSeek-V3.2")
    ops = build_ops(spec, 4, 1, 5000)
    assert all(op.block in ("attention", "ffn", "embed", "head") for op in ops)
    names = _by_name(ops, "sparse/moe")
    assert names["attn.core"].block == "attention" and names["idx.score"].block == "attention"
    assert names["moe.router"].block == "ffn" and names["attn_norm"].block == "attention"
    att = names["attn.core"]
    assert att.shape.kv_read_bytes == 4 * 2048 * 576 * 2 and att.shape.kv_read_bytes <= att.bytes_read
    assert names["moe.gate_up"].shape.stage == "up" and names["moe.down"].shape.stage == "down"
    assert names["moe.gate_up"].shape.tokens == 4
    assert names["shared.gate_up"].shape.shared_expert and names["shared.down"].shape.shared_expert
    assert not names["attn.o"].shape.shared_expert
    assert _by_name(ops)["lm_head"].block == "head" and ops[0].block == "embed"


def test_op_payloads_are_typed_and_immutable():
    """The kind comes from the payload; a misspelt field fails when the op is built or replaced."""
    import dataclasses

    from hundredx.model.ops import ExpertGemmShape, GemmShape, MemoryShape, Op

    kinds = {type(op.shape): op.kind for op in build_ops(load_model("DeepSeek-V3.2"), 2, 4, 100)}
    assert all(cls.kind == kind for cls, kind in kinds.items()) and len(kinds) == 6
    op = Op(name="x", group="g", block="ffn", count=1.0, flops=8.0, bytes_read=4.0, bytes_written=2.0,
            shape=GemmShape(2.0, 3.0, 4.0))
    assert op.kind == "gemm" and op.replace(shape=MemoryShape()).kind == "memory"
    with pytest.raises(TypeError):
        GemmShape(2.0, 3.0, 4.0, shared_experts=True)
    with pytest.raises(TypeError, match="unexpected keyword"):
        op.shape.replace(nn=1.0)
    with pytest.raises(TypeError, match="unexpected keyword"):
        op.replace(attrs={})
    with pytest.raises(ValueError, match="stage"):
        ExpertGemmShape(stage="sideways", n=1, k=1, groups=1, top_k=1, tokens=1, tokens_total=1, experts_touched=1,
                        expert_width=1)
    with pytest.raises(ValueError, match="block"):
        op.replace(block="mlp")
    with pytest.raises(dataclasses.FrozenInstanceError):
        op.shape.m = 5.0


def test_batched_absorb_gemms_read_every_heads_input():
    """MLA's absorbed q/o GEMMs are one [T, k] x [k, n/N] product per head: they read N inputs of [T, k]."""
    from hundredx.kernel.runtime import RuntimeSpec
    from hundredx.kernel.sharding import shard_ops

    spec = spec_from_config(MOE_MLA, "tiny-moe-mla")
    ops = _by_name(build_ops(spec, 2, 1, 64), "full/moe")  # decode: T = 2 tokens, absorbed form
    n_heads, a_bytes = 4, 2.0
    for name, k in (("attn.q_absorb", 8), ("attn.o_absorb", 16)):  # nope = 8, kv_lora_rank = 16
        op = ops[name]
        assert op.shape.batch_count == n_heads
        assert op.bytes_read - op.weight_bytes == pytest.approx(2 * k * a_bytes * n_heads)
    dev = _by_name(shard_ops(list(ops.values()), RuntimeSpec(tp=2), 2.0, 64, tp=2)[0])
    q = dev["attn.q_absorb"]  # heads split over the ranks: each reads its heads' inputs
    assert q.bytes_read - q.weight_bytes == pytest.approx(2 * 8 * a_bytes * n_heads / 2)


def test_build_ops_shares_frozen_ops_between_equal_calls():
    """The step cache (model/graph.py): equal arguments give the same frozen ops in a fresh list; arrays key by
    value."""
    spec = load_model("meta-llama/Llama-3.1-8B-Instruct")
    a = build_ops(spec, np.array([1, 4, 16]), 1, np.array([128.0, 128.0, 128.0]))
    b = build_ops(spec, np.array([1, 4, 16]), 1, np.array([128.0, 128.0, 128.0]))
    assert a is not b and len(a) == len(b) and all(x is y for x, y in zip(a, b))
    a.append(a[0])  # the caller's list is its own: the next call is unaffected
    assert len(build_ops(spec, np.array([1, 4, 16]), 1, np.array([128.0, 128.0, 128.0]))) == len(b)
    c = build_ops(spec, np.array([1, 4, 32]), 1, np.array([128.0, 128.0, 128.0]))
    assert c[0] is not b[0] and float(np.max(c[0].flops)) >= 0  # another batch array is another step
    assert [op.name for op in build_ops(spec, 8, 1, 256)] == [op.name for op in b]
