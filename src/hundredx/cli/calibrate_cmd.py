"""`hundredx calibrate run | fit | show`: measure a device, fit the kernel models, inspect a profile."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from hundredx.cli.common import print_json, print_table, progress, user_errors

calibrate_app = typer.Typer(no_args_is_help=True,
                            help="GPU microbenchmarks -> calibration profiles -> fitted kernel models.")


def _progress_run(**kwargs) -> dict:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from hundredx.calibrate.bench import run_calibration

    columns = (TextColumn("[bold]calibrate"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TextColumn("{task.description}"))
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("starting", total=None)

        def on_progress(i: int, total: int, label: str) -> None:
            bar.update(task, completed=i, total=total, description=label)

        return run_calibration(on_progress=on_progress, **kwargs)


def _efficiencies(profile: dict) -> tuple[list[float | None], str]:
    from hundredx.kernel.measured import chip_for, measured_time_s, sol_time_s

    cases = [dict(c) for c in profile["cases"]]
    if not cases:
        return [], "none"
    chip, how = chip_for(profile["provenance"]["chip"], cases)
    out = []
    for c in cases:
        sol = sol_time_s(c["kind"], c["config"], chip)
        out.append(None if sol is None else sol / measured_time_s(c))
    return out, f"{how} {chip.id}"


def _summary_rows(profile: dict, effs: list[float | None]) -> list[list[str]]:
    rows = []
    for case, eff in zip(profile["cases"], effs):
        unit = "GB/s" if case["metric"] == "bandwidth_gbps" else "TFLOP/s" if case["metric"] == "tflops" else "s"
        rows.append([case["id"], f"{case['value']:.4g} {unit}", "-" if eff is None else f"{eff:.1%}"])
    return rows


def register(app: typer.Typer) -> None:
    app.add_typer(calibrate_app, name="calibrate")


@calibrate_app.command("run")
def run_cmd(
    device: str = typer.Option("cuda", "--device", help="cuda or cpu (cpu: small sizes, for testing the pipeline)"),
    chip: str | None = typer.Option(None, "--chip", help="catalog chip id; default: mapped from the device name"),
    out: Path | None = typer.Option(None, "--out", help="profile file (default $HUNDREDX_HOME/profiles/"
                                                            "profile-<chip>-<date>.json, where predictions find it)"),
    quick: bool = typer.Option(False, "--quick", help="a subset of each sweep, fewer repeats"),
    backend: str = typer.Option("auto", "--backend", help="auto, torch or numpy (cpu only)"),
    only: list[str] = typer.Option([], "--only", help="only these kinds: gemm, attention, grouped_gemm, memory"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object"),
) -> None:
    """Run the microbenchmark sweep on this machine and write a calibration profile."""
    with user_errors():
        from hundredx.calibrate.profile import default_name, write_profile
        from hundredx.errors import InputError
        from hundredx.kernel.loading import profiles_dir, refuse_package_path
        from hundredx.kernel.measured import KINDS

        if out is not None:
            refuse_package_path(out, "out")
        for kind in only:
            if kind not in KINDS:
                raise InputError("only", kind, f"must be one of {', '.join(KINDS)}")
        if device not in ("cuda", "cpu"):
            raise InputError("device", device, "must be cuda or cpu")
        from hundredx.calibrate.bench import make_backend
        from hundredx.calibrate.devices import resolve_chip

        bench_backend = make_backend(device, backend, quick)  # fails here, before the progress bar, if it cannot run
        resolve_chip(device, bench_backend.info()["device_name"], chip)
        profile = _progress_run(device=device, chip=chip, quick=quick, command=sys.argv, only=tuple(only),
                                backend=bench_backend)
        prov = profile["provenance"]
        path = write_profile(profile, out or profiles_dir() / default_name(prov["chip"], prov["date"]))
    summary = {"path": str(path), "chip": prov["chip"], "device_name": prov["device_name"],
               "n_cases": len(profile["cases"]), "n_skipped": len(profile["skipped"]), "skipped": profile["skipped"]}
    if as_json:
        print_json(summary)
        return
    typer.echo(f"wrote {path}: {summary['n_cases']} cases on {prov['device_name']} ({prov['chip']}), "
               f"{summary['n_skipped']} skipped")
    for s in profile["skipped"]:
        typer.echo(f"  skipped {s['kind']}: {s['reason']}")


@calibrate_app.command("fit")
def fit_cmd(
    profiles: list[Path] = typer.Argument(..., help="profile files"),
    out: Path | None = typer.Option(None, "--out", help="fitted file or directory (default: $HUNDREDX_HOME/fitted/, "
                                                            "read by predictions before the shipped files)"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object"),
) -> None:
    """Fit the kernel-efficiency models to the measured cases of one or more profiles."""
    with user_errors():
        from hundredx.calibrate.fit import fit_profiles

        with progress("fitting kernel models", quiet=as_json):
            result = fit_profiles(profiles, out)
    if as_json:
        print_json({"fitted": result})
        return
    for chip, info in result.items():
        typer.echo(f"{chip}: fitted on {info['n_cases']} cases -> {info['path']}")


@calibrate_app.command("show")
def show_cmd(
    profile: Path = typer.Argument(..., help="profile file"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object"),
) -> None:
    """Show a profile: provenance, measured cases, efficiency vs the chip's speed of light."""
    with user_errors():
        from hundredx.calibrate.profile import read_profile

        data = read_profile(profile)
        effs, sol_from = _efficiencies(data)
    if as_json:
        cases = [dict(c, efficiency=e) for c, e in zip(data["cases"], effs)]
        print_json({"path": str(profile), "provenance": data["provenance"], "sol_from": sol_from,
                    "n_cases": len(cases), "cases": cases, "skipped": data["skipped"]})
        return
    prov = data["provenance"]
    print_table(f"{profile.name}", ["field", "value"],
                [[k, v] for k, v in prov.items() if v is not None and not isinstance(v, dict)])
    print_table(f"{len(data['cases'])} measured cases (efficiency = SOL time / measured time; SOL from {sol_from})",
                ["id", "measured", "efficiency"], _summary_rows(data, effs))
    for s in data["skipped"]:
        typer.echo(f"skipped {s['kind']}: {s['reason']}")
