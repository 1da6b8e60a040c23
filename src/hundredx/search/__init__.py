"""Search the co-design space: deployments, model what-ifs and chip what-ifs, stored and resumable.

`search(Question(...), space)` answers "what should I run?": every configuration of the space
(search/space.py: tp, pp, ep, attention-DP, batch, aggregated or prefill/decode-disaggregated
pools with worker counts and per-pool parallelism, formats, attention kernel, MoE routing,
speculative decoding; model axes and chip axes from SPACE.yaml) is a row, priced by predict's
vectorized path (predict/many.py) and checked against the SLA; rows are stored as Parquet
chunks with a manifest (search/store.py) and ranked (search/rank.py). Every row shown carries
the `hundredx predict` command that reproduces it. docs/search.md is the guide.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from hundredx.views import callable_package

_EXPORTS = {"search": "hundredx.search.run", "SearchResult": "hundredx.search.run",
            "Question": "hundredx.search.space", "Space": "hundredx.search.space",
            "default_space": "hundredx.search.space", "load_space": "hundredx.search.space",
            "query": "hundredx.search.store", "read_rows": "hundredx.search.store",
            "model_variant": "hundredx.search.whatif", "chip_variant": "hundredx.search.whatif",
            "predict_disaggregated": "hundredx.predict.pools", "pool_scenarios": "hundredx.predict.pools"}

__all__ = sorted(_EXPORTS)


def _search(*args: Any, **kwargs: Any) -> Any:
    from hundredx.search.run import search

    return search(*args, **kwargs)


callable_package(__name__, _search)  # hundredx.search(question, ...) is search.run.search (views.py)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'hundredx.search' has no attribute {name!r}")
    return getattr(import_module(module), name)
