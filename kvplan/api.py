"""The Python API: kvplan for notebooks and scripts.

    >>> from kvplan import api
    >>> fp = api.footprint("llama3-8b", ctx="32k", kv_dtype="bf16")
    >>> fp.total_bytes                    # 32 layers x 8 heads x 256 x 2 B x 32,768 tokens
    4294967296
    >>> df = api.sweep("llama3-8b", ctx="4k,32k", batch=[1, 8], kv_dtype="bf16,fp8")
    >>> len(df)
    8

Every function takes the same kinds of values the CLI does: models as built-in names,
spec YAML paths or Hugging Face config.json paths (or a ModelSpec already loaded), token
counts as ints or strings (``"32k"`` = 32,768), formats by name (``"fp8"``, ``"auto"`` =
the model's dtype). Results are plain frozen dataclasses (and a pandas DataFrame for
sweeps) with integer bytes. Errors are ``kvplan.errors.KvplanError`` subclasses with
one-line messages; nothing is printed. The CLI commands are thin layers over the same
library calls (``kvplan sweep`` and ``api.sweep`` share kvplan.sweep, for instance).
See docs/api.md for a walk-through.
"""

from __future__ import annotations

from kvplan.errors import BadInputError
from kvplan.footprint import Footprint, Parallelism
from kvplan.spec import ModelSpec

__all__ = ["load_model", "models", "formats", "footprint", "footprint_dict", "sweep", "capacity", "plan", "plot_size"]


def load_model(model: str | ModelSpec) -> ModelSpec:
    """A built-in name (``"llama3-8b"``, aliases such as ``"meta-llama/Meta-Llama-3-8B"``),
    a kvplan spec file (YAML or JSON), or a Hugging Face config.json (or its folder)."""
    if isinstance(model, ModelSpec):
        return model
    from kvplan.loader import load_model as _load

    return _load(str(model))


def models() -> list[str]:
    """Names of the built-in model specs."""
    from kvplan.loader import builtin_names

    return list(builtin_names())


def formats() -> list[str]:
    """Names of the KV-cache formats, largest first."""
    from kvplan.formats import FORMATS

    return list(FORMATS)


def _tokens(value, what: str) -> int:
    from kvplan.units import parse_tokens

    return parse_tokens(value, what)


def footprint(
    model: str | ModelSpec,
    ctx: int | str = "8k",
    batch: int = 1,
    kv_dtype: str = "auto",
    *,
    block_size: int = 16,
    tp: int = 1,
    pp: int = 1,
) -> Footprint:
    """The exact KV-cache footprint of ``batch`` sequences of ``ctx`` tokens.

    Returns a ``kvplan.footprint.Footprint``: bytes_per_token, seq_bytes, total_bytes,
    paged_total_bytes, per_gpu_bytes, per_gpu_paged_bytes, all_gpus_*, and the
    breakdown by layer group and pipeline stage (all integers, bytes)."""
    from kvplan.footprint import footprint as _footprint
    from kvplan.formats import get_format

    spec = load_model(model)
    fmt = get_format(kv_dtype, spec.dtype)
    return _footprint(spec, fmt, _tokens(ctx, "ctx"), _count(batch, "batch"), _count(block_size, "block size"),
                      Parallelism(_count(tp, "tp"), _count(pp, "pp")))


