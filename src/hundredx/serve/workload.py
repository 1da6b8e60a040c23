"""The request table a `scenario.Workload` expands into for the simulator: who arrives when, with
how many tokens.

Arrivals: Poisson (exponential gaps), bursty gamma (gaps ~ Gamma(k=1/cv^2, theta=cv^2/rate),
mean 1/rate, coefficient of variation cv), on-off (Poisson at rate*(on+off)/on inside on
windows, silent in off windows; same mean rate), offline (all at t=0), closed loop
(`concurrency` clients, each sending its next request when the previous one finishes,
as benchmark clients do; arrival times are then made by the engine), and trace replay
from CSV/Parquet (columns timestamp [s or datetime], input_length, output_length,
optional prefix_id, optional prefix_length). Shared prefixes: requests with the same
prefix_id begin with the same `prefix_tokens` tokens; without a prefix_length column a
group's prefix is its shortest prompt.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hundredx.errors import InputError
from hundredx.scenario.workload import Workload

MAX_TRACE_ROWS = 20_000_000
DEFAULT_REQUESTS = 1000  # synthetic requests when a workload sets no num_requests


@dataclass(frozen=True, slots=True)
class Requests:
    """The request table. arrival_s is NaN for closed-loop requests (the engine fills it in)."""

    arrival_s: np.ndarray
    input_len: np.ndarray
    output_len: np.ndarray
    prefix_id: np.ndarray
    prefix_tokens: np.ndarray
    concurrency: int = 0

    def __post_init__(self) -> None:
        n = len(self.input_len)
        for name in ("arrival_s", "output_len", "prefix_id", "prefix_tokens"):
            if len(getattr(self, name)) != n:
                raise InputError(name, len(getattr(self, name)), f"length differs from input_len ({n})")
        if n == 0:
            raise InputError("num_requests", 0, "workload has no requests")
        if np.any(self.input_len < 1) or np.any(self.output_len < 1):
            raise InputError("input_len", "<1", "every request needs >= 1 input and >= 1 output token")

    def __len__(self) -> int:
        return len(self.input_len)


def arrival_times(workload: Workload, n: int, rng: np.random.Generator) -> np.ndarray:
    """n sorted arrival times in seconds, starting at the first arrival (t=0 for offline/closed)."""
    w = workload
    if w.arrival in ("offline", "closed"):
        return np.zeros(n) if w.arrival == "offline" else np.full(n, np.nan)
    if w.arrival == "poisson":
        gaps = rng.exponential(1.0 / w.rate_per_s, size=n)
    elif w.arrival == "gamma":
        shape = 1.0 / w.cv**2
        gaps = rng.gamma(shape, 1.0 / (shape * w.rate_per_s), size=n)
    else:  # onoff: Poisson in "on time", then stretched by the off windows
        on_rate = w.rate_per_s * (w.on_s + w.off_s) / w.on_s
        t_on = np.cumsum(rng.exponential(1.0 / on_rate, size=n))
        return t_on + np.floor(t_on / w.on_s) * w.off_s
    times = np.cumsum(gaps)
    return times - times[0]


def make_requests(workload: Workload, rng: np.random.Generator) -> Requests:
    """Expand a workload spec into its request table (reads the trace for arrival='trace')."""
    if workload.arrival == "trace":
        req = load_trace(workload.trace_path)
        if workload.num_requests is not None and workload.num_requests < len(req):
            k = workload.num_requests
            req = Requests(req.arrival_s[:k], req.input_len[:k], req.output_len[:k], req.prefix_id[:k],
                           req.prefix_tokens[:k])
        return req
    n = workload.num_requests if workload.num_requests is not None else DEFAULT_REQUESTS
    inp = workload.input_dist.sample(n, rng)
    out = workload.output_dist.sample(n, rng)
    if workload.prefix_groups > 0 and workload.prefix_tokens > 0:
        pid = rng.integers(0, workload.prefix_groups, size=n)
        ptok = np.minimum(workload.prefix_tokens, inp)
    else:
        pid, ptok = np.full(n, -1, dtype=np.int64), np.zeros(n, dtype=np.int64)
    return Requests(arrival_times(workload, n, rng), inp, out, pid.astype(np.int64), ptok.astype(np.int64),
                    workload.concurrency if workload.arrival == "closed" else 0)


def _read_table(path: Path):
    import pandas as pd

    if not path.is_file():
        raise InputError("trace_path", str(path), "no such file")
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            return pd.read_csv(path, nrows=MAX_TRACE_ROWS + 1)
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(path)
    except Exception as exc:  # parser errors of every kind become one user-facing line
        raise InputError("trace_path", str(path), f"unreadable: {str(exc).splitlines()[0][:200]}") from None
    raise InputError("trace_path", str(path), "must end in .csv or .parquet")


def _column(frame, name: str, integer: bool, minimum: float) -> np.ndarray:
    import pandas as pd

    col = frame[name]
    if (name == "timestamp" and not pd.api.types.is_numeric_dtype(col)
            and pd.to_numeric(col, errors="coerce").isna().all()):
        parsed = pd.to_datetime(col, errors="coerce", utc=True, format="mixed")
        bad = parsed.isna().to_numpy()
        if bad.any():
            row = int(np.argmax(bad))
            raise InputError(f"trace.{name}[row {row}]", col.iloc[row], "not a number of seconds or a datetime")
        return (parsed - parsed.min()).dt.total_seconds().to_numpy(dtype=float)
    values = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(values) | (values < minimum)
    if integer:
        bad |= values != np.round(values)
    if bad.any():
        row = int(np.argmax(bad))
        want = f"an integer >= {minimum:g}" if integer else f"a finite number >= {minimum:g}"
        raise InputError(f"trace.{name}[row {row}]", col.iloc[row], f"must be {want}")
    return values


def load_trace(path: str | Path) -> Requests:
    """Read a request trace (CSV/Parquet); timestamps are shifted to start at 0 and sorted."""
    frame = _read_table(Path(path))
    if len(frame) == 0:
        raise InputError("trace_path", str(path), "has no rows")
    if len(frame) > MAX_TRACE_ROWS:
        raise InputError("trace_path", str(path), f"more than {MAX_TRACE_ROWS} rows")
    for name in ("timestamp", "input_length", "output_length"):
        if name not in frame.columns:
            raise InputError("trace.columns", list(frame.columns), f"missing required column {name!r}")
    ts = _column(frame, "timestamp", False, -math.inf)
    inp = _column(frame, "input_length", True, 1).astype(np.int64)
    out = _column(frame, "output_length", True, 1).astype(np.int64)
    if "prefix_id" in frame.columns:
        import pandas as pd

        codes, _ = pd.factorize(frame["prefix_id"], use_na_sentinel=True)
        pid = codes.astype(np.int64)
    else:
        pid = np.full(len(frame), -1, dtype=np.int64)
    if "prefix_length" in frame.columns:
        ptok = _column(frame, "prefix_length", True, 0).astype(np.int64)
    else:
        ptok = _group_min(pid, inp)
    ptok = np.where(pid >= 0, np.minimum(ptok, inp), 0)
    order = np.argsort(ts, kind="stable")
    ts = ts[order] - ts[order][0]
    return Requests(ts, inp[order], out[order], pid[order], ptok[order].astype(np.int64))


def _group_min(pid: np.ndarray, inp: np.ndarray) -> np.ndarray:
    """Per request: the shortest prompt in its prefix group (0 without a group)."""
    if not np.any(pid >= 0):
        return np.zeros(len(pid), dtype=np.int64)
    mins = np.full(pid.max() + 1, np.iinfo(np.int64).max)
    np.minimum.at(mins, pid[pid >= 0], inp[pid >= 0])
    return np.where(pid >= 0, mins[np.maximum(pid, 0)], 0)
