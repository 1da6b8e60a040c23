"""Charts of a decomposition (matplotlib Figures without pyplot, no display): waterfall, roofline, memory.

waterfall: log-scale bars of the cumulative B/A ratio after each step (each bar spans the
previous and the new cumulative value, so bar heights multiply). roofline: each op of the
decode and prefill steps of a stack at (arithmetic intensity = FLOPs / priced bytes, achieved
FLOP/s = FLOPs / time) under its own format's roof min(peak_format, AI x bandwidth) (Williams
et al. 2009; the points come from report/roofline.py), the slowest ops named. memory: weights /
KV cache / activations / free per device in GiB (as the CLI prints), one bar per stack name.
interactive.py draws the same data as plotly figures with hover.
Each function returns PNG bytes or an SVG string.
"""

from __future__ import annotations

import io
import math
from typing import TYPE_CHECKING

import matplotlib
import matplotlib.ticker
from matplotlib.figure import Figure  # no pyplot: no global backend or figure state (docs/notebook.md)

if TYPE_CHECKING:
    from hundredx.chip.spec import ChipSpec


def _out(fig, fmt: str, name: str = "chart"):
    """The figure's bytes (SVG as text), deterministic: no date, ids salted by the chart's name, not
    random (the same input gives the same report, byte for byte; docs/robustness.md)."""
    buf = io.BytesIO()
    metadata = {"Date": None} if fmt == "svg" else {"Software": None} if fmt == "png" else None
    with matplotlib.rc_context({"svg.hashsalt": f"hundredx-{name}"}):
        fig.savefig(buf, format=fmt, bbox_inches="tight", dpi=110, metadata=metadata)
    data = buf.getvalue()
    return data.decode("utf-8") if fmt == "svg" else data


def waterfall_chart(d: dict, fmt: str = "png"):
    """Waterfall of the decomposition dict (`Decomposition.to_dict()`)."""
    rows = [r for r in d.get("waterfall", []) if r.get("feasible") and not r.get("start")]
    fig = Figure(figsize=(max(6.0, 1.1 * len(rows) + 2), 4.2))
    ax = fig.subplots()
    prev = 1.0
    labels = []
    for i, r in enumerate(rows):
        cur = r["cumulative"]
        lo, hi = sorted((prev, cur))
        color = "#2a9d8f" if cur >= prev else "#e76f51"
        ax.bar(i, max(hi - lo, 1e-9 * hi), bottom=lo, color=color, edgecolor="black", linewidth=0.5)
        ax.text(i, hi * 1.03, f"x{r['factor']:.2f}", ha="center", va="bottom", fontsize=8)
        labels.append(r["label"].replace(" (= B)", "")[:44])
        prev = cur
    total = d.get("total") or prev
    ax.bar(len(rows), abs(total - 1.0), bottom=min(total, 1.0), color="#264653", edgecolor="black", linewidth=0.5)
    ax.text(len(rows), max(total, 1.0) * 1.03, f"x{total:.2f}", ha="center", va="bottom", fontsize=9, weight="bold")
    labels.append("total B/A")
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(matplotlib.ticker.LogLocator(base=10, subs=(1.0, 2.0, 3.0, 5.0)))
    ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}x"))
    ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.axhline(1.0, color="grey", linewidth=0.8)
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels(labels, rotation=35, ha="right", fontsize=7)
    ax.set_ylabel(f"cumulative B/A ({d.get('metric', '')})")
    ax.set_title("Where the gain comes from (waterfall)", fontsize=10)
    top = max([r["cumulative"] for r in rows] + [total, 1.0])
    bottom = min([r["cumulative"] for r in rows] + [total, 1.0])
    ax.set_ylim(bottom / 1.3, top * 1.5)
    return _out(fig, fmt, "waterfall")


COLORS = ["#e76f51", "#2a9d8f", "#264653", "#e9c46a"]
LABELLED_OPS = 4  # per stack and phase: the ops with the most time are named on the chart


