"""Pareto fronts of serving configurations (the InferenceX / InferenceMAX chart).

Each configuration (batch or concurrency, parallelism, ...) is one point: x = tokens/s per
user (interactivity, 1 / TPOT), y = output tokens/s per device (throughput per dollar of
hardware). A point is on the front when no other point is at least as good on both axes
and better on one. `pareto_front` finds it in O(n log n): sort by x descending (ties: y
descending), keep the points whose y beats the running maximum of everything before.
`undominated` is the same rule over any number of columns (O(n^2), for small groups).
`sweep_pareto` evaluates a grid through a caller-supplied function (e.g. a simulation or
`predict`) and marks the front; `plot_pareto` draws it (matplotlib Agg, atomic write).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import numpy as np

from hundredx.errors import InputError
from hundredx.fileio import atomic_write

X_DEFAULT = "tokens_per_s_per_user"
Y_DEFAULT = "output_tokens_per_s_per_device"


def pareto_front(points) -> np.ndarray:
    """Indices of the non-dominated rows of an (n, 2) array, both columns maximized, sorted by x ascending.

    Rows with a NaN are never on the front; of exact duplicates only the first is kept.
    """
    pts = np.asarray(points, dtype=float)
    if pts.ndim != 2 or pts.shape[1] != 2:
        raise InputError("points", pts.shape, "need an (n, 2) array of (x, y)")
    idx = np.flatnonzero(np.isfinite(pts).all(axis=1))
    if idx.size == 0:
        return idx
    x, y = pts[idx, 0], pts[idx, 1]
    order = np.lexsort((idx, -y, -x))  # x desc, then y desc, then original order
    ys = y[order]
    best_before = np.concatenate(([-np.inf], np.maximum.accumulate(ys)[:-1]))
    keep = order[ys > best_before]
    return idx[keep][::-1]


def undominated(points) -> np.ndarray:
    """Ascending indices of the rows of an (n, d) array (every column maximized) no other row beats: >= everywhere
    and > somewhere; of exact duplicates the first; rows with a NaN never. O(n^2 d) memory: for small groups."""
    pts = np.asarray(points, dtype=float)
    ok = np.isfinite(pts).all(axis=1)
    p = pts[ok]
    ge = (p[:, None, :] >= p[None, :, :]).all(axis=2)  # [j, i]: row j is at least row i everywhere
    gt = (p[:, None, :] > p[None, :, :]).any(axis=2)
    earlier = np.tri(len(p), k=-1, dtype=bool).T  # [j, i]: j < i (of duplicates the first stays)
    beaten = (ge & (gt | earlier)).any(axis=0)
    return np.flatnonzero(ok)[~beaten]


def sweep_pareto(evaluate: Callable[[dict], dict], grid: list[dict], x: str = X_DEFAULT,
                 y: str = Y_DEFAULT):
    """Evaluate every grid point, return a DataFrame (grid columns + results + `pareto` flag)."""
    import pandas as pd

    if not grid:
        raise InputError("grid", grid, "needs at least one configuration")
    rows = []
    for i, params in enumerate(grid):
        if not isinstance(params, dict):
            raise InputError(f"grid[{i}]", params, "each grid point must be a dict of parameters")
        result = evaluate(dict(params))
        if not isinstance(result, dict) or x not in result or y not in result:
            raise InputError(f"grid[{i}]", params, f"evaluate() must return a dict with {x!r} and {y!r}")
        rows.append({**params, **{k: v for k, v in result.items() if np.isscalar(v) or v is None}})
    frame = pd.DataFrame(rows)
    frame["pareto"] = False
    front = pareto_front(frame[[x, y]].to_numpy(dtype=float))
    frame.loc[frame.index[front], "pareto"] = True
    return frame


def plot_pareto(frame, path: str | Path, x: str = X_DEFAULT, y: str = Y_DEFAULT, label: str | None = None,
                title: str = "Throughput vs interactivity") -> Path:
    """Scatter all points, draw the front as a step line; one series per value of `label` if given."""
    from matplotlib.figure import Figure  # no pyplot: no global backend or figure state (docs/notebook.md)

    for col in (x, y) + ((label,) if label else ()):
        if col not in frame.columns:
            raise InputError("column", col, f"not in the sweep table ({', '.join(map(str, frame.columns))})")
    path = Path(path)
    fig = Figure(figsize=(7, 4.5))
    ax = fig.subplots()
    groups = frame.groupby(label, sort=True) if label else [("all", frame)]
    for name, part in groups:
        pts = part[[x, y]].to_numpy(dtype=float)
        dots = ax.scatter(pts[:, 0], pts[:, 1], s=14, alpha=0.4)
        front = pts[pareto_front(pts)]
        ax.plot(front[:, 0], front[:, 1], "-o", ms=4, color=np.asarray(dots.get_facecolor())[0][:3],
                label=f"{label}={name}" if label else str(name))
    ax.set_xlabel(x.replace("_", " "))
    ax.set_ylabel(y.replace("_", " "))
    ax.set_title(title)
    ax.grid(alpha=0.3)
    if label:
        ax.legend(fontsize=8)
    buf = io.BytesIO()
    fmt = path.suffix.lstrip(".").lower() or "png"
    fig.savefig(buf, format=fmt, dpi=120, bbox_inches="tight")
    atomic_write(path, buf.getvalue())
    return path


