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
routing_skew; a grouped GEMM with an explicit per-expert token list is priced on its own.
"""

from __future__ import annotations

import numpy as np

from hundredx.kernel.attention import attention_time
from hundredx.kernel.gemm import gemm_time, resolve_compute
from hundredx.kernel.grouped_gemm import grouped_gemm_time
from hundredx.kernel.memory import memory_time
from hundredx.kernel.params import KernelTime, combine
from hundredx.kernel.roofline import sol_time
from hundredx.model.ops import Op

_ROUTING = {"uniform": "uniform", "random": "random", "skewed": "skewed", "tile_rounded": "tile_rounded"}


def stack(values: list, shape: tuple) -> np.ndarray:
    """G per-op values (scalars or arrays broadcasting to `shape`) as a (G, *shape) float array, or
    (G, 1, ..., 1) when every value is a scalar (a field constant over the configurations stays small)."""
    try:
        arr = np.array(values, dtype=float)  # all scalars, or arrays of one shape
    except ValueError:  # scalars mixed with arrays, or arrays of different shapes
        return np.stack([np.broadcast_to(np.asarray(v, dtype=float), shape) for v in values])
    missing = len(shape) + 1 - arr.ndim  # leading unit axes so (G, *s) broadcasts against (G, *shape)
    return arr.reshape((len(values),) + (1,) * missing + arr.shape[1:]) if missing else arr


def mem_op_name(op: Op) -> str:
    """The memory-model op an op runs as: rmsnorm (any norm), gather (embedding), else copy."""
    if "norm" in str(op.attrs.get("op", op.name)).lower():
        return "rmsnorm"
    return "gather" if op.kind == "embedding" else "copy"


def _is_fused(op: Op, runtime) -> bool:
    return bool(op.attrs.get("fusable")) and runtime.fused and op.kind == "memory"


def group_key(op: Op, runtime, position: int) -> tuple:
    """Ops with equal keys are priced by one call of their kind's model."""
    if op.kind == "gemm":
        return ("gemm", op.compute)
    if op.kind in ("memory", "embedding", "router"):
        return ("memory",)  # op name and fusion are per-row arguments of memory_time
    if op.kind == "attention":
        a = op.attrs
        return ("attention", op.compute == "fp8", a.get("variant", "gqa"), a.get("window") or None,
                a.get("sparse_topk") or None, a.get("head_dim_v") is None,
                not a.get("kv_bytes_per_token_layer"))
    if op.kind == "recurrent":
        return ("recurrent", op.compute)
    groups = op.attrs.get("groups")
    if isinstance(groups, (int, float)) and not isinstance(op.attrs.get("tokens_per_group"), (list, tuple)):
        return ("grouped_gemm", op.compute, float(groups))  # same experts per rank: one call for all
    return (op.kind, position)  # explicit per-expert counts or per-configuration expert counts: alone


def _gemm(ops, shape, chip, params, runtime):
    m, n, k = stack([o.m for o in ops], shape), stack([o.n for o in ops], shape), stack([o.k for o in ops], shape)
    t = gemm_time(m, n, k, chip, params, ops[0].compute, runtime.gemm_library,
                  bytes_total=stack([o.bytes_total for o in ops], shape), check=False)
    return t, t.parts["notes"], [""] * len(ops)


def _grouped(ops, shape, chip, params, runtime):
    lib = "deepgemm" if runtime.gemm_library in ("auto", "deepgemm") else "torch_grouped_mm"
    dist = _ROUTING[runtime.moe_routing] if runtime.routing_skew == 0 else "skewed"
    first = ops[0].attrs
    tpg = first.get("tokens_per_group")
    explicit = tpg if isinstance(tpg, (list, tuple)) else None  # then the group is this one op
    if explicit:
        k, n, tokens = ops[0].k, ops[0].n, None
    else:
        k, n = stack([o.k for o in ops], shape), stack([o.n for o in ops], shape)
        tokens = stack([o.attrs.get("tokens_total", o.m) for o in ops], shape)
    t = grouped_gemm_time(chip, params, k, n, explicit, first.get("groups"), tokens, dist, lib, ops[0].compute,
                          runtime.routing_skew)
    return t, t.parts["notes"], [""] * len(ops)


def _kernel_names(kernel, count: int) -> list[str]:
    if isinstance(kernel, str):
        return [kernel] * count
    return [",".join(sorted(set(np.ravel(kernel[i]).tolist()))) for i in range(count)]


def _attention(ops, shape, chip, params, runtime):
    first = ops[0].attrs
    attrs = [o.attrs for o in ops]
    a = {key: stack([x[key] for x in attrs], shape)
         for key in ("batch", "seqlen_q", "seqlen_kv", "heads_q", "heads_kv", "head_dim")}
    dv = None if first.get("head_dim_v") is None else stack([x["head_dim_v"] for x in attrs], shape)
    kvb = stack([x["kv_bytes_per_token_layer"] for x in attrs], shape) if first.get("kv_bytes_per_token_layer") \
        else None
    causal = np.array([bool(x.get("causal", False)) for x in attrs]).reshape((-1,) + (1,) * len(shape))
    t = attention_time(chip, params, a["batch"], a["seqlen_q"], a["seqlen_kv"], a["heads_q"], a["heads_kv"],
                       a["head_dim"], dv, causal, runtime.attention_kernel,
                       "fp8" if ops[0].compute == "fp8" else "bf16", None, kvb, first.get("variant", "gqa"),
                       first.get("window") or None, first.get("sparse_topk") or None, check=False)
    flops, nbytes = stack([o.flops for o in ops], shape), stack([o.bytes_total for o in ops], shape)
    c = t.compute_s * flops / np.maximum(t.flops, 1.0)
    m = t.memory_s * nbytes / np.maximum(t.bytes, 1.0)
    time_s = combine(c, m, params["gemm.overlap_p"]) + t.latency_s
    sol = sol_time(flops, nbytes, chip.peak(t.parts["compute_class"]), chip.mem_bytes_per_s)
    kt = KernelTime(time_s, c, m, t.latency_s, sol, flops, nbytes, t.parts, t.unsupported)
    return kt, t.parts["notes"], _kernel_names(t.parts["kernel"], len(ops))


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
