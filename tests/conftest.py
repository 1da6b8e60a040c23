"""Test-suite settings: hypothesis runs derandomized (CI sees the same examples every run), and nothing
reads or writes the user's data directory: HUNDREDX_HOME points at a temporary directory for the whole
session (module-scoped fixtures included) and at a fresh empty one (tmp_path) for every test. `search_dir`:
one small stored search (Llama-3.1-8B on 8x H100, aggregated) that the dashboard tests browse, run once."""

import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import settings

settings.register_profile("hundredx", derandomize=True, deadline=None)
settings.load_profile("hundredx")


def pytest_configure(config):
    os.environ["HUNDREDX_HOME"] = tempfile.mkdtemp(prefix="hundredx-home-session-")
    os.environ.pop("HUNDREDX_PROFILES", None)


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory, monkeypatch):
    home = tmp_path_factory.mktemp("hundredx-home")
    monkeypatch.setenv("HUNDREDX_HOME", str(home))
    monkeypatch.delenv("HUNDREDX_PROFILES", raising=False)
    return home


@pytest.fixture(scope="session")
def search_dir(tmp_path_factory) -> Path:
    from typer.testing import CliRunner

    from hundredx.cli import app

    out = tmp_path_factory.mktemp("search") / "s"
    res = CliRunner().invoke(app, ["search", "--model", "meta-llama/Llama-3.1-8B-Instruct", "--chip", "h100-sxm",
                                   "--devices", "8", "--tpot-limit", "0.05", "--modes", "agg", "--out", str(out)])
    assert res.exit_code == 0, res.output
    return out
