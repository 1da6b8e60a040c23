"""The rows of a search: one schema for every configuration, the SLA check, and each row's command.

Columns (SCHEMA, in order; units in the names; docs/search.md describes each):
  unit, row          which work unit and which row of it (unique together)
  mode               agg | disagg
  model, chip, system, what_if, total_params, active_params, model_<axis>, chip_<axis>
  weights, kv, attention_kernel, moe_routing, speculative
  devices, tp, pp, ep, moe_tp, dp, attention_dp, batch, concurrency     (disagg: the decode pool;
                     dp = decode workers, concurrency = decode slots W_d b_d)
  prefill_workers, prefill_tp, prefill_pp, prefill_ep, prefill_attention_dp, prefill_batch,
  prefill_devices, decode_devices                                        (0 / false for agg)
  ttft_s, tpot_s, request_latency_s, output_tokens_per_s, output_tokens_per_s_per_device,
  tokens_per_s_per_user, request_rate_per_s, prefill_ttft_s, kv_transfer_s,
  memory_per_device_bytes, prefill_memory_per_device_bytes, bottleneck, limited_by
  <metric>_lo, <metric>_hi   the 80% interval of ttft_s, tpot_s, output_tokens_per_s_per_device and
                     tokens_per_s_per_user: the measured held-out error of whole-deployment serving
                     predictions (the serving cells of kernel/fitted/intervals.json, as `predict`'s
                     metric intervals use them; predict's own interval is the union of that cell
                     with its per-op composition, so it is at least as wide)
  runs               the rules hold and it fits in memory
  meets_slo          TTFT, TPOT and request latency (TTFT + (osl - 1) TPOT) within the limits
  feasible           runs and meets_slo;  reason: why not ("" when feasible)
`command(row, question)` is the `hundredx predict` line that reproduces a row (predict's
--concurrency for agg; --disagg P:D with the prefill pool's flags for disagg; --what-if for a
model or chip variant); `tests/test_search_cli.py` runs it.
"""

from __future__ import annotations

import math
import shlex
from typing import Any

import numpy as np

from hundredx.kernel.intervals import load_table, serving_group, time_factors, value_interval, withheld
from hundredx.search.space import NATIVE, Question, spec_text
from hundredx.search.units import Unit
from hundredx.search.whatif import parameters, what_if_args

INT = ("unit", "row", "devices", "tp", "pp", "ep", "dp", "batch", "concurrency", "prefill_workers", "prefill_tp",
       "prefill_pp", "prefill_ep", "prefill_batch", "prefill_devices", "decode_devices")
FLOAT = ("total_params", "active_params", "moe_tp", "ttft_s", "tpot_s", "request_latency_s", "output_tokens_per_s",
         "output_tokens_per_s_per_device", "tokens_per_s_per_user", "request_rate_per_s", "prefill_ttft_s",
         "kv_transfer_s", "memory_per_device_bytes", "prefill_memory_per_device_bytes", "ttft_s_lo", "ttft_s_hi",
         "tpot_s_lo", "tpot_s_hi", "output_tokens_per_s_per_device_lo", "output_tokens_per_s_per_device_hi",
         "tokens_per_s_per_user_lo", "tokens_per_s_per_user_hi")
BOOL = ("attention_dp", "prefill_attention_dp", "runs", "meets_slo", "feasible")
TEXT = ("mode", "model", "chip", "system", "what_if", "weights", "kv", "attention_kernel", "moe_routing", "speculative",
        "bottleneck", "limited_by", "reason")
SCHEMA = ("unit", "row", "mode", "model", "chip", "system", "what_if", "total_params", "active_params", "weights",
          "kv", "attention_kernel", "moe_routing", "speculative", "devices", "tp", "pp", "ep", "moe_tp", "dp",
          "attention_dp", "batch", "concurrency", "prefill_workers", "prefill_tp", "prefill_pp", "prefill_ep",
          "prefill_attention_dp", "prefill_batch", "prefill_devices", "decode_devices", "ttft_s", "tpot_s",
          "request_latency_s", "output_tokens_per_s", "output_tokens_per_s_per_device", "tokens_per_s_per_user",
          "request_rate_per_s", "prefill_ttft_s", "kv_transfer_s", "memory_per_device_bytes",
          "prefill_memory_per_device_bytes", "bottleneck", "limited_by", "ttft_s_lo", "ttft_s_hi", "tpot_s_lo",
          "tpot_s_hi", "output_tokens_per_s_per_device_lo", "output_tokens_per_s_per_device_hi",
          "tokens_per_s_per_user_lo", "tokens_per_s_per_user_hi", "runs", "meets_slo", "feasible", "reason")
