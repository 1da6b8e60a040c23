"""A user's own chip or system YAML (`--chip FILE.yaml`, `--system FILE.yaml`, `chip: path.yaml` in a
stack file, `load_chip(path)` / `load_system(path)`), validated like the catalog.

The files use the catalog's format (docs/chips.md): the same fields, unknown keys refused, every
figure sourced under `sources:`. A file that cannot cite sources says `user_provided: true`; it
then gets the source line "user-provided: FILE (unsourced: its figures are the user's
assumptions)", which every output that lists a chip's sources shows (`chip show`, predict's
`provenance.assumptions`). A chip file may name `system: <catalog system id>` whose wiring it
takes (recorded the same way); without one it is a one-chip system (topology "single", each
further chip over the chip's own scale-out figures). A system file's `chip:` is a catalog id, a
chip file (relative to the system file) or an inline mapping.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from hundredx.chip.spec import ChipSpec, SystemSpec
from hundredx.errors import InputError

SUFFIXES = (".yaml", ".yml")
ASSUMPTION_PREFIXES = ("user-provided:", "user override:", "wiring of catalog system", "one-chip system of")
USER = "user-provided: {path} (unsourced: its figures are the user's assumptions)"


def is_file_ref(ref: Any) -> bool:
    """True when `ref` names a YAML file rather than a catalog id."""
    return isinstance(ref, (str, Path)) and str(ref).lower().endswith(SUFFIXES)


def _read(path: str | Path, kind: str) -> dict:
    from hundredx.yamlio import read

    data = read(path, kind)
    if not isinstance(data, dict):
        raise InputError(kind, str(path), "a chip or system file must be a YAML mapping (docs/chips.md)")
    return dict(data)


def _sourced(data: dict, kind: str, path: str) -> dict:
    """`data` with `user_provided` turned into its source line; refuses a file with neither."""
    user = data.pop("user_provided", False)
    if not isinstance(user, bool):
        raise InputError(f"{kind}.user_provided", user, "must be true or false")
    sources = data.get("sources") or []
    if isinstance(sources, str):
        sources = [sources]
    if user:
        sources = [*sources, USER.format(path=path)]
    if not sources:
        raise InputError(f"{kind}.sources", path, "name where the figures come from under `sources:`, or mark the "
                                                  "file `user_provided: true` (shown as an assumption in outputs)")
    data["sources"] = tuple(str(s) for s in sources)
    return data


def chip_file(path: str | Path) -> ChipSpec:
    """The `ChipSpec` of a user's chip file."""
    from hundredx.chip.catalog import chip_from_dict

    data = _sourced(_read(path, "chip"), "chip", str(path))
    data.pop("system", None)
    return chip_from_dict(data, str(path))


def _one_chip_system(chip: ChipSpec, path: str) -> SystemSpec:
    return SystemSpec(id=chip.id, name=f"{chip.name} (one chip, from {path})", chip=chip, devices_per_node=1,
                      scaleup_domain=1, topology="single", scaleup_bytes_per_s=chip.scaleup_bytes_per_s,
                      scaleup_latency_s=chip.scaleup_latency_s, scaleout_bytes_per_s=chip.scaleout_bytes_per_s,
                      scaleout_latency_s=chip.scaleout_latency_s,
                      sources=(f"one-chip system of {path}: no `system:` named, so no scale-up wiring",))


def system_file(path: str | Path) -> SystemSpec:
    """The `SystemSpec` of a user's system file, or of a chip file (its `system:` or one chip);
    `extra["file"]` keeps the file's absolute path (a normalised stack file names it)."""
    system = _system_file(path)
    return dataclasses.replace(system, extra={**system.extra, "file": str(Path(path).resolve())})


def _system_file(path: str | Path) -> SystemSpec:
    from hundredx.chip.catalog import _SYSTEM_FIELDS, _check_keys, _validate, chip_from_dict, load_chip, load_system

    raw = _read(path, "system")
    if "peak_flops_per_s" in raw:  # a chip file given where a system is expected
        chip, template = chip_file(path), raw.get("system")
        if template is None:
            return _one_chip_system(chip, str(path))
        base = load_system(str(template))
        note = f"wiring of catalog system {base.id} assumed for {path}"
        return dataclasses.replace(base, id=f"{base.id}+{chip.id}", chip=chip, sources=(*base.sources, note))
    data = _sourced(raw, "system", str(path))
    data.pop("standard_for", None)
    _check_keys(data, _SYSTEM_FIELDS - {"standard_for"}, "system", str(path))
    ref = data.get("chip")
    if isinstance(ref, dict):
        data["chip"] = chip_from_dict(_sourced(dict(ref), "system.chip", str(path)), f"{path}:chip")
    elif is_file_ref(ref):
        data["chip"] = chip_file(Path(path).parent / str(ref))
    else:
        data["chip"] = load_chip(str(ref or ""))
    return _validate(_adapter(), data, "system", str(path))


def _adapter():
    from pydantic import TypeAdapter

    return TypeAdapter(SystemSpec)
