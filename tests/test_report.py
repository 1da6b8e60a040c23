"""`hundredx decompose` / `hundredx report` CLI: JSON, HTML with charts, PNG, errors exit 2 naming the field."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from hundredx.cli.app import app

EX = Path(__file__).resolve().parents[1] / "examples"
A, B = str(EX / "llama70b-h100-bf16.yaml"), str(EX / "llama70b-b200-fp8.yaml")


def test_report_writes_html_and_png(tmp_path):
    html, png = tmp_path / "r.html", tmp_path / "w.png"
    result = CliRunner().invoke(app, ["report", A, B, "--html", str(html), "--png", str(png)])
    assert result.exit_code == 0, result.output
    page = html.read_text()
    assert "data:image/png;base64," in page and "<svg" in page
    assert "Waterfall" in page and "Roofline" in page and "Memory" in page and "Mismatches" in page
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # atomic writes leave no temp files


def test_decompose_json_with_step_file(tmp_path):
    step = tmp_path / "fp8.yaml"
    step.write_text("name: weights to fp8\nchanges:\n  model.weights: fp8\n")
    result = CliRunner().invoke(app, ["decompose", A, B, "--json", "--waterfall", str(step)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["waterfall"][1]["label"] == "weights to fp8"
    assert data["total"] > 1


def test_bad_stack_file_exits_2_naming_the_field(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(Path(A).read_text().replace("tp: 8", "tp: 3"))
    result = CliRunner().invoke(app, ["decompose", str(bad), B])
    assert result.exit_code == 2
    assert "kernel.tp=3" in result.output and "64 attention heads" in result.output
    result = CliRunner().invoke(app, ["decompose", A, B, "--metric", "speed"])
    assert result.exit_code == 2 and "metric" in result.output
