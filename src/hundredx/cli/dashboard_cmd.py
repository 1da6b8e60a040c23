"""`hundredx dashboard`: the local web app (src/hundredx/dashboard), bound to 127.0.0.1 unless told otherwise.

`--json` prints one JSON object (url, host, port, browser, search) and sends the server's own log
to stderr, so stdout holds exactly that object."""

from __future__ import annotations

import typer

from hundredx.cli.common import print_json, user_errors


def register(app: typer.Typer) -> None:
    @app.command("dashboard")
    def dashboard_command(
        port: int = typer.Option(8501, help="TCP port to serve on (unit: port number, 1..65535)"),
        host: str = typer.Option("127.0.0.1", help="address to bind (0.0.0.0 exposes it to the network)"),
        no_browser: bool = typer.Option(False, "--no-browser", help="do not open a browser (headless server)"),
        search: str | None = typer.Option(None, help="a `hundredx search --out` directory to open on the "
                                                     "Search results page"),
        as_json: bool = typer.Option(False, "--json", help="print one JSON object (the URL) and log the server "
                                                           "to stderr"),
    ) -> None:
        """Open the dashboard: pick two stacks, see predict's breakdown and intervals, the decomposition
        waterfall and curve, the roofline, the mismatches and search results (needs the `dashboard` extra)."""
        from hundredx.dashboard.server import check_installed, launch, streamlit_argv

        with user_errors():
            streamlit_argv(port, host, not no_browser)
            check_installed()
            url = f"http://{host}:{port}"
            if as_json:
                print_json({"url": url, "host": host, "port": port, "browser": not no_browser, "search": search})
            else:
                typer.echo(f"hundredx dashboard on {url} (Ctrl-C stops it)", err=True)
            launch(port, host, not no_browser, search, log_to_stderr=as_json)
