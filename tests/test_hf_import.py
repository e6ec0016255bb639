"""kvplan.hf_import: real Hugging Face config.json files -> kvplan specs.

Every fixture in tests/fixtures/hf_configs/ is a real config.json (sources in its README).
For each, the KV bytes per token in bf16, the layer kinds and windows and the head size
are derived by hand below, with the arithmetic written out, and must match exactly.
"""

from __future__ import annotations

import copy
import json
import shutil
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kvplan.errors import SpecError, UnknownNameError
from kvplan.footprint import bytes_per_token
from kvplan.formats import get_format
from kvplan.hf import spec_from_hf_config, spec_mapping_from_hf_config
from kvplan.layers import FullAttention, MLALatent, SlidingWindow, StateSpace
from kvplan.loader import load_builtin, load_model, resolve_builtin
from helpers import cli, one_line_error

FIXTURES = Path(__file__).parent / "fixtures" / "hf_configs"
BF16 = get_format("bf16")


def _config(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def _spec(name: str):
    return spec_from_hf_config(_config(name), str(FIXTURES / f"{name}.json"))


def _kinds(spec) -> Counter:
    """(kind, window or None, kv_heads or None) -> number of layers."""
    out: Counter = Counter()
    for k in spec.layers:
        out[(k.kind, getattr(k, "window", None), getattr(k, "kv_heads", None))] += 1
    return out


# fixture -> (bf16 KV bytes per token, {(kind, window, kv_heads): layers}, head_dim, hub id)
# Full attention: layers x kv_heads x (K head_dim + V head_dim) x 2 bytes.
# MLA: layers x (kv_lora_rank + qk_rope_head_dim) x 2 bytes (one latent, no K/V pair).
EXPECTED = {
    # 32 x 32 x (128 + 128) x 2 = 524,288; head_dim 4096 / 32 = 128 (not in the file)
    "llama-2-7b": (524_288, {("full_attention", None, 32): 32}, 128, "meta-llama/Llama-2-7b-hf"),
    # 32 x 8 x 256 x 2 = 131,072 (DESIGN.md's Llama-3-8B figure)
    "llama-3-8b-instruct": (131_072, {("full_attention", None, 8): 32}, 128, "meta-llama/Meta-Llama-3-8B-Instruct"),
    "llama-3.1-8b": (131_072, {("full_attention", None, 8): 32}, 128, "meta-llama/Meta-Llama-3.1-8B"),
    # 80 x 8 x 256 x 2 = 327,680
    "llama-3.1-70b": (327_680, {("full_attention", None, 8): 80}, 128, "meta-llama/Meta-Llama-3.1-70B"),
    # 28 x 8 x 256 x 2 = 114,688
    "llama-3.2-3b": (114_688, {("full_attention", None, 8): 28}, 128, "meta-llama/Llama-3.2-3B"),
    # 32 x 8 x 256 x 2 = 131,072, every layer a 4096-token window
    "mistral-7b-v0.1": (131_072, {("sliding_window", 4096, 8): 32}, 128, "mistralai/Mistral-7B-v0.1"),
    # 40 x 8 x 256 x 2 = 163,840: head_dim 128 from the file; 5120 / 32 = 160 would give 204,800
    "mistral-nemo-base-2407": (163_840, {("full_attention", None, 8): 40}, 128, "mistralai/Mistral-Nemo-Base-2407"),
    "mixtral-8x7b": (131_072, {("full_attention", None, 8): 32}, 128, "mistralai/Mixtral-8x7B-v0.1"),
    # 28 x 4 x 256 x 2 = 57,344; sliding_window 131072 is off (use_sliding_window false)
    "qwen2.5-7b": (57_344, {("full_attention", None, 4): 28}, 128, "Qwen/Qwen2.5-7B"),
    # 28 x 2 x 256 x 2 = 28,672 (the v0.9.0.1 startup log's model, tests/fixtures/startup_logs)
    "deepseek-r1-distill-qwen-1.5b": (28_672, {("full_attention", None, 2): 28}, 128,
                                      "deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B"),
    # 36 x 8 x 256 x 2 = 147,456
    "qwen3-8b": (147_456, {("full_attention", None, 8): 36}, 128, "Qwen/Qwen3-8B"),
    # 28 x 2 x 8 x 128 x 2 = 114,688 (the TensorRT-LLM PyTorch-backend log's model, tests/fixtures/startup_logs)
    "qwen3-0.6b": (114_688, {("full_attention", None, 8): 28}, 128, "Qwen/Qwen3-0.6B"),
    # 48 x 4 x 256 x 2 = 98,304: head_dim 128 from the file; 2048 / 32 = 64 would halve it
    "qwen3-30b-a3b": (98_304, {("full_attention", None, 4): 48}, 128, "Qwen/Qwen3-30B-A3B"),
    # 12 full layers (every 4th) x 2 x (256 + 256) x 2 = 24,576; 36 Gated DeltaNet layers hold state
    "qwen3-next-80b-a3b-instruct": (
        24_576, {("full_attention", None, 2): 12, ("state_space", None, None): 36}, 256,
        "Qwen/Qwen3-Next-80B-A3B-Instruct",
    ),
    # 27 x (512 + 64) x 2 = 31,104
    "deepseek-v2-lite": (31_104, {("mla", None, None): 27}, 192, "deepseek-ai/DeepSeek-V2-Lite"),
    # 61 x (512 + 64) x 2 = 70,272 (DESIGN.md's DeepSeek-V3 figure)
    "deepseek-v3": (70_272, {("mla", None, None): 61}, 192, "deepseek-ai/DeepSeek-V3"),
    "kimi-k2-instruct": (70_272, {("mla", None, None): 61}, 192, "moonshotai/Kimi-K2-Instruct"),
    # 42 x 8 x (256 + 256) x 2 = 344,064; 21 even layers slide over 4096 tokens
    "gemma-2-9b-it": (
        344_064, {("sliding_window", 4096, 8): 21, ("full_attention", None, 8): 21}, 256, "google/gemma-2-9b-it",
    ),
    # 34 x 4 x 512 x 2 = 139,264; globals at 5, 11, 17, 23, 29 (5 of them), 29 local
    "gemma-3-4b-it": (
        139_264, {("sliding_window", 1024, 4): 29, ("full_attention", None, 4): 5}, 256, "google/gemma-3-4b-it",
    ),
    # 26 x 1 x 512 x 2 = 26,624; globals at 5, 11, 17, 23 (4), 22 local of 512 tokens
    "gemma-3-1b-it": (
        26_624, {("sliding_window", 512, 1): 22, ("full_attention", None, 1): 4}, 256, "google/gemma-3-1b-it",
    ),
    # 32 x 32 x (96 + 96) x 2 = 393,216; head_dim 3072 / 32 = 96
    "phi-3-mini-4k-instruct": (
        393_216, {("sliding_window", 2047, 32): 32}, 96, "microsoft/Phi-3-mini-4k-instruct",
    ),
    # 24 x 8 x (64 + 64) x 2 = 49,152; 12 sliding (128) + 12 full
    "gpt-oss-20b": (
        49_152, {("sliding_window", 128, 8): 12, ("full_attention", None, 8): 12}, 64, "openai/gpt-oss-20b",
    ),
    # 36 x 8 x 128 x 2 = 73,728
    "gpt-oss-120b": (
        73_728, {("sliding_window", 128, 8): 18, ("full_attention", None, 8): 18}, 64, "openai/gpt-oss-120b",
    ),
    # 32 x 1 x (64 + 64) x 2 = 8,192: multi-query, 4544 / 71 = 64
    "falcon-7b-instruct": (8_192, {("full_attention", None, 1): 32}, 64, "tiiuae/falcon-7b-instruct"),
    # 60 x 8 x (64 + 64) x 2 = 122,880: new decoder architecture, 8192 / 128 = 64
    "falcon-40b-instruct": (122_880, {("full_attention", None, 8): 60}, 64, "tiiuae/falcon-40b-instruct"),
    # 12 x 12 x (64 + 64) x 2 = 36,864
    "gpt2": (36_864, {("full_attention", None, 12): 12}, 64, "openai-community/gpt2"),
    "opt-125m": (36_864, {("full_attention", None, 12): 12}, 64, "facebook/opt-125m"),
    # 4 attention layers (4, 12, 20, 28) x 8 x 256 x 2 = 16,384; 28 Mamba layers
    "jamba-1.5-mini": (
        16_384, {("full_attention", None, 8): 4, ("state_space", None, None): 28}, 128,
        "ai21labs/AI21-Jamba-1.5-Mini",
    ),
}


def test_every_fixture_has_expectations():
    # The fixtures of the later families are checked by test_hf_families.py, which also
    # asserts that every file here is covered by one of the two tables.
    on_disk = {p.stem for p in FIXTURES.glob("*.json")}
    assert set(EXPECTED) <= on_disk


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_kv_bytes_kinds_and_head_dim(name):
    per_token, kinds, head_dim, _ = EXPECTED[name]
    spec = _spec(name)
    assert bytes_per_token(spec, BF16) == per_token
    assert _kinds(spec) == Counter(kinds)
    assert spec.head_dim == head_dim
    assert len(spec.layers) == spec.num_layers


def _builtin_for(name):
    try:
        return resolve_builtin(EXPECTED[name][3])
    except UnknownNameError:
        return None


WITH_BUILTIN = sorted(n for n in EXPECTED if _builtin_for(n))
# Fixtures of models kvplan ships no built-in spec for (the importer alone is tested on them).
WITHOUT_BUILTIN = {"deepseek-r1-distill-qwen-1.5b", "falcon-40b-instruct", "gemma-3-1b-it", "jamba-1.5-mini",
                   "kimi-k2-instruct", "mistral-nemo-base-2407",
                   "opt-125m", "qwen3-0.6b", "qwen3-next-80b-a3b-instruct"}


def test_fixtures_without_builtin_are_the_known_ones():
    assert set(EXPECTED) - set(WITH_BUILTIN) == WITHOUT_BUILTIN


@pytest.mark.parametrize("name", WITH_BUILTIN)
def test_fixture_matches_builtin_spec(name):
    """Where a built-in spec exists for the model, the import agrees with it."""
    builtin = load_builtin(_builtin_for(name))
    imported = _spec(name)
    assert bytes_per_token(imported, BF16) == bytes_per_token(builtin, BF16)
    assert imported.layers == builtin.layers


SHAPE_FIELDS = (
    "hidden_size", "intermediate_size", "vocab_size", "tie_word_embeddings", "moe", "mla", "mlp_gated",
    "qkv_bias", "o_bias", "mlp_bias", "norm", "position_embedding", "position_offset", "norms_per_layer",
    "qk_norm", "attention_sinks", "weights_format", "weights_block",
)


@pytest.mark.parametrize("name", WITH_BUILTIN)
def test_fixture_weight_shapes_match_builtin_spec(name):
    """The fields parameter counts read agree with the built-in spec too; a vision tower the
    import lays out tensor by tensor (kvplan.towers) has the built-in's extra_params count."""
    from kvplan.params import count_params

    builtin = load_builtin(_builtin_for(name))
    imported = _spec(name)
    assert {f: getattr(imported, f) for f in SHAPE_FIELDS} == {f: getattr(builtin, f) for f in SHAPE_FIELDS}
    assert count_params(imported) == count_params(builtin)


def test_parameter_count_of_an_imported_spec():
    from kvplan.params import count_params

    # kvplan.params' worked example, Llama-3-8B: 32 x (41,943,040 attention + 176,160,768
    # MLP + 8,192 norms) + 2 x 128256 x 4096 (embedding, untied head) + 4096 = 8,030,261,248
    assert count_params(_spec("llama-3-8b-instruct")).total == 8_030_261_248


# -- family details ------------------------------------------------------------------------
def test_gemma2_even_layers_slide():
    spec = _spec("gemma-2-9b-it")
    # Gemma2Config: sliding when (i + 1) % 2 != 0 -> layers 0, 2, 4 ... slide.
    assert all(isinstance(k, SlidingWindow) == (i % 2 == 0) for i, k in enumerate(spec.layers))
    assert spec.norms_per_layer == 4


def test_gemma3_text_config_defaults_and_pattern():
    mapping = spec_mapping_from_hf_config(_config("gemma-3-4b-it"), "gemma-3-4b-it.json")
    # Not in the file's sparse text_config: Gemma3TextConfig's defaults.
    assert (mapping["num_attention_heads"], mapping["num_kv_heads"], mapping["head_dim"]) == (8, 4, 256)
    assert mapping["vocab_size"] == 262_208 and mapping["tie_word_embeddings"] is True
    # sliding_window_pattern 6: five local, then one global.
    assert mapping["cache"]["pattern"] == ["sliding"] * 5 + ["attention"]
    spec = _spec("gemma-3-4b-it")
    globals_ = [i for i, k in enumerate(spec.layers) if not isinstance(k, SlidingWindow)]
    assert globals_ == [5, 11, 17, 23, 29]
    assert spec.qk_norm is True


def test_gemma3_vision_tower_and_projector_counted_from_vision_config():
    spec = _spec("gemma-3-4b-it")
    # SigLIP (hidden 1152, MLP 4304, 27 layers, patch 14, image 896, no head): patch conv
    # 3 x 14 x 14 x 1152 + 1152, (896 / 14)^2 = 4096 positions x 1152, 27 x (4 x (1152^2 + 1152)
    # + 2 x 1152 x 4304 + 4304 + 1152 + 4 x 1152), post-LayerNorm 2 x 1152 = 416,866,032;
    # projector 1152 x 2560 + 1152 = 2,950,272 (the built-in gemma3-4b's figures).
    tower = 3 * 14 * 14 * 1152 + 1152 + 4096 * 1152 + 27 * (4 * (1152**2 + 1152) + 2 * 1152 * 4304 + 4304
                                                          + 1152 + 4 * 1152) + 2 * 1152
    assert spec.vision_tower.numel == tower == 416_866_032 and spec.weights_unknown == ()
    assert spec.vision_projector.numel == 1152 * 2560 + 1152


def test_gemma3_vision_tower_with_a_head_blocks_weights():
    cfg = _config("gemma-3-4b-it")
    cfg["vision_config"]["vision_use_head"] = True
    assert spec_from_hf_config(cfg, "g.json").weights_unknown == (
        "vision_config (not a SigLIP tower without a pooling head)",)


def test_gemma3_layer_types_win_over_pattern():
    cfg = _config("gemma-3-4b-it")
    cfg["text_config"]["layer_types"] = ["full_attention"] * 34
    spec = spec_from_hf_config(cfg, "g.json")
    # 34 x 4 x 512 x 2 = 139,264, all full attention now
    assert _kinds(spec) == Counter({("full_attention", None, 4): 34})


def test_mistral_null_window_and_missing_window():
    nemo = _spec("mistral-nemo-base-2407")  # "sliding_window": null
    assert not any(isinstance(k, SlidingWindow) for k in nemo.layers)
    cfg = _config("mistral-7b-v0.1")
    del cfg["sliding_window"]  # absent: MistralConfig's default, 4096
    spec = spec_from_hf_config(cfg, "m.json")
    assert {k.window for k in spec.layers} == {4096}


def test_qwen2_use_sliding_window_false_ignores_the_window():
    mapping = spec_mapping_from_hf_config(_config("qwen2.5-7b"), "q.json")
    assert "cache" not in mapping
    assert "use_sliding_window is false" in mapping["notes"]


def test_qwen2_use_sliding_window_true_slides_from_max_window_layers():
    cfg = _config("qwen2.5-7b")
    cfg.update(use_sliding_window=True, max_window_layers=20)
    mapping = spec_mapping_from_hf_config(cfg, "q.json")
    # layers 0-19 full, 20-27 slide: irregular, so an explicit layer_types list
    assert mapping["cache"]["layer_types"] == ["attention"] * 20 + ["sliding"] * 8
    spec = spec_from_hf_config(cfg, "q.json")
    assert {k.window for k in spec.layers[20:]} == {131_072}
    # the same 28 x 4 x 256 x 2 = 57,344 bytes for each new token
    assert bytes_per_token(spec, BF16) == 57_344


def test_qwen2_window_reaching_every_layer_is_noted():
    cfg = _config("qwen2.5-7b")
    cfg["use_sliding_window"] = True  # max_window_layers 28 == num_hidden_layers
    mapping = spec_mapping_from_hf_config(cfg, "q.json")
    assert "cache" not in mapping and "no layer slides" in mapping["notes"]


def test_qwen2_biases_and_qwen3_qk_norm():
    assert _spec("qwen2.5-7b").qkv_bias is True and _spec("qwen2.5-7b").o_bias is False
    assert _spec("qwen3-8b").qk_norm is True and _spec("qwen3-8b").qkv_bias is False


def test_qwen3_moe_block():
    moe = _spec("qwen3-30b-a3b").moe
    assert (moe.num_experts, moe.experts_per_token, moe.expert_intermediate_size) == (128, 8, 768)
    assert (moe.first_dense_layers, moe.layer_freq) == (0, 1)


def test_deepseek_mla_and_moe():
    spec = _spec("deepseek-v3")
    assert {k for k in spec.layers} == {MLALatent(kv_lora_rank=512, qk_rope_head_dim=64)}
    assert (spec.mla.q_lora_rank, spec.mla.qk_nope_head_dim, spec.mla.v_head_dim) == (1536, 128, 128)
    moe = spec.moe
    assert (moe.num_experts, moe.experts_per_token, moe.expert_intermediate_size) == (256, 8, 2048)
    assert (moe.num_shared_experts, moe.first_dense_layers, moe.layer_freq, moe.router_bias) == (1, 3, 1, True)
    assert spec.weights_format == "fp8_e4m3"
    assert "multi-token-prediction" in spec.notes
    lite = _spec("deepseek-v2-lite")
    assert lite.mla.q_lora_rank is None  # null in the file: queries not compressed
    assert (lite.moe.num_shared_experts, lite.moe.first_dense_layers, lite.moe.router_bias) == (2, 1, False)
    kimi = _spec("kimi-k2-instruct")
    assert (kimi.moe.num_experts, kimi.moe.first_dense_layers) == (384, 1)


def test_deepseek_layer_freq_that_moe_block_cannot_express():
    cfg = _config("deepseek-v3")
    cfg["moe_layer_freq"] = 2  # first_k_dense_replace 3 is odd: layers 4, 6, ... are MoE
    mapping = spec_mapping_from_hf_config(cfg, "d.json")
    # Experts never change the cache: KV sizing goes on (61 x 576 x 2), weights refuse.
    assert "moe_layer_freq 2 with first_k_dense_replace 3" in mapping["weights_unknown"][0]
    spec = spec_from_hf_config(cfg, "d.json")
    assert bytes_per_token(spec, BF16) == 70_272
    with pytest.raises(SpecError, match="weight figures need moe_layer_freq 2 with first_k_dense_replace 3"):
        spec.require_weight_fields()


def test_gpt_oss_layer_types_moe_and_mxfp4():
    spec = _spec("gpt-oss-20b")
    assert [isinstance(k, SlidingWindow) for k in spec.layers] == [True, False] * 12
    assert (spec.moe.num_experts, spec.moe.experts_per_token, spec.moe.expert_intermediate_size) == (32, 4, 2880)
    assert spec.moe.router_bias and spec.moe.expert_bias and spec.attention_sinks
    assert spec.qkv_bias and spec.o_bias
    assert spec.weights_format == "mxfp4"
    assert spec.weights_exclude == (
        "model.layers.*.self_attn", "model.layers.*.mlp.router", "model.embed_tokens", "lm_head",
    )
    assert spec.dtype == "bf16" and any("no torch_dtype" in a for a in spec.assumptions)


def test_falcon_kv_heads_rules():
    f7 = _spec("falcon-7b-instruct")
    assert f7.num_kv_heads == 1 and "num_kv_heads 71 ignored" in f7.notes
    assert (f7.norm, f7.mlp_gated, f7.norms_per_layer) == ("layernorm", False, 1)
    assert f7.intermediate_size == 4 * 4544 and f7.tie_word_embeddings is True
    f40 = _spec("falcon-40b-instruct")
    assert f40.num_kv_heads == 8 and f40.norms_per_layer == 2


def test_falcon_original_refinedweb_keys():
    """The same Falcon-40B written the RefinedWeb way (n_layer, n_head, n_head_kv, no
    new_decoder_architecture key) reads the same."""
    cfg = _config("falcon-40b-instruct")
    for old, new in (("num_hidden_layers", "n_layer"), ("num_attention_heads", "n_head"), ("num_kv_heads", "n_head_kv")):
        cfg[new] = cfg.pop(old)
    del cfg["new_decoder_architecture"]
    cfg["model_type"] = "RefinedWeb"
    spec = spec_from_hf_config(cfg, "f.json")
    assert bytes_per_token(spec, BF16) == 122_880  # 60 x 8 x 128 x 2
    # falcon-7b's type, but 8192 wide: vLLM's RWConfig builds the new architecture for any
    # RefinedWeb config of hidden_size 8192 (transformers_utils/configs/falcon.py:77-79, 0.19.1),
    # so n_head_kv stands (tests/test_hf_leftovers.py has the 4544-wide multi-query case).
    cfg["model_type"] = "RefinedWebModel"
    assert spec_from_hf_config(cfg, "f.json").num_kv_heads == 8


def test_gpt2_and_opt_shapes():
    gpt2 = _spec("gpt2")
    assert gpt2.intermediate_size == 4 * 768  # n_inner absent -> 4 x n_embd
    assert (gpt2.max_position_embeddings, gpt2.position_embedding, gpt2.norm) == (1024, "learned", "layernorm")
    assert gpt2.qkv_bias and gpt2.o_bias and gpt2.mlp_bias and not gpt2.mlp_gated and gpt2.tie_word_embeddings
    opt = _spec("opt-125m")
    assert (opt.intermediate_size, opt.position_offset, opt.dtype) == (3072, 2, "fp16")
    assert opt.position_embedding == "learned" and not opt.mlp_gated and opt.tie_word_embeddings


def test_jamba_mamba_state_and_experts():
    spec = _spec("jamba-1.5-mini")
    mamba = StateSpace(conv_dim=8192, conv_kernel=4, ssm_heads=8192, ssm_head_dim=1, ssm_state_size=16,
                       state_dtype="bf16")
    assert [i for i, k in enumerate(spec.layers) if isinstance(k, FullAttention)] == [4, 12, 20, 28]
    assert all(k == mamba for k in spec.layers if isinstance(k, StateSpace))
    # d_inner = 2 x 4096 = 8192: conv 8192 x (4 - 1) = 24,576 + state 8192 x 16 = 131,072
    # values, x 2 bytes = 311,296 per layer; 28 layers = 8,716,288 bytes per sequence
    assert sum(k.state_bytes() for k in spec.layers) == 8_716_288
    assert [i for i in range(32) if spec.moe.is_moe_layer(i)] == list(range(1, 32, 2))
    assert spec.position_embedding == "none"


def test_qwen3_next_gated_deltanet_state():
    spec = _spec("qwen3-next-80b-a3b-instruct")
    assert [i for i, k in enumerate(spec.layers) if isinstance(k, FullAttention)] == list(range(3, 48, 4))
    # key_dim 16 x 128 = 2048, value_dim 32 x 128 = 4096: conv (2 x 2048 + 4096) x 3 = 24,576
    # + state 32 x 128 x 128 = 524,288 values, x 2 bytes = 1,097,728 per layer; 36 layers
    assert sum(k.state_bytes() for k in spec.layers) == 36 * 1_097_728 == 39_518_208
    moe = spec.moe
    assert (moe.num_experts, moe.experts_per_token, moe.num_shared_experts, moe.shared_expert_gate) == (512, 10, 1, True)


# -- generic reading ------------------------------------------------------------------------
def test_keys_without_a_shape_are_noted_and_change_nothing():
    cfg = _config("llama-3.1-8b")
    noisy = copy.deepcopy(cfg)
    # rope_scaling, dropout and token ids are on the allow-list; another_flag fits no shaping name.
    noisy.update(another_flag=True, rope_scaling={"new": "thing"}, resid_dropout=0.1, image_token_id=5)
    quiet, loud = spec_mapping_from_hf_config(cfg, "a.json"), spec_mapping_from_hf_config(noisy, "a.json")
    assert loud.pop("notes") == "not read (judged not to shape the cache or the weights): another_flag"
    assert loud == quiet


# Fields from real configs (issue 10) that change the cache: none may be dropped silently.
CACHE_FIELDS = [
    ("attention_chunk_size", 8192), ("no_rope_layers", [1, 1, 1, 0]), ("multi_query", True),
    ("hybrid_override_pattern", "M-M-M*"), ("kv_channels", 128), ("local_window_layout", [1, 0]),
    ("block_configs", [{"attention": {"n_heads_in_group": 8}}]), ("swa_num_key_value_heads", 4),
    ("index_head_dim", 128), ("mamba_ssm_cache_dtype", "float32"), ("attn_type_list", [0, 1]),
    ("multi_query_group_num", 2), ("kv_lora_rank", 512), ("sliding_window", 4096), ("layer_types", ["x"]),
    ("attn_config", {"kv_n_heads": 8}), ("n_layers", 40), ("num_cross_layers", 2),
]


@pytest.mark.parametrize("model_type", ["llama", "brand_new_llm"])
@pytest.mark.parametrize("key, value", CACHE_FIELDS)
def test_an_unread_field_that_may_shape_the_cache_is_refused(key, value, model_type):
    cfg = _config("llama-3.1-8b")
    cfg.update({key: value, "model_type": model_type})
    with pytest.raises(SpecError) as err:
        spec_mapping_from_hf_config(cfg, "a.json")
    assert str(err.value).startswith(
        f"a.json: {key} is a field kvplan does not read for model_type {model_type!r}, and it may shape the KV cache"
    )


@pytest.mark.parametrize("key, value", [
    ("num_local_experts", 16), ("interleave_moe_layer_step", 1), ("vision_config", {"hidden_size": 1024}),
    ("padded_vocab_size", 65024), ("moe_intermediate_size", 1408), ("projector_hidden_size", 4096),
])
def test_an_unread_weight_field_blocks_weights_not_kv(key, value):
    cfg = _config("llama-3.1-8b")
    cfg[key] = value
    spec = spec_from_hf_config(cfg, "a.json")
    assert bytes_per_token(spec, BF16) == 131_072  # 32 x 8 x 256 x 2: experts never change the cache
    assert spec.weights_unknown == (f"{key} (not read for model_type 'llama')",)
    with pytest.raises(SpecError, match=f"a.json: weight figures need {key} "):
        spec.require_weight_fields()


def test_kv_sizing_needs_no_vocab_or_mlp_width():
    cfg = _config("llama-3.1-8b")
    del cfg["vocab_size"], cfg["intermediate_size"]
    spec = spec_from_hf_config(cfg, "a.json")
    assert (spec.vocab_size, spec.intermediate_size) == (None, None)
    assert bytes_per_token(spec, BF16) == 131_072
    with pytest.raises(SpecError, match=r"a.json: weight figures need vocab_size \(missing\); "
                                        r"intermediate_size \(missing\); KV sizing"):
        spec.require_weight_fields()


def test_missing_num_key_value_heads_means_mha():
    cfg = _config("llama-3.1-8b")
    del cfg["num_key_value_heads"]
    assert spec_from_hf_config(cfg, "a.json").num_kv_heads == 32


@pytest.mark.parametrize("key, value, dtype", [
    ("torch_dtype", "float16", "fp16"), ("torch_dtype", "float32", "fp32"), ("dtype", "bfloat16", "bf16"),
])
def test_dtype_mapping(key, value, dtype):
    cfg = _config("llama-3.1-8b")
    del cfg["torch_dtype"]
    cfg[key] = value
    assert spec_mapping_from_hf_config(cfg, "a.json")["dtype"] == dtype


def test_float32_checkpoint_is_planned_as_each_engine_serves_it():
    """The spec keeps float32 (and says what engines do with it); each engine resolves it:
    vLLM 0.19.1's _resolve_auto_dtype downcasts to bf16 on compute capability >= 8.0 and fp16
    below, vLLM 0.8.3 to fp16 (kvplan.engines.vllm_rules auto_dtype)."""
    from kvplan.capacity import make_request

    cfg = _config("llama-3.1-8b")
    cfg["torch_dtype"] = "float32"
    spec = spec_from_hf_config(cfg, "a.json")
    assert spec.dtype == "fp32" and "stored in float32" in spec.notes
    assert make_request(spec, "h100", engine="vllm==0.19.1").spec.dtype == "bf16"
    assert make_request(spec, "h100", engine="vllm==0.8.3").spec.dtype == "fp16"
    assert make_request(spec, "t4", engine="vllm==0.19.1", max_model_len=4096).spec.dtype == "fp16"
    assert make_request(spec, "h100", engine="raw").spec.dtype == "fp32"


def test_missing_dtype_is_bf16_with_an_assumption_and_unknown_dtype_is_refused():
    cfg = _config("llama-3.1-8b")
    del cfg["torch_dtype"]
    mapping = spec_mapping_from_hf_config(cfg, "a.json")
    assert mapping["dtype"] == "bf16" and "bf16 assumed" in mapping["assumptions"][0]
    cfg["torch_dtype"] = "float8_e4m3fn"
    with pytest.raises(SpecError, match="a.json: torch_dtype 'float8_e4m3fn' is not one of"):
        spec_mapping_from_hf_config(cfg, "a.json")


@pytest.mark.parametrize("field, value, message", [
    ("num_hidden_layers", 0, "num_hidden_layers must be a positive integer, got 0"),
    ("hidden_size", "4096", "hidden_size must be a positive integer, got '4096'"),
    ("num_attention_heads", True, "num_attention_heads must be a positive integer, got True"),
])
def test_bad_values_name_the_field(field, value, message):
    cfg = _config("llama-3.1-8b")
    cfg[field] = value
    with pytest.raises(SpecError, match=message):
        spec_mapping_from_hf_config(cfg, "a.json")


def test_names_from_name_or_path_folder_or_argument():
    cfg = _config("llama-2-7b")  # "_name_or_path": "meta-llama/Llama-2-7b-hf"
    assert spec_mapping_from_hf_config(cfg, "x/config.json")["name"] == "llama-2-7b-hf"
    del cfg["_name_or_path"]
    m = spec_mapping_from_hf_config(cfg, "models/Llama 2 (7B)/config.json")
    assert (m["name"], m["display_name"], m["source"]) == ("llama-2-7b", "Llama 2 (7B)", "models/Llama 2 (7B)/config.json")
    m = spec_mapping_from_hf_config(cfg, "c.json", name="My_Model", source="https://example.org/c.json")
    assert (m["name"], m["source"]) == ("my_model", "https://example.org/c.json")


def test_unknown_model_type_with_understood_fields_proceeds_with_assumptions():
    cfg = _config("llama-3.1-8b")
    cfg["model_type"] = "brand_new_llm"
    mapping = spec_mapping_from_hf_config(cfg, "a.json")
    assert mapping["assumptions"][0] == "model_type 'brand_new_llm' has no reader in kvplan"
    assert mapping["weights_unknown"][0].startswith("the weight shapes of a model_type kvplan has no reader for")
    assert bytes_per_token(spec_from_hf_config(cfg, "a.json"), BF16) == 131_072


@settings(max_examples=60, deadline=None)
@given(
    layers=st.integers(1, 96),
    kv=st.sampled_from([1, 2, 4, 8]),
    group=st.sampled_from([1, 2, 4, 8]),
    head_dim=st.sampled_from([64, 80, 96, 128, 256]),
)
def test_llama_style_bytes_per_token_property(layers, kv, group, head_dim):
    """Any Llama-style config: layers x kv_heads x 2 x head_dim x 2 bytes per token."""
    heads = kv * group
    cfg = {"model_type": "llama", "num_hidden_layers": layers, "hidden_size": heads * head_dim,
           "num_attention_heads": heads, "num_key_value_heads": kv, "vocab_size": 32000,
           "intermediate_size": 4 * heads * head_dim, "max_position_embeddings": 4096, "torch_dtype": "bfloat16"}
    assert bytes_per_token(spec_from_hf_config(cfg, "p.json"), BF16) == layers * kv * 2 * head_dim * 2


@settings(max_examples=80, deadline=None)
@given(types=st.lists(st.sampled_from(["sliding_attention", "full_attention"]), min_size=1, max_size=40))
def test_layer_types_survive_pattern_compression(types):
    """Whatever layer_types list a config gives, the spec (pattern or explicit list)
    puts the same kind on every layer."""
    cfg = {"model_type": "gpt_oss", "num_hidden_layers": len(types), "hidden_size": 512,
           "num_attention_heads": 8, "num_key_value_heads": 2, "head_dim": 64, "vocab_size": 1000,
           "intermediate_size": 512, "layer_types": types, "sliding_window": 128,
           "num_local_experts": 4, "num_experts_per_tok": 2, "torch_dtype": "bfloat16"}
    spec = spec_from_hf_config(cfg, "p.json")
    assert [isinstance(k, SlidingWindow) for k in spec.layers] == [t == "sliding_attention" for t in types]


# -- through the CLI and the loader --------------------------------------------------------
@pytest.fixture
def no_layers(tmp_path):
    cfg = _config("llama-3.1-8b")
    del cfg["num_hidden_layers"]
    path = tmp_path / "config.json"
    path.write_text(json.dumps(cfg), encoding="utf-8")
    return path


@pytest.mark.parametrize("command", [["size"], ["import"], ["show"]])
def test_cli_missing_num_hidden_layers_is_one_line_exit_2(capsys, no_layers, command):
    code, out, err = cli(capsys, *command, no_layers)
    assert code == 2 and out == ""
    assert one_line_error(err) == f"kvplan: error: {no_layers}: missing num_hidden_layers (or n_layer / num_layers)"


@pytest.mark.parametrize("command", [["size"], ["import"]])
def test_cli_malformed_json_is_one_line_exit_2(capsys, tmp_path, command):
    path = tmp_path / "config.json"
    path.write_text('{"model_type": "llama",\n  "num_hidden_layers": 32,,\n}', encoding="utf-8")
    code, out, err = cli(capsys, *command, path)
    assert code == 2 and out == ""
    line = one_line_error(err)
    assert line.startswith(f"kvplan: error: {path}: malformed JSON (line 2, column ")


PROBE = {"model_type": "probe_unknown_arch", "architectures": ["ProbeForCausalLM"], "hidden_size": 1024,
         "num_hidden_layers": 8, "num_attention_heads": 16, "num_key_value_heads": 4, "head_dim": 64,
         "intermediate_size": 4096, "vocab_size": 32000, "max_position_embeddings": 8192,
         "local_window_layout": [1, 0, 1, 0, 1, 0, 1, 0], "torch_dtype": "bfloat16"}


@pytest.mark.parametrize("command", [["size"], ["show"], ["capacity", "--gpu", "h100"], ["import"]])
def test_cli_unknown_architecture_with_an_unread_cache_field_exits_2(capsys, tmp_path, command):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(PROBE), encoding="utf-8")
    code, out, err = cli(capsys, command[0], path, *command[1:])
    assert code == 2 and out == ""
    assert one_line_error(err).startswith(
        f"kvplan: error: {path}: local_window_layout is a field kvplan does not read for model_type "
        "'probe_unknown_arch', and it may shape the KV cache; write a spec by hand (a draft: kvplan import CONFIG "
        "--ignore local_window_layout")


