"""Kernel efficiency models: hand-computed values and monotonicity invariants."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hundredx.errors import InputError
from hundredx.kernel.attention import attended_kv, attention_time
from hundredx.kernel.catalog import attention_kernels_on
from hundredx.kernel.gemm import alignment_factor, gemm_time, resolve_compute, tile_wave_efficiency
from hundredx.kernel.grouped_gemm import expert_tiles, grouped_gemm_time
from hundredx.kernel.memory import achieved_bandwidth, launch_latency, memory_time
from hundredx.kernel.params import PARAMS, KernelParams, combine
from kernel_chips import chip, toy_chip

TOY = toy_chip()
P = KernelParams.analytic(TOY)


def test_tile_wave_hand_computed():
    # m=n=1280 on 100 SMs with 128x128 tiles: 100 tiles = 1 full wave -> 1.0
    assert tile_wave_efficiency(1280, 1280, 100, 128, 128, k=64) == pytest.approx(1.0)
    # m=n=1408: 128x128 -> 121 tiles, 2 waves: 1408^2/(2*100*128^2) = 0.605; 128x256 -> 66 tiles, 1 wave:
    # 1408^2/(100*128*256) = 0.605; 64x128 (x0.9) -> 22*11 = 242 tiles, 3 waves: 0.9*1408^2/(3*100*64*128) = 0.726
    assert tile_wave_efficiency(1408, 1408, 100, 128, 128, k=64) == pytest.approx(0.9 * 1408**2 / (3 * 100 * 64 * 128))


def test_gemm_large_compute_bound_hand_computed():
    p = P.replace_values({"gemm.k_half": 1e-9, "gemm.latency_s": 0.0})
    t = gemm_time(12800, 12800, 8192, TOY, p, "bf16")  # 100x100 tiles = 100 full waves
    flops = 2 * 12800 * 12800 * 8192
    assert float(t.compute_s) == pytest.approx(flops / (1e15 * 0.75), rel=1e-6)
    assert float(t.time_s) >= float(t.sol_s)


def test_gemm_small_m_is_memory_bound():
    t = gemm_time(1, 8192, 8192, TOY, P, "bf16")
    assert float(t.memory_s) > float(t.compute_s)
    weights = 8192 * 8192 * 2
    assert float(t.memory_s) == pytest.approx((weights + 2 * 8192 * 2 + 8192 * 2) / (1e12 * 0.8), rel=1e-3)


def test_alignment_16_bytes():
    assert alignment_factor(4096, 4096, 16, 16, 16, P) == 1.0
    assert alignment_factor(4096, 1500, 16, 16, 16, P) == pytest.approx(P["gemm.unaligned"])  # 3000 B stride
    odd = alignment_factor(2145, 1024, 8, 16, 16, P)  # fp8 N stride 2145 B: odd
    assert odd == pytest.approx(P["gemm.unaligned"] * P["gemm.odd"])


@settings(max_examples=40, deadline=None)
@given(m=st.integers(1, 20000), n=st.integers(8, 8192), k=st.integers(8, 8192))
def test_gemm_invariants(m, n, k):
    h100 = chip("h100-sxm")
    p = KernelParams.analytic(h100)
    t = gemm_time(m, n, k, h100, p)
    assert float(t.time_s) >= float(t.sol_s) > 0
    faster_mem = dataclasses.replace(h100, mem_bytes_per_s=2 * h100.mem_bytes_per_s)
    assert float(gemm_time(m, n, k, faster_mem, p).time_s) <= float(t.time_s) * (1 + 1e-12)
    n_al, k_al = 8 * (n // 8 + 1), 8 * (k // 8 + 1)  # next 16-byte-aligned neighbour, bf16
    unaligned = gemm_time(m, n_al - 1, k_al - 1, h100, p)
    aligned = gemm_time(m, n_al, k_al, h100, p)
    assert float(aligned.time_s) <= float(unaligned.time_s) * 1.05  # 1 extra row/col cannot cost > 5%


def test_fp4_fallback_and_missing_path():
    assert resolve_compute("nvfp4", TOY) == ("fp8", "fp4->fp8")
    no_fp = toy_chip(peak_flops_per_s={"int8": 1e15})
    with pytest.raises(InputError):
        resolve_compute("bf16", no_fp)


def test_combine_bounds():
    assert float(combine(3.0, 4.0, 1.0)) == pytest.approx(7.0)
    assert float(combine(3.0, 4.0, 2.0)) == pytest.approx(5.0)
    assert 4.0 <= float(combine(3.0, 4.0, 8.0)) < 4.1


def test_attention_flops_and_causal():
    assert float(attended_kv(1024, 1024, True)) == pytest.approx(512.5)
    t = attention_time(TOY, P, 2, 1024, 1024, 16, 16, 128, causal=False, kernel="fa3")
    assert float(t.flops) == pytest.approx(4 * 2 * 1024 * 1024 * 16 * 128)
    longer = attention_time(TOY, P, 2, 4096, 4096, 16, 16, 128, kernel="fa3")
    eff = lambda x: float(x.flops / x.time_s)  # noqa: E731
    assert eff(longer) > eff(t)  # short sequences underfill


def test_attention_decode_kv_bound_and_monotone():
    h100 = chip("h100-sxm")
    p = KernelParams.analytic(h100)
    kv = np.array([1024, 4096, 16384, 65536])
    t = attention_time(h100, p, 8, 1, kv, 32, 8, 128, kernel="sdpa_flash")
    assert np.all(np.diff(t.time_s) > 0)
    assert np.all(t.memory_s > t.compute_s)
    kv_bytes = 8 * kv * 8 * 256 * 2
    assert np.allclose(t.memory_s, (kv_bytes + 8 * 32 * 256 * 2) / (h100.mem_bytes_per_s * p["attn.decode_mem_eff"]))
    fp8 = attention_time(h100, p, 8, 1, kv, 32, 8, 128, kernel="sdpa_flash", kv_dtype="fp8")
    assert np.all(fp8.time_s < t.time_s)


def test_attention_unfused_slower_and_unsupported_flag():
    a100 = chip("a100-sxm-80gb")
    p = KernelParams.analytic(a100)
    fused = attention_time(a100, p, 4, 4096, 4096, 32, 32, 128, kernel="fa2", causal=True)
    eager = attention_time(a100, p, 4, 4096, 4096, 32, 32, 128, kernel="eager_unfused", causal=True)
    assert float(eager.time_s) > 1.5 * float(fused.time_s)
    t = attention_time(a100, p, 4, 4096, 4096, 32, 32, 128, kernel="fa3")
    assert "fa3" in t.unsupported and "a100" in t.unsupported
    auto = attention_time(a100, p, 4, 4096, 4096, 32, 32, 128)
    assert auto.parts["kernel"] in attention_kernels_on(a100) and not auto.unsupported


def test_flashmla_decode_is_compute_bound():
    h800 = chip("h800-sxm")
    p = KernelParams.analytic(h800)
    t = attention_time(h800, p, 128, 2, 32768, 128, 1, 576, head_dim_v=512, kernel="flashmla", variant="mla",
                       kv_dtype="fp8", kv_bytes_per_token=656)
    assert float(t.compute_s) > float(t.memory_s)


def test_grouped_padding_and_idle():
    tiles, active, mx = expert_tiles(8, 8 * 100, 128, "uniform")
    assert float(tiles) == 8 and float(active) == 8 and float(mx) == 100
    t_pad = grouped_gemm_time(TOY, P, 4096, 4096, tokens_per_group=[129] * 8)
    t_al = grouped_gemm_time(TOY, P, 4096, 4096, tokens_per_group=[128] * 8)
    assert float(t_pad.parts["padded_rows"]) == 8 * 127
    assert float(t_pad.time_s) > float(t_al.time_s)
    tiles_r, active_r, _ = expert_tiles(256, 256, 128, "random")
    assert float(active_r) == pytest.approx(256 * (1 - (1 - 1 / 256) ** 256))
    assert float(tiles_r) == pytest.approx(float(active_r), rel=0.1)  # every active expert holds one partial tile


def test_grouped_expert_count_per_configuration():
    """An array of expert counts (an ep per configuration) gives each element its own count's numbers."""
    groups = np.array([256.0, 32.0, 16.0, 256.0, 8.0])
    tokens = np.array([[64.0, 900.0, 4096.0, 7.0, 300.0], [1.0, 2.0, 3.0, 40000.0, 128.0]])
    for dist in ("uniform", "random", "skewed", "tile_rounded"):
        got = expert_tiles(groups, tokens, 128, dist, 0.5 if dist == "skewed" else 0.0)
        for j, g in enumerate(groups):
            alone = expert_tiles(int(g), tokens[:, j], 128, dist, 0.5 if dist == "skewed" else 0.0)
            for a, b in zip(got, alone):
                assert np.array_equal(a[:, j], np.broadcast_to(b, (2,))), (dist, g)
        t = grouped_gemm_time(TOY, P, 2048, 1536, groups=groups, tokens_total=tokens, distribution=dist)
        for j, g in enumerate(groups):
            one = grouped_gemm_time(TOY, P, 2048, 1536, groups=g, tokens_total=tokens[:, j], distribution=dist)
            assert np.array_equal(t.time_s[:, j], one.time_s), (dist, g)


