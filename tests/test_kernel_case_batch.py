"""kernel.cases.CaseBatch prices many cases with one model call per group and equals predict_value."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from hundredx.chip import load_chip
from hundredx.kernel.cases import KINDS, CaseBatch, predict_value
from hundredx.kernel.loading import load_params
from hundredx.kernel.params import KernelParams

DATA = Path(__file__).resolve().parents[1] / "data" / "validation"
CASES = [json.loads(line) for kind in KINDS for line in (DATA / f"{kind}.jsonl").read_text().splitlines()
         if line.strip()]


@pytest.mark.parametrize("chip_id", sorted({c["hardware"] for c in CASES}))
def test_batch_equals_case_by_case(chip_id):
    chip = load_chip(chip_id)
    cases = [c for c in CASES if c["hardware"] == chip_id]
    batch = CaseBatch(cases, chip)
    for params in (KernelParams.analytic(chip), load_params(chip)):
        one = np.array([predict_value(c, chip, params) for c in cases])
        np.testing.assert_allclose(batch.values(params), one, rtol=1e-12)
        np.testing.assert_allclose(batch.log_errors(params), np.log(one / batch.measured), atol=1e-12)
    assert len(batch.groups) < len(cases) or len(cases) < 3
