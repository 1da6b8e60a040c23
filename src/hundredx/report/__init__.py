"""Reports: charts (matplotlib Agg) and self-contained HTML pages of decompositions."""

from hundredx.report.html import render_html

__all__ = ["render_html"]
