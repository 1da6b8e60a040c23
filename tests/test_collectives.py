"""Collective costs: hand-computed alpha-beta values, algorithm choice, invariants."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hundredx.chip import busbw_factor, collective_time, load_system
from hundredx.chip.collectives import FIT, ramp_time
from hundredx.errors import InputError
from hundredx.kernel.comm import comm_time
from hundredx.kernel.moe_dispatch import LOW_LATENCY_RDMA_EFF, dispatch_time, token_bytes


def test_busbw_factors():
    assert busbw_factor("all_reduce", 8) == pytest.approx(2 * 7 / 8)
    assert busbw_factor("all_gather", 4) == pytest.approx(3 / 4)
    assert busbw_factor("all_to_all", 2) == pytest.approx(0.5)
    assert np.allclose(busbw_factor("reduce_scatter", np.array([2, 8])), [0.5, 7 / 8])


def test_ring_all_reduce_hand_computed():
    system = load_system("a100-sxm-80gb")  # no NVLS
    size, n = 256 * 2**20, 8
    bw = 300e9 * FIT["eff_scaleup"]
    alpha = system.scaleup_latency_s * FIT["latency_scale"]
    t_bw = 2 * 7 / 8 * size / bw
    s_half = FIT["ramp_bytes"] * ((n - 1) / 7) ** FIT["ramp_ranks_exp"]
    expected = 2 * 7 * alpha + t_bw * (1 + (s_half / size) ** FIT["ramp_p"])
    cost = collective_time(system, "all_reduce", size, n, algorithm="ring")
    assert cost.time_s == pytest.approx(expected, rel=1e-9)
    assert cost.bus_bandwidth_bytes_per_s == pytest.approx(size * 2 * 7 / 8 / expected, rel=1e-9)
    assert cost.link == "scaleup" and not cost.leaves_domain


def test_nvls_busbw_formula():
    # NVLS all-reduce moves S(1+1/n) per rank each way: busbw plateau = 2(n-1)/(n+1) * B * eff_nvls
    system = load_system("h100-sxm")
    for n in (5, 8):
        cost = collective_time(system, "all_reduce", 64 * 2**30, n, algorithm="nvls")
        plateau = 2 * (n - 1) / (n + 1) * 450e9 * FIT["eff_nvls"]
        assert cost.bus_bandwidth_bytes_per_s == pytest.approx(plateau, rel=0.02)


def test_algorithm_choice():
    h100, a100 = load_system("h100-sxm"), load_system("a100-sxm-80gb")
    assert collective_time(h100, "all_reduce", 2**30, 8).algorithm == "nvls"
    assert collective_time(a100, "all_reduce", 2**30, 8).algorithm in ("ring", "tree")
    assert collective_time(h100, "all_reduce", 2**30, 8, nvls=False).algorithm != "nvls"
    assert collective_time(h100, "all_to_all", 2**20, 8).algorithm == "direct"
    multi = collective_time(h100, "all_reduce", 2**30, 64)
    assert multi.algorithm in ("hierarchical", "collnet") and multi.leaves_domain and multi.link == "scaleout"
    with pytest.raises(InputError, match="not available"):
        collective_time(a100, "all_reduce", 2**30, 8, algorithm="nvls")


def test_vectorized_matches_scalar():
    system = load_system("h200-sxm")
    sizes = np.array([2**10, 2**20, 2**30])
    ranks = np.array([2, 8, 32])
    vec = collective_time(system, "all_reduce", sizes, ranks)
    for i in range(3):
        one = collective_time(system, "all_reduce", int(sizes[i]), int(ranks[i]))
        assert vec.time_s[i] == pytest.approx(one.time_s)
        assert vec.algorithm[i] == one.algorithm


def test_single_rank_is_free_and_bad_input():
    system = load_system("h100-sxm")
    assert collective_time(system, "all_reduce", 2**20, 1).time_s == 0.0
    for kwargs in ({"op": "broadcastish"}, {"scope": "rack"}, {"algorithm": "magic"}):
        args = {"op": "all_reduce", **kwargs}
        with pytest.raises(InputError):
            collective_time(system, args.pop("op"), 2**20, 8, **args)
    with pytest.raises(InputError, match="ranks"):
        collective_time(system, "all_reduce", 2**20, 0)
    with pytest.raises(InputError, match="message_bytes"):
        collective_time(system, "all_reduce", -1, 8)


def test_p2p_host_link():
    system = load_system("h100-sxm")
    cost = collective_time(system, "p2p", 2**29, 1, transfer="host_to_device")
    assert cost.link == "pcie"
    assert 0.7 * 64e9 < cost.algo_bandwidth_bytes_per_s < 64e9


def test_torus_all_to_all_pays_hops():
    torus = load_system("tpu-v5e")
    switched = dataclasses.replace(torus, topology="switched", torus_dims=())
    t_torus = collective_time(torus, "all_to_all", 2**26, 256).time_s
    t_switch = collective_time(switched, "all_to_all", 2**26, 256).time_s
    assert t_torus > 2 * t_switch  # mean hop count 2 x 16/4 = 8 on a 16x16 torus


def test_full_mesh_subset_uses_fewer_links():
    mesh = load_system("mi300x")
    assert collective_time(mesh, "all_reduce", 2**30, 2).bus_bandwidth_bytes_per_s < \
        collective_time(mesh, "all_reduce", 2**30, 8).bus_bandwidth_bytes_per_s


def test_moe_low_latency_hand_computed():
    system = load_system("h800-sxm")
    cost = dispatch_time(system, "moe_dispatch", 64, library="deepep", tokens=128, hidden=7168, topk=8,
                         dtype="fp8", mode="low_latency", nodes=8)
    remote = 128 * 8 * token_bytes(7168, "fp8") * 56 / 64
    expected = system.scaleout_latency_s + remote / (50e9 * LOW_LATENCY_RDMA_EFF)
    assert token_bytes(7168, "fp8") == 7168 + 56 * 4
    assert cost.time_s == pytest.approx(expected, rel=1e-9)
    same = comm_time(system, "moe_dispatch", 0, 64, library="deepep", tokens=128, hidden=7168, topk=8, dtype="fp8",
                     mode="low_latency", nodes=8)
    assert same.time_s == cost.time_s and same.algorithm == "deepep_low_latency"
    with pytest.raises(InputError, match="tokens"):
        comm_time(system, "moe_dispatch", 0, 8)
    with pytest.raises(InputError, match="mode='turbo': unknown dispatch mode; known: normal, low_latency"):
        comm_time(system, "moe_dispatch", 0, 8, tokens=128, hidden=7168, topk=8, mode="turbo")


def test_chip_layer_prices_hardware_only():
    """MoE dispatch is a kernel-layer model; libraries are software (kernel.comm): the chip refuses both."""
    system = load_system("h800-sxm")
    with pytest.raises(InputError, match="kernel.moe_dispatch"):
        collective_time(system, "moe_dispatch", 0, 8, tokens=128, hidden=7168, topk=8)
    with pytest.raises(InputError, match="kernel.comm.comm_time"):
        collective_time(system, "all_reduce", 2**20, 8, library="trtllm")
    one_shot = comm_time(system, "all_reduce", 2**14, 8, library="trtllm")
    assert one_shot.time_s == collective_time(system, "all_reduce", 2**14, 8, one_shot_all_reduce=True).time_s
    assert comm_time(system, "all_reduce", 2**14, 8).time_s == collective_time(system, "all_reduce", 2**14, 8).time_s
    with pytest.raises(InputError, match="library"):
        comm_time(system, "all_reduce", 2**14, 8, library="gloo")


SIZES = st.integers(min_value=1, max_value=2**34)
RANKS = st.sampled_from([2, 4, 8, 16, 64, 256])
OPS = st.sampled_from(["all_reduce", "all_gather", "reduce_scatter", "all_to_all"])
SYSTEMS = st.sampled_from(["h100-sxm", "a100-sxm-80gb", "gb200", "mi300x", "tpu-v5p", "b200"])


@settings(max_examples=60, deadline=None)
@given(size=SIZES, ranks=RANKS, op=OPS, ref=SYSTEMS, factor=st.floats(1.0, 4.0))
def test_more_bandwidth_never_slower(size, ranks, op, ref, factor):
    system = load_system(ref)
    faster = dataclasses.replace(system, scaleup_bytes_per_s=system.scaleup_bytes_per_s * factor,
                                 scaleout_bytes_per_s=system.scaleout_bytes_per_s * factor)
    assert (collective_time(faster, op, size, ranks).time_s
            <= collective_time(system, op, size, ranks).time_s * (1 + 1e-12))


@settings(max_examples=60, deadline=None)
@given(size=SIZES, ranks=st.sampled_from([16, 32, 64, 256]),
       ref=st.sampled_from(["h100-sxm", "a100-sxm-80gb", "b300", "mi300x"]))
def test_hierarchical_not_slower_than_flat_on_two_tiers(size, ranks, ref):
    system = load_system(ref)
    hier = collective_time(system, "all_reduce", size, ranks, algorithm="hierarchical").time_s
    flat = collective_time(system, "all_reduce", size, ranks, algorithm="ring").time_s
    assert hier <= flat * (1 + 1e-12)


@settings(max_examples=40, deadline=None)
@given(size=st.integers(1, 2**33), ranks=RANKS, ref=SYSTEMS)
def test_bigger_messages_take_longer(size, ranks, ref):
    system = load_system(ref)
    assert (collective_time(system, "all_reduce", 2 * size, ranks).time_s
            >= collective_time(system, "all_reduce", size, ranks).time_s)


def test_ramp_reaches_plateau():
    assert ramp_time(1.0, 1e15, 8) == pytest.approx(1.0, rel=1e-3)
    assert ramp_time(1.0, FIT["ramp_bytes"], 8) == pytest.approx(2.0)
