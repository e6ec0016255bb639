"""`kvplan calibrate`: fit the speed model's factors to an engine's own benchmark runs."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from kvplan.cli.speed import FuseAllreduceRmsOpt
from kvplan.cli.common import (
    DP_NAMES,
    KV_DTYPE_NAMES,
    PP_NAMES,
    TP_NAMES,
    DtypeOpt,
    EngineOpt,
    ExpertParallelOpt,
    GpuMemUtilOpt,
    JsonOpt,
    MaxModelLenOpt,
    MaxNumBatchedTokensOpt,
    MaxNumSeqsOpt,
    PoolBlockSizeOpt,
    WeightsOpt,
    console,
    print_json,
    progress_bar,
    tok,
    warn,
)


def calibrate(
    model: Annotated[str, typer.Argument(help="Built-in name (see `kvplan models`), spec YAML, or config.json.")],
    results: Annotated[list[str], typer.Argument(
        help="Benchmark results: `vllm bench serve --save-result` JSON files, `sglang.bench_serving "
             "--output-file` JSONL files (one run a line), or JSON lists of runs.")],
    gpu: Annotated[str, typer.Option("--gpu", help="The GPU the runs were measured on (from `kvplan gpus`).")],
    out: Annotated[Optional[str], typer.Option(
        "--out", help="Write the calibration JSON here (for `kvplan speed --calibration` and `kvplan recommend "
                      "--calibration`); nothing is written without it, or when the fit is refused.")] = None,
    metric: Annotated[str, typer.Option("--metric", help="Which TPOT of each run to fit: median or mean.")] = "median",
    tp: Annotated[int, typer.Option(*TP_NAMES, min=1, help="Tensor-parallel degree the runs used.")] = 1,
    pp: Annotated[int, typer.Option(*PP_NAMES, min=1, help="Pipeline-parallel degree.")] = 1,
    dp: Annotated[int, typer.Option(*DP_NAMES, min=1, help="Data-parallel replicas.")] = 1,
    enable_expert_parallel: ExpertParallelOpt = False,
    kv_dtype: Annotated[Optional[str], typer.Option(*KV_DTYPE_NAMES, help="The runs' KV format (auto = the model's "
                                                                          "dtype).")] = None,
    weights: WeightsOpt = None,
    dtype: DtypeOpt = None,
    engine: EngineOpt = "vllm",
    gpu_memory_utilization: GpuMemUtilOpt = None,
    max_model_len: MaxModelLenOpt = None,
    max_num_batched_tokens: MaxNumBatchedTokensOpt = None,
    max_num_seqs: MaxNumSeqsOpt = None,
    block_size: PoolBlockSizeOpt = None,
    fuse_allreduce_rms: FuseAllreduceRmsOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Fit kvplan's speed factors to your engine's own TPOT runs on the GPU you plan for, and
    write them as a calibration file. Give the deployment the runs were measured on (model,
    GPU, layout, engine release, formats: the same options as `kvplan speed`) and runs at two
    or more fixed concurrencies (`--max-concurrency N --request-rate inf`), ideally at the
    prompt and output lengths you plan for.

    The fit solves the fixed cost of a step and of a decoding sequence, the achieved weight,
    KV and compute fractions, and the cost per weight matrix (kvplan.calibrate), with a weak
    pull towards the shipped factors where the runs cannot tell figures apart. Its fixed
    costs belong to the deployment it was fitted on: `kvplan speed` warns when a file is used
    for another. docs/speed.md gives its held-out errors on published runs.

    Examples: kvplan calibrate gpt-oss-120b runs/*.json --gpu h200 --tp 2 --engine vllm==0.13.0 --out h200-cal.json;
    kvplan calibrate deepseek-v3 bench.jsonl --gpu h200 --tp 8 --weights fp8 --engine sglang==0.5.6 --json
    """
    from kvplan.calibrate import calibration_file, check_runs, fit, read_runs
    from kvplan.speed import setup
    from kvplan.capacity import plan
    from kvplan.cli.speed import deployment_request
    from kvplan.formats import parse_formats

    if out is not None:
        from kvplan.outputs import check_writable

        check_writable(out, "--out")
    runs = read_runs(results, metric)
    req = deployment_request(locals())
    if kv_dtype:
        formats = parse_formats(kv_dtype, req.spec.dtype)
        if len(formats) != 1:
            from kvplan.errors import BadInputError

            raise BadInputError(f"--kv-dtype: the runs used one KV format; got {kv_dtype!r}")
        req = req.replace(kv_format=formats[0])
    pool = plan(req)
    for text in pool.notes:
        warn(text)
    for text in check_runs(runs, pool):  # refuses runs whose saved server state contradicts the options
        warn(text)
    update, finish = progress_bar("fitting", "iterations (at most)")
    try:
        result = fit(pool, runs, fuse_allreduce_rms=fuse_allreduce_rms, progress=update)
    finally:
        finish()
    why = result.refusal()
    if why:
        from kvplan.errors import BadInputError

        raise BadInputError(why)
    fused = setup(pool, result.efficiency, fuse_allreduce_rms).allreduce_fusion.on
    data = calibration_file(result, pool, metric, fused)
    if out is not None:
        from kvplan.outputs import atomic_write_text

        atomic_write_text(out, json.dumps(data, indent=2) + "\n", "--out")
    if json_out:
        print_json({**data, "shipped": result.shipped_figures(), "written": out})
    else:
        _render(result, pool, metric)
    if out is not None:
        print(f"kvplan: wrote {out}", file=sys.stderr)
    elif not json_out:
        print("kvplan: nothing written (give --out FILE to keep the calibration)", file=sys.stderr)


