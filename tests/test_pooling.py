"""Partial pooling, identifiability and datasheet transfer of kernel parameters (calibrate/pooling.py,
calibrate/identify.py, kernel/transfer.py), on synthetic cases whose truth is known."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from hundredx.calibrate.fitter import fit_all, fit_cases, save_families, save_fitted
from hundredx.calibrate.identify import W_FIT, data_weights, status
from hundredx.chip import load_chip
from hundredx.kernel.cases import predict_value
from hundredx.kernel.loading import calibration_scope, load_params
from hundredx.kernel.params import KernelParams
from hundredx.kernel.transfer import scaling, to_chip, to_reference

H100, H200 = load_chip("h100-sxm"), load_chip("h200-sxm")
DATA = Path(__file__).resolve().parents[1] / "data" / "validation"


def _gemm_cases(chip, truth: dict, shapes, dtype="bf16", tag="") -> list[dict]:
    """Synthetic measurements: the model's own value at `truth` (so the truth is known exactly)."""
    params = KernelParams.analytic(chip).replace_values(truth)
    out = []
    for i, (m, n, k) in enumerate(shapes):
        case = {"id": f"syn{tag}-{chip.id}-{i}", "kind": "gemm", "hardware": chip.id, "n_devices": 1,
                "config": {"m": m, "n": n, "k": k, "dtype": dtype}, "metric": "tflops",
                "value": 1.0, "source": f"synthetic {tag}"}
        case["value"] = predict_value(case, chip, params)
        out.append(case)
    return out


BIG = [(8192, 8192, 8192), (4096, 8192, 4096), (8192, 4096, 8192), (16384, 8192, 4096), (6144, 6144, 6144),
       (8192, 16384, 8192), (12288, 4096, 4096), (4096, 4096, 16384)]


def test_data_weight_is_zero_without_data_and_one_with_strong_data():
    w, se = data_weights(np.array([[0.0, 1.0]] * 50), np.array([0.1, 0.1]), sigma=0.08)
    assert w[0] == pytest.approx(0.0, abs=1e-12) and se[0] == pytest.approx(0.1)
    assert w[1] > 0.98 and se[1] < 0.02
    # collinear parameters share the information: neither is determined alone
    w2, _ = data_weights(np.array([[1.0, 1.0]] * 50), np.array([0.1, 0.1]), sigma=0.08)
    assert 0.3 < w2[0] < 0.7 and w2[0] == pytest.approx(w2[1])
    assert status(0.9, True) == "own" and status(0.3, True) == "pooled"
    assert status(0.01, True) == "inherited" and status(0.01, False) == "analytic"


def test_a_parameter_no_case_constrains_is_not_fitted():
    cases = _gemm_cases(H100, {"gemm.eff.bf16": 0.70}, BIG)
    doc = fit_cases(cases, {"h100-sxm": H100})["h100-sxm"]
    assert "gemm.eff.bf16" in doc["fitted_keys"]
    for name in ("attn.eff.fa3", "mem.rmsnorm.traffic", "gemm.eff.fp8", "gemm.unaligned", "grouped.lib.deepgemm"):
        assert name not in doc["fitted_keys"] and name not in doc["values"], name
        assert doc["parameters"].get(name, {"status": "analytic"})["status"] == "analytic"
    assert doc["values"]["gemm.eff.bf16"] == pytest.approx(0.70, rel=0.02)
    assert doc["parameters"]["gemm.eff.bf16"]["data_weight"] >= W_FIT


def test_a_weakly_identified_chip_shrinks_toward_the_family_a_strong_one_does_not():
    family = _gemm_cases(H100, {"gemm.eff.bf16": 0.70}, BIG)
    weak = _gemm_cases(H200, {"gemm.eff.bf16": 0.84}, BIG[:1], tag="w")
    strong = _gemm_cases(H200, {"gemm.eff.bf16": 0.84}, BIG * 6, tag="s")
    docs = {}
    for name, own in (("weak", weak), ("strong", strong)):
        docs[name] = fit_all(family + own, {"h100-sxm": H100, "h200-sxm": H200})
    weak_doc, strong_doc = docs["weak"]["chips"]["h200-sxm"], docs["strong"]["chips"]["h200-sxm"]
    w_weak = weak_doc["parameters"]["gemm.eff.bf16"]["data_weight"]
    w_strong = strong_doc["parameters"]["gemm.eff.bf16"]["data_weight"]
    v_weak, v_strong = weak_doc["values"]["gemm.eff.bf16"], strong_doc["values"]["gemm.eff.bf16"]
    assert w_weak < w_strong
    assert 0.70 < v_weak < v_strong < 0.845  # pulled toward the family value (0.70) in proportion to weakness
    assert abs(v_strong - 0.84) < abs(v_weak - 0.84)
    assert weak_doc["parameters"]["gemm.eff.bf16"]["prior"] == pytest.approx(0.70, rel=0.02)
    assert weak_doc["parameters"]["gemm.eff.bf16"]["prior_source"] == "family"
    # a parameter only the family's cases inform is inherited, not fitted, on the chip
    fam = docs["weak"]["families"]["hopper"]
    assert set(fam["members"]) == {"h100-sxm", "h200-sxm"} and fam["without"]["h200-sxm"]["members"] == {
        "h100-sxm": len(family)}


