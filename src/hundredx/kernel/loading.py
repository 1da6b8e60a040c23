"""Where kernel parameters and calibration data are read from: HUNDREDX_HOME first, then the package.

`HUNDREDX_HOME` (environment variable; default the platform's user data directory,
`platformdirs.user_data_dir("hundredx")`, e.g. ~/.local/share/hundredx on Linux) is the
user's data directory: `hundredx calibrate fit` writes `$HUNDREDX_HOME/fitted/<chip>.json`,
`hundredx calibrate run` writes `$HUNDREDX_HOME/profiles/`. Nothing at run time writes into
the installed package; the shipped files (`kernel/fitted/<chip>.json`, `kernel/profiles/`)
are written only by the developer script scripts/fit_kernels.py with an explicit --out.

`load_params(chip)` reads the first of $HUNDREDX_HOME/fitted/<chip>.json and the shipped
kernel/fitted/<chip>.json that exists (a whole file, never a merge of both); without one, the
chip's architecture family file `family-<family>.json` (same read order; calibrate/pooling.py
writes it), its values transferred to the chip by kernel/transfer.py; else the analytic
defaults. The returned `source` names the file ("fitted:~/.local/share/hundredx/fitted/
h100-sxm.json", "fitted:h100-sxm.json (shipped)", "family:family-hopper.json (shipped)";
"analytic" without one), and every op a prediction prices with these parameters carries it.

**Calibration restriction** (`--calibration` on validate, predict and op; `calibration_scope`
for the Python API): which sources a prediction may use, most specific first —
`auto` (everything: a measured profile, the chip's fitted file, its family, the analytic
defaults), `profile` (a measured profile is required: validate leaves a case no profile
covers unpredicted, predict and op price such an op by the fitted parameters and say so in its
fallbacks), `fitted` (no profile), `family` (nothing fitted or measured on the chip itself:
the family fitted WITHOUT the chip's own cases, from the family file's `without` entry, scaled
by the datasheet), `analytic` (the defaults only). `calibration_scope(mode, directory)` also
lets cross-validation read the fitted and family files of a training fold from `directory`
only (validate/cv.py).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from hundredx.chip.spec import ChipSpec
from hundredx.errors import InputError
from hundredx.kernel.params import PARAMS, KernelParams
from hundredx.kernel.transfer import class_transfer, to_chip

CALIBRATIONS = ("auto", "profile", "fitted", "family", "analytic")
_SCOPE: ContextVar[tuple[str, Path | None]] = ContextVar("hundredx_calibration", default=("auto", None))

HOME_ENV = "HUNDREDX_HOME"
PACKAGE_DIR = Path(__file__).resolve().parents[1]
SHIPPED_FITTED_DIR = Path(__file__).resolve().parent / "fitted"
MAX_FITTED_BYTES = 1_000_000  # a fitted file is a few kB; anything this large is not one


def home_dir() -> Path:
    """$HUNDREDX_HOME, else the platform's user data directory for hundredx (not created here)."""
    env = os.environ.get(HOME_ENV, "").strip()
    if env:
        return Path(env).expanduser()
    try:
        from platformdirs import user_data_dir
    except ImportError:  # platformdirs is a dependency; without it, the XDG rule it applies on Linux
        base = os.environ.get("XDG_DATA_HOME", "").strip() or "~/.local/share"
        return Path(base).expanduser() / "hundredx"
    return Path(user_data_dir("hundredx", appauthor=False))


def fitted_dir() -> Path:
    """Where `hundredx calibrate fit` writes and predictions first look: $HUNDREDX_HOME/fitted."""
    return home_dir() / "fitted"


def profiles_dir() -> Path:
    """Where `hundredx calibrate run` writes profiles and predictions look for them: $HUNDREDX_HOME/profiles."""
    return home_dir() / "profiles"


def refuse_package_path(path: str | Path, field: str) -> Path:
    """InputError when `path` lies inside the installed package (user commands never write there)."""
    resolved = Path(path).expanduser().resolve()
    if resolved == PACKAGE_DIR or PACKAGE_DIR in resolved.parents:
        raise InputError(field, str(path), f"inside the installed package ({PACKAGE_DIR}); user output goes to "
                                           f"${HOME_ENV} ({home_dir()}) or another directory")
    return resolved


def shown(path: Path) -> str:
    """A path for provenance strings: under the user's home directory as ~/..."""
    try:
        return "~/" + path.resolve().relative_to(Path.home().resolve()).as_posix()
    except (ValueError, RuntimeError):
        return str(path)


def check_calibration(mode: str) -> str:
    """The calibration restriction, or InputError naming the known ones."""
    if mode not in CALIBRATIONS:
        raise InputError("calibration", mode, f"must be one of {', '.join(CALIBRATIONS)}")
    return mode


@contextmanager
def calibration_scope(mode: str = "auto", directory: str | Path | None = None) -> Iterator[None]:
    """Predictions inside use only the sources `mode` allows (module docstring); with `directory`,
    fitted and family files come from there only (a cross-validation fold)."""
    token = _SCOPE.set((check_calibration(mode), None if directory is None else Path(directory)))
    try:
        yield
    finally:
        _SCOPE.reset(token)


def current_calibration() -> tuple[str, Path | None]:
    """(mode, fold directory or None) of the innermost calibration_scope; ("auto", None) outside any."""
    return _SCOPE.get()


