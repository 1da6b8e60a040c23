"""What `hundredx calibrate run` measures: the shape sweeps, one list of (kind, config) per device.

GPU sweep (dtype bf16 unless named):
- GEMM C[m,n] = A[m,k]·B[k,n]: squares 256..16384; LLM projections (n, k) in {(4096, 4096),
  (14336, 4096), (4096, 14336)} at m = 1..16384 (the small-M, memory-bound regime);
  unaligned operands: K or N not a multiple of 8 elements (16 bytes, cuBLAS's vector
  width) at m = 4096 and m = 16, with aligned controls, and an odd M (which should not hurt).
- FP8 GEMM (E4M3, per-tensor scales, torch._scaled_mm) at m = 16..8192 and squares.
- Attention forward (SDPA flash): prefill with 16k tokens per batch (FlashAttention-3
  paper convention: batch = 16384/seqlen, hidden 2048 = heads x head_dim), head_dim
  64/128/256, seqlen 512..16k, causal and not, plus GQA; decode (seqlen_q = 1, GQA 32/8
  and MHA) at batch 1..128, KV 1k..64k, capped at 16 GB of KV.
- Grouped GEMM (MoE experts): groups 8..128, tokens per group 16..1024 including a
  non-multiple of the 128-row tile (1000) and a seeded random split.
- Memory: device-to-device copy 1 MiB..4 GiB; RMSNorm rows 1..32768 x hidden 4096/8192.
`quick` keeps a subset of each; the CPU sweep is the same list at sizes a CI runner
finishes in seconds, in fp32.
"""

from __future__ import annotations

import numpy as np

KV_CAP_BYTES = 16e9
MiB = 1 << 20


def _gemm(m: int, n: int, k: int, dtype: str) -> tuple[str, dict]:
    return "gemm", {"m": m, "n": n, "k": k, "dtype": dtype}


def gemm_sweep(dtype: str, quick: bool, cpu: bool) -> list[tuple[str, dict]]:
    if cpu:
        squares = [64, 256] if quick else [64, 128, 256, 512]
        nks = [(256, 256)] if quick else [(256, 256), (512, 256)]
        unaligned = [(64, 256, 255), (64, 255, 256), (64, 256, 252)]
        return ([_gemm(s, s, s, dtype) for s in squares] + [_gemm(m, n, k, dtype) for m in (1, 16, 64) for n, k in nks]
                + [_gemm(m, n, k, dtype) for m, n, k in unaligned])
    squares = [1024, 4096, 8192] if quick else [256, 512, 1024, 2048, 4096, 8192, 16384]
    ms = [1, 16, 128, 1024, 8192] if quick else [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384]
    nks = [(4096, 4096), (14336, 4096)] if quick else [(4096, 4096), (14336, 4096), (4096, 14336)]
    odd = [4095, 4100] if quick else [4095, 4097, 4100, 4104]
    cases = [_gemm(s, s, s, dtype) for s in squares] + [_gemm(m, n, k, dtype) for n, k in nks for m in ms]
    for m in (4096, 16):
        cases += [_gemm(m, 4096, k, dtype) for k in odd] + [_gemm(m, n, 4096, dtype) for n in odd]
    return cases + [_gemm(4095, 4096, 4096, dtype)]


def fp8_sweep(quick: bool) -> list[tuple[str, dict]]:
    ms = [16, 128, 1024, 8192] if quick else [16, 64, 256, 1024, 4096, 8192]
    nks = [(4096, 4096)] if quick else [(4096, 4096), (14336, 4096), (7168, 2048)]
    squares = [4096, 8192] if quick else [2048, 4096, 8192, 16384]
    out = [_gemm(s, s, s, "fp8") for s in squares] + [_gemm(m, n, k, "fp8") for n, k in nks for m in ms]
    return [(kind, dict(c, out_dtype="bf16")) for kind, c in out]


def _attn(phase: str, b: int, sq: int, skv: int, hq: int, hkv: int, d: int, causal: bool,
          dtype: str) -> tuple[str, dict]:
    return "attention", {"phase": phase, "batch": b, "seqlen_q": sq, "seqlen_kv": skv, "heads_q": hq, "heads_kv": hkv,
                         "head_dim": d, "causal": causal, "dtype": dtype}


