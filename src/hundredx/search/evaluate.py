"""Evaluate one search unit: its replica candidates, priced once, and the aggregated rows they make.

A replica candidate is (attention_dp, tp, pp, ep, batch) of one unit's structure. Its stack is
built by `scenario.build` (the unit's model variant, chip variant, formats, attention kernel,
MoE routing, speculative decoding); the shape rules (tp vs heads, ep vs experts, pp vs layers)
come from `scenario.rules.violations`, the memory fit from `scenario.memory.memory_use` at
isl + osl/2 tokens of KV per sequence (aggregated, decode pools: what `predict` checks) and at
isl + 1/2 (prefill pools: `predict` of a prefill-only workload, osl = 1). Candidates that fit
either way are priced by `predict.many.price_replicas` (predict's static-batch model), so one
pricing serves aggregated rows, prefill pools (TTFT at the prefill batch) and decode pools
(TPOT at the decode batch).

Aggregated rows: a deployment of the question's devices runs dp = devices / (tp pp) replicas;
with a target rate R, dp = the replicas needed, max(ceil(R / replica rate), ceil(ep / tp)), the
replica rate being the steady state of one replica at its b clients (search/steady.py: a replica's
closed loop does not depend on dp), and the row's devices follow. Rules that need dp (ep <= tp dp,
the system's device limit) are checked per row by `violations`. A system is sized to each deployment's devices
(`scenario.build`'s rule); on a torus smaller than its pod that changes the collectives, so
`Tables` prices candidates once per sizing.
"""

from __future__ import annotations

import math

import numpy as np

from hundredx.chip.catalog import sized
from hundredx.errors import InputError
from hundredx.model import kv_bytes
from hundredx.predict.many import price_replicas
from hundredx.scenario.build import build
from hundredx.scenario.memory import USABLE_FRACTION, kv_split, memory_use
from hundredx.scenario.rules import violations
from hundredx.search.rows import text_column
from hundredx.search.space import Question, Space
from hundredx.search.steady import steady_columns
from hundredx.search.units import Unit, unit_specs

DEGREES = ("tp", "pp", "ep", "batch")


def sizing(system, devices: int) -> tuple:
    """What of a system's sizing reaches the collectives: equal keys price every op the same."""
    s = sized(system, int(devices))
    return (s.scaleup_domain, tuple(s.torus_dims), s.devices_per_node)


def structure(question: Question, unit: Unit, attention_dp: bool, devices: int):
    """The unit's structure stack (tp = 1; the candidates' degrees are arrays) on `devices` devices."""
    spec, system = unit_specs(question, unit)
    return build(spec, system, devices=devices, tp=1, attention_dp=attention_dp, attention_kernel=unit.attention_kernel,
                 moe_routing=unit.moe_routing, speculative=unit.speculative, source="search").stack


def _grid(space: Space, batches: tuple[int, ...]) -> dict[str, np.ndarray]:
    d = space.deployment
    mesh = np.meshgrid(np.asarray(d.tp, float), np.asarray(d.pp, float), np.asarray(d.ep, float),
                       np.asarray(batches, float), indexing="ij")
    return dict(zip(DEGREES, (m.ravel() for m in mesh)))


def _one(stack, question: Question, g: dict[str, np.ndarray], adp: bool) -> dict[str, np.ndarray]:
    """The candidates of one attention-DP setting, priced where they fit (module docstring)."""
    model, rt = stack.model, stack.runtime
    tp, pp, ep, b = g["tp"], g["pp"], g["ep"], g["batch"]
    n, isl, osl = tp.size, float(question.isl), float(question.osl)
    reason = np.broadcast_to(np.asarray(violations(model, None, tp, ep, pp, None, rt.cp, adp), dtype=object), (n,))
    ok = reason == ""
    s = [np.where(ok, x, 1.0) for x in (tp, ep, pp)]
    kv_osl = osl / 2.0 if rt.scheduler.policy == "continuous" else osl
    mem_d = np.broadcast_to(memory_use(stack, b, isl, kv_osl, tp=s[0], ep=s[1], pp=s[2]).total_bytes, (n,))
    mem_p = np.broadcast_to(memory_use(stack, b, isl, 0.5, tp=s[0], ep=s[1], pp=s[2]).total_bytes, (n,))
    usable = stack.chip.mem_bytes * USABLE_FRACTION
    fits_d, fits_p = ok & (mem_d <= usable), ok & (mem_p <= usable)
    out = {"attention_dp": np.full(n, adp), **g, "shape_reason": reason.copy(), "fits_decode": fits_d,
           "fits_prefill": fits_p, "memory_decode_bytes": mem_d.astype(float),
           "memory_prefill_bytes": mem_p.astype(float), "ttft_s": np.full(n, np.nan), "tpot_s": np.full(n, np.nan),
           "bottleneck": text_column(n, "")}
    rows = np.flatnonzero(fits_d | fits_p)
    if rows.size:
        priced = price_replicas(stack, tp[rows], ep[rows], pp[rows], b[rows], isl, osl)
        for key, value in priced.items():
            out[key][rows] = value
    per_seq = float(np.max(kv_bytes(model, question.isl)))
    out["kv_transfer_bytes"] = per_seq * tp / np.asarray(kv_split(stack, tp), dtype=float)  # copies over tp ranks
    return out


