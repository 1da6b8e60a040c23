"""`hundredx stack schema|check|show`: the stack-file format and its validation, from the command line."""

from __future__ import annotations

import typer

from hundredx.cli.common import print_json, print_table, user_errors

stack_app = typer.Typer(no_args_is_help=True, help="Stack files: the JSON Schema, validation, the normalised form.")


@stack_app.command("schema")
def schema_command(as_json: bool = typer.Option(True, "--json", help="print one JSON object (always JSON)")) -> None:
    """Print the JSON Schema of a stack file (generated from the pydantic models)."""
    from hundredx.stackfile import schema

    print_json(schema())


@stack_app.command("check")
def check_command(files: list[str] = typer.Argument(..., help="stack files (YAML)"),
                  as_json: bool = typer.Option(False, "--json", help="print one JSON object")) -> None:
    """Validate stack files and build their scenarios; the first error is one line naming the field."""
    from hundredx.stackfile import load_stack

    rows = []
    with user_errors():
        for path in files:
            scn = load_stack(path)
            rows.append({"file": path, "name": scn.name, "model": scn.model.id, "system": scn.system.id,
                         "devices": scn.devices, "tp": scn.runtime.tp, "pp": scn.runtime.pp, "ep": scn.runtime.ep,
                         "dp": scn.runtime.dp})
    if as_json:
        print_json({"stacks": rows})
        return
    print_table("valid stack files", list(rows[0]), [list(r.values()) for r in rows])


@stack_app.command("show")
def show_command(file: str = typer.Argument(..., help="stack file (YAML)"),
                 as_json: bool = typer.Option(True, "--json", help="print one JSON object (always JSON)")) -> None:
    """Print the normalised stack file (every default written out) as JSON."""
    from hundredx.stackfile import load_stack, stack_file

    with user_errors():
        print_json(stack_file(load_stack(file)))


def register(app: typer.Typer) -> None:
    app.add_typer(stack_app, name="stack")
