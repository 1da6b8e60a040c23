"""`moe_layer` cases: a whole MoE layer (permute, grouped GEMMs up+gate and down, activation, unpermute,
optionally dispatch / combine) priced by kernel/moe_layer.py as the sum of its kernels.

Config (docs/moe_layer_cases.md): tokens, hidden, intermediate, experts, topk (required); dtype (bf16),
library (deepgemm), distribution (uniform), ep (1; > 1 adds dispatch / combine on the chip's standard
system). Metrics: time_s, tflops (2 T k H 3 I / time, the layer's GEMM FLOPs).
"""

from __future__ import annotations

from hundredx.errors import InputError
from hundredx.validate.base import Unpredictable, cfg

KEYS = ("tokens", "hidden", "intermediate", "experts", "topk")


def layer_time(case: dict):
    """The MoeLayerTime of a case (Unpredictable when its chip, fields or formats have no path)."""
    from hundredx.chip import load_chip
    from hundredx.chip.catalog import load_system
    from hundredx.kernel.loading import load_params
    from hundredx.kernel.moe_layer import moe_layer_time

    sizes = {k: int(cfg(case, k)) for k in KEYS}
    ep = int(cfg(case, "ep", 1, required=False))
    try:
        chip = load_chip(case.get("hardware", ""))
        system = load_system(chip.id) if ep > 1 else None
        return moe_layer_time(chip, load_params(chip), **sizes, dtype=cfg(case, "dtype", "bf16", required=False),
                              library=cfg(case, "library", "deepgemm", required=False),
                              distribution=cfg(case, "distribution", "uniform", required=False), ep=ep, system=system)
    except InputError as exc:
        raise Unpredictable(str(exc)) from None


def predict_case(case: dict) -> float:
    """Predicted value of one moe_layer case in its metric."""
    metric = case.get("metric")
    if metric not in ("time_s", "tflops"):
        raise Unpredictable(f"metric {metric!r} not predicted for moe_layer (known: time_s, tflops)")
    t = layer_time(case)
    return t.time_s if metric == "time_s" else t.flops / t.time_s / 1e12
