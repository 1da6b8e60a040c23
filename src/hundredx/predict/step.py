"""Step cost of one continuous-batching engine iteration, for the serving simulator.

A step runs `prefill_seqs` prefill chunks (`prefill_tokens` new tokens in all, after
`prefill_context_tokens` cached tokens in all) and `decode_seqs` decode sequences
(`decode_context_tokens` cached tokens in all) as one merged op list
(kernel.batching.merge_segments): GEMMs over all tokens, attention per segment with the
mean context of its sequences. `StackStepCost` exposes it as the simulator's StepCost.
"""

from __future__ import annotations

import numpy as np

from hundredx.kernel.batching import merge_segments
from hundredx.model import build_ops
from hundredx.predict.engine import ForwardStep, forward_costs
from hundredx.scenario.memory import USABLE_FRACTION, kv_split, memory_use
from hundredx.scenario.stack import Stack

ATTENTION_SIDE = ("embed", "attention", "head")
FFN_SIDE = ("ffn",)
WEIGHT_CLASSES = {"embed": ("embed",), "head": ("lm_head", "norm", "hc"), "attention": ("attn", "aux"),
                  "ffn": ("router", "dense_ffn", "shared", "experts")}


def engine_step(stack: Stack, prefill_tokens, prefill_seqs, prefill_context_tokens, decode_seqs,
                decode_context_tokens, blocks: tuple[str, ...] | None = None, host: bool = True):
    """The ForwardStep of one engine step (`step_time`'s arguments), None when it holds no tokens."""
    model = stack.model
    segments = []
    has_prefill = bool(np.any(np.asarray(prefill_tokens) > 0))
    has_decode = bool(np.any(np.asarray(decode_seqs) > 0))
    if has_prefill:
        seqs = np.maximum(prefill_seqs, 1)
        segments.append(build_ops(model, seqs, np.divide(prefill_tokens, seqs),
                                  np.divide(prefill_context_tokens, seqs)))
    if has_decode:
        seqs = np.maximum(decode_seqs, 1)
        segments.append(build_ops(model, seqs, 1, np.divide(decode_context_tokens, seqs)))
    if not segments:
        return None
    ops = merge_segments(segments) if len(segments) > 1 else segments[0]
    if blocks is not None:
        ops = [op for op in ops if op.block in blocks]
    total_tokens = np.add(prefill_tokens if has_prefill else 0, decode_seqs if has_decode else 0)
    seqs_total = np.add(prefill_seqs if has_prefill else 0, decode_seqs if has_decode else 0)
    return ForwardStep(1, total_tokens, 0, ops, seqs_total if host else 0)


def step_time(stack: Stack, prefill_tokens, prefill_seqs, prefill_context_tokens, decode_seqs,
              decode_context_tokens, blocks: tuple[str, ...] | None = None, host: bool = True, tp=None, ep=None,
              pp=None):
    """Seconds for one engine step of one replica (all its tp*pp devices).

    Inputs broadcast over numpy arrays (one step per element, all with the same segments present:
    a prefill part where prefill_tokens > 0, a decode part where decode_seqs > 0). `blocks`
    keeps only the ops of those blocks (attention/FFN disaggregation prices each side alone);
    `host=False` leaves out the per-sequence host time (counted once, on the attention side).
    tp / ep / pp: degrees in place of the stack's (arrays: predict/steady.py prices search rows in blocks).
    """
    step = engine_step(stack, prefill_tokens, prefill_seqs, prefill_context_tokens, decode_seqs,
                       decode_context_tokens, blocks, host)
    if step is None:
        return 0.0
    time_s = np.asarray(forward_costs(stack, [step], tp, ep, pp)[0].time_s, dtype=float)
    return float(time_s) if time_s.ndim == 0 else time_s


def step_times_together(stack: Stack, steps: list[tuple], blocks: tuple[str, ...] | None = None, host: bool = True,
                        tp=None, ep=None, pp=None) -> list[np.ndarray]:
    """`step_time` of several kinds of step (each a tuple of its five arguments) priced as one table
    (predict.engine.forward_costs: the same numbers, the efficiency models run once per op kind)."""
    built = [engine_step(stack, a[0], a[1], a[2], a[3], a[4], blocks, host) for a in steps]
    costs = iter(forward_costs(stack, [b for b in built if b is not None], tp, ep, pp))
    return [np.zeros(()) if b is None else np.asarray(next(costs).time_s, dtype=float) for b in built]


class StackStepCost:
    """The serving simulator's StepCost protocol backed by `step_time` (wrap it in serve's MemoStepCost).

    kv_bytes_per_token: KV bytes one token of one sequence adds on a replica (MLA latent
    copies replicated over tp counted); kv_capacity_bytes: what the replica's devices keep
    free for KV after weights and activations.
    """

    def __init__(self, stack: Stack, blocks: tuple[str, ...] | None = None, host: bool = True):
        from hundredx.model import kv_bytes, weight_bytes_by_class

        self.stack, self.blocks, self.host = stack, blocks, host
        rt = stack.runtime
        mem = memory_use(stack, 1, 1, 0)
        per_token = float(np.max(kv_bytes(stack.model, 4096))) / 4096.0
        self.kv_bytes_per_token = per_token * rt.tp / float(kv_split(stack))  # copies held across the tp ranks
        replica_devices = rt.tp * rt.pp * rt.cp
        weights = float(np.max(mem.weights_bytes)) * replica_devices
        if blocks is not None:  # one side of attention/FFN disaggregation holds only its own weights
            by_class = weight_bytes_by_class(stack.model)
            weights = sum(by_class.get(c, 0.0) for b in blocks for c in WEIGHT_CLASSES.get(b, ()))
        free = ((stack.chip.mem_bytes * USABLE_FRACTION - float(np.max(mem.activation_bytes))) * replica_devices
                - weights)
        self.kv_capacity_bytes = max(free, 0.0)

    def step_time_s(self, prefill_tokens: int, prefill_seqs: int, prefill_context_tokens: int,
                    decode_seqs: int, decode_context_tokens: int) -> float:
        return float(step_time(self.stack, prefill_tokens, prefill_seqs, prefill_context_tokens, decode_seqs,
                               decode_context_tokens, self.blocks, self.host))

    def step_times_s(self, prefill_tokens, prefill_seqs, prefill_context_tokens, decode_seqs, decode_context_tokens):
        """Vectorized over arrays that share which segments (prefill, decode) are present."""
        out = step_time(self.stack, prefill_tokens, prefill_seqs, prefill_context_tokens, decode_seqs,
                        decode_context_tokens, self.blocks, self.host)
        shape = np.broadcast_shapes(*(np.shape(x) for x in (prefill_tokens, prefill_seqs, prefill_context_tokens,
                                                             decode_seqs, decode_context_tokens)))
        return np.broadcast_to(np.asarray(out, dtype=float), shape)
