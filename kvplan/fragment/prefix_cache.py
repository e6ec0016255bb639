"""A vLLM-style block-hash prefix cache, with optional CPU and disk tiers below it.

Blocks are named by keys that identify their whole prefix (vLLM hashes each full block
together with its parent's hash, vllm/v1/core/kv_cache_utils.py ``hash_block_tokens``; a
Mooncake trace gives such prefix-chained ids directly). A block on the GPU is referenced by
the requests using it (a reference count); at zero it stays cached but evictable, in LRU
order, and counts as free memory. A request's blocks are released tail first, so that its
last blocks are evicted first (vLLM ``KVCacheManager.free``: "We free the blocks in reverse
order so that the tail blocks are evicted first when caching is enabled").

With tiers (``--cpu-kv-gib``, ``--disk-kv-gib``), a block evicted from the GPU is copied to
CPU memory instead of dropped, and a block evicted from the CPU tier goes to disk (each
tier an LRU of its own capacity; what falls off disk is dropped): LMCache / vLLM offloading
style, write-back on eviction. A lookup continues past the GPU prefix into CPU then disk;
a block found there is loaded (copied up; the lower copy stays) instead of recomputed.

Keys are Python ints (tuples would cost more to hash at a million lookups).
"""

from __future__ import annotations

from collections import OrderedDict


class Tier:
    """An LRU of block keys with a capacity in blocks."""

    __slots__ = ("name", "capacity", "keys", "peak", "stored", "loaded")

    def __init__(self, name: str, capacity: int):
        self.name = name
        self.capacity = capacity
        self.keys: OrderedDict[int, None] = OrderedDict()
        self.peak = 0
        self.stored = 0  # blocks written into this tier
        self.loaded = 0  # blocks read back to the GPU

    def put(self, key: int) -> int | None:
        """Store ``key`` (most recent); returns the key pushed out, if any."""
        keys = self.keys
        if key in keys:
            keys.move_to_end(key)
            return None
        if self.capacity <= 0:
            return key
        keys[key] = None
        self.stored += 1
        out = None
        if len(keys) > self.capacity:
            out = keys.popitem(last=False)[0]
        if len(keys) > self.peak:
            self.peak = len(keys)
        return out


class BlockCache:
    """GPU-resident keyed blocks with reference counts; evictable ones in LRU order."""

    __slots__ = ("ref", "lru", "tiers", "referenced", "evicted", "evictable")

    def __init__(self, tiers: list[Tier] | None = None):
        self.ref: dict[int, int] = {}  # key -> requests referencing it (0: cached, evictable)
        self.lru: OrderedDict[int, None] = OrderedDict()  # evictable keys, oldest first
        self.tiers = tiers or []
        self.referenced = 0  # keys with ref > 0: allocated blocks holding full token states
        self.evicted = 0  # GPU blocks given up to make room
        # len(lru), kept as a field: the simulator asks it at every step (a property costs a call)
        self.evictable = 0

    def lookup(self, keys, limit: int) -> tuple[int, int, list[int]]:
        """(leading keys on the GPU, of which evictable now, per-tier counts of the keys that
        follow them in the tiers, in order, while the total stays within ``limit``). The GPU
        count is not capped: a block already cached is referenced even where its tokens must
        be computed again (vLLM recomputes at least a prompt's last token)."""
        ref = self.ref
        h = ev = 0
        n = len(keys)
        while h < n and keys[h] in ref:
            if not ref[keys[h]]:
                ev += 1
            h += 1
        found = [0] * len(self.tiers)
        i = h
        while i < limit and self.tiers:
            k = keys[i]
            for t, tier in enumerate(self.tiers):
                if k in tier.keys:
                    found[t] += 1
                    break
            else:
                break
            i += 1
        return h, ev, found

    def acquire(self, keys) -> None:
        """Reference keys already on the GPU (hits)."""
        ref, lru = self.ref, self.lru
        for k in keys:
            r = ref[k]
            if not r:
                del lru[k]
                self.evictable -= 1
                self.referenced += 1
            ref[k] = r + 1

    def load(self, keys) -> None:
        """Keys copied up from a tier (touch their LRU entries there)."""
        for k in keys:
            for tier in self.tiers:
                if k in tier.keys:
                    tier.keys.move_to_end(k)
                    tier.loaded += 1
                    break

    def register(self, keys) -> None:
        """Keys of newly allocated blocks (computed or loaded), referenced once."""
        ref = self.ref
        for k in keys:
            ref[k] = 1
        self.referenced += len(keys)

    def release(self, keys) -> None:
        """Drop one reference from each key, tail first; those at zero become evictable."""
        ref, lru = self.ref, self.lru
        for k in reversed(keys):
            r = ref[k] - 1
            ref[k] = r
            if not r:
                lru[k] = None
                self.evictable += 1
                self.referenced -= 1

    def evict(self, count: int) -> None:
        """Give up the ``count`` least recently used evictable blocks (to the tiers, if any)."""
        ref, lru, tiers = self.ref, self.lru, self.tiers
        self.evicted += count
        self.evictable -= count
        for _ in range(count):
            k = lru.popitem(last=False)[0]
            del ref[k]
            for tier in tiers:
                k = tier.put(k)
                if k is None:
                    break
