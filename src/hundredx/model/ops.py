"""The op record shared by the MODEL and KERNEL layers: pure data, no chip knowledge.

An `Op` is one kernel-sized piece of a forward pass, repeated `count` times (once per
layer of its layer group). Its common fields are global (unsharded) FLOPs and bytes per
single instance; the kernel layer shards them by `tp`/`ep` using `shard` and inserts the
collectives. Shape fields may be numpy arrays (one entry per configuration of a sweep), so
one code path serves a single prediction and a million-row table.

The op's kind-specific shape is its typed payload `shape`, one frozen dataclass per kind;
`op.kind` is the payload's class attribute, so an op's kind and shape cannot disagree and a
misspelt field fails when the op is built:
  GemmShape        gemm: C[m,n] = A[m,k] W[k,n], W the weight
  ExpertGemmShape  grouped_gemm: the MoE experts' GEMMs (gate+up or down) over routed tokens
  AttentionShape   attention: softmax attention of new tokens over the context (and the DSA indexer)
  MemoryShape      memory: norms, rope, activations, residual adds, KV writes, quantize (bytes-bound)
  EmbeddingShape   embedding: the token-embedding gather
  RouterShape      router: MoE gate softmax/sigmoid + top-k
  RecurrentShape   recurrent: a linear-attention state update (Gated DeltaNet)
Ops and payloads are never changed in place: `replace(**changes)` makes a changed copy
(fast; sharding makes one per op per forward pass).

shard: how tensor parallelism splits the op: "column" (n/tp), "row" (k/tp, then an
all-reduce of the output), "heads" (attention heads/tp), "experts" (groups/ep and
n/tp inside an expert), "replicated", "vocab" (LM head n/tp + gather).
block: "attention" for every op of the attention block (norm, QKV/MLA projections, rope,
attention, O projection, indexer), "ffn" for dense MLP / MoE ops (router, experts, shared
experts, activation), "embed", "head". Sharding uses it (attention-DP splits the attention
block's tokens), and so does attention/FFN disaggregation (each side prices its blocks).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

import numpy as np

from hundredx.arrays import ArrayLike  # ops broadcast over configurations

SHARDS = ("column", "row", "heads", "experts", "replicated", "vocab")
BLOCKS = ("attention", "ffn", "embed", "head")
PHASES = ("prefill", "decode")
STAGES = ("up", "down")
ATTENTION_VARIANTS = ("mha", "gqa", "mla", "sliding", "sparse", "compressed", "indexer")
MLA_FORMS = ("", "expanded", "absorbed")


_KEEP = object()  # a replace() argument not given: the field keeps its value
_set = object.__setattr__  # sets a field of a frozen dataclass (as its generated __init__ does)


def _replace_method(cls: type, names: tuple[str, ...]):
    """`cls.replace(**changes)`: a validated copy of a frozen slots dataclass with `changes`, generated
    per class as dataclasses generates __init__ (dataclasses.replace without its generic machinery:
    sharding makes one per op and payload per forward pass). An unknown field is a TypeError."""
    params = ", ".join(f"{name}=_KEEP" for name in names)
    body = "".join(f"    _set(new, {name!r}, self.{name} if {name} is _KEEP else {name})\n" for name in names)
    src = f"def replace(self, *, {params}):\n    new = _new(_cls)\n{body}    new.__post_init__()\n    return new\n"
    namespace: dict[str, Any] = {"_KEEP": _KEEP, "_new": object.__new__, "_set": _set, "_cls": cls}
    exec(src, namespace)  # a fixed template over the class's own field names
    method = namespace["replace"]
    method.__qualname__ = f"{cls.__name__}.replace"
    method.__doc__ = "A copy with the given fields changed (validated like a new instance)."
    return method


class Shape:
    """Base of the per-kind payloads: `kind` is the op kind the payload belongs to."""

    __slots__ = ()
    kind: ClassVar[str] = ""
    _names: ClassVar[tuple[str, ...]] = ()

    def __post_init__(self) -> None:
        pass

    # replace(**changes): a changed copy; generated per payload class (_replace_method)
    replace: ClassVar[Callable[..., Any]]

    def values(self) -> tuple:
        """The field values in field order."""
        return tuple(map(self.__getattribute__, self._names))


def _one_of(owner: Shape, name: str, allowed: tuple) -> None:
    value = getattr(owner, name)
    if value not in allowed:
        raise ValueError(f"{type(owner).__name__}.{name}={value!r} not in {allowed}")


@dataclass(frozen=True, slots=True)
class GemmShape(Shape):
    """C[m,n] = A[m,k] W[k,n] with W the weight."""

    kind: ClassVar[str] = "gemm"
    m: ArrayLike  # rows of A: tokens
    n: ArrayLike  # output features (columns of W; after sharding: this device's)
    k: ArrayLike  # reduction dim: input features (after sharding: this device's)
    batch_count: int = 1  # independent GEMMs in one batched launch, each [m,k] x [k, n/batch_count]
    # (MLA absorbed q/o: one per head; DeepSeek-V4 W_oa: one per head group); 1: a plain GEMM
    shared_expert: bool = False  # a MoE shared expert's GEMM (its output joins the routed experts' all-reduce)


@dataclass(frozen=True, slots=True)
class ExpertGemmShape(Shape):
    """The routed experts' GEMMs of one MoE layer stage, one grouped launch over all local experts."""

    kind: ClassVar[str] = "grouped_gemm"
    stage: str  # "up" (gate+up: n splits over moe_tp) or "down" (k splits over moe_tp)
    n: ArrayLike  # output features of one expert's GEMM (after sharding: this device's)
    k: ArrayLike  # reduction dim of one expert's GEMM (after sharding: this device's)
    groups: ArrayLike  # experts (the model's routed experts; after sharding: this device's)
    top_k: int  # experts each token is routed to
    tokens: ArrayLike  # tokens entering the layer, before top-k replication (after sharding: those
    # reaching this EP group)
    tokens_total: ArrayLike  # expert rows = tokens * top_k, summed over experts (after sharding: this
    # device's, routing imbalance included)
    experts_touched: ArrayLike  # expected distinct experts with at least one token (their weights are read)
    expert_width: int  # the model's expert intermediate width
    moe_tp: ArrayLike = 1.0  # tensor parallelism inside one expert (set by sharding)
    n_group: int = 1  # node-limited routing: expert groups (MoESpec.n_group)
    topk_group: int = 0  # groups a token may reach (0 = no limit)

    def __post_init__(self) -> None:
        _one_of(self, "stage", STAGES)


