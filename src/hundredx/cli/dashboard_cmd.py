"""`hundredx dashboard`: the local web app (src/hundredx/dashboard), bound to 127.0.0.1 unless told otherwise."""

from __future__ import annotations

import typer

from hundredx.cli.common import user_errors


def register(app: typer.Typer) -> None:
    @app.command("dashboard")
    def dashboard_command(
        port: int = typer.Option(8501, help="TCP port to serve on"),
        host: str = typer.Option("127.0.0.1", help="address to bind (0.0.0.0 exposes it to the network)"),
        no_browser: bool = typer.Option(False, "--no-browser", help="do not open a browser (headless server)"),
        search: str | None = typer.Option(None, help="a `hundredx search --out` directory to open on the "
                                                     "Search results page"),
    ) -> None:
        """Open the dashboard: pick two stacks, see predict's breakdown and intervals, the decomposition
        waterfall and curve, the roofline, the mismatches and search results (needs the `dashboard` extra)."""
        from hundredx.dashboard.server import check_installed, launch, streamlit_argv

        with user_errors():
            streamlit_argv(port, host, not no_browser)
            check_installed()
            typer.echo(f"hundredx dashboard on http://{host}:{port} (Ctrl-C stops it)", err=True)
            launch(port, host, not no_browser, search)