METRICS = ("ttft_s", "tpot_s", "request_latency_s", "output_tokens_per_s_per_device", "tokens_per_s_per_user")


def axis_columns(model_axes, chip_axes) -> tuple[str, ...]:
    """The extra columns of a space's model and chip axes."""
    return tuple(f"model_{k}" for k, _ in model_axes) + tuple(f"chip_{k}" for k, _ in chip_axes)


def _intervals(cols: dict[str, np.ndarray], chip) -> None:
    """The rows' 80% intervals from the serving cells of the interval table (module docstring), through
    kernel.intervals.value_interval as predict's own metric and steady-state intervals use it; NaN on a chip
    whose platform no case measures (kernel/intervals.withheld, as predict gives none there)."""
    table = load_table()
    unmeasured = bool(withheld(chip, table))
    for col, metric in (("ttft_s", "ttft_s"), ("tpot_s", "time_per_output_token_s"),
                        ("output_tokens_per_s_per_device", "output_tokens_per_s")):
        if unmeasured:
            cols[f"{col}_lo"], cols[f"{col}_hi"] = np.full(cols[col].shape, np.nan), np.full(cols[col].shape, np.nan)
            continue
        factors = time_factors(table, "serving", serving_group(metric), "any")
        cols[f"{col}_lo"], cols[f"{col}_hi"] = value_interval(cols[col], metric, factors)
    with np.errstate(divide="ignore"):
        cols["tokens_per_s_per_user_lo"] = 1.0 / cols["tpot_s_hi"]
        cols["tokens_per_s_per_user_hi"] = 1.0 / cols["tpot_s_lo"]


def _slo(question: Question, out: dict[str, np.ndarray]) -> None:
    runs = out["reason"] == ""
    checks = (("ttft_s", question.ttft_limit_s, "TTFT over the limit"),
              ("tpot_s", question.tpot_limit_s, "TPOT over the limit"),
              ("request_latency_s", question.request_latency_limit_s, "request latency over the limit"))
    reason = out["reason"]
    meets = np.ones(runs.shape, dtype=bool)
    with np.errstate(invalid="ignore"):
        for key, limit, why in reversed(checks):
            over = runs & ~(out[key] <= limit)
            meets &= ~over
            reason = np.where(over, why, reason)
    out["runs"], out["meets_slo"] = runs, meets & runs
    out["feasible"] = runs & meets
    out["reason"] = reason.astype(object)


def finish(question: Question, unit: Unit, model, system, cols: dict[str, np.ndarray], axes: tuple[str, ...]):
    """The unit's rows in SCHEMA order (+ axis columns): labels, SLA, types (module docstring)."""
    n = int(cols["tp"].size)
    cols = dict(cols)
    cols["request_latency_s"] = cols["ttft_s"] + (question.osl - 1) * cols["tpot_s"]
    cols["moe_tp"] = np.maximum(cols["tp"] / cols["ep"], 1.0)
    _slo(question, cols)
    _intervals(cols, system.chip)
    total, active = parameters(model)
    changes, chips = dict(unit.model_changes), dict(unit.chip_changes)
    labels: dict[str, Any] = {"unit": unit.index, "model": model.id, "chip": system.chip.id, "system": system.id,
                              "what_if": " ".join(what_if_args(changes, chips)), "total_params": total,
                              "active_params": active, "weights": model.quant.weight.name, "kv": model.quant.kv.name,
                              "attention_kernel": unit.attention_kernel, "moe_routing": unit.moe_routing,
                              "speculative": spec_text(unit.speculative)}
    out: dict[str, np.ndarray] = {}
    for name in SCHEMA + axes:
        if name == "row":
            value: Any = np.arange(n)
        elif name in labels:
            value = labels[name]
        elif name.startswith(("model_", "chip_")) and name in axes:
            key = name.split("_", 1)[1]
            value = changes.get(key) if name.startswith("model_") else chips.get(key)
            value = float(value) if isinstance(value, (int, float)) else math.nan
        else:
            value = cols.get(name)
        out[name] = _typed(name, value, n)
    return out


