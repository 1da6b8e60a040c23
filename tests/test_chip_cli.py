"""`hundredx chip list|show` and `hundredx op collective` (registered on a local typer app)."""

from __future__ import annotations

import json

import typer
from typer.testing import CliRunner

from hundredx.cli import chip_cmd
from hundredx.cli.op_collective import register_collective

runner = CliRunner()


def _apps():
    app = typer.Typer()
    chip_cmd.register(app)
    op_app = typer.Typer()
    register_collective(op_app)
    app.add_typer(op_app, name="op")
    return app


def test_chip_list_json():
    result = runner.invoke(_apps(), ["chip", "list", "--json"])
    assert result.exit_code == 0, result.output
    chips = json.loads(result.output)["chips"]
    assert len(chips) == 23 and all(c["sources"] for c in chips)


def test_chip_show_json_and_text():
    app = _apps()
    result = runner.invoke(app, ["chip", "show", "h100-sxm", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["scaleup_bytes_per_s"] == 450e9 and data["standard_system"] == "hgx-h100-8"
    assert data["kernel_catalog"]["attention"][:3] == ["fa2", "fa3", "flashmla"]  # from the kernel catalog
    text = runner.invoke(app, ["chip", "show", "gb200"])
    assert text.exit_code == 0 and "sources:" in text.output and "kernels from the kernel catalog" in text.output


def test_bad_ids_exit_2():
    app = _apps()
    for args in (["chip", "show", "h900"], ["op", "collective", "--chip", "nope", "--bytes", "1M", "--ranks", "8"],
                 ["op", "collective", "--chip", "h100-sxm", "--algorithm", "magic"],
                 ["op", "collective", "--chip", "h100-sxm", "--bytes", "lots"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 2, (args, result.output)


def test_op_collective_json():
    result = runner.invoke(_apps(), ["op", "collective", "--chip", "h100-sxm", "--op", "all_reduce", "--bytes", "1GiB",
                                     "--ranks", "8", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["algorithm"] == "nvls" and 400e9 < data["bus_bandwidth_bytes_per_s"] < 500e9
    moe = runner.invoke(_apps(), ["op", "collective", "--chip", "h800-sxm", "--op", "moe_dispatch", "--ranks", "8",
                                  "--tokens", "128", "--hidden", "7168", "--topk", "8", "--mode", "low_latency",
                                  "--json"])
    assert moe.exit_code == 0, moe.output
    assert json.loads(moe.output)["time_s"] > 0
