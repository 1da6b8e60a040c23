"""KERNEL layer knobs: `RuntimeSpec` says how a model is run on a system.

Attention kernel generation, GEMM library, fusion, CUDA graphs, batching, parallelism
(tp/pp/ep/dp/cp, attention-DP), compute-communication overlap, MoE routing policy,
speculative decoding and disaggregation, and the engine overheads (kernel/engine.py;
None = the fitted values). Frozen data; what-ifs are `dataclasses.replace`.
"""

from __future__ import annotations

from dataclasses import dataclass

from hundredx.errors import InputError
from hundredx.kernel.catalog import NameView

# live views of the kernel catalog's modelled rows (rows registered at run time are accepted)
ATTENTION_KERNELS = NameView("attention", modelled=True, extra=("auto",))
GEMM_LIBRARIES = NameView("gemm", modelled=True, extra=("auto",))
MOE_ROUTING = ("uniform", "random", "skewed", "tile_rounded")
BATCHING = ("continuous", "static")
ENGINES = ("generic", "trtllm", "vllm", "sglang", "deepseek")


@dataclass(frozen=True, slots=True)
class SpeculativeSpec:
    """Speculative decoding: `method` mtp | draft | eagle, `draft_tokens` k, per-token `acceptance` in [0, 1]."""

    method: str = "mtp"
    draft_tokens: int = 1
    acceptance: float = 0.7
    draft_model: str = ""

    def __post_init__(self) -> None:
        if self.draft_tokens < 1:
            raise InputError("speculative.draft_tokens", self.draft_tokens, "must be >= 1")
        if not 0.0 <= self.acceptance <= 1.0:
            raise InputError("speculative.acceptance", self.acceptance, "must be in [0, 1]")

    @property
    def expected_tokens_per_step(self) -> float:
        """E[accepted + 1] with i.i.d. per-token acceptance a over k drafts: (1 - a^(k+1)) / (1 - a)."""
        a, k = self.acceptance, self.draft_tokens
        return float(k + 1) if a >= 1.0 else (1.0 - a ** (k + 1)) / (1.0 - a)


@dataclass(frozen=True, slots=True)
class RuntimeSpec:
    """How the stack runs. Parallel degrees multiply to the device count (tp*pp*dp, ep inside tp*dp)."""

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
    batching: str = "continuous"
    engine: str = "generic"
    overlap_comm: float = 0.0
    moe_routing: str = "uniform"
    routing_skew: float = 0.0
    speculative: SpeculativeSpec | None = None
    chunked_prefill_tokens: int = 8192
    max_batch: int = 0
    gpu_time_factor: float | None = None
    per_seq_step_s: float | None = None

    def __post_init__(self) -> None:
        for name in ("tp", "pp", "ep", "dp", "cp"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise InputError(name, value, "parallel degree must be an integer >= 1")
        checks = (("attention_kernel", ATTENTION_KERNELS), ("gemm_library", GEMM_LIBRARIES),
                  ("moe_routing", MOE_ROUTING), ("batching", BATCHING), ("engine", ENGINES))
        for name, allowed in checks:
            if getattr(self, name) not in allowed:
                raise InputError(name, getattr(self, name), f"must be one of {', '.join(allowed)}")
        if not 0.0 <= self.overlap_comm <= 1.0:
            raise InputError("overlap_comm", self.overlap_comm, "fraction of communication hidden, in [0, 1]")
        if self.gpu_time_factor is not None and self.gpu_time_factor < 1.0:
            raise InputError("gpu_time_factor", self.gpu_time_factor, "must be >= 1 (or unset for the fitted value)")
        if self.per_seq_step_s is not None and self.per_seq_step_s < 0:
            raise InputError("per_seq_step_s", self.per_seq_step_s, "must be >= 0 (or unset for the fitted value)")
        if self.routing_skew < 0:
            raise InputError("routing_skew", self.routing_skew, "must be >= 0")

    @property
    def devices(self) -> int:
        """Devices of one deployment: tp*pp*cp per replica, times dp replicas."""
        return self.tp * self.pp * self.cp * self.dp
