"""Parameter, weight-byte and KV-cache accounting of a ModelSpec.

Parameters are counted per tensor class so each class can carry its own number format:
  embed, lm_head, router, norm, aux (biases, sinks, convs, V4 compressors, indexer gates)
      -> `quant.base` (the checkpoint dtype; quantizations leave these alone)
  attn, dense_ffn, shared -> `quant.weight`;  experts -> `quant.experts`;  hc -> fp32.
Per layer (D hidden, N/K heads, H head dim, F widths, E experts):
  GQA   : D*N*H*(1+gate) + 2*D*K*H + N*H*D
  MLA   : D*q_r + q_r*N*(nope+rope) + D*(kv_r+rope) + kv_r*N*(nope+v) + N*v*D
          (+ DSA indexer q_r*Ni*Hi + D*Hi + D*Ni)
  V4    : D*q_r + q_r*N*H + D*H + N*H*o_r + o_g*o_r*D (+ compressor 2*D*c*H, + indexer)
  GDN   : D*(2*nk*dk + 2*nv*dv + 2*nv) + nv*dv*D + conv_dim*kernel
  FFN   : 3*D*F (gated); MoE 3*D*Fe*E + D*E router + 3*D*Fs shared.
Active = all non-routed-expert parameters + k/E of the routed experts (embedding included,
as in zoo/SOURCES.md).
KV bytes per sequence at context c (per layer, b = kv format bytes/element):
  full GQA 2*K*H*b*c; sliding/chunked 2*K*H*b*min(c, w); MLA (kv_r+rope)*b*c;
  DSA adds the indexer key Hi*b*c; V4 H*b*(floor(c/r) + min(c, w)) (+ Hi*b*floor(c/r) for CSA);
  Gated DeltaNet a fixed state nv*dk*dv*4 + conv_dim*(kernel-1)*2 bytes.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from hundredx.formats import NumberFormat
from hundredx.model.spec import LayerKind, ModelSpec

_CLASSES = ("embed", "lm_head", "norm", "aux", "router", "attn", "dense_ffn", "shared", "experts", "hc")


def _attn_params(spec: ModelSpec, kind: LayerKind) -> Counter:
    a, d = spec.attention, spec.hidden_size
    c: Counter = Counter()
    if kind.attn == "linear":
        lin = spec.linear
        assert lin is not None  # ModelSpec refuses linear-attention layers without a LinearAttnSpec
        nk, nv, dk, dv = lin.num_key_heads, lin.num_value_heads, lin.key_head_dim, lin.value_head_dim
        c["attn"] += d * (2 * nk * dk + 2 * nv * dv + 2 * nv) + nv * dv * d
        c["aux"] += lin.conv_dim * lin.conv_kernel + 2 * nv + dv
        return c
    n, qr = a.num_heads, a.q_lora_rank
    if a.kind == "compressed":
        h = a.head_dim
        c["attn"] += d * qr + qr * n * h + d * h + n * h * a.o_lora_rank + a.o_groups * a.o_lora_rank * d
        c["aux"] += qr + h + n
        if kind.compress_ratio:
            coff = 2 if kind.attn == "csa" else 1
            c["aux"] += 2 * d * coff * h + kind.compress_ratio * coff * h + h
        if kind.attn == "csa":
            ni, hi = a.index_n_heads, a.index_head_dim
            c["attn"] += qr * ni * hi
            c["aux"] += d * ni + 2 * d * 2 * hi + kind.compress_ratio * 2 * hi + hi
        return c
    if a.kind == "mla":
        qk, kvr = a.qk_head_dim, a.kv_lora_rank
        c["attn"] += (d * qr + qr * n * qk if qr else d * n * qk) + d * (kvr + a.qk_rope_head_dim)
        c["attn"] += kvr * n * (a.qk_nope_head_dim + a.v_head_dim) + n * a.v_head_dim * d
        c["aux"] += qr + kvr
        if kind.attn == "sparse":
            ni, hi = a.index_n_heads, a.index_head_dim
            c["attn"] += (qr or d) * ni * hi + d * hi
            c["aux"] += d * ni + 2 * hi
        return c
    k, h = a.num_kv_heads, a.head_dim
    c["attn"] += d * n * h * (2 if a.output_gate else 1) + 2 * d * k * h + n * h * d
    c["aux"] += (n + 2 * k) * h * a.qkv_bias + d * a.o_bias + 2 * h * a.qk_norm + n * a.sinks
    return c


def _ffn_params(spec: ModelSpec, kind: LayerKind) -> Counter:
    d = spec.hidden_size
    c: Counter[str] = Counter()
    if kind.ffn == "dense":
        c["dense_ffn"] += 3 * d * spec.intermediate_size
        return c
    m = spec.moe
    assert m is not None  # ModelSpec refuses MoE layers without a MoESpec
    c["experts"] += m.num_experts * (3 * d * m.expert_width + (2 * m.expert_width + d) * m.expert_bias)
    c["router"] += d * m.num_experts + m.num_experts * m.router_bias
    c["shared"] += 3 * d * m.shared_total_width
    c["router"] += d * m.shared_gate
    return c


def layer_params(spec: ModelSpec, kind: LayerKind) -> Counter:
    """Parameters of one layer of `kind`, by tensor class."""
    c = _attn_params(spec, kind) + _ffn_params(spec, kind)
    c["norm"] += spec.norms_per_layer * spec.hidden_size
    if spec.hc_mult > 1:
        mix = (2 + spec.hc_mult) * spec.hc_mult
        c["hc"] += 2 * (mix * spec.hc_mult * spec.hidden_size + mix + 3)
    return c


def params_by_class(spec: ModelSpec) -> dict[str, float]:
    """Total parameters per tensor class (see module docstring)."""
    total: Counter = Counter()
    for kind, count in spec.groups.items():
        for key, value in layer_params(spec, kind).items():
            total[key] += value * count
    d, v = spec.hidden_size, spec.vocab_size
    total["embed"] += v * d
    total["lm_head"] += 0 if spec.tie_embeddings else v * d
    total["norm"] += d
    if spec.hc_mult > 1:
        total["hc"] += spec.hc_mult * spec.hc_mult * d + 2 * spec.hc_mult
    return {key: float(total.get(key, 0)) for key in _CLASSES}


def params_total(spec: ModelSpec) -> float:
    """All parameters of the language model (no vision tower, no MTP layers)."""
    return float(sum(params_by_class(spec).values()))


def params_active(spec: ModelSpec) -> float:
    """Parameters touched per token: everything but the routed experts, plus k/E of them."""
    by = params_by_class(spec)
    if spec.moe is None:
        return float(sum(by.values()))
    return float(sum(by.values()) - by["experts"] * (1.0 - spec.moe.top_k / spec.moe.num_experts))


def class_formats(spec: ModelSpec) -> dict[str, NumberFormat]:
    """Number format each tensor class is stored in."""
    from hundredx.formats import get_format

    q = spec.quant
    fmt = {key: q.base for key in ("embed", "lm_head", "norm", "aux", "router")}
    fmt.update(attn=q.weight, dense_ffn=q.weight, shared=q.weight, experts=q.experts, hc=get_format("fp32"))
    return fmt


def weight_bytes_by_class(spec: ModelSpec) -> dict[str, float]:
    """Weight bytes per tensor class (embed, lm_head, attn, experts, shared, ...) in their formats.
    Derived from the frozen spec alone, so it is computed once per spec (a what-if is a new spec)."""
    memo = spec._memo
    if "weight_bytes_by_class" not in memo:
        fmt = class_formats(spec)
        memo["weight_bytes_by_class"] = {key: n * fmt[key].bytes_per_element
                                         for key, n in params_by_class(spec).items()}
    return dict(memo["weight_bytes_by_class"])


def weight_bytes(spec: ModelSpec) -> float:
    """Bytes of all weights in their formats, block-scale overhead included."""
    return float(sum(weight_bytes_by_class(spec).values()))


def layer_kv_bytes(spec: ModelSpec, kind: LayerKind, context, kv_fmt: NumberFormat | None = None):
    """Exact KV/state bytes one layer of `kind` holds for one sequence at `context` tokens."""
    a, b = spec.attention, (kv_fmt or spec.quant.kv).bytes_per_element
    ctx = np.asarray(context, dtype=float)
    if kind.attn == "linear":
        lin = spec.linear
        assert lin is not None  # ModelSpec refuses linear-attention layers without a LinearAttnSpec
        state = lin.num_value_heads * lin.key_head_dim * lin.value_head_dim * lin.state_bytes_per_element
        return state + lin.conv_dim * (lin.conv_kernel - 1) * spec.quant.base.bytes_per_element + 0.0 * ctx
    if a.kind == "compressed":
        window = np.minimum(ctx, a.sliding_window) * a.head_dim * b
        if not kind.compress_ratio:
            return window
        entries = np.floor(ctx / kind.compress_ratio)
        width = a.head_dim + (a.index_head_dim if kind.attn == "csa" else 0)
        return window + entries * width * b
    per_token = kv_bytes_per_token_layer(spec, kind, kv_fmt)
    if kind.attn == "sliding":
        return np.minimum(ctx, a.sliding_window) * per_token
    if kind.attn == "chunked":
        return np.minimum(ctx, a.chunk_size) * per_token
    return ctx * per_token


def kv_bytes_per_token_layer(spec: ModelSpec, kind: LayerKind, kv_fmt: NumberFormat | None = None) -> float:
    """KV bytes one more token adds to one layer while no window is full (V4: amortised over r)."""
    a, b = spec.attention, (kv_fmt or spec.quant.kv).bytes_per_element
    if kind.attn == "linear":
        return 0.0
    if a.kind == "compressed":
        per = a.head_dim * b
        if kind.compress_ratio:
            per += (a.head_dim + (a.index_head_dim if kind.attn == "csa" else 0)) * b / kind.compress_ratio
        return float(per)
    if a.kind == "mla":
        per = (a.kv_lora_rank + a.qk_rope_head_dim) * b
        return float(per + (a.index_head_dim * b if kind.attn == "sparse" else 0.0))
    return float(a.num_kv_heads * (a.head_dim + a.head_dim_v) * b)


def kv_bytes_per_token(spec: ModelSpec, kv_fmt: NumberFormat | str | None = None) -> float:
    """Sum over layers of `kv_bytes_per_token_layer` (sliding layers at their uncapped rate)."""
    fmt = _fmt(kv_fmt)
    return float(sum(kv_bytes_per_token_layer(spec, k, fmt) * n for k, n in spec.groups.items()))


def kv_bytes(spec: ModelSpec, context_tokens, kv_fmt: NumberFormat | str | None = None):
    """Exact KV + recurrent-state bytes of one sequence at `context_tokens` (broadcasts)."""
    fmt = _fmt(kv_fmt)
    total = 0.0
    for kind, n in spec.groups.items():
        total = total + n * layer_kv_bytes(spec, kind, context_tokens, fmt)
    return total if np.ndim(total) else float(total)


def state_bytes_per_seq(spec: ModelSpec) -> float:
    """Fixed per-sequence state (linear-attention layers), independent of context."""
    return float(sum(n * layer_kv_bytes(spec, k, 0.0) for k, n in spec.groups.items() if k.attn == "linear"))


def _fmt(kv_fmt: NumberFormat | str | None) -> NumberFormat | None:
    if isinstance(kv_fmt, str):
        from hundredx.formats import get_format

        return get_format(kv_fmt, "kv")
    return kv_fmt
