"""Attention sub-layer ops: GQA/MHA/MQA (full, sliding, chunked) and MLA (DeepSeek-V2/V3, with
the DSA indexer of V3.2/GLM-5). DeepSeek-V4 is in ops_compressed, Gated DeltaNet in ops_linear.

MLA (DeepSeek-V2, arXiv:2405.04434): prefill (> MLA_ABSORB_MAX_Q new tokens per sequence) runs the
non-absorbed form (kv_b_proj expands the latent cache of all context+new tokens; attention with qk
dim nope+rope, v dim v_head_dim, heads_kv = N); decode runs the absorbed FlashMLA form (q_nope
absorbed into W_UK, attention over the latent cache with heads_kv = 1,
head_dim = kv_lora_rank+rope, head_dim_v = kv_lora_rank, then W_UV) with the two absorbed per-head
projections as batched GEMMs.
DSA (DeepSeek-V3.2): a light indexer (index_n_heads x index_head_dim, one key head) scores all
context keys, keeps index_topk per query; the main attention sees min(p+1, topk) keys.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hundredx.model.accounting import kv_bytes_per_token_layer
from hundredx.model.ops import Op
from hundredx.model.ops_common import (
    Site,
    Step,
    attention_op,
    causal_pairs,
    chunk_pairs,
    gemm,
    memory,
    quantize,
    window_pairs,
)
from hundredx.model.spec import LayerKind, ModelSpec


def gqa_block(spec: ModelSpec, kind: LayerKind, at: Site, st: Step) -> list[Op]:
    a, q, D, T, A = spec.attention, spec.quant, spec.hidden_size, st.T, st.act_bytes
    N, K, H = a.num_heads, a.num_kv_heads, a.head_dim
    ops = quantize("attn.quant_in", at, T * D, st)
    ops.append(gemm("attn.qkv", at, T, (N * (1 + a.output_gate) + 2 * K) * H, D, q.weight, q.gemm_compute,
                    "column", st))  # [B, S, D] -> [B, S, (N+2K)H]
    if a.qk_norm:
        ops.append(memory("attn.qk_norm", at, T * (N + K) * H * A, T * (N + K) * H * A))
    ops.append(memory("attn.rope", at, T * (N + K) * H * A, T * (N + K) * H * A))
    kv_tok = kv_bytes_per_token_layer(spec, kind)
    ops.append(memory("attn.kv_write", at, T * 2 * K * H * A, T * kv_tok, shard="heads"))
    end = st.end
    if kind.attn == "sliding":
        pairs, kv_read = window_pairs(st.ctx, end, a.sliding_window), np.minimum(end, a.sliding_window + st.S)
        variant, window = "sliding", a.sliding_window
    elif kind.attn == "chunked":
        pairs, kv_read = chunk_pairs(st.ctx, end, a.chunk_size), np.minimum(end, a.chunk_size + st.S)
        variant, window = "sliding", a.chunk_size
    else:
        pairs, kv_read, variant, window = causal_pairs(st.ctx, end), end, ("mha" if K == N else "gqa"), 0
    ops.append(attention_op("attn.core", at, st, pairs=pairs, heads_q=N, heads_kv=K, head_dim=H, head_dim_v=H,
                            kv_read=kv_read, kv_bytes_key=kv_tok, variant=variant, window=window,
                            kv_bytes_per_token_layer=kv_tok, sinks=a.sinks, chunked=kind.attn == "chunked"))
    if a.output_gate:  # o = attn * sigmoid(gate)  [B, S, N, H]
        ops.append(memory("attn.out_gate", at, 2 * T * N * H * A, T * N * H * A))
    ops += quantize("attn.quant_o", at, T * N * H, st)
    ops.append(gemm("attn.o", at, T, D, N * H, q.weight, q.gemm_compute, "row", st))  # [B, S, N*H] -> [B, S, D]
    return ops


def _indexer(spec: ModelSpec, at: Site, st: Step, q_in: int, pairs, kv_read, key_write, gemms: list) -> list[Op]:
    """DSA lightning indexer: q/weights projections, fp8 MQA logits over keys, top-k select."""
    a, q, T = spec.attention, spec.quant, st.T
    ni, hi, kvb = a.index_n_heads, a.index_head_dim, q.kv.bytes_per_element
    ops = [gemm("idx.wq", at, T, ni * hi, q_in, q.weight, q.gemm_compute, "replicated", st)]  # [B,S,q_r]->[B,S,Ni*Hi]
    ops += gemms
    ops.append(gemm("idx.weights", at, T, ni, spec.hidden_size, q.base, q.base.compute, "replicated", st,
                    in_bytes=st.act_bytes))
    ops.append(memory("idx.k_write", at, key_write * hi * st.act_bytes, key_write * hi * kvb))
    score = attention_op("idx.score", at, st, pairs=pairs, heads_q=ni, heads_kv=1, head_dim=hi, head_dim_v=0,
                         kv_read=kv_read, kv_bytes_key=hi * kvb, variant="indexer", kv_bytes_per_token_layer=hi * kvb)
    logits = np.multiply(st.B, pairs) * 4.0  # fp32 logits per (query, key)
    ops.append(score.replace(bytes_written=logits))
    ops.append(memory("idx.topk", at, logits, T * a.index_topk * 4.0, fusable=False, flops=np.multiply(st.B, pairs),
                      top_k=a.index_topk))
    return ops


MLA_ABSORB_MAX_Q = 16


def _expanded(st: Step) -> bool:
    """Expanded (prefill) MLA form for a fresh prefill or many new tokens per sequence; decode and
    speculative verification (a few query tokens over a cached latent) run absorbed, as FlashMLA
    does for q_len up to MLA_ABSORB_MAX_Q."""
    many = np.max(st.S) > MLA_ABSORB_MAX_Q
    fresh = np.max(st.S) > 1 and np.max(st.ctx) == 0
    return bool(many or fresh)


def mla_block(spec: ModelSpec, kind: LayerKind, at: Site, st: Step) -> list[Op]:
    a, q, D, T, A = spec.attention, spec.quant, spec.hidden_size, st.T, st.act_bytes
    N, qr, kvr = a.num_heads, a.q_lora_rank, a.kv_lora_rank
    nope, rope, v = a.qk_nope_head_dim, a.qk_rope_head_dim, a.v_head_dim
    wc, w = q.gemm_compute, q.weight
    ops = quantize("attn.quant_in", at, T * D, st)
    if qr:
        ops.append(gemm("attn.q_a", at, T, qr, D, w, wc, "replicated", st))  # [B,S,D] -> [B,S,q_r]
        ops.append(memory("attn.q_a_norm", at, T * qr * A, T * qr * A))
        ops += quantize("attn.quant_q", at, T * qr, st)
    ops.append(gemm("attn.q_b" if qr else "attn.q", at, T, N * (nope + rope), qr or D, w, wc, "column", st))
    ops.append(gemm("attn.kv_a", at, T, kvr + rope, D, w, wc, "replicated", st))  # [B,S,D] -> [B,S,kv_r+rope]
    ops.append(memory("attn.kv_a_norm", at, T * kvr * A, T * kvr * A))
    ops.append(memory("attn.rope", at, T * (N + 1) * rope * A, T * (N + 1) * rope * A))
    kv_tok = kv_bytes_per_token_layer(spec, kind)
    ops.append(memory("attn.kv_write", at, T * (kvr + rope) * A, T * (kvr + rope) * q.kv.bytes_per_element))
    end, sparse = st.end, kind.attn == "sparse"
    pairs = window_pairs(st.ctx, end, a.index_topk) if sparse else causal_pairs(st.ctx, end)
    kv_read = np.minimum(end, a.index_topk * st.S) if sparse else end
    if sparse:
        wk = [gemm("idx.wk", at, T, a.index_head_dim, D, w, wc, "replicated", st)]
        ops += _indexer(spec, at, st, qr or D, causal_pairs(st.ctx, end), end, T, wk)
    common: dict[str, Any]  # attention_op keywords of both MLA forms
    common = dict(variant="sparse" if sparse else "mla", sparse_topk=a.index_topk if sparse else 0,
                  kv_bytes_per_token_layer=kv_tok, mla_form="expanded" if _expanded(st) else "absorbed")
    if _expanded(st):  # expand latent of every key: [B, ctx+S, kv_r] -> [B, ctx+S, N, nope+v]
        ops.append(gemm("attn.kv_b", at, np.multiply(st.B, end), N * (nope + v), kvr, w, wc, "column", st,
                        in_bytes=q.kv.bytes_per_element))
        ops.append(attention_op("attn.core", at, st, pairs=pairs, heads_q=N, heads_kv=N, head_dim=nope + rope,
                                head_dim_v=v, kv_read=kv_read, kv_bytes_key=N * (nope + rope + v) * A, **common))
    else:  # absorbed: [B, 1, N, nope] x W_UK[N, nope, kv_r]; attention over the latent cache
        ops.append(gemm("attn.q_absorb", at, T, N * kvr, nope, w, wc, "column", st, in_bytes=A, batch_count=N))
        ops.append(attention_op("attn.core", at, st, pairs=pairs, heads_q=N, heads_kv=1, head_dim=kvr + rope,
                                head_dim_v=kvr, kv_read=kv_read, kv_bytes_key=(kvr + rope) * q.kv.bytes_per_element,
                                **common))
        ops.append(gemm("attn.o_absorb", at, T, N * v, kvr, w, wc, "column", st, in_bytes=A, batch_count=N))
    ops += quantize("attn.quant_o", at, T * N * v, st)
    ops.append(gemm("attn.o", at, T, D, N * v, w, wc, "row", st))  # [B, S, N*v] -> [B, S, D]
    return ops
