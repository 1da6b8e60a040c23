"""Golden parameter counts and KV bytes per token for every zoo model.

Parameter references: src/hundredx/zoo/SOURCES.md ("Params computed ... vs model card ..."),
which counts the language model (embedding and LM head included in active). Where SOURCES
gives a multimodal total, the vision tower it states is subtracted. KV bytes per token are
hand-computed from each config.json in bf16 (2 bytes/element):
GQA 2*K*H*2 per full layer, MLA (kv_lora_rank + qk_rope_head_dim)*2, DSA + index_head_dim*2.
"""

from __future__ import annotations

import numpy as np
import pytest

from hundredx.model import (
    kv_bytes,
    kv_bytes_per_token,
    list_models,
    load_model,
    params_active,
    params_total,
    state_bytes_per_seq,
    weight_bytes,
    with_quant,
)

B = 1e9
# id: (total, active or None, relative tolerance, citation)
GOLDEN = {
    "meta-llama/Llama-2-70b-hf": (68.98 * B, None, 0.01, "SOURCES.md: computed 68.98B, Llama 2 paper 70B"),
    "meta-llama/Llama-3.1-8B-Instruct": (8.03 * B, None, 0.01, "SOURCES.md: computed 8.03B, model card 8B"),
    "meta-llama/Llama-3.1-70B-Instruct": (70.55 * B, None, 0.01, "SOURCES.md: computed 70.55B, model card 70B"),
    "meta-llama/Llama-3.3-70B-Instruct": (70.55 * B, None, 0.01, "SOURCES.md: computed 70.55B"),
    "meta-llama/Llama-3.1-405B-Instruct": (405.85 * B, None, 0.01, "SOURCES.md: computed 405.85B, card 405B"),
    "meta-llama/Llama-4-Scout-17B-16E-Instruct": (107.8 * B, 17.2 * B, 0.01, "SOURCES.md: text 107.8B / 17.2B active"),
    "meta-llama/Llama-4-Maverick-17B-128E-Instruct": (400.7 * B, 17.2 * B, 0.01, "SOURCES.md: text 400.7B / 17.2B"),
    "mistralai/Mixtral-8x7B-Instruct-v0.1": (46.70 * B, 12.88 * B, 0.01,
                                             "SOURCES.md: 46.70B / 12.88B, published 46.7/12.9"),
    "mistralai/Mixtral-8x22B-Instruct-v0.1": (140.6 * B, 39.2 * B, 0.01,
                                              "SOURCES.md: 140.6B / 39.2B, published 141/39"),
    "deepseek-ai/DeepSeek-V3": (671.0 * B, 37.6 * B, 0.01, "SOURCES.md: 671.0B / 37.6B, model card 671B/37B"),
    "deepseek-ai/DeepSeek-R1": (671.0 * B, 37.6 * B, 0.01, "SOURCES.md: architecture identical to V3"),
    "deepseek-ai/DeepSeek-V2-Lite": (15_706_484_224, 2.66 * B, 0.01,
                                     "SOURCES.md: exactly the safetensors total; 2.66B active"),
    "deepseek-ai/DeepSeek-V3.2": (671.9 * B, None, 0.01, "SOURCES.md: computed 671.9B main (V3 + DSA indexer)"),
    "deepseek-ai/DeepSeek-V3.2-Exp": (671.9 * B, None, 0.01, "SOURCES.md: every key equals the V3.2 HF config"),
    "deepseek-ai/DeepSeek-V4-Pro": (1.57e12, 50 * B, 0.01, "SOURCES.md: logical about 1.57T main, about 50B active"),
    "deepseek-ai/DeepSeek-V4-Flash": (284 * B, 14 * B, 0.015,
                                      "SOURCES.md: about 284B main, about 14B active (2 digits)"),
    "Qwen/Qwen3-8B": (8.19 * B, None, 0.01, "SOURCES.md: computed 8.19B, card 8.2B"),
    "Qwen/Qwen3-32B": (32.76 * B, None, 0.01, "SOURCES.md: computed 32.76B, card 32.8B"),
    "Qwen/Qwen3-30B-A3B": (30.53 * B, 3.35 * B, 0.01, "SOURCES.md: 30.53B / 3.35B, card 30.5B/3.3B"),
    "Qwen/Qwen3-235B-A22B": (235.09 * B, 22.19 * B, 0.01, "SOURCES.md: 235.09B / 22.19B, card 235B/22B"),
    "Qwen/Qwen3-Next-80B-A3B-Instruct": (79.7 * B, 3.9 * B, 0.01, "SOURCES.md: 79.7B (no MTP) / 3.9B"),
    "Qwen/Qwen2.5-72B-Instruct": (72_706_203_648, None, 0.001, "SOURCES.md: exactly the safetensors total"),
    "Qwen/Qwen3.5-397B-A17B": (396.3 * B, 17.3 * B, 0.01, "SOURCES.md: text 396.3B (+0.46B vision) / 17.3B"),
    "Qwen/Qwen3.5-122B-A10B": ((122.6 - 0.46) * B, 9.8 * B, 0.01, "SOURCES.md: 122.6B incl. 0.46B vision / 9.8B"),
    "Qwen/Qwen3.5-35B-A3B": ((35.1 - 0.46) * B, 3.45 * B, 0.01, "SOURCES.md: 35.1B incl. 0.46B vision / 3.45B"),
    "Qwen/Qwen3.5-27B": (26.90 * B, None, 0.01, "SOURCES.md: text 26.90B plus vision 0.46B"),
    "openai/gpt-oss-20b": (20.91 * B, 4.19 * B, 0.01, "SOURCES.md: 20.91B / 4.19B, card 21B"),
    "openai/gpt-oss-120b": (116.83 * B, 5.71 * B, 0.01, "SOURCES.md: 116.83B / 5.71B, card 116.8B"),
    "moonshotai/Kimi-K2-Instruct": (1026.4 * B, 32.9 * B, 0.01, "SOURCES.md: 1,026.4B / 32.9B, card 1T/32B"),
    "moonshotai/Kimi-K2.5": (1026.4 * B, 32.9 * B, 0.01, "SOURCES.md: same text architecture as Kimi-K2"),
    "google/gemma-3-27b-it": (27.01 * B, None, 0.01, "SOURCES.md: text 27.01B (+SigLIP 0.42B)"),
    "allenai/OLMoE-1B-7B-0924": (6.92 * B, 1.28 * B, 0.01, "SOURCES.md: 6.92B / 1.28B, card 6.9B/1.3B"),
}
# Vendor figures that exclude the input embedding and LM head from "active".
NO_EMBED_ACTIVE = {
    "zai-org/GLM-5": (744 * B, 40 * B, 0.01, "Z.ai GLM-5 release: 744B total, 40B active"),
    "MiniMaxAI/MiniMax-M2.5": (230 * B, 10 * B, 0.025,
                               "MiniMax-M2 model card: 230B total, 10B active (M2.5 same dims)"),
}