def test_family_mode_uses_nothing_of_the_chip_itself(tmp_path):
    family = _gemm_cases(H100, {"gemm.eff.bf16": 0.70}, BIG)
    own = _gemm_cases(H200, {"gemm.eff.bf16": 0.84}, BIG, tag="o")
    moved = [dict(c, value=c["value"] * 0.5) for c in own]  # the chip's own data changed: family mode must not see it
    case = own[0]
    values = {}
    for name, data in (("own", own), ("moved", moved)):
        out = fit_all(family + data, {"h100-sxm": H100, "h200-sxm": H200})
        d = tmp_path / name
        d.mkdir()
        save_fitted(out["chips"], d)
        save_families(out["families"], d)
        values[name] = {}
        for mode in ("fitted", "family", "analytic"):
            with calibration_scope(mode, d):
                p = load_params(H200)
                values[name][mode] = (predict_value(case, H200, p), p.source)
    assert values["own"]["family"][0] == values["moved"]["family"][0]
    assert values["own"]["family"][1].endswith("without h200-sxm")
    assert values["own"]["fitted"][0] != pytest.approx(values["moved"]["fitted"][0], rel=0.05)
    assert values["own"]["analytic"][1] == "analytic"
    assert values["own"]["analytic"][0] == pytest.approx(predict_value(case, H200, KernelParams.analytic(H200)))
    with calibration_scope("family", tmp_path / "own"):  # a family member without a file of its own
        assert load_params(load_chip("h20")).source.startswith("family:")


def test_latencies_scale_with_the_clock_efficiencies_transfer_as_they_are():
    slow = dataclasses.replace(H200, id="h200-half", clock_hz=H200.clock_hz / 2)
    moved = to_chip({"gemm.latency_s": 4e-6, "mem.latency_s": 2e-6, "gemm.eff.bf16": 0.7, "launch_s": 4e-6},
                    H200.clock_hz, slow)
    assert moved == pytest.approx({"gemm.latency_s": 8e-6, "mem.latency_s": 4e-6, "gemm.eff.bf16": 0.7,
                                   "launch_s": 4e-6})
    assert to_reference(moved, slow, H200.clock_hz) == pytest.approx({"gemm.latency_s": 4e-6, "mem.latency_s": 2e-6,
                                                                      "gemm.eff.bf16": 0.7, "launch_s": 4e-6})
    assert scaling("attn.decode_latency_s") == "clock" and scaling("attn.eff.fa3") == "as_is"
    assert scaling("launch_s") == "as_is (host)"


def test_public_fit_records_identifiability_per_parameter():
    cases = [json.loads(line) for line in (DATA / "memory.jsonl").read_text().splitlines() if line.strip()]
    cases = [c for c in cases if c["hardware"] in ("h100-sxm", "h200-sxm")]
    out = fit_all(cases, {"h100-sxm": H100, "h200-sxm": H200})
    h200 = out["chips"]["h200-sxm"]
    for name, p in h200["parameters"].items():
        assert p["status"] in ("own", "pooled", "inherited", "analytic")
        assert 0.0 <= p["data_weight"] <= 1.0 and p["se_log"] > 0 and p["scaling"], name
    # H200's two STREAM cases say nothing about RMSNorm: its kernel count and traffic come from H100's cases
    assert h200["parameters"]["mem.rmsnorm.traffic"]["status"] == "inherited"
    assert h200["values"]["mem.rmsnorm.traffic"] == pytest.approx(out["chips"]["h100-sxm"]["values"][
        "mem.rmsnorm.traffic"], rel=0.05)
    assert h200["domain"]["memory"]["memory"]["cats"]["op"] == ["copy", "triad"]


