"""`kvplan capacity`, `kvplan check`, `kvplan gpus`: what fits on which GPUs."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from kvplan.cli.common import (
    DtypeOpt,
    EngineOpt,
    GpuMemOpt,
    GpuMemUtilOpt,
    GpuOpt,
    JsonOpt,
    MaxModelLenOpt,
    MaxNumBatchedTokensOpt,
    MaxNumSeqsOpt,
    WeightsOpt,
    b,
    console,
    deploy_options,
    gib,
    print_json,
    tok,
)


def capacity(
    model: Annotated[str, typer.Argument(help="Built-in name (see `kvplan models`), spec YAML, or config.json.")],
    gpu: GpuOpt = None,
    gpu_mem: GpuMemOpt = None,
    gpus: Annotated[Optional[int], typer.Option("--gpus", help="GPUs of one replica (= tp * pp; alone it sets --tp).")] = None,
    tp: Annotated[Optional[int], typer.Option("--tp", help="Tensor-parallel degree.")] = None,
    pp: Annotated[Optional[int], typer.Option("--pp", help="Pipeline-parallel degree.")] = None,
    dp: Annotated[int, typer.Option("--dp", help="Data-parallel replicas (each tp * pp GPUs).")] = 1,
    dtype: DtypeOpt = None,
    weights: WeightsOpt = None,
    kv_dtype: Annotated[Optional[str], typer.Option("--kv-dtype", help="KV-cache format (auto = model dtype).")] = None,
    engine: EngineOpt = "vllm",
    gpu_memory_utilization: GpuMemUtilOpt = None,
    max_model_len: MaxModelLenOpt = None,
    max_num_batched_tokens: MaxNumBatchedTokensOpt = None,
    max_num_seqs: MaxNumSeqsOpt = None,
    block_size: Annotated[Optional[int], typer.Option("--block-size", help="Tokens per KV block.")] = None,
    ctx: Annotated[Optional[str], typer.Option("--ctx", help="Also report how many requests of this length run at once.")] = None,
    batch: Annotated[Optional[int], typer.Option("--batch", help="Also report the longest context for N requests.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """How many KV-cache tokens and concurrent requests fit under an engine.

    Prints the memory waterfall of one GPU (the most loaded: total, engine's share,
    weights, activations, other, KV pool), then what one replica (tp x pp GPUs, one engine
    instance) holds: KV tokens (vLLM's "GPU KV cache size"), blocks, requests of
    max-model-len that run at once (memory, capped by max-num-seqs), and with --ctx /
    --batch the answers for that load; with --dp the whole deployment. When it does not fit,
    what would. Exit 1 when it does not fit.

    Examples: kvplan capacity llama3.1-8b --gpu h100;  kvplan capacity llama3-70b --gpu a100-80gb --tp 4 --kv-dtype fp8;
    kvplan capacity gemma3-27b --gpu h100 --ctx 32k --batch 8
    """
    from kvplan.capacity import capacity_dict, make_request, plan, summarize
    from kvplan.loader import load_model
    from kvplan.units import parse_tokens

    tp_, pp_ = _parallelism(gpus, tp, pp)
    spec = load_model(model)
    req = make_request(
        spec, gpu, tp=tp_, pp=pp_, dp=dp, kv_format=kv_dtype, block_size=block_size,
        **deploy_options(gpu_mem=gpu_mem, engine=engine, dtype=dtype, weights=weights,
                         gpu_memory_utilization=gpu_memory_utilization, max_model_len=max_model_len,
                         max_num_batched_tokens=max_num_batched_tokens, max_num_seqs=max_num_seqs),
    )
    cap = summarize(plan(req), ctx=parse_tokens(ctx, "--ctx") if ctx else None, batch=batch)
    if cap.max_model_len > spec.max_position_embeddings:
        from kvplan.cli.common import warn

        warn(f"max_model_len {cap.max_model_len:,} exceeds {spec.name}'s max_position_embeddings "
             f"({spec.max_position_embeddings:,}); vLLM refuses this unless the model's rope scaling allows it")
    from kvplan.cli.common import warn

    for note in cap.notes:
        warn(note)
    if json_out:
        print_json(capacity_dict(cap))
    else:
        _render(req.spec, cap)
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
    pool = cap.pool
    par = f", tp {cap.tp}, pp {cap.pp}" if cap.num_gpus > 1 else ""
    frac = f"{cap.memory_fraction_name} {cap.memory_fraction:g}" if cap.memory_fraction_name else "all memory"
    title = (f"{spec.display_name} on {cap.num_gpus} x {cap.gpu}{par}{f' x dp {cap.dp}' if cap.dp > 1 else ''} "
             f"under {cap.engine} ({frac}); weights {cap.weights_format}, KV {cap.kv_dtype}")
    table = Table(title=title, title_justify="left")
    table.add_column(f"one GPU{f' (stage {w.stage}, the binding one)' if cap.pp > 1 else ''}")
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
    replica = f"one replica ({cap.num_gpus} GPU{'s' if cap.num_gpus > 1 else ''})"
    con.print(
        f"{replica}: KV cache {b(cap.kv_cache_tokens)} tokens in {b(cap.num_blocks)} blocks of {cap.block_size}"
        + (f" ({cap.padding_layers} padding layers)" if cap.padding_layers else "")
    )
    tables = pool.layout.tokens_divisor
    if tables > 1 and pool.layout.has_tokens:
        con.print(f"  (vLLM's count: {b(cap.num_blocks)} blocks shared by {tables} block tables, / {tables} x "
                  f"{cap.block_size} tokens; tables of windowed or state layers need fewer blocks per request, so "
                  f"requests below can be longer than that count suggests)")
    con.print(f"{replica}: {_requests_line(pool, cap.max_model_len, 'max_model_len')}")
    if cap.ctx is not None:
        con.print(f"{replica}: {_requests_line(pool, cap.ctx, '--ctx')}")
    if cap.batch is not None:
        longest = cap.max_context_at_batch
        if longest:
            con.print(f"{replica}: longest context for {cap.batch} concurrent requests: {b(longest)} tokens"
                      + (" (max_model_len)" if longest == cap.max_model_len else ""))
        else:
            why = (f"more than max_num_seqs {cap.max_num_seqs:,}" if cap.max_num_seqs is not None
                   and cap.batch > cap.max_num_seqs else "not even one token each fits")
            con.print(f"{replica}: {cap.batch} concurrent requests cannot run: {why}")
    if cap.dp > 1:
        con.print(f"whole deployment ({cap.dp} replicas, {cap.request.num_gpus} GPUs): "
                  f"{b(cap.dp * cap.kv_cache_tokens)} KV tokens, {b(cap.dp * cap.max_requests)} requests of "
                  f"{tok(cap.max_model_len)} at once")
    if cap.pp > 1:
        stages = Table(title="pipeline stages (one GPU each)", title_justify="left")
        for col in ("stage", "layers", "weights", "activations", "other", "KV pool", "blocks"):
            stages.add_column(col, justify="right")
        for s, n in zip(cap.stages, cap.stage_blocks):
            stages.add_row(str(s.stage), f"{s.layers.start}-{s.layers.stop - 1}", gib(s.weights_bytes),
                           gib(s.activation_bytes), gib(s.other_bytes), gib(s.kv_pool_bytes), b(n))
        con.print(stages)
    con.print("verdict: " + cap.verdict)


def _requests_line(pool, n: int, what: str) -> str:
    """'requests of 8k at once: 64 (capped by max_num_seqs 64; memory alone: 439.20x)'."""
    head = f"requests of {tok(n)} ({what}) at once: "
    bound = pool.concurrency_bound(n)
    if bound == "max_model_len":
        return head + f"0 (longer than max_model_len {pool.max_model_len:,})"
    count = pool.max_requests(n)
    memory = f"{pool.memory_concurrency(n):.2f}x"
    if bound == "max_num_seqs":
        return head + f"{count:,} (capped by max_num_seqs {pool.max_num_seqs:,}; memory alone: {memory})"
    return head + f"{count:,} (memory: {memory}, {pool.blocks_per_request(n):,} blocks each)"


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


def register(app: typer.Typer) -> None:
    app.command("capacity")(capacity)
    app.command("check")(check)
