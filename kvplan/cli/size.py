"""`kvplan size`: the KV-cache footprint of a model across formats."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from kvplan.cli.common import (
    BlockSizeOpt,
    EngineOpt,
    GpuMemOpt,
    GpuMemUtilOpt,
    JsonOpt,
    MaxModelLenOpt,
    MaxNumBatchedTokensOpt,
    MaxNumSeqsOpt,
    PpOpt,
    TpOpt,
    WeightsOpt,
    b,
    console,
    deploy_options,
    gib,
    print_json,
    tok,
    warn,
)


def size(
    model: Annotated[str, typer.Argument(help="Built-in name (see `kvplan models`), spec YAML, or config.json.")],
    ctx: Annotated[str, typer.Option("--ctx", help="Context length per sequence: 4096, 32k, 1M.")] = "8k",
    batch: Annotated[int, typer.Option("--batch", min=1, help="Concurrent sequences.")] = 1,
    kv_dtype: Annotated[
        Optional[str],
        typer.Option("--kv-dtype", help="Only these formats, comma-separated (bf16,fp8,int4; auto = model dtype)."),
    ] = None,
    block_size: BlockSizeOpt = 16,
    tp: TpOpt = 1,
    pp: PpOpt = 1,
    json_out: JsonOpt = False,
    plot: Annotated[
        Optional[str], typer.Option("--plot", help="Also draw KV memory against context to this PNG.")
    ] = None,
    gpu: Annotated[
        Optional[str],
        typer.Option("--gpu", help="Also say, per format, whether ctx x batch runs on this GPU (as `kvplan capacity`)."),
    ] = None,
    gpu_mem: GpuMemOpt = None,
    engine: EngineOpt = "vllm",
    weights: WeightsOpt = None,
    gpu_memory_utilization: GpuMemUtilOpt = None,
    max_model_len: MaxModelLenOpt = None,
    max_num_batched_tokens: MaxNumBatchedTokensOpt = None,
    max_num_seqs: MaxNumSeqsOpt = None,
) -> None:
    """Exact KV-cache bytes: per token, per sequence, for ctx x batch, paged, and per GPU.

    Without --kv-dtype, every format is compared (bf16 ... int2, llama.cpp q-formats).
    Sliding-window layers hold min(ctx, window) tokens, state-space layers a constant
    state, MLA one latent per token. Under --tp each GPU keeps max(1, kv_heads // tp)
    heads; --pp splits layers into stages (the largest is reported).

    With --gpu (or --gpu-mem) each format also gets the answer of the KV pool that
    deployment has (the same request and pool as `kvplan capacity`, with its engine
    options): whether batch requests of ctx run at once, how many would, and what limits
    them; --plot then draws what the engine reserves against that pool.

    Examples: kvplan size llama3-8b --ctx 32k;  kvplan size deepseek-v3 --kv-dtype fp8 --json;
    kvplan size gemma3-27b --ctx 32k --batch 8 --gpu h100
    """
    from kvplan.formats import FORMATS, parse_formats
    from kvplan.footprint import Parallelism, footprint, supported_formats
    from kvplan.loader import load_model
    from kvplan.units import parse_tokens

    n_ctx = parse_tokens(ctx, "--ctx")
    spec = load_model(model)
    formats = parse_formats(kv_dtype, spec.dtype) if kv_dtype else list(FORMATS.values())
    usable, skipped = supported_formats(spec, formats)
    if kv_dtype and skipped:
        from kvplan.errors import ShapeError

        raise ShapeError(next(iter(skipped.values())))
    par = Parallelism(tp, pp)
    fps = [footprint(spec, fmt, n_ctx, batch, block_size, par) for fmt in usable]
    deploy = deploy_options(gpu_mem=gpu_mem, engine=engine, weights=weights,
                            gpu_memory_utilization=gpu_memory_utilization, max_model_len=max_model_len,
                            max_num_batched_tokens=max_num_batched_tokens, max_num_seqs=max_num_seqs)
    answers = None
    if gpu is not None or gpu_mem is not None:
        answers = _pool_answers(spec, usable, gpu, deploy, par, block_size, n_ctx, batch)
    elif any(v not in (None, "vllm") for v in deploy.values()):
        from kvplan.errors import BadInputError

        raise BadInputError("engine options (--engine, --max-model-len, ...) apply with --gpu; add --gpu")
    if plot:
        from kvplan.plots import plot_size

        plot_size(spec, usable, plot, batch=batch, block_size=block_size, par=par, ctx_mark=n_ctx,
                  gpu=answers[0] if answers else None, deploy=deploy)
    if n_ctx > spec.max_position_embeddings:
        warn(f"ctx {n_ctx} exceeds {spec.name}'s max_position_embeddings ({spec.max_position_embeddings})")
    if json_out:
        from kvplan.report import footprint_dict

        print_json(
            {
                "model": spec.name,
                "ctx": n_ctx,
                "batch": batch,
                "block_size": block_size,
                "tp": tp,
                "pp": pp,
                "num_gpus": par.num_gpus,
                "formats": [dict(footprint_dict(fp), **({"on_gpu": answers[1][fp.kv_dtype]} if answers else {}))
                            for fp in fps],
                "gpu": answers[0].name if answers else None,
                "skipped_formats": skipped,
            }
        )
        return
    for name, why in skipped.items():
        warn(f"{name} not shown: {why}")
    _render(spec, fps, par, answers)


def _pool_answers(spec, formats, gpu, deploy, par, block_size, ctx, batch):
    """(GPU, {format: the pool's answers for batch x ctx}) from kvplan.capacity."""
    from kvplan.capacity import make_request, plan

    out = {}
    g = None
    for fmt in formats:
        pool = plan(make_request(spec, gpu, tp=par.tp, pp=par.pp, kv_format=fmt, block_size=block_size, **deploy))
        g = pool.request.gpu
        v = pool.serves(ctx, batch)
        out[fmt.name] = {
            "engine": pool.engine, "kv_pool_bytes": pool.kv_pool_bytes,
            "reserved_bytes": pool.reserved_bytes(ctx, batch) if pool.paged else 0,
            "max_requests": pool.max_requests(ctx), "fits": v.ok, "limit": v.bound, "reason": v.reason,
        }
    return g, out


def _render(spec, fps, par, answers=None) -> None:
    from rich.table import Table

    con = console()
    fp0 = fps[0]
    multi = par.num_gpus > 1
    title = (
        f"{spec.display_name}: KV cache for {tok(fp0.ctx)} tokens x {fp0.batch} "
        f"(block {fp0.block_size}{f', tp {par.tp}, pp {par.pp}' if multi else ''})"
    )
    table = Table(title=title, title_justify="left")
    table.add_column("format")
    table.add_column("bytes/token", justify="right")
    table.add_column("per sequence", justify="right")
    table.add_column("total", justify="right")
    table.add_column(f"paged ({fp0.block_size})", justify="right")
    if multi:
        table.add_column("per GPU (paged)", justify="right")
        table.add_column(f"all {par.num_gpus} GPUs (paged)", justify="right")
    if answers:
        gpu, by_fmt = answers
        table.add_column(f"{fp0.batch} x {tok(fp0.ctx)} on {gpu.name}", justify="left")
        table.add_column(f"max requests of {tok(fp0.ctx)}", justify="right")
    for fp in fps:
        row = [fp.kv_dtype, b(fp.bytes_per_token), gib(fp.seq_bytes), gib(fp.total_bytes), gib(fp.paged_total_bytes)]
        if multi:
            row += [gib(fp.per_gpu_paged_bytes), gib(fp.all_gpus_paged_bytes)]
        if answers:
            a = answers[1][fp.kv_dtype]
            row += ["fits" if a["fits"] else f"no ({a['limit']})", b(a["max_requests"])]
        table.add_row(*row)
    con.print(table)
    if answers:
        a = next(iter(answers[1].values()))
        con.print(f"on {answers[0].name}: the KV pool {answers[0].name} gets under {a['engine']} "
                  f"(`kvplan capacity` with the same options; per replica of {par.num_gpus} GPU"
                  f"{'s' if multi else ''}); a format that does not fit names what limits it")

    # Breakdown by layer group (one row for a uniform model), in the model's own dtype when
    # shown, else the first format.
    shown = next((fp for fp in fps if fp.kv_dtype == spec.dtype), fp0)
    groups = Table(title=f"by layer group ({shown.kv_dtype})", title_justify="left")
    for col, just in (("group", "left"), ("layers", "right"), ("cache", "left"), ("tokens held", "right"),
                      ("bytes/token/layer", "right"), ("total", "right")):
        groups.add_column(col, justify=just)
    for g in shown.groups:
        held = tok(g.cached_tokens) if g.kind.token_proportional else "state"
        groups.add_row(g.label, str(g.num_layers), g.kind.describe(), held, b(g.per_token_bytes), gib(g.total_bytes))
    con.print(groups)
    if par.pp > 1:
        stages = Table(title=f"per GPU by pipeline stage ({shown.kv_dtype})", title_justify="left")
        for col in ("stage", "layers", "per GPU", "per GPU (paged)"):
            stages.add_column(col, justify="right")
        for s in shown.stages:
            stages.add_row(str(s.stage), f"{s.layers.start}-{s.layers.stop - 1}", gib(s.bytes), gib(s.paged_bytes))
        con.print(stages)
    bf = next((fp for fp in fps if fp.kv_dtype == spec.dtype), None)
    if bf is not None:
        con.print(
            f"{spec.dtype}: {b(bf.bytes_per_token)} B per token; {b(bf.total_bytes)} B in total"
            + (f"; {b(bf.per_gpu_paged_bytes)} B paged on the most loaded of {par.num_gpus} GPUs" if multi else "")
        )


def register(app: typer.Typer) -> None:
    app.command("size")(size)
