"""Benchmark: `decompose` of the shipped example pairs, with and without re-planning, and the curve.

Run: python benchmarks/decompose_speed.py [--repeats 3]. Pins numpy to one thread (one core).
Reports the median wall time of: the Llama-3.1-70B H100 -> B200 pair (no combination re-planned),
the DeepSeek-R1 16x H100 -> GB200 NVL72 pair (one combination re-planned by the search), the same
with --no-replan (Shapley factors not computable), and that pair's six-point interactivity curve.
Mismatches and waterfall are off: this measures the 8 combinations, the re-plan and the intervals.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

EX = Path(__file__).resolve().parents[1] / "examples"


def _time(fn, repeats: int) -> float:
    fn()  # warm-up: catalogs, fitted parameters, search caches
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return statistics.median(out)


def main() -> None:
    from hundredx.decompose import decompose
    from hundredx.decompose.curve import decompose_curve
    from hundredx.stackfile import load_stack

    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    llama = load_stack(EX / "llama70b-h100-bf16.yaml"), load_stack(EX / "llama70b-b200-fp8.yaml")
    dsr1 = load_stack(EX / "dsr1-h100-fp8.yaml"), load_stack(EX / "dsr1-gb200-nvl72-fp4.yaml")
    cases = {
        "llama70b h100->b200": lambda: decompose(*llama, mismatches=False, with_waterfall=False),
        "dsr1 16xh100->nvl72 (re-plan)": lambda: decompose(*dsr1, mismatches=False, with_waterfall=False),
        "dsr1 16xh100->nvl72 (--no-replan)": lambda: decompose(*dsr1, mismatches=False, with_waterfall=False,
                                                                replan=False),
        "dsr1 curve, 6 points (re-plan)": lambda: decompose_curve(*dsr1),
    }
    for name, fn in cases.items():
        print(f"{name:38s} {_time(fn, args.repeats):7.2f} s")


if __name__ == "__main__":
    main()
