"""`hundredx calibrate fit`: calibration profiles -> fitted kernel-efficiency parameters per chip.

Reads and validates the profiles, pools their measured cases, and hands them to the fitter
(calibrate/fitter.py `fit_cases`: least squares over the kernel layer's models, each chip
pooled toward its architecture family's fitted file — $HUNDREDX_HOME/fitted/family-<family>.json,
else the shipped one — so a parameter the profiles do not constrain keeps the family value;
returns `{chip_id: params}`). Each chip's parameters are written with `fitter.save_fitted` to the
user's data directory, `$HUNDREDX_HOME/fitted/<chip>.json` (kernel/loading.py; predictions
read it before the shipped kernel/fitted/ file), or to `out` (a `.json` file, or a directory)
— never into the installed package (refused). The provenance names every profile (path, its
sha256, device, date, host, case count; docs/design.md, rule 3: fitted constants carry the data they
were fitted on, the date and the device).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import os
import shlex
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from hundredx.calibrate.fitter import file_record, fit_cases, save_fitted
from hundredx.calibrate.profile import read_profile
from hundredx.errors import InputError
from hundredx.kernel.loading import fitted_dir, refuse_package_path


def _catalog_chips() -> set[str]:
    from hundredx.chip.catalog import list_chips

    return set(list_chips())


def _plain(params: object) -> object:
    if hasattr(params, "to_dict"):
        return params.to_dict()
    if dataclasses.is_dataclass(params) and not isinstance(params, type):
        return dataclasses.asdict(params)
    return params


def fit_provenance(paths: list[Path], profiles: list[dict], chip: str, n_cases: int) -> dict:
    """What a fitted file was fitted on."""
    now = _dt.datetime.now(_dt.UTC)
    return {
        "date": now.date().isoformat(),
        "fitted_on": now.isoformat(timespec="seconds"),
        "chip": chip,
        "n_cases": n_cases,
        "command": shlex.join(sys.argv),
        "profiles": [{**file_record(p), "device_name": prof["provenance"]["device_name"],
                      "date": prof["provenance"]["date"], "host": prof["provenance"]["host"],
                      "n_cases": len(prof["cases"])}
                     for p, prof in zip(paths, profiles) if prof["provenance"]["chip"] == chip],
    }


def fit_profiles(paths: Sequence[str | Path], out: str | Path | None = None) -> dict:
    """Fit every chip found in the profiles; returns {chip: {"path", "n_cases", "params"}}."""
    if not paths:
        raise InputError("profiles", [], "name at least one profile file")
    files = [Path(p) for p in paths]
    profiles = [read_profile(p) for p in files]
    chips = sorted({prof["provenance"]["chip"] for prof in profiles})
    unknown = [c for c in chips if c not in _catalog_chips()]
    if unknown:
        raise InputError("chip", unknown[0], "not in the chip catalog: a fit needs the chip's datasheet peaks "
                                             "(CPU profiles can be shown and looked up, not fitted)")
    if out is not None:
        refuse_package_path(out, "out")
    if out is not None and len(chips) > 1:
        raise InputError("out", str(out), f"the profiles cover {len(chips)} chips ({', '.join(chips)}); "
                                          "--out names one file, fit them one chip at a time")
    cases = [c for prof in profiles for c in prof["cases"]]
    from hundredx.chip.catalog import load_chip
    from hundredx.kernel.loading import load_family

    specs = {c: load_chip(c) for c in chips}
    fitted = fit_cases(cases, chips=specs, families={s.family: load_family(s.family)[0] for s in specs.values()})
    result = {}
    for chip in chips:
        if chip not in fitted:
            raise InputError("profiles", [str(p) for p in files], f"no case the fitter could use for chip {chip}")
        n = sum(1 for c in cases if c["hardware"] == chip)
        path = _save(chip, fitted[chip], Path(out) if out is not None else None,
                     fit_provenance(files, profiles, chip, n))
        result[chip] = {"path": str(path), "n_cases": n, "params": _plain(fitted[chip])}
    return result


def _save(chip: str, params: dict, out: Path | None, prov: dict) -> Path:
    """save_fitted writes <dir>/<chip>.json atomically; an `out` file name is reached by a rename."""
    if out is None or out.suffix != ".json":
        return save_fitted({chip: params}, out or fitted_dir(), prov)[0]
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".fit-", dir=out.parent) as tmp:
        written = save_fitted({chip: params}, tmp, prov)[0]
        os.replace(written, out)
    return out
