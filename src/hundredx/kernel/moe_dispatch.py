"""MoE token dispatch / combine (DeepEP-style expert-parallel all-to-all): software on the chip's links.

A KERNEL-layer model: how a dispatch library moves tokens (deduplication per rank or per
domain, per-(token, expert) messages, FP8 scales) is software knowledge; the links it runs on
(scale-up all-to-all bandwidth, scale-out NIC, latencies, link efficiencies) come from the
chip layer (chip/topology.py, chip/collectives.FIT). Modes are the catalog row's
(kernel/catalog.py: deepep, dispatch_modes normal / low_latency); an unknown mode is refused
by name.

Each of `tokens` tokens per rank carries `hidden` elements of `dtype` (FP8 adds one FP32
scale per 128 elements, DeepSeek-V3 block scaling; mxfp8 / mxfp4 one E8M0 byte per 32, nvfp4 one
FP8 byte per 16 elements: hundredx.formats) to its `topk` experts — the payload is the stack's
activation format (kernel/sharding.dispatch_payload), combine returns bf16; `experts` are
spread evenly over the `ranks` (EP degree), `n_in` ranks per scale-up domain. Uniform
routing is assumed here (kernel/ep_placement.py handles skewed routing and placement).

- normal mode (DeepEP normal kernels, throughput): a token goes once to each distinct
  destination rank (intra-domain, NVLink) or once to each distinct destination domain over
  RDMA and is then forwarded over NVLink. Distinct ranks per token with m = E/n experts per
  rank: n·(1 - C(E-m, k)/C(E, k)); with node-limited routing a token reaches at most
  `topk_groups` domains — given directly, or from the model's `routing_groups` (n_group,
  topk_group) (DeepSeek-V3: 8 groups, 4 per token): with the groups laid out over the n_out
  domains (n_out/n_group domains per group, at least one), topk_groups = topk_group · max(n_out /
  n_group, 1), so at EP 64 over 8 nodes a token crosses to at most 4 of them (DeepSeek-V3 report
  arXiv:2412.19437, section 2.1.2). predict passes the model's groups (kernel/sharding.py).
- low_latency mode (DeepEP low-latency kernels, decode): one message per (token, expert)
  pair, no deduplication; same-domain pairs go over NVLink unless `pure_rdma`.

time = latency + max(rdma_bytes / (B_out·eff_out), nvlink_bytes / (B_up·eff_up)); no
protocol ramp (DeepEP kernels stream fixed-size tokens). eff_up and (normal mode) eff_out are
the chip layer's link efficiencies; low-latency mode's fine-grained per-token RDMA writes reach
LOW_LATENCY_RDMA_EFF of the NIC instead. DeepEP reports the "bottleneck bandwidth" = bytes on
the bottleneck link / time, returned as `bus_bandwidth_bytes_per_s`.
Source: deepseek-ai/DeepEP README (2025); DeepSeek-V3 technical report arXiv:2412.19437.
"""

from __future__ import annotations

import numpy as np
from scipy.special import gammaln

from hundredx.chip import topology as topo
from hundredx.chip.collectives import FIT, CollectiveCost, finish_cost
from hundredx.chip.spec import SystemSpec
from hundredx.errors import InputError
from hundredx.formats import get_format
from hundredx.kernel import catalog

ELEMENT_BYTES = {"fp8": 1.0, "bf16": 2.0, "fp16": 2.0, "fp32": 4.0, "fp4": 0.5}
BLOCK_SCALED = ("mxfp8", "nvfp4", "mxfp4")  # bytes per element with their block scales from hundredx.formats
OPS = ("moe_dispatch", "moe_combine")
DISPATCH_LIBRARY = "deepep"  # the catalog row whose kernels this model describes
# Fitted on data/validation/collective.jsonl (DeepEP README tables, H800, 2026 snapshot;
# tests/test_collective_validation.py): fine-grained per-token RDMA writes of the low-latency kernels reach
# 39..46 GB/s on a 50 GB/s CX-7 NIC (bulk RDMA of normal mode: chip FIT["eff_scaleout"]).
LOW_LATENCY_RDMA_EFF = 0.80


def modes() -> tuple[str, ...]:
    """Dispatch modes of the library this model describes (kernel catalog row `deepep`)."""
    return catalog.get("collective", DISPATCH_LIBRARY).dispatch_modes


def token_bytes(hidden, dtype: str) -> np.ndarray:
    """Bytes of one token's hidden state on the wire (FP8: + FP32 scale per 128 elements)."""
    hidden = np.asarray(hidden, dtype=float)
    if dtype in BLOCK_SCALED:
        return hidden * get_format(dtype).bytes_per_element
    if dtype not in ELEMENT_BYTES:
        raise InputError("dtype", dtype, f"unknown; known: {', '.join((*ELEMENT_BYTES, *BLOCK_SCALED))}")
    scales = np.ceil(hidden / 128.0) * 4.0 if dtype == "fp8" else 0.0
    return hidden * ELEMENT_BYTES[dtype] + scales


