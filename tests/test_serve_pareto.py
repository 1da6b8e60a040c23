"""Pareto fronts: vectorized front vs brute force, sweeps over a grid, plots written atomically."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hundredx.errors import InputError
from hundredx.kernel.runtime import SchedulerSpec
from hundredx.serve import Deployment, LinearStepCost, Pool, Workload, simulate
from hundredx.serve.pareto import pareto_front, plot_pareto, sweep_pareto, undominated


def brute(points: np.ndarray) -> set[int]:
    keep = set()
    for i, p in enumerate(points):
        if not np.all(np.isfinite(p)):
            continue
        dominated = False
        for j, q in enumerate(points):
            if j == i or not np.all(np.isfinite(q)):
                continue
            if (q >= p).all() and ((q > p).any() or j < i):
                dominated = True
                break
        if not dominated:
            keep.add(i)
    return keep


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 8), st.integers(0, 8)), min_size=1, max_size=40))
def test_front_matches_brute_force(pairs):
    pts = np.array(pairs, dtype=float)
    front = pareto_front(pts)
    assert set(front.tolist()) == brute(pts)
    assert np.all(np.diff(pts[front, 0]) > 0)


def test_front_ignores_nan_and_checks_shape():
    pts = np.array([[1, 5], [np.nan, 9], [2, 4], [1.5, 1]])
    assert pareto_front(pts).tolist() == [0, 2]
    with pytest.raises(InputError, match="points"):
        pareto_front(np.zeros((3, 3)))


def test_sweep_over_batch_and_replicas_with_the_simulator(tmp_path):
    def evaluate(p):
        pool = Pool(LinearStepCost(), replicas=p["replicas"], devices_per_replica=8,
                    scheduler=SchedulerSpec(max_seqs=p["batch"]))
        work = Workload(num_requests=4 * p["batch"], arrival="closed", concurrency=p["batch"] * p["replicas"])
        return simulate(Deployment(pool), work).to_dict()

    grid = [{"batch": b, "replicas": r} for b in (1, 4, 16, 64) for r in (1, 2)]
    df = sweep_pareto(evaluate, grid)
    assert len(df) == 8 and df["pareto"].any()
    assert {"batch", "replicas", "output_tokens_per_s_per_device", "tokens_per_s_per_user"} <= set(df.columns)
    front = df[df.pareto].sort_values("tokens_per_s_per_user")
    # along the front, more interactivity costs throughput per device
    assert np.all(np.diff(front["output_tokens_per_s_per_device"].to_numpy()) < 0)
    out = plot_pareto(df, tmp_path / "front.png", label="replicas")
    assert out.stat().st_size > 1000 and out.read_bytes()[:4] == b"\x89PNG"
    assert [p.name for p in tmp_path.iterdir()] == ["front.png"]


def test_sweep_rejects_bad_evaluate():
    with pytest.raises(InputError, match="grid"):
        sweep_pareto(lambda p: {"x": 1}, [{"a": 1}])
    with pytest.raises(InputError, match="grid"):
        sweep_pareto(lambda p: {}, [])


def test_undominated_is_the_front_in_any_number_of_columns():
    """2 columns: the same rows as pareto_front (ties and duplicates included); 3 columns: a row that wins only
    on the third column stays, a row beaten everywhere goes, NaN rows never stay."""
    rng = np.random.default_rng(0)
    for _ in range(50):
        pts = np.round(rng.random((25, 2)) * 4)
        assert sorted(undominated(pts)) == sorted(pareto_front(pts))
    pts = np.array([[1.0, 1.0, 0.0], [1.0, 1.0, 2.0], [0.0, 0.0, 0.0], [2.0, 0.0, 0.0], [np.nan, 5.0, 5.0]])
    assert list(undominated(pts)) == [1, 3]
