"""A config.json without its KV-head key reads the transformers class default, as vLLM does.

transformers fills an absent key from the config class's ``__init__`` default (and writes a
nested text_config as a diff against those defaults), and vLLM loads configs through it. The
figures below are the class defaults read from transformers v4.57.1
(``models/<m>/configuration_<m>.py``), written out here, not taken from kvplan's tables:
MistralConfig(num_key_value_heads=8), Gemma2Config(num_key_value_heads=4), LlamaConfig(None:
"if num_key_value_heads is None: num_key_value_heads = num_attention_heads") and so on. A class
whose default kvplan has not read (remote code) is refused; two KV-head keys that disagree too.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from kvplan.errors import SpecError
from kvplan.formats import get_format
from kvplan.hf import spec_from_hf_config
from kvplan.layer_sums import bytes_per_token, model_terms, seq_bytes
from helpers import cli, one_line_error

FIXTURES = Path(__file__).parent / "fixtures" / "hf_configs"
KV_KEYS = ("num_key_value_heads", "num_kv_heads", "n_head_kv")
HEADS = "heads"  # the class turns a missing (None) value into num_attention_heads


def _config(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def _text(config: dict) -> dict:
    """The mapping that holds the text model's sizes (text_config for a wrapper)."""
    return config.get("text_config") or config


def _without_kv(name: str) -> dict:
    config = copy.deepcopy(_config(name))
    for key in KV_KEYS:
        _text(config).pop(key, None)
    return config


def _seq_bytes(spec, n: int = 3000) -> int:
    return seq_bytes(model_terms(spec), n, get_format(spec.dtype))


# fixture -> (model_type of the text model, the class's default when the key is absent).
# Source: transformers v4.57.1 models/<m>/configuration_<m>.py, the __init__ signature; for
# classes with no KV-head key at all (GPT-2, OPT, GPT-J, remote-code QWen / Baichuan) vLLM's
# model builds num_heads K/V heads (gpt2.py, opt.py, gpt_j.py, qwen.py, baichuan.py).
CLASS_DEFAULTS = {
    "llama-3.1-8b": ("llama", HEADS),                       # LlamaConfig None
    "llava-1.5-7b": ("llama", HEADS),                       # LLaVA's text_config: LlamaConfig
    "mistral-7b-v0.1": ("mistral", 8),                      # MistralConfig 8
    "mistral-nemo-base-2407": ("mistral", 8),
    "mixtral-8x7b": ("mixtral", 8),                         # MixtralConfig 8
    "qwen3-8b": ("qwen3", 32),                              # Qwen3Config 32
    "qwen3-30b-a3b": ("qwen3_moe", 4),                      # Qwen3MoeConfig 4
    "qwen3-next-80b-a3b-instruct": ("qwen3_next", 2),       # Qwen3NextConfig 2
    "qwen3-vl-8b-instruct": ("qwen3_vl_text", 32),          # Qwen3VLTextConfig 32
    "qwen3-vl-30b-a3b-instruct": ("qwen3_vl_moe_text", 16),  # Qwen3VLMoeTextConfig 16 (not Qwen3MoeConfig's 4)
    "phi-3-mini-4k-instruct": ("phi3", HEADS),              # Phi3Config None
    "phi-2-super": ("phi", HEADS),                          # PhiConfig None
    "gemma-2-9b-it": ("gemma2", 4),                         # Gemma2Config 4
    "gemma-3-4b-it": ("gemma3_text", 4),                    # Gemma3TextConfig 4
    "deepseek-v2-lite": ("deepseek_v2", HEADS),             # DeepseekV2Config None
    "deepseek-v3": ("deepseek_v3", 128),                    # DeepseekV3Config 128
    "kimi-k2-instruct": ("kimi_k2", HEADS),                 # MLA: the count is unused (below)
    "deepseek-v3.2": ("deepseek_v32", 128),                 # vLLM: deepseek_v32 -> DeepseekV3Config
    "gpt-oss-20b": ("gpt_oss", 8),                          # GptOssConfig 8
    "falcon-40b-instruct": ("falcon", HEADS),               # FalconConfig num_kv_heads None
    "gpt2": ("gpt2", HEADS),
    "opt-125m": ("opt", HEADS),
    "gpt-j-6b": ("gptj", HEADS),
    "qwen-1.8b": ("qwen", HEADS),
    "baichuan2-7b": ("baichuan", HEADS),
    "jamba-1.5-mini": ("jamba", 8),                         # JambaConfig 8
    "starcoder2-7b": ("starcoder2", 2),                     # Starcoder2Config 2
    "llama-4-scout-17b-16e-instruct": ("llama4_text", 8),   # Llama4TextConfig 8
    "stablelm-2-zephyr-1.6b": ("stablelm", 32),             # StableLmConfig 32
    "olmo-2-1124-7b": ("olmo2", HEADS),                     # Olmo2Config None
    "olmoe-1b-7b-0924": ("olmoe", HEADS),                   # OlmoeConfig None
    "aya-23-8b": ("cohere", HEADS),                         # CohereConfig None
    "c4ai-command-r7b-abliterated": ("cohere2", HEADS),     # Cohere2Config None
    "seed-oss-36b-derivative": ("seed_oss", 8),             # SeedOssConfig 8
    "smollm3-3b": ("smollm3", 4),                           # SmolLM3Config 4
    "qwen1.5-moe-a2.7b": ("qwen2_moe", 16),                 # Qwen2MoeConfig 16
    "glm-4.7": ("glm4_moe", 8),                             # Glm4MoeConfig 8
    "bamba-9b": ("bamba", 8),                               # BambaConfig 8
    "falcon-h1-0.5b": ("falcon_h1", 8),                     # FalconH1Config 8
    "ernie-4.5-0.3b": ("ernie4_5", 2),                      # Ernie4_5Config 2
}

