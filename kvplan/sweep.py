"""Sweeps: the footprint of every point of a (model x ctx x batch x format x tp x pp) grid.

The grid is evaluated with numpy, through the same sums as every other command
(``kvplan.layer_sums``, over the cache kinds' own arithmetic, which accepts int64 arrays of
context lengths as well as ints), so one pass per (model, format, tp, pp) gives a whole
column of contexts, and batch is an outer product:

    seq_bytes[ctx]          = sum over distinct kinds of count * kind.seq_bytes(ctx, fmt)
    total_bytes[ctx, batch] = seq_bytes[ctx] * batch                 (as in footprint())
    per_gpu_bytes           = the largest pipeline stage's sum at tp, times batch

There is no second copy of any formula; tests/test_sweep.py checks every row against
``kvplan.footprint.footprint`` exactly (hypothesis over random grids).

numpy and pandas are imported only inside the functions here (planning commands never
import this module's dependencies); pyarrow only to write CSV/Parquet.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from kvplan import limits
from kvplan.errors import BadInputError, NeedsExtraError, ShapeError
from kvplan.layer_sums import bytes_per_token, model_terms, paged_seq_bytes, per_gpu_seq_bytes, seq_bytes
from kvplan.spec import ModelSpec

#: Columns of a sweep, in order.
KEY_COLUMNS = ("model", "ctx", "batch", "kv_dtype", "tp", "pp", "block_size")
BYTE_COLUMNS = (
    "bytes_per_token",  # whole model, one rank of tp=1 (as Footprint.bytes_per_token)
    "seq_bytes",  # one sequence at ctx, unpaged
    "total_bytes",  # ctx x batch, unpaged, whole model
    "paged_total_bytes",  # same in pages of block_size tokens
    "per_gpu_bytes",  # the most loaded GPU (largest pp stage, one tp rank), unpaged
    "per_gpu_paged_bytes",
)
#: Added with a GPU: the answers of that deployment's KV pool (kvplan.capacity.Pool), the same
#: ones `kvplan capacity` and `kvplan check` give.
GPU_COLUMNS = (
    "kv_pool_bytes",  # the engine's KV pool on the most loaded GPU
    "reserved_bytes",  # what batch requests of ctx hold in it (blocks x bytes per block, engine rules)
    "headroom_bytes",  # the usable blocks the load leaves, in bytes (Pool.headroom_bytes, as check)
    "max_requests",  # whole requests of ctx that run at once (capped by max_num_seqs; 0 past max_model_len,
    #                  and 0 where the deployment does not start: Pool.max_requests)
    "fits",  # batch requests of ctx run at once
    "limit",  # what stops them: weights, max_model_len (the request's, or the deployment's does not
    #           start), max_num_seqs, memory ("" when they fit)
)

_INT64_MAX = 2**63 - 1


@dataclass(frozen=True)
class Grid:
    """A parsed, validated sweep grid. Format names are resolved per model ('auto')."""

    models: tuple[ModelSpec, ...]
    ctxs: tuple[int, ...]
    batches: tuple[int, ...]
    kv_dtypes: tuple[str, ...]
    tps: tuple[int, ...] = (1,)
    pps: tuple[int, ...] = (1,)
    #: Tokens per page; None: with a GPU the block each point's pool runs (the engine decides, as
    #: `kvplan capacity` without --block-size), without one 16 (run_sweep resolves it).
    block_size: int | None = 16


@dataclass(frozen=True)
class Skipped:
    """Points left out of the grid, and why: a format (tp, pp None) or a parallelism
    (kv_dtype None) the model cannot use."""

    model: str
    kv_dtype: str | None
    tp: int | None
    pp: int | None
    reason: str

    def as_dict(self) -> dict:
        return {"model": self.model, "kv_dtype": self.kv_dtype, "tp": self.tp, "pp": self.pp, "reason": self.reason}


class SharedList(list):
    """A list that copy.deepcopy returns as it is (read-only metadata in DataFrame.attrs)."""

    def __deepcopy__(self, memo):
        return self


# -- parsing ------------------------------------------------------------------------------
def _dedupe(items: Iterable) -> tuple:
    """Drop repeats, keep the first-seen order."""
    return tuple(dict.fromkeys(items))


def _as_items(value, what: str) -> list:
    """A comma-separated string, a single value, or an iterable -> a non-empty list."""
    if isinstance(value, str):
        from kvplan.units import parse_list

        return parse_list(value, lambda t, _w: t, what)
    if isinstance(value, (bytes, dict)) or not hasattr(value, "__iter__"):
        return [value]  # one value (an int, a ModelSpec ...); each item is checked by its parser
    items = list(value)
    if not items:
        raise BadInputError(f"{what}: the list is empty; give at least one value")
    return items


def parse_counts(value, what: str, *, suffixes: bool = True, limit: int = limits.MAX_TOKENS) -> tuple[int, ...]:
    """``'4k,8k'`` / ``[4096, '8k']`` / ``4096`` -> (4096, 8192). Positive whole numbers of at
    most ``limit`` (kvplan.limits) only."""
    from kvplan.units import parse_tokens

    out = []
    for item in _as_items(value, what):
        if not suffixes and isinstance(item, str) and not item.strip().isdigit():
            raise BadInputError(f"{what}: {item!r} is not a positive whole number")
        if not isinstance(item, (int, str)) or isinstance(item, bool):
            raise BadInputError(f"{what}: expected a whole number, got {item!r}")
        out.append(parse_tokens(item, what, limit))
    return _dedupe(out)


def parse_models(value) -> tuple[ModelSpec, ...]:
    """``'llama3-8b,my.yaml'`` or a list of names/paths/ModelSpecs -> specs (deduplicated)."""
    from kvplan.loader import load_model

    items = _as_items(value, "model")
    specs = _dedupe(item if isinstance(item, ModelSpec) else load_model(str(item)) for item in items)
    names = [s.name for s in specs]
    for name in names:
        if names.count(name) > 1:
            origins = " and ".join(s.origin or s.name for s in specs if s.name == name)
            raise BadInputError(f"two different models are named {name!r} ({origins}); give each spec its own name")
    return specs


def parse_kv_dtypes(value) -> tuple[str, ...]:
    """Format names as given (checked now; 'auto' is resolved per model later)."""
    from kvplan.formats import FORMATS, get_format

    items = [str(i) for i in _as_items(value, "kv format")]
    if len(items) == 1 and items[0].strip().lower() == "all":
        return tuple(FORMATS)
    for item in items:
        get_format(item, "bf16")  # raises UnknownNameError with suggestions
    return _dedupe(i.strip() for i in items)


def make_grid(models, ctx, batch=1, kv_dtype="auto", tp=1, pp=1, block_size: int | None = 16) -> Grid:
    """Parse and check every axis of a grid; raise BadInputError (one line) on bad input,
    and on a grid of more than kvplan.limits.MAX_GRID_POINTS points (before loading a model).
    ``block_size`` None: the engine's block with a GPU, else 16 (resolved by run_sweep)."""
    if block_size is not None and (isinstance(block_size, bool) or not isinstance(block_size, int)
                                   or block_size < 1):
        raise BadInputError(f"block size must be a positive whole number, got {block_size!r}")
    if block_size is not None:
        limits.check_int(block_size, "block size", limits.MAX_BLOCK_SIZE)
    ctxs = parse_counts(ctx, "ctx")
    batches = parse_counts(batch, "batch", limit=limits.MAX_BATCH)
    kv_dtypes = parse_kv_dtypes(kv_dtype)
    tps = parse_counts(tp, "tp", suffixes=False, limit=limits.MAX_DEGREE)
    pps = parse_counts(pp, "pp", suffixes=False, limit=limits.MAX_DEGREE)
    n_models = len(_as_items(models, "model"))
    points = n_models * len(ctxs) * len(batches) * len(kv_dtypes) * len(tps) * len(pps)
    if points > limits.MAX_GRID_POINTS:
        raise BadInputError(
            f"the grid has {points:,} points ({n_models} models x {len(ctxs)} ctx x {len(batches)} batch x "
            f"{len(kv_dtypes)} formats x {len(tps)} tp x {len(pps)} pp), beyond kvplan's limit of "
            f"{limits.MAX_GRID_POINTS:,} per sweep (see docs/limits.md); split it into several sweeps"
        )
    return Grid(models=parse_models(models), ctxs=ctxs, batches=batches, kv_dtypes=kv_dtypes, tps=tps, pps=pps,
                block_size=block_size)


