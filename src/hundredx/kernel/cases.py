"""Single-case pricing of the kernel layer: one validation / calibration case -> the model's value.

Cases use the validation format (docs/cases.md): kinds gemm, attention,
memory, grouped_gemm, single device. `case_time(case, chip, params)` prices the case's config
with the efficiency model of its kind; `predict_value` converts that time into the case's
metric (tflops with the SCHEMA FLOP conventions of kernel/roofline.case_metric_flops,
time_s, bandwidth_gbps). Used by `hundredx validate` (validate/kernels.py) and by the fitter
(calibrate/fitter.py), so both price a case the same way.
"""

from __future__ import annotations

import numpy as np

from hundredx.chip.spec import ChipSpec
from hundredx.errors import InputError
from hundredx.kernel.attention import attention_time
from hundredx.kernel.gemm import gemm_time
from hundredx.kernel.grouped_gemm import grouped_gemm_time
from hundredx.kernel.memory import memory_time
from hundredx.kernel.params import KernelParams
from hundredx.kernel.roofline import case_metric_flops

KINDS = ("gemm", "attention", "memory", "grouped_gemm")


def _c(cfg: dict, key: str, default=None):
    if key in cfg and cfg[key] is not None:
        return cfg[key]
    if default is None:
        raise InputError(f"config.{key}", None, "missing")
    return default


def case_time(case: dict, chip: ChipSpec, params: KernelParams):
    """(KernelTime, work) for a case; work = conventional FLOPs (tflops) or bytes (bandwidth)."""
    cfg, kind = case.get("config", {}), case.get("kind")
    if kind == "gemm":
        m, n, k = _c(cfg, "m"), _c(cfg, "n"), _c(cfg, "k")
        t = gemm_time(m, n, k, chip, params, _c(cfg, "dtype", "bf16"), cfg.get("library") or "auto",
                      cfg.get("out_dtype") or ("fp32" if cfg.get("dtype") in ("fp32", "tf32") else "bf16"))
        return t, case_metric_flops("gemm", cfg)
    if kind == "attention":
        t = attention_time(chip, params, _c(cfg, "batch"), _c(cfg, "seqlen_q"), _c(cfg, "seqlen_kv"),
                           _c(cfg, "heads_q"), _c(cfg, "heads_kv", cfg.get("heads_q")), _c(cfg, "head_dim"),
                           cfg.get("head_dim_v"), bool(cfg.get("causal", False)), cfg.get("kernel") or "auto",
                           _c(cfg, "dtype", "bf16"), cfg.get("kv_dtype"), cfg.get("kv_bytes_per_token"),
                           cfg.get("variant") or "gqa", cfg.get("window"), cfg.get("sparse_topk"),
                           cfg.get("direction") or "forward")
        if t.unsupported:
            raise InputError("config.kernel", cfg.get("kernel"), t.unsupported)
        return t, case_metric_flops("attention", cfg)
    if kind == "memory":
        t = memory_time(_c(cfg, "bytes"), chip, params, _c(cfg, "op"))
        return t, float(cfg["bytes"])
    if kind == "grouped_gemm":
        t = grouped_gemm_time(chip, params, _c(cfg, "k"), _c(cfg, "n"), cfg.get("tokens_per_group"), cfg.get("groups"),
                              cfg.get("tokens_total"), cfg.get("distribution") or "uniform",
                              cfg.get("library") or "deepgemm", _c(cfg, "dtype", "bf16"))
        return t, case_metric_flops("grouped_gemm", cfg)
    raise InputError("kind", kind, f"kernel cases are {', '.join(KINDS)}")


def predict_value(case: dict, chip: ChipSpec, params: KernelParams) -> float:
    """The model's value for a case, in the case's metric."""
    t, work = case_time(case, chip, params)
    time_s = float(np.asarray(t.time_s))
    metric = case.get("metric")
    if metric == "time_s":
        return time_s
    if metric == "tflops":
        return work / time_s / 1e12
    if metric == "bandwidth_gbps" and case.get("kind") == "memory":
        return work / time_s / 1e9
    raise InputError("metric", metric, f"not predictable for kind {case.get('kind')}")
