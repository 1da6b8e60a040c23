"""Speed of light and FLOP conventions of the kernel layer: each formula written once.

Speed of light (the roofline, Williams, Waterman & Patterson, CACM 52(4) 2009):

    t_SOL = max(F / peak, B / bw)          F FLOPs at the compute class's dense peak, B DRAM bytes

Work a kernel does (what its SOL is computed from):
- GEMM C[m,n] = A[m,k] B[k,n]: F = 2 m n k (one multiply-add = 2 FLOPs).
- Attention: F = 2 b hq sq s_att (d + dv) (Q K^T: 2 d, P V: 2 dv per attended pair), with
  s_att = `attended_kv`, the EXACT mean number of keys a query attends to: min(skv, window,
  top-k), and under a causal (bottom-right aligned) mask skv - (sq - 1)/2 when sq <= skv
  (query i of sq sees skv - sq + 1 + i keys; the mean over i). forward_backward: 3.5 x the
  forward (backward = 2.5 x forward: dQ, dK, dV and the recomputed S; FlashAttention-2,
  Dao 2023, arXiv:2307.08691, section 4).

Metric convention for REPORTED numbers (docs/cases.md, "tflops"): a case's
TFLOP/s are useful FLOPs / time with GEMM 2 m n k and attention 4 b sq skv hq d
(= 2 b sq skv hq (d + dv) for dv = d), halved when causal AND sq = skv (the FlashAttention
benchmark convention); forward_backward x 3.5 (FlashAttention-2). FlashMLA's sparse-decode
figures count the top-k attended keys (`sparse_topk` caps skv; deepseek-ai/FlashMLA README).
`case_metric_flops` turns a case's reported TFLOP/s into time (and a predicted time into
TFLOP/s); `case_work_flops` is the work for its SOL. The two differ for causal cases with
sq != skv (the metric counts the full sq x skv matrix) and by the diagonal for square causal
cases ((S+1)/S).
"""

from __future__ import annotations

import numpy as np

from hundredx.errors import InputError

BACKWARD_FLOP_RATIO = 3.5  # fwd + bwd FLOPs / fwd FLOPs (FlashAttention-2 convention)


def compute_time(flops, peak: float):
    """F / peak; zero work takes zero time even on a chip without the compute class (peak 0)."""
    if peak > 0:
        return flops / peak
    return np.where(np.asarray(flops) > 0, np.inf, 0.0)


def sol_time(flops, nbytes, peak: float, bw: float):
    """Roofline speed of light max(F / peak, B / bw), element-wise over arrays."""
    return np.maximum(compute_time(flops, peak), nbytes / bw)


def gemm_flops(m, n, k):
    """2 m n k (arrays broadcast)."""
    return 2.0 * m * n * k


def attended_kv(seqlen_q, seqlen_kv, causal, window=None, sparse_topk=None):
    """Exact mean number of KV positions a query attends to (see the module docstring)."""
    sq, skv = np.asarray(seqlen_q, float), np.asarray(seqlen_kv, float)
    att = np.where(np.asarray(causal, bool) & (sq <= skv), skv - (sq - 1.0) / 2.0, skv)
    if window:
        att = np.minimum(att, float(window))
    if sparse_topk:
        att = np.minimum(att, float(sparse_topk))
    return att


def attention_flops(batch, heads_q, seqlen_q, attended, head_dim, head_dim_v):
    """2 b hq sq s_att (d + dv): FLOPs of one forward pass over `attended` keys per query."""
    return 2.0 * batch * heads_q * seqlen_q * attended * (head_dim + head_dim_v)


def _direction_factor(direction: str | None) -> float:
    return BACKWARD_FLOP_RATIO if direction == "forward_backward" else 1.0


def attention_metric_flops(batch, seqlen_q, seqlen_kv, heads_q, head_dim, head_dim_v=None, causal=False,
                           direction: str | None = "forward", sparse_topk=None) -> float:
    """SCHEMA convention for reported attention TFLOP/s (see the module docstring)."""
    skv = min(seqlen_kv, sparse_topk) if sparse_topk else seqlen_kv
    dv = head_dim_v or head_dim
    flops = 2.0 * batch * seqlen_q * skv * heads_q * (head_dim + dv)
    if causal and seqlen_q == skv:
        flops /= 2.0
    return flops * _direction_factor(direction)


def attention_work_flops(batch, seqlen_q, seqlen_kv, heads_q, head_dim, head_dim_v=None, causal=False,
                         direction: str | None = "forward", window=None, sparse_topk=None) -> float:
    """Exact attention FLOPs of one call (attended pairs; the work its SOL is computed from)."""
    att = float(attended_kv(seqlen_q, seqlen_kv, causal, window, sparse_topk))
    dv = head_dim_v or head_dim
    return attention_flops(batch, heads_q, seqlen_q, att, head_dim, dv) * _direction_factor(direction)


def _need(cfg: dict, key: str):
    value = cfg.get(key)
    if value is None:
        raise InputError(f"config.{key}", None, "missing")
    return value


def _attention_args(cfg: dict) -> tuple[float, float, float, float, float, float | None, bool, str]:
    return (float(_need(cfg, "batch")), float(_need(cfg, "seqlen_q")), float(_need(cfg, "seqlen_kv")),
            float(_need(cfg, "heads_q")), float(_need(cfg, "head_dim")),
            float(cfg["head_dim_v"]) if cfg.get("head_dim_v") else None, bool(cfg.get("causal", False)),
            cfg.get("direction") or "forward")


def _grouped_rows(cfg: dict) -> float:
    if cfg.get("tokens_per_group"):
        return float(sum(cfg["tokens_per_group"]))
    return float(_need(cfg, "tokens_total"))


def case_metric_flops(kind: str, cfg: dict) -> float:
    """FLOPs a case's reported `tflops` counts (docs/cases.md); 0 for memory cases."""
    if kind == "gemm":
        return gemm_flops(float(_need(cfg, "m")), float(_need(cfg, "n")), float(_need(cfg, "k")))
    if kind == "grouped_gemm":
        return 2.0 * _grouped_rows(cfg) * float(_need(cfg, "n")) * float(_need(cfg, "k"))
    if kind == "attention":
        return attention_metric_flops(*_attention_args(cfg), sparse_topk=cfg.get("sparse_topk"))
    return 0.0


def case_work_flops(kind: str, cfg: dict) -> float:
    """FLOPs a case's kernel executes (attention: exact attended pairs); 0 for memory cases."""
    if kind == "attention":
        return attention_work_flops(*_attention_args(cfg), window=cfg.get("window"),
                                    sparse_topk=cfg.get("sparse_topk"))
    return case_metric_flops(kind, cfg)
