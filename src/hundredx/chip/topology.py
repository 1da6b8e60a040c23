"""Topology geometry of a `SystemSpec`: how many ranks sit in each tier, and what bandwidth a
rank can drive for ring-like and all-to-all traffic in its scale-up domain.

Two tiers: the scale-up domain (NVLink/NVSwitch, NVL72, xGMI mesh, TPU ICI torus, NeuronLink)
and the scale-out network (InfiniBand/RoCE/EFA/DCN). A job of `ranks` chips packs
`n_in = min(ranks, domain)` ranks per domain and spans `n_out = ceil(ranks / n_in)` domains.
All bandwidths are per direction per chip (docs/chips.md).

Per topology (the bandwidth one rank injects, `B` = chip's scale-up bytes/s):
- switched / nvl72: every rank reaches the switch at `B`, for rings and all-to-all alike.
- full_mesh (AMD xGMI, GroqNode): one link per peer of `B/(domain-1)`; a group of n ranks
  uses its n-1 links (edge-disjoint rings, RCCL-style), so `B*(n-1)/(domain-1)`.
- torus2d/torus3d (TPU, Trainium): `2*ndims` links of `B/(2*ndims)`; bidirectional rings
  along every dimension of the slice use `2*active_dims` links. All-to-all traffic crosses
  on average `sum_i d_i` hops with `d_i = floor(k/2)*ceil(k/2)/k` in a k-ring with wraparound
  (Dally & Towles, Principles and Practices of Interconnection Networks, ch. 3), so its
  per-rank throughput is the link capacity divided by that mean hop count.
- Wraparound only where the slice has it (`SystemSpec.wraparound`): "always" (every axis of
  every slice closes, the default), "full_axis" (TPU v5e / v6e: only an axis spanning the pod's
  full extent, 16, wraps; smaller slices are meshes), "cube" (TPU v5p / TPU7x: axes that are
  whole multiples of the 4-chip cube edge wrap through the optical switches). Source:
  jax-ml.github.io/scaling-book/tpus (wraparound on full axes / full cubes only) — the rule as
  recalled from that text, an ASSUMPTION until re-read. An axis of k chips WITHOUT wraparound is
  a line: a ring over it sends its forward and return halves over the same links (half the
  bandwidth of the closed ring), all-to-all crosses (k^2 - 1)/(3k) hops on average instead of
  floor(k/2)ceil(k/2)/k, and the diameter is k - 1 instead of floor(k/2). Every hop costs the
  system's per-hop latency (`scaleup_latency_s`, the collectives' alpha per step).
"""

from __future__ import annotations

import numpy as np

from hundredx.chip.spec import SystemSpec

LINKS = ("scaleup", "scaleout", "pcie")


def split_ranks(system: SystemSpec, ranks, scope: str = "auto", nodes=None):
    """(n_in, n_out) arrays: ranks per scale-up domain and number of domains.

    scope "intra_node" keeps every rank in one domain (capped at the domain size);
    "inter_node" spreads them (one rank per domain unless `nodes` says otherwise);
    "auto" packs domains full first, as schedulers place ranks.
    """
    ranks = np.asarray(ranks, dtype=float)
    domain = float(system.scaleup_domain)
    if nodes is not None:
        n_out = np.maximum(np.asarray(nodes, dtype=float), 1.0)
        n_in = np.maximum(np.ceil(ranks / n_out), 1.0)
        return n_in, n_out
    if scope == "intra_node":
        n_in = np.minimum(ranks, domain)
        return n_in, np.maximum(np.ceil(ranks / np.maximum(n_in, 1.0)), 1.0)
    if scope == "inter_node":
        n_in = np.where(ranks > domain, domain, 1.0)
        return n_in, np.maximum(np.ceil(ranks / n_in), 1.0)
    n_in = np.minimum(ranks, domain)
    return np.maximum(n_in, 1.0), np.maximum(np.ceil(ranks / np.maximum(n_in, 1.0)), 1.0)


def torus_slice_dims(devices: int, ndims: int) -> tuple[int, ...]:
    """Near-cubic torus dims for a slice of `devices` chips (largest factors first)."""
    dims = [1] * ndims
    remaining = devices
    for i in range(ndims):
        target = round(remaining ** (1.0 / (ndims - i)))
        best = max(d for d in range(1, max(target, 1) + 1) if remaining % d == 0)
        above = [d for d in range(target, remaining + 1) if remaining % d == 0]
        if above and abs(above[0] - target) < abs(best - target):
            best = above[0]
        dims[i] = best
        remaining //= best
    return tuple(sorted(dims, reverse=True))


