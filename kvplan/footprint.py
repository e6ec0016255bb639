"""Exact KV-cache footprint of a model: per token, per sequence, per batch, per GPU.

    per token, full attention = layers * kv_heads * (k_head_dim + v_head_dim) * bytes
    Llama-3-8B, bf16:  32 * 8 * (128 + 128) * 2 = 131,072 B; 32k tokens = 4 GiB

Every figure is an integer number of bytes, summed through ``kvplan.layer_sums``.
Parallelism follows vLLM: each tensor-
parallel rank keeps max(1, kv_heads // tp) heads of every attention layer (MLA latents
are replicated on every rank); pipeline stages take contiguous layer ranges split as
vLLM's ``get_pp_indices`` does (the remainder goes to the stages before the last).
"""

from __future__ import annotations

from dataclasses import dataclass

from kvplan.errors import BadInputError, ShapeError
from kvplan.formats import KVFormat
from kvplan.layer_sums import bytes_per_token, paged_seq_bytes, pp_stage_ranges, seq_bytes, stage_terms
from kvplan.layers import CacheKind
from kvplan.spec import ModelSpec

__all__ = ["Parallelism", "Footprint", "GroupFootprint", "StageFootprint", "footprint", "check_parallelism",
           "check_sizes", "supported_formats", "bytes_per_token", "pp_stage_ranges"]


@dataclass(frozen=True)
class Parallelism:
    """Tensor- and pipeline-parallel degrees."""

    tp: int = 1
    pp: int = 1

    @property
    def num_gpus(self) -> int:
        return self.tp * self.pp


def check_parallelism(spec: ModelSpec, par: Parallelism) -> None:
    """Raise ShapeError/BadInputError if ``spec`` cannot be split over ``par`` (the engine's own
    dense-split asserts: Engine.check_tp_splits)."""
    if par.tp < 1 or par.pp < 1:
        raise BadInputError(f"tp and pp must be at least 1 (got tp={par.tp}, pp={par.pp})")
    if par.pp > spec.num_layers:
        raise ShapeError(f"pp={par.pp} exceeds the model's {spec.num_layers} layers")
    # Attention-free models (Mamba) carry placeholder head counts: their mixers check tp themselves.
    if any(kind.has_attention for kind in {*spec.layers}) and spec.num_attention_heads % par.tp:
        raise ShapeError(
            f"tp={par.tp} does not divide {spec.name}'s {spec.num_attention_heads} attention heads"
        )
    for kind in {*spec.layers}:
        kind.check_tp(par.tp)


def check_sizes(ctx: int, batch: int, block_size: int) -> None:
    for what, value in (("ctx", ctx), ("batch", batch), ("block size", block_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise BadInputError(f"{what} must be a positive whole number, got {value!r}")


@dataclass(frozen=True)
class GroupFootprint:
    """One group of layers sharing a cache kind, for the whole sequence batch, tp=1."""

    label: str
    kind: CacheKind
    num_layers: int
    per_token_bytes: int  # one layer, one token, tp=1
    cached_tokens: int  # per sequence at ctx
    total_bytes: int  # all layers of the group, whole batch, unpaged
    paged_total_bytes: int


@dataclass(frozen=True)
class StageFootprint:
    """One pipeline stage on one tensor-parallel rank."""

    stage: int
    layers: range
    bytes: int
    paged_bytes: int


@dataclass(frozen=True)
class Footprint:
    """Footprint of ``batch`` sequences of ``ctx`` tokens in one format (all figures in bytes)."""

    model: str
    kv_dtype: str
    ctx: int
    batch: int
    block_size: int
    tp: int
    pp: int
    bytes_per_token: int  # whole model, tp=1: the cost of one more cached token in every layer
    seq_bytes: int  # one sequence at ctx, whole model, unpaged
    total_bytes: int  # ctx x batch, whole model, unpaged (as if on one GPU)
    paged_total_bytes: int  # same, in pages of block_size tokens
    per_gpu_bytes: int  # the most loaded GPU (largest stage, one tp rank), unpaged
    per_gpu_paged_bytes: int
    all_gpus_bytes: int  # every GPU together (replicated heads/latents counted on each)
    all_gpus_paged_bytes: int
    groups: tuple[GroupFootprint, ...]
    stages: tuple[StageFootprint, ...]

    @property
    def num_gpus(self) -> int:
        return self.tp * self.pp


def footprint(
    spec: ModelSpec,
    fmt: KVFormat,
    ctx: int,
    batch: int = 1,
    block_size: int = 16,
    par: Parallelism = Parallelism(),
) -> Footprint:
    """The exact footprint of ``batch`` sequences of ``ctx`` tokens in format ``fmt``."""
    check_sizes(ctx, batch, block_size)
    check_parallelism(spec, par)
    groups = tuple(
        GroupFootprint(
            label=g.label,
            kind=g.kind,
            num_layers=g.count,
            per_token_bytes=g.kind.per_token_bytes(fmt),
            cached_tokens=g.kind.cached_tokens(ctx),
            total_bytes=g.count * g.kind.seq_bytes(ctx, fmt) * batch,
            paged_total_bytes=g.count * g.kind.paged_seq_bytes(ctx, fmt, block_size) * batch,
        )
        for g in spec.groups
    )
    stages = tuple(
        StageFootprint(
            stage=i,
            layers=r,
            bytes=seq_bytes(terms, ctx, fmt, par.tp) * batch,
            paged_bytes=paged_seq_bytes(terms, ctx, fmt, block_size, par.tp) * batch,
        )
        for i, (r, terms) in enumerate(zip(pp_stage_ranges(spec.num_layers, par.pp), stage_terms(spec, par.pp)))
    )
    return Footprint(
        model=spec.name,
        kv_dtype=fmt.name,
        ctx=ctx,
        batch=batch,
        block_size=block_size,
        tp=par.tp,
        pp=par.pp,
        bytes_per_token=bytes_per_token(spec, fmt),
        seq_bytes=sum(g.total_bytes for g in groups) // batch,
        total_bytes=sum(g.total_bytes for g in groups),
        paged_total_bytes=sum(g.paged_total_bytes for g in groups),
        per_gpu_bytes=max(s.bytes for s in stages),
        per_gpu_paged_bytes=max(s.paged_bytes for s in stages),
        all_gpus_bytes=par.tp * sum(s.bytes for s in stages),
        all_gpus_paged_bytes=par.tp * sum(s.paged_bytes for s in stages),
        groups=groups,
        stages=stages,
    )


def supported_formats(spec: ModelSpec, formats) -> tuple[list[KVFormat], dict[str, str]]:
    """Split formats into those every layer can store and those it cannot (with why)."""
    ok, skipped = [], {}
    for fmt in formats:
        try:
            for kind in {*spec.layers}:
                kind.per_token_bytes(fmt)
        except ShapeError as err:
            skipped[fmt.name] = str(err)
        else:
            ok.append(fmt)
    return ok, skipped
