"""System-level claims: Hopper -> Blackwell as a curve and as the thesis' 30x waterfall, the
NVLink gap, the NVLink domain for MoE all-to-all, expert placement, Rubin's width and cost,
the compound yearly gain. Scenario claims use the stack files shipped in hundredx/examples.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from hundredx.claims import EXACT, RANGE, SYSTEM, Claim, judge, make, not_checkable
from hundredx.claims.stacks import example, step_names

PLAUSIBLE_RATE = 20.0  # tokens/s per user = the example stacks' 50 ms TPOT limit


@lru_cache(maxsize=1)
def _h100_curve() -> tuple:
    """The 16x H100 FP8 -> GB200 NVL72 NVFP4 curve (one re-planned combination per point), computed once."""
    from hundredx.decompose.curve import DEFAULT_USER_RATES, decompose_curve

    return tuple(decompose_curve(example("dsr1-h100-fp8.yaml"), example("dsr1-gb200-nvl72-fp4.yaml"),
                                 DEFAULT_USER_RATES))


def _h100_range() -> list[float] | None:
    totals = [p.total for p in _h100_curve() if p.total]
    return [min(totals), max(totals)] if totals else None


def hopper_to_blackwell(cid, text, src) -> Claim:
    from hundredx.decompose.curve import DEFAULT_USER_RATES, decompose_curve, summary

    a, b = example("dsr1-h200-fp8.yaml"), example("dsr1-gb200-nvl72-fp4.yaml")
    points = decompose_curve(a, b, DEFAULT_USER_RATES)
    at = next(p for p in points if p.tokens_per_s_per_user == PLAUSIBLE_RATE)
    s = summary(points)
    if at.total is None:
        return not_checkable(cid, text, src, 30.0, "x",
                             "A or B cannot run at 20 tokens/s per user: " + "; ".join(at.notes))
    shap = ", ".join(f"{k} x{v:.2f}" for k, v in (at.shapley or {}).items())
    curve = ", ".join(f"{p.tokens_per_s_per_user:g}: x{p.total:.1f}" for p in points if p.total)
    band = (at.intervals or {}).get("total")
    inside = f" (80% interval x{band[0]:.1f}-x{band[1]:.1f})" if band else ""
    why = (f"DeepSeek-R1, 8x H200 FP8 (TP8/EP8) -> GB200 NVL72 NVFP4 (wide EP, attention-DP, MTP, P/D), output "
           f"tokens/s per GPU at the largest batch meeting the TPOT limit, 1024/1024 tokens. At {PLAUSIBLE_RATE:g} "
           f"tokens/s per user: x{at.total:.1f}{inside} (Shapley {shap}). Over interactivity (tokens/s/user: "
           f"gain): {curve}. "
           "The gain grows as the limit tightens, where Hopper must shrink its batch; the claim does not state its "
           "operating point" + (f". From 16x H100 (the pair of the thirty-x waterfall) it is x{h1[0]:.0f}-x{h1[1]:.0f} "
                                "over the same sweep" if (h1 := _h100_range()) else ""))
    return make(cid, text, src, 30.0, at.total, "x", SYSTEM, why, range=s.get("total"),
                point=f"{PLAUSIBLE_RATE:g} tokens/s per user (50 ms TPOT), the interactive limit the example "
                      "stacks use",
                details={"curve": [p.to_dict() for p in points], "summary": s, "interval": band})


def thirty_waterfall(cid, text, src) -> Claim:
    """A = 16x H100 FP8; steps: chip compute (B200), NVL72 domain, FP4; B = + deployment (MTP, P/D)."""
    from hundredx.decompose import decompose
    from hundredx.stackfile import load_stack

    a, b = example("dsr1-h100-fp8.yaml"), example("dsr1-gb200-nvl72-fp4.yaml")
    steps = [load_stack(p) for p in step_names("thirty")]
    d = decompose(a, b, steps=steps, mismatches=False)
    claimed: dict[str, list[float] | None] = {"chip compute": [3, 5], "NVL72 domain": [2, 3], "FP4": [2, 3],
                                             "deployment": None}
    rows = [r for r in d.waterfall if not r.get("start")]
    if d.total is None:
        return not_checkable(cid, text, src, 30.0, "x", "; ".join(d.notes) or "A or B cannot run")
    found, parts = {}, []
    for (name, band), row in zip(claimed.items(), rows):
        factor = row.get("factor")
        verdict = judge(factor, band, RANGE[0], "range") if band is not None and factor is not None else None
        found[name] = {"factor": factor, "claimed": band, "label": row["label"], "verdict": verdict}
        if factor is not None:
            parts.append(f"{name} x{factor:.2f}" + (f" (claimed {band[0]:g}-{band[1]:g}x: {verdict})" if band else ""))
    why = ("ordered waterfall, DeepSeek-R1 at a 50 ms TPOT limit, each step a stack file in hundredx/examples/thirty: "
           + "; ".join(parts) + f"; total x{d.total:.1f}. The chip step is large because 16 H100s barely meet the "
           "limit at a small batch while B200's memory and bandwidth allow a much larger one")
    return make(cid, text, src, 30.0, d.total, "x", SYSTEM, why, point="16x H100 -> 72x GB200 at 20 tokens/s per user",
                range=_h100_range(), details={"steps": found})


def nvlink_gap(cid, text, src) -> Claim:
    from hundredx.chip import load_system

    ratios = {sid: load_system(sid).scaleup_bytes_per_s / load_system(sid).scaleout_bytes_per_s
              for sid in ("hgx-h100-8", "hgx-b200-8", "gb200-nvl72")}
    h100 = ratios["hgx-h100-8"]
    why = ("catalog, per direction per GPU: " + ", ".join(f"{k} {v:.0f}x" for k, v in ratios.items()) +
           f". The sentence is about H100, where it is {h100:.0f}x: the thesis is wrong here — its 18x sets NVLink4's "
           "900 GB/s, a bidirectional figure, against 50 GB/s of one-way InfiniBand")
    return make(cid, text, src, 18.0, h100, "x", EXACT, why, point="HGX H100 (the generation the sentence names)",
                range=[min(ratios.values()), max(ratios.values())], details=ratios)


def _dispatch_s(system_id: str, ep: int, library: str = "deepep") -> float:
    """One low-latency MoE dispatch of 128 decode tokens/rank (DeepSeek-V3 shape, fp8) over `ep` ranks."""
    from hundredx.chip import load_system
    from hundredx.kernel.comm import comm_time

    system = load_system(system_id, devices=ep)
    cost = comm_time(system, "moe_dispatch", 0.0, ep, library=library, tokens=128.0, hidden=7168, topk=8,
                     experts=256, dtype="fp8", mode="low_latency")
    return float(np.max(cost.time_s))


TORUS = "tpu-v7-9216"  # 64 chips of a TPU v7 pod are a 4x4x4 ICI torus slice


def nvlink_domain_alltoall(cid, text, src) -> Claim:
    """72-GPU NVLink domain vs 8-GPU NVLink islands vs a 3D torus, on the all-to-all alone."""
    from hundredx.chip import load_system

    nvl72, hgx, torus = _dispatch_s("gb200-nvl72", 64), _dispatch_s("hgx-b200-8", 64), _dispatch_s(TORUS, 64, "xla")
    dims = "x".join(str(d) for d in load_system(TORUS, devices=64).torus_dims)
    ratio = hgx / nvl72
    why = (f"kernel.moe_dispatch, EP 64, 128 tokens/rank, DeepSeek-V3 hidden 7168 fp8, top-8 of 256 — the "
           f"all-to-all alone, no attention or GEMM kernels: GB200 NVL72 (one NVLink domain) {nvl72 * 1e6:.0f} us; "
           f"8x HGX B200 (8-GPU NVLink islands over 400G InfiniBand) {hgx * 1e6:.0f} us (x{ratio:.1f}); "
           f"a {dims} TPU v7 ICI torus (XLA all-to-all, multi-hop, no slow tier) {torus * 1e6:.0f} us "
           f"(x{torus / nvl72:.1f} of NVL72, {hgx / torus:.1f}x faster than the islands). The domain size matters "
           "because the share of expert traffic that leaves a scale-up island rides the slow tier; a torus has no "
           "such tier but pays hops. The thesis gives no figure; 'several-fold' is read as >= 2x")
    return make(cid, text, src, 2.0, ratio, "x", SYSTEM, why, "at_least", point="EP 64 decode dispatch, NVL72 vs 8-GPU",
                range=sorted([torus / nvl72, ratio]),
                details={"nvl72_s": nvl72, "hgx_b200_s": hgx, "torus_s": torus, "torus_system": TORUS})


def _placement(alpha: float):
    from hundredx.chip import load_system
    from hundredx.kernel.ep_placement import compare_placements

    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.full(256, alpha))  # ASSUMPTION: skewed expert popularity (a Dirichlet(alpha) draw)
    res = compare_placements(load_system("hgx-h200-8", devices=32), probs, ep=32, topk=8, hidden=7168, tokens=4096)
    return res, res.naive_leaving_share / max(res.aware_leaving_share, 1e-9)


def expert_placement(cid, text, src) -> Claim:
    res, ratio = _placement(0.3)
    by_alpha = {a: _placement(a)[1] for a in (0.1, 1.0)}
    by_alpha[0.3] = ratio
    why = (f"kernel.ep_placement on 4x HGX H200 (EP 32, 8-GPU domains), 256 experts top-8, skewed routing "
           f"(ASSUMPTION: Dirichlet(0.3) popularity): pairs leaving the domain naive "
           f"{100 * res.naive_leaving_share:.0f}% "
           f"vs co-activation-aware {100 * res.aware_leaving_share:.0f}% (x{ratio:.2f}); dispatch "
           f"{res.naive_time_s * 1e6:.0f} -> {res.aware_time_s * 1e6:.0f} us. The gain depends on how correlated "
           f"routing is, which the claim does not state: Dirichlet(0.1) x{by_alpha[0.1]:.2f}, Dirichlet(1.0) "
           f"x{by_alpha[1.0]:.2f}")
    return make(cid, text, src, 1.0, ratio, "x", SYSTEM, why, "at_least",
                range=[min(by_alpha.values()), max(by_alpha.values())],
                point="Dirichlet(0.3) expert popularity, 4096 tokens, EP 32 over 8-GPU domains",
                details={"naive": res.naive_leaving_share, "aware": res.aware_leaving_share, "by_alpha": by_alpha})


def _rubin_ratio(fmt: str) -> tuple[float, bool]:
    from hundredx.chip import load_chip

    rubin, gb300 = load_chip("rubin"), load_chip("gb300")
    return rubin.peak(fmt) / gb300.peak(fmt), rubin.preliminary


def rubin_width(cid, text, src) -> Claim:
    """Judged on FP4 alone: the catalog's Rubin FP8/BF16 peaks are ASSUMPTIONS scaled from FP4 (rubin.yaml)."""
    from hundredx.chip import load_chip

    fp4, pre = _rubin_ratio("fp4")
    fp8, _ = _rubin_ratio("fp8")
    bf16, _ = _rubin_ratio("bf16")
    assumed = "ASSUMPTION" in (load_chip("rubin").notes or "")
    why = (f"catalog dense peaks Rubin / GB300: FP4 x{fp4:.2f} (the vendor's figure, preliminary={pre}). "
           f"FP8 x{fp8:.2f} and BF16 x{bf16:.2f} are not evidence: "
           + ("the catalog's Rubin FP8 and BF16 peaks are ASSUMPTIONS scaled from the FP4 figure (rubin.yaml notes), "
              "so neither a widened BF16 nor a doubled FP8 is assumed here; only FP4 is judged" if assumed else
              "they are read as the catalog states them") )
    return make(cid, text, src, 2.0, fp4, "x", RANGE, why, point="dense FP4 (the only vendor-stated width)",
                range=[fp4, fp4], details={"fp8": fp8, "bf16": bf16, "preliminary": pre, "fp8_bf16_assumed": assumed})


