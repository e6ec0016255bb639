"""`kvplan explain LOGFILE`: a real vLLM / SGLang startup log beside kvplan's waterfall."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from kvplan.cli.common import JsonOpt, b, console, print_json


def explain(
    logfile: Annotated[str, typer.Argument(help="A vLLM or SGLang startup log (a file, or - for stdin).")],
    model: Annotated[Optional[str], typer.Option("--model", help="Model when the log names a local path "
                                                                  "(built-in name, spec, config.json).")] = None,
    gpu: Annotated[Optional[str], typer.Option("--gpu", help="GPU when the log does not name it (see `kvplan gpus`).")] = None,
    release: Annotated[Optional[str], typer.Option("--release", help="Engine release when the log does not state "
                                                                      "it (e.g. 0.11.0).")] = None,
    what_if: Annotated[bool, typer.Option("--what-if", help="Re-plan with the flags below, anchored on the log.")] = False,
    max_model_len: Annotated[Optional[str], typer.Option("--max-model-len", help="What-if: max tokens per request "
                                                                                  "(64k = 65,536).")] = None,
    kv_cache_dtype: Annotated[Optional[str], typer.Option("--kv-cache-dtype", help="What-if: KV dtype (auto, fp8, "
                                                                                    "fp8_e5m2, ...).")] = None,
    tp: Annotated[Optional[int], typer.Option("--tp", "--tensor-parallel-size", "-tp", help="What-if: tensor parallel.")] = None,
    pp: Annotated[Optional[int], typer.Option("--pp", "--pipeline-parallel-size", "-pp", help="What-if: pipeline parallel.")] = None,
    gpu_memory_utilization: Annotated[Optional[float], typer.Option("--gpu-memory-utilization",
                                                                    help="What-if (vLLM): memory fraction.")] = None,
    mem_fraction_static: Annotated[Optional[float], typer.Option("--mem-fraction-static",
                                                                 help="What-if (SGLang): memory fraction.")] = None,
    max_num_seqs: Annotated[Optional[int], typer.Option("--max-num-seqs", help="What-if (vLLM).")] = None,
    max_num_batched_tokens: Annotated[Optional[str], typer.Option("--max-num-batched-tokens",
                                                                  help="What-if (vLLM).")] = None,
    to_gpu: Annotated[Optional[str], typer.Option("--to-gpu", help="What-if: another GPU.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Explain a startup log: release, model, flags, and the memory waterfall (GPU memory,
    requested share, weights, activation peak, non-torch memory, KV cache GiB, tokens, max
    concurrency) as logged beside kvplan's figures for that release, with the difference.
    kvplan's KV line is what its release rules leave on the logged weights.

    With --what-if and changed flags, re-plans the deployment anchored on the log's own
    weights, activation and non-torch figures. Exit 2 (one line) for a log kvplan cannot
    read or that stops before the KV cache is sized; exit 1 when a what-if does not fit.

    Examples: kvplan explain vllm.log;  kvplan explain vllm.log --what-if --max-model-len 64k
    --kv-cache-dtype fp8 --tp 2;  kvplan explain sglang.log --release 0.5.4 --model qwen2.5-7b
    """
    from kvplan.errors import BadInputError
    from kvplan.explain import explain as run_explain
    from kvplan.explain_log import parse_log
    from kvplan.units import parse_tokens

    text = _read(logfile)
    changes = {k: v for k, v in (
        ("max_model_len", parse_tokens(max_model_len, "--max-model-len") if max_model_len else None),
        ("kv_cache_dtype", kv_cache_dtype), ("tp", tp), ("pp", pp),
        ("gpu_memory_utilization", gpu_memory_utilization), ("mem_fraction_static", mem_fraction_static),
        ("max_num_seqs", max_num_seqs),
        ("max_num_batched_tokens", parse_tokens(max_num_batched_tokens, "--max-num-batched-tokens")
         if max_num_batched_tokens else None),
        ("gpu", to_gpu)) if v is not None}
    if changes and not what_if:
        raise BadInputError(f"{', '.join('--' + k.replace('_', '-') for k in changes)} change the deployment: "
                            "add --what-if")
    if what_if and not changes:
        raise BadInputError("--what-if needs at least one changed flag (e.g. --max-model-len 64k)")
    result = run_explain(parse_log(text), model=model, gpu=gpu, release=release, what_if=changes or None)
    if json_out:
        print_json(result.as_dict())
    else:
        _render(result)
    if result.what_if is not None and not result.what_if["fits"]:
        print(f"kvplan: what-if {result.what_if['verdict']}", file=sys.stderr)
        raise typer.Exit(1)


