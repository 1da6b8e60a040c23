"""Calibration profile files: validate, write atomically, read.

A profile is one JSON object (docs/calibration.md):
`{"format": "hundredx-profile/1", "provenance": {...}, "cases": [...], "skipped": [...]}` —
`cases` in the validation case format (docs/cases.md), all on the chip
named in `provenance.chip`. Validation happens here, at the file boundary (pydantic);
errors name the field, e.g. `profile.cases[3].value`. Writes go to a temporary file in
the same directory and are renamed into place, so a crash never leaves half a profile.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from hundredx.errors import InputError
from hundredx.fileio import atomic_write
from hundredx.kernel.measured import MAX_PROFILE_BYTES  # one bound for reading and for looking up

FORMAT = "hundredx-profile/1"  # == hundredx.kernel.measured.PROFILE_FORMAT (a test checks)


class Provenance(BaseModel):
    """Where and how the numbers were measured."""

    model_config = ConfigDict(extra="allow")
    device_name: str = Field(min_length=1)
    chip: str = Field(min_length=1)
    date: str = Field(min_length=10)
    host: str
    command: str
    backend: str = ""
    driver: str | None = None
    cuda: str | None = None
    torch: str | None = None
    triton: str | None = None


class Case(BaseModel):
    """One measured case (docs/cases.md), restricted to the kinds and metrics a profile holds."""

    model_config = ConfigDict(extra="allow")
    id: str = Field(min_length=1)
    kind: Literal["gemm", "attention", "memory", "grouped_gemm"]
    hardware: str = Field(min_length=1)
    n_devices: int = Field(default=1, ge=1)
    config: dict[str, Any]
    metric: Literal["tflops", "time_s", "bandwidth_gbps"]
    value: float
    source: str = Field(min_length=1)
    notes: str = ""

    @field_validator("value")
    @classmethod
    def _positive(cls, v: float) -> float:
        if not (math.isfinite(v) and v > 0):
            raise ValueError(f"must be a positive finite number, got {v}")
        return v


class Skipped(BaseModel):
    model_config = ConfigDict(extra="allow")
    kind: str
    config: dict[str, Any]
    reason: str = Field(min_length=1)


class Profile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    format: Literal["hundredx-profile/1"]
    provenance: Provenance
    cases: list[Case]
    skipped: list[Skipped] = []

    @model_validator(mode="after")
    def _one_chip(self) -> Profile:
        for i, case in enumerate(self.cases):
            if case.hardware != self.provenance.chip:
                raise ValueError(f"cases[{i}].hardware={case.hardware!r} differs from provenance.chip="
                                 f"{self.provenance.chip!r}")
        ids = [c.id for c in self.cases]
        if len(set(ids)) != len(ids):
            raise ValueError(f"case ids repeat: {sorted({i for i in ids if ids.count(i) > 1})[:3]}")
        return self


def _field(loc: tuple) -> str:
    out = "profile"
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def validate_profile(data: object, origin: str = "profile") -> dict:
    """Check a profile dict; returns it as plain data. InputError names the first bad field and its value."""
    try:
        return Profile.model_validate(data).model_dump(mode="json")
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(p for p in err["loc"] if p not in ("function-after[_one_chip()]",))
        msg = err["msg"].removeprefix("Value error, ")
        if not loc:
            raise InputError("profile", origin, msg) from None
        value = err.get("input")
        if isinstance(value, (dict, list)):
            value = f"<{type(value).__name__}>"
        raise InputError(_field(loc), value, f"{msg} (in {origin})") from None


def write_profile(profile: dict, path: str | Path) -> Path:
    """Validate, then write atomically (temporary file in the same directory + rename)."""
    clean = validate_profile(profile)
    text = json.dumps(clean, indent=1) + "\n"
    return atomic_write(path, text)


def read_profile(path: str | Path) -> dict:
    """Read and validate one profile file."""
    path = Path(path)
    if not path.is_file():
        raise InputError("profile", str(path), "no such file")
    if path.stat().st_size > MAX_PROFILE_BYTES:
        raise InputError("profile", str(path), f"larger than {MAX_PROFILE_BYTES} bytes")
    try:
        data = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError("profile", str(path), f"not valid JSON: {exc}") from None
    return validate_profile(data, origin=str(path))


def default_name(chip: str, date: str) -> str:
    """profile-<chip>-<YYYY-MM-DD>.json"""
    return f"profile-{chip}-{date[:10]}.json"