def test_every_zoo_model_has_a_golden_count():
    assert set(list_models()) == set(GOLDEN) | set(NO_EMBED_ACTIVE)


@pytest.mark.parametrize("model_id", sorted(GOLDEN))
def test_params_match_sources(model_id):
    total, active, tol, _cite = GOLDEN[model_id]
    spec = load_model(model_id)
    assert params_total(spec) == pytest.approx(total, rel=tol)
    if active is not None:
        assert params_active(spec) == pytest.approx(active, rel=tol)
    assert params_active(spec) <= params_total(spec)


@pytest.mark.parametrize("model_id", sorted(NO_EMBED_ACTIVE))
def test_params_match_vendor_figures(model_id):
    total, active, tol, _cite = NO_EMBED_ACTIVE[model_id]
    spec = load_model(model_id)
    embed = spec.vocab_size * spec.hidden_size * (1 if spec.tie_embeddings else 2)
    assert params_total(spec) == pytest.approx(total, rel=tol)
    assert params_active(spec) - embed == pytest.approx(active, rel=tol)


def test_exact_counts():
    assert params_total(load_model("DeepSeek-V2-Lite")) == 15_706_484_224
    assert params_total(load_model("Qwen2.5-72B-Instruct")) == 72_706_203_648


KV_PER_TOKEN = {  # bytes per token in bf16, hand-computed (layers x per-layer bytes)
    "meta-llama/Llama-3.1-8B-Instruct": 32 * 2 * 8 * 128 * 2,
    "meta-llama/Llama-3.1-70B-Instruct": 80 * 2 * 8 * 128 * 2,
    "meta-llama/Llama-3.3-70B-Instruct": 80 * 2 * 8 * 128 * 2,
    "meta-llama/Llama-2-70b-hf": 80 * 2 * 8 * 128 * 2,  # fp16, also 2 bytes
    "meta-llama/Llama-3.1-405B-Instruct": 126 * 2 * 8 * 128 * 2,
    "meta-llama/Llama-4-Scout-17B-16E-Instruct": 48 * 2 * 8 * 128 * 2,
    "meta-llama/Llama-4-Maverick-17B-128E-Instruct": 48 * 2 * 8 * 128 * 2,
    "mistralai/Mixtral-8x7B-Instruct-v0.1": 32 * 2 * 8 * 128 * 2,
    "mistralai/Mixtral-8x22B-Instruct-v0.1": 56 * 2 * 8 * 128 * 2,
    "Qwen/Qwen3-8B": 36 * 2 * 8 * 128 * 2,
    "Qwen/Qwen3-32B": 64 * 2 * 8 * 128 * 2,
    "Qwen/Qwen2.5-72B-Instruct": 80 * 2 * 8 * 128 * 2,
    "Qwen/Qwen3-30B-A3B": 48 * 2 * 4 * 128 * 2,
    "Qwen/Qwen3-235B-A22B": 94 * 2 * 4 * 128 * 2,
    "Qwen/Qwen3-Next-80B-A3B-Instruct": 12 * 2 * 2 * 256 * 2,  # 12 of 48 layers full attention
    "Qwen/Qwen3.5-397B-A17B": 15 * 2 * 2 * 256 * 2,
    "Qwen/Qwen3.5-122B-A10B": 12 * 2 * 2 * 256 * 2,
    "Qwen/Qwen3.5-35B-A3B": 10 * 2 * 2 * 256 * 2,
    "Qwen/Qwen3.5-27B": 16 * 2 * 4 * 256 * 2,
    "allenai/OLMoE-1B-7B-0924": 16 * 2 * 16 * 128 * 2,
    "openai/gpt-oss-20b": 24 * 2 * 8 * 64 * 2,
    "openai/gpt-oss-120b": 36 * 2 * 8 * 64 * 2,
    "google/gemma-3-27b-it": 62 * 2 * 16 * 128 * 2,
    "MiniMaxAI/MiniMax-M2.5": 62 * 2 * 8 * 128 * 2,
    "deepseek-ai/DeepSeek-V3": 61 * (512 + 64) * 2,
    "deepseek-ai/DeepSeek-R1": 61 * (512 + 64) * 2,
    "deepseek-ai/DeepSeek-V2-Lite": 27 * (512 + 64) * 2,
    "moonshotai/Kimi-K2-Instruct": 61 * (512 + 64) * 2,
    "moonshotai/Kimi-K2.5": 61 * (512 + 64) * 2,
    "deepseek-ai/DeepSeek-V3.2": 61 * (512 + 64 + 128) * 2,
    "deepseek-ai/DeepSeek-V3.2-Exp": 61 * (512 + 64 + 128) * 2,
    "zai-org/GLM-5": 78 * (512 + 64 + 128) * 2,
    # V4: 512-wide window entry on every layer + (512 [+128 indexer]) / ratio; Flash 2 sliding, 21 CSA, 20 HCA
    "deepseek-ai/DeepSeek-V4-Flash": 43 * 1024 + 21 * (640 * 2 / 4) + 20 * (1024 / 128),
    "deepseek-ai/DeepSeek-V4-Pro": 61 * 1024 + 30 * (640 * 2 / 4) + 31 * (1024 / 128),
}


