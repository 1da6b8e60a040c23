"""Test-suite settings: hypothesis runs derandomized (CI sees the same examples every run), and nothing
reads or writes the user's data directory: HUNDREDX_HOME points at a temporary directory for the whole
session (module-scoped fixtures included) and at a fresh empty one (tmp_path) for every test."""

import os
import tempfile

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
