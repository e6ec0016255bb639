"""`kvplan speed`: time per output token, time to first token and tokens/s at N users."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

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
    PoolBlockSizeOpt,
    MaxNumBatchedTokensOpt,
    MaxNumSeqsOpt,
    WeightsOpt,
    console,
    print_json,
    tok,
    warn,
)

CalibrationOpt = Annotated[
    Optional[str],
    typer.Option("--calibration", help="A `kvplan measure` report, or a JSON of achieved fractions "
                                       "(docs/speed.md), replacing the shipped efficiency factors."),
]
OutputOpt = Annotated[
    Optional[str],
    typer.Option("--output", help="Output tokens per request: decode is timed at ctx + output/2 and "
                                          "each step also carries its share of new prompts (chunked prefill)."),
]


FuseAllreduceRmsOpt = Annotated[
    Optional[bool],
    typer.Option("--fuse-allreduce-rms/--no-fuse-allreduce-rms",
                 help="FlashInfer all-reduce + RMSNorm in one kernel: vLLM's --compilation-config "
                      "'{\"pass_config\":{\"fuse_allreduce_rms\":true}}' (or false), SGLang's "
                      "--enable-flashinfer-allreduce-fusion; tp all-reduces the engine fuses cost the measured "
                      "saving less (kvplan/data/efficiency.yaml). Default: the release's (vLLM: off up to 0.16.0; "
                      "from 0.17.0 on at tp > 1, dp 1, pp 1 on compute capability 9.0 and 10.0, 10.x from "
                      "0.19.0. SGLang: on for some MoE architectures on Blackwell from 0.5.1, Hopper too in "
                      "0.5.8; 0.5.23 on but not read: refused where on, --no- turns it off). Refused for releases "
                      "without the option, other engines, and --no- where SGLang up to 0.5.8 turns it on (no "
                      "flag turns it off there)."),
]


def deployment_request(params: dict):
    """The CapacityRequest of the deployment options `kvplan speed` and `kvplan calibrate` share
    (``params``: the command's locals(): model, gpu, tp, pp, dp, block_size and the
    deploy_options names), KV format the model's (the caller sets its own)."""
    from kvplan.capacity import make_request
    from kvplan.cli.common import deploy_from
    from kvplan.loader import load_model

    return make_request(load_model(params["model"]), params["gpu"], tp=params["tp"], pp=params["pp"],
                        dp=params["dp"], kv_format=None, block_size=params["block_size"], **deploy_from(params))


def speed(
    model: Annotated[str, typer.Argument(help="Built-in name (see `kvplan models`), spec YAML, or config.json.")],
    gpu: Annotated[str, typer.Option("--gpu", help="GPU from `kvplan gpus` (its bandwidth and FLOP/s are used).")],
    ctx: Annotated[str, typer.Option("--ctx", help="Prompt tokens per request (the context decode starts from).")],
    users: Annotated[str, typer.Option("--users", help="Concurrent requests, comma-separated: 1,8,32,128.")] = "1,8,32",
    output: OutputOpt = None,
    tp: Annotated[int, typer.Option(*TP_NAMES, min=1, help="Tensor-parallel degree.")] = 1,
    pp: Annotated[int, typer.Option(*PP_NAMES, min=1, help="Pipeline-parallel degree.")] = 1,
    dp: Annotated[int, typer.Option(*DP_NAMES, min=1, help="Data-parallel replicas (vLLM DP: MoE layers shared).")] = 1,
    enable_expert_parallel: ExpertParallelOpt = False,
    kv_dtype: Annotated[
        Optional[str], typer.Option(*KV_DTYPE_NAMES, help="KV formats, comma-separated (auto = the model's dtype).")
    ] = None,
    weights: WeightsOpt = None,
    dtype: DtypeOpt = None,
    engine: EngineOpt = "vllm",
    gpu_memory_utilization: GpuMemUtilOpt = None,
    max_model_len: MaxModelLenOpt = None,
    max_num_batched_tokens: MaxNumBatchedTokensOpt = None,
    max_num_seqs: MaxNumSeqsOpt = None,
    block_size: PoolBlockSizeOpt = None,
    calibration: CalibrationOpt = None,
    fuse_allreduce_rms: FuseAllreduceRmsOpt = None,
    json_out: JsonOpt = False,
    plot: Annotated[
        Optional[str],
        typer.Option("--plot", help="Draw tokens/s against users and TPOT against context (PNG, SVG or PDF)."),
    ] = None,
) -> None:
    """How fast a deployment decodes and prefills: TPOT (= ITL), TTFT, tokens/s per user and
    per GPU at each users count, and what bounds each step (weights, kv, compute, comm,
    overhead). Users the KV pool cannot hold at once (the same pool as `kvplan capacity`)
    are marked and not timed.

    The estimate is a roofline with measured-engine factors (kvplan/data/efficiency.yaml,
    each with its source; --calibration replaces them). docs/speed.md lists its errors
    against published measurements.

    Examples: kvplan speed llama3.1-8b --gpu h100 --ctx 8k --users 1,8,32,128;
    kvplan speed llama3-70b --gpu h100 --tp 4 --ctx 4k --output 512 --kv-dtype bf16,fp8 --json;
    kvplan speed deepseek-v3 --gpu h200 --dp 8 --enable-expert-parallel --ctx 4k --users 64,256
    """
    from kvplan.formats import parse_formats
    from kvplan.speed import speed_table
    from kvplan.units import parse_list, parse_tokens

    if plot is not None:
        from kvplan.plots import check_plot_output

        check_plot_output(plot)
    n_ctx = parse_tokens(ctx, "--ctx")
    users_list = list(dict.fromkeys(parse_list(users, lambda t, w: _users(t), "--users")))  # 1,1,1: one row
    req = deployment_request(locals())
    formats = parse_formats(kv_dtype, req.spec.dtype) if kv_dtype else [req.kv_format]
    table = speed_table(req, users_list, n_ctx, formats, parse_tokens(output, "--output") if output else None, None,
                        fuse_allreduce_rms, calibration=calibration)  # calibrated per KV format
    if plot is not None:
        from kvplan.speed import plot_speed

        plot_speed(table, plot, users_list)
        print(f"kvplan: wrote {plot}", file=sys.stderr)
    for text in table.warnings:  # the pool's caveats, as `kvplan capacity` prints them
        warn(text)
    for s in table.setups:
        v = s.pool.planned()  # as `kvplan capacity --ctx` asks: does the engine start?
        if not v and s.pool.start_bound() == "weights":  # no row is timed: nothing to assume
            warn(f"KV {s.request.kv_format.name}: this deployment does not run ({v.reason})")
        elif not v:
            warn(f"KV {s.request.kv_format.name}: this deployment does not run as planned ({v.reason}); the "
                 f"figures assume it did (give --max-model-len)")
    if json_out:
        print_json(table.as_dict())
        return
    _render(table, calibration)


