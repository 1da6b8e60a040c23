"""Shared CLI plumbing: JSON output, rich tables, clean errors, atomic file writes."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer

from hundredx.errors import InputError


def _default(obj: Any) -> Any:
    import numpy as np

    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (np.floating, np.integer)):
        return obj.item()
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    if isinstance(obj, (set, tuple)):
        return list(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def _clean(obj: Any) -> Any:
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    return obj


def to_json(obj: Any) -> str:
    """One JSON object, NaN/inf written as null."""
    return json.dumps(_clean(json.loads(json.dumps(obj, default=_default))), indent=2)


def print_json(obj: Any) -> None:
    sys.stdout.write(to_json(obj) + "\n")


MAX_DIM = 1 << 31      # one tensor dimension (rows, columns, heads, sequence length)
MAX_BYTES = 1 << 50    # one op's traffic: 1 PiB
MAX_RANKS = 1 << 17    # ranks of one collective: above the largest published clusters


def bounded(field: str, value: Any, lo: float, hi: float) -> Any:
    """`value` when lo <= value <= hi and finite (None passes); InputError naming the field otherwise."""
    if value is None:
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or not lo <= value <= hi:
        show = lambda x: f"{x:g}" if isinstance(x, float) or abs(x) < 1e6 else f"2^{int(x).bit_length() - 1}"  # noqa: E731
        raise InputError(field, value, f"must be a number in [{show(lo)}, {show(hi)}]")
    return value


def fail(message: str) -> None:
    """Print one clean error line and exit 2."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=2)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn input errors into one line and exit code 2."""
    try:
        yield
    except InputError as exc:
        fail(str(exc))
    except (ValueError, KeyError, FileNotFoundError) as exc:
        fail(str(exc).strip("'\""))


def print_table(title: str, columns: list[str], rows: list[list[Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*[str(v) for v in row])
    Console().print(table)
