"""Re-planned layer swaps (decompose/replan.py): a combination that cannot run gets the search's deployment."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import pytest

from hundredx.decompose import decompose
from hundredx.decompose.replan import degrees, describe
from hundredx.kernel.runtime import Disaggregation, RuntimeSpec
from hundredx.stackfile import load_stack

EX = Path(__file__).resolve().parents[1] / "examples"
STACKS = sorted(p.name for p in EX.glob("*.yaml"))


@pytest.fixture(scope="module")
def dsr1():
    a, b = load_stack(EX / "dsr1-h100-fp8.yaml"), load_stack(EX / "dsr1-gb200-nvl72-fp4.yaml")
    return a, b, decompose(a, b, mismatches=False, with_waterfall=False)


def test_hopper_to_blackwell_has_shapley_factors(dsr1):
    a, _, d = dsr1
    assert d.shapley is not None and d.total is not None
    assert math.isclose(math.prod(d.shapley.values()), d.total, rel_tol=1e-9)
    again = [c for c in d.combinations if c["replanned"]]
    assert [c["label"] for c in again] == ["model:A kernel:B chip:A"]
    info = again[0]["replanned"]
    # B's literal pools (8+64 devices, tp8 pp1) do not hold FP8 weights on H100; the search re-plans on A's 16
    assert info["from"]["mode"] == "disagg" and info["from"]["devices"] == 72
    assert info["to"]["devices"] <= a.devices
    assert "do not fit" in info["reason"]
    assert any("re-planned by the search" in x for x in again[0]["adjustments"])
    assert any("re-planned" in n for n in d.notes)
    row = again[0]
    assert row["feasible"] and row["value"] > 0
    assert row["tpot_s"] <= a.workload.tpot_limit_s


def test_without_replan_the_combination_stays_infeasible(dsr1):
    a, b, _ = dsr1
    d = decompose(a, b, mismatches=False, with_waterfall=False, replan=False)
    assert d.shapley is None
    assert any(not c["feasible"] for c in d.combinations)


def test_describe_names_only_what_changed():
    old = degrees(RuntimeSpec(tp=8, ep=64, attention_dp=True, disaggregation=Disaggregation(8, 64)), 72)
    new = degrees(RuntimeSpec(tp=2, ep=16, attention_dp=True), 16)
    text = describe(old, new)
    assert "tp 8 -> 2" in text and "ep 64 -> 16" in text and "disaggregated 8+64 -> aggregated" in text
    assert "attention_dp" not in text and "pp" not in text
    assert describe(new, new) == "same degrees"


@pytest.mark.slow
@pytest.mark.parametrize(("fa", "fb"), list(itertools.permutations(STACKS, 2)))
def test_every_pair_of_examples_decomposes(fa, fb):
    a, b = load_stack(EX / fa), load_stack(EX / fb)
    d = decompose(a, b, mismatches=False, with_waterfall=False)
    assert d.total is not None and d.shapley is not None, d.notes
    assert math.isclose(math.prod(d.shapley.values()), d.total, rel_tol=1e-9)
    assert all(c["feasible"] for c in d.combinations)


def test_failed_replan_keeps_both_reasons(dsr1, monkeypatch):
    import hundredx.decompose.replan as rp
    from hundredx.errors import InputError

    def refuse(*args, **kwargs):
        raise InputError("kernel", "x", "re-plan found no deployment that runs")

    monkeypatch.setattr(rp, "replan", refuse)
    a, b, _ = dsr1
    d = decompose(a, b, mismatches=False, with_waterfall=False)
    bad = [c for c in d.combinations if not c["feasible"]]
    assert [c["label"] for c in bad] == ["model:A kernel:B chip:A"]
    assert "do not fit" in bad[0]["reason"] and "re-planning by the search failed too" in bad[0]["reason"]
    assert d.shapley is None


def test_cli_reports_replanned_combinations():
    import json

    from typer.testing import CliRunner

    from hundredx.cli.app import app

    a, b = str(EX / "dsr1-h100-fp8.yaml"), str(EX / "dsr1-gb200-nvl72-fp4.yaml")
    r = CliRunner().invoke(app, ["decompose", a, b, "--json"])
    assert r.exit_code == 0, r.output
    rows = [c for c in json.loads(r.output)["combinations"] if c["replanned"]]
    assert rows and "->" in rows[0]["replanned"]["change"]
    r = CliRunner().invoke(app, ["decompose", a, b, "--no-replan", "--json"])
    assert r.exit_code == 0 and json.loads(r.output)["shapley"] is None
    r = CliRunner().invoke(app, ["decompose", a, b], env={"COLUMNS": "200"})
    assert r.exit_code == 0 and "re-planned by the search" in r.output


def test_replan_all_replans_every_mixed_combination(dsr1):
    a, b, d_auto = dsr1
    d = decompose(a, b, mismatches=False, with_waterfall=False, replan="all")
    mixed = [c for c in d.combinations if 0 < len(c["from_b"]) < 3]
    assert all(c["replanned"] for c in mixed)
    ends = [c for c in d.combinations if len(c["from_b"]) in (0, 3)]
    assert all(c["replanned"] is None for c in ends)
    assert d.total == pytest.approx(d_auto.total)  # A and B run as written either way
    assert math.isclose(math.prod(d.shapley.values()), d.total, rel_tol=1e-9)
    with pytest.raises(Exception, match="replan"):
        decompose(a, b, mismatches=False, with_waterfall=False, replan="sometimes")
