"""Memory-bound ops (copy, read, add, triad, rmsnorm, activations, rope, quantize, gather) and launch cost.

    time_s = kernels * mem.latency_s + traffic * bytes / (bw * mem.eff)

i.e. achieved bandwidth = bw*eff * bytes / (bytes + B_half) with the half-saturation size
B_half = kernels * latency * bw * eff / traffic: small tensors are latency-bound, large ones
stream at the achievable fraction of HBM bandwidth (STREAM/BabelStream style). `bytes` is
bytes read + written as the op is *defined* (e.g. RMSNorm: read x, write y); `traffic`
(mem.rmsnorm.traffic) and `kernels` (mem.rmsnorm.kernels) describe how far an eager
implementation moves more bytes and launches more kernels than that; other ops are one
kernel at traffic 1.
Fusion (`fused=True`): the op runs inside its neighbour kernel (a norm in the GEMM
prologue, an activation in the epilogue): no launch, and only `mem.fused_share` of its
bytes are still moved through HBM (the rest stays in registers/shared memory).
Launch: without CUDA graphs each kernel costs at least `launch_s` (host launch);
with graphs its fixed time drops to `graph_kernel_s` (replay of a captured graph).
"""

from __future__ import annotations

import numpy as np

from hundredx.arrays import ArrayLike
from hundredx.chip.spec import ChipSpec
from hundredx.errors import InputError
from hundredx.kernel.params import MEMORY_OPS, KernelParams, KernelTime
from hundredx.kernel.roofline import compute_time, sol_time


def op_shape(op: str, params: KernelParams) -> tuple[float, float]:
    """(kernels per call, HBM traffic per nominal byte) for an op name."""
    if op not in MEMORY_OPS:
        raise InputError("op", op, f"must be one of {', '.join(MEMORY_OPS)}")
    if op == "rmsnorm":
        return params["mem.rmsnorm.kernels"], params["mem.rmsnorm.traffic"]
    return 1.0, 1.0


def memory_time(nbytes, chip: ChipSpec, params: KernelParams, op="copy", fused=False, flops=0.0,
                check: bool = True) -> KernelTime:
    """Time of a memory-bound op moving `nbytes` (read + written), optionally fused into a neighbour.
    `op` and `fused` may be sequences with one entry per leading row of `nbytes` (many ops in one call)."""
    b = np.asarray(nbytes, float)
    if check and (b < 0).any():
        raise InputError("bytes", nbytes, "must be >= 0")
    rows = (-1,) + (1,) * max(b.ndim - 1, 0)
    kernels: ArrayLike
    traffic: ArrayLike
    if isinstance(op, str):
        kernels, traffic = op_shape(op, params)
    else:  # one op name per row
        by_name = {name: op_shape(name, params) for name in dict.fromkeys(op)}
        kernels = np.array([by_name[name][0] for name in op]).reshape(rows)
        traffic = np.array([by_name[name][1] for name in op]).reshape(rows)
    fuse = np.asarray(fused, dtype=bool).reshape(rows) if np.ndim(fused) else bool(fused)
    bw = chip.mem_bytes_per_s
    peak = chip.peak("fp32") or chip.peak("bf16")
    flops = np.asarray(flops, float)
    compute_s = compute_time(flops, peak) if peak > 0 else np.zeros_like(b)
    # fused: no launch, and only mem.fused_share of the bytes still move through HBM
    memory_s = np.where(fuse, params["mem.fused_share"], traffic) * b / (bw * params["mem.eff"])
    latency = np.where(fuse, 0.0, kernels * params["mem.latency_s"]) * np.ones_like(b)
    time_s = np.maximum(memory_s, compute_s) + latency
    sol = sol_time(flops, b, peak, bw) if peak > 0 else b / bw
    parts = {"kernels": np.where(fuse, 0.0, kernels), "traffic": traffic, "fused": fuse}
    return KernelTime(time_s, compute_s, memory_s, latency, sol, flops, b, parts)


def achieved_bandwidth(nbytes, chip: ChipSpec, params: KernelParams, op: str = "copy"):
    """Bytes/s a memory op reaches at this size (the curve BabelStream plots)."""
    t = memory_time(nbytes, chip, params, op)
    return np.asarray(nbytes, float) / t.time_s


def launch_latency(kernel_latency_s, params: KernelParams, cuda_graphs: bool):
    """Per-kernel fixed time. The fitted latencies come from CUDA-event timings of kernels issued one by
    one from PyTorch, so for small kernels they include the host's per-op dispatch. Without graphs a
    kernel costs at least that (and at least the host launch, launch_s); a CUDA graph replays the
    kernels back to back without host dispatch, so each costs min(its latency, graph_kernel_s)."""
    lat = np.asarray(kernel_latency_s, float)
    if cuda_graphs:
        return np.minimum(lat, params["graph_kernel_s"])
    return np.maximum(lat, params["launch_s"])
