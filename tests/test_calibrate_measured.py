"""kernel/measured.py: work formulas, SOL, and the interpolated measured-efficiency lookup (hand-computed)."""

from __future__ import annotations

import json
import math

import pytest

from hundredx.chip.catalog import load_chip
from hundredx.errors import InputError
from hundredx.kernel import measured
from hundredx.kernel.measured import case_work, load_profiles, measured_efficiency, sol_time_s

H100_BF16 = 989.4e12  # catalog h100-sxm dense BF16 peak (NVIDIA H100 datasheet)


def _gemm_case(m, n, k, tflops, chip="h100-sxm", dtype="bf16", i=0):
    return {"id": f"g{i}-{m}-{n}-{k}", "kind": "gemm", "hardware": chip, "n_devices": 1,
            "config": {"m": m, "n": n, "k": k, "dtype": dtype, "library": "torch"},
            "metric": "tflops", "value": tflops, "source": "unit test"}


def _write(tmp_path, name, cases, chip="h100-sxm"):
    path = tmp_path / name
    path.write_text(json.dumps({"format": "hundredx-profile/1",
                                "provenance": {"device_name": "test", "chip": chip, "date": "2026-01-01",
                                               "host": "h", "command": "c"},
                                "cases": cases}))
    return path


@pytest.fixture
def profiles_env(tmp_path, monkeypatch):
    monkeypatch.setattr(measured, "PROFILE_DIR", tmp_path / "shipped")

    def use(*paths):
        monkeypatch.setenv("HUNDREDX_PROFILES", ":".join(str(p) for p in paths))

    return use


def test_gemm_work_hand_computed():
    flops, nbytes, compute = case_work("gemm", {"m": 1024, "n": 2048, "k": 512, "dtype": "bf16"})
    assert flops == 2 * 1024 * 2048 * 512
    assert nbytes == (1024 * 512 + 512 * 2048 + 1024 * 2048) * 2
    assert compute == "bf16"
    # fp8 in, bf16 out by default
    _, nbytes8, compute8 = case_work("gemm", {"m": 16, "n": 16, "k": 16, "dtype": "fp8"})
    assert nbytes8 == (256 + 256) * 1 + 256 * 2 and compute8 == "fp8"


def test_attention_work_causal_square_is_exact_metric_is_half():
    cfg = {"batch": 2, "seqlen_q": 1024, "seqlen_kv": 1024, "heads_q": 16, "heads_kv": 16, "head_dim": 128,
           "dtype": "bf16"}
    full, nbytes, _ = case_work("attention", dict(cfg, causal=False))
    causal, _, _ = case_work("attention", dict(cfg, causal=True))
    assert full == 4 * 2 * 1024 * 1024 * 16 * 128
    assert causal == full * 512.5 / 1024  # exact attended pairs: the diagonal counts
    assert measured.metric_flops("attention", dict(cfg, causal=True)) == full / 2  # SCHEMA convention
    assert nbytes == 2 * (1024 * 16 * 128 * 4) * 2  # Q, K, V, O in bf16
    # decode: one query, causal flag irrelevant, K/V read with heads_kv
    dec, dec_bytes, _ = case_work("attention", dict(cfg, seqlen_q=1, heads_kv=4, causal=True))
    assert dec == 4 * 2 * 1 * 1024 * 16 * 128
    assert dec_bytes == 2 * (16 * 128 + 1024 * 4 * 256 + 16 * 128) * 2


def test_grouped_work_and_tokens_split():
    assert measured.tokens_per_group({"groups": 3, "tokens_total": 10}) == [4, 3, 3]
    flops, nbytes, _ = case_work("grouped_gemm", {"k": 64, "n": 32, "dtype": "bf16", "tokens_per_group": [8, 24]})
    assert flops == 2 * 32 * 32 * 64
    assert nbytes == (32 * 64 + 2 * 64 * 32 + 32 * 32) * 2


def test_sol_time_is_roofline_max():
    chip = load_chip("h100-sxm")
    big = {"m": 4096, "n": 4096, "k": 4096, "dtype": "bf16"}
    assert sol_time_s("gemm", big, chip) == pytest.approx(2 * 4096**3 / chip.peak("bf16"))
    skinny = {"m": 1, "n": 4096, "k": 4096, "dtype": "bf16"}  # memory bound: the weight read dominates
    assert sol_time_s("gemm", skinny, chip) == pytest.approx((4096 + 4096 * 4096 + 4096) * 2 / chip.mem_bytes_per_s)
    assert sol_time_s("memory", {"op": "copy", "bytes": 3.35e9}, chip) == pytest.approx(1e-3)


def test_exact_match_returns_that_efficiency(tmp_path, profiles_env):
    profiles_env(_write(tmp_path, "p.json", [_gemm_case(4096, 4096, 4096, 700.0)]))
    eff, src = measured_efficiency("gemm", "h100-sxm", m=4096, n=4096, k=4096, dtype="bf16")
    assert eff == pytest.approx(700e12 / load_chip("h100-sxm").peak("bf16"))
    assert "p.json" in src and "unit test" in src and "catalog" in src


