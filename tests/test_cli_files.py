"""`--out FILE.csv|.parquet|.json` on predict, serve, validate and search (issue 16, item 4): the file
holds the result's table (CSV / Parquet) or the --json object (JSON), written atomically; a bad
suffix is refused before any work; search's `--out DIR` keeps its store meaning."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from hundredx.cli import app

RUN = CliRunner()
ROOT = Path(__file__).resolve().parents[1]
M = ["--model", "meta-llama/Llama-3.1-8B-Instruct", "--chip", "h100-sxm"]


def _ok(args):
    r = RUN.invoke(app, args)
    assert r.exit_code == 0, r.output
    return r


def test_predict_writes_its_breakdown_and_json(tmp_path):
    data = json.loads(_ok(["predict", *M, "--out", str(tmp_path / "p.csv"), "--json"]).stdout)
    frame = pd.read_csv(tmp_path / "p.csv")
    assert len(frame) == len(data["breakdown"]) and set(frame["phase"]) == {"prefill", "decode"}
    assert frame["time_s"].sum() == __import__("pytest").approx(sum(r["time_s"] for r in data["breakdown"]))
    _ok(["predict", *M, "--out", str(tmp_path / "p.json")])
    assert json.loads((tmp_path / "p.json").read_text())["tpot_s"] == data["tpot_s"]


def test_serve_writes_one_row_per_request(tmp_path):
    _ok(["serve", *M, "--requests", "12", "--out", str(tmp_path / "s.parquet")])
    frame = pd.read_parquet(tmp_path / "s.parquet")
    assert len(frame) == 12 and "output_len" in frame.columns


def test_validate_and_search_tables(tmp_path):
    _ok(["validate", str(ROOT / "data/validation/memory.jsonl"), "--out", str(tmp_path / "v.csv")])
    assert len(pd.read_csv(tmp_path / "v.csv")) == 19
    data = json.loads(_ok(["search", *M, "--devices", "1", "--modes", "agg", "--top", "3", "--out",
                           str(tmp_path / "top.csv"), "--json"]).stdout)
    top = pd.read_csv(tmp_path / "top.csv")
    assert len(top) == len(data["top"]) == 3 and data["out"] is None  # a file, not a store
    assert list(top["command"]) == [r["command"] for r in data["top"]]


def test_bad_suffix_is_refused_before_work(tmp_path):
    r = RUN.invoke(app, ["predict", *M, "--out", str(tmp_path / "p.txt")])
    assert r.exit_code == 2 and "must end in .csv" in r.output and not (tmp_path / "p.txt").exists()
    (tmp_path / "d.csv").mkdir()
    r = RUN.invoke(app, ["serve", *M, "--out", str(tmp_path / "d.csv")])
    assert r.exit_code == 2 and "directory" in r.output
