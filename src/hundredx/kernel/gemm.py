"""Dense GEMM time C[m,n] = A[m,k] B[k,n] on one chip: tiles, waves, alignment, small-M, formats.

    compute_s = 2mnk / (peak_fmt * eff_fmt * lib * q_tile_wave * K/(K+k_half) * align)
    memory_s  = (m k + k n) * elem_bytes + m n * out_bytes) / (bw * mem_eff)
    time_s    = ||(compute_s, memory_s)||_p + latency            (p-norm: partial overlap)

q_tile_wave: output tiles of shape tm x tn (candidates derived from the chip's tile:
(tm,tn), (tm,2tn), (2tm,tn), (tm/2,tn) at a 10% per-SM penalty for the half tile), ceil(m/tm)*ceil(n/tn)
tiles run in ceil(tiles/num_sms) waves (split-K fills a partial wave); q = m n / (waves * num_sms * tm * tn), the best
candidate wins (a library heuristic picks the tile). Small M (decode) therefore becomes
memory-bound: the weights stream from HBM while most of each tile is padding.
align (only on platforms with a stride penalty, kernel/platforms.py: CUDA, ROCm; XLA / Neuron / CANN
pad operands to their tiles, a dataflow compiler places them): TMA-era kernels (Hopper/Blackwell cuBLAS)
need 16-byte row strides; a K or N stride
that is not a multiple of `chip.alignment_bytes` runs at `gemm.unaligned`, and one that is
not 4-byte aligned (odd sizes) at `gemm.unaligned * gemm.odd`; unaligned operands also stream
at `gemm.unaligned_mem` of the aligned bandwidth (narrower vector loads, no TMA).
Formats: the compute class picks the peak (fp4 -> chip.peak("fp4")); block-scaled formats
(fp4, mx*) pay `gemm.scaled_latency_s` extra fixed time.
No tensor-core path for the format (FP4 weights on Hopper, FP8 on Ampere): the GEMM runs on the
next wider class the chip has (FALLBACK_CHAIN, flagged "fp4->fp8" in the op's fallback) as a
weight-dequantizing kernel (Marlin/machete style): the B (weight) operand streams at its STORED
width, the A (activation) operand is kept in the supported class's format (fp8, else bf16), and
the in-kernel dequantization costs `gemm.dequant_eff` of the compute rate (ASSUMPTION 0.85: no
measured case identifies it, so it is never fitted).
Library: a named library (not `auto`) that no fit behind `params` has seen prices with the analytic
defaults of the harness-dependent parameters (kernel/transfer.py HARNESS_DEPENDENT, harness_scope;
the op's notes say so).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from hundredx.arrays import ArrayLike
from hundredx.chip.spec import ChipSpec
from hundredx.errors import InputError
from hundredx.formats import get_format
from hundredx.kernel import catalog
from hundredx.kernel.params import KernelParams, KernelTime, combine
from hundredx.kernel.platforms import platform_of
from hundredx.kernel.roofline import gemm_flops, sol_time
from hundredx.kernel.transfer import harness_scope

SMALL_TILE_PENALTY = 0.90  # ASSUMPTION: a half-height (64-row) tile reaches ~90% of the per-SM rate of a full one
SWAP_TILE_PENALTY = 0.50  # ASSUMPTION: swap-AB 16-row tiles (tiny M) reach ~half the per-SM rate


CANDIDATE_AXIS_MAX = 4096  # up to this many shapes the tile candidates are an array axis (fewer numpy calls);
# above it a loop over them keeps the temporaries of a sweep 5x smaller (cache-resident)


@lru_cache(maxsize=64)
def _tile_candidates(tile_m: int, tile_n: int) -> np.ndarray:
    """Rows (tm, tn, relative per-SM rate) of the tile shapes a library heuristic chooses among."""
    cands = np.array([(tile_m, tile_n, 1.0), (tile_m, 2 * tile_n, 1.0), (2 * tile_m, tile_n, 1.0),
                      (max(tile_m // 2, 16), tile_n, SMALL_TILE_PENALTY), (16, tile_n, SWAP_TILE_PENALTY)])
    cands.flags.writeable = False
    return cands


def _tile_candidate(m, n, kslices, num_sms: int, tm, tn, rel):
    """Useful/issued fraction of one tile shape (tm x tn, relative per-SM rate rel) with split-K."""
    tiles = np.ceil(m / tm) * np.ceil(n / tn)
    split = np.maximum(np.minimum(np.floor(num_sms / np.maximum(tiles, 1.0)), kslices), 1.0)
    waves = np.ceil(tiles * split / num_sms)
    return rel * m * n * split / np.maximum(waves * num_sms * tm * tn, 1.0)


def tile_wave_efficiency(m, n, num_sms: int, tile_m: int, tile_n: int, k=None, tile_k: int = 64):
    """Best useful/issued fraction of tensor-core work over the tile candidates (array over m, n).

    Candidates: (tm,tn), (tm,2tn), (2tm,tn), (tm/2,tn) at SMALL_TILE_PENALTY, and a swap-AB
    16-row tile for tiny M at SWAP_TILE_PENALTY. When a wave is not filled, split-K runs up to
    min(num_sms // tiles, K // (4 tile_k)) K-slices per tile.
    """
    m, n = np.asarray(m, float), np.asarray(n, float)
    kslices = np.floor(np.asarray(k if k is not None else 4 * tile_k, float) / (4 * tile_k))
    cands = _tile_candidates(tile_m, tile_n)
    ndim = max(m.ndim, n.ndim, kslices.ndim)
    if max(m.size, n.size, kslices.size) <= CANDIDATE_AXIS_MAX:
        tm, tn, rel = (cands[:, i].reshape((-1,) + (1,) * ndim) for i in range(3))
        return _tile_candidate(m, n, kslices, num_sms, tm, tn, rel).max(axis=0)
    best = np.zeros(np.broadcast_shapes(m.shape, n.shape, kslices.shape))
    for tm, tn, rel in cands:
        best = np.maximum(best, _tile_candidate(m, n, kslices, num_sms, tm, tn, rel))
    return best


def alignment_factor(n, k, bits: int, out_bits: int, align_bytes: int, params: KernelParams,
                     stride_penalty: bool = True):
    """1 when K and N strides are multiples of align_bytes; else gemm.unaligned (x gemm.odd below 4 bytes).
    `stride_penalty=False` (platforms whose compiler lays operands out: kernel/platforms.py): always 1."""
    n, k = np.asarray(n, float), np.asarray(k, float)
    if not stride_penalty:
        return np.ones(np.broadcast_shapes(n.shape, k.shape))
    strides = [k * bits / 8.0, n * bits / 8.0] + ([n * out_bits / 8.0] if out_bits != bits else [])
    aligned = even = True
    for s in strides:  # strides are whole bytes; a residue under 1e-6 B is float noise
        aligned = aligned & (np.mod(s, align_bytes) < 1e-6)
        even = even & (np.mod(s, 4) < 1e-6)
    factor = np.where(aligned, 1.0, params["gemm.unaligned"])
    return np.where(even | aligned, factor, factor * params["gemm.odd"])


FALLBACK_CHAIN = {"fp4": ("fp4", "fp6", "fp8", "bf16"), "fp6": ("fp6", "fp8", "bf16"), "fp8": ("fp8", "bf16"),
                  "int8": ("int8", "fp8", "bf16"), "fp16": ("fp16", "bf16"), "bf16": ("bf16", "fp16"),
                  "tf32": ("tf32", "fp32", "bf16"), "fp32": ("fp32", "tf32", "bf16")}


def resolve_compute(dtype: str, chip: ChipSpec) -> tuple[str, str]:
    """(compute class used, fallback note). A class without a path falls back fp4 -> fp8 -> bf16."""
    wanted = get_format(dtype, "dtype").compute
    if wanted == "int4":
        wanted = "bf16"  # weight-only int4: activations and math in bf16
    for cls in FALLBACK_CHAIN.get(wanted, (wanted,)):
        if chip.peak(cls) > 0:
            note = "" if cls == wanted else f"{wanted}->{cls}"
            return cls, note
    raise InputError("dtype", dtype, f"chip {chip.id} has no compute path for {wanted} (or a wider fallback)")


_CLASS_BYTES = {"fp8": 1.0, "int8": 1.0, "fp6": 0.75, "bf16": 2.0, "fp16": 2.0, "tf32": 4.0, "fp32": 4.0}


def operand_bytes(fmt, cls: str, fallback: str, params: KernelParams) -> tuple[float, float, float]:
    """(activation bytes/element, weight bytes/element, dequantization factor) of a GEMM (module docstring)."""
    if not fallback:
        return fmt.bytes_per_element, fmt.bytes_per_element, 1.0
    act = _CLASS_BYTES.get(cls, 2.0)
    if fmt.bytes_per_element >= act:  # a wider format on a narrower path (fp32 on tf32): no dequantization
        return act, act, 1.0
    return act, fmt.bytes_per_element, params["gemm.dequant_eff"]


def gemm_time(m, n, k, chip: ChipSpec, params: KernelParams, dtype: str = "bf16", library: str = "auto",
              out_dtype: str = "bf16", bytes_total=None, check: bool = True) -> KernelTime:
    """Time of one GEMM call (arrays broadcast); `bytes_total` overrides the operand-byte count (e.g. int4
    weights) where it is > 0. `check=False` skips the shape validation (model-layer shapes are validated)."""
    if library != "auto" and not catalog.is_known("gemm", library, modelled=True):
        raise InputError("library", library, f"must be one of auto, {', '.join(catalog.names('gemm', True))}")
    m, n, k = (np.asarray(v, float) for v in (m, n, k))
    if check and not (m.min() >= 0 and n.min() > 0 and k.min() > 0):
        raise InputError("m,n,k", (m.tolist(), n.tolist(), k.tolist()), "GEMM dims must be positive")
    params, harness_note = harness_scope(params, library, chip)
    cls, fallback = resolve_compute(dtype, chip)
    fmt, out_fmt = get_format(dtype, "dtype"), get_format(out_dtype, "out_dtype")
    a_bytes, b_bytes, dequant = operand_bytes(fmt, cls, fallback, params)
    flops = gemm_flops(m, n, k)
    nbytes = m * k * a_bytes + k * n * b_bytes + m * n * out_fmt.bytes_per_element
    if bytes_total is not None:  # entries <= 0 keep the nominal count
        given = np.asarray(bytes_total, float)
        nbytes = np.where(given > 0, given, nbytes)
    peak, bw = chip.peak(cls), chip.mem_bytes_per_s
    quant = tile_wave_efficiency(m, n, chip.num_sms, chip.gemm_tile_m, chip.gemm_tile_n, k, chip.gemm_tile_k)
    keff = k / (k + params["gemm.k_half"])
    align = alignment_factor(n, k, fmt.bits, out_fmt.bits, chip.alignment_bytes, params,
                             platform_of(chip).stride_penalty)
    lib = 1.0 if library == "auto" else params[f"gemm.lib.{library}"]
    eff = np.minimum(params[f"gemm.eff.{cls}"] * lib * quant * keff * align * dequant, 1.0)
    compute_s = flops / (peak * eff)
    align_mem = np.where(align < 1.0, params["gemm.unaligned_mem"], 1.0)
    memory_s = nbytes / (bw * params["gemm.mem_eff"] * align_mem)
    scaled = params["gemm.scaled_latency_s"] if fmt.block and fmt.bits <= 8 else 0.0
    latency: ArrayLike = params["gemm.latency_s"] + scaled
    latency = np.full(np.broadcast(m, n, k).shape, latency)
    time_s = combine(compute_s, memory_s, params["gemm.overlap_p"]) + latency
    sol_s = sol_time(flops, nbytes, peak, bw)
    lib_note = "" if library == "auto" else catalog.library_note("gemm", library, chip)
    parts = {"compute_class": cls, "fallback": fallback, "dequant": dequant, "tile_wave_eff": quant, "k_eff": keff,
             "align": align,
             "eff_compute": eff, "notes": "; ".join(n for n in (fallback, lib_note, harness_note) if n)}
    return KernelTime(time_s, compute_s, memory_s, latency, sol_s, flops, nbytes, parts)
