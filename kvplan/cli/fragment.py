"""`kvplan fragment`: KV allocation policies replayed on a request workload, in time."""

from __future__ import annotations

import math
import sys
from typing import Annotated, Optional

import typer

from kvplan import limits
from kvplan.cli.common import (
    KV_DTYPE_NAMES,
    AllowLongOpt,
    CpuOffloadOpt,
    DisableHybridOpt,
    DtypeOpt,
    EngineOpt,
    ExpertParallelOpt,
    GpuMemOpt,
    GpuMemUtilOpt,
    JsonOpt,
    KvCacheMemoryOpt,
    NumGpuBlocksOverrideOpt,
    PpOpt,
    QuantizationOpt,
    TpOpt,
    WeightsOpt,
    console,
    print_json,
    warn,
)

_TIME = "Time (defaults are stated assumptions, printed with every result)"
_TIERS = "Prefix cache tiers (for paged-B-share)"
_SPEC = "Speculative decoding"


def fragment(
    model: Annotated[str, typer.Argument(help="Built-in name (see `kvplan models`), spec YAML, or config.json.")],
    gpu: Annotated[
        Optional[str], typer.Option("--gpu", help="Size the KV pool by capacity planning on this GPU (vLLM).")
    ] = None,
    kv_pool_tokens: Annotated[
        Optional[str], typer.Option("--kv-pool-tokens", help="KV pool size in tokens instead of --gpu: 15728, 64k "
                                    "(the target model's tokens; a drafter's KV, draft model, EAGLE head or MTP "
                                    "layers, takes its share of them).")
    ] = None,
    workload: Annotated[
        str,
        typer.Option("--workload", help="sharegpt | alpaca | fixed:PROMPT:OUTPUT | trace file (.csv/.jsonl/.json/"
                     ".parquet): kvplan (prompt_len, output_len[, arrival_s]), Mooncake or Azure format."),
    ] = "sharegpt",
    requests: Annotated[
        Optional[int], typer.Option("--requests", min=1, max=limits.MAX_SIMULATED_SEQUENCES, help="Requests to draw [default: 10000; traces: all rows].")
    ] = None,
    block_size: Annotated[
        Optional[int],
        typer.Option("--block-size", min=1, max=limits.MAX_BLOCK_SIZE, show_default=False,
                     help="With --gpu the engine's --block-size, as `kvplan capacity --block-size` (it sizes the "
                     "pool), and the B of the default paged policies [default: with --gpu the block the engine "
                     "runs (as `kvplan capacity`: vLLM 16, 64 for MLA with fp8 on Hopper; SGLang 1, or its "
                     "forced page), else 16]."),
    ] = None,
    policies: Annotated[
        Optional[str],
        typer.Option("--policies", help="Comma-separated: orca-max, orca-pow2, orca-pow2-output, orca-oracle, "
                     "static, static-N, paged-B, paged-B-share (1 <= B <= 256; paged-B pages the pool in blocks "
                     "of B tokens, whatever block the engine runs). [default: orca-max,orca-pow2,orca-oracle,"
                     "static,paged-B,paged-B-share,paged-1; B as --block-size]"),
    ] = None,
    allocator: Annotated[
        str, typer.Option("--allocator", help="Placement of contiguous chunks: first-fit, or buddy (the paper's Orca).")
    ] = "first-fit",
    seed: Annotated[int, typer.Option("--seed", min=0, max=limits.MAX_SEED,
                                      help="Seed for the length distributions and Poisson arrivals.")] = 0,
    max_model_len: Annotated[
        Optional[str],
        typer.Option("--max-model-len", help="Longest sequence [default: the model's max_position_embeddings]."),
    ] = None,
    system_prompt: Annotated[
        int, typer.Option("--system-prompt", min=0, max=limits.MAX_TOKENS, help="Tokens of a system prompt common to every request.")
    ] = 0,
    n: Annotated[int, typer.Option("--n", min=1, max=limits.MAX_SIMULATED_SEQUENCES, help="Parallel samples per request (paged-B-share stores their prompt once).")] = 1,
    max_seqs: Annotated[
        Optional[int],
        typer.Option("--max-num-seqs", "--max-seqs", min=1, max=limits.MAX_BATCH, help="Cap on running sequences (vLLM max_num_seqs) [default: with --gpu "
                     "the engine's default for that GPU (vLLM: 1024 on GPUs of 70 GiB or more, else 256); else 256]."),
    ] = None,
    kv_dtype: Annotated[
        Optional[str], typer.Option(*KV_DTYPE_NAMES, help="KV cache format (bf16, fp8 ...) [default: model dtype].")
    ] = None,
    tp: TpOpt = 1,
    pp: PpOpt = 1,
    gpu_mem: GpuMemOpt = None,
    engine: EngineOpt = "vllm",
    dtype: DtypeOpt = None,
    weights: WeightsOpt = None,
    quantization: QuantizationOpt = None,
    gpu_memory_utilization: GpuMemUtilOpt = None,
    kv_cache_memory: KvCacheMemoryOpt = None,
    num_gpu_blocks_override: NumGpuBlocksOverrideOpt = None,
    disable_hybrid_kv_cache_manager: DisableHybridOpt = None,
    allow_long_max_model_len: AllowLongOpt = False,
    enable_expert_parallel: ExpertParallelOpt = False,
    cpu_offload_gb: CpuOffloadOpt = None,
    rate: Annotated[
        Optional[str],
        typer.Option("--rate", rich_help_panel=_TIME, help="Arrivals: inf (all at time 0), trace (the trace's "
                     "timestamps), 2/s (Poisson), or a sweep 1/s,2/s,4/s [default: trace if the trace has "
                     "timestamps, else inf]."),
    ] = None,
    max_num_batched_tokens: Annotated[
        Optional[str],
        typer.Option("--max-num-batched-tokens", rich_help_panel=_TIME, help="Token budget per step (chunked "
                     "prefill; decodes take one each) [default: none, each prompt in its admission step]."),
    ] = None,
    step_ms: Annotated[
        Optional[float], typer.Option("--step-ms", rich_help_panel=_TIME, help="Time of one engine step [default: 25].")
    ] = None,
    prefill_ms_per_token: Annotated[
        Optional[float],
        typer.Option("--prefill-ms-per-token", rich_help_panel=_TIME, help="Extra time per prompt token computed in "
                     "a step [default: 0.2]."),
    ] = None,
    window: Annotated[
        Optional[str],
        typer.Option("--window", help="Keep only the last W tokens of each sequence (sliding window; with --sinks: "
                     "StreamingLLM). A what-if no serving engine runs: with --gpu only --engine raw."),
    ] = None,
    sinks: Annotated[int, typer.Option("--sinks", min=0, max=limits.MAX_TOKENS, help="Also keep each sequence's first S tokens.")] = 0,
    cpu_kv_gib: Annotated[
        Optional[float], typer.Option("--cpu-kv-gib", min=0, max=limits.MAX_MEMORY_BYTES >> 30, rich_help_panel=_TIERS,
                                      help="CPU memory per GPU for prefix blocks evicted from the GPU.")
    ] = None,
    disk_kv_gib: Annotated[
        Optional[float], typer.Option("--disk-kv-gib", min=0, max=limits.MAX_MEMORY_BYTES >> 30, rich_help_panel=_TIERS,
                                      help="Disk per GPU for blocks evicted from the CPU tier.")
    ] = None,
    host_bandwidth: Annotated[
        Optional[str], typer.Option("--host-bandwidth", rich_help_panel=_TIERS,
                                    help="GPU-host link per direction, e.g. 63GB (per second) [default: with --gpu the "
                                    "GPU catalog's host link (refused where it has none); with --kv-pool-tokens PCIe "
                                    "4.0 x16 after encoding, 31.51 GB/s].")
    ] = None,
    disk_bandwidth: Annotated[
        Optional[str], typer.Option("--disk-bandwidth", rich_help_panel=_TIERS,
                                    help="Disk read bandwidth per second [default: 7GB, one PCIe 4.0 NVMe SSD].")
    ] = None,
    spec_tokens: Annotated[
        Optional[int], typer.Option("--spec-tokens", min=1, max=limits.MAX_BLOCK_SIZE, rich_help_panel=_SPEC,
                                    help="Draft tokens verified per step (num_speculative_tokens).")
    ] = None,
    acceptance: Annotated[
        Optional[float], typer.Option("--acceptance", rich_help_panel=_SPEC,
                                      help="Probability a draft token is accepted [default: 0.7].")
    ] = None,
    draft_model: Annotated[
        Optional[str], typer.Option("--draft-model", rich_help_panel=_SPEC,
                                    help="Draft model (or, with --spec-method eagle, the EAGLE head) whose KV "
                                         "shares the pool (built-in name, YAML or config.json).")
    ] = None,
    spec_method: Annotated[
        Optional[str], typer.Option("--spec-method", rich_help_panel=_SPEC,
                                    help="draft_model, eagle, mtp or ngram: a drafter reserves k lookahead slots "
                                         "more per sequence, n-gram lookup none [default: draft_model with "
                                         "--draft-model; otherwise required].")
    ] = None,
    draft_step_ms: Annotated[
        Optional[float], typer.Option("--draft-step-ms", min=0, rich_help_panel=_SPEC,
                                      help="Time of one draft step [default: not timed, printed as such].")
    ] = None,
    json_out: JsonOpt = False,
    plot: Annotated[
        Optional[str], typer.Option("--plot", help="Also draw stacked memory bars per policy (with a --rate sweep: "
                                    "TTFT and latency against the rate) to this file (.png, .svg or .pdf).")
    ] = None,
) -> None:
    """Replay a workload through KV allocation policies on one pool, in time.

    Requests arrive (all at once, by a trace's timestamps, or as a Poisson process) and
    are served first come, first served with continuous batching: each step decodes one
    token per running sequence and computes prompt tokens (within --max-num-batched-tokens
    if given). Contiguous policies (orca-max, orca-pow2, orca-oracle) reserve a chunk per
    sequence and never preempt; static batching pads batches to their longest member;
    paged policies take blocks on demand and preempt (recompute) the newest request when
    the pool runs out; paged-B-share adds a vLLM-style prefix cache (LRU, with CPU and disk
    tiers from --cpu-kv-gib / --disk-kv-gib). Reported per policy: the time-averaged
    shares of KV memory (token states, reserved, internal, padding, external, and memory
    left free by the seat or token caps); batch sizes; queueing delay, TTFT and latency;
    throughput; prefix-cache hits.

    Examples: kvplan fragment opt-13b --kv-pool-tokens 15728 --workload sharegpt;
    kvplan fragment opt-13b --kv-pool-tokens 15728 --rate 1/s,2/s,3/s --requests 2000;
    kvplan fragment llama3.1-8b --gpu h100 --workload conversation_trace.jsonl --cpu-kv-gib 64
    """
    from kvplan.errors import BadInputError
    from kvplan.formats import get_format
    from kvplan.fragment.arrivals import parse_rates
    from kvplan.fragment.config import Retention, ServingConfig, Tiers
    from kvplan.fragment.policies import default_policies, parse_policies
    from kvplan.fragment.run import Speculative, host_link, pool_from_gpu
    from kvplan.fragment.timing import ConstantStepTime
    from kvplan.fragment.workloads import load_workload
    from kvplan.loader import load_model
    from kvplan.units import parse_bytes, parse_tokens

    if (gpu is None) == (kv_pool_tokens is None):
        raise BadInputError("give exactly one of --gpu G (capacity planning) or --kv-pool-tokens N")
    if plot:
        from kvplan.plots import check_plot_output

        check_plot_output(plot)  # a known image type (.png, .svg, .pdf), writable, before simulating
    spec = load_model(model)
    if gpu is not None:  # the dtype the engine runs it in: the pool's KV "auto" (kvplan.capacity.served_spec)
        from kvplan.capacity import served_spec

        spec = served_spec(spec, gpu, engine=engine, dtype=dtype, gpu_mem_bytes=gpu_mem)
    fmt = get_format(kv_dtype or spec.dtype, spec.dtype)
    mml = parse_tokens(max_model_len, "--max-model-len") if max_model_len else spec.max_position_embeddings
    retention = Retention(parse_tokens(window, "--window") if window else None, sinks)
    if retention.window is not None:  # the same refusals as size and capacity (kvplan.eviction)
        from kvplan.eviction import SinkWindowPolicy, check_engine

        if gpu is not None:
            check_engine(engine)
        SinkWindowPolicy(retention.window, retention.sinks).apply(spec)  # MLA, attention + state: refused
    budget = parse_tokens(max_num_batched_tokens, "--max-num-batched-tokens") if max_num_batched_tokens else None
    step = ConstantStepTime(
        step_s=(step_ms if step_ms is not None else 25.0) / 1000.0,
        prefill_token_s=(prefill_ms_per_token if prefill_ms_per_token is not None else 0.2) / 1000.0,
        source="given" if step_ms is not None or prefill_ms_per_token is not None else "default",
    )
    speculative = None
    if spec_tokens is not None:
        if acceptance is not None and not 0.0 <= acceptance < 1.0:
            raise BadInputError(f"--acceptance must be in [0, 1), got {acceptance!r}")
        method = spec_method or ("draft_model" if draft_model else None)
        if method is None:
            raise BadInputError("--spec-tokens without --draft-model: give --spec-method eagle, mtp or ngram "
                                "(a drafter reserves k more slots per sequence than n-gram lookup)")
        from kvplan.speculative import LOOKAHEAD_METHODS, make_speculative

        if method not in (*LOOKAHEAD_METHODS, "ngram"):
            raise BadInputError(f"--spec-method {method!r}: use one of {', '.join((*LOOKAHEAD_METHODS, 'ngram'))}")
        if draft_model and method not in ("draft_model", "eagle"):
            raise BadInputError(f"--draft-model names a draft model or an EAGLE head, not a {method} drafter")
        if method == "eagle" and not draft_model:
            raise BadInputError("--spec-method eagle: give the EAGLE head with --draft-model HEAD (its KV layers "
                                "share the pool)")
        # The drafter's KV layers by kvplan.speculative's rules, as `kvplan capacity` pages them: a
        # draft model's, an EAGLE head's, the model's own MTP layers; none for n-gram lookup.
        sp = make_speculative(spec, {"method": method, "num_speculative_tokens": spec_tokens,
                                     **({"model": draft_model} if draft_model else {})}, tp=tp)
        # --kv-pool-tokens is the target's tokens the pool's memory holds: the drafter's KV takes its
        # share out of them; with --gpu the capacity pool already holds it beside the target's.
        draft_bpt = 0 if gpu is not None else sum(k.per_token_bytes(fmt, tp) for k in sp.draft_layers(spec))
        speculative = Speculative(spec_tokens, 0.7 if acceptance is None else acceptance, draft_bpt,
                                  sp.draft.name if sp.draft is not None else "", (draft_step_ms or 0.0) / 1000.0,
                                  method)
    elif acceptance is not None or draft_model or draft_step_ms is not None or spec_method is not None:
        raise BadInputError("--acceptance, --draft-model, --spec-method and --draft-step-ms need --spec-tokens K")
    from kvplan.cli.common import deploy_from, engine_options_given

    # max_model_len and max_num_seqs are the simulator's own (read above), given to the pool below
    deploy = deploy_from({k: v for k, v in locals().items() if k != "max_model_len"})
    for key in ("max_model_len", "max_num_seqs"):
        deploy.pop(key, None)
    if gpu is None and (engine_options_given({k: v for k, v in deploy.items() if k != "max_num_batched_tokens"})
                        or pp != 1):
        raise BadInputError("engine and deployment options (--engine, --gpu-memory-utilization, --weights, --pp, ...) "
                            "size the pool from --gpu; with --kv-pool-tokens the pool is given")
    if gpu is not None:
        # --block-size as given (None: the engine's, as `kvplan capacity`): the pool is capacity's
        pool, source, max_seqs, capacity_pool = pool_from_gpu(
            spec, gpu, fmt=fmt, tp=tp, pp=pp, max_model_len=mml, block_size=block_size, max_seqs=max_seqs,
            speculative=speculative, draft=draft_model, deploy=deploy,
        )
        step = _speed_step(capacity_pool, step, retention, speculative)
        engine_block = capacity_pool.block_size  # the block that pool runs (Pool.block_size)
        longest = capacity_pool.max_request_tokens  # SGLang stops a request 2 short of min(context_len, pool)
    else:
        from kvplan.fragment.simulator import VLLM_MAX_NUM_SEQS

        max_seqs = max_seqs or VLLM_MAX_NUM_SEQS
        pool, source = parse_tokens(kv_pool_tokens, "--kv-pool-tokens"), "--kv-pool-tokens"
        engine_block = block_size or 16
        capacity_pool, longest = None, mml
    if policies:  # paged-B names its own block: B-token blocks carved from the same token pool
        pols = parse_policies(policies)
    else:  # the default paged policies page as the engine does
        pols = default_policies(engine_block, share=retention.window is None)
    tiers = Tiers()
    for flag, gib in (("--cpu-kv-gib", cpu_kv_gib), ("--disk-kv-gib", disk_kv_gib)):
        if gib is not None and not math.isfinite(gib):
            raise BadInputError(f"{flag} must be a finite number of GiB, got {gib}")
    if cpu_kv_gib or disk_kv_gib:
        if host_bandwidth:
            link, link_src = parse_bytes(host_bandwidth, "--host-bandwidth"), "--host-bandwidth"
        else:
            link, link_src = host_link(gpu) if gpu is not None else (Tiers().host_bandwidth,
                                                                        Tiers().host_bandwidth_source)
        tiers = Tiers(
            cpu_bytes=int((cpu_kv_gib or 0) * (1 << 30)), disk_bytes=int((disk_kv_gib or 0) * (1 << 30)),
            bytes_per_token=1, host_bandwidth=link, host_bandwidth_source=link_src,
            disk_bandwidth=parse_bytes(disk_bandwidth, "--disk-bandwidth") if disk_bandwidth else Tiers().disk_bandwidth,
        )
        if not any(p.share for p in pols):
            warn("--cpu-kv-gib/--disk-kv-gib hold prefix-cache blocks: only paged-B-share policies use them")
    elif host_bandwidth or disk_bandwidth:
        raise BadInputError("--host-bandwidth and --disk-bandwidth need --cpu-kv-gib or --disk-kv-gib")
    serving = ServingConfig(step_time=step, max_num_batched_tokens=budget, retention=retention, tiers=tiers)
    # Requests longer than the engine runs are cut to it, as the workload is cut to max_model_len
    # under vLLM; SGLang likewise clips max_new_tokens to its cap (managers/scheduler.py
    # init_req_max_new_tokens)
    wl = load_workload(workload, num_requests=requests, n=n, system_prompt=system_prompt, max_model_len=longest,
                       seed=seed)
    if wl.clipped and longest == mml:
        warn(f"{wl.clipped:,} of {wl.num_requests:,} requests were cut to max_model_len {mml:,}")
    elif wl.clipped:
        warn(f"{wl.clipped:,} of {wl.num_requests:,} requests were cut to {longest:,} tokens: a request of "
             f"{longest + 1:,} is {capacity_pool.too_long(longest + 1)}")
    rates = parse_rates(rate, seed) if rate else None
    report = _run(spec, fmt, wl, pols, pool, source, mml, max_seqs, allocator, tp, serving, speculative, rates,
                  quiet=json_out, max_request_tokens=longest)
    if retention.window is not None:  # said once the run is through (a refused run prints its error alone)
        from kvplan.eviction import WHATIF_NOTE

        warn(WHATIF_NOTE)
    if gpu is not None:
        import dataclasses

        report = dataclasses.replace(report, engine_block_size=engine_block)
    if plot:
        from kvplan.fragment.plot import plot_fragmentation, plot_rate_sweep

        (plot_rate_sweep if len(report.runs) > 1 else plot_fragmentation)(report, plot)
    if json_out:
        print_json(report.to_dict())
        return
    _render(report)


