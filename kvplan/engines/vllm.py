"""vLLM: how one release carves a GPU (rules in kvplan/engines/vllm_rules.py).

    requested = total_gpu_memory * gpu_memory_utilization            (default 0.9)
    kv_pool   = requested - (weights + torch_peak + non_torch)       (gpu_worker.py)

- weights: the parameters plus the rotary cos/sin cache (max_position x rotary_dim in the
  model dtype; a module buffer, so vLLM's "Model loading took" figure includes it; Gemma 3 has
  two, rope_cache_bytes), plus, for
  an MLA layer whose kv_b_proj is quantized, the model-dtype copy of it that W_UK_T / W_UV
  keep (rule mla_kv_b_dequantized_copy; DeepSeek-V3 fp8: 33,554,432 / tp B a layer).
- torch_peak, the profile run (gpu_model_runner.py: profile_run): a forward over
  T = max_num_batched_tokens tokens, then a dummy sampler with top-k and top-p on over
  S = min(max_num_seqs, T) rows of vocabulary-wide logits. The larger phase binds:

      sampler = S * vocab * (d + c32 + path) + triton_buffer + hidden + workspace
      forward = T * d * (6.7 * hidden_size + 3 * mlp_width / tp)

  d: the model dtype's bytes (the logits as the LM head writes them); c32 = 4 for the
  ``logits.to(float32)`` copy (0 when the model is fp32); path: the top-k/top-p path's own
  fp32 tensors, by release (triton 8, FlashInfer 8, torch sort 32 bytes a logit for S >= 128
  or S == 1 and 44 otherwise, see vllm_rules.SORT_BYTES_PER_LOGIT; from 0.17 the Triton path
  runs only for S >= 8 rows, the sort below); triton_buffer: rows =
  min(next_pow2(S), num_SMs) of vocab fp32 (0.17+); hidden: the forward's [T, hidden] output, alive during
  the sampler from 0.9.2; workspace: 49 MiB of GEMM workspaces (fit). Pipeline stages
  other than the last run no sampler; a later stage also holds the received IntermediateTensors
  (n * T * hidden * d: n 2, hidden states and residual, for Llama-style models, 1 for GPT-2 / OPT / Falcon;
  VLLM.intermediate_tensor_count). A stage whose MoE layers take the kept fused-MoE workspace
  holds it in its forward in place of the MLP copies (VLLM.forward_bytes), and the last stage's
  sampler beside it.
- non_torch: NCCL / custom all-reduce / symmetric-memory buffers, by release and tp; up to
  0.9.0.1 also the memory in use before loading (CUDA context), which those releases count.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from kvplan.engines import vllm_rules as R
from kvplan.engines.base import (AllReduceFusion, Engine, EngineSettings, Release, RuleBook, StageBudget,
                                 fp8_expert_shard_misfit, fp8_linear_shard_misfit, fraction, positive,
                                 qwen3_next_fp8_shard_mix, refuse_weights_below, registered_spans)
from kvplan.errors import BadInputError
from kvplan.gpus import GPU
from kvplan.layers import AttentionWithState, MLALatent, SlidingWindow, StateSpace
from kvplan.spec import ModelSpec
from kvplan.units import allocated_bytes, cdiv, round_up

GIB = 1 << 30
#: Architectures vLLM builds from models/deepseek_v2.py's decoder (registry.py 0.25.0 :90-93, :116, and
#: the subclasses in glm4_moe_lite.py / mistral_large_3.py); rule deepseek_v2_forward_read.
DEEPSEEK_V2_FILE = frozenset({"DeepseekForCausalLM", "DeepseekV2ForCausalLM", "DeepseekV3ForCausalLM",
                              "DeepseekV32ForCausalLM", "GlmMoeDsaForCausalLM", "Glm4MoeLiteForCausalLM",
                              "MistralLarge3ForCausalLM"})
BOOK = RuleBook("vllm", R.RELEASES, R.RULES)
#: Compute capabilities on which vLLM's symmetric-memory all-reduce runs: the keys "9.0" and
#: "10.0" of vllm/distributed/device_communicators/all_reduce_utils.py SYMM_MEM_ALL_REDUCE_MAX_SIZES,
#: matched against capability.as_version_str() (symm_mem.py SymmMemCommunicator.__init__): every
#: Hopper, and B200 / GB200 -- not B300 / GB300 (10.3).
SYMM_MEM_CAPABILITIES = frozenset({(9, 0), (10, 0)})
USAGE_CONTEXTS = ("serve", "llm")


def dtype_bytes(spec: ModelSpec) -> int:
    return {"fp32": 4, "bf16": 2, "fp16": 2}[spec.dtype]


#: Architectures whose attention builds its rotary embedding with get_rope(..., dtype=torch.float32),
#: so the cos/sin cache is float32 whatever the model dtype: gpt-oss (vllm/model_executor/models/
#: gpt_oss.py OAIAttention.__init__: 0.10.1 = 0.10.1.1 :49-54, 0.12.0 :72, 0.14.1 :68-71, 0.17.0 :80,
#: 0.19.1 :85; the model exists in vLLM from 0.10.1); MiniMax-Text-01 / M1 (minimax_text_01.py, all
#: three names registered to MiniMaxText01ForCausalLM: its own MiniMaxText01RotaryEmbedding with
#: cache_dtype=torch.float32 in MiniMaxText01Model on 0.8.3-0.10.1.1, 0.8.3 :849-856, 0.10.1.1
#: :979-986; get_rope(..., dtype=torch.float32) in MiniMaxText01Attention from 0.10.2, 0.10.2 :256,
#: 0.12.0 :252, 0.19.1 :257, 0.23.0 :260). MiniMax-M1: 10,240,000 rows x 64 x 4 B = 2,621,440,000 B.
FP32_ROPE_ARCHITECTURES = frozenset({"GptOssForCausalLM", "MiniMaxForCausalLM", "MiniMaxText01ForCausalLM",
                                     "MiniMaxM1ForCausalLM"})

#: Architectures whose rotary table rows follow the deployment's max_model_len: the model class
#: copies model_config.max_model_len into hf_config.max_model_len before it builds its layers, and
#: the layer passes get_rope a max_position from it (docs/findings/FINDINGS_h29_rope4.md).
#: min(max_position_embeddings, max_model_len): MiniMax-Text-01 / M1 (minimax_text_01.py, every
#: release that has it: copy in MiniMaxText01ForCausalLM.__init__, 0.8.3-0.8.4 :978-979, 0.10.1.1
#: :1126-1127, 0.12.0 :677-678, 0.19.1 :912-913, 0.23.0 :892-893; the min in MiniMaxText01Model's
#: own rotary embedding on 0.8.3-0.10.1.1, 0.8.3 :845-848 / :853, 0.10.1.1 :975-978 / :983, and in
#: MiniMaxText01DecoderLayer from 0.10.2, 0.10.2 :295-298, 0.12.0 :293-297, 0.19.1 :300-304, 0.23.0
#: :301-305 / :317). max(...): MiniMax-M2 (minimax_m2.py MiniMaxM2DecoderLayer, every release
#: 0.11.1-0.23.0: 0.11.1 :257-261 / :274, 0.19.1 :253-257 / :269, 0.23.0 :266-270 / :282; the copy
#: 0.11.1 :497-498, 0.23.0 :535-536), so only a max_model_len beyond the model's (allowed with
#: VLLM_ALLOW_LONG_MAX_MODEL_LEN=1) lengthens it.
MAX_MODEL_LEN_ROPE_ROWS = {"MiniMaxForCausalLM": min, "MiniMaxText01ForCausalLM": min, "MiniMaxM1ForCausalLM": min,
                           "MiniMaxM2ForCausalLM": max}


#: Architectures whose model files (vLLM's and SGLang's alike) size the rotary table by a key of
#: their own, not config.max_position_embeddings: chatglm.py seq_length, dbrx.py max_seq_len.
OWN_ROPE_ROWS_KEY = frozenset({"ChatGLMModel", "DbrxForCausalLM"})


def rope_rows_beyond_context(spec: ModelSpec) -> bool:
    """Whether the model file's get_rope receives config.max_position_embeddings
    (``spec.rope_max_position``) above the context kvplan plans: a smaller context key
    (model_max_length, seq_length, ...) gave that context, or a rope factor kvplan folded into
    it and does not keep, so the table's rows are not known (both engines refuse there; the
    files of OWN_ROPE_ROWS_KEY read another key). Llama-3.1-8B with model_max_length 8,192:
    131,072 rows, not 8,192."""
    return (spec.rope_max_position is not None and spec.rope_max_position > spec.max_position_embeddings
            and getattr(spec, "architecture", None) not in OWN_ROPE_ROWS_KEY)


def rope_cache_bytes(spec: ModelSpec, release: str | None = None, layers: range | None = None,
                     max_model_len: int | None = None) -> int:
    """vLLM's rotary cos/sin caches: max_position_embeddings x rotary_dim in the model dtype
    (Llama-3.1-8B: 131072 * 128 * 2 = 32 MiB, part of the logged 14.99 GiB weights), in float32
    for ``FP32_ROPE_ARCHITECTURES`` (gpt-oss-120b: 131072 * 64 * 4 = 32 MiB). A
    dynamic-NTK model's rows follow the release (rule ``dynamic_ntk_rope_rows``): InternLM2.5-7B,
    32,768 x factor 2.0, has 65,536 rows (16 MiB) up to 0.21.0 and 32,768 (8 MiB) from 0.22.0.
    ``release`` (default: kvplan's default release) matters only for such a model. A LongRoPE
    model (rope type longrope / su) keeps original + max_position rows, its short and long tables
    concatenated: Phi-3-mini-128k, 4,096 + 131,072 rows x 96 x 2 B = 25,952,256 B.

    Gemma 3 (``rope_local_base_freq``) builds two tables, each once (get_rope caches one module
    per distinct argument set, and the two differ in base and rope_scaling): the global layers'
    with the config's rope_scaling (linear factor 8: LinearScalingRotaryEmbedding, max_position x
    8 rows) and the local layers' default table of max_position rows (vllm/model_executor/models/
    gemma3.py Gemma3Attention.__init__: 0.8.0 :141-160, 0.12.0 :160-183, 0.19.1 :163-186, 0.23.0
    :158-180; get_rope's key, 0.23.0 rotary_embedding/__init__.py :74-84), both in the model dtype
    (get_default_dtype; base.py cache.to(dtype)). gemma-3-27b (head_dim 128): 256 MiB + 32 MiB;
    gemma-3-1b (32,768, no scaling, head_dim 256): 16 MiB + 16 MiB. MiMo-V2-Flash's sliding layers
    (swa_rope_theta, as rope_local_base_freq) and full ones build two tables the same way,
    ``rotary_dim`` (partial_rotary_factor 0.334 of 192: 64) wide: 2 x 32 MiB
    (kvplan.hf.families.mimo_v2). ``layers`` (a pipeline stage's; default all) holds a table
    only when some layer of its kind is there (make_layers builds only the stage's layers).

    ``max_model_len`` (the deployment's; default the model's own) sizes the rows of the
    ``MAX_MODEL_LEN_ROPE_ROWS`` architectures: MiniMax-M1 at --max-model-len 40,960 holds
    40,960 x 64 x 4 = 10,485,760 B, not 10,240,000 rows' 2,621,440,000 B."""
    if spec.position_embedding != "rope":
        return 0
    arch = getattr(spec, "architecture", None)
    by_len = MAX_MODEL_LEN_ROPE_ROWS.get(arch)
    if by_len is None and rope_rows_beyond_context(spec):
        # vllm/model_executor/models/llama.py LlamaModel (0.24.0 :266) as SGLang's llama.py; vLLM's
        # max_model_len takes the smaller key (config/model.py _get_and_verify_max_len) (REVIEW_h30 F2)
        raise BadInputError(f"kvplan cannot size vLLM's rotary table for {spec.name} ({arch or 'no architecture'}: "
                            f"get_rope receives config.max_position_embeddings {spec.rope_max_position:,}, beyond "
                            f"the context of {spec.max_position_embeddings:,} a smaller context key gives, times "
                            f"any rope factor kvplan does not keep), which vLLM counts in the weights; use "
                            f"--engine raw")
    rotary = spec.rotary_width
    rows = spec.max_position_embeddings
    if by_len is not None and max_model_len is not None:
        # MiniMax's files take config.max_position_embeddings itself (rope_max_position where a
        # smaller context key gave kvplan's context)
        rows = by_len(spec.rope_max_position or rows, max_model_len)
    rope = spec.rope_scaling
    if rope is not None and rope.type == "dynamic":
        original = rope.original_max_position_embeddings
        scaled = BOOK.value("dynamic_ntk_rope_rows", BOOK.resolve(release or R.DEFAULT_RELEASE)) == "scaled"
        rows = math.ceil(original * rope.factor) if scaled else original
    if rope is not None and rope.type == "longrope":
        # Phi3LongRoPEScaledRotaryEmbedding: the short table (original rows) and the long one
        # (max_position rows) in one buffer, every release (kvplan.hf.core._longrope cites it).
        rows = rope.original_max_position_embeddings + spec.max_position_embeddings
    element = 4 if arch in FP32_ROPE_ARCHITECTURES else dtype_bytes(spec)
    if spec.rope_local_base_freq is None:
        return rows * rotary * element
    if rope is not None and rope.type == "linear":
        # LinearScalingRotaryEmbedding._compute_cos_sin_cache: t = torch.arange(max_position x
        # factor) (a float end: ceil rows).
        rows = math.ceil(spec.max_position_embeddings * rope.factor)
    glob, local = rope_tables_held(spec, layers)
    return (glob * rows + local * spec.max_position_embeddings) * rotary * element


def rope_tables_held(spec: ModelSpec, layers: range | None = None) -> tuple[bool, bool]:
    """(global, local): whether a stage holding ``layers`` (default all) builds the full-attention
    layers' rotary table and the sliding layers' one, for models whose two kinds of layer keep
    separate tables (Gemma 3, MiMo-V2): an engine builds only its stage's layers."""
    kinds = [spec.layers[i] for i in (layers if layers is not None else range(spec.num_layers))]
    return (any(not isinstance(k, SlidingWindow) for k in kinds), any(isinstance(k, SlidingWindow) for k in kinds))


def mxfp4_expert_bytes(spec: ModelSpec, moe_tp: int, layout: str) -> int:
    """Bytes one MoE layer's mxfp4 experts hold on one rank after process_weights_after_loading
    on compute capability 9.0 (rule ``mxfp4_sm90_expert_layout``): E experts of hidden H and
    per-rank intermediate I // moe_tp (FusedMoE.intermediate_size_per_partition), padded as the
    layout's create_weights pads it. "marlin": I to 128 and H to 256, weights k x n / 2, e8m0
    scales k / 32 x n, biases in the model dtype (its per-layer workspace, SMs x 16 B, is
    VLLM.marlin_workspace_bytes). "triton": I to 64,
    weights with rows to 16 and row bytes to 32, the original scales kept beside swizzled copies
    (rows to 256, columns to 2), float32 biases; "triton64" (0.17.0-0.19.1) pads each weight's rows
    and row bytes to 64 before that. gpt-oss-120b tp 1: marlin 1,847,263,232 B, triton
    1,799,700,480 B, triton64 1,835,089,920 B."""
    e, h = spec.moe.num_experts, spec.hidden_size
    i = spec.moe.expert_intermediate_size // moe_tp
    bias = spec.moe.expert_bias
    if layout == "marlin":
        i, h = round_up(i, 128), round_up(h, 256)
        weights = e * (2 * i * h // 2 + h * i // 2)
        scales = e * (h // 32 * 2 * i + i // 32 * h)
        return weights + scales + (e * (2 * i + h) * dtype_bytes(spec) if bias else 0)
    i = round_up(i, 64)
    # "triton64" (0.17.0+): swizzle_data pads both dims of each (rows, bytes) weight to 64 first
    p = (lambda n: round_up(n, 64)) if layout == "triton64" else (lambda n: n)
    weights = e * (round_up(p(2 * i), 16) * round_up(p(h // 2), 32) + round_up(p(h), 16) * round_up(p(i // 2), 32))
    scales = e * (2 * i * (h // 32) + h * (i // 32))
    swizzled = e * (round_up(2 * i, 256) * round_up(h // 32, 2) + round_up(h, 256) * round_up(i // 32, 2))
    return weights + scales + swizzled + (e * (2 * i + h) * 4 if bias else 0)


def mlp_width(spec: ModelSpec, tp: int, layers: range) -> int:
    """Widest MLP intermediate (per rank) a token goes through in these layers (kvplan.shapes)."""
    from kvplan.shapes import mlp_width as layer_width

    return cdiv(max((layer_width(spec, layer) for layer in layers), default=0), tp)


def next_power_of_2(n: int) -> int:
    return 1 << (n - 1).bit_length() if n > 1 else 1


#: Hugging Face model_type of the architectures vLLM's dtype rules name (rule auto_dtype);
#: every other architecture is none of them.
HF_MODEL_TYPES = {
    "Gemma2ForCausalLM": "gemma2",
    "Gemma3ForConditionalGeneration": "gemma3",
    "Gemma3ForCausalLM": "gemma3_text",
    "Glm4ForCausalLM": "glm4",
    "Plamo2ForCausalLM": "plamo2",
}


def _states(spec):
    """Every state-space cache of ``spec``'s layers (a side-by-side layer's state too)."""
    for kind in spec.layers:
        for part in kind.parts():
            if isinstance(part, StateSpace):
                yield part


def _capability_text(cc: tuple[int, int] | None) -> str:
    return "none (not CUDA)" if cc is None else f"{cc[0]}.{cc[1]}"


def v2_unplanned_at(spec, release: Release) -> str | None:
    """Why kvplan does not plan ``spec`` on ``release``'s Model Runner V2, None where it does
    (``VLLM.v2_unplanned``): V2 read from 0.25.0 (rule ``v2_runner_memory``), not with state-space layers,
    and with experts or MLA layers (FINDINGS_h35_v2moe.md) only for the architectures whose model code
    rule ``v2_moe_mla_architectures`` read (the same profile forward as V1's), not with DeepSeek sparse
    attention (indexed MLA layers, whose V2 path kvplan has not read)."""
    from kvplan.layers import MLAIndexed

    read = BOOK.value("v2_moe_mla_architectures", release)
    if BOOK.value("v2_runner_memory", release) is None:
        return "whose profile run kvplan does not model"  # read from 0.25.0 on
    if spec.moe is not None and read is None:
        return "whose profile run kvplan has read only for models without experts"
    if any(_states(spec)):
        return "whose profile run kvplan has read only for models without state-space layers"
    if spec.moe is None and not spec.has_mla:
        return None
    if read is None:
        return "whose profile run kvplan has read only for models without MLA layers"
    if any(isinstance(k, MLAIndexed) for k in set(spec.layers)):
        return ("whose profile run kvplan has not read for DeepSeek sparse attention (indexed MLA layers: "
                "the indexer and its model code)")
    if spec.architecture not in read:
        what = "experts" if spec.moe is not None else "MLA layers"
        named = spec.architecture or "a spec that names no architecture"
        return (f"whose profile run kvplan has read for models with {what} only for {', '.join(read)} (the model "
                f"code read against V1's; rule v2_moe_mla_architectures), not {named}")
    return None


def _capability_range_text(bounds: tuple[tuple[int, int], tuple[int, int]]) -> str:
    """((10, 0), (11, 0)) -> '10.x'; ((9, 0), (9, 1)) -> '9.0'."""
    (major, minor), below = bounds
    if below == (major, minor + 1):
        return f"{major}.{minor}"
    if minor == 0 and below == (major + 1, 0):
        return f"{major}.x"
    return f"{major}.{minor} to below {below[0]}.{below[1]}"


@dataclass(frozen=True)
class VLLM(Engine):
    """vLLM at one release. ``flashinfer_sampler``: whether FlashInfer is installed, which
    decides the sampler path of releases up to 0.11.0 (None: yes, as in the vllm-openai
    image); ``usage_context``: "serve" (``vllm serve``) or "llm" (the ``LLM`` class);
    ``enforce_eager``: ``--enforce-eager`` (no CUDA graphs); ``estimate_cudagraphs``: the
    environment's VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS (None: unset, the release's default).
    Those two decide whether 0.20.0+ subtract a CUDA-graph estimate (check_profiled_pool).
    ``use_v2_model_runner``: the environment's VLLM_USE_V2_MODEL_RUNNER (None: unset), which
    decides the model runner from 0.12.0 (check_model_runner). ``rocm_moe_padding``: the
    environment's VLLM_ROCM_MOE_PADDING (None: unset, on), ROCm's expert weight padding
    (rocm_moe_padding_bytes). ``async_scheduling``:
    --async-scheduling (True) / --no-async-scheduling (False), None: unset; ``executor_backend``:
    --distributed-executor-backend (None: unset); from 0.26.0 they decide how many steps' tokens a
    sliding-window or chunked-local layer reserves for (window_tokens)."""

    release: Release
    flashinfer_sampler: bool | None = None
    usage_context: str = "serve"
    enforce_eager: bool = False
    estimate_cudagraphs: bool | None = None
    use_v2_model_runner: bool | None = None
    rocm_moe_padding: bool | None = None
    async_scheduling: bool | None = None
    executor_backend: str | None = None
    #: the command spelled --gpu-memory-utilization as --device-memory-utilization (0.31.0+ only)
    device_memory_flag: bool = False
    #: --reasoning-parser NAME (None: not given): on 0.28.0+ Model Runner V2 it puts ThinkingBudgetState on the
    #: GPU (rule v2_persistent_buffers "thinking_budget"), which v2_persistent_bytes refuses
    reasoning_parser: str | None = None

    family = "vllm"
    long_context_env = "VLLM_ALLOW_LONG_MAX_MODEL_LEN"
    book = BOOK
    vendors = frozenset({"nvidia", "amd"})
    # dense tp splits asserted: vllm/model_executor/layers/linear.py divide(), SGLang's linear.py alike
    tp_split_rule = "vLLM and SGLang"
    fraction_name = "gpu_memory_utilization"

    @classmethod
    def for_release(cls, release: str | None, **options) -> VLLM:
        """A release newer than the table is refused with the reason (vllm_rules.REFUSED)."""
        if release is not None:
            rel = Release.parse(release)
            if rel > BOOK.newest:
                if not any(Release.parse(v).key == rel.key for v in R.PUBLISHED_LATER):
                    later = (f"published after {BOOK.newest}, as of 2026-11-30: {', '.join(R.PUBLISHED_LATER)}; none "
                             f"of them is modelled" if R.PUBLISHED_LATER else
                             f"newer than {BOOK.newest}, the newest published as of 2026-11-30 (pip index versions "
                             f"vllm), which kvplan has not read")
                    raise BadInputError(f"vllm {release} is not a release kvplan knows of ({later}); modelled: "
                                        f"{BOOK.modelled_text()}")
                reason = ""
                for first, why in sorted(R.REFUSED.items(), key=lambda kv: Release.parse(kv[0])):
                    if rel >= Release.parse(first):
                        reason = why
                raise BadInputError(
                    f"vllm {release} is not modelled: {reason or 'newer than the newest release kvplan has read'}; "
                    f"modelled: {BOOK.modelled_text()}")
        engine = cls(BOOK.resolve(release or R.DEFAULT_RELEASE), **options)
        if engine.device_memory_flag and not engine.rule("device_memory_utilization_flag"):
            raise BadInputError(f"{engine.name} has no --device-memory-utilization (vLLM 0.31.0 added it as another "
                                f"name of --gpu-memory-utilization: vllm/engine/arg_utils.py add_cli_args 0.31.0 "
                                f":1327); write --gpu-memory-utilization")
        return engine

    @property
    def default_block_size(self) -> int:  # type: ignore[override]
        return self.rule("block_size")

    @property
    def description(self) -> str:
        return (f"vLLM {self.release}: gpu_memory_utilization, profiled activation peak "
                f"({self.sampler_path()} sampler), non-torch buffers; block {self.rule('block_size')}")

    # -- rules ------------------------------------------------------------------------------
    def rule(self, name: str):
        return BOOK.value(name, self.release)

    def rules(self):
        return BOOK.table(self.release)

    def newest_release_where(self, name: str, value) -> str:
        """The newest modelled release before this one whose rule ``name`` has ``value``: the way
        out a refusal names (a release whose reading kvplan holds)."""
        return str(max(r for r in BOOK.releases if r < self.release and BOOK.value(name, r) == value))

    def kv_formats(self) -> tuple[str, ...]:
        return self.rule("kv_cache_dtypes")

    def removed_options(self) -> tuple[str, ...]:
        return self.rule("removed_options")

    def check_kv_format(self, fmt, model_dtype: str) -> None:
        """As Engine.check_kv_format; the refusal also names the --kv-cache-dtype values the
        release takes whose pages kvplan has not read (rule kv_cache_dtypes_unmodelled: from
        0.20.0), so it does not claim the release lacks them."""
        if (self.rule("float_kv_dtype_must_match") and fmt.name in ("fp16", "bf16") and fmt.name != model_dtype):
            vllm_name = {"fp16": "float16", "bf16": "bfloat16"}[fmt.name]
            raise BadInputError(f"{self.name} does not start with --kv-cache-dtype {vllm_name} for a model served in "
                                f"{model_dtype}: 'kv_cache_dtype=\"{vllm_name}\" is incompatible with dtype' "
                                f"(vllm/config/vllm.py VllmConfig._reject_mismatched_float_kv_cache 0.33.0 :1492-1508); "
                                f"use --kv-cache-dtype auto, or --engine "
                                f"vllm=={self.newest_release_where('float_kv_dtype_must_match', False)}")
        try:
            super().check_kv_format(fmt, model_dtype)
        except BadInputError as err:
            if not self.rule("kv_cache_dtypes_unmodelled"):
                raise
            raise BadInputError(f"kvplan does not plan {self.name} with the KV cache as {fmt.name}: of its "
                                f"--kv-cache-dtype values it plans {', '.join(self.kv_formats())}; the page layouts "
                                f"of {', '.join(self.rule('kv_cache_dtypes_unmodelled'))} are not read (use --engine "
                                f"raw to plan other formats)") from err

    def resolve_kv_format(self, fmt, spec):
        """DeepSeek sparse attention (DeepSeek-V3.2's mla_indexed layers) asked for any fp8
        cache is stored as fp8_ds_mla (656 B per latent): DeepseekV32ForCausalLM's
        verify_and_update_config sets cache_config.cache_dtype = "fp8_ds_mla". A release whose
        --kv-cache-dtype has no fp8_ds_mla is refused for such a model in fp8 rather than guessed."""
        from kvplan.formats import get_format
        from kvplan.layers import MLAIndexed

        if not fmt.name.startswith("fp8") or not any(isinstance(k, MLAIndexed) for k in set(spec.layers)):
            return fmt
        if "fp8_ds_mla" not in self.kv_formats():
            raise BadInputError(f"{self.name}: kvplan does not know how this release stores DeepSeek sparse "
                                f"attention's cache in fp8 (its --kv-cache-dtype has no fp8_ds_mla); use a "
                                f"release from 0.11.1, or --kv-dtype auto")
        return get_format("fp8_ds_mla")

    def serving_spec(self, spec):
        """``spec`` with the recurrent-state dtype this release keeps for its architecture when the
        spec (the HF config) names none (rule ``mamba_ssm_cache_dtype``): Nemotron-H in float16 from
        0.13.0, and in the model dtype before, even where the config names one."""
        table = self.rule("mamba_ssm_cache_dtype")
        if spec.architecture not in table:
            return spec
        default = table[spec.architecture]

        def state(kind):
            if not isinstance(kind, StateSpace):
                return kind
            dtype = default and (kind.ssm_state_dtype or default)
            return kind if dtype == kind.ssm_state_dtype else dataclasses.replace(kind, ssm_state_dtype=dtype)

        def layer(kind):
            if isinstance(kind, AttentionWithState):
                new = state(kind.state)
                return kind if new is kind.state else dataclasses.replace(kind, state=new)
            return state(kind)

        layers = tuple(layer(k) for k in spec.layers)
        return spec if layers == spec.layers else dataclasses.replace(spec, layers=layers)

    def serving_spec_note(self, spec) -> str | None:
        """Which recurrent-state dtype this release gives the model's state-space layers, where its
        rule for the architecture changed the spec."""
        served = self.serving_spec(spec)
        if served is spec:
            return None
        before = {k.recurrent_dtype for k in _states(spec)}
        after = sorted({k.recurrent_dtype for k in _states(served)})
        where = "vllm/model_executor/models/config.py"
        why = (f"the config names no mamba_ssm_cache_dtype, so {self.name} keeps it in {after[0]} ({where} "
               f"NemotronHForCausalLMConfig)" if self.rule("mamba_ssm_cache_dtype")[spec.architecture] else
               f"{self.name} does not read the config's mamba_ssm_cache_dtype ({', '.join(sorted(before))}) and "
               f"keeps it in the model dtype, {after[0]} ({where} has no NemotronHForCausalLMConfig before 0.13.0)")
        return f"{spec.name} ({spec.architecture}): recurrent state dtype: {why}"

    def check_kv_pool(self, spec, gpu: GPU, disable_hybrid: bool | None) -> None:
        """Model Runner V2 (``plans_v2``) on an AMD GPU: kvplan has read V2 on CUDA only (its profile,
        sampler and, with the KV memory given too, what decides its pages and admission), so it is
        refused there whether or not --kv-cache-memory-bytes is given."""
        super().check_kv_pool(spec, gpu, disable_hybrid)
        if gpu.vendor == "amd" and self.plans_v2(spec):
            raise BadInputError(f"{self.name} runs {spec.name} on Model Runner V2 (vllm/v1/worker/gpu/), whose "
                                f"memory kvplan has read on CUDA only, not on ROCm; plan it with "
                                f"VLLM_USE_V2_MODEL_RUNNER=0 in front of a --from-vllm command")

    def check_model(self, spec) -> None:
        """Besides the model class (Engine.check_model): a model with state-space layers (Mamba,
        linear attention) runs on the V0 engine by default up to 0.10.1.1 (rule
        ``state_space_engine``), whose memory kvplan does not model: refused."""
        super().check_model(spec)
        if spec.moe is not None and spec.expert_substitution and self.rule("expert_substitution"):
            raise BadInputError(
                f"{self.name}: {spec.name}'s config declares substituted experts ({spec.expert_substitution}), and "
                f"this release then builds only the retained experts (vllm/model_executor/layers/fused_moe/"
                f"expert_substitution.py get_expert_substitution_spec 0.33.0 :107-141), whose weights kvplan has "
                f"not read; use --engine vllm=={self.newest_release_where('expert_substitution', False)}")
        if spec.architecture in self.rule("transformers_backend_moved"):
            raise BadInputError(
                f"{self.name} builds {spec.architecture} ({spec.name}) through its Transformers backend "
                f"(vllm/model_executor/models/registry.py _TRANSFORMERS_SUPPORTED_MODELS; rule "
                f"transformers_backend_moved), whose layers and profile run kvplan has not read; "
                f"{self._native_way_out(spec.architecture)}")
        self.check_model_runner(spec)
        if any(_states(spec)) and self.rule("state_space_engine") == "v0":
            raise BadInputError(f"{self.name} runs {spec.name}'s state-space layers (Mamba, linear attention) on its "
                                f"V0 engine by default, whose memory kvplan does not model (vllm/engine/arg_utils.py "
                                f"_is_v1_supported_oracle); use --engine vllm==0.10.2 or later")

    def _native_way_out(self, architecture: str) -> str:
        """The way out of a Transformers-backend refusal (rule ``transformers_backend_moved``): the
        newest modelled release before this one with a native model class for ``architecture``
        (registered there, and not in that release's rule), or, where none has one (SmolLM3, on the
        backend since vLLM added it), --engine raw."""
        native = [r for r in BOOK.releases if r < self.release
                  and architecture not in BOOK.value("transformers_backend_moved", r)
                  and any(a <= r <= b for a, b in registered_spans("vllm", architecture) or ())]
        if native:
            return f"use --engine vllm=={max(native)}"
        return "no vLLM release kvplan models builds it natively (use --engine raw for memory alone)"

    def runs_v2(self, spec) -> bool:
        """Whether this release runs ``spec`` on Model Runner V2 (vllm/v1/worker/gpu/): with
        VLLM_USE_V2_MODEL_RUNNER set, what it says (where the release has V2, 0.12.0+); unset, the
        release's default (vllm/config/vllm.py VllmConfig.use_v2_model_runner): from 0.25.0 every model
        without experts or state-space layers (rule ``v2_model_runner_dense``), else the architectures
        of rule ``v2_model_runner_architectures``. The features that send a default-V2 model back to V1
        (_get_v2_model_runner_unsupported_features: speculative ngram, prompt embeds, logits processors,
        a logprobs mode, sequence parallelism, ...) are flags kvplan refuses (kvplan.vllm_args), or
        off by default (pass_config.enable_sp: IS_DENSE is False, config/vllm.py 0.25.0 :95)."""
        if self.rule("v2_model_runner_architectures") is None or self.use_v2_model_runner is False:
            return False
        if self.use_v2_model_runner or self.rule("v2_default_all"):
            return True  # 0.29.0+: every model (rule v2_default_all)
        if spec.moe is None and not any(_states(spec)) and self.rule("v2_model_runner_dense"):
            return True
        return spec.architecture in (self.rule("v2_model_runner_architectures") or ())

    def v2_unplanned(self, spec) -> str | None:
        """Why kvplan does not plan ``spec`` on this release's Model Runner V2 (None: it does, rule
        ``v2_runner_memory``: 0.25.0+, models without state-space layers, and with experts or MLA layers
        only for the architectures of rule ``v2_moe_mla_architectures`` without DeepSeek sparse attention;
        on 0.33.0 the dummy sampler's warm-up pass is read for the GPUs where it samples through FlashInfer
        only, which ``v2_sampler_bytes`` refuses elsewhere)."""
        return v2_unplanned_at(spec, self.release)

    def plans_v2(self, spec) -> bool:
        """Whether kvplan plans ``spec`` on this release's Model Runner V2: it runs there
        (``runs_v2``) and kvplan has read that path for it (``v2_unplanned`` None); elsewhere V2 is
        refused by check_model_runner and the V1 rules apply."""
        return self.runs_v2(spec) and self.v2_unplanned(spec) is None

    def check_model_runner(self, spec) -> None:
        """kvplan models the V1 model runner's profile run (vllm/v1/worker/gpu_model_runner.py) and,
        from 0.25.0 (rule ``v2_runner_memory``, FINDINGS_h31_v2run.md), Model Runner V2's
        (vllm/v1/worker/gpu/model_runner.py) for models without state-space layers, with experts or MLA
        layers only for the architectures of rule ``v2_moe_mla_architectures`` (FINDINGS_h35_v2moe.md:
        DeepSeek-V2/V3, Mixtral, Qwen2-MoE, Qwen3-MoE) and not with DeepSeek sparse attention
        (``v2_unplanned``). Refused where the deployment runs V2 and kvplan has not read it:
        VLLM_USE_V2_MODEL_RUNNER=1 on a release that has Model Runner V2 (0.12.0+), and, with the
        variable unset, an architecture the release runs
        on V2 by default (rule ``v2_model_runner_architectures``: Qwen3ForCausalLM in 0.22.0-0.22.1,
        LlamaForCausalLM, MistralForCausalLM and Qwen3ForCausalLM in 0.23.0, also
        DeepseekV2ForCausalLM, GraniteMoeForCausalLM and Qwen2MoeForCausalLM in 0.24.0; only those
        three from 0.25.0, 0.26.0 adds three more; every model from 0.29.0, rule ``v2_default_all``),
        a spec naming no architecture there. VLLM_USE_V2_MODEL_RUNNER=0 keeps
        every model on V1. The refusal says that a quantized checkpoint runs V1 only where the
        release says so (rule ``v2_model_runner_skips_quantized``: 0.22.0-0.23.0)."""
        v2 = self.rule("v2_model_runner_architectures")
        if v2 is None or self.use_v2_model_runner is False:
            return
        why = self.v2_unplanned(spec)
        dense = spec.moe is None and not any(_states(spec))
        if why is None:
            return  # planned on V2 where it runs there (VLLM.activation_bytes), else on V1
        runner = f"Model Runner V2 (vllm/v1/worker/gpu/), {why or 'whose profile run kvplan does not model'}"
        if self.use_v2_model_runner:
            raise BadInputError(f"VLLM_USE_V2_MODEL_RUNNER=1: {self.name} runs {runner}; plan without it")

        def on_v2(rel: Release) -> bool:  # does ``rel`` run this spec (any listed one, no architecture) on V2
            if BOOK.value("v2_default_all", rel) or (dense and BOOK.value("v2_model_runner_dense", rel)):
                return True
            return bool(set(BOOK.value("v2_model_runner_architectures", rel) or ())
                        & ({spec.architecture} if spec.architecture else set(v2)))
        def planned(rel: Release) -> bool:  # kvplan plans ``spec`` there by default: on V1, or on a V2 it has read
            return not on_v2(rel) or v2_unplanned_at(spec, rel) is None
        # the newest earlier release kvplan plans the architecture (any, without one) on by default
        earlier = next(rel for rel in reversed(BOOK.releases) if rel < self.release and planned(rel))
        # where the profiled pool is refused (rule non_kv_from_free_memory: 0.27.0), V1 too needs the KV memory given
        given = " that gives --kv-cache-memory-bytes" if self.rule("non_kv_from_free_memory") else ""
        way_out = (f"plan it with VLLM_USE_V2_MODEL_RUNNER=0 in front of a --from-vllm command{given}, or use "
                   f"--engine vllm=={earlier}")
        where = "vllm/config/vllm.py DEFAULT_V2_MODEL_RUNNER_ARCHITECTURES"
        if self.rule("v2_default_all"):
            raise BadInputError(f"{self.name} runs {spec.name} on {runner}, by default: every model, with experts, MLA "
                                f"or state-space layers too (vllm/config/vllm.py VllmConfig.use_v2_model_runner: no "
                                f"architecture list from 0.29.0; V1 only for a feature V2 lacks); {way_out}")
        if dense and self.rule("v2_model_runner_dense"):
            raise BadInputError(f"{self.name} runs {spec.name} on {runner}, by default: every generating model "
                                f"without experts or state-space layers (vllm/config/vllm.py "
                                f"_is_default_v2_model_runner_model: `or not model_config.is_moe`; V1 only for a "
                                f"feature V2 lacks); {way_out}")
        if spec.architecture in v2:
            v1_only = ("a checkpoint with a quantization_config or a feature V2 lacks"
                       if self.rule("v2_model_runner_skips_quantized") else "a feature V2 lacks")
            raise BadInputError(f"{self.name} runs {spec.architecture} ({spec.name}) on {runner}, by default ({where}; "
                                f"V1 only for {v1_only}); {way_out}")
        if v2 and not spec.architecture:
            raise BadInputError(f"{spec.name} names no architecture, and {self.name} runs {', '.join(v2)} on {runner}, "
                                f"by default ({where}); give the model's architecture, or {way_out}")

    def window_tokens(self, spec, settings: EngineSettings, speculative=None) -> int | None:
        """The tokens beyond its window (chunk) a sliding-window (chunked-local) layer reserves for one
        request (rule ``window_in_flight_tokens``): max_num_batched_tokens up to 0.25.1; from 0.26.0
        VllmConfig.max_in_flight_tokens, max_concurrent_batches x max_num_batched_tokens, where
        max_concurrent_batches is 2 with async scheduling at pp 1 on the V1 runner, else pp. Async
        scheduling is on unless --no-async-scheduling, or (unset) a speculative method other than
        EAGLE / MTP / NGram-GPU / DSpark or an executor other than mp / uni (vllm/config/vllm.py
        VllmConfig.__post_init__): with speculative decoding or another executor left to that default,
        a model with such layers is refused."""
        tokens = settings.max_num_batched_tokens
        if not self.rule("window_in_flight_tokens") or tokens is None:
            return tokens
        if not spec.has_window_layers:
            return tokens
        backend = self.executor_backend
        if backend not in (None, "mp", "uni", "external_launcher"):
            if self.async_scheduling:
                raise BadInputError(f"--async-scheduling with --distributed-executor-backend {backend}: {self.name} "
                                    f"refuses it (only the mp and uni executors support async scheduling)")
            on = False
        elif self.async_scheduling is not None:
            on = self.async_scheduling
        elif speculative is not None:
            raise BadInputError(
                f"{self.name} with speculative decoding: whether async scheduling is on (VllmConfig.__post_init__: "
                f"by method) decides how many steps' tokens {spec.name}'s sliding-window / chunked-local layers "
                f"reserve (VllmConfig.max_in_flight_tokens), which kvplan has not read per method; say "
                f"--async-scheduling or --no-async-scheduling in a --from-vllm command, or use --engine vllm==0.25.1")
        else:
            on = True
        if on and self.plans_v2(spec):  # VllmConfig.max_concurrent_batches (0.26.0 :512-522, 0.27.0 :540-550): V2 pp + 1
            return (settings.pp + 1) * tokens
        batches = 2 if on and settings.pp == 1 else settings.pp
        return batches * tokens

    def check_pipeline(self, pp: int) -> None:
        """From 0.31.0 (rule ``v1_pp_async_refused``) Model Runner V1 refuses pipeline parallelism with async
        scheduling: VLLM_USE_V2_MODEL_RUNNER=0 with pp > 1 and --async-scheduling does not start (unset,
        vLLM turns async scheduling off there, vllm/config/vllm.py __post_init__ 0.31.0 :1626-1633)."""
        super().check_pipeline(pp)
        if pp > 1 and self.async_scheduling and self.use_v2_model_runner is False and self.rule("v1_pp_async_refused"):
            raise BadInputError(
                f"{self.name} does not start Model Runner V1 (VLLM_USE_V2_MODEL_RUNNER=0) with pipeline parallelism "
                f"(pp {pp}) and --async-scheduling: 'Model Runner V1 does not support: pipeline parallelism with async "
                f"scheduling' (vllm/config/vllm.py _get_v1_model_runner_unsupported_features 0.31.0 :3112-3124, "
                f"_validate_v1_model_runner :3326-3331); drop --async-scheduling, or use --engine "
                f"vllm=={self.newest_release_where('v1_pp_async_refused', False)}")

    def check_quantization(self, method: str, spec) -> None:
        """From 0.31.0 (rule ``online_fp8_rerouted``) ``--quantization fp8`` without a checkpoint
        quantization_config is vLLM's online fp8_per_tensor method, whose weight bytes kvplan has not read;
        the other online methods kvplan reads as fp8 (kvplan.vllm_args ONLINE_QUANTIZATION) are refused there
        too (not re-read)."""
        from kvplan.vllm_args import ONLINE_QUANTIZATION

        name = str(method).strip().lower()
        if name in ONLINE_QUANTIZATION and not spec.weights_format and self.rule("online_fp8_rerouted"):
            raise BadInputError(
                f"--quantization {method} on {spec.name} (no quantization_config in its checkpoint): {self.name} "
                f"quantizes it online through OnlineQuantizationConfig (vllm/model_executor/model_loader/"
                f"weight_utils.py get_quant_config 0.31.0 :341-348: fp8 becomes fp8_per_tensor), whose weight bytes "
                f"kvplan has not read; give an fp8 checkpoint, or use --engine "
                f"vllm=={self.newest_release_where('online_fp8_rerouted', False)}")

    def check_prefix_caching(self, spec, enabled: bool | None) -> str | None:
        """--enable-prefix-caching on a model with state-space layers (rule ``state_prefix_caching``):
        refused where vLLM keeps it on for them (0.11.1-0.14.1: for the SupportsMambaPrefixCaching
        architectures the rule names; 0.15.0+: every one): the attention block becomes a multiple of
        the Mamba chunk and state layers hold more blocks, which kvplan does not model. A note where
        vLLM turns it off (0.10.2-0.11.0; 0.11.1-0.14.1 for the other architectures: Qwen3-Next,
        MiniMax-M1). Without the flag it is off for them in every release kvplan plans, and for
        attention-only models it reuses blocks without changing the pool."""
        if not enabled or not any(_states(spec)):
            return None
        rule = BOOK.rule("state_prefix_caching", self.release)
        where = rule.source.split(" (")[0]
        if isinstance(rule.value, tuple):
            if spec.architecture is None:
                raise BadInputError(f"--enable-prefix-caching with {spec.name}'s state-space layers: {self.name} keeps "
                                    f"it on only for its SupportsMambaPrefixCaching architectures "
                                    f"({', '.join(rule.value)}) and {spec.name} names none; give the model's "
                                    f"architecture or drop the flag")
            if spec.architecture not in rule.value:
                return (f"--enable-prefix-caching: {self.name} turns prefix caching off for {spec.name}: "
                        f"{spec.architecture} does not support it for state-space layers ({where}, "
                        f"{rule.source.split(' (')[1].split(')')[0]}: 'Hybrid or mamba-based model detected without "
                        f"support for prefix caching: disabling.'); the pool is planned without it")
        elif rule.value == "off":
            return (f"--enable-prefix-caching: {self.name} turns prefix caching off for state-space models "
                    f"({where}); the pool is planned without it")
        if isinstance(rule.value, tuple) or rule.value == "honoured":
            them = f"{spec.architecture} (SupportsMambaPrefixCaching)" if isinstance(rule.value, tuple) else "them"
            raise BadInputError(f"--enable-prefix-caching with {spec.name}'s state-space layers: {self.name} keeps it "
                                f"on for {them} and then sizes the attention block and the state layers' blocks per "
                                f"request for it (vllm/model_executor/models/"
                                f"config.py MambaModelConfig, HybridAttentionMambaModelConfig; vllm/v1/"
                                f"kv_cache_interface.py MambaSpec), which kvplan does not model; drop the flag "
                                f"(vLLM's default for these models is off)")
        return None

    def check_speculative(self, spec, speculative) -> None:
        """Speculative decoding on a model with state-space layers, where this release raises
        'Mamba with speculative decoding is not supported yet' for its architecture (rule
        ``state_speculative_archs``: every architecture but Qwen3-Next up to 0.16.0)."""
        if speculative is not None and not self.rule("speculative_read"):
            raise BadInputError(f"speculative decoding on {self.name}: its drafter code (v1/spec_decode/eagle.py) "
                                f"changed from 0.20.0 and kvplan has not read it; use --engine vllm==0.19.1")
        allowed = self.rule("state_speculative_archs")
        if speculative is None or allowed is None or not any(_states(spec)) or spec.architecture in allowed:
            return
        raise BadInputError(f"speculative decoding with {spec.name}'s state-space layers: {self.name} raises 'Mamba "
                            f"with speculative decoding is not supported yet' for {spec.architecture or 'it'} "
                            f"(MambaBase.get_kv_cache_spec, vllm/model_executor/layers/mamba/abstract.py; "
                            f"vllm/v1/worker/gpu_model_runner.py before 0.11.1; it runs "
                            f"{', '.join(allowed) or 'none'}); use vllm 0.17.0 or later")

    def pool_paging(self, paging, spec, gpu: GPU):
        """``paging`` with the attention block alignment this release gives an attention +
        state-space model on ``gpu``: 32, not 16, for attention heads of 256 on Blackwell with
        FlashInfer, the default backend there (rule ``hybrid_alignment_32``, 0.11.1-0.17.1).
        Qwen3-Next-80B (heads of 256) at tp 4 on a B200: a 274,432 B state over 1,024 B a token
        needs 32 x cdiv(274,432, 32,768) = 288 tokens, not 16 x 17 = 272 (at tp 2 both give 544)."""
        where = self.rule("hybrid_alignment_32")
        cc = gpu.compute_capability
        if where is None or cc is None or not where[0] <= cc < where[1] or spec.head_dim != 256:
            return paging
        if not any(_states(spec)) or not any(k.token_proportional for k in spec.layers):
            return paging
        return dataclasses.replace(paging, hybrid_block_alignment=32)

    def scheduler_limits(self, settings: EngineSettings, max_model_len: int, *, tokens_given: bool,
                         seqs_given: bool) -> EngineSettings:
        """From 0.11.1 (rule ``scheduler_default_caps``) a default max_num_batched_tokens is capped at
        max_num_seqs x max_model_len, then a default max_num_seqs at max_num_batched_tokens
        (vllm/engine/arg_utils.py _set_default_max_num_seqs_and_batched_tokens_args, 0.19.1
        :2224-2241): max_num_seqs 1 with max_model_len 4,096 profiles 4,096 tokens, not 8,192. Every
        release then refuses max_num_batched_tokens below max_num_seqs (SchedulerConfig's check,
        0.8.0-0.33.0): BadInputError. 0.10.1-0.11.0 lower a default max_num_seqs to max_num_batched_tokens
        too (rule ``default_seqs_capped_by_tokens``); 0.8.0-0.10.0 do not, so a given 64 tokens against
        the default max_num_seqs does not start there."""
        tokens, seqs = settings.max_num_batched_tokens, settings.max_num_seqs
        if self.rule("scheduler_default_caps") and not tokens_given:
            tokens = min(seqs * max_model_len, tokens)
        if self.rule("default_seqs_capped_by_tokens") and not seqs_given:
            seqs = min(seqs, tokens)
        if tokens < seqs:  # review h34 F2
            raise BadInputError(
                f"{self.name} does not start with max_num_batched_tokens {tokens:,} below max_num_seqs {seqs:,}"
                f"{'' if seqs_given else ' (its default)'}: SchedulerConfig raises ValueError (vllm/config/"
                f"scheduler.py, 0.8.0 and 0.9.1 in vllm/config.py :1723 / :2225, 0.19.1 :273, 0.30.0 :309, 0.33.0 "
                f":331); give --max-num-batched-tokens of at least {seqs:,} or --max-num-seqs of at most {tokens:,}")
        return dataclasses.replace(settings, max_num_batched_tokens=tokens, max_num_seqs=seqs)

    def check_gpu(self, gpu: GPU) -> None:
        """A GPU below the compute capability this release's V1 engine starts on (rule
        ``v1_min_capability``: 8.0 up to 0.10.1.1) is refused: the release runs its V0 engine
        there, whose memory kvplan does not model. A GPU without a known compute capability
        (AMD, --gpu-mem) is not checked."""
        need, cc = self.rule("v1_min_capability"), gpu.compute_capability
        self._check_backends_read(gpu, "any")
        if need is not None and cc is not None and cc < need:
            raise BadInputError(f"{self.name} on {gpu.display_name or gpu.name} (compute capability {cc[0]}.{cc[1]}) "
                                f"runs only its V0 engine, whose memory kvplan does not model (below compute "
                                f"capability {need[0]}.{need[1]}: vllm/engine/arg_utils.py _is_v1_supported_oracle "
                                f"falls back to V0); use --engine vllm==0.10.2 or later")

    def _check_backends_read(self, gpu: GPU, which: str) -> None:
        """Refuse a GPU whose compute capability falls where this release's attention-backend
        choice changed unread (rule ``attention_backends_unread``: 0.24.0 below 8.0, and 12.x for MLA)."""
        unread, cc = self.rule("attention_backends_unread"), gpu.compute_capability
        if unread is None or cc is None or which not in unread:
            return
        if not any(low <= cc < below for low, below in unread[which]):
            return
        what = ("FlashInfer's attention and sampler no longer run below 8.0 (vllm/v1/attention/backends/flashinfer.py "
                "FlashInferBackend.supports_compute_capability)" if which == "any" else
                "MLA models get their own attention-backend list on 12.x (vllm/platforms/cuda.py "
                "_get_backend_priorities)" if cc >= (12, 0) else
                "MLA models run TRITON_MLA here, whose metadata builder reserves a decode workspace outside the KV "
                "pool (vllm/v1/attention/backends/mla/triton_mla.py TritonMLAMetadataBuilder."
                "_reserve_attn_logits_workspace)")
        raise BadInputError(f"{self.name} on {gpu.display_name or gpu.name} (compute capability {cc[0]}.{cc[1]}): "
                            f"{what}, which kvplan has not re-read; use --engine vllm==0.23.0")

    def check_profiled_pool(self, gpu: GPU, spec=None) -> None:
        """From 0.20.0 (rule ``cudagraph_estimate_subtracted``) vLLM subtracts from the KV pool a
        CUDA-graph memory estimate it measures by capturing trial graphs (gpu_model_runner.py
        profile_cudagraph_memory), which kvplan cannot predict: refused unless the estimate is not
        subtracted: --enforce-eager (cudagraph_mode NONE, not measured),
        VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS=0 (measured, not subtracted, as up to 0.19.1), or,
        up to 0.25.1, a GPU that is not CUDA (AMD: not measured; 0.26.0 measures on ROCm too, rule
        ``cudagraph_estimate_on_amd``). Model Runner V2 (``spec`` run on it, ``runs_v2``) subtracts
        none up to 0.28.0: its profile_cudagraph_memory returns 0 (vllm/v1/worker/gpu/model_runner.py 0.25.0
        :680-682, 0.26.0 :705-707, 0.27.0 :749-751; 0.29.0 :896-898 measures, cudagraph_utils.py
        profile_cudagraph_memory :718-, where rule non_kv_from_free_memory refuses first), and its profile forward is eager whatever the mode (need_eager=
        is_profile, 0.25.0 :1162); its graphs are captured after the KV cache is allocated. kvplan
        has read V2 on CUDA only: an AMD GPU is refused there.

        From 0.27.0 (rule ``non_kv_from_free_memory``) the non-KV memory is the device's free-memory
        drop from the worker's start to after the profile run, plus the torch peak over what stays
        allocated: it counts what PyTorch's caching allocator keeps reserved in segments that
        outlive the profile run and the runner's own buffers, which follow the allocator's segment
        layout: every profiled pool is refused, eager or not (--kv-cache-memory-bytes, which vLLM
        returns without that accounting, is planned: capacity.plan does not call this then)."""
        if self.rule("non_kv_from_free_memory"):
            raise BadInputError(
                f"{self.name} measures the memory that is not KV cache from the device's free memory "
                f"(vllm/utils/mem_utils.py memory_profiling: the free-memory drop from the worker's start to after "
                f"the profile run, plus the torch peak over what stays allocated), which counts the PyTorch "
                f"caching allocator's reserved segments and the model runner's buffers, set by the allocator's "
                f"segment layout that kvplan does not predict; give the KV memory with --kv-cache-memory-bytes "
                f"(vLLM then skips that accounting), or use --engine "
                f"vllm=={self.newest_release_where('non_kv_from_free_memory', False)}")
        if spec is not None and self.plans_v2(spec):
            return  # (an AMD GPU is refused on V2 before this: check_kv_pool)
        if self.enforce_eager or self.estimate_cudagraphs is False:
            return
        if gpu.vendor == "amd" and not self.rule("cudagraph_estimate_on_amd"):
            return
        if self.estimate_cudagraphs and not self.rule("cudagraph_estimate_subtracted"):
            # an opt-in before 0.20.0 (0.19.1 gpu_worker.py lines 397 and 446 subtract it when set; 0.13.0
            # has no such variable): kvplan has not read from which release the variable exists, and
            # where it does the estimate is as unpredictable as from 0.20.0
            raise BadInputError(
                f"VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS=1: vLLM releases that have the variable (0.19.1 does; "
                f"kvplan has not read from which one) subtract a CUDA-graph memory estimate from the KV pool, "
                f"measured by trial graph captures that kvplan does not predict; plan {self.name} without it, or "
                f"with --enforce-eager")
        if not self.rule("cudagraph_estimate_subtracted"):
            return
        amd = (" (on AMD GPUs too from 0.26.0: gpu_worker.py 'current_platform.is_cuda_alike()')"
               if gpu.vendor == "amd" else "")
        way_out = "vllm==0.25.1 (which measures it on CUDA only)" if amd else "vllm==0.19.1"
        raise BadInputError(
            f"{self.name} subtracts a CUDA-graph memory estimate from the KV pool (VLLM_MEMORY_PROFILER_ESTIMATE_"
            f"CUDAGRAPHS=1 by default from 0.20.0){amd}, measured by trial graph captures that kvplan does not "
            f"predict; plan it eager (kvplan capacity --enforce-eager, or --enforce-eager in a --from-vllm command "
            f"or a plan's from_vllm) or with VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS=0 in front of one, or use "
            f"--engine {way_out}")

    #: The attention features rule attention_features_start is keyed by, with the words a
    #: refusal names them by, and how a spec shows each.
    FEATURES = (
        ("sinks", "attention sinks", lambda spec: spec.attention_sinks),
        ("sliding_window", "sliding-window layers", lambda spec: spec.has_sliding_window),
        ("softcap", "attention logit soft-capping", lambda spec: spec.attn_logit_softcapping is not None),
        ("softcap_fp32", "attention logit soft-capping in fp32",
         lambda spec: spec.attn_logit_softcapping is not None and spec.dtype == "fp32"),
        ("fp32", "dtype fp32", lambda spec: spec.dtype == "fp32"),
        ("sliding_window_fp32", "sliding-window layers in fp32",
         lambda spec: spec.has_sliding_window and spec.dtype == "fp32"),
    )

    def check_attention_features(self, spec, gpu: GPU) -> None:
        """A model whose attention features (attention sinks, sliding-window layers, attention logit
        soft-capping, that in fp32: ``spec`` is the served spec, in the dtype it runs in) no attention
        backend this release picks on ``gpu`` runs, or where kvplan cannot tell which backend
        runs them (rule ``attention_features_start``), is refused, whatever the cache dtype. A GPU
        without a known compute capability (AMD, --gpu-mem) is checked only against rows that
        cover every capability (a release with no backend for the feature at all)."""
        table = self.rule("attention_features_start")
        cc = gpu.compute_capability
        for key, words, has in self.FEATURES:
            if not has(spec):
                continue
            for lo, below, verdict, why in table[key]:
                if cc is None and (lo, below) != ((0, 0), (99, 0)):
                    continue
                if cc is None or lo <= cc < below:
                    self._refuse_unless_starts(verdict, why, gpu, f"a model with {words}")
                    break

    def allreduce_rms_fusion(self, gpu: GPU, *, tp: int, pp: int = 1, dp: int = 1, asked: bool | None = None,
                             spec=None, nodes: int = 1) -> AllReduceFusion:
        """vLLM's FlashInfer all-reduce + RMSNorm pass (rule ``allreduce_rms_fusion``): on when
        asked (``--compilation-config '{"pass_config":{"fuse_allreduce_rms":true}}'``), off when
        turned off, else the release's default at optimization level O2 (off up to 0.16.0; from
        0.17.0 on at tp > 1, dp 1, pp 1 on compute capability 9.0 and 10.0, 10.x from 0.19.0; any dp
        and pp in 0.21.0-0.22.1; pp 1 again from 0.23.0).
        Where it runs, all-reduces up to FI_ALLREDUCE_FUSION_MAX_SIZE_MB[capability][tp] bytes
        are fused; none at tp 1 or where the table has no size. A release without the option
        refuses ``asked=True`` with one line."""
        rule = self.rule("allreduce_rms_fusion")
        if rule is None:
            if asked:
                raise BadInputError(
                    f"vllm {self.release} has no pass_config.fuse_allreduce_rms (vLLM has it from 0.12.0; "
                    f"0.10.0-0.11.2 have enable_fi_allreduce_fusion, which kvplan does not model)")
            return AllReduceFusion(False, 0, f"vLLM {self.release}: no pass_config.fuse_allreduce_rms (from 0.12.0)")
        cc = gpu.compute_capability
        ranges = rule["default_capabilities"]
        if asked is not None:
            on, why = asked, f"pass_config fuse_allreduce_rms {'true' if asked else 'false'} (asked)"
        elif not ranges:
            on, why = False, f"vLLM {self.release} default: off at every optimization level"
        else:
            single = rule.get("single_dp_pp", True)  # 0.17.0-0.20.2: dp 1 and pp 1 only
            single_pp = rule.get("single_pp", False)  # 0.23.0+: pp 1 only (any dp)
            on = (tp > 1 and (not single or (dp == 1 and pp == 1)) and (not single_pp or pp == 1)
                  and cc is not None and any(low <= cc < below for low, below in ranges))
            where = " or ".join(_capability_range_text(r) for r in ranges)
            here = f"tp {tp}, dp {dp}, pp {pp}, CC {_capability_text(cc)}"
            need = "tp > 1, dp 1, pp 1" if single else "tp > 1, pp 1" if single_pp else "tp > 1"
            why = (f"vLLM {self.release} default at O2 ({here})" if on else
                   f"vLLM {self.release} default at O2: off for {here} (on at {need} on CC {where})")
        if not on:
            return AllReduceFusion(False, 0, why)
        max_bytes = rule["max_bytes"].get(cc, {}).get(tp, 0)
        if asked is None and max_bytes and nodes > 1 and rule.get("multi_node_unread"):
            raise BadInputError(
                f"vLLM {self.release} fuses all-reduce + RMSNorm at tp {tp} across {nodes} nodes only where "
                f"FlashInfer's mnnvl workspace builds (vllm/distributed/device_communicators/flashinfer_all_reduce.py "
                f"get_fi_ar_workspace: multi-node NVLink), which kvplan cannot tell; say which with "
                f"--fuse-allreduce-rms or --no-fuse-allreduce-rms")
        if tp == 1:
            why += "; the pass disables itself at tp 1"
        elif not max_bytes:
            why += (f"; FI_ALLREDUCE_FUSION_MAX_SIZE_MB has no size for CC {_capability_text(cc)} at tp {tp}: "
                    f"the pass disables itself")
        return AllReduceFusion(True, max_bytes, why)

    def check_kv_on_gpu(self, fmt, spec, gpu: GPU) -> None:
        """An fp8 KV cache (fp8_e4m3, fp8_e5m2) on a GPU where this release does not start it
        under the V1 engine (rule ``fp8_kv_start``: the attention backend refuses it or cannot
        compile it, or the release falls back to its V0 engine, which kvplan does not model) is
        refused. A model with MLA layers goes to the MLA backends and is checked against rule
        ``fp8_kv_start_mla`` (rows by format: no MLA backend takes fp8_e5m2 from 0.11.1); a GPU
        without a known compute capability (AMD, --gpu-mem) is not checked."""
        if any(isinstance(k, MLALatent) for k in set(spec.layers)):
            if not self.rule("mla_forward_read"):  # none at present (0.26.0 read: FINDINGS_h31_v26moe.md)
                raise BadInputError(
                    f"{self.name}: {spec.name}'s MLA attention runs an MLA layer (vllm/model_executor/layers/attention/"
                    f"mla_attention.py) whose profile-run memory kvplan has not read for this release; use --engine "
                    f"vllm=={self.newest_release_where('mla_forward_read', True)}")
            self._check_backends_read(gpu, "mla")
            self.check_mla_prefill(spec, gpu)
        self.check_attention_features(spec, gpu)
        cc = gpu.compute_capability
        if (self.rule("fa4_hd256_block") and not spec.has_mla and cc is not None and cc[0] in (10, 11)
                and 256 in (spec.head_dim, spec.v_head_dim)):
            raise BadInputError(
                f"{self.name} on {gpu.display_name or gpu.name} (compute capability {cc[0]}.{cc[1]}): {spec.name} has "
                f"head size 256, for which FlashAttention 4's dedicated kernel takes 128-token kernel blocks "
                f"(vllm/v1/attention/backends/flash_attn.py FlashAttentionBackend.get_supported_kernel_block_sizes "
                f"0.29.0 :111-116, fa_utils.py uses_fa4_hd256_kernel :224-233, FA4_HD256_PAGE_SIZE :14): the block "
                f"size of its layers (a sliding-window layer takes its block from the kernel blocks) depends on which "
                f"backend and FlashAttention version start, which kvplan has not read; use --engine "
                f"vllm=={self.newest_release_where('fa4_hd256_block', False)}")
        heads = [h for h in (spec.head_dim, spec.v_head_dim) if h]
        if (spec.architecture in self.rule("mm_prefix_composite_backend") and cc is not None
                and ((cc[0] == 10 and any(h in (256, 512) for h in heads))
                     or (cc[0] == 9 and max(heads, default=0) > 256))):
            # the composites take head sizes 256 and 512 only (triton_flashinfer.py / triton_flash_attn.py
            # head_sizes=(256, 512), composite.py supports_head_size 0.30.0 :404-408): vLLM passes them over
            # for any other head size and picks as 0.29.0 (review h34 F1: Gemma-3-27B, head 128, on a B200);
            # on 9.x the causal route needs FlashAttention 4, which fa_utils.py get_flash_attn_version
            # (0.30.0 :139-167) takes over FA3 only for a head size above 256
            raise BadInputError(
                f"{self.name} on {gpu.display_name or gpu.name} (compute capability {cc[0]}.{cc[1]}): {spec.name} "
                f"({spec.architecture}) is a multimodal prefix-LM model, for which this release puts a composite "
                f"attention backend first (vllm/platforms/cuda.py _get_backend_priorities 0.30.0 :158-176: "
                f"{'TRITON_FLASHINFER' if cc[0] == 10 else 'TRITON_FLASH_ATTN'}; v1/attention/backends/composite.py), "
                f"whose kernel blocks and KV layout kvplan has not read; use --engine "
                f"vllm=={self.newest_release_where('mm_prefix_composite_backend', ())}")
        if (self.rule("fa4_sm90_fp8_hd512_block") and not spec.has_mla and cc is not None and cc[0] == 9
                and fmt.name == "fp8_e4m3" and spec.head_dim == 512):
            raise BadInputError(
                f"{self.name} on {gpu.display_name or gpu.name} (compute capability {cc[0]}.{cc[1]}): {spec.name} has "
                f"head size 512 with an fp8 KV cache, for which FlashAttention 4 takes 64-token kernel blocks "
                f"(vllm/v1/attention/backends/flash_attn.py FlashAttentionBackend._get_sm90_fa4_fp8_kv_block_size "
                f"0.31.0 :297-325) if get_flash_attn_version picks version 4 there, which kvplan has not read; use "
                f"--kv-cache-dtype auto, or --engine vllm=={self.newest_release_where('fa4_sm90_fp8_hd512_block', False)}")
        if cc is None or fmt.name not in ("fp8_e4m3", "fp8_e5m2"):
            return
        if spec.has_mla:
            rows = self.rule("fp8_kv_start_mla")[fmt.name]
        else:
            # a model with attention sinks has rows of its own where they differ (fp8_kv_start_sinks)
            sinks = self.rule("fp8_kv_start_sinks") if spec.attention_sinks else None
            if sinks is not None:
                verdict, why = next((v, w) for lo, below, v, w in sinks if lo <= cc < below)
                return self._refuse_unless_starts(verdict, why, gpu, "a model with attention sinks", fmt.name)
            rows = self.rule("fp8_kv_start")
        verdict, why = next((v, w) for lo, below, v, w in rows if lo <= cc < below and self._takes(v, spec))
        if verdict != "flashinfer":
            self._refuse_unless_starts(verdict, why, gpu, "", fmt.name)

    def check_mla_prefill(self, spec: ModelSpec, gpu: GPU) -> None:
        """From 0.26.0 (rule ``mla_prefill_dimensions``) the dense-MHA MLA prefill runs on FlashAttention
        only for the MLA dimensions (qk_nope_head_dim, qk_rope_head_dim, v_head_dim) its
        FlashAttnPrefillBackend.supports_mla_dimensions lists: DeepSeek (128, 64, 128) and Mistral S4
        (64, 64, 128) everywhere; GLM (192, 64, 256) off Blackwell (10.x) only -- 0.26.0: FlashAttention 4,
        which 10.x runs where it is installed, does not take it; 0.27.0: it does, but on 10.x the selector
        puts the TRT-LLM ragged prefill first for GLM's dims. Other dimensions: vLLM raises (no MLA prefill
        backend) off 10.x -- on AMD only where AITER is not installed -- and on 10.x the TRT-LLM ragged,
        FlashInfer or TokenSpeed prefill runs, not read: refused either way, as is a spec without its
        MLA projection sizes."""
        dims_rule = self.rule("mla_prefill_dimensions")
        if dims_rule is None:
            return
        mla = spec.mla
        dims = None if mla is None else (mla.qk_nope_head_dim, mla.qk_rope_head_dim, mla.v_head_dim)
        cc, amd = gpu.compute_capability, gpu.vendor == "amd"
        blackwell = cc is not None and cc[0] == 10
        # dims taken everywhere but on 10.x (ROCm: vLLM's FlashAttention has no version, so not 4; no 10.x
        # order there); a GPU known by its memory alone may be a Blackwell
        off_blackwell = dims_rule.get("not_fa4", ()) + dims_rule.get("not_blackwell", ())
        if dims in dims_rule["every"] or (dims in off_blackwell and (amd or (cc is not None and not blackwell))):
            return
        where = "vllm/v1/attention/backends/mla/prefill/flash_attn.py FlashAttnPrefillBackend.supports_mla_dimensions"
        if dims is None:
            verdict, why = "unmodelled", (f"its MLA prefill takes only some MLA dimensions ({where}) and the spec does "
                                          f"not give qk_nope_head_dim / qk_rope_head_dim / v_head_dim")
        elif dims in dims_rule.get("not_fa4", ()):
            verdict, why = "unmodelled", (f"FlashAttention 4 (Blackwell, where installed) does not take the MLA "
                                          f"dimensions {dims} ({where}), and the TRT-LLM ragged / FlashInfer / "
                                          f"TokenSpeed prefill that then runs is not read")
        elif dims in off_blackwell:
            verdict, why = "unmodelled", (f"on Blackwell the MLA prefill selector tries the TRT-LLM ragged prefill "
                                          f"first for the MLA dimensions {dims} (vllm/v1/attention/backends/mla/"
                                          f"prefill/selector.py _get_mla_prefill_backend_priorities), not read")
        elif blackwell or cc is None or amd:
            verdict, why = "unmodelled", (f"FlashAttention's MLA prefill does not take the MLA dimensions {dims} "
                                          f"({where}), and what runs instead is not read (TRT-LLM ragged, FlashInfer "
                                          f"or TokenSpeed on 10.x; AITER on ROCm where installed)")
        else:
            taken = ", ".join(map(str, dims_rule["every"] + off_blackwell))
            verdict, why = "fails", (f"FlashAttention, its only MLA prefill off Blackwell, takes the MLA dimensions "
                                     f"{taken} only, not {dims} ({where}), so get_mla_prefill_backend raises")
        self._refuse_unless_starts(verdict, why, gpu, f"{spec.name}'s MLA attention")

    def _takes(self, verdict: str, spec) -> bool:
        """A row of fp8_kv_start applies: any row but FLASHINFER's, which applies only to a head size
        FlashInfer supports (rule flashinfer_head_sizes); vLLM's backend selection passes over a
        backend that refuses the head size to the next one (phi-3-mini's 96 on an A100: TRITON_ATTN,
        which cannot compile its fp8 type below compute capability 8.9)."""
        return verdict != "flashinfer" or spec.head_dim in self.rule("flashinfer_head_sizes")

    def check_weights(self, weights: str, gpu: GPU) -> None:
        """A weight format whose quantization method needs a newer GPU than ``gpu`` (rule
        ``weights_min_capability``), or that this release has no method for, is refused. A GPU
        without a known compute capability (AMD, --gpu-mem) is not checked."""
        refuse_weights_below(self.name, self.rule("weights_min_capability"), weights, gpu,
                             "its quantization method's get_min_capability", "vLLM added it in a later release")
        if (weights == "mxfp4" and self.rule("mxfp4_sm90_expert_layout") == "installed" and gpu.vendor != "amd"
                and gpu.compute_capability == (9, 0)):
            raise BadInputError(f"{self.name} holds mxfp4 experts on compute capability 9.0 in the Marlin or the "
                                f"Triton layout by whether the triton_kernels package is installed (not vendored, "
                                f"not a dependency; rule mxfp4_sm90_expert_layout), so their bytes are not known: "
                                f"use --engine vllm==0.10.1.1 or vllm==0.12.0 to 0.19.1")

    def serving_dtype(self, spec: ModelSpec, gpu: GPU, explicit: bool) -> str:
        """The dtype this release runs ``spec`` in on ``gpu`` (rule ``auto_dtype``): with --dtype
        auto a float32 config is downcast and a dtype the GPU cannot run is replaced (e.g. a bf16
        model on a T4 runs in fp16, Gemma-2 there in fp32); a --dtype the release refuses on this
        GPU (bf16 below compute capability 8.0; fp16 for Gemma-2/3 and GLM-4 from 0.9.1) is
        refused. A GPU without a known compute capability (--gpu-mem) is taken to run bf16."""
        rule = self.rule("auto_dtype")
        model_type = HF_MODEL_TYPES.get(spec.architecture, "")
        cc = gpu.compute_capability
        supported = ("bf16", "fp16", "fp32") if cc is None or cc >= (8, 0) else ("fp16", "fp32")
        where = f"{self.name} on {gpu.display_name or gpu.name}" + (f" (compute capability {cc[0]}.{cc[1]})" if cc else "")
        no_fp16 = rule.get("no_fp16", ())
        d = spec.dtype
        if explicit:
            if d not in supported:
                raise BadInputError(f"{where} refuses --dtype {d}: vLLM runs bfloat16 only from compute "
                                    f"capability 8.0; use --dtype fp16")
            if d == "fp16" and model_type in no_fp16:
                raise BadInputError(f"{self.name} refuses --dtype fp16 for {spec.name} (model type {model_type}: "
                                    f"'Numerical instability', vllm _FLOAT16_NOT_SUPPORTED_MODELS); use bf16 or fp32")
            return d
        if rule["kind"] == "preferred":
            runs = [x for x in supported if not (x == "fp16" and model_type in no_fp16)]
            if d == "fp32":
                d = runs[0]
            return d if d in runs else runs[0]
        if d == "fp32":
            d = "bf16" if model_type in rule["fp32_to_bf16"] else "fp16"
        if model_type in rule["always_bf16"]:
            d = "bf16"
        if d not in supported:
            if not rule["fallback"]:
                raise BadInputError(f"{where} does not start {spec.name} in {d}: this release refuses bfloat16 below "
                                    f"compute capability 8.0 (vllm/v1/worker/gpu_worker.py); pass --dtype fp16")
            d = supported[0]
        return d

    def model_block_size(self, spec: ModelSpec, gpu: GPU, fmt, requested: int | None, block_size: int) -> int:
        """The block size this release runs ``spec`` at on ``gpu``: MLA models take their
        attention backend's (rules ``mla_block_size`` / ``sparse_mla_block_size``); other
        models ``block_size`` (the --block-size, or the default 16). Where the backend, and so
        the block, depends on what kvplan does not model (Blackwell's MLA backends, unknown
        GPUs), BadInputError names it rather than guessing."""
        from kvplan.layers import MLAIndexed

        if not spec.has_mla:
            return block_size
        sparse = any(isinstance(k, MLAIndexed) for k in set(spec.layers))
        cc = gpu.compute_capability
        where = f"{self.name} on {gpu.display_name or gpu.name}"
        if gpu.vendor == "amd" and not sparse:
            # ROCm with VLLM_ROCM_USE_AITER unset (the default, vllm/envs.py): TRITON_MLA, whatever the
            # release (vllm/platforms/rocm.py); it takes a block that is a multiple of 16.
            return self._triton_mla_block(requested, block_size, where)
        if cc is None:
            raise BadInputError(f"{where}: vLLM chooses an MLA model's KV block size by the GPU's CUDA compute "
                                f"capability, which kvplan does not know for this GPU; name it with --gpu "
                                f"(see `kvplan gpus`)")
        if sparse:
            return self._sparse_mla_block(cc, requested, where)
        rule = self.rule("mla_block_size")
        if cc[0] == 10:
            # Blackwell: FlashInfer MLA (32 or a multiple of 64) or CUTLASS MLA (a multiple of 128), by
            # release, head dims and flags. 128 is kept by both; from 0.18 any --block-size is kept.
            if requested is not None and rule == "backend-preferred":
                return self._triton_mla_block(requested, block_size, where)
            if requested == 128:
                return 128
            raise BadInputError(f"{where}: kvplan does not model which MLA attention backend vLLM picks on "
                                f"compute capability {cc[0]}.{cc[1]} (FlashInfer MLA: block 32 or 64; CUTLASS MLA: "
                                f"128); give the block size the deployment runs, e.g. --block-size 128")
        if cc[0] != 9:  # no FlashMLA / FlashAttention MLA: TRITON_MLA keeps the block
            return self._triton_mla_block(requested, block_size, where) if rule == "backend-preferred" \
                else block_size
        if rule == "flashmla-exactly-64":
            return 64
        if rule == "flashmla-multiple-of-64":
            return block_size if block_size % 64 == 0 else 64
        # backend-preferred, Hopper: FLASH_ATTN_MLA (16) for 16-bit caches, FLASHMLA (64) for fp8.
        if requested is not None:
            return self._triton_mla_block(requested, block_size, where)
        if fmt.name in ("bf16", "fp16"):
            return 16
        if fmt.name == "fp8_e4m3":
            return 64
        raise BadInputError(f"{where}: no MLA attention backend of this release stores the cache as "
                            f"{fmt.name} on compute capability 9.x (FLASH_ATTN_MLA: 16-bit; FLASHMLA and "
                            f"TRITON_MLA: 16-bit, fp8_e4m3)")

    @staticmethod
    def _triton_mla_block(requested: int | None, block_size: int, where: str) -> int:
        if block_size % 16:
            raise BadInputError(f"{where}: vLLM's MLA backends run blocks of a multiple of 16 tokens "
                                f"(TRITON_MLA: MultipleOf(16)); got --block-size {block_size}")
        return block_size

    def _sparse_mla_block(self, cc: tuple[int, int], requested: int | None, where: str) -> int:
        rule = self.rule("sparse_mla_block_size")
        if rule is None:
            raise BadInputError(f"{where}: this release has no DeepSeek sparse attention "
                                f"(DeepseekV32ForCausalLM arrived in vLLM 0.11.0)")
        if cc[0] not in (9, 10):
            raise BadInputError(f"{where}: vLLM's DeepSeek sparse attention backends (FlashMLA sparse, FlashInfer "
                                f"MLA sparse) need compute capability 9.x or 10.x, not {cc[0]}.{cc[1]}")
        if rule == "exactly-64":
            return 64
        if requested is None:
            if cc[0] == 10:
                raise BadInputError(f"{where}: kvplan does not model whether vLLM picks FlashInfer MLA sparse "
                                    f"(block 32) or FlashMLA sparse (64) here; give --block-size 64")
            return 64
        if requested % 64:
            raise BadInputError(f"{where}: DeepSeek sparse attention runs blocks of a multiple of 64 tokens "
                                f"(FlashMLA sparse: [64]); got --block-size {requested}")
        return requested

    def sampler_path(self) -> str:
        path = self.rule("sampler_top_k_top_p")
        if path == "flashinfer-if-installed":
            return "sort" if self.flashinfer_sampler is False else "flashinfer"
        return path

    def gpu_tier(self, gpu: GPU) -> str:
        """The row of rule ``scheduler_defaults`` this GPU takes (rule ``large_gpu_test``): "huge" from
        160 GiB where the release has that tier (0.28.0+: B200 191,502,483,456 B, MI300X; an H200's
        150,119,844,413 B is below 171,798,691,840), "large" from 70 GiB (not an A100 from 0.9.0), else "small"."""
        test = self.rule("large_gpu_test")
        if test.startswith(">= 160 GiB") and gpu.memory_bytes >= 160 * GIB:
            return "huge"
        big = gpu.memory_bytes >= 70 * GIB
        if test == ">= 70 GiB":
            return "large" if big else "small"
        return "large" if big and "a100" not in gpu.name.lower() else "small"

    # -- the planner's interface --------------------------------------------------------------
    def settings(self, gpu: GPU, *, tp: int = 1, pp: int = 1, memory_fraction=None, block_size=None,
                 max_num_batched_tokens=None, max_num_seqs=None, dp_attention: int = 1, spec=None,
                 max_model_len: int | None = None) -> EngineSettings:
        if self.usage_context not in USAGE_CONTEXTS:
            raise BadInputError(f"vLLM usage context must be one of {', '.join(USAGE_CONTEXTS)}, "
                                f"got {self.usage_context!r}")
        block = positive(block_size, "--block-size") or self.default_block_size
        choices = self.rule("block_size_choices")
        if choices is not None and block not in choices:
            raise BadInputError(f"{self.name} takes --block-size {', '.join(map(str, choices))}; got {block}")
        size = self.gpu_tier(gpu)
        default_tokens, default_seqs = self.rule("scheduler_defaults")[size][self.usage_context]
        arch = getattr(spec, "architecture", None)
        if max_num_batched_tokens is None and arch in self.rule("mm_prefix_lm_token_floor"):
            # vllm/engine/arg_utils.py _get_min_mm_batched_tokens (rule mm_prefix_lm_token_floor)
            raise BadInputError(f"{self.name} raises the default max_num_batched_tokens of {arch} to its largest "
                                f"multimodal item's tokens (vllm/engine/arg_utils.py _get_min_mm_batched_tokens, "
                                f"for multimodal prefix-LM models), which kvplan does not compute; give "
                                f"--max-num-batched-tokens")
        tokens = positive(max_num_batched_tokens, "--max-num-batched-tokens") or default_tokens
        seqs = positive(max_num_seqs, "--max-num-seqs") or default_seqs
        frac = fraction(memory_fraction, "--gpu-memory-utilization", self.rule("gpu_memory_utilization"))
        return EngineSettings(self.name, frac, self.fraction_name, block, tokens, seqs, tp, pp, str(self.release))

    def mtp_keeps_own_head(self) -> bool:
        return self.rule("mtp_own_lm_head")

    def requested_bytes(self, total_bytes: int, memory_fraction) -> int:
        """The memory a worker asks for, ``total x gpu_memory_utilization`` in whole bytes as this
        release rounds it (rule ``requested_memory_rounding``). vLLM multiplies in Python floats
        (the utilization is a float), so the float product is rounded, not the exact fraction.
        H100 SXM (85,029,027,840 B) x 0.92: 78,226,705,612.8 -> 78,226,705,613 B on 0.14.0+."""
        requested = total_bytes * float(memory_fraction)
        return math.ceil(requested) if self.rule("requested_memory_rounding") == "ceil" else math.floor(requested)

    def carve(self, spec: ModelSpec, gpu: GPU, weights, settings: EngineSettings) -> list[StageBudget]:
        self.check_fp8_block_experts(spec, weights)  # every release: a shard the checkpoint's blocks do not divide
        self.check_fp8_block_linears(spec, weights)  # the same for the dense linear layers
        self.moe_oracle_experts(spec, gpu, weights, settings)  # 0.20.0+: refuses the MoE cases not read
        total = gpu.memory_bytes
        share = self.requested_bytes(total, settings.memory_fraction)
        other = self.non_torch_bytes(gpu, settings.tp, settings.pp)
        out = []
        for st in weights.stages:
            rope = rope_cache_bytes(spec, str(self.release), st.layers, settings.max_model_len)
            w = (st.bytes + rope + self.mla_copy_bytes(spec, weights, st.layers)
                 + self.mxfp4_expert_extra_bytes(spec, gpu, weights, st)
                 + self.rocm_moe_padding_bytes(spec, gpu, weights, settings, st.layers)
                 + self.deepstack_buffer_bytes(spec, settings, st.stage))
            self.check_moe_scratch(spec, gpu, weights, settings, st.stage, st.layers)
            act = self.activation_bytes(spec, gpu, settings, st.stage, st.layers, weights)
            # V2's persistent buffers: outside the profile, so not taken from the pool (v2_persistent_bytes)
            persistent = self.v2_persistent_bytes(spec, settings, st.stage)
            out.append(StageBudget(st.stage, st.layers, total, share, w, act, other, share - w - act - other,
                                   persistent_bytes=persistent))
        return out

    def check_moe_scratch(self, spec: ModelSpec, gpu: GPU, weights, settings: EngineSettings, stage: int,
                          layers: range) -> None:
        """Refuse a pipeline stage whose profile peak is its forward where that forward runs MoE layers
        whose kernels' scratch, local to the call, kvplan has not sized: a stage other than the last
        (no dummy sampler follows, ``activation_bytes``), and the last stage (pp 1 too) where its
        dummy sampler's peak is not above the forward's dense fit plus what the call is known to
        allocate at least (``moe_call_scratch_bound``): on 0.8.0-0.13.0, fp8 / int8 / int4 experts
        allocate fused_experts_impl's (or fused_marlin_moe's) activation-dtype caches as unquantized
        experts do, beside their own buffers (review h32 D1, FINDINGS_h32_moescr2.md), and on AMD from
        0.11.1 the (T, K) output depends on the ROCm build's torch (refused unless the sampler is above
        the forward with it). Rule ``moe_persistent_workspace`` "none" (0.8.0-0.10.2) and "quantized
        unread" (0.11.0-0.13.0), and mxfp4 experts whose Triton buffers are freed
        (``mxfp4_experts_freed``); not where the kept workspace is counted (``moe_workspace_bytes``) or
        the call's scratch is sized (``moe_call_scratch_bytes``: unquantized gated experts, dp 1; the
        forward then holds it and the plan compares it with the sampler), nor, without a bound, where
        the pool's notes already say it is not (``moe_workspace_note``). Where the sampler's peak is
        above the bound, the sampler binds; the quantized experts' own buffers could still lift the
        forward above it, and the pool's notes say so (``moe_workspace_note``)."""
        if (spec.moe is None or weights is None
                or not any(spec.is_moe_layer(layer) for layer in layers)
                or self.moe_forward_extra_bytes(spec, settings, layers, gpu, weights)):
            return
        bound = self.moe_call_scratch_bound(spec, settings, layers, gpu, weights)
        if bound is None and self.moe_workspace_note(spec, gpu, weights, settings) is not None:
            return
        sized = ("sizes only for unquantized gated experts with dp 1, on AMD up to 0.11.0 (rule moe_call_scratch)"
                 if self.rule("moe_call_scratch") is not None else "has not sized for this release")
        what = (f"{settings.max_num_batched_tokens:,} tokens, which holds the scratch of its mixture-of-experts "
                f"kernels (local to each call; rule moe_persistent_workspace), which kvplan {sized}")
        if stage == settings.pp - 1:
            fit = self.forward_bytes(spec, settings, layers, gpu, weights)
            sampler = self.sampler_bytes(spec, gpu, settings)
            rows = min(settings.max_num_seqs, settings.max_num_batched_tokens)
            head = (f"{self.name}: the dummy sampler over {rows:,} row{'s' if rows > 1 else ''} ({sampler:,} B) "
                    f"is not above the profile forward")
            where = "the last pipeline stage" if settings.pp > 1 else "the model"
            if bound is None:
                if sampler > fit:
                    return
                raise BadInputError(f"{head} ({fit:,} B without its experts' scratch) on {where}, so the profile "
                                    f"peak is that forward over {what}; raise --max-num-seqs or use --engine "
                                    f"vllm==0.14.0 or later")
            least, why = bound
            forward = self.forward_bytes(spec, settings, layers, gpu, weights, call_scratch=least)
            if sampler > forward:
                return
            raise BadInputError(f"{head} with its experts' call scratch ({forward:,} B{why}) on {where}, so the "
                                f"profile peak is that forward, which kvplan does not size here (rule "
                                f"moe_call_scratch); raise --max-num-seqs above the forward or serve bf16 experts "
                                f"on an NVIDIA GPU")
        raise BadInputError(f"{self.name}: pipeline stage {stage} (layers {layers.start}-{layers.stop - 1}) runs no "
                            f"dummy sampler, so its profile peak is its forward over {what}; use --pp 1")

    def moe_call_scratch_bound(self, spec: ModelSpec, settings: EngineSettings, layers: range, gpu: GPU,
                               weights) -> tuple[int, str] | None:
        """(bytes, what they are) that one MoE layer's call holds at least beyond the forward's dense
        fit where ``moe_call_scratch_bytes`` does not size it, or None where kvplan has no bound.
        Rule ``moe_call_scratch`` (0.8.0-0.13.0), gated experts, dp 1 (EP included: N whole):
        - fp8 / int8 / int4 experts: the unquantized call's scratch (``call_scratch_bytes``), a lower
          bound: their Triton path is the same fused_experts_impl with use_fp8_w8a8 / use_int8_w8a8 /
          use_int4_w4a16, whose cache13 and intermediate_cache2 are torch.empty(..., dtype=
          hidden_states.dtype) whatever the weights (0.10.2 fused_moe.py :1580, :1587), plus their
          quantized copies (moe_kernel_quantize_input), and fused_marlin_moe allocates the same
          M x topk x max(2N, K) and M x topk x N caches unchunked (0.10.2 fused_marlin_moe.py).
          The (T, K) output from 0.11.1 on NVIDIA only (the CUDA wheel's torch 2.9).
        - unquantized experts on AMD from 0.11.1: the call's scratch without the output (the ROCm
          build's torch decides it), refused unless the sampler is above the forward with it.
        mxfp4 (triton_kernels / Marlin / FlashInfer, not fused_experts_impl), ungated experts and
        dp > 1 have no bound here."""
        rule = self._call_scratch_rule(spec, settings, layers, gpu, weights)
        if rule is None:
            return None
        amd = gpu.vendor == "amd"
        if weights.format in ("fp8", "int8", "int4"):
            least = self.call_scratch_bytes(spec, settings, weights, rule["chunk"], rule["output"] and not amd)
            return least, (f" at least: the unquantized experts' call scratch, {least:,} B, which the "
                           f"{weights.format} experts' fused_experts call allocates too, beside its own buffers")
        if weights.format in ("bf16", "fp16", "fp32") and amd and rule["output"]:
            most = self.call_scratch_bytes(spec, settings, weights, rule["chunk"], True)
            return most, (f" with the (T, K) output fused_experts_impl allocates from torch 2.9 (disable_inplace), "
                          f"which {self.name} on ROCm does not pin")
        return None

    def unmodelled_notes(self, spec: ModelSpec, weights, *, dp: int = 1, gpu=None) -> tuple[str, ...]:
        """With dp > 1 for a MoE model (rule ``dp_moe_token_gather``): the MoE layers' gathered
        tokens of every DP rank and the DP communicators are not in the plan's activation peak
        and non-torch figures, which are dp 1's."""
        notes = self.rocm_notes(gpu)
        if dp <= 1 or spec.moe is None:
            return notes
        return notes + (f"dp {dp}: each rank's activation peak and non-torch memory are planned as with dp 1; vLLM "
                f"{self.release}'s MoE layers run on the tokens of all {dp} ranks ({self.rule('dp_moe_token_gather')}: "
                f"the profile run gathers {dp} x max_num_batched_tokens tokens) and the data-parallel communicators "
                f"add buffers, neither counted, so the KV pool can be smaller than planned",)

    def rocm_notes(self, gpu: GPU | None) -> tuple[str, ...]:
        """On an AMD GPU: the non-torch and startup figures kvplan subtracts come from NVIDIA startup
        logs (rules non_torch_bytes / startup_in_use_bytes; no ROCm log has been read), and 0.9.1-0.20.2
        take the weights as the device's used memory across load_model (rule ``rocm_weights_line``),
        which also counts what the caching allocator keeps reserved after loading (segment rounding, freed
        temporaries: utils DeviceMemoryProfiler, 0.9.1 lines 894-915, calls no empty_cache) and non-torch
        memory taken while loading, which kvplan does not count."""
        if gpu is None or gpu.vendor != "amd":
            return ()
        line = (f"on {gpu.display_name} the non-torch memory kvplan subtracts is the figure of NVIDIA startup logs "
                f"(no ROCm startup log has been checked)")
        device = self.rule("rocm_weights_line") == "device"
        if device:
            line += (f", and {self.name} takes the weights as the device's used memory across load_model "
                     f"(platforms/rocm.py get_current_memory_usage: total - free), which also counts what the "
                     f"caching allocator keeps reserved after loading (segment rounding, freed temporaries; "
                     f"DeviceMemoryProfiler calls no empty_cache) and any non-torch memory taken while loading, "
                     f"none of which kvplan counts")
        return (line + (": the KV pool can differ from the plan, most likely smaller" if device else
                        ": the KV pool can differ from the plan either way"),)

    # -- the parts of the waterfall -------------------------------------------------------------
    def mxfp4_expert_layout(self, spec: ModelSpec, gpu: GPU, weights) -> str | None:
        """The layout (rule ``mxfp4_sm90_expert_layout``: "marlin" or "triton") in which this
        release holds mxfp4 experts on ``gpu``: an NVIDIA GPU of compute capability 9.0 without
        expert parallelism, for gated experts with biases (gpt-oss); None elsewhere (Blackwell,
        AMD, --gpu-mem, EP: not read; experts without biases: Mxfp4MoEMethod.create_weights
        registers w13_bias / w2_bias unconditionally before 0.19.0 (0.14.1 quantization/mxfp4.py
        :359-405) and only with moe.has_bias in 0.19.1, not read per release; the pool's
        ``moe_workspace_note`` says so)."""
        layout = self.rule("mxfp4_sm90_expert_layout")
        if (weights is None or weights.format != "mxfp4" or layout not in ("marlin", "triton", "triton64")
                or spec.moe is None or not spec.moe.expert_bias or not spec.mlp_gated
                or gpu.vendor == "amd" or gpu.compute_capability != (9, 0) or weights.moe_ep > 1):
            return None
        return layout

    def mxfp4_expert_extra_bytes(self, spec: ModelSpec, gpu: GPU, weights, st) -> int:
        """What vLLM's mxfp4 experts hold on one rank in stage ``st`` beyond the checkpoint's bytes
        (``mxfp4_expert_bytes`` per MoE layer, minus kvplan's checkpoint 'experts' part); 0 where
        ``mxfp4_expert_layout`` is None. gpt-oss-120b tp 1 on 0.14.1: 36 x 1,799,700,480 -
        60,993,699,840 = 3,795,517,440 B."""
        layout = self.mxfp4_expert_layout(spec, gpu, weights)
        if layout is None:
            return 0
        layers = sum(1 for layer in st.layers if spec.is_moe_layer(layer))
        extra = layers * mxfp4_expert_bytes(spec, weights.moe_tp, layout) - st.by_part.get("experts", 0)
        if layout == "marlin":  # each layer's marlin_make_workspace_new(device, 4): SMs x 4 int32
            extra += layers * self.marlin_workspace_bytes(gpu)
        return extra

    def marlin_workspace_bytes(self, gpu: GPU) -> int:
        """prepare_moe_fp4_layer_for_marlin's ``layer.workspace = marlin_make_workspace_new(device, 4)``
        (0.10.1.1 utils/marlin_utils_fp4.py :212): torch.zeros(SMs x 4, int32) (utils/marlin_utils.py
        :201-209, ``multi_processor_count``, the catalog's compute_units): 2,112 B on an H100's 132
        SMs. Refused for a GPU without a count, as the Triton sampler's buffer is."""
        return self.compute_units(gpu, "the Marlin mxfp4 MoE workspace has 4 int32 a streaming multiprocessor "
                                       "(vllm/model_executor/layers/quantization/utils/marlin_utils.py "
                                       "marlin_make_workspace_new)") * 4 * 4

    def compute_units(self, gpu: GPU, needs: str, way_out: str = "") -> int:
        """The catalog GPU's SM (NVIDIA) / CU (AMD) count, what vLLM reads from
        ``multi_processor_count``; one line (BadInputError) naming what ``needs`` it where the
        catalog has none."""
        if gpu.compute_units is None:
            raise BadInputError(f"{self.name}: {needs}, and kvplan has no SM count for {gpu.name} ({gpu.display_name}; "
                                f"compute_units in kvplan/data/gpus.yaml): not planned{way_out}")
        return gpu.compute_units

    def mla_copy_bytes(self, spec: ModelSpec, weights, layers: range) -> int:
        """The model-dtype copy of each MLA layer's quantized kv_b_proj that this release keeps
        beside it (W_UK_T / W_UV, rule ``mla_kv_b_dequantized_copy``) for ``layers``, on one
        tensor-parallel rank; 0 when kv_b_proj is unquantized (bf16 DeepSeek-V2-Lite) or the
        model has no MLA. DeepSeek-V3 fp8, bf16 model: 2,046,820,352 B at tp 1, 255,852,544 at tp 8."""
        from kvplan.weights import kv_b_proj_quantized, mla_absorbed_bytes

        if not self.rule("mla_kv_b_dequantized_copy") or not kv_b_proj_quantized(spec, weights):
            return 0
        return mla_absorbed_bytes(spec, layers, weights.tp, dtype_bytes(spec))

    def mla_decode_read_bytes(self, spec: ModelSpec, weights, layers: range, gpu=None) -> int | None:
        """The model-dtype copy of a quantized kv_b_proj (``mla_copy_bytes``, the same rule): the
        absorbed decode reads W_UK_T and W_UV, never kv_b_proj, which only the prefill path runs.
        vllm/model_executor/layers/attention/mla_attention.py (0.19.1): decode, forward_impl's
        ``torch.bmm(mqa_q_nope, self.W_UK_T, ...)`` (line 664) and _v_up_proj's ``torch.bmm(x,
        self.W_UV, ...)`` (line 872); prefill, forward_mha's ``self.kv_b_proj(kv_c_normed)`` (line
        2673). Before 0.15.0 vllm/v1/attention/backends/mla/common.py does the same (0.8.0: W_UK_T
        line 656, W_UV 642, kv_b_proj in _forward_prefill 799; 0.10.1.1: 1199, 952, 1084; 0.14.1:
        2102, 1298, 1910). An unquantized kv_b_proj's W_UK_T / W_UV are views of its weight: None.
        DeepSeek-V3 fp8 at tp 8: 61 x 4,194,304 = 255,852,544 B a step in bf16, for the
        61 x 2,113,536 = 128,925,696 B of the stored fp8 kv_b_proj (4,096 x 512 values, 4,096 fp32
        scales a rank)."""
        return self.mla_copy_bytes(spec, weights, layers) or None

    #: The SM count a GPU given by --gpu-mem alone is taken to have (the H100 SXM's; a note says so).
    MEMORY_ALONE_SMS = 132

    def triton_compute_units(self, gpu: GPU) -> int:
        """The SM (NVIDIA) / CU (AMD) count the Triton top-k/top-p kernel sizes its buffer by:
        apply_top_k_top_p_triton's ``num_sm = num_compute_units(logits.device.index)`` (0.17.0-0.18.1
        topk_topp_triton.py :992, 0.19.0-0.21.0 :1010, 0.23.0 :906), which is
        ``torch.cuda.get_device_properties(device_id).multi_processor_count`` on CUDA and ROCm alike
        (vllm/platforms/cuda.py num_compute_units, 0.19.1 :520-521, 0.21.0 :560-561; rocm.py 0.19.1
        :869-870, 0.21.0 :922-923): the catalog's ``compute_units``. Refused for a catalog GPU without
        one; a GPU known only by its memory (no vendor) is taken to have the H100 SXM's, and the plan
        says so (Pool.notes), as it says which dtype such a GPU is taken to run."""
        if gpu.compute_units is None and not gpu.vendor:
            return self.MEMORY_ALONE_SMS
        return self.compute_units(gpu, "the Triton top-k/top-p sampler's buffer has one row of the vocabulary per "
                                       "SM (CU on AMD) up to the rows sampled (vllm/v1/sample/ops/topk_topp_triton.py)",
                                  "; vLLM 0.16.0 and earlier (no Triton sampler) or --engine raw plan it")

    def sampler_bytes(self, spec: ModelSpec, gpu: GPU, settings: EngineSettings) -> int:
        """The dummy sampler's torch peak (last pipeline stage)."""
        d = dtype_bytes(spec)
        t = settings.max_num_batched_tokens
        s = min(settings.max_num_seqs, t)
        vocab = spec.vocab_size
        path = self.sampler_path()
        if path == "triton" and s <= 64 and self.rule("topp_split_small_batch"):
            raise BadInputError(
                f"{self.name}: the V1 dummy sampler samples {s:,} rows (min(max_num_seqs, max_num_batched_tokens)), "
                f"and at 64 rows or fewer this release's Triton top-k/top-p sampler also runs a split top-p pipeline "
                f"with buffers of its own (vllm/v1/sample/ops/topk_topp_triton.py apply_top_k_top_p_triton 0.30.0 "
                f":1614-1718, _apply_topp_split :1568-1610), which kvplan has not read; raise --max-num-seqs (and "
                f"--max-num-batched-tokens) above 64, or use --engine vllm=={self.newest_release_where('topp_split_small_batch', False)}")
        if path == "triton" and s < R.TRITON_MIN_ROWS:  # fewer rows: the torch sort runs instead
            path = "sort"
        own = R.sort_bytes_per_logit(s) if path == "sort" else R.SAMPLER_PATH_BYTES_PER_LOGIT[path]
        per_logit = d + (4 if d != 4 else 0) + own
        peak = s * vocab * per_logit + R.PROFILE_WORKSPACE_BYTES
        if path == "triton":
            sms = self.triton_compute_units(gpu)
            rows = min(next_power_of_2(min(sms, s)), sms)
            peak += rows * vocab * 4
        if self.rule("hidden_states_alive_in_sampler"):
            peak += t * spec.hidden_size * d
        if self.flashinfer_first(gpu):
            # and the first call's SamplerOutput, held in sampler_output during the second (0.21.0
            # gpu_model_runner.py :5743-5765): sampled_token_ids int32 [S, 1] (sampler.py :133-141;
            # max_num_logprobs None, so no logprobs tensors), a block of S x 4 B rounded up to the
            # caching allocator's 512 B (kvplan.units.allocated_bytes): 4,096 B at S = 1,024
            peak += self.rule("sampler_flashinfer_first_bytes") + allocated_bytes(s * 4)
        return peak

    def moe_workspace_bytes(self, spec: ModelSpec, settings: EngineSettings, layers: range, gpu: GPU,
                            weights) -> int:
        """The fused-MoE workspace vLLM keeps after the profile forward, so alive during the dummy
        sampler (rule ``moe_persistent_workspace``), for a stage holding ``layers``; 0 for a dense
        stage and where the workspace is freed. Cases check_moe_workspace lets through only: the
        modular kernel with TritonExperts, unquantized experts (or block-quantized fp8 experts
        where ``fp8_block_experts_triton``: the same shapes, in the model dtype),
        MoEPrepareAndFinalizeNoEP, so M = T tokens. TritonExperts.workspace_shapes (fused_moe.py,
        0.19.1 :1976-1991): workspace13
        (C, topk, max(N/2, K)), workspace2 (C, topk, max(N, K)), fused_out (T, K), in the model
        dtype, N = w13's rows a rank = 2 x expert_intermediate / tp, K = hidden, C = the chunk:
        T, or min(T, 16,384) on 0.14.0-0.17.1. One chunk: fused_out is a view of workspace13 (the
        larger); more: its own buffer. WorkspaceManager.get_simultaneous rounds each part up to
        256 B (vllm/v1/worker/workspace.py). Qwen3-30B-A3B, T = 8,192, tp 1: 2 x 8,192 x 8 x
        2,048 x 2 = 536,870,912 B."""
        kind = self.rule("moe_persistent_workspace")
        if kind.startswith("oracle"):  # 0.20.0+
            experts = self.moe_oracle_experts(spec, gpu, weights, settings)
            if experts is None or not any(spec.is_moe_layer(layer) for layer in layers):
                return 0
            if experts == "flashinfer cutlass":
                # FlashInferExperts.workspace_shapes: workspace13 (T, K) shared with the (T, K) output,
                # workspace2 (0,): get_simultaneous rounds each part to 256 B
                return round_up(settings.max_num_batched_tokens * spec.hidden_size * dtype_bytes(spec), 256)
            kind = "triton"
        if kind not in ("triton", "triton chunked") or spec.moe is None or weights is None:
            return 0
        if self.moe_workspace_note(spec, gpu, weights, settings) is not None:
            return 0  # a case kvplan has not read: not counted, and the pool's notes say so
        if self.mxfp4_experts_freed(gpu, weights, settings):
            return 0  # mxfp4 on capability 9.0: the Triton backend frees its buffers
        if not any(spec.is_moe_layer(layer) for layer in layers):
            return 0
        t = settings.max_num_batched_tokens
        k = spec.hidden_size
        topk = spec.moe.experts_per_token
        half = spec.moe.expert_intermediate_size // settings.tp  # adjust_N_for_activation: N // 2 (gated)
        chunk = min(t, R.FUSED_MOE_CHUNK_SIZE) if kind == "triton chunked" else t
        ws13 = chunk * topk * max(half, k)
        ws2 = chunk * topk * max(2 * half, k)
        parts = (max(ws13, t * k), ws2) if chunk == t else (ws13, ws2, t * k)
        return sum(round_up(p * dtype_bytes(spec), 256) for p in parts)

    def moe_workspace_note(self, spec: ModelSpec, gpu: GPU, weights, settings: EngineSettings) -> str | None:
        """Where the persistent fused-MoE workspace (rule ``moe_persistent_workspace``) is not
        counted: quantized experts from 0.11.0 (their kernels' buffers not read; not mxfp4 experts
        where ``mxfp4_experts_freed``: nothing is kept, so nothing to say; not block-quantized fp8
        experts where ``fp8_block_experts_triton``: counted as unquantized), and from 0.14.0
        expert parallelism, dp > 1, AMD GPUs, ungated experts and experts with biases (other
        experts classes or prepare/finalize, not read). One line saying the pool can be smaller
        than planned, as ``unmodelled_notes`` says of the dp > 1 token gather; None where it is
        counted (``moe_workspace_bytes``) or freed. 0.20.0+ has no note: planned or refused
        by ``moe_oracle_experts``. For mxfp4 experts whose resident layout kvplan
        has not read (``mxfp4_expert_layout`` None: Blackwell, AMD, --gpu-mem, EP) the same line
        also says they are planned at the checkpoint's bytes (one line, not a second warning)."""
        kind = self.rule("moe_persistent_workspace")
        if kind.startswith("oracle"):
            return None  # 0.20.0+: planned exactly or refused (moe_oracle_experts, from carve)
        layout = ""
        if (spec.moe is not None and weights is not None and weights.format == "mxfp4" and kind != "unread"
                and self.mxfp4_expert_layout(spec, gpu, weights) is None):
            # Blackwell (0.14.1 quantization/mxfp4.py create_weights :300-310 pads to 256 for the SM100
            # FlashInfer backends, chosen by has_flashinfer()), AMD, --gpu-mem, EP, experts without
            # biases: not read to the end
            layout = (f"kvplan has not read the layout {self.name} holds these mxfp4 experts in here after "
                      f"process_weights_after_loading (padding, scale and bias copies: vllm/model_executor/layers/"
                      f"quantization/mxfp4.py), so they are planned at the checkpoint's bytes")
        alone = f"{self.name}: {layout} and the KV pool can be smaller than planned" if layout else None
        if (kind == "none" and spec.moe is not None and weights is not None
                and weights.format in ("fp8", "int8", "int4")
                and self.moe_call_scratch_bound(spec, settings, range(len(spec.layers)), gpu, weights) is not None):
            # 0.8.0-0.10.2: check_moe_scratch refused where the sampler is not above the forward with the
            # unquantized call scratch; above it, the quantized call's own buffers are not counted
            return (f"{self.name}: the {weights.format} experts' fused-MoE call allocates, beside the unquantized "
                    f"experts' scratch the dummy sampler was checked against (rule moe_call_scratch), buffers of "
                    f"its own (quantized copies of its inputs, their scales), which kvplan does not count, so "
                    f"the profile forward can be above the sampler and the KV pool smaller than planned")
        if spec.moe is None or kind in ("none", "unread") or self.mxfp4_experts_freed(gpu, weights, settings):
            return alone  # no kept workspace to speak of; mxfp4 experts without biases: layout still unread
        kept = ("vLLM keeps the fused-MoE workspace after the profile forward, so it is alive during the dummy "
                "sampler (vllm/v1/worker/workspace.py WorkspaceManager")
        if weights.format not in ("bf16", "fp16", "fp32") and not self.fp8_block_experts_triton(spec, gpu, weights,
                                                                                                settings):
            also = f"; {layout}," if layout else ""
            return (f"{self.name}: {kept}; from 0.11.0 the modular MoE kernel keeps its buffers); kvplan has not read "
                    f"the {weights.format} experts' kernels, so their workspace is not counted{also} and the KV pool "
                    f"can be smaller than planned")
        if kind == "quantized unread":
            return None
        why = None
        if weights.moe_ep > 1:
            why = "with --enable-expert-parallel"
        elif weights.moe_tp != settings.tp:
            why = f"with dp {weights.moe_tp // settings.tp} (the experts run on the gathered tokens of every rank)"
        elif gpu.vendor == "amd":
            why = "on AMD GPUs (the ROCm experts path is not read)"
        elif not spec.mlp_gated:
            why = "for ungated experts"
        elif spec.moe.expert_bias:
            why = "for experts with biases"
        if why is None:
            return None
        return (f"{self.name}: {kept}); kvplan sizes it for TritonExperts on unquantized, gated experts without "
                f"expert or data parallelism, so {why} it is not counted and the KV pool can be smaller than planned")

    def check_fp8_block_experts(self, spec: ModelSpec, weights) -> None:
        """Block-fp8 experts whose tensor-parallel shard of the expert intermediate size is not a multiple
        of the checkpoint's block (DeepSeek-V3's 2,048 rows at tp 32: 64 against 128): 0.8.0-0.28.0 do not
        start (Fp8MoEMethod.create_weights raises ValueError), 0.29.0 re-blocks the scales, which kvplan has
        not read (rule ``moe_fp8_block_refined``). Every release, whatever the experts class."""
        misfit = fp8_expert_shard_misfit(spec, weights)
        if misfit is not None:
            shard, block_n, block_k = misfit
            if not self.rule("moe_fp8_block_refined"):
                # 0.8.0-0.28.0: Fp8MoEMethod.create_weights raises ValueError ("The output_size of gate's and
                # up's weight = ... is not divisible by weight quantization block_n"; block_k for down at tp > 1):
                # quantization/fp8.py 0.8.0 :427-438, 0.13.0 :766-776, 0.19.1 :637-648, 0.27.0 :552-563,
                # 0.28.0 :534-546
                raise BadInputError(
                    f"{self.name} does not start {spec.name} with fp8 experts at this split: the tensor-parallel "
                    f"shard of the expert intermediate size ({shard:,}) is not a multiple of the checkpoint's "
                    f"{block_n} x {block_k} blocks, and vllm/model_executor/layers/quantization/fp8.py "
                    f"Fp8MoEMethod.create_weights raises ValueError for it; use another --tp, or "
                    f"--enable-expert-parallel")
            raise BadInputError(
                f"{self.name} refines {spec.name}'s fp8 expert block scales to a finer block where the tensor-"
                f"parallel shard of the expert intermediate size ({shard:,}) is not a multiple of the checkpoint's "
                f"{block_n} x {block_k} blocks (vllm/model_executor/layers/quantization/fp8.py Fp8MoEMethod.__init__ "
                f"0.29.0 :475-534, fused_moe/oracle/fp8.py refine_fp8_moe_block_shape :272-), which kvplan has not "
                f"read; use another --tp, or --engine vllm=={self.newest_release_where('moe_fp8_block_refined', False)}")

    def check_fp8_block_linears(self, spec: ModelSpec, weights) -> None:
        """A block-fp8 checkpoint's dense linear layer whose tensor-parallel shard the blocks do not divide
        (kvplan.engines.base.fp8_linear_shard_misfit; DeepSeek-V3 fp8 at tp 32 with --enable-expert-parallel:
        the dense MLP's down_proj, 576 input columns a rank against 128): Fp8LinearMethod.create_weights raises
        ValueError on every release (quantization/fp8.py 0.8.0 :174-197, 0.10.2 :283-305; from 0.11.0
        quantization/utils/fp8_utils.py validate_fp8_block_shape, 0.13.0 :1244-1284, 0.19.1 :1425-1473, 0.29.0
        :1197-1245), for a merged QKV / gate_up layer only up to 0.13.0 (rule ``fp8_block_merged_linear_checked``)."""
        merged = self.rule("fp8_block_merged_linear_checked")
        gdn = self.check_fp8_state_space(spec, weights)
        if (m := fp8_linear_shard_misfit(spec, weights, merged=merged, gdn=gdn)) is not None:
            raise BadInputError(
                f"{self.name} does not start {spec.name} with fp8 weights at tp {m.degree}: {m.tensor} holds "
                f"{m.size:,} {m.side} channels a rank, not a multiple of the checkpoint's {m.block}-wide blocks, and "
                f"vllm/model_executor/layers/quantization/fp8.py Fp8LinearMethod.create_weights raises ValueError "
                f"({m.value_error}); use another --tp")

    def check_fp8_state_space(self, spec: ModelSpec, weights) -> str | None:
        """The state-space projections of an fp8 checkpoint (FINDINGS_h35_fp8ssm.md): for Qwen3NextForCausalLM
        the rule ``gdn_projection_layers`` (how its Gated DeltaNet projections are built, returned for
        fp8_linear_shard_misfit), after refusing a fused layer whose modules_to_not_convert names some but not
        all shards (0.10.2's in_proj of in_proj_qkvz and in_proj_ba: quantization/utils/quant_utils.py
        is_layer_skipped raises ValueError, :281-285, at any tp). Other state-space mixers (Mamba, Mamba-2,
        lightning attention) of a block-fp8 checkpoint split over tp > 1 are refused: which of their
        projections vLLM quantizes and merges was not read. None for the others."""
        if weights is None or weights.format != "fp8" or not any(
                k.kind in ("state_space", "attention_with_state") for k in spec.layers):
            return None
        gdn = None
        if spec.ssm.type == "gated_deltanet" and spec.architecture == "Qwen3NextForCausalLM":
            gdn = self.rule("gdn_projection_layers")
        if gdn is not None:
            if (mix := qwen3_next_fp8_shard_mix(spec, weights, gdn)) is not None:
                layer, shards, listed = mix
                kept = ", ".join(m for m, hit in zip(shards, listed) if hit)
                quantized = ", ".join(m for m, hit in zip(shards, listed) if not hit)
                raise BadInputError(
                    f"{self.name} does not start {spec.name}'s fp8 checkpoint: it builds {layer} as one layer of "
                    f"{' and '.join(m.split('.')[-1] for m in shards)}, quantization_config.modules_to_not_convert "
                    f"names {kept} but not {quantized}, and vllm/model_executor/layers/quantization/utils/"
                    f"quant_utils.py is_layer_skipped raises ValueError (Detected some but not all shards of {layer} "
                    f"are quantized)" + ("; use --engine vllm==0.11.0 or newer (separate in_proj_qkvz and in_proj_ba "
                                         "layers)" if layer.endswith(".linear_attn.in_proj") else ""))
            return gdn
        if spec.weights_block is None or weights.tp <= 1:
            return None
        read = {"mamba1": "Mamba (layers/mamba/mamba_mixer.py MambaMixer: in_proj, x_proj, dt_proj, out_proj)",
                "mamba2": "Mamba-2 (layers/mamba/mamba_mixer2.py MambaMixer2: in_proj, out_proj)",
                "lightning": "lightning attention (models/minimax_text_01.py MiniMaxText01LinearAttention: "
                             "qkv_proj, output_gate, out_proj)"}.get(spec.ssm.type, f"{spec.ssm.type} mixer")
        block_n, block_k = spec.weights_block
        raise BadInputError(
            f"{self.name}: kvplan has not read which of {spec.name}'s {read} projections vLLM quantizes and merges "
            f"for a block-fp8 checkpoint ({block_n} x {block_k} blocks), and vllm/model_executor/layers/quantization/"
            f"fp8.py Fp8LinearMethod.create_weights refuses a tensor-parallel shard the blocks do not divide; plan "
            f"it at --tp 1, or use --engine raw for memory alone")

    def moe_oracle_experts(self, spec: ModelSpec, gpu: GPU, weights, settings: EngineSettings) -> str | None:
        """The experts class vLLM 0.20.0+'s oracle (vllm/model_executor/layers/fused_moe/oracle/) picks
        for this deployment, in the cases kvplan has read (rule ``moe_persistent_workspace`` "oracle
        fi-cutlass" / "oracle triton", FINDINGS_h29_moe20.md): "flashinfer cutlass" (FlashInferExperts:
        unquantized gated experts without biases on compute capability 9.0, 0.20.0-0.22.1) or "triton"
        (TritonExperts: the same experts on 9.0 from 0.23.0 and below 9.0 on every 0.20+ release;
        block-quantized fp8 experts on 9.0, rule ``moe_fp8_block_sm90_triton``), always on an NVIDIA
        GPU with dp 1 and no expert parallelism. 0.24.0's refactored layer (a FusedMoE factory of
        MoERunner / RoutedExperts) keeps the same experts, kernel and workspace (FINDINGS_h30_v24moe.md),
        so it is planned as 0.23.0; 0.25.0 / 0.25.1 compare the same (FINDINGS_h30_v25moe.md), except
        deepseek_v2.py's rewritten decoder forward (rule ``deepseek_v2_forward_read``). None before 0.20.0 or for a dense model. Every other case is
        refused with one line (BadInputError) naming what kvplan has not read ("oracle unread": a
        layer rewrite not read to the end refuses every MoE model)."""
        kind = self.rule("moe_persistent_workspace")
        if spec.moe is None or weights is None or not kind.startswith("oracle"):
            return None
        if kind == "oracle unread":  # the fused-MoE layer of a release not read for it (none at present)
            read = self.newest_release_where("moe_persistent_workspace", "oracle triton")
            raise BadInputError(f"{self.name} runs {spec.name}'s mixture-of-experts layers through the rewritten "
                                f"fused-MoE layer (vllm/model_executor/layers/fused_moe/layer.py FusedMoE, a factory of "
                                f"runner/moe_runner.py MoERunner and routed_experts.py RoutedExperts), which kvplan "
                                f"has not read for this release; use --engine vllm=={read}")
        if not self.rule("deepseek_v2_forward_read") and spec.architecture in DEEPSEEK_V2_FILE:
            # none at present: 0.25.0's rewrite was read (FINDINGS_h31_v26moe.md)
            raise BadInputError(f"{self.name} runs {spec.name} through vllm/model_executor/models/deepseek_v2.py, whose "
                                f"decoder forward kvplan has not read for this release's profile run; use --engine "
                                f"vllm=={self.newest_release_where('deepseek_v2_forward_read', True)}")
        where = "vllm/model_executor/layers/fused_moe/oracle/"

        def refuse(what: str, way_out: str = "use --engine vllm==0.19.1") -> None:
            raise BadInputError(f"{self.name} picks {spec.name}'s mixture-of-experts kernels by an oracle ({where}): "
                                f"{what}; {way_out}")

        cc = gpu.compute_capability
        if weights.moe_ep > 1:
            refuse("with --enable-expert-parallel it picks experts classes and all-to-all buffers kvplan has not read")
        if weights.moe_tp != settings.tp:
            refuse(f"with dp {weights.moe_tp // settings.tp} it picks prepare/finalize classes (every rank's tokens "
                   f"gathered) kvplan has not read")
        if gpu.vendor == "amd":
            # ROCm takes the Triton experts unless VLLM_ROCM_USE_AITER=1 (rule rocm_moe_weight_padding's comment);
            # the way out is the newest release before the oracle with the padding off (same rule: "device")
            refuse("on AMD GPUs its ROCm branch (Triton experts by default, AITER's with VLLM_ROCM_USE_AITER=1) "
                   "is one kvplan has not read",
                   'use --engine vllm==0.19.1 with the padding off: --from-vllm '
                   '"VLLM_ROCM_MOE_PADDING=0 vllm serve ..."')
        if cc is None:
            refuse(f"it branches on the GPU's compute capability, which {gpu.display_name} (given by its memory "
                   f"alone) does not have", "name the GPU with --gpu")
        fp8_block = self.fp8_block_experts_triton(spec, gpu, weights, settings)
        if weights.format not in ("bf16", "fp16") and not fp8_block:
            if weights.format == "fp8" and spec.weights_block is not None and cc == (9, 0):
                refuse("DeepSeek sparse attention's indexer takes the fused-MoE WorkspaceManager buffer too "
                       "(layers/sparse_attn_indexer.py), whose size then kvplan has not read")
            what = {"fp8": "for per-tensor fp8 experts, and block fp8 off compute capability 9.0, oracle/fp8.py puts "
                           "FlashInfer, DeepGEMM or CUTLASS experts first, whose buffers kvplan has not read",
                    "mxfp4": "kvplan has not read which kernel oracle/mxfp4.py select_gpt_oss_mxfp4_moe_backend picks "
                             "for mxfp4 experts (gpt-oss) nor the layout it holds them in"}
            refuse(what.get(weights.format, f"kvplan has not read what it picks for {weights.format} experts"))
        if not spec.mlp_gated:
            refuse("kvplan has not read what it picks for ungated experts")
        if spec.moe.expert_bias:
            refuse("kvplan has not read what it picks for experts with biases")
        if fp8_block:
            return "triton"
        if cc >= (10, 0):
            refuse(f"on compute capability {cc[0]}.{cc[1]} it puts FlashInfer's TRT-LLM / CUTLASS bf16 MoE first "
                   f"(experts/trtllm_bf16_moe.py, flashinfer_cutlass_moe.py), whose buffers kvplan has not read")
        if cc == (9, 0) and kind == "oracle fi-cutlass":
            forward = self.forward_bytes(spec, settings, range(spec.num_layers))
            call = self.flashinfer_cutlass_moe_call_bytes(spec, settings)
            if forward + call > self.sampler_bytes(spec, gpu, settings):
                refuse(f"on Hopper it runs FlashInfer's CUTLASS fused MoE (flashinfer_cutlass_moe.py), whose "
                       f"per-call workspace (up to {call:,} B at {settings.max_num_batched_tokens:,} tokens) can lift "
                       f"the profile forward's peak above the sampler's, and kvplan does not know that forward "
                       f"peak to the byte", "use --engine vllm==0.23.0 (Triton on Hopper) or 0.19.1")
            return "flashinfer cutlass"
        return "triton"

    def flashinfer_cutlass_moe_call_bytes(self, spec: ModelSpec, settings: EngineSettings) -> int:
        """At most what one call of FlashInfer's CUTLASS fused MoE allocates (through the torch
        allocator, freed when it returns) for unquantized gated experts at T tokens, tp ways, no EP
        (flashinfer-python 0.6.8.post1, the Requires-Dist of vLLM 0.20.x-0.21.0; 0.6.11.post2 for
        0.22.x): the CutlassMoeFCRunner workspace (csrc/fused_moe/cutlass_backend/
        cutlass_fused_moe_kernels.cuh getWorkspaceDeviceBufferSizes :2470-2646, n = T x topk rows):
        overlapped GEMM inputs max(n x K, n x I) and outputs max(n x 2I, n x K) in the model dtype,
        two n-int maps, the final scales (n fp32), three blocked maps of at most E x T int32, plus
        src_to_dest_map (n int, flashinfer_cutlass_fused_moe_binding.cu getWorkspaceInfo :840-864),
        experts_to_token_score (E x T fp32, fused_moe/core.py cutlass_fused_moe) and vLLM's int32
        topk_ids copy (n); and 16 MiB for the expert offsets, pointer arrays and the TMA / CUTLASS
        grouped-GEMM workspaces (per expert and per SM, not sized here). An upper bound: what the
        plan compares with the sampler's peak (``moe_oracle_experts``). Qwen3-30B-A3B, T = 8,192,
        tp 1: 571,736,064 B."""
        t = settings.max_num_batched_tokens
        n = t * spec.moe.experts_per_token
        k = spec.hidden_size
        i = spec.moe.expert_intermediate_size // settings.tp
        e = spec.moe.num_experts
        d = dtype_bytes(spec)
        gemm = n * max(k, i) * d + n * max(2 * i, k) * d
        maps = 2 * n * 4 + n * 4 + 3 * e * t * 4 + n * 4 + e * t * 4 + n * 4
        return gemm + maps + (16 << 20)

    def mxfp4_experts_freed(self, gpu: GPU, weights, settings: EngineSettings) -> bool:
        """Whether mxfp4 experts (gpt-oss) keep nothing past the profile forward, so the plan needs
        no workspace and no note (rule ``moe_mxfp4_sm90_freed`` "freed", 0.12.0-0.19.1): on an
        NVIDIA GPU of compute capability 9.0 (H100, H200; vLLM's is_device_capability(90)), dp 1,
        no expert parallelism, the Triton backend runs outside the modular kernel and its buffers
        are local to the call. Elsewhere (0.11.x, whose kernel depends on whether triton_kernels is
        installed; Blackwell, whose FlashInfer path depends on flashinfer-cubin or nvcc before
        0.19.0 and is not read; AMD; dp > 1; EP) the note stays."""
        return (weights.format == "mxfp4" and self.rule("moe_mxfp4_sm90_freed") == "freed"
                and gpu.vendor != "amd" and gpu.compute_capability == (9, 0)
                and weights.moe_ep <= 1 and weights.moe_tp == settings.tp)

    def fp8_block_experts_triton(self, spec: ModelSpec, gpu: GPU, weights, settings: EngineSettings) -> bool:
        """Whether block-quantized fp8 experts run TritonExperts in the modular kernel, whose kept
        workspace ``moe_workspace_bytes`` counts as for unquantized experts (rule
        ``moe_fp8_block_sm90_triton`` "triton", 0.17.0-0.19.1): the checkpoint's fp8 (e4m3)
        weights with a quantization_config.weight_block_size, served as stored, on an NVIDIA GPU
        of compute capability 9.0 (vLLM's is_device_capability(90); a --gpu-mem GPU has none),
        dp 1, no expert parallelism. Not with DeepSeek sparse attention, whose indexer and
        FlashMLA sparse take the same WorkspaceManager buffer (vllm/model_executor/layers/
        sparse_attn_indexer.py, vllm/v1/attention/backends/mla/flashmla_sparse.py; not read).
        Elsewhere the warning stays: fp8 without a block size (the oracle's default order puts
        FlashInfer and DeepGEMM before Triton: what is installed decides), 0.14.0-0.16.0
        (DeepGEMM first), Blackwell (FlashInfer TRTLLM first), EP (FlashInfer CUTLASS first)."""
        from kvplan.layers import MLAIndexed

        return (weights.format == "fp8" and spec.weights_format == "fp8_e4m3" and spec.weights_block is not None
                and self.rule("moe_fp8_block_sm90_triton") == "triton"
                and gpu.vendor != "amd" and gpu.compute_capability == (9, 0)
                and weights.moe_ep <= 1 and weights.moe_tp == settings.tp
                and not any(isinstance(k, MLAIndexed) for k in set(spec.layers)))

    def flashinfer_first(self, gpu: GPU) -> bool:
        """Whether this release's dummy sampler runs FlashInfer before the native path on ``gpu``
        (rule ``sampler_flashinfer_first_bytes``: 0.21.0 on a CUDA GPU of compute capability
        7.5-12.1, FlashInferBackend.supports_compute_capability; a GPU given by --gpu-mem is taken
        for such a one)."""
        cc = gpu.compute_capability
        return (self.rule("sampler_flashinfer_first_bytes") > 0 and self.flashinfer_sampler is not False
                and gpu.vendor != "amd" and (cc is None or (7, 5) <= cc < (12, 2)))

    def rejection_pass_excess_bytes(self, spec: ModelSpec, settings: EngineSettings) -> int | None:
        """How much more than ``sampler_bytes`` the profile run's rejection-sampler pass holds, at
        least, with a speculative config (any method, ngram included); None where kvplan does not
        bound it (vllm_rules rejection_sampler_bonus_pass). From 0.11.1, while it samples the
        bonus tokens: the 2S-row randn logits (2d a logit of S rows), the S-row bonus_logits copy
        (d), the sampler's raw_logits fp32 copy (4: max_num_logprobs=-1) and its sampled fp32
        copy and path as in the first pass, whose S-row logits (d) are freed: S x vocab x (2d + 4)
        more. Llama-3.1-70B, S = 1,024, bf16: 1,024 x 128,256 x 8 = 1,050,673,152 B. Its later
        phases (fp32 target logits, their clone, probabilities, q) are not bounded here."""
        if not self.rule("rejection_sampler_bonus_pass"):
            return None
        s = min(settings.max_num_seqs, settings.max_num_batched_tokens)
        return s * spec.vocab_size * (2 * dtype_bytes(spec) + 4)

    def rejection_pass_overstatement(self, spec, gpu, settings, budget, weights=None) -> int | None:
        excess = self.rejection_pass_excess_bytes(spec, settings)
        if excess is None:
            return None
        held = self.sampler_bytes(spec, gpu, settings) + self.moe_workspace_bytes(spec, settings, budget.layers, gpu,
                                                                                  weights)
        return max(0, held + excess - budget.activation_bytes)

    def speculative_profile_note(self, spec, gpu, settings, budget, weights=None) -> str | None:
        head = ("speculative decoding: vLLM's profile run adds a rejection-sampler pass with every method, ngram "
                "included (vllm/v1/worker/gpu_model_runner.py _dummy_sampler_run), which kvplan does not count")
        excess = self.rejection_pass_excess_bytes(spec, settings)
        if excess is None:
            return head + f"; its peak is not bounded for {self.name}, so the KV pool may be overstated"
        rows = min(settings.max_num_seqs, settings.max_num_batched_tokens)
        over = self.rejection_pass_overstatement(spec, gpu, settings, budget, weights)
        return (head + f": sampling the bonus tokens alone holds {excess:,} B more than the sampler pass counted "
                f"({rows:,} rows x {spec.vocab_size:,} logits x {2 * dtype_bytes(spec) + 4} B), so the KV pool is "
                f"overstated by at least {over:,} B (the pass's later phases are not bounded)")

    def forward_bytes(self, spec: ModelSpec, settings: EngineSettings, layers: range, gpu: GPU | None = None,
                      weights=None, call_scratch: int | None = None) -> int:
        """The profile forward's torch peak on a stage holding ``layers``: per token, FORWARD_HIDDEN_COPIES
        hidden-sized activations plus FORWARD_MLP_COPIES copies of the widest MLP intermediate (a fit on
        dense stages). Where the stage's MoE layers take the fused-MoE workspace
        (``moe_forward_extra_bytes``; ``gpu`` and ``weights`` given), the first of them takes it and it is
        held from then on (vllm/v1/worker/workspace.py WorkspaceManager._ensure_workspace_size, 0.25.1
        :119-187), and TritonExperts runs the experts' intermediates in it (experts/triton_moe.py 0.25.1
        apply: intermediate_cache1 / 2 / 3 are _resize_cache views of workspace2 / workspace13): an MoE
        layer holds the hidden copies, the workspace and its shared experts' MLP copies; a dense layer
        its MLP copies, beside the workspace once an MoE layer before it took it. Qwen3-30B-A3B at 8,192
        tokens, tp 1, 0.19.1: int(8,192 x 2 x 6.7 x 2,048) + 536,870,912 = 761,685,606 B (the dense fit alone,
        3 x 8 x 768 MLP copies, gives 526,804,582, below the workspace). On 0.8.0-0.13.0 an MoE layer holds
        its fused_experts call's scratch (``moe_call_scratch_bytes``) in the same place, freed when the
        call returns, so a dense layer after it holds none: Qwen3-30B-A3B on 0.10.2, int(8,192 x 2 x 6.7 x
        2,048) + 369,098,752 = 593,913,446 B. ``call_scratch``: a per-call scratch to put in each MoE
        layer instead of what ``moe_forward_extra_bytes`` sizes (``check_moe_scratch``'s bound)."""
        d = dtype_bytes(spec)
        t = settings.max_num_batched_tokens
        if call_scratch is not None:
            extra = call_scratch
        else:
            extra = self.moe_forward_extra_bytes(spec, settings, layers, gpu, weights) if weights is not None else 0
        if not extra:
            width = mlp_width(spec, settings.tp, layers)
            return int(t * d * (R.FORWARD_HIDDEN_COPIES * spec.hidden_size + R.FORWARD_MLP_COPIES * width))
        hidden = t * d * R.FORWARD_HIDDEN_COPIES * spec.hidden_size
        moe = spec.moe
        shared = cdiv(moe.num_shared_experts * (moe.shared_expert_intermediate_size or moe.expert_intermediate_size),
                      settings.tp)
        # 0.8.0-0.13.0's per-call scratch (moe_call_scratch_bytes) is freed when each MoE layer's call
        # returns: a dense layer after it does not hold it
        kept = 0 if (call_scratch is not None
                     or self.moe_workspace_bytes(spec, settings, layers, gpu, weights) == 0) else extra
        peak, held = 0, 0
        for layer in layers:
            if spec.is_moe_layer(layer):
                held, width, own = kept, shared, extra
            else:
                width, own = mlp_width(spec, settings.tp, range(layer, layer + 1)), held
            peak = max(peak, int(hidden + t * d * R.FORWARD_MLP_COPIES * width) + own)
        return peak

    def moe_forward_extra_bytes(self, spec: ModelSpec, settings: EngineSettings, layers: range, gpu: GPU,
                                weights) -> int:
        """What a stage's MoE layers hold in their profile forward in place of the dense fit's MLP
        copies: the kept fused-MoE workspace (``moe_workspace_bytes``) and, on 0.20.0-0.22.1 Hopper
        (FlashInferExperts, whose intermediates are FlashInfer's), the CUTLASS call's own workspace
        (``flashinfer_cutlass_moe_call_bytes``, an upper bound, freed when the call returns). 0 for a
        dense stage and where no workspace is counted."""
        kept = self.moe_workspace_bytes(spec, settings, layers, gpu, weights)
        if kept and self.moe_oracle_experts(spec, gpu, weights, settings) == "flashinfer cutlass":
            kept += self.flashinfer_cutlass_moe_call_bytes(spec, settings)
        return kept or self.moe_call_scratch_bytes(spec, settings, layers, gpu, weights)

    def moe_call_scratch_bytes(self, spec: ModelSpec, settings: EngineSettings, layers: range, gpu: GPU,
                               weights) -> int:
        """What one MoE layer's fused_experts call allocates and frees inside the profile forward on
        0.8.0-0.13.0 (rule ``moe_call_scratch``), where unquantized experts run the fused_experts
        function, not the modular kernel: fused_experts_impl's cache13 (M x topk x max(N, K)), whose
        views are intermediate_cache1 and 3, and intermediate_cache2 (M x topk x N / 2), in the
        model dtype, M = min(T, VLLM_FUSED_MOE_CHUNK_SIZE) (32,768 to 0.11.2, 16,384 from 0.12.0);
        from 0.11.1 (torch 2.9: disable_inplace) also the (T, K) out_hidden_states. All alive at the
        call's second GEMM; each a block of the caching allocator (``allocated_bytes``). N = w13's
        rows a rank = 2 x expert_intermediate / moe tp (whole with EP), K = hidden. Sized only where
        kvplan has read the path: unquantized gated experts with dp 1, on an NVIDIA GPU or on AMD up to
        0.11.0 (forward_hip = forward_cuda, AITER off by default; from 0.11.1 the output depends on the
        ROCm build's torch: ``moe_call_scratch_bound``), with or without expert parallelism (all2all
        kernels only with dp > 1: each rank calls fused_experts with its expert_map over all T tokens);
        0 elsewhere (``check_moe_scratch`` refuses where that unsized scratch can bind) and for a dense
        stage.
        Qwen3-30B-A3B at 8,192 tokens, tp 1: 8,192 x 8 x 2,048 x 2 + 8,192 x 8 x 768 x 2 =
        369,098,752 B on 0.8.4-0.11.0; 402,653,184 B from 0.11.1 (+ 8,192 x 2,048 x 2)."""
        rule = self._call_scratch_rule(spec, settings, layers, gpu, weights)
        if (rule is None or weights.format not in ("bf16", "fp16", "fp32")
                or (gpu.vendor == "amd" and rule["output"])):
            return 0
        return self.call_scratch_bytes(spec, settings, weights, rule["chunk"], rule["output"])

    def _call_scratch_rule(self, spec: ModelSpec, settings: EngineSettings, layers: range, gpu: GPU, weights):
        """Rule ``moe_call_scratch``'s value where ``layers`` run fused_experts_impl as kvplan has read
        it, whatever the weights' format: a release that has the rule, gated experts, a known GPU and
        expert split, dp 1 (the experts split over tp alone, EP included), and a MoE layer among
        ``layers``; None elsewhere. What ``moe_call_scratch_bytes`` sizes and
        ``moe_call_scratch_bound`` bounds both start from it."""
        rule = self.rule("moe_call_scratch")
        if (rule is None or spec.moe is None or weights is None or not spec.mlp_gated or gpu is None
                or weights.moe_tp * weights.moe_ep != settings.tp
                or not any(spec.is_moe_layer(layer) for layer in layers)):
            return None
        return rule

    def call_scratch_bytes(self, spec: ModelSpec, settings: EngineSettings, weights, chunk: int,
                           output: bool) -> int:
        """fused_experts_impl's cache13 + intermediate_cache2 [+ the (T, K) output] for unquantized
        gated experts (``moe_call_scratch_bytes``), each an allocator block; N = w13's rows a rank:
        2 x expert_intermediate / moe tp (tp without EP; 1 with EP, whose ranks hold whole experts)."""
        d = dtype_bytes(spec)
        t = settings.max_num_batched_tokens
        m = min(t, chunk)
        topk = spec.moe.experts_per_token
        k = spec.hidden_size
        n = 2 * (spec.moe.expert_intermediate_size // weights.moe_tp)  # intermediate_size_per_partition x 2
        parts = [m * topk * max(n, k) * d, m * topk * (n // 2) * d]
        if output:
            parts.append(t * k * d)
        return sum(allocated_bytes(p) for p in parts)

    def deepstack_buffer_bytes(self, spec: ModelSpec, settings: EngineSettings, stage: int) -> int:
        """Qwen3-VL's deepstack buffers, which vLLM counts with the weights: the model's __init__ keeps
        one torch.zeros(max_num_batched_tokens, text hidden_size) per deepstack level, built under the
        loader's device and default-dtype context (the model dtype, on the GPU), so inside the weights'
        DeviceMemoryProfiler (vllm/model_executor/models/qwen3_vl.py Qwen3VLForConditionalGeneration.__init__:
        0.11.0 :1155-1161, 0.11.1 :1262-1269, 0.19.1 :1502-1509, 0.33.0 :2030-2037; the MoE class's own,
        qwen3_vl_moe.py 0.11.1 :404-411, 0.19.1 :436-444, 0.33.0 :275-282; the loader's context:
        model_loader/base_loader.py BaseModelLoader.load_model, 0.19.1 :53-54). Every release that registers the two architectures (0.11.0-0.33.0) has
        them. Qwen3-VL-8B at 8,192 tokens: 3 x 8,192 x 4,096 x 2 = 201,326,592 B. Counted on the first
        stage, with the vision tower (kvplan.weights); with pipeline parallelism refused, since where vLLM
        builds the tower and these buffers on later stages is not read. 0 for other models."""
        tower = spec.vision_tower
        levels = getattr(tower, "num_deepstack", 0) or 0
        if (spec.architecture not in ("Qwen3VLForConditionalGeneration", "Qwen3VLMoeForConditionalGeneration")
                or not levels or stage != 0):
            return 0
        if settings.pp > 1:
            raise BadInputError(f"{self.name}: {spec.name} keeps {levels} deepstack buffers of max_num_batched_tokens x "
                                f"hidden beside its vision tower (vllm/model_executor/models/qwen3_vl.py), counted "
                                f"with the weights; on which pipeline stages vLLM builds them is not read: plan it "
                                f"with --pp 1")
        return levels * allocated_bytes(settings.max_num_batched_tokens * spec.hidden_size * dtype_bytes(spec))

    def rocm_moe_padding_bytes(self, spec: ModelSpec, gpu: GPU, weights, settings: EngineSettings,
                               layers: range) -> int:
        """What ROCm's padding of the unquantized experts adds to one rank's measured weights in
        ``layers`` (rule ``rocm_moe_weight_padding``): UnquantizedFusedMoEMethod._maybe_pad_weight pads
        w13 (E_local, 2N, K) and w2 (E_local, K, N) by 256 B a row where a row (K x d, N x d) is a
        multiple of 512 B; N = expert_intermediate / moe tp, E_local the most loaded rank's experts.
        Qwen3-30B-A3B tp 1 (K 2,048, N 768, bf16): both padded, (128 x 1,536 + 128 x 2,048) x 256 =
        117,440,512 B a layer, 5,637,144,576 B for 48 layers; tp 2 (N 384: 768 B rows): w13 only.
        "kept" (0.8.2-0.13.0, 0.25.0-0.28.0): those bytes. "compacted" (0.21.0-0.24.0): 0, the
        kernel-format conversion's .contiguous() copies the experts back unpadded and the weights line
        counts allocated bytes. "device" (0.14.0-0.20.2): refused where anything is padded, the weights
        line being the device's used memory, which counts what the caching allocator keeps of the
        freed copies. 0 elsewhere (NVIDIA, quantized experts, VLLM_ROCM_MOE_PADDING=0, 0.8.0-0.8.1)."""
        kind = self.rule("rocm_moe_weight_padding")
        if (not kind or kind == "compacted" or self.rocm_moe_padding is False or gpu is None
                or gpu.vendor != "amd" or spec.moe is None or weights is None
                or weights.format not in ("bf16", "fp16", "fp32")):
            return 0
        from kvplan.shapes import MoEParallel

        d = dtype_bytes(spec)
        n = spec.moe.expert_intermediate_size // weights.moe_tp
        k = spec.hidden_size
        if not spec.mlp_gated:
            raise BadInputError(f"{self.name}: on ROCm the unquantized experts' weights are padded after loading "
                                f"(UnquantizedFusedMoEMethod._maybe_pad_weight, rule rocm_moe_weight_padding), and "
                                f"kvplan has not read w13's shape for ungated experts: not planned on an AMD GPU")
        experts = MoEParallel(weights.moe_tp, weights.moe_ep).experts_per_rank(spec.moe.num_experts)
        rows13 = 2 * n
        per_layer = (experts * rows13 * 256 if (k * d) % 512 == 0 else 0) + (
            experts * k * 256 if (n * d) % 512 == 0 else 0)
        if per_layer and kind == "device":
            raise BadInputError(
                f"{self.name}: ROCm pads {spec.name}'s unquantized expert weights after loading "
                f"(UnquantizedFusedMoEMethod._maybe_pad_weight, VLLM_ROCM_MOE_PADDING on by default; rule "
                f"rocm_moe_weight_padding), and this release measures the weights as the device's used memory "
                f"around load_model (vllm/platforms/rocm.py get_current_memory_usage: total - free, no empty_cache), "
                f"which counts the freed unpadded copies the caching allocator still holds, set by its segment "
                f"layout, which kvplan does not model: not planned on an AMD GPU; plan a --from-vllm command with "
                f"VLLM_ROCM_MOE_PADDING=0 before vllm serve")
        return per_layer * sum(1 for layer in layers if spec.is_moe_layer(layer))

    def v2_sampler_bytes(self, spec: ModelSpec, settings: EngineSettings, gpu: GPU | None = None) -> int:
        """Model Runner V2's dummy-sampler torch peak (last pipeline stage; rule ``v2_runner_memory``),
        read against the V1 terms of ``sampler_bytes``. _dummy_sampler_run (0.25.0 model_runner.py
        :629-641) computes S = min(max_num_seqs, T) rows of logits (d a logit, as V1) from the gathered
        hidden states themselves (V1 samples a ``torch.rand_like`` copy, gpu_model_runner.py 0.25.0
        :6109: S x hidden x d that V1's fitted 49 MiB holds and V2 does not: subtracted), then samples
        with the SamplingStates defaults (temperature 0, top_k = vocab, top_p 1; sample/states.py :32,
        :34): no top-k/top-p and no FlashInfer (sampler.py :220-229), so no path bytes and no Triton
        buffer. 0.25.x copies the logits to float32 (sampler.py :157, 4 B a logit, also for an fp32
        model: torch.empty_like); 0.26.0 keeps them in place (:162-168); 0.27.0 returns them untouched unless a request needs logits processing (:155-156, _requires_logits_processing :200-217: not the dummy run's defaults). gumbel_sample (gumbel.py
        :215-264) holds local_argmax (S x cdiv(vocab, 1,024) int64) and local_max (fp32), then the
        argmax index and the gathered token ids (S int64 each); the dummy InputBatch (input_batch.py
        make_dummy :103-175: idx_mapping (int64 from 0.28.0), expanded_local_pos, logits_indices S int32, cu_num_logits
        S + 1 int32) and the sampler's pos (S int64) and input_ids (S int32) are alive; each
        allocation rounds to 512 B. The forward's [T, hidden] output stays alive (profile_run holds
        it), as in V1. Llama-3.1-8B, S = 1,024, T = 8,192 on 0.25.1: 1,024 x 128,256 x 6 +
        1,564,672 (gumbel) + 29,184 (small) + (49 MiB - 8 MiB) + 67,108,864 = 899,699,200 B; on
        0.26.0 (2 B a logit) 374,362,624 B: below the profile forward's 1,154,272,460, which binds."""
        d = dtype_bytes(spec)
        t = settings.max_num_batched_tokens
        s = min(settings.max_num_seqs, t)
        vocab = spec.vocab_size
        rule = self.rule("v2_runner_memory")
        rand_copy = s * spec.hidden_size * d
        if rand_copy > R.PROFILE_WORKSPACE_BYTES:
            raise BadInputError(f"{self.name}: Model Runner V2's dummy sampler lacks V1's rand_like copy of the "
                                f"sampled hidden states ({rand_copy:,} B), which is larger than the 49 MiB of fixed "
                                f"profile bytes kvplan's V1 fit holds it in: not planned on V2 (plan it with "
                                f"VLLM_USE_V2_MODEL_RUNNER=0 in front of a --from-vllm command)")
        blocks = cdiv(vocab, 1024)  # gumbel_sample's BLOCK_SIZE
        r = allocated_bytes  # each tensor its own block of the caching allocator
        gumbel = r(s * blocks * 8) + r(s * blocks * 4) + r(s * 8) + r(s * 8)
        # idx_mapping (int32 up to 0.27.x, int64 from 0.28.0: input_batch.py make_dummy 0.28.0 :128),
        # expanded_local_pos and logits_indices (int32), cu_num_logits, pos, input_ids
        idx = rule["idx_mapping_bytes"]
        small = r(s * idx) + 2 * r(s * 4) + r((s + 1) * 4) + r(s * 8) + r(s * 4)
        logits = s * vocab * (d + (4 if rule["fp32_logits_copy"] else 0))
        kept = small + R.PROFILE_WORKSPACE_BYTES - rand_copy + t * spec.hidden_size * d
        first = logits + gumbel + kept
        if not rule.get("warmup_pass"):
            return first
        return max(first, self.v2_warmup_pass_bytes(spec, settings, gpu) + kept)

    def v2_warmup_pass_bytes(self, spec: ModelSpec, settings: EngineSettings, gpu: GPU | None) -> int:
        """The peak of 0.33.0's second dummy-sampler pass (rule ``v2_runner_memory`` warmup_pass;
        FINDINGS_h34_v33v2.md), less what both passes keep (the dummy batch, pos / input_ids, the fixed
        profile bytes, the forward's output). _dummy_sampler_run (vllm/v1/worker/gpu/model_runner.py
        0.33.0 :993-1014) gives every one of the S rows SamplingParams.for_sampler_warmup() and samples
        again: apply_sampling_params (sample/sampler.py :226-276) copies the [S, vocab] logits (d a
        logit, alive in _dummy_sampler_run) to float32 (:242), the logits processors, temperature and
        min-p work in place; with no greedy row, no seed and raw logprobs, sample (:278-326) takes
        FlashInfer (flashinfer_sample, v1/sample/ops/topk_topp_sampler.py :631-668) with top_k int32 [S]
        and top_p fp32 [S] gathered (states.py :116-117); flashinfer-python 0.7.2.post1
        top_k_top_p_sampling_from_logits (sampling.py :1782-1806; a tensor top_k, no fast path) holds
        top_k_mask_logits' fp32 [S, vocab] output (:676) and its softmax (:1796) while
        top_p_sampling_from_probs (:322-362) writes samples int32 [S] and valid bool [S]; the 1 MiB
        row-state buffer (_get_cache_buf, utils.py :255-269) is first taken here. Each tensor rounds to
        512 B. Then compute_topk_scores (logprob.py :111-190) runs on the raw logits with the float32
        copy alive but the two FlashInfer [S, vocab] tensors freed: torch.topk's multi-block buffers
        (below 1 B a logit) stay under them. Llama-3.1-8B, S = 1,024: 3 x 525,336,576 + 1,048,576 +
        3 x 4,096 + 1,024 + 262,668,288 (the bf16 logits) = 1,839,739,904 B.

        FlashInfer samples where flashinfer_sampler_supported (topk_topp_sampler.py :102-161): CUDA,
        VLLM_USE_FLASHINFER_SAMPLER on (a flag kvplan refuses), compute capability 8.0-12.1
        (FlashInferBackend.supports_compute_capability, v1/attention/backends/flashinfer.py :696-703),
        more than 16 SMs, and FlashInfer's JIT able to target the GPU, which for 12.x depends on the
        installed CUDA toolkit (flashinfer compilation_context.py _normalize_cuda_arch: 12.8 / 12.9):
        elsewhere the pass takes apply_top_k_top_p and gumbel_sample on the float32 logits, not read."""
        s = min(settings.max_num_seqs, settings.max_num_batched_tokens)
        cc = gpu.compute_capability if gpu is not None else None
        fallback = None
        if gpu is None or gpu.vendor == "amd":
            fallback = "an AMD GPU" if gpu is not None else "an unknown GPU"
        elif self.flashinfer_sampler is False:
            fallback = "a deployment without FlashInfer"
        elif cc is not None and not (8, 0) <= cc < (12, 0):
            fallback = (f"compute capability {cc[0]}.{cc[1]} (FlashInfer's sampler: 8.0-12.1, and on 12.x only "
                        f"with a CUDA toolkit of 12.8 or later, which kvplan cannot see)")
        elif gpu.compute_units is not None and gpu.compute_units <= 16:
            fallback = f"{gpu.compute_units} SMs (FlashInfer's sampler needs more than 16)"
        if fallback is not None:
            raise BadInputError(
                f"{self.name}: Model Runner V2's dummy sampler runs a second warm-up pass with every sampling "
                f"feature on (vllm/v1/worker/gpu/model_runner.py _dummy_sampler_run :993-1014), which on "
                f"{fallback} samples through apply_top_k_top_p and gumbel_sample on float32 logits "
                f"(sample/sampler.py _sample_random :328-360), a path kvplan has not read: not planned on V2; plan "
                f"it with VLLM_USE_V2_MODEL_RUNNER=0 in front of a --from-vllm command that gives "
                f"--kv-cache-memory-bytes, or use --engine vllm==0.32.0")
        r = allocated_bytes
        logits = s * spec.vocab_size * dtype_bytes(spec)
        return (logits + 3 * r(s * spec.vocab_size * 4) + r(1 << 20)
                + 3 * r(s * 4) + r(s))

    def v2_persistent_bytes(self, spec: ModelSpec, settings: EngineSettings, stage: int) -> int:
        """The GPU bytes Model Runner V2 keeps for the whole run in buffers it allocates outside the
        weights' DeviceMemoryProfiler and before the profile (rule ``v2_persistent_buffers``), on
        pipeline stage ``stage``, with kvplan's defaults (no speculator, LoRA, prompt embeds,
        watermark, batch-sharded sampling or custom logits processors; the default multimodal limits);
        0 where the deployment does not run on a V2 kvplan plans (``plans_v2``). They sit in no term of
        vLLM's profile (torch memory allocated before it starts, not in its peak increase), so they never
        shrink a profiled pool (0.25.0-0.26.0: they come out of the 1 - gpu_memory_utilization
        headroom); with the KV memory given, vLLM needs them beside it (kvplan.capacity
        Pool.overcommitted_stage).

        R = max_num_seqs, T = max_num_batched_tokens, V = the vocabulary (model_config.get_vocab_size,
        not padded), each tensor its own block of the caching allocator (``allocated_bytes``).
        Every stage (GPUModelRunner.__init__): RequestState's total_len, num_computed_tokens and
        next_prefill_tokens (int32 [R]) and last_sampled_tokens (int64 [R, 1]); InputBuffers' input_ids
        (int32 [T]), positions (int64 [T]), is_padding (bool [T]), query_start_loc (int32 [R + 1]),
        seq_lens and dcp_local_seq_lens (int32 [R]). The last stage (load_model, Sampler and
        StructuredOutputsWorker): PenaltiesState's prompt_bin_mask (int32 [R, cdiv(V, 32)]) and
        output_bin_counts (int32 [R, V]); the logit-bias, bad-words and logprob-token-id tables (int32 or
        fp32 [R, width], widths in vllm_rules._V2_FEATURE_WIDTHS); logits_indices (int32 [R]) and
        grammar_bitmask (int32 [R, cdiv(V, 32)]). A later stage: the received IntermediateTensors
        (make_empty_intermediate_tensors, [T, hidden] in the model's dtype each: hidden states and residual
        for Llama-style models, hidden states only for GPT-2 / OPT / Falcon, ``intermediate_tensor_count``;
        the tensors V1 counts in its profile: ``activation_bytes``; Falcon-7B, hidden 4,544 bf16: one
        8,192 x 4,544 x 2 = 74,448,896 B). Llama-3.1-8B (V 128,256), R 1,024, T 8,192, one GPU:
        20,480 + 119,296 + 2 x 16,416,768 + 525,336,576 + 18,354,176 + 4,096 = 576,668,160 B.

        Multimodal (load_model's init_model_state -> DefaultModelState): an architecture vLLM serves
        multimodal (the rule's ``multimodal_architectures``; kvplan refuses --limit-mm-per-prompt, so every
        modality keeps its default limit) keeps EncoderRunner.inputs_embeds, [T, inputs_embeds_size] in the
        model's dtype, on the first stage (the EncoderCache is the first stage's only); inputs_embeds_size is
        the first of the rule's ``inputs_embeds_keys`` the text config gives (``spec.embed_projection``),
        else hidden_size. A config with an M-RoPE section keeps RopeState.positions, int64 [num_dims, T + 1],
        on every stage: num_dims 3 (0.25.0-0.29.0), max(section entries, 3) from 0.30.0 (rule
        ``mrope_dims_from_section``); an architecture without SupportsMRoPE stops at get_rope_state's
        assertion (refused). Gemma-3-27B (hidden 5,376, bf16), T 8,192: 8,192 x 5,376 x 2 = 88,080,384 B
        more on the first stage; Qwen3-VL-8B (hidden 4,096, mrope_section of 3): 8,192 x 4,096 x 2 =
        67,108,864 plus 8 x 3 x 8,193 = 196,632 -> 197,120 B. ``--reasoning-parser`` on 0.28.0+ (rule
        ``thinking_budget``): ThinkingBudgetState's token-id tensors are as long as the tokenizer spells
        the parser's markers, which kvplan does not read: refused."""
        if not self.plans_v2(spec):
            return 0
        rule = self.rule("v2_persistent_buffers")
        if self.reasoning_parser is not None and rule["thinking_budget"]:
            raise BadInputError(
                f"--reasoning-parser {self.reasoning_parser}: {self.name}'s Model Runner V2 keeps ThinkingBudgetState "
                f"on the GPU (vllm/v1/worker/gpu/sample/thinking_budget.py: three int32 [max_num_seqs] tensors and the "
                f"reasoning markers' token ids, as many as the tokenizer makes), which kvplan does not size; plan "
                f"without it, or with VLLM_USE_V2_MODEL_RUNNER=0 in front of the command")
        arch = spec.architecture
        if spec.mrope_section_entries and arch not in rule["mrope_architectures"]:
            raise BadInputError(
                f"{spec.name}'s config names an M-RoPE section (rope mrope_section), but "
                f"{arch or 'a spec without an architecture'} is not one of vLLM's M-RoPE models (SupportsMRoPE): "
                f"{self.name}'s Model Runner V2 stops at the assertion in vllm/v1/worker/gpu/mm/rope.py get_rope_state")
        vision = spec.vision_tower is not None or any("vision" in name for name, _ in spec.extra_params)
        if not arch and vision:
            raise BadInputError(
                f"{spec.name} names no architecture but has a vision tower: whether {self.name}'s Model Runner V2 "
                f"keeps the multimodal inputs_embeds buffer (vllm/v1/worker/gpu/mm/encoder_runner.py) depends on it; "
                f"give the model's architecture")
        r = allocated_bytes
        seqs, tokens = settings.max_num_seqs, settings.max_num_batched_tokens
        # RequestState (int32 total_len, num_computed_tokens, next_prefill_tokens; int64 last_sampled_tokens)
        # and InputBuffers (input_ids, positions, is_padding, query_start_loc, seq_lens, dcp_local_seq_lens)
        total = 3 * r(4 * seqs) + r(8 * seqs)
        total += r(4 * tokens) + r(8 * tokens) + r(tokens) + r(4 * (seqs + 1)) + 2 * r(4 * seqs)
        if spec.mrope_section_entries:  # RopeState.positions, int64 [num_dims, T + 1]
            dims = max(spec.mrope_section_entries, 3) if rule["mrope_dims_from_section"] else 3
            total += r(8 * dims * (tokens + 1))
        if stage == 0 and arch in rule["multimodal_architectures"]:  # EncoderRunner.inputs_embeds
            given = dict(spec.embed_projection)
            width = next((given[k] for k in rule["inputs_embeds_keys"] if k in given), spec.hidden_size)
            total += r(tokens * width * dtype_bytes(spec))
        if stage == settings.pp - 1:
            vocab = spec.vocab_size
            words = cdiv(vocab, 32)
            total += r(4 * seqs * words) + r(4 * seqs * vocab)  # prompt_bin_mask, output_bin_counts
            total += sum(r(4 * seqs * width) for width in rule["widths"].values())
            total += r(4 * seqs) + r(4 * seqs * words)  # structured outputs: logits_indices, grammar_bitmask
        if stage > 0:  # the received IntermediateTensors, one or two [T, hidden] (intermediate_tensor_count)
            total += self.intermediate_tensor_count(spec) * r(tokens * spec.hidden_size * dtype_bytes(spec))
        return total

    def intermediate_tensor_count(self, spec: ModelSpec) -> int:
        """How many [T, hidden] tensors a later pipeline stage receives from the one before
        (IntermediateTensors, the keys of the model's make_empty_intermediate_tensors_factory; table
        vllm_rules.VLLM_INTERMEDIATE_TENSORS): 1 for GPT-2, OPT and Falcon (hidden_states), 2 for the
        Llama-style models (hidden_states, residual). An architecture whose keys kvplan has not read is
        refused (it only matters at pp > 1)."""
        count = R.VLLM_INTERMEDIATE_TENSORS.get(spec.architecture)
        if count is None:
            raise BadInputError(
                f"{spec.name}: {self.name} hands a later pipeline stage the tensors "
                f"{spec.architecture or 'the architecture (none named)'}'s make_empty_intermediate_tensors lists "
                f"(vllm/model_executor/models/), which kvplan has not read for it; plan it with --pp 1")
        return count

    def activation_bytes(self, spec: ModelSpec, gpu: GPU, settings: EngineSettings, stage: int,
                         layers: range, weights=None) -> int:
        """vLLM's profiled torch peak for one pipeline stage (``weights``: what decides whether the
        kept MoE workspace is counted, ``moe_workspace_bytes``). profile_run (vllm/v1/worker/
        gpu_model_runner.py 0.19.1 :5721-5795, 0.25.1 :6290-6363) runs ``_dummy_run(self.max_num_tokens)``
        on every stage over its own layers (qwen3_moe.py 0.25.1 Qwen3MoeModel.forward :485-523:
        islice(self.layers, start_layer, end_layer); a later stage starts from the received
        IntermediateTensors, :500-501) and the dummy sampler on the last stage only (:6353-6357). The
        WorkspaceManager is every worker's (gpu_worker.py 0.25.1 :379-381), so a stage's MoE layers
        take and keep the workspace whether or not a sampler follows: every stage's forward counts it
        (``forward_bytes``), and the last stage's sampler peak too. On Model Runner V2 (``plans_v2``:
        models without experts or MLA layers, and those of rule ``v2_moe_mla_architectures``) the same
        forward over T tokens (the same model code, eager: model_runner.py 0.25.0 :1324; with experts the
        same Triton experts and workspace shapes, whichever experts the dummy tokens reach; MLA layers take
        the same attn_metadata-None branch: FINDINGS_h35_v2moe.md), then ``v2_sampler_bytes`` plus the kept
        MoE workspace on the last stage; a later stage's received IntermediateTensors are allocated
        in load_model (0.25.0 :361-372), before the profile, so they are not in its peak (V1 allocates them
        in _dummy_run during the profile): V2 counts them with its other buffers allocated before the profile
        (``v2_persistent_bytes``). Qwen3-30B-A3B, H100 defaults (T = 8,192, S = 1,024): max(761,685,606
        (the forward with the 536,870,912 B workspace), 393,785,856 (V2 sampler) + 536,870,912) = 930,656,768 B
        on 0.29.0, max(761,685,606, 2,259,990,016 + 536,870,912) = 2,796,860,928 B on 0.33.0 (V1: 2,344,364,032
        + 536,870,912 = 2,881,234,944)."""
        peak = self.forward_bytes(spec, settings, layers, gpu, weights)
        if self.plans_v2(spec):
            if stage == settings.pp - 1:
                # the fused-MoE workspace the forward took stays in the worker's WorkspaceManager through
                # the dummy sampler, as on V1 (one manager for both runners: gpu_worker.py Worker.init_device,
                # init_workspace_manager 0.29.0 :450, 0.33.0 :558); 0 for a model without experts
                peak = max(peak, self.v2_sampler_bytes(spec, settings, gpu)
                           + self.moe_workspace_bytes(spec, settings, layers, gpu, weights))
            return peak
        if stage == settings.pp - 1:
            peak = max(peak, self.sampler_bytes(spec, gpu, settings)
                       + self.moe_workspace_bytes(spec, settings, layers, gpu, weights))
        if stage > 0:  # _dummy_run's received IntermediateTensors (intermediate_tensor_count)
            peak += (self.intermediate_tensor_count(spec) * settings.max_num_batched_tokens * spec.hidden_size
                     * dtype_bytes(spec))
        return peak

    def non_torch_bytes(self, gpu: GPU, tp: int, pp: int) -> int:
        """What the release counts as non-torch memory: the increase during the profile run,
        plus (0.8.0-0.9.0.1) everything that was on the device before loading."""
        return self.non_torch_increase_bytes(gpu, tp, pp) + (
            self.startup_in_use_bytes(tp, pp) if self.rule("non_torch_counts_startup_memory") else 0)

    def non_torch_increase_bytes(self, gpu: GPU, tp: int, pp: int) -> int:
        table = self.rule("non_torch_bytes")
        if tp == 1 and pp == 1 and gpu.compute_capability not in SYMM_MEM_CAPABILITIES and "single_pre_hopper" in table:
            return table["single_pre_hopper"]
        if tp == 1:
            return table["single"] if pp == 1 else table["pp_only"]
        if self.rule("symmetric_memory_all_reduce") and gpu.compute_capability in SYMM_MEM_CAPABILITIES and table["tp_symm"]:
            return table["tp_symm"][2 if tp == 2 else 4]
        return table["tp"]

    def startup_in_use_bytes(self, tp: int, pp: int) -> int:
        table = self.rule("startup_in_use_bytes")
        return table["single"] if tp * pp == 1 else table["parallel"]