def test_interpolation_is_idw_geometric_mean(tmp_path, profiles_env):
    cases = [_gemm_case(2048, 4096, 4096, 500.0, i=0), _gemm_case(8192, 4096, 4096, 800.0, i=1)]
    profiles_env(_write(tmp_path, "p.json", cases))
    peak = load_chip("h100-sxm").peak("bf16")
    eff, src = measured_efficiency("gemm", "h100-sxm", m=4096, n=4096, k=4096)
    assert eff == pytest.approx(math.sqrt(500e12 / peak * 800e12 / peak))  # equidistant (1 log2 each)
    assert "2 case(s)" in src


def test_nothing_close_enough_is_none(tmp_path, profiles_env):
    profiles_env(_write(tmp_path, "p.json", [_gemm_case(4096, 4096, 4096, 700.0)]))
    eff, why = measured_efficiency("gemm", "h100-sxm", m=64, n=4096, k=4096)
    assert eff is None and "within 1.0 log2" in why
    eff, _ = measured_efficiency("gemm", "h100-sxm", m=64, n=4096, k=4096, max_distance_log2=7.0)
    assert eff is not None


def test_alignment_and_dtype_must_match(tmp_path, profiles_env):
    profiles_env(_write(tmp_path, "p.json", [_gemm_case(4096, 4096, 4096, 700.0)]))
    eff, why = measured_efficiency("gemm", "h100-sxm", m=4096, n=4096, k=4095)
    assert eff is None and "aligned=False" in why
    eff, why = measured_efficiency("gemm", "h100-sxm", m=4096, n=4096, k=4096, dtype="fp8")
    assert eff is None and "dtype=fp8" in why


def test_no_profile_and_bad_env(tmp_path, profiles_env, monkeypatch):
    profiles_env()
    eff, why = measured_efficiency("gemm", "b200", m=1, n=1, k=1)
    assert eff is None and "no calibration profile for b200" in why
    monkeypatch.setenv("HUNDREDX_PROFILES", str(tmp_path / "missing.json"))
    with pytest.raises(InputError, match="HUNDREDX_PROFILES"):
        measured_efficiency("gemm", "b200", m=1, n=1, k=1)
    with pytest.raises(InputError, match="kind"):
        measured_efficiency("collective", "b200")
    not_a_profile = tmp_path / "list.json"
    not_a_profile.write_text("[1, 2]")
    monkeypatch.setenv("HUNDREDX_PROFILES", str(not_a_profile))
    with pytest.raises(InputError, match="not a hundredx-profile/1 file"):
        measured_efficiency("gemm", "b200", m=1, n=1, k=1)


def test_shipped_dir_globs_chip_and_filters_hardware(tmp_path, profiles_env):
    shipped = tmp_path / "shipped"
    shipped.mkdir()
    _write(shipped, "h100-sxm-2026.json", [_gemm_case(1024, 1024, 1024, 400.0)])
    _write(shipped, "h100-pcie-2026.json", [_gemm_case(1024, 1024, 1024, 300.0, chip="h100-pcie")], chip="h100-pcie")
    profiles_env()
    assert [c["value"] for c in load_profiles("h100-sxm")] == [400.0]
    assert [c["value"] for c in load_profiles("h100-pcie")] == [300.0]


def test_uncatalogued_chip_uses_measured_roofline(tmp_path, profiles_env):
    cases = [_gemm_case(512, 512, 512, 2.0, chip="cpu", dtype="fp32", i=0),
             _gemm_case(128, 512, 512, 1.0, chip="cpu", dtype="fp32", i=1),
             {"id": "c", "kind": "memory", "hardware": "cpu", "config": {"op": "copy", "bytes": 1e8},
              "metric": "bandwidth_gbps", "value": 50.0, "source": "unit test"}]
    profiles_env(_write(tmp_path, "cpu.json", cases, chip="cpu"))
    eff, src = measured_efficiency("gemm", "cpu", m=512, n=512, k=512, dtype="fp32")
    assert eff == pytest.approx(1.0) and "measured roofline" in src
    eff, _ = measured_efficiency("memory", "cpu", op="copy", bytes=1e8)
    assert eff == pytest.approx(1.0)


def test_metric_and_work_conventions_for_partial_causal():
    """1 < sq < skv, causal: the reported TFLOP/s count the full sq x skv matrix (SCHEMA: halved only
    when sq = skv); the kernel's work (SOL) is the exact attended pairs, skv - (sq - 1)/2 per query."""
    from hundredx.kernel.roofline import case_metric_flops

    cfg = {"batch": 1, "seqlen_q": 512, "seqlen_kv": 2048, "heads_q": 8, "heads_kv": 8, "head_dim": 128,
           "causal": True, "dtype": "bf16"}
    full = 4 * 512 * 2048 * 8 * 128
    assert case_metric_flops("attention", cfg) == full
    assert case_work("attention", cfg)[0] == full * (2048 - 511 / 2) / 2048
    case = {"kind": "attention", "config": cfg, "metric": "tflops", "value": 100.0}
    assert measured.measured_time_s(case) == pytest.approx(full / 100e12, rel=1e-15)
