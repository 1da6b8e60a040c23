"""Cost of (sharded) ops on one chip: `price_ops(ops, chip, runtime, params) -> OpCosts` for a
whole op list, `op_cost(op, ...) -> OpCost` for one.

Preference order (docs/design.md): (1) a measured calibration profile for the chip, interpolated
at the op's shape (cost_measured.py; source "measured: ..."), (2) the fitted parameters of
fitted/<chip>.json, or its architecture family's, (3) analytic defaults; the parameters' calibration
restriction (kernel/loading.py) can exclude (1) (`fitted`, `family`, `analytic`) or require it
(`profile`: an op no profile covers is priced by the parameters and says so in `fallback`).
The efficiency models are gemm.py, grouped_gemm.py, attention.py (kernel from
runtime.attention_kernel), memory.py (memory / embedding / router) and a recurrent
(linear-attention) state update at recurrent.eff of the 16-bit peak; cost_kinds.py adapts groups of ops to them.
Structure of arrays: ops are grouped by kind and the scalar arguments of their model
(cost_kinds.group_key), each group's fields are stacked into (G, *config_shape) arrays and
priced with ONE vectorized model call; the results come back as an `OpCosts` table of
(N, *config_shape) arrays in op order. One op is the table of one row (op_cost), so a single
prediction, a sweep and a serving simulation share this one code path.
Time is per instance; `OpCosts.count` holds op.count for the caller to multiply.

Fusion: a memory op whose MemoryShape is fusable runs, under runtime.fused, inside its neighbouring
kernel: no launch of its own and only mem.fused_share of its bytes are still paid.
CUDA graphs: runtime.cuda_graphs cuts each kernel's fixed time to graph_kernel_s; without
graphs a kernel costs at least launch_s (host launch).
Formats: an op whose compute class the chip lacks (chip.peak(op.compute) == 0) runs on the
next wider class that exists (fp4 -> fp8 -> bf16); `fallback` records e.g. "fp4->fp8".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from hundredx.chip.spec import ChipSpec
from hundredx.errors import InputError
from hundredx.kernel.cost_kinds import PRICERS, group_key, stack
from hundredx.kernel.cost_measured import KINDS as PROFILE_KINDS
from hundredx.kernel.cost_measured import has_profile, measured_time
from hundredx.kernel.memory import launch_latency
from hundredx.kernel.params import KernelParams
from hundredx.kernel.runtime import RuntimeSpec
from hundredx.model.ops import Op


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


@dataclass(frozen=True)
class OpCosts:
    """Per-instance costs of N ops as one structure of arrays: numeric fields are (N, *config_shape)
    in op order; `bound` holds int8 codes into BOUND_NAMES; string fields are lists of N."""

    ops: list[Op]
    count: np.ndarray
    time_s: np.ndarray
    sol_s: np.ndarray
    compute_s: np.ndarray
    memory_s: np.ndarray
    latency_s: np.ndarray
    efficiency: np.ndarray
    bound: np.ndarray
    source: list[str]
    unsupported: list[str]
    fallback: list[str]
    kernel: list[str]
    fused: list[bool]

    def rows(self, start: int, stop: int) -> OpCosts:
        """Ops start..stop-1 as their own table (numpy views, no copies)."""
        cut = slice(start, stop)
        return OpCosts(self.ops[cut], self.count[cut], self.time_s[cut], self.sol_s[cut], self.compute_s[cut],
                       self.memory_s[cut], self.latency_s[cut], self.efficiency[cut], self.bound[cut],
                       self.source[cut], self.unsupported[cut], self.fallback[cut], self.kernel[cut], self.fused[cut])

    def row(self, i: int) -> OpCost:
        """Op i as an OpCost (a scalar op's bound as its name, an array op's as codes)."""
        code = self.bound[i]
        bound = str(BOUND_NAMES[code]) if code.ndim == 0 else code
        return OpCost(self.ops[i].name, self.ops[i].kind, self.time_s[i], self.sol_s[i], self.compute_s[i],
                      self.memory_s[i], self.latency_s[i], self.efficiency[i], bound, self.source[i],
                      self.unsupported[i], self.fallback[i], self.kernel[i], self.fused[i])


def _bound_codes(compute_s, memory_s, latency_s):
    """0 compute / 1 memory / 2 latency: the largest part; ties go to latency, then compute."""
    c, m, lat = compute_s, memory_s, latency_s
    return np.where(lat >= np.maximum(c, m), 2, np.where(c >= m, 0, 1)).astype(np.int8)


# table rows: final time, fixed time, the model's speed-of-light time, SOL capped at the time,
# compute part, memory part, efficiency (SOL / time)
_FIELDS = ("time_s", "latency_s", "sol_raw_s", "sol_s", "compute_s", "memory_s", "efficiency")
CHUNK_ELEMENTS = 32768  # ops x configurations priced per model call at most: temporaries stay cache-resident


def _price_group(ops: list[Op], rows: slice, table: np.ndarray, chip, params, runtime) -> tuple:
    """One model call for a group of same-key ops; writes the model's raw time, fixed time, SOL,
    compute and memory parts into `table[:, rows]`. Returns (fused per op, fallback, kernel per op,
    unsupported)."""
    t, fallback, kernels = PRICERS[ops[0].kind](ops, table.shape[2:], chip, params, runtime)
    for i, value in ((0, t.time_s), (1, t.latency_s), (2, t.sol_s), (4, t.compute_s), (5, t.memory_s)):
        table[i, rows] = value
    flag = t.parts.get("fused", False)
    fused = np.asarray(flag, dtype=bool).reshape(-1) if np.ndim(flag) else np.full(len(ops), bool(flag))
    return fused, fallback, kernels, t.unsupported


def _finish(table: np.ndarray, codes: np.ndarray, fused: np.ndarray, rows: slice, params, cuda_graphs: bool) -> None:
    """Launch cost, final time, capped SOL, efficiency and bound of table rows (in place).
    A fused op runs inside its neighbour (no fixed time); others pay the launch / graph-replay latency."""
    raw_time, raw_latency = table[0, rows], table[1, rows]
    latency = np.where(fused[rows].reshape((-1,) + (1,) * (table.ndim - 2)), 0.0,
                       launch_latency(raw_latency, params, cuda_graphs))
    time_s = raw_time - raw_latency + latency
    sol = np.minimum(table[2, rows], time_s)
    table[0, rows], table[1, rows], table[3, rows] = time_s, latency, sol
    table[6, rows] = sol / np.maximum(time_s, 1e-30)
    codes[rows] = _bound_codes(table[4, rows], table[5, rows], latency)


def config_shape(ops: list[Op]) -> tuple:
    """The broadcast shape of every array field of the ops (() for a single configuration)."""
    arr = np.ndarray
    shapes = {v.shape for op in ops for v in (op.count, op.flops, op.bytes_read, op.bytes_written, *op.shape.values())
              if isinstance(v, arr)}
    shapes.discard(())
    return np.broadcast_shapes(*shapes) if shapes else ()


def price_ops(ops: list[Op], chip: ChipSpec, runtime: RuntimeSpec, params: KernelParams | None = None,
              shape: tuple | None = None) -> OpCosts:
    """Predicted per-instance time of every (sharded) op, with SOL, breakdown, bound and provenance.
    `shape`: the ops' config_shape when the caller already knows it."""
    if params is None:
        from hundredx.kernel.loading import load_params

        params = load_params(chip)
    groups: dict[tuple, list[int]] = {}
    for i, op in enumerate(ops):
        if op.kind not in PRICERS:
            raise InputError("op.kind", op.kind, f"no kernel model; known: {', '.join(PRICERS)}")
        groups.setdefault(group_key(op, runtime, i), []).append(i)
    shape = config_shape(ops) if shape is None else shape
    n = len(ops)
    # rows in group order (each group a contiguous slice), put back in op order at the end
    table = np.empty((len(_FIELDS), n) + shape)
    codes = np.empty((n,) + shape, dtype=np.int8)
    fused = np.zeros(n, dtype=bool)
    fallback, kernel, unsupported = [""] * n, [""] * n, [""] * n
    chunk = max(1, CHUNK_ELEMENTS // max(math.prod(shape), 1))
    order: list[int] = []
    for group in groups.values():
        for start in range(0, len(group), chunk):
            idx = group[start:start + chunk]
            rows = slice(len(order), len(order) + len(idx))
            fused[rows], fb, kernels, unsup = _price_group([ops[i] for i in idx], rows, table, chip, params, runtime)
            order += idx
            for j, i in enumerate(idx):
                fallback[i], kernel[i], unsupported[i] = fb, kernels[j], unsup
    for start in range(0, n, chunk):  # finishing in row chunks too: one pass for a single configuration
        _finish(table, codes, fused, slice(start, min(start + chunk, n)), params, runtime.cuda_graphs)
    if order != list(range(n)):
        inverse = np.argsort(np.asarray(order, dtype=np.intp))
        table, codes, fused = table[:, inverse], codes[inverse], fused[inverse]
    cols = dict(zip(_FIELDS, table))
    source = [params.source] * n
    if n and params.calibration in ("auto", "profile") and has_profile(chip):
        _apply_measured(ops, chip, runtime, cols, fused, source)
    if params.calibration == "profile":  # a restriction to profiles: every op priced otherwise says so
        for i, op in enumerate(ops):
            if op.kind in PROFILE_KINDS and not fused[i] and not source[i].startswith("measured"):
                note = f"calibration=profile: no measured profile covers it; priced by {params.source}"
                fallback[i] = f"{fallback[i]}; {note}" if fallback[i] else note
    count = stack([op.count for op in ops], shape) if n else np.zeros((0,) + shape)
    return OpCosts(list(ops), count, cols["time_s"], cols["sol_s"], cols["compute_s"], cols["memory_s"],
                   cols["latency_s"], cols["efficiency"], codes, source, unsupported, fallback, kernel, fused.tolist())


def _apply_measured(ops: list[Op], chip, runtime, cols: dict, fused: np.ndarray, source: list[str]) -> None:
    """Preference (1): a measured profile replaces the model's time of every op it covers."""
    for i, op in enumerate(ops):
        if fused[i]:
            continue
        measured = measured_time(op, chip, runtime, cols["sol_raw_s"][i])
        if measured is not None:
            time_s = measured[0]
            cols["time_s"][i], source[i] = time_s, measured[1]
            cols["sol_s"][i] = np.minimum(cols["sol_raw_s"][i], time_s)
            cols["efficiency"][i] = cols["sol_s"][i] / np.maximum(time_s, 1e-30)


def op_cost(op: Op, chip: ChipSpec, runtime: RuntimeSpec, params: KernelParams | None = None) -> OpCost:
    """Predicted per-instance time of one (sharded) op: the one-row table of price_ops."""
    return price_ops([op], chip, runtime, params).row(0)
