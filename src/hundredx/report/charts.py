"""Charts of a decomposition (matplotlib, Agg backend, no display): waterfall, roofline, memory.

waterfall: log-scale bars of the cumulative B/A ratio after each step (each bar spans the
previous and the new cumulative value, so bar heights multiply). roofline: each op of the
decode and prefill steps of a stack at (arithmetic intensity = FLOPs / bytes, achieved
FLOP/s = FLOPs / time) under the chip's roof min(peak, AI x bandwidth) (Williams et al. 2009).
memory: weights / KV cache / activations / free per device for A and B.
Each function returns PNG bytes or an SVG string.
"""

from __future__ import annotations

import io
import math
from typing import TYPE_CHECKING

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

if TYPE_CHECKING:
    from hundredx.chip.spec import ChipSpec
    from hundredx.predict.single import Prediction


def _out(fig, fmt: str, name: str = "chart"):
    """The figure's bytes (SVG as text), deterministic: no date, ids salted by the chart's name, not
    random (the same input gives the same report, byte for byte; docs/robustness.md)."""
    buf = io.BytesIO()
    metadata = {"Date": None} if fmt == "svg" else {"Software": None} if fmt == "png" else None
    with matplotlib.rc_context({"svg.hashsalt": f"hundredx-{name}"}):
        fig.savefig(buf, format=fmt, bbox_inches="tight", dpi=110, metadata=metadata)
    plt.close(fig)
    data = buf.getvalue()
    return data.decode("utf-8") if fmt == "svg" else data


def waterfall_chart(d: dict, fmt: str = "png"):
    """Waterfall of the decomposition dict (`Decomposition.to_dict()`)."""
    rows = [r for r in d.get("waterfall", []) if r.get("feasible") and not r.get("start")]
    fig, ax = plt.subplots(figsize=(max(6.0, 1.1 * len(rows) + 2), 4.2))
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


def roofline_chart(stacks: list[tuple[str, ChipSpec, Prediction]], fmt: str = "svg"):
    """stacks: [(label, ChipSpec, Prediction)]; ops of both phases, one marker per phase."""
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    colors = ["#e76f51", "#2a9d8f", "#264653", "#e9c46a"]
    for i, (label, chip, pred) in enumerate(stacks):
        color = colors[i % len(colors)]
        peak, bw = max(chip.peak_flops_per_s.values()), chip.mem_bytes_per_s
        xs = [10 ** (e / 10) for e in range(-10, 51)]
        ax.plot(xs, [min(peak, x * bw) for x in xs], color=color, linewidth=1, label=f"{chip.id} roof")
        for phase, marker in (("decode", "o"), ("prefill", "^")):
            pts = [(r["flops"] / r["bytes"], r["flops"] / r["time_s"]) for r in pred.breakdown
                   if r["phase"] == phase and r["bytes"] > 0 and r["time_s"] > 0 and r["flops"] > 0]
            if pts:
                intensity, achieved = zip(*pts)
                ax.scatter(intensity, achieved, s=14, marker=marker, color=color, alpha=0.7, label=f"{label} {phase}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("arithmetic intensity (FLOP/byte)")
    ax.set_ylabel("achieved FLOP/s")
    ax.set_title("Roofline: ops of each stack", fontsize=10)
    ax.legend(fontsize=6, loc="lower right")
    return _out(fig, fmt, "roofline")


def memory_chart(items: list[tuple[str, dict]], fmt: str = "svg"):
    """items: [(label, MemoryUse.to_dict())] -> stacked bars in GB per device."""
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    parts = (("weights", "#264653"), ("kv_cache", "#2a9d8f"), ("activations", "#e9c46a"))
    for i, (_label, mem) in enumerate(items):
        bottom = 0.0
        for key, color in parts:
            val = mem.get(key, 0.0) / 1e9
            ax.bar(i, val, bottom=bottom, color=color, label=key if i == 0 else None)
            bottom += val
        free = max(mem.get("usable", 0.0) / 1e9 - bottom, 0.0)
        ax.bar(i, free, bottom=bottom, color="#dddddd", label="free (usable)" if i == 0 else None)
        ax.hlines(mem.get("capacity", 0.0) / 1e9, i - 0.4, i + 0.4, colors="black", linewidth=1)
    ax.set_xticks(range(len(items)))
    ax.set_xticklabels([label[:30] for label, _ in items], fontsize=7)
    ax.set_ylabel("GB per device")
    ax.set_title("Memory per device (line = capacity)", fontsize=10)
    ax.legend(fontsize=7)
    return _out(fig, fmt, "memory")


def fmt_factor(x) -> str:
    return "n/a" if x is None or (isinstance(x, float) and not math.isfinite(x)) else f"x{x:.2f}"