def test_harness_dependent_gemm_parameters_are_inherited_only_for_a_library_the_fit_saw():
    from hundredx.kernel.gemm import gemm_time
    from hundredx.kernel.transfer import HARNESS_DEPENDENT, gemm_libraries

    h100 = load_chip("h100-sxm")
    seen = {"gemm": {"fp8": {"n": 8, "cats": {"library": ["cublaslt"], "alignment": ["aligned"]}, "dims": {}}}}
    fitted = {"gemm.latency_s": 9e-6, "gemm.mem_eff": 0.5, "gemm.overlap_p": 2.0, "gemm.k_half": 300.0,
              "gemm.unaligned": 0.9, "gemm.unaligned_mem": 0.95}
    params = dataclasses.replace(KernelParams.analytic(h100).replace_values(fitted), source="family:x.json",
                                 domains={"family": seen})
    assert gemm_libraries(params.domains) == {"cublaslt"} and gemm_libraries({}) is None
    args = (512, 4096, 4096, h100)
    known, auto = gemm_time(*args, params, "fp8", "cublaslt"), gemm_time(*args, params, "fp8", "auto")
    unseen = gemm_time(*args, params, "fp8", "torch")
    assert float(known.latency_s) == float(auto.latency_s) == 9e-6  # the fit's value where it saw the library
    assert float(unseen.latency_s) == pytest.approx(h100.kernel_launch_s)  # the analytic default where it did not
    assert "unseen" not in known.parts["notes"] and "unseen" not in auto.parts["notes"]
    note = unseen.parts["notes"]
    assert "GEMM library torch unseen" in note and "cublaslt" in note and all(k in note for k in HARNESS_DEPENDENT)
    # parameters no fit produced (the fitter's own trial vectors) are not restricted
    bare = KernelParams.analytic(h100).replace_values(fitted)
    assert float(gemm_time(*args, bare, "fp8", "torch").latency_s) == 9e-6


def test_held_out_h100_torch_gemms_use_the_defaults_of_harness_parameters(tmp_path):
    # leave H100 out: the Hopper family saw H200 cuBLASLt / H800 DeepGEMM only, so H100's torch cases price
    # its harness-dependent parameters at the analytic defaults and its cuBLASLt cases keep the family's
    from hundredx.kernel.cases import KINDS, case_time
    from hundredx.validate.runner import load_cases

    cases = load_cases(sorted(str(p) for p in (Path(__file__).resolve().parents[1] / "data" / "validation")
                              .glob("*.jsonl")))
    train = [c for c in cases if c["kind"] in KINDS and c["hardware"] != "h100-sxm"]
    fit = fit_all(train)
    save_fitted(fit["chips"], tmp_path, {})
    save_families(fit["families"], tmp_path, {})
    h100 = load_chip("h100-sxm")
    with calibration_scope("fitted", tmp_path):
        params = load_params(h100)
    assert params.source.startswith("family:")
    held = [c for c in cases if c["kind"] == "gemm" and c["hardware"] == "h100-sxm"]
    torch_case = next(c for c in held if c["config"].get("library") == "torch")
    lt_case = next(c for c in held if c["config"].get("library") == "cublaslt")
    t_torch, t_lt = case_time(torch_case, h100, params)[0], case_time(lt_case, h100, params)[0]
    assert "GEMM library torch unseen" in t_torch.parts["notes"] and "unseen" not in t_lt.parts["notes"]
    assert float(np.max(t_torch.latency_s)) == pytest.approx(h100.kernel_launch_s)
    assert float(np.max(t_lt.latency_s)) == pytest.approx(params["gemm.latency_s"])
    ape = [abs(predict_value(c, h100, params) / c["value"] - 1) for c in held]
    assert float(np.median(ape)) < 0.2  # 28% when the family's cuBLASLt/DeepGEMM harness values were carried over


def test_op_gemm_says_when_a_named_library_is_unseen_by_the_chip_fit():
    from typer.testing import CliRunner

    from hundredx.cli.app import app

    base = ["op", "gemm", "--chip", "h200-sxm", "--m", "64", "--n", "4096", "--k", "4096", "--dtype", "fp8", "--json"]
    seen = json.loads(CliRunner().invoke(app, [*base, "--library", "cublaslt"]).stdout)
    unseen = json.loads(CliRunner().invoke(app, [*base, "--library", "cutlass"]).stdout)
    assert "unseen" not in seen["notes"]
    assert "GEMM library cutlass unseen by the fit" in unseen["notes"] and "gemm.latency_s" in unseen["notes"]
