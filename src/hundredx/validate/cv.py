"""Cross-validation of the kernel parameters: refit on the training folds, predict the held-out fold.

`hundredx validate FILE... --cv chip|source|k` (`cross_validate(cases, scheme)`):

* `chip` — leave one chip out: a fold is every case of one `hardware`. Its kernel cases are
  then predicted from its architecture family fitted on the other chips (datasheet transfer,
  kernel/transfer.py), or from the analytic defaults when no other chip of its family has data.
* `source` — leave one source out: a fold is every case of one source (the `source` field up to
  " | ": one paper, README, benchmark repository or measurement campaign).
* `k` — k-fold (`folds`, default 5): cases are dealt to folds by a seeded hash of their id.

Per fold the kernel cases (gemm, attention, memory, grouped_gemm) of the OTHER folds are fitted
with the shipped fitter (calibrate/fitter.fit_all: families, pooled chips), the files are
written to a temporary directory, and the fold's cases are predicted with only those files
(kernel/loading.calibration_scope(mode, directory); mode `fitted` for `auto`: measured profiles
are not split into folds, so none is used). Serving cases are predicted with the training folds'
kernel parameters; the engine overheads (kernel/engine.py, fitted on all serving cases) and the
collective model's constants are NOT refitted — those rows are in-sample for the engine and
the collective model, and the report says so (`notes`).

Intervals are cross-fitted as well: a held-out case's 80% interval comes from the residuals
of the OTHER folds of the same run (calibrate/interval_fit.build_table), so `coverage_80` is a
held-out figure for the widths too, not only for the parameters.
"""

from __future__ import annotations

import hashlib
import tempfile

from hundredx.calibrate.fitter import fit_all, save_families, save_fitted
from hundredx.calibrate.interval_fit import build_table
from hundredx.errors import InputError
from hundredx.kernel.cases import KINDS
from hundredx.kernel.intervals import time_residual
from hundredx.kernel.loading import calibration_scope, check_calibration
from hundredx.validate.runner import CaseResult, add_interval, run_cases, source_name, summarise

SCHEMES = ("chip", "source", "k")
NOTES = ("kernel parameters refitted per fold on the training folds' kernel cases (families, pooled chips)",
         "serving rows: kernel parameters of the training folds; engine overheads not refitted (in-sample)",
         "collective rows: the collective model is not refitted (in-sample)",
         "measured profiles are not used (not split into folds)",
         "intervals cross-fitted: each fold's widths from the other folds' residuals")


def fold_labels(cases: list[dict], scheme: str, folds: int = 5, seed: int = 0) -> list[str]:
    """The fold of every case under a scheme (module docstring)."""
    if scheme == "chip":
        return [str(c["hardware"]) for c in cases]
    if scheme == "source":
        return [source_name(c) for c in cases]
    if scheme == "k":
        if not 2 <= folds <= 100:
            raise InputError("folds", folds, "k-fold needs 2 to 100 folds")
        return [f"fold{_hash(seed, str(c['id'])) % folds}" for c in cases]
    raise InputError("cv", scheme, f"must be one of {', '.join(SCHEMES)} (k: k-fold, --folds)")


def _hash(seed: int, ident: str) -> int:
    return int(hashlib.sha256(f"{seed}:{ident}".encode()).hexdigest(), 16)


def _predict_fold(held: list[dict], train: list[dict], mode: str) -> list[CaseResult]:
    fits = fit_all([c for c in train if c["kind"] in KINDS]) if train else {"chips": {}, "families": {}}
    with tempfile.TemporaryDirectory(prefix="hundredx-cv-") as tmp:
        save_fitted(fits["chips"], tmp, {"note": "cross-validation fold"})
        save_families(fits["families"], tmp, {"note": "cross-validation fold"})
        with calibration_scope(mode, tmp):
            return run_cases(held)


def residual_records(results: list[CaseResult]) -> list[dict]:
    """{"class", "group", "place", "r", "fold", "kind", "id", "cluster"} of every predicted result (interval_fit's
    input)."""
    return [{"class": r.source, "group": r.group, "place": r.place, "fold": r.fold, "kind": r.kind, "id": r.id,
             "cluster": r.cluster,
             "r": time_residual(r.predicted, r.measured, r.metric)}
            for r in results if r.predicted is not None]


def run_folds(cases: list[dict], scheme: str, folds: int = 5, seed: int = 0,
              calibration: str = "auto") -> list[CaseResult]:
    """Every case predicted from the kernel parameters fitted without its fold (no intervals yet)."""
    mode = check_calibration(calibration)
    if mode == "profile":
        raise InputError("calibration", mode, "profiles are not split into folds; validate the profile "
                                              "interpolation leave-one-case-out with --calibration profile, no --cv")
    mode = "fitted" if mode == "auto" else mode
    labels = fold_labels(cases, scheme, folds, seed)
    results: list[CaseResult | None] = [None] * len(cases)
    for label in sorted(set(labels)):
        held = [i for i, lab in enumerate(labels) if lab == label]
        train = [c for c, lab in zip(cases, labels) if lab != label]
        for i, res in zip(held, _predict_fold([cases[i] for i in held], train, mode)):
            res.fold = label
            results[i] = res
    return [r for r in results if r is not None]


def cross_fit_intervals(results: list[CaseResult], pool: list[dict] | None = None) -> None:
    """Each fold's intervals from a table built on residuals of cases outside the fold (in place): the other
    folds' of this run, or, with `pool` (residual records of several schemes, scripts/fit_intervals.py),
    every record in it whose case is not in the fold — nested: no width learnt from the fold's cases."""
    records = residual_records(results) if pool is None else pool
    for label in sorted({r.fold for r in results}):
        held = {r.id for r in results if r.fold == label}
        table = build_table(rec for rec in records if rec["id"] not in held)
        for res in results:
            if res.fold == label and res.predicted is not None:
                add_interval(res, table)


def cross_validate(cases: list[dict], scheme: str, folds: int = 5, seed: int = 0, calibration: str = "auto") -> dict:
    """The `hundredx validate --cv` object: {"summary", "cases", "cv": {"scheme", "folds", "notes"}}."""
    results = run_folds(cases, scheme, folds, seed, calibration)
    cross_fit_intervals(results)
    fold_sizes: dict[str, int] = {}
    for r in results:
        fold_sizes[r.fold] = fold_sizes.get(r.fold, 0) + 1
    return {"summary": summarise(results), "cases": [r.to_dict() for r in results], "calibration": calibration,
            "cv": {"scheme": scheme, "folds": fold_sizes, "notes": list(NOTES)}}
