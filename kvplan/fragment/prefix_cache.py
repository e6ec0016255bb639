"""A vLLM-style block-hash prefix cache, with optional CPU and disk tiers below it.

Blocks are named by keys that identify their whole prefix (vLLM hashes each full block
together with its parent's hash, vllm/v1/core/kv_cache_utils.py ``hash_block_tokens``; a
Mooncake trace gives such prefix-chained ids directly). A block on the GPU is referenced by
the requests using it (a reference count); at zero it stays cached but evictable, in the free
queue (below), and counts as free memory. A request's blocks are released tail first, so that its
last blocks are evicted first (vLLM ``KVCacheManager.free``: "We free the blocks in reverse
order so that the tail blocks are evicted first when caching is enabled").

**One free queue.** vLLM 0.8.0-0.23.0 keep every free block, never cached or cached and
unreferenced, in ONE queue: a new block is taken from its head (``get_new_blocks``:
``free_block_queue.popleft``, v0.8.0 vllm/v1/core/block_pool.py:150; ``popleft_n``,
v0.10.0 :217, v0.19.1 :334), evicting whatever cached block is there, and a freed block is
appended to its tail (``free_blocks``: ``append``, v0.8.0 :219; ``append_n``, v0.19.1 :421).
A cached block becomes a hit only while it waits in the queue (a hit ``touch``-es it out,
v0.19.1 :392). So blocks never cached (the pool at start) are spent before any cached
block, but a block freed uncached (a sequence's partial last block) waits its turn behind
the cached blocks freed before it. Unnamed free blocks are runs (counts) in the same ordered
queue. (From 0.24.0, not modelled by kvplan, ``free_blocks`` prepends blocks without a hash,
v0.24.0 :634, so uncached blocks go first; 0.23.0 does so only for sliding-window and Mamba
layers, single_type_kv_cache_manager.py:764.)

With tiers (``--cpu-kv-gib``, ``--disk-kv-gib``), a block evicted from the GPU is copied to
CPU memory instead of dropped, and a block evicted from the CPU tier goes to disk (each
tier an LRU of its own capacity; what falls off disk is dropped): LMCache / vLLM offloading
style, write-back on eviction. A lookup continues past the GPU prefix into CPU then disk;
a block found there is loaded (copied up; the lower copy stays) instead of recomputed.

Keys are Python ints (tuples would cost more to hash at a million lookups); a run of unnamed
free blocks is an ``object()`` in the queue with its count as the value.
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
    """GPU-resident keyed blocks with reference counts, and the free queue: unreferenced keyed
    blocks and runs of unnamed free blocks, in the order they were freed (head first)."""

    __slots__ = ("ref", "lru", "tiers", "referenced", "evicted", "evictable")

    def __init__(self, tiers: list[Tier] | None = None):
        self.ref: dict[int, int] = {}  # key -> requests referencing it (0: cached, in the free queue)
        # the free queue, head (taken first) first: key -> None, or a run marker -> its block count
        self.lru: OrderedDict = OrderedDict()
        self.tiers = tiers or []
        self.referenced = 0  # keys with ref > 0: allocated blocks holding full token states
        self.evicted = 0  # keyed GPU blocks given up to make room
        # blocks in the free queue (keyed and unnamed), kept as a field: the simulator asks it at
        # every step (a property costs a call)
        self.evictable = 0

    def lookup(self, keys, limit: int, drop_last: bool = False) -> tuple[int, int, list[int]]:
        """(leading keys on the GPU, at most ``limit``, of which in the free queue now, per-tier
        counts of the keys that follow them in the tiers, in order, while the total stays within
        ``limit``). ``limit`` is vLLM's: a hit never covers a prompt's last token, and a block
        cached beyond it is not referenced (vLLM computes that block into a fresh one:
        ``max_cache_hit_length = request.num_tokens - 1``, v0.10.0 kv_cache_manager.py:178-186).
        ``drop_last`` (EAGLE, EAGLE-3, MTP drafters): the last block of the GPU match is given up
        and computed again (``find_longest_cache_hit``: "if use_eagle and computed_blocks[0]:
        ... pop()", v0.19.1 vllm/v1/core/single_type_kv_cache_manager.py:457; the tiers are then
        not searched: kvplan's assumption, the connectors' own lookup was not read)."""
        ref = self.ref
        h = ev = 0
        n = min(len(keys), limit)
        while h < n and keys[h] in ref:
            if not ref[keys[h]]:
                ev += 1
            h += 1
        found = [0] * len(self.tiers)
        if drop_last and h:
            h -= 1
            if not ref[keys[h]]:
                ev -= 1
            return h, ev, found
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

    def append_free(self, count: int) -> None:
        """``count`` unnamed blocks join the tail of the free queue (a run; merged with a run
        already at the tail)."""
        if count <= 0:
            return
        lru = self.lru
        if lru:
            last = next(reversed(lru))
            run = lru[last]
            if run is not None:
                lru[last] = run + count
                self.evictable += count
                return
        lru[object()] = count
        self.evictable += count

    def evict(self, count: int) -> None:
        """Take ``count`` blocks from the head of the free queue: a keyed block met there is
        given up (to the tiers, if any), an unnamed one is simply reused."""
        ref, lru, tiers = self.ref, self.lru, self.tiers
        self.evictable -= count
        evicted = 0
        while count:
            k, run = lru.popitem(last=False)
            if run is not None:  # unnamed free blocks
                if run > count:
                    lru[k] = run - count
                    lru.move_to_end(k, last=False)
                    break
                count -= run
                continue
            count -= 1
            evicted += 1
            del ref[k]
            for tier in tiers:
                k = tier.put(k)
                if k is None:
                    break
        self.evicted += evicted
