"""A search killed mid-run (SIGKILL) and resumed stores every row once; Ray stores the same bytes as local."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from hundredx.search import Question, default_space, load_space, read_rows, search
from hundredx.search.arrow import to_numpy
from hundredx.search.store import read_manifest, stored_units
from hundredx.search.units import base_specs

SPACE = ("deployment: {kv: [native, fp8], moe_routing: [uniform], speculative: [none]}\n"
         "model: {expert_width: [384, 512, 768, 1024, 1536, 2048], top_k: [4, 8]}\n")
ARGS = ["--model", "Qwen/Qwen3-30B-A3B", "--chip", "h100-sxm", "--devices", "8", "--isl", "2048", "--osl", "256",
        "--tpot-limit", "0.05"]
QUESTION = Question("Qwen/Qwen3-30B-A3B", "h100-sxm", 8, 2048, 256, tpot_limit_s=0.05)


def _space(tmp_path: Path):
    path = tmp_path / "space.yaml"
    path.write_text(SPACE)
    spec, system = base_specs(QUESTION)
    return path, load_space(str(path), default_space(spec, system, 8))


def _sorted(table: pa.Table) -> pa.Table:
    return table.sort_by([("unit", "ascending"), ("row", "ascending")])


def _same(a: pa.Table, b: pa.Table) -> bool:
    """Equal schemas and bit-identical columns (floats compared as their bits, so NaN equals NaN)."""
    if a.schema != b.schema or a.num_rows != b.num_rows:
        return False
    for name in a.column_names:
        x, y = (to_numpy(t.column(name)) for t in (a, b))
        if x.dtype == np.float64:
            x, y = x.view(np.int64), y.view(np.int64)
        if not np.array_equal(x, y):
            return False
    return True


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "hundredx.cli", "search", *args]


@pytest.mark.slow
def test_sigkill_then_resume_loses_no_row_and_stores_none_twice(tmp_path):
    path, space = _space(tmp_path)
    whole = search(QUESTION, space, out=tmp_path / "whole")
    out = tmp_path / "killed"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    proc = subprocess.Popen(_cli(*ARGS, "--space", str(path), "--out", str(out), "--json"), env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while len(stored_units(out)) < 2 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    stored = stored_units(out)
    units = len(read_manifest(out)["units"])
    assert 2 <= len(stored) < units, "the kill must land mid-run"
    assert read_manifest(out)["complete"] is False
    done = subprocess.run(_cli(*ARGS, "--space", str(path), "--out", str(out), "--resume", "--json"), env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert read_manifest(out)["complete"] is True and stored_units(out) == set(range(units))
    assert not list((out / "chunks").glob(".*.tmp"))
    again, first = _sorted(read_rows(out)), _sorted(read_rows(whole.out))
    assert again.num_rows == first.num_rows == whole.rows
    keys = list(zip(again.column("unit").to_pylist(), again.column("row").to_pylist()))
    assert len(set(keys)) == len(keys)
    assert _same(again, first)


@pytest.mark.slow
def test_ray_stores_exactly_what_local_stores(tmp_path):
    pytest.importorskip("ray", reason="Ray is the [ray] extra: pip install 'hundredx[ray]'")
    import ray

    _, space = _space(tmp_path)
    local = search(QUESTION, space, out=tmp_path / "local")
    try:
        remote = search(QUESTION, space, out=tmp_path / "ray", executor="ray", workers=2)
    finally:
        ray.shutdown()
    a, b = _sorted(read_rows(local.out)), _sorted(read_rows(remote.out))
    assert a.num_rows == b.num_rows > 0 and _same(a, b)  # bit-identical: same floats, same strings
    assert local.to_dict()["top"] == remote.to_dict()["top"]


@pytest.mark.slow
def test_process_pool_stores_exactly_what_local_stores(tmp_path):
    _, space = _space(tmp_path)
    small = Question("Qwen/Qwen3-30B-A3B", "h100-sxm", 8, 2048, 256, tpot_limit_s=0.05, modes=("agg",))
    local = search(small, space, out=tmp_path / "local")
    pool = search(small, space, out=tmp_path / "pool", executor="process", workers=2)
    assert _same(_sorted(read_rows(local.out)), _sorted(read_rows(pool.out)))
