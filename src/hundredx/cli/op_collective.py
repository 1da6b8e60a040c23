"""`hundredx op collective`: the cost of one collective or MoE dispatch/combine on a chip's system
(kernel/comm.py: chip/collectives.py's alpha-beta physics, kernel/moe_dispatch.py for MoE)."""

from __future__ import annotations

from typing import Any

import typer

from hundredx.cli.common import (
    MAX_BYTES,
    MAX_RANKS,
    SYSTEM_HELP,
    bounded,
    chip_ref,
    print_json,
    print_table,
    user_errors,
)
from hundredx.errors import InputError
from hundredx.units import fmt_si, fmt_time, parse_size


def op_collective(
    chip: str | None = typer.Option(None, "--chip", help="chip id, system id or chip YAML file (a chip means its "
                                                         "standard system)"),
    system: str | None = typer.Option(None, "--system", help=SYSTEM_HELP),
    op: str = typer.Option("all_reduce", "--op", help="all_reduce, all_gather, reduce_scatter, all_to_all, p2p, "
                                                     "moe_dispatch, moe_combine"),
    nbytes: str = typer.Option("1M", "--bytes", help="message bytes per rank (nccl-tests size), e.g. 1M, 64MiB"),
    ranks: int = typer.Option(8, "--ranks", help="ranks taking part (unit: ranks)"),
    scope: str = typer.Option("auto", "--scope", help="auto, intra_node, inter_node"),
    algorithm: str = typer.Option("auto", "--algorithm", help="auto, ring, tree, nvls, collnet, direct, hierarchical"),
    library: str = typer.Option("nccl", "--library", help="a collective row of the kernel catalog: nccl, rccl, deepep, "
                                                          "nvshmem, trtllm, xla, neuron"),
    tokens: int | None = typer.Option(None, "--tokens", help="MoE: tokens per rank (unit: tokens)"),
    hidden: int | None = typer.Option(None, "--hidden", help="MoE: hidden size (unit: elements)"),
    topk: int | None = typer.Option(None, "--topk", help="MoE: experts per token (unit: experts)"),
    experts: int | None = typer.Option(None, "--experts", help="MoE: routed experts (unit: experts)"),
    dtype: str = typer.Option("bf16", "--dtype", help="MoE: fp8, bf16, ..."),
    mode: str = typer.Option("normal", "--mode", help="MoE: normal or low_latency"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object"),
) -> None:
    """Predict one collective's time and bandwidth (alpha-beta on the system's topology)."""
    from hundredx.chip import load_system
    from hundredx.kernel.comm import comm_time

    with user_errors():
        system_spec = load_system(chip_ref(chip, system))
        size = bounded("bytes", parse_size(nbytes, "bytes"), 1, MAX_BYTES)
        bounded("ranks", ranks, 1, system_spec.max_devices or MAX_RANKS)
        if scope == "intra_node" and ranks > system_spec.scaleup_domain:
            raise InputError("ranks", ranks, f"more than the {system_spec.scaleup_domain} devices of one "
                                             f"{system_spec.id} scale-up domain (--scope intra_node)")
        moe: dict[str, Any] = {}
        if op in ("moe_dispatch", "moe_combine"):
            moe = {"tokens": tokens, "hidden": hidden, "topk": topk, "experts": experts, "dtype": dtype, "mode": mode}
        cost = comm_time(system_spec, op, size, ranks, scope=scope, algorithm=algorithm, library=library, **moe)
    data = {"system": system_spec.id, "chip": system_spec.chip.id, "op": op, "message_bytes": size, "ranks": ranks,
            **cost.to_dict()}
    if as_json:
        print_json(data)
        return
    print_table(f"{op} on {system_spec.id} ({ranks} ranks)", ["field", "value"], [
        ["time", fmt_time(cost.time_s)], ["algorithm", cost.algorithm],
        ["algo bandwidth", fmt_si(cost.algo_bandwidth_bytes_per_s, "B/s")],
        ["bus bandwidth", fmt_si(cost.bus_bandwidth_bytes_per_s, "B/s")],
        ["link", cost.link], ["leaves scale-up domain", cost.leaves_domain]])


def register_collective(op_app: typer.Typer) -> None:
    """Add `collective` to the `op` sub-app."""
    op_app.command("collective")(op_collective)
