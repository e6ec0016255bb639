"""`kvplan recommend`: the cheapest deployment that holds the load and meets the targets."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from kvplan import limits
from kvplan.cli.common import (
    KV_DTYPE_NAMES,
    DtypeOpt,
    EngineOpt,
    GpuMemUtilOpt,
    JsonOpt,
    RecommendBlockSizeOpt,
    RecommendMaxModelLenOpt,
    MaxNumBatchedTokensOpt,
    MaxNumSeqsOpt,
    console,
    print_json,
    progress_bar,
    tok,
)
from kvplan.cli.speed import CalibrationOpt, OutputOpt

DEFAULT_GPUS = "h100,h200,b200,mi300x"


def recommend(
    model: Annotated[str, typer.Argument(help="Built-in name (see `kvplan models`), spec YAML, or config.json.")],
    ctx: Annotated[str, typer.Option("--ctx", help="Prompt tokens per request.")],
    users: Annotated[int, typer.Option("--users", min=1, max=limits.MAX_BATCH, help="Concurrent requests to serve at once.")],
    output: OutputOpt = None,
    tpot_ms: Annotated[
        Optional[float], typer.Option("--tpot-ms", help="Most milliseconds per output token (TPOT/ITL) at that load.")
    ] = None,
    ttft_s: Annotated[
        Optional[float], typer.Option("--ttft-s", help="Most seconds to the first token of one prompt, as kvplan times "
                                      "it: the GPU prefill on an idle replica (a client's TTFT also holds the "
                                      "server's request handling: docs/speed.md, 'Time to first token').")
    ] = None,
    gpus: Annotated[str, typer.Option("--gpus", help="GPU types to consider, comma-separated.")] = DEFAULT_GPUS,
    max_gpus: Annotated[int, typer.Option("--max-gpus", min=1, max=limits.MAX_DEGREE, help="Most GPUs in one deployment.")] = 16,
    weights: Annotated[
        Optional[str],
        typer.Option("--weights", help="Weight formats to consider, comma-separated [default: the model's, + fp8].")
    ] = None,
    kv_dtype: Annotated[
        str, typer.Option(*KV_DTYPE_NAMES, help="KV formats to consider, comma-separated.")
    ] = "auto,fp8",
    prices: Annotated[
        Optional[str], typer.Option("--prices", help="YAML of $/GPU-hour replacing the shipped prices it names.")
    ] = None,
    top: Annotated[int, typer.Option("--top", min=1, help="How many deployments to show.")] = 5,
    dtype: DtypeOpt = None,
    engine: EngineOpt = "vllm",
    gpu_memory_utilization: GpuMemUtilOpt = None,
    max_model_len: RecommendMaxModelLenOpt = None,
    max_num_batched_tokens: MaxNumBatchedTokensOpt = None,
    max_num_seqs: MaxNumSeqsOpt = None,
    block_size: RecommendBlockSizeOpt = None,
    calibration: CalibrationOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """The cheapest GPUs, layout (tp x pp x dp, expert parallel for MoE), weight format and
    KV format that hold USERS requests of CTX tokens at once (the same KV pool as `kvplan
    capacity`) and meet --tpot-ms / --ttft-s (the `kvplan speed` estimate), ranked by $/hour
    and $ per million output tokens (kvplan/data/prices.yaml, dated and cited; --prices
    overrides). Every family that cannot is listed with its reason: memory, tpot, ttft,
    shape or gpu. Exit 1 when nothing qualifies. Deployments are planned with
    --max-model-len CTX + OUTPUT unless --max-model-len is given (the engine must start
    with it, as `kvplan capacity` checks).

    Examples: kvplan recommend llama3.1-8b --ctx 8k --users 64 --tpot-ms 30;
    kvplan recommend llama3.1-70b --ctx 32k --users 64 --tpot-ms 50 --ttft-s 2 --gpus h100,h200,b200,mi300x;
    kvplan recommend deepseek-v3 --ctx 4k --users 256 --output 1k --gpus h200,b200,mi300x --block-size 128
    """
    from kvplan.errors import BadInputError
    from kvplan.formats import parse_formats
    from kvplan.loader import load_model
    from kvplan.recommend import load_prices
    from kvplan.recommend import recommend as run
    from kvplan.units import parse_list, parse_tokens

    n_ctx = parse_tokens(ctx, "--ctx")
    spec = load_model(model)
    if dtype:
        import dataclasses

        from kvplan.capacity import model_dtype

        spec = dataclasses.replace(spec, dtype=model_dtype(dtype))
    gpu_names = parse_list(gpus, lambda t, w: t, "--gpus")
    w_names = parse_list(weights, lambda t, w: t, "--weights") if weights else None
    kvs = parse_formats(kv_dtype, spec.dtype)  # checked here; "auto" is resolved per GPU (the dtype run there)
    kv_names = parse_list(kv_dtype, lambda t, w: t, "--kv-dtype")
    price_table = load_prices(prices)
    if calibration:
        if len(gpu_names) != 1:
            raise BadInputError("--calibration describes one GPU: give exactly one --gpus with it")
        from kvplan.gpus import get_gpu
        from kvplan.speed import load_calibration

        load_calibration(calibration, get_gpu(gpu_names[0]), kvs[0].name)  # refused before the search
    deploy = {k: v for k, v in {"gpu_memory_utilization": gpu_memory_utilization, "max_model_len": max_model_len,
                                "max_num_batched_tokens": max_num_batched_tokens,
                                "max_num_seqs": max_num_seqs, "block_size": block_size,
                                "dtype": spec.dtype if dtype else None}.items() if v is not None}
    progress, finish = progress_bar("searching", "families")
    try:
        rec = run(spec, ctx=n_ctx, users=users, output_tokens=parse_tokens(output, "--output") if output else None,
                  tpot_s=tpot_ms / 1e3 if tpot_ms is not None else None, ttft_s=ttft_s, gpus=gpu_names,
                  max_gpus=max_gpus, weights=w_names, kv_formats=kv_names, prices=price_table, engine=engine,
                  calibration=calibration, progress=progress, **deploy)
    finally:
        finish()
    # the shown deployments' pool caveats (what `kvplan capacity` prints for each), each once,
    # with the ranks it applies to (--json: all options, in "warnings" and per option)
    from kvplan.cli.common import warn

    for text, ranks in rec.warnings(None if json_out else top):
        warn(f"{_ranks(ranks)}: {text}")
    if json_out:
        print_json(rec.as_dict())
    else:
        _render(rec, top)
    if not rec.options:
        print("kvplan: no deployment meets the targets within the search (see the reasons above)", file=sys.stderr)
        raise typer.Exit(1)


def _ranks(ranks) -> str:
    """``#1``, ``#1, #3``: the table rows a warning applies to."""
    return ", ".join(f"#{r}" for r in ranks)




