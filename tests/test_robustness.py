"""Issue 14's defects, one regression each: the input boundary (one clear line, exit 2), flagged fallbacks,
a deterministic report, and the fuzz suite's outcome rule itself (it must be able to fail)."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pytest

from fuzzgen import LLAMA8, ONE_LINE, check_outcome, good_case, invoke, llama_config
from hundredx.cli.common import bounded
from hundredx.errors import InputError, shorten

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
PREDICT = ["predict", "--model", LLAMA8, "--chip", "h100-sxm"]


def _refused(args: list[str], *words: str) -> str:
    r = invoke(args)
    assert r.exit_code == 2, r.output
    line = r.stderr.strip()
    assert "\n" not in line and ONE_LINE.match(line), line
    for word in words:
        assert word in line, line
    return line


@pytest.mark.parametrize("flag", ["--tp", "--pp", "--dp", "--cp", "--ep"])
def test_zero_parallel_degrees_name_the_flag(flag):
    _refused([*PREDICT, flag, "0"], flag.lstrip("-") + "=0")


@pytest.mark.parametrize("args, words", [
    (["--concurrency", "0"], ("concurrency=0",)),
    (["--top", "-1"], ("top=-1",)),
    (["--prefill-tp", "2"], ("prefill-tp=2", "--disagg")),
    (["--tp", "abc"], ("--tp='abc'",)),
    (["--frobnicate", "1"], ("option='--frobnicate'", "no such option")),
    (["--isl", "200000"], ("isl+osl=200128", "max_position_embeddings=131072")),
])
def test_predict_flags_refused_in_one_line(args, words):
    _refused([*PREDICT, *args], *words)


def test_ep_that_does_not_tile_tp_is_refused():
    _refused(["predict", "--model", "deepseek-ai/DeepSeek-V3", "--chip", "hgx-h200-8", "--tp", "8", "--ep", "7"],
             "ep=7", "tp")


def test_missing_kernel_is_a_flagged_fallback():
    r = invoke([*PREDICT, "--attention-kernel", "fa4", "--json"])
    assert r.exit_code == 0, r.output
    fallbacks = json.loads(r.stdout)["fallbacks"]
    assert any("fa4" in f and "h100-sxm" in f for f in fallbacks), fallbacks
    r = invoke([*PREDICT, "--attention-kernel", "fa3", "--json"])
    assert not any("fa3" in f for f in json.loads(r.stdout)["fallbacks"])


def test_unknown_quantization_is_refused_not_priced_as_bf16(tmp_path):
    cfg = {**llama_config(), "quantization_config": {"quant_method": "frobnicate"}}
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    _refused(["predict", "--model", str(tmp_path / "config.json"), "--chip", "h100-sxm"],
             "config.quantization_config.quant_method='frobnicate'")


@pytest.mark.parametrize("args, words", [
    (["op", "memory", "--chip", "h100-sxm", "--bytes", "nan"], ("--bytes=nan", "finite")),
    (["op", "memory", "--chip", "h100-sxm", "--bytes", "0"], ("bytes=0",)),
    (["op", "gemm", "--chip", "h100-sxm", "--m", "0", "--n", "8", "--k", "8"], ("m=0",)),
    (["op", "collective", "--chip", "hgx-h100-8", "--ranks", "1000000"], ("ranks=1000000",)),
    (["op", "collective", "--chip", "hgx-h100-8", "--ranks", "16", "--scope", "intra_node"], ("ranks=16", "scale-up")),
    (["serve", "--model", LLAMA8, "--chip", "h100-sxm", "--rate", "inf"], ("--rate=inf",)),
    (["serve", "--model", LLAMA8, "--chip", "h100-sxm", "--requests", "4", "--osl", "1"], ("osl=1", "TPOT")),
    (["serve", "--model", "meta-llama/Llama-3.1-70B-Instruct", "--chip", "h100-sxm", "--tp", "2", "--requests", "3",
      "--isl", "100000"], ("isl=100000", "no request completed")),
])
def test_nan_producing_inputs_are_refused(args, words):
    _refused(args, *words)


def test_serve_trace_longer_than_the_context(tmp_path):
    trace = tmp_path / "t.csv"
    trace.write_text("timestamp,input_length,output_length\n0,100,10\n1,200000,10\n")
    _refused(["serve", "--model", LLAMA8, "--chip", "h100-sxm", "--trace", str(trace)],
             "trace.input_length[row 1]=200000", "max_position_embeddings")


@pytest.mark.parametrize("line, words", [
    ('"value": NaN', ("c.jsonl:2", "NaN")),
    ('"value": -5', ("c.jsonl:2 value=-5",)),
    ('"value": 0', ("c.jsonl:2 value=0",)),
    ('"value": null', ("c.jsonl:2 value=None",)),
    ('"value": [1, 2]', ("c.jsonl:2 value=[1, 2]",)),
    ('"kind": "bogus"', ("c.jsonl:2 kind='bogus'",)),
    ('"metric": "furlongs"', ("c.jsonl:2 metric='furlongs'",)),
    ('"config": {"m": -4, "n": 1, "k": 1}', ("c.jsonl:2 config.m=-4",)),
])
def test_validate_trusts_no_measured_value(tmp_path, line, words):
    bad = json.dumps(good_case(1))
    key = line.split(":")[0]
    start = bad.index(key)
    end = bad.index(', "', start + len(line.split(":")[0]) + 2) if key != '"config"' else bad.index('}', start) + 1
    path = tmp_path / "c.jsonl"
    path.write_text(json.dumps(good_case(0)) + "\n" + bad[:start] + line + bad[end:] + "\n")
    _refused(["validate", str(path)], *words)


def test_validate_kind_with_no_case_is_refused(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_text(json.dumps(good_case(0)) + "\n")
    _refused(["validate", str(path), "--kind", "bogus"], "kind='bogus'")
    _refused(["validate", str(path), "--kind", "serving"], "kind='serving'", "no case")


@pytest.mark.skipif(not os.path.exists("/dev/null"), reason="needs /dev/null")
def test_report_refuses_non_regular_outputs(tmp_path):
    a, b = str(EXAMPLES / "llama70b-h100-bf16.yaml"), str(EXAMPLES / "llama70b-b200-fp8.yaml")
    _refused(["report", a, b, "--html", "/dev/null"], "html='/dev/null'", "regular file")
    (tmp_path / "d").mkdir()
    _refused(["report", a, b, "--html", str(tmp_path / "d")], "directory")
    _refused(["report", a, b, "--html", str(tmp_path / "r.html"), "--png", str(tmp_path / "d")], "directory")
    assert not (tmp_path / "r.html").exists()  # the pair lands together or not at all


def test_report_is_deterministic(tmp_path):
    a, b = str(EXAMPLES / "llama70b-h100-bf16.yaml"), str(EXAMPLES / "llama70b-b200-fp8.yaml")
    for name in ("1.html", "2.html"):
        assert invoke(["report", a, b, "--html", str(tmp_path / name)]).exit_code == 0
    one, two = (tmp_path / "1.html").read_bytes(), (tmp_path / "2.html").read_bytes()
    assert one == two and b"dc:date" not in one


def test_bounded_and_shorten():
    assert bounded("x", 3, 1, 4) == 3 and bounded("x", None, 1, 4) is None
    for bad in (0, 5, math.nan, math.inf, True, "3"):
        with pytest.raises(InputError, match="x="):
            bounded("x", bad, 1, 4)
    import numpy as np

    assert shorten(np.float64("nan")) == "nan" and shorten(np.int64(-3)) == "-3"
    assert len(shorten("q" * 10_000)) <= 120


class _Result:
    def __init__(self, exit_code=0, stdout="", stderr="", exception=None):
        self.exit_code, self.stdout, self.stderr, self.exception = exit_code, stdout, stderr, exception
        self.output = stdout + stderr


@pytest.mark.parametrize("result", [
    _Result(1, exception=ZeroDivisionError("division by zero")),
    _Result(2, stderr="Usage: hundredx predict\nerror: tp=0: no\n"),
    _Result(2, stderr="error: something went wrong\n"),
    _Result(0, stdout="throughput nan tokens/s\n"),
    _Result(0, stdout='{"ttft_s": null}'),
])
def test_the_fuzz_rule_can_fail(result):
    with pytest.raises(AssertionError):
        check_outcome(result, "self-test")


def test_the_fuzz_rule_accepts_the_two_good_endings():
    assert check_outcome(_Result(2, stderr="error: tp=0: must be >= 1\n")) == "refused"
    assert check_outcome(_Result(0, stdout='{"ttft_s": 0.01}')) == "ok"


def test_serve_flags_its_substitutions():
    r = invoke(["serve", "--model", LLAMA8, "--chip", "h100-sxm", "--requests", "8", "--weights", "nvfp4", "--json"])
    assert r.exit_code == 0, r.output
    assert any("fp4->fp8" in f for f in json.loads(r.stdout)["fallbacks"])
    r = invoke(["serve", "--model", LLAMA8, "--chip", "h100-sxm", "--requests", "8", "--json"])
    assert json.loads(r.stdout)["fallbacks"] == []


def test_boundary_guards_any_command_but_not_its_defaults():
    import typer
    from typer.testing import CliRunner

    from hundredx.cli.boundary import OneLineGroup

    demo = typer.Typer(cls=OneLineGroup)

    @demo.command("run")
    def run(rate: float = typer.Option(math.inf), ttft_limit: float | None = None, n: int = 1) -> None:
        typer.echo(f"rate={rate:g}")

    @demo.command("other")
    def other() -> None:
        pass

    runner = CliRunner()
    assert runner.invoke(demo, ["run"]).stdout.strip() == "rate=inf"  # the command's own default
    for args, line in ((["run", "--rate", "nan"], "error: --rate=nan: must be a finite number"),
                       (["run", "--ttft-limit", "0"], "error: --ttft-limit=0.0: a limit must be > 0"),
                       (["run", "--n", "x"], "error: --n='x': "),
                       (["run", "--bogus"], "error: option='--bogus': no such option")):
        r = runner.invoke(demo, args)
        assert r.exit_code == 2 and r.stderr.startswith(line) and r.stderr.count("\n") == 1, r.output


@pytest.mark.parametrize("value", [math.nan, -1.0, 0.0, None, [1], "x", 1e300])
def test_a_hand_edited_fitted_file_is_checked(tmp_path, monkeypatch, value):
    shipped = Path(__file__).resolve().parents[1] / "src/hundredx/kernel/fitted/h100-sxm.json"
    doc = json.loads(shipped.read_text())
    doc["values"]["gemm.eff.bf16"] = value
    (tmp_path / "fitted").mkdir()
    (tmp_path / "fitted" / "h100-sxm.json").write_text(json.dumps(doc))
    monkeypatch.setenv("HUNDREDX_HOME", str(tmp_path))
    _refused([*PREDICT, "--json"], "fitted.values.gemm.eff.bf16=", "h100-sxm.json")
