"""`hundredx serve` (and a bad `hundredx pareto`): wired to the predict-backed simulator, JSON out, clean errors."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from hundredx.cli import app

RUN = CliRunner()
BASE = ["--model", "meta-llama/Llama-3.1-8B-Instruct", "--chip", "h100-sxm"]


def _serve(*args):
    r = RUN.invoke(app, ["serve", *BASE, *args, "--json"])
    assert r.exit_code == 0, r.output
    return json.loads(r.output)


def test_closed_loop_conserves_requests_and_reports_metrics():
    d = _serve("--concurrency", "8", "--requests", "40", "--isl", "256", "--osl", "32")
    assert d["finished"] == 40 and d["output_tokens"] == 40 * 32
    assert 0 < d["ttft_p50_s"] <= d["ttft_p99_s"]
    assert d["usd_per_million_output_tokens"] > 0 and d["joules_per_output_token"] > 0
    assert d["kv_leaked_blocks"] == 0


def test_more_concurrency_more_throughput_less_per_user():
    low = _serve("--concurrency", "1", "--requests", "16", "--isl", "128", "--osl", "32")
    high = _serve("--concurrency", "16", "--requests", "64", "--isl", "128", "--osl", "32")
    assert high["output_tokens_per_s"] > 2 * low["output_tokens_per_s"]
    assert high["tpot_p50_s"] >= low["tpot_p50_s"]


def test_disaggregated_and_speculative_paths_run():
    pd_ = _serve("--disagg", "1:1", "--rate", "4", "--requests", "30", "--isl", "256", "--osl", "32")
    assert pd_["devices"] == 2 and pd_["finished"] == 30
    spec = _serve("--concurrency", "1", "--requests", "8", "--isl", "128", "--osl", "64", "--spec", "mtp:3:0.8")
    base = _serve("--concurrency", "1", "--requests", "8", "--isl", "128", "--osl", "64")
    assert spec["tpot_p50_s"] < base["tpot_p50_s"]


def test_trace_replay(tmp_path):
    trace = tmp_path / "t.csv"
    trace.write_text("timestamp,input_length,output_length\n0.0,100,10\n0.05,200,20\n0.1,50,5\n")
    d = _serve("--trace", str(trace))
    assert d["finished"] == 3 and d["output_tokens"] == 35


@pytest.mark.parametrize("args,needle", [(["--disagg", "2-2"], "disagg"), (["--spec", "mtp:x:1"], "spec"),
                                         (["--rate", "1", "--concurrency", "2"], "concurrency")])
def test_bad_serve_input_exits_2(args, needle):
    r = RUN.invoke(app, ["serve", *BASE, *args])
    assert r.exit_code == 2 and needle in r.output and "Traceback" not in r.output


def test_attention_ffn_disaggregation_and_prefill_pool_parallelism():
    afd = RUN.invoke(app, ["serve", "--model", "Qwen/Qwen3-30B-A3B", "--chip", "h100-sxm", "--afd", "2:4",
                           "--concurrency", "16", "--requests", "40", "--isl", "256", "--osl", "16", "--json"])
    assert afd.exit_code == 0, afd.output
    d = json.loads(afd.output)
    assert d["devices"] == 6 and d["finished"] == 40
    pd_ = RUN.invoke(app, ["serve", "--model", "meta-llama/Llama-3.1-70B-Instruct", "--chip", "h100-sxm", "--tp", "4",
                           "--disagg", "4:4", "--prefill-tp", "2", "--rate", "2", "--requests", "20", "--json"])
    assert pd_.exit_code == 0, pd_.output
    assert json.loads(pd_.output)["devices"] == 8
    both = RUN.invoke(app, ["serve", *BASE, "--afd", "1:1", "--disagg", "1:1"])
    assert both.exit_code == 2 and "afd" in both.output


def test_the_two_sides_of_a_step_add_up_to_the_whole_step():
    from hundredx.chip import load_system
    from hundredx.kernel.runtime import RuntimeSpec
    from hundredx.model import load_model
    from hundredx.predict.step import ATTENTION_SIDE, FFN_SIDE, StackStepCost
    from hundredx.scenario import Stack

    stack = Stack(load_model("Qwen/Qwen3-30B-A3B"), load_system("h100-sxm"), RuntimeSpec(tp=2))
    args = (512, 2, 0, 32, 32 * 900)
    whole = StackStepCost(stack).step_time_s(*args)
    attn = StackStepCost(stack, ATTENTION_SIDE).step_time_s(*args)
    ffn = StackStepCost(stack, FFN_SIDE, host=False).step_time_s(*args)
    assert attn + ffn == pytest.approx(whole, rel=1e-9)
    assert StackStepCost(stack, ATTENTION_SIDE).kv_capacity_bytes > StackStepCost(stack).kv_capacity_bytes


def test_bad_pareto_model_and_missing_trace_fail_cleanly(tmp_path):
    r = RUN.invoke(app, ["pareto", "--model", "nope/nope", "--chip", "h100-sxm", "--devices", "8"])
    assert r.exit_code == 2 and "model" in r.output
    r = RUN.invoke(app, ["serve", *BASE, "--trace", str(tmp_path / "missing.csv")])
    assert r.exit_code == 2 and "missing.csv" in r.output and "Traceback" not in r.output
