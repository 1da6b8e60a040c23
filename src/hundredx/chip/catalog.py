"""Chip and system catalog: sourced YAML files -> validated `ChipSpec` / `SystemSpec`.

Files live in `chip/catalog/<chip-id>.yaml` and `chip/catalog/systems/<system-id>.yaml`
(docs/chips.md describes the conventions: SI units, DENSE peak FLOP/s, bandwidths PER
DIRECTION per chip, `sources:` for every figure). Files are parsed with `yaml.safe_load`
and validated once, here at the boundary, with a pydantic `TypeAdapter` over the same
frozen dataclasses; unknown keys are rejected so that a typo never silently becomes a
default. A system file names its chip by id; `load_system` also accepts a chip id and
returns that chip's standard system (h100-sxm -> hgx-h100-8, gb200 -> gb200-nvl72).
"""

from __future__ import annotations

import dataclasses
import math
from functools import cache
from pathlib import Path

import yaml
from pydantic import TypeAdapter, ValidationError

from hundredx.chip.spec import ChipSpec, SystemSpec
from hundredx.chip.topology import torus_slice_dims
from hundredx.errors import InputError

CATALOG_DIR = Path(__file__).resolve().parent / "catalog"
SYSTEMS_DIR = CATALOG_DIR / "systems"
MAX_FILE_BYTES = 1_000_000

_CHIP_FIELDS = {f.name for f in dataclasses.fields(ChipSpec)}
_SYSTEM_FIELDS = {f.name for f in dataclasses.fields(SystemSpec)} | {"standard_for"}


def _read_yaml(path: Path, kind: str) -> dict:
    if path.stat().st_size > MAX_FILE_BYTES:
        raise InputError(kind, str(path), f"file larger than {MAX_FILE_BYTES} bytes")
    data = yaml.safe_load(path.read_text())
    if not isinstance(data, dict):
        raise InputError(kind, str(path), "catalog file must be a YAML mapping")
    return data


def _check_keys(data: dict, allowed: set[str], kind: str, ident: str) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise InputError(kind, ident, f"unknown keys {unknown}; allowed: {sorted(allowed)}")


def _validate(adapter: TypeAdapter, data: dict, kind: str, ident: str):
    try:
        return adapter.validate_python(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InputError(kind, ident, f"invalid catalog entry at {where}: {first['msg']}") from None
    except ValueError as exc:
        raise InputError(kind, ident, str(exc)) from None


def list_chips() -> list[str]:
    """All chip ids in the catalog, sorted."""
    return sorted(p.stem for p in CATALOG_DIR.glob("*.yaml"))


def list_systems() -> list[str]:
    """All system ids in the catalog, sorted."""
    return sorted(p.stem for p in SYSTEMS_DIR.glob("*.yaml"))


def chip_from_dict(data: dict, ident: str = "<dict>") -> ChipSpec:
    """Validate one chip mapping (as read from YAML) into a `ChipSpec`."""
    if "attention_kernels" in data:
        raise InputError("chip", ident, "attention_kernels is not a chip field: chips describe hardware only; which "
                                        "kernels run on which architecture is the kernel catalog's "
                                        "(hundredx.kernel.catalog, matched on `generation`)")
    _check_keys(data, _CHIP_FIELDS, "chip", ident)
    return _validate(TypeAdapter(ChipSpec), data, "chip", ident)


def load_chip(chip_id: str | Path) -> ChipSpec:
    """The catalog's `ChipSpec` for `chip_id`, or a user's chip file (chip/userfile.py) when it
    names a .yaml file; InputError naming the known ids otherwise."""
    from hundredx.chip.userfile import chip_file, is_file_ref

    return chip_file(chip_id) if is_file_ref(chip_id) else _catalog_chip(str(chip_id))


@cache
def _catalog_chip(chip_id: str) -> ChipSpec:
    key = str(chip_id).strip().lower()
    if key not in list_chips():
        raise InputError("chip", chip_id, f"unknown chip; known: {', '.join(list_chips())}")
    data = _read_yaml(CATALOG_DIR / f"{key}.yaml", "chip")
    if data.get("id") != key:
        raise InputError("chip", chip_id, f"catalog file id={data.get('id')!r} does not match its file name")
    return chip_from_dict(data, key)


@cache
def _system_raw(system_id: str) -> dict:
    return _read_yaml(SYSTEMS_DIR / f"{system_id}.yaml", "system")


@cache
def _standard_systems() -> dict[str, str]:
    """chip id -> its standard system id (from each system file's `standard_for: true`)."""
    out: dict[str, str] = {}
    for sid in list_systems():
        raw = _system_raw(sid)
        if raw.get("standard_for"):
            out.setdefault(str(raw["chip"]), sid)
    return out


@cache
def _load_system_file(system_id: str) -> SystemSpec:
    data = dict(_system_raw(system_id))
    _check_keys(data, _SYSTEM_FIELDS, "system", system_id)
    data.pop("standard_for", None)
    data["chip"] = load_chip(str(data.get("chip", "")))
    if data.get("id") != system_id:
        raise InputError("system", system_id, f"catalog file id={data.get('id')!r} does not match its file name")
    return _validate(TypeAdapter(SystemSpec), data, "system", system_id)


def _resolve_ref(ref: str) -> str:
    key = str(ref).strip().lower()
    if key in list_systems():
        return key
    if key in list_chips():
        std = _standard_systems().get(key)
        if std is None:
            raise InputError("system", ref, "chip has no standard system in the catalog")
        return std
    known = ", ".join(list_systems())
    raise InputError("system", ref, f"unknown system or chip; systems: {known}; chips: {', '.join(list_chips())}")


def load_system(ref: str | Path, devices: int | None = None) -> SystemSpec:
    """System by id, or a chip id's standard system, or a user's system or chip file
    (chip/userfile.py); `devices` sizes the deployment (see `sized`)."""
    from hundredx.chip.userfile import is_file_ref, system_file

    system = system_file(ref) if is_file_ref(ref) else _load_system_file(_resolve_ref(str(ref)))
    return system if devices is None else sized(system, devices)


def sized(system: SystemSpec, devices: int) -> SystemSpec:
    """`system` sized to a deployment of `devices` chips.

    For torus systems a `devices` smaller than the pod gives a slice (scale-up domain and
    torus dims shrink to a near-cubic factorisation); otherwise `devices` is recorded and
    spans `ceil(devices / scaleup_domain)` scale-up domains over the scale-out network.
    """
    if isinstance(devices, bool) or not isinstance(devices, (int, float)) or devices < 1 or devices != int(devices):
        raise InputError("devices", devices, "must be a positive integer")
    devices = int(devices)
    if system.max_devices and devices > system.max_devices:
        raise InputError("devices", devices, f"system {system.id} holds at most {system.max_devices} chips")
    if system.topology.startswith("torus") and devices < system.scaleup_domain:
        dims = torus_slice_dims(devices, len(system.torus_dims) or 2)
        pod = system.extra.get("pod_torus_dims", tuple(system.torus_dims))  # the full axes (wraparound rules)
        return dataclasses.replace(system, scaleup_domain=devices, torus_dims=dims, devices=devices,
                                   devices_per_node=min(system.devices_per_node, devices),
                                   extra={**system.extra, "pod_torus_dims": tuple(pod)})
    return dataclasses.replace(system, devices=devices)


def chip_to_dict(chip: ChipSpec) -> dict:
    """Plain mapping of every ChipSpec field (for JSON output)."""
    out = dataclasses.asdict(chip)
    out["sources"] = list(chip.sources)
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in out.items()}
