"""Step cost: how long one engine iteration of one replica takes, and its KV memory.

The simulator only talks to a `StepCost`: one continuous-batching iteration that runs
`prefill_seqs` prefill chunks (`prefill_tokens` new tokens over `prefill_context_tokens`
tokens of prior context) together with `decode_seqs` decode sequences (one new token
each over `decode_context_tokens` total context). The real implementation wraps
`predict` (the static per-step model); here live the protocol, two analytic/tabulated
costs for tests and measured tables, and `MemoStepCost`, which buckets inputs
geometrically (relative resolution 2^-bits) and caches the inner cost, so a simulation
of 10^5 steps calls the expensive model a few thousand times.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Protocol, cast, runtime_checkable

import numpy as np

from hundredx.arrays import ArrayLike
from hundredx.errors import InputError


@runtime_checkable
class StepCost(Protocol):
    """One replica's iteration time and KV memory (whole model, all devices of the replica)."""

    @property
    def kv_bytes_per_token(self) -> float: ...

    @property
    def kv_capacity_bytes(self) -> float: ...

    def step_time_s(self, prefill_tokens: int, prefill_seqs: int, prefill_context_tokens: int,
                    decode_seqs: int, decode_context_tokens: int) -> float: ...


class VectorStepCost(StepCost, Protocol):
    """A StepCost that also prices many iterations in one call: array inputs in, an array of times out."""

    def step_times_s(self, prefill_tokens, prefill_seqs, prefill_context_tokens, decode_seqs,
                     decode_context_tokens) -> ArrayLike: ...


def check_step_cost(cost: object, field_name: str = "step_cost") -> None:
    """Refuse objects that do not look like a StepCost, or carry impossible memory numbers."""
    if not isinstance(cost, StepCost):
        raise InputError(field_name, type(cost).__name__, "needs kv_bytes_per_token, kv_capacity_bytes, step_time_s()")
    if not cost.kv_bytes_per_token >= 0:
        raise InputError(f"{field_name}.kv_bytes_per_token", cost.kv_bytes_per_token, "must be >= 0")
    if not cost.kv_capacity_bytes > 0:
        raise InputError(f"{field_name}.kv_capacity_bytes", cost.kv_capacity_bytes, "must be > 0")


@dataclass(frozen=True, slots=True)
class LinearStepCost:
    """Analytic (linear) cost, for tests and quick studies:

    t = fixed_s + prefill_s_per_token*prefill_tokens + prefill_s_per_context_token*prefill_context_tokens
        + decode_s_per_seq*decode_seqs + decode_s_per_context_token*decode_context_tokens.
    A roofline-shaped fake: weights are read once per step (fixed_s), GEMM work grows with
    tokens, decode attention with KV bytes read (context tokens).
    """

    fixed_s: float = 10e-3
    prefill_s_per_token: float = 50e-6
    prefill_s_per_context_token: float = 0.0
    decode_s_per_seq: float = 30e-6
    decode_s_per_context_token: float = 20e-9
    kv_bytes_per_token: float = 320 * 1024.0
    kv_capacity_bytes: float = 200e9

    def __post_init__(self) -> None:
        for name in ("fixed_s", "prefill_s_per_token", "prefill_s_per_context_token", "decode_s_per_seq",
                     "decode_s_per_context_token"):
            if not getattr(self, name) >= 0:
                raise InputError(name, getattr(self, name), "must be >= 0")

    def step_time_s(self, prefill_tokens, prefill_seqs, prefill_context_tokens, decode_seqs, decode_context_tokens):
        """Works on scalars and on numpy arrays alike."""
        return (self.fixed_s + self.prefill_s_per_token * prefill_tokens
                + self.prefill_s_per_context_token * prefill_context_tokens
                + self.decode_s_per_seq * decode_seqs + self.decode_s_per_context_token * decode_context_tokens)

    step_times_s = step_time_s