def _render(rec, top: int) -> None:
    from rich.table import Table

    con = console()
    sla = []
    if rec.tpot_s is not None:
        sla.append(f"TPOT <= {rec.tpot_s * 1e3:g} ms")
    if rec.ttft_s is not None:
        sla.append(f"TTFT <= {rec.ttft_s:g} s")
    load = f"{rec.users:,} users x {tok(rec.ctx)} prompt" + (f" + {tok(rec.output_tokens)} out"
                                                            if rec.output_tokens else "")
    title = f"{rec.model}: {load}" + (f"; {', '.join(sla)}" if sla else "; memory only") + \
        f" (up to {rec.max_gpus} GPUs, {rec.layouts_tried:,} layouts tried)"
    out = Table(title=title, title_justify="left")
    for col in ("#", "GPUs", "layout", "weights", "KV", "$/hour", "$/M tok", "TPOT ms", "TTFT ms", "tok/s",
                "bound"):
        out.add_column(col, justify="left" if col in ("GPUs", "layout", "weights", "KV", "bound") else "right")
    for i, o in enumerate(rec.options[:top], 1):
        r = o.request
        out.add_row(str(i), f"{o.num_gpus} x {r.gpu.name}", o.layout, r.weights or "-", r.kv_format.name,
                    f"{o.usd_per_hour:,.2f}", f"{o.usd_per_million_tokens:,.2f}", f"{o.point.tpot_s * 1e3:,.1f}",
                    f"{o.point.ttft_s * 1e3:,.0f}", f"{o.point.tokens_per_s:,.0f}", o.point.bound)
    if rec.options:
        con.print(out)
        if len(rec.options) > top:
            con.print(f"({len(rec.options) - top} more families qualify; --top or --json shows them)")
        mml = rec.options[0].request.max_model_len
        con.print(f"each planned with max_model_len {mml:,} (--max-model-len {mml})")
        if rec.ttft_s is not None:  # what --ttft-s was checked against (docs/speed.md, "Time to first token")
            con.print("TTFT: kvplan's GPU prefill of one prompt on an idle replica; a client's also holds the "
                      "server's request handling and any queueing (docs/speed.md)")
    else:
        con.print(title)
        con.print("nothing qualifies")
    if rec.rejections:
        rej = Table(title="families that cannot", title_justify="left")
        for col in ("GPU", "weights", "KV", "reason", "detail"):
            rej.add_column(col)
        for r in rec.rejections:
            rej.add_row(r.gpu, r.weights, r.kv_dtype, r.reason, r.detail)
        con.print(rej)
    prices = {o.price.gpu: o.price for o in rec.options[:top]}
    for p in prices.values():
        con.print(f"price {p.gpu}: ${p.usd_per_gpu_hour:g}/GPU-hour, {p.provider} on {p.date} ({p.source})")


def register(app: typer.Typer) -> None:
    app.command("recommend")(recommend)
