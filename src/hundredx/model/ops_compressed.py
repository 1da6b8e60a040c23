"""DeepSeek-V4 attention sub-layer ops: shared-KV MQA with sliding window + compressed KV.

Per layer: q = W_qb(norm(W_qa x)) [B,S,N,H]; one KV head kv = norm(W_kv x) [B,S,H] (rope on
its last qk_rope_head_dim dims, K = V); a window of `sliding_window` raw tokens; with ratio r
a compressor (bf16 GEMM D -> 2*c*H, c = 2 for overlapping r=4 windows) pools every r tokens
into one entry. HCA layers attend to all floor((p+1)/r) entries, CSA layers (r=4) to the
top-`index_topk` picked by a DSA-style indexer over compressed indexer keys. The output
projection is grouped low rank: W_oa maps each of o_groups head groups to o_lora_rank,
W_ob maps o_groups*o_lora_rank -> D. Attention sinks per head (no extra work).
"""

from __future__ import annotations

import numpy as np

from hundredx.model.accounting import kv_bytes_per_token_layer
from hundredx.model.ops import Op
from hundredx.model.ops_attention import _indexer
from hundredx.model.ops_common import Site, Step, attention_op, compressed_pairs, gemm, memory, quantize, window_pairs
from hundredx.model.spec import LayerKind, ModelSpec


def _compressor(spec: ModelSpec, kind: LayerKind, at: Site, st: Step) -> list[Op]:
    a, q, T, A = spec.attention, spec.quant, st.T, st.act_bytes
    r, coff = kind.compress_ratio, 2 if kind.attn == "csa" else 1
    width = 2 * coff * a.head_dim  # wkv and wgate, [B, S, D] -> [B, S, 2*c*H]
    new_entries = np.floor(np.asarray(st.end, float) / r) - np.floor(np.asarray(st.ctx, float) / r)
    return [gemm("attn.compress_proj", at, T, width, spec.hidden_size, q.base, q.base.compute, "replicated", st,
                 in_bytes=A),
            memory("attn.compress_pool", at, T * width * A,
                   np.multiply(st.B, new_entries) * a.head_dim * q.kv.bytes_per_element, fusable=False)]


def v4_block(spec: ModelSpec, kind: LayerKind, at: Site, st: Step) -> list[Op]:
    a, q, D, T, A = spec.attention, spec.quant, spec.hidden_size, st.T, st.act_bytes
    N, H, qr, r, w = a.num_heads, a.head_dim, a.q_lora_rank, kind.compress_ratio, a.sliding_window
    wf, wc = q.weight, q.gemm_compute
    ops = quantize("attn.quant_in", at, T * D, st)
    ops.append(gemm("attn.q_a", at, T, qr, D, wf, wc, "replicated", st))  # [B,S,D] -> [B,S,q_r]
    ops.append(memory("attn.q_norm", at, T * qr * A, T * qr * A))
    ops += quantize("attn.quant_q", at, T * qr, st)
    ops.append(gemm("attn.q_b", at, T, N * H, qr, wf, wc, "column", st))  # [B,S,q_r] -> [B,S,N,H]
    ops.append(gemm("attn.kv", at, T, H, D, wf, wc, "replicated", st))  # [B,S,D] -> [B,S,H]
    ops.append(memory("attn.norm_rope", at, T * (N + 1) * H * A, T * (N + 1) * H * A))
    ops.append(memory("attn.kv_write", at, T * H * A, T * H * q.kv.bytes_per_element))
    end = st.end
    pairs, kv_read = window_pairs(st.ctx, end, w), np.minimum(end, w + st.S)
    variant, topk = "sliding", 0
    if r:
        ops += _compressor(spec, kind, at, st)
        entries = np.floor(np.asarray(end, float) / r)
        if kind.attn == "csa":
            topk, variant = a.index_topk, "sparse"
            pairs = pairs + compressed_pairs(st.ctx, end, r, cap=topk)
            kv_read = kv_read + np.minimum(entries, topk * np.asarray(st.S, float))
            idx_pairs = compressed_pairs(st.ctx, end, r)
            key_write = np.multiply(st.B, entries - np.floor(np.asarray(st.ctx, float) / r))
            comp = [gemm("idx.compress_proj", at, T, 4 * a.index_head_dim, D, q.base, q.base.compute, "replicated",
                         st, in_bytes=A)]
            ops += _indexer(spec, at, st, qr, idx_pairs, entries, key_write, comp)
        else:
            variant = "compressed"
            pairs = pairs + compressed_pairs(st.ctx, end, r)
            kv_read = kv_read + entries
    ops.append(attention_op("attn.core", at, st, pairs=pairs, heads_q=N, heads_kv=1, head_dim=H, head_dim_v=H,
                            kv_read=kv_read, kv_bytes_key=H * q.kv.bytes_per_element, variant=variant, window=w,
                            sparse_topk=topk, kv_bytes_per_token_layer=kv_bytes_per_token_layer(spec, kind),
                            compress_ratio=r, sinks=True))
    og, olr = a.o_groups, a.o_lora_rank
    ops += quantize("attn.quant_o", at, T * N * H, st)
    ops.append(gemm("attn.o_a", at, T, og * olr, N * H // og, wf, wc, "column", st, batch_count=og))  # per head group
    ops += quantize("attn.quant_oa", at, T * og * olr, st)
    ops.append(gemm("attn.o_b", at, T, D, og * olr, wf, wc, "row", st))  # [B,S,o_g*o_r] -> [B,S,D]
    return ops
