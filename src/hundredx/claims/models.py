"""Model-level claims: KV compression (MLA, V4), KV at 1M tokens, V4's FLOPs per token, the
memory:compute shift of reasoning workloads, speculative decoding's gain. Computed from the
model accounting and op graph (config.json only) and, for the workload claims, `predict`.
"""

from __future__ import annotations

from typing import Any

from hundredx.claims import EXACT, RANGE, SYSTEM, Claim, make


def mla_compression(cid, text, src) -> Claim:
    from hundredx.model import kv_bytes_per_token, load_model

    v3 = load_model("deepseek-ai/DeepSeek-V3", kv="bf16")
    llama = load_model("meta-llama/Llama-3.1-70B-Instruct", kv="bf16")
    a = v3.attention
    mla = a.kv_lora_rank + a.qk_rope_head_dim
    gqa = 2 * llama.num_kv_heads * llama.head_dim
    mha = a.num_heads * (a.qk_head_dim + a.v_head_dim)
    why = (f"per layer per token: MLA caches {mla} elements (kv_lora_rank {a.kv_lora_rank} + rope "
           f"{a.qk_rope_head_dim}); "
           f"GQA-8 x 128 (Llama-3.1-70B) {gqa} -> {gqa / mla:.2f}x; MHA with V3's 128 heads {mha} -> {mha / mla:.0f}x. "
           f"Whole models: V3 {kv_bytes_per_token(v3) / 1e3:.0f} kB/token vs Llama-70B "
           f"{kv_bytes_per_token(llama) / 1e3:.0f}")
    return make(cid, text, src, [4.0, 8.0], gqa / mla, "x", RANGE, why, "range", range=[gqa / mla, mha / mla],
                point="against GQA-8 (the common alternative); against MHA the ratio is far larger",
                details={"vs_mha": mha / mla})


def v4_kv(cid, text, src) -> Claim:
    from hundredx.model import kv_bytes, load_model

    ctx = 1_000_000
    v4, v32 = load_model("deepseek-ai/DeepSeek-V4-Pro"), load_model("deepseek-ai/DeepSeek-V3.2")
    same = load_model("deepseek-ai/DeepSeek-V4-Pro", kv=v32.quant.kv.name)
    r, r_same = kv_bytes(v4, ctx) / kv_bytes(v32, ctx), kv_bytes(same, ctx) / kv_bytes(v32, ctx)
    why = (f"model accounting at 1M tokens: V4-Pro {kv_bytes(v4, ctx) / 1e9:.1f} GB ({v4.quant.kv.name} KV) vs V3.2 "
           f"{kv_bytes(v32, ctx) / 1e9:.1f} GB ({v32.quant.kv.name}); {r_same:.3f} in the same format")
    return make(cid, text, src, 0.10, r, "of V3.2", RANGE, why, range=sorted([r, r_same]),
                point="1M-token context, each model in its own KV format", details={"same_format_ratio": r_same})


def _decode_flops(model_id: str, context: int) -> float:
    from hundredx.model import build_ops, load_model
    from hundredx.model.graph import total_flops

    return float(total_flops(build_ops(load_model(model_id), 1, 1, context)))


def v4_flops(cid, text, src) -> Claim:
    ctx = 1_000_000
    base = _decode_flops("deepseek-ai/DeepSeek-V3.2", ctx)
    pro = _decode_flops("deepseek-ai/DeepSeek-V4-Pro", ctx) / base
    flash = _decode_flops("deepseek-ai/DeepSeek-V4-Flash", ctx) / base
    short = _decode_flops("deepseek-ai/DeepSeek-V4-Pro", 8192) / _decode_flops("deepseek-ai/DeepSeek-V3.2", 8192)
    why = (f"op graph FLOPs of one decode token at a 1M-token context: V4-Pro {pro:.3f} of V3.2, V4-Flash {flash:.3f} "
           f"(the release: 27% and 10%, counted in 'equivalent FP8 FLOPs'; ours are raw FLOPs). At 8k context the "
           f"ratio is {short:.2f}: the gain is the compressed attention over long contexts")
    return make(cid, text, src, 0.27, pro, "of V3.2", RANGE, why, range=sorted([pro, short]),
                point="V4-Pro, single-token decode at 1M context (the release's setting)", details={"flash": flash})


