"""Disaggregated rows of a search unit: prefill pool x decode pool x worker counts (predict/pools.py).

Pool candidates are the unit's priced replica candidates (search/evaluate.py): a prefill
candidate fits at isl + 1/2 tokens of KV and has a prefill batch (deployment.prefill_batch), a
decode candidate fits at isl + osl/2 and has a decode batch (deployment.batch). Only pools that
run and meet their own limit join (a prefill pool over the TTFT or request-latency limit, or a
decode pool over the TPOT limit, cannot be part of a deployment that meets it). Of the prefill
candidates of one replica size and worker count, those another beats on both TTFT and requests/s
per worker (and the TTFT of one prompt, T_1 of the closed loop) are left out: with everything else
equal, they make a row that row beats.

A row is the closed loop at its W_d b_d clients (`predict --disagg P:D ... --concurrency W_d b_d`, the
formula's one home predict/pools.compose): the decode pool's TPOT at b_d in flight per worker, the
rate the pools serve (rate matching) and the TTFT with the prefill pool's queueing and the KV transfer.

With the question's devices N, every split W_p rep_p + W_d rep_d = N is a row (the rules that
need dp, ep <= tp dp, are checked per pool at its worker count). With a target rate R, each pair
gets the fewest workers (at least ceil(ep / tp) per pool for its EP group) whose closed loop at
W_d b_d clients, rate-matched, serves R (`_sized`), and the row's devices follow.
"""

from __future__ import annotations

import math

import numpy as np

from hundredx.predict.pools import compose
from hundredx.search.evaluate import Tables, dp_rules, need_workers
from hundredx.search.rows import text_column
from hundredx.search.space import Question, Space
from hundredx.serve.pareto import undominated

POOL_KEYS = ("attention_dp", "tp", "pp", "ep", "batch")
TARGET_ITERATIONS = 16  # growth steps of the worker sizing under --target-rate (it settles in a few)


def _pool(cand: dict, question: Question, space: Space, prefill: bool) -> np.ndarray:
    """Indices of the candidates that can be this pool (module docstring), before worker counts."""
    if prefill:
        ok = cand["fits_prefill"] & np.isin(cand["batch"], np.asarray(space.deployment.prefill_batch, float))
        t = cand["ttft_s"]
        limit = min(question.ttft_limit_s, question.request_latency_limit_s)
    else:
        ok = cand["fits_decode"] & np.isin(cand["batch"], np.asarray(space.deployment.batch, float))
        t = cand["tpot_s"]
        limit = question.tpot_limit_s
    with np.errstate(invalid="ignore"):
        ok = ok & np.isfinite(t) & (t <= limit)
    return np.flatnonzero(ok)


