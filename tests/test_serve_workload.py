"""Serving workloads: arrival processes, length distributions, trace replay (CSV and Parquet), bad traces."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hundredx.errors import InputError
from hundredx.kernel.runtime import SchedulerSpec
from hundredx.serve import Deployment, LengthDist, LinearStepCost, Pool, Workload, load_trace, simulate
from hundredx.serve.stepcost import MemoStepCost, bucket
from hundredx.serve.workload import arrival_times, make_requests


def rng():
    return np.random.default_rng(0)


def test_poisson_and_gamma_rates_and_burstiness():
    n = 20000
    gaps = np.diff(arrival_times(Workload(arrival="poisson", rate_per_s=50), n, rng()))
    assert gaps.mean() == pytest.approx(1 / 50, rel=0.03)
    assert gaps.std() / gaps.mean() == pytest.approx(1.0, rel=0.05)
    gaps = np.diff(arrival_times(Workload(arrival="gamma", rate_per_s=50, cv=3.0), n, rng()))
    assert gaps.mean() == pytest.approx(1 / 50, rel=0.1)
    assert gaps.std() / gaps.mean() == pytest.approx(3.0, rel=0.1)


def test_onoff_keeps_mean_rate_and_silence():
    w = Workload(arrival="onoff", rate_per_s=20, on_s=2.0, off_s=3.0)
    t = arrival_times(w, 20000, rng())
    assert len(t) / t[-1] == pytest.approx(20, rel=0.05)
    assert np.all(np.mod(t, 5.0) <= 2.0)
    assert np.all(np.diff(t) >= 0)


def test_length_distributions():
    r = rng()
    assert np.all(LengthDist("fixed", 100).sample(10, r) == 100)
    u = LengthDist("uniform", low=5, high=9).sample(5000, r)
    assert u.min() == 5 and u.max() == 9
    ln = LengthDist("lognormal", 1000, sigma=0.8).sample(50000, r)
    assert ln.mean() == pytest.approx(1000, rel=0.03)
    clipped = LengthDist("lognormal", 1000, sigma=2.0, low=10, high=3000).sample(5000, r)
    assert clipped.min() >= 10 and clipped.max() <= 3000
    assert set(LengthDist("list", values=(3, 7)).sample(100, r).tolist()) == {3, 7}
    with pytest.raises(InputError, match="length.kind"):
        LengthDist("normal")
    with pytest.raises(InputError, match="length.high"):
        LengthDist("uniform", low=10, high=5)


def test_synthetic_prefix_groups():
    req = make_requests(Workload(num_requests=100, prefix_groups=3, prefix_tokens=2000,
                                 input_len=LengthDist("uniform", low=100, high=4000)), rng())
    assert set(req.prefix_id.tolist()) <= {0, 1, 2}
    assert np.all(req.prefix_tokens <= req.input_len)


def write(frame: pd.DataFrame, path):
    if str(path).endswith(".csv"):
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    return path


TRACE = pd.DataFrame({"timestamp": [0.5, 0.1, 0.2, 0.9, 1.4, 1.5],
                      "input_length": [800, 900, 1000, 820, 950, 300],
                      "output_length": [20, 30, 40, 25, 10, 5],
                      "prefix_id": ["sys-a", "sys-a", "sys-b", "sys-a", "sys-b", None]})


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_trace_replay_round_trip(tmp_path, suffix):
    path = write(TRACE, tmp_path / f"trace{suffix}")
    req = load_trace(path)
    assert req.arrival_s.tolist() == pytest.approx([0.0, 0.1, 0.4, 0.8, 1.3, 1.4])  # sorted, shifted to 0
    assert req.input_len.tolist() == [900, 1000, 800, 820, 950, 300]
    assert req.prefix_id[-1] == -1 and req.prefix_tokens[-1] == 0
    # group prefix = shortest prompt of the group: sys-a 800, sys-b 950
    assert req.prefix_tokens.tolist()[:5] == [800, 950, 800, 800, 950]
    w = Workload(arrival="trace", trace_path=str(path))
    cache = Deployment(Pool(LinearStepCost(), scheduler=SchedulerSpec(prefix_cache=True)))
    res = simulate(cache, w)
    assert res["finished"] == 6 and res["prefix_hit_rate"] > 0.2
    np.testing.assert_allclose(res.requests["arrival_s"], req.arrival_s)


def test_trace_with_prefix_length_and_datetimes(tmp_path):
    frame = pd.DataFrame({"timestamp": ["2024-05-01 10:00:00", "2024-05-01 10:00:02.5"],
                          "input_length": [100, 200], "output_length": [1, 2],
                          "prefix_id": [7, 7], "prefix_length": [64, 64]})
    req = load_trace(write(frame, tmp_path / "t.csv"))
    assert req.arrival_s.tolist() == [0.0, 2.5]
    assert req.prefix_tokens.tolist() == [64, 64]


@pytest.mark.parametrize("bad, field", [
    (TRACE.drop(columns=["output_length"]), "trace.columns"),
    (TRACE.assign(input_length=[800, 900, -3, 820, 950, 300]), r"trace.input_length\[row 2\]"),
    (TRACE.assign(output_length=[20, 30, 40, 2.5, 10, 5]), r"trace.output_length\[row 3\]"),
    (TRACE.assign(timestamp=["0", "1", "x", "3", "4", "5"]), r"trace.timestamp\[row 2\]"),
])
def test_bad_trace_names_column_and_row(tmp_path, bad, field):
    with pytest.raises(InputError, match=field):
        load_trace(write(bad, tmp_path / "bad.csv"))


def test_bad_trace_files(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        load_trace(tmp_path / "missing.csv")
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(InputError, match="csv or .parquet"):
        load_trace(tmp_path / "x.json")
    (tmp_path / "broken.parquet").write_bytes(b"not parquet")
    with pytest.raises(InputError, match="unreadable"):
        load_trace(tmp_path / "broken.parquet")
    with pytest.raises(InputError, match="trace_path"):
        Workload(arrival="trace")


def test_bucket_rounds_up_within_resolution():
    x = np.arange(0, 200000, 7)
    b = bucket(x, 5)
    assert np.all(b >= x) and np.all(b <= np.maximum(x * (1 + 2**-5), x))
    assert np.all(bucket(np.arange(32), 5) == np.arange(32))
    memo = MemoStepCost(LinearStepCost())
    ctx = 1000 + 64 * np.arange(500)
    vec = memo.step_times_s(0, 0, 0, 64, ctx)
    loop = np.array([memo.step_time_s(0, 0, 0, 64, int(c)) for c in ctx])
    np.testing.assert_allclose(vec, loop)
    exact = LinearStepCost().step_times_s(0, 0, 0, 64, ctx)
    assert np.all(vec >= exact - 1e-15) and np.all(vec <= exact * 1.04)


def test_table_step_cost_interpolates_and_validates():
    from hundredx.serve import TableStepCost

    t = TableStepCost(prefill_points=((512, 0.02), (4096, 0.12)), decode_points=((1, 0.010), (64, 0.014)),
                      kv_bytes_per_token=2.0, kv_capacity_bytes=1e6, decode_s_per_context_token=1e-9)
    assert t.step_time_s(0, 0, 0, 32, 0) == pytest.approx(0.010 + 31 / 63 * 0.004)
    assert t.step_time_s(8192, 2, 0, 0, 0) == pytest.approx(0.12 + 4096 * (0.10 / 3584))  # linear above the table
    assert t.step_time_s(256, 1, 0, 1, 1000) == pytest.approx(0.02 + 0.010 + 1e-6)  # clamped below
    with pytest.raises(InputError, match="decode_points"):
        TableStepCost(((1, 1.0), (2, 2.0)), ((4, 1.0), (2, 2.0)), 1.0, 1.0)
