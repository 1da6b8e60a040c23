"""Fit kernel-efficiency parameters per chip on measured cases; save and load fitted files.

Cases use the validation format (../shared/validation/SCHEMA.md): kinds gemm, attention,
memory, grouped_gemm. `predict_value(case, chip, params)` turns one case into the model's
value in the case's metric (tflops, time_s, bandwidth_gbps; SCHEMA FLOP conventions).
`fit_cases` fits, per chip, only the parameters the chip's cases are sensitive to, by
scipy least squares on r_i = log(pred_i / measured_i) (soft-L1 loss, so a few odd cases do
not dominate) plus a weak prior PRIOR_WEIGHT * log(p / p_default) per parameter, which keeps
parameters the data cannot separate at their analytic value. Never per case: one value per
parameter per chip. `load_params(chip)` returns the fitted values (source "fitted:<file>")
when src/hundredx/kernel/fitted/<chip.id>.json exists, else the analytic defaults.
"""

from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path

import numpy as np

from hundredx.fileio import atomic_write
from hundredx.chip.spec import ChipSpec
from hundredx.errors import InputError
from hundredx.kernel.attention import attention_time
from hundredx.kernel.gemm import gemm_time
from hundredx.kernel.grouped_gemm import grouped_gemm_time
from hundredx.kernel.memory import memory_time
from hundredx.kernel.params import PARAMS, KernelParams
from hundredx.kernel.roofline import case_metric_flops

FITTED_DIR = Path(__file__).resolve().parent / "fitted"
KINDS = ("gemm", "attention", "memory", "grouped_gemm")
PRIOR_WEIGHT = 0.05


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


def _errors(cases, chip, params) -> np.ndarray:
    return np.array([np.log(predict_value(c, chip, params) / float(c["value"])) for c in cases])


def _free_names(cases, chip, base: KernelParams) -> list[str]:
    ref = _errors(cases, chip, base)
    free = []
    for name in PARAMS:
        trial = base.replace_values({name: max(base[name], 1e-3) * 1.2})
        if np.max(np.abs(_errors(cases, chip, trial) - ref)) > 1e-3:
            free.append(name)
    return free


def fit_chip(cases: list[dict], chip: ChipSpec) -> tuple[KernelParams, dict]:
    """Fit one chip's parameters; returns (params, report with errors before/after)."""
    from scipy.optimize import least_squares

    base = KernelParams.analytic(chip)
    free = _free_names(cases, chip, base)
    x0 = np.log([max(base[n], 1e-6) for n in free])
    lo = np.log([max(PARAMS[n].lo, 1e-6) for n in free])
    hi = np.log([PARAMS[n].hi for n in free])
    x0 = np.clip(x0, lo + 1e-9, hi - 1e-9)

    def residuals(x):
        p = base.replace_values(dict(zip(free, np.exp(x))))
        return np.concatenate([_errors(cases, chip, p), PRIOR_WEIGHT * (x - np.log([max(base[n], 1e-6) for n in free]))])

    before = _errors(cases, chip, base)
    if free:
        sol = least_squares(residuals, x0, bounds=(lo, hi), loss="soft_l1", f_scale=0.1, max_nfev=60 * len(free))
        fitted = base.replace_values(dict(zip(free, np.exp(sol.x))), "fitted")
    else:
        fitted = base
    after = _errors(cases, chip, fitted)
    ape = lambda e: np.abs(np.exp(e) - 1.0)  # noqa: E731
    report = {"n_cases": len(cases), "fitted_keys": free,
              "median_ape_before": float(np.median(ape(before))), "median_ape": float(np.median(ape(after))),
              "p90_ape": float(np.percentile(ape(after), 90))}
    return KernelParams(chip.id, fitted.values, "fitted", tuple(free)), report


def fit_cases(cases: list[dict], chips: dict[str, ChipSpec] | None = None) -> dict[str, dict]:
    """Fit parameters per chip from case dicts. Returns {chip_id: {"values", "fitted_keys", "report", "skipped"}}."""
    by_chip: dict[str, list[dict]] = {}
    for case in cases:
        if case.get("kind") in KINDS and case.get("n_devices", 1) == 1:
            by_chip.setdefault(case["hardware"], []).append(case)
    out: dict[str, dict] = {}
    for chip_id, group in sorted(by_chip.items()):
        chip = (chips or {}).get(chip_id) or _load_chip(chip_id)
        usable, skipped = [], []
        for case in group:
            try:
                predict_value(case, chip, KernelParams.analytic(chip))
                usable.append(case)
            except (InputError, KeyError, ValueError) as exc:
                skipped.append({"id": case.get("id"), "reason": str(exc)})
        if not usable:
            continue
        params, report = fit_chip(usable, chip)
        out[chip_id] = {"values": {k: params[k] for k in params.fitted_keys}, "fitted_keys": list(params.fitted_keys),
                        "report": report, "skipped": skipped}
    return out


def _load_chip(chip_id: str) -> ChipSpec:
    from hundredx.chip import load_chip  # type: ignore[attr-defined]

    return load_chip(chip_id)


def save_fitted(params: dict[str, dict], path: str | Path = FITTED_DIR, provenance: dict | None = None) -> list[Path]:
    """Write one <chip>.json per fitted chip under `path` (a directory), atomically; returns the files."""
    prov = dict(provenance or {})
    prov.setdefault("date", _dt.date.today().isoformat())
    written = []
    for chip_id, fit in sorted(params.items()):
        target = Path(path) / f"{chip_id}.json"
        doc = {"chip": chip_id, "values": fit["values"], "fitted_keys": fit.get("fitted_keys", list(fit["values"])),
               "report": fit.get("report", {}), "skipped": fit.get("skipped", []), "provenance": prov}
        atomic_write(target, json.dumps(doc, indent=1, sort_keys=True) + "\n")
        written.append(target)
    return written


def load_params(chip: ChipSpec, directory: str | Path | None = None) -> KernelParams:
    """Fitted parameters for the chip if a file exists (source "fitted:<file>"), else analytic defaults."""
    path = Path(directory or FITTED_DIR) / f"{chip.id}.json"
    base = KernelParams.analytic(chip)
    if not path.is_file():
        return base
    doc = json.loads(path.read_text())
    values = {k: float(v) for k, v in doc.get("values", {}).items() if k in PARAMS}
    fitted = base.replace_values(values, f"fitted:{path.name}")
    return KernelParams(chip.id, fitted.values, fitted.source, tuple(values), doc.get("provenance", {}))