def _read(path: str) -> str:
    """The log's text, read with kvplan.limits.MAX_LOG_BYTES as the bound: from a regular file
    (a FIFO or /dev/zero is refused at once, kvplan.loader.read_bytes), or from stdin."""
    from pathlib import Path

    from kvplan import limits
    from kvplan.errors import BadInputError
    from kvplan.loader import read_bytes

    if path == "-":
        data = sys.stdin.buffer.read(limits.MAX_LOG_BYTES + 1)
        if len(data) > limits.MAX_LOG_BYTES:
            raise BadInputError(f"stdin: more than the {limits.MAX_LOG_BYTES >> 20} MiB kvplan reads for a log "
                                f"(see docs/limits.md)")
    else:
        data = read_bytes(Path(path), limits.MAX_LOG_BYTES, "log")
    return data.decode("utf-8", errors="replace")


def _value(unit: str, v) -> str:
    if v is None:
        return "-"
    if unit == "bytes":
        return f"{v / (1 << 30):.2f} GiB"
    if unit == "tokens":
        return b(v)
    return f"{v:.2f}x"


def _diff(line) -> str:
    d = line.difference
    if d is None:
        return ""
    rel = f" ({line.relative:+.2%})" if line.relative is not None else ""
    if line.unit == "bytes":
        return f"{d / (1 << 30):+.2f} GiB{rel}"
    if line.unit == "tokens":
        return f"{d:+,}{rel}"
    return f"{d:+.2f}x"


def _render(result) -> None:
    from rich.table import Table

    con = console()
    s = result.settings
    flags = ", ".join(f"{k} {v}" for k, v in s.items() if v is not None)
    rules = f"{result.engine} rules" if result.modelled else result.engine
    title = f"{rules}; {result.model or 'model ?'} on {result.gpu or 'GPU ?'}; {flags}"
    table = Table(title=title, title_justify="left")
    table.add_column("one GPU (rank 0)")
    table.add_column("logged", justify="right")
    table.add_column("kvplan", justify="right")
    table.add_column("difference", justify="right")
    for line in result.lines:
        table.add_row(line.label, _value(line.unit, line.logged), _value(line.unit, line.kvplan), _diff(line))
    con.print(table)
    for note in result.notes:
        con.print(f"note: {note}")
    if result.what_if is not None:
        w = result.what_if
        changed = ", ".join(f"{k} {v:,}" if isinstance(v, int) else f"{k} {v}" for k, v in w["changes"].items())
        t = Table(title=f"what-if: {changed} (anchored on the log; {w['engine']})", title_justify="left")
        t.add_column("one GPU")
        t.add_column("logged setup", justify="right")
        t.add_column("what-if", justify="right")
        t.add_column("change", justify="right")
        for line in w["lines"]:
            t.add_row(line.label, _value(line.unit, line.logged), _value(line.unit, line.kvplan), _diff(line))
        con.print(t)
        if w.get("anchor"):
            con.print(f"logged setup: {w['anchor']}")
        con.print(f"what-if verdict: {w['verdict']}")


def register(app: typer.Typer) -> None:
    app.command("explain")(explain)
