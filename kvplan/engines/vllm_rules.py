"""vLLM's release rules as data: (rule, first release, last release, value, source).

Every row was read from the release's own source (the published wheel's ``vllm/`` tree
at that version; file and function given) or, for measured quantities, from startup logs
of that release (named). ``tests/test_engines.py`` checks that exactly one row covers
every modelled release for every rule.

Modelled releases: every published vLLM release from 0.8.0 to 0.33.0 (the newest as of 2026-11-30;
0.30.0-0.33.0: docs/findings/FINDINGS_h34_v30.md to FINDINGS_h34_v33.md, each read against the one before). From 0.20.0 the KV pool is reduced by a CUDA-graph memory estimate
(``VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS`` defaults to "1" in vllm/envs.py; the log line
says "default since v0.21.0"), a measurement of trial graph captures that kvplan does not
predict: 0.20.0-0.26.0 are planned on the V1 runner only where it is not subtracted (rule
``cudagraph_estimate_subtracted``: --enforce-eager, VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS=0,
up to 0.25.1 a GPU that is not CUDA: rule ``cudagraph_estimate_on_amd``), and for full-attention, MLA, sliding-window and chunked-local layers
(kvplan.paging rule ``modelled_kinds``: not DeepSeek sparse attention, not state-space layers).
0.27.0+ measure the non-KV memory from the device's free memory (rule ``non_kv_from_free_memory``):
its profiled pool is refused, and it is planned with the KV memory given (--kv-cache-memory-bytes).
0.22.0 and 0.22.1 run Model Runner V2 (a different profile run and sampler, not modelled) by
default for Qwen3ForCausalLM, 0.23.0 also for LlamaForCausalLM and MistralForCausalLM, 0.24.0
also for three MoE architectures (rule ``v2_model_runner_architectures``; 0.26.0 adds three
more, 0.27.0 and 0.28.0 one each), which are refused there unless VLLM_USE_V2_MODEL_RUNNER=0, and
0.25.0-0.28.0 for every model without experts or state-space layers (rule ``v2_model_runner_dense``), whose V2
memory path is planned on 0.25.0-0.28.0 (rule ``v2_runner_memory``; not on AMD; no CUDA-graph estimate on V2;
on 0.27.0-0.28.0 with the KV memory given, as V1 there), with experts or MLA layers for the architectures of
rule ``v2_moe_mla_architectures`` (FINDINGS_h35_v2moe.md: V2's profile forward is V1's).
0.27.1 is 0.27.0 for everything kvplan reads: its Python differs from 0.27.0's only in
vllm/model_executor/models/qwen3_dspark.py (the DSpark drafter now passes quant_config to its layers;
kvplan plans no DSpark speculative method) and _version.py, and its requirements/, cmake/, csrc/,
CMakeLists.txt and setup.py are 0.27.0's (both sdists compared, 2026-12-01), so every rule row and
citation for 0.27.0 holds for it. 0.28.0 was read against 0.27.1 (docs/findings/FINDINGS_h33_v28.md):
vllm/utils/mem_utils.py is byte-identical and Worker.determine_available_memory AST-identical, so its
profiled pool stays refused and it is planned with the KV memory given, as 0.27.x; what changes for
kvplan is the scheduler defaults on GPUs of 160 GiB or more (rule ``scheduler_defaults``), Model Runner
V2's dummy idx_mapping (int64, rule ``v2_runner_memory``), the V2 architecture list (rule
``v2_model_runner_architectures``) and one more KV dtype left out (``nvfp4_4over6``). 0.29.0 was read
against 0.28.0 (docs/findings/FINDINGS_h33_v29.md): memory_profiling is unchanged, so it too is planned
with the KV memory given only; Model Runner V2 runs every model by default (rule ``v2_default_all``:
no architecture list), so models with state-space layers, and with experts or MLA layers of an
architecture rule ``v2_moe_mla_architectures`` does not list (DeepSeek-V2/V3, Mixtral, Qwen2-MoE and
Qwen3-MoE are planned on V2 from h35, FINDINGS_h35_v2moe.md), are refused unless
VLLM_USE_V2_MODEL_RUNNER=0 (their V1 paths compare as 0.28.0's); the start-up check holds back the null
block (kvplan.paging rule ``null_block_in_check``), head-size-256 models on compute capability 10.x / 11.x
(rule ``fa4_hd256_block``), unequal page sizes (paging rule ``unify_page_sizes``) and refined fp8 expert
blocks (rule ``moe_fp8_block_refined``) are refused. 0.33.0 runs a second V2 dummy-sampler pass (rule
``v2_runner_memory`` warmup_pass, FINDINGS_h34_v33v2.md): dense models are planned on V2 where that pass
samples through FlashInfer (NVIDIA compute capability 8.0-11.x), refused elsewhere.
A later release is one kvplan does not know of (``PUBLISHED_LATER``, ``REFUSED``: both empty).
"""

from __future__ import annotations

from fractions import Fraction

from kvplan.engines.base import Rule, gib

#: Published releases modelled (pip index versions vllm), oldest first.
RELEASES = (
    "0.8.0", "0.8.1", "0.8.2", "0.8.3", "0.8.4", "0.8.5", "0.8.5.post1",
    "0.9.0", "0.9.0.1", "0.9.1", "0.9.2",
    "0.10.0", "0.10.1", "0.10.1.1", "0.10.2",
    "0.11.0", "0.11.1", "0.11.2",
    "0.12.0", "0.13.0", "0.14.0", "0.14.1", "0.15.0", "0.15.1", "0.16.0",
    "0.17.0", "0.17.1", "0.18.0", "0.18.1", "0.19.0", "0.19.1",
    "0.20.0", "0.20.1", "0.20.2", "0.21.0", "0.22.0", "0.22.1", "0.23.0", "0.24.0", "0.25.0", "0.25.1",
    "0.26.0", "0.27.0", "0.27.1", "0.28.0", "0.29.0", "0.30.0", "0.31.0", "0.32.0", "0.33.0",
)

#: vllm/envs.py VLLM_FUSED_MOE_CHUNK_SIZE default 16 * 1024 (0.14.0 :59, 0.17.0 :56): the fused-MoE
#: modular kernel's chunk on 0.14.0-0.17.1 (rule moe_persistent_workspace "triton chunked").
FUSED_MOE_CHUNK_SIZE = 16 * 1024

#: Model Runner V2's per-request sampler buffers on the GPU (rule v2_persistent_buffers), their widths in
#: elements a request: vllm/v1/worker/gpu/sample/logit_bias.py MAX_NUM_ALLOWED_TOKEN_IDS, MAX_NUM_LOGIT_BIAS_TOKENS
#: (int32 ids and fp32 biases), MAX_NUM_STOP_TOKEN_IDS (0.25.0 :10-12, 0.33.0 :20-22); sample/bad_words.py
#: MAX_BAD_WORDS_TOTAL_TOKENS and MAX_NUM_BAD_WORDS + 1 offsets (0.25.0 :11-12; from 0.28.0 envs.py
#: VLLM_MAX_BAD_WORDS_TOTAL_TOKENS / VLLM_MAX_NUM_BAD_WORDS, defaults 1,024 and 128); vllm/sampling_params.py
#: MAX_LOGPROB_TOKEN_IDS (0.25.0 :30, 0.33.0 :35). Every element 4 B.
_V2_FEATURE_WIDTHS = (("allowed_token_ids", 1024), ("logit_bias_token_ids", 1024), ("logit_bias", 1024),
                      ("stop_token_ids", 128), ("bad_word_token_ids", 1024), ("bad_word_offsets", 128 + 1),
                      ("logprob_token_ids", 128))

#: The architectures kvplan reads that vLLM registers as multimodal (model_executor/models/registry.py
#: _MULTIMODAL_MODELS, each with a MULTIMODAL_REGISTRY.register_processor in its model file: gemma3_mm.py, llava.py,
#: qwen3_vl.py, qwen3_vl_moe.py, kimi_vl.py, mllama4.py; the same six in every release 0.25.0-0.33.0): with the
#: default limits (999 items of each modality, config/multimodal.py get_limit_per_prompt) vLLM serves them
#: multimodal (supports_multimodal_inputs), so Model Runner V2 keeps EncoderRunner.inputs_embeds (rule
#: v2_persistent_buffers). The other architectures kvplan reads are not in the table (text only).
_V2_MULTIMODAL_ARCHITECTURES = ("Gemma3ForConditionalGeneration", "KimiVLForConditionalGeneration",
                                "Llama4ForConditionalGeneration", "LlavaForConditionalGeneration",
                                "Qwen3VLForConditionalGeneration", "Qwen3VLMoeForConditionalGeneration")
#: Of those, the ones whose model class implements SupportsMRoPE (qwen3_vl.py Qwen3VLForConditionalGeneration,
#: 0.25.0 :1655, 0.33.0 :1944; qwen3_vl_moe.py Qwen3VLMoeForConditionalGeneration subclasses it): the only ones
#: mm/rope.py get_rope_state builds a RopeState for (it asserts isinstance(model, SupportsMRoPE) when the config
#: names an mrope_section, so any other architecture with one stops there).
_V2_MROPE_ARCHITECTURES = ("Qwen3VLForConditionalGeneration", "Qwen3VLMoeForConditionalGeneration")


#: How many [T, hidden] tensors a later pipeline stage receives (IntermediateTensors: the keys of the model's
#: make_empty_intermediate_tensors_factory(keys, hidden_size), every release 0.8.0-0.33.0 alike): V1 allocates them
#: in _dummy_run during the profile, V2 in load_model before it (rule v2_persistent_buffers). Read per
#: architecture (vllm/model_executor/models/, lines 0.8.0 / 0.19.1 / 0.33.0): one ("hidden_states") for gpt2.py
#: GPT2Model :206 / :212 / :217, opt.py OPTModel :297 / :310 / :312, falcon.py FalconModel :370 / :396 / :396; two
#: ("hidden_states", "residual") for llama.py LlamaModel :332 / :393 / :399 (Llama, Mistral: registry "llama"
#: through 0.10.x, then mistral.py MistralModel(LlamaModel); Phi3ForCausalLM(LlamaForCausalLM), phi3.py :9 / :10 /
#: :10), qwen2.py Qwen2Model :309 / :411 / :391 (Qwen3Model(Qwen2Model), qwen3.py 0.19.1 :254, 0.33.0 :269),
#: qwen3_moe.py :468 (0.19.1) / :480 (0.33.0), gemma2.py :270 / :282 / :278, gemma3.py :361 / :333 / :321
#: (gemma3_mm.py hands on language_model's: :415 / :534 / :575; Gemma3ForCausalLM its Gemma3Model's, :486 / :488 / :404), mixtral.py :282 / :332 / :337, deepseek_v2.py
#: :619 / :1188 / :1489 (DeepseekV3ForCausalLM too), gpt_oss.py :287 (0.19.1) / :500 (0.33.0); qwen3_vl.py and
#: qwen3_vl_moe.py hand on language_model's (0.19.1 :1527 / :467, 0.33.0 :2061 / :309): Qwen3LLMModel(Qwen3Model)
#: and Qwen3MoeLLMModel(Qwen3MoeModel), no factory of their own. An architecture not here is refused at pp > 1
#: (VLLM.intermediate_tensor_count): its keys have not been read.
VLLM_INTERMEDIATE_TENSORS = {
    "GPT2LMHeadModel": 1, "OPTForCausalLM": 1, "FalconForCausalLM": 1,
    "LlamaForCausalLM": 2, "MistralForCausalLM": 2, "Phi3ForCausalLM": 2, "Qwen2ForCausalLM": 2,
    "Qwen3ForCausalLM": 2, "Qwen3MoeForCausalLM": 2, "Gemma2ForCausalLM": 2, "Gemma3ForConditionalGeneration": 2,
    "Gemma3ForCausalLM": 2,
    "MixtralForCausalLM": 2, "DeepseekV2ForCausalLM": 2, "DeepseekV3ForCausalLM": 2, "GptOssForCausalLM": 2,
    "Qwen3VLForConditionalGeneration": 2, "Qwen3VLMoeForConditionalGeneration": 2}


def _v2_buffers(*, inputs_embeds_keys: tuple[str, ...] = ("projection_dim", "projection_size"),
                mrope_dims_from_section: bool = False, thinking_budget: bool = False) -> dict:
    """A v2_persistent_buffers value: the sampler widths (_V2_FEATURE_WIDTHS); the multimodal and M-RoPE
    architectures; the text-config keys ModelConfig.get_inputs_embeds_size tries before the hidden size
    (``inputs_embeds_keys``); whether RopeState's channel count is the mrope_section's length (at least 3,
    ``mrope_dims_from_section``: 0.30.0+) or 3; whether --reasoning-parser puts ThinkingBudgetState on the
    GPU (``thinking_budget``: 0.28.0+)."""
    return {"widths": dict(_V2_FEATURE_WIDTHS), "multimodal_architectures": _V2_MULTIMODAL_ARCHITECTURES,
            "mrope_architectures": _V2_MROPE_ARCHITECTURES, "inputs_embeds_keys": inputs_embeds_keys,
            "mrope_dims_from_section": mrope_dims_from_section, "thinking_budget": thinking_budget}

#: The release a bare ``--engine vllm`` plans for: the newest whose default start-up (CUDA graphs
#: on, no environment) kvplan models exactly; 0.20.0+ subtract a CUDA-graph estimate by default.
DEFAULT_RELEASE = "0.19.1"

#: Releases published after the newest modelled one, as `pip index versions vllm` listed them on
#: 2026-11-30 (0.33.0 the newest then, so none now): refused with the reason in REFUSED; a later version
#: is named as one kvplan does not know of (VLLM.for_release). 0.21.0's one wheel carries build tag 1
#: (vllm-0.21.0-1-cp38-abi3-manylinux_2_24_x86_64.whl; `pip install --dry-run vllm==0.21.0` resolves it),
#: which an earlier listing of the index lacked.
PUBLISHED_LATER: tuple[str, ...] = ()

#: Published releases kvplan knows of but refuses to plan for, with the reason (none: every published
#: release up to 0.33.0 is modelled; 0.33.0 was read against 0.32.0, FINDINGS_h34_v33.md).
REFUSED: dict[str, str] = {}

_WORKER = "vllm/v1/worker/gpu_worker.py: Worker.determine_available_memory"
#: --kv-cache-dtype values vLLM 0.20.0+ takes that kvplan does not plan (rule kv_cache_dtypes).
KV_CACHE_DTYPES_NOT_MODELLED = ("turboquant_k8v4", "turboquant_4bit_nc", "turboquant_k3v4_nc", "turboquant_3bit_nc",
                                "int4_per_token_head", "int8_per_token_head", "fp8_per_token_head", "nvfp4")

_RUNNER = "vllm/v1/worker/gpu_model_runner.py: GPUModelRunner.profile_run / _dummy_sampler_run"
_TOPK = "vllm/v1/sample/ops/topk_topp_sampler.py: TopKTopPSampler.__init__, apply_top_k_top_p"
_ARGS = "vllm/engine/arg_utils.py: EngineArgs._set_default_args (default_max_num_batched_tokens/seqs)"
#: Architectures whose Model Runner V2 profile run kvplan has read with experts or MLA layers (rule
#: v2_moe_mla_architectures, FINDINGS_h35_v2moe.md): registry.py builds them from models/deepseek_v2.py,
#: mixtral.py, qwen2_moe.py and qwen3_moe.py (0.25.0-0.33.0), which read nothing of the runner.
V2_MOE_MLA_READ = ("DeepseekV2ForCausalLM", "DeepseekV3ForCausalLM", "MixtralForCausalLM", "Qwen2MoeForCausalLM",
                   "Qwen3MoeForCausalLM")

# -- rows of rule fp8_kv_start_mla shared by several releases (see that rule)
#: registry.py _TRANSFORMERS_SUPPORTED_MODELS, release by release (rule transformers_backend_moved).
_TFB_0_10_1 = ("SmolLM3ForCausalLM", "Emu3ForConditionalGeneration")
_TFB_0_25_0 = _TFB_0_10_1 + ("GPTBigCodeForCausalLM", "Starcoder2ForCausalLM")
_TFB_0_26_0 = _TFB_0_25_0 + ("OlmoForCausalLM", "Olmo2ForCausalLM")
_TFB_0_27_0 = _TFB_0_26_0 + ("VaultGemmaForCausalLM", "VibeVoiceAsrForConditionalGeneration")
_TFB_0_29_0 = _TFB_0_27_0 + ("FlexOlmoForCausalLM", "HunYuanDenseV1ForCausalLM", "HunYuanMoEV1ForCausalLM",
                             "HunYuanVLForConditionalGeneration", "Olmo3ForCausalLM")
_TFB_0_30_0 = _TFB_0_29_0 + ("NanbeigeForCausalLM",)
_TFB_0_32_0 = _TFB_0_30_0 + ("ArceeForCausalLM", "CwmForCausalLM", "GPTNeoXForCausalLM", "GlmForCausalLM",
                             "Jais2ForCausalLM", "MellumForCausalLM", "PhiForCausalLM", "SeedOssForCausalLM")
_TFB_0_33_0 = _TFB_0_32_0 + ("Kolibri1ForCausalLM",)

_MLA_V0_ALL = (((0, 0), (99, 0), "v0", "vllm/engine/arg_utils.py _is_v1_supported_oracle: V1 takes no "
                "--kv-cache-dtype but auto ('No Fp8 KV cache so far'), MLA or not"),)
_MLA_FLASHMLA_REFUSES_V0_ELSEWHERE = (
    ((9, 0), (10, 0), "fails", "vllm/platforms/cuda.py get_attn_backend_cls picks FlashMLA on 9.x, whose "
     "FlashMLAImpl raises 'FlashMLA V1 with FP8 KV cache not yet supported' (vllm/v1/attention/backends/mla/"
     "flashmla.py; TritonMLA, the other default, raises likewise)"),
    ((0, 0), (99, 0), "v0", "vllm/engine/arg_utils.py _is_v1_supported_oracle: FlashAttention 3 runs fp8 on 9.x "
     "only (flash_attn_supports_fp8, later vllm/platforms/cuda.py is_kv_cache_dtype_supported), and the oracle "
     "asks it for MLA models too"))
_MLA_10_0_REFUSES = (
    ((10, 0), (10, 1), "fails", "vllm/platforms/cuda.py is_kv_cache_dtype_supported keeps 10.0 on V1, where "
     "get_attn_backend_cls picks TRITON_MLA (0.10.0) or CUTLASS_MLA (0.10.1), whose Impl raises NotImplementedError "
     "for an fp8 cache (vllm/v1/attention/backends/mla/triton_mla.py, cutlass_mla.py: 'with FP8 KV cache not yet "
     "supported')"),)
_MLA_FLASHMLA_CUTLASS_TRITON = (
    ((9, 0), (10, 0), "starts", "FLASHMLA (vllm/platforms/cuda.py get_attn_backend_cls; fp8 through "
     "flash_mla_with_kvcache descale_q/descale_k from 0.10.2)"),
    ((10, 0), (10, 1), "starts", "CUTLASS_MLA (vllm/platforms/cuda.py check_and_update_config forces it on 10.0 "
     "with block size 128)"),
    ((0, 0), (99, 0), "fails", "vllm/platforms/cuda.py get_attn_backend_cls falls to TRITON_MLA off 9.x and 10.0, "
     "whose TritonMLAImpl raises 'TritonMLA V1 with FP8 KV cache not yet supported' "
     "(vllm/v1/attention/backends/mla/triton_mla.py)"))
_MLA_FLASHMLA_9X = ((9, 0), (10, 0), "starts", "FLASHMLA (vllm/platforms/cuda.py _get_backend_priorities: "
                    "FLASH_ATTN_MLA, first, has no fp8 in supported_kv_cache_dtypes)")
_MLA_FLASHINFER_10X = ((10, 0), (11, 0), "starts", "FLASHINFER_MLA (vllm/platforms/cuda.py _get_backend_priorities, "
                       "first for major 10 from 0.15.0)")
_MLA_TRITON_AUTO_ONLY = ((0, 0), (99, 0), "fails", "vllm/platforms/cuda.py _get_backend_priorities leaves only "
                         "TRITON_MLA off 9.x and 10.x, whose supported_kv_cache_dtypes has no fp8 before 0.18.0 "
                         "(vllm/v1/attention/backends/mla/triton_mla.py): 'No valid attention backend found'")
_MLA_NO_E5M2 = ((0, 0), (99, 0), "fails", "no MLA attention backend of this release lists fp8_e5m2 in its "
                "supported_kv_cache_dtypes (vllm/v1/attention/backends/mla/*.py), so vllm/platforms/cuda.py "
                "finds 'No valid attention backend'")

# -- rows of rule attention_features_start shared by several releases (see that rule)
_SW_STARTS = (((0, 0), (99, 0), "starts", "every attention backend this release picks on a GPU it runs V1 on "
               "takes sliding_window (vllm/v1/attention/backends/flash_attn.py, triton_attn.py, flashinfer.py; "
               "FlashInfer per KV cache group, one window each)"),)


def _sinks_10_0_flashinfer(without: str) -> tuple:
    """attention_features_start "sinks" rows of 0.10.1-0.11.0; ``without``: what FlashInfer does
    with sinks when the TRTLLM cubins are not there."""
    return (
        ((10, 0), (10, 1), "unmodelled", "vllm/platforms/cuda.py get_attn_backend_cls picks FlashInfer on 10.0 "
         "when the optional flashinfer package is installed, which runs sinks only through TRTLLM cubins "
         "downloaded from NVIDIA's artifactory (vllm/utils/flashinfer.py supports_trtllm_attention: "
         f"has_nvidia_artifactory; without them {without}), else TRITON_ATTN"),
        ((0, 0), (99, 0), "starts", "FLASH_ATTN with FlashAttention 3 on 9.0, TRITON_ATTN on other GPUs from 8.0 "
         "(vllm/platforms/cuda.py get_attn_backend_cls: has_sink and not is_device_capability(90)); below 8.0 "
         "FLEX_ATTENTION, whose Impl takes the sinks in **kwargs and ignores them (0.10.2-0.11.0)"),
    )


_SINKS_10_0_UNCHECKED = _sinks_10_0_flashinfer(
    "vllm/v1/attention/backends/flashinfer.py passes the sinks to the TRTLLM calls only and runs its other "
    "kernels without them")
_SINKS_10_0_RAISES = _sinks_10_0_flashinfer(
    "vllm/v1/attention/backends/flashinfer.py raises NotImplementedError 'FlashInfer backend currently does not "
    "support attention sinks'")

#: attention_features_start "sinks" up to 0.10.0.
_SINKS_NONE = (((0, 0), (99, 0), "fails", "no attention backend of this release runs attention sinks "
                "(vllm/attention/layer.py: Attention takes no sinks before 0.10.1)"),)
#: attention_features_start "softcap" where no backend this release picks raises for it.
_SOFTCAP_STARTS = (((0, 0), (99, 0), "starts", "the backends vllm/platforms/cuda.py get_attn_backend_cls picks for a "
                    "float16 or bfloat16 model on a GPU V1 runs on, FLASH_ATTN, TRITON_ATTN and FLASHINFER, take "
                    "logits_soft_cap (vllm/v1/attention/backends/flash_attn.py, triton_attn.py, flashinfer.py); "
                    "FLEX_ATTENTION (from 0.9.1), which raises for it, runs only when VLLM_ATTENTION_BACKEND names it"),)
#: The FlexAttention refusal every release from 0.9.1 has (FlexAttentionImpl.__init__).
_FLEX_SOFTCAP = ("raises 'FlexAttention does not support logits soft cap yet.' "
                 "(vllm/v1/attention/backends/flex_attention.py FlexAttentionImpl)")
#: attention_features_start "softcap_fp32" in 0.9.2-0.11.0: float32 runs only on FlexAttention.
#: Two rows, so that a GPU without a known compute capability (AMD: vllm/platforms/rocm.py picks
#: its own backends; --gpu-mem) is not checked against CUDA's choice (check_attention_features).
_SOFTCAP_FP32_FLEX = tuple(
    (lo, below, "fails", "vllm/platforms/cuda.py get_attn_backend_cls picks FLEX_ATTENTION for a float32 model "
     "('FP32 is only supported by FlexAttention' in 0.9.2; from 0.10.0 is_attn_backend_supported: FLASH_ATTN and "
     f"FLASHINFER get_supported_dtypes are float16 and bfloat16), which {_FLEX_SOFTCAP}; --dtype bf16 starts")
    for lo, below in (((0, 0), (8, 0)), ((8, 0), (99, 0))))

#: attention_features_start "softcap" in 0.10.2-0.11.0, where V1 runs below 8.0 on FlexAttention.
_SOFTCAP_FLEX_BELOW_8 = (
    ((0, 0), (8, 0), "fails", f"vllm/platforms/cuda.py get_attn_backend_cls picks FLEX_ATTENTION below 8.0, which "
     f"{_FLEX_SOFTCAP}"),
    ((8, 0), (99, 0), "starts", "vllm/platforms/cuda.py get_attn_backend_cls picks FLASH_ATTN from 8.0 (TRITON_ATTN "
     "with sinks or an fp8 cache off 9.0, FLASHINFER first on 10.0 when installed), each taking logits_soft_cap"),
)
#: attention_features_start "softcap" and "softcap_fp32" from 0.11.1.
_SOFTCAP_TRITON_BEFORE_FLEX = (((0, 0), (99, 0), "starts", "vllm/platforms/cuda.py _get_backend_priorities lists "
                                "FLEX_ATTENTION last, after TRITON_ATTN, which takes every compute capability, "
                                "float32 (supported_dtypes) and logits_soft_cap (vllm/v1/attention/backends/"
                                "triton_attn.py); FLASH_ATTN and FLASHINFER, where they come first, take it too"),)

#: attention_features_start "fp32" and "sliding_window_fp32" up to 0.9.1: the V1 oracle's dtype test.
_FP32_V0 = (((0, 0), (99, 0), "v0", "vllm/engine/arg_utils.py _is_v1_supported_oracle: a --dtype outside "
             "V1_SUPPORTED_DTYPES (float16, bfloat16) falls back to V0"),)
#: attention_features_start "fp32" in 0.9.2-0.11.0: FlexAttention runs float32 models.
_FP32_FLEX = (((0, 0), (99, 0), "starts", "vllm/platforms/cuda.py get_attn_backend_cls picks FLEX_ATTENTION for a "
               "float32 model ('FP32 is only supported by FlexAttention' in 0.9.2; from 0.10.0 FLASH_ATTN and "
               "FLASHINFER get_supported_dtypes are float16 and bfloat16), which runs full attention in float32"),)
#: attention_features_start "sliding_window_fp32" in 0.9.2-0.10.2: that FlexAttention refuses windows.
#: Two rows, as _SOFTCAP_FP32_FLEX, so that a GPU without a known compute capability is not checked.
_SW_FP32_FLEX = tuple(
    (lo, below, "fails", "vllm/platforms/cuda.py get_attn_backend_cls picks FLEX_ATTENTION for a float32 model, "
     "which raises 'FlexAttention does not support sliding window yet.' (vllm/v1/attention/backends/"
     "flex_attention.py FlexAttentionImpl); --dtype bf16 starts")
    for lo, below in (((0, 0), (8, 0)), ((8, 0), (99, 0))))
#: attention_features_start "sliding_window_fp32" in 0.11.0: its FlexAttention keeps the window.
_SW_FP32_FLEX_STARTS = (((0, 0), (99, 0), "starts", "vllm/platforms/cuda.py get_attn_backend_cls picks "
                         "FLEX_ATTENTION for a float32 model; vllm/v1/attention/backends/flex_attention.py "
                         "FlexAttentionImpl keeps self.sliding_window from 0.11.0"),)
#: attention_features_start "fp32" and "sliding_window_fp32" from 0.11.1.
_FP32_TRITON = (((0, 0), (99, 0), "starts", "vllm/platforms/cuda.py _get_backend_priorities lists TRITON_ATTN, "
                 "which takes float32 (supported_dtypes) and sliding windows on every compute capability, before "
                 "FLEX_ATTENTION"),)