def hbm_a100_b200(cid, text, src) -> Claim:
    """Catalog facts: HBM bandwidth, capacity and dense BF16 peak, A100 SXM 80GB -> B200."""
    from hundredx.chip import load_chip

    a, b = load_chip("a100-sxm-80gb"), load_chip("b200")
    bw, cap, bf16 = (b.mem_bytes_per_s / a.mem_bytes_per_s, b.mem_bytes / a.mem_bytes, b.peak("bf16") / a.peak("bf16"))
    why = (f"catalog (datasheets): HBM bandwidth {a.mem_bytes_per_s / 1e12:.2f} -> {b.mem_bytes_per_s / 1e12:.1f} TB/s "
           f"= x{bw:.2f}; usable capacity {a.mem_bytes / 1e9:.0f} -> {b.mem_bytes / 1e9:.0f} GB = x{cap:.2f}; "
           f"dense BF16 {a.peak('bf16') / 1e12:.0f} -> {b.peak('bf16') / 1e12:.0f} TFLOP/s = x{bf16:.1f}, "
           f"so bytes per FLOP fall x{bf16 / bw:.1f}. The thesis' own A100 -> B200 figure is not recorded in this "
           "package, so no verdict is given; a stated ratio other than these is wrong on the datasheets")
    return not_checkable(cid, text, src, None, "x", why, tool=bw, range=sorted([cap, bw]),
                         point="HBM bandwidth per GPU (capacity in the range)",
                         details={"bandwidth": bw, "capacity": cap, "bf16": bf16})