def roofline_chart(stacks: list[tuple[str, ChipSpec, list[dict]]], fmt: str = "svg"):
    """stacks: [(name, ChipSpec, report.roofline.roofline_points(...))]: each op against its own
    format's roof (a line style per format), fused ops at their priced bytes, the slowest ops named."""
    return _out(roofline_figure(stacks), fmt, "roofline")


def roofline_figure(stacks: list[tuple[str, ChipSpec, list[dict]]]) -> Figure:
    """The roofline as a matplotlib Figure (`roofline_chart` renders it)."""
    from hundredx.report.roofline import roofs

    fig = Figure(figsize=(7.5, 4.8))
    ax = fig.subplots()
    styles = ["-", "--", ":", "-."]
    for i, (name, chip, points) in enumerate(stacks):
        color = COLORS[i % len(COLORS)]
        for j, (form, (xs, ys)) in enumerate(roofs(chip, [p["format"] for p in points]).items()):
            ax.plot(xs, ys, color=color, linewidth=1, linestyle=styles[j % len(styles)],
                    label=f"{name}: {chip.id} {form} roof")
        for phase, marker in (("decode", "o"), ("prefill", "^")):
            pts = [p for p in points if p["phase"] == phase]
            if not pts:
                continue
            ax.scatter([p["intensity"] for p in pts], [p["achieved_flops_per_s"] for p in pts], s=16, marker=marker,
                       color=color, alpha=0.75, label=f"{name} {phase} ops")
            for p in sorted(pts, key=lambda p: -p["total_time_s"])[:LABELLED_OPS]:
                ax.annotate(p["op"], (p["intensity"], p["achieved_flops_per_s"]), fontsize=6, color=color,
                            xytext=(3, 3), textcoords="offset points")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("arithmetic intensity (FLOP / byte, bytes as priced)")
    ax.set_ylabel("achieved FLOP/s")
    ax.set_title("Roofline: each op under its own format's roof", fontsize=10)
    ax.legend(fontsize=6, loc="lower right")
    return fig


GIB = 2.0 ** 30
MEMORY_PARTS = (("weights", "#264653"), ("kv_cache", "#2a9d8f"), ("activations", "#e9c46a"))


def memory_bars(items: list[tuple[str, dict]]) -> list[dict]:
    """[(stack name, MemoryUse.to_dict())] -> per stack the GiB per device of each part and free."""
    out = []
    for name, mem in items:
        parts = {key: mem.get(key, 0.0) / GIB for key, _ in MEMORY_PARTS}
        used = sum(parts.values())
        out.append({"name": name, **parts, "free": max(mem.get("usable", 0.0) / GIB - used, 0.0),
                    "capacity": mem.get("capacity", 0.0) / GIB})
    return out


def memory_chart(items: list[tuple[str, dict]], fmt: str = "svg"):
    """items: [(stack name, MemoryUse.to_dict())] -> stacked bars in GiB per device (as the CLI prints)."""
    return _out(memory_figure(items), fmt, "memory")


def memory_figure(items: list[tuple[str, dict]]) -> Figure:
    """The memory chart as a matplotlib Figure."""
    fig = Figure(figsize=(6.0, 3.8))
    ax = fig.subplots()
    bars = memory_bars(items)
    for i, bar in enumerate(bars):
        bottom = 0.0
        for key, color in MEMORY_PARTS:
            ax.bar(i, bar[key], bottom=bottom, color=color, label=key if i == 0 else None)
            bottom += bar[key]
        ax.bar(i, bar["free"], bottom=bottom, color="#dddddd", label="free (usable)" if i == 0 else None)
        ax.hlines(bar["capacity"], i - 0.4, i + 0.4, colors="black", linewidth=1)
    ax.set_xticks(range(len(bars)))
    ax.set_xticklabels([b["name"] for b in bars], fontsize=7, wrap=True)
    ax.set_ylabel("GiB per device")
    ax.set_title("Memory per device (line = capacity)", fontsize=10)
    ax.legend(fontsize=7)
    return fig


def fmt_factor(x) -> str:
    return "n/a" if x is None or (isinstance(x, float) and not math.isfinite(x)) else f"x{x:.2f}"