def test_cli_unknown_architecture_proceeds_with_one_warning_and_assumptions_in_json(capsys, tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({k: v for k, v in PROBE.items() if k != "local_window_layout"}), encoding="utf-8")
    code, out, err = cli(capsys, "size", path, "--ctx", "4096", "--kv-dtype", "bf16", "--json")
    assert code == 0
    warning = one_line_error(err)
    assert warning.startswith(f"kvplan: warning: {tmp_path.name.lower()}: assumed: model_type "
                              "'probe_unknown_arch' has no reader")
    data = json.loads(out)
    # 8 layers x 4 KV heads x (64 + 64) x 2 B = 8,192 B per token
    assert data["formats"][0]["bytes_per_token"] == 8_192
    assert data["assumptions"][0] == "model_type 'probe_unknown_arch' has no reader in kvplan"
    code, out, _ = cli(capsys, "show", path, "--json")
    assert code == 0 and json.loads(out)["spec"]["assumptions"][0].startswith("model_type 'probe_unknown_arch'")


def test_cli_capacity_names_a_missing_weight_field_while_size_goes_on(capsys, tmp_path):
    cfg = _config("llama-3.1-8b")
    del cfg["vocab_size"]
    path = tmp_path / "config.json"
    path.write_text(json.dumps(cfg), encoding="utf-8")
    code, out, _ = cli(capsys, "size", path, "--ctx", "8k", "--kv-dtype", "bf16", "--json")
    assert code == 0 and json.loads(out)["formats"][0]["bytes_per_token"] == 131_072
    code, out, err = cli(capsys, "capacity", path, "--gpu", "h100")
    assert code == 2 and out == ""
    assert one_line_error(err).startswith(f"kvplan: error: {path}: weight figures need vocab_size (missing)")


