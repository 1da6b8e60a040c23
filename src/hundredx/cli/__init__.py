"""The `hundredx` command: one typer app, one sub-module per command group.

Every command takes `--json` and then prints exactly one JSON object. Bad input
(`InputError`, or a `ValueError` from a spec's invariant) prints one line naming the
field and value and exits 2, without a traceback (docs/design.md, rule 9). Heavy imports
happen inside commands so that `hundredx --help` stays under a second.
"""

from __future__ import annotations

from hundredx.cli.app import app, main

__all__ = ["app", "main"]
