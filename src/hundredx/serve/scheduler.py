"""One replica's continuous-batching scheduler (vLLM v1 / Sarathi-Serve policy).

Each iteration, with a token budget T and at most `max_batch` running sequences:
  1. every decoding sequence gets its next token (k+1 under speculative decoding) and
     the KV blocks for it; if memory runs out the newest running sequence is preempted
     (recompute: its prompt plus generated tokens are prefilled again later) until it fits;
  2. running prefills, oldest first, get chunks of the remaining budget (chunked prefill);
  3. waiting requests are admitted first come first served (preempted ones first) while
     budget, batch slots and KV blocks (free + evictable prefix cache) last, reusing any
     cached prefix blocks.
A prefill whose last chunk finishes emits the first token. Pure-decode stretches are
run as one macro-step of m iterations (m up to the next completion, memory limit or
external event: the engine interrupts it at the first iteration boundary after an
arrival), with all m step times computed in one vectorized call, which keeps 10^5
iterations cheap. Decode state is stored as compact numpy arrays (swap-remove).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

import numpy as np

from hundredx.kernel.runtime import SchedulerSpec, SpeculativeSpec
from hundredx.serve.kv import BlockPool
from hundredx.serve.prefix import PrefixCache
from hundredx.serve.stepcost import StepCost, decode_step_times, kv_blocks

MAX_MACRO_STEPS = 2048
WAITING, PREFILLING, DECODING, TRANSFERRING, HANDOFF, DONE, REJECTED = range(7)


class Book:
    """Per-request mutable state shared by all replicas (plain lists: scalar access is hot)."""

    def __init__(self, inp, out, pid, ptok):
        n = len(inp)
        self.inp, self.out = inp.tolist(), out.tolist()
        self.pid, self.ptok = pid.tolist(), ptok.tolist()
        self.arrival = [float("nan")] * n
        self.first = [float("nan")] * n
        self.finish = [float("nan")] * n
        self.target = list(self.inp)  # tokens to prefill (prompt + generated after a preemption)
        self.ctx = [0] * n  # tokens whose KV is resident
        self.gen = [0] * n
        self.own = [0] * n
        self.shared = [0] * n
        self.pinned = [False] * n
        self.kv_ready = [False] * n  # KV arrives by transfer (decode pool)
        self.where = [WAITING] * n
        self.order = [0] * n
        self.preemptions = [0] * n
        self.cached_tokens = [0] * n
        self.replica = [-1] * n
        self.prefill_replica = [-1] * n


class Replica:
    """Queues, paged KV, decode arrays and the current (macro-)step of one replica."""

    gid: int  # index over all pools of the deployment, set by the Engine

    def __init__(self, index: int, role: str, cost: StepCost, cfg: SchedulerSpec, book: Book,
                 spec: SpeculativeSpec | None, rng: np.random.Generator | None,
                 draft_time: Callable[[int, int], float] | None = None):
        self.index, self.role, self.cost, self.cfg, self.book = index, role, cost, cfg, book
        self.spec, self.rng, self.draft_time = spec, rng, draft_time
        self.bt = cfg.kv_block_tokens
        self.kv = BlockPool(kv_blocks(cost, cfg.kv_block_tokens), PrefixCache() if cfg.prefix_cache else None)
        self.waiting: deque[int] = deque()
        self.prefilling: list[int] = []
        cap = cfg.max_seqs
        self.d_rid = np.zeros(cap, np.int64)
        self.d_ctx, self.d_left = np.zeros(cap, np.int64), np.zeros(cap, np.int64)
        self.d_own, self.d_shared = np.zeros(cap, np.int64), np.zeros(cap, np.int64)
        self.d_order = np.zeros(cap, np.int64)
        self.n_dec = 0
        self.transferring = 0
        self.started: list[int] = []  # transfers this replica began (engine schedules their ends)
        self.held: dict[int, tuple[int, bool, int]] = {}  # prefill pool: blocks kept until the transfer ends
        self.busy, self.version, self.start, self.end, self.m = False, 0, 0.0, 0.0, 0
        self.cum = np.zeros(1)
        self.chunks: list[tuple[int, int]] = []
        self.plan_dec = 0
        self.outstanding = 0
        self.busy_s = self.kv_block_s = 0.0
        self.steps = self.tokens = 0
        self.prefill_tokens = self.prompt_tokens = self.hit_tokens = 0
        self._stamp = 0

    # ---- bookkeeping -----------------------------------------------------------------------
    def running(self) -> int:
        return self.n_dec + len(self.prefilling) + self.transferring

    def has_work(self) -> bool:
        return bool(self.n_dec or self.prefilling or self.waiting)

    def _blocks_for(self, tokens: int) -> int:
        return -(-tokens // self.bt)

    def _release(self, rid: int, own: int, pinned: bool, shared: int) -> None:
        self.kv.give(own)
        if pinned:
            assert self.kv.cache is not None  # a request is pinned only to a prefix cache
            self.kv.cache.release(self.book.pid[rid], shared)

    def _remove_slot(self, slot: int) -> None:
        last = self.n_dec - 1
        for arr in (self.d_rid, self.d_ctx, self.d_left, self.d_own, self.d_shared, self.d_order):
            arr[slot] = arr[last]
        self.n_dec = last

    def _to_slot(self, rid: int) -> None:
        b, s = self.book, self.n_dec
        self.d_rid[s], self.d_ctx[s], self.d_left[s] = rid, b.ctx[rid], b.out[rid] - b.gen[rid]
        self.d_own[s], self.d_shared[s], self.d_order[s] = b.own[rid], b.shared[rid], b.order[rid]
        b.where[rid] = DECODING
        self.n_dec = s + 1

    def _preempt_newest(self, older_than: int | None = None) -> bool:
        """Preempt the most recently admitted running sequence (newer than `older_than`); False if none."""
        b, n = self.book, self.n_dec
        slot = int(np.argmax(self.d_order[:n])) if n else -1
        d_stamp = int(self.d_order[slot]) if n else -1
        p_stamp = b.order[self.prefilling[-1]] if self.prefilling else -1
        if max(d_stamp, p_stamp) < 0 or (older_than is not None and max(d_stamp, p_stamp) <= older_than):
            return False
        if d_stamp > p_stamp:
            rid = int(self.d_rid[slot])
            b.gen[rid] = b.out[rid] - int(self.d_left[slot])
            own, shared = int(self.d_own[slot]), int(self.d_shared[slot])
            self._remove_slot(slot)
        else:
            rid = self.prefilling.pop()
            own, shared = b.own[rid], b.shared[rid]
        self._release(rid, own, b.pinned[rid], shared)
        b.target[rid] = b.inp[rid] + b.gen[rid]
        b.ctx[rid] = b.own[rid] = b.shared[rid] = 0
        b.pinned[rid] = b.kv_ready[rid] = False
        b.preemptions[rid] += 1
        b.where[rid] = WAITING
        self.waiting.appendleft(rid)
        return True

    # ---- planning ----------------------------------------------------------------------------
    def _reserve_decode(self, q: int) -> None:
        """Blocks for q more tokens of every decoding sequence, preempting the newest until they fit."""
        while self.n_dec:
            n = self.n_dec
            need = np.maximum(-(-(self.d_ctx[:n] + q) // self.bt) - self.d_shared[:n] - self.d_own[:n], 0)
            total = int(need.sum())
            if self.kv.take(total):
                self.d_own[:n] += need
                return
            self._preempt_newest()

    def _grow_prefill(self, rid: int, budget: int) -> int:
        """Chunk for a running prefill (blocks allocated; newer sequences preempted if needed); 0 if none fits."""
        b = self.book
        s = min(b.target[rid] - b.ctx[rid], budget)
        need = max(self._blocks_for(b.ctx[rid] + s) - b.shared[rid] - b.own[rid], 0)
        while need > self.kv.available() and self._preempt_newest(older_than=b.order[rid]):
            pass
        avail = self.kv.available()
        if need > avail:
            s = min(s, (b.shared[rid] + b.own[rid] + avail) * self.bt - b.ctx[rid])
            if s <= 0 or not self.cfg.chunked_prefill:
                return 0
            need = max(self._blocks_for(b.ctx[rid] + s) - b.shared[rid] - b.own[rid], 0)
        self.kv.take(need)
        b.own[rid] += need
        return s

    def _admit(self, rid: int, budget: int) -> int:
        """Admit the head of the queue: a transferred-KV request (returns -1) or a prefill chunk size; 0 = no."""
        b, bt = self.book, self.bt
        if b.kv_ready[rid]:
            need = self._blocks_for(b.ctx[rid])
            if not self.kv.take(need):
                return 0
            b.own[rid], b.shared[rid] = need, 0
            b.where[rid] = TRANSFERRING
            self.transferring += 1
            self.started.append(rid)
            return -1
        hit = 0
        if self.kv.cache is not None and b.pid[rid] >= 0:
            hit = self.kv.cache.match(b.pid[rid], min(b.ptok[rid] // bt, (b.target[rid] - 1) // bt))
            b.pinned[rid] = True
        remaining = b.target[rid] - hit * bt
        s = min(remaining, budget)
        if not self.cfg.chunked_prefill and s < remaining:
            s = remaining if budget == self.cfg.max_batched_tokens else 0
        avail = self.kv.available()
        if s and self._blocks_for(hit * bt + s) - hit > avail:
            s = (hit + avail) * bt - hit * bt if self.cfg.chunked_prefill else 0
        if s <= 0:
            if b.pinned[rid]:
                assert self.kv.cache is not None  # a request is pinned only to a prefix cache
                self.kv.cache.release(b.pid[rid], hit)
                b.pinned[rid] = False
            return 0
        need = self._blocks_for(hit * bt + s) - hit
        self.kv.take(need)
        b.ctx[rid], b.own[rid], b.shared[rid] = hit * bt, need, hit
        b.cached_tokens[rid] += hit * bt
        self.hit_tokens += hit * bt
        self.prompt_tokens += b.target[rid]
        b.where[rid] = PREFILLING
        self.prefilling.append(rid)
        return s

    def plan(self, now: float) -> float | None:
        """Choose the next (macro-)step starting at `now`; returns its end time, or None when idle."""
        b, cfg = self.book, self.cfg
        q = self.spec.draft_tokens + 1 if self.spec is not None else 1
        self._reserve_decode(q)
        budget = cfg.max_batched_tokens - q * self.n_dec
        chunks = []
        for rid in list(self.prefilling):
            if budget <= 0:
                break
            if b.where[rid] == PREFILLING:
                s = self._grow_prefill(rid, budget)
                if s:
                    chunks.append((rid, s))
                    budget -= s
        while self.waiting and budget > 0 and self.running() < cfg.max_seqs:
            rid = self.waiting[0]
            s = self._admit(rid, budget)
            if s == 0:
                break
            self.waiting.popleft()
            self._stamp += 1
            b.order[rid] = self._stamp
            if s > 0:
                chunks.append((rid, s))
                budget -= s
        if not chunks and not self.n_dec:
            self.busy = False
            return None
        self.chunks, self.plan_dec = chunks, self.n_dec
        self.cum = np.cumsum(self._step_times(chunks, q))
        self.busy, self.start, self.m = True, now, len(self.cum)
        self.end = now + float(self.cum[-1])
        self.version += 1
        return self.end

    def _macro_len(self) -> int:
        """Iterations a pure-decode stretch may run: to the first completion and within free KV."""
        n = self.n_dec
        m = min(int(self.d_left[:n].min()), MAX_MACRO_STEPS)
        ctx, base = self.d_ctx[:n], self.d_shared[:n] + self.d_own[:n]

        def extra(k: int) -> int:
            return int(np.maximum(-(-(ctx + k) // self.bt) - base, 0).sum())

        avail = self.kv.available()
        if m > 1 and extra(m) > avail:
            lo, hi = 1, m  # extra(lo) == 0 <= avail (step 1 is reserved), extra(hi) > avail
            while hi - lo > 1:
                mid = (lo + hi) // 2
                lo, hi = (mid, hi) if extra(mid) <= avail else (lo, mid)
            m = lo
        if m > 1:
            need = np.maximum(-(-(ctx + m) // self.bt) - base, 0)
            self.kv.take(int(need.sum()))
            self.d_own[:n] += need
        return m

    def _step_times(self, chunks: list[tuple[int, int]], q: int) -> np.ndarray:
        b, n = self.book, self.n_dec
        dctx = int(self.d_ctx[:n].sum())
        pt = sum(s for _, s in chunks)
        pc = sum(b.ctx[rid] for rid, _ in chunks)
        if self.spec is not None:  # verify = a (k+1)-token chunk per decoding sequence
            t = self.cost.step_time_s(pt + q * n, len(chunks) + n, pc + dctx, 0, 0)
            return np.array([t + (self.draft_time(n, dctx) if n and self.draft_time else 0.0)])
        if chunks or n == 0:
            return np.array([self.cost.step_time_s(pt, len(chunks), pc, n, dctx)])
        return decode_step_times(self.cost, n, dctx, self._macro_len())

    def interrupt(self, now: float) -> bool:
        """Cut a running macro-step at the first iteration boundary at or after `now`; True if cut."""
        if not self.busy or self.m <= 1 or now >= self.end:
            return False
        m = int(np.searchsorted(self.cum, now - self.start, side="left")) + 1
        if m >= self.m:
            return False
        self.m, self.end = m, max(now, self.start + float(self.cum[m - 1]))
        self.version += 1
        return True

    # ---- committing --------------------------------------------------------------------------
    def commit(self) -> tuple[list[int], list[int]]:
        """Apply the planned step at self.end; returns (finished request ids, handed-off request ids)."""
        b, now, m, n = self.book, self.end, self.m, self.plan_dec
        dt = now - self.start
        self.busy_s += dt
        self.kv_block_s += self.kv.used * dt
        self.steps += m
        finished, handed = [], []
        if n:
            t = np.minimum(self._accepted(n) + 1, self.d_left[:n]) if self.spec is not None else m
            self.d_ctx[:n] += t
            self.d_left[:n] -= t
            self.tokens += int(np.sum(t)) if self.spec is not None else n * m
            for slot in np.flatnonzero(self.d_left[:n] <= 0)[::-1].tolist():
                rid = int(self.d_rid[slot])
                self._release(rid, int(self.d_own[slot]), b.pinned[rid], int(self.d_shared[slot]))
                self._remove_slot(slot)
                self._finish(rid, now)
                finished.append(rid)
        for rid, s in self.chunks:
            b.ctx[rid] += s
            self.tokens += s
            self.prefill_tokens += s
            if b.ctx[rid] < b.target[rid]:
                continue
            self.prefilling.remove(rid)
            b.gen[rid] += 1
            if b.first[rid] != b.first[rid]:
                b.first[rid] = now
            if b.pinned[rid]:
                assert self.kv.cache is not None  # a request is pinned only to a prefix cache
                adopted = self.kv.cache.adopt(b.pid[rid], b.shared[rid], b.ptok[rid] // self.bt, b.own[rid])
                b.own[rid] -= adopted
                b.shared[rid] += adopted
            if b.gen[rid] >= b.out[rid]:
                self._release(rid, b.own[rid], b.pinned[rid], b.shared[rid])
                self._finish(rid, now)
                finished.append(rid)
            elif self.role == "prefill":
                self.held[rid] = (b.own[rid], b.pinned[rid], b.shared[rid])
                b.where[rid] = HANDOFF
                b.kv_ready[rid] = True
                b.pinned[rid] = False
                self.outstanding -= 1
                handed.append(rid)
            else:
                self._to_slot(rid)
        self.busy, self.chunks = False, []
        return finished, handed

    def _accepted(self, n: int) -> np.ndarray:
        """Accepted drafts per sequence: min(k, Geometric(1 - a) - 1), i.e. i.i.d. acceptance until a miss."""
        spec, rng = self.spec, self.rng
        # called under speculative decoding only, which runs on the main pool: its replicas have a generator
        assert spec is not None and rng is not None
        k, a = spec.draft_tokens, spec.acceptance
        if a >= 1.0:
            return np.full(n, k, np.int64)
        return np.minimum(rng.geometric(1.0 - a, size=n) - 1, k)

    def _finish(self, rid: int, now: float) -> None:
        b = self.book
        b.gen[rid] = b.out[rid]
        b.finish[rid] = now
        b.where[rid] = DONE
        b.pinned[rid] = False
        self.outstanding -= 1

    def transfer_done(self, rid: int) -> None:
        """Prefill side: the KV has left; free the held blocks."""
        own, pinned, shared = self.held.pop(rid)
        self._release(rid, own, pinned, shared)

    def receive(self, rid: int) -> None:
        """Decode side: transferred KV has landed; the request starts decoding."""
        self.transferring -= 1
        self._to_slot(rid)
