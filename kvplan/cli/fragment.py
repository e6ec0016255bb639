"""`kvplan fragment`: contiguous vs paged KV allocation, simulated on a request workload."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from kvplan.cli.common import BlockSizeOpt, JsonOpt, TpOpt, console, print_json, warn


def fragment(
    model: Annotated[str, typer.Argument(help="Built-in name (see `kvplan models`), spec YAML, or config.json.")],
    gpu: Annotated[
        Optional[str], typer.Option("--gpu", help="Size the KV pool by capacity planning on this GPU (vLLM).")
    ] = None,
    kv_pool_tokens: Annotated[
        Optional[str], typer.Option("--kv-pool-tokens", help="KV pool size in tokens instead of --gpu: 15728, 64k.")
    ] = None,
    workload: Annotated[
        str,
        typer.Option("--workload", help="sharegpt | alpaca | fixed:PROMPT:OUTPUT | trace file "
                     "(.csv/.jsonl/.parquet with prompt_len, output_len)."),
    ] = "sharegpt",
    requests: Annotated[
        Optional[int], typer.Option("--requests", min=1, help="Requests to draw [default: 10000; traces: all rows].")
    ] = None,
    block_size: BlockSizeOpt = 16,
    policies: Annotated[
        Optional[str],
        typer.Option("--policies", help="Comma-separated: orca-max, orca-pow2, orca-pow2-output, orca-oracle, "
                     "paged-B, paged-B-share (1 <= B <= 256). [default: orca-max,orca-pow2,orca-oracle,paged-16,"
                     "paged-16-share,paged-1; 16 is --block-size]"),
    ] = None,
    allocator: Annotated[
        str, typer.Option("--allocator", help="Placement of contiguous chunks: first-fit, or buddy (the paper's Orca).")
    ] = "first-fit",
    seed: Annotated[int, typer.Option("--seed", min=0, help="Seed for the built-in length distributions.")] = 0,
    max_model_len: Annotated[
        Optional[str],
        typer.Option("--max-model-len", help="Longest sequence [default: the model's max_position_embeddings]."),
    ] = None,
    system_prompt: Annotated[
        int, typer.Option("--system-prompt", min=0, help="Tokens of a system prompt common to every request.")
    ] = 0,
    n: Annotated[int, typer.Option("--n", min=1, help="Parallel samples per request (paged-B-share stores their prompt once).")] = 1,
    max_seqs: Annotated[
        Optional[int],
        typer.Option("--max-seqs", min=1, help="Cap on running sequences (vLLM max_num_seqs) [default: with --gpu "
                     "the engine's default for that GPU (vLLM: 1024 on GPUs of 70 GiB or more, else 256); else 256]."),
    ] = None,
    kv_dtype: Annotated[
        Optional[str], typer.Option("--kv-dtype", help="KV cache format (bf16, fp8 ...) [default: model dtype].")
    ] = None,
    tp: TpOpt = 1,
    json_out: JsonOpt = False,
    plot: Annotated[
        Optional[str], typer.Option("--plot", help="Also draw stacked bars per policy to this PNG.")
    ] = None,
) -> None:
    """Simulate contiguous (Orca-style) and paged (vLLM-style) KV allocation on one pool.

    All requests queue at step 0 and are served first come, first served with continuous
    batching: one decode token per running sequence per step; contiguous policies take a
    first-fit chunk per sequence (orca-max: max_model_len, orca-pow2: next power of two
    of the final length, orca-oracle: the exact final length) and never preempt; paged
    policies take blocks on demand and preempt (recompute) the newest request when the
    pool runs out. Reported per policy: the time-averaged share of KV memory holding
    token states, reserved for future tokens, internal and external fragmentation (free
    pool space while requests wait); mean and peak running batch; completed requests per
    1,000 steps; preemptions.

    paged-B-share stores the --system-prompt's full blocks once for all requests and a
    request's prompt once for its --n samples. With the defaults (--system-prompt 0,
    --n 1: the paper's basic sampling) there is nothing to share and it equals paged-B.

    Examples: kvplan fragment opt-13b --kv-pool-tokens 15728 --workload sharegpt;
    kvplan fragment llama3-8b --gpu h100 --workload alpaca --n 4 --json
    """
    from kvplan.errors import BadInputError
    from kvplan.formats import get_format
    from kvplan.fragment.policies import default_policies, parse_policies
    from kvplan.fragment.run import pool_from_gpu
    from kvplan.fragment.workloads import load_workload
    from kvplan.loader import load_model
    from kvplan.outputs import check_writable
    from kvplan.units import parse_tokens

    if (gpu is None) == (kv_pool_tokens is None):
        raise BadInputError("give exactly one of --gpu G (capacity planning) or --kv-pool-tokens N")
    if plot:
        check_writable(plot, "--plot")
    spec = load_model(model)
    fmt = get_format(kv_dtype or spec.dtype, spec.dtype)
    mml = parse_tokens(max_model_len, "--max-model-len") if max_model_len else spec.max_position_embeddings
    pols = parse_policies(policies) if policies else default_policies(block_size)
    if gpu is not None:
        pool, source, max_seqs = pool_from_gpu(
            spec, gpu, fmt=fmt, tp=tp, max_model_len=mml, block_size=block_size, max_seqs=max_seqs
        )
    else:
        from kvplan.fragment.simulator import VLLM_MAX_NUM_SEQS

        max_seqs = max_seqs or VLLM_MAX_NUM_SEQS
        pool, source = parse_tokens(kv_pool_tokens, "--kv-pool-tokens"), "--kv-pool-tokens"
    wl = load_workload(workload, num_requests=requests, n=n, system_prompt=system_prompt, max_model_len=mml, seed=seed)
    if wl.clipped:
        warn(f"{wl.clipped:,} of {wl.num_requests:,} requests were cut to max_model_len {mml:,}")
    report = _run(spec, fmt, wl, pols, pool, source, mml, max_seqs, allocator, tp, quiet=json_out)
    if plot:
        from kvplan.fragment.plot import plot_fragmentation

        plot_fragmentation(report, plot)
    if json_out:
        print_json(report.to_dict())
        return
    _render(report)


def _run(spec, fmt, wl, pols, pool, source, mml, max_seqs, allocator, tp, quiet):
    from kvplan.fragment.run import run_fragment

    kwargs = dict(pool_source=source, max_model_len=mml, max_seqs=max_seqs, allocator=allocator, tp=tp)
    if quiet or not sys.stderr.isatty():
        return run_fragment(spec, fmt, wl, pols, pool, **kwargs)
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("simulating {task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=Console(stderr=True), transient=True,
    ) as bar:
        task = bar.add_task(f"{len(pols)} policies", total=wl.num_requests * len(pols))
        return run_fragment(spec, fmt, wl, pols, pool, progress=lambda k: bar.advance(task, k), **kwargs)


def _render(report) -> None:
    from rich.table import Table

    from kvplan.units import format_bytes

    con = console()
    wl = report.workload.summary()
    extra = []
    if wl["samples_per_request"] > 1:
        extra.append(f"n {wl['samples_per_request']}")
    if wl["system_prompt_tokens"]:
        extra.append(f"system prompt {wl['system_prompt_tokens']}")
    title = (
        f"{report.model} ({report.kv_dtype}): KV pool {report.pool_tokens:,} tokens = "
        f"{format_bytes(report.pool_bytes)} ({report.pool_source}); {wl['name']}: {wl['requests']:,} requests, "
        f"mean {wl['mean_prompt_tokens']} in / {wl['mean_output_tokens']} out"
        + (f", {', '.join(extra)}" if extra else "")
        + f"; max_model_len {report.max_model_len:,}"
        + (f"; {report.allocator} allocator" if report.allocator != "first-fit" else "")
    )
    table = Table(title=title, title_justify="left")
    for col in ("policy", "token states", "reserved", "internal", "external", "mean batch", "peak batch",
                "done / 1k steps", "preemptions"):
        table.add_column(col, justify="left" if col == "policy" else "right")
    for r in report.results:
        table.add_row(
            r.policy,
            f"{100 * r.token_state_share:.1f}%",
            f"{100 * r.reserved_share:.1f}%",
            f"{100 * r.internal_share:.1f}%",
            f"{100 * r.external_share:.1f}%",
            f"{r.mean_batch:.2f}",
            str(r.peak_batch),
            f"{r.completed_per_1000_steps:.2f}",
            f"{r.preemptions:,}",
        )
    con.print(table)
    con.print(
        "Shares of KV memory, time-averaged: token states + reserved (for tokens still to come) + internal "
        "(never filled) + external (free while requests wait) = 100%."
    )


def register(app: typer.Typer) -> None:
    app.command("fragment")(fragment)