# Remote-code classes whose defaults kvplan has not read: a config without the key is refused.
UNKNOWN_DEFAULTS = {
    "internlm2.5-7b": "InternLM2Config",
    "minicpm-2b-sft-bf16": "MiniCPMConfig",
    "orion-14b": "OrionConfig",
    "hunyuan-a13b-instruct": "HunYuanConfig",
    "mimo-7b-base": "MiMoConfig",
    "minimax-m2.5": "MiniMaxM2Config",
    "minimax-m1": "MiniMaxText01Config",
    "mimo-v2-flash": "MiMoV2FlashConfig",
    "nemotron-h-56b-base-8k": "NemotronHConfig",
}


@pytest.mark.parametrize("name", sorted(CLASS_DEFAULTS))
def test_missing_kv_heads_take_the_class_default(name):
    model_type, default = CLASS_DEFAULTS[name]
    config = _without_kv(name)
    text = _text(config)
    assert (text.get("model_type") or config["model_type"]) in (model_type, config["model_type"])
    spec = spec_from_hf_config(config, f"{name}.json")
    heads = spec.num_attention_heads
    want = heads if default == HEADS else default
    assert spec.num_kv_heads == want
    # The cache is what the same config with the default written out caches, byte for byte.
    explicit = copy.deepcopy(config)
    _text(explicit)["num_key_value_heads"] = want
    if model_type == "falcon":
        _text(explicit)["num_kv_heads"] = _text(explicit).pop("num_key_value_heads")
    assert _seq_bytes(spec) == _seq_bytes(spec_from_hf_config(explicit, f"{name}.json"))


def test_mistral_7b_without_the_key_caches_131072_bytes_a_token_not_524288():
    # 32 layers x 8 KV heads x (128 + 128) x 2 B = 131,072 (with 32 heads: 524,288).
    spec = spec_from_hf_config(_without_kv("mistral-7b-v0.1"), "m.json")
    assert bytes_per_token(spec, get_format("bf16")) == 131_072
    assert bytes_per_token(spec_from_hf_config(_config("mistral-7b-v0.1"), "m.json"),
                           get_format("bf16")) == 131_072


def test_gemma2_9b_without_the_key_reads_gemma2config_4_heads():
    # Gemma-2-9B: 42 layers x 4 KV heads x (256 + 256) x 2 B = 172,032 B a token (the file says 8).
    spec = spec_from_hf_config(_without_kv("gemma-2-9b-it"), "g.json")
    assert spec.num_kv_heads == 4
    assert bytes_per_token(spec, get_format("bf16")) == 42 * 4 * 512 * 2 == 172_032


def test_nested_mistral_text_config_without_the_key_reads_8():
    """LLaVA-NeXT-Mistral's shape: transformers writes text_config as a diff, so the key can go."""
    config = {"model_type": "llava", "architectures": ["LlavaForConditionalGeneration"],
              "text_config": {k: v for k, v in _config("mistral-7b-v0.1").items() if k not in KV_KEYS}}
    spec = spec_from_hf_config(config, "llava.json")
    assert spec.num_kv_heads == 8


def test_a_class_default_that_does_not_divide_the_heads_is_refused():
    # Qwen2.5-7B has 28 attention heads; Qwen2Config's default is 32 KV heads, which no engine
    # can build (28 // 32 = 0 query heads per KV head): refused, not planned with 28.
    with pytest.raises(SpecError, match=r"the KV heads are Qwen2Config's class default, 32, and "
                                        r"num_attention_heads \(28\) is not a multiple of 32"):
        spec_from_hf_config(_without_kv("qwen2.5-7b"), "q.json")


