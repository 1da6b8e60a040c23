"""Continuous batching: a mixed engine step (prefill chunks + decode tokens) as one op list.

Engines with continuous batching (Orca, vLLM, SGLang, TensorRT-LLM in-flight batching) run
the token-parallel ops of all sequences of a step as ONE kernel over the concatenated
tokens: a GEMM reads its weights once for m = sum of the segments' tokens. Attention and
recurrent state updates stay per segment (their shapes differ). `merge_segments` takes
the op lists of several segments (built by the model layer for each (batch, new_tokens,
context)) and returns the merged list. Expected distinct experts touched by the merged
tokens: E * (1 - (1 - k/E)^tokens).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from hundredx.model.ops import Op

TOKEN_PARALLEL = ("gemm", "grouped_gemm", "memory", "router", "embedding")


def _experts_touched(groups, top_k, tokens):
    groups = np.maximum(np.asarray(groups, dtype=float), 1.0)
    frac = np.clip(np.divide(top_k, groups), 0.0, 1.0)
    return groups * (1.0 - np.power(1.0 - frac, tokens))


def _merge_two(a: Op, b: Op) -> Op:
    wa, wb = a.weight_bytes, b.weight_bytes
    act_read = np.add(np.subtract(a.bytes_read, wa), np.subtract(b.bytes_read, wb))
    attrs = dict(a.attrs)
    weight = np.maximum(wa, wb)
    if a.kind == "grouped_gemm":
        tokens = np.add(a.attrs.get("tokens", 0.0), b.attrs.get("tokens", 0.0))
        attrs["tokens"] = tokens
        attrs["tokens_total"] = np.add(a.attrs.get("tokens_total", 0.0), b.attrs.get("tokens_total", 0.0))
        groups = a.attrs.get("groups", 1)
        touched_a = np.maximum(a.attrs.get("experts_touched", groups), 1e-9)
        per_expert = np.divide(wa, touched_a)
        touched = _experts_touched(groups, a.attrs.get("top_k", 1), tokens)
        attrs["experts_touched"] = touched
        weight = np.multiply(per_expert, touched)
    return replace(a, m=np.add(a.m, b.m), flops=np.add(a.flops, b.flops), weight_bytes=weight,
                   bytes_read=np.add(weight, act_read), bytes_written=np.add(a.bytes_written, b.bytes_written),
                   attrs=attrs)


def merge_segments(segments: list[list[Op]]) -> list[Op]:
    """Merge token-parallel ops of the same name across segments; keep the others per segment."""
    merged: dict[str, Op] = {}
    order: list[str] = []
    extra: list[Op] = []
    for index, ops in enumerate(segments):
        for op in ops:
            if op.kind in TOKEN_PARALLEL and not op.attrs.get("per_sequence"):
                if op.name in merged:
                    merged[op.name] = _merge_two(merged[op.name], op)
                else:
                    merged[op.name] = op
                    order.append(op.name)
            else:
                extra.append(replace(op, name=f"{op.name}[{index}]") if len(segments) > 1 else op)
    return [merged[name] for name in order] + extra
