"""Heterogeneous prefill/decode chips, priced by composing two pools through `predict`.

`predict --disagg P:D --decode-chip C` (predict/pools.py) prices one fixed deployment with a decode
pool on another chip; the claim asks which chip pair is cheapest per token at any scale, so it
optimizes each pool's chip and tp for cost with fractional replicas instead. Each pool is a set of replicas of
Llama-3.1-70B FP8 (weights and KV) on one chip type, tp in TPS, priced by `predict` (through
decompose.metrics.search_batch):
  prefill replica  the largest prompt batch b_p whose TTFT meets the limit: r_p = b_p / TTFT
                   requests/s (prefill-only workload, osl = 1);
  decode replica   the largest batch b_d whose TPOT meets the limit and fits in memory:
                   r_d = b_d / (osl x TPOT) requests/s.
Rate matching with fractional replicas (a large deployment): serving R requests/s takes R/r_p
prefill and R/r_d decode replicas, so the cost of one request/s is
  c = price_p tp_p / r_p + price_d tp_d / r_d   (USD per hour per request/s),
and output tokens per dollar = osl x 3600 / c. Each pool picks its own best tp. Homogeneous:
both pools on one chip type (the best such type); heterogeneous: any prefill chip with any
decode chip. KV transfer between the pools is not priced (it favours neither side's chip but
costs a heterogeneous pair a network hop it may not have inside one chip type's system).
Prices are the catalog's price_per_hour, rough cloud list prices marked ASSUMPTION in the chip
files.
"""

from __future__ import annotations

from dataclasses import replace

MODEL = "meta-llama/Llama-3.1-70B-Instruct"
PREFILL_CHIPS = ("h100-sxm", "b200")  # compute-dense
DECODE_CHIPS = ("h100-sxm", "b200", "h200-sxm", "h20")  # + bandwidth/capacity-rich Hopper parts
TPS = (2, 4)  # tp 8 was never the cheapest pool for a 70B FP8 model on these chips
ISL, OSL, TTFT_S, TPOT_S = 2048, 512, 1.0, 0.05
BEAT = 1.10  # a "beat" the model can tell from its own error between two chips' predictions


def _pool(chip: str, prefill: bool) -> dict | None:
    """The best tp of one pool on `chip`: cost in USD/h per request/s, and how it was reached."""
    from hundredx.decompose.metrics import Infeasible, search_batch
    from hundredx.errors import InputError
    from hundredx.scenario import build
    from hundredx.scenario.workload import Workload

    best = None
    for tp in TPS:
        w = Workload(isl=ISL, osl=1 if prefill else OSL, ttft_limit_s=TTFT_S, tpot_limit_s=TPOT_S)
        try:
            scn = build(MODEL, chip, devices=tp, tp=tp, weights="fp8", kv="fp8", workload=w)
            batch, _, pred = search_batch(scn.stack, replace(w, osl=1) if prefill else w,
                                          use_ttft=prefill, use_tpot=not prefill)
        except (InputError, Infeasible):
            continue
        rate = batch / pred.ttft_s if prefill else batch / (OSL * pred.tpot_s)
        cost = scn.chip.price_per_hour * tp / rate
        if scn.chip.price_per_hour > 0 and (best is None or cost < best["cost"]):
            best = {"chip": chip, "tp": tp, "batch": batch, "rate_per_s": rate, "cost": cost,
                    "latency_s": pred.ttft_s if prefill else pred.tpot_s}
    return best


def compose_pools() -> dict:
    """Every (prefill chip, decode chip) pair's output tokens per dollar (module docstring)."""
    pre = {c: p for c in PREFILL_CHIPS if (p := _pool(c, True)) is not None}
    dec = {c: p for c in DECODE_CHIPS if (p := _pool(c, False)) is not None}
    pairs = {f"{a}->{b}": OSL * 3600.0 / (pre[a]["cost"] + dec[b]["cost"]) for a in pre for b in dec}
    homo = {k: v for k, v in pairs.items() if k.split("->")[0] == k.split("->")[1]}
    hetero = {k: v for k, v in pairs.items() if k not in homo}
    return {"prefill": pre, "decode": dec, "tokens_per_usd": pairs, "homogeneous": homo, "heterogeneous": hetero}


def heterogeneous_pd(cid, text, src):
    from hundredx.claims import KERNEL, make, not_checkable

    found = compose_pools()
    homo, hetero = found["homogeneous"], found["heterogeneous"]
    if not homo or not hetero:
        return not_checkable(cid, text, src, BEAT, "x", "no pool pair runs at the limits on the catalog chips")
    best_h, best_x = max(homo, key=homo.__getitem__), max(hetero, key=hetero.__getitem__)
    ratio = hetero[best_x] / homo[best_h]
    pools = "; ".join(f"{k} {v:,.0f}" for k, v in sorted(found["tokens_per_usd"].items(), key=lambda kv: -kv[1]))
    pre, dec = found["prefill"], found["decode"]
    why = (f"two pools composed through predict, each pool's chip and tp chosen for cost with fractional replicas "
           f"(claims/hetero.py), "
           f"Llama-3.1-70B FP8, {ISL}/{OSL} tokens, TTFT <= {TTFT_S:g} s, TPOT <= {TPOT_S * 1e3:g} ms, pools "
           f"rate-matched, catalog prices (ASSUMPTION: rough cloud list prices): output tokens per USD — {pools}. "
           f"Best single chip type {best_h} vs best pair {best_x}: x{ratio:.2f}. Per pool, cost per request/s: "
           "prefill " + ", ".join(f"{c} tp{p['tp']} ${p['cost']:.2f}" for c, p in pre.items()) + "; decode "
           + ", ".join(f"{c} tp{p['tp']} ${p['cost']:.2f}" for c, p in dec.items()) +
           ". A pair wins only where one chip is cheapest for prefill and another for decode; KV transfer between "
           "the pools is not priced")
    claim = make(cid, text, src, BEAT, ratio, "x", KERNEL, why, "at_least", range=sorted([min(hetero.values()) /
                 homo[best_h], ratio]), point="best heterogeneous pair vs best single chip type, tokens per USD",
                 details=found)
    claim.tol = 1.0
    claim.verdict = "consistent" if ratio >= BEAT else "inconsistent"
    claim.tol_reason = (f"'beat' read as at least x{BEAT:g} in tokens per USD: a smaller edge is inside the relative "
                        "error of two chips' predictions (~10-15%, the kernel models' held-out error)")
    return claim


__all__ = ["compose_pools", "heterogeneous_pd"]
