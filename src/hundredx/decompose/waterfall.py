"""Ordered waterfall from stack A to stack B: the factor of each step, multiplying to the total.

Points p0 = A, p1 .. pk (intermediate stacks), p(k+1) = B, all on A's workload; step factor
g(p_i)/g(p_(i-1)), so the product telescopes to g(B)/g(A) exactly. A step is a Scenario (a
complete intermediate stack) or (label, changes): dotted-name changes applied to the previous
point's specs with scenario.with_changes ({"model.weights": "nvfp4"}). A point that cannot run
is reported with its reason and merged with the next step (its label joins the next one),
never dropped.

Default steps (`auto_steps`), read off the two scenarios' specs in layer order: the model
(the whole ModelSpec when the architecture differs, else each number format that differs);
each kernel-layer knob that differs; the parallelism knobs (tp, pp, ep, cp, attention_dp,
disaggregation) together; then the chip layer (system and devices). Intermediate points are
made runnable (scenario/adjust.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from hundredx.errors import InputError
from hundredx.kernel.runtime import Disaggregation, SchedulerSpec, SpeculativeSpec
from hundredx.scenario import Scenario, resolve_model
from hundredx.scenario.compose import Layers

PARALLEL = ("tp", "pp", "ep", "cp", "attention_dp", "disaggregation")
_KNOBS = ("attention_kernel", "fused", "cuda_graphs", "gemm_library", "overlap_comm", "speculative", "moe_routing",
          "routing_skew", "engine", "scheduler", "gpu_time_factor", "per_seq_step_s")  # stack-file order
_LABEL = {"attention_kernel": "attention"}
_FORMATS = (("weights", "weight"), ("kv", "kv"), ("act", "act"), ("expert_weights", "experts"))


def _name(value: Any) -> str:
    """Short label of a knob value: formats by name, nested specs by their fields."""
    if value is None:
        return "-"
    if isinstance(value, SpeculativeSpec):
        return f"{value.method} k={value.draft_tokens} a={value.acceptance:g}"
    if isinstance(value, Disaggregation):
        return f"{value.prefill_devices}P+{value.decode_devices}D"
    if isinstance(value, SchedulerSpec):
        return ", ".join(f"{k}={getattr(value, k)}" for k in value.__dataclass_fields__
                         if getattr(value, k) != getattr(SchedulerSpec(), k)) or "default"
    return str(getattr(value, "name", value))


def _model_steps(a: Scenario, b: Scenario) -> list[tuple[str, dict]]:
    ma, mb = a.model, b.model
    if ma.id != mb.id:
        return [(f"model: {ma.id} -> {mb.id}", {"model": mb})]
    steps, cur = [], ma  # a format step may carry others with it (weights fp8 -> W8A8 activations)
    for key, attr in _FORMATS:
        fa, fb = getattr(cur.quant, attr), getattr(mb.quant, attr)
        if fa.name != fb.name:
            steps.append((f"model.{key}: {fa.name} -> {fb.name}", {f"model.{key}": fb.name}))
            cur = resolve_model(cur, **{key: fb.name})
    return steps


def auto_steps(a: Scenario, b: Scenario) -> list[tuple[str, dict]]:
    """[(label, changes)] turning A's layers into B's, one knob (or knob group) at a time."""
    steps = _model_steps(a, b)
    ra, rb = a.runtime, b.runtime
    for key in _KNOBS:
        va, vb = getattr(ra, key), getattr(rb, key)
        if va != vb:
            label = _LABEL.get(key, key)
            steps.append((f"kernel.{label}: {_name(va)} -> {_name(vb)}", {f"kernel.{key}": vb}))
    par = {f"kernel.{k}": getattr(rb, k) for k in PARALLEL if getattr(ra, k) != getattr(rb, k)}
    if par:
        desc = ", ".join(f"{k.split('.')[1]} {_name(getattr(ra, k.split('.')[1]))}->{_name(v)}" for k, v in par.items())
        steps.append((f"kernel parallelism: {desc}", par))
    if (a.system.id, a.devices, a.chip) != (b.system.id, b.devices, b.chip):
        steps.append((f"chip: {a.system.id} x{a.devices} -> {b.system.id} x{b.devices}", {"chip": b.system,
                                                                                           "chip.devices": b.devices}))
    return steps


def _same_layers(x: Layers, y: Scenario) -> bool:
    return x.model == y.model and x.runtime == replace(y.runtime, dp=x.runtime.dp) and \
        (x.chip is y.system or x.chip == y.system) and x.devices == y.devices


def waterfall(a: Scenario, b: Scenario, evaluate: Callable[[Scenario], Any],
              steps: Sequence[Any] | None = None) -> list[dict]:
    """Rows {label, factor, cumulative, value, feasible, reason, adjustments}; factors multiply to B/A."""
    steps = list(auto_steps(a, b) if steps is None else steps)
    points: list[tuple[str, Any]] = [("A: " + a.name, Layers.of(a))]
    prev = Layers.of(a)
    for step in steps:
        if isinstance(step, Scenario):
            label, prev = step.name, Layers.of(step)
        else:
            label, changes = step if isinstance(step, tuple) else (", ".join(f"{k}={v}" for k, v in step.items()), step)
            try:  # the previous point as written (not adjusted), changed; it is made runnable when evaluated
                prev = prev.changed(changes)
            except InputError as exc:
                points.append((label, exc))
                continue
        points.append((label, prev))
    if len(points) > 1 and isinstance(points[-1][1], Layers) and _same_layers(points[-1][1], b):
        points[-1] = (points[-1][0] + " (= B)", Layers.of(b))
    else:
        points.append(("B: " + b.name, Layers.of(b)))
    return _rows(points, a, b, evaluate)


def _rows(points, a, b, evaluate) -> list[dict]:
    rows, pending, base = [], [], None
    for i, (label, point) in enumerate(points):
        reason, ev, adjustments = None, None, []
        if isinstance(point, Exception):
            reason = str(point)
        else:
            try:  # every point on A's workload; the intermediate ones made runnable
                ends = i in (0, len(points) - 1)
                on_a = replace(point, workload=a.workload, batch_auto=a.batch_auto, notes=())
                scn = on_a.scenario(adjust=not ends, name=b.name if i == len(points) - 1 else label)
                adjustments = list(scn.adjustments)
                ev = evaluate(scn)
            except Exception as exc:  # InputError or Infeasible: reported, merged into the next step
                reason = str(exc)
        if ev is None:
            pending.append(label)
            rows.append({"label": label, "feasible": False, "reason": reason, "factor": None, "cumulative": None,
                         "value": None, "adjustments": adjustments, "merged_into_next": i < len(points) - 1})
            continue
        if base is None:
            base, last = ev.goodness, ev.goodness
            rows.append({"label": label, "feasible": True, "factor": 1.0, "cumulative": 1.0, "value": ev.value,
                         "batch": ev.batch, "adjustments": adjustments, "start": True})
            continue
        step_label = " + ".join(pending + [label])
        pending = []
        rows.append({"label": step_label, "feasible": True, "factor": ev.goodness / last,
                     "cumulative": ev.goodness / base, "value": ev.value, "batch": ev.batch,
                     "adjustments": adjustments})
        last = ev.goodness
    return rows
