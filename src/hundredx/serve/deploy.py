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
transfer per micro-batch and direction; step = L * cycle. Speculative decoding: k drafts,
i.i.d. per-token acceptance a, accepted drafts truncated-geometric, verify = a (k+1)-token
chunk per sequence, plus k draft forward passes (or a fixed per-step draft time).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from hundredx.errors import InputError
from hundredx.serve.stepcost import StepCost, check_step_cost

ROUTING = ("round_robin", "least_loaded")


@dataclass(frozen=True, slots=True)
class EngineConfig:
    """Scheduler knobs of one replica (vLLM names: max_num_seqs, max_num_batched_tokens, block_size)."""

    max_batch: int = 256
    token_budget: int = 8192
    block_tokens: int = 16
    chunked_prefill: bool = True
    prefix_cache: bool = False

    def __post_init__(self) -> None:
        for name in ("max_batch", "token_budget", "block_tokens"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise InputError(name, value, "must be an integer >= 1")


@dataclass(frozen=True, slots=True)
class Pool:
    """`replicas` identical data-parallel replicas of `devices_per_replica` devices each."""

    step_cost: StepCost
    replicas: int = 1
    devices_per_replica: int = 1
    engine: EngineConfig = EngineConfig()

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
class Speculative:
    """k = `draft_tokens` drafts per step, accepted i.i.d. with probability `acceptance` until the first miss."""

    draft_tokens: int = 3
    acceptance: float = 0.7
    draft_step_cost: StepCost | None = None
    draft_fixed_s: float = 0.0

    def __post_init__(self) -> None:
        if not isinstance(self.draft_tokens, int) or self.draft_tokens < 1:
            raise InputError("draft_tokens", self.draft_tokens, "must be an integer >= 1")
        if not 0.0 <= self.acceptance <= 1.0:
            raise InputError("acceptance", self.acceptance, "must be in [0, 1]")
        if self.draft_step_cost is not None:
            check_step_cost(self.draft_step_cost, "draft_step_cost")
        if not self.draft_fixed_s >= 0:
            raise InputError("draft_fixed_s", self.draft_fixed_s, "must be >= 0")

    @property
    def expected_tokens_per_step(self) -> float:
        """E[accepted + 1] = (1 - a^(k+1)) / (1 - a) (k + 1 when a = 1)."""
        a, k = self.acceptance, self.draft_tokens
        return float(k + 1) if a >= 1.0 else (1.0 - a ** (k + 1)) / (1.0 - a)

    def draft_time_s(self, decode_seqs: int, decode_context_tokens: int) -> float:
        """k sequential draft forwards over the batch, plus a fixed per-step draft cost."""
        t = self.draft_fixed_s
        if self.draft_step_cost is not None and decode_seqs:
            t += self.draft_tokens * self.draft_step_cost.step_time_s(0, 0, 0, decode_seqs, decode_context_tokens)
        return t


@dataclass(frozen=True, slots=True)
class Deployment:
    """`pool` serves everything, or only decode when `prefill` (a second pool) is given."""

    pool: Pool
    prefill: Pool | None = None
    transfer: KVTransfer | None = None
    speculative: Speculative | None = None
    routing: str = "round_robin"
    device_hour_usd: float = 0.0
    device_power_w: float = 0.0

    def __post_init__(self) -> None:
        if self.routing not in ROUTING:
            raise InputError("routing", self.routing, f"must be one of {', '.join(ROUTING)}")
        if self.prefill is not None and self.transfer is None:
            raise InputError("transfer", None, "prefill/decode disaggregation needs a KVTransfer link")
        for name in ("device_hour_usd", "device_power_w"):
            if not getattr(self, name) >= 0:
                raise InputError(name, getattr(self, name), "must be >= 0")

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
