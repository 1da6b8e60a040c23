"""`search(question, space, out, resume, executor)`: enumerate units, evaluate, store, rank.

The units (search/units.py) go to the executor (search/executors.py); each finished unit's rows
are stored as one chunk under `out` (search/store.py) or kept in memory when there is no `out`.
The answer is ranked over every row (search/rank.py): the best row per mode, the top rows,
the verdict, and for each row shown the `hundredx predict` command that reproduces it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from hundredx.search import store
from hundredx.search.executors import run_units
from hundredx.search.rank import best_by_mode, order, verdict
from hundredx.search.rows import command, plain
from hundredx.search.space import Question, Space, default_space, space_hash, spec_text
from hundredx.search.units import Unit, base_specs, units
from hundredx.views import View


@dataclass(repr=False)
class SearchResult(View):
    """The answer of one search (`to_dict` is the CLI's --json object)."""

    question: Question
    rows: int
    feasible: int
    best: dict[str, dict | None]
    top: list[dict]
    verdict: str
    out: str | None
    skipped: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"rows": self.rows, "feasible": self.feasible, "best": self.best, "top": self.top,
                "verdict": self.verdict, "out": self.out, "question": asdict(self.question),
                "skipped_variants": self.skipped, "seconds": self.seconds}

    def _title(self) -> str:
        q = self.question
        return f"{q.model} on {q.devices}x {q.chip}: {self.feasible:,} feasible of {self.rows:,}"

    def _summary(self) -> list[tuple[str, object]]:
        out: list[tuple[str, object]] = [("verdict", self.verdict), ("rows", self.rows), ("feasible", self.feasible)]
        for mode, row in self.best.items():
            if row is not None:
                out.append((f"best {mode} tok/s/device", row.get("output_tokens_per_s_per_device")))
                out.append((f"best {mode}", row.get("command")))
        return out + [("stored", self.out)]

    def _rows(self) -> list[dict]:
        return [dict(r) for r in self.top]


def _unit_dict(u: Unit) -> dict:
    return {"index": u.index, "model": [list(x) for x in u.model_changes], "chip": [list(x) for x in u.chip_changes],
            "weights": u.weights, "kv": u.kv, "attention_kernel": u.attention_kernel, "moe_routing": u.moe_routing,
            "speculative": spec_text(u.speculative)}


def stored(out: str | Path) -> tuple[Question, dict[int, Unit], dict[str, np.ndarray]]:
    """(question, units by index, every row) of the search stored under `out`."""
    from hundredx.search.space import parse_spec

    m = store.read_manifest(Path(out))
    q = dict(m["question"])
    q["modes"] = tuple(q["modes"])
    for key in ("ttft_limit_s", "tpot_limit_s", "request_latency_limit_s"):
        q[key] = math.inf if q[key] is None else float(q[key])
    question = Question(**q)
    by_index = {int(u["index"]): Unit(int(u["index"]), tuple(tuple(x) for x in u["model"]),
                                      tuple(tuple(x) for x in u["chip"]), u["weights"], u["kv"],
                                      u["attention_kernel"], u["moe_routing"], parse_spec(u["speculative"]))
                for u in m["units"]}
    return question, by_index, _rows_of(Path(out), [])


def shown(question: Question, cols: dict[str, np.ndarray], i: int, by_index: dict[int, Unit]) -> dict:
    """Row `i` as a JSON-able dict with the command that reproduces it."""
    return _shown(question, cols, i, by_index)


def _plain_question(question: Question) -> dict:
    """The question as strict JSON (no limit: null)."""
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in asdict(question).items()}


def manifest_for(question: Question, space: Space, unit_list: list[Unit], skipped: list[str]) -> dict:
    from hundredx import __version__

    return {"hundredx": __version__, "space_hash": space_hash(question, space), "seed": space.seed,
            "created": store.now(), "question": _plain_question(question), "units": [_unit_dict(u) for u in unit_list],
            "skipped_variants": skipped}


def _rows_of(out: Path | None, kept: list[dict]) -> dict[str, np.ndarray]:
    if out is not None:
        return store.read_columns(out)
    keys = list(kept[0]) if kept else []
    return {k: np.concatenate([c[k] for c in kept]) for k in keys}


def _shown(question: Question, cols: dict[str, np.ndarray], i: int, by_index: dict[int, Unit]) -> dict:
    row = plain({k: v[i] for k, v in cols.items()})
    row["command"] = command(row, question, by_index[int(row["unit"])])
    return row


def search(question: Question, space: Space | None = None, out: str | Path | None = None, resume: bool = False,
           executor: str = "local", workers: int = 1,
           progress: Callable[[int, int], None] | None = None) -> SearchResult:
    """Run (or finish, with `resume`) the search of `question` over `space` (module docstring)."""
    t0 = time.perf_counter()
    spec, system = base_specs(question)
    space = space if space is not None else default_space(spec, system, question.devices)
    unit_list, skipped = units(question, space)
    manifest = manifest_for(question, space, unit_list, skipped)
    path: Path | None = None
    done: set[int] = set()
    if out is not None:
        path, done, manifest = store.open_store(out, manifest, resume)
    todo = [u for u in unit_list if u.index not in done]
    kept: list[dict] = []
    finished = len(unit_list) - len(todo)
    if progress:
        progress(finished, len(unit_list))
    for index, cols in run_units(executor, question, space, todo, workers):
        if path is not None:
            store.write_chunk(path, index, cols)
        else:
            kept.append(cols)
        finished += 1
        if progress:
            progress(finished, len(unit_list))
    t1 = time.perf_counter()
    cols = _rows_of(path, sorted(kept, key=lambda c: int(c["unit"][0]) if c["unit"].size else 0))
    ranked = order(question, cols)
    by_index = {u.index: u for u in unit_list}
    best_i = best_by_mode(question, cols, ranked)
    best = {m: (None if i is None else _shown(question, cols, i, by_index)) for m, i in best_i.items()}
    top = [_shown(question, cols, int(i), by_index) for i in ranked[:question.top]]
    n = int(cols["tp"].size) if cols else 0
    if path is not None:
        store.write_manifest(path, {**manifest, "complete": True, "finished": store.now(), "rows": n})
    return SearchResult(question, n, int(ranked.size), best, top, verdict(question, best),
                        None if path is None else str(path), skipped,
                        {"search": round(t1 - t0, 4), "rank": round(time.perf_counter() - t1, 4)})


__all__ = ["SearchResult", "manifest_for", "search", "shown", "stored"]
