"""`hundredx claims`: every result has a verdict, range, tolerance and reason; the deterministic ones
are pinned; the command runs from outside the checkout (the stack files ship in the package)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hundredx.claims import VERDICTS, check_claims, judge


@pytest.fixture(scope="module")
def claims():
    return {c.id: c for c in check_claims()}


def test_every_claim_has_a_verdict_tolerance_and_why(claims):
    assert len(claims) >= 20
    judged = [c for c in claims.values() if c.verdict != "not checkable"]
    assert len(judged) >= 20
    for c in claims.values():
        assert c.verdict in VERDICTS and c.why
        if c.verdict != "not checkable":
            assert c.tool is not None and c.claimed is not None and c.tol >= 1.0 and c.tol_reason


def test_deterministic_verdicts(claims):
    e = claims["deepseek_expert_params"]
    assert e.tool == 3 * 7168 * 2048 and e.verdict == "inconsistent" and "1536" in e.why
    assert claims["million_token_kv"].verdict == "consistent"
    assert 300 < claims["million_token_kv"].tool < 360  # 80 x 2 x 8 x 128 x 2 B x 1e6 = 327.7 GB
    nv = claims["nvlink_vs_scaleout"]
    assert nv.tool == pytest.approx(9.0) and nv.verdict == "inconsistent" and "bidirectional" in nv.why
    assert claims["mla_kv_compression"].tool == pytest.approx(2048 / 576)
    a2a = claims["alltoall_scales_with_experts"]
    assert a2a.tool == pytest.approx(1.0, abs=0.05) and a2a.details["topk_doubled"] == pytest.approx(2.0, rel=0.05)
    assert 0.2 < claims["v4_flops_reduction"].tool < 0.35
    rc = claims["rubin_cost_per_token"]
    assert rc.verdict == "not checkable" and "price" in rc.why
    # the model's half of cost per token: Rubin's throughput per device over GB300's, and the break-even price
    assert 1.2 < rc.tool < 6 and rc.details["break_even_price_ratio"] == pytest.approx(rc.tool / 10)


def test_curve_claim_states_its_range_and_point(claims):
    h = claims["hopper_to_blackwell_moe"]
    assert h.range and h.range[0] < h.tool <= h.range[1] and "tokens/s per user" in h.point
    assert len(h.details["curve"]) >= 5
    lo, hi = h.details["interval"]
    assert lo <= h.tool <= hi and "80% interval" in h.why


def test_circular_evidence_is_not_checkable(claims):
    fa4 = claims["flashattention4_b200"]
    assert fa4.verdict == "not checkable" and "circular" in fa4.why


def test_judge_bands():
    assert judge(25.0, 30.0, 1.5) == "consistent"
    assert judge(10.0, 30.0, 1.5) == "inconsistent"
    assert judge(3.6, [4.0, 8.0], 1.25, "range") == "consistent"
    assert judge(0.62, 0.7, 1.15, "at_least") == "consistent"
    assert judge(0.5, 0.7, 1.15, "at_least") == "inconsistent"
    assert judge(1.022, 1.16, 1.15, "value") == "consistent"  # a loose ratio band lets a 2% gain pass for 16% ...
    assert judge(1.022, 1.16, 1.15, "gain") == "inconsistent"  # ... judged on the gain itself it does not


@pytest.mark.slow
def test_cli_json_from_outside_the_checkout(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1] / "src"))
    out = subprocess.run([sys.executable, "-m", "hundredx.cli", "claims", "--json"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    data = json.loads(out.stdout)
    judged = [c for c in data["claims"] if c["verdict"] != "not checkable"]
    assert len(judged) >= 20
    assert all({"range", "tol", "tol_reason", "why", "point"} <= set(c) for c in data["claims"])


def test_heterogeneous_pd_is_priced_by_composed_pools(claims):
    h = claims["heterogeneous_pd"]
    assert h.verdict in ("consistent", "inconsistent") and "composed through predict" in h.why
    found = h.details
    assert found["homogeneous"] and found["heterogeneous"]
    best_homo = max(found["homogeneous"].values())
    assert h.tool == pytest.approx(max(found["heterogeneous"].values()) / best_homo)
    # each pool's cost per request/s is positive and the pair's tokens/USD follows from the two pools
    pre, dec = found["prefill"]["h100-sxm"], found["decode"]["b200"]
    assert found["tokens_per_usd"]["h100-sxm->b200"] == pytest.approx(512 * 3600 / (pre["cost"] + dec["cost"]))


def test_artefacts_fixed(claims):
    a2a = claims["nvlink_domain_alltoall"]
    d = a2a.details
    assert d["nvl72_s"] < d["torus_s"] < d["hgx_b200_s"] and "torus" in a2a.why and "all-to-all alone" in a2a.why
    rubin = claims["rubin_fp4_width"]
    assert rubin.range == [rubin.tool, rubin.tool] and "ASSUMPTION" in rubin.why
    hbm = claims["hbm_a100_to_b200"]
    assert hbm.tool == pytest.approx(8.0 / 2.039, rel=1e-3) and hbm.verdict == "not checkable"
    fa3 = claims["flashattention3_h100"]
    assert "head dim 256" in fa3.point and "ablation" in fa3.why
    pd = claims["pd_disaggregation"]
    assert "DeepSeek" in pd.why and "chunked prefill" in pd.why
    assert "not a multiple" in claims["gemm_tile_alignment"].point


def test_fitter_skips_ablation_rows():
    from hundredx.calibrate.pooling import members_of
    from hundredx.chip import load_chip

    root = Path(__file__).resolve().parents[1] / "data" / "validation" / "attention.jsonl"
    cases = [json.loads(line) for line in root.read_text().splitlines() if '"fa3tab2' in line]
    assert len(cases) == 3
    members, skipped = members_of(cases, {"h100-sxm": load_chip("h100-sxm")})
    assert [c["id"] for c in members["h100-sxm"].cases] == ["fa3tab2-661"]
    assert {s["id"] for s in skipped["h100-sxm"]} == {"fa3tab2-582", "fa3tab2-570"}
    assert all("ablation" in s["reason"] for s in skipped["h100-sxm"])
