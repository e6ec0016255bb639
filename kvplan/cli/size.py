"""`kvplan size`: the KV-cache footprint of a model across formats."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from kvplan import limits
from kvplan.cli.common import (
    KV_DTYPE_NAMES,
    ChunkedPrefillSizeOpt,
    ContextLengthOpt,
    CpuOffloadOpt,
    AllowLongOpt,
    DisableHybridOpt,
    DpOpt,
    DraftOpt,
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
    QuantizationOpt,
    SwapSpaceOpt,
    MtpOpt,
    NumSpeculativeTokensOpt,
    PpOpt,
    SinksOpt,
    SpeculativeConfigOpt,
    TpOpt,
    WeightsOpt,
    WindowOpt,
    b,
    cache_options,
    console,
    deploy_from,
    engine_options_given,
    gib,
    print_json,
    tok,
    warn,
    warn_assumptions,
)


def size(
    model: Annotated[str, typer.Argument(help="Built-in name (see `kvplan models`), spec YAML, or config.json.")],
    ctx: Annotated[str, typer.Option("--ctx", help="Context length per sequence: 4096, 32k, 1M.")] = "8k",
    batch: Annotated[int, typer.Option("--batch", min=1, max=limits.MAX_BATCH, help="Concurrent sequences.")] = 1,
    kv_dtype: Annotated[
        Optional[str],
        typer.Option(*KV_DTYPE_NAMES, help="Only these formats, comma-separated (bf16,fp8,int4; auto = model dtype)."),
    ] = None,
    block_size: EngineBlockSizeOpt = None,
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
    quantization: QuantizationOpt = None,
    kv_cache_memory: KvCacheMemoryOpt = None,
    num_gpu_blocks_override: NumGpuBlocksOverrideOpt = None,
    disable_hybrid_kv_cache_manager: DisableHybridOpt = None,
    allow_long_max_model_len: AllowLongOpt = False,
    dp: DpOpt = 1,
    enable_expert_parallel: ExpertParallelOpt = False,
    cpu_offload_gb: CpuOffloadOpt = None,
    swap_space: SwapSpaceOpt = None,
    mem_fraction_static: MemFractionStaticOpt = None,
    context_length: ContextLengthOpt = None,
    max_running_requests: MaxRunningRequestsOpt = None,
    chunked_prefill_size: ChunkedPrefillSizeOpt = None,
    window: WindowOpt = None,
    sinks: SinksOpt = None,
    speculative_config: SpeculativeConfigOpt = None,
    draft: DraftOpt = None,
    num_speculative_tokens: NumSpeculativeTokensOpt = None,
    mtp: MtpOpt = False,
    revision: Annotated[Optional[str], typer.Option("--revision", help="Hub branch, tag or commit.")] = None,
) -> None:
    """Exact KV-cache bytes: per token, per sequence, for ctx x batch, paged, and per GPU.

    Without --kv-dtype, every format is compared (bf16 ... int2, llama.cpp q-formats);
    with --gpu, every format that GPU's engine can run.
    Sliding-window layers hold min(ctx, window) tokens, state-space layers a constant
    state, MLA one latent per token. Under --tp each GPU keeps max(1, kv_heads // tp)
    heads; --pp splits layers into stages (the largest is reported).

    With --gpu (or --gpu-mem) each format also gets the answer of the KV pool that
    deployment has (the same request and pool as `kvplan capacity`, with its engine
    options): whether batch requests of ctx run at once, how many would, and what limits
    them; --plot then draws what the engine reserves against that pool.

    --window W --sinks S sizes the cache under a StreamingLLM cap (every full-attention
    layer keeps its first S and last W tokens): a what-if of the footprint, taken under any
    engine (with --gpu only --engine raw: no serving engine kvplan models runs it). --speculative-config (vLLM's
    JSON), --draft M --num-speculative-tokens K, or --mtp adds the drafter's KV layers
    (rows labelled draft / mtp) and says what the drafter adds per token and in weights.

    Examples: kvplan size llama3-8b --ctx 32k;  kvplan size deepseek-v3 --kv-dtype fp8 --json;
    kvplan size gemma3-27b --ctx 32k --batch 8 --gpu h100;
    kvplan size llama3.1-8b --ctx 128k --window 4096 --sinks 4;  kvplan size deepseek-v3 --mtp
    """
    from kvplan.formats import FORMATS, parse_formats
    from kvplan.footprint import Parallelism, footprint, supported_formats
    from kvplan.loader import load_model
    from kvplan.units import parse_tokens

    n_ctx = parse_tokens(ctx, "--ctx")
    target = load_model(model, revision=revision)
    warn_assumptions(target)
    deploy = deploy_from(locals())
    on_gpu = gpu is not None or gpu_mem is not None
    if on_gpu:  # the dtype the engine runs the model in (kvplan.capacity.served_spec): its "auto" formats
        from kvplan.capacity import served_spec

        target = served_spec(target, gpu, **deploy)
    cache = cache_options(window=window, sinks=sinks, speculative_config=speculative_config, draft=draft,
                          num_speculative_tokens=num_speculative_tokens, mtp=mtp)
    spec, policy, spec_dec = _cache_spec(target, cache, tp, whatif=gpu is None and gpu_mem is None)
    formats = parse_formats(kv_dtype, spec.dtype) if kv_dtype else list(FORMATS.values())
    usable, skipped = supported_formats(spec, formats)
    if kv_dtype and skipped:
        from kvplan.errors import ShapeError

        raise ShapeError(next(iter(skipped.values())))
    par = Parallelism(tp, pp)
    if dp != 1:
        deploy["dp"] = dp  # the pool's replicas (MoE experts shard over tp x dp)
    engine_note = None
    if on_gpu:
        usable, engine_note = _engine_formats(deploy["engine"], spec, usable, skipped, explicit=bool(kv_dtype))
    answers = None
    if on_gpu:
        # --block-size goes to the request as given (None: the engine decides, as `kvplan capacity`);
        # the table then counts the pages each format's pool runs (vLLM's MLA backends: 64 on Hopper for fp8)
        answers = _pool_answers(target, usable, gpu, {**deploy, **cache}, par, block_size, n_ctx, batch,
                                skipped, explicit=bool(kv_dtype))
        usable = [fmt for fmt in usable if fmt.name in answers[1]]
        blocks = {name: a["block_size"] for name, a in answers[1].items()}
        for text in _pool_notes(answers[1]):
            warn(text)
    elif engine_options_given(deploy):
        from kvplan.errors import BadInputError

        raise BadInputError("engine options (--engine, --max-model-len, ...) apply with --gpu; add --gpu")
    else:
        blocks = {fmt.name: 16 if block_size is None else block_size for fmt in usable}
    if on_gpu:  # the layers as the engine's pool holds them (SGLang: windows kept whole)
        from kvplan.engines import get_engine

        spec = get_engine(deploy["engine"]).pooled_spec(spec)
    fps = [footprint(spec, fmt, n_ctx, batch, blocks[fmt.name], par) for fmt in usable]
    one_block = blocks[usable[0].name] if len(set(blocks.values())) == 1 else None  # None: it differs by format
    if plot:
        from kvplan.plots import plot_size

        plot_size(spec, usable, plot, batch=batch, block_size=block_size if on_gpu else blocks[usable[0].name],
                  par=par, ctx_mark=n_ctx, gpu=answers[0] if answers else None, deploy=deploy)
    if n_ctx > spec.max_position_embeddings:
        warn(f"ctx {n_ctx} exceeds {spec.name}'s max_position_embeddings ({spec.max_position_embeddings})")
    extras = _cache_extras(target, spec, policy, spec_dec, usable[0] if usable else None, par, weights,
                           dp=dp, expert_parallel=enable_expert_parallel,
                           engine=deploy["engine"] if on_gpu else None)
    if json_out:
        from kvplan.report import footprint_dict

        print_json(
            {
                "model": spec.name,
                "ctx": n_ctx,
                "batch": batch,
                "block_size": one_block,  # null when the formats' pools page differently (each format has its own)
                "tp": tp,
                "pp": pp,
                "num_gpus": par.num_gpus,
                "formats": [dict(footprint_dict(fp), block_size=fp.block_size,
                                 **({"on_gpu": answers[1][fp.kv_dtype]} if answers else {}))
                            for fp in fps],
                "gpu": answers[0].name if answers else None,
                "skipped_formats": skipped,
                "assumptions": list(spec.assumptions),
                **extras,
            }
        )
        return
    for name, why in skipped.items():
        if engine_note is None or name not in engine_note[0]:
            warn(f"{name} not shown: {why}")
    if engine_note is not None and engine_note[0]:
        warn(f"{', '.join(engine_note[0])} not shown: {engine_note[1]}")
    _render(spec, fps, par, answers)
    _render_extras(extras)


def _cache_spec(target, cache: dict, tp: int, whatif: bool = True):
    """(the layers to size, the eviction policy, the speculative setup) from the options:
    the target's full-attention layers under --window/--sinks, the drafter's layers appended.
    Without --gpu the policy is a what-if; one warning line says so (kvplan.eviction.WHATIF_NOTE)."""
    from kvplan.eviction import WHATIF_NOTE, make_policy
    from kvplan.speculative import make_speculative

    policy = make_policy(cache["window"], cache["sinks"])
    served = policy.apply(target) if policy else target
    if policy and whatif:
        warn(WHATIF_NOTE)
    spec_dec = make_speculative(target, cache["speculative_config"], draft=cache["draft"],
                                num_speculative_tokens=cache["num_speculative_tokens"], mtp=cache["mtp"], tp=tp)
    return (spec_dec.kv_spec(served) if spec_dec else served), policy, spec_dec


def _cache_extras(target, spec, policy, spec_dec, fmt, par, weights, dp: int = 1, expert_parallel: bool = False,
                  engine: str | None = None) -> dict:
    """The eviction cap and the drafter in figures (for --json and the lines under the table);
    the drafter's weights as `kvplan capacity` counts them (experts split as the deployment's,
    ``engine``'s sharing rules with --gpu; without it the newest vLLM's)."""
    from kvplan.engines import get_engine
    from kvplan.errors import SpecError
    from kvplan.shapes import MoEParallel

    out = {}
    if policy:
        capped = sum(1 for k in spec.layers[:target.num_layers] if k.kind == "sink_window")
        out["eviction"] = {"window": policy.window, "sinks": policy.sinks, "max_tokens_per_layer": policy.max_tokens,
                           "layers_capped": capped, "layers": target.num_layers}
    if spec_dec and fmt is not None:
        layers = spec.layers[target.num_layers:]
        info = {"method": spec_dec.method, "num_speculative_tokens": spec_dec.num_speculative_tokens,
                "draft_model": spec_dec.draft.name if spec_dec.draft else None, "draft_layers": len(layers),
                "draft_kv_bytes_per_token": sum(k.per_token_bytes(fmt) for k in layers),
                "kv_format": fmt.name, "lookahead_tokens": spec_dec.lookahead_tokens,
                "extra_slots": spec_dec.extra_slots, "tp": par.tp}
        try:
            moe = MoEParallel.of(par.tp, dp, expert_parallel)
            params, per_gpu = spec_dec.draft_weights(target, weights, par.tp, moe=moe,
                                                     engine=get_engine(engine) if engine is not None else None)
            info.update(draft_weights_params=params, draft_weights_bytes_per_gpu=per_gpu)
        except SpecError as err:
            info.update(draft_weights_params=None, draft_weights_bytes_per_gpu=None, draft_weights_unknown=str(err))
        out["speculative"] = info
    return out


def _render_extras(extras: dict) -> None:
    con = console()
    ev = extras.get("eviction")
    if ev:
        con.print(f"sink + window: {ev['layers_capped']} of {ev['layers']} layers (the full-attention ones) keep "
                  f"{ev['sinks']} sink tokens + the last {b(ev['window'])}: at most {b(ev['max_tokens_per_layer'])} "
                  f"tokens each")
    sp = extras.get("speculative")
    if sp:
        who = sp["draft_model"] or ("the model's MTP layers" if sp["method"] == "mtp" else sp["method"])
        con.print(f"speculative decoding ({sp['method']}, {who}, k = {sp['num_speculative_tokens']}): "
                  f"{sp['draft_layers']} draft layer{'s' if sp['draft_layers'] != 1 else ''}, "
                  f"{b(sp['draft_kv_bytes_per_token'])} B of KV per token ({sp['kv_format']}, included above)")
        line = (f"  a decoding request reserves {sp['extra_slots']} more slots "
                f"({sp['num_speculative_tokens']} to verify + {sp['lookahead_tokens']} lookahead)")
        if sp.get("draft_weights_bytes_per_gpu") is not None:
            where = f"per GPU at tp {sp['tp']}" if sp["tp"] > 1 else "on one GPU"
            line += (f"; draft weights {b(sp['draft_weights_params'])} params, "
                     f"{b(sp['draft_weights_bytes_per_gpu'])} B {where}")
        elif sp.get("draft_weights_unknown"):
            line += "; draft weights unknown (the spec lacks weight fields)"
        con.print(line)


def _engine_formats(engine, spec, formats, skipped: dict, explicit: bool):
    """(the formats the engine release can run, (the names it cannot, why) for one warning
    line). Those it cannot go to ``skipped`` with the engine's reason; asked for by name,
    they are refused (one line, exit 2)."""
    from kvplan.engines import get_engine
    from kvplan.errors import BadInputError

    prof = get_engine(engine)
    out, refused = [], []
    for fmt in formats:
        try:
            prof.check_kv_format(fmt, spec.dtype)
        except BadInputError as err:
            if explicit:
                raise
            skipped[fmt.name] = str(err)
            refused.append(fmt.name)
            continue
        out.append(fmt)
    if not out:
        raise BadInputError(f"{prof.name} can run none of the formats asked for")
    why = (f"{prof.name} cannot store the KV cache in them; its --kv-cache-dtype takes "
           f"{', '.join(prof.kv_formats() or ())} (use --engine raw to plan other formats)")
    return out, (refused, why)


def _pool_notes(answers: dict) -> list[str]:
    """Each pool caveat once (``Pool.notes``, as `kvplan capacity` warns it), led by the formats
    it is about where it is not about every format's pool."""
    from kvplan.cli.common import scoped_notes

    about: dict[str, list[str]] = {}
    for name, a in answers.items():
        for text in a["notes"]:
            about.setdefault(text, []).append(name)
    return scoped_notes(about, len(answers), prefix="KV ")


