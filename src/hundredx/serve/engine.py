"""Discrete-event loop of the serving simulator: arrivals, replica steps, KV transfers.

Time jumps from event to event (no clock ticks). Events: a request arrives (open loop:
from the sorted arrival table; closed loop: when one of the `concurrency` clients gets
its previous answer), a replica's (macro-)step ends, a prefill->decode KV transfer ends.
Handling an event changes queues; every replica it touched is then woken once: an idle
replica plans its next step at once, a busy one in a multi-iteration decode stretch is
cut at the next iteration boundary so it can admit the newcomer. Stale step events are
skipped by a per-replica version number. Arrivals at the same instant as a step end are
handled first. Routing across DP replicas: round robin or least outstanding requests.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable

import numpy as np

from hundredx.serve.deploy import Deployment, Pool
from hundredx.serve.scheduler import DONE, REJECTED, Book, Replica
from hundredx.serve.workload import Requests

STEP, ARRIVE, XFER = 0, 1, 2


class Engine:
    """Runs one deployment on one request table; `run()` returns the Book and the replicas."""

    def __init__(self, deployment: Deployment, requests: Requests, seed: int = 0,
                 progress: Callable[[float], None] | None = None):
        self.dep, self.req, self.progress = deployment, requests, progress
        self.book = Book(requests.input_len, requests.output_len, requests.prefix_id, requests.prefix_tokens)
        streams = np.random.SeedSequence([int(seed), 0x5E7E]).spawn(deployment.pool.replicas)
        main_role = "decode" if deployment.disaggregated else "mixed"
        self.main = self._pool(deployment.pool, main_role, deployment.speculative, streams, deployment.draft_time_s)
        self.pre = self._pool(deployment.prefill, "prefill", None, None) if deployment.prefill else []
        self.front = self.pre or self.main
        self.all = self.main + self.pre
        for gid, rep in enumerate(self.all):
            rep.gid = gid
        self.rejected = self._too_long()
        self.heap: list = []
        self.seq = 0
        self.rr = {"front": 0, "main": 0}
        self.pending: dict[int, bool] = {}
        self.n_done, self.next_report = 0, 0.0
        self.next_closed = 0

    def _pool(self, pool: Pool, role: str, spec, streams, draft_time=None) -> list[Replica]:
        return [Replica(i, role, pool.step_cost, pool.scheduler, self.book, spec,
                        np.random.default_rng(streams[i]) if streams else None, draft_time)
                for i in range(pool.replicas)]

    def _too_long(self) -> np.ndarray:
        """Requests that could never be resident: prompt + output (+ k drafts) over one replica's KV."""
        req, rep = self.req, self.main[0]
        extra = self.dep.speculative.draft_tokens if self.dep.speculative else 0
        bad = -(-(req.input_len + req.output_len + extra) // rep.bt) > rep.kv.total
        if self.pre:
            bad |= -(-req.input_len // self.pre[0].bt) > self.pre[0].kv.total
        return bad

    # ---- events --------------------------------------------------------------------------------
    def _push(self, t: float, kind: int, a: int, v: int = 0) -> None:
        self.seq += 1
        heapq.heappush(self.heap, (t, self.seq, kind, a, v))

    def _route(self, reps: list[Replica], key: str) -> Replica:
        if self.dep.routing == "least_loaded":
            return min(reps, key=lambda r: r.outstanding)
        rep = reps[self.rr[key] % len(reps)]
        self.rr[key] += 1
        return rep

    def _arrive(self, rid: int, t: float) -> None:
        b = self.book
        b.arrival[rid] = t
        if self.rejected[rid]:
            b.where[rid] = REJECTED
            self._done(rid, t)
            return
        rep = self._route(self.front, "front")
        if self.pre:
            b.prefill_replica[rid] = rep.index
        else:
            b.replica[rid] = rep.index
        rep.waiting.append(rid)
        rep.outstanding += 1
        self.pending.setdefault(rep.gid, False)

    def _done(self, rid: int, t: float) -> None:
        self.n_done += 1
        n = len(self.req)
        if self.progress is not None and (self.n_done / n >= self.next_report or self.n_done == n):
            self.progress(self.n_done / n)
            self.next_report = self.n_done / n + 0.01
        if self.req.concurrency and self.next_closed < n:
            self.next_closed += 1
            self._arrive(self.next_closed - 1, t)

    def _step_done(self, rep: Replica, t: float) -> None:
        finished, handed = rep.commit()
        self.pending[rep.gid] = False
        for rid in finished:
            self._done(rid, t)
        for rid in handed:
            dec = self._route(self.main, "main")
            self.book.replica[rid] = dec.index
            dec.waiting.append(rid)
            dec.outstanding += 1
            self.pending.setdefault(dec.gid, False)

    def _transfer_done(self, rid: int) -> None:
        pre = self.pre[self.book.prefill_replica[rid]]
        pre.transfer_done(rid)
        self.pending.setdefault(pre.gid, False)
        dec = self.main[self.book.replica[rid]]
        dec.receive(rid)
        self.pending[dec.gid] = True

    def _flush(self, t: float) -> None:
        """Wake every replica the last event touched (force: a new sequence is ready to decode)."""
        for gid, force in self.pending.items():
            rep = self.all[gid]
            if not rep.busy:
                end = rep.plan(t)
                if end is not None:
                    self._push(end, STEP, gid, rep.version)
            elif (force or rep.running() < rep.cfg.max_seqs) and rep.interrupt(t):
                self._push(rep.end, STEP, gid, rep.version)
            for rid in rep.started:
                transfer = self.dep.transfer
                assert transfer is not None  # only a prefill pool starts transfers, and Deployment gives it a link
                nbytes = self.pre[self.book.prefill_replica[rid]].cost.kv_bytes_per_token * self.book.ctx[rid]
                self._push(t + transfer.time_s(nbytes), XFER, rid)
            rep.started.clear()
        self.pending.clear()

    def run(self) -> tuple[Book, list[Replica], list[Replica]]:
        n = len(self.req)
        order: list[int] | np.ndarray  # arrival order: request ids
        if self.req.concurrency:
            self.next_closed = min(self.req.concurrency, n)
            for rid in range(self.next_closed):
                self._push(0.0, ARRIVE, rid)
            order, times = np.zeros(0, np.int64), np.zeros(0)
        else:
            order = np.argsort(self.req.arrival_s, kind="stable")
            times = self.req.arrival_s[order].tolist()
            order = order.tolist()
        ptr, n_open, heap, inf = 0, len(order), self.heap, math.inf
        while True:
            ta = times[ptr] if ptr < n_open else inf
            if heap and heap[0][0] < ta:
                t, _, kind, a, v = heapq.heappop(heap)
                if kind == STEP:
                    rep = self.all[a]
                    if v != rep.version or not rep.busy:
                        continue
                    self._step_done(rep, t)
                elif kind == ARRIVE:
                    self._arrive(a, t)
                else:
                    self._transfer_done(a)
            elif ptr < n_open:
                t = ta
                self._arrive(order[ptr], t)
                ptr += 1
            else:
                break
            self._flush(t)
        self._check()
        return self.book, self.main, self.pre

    def _check(self) -> None:
        stuck = [i for i, w in enumerate(self.book.where) if w not in (DONE, REJECTED)]
        if stuck:
            raise RuntimeError(f"simulation ended with {len(stuck)} unfinished requests (first: {stuck[:5]})")
