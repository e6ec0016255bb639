"""Read a whole vLLM (or SGLang) launch command as the engine reads it.

    kvplan capacity --from-vllm "vllm serve meta-llama/Llama-3.1-8B --max-model-len 32k -tp 2"

``parse_vllm(text)`` accepts ``vllm serve MODEL ...``, ``python -m
vllm.entrypoints.openai.api_server --model MODEL ...`` and the ``LLM(model=..., ...)``
keyword style; ``parse_sglang(text)`` accepts ``python -m sglang.launch_server
--model-path MODEL ...``. Each returns a ``LaunchCommand``: the model, the options as
``kvplan.capacity.make_request`` keywords, and notes to print (how a suffixed number was
read, flags that do not change GPU memory).

Numbers are read as vLLM reads them (``vllm/engine/arg_utils.py`` at 0.19.0, moved to
``vllm/utils/argparse_utils.py`` by 0.33.0: ``human_readable_int``): ``--max-model-len``,
``--max-num-batched-tokens`` and ``--kv-cache-memory-bytes`` take a lower-case decimal
suffix (``32k`` = 32,000, ``1.5m`` = 1,500,000, via ``int(float(number) * 10**3k)`` as vLLM
computes it) or an upper-case binary one without decimals (``32K`` = 32,768, ``16G`` =
17,179,869,184); ``--max-model-len`` also takes ``-1`` / ``auto`` (auto-fit, 0.14.0+). Every
other integer flag is a plain ``int``. ``--flag=value`` and ``--flag_name`` (underscores;
vLLM's FlexibleArgumentParser) work as in vLLM.

A flag kvplan does not know is refused with one line naming it, unless it is listed in
``NEUTRAL`` (flags known not to change GPU memory, each with the reason); flags that do
change memory in ways kvplan does not model are refused with that reason (``REFUSED``).
"""

from __future__ import annotations

import math

import re
import shlex
from dataclasses import dataclass

from kvplan.errors import BadInputError