def _pool_answers(spec, formats, gpu, deploy, par, block_size, ctx, batch, skipped: dict, explicit: bool):
    """(GPU, {format: the pool's answers for batch x ctx}) from kvplan.capacity, each planned
    with ``block_size`` as the user gave it (None: the engine's choice, as `kvplan capacity`);
    ``block_size`` in the answers is the block the pool runs. A format whose request the
    engine refuses (e.g. an MLA block kvplan cannot tell without --block-size) goes to
    ``skipped`` with its reason, unless asked for by name (then refused); none left: the first
    refusal is raised."""
    from kvplan.capacity import make_request, plan
    from kvplan.errors import BadInputError

    out = {}
    g = None
    first = None
    for fmt in formats:
        try:
            pool = plan(make_request(spec, gpu, tp=par.tp, pp=par.pp, kv_format=fmt, block_size=block_size,
                                     **deploy))
        except BadInputError as err:
            if explicit:
                raise
            first = first or err
            skipped[fmt.name] = str(err)
            continue
        g = pool.request.gpu
        v = pool.runs(ctx, batch)  # as `kvplan capacity --ctx --batch`: starts, and the load runs
        out[fmt.name] = {
            "engine": pool.engine, "block_size": pool.block_size, "kv_pool_bytes": pool.kv_pool_bytes,
            "reserved_bytes": pool.reserved_bytes(ctx, batch) if pool.paged else 0,
            "max_requests": pool.max_requests(ctx), "fits": v.ok, "limit": v.bound, "reason": v.reason,
            "notes": list(pool.notes),  # the pool's caveats (Pool.notes), what `kvplan capacity` warns
        }
    if not out:
        raise first
    return g, out


