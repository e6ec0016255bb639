"""Engine memory profiles: how each serving engine carves a GPU's memory.

Every profile turns (GPU, weights, settings) into a per-stage memory waterfall:

    total -> engine's share -> weights -> activation peak -> other -> KV pool

and says how the pool is paged (block size). Profiles are data plus one small
function each; the default is vLLM.

vllm (v0.19, calibrated on the vLLM startup logs in tests/fixtures/calibration/; docs/calibration.md)
    requested = total * gpu_memory_utilization                       (default 0.9)
    kv_pool   = requested - (weights + torch_peak + non_torch)        (gpu_worker.py)
    weights   = parameters + the rotary cos/sin cache (max_pos x rotary_dim, model dtype),
                which vLLM's "model weights" figure includes
    torch_peak (profile run: a forward of max_num_batched_tokens, then a dummy sampler
    over min(max_num_seqs, max_num_batched_tokens) rows), the larger of two phases:
        sampler  = 1.2 * T * hidden * d  +  S * vocab * (d + 12.8)
        forward  = T * d * (6.7 * hidden + 3 * mlp_width / tp)
    T = max_num_batched_tokens, S = min(max_num_seqs, T), d = model dtype bytes. The
    sampler term is the [S, vocab] logits in the model dtype plus ~12.8 B per logit of
    fp32 work copies (float logits, softmax, sorted top-k/top-p values); 1.2 copies of
    the [T, hidden] hidden states stay alive. Stages other than the last run no sampler;
    a later pipeline stage also keeps the received hidden + residual (2 * T * hidden * d).
    non_torch (NCCL / custom all-reduce buffers, cuBLAS workspaces): 0.25 GiB on one
    GPU, 0.07 GiB per GPU with pipeline parallelism only, 2.07 GiB at tp 2 and 2.13 GiB
    at tp >= 4 (from the logs). CUDA graph memory is estimated but NOT subtracted before
    v0.21 (VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS became the default in v0.21.0): it
    comes out of the 1 - utilization headroom.
    Defaults (vllm/engine/arg_utils.py, tests/engine/test_arg_utils.py): GPUs with
    >= 70 GiB that are not A100s get max_num_batched_tokens 8192 and max_num_seqs 1024
    for the API server, others 2048 and 256. Block size 16.
vllm-0.10 (v0.10.1.1, calibrated on the A100 logs of the same file): the same activation
    model, non_torch 0 on one GPU and 0.12 GiB at tp > 1 (same node).
sglang: pool = total * mem_fraction_static - (memory in use before loading + weights)
    (model_runner.profile_max_num_token); mem_fraction_static defaults by tp (server_args):
    0.88 (tp 1), 0.87 (tp 2), 0.85 (tp 4), 0.81 (tp 8), 0.79 (tp 16). Tokens, not pages
    (page_size 1). Not calibrated here.
trtllm: pool = free_gpu_memory_fraction (0.9) of the memory free after loading;
    tokens_per_block 32 (tensorrt_llm llmapi KvCacheConfig). Not calibrated here.
raw: every byte but the weights (what `kvplan measure` allocates against).

"Memory in use before loading" (CUDA context, NCCL communicators) is taken from the same
vLLM v0.19 H100 logs: total - free at startup = 79.19 - 78.68 = 0.51 GiB on one GPU,
79.19 - 77.66 = 1.53 GiB with tensor parallelism.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from kvplan.errors import BadInputError, UnknownNameError
from kvplan.gpus import GPU
from kvplan.spec import ModelSpec
from kvplan.units import cdiv
from kvplan.weights import Weights

GIB = 1 << 30


def gib(text: str) -> int:
    """Exact bytes of a decimal GiB figure from a log: ``gib('2.07')``."""
    return int(Fraction(text) * GIB)


# -- calibrated constants (docs/calibration.md) -------------------------------------------
#: Copies of the [T, hidden] hidden states alive during the sampler phase (fit: 1.207).
SAMPLER_HIDDEN_COPIES = Fraction(6, 5)
#: fp32 work bytes per logit in the dummy sampler, beyond the model-dtype logits (fit: 12.80).
SAMPLER_BYTES_PER_LOGIT = Fraction(64, 5)
#: Hidden-size activations alive at the forward peak, per token (fit on pp stages: 6.3-7.1).
FORWARD_HIDDEN_COPIES = Fraction(67, 10)
#: MLP activations per intermediate channel: gate_up output (2) + activation output (1).
FORWARD_MLP_COPIES = 3

VLLM_NON_TORCH = {  # (tp, pp>1) -> bytes; from the v0.19 logs' non_torch_forward_increase
    "single": gib("0.25"),
    "pp_only": gib("0.07"),
    2: gib("2.07"),
    4: gib("2.13"),
}
VLLM010_NON_TORCH = {"single": 0, "pp_only": 0, 2: gib("0.12"), 4: gib("0.12")}
STARTUP_IN_USE = {"single": gib("0.51"), "tp": gib("1.53")}


@dataclass(frozen=True)
class EngineSettings:
    """Resolved engine settings (every default filled in)."""

    engine: str
    memory_fraction: Fraction  # gpu_memory_utilization / mem_fraction_static / free fraction
    memory_fraction_name: str
    block_size: int
    max_num_batched_tokens: int | None
    max_num_seqs: int | None
    tp: int = 1
    pp: int = 1


@dataclass(frozen=True)
class StageBudget:
    """One pipeline stage on one tensor-parallel rank: the memory waterfall (bytes)."""

    stage: int
    layers: range
    total_bytes: int
    engine_share_bytes: int  # what the engine lets itself use
    weights_bytes: int
    activation_bytes: int
    other_bytes: int  # non-torch / context / communication buffers
    kv_pool_bytes: int  # may be negative: does not fit

    def as_dict(self) -> dict:
        return {
            "stage": self.stage,
            "layers": [self.layers.start, self.layers.stop - 1],
            "total_bytes": self.total_bytes,
            "engine_share_bytes": self.engine_share_bytes,
            "weights_bytes": self.weights_bytes,
            "activation_bytes": self.activation_bytes,
            "other_bytes": self.other_bytes,
            "kv_pool_bytes": self.kv_pool_bytes,
        }


def _fraction(value, what: str, default) -> Fraction:
    if value is None:
        value = default
    if isinstance(value, bool):
        raise BadInputError(f"{what} must be a number in (0, 1], got {value!r}")
    try:
        frac = Fraction(str(value))
    except (ValueError, ZeroDivisionError):
        raise BadInputError(f"{what} must be a number in (0, 1], got {value!r}") from None
    if not 0 < frac <= 1:
        raise BadInputError(f"{what} must be in (0, 1], got {value}; e.g. 0.9")
    return frac


def _positive(value, what: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise BadInputError(f"{what} must be a positive whole number, got {value!r}")
    return value


def vllm_large_defaults(gpu: GPU) -> bool:
    """vLLM's rule: >= 70 GiB and not an A100 -> the larger scheduler defaults."""
    return gpu.memory_bytes >= 70 * GIB and "a100" not in gpu.name.lower()


