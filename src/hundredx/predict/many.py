"""`predict_many(table) -> DataFrame`: vectorized predictions over a table of configurations.

Rows are grouped by what changes the op graph's structure (model, system, formats and
the non-numeric runtime knobs); inside a group, batch / isl / osl / tp / ep / pp / dp are
numpy arrays pushed through the same formulas as `predict` (one code path). Rows whose
parallelism breaks a rule (scenario/rules.py, the same rules every stack is built under) or
whose memory does not fit are kept, flagged in `valid` / `fits` with the reason in
`invalid_reason`, never silently dropped.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from hundredx.chip import load_system
from hundredx.predict.engine import BOUNDS
from hundredx.predict.single import phase_steps
from hundredx.scenario.build import build
from hundredx.scenario.memory import memory_use
from hundredx.scenario.rules import violations

NUMERIC = {"tp": 1, "pp": 1, "ep": 1, "dp": 1, "batch": 1, "isl": 1024, "osl": 128}
STRUCTURAL = {"weights": None, "kv": None, "act": None, "attention_kernel": "auto", "attention_dp": False,
              "fused": True, "cuda_graphs": True, "gemm_library": "auto"}


def _by_parallelism(key: tuple, rows: pd.DataFrame) -> pd.DataFrame:
    """Split a structure group by its few (tp, ep, pp) combinations: inside each, weight shapes and
    head counts are scalars, so only the token-dependent quantities are arrays."""
    code = sum(rows[k].to_numpy(dtype=np.int64) * scale for k, scale in (("tp", 1 << 40), ("ep", 1 << 20), ("pp", 1)))
    combos, inverse = np.unique(code, return_inverse=True)
    if len(combos) == 1 or len(combos) > 64:
        return _group_predict(key, rows)
    picks = [np.flatnonzero(inverse == i) for i in range(len(combos))]
    merged = pd.concat([_group_predict(key, rows.iloc[p]) for p in picks])
    return merged.iloc[np.argsort(np.concatenate(picks), kind="stable")]


def _group_predict(key: tuple, rows: pd.DataFrame) -> pd.DataFrame:
    model_id, system_id, weights, kv, act, attn_kernel, attn_dp, fused, graphs, gemm_lib = key
    # The group's structure as one scenario; its parallel degrees are the arrays below. The system is sized
    # to the group's largest deployment (a torus slice of that size serves every row of the group).
    largest = int(np.max(rows["tp"].to_numpy() * rows["pp"].to_numpy() * rows["dp"].to_numpy(), initial=1))
    cap = load_system(system_id).max_devices  # rows beyond it are flagged by the rules, not built
    largest = min(largest, cap) if cap else largest
    stack = build(model_id, system_id, tp=1, dp=largest, weights=weights, kv=kv, act=act,
                  attention_kernel=attn_kernel, attention_dp=bool(attn_dp), fused=bool(fused), cuda_graphs=bool(graphs),
                  gemm_library=gemm_lib).stack
    model, system = stack.model, stack.system
    a = {k: rows[k].to_numpy(dtype=float) for k in NUMERIC}
    for k in ("tp", "ep", "pp"):  # constant within a parallelism split: use scalars
        if a[k].size and np.all(a[k] == a[k][0]):
            a[k] = float(a[k][0])
    shape = a["batch"].shape
    raw = violations(model, system, a["tp"], a["ep"], a["pp"], a["dp"], 1, bool(attn_dp))
    if np.ndim(raw) and not np.any(raw != ""):  # every row runs: keep the scalar degrees (cheaper numpy)
        raw = ""
    ok = raw == ""
    if np.ndim(raw) == 0:  # one parallelism for the whole split: keep scalars (cheaper numpy)
        tp, ep, pp = (a[k] if ok else 1.0 for k in ("tp", "ep", "pp"))
    else:
        tp, ep, pp = (np.where(ok, a[k], 1.0) for k in ("tp", "ep", "pp"))
    reason = np.broadcast_to(raw, shape)
    mem = memory_use(stack, a["batch"], a["isl"], a["osl"], tp=tp, ep=ep, pp=pp)
    prefill, _, decode, per_step = phase_steps(stack, a["batch"], a["isl"], a["isl"] + a["osl"] / 2.0, tp, ep, pp)
    ttft = np.broadcast_to(prefill.time_s, shape)
    tpot = np.broadcast_to(decode.time_s, shape) / per_step
    total = a["batch"] * a["osl"] / (ttft + a["osl"] * tpot) * a["dp"]
    devices = a["tp"] * a["pp"] * a["dp"]
    parts = np.stack([np.broadcast_to(np.asarray(decode.by_bound[b], float), shape) for b in BOUNDS])
    out = rows.copy()
    out["ttft_s"], out["tpot_s"] = ttft, tpot
    out["output_tokens_per_s"] = total
    out["output_tokens_per_s_per_device"] = total / devices
    out["tokens_per_s_per_user"] = 1.0 / tpot
    out["memory_per_device_bytes"] = np.broadcast_to(mem.total_bytes, shape)
    out["fits"] = np.broadcast_to(mem.fits, shape) & (reason == "")
    out["valid"] = reason == ""
    out["invalid_reason"] = np.where(reason != "", reason,
                                     np.where(np.broadcast_to(mem.fits, shape), "", "does not fit in memory"))
    out["bottleneck"] = np.array(BOUNDS)[np.argmax(parts, axis=0)]
    return out


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))


def _constant(df: pd.DataFrame, keys: list[str]) -> bool:
    """True when every key column holds one value (or is entirely missing)."""
    if df.empty:
        return False
    for k in keys:
        col = df[k]
        first = col.iloc[0]
        same = col.isna().all() if _missing(first) else bool((col == first).all())
        if not same:
            return False
    return True


def predict_many(table: pd.DataFrame | dict) -> pd.DataFrame:
    """Predict every row of `table` (columns: model, chip or system, and any of NUMERIC/STRUCTURAL)."""
    df = pd.DataFrame(table).reset_index(drop=True)
    if "system" not in df.columns:
        if "chip" not in df.columns:
            raise ValueError("predict_many: the table needs a 'chip' or 'system' column")
        df["system"] = df["chip"]
    if "model" not in df.columns:
        raise ValueError("predict_many: the table needs a 'model' column")
    for col, default in {**NUMERIC, **STRUCTURAL}.items():
        if col not in df.columns:
            df[col] = default
    keys = ["model", "system", "weights", "kv", "act", "attention_kernel", "attention_dp", "fused", "cuda_graphs",
            "gemm_library"]
    if _constant(df, keys):  # the common sweep: one structure, numbers vary (skip a 200k-row groupby)
        first = df.iloc[0]
        key = tuple(None if _missing(first[k]) else first[k] for k in keys)
        return _by_parallelism(key, df)
    filled = df[keys].astype(object).where(df[keys].notna(), None)
    parts = []
    for key, idx in filled.groupby(keys, dropna=False, sort=False).groups.items():
        key = tuple(None if (isinstance(v, float) and np.isnan(v)) else v for v in key)
        parts.append(_by_parallelism(key, df.loc[idx]))
    return pd.concat(parts).sort_index() if parts else df


__all__ = ["predict_many"]
