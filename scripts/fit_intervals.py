"""Developer script: measure the held-out error of every source class on the public cases, write the SHIPPED
interval table, print the README's accuracy table.

Usage: python scripts/fit_intervals.py [--data DIR] [--out FILE | --dry-run] [--cache FILE]
       e.g. python scripts/fit_intervals.py --out src/hundredx/kernel/fitted/intervals.json

Held-out residuals r = log(predicted time / measured time), per source class (kernel/intervals.py):
  leave-one-chip-out, leave-one-source-out and 5-fold cross-validation (validate/cv.py: kernel parameters
      refitted on the training folds; serving rows with the training folds' kernel parameters, engine
      overheads not refitted; collective rows not refitted: in-sample for those models);
  analytic: every kernel case with the analytic defaults (nothing fitted);
  profile: every kernel case interpolated from the OTHER public cases of its chip, used as a calibration
      profile (leave-one-case-out, `validate --calibration profile`).
All of them go into one pool, each residual with its case's campaign (hardware | source);
calibrate/interval_fit.build_table makes the cells. The table is shipped as
kernel/fitted/intervals.json with its provenance (data files and sha256, schemes, counts). The printed
table: per kind, in-sample (the shipped fit), leave-one-chip-out and leave-one-source-out (median / p90
APE, coverage of the cross-fitted 80% intervals, mean relative width), every case counted. The coverage is
NESTED: a fold's widths come from the same pool as the shipped table (every scheme) less every residual of
a case in the fold (LOCO chip c: no residual of chip c, in any scheme, sets chip c's widths).
`--cache FILE` keeps the per-case results of the slow runs (minutes) to rebuild the table quickly.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

from hundredx.calibrate.fitter import file_record
from hundredx.calibrate.interval_fit import build_table
from hundredx.fileio import atomic_write
from hundredx.kernel.cases import KINDS
from hundredx.kernel.intervals import measured_platforms
from hundredx.kernel.loading import calibration_scope
from hundredx.validate.cv import cross_fit_intervals, residual_records, run_folds
from hundredx.validate.runner import CaseResult, load_cases, run_cases, summarise

ROOT = Path(__file__).resolve().parents[1]
SCHEMES = {"chip": "leave one chip out", "source": "leave one source out", "k": "5-fold"}
POOLED = ("chip", "source", "k", "analytic", "profile")


def _profile_residuals(cases: list[dict]) -> list[CaseResult]:
    """Kernel cases interpolated from the other public cases of their chip (a profile per chip)."""
    kernel = [c for c in cases if c["kind"] in KINDS and c.get("n_devices", 1) == 1]
    with tempfile.TemporaryDirectory(prefix="hundredx-prof-") as tmp:
        for chip in sorted({c["hardware"] for c in kernel}):
            doc = {"format": "hundredx-profile/1", "provenance": {"chip": chip, "note": "public cases"},
                   "cases": [c for c in kernel if c["hardware"] == chip], "skipped": []}
            (Path(tmp) / f"public-{chip}.json").write_text(json.dumps(doc))
        old = os.environ.get("HUNDREDX_PROFILES")
        os.environ["HUNDREDX_PROFILES"] = tmp
        try:
            with calibration_scope("profile"):
                return run_cases(kernel)
        finally:
            if old is None:
                os.environ.pop("HUNDREDX_PROFILES", None)
            else:
                os.environ["HUNDREDX_PROFILES"] = old


def _as_results(rows: list[dict]) -> list[CaseResult]:
    return [CaseResult(**r) for r in rows]


def _rows(results: list[CaseResult]) -> list[dict]:
    return [{k: getattr(r, k) for k in CaseResult.__dataclass_fields__} for r in results]


def run_all(cases: list[dict], cache: Path | None) -> dict[str, list[CaseResult]]:
    if cache is not None and cache.is_file():
        return {k: _as_results(v) for k, v in json.loads(cache.read_text()).items()}
    runs: dict[str, list[CaseResult]] = {}
    with calibration_scope("fitted"):
        runs["in-sample"] = run_cases(cases)
    for scheme in SCHEMES:
        print(f"cross-validating: {SCHEMES[scheme]} ...", file=sys.stderr)
        runs[scheme] = run_folds(cases, scheme)
    with calibration_scope("analytic"):
        runs["analytic"] = run_cases([c for c in cases if c["kind"] in KINDS])
    runs["profile"] = _profile_residuals(cases)
    if cache is not None:
        cache.write_text(json.dumps({k: _rows(v) for k, v in runs.items()}))
    return runs


def _fmt(s: dict | None) -> str:
    if not s or s["median_ape"] is None:
        return "- | - | - | -"
    cov = "-" if s.get("coverage_80") is None else f"{100 * s['coverage_80']:.0f}%"
    width = "-" if s.get("mean_rel_width") is None else f"{100 * s['mean_rel_width']:.0f}%"
    return f"{100 * s['median_ape']:.1f}% | {100 * s['p90_ape']:.1f}% | {cov} | {width}"


def _kind_table(sums: dict) -> list[str]:
    lines = ["| kind | cases | predicted | in-sample median / p90 | LOCO median | LOCO p90 | LOCO cov80 | LOCO width "
             "| LOSO median | LOSO p90 | LOSO cov80 | LOSO width | 5-fold median | 5-fold p90 | 5-fold cov80 "
             "| 5-fold width |", "|" + "---|" * 17]
    for kind, s in sums["in-sample"].items():
        ins = "-" if s["median_ape"] is None else f"{100 * s['median_ape']:.1f}% / {100 * s['p90_ape']:.1f}%"
        lines.append(f"| {kind} | {s['cases']} | {s['predicted']} | {ins} | {_fmt(sums['chip'].get(kind))} | "
                     f"{_fmt(sums['source'].get(kind))} | {_fmt(sums['k'].get(kind))} |")
    return lines


def _chip_table(results: list[CaseResult]) -> list[str]:
    """Leave-one-chip-out per held-out chip and kernel kind: what transfer to an unseen chip gives."""
    lines = ["| held-out chip | kind | cases | source class | median | p90 | cov80 |", "|---|---|---|---|---|---|---|"]
    groups: dict[tuple[str, str], list[CaseResult]] = {}
    for r in results:
        if r.kind in KINDS and r.predicted is not None:
            groups.setdefault((r.fold, r.kind), []).append(r)
    for (chip, kind), rows in sorted(groups.items()):
        ape = np.array([r.ape for r in rows])
        classes = ", ".join(sorted({f"{r.source}/{r.place}" for r in rows}))
        cov = np.mean([bool(r.covered) for r in rows])
        lines.append(f"| {chip} | {kind} | {len(rows)} | {classes} | {100 * np.median(ape):.1f}% | "
                     f"{100 * np.percentile(ape, 90):.1f}% | {100 * cov:.0f}% |")
    return lines


def report(runs: dict[str, list[CaseResult]]) -> str:
    """The README tables: per kind in-sample / leave-one-chip-out / leave-one-source-out / 5-fold, and
    leave-one-chip-out per chip; then the held-out error per source class and kind."""
    pool = [rec for name in POOLED for rec in residual_records(runs[name])]
    for scheme in SCHEMES:  # nested: a fold's widths from every pooled residual of cases outside the fold
        cross_fit_intervals(runs[scheme], pool)
    sums = {k: summarise(v) for k, v in runs.items()}
    lines = _kind_table(sums) + [""] + _chip_table(runs["chip"])
    unpredicted: dict[str, int] = {}
    for r in runs["in-sample"]:
        if r.unpredicted_reason:
            why = f"{r.kind}: {r.unpredicted_reason}"
            unpredicted[why] = unpredicted.get(why, 0) + 1
    lines += ["", "unpredicted (every scheme): " + "; ".join(f"{k} ({n})" for k, n in sorted(unpredicted.items()))]
    for name in ("chip", "source", "k", "analytic", "profile"):
        by_class: dict[str, list[CaseResult]] = {}
        for r in runs[name]:
            if r.predicted is not None:
                by_class.setdefault(f"{r.source}/{r.kind}", []).append(r)
        parts = [f"{k}: n={len(v)} median {100 * np.median([r.ape for r in v]):.1f}%"
                 for k, v in sorted(by_class.items())]
        lines.append(f"\n{name}: " + "; ".join(parts))
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(ROOT / "data" / "validation"))
    ap.add_argument("--out", help="the interval table to write (shipped: src/hundredx/kernel/fitted/intervals.json)")
    ap.add_argument("--dry-run", action="store_true")
    ap.add_argument("--cache", help="JSON file keeping the per-case results of the cross-validation runs")
    args = ap.parse_args()
    if not args.dry_run and not args.out:
        ap.error("name the output file with --out (or pass --dry-run)")
    files = sorted(Path(args.data).glob("*.jsonl"))
    cases = load_cases([str(f) for f in files])
    runs = run_all(cases, Path(args.cache) if args.cache else None)
    records = [rec for name in POOLED for rec in residual_records(runs[name])]
    prov = {"data": [file_record(f, ROOT) for f in files], "device": "computed on CPU from the public cases",
            "method": "held-out residuals log(predicted time / measured time): leave-one-chip-out, leave-one-source-"
                      "out and 5-fold refits (validate/cv.py), analytic defaults, leave-one-case-out profile "
                      "interpolation; split-conformal 10%/90% order statistics per class, group and place, a cell "
                      "standing alone with 10 residuals from 3 campaigns (hardware | source), 'new' the analytic "
                      "cell of its group (calibrate/interval_fit.py)",
            "notes": "serving rows: kernel parameters of the training folds, engine overheads not refitted; "
                     "collective rows: not refitted (in-sample)", "script": "scripts/fit_intervals.py",
            # platforms whose kernel / collective cases measure the widths (kernel/intervals.withheld)
            "platforms": measured_platforms(c["hardware"] for c in cases if c["kind"] != "serving")}
    table = build_table(records, prov)
    print(report(runs))
    if not args.dry_run:
        atomic_write(Path(args.out), json.dumps(table, indent=1, sort_keys=True) + "\n")
        print("wrote", args.out)


if __name__ == "__main__":
    main()
