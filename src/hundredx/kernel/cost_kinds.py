"""Per-kind adapters from a GROUP of (sharded) ops to one call of the efficiency model.

cost.py groups the ops of a forward pass by `group_key` (kind plus the scalar arguments the
model takes: compute class, memory-op name, fusion, attention variant/window/top-k) and hands
each group here with its fields stacked as (G, *config_shape) arrays, so a forward pass costs
a handful of vectorized model calls instead of one per op. Each adapter returns
(KernelTime over the group, fallback note, kernel name per op).

The op's own FLOPs and bytes (the model layer's accounting: sparse, windowed, compressed
attention, quantized weights) are authoritative; the models supply the efficiencies, so for
attention the model's compute and memory times are rescaled by op.flops / model FLOPs and
op.bytes / model bytes. Routing for grouped GEMMs comes from runtime.moe_routing /
routing_skew; grouped GEMMs whose local expert counts vary over the configurations (an ep per
configuration) are priced together where those counts are equal.
"""

from __future__ import annotations

from typing import cast

import numpy as np

from hundredx.kernel.attention import attention_time
from hundredx.kernel.gemm import gemm_time, resolve_compute
from hundredx.kernel.grouped_gemm import grouped_gemm_time
from hundredx.kernel.memory import memory_time
from hundredx.kernel.params import KernelTime, combine
from hundredx.kernel.platforms import grouped_library
from hundredx.kernel.roofline import sol_time
from hundredx.model.ops import AttentionShape, ExpertGemmShape, MemoryShape, Op

_ROUTING = {"uniform": "uniform", "random": "random", "skewed": "skewed", "tile_rounded": "tile_rounded"}


def stack(values: list, shape: tuple) -> np.ndarray:
    """G per-op values (scalars or arrays broadcasting to `shape`) as a (G, *shape) float array, or
    (G, 1, ..., 1) when every value is a scalar (a field constant over the configurations stays small)."""
    try:
        arr = np.array(values, dtype=float)  # all scalars, or arrays of one shape
    except ValueError:  # scalars mixed with arrays, or arrays of different shapes: each broadcast into its row
        out = np.empty((len(values),) + tuple(shape))
        for i, v in enumerate(values):
            out[i] = v
        return out
    missing = len(shape) + 1 - arr.ndim  # leading unit axes so (G, *s) broadcasts against (G, *shape)
    return arr.reshape((len(values),) + (1,) * missing + arr.shape[1:]) if missing else arr


def mem_op_name(op: Op) -> str:
    """The memory-model op an op runs as: rmsnorm (any norm), gather (embedding), else copy."""
    if "norm" in op.name.lower():
        return "rmsnorm"
    return "gather" if op.kind == "embedding" else "copy"


def _is_fused(op: Op, runtime) -> bool:
    return op.kind == "memory" and cast(MemoryShape, op.shape).fusable and runtime.fused


def group_key(op: Op, runtime, position: int) -> tuple:
    """Ops with equal keys are priced by one call of their kind's model."""
    if op.kind == "gemm":
        return ("gemm", op.compute)
    if op.kind in ("memory", "embedding", "router"):
        return ("memory",)  # op name and fusion are per-row arguments of memory_time
    if op.kind == "attention":
        a = cast(AttentionShape, op.shape)
        return ("attention", op.compute == "fp8", a.variant, a.window or None, a.sparse_topk or None,
                not a.kv_bytes_per_token_layer)
    if op.kind == "recurrent":
        return ("recurrent", op.compute)
    groups = cast(ExpertGemmShape, op.shape).groups  # the one kind left: grouped_gemm
    if isinstance(groups, (int, float)):
        return ("grouped_gemm", op.compute, float(groups))  # same experts per rank: one call for all
    g = np.asarray(groups, dtype=float)  # per-configuration expert counts (an ep per configuration): equal ones
    return ("grouped_gemm", op.compute, g.shape, g.tobytes())


def _gemm(ops, shape, chip, params, runtime):
    m, n, k = (stack([getattr(o.shape, dim) for o in ops], shape) for dim in ("m", "n", "k"))
    t = gemm_time(m, n, k, chip, params, ops[0].compute, runtime.gemm_library,
                  bytes_total=stack([o.bytes_total for o in ops], shape), check=False)
    return t, t.parts["notes"], [""] * len(ops)


