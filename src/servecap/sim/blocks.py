"""The KV block pool: free blocks, plus blocks a preempted request left cached until evicted
(`vllm/v1/core/block_pool.py`)."""

from __future__ import annotations

from collections import OrderedDict

from .request import SimRequest


class BlockPool:
    """Free blocks, plus blocks freed by preempted requests that stay cached until evicted."""

    def __init__(self, usable: int, prefix_caching: bool) -> None:
        self.usable = usable
        self.free = usable
        self.cached: OrderedDict[int, int] = OrderedDict()  # request id -> cached blocks
        self.cached_total = 0
        self.prefix_caching = prefix_caching

    @property
    def available(self) -> int:
        return self.free + self.cached_total

    @property
    def held(self) -> int:
        return self.usable - self.available

    @property
    def usage(self) -> float:
        """The share of usable blocks held by requests (vLLM's kv_cache_usage_perc)."""
        return self.held / self.usable if self.usable else 0.0

    def take(self, n: int) -> None:
        """Take n blocks, evicting the least recently cached ones when the free list is short."""
        from_free = min(n, self.free)
        self.free -= from_free
        need = n - from_free
        while need:
            rid, count = next(iter(self.cached.items()))
            evict = min(count, need)
            if evict == count:
                del self.cached[rid]
            else:
                self.cached[rid] = count - evict
            self.cached_total -= evict
            need -= evict

    def release(self, req: SimRequest, keep_cached: bool, block_size: int) -> None:
        full = min(req.blocks, req.computed // block_size)
        if keep_cached and self.prefix_caching and full:
            self.cached[req.id] = full
            self.cached_total += full
            self.free += req.blocks - full
        else:
            self.free += req.blocks
        req.blocks = 0

    def hits(self, req: SimRequest, block_size: int) -> int:
        """How many of a re-admitted request's blocks survive in the cache."""
        # one token must still be computed, so the last full block may not count
        return min(self.cached.get(req.id, 0), (req.tokens - 1) // block_size)

    def reclaim(self, req: SimRequest, hits: int) -> None:
        """Take back `hits` cached blocks of the request; the rest of its cache becomes free."""
        count = self.cached.pop(req.id, 0)
        self.cached_total -= count
        self.free += count - hits