# -- evaluation ---------------------------------------------------------------------------
@dataclass(frozen=True)
class CtxColumns:
    """Per-sequence figures of one (model, format, tp, pp) over an array of contexts."""

    bytes_per_token: int
    seq_bytes: object  # int64 array, one entry per ctx
    paged_seq_bytes: object
    per_gpu_seq_bytes: object  # most loaded GPU, one sequence
    per_gpu_paged_seq_bytes: object


def _column(x, shape):
    """An int64 array of ``shape``: arrays pass through, a plain int (a model of constant-state
    layers only) is broadcast."""
    import numpy as np

    if isinstance(x, np.ndarray) and x.shape == shape and x.dtype == np.int64:
        return x
    return np.broadcast_to(np.asarray(x, dtype=np.int64), shape)


def whole_model_columns(spec: ModelSpec, fmt, n, block_size: int = 16):
    """(bytes_per_token, seq_bytes[n], paged_seq_bytes[n]) of the whole model at tp=1."""
    import numpy as np

    terms = model_terms(spec)
    shape = np.shape(n)
    return (int(bytes_per_token(spec, fmt)), _column(seq_bytes(terms, n, fmt), shape),
            _column(paged_seq_bytes(terms, n, fmt, block_size), shape))


def per_gpu_columns(spec: ModelSpec, fmt, n, block_size: int = 16, tp: int = 1, pp: int = 1):
    """(bytes[n], paged_bytes[n]) of one sequence on the most loaded GPU (largest stage, one
    tp rank). The parallelism must already be checked (footprint.check_parallelism)."""
    import numpy as np

    shape = np.shape(n)
    return (_column(per_gpu_seq_bytes(spec, n, fmt, tp, pp), shape),
            _column(per_gpu_seq_bytes(spec, n, fmt, tp, pp, block_size), shape))


