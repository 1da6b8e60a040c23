"""Tile-aware token rounding (SonicMoE-style) on router outputs, in numpy.

Input: expert ids [T, k] (int, distinct per row) and router scores [T, k] from a top-k
router, the number of experts E and the GEMM row tile. Output: a new assignment whose
per-expert token counts are all multiples of the tile, so no grouped-GEMM tile is padded.

Policy (mode "nearest", the default), for each expert with count c and r = c mod tile:
  1. r <= tile/2 -> round DOWN: drop the r assignments with the lowest router score; the
     freed (token, score) slots form a pool. r > tile/2 -> round UP: the expert needs tile - r.
  2. Fill: pool slots, highest score first, are re-routed to a round-up expert that still
     needs tokens and that the token does not already use (no token gets an expert twice);
     the slot keeps its original score as the gate weight. Experts are served in order of
     remaining need (largest first).
  3. A round-up expert still short after the pool is exhausted rounds DOWN instead (its r
     lowest-score original assignments are dropped). Freed slots not re-routed are dropped:
     id -1, score 0.
Mode "down" always rounds down (pure dropping, like capacity-factor token dropping aligned to
tiles); mode "up" only re-routes (experts still short keep their remainder, i.e. stay padded).
Stats: counts before/after, dropped, rerouted, padded rows before/after.
`rounding_speedup` predicts the grouped-GEMM gain of the new counts with grouped_gemm.py.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hundredx.errors import InputError

MODES = ("nearest", "down", "up")


@dataclass(frozen=True, slots=True)
class RoundingResult:
    ids: np.ndarray  # [T, k], -1 where the assignment was dropped
    scores: np.ndarray  # [T, k], 0 where dropped
    counts_before: np.ndarray  # [E]
    counts_after: np.ndarray  # [E]
    dropped: int
    rerouted: int

    def padded_rows(self, tile: int, after: bool = True) -> int:
        c = self.counts_after if after else self.counts_before
        return int((np.ceil(c / tile) * tile - c).sum())


def _validate(ids: np.ndarray, scores: np.ndarray, num_experts: int, tile: int) -> None:
    if ids.ndim != 2 or ids.shape != scores.shape:
        raise InputError("ids", ids.shape, f"ids and scores must both be [T, k]; scores is {scores.shape}")
    if tile < 1:
        raise InputError("tile", tile, "must be >= 1")
    if ids.size and (ids.min() < 0 or ids.max() >= num_experts):
        raise InputError("ids", (int(ids.min()), int(ids.max())), f"expert ids must be in [0, {num_experts})")
    srt = np.sort(ids, axis=1)
    if ids.shape[1] > 1 and np.any(srt[:, 1:] == srt[:, :-1]):
        raise InputError("ids", "duplicate", "a token lists the same expert twice")


def _drop_lowest(ids, scores, expert: int, r: int, pool: list | None) -> None:
    rows, cols = np.nonzero(ids == expert)
    order = np.argsort(scores[rows, cols], kind="stable")[:r]
    for i in order:
        t, j = rows[i], cols[i]
        if pool is not None:
            pool.append((float(scores[t, j]), int(t), int(j)))
        ids[t, j], scores[t, j] = -1, 0.0


def round_tokens(ids, scores, num_experts: int, tile: int, mode: str = "nearest") -> RoundingResult:
    """Make every expert's token count a multiple of `tile` (see module docstring for the policy)."""
    if mode not in MODES:
        raise InputError("mode", mode, f"must be one of {', '.join(MODES)}")
    ids, scores = np.array(ids, dtype=np.int64), np.array(scores, dtype=float)
    _validate(ids, scores, num_experts, tile)
    before = np.bincount(ids.ravel(), minlength=num_experts)
    rem = before % tile
    up = (rem > tile // 2) if mode == "nearest" else (rem > 0) if mode == "up" else np.zeros(num_experts, bool)
    pool: list = []
    for e in np.nonzero((rem > 0) & ~up)[0]:
        _drop_lowest(ids, scores, int(e), int(rem[e]), pool)
    need = {int(e): int(tile - rem[e]) for e in np.nonzero(up)[0]}
    rerouted = 0
    for score, t, j in sorted(pool, reverse=True):
        open_experts = [e for e in sorted(need, key=lambda x: -need[x]) if need[e] > 0 and e not in ids[t]]
        if not open_experts:
            continue
        expert = open_experts[0]
        ids[t, j], scores[t, j] = expert, score
        need[expert] -= 1
        rerouted += 1
    if mode == "nearest":
        for expert, short in need.items():
            if short > 0:
                _drop_lowest(ids, scores, expert, int(tile - short), None)
    after = np.bincount(ids[ids >= 0].ravel(), minlength=num_experts)
    dropped = int(before.sum() - after.sum())
    return RoundingResult(ids, scores, before, after, dropped, rerouted)


def rounding_speedup(result: RoundingResult, chip, params, k: int, n: int, dtype: str = "bf16",
                     library: str = "deepgemm") -> dict:
    """Grouped-GEMM time before/after rounding (grouped_gemm.py) and the predicted speed-up."""
    from hundredx.kernel.grouped_gemm import grouped_gemm_time

    t0 = grouped_gemm_time(chip, params, k, n, tokens_per_group=result.counts_before, library=library, dtype=dtype)
    t1 = grouped_gemm_time(chip, params, k, n, tokens_per_group=result.counts_after, library=library, dtype=dtype)
    b, a = float(t0.time_s), float(t1.time_s)
    return {"time_before_s": b, "time_after_s": a, "speedup": b / a,
            "padded_rows_before": float(t0.parts["padded_rows"]), "padded_rows_after": float(t1.parts["padded_rows"]),
            "dropped": result.dropped, "rerouted": result.rerouted}
