"""Gated DeltaNet sub-layer ops (Qwen3-Next, Qwen3.5; Yang et al. 2024, arXiv:2412.06464).

in_proj: [B,S,D] -> q,k [nk*dk] each, v,z [nv*dv] each, b,a [nv] each; causal conv1d of width
`conv_kernel` over q,k,v; the gated delta-rule recurrence with a fixed state S[nv, dk, dv]
per sequence (read and written once per step, fp32); gated RMSNorm with z; out_proj
[B,S,nv*dv] -> [B,S,D]. Recurrence FLOPs per token and value head: 6*dk*dv (S k, rank-1
update, S q) plus 2*C*(dk+dv) for the intra-chunk attention of the chunkwise prefill (C=64).
"""

from __future__ import annotations

import numpy as np

from hundredx.model.accounting import layer_kv_bytes
from hundredx.model.ops import Op, RecurrentShape
from hundredx.model.ops_common import Site, Step, gemm, memory, quantize
from hundredx.model.spec import LayerKind, ModelSpec

GDN_CHUNK = 64  # chunk length of the chunkwise kernel (flash-linear-attention chunk_gated_delta_rule)


def linear_block(spec: ModelSpec, kind: LayerKind, at: Site, st: Step) -> list[Op]:
    lin, q, D, T, A = spec.linear, spec.quant, spec.hidden_size, st.T, st.act_bytes
    assert lin is not None  # ModelSpec refuses linear-attention layers without a LinearAttnSpec
    nk, nv, dk, dv = lin.num_key_heads, lin.num_value_heads, lin.key_head_dim, lin.value_head_dim
    conv_dim, kern = lin.conv_dim, lin.conv_kernel
    ops = quantize("attn.quant_in", at, T * D, st)
    ops.append(gemm("attn.in_proj", at, T, 2 * nk * dk + 2 * nv * dv + 2 * nv, D, q.weight, q.gemm_compute,
                    "column", st))  # [B, S, D] -> [B, S, qkvzba]
    conv_state = np.multiply(st.B, conv_dim * (kern - 1) * A)
    ops.append(memory("attn.conv1d", at, T * conv_dim * A + conv_state, T * conv_dim * A + conv_state,
                      fusable=False, flops=2.0 * T * conv_dim * kern, shard="heads"))
    state = np.multiply(st.B, nv * dk * dv * lin.state_bytes_per_element)
    chunk = GDN_CHUNK if st.prefill else 0
    flops = np.multiply(T, nv * (6.0 * dk * dv + 2.0 * chunk * (dk + dv)))
    rec = RecurrentShape(variant="gated_deltanet", phase=st.phase, batch=st.B, seqlen_q=st.S, value_heads=nv,
                         key_heads=nk, key_head_dim=dk, value_head_dim=dv, chunk=chunk,
                         state_bytes_per_seq=float(layer_kv_bytes(spec, kind, 0.0)))
    ops.append(Op(name="attn.recurrent", group=at.group, block=at.block, count=float(at.count), flops=flops,
                  bytes_read=T * (2 * nk * dk + nv * dv + 2 * nv) * A + state, bytes_written=T * nv * dv * A + state,
                  shard="heads", shape=rec))
    ops.append(memory("attn.gated_norm", at, 2 * T * nv * dv * A, T * nv * dv * A))
    ops += quantize("attn.quant_o", at, T * nv * dv, st)
    ops.append(gemm("attn.out_proj", at, T, D, nv * dv, q.weight, q.gemm_compute, "row", st))
    return ops
