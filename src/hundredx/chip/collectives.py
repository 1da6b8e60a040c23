"""Collective communication cost on a `SystemSpec`: alpha-beta with size-dependent efficiency.

For one algorithm on one tier (n ranks, per-rank per-direction bandwidth B, per-step latency a):

    t = steps(n)·a  +  t_bw · (1 + (S_half(n) / S)^p),      t_bw = bus_bytes / (B · eff)

`bus_bytes = busbw_factor(op, n) · S` is the nccl-tests convention (all-reduce 2(n-1)/n,
all-gather / reduce-scatter / all-to-all (n-1)/n; Patarasuk & Yuan 2009 for ring optimality),
`eff` the achievable fraction of the link line rate per link class, and the soft ramp
`(S_half/S)^p` the protocol/pipeline ramp of NCCL-like libraries: measured bus bandwidth
reaches half its plateau near `S_half` bytes (`S_half` grows with the rank count). Algorithms:

- ring:   steps 2(n-1) (all-reduce) or n-1, bus bytes as above.
- tree:   double binary tree (Sanders et al. 2009, NCCL >= 2.4), steps 2·log2 n, ring bandwidth.
- nvls:   NVLink SHARP in-switch reduction (H100+ NVSwitch): each rank sends and receives
          S·(1+1/n) for all-reduce (multimem ld_reduce + st), so busbw = 2(n-1)/(n+1)·B·eff_nvls.
- collnet: SHARP in-network reduction on the scale-out tier (S/n_in per rank up and down).
- direct: one-shot exchange (all-to-all; one-shot all-reduce of custom kernels, TRT-LLM style).
- hierarchical (two tiers): reduce-scatter in the domain -> all-reduce across domains on the
  1/n_in shard over n_in parallel rails -> all-gather in the domain, pipelined (bandwidth terms
  overlap, latencies add), so it is never slower than a flat ring across both tiers.

`algorithm="auto"` takes the fastest candidate the system supports, as NCCL's tuner does;
`one_shot_all_reduce=True` adds the direct all-reduce of libraries that have such a kernel
(which library has what is the kernel catalog's, kernel/catalog.py, reached through
kernel/comm.py). Fitted constants live in `FIT` with the data they were fitted on
(docs/collectives.md). MoE dispatch/combine (DeepEP normal / low-latency) is software on these
links and lives in the kernel layer (kernel/moe_dispatch.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hundredx.arrays import ArrayLike, fastest
from hundredx.chip import topology as topo
from hundredx.chip.spec import SystemSpec
from hundredx.errors import InputError

OPS = ("all_reduce", "all_gather", "reduce_scatter", "all_to_all", "p2p")
ALGORITHMS = ("auto", "ring", "tree", "nvls", "collnet", "direct", "hierarchical")
SCOPES = ("auto", "intra_node", "inter_node")

# Fitted on data/validation/collective.jsonl (2026 snapshot; 59 public cases:
# Azure AI-benchmarking-guide nccl-tests/nvbandwidth tables for A100/H100/H200/GB200, NCCL
# issues #1455/#1374/#2140 and nccl-tests #212/#272 (H100/H200/H800/B300 8-GPU peaks),
# coreweave nccl-tests PR #43 (GB200 NVL72 x72), DeepEP README tables (H800)). See
# tests/test_collective_validation.py and docs/collectives.md for the per-case errors.
FIT = {
    # ring/p2p fraction of NVLink/xGMI/ICI line rate (A100 8G 231.6/300, B300 695/900, H800 p2p 160/200)
    "eff_scaleup": 0.80,
    "eff_nvls": 0.685,       # NVLS all-reduce link efficiency (H100 x5..x8 420..480 GB/s busbw; H800 215)
    "eff_scaleout": 0.95,    # bulk RDMA (DeepEP normal internode 43..58 GB/s on 50 GB/s CX-7)
    "eff_pcie": 0.81,        # host<->device copies (H100 51/64, A100 26.3/32 GB/s)
    "nvls_max_bytes_per_s": 3.86e11,  # NVLS per-GPU throughput ceiling (binds on NVLink5; GB200 NVL72 x72 sweep)
    # effective per-step latency / catalog nominal per-hop latency (NOT fitted: ~1 us per NVLink hop, NCCL LL)
    "latency_scale": 0.4,
    "ramp_bytes": 17e6,      # message size at which 8-rank busbw reaches half its plateau (H200/A100/GB200 sweeps)
    "ramp_ranks_exp": 0.4,   # S_half ∝ ((n-1)/7)^exp (GB200 x4 vs x8 vs x72 sweeps)
    "ramp_p": 0.69,          # sharpness of the ramp (log-log slope of 1/f - 1)
    "tree_bw": 0.9,          # tree bandwidth relative to ring (assumption, NCCL tuning tables)
}


@dataclass(frozen=True, slots=True)
class CollectiveCost:
    """Cost of one collective. Arrays when the inputs were arrays. Bandwidths are per rank."""

    time_s: ArrayLike
    algorithm: str | np.ndarray
    bus_bandwidth_bytes_per_s: ArrayLike
    algo_bandwidth_bytes_per_s: ArrayLike
    link: str
    leaves_domain: bool | np.ndarray
    bottleneck_bytes: ArrayLike = 0.0

    def to_dict(self) -> dict:
        def plain(v):
            return v.tolist() if isinstance(v, np.ndarray) else v
        return {k: plain(getattr(self, k)) for k in self.__slots__}


def busbw_factor(op: str, ranks) -> np.ndarray | float:
    """nccl-tests bus-bandwidth factor: busbw = algbw · factor."""
    n = np.asarray(ranks, dtype=float)
    if op == "all_reduce":
        out = 2.0 * (n - 1.0) / np.maximum(n, 1.0)
    elif op in ("all_gather", "reduce_scatter", "all_to_all"):
        out = (n - 1.0) / np.maximum(n, 1.0)
    elif op == "p2p":
        out = np.ones_like(n)
    else:
        raise InputError("op", op, f"unknown collective; known: {', '.join(OPS)}")
    return float(out) if out.ndim == 0 else out


def ramp_time(t_bw, message_bytes, n, ramp_bytes=None, fit=None):
    """Bandwidth time stretched by the protocol/pipeline ramp: t_bw·(1 + (S_half/S)^p) (`fit`: FIT or a
    library's copy of it with its own constants, kernel/comm_libs.py)."""
    fit = FIT if fit is None else fit
    s_half = (fit["ramp_bytes"] if ramp_bytes is None else ramp_bytes) * (
        np.maximum(np.asarray(n, dtype=float) - 1.0, 0.0) / 7.0) ** fit["ramp_ranks_exp"]
    size = np.maximum(np.asarray(message_bytes, dtype=float), 1.0)
    return t_bw * (1.0 + (s_half / size) ** fit["ramp_p"])


def _reduce_steps(op: str, n):
    """Ring passes: all-reduce is reduce-scatter + all-gather (2 passes)."""
    return 2.0 if op == "all_reduce" else 1.0


def _tiers(op, algos, size, n, bw, alpha, system: SystemSpec | None, tier: str, ramp_size=None, fit=FIT):
    """(latency, ramped bandwidth time) of each algorithm on one tier, stacked on a leading algorithm
    axis and vectorized over size, n.

    `ramp_size`: the collective's whole message when this tier is one stage of a pipelined
    hierarchical scheme (the protocol ramp follows the collective's size, not the shard's).
    """
    n = np.asarray(n, dtype=float)
    passes = _reduce_steps(op, n)
    safe_n = np.maximum(n, 1.0)
    lats, bwts = [], []
    for algo in algos:
        if algo == "ring":
            steps = topo.ring_steps(system, n) if tier == "scaleup" and system is not None else np.maximum(n - 1, 0)
            lat, bwt = passes * steps * alpha, busbw_factor(op, n) * size / bw
        elif algo == "tree":
            lat = passes * np.ceil(np.log2(safe_n)) * alpha
            bwt = busbw_factor(op, n) * size / (bw * fit["tree_bw"])
        elif algo in ("nvls", "collnet"):
            factor = (1.0 + 1.0 / safe_n) if op == "all_reduce" else (n - 1.0) / safe_n
            link_bw = bw
            if algo == "nvls":  # link efficiency of multimem ld_reduce/st, capped by the NVLS engine throughput
                link_bw = np.minimum(bw * fit["eff_nvls"] / fit["eff_scaleup"], fit["nvls_max_bytes_per_s"])
            lat, bwt = passes * alpha * np.ones_like(n), factor * size / link_bw
        elif algo == "direct":
            factor = (n - 1.0) if op == "all_reduce" else (n - 1.0) / safe_n
            lat, bwt = alpha * np.ones_like(n), factor * size / bw
        else:
            raise InputError("algorithm", algo, f"unknown; known: {', '.join(ALGORITHMS)}")
        lats.append(lat)
        bwts.append(bwt)
    lat, bwt = _stack(lats), _stack(bwts)
    if lat.ndim != bwt.ndim:  # keep the algorithm axis leading when one side has fewer dims
        nd = max(lat.ndim, bwt.ndim)
        lat, bwt = (x.reshape((x.shape[0],) + (1,) * (nd - x.ndim) + x.shape[1:]) for x in (lat, bwt))
    one = n <= 1
    ramped = ramp_time(bwt, size if ramp_size is None else ramp_size, n, fit=fit)
    return np.where(one, 0.0, lat), np.where(one, 0.0, ramped)


def _stack(arrays: list) -> np.ndarray:
    """Same-quantity arrays of several algorithms on a leading axis (broadcast only where they differ)."""
    arrays = [np.asarray(a, dtype=float) for a in arrays]
    shape = arrays[0].shape
    if any(a.shape != shape for a in arrays):
        shape = np.broadcast(*arrays).shape
        arrays = [np.broadcast_to(a, shape) for a in arrays]
    return np.array(arrays)


def _tier(op, algo, size, n, bw, alpha, system: SystemSpec | None, tier: str, ramp_size=None, fit=FIT):
    """(latency, ramped bandwidth time) of one algorithm on one tier (see _tiers)."""
    lat, bwt = _tiers(op, [algo], size, n, bw, alpha, system, tier, ramp_size, fit)
    return lat[0], bwt[0]


def _bandwidths(system: SystemSpec, op: str, n_in, fit=FIT):
    """(effective scale-up, scale-out) per-rank bandwidth (bytes/s) for this op."""
    up = topo.alltoall_bandwidth(system, n_in) if op == "all_to_all" else topo.ring_bandwidth(system, n_in)
    return np.asarray(up, dtype=float) * fit["eff_scaleup"], system.scaleout_bytes_per_s * fit["eff_scaleout"]


def _intra_candidates(system, op, one_shot: bool, nvls_ok, allowed=None):
    if op == "all_to_all":
        return ["direct"]
    algos = ["ring", "tree"]
    if nvls_ok and system.in_switch_reduction and system.topology in ("switched", "nvl72"):
        algos.append("nvls")
    if one_shot and op == "all_reduce":
        algos.append("direct")
    if allowed is not None:  # the library's own algorithms (kernel/comm_libs.py); ring always stays
        algos = [a for a in algos if a in allowed or a == "ring"]
    return algos


def _alphas(system: SystemSpec, fit=FIT):
    """Effective per-step latency (s) of the scale-up and scale-out tiers."""
    return system.scaleup_latency_s * fit["latency_scale"], system.scaleout_latency_s * fit["latency_scale"]


def _single_tier(system, op, size, n_in, algos, fit=FIT):
    """Time of each algorithm inside one scale-up domain, stacked on a leading algorithm axis."""
    up, _ = _bandwidths(system, op, n_in, fit)
    a_up, _ = _alphas(system, fit)
    lat, bwt = _tiers(op, algos, size, n_in, up, a_up, system, "scaleup", fit=fit)
    return lat + bwt


def _two_tier(system, op, size, n_in, n_out, intra_algos, fit=FIT, allowed=None):
    """Flat ring/tree over both tiers, hierarchical and (with SHARP) collnet."""
    up, out = _bandwidths(system, op, n_in, fit)
    (a_up, a_out), n_all = _alphas(system, fit), n_in * n_out
    rails = np.minimum(up, n_in * out)
    res = {}
    if op == "all_to_all":
        remote = size * (n_all - n_in) / n_all / out
        local = size * np.maximum(n_in - 1, 0) / n_all / up
        res["direct"] = a_out + ramp_time(np.maximum(remote, local), size, n_all, fit=fit)
        return res
    for algo in ("ring", "tree"):
        if allowed is None or algo in allowed:
            res[algo] = sum(_tier(op, algo, size, n_all, rails, a_out, None, "scaleout", fit=fit))
    # hierarchical: intra stage on S (best intra algorithm), inter stage on S/n_in per rail
    # the intra stage's algorithm, per element (a sweep of sizes gets each size's own pick, as one call would)
    stages = [_tier(op, a, size, n_in, up, a_up, system, "scaleup", fit=fit) for a in intra_algos]
    pick = fastest(_stack([lat + bwt for lat, bwt in stages]))
    intra = (pick.take(_stack([s[0] for s in stages])), pick.take(_stack([s[1] for s in stages])))
    collnet = system.scaleout_in_network_reduction and op == "all_reduce" and (allowed is None or "collnet" in allowed)
    inter_algos = [a for a in ("ring", "tree") if allowed is None or a in allowed] + (["collnet"] if collnet else [])
    for algo in inter_algos:
        lat, bwt = _tier(op, algo, size / n_in, n_out, out, a_out, None, "scaleout", ramp_size=size, fit=fit)
        key = "collnet" if algo == "collnet" else "hierarchical"
        t = intra[0] + lat + np.maximum(intra[1], bwt)
        res[key] = np.minimum(res[key], t) if key in res else t
    return res


def _choose(names: list[str], times, algorithm: str):
    """(time, algorithm) of the named algorithm, or per element the fastest ("auto"; ties: the earlier)."""
    if algorithm != "auto":
        if algorithm not in names:
            raise InputError("algorithm", algorithm, f"not available here; available: {', '.join(sorted(names))}")
        return times[names.index(algorithm)], algorithm
    if not isinstance(times, np.ndarray):
        times = _stack(times)
    pick = fastest(times)
    return pick.take(times), pick.names(names)


def _check(system, op, message_bytes, ranks, scope, algorithm):
    if not isinstance(system, SystemSpec):
        raise InputError("system", system, "expected a SystemSpec (use chip.load_system)")
    if op in ("moe_dispatch", "moe_combine"):
        raise InputError("op", op, "MoE dispatch/combine is a kernel-layer model: kernel.moe_dispatch.dispatch_time "
                                   "(or kernel.comm.comm_time)")
    for field, value, allowed in (("op", op, OPS), ("scope", scope, SCOPES), ("algorithm", algorithm, ALGORITHMS)):
        if value not in allowed:
            raise InputError(field, value, f"unknown; known: {', '.join(allowed)}")
    size = np.asarray(message_bytes, dtype=float)
    n = np.asarray(ranks, dtype=float)
    if not (np.isfinite(size).all() and size.min() >= 0):
        raise InputError("message_bytes", message_bytes, "must be finite and >= 0")
    if n.min() < 1 or (n != np.round(n)).any():
        raise InputError("ranks", ranks, "must be positive integers")
    if system.max_devices and n.max() > system.max_devices:
        raise InputError("ranks", ranks, f"system {system.id} holds at most {system.max_devices} chips")
    return size, n


def finish_cost(t, algo, op, size, n_all, link, leaves, bottleneck=None) -> CollectiveCost:
    """A CollectiveCost from a time: algbw = size / t, busbw = bottleneck / t when given, else the
    nccl-tests factor of `op` times algbw (a zero time, one rank, has unbounded bandwidth)."""
    t = np.asarray(t, dtype=float)
    moving = t > 0  # a zero-time collective (one rank) has unbounded bandwidth
    algbw = np.divide(size, t, out=np.full(np.broadcast(size, t).shape, np.inf), where=moving)
    if bottleneck is not None:
        busbw = np.divide(bottleneck, t, out=np.full(np.broadcast(bottleneck, t).shape, np.inf), where=moving)
    elif moving.all():
        busbw = algbw * busbw_factor(op, n_all)
    else:
        with np.errstate(invalid="ignore"):  # one rank: unbounded algbw x factor 0 stays undefined (nan)
            busbw = algbw * busbw_factor(op, n_all)
    scalar = t.ndim == 0 and np.ndim(leaves) == 0
    conv = (lambda v: float(v)) if scalar else (lambda v: np.asarray(v, dtype=float))
    return CollectiveCost(time_s=conv(t), algorithm=algo, bus_bandwidth_bytes_per_s=conv(busbw),
                          algo_bandwidth_bytes_per_s=conv(algbw), link=link,
                          leaves_domain=bool(leaves) if np.ndim(leaves) == 0 else np.asarray(leaves),
                          bottleneck_bytes=conv(size if bottleneck is None else bottleneck))


def p2p_time(system: SystemSpec, message_bytes, transfer: str = "device_to_device", leaves_domain: bool = False,
             fit=FIT):
    """(time, link) of one point-to-point copy: NVLink/ICI, scale-out NIC, or host link (PCIe / C2C)."""
    size = np.asarray(message_bytes, dtype=float)
    if transfer in ("host_to_device", "device_to_host"):
        if system.chip.pcie_bytes_per_s <= 0:
            raise InputError("transfer", transfer, f"chip {system.chip.id} has no host-link bandwidth in the catalog")
        bw, lat, link = system.chip.pcie_bytes_per_s * fit["eff_pcie"], system.chip.kernel_launch_s, "pcie"
    elif transfer != "device_to_device":
        raise InputError("transfer", transfer, "known: device_to_device, host_to_device, device_to_host")
    elif leaves_domain:
        bw, lat, link = system.scaleout_bytes_per_s * fit["eff_scaleout"], _alphas(system, fit)[1], "scaleout"
    else:
        bw = float(topo.ring_bandwidth(system, 2.0)) * fit["eff_scaleup"]
        lat, link = _alphas(system, fit)[0], "scaleup"
    if bw <= 0:
        raise InputError("system", system.id, f"no {link} bandwidth in the catalog for this transfer")
    return lat + ramp_time(size / bw, size, 2.0, fit=fit), link


def collective_time(system: SystemSpec, op: str, message_bytes, ranks, scope: str = "auto",
                    algorithm: str = "auto", check: bool = True, one_shot_all_reduce: bool = False,
                    fit: dict | None = None, algorithms: tuple[str, ...] | None = None,
                    **options) -> CollectiveCost:
    """Time of one collective on `system`; vectorized over `message_bytes` and `ranks`.

    message_bytes: nccl-tests "size" per rank (all-gather: the gathered buffer). options:
    `nvls=False` disables NVLS (NCCL_NVLS_ENABLE=0); `nodes` fixes the domains spanned;
    `transfer` for p2p (device_to_device, host_to_device, device_to_host).
    `one_shot_all_reduce`: the library has a one-shot (direct) all-reduce kernel.
    `fit`: FIT with a library's own constants (default FIT, the NCCL/RCCL fit); `algorithms`: the ones the
    library implements (default all; kernel/comm_libs.py holds each library's).
    """
    fit = FIT if fit is None else fit
    if "library" in options:
        raise InputError("library", options["library"], "libraries are software: price them with kernel.comm.comm_time")
    if check:
        size, n = _check(system, op, message_bytes, ranks, scope, algorithm)
    else:  # sizes and ranks derived from a validated stack (predict's sharding)
        size, n = np.asarray(message_bytes, dtype=float), np.asarray(ranks, dtype=float)
    n_in, n_out = topo.split_ranks(system, n, scope, options.get("nodes"))
    leaves = n_out > 1
    if op == "p2p":
        t, link = p2p_time(system, size, options.get("transfer", "device_to_device"), bool(np.any(leaves)), fit)
        return finish_cost(t, "direct", op, size, n, link, leaves)
    intra_algos = _intra_candidates(system, op, one_shot_all_reduce, options.get("nvls", True), algorithms)
    names, times = intra_algos, _single_tier(system, op, size, n_in, intra_algos, fit)
    if leaves.any():
        one = dict(zip(names, times))
        two = _two_tier(system, op, size, n_in, n_out, intra_algos, fit, algorithms)
        names = list(dict.fromkeys([*one, *two]))
        times = [np.where(leaves, two.get(k, np.inf), one.get(k, np.inf)) for k in names]
    t, algo = _choose(names, times, algorithm)
    link = "scaleout" if leaves.all() else ("scaleup" if not leaves.any() else "mixed")
    return finish_cost(t, algo, op, size, n_in * n_out, link, leaves)
