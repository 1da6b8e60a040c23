"""The collectives of one or more forward passes, priced as few `collective_time` calls as possible.

Sharding (kernel/sharding.py) inserts a collective after many ops (an all-reduce after every
row-parallel GEMM, an all-gather of the logits, MoE dispatch/combine). Collectives of one kind
over the same ranks differ only in message size, so their sizes are stacked into one array and
priced by one vectorized call of kernel/comm.py (chip/collectives.py's alpha-beta physics; MoE
dispatch/combine: kernel/moe_dispatch.py); MoE dispatch/combine with the same exchange options
(hidden, top-k, experts, DeepEP mode, wire format, routing groups) and ranks have their token
counts stacked the same way; collectives of one configuration that leave the scale-up domain are
priced one by one. A collective over one rank moves nothing and is dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import numpy as np

from hundredx.arrays import ArrayLike
from hundredx.kernel.comm import comm_time
from hundredx.kernel.cost_kinds import stack
from hundredx.kernel.sharding import Collective, MoeExchange


@dataclass(frozen=True)
class PricedComm:
    """One collective of a forward pass: time of one call (before count), algorithm, and whether it
    leaves the scale-up domain."""

    comm: Collective
    time_s: ArrayLike
    algorithm: str
    leaves_domain: bool


def _key(comm: Collective, position: int, domain: int):
    scalar_ranks = isinstance(comm.ranks, (int, float))
    if comm.moe is not None:  # MoE exchanges with the same options and ranks: their token counts stacked
        m = comm.moe
        ranks = comm.ranks if scalar_ranks else (np.shape(comm.ranks), np.asarray(comm.ranks, float).tobytes())
        return ("moe", comm.op, m.hidden, m.topk, m.experts, m.mode, m.dtype, m.routing_groups, ranks)
    # beyond one scale-up domain the hierarchical scheme picks its intra stage over all sizes it is
    # given, so multi-domain collectives of one configuration are priced alone (exactly as one call)
    if scalar_ranks and comm.ranks > domain:
        return ("alone", position)
    return (comm.op, comm.ranks if scalar_ranks else id(comm.ranks))


def _runs_on_one_rank(comm: Collective) -> bool:
    if isinstance(comm.ranks, (int, float)):
        return comm.ranks <= 1
    return not (np.asarray(comm.ranks, dtype=float) > 1).any()


def price_comms(comms_by_step: list[list[Collective]], system, shapes: list[tuple]) -> list[list[PricedComm]]:
    """The collectives of each step that move data, priced; `shapes` are the steps' config shapes."""
    flat = [(s, c) for s, comms in enumerate(comms_by_step) for c in comms if not _runs_on_one_rank(c)]
    groups: dict[tuple, list[int]] = {}
    for i, (s, comm) in enumerate(flat):
        groups.setdefault(_key(comm, i, system.scaleup_domain) + (shapes[s],), []).append(i)
    priced: list[PricedComm | None] = [None] * len(flat)
    for idx in groups.values():
        comms = [flat[i][1] for i in idx]
        first, shape = comms[0], shapes[flat[idx[0]][0]]
        ranks = np.asarray(first.ranks, dtype=float)
        sizes = stack([c.message_bytes for c in comms], shape)
        options = {}
        if first.moe is not None:  # one exchange's options, every row's token counts
            options = dict(first.moe.kwargs(), tokens=stack([cast(MoeExchange, c.moe).tokens for c in comms], shape))
        cc = comm_time(system, first.op, np.maximum(sizes, 1.0), np.maximum(ranks, 2), check=False, **options)
        full = (len(idx),) + shape  # one row per collective
        times = np.where(ranks > 1, cc.time_s, 0.0) + np.zeros(full)
        leaves = cast(list[bool], np.broadcast_to(cc.leaves_domain, full).reshape(len(idx), -1).any(axis=1).tolist())
        algos = np.broadcast_to(np.asarray(cc.algorithm, dtype=object), full) if not isinstance(cc.algorithm, str) \
            else [cc.algorithm] * len(idx)
        for row, i in enumerate(idx):
            priced[i] = PricedComm(flat[i][1], times[row], algos[row], leaves[row])
    out: list[list[PricedComm]] = [[] for _ in comms_by_step]
    filled = cast(list[PricedComm], priced)  # every collective is in one group: none is left None
    for (s, _), p in zip(flat, filled):
        out[s].append(p)
    return out