@dataclass(frozen=True, slots=True)
class AttentionShape(Shape):
    """Softmax attention of `seqlen_q` new tokens per sequence over the context (and the DSA
    indexer's scoring, variant "indexer")."""

    kind: ClassVar[str] = "attention"
    phase: str  # "prefill" (more than one new token per sequence) or "decode"
    variant: str  # mha, gqa, mla (latent cache), sliding (window or chunk), sparse (top-k keys: DSA, V4 CSA),
    # compressed (DeepSeek-V4 HCA), indexer (DSA scoring)
    batch: ArrayLike  # sequences (after attention-DP sharding: this rank's)
    seqlen_q: ArrayLike  # new (query) tokens per sequence
    seqlen_kv: ArrayLike  # context after the step (cached + new tokens)
    heads_q: ArrayLike  # query heads (after sharding: this rank's)
    heads_kv: ArrayLike  # key/value heads (1: MQA or a shared MLA latent)
    head_dim: int  # query/key head dim
    head_dim_v: int  # value head dim (0: no values, the DSA indexer)
    causal: bool  # causal mask among the new tokens (prefill)
    pairs: ArrayLike  # (query, key) pairs per sequence and head (model/ops_common.py)
    kv_tokens_read: ArrayLike  # distinct cached tokens (or compressed entries) read per sequence
    kv_read_bytes: ArrayLike  # KV-cache bytes read, part of bytes_read (after sharding: this rank's)
    kv_bytes_per_token_layer: float  # KV-cache bytes per token in this layer (0: the kernel model derives it)
    window: int = 0  # sliding window or local-attention chunk (0: none)
    sparse_topk: int = 0  # keys kept per query by a DSA indexer (0: dense)
    sinks: bool = False  # learned per-head attention sinks (no extra work)
    chunked: bool = False  # chunked local attention (Llama 4): `window` is the chunk
    mla_form: str = ""  # MLA: "expanded" (latent expanded by kv_b, prefill) or "absorbed" (FlashMLA); "" otherwise
    compress_ratio: int = 0  # DeepSeek-V4: tokens pooled into one compressed KV entry (0: none)

    def __post_init__(self) -> None:
        _one_of(self, "phase", PHASES)
        _one_of(self, "variant", ATTENTION_VARIANTS)
        _one_of(self, "mla_form", MLA_FORMS)

    @property
    def seqlen_kv_eff(self) -> ArrayLike:
        """Keys per query on average: pairs / seqlen_q."""
        return np.divide(self.pairs, np.maximum(self.seqlen_q, 1))


