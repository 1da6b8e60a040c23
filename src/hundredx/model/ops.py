"""The op record shared by the MODEL and KERNEL layers: pure data, no chip knowledge.

An `Op` is one kernel-sized piece of a forward pass, repeated `count` times (once per
layer of its layer group). Shape fields may be numpy arrays (one entry per configuration
of a sweep), so one code path serves a single prediction and a million-row table.
FLOPs and bytes are *global* (unsharded) and per single instance; the kernel layer shards
them by `tp`/`ep` using `shard` and inserts the collectives.

kinds: gemm (C[m,n] = A[m,k] B[k,n], B is the weight), grouped_gemm (MoE experts:
`attrs` has groups, tokens_per_group or tokens_total, top_k), attention (`attrs` has
batch, seqlen_q, seqlen_kv, heads_q, heads_kv, head_dim, head_dim_v, causal, variant,
kv_bytes_per_token_layer, window, sparse_topk), memory (norms, rope, activations,
residual adds, quantize: bytes-bound), embedding (gather), recurrent (linear-attention
state update), router (MoE gate softmax/top-k).
shard: how tensor parallelism splits the op: "column" (n/tp), "row" (k/tp, then an
all-reduce of the output), "heads" (attention heads/tp), "experts" (groups/ep and
n/tp inside an expert), "replicated", "vocab" (LM head n/tp + gather).

block (a required field): "attention" for every op of the attention block (norm, QKV/MLA
projections, rope, attention, O projection, indexer), "ffn" for dense MLP / MoE ops (router,
experts, shared experts, activation), "embed", "head".

attrs conventions the kernel layer's sharding relies on (set them in every builder):
- attention: attrs["kv_read_bytes"] = the KV-cache bytes the op reads (part of bytes_read).
- grouped_gemm: attrs["stage"] = "up" (gate+up, N split by moe tp) or "down" (K split);
  attrs["tokens"] = tokens routed (before top-k replication).
- gemm inside shared experts: attrs["shared_expert"] = True.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

ArrayLike = Any  # float or np.ndarray; ops broadcast over configurations

OP_KINDS = ("gemm", "grouped_gemm", "attention", "memory", "embedding", "recurrent", "router")
SHARDS = ("column", "row", "heads", "experts", "replicated", "vocab")
BLOCKS = ("attention", "ffn", "embed", "head")


@dataclass(frozen=True, slots=True)
class Op:
    name: str
    kind: str
    group: str
    block: str
    count: float
    flops: ArrayLike
    bytes_read: ArrayLike
    bytes_written: ArrayLike
    weight_bytes: ArrayLike = 0.0
    compute: str = "bf16"
    shard: str = "replicated"
    m: ArrayLike = 0.0
    n: ArrayLike = 0.0
    k: ArrayLike = 0.0
    attrs: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in OP_KINDS:
            raise ValueError(f"op {self.name}: kind={self.kind!r} not in {OP_KINDS}")
        if self.shard not in SHARDS:
            raise ValueError(f"op {self.name}: shard={self.shard!r} not in {SHARDS}")
        if self.block not in BLOCKS:
            raise ValueError(f"op {self.name}: block={self.block!r} not in {BLOCKS}")
        count = self.count
        negative = count < 0 if isinstance(count, (int, float)) else np.any(np.asarray(count) < 0)
        if negative:
            raise ValueError(f"op {self.name}: count={self.count} is negative")

    def replace(self, **changes) -> "Op":
        """A copy with `changes` (dataclasses.replace without its generic machinery: sharding makes
        one per op per forward pass)."""
        new = object.__new__(Op)
        put = object.__setattr__
        for name in _FIELDS:
            put(new, name, changes[name] if name in changes else getattr(self, name))
        new.__post_init__()
        return new

    @property
    def bytes_total(self) -> ArrayLike:
        return self.bytes_read + self.bytes_written


_FIELDS = tuple(Op.__dataclass_fields__)