def rope_cache_bytes(spec: ModelSpec) -> int:
    """vLLM's rotary cos/sin cache: max_position_embeddings x rotary_dim in the model dtype
    (Llama-3.1-8B: 131072 * 128 * 2 = 32 MiB, part of the logged 14.99 GiB weights)."""
    if spec.position_embedding != "rope":
        return 0
    rotary = spec.mla.qk_rope_head_dim if spec.mla is not None else spec.head_dim
    return spec.max_position_embeddings * rotary * _dtype_bytes(spec)


def _dtype_bytes(spec: ModelSpec) -> int:
    return {"fp32": 4, "bf16": 2, "fp16": 2}[spec.dtype]


def _mlp_width(spec: ModelSpec, tp: int, layers: range) -> int:
    """Widest MLP intermediate (per rank) a token goes through in these layers."""
    from kvplan.shapes import mlp_width

    return cdiv(max((mlp_width(spec, layer) for layer in layers), default=0), tp)


def vllm_activation_bytes(spec: ModelSpec, settings: EngineSettings, stage: int, layers: range) -> int:
    """vLLM's profiled torch peak for one stage (see the module docstring)."""
    d = _dtype_bytes(spec)
    t = settings.max_num_batched_tokens
    s = min(settings.max_num_seqs, t)
    h = spec.hidden_size
    forward = t * d * (FORWARD_HIDDEN_COPIES * h + FORWARD_MLP_COPIES * _mlp_width(spec, settings.tp, layers))
    peak = forward
    last = stage == settings.pp - 1
    if last:
        sampler = SAMPLER_HIDDEN_COPIES * t * h * d + s * spec.vocab_size * (d + SAMPLER_BYTES_PER_LOGIT)
        peak = max(forward, sampler)
    if stage > 0:
        peak += 2 * t * h * d  # received hidden states + residual
    return int(peak)


def _non_torch(table: dict, tp: int, pp: int) -> int:
    if tp == 1:
        return table["single"] if pp == 1 else table["pp_only"]
    return table[2] if tp == 2 else table[4]