_MIB = 1 << 20
#: FI_ALLREDUCE_FUSION_MAX_SIZE_MB in bytes (vllm/compilation/collective_fusion.py 0.11.1-0.15.1,
#: vllm/compilation/passes/fusion/allreduce_rms_fusion.py from 0.16.0; the same in every release
#: from 0.11.1 to 0.18.1, benchmarks/check_vllm_rules.py): by compute capability, then tp. E.g.
#: gpt-oss-120b (hidden 2880, bf16) at tp 8 on a B200: 1 MiB / 5,760 B = 182 tokens fuse.
_FI_MAX_BYTES = {
    (9, 0): {2: 64 * _MIB, 4: 2 * _MIB, 8: _MIB // 2},
    (10, 0): {2: 64 * _MIB, 4: 32 * _MIB, 8: _MIB},
}
#: 0.19.0 adds capability 10.3 (B300).
_FI_MAX_BYTES_SM103 = {**_FI_MAX_BYTES, (10, 3): {2: 64 * _MIB, 4: 64 * _MIB, 8: 2 * _MIB}}
#: 0.25.0 adds tp 16 on 10.0 and 10.3 (64 MB, "mnnvl multi-node").
_FI_MAX_BYTES_TP16 = {**_FI_MAX_BYTES_SM103, (10, 0): {**_FI_MAX_BYTES[(10, 0)], 16: 64 * _MIB},
                      (10, 3): {**_FI_MAX_BYTES_SM103[(10, 3)], 16: 64 * _MIB}}
#: 0.27.0 adds capability 10.7 (2: 64, 4: 64, 8: 2 MB; no 16).
_FI_MAX_BYTES_SM107 = {**_FI_MAX_BYTES_TP16, (10, 7): {2: 64 * _MIB, 4: 64 * _MIB, 8: 2 * _MIB}}
#: 0.29.0 raises capability 10.3 at tp 8 from 2 to 4 MB (allreduce_rms_fusion.py :116-121).
_FI_MAX_BYTES_SM103_TP8 = {**_FI_MAX_BYTES_SM107, (10, 3): {**_FI_MAX_BYTES_SM107[(10, 3)], 8: 4 * _MIB}}

#: vLLM's SupportsMambaPrefixCaching model classes, 0.11.1-0.15.0 (rule state_prefix_caching; 0.19.1
#: adds NemotronHPuzzleForCausalLM).
MAMBA_PREFIX_CACHING_ARCHS = ("BambaForCausalLM", "FalconH1ForCausalLM", "FalconMambaForCausalLM",
                              "GraniteMoeHybridForCausalLM", "JambaForCausalLM", "Mamba2ForCausalLM",
                              "MambaForCausalLM", "NemotronHForCausalLM", "Zamba2ForCausalLM")

RULES = (
    # -- the memory the engine gives itself
    Rule("gpu_memory_utilization", "0.8.0", "0.19.1", Fraction(9, 10),
         "vllm/config.py (0.8-0.10.0), vllm/config/cache.py: CacheConfig.gpu_memory_utilization = 0.9"),
    Rule("gpu_memory_utilization", "0.20.0", None, Fraction(23, 25),
         "vllm/config/cache.py: CacheConfig.gpu_memory_utilization = Field(default=0.92) (0.20.0, 0.21.0, 0.22.0 "
         "and 0.22.1 line 66; 0.23.0 line 67)"),
    # -- how the requested memory (total x gpu_memory_utilization, a Python float) becomes whole
    #    bytes. "floor": the float is kept and the KV pool truncated, int(total x util - non-KV), which
    #    for a pool of at least 0 B is floor(total x util) - non-KV (the float's ulp divides both
    #    terms, so the subtraction is exact). "ceil": rounded up before anything is subtracted.
    #    85,029,027,840 B x 0.92 = 78,226,705,612.8: ...612 B floor, ...613 B ceil.
    Rule("requested_memory_rounding", "0.8.0", "0.13.0", "floor",
         _WORKER + ": return int(total_gpu_memory * gpu_memory_utilization - peak_memory) (0.8.0 :182-186, "
         "0.9.0 :210-214); from 0.9.1 requested_memory = total_memory * gpu_memory_utilization kept as a float "
         "(0.9.1 :136-137, 0.11.0 :183-184, 0.13.0 :241-244) and return int(requested_memory - "
         "non_kv_cache_memory) (0.9.1 :218-231, 0.11.0 :279-302, 0.13.0 :357-382)"),
    Rule("requested_memory_rounding", "0.14.0", None, "ceil",
         "vllm/v1/worker/utils.py: request_memory, requested_memory = math.ceil(total_memory * "
         "gpu_memory_utilization) (0.14.0 :258, 0.15.0 :255, 0.16.0 :97, 0.17.0 :222, 0.17.1-0.22.1 :408, 0.23.0 :410; "
         "request_memory AST-identical 0.22.1 -> 0.23.0), "
         "which Worker.init_device stores as requested_memory (0.14.0 gpu_worker.py :234, 0.20.0 :283, 0.21.0 :303)"),
    Rule("block_size", "0.8.0", None, 16,
         "vllm/platforms/cuda.py: check_and_update_config sets block_size 16 when unset (0.17.1 :178-179); "
         "from 0.18.0 vllm/config/cache.py CacheConfig.DEFAULT_BLOCK_SIZE = 16 (:34; 0.21.0 and 0.22.0 :45; "
         "0.23.0 :46), applied "
         "by vllm/platforms/interface.py update_block_size_for_backend"),
    # -- weights beyond the checkpoint's: MLA layers (DeepSeek-V2/V3, Kimi-K2) keep kv_b_proj and
    #    also W_UK_T / W_UV, views of kv_b_proj's weight in the model dtype (act_dtype =
    #    model_config.dtype, vllm/model_executor/model_loader/utils.py process_weights_after_loading,
    #    inside load_model, so "Model loading took" counts it). A quantized kv_b_proj (fp8, int8,
    #    GPTQ/AWQ: any quant method but UnquantizedLinearMethod) is dequantized into a new tensor that
    #    those views keep alive; an unquantized one is returned itself (no copy). kv_b_proj stays:
    #    the prefill path runs it (mla_attention.py 0.19.1 lines 2507, 2617, 2673). The ROCm-only
    #    branches (VLLM_ROCM_USE_AITER=1 with AITER FP8/FP4 BMM, off by default: vllm/envs.py) build
    #    fp8/mxfp4 copies instead; kvplan models the default environment. Value: the copy is held.
    #    DeepSeek-V3 fp8: 512 x 128 x (128 + 128) x 2 B = 33,554,432 B a layer at tp 1. An MTP
    #    drafter's MLA layer too: the same loader builds it (kvplan.speculative.mtp_copy_bytes).
    Rule("mla_kv_b_dequantized_copy", "0.8.0", "0.10.1.1", True,
         "vllm/v1/attention/backends/mla/common.py MLACommonImpl.process_weights_after_loading (0.8.0 lines "
         "660-709; 0.10.1.1 956-1005): get_and_maybe_dequant_weights = quant_method.apply(layer, eye(act_dtype)) "
         "for a quantized layer, layer.weight otherwise; self.W_UV / self.W_UK_T = transpose / permute of it"),
    Rule("mla_kv_b_dequantized_copy", "0.10.2", "0.14.1", True,
         "vllm/v1/attention/backends/mla/common.py process_weights_after_loading (0.10.2 lines 1157-1246; "
         "0.14.1 MLACommonBaseImpl 1186-1281 and MLACommonImpl 1602-1697): as 0.8.0, plus the ROCm "
         "is_rocm_aiter_fp8bmm_enabled branch (VLLM_ROCM_USE_AITER, default off)"),
    Rule("mla_kv_b_dequantized_copy", "0.15.0", None, True,
         "vllm/model_executor/layers/attention/mla_attention.py process_weights_after_loading (0.19.1 "
         "MLAAttention lines 710-808) with vllm/model_executor/layers/quantization/utils/quant_utils.py "
         "get_and_maybe_dequant_weights (0.19.1 lines 342-391): weight.to(act_dtype) when unquantized; "
         "Fp8LinearMethod: scaled_dequantize(..., out_dtype=act_dtype); else quant_method.apply(layer, eye)"),
    # -- the rotary cos/sin table of a dynamic-NTK model (HF rope_scaling type "dynamic" with a
    #    factor; ModelSpec.rope_scaling): get_rope hands DynamicNTKScalingRotaryEmbedding the
    #    config's max_position_embeddings (llama.py, internlm2.py: max_position=config value, not the
    #    scaled max_model_len), and its _compute_cos_sin_cache sizes the table; a module buffer in the
    #    model dtype (RotaryEmbeddingBase.__init__ cache.to(dtype)), so part of the weights. Value: the
    #    rows, "scaled" = ceil(max_position x factor) (torch.arange of a float end), "unscaled" =
    #    max_position. InternLM2.5-7B (32,768 x 2.0, head_dim 128, bf16): 16 MiB up to 0.21.0, 8 MiB
    #    from 0.22.0. Linear scaling (LinearScalingRotaryEmbedding: max_position x factor rows per
    #    factor, concatenated), YaRN (original x factor), llama3 (max_position) and longrope (original +
    #    max_position, Phi3LongRoPEScaledRotaryEmbedding long_short_cos_sin_cache) did not change at 0.22.0.
    Rule("dynamic_ntk_rope_rows", "0.8.0", "0.21.0", "scaled",
         "DynamicNTKScalingRotaryEmbedding._compute_cos_sin_cache: max_len = self.max_position_embeddings * "
         "self.scaling_factor; t = torch.arange(max_len) (vllm/model_executor/layers/rotary_embedding.py 0.8.0 "
         ":456-462, 0.10.0 :463-469; rotary_embedding/dynamic_ntk_scaling_rope.py 0.10.1 :55-61, 0.21.0 :56-62); "
         "get_rope passes max_position (0.8.0 rotary_embedding.py :1159-1163, 0.21.0 rotary_embedding/__init__.py "
         ":200-223)"),
    Rule("dynamic_ntk_rope_rows", "0.22.0", None, "unscaled",
         "vllm/model_executor/layers/rotary_embedding/dynamic_ntk_scaling_rope.py (0.22.0, 0.22.1) "
         "_compute_cos_sin_cache :53-73: t = torch.arange(self.max_position_embeddings); the factor only moves "
         "the base, by max_position / max_trained_positions (rotary_embedding/__init__.py get_rope :212-223: "
         "rope_parameters max_trained_positions, default max_position)"),
    # -- data parallelism with a MoE model: each rank's MoE layers run on the tokens of every DP
    #    rank, gathered into one [sum of the ranks' tokens, hidden] tensor (and gathered router
    #    logits), so the profile run's MoE activations grow with dp; the DP / EP communicators add
    #    buffers. kvplan plans each rank's activation peak and non-torch memory as dp 1's and says
    #    so (VLLM.unmodelled_notes). Value: how the tokens are gathered by default.
    Rule("dp_moe_token_gather", "0.8.0", "0.8.5.post1", "naive multicast",
         "vllm/model_executor/layers/fused_moe/layer.py FusedMoE.naive_multicast (0.8.0 lines 735-751): "
         "torch.empty((cu_tokens_across_dp_cpu[-1], hidden)) filled by broadcasts from every DP rank"),
    Rule("dp_moe_token_gather", "0.9.0", "0.10.2", "naive multicast",
         "vllm/envs.py VLLM_ALL2ALL_BACKEND default 'naive'; vllm/distributed/device_communicators/all2all.py "
         "NaiveAll2AllManager.dispatch -> naive_multicast (0.9.0 lines 32-57)"),
    Rule("dp_moe_token_gather", "0.11.0", None, "all-gather (allgather_reducescatter)",
         "vllm/envs.py VLLM_ALL2ALL_BACKEND default 'allgather_reducescatter' (0.11.0), vllm/config/parallel.py "
         "all2all_backend = 'allgather_reducescatter' (0.19.1 line 160); all2all.py AgRsAll2AllManager.dispatch "
         "-> all_gatherv (0.19.1 lines 193-218)"),
    # -- engine options a release no longer takes (its CLI rejects them)
    Rule("removed_options", "0.8.0", "0.17.1", (), "vllm/engine/arg_utils.py: EngineArgs has swap_space"),
    Rule("removed_options", "0.18.0", None, ("swap_space",),
         "vllm/engine/arg_utils.py: no swap_space / --swap-space from 0.18.0 (0.17.1 still has it)"),
    # -- the values --block-size takes
    Rule("block_size_choices", "0.8.0", "0.8.4", (8, 16, 32, 64, 128),
         "vllm/engine/arg_utils.py: parser.add_argument('--block-size', choices=[8, 16, 32, 64, 128])"),
    Rule("block_size_choices", "0.8.5", "0.11.0", (1, 8, 16, 32, 64, 128),
         "vllm/config.py (0.8.5-0.10.0), vllm/config/cache.py: BlockSize = Literal[1, 8, 16, 32, 64, 128]"),
    Rule("block_size_choices", "0.11.1", "0.17.1", (1, 8, 16, 32, 64, 128, 256),
         "vllm/config/cache.py: BlockSize = Literal[1, 8, 16, 32, 64, 128, 256]"),
    Rule("block_size_choices", "0.18.0", "0.22.1", None,
         "vllm/config/cache.py: block_size: SkipValidation[int]; the selected attention backend must support it "
         "(FlexAttention, the last fallback, takes any size)"),
    # 0.23.0 validates the field (a positive integer, which kvplan's --block-size already must be); the
    # backend test and the default are 0.22.1's (Platform.update_block_size_for_backend,
    # AttentionBackend.get_preferred_block_size / get_supported_kernel_block_sizes AST-identical).
    Rule("block_size_choices", "0.23.0", None, None,
         "vllm/config/cache.py (0.23.0): block_size: int = Field(default=None, gt=0) (:48) with "
         "CacheConfig._skip_none_validation (:224-230) letting None through to _apply_block_size_default "
         "(:232-244, DEFAULT_BLOCK_SIZE 16); no list of sizes, the selected attention backend must support it"),
    # -- the block size of MLA models (DeepSeek-V2/V3, Kimi-K2, ...): the attention backend's
    #    (vllm/platforms/cuda.py: CudaPlatformBase.check_and_update_config up to 0.17.1; kvplan.engines.vllm
    #    mla_block_size applies these by compute capability)
    Rule("mla_block_size", "0.8.0", "0.11.0", "flashmla-exactly-64",
         "vllm/platforms/cuda.py: check_and_update_config: with VLLM_ATTENTION_BACKEND unset MLA runs FlashMLA "
         "where vllm/attention/ops/flashmla.py is_flashmla_supported (compute capability 9.x), and "
         "`block_size != 64` sets block_size = 64 (\"Forcing kv cache block size to 64 for FlashMLA backend.\"); "
         "0.9.1+ pick CUTLASS_MLA (block 128) on capability 10.0, 0.10.2+ also FlashInfer MLA"),
    Rule("mla_block_size", "0.11.1", "0.17.1", "flashmla-multiple-of-64",
         "vllm/platforms/cuda.py: check_and_update_config: FlashMLA (is_flashmla_dense_supported) and "
         "`block_size % 64 != 0` sets block_size = 64; Blackwell (is_device_capability[_family](100)) picks "
         "FlashInfer MLA (32 or a multiple of 64) or CUTLASS_MLA (a multiple of 128)"),
    Rule("mla_block_size", "0.18.0", None, "backend-preferred",
         "vllm/platforms/interface.py: Platform.update_block_size_for_backend keeps a --block-size, else takes "
         "the selected backend's get_preferred_block_size (vllm/v1/attention/backend.py: 16 when supported, "
         "else the smallest supported); vllm/platforms/cuda.py _get_backend_priorities on capability 9.x: "
         "FLASH_ATTN_MLA (MultipleOf(16); kv auto/float16/bfloat16), FLASHMLA ([64]; also fp8, fp8_e4m3), "
         "FLASHINFER_MLA (10.x only), TRITON_MLA (MultipleOf(16); kv auto/float16/bfloat16/fp8/fp8_e4m3)"),
    Rule("sparse_mla_block_size", "0.8.0", "0.10.2", None,
         "vllm/model_executor/models/registry.py has no DeepseekV32ForCausalLM before 0.11.0"),
    Rule("sparse_mla_block_size", "0.11.0", "0.17.1", "exactly-64",
         "vllm/platforms/cuda.py: check_and_update_config: `use_sparse and block_size != 64` (use_sparse: the "
         "config has index_topk) sets block_size = 64"),
    Rule("sparse_mla_block_size", "0.18.0", None, "multiple-of-64",
         "vllm/v1/attention/backends/mla/flashmla_sparse.py: get_supported_kernel_block_sizes [64] (the "
         "preferred size, and a --block-size must be a multiple of it); on 10.x FLASHINFER_MLA_SPARSE "
         "([32, 64]) may come first (cuda.py _get_backend_priorities)"),
    # -- whether vLLM subtracts its CUDA-graph memory estimate from the KV pool by default. The
    #    estimate is measured, not computed: GPUModelRunner.profile_cudagraph_memory captures the
    #    first two graphs of each CUDA-graph mode, reads torch.cuda.mem_get_info around each, and
    #    extrapolates first + (n - 1) x second (0.20.0 gpu_model_runner.py :5949-6047), so kvplan
    #    cannot predict it. True: the release subtracts it unless --enforce-eager (cudagraph_mode
    #    NONE: not measured, vllm/config/vllm.py VllmConfig.__post_init__), or
    #    VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS=0 (measured, not subtracted, as in 0.18-0.19), or
    #    a GPU that is not CUDA (not measured); kvplan.engines.vllm VLLM.check_cudagraph_estimate
    #    refuses the rest.
    # -- whether kvplan has read the release's speculative-decoding memory (drafter, its KV layers,
    #    lookahead slots, the rejection sampler; kvplan.speculative): not for 0.20.0+, whose
    #    v1/spec_decode/eagle.py changed throughout (FINDINGS_h27_v20b.md): refused there.
    Rule("speculative_read", "0.8.0", "0.19.1", True, "v1/spec_decode (the releases kvplan read)"),
    Rule("speculative_read", "0.20.0", None, False, "v1/spec_decode/eagle.py (0.20.0, 0.21.0, 0.22.0): not read; "
         "0.22.0's _dummy_sampler_run adds a probabilistic draft_probs [tokens, vocab] fp32 pass (gpu_model_runner.py "
         ":5992-6002); 0.23.0 adds Step3p5MTPProposer (GPUModelRunner.__init__) and a use_fp64_gumbel draft path"),
    Rule("cudagraph_estimate_subtracted", "0.8.0", "0.19.1", False,
         _WORKER + " (no estimate before 0.18; 0.18-0.19 estimate it but subtract only with "
         "VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS=1, default '0' in vllm/envs.py)"),
    Rule("cudagraph_estimate_subtracted", "0.20.0", None, True,
         _WORKER + ": available_kv_cache_memory_bytes = requested_memory - non_kv_cache_memory - "
         "cudagraph_memory_estimate_applied (0.20.0 :419-423, 0.21.0 :441-445), the estimate measured when "
         "cudagraph_mode != NONE on CUDA (0.20.0 :379-385 'not current_platform.is_rocm()', 0.21.0 :401-407 "
         "'current_platform.is_cuda()'; 0.22.0 :405-411, determine_available_memory AST-identical to 0.21.0; 0.23.0 "
         ":419-425, :439-465, AST-identical to 0.22.1) and applied when VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS "
         "(vllm/envs.py default '1' from 0.20.0, line 1725; 0.21.0 line 1769; 0.22.0 line 1955; 0.23.0 line 1978; "
         "0.26.0 lines 1986-1987: :519-544 as before)"),
    # -- whether the estimate is also measured (and subtracted) on an AMD GPU: 0.20.0 skipped ROCm
    #    ('not current_platform.is_rocm()'), 0.21.0-0.25.1 measured on CUDA only ('is_cuda()');
    #    0.26.0 measures on ROCm too. kvplan.engines.vllm VLLM.check_profiled_pool.
    Rule("cudagraph_estimate_on_amd", "0.8.0", "0.25.1", False,
         _WORKER + " (0.21.0 :401-407 ... 0.25.0 :473-480: 'current_platform.is_cuda()' around "
         "profile_cudagraph_memory; 0.20.0 'not current_platform.is_rocm()'; no estimate before 0.18.0)"),
    Rule("cudagraph_estimate_on_amd", "0.26.0", None, True,
         _WORKER + " (0.26.0 :495-506): 'current_platform.is_cuda_alike()' ('ROCm is included: #44825 moved the "
         "profiler to torch.accelerator.get_memory_info'), subtracted as on CUDA (:519-544); "
         "GPUModelRunner.profile_cudagraph_memory (gpu_model_runner.py :6576-6742) captures on the compute "
         "stream on ROCm"),
    # -- how the worker measures the memory that is not KV cache. False: weights_memory (the allocated
    #    bytes load_model added) + the torch peak over what was allocated when the profile run began +
    #    the non-torch increase since the worker's start (cuda memory - torch reserved), all of which
    #    kvplan plans from allocated bytes and the fitted non-torch figures. True (0.27.0): the drop in
    #    the device's free memory from the worker's start to after the profile run and empty_cache
    #    (total_consumed), plus the torch peak over what stays allocated then (transient_peak_headroom):
    #    besides the old terms, every byte PyTorch's caching allocator keeps reserved but unallocated
    #    in a segment that still holds a live tensor (a kept buffer carved out of a freed activation's
    #    segment pins that segment), and the runner's buffers allocated after the worker's start but
    #    outside load_model (GPUModelRunner.__init__, the workspace manager). Both follow the
    #    allocator's segment layout, which kvplan does not predict (VLLM.check_profiled_pool refuses
    #    the profiled pool; --kv-cache-memory-bytes skips the accounting and is planned).
    Rule("non_kv_from_free_memory", "0.8.0", "0.26.0", False,
         "vllm/utils/mem_utils.py memory_profiling: non_kv_cache_memory = non_torch_increase + torch_peak_increase "
         "+ weights_memory (0.19.1 :273-283); 0.20.0-0.26.0 vllm/v1/worker/gpu_worker.py "
         "Worker.determine_available_memory recomputes it from the pre-CUDA-graph torch peak, the same three terms "
         "(0.26.0 :509-516)"),
    Rule("non_kv_from_free_memory", "0.27.0", "0.27.1", True,
         "vllm/utils/mem_utils.py (0.27.0) memory_profiling (:234-326): total_consumed = "
         "before_create.free_memory - after_profile.free_memory (:317-320, after gc.collect and "
         "torch.accelerator.empty_cache :301-304), transient_peak_headroom = after_profile.torch_peak - "
         "after_profile.torch_allocated (:323-325), non_kv_cache_memory = total_consumed + transient_peak_headroom "
         "(:326); vllm/v1/worker/gpu_worker.py Worker.determine_available_memory (:460-611): available = "
         "requested_memory - non_kv_cache_memory - cudagraph_memory_estimate_applied (:544-548); the baseline is "
         "init_device's snapshot (:395) taken before init_workspace_manager (:406) and the GPUModelRunner (:409-421); "
         "with kv_cache_memory_bytes set it returns that value after the profile run (:474-496, "
         "multimodal/gpu_ipc_memory.py reserve_mm_ipc_gpu_memory :155-, 0 B by default: mm_ipc_gpu_memory_gb 0, "
         "VLLM_VIDEO_LOADER_BACKEND 'opencv')"),
    # 0.28.0 (FINDINGS_h33_v28.md): the memory accounting is 0.27.x's, so the profiled pool stays refused.
    Rule("non_kv_from_free_memory", "0.28.0", "0.28.0", True,
         "vllm/utils/mem_utils.py (0.28.0) byte-identical to 0.27.1's: memory_profiling (:234-326), total_consumed "
         "(:317-320) + transient_peak_headroom (:323-325) = non_kv_cache_memory (:326); vllm/v1/worker/gpu_worker.py "
         "Worker.determine_available_memory AST-identical (0.28.0 :475-626: available = requested_memory - "
         "non_kv_cache_memory - cudagraph_memory_estimate_applied :559-563; with kv_cache_memory_bytes it returns "
         "that value after the profile run, :489-511); Worker.init_device takes the snapshot (:406) before "
         "init_workspace_manager (:417-421), whose new lanes (_num_workspace_lanes :95-101) are 2 only for a DSpark "
         "drafter on V2 (speculative decoding refused), and before the model runner (:423-438)"),
    # 0.29.0 (FINDINGS_h33_v29.md): memory_profiling AST-identical; the worker adds a ROCm-only fallback.
    Rule("non_kv_from_free_memory", "0.29.0", "0.29.0", True,
         "vllm/utils/mem_utils.py (0.29.0) memory_profiling AST-identical to 0.28.0 (:234-326; total_consumed "
         ":317-320 + transient_peak_headroom :323-325 = non_kv_cache_memory :326); vllm/v1/worker/gpu_worker.py "
         "Worker.determine_available_memory (:513-673): with kv_cache_memory_bytes it runs profile_run and returns "
         "the given bytes through reserve_mm_ipc_gpu_memory (:527-549, 0 B by default), else available = "
         "requested_memory - non_kv_cache_memory - cudagraph_memory_estimate_applied (:606-610); the only change, "
         "maybe_rocm_profiling_fallback (:110-134, called :581-598), replaces a negative total_consumed by the "
         "torch-reserved growth on ROCm alone"),
    # 0.30.0 (FINDINGS_h34_v30.md): memory_profiling, determine_available_memory, init_device AST-identical.
    Rule("non_kv_from_free_memory", "0.30.0", "0.30.0", True,
         "vllm/utils/mem_utils.py (0.30.0) memory_profiling AST-identical to 0.29.0 (:229-321; non_kv_cache_memory "
         "= total_consumed + transient_peak_headroom :321); vllm/v1/worker/gpu_worker.py Worker.determine_available_memory "
         "(:528-688) and Worker.init_device (:360-492) AST-identical: with kv_cache_memory_bytes the given bytes "
         "after profile_run, else requested_memory - non_kv_cache_memory - the CUDA-graph estimate"),
    # 0.31.0 (FINDINGS_h34_v31.md section 2): memory_profiling AST-identical; the profiled branch runs under a
    # 20 MiB max_split_size_mb, still a free-memory drop; the given-bytes branch unchanged.
    Rule("non_kv_from_free_memory", "0.31.0", "0.31.0", True,
         "vllm/utils/mem_utils.py (0.31.0) memory_profiling AST-identical to 0.30.0 (:230-321; total_consumed "
         ":312-314, non_kv_cache_memory = total_consumed + transient_peak_headroom :321); vllm/v1/worker/"
         "gpu_worker.py Worker.determine_available_memory (:571-740): with kv_cache_memory_bytes profile_run (:589) "
         "and the given bytes (:586-609), else the profile under _scoped_allocator_max_split(max_split_size_mb=20) "
         "(:612-626, :368-394) and available = requested_memory - non_kv_cache_memory - the CUDA-graph estimate "
         "(:673-677): still the device's free-memory drop"),
    # 0.32.0 (FINDINGS_h34_v32.md section 2): memory_profiling textually identical; request_memory may subtract
    # weights held by another process (--load-format ipc_cache, refused by kvplan.vllm_args).
    Rule("non_kv_from_free_memory", "0.32.0", "0.32.0", True,
         "vllm/utils/mem_utils.py (0.32.0) memory_profiling identical to 0.31.0 (:230-321); vllm/v1/worker/"
         "gpu_worker.py Worker.determine_available_memory (:634-807): with kv_cache_memory_bytes profile_run under "
         "set_current_vllm_config and the given bytes (:649-674), else the profile under "
         "_scoped_allocator_max_split(20) (:676-750, :407-433) and requested - non-KV - CUDA-graph estimate "
         "(:746-750): still the device's free-memory drop; v1/worker/utils.py request_memory (:716-772) subtracts "
         "external_weight_memory, non-zero only for the ipc_cache loader (model_loader/weight_cache/ipc_loader.py "
         ":121-; base_loader.py :33-36 returns 0)"),
    # 0.33.0 (FINDINGS_h34_v33.md section 2): mem_utils.py byte-identical; the given-bytes branch unchanged.
    Rule("non_kv_from_free_memory", "0.33.0", None, True,
         "vllm/utils/mem_utils.py (0.33.0) byte-identical to 0.32.0 (memory_profiling :230-321: total_consumed "
         ":312-314, non_kv_cache_memory :321); vllm/v1/worker/gpu_worker.py Worker.determine_available_memory "
         "(:641-820): with kv_cache_memory_bytes profile_run and the given bytes (:656-680), else the free-memory "
         "profile and requested - non-KV - the CUDA-graph estimate (:697, :706-717, :753-757); Worker.init_device "
         "creates the cuBLAS handles before the init snapshot (:519-529, :541)"),
    # -- the model runner: kvplan models the V1 runner's profile run (vllm/v1/worker/gpu_model_runner.py).
    #    Value: None where the release has no Model Runner V2 (vllm/v1/worker/gpu/), else the
    #    architectures it runs on V2 when VLLM_USE_V2_MODEL_RUNNER is unset (kvplan.engines.vllm
    #    VLLM.check_model_runner refuses them, and VLLM_USE_V2_MODEL_RUNNER=1 anywhere it exists;
    #    VLLM_USE_V2_MODEL_RUNNER=0 keeps V1). From 0.22.0 the default also needs a "generate" runner,
    #    no MoE (ModelConfig.is_moe), no quantization_config in the checkpoint's config
    #    (ModelConfig.is_quantized), Triton, and none of the features V2 lacks; where those fail
    #    vLLM falls back to V1, which kvplan does not tell apart: it refuses the architecture.
    Rule("v2_model_runner_architectures", "0.8.0", "0.11.2", None,
         "vllm/envs.py: no VLLM_USE_V2_MODEL_RUNNER (no vllm/v1/worker/gpu/ model runner) before 0.12.0"),
    Rule("v2_model_runner_architectures", "0.12.0", "0.21.0", (),
         "vllm/envs.py: VLLM_USE_V2_MODEL_RUNNER default '0' (0.12.0 :1550-1552, 0.19.1 :1605-1607, 0.21.0 "
         ":1711-1713), read by vllm/v1/worker/gpu_worker.py Worker.__init__ (use_v2_model_runner): V1 unless set"),
    Rule("v2_model_runner_architectures", "0.22.0", "0.22.1", ("Qwen3ForCausalLM",),
         "vllm/config/vllm.py: DEFAULT_V2_MODEL_RUNNER_ARCHITECTURES = frozenset({'Qwen3ForCausalLM'}) (0.22.0 and "
         "0.22.1 :69), read by VllmConfig.use_v2_model_runner (:492-516: envs.VLLM_USE_V2_MODEL_RUNNER when set, "
         "vllm/envs.py :1897-1899 maybe_convert_bool, default None; else _is_default_v2_model_runner_model :518-532, "
         "HAS_TRITON and _get_v2_model_runner_unsupported_features :1977-2055), which gpu_worker.py Worker.__init__ "
         "takes (:153)"),
    Rule("v2_model_runner_architectures", "0.23.0", "0.23.0",
         ("LlamaForCausalLM", "MistralForCausalLM", "Qwen3ForCausalLM"),
         "vllm/config/vllm.py (0.23.0): DEFAULT_V2_MODEL_RUNNER_ARCHITECTURES = frozenset({'LlamaForCausalLM', "
         "'MistralForCausalLM', 'Qwen3ForCausalLM'}) (:69-75); VllmConfig.use_v2_model_runner (:519-542) and "
         "_is_default_v2_model_runner_model (:544-558) as 0.22.1's but for log text "
         "(envs.VLLM_USE_V2_MODEL_RUNNER when set, vllm/envs.py :1921-1923 maybe_convert_bool, default None; "
         "else a 'generate' runner, an architecture in the set, not is_moe and not is_quantized, HAS_TRITON, no "
         "_get_v2_model_runner_unsupported_features); "
         "gpu_worker.py Worker.__init__ takes it (:161)"),
    # 0.24.0 adds three MoE architectures and drops the `not is_moe and not is_quantized` test: a
    # quantized Llama / Mistral / Qwen3 checkpoint now runs V2 as well (rule v2_model_runner_skips_quantized).
    Rule("v2_model_runner_architectures", "0.24.0", "0.24.0",
         ("DeepseekV2ForCausalLM", "GraniteMoeForCausalLM", "LlamaForCausalLM", "MistralForCausalLM",
          "Qwen2MoeForCausalLM", "Qwen3ForCausalLM"),
         "vllm/config/vllm.py (0.24.0): DEFAULT_V2_MODEL_RUNNER_ARCHITECTURES = frozenset({'Qwen3ForCausalLM', "
         "'DeepseekV2ForCausalLM', 'Qwen2MoeForCausalLM', 'GraniteMoeForCausalLM', 'LlamaForCausalLM', "
         "'MistralForCausalLM'}) (:68-77); VllmConfig.use_v2_model_runner (:522-548: envs.VLLM_USE_V2_MODEL_RUNNER "
         "when set, vllm/envs.py maybe_convert_bool, default None, unchanged; then a diffusion model (is_diffusion) "
         "always V2; else _is_default_v2_model_runner_model, HAS_TRITON, no _get_v2_model_runner_unsupported_features "
         ":1994-2090) and _is_default_v2_model_runner_model (:550-561: a 'generate' runner and an architecture in "
         "the set; the 0.22.0-0.23.0 `not is_moe and not is_quantized` test is gone); Worker.__init__ AST-identical"),
    # 0.25.0 keeps only the three MoE architectures in the set: _is_default_v2_model_runner_model adds
    # `or not model_config.is_moe`, so every model without experts runs V2 (rule v2_model_runner_dense).
    Rule("v2_model_runner_architectures", "0.25.0", "0.25.1",
         ("DeepseekV2ForCausalLM", "GraniteMoeForCausalLM", "Qwen2MoeForCausalLM"),
         "vllm/config/vllm.py (0.25.0): DEFAULT_V2_MODEL_RUNNER_ARCHITECTURES = frozenset({'DeepseekV2ForCausalLM', "
         "'Qwen2MoeForCausalLM', 'GraniteMoeForCausalLM'}) (:68-74); VllmConfig.use_v2_model_runner (:519-555: "
         "envs.VLLM_USE_V2_MODEL_RUNNER when set, default None, unchanged; then speculative method 'dspark' and "
         "diffusion models always V2; else _is_default_v2_model_runner_model, HAS_TRITON, no "
         "_get_v2_model_runner_unsupported_features :2042-2135); Worker.__init__ takes it as before"),
    # 0.26.0 adds InklingForCausalLM, InklingForConditionalGeneration and LongcatFlashNgramForCausalLM;
    # use_v2_model_runner also forces V2 for a DFlash drafter that needs several KV groups.
    Rule("v2_model_runner_architectures", "0.26.0", "0.26.0",
         ("DeepseekV2ForCausalLM", "GraniteMoeForCausalLM", "InklingForCausalLM", "InklingForConditionalGeneration",
          "LongcatFlashNgramForCausalLM", "Qwen2MoeForCausalLM"),
         "vllm/config/vllm.py (0.26.0): DEFAULT_V2_MODEL_RUNNER_ARCHITECTURES (:68-77) adds 'InklingForCausalLM', "
         "'InklingForConditionalGeneration', 'LongcatFlashNgramForCausalLM'; VllmConfig.use_v2_model_runner "
         "(:550-591) as 0.25.0 plus `if self._dflash_needs_multi_kv_group(): return True` (:593-, a DFlash "
         "drafter with mixed sliding / full layers); _is_default_v2_model_runner_model AST-identical (:605-622); "
         "_get_v2_model_runner_unsupported_features (:2127-2214) drops the logprobs-mode entry and lets MLA take "
         "prefill context parallelism"),
    # 0.27.0 adds KimiK3ForConditionalGeneration (left out on ROCm by default_v2_model_runner_architectures);
    # a listed architecture now runs V2 even when hybrid; prefill context parallelism forces V2.
    Rule("v2_model_runner_architectures", "0.27.0", "0.27.1",
         ("DeepseekV2ForCausalLM", "GraniteMoeForCausalLM", "InklingForCausalLM", "InklingForConditionalGeneration",
          "KimiK3ForConditionalGeneration", "LongcatFlashNgramForCausalLM", "Qwen2MoeForCausalLM"),
         "vllm/config/vllm.py (0.27.0): DEFAULT_V2_MODEL_RUNNER_ARCHITECTURES (:69-79) adds "
         "'KimiK3ForConditionalGeneration', which default_v2_model_runner_architectures (:91-102) leaves out on "
         "ROCm (ROCM_EXCLUDED_V2_MODEL_RUNNER_ARCHITECTURES :84-88); VllmConfig.use_v2_model_runner (:578-623) as "
         "0.26.0 plus V2 for prefill_context_parallel_size > 1 (--prefill-context-parallel-size, refused by "
         "kvplan); _is_default_v2_model_runner_model (:637-658) keeps a listed architecture on V2 even when "
         "is_hybrid"),
    # 0.28.0 adds DeepseekV4ForCausalLM (left out on ROCm instead of KimiK3ForConditionalGeneration).
    Rule("v2_model_runner_architectures", "0.28.0", "0.28.0", ("DeepseekV2ForCausalLM", "DeepseekV4ForCausalLM", "GraniteMoeForCausalLM", "InklingForCausalLM",
          "InklingForConditionalGeneration", "KimiK3ForConditionalGeneration", "LongcatFlashNgramForCausalLM",
          "Qwen2MoeForCausalLM"),
         "vllm/config/vllm.py (0.28.0): DEFAULT_V2_MODEL_RUNNER_ARCHITECTURES (:69-80) adds 'DeepseekV4ForCausalLM' "
         "(DeepSeek sparse attention, refused by kvplan); default_v2_model_runner_architectures (:84-93) now leaves "
         "DeepseekV4ForCausalLM out on ROCm and keeps KimiK3ForConditionalGeneration (ROCM_EXCLUDED_V2_MODEL_RUNNER_"
         "ARCHITECTURES is gone); VllmConfig.use_v2_model_runner (:615-666) as 0.27.0 plus V2 for a DFlash2 drafter "
         "(_is_dflash2_draft :668-678; speculative decoding refused); _is_default_v2_model_runner_model (:691-712) "
         "AST-identical; _get_v2_model_runner_unsupported_features (:2369-2476) no longer sends routed-experts "
         "capture, KV sharing fast prefill or EC transfer to V1 (flags kvplan refuses) and adds three adaptive-"
         "verification cases (speculative)"),
    # 0.29.0: no architecture list at all: every model runs V2 unless VLLM_USE_V2_MODEL_RUNNER says otherwise
    # (rule v2_default_all); the value () keeps "this release has Model Runner V2" (not None).
    Rule("v2_model_runner_architectures", "0.29.0", None, (),
         "vllm/config/vllm.py (0.29.0): DEFAULT_V2_MODEL_RUNNER_ARCHITECTURES, default_v2_model_runner_architectures "
         "and _is_default_v2_model_runner_model are gone; VllmConfig.use_v2_model_runner (:645-677) returns "
         "VLLM_USE_V2_MODEL_RUNNER when set, else False only on ROCm for ROCM_DEFAULT_MRV1_ARCHITECTURES (:71-73: "
         "DeepseekV32ForCausalLM, DeepseekV4ForCausalLM; :653-660), without Triton (:662-666) or for a feature "
         "_get_v2_model_runner_unsupported_features lists (:2539-2612: flags kvplan refuses or options off by "
         "default), else True (:677)"),
    # -- Model Runner V2 by default for every generating model without experts (is_moe: get_num_experts() > 0)
    #    that is neither hybrid (state-space layers with attention) nor attention-free; kvplan.engines.vllm
    #    VLLM.check_model_runner refuses a spec without MoE and without state-space layers there.
    Rule("v2_model_runner_dense", "0.8.0", "0.24.0", False,
         "vllm/config/vllm.py _is_default_v2_model_runner_model (0.22.0-0.24.0): the architecture set alone"),
    Rule("v2_model_runner_dense", "0.25.0", "0.28.0", True,
         "vllm/config/vllm.py _is_default_v2_model_runner_model (0.25.0 :557-574): runner_type 'generate', not "
         "model_config.is_hybrid (config/model.py :1655-1663), not is_attention_free (:1651-1652), then "
         "`any(arch in DEFAULT_V2_MODEL_RUNNER_ARCHITECTURES ...) or not model_config.is_moe` (is_moe :1903-1904); "
         "0.26.0 :605-622 AST-identical; 0.27.0 :637-658: `return is_default_v2_architecture or not "
         "model_config.is_moe`, the hybrid test now skipped for listed architectures only"),
    Rule("v2_model_runner_dense", "0.29.0", None, True,
         "vllm/config/vllm.py (0.29.0) VllmConfig.use_v2_model_runner (:645-677): V2 for every model, with or "
         "without experts (rule v2_default_all); _is_default_v2_model_runner_model is gone"),
    # -- 0.29.0: Model Runner V2 is the default for every model, experts, MLA and state-space layers included
    #    (no architecture list, no model test): kvplan.engines.vllm VLLM.runs_v2 / check_model_runner.
    Rule("v2_default_all", "0.8.0", "0.28.0", False,
         "vllm/config/vllm.py: no Model Runner V2 before 0.12.0; 0.12.0-0.28.0 VllmConfig.use_v2_model_runner "
         "takes V2 by default only for the architectures of rule v2_model_runner_architectures and (0.25.0+) "
         "models without experts (rule v2_model_runner_dense; 0.28.0 _is_default_v2_model_runner_model :691-712)"),
    Rule("v2_default_all", "0.29.0", None, True,
         "vllm/config/vllm.py (0.29.0) VllmConfig.use_v2_model_runner (:645-677): `return True` (:677) unless "
         "VLLM_USE_V2_MODEL_RUNNER is set (:647-649), ROCm with DeepseekV32/V4 (:653-660), no Triton (:662-666) "
         "or a V2-unsupported feature (:668-675, _get_v2_model_runner_unsupported_features :2539-2612); the reverse "
         "check _validate_v1_model_runner (:2735-2740) refuses V1 only for features kvplan refuses "
         "(_get_v1_model_runner_unsupported_features :2614-2644)"),
    # -- Model Runner V2's memory path (vllm/v1/worker/gpu/), read for 0.25.0-0.26.0 (FINDINGS_h31_v2run.md)
    #    and 0.27.0 (FINDINGS_h31_v27v2.md; its profiled pool is refused, rule non_kv_from_free_memory):
    #    None where it is not read (VLLM.check_model_runner refuses V2 there), else whether
    #    Sampler.apply_sampling_params copies the dummy logits to a new float32 tensor. kvplan.engines.vllm
    #    VLLM.v2_sampler_bytes / activation_bytes plan V2 for models without state-space layers on CUDA
    #    (with experts or MLA layers: rule v2_moe_mla_architectures): profile_run =
    #    _dummy_run(max_num_batched_tokens, skip_attn) eager (dp_utils.py dispatch_cg_and_sync_dp
    #    need_eager=is_profile) + _dummy_sampler_run on S = min(T, max_num_seqs)
    #    rows with the SamplingStates defaults (temperature 0, top_k = vocab, top_p 1: no top-k/top-p,
    #    no FlashInfer, gumbel_sample's argmax); profile_cudagraph_memory returns 0 (no CUDA-graph
    #    estimate, with or without --enforce-eager); the non-first stages' intermediate tensors are
    #    allocated in load_model, before the profile (not in its peak).
    Rule("v2_runner_memory", "0.8.0", "0.24.0", None,
         "Model Runner V2 (vllm/v1/worker/gpu/) not read before 0.25.0 (0.12.0-0.24.0 have it)"),
    Rule("v2_runner_memory", "0.25.0", "0.25.1", {"fp32_logits_copy": True, "idx_mapping_bytes": 4},
         "vllm/v1/worker/gpu/ (0.25.0 = 0.25.1, diff -r empty): model_runner.py profile_run :648-668, _dummy_run "
         ":505-627 (num_reqs = min(num_tokens, max_num_reqs) :521; execute_model :1114-, need_eager=is_profile "
         ":1162, InputBatch.make_dummy :1197, self.model(**model_inputs) :1324; hidden_states[logits_indices] "
         ":625), _dummy_sampler_run :629-641 (compute_logits on the input itself, no rand_like copy as V1's "
         "gpu_model_runner.py :6109), profile_cudagraph_memory :680-682 returns 0, load_model DeviceMemoryProfiler "
         ":279-305 as V1's, intermediate tensors :361-372; sample/sampler.py apply_sampling_params :146-196 "
         "(`torch.empty_like(logits, dtype=torch.float32).copy_(logits)` :157), sample :198-244 (FlashInfer only "
         "with top-k/top-p :220-229, gumbel_sample :235-243); sample/states.py top_k = vocab :32, top_p 1 :34, "
         "get_top_k_top_p :94-104; sample/gumbel.py gumbel_sample :215-264 (local_argmax int64 :234, local_max "
         "fp32 :236, argmax :262, gather :263); input_batch.py make_dummy :103-175; gpu_worker.py "
         "determine_available_memory :430-584 (estimate :477-484) as for V1"),
    Rule("v2_runner_memory", "0.26.0", "0.26.0", {"fp32_logits_copy": False, "idx_mapping_bytes": 4},
         "vllm/v1/worker/gpu/ (0.26.0): sample/sampler.py apply_sampling_params :152-207 keeps the logits' dtype "
         "and mutates them in place (`logits.clone()` :168 only for raw logprobs, none in the dummy run); "
         "model_runner.py profile_run :673-693, _dummy_run :530-652 (:546, :650), _dummy_sampler_run :654-666, "
         "profile_cudagraph_memory :705-707 returns 0, load_model :282-308, intermediate tensors :367-378, "
         "execute_model :1151- (need_eager :1199, make_dummy :1234, eager forward :1361); gumbel.py, states.py, "
         "input_batch.py make_dummy byte-identical to 0.25.0; gpu_worker.py determine_available_memory :448-606 "
         "(estimate :501-507)"),
    Rule("v2_runner_memory", "0.27.0", "0.27.1", {"fp32_logits_copy": False, "idx_mapping_bytes": 4},
         "vllm/v1/worker/gpu/ (0.27.0, read against 0.26.0, FINDINGS_h31_v27v2.md): sample/sampler.py "
         "apply_sampling_params :145-198 returns the logits untouched when _requires_logits_processing :200-217 "
         "is False (the dummy run's defaults: no logit bias, penalty or bad words, temperature 0, min_p 0, "
         "top_k = vocab, top_p 1), the float32 copy :159 only otherwise; sample :218-264 (FlashInfer only with "
         "top-k/top-p, gumbel_sample :255); model_runner.py profile_run :702-734 (adds the multimodal encoder "
         "profile on the first stage :703-717, as V1's, not counted for either runner), _dummy_run :555-680 "
         "(:571, hidden_states[logits_indices] :679), _dummy_sampler_run :683-695, profile_cudagraph_memory "
         ":749-751 returns 0, load_model DeviceMemoryProfiler :306, intermediate tensors :395, execute_model "
         ":1209- (need_eager :1257, make_dummy :1292, eager forward :1423); gumbel.py, sample/states.py, "
         "dp_utils.py byte-identical to 0.26.0; input_batch.py make_dummy :103-187 the same tensors; attn_utils.py "
         "get_kv_cache_spec :61-79, _allocate_kv_cache :183-208, init_kv_cache :454-486 AST-identical; "
         "gpu_worker.py determine_available_memory :460- (kv_cache_memory_bytes :474-496: profile_run, then the "
         "given bytes); config/vllm.py max_concurrent_batches :540-550 AST-identical (V2: pp + 1 with async)"),
    Rule("v2_runner_memory", "0.28.0", "0.28.0", {"fp32_logits_copy": False, "idx_mapping_bytes": 8},
         "vllm/v1/worker/gpu/ (0.28.0, read against 0.27.1, FINDINGS_h33_v28.md): input_batch.py "
         "InputBatch.make_dummy (:116-207) makes idx_mapping torch.int64 (:128; int32 up to 0.27.1), the rest as "
         "before (expanded_local_pos int32 :130, logits_indices :168, cu_num_logits int32 :169); sample/sampler.py "
         "apply_sampling_params (:181-246) returns the logits untouched unless needs_logits_processing (:56, set "
         "only by add_request :75-87, so False for the dummy batch; the float32 copy :195 only otherwise), sample "
         "(:248-296: no top-k/top-p, gumbel_sample :287); sample/gumbel.py gumbel_sample (:233-279: local_argmax "
         "int64 :252, local_max fp32 :254, as before); model_runner.py profile_run (:790-828; an encoder-only "
         "return :807-811 for EC producers / mm_encoder_only), _dummy_run (:633-768, context_len 0 in the profile), "
         "_dummy_sampler_run (:771-782) AST-identical, profile_cudagraph_memory (:843-845) returns 0, load_model "
         "DeviceMemoryProfiler :356, intermediate tensors :445, execute_model :1408- (need_eager=is_profile "
         ":1464, make_dummy :1503); sample/states.py byte-identical; attn_utils.py get_kv_cache_spec (:61-80) "
         "passes each spec through the backend's customize_spec (unchanged for the KV dtypes kvplan plans), "
         "_allocate_kv_cache (:200-225), init_kv_cache (:545-577) AST-identical; config/vllm.py "
         "max_concurrent_batches (:550-560) AST-identical"),
    # 0.29.0 (FINDINGS_h33_v29.md, read against 0.28.0): the dummy batch, sampler and profile forward are 0.28.0's;
    # V2 now measures a CUDA-graph estimate, which a given KV memory never reaches (rule non_kv_from_free_memory).
    Rule("v2_runner_memory", "0.29.0", "0.30.0", {"fp32_logits_copy": False, "idx_mapping_bytes": 8},
         "vllm/v1/worker/gpu/ (0.29.0): input_batch.py InputBatch.make_dummy (:116-207) AST-identical (idx_mapping "
         "int64 :128, expanded_local_pos int32 :130, logits_indices :168, cu_num_logits int32 :169); "
         "sample/sampler.py apply_sampling_params (:207-272) AST-identical, returning the logits untouched unless "
         "needs_logits_processing (:218-219; zeros :61, set only by add_request :81-93); Sampler.sample (:274-323) "
         "passes is_drafting=False only, __call__ (:122-205) takes logprob widths from get_logprobs_dims (none asked "
         "by the dummy run) and an optional trace replay (off); sample/gumbel.py gumbel_sample (:251-) local_argmax "
         "int64 (:277), local_max fp32 unless use_fp64 (:278-279), as 0.28.0; sample/states.py byte-identical; "
         "model_runner.py profile_run (:851-883) drops 0.28.0's encoder-only return (mm-encoder-only instances "
         "get MMEncoderModelRunner, gpu_worker.py init_device), _dummy_run (:695-829) drops the encoder-only "
         "branch and passes dp_sync (dp > 1), _dummy_sampler_run (:832-843) AST-identical, execute_model "
         "(:1517-1814) still eager in the profile (need_eager=is_profile or skip_compiled :1578, make_dummy "
         ":1617); profile_cudagraph_memory (:896-898) now measures (cudagraph_utils.py profile_cudagraph_memory "
         ":718-), used only by a profiled pool (gpu_worker.py :566-570), never with kv_cache_memory_bytes "
         "(:527-549); attn_utils.py get_kv_cache_spec (:52-65) as 0.28.0 less the indexes_kv_by_block_stride "
         "stamp, init_kv_cache (:205-233) allocates through v1/worker/utils.py allocate_kv_cache after the pool "
         "is sized; config/vllm.py max_concurrent_batches (:559-569) AST-identical"),
    # 0.31.0 (FINDINGS_h34_v31.md section 3): the dummy batch's idx_mapping is int32 again; nothing else moves.
    Rule("v2_runner_memory", "0.31.0", "0.31.0", {"fp32_logits_copy": False, "idx_mapping_bytes": 4},
         "vllm/v1/worker/gpu/ (0.31.0): input_batch.py InputBatch.make_dummy (:127-220) makes idx_mapping "
         "torch.int32 (:140; 0.30.0 :134 int64), expanded_local_pos int32 (:142), cu_num_logits int32 (:181), and "
         "takes is_padding (the profile passes False: model_runner.py execute_model :1798-1802, which routes the "
         "dummy tokens to experts: MoE, refused on V2); sample/sampler.py apply_sampling_params (:223-273) returns "
         "before the float32 copy unless needs_logits_processing (:235), sample (:275-322) no top-k/top-p on the "
         "dummy batch; gumbel.py gumbel_sample's buffers AST-identical (the RNG inside the kernel changed); "
         "model_runner.py profile_run (:961-991), _dummy_run (:785-939; without a speculator the same batch), "
         "_dummy_sampler_run (:942-953) and profile_cudagraph_memory (:1004-1006) as 0.30.0"),
    # 0.32.0 (FINDINGS_h34_v32.md section 3): idx_mapping int64 again; the rest as 0.31.0.
    Rule("v2_runner_memory", "0.32.0", "0.32.0", {"fp32_logits_copy": False, "idx_mapping_bytes": 8},
         "vllm/v1/worker/gpu/ (0.32.0): input_batch.py InputBatch.make_dummy (:127-220) makes idx_mapping "
         "torch.int64 (:140; 0.31.0 :140 int32); model_runner.py profile_run (:991-) and _dummy_sampler_run "
         "(:972-) AST-identical to 0.31.0, _dummy_run (:818-969) adds an assert and renames; sample/sampler.py "
         "Sampler.__call__ (:134-224) changes the top-k mask path only; gumbel_sample (:336-409) the same "
         "local_argmax / local_max buffers; profile_cudagraph_memory (:1038-) a given KV memory never reaches"),
    # 0.33.0 (FINDINGS_h34_v33.md section 3, read tensor by tensor in FINDINGS_h34_v33v2.md): the dummy sampler
    # runs a second pass with every sampling feature on (float32 logits pipeline, FlashInfer top-k/top-p); the
    # default pass is 0.32.0's (no copy: fp32_logits_copy False). warmup_pass: VLLM.v2_sampler_bytes adds the
    # second pass, on the GPUs where it samples through FlashInfer (elsewhere refused).
    Rule("v2_runner_memory", "0.33.0", None, {"fp32_logits_copy": False, "idx_mapping_bytes": 8, "warmup_pass": True},
         "vllm/v1/worker/gpu/model_runner.py (0.33.0) GPUModelRunner._dummy_sampler_run (:993-1014): the default "
         "pass, then add_request(SamplingParams.for_sampler_warmup()) for every dummy row (sampling_params.py "
         ":1477-1493: temperature 0.9, top-p 0.9, top-k 50, min-p 0.1, penalties, logit bias, bad words, logprobs "
         "5; prompt logprobs and watermarking not read by Sampler.add_request :96-107 without a watermark_config, "
         "model_runner.py :494-495) and a second call; sample/sampler.py apply_sampling_params (:226-276) copies "
         "the logits to float32 (:242), logit bias / penalties / bad words / temperature / min-p in place (Triton; "
         "penalties' prompt_bin_mask and output_bin_counts allocated in __init__, load_model, before the profile), "
         "sample (:278-326) takes the fused sampler (no greedy row, no seed, raw_logprobs), flashinfer_sample "
         "(v1/sample/ops/topk_topp_sampler.py :631-668; flashinfer_sampler_supported :102-161: CUDA, compute "
         "capability 8.0-12.1 (v1/attention/backends/flashinfer.py :696-703), more than 16 SMs) with top_k / top_p "
         "gathered (states.py get_top_k_top_p :105-121, int32 / fp32 [S]); flashinfer-python==0.7.2.post1 "
         "(requirements/cuda.txt :13) sampling.py top_k_top_p_sampling_from_logits (tensor top_k: no fast path, "
         ":1583-1595): top_k_mask_logits (:2177-2246, empty_like fp32 [S, vocab] :676, row_states 1 MiB :2233 "
         "_get_cache_buf zero_init, utils.py :255-269), torch.softmax fp32 [S, vocab], top_p_sampling_from_probs "
         "(:322-362: samples int32 [S], valid bool [S]); compute_topk_scores (logprob.py :111-190) after the "
         "FlashInfer buffers are freed; profile_run (:1022-1052) and InputBatch.make_dummy (:135-228, idx_mapping "
         "int64 :148) AST-identical to 0.32.0"),
    # -- Model Runner V2's persistent GPU buffers (FINDINGS_h35_v2pers.md): allocated in GPUModelRunner.__init__
    #    and load_model after the weights' DeviceMemoryProfiler, before the profile, so they are in neither the
    #    weights nor the profiled peak nor the non-torch increase (torch memory). Value: the per-request widths of
    #    the feature buffers the sampler keeps on the GPU whatever the requests ask for (StagedWriteTensor with
    #    uva_instead_of_gpu False: torch.zeros on the device, buffer_utils.py); kvplan.engines.vllm
    #    VLLM.v2_persistent_bytes sizes them with RequestState, InputBuffers, PenaltiesState's prompt_bin_mask and
    #    output_bin_counts and StructuredOutputsWorker, and a later stage's intermediate tensors. Host buffers
    #    (UvaBackedTensor, UvaBufferPool, RequestState.all_token_ids uva_instead_of_gpu=True: pinned CPU memory)
    #    are not GPU memory. Value (_v2_buffers): the sampler widths, and what sizes the multimodal buffers: a
    #    multimodal architecture's EncoderRunner.inputs_embeds on the first stage, an M-RoPE config's RopeState
    #    positions on every stage (FINDINGS_h35_v2pers.md "Multimodal and reasoning buffers"); ThinkingBudgetState
    #    (0.28.0+, with --reasoning-parser) is refused. A speculative method, LoRA, prompt embeds, a watermark,
    #    batch-sharded sampling and custom logits processors are off by default (or refused), see the findings.
    #    A profiled pool (0.25.0-0.26.0) takes them from the 1 - gpu_memory_utilization headroom.
    Rule("v2_persistent_buffers", "0.8.0", "0.24.0", None,
         "Model Runner V2 (vllm/v1/worker/gpu/) not planned before 0.25.0 (rule v2_runner_memory)"),
    Rule("v2_persistent_buffers", "0.25.0", "0.25.1", _v2_buffers(),
         "vllm/v1/worker/gpu/ (0.25.0 = 0.25.1): model_runner.py GPUModelRunner.__init__ RequestState :213, "
         "InputBuffers :221; load_model DeviceMemoryProfiler :279, Sampler :325 (last stage), StructuredOutputsWorker "
         ":345 (max_num_logits = max_num_reqs x decode_query_len, 1 without a speculator), intermediate tensors :365 "
         "(non-first stages); states.py RequestState total_len :51, num_computed_tokens :57 (int32 [R]), "
         "last_sampled_tokens :64 (int64 [R, 1]), draft_tokens :72 ([R, 0] without a speculator: none), "
         "next_prefill_tokens :79 (int32 [R]), all_token_ids :33 UVA; input_batch.py InputBuffers :23-33 (input_ids "
         "int32 [T], positions int64 [T], is_padding bool [T], query_start_loc int32 [R + 1], seq_lens and "
         "dcp_local_seq_lens int32 [R]); sample/sampler.py Sampler.__init__ :49-52; sample/penalties.py "
         "prompt_bin_mask int32 [R, cdiv(V, 32)] :32, output_bin_counts int32 [R, V] :40; sample/logit_bias.py "
         "allowed_token_ids :23, logit_bias_token_ids, logit_bias (fp32), stop_token_ids :43 (widths 1,024 / 1,024 / "
         "1,024 / 128, :10-12); sample/bad_words.py bad_word_token_ids int32 [R, 1,024] :22, bad_word_offsets int32 "
         "[R, 129] :28; sample/logprob.py LogprobTokenIdsState.token_ids int32 [R, 128] :236 (sampling_params.py "
         "MAX_LOGPROB_TOKEN_IDS :30); structured_outputs.py logits_indices int32 [R] :14, grammar_bitmask int32 "
         "[R, cdiv(V, 32)] :17; buffer_utils.py StagedWriteTensor :135-137"
         "; multimodal (FINDINGS_h35_v2pers.md 'Multimodal and reasoning buffers'): model_runner.py supports_mm_inputs "
         ":181 (multimodal/registry.py supports_multimodal_inputs :103-140), EncoderCache on the first stage only "
         ":185-186, init_model_state :314 (after the DeviceMemoryProfiler); model_states/__init__.py DefaultModelState "
         ":37 (get_model_state_cls only in diffusion_gemma.py); model_states/interface.py inputs_embeds_size :56, "
         "EncoderRunner :62; mm/encoder_runner.py inputs_embeds torch.zeros [max_num_tokens, inputs_embeds_size] in "
         "the model dtype :31; config/model.py get_inputs_embeds_size :1282-1289 (projection_dim, projection_size, "
         "else get_hidden_size); model_states/default.py get_rope_state :35; mm/rope.py get_rope_state :134-163 "
         "(RopeState(num_dims=3) :146 for uses_mrope; xdrope dims :156 for uses_xdrope_dim), RopeState.positions int64 "
         "[num_dims, T + 1] :55 (prefill_positions :49 and prefill_delta UVA: host); transformers_utils/config.py "
         "_uses_mrope :513 ('mrope_section' in rope_parameters), uses_mrope :521, uses_xdrope_dim :543"),
    Rule("v2_persistent_buffers", "0.26.0", "0.26.0", _v2_buffers(),
         "vllm/v1/worker/gpu/ (0.26.0): model_runner.py RequestState :216, InputBuffers :224, DeviceMemoryProfiler "
         ":282, Sampler :328, StructuredOutputsWorker :351, intermediate tensors :371; states.py, input_batch.py "
         "InputBuffers, penalties.py, logit_bias.py, bad_words.py as 0.25.0 (same lines); logprob.py token_ids :243; "
         "sampler.py :47-50"
         "; multimodal (FINDINGS_h35_v2pers.md 'Multimodal and reasoning buffers'): model_runner.py supports_mm_inputs "
         ":182 (registry.py :103-140), EncoderCache on the first stage only :186-187, init_model_state :317 (after the "
         "DeviceMemoryProfiler); model_states/__init__.py DefaultModelState :37 (get_model_state_cls only in "
         "diffusion_gemma.py, longcat_flash_ngram.py); model_states/interface.py inputs_embeds_size :56, EncoderRunner "
         ":62; mm/encoder_runner.py inputs_embeds torch.zeros [max_num_tokens, inputs_embeds_size] in the model dtype "
         ":35; config/model.py get_inputs_embeds_size :1300-1307 (projection_dim, projection_size, else "
         "get_hidden_size); model_states/default.py get_rope_state :36; mm/rope.py get_rope_state :134-163 (num_dims=3 "
         ":146; xdrope :156), RopeState.positions int64 [num_dims, T + 1] :55 (prefill_positions :49 and prefill_delta "
         "UVA: host); transformers_utils/config.py _uses_mrope :547, uses_mrope :555, uses_xdrope_dim :577"),
    Rule("v2_persistent_buffers", "0.27.0", "0.27.1", _v2_buffers(),
         "vllm/v1/worker/gpu/ (0.27.0 = 0.27.1): model_runner.py RequestState :237, InputBuffers :246, "
         "DeviceMemoryProfiler :306, Sampler :352, StructuredOutputsWorker :375, intermediate tensors :395; states.py "
         "all_token_ids UVA :34, total_len :52, num_computed_tokens :58, last_sampled_tokens :65, draft_tokens :73, "
         "next_prefill_tokens :80; input_batch.py InputBuffers :23-33; penalties.py :32 / :40; logit_bias.py :23-43; "
         "bad_words.py :22 / :28; logprob.py :243; structured_outputs.py :14 / :17"
         "; multimodal (FINDINGS_h35_v2pers.md 'Multimodal and reasoning buffers'): model_runner.py supports_mm_inputs "
         ":194 (registry.py :103-140), EncoderCache on the first stage only :198-199, init_model_state :341 (after the "
         "DeviceMemoryProfiler); model_states/__init__.py DefaultModelState :43 (get_model_state_cls only in "
         "diffusion_gemma.py, longcat_flash_ngram.py); model_states/interface.py inputs_embeds_size :57, EncoderRunner "
         ":63; mm/encoder_runner.py inputs_embeds torch.zeros [max_num_tokens, inputs_embeds_size] in the model dtype "
         ":39; config/model.py get_inputs_embeds_size :1391-1398 (projection_dim, projection_size, else "
         "get_hidden_size); model_states/default.py get_rope_state :35; mm/rope.py get_rope_state :134-163 (num_dims=3 "
         ":146; xdrope :156), RopeState.positions int64 [num_dims, T + 1] :55 (prefill_positions :49 and prefill_delta "
         "UVA: host); transformers_utils/config.py _uses_mrope :551, uses_mrope :559, uses_xdrope_dim :581"),
    Rule("v2_persistent_buffers", "0.28.0", "0.28.0", _v2_buffers(thinking_budget=True),
         "vllm/v1/worker/gpu/ (0.28.0): model_runner.py RequestState :276, InputBuffers :286, DeviceMemoryProfiler "
         ":356, Sampler :398, StructuredOutputsWorker :423 (R x decode_query_len), intermediate tensors :445; "
         "states.py as 0.27.0; input_batch.py InputBuffers :28-38; bad_words.py :22 / :28 take their widths from "
         "envs.VLLM_MAX_BAD_WORDS_TOTAL_TOKENS / VLLM_MAX_NUM_BAD_WORDS (envs.py :113-114, defaults 1,024 and 128; "
         "kvplan.vllm_args refuses a VLLM_* variable it does not read); sampler.py :51-55 adds ThinkingBudgetState "
         "(thinking_budget.py :21-79: GPU tensors only when the reasoning config has start, end and natural-end "
         "token ids, i.e. with --reasoning-parser; none by default); structured_outputs.py :48 / :51"
         "; multimodal (FINDINGS_h35_v2pers.md 'Multimodal and reasoning buffers'): model_runner.py supports_mm_inputs "
         ":229 (registry.py :103-140), EncoderCache on the first stage only :233-234, init_model_state :387 (after the "
         "DeviceMemoryProfiler); model_states/__init__.py DefaultModelState :47 (get_model_state_cls only in "
         "diffusion_gemma.py, longcat_flash_ngram.py); model_states/interface.py inputs_embeds_size :62, EncoderRunner "
         ":85 (EncoderCudaGraphManager :67-82 only with compilation_config.cudagraph_mm_encoder, False by default: "
         "config/compilation.py :543; --compilation-config is refused); mm/encoder_runner.py inputs_embeds torch.zeros "
         "[max_num_tokens, inputs_embeds_size] in the model dtype :58; config/model.py get_inputs_embeds_size "
         ":1443-1450 (projection_dim, projection_size, else get_hidden_size); model_states/default.py get_rope_state "
         ":35; mm/rope.py get_rope_state :134-163 (num_dims=3 :146; xdrope :156), RopeState.positions int64 [num_dims, "
         "T + 1] :55 (prefill_positions :49 and prefill_delta UVA: host); transformers_utils/config.py _uses_mrope "
         ":556, uses_mrope :564, uses_xdrope_dim :586; --reasoning-parser: sample/thinking_budget.py "
         "ThinkingBudgetState :21-79 (enabled :48 only with start, end and natural-end token ids; cached_last_start / "
         "cached_last_end / cached_scan_pos int32 [R] :59-67, three token-id tensors :71-79 as long as the tokenizer "
         "spells the markers), sampler.py :55, model_runner.py :406 (engine/arg_utils.py "
         "_set_default_reasoning_config_args: a ReasoningConfig only with --reasoning-parser)"),
    Rule("v2_persistent_buffers", "0.29.0", "0.29.0", _v2_buffers(thinking_budget=True),
         "vllm/v1/worker/gpu/ (0.29.0): model_runner.py RequestState :299, InputBuffers :309, DeviceMemoryProfiler "
         ":380, BatchSharder :422 (enable_batch_sharded_sampling, False by default: config/vllm.py "
         "_validate_batch_sharded_sampling), Sampler :437, StructuredOutputsWorker :463, intermediate tensors :485; "
         "states.py as 0.27.0; input_batch.py InputBuffers :28-38; logit_bias.py stop_token_ids :46; logprob.py :245; "
         "structured_outputs.py :48 / :51; multimodal (FINDINGS_h35_v2pers.md 'Multimodal and reasoning buffers'): "
         "model_runner.py supports_mm_inputs :244 (multimodal/registry.py :103-140), EncoderCache on the first stage "
         "only :251-252, init_model_state :411; model_states/__init__.py DefaultModelState :59 (prompt_embeds.py "
         "PromptEmbedsState and default.py's own inputs_embeds :38-49 only with --enable-prompt-embeds, which kvplan "
         "refuses); model_states/interface.py inputs_embeds_size :65, EncoderRunner :88; mm/encoder_runner.py "
         "inputs_embeds [max_num_tokens, inputs_embeds_size] model dtype :58; config/model.py get_inputs_embeds_size "
         ":1489-1496 (projection_dim, projection_size, else get_hidden_size); default.py get_rope_state :50; "
         "mm/rope.py get_rope_state :134-163 (num_dims=3 :146; xdrope :156), positions int64 [num_dims, T + 1] :55 "
         "(prefill_positions :49 UVA); transformers_utils/config.py _uses_mrope :553, uses_mrope :561, uses_xdrope_dim "
         ":583; --reasoning-parser: sample/thinking_budget.py ThinkingBudgetState :21-79 (enabled :48; int32 [R] "
         ":59-67, token ids :71-79), sampler.py :57, model_runner.py :446"),
    Rule("v2_persistent_buffers", "0.30.0", "0.30.0", _v2_buffers(mrope_dims_from_section=True, thinking_budget=True),
         "vllm/v1/worker/gpu/ (0.30.0): model_runner.py RequestState :312, InputBuffers :322, DeviceMemoryProfiler "
         ":394, BatchSharder :446, Sampler :474 (GPUWatermarkSampler only with a watermark config, :480), "
         "StructuredOutputsWorker :506, intermediate tensors :528; states.py as 0.27.0; input_batch.py InputBuffers "
         ":30-40; logit_bias.py stop_token_ids :46; logprob.py :245; structured_outputs.py :47 / :50; buffer_utils.py "
         "NonUvaBuffer: device copies only where UVA is unavailable (is_uva_available: no pinned memory, e.g. WSL); "
         "multimodal: model_runner.py supports_mm_inputs :262 (multimodal/registry.py :108-), EncoderCache on the "
         "first stage only :269-270, init_model_state :435; model_states/__init__.py DefaultModelState :59; "
         "interface.py inputs_embeds_size :65, EncoderRunner :88; mm/encoder_runner.py inputs_embeds :58; "
         "config/model.py get_inputs_embeds_size :1502-1509 (projection_dim, projection_size, else get_hidden_size), "
         "mrope_num_dims :1856; default.py get_rope_state :50; mm/rope.py get_rope_state :122-141 "
         "(num_dims=model_config.mrope_num_dims :136; XD-RoPE folded into M-RoPE), positions int64 [num_dims, T + 1] "
         ":52 (prefill_positions :46 UVA); transformers_utils/config.py _mrope_section :595 (mrope_section or "
         "xdrope_section in rope_parameters), uses_mrope :626, mrope_num_dims :648 (max(len(section), 3)); "
         "--reasoning-parser: sample/thinking_budget.py :21-79, sampler.py :57, model_runner.py :470"),
    Rule("v2_persistent_buffers", "0.31.0", "0.31.0", _v2_buffers(mrope_dims_from_section=True, thinking_budget=True),
         "vllm/v1/worker/gpu/ (0.31.0): model_runner.py RequestState :299, InputBuffers :309, DeviceMemoryProfiler "
         ":373, Sampler :468, StructuredOutputsWorker :501, intermediate tensors :521; sampler.py :65-78 "
         "(PenaltiesState, LogitBiasState, BadWordsState as LogitsProcessors on a LogitsProcRequestState; custom "
         "processors only from model_config.logits_processors); penalties.py :40 / :45; logit_bias.py :33-50; "
         "bad_words.py :30 / :34; logprob.py :247; input_batch.py InputBuffers :25-35; structured_outputs.py :47 / :50"
         "; multimodal (FINDINGS_h35_v2pers.md 'Multimodal and reasoning buffers'): model_runner.py supports_mm_inputs "
         ":259 (config/model.py supports_multimodal_inputs :1946), EncoderCache on the first stage only :264-265, "
         "init_model_state :414 (after the DeviceMemoryProfiler); model_states/__init__.py DefaultModelState :59 "
         "(get_model_state_cls only in diffusion_gemma.py, longcat_flash_ngram.py); model_states/interface.py "
         "inputs_embeds_size :60, EncoderRunner :83 (EncoderCudaGraphManager off by default); mm/encoder_runner.py "
         "inputs_embeds torch.zeros [max_num_tokens, inputs_embeds_size] in the model dtype :58; config/model.py "
         "get_inputs_embeds_size :1580-1587 (projection_dim, projection_size, else get_hidden_size); "
         "model_states/default.py get_rope_state :53; mm/rope.py get_rope_state :122-141 "
         "(num_dims=model_config.mrope_num_dims :136), RopeState.positions int64 [num_dims, T + 1] :52 "
         "(prefill_positions :46 and prefill_delta UVA: host); transformers_utils/config.py _mrope_section :689 "
         "(mrope_section or xdrope_section in rope_parameters), uses_mrope :720, mrope_num_dims :742 "
         "(max(len(section), 3)); --reasoning-parser: sample/thinking_budget.py :22-80 (enabled :49, int32 [R] :60-68, "
         "token ids :72-80), sampler.py :79"),
    Rule("v2_persistent_buffers", "0.32.0", "0.32.0", _v2_buffers(mrope_dims_from_section=True, thinking_budget=True),
         "vllm/v1/worker/gpu/ (0.32.0): model_runner.py RequestState :280, InputBuffers :320, DeviceMemoryProfiler "
         ":390, Sampler :485, StructuredOutputsWorker :518, intermediate tensors :538; states.py all_token_ids :37 "
         "(on the GPU only with the ngram speculator: use_dense_all_token_ids), total_len :55, num_computed_tokens "
         ":61, last_sampled_tokens :68, draft_tokens :76, next_prefill_tokens :83; penalties.py :40 / :45; "
         "structured_outputs.py :84 / :87"
         "; multimodal (FINDINGS_h35_v2pers.md 'Multimodal and reasoning buffers'): model_runner.py supports_mm_inputs "
         ":264 (config/model.py supports_multimodal_inputs :1989), EncoderCache on the first stage only :269-270, "
         "init_model_state :431 (after the DeviceMemoryProfiler); model_states/__init__.py DefaultModelState :59 "
         "(get_model_state_cls only in diffusion_gemma.py, longcat_flash_ngram.py); model_states/interface.py "
         "inputs_embeds_size :61, EncoderRunner :84 (EncoderCudaGraphManager off by default); mm/encoder_runner.py "
         "inputs_embeds torch.zeros [max_num_tokens, inputs_embeds_size] in the model dtype :58; config/model.py "
         "get_inputs_embeds_size :1622-1629 (projection_dim, projection_size, else get_hidden_size); "
         "model_states/default.py get_rope_state :53; mm/rope.py get_rope_state :122-141 "
         "(num_dims=model_config.mrope_num_dims :136), RopeState.positions int64 [num_dims, T + 1] :52 "
         "(prefill_positions :46 and prefill_delta UVA: host); transformers_utils/config.py _mrope_section :656, "
         "uses_mrope :687, mrope_num_dims :709; --reasoning-parser: sample/thinking_budget.py :22-80, sampler.py :79"),
    Rule("v2_persistent_buffers", "0.33.0", None, _v2_buffers(
        inputs_embeds_keys=("word_embed_proj_dim", "projection_dim", "projection_size"), mrope_dims_from_section=True,
        thinking_budget=True),
         "vllm/v1/worker/gpu/ (0.33.0): model_runner.py GPUModelRunner.__init__ :200-368 (RequestState :286, "
         "InputBuffers :327; pcp_manager only with prefill context parallelism, pcp_manager.py :903), load_model "
         ":385- (DeviceMemoryProfiler :397, Sampler :495, StructuredOutputsWorker :528, intermediate tensors :547); "
         "states.py next_prefill_tokens int32 [num_prefill_lookahead = 1 without EAGLE, R] :83; input_batch.py "
         "InputBuffers :29-39; penalties.py prompt_bin_mask :43, output_bin_counts :48; logit_bias.py :33-50; "
         "bad_words.py :30 / :34; logprob.py :247; structured_outputs.py :60 / :63; buffer_utils.py StagedWriteTensor "
         ":159-161"
         "; multimodal (FINDINGS_h35_v2pers.md 'Multimodal and reasoning buffers'): model_runner.py supports_mm_inputs "
         ":270 (config/model.py supports_multimodal_inputs :2003, _supports_multimodal_inputs :925-968), EncoderCache "
         "on the first stage only :275-276, init_model_state :435 (after the DeviceMemoryProfiler); "
         "model_states/__init__.py DefaultModelState :59 (get_model_state_cls only in diffusion_gemma.py, "
         "longcat_flash_ngram.py); model_states/interface.py inputs_embeds_size :61, EncoderRunner :84 "
         "(EncoderCudaGraphManager off by default); mm/encoder_runner.py inputs_embeds torch.zeros [max_num_tokens, "
         "inputs_embeds_size] in the model dtype :58; config/model.py get_inputs_embeds_size :1635-1642 "
         "(word_embed_proj_dim, projection_dim, projection_size, else get_hidden_size); model_states/default.py "
         "get_rope_state :51; mm/rope.py get_rope_state :122-141 (num_dims=model_config.mrope_num_dims :136), "
         "RopeState.positions int64 [num_dims, T + 1] :52 (prefill_positions :46 and prefill_delta UVA: host); "
         "transformers_utils/config.py _mrope_section :702, uses_mrope :733, mrope_num_dims :755; --reasoning-parser: "
         "sample/thinking_budget.py :22-80, sampler.py :79"),
    # -- Model Runner V2 with experts or MLA layers (FINDINGS_h35_v2moe.md): the architectures whose V2 profile
    #    run kvplan has read against V1's, None where none is. For them the profile forward is V1's (the same
    #    model code over the same T = max_num_batched_tokens dummy tokens, attention skipped, eager), so
    #    VLLM.activation_bytes takes forward_bytes as on V1 (the fused-MoE workspace included, rule
    #    moe_persistent_workspace) and, on the last stage, V2's dummy sampler (rule v2_runner_memory) plus the
    #    workspace the forward left in the worker's WorkspaceManager. Read for each release:
    #    * the profile forward: model_runner.py profile_run -> _dummy_run(max_num_tokens, skip_attn=True,
    #      is_profile=True) -> execute_model's dummy path: dispatch_cg_and_sync_dp(need_eager=is_profile),
    #      InputBatch.make_dummy (input_ids and positions zero, as V1's persistent input_ids), no block tables
    #      or slot mappings with skip_attn, so attn_metadata None, set_forward_context(..., is_padding=
    #      input_batch.is_padding), self.model(**model_inputs): an MLA layer takes MLAAttention.forward_impl's
    #      attn_metadata-None branch as on V1 (rule mla_forward_read: the chunked_prefill_workspace_size x
    #      heads x (qk_nope + v) tensor, a property of the config, and the zero-filled output; the KV write
    #      is skipped: unified_mla_kv_cache_update without a slot mapping, V1's do_kv_cache_update returns on
    #      the empty profile-time cache, v1/attention/backend.py);
    #    * the fused-MoE workspace: gpu_worker.py Worker.init_device builds one WorkspaceManager for both
    #      runners (one lane without DSpark, speculative decoding refused), TritonExperts.workspace_shapes
    #      (M, topk, max(N', K)), (M, topk, max(N, K)), (M, K) and _prepare_expert_assignment /
    #      moe_align_block_size (sorted ids topk_ids.numel() + E x (block - 1), shapes only) size nothing by
    #      the routing, so which experts the dummy tokens reach does not change a byte;
    #    * which experts they reach (is_padding): 0.25.x-0.26.0 VLLM_MOE_SKIP_PADDING defaults to '0', so
    #      modular_kernel.py's -1 rewrite is off; 0.27.0-0.30.0 it defaults to '1' and make_dummy marks every
    #      dummy token padding, so fused_topk_router.py _get_padding_mask hands the mask to topk_softmax /
    #      topk_sigmoid, which write expert id -1 for them (csrc/libtorch_stable/moe/topk_softmax_kernels.cu
    #      :232-237, :551-557), where V1 (no is_padding before 0.31.0) routes them all; 0.31.0+ make_dummy
    #      takes is_padding=not is_profile (False) and V1 marks its dummy tokens unpadded
    #      (gpu_model_runner.py _prepare_padding_mask): routed alike. randomize_inputs only with dp > 1.
    #    * the model classes: the modules of these architectures (deepseek_v2.py, mixtral.py, qwen2_moe.py,
    #      qwen3_moe.py) read nothing of the runner (no is_padding, use_v2_model_runner, get_model_state_cls
    #      or forward-context field but the DSA indexer's static registration), and they take V2's
    #      DefaultModelState (model_states/__init__.py resolve_model_state_cls). Other architectures (their
    #      own model state, e.g. LongcatFlashNgramForCausalLM; the new-style vllm/models/ trees that read
    #      is_padding: DeepSeek-V3.2 / V4, Kimi K3, ...) and DeepSeek sparse attention are not read: refused.
    #    Not read: expert parallelism / all-to-all and dp > 1 (refused on V1 too, moe_oracle_experts), AMD
    #    (V2 refused there: check_kv_pool), state-space layers.
    Rule("v2_moe_mla_architectures", "0.8.0", "0.24.0", None,
         "Model Runner V2 not read before 0.25.0 (rule v2_runner_memory)"),
    Rule("v2_moe_mla_architectures", "0.25.0", "0.26.0", V2_MOE_MLA_READ,
         "vllm/v1/worker/gpu/model_runner.py (0.25.0 / 0.26.0): profile_run :648 / :673 -> _dummy_run :505 / :530 "
         "(skip_attn=True, is_profile=True), execute_model :1114 / :1151 (need_eager=is_profile :1162 / :1199, "
         "InputBatch.make_dummy :1197 / :1234, attention metadata only `if not (dummy_run and "
         "skip_attn_for_dummy_run)` :1214 / :1251, set_forward_context is_padding :1311 / :1348, eager "
         "self.model(**model_inputs) :1324 / :1361); input_batch.py make_dummy :103- marks the dummy tokens "
         "padding (:143), but envs.py VLLM_MOE_SKIP_PADDING defaults to '0' (:1499 / :1521), so "
         "fused_moe/modular_kernel.py _prepare (:1145-1151 / :1154-1160) keeps the routed topk_ids, as V1; "
         "gpu_worker.py init_workspace_manager (:381 / :399) for both runners; experts/triton_moe.py "
         "TritonExperts.workspace_shapes :181, apply :198 (_prepare_expert_assignment :294; fused_moe.py "
         ":1479 / :1480), moe_align_block_size.py :74-88 (shapes only); "
         "layers/attention/mla_attention.py MLAAttention.forward :553 / :589, forward_impl :624 / :672 "
         "(attn_metadata None :658 / :706)"),
    Rule("v2_moe_mla_architectures", "0.27.0", "0.28.0", V2_MOE_MLA_READ,
         "vllm/v1/worker/gpu/model_runner.py (0.27.0 / 0.28.0): profile_run :702 / :790, _dummy_run :555 / :633, "
         "execute_model :1209 / :1408 (need_eager :1257 / :1464, make_dummy :1292 / :1503, metadata test "
         ":1309 / :1529, set_forward_context is_padding :1410 / :1653, eager forward :1423 / :1666); "
         "input_batch.py make_dummy marks every dummy token padding (:148 / :165) and envs.py "
         "VLLM_MOE_SKIP_PADDING defaults to '1' (:1536 / :1595): fused_moe/router/fused_topk_router.py "
         "_get_padding_mask (:19-23) passes the mask to topk_softmax / topk_sigmoid, which give those tokens "
         "expert id -1 (csrc/libtorch_stable/moe/topk_softmax_kernels.cu :232-237, :551-557; V1 passes no "
         "is_padding, so routes them); the grouped top-k router does not read it; experts/triton_moe.py "
         "TritonExperts.workspace_shapes :197 / :202, apply :214 / :219 (_prepare_expert_assignment :310 / "
         ":317; fused_moe.py :1538), moe_align_block_size.py :74-88: the same shapes whatever the ids; "
         "gpu_worker.py init_workspace_manager :406 / :417; mla_attention.py forward :601 / :644, forward_impl "
         ":687 / :722 (attn_metadata None :722 / :757)"),
    Rule("v2_moe_mla_architectures", "0.29.0", "0.30.0", V2_MOE_MLA_READ,
         "vllm/v1/worker/gpu/model_runner.py (0.29.0 / 0.30.0): profile_run :851 / :938, _dummy_run :695 / :775, "
         "execute_model :1517 / :1631 (need_eager :1578 / :1693, make_dummy :1617 / :1740, metadata test "
         ":1643 / :1772, set_forward_context is_padding :1763 / :1930, eager forward :1776 / :1948); "
         "input_batch.py make_dummy :116 / :122 marks every dummy token padding (:165 / :171), "
         "VLLM_MOE_SKIP_PADDING '1' (envs.py :1583 / :1579): fused_topk_router.py _get_padding_mask :19-23, "
         "expert id -1 (topk_softmax_kernels.cu :232-237, :551-557), V1 routes them (no is_padding); "
         "experts/triton_moe.py workspace_shapes :218, apply :235 (_prepare_expert_assignment :335; fused_moe.py "
         ":1544), moe_align_block_size.py :74-88; gpu_worker.py init_workspace_manager :450 / :462 "
         "(_num_workspace_lanes :101-107: 2 only with DSpark); mla_attention.py forward :666 / :804, forward_impl "
         ":744 / :875 (attn_metadata None :779 / :910)"),
    Rule("v2_moe_mla_architectures", "0.31.0", None, V2_MOE_MLA_READ,
         "vllm/v1/worker/gpu/model_runner.py (0.31.0 / 0.32.0 / 0.33.0): profile_run :961 / :991 / :1022 "
         "(randomize_inputs: gpu_worker.py randomize_dummy_inputs, dp > 1 only), _dummy_run :785 / :818 / :839, "
         "execute_model :1676 / :1719 / :1764 (need_eager :1748 / :1791 / :1840, make_dummy :1795 / :1838 / "
         ":1888 with is_padding=not is_profile :1802 / :1845 / :1895: the profile's dummy tokens are not "
         "padding, input_batch.py :177 / :177 / :185; metadata test :1856 / :1899 / :1951, eager forward "
         ":2007 / :2044 / :2097); V1 marks its dummy tokens unpadded too (gpu_model_runner.py "
         "_prepare_padding_mask :3472 / :3273 / :3239); experts/triton_moe.py workspace_shapes :226 / :226 / "
         ":240, apply :243 / :243 / :257 (_prepare_expert_assignment :362 / :362 / :382), "
         "moe_align_block_size.py :137-151; gpu_worker.py init_workspace_manager :500 / :551 / :558; "
         "mla_attention.py forward :823 / :813 / :829, forward_impl :894 / :884 / :900 (attn_metadata None "
         ":929 / :919 / :935)"),
    # -- whether a checkpoint with a quantization_config (or an MoE model) of a default-V2 architecture
    #    stays on V1 (VllmConfig._is_default_v2_model_runner_model): only the refusal's text reads it
    Rule("v2_model_runner_skips_quantized", "0.8.0", "0.21.0", None, "no default-V2 architectures before 0.22.0"),
    Rule("v2_model_runner_skips_quantized", "0.22.0", "0.23.0", True,
         "vllm/config/vllm.py _is_default_v2_model_runner_model: `return not model_config.is_moe and not "
         "model_config.is_quantized` (0.22.0 :518-532, 0.23.0 :544-558)"),
    Rule("v2_model_runner_skips_quantized", "0.24.0", None, False,
         "vllm/config/vllm.py _is_default_v2_model_runner_model (0.24.0 :550-561) returns `any(arch in "
         "DEFAULT_V2_MODEL_RUNNER_ARCHITECTURES ...)` alone"),
    # -- multimodal prefix-LM models whose default max_num_batched_tokens vLLM raises to the largest
    #    multimodal item's token count (kvplan.engines.vllm VLLM.settings refuses them when
    #    --max-num-batched-tokens is not given: kvplan does not compute that count). Value: the
    #    architectures, by vllm/model_executor/models/registry.py, whose model type is prefix-LM
    #    (model_arch_config_convertor.py is_mm_prefix_lm: the HF config's is_mm_prefix_lm, else
    #    model_type in MM_PREFIX_LM_MODELS) and whose ProcessingInfo overrides
    #    get_mm_max_tokens_per_item (the default returns None: no floor). Gemma4ForConditionalGeneration
    #    is named by the code's comment ("e.g., Gemma 4"); its config's is_mm_prefix_lm is
    #    transformers', not read: refused with the others rather than guessed.
    Rule("mm_prefix_lm_token_floor", "0.8.0", "0.21.0", (),
         _ARGS + ": no multimodal floor on max_num_batched_tokens (0.21.0 "
         "_set_default_max_num_seqs_and_batched_tokens_args :2377-2449)"),
    Rule("mm_prefix_lm_token_floor", "0.22.0", "0.28.0",
         ("BagelForConditionalGeneration", "Cheers", "CheersForConditionalGeneration", "Gemma4ForConditionalGeneration",
          "HfMoondream", "Moondream3ForCausalLM"),
         "vllm/engine/arg_utils.py: _set_default_max_num_seqs_and_batched_tokens_args (0.22.0 :2524-2540) raises an "
         "unset max_num_batched_tokens to _get_min_mm_batched_tokens (:2443-2473) for is_multimodal_model and "
         "is_mm_prefix_lm (vllm/transformers_utils/model_arch_config_convertor.py :261-276: MM_PREFIX_LM_MODELS "
         "bagel, gemma3, molmo2, moondream3, paligemma, umm); get_mm_max_tokens_per_item is overridden by bagel.py "
         ":213, cheers.py :435 (model_type umm), moondream3.py :905, gemma4_mm.py :232, not by gemma3_mm.py, "
         "molmo2.py or paligemma.py (multimodal/processing/context.py :464: None)"),
    # 0.29.0 removes cheers.py (model type umm) and 'umm' from MM_PREFIX_LM_MODELS.
    Rule("mm_prefix_lm_token_floor", "0.29.0", None,
         ("BagelForConditionalGeneration", "Gemma4ForConditionalGeneration", "HfMoondream", "Moondream3ForCausalLM"),
         "vllm/transformers_utils/model_arch_config_convertor.py is_mm_prefix_lm (0.29.0 :372-381): bagel, gemma3, "
         "molmo2, moondream3, paligemma ('umm' gone with cheers.py and both Cheers architectures, registry.py); "
         "engine/arg_utils.py _set_default_max_num_seqs_and_batched_tokens_args (:2872-2961) AST-identical; "
         "get_mm_max_tokens_per_item overridden by bagel.py, moondream3.py, gemma4_mm.py as before"),
    # -- scheduler defaults: (large GPU test, {usage context: (max_num_batched_tokens, max_num_seqs)})
    Rule("large_gpu_test", "0.8.0", "0.8.5.post1", ">= 70 GiB", _ARGS + ": device_memory >= 70 * GiB_bytes"),
    Rule("large_gpu_test", "0.9.0", "0.27.1", ">= 70 GiB and not A100",
         _ARGS + ': device_memory >= 70 * GiB_bytes and "a100" not in device_name (PR #17885)'),
    # 0.28.0 puts GPUs of 160 GiB or more (B200, B300, MI300X, MI325X, MI355X; not H200) in a tier of
    # their own ("huge" in scheduler_defaults), tested first, A100 or not.
    Rule("large_gpu_test", "0.28.0", None, ">= 160 GiB; >= 70 GiB and not A100",
         "vllm/engine/arg_utils.py EngineArgs.get_batch_defaults (0.28.0 :2553-2644): device_memory >= 160 * "
         'GiB_bytes (:2582), elif device_memory >= 70 * GiB_bytes and "a100" not in device_name (:2592)'),
    Rule("scheduler_defaults", "0.8.0", "0.27.1",
         {"large": {"serve": (8192, 1024), "llm": (16384, 1024)},
          "small": {"serve": (2048, 256), "llm": (8192, 256)}},
         _ARGS + ": OPENAI_API_SERVER 8192/2048 tokens, LLM_CLASS 16384/8192; max_num_seqs 1024/256"),
    Rule("scheduler_defaults", "0.28.0", None,
         {"huge": {"serve": (16384, 1024), "llm": (16384, 1024)},
          "large": {"serve": (8192, 1024), "llm": (16384, 1024)},
          "small": {"serve": (2048, 256), "llm": (8192, 256)}},
         "vllm/engine/arg_utils.py EngineArgs.get_batch_defaults (0.28.0 :2553-2644): 160 GiB or more: "
         "max_num_batched_tokens 16384 for OPENAI_API_SERVER and LLM_CLASS, max_num_seqs 1024 (:2582-2591); the "
         "70 GiB tier (:2592-2601) and the rest (:2602-2611) as before; _set_default_max_num_seqs_and_batched_tokens"
         "_args (:2756-2845) AST-identical"),
    # -- caps on the defaults when the user leaves them unset: max_num_batched_tokens at
    #    max_num_seqs x max_model_len, then max_num_seqs at max_num_batched_tokens
    Rule("scheduler_default_caps", "0.8.0", "0.11.0", False,
         _ARGS + " sets both from the usage context; vllm/config/scheduler.py SchedulerConfig.__post_init__ caps "
         "max_num_batched_tokens at max_num_seqs x max_model_len only when it is None (0.11.0 :196-199), which "
         "the usage-context default never leaves it"),
    Rule("scheduler_default_caps", "0.11.1", None, True,
         "vllm/engine/arg_utils.py: when unset, max_num_batched_tokens = min(max_num_seqs * max_model_len, default) "
         "and max_num_seqs = min(max_num_seqs, max_num_batched_tokens) (0.11.1 :2021-2036, 0.19.1 :2224-2241)"),
    # -- whether a default max_num_seqs is lowered to the max_num_batched_tokens (given or default) before
    #    SchedulerConfig refuses max_num_batched_tokens < max_num_seqs (VLLM.scheduler_limits): 0.8.0-0.10.0 take
    #    the usage context's default whole (a given --max-num-batched-tokens below it does not start); 0.10.1 adds
    #    the min; from 0.11.1 it is part of scheduler_default_caps.
    Rule("default_seqs_capped_by_tokens", "0.8.0", "0.10.0", False,
         _ARGS + " _set_default_args_v1 (0.10.0): max_num_seqs = default_max_num_seqs[usage_context], no min"),
    Rule("default_seqs_capped_by_tokens", "0.10.1", None, True,
         _ARGS + ": max_num_seqs = min(default_max_num_seqs[usage_context], max_num_batched_tokens or sys.maxsize) "
         "(0.10.1 :1711-1712, 0.10.2 :1742-1743, 0.11.0 :1678-1679); 0.11.1+ min(max_num_seqs, "
         "max_num_batched_tokens) (rule scheduler_default_caps)"),
    # -- --device-memory-utilization, another name of --gpu-memory-utilization (VLLM.for_release): absent before
    #    0.31.0 (no such option in 0.30.0's add_cli_args), so a command spelling it does not parse there.
    Rule("device_memory_utilization_flag", "0.8.0", "0.30.0", False,
         "vllm/engine/arg_utils.py EngineArgs.add_cli_args (0.30.0): --gpu-memory-utilization only"),
    Rule("device_memory_utilization_flag", "0.31.0", None, True,
         "vllm/engine/arg_utils.py EngineArgs.add_cli_args (0.31.0 :1326-1330): '--gpu-memory-utilization', "
         "'--device-memory-utilization', dest gpu_memory_utilization"),
    # -- whether vLLM's argparse pairs every BooleanOptionalAction flag spelled --enable-x with --disable-x and
    #    --disable-x with --enable-x (kvplan.vllm_args INVERSE_SPELLINGS reads them as the --no- spelling);
    #    --no-enable-x / --no-disable-x stay accepted, --no-<inverse> is not. Flags of another form (--enforce-eager,
    #    --async-scheduling) and store_true flags (--disable-log-stats) get no inverse.
    Rule("enable_disable_inverse", "0.8.0", "0.32.0", False,
         "FlexibleArgumentParser (vllm/utils.py 0.8.0-0.9.1, vllm/utils/__init__.py 0.9.2-0.11.0, "
         "vllm/utils/argparse_utils.py 0.11.1-0.32.0) registers no action of its own: argparse's "
         "BooleanOptionalAction gives --x and --no-x only"),
    Rule("enable_disable_inverse", "0.33.0", None, True,
         "vllm/utils/argparse_utils.py (0.33.0) class EnableDisableAction(BooleanOptionalAction) :120-146 "
         "(_inverse_prefixes {'--enable-': '--disable-', '--disable-': '--enable-'}; the inverses join "
         "negative_option_strings), FlexibleArgumentParser.__init__ :179 "
         "self.register('action', BooleanOptionalAction, EnableDisableAction)"),
    # -- the tokens a sliding-window / chunked-local layer reserves for beyond its window or chunk when
    #    vLLM sizes one request (SlidingWindowSpec / ChunkedLocalAttentionSpec max_memory_usage_bytes:
    #    the "GPU KV cache size" and "Maximum concurrency" lines, check_enough_kv_cache_memory) and
    #    admits it (SingleTypeKVCacheManager's admission cap). None: max_num_batched_tokens (one step);
    #    "in_flight": VllmConfig.max_in_flight_tokens = max_concurrent_batches x max_num_batched_tokens,
    #    max_concurrent_batches 2 on the V1 runner with async scheduling at pp 1, else pp
    #    (kvplan.engines.vllm VLLM.window_tokens; async scheduling is on by default with the mp / uni
    #    executors and no speculative decoding, VllmConfig.__post_init__).
    Rule("window_in_flight_tokens", "0.8.0", "0.25.1", None,
         "vllm/v1/kv_cache_interface.py SlidingWindowSpec.max_memory_usage_bytes (0.25.0 :568-577) and "
         "ChunkedLocalAttentionSpec.max_memory_usage_bytes (:499-505): scheduler_config.max_num_batched_tokens"),
    Rule("window_in_flight_tokens", "0.26.0", "0.26.0", "in_flight",
         "vllm/v1/kv_cache_interface.py SlidingWindowSpec.max_admission_blocks_per_request / "
         "max_memory_usage_bytes (0.26.0 :567-598) and ChunkedLocalAttentionSpec (:502-526) take "
         "vllm_config.max_in_flight_tokens (config/vllm.py :524-532) = max_concurrent_batches (:511-522: "
         "async_scheduling and V1 runner: 2 at pp 1, else pp; without async: pp) x max_num_batched_tokens; "
         "async_scheduling None -> True in VllmConfig.__post_init__ (:1059-1107) unless a pooling runner, a "
         "speculative method other than EAGLE / MTP / NGram-GPU / DSpark, disable_padded_drafter_batch, an "
         "executor without supports_async_scheduling (only multiproc_executor.py and uniproc_executor.py "
         "have it) or ROCm DeepEP DBO"),
    Rule("window_in_flight_tokens", "0.27.0", "0.27.1", "in_flight",
         "vllm/v1/kv_cache_interface.py (0.27.0): SlidingWindowSpec.max_admission_blocks_per_request / "
         "max_memory_usage_bytes (:587-618) and ChunkedLocalAttentionSpec's (:522-546) AST-identical to 0.26.0; "
         "config/vllm.py VllmConfig.max_concurrent_batches / max_in_flight_tokens AST-identical (:540-550, "
         ":553-561); __post_init__ (:972-1703) sets async_scheduling None -> True (:1095-1143) under the same "
         "conditions (executors with supports_async_scheduling: multiproc_executor.py :526, uniproc_executor.py "
         ":146) but no longer logs 'Asynchronous scheduling is enabled / disabled'"),
    Rule("window_in_flight_tokens", "0.28.0", None, "in_flight",
         "vllm/v1/kv_cache_interface.py (0.28.0): SlidingWindowSpec.max_admission_blocks_per_request (:546-572) adds "
         "extra_retained_tokens (default 0), which core/kv_cache_utils.py get_kv_cache_configs (:2135-2147) sets to "
         "num_speculative_tokens - 1 only for multi-module MTP (config/speculative.py use_multi_module_mtp "
         ":1501-1507; speculative decoding refused), max_memory_usage_bytes (:574-582) and ChunkedLocalAttentionSpec's "
         "(:500-524) AST-identical; config/vllm.py max_concurrent_batches / max_in_flight_tokens AST-identical "
         "(:550-560, :563-571); __post_init__ (:1052-1814) sets async_scheduling None -> True (:1185-1234) under "
         "the same conditions for a run without speculative decoding"),
    # -- the profile run's dummy sampler: which top-k/top-p path runs over [S, vocab] logits
    Rule("sampler_top_k_top_p", "0.8.0", "0.11.0", "flashinfer-if-installed",
         _TOPK + ": FlashInfer unless VLLM_USE_FLASHINFER_SAMPLER=0 (None means True in V1); "
         "flashinfer-python is only an extra (wheel metadata) but ships in the vllm-openai image"),
    Rule("sampler_top_k_top_p", "0.11.1", "0.16.0", "sort",
         _TOPK + ": FlashInfer is opt-in (VLLM_USE_FLASHINFER_SAMPLER=1); forward_native sorts the logits"),
    Rule("sampler_top_k_top_p", "0.17.0", "0.22.1", "triton",
         _TOPK + ": apply_top_k_top_p_triton for >= 8 rows (vllm/v1/sample/ops/topk_topp_triton.py)"),
    # 0.23.0 rewrites the Triton kernel (_topk_topp_kernel, topk_topp_triton.py :94-853, the Qrita pivot
    # search), which reads and writes only the logits (in place), its per-program BUFFER row and the two
    # lookup tables: no allocation of its own. The host side is 0.22.1's on a GPU: the same
    # _TRITON_BUFFER_CACHE buffer (kvplan.engines.vllm VLLM.sampler_bytes), only the tile sizes move into
    # a CPU / GPU choice (8192 / 4096 on a GPU, as before).
    Rule("sampler_top_k_top_p", "0.23.0", "0.25.1", "triton",
         _TOPK + " (0.23.0: apply_top_k_top_p :334-349 runs apply_top_k_top_p_triton when HAS_TRITON and "
         "logits.shape[0] >= 8, :345; random_sample :435-457 keeps q = torch.empty(probs.shape, probs.dtype), "
         "float32, through empty_exponential_noise_like :419-423 while use_fp64_gumbel is False, the default, "
         "vllm/config/model.py :237); topk_topp_triton.py apply_top_k_top_p_triton (:856-954): num_sm = "
         "num_compute_units (:906), buffer = logits.new_empty((min(next_power_of_2(min(num_sm, rows)), num_sm), "
         "vocab)) (:913-915), the kernel (:94-853) storing only to LOGITS_ROW and BUFFER_ROW"),
    # 0.26.0 lets the Triton path take bf16 / fp16 logits: the buffer and the two tables become float32
    # whatever the logits' dtype, and the kernel casts its loads to float32. The sampler's logits are
    # float32 (sampler.py Sampler.forward :95-96 'logits = logits.to(torch.float32)', unchanged), so
    # the buffer is the same [rows, vocab] float32 as before.
    Rule("sampler_top_k_top_p", "0.26.0", "0.26.0", "triton",
         _TOPK + " (0.26.0: apply_top_k_top_p AST-identical; apply_top_k_top_p_triton :856-964: buffer = "
         "torch.empty((min(next_power_of_2(min(num_sm, rows)), num_sm), vocab), dtype=torch.float32) :913-917, "
         "the tables float32 :923-929; _topk_topp_kernel :94-853 only adds .to(tl.float32) to its loads; "
         "apply_top_k_top_p_pytorch :363-405 softmax(dtype=torch.float32), the same float32 tensor for float32 "
         "logits; sampler.py Sampler.forward casts the logits to float32 :95-96)"),
    # 0.27.0 takes float32 logits only again: the buffer is logits.new_empty, float32, the same bytes.
    Rule("sampler_top_k_top_p", "0.27.0", "0.27.1", "triton",
         _TOPK + " (0.27.0: apply_top_k_top_p_triton :856-958 asserts float32 logits (:881) and keeps buffer = "
         "logits.new_empty((min(next_power_of_2(NUM_PROGRAMS), num_sm), vocab)) (:914), the tables "
         "logits.new_tensor; sampler.py Sampler.forward / sample AST-identical to 0.26.0 (float32 logits :95-96); "
         "GPUModelRunner.profile_run AST-identical (:6433-6506), _dummy_sampler_run (:6242-6344) names "
         "PROCESSED_LOGPROBS_MODES only)"),
    Rule("sampler_top_k_top_p", "0.28.0", "0.29.0", "triton",
         "vllm/v1/sample/ops/topk_topp_sampler.py byte-identical to 0.27.1; sampler.py Sampler.forward / sample "
         "AST-identical (0.28.0 :73-150, :244-303); GPUModelRunner.profile_run AST-identical (gpu_model_runner.py "
         ":6558-6631); _dummy_sampler_run (:6352-6469) adds a second RejectionSampler pass only with a "
         "speculative_config (refused)"),
    # 0.30.0: the per-program Triton buffer as before; apply_top_k_top_p runs Triton for every batch size and,
    # at 64 rows or fewer with top-p, a split pipeline with buffers of its own (rule topp_split_small_batch).
    Rule("sampler_top_k_top_p", "0.30.0", None, "triton",
         "vllm/v1/sample/ops/topk_topp_triton.py (0.30.0) apply_top_k_top_p_triton (:1614-1718): the per-program "
         "buffer min(next_power_of_2(min(SMs, rows)), SMs) x vocab x 4 B cached in _TRITON_BUFFER_CACHE "
         "(:1681-1690) as 0.29.0; topk_topp_sampler.py apply_top_k_top_p (:368-378) no longer sorts in torch below 8 "
         "rows; sampler.py Sampler.forward / sample, GPUModelRunner.profile_run (:6464-6537) and _dummy_sampler_run "
         "AST-identical"),
    # -- 0.30.0's split top-p pipeline at small batches (V1 sampler): refused where the dummy sampler has
    #    64 rows or fewer (VLLM.sampler_bytes).
    Rule("topp_split_small_batch", "0.8.0", "0.29.0", False,
         "vllm/v1/sample/ops/topk_topp_triton.py: no _apply_topp_split before 0.30.0"),
    Rule("topp_split_small_batch", "0.30.0", None, True,
         "vllm/v1/sample/ops/topk_topp_triton.py (0.30.0) apply_top_k_top_p_triton (:1614-1718): with top-p, on "
         "CUDA, at rows <= _SPLIT_MAX_BATCH = 64 (:984) it also runs _apply_topp_split (:1568-1610), caching "
         "stats (64 x 32 x 4) and parts (64 x 5 x 32 x 8 x 3) fp32 buffers (_TRITON_SPLIT_CACHE) (use_split "
         ":1673-1675, _apply_topp_split call :1715-1716); the V1 dummy sampler asks top_p 0.9 "
         "(v1/worker/gpu_model_runner.py _dummy_sampler_run :6282) and its second, seeded pass (:6309-6318) reaches "
         "that path; V2's dummy sampler asks no top-p; topk_topp_sampler.py apply_top_k_top_p (:368-378) takes "
         "Triton for every batch size (0.29.0: the torch sort below 8 rows)"),
    # -- 0.21.0's dummy sampler runs twice (gpu_model_runner.py _dummy_sampler_run :5741-5764): first
    #    through FlashInfer, on by default (vllm/envs.py VLLM_USE_FLASHINFER_SAMPLER default True,
    #    0.21.0 :726-730; topk_topp_sampler.py TopKTopPSampler.__init__ :35-67 on a CUDA GPU that
    #    FlashInferBackend.supports_compute_capability, 7.5-12.1), then with a generator, which
    #    forward_cuda sends to forward_native, the path of sampler_top_k_top_p. FlashInfer's call holds
    #    the [S, vocab] fp32 logits, top_k_mask_logits' output and the softmax (flashinfer-python
    #    0.6.8.post1 sampling.py top_k_top_p_sampling_from_logits :1286, top_k_mask_logits :1740):
    #    8 B a logit, no more than the native call's own (triton 8 + its buffer, sort 32 or 44), and
    #    keeps a 1 MiB row-state buffer (_get_cache_buf 'top_k_mask_logits_row_states', zero_init;
    #    utils.py :212-223) that is alive during the native call. Value: those persistent bytes,
    #    added to the native call's peak on such a GPU (VLLM.sampler_bytes), with the first call's
    #    output (sampled int32 [S, 1], S x 4 B in 512 B blocks, held in sampler_output :5743); 0:
    #    FlashInfer not run.
    Rule("sampler_flashinfer_first_bytes", "0.8.0", "0.20.2", 0,
         _RUNNER + ": one sampler call; 0.20.x: VLLM_USE_FLASHINFER_SAMPLER default None, read as off "
         "(topk_topp_sampler.py: 'disabled by default')"),
    Rule("sampler_flashinfer_first_bytes", "0.21.0", "0.22.1", 1 << 20,
         _RUNNER + " (0.21.0 :5741-5764, 0.22.0 :5950-5975: the FlashInfer call, then forward_native; the dummy "
         "sampler's non-speculative part is 0.21.0's, VLLM_USE_FLASHINFER_SAMPLER default True, 0.22.0 envs.py "
         ":818-822); flashinfer-python==0.6.8.post1 (a Requires-Dist of the 0.21.0 wheel) sampling.py "
         "top_k_mask_logits: row_states_buffer 1024 * 1024 B; 0.6.11.post2 (0.22.0, 0.22.1) changes sampling.py only "
         "in its @flashinfer_api(trace=...) decorators, which return the function itself at FLASHINFER_LOGLEVEL 0 "
         "(api_logging.py :1575-1650), and keeps utils.py _get_cache_buf (:212-223)"),
    Rule("sampler_flashinfer_first_bytes", "0.23.0", "0.25.1", 1 << 20,
         _RUNNER + " (0.23.0 :5974-6079, AST-identical to 0.22.1: the FlashInfer call, then forward_native with a "
         "generator, :6015-6037); topk_topp_sampler.py TopKTopPSampler.__init__ (:78-129) takes forward_cuda when "
         "flashinfer_sampler_supported (:21-67: CUDA, VLLM_USE_FLASHINFER_SAMPLER, default True, envs.py :820-824, "
         "FlashInferBackend.supports_compute_capability), forward_cuda (:155-182) sends use_fp64_gumbel to "
         "forward_native (off by default); flashinfer-python==0.6.12 (a Requires-Dist of the 0.23.0 wheel): "
         "sampling.py, csrc/sampling.cu and include/flashinfer/sampling.cuh identical to 0.6.11.post2, utils.py "
         "_get_cache_buf (:212-223) unchanged, @flashinfer_api at FLASHINFER_LOGLEVEL 0 only attaches fi_trace "
         "(api_logging.py :2451-2454)"),
    # 0.26.0 requires flashinfer-python 0.6.14 (0.25.x: 0.6.13, FINDINGS_h30_v25.md): sampling.py adds a
    # "top_k_first" fast path to top_k_top_p_sampling_from_logits / _from_probs, taken only for a Python
    # int top_k (_top_k_first_fast_path_applicable); vLLM passes a tensor (the dummy sampler's
    # top_k=dummy_tensors(vocab - 1), gpu_model_runner.py :6195), so the 0.6.13 path runs.
    Rule("sampler_flashinfer_first_bytes", "0.26.0", "0.26.0", 1 << 20,
         _RUNNER + " (0.26.0: _dummy_sampler_run AST-identical to 0.25.0, top_k / top_p tensors :6194-6195); "
         "topk_topp_sampler.py flashinfer_sample (:472-510) passes logits.float().contiguous(), the float32 "
         "logits themselves; flashinfer-python==0.6.14 (a Requires-Dist of the 0.26.0 wheel): sampling.py "
         "top_k_top_p_sampling_from_logits takes _top_k_first_fast_path only when isinstance(top_k, int), else "
         "0.6.13's calls; utils.py (_get_cache_buf), api_logging.py, jit/sampling.py, csrc/sampling.cu "
         "byte-identical to 0.6.13; include/flashinfer/sampling.cuh changes one loop condition (no buffer)"),
    Rule("sampler_flashinfer_first_bytes", "0.27.0", "0.27.1", 1 << 20,
         _RUNNER + " (0.27.0 :6242-6344, as 0.26.0 but PROCESSED_LOGPROBS_MODES); topk_topp_sampler.py flashinfer_sample "
         "(:475-512) passes the float32 logits as they are; flashinfer-python==0.6.16.post3 (a Requires-Dist of the "
         "0.27.0 wheel): sampling.py, api_logging.py, jit/sampling.py, csrc/sampling.cu, sampling_utils.h "
         "byte-identical to 0.6.14, utils.py _get_cache_buf AST-identical, include/flashinfer/sampling.cuh adds "
         "__launch_bounds__ for SM107 builds only (no buffer)"),
    Rule("sampler_flashinfer_first_bytes", "0.28.0", None, 1 << 20,
         "vllm/v1/worker/gpu_model_runner.py _dummy_sampler_run (0.28.0 :6352-6469, the sampler part as 0.27.1); "
         "topk_topp_sampler.py byte-identical; flashinfer-python==0.6.16.post3 (requirements/cuda.txt :17, as "
         "0.27.1's)"),
    # -- the [T, hidden] output of the profile forward: alive during the sampler or not
    Rule("hidden_states_alive_in_sampler", "0.8.0", "0.9.1", False,
         _RUNNER + ": _dummy_run returns hidden_states[logit_indices]; the [T, hidden] output is freed"),
    Rule("hidden_states_alive_in_sampler", "0.9.2", None, True,
         _RUNNER + ": hidden_states, last_hidden_states = self._dummy_run(...); both alive until "
         "`del hidden_states, output`"),
    # -- a MoE model's fused-experts workspace kept past the profile forward, so alive during the
    #    dummy sampler (profile_run: `hidden_states, last_hidden_states = self._dummy_run(...)`, then
    #    `_dummy_sampler_run(last_hidden_states)`, 0.14.0 gpu_model_runner.py :4743-4754, 0.19.1
    #    :5782-5793). Values (VLLM.moe_workspace_bytes / check_moe_workspace, FINDINGS_h27_moe.md):
    #    "none": every MoE workspace is a torch.empty inside the forward, freed after it;
    #    "quantized unread": the default unquantized path still calls the fused_experts function
    #    (freed scratch), but the modular kernel keeps its buffers (SharedResizableBuffer, then the
    #    WorkspaceManager) and the quantized methods' kernels are not read: quantized experts refused;
    #    "triton chunked" / "triton": the unquantized default on CUDA is the modular kernel with
    #    TritonExperts, whose workspace the global WorkspaceManager (vllm/v1/worker/workspace.py
    #    _current_workspaces) keeps; counted on the sampler-time peak; "oracle ...": 0.20.0+, below.
    Rule("moe_persistent_workspace", "0.8.0", "0.10.2", "none",
         "vllm/model_executor/layers/fused_moe/modular_kernel.py: workspace13 / workspace2 = torch.empty(...) in "
         "the forward (0.9.2 :518-521, 0.10.1.1 :499-502, 0.10.2 :562-565); fused_moe.py fused_experts_impl scratch "
         "is local to the call"),
    Rule("moe_persistent_workspace", "0.11.0", "0.13.0", "quantized unread",
         "unquantized forward_cuda calls the fused_experts function on CUDA (0.11.0 layer.py :616-617; 0.12.0 "
         "unquantized_fused_moe_method.py :382; 0.13.0 :325); modular_kernel.py keeps SharedResizableBuffer "
         "workspaces (0.11.0 :606, 0.12.0 :679) and from 0.13.0 takes them from current_workspace_manager() "
         "(:805-847), which the quantized methods' modular kernels may use"),
    Rule("moe_persistent_workspace", "0.14.0", "0.17.1", "triton chunked",
         "unquantized_fused_moe_method.py 0.14.0 :281-286 FusedMoEModularKernel(MoEPrepareAndFinalizeNoEP(), "
         "TritonExperts) unless VLLM_USE_FLASHINFER_MOE_FP16 with EP (:68-74); 0.15.0-0.17.1 "
         "oracle/unquantized.py select_unquantized_moe_backend: CUDA -> TRITON without VLLM_USE_FLASHINFER_MOE_FP16 "
         "(0.15.0 :77-93); modular_kernel.py _allocate_buffers (0.14.0 :790-866): chunks of "
         "min(M, VLLM_FUSED_MOE_CHUNK_SIZE = 16 * 1024) (envs.py; VLLM_ENABLE_FUSED_MOE_ACTIVATION_CHUNKING "
         "default 1, TritonExperts.supports_chunking True), one chunk: get_simultaneous(workspace13, workspace2) "
         "with fused_out a view of workspace13 (0.15.0-0.17.1: get_simultaneous((max(workspace13, fused_out),), "
         "workspace2), the same bytes); more: a third (M, K) fused_out"),
    Rule("moe_persistent_workspace", "0.18.0", "0.19.1", "triton",
         "oracle/unquantized.py as 0.17.1 (identical 0.18.0-0.19.1); modular_kernel.py _allocate_buffers "
         "(0.19.1 :1009-1069, called with M_chunk = M_full :1176-1193, no chunking): "
         "get_simultaneous((max(workspace13, fused_out),), workspace2)"),
    #    0.20.0+: the experts class comes from an oracle per quantization (fused_moe/oracle/*.py), and
    #    kvplan plans only the cases it has read (VLLM.moe_oracle_experts; everything else is refused
    #    with one line naming what is unread, FINDINGS_h29_moe20.md). "oracle fi-cutlass": unquantized
    #    gated experts on capability 9.0 run FlashInferExperts (FlashInfer's CUTLASS fused MoE), whose
    #    only WorkspaceManager request is its (M, K) output; "oracle triton": they run TritonExperts
    #    again (the 0.18.0-0.19.1 "triton" bytes). Below 9.0 (NVIDIA) both take TritonExperts.
    Rule("moe_persistent_workspace", "0.20.0", "0.22.1", "oracle fi-cutlass",
         "oracle/unquantized.py _get_priority_backends on CUDA: FLASHINFER_TRTLLM, FLASHINFER_CUTLASS, TRITON, "
         "BATCHED_TRITON (0.20.0 :66-72, 0.21.0 :66-72, 0.22.0 :63-69; FLASHINFER_CUTLASS moved back only with "
         "dp > 1), select_unquantized_moe_backend takes the first class whose is_supported_config holds (0.20.0 "
         ":280-287, 0.21.0 :282-, 0.22.0 :279-; VLLM_USE_FLASHINFER_MOE_FP16 / moe_backend act only when set). "
         "experts/trtllm_bf16_moe.py TrtLlmBf16Experts._supports_current_device :46-53: capability family 100 only. "
         "FlashInferExperts (0.20.0 fused_moe/flashinfer_cutlass_moe.py, 0.21.0+ experts/flashinfer_cutlass_moe.py): "
         "_supports_current_device is_device_capability(90) (or 100/110/120) and has_flashinfer_cutlass_fused_moe() "
         "(0.20.0 :125-136, 0.22.0 :135-, vllm/utils/flashinfer.py has_flashinfer: flashinfer-python and "
         "flashinfer-cubin are Requires-Dist of every 0.20.0-0.23.0 wheel), _supports_quant_scheme (None, None) on "
         "9.0+ (0.20.0 :143-178), SiLU, no routing / shape limits (modular_kernel.py is_supported_config 0.20.0 "
         ":530-575, base _supports_routing_method / _supports_shape True); below 9.0 neither FlashInfer class is "
         "supported, so TritonExperts. FlashInferExperts.workspace_shapes (0.20.0 :206-242, 0.22.0 :216-252): "
         "workspace13 (M, K), workspace2 (0,), output (M, K); modular_kernel.py _allocate_buffers (0.20.0 "
         ":1041-1102, called with M_full :1232) get_simultaneous((max(M K, M K),), (0,)): T x hidden in the model "
         "dtype, rounded to 256 B (v1/worker/workspace.py :92-117, identical 0.20.0-0.23.0). FlashInfer's own "
         "workspace is allocated per call through the torch allocator and freed (flashinfer-python 0.6.8.post1 "
         "csrc/fused_moe/cutlass_backend/flashinfer_cutlass_fused_moe_binding.cu getWorkspaceInfo :840-864 "
         "alloc_tensor; fused_moe/core.py experts_to_token_score torch.empty); its autotuner runs after the "
         "profile run (v1/worker/gpu_worker.py compile_or_warm_up_model -> kernel_warmup :586) and outside "
         "tuning mode choose_one only reads its cache (autotuner.py :705-726)"),
    Rule("moe_persistent_workspace", "0.23.0", "0.23.0", "oracle triton",
         "oracle/unquantized.py _get_priority_backends (0.23.0 :71-76): on capability family 90 FLASHINFER_TRTLLM "
         "and FLASHINFER_CUTLASS are moved behind TRITON ('the FlashInfer unquantized MoE kernels are slower than "
         "Triton'), so TritonExperts (experts/triton_moe.py :54-, _supports_current_device :72-73, workspace_shapes "
         ":141-156); modular_kernel.py _allocate_buffers :1031-1092 (M_full :1224), as 0.18.0-0.19.1 'triton'"),
    # 0.24.0 (FINDINGS_h30_v24moe.md): the MoE refactor (vllm-project/vllm #41184) makes layer.py FusedMoE
    # a factory (:103-391) of runner/moe_runner.py MoERunner around routed_experts.py RoutedExperts (the
    # old class's weights, loaders and quant_method); read to the end for what kvplan counts, the
    # same as 0.23.0: create_weights / process_weights_after_loading and the kernel they build, the
    # oracle's Hopper order, TritonExperts.workspace_shapes, the modular kernel's _allocate_buffers and
    # the WorkspaceManager; no new persistent tensor (the routers' _routing_replay_out is never set).
    Rule("moe_persistent_workspace", "0.24.0", "0.24.0", "oracle triton",
         "fused_moe/layer.py FusedMoE (0.24.0 :103-391, a factory; 0.23.0 the class :70-1400): the same "
         "FusedMoEParallelConfig.make, ExpertMapManager (expert_map_manager.py identical), router, and "
         "FusedMoEConfig (config.py __post_init__ :1302-1346: intermediate_size_per_partition = "
         "intermediate_size // tp, as 0.23.0 layer.py :264; max_num_tokens = max_num_batched_tokens) that "
         "0.23.0's FusedMoE.__init__ (:102-443) built; routed_experts.py RoutedExperts.__init__ (:54-169) gets the "
         "quant method and calls create_weights (:168) as 0.23.0 (:365, :416); UnquantizedFusedMoEMethod "
         "create_weights / "
         "process_weights_after_loading / _setup_kernel (unquantized_fused_moe_method.py 0.24.0 :88-138, "
         ":201-270, :155-199; 0.23.0 :90-140, :204-273, :157-202) differ in type hints and the SwiGLU "
         "clamp / alpha / beta of get_fused_moe_quant_config (:272-293; None without swiglu_limit) only, and "
         "build the kernel in process_weights_after_loading (make_unquantized_moe_kernel :294-, identical), so "
         "MoERunner.maybe_init_modular_kernel (runner/moe_runner.py :845-882) returns at once. "
         "oracle/unquantized.py _get_priority_backends identical (0.24.0 :43-86, Hopper move :72-74); "
         "select_unquantized_moe_backend (:152-254) loses only the removed VLLM_USE_FLASHINFER_MOE_FP16 branch; "
         "convert_to_unquantized_kernel_format (:257-291) changes the FlashInfer TRT-LLM branch only. "
         "TritonExperts (experts/triton_moe.py :54-): _supports_current_device (:91), _supports_quant_scheme "
         "(:99-), workspace_shapes (:181-196) as 0.23.0; apply (:198-525) changes the LoRA paths only. "
         "modular_kernel.py _allocate_buffers (:1041-1102, get_simultaneous :1095) and _fused_experts "
         "(:1205-1284, M_full :1222) AST-identical to 0.23.0 (:1031-1092, :1194-1273); v1/worker/workspace.py "
         "md5-identical. MoERunner.forward / "
         "_forward_impl / _apply_quant_method (:628-716, :779-833, :534-583; 0.23.0 :594-680, :744-801, "
         ":498-549): the same steps (gate, select_experts, quant_method.apply through "
         "RoutedExperts.forward_modular :1063-1098, shared experts, routed scale in place, all-reduce); "
         "runner/shared_experts.py SharedExperts becomes an nn.Module holding the model's shared-expert "
         "module (:39-72, a second reference, no copy)"),
    # 0.25.0 / 0.25.1 (FINDINGS_h30_v25moe.md): every function the 0.24.0 reading listed, compared by AST
    # and each difference read; no memory consequence for the planned cases (0.25.1 changes layer.py's
    # docstring only).
    Rule("moe_persistent_workspace", "0.25.0", "0.25.1", "oracle triton",
         "fused_moe/layer.py FusedMoE (0.25.0 :100-419; 0.24.0 :103-391) adds intermediate_pad (read by "
         "experts/rocm_aiter_moe.py only), reduce_results -> FusedMoEConfig.skip_final_all_reduce (:228-233; "
         "False for Qwen3-MoE / Mixtral / DeepSeek, which pass no reduce_results=False to it) and ckpt_names for "
         "the loader; determine_expert_counts (:73-96) fuses shared experts only with ROCm aiter or "
         "VLLM_ROCM_USE_AITER_FUSION_SHARED_EXPERTS (envs.py default False); routed_experts.py "
         "RoutedExperts.__init__ (:54-174) calls create_weights (:172) as 0.24.0, load_weights (:869-926) "
         "and the new get_expert_mapping / build_expert_params_mapping (:928-, :979-) change loading only; "
         "runner/moe_runner.py adds MoERunner.load_weights (:295) and the skip_final_all_reduce test in "
         "_maybe_reduce_final_output (:436-466); UnquantizedFusedMoEMethod._setup_kernel (:155-199) passes "
         "moe_config instead of the layer; oracle/unquantized.py _get_priority_backends (:48-99, Hopper move "
         ":77-79; a SWIGLUOAI demotion :87-93) and convert_to_unquantized_kernel_format (:272-313, Triton "
         "still .contiguous() off ROCm) as 0.24.0; experts/triton_moe.py workspace_shapes identical, apply "
         "(:198-536) changes the input scale only; modular_kernel.py _allocate_buffers / _fused_experts "
         "identical, _prepare (:1118-1220) masks padding ids only under VLLM_MOE_SKIP_PADDING (default off); "
         "v1/worker/workspace.py md5-identical to 0.24.0"),
    # 0.26.0 (FINDINGS_h31_v26moe.md): every function the 0.25.x rows cite compared by AST with 0.25.1's and
    # each difference read; layer.py, unquantized_fused_moe_method.py, experts/triton_moe.py, oracle/fp8.py,
    # quantization/fp8.py, v1/worker/workspace.py, qwen3_moe.py and mixtral.py are byte-identical to 0.25.1.
    Rule("moe_persistent_workspace", "0.26.0", "0.26.0", "oracle triton",
         "fused_moe/layer.py (FusedMoE :100-420, determine_expert_counts :73-96), unquantized_fused_moe_method.py "
         "(create_weights :88-138, _setup_kernel :155-199, process_weights_after_loading :201-270), "
         "experts/triton_moe.py (workspace_shapes :181-196, apply :198-536) and v1/worker/workspace.py byte-identical "
         "to 0.25.1; oracle/unquantized.py _get_priority_backends (:48-99, Hopper move :77-79) and "
         "convert_to_unquantized_kernel_format (:312-353) AST-identical, backend_to_kernel_cls (:102-147) returns a "
         "list (FLASHINFER_TRTLLM: TrtLlmBf16ExpertsMonolithic, TrtLlmBf16ExpertsModular, capability family 100 "
         "only, experts/trtllm_bf16_moe.py :58-66) and select_unquantized_moe_backend (:193-309) walks it, plus a "
         "LoRA branch (TrtLlmBf16LoRAExperts, family 100; --enable-lora refused); make_unquantized_moe_kernel "
         "(:356-398) adds a log line; routed_experts.py RoutedExperts.__init__ (:54-174, create_weights :172) "
         "identical, load_weights (:869-930) transposes a local copy of a fused checkpoint tensor (loading only); "
         "runner/moe_runner.py _maybe_dispatch / _maybe_combine (:737-762, :764-784) gather for prefill context "
         "parallelism only without all2all (--prefill-context-parallel-size refused); modular_kernel.py "
         "_allocate_buffers (:1051-1112) and _fused_experts (:1231-1310) AST-identical, FusedMoEExpertsModular."
         "activation (:883-904) passes topk_ids / expert_map to activation.py apply_moe_activation (:126-190), "
         "which changes the clamped SwiGLU branch only (clamp_limit None for these models: torch.ops._C."
         "silu_and_mul in place as before); router/gate_linear.py GateLinear (:49-137, forward :168-221): a "
         "cuteDSL ll_bf16_gemm tier for at most 16 tokens (per call, torch.empty output) and an opt-in SM100 "
         "bf16x3 tier, no buffer; fused_topk_bias_router.py folds routed_scaling_factor into the kernel"),
    # 0.27.0 (FINDINGS_h31_v27moe.md): every function the 0.26.0 row cites compared by AST with 0.26.0's and
    # each difference in fused_moe/ read (diff -rq: 50 files); experts/triton_moe.py's TritonExperts
    # workspace_shapes / apply, modular_kernel.py's _allocate_buffers / apply / _finalize, oracle/fp8.py and
    # v1/worker/workspace.py are unchanged. The new latent_moe_runner.py is Kimi-K3's only.
    Rule("moe_persistent_workspace", "0.27.0", "0.27.1", "oracle triton",
         "fused_moe/layer.py FusedMoE renamed FusedMoEFactory (:99-425; qwen3_moe.py / mixtral.py / deepseek_v2.py "
         "call it by the new name) with two SituGLU betas passed to FusedMoEConfig (config.py :1316-1319; Kimi's "
         "activation, None otherwise); determine_expert_counts (:73-96) AST-identical; unquantized_fused_moe_method.py "
         "create_weights / _setup_kernel / process_weights_after_loading (:88-138, :158-202, :204-273) AST-identical, "
         "_maybe_pad_weight (:140-156) skips the ROCm padding under EPLB only; oracle/unquantized.py "
         "_get_priority_backends (:48-99, Hopper move :75-79), backend_to_kernel_cls (:102-147), "
         "convert_to_unquantized_kernel_format (:314-355) AST-identical, select_unquantized_moe_backend (:194-311) / "
         "map_unquantized_backend (:150-164) add an opt-in --moe-backend batched_triton, make_unquantized_moe_kernel "
         "(:358-407) a VLLM_TRITON_USE_TD warning; experts/triton_moe.py TritonExperts workspace_shapes (:197-212), "
         "apply (:214-552), finalize_weight_and_reduce_impl and _supports_current_device AST-identical "
         "(_supports_quant_scheme adds per-tensor int8, _supports_activation SITU); modular_kernel.py "
         "_allocate_buffers (:1113-1174), apply (:1430-1523), _finalize (:1362-1428) AST-identical, _fused_experts "
         "(:1278-1360) now writes the experts' output into the caller's output tensor on CUDA too when it matches "
         "(use_output_alias :1322-1340: the same workspace request first, one copy fewer, no tensor more), _prepare "
         "(:1189-1276) moves the VLLM_MOE_SKIP_PADDING mask (default off) into the routers "
         "(router/fused_topk_router.py _get_padding_mask :19-23); activation.py apply_moe_activation (:128-213) adds a "
         "SITU branch only; fused_moe.py invoke_fused_moe_triton_kernel (:763-904) takes the tensor-descriptor path "
         "with a Triton scratch allocator only under utils.py resolve_moe_use_td (:616-628: VLLM_TRITON_USE_TD, unset "
         "-> XPU only); routed_experts.py RoutedExperts.__init__ (:54-175, create_weights :173) adds a host set, "
         "update_expert_map_info (:231-255) registers the expert maps non-persistent (the same tensors), weight_loader "
         "/ load_weights (:617-917, :919-978) change loading only; runner/moe_runner.py MoERunner.forward (:671-780) "
         "takes an optional pre-transformed input and reduces a latent output before its transform "
         "(_maybe_reduce_routed_output_before_transform :441-460: only with routed_output_transform, NemotronH / "
         "Kimi-K3), _forward_impl / _apply_quant_method / maybe_init_modular_kernel / _maybe_dispatch / _maybe_combine "
         "AST-identical; router_factory.py create_fused_moe_router (:40-236) drops the grouped router only for one "
         "group (DeepSeek-V3: 8 groups, GroupedTopKRouter as before)"),
    Rule("moe_persistent_workspace", "0.28.0", "0.28.0", "oracle triton",
         "vllm/model_executor/layers/fused_moe (0.28.0, read against 0.27.1, FINDINGS_h33_v28.md): fused_moe.py "
         "byte-identical; layer.py FusedMoEFactory (:99-429) passes is_fused_checkpoint_transposed only (weight "
         "loading), determine_expert_counts (:73-96) AST-identical; unquantized_fused_moe_method.py create_weights "
         "(:55-105), _maybe_pad_weight (:107-123), apply / forward_cuda AST-identical, _setup_kernel (:125-172) and "
         "process_weights_after_loading (:174-211) move the CPU path into the oracle and the AITER shuffle flag; "
         "oracle/unquantized.py _get_priority_backends (:48-99), map_unquantized_backend (:166-180), "
         "make_unquantized_moe_kernel (:375-424) AST-identical, backend_to_kernel_cls (:102-163) / "
         "select_unquantized_moe_backend (:208-326) / convert_to_unquantized_kernel_format (:329-372) change CPU, "
         "ROCm RDNA and AITER branches only; experts/triton_moe.py TritonExperts workspace_shapes (:202-217) "
         "AST-identical, apply (:219-559) adds int8 activations only, the new is_supported_config (:66-88) "
         "refuses 1,024 or more padded experts (kvplan refuses that count, VLLM.moe_oracle_experts); "
         "modular_kernel.py _allocate_buffers (:1113-1174), _fused_experts (:1278-1360), apply (:1430-1523) "
         "AST-identical, the clamp/SiTU parameters now one ApplyMoEActivationConfig (activation.py "
         "apply_moe_activation :196-288, the same kernels); runner/moe_runner.py MoERunner.forward (:664-773), "
         "_forward_impl, _apply_quant_method AST-identical (maybe_init_modular_kernel, reached only through an "
         "expert-parallel communicator, is gone); router_factory.py create_fused_moe_router AST-identical; "
         "qwen3_moe.py / deepseek_v2.py MoE forward drop the dead external-router branch"),
    # 0.29.0 (FINDINGS_h33_v29.md), read against 0.28.0 for the V1 runner (VLLM_USE_V2_MODEL_RUNNER=0; MoE on
    # Model Runner V2 is refused, VLLM.check_model_runner).
    Rule("moe_persistent_workspace", "0.29.0", None, "oracle triton",
         "vllm/model_executor/layers/fused_moe (0.29.0): unquantized_fused_moe_method.py create_weights / _setup_kernel / "
         "process_weights_after_loading / _maybe_pad_weight AST-identical (:56-106, :126-173, :175-212, :108-124); "
         "oracle/unquantized.py _get_priority_backends, backend_to_kernel_cls, select_unquantized_moe_backend, "
         "map_unquantized_backend, make_unquantized_moe_kernel AST-identical (:48-99, :102-163, :208-326, :166-180, "
         ":374-423), convert_to_unquantized_kernel_format (:329-371) pads for FlashInfer TRT-LLM only; "
         "experts/triton_moe.py TritonExperts.workspace_shapes (:218-233) AST-identical, apply (:235-577) aligns "
         "w1.shape[0] experts (= global_num_experts without expert parallelism or fused shared experts); "
         "modular_kernel.py _allocate_buffers / _prepare / _fused_experts / _finalize / apply AST-identical "
         "(:1120-1181, :1196-1283, :1285-1367, :1369-1435, :1437-1530); v1/worker/workspace.py byte-identical; "
         "layer.py determine_expert_counts (:72-85) fuses shared experts only when fuse_shared_experts (utils.py "
         "resolve_layer_fused_shared_expert :55-: ROCm AITER only); runner/moe_runner.py _forward_impl (:859-924) "
         "launches the shared experts before the routed dispatch (runner/shared_experts.py maybe_forward_async "
         ":135-154) where 0.28.0 synced the aux stream first: the same MULTI_STREAM_OVERLAPPED condition "
         "(_determine_shared_experts_order: tokens <= VLLM_SHARED_EXPERTS_STREAM_TOKEN_THRESHOLD on CUDA), "
         "else NO_OVERLAP as before; _maybe_combine (:823-857) refuses a deferred output under EP / PCP only; "
         "models/qwen3_moe.py byte-identical"),
    # -- the scratch one fused-MoE call allocates and frees inside the profile forward, where the
    #    unquantized experts run the fused_experts function (vllm/model_executor/layers/fused_moe/
    #    fused_moe.py, FINDINGS_h32_moescr.md): VLLM.moe_call_scratch_bytes. fused_experts_impl
    #    allocates, per call, cache13 = torch.empty(M x topk x max(N, K)) (intermediate_cache1 and 3
    #    are views of it) and intermediate_cache2 = torch.empty((M x topk, N // 2)), both in
    #    hidden_states.dtype, M = min(tokens, CHUNK_SIZE = envs.VLLM_FUSED_MOE_CHUNK_SIZE; the chunks
    #    reuse these buffers), and out_hidden_states = torch.empty_like(hidden_states) (T, K) unless
    #    inplace; N = w13's rows a rank, K = hidden. All are locals, freed when the call returns; at
    #    the call's peak (the second GEMM) all are alive. The unquantized forward_cuda passes
    #    inplace=True (forward_native = forward_cuda on CUDA). Value: {"chunk": the env default,
    #    "output": whether the (T, K) output is allocated}; None: the modular kernel (0.14.0+, rule
    #    moe_persistent_workspace).
    Rule("moe_call_scratch", "0.8.0", "0.11.0", {"chunk": 32768, "output": False},
         "fused_moe/fused_moe.py fused_experts_impl (0.8.0 :1292-1459: CHUNK_SIZE :1333, cache13 :1353, "
         "cache2 :1362, out_hidden_states = hidden_states if inplace :1375-1378; 0.8.3 :1146, :1189, :1209, :1216, "
         ":1232; 0.8.5 :1230, :1275, :1295, :1302, :1318; 0.9.0 :1209, :1257, :1282, :1289, :1305; 0.9.2 :1218, "
         ":1266, :1291, :1298, :1314; 0.10.0 :1339, :1391, :1418, :1425, :1441; 0.10.1 :1454, :1509, :1536, :1543, "
         ":1559; 0.10.2 :1498, :1553, :1580, :1587, :1603; 0.11.0 :1484, :1538, :1566, :1573, :1589; the same "
         "shapes in every release); envs.py VLLM_FUSED_MOE_CHUNK_SIZE = int(os.getenv(..., \"32768\")) (0.8.0 "
         ":449, 0.10.2 :630, 0.11.0 :778; the 64 * 1024 in the TYPE_CHECKING block is not read); "
         "UnquantizedFusedMoEMethod.forward_cuda calls fused_experts(..., inplace=True) (layer.py 0.8.0 :174/:179, "
         "0.8.5 :206/:212, 0.9.0 :516/:522 (self.fused_experts = fused_experts :331; a modular kernel only "
         "with pplx all2all), 0.10.2 :514/:522, 0.11.0 :617/:623); forward_native = forward_cuda (0.8.0 :253, "
         "0.8.3 :329, 0.10.2 :674, 0.11.0 :783)"),
    Rule("moe_call_scratch", "0.11.1", "0.11.2", {"chunk": 32768, "output": True},
         "fused_moe.py fused_experts_impl (0.11.1 :1699-: CHUNK_SIZE :1765, cache13 :1797, cache2 :1806, "
         "out_hidden_states = torch.empty_like(hidden_states) unless inplace and not disable_inplace() "
         ":1819-1822; dispatch_fused_experts_func :1567-1570 likewise); fused_moe/utils.py disable_inplace "
         ":331-332 is_torch_equal_or_newer(\"2.9\"), and the 0.11.1 / 0.11.2 wheels require torch==2.9.0: the "
         "(T, K) output is allocated; envs.py :779 default \"32768\"; unquantized_fused_moe_method.py "
         "forward_cuda :329, fused_experts(..., inplace=True) :401/:407, forward_native = forward_cuda :578"),
    Rule("moe_call_scratch", "0.12.0", "0.13.0", {"chunk": 16 * 1024, "output": True},
         "fused_moe.py fused_experts_impl (0.12.0 :1696-: CHUNK_SIZE :1762, cache13 :1794, cache2 :1803, "
         "out_hidden_states :1816-1819; 0.13.0 :1740-: :1806, :1838, :1847, :1860-1863); utils.py disable_inplace "
         ":331-332 (torch 2.9: the 0.12.0 / 0.13.0 wheels require torch==2.9.0); envs.py VLLM_FUSED_MOE_CHUNK_SIZE "
         "default str(16 * 1024) (0.12.0 :789-790, 0.13.0 :805-806); unquantized_fused_moe_method.py forward_cuda "
         "fused_experts(..., inplace=True) (0.12.0 :382/:388, 0.13.0 :325/:331; FlashInfer CUTLASS only with "
         "VLLM_USE_FLASHINFER_MOE_FP16 and EP, 0.13.0 :61-67), forward_native = forward_cuda (0.12.0 :559, "
         "0.13.0 :455)"),
    Rule("moe_call_scratch", "0.14.0", None, None,
         "the unquantized default is the modular kernel with TritonExperts (rule moe_persistent_workspace)"),
    # -- the same call on AMD GPUs and with expert parallelism at dp 1 (FINDINGS_h32_moescr2.md): sized by
    #    VLLM.moe_call_scratch_bytes as on NVIDIA. ROCm: CustomOp.forward_hip returns forward_cuda
    #    (custom_op.py 0.8.0-0.8.5.post1 :38-40, 0.9.0 :36-38, 0.9.1 :37-39, 0.9.2-0.11.0 :57-59, 0.11.1-0.12.0
    #    :59-61, 0.13.0 :60-62); the
    #    unquantized forward_cuda takes the AITER branch only where is_rocm_aiter_moe_enabled() (0.8.3-0.11.0
    #    rocm_aiter_fused_moe.py: VLLM_ROCM_USE_AITER_MOE and VLLM_ROCM_USE_AITER) / rocm_aiter_ops.
    #    is_fused_moe_enabled() (0.11.1-0.13.0 _aiter_ops.py :480-482 / :486-488 / :685-687: _AITER_ENABLED and
    #    _FMOE_ENABLED), and VLLM_ROCM_USE_AITER defaults to "False" (envs.py 0.8.5 :536, 0.9.0 :595, 0.9.2 :643,
    #    0.10.2 :751, 0.11.0 :906, 0.11.1 :898, 0.12.0 :933, 0.13.0 :930; fused_moe/ of 0.8.0-0.8.2 has no AITER).
    #    fused_experts_impl is the same code on ROCm; from 0.11.1 its (T, K) output depends on the torch the
    #    ROCm build uses (disable_inplace: torch >= 2.9), which the PyPI wheel does not pin for ROCm, so on AMD
    #    the output is sized only where it cannot decide the plan (VLLM.check_moe_scratch). EP at dp 1:
    #    use_all2all_kernels = dp_size > 1 and use_ep (fused_moe/config.py 0.9.2 :168-169, 0.10.2 :175-176,
    #    0.11.0 :603-604, 0.11.1 :697-698, 0.12.0 :704-705, 0.13.0 :809-810; 0.9.0 layer.py use_pplx_kernels
    #    :74-75 likewise; 0.8.x has no all2all kernel), so every rank calls the same fused_experts with
    #    expert_map (0.8.0 layer.py forward_cuda :145-182, expert_map :182) over all T tokens, with tp_size = 1
    #    (0.8.0 layer.py :380): N = 2 x expert_intermediate_size, whole.
    # -- ROCm pads the unquantized experts' weights after loading (UnquantizedFusedMoEMethod._maybe_pad_weight,
    #    VLLM_ROCM_MOE_PADDING default "1"): where a row of w13 / w2 is a multiple of 512 B, F.pad adds 256 B to
    #    every row and keeps the padded storage behind a view of the logical shape (the old tensor freed):
    #    VLLM.rocm_moe_padding_bytes. Value: what the weights line vLLM measures holds of it (FINDINGS_h32_rocmpad.md).
    #    False: no padding. "kept": the padded storage stays (ROCm runs the Triton experts by default, whose
    #    kernel-format step copies nothing) and is counted. "device" (0.14.0-0.20.2): padded, but the weights line is
    #    the device's used memory (vllm/platforms/rocm.py get_current_memory_usage: total - free, no empty_cache;
    #    0.14.0 :502-506, 0.15.0 :560-564, 0.16.0 :599-604, 0.17.0 :708-713, 0.18.0 :748-753, 0.19.0 / 0.19.1
    #    :730-735, 0.20.0-0.20.2 :785-790, around load_model: gpu_model_runner.py DeviceMemoryProfiler 0.14.0
    #    :3824/:3893, 0.19.1 :4746/:4808, 0.20.0 :4788/:4867), which counts what the caching allocator keeps of
    #    the freed unpadded (0.20.x: also the padded) copies: refused unless VLLM_ROCM_MOE_PADDING=0 (a --from-vllm
    #    command's environment). "compacted" (0.21.0-0.24.0): the padding is copied away, 0 B.
    #    VLLM_ROCM_USE_AITER defaults to "False" in every release here (envs.py 0.14.0 :945, 0.15.0 :951, 0.16.0
    #    :885, 0.17.0-0.18.1 :913, 0.19.0 / 0.19.1 :941, 0.20.0 :989, 0.21.0 :998, 0.22.0 :1090, 0.23.0 :1107,
    #    0.24.0 :1128, 0.25.0 :1147, 0.26.0 :1186, 0.27.0 :1192), so ROCm takes the TRITON backend (0.14.0
    #    unquantized_fused_moe_method.py :65 rocm_aiter_moe_enabled, :281-287: TritonExperts without a copy;
    #    oracle/unquantized.py select_unquantized_moe_backend 0.15.0 :72-76, 0.16.0 :91-95, 0.17.0 / 0.18.0
    #    :138-142, 0.19.1 :138-142; 0.25.0 :61-66 lists AITER first, but experts/rocm_aiter_moe.py
    #    _supports_current_device :437-438 is rocm_aiter_ops.is_fused_moe_enabled()). kvplan refuses every
    #    AMD MoE plan from 0.20.0 on anyway (VLLM.moe_oracle_experts); the 0.20.0+ rows say what it would count.
    # -- how the pool's weights figure is taken on ROCm (VLLM.unmodelled_notes, AMD GPUs). "peak": not used,
    #    the pool subtracts the allocated peak (0.8.0-0.9.0.1); "device": the weights line is the device's used
    #    memory across load_model, total - free, so the caching allocator's segment rounding and anything it
    #    keeps count as weights (0.9.1-0.20.2); "allocated": empty_cache, then max_memory_allocated (0.21.0+),
    #    as on CUDA. kvplan counts allocated bytes everywhere; the note says so where vLLM does not.
    Rule("rocm_weights_line", "0.8.0", "0.9.0.1", "peak",
         _WORKER + " subtracts torch's allocated_bytes.all.peak plus total - free less allocated after empty_cache "
         "(0.8.0 :151-184, 0.9.0.1 :197), not the load_model figure"),
    Rule("rocm_weights_line", "0.9.1", "0.20.2", "device",
         _WORKER + " passes weights_memory=model_runner.model_memory_usage to memory_profiling (0.9.1 :203-204, "
         "0.19.1 :368), the DeviceMemoryProfiler delta across load_model, which on ROCm is platforms/rocm.py "
         "get_current_memory_usage: mem_get_info total - free (0.9.1 :349-354, 0.19.1 :730-735, 0.20.0 :785-790)"),
    Rule("rocm_weights_line", "0.21.0", None, "allocated",
         "platforms/rocm.py get_current_memory_usage: empty_cache, reset_peak_memory_stats, max_memory_allocated "
         "(0.21.0 :783-788, 0.27.0 :902-907), as platforms/cuda.py"),
    Rule("rocm_moe_weight_padding", "0.8.0", "0.8.1", False,
         "fused_moe/layer.py: no _maybe_pad_weight, envs.py no VLLM_ROCM_MOE_PADDING"),
    Rule("rocm_moe_weight_padding", "0.8.2", "0.13.0", "device",
         "fused_moe/layer.py UnquantizedFusedMoEMethod._maybe_pad_weight (0.8.2 :100-109: is_rocm, stride(-1) == 1, "
         "stride(-2) x element_size % 512 == 0 -> num_pad = 256 // element_size, F.pad(...)[..., :-num_pad], "
         "empty_cache), process_weights_after_loading pads w13 then w2 (0.8.2 :114/:117; 0.8.3 / 0.8.4 :102, :107, "
         ":116/:119; 0.8.5 :102, :107, :117/:118; 0.9.0 :400, :405, :415/:416; 0.9.1 :510, :515, :525/:526; 0.9.2 "
         ":278, :283, :293/:294; 0.10.0 :302, :307, :317/:318; 0.10.1 :323, :328, :338/:339; 0.10.2 :329, :334, "
         ":344/:345; 0.11.0 :399, :404, :415/:416); unquantized_fused_moe_method.py (0.11.1 / 0.11.2 :189, :196, "
         ":208/:209; 0.12.0 :192, :199, :211/:212; 0.13.0 :191, :198, :210/:211); envs.py VLLM_ROCM_MOE_PADDING "
         "bool(int(os.getenv(..., \"1\"))) (0.8.2 :526, 0.8.5 :579, 0.9.0 :638, 0.9.2 :693, 0.10.2 :807, 0.11.0 :974, "
         "0.11.1 :968, 0.12.0 :1003, 0.13.0 :1000); the quantized methods do not pad (quantization/: no "
         "VLLM_ROCM_MOE_PADDING); the weights line is the device's used memory, as 0.14.0-0.20.2's (platforms/rocm.py "
         "get_current_memory_usage: total - free, 0.8.2 :225-229, 0.9.2 :366-367, 0.10.2 :384-385, 0.11.0 :378-379, "
         "0.12.0 :432-433, 0.13.0 :480-484), which counts the freed unpadded copies the allocator keeps: refused "
         "(h32-rocmpad; h32-moescr2 had counted the padded bytes alone, a lower bound)"),
    Rule("rocm_moe_weight_padding", "0.14.0", "0.20.2", "device",
         "unquantized_fused_moe_method.py _maybe_pad_weight as 0.13.0 (0.14.0 / 0.14.1 :185-198, torch.cuda.empty_cache "
         ":196; 0.15.0 / 0.15.1 :166-179; 0.16.0 :189-202; 0.17.0-0.18.1 :192-205, torch.accelerator.empty_cache from "
         "0.18.0 :203; 0.19.0 / 0.19.1 :192-205; 0.20.0-0.20.2 :135-148), process_weights_after_loading pads w13 then w2 "
         "(0.14.0 :204/:205, 0.15.0 :211/:212, 0.16.0 :234/:235, 0.17.0-0.19.1 :237/:238, 0.20.0 :183/:184); the "
         "TRITON backend keeps the padded view to 0.19.1 (0.14.0 :281-287 TritonExperts, no copy; 0.15.0-0.19.1 _setup_kernel -> "
         "oracle/unquantized.py convert_to_unquantized_kernel_format returns the tensors unchanged off AITER / "
         "FlashInfer: 0.15.0 :107-122, 0.17.0 / 0.19.1 :190-205; replace_parameter wraps .data, model_executor/utils.py "
         "0.19.1 :47-76), 0.20.0-0.20.2 copy it away (convert_to_unquantized_kernel_format :296-321 returns "
         "w13_weight.contiguous(), w2_weight.contiguous()); the weights line is the device's used memory "
         "(platforms/rocm.py get_current_memory_usage: mem_get_info total - free, 0.14.0 :502-506, 0.19.1 :730-735, "
         "0.20.0 :785-790) across load_model (gpu_model_runner.py DeviceMemoryProfiler 0.19.1 :4746-4808), which "
         "counts the caching allocator's freed copies: refused (VLLM_ROCM_MOE_PADDING=0: envs.py 0.14.0 :1016, 0.19.1 "
         ":1017, 0.20.0 :1065)"),
    Rule("rocm_moe_weight_padding", "0.21.0", "0.24.0", "compacted",
         "_maybe_pad_weight pads as before (unquantized_fused_moe_method.py 0.21.0 :135-148, calls :208/:209; 0.22.0 / "
         "0.23.0 :142-155, :214/:215; 0.24.0 :140-153, :211/:212), then oracle/unquantized.py "
         "convert_to_unquantized_kernel_format returns w13_weight.contiguous(), w2_weight.contiguous() (0.21.0 :323, "
         "0.22.0 :320, 0.23.0 :326, 0.24.0 :291): unpadded copies, and replace_parameter drops the padded ones; the "
         "weights line counts allocated bytes from 0.21.0 (platforms/rocm.py get_current_memory_usage: empty_cache, "
         "reset_peak_memory_stats, max_memory_allocated: 0.21.0 :783-788, 0.22.0 :789-794, 0.23.0 :820-825, 0.24.0 "
         ":853-858): 0 B"),
    Rule("rocm_moe_weight_padding", "0.25.0", "0.29.0", "kept",
         "oracle/unquantized.py convert_to_unquantized_kernel_format skips .contiguous() for TRITON on ROCm with "
         "VLLM_ROCM_MOE_PADDING ('it would undo the ROCm MoE weight padding': 0.25.0 / 0.25.1 :306-312, 0.26.0 "
         ":346-352, 0.27.0 :348-354); _maybe_pad_weight 0.25.0-0.26.0 :140-153, 0.27.0 :140-155 (not under EPLB "
         ":148), calls 0.25.0 :211/:212, 0.27.0 :214/:215; weights line allocated bytes (platforms/rocm.py "
         "get_current_memory_usage max_memory_allocated 0.25.0 :852-857, 0.26.0 :866-871, 0.27.0 :902-907)"),
    # 0.30.0: the padded view is copied back into the unpadded parameter, whose storage CUDA graphs capture.
    Rule("rocm_moe_weight_padding", "0.30.0", None, "compacted",
         "unquantized_fused_moe_method.py (0.30.0) UnquantizedFusedMoEMethod.process_weights_after_loading "
         "(:186-224): layer.w13_weight.data.copy_(self._maybe_pad_weight(...)) and likewise w2 (:197-198): the "
         "padded tensor (_maybe_pad_weight :114-130) is a temporary copied into the unpadded storage and freed; "
         "the weights line counts allocated bytes (platforms/rocm.py get_current_memory_usage AST-identical)"),
    # -- mxfp4 experts (gpt-oss) on compute capability 9.0 with dp 1 and no EP: does their forward
    #    keep a buffer past the profile forward (VLLM.moe_workspace_note, FINDINGS_h28_moeq.md)?
    #    None: the question does not arise (nothing kept before 0.11.0; MoE refused from 0.20.0);
    #    "installed": which kernel runs depends on what is installed, so kept bytes are not known;
    #    "freed": the Triton backend runs outside the modular kernel and frees every buffer.
    #    Paths below under vllm/model_executor/layers/ unless written otherwise.
    Rule("moe_mxfp4_sm90_freed", "0.8.0", "0.10.2", None,
         "fused_moe/modular_kernel.py: no kept workspace before 0.11.0 (rule moe_persistent_workspace 'none')"),
    Rule("moe_mxfp4_sm90_freed", "0.11.0", "0.11.2", "installed",
         "quantization/mxfp4.py get_mxfp4_backend (0.11.0 :59-108, 0.11.2 :89-154): TRITON only when "
         "has_triton_kernels(), else MARLIN; has_triton_kernels = _has_module('triton_kernels') (0.11.0 "
         "vllm/utils/__init__.py :3431, 0.11.2 vllm/utils/import_utils.py :398): the package is not vendored "
         "(no vllm/third_party/triton_kernels) and not a Requires-Dist of the wheel, so the kernel is an "
         "installation fact"),
    Rule("moe_mxfp4_sm90_freed", "0.12.0", "0.18.1", "freed",
         "quantization/mxfp4.py get_mxfp4_backend (0.12.0 :107-165, 0.14.1 :107-166, 0.15.0 :106-164, 0.16.0 "
         ":103-160, 0.17.0 :108-168, 0.18.0 :109-169): capability 9.0 takes FlashInfer only with "
         "VLLM_USE_FLASHINFER_MOE_MXFP4_BF16 (default 0), else TRITON when has_triton_kernels(), true from "
         "0.12.0 by the vendored vllm/third_party/triton_kernels (vllm/utils/import_utils.py 0.12.0 :431-438); "
         "dp 1 without EP builds no modular kernel (fused_moe/all2all_utils.py maybe_make_prepare_finalize "
         "returns None, 0.14.1 :72-73), so Mxfp4MoEMethod.apply (0.12.0-0.14.1) / apply_monolithic "
         "(is_monolithic for TRITON, 0.15.0 :893, 0.18.0 :1031-1039) calls triton_kernel_moe_forward "
         "(0.12.0 :1079, 0.14.1 :1065, 0.15.0 :1090, 0.17.0 :1158, 0.18.0 :1192) directly: its output "
         "(fused_moe/gpt_oss_triton_kernels_moe.py torch.empty_like, 0.14.1 :94, 0.18.0 :246) and "
         "intermediate_cache (torch.empty, 0.14.1 :154, 0.18.0 :312) are local; triton_kernels "
         "matmul_ogs allocates its output and scratchpads per call (apply_allocation, "
         "vllm/third_party/triton_kernels/matmul_ogs.py 0.14.1 :175-186), and the one kept per-stream "
         "tensor (matmul_ogs_details/_p_matmul_ogs.py get_per_device_per_stream_alloc_fn, 0.14.1 :460-471, "
         "0.17.0 :586) is set only for persistent kernels, which 4-bit weights below capability 10 never "
         "are (can_use_tma false: matmul_ogs.py 0.12.0-0.16.0 :368, 0.17.0-0.18.1 :427)"),
    Rule("moe_mxfp4_sm90_freed", "0.19.0", "0.19.1", "freed",
         "fused_moe/oracle/mxfp4.py select_mxfp4_moe_backend (0.19.0 = 0.19.1, :197-373): priority "
         "FLASHINFER_TRTLLM_MXFP4_BF16 (capability family 10.0 only, experts/trtllm_mxfp4_moe.py :79-81), CK "
         "(ROCm), TRITON: OAITritonMxfp4ExpertsMonolithic (fused_moe/gpt_oss_triton_kernels_moe.py :867-979; "
         "capability 9.0-10.x, dp <= 1, no all2all, Renormalize routing as gpt-oss's renormalize=True, "
         "fused_moe/config.py get_routing_method_type :143-145); the monolithic kernel takes no workspace "
         "(fused_moe/modular_kernel.py FusedMoEKernelMonolithicImpl.apply :1402-1451) and calls "
         "triton_kernel_moe_forward, whose buffers are local (:280 torch.empty_like, :346 torch.empty); "
         "the vendored triton_kernels keep nothing for 4-bit weights below capability 10 (matmul_ogs.py "
         ":427 can_use_tma false, so no persistent kernel and no per-stream allocator, :474)"),
    Rule("moe_mxfp4_sm90_freed", "0.20.0", None, None,
         "mxfp4 experts refused (VLLM.moe_oracle_experts): fused_moe/oracle/mxfp4.py "
         "select_gpt_oss_mxfp4_moe_backend (0.20.0 :193-) not read to the end"),
    # -- mxfp4 experts (gpt-oss) on compute capability 9.0 (NVIDIA, vLLM's is_device_capability(90)),
    #    no expert parallelism: the layout their tensors have after process_weights_after_loading,
    #    which VLLM.mxfp4_expert_bytes turns into resident bytes per MoE layer (FINDINGS_h28_mxw.md).
    #    None: no mxfp4 method (refused by weights_min_capability) or MoE refused (0.20.0+);
    #    "installed": Marlin or Triton by whether triton_kernels is installed: refused (check_weights).
    #    Resident bytes are tensor bytes; vLLM's "Model loading took" is torch.cuda.max_memory_allocated
    #    (0.14.1 vllm/utils/mem_utils.py DeviceMemoryProfiler :42-60), so caching-allocator block
    #    rounding is on top and not modelled: gpt-oss-120b tp 1 is 0.037 GiB (0.10.1 Marlin) and
    #    0.041-0.051 GiB (0.14.1 Triton) below the logged 65.9651 / 64.38 GiB (issues #23278, #33155),
    #    as is Marlin's per-layer workspace (SM count x 4 int32: 2,112 B on 132 SMs; the catalog has no
    #    SM count). Paths under vllm/model_executor/layers/quantization/.
    Rule("mxfp4_sm90_expert_layout", "0.8.0", "0.10.0", None,
         "no mxfp4.py before 0.10.1 (rule weights_min_capability)"),
    Rule("mxfp4_sm90_expert_layout", "0.10.1", "0.10.1.1", "marlin",
         "mxfp4.py Mxfp4MoEMethod._should_use_marlin :123-135 (0.10.1 = 0.10.1.1): True on capability 9.0 "
         "without triton_kernels or with torch < 2.8.0, and the wheel pins torch==2.7.1 (METADATA Requires-Dist); "
         "create_weights :156-167 pads the per-partition intermediate size to a multiple of 128 and hidden to 256; "
         "utils/marlin_utils_fp4.py prepare_moe_fp4_layer_for_marlin :195-297: gptq_marlin_repack keeps "
         "size_k x size_n / 2 B, scales become float8_e8m0fnu (mxfp4_marlin_process_scales :59-69, 1 B per "
         "32 inputs), biases .to(params_dtype) permuted (model dtype), workspace marlin_make_workspace_new(4) "
         "(utils/marlin_utils.py :201-209: SMs x 4 int32 a layer, counted from the catalog's compute_units)"),
    Rule("mxfp4_sm90_expert_layout", "0.10.2", "0.11.2", "installed",
         "mxfp4.py (0.10.2 _should_use_marlin; 0.11.0 get_mxfp4_backend :59-108, 0.11.2 :89-154): TRITON when "
         "has_triton_kernels() (torch 2.8.0+ pinned), else MARLIN; triton_kernels is neither vendored nor a "
         "Requires-Dist of these wheels, so the experts' layout depends on the installation"),
    Rule("mxfp4_sm90_expert_layout", "0.12.0", "0.16.0", "triton",
         "mxfp4.py get_mxfp4_backend (0.12.0 :107-165, 0.14.1 :107-166; 0.19.0-0.19.1 fused_moe/oracle/mxfp4.py "
         "_get_priority_backends :169-183, select_mxfp4_moe_backend :197-365): TRITON with the vendored "
         "triton_kernels; create_weights pads the intermediate size to a multiple of 64 only (0.12.0 :328-331, "
         "0.14.1 :327-329, 0.17.0 :343-346; 0.19.1 fused_moe/oracle/mxfp4.py "
         "mxfp4_round_up_hidden_size_and_intermediate_size :376-400 via Mxfp4MoEMethod.maybe_roundup_sizes); "
         "process_weights_after_loading (0.14.1 TRITON branch :746-783; 0.19.1 fused_moe/oracle/mxfp4.py "
         ":721-752 with mxfp4.py _setup_kernel :296-311) replaces the biases by float32 copies, swizzles the "
         "weights (vllm/third_party/triton_kernels/tensor_details/layout_details/hopper_value.py swizzle_data "
         ":99-175: rows padded to 16, bytes per row to 32) and copies the scales into w13/w2_precision_config "
         "(hopper_scale.py swizzle_data :22-46: rows padded to SWIZZLE_ALIGN_M = 2 x num_warps(8) x 2 x 8 = 256, "
         "scale columns to 2), while layer.w13_weight_scale / w2_weight_scale are never deleted: both kept"),
    Rule("mxfp4_sm90_expert_layout", "0.17.0", "0.19.1", "triton64",
         "as 0.12.0-0.16.0, but the vendored triton_kernels' hopper_value.py swizzle_data first pads both matrix "
         "dims of each expert weight to multiples of 64 (0.17.0-0.19.0 :128-133, 0.19.1 :129-134; absent in 0.16.0): "
         "gpt-oss's 1,440 bytes a row become 1,472 (review h28 F1: gpt-oss-120b tp 1 1,835,089,920 B a layer)"),
    Rule("mxfp4_sm90_expert_layout", "0.20.0", None, None,
         "mxfp4 experts refused (VLLM.moe_oracle_experts): their 0.20.0+ layout not read"),
    # -- block-quantized fp8 experts (DeepSeek-V3: quantization_config weight_block_size [128, 128])
    #    on compute capability 9.0 with dp 1 and no EP: which experts class runs
    #    (VLLM.fp8_block_experts_triton, FINDINGS_h28_moeq.md section 6). None: not read, or the
    #    kernel depends on what is installed (DeepGEMM, FlashInfer), so the warning stays;
    #    "triton": TritonExperts in the modular kernel, whose workspace is the unquantized one's
    #    (rule moe_persistent_workspace). Paths under vllm/model_executor/layers/.
    Rule("moe_fp8_block_sm90_triton", "0.8.0", "0.16.0", None,
         "not read before 0.14.0; 0.14.0-0.16.0 fused_moe/oracle/fp8.py select_fp8_moe_backend puts DEEPGEMM "
         "before TRITON (0.16.0 :154-166; 0.14.x at tp < 8 :123-137): has_deep_gemm(), an installation fact "
         "(deep_gemm is no Requires-Dist of the wheel)"),
    Rule("moe_fp8_block_sm90_triton", "0.17.0", "0.19.1", "triton",
         "fused_moe/oracle/fp8.py _get_priority_backends (0.17.0-0.19.1 :57-102; identical 0.17.0 = 0.17.1, "
         "0.18.0 = 0.18.1, 0.19.0 = 0.19.1): on CUDA with is_device_capability(90), kFp8Static128BlockSym x "
         "kFp8Dynamic128Sym and ep_size 1, TRITON is moved to the front (:85-95), before DEEPGEMM and FlashInfer, "
         "so what is installed does not matter; quantization/fp8.py Fp8MoEMethod.__init__ takes those keys for "
         "any weight_block_size (0.17.0 :667, 0.18.1 :672, 0.19.1 :590-592) and select_fp8_moe_backend (0.17.0 "
         ":203-, 0.19.1 :209-; LoRA also TRITON, :213 / :220) takes the first supported class: TritonExperts "
         "(fused_moe.py _supports_quant_scheme lists the pair, 0.17.0 :1971, 0.18.0 :1946, 0.19.1 :1943; "
         "capability >= 8.9). make_fp8_moe_kernel (0.17.0 :521, 0.18.0 :527, 0.19.1 :542) builds "
         "FusedMoEKernel(MoEPrepareAndFinalizeNoEP, TritonExperts): fused_moe/all2all_utils.py "
         "maybe_make_prepare_finalize with allow_new_interface=True returns the no-DP/EP prepare/finalize "
         "at dp 1 without all2all (0.17.0 :96-114, 0.19.1 :110-128). Its workspace is the unquantized one: "
         "TritonExperts.workspace_shapes (0.17.0 :2001-2016, 0.18.0 :1979-1993, 0.19.1 :1976-1991) in "
         "workspace_dtype(in_dtype) = hidden_states.dtype before quantization, the model dtype "
         "(fused_moe/modular_kernel.py workspace_dtype 0.19.1 :789-793, not overridden by TritonExperts; "
         "in_dtype=hidden_states.dtype :1366; 0.17.0 :804, :1538); the fp8 copies of the activations "
         "(prepare's a1q, apply's qintermediate_cache2 from moe_kernel_quantize_input) are allocated per "
         "call, outside the WorkspaceManager, and freed; 0.17.x chunking as unquantized "
         "(TritonExperts.supports_chunking True, 0.17.0 :1992, 0.17.1 :1995)"),
    Rule("moe_fp8_block_sm90_triton", "0.20.0", "0.23.0", "triton",
         "fused_moe/oracle/fp8.py _get_priority_backends ('On Hopper for Block Fp8, prefer Triton for TP': "
         "0.20.0 :88-99, 0.21.0 :90-101, 0.22.0 = 0.22.1 :87-98, 0.23.0 :87-98): on CUDA, is_device_capability(90), "
         "kFp8Static128BlockSym x kFp8Dynamic128Sym and ep_size 1 TRITON goes to the front; quantization/fp8.py "
         "Fp8MoEMethod takes those keys for a weight_block_size (0.20.0 :575-582); select_fp8_moe_backend (0.20.0 "
         ":212-, 0.23.0 :224-) takes the first supported class, TritonExperts (_supports_quant_scheme lists the pair, "
         "0.23.0 experts/triton_moe.py :80-101), built by make_fp8_moe_kernel (0.20.0 :560, 0.23.0 :595) into the "
         "modular kernel with the no-DP/EP prepare/finalize; workspace as rule moe_persistent_workspace 'triton' "
         "(TritonExperts.workspace_shapes 0.20.0 fused_moe.py :1968-1984, 0.21.0 experts/triton_moe.py :129-, "
         "0.23.0 :141-156; workspace_dtype the activation dtype, modular_kernel.py 0.23.0 :815-819)"),
    Rule("moe_fp8_block_sm90_triton", "0.24.0", "0.24.0", "triton",
         "fused_moe/oracle/fp8.py _get_priority_backends (0.24.0 :64-126): the Hopper block-fp8 clause as "
         "0.23.0 (:105-115 / :87-98); the new DeepEP v2 clause (:93-103) needs the SM100 family and all2all "
         "kernels; select_fp8_moe_backend (:242-390) loses only the removed VLLM_USE_FLASHINFER_MOE_FP8 branch; "
         "quantization/fp8.py Fp8Config.get_quant_method (:179-221) gives Fp8MoEMethod to the RoutedExperts "
         "(:201-218; Mxfp4MoEMethod only for a store_dtype 'mxfp4' config); Fp8MoEMethod.__init__, create_weights, "
         "_setup_kernel, process_weights_after_loading (:505-532, :534-672, :674-717, :719-762) AST-identical to "
         "0.23.0 (:572-599, :601-739, :741-784, :786-829), convert_to_fp8_moe_kernel_format (:393-480) changes the "
         "unsupported-backend list only; make_fp8_moe_kernel (:577) identical; TritonExperts workspace as rule "
         "moe_persistent_workspace 0.24.0 (experts/triton_moe.py :181-196; workspace_dtype modular_kernel.py "
         ":815-819)"),
    Rule("moe_fp8_block_sm90_triton", "0.25.0", "0.25.1", "triton",
         "fused_moe/oracle/fp8.py _get_priority_backends (0.25.0 :69-133): the Hopper block-fp8 clause as "
         "0.24.0 (:112-122 / :105-115; the new HUMMING and HPC backends sit behind it); select_fp8_moe_backend "
         "(:271-) AST-identical; quantization/fp8.py Fp8Config.get_quant_method (:175-220) gives Fp8MoEMethod to "
         "a serialized fp8 checkpoint as 0.24.0 (the online method moved to quantization/online/fp8.py); "
         "Fp8MoEMethod.__init__ / create_weights / process_weights_after_loading AST-identical, _setup_kernel "
         "(:674-718) hands the layer to make_fp8_moe_kernel (:670-718; used by HUMMING only); "
         "convert_to_fp8_moe_kernel_format (:457-561) adds the AITER_MXFP8 / HUMMING branches only; "
         "TritonExperts workspace as rule moe_persistent_workspace 0.25.0"),
    Rule("moe_fp8_block_sm90_triton", "0.26.0", "0.26.0", "triton",
         "fused_moe/oracle/fp8.py and quantization/fp8.py byte-identical to 0.25.1 (_get_priority_backends :69-133, "
         "Hopper block-fp8 clause :112-122; select_fp8_moe_backend :271-419; make_fp8_moe_kernel :670-718; "
         "Fp8MoEMethod.__init__ / create_weights / _setup_kernel / process_weights_after_loading :505-532, :534-672, "
         ":674-718, :720-763); TritonExperts workspace as rule moe_persistent_workspace 0.26.0"),
    Rule("moe_fp8_block_sm90_triton", "0.27.0", "0.27.1", "triton",
         "fused_moe/oracle/fp8.py byte-identical to 0.26.0 (_get_priority_backends :69-133, Hopper block-fp8 clause "
         ":112-122; select_fp8_moe_backend :271-419; make_fp8_moe_kernel :670-718); quantization/fp8.py loses an "
         "unused helper only: Fp8Config.get_quant_method (:175-220) and Fp8MoEMethod.__init__ / create_weights / "
         "_setup_kernel / process_weights_after_loading (:495-522, :524-662, :664-708, :710-753) AST-identical; "
         "TritonExperts workspace as rule moe_persistent_workspace 0.27.0 (the tensor-descriptor path is for "
         "unquantized weights only, fused_moe.py :796-800)"),
    Rule("moe_fp8_block_sm90_triton", "0.28.0", "0.28.0", "triton",
         "fused_moe/oracle/fp8.py (0.28.0): _get_priority_backends (:69-133) AST-identical; select_fp8_moe_backend "
         "(:271-425) changes only the ROCm AITER test; make_fp8_moe_kernel (:696-736) drops the Humming layer "
         "argument; convert_to_fp8_moe_kernel_format (:463-571) marks AITER weights shuffled; "
         "quantization/fp8.py Fp8MoEMethod.__init__ (:477-504) AST-identical, create_weights (:506-647) sizes w13 "
         "as moe.w13_num_shards (2 for gated experts, config.py) x intermediate as before, _setup_kernel / "
         "process_weights_after_loading (:649-687, :689-738) pass EPLB and is_act_and_mul flags (EPLB refused); "
         "TritonExperts workspace as rule moe_persistent_workspace 0.28.0"),
    Rule("moe_fp8_block_sm90_triton", "0.29.0", None, "triton",
         "fused_moe/oracle/fp8.py (0.29.0): _get_priority_backends (:69-133) and make_fp8_moe_kernel AST-identical; "
         "select_fp8_moe_backend drops VLLM_TEST_FORCE_FP8_MARLIN; quantization/fp8.py Fp8Config.get_quant_method "
         "(:174-221), Fp8MoEMethod._setup_kernel / process_weights_after_loading (:687-725, :727-776) AST-identical; "
         "Fp8MoEMethod.__init__ (:475-534) keys the weights by the block shape, refined only where the TP shard "
         "does not divide the checkpoint block (rule moe_fp8_block_refined), else kFp8Static128BlockSym's 128 x 128 "
         "as before; TritonExperts workspace as rule moe_persistent_workspace 0.29.0"),
    # -- 0.29.0 refines fp8 expert block scales where the TP shard of the expert intermediate size is not a
    #    multiple of the checkpoint's block (kvplan.engines.vllm refuses that case; none before 0.29.0).
    Rule("moe_fp8_block_refined", "0.8.0", "0.28.0", False,
         "vllm/model_executor/layers/quantization/fp8.py Fp8MoEMethod.__init__ (0.28.0 :477-504): the checkpoint's "
         "block shape alone (kFp8Static128BlockSym); no refine_fp8_moe_block_shape before 0.29.0"),
    Rule("moe_fp8_block_refined", "0.29.0", None, True,
         "vllm/model_executor/layers/quantization/fp8.py Fp8MoEMethod.__init__ (0.29.0 :475-534) calls "
         "fused_moe/oracle/fp8.py refine_fp8_moe_block_shape (:272-): a finer block (>= 32) where "
         "intermediate_size_per_partition % block_n, or % block_k at tp > 1, is not 0 (:295-297)"),
    # -- whether the block-fp8 shape test of a dense linear layer (Fp8LinearMethod.create_weights: a
    #    row-parallel layer's input a rank % block_k, a column-parallel layer's every logical output a
    #    rank % block_n, at tp > 1; kvplan.engines.base.fp8_linear_shard_misfit, VLLM.check_fp8_block_linears)
    #    covers the merged column layers (QKVParallelLinear, MergedColumnParallelLinear) too. Row and single
    #    column layers are tested on every release, 0.8.0-0.33.0 (docs/findings/FINDINGS_h34_fp8lin.md).
    Rule("fp8_block_merged_linear_checked", "0.8.0", "0.13.0", True,
         "vllm/model_executor/layers/quantization/fp8.py Fp8LinearMethod.create_weights (0.8.0 :174-197, 0.10.2 "
         ":283-305); from 0.11.0 quantization/utils/fp8_utils.py validate_fp8_block_shape (0.11.0 :750-782, 0.13.0 "
         ":1244-1284, called from fp8.py :455): every output partition of a tp-split layer, merged or not"),
    Rule("fp8_block_merged_linear_checked", "0.14.0", None, False,
         "vllm/model_executor/layers/linear.py ColumnParallelLinear._maybe_allow_fp8_block_shape_mismatch (0.14.0 "
         ":524-549, called :492; 0.19.1 :502-527 / :470; 0.29.0 :539-564 / :507; 0.33.0 :562-587 / :519) sets "
         "allow_fp8_block_shape_mismatch on a layer of several outputs one of which block_n does not divide, and "
         "quantization/utils/fp8_utils.py validate_fp8_block_shape (0.14.0 :1395-1443, 0.19.1 :1425-1473, 0.29.0 "
         ":1197-1245, 0.33.0 :1296-1344) returns for it: merged layers are never refused; the row and single "
         "column tests unchanged"),
    # -- how Qwen3-Next's Gated DeltaNet input projections are built (kvplan.engines.base.GDN_LAYERS,
    #    VLLM.check_fp8_block_linears): which are merged layers for the block-fp8 shape test and the
    #    modules that decide their quant method (docs/findings/FINDINGS_h35_fp8ssm.md). out_proj is a
    #    RowParallelLinear(value_dim, hidden, quant_config) and conv1d a ColumnParallelLinear without
    #    quant_config in every release; none (no Qwen3NextForCausalLM class) before 0.10.2.
    Rule("gdn_projection_layers", "0.8.0", "0.10.1.1", None,
         "no vllm/model_executor/models/qwen3_next.py before 0.10.2"),
    Rule("gdn_projection_layers", "0.10.2", "0.10.2", "in_proj",
         "models/qwen3_next.py (0.10.2) Qwen3NextGatedDeltaNet.__init__: in_proj = MergedColumnParallelLinear("
         "output_sizes=[projection_size_qkvz, projection_size_ba], quant_config) (:256-262), out_proj "
         "RowParallelLinear (:304-309), conv1d without quant_config (:245-250); Qwen3NextForCausalLM."
         "packed_modules_mapping 'in_proj': ['in_proj_qkvz', 'in_proj_ba'] (:1061), given to the quant config by "
         "model_loader/utils.py configure_quant_config (:254-271)"),
    Rule("gdn_projection_layers", "0.11.0", "0.16.0", "qkvz, ba",
         "models/qwen3_next.py Qwen3NextGatedDeltaNet.__init__: in_proj_qkvz and in_proj_ba are "
         "ColumnParallelLinear(output_size=projection_size_qkvz / _ba, quant_config) (0.11.0 :247-261, 0.11.1 "
         ":293-308, 0.12.0 :289-302, 0.13.0 :289-302, 0.14.0-0.16.0 :296-310), out_proj RowParallelLinear (0.11.0 "
         ":303-308, 0.13.0 :349-355, 0.16.0 :356-362); packed_modules_mapping has neither (0.11.0 :1031-1038)"),
    Rule("gdn_projection_layers", "0.17.0", "0.17.1", "qkvz, b + a",
         "models/qwen3_next.py (0.17.0 = 0.17.1) Qwen3NextGatedDeltaNet: in_proj_qkvz = create_qkvz_proj "
         "MergedColumnParallelLinear(output_sizes=[2 x key_dim + 2 x value_dim]) (:407-413, :484-498), in_proj_ba = "
         "MergedColumnParallelLinear(output_sizes=[num_v_heads] * 2) (:417-423): two outputs, let through by "
         "linear.py _maybe_allow_fp8_block_shape_mismatch (rule fp8_block_merged_linear_checked); "
         "packed_modules_mapping 'in_proj_qkvz': ['in_proj_qkvz'], 'in_proj_ba': ['in_proj_ba'] (:1321-1330)"),
    Rule("gdn_projection_layers", "0.18.0", None, "qkvz, ba",
         "create_qkvz_proj / create_ba_proj: MergedColumnParallelLinear of one output each, [2 x key_dim + 2 x "
         "value_dim] and [num_v_heads x 2], for Qwen3-Next's gqa_interleaved_layout: models/qwen3_next.py "
         "0.18.0-0.18.1 (:447-462, :526-562); layers/mamba/gdn_linear_attn.py GatedDeltaNetAttention 0.19.0-0.21.0 (0.19.1 :370-417, "
         "qwen3_next.py :339 gqa_interleaved_layout=True; 0.21.0 :409-458); layers/mamba/gdn/qwen_gdn_linear_attn.py "
         "QwenGatedDeltaNetAttention 0.22.0-0.33.0 (0.22.0 :566-613, 0.28.0 :536-583, 0.33.0 :803-850; "
         "maybe_disable_tp only without gqa_interleaved_layout, 0.33.0 :853-870), out_proj RowParallelLinear "
         "(0.19.1 :351, 0.33.0 :675-683); packed_modules_mapping maps each to itself (0.19.1 :699-708, 0.33.0 "
         ":825-834)"),
    # -- whether models/deepseek_v2.py's decoder forward (DeepseekV2 / V3 and the architectures built
    #    on it) was read for the profile run's activations of this release: 0.25.0 rewrote it
    #    (FINDINGS_h30_v25moe.md), and while MoE was refused there nobody read it.
    Rule("deepseek_v2_forward_read", "0.8.0", "0.24.0", True,
         "planned MoE / MLA releases read before 0.25.0 (FINDINGS_h30_v24moe.md 'MLA on Hopper')"),
    # 0.25.0 (FINDINGS_h31_v26moe.md): read to the end; 0.25.1's deepseek_v2.py is byte-identical to 0.25.0's.
    Rule("deepseek_v2_forward_read", "0.25.0", "0.25.1", True,
         "models/deepseek_v2.py (0.25.0 = 0.25.1): DeepseekV2DecoderLayer.forward (:1266-1337; 0.24.0 :1180-1227) "
         "takes the sequence-parallel steps only with self.use_sequence_parallel_moe (DeepseekV2DecoderLayer.__init__ "
         ":1222-1226; DeepseekV2MoE.is_sequence_parallel :297, the same property), which config/parallel.py "
         "ParallelConfig.use_sequence_parallel_moe (:642-656) allows only with "
         "enable_expert_parallel and dp > 1 (both refused), and DeepseekV2Model.forward (:1407-1495) all-gathers "
         "only when the hidden states are sequence-parallel; otherwise the one change is that the first layer "
         "keeps the embedding output as the residual instead of a clone (0.24.0 :1189), one [T, hidden] fewer "
         "during layer 0, so the forward's peak cannot rise, and the sampler phase kvplan binds on holds the same "
         "tensors (Glm4MoeLiteDecoderLayer.forward, glm4_moe_lite.py :178-202, the same change); "
         "DeepseekV2MoE (:277-396, :398-427): the gate in moe_router_dtype (_get_moe_router_dtype :120-131: fp32 "
         "only for glm_moe_dsa, DeepSeek sparse attention, refused, or a config's moe_router_dtype, which kvplan's "
         "weights refuse as unread) and sequence-parallel flags; attention __init__s pass reduce_results (True "
         "without sequence parallelism); load_weights changes the V3.2 indexer only"),
    Rule("deepseek_v2_forward_read", "0.26.0", "0.26.0", True,
         "models/deepseek_v2.py (0.26.0): DeepseekV2DecoderLayer.forward / DeepseekV2Model.forward AST-identical "
         "to 0.25.1 (:1272-1343, :1413-1501); DeepseekV2MoE.__init__ (:278-395) builds the gate without "
         "params_dtype / force_fp32_compute (model dtype: the fp32 router case is refused anyway) and takes "
         "apply_routed_scale_to_output from DeepseekV2DecoderLayer.__init__ (:1178-1270: not "
         "rocm_aiter_ops.is_fused_moe_enabled(), True on CUDA as 0.25.1's); DeepseekV2MLAAttention.__init__ "
         "(:961-1166) changes the V3.2 indexer's MTP skip_topk only"),
    Rule("deepseek_v2_forward_read", "0.27.0", "0.27.1", True,
         "models/deepseek_v2.py (0.27.0; FINDINGS_h31_v27moe.md): DeepseekV2DecoderLayer.forward / __init__, "
         "DeepseekV2MoE.forward, DeepseekV2Model.__init__, DeepseekV2MLP AST-identical to 0.26.0 (:1292-1363, "
         ":1198-1290, :399-428, :1370-1428, :232-276); DeepseekV2Model.forward (:1433-1517) drops "
         "residual.contiguous() only in the two all-gather branches, taken only when the hidden states are "
         "sequence-parallel (expert parallelism and dp > 1, both refused; config/parallel.py "
         "use_sequence_parallel_moe :673-687 AST-identical); DeepseekV2MoE.__init__ (:280-397) calls FusedMoEFactory "
         "(the renamed FusedMoE); DeepseekV2MLAAttention.__init__ (:968-1186) builds q_proj / q_b_proj as "
         "DCPGroupColumnParallelLinear only with VLLM_DCP_Q_REPLICATE and decode context parallelism (refused) and "
         "passes the V3.2 indexer's flags (DeepSeek sparse attention, refused)"),
    Rule("deepseek_v2_forward_read", "0.28.0", "0.28.0", True,
         "models/deepseek_v2.py (0.28.0): DeepseekV2DecoderLayer.forward (:1286-1357), DeepseekV2Model.__init__ / "
         "forward (:1364-1422, :1427-1511), DeepseekV2MLP (:232-276) AST-identical; DeepseekV2MoE.forward (:393-416) "
         "keeps the internal-router call only (the other branch was dead), DeepseekV2MoE.__init__ (:280-391) drops "
         "unused EP fields, DeepseekV2DecoderLayer.__init__ / DeepseekV2MLAAttention.__init__ add type "
         "annotations and asserts; layers/mla.py byte-identical"),
    Rule("deepseek_v2_forward_read", "0.29.0", None, True,
         "models/deepseek_v2.py (0.29.0, read against 0.28.0 for the V1 runner): DeepseekV2DecoderLayer.forward / "
         "__init__ (:1334-1405, :1239-1332), DeepseekV2MoE.forward (:406-429), DeepseekV2Model.forward (:1481-1565), "
         "DeepseekV2MLP (:241-284) AST-identical; DeepseekV2MoE.__init__ (:288-404) fuses the shared experts only "
         "where resolve_layer_fused_shared_expert says so (ROCm AITER alone), DeepseekV2Model.__init__ "
         "(:1412-1476) records that compatibility, DeepseekV2MLAAttention.__init__ (:999-1227) reads "
         "dcp_q_replicate from the config too (decode context parallelism refused)"),
    # -- speculative decoding (kvplan.speculative): the profile run's rejection-sampler pass and
    #    the MTP layer's own lm_head copy
    Rule("rejection_sampler_bonus_pass", "0.8.0", "0.11.0", False,
         _RUNNER + ": no bonus-token sampling: 0.8.0 runs no rejection-sampler pass; 0.8.1 to 0.11.0 pass "
                   "randn target_logits [S, vocab] and zero bonus_token_ids (RejectionSampler.forward in "
                   "vllm/v1/sample/rejection_sampler.py: compute_probs, rejection_sample)"),
    Rule("rejection_sampler_bonus_pass", "0.11.1", None, True,
         _RUNNER + ": with a speculative_config (any method, ngram included) logits = torch.randn(num_tokens + "
                   "num_reqs, vocab) (2S rows, model dtype) and RejectionSampler.forward samples the bonus tokens "
                   "from bonus_logits = logits[bonus_logits_indices] (S rows, a copy) with max_num_logprobs=-1 and "
                   "logprobs_mode_override raw_logits (vllm/v1/sample/sampler.py: raw_logprobs = "
                   "logits.to(float32), a second fp32 copy beside the sampled one)"),
    Rule("mtp_own_lm_head", "0.8.0", "0.15.1", True,
         "vllm/model_executor/models/deepseek_mtp.py: SharedHead builds ParallelLMHead(vocab, hidden) in every "
         "MTP layer (shared_head.head, loaded from the checkpoint); vllm/v1/spec_decode/eagle.py load_model "
         "replaces self.model.lm_head, which DeepSeekMTP does not have, and never touches shared_head (read "
         "in 0.10.1.1, 0.11.0, 0.14.0, 0.15.0, 0.15.1: no 'shared_head' in eagle.py)"),
    Rule("mtp_own_lm_head", "0.16.0", None, False,
         "vllm/v1/spec_decode/eagle.py load_model: 'MTP models call compute_logits via shared_head.head ... "
         "Always share it explicitly': del sh.head; sh.head = target_language_model.lm_head (0.16.0 to 0.19.1)"),
    # -- non-torch memory (NCCL, custom all-reduce, symmetric-memory workspaces, cuBLAS)
    Rule("symmetric_memory_all_reduce", "0.8.0", "0.10.2", False,
         "vllm/envs.py: VLLM_ALLREDUCE_USE_SYMM_MEM absent (0.8-0.10.1.1) or default '0' (0.10.2)"),
    Rule("symmetric_memory_all_reduce", "0.11.0", None, True,
         "vllm/envs.py: VLLM_ALLREDUCE_USE_SYMM_MEM default '1' (Hopper/Blackwell only: "
         "vllm/distributed/device_communicators/all_reduce_utils.py SYMM_MEM_ALL_REDUCE_MAX_SIZES)"),
    Rule("non_torch_bytes", "0.8.0", "0.10.2",
         {"single": 0, "pp_only": 0, "tp": gib("0.12"), "tp_symm": None},
         "startup logs of v0.10.1.1 on A100 (tests/fixtures/calibration A062-A066): ~0 GiB beyond the "
         "activation peak on one GPU, 0.12 GiB at tp 2 on one node; applied to 0.8.0-0.10.2 (no "
         "symmetric-memory all-reduce before 0.11.0)"),
    Rule("non_torch_bytes", "0.11.0", None,
         {"single": gib("0.25"), "single_pre_hopper": 0, "pp_only": gib("0.07"), "tp": gib("0.12"),
          "tp_symm": {2: gib("2.09"), 4: gib("2.13")}},
         "startup logs of v0.19.0 on H100 (tests/fixtures/calibration): non_torch_forward_increase 0.25 "
         "(1 GPU), 0.07 (pp only), 2.07/2.06/2.09 (tp 2: kvplan takes 2.09, the figure of the log whose "
         "pool is smallest, so relative KV errors stay lowest), 2.13 (tp 4, also used for tp > 4); "
         "GPUs without symmetric memory (pre-Hopper) keep the 0.10.1.1 A100 figures, 0 on one GPU and "
         "0.12 at tp (the v0.15.1 A100 log P002 agrees: docs/calibration.md); applied from 0.11.0, "
         "the release that turned VLLM_ALLREDUCE_USE_SYMM_MEM on"),
    # -- what "non-torch memory" counts: the whole device's, or only what the profile added
    Rule("non_torch_counts_startup_memory", "0.8.0", "0.9.0.1", True,
         _WORKER + ": peak_memory += (total - free) - torch allocated, measured after the profile run, so the "
         "CUDA context and every buffer that was on the device before loading count against the KV pool"),
    Rule("non_torch_counts_startup_memory", "0.9.1", None, False,
         _WORKER + " with vllm/utils memory_profiling (0.9.1+): non_torch_increase is measured from the "
         "worker's init snapshot, so memory in use before loading is not counted"),
    #: memory in use on the device before loading (CUDA context; NCCL communicators when
    #: parallel): total - free at startup in the v0.19.0 H100 logs, 79.19 - 78.68 = 0.51 GiB on one
    #: GPU, 79.19 - 77.66 = 1.53 GiB at tp 2 (tests/fixtures/calibration A017, A027).
    Rule("startup_in_use_bytes", "0.8.0", None, {"single": gib("0.51"), "parallel": gib("1.53")},
         "startup logs of v0.19.0 on H100 (free_memory_at_startup: 78.68 one GPU, 77.66 tp 2, of 79.19 GiB)"),
    # ---- state-space models (Mamba, linear attention: kvplan StateSpace layers) ----
    # -- which engine runs them by default: "v0" (kvplan models V1 only: refused) or "v1"
    Rule("state_space_engine", "0.8.0", "0.10.1.1", "v0",
         "vllm/engine/arg_utils.py _is_v1_supported_oracle: 'No Mamba or Encoder-Decoder so far' (their classes "
         "are SupportsV0Only up to 0.9.1, vllm/model_executor/models/registry.py is_v1_compatible), and from 0.9.2 "
         "'V1 mamba models are unoptimized': has_inner_state and _warn_or_fallback('Mamba') falls back to V0 "
         "unless VLLM_USE_V1=1 (0.10.1.1 :1428-1431)"),
    Rule("state_space_engine", "0.10.2", None, "v1",
         "vllm/engine/arg_utils.py: no Mamba fallback to V0 from 0.10.2"),
    # -- what --enable-prefix-caching does to them: "v0" (not planned, see state_space_engine),
    #    "off" (vLLM turns it off), "honoured" (it changes the attention block size and the blocks
    #    a request holds, which kvplan does not model: refused), or a tuple of architectures:
    #    honoured for those (the SupportsMambaPrefixCaching classes, refused), off for the others
    #    (vLLM logs 'Hybrid or mamba-based model detected without support for prefix caching:
    #    disabling.'). MambaModelConfig runs for every state-space model vLLM serves: hybrids
    #    (IsHybrid: Qwen3-Next, MiniMax-Text-01 / M1) through HybridAttentionMambaModelConfig
    #    (vllm/config/vllm.py try_verify_and_update_config, 0.12.0 :1164-1165), before its own
    #    prefix-caching branch; Mamba / Mamba2 / FalconMamba through MODELS_CONFIG_MAP. Without
    #    the flag it is off for them in every release kvplan plans (0.11.1-0.11.2:
    #    default_prefix_caching = not is_hybrid, and an attention-free Mamba with it on keeps
    #    mamba_block_size = max_model_len, one block a request as without it; 0.12.0+:
    #    ModelConfig.is_prefix_caching_supported is False for "hybrid" and "attention_free",
    #    vllm/config/model.py 0.19.1 :1785-1795).
    Rule("state_prefix_caching", "0.8.0", "0.10.1.1", "v0",
         "rule state_space_engine; V1 itself raises 'Prefix caching is not supported for Mamba yet' "
         "(vllm/v1/worker/gpu_model_runner.py get_kv_cache_spec, 0.9.2-0.11.0)"),
    Rule("state_prefix_caching", "0.10.2", "0.11.0", "off",
         "vllm/model_executor/models/config.py MambaModelConfig.verify_and_update_config sets "
         "cache_config.enable_prefix_caching = False (0.10.2 :309, 0.11.0 :296)"),
    # The SupportsMambaPrefixCaching classes, by the name vLLM's registry gives them
    # (vllm/model_executor/models/registry.py; FalconMamba is mamba.py's MambaForCausalLM): the
    # same nine in 0.11.1, 0.11.2, 0.12.0, 0.13.0, 0.14.0, 0.14.1 (bamba.py, falcon_h1.py,
    # granitemoehybrid.py, jamba.py, mamba.py, mamba2.py, nemotron_h.py, zamba2.py; not
    # qwen3_next.py, minimax_text_01.py).
    *(Rule("state_prefix_caching", first, last, MAMBA_PREFIX_CACHING_ARCHS,
           f"vllm/model_executor/models/config.py MambaModelConfig.verify_and_update_config ({lines}): kept on "
           f"when model_config.supports_mamba_prefix_caching, else cache_config.enable_prefix_caching = False; "
           f"from the SupportsMambaPrefixCaching classes vLLM then sizes as for 'honoured'")
      for first, last, lines in (("0.11.1", "0.11.2", "0.11.1 :293-305"), ("0.12.0", "0.12.0", "0.12.0 :292-309"),
                                 ("0.13.0", "0.13.0", "0.13.0 :289-306"), ("0.14.0", "0.14.1", "0.14.1 :332-349"))),
    Rule("state_prefix_caching", "0.15.0", None, "honoured",
         "vllm/model_executor/models/config.py MambaModelConfig keeps it on for every state-space model, "
         "mamba_cache_mode 'all' for SupportsMambaPrefixCaching models, else 'align' (0.15.0 :332-381, "
         "0.19.1 :436-455), and "
         "HybridAttentionMambaModelConfig then makes the attention block a multiple of mamba_chunk_size (0.19.1 "
         ":244-265) and MambaSpec.max_memory_usage_bytes counts cdiv(max_model_len, block_size) pages "
         "('all') or 2 + num_speculative_blocks ('align') per state layer (vllm/v1/kv_cache_interface.py :293-300)"),
    # -- which architectures' state-space layers run with speculative decoding: None every one;
    #    else only those named (vLLM raises NotImplementedError 'Mamba with speculative decoding is
    #    not supported yet' for the others)
    Rule("state_speculative_archs", "0.8.0", "0.10.1.1", (),
         "vllm/v1/worker/gpu_model_runner.py get_kv_cache_spec: any speculative_config with Mamba layers raises"),
    Rule("state_speculative_archs", "0.10.2", "0.16.0", ("Qwen3NextForCausalLM",),
         "vllm/v1/worker/gpu_model_runner.py get_kv_cache_spec (0.10.2-0.11.0), vllm/model_executor/layers/"
         "mamba/abstract.py MambaBase.get_kv_cache_spec (0.11.1-0.16.0 :44-50): raises unless hf_config.model_type "
         "is 'qwen3_next'"),
    Rule("state_speculative_archs", "0.17.0", None, None,
         "vllm/model_executor/layers/mamba/abstract.py: no speculative-decoding check from 0.17.0"),
    # -- compute capabilities (lowest, below) where an attention + state-space model whose
    #    attention head size is 256 gets its attention block aligned to 32, not 16
    #    (HybridAttentionMambaModelConfig: FlashInfer on Blackwell, flashinfer issue 1993), with no
    #    attention backend named (kvplan.engines.vllm VLLM.pool_paging). None: nowhere.
    Rule("hybrid_alignment_32", "0.8.0", "0.11.0", None,
         "vllm/model_executor/models/config.py HybridAttentionMambaModelConfig: attn_block_size = 16 x cdiv(...)"),
    Rule("hybrid_alignment_32", "0.11.1", "0.12.0", ((10, 0), (10, 1)),
         "vllm/model_executor/models/config.py HybridAttentionMambaModelConfig: is_device_capability(100) and "
         "get_head_size() == 256 -> kernel_block_alignment_size = 32 (0.12.0 :364-375)"),
    Rule("hybrid_alignment_32", "0.13.0", "0.17.1", ((10, 0), (11, 0)),
         "vllm/model_executor/models/config.py HybridAttentionMambaModelConfig: is_device_capability_family(100) "
         "and get_head_size() == 256 -> kernel_block_alignment_size = 32 (0.13.0 :364-375, 0.17.1)"),
    Rule("hybrid_alignment_32", "0.18.0", None, None,
         "vllm/model_executor/models/config.py HybridAttentionMambaModelConfig: 16 for every non-MLA attention "
         "(0.19.1 :217-218)"),
    # -- the recurrent (ssm) state's dtype of a state-space layer whose spec names none, by
    #    architecture: {architecture: dtype}. None: the model dtype whatever the HF config says
    #    (CacheConfig.mamba_ssm_cache_dtype "auto": MambaStateDtypeCalculator._mamba_state_dtype
    #    keeps it in the conv state's dtype, the model dtype; vllm/model_executor/layers/mamba/
    #    mamba_utils.py); a dtype: the HF config's mamba_ssm_cache_dtype, else that dtype.
    #    Architectures not named: the spec as it is (vLLM reads no config field for them).
    Rule("mamba_ssm_cache_dtype", "0.8.0", "0.12.0", {"NemotronHForCausalLM": None},
         "vllm/model_executor/models/config.py has no NemotronHForCausalLMConfig before 0.13.0: "
         "mamba_ssm_cache_dtype stays 'auto' (vllm/config/cache.py), the model dtype; the HF config's "
         "mamba_ssm_cache_dtype is not read (nemotron_h.py get_mamba_state_dtype_from_config reads cache_config)"),
    Rule("mamba_ssm_cache_dtype", "0.13.0", "0.19.1", {"NemotronHForCausalLM": "fp16"},
         "vllm/model_executor/models/config.py NemotronHForCausalLMConfig.verify_and_update_config (0.13.0 "
         ":493-510, 0.19.1 :483-500): 'auto' -> getattr(hf_config, 'mamba_ssm_cache_dtype', 'float16'); "
         "DEFAULT_MAMBA_SSM_CACHE_DTYPE 'float32' replaces the 'float16' only from 0.20.0 (:409-429)"),
    Rule("mamba_ssm_cache_dtype", "0.20.0", None, {"NemotronHForCausalLM": "fp32"},
         "vllm/model_executor/models/config.py NemotronHForCausalLMConfig.update_mamba_ssm_cache_dtype (0.20.0 "
         ":410-429): 'auto' -> getattr(hf_config, 'mamba_ssm_cache_dtype', DEFAULT_MAMBA_SSM_CACHE_DTYPE = "
         "'float32')"),
    # -- KV-cache dtypes --kv-cache-dtype accepts (vllm/config/cache.py: CacheDType)
    # -- the dtype the model runs in with --dtype auto (the default), by the config's torch_dtype and
    #    the GPU: "legacy" releases downcast a float32 config to fp16 (bf16 for the model types in
    #    fp32_to_bf16) and force bf16 for always_bf16; "fallback" then replaces a dtype the GPU cannot
    #    run by the platform's first (vllm/platforms/cuda.py supported_dtypes: bf16, fp16, fp32 from
    #    compute capability 8.0; fp16, fp32 below), without it vLLM refuses bf16 below 8.0
    #    (_check_if_gpu_supports_dtype, vllm/v1/worker/gpu_worker.py); "preferred" releases take the
    #    platform's first dtype the model type can run (no_fp16: model types vLLM never runs in fp16)
    #    for a float32 config and for one the GPU cannot run. The pooling-model branch is not modelled.
    Rule("auto_dtype", "0.8.0", "0.8.0",
         {"kind": "legacy", "fp32_to_bf16": ("gemma2", "gemma3", "gemma3_text"), "always_bf16": (),
          "fallback": False},
         "vllm/config.py: _get_and_verify_dtype (dtype == 'auto': float32 -> float16, 'For Gemma 2 and 3, we "
         "downcast float32 to bfloat16')"),
    Rule("auto_dtype", "0.8.1", "0.8.4", {"kind": "legacy", "fp32_to_bf16": (), "always_bf16": (), "fallback": False},
         "vllm/config.py: _get_and_verify_dtype ('Following common practice, we use float16 for float32 models')"),
    Rule("auto_dtype", "0.8.5", "0.8.5.post1",
         {"kind": "legacy", "fp32_to_bf16": (), "always_bf16": ("plamo2",), "fallback": False},
         "vllm/config.py: _get_and_verify_dtype (float32 -> float16; 'For PLaMo2, we cast models to bfloat16')"),
    Rule("auto_dtype", "0.9.0", "0.9.0.1",
         {"kind": "legacy", "fp32_to_bf16": (), "always_bf16": ("plamo2",), "fallback": True},
         "vllm/config.py: _get_and_verify_dtype (float32 -> float16, PLaMo2 bfloat16, then 'Falling back to %s "
         "for compatibility': current_platform.supported_dtypes[0])"),
    Rule("auto_dtype", "0.9.1", "0.10.1.1",
         {"kind": "preferred", "no_fp16": ("gemma2", "gemma3", "plamo2", "glm4")},
         "vllm/config.py (0.9.1-0.10.1.1 vllm/config/__init__.py): _resolve_auto_dtype, "
         "_FLOAT16_NOT_SUPPORTED_MODELS"),
    Rule("auto_dtype", "0.10.2", None,
         {"kind": "preferred", "no_fp16": ("gemma2", "gemma3", "gemma3_text", "plamo2", "glm4")},
         "vllm/config/__init__.py (0.11+: vllm/config/model.py): _resolve_auto_dtype, "
         "_FLOAT16_NOT_SUPPORTED_MODELS (gemma3_text added in 0.10.2)"),
    # -- the lowest compute capability the V1 engine starts on (kvplan models V1's memory only).
    #    Below it the release falls back to its V0 engine for every model and setting
    #    (_raise_or_fallback: 'Falling back to V0'). None: no such check (V0 is gone from 0.11.0).
    Rule("v1_min_capability", "0.8.0", "0.10.1.1", (8, 0),
         "vllm/engine/arg_utils.py: EngineArgs._is_v1_supported_oracle ('Compute Capability < 8.0', "
         "'Need at least Ampere for now (FA support required)')"),
    Rule("v1_min_capability", "0.10.2", None, None,
         "vllm/engine/arg_utils.py: _is_v1_supported_oracle has no compute capability check from 0.10.2"),
    # -- the compute capability a weight format's quantization method needs (its
    #    QuantizationConfig.get_min_capability; vLLM refuses the model below it). None: the release
    #    has no method for the format. Formats not named run everywhere vLLM does.
    Rule("weights_min_capability", "0.8.0", "0.10.0", {"fp8": (8, 0), "mxfp4": None},
         "vllm/model_executor/layers/quantization/fp8.py: Fp8Config.get_min_capability returns 80; no mxfp4.py "
         "before 0.10.1"),
    Rule("weights_min_capability", "0.10.1", "0.13.0", {"fp8": (8, 0), "mxfp4": (8, 0)},
         "vllm/model_executor/layers/quantization/fp8.py: get_min_capability 80; mxfp4.py: Mxfp4Config 80"),
    Rule("weights_min_capability", "0.14.0", None, {"fp8": (7, 5), "mxfp4": (8, 0)},
         "vllm/model_executor/layers/quantization/fp8.py: get_min_capability 75 from 0.14.0; mxfp4.py 80"),
    Rule("kv_cache_dtypes", "0.8.0", "0.9.2", ("auto", "fp8", "fp8_e4m3", "fp8_e5m2"),
         "vllm/config.py: CacheDType"),
    Rule("kv_cache_dtypes", "0.10.0", "0.10.2", ("auto", "fp8", "fp8_e4m3", "fp8_e5m2", "fp8_inc"),
         "vllm/config.py (0.10.0), vllm/config/cache.py: CacheDType"),
    Rule("kv_cache_dtypes", "0.11.0", "0.11.0", ("auto", "bfloat16", "fp8", "fp8_e4m3", "fp8_e5m2", "fp8_inc"),
         "vllm/config/cache.py: CacheDType"),
    Rule("kv_cache_dtypes", "0.11.1", "0.17.1",
         ("auto", "bfloat16", "fp8", "fp8_e4m3", "fp8_e5m2", "fp8_inc", "fp8_ds_mla"),
         "vllm/config/cache.py: CacheDType"),
    Rule("kv_cache_dtypes", "0.18.0", "0.19.1",
         ("auto", "float16", "bfloat16", "fp8", "fp8_e4m3", "fp8_e5m2", "fp8_inc", "fp8_ds_mla"),
         "vllm/config/cache.py: CacheDType"),
    # 0.20.0 adds turboquant_k8v4, turboquant_4bit_nc, turboquant_k3v4_nc, turboquant_3bit_nc,
    # int8_per_token_head, fp8_per_token_head and nvfp4 (KV_CACHE_DTYPES_NOT_MODELLED), whose pages
    # (kv_cache_interface.py AttentionSpec.page_size_bytes: per-token-head scales, nvfp4 packing) and
    # attention backends kvplan has not read: they are left out, so kvplan refuses them.
    # 0.25.0 adds int4_per_token_head (kv_cache_interface.py KVQuantMode.INT4_PER_TOKEN_HEAD: half the head
    # size a token, 0.25.0 AttentionSpec.real_page_size_bytes :188-202), left out likewise.
    Rule("kv_cache_dtypes", "0.20.0", None,
         ("auto", "float16", "bfloat16", "fp8", "fp8_e4m3", "fp8_e5m2", "fp8_inc", "fp8_ds_mla"),
         "vllm/config/cache.py: CacheDType (0.20.0 and 0.21.0 lines 22-38; 0.22.0 lines 18-34, the same values; "
         "0.25.0 lines 19-36), less KV_CACHE_DTYPES_NOT_MODELLED"),
    # -- the --kv-cache-dtype values the release takes that kvplan does not plan (named in the refusal)
    Rule("kv_cache_dtypes_unmodelled", "0.8.0", "0.19.1", (), "vllm/config/cache.py: CacheDType (every value planned)"),
    Rule("kv_cache_dtypes_unmodelled", "0.20.0", "0.24.0",
         tuple(d for d in KV_CACHE_DTYPES_NOT_MODELLED if d != "int4_per_token_head"),
         "vllm/config/cache.py: CacheDType (0.20.0 and 0.21.0 lines 22-38; 0.22.0 lines 18-34)"),
    Rule("kv_cache_dtypes_unmodelled", "0.25.0", "0.27.1", KV_CACHE_DTYPES_NOT_MODELLED,
         "vllm/config/cache.py: CacheDType (0.25.0 lines 19-36 add int4_per_token_head)"),
    # 0.28.0 adds nvfp4_4over6 (the NVFP4 page with a per-16-values choice of scale; kv_cache_interface.py
    # get_kv_quant_mode :88 maps every nvfp4* to KVQuantMode.NVFP4), left out likewise.
    Rule("kv_cache_dtypes_unmodelled", "0.28.0", "0.29.0", KV_CACHE_DTYPES_NOT_MODELLED + ("nvfp4_4over6",),
         "vllm/config/cache.py: CacheDType (0.28.0 lines 19-37 add nvfp4_4over6)"),
    # 0.30.0 adds nvfp4_ds_mla (an opaque 352-byte DeepSeek sparse-MLA token: mla_attention.py
    # MLAAttention.get_kv_cache_spec 0.30.0 :1347-1374), left out likewise.
    Rule("kv_cache_dtypes_unmodelled", "0.30.0", "0.31.0", KV_CACHE_DTYPES_NOT_MODELLED + ("nvfp4_4over6", "nvfp4_ds_mla"),
         "vllm/config/cache.py: CacheDType (0.30.0 lines 39-58 add nvfp4_ds_mla)"),
    # 0.32.0 adds ultraquant_4bit (TurboQuant's boundary skip layers, FlashAttention 2 forced), left out likewise.
    Rule("kv_cache_dtypes_unmodelled", "0.32.0", "0.32.0",
         KV_CACHE_DTYPES_NOT_MODELLED + ("nvfp4_4over6", "nvfp4_ds_mla", "ultraquant_4bit"),
         "vllm/config/cache.py: CacheDType (0.32.0 lines 39-59 add ultraquant_4bit)"),
    # 0.33.0 adds three Octave KV dtypes (ROCm AITER), left out likewise; plugin dtypes (register_kv_cache_dtype
    # :114-158) are names kvplan does not know.
    Rule("kv_cache_dtypes_unmodelled", "0.33.0", None,
         KV_CACHE_DTYPES_NOT_MODELLED + ("nvfp4_4over6", "nvfp4_ds_mla", "ultraquant_4bit", "octave_k3v4",
                                         "octave_k3v3", "octave_k3v3_compact"),
         "vllm/config/cache.py: CacheDType (0.33.0 lines 44-67 add octave_k3v4, octave_k3v3, octave_k3v3_compact)"),
    # -- whether an fp8 KV cache (fp8, fp8_e4m3, fp8_e5m2) starts under the V1 engine for a model
    #    without MLA, by compute capability: rows (lowest, below, verdict, why), the first row with
    #    lowest <= capability < below applies. "starts"; "v0": the V1 oracle falls back to the V0
    #    engine (_raise_or_fallback logs 'Falling back to V0'), whose memory kvplan does not model;
    #    "fails": the attention backend picked refuses it or cannot compile it; "unmodelled": the
    #    backend depends on an optional package. Default install (pip install vllm==X, no
    #    VLLM_ATTENTION_BACKEND): FlashInfer is an optional extra up to 0.11.0 and a dependency
    #    (flashinfer-python==0.5.2) from 0.11.1 (the wheels' Requires-Dist). e4m3 and e5m2 go the
    #    same way: the checks test kv_cache_dtype.startswith("fp8"). "flashinfer": FLASHINFER takes
    #    it when it supports the model's head size (rule flashinfer_head_sizes); else the backend
    #    selection goes on to the next backend (validate_configuration: "head_size not supported"),
    #    so the next row that covers the capability decides.
    Rule("flashinfer_head_sizes", "0.8.0", "0.8.4", None, "no V1 FlashInfer backend (vllm/v1/attention/backends)"),
    Rule("flashinfer_head_sizes", "0.8.5", "0.21.0", (64, 128, 256),
         "vllm/v1/attention/backends/flashinfer.py: FlashInferBackend.get_supported_head_sizes (the same list in "
         "every release 0.8.5-0.21.0), checked by AttentionBackend.validate_configuration / supports_head_size"),
    Rule("flashinfer_head_sizes", "0.22.0", None, (64, 128, 256, 512),
         "vllm/v1/attention/backends/flashinfer.py: FlashInferBackend.get_supported_head_sizes returns "
         "[64, 128, 256, 512] (0.22.0 :402-405)"),
    Rule("fp8_kv_start", "0.8.0", "0.8.1",
         (((0, 0), (99, 0), "v0", "vllm/engine/arg_utils.py _is_v1_supported_oracle: V1 takes no "
           "--kv-cache-dtype but auto ('No Fp8 KV cache so far')"),),
         "vllm/engine/arg_utils.py: EngineArgs._is_v1_supported_oracle"),
    Rule("fp8_kv_start", "0.8.2", "0.9.2",
         (((9, 0), (10, 0), "starts", "FLASH_ATTN, FlashAttention 3 (vllm/engine/arg_utils.py "
           "_is_v1_supported_oracle: flash_attn_supports_fp8)"),
          ((0, 0), (99, 0), "v0", "vllm/engine/arg_utils.py _is_v1_supported_oracle: flash_attn_supports_fp8 "
           "(FlashAttention 3, compute capability 9.x only) is false")),
         "vllm/engine/arg_utils.py: EngineArgs._is_v1_supported_oracle; fa_utils.py flash_attn_supports_fp8"),
    Rule("fp8_kv_start", "0.10.0", "0.10.2",
         (((9, 0), (10, 0), "starts", "FLASH_ATTN, FlashAttention 3 (vllm/platforms/cuda.py "
           "is_kv_cache_dtype_supported: flash_attn_supports_fp8)"),
          ((10, 0), (10, 1), "unmodelled", "vllm/platforms/cuda.py is_kv_cache_dtype_supported keeps 10.0 on V1, "
           "where get_attn_backend_cls picks FlashInfer only if the optional flashinfer package is installed "
           "(FLASH_ATTN refuses fp8 there)"),
          ((0, 0), (99, 0), "v0", "vllm/platforms/cuda.py is_kv_cache_dtype_supported (from "
           "vllm/engine/arg_utils.py _is_v1_supported_oracle) is false: FlashAttention 3 runs fp8 on 9.x only")),
         "vllm/engine/arg_utils.py: _is_v1_supported_oracle -> vllm/platforms/cuda.py is_kv_cache_dtype_supported"),
    Rule("fp8_kv_start", "0.11.0", "0.11.0",
         (((9, 0), (9, 1), "starts", "FLASH_ATTN, FlashAttention 3 (vllm/platforms/cuda.py get_attn_backend_cls)"),
          ((8, 9), (99, 0), "starts", "TRITON_ATTN (vllm/platforms/cuda.py get_attn_backend_cls: fp8 cache off 9.0)"),
          ((8, 0), (8, 9), "fails", "vllm/platforms/cuda.py get_attn_backend_cls picks TRITON_ATTN for an fp8 cache "
           "off 9.0, whose kernels read it as float8_e4m3fn (vllm/v1/attention/backends/triton_attn.py), a type "
           "Triton compiles only from compute capability 8.9 (vLLM refuses it there by name from 0.24.0)"),
          ((0, 0), (8, 0), "fails", "vllm/platforms/cuda.py get_attn_backend_cls picks FLEX_ATTENTION below 8.0, "
           "which raises 'FlexAttention does not support quantized kv-cache' "
           "(vllm/v1/attention/backends/flex_attention.py)")),
         "vllm/platforms/cuda.py: CudaPlatform.get_attn_backend_cls (use_fp8_kv_cache)"),
    Rule("fp8_kv_start", "0.11.1", "0.21.0",
         (((9, 0), (9, 1), "starts", "FLASH_ATTN, FlashAttention 3 (vllm/platforms/cuda.py _get_backend_priorities)"),
          ((7, 5), (12, 2), "flashinfer", "FLASHINFER (vllm/platforms/cuda.py _get_backend_priorities; "
           "FlashInferBackend.supports_compute_capability 7.5-12.1)"),
          ((8, 9), (99, 0), "starts", "TRITON_ATTN (vllm/platforms/cuda.py _get_backend_priorities)"),
          ((0, 0), (8, 9), "fails", "vllm/platforms/cuda.py _get_backend_priorities leaves TRITON_ATTN below 7.5 "
           "(FLASH_ATTN needs 8.0 and takes fp8 only as FlashAttention 3 on 9.x, FLASHINFER 7.5), and below 8.9 "
           "for a head size FLASHINFER does not take (FlashInferBackend.get_supported_head_sizes 64, 128, 256), "
           "whose kernels read the cache as float8_e4m3fn (vllm/v1/attention/backends/triton_attn.py), a type "
           "Triton compiles only from compute capability 8.9 (vLLM refuses it there by name from 0.24.0)")),
         "vllm/platforms/cuda.py: _get_backend_priorities, AttentionBackend.validate_configuration"),
    Rule("fp8_kv_start", "0.22.0", None,
         (((9, 0), (9, 1), "starts", "FLASH_ATTN, FlashAttention 3, for fp8 and fp8_e4m3 (vllm/platforms/cuda.py "
           "_get_backend_priorities; flash_attn.py supports_kv_cache_dtype 0.22.0 :183-193); fp8_e5m2 goes on to "
           "FLASHINFER or TRITON_ATTN (supported_kv_cache_dtypes), which start it on 9.0 too"),
          ((7, 5), (12, 2), "flashinfer", "FLASHINFER (vllm/platforms/cuda.py _get_backend_priorities; "
           "FlashInferBackend.supports_compute_capability 7.5-12.1)"),
          ((8, 9), (99, 0), "starts", "TRITON_ATTN (vllm/platforms/cuda.py _get_backend_priorities)"),
          ((0, 0), (8, 9), "fails", "vllm/platforms/cuda.py _get_backend_priorities leaves TRITON_ATTN below 7.5 "
           "(FLASH_ATTN needs 8.0 and takes fp8 only as FlashAttention 3 on 9.x, FLASHINFER 7.5), and below 8.9 "
           "for a head size FLASHINFER does not take (FlashInferBackend.get_supported_head_sizes 64, 128, 256, 512), "
           "whose kernels read the cache as float8_e4m3fn (vllm/v1/attention/backends/triton_attn.py), a type "
           "Triton compiles only from compute capability 8.9 (vLLM refuses it there by name from 0.24.0)")),
         "vllm/platforms/cuda.py: _get_backend_priorities, AttentionBackend.validate_configuration"),
    # -- the same question for a model with MLA layers (DeepSeek-V2/V3, use_mla), whose caches go
    #    to the MLA backends (vllm/v1/attention/backends/mla/*.py); value: {format: rows}, rows as in
    #    fp8_kv_start. DeepSeek sparse attention (DeepSeek-V3.2) stores fp8 as fp8_ds_mla and is not
    #    checked here. FlashMLA is in every wheel (vllm/_flashmla_C.abi3.so in vllm-0.8.2, 0.10.2,
    #    0.11.0, 0.11.1 and 0.19.1 manylinux x86_64) and runs on 9.x only (is_flashmla_supported).
    Rule("fp8_kv_start_mla", "0.8.0", "0.8.1",
         {f: _MLA_V0_ALL for f in ("fp8_e4m3", "fp8_e5m2")},
         "vllm/engine/arg_utils.py: EngineArgs._is_v1_supported_oracle (applies to MLA models too)"),
    Rule("fp8_kv_start_mla", "0.8.2", "0.9.2",
         {f: _MLA_FLASHMLA_REFUSES_V0_ELSEWHERE for f in ("fp8_e4m3", "fp8_e5m2")},
         "vllm/engine/arg_utils.py: _is_v1_supported_oracle; vllm/platforms/cuda.py get_attn_backend_cls (use_mla); "
         "vllm/v1/attention/backends/mla/flashmla.py FlashMLAImpl"),
    Rule("fp8_kv_start_mla", "0.10.0", "0.10.1.1",
         {f: _MLA_10_0_REFUSES + _MLA_FLASHMLA_REFUSES_V0_ELSEWHERE for f in ("fp8_e4m3", "fp8_e5m2")},
         "vllm/platforms/cuda.py: is_kv_cache_dtype_supported (no model_config before 0.10.2), "
         "get_attn_backend_cls (use_mla)"),
    Rule("fp8_kv_start_mla", "0.10.2", "0.11.0",
         {f: _MLA_FLASHMLA_CUTLASS_TRITON for f in ("fp8_e4m3", "fp8_e5m2")},
         "vllm/platforms/cuda.py: is_kv_cache_dtype_supported (model_config.use_mla: 'Only FlashMLA and "
         "CUTLASS_MLA support fp8'), get_attn_backend_cls (use_mla)"),
    Rule("fp8_kv_start_mla", "0.11.1", "0.14.1",
         {"fp8_e4m3": (_MLA_FLASHMLA_9X, (((10, 0), (11, 0), "starts", "CUTLASS_MLA (vllm/platforms/cuda.py "
                                            "_get_backend_priorities, first for major 10)")),
                       _MLA_TRITON_AUTO_ONLY),
          "fp8_e5m2": (_MLA_NO_E5M2,)},
         "vllm/platforms/cuda.py: _get_backend_priorities (use_mla); the MLA backends' supported_kv_cache_dtypes"),
    Rule("fp8_kv_start_mla", "0.15.0", "0.17.1",
         {"fp8_e4m3": (_MLA_FLASHMLA_9X, _MLA_FLASHINFER_10X, _MLA_TRITON_AUTO_ONLY),
          "fp8_e5m2": (_MLA_NO_E5M2,)},
         "vllm/platforms/cuda.py: _get_backend_priorities (use_mla); the MLA backends' supported_kv_cache_dtypes"),
    Rule("fp8_kv_start_mla", "0.18.0", None,
         {"fp8_e4m3": (_MLA_FLASHMLA_9X, _MLA_FLASHINFER_10X,
                       ((8, 9), (99, 0), "starts", "TRITON_MLA (vllm/platforms/cuda.py _get_backend_priorities; "
                        "triton_mla.py supported_kv_cache_dtypes has fp8 from 0.18.0)"),
                       ((0, 0), (8, 9), "fails", "vllm/platforms/cuda.py _get_backend_priorities leaves TRITON_MLA "
                        "off 9.x and 10.x (FLASH_ATTN_MLA, FLASHMLA and FLASHINFER_MLA refuse the capability), whose "
                        "decode kernel reads the cache as float8_e4m3fn (vllm/v1/attention/ops/"
                        "triton_decode_attention.py), a type Triton compiles only from compute capability 8.9")),
          "fp8_e5m2": (_MLA_NO_E5M2,)},
         "vllm/platforms/cuda.py: _get_backend_priorities (use_mla); the MLA backends' supported_kv_cache_dtypes"),
    # ---- model attention features (sliding window, attention sinks): rules fp8_kv_start_sinks and
    #      attention_features_start, read by kvplan.engines.vllm VLLM.check_attention_features /
    #      check_kv_on_gpu; checked against each release by benchmarks/check_vllm_rules.py ----
    # -- whether a model with these attention features starts at all, any --kv-cache-dtype:
    #    {feature: rows}, rows as in fp8_kv_start (the first row with lowest <= capability < below
    #    applies). Features: "sinks" (ModelSpec.attention_sinks, gpt-oss), "sliding_window" (a
    #    SlidingWindow layer: Mistral-7B-v0.1, Gemma-2/3, gpt-oss, Phi-3), "softcap"
    #    (ModelSpec.attn_logit_softcapping: Gemma-2) and "softcap_fp32" (that model served in
    #    float32, which 0.9.2-0.11.0 run on FlexAttention alone), "fp32" (any model served in
    #    float32: V0 up to 0.9.1) and "sliding_window_fp32" (FlexAttention refuses windows up to
    #    0.10.2). A GPU without a known compute capability is checked only against rows covering
    #    every capability.
    Rule("attention_features_start", "0.8.0", "0.9.1",
         {"sinks": _SINKS_NONE, "sliding_window": _SW_STARTS, "softcap": _SOFTCAP_STARTS,
          "softcap_fp32": _FP32_V0, "fp32": _FP32_V0, "sliding_window_fp32": _FP32_V0},
         "vllm/attention/layer.py: Attention.__init__ (no sinks); vllm/v1/attention/backends/flash_attn.py "
         "FlashAttentionImpl (sliding_window, logits_soft_cap)"),
    Rule("attention_features_start", "0.9.2", "0.10.0",
         {"sinks": _SINKS_NONE, "sliding_window": _SW_STARTS, "softcap": _SOFTCAP_STARTS,
          "softcap_fp32": _SOFTCAP_FP32_FLEX, "fp32": _FP32_FLEX, "sliding_window_fp32": _SW_FP32_FLEX},
         "vllm/platforms/cuda.py: get_attn_backend_cls ('FP32 is only supported by FlexAttention')"),
    Rule("attention_features_start", "0.10.1", "0.10.1.1",
         {"sinks": _SINKS_10_0_UNCHECKED, "sliding_window": _SW_STARTS, "softcap": _SOFTCAP_STARTS,
          "softcap_fp32": _SOFTCAP_FP32_FLEX, "fp32": _FP32_FLEX, "sliding_window_fp32": _SW_FP32_FLEX},
         "vllm/platforms/cuda.py: get_attn_backend_cls (has_sink)"),
    Rule("attention_features_start", "0.10.2", "0.10.2",
         {"sinks": _SINKS_10_0_RAISES,
          "sliding_window": (((0, 0), (8, 0), "fails", "vllm/platforms/cuda.py get_attn_backend_cls picks "
                              "FLEX_ATTENTION below 8.0, which raises 'FlexAttention does not support sliding window "
                              "yet.' (vllm/v1/attention/backends/flex_attention.py FlexAttentionImpl)"),) + _SW_STARTS,
          "softcap": _SOFTCAP_FLEX_BELOW_8, "softcap_fp32": _SOFTCAP_FP32_FLEX, "fp32": _FP32_FLEX,
          "sliding_window_fp32": _SW_FP32_FLEX},
         "vllm/platforms/cuda.py: get_attn_backend_cls (FlexAttention is the default for older GPUs)"),
    Rule("attention_features_start", "0.11.0", "0.11.0",
         {"sinks": _SINKS_10_0_RAISES, "sliding_window": _SW_STARTS, "softcap": _SOFTCAP_FLEX_BELOW_8,
          "softcap_fp32": _SOFTCAP_FP32_FLEX, "fp32": _FP32_FLEX, "sliding_window_fp32": _SW_FP32_FLEX_STARTS},
         "vllm/platforms/cuda.py: get_attn_backend_cls (has_sink); vllm/v1/attention/backends/flex_attention.py "
         "FlexAttentionImpl keeps self.sliding_window from 0.11.0 and still refuses logits_soft_cap"),
    Rule("attention_features_start", "0.11.1", None,
         {"sinks": (((0, 0), (99, 0), "starts", "TRITON_ATTN (supports_sink True, every compute capability) "
                     "where FLASH_ATTN (FlashAttention 3, 9.x) and FLASHINFER (TRTLLM on 10.x only) refuse sinks "
                     "(vllm/platforms/cuda.py _get_backend_priorities)"),),
          "sliding_window": _SW_STARTS,
          "softcap": _SOFTCAP_TRITON_BEFORE_FLEX, "softcap_fp32": _SOFTCAP_TRITON_BEFORE_FLEX, "fp32": _FP32_TRITON,
          "sliding_window_fp32": _FP32_TRITON},
         "vllm/platforms/cuda.py: _get_backend_priorities, AttentionBackend.validate_configuration (has_sink)"),
    # -- compute capabilities whose attention-backend choice changed in a way kvplan has not re-read:
    #    None (all read), else {"any": ranges [lowest, below) for every model, "mla": ranges for MLA
    #    models}, each a tuple of ranges; VLLM.check_gpu / check_kv_on_gpu refuse them (FINDINGS_h30_v24.md).
    Rule("attention_backends_unread", "0.8.0", "0.23.0", None,
         "the attention rules above (attention_features_start, fp8_kv_start*, mla_block_size) read them"),
    Rule("attention_backends_unread", "0.24.0", "0.24.0",
         {"any": (((0, 0), (8, 0)),), "mla": (((12, 0), (13, 0)),)},
         "vllm/v1/attention/backends/flashinfer.py FlashInferBackend.supports_compute_capability (0.24.0 :426-434) "
         "raises the floor from 7.5 to 8.0 (flashinfer issue 3620), which moves the backend (fp8, sinks, soft-cap "
         "verdicts) and the sampler (topk_topp_sampler.py flashinfer_sampler_supported :21-67 asks the same test: no "
         "FlashInfer call below 8.0) on 7.x; vllm/platforms/cuda.py _get_backend_priorities (0.24.0 :84-159) gives "
         "MLA models on major 12 their own list (TRITON_MLA, FLASHINFER_MLA_SPARSE_SM120). Not re-read"),
    # 0.25.0 (FINDINGS_h30_v25.md): as 0.24.0 (supports_compute_capability :442-450 unchanged), and MLA models
    # where TRITON_MLA is picked (8.x: _get_backend_priorities :83-159 lists FLASH_ATTN_MLA, FLASHMLA and
    # FLASHINFER_MLA first, which take 9.x / 10.x only) gain a decode workspace the metadata builder reserves
    # after the pool is sized: TritonMLAMetadataBuilder._reserve_attn_logits_workspace (mla/triton_mla.py
    # :57-76), max_num_seqs x heads x splits (up to 2 x SMs) x (kv_lora_rank + 1) float32 from the shared
    # WorkspaceManager -- gigabytes at long max_model_len, taken outside the pool kvplan plans. Not modelled.
    Rule("attention_backends_unread", "0.25.0", None,
         {"any": (((0, 0), (8, 0)),), "mla": (((8, 0), (9, 0)), ((12, 0), (13, 0)))},
         "as 0.24.0 (flashinfer.py FlashInferBackend.supports_compute_capability 0.25.0 :442-450, cuda.py "
         "_get_backend_priorities :83-159), plus TRITON_MLA on 8.x: mla/triton_mla.py TritonMLAMetadataBuilder."
         "_reserve_attn_logits_workspace (0.25.0 :57-76) reserves max_num_seqs x heads x min(next_pow2(max_model_len "
         "// 512), 2 x SMs) x (kv_lora_rank + 1) float32 after the KV pool is sized. Not modelled"),
    # -- whether kvplan has read the release's MLA layer (its profile forward and weight processing) for a
    #    model with MLA attention; False: refused (kvplan.engines.vllm VLLM.check_kv_on_gpu).
    #    0.26.0 (FINDINGS_h31_v26moe.md) splits vllm/model_executor/layers/attention/mla_attention.py's
    #    MLACommonImpl into MLACommonBaseImpl (:2085-, the dense-MHA prefill: forward_mha, the
    #    prefill-context helpers, _concat_k_nope_k_pe moved there) and MLACommonImpl (:2519-); read against
    #    0.25.1 for what the profile run holds: nothing new (see the 0.26.0 row).
    Rule("mla_forward_read", "0.8.0", "0.25.1", True,
         "the MLA rules above (mla_kv_b_dequantized_copy, mla_block_size, fp8_kv_start_mla) read it"),
    Rule("mla_forward_read", "0.26.0", "0.26.0", True,
         "vllm/model_executor/layers/attention/mla_attention.py (0.26.0; 0.25.1 lines after the slash): the profile "
         "run builds no attention metadata, so MLAAttention.forward_impl (:672-946 / :624-873) takes its "
         "attn_metadata-None branch (:706-724 / :658-676), unchanged: one transient chunked_prefill_workspace_size "
         "x heads x (qk_nope + v) tensor (MLACommonMetadataBuilder.determine_chunked_prefill_workspace_size "
         ":1688-1716 / :1423-1451, AST-identical) and a zero-filled output; MLAAttention.forward (:589-670 / "
         ":553-622) adds the prefill-context-parallel gather (layers/attention/pcp.py "
         "maybe_gather_mla_latent_cache_inputs :48-66, a no-op without it); process_weights_after_loading "
         "(:948-1046 / :875-973) registers W_UV / W_UK_T through model_executor/utils.py replace_parameter "
         "(:47-95: no parameter of that name before, so nn.Parameter over the same view, no copy) where 0.25.1 "
         "assigned the views: the dequantized kv_b copy of rule mla_kv_b_dequantized_copy, nothing more; "
         "MLAAttention.__init__ (:360-577 / :353-541) honours kv_cache_dtype_skip_layers (refused as an unknown "
         "flag) and builds no prefill backend only for sparse MLA (DeepSeek sparse attention, refused); "
         "MLACommonImpl.__init__ (:2533-2593) sets the same attributes through MLACommonBaseImpl.__init__ "
         "(:2094-2118); the moved forward_mha (:2431-2516 / :2344-2425) slices the outputs to v_head_dim (views) "
         "and _compute_prefill_context adds fp8_ds_mla and empty-context branches; MLACommonMetadataBuilder "
         "(:1761-2009) is built after the pool is sized; get_kv_cache_spec passes the layer's own cache dtype "
         "(the same pages, rule paging)"),
    # 0.27.0 (FINDINGS_h31_v27moe.md): read against 0.26.0; what changed is decode-context-parallel query
    # replication (refused), DeepSeek sparse attention's masked-MHA prefill (refused) and layers/mla.py's
    # order (the query projection after kv_a_layernorm: the same tensors alive once both ran).
    Rule("mla_forward_read", "0.27.0", "0.27.1", True,
         "vllm/model_executor/layers/attention/mla_attention.py (0.27.0; 0.26.0 lines after the slash): "
         "MLAAttention.forward_impl (:687-992 / :672-946) keeps the attn_metadata-None branch of the profile run "
         "(:722-741 / :706-724) as it was: one transient chunked_prefill_workspace_size x heads x (qk_nope + v) "
         "tensor (MLACommonMetadataBuilder.determine_chunked_prefill_workspace_size :1803-1831, AST-identical) and a "
         "zero-filled output; the rest (q_dcp_replicated, _use_masked_mha :1547- for sparse MLA) runs with metadata "
         "only; MLAAttention.forward (:601-685) passes q_dcp_replicated (None without decode context parallelism, "
         "refused); process_weights_after_loading (:994-1111 / :948-1046) adds W_UK_T_dcp_qrep only under "
         "dcp_q_replicate (the kv_b dequantized copy of rule mla_kv_b_dequantized_copy as before); __init__ "
         "(:361-589 / :360-577) asks get_mla_prefill_backend for dense MLA as before (a prefill backend may be None "
         "only for sparse MLA); get_kv_cache_spec (:1140-1152) adds non_causal_multi_token_decode (False; the same "
         "pages); MLACommonBaseImpl / MLACommonImpl __init__, forward_mha, unified_mla_kv_cache_update AST-identical; "
         "MLACommonMetadataBuilder (:1876-2159) is built after the pool is sized. layers/mla.py "
         "MultiHeadLatentAttentionWrapper.forward (:150-226) runs q_proj / q_b_proj after kv_a_layernorm instead "
         "of before (the same tensors alive once both ran; the bf16 projection allocates only its output, "
         "the fp8 block one also its fp8 input copy, now beside the [T, kv_lora_rank] normed latent: still below "
         "the same layer's forward_impl moment, where the output and the chunked-prefill tensor are alive instead), and "
         "multiplies by a g_proj gate only where MLAModules has one (None for DeepSeek); MLA decode backends on 9.x "
         "(flashattn_mla.py, flashmla.py, cutlass_mla.py) byte-identical"),
    Rule("mla_forward_read", "0.28.0", "0.28.0", True,
         "vllm/model_executor/layers/attention/mla_attention.py (0.28.0, read against 0.27.1): MLAAttention.forward_impl "
         "(:722-1022) keeps the attn_metadata-None branch of the profile run (:757-776): one transient "
         "chunked_prefill_workspace_size x heads x (qk_nope + v) tensor and a zero-filled output; "
         "MLACommonMetadataBuilder.determine_chunked_prefill_workspace_size (:1995-2020) now ends in "
         "align_mla_chunked_context_workspace_size (:1729-1741: round up to the block size, lcm with DCP) instead "
         "of max(..., max_num_seqs x block_size): the same 65,536 tokens where the 64 Ki cap binds, never more "
         "where it does not than min(max(8 x max_model_len, 4 x max_num_seqs x block), 64 Ki) rounded to a block; "
         "MLAAttention.forward (:644-720) drops the deprecated calculate_kv_scales call; __init__ (:393-632) takes "
         "a sliding_window (SlidingWindowMLA, DeepSeek-V4 only: no dense-MLA model passes one, layers/mla.py "
         "byte-identical) and builds an MLADCPManager only with decode context parallelism (refused); "
         "process_weights_after_loading (:1024-1141) AST-identical; get_kv_cache_spec (:1146-1169) builds the same "
         "MLAAttentionSpec (state_content_bytes only for fp8_ds_mla); flashattn_mla.py, flashmla.py, cutlass_mla.py "
         "byte-identical"),
    Rule("mla_forward_read", "0.29.0", None, True,
         "vllm/model_executor/layers/attention/mla_attention.py (0.29.0, read against 0.28.0): MLAAttention.forward "
         "(:666-742) AST-identical; forward_impl (:744-1046) keeps the attn_metadata-None profile branch (:779-798) "
         "as 0.28.0's, its changes (the sparse-MHA choice _use_sparse_mha, a CPU AMX bmm, DCP sequence lengths) "
         "after it; __init__ (:404-650) adds the CPU AMX flag and a sparse dense-MHA test; "
         "process_weights_after_loading (:1073-1202) returns early only for the CPU AMX impl; "
         "MLACommonMetadataBuilder.determine_chunked_prefill_workspace_size (:2158-2183) and get_kv_cache_spec "
         "(:1207-1230) AST-identical"),
    # -- the MLA dimensions (qk_nope_head_dim, qk_rope_head_dim, v_head_dim) the dense-MHA MLA prefill takes:
    #    None: any (FlashAttnPrefillBackend had no supported_mla_dimensions up to 0.25.1); else
    #    {"every": dims FlashAttention's prefill takes on any FlashAttention version, "not_fa4": dims it takes
    #    except under FlashAttention 4 (on Blackwell, 10.x, whether FA4 is installed decides: 0.26.0),
    #    "not_blackwell": dims FlashAttention takes everywhere but which the selector sends to the TRT-LLM
    #    ragged prefill first on 10.x (0.27.0)}. Other dims:
    #    on Hopper and every other non-10.x GPU the selector has FLASH_ATTN alone, so vLLM raises; on 10.x the
    #    selector goes on to TRT-LLM ragged / FlashInfer / TokenSpeed prefill, not read (VLLM.check_mla_prefill).
    Rule("mla_prefill_dimensions", "0.8.0", "0.25.1", None,
         "vllm/v1/attention/backends/mla/prefill/flash_attn.py (0.25.1): FlashAttnPrefillBackend leaves "
         "supported_mla_dimensions empty (base.py :44), so MLAPrefillBackend.validate_configuration (:70-99) takes "
         "any dims"),
    Rule("mla_prefill_dimensions", "0.26.0", "0.26.0",
         {"every": ((128, 64, 128), (64, 64, 128)), "not_fa4": ((192, 64, 256),)},
         "vllm/v1/attention/backends/mla/prefill/flash_attn.py FlashAttnPrefillBackend.supports_mla_dimensions "
         "(0.26.0 :55-75): DeepSeek (128, 64, 128), GLM (192, 64, 256), Mistral S4 (64, 64, 128), under "
         "FlashAttention 4 DeepSeek and Mistral S4 only; base.py validate_configuration (:77-111) asks it; "
         "selector.py _get_mla_prefill_backend_priorities (:48-77): FLASH_ATTN alone off Blackwell (ROCm: "
         "ROCM_AITER_FA first), then TRTLLM_RAGGED, FLASHINFER, TOKENSPEED_MLA on 10.x; get_mla_prefill_backend "
         "raises ValueError when none is valid (:193), which MLAAttention.__init__ (mla_attention.py :516-523) "
         "re-raises "
         "for dense MLA; v1/attention/backends/fa_utils.py get_flash_attn_version (:132-262): FA3 on 9.x, FA4 on "
         "10.x where installed, else FA2"),
    Rule("mla_prefill_dimensions", "0.27.0", "0.27.1",
         {"every": ((128, 64, 128), (64, 64, 128)), "not_blackwell": ((192, 64, 256),)},
         "vllm/v1/attention/backends/mla/prefill/flash_attn.py FlashAttnPrefillBackend.supports_mla_dimensions "
         "(0.27.0 :290-307): DeepSeek (128, 64, 128), GLM (192, 64, 256), Mistral S4 (64, 64, 128) under every "
         "FlashAttention version (FA4 no longer drops GLM); selector.py _get_mla_prefill_backend_priorities (:48-90): "
         "FLASH_ATTN alone off Blackwell (ROCm: ROCM_AITER_FA, FLASH_ATTN), on 10.x FLASH_ATTN first except for "
         "GLM's dims, which put TRTLLM_RAGGED first (:69-80, not read); _auto_select_mla_prefill_backend (:160-211) "
         "raises ValueError when none is valid, which MLAAttention.__init__ re-raises for dense MLA"),
    Rule("mla_prefill_dimensions", "0.28.0", "0.29.0", {"every": ((128, 64, 128), (64, 64, 128)), "not_blackwell": ((192, 64, 256),)},
         "vllm/v1/attention/backends/mla/prefill/flash_attn.py FlashAttnPrefillBackend.supports_mla_dimensions "
         "(0.28.0 :313-330) AST-identical; prefill/selector.py byte-identical to 0.27.1"),
    # 0.30.0 adds GLM5Next's NoPE layout (256, 0, 256) to FlashAttention's list; the Blackwell order puts
    # FLASH_ATTN first for every shape but (192, 64, 256), so it is taken on 10.x too.
    Rule("mla_prefill_dimensions", "0.30.0", None,
         {"every": ((128, 64, 128), (64, 64, 128), (256, 0, 256)), "not_blackwell": ((192, 64, 256),)},
         "vllm/v1/attention/backends/mla/prefill/flash_attn.py FlashAttnPrefillBackend.supports_mla_dimensions "
         "(0.30.0 :313-337, the same list through 0.33.0): (256, 0, 256) added, 'GLM5Next NoPE layout'; "
         "Blackwell order: prefill/selector.py _get_mla_prefill_backend_priorities (0.30.0 :48-92, 0.31.0), "
         "moved to platforms/interface.py Platform.get_mla_prefill_backend_cls (0.32.0 :435-, order :462-481; 0.33.0 the same): "
         "TRTLLM_RAGGED first for (192, 64, 256) only"),
    # -- fp8_kv_start for a model with attention sinks (gpt-oss); None: as fp8_kv_start. From 0.11.1
    #    FLASHINFER, which fp8_kv_start picks on 7.5-8.8, takes sinks only through TRTLLM on the SM100
    #    family (flashinfer.py FlashInferBackend.supports_sink), so such a model falls to TRITON_ATTN.
    #    Before 0.11.1 the backends chosen for an fp8 cache take sinks (FLASH_ATTN: FlashAttention 3
    #    on 9.0) or attention_features_start refuses the GPU already (10.0 in 0.10.1-0.11.0).
    Rule("fp8_kv_start_sinks", "0.8.0", "0.11.0", None,
         "vllm/platforms/cuda.py: get_attn_backend_cls picks FLASH_ATTN on 9.0 with sinks or fp8 "
         "(FlashAttentionImpl asserts 'Sinks are only supported in FlashAttention 3', which 9.0 runs)"),
    Rule("fp8_kv_start_sinks", "0.11.1", None,
         (((9, 0), (9, 1), "starts", "FLASH_ATTN, FlashAttention 3 (vllm/platforms/cuda.py _get_backend_priorities; "
           "flash_attn.py supports_sink: flash_attn_supports_sinks)"),
          ((8, 9), (99, 0), "starts", "TRITON_ATTN, or FLASHINFER with TRTLLM on 10.x (vllm/platforms/cuda.py "
           "_get_backend_priorities; triton_attn.py supports_sink True)"),
          ((0, 0), (8, 9), "fails", "vllm/platforms/cuda.py _get_backend_priorities leaves TRITON_ATTN for an fp8 "
           "cache with sinks below 8.9 (FLASH_ATTN takes fp8 only with FlashAttention 3 on 9.x; FLASHINFER "
           "supports_sink only with TRTLLM on the SM100 family, vllm/v1/attention/backends/flashinfer.py), whose "
           "kernels read the cache as float8_e4m3fn (vllm/v1/attention/backends/triton_attn.py), a type Triton "
           "compiles only from compute capability 8.9")),
         "vllm/platforms/cuda.py: _get_backend_priorities; flashinfer.py FlashInferBackend.supports_sink "
         "(supports_trtllm_attention)"),
    # ---- end of model attention features
    # -- FlashInfer's fused all-reduce + residual add + RMSNorm (kvplan.speed; VLLM.allreduce_rms_fusion).
    #    None: no pass_config.fuse_allreduce_rms in the release. Otherwise {"default_capabilities":
    #    the (lowest, below) compute-capability ranges where the default optimization level (O2) turns
    #    it on, given tp > 1, dp 1, pp 1 and CUDA with FlashInfer installed (); none: off unless
    #    asked; "max_bytes": FI_ALLREDUCE_FUSION_MAX_SIZE_MB in bytes by exact capability, then tp
    #    (read by PassConfig.flashinfer_max_size: tp 2, 4, 8 only, CUDA only, else None and
    #    AllReduceFusionPass disables itself, as it does at tp 1)}. An all-reduce of T tokens runs
    #    fused when T <= max_token_num = max_bytes // (hidden x dtype bytes), capped by
    #    max_num_batched_tokens (AllReduceFusionPass.__init__), i.e. when its bytes <= max_bytes.
    Rule("allreduce_rms_fusion", "0.8.0", "0.9.2", None,
         "vllm/config.py: PassConfig has no FlashInfer all-reduce fusion (no AllReduceFusionPass in "
         "vllm/compilation/ before 0.10.0)"),
    Rule("allreduce_rms_fusion", "0.10.0", "0.11.2", None,
         "vllm/config.py (0.10.x), vllm/config/compilation.py: PassConfig.enable_fi_allreduce_fusion (default "
         "False; vllm/compilation/pass_manager.py PostGradPassManager.configure), not fuse_allreduce_rms; sizes "
         "from _FI_MAX_SIZES and fi_allreduce_fusion_max_token_num up to 0.11.0 (vllm/compilation/"
         "collective_fusion.py). kvplan does not model this option"),
    Rule("allreduce_rms_fusion", "0.12.0", "0.16.0", {"default_capabilities": (), "max_bytes": _FI_MAX_BYTES},
         "vllm/config/compilation.py: PassConfig.fuse_allreduce_rms (0.12.0 renames enable_fi_allreduce_fusion); "
         "vllm/config/vllm.py OPTIMIZATION_LEVEL_00..03 set \"fuse_allreduce_rms\": False; sizes "
         "FI_ALLREDUCE_FUSION_MAX_SIZE_MB in vllm/compilation/collective_fusion.py (0.16.0: "
         "vllm/compilation/passes/fusion/allreduce_rms_fusion.py) via PassConfig.flashinfer_max_size"),
    Rule("allreduce_rms_fusion", "0.17.0", "0.18.1",
         {"default_capabilities": (((9, 0), (9, 1)), ((10, 0), (10, 1))), "max_bytes": _FI_MAX_BYTES},
         "vllm/config/vllm.py: OPTIMIZATION_LEVEL_02/03 set fuse_allreduce_rms to enable_allreduce_rms_fusion "
         "(optimization_level defaults to O2): tensor_parallel_size > 1, is_cuda(), has_flashinfer() "
         "(flashinfer-python==0.6.4 is a Requires-Dist of the 0.17.0 wheel), is_device_capability(100) or "
         "is_device_capability(90), data_parallel_size == 1, pipeline_parallel_size == 1; sizes "
         "vllm/compilation/passes/fusion/allreduce_rms_fusion.py FI_ALLREDUCE_FUSION_MAX_SIZE_MB"),
    Rule("allreduce_rms_fusion", "0.19.0", "0.20.2",
         {"default_capabilities": (((9, 0), (9, 1)), ((10, 0), (11, 0))), "max_bytes": _FI_MAX_BYTES_SM103},
         "vllm/config/vllm.py: enable_allreduce_rms_fusion as 0.17.0 but is_device_capability_family(100) "
         "(any 10.x; vllm/platforms/interface.py) or is_device_capability(90) (flashinfer-python==0.6.6 a "
         "Requires-Dist of the 0.19.1 wheel); FI_ALLREDUCE_FUSION_MAX_SIZE_MB "
         "(vllm/compilation/passes/fusion/allreduce_rms_fusion.py) adds capability 103 (2: 64, 4: 64, 8: 2 MB); "
         "other 10.x parts get no size, so the pass disables itself there"),
    # 0.21.0 drops the dp 1 / pp 1 conditions ("single_dp_pp": False; absent: True).
    Rule("allreduce_rms_fusion", "0.21.0", "0.22.1",
         {"default_capabilities": (((9, 0), (9, 1)), ((10, 0), (11, 0))), "max_bytes": _FI_MAX_BYTES_SM103,
          "single_dp_pp": False},
         "vllm/config/vllm.py enable_allreduce_rms_fusion (0.21.0 :119-139): tensor_parallel_size > 1, is_cuda(), "
         "has_flashinfer(), is_device_capability_family(100) or is_device_capability(90); no data_parallel_size "
         "or pipeline_parallel_size test; FI_ALLREDUCE_FUSION_MAX_SIZE_MB as 0.19.0 (allreduce_rms_fusion.py :66-82)"),
    # 0.23.0 tests pipeline_parallel_size == 1 again, not data_parallel_size ("single_pp": True), and adds
    # Gemma-style (weight + 1 in float32) RMSNorm patterns to the pass (AllReduceGemmaRMSNormPattern and
    # AllReduceFusedAddGemmaRMSNormPattern, allreduce_rms_fusion.py :447-565), so Gemma models fuse as
    # others do, which kvplan's speed model assumes of every model.
    Rule("allreduce_rms_fusion", "0.23.0", "0.23.0",
         {"default_capabilities": (((9, 0), (9, 1)), ((10, 0), (11, 0))), "max_bytes": _FI_MAX_BYTES_SM103,
          "single_dp_pp": False, "single_pp": True},
         "vllm/config/vllm.py enable_allreduce_rms_fusion (0.23.0 :129-156): tensor_parallel_size > 1, "
         "pipeline_parallel_size == 1 ('Gated off for PP > 1'), is_cuda(), has_flashinfer(), "
         "is_device_capability_family(100) or is_device_capability(90); no data_parallel_size test; "
         "FI_ALLREDUCE_FUSION_MAX_SIZE_MB as 0.19.0"),
    # 0.24.0 drops the pipeline_parallel_size == 1 test again (as 0.21.0-0.22.1).
    Rule("allreduce_rms_fusion", "0.24.0", "0.24.0",
         {"default_capabilities": (((9, 0), (9, 1)), ((10, 0), (11, 0))), "max_bytes": _FI_MAX_BYTES_SM103,
          "single_dp_pp": False},
         "vllm/config/vllm.py enable_allreduce_rms_fusion (0.24.0 :131-151, docstring 'Enable if TP > 1 and "
         "Hopper/Blackwell and flashinfer installed'): tensor_parallel_size > 1, is_cuda(), has_flashinfer(), "
         "is_device_capability_family(100) or is_device_capability(90); no pipeline_parallel_size or "
         "data_parallel_size test; OPTIMIZATION_LEVEL_02 (:238-) and the O2 default (:364) as before; "
         "FI_ALLREDUCE_FUSION_MAX_SIZE_MB as 0.19.0 (allreduce_rms_fusion.py :91-)"),
    # 0.25.0: PassConfig.flashinfer_max_size takes world size 16 (config/compilation.py :181-196,
    # FI_SUPPORTED_WORLD_SIZES = [2, 4, 8, 16]) and FI_ALLREDUCE_FUSION_MAX_SIZE_MB gives 10.0 and 10.3 a
    # 64 MB size at 16 ('mnnvl multi-node', allreduce_rms_fusion.py :90-108). Across nodes the pass's
    # workspace needs FlashInfer's mnnvl backend (distributed/device_communicators/flashinfer_all_reduce.py
    # get_fi_ar_workspace :123-: the trtllm backend raises for more than one node, an mnnvl workspace that
    # fails to build disables the pass), which kvplan cannot tell from the GPU: "multi_node_unread"
    # (VLLM.allreduce_rms_fusion refuses the default there). 0.25.1 adds a dtype check to the generic
    # patterns (_norm_input_weight_dtype_match :53-65) that routes Gemma's float32 gamma to the Gemma
    # patterns 0.23.0 added: every all-reduce still fuses.
    Rule("allreduce_rms_fusion", "0.25.0", "0.26.0",
         {"default_capabilities": (((9, 0), (9, 1)), ((10, 0), (11, 0))), "max_bytes": _FI_MAX_BYTES_TP16,
          "single_dp_pp": False, "multi_node_unread": True},
         "vllm/config/vllm.py enable_allreduce_rms_fusion AST-identical to 0.24.0 (0.25.0 :128-148); "
         "config/compilation.py PassConfig.flashinfer_max_size (:181-196) adds world size 16; "
         "FI_ALLREDUCE_FUSION_MAX_SIZE_MB (compilation/passes/fusion/allreduce_rms_fusion.py :90-108) adds 16: 64 MB "
         "for 100 and 103; AllReduceFusionPass.__init__ AST-identical"),
    # 0.27.0 gives capability 10.7 sizes (before, the pass disabled itself there: no size).
    Rule("allreduce_rms_fusion", "0.27.0", "0.27.1",
         {"default_capabilities": (((9, 0), (9, 1)), ((10, 0), (11, 0))), "max_bytes": _FI_MAX_BYTES_SM107,
          "single_dp_pp": False, "multi_node_unread": True},
         "vllm/config/vllm.py enable_allreduce_rms_fusion AST-identical to 0.26.0 (0.27.0 :155-175); "
         "config/compilation.py PassConfig.flashinfer_max_size AST-identical (:187-202); "
         "FI_ALLREDUCE_FUSION_MAX_SIZE_MB (compilation/passes/fusion/allreduce_rms_fusion.py :104-127) adds 107: "
         "2: 64, 4: 64, 8: 2 MB; AllReduceFusionPass.__init__ (:993-1072) takes the TP group's CPU group"),
    Rule("allreduce_rms_fusion", "0.28.0", "0.28.0", {"default_capabilities": (((9, 0), (9, 1)), ((10, 0), (11, 0))), "max_bytes": _FI_MAX_BYTES_SM107,
          "single_dp_pp": False, "multi_node_unread": True},
         "vllm/config/vllm.py enable_allreduce_rms_fusion AST-identical (0.28.0 :147-167); config/compilation.py "
         "PassConfig.flashinfer_max_size AST-identical (:187-202); compilation/passes/fusion/allreduce_rms_fusion.py "
         "FI_ALLREDUCE_FUSION_MAX_SIZE_MB (:104-127) and AllReduceFusionPass.__init__ (:993-1072) AST-identical "
         "(an AITER output-only pattern is added for ROCm)"),
    # 0.29.0: capability 10.3 at tp 8 fuses up to 4 MB (2 MB before).
    Rule("allreduce_rms_fusion", "0.29.0", None, {"default_capabilities": (((9, 0), (9, 1)), ((10, 0), (11, 0))),
         "max_bytes": _FI_MAX_BYTES_SM103_TP8, "single_dp_pp": False, "multi_node_unread": True},
         "vllm/config/vllm.py enable_allreduce_rms_fusion (0.29.0 :161-185) adds only a False under "
         "VLLM_BATCH_INVARIANT (a variable kvplan does not take); config/compilation.py PassConfig.flashinfer_max_size "
         "AST-identical (:187-202); compilation/passes/fusion/allreduce_rms_fusion.py FI_ALLREDUCE_FUSION_MAX_SIZE_MB "
         "(:104-127): 103: {8: 4} (:116-121), the rest as 0.28.0"),
    # -- FlashAttention 4's head-256 kernel (0.29.0): 128-token kernel blocks on capability 10.x / 11.x, which
    #    set the block of a sliding-window layer (smallest kernel block) and constrain the others; refused
    #    for head size 256 there (VLLM.check_kv_on_gpu).
    Rule("fa4_hd256_block", "0.8.0", "0.28.0", False,
         "vllm/v1/attention/backends/flash_attn.py FlashAttentionBackend.get_supported_kernel_block_sizes (0.28.0: "
         "MultipleOf(16) for every head size; no FA4_HD256_PAGE_SIZE in fa_utils.py before 0.29.0)"),
    Rule("fa4_hd256_block", "0.29.0", None, True,
         "vllm/v1/attention/backends/flash_attn.py (0.29.0) FlashAttentionBackend._get_fa4_hd256_block_size "
         "(:92-110) and get_supported_kernel_block_sizes (:111-116): [128] where uses_fa4_hd256_kernel (fa_utils.py "
         ":224-233: head size 256, capability major 10 or 11) and get_flash_attn_version(..., supports_fa4_hd256=True) "
         "is 4, else MultipleOf(16); FA4_HD256_PAGE_SIZE = 128 (fa_utils.py :14); _fa4_hd256_fallback_reason "
         "(:236-) not read to the end"),
    # -- 0.30.0: multimodal prefix-LM models (Attention.use_mm_prefix) get a composite attention backend first
    #    (Triton for the image-mask route + FlashInfer or FlashAttention 4 for the causal one), whose kernel
    #    blocks and KV layout kvplan has not read: refused on capability 10.x, and on 9.x where FlashAttention 4
    #    would run (a head size above 256). Value: the architectures vLLM marks is_mm_prefix_lm (by model_type).
    Rule("mm_prefix_composite_backend", "0.8.0", "0.29.0", (),
         "vllm/platforms/cuda.py _get_backend_priorities (0.29.0 :83-163): no composite backend"),
    Rule("mm_prefix_composite_backend", "0.30.0", None,
         ("BagelForConditionalGeneration", "Gemma3ForConditionalGeneration", "HfMoondream",
          "Molmo2ForConditionalGeneration", "Moondream3ForCausalLM", "PaliGemmaForConditionalGeneration"),
         "vllm/platforms/cuda.py (0.30.0) _get_backend_priorities (:83-179): TRITON_FLASHINFER first on capability "
         "10.x (:158-166), TRITON_FLASH_ATTN first on 9.x (:168-176) when use_mm_prefix; model_executor/layers/"
         "attention/attention.py Attention.__init__ (:341) use_mm_prefix = model_config.is_mm_prefix_lm "
         "(transformers_utils/model_arch_config_convertor.py :362-384: model types bagel, gemma3, molmo2, "
         "moondream3, paligemma; registry.py :352, :410, :530-533, :554); v1/attention/backends/composite.py "
         "get_supported_kernel_block_sizes (:381-390) the blocks both backends take; triton_flash_attn.py "
         "_FA4Backend.supports_combination: the 9.x route only with FlashAttention 4 (fa_utils.py "
         "get_flash_attn_version :140-166: on 9.x for head size > 256, sinks with unequal V, diffusion)"),
    # -- 0.31.0: FlashAttention's first kernel-block case, [64] on capability 9.x with an fp8 KV cache at head
    #    size 512 under FlashAttention 4 (VLLM.check_kv_on_gpu refuses it: which FA version starts not read).
    Rule("fa4_sm90_fp8_hd512_block", "0.8.0", "0.30.0", False,
         "vllm/v1/attention/backends/flash_attn.py (0.30.0): no _get_sm90_fa4_fp8_kv_block_size"),
    Rule("fa4_sm90_fp8_hd512_block", "0.31.0", None, True,
         "vllm/v1/attention/backends/flash_attn.py (0.31.0) FlashAttentionBackend._get_sm90_fa4_fp8_kv_block_size "
         "(:297-325): 64 on capability family 90 with cache dtype fp8 / fp8_e4m3, head size 512 and "
         "get_flash_attn_version(head_size=512) == 4, taken first by get_supported_kernel_block_sizes (:355-363); "
         "get_flash_attn_version (fa_utils.py) for head size 512 on 9.x not read"),
    # -- 0.31.0: Model Runner V1 refuses pipeline parallelism with async scheduling (VLLM.check_pipeline refuses
    #    VLLM_USE_V2_MODEL_RUNNER=0 with --pipeline-parallel-size > 1 and --async-scheduling).
    Rule("v1_pp_async_refused", "0.8.0", "0.30.0", False,
         "vllm/config/vllm.py (0.30.0) VllmConfig._get_v1_model_runner_unsupported_features: no pipeline-parallel "
         "entry"),
    Rule("v1_pp_async_refused", "0.31.0", None, True,
         "vllm/config/vllm.py (0.31.0) VllmConfig._get_v1_model_runner_unsupported_features (:3105-3149) lists "
         "'pipeline parallelism with async scheduling' (:3112-3124) and _validate_v1_model_runner (:3326-3331) "
         "raises on it (called :2054); unset, __post_init__ turns async scheduling off for V1 with pp > 1 "
         "(:1626-1633)"),
    # -- 0.31.0: --quantization fp8 without a checkpoint quantization_config is the new online fp8_per_tensor
    #    method, whose weight bytes kvplan has not read (kvplan.vllm_args ONLINE_QUANTIZATION refused there).
    Rule("online_fp8_rerouted", "0.8.0", "0.30.0", False,
         "vllm/model_executor/model_loader/weight_utils.py (0.30.0) get_quant_config: Fp8Config() for online fp8"),
    Rule("online_fp8_rerouted", "0.31.0", None, True,
         "vllm/model_executor/model_loader/weight_utils.py (0.31.0) get_quant_config (:341-348): "
         "'--quantization fp8 is deprecated for online quantization', OnlineQuantizationConfig(fp8_per_tensor) "
         "(quantization/online/, not read); quantization/fp8.py Fp8Config refuses online use (:106-112)"),
    # -- architectures the release builds through its Transformers backend (registry.py
    #    _TRANSFORMERS_SUPPORTED_MODELS: ('transformers', 'TransformersForCausalLM' / 'TransformersMoEForCausalLM' /
    #    'TransformersForMultimodalLM')), whose forward is the transformers modeling code and not the native model
    #    file kvplan's families and forward fit were read against: refused (VLLM.check_model). Each row is that
    #    dict, whole (FINDINGS_h34_tfb.md: read from every release's registry.py; 0.8.2-0.8.5.post1, 0.9.0,
    #    0.14.0-0.15.1 and 0.17.0-0.19.0, whose sources are not here, lie between releases whose dicts are equal).
    Rule("transformers_backend_moved", "0.8.0", "0.10.0", (),
         "vllm/model_executor/models/registry.py: no _TRANSFORMERS_SUPPORTED_MODELS; only the backend classes "
         "themselves map to 'transformers' (0.8.0 :203 TransformersModel; 0.9.0.1 :232-234, 0.9.2 :248-250, 0.10.0 "
         ":257-260 _TRANSFORMERS_MODELS: TransformersForCausalLM / TransformersForMultimodalLM)"),
    Rule("transformers_backend_moved", "0.10.1", "0.24.0", _TFB_0_10_1,
         "vllm/model_executor/models/registry.py _TRANSFORMERS_SUPPORTED_MODELS: SmolLM3ForCausalLM -> "
         "TransformersForCausalLM, Emu3ForConditionalGeneration -> TransformersForMultimodalLM (0.10.1 :274-279, "
         "0.10.2 :295-300, 0.11.0 :302-307, 0.11.1 :419-427, 0.12.0 :445-453, 0.13.0 :450-458, 0.16.0 :517-525, "
         "0.19.1 :581-589, 0.20.0 :611-619, 0.21.0 :626-634, 0.22.0 :638-646, 0.22.1 :639-647, 0.24.0 :648-656); "
         "no smollm3.py"),
    Rule("transformers_backend_moved", "0.25.0", "0.25.1", _TFB_0_25_0,
         "vllm/model_executor/models/registry.py (0.25.0, 0.25.1) _TRANSFORMERS_SUPPORTED_MODELS (:641-651): "
         "GPTBigCodeForCausalLM, Starcoder2ForCausalLM added (gpt_bigcode.py, starcoder2.py deleted)"),
    Rule("transformers_backend_moved", "0.26.0", "0.26.0", _TFB_0_26_0,
         "vllm/model_executor/models/registry.py (0.26.0) _TRANSFORMERS_SUPPORTED_MODELS (:656-668): "
         "OlmoForCausalLM, Olmo2ForCausalLM added (olmo.py, olmo2.py deleted; Olmo3ForCausalLM, olmo2's class in "
         "0.25.x :173, gets its own olmo3.py :180)"),
    Rule("transformers_backend_moved", "0.27.0", "0.28.0", _TFB_0_27_0,
         "vllm/model_executor/models/registry.py _TRANSFORMERS_SUPPORTED_MODELS (0.27.0, 0.27.1 :669-686; 0.28.0 "
         ":692-709): VaultGemmaForCausalLM, VibeVoiceAsrForConditionalGeneration added"),
    Rule("transformers_backend_moved", "0.29.0", "0.29.0", _TFB_0_29_0,
         "vllm/model_executor/models/registry.py (0.29.0) _TRANSFORMERS_SUPPORTED_MODELS (:683-708): "
         "FlexOlmoForCausalLM, HunYuanDenseV1ForCausalLM, HunYuanMoEV1ForCausalLM (TransformersMoEForCausalLM), "
         "HunYuanVLForConditionalGeneration, Olmo3ForCausalLM added (flex_olmo.py, hunyuan_v1.py deleted)"),
    Rule("transformers_backend_moved", "0.30.0", "0.31.0", _TFB_0_30_0,
         "vllm/model_executor/models/registry.py _TRANSFORMERS_SUPPORTED_MODELS (0.30.0, 0.31.0 :710-736): "
         "NanbeigeForCausalLM added"),
    Rule("transformers_backend_moved", "0.32.0", "0.32.0", _TFB_0_32_0,
         "vllm/model_executor/models/registry.py (0.32.0) _TRANSFORMERS_SUPPORTED_MODELS (:709-743): "
         "ArceeForCausalLM, CwmForCausalLM, GPTNeoXForCausalLM, GlmForCausalLM, Jais2ForCausalLM, PhiForCausalLM, "
         "SeedOssForCausalLM -> TransformersForCausalLM, MellumForCausalLM -> TransformersMoEForCausalLM added; "
         "arcee.py, glm.py, gpt_neox.py, jais2.py, mellum.py, phi.py, seed_oss.py deleted"),
    Rule("transformers_backend_moved", "0.33.0", None, _TFB_0_33_0,
         "vllm/model_executor/models/registry.py (0.33.0) _TRANSFORMERS_SUPPORTED_MODELS (:747-782): "
         "Kolibri1ForCausalLM added, 0.32.0's kept"),
    # -- 0.33.0: --kv-cache-dtype float16 / bfloat16 other than the model dtype does not start (VLLM.check_kv_format).
    Rule("float_kv_dtype_must_match", "0.8.0", "0.32.0", False,
         "vllm/config/vllm.py (0.32.0): no _reject_mismatched_float_kv_cache; a float16 / bfloat16 cache is stored "
         "in that dtype"),
    Rule("float_kv_dtype_must_match", "0.33.0", None, True,
         "vllm/config/vllm.py (0.33.0) VllmConfig._reject_mismatched_float_kv_cache (:1492-1508, called from "
         "__post_init__ :1540): ValueError 'kv_cache_dtype=... is incompatible with dtype=...' when cache_dtype is "
         "float16 or bfloat16 and differs from the model dtype"),
    # -- 0.33.0: a checkpoint declaring substituted experts allocates only the retained ones (VLLM.check_model).
    Rule("expert_substitution", "0.8.0", "0.32.0", False,
         "vllm/model_executor/layers/fused_moe/: no expert_substitution.py (0.27.0-0.32.0 sdists: neither "
         "approximate_experts nor expert_substitution anywhere in vllm/)"),
    Rule("expert_substitution", "0.33.0", None, True,
         "vllm/model_executor/layers/fused_moe/expert_substitution.py (0.33.0) get_expert_substitution_spec "
         "(:107-141): approximate_experts (hf_text_config / hf_config) or compression_config.transform_config."
         "expert_substitution; make_expert_substitution (:264-) and layer.py FusedMoEFactory keep only the "
         "retained experts' weights: not read"),
    # How "GPU KV cache size: N tokens" is computed by release: kvplan.paging (kv_size_report).
    # -- --kv-cache-dtype auto for a checkpoint whose quantization config asks for an FP8 KV cache
    #    (spec kv_cache_quant_algo / kv_cache_quant_method; Engine.check_auto_kv): the quant_methods for
    #    which the release may store it as fp8_e4m3 instead of the model dtype, which kvplan refuses to
    #    guess. get_kv_cache_quant_algo_string (utils/torch_utils.py, def at 0.14.0 :239, 0.19.1 :262,
    #    0.20.0-0.20.2 :279, 0.21.0-0.23.0 :311, 0.24.0 :309, 0.25.0-0.27.0 :310; 0.27.0 :310-362) reads
    #    quant_method modelopt* alone ('if quant_method.startswith("modelopt")', else None), and no other module reads
    #    kv_cache_quant_algo to pick the cache dtype (0.27.0: only models/deepseek_v4/quant_config.py line 110,
    #    which sets it None): a quant_method fp8 checkpoint keeps the model dtype. But from 0.15.0 the
    #    Attention layer sets the cache to "fp8" itself for a quant config with any kv_cache_scheme
    #    (CompressedTensorsConfig.kv_cache_scheme; "llm-compressor mdls need to set cache_dtype to fp8
    #    manually"): 0.15.0 vllm/attention/layer.py Attention.__init__ lines 198-199, 0.16.0 and 0.17.0
    #    model_executor/layers/attention/attention.py lines 231-233, 0.19.1 229-230, 0.20.x and 0.21.0 232-233
    #    (whatever --kv-cache-dtype says: rule compressed_tensors_kv_forced); 0.22.0 lines 237-238 and on
    #    (0.24.0 252-253, 0.25.x 282-283, 0.26.0-0.27.1 284-285) only when it is "auto". Not in 0.14.0 or
    #    0.14.1 (vllm/attention/layer.py has no kv_cache_scheme; wheels read 2026-12-01).
    Rule("checkpoint_fp8_kv_auto", "0.8.0", "0.13.0", (),
         "vllm/engine/arg_utils.py create_engine_config passes kv_cache_dtype to CacheConfig as given: auto is "
         "the model dtype (no kv_cache_quant_algo read outside model_executor/layers/quantization, 0.13.0)"),
    Rule("checkpoint_fp8_kv_auto", "0.14.0", "0.14.1", ("modelopt",),
         "vllm/utils/torch_utils.py resolve_kv_cache_dtype_string (0.14.0 line 301; called by "
         "engine/arg_utils.py create_engine_config): auto -> fp8_e4m3 for a modelopt "
         "quantization_config whose kv_cache_scheme / kv_cache_quant_algo is fp8 (get_kv_cache_quant_algo_string)"),
    Rule("checkpoint_fp8_kv_auto", "0.15.0", "0.19.1", ("modelopt", "compressed-tensors", "compressed-tensors-other"),
         "vllm/utils/torch_utils.py resolve_kv_cache_dtype_string (0.19.1 line 324; called by "
         "engine/arg_utils.py create_engine_config, 0.19.1 line 1568): auto -> fp8_e4m3 for a modelopt "
         "quantization_config whose kv_cache_scheme / kv_cache_quant_algo is fp8 (get_kv_cache_quant_algo_string); "
         "and Attention.__init__ sets cache_dtype 'fp8' for a compressed-tensors kv_cache_scheme (0.15.0 "
         "vllm/attention/layer.py lines 198-199, 0.19.1 model_executor/layers/attention/attention.py lines 229-230)"),
    # -- DeepSeek sparse attention top-k sharing (Engine.check_dsa_topk_sharing): 0.8.0-0.20.2 read no
    #    index_topk_freq / index_topk_pattern (none in 0.19.1, 0.20.0, 0.20.1, 0.20.2 vllm/): every layer keeps its
    #    DeepseekV32IndexerCache, as kvplan plans. 0.21.0+ model_executor/models/deepseek_v2.py (0.21.0 lines
    #    1008-1020, under the config's use_index_cache; 0.24.0 lines 1001-1017, always) marks skip_topk layers; which
    #    indexer caches remain is not read: refused (0.21.0-0.23.0 also where use_index_cache is false, to be read).
    Rule("dsa_index_topk_sharing", "0.8.0", "0.20.2", False,
         "vllm (0.19.1-0.20.2 read): no index_topk_freq / index_topk_pattern read"),
    Rule("dsa_index_topk_sharing", "0.21.0", None, True,
         "vllm/model_executor/models/deepseek_v2.py (0.21.0 lines 1008-1020 with use_index_cache, 0.24.0 lines "
         "1001-1017): index_topk_freq / index_topk_pattern / index_skip_topk_offset mark the layers that skip their top-k"),
    # -- a config's language_model_only: true (Engine.check_language_model_only): vLLM reads the name from
    #    --language-model-only alone (engine/arg_utils.py EngineArgs.language_model_only, 0.19.1 line 488, 0.27.0
    #    line 560 -> config/multimodal.py MultiModalConfig), never from the HF config (no getattr of hf_config's
    #    language_model_only in 0.19.1-0.27.0; no such name in 0.8.0 or 0.14.0): served as if the key were absent.
    Rule("config_language_model_only", "0.8.0", None, False,
         "vllm/engine/arg_utils.py EngineArgs.language_model_only (0.19.1 line 488, 0.27.0 line 560): the "
         "--language-model-only flag only; the HF config's key is not read"),
    Rule("checkpoint_fp8_kv_auto", "0.20.0", None, ("modelopt", "compressed-tensors", "compressed-tensors-other"),
         "vllm/utils/torch_utils.py resolve_kv_cache_dtype_string (0.20.0 line 343, 0.21.0 and 0.22.0 line 375, "
         "unchanged; called by engine/arg_utils.py create_engine_config, 0.21.0 line 1685, 0.22.0 line 1746): auto -> fp8_e4m3 for fp8, and "
         "from 0.20.0 nvfp4 for a 4-bit float kv_cache_scheme (get_kv_cache_quant_algo_string, 0.21.0 :311-363); "
         "model_executor/layers/attention/attention.py Attention.__init__ sets cache_dtype 'fp8' for a "
         "compressed-tensors kv_cache_scheme (0.20.0-0.21.0 lines 232-233; under auto: 0.22.0 lines 237-238, "
         "0.27.0 284-285)"),
    # -- a compressed-tensors kv_cache_scheme with --kv-cache-dtype given (Engine.check_forced_kv): True where the
    #    Attention layer sets cache_dtype "fp8" whatever was given, so a bf16 / fp16 / e5m2 ask is not what runs.
    Rule("compressed_tensors_kv_forced", "0.8.0", "0.14.1", False,
         "vllm/attention/layer.py Attention.__init__ (0.8.0, 0.9.1, 0.14.0): kv_cache_dtype = cache_config.cache_dtype "
         "as given; no kv_cache_scheme read"),
    Rule("compressed_tensors_kv_forced", "0.15.0", "0.21.0", True,
         "Attention.__init__ 'if getattr(quant_config, \"kv_cache_scheme\", None) is not None: kv_cache_dtype = "
         "\"fp8\"; cache_config.cache_dtype = \"fp8\"' (0.15.0 vllm/attention/layer.py lines 198-199; 0.19.1 "
         "model_executor/layers/attention/attention.py lines 229-230, 0.21.0 232-233)"),
    Rule("compressed_tensors_kv_forced", "0.22.0", None, False,
         "vllm/model_executor/layers/attention/attention.py Attention.__init__ (0.22.0 line 238, 0.27.0 line 285): "
         "'if kv_cache_scheme is not None and kv_cache_dtype == \"auto\"': an explicit choice wins"),
)

# -- per-logit bytes of the dummy sampler, beyond the logits in the model dtype -------------
#: float32 copy (``logits.to(torch.float32)``, none when the model is fp32) is added by the
#: engine; these are the path's own [S, vocab] fp32 tensors:
#:   triton:     probs (softmax) + q (exponential noise in random_sample) = 4 + 4
#:   flashinfer: top_k_mask_logits output + softmax probs (flashinfer.sampling
#:               top_k_top_p_sampling_from_logits, top_k_first)         = 4 + 4
#:   sort:       see SORT_BYTES_PER_LOGIT (depends on the number of rows S).
SAMPLER_PATH_BYTES_PER_LOGIT = {"triton": 8, "flashinfer": 8}
#: ``logits.sort(dim=-1)`` (vllm/v1/sample/ops/topk_topp_sampler.py: apply_top_k_top_p) over
#: S rows of V > 4096 fp32 values runs PyTorch's stable sort, whose branch depends on the row
#: count (aten/src/ATen/native/cuda/SortStable.cu: do_launch_stable_sort_kernel):
#:   S >= 128 or S == 1: segmented_sort_pairs / segmented_sort_large_segments -- sorted values
#:     4 + int64 indices 8, the int64 iota of source indices 8, and cub's radix-sort temp
#:     storage, which holds alternate key and value buffers 4 + 8 (cub::DeviceSegmentedRadixSort
#:     / DeviceRadixSort::SortPairs without DoubleBuffer) = 32 bytes a logit;
#:   2 <= S < 128: segmented_sort_pairs_by_full_sort -- values 4 + indices 8, two int2
#:     index/segment arrays 8 + 8, the radix sort's key output 4 and cub's alternate key/value
#:     buffers 4 + 8 = 44 bytes a logit.
#: (S, bytes): the first row whose S is at least the given count applies. Llama-3.1-8B,
#: S = 256, V = 128,256: 32,833,536 logits x (2 + 4 + 32) = 1.16 GiB; the v0.15.1 A100 log in
#: tests/fixtures/startup_logs leaves 1.18 GiB for activation and non-torch memory together.
SORT_BYTES_PER_LOGIT = ((128, 32), (2, 44), (1, 32))


def sort_bytes_per_logit(rows: int) -> int:
    """The torch sort path's own bytes a logit for ``rows`` rows (see SORT_BYTES_PER_LOGIT)."""
    for at_least, per_logit in SORT_BYTES_PER_LOGIT:
        if rows >= at_least:
            return per_logit
    raise ValueError(f"the sampler runs over at least one row, got {rows}")


#: The Triton kernel keeps one [min(next_pow2(S), num_SMs), vocab] fp32 buffer per device
#: (topk_topp_triton.py: _TRITON_BUFFER_CACHE; H100 SXM: 132 rows x 128,256 x 4 B = 64.6 MiB); the SM / CU
#: count is the GPU catalog's compute_units (kvplan.engines.vllm VLLM.triton_compute_units).
#: Fixed work buffers allocated by the profile run's first GEMMs through PyTorch's caching
#: allocator (cuBLAS / cuBLASLt workspaces): 49 MiB, fitted on the token counts of the 24
#: v0.19.0 H100 logs (tests/fixtures/calibration) once the terms above are counted: 44-53 MiB
#: all keep them within 0.13% (bar A045, whose error is its weights); 49 keeps the Llama-3.1-8B
#: logs within one block and rounds its peak to the logged 1.89 GiB (docs/calibration.md).
PROFILE_WORKSPACE_BYTES = 49 << 20
#: Hidden-size activations alive at the forward peak, per token (fit on pp stages: 6.3-7.1).
FORWARD_HIDDEN_COPIES = Fraction(67, 10)
#: MLP activations per intermediate channel: gate_up output (2) + activation output (1).
FORWARD_MLP_COPIES = 3
#: Rows from which the Triton top-k/top-p kernel runs (0.17.0+): apply_top_k_top_p in
#: vllm/v1/sample/ops/topk_topp_sampler.py (0.17.0 line 251) calls apply_top_k_top_p_triton
#: when ``logits.shape[0] >= 8`` and the torch sort (apply_top_k_top_p_pytorch) below that.
TRITON_MIN_ROWS = 8
