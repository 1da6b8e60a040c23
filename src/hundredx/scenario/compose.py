"""Scenarios from scenarios: layer swaps (`compose`) and field changes (`with_changes`), on specs.

`Layers` holds a scenario's ingredients before they are checked:
  model   its `ModelSpec` (architecture and number formats);
  kernel  its `RuntimeSpec` (kernels, scheduler, tp/pp/ep/cp, attention-DP, P/D pools,
          speculative decoding, engine) — the replica shape and how it runs; dp is not part of
          it but follows from the chip layer's devices (P/D pools fix their own device count);
  chip    its system (a `SystemSpec`, its chip's price and power included) and device count;
plus the workload and whether the batch is searched. `Layers.scenario(adjust)` builds it —
with `adjust`, a combination that cannot run as written is first moved to the nearest runnable
one (scenario/adjust.py) and the moves are recorded in `adjustments`. An intermediate point of
a waterfall is a `Layers` that may not run until adjusted.
`compose(model_from, kernel_from, chip_from, workload_from)` swaps layers between scenarios;
`with_changes(scn, {"model.weights": "nvfp4", "kernel.tp": 4, "chip": "b200"})` applies
dotted-name changes (the stack-file field names, `CHANGE_KEYS`) to the specs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from hundredx.errors import InputError
from hundredx.kernel.runtime import Disaggregation, RuntimeSpec, SchedulerSpec, SpeculativeSpec
from hundredx.scenario.build import Scenario, _priced, build, resolve_model, resolve_system
from hundredx.scenario.workload import Workload

KERNEL_ALIASES = {"attention": "attention_kernel"}
_NESTED = {"speculative": SpeculativeSpec, "disaggregation": Disaggregation, "scheduler": SchedulerSpec}
_RUNTIME = {f.name for f in fields(RuntimeSpec)} - {"dp"}
MODEL_KEYS = ("id", "weights", "kv", "act", "expert_weights")
CHIP_KEYS = ("system", "chip", "devices", "price_per_hour", "power_w")
WORKLOAD_KEYS = ("isl", "osl", "batch", "concurrency", "ttft_limit_s", "tpot_limit_s")
CHANGE_KEYS = tuple([f"model.{k}" for k in MODEL_KEYS] + [f"kernel.{k}" for k in sorted(_RUNTIME | set(KERNEL_ALIASES))]
                    + [f"chip.{k}" for k in CHIP_KEYS] + [f"workload.{k}" for k in WORKLOAD_KEYS]
                    + ["model", "kernel", "chip"])


@dataclass(frozen=True)
class Layers:
    """A scenario's ingredients, not yet checked against each other (module docstring)."""

    model: Any
    runtime: RuntimeSpec
    chip: Any
    devices: int
    workload: Workload = Workload()
    batch_auto: bool = False
    name: str = ""
    notes: tuple[str, ...] = ()

    @classmethod
    def of(cls, scn: Scenario) -> Layers:
        return cls(scn.model, scn.runtime, scn.system, scn.devices, scn.workload, scn.batch_auto, scn.name,
                   scn.adjustments)

    def scenario(self, adjust: bool = False, name: str | None = None) -> Scenario:
        """The runnable Scenario (InputError when it cannot run and `adjust` is off or cannot fix it)."""
        runtime, devices, notes = self.runtime, self.devices, self.notes
        if adjust:
            from hundredx.scenario.adjust import runnable

            runtime, devices, more = runnable(self.model, self.chip, runtime, devices, self.workload.isl,
                                              self.workload.osl)
            notes = notes + more
        if runtime.disaggregation is not None:
            devices = runtime.disaggregation.devices
        scn = build(self.model, self.chip, devices=devices, runtime=replace(runtime, dp=1), workload=self.workload,
                    batch_auto=self.batch_auto, name=self.name if name is None else name, source="<composed>")
        return replace(scn, adjustments=notes)

    def changed(self, changes: Mapping[str, Any]) -> Layers:
        """These layers with dotted-name changes applied (module docstring)."""
        out = self
        for key, value in changes.items():
            out = _apply(out, str(key), value)
        return out


