"""The cost of forward passes of a `Stack`: build ops, shard them, cost ops and collectives.

time = factor * (pp * stage_time + (pp - 1) * p2p) + host, where stage_time sums, over one
pipeline stage's ops, the kernel-layer op time (SOL x efficiency + latency) and the
collective time not hidden by compute-communication overlap; factor and host are the
engine overheads of kernel/engine.py. Every quantity broadcasts over numpy arrays
of batch / tokens / context / tp / ep / pp, so `predict_many` shares this code path.
`forward_costs` prices the ops of several steps (a prefill and a decode step) as one table
(kernel/cost.py) and their collectives stacked by kind (predict/comms.py).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from hundredx.arrays import ArrayLike
from hundredx.chip.collectives import collective_time
from hundredx.kernel.comm import library_used_note
from hundredx.kernel.cost import OpCosts, config_shape, price_ops
from hundredx.kernel.engine import engine_overhead
from hundredx.kernel.ep_load import assumption as ep_load_assumption
from hundredx.kernel.loading import current_calibration, load_params
from hundredx.kernel.params import KernelParams
from hundredx.kernel.platforms import engine_note
from hundredx.kernel.sharding import shard_ops
from hundredx.model import build_ops
from hundredx.predict.comms import PricedComm, price_comms
from hundredx.scenario.stack import Stack

BOUNDS = ("compute", "memory", "network", "overhead")
_PARAMS: dict[str, KernelParams] = {}


def chip_params(chip):
    """Kernel-model parameters of a chip (fitted file, family or analytic), loaded once per chip, HUNDREDX_HOME
    and calibration scope (kernel/loading.calibration_scope)."""
    mode, directory = current_calibration()
    key = f"{chip.id}:{id(chip)}:{os.environ.get('HUNDREDX_HOME', '')}:{mode}:{directory}"
    if key not in _PARAMS:
        _PARAMS[key] = load_params(chip)
    return _PARAMS[key]


class OpRecord(NamedTuple):
    """One op (or collective) of a forward pass on one device: time_s / sol_s are totals over its
    `count`; flops and bytes (read, written) are per instance (multiply by count when needed)."""

    name: str
    kind: str
    group: str
    count: ArrayLike
    time_s: ArrayLike
    sol_s: ArrayLike
    flops: ArrayLike
    bytes: ArrayLike
    bound: ArrayLike
    efficiency: ArrayLike
    source: str
    fallback: str = ""


@dataclass
class ForwardCost:
    """Totals of one forward pass, with its records built on demand (`records`): a sweep or a
    serving step needs only the totals. `record_scale` multiplies every record's times (the GPipe
    schedule factor of a pipelined prefill)."""

    time_s: ArrayLike
    sol_s: ArrayLike
    by_bound: dict[str, ArrayLike]
    extra: list[OpRecord] = field(default_factory=list)  # collectives, pipeline hops, engine overhead
    sources: set[str] = field(default_factory=set)
    fallbacks: set[str] = field(default_factory=set)
    ops: list = field(default_factory=list)  # the device ops priced in `table`
    table: OpCosts | None = None  # their OpCosts rows
    op_time_s: ArrayLike = 0.0  # (N, ...) totals over each op's count
    op_sol_s: ArrayLike = 0.0
    record_scale: ArrayLike = 1.0

    @property
    def records(self) -> list[OpRecord]:
        """One record per op and extra (ops first, in graph order), times x record_scale."""
        scale = self.record_scale
        scaled = (lambda x: x) if isinstance(scale, float) and scale == 1.0 else (lambda x: np.multiply(x, scale))
        out = []
        if self.table is not None:
            tab = self.table
            eff: ArrayLike  # (N, ...) arrays, or lists for one configuration
            bound: ArrayLike
            t, s, eff, bound = scaled(self.op_time_s), scaled(self.op_sol_s), tab.efficiency, tab.bound
            if bound.ndim == 1:  # one configuration: plain floats and bound names
                t, s, eff, bound = t.tolist(), s.tolist(), eff.tolist(), [_OP_BOUNDS[c] for c in bound.tolist()]
            out = [OpRecord(op.name, op.kind, op.group, op.count, t[i], s[i], op.flops,
                            (op.bytes_read, op.bytes_written), bound[i], eff[i], tab.source[i], tab.fallback[i])
                   for i, op in enumerate(self.ops)]
        return out + [r._replace(time_s=scaled(r.time_s), sol_s=scaled(r.sol_s)) for r in self.extra]


_OP_BOUNDS = ("compute", "memory", "overhead")  # the kernel layer's bound codes 0, 1, 2 ('latency' = overhead)


def _price_ops(out: ForwardCost, dev_ops, costs) -> None:
    """Kernel-layer time of every (sharded) op, totals over its count, into `out` (rows of one priced table)."""
    t = costs.time_s * costs.count
    s = costs.sol_s * costs.count
    out.time_s, out.sol_s = np.add(out.time_s, t.sum(axis=0)), np.add(out.sol_s, s.sum(axis=0))
    if t.ndim == 1:  # one configuration: one weighted count per bound code
        by_code = np.bincount(costs.bound, weights=t, minlength=len(_OP_BOUNDS)).tolist()
    else:
        by_code = [np.where(costs.bound == code, t, 0.0).sum(axis=0) for code in range(len(_OP_BOUNDS))]
    for name, value in zip(_OP_BOUNDS, by_code):
        out.by_bound[name] = np.add(out.by_bound[name], value)
    out.sources.update(costs.source)
    if any(costs.fallback):
        out.fallbacks.update(f"{op.name}: {fb}" for op, fb in zip(dev_ops, costs.fallback) if fb)
    out.ops, out.table, out.op_time_s, out.op_sol_s = dev_ops, costs, t, s


def _price_comms(out: ForwardCost, priced: list[PricedComm], rt, chip=None) -> None:
    """Collective time not hidden by compute-communication overlap, into `out`; a library that does not
    run on the chip (DeepEP dispatch off Hopper/Blackwell) is flagged (kernel/comm.library_used_note)."""
    hidden = 1.0 - rt.overlap_comm
    for p in priced:
        comm = p.comm
        note = library_used_note(comm.op, chip) if chip is not None else ""
        if note:
            out.fallbacks.add(f"{comm.name}: {note}")
        t = np.multiply(p.time_s, comm.count)
        out.by_bound["network"] = np.add(out.by_bound["network"], np.multiply(t, hidden))
        out.time_s = np.add(out.time_s, np.multiply(t, hidden))
        where = ", leaves the scale-up domain" if p.leaves_domain else ""
        # a sweep's per-configuration algorithms are named once each (not printed as an array)
        algo = p.algorithm if isinstance(p.algorithm, str) else "/".join(sorted(set(np.ravel(p.algorithm).tolist())))
        out.extra.append(OpRecord(comm.name, "collective", "comm", comm.count, t, 0.0, 0.0,
                                  (comm.message_bytes, 0.0), "network", 1.0, f"collective:{algo}{where}"))


def _pipeline(out: ForwardCost, stack: Stack, tokens, tp, pp) -> None:
    """pp stages run one after another for a token; (pp - 1) activation hops between them, each the [tokens, D]
    hidden states in the base dtype (the residual stream; a quantized GEMM input is made inside the stage)."""
    model, rt, system = stack.model, stack.runtime, stack.system
    if isinstance(pp, (int, float)) and pp <= 1:
        return
    pp_arr = np.asarray(pp, dtype=float)
    if not (pp_arr > 1).any():
        return
    p2p_bytes = np.multiply(tokens, model.hidden_size * model.quant.base.bytes_per_element)  # the residual stream
    spans = np.multiply(np.multiply(tp, pp_arr), rt.cp) > system.scaleup_domain
    scope = "inter_node" if bool(np.all(spans)) else "intra_node"
    cc = collective_time(system, "p2p", np.maximum(p2p_bytes, 1.0), 2, scope=scope)
    p2p = np.multiply(cc.time_s, pp_arr - 1)
    where = ", leaves the scale-up domain" if scope == "inter_node" else ""
    out.extra.append(OpRecord("pipeline.p2p", "collective", "comm", pp_arr - 1, p2p, 0.0, 0.0,
                              (p2p_bytes, 0.0), "network", 1.0, f"collective:p2p{where}"))
    for key in BOUNDS:
        out.by_bound[key] = np.multiply(out.by_bound[key], pp_arr)
    out.by_bound["network"] = np.add(out.by_bound["network"], p2p)
    out.time_s = np.add(np.multiply(out.time_s, pp_arr), p2p)
    out.sol_s = np.multiply(out.sol_s, pp_arr)


def _engine(out: ForwardCost, rt, seqs, chip) -> None:
    """Engine overheads (kernel/engine.py): device time x factor, plus host time per sequence; under
    overlap scheduling the host time hides behind the device time (max of the two). Only on platforms
    they were fitted for unless the runtime sets them (kernel/platforms.py), else flagged."""
    note = engine_note(chip) if rt.gpu_time_factor is None and rt.per_seq_step_s is None else ""
    if note:
        out.fallbacks.add(note)
        return
    overhead = engine_overhead(rt, chip.family)
    host = np.multiply(overhead.per_seq_step_s, seqs)
    device = np.multiply(out.time_s, overhead.gpu_time_factor)
    visible = np.maximum(np.subtract(host, device), 0.0) if overhead.overlap else host
    for key in BOUNDS:
        out.by_bound[key] = np.multiply(out.by_bound[key], overhead.gpu_time_factor)
    out.by_bound["overhead"] = np.add(out.by_bound["overhead"], visible)
    extra = np.add(np.subtract(device, out.time_s), visible)
    out.time_s = np.add(device, visible)
    out.sources.add(f"engine:{overhead.source}")
    out.extra.append(OpRecord("engine.overhead", "overhead", "engine", 1.0, extra, 0.0, 0.0, (0.0, 0.0),
                              "overhead", 0.0, f"engine:{overhead.source}"))


@dataclass(frozen=True)
class ForwardStep:
    """One forward pass to cost: `batch` sequences of `new_tokens` each after `context` cached tokens.

    `ops` (optional) replaces the op list, e.g. the merged segments of a mixed engine step;
    batch * new_tokens must then be the step's total token count (used for pipeline p2p) and
    `host_seqs` the sequences the engine handles in that step (default `batch`)."""

    batch: ArrayLike
    new_tokens: ArrayLike
    context: ArrayLike
    ops: list | None = None
    host_seqs: ArrayLike = None


def _input_shape(*inputs) -> tuple:
    arrays = [x.shape for x in inputs if isinstance(x, np.ndarray)]
    return np.broadcast_shapes(*arrays) if arrays else ()


def forward_costs(stack: Stack, steps: list[ForwardStep], tp=None, ep=None, pp=None) -> list[ForwardCost]:
    """Cost of several forward passes of one stack (e.g. a prefill and a decode step): their ops are
    built and sharded per step, then priced together as ONE table (kernel/cost.py), so the efficiency
    models run once per op kind for all of them. Engine overheads (kernel/engine.py) scale the
    device time and add host time per sequence."""
    model, rt, system = stack.model, stack.runtime, stack.system
    tp = rt.tp if tp is None else tp
    ep = rt.ep if ep is None else ep
    pp = rt.pp if pp is None else pp
    sharded = []
    for step in steps:
        ops = build_ops(model, step.batch, step.new_tokens, step.context) if step.ops is None else step.ops
        sharded.append(shard_ops(ops, rt, model.quant.act.bytes_per_element, model.hidden_size, tp=tp, ep=ep, pp=pp,
                                 act_format=model.quant.act.name, sum_bytes=model.quant.base.bytes_per_element))
    # the op fields broadcast over the step's inputs; given op lists are inspected
    shapes = [config_shape(dev_ops) if step.ops is not None else _input_shape(step.batch, step.new_tokens, step.context,
                                                                               tp, ep, pp)
              for step, (dev_ops, _) in zip(steps, sharded)]
    tables = {}  # steps of one configuration shape share a table (no scalar step is broadcast to a sweep)
    for shape in dict.fromkeys(shapes):
        ops = [op for (dev_ops, _), sh in zip(sharded, shapes) if sh == shape for op in dev_ops]
        tables[shape] = price_ops(ops, system.chip, rt, chip_params(system.chip), shape)
    starts = dict.fromkeys(tables, 0)  # each step's first row in its table
    comms = price_comms([c for _, c in sharded], system, shapes)  # collectives of all steps, stacked
    out = []
    for step, (dev_ops, _), shape, priced in zip(steps, sharded, shapes, comms):
        cost = ForwardCost(0.0, 0.0, {b: 0.0 for b in BOUNDS})
        start = starts[shape]
        starts[shape] = start + len(dev_ops)
        _price_ops(cost, dev_ops, tables[shape].rows(start, start + len(dev_ops)))
        _price_comms(cost, priced, rt, system.chip)
        _pipeline(cost, stack, np.multiply(step.batch, step.new_tokens), tp, pp)
        seqs = step.batch if step.host_seqs is None else step.host_seqs
        _engine(cost, rt, np.divide(seqs, tp if rt.attention_dp else 1), system.chip)
        if model.moe is not None and np.any(np.asarray(ep) > 1):  # busiest EP rank: kernel/ep_load.py
            cost.fallbacks.add(ep_load_assumption(rt.expert_placement))
        out.append(cost)
    return out


def forward_cost(stack: Stack, batch, new_tokens, context, tp=None, ep=None, pp=None, ops=None,
                 host_seqs=None) -> ForwardCost:
    """Cost of one forward over `batch` sequences of `new_tokens` each, after `context` cached tokens
    (`ops`, `host_seqs`: see ForwardStep)."""
    return forward_costs(stack, [ForwardStep(batch, new_tokens, context, ops, host_seqs)], tp, ep, pp)[0]
