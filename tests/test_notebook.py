"""Notebook use (issue 16, item 3): the README's python block runs as written; every result type
has a compact repr (at most 20 lines), an HTML view, to_frame() and to_dict(); nothing sets a
global matplotlib backend; the common types import from `hundredx` lazily."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import hundredx

ROOT = Path(__file__).resolve().parents[1]
EX = Path(hundredx.__file__).parent / "examples"


def test_readme_python_block_runs_as_written(tmp_path):
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)
    assert blocks, "README has a python block"
    script = tmp_path / "readme.py"
    script.write_text("\n".join(blocks))
    r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300,
                       env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin", "MPLBACKEND": ""})
    assert r.returncode == 0, r.stderr[-3000:]
    assert "half the layers: TPOT x" in r.stdout


def _check(result, min_rows: int = 1):
    text = repr(result)
    assert len(text.splitlines()) <= 20 and len(text) < 3000, text
    page = result._repr_html_()
    assert page.startswith("<div>") and "<table" in page
    frame = result.to_frame()
    assert len(frame) >= min_rows
    json.dumps(result.to_dict(), default=str)  # plain data
    return frame


@pytest.fixture(scope="module")
def prediction():
    return hundredx.predict("meta-llama/Llama-3.1-8B-Instruct", "h100-sxm", batch=8, isl=1024, osl=256, tp=1)


def test_prediction_views(prediction):
    frame = _check(prediction, 10)
    assert {"phase", "op", "time_s", "flops", "bytes", "bound"} <= set(frame.columns)
    assert frame["time_s"].sum() > 0
    assert f"tpot_s: {prediction.tpot_s:.4g}" in repr(prediction)  # the number, not a 14 kB dump


def test_simulation_views():
    scn = hundredx.build("meta-llama/Llama-3.1-8B-Instruct", "h100-sxm", tp=1)
    sim = hundredx.simulate(hundredx.deployment_from_stack(scn.stack),
                            hundredx.Workload(arrival="closed", concurrency=8, isl=512, osl=64, num_requests=24))
    assert isinstance(sim, hundredx.SimulationResult)
    frame = _check(sim, 24)
    assert len(sim.requests_frame()) == 24 and len(frame) == 24
    assert "ttft_p50_s" in repr(sim)


def test_decomposition_search_validation_claim_views(tmp_path):
    d = hundredx.decompose(hundredx.load_stack(EX / "llama70b-h100-bf16.yaml"),
                           hundredx.load_stack(EX / "llama70b-b200-fp8.yaml"))
    assert isinstance(d, hundredx.Decomposition)
    frame = _check(d, 2)
    assert list(frame.columns) == ["step", "factor", "cumulative", "note"]
    q = hundredx.Question("meta-llama/Llama-3.1-8B-Instruct", "h100-sxm", 1, 1024, 128, modes=("agg",))
    s = hundredx.search(q)
    assert isinstance(s, hundredx.SearchResult)
    assert "output_tokens_per_s_per_device" in _check(s, 1).columns
    v = hundredx.validate_files([str(ROOT / "data/validation/memory.jsonl")])
    assert isinstance(v, hundredx.ValidationReport) and v["summary"]["memory"]["cases"] == 19  # still a dict
    assert len(_check(v, 19)) == 19
    from hundredx.claims import Claims, check_claims
    from hundredx.claims.registry import CHECKS

    one = CHECKS[0]
    claim = one[3](one[0], one[1], one[2])
    _check(claim, 1)
    claims = Claims([claim, claim])
    _check(claims, 2)
    assert claims.to_dict()["verdicts"][claim.verdict] == 2
    assert callable(check_claims)


def test_no_global_matplotlib_backend_and_lazy_import():
    code = ("import matplotlib; matplotlib.use('svg'); import hundredx, sys; "
            "assert 'pandas' not in sys.modules and 'matplotlib.pyplot' not in sys.modules; "
            "from hundredx.report import charts; from hundredx.search import pareto; "
            "from hundredx.serve import pareto as sp; "
            "from hundredx import Prediction, SimResult, Decomposition, SearchResult, ValidationReport, Claim; "
            "assert matplotlib.get_backend() == 'svg', matplotlib.get_backend(); "
            "assert 'matplotlib.pyplot' not in sys.modules; "
            "from hundredx import Prediction; assert callable(hundredx.predict); print('ok')")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                       env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"})
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr[-2000:]
