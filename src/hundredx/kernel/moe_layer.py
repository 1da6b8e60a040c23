"""A whole MoE layer priced end to end as the sum of its kernels (the `moe_layer` case kind, `hundredx op moe_layer`).

One MoE layer of `tokens` tokens on one device (top-k routing over `experts` experts of width
`intermediate`, model width `hidden`), in the kernel order of the unfused pipelines (vLLM fused_moe /
SGLang / DeepEP + DeepGEMM):

1. permute (gather): read the tokens' activations, write tokens x topk rows grouped by expert:
   memory op `gather`, bytes = (T + T k) H b
2. grouped GEMM up + gate: rows T k, K = H, N = 2 I (kernel/grouped_gemm.py)
3. activation (SwiGLU: silu(gate) x up): memory op `activation`, bytes = (2 I + I) T k b
4. grouped GEMM down: rows T k, K = I, N = H
5. unpermute (scatter + top-k weighted sum): memory op `gather`, bytes = (T k + T) H b
6. optional, with `ep` > 1 on a system: MoE dispatch before 1 and combine after 5
   (kernel/moe_dispatch.py via kernel/comm.py), `tokens` = T tokens per rank; each rank then holds
   the T k rows its ep peers route to its experts / ep local experts (balanced routing: every rank
   receives its share; the case's `distribution` spreads the rows over the local experts).

b is the activation element size (2 bytes for bf16 / fp16, 1 for fp8). The layer time is the sum of the
kernels' times (no overlap between them: the pipelines run them back to back on one stream); each
term is the same kernel model an `op` command or a kernel case would give for that kernel alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hundredx.chip.spec import ChipSpec
from hundredx.errors import InputError
from hundredx.kernel.grouped_gemm import grouped_gemm_time
from hundredx.kernel.memory import memory_time
from hundredx.kernel.params import KernelParams

ACT_BYTES = {"bf16": 2.0, "fp16": 2.0, "fp8": 1.0, "fp32": 4.0}
STEPS = ("permute", "up_gate", "activation", "down", "unpermute")


@dataclass(frozen=True, slots=True)
class MoeLayerTime:
    """Per-kernel times (s) in pipeline order, their sum, and the layer's GEMM FLOPs."""

    steps: dict
    time_s: float
    flops: float
    notes: str = ""

    def to_dict(self) -> dict:
        return {"time_s": self.time_s, "flops": self.flops, "steps": dict(self.steps), "notes": self.notes}


def moe_layer_time(chip: ChipSpec, params: KernelParams, tokens: int, hidden: int, intermediate: int, experts: int,
                   topk: int, dtype: str = "bf16", library: str = "deepgemm", distribution: str = "uniform",
                   ep: int = 1, system=None) -> MoeLayerTime:
    """Time of one MoE layer (module docstring); `system` (a SystemSpec) is needed only for ep > 1."""
    for name, value in (("tokens", tokens), ("hidden", hidden), ("intermediate", intermediate),
                        ("experts", experts), ("topk", topk), ("ep", ep)):
        if not (isinstance(value, (int, np.integer)) and value >= 1):
            raise InputError(name, value, "must be an integer >= 1")
    if topk > experts:
        raise InputError("topk", topk, f"must be <= experts ({experts})")
    if ep > experts or experts % ep:
        raise InputError("ep", ep, f"must divide experts ({experts})")
    if dtype not in ACT_BYTES:
        raise InputError("dtype", dtype, f"must be one of {', '.join(ACT_BYTES)}")
    b = ACT_BYTES[dtype]
    rows = tokens * topk  # per rank: T k rows from the ep ranks' tokens (module docstring, 6)
    groups = experts // ep
    steps: dict[str, float] = {}
    notes = []

    def kernel(name, t) -> None:
        steps[name] = float(np.asarray(t.time_s))
        if t.parts.get("notes"):
            notes.append(f"{name}: {t.parts['notes']}")

    if ep > 1:
        if system is None:
            raise InputError("ep", ep, "ep > 1 needs a system (the dispatch / combine run on its links)")
        from hundredx.kernel.comm import comm_time
        from hundredx.kernel.sharding import dispatch_payload

        def exchange(op: str, wire: str) -> float:
            return float(comm_time(system, op, 0.0, ep, tokens=float(tokens), hidden=hidden, topk=topk,
                                   experts=experts, dtype=wire).time_s)

        steps["dispatch"] = exchange("moe_dispatch", dispatch_payload(dtype, b))
    kernel("permute", memory_time((tokens + tokens * topk) * hidden * b, chip, params, "gather"))
    kernel("up_gate", grouped_gemm_time(chip, params, hidden, 2 * intermediate, None, groups, rows, distribution,
                                        library, dtype))
    kernel("activation", memory_time(3 * intermediate * tokens * topk * b, chip, params, "activation"))
    kernel("down", grouped_gemm_time(chip, params, intermediate, hidden, None, groups, rows, distribution, library,
                                     dtype))
    kernel("unpermute", memory_time((tokens * topk + tokens) * hidden * b, chip, params, "gather"))
    if ep > 1:
        steps["combine"] = exchange("moe_combine", "bf16")
    flops = 2.0 * rows * hidden * 3 * intermediate
    return MoeLayerTime(steps, float(sum(steps.values())), flops, "; ".join(dict.fromkeys(notes)))
