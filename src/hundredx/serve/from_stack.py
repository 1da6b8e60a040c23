"""Build a simulator `Deployment` from a `scenario.Stack`: the bridge between the two.

Step costs come from `predict.step.StackStepCost` (merged continuous-batching steps of
the op graph), cached by `MemoStepCost` on buckets of BUCKET_BITS (inputs rounded up by
< 2^-bits; on benchmarks/serve_speed.py bits 3 vs 5 changed throughput by 0.8%). Every
pool runs the stack's engine scheduler (`runtime.scheduler`). Disaggregation
(`runtime.disaggregation`): prefill_devices and decode_devices split into pools of `tp*pp*cp`
devices per replica (the prefill pool's tp is `prefill_tp` when given; full-form PoolSpecs give each pool its
own worker layout and the prefill pool its own chip); the KV transfer runs over scenario/pools.kv_link (the
scale-up domain when both pools share a chip and fit in it, else the scale-out network), each device of a
replica sending its shard in parallel. Speculative decoding: MTP drafts cost one decoder
layer of the target per draft token (the MTP module is one layer); a draft model costs its
own forward. Cost and energy use the chip's catalog price and TDP.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from hundredx.errors import InputError
from hundredx.predict.step import ATTENTION_SIDE, FFN_SIDE, StackStepCost
from hundredx.scenario.build import resolve_system
from hundredx.scenario.pools import kv_link, pool_degrees
from hundredx.scenario.stack import Stack
from hundredx.serve.deploy import AFDStepCost, Deployment, KVTransfer, Pool
from hundredx.serve.stepcost import MemoStepCost, StepCost, WrapsStepCost


@dataclass
class ScaledStepCost(WrapsStepCost):
    """A StepCost scaled by a constant (one MTP layer = 1/L of a target decode step)."""

    inner: StepCost
    factor: float

    def step_time_s(self, *args) -> float:
        return self.factor * self.inner.step_time_s(*args)


BUCKET_BITS = 3  # step inputs rounded up to 8 buckets per doubling (< 12.5% each); see docs/serving.md


def _pool(stack: Stack, replicas: int, bits: int = BUCKET_BITS) -> Pool:
    """One pool; with attention DP its replica pools the tp attention-DP ranks' schedulers (max_seqs and token
    budget per rank, predict/steady.schedulers)."""
    from hundredx.predict.steady import schedulers

    rt = stack.runtime
    cost = MemoStepCost(StackStepCost(stack), bits=bits)
    n = schedulers(stack)
    sched = rt.scheduler if n == 1 else replace(rt.scheduler, max_seqs=rt.scheduler.max_seqs * n,
                                                max_batched_tokens=rt.scheduler.max_batched_tokens * n)
    return Pool(cost, replicas=replicas, devices_per_replica=rt.replica_devices, scheduler=sched)


def _draft_cost(stack: Stack, draft_model=None):
    """The draft's step cost: one decoder layer of the target per MTP draft token, or a draft model."""
    spec = stack.runtime.speculative
    if spec is None:
        return None
    plain = replace(stack.runtime, speculative=None, disaggregation=None)
    if spec.method == "mtp" or draft_model is None:
        base = MemoStepCost(StackStepCost(replace(stack, runtime=plain)))
        return ScaledStepCost(base, 1.0 / max(stack.model.num_layers, 1))
    return MemoStepCost(StackStepCost(Stack(draft_model, stack.system, plain)))


