"""Memory per device: weights, KV cache, activations, free; and the fit check.

weights: expert weights split over ep x moe_tp x pp, the rest over tp x pp (attention
replicated across ranks under attention-DP). KV: batch x exact KV bytes per sequence at
isl + osl (model.kv_bytes), split over min(tp, KV heads) for MHA/GQA; an MLA latent cache
is replicated on every tp rank unless attention-DP gives each rank its own sequences;
context parallelism splits every sequence's KV over its cp ranks.
Activations: the largest step's working set, tokens x (4D + 2F/tp) x act bytes (estimate).
Usable memory is `USABLE_FRACTION` of capacity (CUDA context, NCCL buffers, allocator
and workspace take the rest).

`max_batch` sizes a paged KV cache the way engines do: blocks are allocated as sequences
grow, so in steady state the mean sequence holds isl + osl/2 tokens, not isl + osl; an engine
whose capacity scheduler reserves every admitted sequence's blocks to completion (TensorRT-LLM
GUARANTEED_NO_EVICT, `full_reserve`) fits isl + osl tokens a sequence. The KV room (`kv_room`) is the engine's
KV memory fraction of the memory left after weights and activations (TensorRT-LLM), or of the device's capacity
that weights, activations and the KV pool share (`of_total`: vLLM gpu_memory_utilization, SGLang
mem_fraction_static; kernel/engines/engines.yaml `kv_memory`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hundredx.arrays import ArrayLike
from hundredx.model import kv_bytes, weight_bytes_by_class
from hundredx.scenario.stack import Stack

USABLE_FRACTION = 0.95


@dataclass(frozen=True, slots=True)
class MemoryUse:
    weights_bytes: ArrayLike
    kv_bytes: ArrayLike
    activation_bytes: ArrayLike
    capacity_bytes: float

    @property
    def total_bytes(self):
        return np.add(np.add(self.weights_bytes, self.kv_bytes), self.activation_bytes)

    @property
    def free_bytes(self):
        return np.subtract(self.capacity_bytes * USABLE_FRACTION, self.total_bytes)

    @property
    def fits(self):
        return np.asarray(self.free_bytes) >= 0

    def to_dict(self) -> dict:
        return {"weights": float(np.max(self.weights_bytes)), "kv_cache": float(np.max(self.kv_bytes)),
                "activations": float(np.max(self.activation_bytes)), "total": float(np.max(self.total_bytes)),
                "capacity": self.capacity_bytes, "usable": self.capacity_bytes * USABLE_FRACTION,
                "free": float(np.min(self.free_bytes))}


def kv_split(stack: Stack, tp=None):
    """Over how many of a replica's tp ranks one sequence's KV cache is divided: all of them under
    attention-DP (each rank owns whole sequences) or while KV heads >= tp; min(tp, K) KV heads for
    GQA; 1 for an MLA latent cache, which every rank holds whole."""
    rt, model = stack.runtime, stack.model
    tp = rt.tp if tp is None else tp
    if rt.attention_dp:
        return tp
    if model.attention.kind == "mla":
        return 1.0
    return np.minimum(tp, max(model.num_kv_heads, 1))


def memory_use(stack: Stack, batch, isl, osl, tp=None, ep=None, pp=None) -> MemoryUse:
    model, rt = stack.model, stack.runtime
    tp = rt.tp if tp is None else tp
    ep = rt.ep if ep is None else ep
    pp = rt.pp if pp is None else pp
    by_class = weight_bytes_by_class(model)
    total_w = sum(by_class.values())
    experts = by_class.get("experts", 0.0)
    attn = by_class.get("attn", 0.0) if rt.attention_dp else 0.0
    rest = total_w - experts - attn
    moe_tp = np.maximum(np.divide(tp, ep), 1.0)
    weights = np.divide(np.divide(experts, np.multiply(ep, moe_tp)) + np.divide(rest, tp) + attn, pp)
    seq_kv = np.asarray(kv_bytes(model, np.add(isl, osl)), dtype=float)
    split = kv_split(stack, tp)
    kv = np.divide(np.multiply(batch, seq_kv), np.multiply(np.multiply(split, pp), rt.cp))
    tokens = np.minimum(np.divide(np.multiply(batch, isl), rt.cp), rt.scheduler.max_batched_tokens)
    moe = model.moe
    ffn = model.intermediate_size or (moe.expert_width * moe.top_k + moe.shared_total_width if moe
                                      else 4 * model.hidden_size)
    act = np.multiply(tokens, (4.0 * model.hidden_size + np.divide(2.0 * ffn, tp)) * model.quant.act.bytes_per_element)
    return MemoryUse(weights, kv, act, stack.chip.mem_bytes)


def kv_room(capacity: float, weights, activations, kv_fraction: float, of_total: bool = False):
    """Bytes an engine gives its KV pool (element-wise; <= 0 where nothing is left): `kv_fraction` of the memory
    left after weights and activations (TensorRT-LLM's free_gpu_memory_fraction), or with `of_total` the fraction of
    the device's capacity that weights, activations and the KV pool share (vLLM's gpu_memory_utilization: KV =
    utilization x total - weights - peak activations; SGLang's mem_fraction_static)."""
    if of_total:
        return np.subtract(np.subtract(capacity * kv_fraction, weights), activations)
    return np.multiply(np.subtract(np.subtract(capacity * USABLE_FRACTION, weights), activations), kv_fraction)


def max_batch(stack: Stack, isl: int, osl: int, kv_fraction: float = 0.9, cap: int = 4096, tp=None, ep=None,
              pp=None, full_reserve: bool = False, of_total: bool = False):
    """Largest batch per replica whose paged KV cache (mean isl + osl/2 tokens; isl + osl with `full_reserve`) fits in
    the engine's KV room (`kv_room`: `kv_fraction` of the memory left after weights and activations, TensorRT-LLM's
    kv_cache_free_gpu_mem_fraction semantics; of the capacity with `of_total`, vLLM / SGLang), capped. With arrays of
    tp / ep / pp (degrees in place of the stack's): an array of batches, one per element."""
    held = float(osl) if full_reserve else osl / 2.0
    if tp is not None or ep is not None or pp is not None:
        base = memory_use(stack, 1, isl, held, tp=tp, ep=ep, pp=pp)
        seq = np.asarray(base.kv_bytes, dtype=float)
        room = np.asarray(kv_room(stack.chip.mem_bytes, base.weights_bytes, base.activation_bytes, kv_fraction,
                                  of_total), dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            fit = np.where((room > 0) & (seq > 0), np.minimum(cap, room // seq), 0.0)
        return fit.astype(np.int64)
    base = memory_use(stack, 1, isl, held)
    per_seq = float(np.max(base.kv_bytes))
    left = float(kv_room(stack.chip.mem_bytes, float(np.max(base.weights_bytes)),
                         float(np.max(base.activation_bytes)), kv_fraction, of_total))
    if left <= 0 or per_seq <= 0:
        return 0
    return int(min(float(cap), left // per_seq))
