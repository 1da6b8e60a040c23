"""FFN sub-layer ops: gated dense MLP and MoE (router, grouped expert GEMMs, shared experts).

Dense: gate_up [B,S,D] -> [B,S,2F], act silu(g)*u -> [B,S,F], down [B,S,F] -> [B,S,D].
MoE (Shazeer et al. 2017; DeepSeekMoE arXiv:2401.06066): router GEMM D -> E in the base dtype,
softmax/sigmoid + top-k; routed experts as grouped GEMMs over tokens_total = T*k rows (one op
for gate+up, one for down); weights read only for the experts touched, in expectation
E*(1 - (1 - k/E)^T) distinct experts for T tokens routed uniformly; weighted combine of the
k outputs; shared experts as plain GEMMs over all T tokens.
"""

from __future__ import annotations

import numpy as np

from hundredx.model.ops import ExpertGemmShape, Op, RouterShape
from hundredx.model.ops_common import Site, Step, gemm, memory, quantize
from hundredx.model.spec import LayerKind, ModelSpec


def experts_touched(num_experts: int, top_k: int, tokens):
    """Expected distinct experts hit by `tokens` tokens each picking top_k of E uniformly."""
    t = np.asarray(tokens, float)
    return num_experts * (1.0 - (1.0 - top_k / num_experts) ** t)


def _mlp(prefix: str, spec: ModelSpec, at: Site, st: Step, width: int, quantized_in: bool) -> list[Op]:
    q, D, T, A = spec.quant, spec.hidden_size, st.T, st.act_bytes
    shared = prefix == "shared"
    ops = [] if quantized_in else quantize(f"{prefix}.quant_in", at, T * D, st)
    ops.append(gemm(f"{prefix}.gate_up", at, T, 2 * width, D, q.weight, q.gemm_compute, "column", st,
                    shared_expert=shared))
    ops.append(memory(f"{prefix}.act", at, T * 2 * width * A, T * width * A, flops=4.0 * T * width, shard="column"))
    ops += quantize(f"{prefix}.quant_down", at, T * width, st)
    ops.append(gemm(f"{prefix}.down", at, T, D, width, q.weight, q.gemm_compute, "row", st, shared_expert=shared))
    return ops


def dense_block(spec: ModelSpec, kind: LayerKind, at: Site, st: Step) -> list[Op]:
    return _mlp("ffn", spec, at, st, spec.intermediate_size, quantized_in=False)


def _router(spec: ModelSpec, kind: LayerKind, at: Site, st: Step) -> list[Op]:
    m, q, T = spec.moe, spec.quant, st.T
    assert m is not None  # ModelSpec refuses MoE layers without a MoESpec
    n = m.num_experts + (1 if m.shared_gate else 0)
    ops = [gemm("moe.router_gemm", at, T, n, spec.hidden_size, q.base, q.base.compute, "replicated", st,
                in_bytes=st.act_bytes)]  # [B, S, D] -> [B, S, E]
    gate = RouterShape(experts=m.num_experts, top_k=m.top_k, scoring=m.scoring, hash_routed=kind.ffn == "moe_hash")
    ops.append(Op(name="moe.router", group=at.group, block=at.block, count=float(at.count),
                  flops=np.multiply(T, 8.0 * m.num_experts), bytes_read=np.multiply(T, n * st.act_bytes),
                  bytes_written=np.multiply(T, m.top_k * 8.0), shard="replicated", shape=gate))
    return ops


def moe_block(spec: ModelSpec, kind: LayerKind, at: Site, st: Step) -> list[Op]:
    m, q, D, T, A = spec.moe, spec.quant, spec.hidden_size, st.T, st.act_bytes
    assert m is not None  # ModelSpec refuses MoE layers without a MoESpec
    E, k, Fe = m.num_experts, m.top_k, m.expert_width
    ops = _router(spec, kind, at, st)
    ops += quantize("moe.quant_in", at, T * D, st)
    rows = np.multiply(T, k)  # tokens_total = T*k expert rows
    touched = experts_touched(E, k, T)
    fmt, comp = q.experts, q.expert_gemm_compute
    for name, stage, n, kk in (("moe.gate_up", "up", 2 * Fe, D), ("moe.down", "down", D, Fe)):
        wb = touched * n * kk * fmt.bytes_per_element
        experts = ExpertGemmShape(stage=stage, n=n, k=kk, groups=E, top_k=k, tokens=T, tokens_total=rows,
                                  experts_touched=touched, expert_width=Fe, n_group=m.n_group,
                                  topk_group=m.topk_group)
        ops.append(Op(name=name, group=at.group, block=at.block, count=float(at.count), flops=2.0 * rows * n * kk,
                      bytes_read=wb + rows * kk * st.gemm_in_bytes, bytes_written=rows * n * A, weight_bytes=wb,
                      compute=comp, shard="experts", shape=experts))
        if name == "moe.gate_up":  # [B*S*k, 2Fe] -> [B*S*k, Fe]
            ops.append(memory("moe.act", at, rows * 2 * Fe * A, rows * Fe * A, flops=4.0 * rows * Fe, shard="experts"))
            ops += quantize("moe.quant_down", at, rows * Fe, st)
    ops.append(memory("moe.combine", at, rows * D * A, T * D * A, flops=2.0 * rows * D, shard="experts"))
    if m.shared_total_width:
        ops += _mlp("shared", spec, at, st, m.shared_total_width, quantized_in=True)
    return ops