def _pct(e: float) -> str:
    return f"{100 * e:+.1f}%"


def _render(result, pool, metric: str) -> None:
    from rich.table import Table

    con = console()
    req = pool.request
    par = f"tp {req.tp}" + (f", pp {req.pp}" if req.pp > 1 else "") + (f", dp {req.dp}" if req.dp > 1 else "")
    runs = Table(title=f"{req.spec.display_name} on {req.num_gpus} x {req.gpu.name} ({par}) under {pool.engine}; "
                       f"weights {pool.weights.format}, KV {req.kv_format.name}: {len(result.runs)} runs, {metric} "
                       f"TPOT", title_justify="left")
    for col in ("run", "users", "prompt", "output", "measured ms", "shipped ms", "error", "calibrated ms", "error"):
        runs.add_column(col, justify="left" if col == "run" else "right")
    for r, s, f in zip(result.runs, result.shipped_ms, result.fitted_ms):
        runs.add_row(Path(r.where).name, f"{r.users:,}", tok(r.prompt_tokens), tok(r.output_tokens), f"{r.tpot_ms:,.2f}",
                     f"{s:,.2f}", _pct((s - r.tpot_ms) / r.tpot_ms), f"{f:,.2f}", _pct((f - r.tpot_ms) / r.tpot_ms))
    con.print(runs)
    figs = Table(title="fitted figures", title_justify="left")
    for col in ("figure", "shipped", "calibrated"):
        figs.add_column(col, justify="left" if col == "figure" else "right")
    fitted, shipped = result.figures(), result.shipped_figures()
    for key in fitted:
        figs.add_row(key, f"{shipped[key]:g}", f"{fitted[key]:g}")
    con.print(figs)
    worst = max(abs(e) for e in result.errors())
    con.print(f"largest error on the runs: {100 * worst:.1f}% calibrated, "
              f"{100 * max(abs(e) for e in result.errors('shipped')):.1f}% shipped. The fixed costs are this "
              f"deployment's; runs at the lengths you plan for carry best (docs/speed.md, \"Calibrating from "
              f"an engine's runs\").")


def register(app: typer.Typer) -> None:
    app.command("calibrate")(calibrate)
