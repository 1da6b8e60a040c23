"""The stack files claims evaluate: shipped inside the package (`hundredx/examples/`), so `hundredx
claims` runs from a pip install, from any directory."""

from __future__ import annotations

from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def example(name: str):
    """The Scenario of a shipped stack file (`examples/<name>`, `examples/steps/<name>`, ...)."""
    from hundredx.stackfile import load_stack

    return load_stack(EXAMPLES / name)


def step_names(folder: str) -> list[Path]:
    """The step files of a shipped waterfall, in order (file names sort in step order)."""
    return sorted((EXAMPLES / folder).glob("*.yaml"))
