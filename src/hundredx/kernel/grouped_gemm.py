"""Grouped GEMM (MoE experts): per-expert token counts -> tile padding, idle experts, skew.

Each expert e multiplies its t_e routed rows by its [k, n] weight. A grouped kernel
(deepgemm, torch_grouped_mm, sonicmoe, scattermoe, megablocks) pads every expert to whole
row tiles: tiles = sum_e ceil(t_e / tm) * ceil(n / tn), scheduled persistently in
ceil(tiles / num_sms) waves, so

    q = sum_e t_e * n / (waves * num_sms * tm * tn)     (padding waste + wave tail), best over the row
        tiles tm (the chip's), tm/2 (x0.9) and a 16-row swap-AB tile (x0.5: gemm.py's per-SM rates)
        and tn, 2 tn columns: decode (few tokens per expert) and MoE-TP splits pick the small tile, so
        their time is the weight bytes each expert streams (memory_s), not padded 256-row tiles
    compute_s = 2 k n sum_e t_e / (peak * gemm.eff * grouped.lib[library] * q * K/(K+k_half) * align)
    memory_s  = (active_experts * k n + sum_e t_e (k + n)) * bytes / (bw * gemm.mem_eff)
    time_s    = ||(compute_s, memory_s)||_p + gemm.latency_s

torch_mm_loop launches one dense GEMM per non-idle expert (gemm.py per expert: each pays
its own latency and wave tail). Counts come as an explicit `tokens_per_group` list or as
`groups` + `tokens_total` (routed rows = tokens * top_k; `groups` may be an array, one expert count per
configuration: an ep per configuration) with a distribution:
uniform (divmod split), random (multinomial: per-expert Binomial(T, 1/G), expected tiles
by 16-point Gauss-Hermite quadrature of the normal approximation (Poisson pmf below mean 16), idle experts
G (1 - 1/G)^T, expected max load mu + sd sqrt(2 ln G)), skewed (Zipf: t_e ∝ e^-skew), or
tile_rounded (after token_rounding.py: every count rounded to the nearest tile multiple, never to
zero for an expert with tokens: no padded rows).
"""

from __future__ import annotations

import numpy as np

from hundredx.chip.spec import ChipSpec
from hundredx.errors import InputError
from hundredx.formats import get_format
from hundredx.kernel import catalog
from hundredx.kernel.gemm import (
    SMALL_TILE_PENALTY,
    SWAP_TILE_PENALTY,
    alignment_factor,
    gemm_time,
    operand_bytes,
    resolve_compute,
)
from hundredx.kernel.params import KernelParams, KernelTime, combine
from hundredx.kernel.platforms import platform_of
from hundredx.kernel.roofline import sol_time

DISTRIBUTIONS = ("uniform", "random", "skewed", "tile_rounded")
_Z, _W = np.polynomial.hermite_e.hermegauss(16)
_W = _W / _W.sum()


