"""The kernel-parameter fitter: measured cases -> per-chip and per-family parameter values -> fitted JSON files.

Cases use the validation format (docs/cases.md): kinds gemm, attention, memory, grouped_gemm,
single device, priced with the kernel layer's `kernel.cases` (CaseBatch: one vectorized model
call per group of cases, equal to `predict_value` case by case). The statistics are
calibrate/pooling.py (partial pooling within an architecture family: a family value, and per
chip a ridge fit toward the family fitted without the chip's own cases) and
calibrate/identify.py (per parameter the data weight, its standard error and the status
own / pooled / inherited / analytic; a parameter no case constrains is not fitted).

`fit_all(cases, chips)` fits every family and chip present; `fit_cases(cases, chips, families)`
returns the chip documents only — pooled toward the given family documents (what
`hundredx calibrate fit` does with the shipped family files) or, without them, toward the
families fitted on the cases themselves. `save_fitted(fits, directory, provenance)` writes one
`<chip>.json` per chip atomically, `save_families` one `family-<family>.json` per family; the
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

from hundredx.calibrate import pooling
from hundredx.chip.spec import ChipSpec
from hundredx.fileio import atomic_write
from hundredx.kernel.cases import KINDS
from hundredx.kernel.loading import shown


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


def fit_all(cases: list[dict], chips: dict[str, ChipSpec] | None = None) -> dict:
    """Every family and chip of the cases: {"chips": {id: doc}, "families": {family: doc}} (calibrate/pooling.py)."""
    return pooling.fit_all(cases, _chips(cases, chips))


def fit_cases(cases: list[dict], chips: dict[str, ChipSpec] | None = None,
              families: dict[str, dict | None] | None = None) -> dict[str, dict]:
    """Chip documents {chip_id: {"values", "fitted_keys", "parameters", "domain", "report", "skipped", ...}}.
    With `families` ({family: family document or None}), each chip is pooled toward its family's document
    (all of it: the cases here are other measurements than those the document was fitted on); without,
    toward the families fitted on these cases."""
    chips = _chips(cases, chips)
    if families is None:
        return fit_all(cases, chips)["chips"]
    members, skipped = pooling.members_of(cases, chips)
    out = {}
    for chip_id, member in members.items():
        doc = families.get(member.chip.family)
        out[chip_id] = dict(pooling.fit_member(member, doc or None), skipped=skipped[chip_id])
    return out


def _chips(cases: list[dict], chips: dict[str, ChipSpec] | None) -> dict[str, ChipSpec]:
    need = {c["hardware"] for c in cases if c.get("kind") in KINDS and c.get("n_devices", 1) == 1}
    given = dict(chips or {})
    return {cid: given.get(cid) or _load_chip(cid) for cid in sorted(need)}


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
        doc = dict(fit, chip=chip_id, fitted_keys=fit.get("fitted_keys", list(fit["values"])),
                   report=fit.get("report", {}), skipped=fit.get("skipped", []), provenance=prov)
        atomic_write(target, json.dumps(doc, indent=1, sort_keys=True) + "\n")
        written.append(target)
    return written


def save_families(families: dict[str, dict], path: str | Path, provenance: dict | None = None) -> list[Path]:
    """Write one family-<family>.json per family document under the directory `path`; returns the files."""
    prov = dict(provenance or {})
    prov.setdefault("date", _dt.date.today().isoformat())
    written = []
    for family, doc in sorted(families.items()):
        target = Path(path) / f"family-{family}.json"
        atomic_write(target, json.dumps(dict(doc, provenance=prov), indent=1, sort_keys=True) + "\n")
        written.append(target)
    return written
