"""The CLI as a new user meets it (issue 16, item 1): --version, shell completion, help text with
units on every option, --json on every command (one JSON object), and output that wraps rather
than cuts at 80 columns."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from hundredx.cli import app

RUN = CliRunner()
EX = Path(__file__).resolve().parents[1] / "src" / "hundredx" / "examples"
TYPER_OWN = {"help", "install_completion", "show_completion"}
UNIT = re.compile(r"\(unit: [^)]+\)")


def _commands(cmd=None, path=()):
    cmd = cmd or typer.main.get_command(app)
    if path:
        yield path, cmd  # a group's own options (search) count as a command's
    for name, sub in getattr(cmd, "commands", {}).items():
        yield from _commands(sub, (*path, name))


def _options():
    for path, cmd in _commands():
        for p in cmd.params:
            if p.param_type_name == "option" and p.name not in TYPER_OWN:
                yield " ".join(path), p


def test_version_and_completion():
    r = RUN.invoke(app, ["--version"])
    from hundredx import __version__

    assert r.exit_code == 0 and r.output.strip() == f"hundredx {__version__}"
    helptext = RUN.invoke(app, ["--help"]).output
    assert "--install-completion" in helptext and "--show-completion" in helptext


def test_every_option_has_help_and_numeric_ones_a_unit():
    missing = [f"{c} {p.opts[0]}" for c, p in _options() if not (p.help or "").strip()]
    assert not missing, missing
    numeric = [(c, p) for c, p in _options() if str(p.bare_type()) in ("int", "float")]
    assert len(numeric) > 50
    no_unit = [f"{c} {p.opts[0]}: {p.help}" for c, p in numeric if not UNIT.search(p.help or "")]
    assert not no_unit, no_unit


def test_every_command_has_json():
    leaves = [(" ".join(path), cmd) for path, cmd in _commands() if not getattr(cmd, "commands", None)
              or path == ("search",)]
    without = [name for name, cmd in leaves if not any("--json" in p.opts for p in cmd.params)]
    assert not without, without


def _json_commands(tmp: Path) -> list[list[str]]:
    a, b = str(EX / "llama70b-h100-bf16.yaml"), str(EX / "llama70b-b200-fp8.yaml")
    store = str(tmp / "search")
    small = ["--model", "meta-llama/Llama-3.1-8B-Instruct", "--chip", "h100-sxm", "--devices", "1", "--modes", "agg"]
    return [["version"], ["model", "list"], ["model", "show", "meta-llama/Llama-3.1-8B-Instruct"],
            ["chip", "list"], ["chip", "show", "h100-sxm"],
            ["predict", "--model", "meta-llama/Llama-3.1-8B-Instruct", "--chip", "h100-sxm"],
            ["op", "gemm", "--chip", "h100-sxm", "--m", "64", "--n", "4096", "--k", "4096"],
            ["op", "attention", "--chip", "h100-sxm", "--seqlen-kv", "1024", "--heads-q", "32"],
            ["op", "memory", "--chip", "h100-sxm", "--bytes", "1e8"],
            ["op", "grouped-gemm", "--chip", "h100-sxm", "--k", "2048", "--n", "1024", "--groups", "8",
             "--tokens", "256"],
            ["op", "collective", "--chip", "h100-sxm"],
            ["serve", "--model", "meta-llama/Llama-3.1-8B-Instruct", "--chip", "h100-sxm", "--requests", "20"],
            ["decompose", a, b], ["report", a, b, "--html", str(tmp / "r.html")],
            ["stack", "check", a], ["stack", "show", a], ["stack", "schema"],
            ["search", *small, "--out", store], ["search", "query", store, "SELECT count(*) AS n FROM rows"],
            ["pareto", store], ["validate", "data/validation/memory.jsonl"]]


def test_each_command_prints_one_json_object(tmp_path, monkeypatch):
    monkeypatch.chdir(Path(__file__).resolve().parents[1])
    for args in _json_commands(tmp_path):
        r = RUN.invoke(app, [*args, "--json"])
        assert r.exit_code == 0, (args, r.output)
        assert isinstance(json.loads(r.stdout), dict), args


@pytest.fixture()
def narrow(monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")


def _columns(text: str) -> list[str]:
    """Each table column's cells, joined over all body lines, whitespace dropped: a folded cell
    reads back whole (rich writes a folded cell's pieces on consecutive lines of its column)."""
    cols: dict[int, str] = {}
    for line in text.splitlines():
        if line.startswith("│"):
            for j, cell in enumerate(line.strip("│").split("│")):
                cols[j] = cols.get(j, "") + re.sub(r"\s+", "", cell)
    return list(cols.values())


def test_tables_fold_at_80_columns(narrow):
    r = RUN.invoke(app, ["chip", "list"])
    assert r.exit_code == 0 and "…" not in r.output
    assert all(len(line) <= 80 for line in r.output.splitlines())
    ids = [line.split("│")[1].strip().rstrip("*") for line in r.output.splitlines() if line.startswith("│")]
    assert "gb200" in ids and "mi355x" in ids and len(ids) == 23  # one line per chip, ids whole
    a, b = str(EX / "llama70b-h100-bf16.yaml"), str(EX / "dsr1-gb200-nvl72-fp4.yaml")
    d = RUN.invoke(app, ["decompose", a, b])
    assert d.exit_code == 0 and "…" not in d.output
    assert all(len(line) <= 80 for line in d.output.splitlines())
    data = json.loads(RUN.invoke(app, ["decompose", a, b, "--json"]).stdout)
    messages = [m["message"] for k in ("a", "b") for m in data["mismatches"].get(k, [])]
    assert any("lm_head N=16032" in m for m in messages)
    text = "".join(_columns(d.output))
    for m in messages:
        assert re.sub(r"\s+", "", m) in text  # the full text, folded, not cut


def test_claims_text_is_not_cut(narrow):
    r = RUN.invoke(app, ["claims"])
    assert r.exit_code == 0 and "…" not in r.output
    data = json.loads(RUN.invoke(app, ["claims", "--json"]).stdout)
    text = "".join(_columns(r.output))
    for c in data["claims"]:
        assert re.sub(r"\s+", "", c["claimed_text"]) in text


def test_predict_breakdown_wraps_at_80_columns(narrow):
    args = ["predict", "--model", "meta-llama/Llama-3.1-8B-Instruct", "--chip", "h100-sxm"]
    r = RUN.invoke(app, args)
    assert r.exit_code == 0 and "…" not in r.output
    assert all(len(line) <= 80 for line in r.output.splitlines())
    data = json.loads(RUN.invoke(app, [*args, "--json"]).stdout)
    decode = sorted((row for row in data["breakdown"] if row["phase"] == "decode"), key=lambda row: -row["time_s"])[:8]
    table = r.output.split("decode step breakdown")[1]
    cols = _columns(table)
    ops = [line.split("│")[1].strip() for line in table.splitlines() if line.startswith("│")]
    assert [row["op"] for row in decode] == [o for o in ops if o]  # op names whole, one line each
    assert "".join(re.sub(r"\s+", "", row["source"]) for row in decode) == cols[-1]  # sources folded, not cut
