"""`ModelSpec`: the architecture of one decoder-only transformer, as frozen data.

Vocabulary (docs/design.md, rule 4): D hidden, F dense FFN width, N query heads, K KV heads,
H head dim, L layers, V vocab, E routed experts, k active experts per token.
Per-layer structure is a tuple of `LayerKind(attn, ffn, compress_ratio)` so the op graph
can group layers of identical structure (one op list per group, `count` = layers in it).

attn kinds: "full" (causal over the whole context; MHA/GQA/MQA or MLA, per `attention.kind`),
"sliding" (window of `attention.sliding_window` keys), "chunked" (Llama-4 local attention,
keys of the same `attention.chunk_size` chunk), "sparse" (DeepSeek DSA: an indexer picks
`index_topk` keys), "linear" (Gated DeltaNet, fixed recurrent state), "csa"/"hca"
(DeepSeek-V4 compressed-sparse / heavily-compressed attention, ratio `compress_ratio`).
ffn kinds: "dense" (gated MLP of width F), "moe" (routed + shared experts), "moe_hash"
(DeepSeek-V4 hash-routed MoE: experts chosen by token id, no router GEMM).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hundredx.model.quant import QuantScheme

ATTN_KINDS = ("full", "sliding", "chunked", "sparse", "linear", "csa", "hca")
FFN_KINDS = ("dense", "moe", "moe_hash")


@dataclass(frozen=True, slots=True)
class LayerKind:
    """Structure of one decoder layer: attention kind, FFN kind, KV compression ratio."""

    attn: str
    ffn: str
    compress_ratio: int = 0

    def __post_init__(self) -> None:
        if self.attn not in ATTN_KINDS:
            raise ValueError(f"layer attn={self.attn!r} not in {ATTN_KINDS}")
        if self.ffn not in FFN_KINDS:
            raise ValueError(f"layer ffn={self.ffn!r} not in {FFN_KINDS}")

    @property
    def key(self) -> str:
        ratio = f"{self.compress_ratio}" if self.compress_ratio else ""
        return f"{self.attn}{ratio}/{self.ffn}"


@dataclass(frozen=True, slots=True)
class AttentionSpec:
    """Softmax-attention geometry shared by every attention layer of a model.

    kind: "mha" (K == N), "gqa" (1 < K < N), "mqa" (K == 1), "mla" (DeepSeek latent KV,
    kv_lora_rank > 0), "compressed" (DeepSeek-V4: one shared 512-wide KV head, compressed KV,
    grouped low-rank output projection).
    """

    kind: str
    num_heads: int
    num_kv_heads: int
    head_dim: int
    head_dim_v: int
    qkv_bias: bool = False
    o_bias: bool = False
    qk_norm: bool = False
    output_gate: bool = False
    sinks: bool = False
    sliding_window: int = 0
    chunk_size: int = 0
    q_lora_rank: int = 0
    kv_lora_rank: int = 0
    qk_nope_head_dim: int = 0
    qk_rope_head_dim: int = 0
    v_head_dim: int = 0
    index_n_heads: int = 0
    index_head_dim: int = 0
    index_topk: int = 0
    o_lora_rank: int = 0
    o_groups: int = 0

    def __post_init__(self) -> None:
        if self.kind not in ("mha", "gqa", "mqa", "mla", "compressed"):
            raise ValueError(f"attention kind={self.kind!r} unknown")
        if min(self.num_heads, self.num_kv_heads, self.head_dim) <= 0:
            raise ValueError(f"attention heads={self.num_heads}, kv_heads={self.num_kv_heads}, "
                             f"head_dim={self.head_dim} must be positive")
        if self.num_heads % self.num_kv_heads:
            raise ValueError(f"num_heads={self.num_heads} not a multiple of num_kv_heads={self.num_kv_heads}")

    @property
    def qk_head_dim(self) -> int:
        """Per-head query/key width of the (non-absorbed) attention product."""
        if self.kind == "mla":
            return self.qk_nope_head_dim + self.qk_rope_head_dim
        return self.head_dim

    @property
    def has_indexer(self) -> bool:
        return self.index_n_heads > 0 and self.index_topk > 0


@dataclass(frozen=True, slots=True)
class LinearAttnSpec:
    """Gated DeltaNet (Yang et al. 2024, arXiv:2412.06464) as in Qwen3-Next / Qwen3.5.

    State per layer per sequence: num_value_heads x key_head_dim x value_head_dim in
    `state_bytes_per_element` (fp32: `mamba_ssm_dtype`), plus the causal-conv state
    conv_dim x (conv_kernel - 1) in the activation dtype.
    """

    num_key_heads: int
    num_value_heads: int
    key_head_dim: int
    value_head_dim: int
    conv_kernel: int
    state_bytes_per_element: float = 4.0

    @property
    def conv_dim(self) -> int:
        return 2 * self.num_key_heads * self.key_head_dim + self.num_value_heads * self.value_head_dim


@dataclass(frozen=True, slots=True)
class MoESpec:
    """Routed experts (E, k, expert width) plus shared experts (always active)."""

    num_experts: int
    top_k: int
    expert_width: int
    num_shared: int = 0
    shared_width: int = 0
    shared_gate: bool = False
    router_bias: bool = False
    expert_bias: bool = False
    scoring: str = "softmax"
    n_group: int = 1      # expert groups of node-limited routing (DeepSeek-V3: 8; config n_group)
    topk_group: int = 0   # groups a token may route to (DeepSeek-V3: 4; 0 = no limit)

    def __post_init__(self) -> None:
        if not 0 < self.top_k <= self.num_experts:
            raise ValueError(f"moe top_k={self.top_k} must be in 1..num_experts={self.num_experts}")
        if self.expert_width <= 0:
            raise ValueError(f"moe expert_width={self.expert_width} must be positive")

    @property
    def shared_total_width(self) -> int:
        return self.num_shared * self.shared_width


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """One model: shapes from config.json only (docs/design.md, rule 3)."""

    id: str
    model_type: str
    num_layers: int
    hidden_size: int
    vocab_size: int
    intermediate_size: int
    attention: AttentionSpec
    layers: tuple[LayerKind, ...]
    quant: QuantScheme
    moe: MoESpec | None = None
    linear: LinearAttnSpec | None = None
    tie_embeddings: bool = False
    norms_per_layer: int = 2
    hc_mult: int = 1
    max_position_embeddings: int = 0
    rope_scaling: str = ""  # config.json's RoPE extension, e.g. "yarn x40 from 4096" ("" = none declared)
    not_modelled: tuple[str, ...] = ()
    source: str = ""
    _groups: dict[LayerKind, int] = field(init=False, repr=False, compare=False)  # set by __post_init__
    _memo: dict = field(default_factory=dict, init=False, repr=False, compare=False)  # derived values, per instance

    def __post_init__(self) -> None:
        groups: dict[LayerKind, int] = {}
        for kind in self.layers:
            groups[kind] = groups.get(kind, 0) + 1
        object.__setattr__(self, "_groups", groups)  # derived once: build_ops reads it every forward pass
        if len(self.layers) != self.num_layers:
            raise ValueError(f"model {self.id}: {len(self.layers)} layer kinds for num_layers={self.num_layers}")
        if min(self.hidden_size, self.vocab_size, self.num_layers) <= 0:
            raise ValueError(f"model {self.id}: hidden_size={self.hidden_size}, vocab_size={self.vocab_size}, "
                             f"num_layers={self.num_layers} must be positive")
        if any(k.ffn != "dense" for k in self.layers) and self.moe is None:
            raise ValueError(f"model {self.id}: MoE layers without a MoE spec")
        if any(k.attn == "linear" for k in self.layers) and self.linear is None:
            raise ValueError(f"model {self.id}: linear-attention layers without a LinearAttnSpec")

    @property
    def num_heads(self) -> int:
        return self.attention.num_heads

    @property
    def num_kv_heads(self) -> int:
        return self.attention.num_kv_heads

    @property
    def head_dim(self) -> int:
        return self.attention.head_dim

    @property
    def groups(self) -> dict[LayerKind, int]:
        """Distinct layer kinds -> number of layers of that kind, in first-seen order."""
        return dict(self._groups)
