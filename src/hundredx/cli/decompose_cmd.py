"""`hundredx decompose`, `hundredx report`, `hundredx claims`: where a speed-up comes from."""

from __future__ import annotations

import typer

from hundredx.claims import VERDICTS
from hundredx.cli.common import print_json, print_table, progress, user_errors
from hundredx.errors import InputError
from hundredx.fileio import atomic_write_many


def _run(a: str, b: str, metric: str, waterfall: list[str] | None, replan: bool | str = True):
    from hundredx.decompose import decompose
    from hundredx.stackfile import load_stack, load_steps

    sa, sb = load_stack(a), load_stack(b)
    return sa, sb, decompose(sa, sb, metric=metric, steps=load_steps(waterfall), replan=replan)


def _write_report(path: str, d, sa, sb, png: str | None = None, interactive: str | None = None,
                  roofline_png: str | None = None, out: dict | None = None) -> list[str]:
    """The HTML report, and optionally the waterfall PNG, the roofline PNG and the interactive plotly
    page (report/interactive.py, plotly.js inline): written together, or none of them; `out` adds the curve."""
    from hundredx.report import render_html

    chips, scenarios = {"a": sa.chip, "b": sb.chip}, {"a": sa, "b": sb}
    files: dict[str, str | bytes] = {path: render_html(out or d.to_dict(), d.evaluations, chips, scenarios)}
    if png:
        from hundredx.report.charts import waterfall_chart

        files[png] = waterfall_chart(d.to_dict(), "png")
    if interactive or roofline_png:
        from hundredx.report.charts import roofline_chart
        from hundredx.report.roofline import stack_points

        evs = d.evaluations
        if not all(evs.get(k) for k in ("a", "b")):
            raise InputError("interactive", interactive or roofline_png, "A or B cannot run, so there is no roofline")
        names = {k: f"{k.upper()}: {d.to_dict()[k].get('name') or k.upper()}" for k in ("a", "b")}
        stacks = [(names[k], chips[k], stack_points(scenarios[k], evs[k])) for k in ("a", "b")]
        if roofline_png:
            files[roofline_png] = roofline_chart(stacks, "png")
        if interactive:
            from hundredx.report.interactive import memory_figure, page, roofline_figure, waterfall_figure

            memories = [(names[k], evs[k].prediction.memory.to_dict()) for k in ("a", "b")]
            files[interactive] = page(f"hundredx: {names['b']} vs {names['a']}",
                                      [roofline_figure(stacks), memory_figure(memories), waterfall_figure(d.to_dict())])
    atomic_write_many(files, "html")
    return list(files)


def fmt_band(band) -> str:
    """'x1.2-x3.4' for an interval of factors, '-' without one."""
    from hundredx.report.charts import fmt_factor

    return "-" if not band else f"{fmt_factor(band[0])}-{fmt_factor(band[1])}"


def _curve(sa, sb, sweep: list[float] | None, metric: str, replan: bool | str = True) -> dict:
    from hundredx.decompose.curve import DEFAULT_USER_RATES, decompose_curve, summary

    points = decompose_curve(sa, sb, sweep or DEFAULT_USER_RATES, metric, replan)
    return {"curve": [p.to_dict() for p in points], "curve_summary": summary(points)}


def _print(d) -> None:
    from hundredx.report.charts import fmt_factor

    x = d.to_dict()
    print_table(f"{x['metric']} ({x['unit']}); ratio B/A > 1 means B is better",
                ["", "stack", "value", "batch"],
                [[k.upper(), x[k]["name"], f"{x[k].get('value', float('nan')):.4g}" if x[k].get("value") else "-",
                  x[k].get("batch", "-")] for k in ("a", "b")])
    shap, oat, iv = x["shapley"] or {}, x["one_at_a_time"], x.get("intervals") or {}
    rows = [[p, fmt_factor(shap.get(p)), fmt_band((iv.get("shapley") or {}).get(p)), fmt_factor(oat.get(p)),
             fmt_band((iv.get("one_at_a_time") or {}).get(p))] for p in ("model", "kernel", "chip")]
    rows += [["interaction", "", "", fmt_factor(x["interaction"]), fmt_band(iv.get("interaction"))],
             ["total", fmt_factor(x["total"]), fmt_band(iv.get("total")), "", ""]]
    print_table("per-layer factors (80% intervals from the predictions' intervals)",
                ["layer", "Shapley", "80%", "one at a time", "80%"], rows)
    print_table("waterfall", ["step", "factor", "cumulative", "note"],
                [[r["label"], fmt_factor(r.get("factor")), fmt_factor(r.get("cumulative")),
                  r.get("reason") or "; ".join(r.get("adjustments", []))] for r in x["waterfall"]])
    from hundredx.report.html import mismatch_cost

    again = [[c["label"], c["replanned"]["change"], c["replanned"]["reason"]]
             for c in x["combinations"] if c.get("replanned")]
    if again:
        print_table("combinations re-planned by the search (the kernel layer as a strategy)",
                    ["combination", "old -> new", "why the literal degrees could not run"], again)
    mm = [[k.upper(), m["kind"], m["message"], mismatch_cost(m)]
          for k in ("a", "b") for m in x["mismatches"].get(k, [])]
    if mm:
        print_table("mismatches", ["stack", "kind", "what", "cost"], mm)
    for note in x["notes"]:
        typer.echo(f"note: {note}")


