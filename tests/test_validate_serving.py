"""Serving cases: batch choice, checkpoint KV format, phases of disaggregated deployments, reasons."""

from __future__ import annotations

import pytest

from hundredx.validate.base import Unpredictable
from hundredx.validate.serving import _batch, _model, _parallelism, predict_case


def _case(metric="output_tokens_per_s", n=8, **config):
    base = {"model": "meta-llama/Llama-3.1-70B-Instruct", "engine": "trtllm", "weight_dtype": "fp8", "tp": 8,
            "isl": 1024, "osl": 1024}
    base.update(config)
    return {"id": "s", "kind": "serving", "hardware": "h100-sxm", "n_devices": n, "config": base, "metric": metric,
            "value": 1.0}


def test_offline_throughput_grows_with_kv_room_and_metrics_agree():
    total = predict_case(_case(offline=True))
    per_device = predict_case(_case("output_tokens_per_s_per_device", offline=True))
    assert total == pytest.approx(8 * per_device)
    fp8_kv = predict_case(_case(offline=True, checkpoint="nvidia/Llama-3.1-70B-Instruct-FP8"))
    assert fp8_kv > total  # ModelOpt checkpoints imply FP8 KV: twice the sequences fit


def test_checkpoint_and_explicit_kv_formats():
    assert _model(_case(checkpoint="nvidia/x")).quant.kv.name == "fp8"
    assert _model(_case(checkpoint="nvidia/x", kv_dtype="bf16")).quant.kv.name == "bf16"
    assert _model(_case()).quant.kv.name == "bf16"


def test_batch_choice_and_unrecorded_parallelism():
    c = _case(concurrency=64)
    par = _parallelism(c, 8)
    assert (par["tp"], par["dp"]) == (8, 1)
    ep_only = _case(model="deepseek-ai/DeepSeek-V3", tp=None, ep=16)
    par = _parallelism(ep_only, 16)
    assert (par["tp"], par["ep"], par["dp"]) == (1, 16, 16)  # attention data-parallel, EP across the replicas
    from hundredx.scenario import build

    stack = build(_model(c), "h100-sxm", **_parallelism(c, 8)).stack
    assert _batch(c, stack, 1024, 1024, 8) == 64


def test_latency_and_phase_metrics():
    tpot = predict_case(_case("time_per_output_token_s", concurrency=1))
    assert 0.005 < tpot < 0.1
    prefill = predict_case(_case("input_tokens_per_s", phase="prefill", osl=None, tokens_per_device=8192))
    assert prefill > 10_000


def test_unpredictable_cases_say_why():
    with pytest.raises(Unpredictable, match="isl/osl"):
        predict_case(_case(isl=None, offline=True))
    with pytest.raises(Unpredictable, match="zoo"):
        predict_case(_case(model="acme/unknown-7b", offline=True))
    with pytest.raises(Unpredictable, match="concurrency"):
        predict_case(_case())
