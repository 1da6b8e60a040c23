"""HUNDREDX_HOME: user-written fitted files and profiles, read before the shipped ones; provenance names
the file; user commands never write into the installed package."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hundredx.chip import load_chip, load_system
from hundredx.cli.app import app
from hundredx.errors import InputError
from hundredx.kernel import loading, measured
from hundredx.kernel.loading import SHIPPED_FITTED_DIR, fitted_dir, home_dir, load_params, profiles_dir
from hundredx.kernel.runtime import RuntimeSpec
from hundredx.model import load_model
from hundredx.predict import predict
from hundredx.scenario import Stack, Workload

runner = CliRunner()
PACKAGE = Path(loading.__file__).resolve().parents[1]


def _package_state() -> dict:
    return {str(p): p.stat().st_mtime_ns for d in ("kernel/fitted", "kernel/profiles") for p in (PACKAGE / d).iterdir()}


def test_home_is_the_env_var_else_the_platform_data_dir(_isolated_home, monkeypatch):
    assert home_dir() == _isolated_home and fitted_dir() == _isolated_home / "fitted"
    assert profiles_dir() == _isolated_home / "profiles"
    monkeypatch.delenv("HUNDREDX_HOME")
    assert home_dir().name == "hundredx" and home_dir() != _isolated_home


def test_user_fitted_file_is_read_before_the_shipped_one(_isolated_home):
    h100 = load_chip("h100-sxm")
    shipped = load_params(h100)
    assert shipped.source == "fitted:h100-sxm.json (shipped)"
    doc = json.loads((SHIPPED_FITTED_DIR / "h100-sxm.json").read_text())
    doc["values"]["attn.eff.fa3"] = 0.5
    (_isolated_home / "fitted").mkdir()
    (_isolated_home / "fitted" / "h100-sxm.json").write_text(json.dumps(doc))
    mine = load_params(h100)
    assert mine["attn.eff.fa3"] == 0.5 and mine.source == f"fitted:{_isolated_home / 'fitted' / 'h100-sxm.json'}"
    stack = Stack(load_model("meta-llama/Llama-3.1-8B-Instruct"), load_system("h100-sxm"), RuntimeSpec())
    pred = predict(stack, Workload(isl=512, osl=16, batch=1))
    assert mine.source in pred.provenance["kernel_sources"]
    # no file of its own: its family's (fitted on GB200), transferred; a family without data: analytic
    assert load_params(load_chip("b200")).source == "family:family-blackwell.json (shipped)"
    assert load_params(load_chip("trainium2")).source == "analytic"


def test_home_paths_under_the_user_home_are_shown_with_a_tilde():
    assert loading.shown(Path.home() / ".local/share/hundredx/fitted/h100-sxm.json") == \
        "~/.local/share/hundredx/fitted/h100-sxm.json"


def test_a_broken_fitted_file_is_one_line_naming_it(_isolated_home):
    (_isolated_home / "fitted").mkdir()
    bad = _isolated_home / "fitted" / "h100-sxm.json"
    bad.write_text("{not json")
    with pytest.raises(InputError, match="fitted=") as err:
        load_params(load_chip("h100-sxm"))
    assert str(bad) in str(err.value) and "\n" not in str(err.value)


def test_calibrate_run_and_fit_write_home_not_the_package(_isolated_home):
    before = _package_state()
    res = runner.invoke(app, ["calibrate", "run", "--device", "cpu", "--quick", "--backend", "numpy", "--only",
                              "memory", "--json"])
    assert res.exit_code == 0, res.output
    written = Path(json.loads(res.stdout)["path"])
    assert written.parent == _isolated_home / "profiles"
    assert measured.load_profiles("cpu") and all(c["profile"] == str(written) for c in measured.load_profiles("cpu"))
    profile = _isolated_home / "h100.json"
    from test_calibrate import _synthetic_h100_profile

    _synthetic_h100_profile(profile)
    res = runner.invoke(app, ["calibrate", "fit", str(profile), "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["fitted"]["h100-sxm"]["path"] == str(_isolated_home / "fitted" / "h100-sxm.json")
    assert load_params(load_chip("h100-sxm")).source.endswith(str(_isolated_home / "fitted" / "h100-sxm.json"))
    assert _package_state() == before


@pytest.mark.parametrize("command", [["calibrate", "run", "--device", "cpu", "--quick", "--backend", "numpy"],
                                     ["calibrate", "fit", "PROFILE"]])
def test_user_commands_refuse_to_write_into_the_package(command, tmp_path):
    from test_calibrate import _synthetic_h100_profile

    profile = _synthetic_h100_profile(tmp_path / "h100.json")
    args = [str(profile) if a == "PROFILE" else a for a in command]
    res = runner.invoke(app, args + ["--out", str(SHIPPED_FITTED_DIR)])
    assert res.exit_code == 2 and "inside the installed package" in res.stderr, res.output


def test_oversized_profile_is_refused_by_name(tmp_path, monkeypatch):
    big = tmp_path / "big.json"
    with open(big, "wb") as handle:
        handle.truncate(measured.MAX_PROFILE_BYTES + 1)  # sparse: nothing is written
    monkeypatch.setenv("HUNDREDX_PROFILES", str(big))
    with pytest.raises(InputError, match="larger than 64 MiB") as err:
        measured.load_profiles("h100-sxm")
    assert str(big) in str(err.value) and "\n" not in str(err.value)
    assert os.path.getsize(big) > 64 << 20
