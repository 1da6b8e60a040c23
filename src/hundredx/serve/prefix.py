"""Prefix cache: KV blocks of shared prompt prefixes kept after their requests leave (SGLang
RadixAttention, Zheng et al. 2024; vLLM automatic prefix caching).

Keys are token blocks: block j of prefix group g is the node (g, j), whose parent is
(g, j-1). Traces name prefixes by a flat `prefix_id`, so the radix tree is a forest of
chains, one per group, stored as its cached length in blocks. A request matching group g
reuses the longest cached chain (up to its own prefix) and pins exactly the blocks it
uses (a node is pinned while any running request's match covers it); when its prefill
completes, the prefix blocks it computed past the end of the chain are adopted by the
cache (ownership moves, no copy), provided the chain has not grown meanwhile. Blocks
beyond every pin are evictable: least recently used chain first, tail block first, so
every cached chain stays a prefix. Hit rates emerge from the order and mix of the trace
and from the memory the running sequences leave over.
"""

from __future__ import annotations

from collections import OrderedDict


class PrefixCache:
    """Chains of cached blocks per prefix group, per-length pin counts, LRU eviction."""

    __slots__ = ("chains", "pins", "lru", "blocks", "evictable", "_free")

    def __init__(self) -> None:
        self.chains: dict[int, int] = {}  # group -> cached blocks
        self.pins: dict[int, dict[int, int]] = {}  # group -> {pinned length: running users}
        self.lru: OrderedDict[int, None] = OrderedDict()  # groups, least recently used first
        self._free: dict[int, int] = {}  # group -> evictable blocks (chain - longest pin)
        self.blocks = 0
        self.evictable = 0

    def _update(self, group: int) -> None:
        """Recompute the group's evictable tail after its chain or pins changed."""
        pins = self.pins.get(group)
        longest = max(pins) if pins else 0
        free = self.chains.get(group, 0) - longest
        self.evictable += free - self._free.get(group, 0)
        if free:
            self._free[group] = free
        else:
            self._free.pop(group, None)
        if not pins and not self.chains.get(group, 0):
            self.chains.pop(group, None)
            self.lru.pop(group, None)

    def _pin(self, group: int, length: int, delta: int) -> None:
        pins = self.pins.setdefault(group, {})
        count = pins.get(length, 0) + delta
        if count:
            pins[length] = count
        else:
            del pins[length]
        if not pins:
            del self.pins[group]

    def match(self, group: int, max_blocks: int) -> int:
        """Cached blocks of `group` usable by a request (at most max_blocks); pins them."""
        hit = min(self.chains.get(group, 0), max_blocks)
        self._pin(group, hit, +1)
        self.lru[group] = None
        self.lru.move_to_end(group)
        self._update(group)
        return hit

    def adopt(self, group: int, pinned: int, upto_blocks: int, own_blocks: int) -> int:
        """A request pinning `pinned` blocks hands over its own blocks up to `upto_blocks`; returns how many."""
        have = self.chains.get(group, 0)
        if have != pinned:
            return 0
        n = max(0, min(upto_blocks - have, own_blocks))
        if n:
            self.chains[group] = have + n
            self.blocks += n
            self._pin(group, pinned, -1)
            self._pin(group, pinned + n, +1)
            self._update(group)
        return n

    def release(self, group: int, pinned: int) -> None:
        """Drop a request's pin; the chain stays cached (most recently used) until evicted."""
        self._pin(group, pinned, -1)
        if group in self.lru:
            self.lru.move_to_end(group)
        self._update(group)

    def evict(self, n: int) -> int:
        """Free up to n unpinned blocks, least recently used chain first, tail first."""
        freed = 0
        for group in list(self.lru):
            if freed >= n:
                break
            take = min(n - freed, self._free.get(group, 0))
            if take:
                self.chains[group] -= take
                self.blocks -= take
                freed += take
                self._update(group)
        return freed

    def pinned(self) -> int:
        return sum(sum(p.values()) for p in self.pins.values())
