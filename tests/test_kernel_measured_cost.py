"""op_cost prefers a measured calibration profile for the chip (DESIGN.md preference 1)."""

from __future__ import annotations

import json

import pytest

from hundredx.chip import load_chip
from hundredx.kernel import cost_measured
from hundredx.kernel.cost import op_cost
from hundredx.kernel.runtime import RuntimeSpec
from hundredx.model.ops import GemmShape, Op


def _gemm_op(m, n, k):
    return Op(name="g", group="g", block="ffn", count=1.0, flops=2.0 * m * n * k, bytes_read=2.0 * (m * k + n * k),
              bytes_written=2.0 * m * n, weight_bytes=2.0 * n * k, shape=GemmShape(m, n, k))


def _profile(tmp_path, seconds):
    case = {"id": "c1", "kind": "gemm", "hardware": "h100-sxm",
            "config": {"m": 4096, "n": 4096, "k": 4096, "dtype": "bf16"},
            "metric": "time_s", "value": seconds, "source": "test profile"}
    doc = {"format": "hundredx-profile/1", "provenance": {"device": "test"}, "cases": [case]}
    path = tmp_path / "h100-sxm-test.json"
    path.write_text(json.dumps(doc))
    return path


def test_measured_profile_is_preferred(tmp_path, monkeypatch):
    chip = load_chip("h100-sxm")
    op = _gemm_op(4096, 4096, 4096)
    fitted = op_cost(op, chip, RuntimeSpec())
    assert not fitted.source.startswith("measured")
    measured_s = 2 * 4096**3 / 400e12  # a (slow) 400 TFLOP/s measurement
    monkeypatch.setenv("HUNDREDX_PROFILES", str(_profile(tmp_path, measured_s)))
    cost_measured._has_profile.cache_clear()
    got = op_cost(op, chip, RuntimeSpec())
    assert got.source.startswith("measured")
    assert float(got.time_s) == pytest.approx(measured_s, rel=1e-6)
    far = op_cost(_gemm_op(64, 512, 512), chip, RuntimeSpec())  # nothing measured near it
    assert not far.source.startswith("measured")
