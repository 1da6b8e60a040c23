"""The report's plots show the data they claim (issue 16, item 5): the roofline puts each op at the
bytes it is priced with under its own format's roof (fused ops no longer above it), names the
slowest ops and hovers in plotly; the plotly page works offline; the memory chart names the stacks
and uses GiB; pareto legends carry tp= and the stack; every mismatch row has a cost; the report
has an op-by-op A-vs-B table."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from hundredx.cli import app
from hundredx.predict import predict
from hundredx.predict.engine import chip_params
from hundredx.report.charts import memory_bars, memory_figure, roofline_figure
from hundredx.report.roofline import roofline_points
from hundredx.stackfile import load_stack

EX = Path(__file__).resolve().parents[1] / "src" / "hundredx" / "examples"
A, B = EX / "llama70b-h100-bf16.yaml", EX / "dsr1-gb200-nvl72-fp4.yaml"
RUN = CliRunner()


@pytest.fixture(scope="module")
def fp4():
    scn = load_stack(B)
    return scn, roofline_points(scn.stack, scn.workload)


def test_points_use_priced_bytes_and_their_own_roof(fp4):
    scn, pts = fp4
    chip, params = scn.stack.chip, chip_params(scn.stack.chip)
    fused = [p for p in pts if p["fused"]]
    assert fused, "the stack fuses its norms and activations"
    for p in fused:  # timed with mem.fused_share of the nominal bytes
        assert p["bytes"] == pytest.approx(p["nominal_bytes"] * params["mem.fused_share"])
        assert p["bytes"] < p["nominal_bytes"]
    for p in pts:
        roof = min(chip.peak(p["format"]), p["intensity"] * chip.mem_bytes_per_s)
        assert p["roof_flops_per_s"] == pytest.approx(roof)
        assert p["achieved_flops_per_s"] <= p["roof_flops_per_s"] * (1 + 1e-6), p  # nothing above its roof
    formats = {p["format"] for p in pts if p["kind"] in ("gemm", "grouped_gemm")}
    assert "fp4" in formats and "bf16" in formats  # fp4 experts and bf16 ops each under their own roof
    assert max(chip.peak_flops_per_s.values()) > chip.peak("bf16")


def test_points_are_the_predictions_times(fp4):
    scn, pts = fp4
    pred = predict(scn)
    times: dict = {}
    for r in pred.breakdown:
        times[(r["phase"], r["op"])] = times.get((r["phase"], r["op"]), 0.0) + r["time_s"]
    drawn: dict = {}
    for p in pts:  # an op name recurs per layer group (dense and MoE layers)
        drawn[(p["phase"], p["op"])] = drawn.get((p["phase"], p["op"]), 0.0) + p["total_time_s"]
    for key, t in drawn.items():
        assert times[key] == pytest.approx(t, rel=1e-6), key


def test_static_roofline_draws_the_points_and_names_ops(fp4):
    scn, pts = fp4
    fig = roofline_figure([("B: fp4", scn.stack.chip, pts)])
    ax = fig.axes[0]
    drawn = np.vstack([c.get_offsets() for c in ax.collections])
    want = np.array([[p["intensity"], p["achieved_flops_per_s"]] for p in pts if p["phase"] == "decode"]
                    + [[p["intensity"], p["achieved_flops_per_s"]] for p in pts if p["phase"] == "prefill"])
    np.testing.assert_allclose(drawn, want)
    labels = {t.get_text() for t in ax.texts}
    slowest = max((p for p in pts if p["phase"] == "decode"), key=lambda p: p["total_time_s"])
    assert slowest["op"] in labels
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("fp4 roof" in t for t in legend) and any("bf16 roof" in t for t in legend)


def test_memory_chart_names_stacks_in_gib():
    scn = load_stack(A)
    mem = predict(scn).memory.to_dict()
    bars = memory_bars([("A: Llama 70B on H100", mem)])
    assert bars[0]["weights"] == pytest.approx(mem["weights"] / 2**30)
    ax = memory_figure([("A: Llama 70B on H100", mem)]).axes[0]
    assert ax.get_ylabel() == "GiB per device"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["A: Llama 70B on H100"]


def test_report_files_interactive_offline_op_table_and_costs(tmp_path):
    out = {k: tmp_path / f for k, f in (("html", "r.html"), ("interactive", "i.html"), ("roof", "roof.png"))}
    r = RUN.invoke(app, ["report", str(A), str(B), "--html", str(out["html"]), "--interactive",
                         str(out["interactive"]), "--roofline-png", str(out["roof"]), "--json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    page = out["html"].read_text()
    assert "Op by op (decode step)" in page and "speed-up B/A" in page and "ffn.down" in page
    a_name, b_name = data["decomposition"]["a"]["name"], data["decomposition"]["b"]["name"]
    assert f"A: {a_name}" in page and f"B: {b_name}" in page
    rows = re.findall(r"<tr>(.*?)</tr>", page.split("<h2>Mismatches</h2>")[1].split("<h2>")[0])
    assert len(rows) > 1
    for row in rows[1:]:
        cells = re.findall(r"<td>(.*?)</td>", row)
        assert cells[4] not in ("-", "") and ("%" in cells[4] or "not estimated" in cells[4])
    inter = out["interactive"].read_text()
    assert "<script src=\"http" not in inter and "Plotly.newPlot" in inter and len(inter) > 1_000_000
    assert out["roof"].read_bytes()[:4] == b"\x89PNG"


def test_plotly_roofline_hover_and_pareto_legends(fp4):
    from hundredx.report.interactive import pareto_figure
    from hundredx.report.interactive import roofline_figure as plotly_roofline
    from hundredx.search.pareto import series_labels

    scn, pts = fp4
    fig = plotly_roofline([("B", scn.stack.chip, pts)])
    markers = [t for t in fig.data if t.mode == "markers"]
    hovered = [row[0] for t in markers for row in t.customdata]
    assert sorted(hovered) == sorted(p["op"] for p in pts)
    xs = np.concatenate([np.asarray(t.x, float) for t in markers])
    assert all(math.isfinite(x) for x in xs)
    cols = {"mode": np.array(["agg", "agg"]), "tp": np.array([2, 4]), "pp": np.array([1, 1]), "ep": np.array([1, 1]),
            "attention_dp": np.array([False, False])}
    labels = series_labels(cols)
    assert list(labels) == ["agg tp=2", "agg tp=4"]
    pf = pareto_figure(np.array([10.0, 20.0]), np.array([5.0, 3.0]), labels, np.array([0, 1]), "Llama on h100-sxm")
    names = [t.name for t in pf.data]
    assert "agg tp=2, Llama on h100-sxm" in names and "Llama on h100-sxm" in pf.layout.title.text