def _print_curve(points: list[dict]) -> None:
    from hundredx.report.charts import fmt_factor

    rows = []
    for p in points:
        iv = p.get("intervals") or {}
        rows.append([f"{p['tokens_per_s_per_user']:g}", f"{1e3 * p['tpot_limit_s']:.3g} ms",
                     f"{fmt_factor(p['total'])} ({fmt_band(iv.get('total'))})",
                     *[fmt_factor((p["shapley"] or {}).get(k)) for k in ("model", "kernel", "chip")],
                     fmt_factor(p["interaction"]),
                     f"{p['a'].get('limited_by') or '-'} / {p['b'].get('limited_by') or '-'}",
                     str(len(p.get("replanned") or [])) if p.get("replanned") else "-"])
    print_table("decomposition over interactivity (Shapley factors at each point; total with its 80% interval)",
                ["tok/s/user", "TPOT limit", "total (80%)", "model", "kernel", "chip", "interaction",
                 "limited by A / B", "re-planned"], rows)


def register(app: typer.Typer) -> None:
    @app.command("decompose")
    def decompose_command(
        a: str = typer.Argument(..., help="stack file A (the baseline)"),
        b: str = typer.Argument(..., help="stack file B"),
        metric: str = typer.Option("output_tokens_per_s_per_device", help="output_tokens_per_s_per_device, "
                                   "cost_per_million_tokens, energy_per_token_j, tpot_s, ttft_s"),
        waterfall: list[str] | None = typer.Option(None, "--waterfall", help="step file (repeatable, in order)"),
        as_json: bool = typer.Option(False, "--json", help="print one JSON object"),
        html_out: str | None = typer.Option(None, "--html", help="also write an HTML report here"),
        sweep: list[float] | None = typer.Option(None, "--sweep", help="interactivity point in tokens/s per user "
                                                 "(TPOT limit = 1/rate; repeatable): the factors at each point"),
        curve: bool = typer.Option(False, "--curve", help="sweep the default interactivity points (5-100 tokens/s "
                                   "per user)"),
        replan: bool = typer.Option(True, "--replan/--no-replan", help="re-plan a combination that cannot run with "
                                    "the search (the kernel layer as a strategy); --no-replan reports it as not run"),
        replan_all: bool = typer.Option(False, "--replan-all", help="re-plan every mixed combination with the "
                                        "search, not only those that cannot run (A and B run as written)"),
    ) -> None:
        """Decompose B/A into model, kernel and chip factors (Shapley), interaction, waterfall, mismatches;
        with --sweep/--curve, also as a curve over interactivity."""
        with user_errors(), progress("decomposing", quiet=as_json):
            mode: bool | str = "all" if replan_all else replan
            sa, sb, d = _run(a, b, metric, waterfall, mode)
            out = d.to_dict()
            if sweep or curve:
                out.update(_curve(sa, sb, sweep, metric, mode))
            if html_out:
                _write_report(html_out, d, sa, sb, out=out)
        if as_json:
            print_json(out)
            return
        _print(d)
        if "curve" in out:
            _print_curve(out["curve"])

    @app.command("report")
    def report_command(
        a: str = typer.Argument(..., help="stack file A (the baseline)"),
        b: str = typer.Argument(..., help="stack file B"),
        html_out: str = typer.Option(..., "--html", help="HTML file to write"),
        png: str | None = typer.Option(None, "--png", help="also write the waterfall chart as PNG"),
        roofline_png: str | None = typer.Option(None, "--roofline-png", help="also write the roofline chart as PNG"),
        interactive: str | None = typer.Option(None, "--interactive", help="also write FILE.html: the roofline "
                                               "(hover per op), memory and waterfall as plotly charts, offline"),
        metric: str = typer.Option("output_tokens_per_s_per_device", help="metric to decompose"),
        waterfall: list[str] | None = typer.Option(None, "--waterfall", help="step file (repeatable, in order)"),
        as_json: bool = typer.Option(False, "--json", help="print one JSON object: the files written and the "
                                     "decomposition"),
        sweep: list[float] | None = typer.Option(None, "--sweep", help="interactivity point in tokens/s per user "
                                                 "(repeatable): adds the curve section"),
        curve: bool = typer.Option(False, "--curve", help="add the curve over the default interactivity points"),
    ) -> None:
        """Write a self-contained HTML report (factors with intervals, waterfall, roofline, memory, mismatches,
        and with --sweep/--curve the factors over interactivity) for A vs B."""
        with user_errors(), progress("writing the report", quiet=as_json):
            sa, sb, d = _run(a, b, metric, waterfall)
            out = d.to_dict()
            if sweep or curve:
                out.update(_curve(sa, sb, sweep, metric))
            written = _write_report(html_out, d, sa, sb, png, interactive, roofline_png, out)
        if as_json:
            print_json({"html": html_out, "png": png, "roofline_png": roofline_png, "interactive": interactive,
                        "written": written, "decomposition": out})
            return
        typer.echo(f"wrote {', '.join(written)}")

    @app.command("claims")
    def claims_command(as_json: bool = typer.Option(False, "--json", help="print one JSON object")) -> None:
        """Check the quantitative claims of the three-layer co-design thesis with the tool's own models
        (each with its range, tolerance and the reason for its verdict)."""
        from hundredx.claims import check_claims

        with user_errors():
            results = _with_progress(check_claims, quiet=as_json)
        if as_json:
            print_json({"claims": [r.to_dict() for r in results],
                        "verdicts": {v: sum(r.verdict == v for r in results) for v in VERDICTS}})
            return
        print_table("co-design claims", ["id", "claimed", "tool (range)", "verdict"],
                    [[r.id, r.claimed_text, r.tool_text, r.verdict] for r in results])
        for r in results:
            typer.echo(f"{r.id}: {r.verdict}. {r.why}" + (f" [point: {r.point}]" if r.point else ""))


def _with_progress(check_claims, quiet: bool):
    if quiet:
        return check_claims()
    from rich.progress import Progress

    with Progress(transient=True) as bar:
        task = bar.add_task("checking claims", total=1)
        return check_claims(progress=lambda done, total: bar.update(task, completed=done, total=total))
