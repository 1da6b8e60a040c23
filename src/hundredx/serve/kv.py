"""Paged KV memory of one replica: fixed-size blocks (vLLM PagedAttention, Kwon et al. 2023).

A replica's KV capacity is floor(kv_capacity_bytes / (kv_bytes_per_token * block_tokens))
blocks. A sequence with c tokens of context holds ceil(c / block_tokens) blocks, some
shared with the prefix cache (pinned while it runs) and the rest its own. The pool
only counts: blocks are interchangeable, so a counter is exact and O(1). `take`
evicts unpinned prefix-cache blocks (LRU) before it gives up; the scheduler preempts.
"""

from __future__ import annotations

from hundredx.serve.prefix import PrefixCache


class BlockPool:
    """Free/used block counters for one replica, with an optional prefix cache that may be evicted."""

    __slots__ = ("total", "free", "cache", "peak_used")

    def __init__(self, total_blocks: int, cache: PrefixCache | None = None):
        self.total = int(total_blocks)
        self.free = int(total_blocks)
        self.cache = cache
        self.peak_used = 0

    @property
    def used(self) -> int:
        return self.total - self.free

    def available(self) -> int:
        """Blocks obtainable without preempting anybody: free plus evictable cached blocks."""
        return self.free + (self.cache.evictable if self.cache is not None else 0)

    def take(self, n: int) -> bool:
        """Allocate n blocks, evicting LRU cache blocks if needed; False (and nothing taken) if impossible."""
        if n <= self.free:
            self.free -= n
        elif n <= self.available():
            assert self.cache is not None  # available() exceeds free only through the prefix cache
            self.free += self.cache.evict(n - self.free)
            self.free -= n
        else:
            return False
        used = self.total - self.free
        if used > self.peak_used:
            self.peak_used = used
        return True

    def give(self, n: int) -> None:
        """Return n blocks to the free list."""
        self.free += n
        if self.free > self.total:
            raise RuntimeError(f"KV block accounting broke: free {self.free} > total {self.total}")

    def leaked(self) -> int:
        """Blocks neither free nor cached: must be 0 once every sequence has left."""
        cached = self.cache.blocks if self.cache is not None else 0
        return self.total - self.free - cached
