"""Parse a Hugging Face `config.json` (already loaded as a dict) into a `ModelSpec`.

Covers dense Llama/Qwen/Mistral/Gemma-3, MoE (Mixtral, Qwen3-MoE, OLMoE, DeepSeek-V2/V3/R1,
Kimi-K2, gpt-oss, Llama-4, MiniMax-M2, GLM-5), MLA, DSA sparse attention (V3.2, GLM-5),
DeepSeek-V4 compressed attention, Gated-DeltaNet hybrids (Qwen3-Next, Qwen3.5). Multimodal
configs are read through `text_config`. Missing keys take the transformers config-class
defaults (Gemma3TextConfig for Gemma-3: vocab 262208, sliding_window_pattern 6, tied
embeddings). Every value a user gave that is wrong raises InputError("config.<key>", value).
"""

from __future__ import annotations

from typing import Any

from hundredx.errors import InputError
from hundredx.model.quant import scheme_from_config
from hundredx.model.spec import AttentionSpec, LayerKind, LinearAttnSpec, ModelSpec, MoESpec

_GEMMA3_DEFAULTS = {"vocab_size": 262208, "sliding_window_pattern": 6, "tie_word_embeddings": True,
                    "max_position_embeddings": 131072, "rope_theta": 1e6, "num_key_value_heads": 16,
                    "head_dim": 256, "sliding_window": 4096}


# Upper bounds of config integers: far above any published model, low enough that a hostile
# config cannot make the op graph or the accounting explode (layers x widths stay in float range).
LIMITS = {"num_hidden_layers": 4096, "vocab_size": 1 << 24, "max_position_embeddings": 1 << 30,
          "n_routed_experts": 1 << 16, "num_local_experts": 1 << 16, "num_experts": 1 << 16}
DEFAULT_LIMIT = 1 << 22  # widths, heads, ranks, windows: 4M


def _rope_scaling(cfg: dict) -> str:
    """config.json's RoPE context extension as text ("yarn x40 from 4096"), "" when none is declared.
    HF convention: max_position_embeddings already counts the extension (DeepSeek-V3: 4096 x 40 = 163840)."""
    rs = cfg.get("rope_scaling") or cfg.get("rope_parameters")
    if not isinstance(rs, dict):
        return ""
    kind = str(rs.get("rope_type") or rs.get("type") or "")
    factor, orig = rs.get("factor"), rs.get("original_max_position_embeddings")
    if kind in ("", "default") or not isinstance(factor, (int, float)) or isinstance(factor, bool):
        return ""
    return f"{kind} x{factor:g}" + (f" from {int(orig)}" if isinstance(orig, (int, float)) and orig > 0 else "")


def _int(cfg: dict, key: str, default: Any = None, minimum: int = 0) -> int:
    value = cfg.get(key, default)
    if value is None:
        if default is None:
            raise InputError(f"config.{key}", None, "required key is missing")
        value = default
    limit = LIMITS.get(key, DEFAULT_LIMIT)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not minimum <= value <= limit \
            or value != int(value):
        raise InputError(f"config.{key}", value, f"must be an integer in [{minimum}, {limit}]")
    return int(value)


def text_config(cfg: Any) -> dict:
    """The language-model part of a (possibly multimodal) config, with model-family defaults."""
    if not isinstance(cfg, dict):
        raise InputError("config", type(cfg).__name__, "config.json must hold a JSON object")
    text = cfg.get("text_config")
    if text is not None and not isinstance(text, dict):
        raise InputError("config.text_config", type(text).__name__, "must be a JSON object")
    out = dict(text) if text else dict(cfg)
    if str(out.get("model_type", cfg.get("model_type", ""))).startswith("gemma3"):
        out = {**_GEMMA3_DEFAULTS, **out}
    out.setdefault("model_type", cfg.get("model_type", ""))
    if "tie_word_embeddings" not in out and "tie_word_embeddings" in cfg:
        out["tie_word_embeddings"] = cfg["tie_word_embeddings"]
    return out


