"""Read case files, predict every case, summarise the error per kind.

APE = |predicted - measured| / measured. Per kind: cases, predicted, median and p90 APE,
share within 10% and 25%, and for the 80% intervals (kernel/intervals.py) the share of cases
whose measured value lies inside (`coverage_80`) and the mean relative width (hi - lo) /
predicted. Each case carries its `interval` [lo, hi] in the metric's unit, the source class
the width was read for and its place (inside / outside the fitted domain). Unpredicted cases
stay in the report with their reason. `validate_files(..., calibration=...)` restricts the
sources (kernel/loading.py); `cv=...` cross-validates instead (validate/cv.py).
"""

from __future__ import annotations

import importlib
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hundredx.errors import InputError
from hundredx.kernel.intervals import load_table, serving_group, time_factors, value_interval
from hundredx.kernel.loading import calibration_scope, check_calibration
from hundredx.validate.base import Unpredictable
from hundredx.views import View

MAX_FILE_BYTES = 64 * 1024 * 1024
PREDICTORS = {"gemm": "kernels", "attention": "kernels", "memory": "kernels", "grouped_gemm": "kernels",
              "collective": "collective", "serving": "serving", "layer": "layer",
              "moe_layer": "moe_layer"}
REQUIRED = ("id", "kind", "hardware", "config", "metric", "value")
# docs/cases.md, "Metrics"
METRICS = ("tflops", "time_s", "bandwidth_gbps", "bus_bandwidth_gbps", "algo_bandwidth_gbps", "output_tokens_per_s",
           "output_tokens_per_s_per_device", "input_tokens_per_s", "time_per_output_token_s", "ttft_s")
# sizes of what ran (docs/cases.md, "config per kind"): when present, a number in [1, MAX_SIZE]
SIZES = ("m", "n", "k", "batch", "seqlen_q", "seqlen_kv", "heads_q", "heads_kv", "head_dim", "head_dim_v", "bytes",
         "message_bytes", "n_ranks", "tokens_total", "groups", "isl", "osl", "tp", "pp", "ep", "dp", "concurrency",
         "max_batch", "tokens", "hidden", "topk", "experts", "seqlen", "kv_len", "intermediate")
MAX_SIZE = 1 << 50


@dataclass
class CaseResult:
    id: str
    kind: str
    measured: float
    predicted: float | None
    ape: float | None
    unpredicted_reason: str | None
    metric: str = ""
    source: str = ""  # source class of the prediction (kernel/intervals.py)
    group: str = ""
    place: str = ""
    interval: list[float] | None = None
    fold: str = ""
    cluster: str = ""  # the measurement campaign: case_cluster (calibrate/interval_fit.py weighs each one equally)
    assumptions: list[str] | None = None  # defaults used for what the case leaves out (serving)

    @property
    def covered(self) -> bool | None:
        if self.interval is None:
            return None
        return self.interval[0] <= self.measured <= self.interval[1]

    def to_dict(self) -> dict:
        out = {"id": self.id, "kind": self.kind, "measured": self.measured, "predicted": self.predicted,
               "ape": self.ape, "unpredicted_reason": self.unpredicted_reason, "metric": self.metric,
               "source": self.source, "place": self.place, "interval": self.interval}
        if self.fold:
            out["fold"] = self.fold
        if self.assumptions:
            out["assumptions"] = self.assumptions
        return out


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
    if case["kind"] not in PREDICTORS:
        raise InputError(f"{where} kind", case["kind"], f"unknown case kind; known: {', '.join(PREDICTORS)}")
    if case["metric"] not in METRICS:
        raise InputError(f"{where} metric", case["metric"], f"unknown metric; known: {', '.join(METRICS)}")
    _check_config(case["config"], f"{where} config")
    return case


def _check_config(config: dict, where: str) -> None:
    """Every number in a case's config finite and >= 0; the sizes of what ran in [1, MAX_SIZE]."""
    def walk(value: object, path: str, depth: int) -> None:
        if depth > 8:
            raise InputError(path, "<nested>", "nested more than 8 levels")
        if isinstance(value, dict):
            for key, v in value.items():
                walk(v, f"{path}.{key}", depth + 1)
        elif isinstance(value, list):
            for i, v in enumerate(value[:100_000]):
                walk(v, f"{path}[{i}]", depth + 1)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            if not math.isfinite(value) or not 0 <= value <= MAX_SIZE:
                raise InputError(path, value, "must be a finite number in [0, 2^50]")

    walk(config, where, 0)
    for key in SIZES:
        value = config.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 1 <= value <= MAX_SIZE:
            raise InputError(f"{where}.{key}", value, "a size must be a number in [1, 2^50]")


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
    return predict_detail(case)[0]


def predict_detail(case: dict) -> tuple[float, str, str, str]:
    """(value in the case's metric, source class, interval group, place) or Unpredictable."""
    module = PREDICTORS.get(case["kind"])
    if module is None:
        raise Unpredictable(f"unknown kind {case['kind']!r}")
    try:
        mod = importlib.import_module(f"hundredx.validate.{module}")
    except ModuleNotFoundError as exc:
        if exc.name == f"hundredx.validate.{module}":
            raise Unpredictable(f"no predictor for kind {case['kind']!r} yet") from None
        raise
    if module == "kernels":
        value, cls, where = mod.predict_detail(case)
        return float(value), cls, case["kind"], where
    group = serving_group(case["metric"]) if module == "serving" else module
    return float(mod.predict_case(case)), module, group, "any"



