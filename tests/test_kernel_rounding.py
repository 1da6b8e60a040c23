"""Tile-aware token rounding: real routing semantics on random router outputs."""

from __future__ import annotations

import numpy as np
import pytest

from hundredx.errors import InputError
from hundredx.kernel.params import KernelParams
from hundredx.kernel.token_rounding import round_tokens, rounding_speedup
from kernel_chips import toy_chip


def _router(T: int, E: int, k: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(T, E)) + np.linspace(0, 1.5, E)  # mild skew
    ids = np.argsort(-logits, axis=1)[:, :k]
    scores = np.take_along_axis(np.exp(logits), ids, 1)
    return ids, scores / scores.sum(1, keepdims=True)


@pytest.mark.parametrize("mode", ["nearest", "down"])
def test_counts_multiple_of_tile_and_assignments_valid(mode):
    ids, scores = _router(1000, 16, 4, seed=1)
    res = round_tokens(ids, scores, 16, 64, mode)
    assert np.all(res.counts_after % 64 == 0)
    kept = res.ids >= 0
    assert np.all(res.ids[kept] < 16)
    assert np.all(res.scores[~kept] == 0)
    for row in res.ids:  # no token gets the same expert twice
        live = row[row >= 0]
        assert len(live) == len(set(live.tolist()))
    assert res.counts_after.sum() == kept.sum() == res.counts_before.sum() - res.dropped
    assert res.padded_rows(64) == 0


def test_down_drops_the_lowest_scores():
    ids = np.array([[0], [0], [0], [1], [1]])
    scores = np.array([[0.9], [0.1], [0.5], [0.7], [0.8]])
    res = round_tokens(ids, scores, 2, 2, "down")
    assert res.ids[:, 0].tolist() == [0, -1, 0, 1, 1]
    assert res.dropped == 1 and res.rerouted == 0


def test_nearest_reroutes_dropped_tokens_to_an_expert_with_room():
    # expert 0: 5 tokens (tile 4, r=1 -> round down, drop lowest), expert 1: 3 tokens (r=3 -> needs 1)
    ids = np.array([[0, 2], [0, 2], [0, 2], [0, 2], [0, 3], [1, 3], [1, 3], [1, 3]])
    scores = np.array([[.9, .1], [.8, .2], [.7, .3], [.6, .4], [.05, .95], [.5, .5], [.5, .5], [.5, .5]])
    res = round_tokens(ids, scores, 4, 4, "nearest")
    assert res.ids[4].tolist() == [1, 3]  # token 4's weakest slot (expert 0, 0.05) moved to expert 1
    assert res.counts_after.tolist() == [4, 4, 4, 4]
    assert res.rerouted == 1 and res.dropped == 0


def test_rejects_duplicate_experts_and_bad_ids():
    with pytest.raises(InputError):
        round_tokens([[1, 1]], [[.5, .5]], 4, 2)
    with pytest.raises(InputError):
        round_tokens([[7]], [[1.0]], 4, 2)


def test_rounding_speedup_positive_when_padding_removed():
    chip = toy_chip()
    ids, scores = _router(300, 8, 2, seed=3)
    res = round_tokens(ids, scores, 8, 128, "nearest")
    out = rounding_speedup(res, chip, KernelParams.analytic(chip), 2048, 1536)
    assert out["padded_rows_after"] == 0 and out["padded_rows_before"] > 0
    assert out["speedup"] >= 1.0