@pytest.mark.parametrize("model_id", sorted(KV_PER_TOKEN))
def test_kv_bytes_per_token(model_id):
    assert kv_bytes_per_token(load_model(model_id)) == pytest.approx(KV_PER_TOKEN[model_id])


def test_kv_bytes_per_token_covers_zoo():
    assert set(KV_PER_TOKEN) == set(list_models())


def test_kv_format_override_halves_bytes():
    spec = load_model("Llama-3.1-8B-Instruct")
    assert kv_bytes_per_token(spec, "fp8") == 32 * 2 * 8 * 128
    assert kv_bytes_per_token(load_model("Llama-3.1-8B-Instruct", kv="fp8")) == 32 * 2 * 8 * 128


def test_kv_bytes_full_is_linear():
    spec = load_model("Llama-3.1-8B-Instruct")
    ctx = np.array([1, 1000, 128000])
    np.testing.assert_allclose(kv_bytes(spec, ctx), ctx * 131072)


def test_kv_bytes_sliding_capped_gpt_oss():
    spec = load_model("gpt-oss-20b")  # 12 sliding (window 128) + 12 full layers, 2048 B/token/layer
    per = 2 * 8 * 64 * 2
    assert kv_bytes(spec, 100) == 24 * 100 * per
    assert kv_bytes(spec, 10000) == 12 * 10000 * per + 12 * 128 * per


