"""ModelSpec parsing, layer patterns, quantization defaults and model loading."""

from __future__ import annotations

import json

import pytest

from hundredx.errors import InputError
from hundredx.model import list_models, load_model, with_quant
from hundredx.model.config import spec_from_config


def _kinds(spec):
    return [k.key for k in spec.layers]


def test_list_models_has_zoo_ids():
    ids = list_models()
    assert "meta-llama/Llama-3.1-8B-Instruct" in ids and len(ids) == len(set(ids)) >= 34


@pytest.mark.parametrize("ref", ["meta-llama/Llama-3.1-8B-Instruct", "llama-3.1-8b-instruct", "Llama-3.1-8B-Instruct"])
def test_load_by_id_or_name(ref):
    spec = load_model(ref)
    assert spec.id == "meta-llama/Llama-3.1-8B-Instruct"
    dims = (spec.num_layers, spec.hidden_size, spec.vocab_size, spec.num_heads, spec.num_kv_heads)
    assert dims == (32, 4096, 128256, 32, 8)


def test_load_from_path_and_folder(tmp_path):
    cfg = {"model_type": "llama", "num_hidden_layers": 2, "hidden_size": 64, "intermediate_size": 128,
           "num_attention_heads": 4, "vocab_size": 100}
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    assert load_model(str(tmp_path)).num_layers == 2
    assert load_model(str(tmp_path / "config.json")).attention.kind == "mha"


def test_unknown_model_names_field():
    with pytest.raises(InputError) as err:
        load_model("no-such-model")
    assert err.value.field == "model"


def test_malformed_configs(tmp_path):
    bad = tmp_path / "config.json"
    bad.write_text("{not json")
    with pytest.raises(InputError) as err:
        load_model(str(bad))
    assert err.value.field == "model"
    bad.write_text(json.dumps({"model_type": "llama", "hidden_size": 64, "num_attention_heads": 4, "vocab_size": 10}))
    with pytest.raises(InputError) as err:
        load_model(str(bad))
    assert err.value.field == "config.num_hidden_layers"
    bad.write_text(json.dumps({"model_type": "llama", "num_hidden_layers": "x", "hidden_size": 64}))
    with pytest.raises(InputError) as err:
        load_model(str(bad))
    assert err.value.field == "config.num_hidden_layers"


def test_oversized_config_refused(tmp_path, monkeypatch):
    import hundredx.model.zoo as zoo

    path = tmp_path / "config.json"
    path.write_text(json.dumps({"pad": "x" * 2000}))
    monkeypatch.setattr(zoo, "MAX_CONFIG_BYTES", 1000)
    with pytest.raises(InputError, match="limit"):
        load_model(str(path))


def test_gemma3_defaults_and_pattern():
    spec = load_model("gemma-3-27b-it")
    assert spec.vocab_size == 262208 and spec.tie_embeddings and spec.norms_per_layer == 4
    kinds = [k.attn for k in spec.layers]
    assert kinds.count("full") == 10 and kinds[5] == "full" and kinds[0] == "sliding"
    assert spec.attention.sliding_window == 1024
    assert any("Vision tower" in n for n in spec.not_modelled)


def test_gpt_oss_alternating_and_mxfp4():
    spec = load_model("gpt-oss-120b")
    assert [k.attn for k in spec.layers[:4]] == ["sliding", "full", "sliding", "full"]
    assert spec.attention.sinks and spec.attention.sliding_window == 128
    assert spec.quant.experts.name == "mxfp4" and spec.quant.weight.name == "bf16"
    assert spec.quant.expert_gemm_compute == "bf16"  # W4A16 by default


def test_deepseek_v3_moe_layout():
    spec = load_model("DeepSeek-V3")
    assert [k.ffn for k in spec.layers[:4]] == ["dense", "dense", "dense", "moe"]
    assert spec.moe.num_experts == 256 and spec.moe.top_k == 8 and spec.moe.num_shared == 1
    assert spec.attention.kind == "mla" and spec.attention.kv_lora_rank == 512
    assert spec.quant.weight.name == "fp8_block128" and spec.quant.act.name == "fp8_block128"
    assert any("multi-token-prediction" in n for n in spec.not_modelled)


