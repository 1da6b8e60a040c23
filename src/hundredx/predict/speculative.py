"""The cost of a speculative-decoding iteration: verify pass + k draft passes, per accepted token.

Draft pass (per draft token, one sequence batch):
  - `mtp` / `eagle`: one decoder layer (the model's last layer kind: DeepSeek-V3's MTP module is one
    MoE block, arXiv:2412.19437 section 2.2; EAGLE's draft head is one decoder layer, Li et al. 2024)
    plus the shared embedding, final norm and LM head (the vocab GEMM and its logits all-gather),
    plus one layer's share of the step's collectives;
  - `draft`: a separate draft model, priced as the whole 1-token step (no draft model in predict).
Every draft pass is device time, scaled by the engine's gpu_time_factor (kernel/engine.py); the host
work per sequence runs once per iteration (in the verify step).

Acceptance (Leviathan et al. 2023, "Fast Inference from Transformers via Speculative Decoding",
arXiv:2211.17192, eq. 1): draft position i is accepted with probability a^i (each token i.i.d. with
acceptance a, a rejection ends the run), so one iteration yields E = (1 - a^(k+1)) / (1 - a) tokens.
`SpeculativeSpec.expected_tokens_per_step` holds the formula; `position_acceptance` lists a^i.
"""

from __future__ import annotations

import numpy as np

from hundredx.arrays import ArrayLike
from hundredx.kernel.engine import engine_overhead

HEAD_BLOCKS = ("head", "embed")


def _per_instance(cost, keep) -> ArrayLike:
    """Sum over the ops `keep` selects of one instance's time (op_time_s holds totals over each op's count)."""
    total: ArrayLike = 0.0
    for i, op in enumerate(cost.ops):
        if keep(op):
            total = np.add(total, np.divide(cost.op_time_s[i], np.maximum(op.count, 1e-30)))
    return total


def draft_pass_s(stack, one) -> ArrayLike:
    """Seconds of one draft pass (module docstring), from the priced 1-token decode step `one`."""
    spec = stack.runtime.speculative
    if spec.method == "draft":
        return one.time_s
    groups = [op.group for op in one.ops if op.block not in HEAD_BLOCKS]
    last = groups[-1] if groups else None
    layer = _per_instance(one, lambda op: op.group == last and op.block not in HEAD_BLOCKS)
    head = _per_instance(one, lambda op: op.block in HEAD_BLOCKS)
    layers = max(stack.model.num_layers, 1)
    comm_layer: ArrayLike = 0.0
    comm_head: ArrayLike = 0.0
    for rec in one.extra:
        if rec.kind != "collective" or rec.name.startswith("pipeline"):
            continue
        if rec.name.startswith(("lm_head", "embed", "final_norm")):
            comm_head = np.add(comm_head, rec.time_s)
        else:
            comm_layer = np.add(comm_layer, np.divide(rec.time_s, layers))
    hidden = 1.0 - stack.runtime.overlap_comm
    device = np.add(np.add(layer, head), np.multiply(np.add(comm_layer, comm_head), hidden))
    return np.multiply(device, engine_overhead(stack.runtime, stack.chip.family).gpu_time_factor)


__all__ = ["draft_pass_s"]
