"""KERNEL layer knobs: `RuntimeSpec` says how a model is run on a system.

Attention kernel generation, GEMM library, fusion, CUDA graphs, the engine's scheduler
(`SchedulerSpec`: continuous or static batching, the running-sequence cap, the token budget
per step, KV block size, chunked prefill, prefix caching), parallelism (tp/pp/ep/dp/cp,
attention-DP), compute-communication overlap, MoE routing policy, speculative decoding
(`SpeculativeSpec`), prefill/decode disaggregation (`Disaggregation` of two `PoolSpec`s) and the engine
overheads (kernel/engine.py; None = the fitted values). Frozen data; what-ifs are
`dataclasses.replace`. Names of "batch" (docs/design.md, glossary): a replica's running
sequences are the workload's `batch`; `SchedulerSpec.max_seqs` caps them and
`SchedulerSpec.max_batched_tokens` caps the tokens of one engine step.

The dataclasses carry `__pydantic_config__` so the stack-file schema (stackfile/) validates
them directly, unknown keys refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hundredx.errors import InputError
from hundredx.kernel.catalog import NameView

# live views of the kernel catalog's modelled rows (rows registered at run time are accepted)
ATTENTION_KERNELS = NameView("attention", modelled=True, extra=("auto",))
GEMM_LIBRARIES = NameView("gemm", modelled=True, extra=("auto",))
MOE_ROUTING = ("uniform", "random", "skewed", "tile_rounded")
EXPERT_PLACEMENTS = ("uniform-random", "balanced", "eplb")  # the load model of each: kernel/ep_load.py
SCHEDULER_POLICIES = ("continuous", "static")
ENGINES = ("generic", "trtllm", "vllm", "sglang", "deepseek")  # named engines; any other name runs as generic
_ENGINE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}")
SPEC_METHODS = ("mtp", "draft", "eagle")
MAX_DEGREE = 1 << 20  # no deployment has a million-way parallel degree; bounds keep arrays small
_FORBID = {"extra": "forbid"}


def _positive_int(name: str, value, limit: int = MAX_DEGREE) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= limit:
        raise InputError(name, value, f"must be an integer in [1, {limit}]")


def _tokens_per_step(a: float, k: int) -> float:
    return float(k + 1) if a >= 1.0 else (1.0 - a ** (k + 1)) / (1.0 - a)


def acceptance_from_length(length: float, k: int) -> float:
    """The per-token acceptance a whose (1 - a^(k+1)) / (1 - a) equals a mean acceptance length (bisection)."""
    lo, hi = 0.0, 1.0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if _tokens_per_step(mid, k) < length else (lo, mid)
    return 0.5 * (lo + hi)


@dataclass(frozen=True, slots=True)
class SpeculativeSpec:
    """Speculative decoding: `method` mtp | draft | eagle, `draft_tokens` k, per-token `acceptance` a in [0, 1].

    Acceptance model (Leviathan et al. 2023, arXiv:2211.17192): draft position i is accepted with
    probability a^i, so an iteration yields (1 - a^(k+1)) / (1 - a) tokens. `acceptance_length`
    (the mean tokens per iteration engines report, "AL", in [1, k+1]) may be given instead of a:
    a is then solved from it for this k.
    """

    __pydantic_config__ = _FORBID

    method: str = "mtp"
    draft_tokens: int = 1
    acceptance: float = 0.7
    draft_model: str = ""
    acceptance_length: float | None = None

    def __post_init__(self) -> None:
        if self.method not in SPEC_METHODS:
            raise InputError("speculative.method", self.method, f"must be one of {', '.join(SPEC_METHODS)}")
        _positive_int("speculative.draft_tokens", self.draft_tokens, 64)
        if not 0.0 <= self.acceptance <= 1.0:
            raise InputError("speculative.acceptance", self.acceptance, "must be in [0, 1]")
        if self.acceptance_length is not None:
            if not 1.0 <= self.acceptance_length <= self.draft_tokens + 1:
                raise InputError("speculative.acceptance_length", self.acceptance_length,
                                 f"must be in [1, draft_tokens + 1 = {self.draft_tokens + 1}]")
            object.__setattr__(self, "acceptance", acceptance_from_length(self.acceptance_length, self.draft_tokens))

    @property
    def expected_tokens_per_step(self) -> float:
        """E[accepted + 1] with i.i.d. per-token acceptance a over k drafts: (1 - a^(k+1)) / (1 - a)."""
        return _tokens_per_step(self.acceptance, self.draft_tokens)

    @property
    def position_acceptance(self) -> tuple[float, ...]:
        """Probability that draft position i = 1..k is accepted: a^i."""
        return tuple(self.acceptance ** i for i in range(1, self.draft_tokens + 1))


@dataclass(frozen=True, slots=True)
class SchedulerSpec:
    """One replica's engine scheduler (vLLM names: max_num_seqs, max_num_batched_tokens, block_size).

    policy: "continuous" (in-flight batching: sequences join and leave every step, the paged KV
    cache holds isl + osl/2 tokens per sequence on average) or "static" (a batch runs to the end).
    """

    __pydantic_config__ = _FORBID

    policy: str = "continuous"
    max_seqs: int = 256
    max_batched_tokens: int = 8192
    kv_block_tokens: int = 16
    chunked_prefill: bool = True
    prefix_cache: bool = False

    def __post_init__(self) -> None:
        if self.policy not in SCHEDULER_POLICIES:
            raise InputError("scheduler.policy", self.policy, f"must be one of {', '.join(SCHEDULER_POLICIES)}")
        for name in ("max_seqs", "max_batched_tokens", "kv_block_tokens"):
            _positive_int(f"scheduler.{name}", getattr(self, name), 1 << 24)
        for name in ("chunked_prefill", "prefix_cache"):
            if not isinstance(getattr(self, name), bool):
                raise InputError(f"scheduler.{name}", getattr(self, name), "must be true or false")


@dataclass(frozen=True, slots=True)
class PoolSpec:
    """One pool of a disaggregated deployment, as Dynamo / aiconfigurator / TRT-LLM write it.

    `workers` engine instances, each of tp * pp * attention_dp devices: attention tensor-parallel
    over `tp`, data-parallel over `attention_dp` ranks (TRT-LLM enable_attention_dp, SGLang
    --enable-dp-attention), the MoE layers over moe_tp x moe_ep = tp x attention_dp ranks
    (TRT-LLM's rule; unset: moe_ep = 1, moe_tp = tp x attention_dp); `max_batch` the engine's
    maximum batch per worker (None: what fits); `chip` the pool's chip (None: the stack's).
    """

    __pydantic_config__ = _FORBID

    workers: int = 1
    tp: int = 1
    pp: int = 1
    attention_dp: int = 1
    moe_tp: int | None = None
    moe_ep: int | None = None
    max_batch: int | None = None
    chip: str | None = None

    def __post_init__(self) -> None:
        for name in ("workers", "tp", "pp", "attention_dp"):
            _positive_int(f"pool.{name}", getattr(self, name))
        for name in ("moe_tp", "moe_ep", "max_batch"):
            if getattr(self, name) is not None:
                _positive_int(f"pool.{name}", getattr(self, name), 1 << 24)
        group = self.tp * self.attention_dp
        if self.moe_tp is not None and self.moe_ep is not None and self.moe_tp * self.moe_ep != group:
            raise InputError("pool.moe_tp", self.moe_tp, f"moe_tp x moe_ep = {self.moe_tp * self.moe_ep} must equal "
                             f"tp x attention_dp = {group} (TensorRT-LLM's MoE mapping)")
        for name in ("moe_tp", "moe_ep"):
            value = getattr(self, name)
            if value is not None and group % value:
                raise InputError(f"pool.{name}", value, f"must divide tp x attention_dp = {group}")

    @property
    def worker_devices(self) -> int:
        return self.tp * self.pp * self.attention_dp

    @property
    def devices(self) -> int:
        return self.workers * self.worker_devices

    @property
    def expert_parallel(self) -> int:
        """moe_ep (from moe_tp when only it is given; 1 when neither is)."""
        if self.moe_ep is not None:
            return self.moe_ep
        return self.tp * self.attention_dp // self.moe_tp if self.moe_tp else 1


@dataclass(frozen=True, slots=True)
class Disaggregation:
    """Prefill/decode disaggregation (Splitwise, DistServe, Mooncake): separate device pools.

    Short form: `prefill_devices`, `decode_devices` (the decode pool runs the stack's own
    parallelism, the prefill pool the same or tensor parallelism `prefill_tp`). Full form:
    `prefill` and `decode` PoolSpecs (workers x per-worker parallelism, optionally another chip);
    the device counts then follow from them. `layerwise`: the KV cache streams layer by layer
    while the prefill runs (predict/pools.py: only what outlasts the prefill is exposed).
    """

    __pydantic_config__ = _FORBID

    prefill_devices: int = 0
    decode_devices: int = 0
    prefill_tp: int | None = None
    prefill: PoolSpec | None = None
    decode: PoolSpec | None = None
    layerwise: bool = True

    def __post_init__(self) -> None:
        for name in ("prefill", "decode"):
            pool = getattr(self, name)
            if isinstance(pool, dict):  # a stack file's or a change's plain mapping
                try:
                    pool = PoolSpec(**pool)
                except TypeError as exc:
                    raise InputError(f"disaggregation.{name}", pool, str(exc)) from None
                object.__setattr__(self, name, pool)
            if pool is None:
                continue
            given = getattr(self, f"{name}_devices")
            if given and given != pool.devices:
                raise InputError(f"disaggregation.{name}_devices", given,
                                 f"the {name} pool has {pool.workers} workers x {pool.worker_devices} = {pool.devices}")
            object.__setattr__(self, f"{name}_devices", pool.devices)
        _positive_int("disaggregation.prefill_devices", self.prefill_devices)
        _positive_int("disaggregation.decode_devices", self.decode_devices)
        if self.prefill_tp is not None:
            _positive_int("disaggregation.prefill_tp", self.prefill_tp)
        if not isinstance(self.layerwise, bool):
            raise InputError("disaggregation.layerwise", self.layerwise, "must be true or false")

    @property
    def devices(self) -> int:
        return self.prefill_devices + self.decode_devices


@dataclass(frozen=True, slots=True)
class RuntimeSpec:
    """How the stack runs. Parallel degrees multiply to the device count (tp*pp*cp*dp, ep inside tp*dp).

    The MoE layers run over the tp ranks (all tp x dp under attention-DP spanning replicas): experts
    split over `ep`, each expert's width over `moe_tp` = tp / ep (None: derived, the only value the
    rule moe_tp x ep = tp allows; given, it is checked).
    """

    tp: int = 1
    pp: int = 1
    ep: int = 1
    dp: int = 1
    cp: int = 1
    attention_dp: bool = False
    moe_tp: int | None = None
    attention_kernel: str = "auto"
    gemm_library: str = "auto"
    fused: bool = True
    cuda_graphs: bool = True
    scheduler: SchedulerSpec = SchedulerSpec()
    engine: str = "generic"
    overlap_comm: float = 0.0
    moe_routing: str = "uniform"
    routing_skew: float = 0.0
    expert_placement: str = "uniform-random"  # EXPERT_PLACEMENTS: busiest-EP-rank load model (kernel/ep_load.py)
    speculative: SpeculativeSpec | None = None
    disaggregation: Disaggregation | None = None
    gpu_time_factor: float | None = None
    per_seq_step_s: float | None = None

    def __post_init__(self) -> None:
        for name in ("tp", "pp", "ep", "dp", "cp"):
            _positive_int(name, getattr(self, name))
        if self.moe_tp is not None:
            _positive_int("moe_tp", self.moe_tp)
            if self.moe_tp * min(self.ep, self.tp) != self.tp:
                raise InputError("moe_tp", self.moe_tp, f"moe_tp x ep must equal tp = {self.tp} (the MoE group is the "
                                 f"tp ranks: TensorRT-LLM moe_tp x moe_ep = tp x dp)")
        checks = (("attention_kernel", ATTENTION_KERNELS), ("gemm_library", GEMM_LIBRARIES),
                  ("moe_routing", MOE_ROUTING), ("expert_placement", EXPERT_PLACEMENTS))
        for name, allowed in checks:
            if getattr(self, name) not in allowed:
                raise InputError(name, getattr(self, name), f"must be one of {', '.join(allowed)}")
        if not isinstance(self.engine, str) or not _ENGINE_NAME.fullmatch(self.engine):
            raise InputError("engine", self.engine, f"an engine name ({', '.join(ENGINES)}; another name runs as "
                             "generic, flagged in the prediction's fallbacks)")
        if not 0.0 <= self.overlap_comm <= 1.0:
            raise InputError("overlap_comm", self.overlap_comm, "fraction of communication hidden, in [0, 1]")
        if self.gpu_time_factor is not None and not 1.0 <= self.gpu_time_factor <= 100.0:
            raise InputError("gpu_time_factor", self.gpu_time_factor,
                             "must be in [1, 100] (or unset for the fitted value)")
        if self.per_seq_step_s is not None and not 0.0 <= self.per_seq_step_s <= 1.0:
            raise InputError("per_seq_step_s", self.per_seq_step_s,
                             "must be in [0, 1] s (or unset for the fitted value)")
        if not 0.0 <= self.routing_skew <= 100.0:
            raise InputError("routing_skew", self.routing_skew, "must be in [0, 100]")

    @property
    def replica_devices(self) -> int:
        """Devices of one model replica: tp*pp*cp."""
        return self.tp * self.pp * self.cp

    @property
    def devices(self) -> int:
        """Devices of one deployment (the decode pool under disaggregation): tp*pp*cp per replica, times dp."""
        return self.replica_devices * self.dp