def compose(model_from: Scenario, kernel_from: Scenario, chip_from: Scenario, workload_from: Scenario | None = None,
            adjust: bool = True, name: str = "") -> Scenario:
    """The model of one scenario, the kernel layer of another, the chip layer of a third (module docstring)."""
    base = workload_from or model_from
    label = name or f"model:{model_from.name} kernel:{kernel_from.name} chip:{chip_from.name}"
    return Layers(model_from.model, kernel_from.runtime, chip_from.system, chip_from.devices, base.workload,
                  base.batch_auto, label).scenario(adjust)


def with_changes(scn: Scenario, changes: Mapping[str, Any], adjust: bool = False, name: str = "") -> Scenario:
    """`scn` with dotted-name changes applied to its specs; `adjust` makes the result runnable where it can."""
    return Layers.of(scn).changed(changes).scenario(adjust, name or scn.name)


def _kernel_value(key: str, value: Any):
    kind = _NESTED.get(key)
    if kind is None or value is None or isinstance(value, kind):
        return value
    if not isinstance(value, Mapping):
        raise InputError(f"kernel.{key}", value, "must be a mapping")
    try:
        return kind(**value)
    except TypeError as exc:
        raise InputError(f"kernel.{key}", dict(value), str(exc).split(": ", 1)[-1]) from None


def _chip(layers: Layers, field: str, value: Any) -> Layers:
    if field in ("price_per_hour", "power_w"):
        system = _priced(resolve_system(layers.chip, layers.devices), **{field: value})
        return replace(layers, chip=system)
    if field == "devices":
        return replace(layers, devices=value)
    if isinstance(value, Mapping):  # {system|chip, devices, price_per_hour, power_w}
        unknown = sorted(set(value) - set(CHIP_KEYS))
        if unknown:
            raise InputError(f"chip.{unknown[0]}", value, f"known: {', '.join(CHIP_KEYS)}")
        out = replace(layers, chip=value.get("system", value.get("chip", layers.chip)),
                      devices=int(value.get("devices") or layers.devices))
        for key in ("price_per_hour", "power_w"):
            if key in value:
                out = _chip(out, key, value[key])
        return out
    return replace(layers, chip=value)


def _apply(layers: Layers, key: str, value: Any) -> Layers:
    section, _, field = key.partition(".")
    if section == "model":
        if field in ("", "id"):
            return replace(layers, model=resolve_model(value))
        if field not in MODEL_KEYS:
            raise InputError(key, value, f"known model fields: {', '.join(MODEL_KEYS)}")
        return replace(layers, model=resolve_model(layers.model, **{field: value}))
    if section == "kernel":
        if not field:
            if not isinstance(value, RuntimeSpec):
                raise InputError(key, value, "a whole kernel layer is a RuntimeSpec")
            return replace(layers, runtime=value)
        name = KERNEL_ALIASES.get(field, field)
        if name not in _RUNTIME:
            raise InputError(key, value, f"not a kernel-layer field; known: {', '.join(sorted(_RUNTIME))}")
        return replace(layers, runtime=replace(layers.runtime, **{name: _kernel_value(name, value)}))
    if section == "chip":
        if field not in ("",) + CHIP_KEYS:
            raise InputError(key, value, f"known chip fields: {', '.join(CHIP_KEYS)}")
        return _chip(layers, field, value)
    if section == "workload":
        if field == "batch" and value == "auto":
            return replace(layers, batch_auto=True)
        if field not in WORKLOAD_KEYS:
            raise InputError(key, value, f"known workload fields: {', '.join(WORKLOAD_KEYS)}")
        return replace(layers, workload=replace(layers.workload, **{field: value}),
                       batch_auto=layers.batch_auto and field != "batch")
    raise InputError(key, value, "a change names model.*, kernel.*, chip.* or workload.*")
