"""Plots: KV memory against context length, one line per format (matplotlib, the `plot` extra).

Figures are built with matplotlib's object API (``matplotlib.figure.Figure`` on the Agg
canvas), never pyplot, so nothing global is touched and no display is needed. The curves
come from the same vectorised arithmetic as ``kvplan sweep`` (``kvplan.sweep.ctx_columns``),
so a plotted point is exactly ``footprint(...).per_gpu_paged_bytes`` at that context.

matplotlib and numpy are imported inside the functions: ``kvplan size`` without --plot
never imports them.
"""

from __future__ import annotations

from pathlib import Path

from kvplan.errors import BadInputError, NeedsExtraError
from kvplan.footprint import Parallelism
from kvplan.spec import ModelSpec
from kvplan.units import format_tokens

GiB = 1 << 30
#: File types a plot can be written as (by the path's suffix).
PLOT_TYPES = ("png", "svg", "pdf")
#: Most panels (model x tp x pp) one sweep plot draws.
MAX_PANELS = 24
_LINESTYLES = ("-", "--", "-.", ":")


def _matplotlib():
    try:
        import matplotlib  # noqa: F401
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise NeedsExtraError("matplotlib", "plot", "--plot") from None
    return Figure, FigureCanvasAgg


def mpl_text(text) -> str:
    """Text from a spec, a report or a file name for a matplotlib title or label: ``$`` is
    escaped, so a model named ``x^$`` is printed, not parsed as TeX (which fails)."""
    return str(text).replace("$", r"\$")


def plot_type(path) -> str:
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in PLOT_TYPES:
        raise BadInputError(
            f"--plot {path}: cannot tell the image type from {'.' + suffix if suffix else 'a name without'} suffix; "
            f"use a file name ending in {', '.join('.' + t for t in PLOT_TYPES)}"
        )
    return suffix


def check_plot_output(path) -> None:
    """Before computing: a known image suffix, a writable path, matplotlib installed."""
    from kvplan.outputs import check_writable

    check_writable(path, "--plot file")
    plot_type(path)
    _matplotlib()


def context_points(lo: int, hi: int, per_octave: int = 8, extra=()) -> list[int]:
    """Contexts from ``lo`` to ``hi`` spaced evenly on a log scale (every power of two and
    ``extra`` included), so window and page knees show."""
    import numpy as np

    lo, hi = max(1, int(lo)), max(int(lo), int(hi))
    octaves = max(1.0, np.log2(hi / lo))
    pts = np.rint(np.geomspace(lo, hi, int(np.ceil(octaves * per_octave)) + 1)).astype(np.int64)
    pows = [1 << k for k in range(lo.bit_length() - 1, hi.bit_length()) if lo <= 1 << k <= hi]
    return sorted({int(p) for p in pts} | set(pows) | {int(e) for e in extra if e})


def size_series(spec: ModelSpec, formats, ctxs, *, batch: int = 1, block_size: int = 16,
                par: Parallelism = Parallelism()) -> dict[str, object]:
    """format name -> int64 array of paged KV bytes on the most loaded GPU at each ctx."""
    import numpy as np

    from kvplan.sweep import ctx_columns

    n = np.asarray(ctxs, dtype=np.int64)
    return {
        fmt.name: ctx_columns(spec, fmt, n, block_size, par.tp, par.pp).per_gpu_paged_seq_bytes * batch
        for fmt in formats
    }


def _default_ctxs(spec: ModelSpec, ctx_mark: int | None) -> list[int]:
    hi = max(spec.max_position_embeddings, ctx_mark or 0)
    lo = min(1024, ctx_mark or 1024, hi)
    if hi < 16 * lo:
        hi = 16 * lo
    return context_points(lo, hi, extra=(ctx_mark,))


def _color(i: int, n: int):
    """Distinct colours: matplotlib's 10-colour cycle, or tab20 for more lines."""
    if n <= 10:
        return f"C{i}"
    from matplotlib import colormaps

    return colormaps["tab20"](i % 20)