# -- numbers as vLLM reads them --------------------------------------------------------------
_HUMAN = re.compile(r"(\d+(?:\.\d+)?)([kKmMgGtT])")
#: What vLLM's human_readable_int accepts: a plain integer or a number with one suffix.
VLLM_INT = re.compile(r"-?\d+|\d+(?:\.\d+)?[kKmMgGtT]")
_DECIMAL = {"k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12}
_BINARY = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def human_readable_int(text: str, flag: str) -> tuple[int, str | None]:
    """vLLM's ``human_readable_int``: ``'32k'`` -> 32000, ``'32K'`` -> 32768, ``'25.6k'`` ->
    25600, plain integers as ``int``. Returns the value and, when a suffix was used, a note
    saying how vLLM read it."""
    value = str(text).strip()
    m = _HUMAN.fullmatch(value)
    if not m:
        try:
            return int(value), None
        except ValueError:
            raise BadInputError(f"{flag}: vLLM cannot read {text!r} as an integer (e.g. 32768, 32k, 32K)") from None
    number, suffix = m.groups()
    if suffix in _DECIMAL:
        # vLLM computes int(float(number) * multiplier): reproduce it, float rounding included.
        scaled = float(number) * _DECIMAL[suffix]
        if not math.isfinite(scaled):  # a 400-digit number: vLLM would fail too; one line here
            raise BadInputError(f"{flag} {value[:40]}...: too large a number")
        out = int(scaled)
        note = (f"{flag} {value}: vLLM reads a lower-case '{suffix}' as x{_DECIMAL[suffix]:,} (decimal): "
                f"{out:,}" + (f"; '{number}{suffix.upper()}' would be {int(number) * _BINARY[suffix.upper()]:,}"
                               if number.isdigit() else ""))
        return out, note
    if not number.isdigit():
        raise BadInputError(f"{flag} {value}: vLLM allows no decimals with a binary suffix like {suffix} "
                            f"(did you mean {number}{suffix.lower()}?)")
    out = int(number) * _BINARY[suffix]
    return out, (f"{flag} {value}: vLLM reads an upper-case '{suffix}' as x{_BINARY[suffix]:,} (binary): {out:,}; "
                 f"'{number}{suffix.lower()}' would be {int(number) * _DECIMAL[suffix.lower()]:,}")


def human_readable_int_or_auto(text: str, flag: str) -> tuple[int | str, str | None]:
    """``--max-model-len``: ``-1`` or ``auto`` (vLLM's auto-fit) or a human-readable int."""
    if str(text).strip() == "-1" or str(text).strip().lower() == "auto":
        return "auto", None
    return human_readable_int(text, flag)


# -- --quantization ----------------------------------------------------------------------------
#: vLLM --quantization methods that quantize bf16/fp16 weights while loading (no
#: quantization_config in the checkpoint), and the kvplan weight format they give.
ONLINE_QUANTIZATION = {"fp8": "fp8", "fbgemm_fp8": "fp8", "ptpc_fp8": "fp8"}
#: Methods that read the checkpoint's quantization_config (the flag only picks kernels):
#: kvplan then takes the format from the model's config.json (spec.weights_format).
CHECKPOINT_QUANTIZATION = ("awq", "awq_marlin", "gptq", "gptq_marlin", "gptq_marlin_24", "marlin", "compressed-tensors",
                           "modelopt", "modelopt_fp4", "mxfp4", "fp_quant", "quark", "auto-round", "inc")


def quantization_weights(method: str, spec) -> str | None:
    """The kvplan weight format vLLM's ``--quantization METHOD`` gives ``spec``: an online
    method's format, or None to keep the checkpoint's (``spec.weights_format``)."""
    name = str(method).strip().lower()
    if name in ("none", ""):
        return None
    if name in ONLINE_QUANTIZATION:
        return ONLINE_QUANTIZATION[name]
    if name in CHECKPOINT_QUANTIZATION:
        if not spec.weights_format:
            raise BadInputError(f"--quantization {method} reads the checkpoint's quantization_config, which "
                                f"{spec.name} does not have (give its config.json, or --weights)")
        return None
    raise BadInputError(f"--quantization {method}: not a method kvplan models (it models "
                        f"{', '.join(sorted(ONLINE_QUANTIZATION))} and checkpoint methods "
                        f"{', '.join(CHECKPOINT_QUANTIZATION)}); use --weights")


# -- the flags --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Flag:
    """A memory-relevant engine flag: the make_request keyword it sets and how its value
    is read ("int", "human", "human_or_auto", "float", "str", "bool")."""

    names: tuple[str, ...]
    option: str
    kind: str


VLLM_FLAGS = (
    Flag(("--model",), "model", "str"),
    Flag(("--tensor-parallel-size", "-tp"), "tp", "int"),
    Flag(("--pipeline-parallel-size", "-pp"), "pp", "int"),
    Flag(("--data-parallel-size", "-dp"), "dp", "int"),
    Flag(("--max-model-len",), "max_model_len", "human_or_auto"),
    Flag(("--max-num-batched-tokens",), "max_num_batched_tokens", "human"),
    Flag(("--max-num-seqs",), "max_num_seqs", "int"),
    Flag(("--block-size",), "block_size", "int"),
    Flag(("--gpu-memory-utilization", "--device-memory-utilization"), "gpu_memory_utilization", "float"),
    Flag(("--kv-cache-memory-bytes", "--kv-cache-memory"), "kv_cache_memory_bytes", "human"),
    Flag(("--num-gpu-blocks-override",), "num_gpu_blocks_override", "int"),
    Flag(("--kv-cache-dtype",), "kv_format", "str"),
    Flag(("--dtype",), "dtype", "str"),
    Flag(("--quantization", "-q"), "quantization", "str"),
    Flag(("--enable-expert-parallel", "-ep"), "enable_expert_parallel", "bool"),
    Flag(("--disable-hybrid-kv-cache-manager",), "disable_hybrid_kv_cache_manager", "bool"),
    Flag(("--cpu-offload-gb",), "cpu_offload_gb", "float"),
    Flag(("--swap-space",), "swap_space", "float"),
    Flag(("--speculative-config",), "speculative_config", "str"),
    # block reuse, no change to the pool, except for state-space models (make_request refuses
    # those where the release changes their pages: Engine.check_prefix_caching)
    Flag(("--enable-prefix-caching",), "enable_prefix_caching", "bool"),
    # no CUDA graphs: vLLM 0.20.0+ then subtract no CUDA-graph estimate (an engine option, not a
    # make_request keyword: LaunchCommand.engine_options)
    Flag(("--enforce-eager",), "enforce_eager", "bool"),
)

#: Environment variables a --from-vllm command may set before ``vllm serve`` that kvplan reads
#: (the engine option each sets, and how its value is read); any other VAR=value is ignored
#: with a note. VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS: vllm/envs.py bool(int(value));
#: VLLM_USE_V2_MODEL_RUNNER: bool(int(value)) (0.22.0 maybe_convert_bool; the model runner,
#: kvplan.engines.vllm VLLM.check_model_runner); VLLM_ROCM_MOE_PADDING: bool(int(value)) (envs.py
#: 0.14.0 :1016, 0.19.1 :1017, 0.25.0 :1243, 0.27.0 :1289; ROCm's expert weight padding,
#: kvplan.engines.vllm VLLM.rocm_moe_padding_bytes).
VLLM_ENV = {"VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS": "estimate_cudagraphs",
            "VLLM_USE_V2_MODEL_RUNNER": "use_v2_model_runner",
            "VLLM_ROCM_MOE_PADDING": "rocm_moe_padding"}
#: The engine's own variables that only set logging, networking, telemetry or paths, and so leave
#: memory alone; any other VLLM_* / SGLANG_* variable before the launcher is refused (review h27b
#: M1/H3: VLLM_USE_FLASHINFER_SAMPLER changes the profile run (VLLM_USE_V2_MODEL_RUNNER too: read, VLLM_ENV),
#: SGLANG_ENABLE_POST_CAPTURE_KV_SIZING=1 SGLang's default mem_fraction_static: 0.5.22
#: arg_groups/memory_hook.py lines 291-298), since kvplan cannot tell which of them change memory.
ENV_NEUTRAL = frozenset({
    "VLLM_LOGGING_LEVEL", "VLLM_CONFIGURE_LOGGING", "VLLM_LOGGING_CONFIG_PATH", "VLLM_LOGGING_PREFIX",
    "VLLM_HOST_IP", "VLLM_PORT", "VLLM_API_KEY", "VLLM_NO_USAGE_STATS", "VLLM_DO_NOT_TRACK",
    "VLLM_CACHE_ROOT", "VLLM_CONFIG_ROOT", "VLLM_RPC_TIMEOUT", "VLLM_ENGINE_ITERATION_TIMEOUT_S",
    "VLLM_LOG_STATS_INTERVAL", "SGLANG_LOG_LEVEL", "SGLANG_HOST_IP", "SGLANG_PORT",
})
#: Prefixes of the engines' own variables (checked against ENV_NEUTRAL).
ENGINE_ENV_PREFIXES = ("VLLM_", "SGLANG_", "SGL_", "MOONCAKE_")

SGLANG_FLAGS = (
    Flag(("--model-path", "--model"), "model", "str"),
    Flag(("--tp-size", "--tensor-parallel-size", "--tp"), "tp", "int"),
    Flag(("--pp-size", "--pipeline-parallel-size"), "pp", "int"),
    Flag(("--dp-size", "--data-parallel-size", "--dp"), "dp", "int"),
    Flag(("--context-length",), "max_model_len", "int"),
    Flag(("--chunked-prefill-size",), "max_num_batched_tokens", "int"),
    Flag(("--max-running-requests",), "max_num_seqs", "int"),
    Flag(("--page-size",), "block_size", "int"),
    Flag(("--mem-fraction-static",), "gpu_memory_utilization", "float"),
    Flag(("--kv-cache-dtype",), "kv_format", "str"),
    Flag(("--dtype",), "dtype", "str"),
    Flag(("--quantization",), "quantization", "str"),
    # one token pool for every layer, windows or not (kvplan's --disable-hybrid-kv-cache-manager)
    Flag(("--disable-hybrid-swa-memory",), "disable_hybrid_kv_cache_manager", "bool"),
    # DP attention: --tp N is every GPU, each of the --dp D ranks its own attention over N / D
    Flag(("--enable-dp-attention",), "dp_attention", "bool"),
    # its spelling from SGLang 0.5.22 (arg_groups/fields/parallel.py attn_dp_size; 0.5.23 lines 81-90):
    # --tp N --attn-dp-size D is --tp N --dp D --enable-dp-attention (parallel_hook.py
    # handle_deprecated_dp_attention rewrites the old spelling into it, lines 39-61)
    Flag(("--attn-dp-size", "--attention-data-parallel-size"), "attn_dp_size", "int"),
)

#: vLLM flags known not to change GPU memory, with the reason (their values are ignored).
NEUTRAL = {
    "--host": "network address", "--port": "network port", "--uds": "network socket",
    "--api-key": "authentication", "--served-model-name": "the name clients use",
    "--trust-remote-code": "permission to run the model's code", "--seed": "random seed",
    "--tokenizer": "tokenizer location", "--tokenizer-mode": "tokenizer choice",
    "--tokenizer-revision": "tokenizer version", "--revision": "checkpoint version",
    "--code-revision": "code version", "--download-dir": "where weights are downloaded",
    "--hf-token": "authentication", "--disable-log-stats": "logging", "--disable-log-requests": "logging",
    "--enable-log-requests": "logging", "--uvicorn-log-level": "logging", "--max-log-len": "logging",
    "--chat-template": "prompt formatting", "--chat-template-content-format": "prompt formatting",
    "--response-role": "API output", "--enable-auto-tool-choice": "API parsing", "--tool-call-parser": "API parsing",
    "--reasoning-parser": "API parsing (kept: Model Runner V2 sizes GPU state by it from vLLM 0.28.0)",
    "--root-path": "HTTP routing", "--allowed-origins": "HTTP",
    "--allow-credentials": "HTTP", "--allowed-methods": "HTTP", "--allowed-headers": "HTTP",
    "--ssl-keyfile": "TLS", "--ssl-certfile": "TLS", "--ssl-ca-certs": "TLS", "--ssl-cert-reqs": "TLS",
    "--disable-fastapi-docs": "HTTP docs", "--enable-prompt-tokens-details": "API output",
    "--enable-force-include-usage": "API output", "--return-tokens-as-token-ids": "API output",
    "--disable-frontend-multiprocessing": "process layout of the API server (CPU)",
    "--api-server-count": "API server processes (CPU)", "--distributed-executor-backend": "worker launcher",
    "--generation-config": "default sampling parameters", "--override-generation-config": "sampling defaults",
    "--prefix-caching-hash-algo": "block hashing", "--scheduling-policy": "request order",
    "--max-num-partial-prefills": "scheduling", "--max-long-partial-prefills": "scheduling",
    "--long-prefill-token-threshold": "scheduling", "--async-scheduling": "scheduling",
    "--no-async-scheduling": "scheduling", "--max-seq-len-to-capture": "CUDA graphs (their memory estimate is "
    "subtracted from 0.20.0, which kvplan plans only with --enforce-eager or VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS=0)",
    "--disable-custom-all-reduce-check": "a check", "--use-tqdm-on-load": "progress bar",
    "--load-format": "how weights are read (auto, safetensors, pt); bitsandbytes is refused",
    "--safetensors-load-strategy": "how weights are read", "--max-parallel-loading-workers": "loading workers",
    "--otlp-traces-endpoint": "tracing", "--collect-detailed-traces": "tracing",
    "--show-hidden-metrics-for-version": "metrics", "--kv-cache-metrics": "metrics",
    "--disable-uvicorn-access-log": "logging", "--middleware": "HTTP middleware",
    "--shutdown-timeout": "shutdown", "--headless": "process layout", "--data-parallel-address": "networking",
    "--data-parallel-rpc-port": "networking", "--master-addr": "networking", "--master-port": "networking",
}

#: vLLM flags that change GPU memory in ways kvplan does not model: refused, with why.
REFUSED = {
    "--enable-lora": "LoRA adapter weights and buffers are not modelled",
    "--kv-transfer-config": "a KV connector turns the hybrid manager off and adds buffers (not modelled)",
    "--kv-events-config": "KV events turn the hybrid manager off (not modelled)",
    "--disable-custom-all-reduce": "changes the non-torch all-reduce buffers (not modelled)",
    "--limit-mm-per-prompt": "changes the profile run's multimodal inputs (not modelled)",
    "--compilation-config": "may change the profile run and CUDA-graph memory (not modelled)",
    "-O": "the optimization level may change the profile run (not modelled)",
    "--optimization-level": "may change the profile run (not modelled)",
    "--enable-chunked-prefill": "changes max_num_batched_tokens' default (give --max-num-batched-tokens)",
    "--no-enable-chunked-prefill": "without chunked prefill max_num_batched_tokens defaults to max_model_len "
                                   "(give --max-num-batched-tokens)",
    "--disable-sliding-window": "changes the layers' cache kinds and caps max_model_len (not modelled)",
    "--hf-overrides": "changes the model config (edit the config and pass it instead)",
    "--rope-scaling": "changes the model config", "--config": "a YAML config file kvplan does not read",
    "--mamba-ssm-cache-dtype": "state dtype not modelled", "--mamba-cache-dtype": "state dtype not modelled",
    "--mamba-cache-mode": "state caching per block not modelled", "--kv-offloading-size": "KV offload not modelled",
    "--enable-sleep-mode": "changes the allocator (not modelled)", "--model-impl": "another model implementation",
    "--calculate-kv-scales": "extra profile work (not modelled)", "--kv-sharing-fast-prefill": "not modelled",
    "--decode-context-parallel-size": "context parallelism is not modelled",
    "--prefill-context-parallel-size": "context parallelism is not modelled",
    "--enable-eplb": "redundant experts are not modelled", "--skip-mm-profiling": "changes the profile run",
    # vllm 0.23.0: float64 exponential noise (topk_topp_sampler.py empty_exponential_noise_like), and
    # TopKTopPSampler.forward_cuda skips FlashInfer for the native path: another sampler peak
    "--use-fp64-gumbel": "float64 sampling noise changes the profile run's sampler peak (not modelled)",
}

#: NEUTRAL flags that take no value.
SWITCHES = frozenset({
    "--trust-remote-code", "--disable-log-stats", "--disable-log-requests", "--enable-log-requests",
    "--enable-auto-tool-choice", "--disable-fastapi-docs", "--enable-prompt-tokens-details",
    "--enable-force-include-usage", "--return-tokens-as-token-ids", "--disable-frontend-multiprocessing",
    "--async-scheduling", "--no-async-scheduling",
    "--use-tqdm-on-load", "--kv-cache-metrics", "--disable-uvicorn-access-log", "--headless", "--allow-credentials",
})

#: NEUTRAL flags vLLM 0.26.0+ reads for the tokens a window layer reserves (engine options of VLLM).
_WINDOW_FLAGS = {"--async-scheduling": "async_scheduling", "--no-async-scheduling": "async_scheduling",
                 "--distributed-executor-backend": "executor_backend"}
#: The same two as LLM(...) keywords.
_WINDOW_KWARGS = {"async_scheduling": "async_scheduling", "distributed_executor_backend": "executor_backend"}


#: --reasoning-parser (LLM(reasoning_parser=...)): an engine option (VLLM.reasoning_parser). From vLLM 0.28.0 Model
#: Runner V2's sampler keeps ThinkingBudgetState on the GPU when the parser gives reasoning markers
#: (vllm/v1/worker/gpu/sample/thinking_budget.py :21-79; engine/arg_utils.py _set_default_reasoning_config_args makes
#: the ReasoningConfig only with the flag), which VLLM.v2_persistent_bytes refuses. V2 before 0.28.0 has no such
#: state; V1's ThinkingBudgetStateHolder (vllm/v1/sample/thinking_budget_state.py, 0.33.0 :34-72) keeps Python
#: dicts and lists only.
_REASONING_NOTE = ("--reasoning-parser: kept for vLLM 0.28.0+ Model Runner V2, whose GPU thinking-budget state "
                   "kvplan refuses; no GPU memory on V1 or an earlier V2")


def _window_note(name: str) -> str:
    # vLLM 0.26.0+: async scheduling decides how many steps' tokens a sliding-window or chunked-local
    # layer reserves (VllmConfig.max_in_flight_tokens; VLLM.window_tokens)
    return (f"{name}: kept for vLLM 0.26.0+, where it decides how many steps' tokens a sliding-window or "
            f"chunked-local layer reserves; no other memory change")

_BOOL_NEGATIONS = {"--no-enable-expert-parallel": "--enable-expert-parallel",
                   "--no-disable-hybrid-kv-cache-manager": "--disable-hybrid-kv-cache-manager",
                   "--no-enable-prefix-caching": "--enable-prefix-caching"}


def _inverse(flag: str) -> str:
    for prefix, other in (("--enable-", "--disable-"), ("--disable-", "--enable-")):
        if flag.startswith(prefix):
            return other + flag.removeprefix(prefix)
    raise ValueError(flag)


#: The other spelling vLLM 0.33.0+ gives the --enable-x / --disable-x flags kvplan reads (rule
#: enable_disable_inverse: argparse_utils.py EnableDisableAction pairs every BooleanOptionalAction flag
#: --enable-x with --disable-x and the reverse), each read as the flag's --no- spelling: the inverse spelling
#: -> the flag it negates. Each flag below is a BooleanOptionalAction in 0.33.0: --enable-expert-parallel
#: (engine/arg_utils.py :1305), --enable-prefix-caching (:1402), --enable-chunked-prefill (:1785),
#: --disable-hybrid-kv-cache-manager (:1807), all bool | None EngineArgs fields (get_kwargs :384-386); the
#: NEUTRAL switches are bool fields of entrypoints/common/cli_args.py's frontend dataclass (enable_auto_tool_choice
#: :123, enable_prompt_tokens_details :156, enable_force_include_usage :162, disable_uvicorn_access_log :319,
#: disable_fastapi_docs :369). Not paired (so not here): --enforce-eager and --async-scheduling (no enable/disable
#: prefix; only --no-x), --disable-log-stats (store_true, :1920); --enable-log-requests' inverse
#: --disable-log-requests is NEUTRAL on every release already.
INVERSE_SPELLINGS = {_inverse(flag): flag for flag in (
    "--enable-expert-parallel", "--disable-hybrid-kv-cache-manager", "--enable-prefix-caching",
    "--enable-chunked-prefill", "--enable-auto-tool-choice", "--enable-prompt-tokens-details",
    "--enable-force-include-usage", "--disable-uvicorn-access-log", "--disable-fastapi-docs")}


def _inverse_spelling(name: str, release) -> str:
    """The --no- spelling vLLM reads ``name`` (an INVERSE_SPELLINGS key) as at ``release`` (None: kvplan's
    default vLLM release); BadInputError naming the first release that takes it where ``release`` does not."""
    from kvplan.engines.vllm import BOOK
    from kvplan.engines.vllm_rules import DEFAULT_RELEASE

    flag = INVERSE_SPELLINGS[name]
    negated = "--no-" + flag.removeprefix("--")
    rel = BOOK.resolve(str(release) if release is not None else DEFAULT_RELEASE)
    if not BOOK.value("enable_disable_inverse", rel):
        first = next(r for r in BOOK.releases if BOOK.value("enable_disable_inverse", r))
        raise BadInputError(f"{name}: vLLM {rel} does not take this spelling (vLLM {first}+ reads it as {negated}: "
                            f"vllm/utils/argparse_utils.py EnableDisableAction); write {negated}")
    return negated


@dataclass(frozen=True)
class LaunchCommand:
    """A parsed engine launch command."""

    engine: str  # "vllm" or "sglang"
    model: str | None
    options: dict  # make_request keywords (max_model_len may be "auto")
    notes: tuple[str, ...] = ()
    usage_context: str = "serve"  # "llm" for the LLM(...) keyword style
    #: options for the engine class (kvplan.engines.get_engine): enforce_eager, estimate_cudagraphs,
    #: use_v2_model_runner, rocm_moe_padding
    engine_settings: tuple[tuple[str, object], ...] = ()

    @property
    def engine_options(self) -> dict:
        """What the command sets on the engine itself (get_engine keywords): the usage context
        when not ``vllm serve``'s, --enforce-eager, VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS,
        VLLM_USE_V2_MODEL_RUNNER."""
        out = dict(self.engine_settings)
        if self.usage_context != "serve":
            out["usage_context"] = self.usage_context
        return out


def _tokens(text: str) -> list[str]:
    # A command pasted over several lines: the shell joins "\\" + newline (a line
    # continuation) before splitting words, and so does kvplan (a Windows line end too).
    text = text.replace("\\\r\n", "").replace("\\\n", "")
    try:
        return shlex.split(text)
    except ValueError as err:
        raise BadInputError(f"cannot split the command line: {err}") from None


def _strip_launcher(words: list[str], engine: str) -> tuple[list[str], str | None]:
    """Drop ``vllm serve`` / ``python -m ...`` / env assignments; return the arguments and a
    positional model if the launcher takes one."""
    i = 0
    while i < len(words) and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", words[i]):
        i += 1  # VAR=value prefixes
    rest = words[i:]
    if engine == "vllm":
        if len(rest) >= 2 and rest[0].endswith("vllm") and rest[1] == "serve":
            rest = rest[2:]
            if rest and not rest[0].startswith("-"):
                return rest[1:], rest[0]
            return rest, None
        if len(rest) >= 3 and re.fullmatch(r"python[0-9.]*", rest[0].split("/")[-1]) and rest[1] == "-m" and \
                rest[2] in ("vllm.entrypoints.openai.api_server", "vllm.entrypoints.api_server"):
            return rest[3:], None
        raise BadInputError("--from-vllm takes `vllm serve MODEL ...`, `python -m vllm.entrypoints.openai.api_server "
                            "--model MODEL ...` or `LLM(model=..., ...)`")
    if len(rest) >= 3 and re.fullmatch(r"python[0-9.]*", rest[0].split("/")[-1]) and rest[1] == "-m" and \
            rest[2] in ("sglang.launch_server",):
        return rest[3:], None
    if len(rest) >= 2 and rest[0].endswith("sglang") and rest[1] == "serve":
        return rest[2:], None
    raise BadInputError("--from-sglang takes `python -m sglang.launch_server --model-path MODEL ...`")


def _normalise(flag: str) -> str:
    # vLLM's FlexibleArgumentParser accepts --max_model_len for --max-model-len.
    return "--" + flag[2:].replace("_", "-") if flag.startswith("--") else flag


def _read(flag: Flag, name: str, raw: str, notes: list[str]):
    if flag.kind == "int":
        try:
            return int(raw)
        except ValueError:
            raise BadInputError(f"{name}: expected an integer, got {raw!r}") from None
    if flag.kind == "float":
        try:
            return float(raw)
        except ValueError:
            raise BadInputError(f"{name}: expected a number, got {raw!r}") from None
    if flag.kind in ("human", "human_or_auto"):
        read = human_readable_int_or_auto if flag.kind == "human_or_auto" else human_readable_int
        value, note = read(raw, name)
        if note:
            notes.append(note)
        return value
    return raw


def _parse_args(args: list[str], flags: tuple[Flag, ...], engine: str, notes: list[str], release=None) -> dict:
    by_name = {n: f for f in flags for n in f.names}
    out: dict = {}
    i = 0
    while i < len(args):
        word = args[i]
        if not word.startswith("-"):
            raise BadInputError(f"{engine}: unexpected argument {word!r}")
        name, eq, inline = word.partition("=")
        name = _normalise(name)
        if name.startswith("-O") and engine == "vllm" and name != "-O":
            name, inline, eq = "-O", name[2:], "="
        spelled = name
        if engine == "vllm" and name in INVERSE_SPELLINGS:
            name = _inverse_spelling(name, release)
            if eq:  # vLLM: "ignored explicit argument"
                raise BadInputError(f"{spelled} takes no value")
            positive = INVERSE_SPELLINGS[spelled]
            if positive in NEUTRAL:
                notes.append(f"{spelled}: ignored, it does not change GPU memory ({NEUTRAL[positive]})")
                i += 1
                continue
            if name in REFUSED:
                raise BadInputError(f"{spelled} (vLLM's {name}): {REFUSED[name]}")
        if name in _BOOL_NEGATIONS:
            out[by_name[_BOOL_NEGATIONS[name]].option] = False
            i += 1
            continue
        flag = by_name.get(name)
        if flag is not None and flag.kind == "bool":
            if eq:
                raise BadInputError(f"{name} takes no value")
            out[flag.option] = True
            i += 1
            continue
        if flag is None:
            if engine == "vllm" and name in REFUSED:
                raise BadInputError(f"{name}: {REFUSED[name]}")
            if engine == "vllm" and name in NEUTRAL:
                value = inline if eq else None
                if name not in SWITCHES and not eq and i + 1 < len(args) and not args[i + 1].startswith("--"):
                    value = args[i + 1]
                    i += 1
                i += 1
                if name == "--load-format" and value and value.lower() == "bitsandbytes":
                    raise BadInputError("--load-format bitsandbytes: bitsandbytes weights are not modelled")
                if name == "--load-format" and value and value.lower() == "ipc_cache":
                    # vllm/config/load.py :41 (0.30.0+): post-quantized weights mapped from a local weight cache;
                    # 0.32.0 takes zero-copy ones off the requested memory (v1/worker/utils.py request_memory
                    # :716-772, model_loader/weight_cache/ipc_loader.py get_external_weight_memory :121-)
                    raise BadInputError("--load-format ipc_cache: weights mapped from another process's weight cache "
                                        "(vLLM 0.32.0 takes them off the requested memory: vllm/v1/worker/utils.py "
                                        "request_memory) are not modelled")
                if name == "--reasoning-parser":
                    if not value:
                        raise BadInputError("--reasoning-parser needs a value")
                    out["reasoning_parser"] = value
                    notes.append(_REASONING_NOTE)
                    continue
                if name in _WINDOW_FLAGS:
                    out[_WINDOW_FLAGS[name]] = (name == "--async-scheduling") if name in SWITCHES else value
                    notes.append(_window_note(name))
                    continue
                notes.append(f"{name}: ignored, it does not change GPU memory ({NEUTRAL[name]})")
                continue
            raise BadInputError(f"{name}: a {engine} flag kvplan does not know; it may change memory, so kvplan "
                                f"will not guess (remove it, or plan with kvplan's own options)")
        if eq:
            value = inline
        elif i + 1 < len(args) and not (args[i + 1].startswith("--") or re.fullmatch(r"-[a-zA-Z]\S*", args[i + 1])):
            value = args[i + 1]
            i += 1
        else:
            raise BadInputError(f"{name} needs a value")
        i += 1
        out[flag.option] = _read(flag, name, value, notes)
        if name == "--device-memory-utilization":  # vLLM 0.31.0+ only (VLLM.for_release refuses it earlier)
            out["device_memory_flag"] = True
    return out


def _finish(engine: str, model: str | None, options: dict, notes: list[str], usage: str = "serve",
            env: dict | None = None) -> LaunchCommand:
    model = options.pop("model", None) or model
    settings = dict(env or {})
    for key in set(_WINDOW_FLAGS.values()) | {"reasoning_parser"}:
        if key in options:
            settings[key] = options.pop(key)
    if options.pop("enforce_eager", False):
        settings["enforce_eager"] = True
    if options.pop("device_memory_flag", False):
        settings["device_memory_flag"] = True
    if options.get("kv_format") == "auto":
        options["kv_format"] = None
    dtype = options.get("dtype")
    if dtype is not None:
        options["dtype"] = {"auto": None, "half": "fp16", "float16": "fp16", "bfloat16": "bf16", "float": "fp32",
                            "float32": "fp32"}.get(str(dtype).lower(), dtype)
    if options.get("swap_space") is not None:
        notes.append(f"--swap-space {options['swap_space']:g}: CPU memory for swapped-out blocks; it does not "
                     f"change the GPU KV pool (vLLM 0.18.0 removed the flag; later releases reject it)")
    if options.get("enable_prefix_caching"):
        notes.append("--enable-prefix-caching: block reuse between requests; it leaves the pool's size unchanged "
                     "except for state-space models, which kvplan checks by release")
    if options.get("quantization") in ("none", None):
        options.pop("quantization", None)
    return LaunchCommand(engine, model, options, tuple(notes), usage, tuple(sorted(settings.items())))


def _launch_env(words: list[str], notes: list[str], engine: str) -> dict:
    """The VAR=value words before the launcher: VLLM_ENV's as engine options (vLLM); the engines'
    own other variables refused unless they only set logging or networking (ENV_NEUTRAL); the
    rest (CUDA_VISIBLE_DEVICES, HF_TOKEN, ...) noted as ignored."""
    out = {}
    for word in words:
        m = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*)=(.*)", word)
        if not m:
            break
        name, value = m.groups()
        if engine == "vllm" and name in VLLM_ENV:
            try:
                out[VLLM_ENV[name]] = bool(int(value))
            except ValueError:
                raise BadInputError(f"{name}={value}: vLLM reads it as an integer (0 or 1)") from None
        elif name.startswith(ENGINE_ENV_PREFIXES) and name not in ENV_NEUTRAL:
            raise BadInputError(f"{name}={value}: an engine environment variable kvplan does not model (it may "
                                f"change the memory the engine plans); plan without it")
        else:
            notes.append(f"{name}: an environment variable kvplan does not read (ignored)")
    return out


