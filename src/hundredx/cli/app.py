"""Top-level typer app: registers each command group's module."""

from __future__ import annotations

import typer

from hundredx.cli.boundary import OneLineGroup

app = typer.Typer(cls=OneLineGroup, add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="hundredx: how fast will this model run on that chip with these kernels, and why?")


def _register() -> None:
    import importlib

    for module in ("model_cmd", "chip_cmd", "predict_cmd", "op_cmd", "validate_cmd", "calibrate_cmd",
                   "serve_cmd", "decompose_cmd", "stack_cmd", "search_cmd"):
        try:
            mod = importlib.import_module(f"hundredx.cli.{module}")
        except ModuleNotFoundError as exc:
            if exc.name != f"hundredx.cli.{module}":
                raise
            continue
        mod.register(app)


@app.command("version")
def version() -> None:
    """Print the hundredx version."""
    from hundredx import __version__

    typer.echo(__version__)


_register()


def main() -> None:
    app()
