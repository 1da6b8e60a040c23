"""`hundredx validate FILE... [--kind K] [--calibration C] [--cv chip|source|k [--folds N]] [--json]`:
accuracy against measured cases, with the 80% intervals' coverage; `--cv` cross-validates (validate/cv.py)."""

from __future__ import annotations

import typer

from hundredx.cli.common import OUT_HELP, check_table_path, print_json, print_table, progress, user_errors, write_table


def register(app: typer.Typer) -> None:
    @app.command("validate")
    def validate(files: list[str] = typer.Argument(..., help="case files (JSON Lines, docs/cases.md)"),
                 kind: str | None = typer.Option(None, help="only this kind (gemm, attention, grouped_gemm, memory, "
                                                            "collective, e2e, serving, ...)"),
                 show_worst: int = typer.Option(5, help="worst cases listed per kind (unit: cases)"),
                 calibration: str = typer.Option("auto", help="sources predictions may use: auto (fitted, family, "
                                                 "analytic), profile (measured profiles only, each case left out of "
                                                 "its own lookup), fitted, family (nothing of the case's own chip), "
                                                 "analytic (defaults only)"),
                 cv: str | None = typer.Option(None, "--cv", help="cross-validate: chip (leave one chip out), source "
                                               "(leave one source out) or k (k-fold, --folds); refits the kernel "
                                               "parameters per fold (about a minute per scheme)"),
                 folds: int = typer.Option(5, help="folds of --cv k (unit: folds)"),
                 seed: int = typer.Option(0, help="seed of the --cv k fold assignment (unit: integer seed)"),
                 as_json: bool = typer.Option(False, "--json", help="print one JSON object"),
                 out: str | None = typer.Option(None, "--out", help=OUT_HELP + "; CSV/Parquet: one row per "
                                                "case")) -> None:
        """Predict every case in FILES and report median/p90 APE per kind, the share of measured values inside the
        80% intervals (coverage) and their mean relative width; unpredicted cases are listed.

        The per-kind summary prints last, after the unpredicted and the worst cases."""
        from hundredx.validate.runner import validate_files

        with user_errors():
            check_table_path(out)
            with progress("validating cases" + (f" (--cv {cv})" if cv else ""), quiet=as_json):
                report = validate_files(files, kind, calibration=calibration, cv=cv, folds=folds, seed=seed)
            if out:
                write_table(out, report)
        if as_json:
            print_json(report)
            return
        unpredicted = [c for c in report["cases"] if c["unpredicted_reason"]]
        if unpredicted:
            reasons: dict[str, list[str]] = {}
            for c in unpredicted:
                reasons.setdefault(f"{c['kind']}: {c['unpredicted_reason']}", []).append(c["id"])
            print_table("unpredicted cases", ["reason", "count", "ids"],
                        [[r, len(ids), ", ".join(ids[:3]) + (" ..." if len(ids) > 3 else "")]
                         for r, ids in reasons.items()])
        if show_worst > 0:
            worst = sorted((c for c in report["cases"] if c["ape"] is not None), key=lambda c: -c["ape"])
            by_kind: dict[str, list] = {}
            for c in worst:
                if len(by_kind.setdefault(c["kind"], [])) < show_worst:
                    by_kind[c["kind"]].append(c)
            rows = [[c["kind"], c["id"], f"{c['measured']:.4g}", f"{c['predicted']:.4g}", f"{100 * c['ape']:.0f}%"]
                    for cs in by_kind.values() for c in cs]
            print_table("worst cases", ["kind", "id", "measured", "predicted", "APE"], rows)
        rows = []
        for k, s in report["summary"].items():
            pct = lambda v: "-" if v is None else f"{100 * v:.1f}%"  # noqa: E731
            rows.append([k, s["cases"], s["predicted"], pct(s["median_ape"]), pct(s["p90_ape"]),
                         pct(s["within_10pct"]), pct(s["within_25pct"]), pct(s["coverage_80"]),
                         pct(s["mean_rel_width"])])
        how = f"cross-validated: {report['cv']['scheme']}, {len(report['cv']['folds'])} folds" if cv else "in-sample"
        print_table(f"accuracy per kind ({how}; calibration {calibration}; APE = |pred - measured| / measured)",
                    ["kind", "cases", "predicted", "median APE", "p90 APE", "<=10%", "<=25%", "in 80% interval",
                     "mean width"], rows)
        if cv:
            for note in report["cv"]["notes"]:
                typer.echo(f"note: {note}")

