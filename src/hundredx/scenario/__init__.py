"""Scenario: the one place that builds, validates and adjusts a runnable stack.

`Stack` (model x runtime x system, checked by the parallelism rules of `rules`), `Workload`
(what the clients send), `Scenario` (a stack, its workload and how the operating point is
chosen), `build` (ids or specs in, a runnable Scenario out), `compose` / `with_changes`
(layer swaps and field changes on specs) and `memory` (weights, KV, activations per device
and the fit check). The CLI, stack files, predict_many, serve, decompose, claims, validate and
search all build their stacks here.
"""

from hundredx.scenario.build import Scenario, build, resolve_model, resolve_system
from hundredx.scenario.compose import compose, with_changes
from hundredx.scenario.stack import Stack
from hundredx.scenario.workload import LengthDist, Workload

__all__ = ["LengthDist", "Scenario", "Stack", "Workload", "build", "compose", "resolve_model", "resolve_system",
           "with_changes"]
