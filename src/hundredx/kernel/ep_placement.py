"""Topology-aware expert placement: how much MoE dispatch traffic leaves the scale-up domain.

With expert parallelism of degree `ep` over domains of `domain` ranks (NVLink islands), a
token on rank r is dispatched once to every distinct *domain* holding one of its top-k
experts (DeepEP normal kernels deduplicate per domain, then forward over NVLink). The
traffic that leaves the source domain is therefore

    leaving = sum_tokens |{domains hit by the token} \\ {source domain}|

and its share of all (token, expert) pairs is what a placement controls. A naive placement
puts experts in id order (expert e on rank e·ep/E); a locality-aware placement co-locates
experts that are frequently activated together (greedy on the co-activation matrix
C = A^T·A of the token->expert matrix A, under equal experts per domain and a load
penalty), the idea of co-activation-aware placement in e.g. "Exploiting Inter-Layer Expert
Affinity for Accelerating MoE Inference" (Yao et al., IPDPS 2024) and DeepSeek-V3's
node-limited routing (arXiv:2412.19437 §2.1.2). Time: the busiest rank's RDMA bytes and
NVLink bytes, each costed with `chip.collective_time(..., "p2p")`, the slower one binding.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hundredx.chip import SystemSpec, collective_time
from hundredx.errors import InputError


@dataclass(frozen=True, slots=True)
class PlacementResult:
    """Naive vs locality-aware expert placement. Shares are of all (token, expert) pairs."""

    naive_leaving_share: float
    aware_leaving_share: float
    naive_time_s: float
    aware_time_s: float
    naive_placement: tuple[int, ...]
    aware_placement: tuple[int, ...]

    @property
    def saved_s(self) -> float:
        return self.naive_time_s - self.aware_time_s


def routing_matrix(routing, topk: int, tokens: int = 4096, seed: int = 0) -> np.ndarray:
    """Token->expert 0/1 matrix [T, E]: given directly (weights: top-k per row) or sampled from probabilities [E]."""
    arr = np.asarray(routing, dtype=float)
    if arr.ndim == 2:
        if arr.shape[1] < topk:
            raise InputError("routing", arr.shape, f"needs at least topk={topk} experts per row")
        top = np.argsort(-arr, axis=1, kind="stable")[:, :topk]
        out = np.zeros_like(arr)
        np.put_along_axis(out, top, 1.0, axis=1)
        return out
    if arr.ndim != 1 or arr.size < topk or np.any(arr < 0) or arr.sum() <= 0:
        raise InputError("routing", f"shape {arr.shape}",
                         "expert probabilities must be a non-negative 1-D array with >= topk entries")
    rng = np.random.default_rng(seed)
    # weighted sampling without replacement
    keys = rng.random((tokens, arr.size)) ** (1.0 / np.maximum(arr / arr.sum(), 1e-12))
    return routing_matrix(keys, topk)


def naive_placement(experts: int, ep: int) -> np.ndarray:
    """Expert e on rank floor(e·ep/E): contiguous blocks in id order."""
    return (np.arange(experts) * ep) // experts


def locality_placement(matrix: np.ndarray, ep: int, domain: int, load_penalty: float = 1.0) -> np.ndarray:
    """Greedy: experts in decreasing load join the domain with most co-activation (load-penalised)."""
    n_tokens, experts = matrix.shape
    n_dom = max(ep // domain, 1)
    cap = -(-experts // n_dom)
    coact = matrix.T @ matrix
    np.fill_diagonal(coact, 0.0)
    load = matrix.sum(axis=0)
    target = load.sum() / n_dom
    members: list[list[int]] = [[] for _ in range(n_dom)]
    dom_load = np.zeros(n_dom)
    for e in np.argsort(-load, kind="stable"):
        score = np.array([coact[e, m].sum() if m else 0.0 for m in members])
        score = score / max(load[e], 1.0) - load_penalty * dom_load / max(target, 1.0)
        score[[len(m) >= cap for m in members]] = -np.inf
        d = int(np.argmax(score))
        members[d].append(int(e))
        dom_load[d] += load[e]
    placement = np.empty(experts, dtype=int)
    for d, group in enumerate(members):  # balance ranks inside the domain: heaviest expert to the lightest rank
        rank_load = np.zeros(domain)
        for e in sorted(group, key=lambda x: -load[x]):
            r = int(np.argmin(rank_load))
            placement[e] = d * domain + r
            rank_load[r] += load[e]
    return placement


def leaving_traffic(matrix: np.ndarray, placement: np.ndarray, ep: int, domain: int):
    """(share of pairs leaving the domain, busiest rank's RDMA sends, busiest rank's NVLink sends) in tokens."""
    n_tokens = matrix.shape[0]
    n_dom = max(ep // domain, 1)
    src_rank = np.arange(n_tokens) % ep
    src_dom = src_rank // domain
    dom_of_expert = placement // domain
    hits = np.zeros((n_tokens, n_dom))
    np.add.at(hits, (np.repeat(np.arange(n_tokens), matrix.shape[1]), np.tile(dom_of_expert, n_tokens)), matrix.ravel())
    hit = hits > 0
    remote = hit & (np.arange(n_dom)[None, :] != src_dom[:, None])
    share = remote.sum() / max(matrix.sum(), 1.0)
    rdma_per_rank = np.bincount(src_rank, weights=remote.sum(axis=1), minlength=ep)
    local_pairs = hits[np.arange(n_tokens), src_dom]
    nvl_per_rank = np.bincount(src_rank, weights=local_pairs, minlength=ep)
    recv = np.bincount(placement, weights=matrix.sum(axis=0), minlength=ep)  # expert-side receive load
    return float(share), float(rdma_per_rank.max()), float(max(nvl_per_rank.max(), recv.max() / max(domain, 1)))


def _time(system: SystemSpec, rdma_tokens: float, nvl_tokens: float, token_bytes: float) -> float:
    t_out = (collective_time(system, "p2p", rdma_tokens * token_bytes, 2, scope="inter_node").time_s
             if rdma_tokens else 0.0)
    t_up = collective_time(system, "p2p", nvl_tokens * token_bytes, 2, scope="intra_node").time_s if nvl_tokens else 0.0
    return float(max(t_out, t_up))


def compare_placements(system: SystemSpec, routing, ep: int, topk: int, hidden: int, dtype_bytes: float = 1.0,
                       domain: int | None = None, tokens: int = 4096, seed: int = 0) -> PlacementResult:
    """Leaving share and dispatch time of a naive vs a locality-aware placement on `system`."""
    domain = int(domain or min(system.scaleup_domain, ep))
    if ep < 1 or domain < 1 or ep % domain:
        raise InputError("ep", ep, f"must be a positive multiple of the domain size {domain}")
    matrix = routing_matrix(routing, topk, tokens, seed)
    experts = matrix.shape[1]
    if experts % ep:
        raise InputError("experts", experts, f"must be a multiple of ep={ep}")
    token_bytes = hidden * dtype_bytes
    naive = naive_placement(experts, ep)
    aware = locality_placement(matrix, ep, domain)
    out = []
    for placement in (naive, aware):
        share, rdma, nvl = leaving_traffic(matrix, placement, ep, domain)
        out.append((share, _time(system, rdma, nvl, token_bytes)))
    return PlacementResult(naive_leaving_share=out[0][0], aware_leaving_share=out[1][0], naive_time_s=out[0][1],
                           aware_time_s=out[1][1], naive_placement=tuple(int(x) for x in naive),
                           aware_placement=tuple(int(x) for x in aware))
