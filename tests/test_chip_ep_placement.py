"""Topology-aware expert placement (kernel/ep_placement.py)."""

from __future__ import annotations

import numpy as np
import pytest

from hundredx.chip import load_system
from hundredx.errors import InputError
from hundredx.kernel.ep_placement import compare_placements, leaving_traffic, naive_placement, routing_matrix


def _clustered(experts=64, tokens=2048, topk=4, clusters=8, seed=0):
    rng = np.random.default_rng(seed)
    a = np.zeros((tokens, experts))
    for t in range(tokens):
        c = rng.integers(clusters)
        a[t, [c + clusters * j for j in rng.choice(experts // clusters, topk, replace=False)]] = 1
    return a


def test_naive_placement_blocks():
    assert list(naive_placement(8, 4)) == [0, 0, 1, 1, 2, 2, 3, 3]


def test_leaving_share_hand_computed():
    # 2 domains of 1 rank; token 0 on rank 0 uses experts {0,1} (both on rank 0): nothing leaves;
    # token 1 on rank 1 uses experts {0,1}: one domain-deduplicated send leaves, of 4 pairs in total.
    a = np.array([[1, 1, 0, 0], [1, 1, 0, 0]], dtype=float)
    share, rdma, _ = leaving_traffic(a, np.array([0, 0, 1, 1]), ep=2, domain=1)
    assert share == pytest.approx(1 / 4) and rdma == 1


def test_locality_placement_reduces_leaving_traffic_and_time():
    result = compare_placements(load_system("h800-sxm"), _clustered(), ep=32, topk=4, hidden=7168, domain=8)
    assert result.aware_leaving_share < 0.6 * result.naive_leaving_share
    assert result.aware_time_s < result.naive_time_s and result.saved_s > 0
    assert sorted(np.bincount(result.aware_placement)) == [2] * 32  # equal experts per rank


def test_uniform_probabilities_gain_little():
    result = compare_placements(load_system("h800-sxm"), np.ones(64), ep=32, topk=4, hidden=7168)
    assert abs(result.aware_leaving_share - result.naive_leaving_share) < 0.05


def test_bad_inputs():
    with pytest.raises(InputError):
        routing_matrix(np.array([1.0, -1.0, 2.0]), topk=2)
    with pytest.raises(InputError, match="ep"):
        compare_placements(load_system("h800-sxm"), np.ones(64), ep=12, topk=4, hidden=128, domain=8)
