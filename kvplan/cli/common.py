"""Shared CLI pieces: consoles, JSON output, option types, number formatting."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Optional

import typer

from kvplan import limits
from kvplan.units import format_bytes, format_tokens

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object to stdout (no markup).")]
BlockSizeOpt = Annotated[
    int, typer.Option("--block-size", min=1, max=limits.MAX_BLOCK_SIZE, help="Tokens per page of the paged cache (vLLM: 16).")
]
#: What the engine runs when --block-size is not given: the block kvplan.capacity.plan takes
#: (Engine.model_block_size), which the pool then reports.
_ENGINE_BLOCK = ("the block the engine runs, as `kvplan capacity` says: vLLM 16, an MLA model its attention "
                 "backend's (Hopper: 64 for fp8, 16 for bf16; Blackwell: give it); SGLang 1, or the page its "
                 "attention backend forces (e.g. 64 on Blackwell); TensorRT-LLM 32")
#: --block-size where a GPU's engine may decide it (size, sweep): given, it goes to the request as
#: `kvplan capacity --block-size`; not given, the engine decides and the figures count its pages.
EngineBlockSizeOpt = Annotated[Optional[int], typer.Option(
    "--block-size", min=1, max=limits.MAX_BLOCK_SIZE, show_default=False,
    help=f"Tokens per KV block; with --gpu the engine's --block-size, as `kvplan capacity` takes it [default: with "
         f"--gpu {_ENGINE_BLOCK}; else 16].")]
#: --block-size of a command that always plans on a GPU (speed).
PoolBlockSizeOpt = Annotated[Optional[int], typer.Option(
    "--block-size", min=1, max=limits.MAX_BLOCK_SIZE, show_default=False,
    help=f"The engine's --block-size (tokens per KV block), as `kvplan capacity` takes it [default: {_ENGINE_BLOCK}].")]
#: recommend's --block-size: every deployment it considers is planned with it.
RecommendBlockSizeOpt = Annotated[Optional[int], typer.Option(
    "--block-size", min=1, max=limits.MAX_BLOCK_SIZE, show_default=False,
    help=f"The engine's --block-size for every deployment considered [default: on each GPU {_ENGINE_BLOCK}].")]
#: vLLM's flag names first, kvplan's earlier names kept as aliases (SGLang's --tp-size too).
TP_NAMES = ("--tensor-parallel-size", "-tp", "--tp", "--tp-size")
PP_NAMES = ("--pipeline-parallel-size", "-pp", "--pp")
DP_NAMES = ("--data-parallel-size", "-dp", "--dp")
KV_DTYPE_NAMES = ("--kv-cache-dtype", "--kv-dtype")
TpOpt = Annotated[int, typer.Option(*TP_NAMES, min=1, max=limits.MAX_DEGREE, help="Tensor-parallel degree (GPUs per stage).")]
PpOpt = Annotated[int, typer.Option(*PP_NAMES, min=1, max=limits.MAX_DEGREE, help="Pipeline-parallel degree (stages).")]


def _width() -> int:
    """Columns for tables: a usable $COLUMNS (20 to 10,000), else the terminal's width, else
    200 when stdout is not a terminal (rich would fold tables to 80 columns; keep rows whole).
    COLUMNS=0, negative or non-numeric values are ignored rather than squashing tables."""
    import os

    try:
        columns = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        columns = 0
    if 20 <= columns <= 10_000:
        return columns
    stream = sys.stdout
    try:
        if stream is not None and stream.isatty():
            return max(20, min(os.get_terminal_size(stream.fileno()).columns, 10_000))
    except (OSError, ValueError):
        pass
    return 200


def console(stderr: bool = False):
    """Rich console on stdout (or stderr) for everything kvplan renders.

    Markup and emoji codes are off, so ``[/x]`` or ``:smile:`` in a model's display_name is
    printed as written; every string it renders passes through ``kvplan.text.printable``,
    so escape sequences from specs, configs, plans, traces or file names reach the terminal
    as visible text (``\\x1b[2J``), never as commands. Style with ``style=`` or rich.text.Text."""
    from rich.console import Console

    from kvplan.text import printable

    class _SafeConsole(Console):
        def render_str(self, text, **kwargs):
            return super().render_str(printable(text), **kwargs)

        def on_broken_pipe(self) -> None:
            # rich exits 1 here; raise instead, so the CLI ends as it does for every closed
            # pipe (kvplan.cli.main: 141, quietly).
            self.quiet = True
            raise BrokenPipeError(32, "Broken pipe")

    return _SafeConsole(highlight=False, soft_wrap=False, width=_width(), markup=False, emoji=False, stderr=stderr)


def warn(message: str) -> None:
    """Commentary and warnings go to stderr, one line each (control characters escaped)."""
    stderr_line(f"warning: {message}")


def scoped_notes(about: dict[str, list[str]], total: int, *, sep: str = ", ", prefix: str = "",
                 limit: int | None = None) -> list[str]:
    """Each caveat of ``about`` (text -> the labels of the pools it is about) once, as `kvplan
    capacity` prints it; led by ``prefix`` and its pools' labels where it is not about all
    ``total`` pools planned (past ``limit`` labels: how many more, --json listing them)."""
    out = []
    for text, labels in about.items():
        if len(labels) == total:
            out.append(text)
            continue
        shown = labels if limit is None else labels[:limit]
        more = len(labels) - len(shown)
        which = prefix + sep.join(shown) + (f" and {more:,} more pools (--json lists them)" if more > 0 else "")
        out.append(f"{which}: {text}")
    return out


def progress_bar(label: str, unit: str):
    """(update(done, total), finish()) of a rich progress bar on stderr when it is a terminal;
    no-ops otherwise (update is None then)."""
    if not sys.stderr.isatty():
        return None, lambda: None
    from rich.progress import BarColumn, Progress, TextColumn

    bar = Progress(TextColumn(label), BarColumn(), TextColumn(f"{{task.completed}}/{{task.total}} {unit}"),
                   console=console(stderr=True), transient=True)
    task = None

    def update(done: int, total: int) -> None:
        nonlocal task
        if task is None:
            bar.start()
            task = bar.add_task(label, total=total)
        bar.update(task, completed=done)

    def finish() -> None:
        if task is not None:
            bar.stop()

    return update, finish


def note(message: str) -> None:
    """A remark on how an input was read (stderr, one line)."""
    stderr_line(f"note: {message}")


def stderr_line(message: str) -> None:
    """One line on stderr, ``kvplan: MESSAGE`` (``wrote out.csv``, a verdict ...), with control
    characters escaped and newlines folded (kvplan.text.one_line)."""
    from kvplan.text import one_line

    print(f"kvplan: {one_line(message)}", file=sys.stderr)


def warn_assumptions(spec) -> None:
    """One warning line naming what the spec's importer assumed (nothing when it assumed nothing)."""
    if spec.assumptions:
        warn(f"{spec.name}: assumed: " + "; ".join(spec.assumptions))


def print_json(obj) -> None:
    """One JSON object on stdout; json escapes control characters, so user strings stay inert."""
    sys.stdout.write(json.dumps(obj, indent=2) + "\n")


def gib(n: int) -> str:
    return format_bytes(n)


def b(n: int) -> str:
    """Exact bytes with separators: 131,072."""
    return f"{n:,}"


def tok(n: int) -> str:
    return format_tokens(n)


# -- deployment options: one set for every command that asks a KV pool ----------------------
# (capacity, sweep --gpu, size --gpu, fragment --gpu, ...). vLLM's own flag names, with
# vLLM's meaning (vllm/engine/arg_utils.py), kvplan's earlier names as aliases; SGLang's
# names apply with --engine sglang. They become make_request's keywords through
# deploy_options(), so every command reads them the same way.
GpuOpt = Annotated[Optional[str], typer.Option("--gpu", help="GPU from `kvplan gpus` (a name or alias: h100, H100-SXM).")]
GpuMemOpt = Annotated[
    Optional[str], typer.Option("--gpu-mem", help="Override GPU memory as the driver reports it: 24GiB, 80GB.")
]
EngineOpt = Annotated[str, typer.Option(
    "--engine", help="Serving engine and release whose memory rules apply: vllm (the newest modelled release), "
                     "vllm==0.11.0, sglang, sglang==0.5.4, trtllm, raw (see docs/calibration.md).")]
DtypeOpt = Annotated[Optional[str], typer.Option("--dtype", help="Model dtype: bf16, fp16, fp32 (vLLM: half, bfloat16, float).")]
WeightsOpt = Annotated[
    Optional[str], typer.Option("--weights", help="Weight format: bf16, fp16, fp32, fp8, int8, int4, mxfp4.")
]
QuantizationOpt = Annotated[Optional[str], typer.Option(
    "--quantization", "-q", help="vLLM's quantization method: fp8 (online) quantizes the weights to fp8; awq, gptq, "
                                 "compressed-tensors, mxfp4 ... keep the checkpoint's format (its config.json).")]
GpuMemUtilOpt = Annotated[
    Optional[float],
    typer.Option("--gpu-memory-utilization", help="Engine memory fraction in (0, 1] (vLLM default 0.9)."),
]
MaxModelLenOpt = Annotated[
    Optional[str], typer.Option(
        "--max-model-len", help="Max tokens per request [default: the model's max_position_embeddings]; -1 or auto: "
                                "vLLM's auto-fit (0.14.0+). kvplan reads 32k as 32,768 (vLLM: 32k = 32,000, 32K = "
                                "32,768).")
]
#: recommend plans each deployment for the load's longest request unless told otherwise.
RecommendMaxModelLenOpt = Annotated[
    Optional[str], typer.Option(
        "--max-model-len", show_default=False,
        help="Max tokens per request of every deployment considered [default: CTX + OUTPUT, the load's longest "
             "request]. kvplan reads 32k as 32,768 (vLLM: 32k = 32,000, 32K = 32,768).")
]
MaxNumBatchedTokensOpt = Annotated[
    Optional[str], typer.Option("--max-num-batched-tokens", help="Tokens per forward pass (vLLM default by GPU).")
]
MaxNumSeqsOpt = Annotated[
    Optional[int], typer.Option("--max-num-seqs", min=1, max=limits.MAX_BATCH,
                                help="Max running requests per replica (vLLM default by GPU).")
]
DpOpt = Annotated[int, typer.Option(*DP_NAMES, min=1, help="Data-parallel replicas (each tp x pp GPUs).")]
KvDtypeOpt = Annotated[Optional[str], typer.Option(*KV_DTYPE_NAMES, help="KV-cache format (auto = model dtype).")]
KvCacheMemoryOpt = Annotated[Optional[str], typer.Option(
    "--kv-cache-memory-bytes", "--kv-cache-memory",
    help="KV memory per GPU, instead of the gpu-memory-utilization waterfall (vLLM 0.10.2+): 20G (= 20 GiB, as vLLM "
         "reads it), 20g (= 20e9), 20GiB; one per rank, comma-separated, when ranks differ.")]
NumGpuBlocksOverrideOpt = Annotated[Optional[int], typer.Option(
    "--num-gpu-blocks-override", min=1, help="vLLM: use this many KV blocks whatever the memory holds.")]
DisableHybridOpt = Annotated[Optional[bool], typer.Option(
    "--disable-hybrid-kv-cache-manager/--no-disable-hybrid-kv-cache-manager",
    help="vLLM: allocate every attention layer as full attention (sliding-window and chunked-local layers keep all "
         "tokens) [default: the release's choice]. SGLang: --disable-hybrid-swa-memory, one token pool for every "
         "layer (what kvplan plans there; needed for the separate window pools of 0.5.8 and 0.5.23).", show_default=False)]
AllowLongOpt = Annotated[bool, typer.Option(
    "--allow-long-max-model-len", help="Plan a --max-model-len beyond the model's own length, as vLLM does with "
                                       "VLLM_ALLOW_LONG_MAX_MODEL_LEN=1 (SGLang: SGLANG_ALLOW_OVERWRITE_LONGER_CONTEXT_LEN=1); "
                                       "without it such a length is refused, as the engine refuses it.")]
EnforceEagerOpt = Annotated[bool, typer.Option(
    "--enforce-eager", help="vLLM: no CUDA graphs. From vLLM 0.20.0 the pool is planned only with it (or "
                            "VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS=0 in --from-vllm): otherwise vLLM subtracts "
                            "a CUDA-graph estimate it measures at start-up. Up to 0.19.1 the pool is the same.")]
ExpertParallelOpt = Annotated[bool, typer.Option(
    "--enable-expert-parallel", "-ep", help="vLLM: whole experts over the tp x dp GPUs instead of a 1/(tp x dp) "
                                            "slice of every expert (MoE models).")]
PrefixCachingOpt = Annotated[Optional[bool], typer.Option(
    "--enable-prefix-caching/--no-enable-prefix-caching",
    help="vLLM: reuse KV blocks between requests with a shared prefix [default: the release's]. It leaves the "
         "pool's size alone, except for models with state-space layers (Mamba, linear attention), whose Mamba "
         "cache it changes: vLLM 0.10.2-0.11.0 turns it off for them (a note, the pool as without it); 0.11.1-0.14.1 "
         "keeps it on for its SupportsMambaPrefixCaching classes (Bamba, Jamba, Mamba, NemotronH ...: per-block "
         "states) and turns it off for the others; from 0.15.0 it stays on for every one (mamba_cache_mode 'all' "
         "or 'align': the attention block a multiple of the Mamba chunk). Where it stays on, kvplan does not model "
         "the pool: refused. Off for them without the flag in every release.", show_default=False)]
CpuOffloadOpt = Annotated[Optional[float], typer.Option(
    "--cpu-offload-gb", min=0, help="vLLM: GiB of layer weights per GPU kept in CPU memory (frees that much GPU "
                                    "memory for the KV pool).")]
SwapSpaceOpt = Annotated[Optional[float], typer.Option(
    "--swap-space", min=0, help="vLLM: CPU swap space in GiB per GPU (removed in 0.18.0: refused with a later --engine). CPU memory: it does not "
                                "change the GPU KV pool.")]
FromVllmOpt = Annotated[Optional[str], typer.Option(
    "--from-vllm", help='A whole vLLM launch command, read as vLLM reads it: "vllm serve MODEL --max-model-len 32k '
                        '-tp 2", "python -m vllm.entrypoints.openai.api_server --model MODEL ...", or '
                        '"LLM(model=..., ...)".')]
FromSglangOpt = Annotated[Optional[str], typer.Option(
    "--from-sglang", help='A whole SGLang launch command: "python -m sglang.launch_server --model-path MODEL ...".')]
MemFractionStaticOpt = Annotated[Optional[float], typer.Option(
    "--mem-fraction-static", help="SGLang (--engine sglang): memory fraction for weights + KV pool.")]
ContextLengthOpt = Annotated[Optional[str], typer.Option(
    "--context-length", help="SGLang (--engine sglang): max tokens per request (vLLM: --max-model-len).")]
MaxRunningRequestsOpt = Annotated[Optional[int], typer.Option(
    "--max-running-requests", help="SGLang (--engine sglang): max running requests (vLLM: --max-num-seqs).")]
ChunkedPrefillSizeOpt = Annotated[Optional[str], typer.Option(
    "--chunked-prefill-size", help="SGLang (--engine sglang): tokens per prefill chunk (vLLM: "
                                   "--max-num-batched-tokens).")]

#: SGLang option -> the deployment option of the same meaning.
_SGLANG_NAMES = {"mem_fraction_static": ("gpu_memory_utilization", "--gpu-memory-utilization"),
                 "context_length": ("max_model_len", "--max-model-len"),
                 "max_running_requests": ("max_num_seqs", "--max-num-seqs"),
                 "chunked_prefill_size": ("max_num_batched_tokens", "--max-num-batched-tokens")}


def deploy_from(params: dict) -> dict:
    """deploy_options() of the deployment options among a command's parameters (pass the
    command's ``locals()``): every command that takes them names them the same way, so none
    repeats the list."""
    import inspect

    names = inspect.signature(deploy_options).parameters
    return deploy_options(**{name: params[name] for name in names if name in params})


def deploy_options(*, gpu_mem=None, engine="vllm", dtype=None, weights=None, gpu_memory_utilization=None,
                   max_model_len=None, max_num_batched_tokens=None, max_num_seqs=None, quantization=None,
                   kv_cache_memory=None, num_gpu_blocks_override=None, disable_hybrid_kv_cache_manager=None,
                   enable_expert_parallel=False, allow_long_max_model_len=False, cpu_offload_gb=None, swap_space=None, mem_fraction_static=None,
                   context_length=None, max_running_requests=None, chunked_prefill_size=None,
                   enable_prefix_caching=None, enforce_eager=False) -> dict:
    """The deployment options as kvplan.capacity.make_request keywords (strings parsed there).

    SGLang's names are refused unless the engine is SGLang, and may not be given with their
    vLLM twins. Options left at their defaults are left out, so a command can tell whether
    any engine option was given (``engine_options_given``)."""
    from kvplan.errors import BadInputError

    out = {
        "gpu_mem_bytes": gpu_mem, "engine": engine, "dtype": dtype, "weights": weights,
        "gpu_memory_utilization": gpu_memory_utilization, "max_model_len": max_model_len,
        "max_num_batched_tokens": max_num_batched_tokens, "max_num_seqs": max_num_seqs,
    }
    sglang = {"mem_fraction_static": mem_fraction_static, "context_length": context_length,
              "max_running_requests": max_running_requests, "chunked_prefill_size": chunked_prefill_size}
    for name, value in sglang.items():
        if value is None:
            continue
        key, twin = _SGLANG_NAMES[name]
        flag = "--" + name.replace("_", "-")
        if not str(engine).strip().lower().startswith("sglang"):
            raise BadInputError(f"{flag} is SGLang's option (use --engine sglang); with --engine {engine} use {twin}")
        if out[key] is not None:
            raise BadInputError(f"give {flag} or {twin}, not both")
        out[key] = value
    extra = {"quantization": quantization, "kv_cache_memory_bytes": kv_cache_memory,
             "num_gpu_blocks_override": num_gpu_blocks_override,
             "disable_hybrid_kv_cache_manager": disable_hybrid_kv_cache_manager,
             "enable_expert_parallel": enable_expert_parallel or None, "cpu_offload_gb": cpu_offload_gb,
             "allow_long_max_model_len": allow_long_max_model_len or None,
             "swap_space": swap_space, "enable_prefix_caching": enable_prefix_caching}
    out.update({k: v for k, v in extra.items() if v is not None})
    if enforce_eager:
        from kvplan.engines import get_engine

        if not str(engine).strip().lower().startswith("vllm"):
            raise BadInputError(f"--enforce-eager is vLLM's option; --engine {engine} does not take it")
        out["engine"] = get_engine(engine, enforce_eager=True)
    for key in ("max_model_len", "max_num_batched_tokens"):
        _suffix_note("--" + key.replace("_", "-"), out[key])
    if swap_space is not None:
        note(f"--swap-space {swap_space:g}: CPU memory per GPU for swapped-out blocks; it does not change the GPU "
             f"KV pool")
    return out


def _suffix_note(flag: str, value) -> None:
    from kvplan.units import suffix_note

    text = suffix_note(flag, value)
    if text:
        note(text)


def engine_options_given(deploy: dict) -> bool:
    """Whether any engine option beyond the default engine was given."""
    return any(v not in (None, "vllm") for k, v in deploy.items())


def launch_command(from_vllm: str | None, from_sglang: str | None, model: str | None, deploy: dict):
    """Merge a --from-vllm / --from-sglang launch command into ``deploy``: returns (model,
    make_request keywords). The command's values and the explicit options may not overlap.
    Prints how the command's numbers were read (notes on stderr)."""
    from kvplan.errors import BadInputError
    from kvplan.vllm_args import parse_sglang, parse_vllm, vllm_release

    if from_vllm is None and from_sglang is None:
        if model is None:
            raise BadInputError("give a MODEL (or --from-vllm \"vllm serve MODEL ...\")")
        return model, deploy
    if from_vllm is not None and from_sglang is not None:
        raise BadInputError("give --from-vllm or --from-sglang, not both")
    engine = deploy.get("engine", "vllm")
    cmd = parse_vllm(from_vllm, vllm_release(engine)) if from_vllm is not None else parse_sglang(from_sglang)
    family = cmd.engine
    if not str(engine).strip().lower().startswith(family):
        if engine != "vllm":
            raise BadInputError(f"--from-{family} is a {family} command, but --engine is {engine}")
        engine = family
    out = dict(deploy, engine=engine)
    for key, value in cmd.options.items():
        # a switch given False (--no-enable-prefix-caching, --no-disable-hybrid-kv-cache-manager) is given
        # too; switches that are only ever on are None when left out (deploy_options)
        if out.get(key) is not None:
            raise BadInputError(f"{key.replace('_', '-')} is given both in --from-{family} and as an option")
        out[key] = value
    if cmd.engine_options:  # LLM(...), --enforce-eager, VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS
        from kvplan.engines import get_engine

        out["engine"] = get_engine(engine, **cmd.engine_options)
    for line in cmd.notes:
        note(line)
    if model is None:
        model = cmd.model
        if model is None:
            raise BadInputError(f"the {family} command names no model (vllm serve MODEL, --model, --model-path)")
    elif cmd.model is not None:
        note(f"planning {model} for the command's model {cmd.model}")
    return model, out


# -- what the cache keeps and who drafts: eviction caps and speculative decoding ------------
# (size, capacity; make_request keywords through cache_options()). vLLM's own spelling for
# the draft is --speculative-config; --draft / --num-speculative-tokens / --mtp are short forms.
WindowOpt = Annotated[
    Optional[str],
    typer.Option("--window", help="StreamingLLM: keep the last W tokens of every full-attention layer (4096, 4k)."),
]
SinksOpt = Annotated[
    Optional[int],
    typer.Option("--sinks", min=0, help="StreamingLLM: also keep the first S tokens (attention sinks; needs --window)."),
]
SpeculativeConfigOpt = Annotated[
    Optional[str],
    typer.Option("--speculative-config", help='vLLM\'s JSON: \'{"model": "llama3.2-1b", "num_speculative_tokens": 4}\' '
                                              '(methods draft_model, eagle, mtp, ngram).'),
]
DraftOpt = Annotated[
    Optional[str], typer.Option("--draft", help="Draft model for speculative decoding (a name, spec or config.json).")
]
NumSpeculativeTokensOpt = Annotated[
    Optional[int], typer.Option("--num-speculative-tokens", min=1, help="Draft tokens proposed per step (k).")
]
MtpOpt = Annotated[
    bool, typer.Option("--mtp", help="Speculative decoding with the model's own MTP layers (DeepSeek-V3).")
]


def cache_options(*, window=None, sinks=None, speculative_config=None, draft=None, num_speculative_tokens=None,
                  mtp=False) -> dict:
    """--window/--sinks and the speculative-decoding options as make_request keywords."""
    return {"window": window, "sinks": sinks, "speculative_config": speculative_config, "draft": draft,
            "num_speculative_tokens": num_speculative_tokens, "mtp": mtp}
