"""Vectorized predictions: `price_replicas` and `predict_arrays` over numpy arrays, `predict_many` over a table.

One code path with `predict`: every configuration is priced by `single.phase_steps` (the same
forward-pass costs, engine overheads and speculative-decoding arithmetic), only with arrays of
batch / isl / context / tp / pp in place of scalars. A few choices in the layers are made once
per call rather than per element (the pipeline hop's scope follows all rows; the op graph's
prefill flag follows the longest step), so `price_replicas` splits its rows into blocks in which
each of those choices is the one `predict` makes for every row alone: one pipeline scope, isl > 1
or not. tp, ep, pp and batch vary within a block: the grouped GEMM prices each row at its own
expert count (kernel/grouped_gemm.expert_tiles), and the DeepEP mode and the MoE output's
all-reduce (ep <= tp) or dispatch/combine (ep > tp) are chosen per row (kernel/sharding.py).
tests/test_predict_arrays.py checks sampled rows against `predict` (rel 1e-9).

`predict_arrays` adds what `predict` adds around the costs: the parallelism rules
(scenario/rules.violations), the memory fit (scenario/memory.memory_use), throughput
batch * osl / (TTFT + osl * TPOT) per replica times dp, per device, per user, and the decode
bottleneck. Rows that break a rule (or, with `price="runs"`, do not fit) are not priced: their
metrics are NaN and `reason` says why. `predict_many(table)` groups a DataFrame by structure
(model, system, formats, non-numeric knobs) and calls `predict_arrays` per group; it keeps its
historical fit check at isl + osl tokens of KV (predict's is isl + osl/2 under continuous batching).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from hundredx.predict.engine import BOUNDS
from hundredx.predict.single import phase_steps
from hundredx.scenario.memory import memory_use
from hundredx.scenario.rules import violations
from hundredx.scenario.stack import Stack

if TYPE_CHECKING:
    import pandas as pd

NUMERIC = {"tp": 1, "pp": 1, "ep": 1, "dp": 1, "batch": 1, "isl": 1024, "osl": 128}
STRUCTURAL = {"weights": None, "kv": None, "act": None, "attention_kernel": "auto", "attention_dp": False,
              "fused": True, "cuda_graphs": True, "gemm_library": "auto", "engine": "generic"}
SCALAR_ROWS = 256  # rows per (tp, pp) above which blocks keep tp and pp scalar (weight shapes stay scalars)
RESULTS = ("ttft_s", "tpot_s", "output_tokens_per_s", "output_tokens_per_s_per_device", "tokens_per_s_per_user",
           "memory_per_device_bytes")


def _col(x, n: int) -> np.ndarray:
    return np.broadcast_to(np.asarray(x, dtype=float), (n,))


def _blocks(stack: Stack, tp, ep, pp, batch, isl) -> np.ndarray:
    """A block code per row: rows of one code share every once-per-call choice (module docstring)."""
    system, rt = stack.system, stack.runtime
    code = ((pp > 1) & (tp * pp * rt.cp > system.scaleup_domain)).astype(np.int64)  # pipeline hop scope
    code |= (isl <= 1).astype(np.int64) << 1  # a one-token prompt is priced as a decode step
    combos, inverse = np.unique(tp * 4096.0 + pp, return_inverse=True)
    if tp.size >= SCALAR_ROWS * len(combos):  # many rows per (tp, pp): scalar shapes are cheaper per row
        code |= inverse.astype(np.int64) << 40
    return code


def _scalar_if_constant(x: np.ndarray):
    return float(x[0]) if x.size and np.all(x == x[0]) else x


def price_replicas(stack: Stack, tp, ep, pp, batch, isl, osl) -> dict[str, np.ndarray]:
    """TTFT, TPOT and the decode bottleneck of one replica per row (rows must obey the rules): the
    static-batch model of `predict` (predict/single.py), priced in blocks (module docstring)."""
    n = int(np.broadcast(tp, ep, pp, batch, isl, osl).size)
    tp, ep, pp, batch, isl, osl = (_col(x, n) for x in (tp, ep, pp, batch, isl, osl))
    ttft, tpot = np.empty(n), np.empty(n)
    bottleneck = np.empty(n, dtype=object)
    codes = _blocks(stack, tp, ep, pp, batch, isl)
    order = np.argsort(codes, kind="stable")
    bounds = np.flatnonzero(np.diff(codes[order])) + 1
    for rows in np.split(order, bounds) if n else []:
        b, i, o = batch[rows], isl[rows], osl[rows]
        tp_b, pp_b, ep_b = (_scalar_if_constant(x[rows]) for x in (tp, pp, ep))
        prefill, _, decode, per_step = phase_steps(stack, b, _scalar_if_constant(i), i + o / 2.0, tp_b, ep_b, pp_b)
        ttft[rows] = np.broadcast_to(prefill.time_s, rows.shape)
        tpot[rows] = np.broadcast_to(decode.time_s, rows.shape) / per_step
        parts = np.stack([np.broadcast_to(np.asarray(decode.by_bound[k], float), rows.shape) for k in BOUNDS])
        bottleneck[rows] = np.asarray(BOUNDS, dtype=object)[np.argmax(parts, axis=0)]
    return {"ttft_s": ttft, "tpot_s": tpot, "bottleneck": bottleneck}


def throughput(batch, osl, dp, ttft_s, tpot_s, devices) -> dict[str, np.ndarray]:
    """predict's throughput: a replica makes batch * osl tokens per TTFT + osl * TPOT; dp replicas."""
    total = np.multiply(np.divide(np.multiply(batch, osl), np.add(ttft_s, np.multiply(osl, tpot_s))), dp)
    return {"output_tokens_per_s": total, "output_tokens_per_s_per_device": np.divide(total, devices),
            "tokens_per_s_per_user": np.divide(1.0, tpot_s)}