@dataclass(frozen=True, slots=True)
class TableStepCost:
    """Measured step times, linearly interpolated (clamped at the ends, extrapolated linearly above).

    t = prefill_time(prefill_tokens) [0 when none] + decode_time(decode_seqs) [0 when none]
        + decode_s_per_context_token * decode_context_tokens
    `prefill_points` = ((tokens, seconds), ...); `decode_points` = ((batch, seconds), ...), e.g.
    from an engine's benchmark sweep at a reference context.
    """

    prefill_points: tuple[tuple[float, float], ...]
    decode_points: tuple[tuple[float, float], ...]
    kv_bytes_per_token: float
    kv_capacity_bytes: float
    decode_s_per_context_token: float = 0.0

    def __post_init__(self) -> None:
        for name in ("prefill_points", "decode_points"):
            pts = np.asarray(getattr(self, name), dtype=float)
            if pts.ndim != 2 or pts.shape[1] != 2 or len(pts) < 2:
                raise InputError(name, getattr(self, name), "need at least two (x, seconds) pairs")
            if np.any(np.diff(pts[:, 0]) <= 0) or np.any(pts < 0):
                raise InputError(name, getattr(self, name), "x must increase strictly; values must be >= 0")

    @staticmethod
    def _interp(points: tuple, x):
        pts = np.asarray(points, dtype=float)
        xs, ys = pts[:, 0], pts[:, 1]
        slope = (ys[-1] - ys[-2]) / (xs[-1] - xs[-2])
        x = np.asarray(x, dtype=float)
        y = np.where(x > xs[-1], ys[-1] + slope * (x - xs[-1]), np.interp(x, xs, ys))
        return np.where(x > 0, y, 0.0)

    def step_times_s(self, prefill_tokens, prefill_seqs, prefill_context_tokens, decode_seqs, decode_context_tokens):
        return (self._interp(self.prefill_points, prefill_tokens) + self._interp(self.decode_points, decode_seqs)
                + self.decode_s_per_context_token * np.asarray(decode_context_tokens, dtype=float))

    def step_time_s(self, prefill_tokens, prefill_seqs, prefill_context_tokens, decode_seqs, decode_context_tokens):
        return float(self.step_times_s(prefill_tokens, prefill_seqs, prefill_context_tokens, decode_seqs,
                                       decode_context_tokens))


PREFETCH = 32


def bucket(x, bits: int = 5):
    """Round a count up to the geometric grid with 2^bits steps per octave (exact below 2^bits).

    The rounded value is >= x, so memoized costs never undercount; relative error < 2^-bits.
    Broadcasts over numpy arrays.
    """
    x = np.asarray(x, dtype=np.int64)
    shift = np.maximum(np.floor(np.log2(np.maximum(x, 1))).astype(np.int64) - bits, 0)
    return ((x + (1 << shift) - 1) >> shift) << shift


def _bucket1(x: int, bits: int) -> int:
    x = int(x)
    if x < (1 << bits):
        return x
    shift = x.bit_length() - 1 - bits
    return ((x + (1 << shift) - 1) >> shift) << shift


class WrapsStepCost:
    """Mixin for a StepCost built around `self.inner`: its KV sizes are the inner cost's."""

    __slots__ = ()
    inner: StepCost  # a field of each class that mixes this in

    @property
    def kv_bytes_per_token(self) -> float:
        return self.inner.kv_bytes_per_token

    @property
    def kv_capacity_bytes(self) -> float:
        return self.inner.kv_capacity_bytes