def test_cli_import_ignore_writes_a_draft_with_the_field_as_an_assumption(capsys, tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(PROBE), encoding="utf-8")
    code, out, _ = cli(capsys, "import", path, "--ignore", "local_window_layout")
    assert code == 0
    assert "local_window_layout ignored at the user" in out
    code, out, err = cli(capsys, "import", path, "--ignore", "no_such_field")
    assert code == 2 and one_line_error(err) == f"kvplan: error: {path}: --ignore no_such_field: the config has no such field"


def test_cli_size_reads_a_config_folder(capsys, tmp_path):
    folder = tmp_path / "Mistral-7B-v0.1"
    folder.mkdir()
    shutil.copy(FIXTURES / "mistral-7b-v0.1.json", folder / "config.json")
    code, out, _ = cli(capsys, "size", folder, "--ctx", "8k", "--kv-dtype", "bf16", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["model"] == "mistral-7b-v0.1"  # from the folder's name
    fmt = data["formats"][0]
    # 131,072 B per token, but each layer keeps at most 4096 tokens: 4096 x 131,072 = 536,870,912
    assert fmt["bytes_per_token"] == 131_072
    assert fmt["total_bytes"] == 4096 * 131_072


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_cli_import_round_trip(capsys, tmp_path, name):
    src = FIXTURES / f"{name}.json"
    out_path = tmp_path / "spec.yaml"
    code, out, err = cli(capsys, "import", src, "-o", out_path)
    assert code == 0 and out == "" and "wrote" in err
    assert load_model(str(out_path)) == spec_from_hf_config(_config(name), str(src))


def test_cli_import_to_stdout_and_source_option(capsys):
    url = "https://huggingface.co/deepseek-ai/DeepSeek-V3/blob/main/config.json"
    code, out, _ = cli(capsys, "import", FIXTURES / "deepseek-v3.json", "--name", "dsv3", "--source", url)
    assert code == 0
    assert out.startswith("name: dsv3\n") and f"source: {url}\n" in out


def test_cli_import_unwritable_output_leaves_no_file(capsys, tmp_path):
    target = tmp_path / "missing-folder" / "spec.yaml"
    code, _, err = cli(capsys, "import", FIXTURES / "gpt2.json", "-o", target)
    assert code == 2 and "does not exist" in one_line_error(err)
    assert not target.parent.exists()


def test_cli_import_bad_config_keeps_existing_output(capsys, tmp_path, no_layers):
    target = tmp_path / "spec.yaml"
    target.write_text("previous contents\n", encoding="utf-8")
    code, _, err = cli(capsys, "import", no_layers, "-o", target)
    assert code == 2 and "missing num_hidden_layers" in one_line_error(err)
    assert target.read_text(encoding="utf-8") == "previous contents\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json", "spec.yaml"]