@dataclass(frozen=True, slots=True)
class MemoryShape(Shape):
    """A bytes-bound op: its bytes and FLOPs are the Op's; the memory model runs it as rmsnorm
    (any op named *norm*) or copy."""

    kind: ClassVar[str] = "memory"
    fusable: bool = True  # fused into a neighbouring kernel under runtime.fused (norms, rope, activations, ...)
    top_k: int = 0  # a top-k select (the DSA indexer's): entries kept per query; 0 otherwise


@dataclass(frozen=True, slots=True)
class EmbeddingShape(Shape):
    """The token-embedding gather."""

    kind: ClassVar[str] = "embedding"
    rows: ArrayLike  # token ids looked up (one embedding row each)


@dataclass(frozen=True, slots=True)
class RouterShape(Shape):
    """A MoE gate: scores over the experts and top-k selection per token."""

    kind: ClassVar[str] = "router"
    experts: int  # routed experts scored
    top_k: int  # experts picked per token
    scoring: str  # "softmax" or "sigmoid" (config scoring_func)
    hash_routed: bool = False  # experts picked by a token-id hash (the first layers of DeepSeek-V4)


@dataclass(frozen=True, slots=True)
class RecurrentShape(Shape):
    """A linear-attention state update (Gated DeltaNet): fixed state per sequence, read and written once."""

    kind: ClassVar[str] = "recurrent"
    variant: str  # "gated_deltanet"
    phase: str  # "prefill" (chunkwise kernel) or "decode" (one recurrence step)
    batch: ArrayLike  # sequences
    seqlen_q: ArrayLike  # new tokens per sequence
    value_heads: int  # value heads (state heads)
    key_heads: int  # query/key heads
    key_head_dim: int  # query/key head dim
    value_head_dim: int  # value head dim
    chunk: int  # chunk length of the chunkwise prefill kernel (0 in decode)
    state_bytes_per_seq: float  # recurrent + conv state bytes per sequence in this layer

    def __post_init__(self) -> None:
        _one_of(self, "phase", PHASES)


SHAPES = (GemmShape, ExpertGemmShape, AttentionShape, MemoryShape, EmbeddingShape, RouterShape, RecurrentShape)
_SHAPE_TYPES = frozenset(SHAPES)
OP_KINDS = tuple(cls.kind for cls in SHAPES)
for _cls in SHAPES:
    _cls._names = tuple(f.name for f in fields(_cls))
    _cls.replace = _replace_method(_cls, _cls._names)


@dataclass(frozen=True, slots=True, kw_only=True)
class Op:
    """One kernel-sized op of a forward pass; `kind` comes from the payload `shape`."""

    name: str  # e.g. "attn.qkv", "moe.gate_up" (unique within a layer group)
    group: str  # layer group key (layers of one LayerKind), "embed" or "head"
    block: str  # attention / ffn / embed / head (see module docstring)
    count: ArrayLike  # instances per forward pass (layers in the group; after pipeline sharding: per stage)
    flops: ArrayLike  # FLOPs of one instance
    bytes_read: ArrayLike  # bytes read by one instance (weights included)
    bytes_written: ArrayLike  # bytes written by one instance
    shape: Shape  # the kind's typed payload
    weight_bytes: ArrayLike = 0.0  # weight bytes read (part of bytes_read)
    compute: str = "bf16"  # compute class of the math (bf16, fp8, fp4, fp32, ...)
    shard: str = "replicated"  # tensor-parallel split (see module docstring)
    kind: str = field(init=False)  # gemm, grouped_gemm, attention, memory, embedding, router or recurrent: the
    # payload's kind, set from `shape` on construction and on every replace (never passed)

    def __post_init__(self) -> None:
        shape = self.shape
        if type(shape) not in _SHAPE_TYPES:
            raise TypeError(f"op {self.name}: shape={shape!r} is not one of {[c.__name__ for c in SHAPES]}")
        _set(self, "kind", shape.kind)
        if self.shard not in SHARDS:
            raise ValueError(f"op {self.name}: shard={self.shard!r} not in {SHARDS}")
        if self.block not in BLOCKS:
            raise ValueError(f"op {self.name}: block={self.block!r} not in {BLOCKS}")
        count = self.count
        negative = count < 0 if isinstance(count, (int, float)) else np.any(np.asarray(count) < 0)
        if negative:
            raise ValueError(f"op {self.name}: count={self.count} is negative")

    # replace(**changes): a changed copy, validated; generated below (_replace_method)
    replace: ClassVar[Callable[..., Op]]

    @property
    def bytes_total(self) -> ArrayLike:
        return self.bytes_read + self.bytes_written


Op.replace = _replace_method(Op, tuple(f.name for f in fields(Op) if f.init))  # `kind` follows `shape`
