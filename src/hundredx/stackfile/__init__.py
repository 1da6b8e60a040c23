"""Stack files at the edge: YAML <-> `scenario.Scenario` through the pydantic models of `schema`.

`load_stack(path)` reads a file (hundredx.yamlio: bounded, YAML 1.2 numbers), validates it
against `schema.StackFile` and builds its scenario with `scenario.build`; every error is one
`InputError` naming the dotted field path ("kernel.tp", "chip.devices") and the value.
`stack_file(scenario)` writes a scenario back as the plain mapping of a stack file (what
`parse_stack` reads back to the same stack). `load_steps` reads waterfall step files: a file
with `changes:` is a change step (dotted names, applied on specs by scenario.with_changes), any
other file a complete intermediate stack.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from hundredx import yamlio
from hundredx.errors import InputError
from hundredx.kernel.runtime import SchedulerSpec
from hundredx.scenario import Scenario, Workload, build
from hundredx.stackfile.schema import StackFile, StepFile, schema

LAYERS = ("model", "kernel", "chip")
MAX_BYTES = 256_000
_KERNEL = {"attention": "attention_kernel"}
FIELD_PATHS = {  # the builder's field names -> the stack file's dotted paths
    "model": "model.id", "weights": "model.weights", "kv": "model.kv", "act": "model.act", "format": "model.weights",
    "expert_weights": "model.expert_weights", "chip": "chip.system", "system": "chip.system",
    "devices": "chip.devices", "nodes": "chip.nodes", "price_per_hour": "chip.price_per_hour",
    "power_w": "chip.power_w", "attention_kernel": "kernel.attention", "isl": "workload.isl", "osl": "workload.osl",
    "batch": "workload.batch", "concurrency": "workload.concurrency", "ttft_limit_s": "workload.ttft_limit_s",
    "tpot_limit_s": "workload.tpot_limit_s",
}


def field_path(name: str) -> str:
    """The stack-file path of a builder field name ("tp" -> "kernel.tp", "config.x" -> "model.config.x")."""
    if name.startswith(("model.", "kernel.", "chip.", "workload.")):
        return name
    if name in FIELD_PATHS:
        return FIELD_PATHS[name]
    if name.startswith("config"):
        return f"model.{name}"
    return f"kernel.{name}"


def _validation_error(exc: ValidationError, path: str) -> InputError:
    first = exc.errors()[0]
    loc = ".".join(str(p) for p in first["loc"]) or "stack"
    why = first["msg"].removeprefix("Value error, ")
    return InputError(loc, first.get("input", path) if first["loc"] else path, why)


def validate(data: Any, path: str = "<dict>") -> StackFile:
    """The validated stack-file model of one mapping."""
    if not isinstance(data, dict):
        raise InputError("stack", path, "a stack file must be a YAML mapping with model, kernel, chip, workload")
    try:
        return StackFile.model_validate(data)
    except ValidationError as exc:
        raise _validation_error(exc, path) from None


def to_scenario(sf: StackFile, path: str = "<dict>", name: str | None = None) -> Scenario:
    """Build the scenario of a validated stack file (errors name stack-file fields)."""
    m, k, c, w = sf.model, sf.kernel, sf.chip, sf.workload
    auto = w.batch == "auto" and w.concurrency is None
    knobs: dict[str, Any]  # RuntimeSpec fields, passed through build()
    knobs = dict(attention_kernel=k.attention, gemm_library=k.gemm_library, fused=k.fused, cuda_graphs=k.cuda_graphs,
                 overlap_comm=k.overlap_comm, moe_routing=k.moe_routing, routing_skew=k.routing_skew,
                 expert_placement=k.expert_placement, engine=k.engine,
                 speculative=k.speculative, disaggregation=k.disaggregation, scheduler=k.scheduler or SchedulerSpec())
    label = name or sf.name or Path(path).stem
    try:
        workload = Workload(isl=w.isl, osl=w.osl, batch=1 if w.batch == "auto" else w.batch,
                            concurrency=w.concurrency or 0, ttft_limit_s=w.ttft_limit_s or float("inf"),
                            tpot_limit_s=w.tpot_limit_s or float("inf"))
        return build(m.id, _chip_ref(c.ref, path), devices=c.devices, nodes=c.nodes, tp=k.tp, pp=k.pp, ep=k.ep,
                     dp=k.dp, cp=k.cp,
                     attention_dp=k.attention_dp, weights=m.weights, kv=m.kv, act=m.act,
                     expert_weights=m.expert_weights, workload=workload, batch_auto=auto,
                     price_per_hour=c.price_per_hour, power_w=c.power_w, name=str(label), source=path, **knobs)
    except InputError as exc:
        if exc.field == "chip" and c.chip is not None:
            raise InputError("chip.chip", exc.value, exc.why) from None
        raise InputError(field_path(exc.field), exc.value, exc.why) from None


def _chip_ref(ref: str, path: str) -> str:
    """A chip/system YAML named in a stack file is read relative to the stack file (chip/userfile.py)."""
    from hundredx.chip.userfile import is_file_ref

    if is_file_ref(ref) and not Path(ref).is_absolute() and path != "<dict>":
        return str(Path(path).parent / ref)
    return ref


def parse_stack(data: Any, path: str = "<dict>", name: str | None = None) -> Scenario:
    """Validate a stack-file mapping and build its scenario."""
    return to_scenario(validate(data, path), path, name)


def read_yaml(path: str | Path, field: str = "stack") -> Any:
    """One YAML file as plain data (bounded; YAML 1.2 numbers)."""
    p = Path(path)
    if p.is_file() and p.stat().st_size > MAX_BYTES:
        raise InputError(field, str(path), f"file is {p.stat().st_size} bytes; limit {MAX_BYTES}")
    return yamlio.read(p, field)


def load_stack(path: str | Path) -> Scenario:
    """Read, validate and build one stack file."""
    return parse_stack(read_yaml(path), str(path))


def load_steps(paths: list[str] | None) -> list | None:
    """Waterfall steps: (name, changes) for a file with `changes:`, else the file's Scenario."""
    if not paths:
        return None
    steps: list = []
    for path in paths:
        data = read_yaml(path, "waterfall")
        if isinstance(data, dict) and "changes" in data:
            try:
                step = StepFile.model_validate(data)
            except ValidationError as exc:
                raise _validation_error(exc, path) from None
            steps.append((step.name or str(path), step.changes))
        else:
            steps.append(parse_stack(data, path))
    return steps


