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
from hundredx.predict.step import ATTENTION_SIDE, FFN_SIDE, StackStepCost
from hundredx.serve.deploy import AFDStepCost, Deployment, EngineConfig, KVTransfer, Pool, Speculative
from hundredx.serve.stepcost import MemoStepCost, WrapsStepCost


@dataclass
class ScaledStepCost(WrapsStepCost):
    """A StepCost scaled by a constant (one MTP layer = 1/L of a target decode step)."""

    inner: object
    factor: float

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
    plain = replace(stack.runtime, speculative=None, dp=1, pp=1, cp=1)
    attn = Stack(model, system, replace(plain, tp=attention_devices, ep=1))
    moe = model.moe is not None
    ffn = Stack(model, system, replace(plain, tp=ffn_devices, ep=ffn_devices if moe else 1, attention_dp=True))
    inside = attention_devices + ffn_devices <= system.scaleup_domain
    link = (system.scaleup_bytes_per_s if inside else system.scaleout_bytes_per_s) * min(attention_devices, ffn_devices)
    latency = system.scaleup_latency_s if inside else system.scaleout_latency_s
    return AFDStepCost(MemoStepCost(StackStepCost(attn, ATTENTION_SIDE), bits=bits),
                       MemoStepCost(StackStepCost(ffn, FFN_SIDE, host=False), bits=bits), model.num_layers,
                       model.hidden_size * model.quant.act.bytes_per_element, link, latency, micro_batches)


def deployment_from_stack(stack: Stack, engine: EngineConfig = EngineConfig(), disagg: tuple[int, int] | None = None,
                          draft_model=None, bits: int = BUCKET_BITS, afd: tuple[int, int] | None = None,
                          prefill_tp: int | None = None) -> Deployment:
    """Aggregated (dp replicas), prefill/decode-disaggregated (`disagg`, the prefill pool optionally
    with its own `prefill_tp`) or attention/FFN-disaggregated (`afd`, dp replicas of A+F devices)."""
    rt, system = stack.runtime, stack.system
    per_replica = rt.tp * rt.pp * rt.cp
    chip = system.chip
    plain = replace(stack, runtime=replace(rt, speculative=None, dp=1))
    spec = _speculative(stack, draft_model)
    prices = {"device_hour_usd": chip.price_per_hour, "device_power_w": chip.tdp_w}
    if afd is not None:
        cost = afd_step_cost(stack, afd[0], afd[1], bits)
        pool = Pool(cost, replicas=rt.dp, devices_per_replica=afd[0] + afd[1], engine=engine)
        return Deployment(pool, speculative=spec, **prices)
    if disagg is None:
        return Deployment(_pool(plain, rt.dp, engine, bits), speculative=spec, **prices)
    p_dev, d_dev = disagg
    pre = plain if prefill_tp is None else Stack(stack.model, system, replace(plain.runtime, tp=prefill_tp,
                                                                              ep=min(rt.ep, prefill_tp)))
    pre_replica = pre.runtime.tp * pre.runtime.pp * pre.runtime.cp
    for name, n, size in (("disagg.prefill_devices", p_dev, pre_replica), ("disagg.decode_devices", d_dev, per_replica)):
        if n < size or n % size:
            raise InputError(name, n, f"must be a positive multiple of the pool's tp*pp*cp = {size}")
    inside = p_dev + d_dev <= system.scaleup_domain
    link = (system.scaleup_bytes_per_s if inside else system.scaleout_bytes_per_s) * min(per_replica, pre_replica)
    latency = system.scaleup_latency_s if inside else system.scaleout_latency_s
    return Deployment(_pool(plain, d_dev // per_replica, engine, bits),
                      prefill=_pool(pre, p_dev // pre_replica, engine, bits),
                      transfer=KVTransfer(link, latency), speculative=spec, **prices)
