"""Benchmark: `hundredx search` on the DeepSeek-V3 16x H200 question and a dense deployment sweep.

Run: PYTHONPATH=src python benchmarks/search_speed.py [--repeats 5]. numpy is pinned to one thread.
  1. DeepSeek-V3 on 16x H200, ISL 4000 / OSL 1000, TTFT <= 3 s, TPOT <= 50 ms, aggregated and
     disaggregated, the default space: the search in-process (imports warm; wall and CPU s, best
     and median of --repeats) and the whole process (`python -m hundredx.cli search ... --json`,
     best of 3). Targets (issue 13): <= 1 s of search, <= 3 s whole process.
  2. Dense deployment sweep: Llama-3.1-70B on 256x H100 (ISL 1024 / OSL 256), every aggregated and
     disaggregated deployment of tp 1-8, pp 1-8, the default batches and formats: configurations
     (stored rows) per CPU-second of one core, evaluation only and with the Parquet store.
     Target: >= 1,000,000 configurations/s/core. The configurations share their replicas'
     operating points: each (tp, pp, ep, batch) replica candidate is priced once per unit, and
     the rows are deployments built from them (search/evaluate.py, search/disagg.py).
  3. For scale: predict_arrays over distinct replica configurations (nothing shared).
CPU seconds (time.process_time) are reported beside wall seconds: on a shared host the wall
clock also counts other processes.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

ROOT = Path(__file__).resolve().parents[1]
DSV3 = ["--model", "deepseek-ai/DeepSeek-V3", "--chip", "h200-sxm", "--devices", "16", "--isl", "4000", "--osl",
        "1000", "--ttft-limit", "3", "--tpot-limit", "0.05"]
DENSE_SPACE = "deployment:\n  tp: [1, 2, 4, 8]\n  pp: [1, 2, 4, 8]\n"


def bench_dsv3(repeats: int) -> dict:
    from hundredx.search import Question, search

    q = Question("deepseek-ai/DeepSeek-V3", "h200-sxm", 16, 4000, 1000, ttft_limit_s=3.0, tpot_limit_s=0.05)
    search(Question("meta-llama/Llama-3.1-8B-Instruct", "h100-sxm", 8))  # warm the imports and caches once
    walls, cpus, result = [], [], None
    for _ in range(repeats):
        w, c = time.perf_counter(), time.process_time()
        result = search(q)
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    assert result is not None
    return {"rows": result.rows, "feasible": result.feasible, "verdict": result.verdict,
            "wall_best": min(walls), "wall_median": statistics.median(walls), "cpu_best": min(cpus),
            "cpu_median": statistics.median(cpus)}


def bench_process(out: Path) -> tuple[float, float]:
    """(best wall s, best CPU s of the child: user + system) of three whole `hundredx search` processes."""
    import resource

    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    walls, cpus = [], []
    for i in range(3):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "hundredx.cli", "search", *DSV3, "--out", str(out / f"run{i}"),
                        "--json"], check=True, capture_output=True, env=env)
        walls.append(time.perf_counter() - t)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return min(walls), min(cpus)


def bench_dense(folder: Path) -> dict:
    from hundredx.search import Question, default_space, load_space
    from hundredx.search.executors import evaluate_unit
    from hundredx.search.store import write_chunk
    from hundredx.search.units import base_specs, units

    q = Question("meta-llama/Llama-3.1-70B-Instruct", "h100-sxm", 256, 1024, 256)
    path = folder / "dense.yaml"
    path.write_text(DENSE_SPACE)
    spec, system = base_specs(q)
    space = load_space(str(path), default_space(spec, system, q.devices))
    unit_list, _ = units(q, space)
    evaluate_unit(q, space, unit_list[0])  # warm-up
    rows, evaluate_s, store_s = 0, 0.0, 0.0
    for unit in unit_list:
        c = time.process_time()
        cols = evaluate_unit(q, space, unit)
        evaluate_s += time.process_time() - c
        c = time.process_time()
        write_chunk(folder, unit.index, cols)
        store_s += time.process_time() - c
        rows += int(cols["tp"].size)
    return {"units": len(unit_list), "rows": rows, "evaluate_cpu_s": evaluate_s, "store_cpu_s": store_s,
            "per_s": rows / evaluate_s, "per_s_stored": rows / (evaluate_s + store_s)}


def bench_distinct(rows: int = 200_000) -> float:
    import numpy as np

    from hundredx.predict.many import predict_arrays
    from hundredx.scenario import build

    rng = np.random.default_rng(0)
    stack = build("meta-llama/Llama-3.1-70B-Instruct", "h100-sxm", tp=1, dp=64).stack
    args = [rng.choice([1.0, 2.0, 4.0, 8.0], rows), 1.0, 1.0, 1.0, rng.integers(1, 256, rows).astype(float),
            rng.integers(128, 8192, rows).astype(float), rng.integers(16, 2048, rows).astype(float)]
    predict_arrays(stack, *args, price="valid")
    c = time.process_time()
    predict_arrays(stack, *args, price="valid")
    return rows / (time.process_time() - c)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    d = bench_dsv3(args.repeats)
    print(f"DeepSeek-V3 16x H200 question: {d['rows']:,} configurations, {d['feasible']:,} feasible; "
          f"search {d['wall_best']:.2f} s wall best / {d['wall_median']:.2f} median, "
          f"{d['cpu_best']:.2f} s CPU best / {d['cpu_median']:.2f} median  (target <= 1 s)")
    print(f"  verdict: {d['verdict']}")
    with tempfile.TemporaryDirectory() as tmp:
        wall, cpu = bench_process(Path(tmp))
        print(f"  whole process (python -m hundredx.cli search ... --out --json): {wall:.2f} s wall, {cpu:.2f} s CPU, "
              "best of 3  (target <= 3 s)")
        dense = bench_dense(Path(tmp))
    print(f"dense deployment sweep (Llama-3.1-70B, 256x H100, agg + disagg, {dense['units']} units): "
          f"{dense['rows']:,} configurations in {dense['evaluate_cpu_s']:.2f} CPU s = {dense['per_s']:,.0f}/s/core "
          f"(target >= 1,000,000); with the Parquet store {dense['per_s_stored']:,.0f}/s/core")
    print(f"predict_arrays over distinct replica configurations (nothing shared): {bench_distinct():,.0f}/s/core")


if __name__ == "__main__":
    main()
