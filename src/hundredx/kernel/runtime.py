"""KERNEL layer knobs: `RuntimeSpec` says how a model is run on a system.

Attention kernel generation, GEMM library, fusion, CUDA graphs, the engine's scheduler
(`SchedulerSpec`: continuous or static batching, the running-sequence cap, the token budget
per step, KV block size, chunked prefill, prefix caching), parallelism (tp/pp/ep/dp/cp,
attention-DP), compute-communication overlap, MoE routing policy, speculative decoding
(`SpeculativeSpec`), prefill/decode disaggregation (`Disaggregation`) and the engine
overheads (kernel/engine.py; None = the fitted values). Frozen data; what-ifs are
`dataclasses.replace`. Names of "batch" (docs/design.md, glossary): a replica's running
sequences are the workload's `batch`; `SchedulerSpec.max_seqs` caps them and
`SchedulerSpec.max_batched_tokens` caps the tokens of one engine step.

The dataclasses carry `__pydantic_config__` so the stack-file schema (stackfile/) validates
them directly, unknown keys refused.
"""

from __future__ import annotations

from dataclasses import dataclass

from hundredx.errors import InputError
from hundredx.kernel.catalog import NameView

# live views of the kernel catalog's modelled rows (rows registered at run time are accepted)
ATTENTION_KERNELS = NameView("attention", modelled=True, extra=("auto",))
GEMM_LIBRARIES = NameView("gemm", modelled=True, extra=("auto",))
MOE_ROUTING = ("uniform", "random", "skewed", "tile_rounded")
SCHEDULER_POLICIES = ("continuous", "static")
ENGINES = ("generic", "trtllm", "vllm", "sglang", "deepseek")
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
class Disaggregation:
    """Prefill/decode disaggregation (Splitwise, DistServe, Mooncake): separate device pools.

    The decode pool runs the stack's own parallelism; the prefill pool the same, or tensor
    parallelism `prefill_tp` when given.
    """

    __pydantic_config__ = _FORBID

    prefill_devices: int
    decode_devices: int
    prefill_tp: int | None = None

    def __post_init__(self) -> None:
        _positive_int("disaggregation.prefill_devices", self.prefill_devices)
        _positive_int("disaggregation.decode_devices", self.decode_devices)
        if self.prefill_tp is not None:
            _positive_int("disaggregation.prefill_tp", self.prefill_tp)

    @property
    def devices(self) -> int:
        return self.prefill_devices + self.decode_devices


@dataclass(frozen=True, slots=True)
class RuntimeSpec:
    """How the stack runs. Parallel degrees multiply to the device count (tp*pp*cp*dp, ep inside tp*dp)."""

    tp: int = 1
    pp: int = 1
    ep: int = 1
    dp: int = 1
    cp: int = 1
    attention_dp: bool = False
    attention_kernel: str = "auto"
    gemm_library: str = "auto"
    fused: bool = True
    cuda_graphs: bool = True
    scheduler: SchedulerSpec = SchedulerSpec()
    engine: str = "generic"
    overlap_comm: float = 0.0
    moe_routing: str = "uniform"
    routing_skew: float = 0.0
    speculative: SpeculativeSpec | None = None
    disaggregation: Disaggregation | None = None
    gpu_time_factor: float | None = None
    per_seq_step_s: float | None = None

    def __post_init__(self) -> None:
        for name in ("tp", "pp", "ep", "dp", "cp"):
            _positive_int(name, getattr(self, name))
        checks = (("attention_kernel", ATTENTION_KERNELS), ("gemm_library", GEMM_LIBRARIES),
                  ("moe_routing", MOE_ROUTING), ("engine", ENGINES))
        for name, allowed in checks:
            if getattr(self, name) not in allowed:
                raise InputError(name, getattr(self, name), f"must be one of {', '.join(allowed)}")
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
