"""The op graph of one forward step: `build_ops(spec, batch, new_tokens, context)`.

prefill = build_ops(spec, B, S, 0); decode step = build_ops(spec, B, 1, ctx); chunked
prefill = build_ops(spec, B, chunk, past). Arguments broadcast as numpy arrays (one entry per
configuration of a sweep). Ops carry global (unsharded) FLOPs and bytes per instance and
`count` = layers in their group (layers of identical LayerKind). Per layer:
  [hc pre-mix] -> norm -> attention block -> [post-attn norm] -> residual add
  -> norm -> FFN block -> [post-ffn norm] -> residual add
plus the embedding gather, the final norm and the LM head (last token of each sequence in
prefill, m = B; every new token in decode, m = B*S). Norms, rope, activations, residual adds
and quantizes are memory ops with MemoryShape.fusable (engines fuse them into neighbours). Each
op's block (attention / ffn / embed / head) is set where it is built (ops_common.Site).

Ops are frozen and never mutated after construction (model/ops.py), so one step's op list is
built once per (spec, batch, new_tokens, context) and shared: `build_ops` keeps the last
OPS_CACHE_SIZE lists (a search prices the same steps for many units) and returns a fresh list
of the same ops. An argument that cannot be a key (an unhashable spec) is built uncached.
"""

from __future__ import annotations

import math

import numpy as np

from hundredx.errors import InputError
from hundredx.model.ops import EmbeddingShape, Op
from hundredx.model.ops_attention import gqa_block, mla_block
from hundredx.model.ops_common import Site, Step, gemm, memory
from hundredx.model.ops_compressed import v4_block
from hundredx.model.ops_ffn import dense_block, moe_block
from hundredx.model.ops_linear import linear_block
from hundredx.model.spec import LayerKind, ModelSpec


def _check(name: str, value, minimum: float):
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value >= minimum:
        return float(value)
    arr = np.asarray(value, dtype=float)
    if arr.size == 0 or not np.all(np.isfinite(arr)) or np.any(arr < minimum):
        raise InputError(name, value if arr.size == 1 else f"array{arr.shape}", f"must be finite and >= {minimum:g}")
    return arr if arr.ndim else float(arr)


def _attention_block(spec: ModelSpec, kind: LayerKind, at: Site, st: Step) -> list[Op]:
    if kind.attn == "linear":
        return linear_block(spec, kind, at, st)
    if spec.attention.kind == "compressed":
        return v4_block(spec, kind, at, st)
    if spec.attention.kind == "mla":
        return mla_block(spec, kind, at, st)
    return gqa_block(spec, kind, at, st)


def _norm(name: str, spec: ModelSpec, at: Site, st: Step) -> Op:
    TD = st.T * spec.hidden_size * st.act_bytes  # [B, S, D]
    return memory(name, at, TD + spec.hidden_size * st.act_bytes, TD, flops=4.0 * st.T * spec.hidden_size)


def _residual(name: str, spec: ModelSpec, at: Site, st: Step) -> list[Op]:
    """Residual add; with hyper-connections (hc_mult > 1) the stream is hc_mult*D wide."""
    TD, hc = st.T * spec.hidden_size * st.act_bytes, spec.hc_mult
    if hc == 1:
        return [memory(name, at, 2 * TD, TD, flops=st.T * spec.hidden_size)]
    return [memory(name + "_hc", at, (hc + 1) * TD, hc * TD, flops=2.0 * hc * st.T * spec.hidden_size)]


def _hc_pre(name: str, spec: ModelSpec, at: Site, st: Step) -> list[Op]:
    """Hyper-connection pre-mix: [B,S,hc*D] x [hc*D, (2+hc)*hc] in fp32, then mix hc streams -> D."""
    if spec.hc_mult == 1:
        return []
    from hundredx.formats import get_format

    hc, D = spec.hc_mult, spec.hidden_size
    fp32 = get_format("fp32")
    return [gemm(f"{name}.hc_gemm", at, st.T, (2 + hc) * hc, hc * D, fp32, "fp32", "replicated", st,
                 in_bytes=st.act_bytes),
            memory(f"{name}.hc_mix", at, st.T * hc * D * st.act_bytes, st.T * D * st.act_bytes)]