def ctx_columns(spec: ModelSpec, fmt, ctxs, block_size: int = 16, tp: int = 1, pp: int = 1) -> CtxColumns:
    """Evaluate one (model, format, tp, pp) at every context in ``ctxs`` (int64 array).

    Sums ``count * kind.seq_bytes(ctx, fmt, tp)`` (and ``paged_seq_bytes``) over the
    distinct cache kinds of the model, and of each pipeline stage for the per-GPU figures:
    the kinds' own arithmetic, run on arrays. Raises ShapeError when the model cannot be
    split or stored that way."""
    import numpy as np

    from kvplan.footprint import Parallelism, check_parallelism

    n = np.asarray(ctxs, dtype=np.int64)
    check_parallelism(spec, Parallelism(tp, pp))
    bpt, seq, paged = whole_model_columns(spec, fmt, n, block_size)
    per_gpu, per_gpu_paged = per_gpu_columns(spec, fmt, n, block_size, tp, pp)
    return CtxColumns(bpt, seq, paged, per_gpu, per_gpu_paged)


def check_int64(spec: ModelSpec, fmt, ctx: int, batch: int, block_size: int, what: str = "a sweep column") -> None:
    """Refuse figures that would not fit an int64 column (exact Python-int bound), for the
    largest ``ctx`` and ``batch`` of a sweep or a plot: numpy would wrap them silently.

    Paged bytes bound every other figure of a point (pages hold at least the tokens; a
    rank holds at most the whole), so the paged total at the largest ctx and batch does.
    Raises ShapeError first when the layers cannot be stored in ``fmt``."""
    worst = paged_seq_bytes(model_terms(spec), ctx, fmt, block_size) * batch
    if worst > _INT64_MAX:
        raise BadInputError(
            f"{spec.name} at ctx {ctx:,} x batch {batch:,} needs {worst:,} bytes, "
            f"beyond what {what} holds (2**63 - 1); use smaller ctx or batch values"
        )


def _check_int64(spec: ModelSpec, fmt, grid: Grid, block_size: int) -> None:
    check_int64(spec, fmt, max(grid.ctxs), max(grid.batches), block_size)


