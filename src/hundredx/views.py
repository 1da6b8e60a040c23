"""Notebook views of every result type: a compact `__repr__`, `_repr_html_`, `to_frame()`, `to_dict()`.

A result class mixes in `View` and says two things: `_summary()`, the few (label, value) lines
worth reading first, and `_rows()`, the records of its main table (`to_frame()`: a prediction's
per-op breakdown, a simulation's requests, a decomposition's waterfall, a search's top rows, a
validation's cases, the claims). `__repr__` is the summary, at most MAX_LINES lines, so that a
notebook cell shows numbers instead of 14 KB of nested dicts; `_repr_html_` is the summary as an
HTML table and the first rows of the frame. pandas is imported on first use only; nothing here
touches matplotlib (docs/notebook.md).
"""

from __future__ import annotations

import html
import math
from typing import Any

MAX_LINES = 20
HTML_ROWS = 10


def fmt(value: Any) -> str:
    """A short text for one summary value."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, float):
        return "nan" if not math.isfinite(value) else f"{value:.4g}"
    if isinstance(value, (list, tuple)) and len(value) == 2 and all(isinstance(v, (int, float)) for v in value):
        return f"[{fmt(float(value[0]))}, {fmt(float(value[1]))}]"
    text = str(value)
    return text if len(text) <= 100 else text[:97] + "..."


class View:
    """Mixin: subclasses define `_title()`, `_summary()` and `_rows()` (module docstring)."""

    __slots__ = ()

    def _title(self) -> str:
        return type(self).__name__

    def _summary(self) -> list[tuple[str, Any]]:
        return []

    def _rows(self) -> list[dict]:
        return []

    def to_frame(self):
        """The result's main table as a pandas DataFrame (one row per record)."""
        import pandas as pd

        return pd.DataFrame(self._rows())

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__}: {self._title()}"]
        items = self._summary()
        room = MAX_LINES - 2
        for label, value in items[:room]:
            lines.append(f"  {label}: {fmt(value)}")
        if len(items) > room:
            lines.append(f"  ... {len(items) - room} more (to_dict(), to_frame())")
        else:
            lines.append("  (to_dict(), to_frame() for everything)")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        rows = "".join(f"<tr><th style='text-align:left'>{html.escape(str(k))}</th>"
                       f"<td style='text-align:left'>{html.escape(fmt(v))}</td></tr>" for k, v in self._summary())
        out = (f"<div><b>{html.escape(type(self).__name__)}</b>: {html.escape(self._title())}"
               f"<table>{rows}</table>")
        records = self._rows()
        if records:
            frame = self.to_frame().head(HTML_ROWS)
            more = f" (first {HTML_ROWS} of {len(records)}; to_frame() for all)" if len(records) > HTML_ROWS else ""
            out += f"<details><summary>table{more}</summary>{frame.to_html(index=False)}</details>"
        return out + "</div>"


def callable_package(module_name: str, function: Any) -> None:
    """Make the package `module_name` callable as `function`: `hundredx.predict(...)` then works
    whether the attribute holds the function or the package (the import system binds the package
    to `hundredx.predict` once any of its submodules is imported)."""
    import sys
    import types

    class _CallablePackage(types.ModuleType):
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            return function(*args, **kwargs)

    sys.modules[module_name].__class__ = _CallablePackage
