"""`hundredx calibrate`: CPU pipeline end to end (run -> profile -> show -> lookup), sweeps, CLI errors, GPU."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from hundredx.calibrate.backend import rep_counts
from hundredx.calibrate.profile import read_profile
from hundredx.calibrate.sweeps import KV_CAP_BYTES, plan
from hundredx.cli.app import app
from hundredx.kernel import measured

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]


def _cuda() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


@pytest.fixture(scope="module")
def cpu_profile(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("cal") / "cpu.json"
    res = runner.invoke(app, ["calibrate", "run", "--device", "cpu", "--quick", "--backend", "numpy",
                              "--out", str(out), "--json"])
    assert res.exit_code == 0, res.output
    return out


def test_cpu_run_writes_a_valid_profile(cpu_profile):
    data = read_profile(cpu_profile)
    prov = data["provenance"]
    assert prov["chip"] == "cpu" and prov["backend"] == "numpy" and prov["date"] and prov["host"]
    kinds = {c["kind"] for c in data["cases"]}
    assert kinds == {"gemm", "attention", "grouped_gemm", "memory"}
    assert all(c["hardware"] == "cpu" and c["value"] > 0 for c in data["cases"])
    assert all(c["source"].startswith(f"hundredx calibrate run, {prov['device_name']}, 20") for c in data["cases"])
    ops = {c["config"]["op"] for c in data["cases"] if c["kind"] == "memory"}
    assert ops == {"copy", "rmsnorm"}
    assert any(c["config"]["k"] % 4 for c in data["cases"] if c["kind"] == "gemm")  # an unaligned fp32 K
    assert [s["reason"] for s in data["skipped"]] == ["numpy has no FP8 GEMM"]


def test_cpu_value_matches_timing_in_notes(cpu_profile):
    case = next(c for c in read_profile(cpu_profile)["cases"] if c["kind"] == "gemm")
    median = float(case["notes"].split()[1])
    m, n, k = (case["config"][d] for d in "mnk")
    assert case["value"] == pytest.approx(2 * m * n * k / median / 1e12, rel=1e-3)


def test_show_json_reports_efficiencies(cpu_profile):
    res = runner.invoke(app, ["calibrate", "show", str(cpu_profile), "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["n_cases"] == len(out["cases"]) > 10
    assert "measured roofline cpu" in out["sol_from"]
    effs = [c["efficiency"] for c in out["cases"]]
    assert all(0 < e <= 1.0 + 1e-9 for e in effs) and max(effs) == pytest.approx(1.0)
    res = runner.invoke(app, ["calibrate", "show", str(cpu_profile)])
    assert res.exit_code == 0 and "measured cases" in res.stdout


def test_lookup_from_cpu_profile(cpu_profile, monkeypatch):
    monkeypatch.setenv("HUNDREDX_PROFILES", str(cpu_profile))
    case = next(c for c in read_profile(cpu_profile)["cases"] if c["kind"] == "gemm" and c["config"]["m"] == 64
                and c["config"]["n"] == 256 and c["config"]["k"] == 256)
    shape = {d: case["config"][d] for d in ("m", "n", "k", "dtype")}
    eff, src = measured.measured_efficiency("gemm", "cpu", **shape)
    assert eff is not None and 0 < eff <= 1.0 + 1e-9
    assert cpu_profile.name in src and "distance" not in src
    far, why = measured.measured_efficiency("gemm", "cpu", m=65536, n=65536, k=65536, dtype="fp32")
    assert far is None and "within 1.0 log2" in why
    copy = next(c for c in read_profile(cpu_profile)["cases"] if c["kind"] == "memory" and c["config"]["op"] == "copy")
    eff, _ = measured.measured_efficiency("memory", "cpu", op="copy", bytes=copy["config"]["bytes"])
    assert eff is not None
    attn = next(c for c in read_profile(cpu_profile)["cases"] if c["kind"] == "attention")
    eff, _ = measured.measured_efficiency("attention", "cpu", **attn["config"])
    assert eff is not None


def test_torch_cpu_backend_runs_the_same_pipeline(tmp_path):
    pytest.importorskip("torch")  # torch is the optional `gpu` extra; the numpy path above always runs
    out = tmp_path / "t.json"
    res = runner.invoke(app, ["calibrate", "run", "--device", "cpu", "--quick", "--backend", "torch", "--only", "gemm",
                              "--only", "grouped_gemm", "--out", str(out)])
    assert res.exit_code == 0, res.output
    data = read_profile(out)
    libs = {c["config"]["library"] for c in data["cases"] if c["kind"] == "grouped_gemm"}
    assert "torch_mm_loop" in libs and data["provenance"]["torch"]


def test_gpu_plan_covers_the_brief():
    fake = SimpleNamespace(is_cuda=True, dtype="bf16", copy_dtype="bf16",
                           grouped_libraries=("torch_grouped_mm", "torch_mm_loop"))
    benches = plan(fake, quick=False)
    gemms = [c for k, c in benches if k == "gemm"]
    assert any(c["k"] % 8 and c["dtype"] == "bf16" for c in gemms) and any(c["n"] % 8 for c in gemms)
    assert any(c["m"] == 1 for c in gemms) and any(c["dtype"] == "fp8" for c in gemms)
    attn = [c for k, c in benches if k == "attention"]
    assert {c["phase"] for c in attn} == {"prefill", "decode"} and {c["head_dim"] for c in attn} >= {64, 128, 256}
    assert {c["causal"] for c in attn} == {True, False}
    assert all(2 * c["batch"] * c["seqlen_kv"] * c["heads_kv"] * c["head_dim"] * 2 <= KV_CAP_BYTES for c in attn)
    grouped = [c for k, c in benches if k == "grouped_gemm"]
    assert {c["library"] for c in grouped} == {"torch_grouped_mm", "torch_mm_loop"}
    assert {c["op"] for k, c in benches if k == "memory"} == {"copy", "rmsnorm"}
    assert len(plan(fake, quick=True)) < len(benches) < 400


def test_rep_counts():
    assert rep_counts(1e-3, 0.1, 5, 200) == (25, 100)
    assert rep_counts(1.0, 0.1, 5, 200) == (2, 5)
    assert rep_counts(1e-9, 0.1, 5, 200) == (200, 200)


@pytest.mark.skipif(_cuda(), reason="this machine has CUDA")
def test_cuda_without_cuda_exits_2(tmp_path):
    res = runner.invoke(app, ["calibrate", "run", "--device", "cuda", "--out", str(tmp_path / "p.json")])
    assert res.exit_code == 2
    assert res.stderr.startswith("error: device='cuda'") and len(res.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "p.json").exists()


@pytest.mark.parametrize("args, field", [
    (["run", "--device", "tpu"], "device='tpu'"),
    (["run", "--device", "cpu", "--only", "serving"], "only='serving'"),
    (["run", "--device", "cpu", "--backend", "jax"], "backend='jax'"),
    (["show", "/nonexistent/p.json"], "profile='/nonexistent/p.json'"),
    (["fit", "/nonexistent/p.json"], "profile='/nonexistent/p.json'"),
])
def test_bad_input_exits_2(args, field):
    res = runner.invoke(app, ["calibrate", *args])
    assert res.exit_code == 2, res.output
    assert field in res.stderr and "Traceback" not in res.output


def test_fit_refuses_a_cpu_profile(cpu_profile, tmp_path):
    res = runner.invoke(app, ["calibrate", "fit", str(cpu_profile), "--out", str(tmp_path / "f.json")])
    assert res.exit_code == 2 and "chip='cpu'" in res.stderr
    assert not (tmp_path / "f.json").exists()


def test_python_m_cli_needs_no_heavy_packages():
    """The GPU script runs `python -m hundredx.cli` where only numpy/pydantic/typer/rich/pyyaml/scipy exist."""
    blocked = "pandas pyarrow duckdb matplotlib ray".split()
    code = ("import sys\n" + "".join(f"sys.modules[{m!r}] = None\n" for m in blocked)
            + "sys.argv = ['hundredx', 'calibrate', 'run', '--help']\nimport runpy\n"
            + "runpy.run_module('hundredx.cli', run_name='__main__')\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin", "COLUMNS": "120"})
    assert res.returncode == 0, res.stderr[-2000:]
    assert "--device" in res.stdout and "--quick" in res.stdout


def test_gpu_script_is_executable_and_uses_the_module_cli():
    script = ROOT / "scripts" / "calibrate_gpu.sh"
    text = script.read_text()
    assert script.stat().st_mode & 0o111
    assert "python3 -m hundredx.cli calibrate run --device cuda" in text and "PYTHONPATH" in text


@pytest.mark.gpu
@pytest.mark.skipif(not _cuda(), reason="needs a CUDA GPU")
def test_gpu_quick_gemm_and_copy(tmp_path, monkeypatch):
    out = tmp_path / "gpu.json"
    res = runner.invoke(app, ["calibrate", "run", "--device", "cuda", "--quick", "--only", "gemm", "--only", "memory",
                              "--out", str(out)])
    assert res.exit_code == 0, res.output
    data = read_profile(out)
    chip = data["provenance"]["chip"]
    assert data["provenance"]["cuda"] and data["provenance"]["torch"]
    big = [c for c in data["cases"] if c["kind"] == "gemm" and c["config"]["dtype"] == "bf16"
           and c["config"]["m"] == c["config"]["n"] == c["config"]["k"] == 4096]
    assert big and 50 < big[0]["value"] < 5000  # TFLOP/s: a tensor-core GPU, not a CPU
    monkeypatch.setenv("HUNDREDX_PROFILES", str(out))
    eff, src = measured.measured_efficiency("gemm", chip, m=4096, n=4096, k=4096, dtype="bf16")
    assert eff is not None and 0.2 < eff < 1.2, src  # a fraction of the catalog peak
    copies = [c["value"] for c in data["cases"] if c["kind"] == "memory" and c["config"]["op"] == "copy"]
    assert max(copies) > 300  # GB/s: HBM/GDDR, not PCIe


def _synthetic_h100_profile(path: Path) -> Path:
    """Cases shaped like an H100 run: compute-bound GEMMs at 70% of peak, skinny ones at 80% of HBM, copies at 90%."""
    from hundredx.calibrate.profile import write_profile
    from hundredx.chip.catalog import load_chip

    chip = load_chip("h100-sxm")
    cases = []
    for m in (16, 64, 256, 1024, 4096, 8192):
        cfg = {"m": m, "n": 4096, "k": 4096, "dtype": "bf16", "library": "torch"}
        flops, nbytes, _ = measured.case_work("gemm", cfg)
        t = max(flops / (0.7 * chip.peak("bf16")), nbytes / (0.8 * chip.mem_bytes_per_s))
        cases.append({"id": f"g{m}", "kind": "gemm", "hardware": "h100-sxm", "config": cfg, "metric": "tflops",
                      "value": flops / t / 1e12, "source": "synthetic test profile"})
    for size in (1 << 24, 1 << 28, 1 << 31):
        cases.append({"id": f"c{size}", "kind": "memory", "hardware": "h100-sxm",
                      "config": {"op": "copy", "bytes": 2 * size, "dtype": "bf16"}, "metric": "bandwidth_gbps",
                      "value": 0.9 * chip.mem_bytes_per_s / 1e9, "source": "synthetic test profile"})
    prov = {"device_name": "synthetic", "chip": "h100-sxm", "date": "2026-01-01T00:00:00+00:00", "host": "test",
            "command": "test"}
    return write_profile({"format": "hundredx-profile/1", "provenance": prov, "cases": cases}, path)


def test_fit_writes_a_fitted_file_with_provenance(tmp_path):
    profile = _synthetic_h100_profile(tmp_path / "h100.json")
    out = tmp_path / "fitted" / "mine.json"
    res = runner.invoke(app, ["calibrate", "fit", str(profile), "--out", str(out), "--json"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)["fitted"]["h100-sxm"]
    assert summary["path"] == str(out) and summary["n_cases"] == 9
    doc = json.loads(out.read_text())
    assert doc["chip"] == "h100-sxm" and doc["values"]
    assert doc["provenance"]["profiles"][0]["path"] == str(profile.resolve())
    assert doc["provenance"]["profiles"][0]["sha256"] == hashlib.sha256(profile.read_bytes()).hexdigest()
    assert doc["provenance"]["profiles"][0]["device_name"] == "synthetic" and doc["provenance"]["date"]
    assert [p.name for p in out.parent.iterdir()] == ["mine.json"]  # no temporary left behind
    res = runner.invoke(app, ["calibrate", "fit", str(profile), "--out", str(tmp_path / "dir")])
    assert res.exit_code == 0 and (tmp_path / "dir" / "h100-sxm.json").is_file()
