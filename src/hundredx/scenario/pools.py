"""Build the two pools of a disaggregated deployment (`PoolSpec`s) as runnable Scenarios.

A `PoolSpec` worker (kernel/runtime.py) of tp x attention_dp attention ranks and pp stages maps
onto hundredx's parallel degrees as follows:

  attention_dp = 1   tp = pool.tp, ep = moe_ep (moe_tp = tp / moe_ep)
  attention_dp > 1   tp = pool.tp x attention_dp with attention-DP (each rank its own sequences),
                     ep = moe_ep (moe_tp = tp x attention_dp / moe_ep); when pool.tp > 1 too the
                     hybrid (attention heads split over tp inside each DP group) is priced as
                     attention-DP over all tp x attention_dp ranks and listed as a fallback
  workers            the pool's dp (replicas), each pool on its own chip (`pool.chip`, else the stack's)

Batch per worker: `max_batch` when given; else the prefill pool runs its chunked-prefill budget
(SchedulerSpec.max_batched_tokens tokens) per step, ceil(budget / isl) prompts per attention rank
(TensorRT-LLM's max_num_tokens is per rank under attention-DP); the decode pool
under a closed-loop concurrency N carries min(max_batch, ceil(N / workers)) sequences, else its
max_batch, else the largest batch whose KV cache fits (scenario/memory.max_batch, cap 2048); no batch
is above what fits (the engine's KV cache caps its running sequences).
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np

from hundredx.errors import InputError
from hundredx.kernel.runtime import PoolSpec
from hundredx.scenario.build import Scenario, build
from hundredx.scenario.workload import Workload

MAX_BATCH_CAP = 2048


def kv_link(system, prefill_devices, decode_devices, system_d=None):
    """(bytes/s per device, latency, inside the scale-up domain) of the KV link between the pools: the scale-up
    links when both pools share one chip and fit in one scale-up domain, else the scale-out (RDMA) network
    (the slower side's NIC when the decode pool runs on another chip, `system_d`)."""
    if system_d is not None and system_d.chip.id != system.chip.id:
        bw = min(system.scaleout_bytes_per_s, system_d.scaleout_bytes_per_s)
        return bw, max(system.scaleout_latency_s, system_d.scaleout_latency_s), np.asarray(False)
    inside = np.add(prefill_devices, decode_devices) <= system.scaleup_domain
    bw = np.where(inside, system.scaleup_bytes_per_s, system.scaleout_bytes_per_s)
    return bw, np.where(inside, system.scaleup_latency_s, system.scaleout_latency_s), inside


def pool_degrees(pool: PoolSpec) -> tuple[dict, list[str]]:
    """(scenario.build parallel arguments, fallbacks) of one pool (module docstring)."""
    group = pool.tp * pool.attention_dp
    args: dict[str, Any] = dict(tp=group, pp=pool.pp, ep=pool.expert_parallel, attention_dp=pool.attention_dp > 1,
                                devices=pool.devices)
    notes = []
    if pool.attention_dp > 1 and pool.tp > 1:
        notes.append(f"attention tp {pool.tp} x dp {pool.attention_dp}: priced as attention-DP over {group} ranks "
                     f"(each rank all heads of its own sequences)")
    return args, notes


def _fit(scn: Scenario, role: str, isl: int, osl: int) -> int:
    """The largest batch per worker whose KV cache fits (scenario/memory.max_batch); InputError when none does."""
    from hundredx.scenario.memory import max_batch

    fit = max_batch(scn.stack, isl, 1 if role == "prefill" else osl, cap=MAX_BATCH_CAP)
    if fit < 1:
        raise InputError(f"disaggregation.{role}", scn.runtime.tp, "no sequence fits in memory at these lengths")
    return fit


def _decode_batch(scn: Scenario, pool: PoolSpec, isl: int, osl: int, concurrency: int | None) -> int:
    """min(max_batch, ceil(N / workers)) under a closed loop, else max_batch, never above what fits (the
    engine's KV cache caps its running sequences)."""
    fit = _fit(scn, "decode", isl, osl)
    want = math.ceil(concurrency / pool.workers) if concurrency else (pool.max_batch or fit)
    return max(min(want, pool.max_batch or want, fit), 1)


def build_pool(model: Any, chip: Any, pool: PoolSpec, role: str, isl: int, osl: int,
               concurrency: int | None = None, **knobs: Any) -> tuple[Scenario, list[str]]:
    """(Scenario of one pool with its batch per worker, fallbacks); InputError fields prefixed by the role."""
    args, notes = pool_degrees(pool)
    shared = {k: v for k, v in knobs.items() if v is not None}
    if role == "prefill":
        shared.pop("speculative", None)
    try:
        scn = build(model, pool.chip or chip, workload=Workload(isl=isl, osl=1 if role == "prefill" else osl),
                    source=f"disaggregated {role} pool", **args, **shared)
    except InputError as exc:
        raise InputError(f"disaggregation.{role}.{exc.field}", exc.value, exc.why) from None
    if role == "prefill":
        budget = scn.runtime.scheduler.max_batched_tokens
        per_rank = max(math.ceil(budget / max(isl, 1)), 1)  # under attention-DP each rank has its own budget
        batch = min(pool.max_batch or per_rank * pool.attention_dp, _fit(scn, role, isl, osl))
    else:
        batch = _decode_batch(scn, pool, isl, osl, concurrency)
    return replace(scn, workload=replace(scn.workload, batch=batch)), notes


__all__ = ["build_pool", "kv_link", "pool_degrees"]
