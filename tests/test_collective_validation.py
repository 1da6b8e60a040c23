"""validate.collective against the public measured cases: median APE <= 15 %, p90 <= 35 %."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from hundredx.validate.base import Unpredictable
from hundredx.validate.collective import predict_case

sys.path.insert(0, str(Path(__file__).parent))
from collective_ape import PATH, evaluate  # noqa: E402


def test_public_collective_accuracy():
    apes, skipped = evaluate(PATH, verbose=False)
    assert len(apes) >= 50, skipped
    assert np.median(apes) <= 0.15
    assert np.percentile(apes, 90) <= 0.35


def test_unpredictable_cases():
    with pytest.raises(Unpredictable, match="chip"):
        predict_case({"hardware": "h900", "metric": "time_s",
                      "config": {"op": "all_reduce", "message_bytes": 1, "n_ranks": 8}})
    with pytest.raises(Unpredictable, match="metric"):
        predict_case({"hardware": "h100-sxm", "metric": "tflops", "config": {"op": "all_reduce"}})
    with pytest.raises(Unpredictable, match="tokens"):
        predict_case({"hardware": "h800-sxm", "metric": "time_s", "config": {"op": "moe_dispatch", "n_ranks": 8}})


def test_bidirectional_p2p_counts_both_directions():
    base = {"hardware": "h800-sxm", "metric": "algo_bandwidth_gbps",
            "config": {"op": "p2p", "message_bytes": 2**30, "n_ranks": 2, "scope": "intra_node"}}
    one = predict_case(base)
    both = predict_case({**base, "config": {**base["config"], "direction": "bidirectional"}})
    assert both == pytest.approx(2 * one)
