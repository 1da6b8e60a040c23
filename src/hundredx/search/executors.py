"""Executors: who evaluates a search's units. The same `evaluate_unit` runs everywhere.

`evaluate_unit(question, space, unit)` is a pure function of its arguments (numpy only, no
randomness): the unit's replica candidates priced once (search/evaluate.py), its aggregated and
disaggregated rows (search/disagg.py), the SLA and labels (search/rows.py), as columns. Ray and
the process pool pickle its arguments and its result, so every executor stores the same bytes.

  local    in this process, one unit after another (vectorized inside each unit)
  process  a process pool of `workers` (fork where the platform has it); for anything simulated
           (`search.verify`) and for spaces with many units
  ray      Ray tasks (`pip install "hundredx[ray]"`); ray.init() joins RAY_ADDRESS when set, else
           starts a local Ray with `workers` CPUs. Imported only when asked for.
Each executor yields (unit index, columns) as units finish; the caller stores them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from hundredx.errors import InputError
from hundredx.search.disagg import disagg_rows
from hundredx.search.evaluate import Tables, agg_rows, check_target_sizing
from hundredx.search.rows import axis_columns, default_column, finish
from hundredx.search.space import Question, Space
from hundredx.search.units import Unit

EXECUTORS = ("local", "process", "ray")


def evaluate_unit(question: Question, space: Space, unit: Unit) -> dict[str, np.ndarray]:
    """Every row of one unit (module docstring)."""
    tables = Tables(question, space, unit)
    check_target_sizing(question, tables)
    parts = []
    if "agg" in question.modes:
        parts.append(agg_rows(question, space, tables))
    if "disagg" in question.modes:
        rows = disagg_rows(question, space, tables)
        if rows is not None:
            parts.append(rows)
    keys = dict.fromkeys(k for p in parts for k in p)
    n = [int(p["tp"].size) for p in parts]
    cols = {k: np.concatenate([p[k] if k in p else default_column(k, m) for p, m in zip(parts, n)]) for k in keys}
    return finish(question, unit, tables.model, tables.system, cols, axis_columns(space.model, space.chip))


def _local(question: Question, space: Space, units: Sequence[Unit], workers: int) -> Iterator[tuple[int, dict]]:
    for unit in units:
        yield unit.index, evaluate_unit(question, space, unit)


def _process(question: Question, space: Space, units: Sequence[Unit], workers: int) -> Iterator[tuple[int, dict]]:
    import multiprocessing as mp
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    method = "fork" if "fork" in mp.get_all_start_methods() else "spawn"
    with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context(method)) as pool:
        pending = {pool.submit(evaluate_unit, question, space, u): u.index for u in units}
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in sorted(done, key=lambda f: pending[f]):
                yield pending.pop(fut), fut.result()


def _ray(question: Question, space: Space, units: Sequence[Unit], workers: int) -> Iterator[tuple[int, dict]]:
    try:
        import ray
    except ImportError:
        raise InputError("executor", "ray", 'Ray is not installed: pip install "hundredx[ray]"') from None
    if not ray.is_initialized():
        address = os.environ.get("RAY_ADDRESS")
        kwargs: dict[str, Any] = {} if address else {"num_cpus": workers, "include_dashboard": False}
        ray.init(address=address, ignore_reinit_error=True, log_to_driver=False, **kwargs)
    task = ray.remote(evaluate_unit)
    q, s = ray.put(question), ray.put(space)
    pending = {task.remote(q, s, u): u.index for u in units}
    while pending:
        done, _ = ray.wait(list(pending), num_returns=1)
        for ref in done:
            yield pending.pop(ref), ray.get(ref)


RUNNERS: dict[str, Callable[..., Iterator[tuple[int, dict]]]] = {"local": _local, "process": _process, "ray": _ray}


def run_units(executor: str, question: Question, space: Space, units: Sequence[Unit],
              workers: int = 1) -> Iterator[tuple[int, dict]]:
    """(unit index, columns) for every unit, as the executor finishes them (module docstring)."""
    if executor not in RUNNERS:
        raise InputError("executor", executor, f"must be one of {', '.join(EXECUTORS)}")
    if isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= 1024:
        raise InputError("workers", workers, "must be an integer in [1, 1024]")
    if executor == "process" and workers == 1:
        return _local(question, space, units, 1)
    return RUNNERS[executor](question, space, units, workers)


__all__ = ["EXECUTORS", "evaluate_unit", "run_units"]
