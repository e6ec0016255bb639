"""Paged cache layouts: the tensors a paged KV cache is made of, as the planner sees them.

The kernels (``kvplan.kernels``) allocate caches from these objects, so the bytes a real
allocation holds can be checked against the planner's prediction: for every layout,

    layout.nbytes == num_blocks * kind.page_bytes(fmt, block_size, tp)

Layout (DESIGN.md): ``[num_blocks, block_size, kv_heads, head_dim]`` (NHD) for K and V;
scales in parallel tensors ``[num_blocks, block_size, kv_heads(, groups)]``; an MLA
latent as one ``[num_blocks, block_size, kv_lora_rank + rope_dim]`` tensor. Packed
formats store their payload as uint8 (two int4 / e2m1 values per byte, low nibble first).

Dtypes are torch's names as strings so this module needs no torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod

from kvplan.errors import ShapeError
from kvplan.formats import KVFormat
from kvplan.layers import CacheKind, FullAttention, MLAIndexed, MLALatent

DTYPE_BYTES = {
    "float32": 4,
    "bfloat16": 2,
    "float16": 2,
    "float8_e4m3fn": 1,
    "float8_e5m2": 1,
    "int8": 1,
    "uint8": 1,
}

# Per-format scale tensors: dtype of one scale entry and entries per group.
# int4 / int2: fp16 scale and fp16 zero per group -> trailing dim of 2.
_SCALES = {
    "int8": ("float32", 1),
    "int4": ("float16", 2),
    "int2": ("float16", 2),
    "nvfp4": ("float8_e4m3fn", 1),
    "mxfp4": ("uint8", 1),  # e8m0 exponent
}
_LLAMA_CPP_BLOCK_BYTES = {"q8_0": 34, "q5_1": 24, "q5_0": 22, "q4_1": 20, "q4_0": 18}


@dataclass(frozen=True)
class TensorSpec:
    name: str
    shape: tuple[int, ...]
    dtype: str

    @property
    def nbytes(self) -> int:
        return prod(self.shape) * DTYPE_BYTES[self.dtype]


@dataclass(frozen=True)
class CacheLayout:
    """All tensors of one layer's paged cache: ``num_blocks`` pages of ``block_size`` tokens."""

    kind: CacheKind
    fmt: KVFormat
    num_blocks: int
    block_size: int
    tp: int
    tensors: tuple[TensorSpec, ...]

    @property
    def nbytes(self) -> int:
        return sum(t.nbytes for t in self.tensors)

    def tensor(self, name: str) -> TensorSpec:
        for t in self.tensors:
            if t.name == name:
                return t
        raise KeyError(name)


def _vector_tensors(prefix: str, lead: tuple[int, ...], dim: int, fmt: KVFormat) -> list[TensorSpec]:
    """Tensors holding vectors of ``dim`` values in ``fmt``, indexed by ``lead``."""
    if fmt.name in _LLAMA_CPP_BLOCK_BYTES:
        groups = fmt.scale_groups(dim)
        return [TensorSpec(prefix, (*lead, groups, _LLAMA_CPP_BLOCK_BYTES[fmt.name]), "uint8")]
    if fmt.torch_dtype is not None:
        out = [TensorSpec(prefix, (*lead, dim), fmt.torch_dtype)]
    else:
        out = [TensorSpec(prefix, (*lead, fmt.payload_bytes(dim)), "uint8")]
    if fmt.name in _SCALES:
        dtype, per_group = _SCALES[fmt.name]
        groups = fmt.scale_groups(dim)
        shape = (*lead,) if fmt.scale_scope == "vector" else (*lead, groups)
        if per_group > 1:
            shape = (*shape, per_group)
        out.append(TensorSpec(f"{prefix}_scale", shape, dtype))
    return out


def layer_layout(kind: CacheKind, fmt: KVFormat, num_blocks: int, block_size: int, tp: int = 1) -> CacheLayout:
    """The paged tensors of one layer of ``kind`` on one tensor-parallel rank."""
    if num_blocks < 1 or block_size < 1:
        raise ShapeError(f"a paged cache needs at least one block of one token (got {num_blocks} x {block_size})")
    lead = (num_blocks, block_size)
    if isinstance(kind, FullAttention):  # also sliding window and chunked local
        heads = kind.heads_per_rank(tp)
        tensors = _vector_tensors("k_cache", (*lead, heads), kind.head_dim, fmt) + _vector_tensors(
            "v_cache", (*lead, heads), kind.v_head_dim, fmt
        )
    elif isinstance(kind, MLALatent):
        tensors = _vector_tensors("kv_cache", lead, kind.latent_dim, fmt)
        if isinstance(kind, MLAIndexed):  # DeepSeek-V3.2: the indexer's fp8 keys + fp32 scales, as uint8
            tensors.append(TensorSpec("index_k_cache", (*lead, kind.index_key_bytes), "uint8"))
    else:
        raise ShapeError(f"{kind.kind} layers have no paged token cache")
    layout = CacheLayout(kind, fmt, num_blocks, block_size, tp, tuple(tensors))
    expected = num_blocks * kind.page_bytes(fmt, block_size, tp)
    if layout.nbytes != expected:  # the planner and the layout must never disagree
        raise AssertionError(f"layout {layout.nbytes} B != planner {expected} B for {kind} in {fmt.name}")
    return layout