def test_kv_bytes_gemma_pattern():
    spec = load_model("gemma-3-27b-it")  # 10 full, 52 sliding with window 1024
    per = 2 * 16 * 128 * 2
    assert kv_bytes(spec, 32768) == 10 * 32768 * per + 52 * 1024 * per


def test_kv_bytes_llama4_chunked():
    spec = load_model("Llama-4-Scout-17B-16E-Instruct")  # 12 NoPE full layers, 36 chunked (8192)
    per = 2 * 8 * 128 * 2
    assert kv_bytes(spec, 100000) == 12 * 100000 * per + 36 * 8192 * per


def test_linear_attention_state_is_fixed():
    spec = load_model("Qwen3-Next-80B-A3B-Instruct")  # 36 GDN layers: 32 x 128 x 128 fp32 + conv
    state = 36 * (32 * 128 * 128 * 4 + (2 * 16 * 128 + 32 * 128) * 3 * 2)
    assert state_bytes_per_seq(spec) == state
    assert kv_bytes(spec, 0) == state
    assert kv_bytes(spec, 1000) - kv_bytes(spec, 0) == 1000 * 12 * 2048


def test_v4_compressed_kv_bytes():
    spec = load_model("DeepSeek-V4-Flash")
    c = 65536
    expect = 43 * 128 * 1024 + 21 * (c // 4) * 640 * 2 + 20 * (c // 128) * 1024
    assert kv_bytes(spec, c) == expect


def test_weight_bytes_formats():
    llama = load_model("Llama-3.1-8B-Instruct")
    assert weight_bytes(llama) == pytest.approx(2 * params_total(llama))
    fp8 = with_quant(llama, weights="fp8")
    embed = 2 * 128256 * 4096  # embedding + LM head stay bf16
    assert weight_bytes(fp8) == pytest.approx(params_total(llama) + embed, rel=1e-4)
    gpt = load_model("gpt-oss-120b")  # MXFP4 experts: 4.25 bits, the rest bf16
    experts = 36 * 128 * (3 * 2880 * 2880 + 2 * 2880 + 2880)
    rest = params_total(gpt) - experts
    assert weight_bytes(gpt) == pytest.approx(experts * 4.25 / 8 + rest * 2)


def test_deepseek_fp8_block_scales():
    spec = load_model("DeepSeek-V3")
    assert spec.quant.weight.name == "fp8_block128" and spec.quant.gemm_compute == "fp8"
    assert 680e9 < weight_bytes(spec) < 700e9  # 671B at 1 + 4/128 bytes, embeddings bf16


def test_weight_bytes_by_class_sums_and_experts():
    from hundredx.model import weight_bytes_by_class

    spec = load_model("gpt-oss-120b")
    by = weight_bytes_by_class(spec)
    assert sum(by.values()) == pytest.approx(weight_bytes(spec))
    assert by["experts"] == pytest.approx(36 * 128 * (3 * 2880 * 2880 + 3 * 2880) * 4.25 / 8)
