"""Issue 11 item (a): each platform's collective library has its own model (kernel/comm_libs.py)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from hundredx.calibrate.comm_fit import fit_library
from hundredx.chip.catalog import load_system
from hundredx.kernel.comm import comm_time, library_used_note
from hundredx.kernel.comm_libs import LIBRARIES, assumptions
from hundredx.validate.collective import predict_case

CASES = [json.loads(line) for line in
         (Path(__file__).parent.parent / "data" / "validation" / "collective.jsonl").read_text().splitlines()
         if line.strip()]


def _xla_torus_time(system, n, size, wrap_lanes_per_axis, dims):
    """The module docstring's formula, from the datasheet figures: 2·sum(k-1) hops of alpha, then
    2(N-1)/N·S over lanes·B_link·eff, stretched by the (NCCL-assumed) ramp."""
    fit = LIBRARIES["xla"].fit()
    link = system.scaleup_bytes_per_s / (2 * len(dims))
    lanes = sum(wrap_lanes_per_axis(k) for k in dims)
    t_bw = 2 * (n - 1) / n * size / (lanes * link * fit["eff_scaleup"])
    s_half = fit["ramp_bytes"] * ((n - 1) / 7) ** fit["ramp_ranks_exp"]
    alpha = system.scaleup_latency_s * fit["latency_scale"]
    return 2 * sum(k - 1 for k in dims) * alpha + t_bw * (1 + (s_half / size) ** fit["ramp_p"])


@pytest.mark.parametrize("n,dims,wrapped", [(256, (16, 16), True), (16, (4, 4), False), (64, (8, 8), False)])
def test_xla_torus_all_reduce_follows_the_dimension_ordered_ring_formula(n, dims, wrapped):
    system = load_system("tpu-v6e")  # v6e: only a full 16-chip axis wraps (chip/topology.py)
    size = 2.0**30
    got = float(comm_time(system, "all_reduce", size, n).time_s)
    want = _xla_torus_time(system, n, size, lambda k: 2 if wrapped else 1, dims)
    assert got == pytest.approx(want, rel=1e-9)
    closed = dataclasses.replace(system, wraparound="always")  # same slice with wraparound: twice the lanes
    t_closed = float(comm_time(closed, "all_reduce", size, n).time_s)
    assert t_closed == pytest.approx(_xla_torus_time(system, n, size, lambda k: 2, dims), rel=1e-9)
    if not wrapped:
        assert t_closed < 0.6 * got


def test_xla_runs_only_its_own_algorithms():
    system = load_system("tpu-v6e")
    assert comm_time(system, "all_reduce", 1e3, 16).algorithm == "ring"  # NCCL would pick tree at 1 kB
    assert comm_time(system, "all_reduce", 1e3, 16, library="nccl").algorithm == "tree"


@pytest.mark.parametrize("library", ["rccl", "xla"])
def test_library_cases_within_tolerance_and_fit_reproduces_the_constants(library):
    fit = fit_library(CASES, library)
    assert fit["cases"], f"no {library} case"
    for case in CASES:
        if case["id"] in fit["cases"]:
            assert predict_case(case) == pytest.approx(case["value"], rel=0.02), case["id"]
    for key, value in fit["params"].items():
        assert LIBRARIES[library].overrides[key] == pytest.approx(value, rel=0.01), key
    assert set(fit["identified"]) == set(LIBRARIES[library].overrides)
    assert all(abs(e) < 0.10 for e in fit["loo_errors"].values())  # out-of-sample where identifiable


def test_identifiability_follows_the_cases():
    one = [c for c in CASES if c["config"].get("library") == "rccl"][:1]
    assert fit_library(one, "rccl")["identified"] == ["eff_scaleup"]
    assert fit_library(CASES, "neuron")["identified"] == []


@pytest.mark.parametrize("chip,library", [("trainium2", "neuron"), ("ascend-910c", "hccl"),
                                          ("groq-lpu", "dataflow"), ("tpu-v6e", "xla")])
def test_unfitted_constants_are_flagged_in_the_prediction(chip, library):
    from hundredx.chip import load_chip
    from hundredx.predict import predict

    note = library_used_note("all_reduce", load_chip(chip))
    assert note and assumptions(library) in note and "ASSUMPTION" in note
    for key in LIBRARIES[library].assumed:
        assert key in note
    p = predict("Qwen/Qwen3-8B", chip, tp=2, batch=4, isl=256, osl=8, check_memory=False)
    assert any(assumptions(library) in f for f in p.mismatches), p.mismatches  # the fallbacks it lists


def test_nccl_and_rccl_carry_no_collective_assumption():
    from hundredx.chip import load_chip

    assert library_used_note("all_reduce", load_chip("h100-sxm")) == ""
    assert library_used_note("all_reduce", load_chip("mi300x")) == ""
    assert assumptions("nccl") == assumptions("rccl") == ""
