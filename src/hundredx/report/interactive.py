"""Interactive plotly versions of the report's charts: roofline (hover per op), memory, waterfall, and
the Pareto front of a search. The page embeds plotly.js inline (`include_plotlyjs=True`), so it
opens offline from disk; the same data as charts.py's static PNG/SVG (report/roofline.py points,
`memory_bars`, the decomposition's waterfall rows). Text from stack files reaches plotly as data,
and the page's own text is escaped.
"""

from __future__ import annotations

import html
from typing import Any

from hundredx.report.charts import COLORS, memory_bars
from hundredx.report.roofline import roofs

HOVER = ("%{customdata[0]} (%{customdata[1]}, %{customdata[2]}, %{customdata[3]})<br>AI %{x:.3g} FLOP/B<br>"
         "%{y:.3g} FLOP/s of %{customdata[4]:.3g} roof<br>%{customdata[5]:.3g} s per call<extra></extra>")


def roofline_figure(stacks: list[tuple[str, Any, list[dict]]]):
    """stacks: [(name, ChipSpec, roofline points)] -> a plotly Figure (log axes, hover per op)."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for i, (name, chip, points) in enumerate(stacks):
        color = COLORS[i % len(COLORS)]
        for j, (form, (xs, ys)) in enumerate(roofs(chip, [p["format"] for p in points]).items()):
            fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name=f"{name}: {chip.id} {form} roof",
                                     line={"color": color, "dash": ("solid", "dash", "dot", "dashdot")[j % 4]}))
        for phase, symbol in (("decode", "circle"), ("prefill", "triangle-up")):
            pts = [p for p in points if p["phase"] == phase]
            if pts:
                fig.add_trace(go.Scatter(
                    x=[p["intensity"] for p in pts], y=[p["achieved_flops_per_s"] for p in pts], mode="markers",
                    name=f"{name} {phase} ops", marker={"color": color, "symbol": symbol, "size": 8},
                    text=[p["op"] for p in pts], hovertemplate=HOVER,
                    customdata=[[p["op"], p["kind"], p["format"], "fused" if p["fused"] else "own kernel",
                                 p["roof_flops_per_s"], p["time_s"]] for p in pts]))
    fig.update_layout(title="Roofline: each op under its own format's roof (hover for the op)",
                      xaxis={"type": "log", "title": "arithmetic intensity (FLOP / byte, bytes as priced)"},
                      yaxis={"type": "log", "title": "achieved FLOP/s"}, template="plotly_white")
    return fig


def memory_figure(items: list[tuple[str, dict]]):
    """[(stack name, MemoryUse.to_dict())] -> stacked GiB bars per device."""
    import plotly.graph_objects as go

    bars = memory_bars(items)
    names = [b["name"] for b in bars]
    fig = go.Figure()
    for key, color in (("weights", "#264653"), ("kv_cache", "#2a9d8f"), ("activations", "#e9c46a"),
                       ("free", "#dddddd")):
        fig.add_trace(go.Bar(x=names, y=[b[key] for b in bars], name=key, marker_color=color,
                             hovertemplate="%{x}: %{y:.2f} GiB " + key + "<extra></extra>"))
    fig.update_layout(barmode="stack", title="Memory per device", yaxis_title="GiB per device",
                      template="plotly_white")
    return fig


def waterfall_figure(d: dict):
    """The decomposition's cumulative B/A after each step (log axis)."""
    import plotly.graph_objects as go

    rows = [r for r in d.get("waterfall", []) if r.get("feasible") and not r.get("start")]
    fig = go.Figure(go.Bar(x=[r["label"] for r in rows], y=[r["cumulative"] for r in rows],
                           text=[f"x{r['factor']:.2f}" for r in rows], textposition="outside",
                           hovertemplate="%{x}<br>cumulative x%{y:.3g}<extra></extra>"))
    fig.update_layout(title=f"Where the gain comes from ({d.get('metric', '')})", yaxis={"type": "log",
                      "title": "cumulative B/A"}, template="plotly_white")
    return fig


def page(title: str, figures: list) -> str:
    """One offline HTML page: plotly.js inline once, then every figure."""
    parts = [f.to_html(full_html=False, include_plotlyjs=(i == 0)) for i, f in enumerate(figures)]
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head>"
            f"<body><h1>{html.escape(title)}</h1>" + "\n".join(parts) + "</body></html>")


def pareto_figure(x, y, labels, front_idx, stack: str):
    """The search's points by series and the front (search/pareto.py's data), hover per point."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for name in dict.fromkeys(labels[front_idx].tolist()):
        sel = [i for i in range(len(labels)) if labels[i] == name]
        fig.add_trace(go.Scatter(x=x[sel], y=y[sel], mode="markers", name=f"{name}, {stack}", opacity=0.7))
    fig.add_trace(go.Scatter(x=x[front_idx], y=y[front_idx], mode="lines", line_shape="vh", name="Pareto front",
                             line={"color": "black"}))
    fig.update_layout(title=f"Throughput vs interactivity: {stack}", xaxis_title="tokens/s per user (1 / TPOT)",
                      yaxis_title="output tokens/s per device", template="plotly_white")
    return fig