def _rubin_throughput_ratio(tpot_limit_s: float) -> float:
    """Output tokens/s per device, VR200 NVL72 / GB300 NVL72, on the DeepSeek-R1 NVFP4 P/D example stack."""
    from hundredx.decompose.metrics import evaluate
    from hundredx.scenario.compose import with_changes

    base = with_changes(example("dsr1-gb200-nvl72-fp4.yaml"), {"workload.tpot_limit_s": tpot_limit_s}, adjust=True)
    rubin, gb300 = (evaluate(with_changes(base, {"chip.system": s}, adjust=True)).value
                    for s in ("vr200-nvl72", "gb300-nvl72"))
    return rubin / gb300


def rubin_cost(cid, text, src) -> Claim:
    """Cost per token = price per device-hour / tokens per device-hour: the model gives the throughput ratio
    (and so the price ratio at which the claim would hold), not the price, which is unsourced."""
    from hundredx.chip import load_chip

    by_limit = {t: _rubin_throughput_ratio(t) for t in (0.1, 0.05, 0.02)}
    ratio = by_limit[0.05]
    gb300_price = load_chip("gb300").price_per_hour
    values = list(by_limit.values())
    spread = ("the same at 100, 50 and 20 ms: the limit does not bind these pools" if max(values) - min(values)
              <= 1e-9 * max(values) else ", ".join(f"{1e3 * t:.0f} ms: x{r:.2f}" for t, r in by_limit.items()))
    why = (f"DeepSeek-R1 NVFP4 with P/D, wide EP and MTP (examples/dsr1-gb200-nvl72-fp4.yaml) on VR200 NVL72 vs "
           f"GB300 NVL72: output tokens/s per device x{ratio:.2f} at a 50 ms TPOT limit ({spread}). "
           f"Cost per token falls 10x only if Rubin's price per device-hour is at most x{ratio / 10:.2f} of "
           f"GB300's (${gb300_price * ratio / 10:.2f}/h against the catalog's ASSUMED ${gb300_price:.0f}/h), i.e. "
           "a newer chip renting for a fraction of the older one's price; no sourced Rubin price exists, so no "
           "verdict (Rubin's figures are preliminary)")
    return not_checkable(cid, text, src, 10.0, "x", why, tool=ratio, range=[min(by_limit.values()),
                                                                         max(by_limit.values())],
                         point="throughput per device at a 50 ms TPOT limit (cost needs a price per device-hour)",
                         details={"throughput_ratio_by_tpot_limit": {str(k): v for k, v in by_limit.items()},
                                  "break_even_price_ratio": ratio / 10})


