"""Shared CLI pieces: consoles, JSON output, option types, number formatting."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Optional

import typer

from kvplan.units import format_bytes, format_tokens

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object to stdout (no markup).")]
BlockSizeOpt = Annotated[
    int, typer.Option("--block-size", min=1, help="Tokens per page of the paged cache (vLLM: 16).")
]
TpOpt = Annotated[int, typer.Option("--tp", min=1, help="Tensor-parallel degree (GPUs per stage).")]
PpOpt = Annotated[int, typer.Option("--pp", min=1, help="Pipeline-parallel degree (stages).")]


def console():
    """Rich console on stdout (plain text when stdout is not a terminal)."""
    import os

    from rich.console import Console

    # Piped output: rich would fold tables to 80 columns; keep rows whole instead.
    width = None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 200
    return Console(highlight=False, soft_wrap=False, width=width)


def warn(message: str) -> None:
    """Commentary and warnings go to stderr, one line each."""
    print(f"kvplan: warning: {message}", file=sys.stderr)


def print_json(obj) -> None:
    sys.stdout.write(json.dumps(obj, indent=2) + "\n")


def gib(n: int) -> str:
    return format_bytes(n)


def b(n: int) -> str:
    """Exact bytes with separators: 131,072."""
    return f"{n:,}"


def tok(n: int) -> str:
    return format_tokens(n)


# -- deployment options: one set for every command that asks a KV pool ----------------------
# (capacity, sweep --gpu, size --gpu, fragment --gpu, ...). They become make_request's
# keywords through deploy_options(), so every command reads them the same way.
GpuOpt = Annotated[Optional[str], typer.Option("--gpu", help="GPU from `kvplan gpus` (a name or alias: h100, H100-SXM).")]
GpuMemOpt = Annotated[
    Optional[str], typer.Option("--gpu-mem", help="Override GPU memory as the driver reports it: 24GiB, 80GB.")
]
EngineOpt = Annotated[str, typer.Option("--engine", help="Serving engine whose memory rules apply: vllm, sglang, trtllm, raw.")]
DtypeOpt = Annotated[Optional[str], typer.Option("--dtype", help="Model dtype: bf16, fp16, fp32.")]
WeightsOpt = Annotated[
    Optional[str], typer.Option("--weights", help="Weight format: bf16, fp16, fp32, fp8, int8, int4, mxfp4.")
]
GpuMemUtilOpt = Annotated[
    Optional[float],
    typer.Option("--gpu-memory-utilization", help="Engine memory fraction in (0, 1] (vLLM default 0.9)."),
]
MaxModelLenOpt = Annotated[
    Optional[str], typer.Option("--max-model-len", help="Max tokens per request [default: the model's max_position_embeddings].")
]
MaxNumBatchedTokensOpt = Annotated[
    Optional[str], typer.Option("--max-num-batched-tokens", help="Tokens per forward pass (vLLM default by GPU).")
]
MaxNumSeqsOpt = Annotated[
    Optional[int], typer.Option("--max-num-seqs", help="Max running requests per replica (vLLM default by GPU).")
]


def deploy_options(*, gpu_mem=None, engine="vllm", dtype=None, weights=None, gpu_memory_utilization=None,
                   max_model_len=None, max_num_batched_tokens=None, max_num_seqs=None) -> dict:
    """The deployment options as kvplan.capacity.make_request keywords (strings parsed there)."""
    return {
        "gpu_mem_bytes": gpu_mem, "engine": engine, "dtype": dtype, "weights": weights,
        "gpu_memory_utilization": gpu_memory_utilization, "max_model_len": max_model_len,
        "max_num_batched_tokens": max_num_batched_tokens, "max_num_seqs": max_num_seqs,
    }
