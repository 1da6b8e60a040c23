"""Where kernel parameters and calibration data are read from: HUNDREDX_HOME first, then the package.

`HUNDREDX_HOME` (environment variable; default the platform's user data directory,
`platformdirs.user_data_dir("hundredx")`, e.g. ~/.local/share/hundredx on Linux) is the
user's data directory: `hundredx calibrate fit` writes `$HUNDREDX_HOME/fitted/<chip>.json`,
`hundredx calibrate run` writes `$HUNDREDX_HOME/profiles/`. Nothing at run time writes into
the installed package; the shipped files (`kernel/fitted/<chip>.json`, `kernel/profiles/`)
are written only by the developer script scripts/fit_kernels.py with an explicit --out.

`load_params(chip)` reads the first of $HUNDREDX_HOME/fitted/<chip>.json and the shipped
kernel/fitted/<chip>.json that exists (a whole file, never a merge of both), else the analytic
defaults; the returned `source` names the file ("fitted:~/.local/share/hundredx/fitted/
h100-sxm.json" or "fitted:h100-sxm.json (shipped)"; "analytic" without one), and every op a
prediction prices with these parameters carries that source.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from hundredx.chip.spec import ChipSpec
from hundredx.errors import InputError
from hundredx.kernel.params import PARAMS, KernelParams

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


def fitted_file(chip_id: str, directory: str | Path | None = None) -> tuple[Path | None, str]:
    """(the fitted file predictions use for `chip_id`, its source string) — (None, "analytic") if none."""
    if directory is not None:
        path = Path(directory) / f"{chip_id}.json"
        return (path, f"fitted:{shown(path)}") if path.is_file() else (None, "analytic")
    user = fitted_dir() / f"{chip_id}.json"
    if user.is_file():
        return user, f"fitted:{shown(user)}"
    shipped = SHIPPED_FITTED_DIR / f"{chip_id}.json"
    if shipped.is_file():
        return shipped, f"fitted:{shipped.name} (shipped)"
    return None, "analytic"


def _read_fitted(path: Path) -> dict:
    if path.stat().st_size > MAX_FITTED_BYTES:
        raise InputError("fitted", str(path), f"larger than {MAX_FITTED_BYTES} bytes: not a fitted-parameter file")
    try:
        doc = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError("fitted", str(path), f"cannot read: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("values", {}), dict):
        raise InputError("fitted", str(path), "not a fitted-parameter file (needs a 'values' mapping)")
    return doc


def load_params(chip: ChipSpec, directory: str | Path | None = None) -> KernelParams:
    """Fitted parameters for the chip (read order in the module docstring; `directory` replaces it),
    else the analytic defaults. Names the file in `source`."""
    base = KernelParams.analytic(chip)
    path, source = fitted_file(chip.id, directory)
    if path is None:
        return base
    doc = _read_fitted(path)
    values = {k: float(v) for k, v in doc.get("values", {}).items() if k in PARAMS}
    fitted = base.replace_values(values, source)
    return KernelParams(chip.id, fitted.values, fitted.source, tuple(values), doc.get("provenance", {}))
