"""User-facing input errors: one class the CLI turns into one line and exit code 2.

Raise `InputError(field, value, why)` for anything a user typed or a file they gave;
the message always names the field and the value (DESIGN.md rule 9).
"""

from __future__ import annotations


class InputError(ValueError):
    """Bad user input: names the offending field and value."""

    def __init__(self, field: str, value: object, why: str):
        self.field = field
        self.value = value
        self.why = why
        super().__init__(f"{field}={value!r}: {why}")