def _style_axes(ax, *, per_gpu: bool, xlabel: bool = True, ylabel: bool = True) -> None:
    from matplotlib.ticker import FuncFormatter, LogLocator, NullLocator

    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.xaxis.set_major_locator(LogLocator(base=2))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _p: format_tokens(int(round(x))) if x >= 1 else f"{x:g}"))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _p: f"{y:g}"))
    # No minor ticks: on log axes they are many and each costs a text layout per draw.
    ax.xaxis.set_minor_locator(NullLocator())
    ax.yaxis.set_minor_locator(NullLocator())
    if xlabel:
        ax.set_xlabel("context length (tokens per sequence, log scale)")
    if ylabel:
        ax.set_ylabel(("KV cache per GPU" if per_gpu else "KV cache") + ", paged (GiB, log scale)")
    ax.grid(True, which="major", alpha=0.3)
    ax.tick_params(axis="x", labelrotation=45)


def _pool_line(ax, pool, *, annotate: bool = False) -> None:
    """A horizontal line at the KV pool of one GPU (``kvplan.capacity.Pool``), or, when the
    weights and buffers leave none, a note in the panel (never a line at ~0 that squashes
    every curve)."""
    g = pool.request.gpu
    name = g.display_name or g.name
    left = pool.kv_pool_bytes
    if left <= 0:
        ax.text(0.5, 0.5, mpl_text(f"no KV pool on {name}:\nweights + buffers exceed the engine's share"),
                transform=ax.transAxes, ha="center", va="center", fontsize="small", color="firebrick",
                bbox={"facecolor": "white", "edgecolor": "firebrick", "alpha": 0.9})
        return
    label = mpl_text(f"{name} KV pool per GPU ({pool.engine})" + ("" if annotate else f" ({left / GiB:.1f} GiB)"))
    ax.axhline(left / GiB, color="black", linestyle="--", linewidth=1.2, label=label)
    if annotate:
        ax.annotate(f"{left / GiB:.1f} GiB", xy=(0.01, left / GiB), xycoords=("axes fraction", "data"),
                    xytext=(0, 2), textcoords="offset points", fontsize="x-small", va="bottom")


def _pools(spec: ModelSpec, formats, gpu, par: Parallelism, block_size: int | None, deploy: dict | None):
    """format name -> the Pool that format gets on ``gpu`` (the one capacity model);
    ``block_size`` as the user gave it (None: the engine's choice, as `kvplan capacity`)."""
    from kvplan.capacity import make_request, plan

    return {fmt.name: plan(make_request(spec, gpu, tp=par.tp, pp=par.pp, kv_format=fmt, block_size=block_size,
                                        **(deploy or {})))
            for fmt in formats}


