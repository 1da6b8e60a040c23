"""No 80% interval on a chip whose software platform no public case measures (kernel/intervals.withheld)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from hundredx.chip import load_chip
from hundredx.cli.app import app
from hundredx.kernel.intervals import load_table, measured_platforms, withheld
from hundredx.predict import predict

ROOT = Path(__file__).resolve().parents[1]
MODEL = "meta-llama/Llama-3.1-8B-Instruct"


def _public_cases() -> list[dict]:
    return [json.loads(line) for f in sorted((ROOT / "data" / "validation").glob("*.jsonl"))
            for line in f.read_text().splitlines() if line.strip()]


def test_shipped_table_lists_the_platforms_of_the_public_kernel_cases():
    table = load_table()
    cases = _public_cases()
    assert table["provenance"]["platforms"] == measured_platforms(c["hardware"] for c in cases
                                                                  if c["kind"] != "serving")
    assert {"cuda", "rocm", "xla"} <= set(table["provenance"]["platforms"])


@pytest.mark.parametrize("chip", ["h100-sxm", "mi300x", "tpu-v6e", "b200"])
def test_measured_platforms_keep_their_intervals(chip):
    assert withheld(load_chip(chip), load_table()) == ""
    pred = predict(MODEL, chip, batch=4, isl=512, osl=64)
    assert set(pred.intervals) >= {"ttft_s", "tpot_s"}
    assert all(r["interval_s"] is not None for r in pred.breakdown)
    assert not any("no 80% interval" in m for m in pred.mismatches)


@pytest.mark.parametrize("chip", ["cerebras-wse3", "trainium2", "ascend-910c"])
def test_unmeasured_platforms_give_no_interval_and_say_why(chip):
    reason = withheld(load_chip(chip), load_table())
    assert reason.startswith(f"no 80% interval on {chip}")
    pred = predict(MODEL, chip, batch=1, isl=512, osl=64)
    assert pred.intervals == {}
    assert all(r["interval_s"] is None for r in pred.breakdown)
    assert reason in pred.mismatches
    assert math.isfinite(pred.tpot_s) and pred.tpot_s > 0  # the prediction itself is still made


def test_a_table_without_platforms_withholds_nothing():
    table = {k: v for k, v in load_table().items() if k != "provenance"}
    assert withheld(load_chip("cerebras-wse3"), table) == ""


def test_op_and_search_carry_no_interval_on_an_unmeasured_platform():
    runner = CliRunner()
    out = runner.invoke(app, ["op", "gemm", "--chip", "trainium2", "--m", "128", "--n", "4096", "--k", "4096",
                              "--json"])
    assert out.exit_code == 0, out.output
    d = json.loads(out.output)
    assert d["interval_s"] is None and "no 80% interval" in d["fallback"]
    on_h100 = json.loads(runner.invoke(app, ["op", "gemm", "--chip", "h100-sxm", "--m", "128", "--n", "4096",
                                             "--k", "4096", "--json"]).output)
    assert on_h100["interval_s"][0] < on_h100["time_s"] < on_h100["interval_s"][1]
    from hundredx.search import Question, search

    res = search(Question(MODEL, "trainium2", 2, 512, 64))
    row = res.top[0]
    assert all(row[k] is None or np.isnan(row[k]) for k in ("ttft_s_lo", "tpot_s_hi"))
