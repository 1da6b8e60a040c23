"""What a config.json holds that the model layer does not model: one short sentence each.

These go to `ModelSpec.not_modelled` and are shown by `hundredx model show`, so a prediction
never hides that, e.g., a vision tower or multi-token-prediction layers were left out.
"""

from __future__ import annotations

from typing import Any


def _mtp(cfg: dict) -> str | None:
    n = cfg.get("num_nextn_predict_layers") or cfg.get("mtp_num_hidden_layers") or cfg.get("num_mtp_modules")
    if n:
        return f"{n} multi-token-prediction (MTP) module(s): weights not counted, no speculative-decoding ops."
    return None


def not_modelled(cfg: dict, outer: dict, spec: Any) -> tuple[str, ...]:
    """Sentences naming config features outside the op graph and the parameter counts."""
    out: list[str] = []
    if isinstance(outer, dict) and outer.get("vision_config"):
        out.append("Vision tower and multimodal projector (vision_config): not counted, no image-encoder ops.")
    mtp = _mtp(cfg)
    if mtp:
        out.append(mtp)
    if spec.hc_mult > 1:
        out.append(f"Hyper-connections (hc_mult={spec.hc_mult}): residual stream {spec.hc_mult}x wide and its mixing "
                   f"GEMMs are modelled; the Sinkhorn normalisation (hc_sinkhorn_iters) is not.")
    if cfg.get("num_hash_layers"):
        out.append(f"Hash routing of the first {cfg['num_hash_layers']} MoE layers: token-id lookup table "
                   f"(tid2eid) not counted as parameters; expert load assumed uniform.")
    if cfg.get("compress_ratios"):
        out.append("DeepSeek-V4 compressor state (up to ratio pending tokens per sequence) and the fp8/bf16 split of "
                   "the KV entry are approximated: KV stored in the kv format.")
    if spec.moe is not None:
        parts = []
        if cfg.get("n_group") and cfg.get("n_group", 1) > 1:
            parts.append(f"group-limited routing (n_group={cfg['n_group']}, topk_group={cfg.get('topk_group')})")
        parts.append("expert load imbalance within a rank beyond the runtime's moe_routing (across EP ranks: "
                     "kernel/ep_load.py)")
        out.append("MoE " + " and ".join(parts) + " not modelled.")
    if cfg.get("rope_scaling") or cfg.get("rope_parameters"):
        out.append("RoPE scaling variant (yarn/llama3/linear/mrope) does not change FLOPs; "
                   "only rotary cost is counted.")
    if cfg.get("swiglu_limit") or cfg.get("clip_qkv"):
        out.append("Activation clamping (swiglu_limit/clip_qkv) not modelled as extra work.")
    if spec.attention.sinks:
        out.append("Attention sinks: per-head sink logits counted as parameters, no extra attention work.")
    if cfg.get("use_mtp") and not mtp:
        out.append("MTP layers (use_mtp): not counted.")
    return tuple(out)
