"""`hundredx chip list|show`: the chip catalog, every field with its sources, and (from the kernel
catalog, kernel/catalog.py: chips describe hardware only) the kernels and libraries that run on it."""

from __future__ import annotations

import typer

from hundredx.cli.common import print_json, print_table, user_errors
from hundredx.units import fmt_si


def _sig(v: float) -> str:
    return f"{v:.0f}" if v >= 100 else f"{v:.3g}"


def _row(chip) -> list:
    """One chip in fixed units (those in the table title), so that the list fits 80 columns."""
    num = lambda v, scale: f"{v / scale:.0f}" if v else "-"  # noqa: E731
    return [chip.id + ("*" if chip.preliminary else ""), chip.vendor, *(num(chip.peak(f), 1e12) for f in
            ("bf16", "fp8", "fp4")), f"{chip.mem_bytes / 2**30:.0f}", _sig(chip.mem_bytes_per_s / 1e12),
            num(chip.scaleup_bytes_per_s, 1e9)]


def chip_list(as_json: bool = typer.Option(False, "--json", help="print one JSON object")) -> None:
    """List the chips in the catalog (dense peaks; bandwidths per direction)."""
    from hundredx.chip.catalog import chip_to_dict, list_chips, load_chip

    with user_errors():
        chips = [load_chip(cid) for cid in list_chips()]
    if as_json:
        print_json({"chips": [chip_to_dict(c) for c in chips]})
        return
    print_table("chips: dense peak TFLOP/s per format, memory GiB and TB/s, scale-up GB/s per direction "
                "(* preliminary; all fields: hundredx chip show ID)",
                ["id", "vendor", "bf16", "fp8", "fp4", "GiB", "TB/s", "scale-up"], [_row(c) for c in chips],
                keep=("id", "vendor", "bf16", "fp8", "fp4", "GiB", "TB/s", "scale-up"))


def chip_show(chip: str = typer.Argument(..., help="chip id (see `hundredx chip list`) or a chip YAML file"),
              as_json: bool = typer.Option(False, "--json", help="print one JSON object")) -> None:
    """Every field of one chip, its standard system, and the sources."""
    from hundredx.chip.catalog import chip_to_dict, load_chip, load_system

    with user_errors():
        spec = load_chip(chip)
        system = load_system(chip if str(chip).lower().endswith((".yaml", ".yml")) else spec.id)
    from hundredx.kernel.catalog import KINDS, kernels_on

    data = chip_to_dict(spec)
    data["standard_system"] = system.id
    data["kernel_catalog"] = {kind: kernels_on(spec, kind) for kind in KINDS}  # not a chip field: software
    if as_json:
        print_json(data)
        return
    rows = []
    for key, value in data.items():
        if key in ("sources", "peak_flops_per_s", "kernel_catalog"):
            continue
        rows.append([key, ", ".join(value) if isinstance(value, list) else value])
    for fmt, peak in spec.peak_flops_per_s.items():
        rows.append([f"peak_flops_per_s.{fmt}", fmt_si(peak, "FLOP/s")])
    for kind, names in data["kernel_catalog"].items():
        rows.append([f"kernels from the kernel catalog: {kind}", ", ".join(names) or "-"])
    print_table(f"{spec.name} ({spec.id})", ["field", "value"], rows)
    typer.echo("sources:")
    for source in spec.sources:
        typer.echo(f"  - {source}")


def register(app: typer.Typer) -> None:
    chip_app = typer.Typer(no_args_is_help=True, help="The chip catalog: list chips, show one with its sources.")
    chip_app.command("list")(chip_list)
    chip_app.command("show")(chip_show)
    app.add_typer(chip_app, name="chip")