def source_name(case: dict) -> str:
    """The source a case belongs to (leave-one-source-out's fold): its `source` up to " | "."""
    return str(case.get("source", "")).split(" | ")[0].strip() or "unknown"


def case_cluster(case: dict) -> str:
    """The measurement campaign of a case, "hardware | source": one harness on one chip, whose cases'
    errors move together (the unit calibrate/interval_fit.py treats as exchangeable)."""
    return f"{case.get('hardware', 'unknown')} | {source_name(case)}"


def run_cases(cases: list[dict], table: dict | None = None) -> list[CaseResult]:
    """Predict every case; with an interval `table` each predicted case gets its 80% interval."""
    results = []
    for case in cases:
        measured = float(case["value"])
        base = CaseResult(case["id"], case["kind"], measured, None, None, None, metric=case["metric"],
                          cluster=case_cluster(case))
        try:
            if case["kind"] == "serving":  # serving predictions also say what they assumed
                from hundredx.validate.serving import predict_case_detail

                predicted, base.assumptions = predict_case_detail(case)
                cls, group, where = "serving", serving_group(case["metric"]), "any"
            else:
                predicted, cls, group, where = predict_detail(case)
            if not np.isfinite(predicted) or predicted <= 0:
                raise Unpredictable(f"prediction not positive and finite ({predicted})")
        except Unpredictable as exc:
            base.unpredicted_reason = str(exc)
            results.append(base)
            continue
        except (InputError, ValueError, KeyError) as exc:
            base.unpredicted_reason = f"error: {exc}"
            results.append(base)
            continue
        base.predicted, base.source, base.group, base.place = predicted, cls, group, where
        base.ape = abs(predicted - measured) / abs(measured) if measured else None
        if table is not None:
            add_interval(base, table)
        results.append(base)
    return results


def add_interval(result: CaseResult, table: dict) -> None:
    """The 80% interval of a predicted case from the table's cell of its class, group and place."""
    assert result.predicted is not None  # only predicted cases get an interval
    factors = time_factors(table, result.source, result.group, result.place)
    result.interval = value_interval(result.predicted, result.metric, factors)


def summarise(results: list[CaseResult]) -> dict:
    summary = {}
    for kind in sorted({r.kind for r in results}):
        rows = [r for r in results if r.kind == kind]
        apes = np.array([r.ape for r in rows if r.ape is not None])
        with_iv = [r for r in rows if r.interval is not None and r.predicted]
        summary[kind] = {
            "cases": len(rows), "predicted": int(apes.size),
            "median_ape": float(np.median(apes)) if apes.size else None,
            "p90_ape": float(np.percentile(apes, 90)) if apes.size else None,
            "within_10pct": float(np.mean(apes <= 0.10)) if apes.size else None,
            "within_25pct": float(np.mean(apes <= 0.25)) if apes.size else None,
            "coverage_80": float(np.mean([bool(r.covered) for r in with_iv])) if with_iv else None,
            "mean_rel_width": (float(np.mean([(r.interval[1] - r.interval[0]) / r.predicted for r in with_iv
                                              if r.interval is not None and r.predicted]))
                               if with_iv else None),
        }
    return summary


class ValidationReport(View, dict):
    """`validate_files`'s object (a dict: summary, cases, calibration[, cv]) with the notebook views."""

    def _title(self) -> str:
        how = f"cross-validated ({self['cv']['scheme']})" if "cv" in self else "in-sample"
        return f"{len(self.get('cases', []))} cases, {how}, calibration {self.get('calibration')}"

    def _summary(self) -> list[tuple[str, object]]:
        pct = lambda v: "-" if v is None else f"{100 * v:.1f}%"  # noqa: E731
        return [(kind, f"median APE {pct(s['median_ape'])}, p90 {pct(s['p90_ape'])}, in 80% interval "
                       f"{pct(s['coverage_80'])} ({s['predicted']}/{s['cases']} predicted)")
                for kind, s in self.get("summary", {}).items()]

    def _rows(self) -> list[dict]:
        return [dict(c) for c in self.get("cases", [])]

    def to_dict(self) -> dict:
        return dict(self)


def validate_files(paths: list[str], kind: str | None = None, calibration: str = "auto", cv: str | None = None,
                   folds: int = 5, seed: int = 0) -> ValidationReport:
    """The `hundredx validate --json` object: {"summary": {...}, "cases": [...]} (with `cv`, also "cv")."""
    if kind and kind not in PREDICTORS:
        raise InputError("kind", kind, f"unknown case kind; known: {', '.join(PREDICTORS)}")
    check_calibration(calibration)
    cases = load_cases(paths)
    if kind:
        cases = [c for c in cases if c["kind"] == kind]
    if not cases:
        raise InputError("kind" if kind else "FILE", kind or " ".join(paths)[:200],
                         "no case to validate" + (f" of kind {kind}" if kind else " (the files hold no case lines)"))
    if cv is not None:
        from hundredx.validate.cv import cross_validate

        return ValidationReport(cross_validate(cases, cv, folds=folds, seed=seed, calibration=calibration))
    with calibration_scope(calibration):
        results = run_cases(cases, load_table())
    return ValidationReport(summary=summarise(results), cases=[r.to_dict() for r in results], calibration=calibration)
