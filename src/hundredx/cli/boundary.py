"""The CLI's input boundary for every command: usage errors as one line, finite floats, exit 2.

Click/typer report a bad flag (`--tp abc`, an unknown option, a missing argument) as a boxed,
multi-line usage message; `OneLineGroup` (the root group of `hundredx`) turns each into the
project's one line `error: FIELD=VALUE: why` with exit code 2 (docs/robustness.md). It also
guards every command generically, including commands added later: a float option or argument
that is NaN or infinite (`--rate nan`, `--bytes inf`, `--sweep nan`), and a `--*-limit` that is
<= 0 (`--ttft-limit 0` used to mean "no limit"), is refused before the command runs, naming the
flag and the value. Range checks that depend on the command (ranks
against the system, lengths against the model's context) live where the value is used.
"""

from __future__ import annotations

import functools
import math
import sys
from collections.abc import Sequence
from typing import Any

import typer
from typer.core import TyperGroup

try:  # typer >= 0.24 vendors click as typer._click; older typer uses click itself
    from typer._click import exceptions as cx
    from typer._click.globals import get_current_context
except ImportError:  # pragma: no cover
    import click.exceptions as cx  # type: ignore[no-redef]
    from click import get_current_context  # type: ignore[no-redef]

from hundredx.errors import shorten


def _flag(param: Any) -> str:
    if param is None:
        return "argument"
    opts = [o for o in getattr(param, "opts", []) if o.startswith("-")]
    return max(opts, key=len) if opts else str(param.name)


def _given(args: Sequence[str], flag: str) -> str:
    """The text given for `flag` on the command line ('<missing>' when there is none)."""
    for i, arg in enumerate(args):
        if arg == flag and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith(flag + "="):
            return arg[len(flag) + 1:]
    return "<missing>"


def one_line(exc: Any, args: Sequence[str]) -> str:
    """`error: FIELD=VALUE: why` for a click usage error."""
    why = " ".join(exc.format_message().split())
    if isinstance(exc, cx.NoSuchOption):
        hint = f"; did you mean {', '.join(sorted(exc.possibilities))}?" if exc.possibilities else ""
        return f"error: option={shorten(exc.option_name)}: no such option{hint} (see --help)"
    if isinstance(exc, cx.MissingParameter):
        return f"error: {_flag(exc.param)}=<missing>: required (see --help)"
    if isinstance(exc, cx.BadParameter):
        flag = _flag(exc.param)
        value = _given(args, flag) if flag.startswith("-") else "<argument>"
        why = why.split(": ", 1)[-1] if why.startswith("Invalid value") else why
        return f"error: {flag}={shorten(value)}: {why}"
    return f"error: arguments={shorten(' '.join(args))}: {why} (see --help)"


def _given_by_user(name: str) -> bool:
    """Whether the parameter came from the command line or the environment (not its default)."""
    try:
        source = get_current_context().get_parameter_source(name)
    except Exception:  # noqa: BLE001 - no context (a direct call): check it
        return True
    return source is None or getattr(source, "name", "") in ("COMMANDLINE", "ENVIRONMENT", "PROMPT")


def _guard(command: Any) -> None:
    """Wrap the command's callback so a non-finite float parameter is refused (module docstring)."""
    callback = command.callback
    if callback is None or getattr(callback, "_hundredx_guarded", False):
        return
    params = {str(p.name): p for p in command.params}

    @functools.wraps(callback)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        for name, value in kwargs.items():
            if not _given_by_user(name):
                continue  # a default (say inf) is the command's own choice
            for v in value if isinstance(value, (list, tuple)) else [value]:
                why = ("must be a finite number" if isinstance(v, float) and not math.isfinite(v) else
                       "a limit must be > 0 (leave it out for none)" if name.endswith("_limit")
                       and isinstance(v, (int, float)) and not isinstance(v, bool) and v <= 0 else "")
                if why:
                    typer.echo(f"error: {_flag(params.get(name))}={v}: {why}", err=True)
                    raise typer.Exit(code=2)
        return callback(*args, **kwargs)

    guarded._hundredx_guarded = True  # type: ignore[attr-defined]
    command.callback = guarded


def guard_tree(command: Any) -> None:
    """`_guard` every command under `command`."""
    _guard(command)
    for sub in getattr(command, "commands", {}).values():
        guard_tree(sub)


def _show(exc: Any) -> None:
    """Typer's own rendering (the help text) of a bare command group."""
    try:
        from typer import rich_utils

        rich_utils.rich_format_error(exc)
    except Exception:  # noqa: BLE001 - no rich: click's plain form
        exc.show()


class OneLineGroup(TyperGroup):
    """Root group: every click usage error becomes one line and exit 2 (module docstring)."""

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,  # type: ignore[override]
             complete_var: str | None = None, standalone_mode: bool = True, **extra: Any) -> Any:
        guard_tree(self)
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        given = list(sys.argv[1:] if args is None else args)
        try:
            rv = super().main(given, prog_name, complete_var, standalone_mode=False, **extra)
        except cx.NoArgsIsHelpError as exc:
            _show(exc)
            sys.exit(exc.exit_code)
        except cx.ClickException as exc:
            typer.echo(one_line(exc, given), err=True)
            sys.exit(2 if isinstance(exc, cx.UsageError) else exc.exit_code)
        except typer.Abort:
            typer.echo("error: input=<interrupted>: aborted", err=True)
            sys.exit(1)
        sys.exit(rv if isinstance(rv, int) else 0)
