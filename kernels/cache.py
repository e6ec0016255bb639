"""Allocating paged KV caches from the planner's layout objects.

``allocate(layout, device)`` carves every tensor of one layer's cache (payload and scale
tensors, as ``kvplan.layout.layer_layout`` lists them) out of ONE uint8 buffer, so the
bytes a real allocation holds are the planner's paged prediction by construction:

    sum(t.nbytes for t in allocate(layout).values()) == layout.nbytes
        == num_blocks * kind.page_bytes(fmt, block_size, tp)

Names: ``k_cache``, ``v_cache`` (+ ``k_cache_scale``, ``v_cache_scale``) for attention
layers, ``kv_cache`` (+ ``kv_cache_scale``) for an MLA latent; they match the keyword
arguments of the kernels, so ``paged_kv_write(key, value, slot_mapping=s, **cache)`` works.
"""

from __future__ import annotations

import torch

from kvplan.layout import CacheLayout, layer_layout

#: PyTorch's CUDA caching allocator rounds every request up to a multiple of 512 bytes
#: (c10/cuda/CUDACachingAllocator.cpp: ``kMinBlockSize = 512; // all sizes are rounded
#: to at least 512 bytes``).
CUDA_ALLOCATOR_GRANULE_BYTES = 512


def cuda_allocated_bytes(nbytes: int) -> int:
    """What ``torch.cuda.memory_allocated`` grows by for one request of ``nbytes``.

    ``cdiv(nbytes, 512) * 512``. One caveat from the same allocator source: a request
    over 1 MiB that is served from a larger free block (or a fresh segment, rounded to
    2 MiB) is handed out WHOLE when splitting it would leave 1 MiB or less
    (``should_split``: ``remaining > kSmallSize``), and memory_allocated then counts the
    whole block, up to 1 MiB more than this figure. With
    ``PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True`` blocks are always split.
    """
    granule = CUDA_ALLOCATOR_GRANULE_BYTES
    return -(-nbytes // granule) * granule


# The caching allocator's sizes (pytorch c10/cuda/CUDACachingAllocator.cpp and
# c10/core/AllocatorConfig.h, torch 2.3 .. 2.11): requests up to kSmallSize (1 MiB) come
# from 2 MiB segments and are always split; larger requests take a fresh segment of
# kLargeBuffer (20 MiB) when under kMinLargeAlloc (10 MiB), else the request rounded up to
# kRoundLarge (2 MiB); such a block is split only when more than kSmallSize would remain
# (``should_split``), otherwise it is handed out whole and memory_allocated counts all of it.
MIB = 1 << 20
SMALL_SIZE_BYTES = 1 * MIB
LARGE_BUFFER_BYTES = 20 * MIB
MIN_LARGE_ALLOC_BYTES = 10 * MIB
ROUND_LARGE_BYTES = 2 * MIB


def caching_allocator_bytes(nbytes: int, alloc_conf: str | None = None) -> int | None:
    """What ``torch.cuda.memory_allocated`` grows by for ONE request of ``nbytes`` served
    from a fresh segment (the pool emptied first, as kvplan measure does).

    Default configuration: ``r = cuda_allocated_bytes(nbytes)``; for r > 1 MiB the segment
    is ``20 MiB`` (r < 10 MiB) or ``r`` rounded up to 2 MiB, and the block is counted whole
    when splitting it would leave 1 MiB or less. Worked numbers: a 6 MiB request gets a
    20 MiB segment, 14 MiB would remain, so 6 MiB is counted; a 15 MiB request gets 16 MiB,
    1 MiB would remain (not more), so 16 MiB is counted; 145.5 MiB gets 146 MiB, counted whole. With ``expandable_segments:True``
    blocks are always split (r is counted); ``max_split_size_mb:M`` stops splitting
    requests of M MiB or more. Any other ``PYTORCH_CUDA_ALLOC_CONF`` setting (rounding by
    power-of-two divisions, another backend) is not modelled: returns None.
    """
    size = cuda_allocated_bytes(nbytes)
    expandable = False
    max_split = None
    for item in (alloc_conf or "").replace(";", ",").split(","):
        if not item.strip():
            continue
        key, _, value = item.partition(":")
        key, value = key.strip(), value.strip()
        if key == "expandable_segments":
            expandable = value.lower() == "true"
        elif key == "max_split_size_mb":
            try:
                max_split = int(value) * MIB
            except ValueError:
                return None
        elif key in ("garbage_collection_threshold", "release_lock_on_cudamalloc"):
            continue  # no effect on a request served from a fresh segment
        else:
            return None
    if size <= SMALL_SIZE_BYTES or expandable:
        return size
    segment = LARGE_BUFFER_BYTES if size < MIN_LARGE_ALLOC_BYTES else -(-size // ROUND_LARGE_BYTES) * ROUND_LARGE_BYTES
    splits = segment - size > SMALL_SIZE_BYTES and (max_split is None or size < max_split)
    return size if splits else segment


def _torch_dtype(name: str) -> torch.dtype:
    dtype = getattr(torch, name, None)
    if not isinstance(dtype, torch.dtype):
        raise ValueError(f"layout dtype {name!r} is not a torch dtype")
    return dtype


def allocate(layout: CacheLayout, device: str | torch.device = "cpu") -> dict[str, torch.Tensor]:
    """Every tensor of ``layout`` as a view of one uint8 buffer on ``device``.

    Returns ``{name: tensor}`` with the layout's names, shapes and dtypes (contiguous).
    The buffer holds exactly ``layout.nbytes`` bytes: tensors are placed in order of
    decreasing element size, so each view's byte offset is a multiple of its element
    size without any padding (checked; a ValueError otherwise). The memory is
    uninitialised (``torch.empty``).

    On CUDA, from an emptied pool, ``torch.cuda.memory_allocated`` grows by
    ``caching_allocator_bytes(layout.nbytes)``: the bytes rounded up to the allocator's
    512-byte granule, or a whole segment when the allocator leaves it unsplit.
    """
    if not isinstance(layout, CacheLayout):
        raise TypeError(f"allocate() needs a kvplan.layout.CacheLayout, got {type(layout).__name__}")
    return _carve(torch.empty(layout.nbytes, dtype=torch.uint8, device=torch.device(device)), layout)


def _carve(buffer: torch.Tensor, layout: CacheLayout) -> dict[str, torch.Tensor]:
    """The layout's tensors as views of ``buffer`` (uint8, exactly layout.nbytes)."""
    specs = sorted(layout.tensors, key=lambda t: -_torch_dtype(t.dtype).itemsize)  # stable
    out: dict[str, torch.Tensor] = {}
    offset = 0
    for spec in specs:
        dtype = _torch_dtype(spec.dtype)
        if offset % dtype.itemsize:
            raise ValueError(f"{spec.name}: byte offset {offset} is not aligned for {spec.dtype}")
        view = buffer[offset : offset + spec.nbytes].view(dtype).view(spec.shape)
        out[spec.name] = view
        offset += spec.nbytes
    if offset != layout.nbytes:  # the views must tile the buffer exactly
        raise AssertionError(f"carved {offset} B of a {layout.nbytes} B buffer")
    return {spec.name: out[spec.name] for spec in layout.tensors}  # the layout's order


def allocate_pool(layouts, device: str | torch.device = "cpu") -> tuple[torch.Tensor, list[dict[str, torch.Tensor]]]:
    """Every layer's cache as views of ONE uint8 pool tensor (as vLLM allocates its KV
    pool and views each layer into it): one allocation, so the allocator's rounding and
    segment splitting act once (``caching_allocator_bytes(pool.numel())``) and the tensor
    bytes are exactly ``sum(layout.nbytes)``.

    Layers are placed in order, each carved as ``allocate`` carves its one buffer; a
    layer's start must be aligned for its widest dtype (checked; the layouts of one
    format are multiples of 16 bytes in practice). Returns (pool, [caches])."""
    layouts = list(layouts)
    for layout in layouts:
        if not isinstance(layout, CacheLayout):
            raise TypeError(f"allocate_pool() needs kvplan.layout.CacheLayout objects, got {type(layout).__name__}")
    total = sum(layout.nbytes for layout in layouts)
    pool = torch.empty(total, dtype=torch.uint8, device=torch.device(device))
    caches, offset = [], 0
    for layout in layouts:
        widest = max((_torch_dtype(t.dtype).itemsize for t in layout.tensors), default=1)
        if offset % widest:
            raise ValueError(f"layer at byte {offset} of the pool is not aligned for its {widest}-byte dtype")
        caches.append(_carve(pool[offset : offset + layout.nbytes], layout))
        offset += layout.nbytes
    return pool, caches


def cache_nbytes(cache: dict[str, torch.Tensor] | None) -> int:
    """Bytes of all tensors of one layer's cache (0 for ``None``)."""
    if cache is None:
        return 0
    return sum(t.numel() * t.element_size() for t in cache.values())


def allocate_model(
    spec,
    fmt,
    num_blocks: int,
    block_size: int,
    *,
    tp: int = 1,
    layers: range | None = None,
    device: str | torch.device = "cpu",
) -> list[dict[str, torch.Tensor] | None]:
    """One cache per layer of ``spec`` (a kvplan.spec.ModelSpec) in ``fmt`` (a KVFormat).

    ``layers`` restricts to a range (a pipeline stage); the list has one entry per
    layer of that range. Layers without a paged token cache (state-space layers, layers
    sharing another layer's cache) get ``None``. Each layer is its own allocation, so on
    CUDA memory_allocated grows by the sum of ``cuda_allocated_bytes`` of each layout.
    """
    from kvplan.layers import FullAttention, MLALatent

    idx = range(spec.num_layers) if layers is None else layers
    out: list[dict[str, torch.Tensor] | None] = []
    for i in idx:
        kind = spec.layers[i]
        if isinstance(kind, (FullAttention, MLALatent)):
            out.append(allocate(layer_layout(kind, fmt, num_blocks, block_size, tp), device))
        else:
            out.append(None)
    return out
