"""Issue 11 item 7/8: orderings the datasheets imply, preliminary flags, refused contexts, FP4 without
FP4 units, model-id aliases."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from hundredx.chip import load_chip
from hundredx.cli import app
from hundredx.errors import InputError
from hundredx.formats import get_format
from hundredx.kernel.attention import attention_time
from hundredx.kernel.gemm import gemm_time
from hundredx.kernel.loading import calibration_scope, load_params
from hundredx.kernel.transfer import class_transfer
from hundredx.model.zoo import ALIASES, load_model
from hundredx.predict import predict

RUN = CliRunner()
LLAMA8 = "meta-llama/Llama-3.1-8B-Instruct"


@pytest.mark.parametrize("calibration", ["auto", "family", "analytic"])
@pytest.mark.parametrize("model, kw", [(LLAMA8, {"batch": 64, "isl": 4096}),
                                       ("deepseek-ai/DeepSeek-R1", {"batch": 64, "tp": 8, "weights": "fp8"})])
def test_gb200_never_decodes_slower_than_b200(calibration, model, kw):
    """Same die; GB200 has the higher power limit and clocks no lower: it must not lose."""
    with calibration_scope(calibration):
        b200, gb200 = predict(model, "b200", **kw), predict(model, "gb200", **kw)
    assert gb200.tpot_s <= b200.tpot_s * 1.001
    assert gb200.ttft_s <= b200.ttft_s * 1.001


@pytest.mark.parametrize("calibration", ["auto", "family", "analytic"])
def test_h200_prefill_attention_not_faster_than_h100(calibration):
    """Same SM90 and clocks: only bandwidth and capacity differ, so compute-bound attention matches."""
    times = {}
    with calibration_scope(calibration):
        for cid in ("h100-sxm", "h200-sxm"):
            chip = load_chip(cid)
            t = attention_time(chip, load_params(chip), batch=8, seqlen_q=8192, seqlen_kv=8192,
                               heads_q=32, heads_kv=8, head_dim=128, causal=True)
            times[cid] = float(np.asarray(t.time_s))
    assert times["h200-sxm"] >= 0.97 * times["h100-sxm"]


def test_mi300x_bf16_gemm_not_above_h100_without_evidence():
    """MI300X has no measured BF16 GEMM; its measured FP8 efficiency carries over (kernel/transfer.py)."""
    rates = {}
    for cid in ("h100-sxm", "mi300x"):
        chip = load_chip(cid)
        t = gemm_time(8192, 8192, 8192, chip, load_params(chip), "bf16")
        rates[cid] = 2 * 8192 ** 3 / float(np.asarray(t.time_s))
    assert rates["mi300x"] < rates["h100-sxm"]
    mi = load_params(load_chip("mi300x"))
    assert "gemm.eff.bf16" in mi.provenance["class_transfer"]


def test_class_transfer_rules():
    defaults = {"gemm.eff.bf16": 0.75, "gemm.eff.fp16": 0.75, "gemm.eff.fp8": 0.68, "gemm.eff.fp4": 0.70}
    out, how = class_transfer({"gemm.eff.fp8": 0.34}, {"gemm.eff.fp8"}, defaults)
    assert out["gemm.eff.bf16"] == pytest.approx(0.375) and "fp8" in how["gemm.eff.bf16"]
    out, _ = class_transfer({"gemm.eff.bf16": 0.8}, {"gemm.eff.bf16"}, defaults)
    assert out["gemm.eff.fp16"] == 0.8  # same datapath
    assert class_transfer({}, frozenset(), defaults) == ({}, {})


def test_rubin_bf16_not_widened_like_fp4():
    rubin, gb300 = load_chip("rubin"), load_chip("gb300")
    fp4_ratio, bf16_ratio = rubin.peak("fp4") / gb300.peak("fp4"), rubin.peak("bf16") / gb300.peak("bf16")
    assert fp4_ratio > 2.0 and bf16_ratio < 1.5  # BF16 only by the (assumed) SM count, not the FP4 widening
    assert any("NOT assumed widened" in s for s in rubin.sources)


def test_preliminary_chip_flagged_in_predict_and_op():
    p = predict(LLAMA8, "rubin", batch=4)
    assert p.mismatches[0].startswith("chip rubin: PRELIMINARY")
    assert not any("PRELIMINARY" in f for f in predict(LLAMA8, "h100-sxm", batch=4).mismatches)
    out = RUN.invoke(app, ["op", "gemm", "--chip", "rubin", "--m", "256", "--n", "256", "--k", "256", "--json"])
    assert out.exit_code == 0 and "PRELIMINARY" in json.loads(out.output)["fallback"]
    out = RUN.invoke(app, ["predict", "--model", LLAMA8, "--chip", "rubin", "--top", "1"])
    assert out.exit_code == 0 and "PRELIMINARY" in out.output


def test_context_beyond_max_positions_refused():
    with pytest.raises(InputError, match="max_position_embeddings=40960.*no RoPE extension"):
        predict("Qwen/Qwen3-8B", "h100-sxm", isl=60000, osl=100)
    out = RUN.invoke(app, ["predict", "--model", "Qwen/Qwen3-8B", "--chip", "h100-sxm", "--isl", "60000"])
    assert out.exit_code == 2 and "isl+osl" in out.output and "Traceback" not in out.output
    with pytest.raises(InputError, match="yarn x40 from 4096.*already counted"):
        predict("deepseek-ai/DeepSeek-R1", "h200-sxm", tp=8, isl=200000, osl=10)


def test_context_on_rope_extension_is_said():
    p = predict("deepseek-ai/DeepSeek-R1", "h200-sxm", tp=8, isl=8192, osl=128)
    assert any("relies on RoPE yarn x40" in f for f in p.mismatches)
    assert not any("RoPE" in f for f in predict(LLAMA8, "h100-sxm", isl=1024, osl=128).mismatches)


def test_fp4_weights_without_fp4_units_pay_dequantization():
    h100 = load_chip("h100-sxm")
    params = load_params(h100)
    big4, big8 = (gemm_time(8192, 8192, 8192, h100, params, d) for d in ("nvfp4", "fp8"))
    assert big4.parts["fallback"] == "fp4->fp8" and big4.parts["dequant"] == params["gemm.dequant_eff"] < 1
    assert float(big4.time_s) > float(big8.time_s)  # compute-bound: dequantization costs
    small4, small8 = (gemm_time(1, 8192, 8192, h100, params, d) for d in ("nvfp4", "fp8"))
    assert float(small4.time_s) < float(small8.time_s)  # memory-bound: 4-bit weights still stream at 4 bits
    # activations stay in fp8 (1 byte), weights at their stored width (4 bits + block scales), output bf16
    stored = get_format("nvfp4").bytes_per_element
    assert float(small4.bytes) == pytest.approx(8192 * 1.0 + 8192 * 8192 * stored + 8192 * 2.0)
    b200 = load_chip("b200")
    assert gemm_time(8, 8192, 8192, b200, load_params(b200), "nvfp4").parts["dequant"] == 1.0


def test_aliases_share_the_config_and_say_so():
    base, inst = load_model("meta-llama/Llama-3.1-8B"), load_model(LLAMA8)
    assert base.id == "meta-llama/Llama-3.1-8B" and base.hidden_size == inst.hidden_size
    assert base.num_layers == inst.num_layers and "alias of " + LLAMA8 in base.source and "litgpt" in base.source
    assert load_model("Meta-Llama-3.1-70B-Instruct").num_layers == 80
    for target, why in ALIASES.values():
        assert load_model(target).id == target and why
    out = RUN.invoke(app, ["predict", "--model", "mistralai/Mixtral-8x7B-v0.1", "--chip", "h100-sxm", "--tp", "2",
                           "--top", "1"])
    assert out.exit_code == 0, out.output
