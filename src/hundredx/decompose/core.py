"""`decompose(a, b)`: where the gain of stack B over stack A comes from, layer by layer.

The 8 stacks that take each of {model, kernel, chip} from A or B are evaluated on A's
workload (metrics.evaluate); their goodness values feed log-space Shapley factors (they
multiply to the total exactly), one-at-a-time factors and the interaction (co-design
bonus > 1 / penalty < 1). See decompose.shapley for the formulas.

Layers are swapped on the specs (scenario.compose: the model's ModelSpec, the kernel layer's
RuntimeSpec, the chip layer's SystemSpec and devices). Combinations that cannot run as written
are first moved to the nearest runnable stack (scenario/adjust.py: attention kernel -> auto on
a chip without it, ep/tp to divisors, more tp/pp until one sequence fits), each move listed
under `adjustments`. A combination that still cannot run (memory, SLO missed at batch 1,
device limits) is re-planned: the kernel layer is a strategy, and the search finds the best
degrees for that model on that chip under the same SLO and device budget (decompose/replan.py;
`combinations[].replanned` says old -> new). Only when that fails too is it reported with its
reason; the Shapley factors are then *not computable* (each player's value uses all 8
coalitions) and are returned as null with the reason, while the one-at-a-time factors that do
not need it are still given. A (nothing from B) and B (everything from B) are
never adjusted: they run as written.

`intervals`: 80% intervals of the total, each Shapley and one-at-a-time factor and the
interaction, carried through from each combination's prediction interval
(decompose/uncertainty.py).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from hundredx.decompose.metrics import DEFAULT_METRIC, METRICS, Evaluation, Infeasible, evaluate, metric_name
from hundredx.decompose.shapley import coalitions, interaction, one_at_a_time, shapley_factors
from hundredx.decompose.uncertainty import factor_intervals
from hundredx.decompose.waterfall import waterfall
from hundredx.errors import InputError
from hundredx.scenario import Scenario, compose
from hundredx.scenario.compose import Layers
from hundredx.views import View

_PLAYERS = ("model", "kernel", "chip")


@dataclass(repr=False)
class Decomposition(View):
    metric: str
    direction: str
    unit: str
    a: dict
    b: dict
    total: float | None
    shapley: dict | None
    one_at_a_time: dict
    interaction: float | None
    waterfall: list[dict]
    mismatches: dict
    combinations: list[dict]
    notes: list[str] = field(default_factory=list)
    evaluations: dict = field(default_factory=dict, repr=False)
    intervals: dict = field(default_factory=dict)  # 80% intervals of the factors (decompose/uncertainty.py)

    def to_dict(self) -> dict:
        return {"metric": self.metric, "direction": self.direction, "unit": self.unit,
                "ratio_meaning": "B/A improvement: >1 means B is better" + (
                    " (for a lower-is-better metric: A's value / B's value)" if self.direction == "lower" else ""),
                "a": self.a, "b": self.b, "total": self.total, "shapley": self.shapley,
                "one_at_a_time": self.one_at_a_time, "interaction": self.interaction, "waterfall": self.waterfall,
                "mismatches": self.mismatches, "combinations": self.combinations, "notes": self.notes,
                "intervals": self.intervals}

    def _title(self) -> str:
        return f"{self.metric} ({self.unit}) of B/A: {self.b.get('name', 'B')} vs {self.a.get('name', 'A')}"

    def _summary(self) -> list[tuple[str, Any]]:
        out: list[tuple[str, Any]] = [("A", f"{self.a.get('name')}: {self.a.get('value')}"),
                                      ("B", f"{self.b.get('name')}: {self.b.get('value')}"), ("total B/A", self.total)]
        out += [(f"shapley {p}", (self.shapley or {}).get(p)) for p in _PLAYERS]
        out += [("interaction", self.interaction), ("waterfall steps", len(self.waterfall))]
        out += [(f"mismatch {k.upper()}", m.get("message")) for k in ("a", "b") for m in self.mismatches.get(k, [])][:6]
        return out

    def _rows(self) -> list[dict]:
        return [{"step": r.get("label"), "factor": r.get("factor"), "cumulative": r.get("cumulative"),
                 "note": r.get("reason") or "; ".join(r.get("adjustments", []))} for r in self.waterfall]


def _label(s: frozenset) -> str:
    return " ".join(f"{p}:{'B' if p in s else 'A'}" for p in _PLAYERS)


def _replan(a: Scenario, take: dict, s: frozenset, metric: str, why: str) -> tuple[Scenario, Evaluation, dict]:
    """The combination re-planned by the search (decompose/replan.py); InputError when that fails too."""
    from hundredx.decompose.replan import replan

    layers = Layers(take["model"].model, take["kernel"].runtime, take["chip"].system, take["chip"].devices,
                    a.workload, a.batch_auto, _label(s))
    try:
        scn, ev, info = replan(layers, lambda x: evaluate(x, metric), _label(s))
    except (InputError, Infeasible) as exc:
        raise Infeasible(f"{why}; re-planning by the search failed too: {exc}") from None
    info["reason"] = why
    return scn, cast(Evaluation, ev), info


REPLAN_MODES = (True, False, "all")
_BY_CHOICE = "re-planned by choice (replan='all'): every mixed combination runs the search's degrees"


def _combo(a: Scenario, b: Scenario, s: frozenset, metric: str, replan: bool | str = True
           ) -> tuple[dict, Evaluation | None]:
    row: dict[str, Any] = {"from_b": sorted(s, key=_PLAYERS.index), "label": _label(s), "adjustments": [],
                           "replanned": None}
    mixed = 0 < len(s) < len(_PLAYERS)
    take = {p: (b if p in s else a) for p in _PLAYERS}
    try:
        got = None
        if mixed and replan == "all":
            try:
                got = _replan(a, take, s, metric, _BY_CHOICE)
                scn, ev, row["replanned"] = got
            except Infeasible:
                got = None  # the literal degrees (adjusted) are tried next
        if got is None:
            try:
                scn = compose(take["model"], take["kernel"], take["chip"], workload_from=a, adjust=mixed,
                              name=_label(s))
                ev = evaluate(scn, metric)
            except (InputError, Infeasible) as exc:
                if not (mixed and replan is True):
                    raise
                scn, ev, row["replanned"] = _replan(a, take, s, metric, str(exc))
        row["adjustments"] = list(scn.adjustments)
        row["devices"] = scn.devices
        row["parallelism"] = {k: getattr(scn.runtime, k) for k in ("tp", "pp", "ep", "dp")}
    except (InputError, Infeasible) as exc:
        row.update(feasible=False, reason=str(exc), value=None)
        return row, None
    row.update(feasible=True, reason=None, value=ev.value, interval=ev.interval, goodness=ev.goodness, batch=ev.batch,
               limited_by=ev.limited_by, output_tokens_per_s_per_device=ev.tokens_per_s_per_device,
               tpot_s=ev.tpot_s, ttft_s=ev.ttft_s)
    return row, ev


def _describe(scn: Scenario, ev: Evaluation | None) -> dict:
    rt = scn.runtime
    out = {"name": scn.name, "path": scn.source, "model": scn.model.id, "system": scn.system.id,
           "chip": scn.chip.id, "devices": scn.devices, "tp": rt.tp, "pp": rt.pp, "ep": rt.ep, "dp": rt.dp,
           "weights": scn.model.quant.weight.name, "kv": scn.model.quant.kv.name,
           "attention_kernel": rt.attention_kernel}
    if ev is not None:
        out.update(ev.to_dict())
    return out


def _check_prices(a: Scenario, b: Scenario, metric: str) -> None:
    for scn in (a, b):
        if metric == "cost_per_million_tokens" and scn.chip.price_per_hour <= 0:
            raise InputError("chip.price_per_hour", scn.chip.price_per_hour,
                             f"{scn.chip.id} has no catalog price; set it in {scn.source or scn.name}")
        if metric == "energy_per_token_j" and scn.chip.tdp_w <= 0:
            raise InputError("chip.power_w", scn.chip.tdp_w,
                             f"{scn.chip.id} has no TDP; set it in {scn.source or scn.name}")


def decompose(a: Scenario, b: Scenario, metric: str = DEFAULT_METRIC, steps: Sequence[Any] | None = None,
              mismatches: bool = True, with_waterfall: bool = True, replan: bool | str = True) -> Decomposition:
    """Decompose the B/A ratio of `metric` into model, kernel and chip factors (module docstring).

    `replan`: True re-plans a mixed combination that cannot run; "all" re-plans every mixed
    combination (the kernel layer always a strategy); False never."""
    metric = metric_name(metric)
    if replan not in REPLAN_MODES:
        raise InputError("replan", replan, "must be true, false or 'all'")
    _check_prices(a, b, metric)
    values: dict[frozenset, float | None] = {}
    bounds: dict[frozenset, tuple[float, float] | None] = {}
    rows, evs = [], {}
    for s in coalitions(_PLAYERS):
        row, ev = _combo(a, b, s, metric, replan)
        rows.append(row)
        values[s] = ev.goodness if ev else None
        bounds[s] = ev.goodness_interval if ev else None
        evs[row["label"]] = ev
    full = frozenset(_PLAYERS)
    empty: frozenset[str] = frozenset()
    notes = []
    if (a.workload, a.batch_auto) != (b.workload, b.batch_auto):
        notes.append("B's workload section differs from A's; every combination (B included) runs on A's workload")
    v_full, v_empty = values[full], values[empty]
    total = v_full / v_empty if v_full and v_empty else None
    missing = [r for r in rows if not r["feasible"]]
    for r in rows:
        if r["replanned"]:
            info = r["replanned"]
            if info["reason"] != _BY_CHOICE:
                notes.append(f"{r['label']} re-planned by the search ({info['change']}): {info['reason']}")
    if replan == "all":
        notes.append(f"{_BY_CHOICE} ({sum(1 for r in rows if r['replanned'])} of 6); A and B run as written")
    if missing:
        shap = None
        notes.append("Shapley factors not computable: " + "; ".join(f"{r['label']}: {r['reason']}" for r in missing))
    else:
        shap = shapley_factors(cast(dict[frozenset, float], values), _PLAYERS)  # every coalition is feasible
    oat = one_at_a_time(values, _PLAYERS)
    inter = interaction(values, _PLAYERS)
    ev_a, ev_b = evs[_label(empty)], evs[_label(full)]

    falls = waterfall(a, b, lambda scn: evaluate(scn, metric), steps) if total is not None and with_waterfall else []
    found = {}
    if mismatches:
        from hundredx.decompose.mismatch import find_mismatches

        found = {"a": [m.to_dict() for m in find_mismatches(a, ev_a)],
                 "b": [m.to_dict() for m in find_mismatches(b, ev_b)]}
    direction, unit = METRICS[metric]
    intervals = factor_intervals(values, bounds, _PLAYERS)
    return Decomposition(metric, direction, unit, _describe(a, ev_a), _describe(b, ev_b), total, shap, oat, inter,
                         falls, found, rows, notes, {"a": ev_a, "b": ev_b}, intervals)


def check_product(d: Decomposition, tol: float = 1e-9) -> bool:
    """True when the Shapley factors and the waterfall factors each multiply to the total."""
    ok = True
    if d.shapley is not None and d.total is not None:
        ok &= math.isclose(math.prod(d.shapley.values()), d.total, rel_tol=tol)
    if d.waterfall and d.total is not None:
        prod = math.prod(r["factor"] for r in d.waterfall if r["factor"] is not None)
        ok &= math.isclose(prod, d.total, rel_tol=tol)
    return ok