def test_llama4_interleaved_and_chunked():
    mav = load_model("Llama-4-Maverick-17B-128E-Instruct")
    assert [k.ffn for k in mav.layers[:4]] == ["dense", "moe", "dense", "moe"]
    assert mav.intermediate_size == 16384 and mav.moe.shared_width == 8192
    assert [k.attn for k in mav.layers[:4]] == ["chunked", "chunked", "chunked", "full"]
    assert all(k.ffn == "moe" for k in load_model("Llama-4-Scout-17B-16E-Instruct").layers)


def test_hybrid_linear_attention():
    spec = load_model("Qwen3.5-35B-A3B")
    assert [k.attn for k in spec.layers[:4]] == ["linear", "linear", "linear", "full"]
    assert spec.linear.num_value_heads == 32 and spec.attention.output_gate
    nxt = load_model("Qwen3-Next-80B-A3B-Instruct")
    assert sum(k.attn == "full" for k in nxt.layers) == 12 and nxt.moe.shared_gate


def test_dsa_and_v4():
    assert {k.attn for k in load_model("DeepSeek-V3.2").layers} == {"sparse"}
    assert load_model("GLM-5").attention.index_topk == 2048
    v4 = load_model("DeepSeek-V4-Pro")
    assert v4.attention.kind == "compressed" and v4.hc_mult == 4
    assert [k.compress_ratio for k in v4.layers[:4]] == [128, 128, 4, 128]
    assert [k.ffn for k in v4.layers[:4]] == ["moe_hash"] * 3 + ["moe"]
    assert v4.quant.experts.name == "mxfp4" and v4.quant.expert_gemm_compute == "fp8"


def test_kimi_k25_int4_experts_from_text_config():
    spec = load_model("Kimi-K2.5")
    assert spec.quant.experts.name == "int4_g32" and spec.quant.weight.name == "bf16"
    assert spec.quant.expert_gemm_compute == "bf16"


def test_with_quant_defaults_and_errors():
    spec = load_model("Llama-3.1-8B-Instruct")
    q = with_quant(spec, weights="nvfp4").quant
    assert q.act.name == "nvfp4" and q.gemm_compute == "fp4"
    q = with_quant(spec, weights="int4").quant
    assert q.act.name == "bf16" and q.gemm_compute == "bf16"
    q = with_quant(spec, weights="fp8", act="bf16").quant
    assert q.gemm_compute == "bf16"
    with pytest.raises(InputError) as err:
        with_quant(spec, kv="fp3")
    assert err.value.field == "kv"
    with pytest.raises(InputError) as err:
        load_model("Llama-3.1-8B-Instruct", weights="bogus")
    assert err.value.field == "weights"


def test_every_zoo_model_parses():
    for model_id in list_models():
        spec = load_model(model_id)
        assert len(spec.layers) == spec.num_layers and spec.quant.gemm_compute in ("bf16", "fp16", "fp8", "fp4")


def test_moe_spec_validation():
    cfg = {"model_type": "mixtral", "num_hidden_layers": 1, "hidden_size": 8, "intermediate_size": 8,
           "num_attention_heads": 2, "vocab_size": 10, "num_local_experts": 4, "num_experts_per_tok": 5}
    with pytest.raises(InputError) as err:
        spec_from_config(cfg, "bad")
    assert err.value.field == "config.num_experts_per_tok"
    with pytest.raises(InputError) as err:
        spec_from_config({**cfg, "num_experts_per_tok": 2, "num_key_value_heads": 3}, "bad")
    assert err.value.field == "config.num_key_value_heads"


@pytest.mark.parametrize("key,text", [("num_hidden_layers", "10000000"), ("hidden_size", "Infinity"),
                                      ("hidden_size", "NaN"), ("vocab_size", "1" + "0" * 400)])
def test_hostile_config_numbers_are_refused(tmp_path, key, text):
    import json

    from hundredx.errors import InputError
    from hundredx.model import load_model
    from hundredx.model.zoo import ZOO

    cfg = json.loads((ZOO / "meta-llama/Llama-3.1-8B-Instruct/config.json").read_text())
    raw = json.dumps(cfg).replace(f'"{key}": {json.dumps(cfg[key])}', f'"{key}": {text}')
    (tmp_path / "config.json").write_text(raw)
    with pytest.raises(InputError) as exc:
        load_model(str(tmp_path))
    assert key in str(exc.value) or "config" in str(exc.value)
    assert len(str(exc.value)) < 300
