"""The Pareto view of a search: output tokens/s per device against tokens/s per user.

`front(cols)` marks the rows no other row beats on both axes (serve/pareto.pareto_front), over
the rows that run and meet the SLA (`feasible`; without limits, every row that runs). Each row
belongs to a series, its parallelism layout: mode, tp, pp, ep, attention-DP and, for disagg,
the prefill pool's; points along a series differ in batch and worker counts. `plot(...)` draws
the series that reach the front (at most MAX_SERIES, the rest as "other configurations"), each
labelled with its layout and the stack ("agg tp=8 ep=8 attention-DP, DeepSeek-V3 on h200-sxm"),
and the front as a step line; matplotlib Agg, written atomically.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from hundredx.fileio import atomic_write
from hundredx.serve.pareto import pareto_front

X, Y = "tokens_per_s_per_user", "output_tokens_per_s_per_device"
MAX_SERIES = 8


def series_labels(cols: dict[str, np.ndarray]) -> np.ndarray:
    """Each row's layout label (module docstring)."""
    def layout(prefix: str, i: int) -> str:
        def g(k: str):
            return cols[prefix + k][i]

        text = f"tp={g('tp')}" + (f" pp={g('pp')}" if g("pp") > 1 else "")
        text += f" ep={g('ep')}" if g("ep") > 1 else ""
        return text + (" attention-DP" if g("attention_dp") else "")

    out = []
    for i in range(len(cols["mode"])):
        if cols["mode"][i] == "agg":
            out.append(f"agg {layout('', i)}")
        else:
            out.append(f"disagg P({layout('prefill_', i)}) D({layout('', i)})")
    return np.asarray(out, dtype=object)


def front(cols: dict[str, np.ndarray]) -> np.ndarray:
    """Indices of the front rows, by tokens/s per user ascending (module docstring)."""
    ok = np.flatnonzero(np.asarray(cols["feasible"], dtype=bool))
    pts = np.column_stack([np.asarray(cols[X], float)[ok], np.asarray(cols[Y], float)[ok]])
    return ok[pareto_front(pts)] if ok.size else ok


def plot(cols: dict[str, np.ndarray], path: str | Path, stack: str) -> Path:
    """Write the front plot (module docstring); `stack` is "MODEL on CHIP" for the legend."""
    from matplotlib.figure import Figure  # no pyplot: no global backend or figure state (docs/notebook.md)

    ok = np.flatnonzero(np.asarray(cols["feasible"], dtype=bool))
    on_front = front(cols)
    labels = series_labels({k: v for k, v in cols.items()})
    x, y = np.asarray(cols[X], float), np.asarray(cols[Y], float)
    counts: dict[str, int] = {}
    for i in on_front:
        counts[labels[i]] = counts.get(labels[i], 0) + 1
    shown = sorted(counts, key=lambda k: -counts[k])[:MAX_SERIES]
    fig = Figure(figsize=(8, 5))
    ax = fig.subplots()
    rest = ok[~np.isin(labels[ok], shown)]
    if rest.size:
        ax.scatter(x[rest], y[rest], s=6, color="0.8", label="other configurations")
    for name in shown:
        sel = ok[labels[ok] == name]
        ax.scatter(x[sel], y[sel], s=14, alpha=0.7, label=f"{name}, {stack}")
    ax.step(x[on_front], y[on_front], where="pre", color="black", lw=1.2, label="Pareto front")
    ax.set_xlabel("tokens/s per user (1 / TPOT)")
    ax.set_ylabel("output tokens/s per device")
    ax.set_title(f"Throughput vs interactivity: {stack}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    buf = io.BytesIO()
    path = Path(path)
    fig.savefig(buf, format=path.suffix.lstrip(".").lower() or "png", dpi=120, bbox_inches="tight")
    atomic_write(path, buf.getvalue(), "plot")
    return path


__all__ = ["front", "plot", "series_labels"]
