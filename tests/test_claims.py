"""`hundredx claims`: structure of every result and the deterministic verdicts."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from hundredx.claims import VERDICTS, check_claims, judge
from hundredx.cli.app import app


@pytest.fixture(scope="module")
def claims():
    return {c.id: c for c in check_claims()}


def test_every_claim_has_a_verdict_and_why(claims):
    assert len(claims) >= 12
    for c in claims.values():
        assert c.verdict in VERDICTS
        assert c.why
        if c.verdict != "not checkable":
            assert c.tool is not None and c.claimed is not None


def test_deterministic_verdicts(claims):
    e = claims["deepseek_expert_params"]
    assert e.tool == 3 * 7168 * 2048 and e.verdict == "inconsistent"
    assert e.details["tile_aligned"] is True
    assert claims["million_token_kv"].verdict == "consistent"
    assert 300 < claims["million_token_kv"].tool < 360  # 80 x 2 x 8 x 128 x 2 B x 1e6 = 327.7 GB
    assert claims["nvlink_vs_scaleout"].tool == pytest.approx(18.0)
    m = claims["mla_kv_compression"]
    assert m.tool == pytest.approx(2048 / 576)


def test_judge_bands():
    assert judge(25.0, 30.0, 1.5) == "consistent"
    assert judge(10.0, 30.0, 1.5) == "inconsistent"
    assert judge(3.6, [4.0, 8.0], 1.25, "range") == "consistent"
    assert judge(0.62, 0.7, 1.15, "at_least") == "consistent"
    assert judge(0.5, 0.7, 1.15, "at_least") == "inconsistent"


def test_cli_json():
    result = CliRunner().invoke(app, ["claims", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {"id", "claimed", "tool", "verdict", "why", "tol"} <= set(data["claims"][0])
