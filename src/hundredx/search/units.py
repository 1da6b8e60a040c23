"""Work units of a search: one structure (model variant x chip variant x formats x kernel knobs) each.

A unit is what one executor call evaluates and one Parquet chunk stores: every deployment of
one model variant (search/whatif.py) on one chip variant with one weight format, KV format,
attention kernel, MoE routing policy and speculative-decoding setting. The list is the product
of those axes in a fixed order, so a unit's index names the same structure in every run of the
same space (resume relies on it). Model variants outside the parameter constraints are not
units; `units` returns why each was left out.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from hundredx.errors import InputError
from hundredx.kernel.runtime import SpeculativeSpec
from hundredx.scenario.build import resolve_model, resolve_system
from hundredx.search.space import NATIVE, Question, Space
from hundredx.search.whatif import chip_variant, model_variant, parameters


@dataclass(frozen=True, slots=True)
class Unit:
    """One structure of a search (module docstring); formats are names or NATIVE."""

    index: int
    model_changes: tuple[tuple[str, Any], ...]
    chip_changes: tuple[tuple[str, Any], ...]
    weights: str
    kv: str
    attention_kernel: str
    moe_routing: str
    speculative: SpeculativeSpec | None


@lru_cache(maxsize=16)
def base_specs(question: Question):
    """(ModelSpec, SystemSpec sized to the question's devices) of the question."""
    return resolve_model(question.model), resolve_system(question.chip, question.devices)


def _product(axes: tuple[tuple[str, tuple[Any, ...]], ...]) -> list[tuple[tuple[str, Any], ...]]:
    names = [k for k, _ in axes]
    return [tuple(zip(names, values)) for values in itertools.product(*(v for _, v in axes))]


def model_variants(question: Question, space: Space) -> tuple[list[tuple[tuple[str, Any], ...]], list[str]]:
    """(model changes of every variant inside the constraints, why the others were left out)."""
    spec, _ = base_specs(question)
    kept, skipped = [], []
    (t_lo, t_hi), (a_lo, a_hi) = space.total_params, space.active_params
    for changes in _product(space.model):
        variant = model_variant(spec, dict(changes))
        total, active = parameters(variant)
        if not (t_lo <= total <= t_hi and a_lo <= active <= a_hi):
            skipped.append(f"{variant.id}: {total / 1e9:.1f}B total / {active / 1e9:.1f}B active parameters, "
                           f"outside [{t_lo / 1e9:g}, {t_hi / 1e9:g}]B / [{a_lo / 1e9:g}, {a_hi / 1e9:g}]B")
            continue
        kept.append(changes)
    return kept, skipped


def units(question: Question, space: Space) -> tuple[list[Unit], list[str]]:
    """Every unit of the search, in order, and the model variants left out (module docstring)."""
    spec, system = base_specs(question)
    variants, skipped = model_variants(question, space)
    chips = _product(space.chip)
    for changes in chips:  # refuse a bad chip axis before any work
        chip_variant(system, dict(changes))
    d = space.deployment
    if spec.moe is None and len(d.moe_routing) > 1:
        d = replace(d, moe_routing=("uniform",))  # routing policies choose between experts
    out: list[Unit] = []
    for m, c, w, kv, attn, routing, sp in itertools.product(variants, chips, d.weights, d.kv, d.attention_kernel,
                                                             d.moe_routing, d.speculative):
        out.append(Unit(len(out), m, c, w, kv, attn, routing, sp))
    if not out:
        raise InputError("space", "model", "no model variant meets the parameter constraints: "
                         + "; ".join(skipped[:3]))
    return out, skipped


def unit_specs(question: Question, unit: Unit):
    """(ModelSpec with the unit's variant and formats, SystemSpec of its chip variant)."""
    return _specs(question, unit.model_changes, unit.chip_changes, unit.weights, unit.kv)


@lru_cache(maxsize=256)
def _specs(question: Question, model_changes, chip_changes, weights: str, kv: str):
    spec, system = base_specs(question)
    spec = model_variant(spec, dict(model_changes))
    w = None if weights == NATIVE else weights
    k = None if kv == NATIVE else kv
    return resolve_model(spec, weights=w, kv=k), _chip(question, chip_changes)


@lru_cache(maxsize=64)
def _chip(question: Question, chip_changes):
    return chip_variant(base_specs(question)[1], dict(chip_changes))


__all__ = ["Unit", "base_specs", "model_variants", "unit_specs", "units"]
