"""decompose() on real stacks: factors multiply to the total, JSON keys, infeasible combinations, mismatches."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from hundredx.decompose import check_product, decompose, evaluate, find_mismatches
from hundredx.stackfile import load_stack, parse_stack

EX = Path(__file__).resolve().parents[1] / "examples"
KEYS = {"total", "shapley", "one_at_a_time", "interaction", "waterfall", "mismatches", "combinations", "metric",
        "a", "b"}


@pytest.fixture(scope="module")
def llama():
    a, b = load_stack(EX / "llama70b-h100-bf16.yaml"), load_stack(EX / "llama70b-b200-fp8.yaml")
    return a, b, decompose(a, b)


def test_real_decomposition_multiplies_to_total(llama):
    a, b, d = llama
    x = d.to_dict()
    assert KEYS <= set(x)
    assert d.total > 1.0
    assert math.isclose(math.prod(d.shapley.values()), d.total, rel_tol=1e-9)
    assert math.isclose(math.prod(r["factor"] for r in d.waterfall if r["factor"] is not None), d.total, rel_tol=1e-9)
    assert math.isclose(math.prod(d.one_at_a_time.values()) * d.interaction, d.total, rel_tol=1e-9)
    assert check_product(d)
    assert len(x["combinations"]) == 8 and all(c["feasible"] for c in x["combinations"])
    # total is B/A of the evaluated metric
    assert math.isclose(d.total, x["b"]["value"] / x["a"]["value"], rel_tol=1e-12)


def test_adjustments_are_reported(llama):
    _, _, d = llama
    chip_b = next(c for c in d.combinations if c["from_b"] == ["chip"])
    # A's kernel uses FA2, which Blackwell does not have: the combination runs with auto and says so
    assert any("fa2" in n for n in chip_b["adjustments"])


def test_lower_is_better_metric_orientation(llama):
    a, b, _ = llama
    d = decompose(a, b, metric="tpot_s", mismatches=False)
    assert math.isclose(d.total, d.a["value"] / d.b["value"], rel_tol=1e-12)
    assert d.direction == "lower" and d.total > 1.0  # B (FP8 on B200) is faster per token


def test_cost_and_energy_metrics(llama):
    a, _, _ = llama
    ev = evaluate(a, "cost_per_million_tokens")
    assert math.isclose(ev.value, a.chip.price_per_hour / 3600 / ev.tokens_per_s_per_device * 1e6, rel_tol=1e-12)
    ev = evaluate(a, "energy")
    assert math.isclose(ev.value, a.stack.chip.tdp_w / ev.tokens_per_s_per_device, rel_tol=1e-12)


def test_slo_batch_search_meets_limit(llama):
    a, _, d = llama
    assert d.a["tpot_s"] <= a.workload.tpot_limit_s
    assert d.a["limited_by"] in ("memory", "slo")


def test_infeasible_combination_is_reported_not_skipped():
    base = {"model": {"id": "meta-llama/Llama-3.1-70B-Instruct", "weights": "bf16"}, "kernel": {"tp": 1},
            "chip": {"system": "hgx-h100-8", "devices": 1}, "workload": {"isl": 1024, "osl": 256, "batch": 1}}
    a = parse_stack(base, name="70B on one H100")
    small = dict(base, model={"id": "meta-llama/Llama-3.1-8B-Instruct"})
    b = parse_stack(small, name="8B on one H100")
    d = decompose(a, b, mismatches=False)
    assert d.total is None and d.shapley is None
    bad = [c for c in d.combinations if not c["feasible"]]
    assert bad and all(c["reason"] for c in bad)
    assert any("not computable" in n for n in d.notes)


def test_mismatch_finder_flags_missing_attention_kernel():
    sf = parse_stack({"model": "meta-llama/Llama-3.1-8B-Instruct", "kernel": {"attention": "fa4"},
                      "chip": {"system": "hgx-h100-8", "devices": 1}, "workload": {"batch": 8, "isl": 512, "osl": 128}})
    found = find_mismatches(sf)
    kinds = {m.kind for m in found}
    assert "attention_kernel" in kinds
    m = next(m for m in found if m.kind == "attention_kernel")
    assert m.field == "kernel.attention" and "h100-sxm" in m.message
