"""The decomposition curve in the HTML report: factors over interactivity, with their 80% bands.

x = tokens/s per user (1 / TPOT limit, log scale), y = factor (log scale): the total B/A, the
three Shapley factors and the interaction at every point of `decompose --sweep/--curve`
(decompose/curve.py); each line's shaded band is its 80% interval (decompose/uncertainty.py).
A point whose Shapley factors could not be computed leaves a gap. The table beside it gives
the numbers, the intervals, what limited each side and the combinations re-planned there.
"""

from __future__ import annotations

import html
import math

from matplotlib.figure import Figure  # no pyplot (docs/notebook.md)

from hundredx.report.charts import _out, fmt_factor

SERIES = (("total", "total B/A", "#222"), ("model", "model", "#1f77b4"), ("kernel", "kernel", "#ff7f0e"),
          ("chip", "chip", "#2ca02c"), ("interaction", "interaction", "#9467bd"))


def _series(points: list[dict], key: str) -> tuple[list[float], list[float], list[float], list[float]]:
    xs: list[float] = []
    ys: list[float] = []
    lo: list[float] = []
    hi: list[float] = []
    for p in points:
        iv = p.get("intervals") or {}
        if key in ("total", "interaction"):
            y, band = p.get(key), iv.get(key)
        else:
            y, band = (p.get("shapley") or {}).get(key), (iv.get("shapley") or {}).get(key)
        xs.append(p["tokens_per_s_per_user"])
        ys.append(y if y and y > 0 else math.nan)
        lo.append(band[0] if band else math.nan)
        hi.append(band[1] if band else math.nan)
    return xs, ys, lo, hi


def curve_chart(points: list[dict], fmt: str = "svg"):
    """Factors over interactivity (module docstring); SVG string or PNG bytes."""
    fig = Figure(figsize=(7.5, 4.2))
    ax = fig.subplots()
    for key, label, color in SERIES:
        xs, ys, lo, hi = _series(points, key)
        ax.plot(xs, ys, marker="o", color=color, label=label, lw=2 if key == "total" else 1.4)
        ax.fill_between(xs, lo, hi, color=color, alpha=0.12, lw=0)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.axhline(1.0, color="#999", lw=0.8, ls=":")
    ax.set_xlabel("interactivity: tokens/s per user (1 / TPOT limit)")
    ax.set_ylabel("factor (B/A, > 1: B better)")
    ax.legend(fontsize=8, loc="best")
    ax.grid(True, which="both", alpha=0.25)
    return _out(fig, fmt)


def _band(b) -> str:
    return "-" if not b else f"{fmt_factor(b[0])}-{fmt_factor(b[1])}"


def curve_section(points: list[dict]) -> str:
    """The report's 'Over interactivity' section: chart and table."""
    head = ["tokens/s/user", "TPOT limit", "total", "80%", "model", "kernel", "chip", "interaction",
            "limited by A / B", "re-planned"]
    rows = []
    for p in points:
        shap, iv = p.get("shapley") or {}, p.get("intervals") or {}
        rows.append([f"{p['tokens_per_s_per_user']:g}", f"{1e3 * p['tpot_limit_s']:.3g} ms", fmt_factor(p.get("total")),
                     _band(iv.get("total")), *[f"{fmt_factor(shap.get(k))} ({_band((iv.get('shapley') or {}).get(k))})"
                                               for k in ("model", "kernel", "chip")],
                     fmt_factor(p.get("interaction")),
                     f"{p['a'].get('limited_by') or '-'} / {p['b'].get('limited_by') or '-'}",
                     "; ".join(p.get("replanned") or []) or "-"])
    cells = "".join("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in r) + "</tr>" for r in rows)
    table = "<table><tr>" + "".join(f"<th>{html.escape(c)}</th>" for c in head) + f"</tr>{cells}</table>"
    return f"<div class='chart'>{curve_chart(points, 'svg')}</div>{table}"


__all__ = ["curve_chart", "curve_section"]
