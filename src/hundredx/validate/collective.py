"""Predict `collective` validation cases (docs/cases.md) with `kernel.comm.comm_time` (chip/collectives.py's
alpha-beta model; MoE dispatch/combine: kernel/moe_dispatch.py).

A case names a chip; its standard system (chip.load_system) gives the topology. Metrics:
`bus_bandwidth_gbps` (nccl-tests busbw), `algo_bandwidth_gbps` (message bytes / time; for
DeepEP normal-mode cases whose `bandwidth_definition` says "bottleneck", the bytes on the
bottleneck link / time, as DeepEP reports), `time_s`. A p2p case with
`direction: bidirectional` reports the sum of both directions (full-duplex copies).
Cases that name an unknown chip, an op/metric outside the model, or lack required fields
raise `Unpredictable` with the reason.
"""

from __future__ import annotations

from hundredx.chip.catalog import load_system
from hundredx.chip.collectives import ALGORITHMS
from hundredx.errors import InputError
from hundredx.kernel import catalog
from hundredx.kernel.comm import comm_time
from hundredx.kernel.moe_dispatch import OPS as DISPATCH_OPS
from hundredx.validate.base import Unpredictable, cfg

METRICS = ("bus_bandwidth_gbps", "algo_bandwidth_gbps", "time_s")
MOE_KEYS = ("tokens", "hidden", "topk", "experts", "dtype", "mode", "topk_groups", "pure_rdma")


def _options(case: dict, op: str) -> dict:
    config = case.get("config", {})
    opts: dict = {}
    if config.get("nvls") is False:
        opts["nvls"] = False
    if config.get("nodes") is not None:
        opts["nodes"] = int(config["nodes"])
    if op == "p2p":
        transfer = config.get("transfer", "device_to_device")
        opts["transfer"] = transfer
    if op in DISPATCH_OPS:
        for key in ("tokens", "hidden", "topk"):
            cfg(case, key)
        opts.update({k: config[k] for k in MOE_KEYS if config.get(k) is not None})
    return opts


def _cost(case: dict):
    metric = case.get("metric")
    if metric not in METRICS:
        raise Unpredictable(f"metric {metric!r} not predicted for collectives (known: {', '.join(METRICS)})")
    op = cfg(case, "op")
    ranks = int(cfg(case, "n_ranks", case.get("n_devices", 1)))
    try:
        system = load_system(case.get("hardware", ""))
    except InputError as exc:
        raise Unpredictable(str(exc)) from None
    algorithm = cfg(case, "algorithm", "auto", required=False)
    library = cfg(case, "library", "nccl", required=False)
    if algorithm not in ALGORITHMS:
        raise Unpredictable(f"algorithm {algorithm!r} not modelled")
    if not catalog.is_known("collective", library, modelled=True):
        raise Unpredictable(f"library {library!r} not modelled")
    message = cfg(case, "message_bytes", 0, required=op not in DISPATCH_OPS)
    try:
        cost = comm_time(system, op, float(message), ranks, scope=cfg(case, "scope", "auto", required=False),
                         algorithm=algorithm, library=library, **_options(case, op))
    except InputError as exc:
        raise Unpredictable(str(exc)) from None
    return cost, metric


def predict_case(case: dict) -> float:
    """Predicted value of one collective case in its metric's unit."""
    cost, metric = _cost(case)
    config = case.get("config", {})
    if metric == "time_s":
        return float(cost.time_s)
    if metric == "bus_bandwidth_gbps":
        return float(cost.bus_bandwidth_bytes_per_s) / 1e9
    if "bottleneck" in str(config.get("bandwidth_definition", "")).lower():
        return float(cost.bus_bandwidth_bytes_per_s) / 1e9
    algbw = float(cost.algo_bandwidth_bytes_per_s) / 1e9
    if config.get("op") == "p2p" and config.get("direction") == "bidirectional":
        return 2.0 * algbw
    return algbw
