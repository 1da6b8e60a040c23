"""`hundredx pareto`: the throughput-interactivity front of a search (search/pareto.py), stored or run here."""

from __future__ import annotations

import typer

from hundredx.cli.common import print_json, print_table, progress, user_errors


def _plot_html(cols, idx, labels, path: str, stack: str) -> None:
    import numpy as np

    from hundredx.fileio import atomic_write
    from hundredx.report.interactive import page, pareto_figure
    from hundredx.search import pareto as view

    ok = np.flatnonzero(np.asarray(cols["feasible"], dtype=bool))
    x, y = np.asarray(cols[view.X], float)[ok], np.asarray(cols[view.Y], float)[ok]
    front = np.searchsorted(ok, idx)
    atomic_write(path, page(f"Pareto front: {stack}", [pareto_figure(x, y, labels[ok], front, stack)]), "plot")


def register(app: typer.Typer) -> None:
    @app.command("pareto")
    def pareto(directory: str | None = typer.Argument(None, help="a stored search (hundredx search --out DIR); "
                                                                 "without it, search with the options below"),
               model: str | None = typer.Option(None, help="zoo id, name, config.json path or folder"),
               chip: str | None = typer.Option(None, help="chip id or system id"),
               devices: int | None = typer.Option(None, help="devices of the deployment (unit: devices)"),
               isl: int = typer.Option(1024, help="input tokens per request (unit: tokens)"),
               osl: int = typer.Option(128, help="output tokens per request (unit: tokens)"),
               ttft_limit: float | None = typer.Option(None, help="TTFT limit (unit: s)"),
               tpot_limit: float | None = typer.Option(None, help="TPOT limit (unit: s)"),
               modes: str = typer.Option("agg,disagg", help="agg, disagg or both"),
               space: str | None = typer.Option(None, help="SPACE.yaml of the search"),
               plot: str | None = typer.Option(None, help="write the front to FILE.png (matplotlib) or FILE.html "
                                               "(interactive plotly, offline)"),
               as_json: bool = typer.Option(False, "--json", help="print one JSON object")) -> None:
        """Pareto front of output tokens/s per device vs tokens/s per user over a search's configurations."""
        from hundredx.cli.search_cmd import _space, question_from
        from hundredx.search import pareto as view
        from hundredx.search.run import search, shown, stored

        with user_errors():
            if directory is None:
                q = question_from(model, chip, devices, isl, osl, ttft_limit, tpot_limit, None, modes, None, 1)
                import tempfile

                with tempfile.TemporaryDirectory(prefix="hundredx-pareto-") as tmp:
                    with progress("searching configurations", quiet=as_json) as update:
                        search(q, _space(q, space), tmp, progress=update)
                    question, units, cols = stored(tmp)
            else:
                question, units, cols = stored(directory)
            idx = view.front(cols)
            labels = view.series_labels(cols)
            stack = f"{str(question.model).split('/')[-1]} on {question.chip}"
            if plot and plot.lower().endswith(".html"):
                _plot_html(cols, idx, labels, plot, stack)
            elif plot:
                view.plot(cols, plot, stack)
        points = [{**shown(question, cols, int(i), units), "series": f"{labels[i]}, {stack}"} for i in idx]
        if as_json:
            print_json({"model": question.model, "chip": question.chip, "devices": question.devices,
                        "rows": int(len(cols["mode"])), "front": points, "plot": plot})
            return
        print_table(f"Pareto front of {len(cols['mode']):,} configurations ({stack})",
                    ["series", "batch", "tok/s/user", "tok/s/dev", "TTFT s", "TPOT ms"],
                    [[p["series"].split(",")[0], p["batch"], f"{p['tokens_per_s_per_user']:.1f}",
                      f"{p['output_tokens_per_s_per_device']:.1f}", f"{p['ttft_s']:.3f}",
                      f"{p['tpot_s'] * 1e3:.1f}"] for p in points])