def _count(value, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadInputError(f"{what} must be a whole number, got {value!r}")
    return value


def footprint_dict(fp: Footprint, with_groups: bool = True) -> dict:
    """A Footprint as plain data (what ``kvplan size --json`` prints per format)."""
    from kvplan.report import footprint_dict as _fd

    return {"model": fp.model, "ctx": fp.ctx, "batch": fp.batch, "block_size": fp.block_size, "tp": fp.tp,
            "pp": fp.pp, **_fd(fp, with_groups)}


def sweep(models, ctx, batch=1, kv_dtype="auto", tp=1, pp=1, *, block_size: int | None = None, gpu=None,
          **deploy):
    """Every point of the grid models x ctx x batch x kv_dtype x tp x pp as a DataFrame.

    Each axis is a value, a list, or a comma-separated string (``"4k,8k,32k"``). Columns:
    model, ctx, batch, kv_dtype, tp, pp, block_size, bytes_per_token, seq_bytes,
    total_bytes, paged_total_bytes, per_gpu_bytes, per_gpu_paged_bytes (int64), and with
    ``gpu`` what that GPU's KV pool answers (the same Pool as ``plan``; ``deploy`` are its
    engine options): kv_pool_bytes, reserved_bytes, headroom_bytes, max_requests, fits, limit. Rows follow the cartesian product in
    that column order (pp varies fastest). Combinations a model cannot run are left out
    and described in ``df.attrs["skipped"]``; with ``gpu`` the pools' caveats (``Pool.notes``,
    what `kvplan capacity` warns) are in ``df.attrs["notes"]``. ``block_size`` None: the GPU's engine's default
    block (vLLM 16, SGLang 1, TensorRT-LLM 32), 16 without a GPU. Needs pandas and numpy (the
    `data` extra)."""
    from kvplan.sweep import sweep as _sweep

    return _sweep(models, ctx, batch, kv_dtype, tp, pp, block_size=block_size, gpu=gpu, **deploy)


def plan(model: str | ModelSpec, gpu=None, **options):
    """The KV pool a deployment gets: ``kvplan.capacity.Pool``, the one capacity model every
    command asks. ``options`` are ``kvplan.capacity.make_request``'s keywords (tp, pp, dp,
    weights, kv_format, engine, gpu_memory_utilization, max_model_len, max_num_batched_tokens,
    max_num_seqs, block_size, gpu_mem_bytes, dtype); token counts and sizes may be strings.

        >>> from kvplan import api
        >>> pool = api.plan("llama3.1-8b", "h100", max_model_len="8k")
        >>> pool.max_requests(8192), pool.serves(8192, 64).bound
        (54, 'memory')
    """
    from kvplan.capacity import make_request, plan as _plan

    return _plan(make_request(load_model(model), gpu, **options))


def capacity(model: str | ModelSpec, gpu=None, *, ctx=None, batch=None, **options):
    """How much KV cache fits, with the answers for ``ctx`` / ``batch``: a
    ``kvplan.capacity.Capacity`` (the summary `kvplan capacity` prints) over ``plan``'s Pool.
    Token counts may be strings ("32k") and kv_format may be "auto"."""
    from kvplan.capacity import summarize

    return summarize(plan(model, gpu, **options), _tokens(ctx, "ctx") if ctx is not None else None, batch)


def plot_size(model: str | ModelSpec, path, kv_dtype="auto", *, ctx=None, batch: int = 1,
              block_size: int | None = None, tp: int = 1, pp: int = 1, gpu=None, **deploy):
    """Draw KV memory against context (one line per format) to ``path`` (.png/.svg/.pdf);
    what ``kvplan size --plot`` draws (with ``gpu``: what the engine reserves against that
    GPU's KV pool, in the block the engine runs unless ``block_size`` is given; without: block
    16 unless given; ``deploy``: make_request's engine options). Needs matplotlib."""
    from kvplan.formats import parse_formats
    from kvplan.plots import plot_size as _plot

    spec = load_model(model)
    fmts = parse_formats(kv_dtype, spec.dtype) if isinstance(kv_dtype, str) else [
        f for name in kv_dtype for f in parse_formats(name, spec.dtype)]
    mark = _tokens(ctx, "ctx") if ctx is not None else None
    block = _count(block_size, "block size") if block_size is not None else (None if gpu is not None else 16)
    return _plot(spec, fmts, path, batch=_count(batch, "batch"), block_size=block,
                 par=Parallelism(_count(tp, "tp"), _count(pp, "pp")), ctx_mark=mark, gpu=gpu, deploy=deploy)
