"""Attention time by kernel generation: fused prefill, KV-bound decode, unfused (materialised S).

FLOPs (executed by a fused kernel) = 2 b hq sq s_att (d + dv); s_att is the attended KV length:
min(skv, window, sparse_topk), and for causal masking skv - (sq - 1)/2 when sq <= skv
(kernel/roofline.py). Which kernels exist, where they run and how they behave is the kernel
catalog's (kernel/catalog.py); this module reads row properties, never names.
Fused prefill (catalog rows with fused=True: fa2, fa3, fa4, cudnn, flashinfer, flashmla, ...):
    eff = attn.eff[kernel] * 1/(1 + (s_half/s_att)^seq_exp)          short sequences underfill
    s_half = attn.seq_half * peak_used / peak_bf16 (per-row non-MMA work is fixed time, so FP8
             at twice the MMA rate saturates at twice the length)
              * hd(d) * (causal_eff if causal) * min(1, CTAs/num_sms) * mma_rows
    hd(d) = [d/(d+hdim_half)] / [128/(128+hdim_half)] for d <= 128, (128/d)^hdim_large above
    mma_rows = min(1, sq*hq/hkv / 64): rows of Q sharing one KV head fill a 64-row MMA (decode)
    compute_s = flops / (peak_16bit * eff);  memory_s = (Q + KV + O bytes) / (bw * eff_m)
Decode (sq small): KV bytes b * s_att * kv_bytes_per_token dominate (GQA: 2 hkv d elem;
MLA latent: (kv_lora_rank + rope_dim) elem, K and V share it; FP8 KV: 1 byte/elem);
eff_m = attn.decode_mem_eff, fixed time attn.decode_latency_s (incl. the split-KV combine;
split-KV is assumed to fill the SMs at small batch). A row with seq_underfill=False skips the
underfill law, one with head_dim_scaling=False takes hd(128) (FlashMLA: 576/512 dims are its
native tiles; 128 heads per latent make it compute-bound through mma_rows = 1).
Unfused (rows with fused=False: eager_unfused, sdpa_math: matmul + softmax + matmul): the full S x S
(no causal skipping) at gemm.eff.bf16 and moves the scores through HBM: 2-byte S written
and read twice (4 passes, +2 with a causal mask), and K/V expanded to hq heads for GQA
(attn.unfused_passes HBM passes per expanded copy); UNFUSED_KERNELS launches.
Backward (direction forward_backward): 2.5x the forward FLOPs at attn.bwd_ratio x the
forward efficiency (FlashAttention-2 convention: fwd+bwd = 3.5 x fwd FLOPs).
kernel="auto" takes the fastest modelled fused kernel that runs on the chip
(catalog.attention_kernels_on; ties: the earlier row), never one whose shape limits
(max_kv_heads, min/max_head_dim: FlashMLA runs only a shared latent) exclude the shape; an
explicit kernel is honoured. A kernel that does not run on the chip gives `unsupported`
(reason) with the time of the best available kernel. Every platform has its own fused rows
(TPU pallas_flash / ragged_paged_attention, Trainium nki_flash, Ascend npu_fusion_attention, AMD
aiter, Groq / Cerebras dataflow_attention); rows whose efficiency is only an analytic prior
(`prior_only`) put that in parts["notes"], so the op's fallback says so. When auto finds no
modelled fused kernel the op is priced unfused and parts["notes"] says so.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from hundredx.arrays import fastest
from hundredx.chip.spec import ChipSpec
from hundredx.errors import InputError
from hundredx.formats import get_format
from hundredx.kernel import catalog
from hundredx.kernel.params import KernelParams, KernelTime, combine
from hundredx.kernel.roofline import BACKWARD_FLOP_RATIO, attended_kv, attention_flops, sol_time

UNFUSED_KERNELS = 6  # expand K, expand V, Q K^T, (mask+)softmax, P V, output copy
DECODE_MAX_Q = 16  # sq at or below this is treated as decode (KV-bound)


class Plan(NamedTuple):
    """The candidates of one (chip, requested kernel) and the catalog row properties the model reads,
    derived once per catalog version: fused candidates first (catalog order), then unfused ones."""

    ordered: list[str]
    n_fused: int
    unsupported: str
    note: str
    native_hd: np.ndarray      # per fused candidate: head_dim_scaling off
    no_underfill: np.ndarray   # per fused candidate: seq_underfill off
    limits: tuple              # (index, max_kv_heads, min_head_dim, max_head_dim) of shape-limited fused rows


_PLANS: dict[tuple, Plan] = {}


def _hdim_factor(d, params: KernelParams):
    d = np.asarray(d, float)
    h = params["attn.hdim_half"]
    small = (d / (d + h)) / (128.0 / (128.0 + h))
    return np.where(d <= 128, small, (128.0 / np.maximum(d, 1.0)) ** params["attn.hdim_large"])


def _fused(plan: Plan, s: dict, chip: ChipSpec, params: KernelParams, peak: float):
    """(compute_s, memory_s, latency_s) of the fused kernels: compute_s is (n_fused, *shape), the
    kernel a leading axis so every candidate is priced in one vectorized pass; memory_s and latency_s
    do not depend on the kernel and carry no kernel axis."""
    b, sq, hq, hkv, d, dv = s["b"], s["sq"], s["hq"], s["hkv"], s["d"], s["dv"]
    kernels = plan.ordered[:plan.n_fused]
    axis = (len(kernels),) + (1,) * np.ndim(s["flops"])
    native_hd, no_underfill = plan.native_hd.reshape(axis), plan.no_underfill.reshape(axis)
    base = np.array([params[f"attn.eff.{k}"] for k in kernels]).reshape(axis)
    eff = base * _hdim_factor(np.where(native_hd, 128.0, np.maximum(d, dv)), params)
    # fixed per-row work: faster math, later saturation
    s_half = params["attn.seq_half"] * peak / (chip.peak("bf16") or peak)
    eff = eff / np.where(no_underfill, 1.0, 1.0 + (s_half / np.maximum(s["att"], 1.0)) ** params["attn.seq_exp"])
    eff = eff * np.where(s["causal"], params["attn.causal_eff"], 1.0)
    ctas = np.where(sq <= DECODE_MAX_Q, chip.num_sms, b * hq * np.ceil(sq / 128.0))  # decode: split-KV fills SMs
    rows = sq * hq / np.maximum(hkv, 1.0)
    eff = eff * np.minimum(1.0, ctas / chip.num_sms) * np.minimum(1.0, rows / 64.0)
    compute_s = s["flops"] / (peak * eff)
    decode = sq <= DECODE_MAX_Q
    mem_eff = np.where(decode, params["attn.decode_mem_eff"], params["mem.eff"])
    memory_s = s["bytes"] / (chip.mem_bytes_per_s * mem_eff)  # the same for every fused kernel: no kernel axis
    latency = np.where(decode, params["attn.decode_latency_s"], params["gemm.latency_s"])
    return compute_s, memory_s, latency


def _unfused(s: dict, chip: ChipSpec, params: KernelParams, peak: float):
    b, sq, skv, hq, hkv, d, dv = s["b"], s["sq"], s["skv"], s["hq"], s["hkv"], s["d"], s["dv"]
    flops_exec = attention_flops(b, hq, sq, skv, d, dv)  # the full S x S: no causal skipping
    compute_s = flops_exec / (peak * params["gemm.eff.bf16"] * np.minimum(1.0, sq * hq / hkv / 64.0 + 0.05))
    score_bytes = b * hq * sq * skv * 2.0 * np.where(s["causal"], 6.0, 4.0)
    group = np.maximum(hq / np.maximum(hkv, 1.0), 1.0)
    expand = np.where(group > 1.0, s["kv_bytes"] * group * params["attn.unfused_passes"], 0.0)
    memory_s = (s["bytes"] + score_bytes + expand) / (chip.mem_bytes_per_s * params["mem.eff"])
    latency = UNFUSED_KERNELS * params["gemm.latency_s"]
    return compute_s, memory_s, np.full(np.shape(memory_s), latency)


def _check_shapes(b, sq, skv, hq, hkv, d, *given) -> None:
    if min(b.min(), sq.min(), skv.min(), hq.min(), hkv.min(), d.min()) < 1:
        names = ("batch", "seqlen_q", "seqlen_kv", "heads_q", "heads_kv", "head_dim")
        raise InputError("attention shape", dict(zip(names, given)), "all sizes must be >= 1")
    if (np.mod(hq, hkv) != 0).any():
        raise InputError("heads_kv", given[4], f"must divide heads_q={given[3]}")


def _shapes(batch, seqlen_q, seqlen_kv, heads_q, heads_kv, head_dim, head_dim_v, causal, dtype, kv_dtype,
            kv_bytes_per_token, variant, window, sparse_topk, check: bool = True) -> dict:
    b, sq, skv, hq, hkv, d = (np.asarray(v, float) for v in (batch, seqlen_q, seqlen_kv, heads_q, heads_kv, head_dim))
    if check:
        _check_shapes(b, sq, skv, hq, hkv, d, batch, seqlen_q, seqlen_kv, heads_q, heads_kv, head_dim)
    dv = d if head_dim_v is None else np.asarray(head_dim_v, float)
    eb = get_format(dtype, "dtype").bytes_per_element
    kv_eb = get_format(kv_dtype or dtype, "kv_dtype").bytes_per_element
    if kv_bytes_per_token is None:
        kv_bytes_per_token = hkv * d * kv_eb if variant == "mla" else hkv * (d + dv) * kv_eb
    att = attended_kv(sq, skv, causal, window, sparse_topk)
    kv_tokens = (np.minimum(skv, float(sparse_topk)) if sparse_topk
                 else (np.minimum(skv, float(window)) if window else skv))
    kv_bytes = b * kv_tokens * np.asarray(kv_bytes_per_token, float)
    qo_bytes = b * sq * hq * (d + dv) * eb
    return dict(b=b, sq=sq, skv=skv, hq=hq, hkv=hkv, d=d, dv=dv, att=att, causal=np.asarray(causal, bool),
                flops=attention_flops(b, hq, sq, att, d, dv), kv_bytes=kv_bytes, bytes=kv_bytes + qo_bytes)


def _kernels(plan: Plan, s: dict, chip: ChipSpec, params: KernelParams, direction: str, peak: float,
             auto: bool = False):
    """(time, compute, memory, latency) of the candidates (fused ones first), stacked on a leading axis;
    memory and latency carry no leading axis when every candidate is fused (they are then shared)."""
    fused, kernels = plan.ordered[:plan.n_fused], plan.ordered
    if fused:
        c, m, lat = _fused(plan, s, chip, params, peak)
    if len(fused) < len(kernels):
        # every unfused kernel runs the same matmul + softmax + matmul: one row stands for all of them
        unfused = [np.asarray(x)[None] for x in _unfused(s, chip, params, peak)]
        if fused:
            shape = np.broadcast_shapes(c.shape[1:], np.shape(m), np.shape(lat), *(x.shape[1:] for x in unfused))
            c, m, lat = (np.concatenate([np.broadcast_to(f, (len(fused),) + shape), np.broadcast_to(u, (1,) + shape)])
                         for f, u in zip((c, m, lat), unfused))
        else:
            c, m, lat = unfused
    t = combine(c, m, params["gemm.overlap_p"]) + lat
    if direction == "forward_backward":
        bwd_c = 2.5 * c / params["attn.bwd_ratio"]
        t = t + combine(bwd_c, 2.0 * m, params["gemm.overlap_p"]) + lat
        c, m, lat = c + bwd_c, 3.0 * m, 2.0 * lat
    if auto and len(kernels) > 1 and plan.limits:
        t = _exclude_unsupported_shapes(t, plan, s)
    return t, c, m, lat


def _exclude_unsupported_shapes(t, plan: Plan, s: dict):
    """auto never picks a kernel for shapes its catalog row cannot run (FlashMLA: a shared latent, one KV
    head of width >= 256); where every candidate is excluded the times stand (nothing else would run)."""
    width = np.maximum(s["d"], s["dv"])
    rows = np.zeros((len(plan.limits), len(t)) + (1,) * (t.ndim - 1), bool)
    bads = []
    for j, (i, max_kv, min_hd, max_hd) in enumerate(plan.limits):
        bad = False
        if max_kv:
            bad = bad | (s["hkv"] > max_kv)
        if min_hd:
            bad = bad | (width < min_hd)
        if max_hd:
            bad = bad | (width > max_hd)
        rows[j, i] = True
        bads.append(bad)
    if len(plan.limits) == 1 and len(t) > 1:  # another candidate is always left: one mask, one where
        return np.where(rows[0] & bads[0], np.inf, t)
    excluded = np.any([r & b for r, b in zip(rows, bads)], axis=0) & np.ones(t.shape, bool)
    return np.where(excluded & ~excluded.all(axis=0), np.inf, t)


def _plan(chip: ChipSpec, kernel: str) -> Plan:
    """The cached Plan of `kernel` on `chip` (see Plan; _candidates derives it)."""
    key = (chip.id, chip.generation, kernel, catalog.version())
    plan = _PLANS.get(key)
    if plan is None:
        if len(_PLANS) > 256:
            _PLANS.clear()
        ordered, unsupported, note = _candidates(chip, kernel)
        rows = [catalog.get("attention", k) for k in ordered]
        fused = [r for r in rows if r.fused]
        limits = tuple((i, r.max_kv_heads, r.min_head_dim, r.max_head_dim) for i, r in enumerate(fused)
                       if r.max_kv_heads or r.min_head_dim or r.max_head_dim)
        plan = _PLANS[key] = Plan(ordered, len(fused), unsupported, note,
                                  np.array([not r.head_dim_scaling for r in fused]),
                                  np.array([not r.seq_underfill for r in fused]), limits)
    return plan


def _candidates(chip: ChipSpec, kernel: str) -> tuple[list[str], str, str]:
    """(candidate kernels, fused ones first in catalog order; unsupported reason; fallback note).
    The note is set when auto has no modelled fused kernel on the chip and prices the op unfused."""
    on_chip = catalog.attention_kernels_on(chip)
    available = [k for k in on_chip if catalog.get("attention", k).modelled]
    available = available or [r.name for r in catalog.rows("attention") if r.modelled and not r.fused]
    unsupported = ""
    if kernel != "auto" and kernel not in available:
        unsupported = f"attention kernel {kernel} is not available on {chip.id} (has: {', '.join(available)})"
    candidates = [kernel] if kernel != "auto" and not unsupported else available
    fused = [k for k in candidates if catalog.get("attention", k).fused]
    if kernel == "auto" and fused:
        candidates = fused
    ordered = fused + [k for k in candidates if k not in fused]
    note = ""
    if kernel == "auto" and not fused:
        idle = [k for k in on_chip if not catalog.get("attention", k).modelled and catalog.get("attention", k).fused]
        note = (f"attention kernel {', '.join(idle)} on {chip.id} has no efficiency model; priced as {ordered[0]}"
                if idle else f"no fused attention kernel of the kernel catalog runs on {chip.id}; priced as "
                             f"{ordered[0]}")
    return ordered, unsupported, note


def _prior_note(chosen, chip: ChipSpec, note: str) -> str:
    """`note`, plus the chosen kernels whose efficiency is only an analytic prior (catalog prior_only)."""
    names = [chosen] if isinstance(chosen, str) else sorted(set(np.ravel(chosen).tolist()))
    prior = [k for k in names if catalog.get("attention", k).prior_only]
    if not prior:
        return note
    flag = f"attention kernel {', '.join(prior)} on {chip.id}: efficiency is an analytic prior (ASSUMPTION: no " \
           f"measured case)"
    return f"{note}; {flag}" if note else flag


def _select(ordered: list[str], res: tuple):
    """The fastest candidate per shape (ties: the earlier one): (time, compute, memory, latency, kernel)."""
    pick = fastest(res[0])
    return (*(pick.take(x) for x in res), pick.names(ordered))


def attention_time(chip: ChipSpec, params: KernelParams, batch, seqlen_q, seqlen_kv, heads_q, heads_kv, head_dim,
                   head_dim_v=None, causal=False, kernel: str = "auto", dtype: str = "bf16",
                   kv_dtype: str | None = None,
                   kv_bytes_per_token=None, variant: str = "gqa", window=None, sparse_topk=None,
                   direction: str = "forward", check: bool = True) -> KernelTime:
    """Time of one attention call (all layers' worth is the caller's count). `check=False` skips the
    shape validation for callers whose shapes come from the model layer (validated at its boundary)."""
    if kernel != "auto" and not catalog.is_known("attention", kernel, modelled=True):
        why = "has no efficiency model" if catalog.is_known("attention", kernel) else "is not in the kernel catalog"
        raise InputError("kernel", kernel,
                         f"{why}; must be auto or one of {', '.join(catalog.names('attention', True))}")
    if direction not in ("forward", "forward_backward"):
        raise InputError("direction", direction, "must be forward or forward_backward")
    s = _shapes(batch, seqlen_q, seqlen_kv, heads_q, heads_kv, head_dim, head_dim_v, causal, dtype, kv_dtype,
                kv_bytes_per_token, variant, window, sparse_topk, check)
    cls = "bf16" if chip.peak("bf16") > 0 else "fp16"
    if get_format(dtype, "dtype").compute == "fp8" and chip.peak("fp8") > 0:
        cls = "fp8"
    peak = chip.peak(cls)
    if peak <= 0:
        raise InputError("chip", chip.id, "has no 16-bit or fp8 tensor path for attention")
    plan = _plan(chip, kernel)
    ordered, unsupported, note = plan.ordered, plan.unsupported, plan.note
    t, c, m, lat, chosen = _select(ordered, _kernels(plan, s, chip, params, direction, peak, kernel == "auto"))
    lat = lat + np.zeros_like(t)  # the fixed time at the shape of the result (cheaper than broadcast_to)
    flops = s["flops"] * (BACKWARD_FLOP_RATIO if direction == "forward_backward" else 1.0)
    nbytes = s["bytes"] * (3.0 if direction == "forward_backward" else 1.0)
    sol = sol_time(flops, nbytes, peak, chip.mem_bytes_per_s)
    parts = {"kernel": chosen, "compute_class": cls, "attended_kv": s["att"], "notes": _prior_note(chosen, chip, note)}
    return KernelTime(t, c, m, lat, sol, flops, nbytes, parts, unsupported)
