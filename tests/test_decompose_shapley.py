"""Log-space Shapley attribution: efficiency (factors multiply to the total), symmetry, null player, hand example."""

from __future__ import annotations

import math
import random

import pytest

from hundredx.decompose.shapley import coalitions, interaction, one_at_a_time, shapley_factors, shapley_log

P3 = ("model", "kernel", "chip")


def _random_values(rng: random.Random, players) -> dict:
    return {s: math.exp(rng.uniform(-3, 3)) for s in coalitions(players)}


@pytest.mark.parametrize("seed", range(25))
def test_factors_multiply_to_total(seed):
    rng = random.Random(seed)
    players = P3 if seed % 2 else ("a", "b", "c", "d")
    v = _random_values(rng, players)
    f = shapley_factors(v, players)
    total = v[frozenset(players)] / v[frozenset()]
    assert math.isclose(math.prod(f.values()), total, rel_tol=1e-9)
    oat = one_at_a_time(v, players)
    assert math.isclose(math.prod(oat.values()) * interaction(v, players), total, rel_tol=1e-9)


def test_multiplicative_game_is_exact():
    """v(S) = prod of per-player gains: each factor is exactly that gain and the interaction is 1."""
    gains = {"model": 2.0, "kernel": 1.5, "chip": 4.0}
    v = {s: 3.0 * math.prod(gains[p] for p in s) for s in coalitions(P3)}
    f = shapley_factors(v, P3)
    for p in P3:
        assert math.isclose(f[p], gains[p], rel_tol=1e-12)
    assert math.isclose(interaction(v, P3), 1.0, rel_tol=1e-12)


def test_symmetry_and_null_player():
    rng = random.Random(7)
    base = {frozenset(): 1.0}
    # model and kernel symmetric (v depends on how many of them are in S), chip a null player
    pair = {0: 1.0, 1: rng.uniform(1, 5), 2: rng.uniform(5, 20)}
    v = {s: pair[len(s & {"model", "kernel"})] for s in coalitions(P3)}
    v.update(base)
    f = shapley_factors(v, P3)
    assert math.isclose(f["model"], f["kernel"], rel_tol=1e-12)
    assert math.isclose(f["chip"], 1.0, rel_tol=1e-12)
    assert math.isclose(f["model"] * f["kernel"], pair[2], rel_tol=1e-12)


def test_two_layer_hand_computed():
    """Players x, y. v(0)=1, v(x)=2, v(y)=3, v(xy)=12 (bonus 2 over 2*3).
    phi_x = 1/2 [ln 2 - ln 1] + 1/2 [ln 12 - ln 3] = 1/2 ln 8 -> factor sqrt(8) = 2.828...
    phi_y = 1/2 [ln 3] + 1/2 [ln 12 - ln 2] = 1/2 ln 18 -> factor sqrt(18) = 4.243...
    product = 12 = total; interaction = 12 / (2*3) = 2."""
    x, y = frozenset({"x"}), frozenset({"y"})
    v = {frozenset(): 1.0, x: 2.0, y: 3.0, x | y: 12.0}
    f = shapley_factors(v, ("x", "y"))
    assert math.isclose(f["x"], math.sqrt(8), rel_tol=1e-12)
    assert math.isclose(f["y"], math.sqrt(18), rel_tol=1e-12)
    assert math.isclose(interaction(v, ("x", "y")), 2.0, rel_tol=1e-12)
    assert math.isclose(sum(shapley_log(v, ("x", "y")).values()), math.log(12), rel_tol=1e-12)


def test_missing_or_nonpositive_value_is_refused():
    v = {s: 1.0 for s in coalitions(P3)}
    v[frozenset({"chip"})] = 0.0
    with pytest.raises(ValueError, match="chip"):
        shapley_factors(v, P3)
    v[frozenset({"chip"})] = None
    assert one_at_a_time(v, P3)["chip"] is None
    assert interaction(v, P3) is None
