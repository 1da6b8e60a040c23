"""The dashboard's data, apart from its UI: stacks from a choice or a file, and the tables the pages show.

Nothing here imports streamlit, so every helper is unit-tested on its own (tests/test_dashboard.py).
A stack comes from one of three sources (`StackSource`): a catalog choice (`Choice`: zoo model,
chip or system, devices, tp, formats, batch or concurrency, isl/osl), a shipped example stack file
(hundredx/examples/*.yaml), or the text of an uploaded stack-file YAML. Each is built by the house's
one builder (`scenario.build`, or `stackfile.parse_stack`), so the dashboard refuses exactly what
the CLI refuses, with the same one-line `InputError`. Scenarios, predictions and decompositions are
memoised per source (functools.lru_cache: a rerun with the same widgets costs nothing).

The numbers are the library's own: `predict` (at a stack file's `batch: auto` point, the batch
`decompose.metrics.evaluate` finds), `decompose`, `decompose.curve.decompose_curve`, and the search
store (`search.store.read_columns`, `search.pareto.front`, DuckDB `search.store.query`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from hundredx.errors import InputError

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
FORMAT_CHOICES = ("default", "bf16", "fp16", "fp8", "fp8_block128", "int8", "int4", "mxfp4", "nvfp4")
METRIC_ROWS = (("TTFT", "ttft_s", "s"), ("TPOT", "tpot_s", "s"),
               ("output tokens/s", "output_tokens_per_s", "tok/s"),
               ("output tokens/s per device", "output_tokens_per_s_per_device", "tok/s"),
               ("tokens/s per user", "tokens_per_s_per_user", "tok/s"))
MAX_UPLOAD = 1_000_000
MAX_POINTS = 5000  # scatter points drawn from a search: every front row, the rest evenly thinned


@dataclass(frozen=True)
class Choice:
    """A stack picked from the zoo and the chip catalog (the fields of `hundredx predict`)."""

    model: str = "meta-llama/Llama-3.1-8B-Instruct"
    chip: str = "h100-sxm"
    devices: int = 1
    tp: int | None = None
    weights: str = "default"
    kv: str = "default"
    batch: int = 8
    concurrency: int = 0
    isl: int = 1024
    osl: int = 256

    def label(self) -> str:
        fmt = "" if self.weights == "default" else f" {self.weights}"
        return f"{self.model.split('/')[-1]}{fmt} on {self.devices}x {self.chip}"


@dataclass(frozen=True)
class StackSource:
    """Where a stack comes from: kind "catalog" (choice), "example" (name) or "upload" (name, text)."""

    kind: str
    choice: Choice | None = None
    name: str = ""
    text: str = ""


def catalog() -> dict[str, list[str]]:
    """The zoo's model ids, the catalog's chips and systems, the shipped example stack files."""
    from hundredx.chip.catalog import list_chips, list_systems
    from hundredx.model.zoo import list_models

    return {"models": list_models(), "chips": list_chips() + list_systems(), "examples": example_names()}


def example_names() -> list[str]:
    return sorted(p.name for p in EXAMPLES.glob("*.yaml"))


def _fmt(value: str) -> str | None:
    return None if value in ("", "default") else value


def _from_choice(c: Choice):
    from hundredx.scenario import Workload, build

    w = Workload(isl=c.isl, osl=c.osl, concurrency=c.concurrency) if c.concurrency else \
        Workload(isl=c.isl, osl=c.osl, batch=c.batch)
    return build(c.model, c.chip, devices=c.devices, tp=c.tp, weights=_fmt(c.weights), kv=_fmt(c.kv), workload=w,
                 name=c.label(), source="dashboard")


@lru_cache(maxsize=64)
def scenario(src: StackSource):
    """The runnable Scenario of a source (InputError naming the field when it cannot run)."""
    from hundredx.stackfile import load_stack, parse_stack

    if src.kind == "catalog" and src.choice is not None:
        return _from_choice(src.choice)
    if src.kind == "example":
        if src.name not in example_names():
            raise InputError("example", src.name, f"no such example; shipped: {', '.join(example_names())}")
        return load_stack(EXAMPLES / src.name)
    if src.kind == "upload":
        from hundredx import yamlio

        if not src.text.strip():
            raise InputError("stack", src.name or "<upload>", "is empty: upload or paste a stack file")
        if len(src.text) > MAX_UPLOAD:
            raise InputError("stack", src.name, f"file is {len(src.text)} bytes; limit {MAX_UPLOAD}")
        return parse_stack(yamlio.load(src.text, "stack"), src.name or "<upload>")
    raise InputError("source", src.kind, "expected catalog, example or upload")


def stack_name(src: StackSource) -> str:
    scn = scenario(src)
    return scn.name or f"{scn.model.id} on {scn.system.id}"


@lru_cache(maxsize=64)
def operating_point(src: StackSource):
    """(workload, prediction) at the source's operating point: its batch, or `batch: auto`'s largest batch
    meeting the stack file's limits (decompose.metrics.evaluate, as decompose prices it)."""
    import dataclasses

    from hundredx.predict import predict

    scn = scenario(src)
    if not scn.batch_auto:
        return scn.workload, predict(scn)
    from hundredx.decompose.metrics import evaluate

    ev = evaluate(scn)
    return dataclasses.replace(scn.workload, batch=int(ev.batch)), ev.prediction