# -- quantization_config ---------------------------------------------------------------------
def _with_quant(q: dict):
    cfg = _config("llama-3.1-8b")
    cfg["quantization_config"] = q
    return spec_from_hf_config(cfg, "quant.json")


def _ct(weights: dict, ignore=("lm_head",)) -> dict:
    # the shape llm-compressor writes (compressed-tensors)
    return {"quant_method": "compressed-tensors", "format": "pack-quantized", "ignore": list(ignore),
            "config_groups": {"group_0": {"targets": ["Linear"], "weights": weights}}}


@pytest.mark.parametrize(
    "weights, fmt",
    [
        ({"num_bits": 8, "type": "float", "strategy": "channel"}, "fp8_e4m3"),
        ({"num_bits": 8, "type": "int", "strategy": "channel"}, "int8"),
        ({"num_bits": 4, "type": "int", "strategy": "group", "group_size": 128}, "int4"),
        ({"num_bits": 4, "type": "float", "strategy": "group", "group_size": 32}, "mxfp4"),
    ],
)
def test_compressed_tensors_formats(weights, fmt):
    spec = _with_quant(_ct(weights, ignore=["lm_head", "re:.*mlp.gate$"]))
    assert spec.weights_format == fmt
    assert spec.weights_exclude == ("lm_head", "re:.*mlp.gate$")


