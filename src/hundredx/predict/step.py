"""Step cost of one continuous-batching engine iteration, for the serving simulator.

A step runs `prefill_seqs` prefill chunks (`prefill_tokens` new tokens in all, after
`prefill_context_tokens` cached tokens in all) and `decode_seqs` decode sequences
(`decode_context_tokens` cached tokens in all) as one merged op list
(kernel.batching.merge_segments): GEMMs over all tokens, attention per segment with the
mean context of its sequences. `StackStepCost` caches results on a log-spaced grid.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from hundredx.kernel.batching import merge_segments
from hundredx.model import build_ops
from hundredx.predict.engine import forward_cost
from hundredx.predict.memory import USABLE_FRACTION, memory_use
from hundredx.predict.stack import Stack


def step_time(stack: Stack, prefill_tokens: int, prefill_seqs: int, prefill_context_tokens: int,
              decode_seqs: int, decode_context_tokens: int) -> float:
    """Seconds for one engine step of one replica (all its tp*pp devices)."""
    model = stack.model
    segments = []
    if prefill_tokens > 0:
        seqs = max(prefill_seqs, 1)
        segments.append(build_ops(model, seqs, prefill_tokens / seqs, prefill_context_tokens / seqs))
    if decode_seqs > 0:
        segments.append(build_ops(model, decode_seqs, 1, decode_context_tokens / decode_seqs))
    if not segments:
        return 0.0
    ops = merge_segments(segments) if len(segments) > 1 else segments[0]
    total_tokens = prefill_tokens + decode_seqs
    cost = forward_cost(stack, 1, total_tokens, 0, ops=ops)
    return float(np.max(cost.time_s))


def _bucket(x: float, per_octave: int = 8) -> float:
    """Round up to a log grid (8 points per doubling, ~9% apart) so cached steps are reused."""
    if x <= 16:
        return float(math.ceil(x))
    exp = math.ceil(math.log2(x) * per_octave) / per_octave
    return float(round(2.0 ** exp))


class StackStepCost:
    """The serving simulator's StepCost protocol, backed by `step_time` with a bucketed cache."""

    def __init__(self, stack: Stack, exact: bool = False):
        self.stack = stack
        self.exact = exact
        mem = memory_use(stack, 1, 1, 0)
        from hundredx.model import kv_bytes

        self.kv_bytes_per_token = float(np.max(kv_bytes(stack.model, 1024))) / 1024.0
        replica_devices = stack.runtime.tp * stack.runtime.pp * stack.runtime.cp
        free = stack.chip.mem_bytes * USABLE_FRACTION - float(np.max(mem.weights_bytes)) - float(np.max(mem.activation_bytes))
        split = self._kv_split()
        self.kv_capacity_bytes = max(free, 0.0) * replica_devices / split
        self._cached = lru_cache(maxsize=200_000)(self._compute)

    def _kv_split(self) -> float:
        """How many copies of each KV byte a replica stores (MLA latent replicated over tp)."""
        rt, model = self.stack.runtime, self.stack.model
        if rt.attention_dp:
            return 1.0
        if model.attention.kind == "mla":
            return float(rt.tp)
        return float(rt.tp) / min(rt.tp, max(model.num_kv_heads, 1))

    def _compute(self, pt: float, ps: float, pc: float, ds: float, dc: float) -> float:
        return step_time(self.stack, int(pt), int(ps), int(pc), int(ds), int(dc))

    def step_time_s(self, prefill_tokens: int, prefill_seqs: int, prefill_context_tokens: int,
                    decode_seqs: int, decode_context_tokens: int) -> float:
        if self.exact:
            return step_time(self.stack, prefill_tokens, prefill_seqs, prefill_context_tokens, decode_seqs,
                             decode_context_tokens)
        b = _bucket
        return self._cached(b(prefill_tokens), b(prefill_seqs), b(prefill_context_tokens), b(decode_seqs),
                            b(decode_context_tokens))
