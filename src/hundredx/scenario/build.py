"""`build(...)`: the one place that turns what a user names into a runnable `Scenario`.

Inputs are ids or specs: a model (zoo id / name / config.json path, a `ModelSpec`, or a
config dict), a chip or system (id, `SystemSpec` or `ChipSpec`), the parallel degrees, number
formats, kernel-layer knobs (`RuntimeSpec` fields, or a `RuntimeSpec` template) and a
`Workload`. The CLI, stack files, predict_many, serve, decompose, claims, validate and search
all build their stacks here, so each rule is written once:

  devices   a replica is tp*pp*cp devices. Without tp, tp fills the devices:
            tp = devices / (pp*cp*dp) (dp default 1). With tp, dp = devices / (tp*pp*cp) (it must
            divide; a given dp must agree). Without devices, devices = tp*pp*cp*dp. Under P/D
            disaggregation the deployment is prefill_devices + decode_devices, both whole replicas
            (the prefill pool's replica uses `prefill_tp` when given) and dp is the decode pool's;
            with PoolSpecs (full form) the stack runs a decode worker (tp = its tp x attention_dp).
  nodes     the devices must fit in `nodes` nodes of the system.
  engine    a named engine without a `scheduler` gets its documented running-sequence cap and token
            budget (kernel/engine.py, engines.yaml); generic keeps SchedulerSpec's.
  load      a concurrency (requests in flight over the deployment) gives each of the dp replicas
            batch = ceil(concurrency / dp) sequences for the static step model.
  rules     the parallelism rules of scenario/rules.py (Stack checks them).
Chip price and power overrides replace the `ChipSpec` figures and add a source line saying so.
Errors are `InputError`s naming the builder's field ("tp", "devices", "weights", ...); stack
files map them to their dotted paths (stackfile.FIELD_PATHS).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np

from hundredx.errors import InputError
from hundredx.kernel.runtime import Disaggregation, RuntimeSpec, SchedulerSpec
from hundredx.scenario import rules
from hundredx.scenario.stack import Stack
from hundredx.scenario.workload import Workload

_RUNTIME_FIELDS = {f.name for f in fields(RuntimeSpec)}
_PARALLEL = ("tp", "pp", "ep", "dp", "cp", "attention_dp")


@dataclass(frozen=True, slots=True)
class Scenario:
    """A runnable stack, the workload it serves, and how its operating point is chosen.

    batch_auto: search the largest batch per replica that meets the workload's latency limits
    (decompose, search) instead of using `workload.batch`. `adjustments`: what `adjust` changed
    to make a combination runnable (decompose's mixed stacks), empty for a user's own stack.
    """

    stack: Stack
    workload: Workload = Workload()
    batch_auto: bool = False
    name: str = ""
    source: str = ""
    adjustments: tuple[str, ...] = ()

    @property
    def model(self):
        return self.stack.model

    @property
    def system(self):
        return self.stack.system

    @property
    def runtime(self) -> RuntimeSpec:
        return self.stack.runtime

    @property
    def chip(self):
        return self.stack.system.chip

    @property
    def devices(self) -> int:
        """Every device of the deployment (both pools under P/D disaggregation)."""
        d = self.runtime.disaggregation
        return d.devices if d is not None else self.runtime.devices


def resolve_model(model: Any, weights=None, kv=None, act=None, expert_weights=None):
    """A ModelSpec from an id / path / ModelSpec / config dict, with optional number formats."""
    from hundredx.model import load_model, with_quant
    from hundredx.model.spec import ModelSpec

    if isinstance(model, ModelSpec):
        spec = model
    elif isinstance(model, dict) or hasattr(model, "to_dict"):  # a config mapping or transformers config
        spec = load_model(model)
    elif isinstance(model, str):
        spec = load_model(model)
    else:
        raise InputError("model", type(model).__name__, "give a zoo id, a config.json path, a ModelSpec or a dict")
    if any(x is not None for x in (weights, kv, act, expert_weights)):
        spec = with_quant(spec, weights=weights, act=act, kv=kv, expert_weights=expert_weights)
    return spec


def resolve_system(chip: Any, devices: int):
    """The system of `chip` (a system id, a chip id's standard system, a SystemSpec or a ChipSpec),
    sized to `devices`."""
    from hundredx.chip import load_system
    from hundredx.chip.catalog import sized
    from hundredx.chip.spec import ChipSpec, SystemSpec

    if isinstance(chip, SystemSpec):
        return sized(chip, devices)
    if isinstance(chip, ChipSpec):  # a what-if chip on its standard system's wiring
        return replace(load_system(chip.id, devices=devices), chip=chip)
    if not isinstance(chip, str):
        raise InputError("chip", type(chip).__name__, "give a chip or system id, a SystemSpec or a ChipSpec")
    return load_system(chip, devices=devices)


MAX_DEVICES = 1 << 17  # one deployment: above the largest published clusters (~100k GPUs)


def _int(name: str, value, default=None):
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_DEVICES:
        raise InputError(name, value, f"must be an integer in [1, {MAX_DEVICES}]")
    return value


SRAM_MARGIN = 1.10  # ASSUMPTION: 10% of SRAM left for activations, KV and the compiler's buffers


def sram_resident_plan(spec, chip_ref) -> tuple[int, int] | None:
    """(tp, pp) that keep the weights resident in on-chip SRAM on an SRAM-dataflow chip (Groq, Cerebras:
    kernel/platforms.py) when the user sized nothing: chips = ceil(1.1 x weights / usable SRAM), pp up to
    the layer count, tp the smallest divisor of the heads covering the rest. None elsewhere or when one
    chip holds the model."""
    from hundredx.kernel.platforms import platform_of
    from hundredx.model.accounting import weight_bytes
    from hundredx.scenario.memory import USABLE_FRACTION

    chip = resolve_system(chip_ref, 1).chip
    if not platform_of(chip).sram_dataflow or chip.mem_bytes <= 0:
        return None
    need = int(np.ceil(SRAM_MARGIN * weight_bytes(spec) / (chip.mem_bytes * USABLE_FRACTION)))
    if need <= 1:
        return None
    pp = min(need, spec.num_layers)
    per_stage = int(np.ceil(need / pp))
    tp = next((t for t in range(per_stage, spec.num_heads + 1) if spec.num_heads % t == 0), spec.num_heads)
    return tp, pp


def _devices(devices, tp, pp, cp, dp, disagg: Disaggregation | None) -> tuple[int, int, int]:
    """(tp, dp, total devices) under the module docstring's device rule."""
    if disagg is not None:
        if disagg.decode is not None:  # full form: the stack runs the decode pool's worker
            tp = tp or disagg.decode.tp * disagg.decode.attention_dp
            if tp * pp * cp != disagg.decode.worker_devices:
                raise InputError("disaggregation.decode", disagg.decode,
                                 f"a decode worker has {disagg.decode.worker_devices} devices, the stack's replica "
                                 f"tp*pp*cp = {tp * pp * cp}")
        tp = tp or 1
        replica = tp * pp * cp
        pre_replica = (disagg.prefill.worker_devices if disagg.prefill is not None
                       else (disagg.prefill_tp or tp) * pp * cp)
        for name, n, size in (("disaggregation.prefill_devices", disagg.prefill_devices, pre_replica),
                              ("disaggregation.decode_devices", disagg.decode_devices, replica)):
            if n % size:
                raise InputError(name, n, f"must be a multiple of the pool's replica tp*pp*cp = {size}")
        if devices is not None and devices != disagg.devices:
            raise InputError("devices", devices, f"prefill_devices + decode_devices = {disagg.devices}")
        return tp, disagg.decode_devices // replica, disagg.devices
    if tp is None:
        tp = max((devices or 1) // (pp * cp * (dp or 1)), 1)
    replica = tp * pp * cp
    if devices is None:
        dp = dp or 1
        return tp, dp, replica * dp
    if devices % replica:
        raise InputError("devices", devices, f"not a multiple of the replica tp*pp*cp = {tp}*{pp}*{cp} = {replica}")
    if dp is not None and dp * replica != devices:
        raise InputError("dp", dp, f"devices / (tp*pp*cp) = {devices}/{replica} = {devices // replica}")
    return tp, devices // replica, devices


def _check_nodes(system, nodes, total: int) -> None:
    if nodes is None:
        return
    if isinstance(nodes, bool) or not isinstance(nodes, int) or nodes < 1:
        raise InputError("nodes", nodes, "must be an integer >= 1")
    if nodes > total:
        raise InputError("nodes", nodes, f"more nodes than the {total} devices they would hold")
    if total > nodes * system.devices_per_node:
        raise InputError("nodes", nodes, f"{total} devices need {-(-total // system.devices_per_node)} nodes of "
                         f"{system.devices_per_node} ({system.id})")


def _priced(system, price_per_hour, power_w):
    """The system with user price / power overrides on its chip (recorded in the chip's sources)."""
    changes, notes = {}, []
    for name, field, value in (("price_per_hour", "price_per_hour", price_per_hour), ("power_w", "tdp_w", power_w)):
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1e7:
            raise InputError(name, value, "must be a number in [0, 1e7)")
        changes[field] = float(value)
        notes.append(f"user override: {field}={value:g}")
    if not changes:
        return system
    chip = replace(system.chip, sources=tuple(system.chip.sources) + tuple(notes), **changes)
    return replace(system, chip=chip)


def _runtime(template: RuntimeSpec | None, knobs: dict) -> dict:
    unknown = sorted(set(knobs) - _RUNTIME_FIELDS)
    if unknown:
        raise InputError(unknown[0], knobs[unknown[0]],
                         f"not a runtime knob; known: {', '.join(sorted(_RUNTIME_FIELDS))}")
    base = {f: getattr(template, f) for f in _RUNTIME_FIELDS} if template is not None else {}
    values = {**base, **knobs}
    if values.get("scheduler") is None and values.get("engine") not in (None, "generic"):
        values["scheduler"] = _engine_scheduler(str(values["engine"]))
    return values


def _engine_scheduler(engine: str) -> SchedulerSpec:
    """A named engine's documented running-sequence cap and token budget (kernel/engine.py) when no scheduler
    is given; an engine without a profile keeps the generic SchedulerSpec."""
    from hundredx.kernel.engine import engine_profile

    prof = engine_profile(engine)
    if prof.note:
        return SchedulerSpec()
    return SchedulerSpec(max_seqs=prof.max_seqs, max_batched_tokens=prof.max_batched_tokens)


def build(model: Any, chip: Any, *, devices: int | None = None, nodes: int | None = None, tp: int | None = None,
          pp: int | None = None, ep: int | None = None, dp: int | None = None, cp: int | None = None,
          attention_dp: bool | None = None, weights: str | None = None, kv: str | None = None,
          act: str | None = None, expert_weights: str | None = None, workload: Workload | None = None,
          batch_auto: bool = False, price_per_hour: float | None = None, power_w: float | None = None,
          runtime: RuntimeSpec | None = None, name: str = "", source: str = "", **knobs: Any) -> Scenario:
    """A runnable Scenario (module docstring); InputError naming the field when it cannot run.

    `runtime` is a template for every kernel-layer knob; explicit arguments and `knobs` (any other
    RuntimeSpec field: attention_kernel, gemm_library, scheduler, speculative, disaggregation, ...)
    override it. dp follows from the devices when they are given."""
    spec = resolve_model(model, weights, kv, act, expert_weights)
    if devices is None and tp is None and pp is None and runtime is None:
        plan = sram_resident_plan(spec, chip)
        if plan is not None:
            tp, pp = plan
    given = {k: v for k, v in dict(tp=tp, pp=pp, ep=ep, cp=cp, attention_dp=attention_dp).items() if v is not None}
    values = _runtime(runtime, {**given, **knobs})
    if runtime is not None and tp is None:
        given["tp"] = runtime.tp
    pp_, cp_ = _int("pp", values.get("pp"), 1), _int("cp", values.get("cp"), 1)
    if given.get("tp") is not None:  # name a tp that cannot split the heads before counting devices
        rules.check_shape(spec, _int("tp", given["tp"]), _int("ep", values.get("ep"), 1), pp_,
                          bool(values.get("attention_dp", False)))
    dp_in = _int("dp", dp) if dp is not None else (runtime.dp if runtime is not None and devices is None else None)
    tp_, dp_, total = _devices(_int("devices", devices), _int("tp", given.get("tp")), pp_, cp_, dp_in,
                               values.get("disaggregation"))
    system = _priced(resolve_system(chip, total), price_per_hour, power_w)
    _check_nodes(system, nodes, total)
    if total > MAX_DEVICES:
        raise InputError("devices", total, f"more than {MAX_DEVICES} devices in one deployment")
    values.update(tp=tp_, pp=pp_, cp=cp_, dp=dp_)
    stack = Stack(spec, system, RuntimeSpec(**values))
    w = workload if workload is not None else Workload()
    if w.concurrency:
        w = replace(w, batch=max(1, -(-w.concurrency // dp_)))
    rules.check_context(spec, w.isl, w.osl)
    return Scenario(stack, w, batch_auto, name, source)


__all__ = ["Scenario", "build", "resolve_model", "resolve_system"]