def _speed_step(pool, step, retention, speculative):
    """With --gpu and no stated step times, decode steps take kvplan's speed model's time
    (the issue's rule: the speed model where it exists, else a stated constant). The speed
    model does not time speculative decoding or sink/window eviction: those keep the stated
    constant, and the report says which model ran."""
    if step.source == "given" or speculative is not None or retention.window is not None:
        return step
    from kvplan.errors import KvplanError
    from kvplan.fragment.timing import SpeedModelStepTime
    from kvplan.speed import setup, tpot_notes, ttft_notes

    try:
        s = setup(pool)
    except KvplanError as err:  # a GPU without bandwidth or FLOP/s figures, a model speed refuses
        warn(f"decode steps keep the stated constant: the speed model cannot time this deployment ({err})")
        return step
    for note in ttft_notes(s) + tpot_notes(s):  # the simulated steps time prompts and decodes with the same model
        warn(note)
    req = pool.request
    return SpeedModelStepTime(s, f"{req.gpu.name}, tp {req.tp}, weights {pool.weights.format}, KV {req.kv_format.name}")


def _run(spec, fmt, wl, pols, pool, source, mml, max_seqs, allocator, tp, serving, speculative, rates, quiet,
         max_request_tokens=None):
    from kvplan.fragment.run import run_fragment

    kwargs = dict(pool_source=source, max_model_len=mml, max_seqs=max_seqs, allocator=allocator, tp=tp,
                  serving=serving, speculative=speculative, rates=rates, max_request_tokens=max_request_tokens)
    if quiet or not sys.stderr.isatty():
        return run_fragment(spec, fmt, wl, pols, pool, **kwargs)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    runs = len(rates) if rates else 1
    with Progress(
        TextColumn("simulating {task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=console(stderr=True), transient=True,
    ) as bar:
        task = bar.add_task(f"{len(pols)} policies x {runs} rate(s)", total=wl.num_requests * len(pols) * runs)
        return run_fragment(spec, fmt, wl, pols, pool, progress=lambda k: bar.advance(task, k), **kwargs)


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _secs(x: float) -> str:
    return f"{1000 * x:.0f} ms" if x < 1 else f"{x:.2f} s"


#: Memory columns: (header, PolicyResult attribute, shown only when some policy has it)
_MEMORY = (
    ("served", "served_share", True),
    ("token states", "token_state_share", False),
    ("shared reads", "shared_reads_share", True),
    ("reserved", "reserved_share", False),
    ("internal", "internal_share", False),
    ("padding", "padding_share", True),
    ("external", "external_share", False),
    ("seat cap", "seat_cap_share", True),
    ("budget cap", "budget_cap_share", True),
)


def _title(report) -> str:
    from kvplan.units import format_bytes

    wl = report.workload.summary()
    extra = []
    if wl["samples_per_request"] > 1:
        extra.append(f"n {wl['samples_per_request']}")
    if wl["system_prompt_tokens"]:
        extra.append(f"system prompt {wl['system_prompt_tokens']}")
    pool = f"KV pool {report.pool_tokens:,} tokens = {format_bytes(report.pool_tokens_bytes)} ({report.pool_source})"
    if report.sim_pool_tokens and report.sim_pool_tokens != report.pool_tokens:
        pool += f", {report.sim_pool_tokens:,} tokens beside the draft model's KV"
    return (
        f"{report.model} ({report.kv_dtype}): {pool}; {wl['name']}: {wl['requests']:,} requests, "
        f"mean {wl['mean_prompt_tokens']} in / {wl['mean_output_tokens']} out"
        + (f", {', '.join(extra)}" if extra else "")
        + f"; max_model_len {report.max_model_len:,}; max_seqs {report.max_seqs:,}"
        + (f"; {report.allocator} allocator" if report.allocator != "first-fit" else "")
    )


def _render(report) -> None:
    from rich.table import Table

    con = console()
    cfg = report.serving
    if len(report.runs) > 1:
        _render_sweep(con, report)
    else:
        results = report.results
        sharing = any(r.shared_reads_share >= 5e-4 for r in results)
        cols = [c for c in _MEMORY if not c[2] or (c[1] == "served_share" and sharing)
                or (c[1] != "served_share" and any(getattr(r, c[1]) >= 5e-4 for r in results))]
        table = Table(title=_title(report) + f"; arrivals: {report.runs[0].arrivals.label}", title_justify="left")
        table.add_column("policy")
        for head, _, _ in cols:
            table.add_column(head, justify="right")
        for head in ("mean batch", "peak batch", "done / 1k steps", "preemptions"):
            table.add_column(head, justify="right")
        for r in results:
            table.add_row(r.policy, *[_pct(getattr(r, a)) for _, a, _ in cols], f"{r.mean_batch:.2f}",
                          str(r.peak_batch), f"{r.completed_per_1000_steps:.2f}", f"{r.preemptions:,}")
        con.print(table)
        parts = " + ".join(h for h, _, _ in cols if h not in ("shared reads", "served"))
        con.print(f"Shares of KV memory, time-averaged: {parts} = 100%."
                  + (" Shared reads: token states a shared block served to sequences beyond the one copy stored; "
                     "served = token states + shared reads, the tokens the sequences read per slot (the headline "
                     "with sharing: it can pass 100%)." if sharing else ""))
        _render_time(con, results)
        _render_cache(con, results, cfg.tiers, report.workload.summary()["samples_per_request"])
    con.print(f"Step time: {cfg.step_time.describe()}"
              + (f"; token budget {cfg.max_num_batched_tokens:,} per step" if cfg.max_num_batched_tokens else
                 "; each prompt computed in its admission step")
              + (f"; retention: {cfg.retention.describe()}" if cfg.retention.window is not None else "") + ".")
    for note in _notes(report):
        con.print(note)


def _notes(report) -> list[str]:
    from kvplan.fragment.run import explain

    return explain(report)


def _render_time(con, results) -> None:
    from rich.table import Table

    table = Table(title="Time", title_justify="left")
    for col in ("policy", "queue delay mean", "p99", "TTFT mean", "p50", "p99", "latency mean", "p99",
                "requests/s", "output tok/s", "busy"):
        table.add_column(col, justify="left" if col == "policy" else "right")
    for r in results:
        t = r.timing
        d = t.to_dict(r.completed)
        table.add_row(r.policy, _secs(t.queue_delay_s[0]), _secs(t.queue_delay_s[2]), _secs(t.ttft_s[0]),
                      _secs(t.ttft_s[1]), _secs(t.ttft_s[2]), _secs(t.latency_s[0]), _secs(t.latency_s[2]),
                      f"{d['requests_per_s']:.2f}", f"{d['output_tokens_per_s']:,.0f}", _secs(t.busy_s))
    con.print(table)


def _render_cache(con, results, tiers_cfg, n: int) -> None:
    from rich.table import Table

    shared = [r for r in results if r.cache is not None]
    if not shared:
        return
    tiers = shared[0].cache.tier_names
    table = Table(title="Prefix cache (first admission of each request)", title_justify="left")
    cols = ["policy", "hit rate", "prefill tokens saved", "from GPU"] + [f"from {t}" for t in tiers]
    cols += ["KV memory saved"] + [f"{t} peak / capacity" for t in tiers]
    if tiers:
        cols += ["transfer", "recompute avoided"]
    for col in cols:
        table.add_column(col, justify="left" if col == "policy" else "right")
    for r in shared:
        c = r.cache
        row = [r.policy, _pct(c.hit_rate), f"{c.hit_tokens:,}", f"{c.gpu_hit_tokens:,}"]
        row += [f"{x:,}" for x in c.tier_hit_tokens]
        row += [_pct(r.shared_reads_share)]
        row += [f"{p:,} / {cap:,}" for p, cap in zip(c.tier_peak_tokens, c.tier_capacity_tokens)]
        if tiers:
            row += [_secs(c.transfer_s), _secs(c.recompute_s_avoided)]
        table.add_row(*row)
    con.print(table)
    con.print(f"Blocks named by: {shared[0].cache.key_source}. KV memory saved: token states read through shared "
              "blocks beyond the one copy stored, as a share of KV memory."
              + (f" Hit rate with --n {n}: each sample counted as vLLM V1 counts its child requests, {n} lookups of "
                 f"the prompt per request; the shared blocks the first sample computed are hits for the other "
                 f"{n - 1}." if n > 1 else ""))
    if tiers:
        t = tiers_cfg
        disk = (f"; disk at {t.disk_bandwidth / 1e9:.4g} GB/s (--disk-bandwidth, default one PCIe 4.0 NVMe SSD), "
                f"capped by the host link" if t.disk_bytes else "")
        con.print(f"Transfer: CPU blocks over the host link at {t.host_bandwidth / 1e9:.4g} GB/s per direction "
                  f"({t.host_bandwidth_source}){disk}. Each copy runs at that peak rate (an upper bound on the rate) "
                  f"and the step that admits the request waits for it: kvplan's assumptions, not an engine's "
                  f"(docs/prefix-caching.md).")


def _render_sweep(con, report) -> None:
    from rich.table import Table

    table = Table(title=_title(report), title_justify="left")
    for col in ("arrivals", "policy", "token states", "external", "seat cap", "mean batch", "TTFT p50", "TTFT p99",
                "latency p50", "latency p99", "requests/s", "preemptions"):
        table.add_column(col, justify="left" if col in ("arrivals", "policy") else "right")
    for run in report.runs:
        for i, r in enumerate(run.results):
            t = r.timing
            table.add_row(run.arrivals.label if i == 0 else "", r.policy, _pct(r.token_state_share),
                          _pct(r.external_share), _pct(r.seat_cap_share), f"{r.mean_batch:.2f}", _secs(t.ttft_s[1]),
                          _secs(t.ttft_s[2]), _secs(t.latency_s[1]), _secs(t.latency_s[2]),
                          f"{t.to_dict(r.completed)['requests_per_s']:.2f}", f"{r.preemptions:,}")
        table.add_section()
    con.print(table)


def register(app: typer.Typer) -> None:
    app.command("fragment")(fragment)
