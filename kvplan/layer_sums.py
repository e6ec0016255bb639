"""Per-layer KV byte sums, written once.

A model's cache is a sum over its layers, and layers of one cache kind cost the same: so
every sum here runs over the distinct kinds of a set of layers with their layer counts,

    seq_bytes(layers, n) = sum over kinds k of count(k) * k.seq_bytes(n, fmt, tp)

through the kinds' own arithmetic (``kvplan.layers``), which is written with +, -, *, //
and comparisons only: ``n`` may be a Python int (exact) or a numpy int64 array (the sweep
and the plots evaluate whole columns of contexts at once). footprint, sweep, plots,
capacity and measure all sum through these functions.

Pipeline stages take the layer ranges of ``pp_stage_ranges`` (vLLM's ``get_pp_indices``:
32 layers over 3 stages -> 11, 11, 10); "per GPU" figures are those of the most loaded
stage on one tensor-parallel rank.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from kvplan.formats import KVFormat
from kvplan.layers import CacheKind
from kvplan.spec import ModelSpec

Terms = tuple[tuple[CacheKind, int], ...]


def pp_stage_ranges(num_layers: int, pp: int) -> list[range]:
    """Contiguous layer ranges per pipeline stage, as vLLM splits them.

    32 layers over 3 stages -> 11, 11, 10 (vLLM gives the extra layers to the stages
    before the last one, which also holds the LM head)."""
    sizes = [num_layers // pp] * pp
    for i in range(2, num_layers % pp + 2):
        sizes[-i] += 1
    out, start = [], 0
    for size in sizes:
        out.append(range(start, start + size))
        start += size
    return out


def kind_counts(spec: ModelSpec, layers: Iterable[int] | None = None) -> Terms:
    """(distinct cache kind, number of layers of it) over ``layers`` (default: all), in order
    of first appearance."""
    counts: dict[CacheKind, int] = {}
    for i in range(spec.num_layers) if layers is None else layers:
        kind = spec.layers[i]
        counts[kind] = counts.get(kind, 0) + 1
    return tuple(counts.items())


_STAGE_TERMS: dict[tuple[int, int], tuple] = {}


def stage_terms(spec: ModelSpec, pp: int = 1) -> tuple[Terms, ...]:
    """kind_counts of every pipeline stage. Memoised by the spec's identity (hashing a spec
    hashes every layer, too slow for a sweep's inner loop); the entry holds the spec so its
    id is never reused while cached."""
    key = (id(spec), pp)
    hit = _STAGE_TERMS.get(key)
    if hit is not None and hit[0] is spec:
        return hit[1]
    terms = tuple(kind_counts(spec, r) for r in pp_stage_ranges(spec.num_layers, pp))
    if len(_STAGE_TERMS) > 512:
        _STAGE_TERMS.clear()
    _STAGE_TERMS[key] = (spec, terms)
    return terms


def model_terms(spec: ModelSpec) -> Terms:
    """kind_counts of the whole model."""
    return stage_terms(spec, 1)[0]


def sum_terms(terms: Terms, fn: Callable[[CacheKind], object]):
    """sum(count * fn(kind)) over (kind, count) terms: an int, or an int64 array."""
    return sum(count * fn(kind) for kind, count in terms)


def maximum(a, b):
    """max() of two ints, or element-wise of numpy integer arrays."""
    if isinstance(a, int) and isinstance(b, int):
        return max(a, b)
    import numpy as np

    return np.maximum(a, b)


# -- the sums -------------------------------------------------------------------------------
def bytes_per_token(spec: ModelSpec, fmt: KVFormat, tp: int = 1) -> int:
    """Bytes one more cached token costs across all layers on one rank (sliding layers
    included: the cost while the window is not yet full)."""
    return sum_terms(model_terms(spec), lambda k: k.per_token_bytes(fmt, tp))


def seq_bytes(terms: Terms, n, fmt: KVFormat, tp: int = 1):
    """One sequence of ``n`` tokens over ``terms``, unpaged, one rank."""
    return sum_terms(terms, lambda k: k.seq_bytes(n, fmt, tp))


def paged_seq_bytes(terms: Terms, n, fmt: KVFormat, block_size: int, tp: int = 1):
    """One sequence of ``n`` tokens over ``terms`` in pages of ``block_size``, one rank."""
    return sum_terms(terms, lambda k: k.paged_seq_bytes(n, fmt, block_size, tp))


def per_gpu_seq_bytes(spec: ModelSpec, n, fmt: KVFormat, tp: int = 1, pp: int = 1, block_size: int | None = None):
    """One sequence on the most loaded GPU (largest stage, one rank); paged when
    ``block_size`` is given. ``n`` an int or an int64 array."""
    out = None
    for terms in stage_terms(spec, pp):
        if block_size is None:
            value = seq_bytes(terms, n, fmt, tp)
        else:
            value = paged_seq_bytes(terms, n, fmt, block_size, tp)
        out = value if out is None else maximum(out, value)
    return out