def _users(text: str) -> int:
    from kvplan.errors import BadInputError

    try:
        value = int(str(text).replace("_", ""))
    except ValueError:
        raise BadInputError(f"--users: {text!r} is not a whole number") from None
    if value < 1:
        raise BadInputError(f"--users: must be at least 1, got {value}")
    from kvplan import limits

    return limits.check_int(value, "--users", limits.MAX_BATCH)


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1e3:,.1f}"


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}" if value >= 100 else f"{value:,.1f}"


def _render(table, calibration: str | None) -> None:
    from rich.table import Table

    con = console()
    first = table.setups[0]
    req = first.request
    par = f"tp {req.tp}" + (f", pp {req.pp}" if req.pp > 1 else "") + (f", dp {req.dp}" if req.dp > 1 else "")
    if req.enable_expert_parallel:
        par += ", expert parallel"
    load = f"prompts of {tok(table.ctx)}" + (f", {tok(table.output_tokens)} out" if table.output_tokens else "")
    for s, points in zip(table.setups, table.points):
        r = s.request
        peak = table.peak
        cap = table.requests_held(s)
        # a deployment that does not start holds no request (as capacity and sweep say); the rows
        # are timed as if it started (the warning says so), so the memory's own count is given too
        bound = s.pool.start_bound()
        alone = (f" (it does not start; its memory alone: {r.dp * s.pool.memory_requests(peak):,})"
                 if bound == "max_model_len" else " (it does not start)" if bound else "")
        title = (f"{r.spec.display_name} on {r.num_gpus} x {r.gpu.name} ({par}) under {s.pool.engine}; weights "
                 f"{s.pool.weights.format}, KV {r.kv_format.name}; {load}; the pool holds {cap:,} requests of "
                 f"{tok(peak)}{alone}")
        out = Table(title=title, title_justify="left")
        for col in ("users", "TPOT ms", "TTFT ms", "tok/s/user", "tok/s", "tok/s/GPU", "bound"):
            out.add_column(col, justify="left" if col == "bound" else "right")
        for p in points:
            if not p.fits:
                out.add_row(f"{p.users:,}", "-", _ms(p.ttft_s), "-", "-", "-", f"does not fit: {p.limit}")
                continue
            out.add_row(f"{p.users:,}", _ms(p.tpot_s), _ms(p.ttft_s), _rate(p.tokens_per_s_per_user),
                        _rate(p.tokens_per_s), _rate(p.tokens_per_s_per_gpu), p.bound)
        con.print(out)
        for p in points:
            if not p.fits:
                con.print(f"  {p.users:,} user{'' if p.users == 1 else 's'}: {p.reason}")
    fusion = first.allreduce_fusion
    if fusion.on:
        sizes = (f"{fusion.max_bytes:,} bytes" if fusion.mlp_bytes == fusion.max_bytes else
                 f"{fusion.max_bytes:,} bytes (attention) / {fusion.mlp_bytes:,} bytes (MLP)")
        last = "" if fusion.last_layer_mlp_fused else " (not the last layer's MLP one)"
        con.print(f"all-reduce + RMSNorm fusion on: {fusion.source}; tp all-reduces up to {sizes}{last} "
                  f"cost {first.efficiency.fused_allreduce_saving_s * 1e6:g} us less")
    source = f"calibration {calibration}" if calibration else "shipped factors (kvplan/data/efficiency.yaml)"
    # say only what was timed: no TPOT where no users count fits, no TTFT where no prompt is served
    rows = [p for points in table.points for p in points]
    timed = ([f"TPOT timed at {tok(rows[0].ctx)} tokens a sequence"] if any(p.fits for p in rows) else
             ["No users count fits: no TPOT timed"])
    if any(p.ttft_s is not None for p in rows):
        timed.append("TTFT of one prompt's GPU prefill on an idle replica")
    con.print(f"{'; '.join(timed)}; efficiency: {source}. Estimates: see docs/speed.md for measured errors.")


def register(app: typer.Typer) -> None:
    app.command("speed")(speed)