def yearly_gain(cid, text, src) -> Claim:
    from hundredx.decompose import decompose

    a, b = example("dsr1-h100-fp8.yaml"), example("dsr1-gb200-nvl72-fp4.yaml")
    d = decompose(a, b, mismatches=False, with_waterfall=False)
    years = max(b.chip.year - a.chip.year, 1)
    if d.total is None:
        return not_checkable(cid, text, src, [40, 60], "x/year", "; ".join(d.notes))
    per_year = d.total ** (1.0 / years)
    h1 = _h100_range()
    band = [x ** (1.0 / years) for x in d.intervals["total"]] if d.intervals.get("total") else None
    why = (f"the modelled generations H100 FP8 ({a.chip.year}) -> GB200 NVL72 NVFP4 ({b.chip.year}) for DeepSeek-R1 at "
           f"20 tokens/s per user: x{d.total:.0f} over {years} years = x{per_year:.1f} per year"
           + (f" (80% interval x{band[0]:.1f}-x{band[1]:.1f})" if band else "") + " as the product of "
           "Shapley factors " + ", ".join(f"{k} x{v:.2f}" for k, v in (d.shapley or {}).items()) +
           (f" (over 5-100 tokens/s per user: x{h1[0] ** (1 / years):.1f}-x{h1[1] ** (1 / years):.1f} per year)"
            if h1 else "") +
           ". Yearly cost declines quoted elsewhere also include price cuts and model distillation, which this "
           "product leaves out")
    return make(cid, text, src, [40.0, 60.0], per_year, "x/year", RANGE, why, "range",
                point="throughput per GPU at a fixed model quality (DeepSeek-R1), 20 tokens/s/user",
                range=[x ** (1.0 / years) for x in h1] if h1 else None,
                details={"total": d.total, "years": years, "shapley": d.shapley, "interval_per_year": band})