def expert_tiles(groups, tokens_total, tile_m: int, distribution: str = "uniform", skew: float = 0.0):
    """(row tiles summed over experts, active experts, max load) for a routing distribution. `groups`: the
    experts on this device, or an array of them per configuration (an ep per configuration): each element
    then gets the formula of its own count (each distinct count evaluated once)."""
    if distribution not in DISTRIBUTIONS:
        raise InputError("distribution", distribution, f"must be one of {', '.join(DISTRIBUTIONS)}")
    if np.ndim(groups):
        return _per_count(np.asarray(groups, float), tokens_total, tile_m, distribution, skew)
    if groups < 1:
        raise InputError("groups", groups, "must be >= 1")
    t = np.asarray(tokens_total, float)
    if distribution == "tile_rounded":
        # Per-expert counts rounded to the nearest tile multiple (token_rounding.py, mode "nearest"): no
        # padded rows; an expert with tokens keeps at least one tile (rounding it to zero would drop all of
        # them). Monotone in t: more tokens never fewer tiles.
        q = t / groups
        per = np.where(q > 0, np.maximum(np.floor(q / tile_m + 0.5), 1.0), 0.0)
        tiles = groups * per
        return tiles, np.where(q > 0, float(groups), 0.0), per * tile_m
    if distribution == "skewed" or skew > 0:
        share = np.arange(1, groups + 1, dtype=float) ** -max(skew, 0.0)
        loads = np.round(t[..., None] * share / share.sum())
        return np.ceil(loads / tile_m).sum(-1), (loads > 0).sum(-1).astype(float), loads.max(-1)
    if distribution == "uniform":
        q, r = np.floor(t / groups), np.mod(t, groups)
        tiles = r * np.ceil((q + 1) / tile_m) + (groups - r) * np.ceil(q / tile_m)
        return tiles, np.minimum(float(groups), t), q + (r > 0)
    p = 1.0 / groups
    mu, sd = t * p, np.sqrt(t * p * (1.0 - p))
    x = np.maximum(np.round(mu[..., None] + sd[..., None] * _Z), 0.0)
    normal = (np.ceil(x / tile_m) * _W).sum(-1)
    j = np.arange(64.0)  # small loads: Poisson(mu) pmf, exact enough below mu = 16
    logpmf = j * np.log(np.maximum(mu[..., None], 1e-300)) - mu[..., None] - _LOG_FACTORIAL
    poisson = (np.exp(logpmf) * np.ceil(j / tile_m)).sum(-1)
    tiles = groups * np.where(mu < 16.0, poisson, normal)
    active = groups * (1.0 - (1.0 - p) ** t)
    return tiles, active, mu + sd * np.sqrt(2.0 * np.log(max(groups, 2)))


def _per_count(groups: np.ndarray, tokens_total, tile_m: int, distribution: str, skew: float):
    """expert_tiles with one expert count per configuration: each distinct count's scalar formula, placed."""
    values = np.unique(groups)
    if values.size == 1:
        return expert_tiles(int(values[0]), tokens_total, tile_m, distribution, skew)
    shape = np.broadcast_shapes(groups.shape, np.shape(tokens_total))
    out = [np.empty(shape) for _ in range(3)]
    for value in values:
        sel = np.broadcast_to(groups == value, shape)
        for o, part in zip(out, expert_tiles(int(value), tokens_total, tile_m, distribution, skew)):
            o[sel] = np.broadcast_to(part, shape)[sel]
    return tuple(out)


_LOG_FACTORIAL = np.concatenate([[0.0], np.cumsum(np.log(np.arange(1.0, 64.0)))])  # log(j!), j = 0..63


def _counts(tokens_per_group, groups, tokens_total, distribution, skew, tile_m):
    if tokens_per_group is not None:
        tpg = np.asarray(tokens_per_group, float)
        if tpg.ndim != 1 or tpg.size == 0 or np.any(tpg < 0):
            raise InputError("tokens_per_group", tokens_per_group, "must be a non-empty list of counts >= 0")
        return tpg.sum(), np.ceil(tpg / tile_m).sum(), float((tpg > 0).sum()), tpg.max(), tpg
    if groups is None or tokens_total is None:
        raise InputError("tokens_per_group", None, "give tokens_per_group, or groups and tokens_total")
    tiles, active, max_load = expert_tiles(groups if np.ndim(groups) else int(groups), tokens_total, tile_m,
                                           distribution, skew)
    return np.asarray(tokens_total, float), tiles, active, max_load, None