def _model_block(spec: ModelSpec, grid: Grid, gpu, deploy: dict, skipped: list[Skipped], kv_names: list[str],
                 progress=None, notes: dict | None = None):
    import numpy as np

    from kvplan.footprint import Parallelism, check_parallelism
    from kvplan.formats import get_format

    if gpu is not None:  # formats named "auto" are the dtype the engine runs the model in
        from kvplan.capacity import served_spec
        from kvplan.engines import get_engine

        # the layers as the engine's pool holds them (SGLang: windows kept whole)
        spec = get_engine(deploy.get("engine") or "vllm").pooled_spec(served_spec(spec, gpu, **deploy))
    fmts = _dedupe(get_format(name, spec.dtype) for name in grid.kv_dtypes)
    ctx = np.asarray(grid.ctxs, dtype=np.int64)
    bat = np.asarray(grid.batches, dtype=np.int64)
    nc, nb, nf, nt, npp = len(ctx), len(bat), len(fmts), len(grid.tps), len(grid.pps)
    shape = (nc, nb, nf, nt, npp)
    names = ["block_size", "bytes_per_token", "seq_bytes", "total_bytes", "paged_total_bytes", "per_gpu_bytes",
             "per_gpu_paged_bytes"]
    if gpu is not None:
        names += ["kv_pool_bytes", "reserved_bytes", "headroom_bytes", "max_requests", "limit_code"]
    out = {name: np.zeros(shape, dtype=np.int64) for name in names}
    valid = np.zeros((nf, nt, npp), dtype=bool)
    # What a model cannot do is reported once: a parallelism for all formats, a format for all tp/pp.
    pars = []
    tick = progress or (lambda k: None)  # sweep_units(grid, gpu) units a model, as they are done
    for ti, tp in enumerate(grid.tps):
        for pi, pp in enumerate(grid.pps):
            try:
                check_parallelism(spec, Parallelism(tp, pp))
            except ShapeError as err:
                skipped.append(Skipped(spec.name, None, tp, pp, str(err)))
            else:
                pars.append((ti, tp, pi, pp))
            tick(1)
    share = 1 / len(fmts) if gpu is not None else 0  # with a GPU each (tp, pp) is one more unit over the formats
    engine = None
    if gpu is not None:
        from kvplan.engines import get_engine

        engine = get_engine(deploy.get("engine") or "vllm")
    for fi, fmt in enumerate(fmts):
        try:
            # also raises ShapeError for a format the layers cannot store (with a GPU the block is the
            # pool's, checked again below)
            _check_int64(spec, fmt, grid, grid.block_size or 1)
            if engine is not None:
                engine.check_kv_format(fmt, spec.dtype)  # a format the engine cannot run: no pool to ask
        except BadInputError as err:  # ShapeError included
            skipped.append(Skipped(spec.name, fmt.name, None, None, str(err)))
            tick(share * (len(grid.tps) * len(grid.pps)))
            continue
        whole = {}  # block -> the whole-model columns at that block
        tick(share * (len(grid.tps) * len(grid.pps) - len(pars)))  # the (tp, pp) already skipped
        for ti, tp, pi, pp in pars:
            sl = (slice(None), slice(None), fi, ti, pi)
            block = grid.block_size
            if gpu is not None:
                tick(share)
                # the request as `kvplan capacity` makes it (grid.block_size None: the engine decides);
                # the byte columns then count the pages that pool runs
                try:
                    pool = _pool_columns(out, sl, spec, gpu, deploy, fmt, tp, pp, grid.block_size, ctx, bat)
                    block = pool.block_size
                    if grid.block_size is None:
                        _check_int64(spec, fmt, grid, block)
                except BadInputError as err:  # the engine refuses this request (e.g. an MLA block on Blackwell)
                    skipped.append(Skipped(spec.name, fmt.name, tp, pp, str(err)))
                    continue
                if notes is not None:  # the pool's caveats, as `kvplan capacity` prints them for it
                    for text in pool.notes:
                        notes.setdefault(text, []).append({"model": spec.name, "kv_dtype": fmt.name, "tp": tp,
                                                           "pp": pp})
            if block not in whole:
                whole[block] = whole_model_columns(spec, fmt, ctx, block)
            bpt, seq, paged = whole[block]
            per_gpu, per_gpu_paged = per_gpu_columns(spec, fmt, ctx, block, tp, pp)
            valid[fi, ti, pi] = True
            out["block_size"][sl] = block
            out["bytes_per_token"][sl] = bpt
            out["seq_bytes"][sl] = seq[:, None]
            out["total_bytes"][sl] = np.multiply.outer(seq, bat)
            out["paged_total_bytes"][sl] = np.multiply.outer(paged, bat)
            out["per_gpu_bytes"][sl] = np.multiply.outer(per_gpu, bat)
            out["per_gpu_paged_bytes"][sl] = np.multiply.outer(per_gpu_paged, bat)
    if not valid.any():
        return None
    for fmt in fmts:
        if fmt.name not in kv_names:
            kv_names.append(fmt.name)
    kv_codes = np.asarray([kv_names.index(f.name) for f in fmts], dtype=np.int16)
    keys = {
        "ctx": np.broadcast_to(ctx[:, None, None, None, None], shape),
        "batch": np.broadcast_to(bat[None, :, None, None, None], shape),
        "kv_dtype": np.broadcast_to(kv_codes[None, None, :, None, None], shape),
        "tp": np.broadcast_to(np.asarray(grid.tps, dtype=np.int64)[None, None, None, :, None], shape),
        "pp": np.broadcast_to(np.asarray(grid.pps, dtype=np.int64)[None, None, None, None, :], shape),
    }
    cols = {**keys, **out}
    if valid.all():
        flat = {name: np.ascontiguousarray(a).reshape(-1) for name, a in cols.items()}
    else:
        mask = np.broadcast_to(valid[None, None], shape).reshape(-1)
        flat = {name: np.ascontiguousarray(a).reshape(-1)[mask] for name, a in cols.items()}
    return flat


