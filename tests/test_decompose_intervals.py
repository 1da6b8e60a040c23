"""Intervals carried through the decomposition (decompose/uncertainty.py): contain the point, widen with the input."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from hundredx.decompose import decompose
from hundredx.decompose.shapley import coalitions, interaction, one_at_a_time, shapley_factors
from hundredx.decompose.uncertainty import factor_intervals
from hundredx.stackfile import load_stack

P = ("model", "kernel", "chip")
EX = Path(__file__).resolve().parents[1] / "examples"


def _values():
    v = {}
    for s in coalitions(P):
        v[s] = 10.0 * (2.0 if "model" in s else 1.0) * (1.5 if "kernel" in s else 1.0) * (3.0 if "chip" in s else 1.0)
    v[frozenset(P)] *= 1.2  # some interaction
    return v


def _bounds(values, rel):
    return {s: (v / (1 + rel), v * (1 + rel)) for s, v in values.items() if v}


def _inside(band, point):
    return band[0] <= point * (1 + 1e-12) and point <= band[1] * (1 + 1e-12)


def _width(band):
    return math.log(band[1] / band[0])


def test_intervals_contain_the_point():
    v = _values()
    iv = factor_intervals(v, _bounds(v, 0.3), P)
    shap, oat = shapley_factors(v, P), one_at_a_time(v, P)
    assert _inside(iv["total"], v[frozenset(P)] / v[frozenset()])
    assert _inside(iv["interaction"], interaction(v, P))
    for p in P:
        assert _inside(iv["shapley"][p], shap[p])
        assert _inside(iv["one_at_a_time"][p], oat[p])
        assert _width(iv["shapley"][p]) > 0.0


def test_intervals_widen_with_the_input_intervals():
    v = _values()
    narrow, wide = factor_intervals(v, _bounds(v, 0.1), P), factor_intervals(v, _bounds(v, 0.5), P)
    assert _width(wide["total"]) > _width(narrow["total"])
    assert _width(wide["interaction"]) > _width(narrow["interaction"])
    for p in P:
        assert _width(wide["shapley"][p]) > _width(narrow["shapley"][p])
        assert _width(wide["one_at_a_time"][p]) > _width(narrow["one_at_a_time"][p])


def test_no_input_error_gives_a_point_interval_and_missing_values_give_none():
    v = _values()
    iv = factor_intervals(v, {}, P)
    assert iv["total"][0] == pytest.approx(iv["total"][1])
    v[frozenset({"kernel", "chip"})] = None
    iv = factor_intervals(v, _bounds(v, 0.2), P)
    assert iv["shapley"] is None and iv["total"] is not None and iv["interaction"] is not None


def test_real_decomposition_carries_intervals():
    a, b = load_stack(EX / "llama70b-h100-bf16.yaml"), load_stack(EX / "llama70b-b200-fp8.yaml")
    d = decompose(a, b, mismatches=False, with_waterfall=False)
    x = d.to_dict()
    assert _inside(x["intervals"]["total"], d.total) and _width(x["intervals"]["total"]) > 0
    for p in P:
        assert _inside(x["intervals"]["shapley"][p], d.shapley[p])
    assert x["a"]["interval"][0] <= x["a"]["value"] <= x["a"]["interval"][1]
    assert all(c["interval"] is not None for c in x["combinations"])


def test_curve_points_carry_intervals_and_the_report_shows_the_curve(tmp_path):
    import json

    from typer.testing import CliRunner

    from hundredx.cli.app import app

    a, b = str(EX / "llama70b-h100-bf16.yaml"), str(EX / "llama70b-b200-fp8.yaml")
    r = CliRunner().invoke(app, ["decompose", a, b, "--sweep", "20", "--sweep", "50", "--json"])
    assert r.exit_code == 0, r.output
    points = json.loads(r.output)["curve"]
    assert [p["tokens_per_s_per_user"] for p in points] == [20.0, 50.0]
    for p in points:
        assert _inside(p["intervals"]["total"], p["total"])
        assert all(_inside(p["intervals"]["shapley"][k], p["shapley"][k]) for k in P)
    out = tmp_path / "r.html"
    r = CliRunner().invoke(app, ["report", a, b, "--html", str(out), "--sweep", "20", "--sweep", "50"])
    assert r.exit_code == 0, r.output
    page = out.read_text()
    assert "Over interactivity" in page and page.count("<svg") >= 3 and "80% interval" in page