def size_figure(spec: ModelSpec, formats, *, batch: int = 1, block_size: int | None = 16,
                par: Parallelism = Parallelism(), ctx_mark: int | None = None, gpu=None, ctxs=None,
                deploy: dict | None = None):
    """The figure `kvplan size --plot` draws (a matplotlib Figure; nothing written).

    Without ``gpu``: paged KV bytes (per GPU) against context, one line per format. With
    ``gpu``: the bytes the engine reserves in its pool for ``batch`` requests of each
    length (the same Pool as `kvplan capacity`, up to max_model_len), against that pool;
    ``block_size`` None then lets the engine choose it (the title says the pools' blocks)."""
    Figure, FigureCanvasAgg = _matplotlib()
    import numpy as np

    from kvplan.sweep import resolve_gpu

    gpu = resolve_gpu(gpu)
    pools = _pools(spec, formats, gpu, par, block_size, deploy) if gpu is not None else None
    if ctxs is None:
        ctxs = _default_ctxs(spec, ctx_mark)
        if pools:
            mml = next(iter(pools.values())).max_model_len
            ctxs = [c for c in ctxs if c <= mml] or [mml]
    ctxs = list(ctxs)
    blocks = sorted({p.block_size for p in pools.values()}) if pools else [block_size]
    _check_series(spec, formats, max(ctxs), batch, max(blocks), pools)
    if pools:
        n = np.asarray(ctxs, dtype=np.int64)
        series = {name: np.asarray(p.reserved_bytes(n, batch), dtype=np.int64) for name, p in pools.items()}
    else:
        series = size_series(spec, formats, ctxs, batch=batch, block_size=block_size, par=par)
    fig = Figure(figsize=(8, 5.5), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for i, (name, values) in enumerate(series.items()):
        ax.plot(ctxs, values / GiB, label=name, linewidth=1.6, color=_color(i, len(series)))
    if pools:
        _pool_line(ax, next(iter(pools.values())))
    if ctx_mark:
        ax.axvline(ctx_mark, color="grey", linestyle=":", linewidth=1, label=f"ctx {format_tokens(ctx_mark)}")
    multi = par.num_gpus > 1
    where = f", tp {par.tp}, pp {par.pp}" if multi else ""
    what = "KV the engine reserves" if pools else "KV cache"
    block = "block " + "/".join(str(n) for n in blocks)  # the pools' own blocks with a GPU
    ax.set_title(mpl_text(f"{spec.display_name or spec.name}: {what}, batch {batch} ({block}{where})"))
    _style_axes(ax, per_gpu=multi or bool(pools))
    fig.legend(loc="outside lower center", ncols=4, fontsize="small")
    return fig


def _check_series(spec: ModelSpec, formats, ctx: int, batch: int, block_size: int, pools) -> None:
    """Refuse a plot whose largest point would wrap in an int64 series (exact Python ints)."""
    from kvplan.sweep import _INT64_MAX, check_int64

    for fmt in formats:
        check_int64(spec, fmt, ctx, batch, block_size, "a plotted series")
    for pool in (pools or {}).values():
        worst = pool.reserved_bytes(min(ctx, pool.max_model_len), batch) if pool.paged else 0
        if worst > _INT64_MAX:
            raise BadInputError(f"{spec.name} at ctx {ctx:,} x batch {batch:,} reserves {worst:,} bytes, beyond what "
                                f"a plotted series holds (2**63 - 1); use a smaller ctx or batch")


def _save(fig, path, dpi: int = 120) -> Path:
    from kvplan.outputs import atomic_write

    kind = plot_type(path)
    # PNG: zlib level 1 instead of Pillow's 6 halves the encode time of a large grid for a
    # file about a third larger.
    extra = {"pil_kwargs": {"compress_level": 1}} if kind == "png" else {}
    return atomic_write(path, lambda tmp: fig.savefig(tmp, format=kind, dpi=dpi, **extra), "--plot file")


def plot_size(spec: ModelSpec, formats, path, *, batch: int = 1, block_size: int | None = 16,
              par: Parallelism = Parallelism(), ctx_mark: int | None = None, gpu=None,
              deploy: dict | None = None) -> Path:
    """Draw paged KV memory (per GPU) against context, one line per format, to ``path``.

    ``gpu`` (a name or kvplan.gpus.GPU) draws what the engine reserves against that GPU's
    KV pool instead (see size_figure); ``ctx_mark`` a vertical line at the requested context."""
    check_plot_output(path)
    fig = size_figure(spec, formats, batch=batch, block_size=block_size, par=par, ctx_mark=ctx_mark, gpu=gpu,
                      deploy=deploy)
    return _save(fig, path)


def sweep_figure(frame, *, specs=(), gpu=None, deploy: dict | None = None):
    """One panel per (model, tp, pp) of a sweep frame: a line per kv_dtype (colour) and
    batch (line style), per-GPU paged bytes against ctx; with a GPU (the frame's GPU
    columns) the bytes the engine reserves against that GPU's KV pool.

    Built for speed (a 20-panel grid renders in well under 3 s: benchmarks/plot_speed.py):
    a fixed grid layout instead of matplotlib's constrained layout (which re-measures every
    tick label of every panel twice per draw), no minor ticks, axis labels on the outer
    panels only, and one pass over the frame's rows instead of a groupby per line."""
    Figure, FigureCanvasAgg = _matplotlib()
    import math

    import numpy as np

    from kvplan.sweep import resolve_gpu

    gpu = resolve_gpu(gpu)
    by_name = {s.name: s for s in specs}
    keys = ["model", "tp", "pp"]
    panel_keys = list(dict.fromkeys(zip(*(frame[k].tolist() for k in keys))))
    if len(panel_keys) > MAX_PANELS:
        raise BadInputError(
            f"--plot draws one panel per model, tp and pp, at most {MAX_PANELS}; this grid has {len(panel_keys)}"
        )
    ncols = min(3, len(panel_keys))
    nrows = math.ceil(len(panel_keys) / ncols)
    kv_names = list(frame["kv_dtype"].cat.categories) if hasattr(frame["kv_dtype"], "cat") else sorted(
        set(frame["kv_dtype"]))
    batches = list(dict.fromkeys(frame["batch"].tolist()))
    colors = {name: _color(i, len(kv_names)) for i, name in enumerate(kv_names)}
    column = "reserved_bytes" if gpu is not None and "reserved_bytes" in frame else "per_gpu_paged_bytes"
    n_labels = len(kv_names) * len(batches)
    legend_rows = math.ceil(n_labels / 4)
    # Fixed margins in inches: title on top, legend rows and x labels below, y labels left.
    width, panel_h = 6 * ncols, 4.0
    top_in, bottom_in, left_in, right_in = 0.7, 0.9 + 0.22 * legend_rows, 0.8, 0.2
    height = panel_h * nrows + top_in + bottom_in
    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    fig.subplots_adjust(left=left_in / width, right=1 - right_in / width, top=1 - top_in / height,
                        bottom=bottom_in / height, hspace=0.45, wspace=0.22)
    # Rows of each (panel, kv_dtype, batch) line, sorted by ctx once.
    order = np.lexsort((frame["ctx"].to_numpy(),))
    cols = {k: frame[k].to_numpy()[order] for k in ("ctx", "batch", column)}
    cols.update({k: np.asarray(frame[k].astype(str))[order] for k in ("model", "kv_dtype")})
    cols.update({k: frame[k].to_numpy()[order] for k in ("tp", "pp")})
    lines: dict[tuple, list[int]] = {}
    for i, key in enumerate(zip(cols["model"], cols["tp"].tolist(), cols["pp"].tolist(), cols["kv_dtype"],
                                cols["batch"].tolist())):
        lines.setdefault(key, []).append(i)
    handles: dict[str, object] = {}
    few = frame["ctx"].nunique() <= 12
    for p, (model, tp, pp) in enumerate(panel_keys):
        ax = fig.add_subplot(nrows, ncols, p + 1)
        for kv in kv_names:
            for batch in batches:
                idx = lines.get((str(model), int(tp), int(pp), kv, batch))
                if not idx:
                    continue
                label = f"{kv}, batch {batch}"
                (h,) = ax.plot(cols["ctx"][idx], cols[column][idx] / GiB, color=colors[kv],
                               linestyle=_LINESTYLES[batches.index(batch) % len(_LINESTYLES)],
                               marker="o" if few else None, markersize=3, label=label)
                handles.setdefault(label, h)
        drawn = [kv for kv in kv_names if any((str(model), int(tp), int(pp), kv, b) in lines for b in batches)]
        if gpu is not None and model in by_name and drawn:
            from kvplan.formats import get_format

            spec = by_name[model]
            fmt = get_format(drawn[0], spec.dtype)  # a format of this panel (not one the sweep skipped)
            # the request as the sweep made it (None: the engine's block, as `kvplan capacity`)
            block = frame.attrs.get("requested_block_size")
            pool = _pools(spec, [fmt], gpu, Parallelism(int(tp), int(pp)), block, deploy)[fmt.name]
            _pool_line(ax, pool, annotate=True)
        par = f", tp {tp}, pp {pp}" if (tp, pp) != (1, 1) else ""
        # y given: matplotlib then keeps the title where it is instead of measuring every
        # panel's tick labels on each draw to lift it clear of them (the x ticks are below).
        ax.set_title(mpl_text(f"{model}{par}"), fontsize="medium", y=1.0)
        _style_axes(ax, per_gpu=(tp, pp) != (1, 1), xlabel=p >= len(panel_keys) - ncols, ylabel=p % ncols == 0)
        # Axis labels at fixed places in the panel (clear of the 45-degree tick labels): set,
        # matplotlib skips measuring every tick label of every panel to place them.
        ax.xaxis.set_label_coords(0.5, -0.2)
        ax.yaxis.set_label_coords(-0.12, 0.5)
    # One legend for all panels, below them: the lines are the same formats and batches.
    fig.legend(list(handles.values()), list(handles), loc="lower center", ncols=min(4, len(handles)),
               fontsize="small", bbox_to_anchor=(0.5, 0.0), frameon=False)
    block = frame.attrs.get("block_size")
    fig.suptitle("KV cache against context (" + (f"block {block}" if block else "block by format: see the "
                                                  "block_size column") + ")")
    return fig


def plot_sweep(frame, path, *, specs=(), gpu=None, deploy: dict | None = None) -> Path:
    """Draw a sweep frame (see sweep_figure) to ``path``."""
    check_plot_output(path)
    fig = sweep_figure(frame, specs=specs, gpu=gpu, deploy=deploy)
    # A large grid at 100 dpi: each 6 x 4 in panel is still 600 x 400 px, and the PNG is drawn
    # and encoded in about two thirds of the time (benchmarks/plot_speed.py).
    return _save(fig, path, dpi=100 if len(fig.axes) > 6 else 120)


def measure_figure(report: dict):
    """Two panels from a `kvplan measure` report: cache bytes (planner vs allocator) and
    decode time (roofline prediction vs CUDA-event median, with the min-max range)."""
    Figure, FigureCanvasAgg = _matplotlib()
    fig = Figure(figsize=(10, 4.2), layout="constrained")
    FigureCanvasAgg(fig)
    ok = [f for f in report["formats"] if f.get("status") == "ok"]
    names = [mpl_text(f["kv_dtype"]) for f in ok]
    xs = list(range(len(ok)))
    w = 0.38
    ax1, ax2 = fig.subplots(1, 2)
    top = max((f["cache_bytes_predicted"] for f in ok), default=1)
    unit, size = next(((u, s) for u, s in (("GiB", GiB), ("MiB", 1 << 20), ("KiB", 1 << 10)) if top >= s), ("B", 1))
    ax1.bar([x - w / 2 for x in xs], [f["cache_bytes_predicted"] / size for f in ok], w, label="planner (paged)")
    ax1.bar([x + w / 2 for x in xs], [f["cache_bytes_measured"] / size for f in ok], w,
            label=mpl_text(ok[0]["memory_source"]) if ok else "measured")
    ax1.set_ylabel(f"KV cache ({unit})")
    ax1.set_title("cache bytes")
    times = [f["decode_ms_median"] for f in ok]
    roof = [f.get("decode_ms_predicted") or 0.0 for f in ok]
    ax2.bar([x - w / 2 for x in xs], roof, w, label="roof: bytes read / copy bandwidth")
    err = [[t - f["decode_ms_min"] for t, f in zip(times, ok)], [f["decode_ms_max"] - t for t, f in zip(times, ok)]]
    ax2.bar([x + w / 2 for x in xs], times, w, yerr=err, capsize=3, label="measured (median, min-max)")
    ax2.set_ylabel("one decode step (ms)")
    ax2.set_title("decode attention")
    for ax in (ax1, ax2):
        ax.set_xticks(xs, names)
        ax.legend(fontsize="small")
        ax.grid(axis="y", alpha=0.3)
    cfg, dev = report["config"], report["device"]
    fig.suptitle(mpl_text(f"{report['model']} on {dev['name']}: {cfg['batch']} x {format_tokens(cfg['ctx'])} tokens, "
                          f"{cfg['layers_measured']}/{cfg['num_layers']} layers"))
    return fig


def plot_measure(report: dict, path) -> Path:
    """Draw a `kvplan measure` report to ``path`` (PNG, SVG or PDF)."""
    check_plot_output(path)
    return _save(measure_figure(report), path)
