"""Golden snapshot: every public validation case, a grid of stacks, every examples/ stack file, a
predict_many table and a seeded simulation predict what `tests/golden/predictions.json` recorded.

A refactor must not move a number. A deliberate change regenerates the file
(`python tests/golden/golden.py`) and is named, with its reason, in CHANGELOG.md.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "golden"))
import golden  # noqa: E402

REL = 1e-12
SNAPSHOT = json.loads(golden.SNAPSHOT.read_text())


def _diff(got, want, where: str, out: list[str]) -> None:
    if isinstance(want, dict):
        if not isinstance(got, dict) or set(got) != set(want):
            out.append(f"{where}: keys {sorted(got) if isinstance(got, dict) else got!r} != {sorted(want)}")
            return
        for key in want:
            _diff(got[key], want[key], f"{where}.{key}", out)
    elif isinstance(want, list):
        if not isinstance(got, (list, tuple)) or len(got) != len(want):
            out.append(f"{where}: {got!r} != {want!r}"[:300])
            return
        for i, (g, w) in enumerate(zip(got, want)):
            _diff(g, w, f"{where}[{i}]", out)
    elif isinstance(want, float) and isinstance(got, (int, float)):
        if not math.isclose(got, want, rel_tol=REL, abs_tol=1e-300):
            out.append(f"{where}: {got!r} != {want!r} ({got / want - 1:+.3e})" if want else f"{where}: {got!r} != 0")
    elif got != want:
        out.append(f"{where}: {got!r} != {want!r}"[:300])


def _check(got, want, where: str) -> None:
    out: list[str] = []
    _diff(json.loads(json.dumps(got)), want, where, out)
    assert not out, f"{len(out)} differences, first: " + "\n".join(out[:12])


def test_public_cases_unchanged():
    out: list[str] = []
    for entry in SNAPSHOT["cases"]:
        want = {k: v for k, v in entry.items() if k != "case"}
        _diff(json.loads(json.dumps(golden.run_case(entry["case"]))), want, f"case {entry['case']['id']}", out)
    assert not out, f"{len(out)} cases moved, first: " + "\n".join(out[:12])


@pytest.mark.parametrize("index", range(len(SNAPSHOT["scenarios"])))
def test_scenarios_unchanged(index):
    entry = SNAPSHOT["scenarios"][index]
    _check(golden.run_scenario(entry["scenario"]), {k: v for k, v in entry.items() if k != "scenario"},
           f"scenario {index}")


@pytest.mark.parametrize("name", sorted(SNAPSHOT["examples"]))
def test_examples_unchanged(name):
    _check(golden.run_example(golden.REPO / "examples" / name), SNAPSHOT["examples"][name], name)


def test_predict_many_and_serve_unchanged():
    _check(golden.run_predict_many(), SNAPSHOT["predict_many"], "predict_many")
    _check(golden.run_serve(), SNAPSHOT["serve"], "serve")


def test_snapshot_covers_every_example_and_public_case():
    assert set(SNAPSHOT["examples"]) == {p.name for p in (golden.REPO / "examples").glob("*.yaml")}
    if golden.PUBLIC.is_dir():
        ids = {c["id"] for c in golden.public_cases()}
        assert ids <= {e["case"]["id"] for e in SNAPSHOT["cases"]}