def text_column(n: int, value: str) -> np.ndarray:
    """n references to one string (np.full would build n copies of it)."""
    out = np.empty(n, dtype=object)
    out.fill(value)
    return out


def default_column(name: str, n: int) -> np.ndarray:
    """A column of n defaults of `name`'s type (0, False, "" or NaN): what a mode without the field holds."""
    return _typed(name, None, n)


def _typed(name: str, value, n: int) -> np.ndarray:
    if name in INT:
        default: Any = 0
        kind: Any = np.int64
    elif name in BOOL:
        default, kind = False, bool
    elif name in TEXT:
        default, kind = "", object
    else:
        default, kind = math.nan, np.float64
    if value is None:
        value = default
    arr = np.asarray(value, dtype=object if kind is object else None)
    if arr.ndim == 0:
        out = np.empty(n, dtype=kind)
        out.fill(arr.item() if kind is not object else value)  # one shared object, not n copies (np.full copies)
        return out
    if arr.dtype == kind:
        return np.ascontiguousarray(arr)
    if kind is np.int64:
        arr = np.nan_to_num(arr.astype(np.float64), nan=0.0, posinf=0.0)
    return np.ascontiguousarray(arr.astype(kind))


def _flag(on: bool, name: str) -> list[str]:
    return [name] if on else []


def command(row: dict, question: Question, unit: Unit) -> str:
    """The `hundredx predict` command line that reproduces `row` (module docstring)."""
    args = ["hundredx", "predict", "--model", str(question.model), "--chip", str(question.chip)]
    if row["mode"] == "disagg":
        args += ["--disagg", f"{int(row['prefill_devices'])}:{int(row['decode_devices'])}"]
    else:
        args += ["--devices", str(int(row["devices"]))]
    args += ["--tp", str(int(row["tp"])), "--pp", str(int(row["pp"])), "--ep", str(int(row["ep"]))]
    args += _flag(bool(row["attention_dp"]), "--attention-dp")
    if row["mode"] == "disagg":
        args += ["--prefill-tp", str(int(row["prefill_tp"])), "--prefill-pp", str(int(row["prefill_pp"])),
                 "--prefill-ep", str(int(row["prefill_ep"]))]
        args += _flag(bool(row["prefill_attention_dp"]), "--prefill-attention-dp")
        args += ["--prefill-batch", str(int(row["prefill_batch"]))]
    args += ["--concurrency", str(int(row["concurrency"]))]  # disagg: W_d b_d clients, batch b_d per decode worker
    for flag, fmt in (("--weights", unit.weights), ("--kv", unit.kv)):
        if fmt != NATIVE:
            args += [flag, fmt]
    if row.get("attention_kernel", "auto") != "auto":
        args += ["--attention-kernel", str(row["attention_kernel"])]
    if row.get("moe_routing", "uniform") != "uniform":
        args += ["--moe-routing", str(row["moe_routing"])]
    if row.get("speculative", "none") != "none":
        args += ["--spec", str(row["speculative"])]
    for item in str(row.get("what_if") or "").split():
        args += ["--what-if", item]
    args += ["--isl", str(question.isl), "--osl", str(question.osl), "--json"]
    return shlex.join(args)


def plain(row: dict) -> dict:
    """A row as JSON-able Python values (NaN as None)."""
    out = {}
    for k, v in row.items():
        if isinstance(v, np.generic):
            v = v.item()
        if isinstance(v, float) and not math.isfinite(v):
            v = None
        out[k] = v
    return out


__all__ = ["BOOL", "FLOAT", "INT", "METRICS", "SCHEMA", "TEXT", "axis_columns", "command", "default_column", "finish",
           "plain", "text_column"]