def _pool_columns(out: dict, sl, spec: ModelSpec, gpu, deploy: dict, fmt, tp: int, pp: int,
                  block_size: int | None, ctx, bat):
    """Fill the GPU columns of one (model, format, tp, pp) from its Pool, asking the pool's
    own rules for every (ctx, batch) at once: ``Pool.planned`` (the engine starts; else every
    point is limited by weights or max_model_len) then ``Pool.limits``
    (the rule behind ``Pool.serves``): together ``Pool.runs``. ``block_size`` as the user
    gave it (None: the engine's); returns the pool (its block is the one the byte columns count)."""
    import numpy as np

    from kvplan.capacity import Pool, make_request, plan

    pool = plan(make_request(spec, gpu, tp=tp, pp=pp, kv_format=fmt, block_size=block_size, **deploy))
    worst = pool.reserved_bytes(int(ctx.max()), int(bat.max())) if pool.paged else 0
    if worst > _INT64_MAX:  # exact Python ints: the int64 columns below would wrap
        raise BadInputError(f"{spec.name} at ctx {int(ctx.max()):,} x batch {int(bat.max()):,} reserves {worst:,} bytes "
                            f"in the KV pool, beyond what a sweep column holds (2**63 - 1); use smaller ctx or batch")
    n, b = ctx[:, None], bat[None, :]
    limits = [np.broadcast_to(np.asarray(x), (len(ctx), len(bat))) for x in pool.limits(n, b)]
    code = np.select(limits, list(range(1, len(Pool.LIMITS) + 1)), 0)
    start = pool.start_bound()  # as `kvplan capacity` (Pool.runs): the engine must start first
    if start:
        # no pool at all, or the engine refuses to start with the deployment's max_model_len
        code = np.full_like(code, Pool.LIMITS.index(start) + 1)
    reserved = (np.asarray(pool.reserved_bytes(n, b), dtype=np.int64) if pool.paged
                else np.zeros((len(ctx), len(bat)), dtype=np.int64))
    fit = np.asarray(pool.max_requests(ctx), dtype=np.int64)
    out["kv_pool_bytes"][sl] = pool.kv_pool_bytes
    out["reserved_bytes"][sl] = reserved
    out["headroom_bytes"][sl] = np.asarray(pool.headroom_bytes(n, b), dtype=np.int64)  # as check's min_headroom
    out["max_requests"][sl] = fit[:, None]
    out["limit_code"][sl] = code
    return pool


def resolve_block_size(grid: Grid, gpu) -> Grid:
    """``grid`` with its block size set where kvplan decides it: as given; without a GPU 16.
    With a GPU and none given it stays None: each point's request leaves the block to the
    engine, as `kvplan capacity` does (its MLA backends choose by GPU and format: vLLM's
    FlashMLA runs 64 on Hopper for fp8), and the byte columns count the pages that pool runs
    (the ``block_size`` column)."""
    import dataclasses

    if grid.block_size is not None or gpu is not None:
        return grid
    return dataclasses.replace(grid, block_size=16)


