"""How fast does `validate` predict serving cases? The 170 public serving cases replicated x24 (4,080 cases).

Target (issue 12): 4,000 serving cases in under a minute. Each replica gets its own id; the predictions
are identical, so the figure measures the per-case cost of the benchmark semantics (predict/steady.py,
MLPerf Server's rate search included), not caching across ids beyond what the library does itself.
Run: python benchmarks/validate_serving_speed.py
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from hundredx.validate.runner import run_cases

CASES = Path(__file__).resolve().parents[1] / "data" / "validation" / "serving.jsonl"
COPIES = 24


def main() -> None:
    base = [json.loads(line) for line in CASES.read_text().splitlines() if line.strip()]
    cases = [{**c, "id": f"{c['id']}#{i}"} for i in range(COPIES) for c in base]
    t0, c0 = time.perf_counter(), time.process_time()
    results = run_cases(cases)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    predicted = sum(r.predicted is not None for r in results)
    print(f"{len(cases)} serving cases ({COPIES} x {len(base)}), {predicted} predicted: {wall:.1f} s wall "
          f"({1e3 * wall / len(cases):.1f} ms a case), {cpu:.1f} s CPU (the figure on a shared machine)")


if __name__ == "__main__":
    main()