def _best_tiles(chip: ChipSpec, n, rows, tiles_m, tokens_per_group, groups, tokens_total, distribution, skew):
    """Best useful/issued fraction over the row-tile candidates a grouped kernel picks among (module
    docstring): the chip's tile, a half-height tile, and the 16-row swap-AB tile of decode-time grouped
    kernels (DeepGEMM masked / CUTLASS small-M), each x (tn, 2 tn) columns, at gemm.py's per-SM rates."""
    tm, tn0 = chip.gemm_tile_m, chip.gemm_tile_n
    best = np.zeros(np.broadcast(rows, n).shape)
    for tile, rel in ((tm, 1.0), (max(tm // 2, 16), SMALL_TILE_PENALTY), (16, SWAP_TILE_PENALTY)):
        count = tiles_m if tile == tm else _counts(tokens_per_group, groups, tokens_total, distribution, skew,
                                                   tile)[1]
        for tn in (tn0, 2 * tn0):
            waves = np.ceil(count * np.ceil(n / tn) / chip.num_sms)
            best = np.maximum(best, rel * rows * n / np.maximum(waves * chip.num_sms * tile * tn, 1.0))
        if tile == 16:
            break
    return best


def grouped_gemm_time(chip: ChipSpec, params: KernelParams, k, n, tokens_per_group=None, groups=None,
                      tokens_total=None, distribution: str = "uniform", library: str = "deepgemm",
                      dtype: str = "bf16", skew: float = 0.0) -> KernelTime:
    """Time of one grouped GEMM call over all experts on this device."""
    if not catalog.is_known("grouped_gemm", library, modelled=True):
        raise InputError("library", library, f"must be one of {', '.join(catalog.names('grouped_gemm', True))}")
    k, n = np.asarray(k, float), np.asarray(n, float)
    tm = chip.gemm_tile_m
    rows, tiles_m, active, max_load, tpg = _counts(tokens_per_group, groups, tokens_total, distribution, skew, tm)
    lib_note = catalog.library_note("grouped_gemm", library, chip)
    if library == "torch_mm_loop":
        return _loop(chip, params, k, n, rows, active, max_load, tpg, dtype, lib_note)
    cls, fallback = resolve_compute(dtype, chip)
    fmt = get_format(dtype, "dtype")
    act_b, weight_b, dequant = operand_bytes(fmt, cls, fallback, params)  # no tensor-core path: gemm.py docstring
    flops = 2.0 * rows * n * k
    best_q = _best_tiles(chip, n, rows, tiles_m, tokens_per_group, groups, tokens_total, distribution, skew)
    keff = k / (k + params["gemm.k_half"])
    align = alignment_factor(n, k, fmt.bits, 16, chip.alignment_bytes, params, platform_of(chip).stride_penalty)
    eff = np.minimum(params[f"gemm.eff.{cls}"] * params[f"grouped.lib.{library}"] * best_q * keff * align * dequant,
                     1.0)
    peak, bw = chip.peak(cls), chip.mem_bytes_per_s
    compute_s = flops / (peak * np.maximum(eff, 1e-9))
    nbytes = active * k * n * weight_b + rows * (k + n) * act_b
    memory_s = nbytes / (bw * params["gemm.mem_eff"])
    latency = np.full(np.shape(compute_s), params["gemm.latency_s"])
    time_s = combine(compute_s, memory_s, params["gemm.overlap_p"]) + latency
    sol = sol_time(flops, nbytes, peak, bw)
    padding = tiles_m * tm - rows
    parts = {"compute_class": cls, "fallback": fallback, "padded_rows": padding, "active_experts": active,
             "max_load": max_load, "tile_wave_eff": best_q, "library": library,
             "notes": "; ".join(n for n in (fallback, lib_note) if n)}
    return KernelTime(time_s, compute_s, memory_s, latency, sol, flops, nbytes, parts)


def _loop(chip, params, k, n, rows, active, max_load, tpg, dtype, lib_note: str = "") -> KernelTime:
    """One torch.mm per non-idle expert; expected loads stand in for per-expert counts."""
    loads = tpg[tpg > 0] if tpg is not None else np.asarray(rows / np.maximum(active, 1.0))[..., None]
    per = gemm_time(loads, n[..., None] if np.ndim(n) else n, k[..., None] if np.ndim(k) else k, chip, params, dtype,
                    "torch")
    reps = 1.0 if tpg is not None else np.asarray(active)[..., None]
    total = lambda a: (np.asarray(a) * reps).sum(-1)  # noqa: E731
    parts = dict(per.parts, padded_rows=0.0, active_experts=active, max_load=max_load, library="torch_mm_loop",
                 notes="; ".join(n for n in (per.parts["fallback"], lib_note) if n))
    return KernelTime(total(per.time_s), total(per.compute_s), total(per.memory_s), total(per.latency_s),
                      total(per.sol_s), total(per.flops), total(per.bytes), parts)
