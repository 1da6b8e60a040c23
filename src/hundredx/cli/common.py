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


def print_table(title: str, columns: list[str], rows: list[list[Any]], keep: tuple[str, ...] = ()) -> None:
    """A rich table whose cells wrap (overflow="fold") rather than cut at the terminal's width;
    the columns named in `keep` (ids) are never wrapped."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(title=Text(title))
    for column in columns:
        table.add_column(column, overflow="fold", no_wrap=column in keep,
                         min_width=max((len(str(r[columns.index(column)])) for r in rows), default=len(column))
                         if column in keep else None)
    for row in rows:
        table.add_row(*[Text(str(v)) for v in row])
    Console().print(table)


@contextmanager
def progress(label: str, quiet: bool = False, total: float | None = None) -> Iterator[Any]:
    """A transient rich progress bar on stderr for work that may take more than two seconds.

    Yields `update(done, total)`: a work loop that reports its steps gets a bar with a count; one
    that does not (total None, update never called) gets a pulsing bar with the elapsed time. With
    `quiet` (--json) nothing is drawn, so stdout holds the JSON object alone."""
    if quiet:
        yield lambda done, total=None: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), transient=True,
                  console=Console(stderr=True)) as bar:
        task = bar.add_task(label, total=total)
        yield lambda done, total=None: bar.update(task, completed=done, total=total)


CHIP_HELP = "chip id, system id, or a chip YAML file (docs/chips.md: sourced, or `user_provided: true`)"
SYSTEM_HELP = "system id, or a system YAML file (docs/chips.md); instead of --chip"


def chip_ref(chip: str | None, system: str | None) -> str:
    """The one chip-or-system reference of `--chip` / `--system` (ids or YAML files, chip/userfile.py)."""
    if (chip is None) == (system is None):
        raise InputError("chip", chip if system is None else f"{chip} and --system {system}",
                         "give exactly one of --chip (a chip or system id, or a chip file) or --system")
    return str(chip if chip is not None else system)


TABLE_SUFFIXES = (".csv", ".parquet", ".json")
OUT_HELP = ("also write the result to FILE.csv or FILE.parquet (its table: to_frame()) or FILE.json (the --json "
            "object), atomically")


def check_table_path(path: str | None, field: str = "out") -> None:
    """Refuse a bad `--out FILE` before any work is done."""
    if path is None:
        return
    from pathlib import Path

    from hundredx.fileio import check_target

    if Path(path).suffix.lower() not in TABLE_SUFFIXES:
        raise InputError(field, path, f"must end in {', '.join(TABLE_SUFFIXES)}")
    check_target(path, field)


def write_table(path: str, result: Any, data: dict | None = None, field: str = "out") -> None:
    """Write `result`'s table (CSV / Parquet: `result.to_frame()`) or `data` (JSON, default
    `result.to_dict()`) to `path` atomically (fileio.atomic_write), and say so on stderr."""
    from pathlib import Path

    from hundredx.fileio import atomic_write

    check_table_path(path, field)
    suffix = Path(path).suffix.lower()
    if suffix == ".json":
        payload: str | bytes = to_json(data if data is not None else result.to_dict()) + "\n"
    else:
        if result is None or not hasattr(result, "to_frame"):
            raise InputError(field, path, "this result has no table; write .json")
        frame = result.to_frame()
        if suffix == ".csv":
            payload = frame.to_csv(index=False)
        else:
            import io

            buf = io.BytesIO()
            frame.to_parquet(buf, index=False)
            payload = buf.getvalue()
    atomic_write(path, payload, field)
    typer.echo(f"wrote {path}", err=True)