def candidates(question: Question, space: Space, unit: Unit, devices: int) -> dict[str, np.ndarray]:
    """Every replica candidate of `unit`, on the system sized to `devices` (module docstring)."""
    d = space.deployment
    disagg = "disagg" in question.modes  # a prefill pool's TTFT of one prompt (pools.compose's T_1) needs batch 1
    batches = tuple(sorted(set(d.batch) | (set(d.prefill_batch) | {1} if disagg else set())))
    g = _grid(space, batches)
    parts = [_one(structure(question, unit, adp, devices), question, g, adp) for adp in d.attention_dp]
    out = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    if disagg:  # the grid's batch axis is last and sorted: a row's batch-1 twin starts its run of batches
        first = np.arange(out["batch"].size) // len(batches) * len(batches)
        out["ttft_one_s"] = out["ttft_s"][first]
    return out


class Tables:
    """The unit's candidate table per system sizing (one for any switched system)."""

    def __init__(self, question: Question, space: Space, unit: Unit):
        self.question, self.space, self.unit = question, space, unit
        self.model, system = unit_specs(question, unit)
        self.system = sized(system, question.devices)
        self.base = system
        self._tables: dict[tuple, dict[str, np.ndarray]] = {}
        self._keys: dict[int, tuple] = {}

    def key(self, devices: int) -> tuple:
        """The sizing key of a deployment of `devices` (cached)."""
        if devices not in self._keys:
            self._keys[devices] = sizing(self.base, devices)
        return self._keys[devices]

    def __call__(self, devices: int) -> dict[str, np.ndarray]:
        key = self.key(devices)
        if key not in self._tables:
            self._tables[key] = candidates(self.question, self.space, self.unit, devices)
        return self._tables[key]

    def varies(self) -> bool:
        """Whether some deployment of at most the question's devices is sized differently."""
        key = sizing(self.base, self.question.devices)
        return any(sizing(self.base, d) != key for d in range(1, self.question.devices))


def dp_rules(model, system, rows: dict[str, np.ndarray], dp: np.ndarray, prefix: str = "") -> np.ndarray:
    """The first rule each row breaks at `dp` replicas ("" when it runs), per attention-DP setting."""
    tp, pp, ep, adp = (rows[prefix + k] for k in ("tp", "pp", "ep", "attention_dp"))
    out = text_column(tp.size, "")
    for flag in (False, True):
        sel = adp == flag
        if sel.any():
            r = violations(model, system, tp[sel], ep[sel], pp[sel], dp[sel], 1, flag)
            out[sel] = np.broadcast_to(np.asarray(r, dtype=object), (int(sel.sum()),))
    return out


def need_workers(rate: float, per_worker: np.ndarray, minimum: np.ndarray) -> np.ndarray:
    """Workers of a pool serving `rate` requests/s when each serves `per_worker` (at least `minimum`)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        need = np.ceil(rate / per_worker)
    return np.maximum(np.where(np.isfinite(need), need, math.inf), minimum)


def agg_rows(question: Question, space: Space, tables: Tables) -> dict[str, np.ndarray]:
    """Aggregated deployments of the candidates (module docstring)."""
    cand = tables(question.devices)
    keep = np.isin(cand["batch"], np.asarray(space.deployment.batch, float))
    tp, pp, ep, b = (cand[k][keep] for k in DEGREES)
    rows = {k: v[keep] for k, v in cand.items()}
    replica = tp * pp
    if question.target_rate_per_s is None:
        whole = np.mod(question.devices, replica) == 0
        rows = {k: v[whole] for k, v in rows.items()}
        tp, pp, ep, b, replica = tp[whole], pp[whole], ep[whole], b[whole], replica[whole]
        dp = question.devices / replica
    else:  # requests/s one replica sustains: its closed loop at b clients (the state the row's SLA check reads)
        alone = (rows["shape_reason"] == "") & rows["fits_decode"]
        one, _ = steady_columns(question, tables.unit, rows, np.ones(tp.size), replica, alone)
        dp = need_workers(question.target_rate_per_s, one["request_rate_per_s"], np.ceil(ep / tp))
        dp = np.where(np.isfinite(dp), dp, np.ceil(ep / tp))
    reason = rows.pop("shape_reason")
    reason = np.where(reason == "", dp_rules(tables.model, tables.system, rows, dp), reason)
    reason = np.where((reason == "") & ~rows.pop("fits_decode"), "does not fit in memory", reason)
    devices = replica * dp
    if question.target_rate_per_s is not None:
        reason = np.where((reason == "") & (devices > question.devices), "needs more devices than --devices", reason)
    steady, no_room = steady_columns(question, tables.unit, rows, dp, devices, reason == "")
    reason = np.where(no_room, "no sequence fits the KV cache", reason)
    for k in ("ttft_s", "tpot_s", "fits_prefill", "memory_prefill_bytes", "kv_transfer_bytes", "ttft_one_s"):
        rows.pop(k, None)
    tps = steady["output_tokens_per_s"]
    with np.errstate(divide="ignore"):
        user = 1.0 / steady["tpot_s"]
    return dict(rows, mode=text_column(tp.size, "agg"), dp=dp, devices=devices, concurrency=b * dp,
                ttft_s=steady["ttft_s"], tpot_s=steady["tpot_s"], output_tokens_per_s=tps,
                output_tokens_per_s_per_device=tps / devices, tokens_per_s_per_user=user,
                request_rate_per_s=steady["request_rate_per_s"],
                memory_per_device_bytes=rows.pop("memory_decode_bytes"), reason=reason.astype(object))


def check_target_sizing(question: Question, tables: Tables) -> None:
    """A target rate sizes deployments from the candidates' rates; refuse where the sizing would move them."""
    if question.target_rate_per_s is not None and tables.varies():
        raise InputError("target-rate", question.target_rate_per_s,
                         f"{tables.system.id} is a torus sized below its pod for some deployments; search it at a "
                         "fixed --devices instead")


__all__ = ["DEGREES", "Tables", "agg_rows", "candidates", "check_target_sizing", "dp_rules", "need_workers",
           "sizing", "structure"]
