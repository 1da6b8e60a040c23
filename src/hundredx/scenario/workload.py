"""`Workload`: what the clients send and what a prediction is asked about — one type for
`predict`, the serving simulator, stack files and search.

Request lengths: `isl` / `osl` are the mean input / output tokens per request; the simulator
draws lengths from `input_len` / `output_len` (`LengthDist`: fixed, uniform [low, high],
lognormal with a given mean and sigma (mu = ln(mean) - sigma^2/2), or drawn from a list),
fixed at isl / osl unless given.
Load, in the glossary of docs/design.md:
  batch        sequences in flight on ONE model replica: the static step model of `predict`;
  concurrency  requests in flight over the WHOLE deployment: closed-loop benchmark clients,
               each sending its next request when its previous one finishes.
Arrivals for the simulator: "offline" (everything at t=0), "closed" (`concurrency` clients),
"poisson" (rate_per_s), "gamma" (gaps ~ Gamma(k=1/cv^2, theta=cv^2/rate): mean 1/rate,
coefficient of variation cv), "onoff" (Poisson at rate*(on+off)/on inside on windows, silent in
off windows), "trace" (replay of a CSV/Parquet file). `num_requests` None: 1000 synthetic
requests, or every row of a trace. Shared prefixes: requests of the same prefix group begin
with the same `prefix_tokens` tokens. Latency limits `ttft_limit_s`, `tpot_limit_s`:
inf means none. `warmup_requests`: the simulator's metrics leave out the first that many requests
(a benchmark's warm-up; for a closed loop, e.g. the `concurrency` requests of the initial burst).
Sizes are bounded (MAX_TOKENS, MAX_BATCH, MAX_REQUESTS).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from hundredx.errors import InputError

ARRIVALS = ("offline", "closed", "poisson", "gamma", "onoff", "trace")
LENGTH_KINDS = ("fixed", "uniform", "lognormal", "list")
MAX_TOKENS = 1 << 24  # 16.8M tokens per request: beyond any model's context
MAX_BATCH = 1 << 20
MAX_REQUESTS = 20_000_000


def _count(name: str, value, lo: int, hi: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not lo <= value <= hi:
        raise InputError(name, value, f"must be an integer in [{lo}, {hi}]")


def _number(name: str, value, lo: float, hi: float = math.inf, lo_open: bool = False) -> None:
    ok = isinstance(value, (int, float, np.number)) and not isinstance(value, bool) and not math.isnan(value)
    if ok:
        ok = (value > lo if lo_open else value >= lo) and value <= hi
    if not ok:
        raise InputError(name, value, f"must be a number in {'(' if lo_open else '['}{lo:g}, {hi:g}]")


@dataclass(frozen=True, slots=True)
class LengthDist:
    """Token-count distribution. fixed: `mean`; uniform: [low, high]; lognormal: mean, sigma; list: `values`."""

    kind: str = "fixed"
    mean: float = 1024.0
    low: int = 1
    high: int = 0
    sigma: float = 0.5
    values: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in LENGTH_KINDS:
            raise InputError("length.kind", self.kind, f"must be one of {', '.join(LENGTH_KINDS)}")
        if self.kind in ("fixed", "lognormal"):
            _number("length.mean", self.mean, 1.0, MAX_TOKENS)
        if self.kind == "uniform" and not 1 <= self.low <= self.high <= MAX_TOKENS:
            raise InputError("length.high", self.high, f"uniform needs 1 <= low ({self.low}) <= high <= {MAX_TOKENS}")
        if self.kind == "lognormal":
            _number("length.sigma", self.sigma, 0.0, 10.0)
        if self.kind == "list" and (not self.values or min(self.values) < 1 or max(self.values) > MAX_TOKENS):
            raise InputError("length.values", self.values[:5], f"need a non-empty list of lengths in [1, {MAX_TOKENS}]")

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """n integer lengths >= 1 (lognormal clipped to [low, high] when high > 0)."""
        if self.kind == "fixed":
            out = np.full(n, round(self.mean))
        elif self.kind == "uniform":
            out = rng.integers(self.low, self.high + 1, size=n)
        elif self.kind == "lognormal":
            mu = math.log(self.mean) - self.sigma**2 / 2
            out = np.rint(rng.lognormal(mu, self.sigma, size=n))
            out = np.clip(out, self.low, self.high if self.high > 0 else None)
        else:
            out = rng.choice(np.asarray(self.values), size=n, replace=True)
        return np.maximum(np.asarray(out, dtype=np.int64), 1)


@dataclass(frozen=True, slots=True)
class Workload:
    """Request lengths, the load (batch per replica or concurrency over the deployment, or an
    arrival process for the simulator) and the latency limits. See the module docstring."""

    isl: int = 1024
    osl: int = 128
    batch: int = 1
    concurrency: int = 0
    arrival: str = "offline"
    rate_per_s: float = 10.0
    cv: float = 2.0
    on_s: float = 1.0
    off_s: float = 1.0
    num_requests: int | None = None
    input_len: LengthDist | None = None
    output_len: LengthDist | None = None
    prefix_groups: int = 0
    prefix_tokens: int = 0
    trace_path: str = ""
    ttft_limit_s: float = math.inf
    tpot_limit_s: float = math.inf
    warmup_requests: int = 0

    def __post_init__(self) -> None:
        _count("isl", self.isl, 1, MAX_TOKENS)
        _count("osl", self.osl, 1, MAX_TOKENS)
        _count("batch", self.batch, 1, MAX_BATCH)
        _count("concurrency", self.concurrency, 0, MAX_BATCH)
        if self.arrival not in ARRIVALS:
            raise InputError("arrival", self.arrival, f"must be one of {', '.join(ARRIVALS)}")
        if self.num_requests is not None:
            _count("num_requests", self.num_requests, 1, MAX_REQUESTS)
        if self.arrival in ("poisson", "gamma", "onoff"):
            _number("rate_per_s", self.rate_per_s, 0.0, 1e9, lo_open=True)
        if self.arrival == "gamma":
            _number("cv", self.cv, 0.0, 1e3, lo_open=True)
        if self.arrival == "onoff":
            _number("on_s", self.on_s, 0.0, 1e9, lo_open=True)
            _number("off_s", self.off_s, 0.0, 1e9)
        if self.arrival == "closed" and self.concurrency < 1:
            raise InputError("concurrency", self.concurrency, "a closed loop needs >= 1 client")
        if self.arrival == "trace" and not self.trace_path:
            raise InputError("trace_path", self.trace_path, "trace replay needs a CSV or Parquet file")
        _count("prefix_groups", self.prefix_groups, 0, MAX_REQUESTS)
        _count("prefix_tokens", self.prefix_tokens, 0, MAX_TOKENS)
        _count("warmup_requests", self.warmup_requests, 0, MAX_REQUESTS)
        for name in ("ttft_limit_s", "tpot_limit_s"):
            _number(name, getattr(self, name), 0.0, math.inf, lo_open=True)

    @property
    def input_dist(self) -> LengthDist:
        """The simulator's input-length distribution: `input_len`, else fixed at isl."""
        return self.input_len if self.input_len is not None else LengthDist("fixed", float(self.isl))

    @property
    def output_dist(self) -> LengthDist:
        return self.output_len if self.output_len is not None else LengthDist("fixed", float(self.osl))

    @property
    def has_limits(self) -> bool:
        return math.isfinite(self.ttft_limit_s) or math.isfinite(self.tpot_limit_s)

    def meets(self, ttft_s: float, tpot_s: float, use_ttft: bool = True, use_tpot: bool = True) -> bool:
        """Whether a (TTFT, TPOT) pair meets the limits that are asked for."""
        return (not use_ttft or ttft_s <= self.ttft_limit_s) and (not use_tpot or tpot_s <= self.tpot_limit_s)
