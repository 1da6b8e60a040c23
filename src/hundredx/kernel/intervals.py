"""80% prediction intervals: the measured cross-validation error of the source a prediction used.

Every prediction comes from one **source class**: `profile` (a measured calibration profile,
interpolated), `fitted` (the chip's own fitted parameters), `family` (its architecture
family's, transferred by the datasheet: kernel/transfer.py) or `analytic` (the defaults);
serving, collective and layer cases have their own classes. `classify(descriptor, params)`
decides it for a kernel op or case: the chip's fitted file answers as `fitted` for what its
fitted domain covers (kernel/domain.py: kind and key — the GEMM's compute class, the attention
kernel — seen in its cases), else as `family` for what the family domain it was pooled with
covers; what neither covers keeps the class of the file its values came from, "out" of the
domain; only parameters loaded without any file are `analytic` (always "out"). The **place**
says whether the shape, format and settings lie inside the domain ("in"), are an
extrapolation of shape or setting ("out", a wider interval), or use what no domain the values
came from has seen — the compute class / attention kernel (its key parameter a default or a
cross-class transfer) or the GEMM library (its `gemm.lib.*` a default): "new", whose width is
the analytic cell of its kind. Leave-one-chip-out showed why "new" is its own place: the H100
torch GEMMs priced from a Hopper family fitted on cuBLASLt / DeepGEMM FP8 only are off by 14%
median, against 4% for H200 FP8 cuBLASLt GEMMs the family had seen, and their residuals are the
analytic model's case by case (calibrate/interval_fit.py).

The widths are residual quantiles, not assumptions: r = log(predicted time / measured time)
of held-out predictions (leave-one-chip-out, leave-one-source-out and k-fold refits of the
kernel parameters, validate/cv.py; the profile class from leave-one-case-out interpolation),
per class, group (the kernel kind; the serving metric) and place, stored in
`kernel/fitted/intervals.json` with provenance (written by scripts/fit_intervals.py,
calibrate/interval_fit.py builds the cells: split-conformal 10% / 90% order statistics, a
cell standing alone only with residuals from 3 measurement campaigns, thin cells borrowing from
wider ones, "out" never narrower than "in", "new" the analytic cell). A predicted time t then
has the interval [t e^-hi, t e^-lo]; a rate (TFLOP/s, GB/s, tokens/s) v has [v e^lo, v e^hi].
Lookups are dictionary reads (`time_factors`), so intervals cost predict nothing measurable.

**Withheld on unmeasured platforms.** The widths measure this model's error on the software
platforms (kernel/platforms.py: cuda, rocm, xla, ...) the public kernel and collective cases come
from; the table lists them (`provenance.platforms`). On a chip whose platform has no such case
(Trainium's Neuron, Ascend's CANN, the SRAM dataflow machines today) the model's mechanisms there
are unvalidated and nothing measures how far off they are, so no 80% interval is given:
`withheld(chip, table)` says why, predict / op / search carry no interval and list the reason.
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from pathlib import Path

from hundredx.arrays import ArrayLike
from hundredx.errors import InputError
from hundredx.kernel.domain import Descriptor, place
from hundredx.kernel.params import KernelParams

TABLE_FILE = Path(__file__).resolve().parent / "fitted" / "intervals.json"
TABLE_FORMAT = "hundredx-intervals/1"
KERNEL_CLASSES = ("profile", "fitted", "family", "analytic")
PLACES = ("in", "out", "new")
TIME_METRICS = frozenset({"time_s", "ttft_s", "time_per_output_token_s"})
SERVING_GROUPS = {"ttft_s": "ttft_s", "time_per_output_token_s": "time_per_output_token_s"}


def serving_group(metric: str) -> str:
    """The interval group of a serving metric: ttft_s, time_per_output_token_s or throughput."""
    return SERVING_GROUPS.get(metric, "throughput")


def time_residual(predicted: float, measured: float, metric: str) -> float:
    """log(predicted time / measured time) of a case in `metric` (a rate's ratio inverted)."""
    r = math.log(predicted / measured)
    return r if metric in TIME_METRICS else -r


def classify(desc: Descriptor | None, params: KernelParams, measured: bool = False) -> tuple[str, str]:
    """(source class, place) of a kernel op or case priced with `params` (module docstring)."""
    if measured:
        return "profile", "in"
    if desc is None or params.source == "analytic":
        return "analytic", "out"
    domains = params.domains
    own = "fitted" if params.source.startswith("fitted:") else "family"
    mine = place(desc, domains.get("fitted")) if own == "fitted" else None
    if mine in ("in", "out"):
        return "fitted", mine
    where = place(desc, domains.get("family"))
    if where in ("in", "out") or (where is not None and mine is None):
        return "family", where
    return own, "new"


@lru_cache(maxsize=8)
def _read(path: str, stamp: int) -> dict:
    try:
        doc = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError("intervals", path, f"cannot read the interval table: {exc}") from None
    if doc.get("format") != TABLE_FORMAT or not isinstance(doc.get("cells"), dict):
        raise InputError("intervals", path, f"not an interval table (format {TABLE_FORMAT})")
    return doc


def measured_platforms(chip_ids) -> list[str]:
    """The software platforms (kernel/platforms.py) of the chips in `chip_ids` (unknown chips skipped)."""
    from hundredx.chip.catalog import load_chip
    from hundredx.kernel.platforms import platform_of

    out = set()
    for chip_id in set(chip_ids):
        try:
            out.add(platform_of(load_chip(chip_id)).name)
        except InputError:
            continue
    return sorted(out)


def withheld(chip, table: dict) -> str:
    """Why a prediction on `chip` carries no 80% interval ('' when it does: module docstring). A table that
    does not list its platforms (an older or user-built one) withholds nothing."""
    from hundredx.kernel.platforms import platform_of

    platforms = table.get("provenance", {}).get("platforms")
    name = platform_of(chip).name
    if not platforms or name in platforms:
        return ""
    return (f"no 80% interval on {chip.id}: no public kernel or collective case on its {name} platform measures "
            f"this model's error there (measured platforms: {', '.join(platforms)}; kernel/intervals.py)")


def load_table(path: str | Path | None = None) -> dict:
    """The interval table (the shipped kernel/fitted/intervals.json unless `path` names another)."""
    p = Path(path) if path is not None else TABLE_FILE
    if not p.is_file():
        raise InputError("intervals", str(p), "no interval table: regenerate it with scripts/fit_intervals.py")
    return _read(str(p), p.stat().st_mtime_ns)


def time_factors(table: dict, cls: str, group: str, where: str) -> tuple[float, float]:
    """(lo, hi) residual quantiles for a class, group and place; a table without "new" cells answers with
    the "out" cell; the table's widest cell where it has neither."""
    cells = table["cells"].get(cls, {}).get(group, {})
    cell = cells.get(where) or (cells.get("out") if where == "new" else None)
    if cell is None:
        cell = table["fallback"]
    return float(cell["lo"]), float(cell["hi"])


def value_interval(value: ArrayLike, metric: str, factors: tuple[float, float]) -> list:
    """[lo, hi] of a predicted value in its metric's unit (module docstring); element-wise on arrays."""
    lo, hi = factors
    if metric in TIME_METRICS:
        return [value * math.exp(-hi), value * math.exp(-lo)]
    return [value * math.exp(lo), value * math.exp(hi)]
