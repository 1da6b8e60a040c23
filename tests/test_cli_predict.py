"""`hundredx predict`: JSON keys, parallelism resolution, clean errors (exit 2, one line)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from hundredx.cli import app

RUN = CliRunner()
KEYS = {"ttft_s", "tpot_s", "output_tokens_per_s", "output_tokens_per_s_per_device", "tokens_per_s_per_user",
        "memory_per_device_bytes", "bottleneck", "lower_bound", "breakdown", "provenance"}


def test_predict_json_has_the_documented_keys():
    r = RUN.invoke(app, ["predict", "--model", "meta-llama/Llama-3.1-8B-Instruct", "--chip", "h100-sxm",
                         "--batch", "4", "--isl", "512", "--osl", "64", "--json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert KEYS <= set(data)
    assert data["output_tokens_per_s_per_device"] == pytest.approx(data["output_tokens_per_s"])
    assert data["lower_bound"]["tpot_s"] <= data["tpot_s"]
    assert any(row["op"] == "attn.core" for row in data["breakdown"])


def test_devices_fill_tensor_parallelism():
    r = RUN.invoke(app, ["predict", "--model", "meta-llama/Llama-3.1-70B-Instruct", "--chip", "h100-sxm",
                         "--devices", "8", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["parallelism"]["tp"] == 8


@pytest.mark.parametrize("args,needle", [
    (["--model", "nope/nope", "--chip", "h100-sxm"], "model"),
    (["--model", "meta-llama/Llama-3.1-8B-Instruct", "--chip", "z80"], "chip"),
    (["--model", "meta-llama/Llama-3.1-8B-Instruct", "--chip", "h100-sxm", "--tp", "3"], "tp"),
    (["--model", "meta-llama/Llama-3.1-8B-Instruct", "--chip", "h100-sxm", "--batch", "-1"], "batch"),
    (["--model", "meta-llama/Llama-3.1-70B-Instruct", "--chip", "h100-sxm", "--tp", "1"], "does not fit"),
    (["--model", "meta-llama/Llama-3.1-8B-Instruct", "--chip", "h100-sxm", "--weights", "fp5"], "weights"),
])
def test_bad_input_exits_2_with_one_line(args, needle):
    r = RUN.invoke(app, ["predict", *args])
    assert r.exit_code == 2
    lines = [line for line in r.output.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and needle in lines[0], r.output
    assert "Traceback" not in r.output
