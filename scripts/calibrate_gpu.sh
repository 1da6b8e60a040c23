#!/usr/bin/env bash
# One-command GPU calibration for a lent GPU machine (torch present, hundredx not installed).
#
#   scripts/calibrate_gpu.sh [--quick] [--chip ID] [--only gemm ...]
#
# Writes $OUT/profile.json (the calibration profile), $OUT/profile-summary.txt (a readable
# table) and $OUT/calibrate.log. OUT defaults to ./calibration-out. Needs only python3 with
# torch (+ triton, optional), numpy, pydantic, typer, rich, pyyaml, scipy.
# Exit codes: 0 ok, 2 bad input or no CUDA (one line on stderr), other = crash.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${OUT:-$PWD/calibration-out}"
mkdir -p "$OUT"
export PYTHONPATH="$ROOT/src${PYTHONPATH:+:$PYTHONPATH}"
cd "$ROOT"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,temperature.gpu,power.draw --format=csv \
    > "$OUT/nvidia-smi.csv" 2>/dev/null || true
python3 -m hundredx.cli calibrate run --device cuda --out "$OUT/profile.json" "$@" 2> >(tee "$OUT/calibrate.log" >&2)
python3 -m hundredx.cli calibrate show "$OUT/profile.json" > "$OUT/profile-summary.txt"
COLUMNS=160 python3 -m hundredx.cli calibrate show "$OUT/profile.json" | tail -n 40
echo "profile: $OUT/profile.json"
