"""The three layers import one way (DESIGN.md): parse every module's imports and fail on a backward edge."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "hundredx"

# unit -> the hundredx units it may import (besides itself)
BASE = {"units", "formats", "errors", "fileio", "arrays", "yamlio", "views"}
LAYERS = BASE | {"model", "chip", "kernel"}
ALLOWED = {
    "units": {"errors"},
    "arrays": set(),
    "formats": {"errors"},
    "errors": set(),
    "fileio": {"errors"},
    "yamlio": {"errors"},
    "views": set(),
    "model": BASE,
    "chip": BASE,
    "kernel": BASE | {"model", "chip"},
    "scenario": LAYERS,
    "predict": LAYERS | {"scenario"},
    "serve": LAYERS | {"scenario", "predict"},
    "stackfile": LAYERS | {"scenario"},
    "decompose": LAYERS | {"scenario", "predict", "serve", "search"},
    "search": LAYERS | {"scenario", "predict", "serve"},
    "calibrate": BASE | {"kernel", "chip"},
    "validate": LAYERS | {"scenario", "predict", "serve", "calibrate", "validate"},
    "dashboard": LAYERS | {"scenario", "predict", "serve", "stackfile", "decompose", "search", "report", "dashboard"},
    "claims": None,
    "report": None,
    "cli": None,
    "__init__": None,
}


def _unit(path: Path) -> str:
    rel = path.relative_to(SRC)
    return rel.parts[0].removesuffix(".py")


def _imported_units(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "hundredx" and len(parts) > 1:
                found.add(parts[1])
    return found


def test_every_unit_is_classified():
    units = {_unit(p) for p in SRC.rglob("*.py")}
    assert units - set(ALLOWED) == set(), "add new top-level modules to ALLOWED"


def test_imports_go_one_way():
    bad = []
    for path in SRC.rglob("*.py"):
        unit = _unit(path)
        allowed = ALLOWED[unit]
        if allowed is None:
            continue
        for target in _imported_units(path) - {unit}:
            if target not in allowed and target in ALLOWED:
                bad.append(f"{path.relative_to(SRC)} imports hundredx.{target}")
    assert not bad, "backward or sideways imports:\n" + "\n".join(bad)


def test_only_the_cli_imports_the_dashboard():
    users = {_unit(p) for p in SRC.rglob("*.py") if "dashboard" in _imported_units(p)} - {"dashboard"}
    assert users <= {"cli"}, users


def test_model_and_chip_never_meet():
    for path in (SRC / "model").rglob("*.py"):
        assert "chip" not in _imported_units(path), path
    for path in (SRC / "chip").rglob("*.py"):
        assert "model" not in _imported_units(path), path
