"""Fit each collective library's own constants on data/validation/collective.jsonl and print them
(calibrate/comm_fit.py; copy the rounded values into src/hundredx/kernel/comm_libs.py LIBRARIES)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from hundredx.calibrate.comm_fit import fit_library

ROOT = Path(__file__).resolve().parent.parent
LIBS = ("rccl", "xla", "neuron", "hccl", "dataflow")


def main() -> int:
    path = ROOT / "data" / "validation" / "collective.jsonl"
    cases = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    for lib in LIBS:
        out = fit_library(cases, lib)
        print(lib, json.dumps({k: out[k] for k in ("params", "identified", "errors", "loo_errors")}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
