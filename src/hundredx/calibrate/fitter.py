"""The kernel-parameter fitter: measured cases -> per-chip parameter values -> fitted JSON files.

Cases use the validation format (docs/cases.md): kinds gemm, attention,
memory, grouped_gemm, priced one by one with the kernel layer's `kernel.cases.predict_value`.
`fit_cases` fits, per chip, only the parameters the chip's cases are sensitive to (a 20%
change moves some prediction by > 0.1%), by scipy least squares on r_i = log(pred_i /
measured_i) (soft-L1 loss, scale 0.1, so a few odd cases do not dominate) plus a weak prior
PRIOR_WEIGHT * log(p / p_default) per parameter, which keeps parameters the data cannot
separate at their analytic value. Never per case: one value per parameter per chip.
`save_fitted(fits, directory, provenance)` writes one `<chip>.json` per chip atomically; the
caller names the directory (`hundredx calibrate fit`: $HUNDREDX_HOME/fitted, never the
installed package; scripts/fit_kernels.py: the shipped kernel/fitted/ with an explicit --out).
Loading fitted files is the kernel layer's (kernel/loading.py). Data files are recorded by
`file_record`: a path relative to a base directory (the repository, $HUNDREDX_HOME) and the
file's sha256, never an absolute path.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
from pathlib import Path

import numpy as np

from hundredx.chip.spec import ChipSpec
from hundredx.errors import InputError
from hundredx.fileio import atomic_write
from hundredx.kernel.cases import KINDS, predict_value
from hundredx.kernel.loading import shown
from hundredx.kernel.params import PARAMS, KernelParams

PRIOR_WEIGHT = 0.05


def file_record(path: str | Path, base: str | Path | None = None) -> dict:
    """{"path", "sha256"} of a data file for provenance: the path relative to `base` (posix; shipped
    files: the repository, e.g. data/validation/gemm.jsonl), or without a base as the
    user typed it (~/... under the home directory), and the sha256 of its content."""
    path = Path(path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if base is None:
        return {"path": shown(path), "sha256": digest}
    try:
        rel = Path(os.path.relpath(path.resolve(), Path(base).resolve())).as_posix()
    except ValueError:  # another drive (Windows): no relative path exists; the hash still identifies it
        rel = path.name
    return {"path": rel, "sha256": digest}


def _errors(cases, chip, params) -> np.ndarray:
    return np.array([np.log(predict_value(c, chip, params) / float(c["value"])) for c in cases])


def _free_names(cases, chip, base: KernelParams) -> list[str]:
    ref = _errors(cases, chip, base)
    free = []
    for name in PARAMS:
        trial = base.replace_values({name: max(base[name], 1e-3) * 1.2})
        if np.max(np.abs(_errors(cases, chip, trial) - ref)) > 1e-3:
            free.append(name)
    return free


def fit_chip(cases: list[dict], chip: ChipSpec) -> tuple[KernelParams, dict]:
    """Fit one chip's parameters; returns (params, report with errors before/after)."""
    from scipy.optimize import least_squares

    base = KernelParams.analytic(chip)
    free = _free_names(cases, chip, base)
    x0 = np.log([max(base[n], 1e-6) for n in free])
    lo = np.log([max(PARAMS[n].lo, 1e-6) for n in free])
    hi = np.log([PARAMS[n].hi for n in free])
    x0 = np.clip(x0, lo + 1e-9, hi - 1e-9)

    def residuals(x):
        p = base.replace_values(dict(zip(free, np.exp(x))))
        return np.concatenate([_errors(cases, chip, p),
                               PRIOR_WEIGHT * (x - np.log([max(base[n], 1e-6) for n in free]))])

    before = _errors(cases, chip, base)
    if free:
        sol = least_squares(residuals, x0, bounds=(lo, hi), loss="soft_l1", f_scale=0.1, max_nfev=60 * len(free))
        fitted = base.replace_values(dict(zip(free, np.exp(sol.x))), "fitted")
    else:
        fitted = base
    after = _errors(cases, chip, fitted)
    ape = lambda e: np.abs(np.exp(e) - 1.0)  # noqa: E731
    report = {"n_cases": len(cases), "fitted_keys": free,
              "median_ape_before": float(np.median(ape(before))), "median_ape": float(np.median(ape(after))),
              "p90_ape": float(np.percentile(ape(after), 90))}
    return KernelParams(chip.id, fitted.values, "fitted", tuple(free)), report


def fit_cases(cases: list[dict], chips: dict[str, ChipSpec] | None = None) -> dict[str, dict]:
    """Fit parameters per chip from case dicts. Returns {chip_id: {"values", "fitted_keys", "report", "skipped"}}."""
    by_chip: dict[str, list[dict]] = {}
    for case in cases:
        if case.get("kind") in KINDS and case.get("n_devices", 1) == 1:
            by_chip.setdefault(case["hardware"], []).append(case)
    out: dict[str, dict] = {}
    for chip_id, group in sorted(by_chip.items()):
        chip = (chips or {}).get(chip_id) or _load_chip(chip_id)
        usable, skipped = [], []
        for case in group:
            try:
                predict_value(case, chip, KernelParams.analytic(chip))
                usable.append(case)
            except (InputError, KeyError, ValueError) as exc:
                skipped.append({"id": case.get("id"), "reason": str(exc)})
        if not usable:
            continue
        params, report = fit_chip(usable, chip)
        out[chip_id] = {"values": {k: params[k] for k in params.fitted_keys}, "fitted_keys": list(params.fitted_keys),
                        "report": report, "skipped": skipped}
    return out


def _load_chip(chip_id: str) -> ChipSpec:
    from hundredx.chip import load_chip

    return load_chip(chip_id)


def save_fitted(params: dict[str, dict], path: str | Path, provenance: dict | None = None) -> list[Path]:
    """Write one <chip>.json per fitted chip under the directory `path`, atomically; returns the files."""
    prov = dict(provenance or {})
    prov.setdefault("date", _dt.date.today().isoformat())
    written = []
    for chip_id, fit in sorted(params.items()):
        target = Path(path) / f"{chip_id}.json"
        doc = {"chip": chip_id, "values": fit["values"], "fitted_keys": fit.get("fitted_keys", list(fit["values"])),
               "report": fit.get("report", {}), "skipped": fit.get("skipped", []), "provenance": prov}
        atomic_write(target, json.dumps(doc, indent=1, sort_keys=True) + "\n")
        written.append(target)
    return written
