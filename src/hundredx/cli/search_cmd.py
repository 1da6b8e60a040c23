"""`hundredx search` (the co-design space, stored and resumable), `search query` (SQL over it) and
`hundredx pareto` (the throughput-interactivity front of a search, plotted)."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import typer

from hundredx.cli.common import (
    CHIP_HELP,
    SYSTEM_HELP,
    TABLE_SUFFIXES,
    check_table_path,
    chip_ref,
    print_json,
    print_table,
    user_errors,
    write_table,
)
from hundredx.errors import InputError

search_app = typer.Typer(add_completion=False, no_args_is_help=False, invoke_without_command=True,
                         help="Search deployments (and model / chip what-ifs) for the best configuration under SLAs.")


class _Bar:
    """A rich progress bar that appears only once a search has run for two seconds."""

    def __init__(self, quiet: bool):
        self.quiet, self.t0 = quiet, time.perf_counter()
        self.bar: Any = None
        self.task: Any = None

    def __call__(self, done: int, total: int) -> None:
        if self.quiet:
            return
        if self.bar is None and done < total and time.perf_counter() - self.t0 > 2.0:
            from rich.console import Console
            from rich.progress import Progress

            self.bar = Progress(transient=True, console=Console(stderr=True))
            self.bar.start()
            self.task = self.bar.add_task("searching units", total=total)
        if self.bar is not None:
            self.bar.update(self.task, completed=done)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def question_from(model, chip, devices, isl, osl, ttft_limit, tpot_limit, request_latency_limit, modes, target_rate,
                  top):
    from hundredx.search.space import Question

    for name, value in (("model", model), ("chip", chip), ("devices", devices)):
        if value is None:
            raise InputError(name, None, f"--{name} is required")
    mode_list = tuple(m.strip() for m in str(modes).split(",") if m.strip())
    return Question(model, chip, devices, isl, osl, ttft_limit or math.inf, tpot_limit or math.inf,
                    request_latency_limit or math.inf, mode_list, target_rate, top)


def _space(question, path: str | None):
    from hundredx.search.space import default_space, load_space
    from hundredx.search.units import base_specs

    spec, system = base_specs(question)
    base = default_space(spec, system, question.devices)
    return load_space(path, base) if path else base


def _describe(row: dict) -> str:
    def pool(prefix: str, workers) -> str:
        def g(k: str):
            return row[prefix + k]

        text = f"{int(workers)}x tp{g('tp')}" + (f" pp{g('pp')}" if g("pp") > 1 else "")
        text += (f" ep{g('ep')}" if g("ep") > 1 else "") + (" adp" if g("attention_dp") else "")
        return text + f" b{g('batch')}"

    if row["mode"] == "agg":
        return pool("", row["dp"])
    return f"P {pool('prefill_', row['prefill_workers'])} | D {pool('', row['dp'])}"


def _print(result) -> None:
    d = result.to_dict()
    rows = [[r["mode"], r["devices"], _describe(r), f"{r['ttft_s']:.3f}", f"{r['tpot_s'] * 1e3:.1f}",
             f"{r['output_tokens_per_s_per_device']:.1f}", f"{r['tokens_per_s_per_user']:.1f}",
             r["weights"] + "/" + r["kv"], r["speculative"]] for r in d["top"]]
    print_table(f"{d['question']['model']} on {d['question']['devices']}x {d['question']['chip']}: "
                f"{d['feasible']:,} feasible of {d['rows']:,} configurations",
                ["mode", "devices", "pools", "TTFT s", "TPOT ms", "tok/s/dev", "tok/s/user", "w/kv", "spec"], rows)
    typer.echo(f"verdict: {d['verdict']}")
    for mode, row in d["best"].items():
        if row is not None:
            typer.echo(f"best {mode}: {row['command']}")
    if d["out"]:
        typer.echo(f"stored under {d['out']} (hundredx search query {d['out']} \"SELECT ...\")")


@search_app.callback()
def search(ctx: typer.Context,
           model: str | None = typer.Option(None, help="zoo id, name, config.json path or folder"),
           chip: str | None = typer.Option(None, help=CHIP_HELP),
           system: str | None = typer.Option(None, help=SYSTEM_HELP),
           devices: int | None = typer.Option(None, help="devices of the deployment (with --target-rate: at most) "
                                                         "(unit: devices)"),
           isl: int = typer.Option(1024, help="input tokens per request (unit: tokens)"),
           osl: int = typer.Option(128, help="output tokens per request (unit: tokens)"),
           ttft_limit: float | None = typer.Option(None, help="TTFT limit (unit: s)"),
           tpot_limit: float | None = typer.Option(None, help="TPOT limit (unit: s)"),
           request_latency_limit: float | None = typer.Option(None, help="request latency limit (TTFT + (osl-1) "
                                                                          "TPOT) (unit: s)"),
           modes: str = typer.Option("agg,disagg", help="agg, disagg or both (comma-separated)"),
           target_rate: float | None = typer.Option(None, help="request rate to serve: the fewest devices that do "
                                                               "(unit: requests/s)"),
           top: int = typer.Option(5, help="rows shown (unit: rows)"),
           space: str | None = typer.Option(None, help="SPACE.yaml: deployment, model and chip axes"),
           out: str | None = typer.Option(None, help="DIR: store every row there (Parquet chunks + manifest); "
                                          "FILE.csv, FILE.parquet or FILE.json: write the top rows (or the --json "
                                          "object) to that file instead"),
           resume: bool = typer.Option(False, "--resume", help="finish the search stored under --out"),
           executor: str = typer.Option("local", help="local, process (a process pool) or ray"),
           workers: int = typer.Option(1, help="processes or Ray CPUs (unit: workers)"),
           emit: tuple[str, str] | None = typer.Option(None, help="ENGINE DIR: launch files of the best row "
                                                                  "(vllm, sglang, trtllm, dynamo)"),
           as_json: bool = typer.Option(False, "--json", help="print one JSON object")) -> None:
    """Search the deployment space (and SPACE.yaml's model and chip axes) of MODEL on DEVICES x CHIP."""
    if ctx.invoked_subcommand is not None:
        return
    from hundredx.search.run import search as run_search

    bar = _Bar(quiet=as_json)
    with user_errors():
        chip = chip_ref(chip, system) if chip is not None or system is not None else None
        q = question_from(model, chip, devices, isl, osl, ttft_limit, tpot_limit, request_latency_limit, modes,
                          target_rate, top)
        table, out = (out, None) if out and Path(out).suffix.lower() in TABLE_SUFFIXES else (None, out)
        check_table_path(table)
        if resume and out is None:
            raise InputError("resume", True, "give the --out of the search to finish")
        try:
            result = run_search(q, _space(q, space), out, resume, executor, workers, progress=bar)
        finally:
            bar.close()
        emitted = _emit(emit, result, q) if emit else None
        data = result.to_dict()
        if emitted is not None:
            data["emitted"] = emitted
        if table:
            write_table(table, result, data)
    if as_json:
        print_json(data)
        return
    _print(result)
    if emitted:
        typer.echo(f"{emit[0] if emit else ''} launch files: {', '.join(emitted)}")


def _emit(emit: tuple[str, str], result, question) -> list[str]:
    from hundredx.search.emit import emit as write

    engine, folder = emit
    if not result.top:
        raise InputError("emit", engine, "no feasible configuration to emit")
    return [str(p) for p in write(engine, folder, {**result.top[0], "isl": question.isl}, str(question.model))]


@search_app.command("query")
def query(directory: str = typer.Argument(..., help="a search's --out directory"),
          sql: str = typer.Argument(..., help="SQL over the table `rows` (and `manifest`), DuckDB dialect"),
          as_json: bool = typer.Option(False, "--json", help="print one JSON object")) -> None:
    """Run SQL over a stored search, e.g. SELECT mode, max(output_tokens_per_s_per_device) FROM rows GROUP BY mode."""
    from hundredx.search.store import query as run_query

    with user_errors():
        names, rows = run_query(directory, sql)
    records = [dict(zip(names, r)) for r in rows]
    if as_json:
        print_json({"columns": names, "rows": records})
        return
    print_table(f"{len(rows)} rows", names, [[f"{v:.4g}" if isinstance(v, float) else v for v in r] for r in rows])


def register(app: typer.Typer) -> None:
    app.add_typer(search_app, name="search")
    from hundredx.cli.pareto_cmd import register as register_pareto

    register_pareto(app)


__all__: list[Any] = ["register"]
