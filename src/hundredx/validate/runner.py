"""Read case files, predict every case, summarise the error per kind.

APE = |predicted - measured| / measured. Per kind: cases, predicted, median and p90 APE,
share within 10% and 25%. Unpredicted cases stay in the report with their reason.
"""

from __future__ import annotations

import importlib
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hundredx.errors import InputError
from hundredx.validate.base import Unpredictable

MAX_FILE_BYTES = 64 * 1024 * 1024
PREDICTORS = {"gemm": "kernels", "attention": "kernels", "memory": "kernels", "grouped_gemm": "kernels",
              "collective": "collective", "serving": "serving", "layer": "layer"}
REQUIRED = ("id", "kind", "hardware", "config", "metric", "value")


@dataclass
class CaseResult:
    id: str
    kind: str
    measured: float
    predicted: float | None
    ape: float | None
    unpredicted_reason: str | None

    def to_dict(self) -> dict:
        return {"id": self.id, "kind": self.kind, "measured": self.measured, "predicted": self.predicted,
                "ape": self.ape, "unpredicted_reason": self.unpredicted_reason}


MAX_CASES = 1_000_000


def check_case(case: object, where: str) -> dict:
    """One case line's fields (docs/cases.md), or InputError naming `where` (file:line) and the field."""
    if not isinstance(case, dict):
        raise InputError(where, type(case).__name__, "a case must be a JSON object")
    missing = [k for k in REQUIRED if k not in case]
    if missing:
        raise InputError(where, case.get("id", "?"), f"missing field(s) {', '.join(missing)}")
    for key in ("id", "kind", "hardware", "metric"):
        if not isinstance(case[key], str) or not case[key].strip() or len(case[key]) > 500:
            raise InputError(f"{where} {key}", case[key], "must be a non-empty string (at most 500 characters)")
    if not isinstance(case["config"], dict):
        raise InputError(f"{where} config", type(case["config"]).__name__, "must be a JSON object")
    value = case["value"]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise InputError(f"{where} value", value, "a measured value must be a finite number > 0")
    devices = case.get("n_devices", 1)
    if isinstance(devices, bool) or not isinstance(devices, int) or not 1 <= devices <= 1 << 20:
        raise InputError(f"{where} n_devices", devices, "must be an integer in [1, 1048576]")
    return case


def load_cases(paths: list[str]) -> list[dict]:
    """Parse JSON Lines case files; an invalid line is an input error naming its file, line and field."""
    cases = []
    for path in paths:
        p = Path(path)
        if not p.is_file():
            raise InputError("FILE", str(path), "no such case file")
        if p.stat().st_size > MAX_FILE_BYTES:
            raise InputError("FILE", str(path), f"larger than {MAX_FILE_BYTES} bytes")
        seen: dict[str, int] = {}
        for number, line in enumerate(p.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                case = json.loads(line, parse_constant=_no_constant)
            except (json.JSONDecodeError, ValueError, RecursionError) as exc:
                raise InputError(where, line[:40], f"not JSON ({getattr(exc, 'msg', exc)})") from None
            case = check_case(case, where)
            if case["id"] in seen:
                raise InputError(f"{where} id", case["id"], f"repeats the id of line {seen[case['id']]}")
            seen[case["id"]] = number
            cases.append(case)
            if len(cases) > MAX_CASES:
                raise InputError("FILE", str(path), f"more than {MAX_CASES} cases")
    return cases


def _no_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def predict_one(case: dict) -> float:
    module = PREDICTORS.get(case["kind"])
    if module is None:
        raise Unpredictable(f"unknown kind {case['kind']!r}")
    try:
        mod = importlib.import_module(f"hundredx.validate.{module}")
    except ModuleNotFoundError as exc:
        if exc.name == f"hundredx.validate.{module}":
            raise Unpredictable(f"no predictor for kind {case['kind']!r} yet") from None
        raise
    return float(mod.predict_case(case))


def run_cases(cases: list[dict]) -> list[CaseResult]:
    results = []
    for case in cases:
        measured = float(case["value"])
        try:
            predicted = predict_one(case)
            if not np.isfinite(predicted) or predicted <= 0:
                raise Unpredictable(f"prediction not positive and finite ({predicted})")
        except Unpredictable as exc:
            results.append(CaseResult(case["id"], case["kind"], measured, None, None, str(exc)))
            continue
        except (InputError, ValueError, KeyError) as exc:
            results.append(CaseResult(case["id"], case["kind"], measured, None, None, f"error: {exc}"))
            continue
        ape = abs(predicted - measured) / abs(measured) if measured else None
        results.append(CaseResult(case["id"], case["kind"], measured, predicted, ape, None))
    return results


def summarise(results: list[CaseResult]) -> dict:
    summary = {}
    for kind in sorted({r.kind for r in results}):
        rows = [r for r in results if r.kind == kind]
        apes = np.array([r.ape for r in rows if r.ape is not None])
        summary[kind] = {
            "cases": len(rows), "predicted": int(apes.size),
            "median_ape": float(np.median(apes)) if apes.size else None,
            "p90_ape": float(np.percentile(apes, 90)) if apes.size else None,
            "within_10pct": float(np.mean(apes <= 0.10)) if apes.size else None,
            "within_25pct": float(np.mean(apes <= 0.25)) if apes.size else None,
        }
    return summary


def validate_files(paths: list[str], kind: str | None = None) -> dict:
    """The `hundredx validate --json` object: {"summary": {...}, "cases": [...]}."""
    if kind and kind not in PREDICTORS:
        raise InputError("kind", kind, f"unknown case kind; known: {', '.join(PREDICTORS)}")
    cases = load_cases(paths)
    if kind:
        cases = [c for c in cases if c["kind"] == kind]
    results = run_cases(cases)
    return {"summary": summarise(results), "cases": [r.to_dict() for r in results]}
