"""Stack files: one YAML file = one model x kernel x chip stack plus the workload it serves.

    name: DeepSeek-R1 on 8x H200, FP8
    model:    {id: deepseek-ai/DeepSeek-R1, weights: fp8_block128, kv: bf16}
    kernel:   {attention: flashmla, tp: 8, ep: 8, gemm_library: deepgemm, overlap_comm: 0.5}
    chip:     {system: hgx-h200-8, devices: 8}
    workload: {isl: 1024, osl: 1024, batch: auto, tpot_limit_s: 0.05}

Files are read with `yaml.safe_load`, bounded to `MAX_BYTES`, validated against the JSON
Schema `hundredx/schemas/stack.schema.json` when `jsonschema` is installed, and always by
the strict section parsers (errors name the field path and the value). `compose` builds a
stack from a mix of sections of several files (model of A, kernel of B, chip of A);
`with_changes` applies field overrides ("model.weights": "nvfp4") to a stack file.
"""

from __future__ import annotations

import copy
from functools import lru_cache
import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping

import yaml

from hundredx.errors import InputError
from hundredx.stackfile.build import Scenario, adjust_sections, build_scenario, load_model_section
from hundredx.stackfile.sections import (SECTION_TYPES, TOP_KEYS, ChipSection, KernelSection, ModelSection,
                                         WorkloadSection, section_fields)

MAX_BYTES = 256_000
LAYERS = ("model", "kernel", "chip")
SCHEMA_PATH = Path(__file__).resolve().parents[1] / "schemas" / "stack.schema.json"


@dataclass(frozen=True)
class StackFile:
    """A parsed, validated stack file. `scenario` is built (and so checked) at load time."""

    name: str
    path: str
    model: ModelSection
    kernel: KernelSection
    chip: ChipSection
    workload_section: WorkloadSection
    scenario: Scenario | None = field(repr=False)

    @property
    def stack(self):
        return self.scenario.stack

    @property
    def workload(self):
        return self.scenario.workload

    def layers(self) -> dict[str, Any]:
        """The three layer sections: {"model": ModelSection, "kernel": KernelSection, "chip": ChipSection}."""
        return {"model": self.model, "kernel": self.kernel, "chip": self.chip}

    def section(self, name: str):
        return self.workload_section if name == "workload" else getattr(self, name)

    def to_dict(self) -> dict:
        """The normalised stack file (what `parse_stack` reads back to an equal StackFile)."""
        out: dict[str, Any] = {"name": self.name}
        for name in ("model", "kernel", "chip", "workload"):
            out[name] = section_to_raw(name, self.section(name))
        return out


def section_to_raw(name: str, section) -> dict:
    raw = {k: v for k, v in section_fields(section).items() if v is not None}
    if name == "chip":
        raw = {"system": raw.pop("system"), **raw}
    return raw


def _schema_check(data: dict) -> None:
    try:
        import jsonschema
    except ImportError:  # optional: the section parsers check everything the schema says
        return
    schema = json.loads(SCHEMA_PATH.read_text())
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(data), key=lambda e: list(e.path))
    if errors:
        err = errors[0]
        where = ".".join(str(p) for p in err.path) or "stack"
        raise InputError(where, err.instance if not isinstance(err.instance, dict) else "{...}", err.message)


def parse_stack(data: Any, path: str = "<dict>", name: str | None = None, model=None, build: bool = True) -> StackFile:
    """Validate a stack-file mapping and build its scenario (InputError naming the field on failure).

    `build=False` only parses the sections (scenario None): for intermediate points that are
    made runnable later by `compose(..., adjust=True)`.
    """
    if not isinstance(data, dict):
        raise InputError("stack", path, "a stack file must be a YAML mapping with model, kernel, chip, workload")
    for key in data:
        if key not in TOP_KEYS:
            raise InputError(str(key), data[key], f"unknown top-level key; allowed: {', '.join(TOP_KEYS)}")
    for key in ("model", "chip"):
        if key not in data:
            raise InputError(key, None, "required section")
    sections = {key: SECTION_TYPES[key].parse(data.get(key)) for key in SECTION_TYPES}
    _schema_check(data)
    label = name or data.get("name") or Path(path).stem
    scenario = None
    if build:
        scenario = build_scenario(sections["model"], sections["kernel"], sections["chip"], sections["workload"],
                                  model if model is not None else model_of(sections["model"]))
    return StackFile(str(label), path, sections["model"], sections["kernel"], sections["chip"], sections["workload"],
                     scenario)


