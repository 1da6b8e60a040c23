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

from typing import cast

import numpy as np

from hundredx.model.ops import EmbeddingShape, ExpertGemmShape, GemmShape, Op

TOKEN_PARALLEL = ("gemm", "grouped_gemm", "memory", "router", "embedding")


def _experts_touched(groups, top_k, tokens):
    groups = np.maximum(np.asarray(groups, dtype=float), 1.0)
    frac = np.clip(np.divide(top_k, groups), 0.0, 1.0)
    return groups * (1.0 - np.power(1.0 - frac, tokens))


def _merged_shape(a: Op, b: Op, wa):
    """(payload, weight bytes) of a and b run as one kernel: GEMM rows add up, a grouped GEMM's
    routed tokens add up and its weights are those of the experts the merged tokens touch."""
    sa, sb, weight = a.shape, b.shape, np.maximum(wa, b.weight_bytes)
    if a.kind == "gemm":  # a and b share a name, hence a kind and a payload class
        ga, gb = cast(GemmShape, sa), cast(GemmShape, sb)
        return ga.replace(m=np.add(ga.m, gb.m)), weight
    if a.kind == "embedding":
        ea, eb = cast(EmbeddingShape, sa), cast(EmbeddingShape, sb)
        return ea.replace(rows=np.add(ea.rows, eb.rows)), weight
    if a.kind != "grouped_gemm":
        return sa, weight
    xa, xb = cast(ExpertGemmShape, sa), cast(ExpertGemmShape, sb)
    tokens = np.add(xa.tokens, xb.tokens)
    per_expert = np.divide(wa, np.maximum(xa.experts_touched, 1e-9))
    touched = _experts_touched(xa.groups, xa.top_k, tokens)
    shape = xa.replace(tokens=tokens, tokens_total=np.add(xa.tokens_total, xb.tokens_total), experts_touched=touched)
    return shape, np.multiply(per_expert, touched)


def _merge_two(a: Op, b: Op) -> Op:
    wa, wb = a.weight_bytes, b.weight_bytes
    act_read = np.add(np.subtract(a.bytes_read, wa), np.subtract(b.bytes_read, wb))
    shape, weight = _merged_shape(a, b, wa)
    return a.replace(flops=np.add(a.flops, b.flops), weight_bytes=weight, bytes_read=np.add(weight, act_read),
                     bytes_written=np.add(a.bytes_written, b.bytes_written), shape=shape)


def merge_segments(segments: list[list[Op]]) -> list[Op]:
    """Merge token-parallel ops of the same name across segments; keep the others per segment."""
    merged: dict[str, Op] = {}
    order: list[str] = []
    extra: list[Op] = []
    for index, ops in enumerate(segments):
        for op in ops:
            if op.kind in TOKEN_PARALLEL:
                if op.name in merged:
                    merged[op.name] = _merge_two(merged[op.name], op)
                else:
                    merged[op.name] = op
                    order.append(op.name)
            else:
                extra.append(op.replace(name=f"{op.name}[{index}]") if len(segments) > 1 else op)
    return [merged[name] for name in order] + extra