def test_unread_quantization_blocks_weights_not_kv():
    # NVFP4 (4-bit float, groups of 16) has no weight format in kvplan: weights refuse, KV goes on
    spec = _with_quant(_ct({"num_bits": 4, "type": "float", "strategy": "tensor_group", "group_size": 16}))
    assert spec.weights_format is None
    assert spec.weights_unknown == ("quantization_config (quant_method 'compressed-tensors' is not a storage "
                                    "format kvplan reads)",)
    assert bytes_per_token(spec, BF16) == 131_072


def test_fp8_weight_block_size_is_read():
    # DeepSeek-V3's config.json: weight_block_size [128, 128] (vLLM's fp8 MoE kernel choice reads it)
    assert _spec("deepseek-v3").weights_block == (128, 128)
    assert _with_quant({"quant_method": "fp8", "weight_block_size": [128, 64]}).weights_block == (128, 64)
    # per-tensor / per-channel fp8 has none; other methods never carry one
    assert _with_quant({"quant_method": "fp8", "activation_scheme": "dynamic"}).weights_block is None
    assert _with_quant(_ct({"num_bits": 8, "type": "float", "strategy": "channel"})).weights_block is None


def test_fp8_with_mxfp4_experts_blocks_weights_not_kv():
    # vLLM 0.24.0 Fp8Config: store_dtype "mxfp4" gives the experts Mxfp4MoEMethod (quantization/fp8.py
    # :208-213); kvplan would otherwise plan them as fp8 (block fp8 on Hopper: TritonExperts)
    spec = _with_quant({"quant_method": "fp8", "weight_block_size": [128, 128], "store_dtype": "mxfp4"})
    assert (spec.weights_format, spec.weights_block) == (None, None)
    assert spec.weights_unknown == ("quantization_config (quant_method 'fp8' with store_dtype 'mxfp4': mxfp4 "
                                    "experts beside fp8 layers, which kvplan does not read)",)
    assert bytes_per_token(spec, BF16) == 131_072
    # any other store_dtype is not read by vLLM either: fp8 as before
    assert _with_quant({"quant_method": "fp8", "store_dtype": "fp8"}).weights_format == "fp8_e4m3"


