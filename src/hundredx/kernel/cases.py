"""Single-case pricing of the kernel layer: one validation / calibration case -> the model's value.

Cases use the validation format (docs/cases.md): kinds gemm, attention,
memory, grouped_gemm, single device. `case_time(case, chip, params)` prices the case's config
with the efficiency model of its kind; `predict_value` converts that time into the case's
metric (tflops with the SCHEMA FLOP conventions of kernel/roofline.case_metric_flops,
time_s, bandwidth_gbps). Used by `hundredx validate` (validate/kernels.py) and by the fitter
(calibrate/fitter.py), so both price a case the same way. `CaseBatch(cases, chip)` prices many
cases with one vectorized model call per group of shared settings (the fitter's inner loop;
equal to `predict_value` case by case).
"""

from __future__ import annotations

from typing import cast

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


_GEMM_KEYS = ("dtype", "library", "out_dtype")
_ATTN_KEYS = ("kernel", "dtype", "kv_dtype", "variant", "window", "sparse_topk", "direction", "causal")
_ATTN_DIMS = ("batch", "seqlen_q", "seqlen_kv", "heads_q", "heads_kv", "head_dim", "head_dim_v", "kv_bytes_per_token")


def _gemm_key(cfg: dict) -> tuple:
    dtype = cfg.get("dtype") or "bf16"
    return (dtype, cfg.get("library") or "auto",
            cfg.get("out_dtype") or ("fp32" if cfg.get("dtype") in ("fp32", "tf32") else "bf16"))


def _attn_key(cfg: dict) -> tuple:
    key = (cfg.get("kernel") or "auto", cfg.get("dtype") or "bf16", cfg.get("kv_dtype"), cfg.get("variant") or "gqa",
           cfg.get("window"), cfg.get("sparse_topk"), cfg.get("direction") or "forward", bool(cfg.get("causal", False)))
    # which optional dims are given decides the call's arguments (None keeps the model's default)
    return key + (cfg.get("head_dim_v") is None, cfg.get("kv_bytes_per_token") is None)


def _group_key(case: dict) -> tuple:
    cfg, kind = case.get("config", {}), case.get("kind")
    if kind == "gemm":
        return ("gemm",) + _gemm_key(cfg)
    if kind == "attention":
        return ("attention",) + _attn_key(cfg)
    if kind == "memory":
        return ("memory", _c(cfg, "op"))
    return ("single", case.get("id"), id(case))  # grouped GEMM: token lists per case, priced one by one


def _group_time(key: tuple, cases: list[dict], chip: ChipSpec, params: KernelParams):
    """Times of a group of same-key cases from ONE vectorized model call."""
    col = lambda name: np.array([float(c["config"][name]) for c in cases])  # noqa: E731
    if key[0] == "gemm":
        dtype, library, out_dtype = key[1:]
        return gemm_time(col("m"), col("n"), col("k"), chip, params, dtype, library, out_dtype).time_s
    if key[0] == "attention":
        kernel, dtype, kv_dtype, variant, window, topk, direction, causal, no_dv, no_kvb = key[1:]
        cfg0 = cases[0]["config"]
        hkv = np.array([float(c["config"].get("heads_kv") or c["config"]["heads_q"]) for c in cases])
        t = attention_time(chip, params, col("batch"), col("seqlen_q"), col("seqlen_kv"), col("heads_q"), hkv,
                           col("head_dim"), None if no_dv else col("head_dim_v"), causal, kernel, dtype, kv_dtype,
                           None if no_kvb else col("kv_bytes_per_token"), variant, window, topk, direction)
        if t.unsupported:
            raise InputError("config.kernel", cfg0.get("kernel"), t.unsupported)
        return t.time_s
    if key[0] == "memory":
        return memory_time(col("bytes"), chip, params, key[1]).time_s
    return np.array([float(np.asarray(case_time(cases[0], chip, params)[0].time_s))])


class _Reads:
    """A read-only view of KernelParams that records which parameters a model call reads."""

    def __init__(self, params: KernelParams) -> None:
        self.params, self.names = params, set[str]()

    def __getitem__(self, name: str) -> float:
        self.names.add(name)
        return self.params[name]

    def __getattr__(self, name: str):  # source, domains, replace_values: those of the wrapped parameters
        return getattr(self.params, name)


class CaseBatch:
    """Many cases of one chip prepared for repeated pricing (the fitter's inner loop): cases that share
    their categorical settings (GEMM dtype/library, attention kernel/mask/variant, memory op) are priced
    by ONE vectorized model call; `values(params)` equals `predict_value` case by case (same formulas,
    element-wise). Each group remembers the parameters its model read and its last times, so a
    call where none of them changed (a Jacobian column of another parameter) reuses them."""

    def __init__(self, cases: list[dict], chip: ChipSpec) -> None:
        self.cases, self.chip = list(cases), chip
        groups: dict[tuple, list[int]] = {}
        for i, case in enumerate(self.cases):
            if case.get("kind") not in KINDS:
                raise InputError("kind", case.get("kind"), f"kernel cases are {', '.join(KINDS)}")
            groups.setdefault(_group_key(case), []).append(i)
        self.groups = [(key, np.asarray(idx, dtype=np.intp), [self.cases[i] for i in idx])
                       for key, idx in groups.items()]
        self.work = np.array([case_metric_flops(c["kind"], c["config"]) if c["kind"] != "memory"
                              else float(c["config"]["bytes"]) for c in self.cases])
        self.metric = [c.get("metric") for c in self.cases]
        self.scale = np.ones(len(self.cases))  # value = work / time / scale, or time when scale is 0
        for i, (metric, kind) in enumerate(zip(self.metric, (c.get("kind") for c in self.cases))):
            if metric == "time_s":
                self.scale[i] = 0.0
            elif metric == "tflops":
                self.scale[i] = 1e12
            elif metric == "bandwidth_gbps" and kind == "memory":
                self.scale[i] = 1e9
            else:
                raise InputError("metric", metric, f"not predictable for kind {kind}")
        self.measured = np.array([float(c["value"]) for c in self.cases])
        self._reads: list[tuple[str, ...] | None] = [None] * len(self.groups)
        self._last: list[tuple[tuple, np.ndarray] | None] = [None] * len(self.groups)

    def times(self, params: KernelParams) -> np.ndarray:
        out = np.empty(len(self.cases))
        for g, (key, idx, cases) in enumerate(self.groups):
            names = self._reads[g]
            if names is None:
                reads = _Reads(params)
                t = np.asarray(_group_time(key, cases, self.chip, cast(KernelParams, reads)), float).reshape(-1)
                self._reads[g] = names = tuple(sorted(reads.names))
            else:
                last = self._last[g]
                stamp = tuple(params[n] for n in names)
                if last is not None and last[0] == stamp:
                    out[idx] = last[1]
                    continue
                t = np.asarray(_group_time(key, cases, self.chip, params), float).reshape(-1)
            self._last[g] = (tuple(params[n] for n in names), t)
            out[idx] = t
        return out

    def values(self, params: KernelParams) -> np.ndarray:
        """The model's value of every case in its metric."""
        t = self.times(params)
        return np.where(self.scale > 0, self.work / t / np.where(self.scale > 0, self.scale, 1.0), t)

    def log_errors(self, params: KernelParams) -> np.ndarray:
        """log(predicted / measured) per case."""
        return np.log(self.values(params) / self.measured)
