"""`layer` cases: one decoder layer, its attention or MLP/MoE part, or a whole forward pass.

The op graph of the model (`model.build_ops`; prefill: batch x seqlen new tokens, decode:
batch x 1 token after kv_len cached) is cut to the asked part — `attention` / `mlp` / `moe`
by the ops' block, `decoder` as the attention and FFN ops of one layer of the model's most
common layer kind, `full_model` everything — and priced by the kernel layer on one device
with the engine overheads off (a layer microbenchmark has no serving engine). `impl`
picks the runtime: `*eager*` runs every op as its own kernel launch (no fusion, no CUDA
graphs), `*cudagraph*` the same replayed as a graph, `*sdpa*` uses PyTorch's SDPA flash
attention; anything else the fused defaults. Metrics: time_s, tflops (model FLOPs / time).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from hundredx.errors import InputError
from hundredx.validate.base import Unpredictable, cfg

PARTS = {"attention": ("attention",), "mlp": ("ffn",), "moe": ("ffn",), "decoder": ("attention", "ffn"),
         "full_model": None}


def _runtime(impl: str):
    from hundredx.kernel.runtime import RuntimeSpec

    impl = impl.lower()
    eager = "eager" in impl or "cudagraph" in impl
    return RuntimeSpec(fused=not eager, cuda_graphs="cudagraph" in impl or not eager,
                       attention_kernel="sdpa_flash" if "sdpa" in impl else "auto", gpu_time_factor=1.0,
                       per_seq_step_s=0.0)


def _select(ops: list, part: str) -> list:
    blocks = PARTS[part]
    if blocks is None:
        return ops
    chosen = [op for op in ops if op.block in blocks]
    if part == "decoder" or part in ("mlp", "moe"):
        counts: dict[str, float] = {}
        for op in chosen:
            counts[op.group] = max(counts.get(op.group, 0.0), float(np.max(op.count)))
        if part == "moe":
            moe_groups = {op.group for op in chosen if op.kind == "grouped_gemm"}
            if not moe_groups:
                raise Unpredictable("layer=moe on a model without MoE layers")
            counts = {g: c for g, c in counts.items() if g in moe_groups}
        group = max(counts, key=lambda g: counts[g])
        chosen = [op for op in chosen if op.group == group]
    else:
        group = max({op.group for op in chosen},
                    key=lambda g: max(float(np.max(o.count)) for o in chosen if o.group == g))
        chosen = [op for op in chosen if op.group == group]
    return [replace(op, count=1.0) for op in chosen]


def predict_case(case: dict) -> float:
    from hundredx.model import build_ops, load_model
    from hundredx.predict.engine import forward_cost
    from hundredx.scenario import build

    part = cfg(case, "layer")
    if part not in PARTS:
        raise Unpredictable(f"config.layer={part!r} not one of {', '.join(PARTS)}")
    phase = cfg(case, "phase")
    batch = float(cfg(case, "batch"))
    dtype = case["config"].get("dtype", "bf16")
    try:
        model = load_model(cfg(case, "model"), weights=dtype, kv=dtype, act=dtype)
        stack = build(model, case["hardware"], devices=1, runtime=_runtime(str(case["config"].get("impl", "")))).stack
    except InputError as exc:
        raise Unpredictable(str(exc)) from None
    if phase == "prefill":
        ops = build_ops(model, batch, float(cfg(case, "seqlen")), 0.0)
    elif phase == "decode":
        ctx = case["config"].get("kv_len") or case["config"].get("seqlen")
        if ctx is None:
            raise Unpredictable("config.kv_len missing")
        ops = build_ops(model, batch, 1.0, float(ctx))
    else:
        raise Unpredictable(f"config.phase={phase!r} not prefill or decode")
    ops = _select(ops, part)
    cost = forward_cost(stack, 1, 1, 0, ops=ops, host_seqs=0)
    seconds = float(np.max(cost.time_s))
    metric = case["metric"]
    if metric == "time_s":
        return seconds
    if metric == "tflops":
        flops = sum(float(np.max(op.flops)) * float(op.count) for op in ops)
        return flops / seconds / 1e12
    raise Unpredictable(f"metric {metric!r} not predicted for layer cases")