def prediction(src: StackSource):
    """predict() at the source's operating point (`operating_point`)."""
    return operating_point(src)[1]


def metric_rows(pred) -> list[dict]:
    """Each headline metric with its 80% interval and speed-of-light bound (where one exists)."""
    rows = []
    for label, key, unit in METRIC_ROWS:
        lo, hi = pred.intervals.get(key, [math.nan, math.nan])
        bound = pred.lower_bound.get(key)
        rows.append({"metric": label, "value": getattr(pred, key), "unit": unit, "low (80%)": lo, "high (80%)": hi,
                     "lower bound": bound if bound is not None else math.nan})
    return rows


def memory_row(pred) -> dict:
    """Memory per device in GiB (as the CLI prints it)."""
    mem = pred.memory.to_dict()
    return {k: mem.get(k, 0.0) / 2**30 for k in ("weights", "kv_cache", "activations", "total", "usable")}


def breakdown_rows(pred, phase: str = "decode", top: int = 10) -> list[dict]:
    """The phase's slowest ops: time, 80% interval, share, bound, efficiency, price source."""
    ops = sorted((r for r in pred.breakdown if r["phase"] == phase), key=lambda r: -r["time_s"])[:max(top, 1)]
    none = [math.nan, math.nan]  # no interval where no case measures the chip's platform (kernel/intervals.py)
    return [{"op": r["op"], "kind": r["kind"], "time (us)": 1e6 * r["time_s"],
             "low (us)": 1e6 * (r["interval_s"] or none)[0], "high (us)": 1e6 * (r["interval_s"] or none)[1],
             "share (%)": 100 * r["share"], "bound": r["bound"], "efficiency": r["efficiency"],
             "source": r["source"]} for r in ops]


@lru_cache(maxsize=64)
def roofline(src: StackSource) -> list[dict]:
    """report/roofline.py's points at the operating point: each op at its priced bytes, under its own
    format's roof (the data of the roofline chart)."""
    from hundredx.report.roofline import roofline_points

    return roofline_points(scenario(src).stack, operating_point(src)[0])


def roofline_rows(points: list[dict], phase: str) -> list[dict]:
    """The chart's points of one phase as a table, slowest first."""
    pts = sorted((p for p in points if p["phase"] == phase), key=lambda p: -p["total_time_s"])
    return [{"op": p["op"], "kind": p["kind"], "format": p["format"], "fused": p["fused"],
             "intensity (FLOP/B)": p["intensity"], "achieved (TFLOP/s)": p["achieved_flops_per_s"] / 1e12,
             "roof (TFLOP/s)": p["roof_flops_per_s"] / 1e12,
             "of roof (%)": 100 * p["achieved_flops_per_s"] / p["roof_flops_per_s"] if p["roof_flops_per_s"] else
             math.nan} for p in pts]


