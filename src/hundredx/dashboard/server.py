"""Start the dashboard: `streamlit run app.py` bound to 127.0.0.1 (or the host given), headless on request.

`streamlit_argv` builds the command line (unit-tested: the default address is 127.0.0.1, never
Streamlit's own default, which listens on every interface); `launch` replaces this process with
it, so the process a user or a test starts is the server itself. Usage statistics are off; the
file watcher is off (the app is a library, not a script being edited). `--search DIR` reaches the
app as HUNDREDX_DASHBOARD_SEARCH.
"""

from __future__ import annotations

import importlib.util
import os
import sys

from hundredx.dashboard import APP
from hundredx.errors import InputError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8501
SEARCH_ENV = "HUNDREDX_DASHBOARD_SEARCH"


def streamlit_argv(port: int = DEFAULT_PORT, host: str = DEFAULT_HOST, browser: bool = True) -> list[str]:
    """The `python -m streamlit run ...` command line of the dashboard."""
    if not isinstance(port, int) or not 1 <= port <= 65535:
        raise InputError("port", port, "expected a TCP port in 1..65535")
    if not host or any(c.isspace() for c in host):
        raise InputError("host", host, "expected an address to bind, e.g. 127.0.0.1")
    return [sys.executable, "-m", "streamlit", "run", str(APP), "--server.port", str(port), "--server.address", host,
            "--server.headless", "false" if browser else "true", "--browser.gatherUsageStats", "false",
            "--server.fileWatcherType", "none", "--global.developmentMode", "false",
            "--client.toolbarMode", "minimal"]


def check_installed() -> None:
    if importlib.util.find_spec("streamlit") is None:
        raise InputError("dashboard", "streamlit", "is not installed: pip install 'hundredx[dashboard]'")


def launch(port: int = DEFAULT_PORT, host: str = DEFAULT_HOST, browser: bool = True, search: str | None = None,
           log_to_stderr: bool = False) -> None:
    """Run the dashboard in this process's place (os.execve); with `log_to_stderr` the server's stdout
    goes to stderr (`--json`: stdout holds one JSON object)."""
    argv = streamlit_argv(port, host, browser)
    check_installed()
    env = dict(os.environ)
    if search:
        env[SEARCH_ENV] = search
    sys.stdout.flush()
    if log_to_stderr:
        try:
            out, err = sys.stdout.fileno(), sys.stderr.fileno()
        except (AttributeError, OSError, ValueError):  # no real stdout (a test runner's): nothing to redirect
            pass
        else:
            os.dup2(err, out)
    os.execve(sys.executable, argv, env)
