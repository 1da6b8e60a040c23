"""Ordered waterfall from stack A to stack B: the factor of each step, multiplying to the total.

Points p0 = A, p1 .. pk (intermediate stacks), p(k+1) = B, all on A's workload; step factor
g(p_i)/g(p_(i-1)), so the product telescopes to g(B)/g(A) exactly. A step is a StackFile
(a complete intermediate stack) or a dict of dotted-path changes applied to the previous
point ({"model.weights": "nvfp4"}). A point that cannot run is reported with its reason and
merged with the next step (its label joins the next one), never dropped.

Default steps (`auto_steps`): one per field that differs between A and B, in layer order:
model.id, model.weights, model.kv, model.act; each kernel knob; the parallelism knobs
(tp, pp, ep, dp, cp, attention_dp, disaggregation) together; then the whole chip section.
Intermediate points run with `adjust=True` (stackfile.build: nearest runnable combination).
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from hundredx.errors import InputError
from hundredx.stackfile import StackFile, compose, section_to_raw, with_changes

PARALLEL = ("tp", "pp", "ep", "dp", "cp", "attention_dp", "disaggregation")


def _raw(sf: StackFile, name: str) -> dict:
    return section_to_raw(name, sf.section(name))


def auto_steps(a: StackFile, b: StackFile) -> list[tuple[str, dict]]:
    """[(label, changes)] turning A's layers into B's, one field (or field group) at a time."""
    steps: list[tuple[str, dict]] = []
    ma, mb = _raw(a, "model"), _raw(b, "model")
    for key in ("id", "weights", "kv", "act"):
        if ma.get(key) != mb.get(key):
            steps.append((f"model.{key}: {ma.get(key, 'default')} -> {mb.get(key, 'default')}",
                          {f"model.{key}": mb.get(key)}))
    ka, kb = _raw(a, "kernel"), _raw(b, "kernel")
    for key in sorted(set(ka) | set(kb), key=lambda k: list(type(a.kernel).__dataclass_fields__).index(k)):
        if key in PARALLEL or ka.get(key) == kb.get(key):
            continue
        steps.append((f"kernel.{key}: {ka.get(key, 'default')} -> {kb.get(key, 'default')}", {f"kernel.{key}": kb.get(key)}))
    par = {f"kernel.{k}": kb.get(k) for k in PARALLEL if ka.get(k) != kb.get(k)}
    if par:
        desc = ", ".join(f"{k.split('.')[1]} {ka.get(k.split('.')[1], '-')}->{v if v is not None else '-'}"
                         for k, v in par.items())
        steps.append((f"kernel parallelism: {desc}", par))
    ca, cb = _raw(a, "chip"), _raw(b, "chip")
    if ca != cb:
        steps.append((f"chip: {a.stack.system.id} x{a.stack.runtime.devices} -> {b.stack.system.id}"
                      f" x{b.stack.runtime.devices}", {"chip": cb}))
    return steps


def _apply(prev_raw: StackFile, changes: dict, label: str) -> StackFile:
    """Apply changes to the previous (unadjusted) point, then make it runnable on A's workload."""
    clean = {k: v for k, v in changes.items() if v is not None}
    raw_point = with_changes(prev_raw, clean, name=label, build=False)
    for key, value in changes.items():
        if value is None:
            raw_point = _drop(raw_point, key)
    return raw_point


def _drop(sf: StackFile, dotted: str) -> StackFile:
    raw = sf.to_dict()
    section, key = dotted.split(".", 1)
    raw.get(section, {}).pop(key, None)
    from hundredx.stackfile import parse_stack

    return parse_stack(raw, "<changed>", build=False)


def _same_layers(x: StackFile, y: StackFile) -> bool:
    return all(_raw(x, n) == _raw(y, n) for n in ("model", "kernel", "chip"))


def waterfall(a: StackFile, b: StackFile, evaluate: Callable[[StackFile], Any],
              steps: Sequence[Any] | None = None) -> list[dict]:
    """Rows {label, factor, cumulative, value, feasible, reason, adjustments}; factors multiply to B/A."""
    steps = list(auto_steps(a, b) if steps is None else steps)
    points: list[tuple[str, Any]] = [("A: " + a.name, a)]
    prev = a
    for step in steps:
        if isinstance(step, StackFile):
            label, prev = step.name, step
        else:
            label, changes = step if isinstance(step, tuple) else (", ".join(f"{k}={v}" for k, v in step.items()), step)
            try:
                prev = _apply(prev, changes, label)
            except InputError as exc:
                points.append((label, exc))
                continue
        points.append((label, prev))
    if len(points) > 1 and isinstance(points[-1][1], StackFile) and _same_layers(points[-1][1], b):
        points[-1] = (points[-1][0] + " (= B)", b)
    else:
        points.append(("B: " + b.name, b))
    return _rows(points, a, b, evaluate)


def _rows(points, a, b, evaluate) -> list[dict]:
    rows, pending, base = [], [], None
    for i, (label, point) in enumerate(points):
        reason, ev, adjustments = None, None, []
        if isinstance(point, Exception):
            reason = str(point)
        else:
            try:
                if i in (0, len(points) - 1):
                    sf = point if i == 0 else compose({"model": b, "kernel": b, "chip": b}, workload_from=a,
                                                      adjust=False, name=b.name)
                else:
                    sf = compose({"model": point, "kernel": point, "chip": point}, workload_from=a, adjust=True,
                                 name=label)
                adjustments = list(sf.scenario.adjustments)
                ev = evaluate(sf)
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
                     "cumulative": ev.goodness / base, "value": ev.value, "batch": ev.batch, "adjustments": adjustments})
        last = ev.goodness
    return rows