def vllm_release(engine):
    """The vLLM release a --from-vllm command runs on when planned for ``engine`` (a name such as
    ``vllm==0.33.0`` or an Engine), for parse_vllm; None when ``engine`` is not vLLM."""
    from kvplan.engines import get_engine

    if not str(engine).strip().lower().startswith("vllm"):
        return None
    return get_engine(engine).release


def parse_vllm(text: str, release=None) -> LaunchCommand:
    """A vLLM launch command (``vllm serve``, ``python -m vllm.entrypoints.openai.api_server``
    or ``LLM(...)``) as kvplan options. BadInputError (one line) for anything kvplan cannot
    read or that changes memory in a way it does not model. ``release``: the vLLM release the
    command runs on (a string or Release; None: kvplan's default, vllm_rules.DEFAULT_RELEASE), for
    the spellings only some releases take (INVERSE_SPELLINGS)."""
    text = str(text).strip()
    notes: list[str] = []
    call = re.match(r"^(?:[A-Za-z_][A-Za-z0-9_]*\s*=\s*)?((?:vllm\.)?LLM\s*\(.*)$", text, re.S)
    if call:  # LLM(...), or llm = LLM(...) as it is written in a script
        return _parse_llm_call(call.group(1), notes)
    words = _tokens(text)
    env = _launch_env(words, notes, "vllm")
    args, model = _strip_launcher(words, "vllm")
    options = _parse_args(args, VLLM_FLAGS, "vllm", notes, release)
    return _finish("vllm", model, options, notes, env=env)