def _p_hit(experts, per_group, topk) -> np.ndarray:
    """P(a group holding `per_group` of `experts` receives >= 1 of a token's topk experts)."""
    e, m, k = (np.asarray(v, dtype=float) for v in (experts, per_group, topk))
    miss = np.where(e - m >= k,
                    np.exp(gammaln(e - m + 1) - gammaln(e - m - k + 1) - gammaln(e + 1) + gammaln(e - k + 1)), 0.0)
    return 1.0 - miss


def traffic(op, tokens, hidden, topk, experts, dtype, ranks, n_in, n_out, mode="normal",
            topk_groups=None, pure_rdma=False):
    """(rdma_bytes, nvlink_bytes) sent per rank for one dispatch or combine."""
    bpt = token_bytes(hidden, dtype)
    n = np.asarray(ranks, dtype=float)
    n_all = n_in * n_out
    if mode == "low_latency":
        pairs = tokens * topk * bpt
        if pure_rdma:
            return pairs * (n - 1.0) / n, 0.0 * pairs
        return pairs * (n_all - n_in) / n_all, pairs * (n_in - 1.0) / n_all
    ranks_hit = n_in * _p_hit(experts, experts / n_all, topk)  # distinct ranks per token in one domain
    if np.all(n_out <= 1) and not pure_rdma:
        return 0.0 * ranks_hit, tokens * bpt * ranks_hit * (n_in - 1.0) / n_in
    nodes_hit = n_out * _p_hit(experts, experts / n_out, topk)
    if topk_groups is not None:
        nodes_hit = np.minimum(nodes_hit, np.asarray(topk_groups, dtype=float))
    rdma = tokens * bpt * nodes_hit * (n_out - 1.0) / n_out
    nvlink = tokens * bpt * nodes_hit * ranks_hit / n_out * (n_in - 1.0) / n_in
    return rdma, nvlink


def dispatch_time(system: SystemSpec, op: str, ranks, scope="auto", library=DISPATCH_LIBRARY, tokens=None,
                  hidden=None, topk=None, experts=None, dtype="bf16", mode="normal", topk_groups=None, pure_rdma=False,
                  nodes=None, routing_groups=None, **_ignored) -> CollectiveCost:
    """CollectiveCost of one MoE dispatch/combine per rank (see module docstring). Options a plain
    collective takes (nvls, transfer, ...) are ignored; `library` is recorded, not priced differently."""
    if op not in OPS:
        raise InputError("op", op, f"not a MoE dispatch op; known: {', '.join(OPS)}")
    for name, value in (("tokens", tokens), ("hidden", hidden), ("topk", topk)):
        if value is None or np.any(np.asarray(value, dtype=float) <= 0):
            raise InputError(name, value, f"{op} needs a positive {name}")
    if mode not in modes():
        raise InputError("mode", mode, f"unknown dispatch mode; known: {', '.join(modes())}")
    n = np.asarray(ranks, dtype=float)
    experts = n * 8.0 if experts is None else np.asarray(experts, dtype=float)
    if np.any(experts < topk):
        raise InputError("experts", experts, f"must be >= topk={topk}")
    n_in, n_out = topo.split_ranks(system, n, scope, nodes)
    if topk_groups is None and routing_groups is not None:
        n_group, topk_group = routing_groups
        topk_groups = topk_group * np.maximum(np.asarray(n_out, float) / n_group, 1.0)
    rdma, nvl = traffic(op, np.asarray(tokens, float), hidden, topk, experts, dtype, n, n_in, n_out, mode,
                        topk_groups, pure_rdma)
    eff_out = LOW_LATENCY_RDMA_EFF if mode == "low_latency" else FIT["eff_scaleout"]
    b_out = system.scaleout_bytes_per_s * eff_out
    b_up = np.asarray(topo.alltoall_bandwidth(system, n_in), dtype=float) * FIT["eff_scaleup"]
    t_out = np.where(rdma > 0, rdma / max(b_out, 1e-9), 0.0)
    t_up = np.where(nvl > 0, nvl / np.maximum(b_up, 1e-9), 0.0)
    remote = (rdma > 0)
    lat = np.where(remote, system.scaleout_latency_s, system.scaleup_latency_s)
    t = lat + np.maximum(t_out, t_up)
    bottleneck = np.where(t_out >= t_up, rdma, nvl)
    sent = tokens * np.asarray(topk, float) * token_bytes(hidden, dtype) if mode == "low_latency" else rdma + nvl
    return finish_cost(t, f"deepep_{mode}", op, sent, n, "scaleout" if np.all(remote) else "scaleup", n_out > 1,
                       bottleneck)