def _grouped(ops, shape, chip, params, runtime):
    lib = grouped_library(chip) if runtime.gemm_library == "auto" else (
        "deepgemm" if runtime.gemm_library == "deepgemm" else "torch_grouped_mm")
    dist = _ROUTING[runtime.moe_routing] if runtime.routing_skew == 0 else "skewed"
    k, n, tokens = (stack([getattr(o.shape, f) for o in ops], shape) for f in ("k", "n", "tokens_total"))
    t = grouped_gemm_time(chip, params, k, n, None, ops[0].shape.groups, tokens, dist, lib, ops[0].compute,
                          runtime.routing_skew)
    return t, t.parts["notes"], [""] * len(ops)


def _kernel_names(kernel, count: int) -> list[str]:
    if isinstance(kernel, str):
        return [kernel] * count
    return [",".join(sorted(set(np.ravel(kernel[i]).tolist()))) for i in range(count)]


def _attention(ops, shape, chip, params, runtime):
    first = ops[0].shape
    shapes = [o.shape for o in ops]
    a = {key: stack([getattr(x, key) for x in shapes], shape)
         for key in ("batch", "seqlen_q", "seqlen_kv", "heads_q", "heads_kv", "head_dim", "head_dim_v")}
    kvb = stack([x.kv_bytes_per_token_layer for x in shapes], shape) if first.kv_bytes_per_token_layer else None
    causal = np.array([x.causal for x in shapes], dtype=bool).reshape((-1,) + (1,) * len(shape))
    t = attention_time(chip, params, a["batch"], a["seqlen_q"], a["seqlen_kv"], a["heads_q"], a["heads_kv"],
                       a["head_dim"], a["head_dim_v"], causal, runtime.attention_kernel,
                       "fp8" if ops[0].compute == "fp8" else "bf16", None, kvb, first.variant,
                       first.window or None, first.sparse_topk or None, check=False)
    flops, nbytes = stack([o.flops for o in ops], shape), stack([o.bytes_total for o in ops], shape)
    c = t.compute_s * flops / np.maximum(t.flops, 1.0)
    m = t.memory_s * nbytes / np.maximum(t.bytes, 1.0)
    time_s = combine(c, m, params["gemm.overlap_p"]) + t.latency_s
    sol = sol_time(flops, nbytes, chip.peak(t.parts["compute_class"]), chip.mem_bytes_per_s)
    kt = KernelTime(time_s, c, m, t.latency_s, sol, flops, nbytes, t.parts, t.unsupported)
    # a named kernel the chip lacks is priced with what it has: a flagged fallback, never silent
    unsupported = str(np.asarray(t.unsupported).ravel()[0]) if np.size(t.unsupported) else ""
    note = "; ".join(x for x in (t.parts["notes"], unsupported and f"{unsupported}; priced as the fastest of those")
                     if x)
    return kt, note, _kernel_names(t.parts["kernel"], len(ops))


def _recurrent(ops, shape, chip, params, runtime):
    compute = ops[0].compute
    cls, fallback = resolve_compute(compute if compute in ("bf16", "fp16") else "bf16", chip)
    peak, bw = chip.peak(cls), chip.mem_bytes_per_s
    flops, nbytes = stack([o.flops for o in ops], shape), stack([o.bytes_total for o in ops], shape)
    c = flops / (peak * params["recurrent.eff"])
    m = nbytes / (bw * params["mem.eff"])
    lat = np.full(np.broadcast(c, m).shape, params["gemm.latency_s"])
    t = KernelTime(combine(c, m, params["gemm.overlap_p"]) + lat, c, m, lat, sol_time(flops, nbytes, peak, bw),
                   flops, nbytes)
    return t, fallback, [""] * len(ops)


def _memory(ops, shape, chip, params, runtime):
    t = memory_time(stack([o.bytes_total for o in ops], shape), chip, params, [mem_op_name(o) for o in ops],
                    [_is_fused(o, runtime) for o in ops], stack([o.flops for o in ops], shape), check=False)
    return t, "", [""] * len(ops)


PRICERS = {"gemm": _gemm, "grouped_gemm": _grouped, "attention": _attention, "memory": _memory,
           "embedding": _memory, "router": _memory, "recurrent": _recurrent}
