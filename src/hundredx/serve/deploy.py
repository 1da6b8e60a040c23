"""Deployment specs for the serving simulator: pools of replicas and how requests flow.

Aggregated: one pool of `replicas` identical DP replicas, each running continuous
batching with chunked prefill. Prefill/decode disaggregation (DistServe, Zhong et al.
2024; Splitwise, Patel et al. 2024): a prefill pool hands each request's KV to a decode
pool; the transfer takes latency_s + kv_bytes / link_bytes_per_s and starts once the
decode replica has allocated the blocks. Attention/FFN disaggregation (MegaScale-Infer,
Zhu et al. 2025): `AFDStepCost` composes an attention-side and an FFN-side StepCost into
one replica's step: with m micro-batches ping-ponging through L layers, per layer
  cycle = max(m * max(a, f, x), a + f + 2x)
(throughput-bound when the bottleneck stage is kept busy, latency-bound by one round trip
otherwise), a, f = each side's time for one micro-batch over one layer, x = activation
transfer per micro-batch and direction; step = L * cycle. Speculative decoding
(kernel.runtime.SpeculativeSpec): k drafts, i.i.d. per-token acceptance a, accepted drafts
truncated-geometric, verify = a (k+1)-token chunk per sequence, plus k draft forward passes
(or a fixed per-step draft time). Each pool's engine scheduler is a kernel.runtime.SchedulerSpec.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from hundredx.errors import InputError
from hundredx.kernel.runtime import SchedulerSpec, SpeculativeSpec
from hundredx.serve.stepcost import StepCost, check_step_cost

ROUTING = ("round_robin", "least_loaded")


@dataclass(frozen=True, slots=True)
class Pool:
    """`replicas` identical data-parallel replicas of `devices_per_replica` devices each."""

    step_cost: StepCost
    replicas: int = 1
    devices_per_replica: int = 1
    scheduler: SchedulerSpec = SchedulerSpec()

    def __post_init__(self) -> None:
        check_step_cost(self.step_cost)
        if not isinstance(self.replicas, int) or self.replicas < 1:
            raise InputError("replicas", self.replicas, "must be an integer >= 1")
        if not self.devices_per_replica > 0:
            raise InputError("devices_per_replica", self.devices_per_replica, "must be > 0")

    @property
    def devices(self) -> float:
        return self.replicas * self.devices_per_replica


@dataclass(frozen=True, slots=True)
class KVTransfer:
    """Prefill -> decode KV link: time = latency_s + bytes / link_bytes_per_s (per direction)."""

    link_bytes_per_s: float
    latency_s: float = 0.0

    def __post_init__(self) -> None:
        if not self.link_bytes_per_s > 0:
            raise InputError("link_bytes_per_s", self.link_bytes_per_s, "must be > 0")
        if not self.latency_s >= 0:
            raise InputError("latency_s", self.latency_s, "must be >= 0")

    def time_s(self, nbytes: float) -> float:
        return self.latency_s + nbytes / self.link_bytes_per_s


@dataclass(frozen=True, slots=True)
class Deployment:
    """`pool` serves everything, or only decode when `prefill` (a second pool) is given.

    Speculative decoding (the decode pool): `speculative` says k and the acceptance; each step
    costs k sequential draft forwards of `draft_step_cost` over the decoding batch plus
    `draft_fixed_s`."""

    pool: Pool
    prefill: Pool | None = None
    transfer: KVTransfer | None = None
    speculative: SpeculativeSpec | None = None
    draft_step_cost: StepCost | None = None
    draft_fixed_s: float = 0.0
    routing: str = "round_robin"
    device_hour_usd: float = 0.0
    device_power_w: float = 0.0

    def __post_init__(self) -> None:
        if self.routing not in ROUTING:
            raise InputError("routing", self.routing, f"must be one of {', '.join(ROUTING)}")
        if self.prefill is not None and self.transfer is None:
            raise InputError("transfer", None, "prefill/decode disaggregation needs a KVTransfer link")
        if self.draft_step_cost is not None:
            check_step_cost(self.draft_step_cost, "draft_step_cost")
        for name in ("device_hour_usd", "device_power_w", "draft_fixed_s"):
            if not getattr(self, name) >= 0:
                raise InputError(name, getattr(self, name), "must be >= 0")

    def draft_time_s(self, decode_seqs: int, decode_context_tokens: int) -> float:
        """k sequential draft forwards over the decoding batch, plus the fixed per-step draft cost."""
        t = self.draft_fixed_s
        if self.speculative is not None and self.draft_step_cost is not None and decode_seqs:
            t += self.speculative.draft_tokens * self.draft_step_cost.step_time_s(0, 0, 0, decode_seqs,
                                                                                   decode_context_tokens)
        return t

    @property
    def disaggregated(self) -> bool:
        return self.prefill is not None

    @property
    def devices(self) -> float:
        return self.pool.devices + (self.prefill.devices if self.prefill is not None else 0)


@dataclass(frozen=True, slots=True)
class AFDStepCost:
    """Attention/FFN-disaggregated replica: a StepCost built from one per side plus the link between them."""

    attention: StepCost
    ffn: StepCost
    layers: int
    activation_bytes_per_token: float
    link_bytes_per_s: float
    link_latency_s: float = 0.0
    micro_batches: int = 2

    def __post_init__(self) -> None:
        check_step_cost(self.attention, "attention")
        if not isinstance(self.layers, int) or self.layers < 1:
            raise InputError("layers", self.layers, "must be an integer >= 1")
        if not isinstance(self.micro_batches, int) or self.micro_batches < 1:
            raise InputError("micro_batches", self.micro_batches, "must be an integer >= 1")
        if not self.link_bytes_per_s > 0 or not self.activation_bytes_per_token > 0:
            raise InputError("link_bytes_per_s", self.link_bytes_per_s, "link and activation bytes must be > 0")

    @property
    def kv_bytes_per_token(self) -> float:
        return self.attention.kv_bytes_per_token

    @property
    def kv_capacity_bytes(self) -> float:
        return self.attention.kv_capacity_bytes

    def step_time_s(self, prefill_tokens, prefill_seqs, prefill_context_tokens, decode_seqs, decode_context_tokens):
        m, layers = self.micro_batches, self.layers
        args = [-(-int(v) // m) for v in (prefill_tokens, prefill_seqs, prefill_context_tokens, decode_seqs,
                                           decode_context_tokens)]
        a = self.attention.step_time_s(*args) / layers
        f = self.ffn.step_time_s(*args) / layers
        tokens = -(-(int(prefill_tokens) + int(decode_seqs)) // m)
        x = self.link_latency_s + tokens * self.activation_bytes_per_token / self.link_bytes_per_s
        return layers * max(m * max(a, f, x), a + f + 2 * x)


def fits(tokens: int, blocks: int, block_tokens: int) -> bool:
    """Whether a sequence of `tokens` can ever be resident in a replica of `blocks` KV blocks."""
    return math.ceil(tokens / block_tokens) <= blocks
