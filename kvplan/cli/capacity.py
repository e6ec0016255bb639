"""`kvplan capacity`, `kvplan check`, `kvplan gpus`: what fits on which GPUs."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from kvplan import limits
from kvplan.cli.common import (
    DP_NAMES,
    PP_NAMES,
    TP_NAMES,
    ChunkedPrefillSizeOpt,
    ContextLengthOpt,
    CpuOffloadOpt,
    AllowLongOpt,
    EnforceEagerOpt,
    DisableHybridOpt,
    DraftOpt,
    DtypeOpt,
    EngineOpt,
    ExpertParallelOpt,
    FromSglangOpt,
    FromVllmOpt,
    GpuMemOpt,
    GpuMemUtilOpt,
    GpuOpt,
    JsonOpt,
    KvCacheMemoryOpt,
    KvDtypeOpt,
    MaxModelLenOpt,
    MaxNumBatchedTokensOpt,
    MaxNumSeqsOpt,
    MaxRunningRequestsOpt,
    MemFractionStaticOpt,
    NumGpuBlocksOverrideOpt,
    PrefixCachingOpt,
    QuantizationOpt,
    SwapSpaceOpt,
    MtpOpt,
    NumSpeculativeTokensOpt,
    SinksOpt,
    SpeculativeConfigOpt,
    WeightsOpt,
    WindowOpt,
    b,
    cache_options,
    console,
    deploy_from,
    gib,
    launch_command,
    print_json,
    tok,
)


def capacity(
    model: Annotated[Optional[str], typer.Argument(
        help="Built-in name (see `kvplan models`), spec YAML, or config.json [default: --from-vllm's model].",
        show_default=False)] = None,
    gpu: GpuOpt = None,
    gpu_mem: GpuMemOpt = None,
    gpus: Annotated[Optional[int], typer.Option("--gpus", max=limits.MAX_DEGREE,
                                                help="GPUs of one replica (= tp * pp; alone it sets --tp).")] = None,
    tp: Annotated[Optional[int], typer.Option(*TP_NAMES, max=limits.MAX_DEGREE, help="Tensor-parallel degree.")] = None,
    pp: Annotated[Optional[int], typer.Option(*PP_NAMES, max=limits.MAX_DEGREE, help="Pipeline-parallel degree.")] = None,
    dp: Annotated[Optional[int], typer.Option(*DP_NAMES, max=limits.MAX_DEGREE, help="Data-parallel replicas (each tp * pp GPUs).",
                                              show_default="1")] = None,
    dtype: DtypeOpt = None,
    weights: WeightsOpt = None,
    quantization: QuantizationOpt = None,
    kv_dtype: KvDtypeOpt = None,
    engine: EngineOpt = "vllm",
    gpu_memory_utilization: GpuMemUtilOpt = None,
    max_model_len: MaxModelLenOpt = None,
    max_num_batched_tokens: MaxNumBatchedTokensOpt = None,
    max_num_seqs: MaxNumSeqsOpt = None,
    block_size: Annotated[Optional[int], typer.Option("--block-size", min=1, max=limits.MAX_BLOCK_SIZE,
                                                      help="Tokens per KV block.")] = None,
    kv_cache_memory: KvCacheMemoryOpt = None,
    num_gpu_blocks_override: NumGpuBlocksOverrideOpt = None,
    disable_hybrid_kv_cache_manager: DisableHybridOpt = None,
    allow_long_max_model_len: AllowLongOpt = False,
    enable_expert_parallel: ExpertParallelOpt = False,
    cpu_offload_gb: CpuOffloadOpt = None,
    swap_space: SwapSpaceOpt = None,
    enable_prefix_caching: PrefixCachingOpt = None,
    enforce_eager: EnforceEagerOpt = False,
    from_vllm: FromVllmOpt = None,
    from_sglang: FromSglangOpt = None,
    mem_fraction_static: MemFractionStaticOpt = None,
    context_length: ContextLengthOpt = None,
    max_running_requests: MaxRunningRequestsOpt = None,
    chunked_prefill_size: ChunkedPrefillSizeOpt = None,
    ctx: Annotated[Optional[str], typer.Option("--ctx", help="Also report how many requests of this length run at once.")] = None,
    batch: Annotated[Optional[int], typer.Option("--batch", min=1, max=limits.MAX_BATCH,
                                                 help="Also report the longest context for N requests.")] = None,
    window: WindowOpt = None,
    sinks: SinksOpt = None,
    speculative_config: SpeculativeConfigOpt = None,
    draft: DraftOpt = None,
    num_speculative_tokens: NumSpeculativeTokensOpt = None,
    mtp: MtpOpt = False,
    json_out: JsonOpt = False,
    revision: Annotated[Optional[str], typer.Option("--revision", help="Hub branch, tag or commit.")] = None,
) -> None:
    """How many KV-cache tokens and concurrent requests fit under an engine.

    Prints the memory waterfall of one GPU (the most loaded: total, engine's share,
    weights, activations, other, KV pool), then what one replica (tp x pp GPUs, one engine
    instance) holds: KV tokens (vLLM's "GPU KV cache size"), blocks, requests of
    max-model-len that run at once (memory, capped by max-num-seqs), and with --ctx /
    --batch the answers for that load; with --dp the whole deployment. When it does not fit,
    what would. Exit 1 when it does not fit.

    --window W --sinks S caps every full-attention layer at S + W tokens (StreamingLLM; a
    what-if under --engine raw only: no serving engine kvplan models runs it). --speculative-config (vLLM's JSON), or --draft M
    --num-speculative-tokens K, or --mtp adds the drafter: its KV layers in the same pool,
    its weights, and k + k lookahead slots per request (engines: vllm, raw). Each prints
    what the deployment holds without it. See docs/speculative.md.

    vLLM's own flags work with vLLM's meaning (--tensor-parallel-size/-tp, --kv-cache-dtype,
    --quantization, --kv-cache-memory-bytes, --num-gpu-blocks-override, --cpu-offload-gb ...),
    and --from-vllm reads a whole `vllm serve` command as vLLM does (32k = 32,000, 32K = 32,768).

    Examples: kvplan capacity llama3.1-8b --gpu h100;  kvplan capacity llama3-70b --gpu a100-80gb -tp 4 --kv-cache-dtype fp8;
    kvplan capacity gemma3-27b --gpu h100 --ctx 32k --batch 8;
    kvplan capacity llama3.1-8b --gpu h100 --engine raw --window 4096 --sinks 4;
    kvplan capacity llama3.1-70b --gpu h100 -tp 4 --speculative-config '{"model": "llama3.2-1b", "num_speculative_tokens": 4}';
    kvplan capacity --gpu h100 --from-vllm "vllm serve meta-llama/Llama-3.1-8B --max-model-len 32k"
    """
    from kvplan.capacity import capacity_dict, make_request, plan, summarize
    from kvplan.loader import load_model
    from kvplan.units import parse_tokens

    deploy = deploy_from(locals())
    given = {"tp": tp, "pp": pp, "dp": dp, "kv_format": kv_dtype, "block_size": block_size}
    deploy.update({k: v for k, v in given.items() if v is not None})
    cache = cache_options(window=window, sinks=sinks, speculative_config=speculative_config, draft=draft,
                          num_speculative_tokens=num_speculative_tokens, mtp=mtp)
    deploy.update({k: v for k, v in cache.items() if v not in (None, False)})
    model, deploy = launch_command(from_vllm, from_sglang, model, deploy)
    tp_, pp_ = _parallelism(gpus, deploy.pop("tp", None), deploy.pop("pp", None))
    spec = load_model(model, revision=revision)
    from kvplan.cli.common import warn_assumptions

    warn_assumptions(spec)
    req = make_request(spec, gpu, tp=tp_, pp=pp_, dp=deploy.pop("dp", 1), **deploy)
    cap = summarize(plan(req), ctx=parse_tokens(ctx, "--ctx") if ctx else None, batch=batch)
    if cap.max_model_len > spec.max_position_embeddings:
        from kvplan.cli.common import warn

        warn(f"max_model_len {cap.max_model_len:,} exceeds {spec.name}'s own length ({spec.max_position_embeddings:,}): "
             f"positions beyond it give NaNs (RoPE) or out-of-bounds reads (learned positions), in vLLM's words")
    from kvplan.cli.common import warn

    for note in cap.notes:
        warn(note)
    if json_out:
        print_json({**capacity_dict(cap), "assumptions": list(spec.assumptions)})
    else:
        _render(req.spec, cap)
    if not cap.fits:
        from kvplan.cli.common import stderr_line

        stderr_line(cap.verdict)
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
        *([("  (of which the drafter's)", pool.draft_weights_bytes)] if pool.request.speculative else []),
        ("- activation peak", w.activation_bytes),
        ("- other (non-torch, buffers)", w.other_bytes),
        ("= KV pool", w.kv_pool_bytes),
    ]
    req = cap.request
    if req.kv_cache_memory_bytes is not None:
        rows[-1] = ("= KV pool (--kv-cache-memory-bytes)", w.kv_pool_bytes)
    for label, n in rows:
        table.add_row(label, b(n), gib(n))
    con.print(table)
    if w.persistent_bytes:
        con.print(f"V2 persistent buffers {b(w.persistent_bytes)} B ({gib(w.persistent_bytes)}): allocated before "
                  f"the profile, outside the share and the pool; counted beside a given KV memory")
    if req.cpu_offload_bytes:
        con.print(f"weights exclude up to {gib(req.cpu_offload_bytes)} of layer weights kept in CPU memory "
                  f"(--cpu-offload-gb; vLLM moves whole tensors, so up to one tensor more)")
    replica = f"one replica ({cap.num_gpus} GPU{'s' if cap.num_gpus > 1 else ''})"
    override = " (--num-gpu-blocks-override)" if req.num_gpu_blocks_override is not None else ""
    con.print(
        f"{replica}: KV cache {b(cap.kv_cache_tokens)} tokens in {b(cap.num_blocks)} blocks of {cap.block_size}"
        + override + (f" ({cap.padding_layers} padding layers)" if cap.padding_layers else "")
    )
    if pool.pages.null_blocks and pool.paged:
        con.print(f"  ({pool.pages.null_blocks} block held back as the null block: requests can use "
                  f"{b(pool.usable_blocks)})")
    if req.num_gpu_blocks_override is not None and pool.paged:
        beyond = ("more than the KV pool: vLLM allocates them beyond its memory budget"
                  if pool.kv_cache_bytes > w.kv_pool_bytes else "the rest of the KV pool stays unallocated")
        con.print(f"  (vLLM allocates only these: {b(cap.num_blocks)} x {b(cap.block_unit_bytes)} B = "
                  f"{b(pool.kv_cache_bytes)} B per GPU of the {b(w.kv_pool_bytes)} B KV pool; {beyond})")
    if pool.pages.auto_fit:
        con.print(f"max_model_len auto-fitted to {b(cap.max_model_len)} (--max-model-len -1: the longest whose one "
                  f"request passes vLLM's start-up check, at most {b(pool.pages.derived_max_model_len)})")
    tables = pool.layout.tokens_divisor
    if tables > 1 and pool.layout.has_tokens:
        con.print(f"  (vLLM's count: {b(cap.num_blocks)} blocks shared by {tables} block tables, / {tables} x "
                  f"{cap.block_size} tokens; tables of windowed or state layers need fewer blocks per request, so "
                  f"requests below can be longer than that count suggests)")
    full = cap.model_len_request_tokens  # SGLang: a request stops 2 tokens short of max_model_len
    what = "max_model_len" if full == cap.max_model_len else f"the longest request at max_model_len {cap.max_model_len:,}"
    con.print(f"{replica}: {_requests_line(pool, full, what)}")
    if cap.ctx is not None:
        con.print(f"{replica}: {_requests_line(pool, cap.ctx, '--ctx')}")
    if cap.batch is not None:
        longest = cap.max_context_at_batch
        if longest:
            con.print(f"{replica}: longest context for {cap.batch} concurrent requests: {b(longest)} tokens"
                      + (" (max_model_len)" if longest == cap.max_model_len else
                         " (the longest request at max_model_len)" if longest == full else ""))
        else:
            why = (pool.not_running_why() if pool.start_bound() else
                   f"more than max_num_seqs {cap.max_num_seqs:,}" if cap.max_num_seqs is not None
                   and cap.batch > cap.max_num_seqs else "not even one token each fits")
            con.print(f"{replica}: {cap.batch} concurrent requests cannot run: {why}")
    for line in _policy_lines(cap):
        con.print(f"{replica}: {line}")
    if cap.dp > 1:
        con.print(f"whole deployment ({cap.dp} replicas, {cap.request.num_gpus} GPUs): "
                  f"{b(cap.dp * cap.kv_cache_tokens)} KV tokens, {b(cap.dp * cap.max_requests)} requests of "
                  f"{tok(full)} at once")
    if cap.pp > 1:
        stages = Table(title="pipeline stages (one GPU each)", title_justify="left")
        for col in ("stage", "layers", "weights", "activations", "other", "KV pool", "blocks"):
            stages.add_column(col, justify="right")
        for s, n in zip(cap.stages, cap.stage_blocks):
            stages.add_row(str(s.stage), f"{s.layers.start}-{s.layers.stop - 1}", gib(s.weights_bytes),
                           gib(s.activation_bytes), gib(s.other_bytes), gib(s.kv_pool_bytes), b(n))
        con.print(stages)
    con.print("verdict: " + cap.verdict)


def _policy_lines(cap) -> list[str]:
    """What the eviction cap and the drafter do, and the same deployment without each."""
    from kvplan.capacity import cache_policy_dict

    out = []
    info = cache_policy_dict(cap.pool, cap.ctx)
    n = tok(cap.model_len_request_tokens)
    ev = info.get("eviction")
    if ev:
        wo = ev["without"]
        out.append(f"{ev['sinks']} sinks + window {b(ev['window'])}: every full-attention layer holds at most "
                   f"{b(ev['max_tokens_per_layer'])} tokens")
        out.append(f"  run by: {ev['engine']}")
        out.append(f"without the cap: {b(wo['max_requests'])} requests of {n} ({b(wo['blocks_per_request'])} blocks "
                   f"each){_at_ctx(cap, wo)}, KV cache {b(wo['kv_cache_tokens'])} tokens")
    sp = info.get("speculative")
    if sp:
        wo = sp["without"]
        who = sp["draft_model"] or ("its own MTP layers" if sp["method"] == "mtp" else sp["method"])
        out.append(f"speculative decoding ({sp['method']}, {who}, k = {sp['num_speculative_tokens']}): "
                   f"{sp['draft_layers']} draft layer{'s' if sp['draft_layers'] != 1 else ''} in the pool, "
                   f"{b(sp['draft_kv_bytes_per_token'])} B of KV per token per GPU; "
                   f"draft weights {b(sp['draft_weights_bytes'])} B per GPU")
        out.append(f"each request reserves {sp['extra_slots']} more slots ({sp['num_speculative_tokens']} to verify "
                   f"+ {sp['lookahead_tokens']} lookahead) beyond its tokens")
        out.append(f"without speculative decoding: {b(wo['max_requests'])} requests of {n} "
                   f"({b(wo['blocks_per_request'])} blocks each){_at_ctx(cap, wo)}, KV cache "
                   f"{b(wo['kv_cache_tokens'])} tokens in {b(wo['num_blocks'])} blocks")
    return out


def _at_ctx(cap, without: dict) -> str:
    return f" and {b(without['requests_at_ctx'])} of {tok(cap.ctx)}" if "requests_at_ctx" in without else ""


def _requests_line(pool, n: int, what: str) -> str:
    """'requests of 8k at once: 64 (capped by max_num_seqs 64; memory alone: 439.20x)'."""
    if n < 1:  # no request of even one token (SGLang at context_len 7 or less, any engine at max_model_len 1)
        why = pool.not_running_why() if pool.start_bound() else "no request of one token runs"
        return f"requests at once: 0 ({why} at max_model_len {pool.max_model_len:,})"
    head = f"requests of {tok(n)} ({what}) at once: "
    if pool.start_bound():  # no request runs in an engine that does not start (the verdict says why)
        return head + (f"0 ({pool.not_running_why()}; memory alone: {pool.memory_concurrency(n):.2f}x, "
                       f"{pool.blocks_per_request(n):,} blocks each)")
    bound = pool.concurrency_bound(n)
    if bound == "max_model_len":
        return head + f"0 ({pool.too_long(n)})"
    count = pool.max_requests(n)
    if not pool.paged and count:  # a request holds no block: memory stops none (Pool.max_requests)
        return head + f"{count:,} (max_num_seqs {pool.max_num_seqs:,}; no paged KV cache, so memory holds any number)"
    memory = f"{pool.memory_concurrency(n):.2f}x"
    if bound == "max_num_seqs":
        return head + f"{count:,} (capped by max_num_seqs {pool.max_num_seqs:,}; memory alone: {memory})"
    if pool.request.extra_slots:
        # vLLM logs one concurrency, for max_model_len (kv_cache_utils.py get_max_concurrency_for_kv_cache_config)
        from kvplan.engines import get_engine

        logged = n == pool.max_model_len and get_engine(pool.request.engine).family == "vllm"
        return head + (f"{count:,} ({pool.blocks_per_request(n):,} blocks each with the speculative slots; "
                       f"{'vLLM logs' if logged else 'memory alone:'} {memory} without them)")
    return head + f"{count:,} (memory: {memory}, {pool.blocks_per_request(n):,} blocks each)"


def check(
    plan: Annotated[str, typer.Argument(help="Plan YAML listing deployments and their requirements.")],
    json_out: JsonOpt = False,
    junit: Annotated[Optional[str], typer.Option("--junit", help="Also write a JUnit XML report here.")] = None,
) -> None:
    """Check a deployment plan: exit 0 when every requirement passes, 1 when any fails, 2 when the plan is bad.

    Each deployment names a model, GPU, parallelism, formats and engine settings, and
    requirements (min concurrency at a context, min KV tokens, min headroom,
    max_model_len must fit). The pools' caveats go to stderr, as `kvplan capacity` warns them.
    See docs/check.md and examples/capacity.yaml.
    """
    from kvplan.errors import CheckFailedError
    from kvplan.plan import check_plan, junit_xml, load_plan, report_dict

    if junit:
        from kvplan.outputs import check_writable

        check_writable(junit, "--junit")
    p = load_plan(plan)
    from kvplan.cli.common import note, warn

    for line in (n for d in p.deployments for n in d.notes):
        note(line)
    report = check_plan(p)
    for line in _check_notes(report):  # the pools' caveats, as `kvplan capacity` and sweep warn them
        warn(line)
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


def _check_notes(report) -> list[str]:
    """Each deployment pool's caveat once (``Capacity.notes``: kvplan.capacity.Pool.notes, what
    `kvplan capacity` warns for it; --json holds them in each deployment's capacity), led by the
    deployments it is about where it is not about all of them."""
    from kvplan.cli.common import scoped_notes

    about: dict[str, list[str]] = {}
    for d in report.deployments:
        for text in d.capacity.notes:
            about.setdefault(text, []).append(d.name)
    return scoped_notes(about, len(report.deployments))


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
