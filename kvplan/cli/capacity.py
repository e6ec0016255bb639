"""`kvplan capacity`, `kvplan check`, `kvplan gpus`: what fits on which GPUs."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from kvplan.cli.common import JsonOpt, b, console, gib, print_json, tok


def capacity(
    model: Annotated[str, typer.Argument(help="Built-in name (see `kvplan models`), spec YAML, or config.json.")],
    gpu: Annotated[Optional[str], typer.Option("--gpu", help="GPU from `kvplan gpus` (fuzzy: h100, H100-SXM).")] = None,
    gpu_mem: Annotated[
        Optional[str], typer.Option("--gpu-mem", help="Override GPU memory as the driver reports it: 24GiB, 80GB.")
    ] = None,
    gpus: Annotated[Optional[int], typer.Option("--gpus", help="Total GPUs (= tp * pp; alone it sets --tp).")] = None,
    tp: Annotated[Optional[int], typer.Option("--tp", help="Tensor-parallel degree.")] = None,
    pp: Annotated[Optional[int], typer.Option("--pp", help="Pipeline-parallel degree.")] = None,
    dtype: Annotated[Optional[str], typer.Option("--dtype", help="Model dtype: bf16, fp16, fp32.")] = None,
    weights: Annotated[
        Optional[str], typer.Option("--weights", help="Weight format: bf16, fp16, fp32, fp8, int8, int4, mxfp4.")
    ] = None,
    kv_dtype: Annotated[Optional[str], typer.Option("--kv-dtype", help="KV-cache format (auto = model dtype).")] = None,
    engine: Annotated[str, typer.Option("--engine", help="vllm, vllm-0.10, sglang, trtllm, raw.")] = "vllm",
    gpu_memory_utilization: Annotated[
        Optional[float],
        typer.Option("--gpu-memory-utilization", help="Engine memory fraction in (0, 1] (vLLM default 0.9)."),
    ] = None,
    max_model_len: Annotated[Optional[str], typer.Option("--max-model-len", help="Max tokens per request.")] = None,
    max_num_batched_tokens: Annotated[
        Optional[str], typer.Option("--max-num-batched-tokens", help="Tokens per forward (vLLM default by GPU).")
    ] = None,
    max_num_seqs: Annotated[Optional[int], typer.Option("--max-num-seqs", help="Max running requests.")] = None,
    block_size: Annotated[Optional[int], typer.Option("--block-size", help="Tokens per KV block.")] = None,
    ctx: Annotated[Optional[str], typer.Option("--ctx", help="Also report concurrency at this context.")] = None,
    batch: Annotated[Optional[int], typer.Option("--batch", help="Also report the longest context for N requests.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """How many KV-cache tokens and concurrent requests fit, per GPU, under an engine.

    Prints the memory waterfall of the most loaded GPU (total, engine's share, weights,
    activations, other, KV pool), the KV cache in tokens (vLLM's "GPU KV cache size"),
    blocks, maximum concurrency at max-model-len (and at --ctx), the longest context for
    --batch requests, and, when it does not fit, what would. Exit 1 when it does not fit.

    Examples: kvplan capacity llama3.1-8b --gpu h100;  kvplan capacity llama3-70b --gpu a100 --tp 4 --kv-dtype fp8
    """
    import dataclasses

    from kvplan.capacity import capacity_dict, plan_capacity
    from kvplan.errors import BadInputError
    from kvplan.loader import load_model
    from kvplan.units import parse_bytes, parse_tokens

    tp_, pp_ = _parallelism(gpus, tp, pp)
    spec = load_model(model)
    from kvplan.cli.common import warn_assumptions

    warn_assumptions(spec)
    if dtype:
        from kvplan.formats import MODEL_DTYPES, get_format

        d = get_format(dtype).name
        if d not in MODEL_DTYPES:
            raise BadInputError(f"--dtype must be one of {', '.join(MODEL_DTYPES)}, got {dtype!r}")
        spec = dataclasses.replace(spec, dtype=d)
    cap = plan_capacity(
        spec,
        gpu,
        gpu_mem_bytes=parse_bytes(gpu_mem, "--gpu-mem") if gpu_mem is not None else None,
        tp=tp_,
        pp=pp_,
        weights=weights,
        kv_format=kv_dtype,
        engine=engine,
        gpu_memory_utilization=gpu_memory_utilization,
        max_model_len=parse_tokens(max_model_len, "--max-model-len") if max_model_len else None,
        max_num_batched_tokens=parse_tokens(max_num_batched_tokens, "--max-num-batched-tokens")
        if max_num_batched_tokens else None,
        max_num_seqs=max_num_seqs,
        block_size=block_size,
        ctx=parse_tokens(ctx, "--ctx") if ctx else None,
        batch=batch,
    )
    if cap.max_model_len > spec.max_position_embeddings:
        from kvplan.cli.common import warn

        warn(f"max_model_len {cap.max_model_len:,} exceeds {spec.name}'s max_position_embeddings "
             f"({spec.max_position_embeddings:,}); vLLM refuses this unless the model's rope scaling allows it")
    if json_out:
        print_json({**capacity_dict(cap), "assumptions": list(spec.assumptions)})
    else:
        _render(spec, cap)
    if not cap.fits:
        print(f"kvplan: {cap.verdict}", file=sys.stderr)
        raise typer.Exit(1)


def _parallelism(gpus, tp, pp) -> tuple[int, int]:
    from kvplan.errors import BadInputError

    for what, v in (("--gpus", gpus), ("--tp", tp), ("--pp", pp)):
        if v is not None and v < 1:
            raise BadInputError(f"{what} must be at least 1, got {v}")
    if gpus is None:
        return tp or 1, pp or 1
    if tp is None and pp is None:
        return gpus, 1
    if tp is not None and pp is None:
        if gpus % tp:
            raise BadInputError(f"--gpus {gpus} is not a multiple of --tp {tp}")
        return tp, gpus // tp
    if tp is None:
        if gpus % pp:
            raise BadInputError(f"--gpus {gpus} is not a multiple of --pp {pp}")
        return gpus // pp, pp
    if tp * pp != gpus:
        raise BadInputError(f"--gpus {gpus} must equal --tp {tp} x --pp {pp} = {tp * pp}")
    return tp, pp


def _render(spec, cap) -> None:
    from rich.table import Table

    con = console()
    w = cap.waterfall
    par = f", tp {cap.tp}, pp {cap.pp}" if cap.num_gpus > 1 else ""
    frac = f"{cap.memory_fraction_name} {cap.memory_fraction:g}" if cap.memory_fraction_name else "all memory"
    title = (f"{spec.display_name} on {cap.num_gpus} x {cap.gpu}{par} under {cap.engine} ({frac}); "
             f"weights {cap.weights_format}, KV {cap.kv_dtype}")
    table = Table(title=title, title_justify="left")
    table.add_column(f"per GPU{f' (stage {w.stage}, the binding one)' if cap.pp > 1 else ''}")
    table.add_column("bytes", justify="right")
    table.add_column("GiB", justify="right")
    rows = [
        ("total (as the driver reports it)", w.total_bytes),
        ("engine's share", w.engine_share_bytes),
        ("- weights", w.weights_bytes),
        ("- activation peak", w.activation_bytes),
        ("- other (non-torch, buffers)", w.other_bytes),
        ("= KV pool", w.kv_pool_bytes),
    ]
    for label, n in rows:
        table.add_row(label, b(n), gib(n))
    con.print(table)
    con.print(
        f"KV cache: {b(cap.kv_cache_tokens)} tokens in {b(cap.num_blocks)} blocks of {cap.block_size}"
        + (f" ({cap.padding_layers} padding layers)" if cap.padding_layers else "")
    )
    con.print(
        f"max concurrency at max_model_len {tok(cap.max_model_len)}: {cap.max_concurrency:.2f}x "
        f"({cap.blocks_per_request:,} blocks per request)"
    )
    if cap.ctx is not None:
        con.print(f"max concurrency at --ctx {tok(cap.ctx)}: {cap.concurrency_at_ctx:.2f}x")
    if cap.batch is not None:
        con.print(f"longest context for {cap.batch} concurrent requests: {b(cap.max_context_at_batch)} tokens")
    if cap.pp > 1:
        stages = Table(title="pipeline stages", title_justify="left")
        for col in ("stage", "layers", "weights", "activations", "other", "KV pool", "blocks"):
            stages.add_column(col, justify="right")
        for s, n in zip(cap.stages, cap.stage_blocks):
            stages.add_row(str(s.stage), f"{s.layers.start}-{s.layers.stop - 1}", gib(s.weights_bytes),
                           gib(s.activation_bytes), gib(s.other_bytes), gib(s.kv_pool_bytes), b(n))
        con.print(stages)
    con.print("verdict: " + cap.verdict)


def check(
    plan: Annotated[str, typer.Argument(help="Plan YAML listing deployments and their requirements.")],
    json_out: JsonOpt = False,
    junit: Annotated[Optional[str], typer.Option("--junit", help="Also write a JUnit XML report here.")] = None,
) -> None:
    """Check a deployment plan: exit 0 when every requirement passes, 1 when any fails, 2 when the plan is bad.

    Each deployment names a model, GPU, parallelism, formats and engine settings, and
    requirements (min concurrency at a context, min KV tokens, min headroom,
    max_model_len must fit). See docs/check.md and examples/capacity.yaml.
    """
    from kvplan.errors import CheckFailedError
    from kvplan.plan import check_plan, junit_xml, load_plan, report_dict

    if junit:
        from kvplan.outputs import check_writable

        check_writable(junit, "--junit")
    p = load_plan(plan)
    report = check_plan(p)
    if junit:
        from kvplan.outputs import atomic_write_text

        atomic_write_text(junit, junit_xml(report), "--junit")
    if json_out:
        print_json(report_dict(report))
    else:
        _render_check(report)
    if not report.passed:
        failed = [r for d in report.deployments for r in d.results if not r.passed]
        first = failed[0]
        raise CheckFailedError(
            f"check failed: {len(failed)} of {report.num_requirements} requirements "
            f"({first.deployment}: {first.message}{'; ...' if len(failed) > 1 else ''})"
        )


def _render_check(report) -> None:
    from rich.table import Table

    con = console()
    table = Table(title=f"kvplan check {report.plan}", title_justify="left")
    for col in ("deployment", "requirement", "result", "detail"):
        table.add_column(col)
    for d in report.deployments:
        for r in d.results:
            table.add_row(d.name, r.requirement, "pass" if r.passed else "FAIL", r.message)
    con.print(table)
    n_fail = sum(1 for d in report.deployments for r in d.results if not r.passed)
    con.print(f"{report.num_requirements - n_fail} passed, {n_fail} failed")


def gpus(json_out: JsonOpt = False) -> None:
    """List the GPU catalog: memory as the driver reports it, HBM bandwidth, dense BF16 FLOP/s."""
    from kvplan.gpus import gpu_dict, list_gpus

    rows = list_gpus()
    if json_out:
        print_json([gpu_dict(g) for g in rows])
        return
    from rich.table import Table

    table = Table(title=f"{len(rows)} GPUs (--gpu takes any name or alias; --gpu-mem overrides memory)",
                  title_justify="left")
    for col, just in (("name", "left"), ("GPU", "left"), ("memory (driver)", "right"), ("bytes", "right"),
                      ("bandwidth", "right"), ("BF16 dense", "right"), ("aliases", "left")):
        table.add_column(col, justify=just)
    for g in rows:
        flops = f"{g.bf16_dense_flops / 1e12:,.1f} TFLOP/s" if g.bf16_dense_flops else "n/a"
        table.add_row(g.name, g.display_name, gib(g.memory_bytes), b(g.memory_bytes),
                      f"{g.hbm_bandwidth_bytes_per_s / 1e12:.2f} TB/s", flops, ", ".join(g.aliases))
    console().print(table)


def register(app: typer.Typer) -> None:
    app.command("capacity")(capacity)
    app.command("check")(check)
    app.command("gpus")(gpus)
