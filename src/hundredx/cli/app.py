"""Top-level typer app: registers each command group's module; `--version`, shell completion
(`--install-completion`, `--show-completion`) come from typer."""

from __future__ import annotations

import typer

from hundredx.cli.boundary import OneLineGroup

app = typer.Typer(cls=OneLineGroup, add_completion=True, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="hundredx: how fast will this model run on that chip with these kernels, and why?")


def _register() -> None:
    import importlib

    for module in ("model_cmd", "chip_cmd", "predict_cmd", "op_cmd", "validate_cmd", "calibrate_cmd",
                   "serve_cmd", "decompose_cmd", "stack_cmd", "search_cmd", "dashboard_cmd"):
        try:
            mod = importlib.import_module(f"hundredx.cli.{module}")
        except ModuleNotFoundError as exc:
            if exc.name != f"hundredx.cli.{module}":
                raise
            continue
        mod.register(app)


def _show_version(value: bool) -> None:
    if value:
        from hundredx import __version__

        typer.echo(f"hundredx {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_show_version, is_eager=True,
                                       help="print the hundredx version and exit")) -> None:
    """hundredx: how fast will this model run on that chip with these kernels, and why?"""


@app.command("version")
def version(as_json: bool = typer.Option(False, "--json", help="print one JSON object")) -> None:
    """Print the hundredx version."""
    from hundredx import __version__

    if as_json:
        from hundredx.cli.common import print_json

        print_json({"version": __version__})
        return
    typer.echo(__version__)


_register()


def main() -> None:
    app()