@lru_cache(maxsize=64)
def model_of(section: ModelSection):
    """The ModelSpec of a model section (cached: sections are frozen and hashable)."""
    return load_model_section(section)


def read_yaml(path: str | Path, field_name: str = "stack") -> Any:
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > MAX_BYTES:
            raise InputError(field_name, str(path), f"file is {size} bytes; limit {MAX_BYTES}")
        return yaml.safe_load(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(field_name, str(path), "no such file") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InputError(field_name, str(path), f"cannot read as YAML: {str(exc).splitlines()[0]}") from None


def load_stack(path: str | Path) -> StackFile:
    """Read and validate one stack file."""
    return parse_stack(read_yaml(path), str(path))


def compose(sources: Mapping[str, StackFile], workload_from: StackFile | None = None, adjust: bool = True,
            name: str | None = None) -> StackFile:
    """A stack of `sources["model"]`'s model, `sources["kernel"]`'s kernel and `sources["chip"]`'s chip.

    The workload comes from `workload_from` (default: the model's file); its price/power
    overrides come from the chip's file. With `adjust`, a combination that cannot run as
    written is moved to the nearest runnable one (stackfile.build docstring), recorded in
    `scenario.adjustments`; otherwise InputError.
    """
    m, k, c = sources["model"], sources["kernel"], sources["chip"]
    wsrc = workload_from or m
    ws = replace(wsrc.workload_section, price_per_hour=c.workload_section.price_per_hour,
                 power_w=c.workload_section.power_w)
    model = m.stack.model if m.scenario is not None else model_of(m.model)
    kernel, chip, notes = k.kernel, c.chip, ()
    if adjust:
        kernel, chip, notes = adjust_sections(model, kernel, chip, ws)
    scenario = replace(build_scenario(m.model, kernel, chip, ws, model=model), adjustments=notes)
    label = name or f"model:{m.name} kernel:{k.name} chip:{c.name}"
    return StackFile(label, "<composed>", m.model, kernel, chip, ws, scenario)


def _set_path(raw: dict, dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    if parts[0] not in SECTION_TYPES:
        raise InputError(dotted, value, f"override paths start with one of {', '.join(SECTION_TYPES)}")
    if len(parts) == 1:
        raw[parts[0]] = copy.deepcopy(value)
        return
    node = raw.setdefault(parts[0], {})
    if isinstance(node, str):
        node = raw[parts[0]] = {"id" if parts[0] == "model" else "system": node}
    if parts[0] == "chip" and parts[1] in ("chip", "system"):
        node.pop("chip", None)
        node.pop("system", None)
    for part in parts[1:-1]:
        child = node.get(part)
        node = node.setdefault(part, {}) if not isinstance(child, dict) else child
    node[parts[-1]] = copy.deepcopy(value)


def with_changes(base: StackFile, changes: Mapping[str, Any], name: str | None = None, build: bool = True) -> StackFile:
    """`base` with dotted-path overrides applied ({"model.weights": "nvfp4", "chip": {"system": "b200"}})."""
    raw = base.to_dict()
    for dotted, value in changes.items():
        _set_path(raw, dotted, value)
    raw["name"] = name or base.name
    return parse_stack(raw, "<changed>", build=build)


__all__ = ["LAYERS", "Scenario", "StackFile", "compose", "load_stack", "model_of", "parse_stack", "read_yaml",
           "section_to_raw", "with_changes"]
