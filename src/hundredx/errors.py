"""User-facing input errors: one class the CLI turns into one line and exit code 2.

Raise `InputError(field, value, why)` for anything a user typed or a file they gave;
the message always names the field and the value (docs/design.md, rule 9). The value is shown as
its repr, cut to `MAX_VALUE_CHARS` and kept on one line, so a huge or hostile input never
makes a huge message.
"""

from __future__ import annotations

MAX_VALUE_CHARS = 120


def shorten(value: object, limit: int = MAX_VALUE_CHARS) -> str:
    """repr(value) on one line, at most `limit` characters."""
    item = getattr(value, "item", None)
    if callable(item) and type(value).__module__ == "numpy" and getattr(value, "ndim", 1) == 0:
        value = item()  # np.float64(nan) -> nan: the user's value, not numpy's spelling
    try:
        text = repr(value)
    except Exception:  # a hostile __repr__ must not replace the real error
        text = f"<{type(value).__name__}>"
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 5] + "[...]"


class InputError(ValueError):
    """Bad user input: names the offending field and value."""

    def __init__(self, field: str, value: object, why: str):
        self.field = field
        self.value = value
        self.why = why
        super().__init__(f"{field}={shorten(value)}: {' '.join(str(why).split())[:600]}")