def test_mla_models_without_the_key_use_the_heads_the_latent_does_not_read_them():
    # DeepseekV3Config's default is 128 KV heads; Kimi K2 has 64 attention heads. MLA caches
    # kv_lora_rank + qk_rope_head_dim values a token whatever the count, so the cache is the
    # same as the stated file's: 61 layers x (512 + 64) x 2 B = 70,272 B a token.
    spec = spec_from_hf_config(_without_kv("kimi-k2-instruct"), "k.json")
    assert spec.num_kv_heads == 64
    assert bytes_per_token(spec, get_format("bf16")) == 61 * 576 * 2 == 70_272


@pytest.mark.parametrize("name", sorted(UNKNOWN_DEFAULTS))
def test_a_class_whose_default_kvplan_has_not_read_is_refused(name):
    with pytest.raises(SpecError) as err:
        spec_from_hf_config(_without_kv(name), f"{name}.json")
    assert str(err.value) == (f"{name}.json: num_key_value_heads is missing and kvplan does not know the default "
                              f"{UNKNOWN_DEFAULTS[name]} gives it; add num_key_value_heads to the config")


def test_an_unknown_model_type_without_the_key_is_refused():
    config = _without_kv("llama-3.1-8b")
    config["model_type"] = "brand_new_llm"
    with pytest.raises(SpecError, match="kvplan does not know the default model_type 'brand_new_llm' gives it"):
        spec_from_hf_config(config, "a.json")
    config["num_key_value_heads"] = 8  # stated: read as before
    assert spec_from_hf_config(config, "a.json").num_kv_heads == 8


def test_cli_refuses_a_missing_unknown_default_in_one_line(capsys, tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(_without_kv("internlm2.5-7b")), encoding="utf-8")
    code, out, err = cli(capsys, "size", path, "--ctx", "4k")
    assert code == 2 and out == ""
    assert one_line_error(err) == (f"kvplan: error: {path}: num_key_value_heads is missing and kvplan does not "
                                   "know the default InternLM2Config gives it; add num_key_value_heads to the config")


# -- an explicit null --------------------------------------------------------------------------
def test_null_becomes_the_heads_where_the_class_says_so():
    # MistralConfig: "if num_key_value_heads is None: num_key_value_heads = num_attention_heads".
    config = _config("mistral-7b-v0.1")
    config["num_key_value_heads"] = None
    assert spec_from_hf_config(config, "m.json").num_kv_heads == 32


def test_null_is_refused_where_the_class_keeps_none():
    # Gemma2Config has no None rule: transformers keeps None and the attention cannot be built.
    config = _config("gemma-2-9b-it")
    config["num_key_value_heads"] = None
    with pytest.raises(SpecError, match="num_key_value_heads is null, which Gemma2Config keeps as None"):
        spec_from_hf_config(config, "g.json")


def test_refinedweb_without_n_head_kv_has_one_kv_head():
    # vLLM 0.19.1 loads RefinedWeb configs with its RWConfig (transformers_utils/configs/falcon.py):
    # self.n_head_kv = 1 if n_head_kv is None else n_head_kv.
    config = _config("falcon-40b-instruct")
    config.update(model_type="RefinedWeb", n_head=config.pop("num_attention_heads"),
                  n_layer=config.pop("num_hidden_layers"), n_head_kv=config.pop("num_kv_heads"))
    assert spec_from_hf_config(config, "rw.json").num_kv_heads == 8
    del config["n_head_kv"]
    assert spec_from_hf_config(config, "rw.json").num_kv_heads == 1


# -- two KV-head keys --------------------------------------------------------------------------
def test_kv_head_keys_that_disagree_are_refused():
    config = _config("llama-3.1-8b")
    config["num_kv_heads"] = 4
    with pytest.raises(SpecError) as err:
        spec_from_hf_config(config, "a.json")
    assert str(err.value) == ("a.json: num_key_value_heads 8 and num_kv_heads 4 disagree (transformers reads one, "
                              "vLLM's get_total_num_kv_heads another); keep one of them")


def test_kv_head_keys_that_agree_are_read():
    config = _config("llama-3.1-8b")
    config["n_head_kv"] = 8
    assert spec_from_hf_config(config, "a.json").num_kv_heads == 8


def test_cli_refuses_disagreeing_kv_head_keys_in_one_line(capsys, tmp_path):
    config = _config("mistral-7b-v0.1")
    config["n_head_kv"] = 2
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    code, out, err = cli(capsys, "import", path)
    assert code == 2 and out == ""
    assert one_line_error(err) == (f"kvplan: error: {path}: num_key_value_heads 8 and n_head_kv 2 disagree "
                                   "(transformers reads one, vLLM's get_total_num_kv_heads another); keep one of them")