def _model_ref(model) -> str:
    from hundredx.model import list_models

    return model.id if model.id in list_models() else (model.source or model.id)


def stack_file(scn: Scenario) -> dict:
    """The plain stack-file mapping of a scenario (formats written out; what parse_stack reads back)."""
    model, rt, system, w = scn.model, scn.runtime, scn.system, scn.workload
    kernel: dict[str, Any] = {"attention": rt.attention_kernel, "gemm_library": rt.gemm_library, "fused": rt.fused,
                              "cuda_graphs": rt.cuda_graphs, "tp": rt.tp, "pp": rt.pp, "ep": rt.ep, "cp": rt.cp,
                              "attention_dp": rt.attention_dp, "overlap_comm": rt.overlap_comm,
                              "moe_routing": rt.moe_routing, "routing_skew": rt.routing_skew,
                              "expert_placement": rt.expert_placement, "engine": rt.engine}
    for key in ("scheduler", "speculative", "disaggregation"):
        value = getattr(rt, key)
        if value is not None and not (key == "scheduler" and value == SchedulerSpec()):
            kernel[key] = asdict(value)  # nested specs (a Disaggregation's PoolSpecs) as plain mappings
    workload: dict[str, Any] = {"isl": w.isl, "osl": w.osl}
    if w.concurrency:
        workload["concurrency"] = w.concurrency
    else:
        workload["batch"] = "auto" if scn.batch_auto else w.batch
    for key in ("ttft_limit_s", "tpot_limit_s"):
        if getattr(w, key) != float("inf"):
            workload[key] = getattr(w, key)
    chip: dict[str, Any] = {"system": system.extra.get("file", system.id), "devices": scn.devices}
    catalog = _catalog_chip(system.chip.id)
    for key, field in (("price_per_hour", "price_per_hour"), ("power_w", "tdp_w")):
        if catalog is None or getattr(catalog, field) != getattr(system.chip, field):
            chip[key] = getattr(system.chip, field)
    return {"name": scn.name or f"{model.id} on {system.id}", "model": _model_section(model),
            "kernel": kernel, "chip": chip, "workload": workload}


def _catalog_chip(chip_id: str):
    from hundredx.chip import load_chip

    try:
        return load_chip(chip_id)
    except InputError:
        return None


def _model_section(model) -> dict:
    """id plus every format that differs from the config's own."""
    from hundredx.model import load_model

    ref = _model_ref(model)
    out: dict[str, Any] = {"id": ref}
    try:
        base = load_model(ref).quant
    except InputError:
        base = None
    for key, attr in (("weights", "weight"), ("kv", "kv"), ("act", "act"), ("expert_weights", "experts")):
        mine = getattr(model.quant, attr)
        if base is None or mine.name != getattr(base, attr).name:
            out[key] = mine.name
    return out


__all__ = ["FIELD_PATHS", "LAYERS", "StackFile", "field_path", "load_stack", "load_steps", "parse_stack",
           "read_yaml", "schema", "stack_file", "to_scenario", "validate"]
