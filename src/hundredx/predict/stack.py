"""`Stack` (model x kernel x chip) and `Workload`: what a prediction is asked about."""

from __future__ import annotations

from dataclasses import dataclass, replace

from hundredx.chip.spec import SystemSpec
from hundredx.errors import InputError
from hundredx.kernel.runtime import RuntimeSpec
from hundredx.model.spec import ModelSpec


@dataclass(frozen=True, slots=True)
class Workload:
    """Request shape. `batch` = sequences in flight on one model replica (tp*pp*cp devices)."""

    isl: int = 1024
    osl: int = 128
    batch: int = 1
    ttft_limit_s: float = 0.0
    tpot_limit_s: float = 0.0

    def __post_init__(self) -> None:
        for name in ("isl", "osl", "batch"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise InputError(name, value, "must be an integer >= 1")
        for name in ("ttft_limit_s", "tpot_limit_s"):
            if getattr(self, name) < 0:
                raise InputError(name, getattr(self, name), "must be >= 0 (0 = no limit)")


@dataclass(frozen=True, slots=True)
class Stack:
    """One model on one system run one way. Checks that the parallelism fits the system."""

    model: ModelSpec
    system: SystemSpec
    runtime: RuntimeSpec = RuntimeSpec()

    def __post_init__(self) -> None:
        rt = self.runtime
        if self.system.max_devices and rt.devices > self.system.max_devices:
            raise InputError("devices", rt.devices, f"{self.system.id} has at most {self.system.max_devices} devices")
        moe = getattr(self.model, "moe", None)
        if rt.ep > 1:
            if moe is None:
                raise InputError("ep", rt.ep, f"{self.model.id} is dense: expert parallelism needs an MoE model")
            if rt.ep > moe.num_experts:
                raise InputError("ep", rt.ep, f"more ranks than the {moe.num_experts} experts of {self.model.id}")
            if rt.ep > rt.tp * rt.dp:
                raise InputError("ep", rt.ep, f"must be <= tp*dp = {rt.tp * rt.dp}")
        heads = self.model.num_heads
        if not rt.attention_dp and heads % rt.tp:
            raise InputError("tp", rt.tp, f"must divide the {heads} attention heads of {self.model.id}")
        if rt.pp > self.model.num_layers:
            raise InputError("pp", rt.pp, f"more stages than the {self.model.num_layers} layers of {self.model.id}")

    @property
    def chip(self):
        return self.system.chip

    def with_runtime(self, **changes) -> "Stack":
        return replace(self, runtime=replace(self.runtime, **changes))