def _render(spec, fps, par, answers=None) -> None:
    from rich.table import Table

    con = console()
    fp0 = fps[0]
    multi = par.num_gpus > 1
    # one block for every format, else each format's pool pages its own (vLLM's MLA backends by format)
    one_block = len({fp.block_size for fp in fps}) == 1
    block = f"block {fp0.block_size}" if one_block else "block by format"
    title = (
        f"{spec.display_name}: KV cache for {tok(fp0.ctx)} tokens x {fp0.batch} "
        f"({block}{f', tp {par.tp}, pp {par.pp}' if multi else ''})"
    )
    table = Table(title=title, title_justify="left")
    table.add_column("format")
    table.add_column("bytes/token", justify="right")
    table.add_column("per sequence", justify="right")
    table.add_column("total", justify="right")
    table.add_column(f"paged ({fp0.block_size})" if one_block else "paged (block)", justify="right")
    if multi:
        table.add_column("per GPU (paged)", justify="right")
        table.add_column(f"all {par.num_gpus} GPUs (paged)", justify="right")
    if answers:
        gpu, by_fmt = answers
        table.add_column(f"{fp0.batch} x {tok(fp0.ctx)} on {gpu.name}", justify="left")
        table.add_column(f"max requests of {tok(fp0.ctx)}", justify="right")
    for fp in fps:
        paged = gib(fp.paged_total_bytes) + ("" if one_block else f" ({fp.block_size})")
        row = [fp.kv_dtype, b(fp.bytes_per_token), gib(fp.seq_bytes), gib(fp.total_bytes), paged]
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
