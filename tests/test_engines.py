"""Engines as models: documented CUDA-graph, padding and overlap defaults change the step; fits say what they are."""

from __future__ import annotations

import json

import pytest

from hundredx.kernel.engine import FITTED, MIN_ENGINE_CASES, engine_overhead, engine_profile, fitted_values
from hundredx.kernel.runtime import RuntimeSpec
from hundredx.predict import predict
from hundredx.scenario import Workload, build

L70 = "meta-llama/Llama-3.1-70B-Instruct"


def _tpot(engine: str, batch: int) -> float:
    """TPOT with the same overheads for every engine, so only the documented mechanisms differ."""
    stack = build(L70, "h100-sxm", tp=4, weights="fp8", engine=engine, gpu_time_factor=1.25, per_seq_step_s=2e-5).stack
    return predict(stack, Workload(batch=batch, isl=1024, osl=1024)).tpot_s


def test_documented_profiles_carry_their_sources():
    trt, vllm, sgl = engine_profile("trtllm"), engine_profile("vllm"), engine_profile("sglang", tp=4)
    assert max(trt.graphs) == 128 and not trt.padding and trt.overlap  # llm_args.py CudaGraphConfig defaults
    assert max(vllm.graphs) == 512 and vllm.padding and not vllm.overlap
    assert max(sgl.graphs) == 512 and max(engine_profile("sglang", tp=1).graphs) == 256 and sgl.overlap
    assert all(p.sources for p in (trt, vllm, sgl))
    assert vllm.graph_batch(100)[0] == 104 and not bool(vllm.graph_batch(100)[1])  # padded to a multiple of 8
    assert bool(trt.graph_batch(100)[1]) and not bool(trt.graph_batch(64)[1])  # 100 is not captured: eager


def test_llama70b_tpot_differs_by_engine_where_the_mechanisms_differ():
    at1 = {e: _tpot(e, 1) for e in ("trtllm", "vllm", "sglang")}
    assert at1["trtllm"] == pytest.approx(at1["sglang"], rel=1e-6)  # both: graph, overlap, no padding at 1
    assert at1["vllm"] > at1["trtllm"]  # no overlap scheduling: the host time adds
    at100 = {e: _tpot(e, 100) for e in ("trtllm", "vllm", "sglang")}
    assert at100["trtllm"] > at100["sglang"]  # TRT-LLM runs 100 eagerly (no padding), SGLang pads to 104
    assert at100["vllm"] > at100["sglang"]  # same padding, no overlap
    assert len({round(v, 9) for v in at100.values()}) == 3


def test_unknown_engine_runs_generic_and_says_so():
    stack = build(L70, "h100-sxm", tp=4, weights="fp8", engine="my-engine").stack
    p = predict(stack, Workload(batch=8, isl=512, osl=64))
    assert any("my-engine" in f and "generic" in f for f in p.mismatches)
    assert p.provenance["engine"]["profile"].startswith("engine 'my-engine'")
    generic = predict(build(L70, "h100-sxm", tp=4, weights="fp8").stack, Workload(batch=8, isl=512, osl=64))
    assert p.tpot_s == pytest.approx(generic.tpot_s)


def test_engine_fits_are_identifiable_or_inherited():
    doc = json.loads(FITTED.read_text())
    for entry in doc["engines"].values():
        assert entry["provenance"]["cases"] >= MIN_ENGINE_CASES
    for name in ("vllm", "sglang"):
        assert name not in doc["engines"] and "inherits the generic fit" in doc["not_fitted"][name]
        values, what = fitted_values(name)
        assert values == {**values, **doc["values"]} and "generic fit" in what
    ov = engine_overhead(RuntimeSpec(engine="trtllm"))
    assert ov.overlap and "trtllm cases" in ov.fitted


def test_predict_many_takes_the_engine_column():
    from hundredx.predict import predict_many

    batches = [1, 64, 100, 256]
    df = predict_many({"model": ["meta-llama/Llama-3.1-8B-Instruct"] * 4, "chip": ["h100-sxm"] * 4,
                       "batch": batches, "isl": [1024] * 4, "osl": [128] * 4, "engine": ["trtllm"] * 4})
    stack = build("meta-llama/Llama-3.1-8B-Instruct", "h100-sxm", tp=1, engine="trtllm").stack
    for b, tpot in zip(batches, df["tpot_s"]):  # batch 100 runs eagerly (mixed graphed/eager rows in one block)
        assert tpot == pytest.approx(predict(stack, Workload(batch=b, isl=1024, osl=128)).tpot_s, rel=1e-9)


def test_named_engine_brings_its_scheduler_defaults():
    from hundredx.kernel.runtime import SchedulerSpec

    vllm = build("meta-llama/Llama-3.1-8B-Instruct", "h100-sxm", engine="vllm").runtime.scheduler
    assert (vllm.max_seqs, vllm.max_batched_tokens) == (1024, 8192)  # arg_utils.py get_batch_defaults, >= 70 GiB
    given = build("meta-llama/Llama-3.1-8B-Instruct", "h100-sxm", engine="vllm",
                  scheduler=SchedulerSpec(max_seqs=64)).runtime.scheduler
    assert given.max_seqs == 64
    assert build("meta-llama/Llama-3.1-8B-Instruct", "h100-sxm").runtime.scheduler == SchedulerSpec()


def test_engine_factor_per_chip_family_where_identified():
    """A family whose own cases of the engine are identifying gets its own gpu_time_factor; a family
    without enough cases inherits the engine's, and the provenance says which one a prediction used."""
    doc = json.loads(FITTED.read_text())
    trt = doc["engines"]["trtllm"]
    for family, entry in trt["families"].items():
        assert entry["provenance"]["cases"] >= MIN_ENGINE_CASES and len(entry["provenance"]["sources"]) >= 2
        values, what = fitted_values("trtllm", family)
        assert values["gpu_time_factor"] == entry["values"]["gpu_time_factor"] and family in what
        assert values["per_seq_step_s"] == trt["values"]["per_seq_step_s"]
    assert "blackwell" in trt["families"]
    for family in trt["families_not_fitted"]:
        values, what = fitted_values("trtllm", family)
        assert values["gpu_time_factor"] == trt["values"]["gpu_time_factor"] and family not in what
    rt = RuntimeSpec(engine="trtllm")
    w = Workload(batch=16, isl=1024, osl=256)
    p = predict(build(L70, "b200", tp=4, weights="fp8", engine="trtllm").stack, w)
    assert "blackwell" in p.provenance["engine"]["overheads"]
    assert p.provenance["engine"]["gpu_time_factor"] == pytest.approx(engine_overhead(rt, "blackwell").gpu_time_factor)
    from hundredx.predict import predict_many

    df = predict_many({"model": [L70], "chip": ["b200"], "tp": [4], "weights": ["fp8"], "batch": [16],
                       "isl": [1024], "osl": [256], "engine": ["trtllm"]})
    assert float(df["tpot_s"].iloc[0]) == pytest.approx(p.tpot_s, rel=1e-9)