def _slice_dims(system: SystemSpec, n: float) -> list[int]:
    ndims = len(system.torus_dims) or (3 if system.topology == "torus3d" else 2)
    if n >= system.scaleup_domain and system.torus_dims:
        return list(system.torus_dims)
    return list(torus_slice_dims(max(int(n), 1), ndims))


def wraps(system: SystemSpec, k: int, axis: int = 0) -> bool:
    """Whether a slice axis of k chips closes into a ring (module docstring, `wraparound`)."""
    rule = getattr(system, "wraparound", "always")
    if k <= 2 or rule == "always":
        return True  # 2 chips: the one link is the ring
    if rule == "full_axis":  # the pod's axes (a sized slice keeps them in extra["pod_torus_dims"])
        return k in tuple(system.extra.get("pod_torus_dims", system.torus_dims))
    return k % 4 == 0  # "cube": whole 4-chip cube edges, joined by the optical switches


def _torus_ring(system: SystemSpec, n: float) -> tuple[float, float]:
    """(ring bandwidth, ring steps per pass) for a slice of n chips of a torus."""
    dims = _slice_dims(system, n)
    ndims = len(dims)
    link = system.scaleup_bytes_per_s / (2 * ndims)
    lanes = sum((2 if wraps(system, k, i) else 1) for i, k in enumerate(dims) if k > 1)
    return link * max(lanes, 2), float(sum(k - 1 for k in dims))


def _axis_mean_hops(system: SystemSpec, k: int, axis: int) -> float:
    if wraps(system, k, axis):
        return (k // 2) * ((k + 1) // 2) / k
    return (k * k - 1) / (3.0 * k)


def _torus_mean_hops(system: SystemSpec, n: float) -> float:
    dims = _slice_dims(system, n)
    return float(sum(_axis_mean_hops(system, k, i) for i, k in enumerate(dims)))


def _per_n(fn, n_in):
    """Apply a scalar geometry function elementwise over an array of group sizes."""
    n_in = np.asarray(n_in, dtype=float)
    flat = np.array([fn(float(v)) for v in n_in.ravel()], dtype=float)
    return flat.reshape(n_in.shape) if n_in.shape else float(flat[0])


def ring_bandwidth(system: SystemSpec, n_in) -> np.ndarray:
    """Per-rank bandwidth (bytes/s, per direction) of ring traffic among n_in ranks of a domain."""
    topo, bw = system.topology, system.scaleup_bytes_per_s
    n_in = np.asarray(n_in, dtype=float)
    if topo == "full_mesh":
        return bw * np.maximum(n_in - 1.0, 1.0) / max(system.scaleup_domain - 1, 1)
    if topo.startswith("torus") or topo == "ring":
        return _per_n(lambda n: _torus_ring(system, n)[0], n_in)
    return np.full_like(n_in, bw)


def ring_steps(system: SystemSpec, n_in) -> np.ndarray:
    """Sequential link traversals of one ring pass (n-1 on a switch; sum(k_i-1) on a torus)."""
    n_in = np.asarray(n_in, dtype=float)
    if system.topology.startswith("torus") or system.topology == "ring":
        return _per_n(lambda n: _torus_ring(system, n)[1], n_in)
    return np.maximum(n_in - 1.0, 0.0)


def alltoall_bandwidth(system: SystemSpec, n_in) -> np.ndarray:
    """Per-rank bandwidth of uniform all-to-all among n_in ranks of a domain (multi-hop on a torus)."""
    n_in = np.asarray(n_in, dtype=float)
    if system.topology.startswith("torus") or system.topology == "ring":
        def one(n: float) -> float:
            ring_bw, _ = _torus_ring(system, n)
            return ring_bw / max(_torus_mean_hops(system, n), 1.0)
        return _per_n(one, n_in)
    return ring_bandwidth(system, n_in)


def diameter_hops(system: SystemSpec, n_in) -> np.ndarray:
    """Worst-case hop count between two ranks of the group (1 on a switch or mesh)."""
    n_in = np.asarray(n_in, dtype=float)
    if system.topology.startswith("torus") or system.topology == "ring":
        return _per_n(lambda n: float(sum(k // 2 if wraps(system, k, i) else k - 1
                                          for i, k in enumerate(_slice_dims(system, n)))), n_in)
    return np.where(n_in > 1, 1.0, 0.0)