def million_context(cid, text, src) -> Claim:
    from hundredx.model import kv_bytes, load_model

    m = load_model("meta-llama/Llama-3.1-70B-Instruct", kv="bf16")
    gb = kv_bytes(m, 1_000_000) / 1e9
    fp8 = kv_bytes(load_model("meta-llama/Llama-3.1-70B-Instruct", kv="fp8"), 1_000_000) / 1e9
    why = (f"Llama-3.1-70B (GQA, 80 layers, 8 KV heads x 128, BF16): {gb:.0f} GB of KV for one 1M-token sequence "
           f"({fp8:.0f} GB with an FP8 KV cache)")
    return make(cid, text, src, [100.0, 1000.0], gb, "GB", EXACT, why, "range", range=sorted([fp8, gb]),
                point="one 1M-token sequence, BF16 KV (standard attention: GQA, no compression)")


def _bytes_per_flop(isl: int, osl: int, batch: int = 32) -> float:
    """Bytes moved per FLOP over one request's lifetime (prefill once, then osl decode steps)."""
    from hundredx.predict import predict

    p = predict("meta-llama/Llama-3.1-70B-Instruct", "h100-sxm", tp=8, batch=batch, isl=isl, osl=osl,
                check_memory=False)
    total = {"flops": 0.0, "bytes": 0.0}
    for r in p.breakdown:
        weight = 1.0 if r["phase"] == "prefill" else float(osl)
        for key in total:
            total[key] += weight * float(r[key])
    return total["bytes"] / total["flops"]


def reasoning_shift(cid, text, src) -> Claim:
    chat, reasoning = _bytes_per_flop(4000, 400), _bytes_per_flop(500, 10_000)
    ratio = reasoning / chat
    by_batch = {b: _bytes_per_flop(500, 10_000, b) / _bytes_per_flop(4000, 400, b) for b in (8, 128)}
    by_batch[32] = ratio
    why = (f"Llama-3.1-70B on 8x H100, batch 32: bytes moved per FLOP over a request's life — chat (input:output "
           f"10:1, 4000/400 tokens) {chat:.3f} B/FLOP, reasoning (1:20, 500/10000) {reasoning:.3f} B/FLOP: "
           f"x{ratio:.1f} "
           "more memory traffic per unit of compute. We read the claim's 1:10 -> 1:20+ as at least a doubling of the "
           "memory:compute demand (its exact definition is not stated). Batch 8 / 128: "
           f"x{by_batch[8]:.1f} / x{by_batch[128]:.1f}")
    return make(cid, text, src, 2.0, ratio, "x", RANGE, why, "at_least",
                point="chat 10:1 vs reasoning 1:20 input:output at batch 32",
                range=[min(by_batch.values()), max(by_batch.values())], details={"by_batch": by_batch})


def spec_decoding(cid, text, src) -> Claim:
    """MTP with one draft token on DeepSeek-V3 (H200 TP8/EP8, batch 1) over the acceptance the report states."""
    from hundredx.kernel.runtime import SpeculativeSpec
    from hundredx.predict import predict

    args: dict[str, Any] = dict(tp=8, ep=8, weights="fp8_block128", batch=1, isl=1024, osl=1024)
    base = predict("deepseek-ai/DeepSeek-V3", "h200-sxm", **args).tokens_per_s_per_user
    gains = {}
    for a in (0.80, 0.85, 0.90):
        spec = SpeculativeSpec(method="mtp", draft_tokens=1, acceptance=a)
        gains[a] = predict("deepseek-ai/DeepSeek-V3", "h200-sxm", speculative=spec, **args).tokens_per_s_per_user / base
    mid = gains[0.85]
    why = ("predict with MTP (one draft token; the draft costs one decoder layer) on DeepSeek-V3 FP8, 8x H200, "
           "batch 1: tokens/s per user gain at second-token acceptance " +
           ", ".join(f"{a:.2f}: x{g:.2f}" for a, g in gains.items()) + " (the V3 report: 85-90% acceptance, 1.8x TPS)")
    return make(cid, text, src, 1.8, mid, "x", SYSTEM, why, "gain", range=[min(gains.values()), max(gains.values())],
                point="acceptance 0.85 (the report's lower figure)", details={"by_acceptance": gains})
