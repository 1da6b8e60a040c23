"""Serving claims: prefill/decode disaggregation at DeepSeek scale (the request-level simulator,
goodput at an SLO), attention/FFN disaggregation's utilization (roofline utilization of the
FFN ops), heterogeneous prefill/decode chips.
"""

from __future__ import annotations

from hundredx.claims import RANGE, SYSTEM, Claim, make

MODEL = "deepseek-ai/DeepSeek-V3"


def pd_disaggregation(cid, text, src) -> Claim:
    """DeepSeek-V3 FP8 on 24x H200 as TP8/EP8 replicas: 3 colocated vs P:D 8:16 and 16:8."""
    from hundredx.claims.goodput import ATTAINMENT, max_goodput_rate
    from hundredx.kernel.runtime import Disaggregation
    from hundredx.scenario import build
    from hundredx.serve.from_stack import deployment_from_stack

    isl, osl, ttft, tpot = 2048, 512, 2.0, 0.05
    colocated = max_goodput_rate(deployment_from_stack(build(MODEL, "h200-sxm", devices=24, tp=8, ep=8).stack),
                                 isl, osl, ttft, tpot, steps=5)
    splits = {}
    for p in (8, 16):
        stack = build(MODEL, "h200-sxm", tp=8, ep=8, disaggregation=Disaggregation(p, 24 - p)).stack
        splits[f"{p}:{24 - p}"] = max_goodput_rate(deployment_from_stack(stack), isl, osl, ttft, tpot, steps=5)
    best = max(splits, key=lambda k: splits[k])
    ratio = splits[best] / colocated if colocated > 0 else float("inf")
    why = (f"serving simulator, DeepSeek-V3 FP8 on 24x H200 (TP8/EP8 replicas), {isl}/{osl} tokens, Poisson arrivals: "
           f"highest rate with {ATTAINMENT:.0%} of requests within TTFT <= {ttft:g} s and TPOT <= {tpot * 1e3:g} ms "
           f"(chunked prefill interleaves with decode in the colocated replicas, so their decode steps stall): "
           f"colocated {colocated:.1f} req/s vs disaggregated " +
           ", ".join(f"{k} {v:.1f}" for k, v in splits.items()) + " req/s")
    return make(cid, text, src, 2.0, ratio, "x", SYSTEM, why, "at_least", range=sorted(
        v / colocated for v in splits.values()) if colocated > 0 else None,
        point=f"best P:D split of 24 GPUs at TTFT <= {ttft:g} s, TPOT <= {tpot * 1e3:g} ms",
        details={"colocated_rate": colocated, "splits": splits})


def _ffn_utilization(batch: int) -> tuple[float, float]:
    """(roofline utilization, MFU) of the MoE/FFN ops of one decode step: roofline = sum of SOL time / sum
    of time (per op the larger of MFU and MBU, time-weighted); MFU = FLOPs / (FP8 peak x time)."""
    from hundredx.predict import predict

    p = predict(MODEL, "h200-sxm", tp=8, ep=8, batch=batch, isl=2048, osl=512, check_memory=False)
    rows = [r for r in p.breakdown if r["phase"] == "decode" and r["op"].split(".")[0] in ("moe", "shared", "ffn")]
    time_s = sum(r["time_s"] for r in rows)
    from hundredx.chip import load_chip

    peak = load_chip("h200-sxm").peak("fp8")
    return sum(r["sol_s"] for r in rows) / time_s, sum(r["flops"] for r in rows) / time_s / peak


def afd_utilization(cid, text, src) -> Claim:
    """The FFN side of AFD gathers the tokens of several attention replicas: its batch per expert grows.
    The claim's "utilization" is judged as roofline utilization (MFU/MBU), before and after."""
    replicas, batch = 4, 128
    (before, mfu_before), (after, mfu_after) = _ffn_utilization(batch), _ffn_utilization(batch * replicas)
    tol, reason = RANGE
    both = 0.30 / tol <= before <= 0.40 * tol and 0.60 / tol <= after <= 0.70 * tol
    why = (f"predict, DeepSeek-V3 FP8 on 8x H200 (TP8/EP8), decode at 2048 context, {batch} sequences per replica "
           f"(TPOT ~50 ms): the MoE/FFN ops run at {100 * before:.0f}% of their roofline (MFU {100 * mfu_before:.1f}%: "
           f"decode experts stream weights, memory-bound); with attention/FFN disaggregation the FFN devices serve "
           f"{replicas} attention replicas' tokens: {100 * after:.0f}% of roofline (MFU {100 * mfu_after:.1f}%). "
           "Neither metric moves from 30-40% to 60-70%: the FFN side stays weight-bandwidth bound at these batches")
    claim = make(cid, text, src, [0.60, 0.70], after, "of roofline", RANGE, why, "range",
                 range=sorted([before, after]), point=f"{replicas} attention replicas per FFN group, {batch} seqs each",
                 details={"before": before, "after": after, "mfu_before": mfu_before, "mfu_after": mfu_after})
    claim.verdict = "consistent" if both else "inconsistent"
    claim.tol_reason = reason + "; both the before (30-40%) and the after (60-70%) level must hold"
    return claim


def heterogeneous_pd(cid, text, src) -> Claim:
    """Pools on two chip types, composed through predict (claims/hetero.py)."""
    from hundredx.claims.hetero import heterogeneous_pd as check

    return check(cid, text, src)
