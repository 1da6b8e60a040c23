"""Sharding: turn the model's global ops into one device's ops plus the collectives.

Megatron-style tensor parallelism (Shoeybi et al. 2019): column-parallel GEMMs split N,
row-parallel GEMMs split K and end in an all-reduce of the [tokens, D] output; attention
splits heads (KV heads are replicated when K < tp; an MLA latent cache cannot be split
by heads, so every tp rank holds all of it). Attention-DP (DeepSeek/SGLang style) instead
gives each of the tp ranks batch/tp sequences with all heads and no all-reduce.
Expert parallelism splits the experts over `ep` ranks and adds an all-to-all dispatch
and combine of tokens*top_k*D activations; tensor parallelism left over inside an expert
(moe_tp = max(tp / ep, 1), TensorRT-LLM's moe_tp x moe_ep = tp x dp) splits the expert width; when
ep > tp the EP group spans ep / tp attention replicas, whose tokens all reach it. Under attention-DP
a moe_tp > 1 group all-gathers its ranks' tokens before the experts and reduce-scatters the
outputs after them (`_moe_tp_exchange`); without attention-DP every rank already holds all tokens
and one all-reduce of the MoE output closes the layer. A TP all-reduce adds the partial sums a
row-parallel GEMM (or the experts) wrote, in the GEMM output format, the model's base dtype (bf16;
model/ops_common.py: activations between ops are base dtype): a W8A8 / W4A4 checkpoint quantizes a
GEMM's input, not the sums (TensorRT-LLM tensorrt_llm/functional.py AllReduceFusionOp: the FP8 / NVFP4
quantize is an epilogue after the reduce, RESIDUAL_RMS_NORM_QUANT_FP8 / _NVFP4; the low-precision
all-reduce is the opt-in AllReduceStrategy.LOWPRECISION). Pipeline parallelism gives each stage
count/pp layers. Context parallelism splits the tokens over `cp` ranks: ring attention in
prefill (each rank passes its KV chunk cp-1 times), split KV with a gather of partial
outputs in decode.
Under EP the expert ops and the dispatch/combine are sized for the busiest rank: the mean times
kernel/ep_load.max_rank_load_factor (the runtime's `expert_placement`; `routing_imbalance`).
MoE dispatch/combine use DeepEP's low-latency mode up to LL_MAX_TOKENS tokens per rank
(its decode kernels' range), the normal mode above. Over arrays of configurations these choices
(the mode; without attention-DP, the MoE output's all-reduce for ep <= tp or dispatch/combine for
ep > tp) are made per configuration: where configurations differ, each candidate collective runs
over one rank (priced 0 and dropped where no configuration needs it, predict/comms.py) in the
configurations that do not take it, so every configuration gets what it gets alone.
Each collective is a `Collective`; a MoE dispatch/combine carries its `MoeExchange`
(the token/expert options the MoE collective model takes), every other one none.
Everything broadcasts over numpy arrays of tp/ep/pp/batch.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import cast

import numpy as np

from hundredx.arrays import ArrayLike
from hundredx.kernel.ep_load import max_rank_load_factor
from hundredx.kernel.runtime import RuntimeSpec
from hundredx.model.ops import AttentionShape, ExpertGemmShape, GemmShape, Op

LL_MAX_TOKENS = 128


MOE_COLLECTIVES = ("moe_dispatch", "moe_combine")


@dataclass(frozen=True, slots=True)
class MoeExchange:
    """The options of one MoE dispatch/combine (chip/moe_comm.py's arguments)."""

    tokens: ArrayLike  # tokens each rank sends (before top-k replication)
    hidden: int  # elements per token (model hidden size)
    topk: int  # experts per token
    experts: int  # routed experts of the model (all ranks together)
    mode: str  # DeepEP kernels: "low_latency" (decode batches) or "normal"
    dtype: str  # on-the-wire format: the activation format (dispatch_payload); combine: "bf16"
    routing_groups: tuple[int, int] | None = None  # node-limited routing (n_group, topk_group), DeepSeek-V3

    def kwargs(self) -> dict:
        """The keyword arguments of collective_time for this exchange."""
        out = {"tokens": self.tokens, "hidden": self.hidden, "topk": self.topk, "experts": self.experts,
               "mode": self.mode, "dtype": self.dtype}
        return out if self.routing_groups is None else {**out, "routing_groups": self.routing_groups}


@dataclass(frozen=True, slots=True)
class Collective:
    """One collective a device takes part in, `count` times per forward pass: `op` (all_reduce,
    all_gather, p2p, moe_dispatch, moe_combine) of `message_bytes` per rank over `ranks` ranks;
    `moe` holds the exchange of a MoE dispatch/combine and is None for every other op."""

    name: str
    op: str
    message_bytes: ArrayLike
    ranks: ArrayLike
    count: ArrayLike
    moe: MoeExchange | None = None

    def __post_init__(self) -> None:
        if (self.moe is not None) != (self.op in MOE_COLLECTIVES):
            raise ValueError(f"collective {self.name}: op={self.op!r} needs a MoeExchange exactly when it is one of "
                             f"{MOE_COLLECTIVES}")


def _div(x, d):
    return x / d  # an operator: floats stay floats (fast), arrays broadcast


def _shard_gemm(op: Op, tp, attn_dp: bool, in_attention: bool) -> dict:
    """Column: N/tp (a batched GEMM's groups split too, so each rank reads 1/tp of the inputs); row: K/tp;
    vocab: N/tp; replicated: unchanged. Returns the changed fields."""
    g = cast(GemmShape, op.shape)  # op.kind == "gemm"
    if attn_dp and in_attention:
        a_bytes = op.bytes_read - op.weight_bytes
        return dict(shape=g.replace(m=_div(g.m, tp)), flops=_div(op.flops, tp),
                    bytes_read=np.add(op.weight_bytes, _div(a_bytes, tp)), bytes_written=_div(op.bytes_written, tp))
    if op.shard in ("column", "vocab"):
        w = _div(op.weight_bytes, tp)
        a_read = op.bytes_read - op.weight_bytes
        if g.batch_count > 1:  # the heads / head groups split over the ranks: each reads its own inputs
            a_read = _div(a_read, tp)
        return dict(shape=g.replace(n=_div(g.n, tp)), flops=_div(op.flops, tp), weight_bytes=w,
                    bytes_read=w + a_read, bytes_written=_div(op.bytes_written, tp))
    if op.shard == "row":
        w = _div(op.weight_bytes, tp)
        a_read = _div(op.bytes_read - op.weight_bytes, tp)
        return dict(shape=g.replace(k=_div(g.k, tp)), flops=_div(op.flops, tp), weight_bytes=w, bytes_read=w + a_read)
    return {}


def _shard_attention(op: Op, tp, attn_dp: bool) -> dict:
    a = cast(AttentionShape, op.shape)  # op.kind == "attention"
    if attn_dp:
        return dict(flops=_div(op.flops, tp), bytes_read=_div(op.bytes_read, tp),
                    bytes_written=_div(op.bytes_written, tp), shape=a.replace(batch=np.maximum(_div(a.batch, tp), 1.0)))
    heads_kv = a.heads_kv
    latent = a.variant == "mla" and heads_kv == 1
    # KV heads split while K >= tp, else each rank keeps one replica of one KV head.
    kv_share = (np.ones_like(np.asarray(tp, dtype=float)) if latent
                else np.minimum(1.0, np.maximum(_div(1.0, tp), _div(1.0, heads_kv))))
    kv_read = a.kv_read_bytes
    q_io = op.bytes_read - kv_read
    new_kv = np.multiply(kv_read, kv_share)
    shape = a.replace(heads_q=_div(a.heads_q, tp), heads_kv=heads_kv if latent else np.maximum(_div(heads_kv, tp), 1.0),
                      kv_read_bytes=new_kv)
    return dict(flops=_div(op.flops, tp), bytes_read=_div(q_io, tp) + new_kv,
                bytes_written=_div(op.bytes_written, tp), shape=shape)


def _shard_experts(op: Op, ep, moe_tp, imbalance, feed) -> dict:
    """Experts over `ep` ranks; `feed` replicas' tokens (ep/tp when EP spans DP replicas) reach one
    EP group; the expert width splits over moe_tp (gate/up along N, down along K)."""
    e = cast(ExpertGemmShape, op.shape)  # op.kind == "grouped_gemm"
    groups, top_k = e.groups, e.top_k
    tokens = np.multiply(e.tokens, feed)
    touched = np.maximum(e.experts_touched, 1e-9)
    per_expert = _div(op.weight_bytes, touched)
    frac = np.clip(_div(top_k, max(float(np.max(groups)), 1.0)), 0.0, 1.0)
    touched_all = np.multiply(groups, 1.0 - np.power(1.0 - frac, tokens))
    local_touched = np.maximum(_div(touched_all, ep), np.minimum(1.0, touched_all))
    shape = e.replace(groups=np.maximum(_div(groups, ep), 1.0), tokens=tokens,
                      tokens_total=np.multiply(_div(np.multiply(tokens, top_k), ep), imbalance),
                      experts_touched=local_touched, moe_tp=moe_tp, n=_div(e.n, moe_tp) if e.stage == "up" else e.n,
                      k=_div(e.k, moe_tp) if e.stage == "down" else e.k)
    scale = np.multiply(_div(feed, np.multiply(ep, moe_tp)), imbalance)
    w = _div(np.multiply(per_expert, local_touched), moe_tp)
    a_read = np.subtract(op.bytes_read, op.weight_bytes)
    return dict(flops=np.multiply(op.flops, scale), weight_bytes=w, bytes_read=np.add(w, np.multiply(a_read, scale)),
                bytes_written=np.multiply(op.bytes_written, scale), shape=shape)


def routing_imbalance(runtime: RuntimeSpec, ep, slots=np.inf) -> object:
    """Max-over-mean expert-rank load of `slots` token-slots (tokens x top_k per EP group) under the runtime's
    expert placement (kernel/ep_load.py: multinomial routing noise, skew s adding s*sqrt(log ep))."""
    return max_rank_load_factor(slots, ep, runtime.expert_placement, runtime.routing_skew)


def _moe_slots(ops: list[Op], feed):
    """Token-slots (tokens x top_k) of one step reaching one EP group (the first expert GEMM's; inf: no MoE)."""
    for op in ops:
        if op.kind == "grouped_gemm":
            e = cast(ExpertGemmShape, op.shape)
            return np.multiply(np.multiply(e.tokens, feed), e.top_k)
    return np.inf


def shard_ops(ops: list[Op], runtime: RuntimeSpec, act_bytes: float, hidden: int,
              tp=None, ep=None, pp=None, act_format: str = "", sum_bytes: float | None = None
              ) -> tuple[list[Op], list[Collective]]:
    """One device's ops and its collectives. tp/ep/pp default to the runtime's (arrays allowed);
    `act_format` (the activation format's name) is the MoE dispatch payload (dispatch_payload).
    `sum_bytes`: bytes per element of the partial sums a TP all-reduce adds (module docstring: the GEMM
    output format, the model's base dtype); None: `act_bytes`."""
    tp = runtime.tp if tp is None else tp
    ep = runtime.ep if ep is None else ep
    pp = runtime.pp if pp is None else pp
    attn_dp = runtime.attention_dp
    moe_tp = np.maximum(_div(tp, ep), 1.0)
    feed = np.maximum(_div(ep, tp), 1.0)
    imbalance = routing_imbalance(runtime, ep, _moe_slots(ops, feed))
    out: list[Op] = []
    comms: list[Collective] = []
    whole = _is_one(pp)
    one_tp = _is_one(tp)  # one tensor-parallel rank: every tp split is a division by 1
    one_rank = one_tp and _is_one(ep)  # and one expert rank: every collective runs over a group of one
    for op in ops:
        in_attention = op.block == "attention"
        if one_tp and op.kind != "grouped_gemm" and op.shard != "experts":
            changes = {}
        else:
            changes = _shard_changes(op, tp, ep, attn_dp, in_attention, moe_tp, feed, imbalance)
        count = op.count if whole else np.divide(op.count, pp)
        if not whole:
            changes["count"] = count if np.ndim(count) else float(count)
        op_comms = [] if one_rank else _comms_for(op, runtime, act_bytes, hidden, tp, ep, count, attn_dp, in_attention,
                                                  act_format, imbalance, act_bytes if sum_bytes is None else sum_bytes)
        new = op.replace(**changes) if changes else op
        if runtime.cp > 1:
            new, op_comms = _context_parallel(new, op_comms, runtime.cp, count)
        out.append(new)
        comms.extend(op_comms)
    return out, comms


def _is_one(x) -> bool:
    return isinstance(x, (int, float)) and x == 1


def _shard_changes(op: Op, tp, ep, attn_dp: bool, in_attention: bool, moe_tp, feed, imbalance) -> dict:
    """The fields of `op` that change on one device (an empty dict: the op runs whole on every rank)."""
    if op.kind == "attention":
        return _shard_attention(op, tp, attn_dp)
    if op.kind == "grouped_gemm":
        return _shard_experts(op, ep, moe_tp, imbalance, feed)
    if op.kind == "gemm":
        return _shard_gemm(op, tp, attn_dp, in_attention)
    if op.kind == "memory" and op.shard == "experts":  # expert activations follow their tokens
        scale = np.multiply(_div(feed, np.multiply(ep, moe_tp)), imbalance)
        return dict(flops=np.multiply(op.flops, scale), bytes_read=np.multiply(op.bytes_read, scale),
                    bytes_written=np.multiply(op.bytes_written, scale))
    if (op.kind in ("memory", "recurrent", "embedding", "router") and attn_dp) or op.kind == "recurrent" or \
            (op.kind == "memory" and op.shard in ("column", "row", "heads")):
        return dict(flops=_div(op.flops, tp), bytes_read=_div(op.bytes_read, tp),
                    bytes_written=_div(op.bytes_written, tp))
    return {}


def _context_parallel(op: Op, comms: list[Collective], cp: int, count) -> tuple[Op, list[Collective]]:
    """Context parallelism: each of the cp ranks takes 1/cp of the tokens. Prefill attention is ring
    attention: every rank still reads every KV chunk and passes its own chunk cp-1 times around the
    ring (p2p); decode attention splits the cached KV over the ranks and gathers the partial outputs."""
    scaled = [replace(c, message_bytes=_div(c.message_bytes, cp),
                      moe=None if c.moe is None else replace(c.moe, tokens=_div(c.moe.tokens, cp))) for c in comms]
    if op.kind != "attention":
        weights = op.weight_bytes
        act_read = _div(np.subtract(op.bytes_read, weights), cp)
        changes = dict(flops=_div(op.flops, cp), bytes_read=np.add(weights, act_read),
                       bytes_written=_div(op.bytes_written, cp))
        if op.kind == "gemm":
            g = cast(GemmShape, op.shape)
            changes["shape"] = g.replace(m=_div(g.m, cp))
        elif op.kind == "grouped_gemm":  # the expert GEMMs are priced from their rows: 1/cp of the tokens each
            e = cast(ExpertGemmShape, op.shape)
            changes["shape"] = e.replace(tokens=_div(e.tokens, cp), tokens_total=_div(e.tokens_total, cp))
        return op.replace(**changes), scaled
    a = cast(AttentionShape, op.shape)
    kv = a.kv_read_bytes
    q_io = np.subtract(op.bytes_read, kv)
    if a.phase == "decode":
        partial = np.multiply(np.multiply(a.batch, a.heads_q), np.multiply(np.add(a.head_dim_v or a.head_dim, 2), 4.0))
        scaled.append(Collective(f"{op.name}.cp_gather", "all_gather", partial, cp, count))
        return op.replace(flops=_div(op.flops, cp), bytes_read=np.add(_div(q_io, cp), _div(kv, cp)),
                          shape=a.replace(kv_read_bytes=_div(kv, cp))), scaled
    chunk = _div(kv, cp)
    scaled.append(Collective(f"{op.name}.cp_ring", "p2p", chunk, 2, np.multiply(count, cp - 1)))
    return op.replace(flops=_div(op.flops, cp), bytes_read=np.add(_div(q_io, cp), kv),
                      bytes_written=_div(op.bytes_written, cp)), scaled


def runtime_routing_groups(op: Op) -> tuple[int, int] | None:
    """(n_group, topk_group) of node-limited routing from the expert op's shape, or None."""
    shape = op.shape
    n_group, topk_group = getattr(shape, "n_group", 1), getattr(shape, "topk_group", 0)
    return (int(n_group), int(topk_group)) if n_group > 1 and 0 < topk_group < n_group else None


def dispatch_payload(act_format: str, act_bytes: float) -> str:
    """The wire format of a MoE dispatch: the activation format itself (fp8 / fp8_block128 -> "fp8",
    DeepEP's FP32 scale per 128 elements; mxfp8, nvfp4, mxfp4 with their own block scales; 16-bit
    formats -> "bf16"). Without a format name: "fp8" for 1-byte activations, else "bf16"."""
    if act_format in ("mxfp8", "nvfp4", "mxfp4", "fp4"):
        return act_format
    if act_format.startswith("fp8") or act_format == "int8" or (not act_format and act_bytes <= 1):
        return "fp8"
    return "bf16"


def _comms_for(op: Op, runtime: RuntimeSpec, act_bytes: float, hidden: int, tp, ep, count, attn_dp, in_attention,
               act_format: str = "", imbalance=1.0, sum_bytes: float = 2.0):
    """Collectives after one op: TP all-reduce after row-parallel GEMMs (the shared expert's output
    joins the routed experts' single all-reduce), logits all-gather, MoE dispatch/combine under
    attention-DP (DeepEP: normal mode for prefill, low-latency mode for decode) or one all-reduce
    of the MoE output across the TP group otherwise. `count`: the op's instances on this device."""
    if op.kind == "gemm":
        g = cast(GemmShape, op.shape)
        if op.shard == "row" and not (attn_dp and in_attention) and not g.shared_expert:
            size = np.multiply(np.multiply(g.m, g.n), sum_bytes)
            return [Collective(f"{op.name}.all_reduce", "all_reduce", size, tp, count)]
        if op.shard == "vocab":
            size = np.multiply(np.multiply(g.m, g.n), 2.0)
            return [Collective(f"{op.name}.all_gather", "all_gather", _div(size, tp), tp, count)]
        return []
    if op.kind != "grouped_gemm":
        return []
    e = cast(ExpertGemmShape, op.shape)
    if e.stage != "up":
        return []
    routed = e.tokens
    out: list[Collective] = []
    if not attn_dp:
        spans = np.asarray(ep) > np.asarray(tp)
        reduce = Collective(f"{op.name}.moe_all_reduce", "all_reduce",
                            np.multiply(np.multiply(routed, hidden), sum_bytes), tp, count)
        if not spans.any():
            return [reduce]
        if not spans.all():  # rows with ep <= tp all-reduce, the others dispatch: each over one rank elsewhere
            out.append(replace(reduce, ranks=np.where(spans, 1.0, tp)))
            ep = np.where(spans, ep, 1.0)
    per_rank = np.maximum(_div(routed, tp) if attn_dp else routed, 1.0)
    out += _moe_tp_exchange(op.name, per_rank, hidden, act_bytes, tp, ep, count) if attn_dp else []
    top_k = e.top_k
    groups = runtime_routing_groups(op)
    busiest = np.multiply(per_rank, imbalance)  # the busiest EP rank receives imbalance x the mean (kernel/ep_load)
    size = np.multiply(np.multiply(busiest, top_k), hidden * act_bytes)
    # DeepEP low-latency kernels serve decode batches (<= LL_MAX_TOKENS tokens per rank), per configuration
    low = np.asarray(per_rank) <= LL_MAX_TOKENS
    modes = [("low_latency", ep)] if low.all() else [("normal", ep)] if not low.any() else \
        [("low_latency", np.where(low, ep, 1.0)), ("normal", np.where(low, 1.0, ep))]
    for mode, ranks in modes:
        dispatch = MoeExchange(busiest, hidden, top_k, e.groups, mode, dispatch_payload(act_format, act_bytes), groups)
        out += [Collective(f"{op.name}.dispatch", "moe_dispatch", size, ranks, count, dispatch),
                Collective(f"{op.name}.combine", "moe_combine", np.multiply(size, 2.0 / act_bytes), ranks, count,
                           replace(dispatch, dtype="bf16"))]
    return out


def _moe_tp_exchange(name: str, per_rank, hidden: int, act_bytes: float, tp, ep, count) -> list[Collective]:
    """Attention-DP with MoE tensor parallelism (moe_tp = tp / ep > 1; TensorRT-LLM's attention DP + MoE TP,
    SGLang DP-attention without EP): every rank of a moe_tp group needs all the group's tokens, so an
    all-gather of the tokens precedes the experts and a reduce-scatter of the partial outputs (bf16) follows.
    Over a group of one (pure EP) both vanish."""
    moe_tp = np.maximum(_div(tp, ep), 1.0)
    if not (np.asarray(moe_tp) > 1).any():
        return []
    gathered = np.multiply(np.multiply(per_rank, moe_tp), hidden)
    return [Collective(f"{name}.moe_tp_all_gather", "all_gather", np.multiply(gathered, act_bytes), moe_tp, count),
            Collective(f"{name}.moe_tp_reduce_scatter", "reduce_scatter", np.multiply(gathered, 2.0), moe_tp, count)]
