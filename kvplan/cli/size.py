"""`kvplan size`: the KV-cache footprint of a model across formats."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from kvplan.cli.common import (BlockSizeOpt, JsonOpt, PpOpt, TpOpt, b, console, gib, print_json, tok, warn,
                               warn_assumptions)


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
        Optional[str], typer.Option("--gpu", help="With --plot: draw this GPU's memory minus weights per GPU.")
    ] = None,
) -> None:
    """Exact KV-cache bytes: per token, per sequence, for ctx x batch, paged, and per GPU.

    Without --kv-dtype, every format is compared (bf16 ... int2, llama.cpp q-formats).
    Sliding-window layers hold min(ctx, window) tokens, state-space layers a constant
    state, MLA one latent per token. Under --tp each GPU keeps max(1, kv_heads // tp)
    heads; --pp splits layers into stages (the largest is reported).

    Examples: kvplan size llama3-8b --ctx 32k;  kvplan size deepseek-v3 --kv-dtype fp8 --json
    """
    from kvplan.formats import FORMATS, parse_formats
    from kvplan.footprint import Parallelism, footprint, supported_formats
    from kvplan.loader import load_model
    from kvplan.units import parse_tokens

    n_ctx = parse_tokens(ctx, "--ctx")
    spec = load_model(model)
    warn_assumptions(spec)
    formats = parse_formats(kv_dtype, spec.dtype) if kv_dtype else list(FORMATS.values())
    usable, skipped = supported_formats(spec, formats)
    if kv_dtype and skipped:
        from kvplan.errors import ShapeError

        raise ShapeError(next(iter(skipped.values())))
    par = Parallelism(tp, pp)
    fps = [footprint(spec, fmt, n_ctx, batch, block_size, par) for fmt in usable]
    if plot:
        from kvplan.plots import plot_size

        plot_size(spec, usable, plot, batch=batch, block_size=block_size, par=par, ctx_mark=n_ctx, gpu=gpu)
    elif gpu:
        from kvplan.errors import BadInputError

        raise BadInputError("--gpu is only used with --plot here; for what fits on a GPU use `kvplan capacity`")
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
                "formats": [footprint_dict(fp) for fp in fps],
                "skipped_formats": skipped,
                "assumptions": list(spec.assumptions),
            }
        )
        return
    for name, why in skipped.items():
        warn(f"{name} not shown: {why}")
    _render(spec, fps, par)


def _render(spec, fps, par) -> None:
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
    for fp in fps:
        row = [fp.kv_dtype, b(fp.bytes_per_token), gib(fp.seq_bytes), gib(fp.total_bytes), gib(fp.paged_total_bytes)]
        if multi:
            row += [gib(fp.per_gpu_paged_bytes), gib(fp.all_gpus_paged_bytes)]
        table.add_row(*row)
    con.print(table)

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
