"""`layer` cases (SCHEMA.md): parts of a forward pass priced on one device."""

from __future__ import annotations

import pytest

from hundredx.validate.base import Unpredictable
from hundredx.validate.layer import predict_case


def _case(layer, phase="decode", impl="torch_cudagraph_sdpa", model="meta-llama/Llama-3.1-8B-Instruct", **extra):
    config = {"model": model, "layer": layer, "phase": phase, "batch": 8, "dtype": "bf16", "impl": impl,
              "kv_len": 2048, "seqlen": 2048, **extra}
    return {"id": "x", "kind": "layer", "hardware": "h100-sxm", "config": config, "metric": "time_s", "value": 1.0}


def test_parts_add_up_and_full_model_costs_more_than_a_layer():
    attn = predict_case(_case("attention"))
    mlp = predict_case(_case("mlp"))
    layer = predict_case(_case("decoder"))
    full = predict_case(_case("full_model"))
    assert layer == pytest.approx(attn + mlp, rel=1e-9)
    assert 30 * layer < full < 40 * layer  # 32 layers plus embedding and LM head


def test_decode_layer_is_near_its_weight_streaming_time():
    t = predict_case(_case("mlp"))
    weights = 3 * 4096 * 14336 * 2  # gate, up, down in bf16
    assert weights / 3.35e12 < t < 3 * weights / 3.35e12


def test_eager_is_slower_than_cuda_graph_and_moe_needs_moe():
    eager = predict_case(_case("decoder", impl="torch_eager_sdpa"))
    graph = predict_case(_case("decoder", impl="torch_cudagraph_sdpa"))
    assert eager > graph
    with pytest.raises(Unpredictable, match="MoE"):
        predict_case(_case("moe"))
    assert predict_case(_case("moe", model="Qwen/Qwen3-30B-A3B")) > 0
