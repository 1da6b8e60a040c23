"""Build a simulator `Deployment` from a predict `Stack`: the bridge between the two.

Step costs come from `predict.step.StackStepCost` (merged continuous-batching steps of
the op graph), cached by `MemoStepCost` on buckets of BUCKET_BITS (inputs rounded up by
< 2^-bits; on benchmarks/serve_speed.py bits 3 vs 5 changed throughput by 0.8%). Disaggregation: `prefill_devices:decode_devices`
split into pools of `tp*pp` devices per replica; the KV transfer runs over the scale-up
domain when both pools fit in it, else over the scale-out network, each device of a
replica sending its shard in parallel. Speculative decoding: MTP drafts cost one decoder
layer of the target per draft token (the MTP module is one layer); a draft model costs its
own forward. Cost and energy use the chip's catalog price and TDP.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from hundredx.errors import InputError
from hundredx.predict import Stack
from hundredx.predict.step import StackStepCost
from hundredx.serve.deploy import Deployment, EngineConfig, KVTransfer, Pool, Speculative
from hundredx.serve.stepcost import MemoStepCost


@dataclass
class ScaledStepCost:
    """A StepCost scaled by a constant (one MTP layer = 1/L of a target decode step)."""

    inner: object
    factor: float

    @property
    def kv_bytes_per_token(self) -> float:
        return self.inner.kv_bytes_per_token

    @property
    def kv_capacity_bytes(self) -> float:
        return self.inner.kv_capacity_bytes

    def step_time_s(self, *args) -> float:
        return self.factor * self.inner.step_time_s(*args)


BUCKET_BITS = 3  # step inputs rounded up to 8 buckets per doubling (< 12.5% each); see docs/serving.md


def _pool(stack: Stack, replicas: int, engine: EngineConfig, bits: int = BUCKET_BITS) -> Pool:
    rt = stack.runtime
    cost = MemoStepCost(StackStepCost(stack), bits=bits)
    return Pool(cost, replicas=replicas, devices_per_replica=rt.tp * rt.pp * rt.cp, engine=engine)


def _speculative(stack: Stack, draft_model=None) -> Speculative | None:
    spec = stack.runtime.speculative
    if spec is None:
        return None
    if spec.method == "mtp" or draft_model is None:
        base = MemoStepCost(StackStepCost(replace(stack, runtime=replace(stack.runtime, speculative=None))))
        draft = ScaledStepCost(base, 1.0 / max(stack.model.num_layers, 1))
    else:
        draft = MemoStepCost(StackStepCost(Stack(draft_model, stack.system, replace(stack.runtime, speculative=None))))
    return Speculative(draft_tokens=spec.draft_tokens, acceptance=spec.acceptance, draft_step_cost=draft)


def deployment_from_stack(stack: Stack, engine: EngineConfig = EngineConfig(), disagg: tuple[int, int] | None = None,
                          draft_model=None, bits: int = BUCKET_BITS) -> Deployment:
    """Aggregated (dp replicas) or prefill/decode-disaggregated deployment of `stack`."""
    rt, system = stack.runtime, stack.system
    per_replica = rt.tp * rt.pp * rt.cp
    chip = system.chip
    plain = replace(stack, runtime=replace(rt, speculative=None, dp=1))
    spec = _speculative(stack, draft_model)
    prices = {"device_hour_usd": chip.price_per_hour, "device_power_w": chip.tdp_w}
    if disagg is None:
        return Deployment(_pool(plain, rt.dp, engine, bits), speculative=spec, **prices)
    p_dev, d_dev = disagg
    for name, n in (("disagg.prefill_devices", p_dev), ("disagg.decode_devices", d_dev)):
        if n < per_replica or n % per_replica:
            raise InputError(name, n, f"must be a positive multiple of tp*pp*cp = {per_replica}")
    inside = p_dev + d_dev <= system.scaleup_domain
    link = (system.scaleup_bytes_per_s if inside else system.scaleout_bytes_per_s) * per_replica
    latency = system.scaleup_latency_s if inside else system.scaleout_latency_s
    return Deployment(_pool(plain, d_dev // per_replica, engine, bits),
                      prefill=_pool(plain, p_dev // per_replica, engine, bits),
                      transfer=KVTransfer(link, latency), speculative=spec, **prices)