def resolve_gpu(gpu):
    """A GPU name (as ``kvplan capacity --gpu``) or a GPU object -> GPU object."""
    if gpu is None or not isinstance(gpu, str):
        return gpu
    from kvplan.gpus import get_gpu

    return get_gpu(gpu)


def sweep_units(grid: Grid, gpu=None) -> int:
    """The units of work run_sweep reports to ``progress``: each (model, tp, pp), twice with a GPU."""
    return len(grid.models) * len(grid.tps) * len(grid.pps) * (2 if gpu is not None else 1)


def run_sweep(grid: Grid, gpu=None, deploy: dict | None = None, progress=None):
    """Evaluate ``grid``; return a pandas DataFrame, one row per point.

    Row order is the cartesian product in column order: model, ctx, batch, kv_dtype,
    tp, pp (the last varies fastest). Combinations a model cannot run (a tp that does
    not split its heads, a block format its head_dim does not fill) are left out and
    listed in ``frame.attrs["skipped"]``; if nothing is left, ShapeError.
    ``frame.attrs["notes"]``: the caveats of the pools planned (``Pool.notes``, what `kvplan
    capacity` prints for each), once each: ``{"text", "pools": [{model, kv_dtype, tp, pp}]}``.
    ``gpu`` (a name or kvplan.gpus.GPU) adds the GPU_COLUMNS: the answers of the KV pool
    that (model, kv_dtype, tp, pp) gets on that GPU, from the same request and pool as
    `kvplan capacity` (``deploy``: make_request's engine options: engine,
    gpu_memory_utilization, max_model_len, max_num_seqs, max_num_batched_tokens, weights,
    gpu_mem_bytes, dtype). ``progress(k)`` is called as work is done (sweep_units in all)."""
    np, pd = _np_pd()
    gpu = resolve_gpu(gpu)
    grid = resolve_block_size(grid, gpu)
    skipped: list[Skipped] = []
    kv_names: list[str] = []
    notes: dict[str, list[dict]] = {}  # each pool caveat -> the pools (model, kv_dtype, tp, pp) it is about
    blocks, model_names = [], []
    for spec in grid.models:
        block = _model_block(spec, grid, gpu, dict(deploy or {}), skipped, kv_names, progress, notes)
        if block is not None:
            blocks.append(block)
            model_names.append(spec.name)
    if not blocks:
        why = skipped[0].reason if skipped else "no points"
        raise ShapeError(f"no point of the grid can be computed: {why}")
    model_codes = np.concatenate(
        [np.full(len(b["ctx"]), i, dtype=np.int16) for i, b in enumerate(blocks)]
    )
    data = {"model": pd.Categorical.from_codes(model_codes, categories=model_names)}

    def cat(name):
        return blocks[0][name] if len(blocks) == 1 else np.concatenate([b[name] for b in blocks])

    for name in KEY_COLUMNS[1:]:
        if name == "kv_dtype":
            data[name] = pd.Categorical.from_codes(cat(name), categories=kv_names)
        else:
            data[name] = cat(name)
    for name in BYTE_COLUMNS:
        data[name] = cat(name)
    if gpu is not None:
        from kvplan.capacity import Pool

        for name in ("kv_pool_bytes", "reserved_bytes", "headroom_bytes", "max_requests"):
            data[name] = cat(name)
        code = cat("limit_code")
        data["fits"] = code == 0
        data["limit"] = pd.Categorical.from_codes(code.astype(np.int16), categories=["", *Pool.LIMITS])
    frame = pd.DataFrame(data, copy=False)
    # pandas deep-copies attrs into every frame an operation makes (groupby, pivot): a list of a
    # million skipped points made the table take minutes, so the list is shared, not copied
    frame.attrs["skipped"] = SharedList(s.as_dict() for s in skipped)
    # the pools' caveats (kvplan.capacity.Pool.notes: what `kvplan capacity` prints for each), once
    # each, in the order first met, with the pools they are about
    frame.attrs["notes"] = SharedList({"text": text, "pools": pools} for text, pools in notes.items())
    blocks = set(data["block_size"].tolist())
    # the one block of every row, or None where the pools page differently (the column says each)
    frame.attrs["block_size"] = blocks.pop() if len(blocks) == 1 else None
    frame.attrs["requested_block_size"] = grid.block_size  # what the requests were given (None: the engine's)
    if gpu is not None:
        frame.attrs["gpu"] = getattr(gpu, "name", str(gpu))
    return frame


