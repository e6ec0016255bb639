"""The model families of issue 10: real config.json files -> exact KV-cache bytes, or a refusal.

Every fixture here is a real config.json (sources in tests/fixtures/hf_configs/README.md).
For each, the bytes one sequence holds at two context lengths are written out below as a
formula over the config's own numbers, with what each layer caches and where vLLM's model
code says so; kvplan must match them exactly. B is the bytes of one cached value in the
model dtype (2 for bf16 / fp16; the float32 checkpoint, olmo-2, 4: see kvplan.hf.dtypes).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kvplan.errors import SpecError
from kvplan.layer_sums import model_terms, seq_bytes
from kvplan.formats import get_format
from kvplan.hf import spec_from_hf_config, spec_mapping_from_hf_config
from kvplan.hf.registry import FAMILIES
from kvplan.layers import AttentionWithState, ChunkedLocal, MLAIndexed, NoCache, SlidingWindow, StateSpace
from kvplan.params import count_params
from helpers import cli, one_line_error

FIXTURES = Path(__file__).parent / "fixtures" / "hf_configs"
B = 2  # bytes per value: every fixture below is served in a 16-bit dtype
SHORT, LONG = 3000, 65536  # the two contexts: below and above every window / chunk here


def _config(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def _spec(name: str):
    return spec_from_hf_config(_config(name), str(FIXTURES / f"{name}.json"))


def w(n: int, window: int) -> int:
    """Tokens a window (or chunk) of ``window`` holds at context n."""
    return min(n, window)


def mamba1(intermediate: int, conv_kernel: int, state: int, b: int = B) -> int:
    """vLLM mamba_utils.py mamba1_state_shape: conv (I, k - 1) + temporal (I, N)."""
    return intermediate * (conv_kernel - 1) * b + intermediate * state * b


def mamba2(intermediate: int, groups: int, heads: int, head_dim: int, state: int, conv_kernel: int,
           b: int = B, ssm_b: int = B) -> int:
    """vLLM mamba_utils.py mamba2_state_shape: conv (I + 2 G N, k - 1) in the model dtype,
    temporal (H, P, N) in mamba_ssm_cache_dtype."""
    return (intermediate + 2 * groups * state) * (conv_kernel - 1) * b + heads * head_dim * state * ssm_b


# fixture -> (model_type, bytes of one sequence of n tokens). Full attention caches K and V:
# layers x kv_heads x (K head_dim + V head_dim) x B per token.
EXPECTED = {
    # 61 MLA layers: latent (kv_lora_rank 512 + qk_rope_head_dim 64) x B, plus the DSA
    # indexer key: 128 fp8 + one fp32 scale = 132 B (deepseek_v2.py DeepseekV32IndexerCache)
    "deepseek-v3.2": ("deepseek_v32", lambda n: 61 * n * ((512 + 64) * B + 128 + 4)),
    # 48 layers, 8 KV heads x (128 + 128); NoPE layers 3, 7, ..., 47 (12) are global, the
    # other 36 chunked over attention_chunk_size 8192 (llama4.py ChunkedLocalAttention)
    "llama-4-scout-17b-16e-instruct": (
        "llama4", lambda n: 12 * n * 8 * 256 * B + 36 * w(n, 8192) * 8 * 256 * B),
    # hybrid_layer_pattern: 9 full layers (0 in the pattern) of 4 KV heads x (192 K + 128 V),
    # 39 sliding layers of 8 KV heads x (192 + 128) over 128 tokens (mimo_v2_flash.py)
    "mimo-v2-flash": ("mimo_v2_flash", lambda n: 9 * n * 4 * 320 * B + 39 * w(n, 128) * 8 * 320 * B),
    # hybrid_override_pattern: 10 '*' attention layers (8 KV heads x 256); 54 'M' Mamba-2
    # layers of 256 heads x 64 (16,384 channels), 8 groups, state 256, conv 4, recurrent
    # state in the model dtype (the config names no mamba_ssm_cache_dtype; vLLM's own default by
    # release is applied by --engine vllm, kvplan.engines.vllm_rules); 54 '-' MLP layers: nothing
    "nemotron-h-56b-base-8k": (
        "nemotron_h", lambda n: 10 * n * 8 * 256 * B + 54 * mamba2(256 * 64, 8, 256, 64, 256, 4)),
    # 6 '*' layers of 2 KV heads x (128 + 128); 23 'M' layers of 64 heads x 64 (4,096
    # channels, not expand x hidden), 8 groups, state 128, mamba_ssm_cache_dtype float32;
    # 23 'E' MoE layers: nothing (nemotron_h.py)
    "nemotron-3-nano-30b-a3b": (
        "nemotron_h", lambda n: 6 * n * 2 * 256 * B + 23 * mamba2(64 * 64, 8, 64, 64, 128, 4, ssm_b=4)),
    # block_configs: 49 attention layers with n_heads_in_group 8 -> 64 / 8 = 8 KV heads x 256;
    # 31 layers with attention no_op cache nothing (nemotron_nas.py)
    "llama-3.3-nemotron-super-49b-v1": ("nemotron-nas", lambda n: 49 * n * 8 * 256 * B),
    # text_config: Qwen3, 36 layers x 8 KV heads x (128 + 128) (qwen3_vl.py -> qwen3.py)
    "qwen3-vl-8b-instruct": ("qwen3_vl", lambda n: 36 * n * 8 * 256 * B),
    # text_config: Qwen3-MoE, 48 layers x 4 KV heads x 256
    "qwen3-vl-30b-a3b-instruct": ("qwen3_vl_moe", lambda n: 48 * n * 4 * 256 * B),
    # 64 Mamba 1 layers: intermediate = expand 2 x 2560 = 5120, conv 4, state 16 (mamba.py)
    "mamba-2.8b": ("mamba", lambda n: 64 * mamba1(5120, 4, 16)),
    # 64 Mamba 1 layers: intermediate_size 8192, conv 4, state 16 (mamba.py serves FalconMamba)
    "falcon3-mamba-7b-base": ("falcon_mamba", lambda n: 64 * mamba1(8192, 4, 16)),
    # 64 Mamba 2 layers: 128 heads x 64 = expand 2 x 4096, 8 groups, state 128, conv 4 (mamba2.py)
    "mamba-codestral-7b": ("mamba2", lambda n: 64 * mamba2(8192, 8, 128, 64, 128, 4)),
    # attn_layer_indices 9, 18, 27: 8 KV heads x 256; 29 Mamba 2 layers of 128 heads x 64
    # (expand 2 x 4096), 1 group, state 128, conv 4 (bamba.py)
    "bamba-9b": ("bamba", lambda n: 3 * n * 8 * 256 * B + 29 * mamba2(8192, 1, 128, 64, 128, 4)),
    # every layer: attention (2 KV heads x (64 + 64)) and Mamba 2 in parallel: mamba_d_ssm
    # 1536 = 24 heads x 64, 1 group, state 128, conv 4 (falcon_h1.py)
    "falcon-h1-0.5b": ("falcon_h1", lambda n: 36 * (n * 2 * 128 * B + mamba2(1536, 1, 24, 64, 128, 4))),
    # the FP8 checkpoint of qwen3-next-80b-a3b-instruct (test_hf_import.py): 12 full layers of 2 KV heads x
    # (256 + 256); 36 Gated DeltaNet layers of conv (2 x 2048 + 4096) x 3 and state 32 x 128 x 128, in the
    # model dtype (bf16): the KV cache is not quantized (qwen3_next.py)
    "qwen3-next-80b-a3b-instruct-fp8": (
        "qwen3_next", lambda n: 12 * n * 2 * 512 * B + 36 * (8192 * 3 * B + 32 * 128 * 128 * B)),
    # attn_type_list: 10 softmax layers of 8 KV heads x 256; 70 lightning-attention layers,
    # one 128 x 128 matrix per head for 64 heads (minimax_text_01.py, linear_attention_state_shape)
    "minimax-m1": ("minimax_m1", lambda n: 10 * n * 8 * 256 * B + 70 * 64 * 128 * 128 * B),
    # 62 layers x 8 KV heads x (128 + 128) (minimax_m2.py)
    "minimax-m2.5": ("minimax_m2", lambda n: 62 * n * 8 * 256 * B),
    # Qwen2 layout, use_sliding_window false: 36 layers x 8 KV heads x 256 (mimo.py)
    "mimo-7b-base": ("mimo", lambda n: 36 * n * 8 * 256 * B),
    # 32 layers x 8 KV heads x attention_head_dim 128 x 2, use_cla false (hunyuan_v1.py)
    "hunyuan-a13b-instruct": ("hunyuan", lambda n: 32 * n * 8 * 256 * B),
    # 40 layers x attn_config.kv_n_heads 8 x (d_model 6144 / n_heads 48 = 128) x 2 (dbrx.py)
    "dbrx": ("dbrx", lambda n: 40 * n * 8 * 256 * B),
    # 36 layers x 4 KV heads x (2048 / 16 = 128) x 2, all full_attention (Transformers backend)
    "smollm3-3b": ("smollm3", lambda n: 36 * n * 4 * 256 * B),
    # 32 layers x 32 heads x (2560 / 32 = 80) x 2 (phi.py)
    "phi-2-super": ("phi", lambda n: 32 * n * 32 * 160 * B),
    # 16 layers x 16 heads x (2048 / 16 = 128) x 2 (olmoe.py)
    "olmoe-1b-7b-0924": ("olmoe", lambda n: 16 * n * 16 * 256 * B),
    # sliding_window_pattern 4: layers 3, 7, ... (8) global, 24 slide over 4096; 8 KV heads x
    # (128 + 128) (commandr.py)
    "c4ai-command-r7b-abliterated": (
        "cohere2", lambda n: 8 * n * 8 * 256 * B + 24 * w(n, 4096) * 8 * 256 * B),
    # 92 layers x 8 KV heads x (128 + 128) (glm4_moe.py)
    "glm-4.7": ("glm4_moe", lambda n: 92 * n * 8 * 256 * B),
    # 64 layers x 8 KV heads x 256 (seed_oss.py)
    "seed-oss-36b-derivative": ("seed_oss", lambda n: 64 * n * 8 * 256 * B),
    # multi_query: 1 KV head x (2048 / 16 = 128) x 2 in 24 layers (gpt_bigcode.py)
    "gpt-bigcode-santacoder": ("gpt_bigcode", lambda n: 24 * n * 1 * 256 * B),
    # sliding_window 4096 on all 32 layers; 4 KV heads x (4608 / 36 = 128) x 2 (starcoder2.py)
    "starcoder2-7b": ("starcoder2", lambda n: 32 * w(n, 4096) * 4 * 256 * B),
    # 24 layers x 16 heads x kv_channels 128 x 2 (qwen.py)
    "qwen-1.8b": ("qwen", lambda n: 24 * n * 16 * 256 * B),
    # 24 layers x 16 KV heads x 128 x 2, use_sliding_window false (qwen2_moe.py)
    "qwen1.5-moe-a2.7b": ("qwen2_moe", lambda n: 24 * n * 16 * 256 * B),
    # 28 layers x multi_query_group_num 2 x kv_channels 128 x 2 (chatglm.py)
    "chatglm3-6b": ("chatglm", lambda n: 28 * n * 2 * 256 * B),
    # text_config: LlamaConfig defaults, 32 layers x 32 heads x 128 x 2 (llava.py -> llama.py)
    "llava-1.5-7b": ("llava", lambda n: 32 * n * 32 * 256 * B),
    # 32 layers x 8 KV heads x 128 x 2 (commandr.py)
    "aya-23-8b": ("cohere", lambda n: 32 * n * 8 * 256 * B),
    # 28 layers x 16 heads x (4096 / 16 = 256) x 2 (gpt_j.py)
    "gpt-j-6b": ("gptj", lambda n: 28 * n * 16 * 512 * B),
    # 32 layers x 32 heads x 128 x 2; a float32 checkpoint, counted as stored (4 bytes) without an
    # engine (olmo2.py; an engine serves it in 16 bits: tests/test_serving_dtype.py)
    "olmo-2-1124-7b": ("olmo2", lambda n: 32 * n * 32 * 256 * 4),
    # 32 layers x 8 KV heads x 128 x 2 (internlm2.py)
    "internlm2.5-7b": ("internlm2", lambda n: 32 * n * 8 * 256 * B),
    # 24 layers x 32 heads x (2048 / 32 = 64) x 2 (stablelm.py)
    "stablelm-2-zephyr-1.6b": ("stablelm", lambda n: 24 * n * 32 * 128 * B),
    # 40 layers x 36 heads x (2304 / 36 = 64) x 2 (minicpm.py)
    "minicpm-2b-sft-bf16": ("minicpm", lambda n: 40 * n * 36 * 128 * B),
    # 32 layers x 32 heads x 128 x 2 (baichuan.py)
    "baichuan2-7b": ("baichuan", lambda n: 32 * n * 32 * 256 * B),
    # 40 layers x 40 heads x (5120 / 40 = 128) x 2 (orion.py)
    "orion-14b": ("orion", lambda n: 40 * n * 40 * 256 * B),
    # ernie4_5 (vLLM ernie45.py: LlamaForCausalLM): 18 layers x 2 KV heads x (128 + 128)
    "ernie-4.5-0.3b": ("ernie4_5", lambda n: 18 * n * 2 * 256 * B),
}

#: fixture -> (model_type, words the refusal must contain): models vLLM cannot serve.
REFUSED = {
    "rwkv-5-world-3b": ("rwkv5", "RWKV is not a model vLLM can serve"),
    "llama-3.2-11b-vision": ("mllama", "no longer served by vLLM"),
}


def test_every_family_fixture_is_covered():
    from test_hf_import import EXPECTED as BASE

    on_disk = {p.stem for p in FIXTURES.glob("*.json")}
    assert on_disk == set(BASE) | set(EXPECTED) | set(REFUSED)
    assert not (set(BASE) & set(EXPECTED))


def test_model_types_covered():
    """Issue 10 asks for at least 45 model_types, each with a real config."""
    from test_hf_import import EXPECTED as BASE

    types = {json.loads((FIXTURES / f"{n}.json").read_text())["model_type"] for n in BASE}
    types |= {t for t, _ in EXPECTED.values()} | {t for t, _ in REFUSED.values()}
    assert len(types) >= 45, sorted(types)
    assert types <= set(FAMILIES)


@pytest.mark.parametrize("name", sorted(EXPECTED))
@pytest.mark.parametrize("n", [SHORT, LONG])
def test_sequence_bytes_match_the_hand_formula(name, n):
    model_type, formula = EXPECTED[name]
    config = _config(name)
    assert config["model_type"] == model_type
    spec = _spec(name)
    assert seq_bytes(model_terms(spec), n, get_format(spec.dtype)) == formula(n)


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_models_vllm_cannot_serve_are_refused(name):
    model_type, words = REFUSED[name]
    assert _config(name)["model_type"] == model_type
    with pytest.raises(SpecError, match=words):
        _spec(name)


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refusal_is_one_line_exit_2(capsys, name):
    code, out, err = cli(capsys, "size", FIXTURES / f"{name}.json", "--ctx", "4k")
    assert code == 2 and not out
    assert REFUSED[name][1] in one_line_error(err)


# -- the layouts behind the numbers ----------------------------------------------------------
def test_deepseek_v32_caches_indexer_keys_on_every_layer():
    spec = _spec("deepseek-v3.2")
    assert {type(k) for k in spec.layers} == {MLAIndexed}
    assert spec.layers[0].index_key_bytes == 132
    assert spec.moe.num_experts == 256 and spec.moe.first_dense_layers == 3


def test_llama4_nope_layers_are_global_and_the_rest_chunked():
    spec = _spec("llama-4-scout-17b-16e-instruct")
    chunked = [i for i, k in enumerate(spec.layers) if isinstance(k, ChunkedLocal)]
    assert [i for i in range(48) if i not in chunked] == list(range(3, 48, 4))
    assert spec.layers[0].chunk == 8192
    assert spec.moe.num_experts == 16 and spec.moe.num_shared_experts == 1 and spec.moe.layer_freq == 1
    assert spec.intermediate_size == 16384  # intermediate_size_mlp: the dense layers' MLP


def test_mimo_v2_layers_have_their_own_heads_and_v_width():
    spec = _spec("mimo-v2-flash")
    full = [i for i, k in enumerate(spec.layers) if not isinstance(k, SlidingWindow)]
    assert full == [0, 5, 11, 17, 23, 29, 35, 41, 47]
    swa = spec.layers[1]
    assert (swa.kv_heads, swa.head_dim, swa.v_head_dim, swa.window) == (8, 192, 128, 128)
    assert (spec.layers[0].kv_heads, spec.layers[0].head_dim, spec.layers[0].v_head_dim) == (4, 192, 128)
    assert spec.moe.first_dense_layers == 1 and spec.moe.router_bias


def test_nemotron_h_state_dtypes():
    nano = _spec("nemotron-3-nano-30b-a3b")
    state = next(k for k in nano.layers if isinstance(k, StateSpace))
    assert (state.state_dtype, state.ssm_state_dtype) == ("bf16", "fp32")
    assert state.conv_dim == 64 * 64 + 2 * 8 * 128
    assert sum(isinstance(k, NoCache) for k in nano.layers) == 23
    mapping = spec_mapping_from_hf_config(_config("nemotron-h-56b-base-8k"), "nemotron-h")
    assert "mamba_ssm_cache_dtype not in the config: the recurrent state in the model dtype" in mapping["notes"]
    state = next(k for k in _spec("nemotron-h-56b-base-8k").layers if isinstance(k, StateSpace))
    assert state.ssm_state_dtype is None and state.recurrent_dtype == "bf16"


def test_falcon_h1_every_layer_keeps_attention_and_state():
    spec = _spec("falcon-h1-0.5b")
    assert all(isinstance(k, AttentionWithState) for k in spec.layers)
    layer = spec.layers[0]
    assert layer.attention.kv_heads == 2 and layer.attention.head_dim == 64
    assert layer.state.conv_dim == 1536 + 2 * 128 and layer.state.ssm_heads == 24


def test_nas_layers_without_attention_cache_nothing():
    spec = _spec("llama-3.3-nemotron-super-49b-v1")
    assert sum(isinstance(k, NoCache) for k in spec.layers) == 31
    assert {k.kv_heads for k in spec.layers if not isinstance(k, NoCache)} == {8}


def test_minimax_linear_layers_hold_a_matrix_per_head():
    spec = _spec("minimax-m1")
    linear = [i for i, k in enumerate(spec.layers) if isinstance(k, StateSpace)]
    assert [i for i in range(80) if i not in linear] == list(range(7, 80, 8))
    assert spec.layers[0].state_bytes() == 64 * 128 * 128 * B


def test_wrapper_without_model_type_in_text_config_reads_its_text_family():
    """Kimi-VL's text_config names no model_type: the wrapper says it is DeepSeek-V3. (Built
    here around the real DeepSeek-V3 fixture: no Kimi-VL config.json could be sourced.)"""
    text = {k: v for k, v in _config("deepseek-v3").items() if k not in ("model_type", "quantization_config")}
    config = {
        "architectures": ["KimiVLForConditionalGeneration"], "model_type": "kimi_vl", "text_config": text,
        "vision_config": {"hidden_size": 1152},
    }
    spec = spec_from_hf_config(config, "kimi-vl")
    assert spec.mla is not None and spec.mla.kv_lora_rank == 512
    # MoonViT from MoonViTConfig's defaults (27 layers, MLP 4304, patch 14, 64 x 64 positions):
    # conv 1152 x 3 x 14 x 14 + 1152, positions 4096 x 1152, per layer two LayerNorms 4 x 1152,
    # wqkv 3 x (1152^2 + 1152), wo 1152^2 + 1152, fc0 4304 x 1152 + 4304, fc1 1152 x 4304 + 1152,
    # final LayerNorm 2 x 1152.
    layer = 4 * 1152 + 3 * (1152**2 + 1152) + 1152**2 + 1152 + 4304 * 1152 + 4304 + 1152 * 4304 + 1152
    assert layer == 15_239_504
    assert spec.vision_tower.numel == 1152 * 3 * 14 * 14 + 1152 + 4096 * 1152 + 27 * layer + 2 * 1152
    # projector: LayerNorm 2 x 1152, linear_1 (4 x 1152)^2 + 4608, linear_2 4608 x 7168 + 7168
    assert spec.vision_projector.numel == 2 * 1152 + 4608**2 + 4608 + 4608 * 7168 + 7168 == 54_277_888
    assert spec.weights_unknown == ()


def test_a_changed_cache_field_changes_or_refuses():
    """Changing what a family reads changes the bytes; a field the reader does not know is refused."""
    config = _config("gpt-bigcode-santacoder")
    config["multi_query"] = False  # every head keeps its own K and V
    assert seq_bytes(model_terms(spec_from_hf_config(config, "x")), 10, get_format("bf16")) == 24 * 10 * 16 * 256 * B
    config = _config("falcon-h1-0.5b")
    config["attn_layer_indices"] = [0, 5]
    with pytest.raises(SpecError, match="attn_layer_indices"):
        spec_from_hf_config(config, "x")
    config = _config("llama-3.3-nemotron-super-49b-v1")
    config["block_configs"][0]["attention"]["window_length"] = 4096
    with pytest.raises(SpecError, match=r"block_configs\.0\.attention\.window_length"):
        spec_from_hf_config(config, "x")
    config = _config("hunyuan-a13b-instruct")
    config["use_cla"] = True  # cross-layer attention: odd layers reuse the previous layer's K/V
    spec = spec_from_hf_config(config, "x")
    assert seq_bytes(model_terms(spec), 10, get_format("bf16")) == 16 * 10 * 8 * 256 * B


def test_smollm3_weights_match_its_checkpoint_index():
    """SmolLM3-3B's model.safetensors.index.json states total_parameters 3,075,098,624
    (fetchwiki/HuggingFaceTB-SmolLM3-3B @2db8990c, a mirror of the Hub repo)."""
    total = count_params(_spec("smollm3-3b")).total
    assert total == 3_075_098_624


# -- weights, counted by hand from the config (every tensor of the Hugging Face module) ------
def _mlp(hidden, inter, gated, bias):
    up = (hidden * inter + (inter if bias else 0)) * (2 if gated else 1)
    return up + inter * hidden + (hidden if bias else 0)


HAND_COUNTED = {
    # GPTBigCodeBlock: c_attn (q 2048 + one K and one V head of 128, biases), c_proj (bias),
    # ln_1 / ln_2 (weight + bias), c_fc 8192 / c_proj (biases); wte, wpe (2048 positions),
    # ln_f; lm_head tied to wte.
    "gpt-bigcode-santacoder": 24 * (2048 * (2048 + 2 * 128) + (2048 + 2 * 128) + 2048 * 2048 + 2048
                                    + 2 * 2 * 2048 + _mlp(2048, 8192, False, True))
                              + 49280 * 2048 + 2048 * 2048 + 2 * 2048,
    # PhiDecoderLayer: q/k/v/dense with biases, one input_layernorm, fc1/fc2 with biases;
    # embed_tokens, final_layernorm, lm_head with a bias.
    "phi-2-super": 32 * (4 * (2560 * 2560 + 2560) + 2 * 2560 + _mlp(2560, 10240, False, True))
                   + 51200 * 2560 + 2 * 2560 + 51200 * 2560 + 51200,
    # GPTJBlock: q/k/v/out_proj without bias, ln_1 (weight + bias), fc_in/fc_out with biases;
    # wte, ln_f, lm_head with a bias (n_inner null -> 4 x 4096).
    "gpt-j-6b": 28 * (4 * 4096 * 4096 + 2 * 4096 + _mlp(4096, 16384, False, True))
                + 50400 * 4096 + 2 * 4096 + 50400 * 4096 + 50400,
    # GLMBlock: query_key_value 4096 -> 4096 + 2 x 2 x 128 with bias (add_qkv_bias), dense
    # without; two RMSNorms; dense_h_to_4h 4096 -> 2 x 13696, dense_4h_to_h; embedding and
    # output_layer of padded_vocab_size 65024; final RMSNorm.
    "chatglm3-6b": 28 * (4096 * (4096 + 512) + (4096 + 512) + 4096 * 4096 + 2 * 4096 + _mlp(4096, 13696, True, False))
                   + 2 * 65024 * 4096 + 4096,
    # QWenBlock: c_attn 2048 -> 3 x 2048 with bias, c_proj without; ln_1 / ln_2 RMSNorm;
    # w1 / w2 of 11008 / 2 = 5504 and c_proj back; wte, lm_head (untied), ln_f.
    "qwen-1.8b": 24 * (2048 * 3 * 2048 + 3 * 2048 + 2048 * 2048 + 2 * 2048 + _mlp(2048, 5504, True, False))
                 + 2 * 151936 * 2048 + 2048,
    # DbrxBlock: Wqkv 6144 -> 6144 + 2 x 8 x 128, out_proj, two bias-free LayerNorms (weight
    # only), router 6144 -> 16, 16 GLU experts (w1, v1, w2) of 10752; wte, lm_head, norm_f.
    "dbrx": 40 * (6144 * (6144 + 2 * 1024) + 6144 * 6144 + 2 * 6144 + 6144 * 16 + 16 * 3 * 6144 * 10752)
            + 2 * 100352 * 6144 + 6144,
    # Glm4MoeDecoderLayer: q 5120 -> 96 x 128 and k/v -> 8 x 128 with biases, o without,
    # per-head q/k RMSNorm (128 each), two RMSNorms; layers 0-2 a dense MLP of 12288, layers
    # 3-91 a router (160 + its e_score_correction_bias), 160 experts and 1 shared expert of
    # 1536; embed_tokens, lm_head, norm (the MTP layer is not counted).
    "glm-4.7": 92 * (5120 * 12288 + 12288 + 2 * (5120 * 1024 + 1024) + 12288 * 5120 + 2 * 128 + 2 * 5120)
               + 3 * _mlp(5120, 12288, True, False)
               + 89 * (5120 * 160 + 160 + 161 * _mlp(5120, 1536, True, False))
               + 2 * 151552 * 5120 + 5120,
    # HunYuan A13B layer: q/o 4096 x 4096, k/v 4096 -> 8 x 128, no biases, per-head q/k
    # RMSNorm of 128; router 4096 -> 64, 64 experts and one shared MLP of 3072; two norms;
    # tied embeddings (no lm_head), final norm.
    "hunyuan-a13b-instruct": 32 * (2 * 4096 * 4096 + 2 * 4096 * 1024 + 2 * 128 + 2 * 4096 + 4096 * 64
                                   + 65 * _mlp(4096, 3072, True, False))
                             + 128167 * 4096 + 4096,
    # Qwen2MoeDecoderLayer: q/k/v 2048 x 2048 with biases, o without; router 2048 -> 60, 60
    # experts of 1408, a shared expert of 5632 and its sigmoid gate 2048 -> 1; two norms;
    # embed_tokens, lm_head, norm.
    # Ernie 4.5 dense as Llama: q 1024 -> 16 x 128, k/v -> 2 x 128, o 2048 -> 1024, no biases,
    # SwiGLU of 3072, two RMSNorms; tied embedding 103424 x 1024, final norm.
    "ernie-4.5-0.3b": 18 * (1024 * 2048 + 2 * 1024 * 256 + 2048 * 1024 + 2 * 1024 + _mlp(1024, 3072, True, False))
                      + 103424 * 1024 + 1024,
    "qwen1.5-moe-a2.7b": 24 * (3 * (2048 * 2048 + 2048) + 2048 * 2048 + 2 * 2048 + 2048 * 60
                               + 60 * _mlp(2048, 1408, True, False) + _mlp(2048, 5632, True, False) + 2048)
                         + 2 * 151936 * 2048 + 2048,
}


@pytest.mark.parametrize("name", sorted(HAND_COUNTED))
def test_parameter_count_by_hand(name):
    assert count_params(_spec(name)).total == HAND_COUNTED[name]


def test_ernie_4_5_matches_its_model_card():
    """ERNIE-4.5-0.3B-Base's model card: "Params 0.36B, Layers 18, Heads(Q/KV) 16 / 2,
    Context Length 131072" (a copy in Hchnr/early_exiting ERNIE45_03B_Base/README.md @ca9794de)."""
    spec = _spec("ernie-4.5-0.3b")
    total = count_params(spec).total
    assert total == 360_748_032 and abs(total - 0.36e9) <= 0.01 * 0.36e9
    assert (spec.num_layers, spec.num_attention_heads, spec.num_kv_heads, spec.max_position_embeddings) == (
        18, 16, 2, 131072)
