"""`kvplan sweep`: footprints over a whole grid of models, contexts, batches, formats and tp/pp."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from kvplan.cli.common import (
    KV_DTYPE_NAMES,
    PP_NAMES,
    TP_NAMES,
    ChunkedPrefillSizeOpt,
    ContextLengthOpt,
    CpuOffloadOpt,
    AllowLongOpt,
    DisableHybridOpt,
    DpOpt,
    DtypeOpt,
    EngineBlockSizeOpt,
    EngineOpt,
    ExpertParallelOpt,
    GpuMemOpt,
    GpuMemUtilOpt,
    JsonOpt,
    KvCacheMemoryOpt,
    MaxModelLenOpt,
    MaxNumBatchedTokensOpt,
    MaxNumSeqsOpt,
    MaxRunningRequestsOpt,
    MemFractionStaticOpt,
    NumGpuBlocksOverrideOpt,
    PrefixCachingOpt,
    QuantizationOpt,
    SwapSpaceOpt,
    WeightsOpt,
    console,
    deploy_from,
    engine_options_given,
    gib,
    print_json,
    scoped_notes,
    stderr_line,
    tok,
    warn,
    warn_assumptions,
)

#: Most table rows printed per (model, tp, pp); the files and --json always hold every row.
MAX_TABLE_ROWS = 200
#: Most "skipped" warnings printed; --json lists every skipped combination.
MAX_SKIP_WARNINGS = 5


def sweep(
    models: Annotated[
        str, typer.Argument(help="Models, comma-separated: built-in names, spec YAMLs or config.json paths.")
    ],
    ctx: Annotated[str, typer.Option("--ctx", help="Context lengths, comma-separated: 4k,8k,32k,128k.")] = (
        "4k,8k,32k,128k"
    ),
    batch: Annotated[str, typer.Option("--batch", help="Concurrent sequences, comma-separated: 1,8,32.")] = "1",
    kv_dtype: Annotated[
        str,
        typer.Option(*KV_DTYPE_NAMES, help="KV formats, comma-separated (auto = the model's dtype; all = every format)."),
    ] = "auto,fp8,int4",
    tp: Annotated[str, typer.Option(*TP_NAMES, help="Tensor-parallel degrees, comma-separated: 1,2,4.")] = "1",
    pp: Annotated[str, typer.Option(*PP_NAMES, help="Pipeline-parallel degrees, comma-separated.")] = "1",
    block_size: EngineBlockSizeOpt = None,
    gpu: Annotated[
        Optional[str],
        typer.Option("--gpu", help="Add what this GPU's KV pool answers for each point (as `kvplan capacity`)."),
    ] = None,
    gpu_mem: GpuMemOpt = None,
    engine: EngineOpt = "vllm",
    dtype: DtypeOpt = None,
    weights: WeightsOpt = None,
    gpu_memory_utilization: GpuMemUtilOpt = None,
    max_model_len: MaxModelLenOpt = None,
    max_num_batched_tokens: MaxNumBatchedTokensOpt = None,
    max_num_seqs: MaxNumSeqsOpt = None,
    quantization: QuantizationOpt = None,
    kv_cache_memory: KvCacheMemoryOpt = None,
    num_gpu_blocks_override: NumGpuBlocksOverrideOpt = None,
    disable_hybrid_kv_cache_manager: DisableHybridOpt = None,
    allow_long_max_model_len: AllowLongOpt = False,
    dp: DpOpt = 1,
    enable_expert_parallel: ExpertParallelOpt = False,
    cpu_offload_gb: CpuOffloadOpt = None,
    swap_space: SwapSpaceOpt = None,
    enable_prefix_caching: PrefixCachingOpt = None,
    mem_fraction_static: MemFractionStaticOpt = None,
    context_length: ContextLengthOpt = None,
    max_running_requests: MaxRunningRequestsOpt = None,
    chunked_prefill_size: ChunkedPrefillSizeOpt = None,
    csv: Annotated[Optional[str], typer.Option("--csv", help="Write every point to this CSV file.")] = None,
    parquet: Annotated[Optional[str], typer.Option("--parquet", help="Write every point to this Parquet file.")] = None,
    json_out: JsonOpt = False,
    plot: Annotated[
        Optional[str], typer.Option("--plot", help="Draw KV memory per GPU against context to this PNG.")
    ] = None,
) -> None:
    """Evaluate the full grid model x ctx x batch x kv-dtype x tp x pp, one row per point.

    Columns: model, ctx, batch, kv_dtype, tp, pp, block_size, bytes_per_token, seq_bytes,
    total_bytes, paged_total_bytes, per_gpu_bytes, per_gpu_paged_bytes (exact integers,
    the same figures as `kvplan size`); with --gpu also what that GPU's KV pool answers,
    from the same request and pool as `kvplan capacity` (engine options as there):
    kv_pool_bytes, reserved_bytes (what batch requests of ctx hold under the engine's
    block rules), headroom_bytes, max_requests (of ctx, capped by max_num_seqs), fits and
    limit (weights, max_model_len, max_num_seqs or memory).
    Combinations a model cannot run (tp not splitting its heads ...) are skipped with a
    warning. Without --csv, --parquet or --json, prints one table per model, tp and pp.

    Examples: kvplan sweep llama3-8b --ctx 4k,32k,128k --batch 1,8,32 --kv-dtype bf16,fp8,int4;
    kvplan sweep llama3-8b,llama3-70b --tp 1,2,4 --gpu h100 --csv grid.csv
    """
    from kvplan.errors import BadInputError
    from kvplan.sweep import check_output, grid_summary, make_grid, resolve_gpu, run_sweep, write_frame

    outputs = [(kind, path) for kind, path in (("csv", csv), ("parquet", parquet)) if path is not None]
    if len(outputs) + bool(json_out) > 1:
        raise BadInputError("give at most one of --csv, --parquet and --json")
    # Check every output before computing anything: a bad path fails fast, leaving no file.
    for kind, path in outputs:
        check_output(path, kind)
    if plot is not None:
        from kvplan.plots import check_plot_output

        check_plot_output(plot)
    grid = make_grid(models, ctx, batch, kv_dtype, tp, pp, block_size)
    deploy = deploy_from(locals())
    for spec in grid.models:  # what each spec's importer assumed, as `kvplan size` and `capacity` warn
        warn_assumptions(spec)
    if dp != 1:
        deploy["dp"] = dp  # the pool's replicas (MoE experts shard over tp x dp)
    if gpu is None and gpu_mem is None and engine_options_given(deploy):
        raise BadInputError("engine options (--engine, --max-model-len, ...) apply with --gpu; add --gpu")
    gpu_obj = resolve_gpu(gpu)
    if gpu_obj is None and gpu_mem is not None:
        from kvplan.capacity import resolve_gpu as gpu_with_memory

        gpu_obj = gpu_with_memory(None, gpu_mem)
    frame = _run_with_progress(grid, gpu_obj, deploy)
    skipped = frame.attrs["skipped"]
    for s in skipped[:MAX_SKIP_WARNINGS]:
        what = s["kv_dtype"] if s["kv_dtype"] is not None else f"tp {s['tp']}, pp {s['pp']}"
        warn(f"skipped {s['model']} {what}: {s['reason']}")
    if len(skipped) > MAX_SKIP_WARNINGS:
        warn(f"... and {len(skipped) - MAX_SKIP_WARNINGS:,} more combinations skipped (--json lists every one)")
    for text in _note_lines(frame):  # the pools' caveats, as `kvplan capacity` prints them
        warn(text)
    if plot is not None:
        from kvplan.plots import plot_sweep

        plot_sweep(frame, plot, specs=grid.models, gpu=gpu_obj, deploy=deploy)
        stderr_line(f"wrote {plot}")
    for kind, path in outputs:
        write_frame(frame, path, kind)
        stderr_line(f"wrote {len(frame):,} rows to {path}")
    if json_out:
        from kvplan.sweep import frame_records

        print_json({"grid": dict(grid_summary(grid), block_size=frame.attrs["block_size"]), "gpu": frame.attrs.get("gpu"), "skipped": frame.attrs["skipped"],
                    "notes": frame.attrs["notes"], "points": frame_records(frame)})
        return
    if not outputs:
        _render(frame)


#: Most pools named before a caveat that is about some of the sweep's pools only.
MAX_NOTE_POOLS = 3


def _note_lines(frame) -> list[str]:
    """Each pool caveat once (``frame.attrs["notes"]``: kvplan.capacity.Pool.notes), as `kvplan
    capacity` prints it; led by the pools it is about where it is not about every pool planned."""
    notes = frame.attrs.get("notes") or []
    if not notes:
        return []
    planned = len(frame[["model", "kv_dtype", "tp", "pp"]].drop_duplicates())
    about = {note["text"]: [f"{p['model']} {p['kv_dtype']}" + (f" tp {p['tp']}, pp {p['pp']}"
                                                               if (p["tp"], p["pp"]) != (1, 1) else "")
                            for p in note["pools"]] for note in notes}
    return scoped_notes(about, planned, sep="; ", limit=MAX_NOTE_POOLS)


def _render(frame) -> None:
    from rich.table import Table

    from kvplan.sweep import pivot

    con = console()
    for (model, tp_, pp_), table, fits in pivot(frame):
        par = f", tp {tp_}, pp {pp_}" if (tp_, pp_) != (1, 1) else ""
        what = "paged KV per GPU" if (tp_, pp_) != (1, 1) else "paged KV"
        title = f"{model}{par}: {what} ({_blocks(frame, model, tp_, pp_)})"
        out = Table(title=title, title_justify="left")
        out.add_column("ctx", justify="right")
        out.add_column("batch", justify="right")
        for col in table.columns:
            out.add_column(str(col), justify="right")
        for i, ((ctx_, batch_), row) in enumerate(table.iterrows()):
            if i == MAX_TABLE_ROWS:
                warn(f"{model}: showing {MAX_TABLE_ROWS} of {len(table)} rows; --csv, --parquet or --json give all")
                break
            cells = []
            for col, value in row.items():
                if value != value:  # NaN: a skipped combination
                    cells.append("-")
                    continue
                cell = gib(int(value))
                if fits is not None and not bool(fits.loc[(ctx_, batch_), col]):
                    cell += " *"
                cells.append(cell)
            out.add_row(tok(int(ctx_)), str(int(batch_)), *cells)
        con.print(out)
    if "fits" in frame and not frame["fits"].all():
        limits = sorted({str(x) for x in frame.loc[~frame["fits"], "limit"]})
        con.print(f"* does not run on {frame.attrs.get('gpu')} as planned by `kvplan capacity` with the same "
                  f"options" + (f" (limited by {', '.join(limits)}; --csv or --json give each point's limit)"
                                if limits else ""))


def _blocks(frame, model, tp: int, pp: int) -> str:
    """"block 16", or the block of each format where their pools page differently (with --gpu
    the engine chooses: vLLM's MLA backends run 16 for bf16 and 64 for fp8 on Hopper)."""
    part = frame[(frame["model"] == model) & (frame["tp"] == tp) & (frame["pp"] == pp)]
    by_fmt = dict(zip(part["kv_dtype"].astype(str), part["block_size"].tolist()))
    if len(set(by_fmt.values())) == 1:
        return f"block {next(iter(by_fmt.values()))}"
    return "blocks: " + ", ".join(f"{n} for {name}" for name, n in by_fmt.items())


def register(app: typer.Typer) -> None:
    app.command("sweep")(sweep)


def _run_with_progress(grid, gpu, deploy):
    """run_sweep, with a progress bar on a terminal when the grid is large (thousands of (model,
    tp, pp) cells, or hundreds of capacity plans with a GPU)."""
    import sys

    from kvplan.sweep import run_sweep, sweep_units

    units = sweep_units(grid, gpu)
    if not sys.stderr.isatty() or units < (400 if gpu is not None else 5000):
        return run_sweep(grid, gpu, deploy)
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from kvplan.cli.common import console

    with Progress(TextColumn("sweeping {task.description}"), BarColumn(), TimeElapsedColumn(),
                  console=console(stderr=True), transient=True) as bar:
        task = bar.add_task(f"{len(grid.models)} model(s) x {len(grid.tps)} tp x {len(grid.pps)} pp", total=units)
        return run_sweep(grid, gpu, deploy, progress=lambda k: bar.advance(task, k))