def layer_ops(spec: ModelSpec, kind: LayerKind, c: int, st: Step) -> list[Op]:
    """All ops of one layer group (c identical layers)."""
    attn_at, ffn_at = Site(kind.key, c, "attention"), Site(kind.key, c, "ffn")
    attn = _hc_pre("attn", spec, attn_at, st) + [_norm("attn_norm", spec, attn_at, st)]
    attn += _attention_block(spec, kind, attn_at, st)
    if spec.norms_per_layer == 4:
        attn.append(_norm("post_attn_norm", spec, attn_at, st))
    attn += _residual("attn_residual", spec, attn_at, st)
    ffn = _hc_pre("ffn", spec, ffn_at, st) + [_norm("ffn_norm", spec, ffn_at, st)]
    ffn += dense_block(spec, kind, ffn_at, st) if kind.ffn == "dense" else moe_block(spec, kind, ffn_at, st)
    if spec.norms_per_layer == 4:
        ffn.append(_norm("post_ffn_norm", spec, ffn_at, st))
    ffn += _residual("ffn_residual", spec, ffn_at, st)
    return attn + ffn


OPS_CACHE_SIZE = 512
_OPS_CACHE: dict = {}


def _key(x):
    """A dictionary key for a scalar or an array argument (its shape, dtype and bytes)."""
    if isinstance(x, np.ndarray):
        return (x.shape, x.dtype.str, x.tobytes())
    return x


def build_ops(spec: ModelSpec, batch=1, new_tokens=1, context=0) -> list[Op]:
    """Ops of one forward step: `batch` sequences, `new_tokens` each, `context` cached before (shared
    between calls with equal arguments: module docstring)."""
    key = (spec, _key(batch), _key(new_tokens), _key(context))
    try:
        hit = _OPS_CACHE.get(key)
    except TypeError:  # an unhashable spec field
        return _build_ops(spec, batch, new_tokens, context)
    if hit is None:
        if len(_OPS_CACHE) >= OPS_CACHE_SIZE:
            _OPS_CACHE.clear()
        hit = _OPS_CACHE[key] = tuple(_build_ops(spec, batch, new_tokens, context))
    return list(hit)


def _build_ops(spec: ModelSpec, batch=1, new_tokens=1, context=0) -> list[Op]:
    B, S, ctx = _check("batch", batch, 1), _check("new_tokens", new_tokens, 1), _check("context", context, 0)
    q = spec.quant
    st = Step(B=B, S=S, ctx=ctx, act_bytes=q.base.bytes_per_element,
              gemm_in_bytes=q.act.bytes_per_element if q.act_quantized else q.base.bytes_per_element,
              act_quantized=q.act_quantized)
    T, D, V, A = st.T, spec.hidden_size, spec.vocab_size, st.act_bytes
    rows = np.minimum(T, V) * D * q.base.bytes_per_element
    ops = [Op(name="embed", group="embed", block="embed", count=1.0, flops=0.0, bytes_read=rows + T * 4.0,
              bytes_written=T * D * A, weight_bytes=rows, shard="vocab",
              shape=EmbeddingShape(rows=T))]  # ids -> [B, S, D]
    for kind, count in spec.groups.items():
        ops += layer_ops(spec, kind, count, st)
    m = B if st.prefill else T  # prefill: logits of the last token of each sequence only
    head = Site("head", 1, "head")
    ops += [_norm("final_norm", spec, head, st),
            gemm("lm_head", head, m, V, D, q.base, q.base.compute, "vocab", st, in_bytes=A)]
    return ops


def total_flops(ops: list[Op]):
    """Sum of count * flops over ops (broadcasts)."""
    return sum(np.multiply(op.count, op.flops) for op in ops)


def total_bytes(ops: list[Op]):
    return sum(np.multiply(op.count, op.bytes_total) for op in ops)