@pytest.mark.parametrize("block", [[128], [128, 0], "128x128", [128.0, 128], [True, 128]])
def test_fp8_weight_block_size_malformed_is_refused(block):
    with pytest.raises(Exception, match="weight_block_size must be two positive integers"):
        _with_quant({"quant_method": "fp8", "weight_block_size": block})


def test_fp8_ignored_layers_are_read():
    spec = _with_quant({"quant_method": "fp8", "activation_scheme": "dynamic", "ignored_layers": ["lm_head"]})
    assert (spec.weights_format, spec.weights_exclude) == ("fp8_e4m3", ("lm_head",))


def test_compressed_tensors_fp8_weights_match_the_vllm_log():
    # Log A019 (vLLM v0.19, H100): Llama-3.1-8B with fp8 weights loads 8.49 GiB
    from kvplan.capacity import plan_capacity

    spec = _with_quant(_ct({"num_bits": 8, "type": "float", "strategy": "channel"}))
    cap = plan_capacity(spec, "h100", gpu_memory_utilization=0.95, max_model_len=8192)
    assert round(cap.weights_bytes / 2**30, 2) == 8.49


# -- attention logit soft-capping: Gemma 2 reads it; final_logit_softcapping (the LM head) stays ignored
def test_gemma2_reads_attn_logit_softcapping():
    config = _config("gemma-2-9b-it")
    assert (config["attn_logit_softcapping"], config["final_logit_softcapping"]) == (50.0, 30.0)
    assert _spec("gemma-2-9b-it").attn_logit_softcapping == 50.0
    for value, want in ((30, 30.0), (None, None)):
        assert spec_from_hf_config({**config, "attn_logit_softcapping": value}, "g.json").attn_logit_softcapping == want
    absent = {k: v for k, v in config.items() if k != "attn_logit_softcapping"}
    assert spec_from_hf_config(absent, "g.json").attn_logit_softcapping == 50.0  # Gemma2Config default
    for bad in (0, -1.0, "50", True):
        with pytest.raises(SpecError, match=r"^g\.json: attn_logit_softcapping must be a positive number or null, "
                                            r"got "):
            spec_from_hf_config({**config, "attn_logit_softcapping": bad}, "g.json")


def test_a_spec_without_attn_logit_softcapping_has_none():
    assert _spec("gemma-3-4b-it").attn_logit_softcapping is None
    assert load_builtin("llama3-8b").attn_logit_softcapping is None


def test_a_family_that_does_not_read_the_cap_refuses_a_non_null_one():
    config = _config("llama-3-8b-instruct")
    with pytest.raises(SpecError, match=r"attn_logit_softcapping is a field kvplan does not read for model_type "
                                        r"'llama'"):
        spec_from_hf_config({**config, "attn_logit_softcapping": 50.0}, "l.json")
    # null, and the LM head's final_logit_softcapping: nothing to refuse
    assert spec_from_hf_config({**config, "attn_logit_softcapping": None, "final_logit_softcapping": 30.0},
                               "l.json").attn_logit_softcapping is None