def test_grouped_more_tokens_never_less_time():
    tokens = np.array([64, 256, 1024, 4096, 16384, 65536])
    for dist in ("uniform", "random", "skewed", "tile_rounded"):
        t = grouped_gemm_time(TOY, P, 2048, 1536, groups=64, tokens_total=tokens, distribution=dist, skew=1.0
                              if dist == "skewed" else 0.0)
        assert np.all(np.diff(t.time_s) >= 0), dist
    loop = grouped_gemm_time(TOY, P, 2048, 1536, tokens_per_group=[16] * 64, library="torch_mm_loop")
    fused = grouped_gemm_time(TOY, P, 2048, 1536, tokens_per_group=[16] * 64, library="deepgemm")
    assert float(loop.time_s) > float(fused.time_s)  # one launch per expert


def test_memory_hand_computed_and_fusion():
    t = memory_time(1e9, TOY, P, "copy")
    assert float(t.time_s) == pytest.approx(1e9 / (1e12 * 0.9) + 4e-6)
    small = achieved_bandwidth(1e4, TOY, P)
    big = achieved_bandwidth(1e10, TOY, P)
    assert small < 0.01 * big and big < 1e12
    fused = memory_time(1e9, TOY, P, "rmsnorm", fused=True)
    assert float(fused.latency_s) == 0 and float(fused.time_s) == pytest.approx(0.1 * 1e9 / 0.9e12)
    assert float(launch_latency(6e-6, P, cuda_graphs=True)) == pytest.approx(P["graph_kernel_s"])  # replay cap
    assert float(launch_latency(1e-6, P, cuda_graphs=True)) == pytest.approx(1e-6)  # already below the cap
    assert float(launch_latency(1e-6, P, cuda_graphs=False)) == pytest.approx(P["launch_s"])  # host launch floor
    assert float(launch_latency(1e-6, P, cuda_graphs=False)) == pytest.approx(4e-6)


def test_memory_more_bandwidth_never_slower():
    sizes = np.logspace(3, 10, 20)
    fast = dataclasses.replace(TOY, mem_bytes_per_s=3e12)
    assert np.all(memory_time(sizes, fast, P).time_s <= memory_time(sizes, TOY, P).time_s)


def test_bad_inputs_name_the_field():
    with pytest.raises(InputError, match="library"):
        gemm_time(1, 2, 3, TOY, P, library="nope")
    with pytest.raises(InputError, match="heads_kv"):
        attention_time(TOY, P, 1, 1, 10, 32, 5, 128)
    with pytest.raises(InputError, match="op"):
        memory_time(1e6, TOY, P, "teleport")
    assert all(spec.lo <= spec.default(TOY) <= spec.hi for spec in PARAMS.values())
