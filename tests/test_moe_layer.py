"""Issue 11 item (c): the `moe_layer` case kind and `hundredx op moe_layer`. The expected values are the
sums of the individual kernel cases' predictions (validate.kernels / validate.collective), written by hand."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from hundredx.cli import app
from hundredx.validate.collective import predict_case as collective_case
from hundredx.validate.kernels import predict_case as kernel_case
from hundredx.validate.moe_layer import predict_case
from hundredx.validate.runner import run_cases

QWEN3_30B = {"tokens": 4096, "hidden": 2048, "intermediate": 768, "experts": 128, "topk": 8}


def _memory(chip, nbytes, op):
    return kernel_case({"kind": "memory", "hardware": chip, "metric": "time_s", "config": {"bytes": nbytes, "op": op}})


def _grouped(chip, k, n, groups, rows, dtype="bf16"):
    return kernel_case({"kind": "grouped_gemm", "hardware": chip, "metric": "time_s",
                        "config": {"k": k, "n": n, "groups": groups, "tokens_total": rows, "dtype": dtype,
                                   "library": "deepgemm"}})


def test_moe_layer_is_the_sum_of_its_kernels():
    chip, t, h, i, e, k = "h100-sxm", 4096, 2048, 768, 128, 8
    case = {"id": "hand-qwen3-30b-moe", "kind": "moe_layer", "hardware": chip, "metric": "time_s",
            "config": dict(QWEN3_30B, dtype="bf16"), "value": 1e-3}
    expected = (_memory(chip, (t + t * k) * h * 2, "gather")          # permute
                + _grouped(chip, h, 2 * i, e, t * k)                   # up + gate
                + _memory(chip, 3 * i * t * k * 2, "activation")      # SwiGLU
                + _grouped(chip, i, h, e, t * k)                       # down
                + _memory(chip, (t * k + t) * h * 2, "gather"))       # unpermute
    assert predict_case(case) == pytest.approx(expected, rel=1e-9)
    flops = 2 * t * k * h * 3 * i
    assert predict_case({**case, "metric": "tflops"}) == pytest.approx(flops / expected / 1e12, rel=1e-9)
    (result,) = run_cases([case])
    assert result.predicted == pytest.approx(expected, rel=1e-9)


def test_moe_layer_with_expert_parallel_dispatch_and_combine():
    chip, t, h, i, e, k, ep = "h800-sxm", 128, 7168, 2048, 256, 8, 8
    case = {"kind": "moe_layer", "hardware": chip, "metric": "time_s", "value": 1e-3,
            "config": {"tokens": t, "hidden": h, "intermediate": i, "experts": e, "topk": k, "dtype": "fp8", "ep": ep}}
    moe = {"n_ranks": ep, "tokens": t, "hidden": h, "topk": k, "experts": e}
    dispatch = collective_case({"hardware": chip, "metric": "time_s",
                                "config": {"op": "moe_dispatch", "dtype": "fp8", **moe}})
    combine = collective_case({"hardware": chip, "metric": "time_s",
                               "config": {"op": "moe_combine", "dtype": "bf16", **moe}})
    expected = (dispatch + _memory(chip, (t + t * k) * h, "gather") + _grouped(chip, h, 2 * i, e // ep, t * k, "fp8")
                + _memory(chip, 3 * i * t * k, "activation") + _grouped(chip, i, h, e // ep, t * k, "fp8")
                + _memory(chip, (t * k + t) * h, "gather") + combine)
    assert predict_case(case) == pytest.approx(expected, rel=1e-9)
    assert dispatch > 0 and combine > 0


def test_bad_cases_and_cli():
    from hundredx.validate.base import Unpredictable

    with pytest.raises(Unpredictable, match="intermediate"):
        predict_case({"kind": "moe_layer", "hardware": "h100-sxm", "metric": "time_s",
                      "config": {k: v for k, v in QWEN3_30B.items() if k != "intermediate"}})
    with pytest.raises(Unpredictable, match="ep"):
        predict_case({"kind": "moe_layer", "hardware": "h100-sxm", "metric": "time_s",
                      "config": dict(QWEN3_30B, ep=3)})
    runner = CliRunner()
    args = ["op", "moe_layer", "--chip", "h100-sxm"] + [f"--{k}={v}" for k, v in QWEN3_30B.items()]
    res = runner.invoke(app, args + ["--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    case = {"kind": "moe_layer", "hardware": "h100-sxm", "metric": "time_s", "config": QWEN3_30B}
    assert out["time_s"] == pytest.approx(predict_case(case)) and set(out["steps"]) == {
        "permute", "up_gate", "activation", "down", "unpermute"}
    bad = runner.invoke(app, ["op", "moe_layer", "--chip", "h100-sxm", "--tokens", "8", "--hidden", "64",
                              "--intermediate", "64", "--experts", "4", "--topk", "8"])
    assert bad.exit_code == 2 and "topk" in bad.output
