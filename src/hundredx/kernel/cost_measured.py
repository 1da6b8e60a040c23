"""Preference (1) of the kernel layer: a measured calibration profile for this chip and kernel.

`measured_time(op, chip, runtime, sol_s)` maps a (sharded) op to the case-config shape of
kernel/measured.py, asks for the interpolated measured efficiency (t_SOL / t_measured) and
returns (sol_s / efficiency, source) — or None when no profile exists for the chip or nothing
measured lies close enough, in which case the fitted or analytic model answers. Array ops
(predict_many) are looked up element by element, only when a profile exists for the chip.
"""

from __future__ import annotations

from functools import lru_cache
from typing import cast

import numpy as np

from hundredx.arrays import ArrayLike
from hundredx.kernel.measured import load_profiles, measured_efficiency
from hundredx.kernel.runtime import RuntimeSpec
from hundredx.model.ops import AttentionShape, ExpertGemmShape, GemmShape, Op

KINDS = {"gemm": "gemm", "grouped_gemm": "grouped_gemm", "attention": "attention", "memory": "memory"}


@lru_cache(maxsize=256)
def _has_profile(chip_id: str, env: str, home: str) -> bool:
    return bool(load_profiles(chip_id))


def has_profile(chip) -> bool:
    """Whether a calibration profile holds cases for this chip (under $HUNDREDX_HOME/profiles,
    HUNDREDX_PROFILES or the package); decided once per process and environment."""
    import os

    return _has_profile(chip.id, os.environ.get("HUNDREDX_PROFILES", ""), os.environ.get("HUNDREDX_HOME", ""))


def _shape(op: Op, runtime: RuntimeSpec, i: int, size: int) -> dict:
    """The docs/cases.md case-config shape of element i of a (possibly array-valued) op."""
    def at(x):
        arr = np.asarray(x, dtype=float)
        return float(arr) if arr.ndim == 0 else float(np.broadcast_to(arr, (size,))[i])

    if op.kind == "gemm":
        g = cast(GemmShape, op.shape)
        shape = {"m": at(g.m), "n": at(g.n), "k": at(g.k), "dtype": op.compute}
        if runtime.gemm_library != "auto":
            shape["library"] = runtime.gemm_library
        return shape
    if op.kind == "grouped_gemm":
        e = cast(ExpertGemmShape, op.shape)
        return {"groups": at(e.groups), "tokens_total": at(e.tokens_total), "n": at(e.n), "k": at(e.k),
                "dtype": op.compute}
    if op.kind == "attention":
        s = cast(AttentionShape, op.shape)
        shape = {"phase": s.phase, "batch": at(s.batch), "seqlen_q": at(s.seqlen_q), "seqlen_kv": at(s.seqlen_kv),
                 "heads_q": at(s.heads_q), "heads_kv": at(s.heads_kv), "head_dim": at(s.head_dim),
                 "causal": bool(s.causal), "dtype": "bf16"}
        if runtime.attention_kernel != "auto":
            shape["kernel"] = runtime.attention_kernel
        return shape
    return {"op": "rmsnorm" if "norm" in op.name.lower() else "copy", "bytes": at(op.bytes_total)}


def _dims(op: Op) -> tuple:
    """The dims a (grouped) GEMM is looked up at (none for the other kinds)."""
    if op.kind == "gemm":
        g = cast(GemmShape, op.shape)
        return g.m, g.n, g.k
    if op.kind == "grouped_gemm":
        e = cast(ExpertGemmShape, op.shape)
        return e.tokens_total, e.n, e.k
    return ()


def measured_time(op: Op, chip, runtime: RuntimeSpec, sol_s) -> tuple[ArrayLike, str] | None:
    """(time_s, source) from a calibration profile, or None (no profile / nothing close enough)."""
    if op.kind not in KINDS or not has_profile(chip):
        return None
    sol = np.asarray(sol_s, float)
    size = int(np.prod(np.broadcast_shapes(sol.shape, *[np.shape(x) for x in (*_dims(op), op.bytes_total)])))
    effs, source = np.empty(size), ""
    for i in range(size):
        eff, src = measured_efficiency(KINDS[op.kind], chip.id, chip=chip, **_shape(op, runtime, i, size))
        if eff is None:
            return None
        effs[i], source = eff, src
    time_s = np.broadcast_to(sol, (size,)) / effs if size > 1 else float(sol) / effs[0]
    return time_s, source