def _front(cand: dict, idx: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """The prefill candidates no other of their group beats on TTFT, TTFT of one prompt and requests/s per worker."""
    keep = []
    ttft, one = cand["ttft_s"][idx], cand["ttft_one_s"][idx]
    rate = cand["batch"][idx] / ttft
    for g in np.unique(groups):
        sel = np.flatnonzero(groups == g)
        keep.append(idx[sel[undominated(np.column_stack([-ttft[sel], -one[sel], rate[sel]]))]])
    return np.concatenate(keep) if keep else idx[:0]


def _rows(cand_p: dict, p: np.ndarray, cand_d: dict, d: np.ndarray, wp, wd, question: Question,
          tables: Tables) -> dict[str, np.ndarray]:
    """The rows of (prefill candidate p[i], decode candidate d[i]) pairs at worker counts wp, wd."""
    rep_p = cand_p["tp"][p] * cand_p["pp"][p]
    rep_d = cand_d["tp"][d] * cand_d["pp"][d]
    wp, wd = np.broadcast_to(wp, p.shape).astype(float), np.broadcast_to(wd, d.shape).astype(float)
    out = {k: cand_d[k][d] for k in POOL_KEYS}
    out.update({f"prefill_{k}": cand_p[k][p] for k in POOL_KEYS})
    out.update(compose(tables.system, float(question.osl), cand_p["ttft_s"][p], cand_p["batch"][p], wp, rep_p,
                       cand_d["tpot_s"][d], cand_d["batch"][d], wd, rep_d, cand_d["kv_transfer_bytes"][d],
                       layers=tables.model.num_layers, concurrency=wd * cand_d["batch"][d],
                       ttft_1=cand_p["ttft_one_s"][p]))
    out.update(dp=wd, prefill_workers=wp, concurrency=wd * cand_d["batch"][d], bottleneck=cand_d["bottleneck"][d],
               memory_per_device_bytes=cand_d["memory_decode_bytes"][d],
               prefill_memory_per_device_bytes=cand_p["memory_prefill_bytes"][p])
    return out


def _split_rows(question: Question, space: Space, tables: Tables) -> list[dict]:
    n, parts = question.devices, []
    first = tables(n)
    reps = sorted(set((first["tp"] * first["pp"]).astype(int).tolist()))
    runs: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}
    cache: dict[tuple, np.ndarray] = {}
    fronts: dict[tuple, np.ndarray] = {}

    def pool(devices: int, rep: int, prefill: bool) -> np.ndarray:
        """The candidates of replica size `rep` that run as a pool of devices / rep workers (cached)."""
        key = (tables.key(devices), rep, prefill, devices // rep)
        if key in cache:
            return cache[key]
        base = key[:3]
        if base not in runs:  # the rules for every worker count at once (one violations call)
            cand = tables(devices)
            idx = _pool(cand, question, space, prefill)
            idx = idx[cand["tp"][idx] * cand["pp"][idx] == rep]
            workers = np.arange(1, n // rep + 1, dtype=float)
            rows = {k: np.repeat(cand[k][idx], workers.size) for k in ("tp", "pp", "ep", "attention_dp")}
            ok = dp_rules(tables.model, tables.system, rows, np.tile(workers, idx.size)) == ""
            runs[base] = (idx, ok.reshape(idx.size, workers.size))
        idx, ok = runs[base]
        column = ok[:, devices // rep - 1]
        idx = idx[column]
        if prefill and idx.size:  # worker counts that admit the same candidates share their front
            same = base + (column.tobytes(),)
            if same not in fronts:
                fronts[same] = _front(tables(devices), idx, np.zeros(idx.size))
            idx = fronts[same]
        cache[key] = idx
        return idx

    pairs: dict[tuple, list[tuple]] = {}  # (prefill pool sizing, decode pool sizing) -> pairs
    for rep_p in reps:
        for rep_d in reps:
            for wp in range(1, (n - rep_d) // rep_p + 1):
                rest = n - wp * rep_p
                if rest % rep_d:
                    continue
                ip, id_ = pool(wp * rep_p, rep_p, True), pool(rest, rep_d, False)
                if ip.size and id_.size:
                    key = (tables.key(wp * rep_p), tables.key(rest))
                    pairs.setdefault(key, []).append((np.repeat(ip, id_.size), np.tile(id_, ip.size), wp,
                                                      rest // rep_d, wp * rep_p, rest))
    for group in pairs.values():  # one composition per pair of sizings (one for a switched system)
        p = np.concatenate([g[0] for g in group])
        d = np.concatenate([g[1] for g in group])
        sizes = [g[0].size for g in group]
        wp_ = np.repeat(np.array([g[2] for g in group], dtype=float), sizes)
        wd_ = np.repeat(np.array([g[3] for g in group], dtype=float), sizes)
        row = _rows(tables(group[0][4]), p, tables(group[0][5]), d, wp_, wd_, question, tables)
        row["reason"] = text_column(p.size, "")
        parts.append(row)
    return parts


def _target_rows(question: Question, space: Space, tables: Tables) -> list[dict]:
    rate = float(question.target_rate_per_s or 0.0)
    cand = tables(question.devices)
    ip, id_ = _pool(cand, question, space, True), _pool(cand, question, space, False)
    if not (ip.size and id_.size):
        return []
    min_p = np.ceil(cand["ep"] / cand["tp"])
    ip = _front(cand, ip, cand["tp"][ip] * cand["pp"][ip] * 4096 + min_p[ip])
    p, d = np.repeat(ip, id_.size), np.tile(id_, ip.size)
    wp, wd = _sized(cand, p, d, rate, min_p, question, tables)
    row = _rows(cand, p, cand, d, wp, wd, question, tables)
    pre = {k: cand[k][p] for k in POOL_KEYS}
    dec = {k: cand[k][d] for k in POOL_KEYS}
    pre_rule = dp_rules(tables.model, tables.system, pre, np.where(np.isfinite(wp), wp, 1.0))
    reason = np.array([f"prefill pool: {r}" if r else "" for r in pre_rule], dtype=object)
    dec_rule = dp_rules(tables.model, tables.system, dec, np.where(np.isfinite(wd), wd, 1.0))
    reason = np.where(reason == "", dec_rule, reason)
    too_big = ~np.isfinite(row["devices"]) | (row["devices"] > question.devices)
    row["reason"] = np.where((reason == "") & too_big, "needs more devices than --devices", reason).astype(object)
    return [row]


def _sized(cand: dict, p: np.ndarray, d: np.ndarray, rate: float, min_p: np.ndarray, question: Question,
           tables: Tables) -> tuple[np.ndarray, np.ndarray]:
    """(W_p, W_d): the fewest workers whose closed loop at W_d b_d clients serves `rate` (module docstring).
    Start from each pool's own bound (W_p b_p / T_p >= R, W_d b_d / (osl TPOT_d) >= R), then grow the pool
    the loop is short on in proportion (the served rate is about linear in the workers of the pool that
    limits it) until the rate is met, and give back a decode worker where the rate holds without it."""
    wp = need_workers(rate, cand["batch"] / cand["ttft_s"], min_p)[p]
    wd = need_workers(rate, cand["batch"] / (question.osl * cand["tpot_s"]), min_p)[d]
    live = np.isfinite(wp) & np.isfinite(wd)

    def served(wp_, wd_, rows):
        out = _rows(cand, p[rows], cand, d[rows], wp_[rows], wd_[rows], question, tables)
        return out["request_rate_per_s"], out["limited_by"]

    for _ in range(TARGET_ITERATIONS):
        rows = np.flatnonzero(live)
        got, by = served(wp, wd, rows)
        short = got < rate * (1.0 - 1e-12)
        if not short.any():
            break
        rows, got, pre = rows[short], got[short], by[short] == "prefill"
        now = np.where(pre, wp[rows], wd[rows])
        grow = np.maximum(np.ceil(now * rate / got), now + 1.0)
        wp[rows[pre]], wd[rows[~pre]] = grow[pre], grow[~pre]
    rows = np.flatnonzero(live & (wd > min_p[d]))
    if rows.size:
        fewer = wd.copy()
        fewer[rows] -= 1.0
        got, _ = served(wp, fewer, rows)
        enough = got >= rate * (1.0 - 1e-12)
        wd[rows[enough]] = fewer[rows[enough]]
    return wp, wd


def disagg_rows(question: Question, space: Space, tables: Tables) -> dict[str, np.ndarray] | None:
    """The unit's disaggregated rows (module docstring); None when no pair of pools runs."""
    parts = _target_rows(question, space, tables) if question.target_rate_per_s else \
        _split_rows(question, space, tables)
    parts = [p for p in parts if p["tp"].size]
    if not parts:
        return None
    out = parts[0] if len(parts) == 1 else {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    out["mode"] = text_column(out["tp"].size, "disagg")
    bad = out["reason"] != ""
    for key in ("ttft_s", "tpot_s", "output_tokens_per_s", "output_tokens_per_s_per_device", "tokens_per_s_per_user",
                "request_rate_per_s"):
        out[key] = np.where(bad, math.nan, out[key])
    return out


__all__ = ["disagg_rows"]