def afd_step_cost(stack: Stack, attention_devices: int, ffn_devices: int, bits: int = BUCKET_BITS,
                  micro_batches: int = 2) -> AFDStepCost:
    """Attention/FFN disaggregation: attention (and embedding, LM head) on `attention_devices` with
    tensor parallelism, the FFN/MoE layers on `ffn_devices` (experts spread over them), activations
    crossing between the two sides twice per layer over the scale-up link when both fit in the
    domain, else the scale-out network; micro-batches pipeline the two sides (MegaScale-Infer style)."""
    model, system = stack.model, stack.system
    for name, n in (("afd.attention_devices", attention_devices), ("afd.ffn_devices", ffn_devices)):
        if n < 1:
            raise InputError(name, n, "must be >= 1")
    plain = replace(stack.runtime, speculative=None, disaggregation=None, dp=1, pp=1, cp=1)
    attn = Stack(model, system, replace(plain, tp=attention_devices, ep=1))
    moe = model.moe is not None
    ffn = Stack(model, system, replace(plain, tp=ffn_devices, ep=ffn_devices if moe else 1, attention_dp=True))
    inside = attention_devices + ffn_devices <= system.scaleup_domain
    link = (system.scaleup_bytes_per_s if inside else system.scaleout_bytes_per_s) * min(attention_devices, ffn_devices)
    latency = system.scaleup_latency_s if inside else system.scaleout_latency_s
    return AFDStepCost(MemoStepCost(StackStepCost(attn, ATTENTION_SIDE), bits=bits),
                       MemoStepCost(StackStepCost(ffn, FFN_SIDE, host=False), bits=bits), model.num_layers,
                       model.hidden_size * model.quant.act.bytes_per_element, link, latency, micro_batches)


def deployment_from_stack(stack: Stack, draft_model=None, bits: int = BUCKET_BITS,
                          afd: tuple[int, int] | None = None) -> Deployment:
    """Aggregated (dp replicas), prefill/decode-disaggregated (`runtime.disaggregation`) or
    attention/FFN-disaggregated (`afd`: attention and FFN devices per replica, dp replicas)."""
    rt, system = stack.runtime, stack.system
    chip = system.chip
    # each pool's replica cost: the step cost does not depend on dp, so the rules of the stack still hold
    plain = replace(stack, runtime=replace(rt, speculative=None, disaggregation=None))
    spec: dict[str, Any] = dict(speculative=rt.speculative, draft_step_cost=_draft_cost(stack, draft_model))
    prices: dict[str, Any] = {"device_hour_usd": chip.price_per_hour, "device_power_w": chip.tdp_w}
    if afd is not None:
        if rt.disaggregation is not None:
            raise InputError("afd", afd, "attention/FFN disaggregation and P/D disaggregation do not combine here")
        cost = afd_step_cost(stack, afd[0], afd[1], bits)
        pool = Pool(cost, replicas=rt.dp, devices_per_replica=afd[0] + afd[1], scheduler=rt.scheduler)
        return Deployment(pool, **spec, **prices)
    d = rt.disaggregation
    if d is None:
        return Deployment(_pool(plain, rt.dp, bits), **spec, **prices)
    pre = plain if d.prefill_tp is None else Stack(stack.model, system, replace(plain.runtime, tp=d.prefill_tp,
                                                                               ep=min(rt.ep, d.prefill_tp)))
    if d.prefill is not None:  # full form: the prefill pool's own worker layout (scenario/pools.py)
        args, _ = pool_degrees(d.prefill)
        pre_system = resolve_system(d.prefill.chip, d.prefill_devices) if d.prefill.chip else system
        pre = Stack(stack.model, pre_system, replace(plain.runtime, tp=args["tp"], pp=args["pp"], ep=args["ep"],
                                                     attention_dp=args["attention_dp"], cp=1))
    per_replica, pre_replica = rt.replica_devices, pre.runtime.replica_devices
    for name, n, size in (("disaggregation.prefill_devices", d.prefill_devices, pre_replica),
                          ("disaggregation.decode_devices", d.decode_devices, per_replica)):
        if n < size or n % size:
            raise InputError(name, n, f"must be a positive multiple of the pool's tp*pp*cp = {size}")
    bw, latency, _ = kv_link(pre.system, d.prefill_devices, d.decode_devices, system)
    link, latency = float(bw) * min(per_replica, pre_replica), float(latency)
    return Deployment(_pool(plain, d.decode_devices // per_replica, bits),
                      prefill=_pool(pre, d.prefill_devices // pre_replica, bits),
                      transfer=KVTransfer(link, latency), **spec, **prices)
