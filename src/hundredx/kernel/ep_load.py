"""Load of the busiest expert-parallel rank: the factor by which it exceeds the mean.

Under expert parallelism the E experts sit E/ep per rank and a step's grouped GEMMs and its
dispatch / combine end when the most loaded rank ends, so their per-rank work is the mean times
`max_rank_load_factor`. The statistical model (an ASSUMPTION stated in every prediction with ep > 1):

- routing is multinomial: the T = tokens x top_k token-slots of a step that reach one EP group
  land independently and uniformly on the experts, hence on the ranks with p = 1/ep each;
  a rank's load is Binomial(T, p) with mean T/ep and sd sqrt(T p (1 - p));
- the expected maximum of ep such loads is mean + sd * q, with z_ep the expected maximum of ep
  standard normals by Blom's approximation z_ep = Phi^-1((ep - 0.375) / (ep + 0.25)) (Blom,
  "Statistical Estimates and Transformed Beta-Variables", 1958) and q its Cornish-Fisher
  correction for the binomial's skewness g = (1 - 2p) / sd: q = z_ep + g (z_ep^2 - 1) / 6, so

      factor = 1 + q * sqrt((ep - 1) / T)     (-> 1 as T / ep grows; capped at ep)

  (within 1.5 % of a Monte-Carlo multinomial for T >= 256 slots, 4 % at T = 32;
  tests/test_ep_load.py).

- a router's systematic skew (`routing_skew` s: hot experts) adds s * sqrt(log ep) (a Gumbel-like
  max of skewed expert loads; the pre-existing term).

Placements (`--expert-placement`, stack field `expert_placement`):
- `uniform-random` (default): static contiguous placement, what vLLM / SGLang / TensorRT-LLM do
  without an EPLB config: the multinomial noise and the skew both bind.
- `balanced`: an ideal placement whose ranks receive exactly T/ep slots each step (noise 0); the
  skew term stays (it is the router's). This is the model before the placement option existed.
- `eplb`: DeepSeek's EPLB (github.com/deepseek-ai/EPLB; DeepSeek-V3 report arXiv:2412.19437 §3.4):
  redundant replicas of hot experts, placed from the observed expert loads, equalize the
  *expected* rank loads, which removes the skew term; the per-step multinomial noise remains
  (replicas are chosen without per-step load knowledge).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import ndtri

from hundredx.kernel.runtime import EXPERT_PLACEMENTS as PLACEMENTS  # the vocabulary's one home

DEFAULT_PLACEMENT = PLACEMENTS[0]


def expected_max_normal(n) -> np.ndarray:
    """Blom's approximation of the expected maximum of n iid standard normals (0 for n = 1)."""
    n = np.maximum(np.asarray(n, dtype=float), 1.0)
    return ndtri((n - 0.375) / (n + 0.25))


def max_rank_load_factor(slots, ep, placement: str = DEFAULT_PLACEMENT, skew: float = 0.0):
    """Busiest-rank load / mean rank load for `slots` token-slots (tokens x top_k) over `ep` ranks."""
    if np.ndim(slots) == 0 and np.ndim(ep) == 0:  # one configuration: plain floats (predict's hot path)
        return _scalar_factor(float(slots), float(ep), placement, skew)
    ep = np.maximum(np.asarray(ep, dtype=float), 1.0)
    noise = 0.0
    if placement != "balanced":
        slots = np.clip(np.asarray(slots, dtype=float), 1.0, 1e30)  # inf (no MoE op): noise 0
        p = 1.0 / ep
        sd = np.sqrt(slots * p * (1.0 - p))
        z = expected_max_normal(ep)
        skewness = np.divide(1.0 - 2.0 * p, sd, out=np.zeros(np.broadcast(p, sd).shape), where=sd > 0)
        q = z + skewness * (z * z - 1.0) / 6.0
        noise = q * np.sqrt((ep - 1.0) / slots)
    skewed = 0.0 if placement == "eplb" else skew * np.sqrt(np.log(ep))
    return np.minimum(1.0 + noise + skewed, ep)


def _scalar_factor(slots: float, ep: float, placement: str, skew: float) -> float:
    """max_rank_load_factor for one configuration (the same formula on floats)."""
    ep = max(ep, 1.0)
    noise = 0.0
    if placement != "balanced" and ep > 1.0:
        slots = min(max(slots, 1.0), 1e30)
        p = 1.0 / ep
        sd = math.sqrt(slots * p * (1.0 - p))
        z = float(ndtri((ep - 0.375) / (ep + 0.25)))
        q = z + ((1.0 - 2.0 * p) / sd if sd > 0 else 0.0) * (z * z - 1.0) / 6.0
        noise = q * math.sqrt((ep - 1.0) / slots)
    skewed = 0.0 if placement == "eplb" else skew * math.sqrt(math.log(ep))
    return min(1.0 + noise + skewed, ep)


def assumption(placement: str) -> str:
    """The line a prediction with expert parallelism lists in its fallbacks."""
    what = {"uniform-random": "static placement, multinomial routing noise (Blom max of ep binomials) and skew",
            "balanced": "ideal placement: every rank exactly tokens*top_k/ep (no routing noise), skew only",
            "eplb": "EPLB redundant experts remove the skew term; multinomial routing noise remains"}[placement]
    return (f"expert placement {placement}: busiest EP rank load = mean x max_rank_load_factor ({what}; "
            f"ASSUMPTION: statistical model of kernel/ep_load.py, no case fits it)")