def parse_sglang(text: str) -> LaunchCommand:
    """An SGLang launch command (``python -m sglang.launch_server --model-path MODEL ...``)."""
    notes: list[str] = []
    words = _tokens(str(text).strip())
    _launch_env(words, notes, "sglang")
    args, model = _strip_launcher(words, "sglang")
    options = _parse_args(args, SGLANG_FLAGS, "sglang", notes)
    _sglang_layout(options)
    return _finish("sglang", model, options, notes)


def _sglang_layout(options: dict) -> None:
    """SGLang's --tp / --dp / --enable-dp-attention (0.5.22+: --attn-dp-size D for --dp D
    --enable-dp-attention) as kvplan's tp, dp and ``dp_attention``
    (kvplan.capacity.make_request). With --enable-dp-attention, --tp N counts every GPU and
    each of the D DP ranks runs attention over N / D of them: kvplan's tp N / D, dp D. SGLang
    asserts N % D == 0 (server_args.py: 0.4.6 line 295, 0.5.4 line 1172) and, up to 0.5.1,
    D > 1 (0.4.6 line 293); 0.5.2+ turn the flag off at --dp 1 but still reserve its memory
    (0.5.2 lines 493 and 634, 0.5.4 _handle_gpu_memory_settings before
    _handle_data_parallelism), which kvplan does not model: refused. Without the flag, --dp D
    runs D copies of --tp N GPUs each: dp_attention False, which make_request refuses for a
    mixture-of-experts model."""
    enabled = options.pop("dp_attention", False)
    attn_dp = options.pop("attn_dp_size", None)
    if attn_dp is not None and attn_dp < 1:
        raise BadInputError(f"--attn-dp-size must be a positive whole number, got {attn_dp}")
    if attn_dp is not None and attn_dp > 1:
        # SGLang 0.5.22+: attention DP groups inside the TP group; --dp-size then counts replicas of
        # the whole layout (0.5.23 parallel.py: "dp_size * attn_dp_size" schedulers)
        if enabled:
            raise BadInputError("--attn-dp-size with --enable-dp-attention: give one spelling (SGLang 0.5.22+ "
                                "rewrites --dp N --enable-dp-attention into --attn-dp-size N)")
        if options.get("dp", 1) > 1:
            raise BadInputError(f"--dp-size {options['dp']} with --attn-dp-size {attn_dp}: replicas of a DP-attention "
                                f"layout are not modelled; plan one replica (--dp-size 1)")
        options["dp"], enabled = attn_dp, True
    tp, dp = options.get("tp", 1), options.get("dp", 1)
    if not enabled:
        if dp > 1:
            options["dp_attention"] = False
        return
    if dp <= 1:
        raise BadInputError("--enable-dp-attention without --dp > 1: SGLang up to 0.5.1 refuses it, later releases "
                            "turn it off but keep its memory reserve, which kvplan does not model; give --dp")
    if tp % dp:
        raise BadInputError(f"--enable-dp-attention: SGLang asserts --tp % --dp == 0 (server_args.py), and "
                            f"{tp} % {dp} = {tp % dp}")
    options["tp"], options["dp_attention"] = tp // dp, True


