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
    bf16_kv = predict_case(_case(offline=True, kv_dtype="bf16"))
    assert total > bf16_kv  # a TensorRT-LLM FP8 checkpoint brings FP8 KV: twice the sequences fit
    assert predict_case(_case(offline=True, checkpoint="nvidia/Llama-3.1-70B-Instruct-FP8")) == pytest.approx(total)


def test_checkpoint_and_explicit_kv_formats():
    assert _model(_case(checkpoint="nvidia/x")).quant.kv.name == "fp8"
    assert _model(_case(checkpoint="nvidia/x", kv_dtype="bf16")).quant.kv.name == "bf16"
    assert _model(_case(engine="vllm")).quant.kv.name == "bf16"  # vLLM: no quantizer default, the model's KV


def test_engine_quantized_checkpoint_kv_is_an_assumption():
    """TensorRT-LLM serves FP8/FP4 weights from ModelOpt checkpoints (FP8 KV by default, engines.yaml quantized_kv);
    the choice is listed; BF16 weights and an engine without the default keep the model's KV."""
    from hundredx.validate.serving import predict_case_detail

    notes: list[str] = []
    assert _model(_case(), notes).quant.kv.name == "fp8"
    assert any("KV cache fp8" in n for n in notes)
    assert _model(_case(engine="mlperf-nvidia", weight_dtype="fp4")).quant.kv.name == "fp8"
    assert _model(_case(weight_dtype="bf16")).quant.kv.name == "bf16"
    _, listed = predict_case_detail(_case(offline=True))
    assert any("kv_dtype unrecorded" in n for n in listed)
    _, none = predict_case_detail(_case(offline=True, kv_dtype="fp8"))
    assert not any("kv_dtype unrecorded" in n for n in none)


def test_decode_phase_at_a_tpot_limit_without_batch_or_length():
    """A decode pool reported at a TPOT limit: the largest batch meeting it, and an assumed context, both listed."""
    from hundredx.validate.serving import DEFAULT_DECODE_KV_LEN, predict_case_detail

    case = {"id": "d", "kind": "serving", "hardware": "h100-sxm", "n_devices": 16,
            "config": {"model": "deepseek-ai/DeepSeek-V3", "engine": "sglang", "weight_dtype": "fp8", "ep": 16,
                       "phase": "decode", "tpot_limit_s": 0.05},
            "metric": "output_tokens_per_s_per_device", "value": 1.0}
    loose, notes = predict_case_detail(case)
    assert any(str(DEFAULT_DECODE_KV_LEN) in n for n in notes) and any("tpot_limit_s" in n for n in notes)
    tight, _ = predict_case_detail({**case, "config": {**case["config"], "tpot_limit_s": 0.03}})
    assert loose > tight > 0  # a looser limit admits a larger batch
    tpot = {**case, "metric": "time_per_output_token_s"}
    assert predict_case_detail(tpot)[0] <= 0.05
    short, _ = predict_case_detail({**case, "config": {**case["config"], "kv_len": 1024}})
    assert short > loose  # a recorded shorter context wins over the assumption and fits a larger batch


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


def test_a_qualified_kv_fraction_is_read_as_its_number_and_listed():
    """A case that records "0.95 typical" (the source's usual setting) runs at 0.95, not the engine default 0.9,
    and says so; a non-numeric string falls back to the default."""
    from hundredx.validate.serving import _recorded_number, predict_case_detail

    notes: list[str] = []
    assert _recorded_number("0.95 typical", notes, "KV memory fraction") == 0.95 and "0.95 typical" in notes[0]
    assert _recorded_number(0.8) == 0.8 and _recorded_number(None) is None and _recorded_number("auto") is None
    case = _case(n=1, tp=1, isl=128, osl=2048, offline=True)
    default, default_notes = predict_case_detail(case)
    typical, typical_notes = predict_case_detail(_case(n=1, tp=1, isl=128, osl=2048, offline=True,
                                                       kv_cache_free_gpu_mem_fraction="0.95 typical"))
    exact = predict_case(_case(n=1, tp=1, isl=128, osl=2048, offline=True, kv_cache_free_gpu_mem_fraction=0.95))
    assert typical == pytest.approx(exact) and typical > default  # more KV room at tp1: more sequences
    assert any("recorded as '0.95 typical'" in n for n in typical_notes)
    assert any("KV memory fraction 0.9 " in n for n in default_notes)