def _find(name: str, directory: str | Path | None, kind: str) -> tuple[Path | None, str]:
    if directory is None:
        directory = _SCOPE.get()[1]
    if directory is not None:
        path = Path(directory) / name
        return (path, f"{kind}:{shown(path)}") if path.is_file() else (None, "analytic")
    user = fitted_dir() / name
    if user.is_file():
        return user, f"{kind}:{shown(user)}"
    shipped = SHIPPED_FITTED_DIR / name
    if shipped.is_file():
        return shipped, f"{kind}:{shipped.name} (shipped)"
    return None, "analytic"


def fitted_file(chip_id: str, directory: str | Path | None = None) -> tuple[Path | None, str]:
    """(the fitted file predictions use for `chip_id`, its source string) — (None, "analytic") if none."""
    return _find(f"{chip_id}.json", directory, "fitted")


def family_file(family: str, directory: str | Path | None = None) -> tuple[Path | None, str]:
    """(the family file of an architecture family, its source string) — (None, "analytic") if none."""
    return _find(f"family-{family}.json", directory, "family")


def _read_fitted(path: Path) -> dict:
    if path.stat().st_size > MAX_FITTED_BYTES:
        raise InputError("fitted", str(path), f"larger than {MAX_FITTED_BYTES} bytes: not a fitted-parameter file")
    try:
        doc = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError("fitted", str(path), f"cannot read: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("values", {}), dict):
        raise InputError("fitted", str(path), "not a fitted-parameter file (needs a 'values' mapping)")
    _check_values(doc.get("values", {}), path)
    without = doc.get("without")
    for chip_id, sub in without.items() if isinstance(without, dict) else ():
        if isinstance(sub, dict):  # a member fitted without its own cases (None: nothing left to fit)
            _check_values(sub.get("values", {}), path, f"without.{chip_id}.")
    return doc


def _check_values(values: object, path: Path, prefix: str = "") -> None:
    """Every known parameter a finite number inside its fit bounds (a hand-edited file must not price NaN)."""
    if not isinstance(values, dict):
        raise InputError(f"fitted.{prefix}values", type(values).__name__, f"in {path}: must map parameter: number")
    for key, value in values.items():
        spec = PARAMS.get(key)
        if spec is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not spec.lo <= value <= spec.hi:
            raise InputError(f"fitted.{prefix}values.{key}", value,
                             f"in {path}: must be a number in [{spec.lo:g}, {spec.hi:g}]")


def load_family(family: str, directory: str | Path | None = None) -> tuple[dict | None, str]:
    """(the family document, its source string), or (None, "analytic")."""
    path, source = family_file(family, directory)
    return (None, source) if path is None else (_read_fitted(path), source)


def _from_family(chip: ChipSpec, base: KernelParams, directory, exclude_self: bool, mode: str) -> KernelParams:
    """The family's values transferred to the chip; with `exclude_self`, the family fitted without its cases."""
    doc, source = load_family(chip.family, directory)
    if doc is None:
        return KernelParams(chip.id, base.values, "analytic", calibration=mode)
    if exclude_self and chip.id in doc.get("members", {}):
        doc = (doc.get("without") or {}).get(chip.id)
        if not doc:
            return KernelParams(chip.id, base.values, "analytic", calibration=mode)
        source = f"{source} without {chip.id}"
    values = {k: v for k, v in to_chip(doc.get("values", {}), float(doc["reference_clock_hz"]), chip).items()
              if k in PARAMS}
    values, provenance = _with_classes(values, base, doc.get("provenance", {}))
    return KernelParams(chip.id, base.replace_values(values).values, source, (), provenance,
                        {"family": doc.get("domain", {})}, mode)


def _with_classes(values: dict, base: KernelParams, provenance: dict) -> tuple[dict, dict]:
    """`values` plus the GEMM classes the fit lacks, transferred across classes (kernel/transfer.py)."""
    extra, how = class_transfer(values, frozenset(values), base.values)
    if not extra:
        return values, provenance
    return {**values, **extra}, {**provenance, "class_transfer": how}


def load_params(chip: ChipSpec, directory: str | Path | None = None, calibration: str | None = None) -> KernelParams:
    """Fitted parameters for the chip (read order and restrictions in the module docstring; `directory`
    replaces the read order, `calibration` the current scope's restriction). Names the file in `source`."""
    mode = check_calibration(calibration or _SCOPE.get()[0])
    base = KernelParams.analytic(chip)
    if mode == "analytic":
        return KernelParams(chip.id, base.values, "analytic", calibration=mode)
    if mode == "family":
        return _from_family(chip, base, directory, True, mode)
    path, source = fitted_file(chip.id, directory)
    if path is None:
        return _from_family(chip, base, directory, False, mode)
    doc = _read_fitted(path)
    values = {k: float(v) for k, v in doc.get("values", {}).items() if k in PARAMS}
    values, provenance = _with_classes(values, base, doc.get("provenance", {}))
    fitted = base.replace_values(values, source)
    domains = {"fitted": doc.get("domain", {}), "family": doc.get("family_domain", {})}
    keys = tuple(doc.get("fitted_keys", values))
    return KernelParams(chip.id, fitted.values, fitted.source, keys, provenance, domains, mode)