def sweep(models, ctx, batch=1, kv_dtype="auto", tp=1, pp=1, *, block_size: int | None = None, gpu=None,
          **deploy):
    """Parse the axes (strings like ``'4k,8k'`` or lists) and evaluate the grid; ``deploy``
    are make_request's engine options for the GPU columns (engine, max_model_len, ...).
    ``block_size`` None: with a GPU the block each point's pool runs, else 16."""
    grid = make_grid(models, ctx, batch, kv_dtype, tp, pp, block_size)
    if deploy and gpu is None:
        raise BadInputError(f"{', '.join(sorted(deploy))} apply to a GPU's KV pool; give gpu=")
    return run_sweep(grid, gpu, deploy)


def _np_pd():
    try:
        import numpy as np
        import pandas as pd
    except ImportError as err:
        raise NeedsExtraError(err.name or "pandas", "data", "a sweep") from None
    return np, pd


# -- output -------------------------------------------------------------------------------
WRITERS = ("csv", "parquet")


def check_output(path, kind: str) -> None:
    """Before computing: the path is writable and the writer's packages are installed."""
    from kvplan.outputs import check_writable

    check_writable(path, f"--{kind} file")
    _pyarrow(kind)


def _pyarrow(kind: str):
    try:
        import pyarrow  # noqa: F401

        if kind == "csv":  # only the writer used: pyarrow.parquet alone takes ~15 ms to import
            import pyarrow.csv  # noqa: F401
        else:
            import pyarrow.parquet  # noqa: F401
    except ImportError:
        raise NeedsExtraError("pyarrow", "data", f"writing --{kind}") from None
    return pyarrow


def write_frame(frame, path, kind: str) -> None:
    """Write ``frame`` as CSV or Parquet, all or nothing (pyarrow; strings quoted in CSV)."""
    from kvplan.outputs import atomic_write

    if kind not in WRITERS:
        raise BadInputError(f"unknown output kind {kind!r}; use one of {', '.join(WRITERS)}")
    pa = _pyarrow(kind)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    table = table.replace_schema_metadata(None)

    def _write(tmp: str) -> None:
        if kind == "csv":
            pa.csv.write_csv(table, tmp)
        else:
            pa.parquet.write_table(table, tmp)

    atomic_write(path, _write, f"--{kind} file")


def frame_records(frame) -> list[dict]:
    """Rows as plain Python values (ints, strs, bools) for JSON."""
    return frame.to_dict("records")


def pivot(frame, value: str = "per_gpu_paged_bytes") -> list[tuple[tuple, object, object]]:
    """One table per (model, tp, pp): rows (ctx, batch), one column per kv_dtype.

    Returns [((model, tp, pp), values, fits)]: ``values`` a DataFrame of ``value`` (NaN
    where a combination was skipped), ``fits`` the same shape of booleans when the frame
    has a fits column, else None."""
    out = []
    for key, part in frame.groupby(["model", "tp", "pp"], observed=True, sort=False):
        table = part.pivot_table(index=["ctx", "batch"], columns="kv_dtype", values=value, aggfunc="first",
                                 observed=True, sort=False)
        fits = None
        if "fits" in part:
            fits = part.pivot_table(index=["ctx", "batch"], columns="kv_dtype", values="fits", aggfunc="first",
                                    observed=True, sort=False)
        out.append((tuple(key), table, fits))
    return out


def grid_summary(grid: Grid) -> dict:
    return {
        "models": [s.name for s in grid.models],
        "ctx": list(grid.ctxs),
        "batch": list(grid.batches),
        "kv_dtype": list(grid.kv_dtypes),
        "tp": list(grid.tps),
        "pp": list(grid.pps),
        "block_size": grid.block_size,
    }


__all__ = [
    "Grid",
    "Skipped",
    "make_grid",
    "run_sweep",
    "sweep",
    "ctx_columns",
    "write_frame",
    "check_output",
    "frame_records",
    "pivot",
    "parse_counts",
    "parse_models",
    "parse_kv_dtypes",
]