def _parse_llm_call(text: str, notes: list[str]) -> LaunchCommand:
    """``LLM(model="...", tensor_parallel_size=2, max_model_len=32768)``: keyword arguments
    are EngineArgs fields, values Python literals (the LLM class takes ints, no suffixes)."""
    import ast

    try:
        call = ast.parse(text, mode="eval").body
    except SyntaxError as err:
        raise BadInputError(f"cannot read the LLM(...) call: {err.msg}") from None
    if not isinstance(call, ast.Call) or call.args[1:]:
        raise BadInputError("LLM(...): give the model as the first argument or model=, the rest as keywords")
    by_option = {f.names[0][2:].replace("-", "_"): f for f in VLLM_FLAGS}
    by_option["kv_cache_memory"] = by_option["kv_cache_memory_bytes"]
    neutral = {n[2:].replace("-", "_") for n in NEUTRAL}
    refused = {n[2:].replace("-", "_"): why for n, why in REFUSED.items() if n.startswith("--")}
    out: dict = {}
    model = None
    if call.args:
        model = _literal(call.args[0], "model")
    for kw in call.keywords:
        if kw.arg is None:
            raise BadInputError("LLM(...): **kwargs cannot be read; write the keywords out")
        value = _literal(kw.value, kw.arg)
        flag = by_option.get(kw.arg)
        if flag is None and kw.arg == "cache_dtype":
            flag = by_option["kv_cache_dtype"]
        if flag is not None:
            if flag.kind in ("human", "human_or_auto") and isinstance(value, str):
                value = _read(flag, kw.arg, value, notes)
            if flag.kind == "human_or_auto" and value == -1:
                value = "auto"
            out[flag.option] = value
        elif kw.arg in refused:
            raise BadInputError(f"{kw.arg}: {refused[kw.arg]}")
        elif kw.arg in _WINDOW_KWARGS:
            out[_WINDOW_KWARGS[kw.arg]] = value
            notes.append(_window_note(kw.arg))
        elif kw.arg == "reasoning_parser":
            if value:
                out["reasoning_parser"] = str(value)
                notes.append(_REASONING_NOTE)
        elif kw.arg in neutral:
            notes.append(f"{kw.arg}: ignored, it does not change GPU memory")
        else:
            raise BadInputError(f"{kw.arg}: an LLM(...) keyword kvplan does not know; it may change memory, so "
                                f"kvplan will not guess")
    notes.append("LLM(...) runs with the LLM class's scheduler defaults (usage context LLM_CLASS)")
    return _finish("vllm", model, out, notes, usage="llm")


def _literal(node, what: str):
    import ast

    try:
        return ast.literal_eval(node)
    except ValueError:
        raise BadInputError(f"LLM(...): {what} must be a literal value") from None
