"""Serving-engine overheads on top of the kernel models: what an engine iteration costs beyond
the sum of its kernels' isolated times.

step_time = gpu_time_factor * sum(kernel and collective times) + per_seq_step_s * sequences
  - gpu_time_factor: gaps between kernels, epilogues and quantize steps that microbenchmarks do
    not see, imperfect overlap inside an engine iteration (dimensionless, >= 1);
  - per_seq_step_s: host work per sequence per iteration (scheduling, sampling, stop checks,
    detokenisation) that grows with the batch and does not shrink on a faster chip.
Both are fitted by `scripts/fit_engine.py` on the public serving cases (fitted/engine.json
records the cases, date and fit quality); a RuntimeSpec may override them (1.0 / 0.0 turns
them off, which is how the fit itself evaluates the pure kernel-model step).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from hundredx.kernel.runtime import RuntimeSpec

FITTED = Path(__file__).resolve().parent / "fitted" / "engine.json"
DEFAULT = {"gpu_time_factor": 1.0, "per_seq_step_s": 0.0}


@dataclass(frozen=True, slots=True)
class EngineOverhead:
    gpu_time_factor: float
    per_seq_step_s: float
    source: str


@lru_cache(maxsize=1)
def _fitted() -> tuple[dict, str]:
    if not FITTED.is_file():
        return dict(DEFAULT), "analytic (no fitted engine overheads)"
    doc = json.loads(FITTED.read_text())
    return {**DEFAULT, **doc.get("values", {})}, f"fitted:{FITTED.name}"


def engine_overhead(runtime: RuntimeSpec) -> EngineOverhead:
    """The runtime's overrides where set, else the fitted values."""
    values, source = _fitted()
    factor = runtime.gpu_time_factor if runtime.gpu_time_factor is not None else values["gpu_time_factor"]
    per_seq = runtime.per_seq_step_s if runtime.per_seq_step_s is not None else values["per_seq_step_s"]
    if runtime.gpu_time_factor is not None or runtime.per_seq_step_s is not None:
        source = "runtime"
    return EngineOverhead(float(factor), float(per_seq), source)