def predict_arrays(stack: Stack, tp, ep, pp, dp, batch, isl, osl, kv_osl=None, price: str = "runs"):
    """predict over arrays of configurations of one structure (`stack`: model, system and runtime
    knobs; its own tp/ep/pp/dp are not used). `kv_osl`: output tokens the KV cache holds per sequence
    in the fit check (default osl/2 under continuous batching, osl under static, as `predict`).
    `price`: "runs" prices the rows that obey the rules and fit, "valid" every row obeying the rules.
    Returns a dict of arrays: RESULTS, bottleneck, fits, valid, reason ("" when the row runs)."""
    n = int(np.broadcast(tp, ep, pp, dp, batch, isl, osl).size)
    tp, ep, pp, dp, batch, isl, osl = (_col(x, n) for x in (tp, ep, pp, dp, batch, isl, osl))
    rt = stack.runtime
    if kv_osl is None:
        kv_osl = osl / 2.0 if rt.scheduler.policy == "continuous" else osl
    raw = violations(stack.model, stack.system, tp, ep, pp, dp, rt.cp, rt.attention_dp)
    reason = np.broadcast_to(np.asarray(raw, dtype=object), (n,))
    valid = reason == ""
    safe = [np.where(valid, x, 1.0) for x in (tp, ep, pp)]
    mem = memory_use(stack, batch, isl, kv_osl, tp=safe[0], ep=safe[1], pp=safe[2])
    fits = np.broadcast_to(mem.fits, (n,)) & valid
    mask = fits if price == "runs" else valid
    out = {k: np.full(n, np.nan) for k in ("ttft_s", "tpot_s")}
    out["bottleneck"] = np.full(n, "", dtype=object)
    rows = np.flatnonzero(mask)
    if rows.size:
        priced = price_replicas(stack, tp[rows], ep[rows], pp[rows], batch[rows], isl[rows], osl[rows])
        for key, value in priced.items():
            out[key][rows] = value
    devices = tp * pp * rt.cp * dp
    out.update(throughput(batch, osl, dp, out["ttft_s"], out["tpot_s"], devices))
    out["memory_per_device_bytes"] = np.broadcast_to(np.asarray(mem.total_bytes, dtype=float), (n,))
    out["fits"], out["valid"] = fits, valid
    out["reason"] = np.where(valid, np.where(fits, "", "does not fit in memory"), reason)
    return out


def _group_predict(key: tuple, rows: pd.DataFrame) -> pd.DataFrame:
    from hundredx.chip import load_system
    from hundredx.scenario.build import build

    model_id, system_id, weights, kv, act, attn_kernel, attn_dp, fused, graphs, gemm_lib, engine = key
    # The group's structure as one scenario; its parallel degrees are the arrays below. The system is sized
    # to the group's largest deployment (a torus slice of that size serves every row of the group).
    largest = int(np.max(rows["tp"].to_numpy() * rows["pp"].to_numpy() * rows["dp"].to_numpy(), initial=1))
    cap = load_system(system_id).max_devices  # rows beyond it are flagged by the rules, not built
    largest = min(largest, cap) if cap else largest
    stack = build(model_id, system_id, tp=1, dp=largest, weights=weights, kv=kv, act=act,
                  attention_kernel=attn_kernel, attention_dp=bool(attn_dp), fused=bool(fused), cuda_graphs=bool(graphs),
                  gemm_library=gemm_lib, engine=engine or "generic").stack
    a = {k: rows[k].to_numpy(dtype=float) for k in NUMERIC}
    res = predict_arrays(stack, a["tp"], a["ep"], a["pp"], a["dp"], a["batch"], a["isl"], a["osl"], kv_osl=a["osl"],
                         price="valid")
    out = rows.copy()
    for col in RESULTS:
        out[col] = res[col]
    out["fits"], out["valid"] = res["fits"], res["valid"]
    out["invalid_reason"], out["bottleneck"] = res["reason"], res["bottleneck"]
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
    import pandas as pd

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
            "gemm_library", "engine"]
    if _constant(df, keys):  # the common sweep: one structure, numbers vary (skip a 200k-row groupby)
        first = df.iloc[0]
        key = tuple(None if _missing(first[k]) else first[k] for k in keys)
        return _group_predict(key, df)
    filled = df[keys].astype(object).where(df[keys].notna(), None)
    parts = []
    for key, idx in filled.groupby(keys, dropna=False, sort=False).groups.items():
        key = tuple(None if (isinstance(v, float) and np.isnan(v)) else v for v in key)
        parts.append(_group_predict(key, df.loc[idx]))
    return pd.concat(parts).sort_index() if parts else df


__all__ = ["predict_arrays", "predict_many", "price_replicas", "throughput"]