def _layer_attn(cfg: dict, n_layers: int) -> list[str]:
    """Per-layer attention kind from layer_types / patterns / intervals."""
    mt = str(cfg.get("model_type", ""))
    types = cfg.get("layer_types")
    if types is not None:
        if not isinstance(types, list) or len(types) != n_layers:
            raise InputError("config.layer_types", str(types)[:60], f"must be a list of {n_layers} entries")
        table = {"full_attention": "full", "sliding_attention": "sliding", "linear_attention": "linear",
                 "chunked_attention": "chunked"}
        bad = [t for t in types if t not in table]
        if bad:
            raise InputError("config.layer_types", bad[0], f"unknown layer type; known: {', '.join(table)}")
        return [table[t] for t in types]
    if "full_attention_interval" in cfg:
        step = _int(cfg, "full_attention_interval", minimum=1)
        return ["full" if (i + 1) % step == 0 else "linear" for i in range(n_layers)]
    if mt.startswith("gemma3"):
        step = _int(cfg, "sliding_window_pattern", minimum=1)
        return ["full" if (i + 1) % step == 0 else "sliding" for i in range(n_layers)]
    if mt.startswith("llama4") and cfg.get("attention_chunk_size"):
        nope = cfg.get("no_rope_layers") or [int((i + 1) % 4 != 0) for i in range(n_layers)]
        return ["chunked" if use_rope else "full" for use_rope in nope]
    if cfg.get("sliding_window") and cfg.get("use_sliding_window", mt in ("mistral", "mixtral")):
        first = _int(cfg, "max_window_layers", 0) if mt.startswith("qwen") else 0
        return ["sliding" if i >= first else "full" for i in range(n_layers)]
    return ["full"] * n_layers


