"""`hundredx model list|show` through typer's CliRunner."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from hundredx.cli.app import app

runner = CliRunner()


def _out(result):
    """stderr when the runner separates it, else the mixed output."""
    try:
        return result.stderr or result.output
    except ValueError:
        return result.output


def test_model_list_json():
    result = runner.invoke(app, ["model", "list", "--json"])
    assert result.exit_code == 0
    rows = json.loads(result.stdout)["models"]
    ids = {r["id"] for r in rows}
    assert "deepseek-ai/DeepSeek-V3" in ids and all(r["params_total"] > 0 for r in rows)


def test_model_list_table():
    result = runner.invoke(app, ["model", "list"])
    assert result.exit_code == 0 and "Llama-3.1-8B" in result.stdout


def test_model_show_json_keys():
    result = runner.invoke(app, ["model", "show", "DeepSeek-V3", "--json"])
    assert result.exit_code == 0
    info = json.loads(result.stdout)
    for key in ("id", "params_total", "params_active", "num_layers", "attention", "kv_bytes_per_token",
                "weight_bytes", "moe", "quant", "not_modelled"):
        assert key in info
    assert info["attention"]["kind"] == "mla" and info["moe"]["experts"] == 256 and info["moe"]["shared"] == 1
    assert info["kv_bytes_per_token"] == 61 * 576 * 2


def test_model_show_formats():
    result = runner.invoke(app, ["model", "show", "Llama-3.1-8B-Instruct", "--weights", "fp8", "--kv", "fp8", "--json"])
    info = json.loads(result.stdout)
    assert info["quant"]["weight"] == "fp8" and info["kv_bytes_per_token"] == 32 * 2 * 8 * 128
    assert info["moe"] is None


def test_model_show_table():
    result = runner.invoke(app, ["model", "show", "gpt-oss-20b"])
    assert result.exit_code == 0 and "params total" in result.stdout


def test_bad_model_exit_2_one_line():
    result = runner.invoke(app, ["model", "show", "no-such-model"])
    assert result.exit_code == 2
    lines = [line for line in _out(result).splitlines() if line.strip()]
    assert len(lines) == 1 and "model" in lines[0] and "no-such-model" in lines[0]


def test_bad_format_exit_2():
    result = runner.invoke(app, ["model", "show", "Llama-3.1-8B-Instruct", "--weights", "fp3"])
    assert result.exit_code == 2 and "weights" in _out(result)
