"""`SimResult`: what one simulation produced — per-request table, per-replica stats, summary.

Built from the engine's Book and replicas by `build_result`; `to_dict()` is the JSON-able
summary (metrics of `metrics.summarize` plus counts and conservation checks) that the CLI
prints, `to_frame()` the per-request table.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hundredx.serve.deploy import Deployment
from hundredx.serve.metrics import request_times, summarize
from hundredx.serve.scheduler import DONE, Book, Replica
from hundredx.serve.workload import Requests
from hundredx.views import View


@dataclass(frozen=True, slots=True, repr=False)
class SimResult(View):
    """Summary metrics, per-request columns (numpy arrays) and per-replica statistics."""

    summary: dict
    requests: dict
    replicas: tuple

    def to_dict(self) -> dict:
        """JSON-able: the summary plus one dict per replica."""
        return {**self.summary, "replicas": [dict(r) for r in self.replicas]}

    def to_frame(self):
        """One row per request (arrival, ttft, tpot, lengths, ...): `requests_frame()`."""
        return self.requests_frame()

    def requests_frame(self):
        """The per-request table as a pandas DataFrame."""
        import pandas as pd

        return pd.DataFrame(self.requests)

    def _title(self) -> str:
        n = len(next(iter(self.requests.values()), ()))
        return f"{n} requests on {self.summary.get('devices', '?')} devices"

    def _summary(self) -> list[tuple[str, object]]:
        keys = ("output_tokens_per_s", "output_tokens_per_s_per_device", "tokens_per_s_per_user", "ttft_p50_s",
                "ttft_p99_s", "tpot_p50_s", "tpot_p99_s", "e2e_p90_s", "goodput_fraction", "kv_peak_utilization",
                "preemptions", "usd_per_million_output_tokens", "joules_per_output_token", "makespan_s")
        return [(k, self.summary[k]) for k in keys if k in self.summary] + [("replicas", len(self.replicas))]

    def _rows(self) -> list[dict]:
        return self.requests_frame().to_dict("records")

    def __getitem__(self, key: str):
        return self.summary[key]


def replica_stats(rep: Replica) -> dict:
    cache = rep.kv.cache
    return {"pool": rep.role, "index": rep.index, "busy_s": rep.busy_s, "steps": rep.steps, "tokens": rep.tokens,
            "prefill_tokens": rep.prefill_tokens, "kv_blocks": rep.kv.total, "kv_block_s": rep.kv_block_s,
            "kv_peak_blocks": rep.kv.peak_used, "kv_leaked_blocks": rep.kv.leaked(),
            "cached_blocks": cache.blocks if cache is not None else 0,
            "pinned_prefixes": cache.pinned() if cache is not None else 0, "held_transfers": len(rep.held)}


def build_result(dep: Deployment, req: Requests, book: Book, main: list[Replica], pre: list[Replica],
                 ttft_limit_s: float, tpot_limit_s: float, warmup: int = 0) -> SimResult:
    """The result; the first `warmup` requests (a benchmark's warm-up) stay out of the summary metrics,
    whose window then opens at the first measured request's arrival."""
    arrival, first, finish = (np.array(x, dtype=float) for x in (book.arrival, book.first, book.finish))
    finished = np.array([w == DONE for w in book.where])
    times = request_times(arrival, first, finish, req.output_len)
    main_stats = [replica_stats(r) for r in main]
    pre_stats = [replica_stats(r) for r in pre]
    measured = np.arange(len(finished)) >= warmup
    summary = summarize({k: v[measured] for k, v in times.items()}, arrival[measured], finish[measured],
                        req.input_len[measured], req.output_len[measured], finished[measured], ttft_limit_s,
                        tpot_limit_s, dep.devices, dep.device_hour_usd, dep.device_power_w, main_stats, pre_stats)
    summary["warmup_requests"] = int(warmup)
    prompt = sum(r.prompt_tokens for r in main + pre)
    every = main_stats + pre_stats
    summary.update({
        "requests": len(req), "finished": int(finished.sum()), "rejected": int((~finished).sum()),
        "preemptions": int(sum(book.preemptions)), "steps": int(sum(s["steps"] for s in every)),
        "prefix_hit_rate": sum(r.hit_tokens for r in main + pre) / prompt if prompt else 0.0,
        "kv_leaked_blocks": int(sum(s["kv_leaked_blocks"] for s in every)),
        "pinned_prefixes": int(sum(s["pinned_prefixes"] for s in every)),
        "disaggregated": dep.disaggregated, "speculative": dep.speculative is not None,
    })
    columns = {"arrival_s": arrival, "first_token_s": first, "finish_s": finish,
               "input_len": req.input_len, "output_len": req.output_len, **times,
               "cached_tokens": np.array(book.cached_tokens), "preemptions": np.array(book.preemptions),
               "replica": np.array(book.replica), "prefill_replica": np.array(book.prefill_replica),
               "finished": finished}
    return SimResult(summary, columns, tuple(main_stats + pre_stats))