def _attention(cfg: dict, hidden: int, layer_attn: list[str]) -> AttentionSpec:
    mt = str(cfg.get("model_type", ""))
    n = _int(cfg, "num_attention_heads", minimum=1)
    kv = _int(cfg, "num_key_value_heads", n, minimum=1)
    head = _int(cfg, "head_dim", hidden // n if hidden % n == 0 else None, minimum=1)
    if n % kv:
        raise InputError("config.num_key_value_heads", kv, f"must divide num_attention_heads={n}")
    windowed = "sliding" in layer_attn or "compress_ratios" in cfg
    common: dict[str, Any]  # AttentionSpec keywords of every attention kind
    common = dict(sliding_window=_int(cfg, "sliding_window", 0) if windowed else 0,
                  chunk_size=_int(cfg, "attention_chunk_size", 0) if "chunked" in layer_attn else 0,
                  index_n_heads=_int(cfg, "index_n_heads", 0), index_head_dim=_int(cfg, "index_head_dim", 0),
                  index_topk=_int(cfg, "index_topk", 0), q_lora_rank=_int(cfg, "q_lora_rank", 0))
    if "compress_ratios" in cfg:  # DeepSeek-V4: one shared KV head of width head_dim, rope inside it
        return AttentionSpec("compressed", n, kv, head, head, qk_norm=True, sinks=True,
                             qk_rope_head_dim=_int(cfg, "qk_rope_head_dim", 0),
                             o_lora_rank=_int(cfg, "o_lora_rank", minimum=1), o_groups=_int(cfg, "o_groups", minimum=1),
                             **common)
    if cfg.get("kv_lora_rank"):
        nope, rope = _int(cfg, "qk_nope_head_dim", minimum=1), _int(cfg, "qk_rope_head_dim", minimum=1)
        v = _int(cfg, "v_head_dim", minimum=1)
        return AttentionSpec("mla", n, n, nope + rope, v, kv_lora_rank=_int(cfg, "kv_lora_rank", minimum=1),
                             qk_nope_head_dim=nope, qk_rope_head_dim=rope, v_head_dim=v, **common)
    bias = bool(cfg.get("attention_bias", mt.startswith("qwen2")))
    qk_norm = mt.startswith(("qwen3", "gemma3", "olmoe", "minimax_m2")) or bool(cfg.get("use_qk_norm"))
    gate = bool(cfg.get("attn_output_gate", mt == "qwen3_next"))
    kind = "mha" if kv == n else ("mqa" if kv == 1 else "gqa")
    return AttentionSpec(kind, n, kv, head, head, qkv_bias=bias, o_bias=bias and mt == "gpt_oss", qk_norm=qk_norm,
                         output_gate=gate, sinks=mt == "gpt_oss", **common)


def _moe(cfg: dict) -> MoESpec | None:
    mt = str(cfg.get("model_type", ""))
    experts = cfg.get("n_routed_experts") or cfg.get("num_local_experts") or cfg.get("num_experts") or 0
    if not experts:
        return None
    width_key = "moe_intermediate_size" if "moe_intermediate_size" in cfg else "intermediate_size"
    shared_n, shared_w = 0, 0
    if cfg.get("n_shared_experts"):
        shared_n, shared_w = _int(cfg, "n_shared_experts"), _int(cfg, width_key)
    elif cfg.get("shared_expert_intermediate_size"):
        shared_n, shared_w = 1, _int(cfg, "shared_expert_intermediate_size")
    elif mt.startswith("llama4"):
        shared_n, shared_w = 1, _int(cfg, "intermediate_size")
    elif cfg.get("shared_intermediate_size"):
        shared_n, shared_w = 1, _int(cfg, "shared_intermediate_size")
    if _int(cfg, "num_experts_per_tok" if cfg.get("num_experts_per_tok") else "experts_per_token", minimum=1) > experts:
        raise InputError("config.num_experts_per_tok", cfg.get("num_experts_per_tok"), f"exceeds the {experts} experts")
    experts_key = next(k for k in ("n_routed_experts", "num_local_experts", "num_experts") if cfg.get(k))
    top_key = "num_experts_per_tok" if cfg.get("num_experts_per_tok") else "experts_per_token"
    return MoESpec(num_experts=_int(cfg, experts_key, minimum=1), top_k=_int(cfg, top_key, minimum=1),
                   expert_width=_int(cfg, width_key, minimum=1), num_shared=shared_n, shared_width=shared_w,
                   shared_gate=bool(cfg.get("shared_expert_intermediate_size")),
                   router_bias=(str(cfg.get("topk_method", "")) == "noaux_tc" or bool(cfg.get("use_routing_bias"))
                                or mt == "gpt_oss"),
                   expert_bias=mt == "gpt_oss", scoring=str(cfg.get("scoring_func", "softmax")),
                   n_group=_int(cfg, "n_group", 1, minimum=1) if cfg.get("n_group") else 1,
                   topk_group=_int(cfg, "topk_group", 0) if cfg.get("n_group") else 0)


def _layer_ffn(cfg: dict, n_layers: int, moe: MoESpec | None) -> list[str]:
    if moe is None:
        return ["dense"] * n_layers
    first_dense = _int(cfg, "first_k_dense_replace", 0)
    llama4 = str(cfg.get("model_type", "")).startswith("llama4")
    step = _int(cfg, "interleave_moe_layer_step", 1, minimum=1) if llama4 else 1
    sparse_step = _int(cfg, "decoder_sparse_step", 1, minimum=1)
    mlp_only = set(cfg.get("mlp_only_layers") or [])
    hash_layers = _int(cfg, "num_hash_layers", 0)
    out = []
    for i in range(n_layers):
        is_moe = i >= first_dense and (i + 1) % step == 0 and (i + 1) % sparse_step == 0 and i not in mlp_only
        out.append(("moe_hash" if i < hash_layers else "moe") if is_moe else "dense")
    return out


def _linear(cfg: dict) -> LinearAttnSpec | None:
    if "linear_num_value_heads" not in cfg:
        return None
    ssm = str(cfg.get("mamba_ssm_dtype", "float32"))
    return LinearAttnSpec(num_key_heads=_int(cfg, "linear_num_key_heads", minimum=1),
                          num_value_heads=_int(cfg, "linear_num_value_heads", minimum=1),
                          key_head_dim=_int(cfg, "linear_key_head_dim", minimum=1),
                          value_head_dim=_int(cfg, "linear_value_head_dim", minimum=1),
                          conv_kernel=_int(cfg, "linear_conv_kernel_dim", 4, minimum=1),
                          state_bytes_per_element=4.0 if "32" in ssm else 2.0)


def _compress_layers(cfg: dict, n_layers: int) -> list[tuple[str, int]] | None:
    ratios = cfg.get("compress_ratios")
    if ratios is None:
        return None
    if not isinstance(ratios, list) or len(ratios) < n_layers or any(not isinstance(r, int) or r < 0 for r in ratios):
        raise InputError("config.compress_ratios", str(ratios)[:60], f"must list >= {n_layers} non-negative integers")
    # DeepSeek-V4: 0 = sliding window only; 4 = compressed + indexer top-k (CSA); else heavily compressed (HCA).
    return [("sliding", 0) if r == 0 else (("csa" if cfg.get("index_topk") and r <= 4 else "hca"), r)
            for r in ratios[:n_layers]]


def spec_from_config(cfg_outer: Any, model_id: str, source: str = "") -> ModelSpec:
    """Build the ModelSpec of one config.json dict."""
    from hundredx.model.notes import not_modelled

    cfg = text_config(cfg_outer)
    n_layers = _int(cfg, "num_hidden_layers", minimum=1)
    hidden = _int(cfg, "hidden_size", minimum=1)
    vocab = _int(cfg, "vocab_size", minimum=1)
    attn_kinds = _layer_attn(cfg, n_layers)
    attention = _attention(cfg, hidden, attn_kinds)
    if attention.has_indexer and attention.kind == "mla":
        attn_kinds = ["sparse" if a == "full" else a for a in attn_kinds]
    compress = _compress_layers(cfg, n_layers)
    moe = _moe(cfg)
    ffn_kinds = _layer_ffn(cfg, n_layers, moe)
    if compress is not None:
        layers = tuple(LayerKind(a, f, r) for (a, r), f in zip(compress, ffn_kinds))
    else:
        layers = tuple(LayerKind(a, f) for a, f in zip(attn_kinds, ffn_kinds))
    dense_key = "intermediate_size_mlp" if "intermediate_size_mlp" in cfg else "intermediate_size"
    dense_width = _int(cfg, dense_key, 0) if "dense" in ffn_kinds else 0
    if "dense" in ffn_kinds and dense_width <= 0:
        raise InputError(f"config.{dense_key}", cfg.get(dense_key), "dense FFN layers need a positive width")
    mt = str(cfg.get("model_type", ""))
    spec = ModelSpec(
        id=model_id, model_type=mt, num_layers=n_layers, hidden_size=hidden, vocab_size=vocab,
        intermediate_size=dense_width, attention=attention, layers=layers,
        quant=scheme_from_config(cfg, cfg_outer, moe is not None), moe=moe, linear=_linear(cfg),
        tie_embeddings=bool(cfg.get("tie_word_embeddings", False)), norms_per_layer=4 if mt.startswith("gemma") else 2,
        hc_mult=_int(cfg, "hc_mult", 1, minimum=1), max_position_embeddings=_int(cfg, "max_position_embeddings", 0,
                                                                minimum=1 if "max_position_embeddings" in cfg else 0),
        rope_scaling=_rope_scaling(cfg), source=source)
    from dataclasses import replace

    return replace(spec, not_modelled=not_modelled(cfg, cfg_outer, spec))
