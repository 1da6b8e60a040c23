"""`Stack`: one model on one system, run one way (model x kernel x chip), checked by the rules.

The three layers' specs joined: a `ModelSpec` (model layer), a `RuntimeSpec` (kernel layer:
kernels, scheduler, parallelism) and a `SystemSpec` (chip layer, sized to its devices). Building
one checks every parallelism rule (scenario/rules.py); a what-if is `dataclasses.replace`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from hundredx.chip.spec import SystemSpec
from hundredx.kernel.runtime import RuntimeSpec
from hundredx.model.spec import ModelSpec
from hundredx.scenario import rules


@dataclass(frozen=True, slots=True)
class Stack:
    """One model on one system run one way. Raises InputError when the parallelism cannot run."""

    model: ModelSpec
    system: SystemSpec
    runtime: RuntimeSpec = RuntimeSpec()

    def __post_init__(self) -> None:
        rules.check(self.model, self.system, self.runtime)

    @property
    def chip(self):
        return self.system.chip

    def with_runtime(self, **changes) -> Stack:
        return replace(self, runtime=replace(self.runtime, **changes))
