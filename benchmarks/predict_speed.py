"""Benchmark: one `predict` in-process, `predict_many` configurations/s, `hundredx --help` wall time.

Run: python benchmarks/predict_speed.py [--rows 200000]. Pins numpy to one thread (one core).
predict: median of 500 calls after one warm-up call; predict_many: median of 3 runs after one
warm-up run of the same size; --help: best of 3 fresh processes.
Targets (issue 2): predict < 1 ms, predict_many >= 200k configurations/s, --help < 1 s.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

OTHER_STACKS = (  # informational: bigger op graphs and collectives
    ("meta-llama/Llama-3.1-70B-Instruct", "h100-sxm", dict(tp=8), dict(isl=1024, osl=128, batch=64)),
    ("Qwen/Qwen3-30B-A3B", "h100-sxm", dict(tp=2), dict(isl=2048, osl=256, batch=32)),
    ("deepseek-ai/DeepSeek-V3", "h200-sxm", dict(tp=8, ep=8, attention_dp=True), dict(isl=1024, osl=512, batch=64)),
)


def bench_predict(repeats: int = 500, model="meta-llama/Llama-3.1-8B-Instruct", system="h100-sxm", runtime=None,
                  workload=None) -> float:
    from hundredx.predict import predict
    from hundredx.scenario import Workload, build

    stack = build(model, system, **(runtime or dict(tp=1))).stack
    workload = Workload(**(workload or dict(isl=1024, osl=128, batch=8)))
    predict(stack, workload)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        predict(stack, workload)
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def bench_many(rows: int, repeats: int = 3) -> float:
    from hundredx.predict import predict_many

    rng = np.random.default_rng(0)
    table = pd.DataFrame({
        "model": "meta-llama/Llama-3.1-70B-Instruct", "chip": "h100-sxm",
        "tp": rng.choice([1, 2, 4, 8], rows), "batch": rng.integers(1, 256, rows),
        "isl": rng.integers(128, 8192, rows), "osl": rng.integers(16, 2048, rows)})
    predict_many(table)  # warm-up at full size (first-touch allocations, lazy imports)
    rates = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = predict_many(table)
        rates.append(rows / (time.perf_counter() - t0))
        assert len(out) == rows
    return float(np.median(rates))


def bench_help() -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "hundredx.cli", "--help"], check=True, capture_output=True)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=200_000)
    args = parser.parse_args()
    one = bench_predict()
    many = bench_many(args.rows)
    helps = min(bench_help() for _ in range(3))
    print(f"predict (Llama-3.1-8B, H100, batch 8): {one * 1e3:.3f} ms median  (target < 1 ms)")
    print(f"predict_many ({args.rows} rows, Llama-3.1-70B, H100): {many:,.0f} configurations/s  (target >= 200,000)")
    print(f"hundredx --help: {helps:.2f} s  (target < 1 s)")
    for model, system, runtime, workload in OTHER_STACKS:
        t = bench_predict(200, model, system, runtime, workload)
        print(f"predict ({model.split('/')[-1]}, {system}, {runtime}): {t * 1e3:.3f} ms median  (informational)")


if __name__ == "__main__":
    main()
