"""Cost of ONE op (already sharded to one device) on one chip: `op_cost(op, chip, runtime, params)`.

Preference order (DESIGN.md): (1) a measured calibration profile for the chip, interpolated
at the op's shape (cost_measured.py; source "measured: ..."), (2) the fitted parameters of
fitted/<chip>.json, (3) analytic defaults. Dispatch on op.kind to the efficiency models: gemm (gemm.py), grouped_gemm (grouped_gemm.py,
routing from runtime.moe_routing / routing_skew), attention (attention.py, kernel from
runtime.attention_kernel), memory / embedding / router (memory.py), recurrent (memory-bound
state update plus FLOPs at recurrent.eff of the 16-bit peak). The op's own FLOPs and bytes
(the model layer's accounting: sparse, windowed, compressed attention, quantized weights)
are authoritative; the models supply the efficiencies, so for attention the model's
compute and memory times are rescaled by op.flops / model FLOPs and op.bytes / model bytes.
Time is per instance; the caller multiplies by op.count.

Fusion: a memory op with attrs["fusable"] under runtime.fused runs inside its neighbouring
kernel: no launch of its own and only mem.fused_share of its bytes are still paid.
CUDA graphs: runtime.cuda_graphs cuts each kernel's fixed time to graph_kernel_s; without
graphs a kernel costs at least launch_s (host launch).
Formats: an op whose compute class the chip lacks (chip.peak(op.compute) == 0) runs on the
next wider class that exists (fp4 -> fp8 -> bf16); `fallback` records e.g. "fp4->fp8".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from hundredx.chip.spec import ChipSpec
from hundredx.errors import InputError
from hundredx.kernel.attention import attention_time
from hundredx.kernel.cost_measured import measured_time
from hundredx.kernel.gemm import gemm_time, resolve_compute
from hundredx.kernel.grouped_gemm import grouped_gemm_time
from hundredx.kernel.memory import launch_latency, memory_time
from hundredx.kernel.params import KernelParams, KernelTime, combine
from hundredx.kernel.runtime import RuntimeSpec
from hundredx.model.ops import Op

_ROUTING = {"uniform": "uniform", "random": "random", "skewed": "skewed", "tile_rounded": "tile_rounded"}


@dataclass(frozen=True, slots=True)
class OpCost:
    """Per-instance cost of one op; array fields broadcast over the op's configurations."""

    name: str
    kind: str
    time_s: Any
    sol_s: Any
    compute_s: Any
    memory_s: Any
    latency_s: Any
    efficiency: Any
    bound: Any
    source: str
    unsupported: str = ""
    fallback: str = ""
    kernel: str = ""
    fused: bool = False

    def to_dict(self) -> dict:
        return {f: getattr(self, f) for f in self.__slots__}


BOUND_NAMES = np.array(["compute", "memory", "latency"])


def _bound(compute_s, memory_s, latency_s):
    """'compute' / 'memory' / 'latency' (the largest part; ties go to latency, then compute) for a scalar
    op; for array ops an int8 code array indexing BOUND_NAMES (string arrays are slow at sweep sizes)."""
    c, m, lat = np.broadcast_arrays(*(np.asarray(v, float) for v in (compute_s, memory_s, latency_s)))
    code = np.where(lat >= np.maximum(c, m), 2, np.where(c >= m, 0, 1)).astype(np.int8)
    return str(BOUND_NAMES[code]) if code.ndim == 0 else code


def _mem_op_name(op: Op) -> str:
    name = str(op.attrs.get("op", op.name)).lower()
    if "norm" in name:
        return "rmsnorm"
    return "gather" if op.kind == "embedding" else "copy"


def _gemm(op: Op, chip, params, runtime) -> tuple[KernelTime, str, str]:
    t = gemm_time(op.m, op.n, op.k, chip, params, op.compute, runtime.gemm_library,
                  bytes_total=op.bytes_total if np.any(np.asarray(op.bytes_total) > 0) else None)
    return t, t.parts["fallback"], ""


def _grouped(op: Op, chip, params, runtime) -> tuple[KernelTime, str, str]:
    a = op.attrs
    lib = "deepgemm" if runtime.gemm_library in ("auto", "deepgemm") else "torch_grouped_mm"
    dist = _ROUTING[runtime.moe_routing] if runtime.routing_skew == 0 else "skewed"
    tpg = a.get("tokens_per_group")
    explicit = tpg if isinstance(tpg, (list, tuple)) else None
    tokens = a.get("tokens_total", op.m)
    t = grouped_gemm_time(chip, params, op.k, op.n, explicit, a.get("groups"), None if explicit else tokens, dist,
                          lib, op.compute, runtime.routing_skew)
    return t, t.parts["fallback"], ""