def attention_sweep(dtype: str, quick: bool, cpu: bool) -> list[tuple[str, dict]]:
    if cpu:
        seqs = [64] if quick else [64, 128]
        out = [_attn("prefill", 2, s, s, 4, 4, d, c, dtype) for d in (32, 64) for s in seqs for c in (False, True)]
        return out + [_attn("decode", 4, 1, 256, 4, 2, 64, False, dtype)]
    hds, seqs = ([64, 128], [1024, 4096]) if quick else ([64, 128, 256], [512, 1024, 2048, 4096, 8192, 16384])
    out = [_attn("prefill", 16384 // s, s, s, 2048 // d, 2048 // d, d, c, dtype) for d in hds for s in seqs
           for c in (False, True)]
    out += [_attn("prefill", 4, 4096, 4096, 32, 8, 128, True, dtype)]
    batches, kvs = ([1, 32], [4096, 32768]) if quick else ([1, 8, 32, 128], [1024, 4096, 16384, 65536])
    for hkv in ((8,) if quick else (8, 32)):
        out += [_attn("decode", b, 1, kv, 32, hkv, 128, False, dtype) for b in batches for kv in kvs
                if 2 * b * kv * hkv * 128 * 2 <= KV_CAP_BYTES]
    return out


def grouped_sweep(dtype: str, quick: bool, cpu: bool) -> list[tuple[str, dict]]:
    rng = np.random.default_rng(0)
    if cpu:
        shapes, groups, tpgs = [(128, 128)], [4, 8], ([16] if quick else [16, 30])
    elif quick:
        shapes, groups, tpgs = [(4096, 1536)], [8, 64], [16, 256]
    else:
        shapes, groups, tpgs = [(4096, 1536), (7168, 2048)], [8, 32, 128], [16, 128, 1000, 1024]
    out = []
    for k, n in shapes:
        for g in groups:
            out += [("grouped_gemm", {"k": k, "n": n, "dtype": dtype, "tokens_per_group": [t] * g,
                                      "distribution": "uniform"}) for t in tpgs if g * t <= 65536]
        g, total = groups[-1], groups[-1] * tpgs[-1]
        split = rng.multinomial(total, np.full(g, 1.0 / g)).tolist()
        out.append(("grouped_gemm", {"k": k, "n": n, "dtype": dtype, "tokens_per_group": split,
                                     "distribution": "random"}))
    return out


def memory_sweep(copy_dtype: str, dtype: str, quick: bool, cpu: bool) -> list[tuple[str, dict]]:
    el = 4 if copy_dtype == "fp32" else 2
    if cpu:
        sizes, rows, hiddens = [MiB // 16, MiB, 8 * MiB], [16, 256], [512]
    elif quick:
        sizes, rows, hiddens = [MiB, 16 * MiB, 256 * MiB, 1024 * MiB], [1, 128, 8192], [4096]
    else:
        sizes, rows, hiddens = [MiB << (2 * i) for i in range(7)], [1, 16, 128, 1024, 8192, 32768], [4096, 8192]
    out = [("memory", {"op": "copy", "bytes": 2 * s, "dtype": copy_dtype, "shape": [s // el]}) for s in sizes]
    rel = 4 if dtype == "fp32" else 2
    out += [("memory", {"op": "rmsnorm", "bytes": (2 * r * h + h) * rel, "dtype": dtype, "shape": [r, h]})
            for r in rows for h in hiddens]
    return out


def plan(backend, quick: bool) -> list[tuple[str, dict]]:
    """Every (kind, config) this backend will measure, in run order."""
    cpu = not backend.is_cuda
    out = gemm_sweep(backend.dtype, quick, cpu)
    out += fp8_sweep(quick)[:1] if cpu else fp8_sweep(quick)  # on CPU: one, recorded as skipped with the reason
    out += attention_sweep(backend.dtype, quick, cpu)
    out += [(kind, dict(c, library=lib)) for lib in backend.grouped_libraries
            for kind, c in grouped_sweep(backend.dtype, quick, cpu)]
    return out + memory_sweep(backend.copy_dtype, backend.dtype, quick, cpu)
