"""The cost of one forward pass of a `Stack`: build ops, shard them, cost ops and collectives.

time = factor * (pp * stage_time + (pp - 1) * p2p) + host, where stage_time sums, over one
pipeline stage's ops, the kernel-layer op time (SOL x efficiency + latency) and the
collective time not hidden by compute-communication overlap; factor and host are the
engine overheads of kernel/engine.py. Every quantity broadcasts over numpy arrays
of batch / tokens / context / tp / ep / pp, so `predict_many` shares this code path.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hundredx.chip.collectives import collective_time
from hundredx.kernel.cost import op_cost
from hundredx.kernel.engine import engine_overhead
from hundredx.kernel.fit import load_params
from hundredx.kernel.sharding import shard_ops
from hundredx.model import build_ops
from hundredx.predict.stack import Stack

BOUNDS = ("compute", "memory", "network", "overhead")
_PARAMS: dict[str, object] = {}


def chip_params(chip):
    """Kernel-model parameters of a chip (fitted file or analytic), loaded once per chip id."""
    key = f"{chip.id}:{id(chip)}"
    if key not in _PARAMS:
        _PARAMS[key] = load_params(chip)
    return _PARAMS[key]


@dataclass
class OpRecord:
    """One op (or collective) of a forward pass on one device: time_s / sol_s are totals over its
    `count`; flops and bytes (read, written) are per instance (multiply by count when needed)."""

    name: str
    kind: str
    group: str
    count: object
    time_s: object
    sol_s: object
    flops: object
    bytes: object
    bound: object
    efficiency: object
    source: str
    fallback: str = ""


@dataclass
class ForwardCost:
    time_s: object
    sol_s: object
    by_bound: dict[str, object]
    records: list[OpRecord] = field(default_factory=list)
    sources: set[str] = field(default_factory=set)
    fallbacks: set[str] = field(default_factory=set)


_OP_BOUNDS = np.array(["compute", "memory", "overhead"])


def _bound_code(cost):
    """0 compute, 1 memory, 2 overhead (the kernel layer's 'latency'): the op's bound as codes."""
    if isinstance(cost.bound, str):
        return ("compute", "memory", "latency").index(cost.bound)
    return cost.bound


def _add(acc: dict, code, value) -> None:
    if np.ndim(code) == 0:
        key = _OP_BOUNDS[int(code)]
        acc[key] = np.add(acc[key], value)
        return
    for i, name in enumerate(_OP_BOUNDS):
        acc[name] = np.add(acc[name], np.where(code == i, value, 0.0))


def _price_ops(out: ForwardCost, dev_ops, chip, rt, params) -> None:
    """Kernel-layer time of every (sharded) op, totals over its count, into `out`."""
    for op in dev_ops:
        cost = op_cost(op, chip, rt, params)
        t = np.multiply(cost.time_s, op.count)
        s = np.multiply(cost.sol_s, op.count)
        code = _bound_code(cost)
        _add(out.by_bound, code, t)
        bound = str(_OP_BOUNDS[int(code)]) if np.ndim(code) == 0 else code
        out.time_s, out.sol_s = np.add(out.time_s, t), np.add(out.sol_s, s)
        out.sources.add(str(cost.source))
        if getattr(cost, "fallback", ""):
            out.fallbacks.add(f"{op.name}: {cost.fallback}")
        out.records.append(OpRecord(op.name, op.kind, op.group, op.count, t, s, op.flops,
                                    (op.bytes_read, op.bytes_written), bound, cost.efficiency, str(cost.source),
                                    getattr(cost, "fallback", "")))


def _price_comms(out: ForwardCost, comms, system, rt) -> None:
    """Collective time not hidden by compute-communication overlap, into `out`."""
    hidden = 1.0 - rt.overlap_comm
    for comm in comms:
        ranks = np.asarray(comm.ranks, dtype=float)
        if not np.any(ranks > 1):
            continue
        cc = collective_time(system, comm.op, np.maximum(comm.message_bytes, 1.0), np.maximum(ranks, 2), **comm.options)
        t = np.where(ranks > 1, np.multiply(cc.time_s, comm.count), 0.0)
        out.by_bound["network"] = np.add(out.by_bound["network"], np.multiply(t, hidden))
        out.time_s = np.add(out.time_s, np.multiply(t, hidden))
        where = ", leaves the scale-up domain" if np.any(cc.leaves_domain) else ""
        out.records.append(OpRecord(comm.name, "collective", "comm", comm.count, t, 0.0, 0.0,
                                    (comm.message_bytes, 0.0), "network", 1.0, f"collective:{cc.algorithm}{where}"))


def _pipeline(out: ForwardCost, stack: Stack, tokens, tp, pp) -> None:
    """pp stages run one after another for a token; (pp - 1) activation hops between them."""
    model, rt, system = stack.model, stack.runtime, stack.system
    pp_arr = np.asarray(pp, dtype=float)
    if not np.any(pp_arr > 1):
        return
    p2p_bytes = np.multiply(tokens, model.hidden_size * model.quant.act.bytes_per_element)
    spans = np.multiply(np.multiply(tp, pp_arr), rt.cp) > system.scaleup_domain
    scope = "inter_node" if bool(np.all(spans)) else "intra_node"
    cc = collective_time(system, "p2p", np.maximum(p2p_bytes, 1.0), 2, scope=scope)
    p2p = np.multiply(cc.time_s, pp_arr - 1)
    where = ", leaves the scale-up domain" if scope == "inter_node" else ""
    out.records.append(OpRecord("pipeline.p2p", "collective", "comm", pp_arr - 1, p2p, 0.0, 0.0,
                                (p2p_bytes, 0.0), "network", 1.0, f"collective:p2p{where}"))
    for key in BOUNDS:
        out.by_bound[key] = np.multiply(out.by_bound[key], pp_arr)
    out.by_bound["network"] = np.add(out.by_bound["network"], p2p)
    out.time_s = np.add(np.multiply(out.time_s, pp_arr), p2p)
    out.sol_s = np.multiply(out.sol_s, pp_arr)


def _engine(out: ForwardCost, rt, seqs) -> None:
    """Engine overheads (kernel/engine.py): device time x factor, plus host time per sequence."""
    overhead = engine_overhead(rt)
    host = np.multiply(overhead.per_seq_step_s, seqs)
    for key in BOUNDS:
        out.by_bound[key] = np.multiply(out.by_bound[key], overhead.gpu_time_factor)
    out.by_bound["overhead"] = np.add(out.by_bound["overhead"], host)
    extra = np.add(np.multiply(out.time_s, overhead.gpu_time_factor - 1.0), host)
    out.time_s = np.add(np.multiply(out.time_s, overhead.gpu_time_factor), host)
    out.sources.add(f"engine:{overhead.source}")
    out.records.append(OpRecord("engine.overhead", "overhead", "engine", 1.0, extra, 0.0, 0.0, (0.0, 0.0),
                                "overhead", 0.0, f"engine:{overhead.source}"))


def forward_cost(stack: Stack, batch, new_tokens, context, tp=None, ep=None, pp=None, ops=None,
                 host_seqs=None) -> ForwardCost:
    """Cost of one forward over `batch` sequences of `new_tokens` each, after `context` cached tokens.

    `ops` (optional) replaces the op list, e.g. the merged segments of a mixed engine step;
    batch * new_tokens must then be the step's total token count (used for pipeline p2p) and
    `host_seqs` the sequences the engine handles in that step (default `batch`).
    Engine overheads (kernel/engine.py) scale the device time and add host time per sequence.
    """
    model, rt, system = stack.model, stack.runtime, stack.system
    tp = rt.tp if tp is None else tp
    ep = rt.ep if ep is None else ep
    pp = rt.pp if pp is None else pp
    ops = build_ops(model, batch, new_tokens, context) if ops is None else ops
    dev_ops, comms = shard_ops(ops, rt, model.quant.act.bytes_per_element, model.hidden_size, tp=tp, ep=ep, pp=pp)
    out = ForwardCost(0.0, 0.0, {b: 0.0 for b in BOUNDS})
    _price_ops(out, dev_ops, system.chip, rt, chip_params(system.chip))
    _price_comms(out, comms, system, rt)
    _pipeline(out, stack, np.multiply(batch, new_tokens), tp, pp)
    _engine(out, rt, np.divide(batch if host_seqs is None else host_seqs, tp if rt.attention_dp else 1))
    return out