def _attention(op: Op, chip, params, runtime) -> tuple[KernelTime, str, str]:
    a = op.attrs
    kvb = a.get("kv_bytes_per_token_layer") or None
    t = attention_time(chip, params, a["batch"], a["seqlen_q"], a["seqlen_kv"], a["heads_q"], a["heads_kv"],
                       a["head_dim"], a.get("head_dim_v"), a.get("causal", False), runtime.attention_kernel,
                       "fp8" if op.compute == "fp8" else "bf16", None, kvb, a.get("variant", "gqa"),
                       a.get("window") or None, a.get("sparse_topk") or None)
    rc = np.divide(np.asarray(op.flops, float), np.maximum(np.asarray(t.flops, float), 1.0))
    rm = np.divide(np.asarray(op.bytes_total, float), np.maximum(np.asarray(t.bytes, float), 1.0))
    c, m = t.compute_s * rc, t.memory_s * rm
    time_s = combine(c, m, params["gemm.overlap_p"]) + t.latency_s
    peak = chip.peak(t.parts["compute_class"])
    sol = np.maximum(np.asarray(op.flops, float) / peak, np.asarray(op.bytes_total, float) / chip.mem_bytes_per_s)
    kt = KernelTime(time_s, c, m, t.latency_s, sol, op.flops, op.bytes_total, t.parts, t.unsupported)
    kernel = t.parts["kernel"]
    return kt, "", kernel if isinstance(kernel, str) else ",".join(sorted(set(np.ravel(kernel).tolist())))


def _recurrent(op: Op, chip, params, runtime) -> tuple[KernelTime, str, str]:
    cls, fallback = resolve_compute(op.compute if op.compute in ("bf16", "fp16") else "bf16", chip)
    peak, bw = chip.peak(cls), chip.mem_bytes_per_s
    flops, nbytes = np.asarray(op.flops, float), np.asarray(op.bytes_total, float)
    c = flops / (peak * params["recurrent.eff"])
    m = nbytes / (bw * params["mem.eff"])
    lat = np.full(np.broadcast(c, m).shape, params["gemm.latency_s"])
    t = KernelTime(combine(c, m, params["gemm.overlap_p"]) + lat, c, m, lat, np.maximum(flops / peak, nbytes / bw),
                   flops, nbytes)
    return t, fallback, ""


def _memory(op: Op, chip, params, runtime) -> tuple[KernelTime, str, str]:
    fused = bool(op.attrs.get("fusable")) and runtime.fused and op.kind == "memory"
    return memory_time(op.bytes_total, chip, params, _mem_op_name(op), fused, op.flops), "", ""


_DISPATCH = {"gemm": _gemm, "grouped_gemm": _grouped, "attention": _attention, "memory": _memory,
             "embedding": _memory, "router": _memory, "recurrent": _recurrent}


def op_cost(op: Op, chip: ChipSpec, runtime: RuntimeSpec, params: KernelParams | None = None) -> OpCost:
    """Predicted per-instance time of one (sharded) op, with SOL, breakdown, bound and provenance."""
    if params is None:
        from hundredx.kernel.fit import load_params

        params = load_params(chip)
    if op.kind not in _DISPATCH:
        raise InputError("op.kind", op.kind, f"no kernel model; known: {', '.join(_DISPATCH)}")
    t, fallback, kernel = _DISPATCH[op.kind](op, chip, params, runtime)
    fused = bool(t.parts.get("fused", False))
    latency = np.zeros(np.shape(t.latency_s)) if fused else launch_latency(t.latency_s, params, runtime.cuda_graphs)
    time_s = np.asarray(t.time_s, float) - np.asarray(t.latency_s, float) + latency
    source = params.source
    measured = None if fused else measured_time(op, chip, runtime, t.sol_s)
    if measured is not None:
        time_s, source = np.asarray(measured[0], float), measured[1]
    sol = np.minimum(np.asarray(t.sol_s, float), time_s)
    eff = np.divide(sol, np.maximum(time_s, 1e-30))
    return OpCost(op.name, op.kind, time_s, sol, t.compute_s, t.memory_s, latency, eff,
                  _bound(t.compute_s, t.memory_s, latency), source, t.unsupported, fallback, kernel, fused)