@dataclass(slots=True)
class MemoStepCost(WrapsStepCost):
    """Caches an expensive StepCost on geometric buckets of its five inputs (see `bucket`)."""

    inner: StepCost
    bits: int = 5
    cache: dict = field(default_factory=dict)
    hits: int = 0
    misses: int = 0

    def __post_init__(self) -> None:
        check_step_cost(self.inner, "inner")
        if not 1 <= self.bits <= 16:
            raise InputError("bits", self.bits, "bucket resolution must be in [1, 16]")

    def step_time_s(self, prefill_tokens, prefill_seqs, prefill_context_tokens, decode_seqs, decode_context_tokens):
        b = self.bits
        return self._lookup((_bucket1(prefill_tokens, b), _bucket1(prefill_seqs, b),
                             _bucket1(prefill_context_tokens, b), _bucket1(decode_seqs, b),
                             _bucket1(decode_context_tokens, b)))

    def step_times_s(self, prefill_tokens, prefill_seqs, prefill_context_tokens, decode_seqs, decode_context_tokens):
        """Vectorized: bucket the arrays, evaluate each distinct bucket once, gather."""
        raw = (prefill_tokens, prefill_seqs, prefill_context_tokens, decode_seqs, decode_context_tokens)
        arrays = [i for i, v in enumerate(raw) if np.ndim(v) > 0]
        if not arrays:
            return np.asarray(self.step_time_s(*raw))
        if len(arrays) == 1:  # the common macro-step case: only the decode context grows
            j = arrays[0]
            col = bucket(raw[j], self.bits)
            uniq, inverse = np.unique(col.ravel(), return_inverse=True)
            fixed = [_bucket1(v, self.bits) if i != j else 0 for i, v in enumerate(raw)]
            rows = [tuple(fixed[:j] + [u] + fixed[j + 1:]) for u in uniq.tolist()]
            shape = col.shape
        else:
            cols = np.broadcast_arrays(*(bucket(v, self.bits) for v in raw))
            shape = cols[0].shape
            uniq, inverse = np.unique(np.stack([c.ravel() for c in cols], axis=1), axis=0, return_inverse=True)
            rows = [tuple(r) for r in uniq.tolist()]
        values = np.array([self._lookup(key) for key in rows], dtype=float)
        return values[inverse.ravel()].reshape(shape)

    def _lookup(self, key: tuple) -> float:
        value = self.cache.get(key)
        if value is None:
            self.misses += 1
            if hasattr(self.inner, "step_times_s") and key[3] > 0:
                self._prefetch(key)
                value = self.cache[key]
            else:
                value = float(self.inner.step_time_s(*key))
                self.cache[key] = value
        else:
            self.hits += 1
        return value

    def _prefetch(self, key: tuple) -> None:
        """On a miss, price the next PREFETCH buckets of decode context in one vectorized call of the
        inner cost: decode context grows every iteration, so those keys come next."""
        inner = cast(VectorStepCost, self.inner)  # _lookup prefetches only when it has step_times_s
        ctx = [key[4]]
        while len(ctx) < PREFETCH:
            ctx.append(_bucket1(ctx[-1] + max(1, ctx[-1] >> self.bits), self.bits))
        values = np.asarray(inner.step_times_s(key[0], key[1], key[2], key[3], np.array(ctx, dtype=float)),
                            dtype=float).reshape(-1)
        for c, v in zip(ctx, values):
            self.cache.setdefault((key[0], key[1], key[2], key[3], c), float(v))


def decode_step_times(cost: StepCost, decode_seqs: int, context_tokens: int, steps: int) -> np.ndarray:
    """Times of `steps` consecutive pure-decode iterations whose total context grows by decode_seqs each.

    Uses the cost's vectorized `step_times_s` (if any) for long stretches, scalar calls otherwise.
    """
    fn = getattr(cost, "step_times_s", None)
    if steps <= 16 or fn is None:
        return np.array([cost.step_time_s(0, 0, 0, decode_seqs, context_tokens + decode_seqs * i)
                         for i in range(steps)], dtype=float)
    ctx = context_tokens + decode_seqs * np.arange(steps, dtype=np.int64)
    return np.broadcast_to(np.asarray(fn(0, 0, 0, decode_seqs, ctx), dtype=float), ctx.shape)


def kv_blocks(cost: StepCost, block_tokens: int) -> int:
    """Paged-KV blocks that fit one replica: floor(capacity / (bytes/token * block)); 'unbounded' when 0 B/token."""
    if cost.kv_bytes_per_token <= 0:
        return 1 << 40
    blocks = math.floor(cost.kv_capacity_bytes / (cost.kv_bytes_per_token * block_tokens))
    if blocks < 1:
        raise InputError("kv_capacity_bytes", cost.kv_capacity_bytes,
                         f"holds no {block_tokens}-token KV block at {cost.kv_bytes_per_token:g} B/token")
    return blocks