def _startup_in_use(tp: int, pp: int) -> int:
    return STARTUP_IN_USE["single"] if tp * pp == 1 else STARTUP_IN_USE["tp"]


# -- profiles ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class EngineProfile:
    """An engine: its defaults and how it carves memory (``carve``)."""

    name: str
    description: str
    fraction_name: str
    default_block_size: int
    version: str = ""

    def settings(self, gpu: GPU, *, tp: int = 1, pp: int = 1, memory_fraction=None, block_size=None,
                 max_num_batched_tokens=None, max_num_seqs=None) -> EngineSettings:
        block = _positive(block_size, "--block-size") or self.default_block_size
        tokens = _positive(max_num_batched_tokens, "--max-num-batched-tokens")
        seqs = _positive(max_num_seqs, "--max-num-seqs")
        if self.name.startswith("vllm"):
            large = vllm_large_defaults(gpu)
            tokens = tokens or (8192 if large else 2048)
            seqs = seqs or (1024 if large else 256)
            default_fraction = Fraction(9, 10)
        elif self.name == "sglang":
            world = tp * pp
            default_fraction = (Fraction(79, 100) if world >= 16 else Fraction(81, 100) if world >= 8
                                else Fraction(85, 100) if world >= 4 else Fraction(87, 100) if world >= 2
                                else Fraction(88, 100))
        elif self.name == "trtllm":
            default_fraction = Fraction(9, 10)
        else:
            default_fraction = Fraction(1)
        what = f"--{self.fraction_name.replace('_', '-')}" if self.fraction_name else "memory fraction"
        frac = _fraction(memory_fraction, what, default_fraction)
        return EngineSettings(self.name, frac, self.fraction_name, block, tokens, seqs, tp, pp)

    def carve(self, spec: ModelSpec, gpu: GPU, weights: Weights, settings: EngineSettings) -> list[StageBudget]:
        total = gpu.memory_bytes
        out = []
        for st in weights.stages:
            if self.name.startswith("vllm"):
                share = int(total * settings.memory_fraction)
                w = st.bytes + rope_cache_bytes(spec)
                act = vllm_activation_bytes(spec, settings, st.stage, st.layers)
                table = VLLM_NON_TORCH if self.name == "vllm" else VLLM010_NON_TORCH
                other = _non_torch(table, settings.tp, settings.pp)
                pool = share - w - act - other
            elif self.name == "sglang":
                share = int(total * settings.memory_fraction)
                w, act = st.bytes, 0
                other = _startup_in_use(settings.tp, settings.pp)
                pool = share - w - other
            elif self.name == "trtllm":
                w, act = st.bytes, 0
                other = _startup_in_use(settings.tp, settings.pp)
                free = total - other - w
                share = total
                pool = int(free * settings.memory_fraction) if free > 0 else free
            else:  # raw
                share, w, act, other = total, st.bytes, 0, 0
                pool = total - w
            out.append(StageBudget(st.stage, st.layers, total, share, w, act, other, pool))
        return out


ENGINES: dict[str, EngineProfile] = {
    e.name: e
    for e in (
        EngineProfile("vllm", "vLLM v0.19 (calibrated): gpu_memory_utilization, profiled activation peak, "
                      "non-torch buffers; block 16", "gpu_memory_utilization", 16, "0.19"),
        EngineProfile("vllm-0.10", "vLLM v0.10.1 (calibrated on A100 logs); block 16",
                      "gpu_memory_utilization", 16, "0.10.1.1"),
        EngineProfile("sglang", "SGLang: mem_fraction_static of total minus weights; token pool (page 1)",
                      "mem_fraction_static", 1),
        EngineProfile("trtllm", "TensorRT-LLM: free_gpu_memory_fraction of free memory; tokens_per_block 32",
                      "free_gpu_memory_fraction", 32),
        EngineProfile("raw", "all memory minus weights (what `kvplan measure` allocates against)", "", 16),
    )
}
ENGINE_ALIASES = {"tensorrt-llm": "trtllm", "trt-llm": "trtllm", "tensorrt_llm": "trtllm", "vllm-0.19": "vllm",
                  "vllm-v0.19": "vllm", "vllm-v0.10": "vllm-0.10", "none": "raw"}


def get_engine(name: str) -> EngineProfile:
    key = str(name).strip().lower()
    key = ENGINE_ALIASES.get(key, key)
    try:
        return ENGINES[key]
    except KeyError:
        raise UnknownNameError("engine", name, list(ENGINES)) from None
