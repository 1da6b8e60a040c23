#!/usr/bin/env bash
# Install every dependency at the lower bound pyproject.toml declares, in a fresh venv, and run the suite.
# Last run 2026-12-01 (Python 3.11): 578 passed, 2 skipped. typer 0.12-0.15 break with click >= 8.2,
# and the tests need click >= 8.2 (CliRunner keeps stderr apart), hence typer>=0.16 and click>=8.2.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${1:-/tmp/hundredx-min}
python3 -m venv "$venv"
"$venv/bin/pip" install -q "numpy==1.26.0" "pandas==2.1.0" "pyarrow==14.0.1" "duckdb==1.0.0" "pydantic==2.6.0" \
    "typer==0.16.0" "click==8.2.0" "rich==13.7.0" "pyyaml==6.0.1" "matplotlib==3.8.0" "scipy==1.11.1" \
    "platformdirs==3.0.0" "pytest==8.0.0" "hypothesis==6.100.0" "jsonschema==4.20.0"
PYTHONPATH=src "$venv/bin/python" -m pytest -q -p no:cacheprovider -W ignore::DeprecationWarning
