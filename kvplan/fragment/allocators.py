"""Address-range allocators for contiguous KV reservations.

FirstFit (the default): each chunk goes to the lowest free address range that is large
enough, so the pool fragments into holes between live chunks (external fragmentation).
The free list is two sorted parallel lists (hole starts, hole sizes); holes merge with
their neighbours when a chunk is freed. Its size is bounded by the number of live chunks
+ 1, not by the pool size. A bound on the largest hole (exact after a failed scan, raised
by every free) refuses a request that fits nowhere without scanning again.

Buddy: the allocator the PagedAttention paper assumes for its Orca baselines ("We assume
Orca uses the buddy allocation algorithm to determine the memory address to store KV
cache", Kwon et al. 2023, §6.1). Every chunk is rounded up to a power of two and aligned
to its size; a freed block merges with its buddy. A pool that is not a power of two is
split into power-of-two arenas (15,728 = 8,192 + 4,096 + 2,048 + 1,024 + 256 + 64 + 32 + 16).

Both offer ``chunk(n)`` (slots a request of n takes), ``alloc(n)`` -> start or -1, and
``free(start, chunk)``.
"""

from __future__ import annotations

from bisect import bisect_left

from kvplan.errors import BadInputError


class FirstFit:
    """Slots 0 .. size-1; ``alloc(n)`` returns the start of a free range of n slots or -1."""

    __slots__ = ("size", "starts", "sizes", "free_slots", "bound")

    def __init__(self, size: int):
        if size < 1:
            raise BadInputError(f"a pool needs at least 1 slot, got {size}")
        self.size = size
        self.starts = [0]
        self.sizes = [size]
        self.free_slots = size
        self.bound = size  # no hole is larger

    @staticmethod
    def chunk(n: int) -> int:
        return n

    def alloc(self, n: int) -> int:
        if n > self.bound:
            return -1
        sizes = self.sizes
        for i, hole in enumerate(sizes):
            if hole >= n:
                start = self.starts[i]
                if hole == n:
                    del self.starts[i]
                    del sizes[i]
                else:
                    self.starts[i] = start + n
                    sizes[i] = hole - n
                self.free_slots -= n
                return start
        self.bound = max(sizes) if sizes else 0
        return -1

    def free(self, start: int, n: int) -> int:
        """Free n slots at start; returns the size of the free range they are now part of."""
        starts, sizes = self.starts, self.sizes
        i = bisect_left(starts, start)
        joins_prev = i > 0 and starts[i - 1] + sizes[i - 1] == start
        joins_next = i < len(starts) and start + n == starts[i]
        if joins_prev and joins_next:
            sizes[i - 1] += n + sizes[i]
            del starts[i]
            del sizes[i]
        elif joins_prev:
            sizes[i - 1] += n
        elif joins_next:
            starts[i] = start
            sizes[i] += n
        else:
            starts.insert(i, start)
            sizes.insert(i, n)
        self.free_slots += n
        hole = sizes[i - 1] if joins_prev else sizes[i]  # the hole the freed chunk is now part of
        if hole > self.bound:
            self.bound = hole
        return hole

    @property
    def largest_hole(self) -> int:
        return max(self.sizes, default=0)

    def holes(self) -> list[tuple[int, int]]:
        return list(zip(self.starts, self.sizes))


class Buddy:
    """Binary buddy allocator over ``size`` slots (power-of-two arenas, lowest address first)."""

    __slots__ = ("size", "arenas", "free_lists", "free_slots")

    def __init__(self, size: int):
        if size < 1:
            raise BadInputError(f"a pool needs at least 1 slot, got {size}")
        self.size = size
        self.arenas: list[tuple[int, int]] = []  # (start, order), each aligned to its size
        self.free_lists: list[set[int]] = [set() for _ in range(size.bit_length())]
        start = 0
        for order in range(size.bit_length() - 1, -1, -1):
            if size >> order & 1:
                self.arenas.append((start, order))
                self.free_lists[order].add(start)
                start += 1 << order
        self.free_slots = size

    @staticmethod
    def chunk(n: int) -> int:
        """A request of n slots takes the next power of two: 300 -> 512."""
        return 1 << (n - 1).bit_length()

    def alloc(self, n: int) -> int:
        want = (n - 1).bit_length()
        lists = self.free_lists
        for order in range(want, len(lists)):
            if lists[order]:
                start = min(lists[order])
                lists[order].discard(start)
                while order > want:  # split, keeping the lower half
                    order -= 1
                    lists[order].add(start + (1 << order))
                self.free_slots -= 1 << want
                return start
        return -1

    def free(self, start: int, n: int) -> int:
        """Free the chunk at start; returns the size of the free block it is now part of."""
        order = (n - 1).bit_length()
        self.free_slots += 1 << order
        limit = self._arena_order(start)
        lists = self.free_lists
        while order < limit:
            buddy = start ^ (1 << order)
            if buddy not in lists[order]:
                break
            lists[order].discard(buddy)
            start = min(start, buddy)
            order += 1
        lists[order].add(start)
        return 1 << order

    def _arena_order(self, start: int) -> int:
        for a_start, a_order in self.arenas:
            if a_start <= start < a_start + (1 << a_order):
                return a_order
        raise BadInputError(f"slot {start} is outside the pool of {self.size}")  # pragma: no cover

    @property
    def largest_hole(self) -> int:
        return max((1 << o for o, starts in enumerate(self.free_lists) if starts), default=0)

    def blocks(self) -> list[tuple[int, int]]:
        """Free blocks as (start, size), by address."""
        return sorted((s, 1 << o) for o, starts in enumerate(self.free_lists) for s in starts)


ALLOCATORS = {"first-fit": FirstFit, "buddy": Buddy}
