"""Shared builders of the op graph: step shape, GEMM / memory / quantize op constructors,
and exact causal pair counts for full, sliding, chunked and compressed attention.

FLOPs of C[m,n] = A[m,k] W[k,n] are 2*m*n*k; bytes are weights (n*k in the weight format,
block scales included) + input activations + output activations. Activations between ops
are in the base dtype (bf16/fp16); a GEMM input is in the act format when act is quantized.

Pair counts (query, key) per sequence and head, queries at positions a..b-1 (a = context,
b = context + new tokens), query p sees keys 0..p (causal, diagonal included):
  full     F(n) = n(n+1)/2,                         pairs = F(b) - F(a)
  sliding  G(n) = sum_{p<n} min(p+1, w)
  chunked  C(n) = sum_{p<n} (p mod c) + 1           (Llama-4 local attention)
  compressed H(n) = sum_{q<=n} min(floor(q/r), cap) (DeepSeek-V4 entries, cap = top-k)
Prefill (a=0, b=S) gives the causal S(S+1)/2; decode (b=a+1) gives a+1 keys per query.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hundredx.arrays import ArrayLike
from hundredx.formats import NumberFormat
from hundredx.model.ops import AttentionShape, GemmShape, MemoryShape, Op


@dataclass(frozen=True, slots=True)
class Step:
    """One forward step: B sequences, S new tokens each, `ctx` tokens already cached.
    Derived once: T = B*S tokens computed, end = ctx + S (context after the step), prefill
    (more than one new token per sequence) and phase ("prefill" / "decode")."""

    B: ArrayLike
    S: ArrayLike
    ctx: ArrayLike
    act_bytes: float
    gemm_in_bytes: float
    act_quantized: bool
    T: ArrayLike = field(init=False)
    end: ArrayLike = field(init=False)
    prefill: bool = field(init=False)
    phase: str = field(init=False)

    def __post_init__(self) -> None:
        prefill = bool(np.max(self.S) > 1)
        object.__setattr__(self, "T", self.B * self.S)
        object.__setattr__(self, "end", self.ctx + self.S)
        object.__setattr__(self, "prefill", prefill)
        object.__setattr__(self, "phase", "prefill" if prefill else "decode")


@dataclass(frozen=True, slots=True)
class Site:
    """Where ops sit in the graph: their layer `group`, the `count` layers in it, and their `block`
    (attention / ffn / embed / head; model/ops.py)."""

    group: str
    count: float
    block: str


def gemm(name: str, at: Site, m, n, k, fmt: NumberFormat, compute: str, shard: str,
         step: Step, in_bytes: float | None = None, **shape) -> Op:
    """A GEMM C[m,n] = A[m,k] W[k,n] with W in `fmt`; `shape`: the other GemmShape fields. A batched GEMM
    (`batch_count` b > 1: b independent [m,k] x [k, n/b] products, n and the weights summed over them)
    reads b inputs of [m, k]."""
    wbytes = n * k * fmt.bytes_per_element  # operators: floats stay floats, arrays broadcast
    a_in = step.gemm_in_bytes if in_bytes is None else in_bytes
    inputs = m * k * a_in * shape.get("batch_count", 1)
    return Op(name=name, group=at.group, block=at.block, count=float(at.count), flops=2.0 * (m * n) * k,
              bytes_read=wbytes + inputs, bytes_written=m * n * step.act_bytes, weight_bytes=wbytes,
              compute=compute, shard=shard, shape=GemmShape(m, n, k, **shape))


_FUSABLE, _UNFUSED = MemoryShape(fusable=True), MemoryShape(fusable=False)  # payloads are immutable: shared


def memory(name: str, at: Site, read, written, fusable: bool = True, flops=0.0,
           shard: str = "replicated", **shape) -> Op:
    """A bytes-bound elementwise op (norm, rope, activation, residual add, quantize); `shape`: the
    other MemoryShape fields."""
    payload = MemoryShape(fusable=fusable, **shape) if shape else _FUSABLE if fusable else _UNFUSED
    return Op(name=name, group=at.group, block=at.block, count=float(at.count), flops=flops, bytes_read=read,
              bytes_written=written, shard=shard, shape=payload)


def quantize(name: str, at: Site, elements, step: Step) -> list[Op]:
    """Quantize op before a GEMM when activations are fp8/fp4/int8 (fused into the producer)."""
    if not step.act_quantized:
        return []
    return [memory(name, at, np.multiply(elements, step.act_bytes),
                   np.multiply(elements, step.gemm_in_bytes), fusable=True)]


def causal_pairs(a, b):
    f = lambda n: n * (n + 1.0) / 2.0  # noqa: E731
    return f(np.asarray(b, float)) - f(np.asarray(a, float))


def window_pairs(a, b, w: float):
    def g(n):
        n = np.asarray(n, float)
        return np.where(n <= w, n * (n + 1.0) / 2.0, w * (w + 1.0) / 2.0 + (n - w) * w)
    return g(b) - g(a)


def chunk_pairs(a, b, c: float):
    def g(n):
        n = np.asarray(n, float)
        full, rem = np.floor(n / c), np.mod(n, c)
        return full * c * (c + 1.0) / 2.0 + rem * (rem + 1.0) / 2.0
    return g(b) - g(a)


def compressed_pairs(a, b, r: float, cap: float = np.inf):
    """Sum over queries of min(compressed entries visible, cap); entries = floor((p+1)/r)."""
    def h(n):
        n = np.asarray(n, float)
        m, t = np.floor(n / r), np.mod(n, r)
        return r * m * (m - 1.0) / 2.0 + m * (t + 1.0)

    def hc(n):
        n = np.asarray(n, float)
        if not np.isfinite(cap):
            return h(n)
        q0 = cap * r
        return h(np.minimum(n, q0 - 1.0)) + cap * np.maximum(0.0, n - q0 + 1.0)
    return hc(b) - hc(a)


def attention_op(name: str, at: Site, step: Step, *, pairs, heads_q: int, heads_kv: int,
                 head_dim: int, head_dim_v: int, kv_read, kv_bytes_key: float, variant: str,
                 kv_bytes_per_token_layer: float, q_bytes: float | None = None, **shape) -> Op:
    """Softmax attention: FLOPs 2*B*pairs*Nq*(Hqk + Hv); bytes Q + distinct KV read + O.
    `shape`: the optional AttentionShape fields (window, sparse_topk, sinks, ...)."""
    B = step.B
    flops = 2.0 * np.multiply(B, pairs) * heads_q * (head_dim + head_dim_v)
    q_in = np.multiply(step.T, heads_q * head_dim) * (step.act_bytes if q_bytes is None else q_bytes)
    kv_bytes_read = np.multiply(B, kv_read) * kv_bytes_key
    read = q_in + kv_bytes_read
    written = np.multiply(step.T, heads_q * head_dim_v) * step.act_bytes
    payload = AttentionShape(phase=step.phase, variant=variant, batch=B, seqlen_q=step.S, seqlen_kv=step.end,
                             heads_q=heads_q, heads_kv=heads_kv, head_dim=head_dim, head_dim_v=head_dim_v,
                             causal=step.prefill, pairs=pairs, kv_tokens_read=kv_read, kv_read_bytes=kv_bytes_read,
                             kv_bytes_per_token_layer=kv_bytes_per_token_layer, **shape)
    return Op(name=name, group=at.group, block=at.block, count=float(at.count), flops=flops, bytes_read=read,
              bytes_written=written, shard="heads", shape=payload)