@lru_cache(maxsize=32)
def decomposition(a: StackSource, b: StackSource, metric: str):
    from hundredx.decompose import decompose

    return decompose(scenario(a), scenario(b), metric=metric)


@lru_cache(maxsize=16)
def curve(a: StackSource, b: StackSource, rates: tuple[float, ...], metric: str) -> list[dict]:
    """decompose_curve's points as rows: interactivity, TPOT limit, total and per-layer Shapley factors."""
    from hundredx.decompose.curve import decompose_curve

    out = []
    for p in decompose_curve(scenario(a), scenario(b), rates, metric):
        shap = p.shapley or {}
        out.append({"tokens/s per user": p.tokens_per_s_per_user, "TPOT limit (ms)": 1e3 * p.tpot_limit_s,
                    "total": p.total, **{k: shap.get(k) for k in ("model", "kernel", "chip")},
                    "interaction": p.interaction,
                    "limited by A / B": f"{p.a.get('limited_by') or '-'} / {p.b.get('limited_by') or '-'}"})
    return out


def factor_rows(d: dict) -> list[dict]:
    shap = d["shapley"] or {}
    rows = [{"layer": k, "Shapley": shap.get(k), "one at a time": d["one_at_a_time"].get(k)}
            for k in ("model", "kernel", "chip")]
    return rows + [{"layer": "interaction", "Shapley": None, "one at a time": d["interaction"]},
                   {"layer": "total B/A", "Shapley": d["total"], "one at a time": None}]


def waterfall_rows(d: dict) -> list[dict]:
    return [{"step": r["label"], "factor": r.get("factor"), "cumulative": r.get("cumulative"),
             "batch": r.get("batch"), "note": r.get("reason") or "; ".join(r.get("adjustments", []))}
            for r in d["waterfall"]]


def mismatch_rows(d: dict) -> list[dict]:
    """Both stacks' mismatches with their cost in words (report.html.mismatch_cost, as the HTML report)."""
    from hundredx.report.html import mismatch_cost

    return [{"stack": k.upper(), "kind": m["kind"], "layers": m["layers"], "what": m["message"],
             "cost": mismatch_cost(m)} for k in ("a", "b") for m in d["mismatches"].get(k, [])]


def search_summary(out: str | Path) -> dict[str, Any]:
    """A `search --out` directory: its question, row counts, the Pareto front's rows, and the feasible points
    to draw (all of them up to MAX_POINTS; beyond, every front row and an even thinning of the rest)."""
    import numpy as np

    from hundredx.search.pareto import X, Y, front, series_labels
    from hundredx.search.store import read_columns, read_manifest

    path = Path(out).expanduser()
    manifest = read_manifest(path)
    cols = read_columns(path)
    idx = front(cols)
    on_front = set(idx.tolist())
    labels = series_labels(cols)
    keep = ("mode", "devices", "tp", "pp", "ep", "dp", "batch", "weights", "kv", "ttft_s", "tpot_s")
    rows = [{"layout": str(labels[i]), X: float(cols[X][i]), Y: float(cols[Y][i]),
             **{k: _plain(cols[k][i]) for k in keep if k in cols}} for i in idx]
    feasible = np.flatnonzero(np.asarray(cols["feasible"], dtype=bool))
    others = feasible[~np.isin(feasible, idx)]
    step = max(1, -(-others.size // MAX_POINTS))
    drawn = np.sort(np.concatenate([idx, others[::step]])).tolist()
    points = [{"layout": str(labels[i]), X: float(cols[X][i]), Y: float(cols[Y][i]),
               "point": "Pareto front" if i in on_front else "other"} for i in drawn]
    return {"question": manifest.get("question", {}), "complete": bool(manifest.get("complete")),
            "rows": len(cols["mode"]), "feasible": int(feasible.size),
            "front": rows, "points": points}


def _plain(x):
    return x.item() if hasattr(x, "item") else x


def search_query(out: str | Path, sql: str) -> list[dict]:
    """DuckDB SQL over the stored rows (table `rows`; search/store.py locks DuckDB to that table)."""
    from hundredx.search.store import query

    names, rows = query(Path(out).expanduser(), sql)
    return [dict(zip(names, r)) for r in rows]
