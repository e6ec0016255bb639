"""KV-head keys that a model's attention does not read, DBRX's kv_n_heads default, the
old Falcon architectures, and class defaults that fail the heads check.

Every figure is bf16 bytes per token, written out: layers x KV heads x (K + V head size) x 2 B.
Sources (cited again in kvplan/hf/families/*.py): vLLM 0.19.1 model_executor/models/*.py and
transformers v4.57.1 models/*/configuration_*.py / modeling_*.py.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from kvplan.errors import SpecError
from kvplan.formats import get_format
from kvplan.hf import spec_from_hf_config
from kvplan.layer_sums import bytes_per_token
from helpers import cli, one_line_error

FIXTURES = Path(__file__).parent / "fixtures" / "hf_configs"
BF16 = get_format("bf16")


def _config(name: str) -> dict:
    return copy.deepcopy(json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8")))


def _bpt(config: dict, origin: str = "c.json") -> int:
    return bytes_per_token(spec_from_hf_config(config, origin), BF16)


def _refused(config: dict, origin: str = "c.json") -> str:
    with pytest.raises(SpecError) as err:
        spec_from_hf_config(config, origin)
    return str(err.value)


# -- 1. a KV-head key the model's attention does not read --------------------------------------
# (fixture, key, value): none of these models' vLLM attention reads a KV-head key (gpt2.py,
# opt.py, gpt_j.py, qwen.py, baichuan.py, phi.py build multi-head attention), so a stated
# count below the heads is refused instead of planned (the old reading planned it: GPT-2 with
# num_key_value_heads 1 came out at 12 x 1 x 128 x 2 = 3,072 B a token, vLLM caches 36,864).
MHA_ONLY = {
    "gpt2": ("GPT2Config", "gpt2.py", "num_key_value_heads", 1, 12),
    "opt-125m": ("OPTConfig", "opt.py", "num_key_value_heads", 4, 12),
    "gpt-j-6b": ("GPTJConfig", "gpt_j.py", "n_head_kv", 4, 16),
    "qwen-1.8b": ("QWenConfig", "qwen.py", "num_key_value_heads", 2, 16),
    "baichuan2-7b": ("BaichuanConfig", "baichuan.py", "num_kv_heads", 8, 32),
    "phi-2-super": ("PhiConfig", "phi.py", "num_key_value_heads", 8, 32),
}


@pytest.mark.parametrize("name", sorted(MHA_ONLY))
def test_a_kv_head_key_a_multi_head_model_does_not_read_is_refused(name):
    cls, module, key, value, heads = MHA_ONLY[name]
    config = _config(name)
    config[key] = value
    extra = "; only transformers' PhiAttention reads num_key_value_heads" if name == "phi-2-super" else ""
    assert _refused(config, f"{name}.json") == (
        f"{name}.json: {key} {value} is not read for {cls}: its KV heads are num_attention_heads "
        f"(vLLM's {module} builds multi-head attention{extra}), {heads} here; remove the key")


def test_gpt2_stating_its_heads_as_kv_heads_is_read_as_before():
    config = _config("gpt2")
    config["num_key_value_heads"] = 12
    assert _bpt(config) == 12 * 12 * 128 * 2 == 36_864


def test_cli_refuses_gpt2_with_one_kv_head_in_one_line(capsys, tmp_path):
    config = _config("gpt2")
    config["num_key_value_heads"] = 1
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    code, out, err = cli(capsys, "size", path, "--ctx", "1k")
    assert code == 2 and out == ""
    assert one_line_error(err) == (
        f"kvplan: error: {path}: num_key_value_heads 1 is not read for GPT2Config: its KV heads are "
        "num_attention_heads (vLLM's gpt2.py builds multi-head attention), 12 here; remove the key")


def test_gpt_bigcode_reads_multi_query_not_a_kv_head_key():
    # vLLM gpt_bigcode.py:77-83: 1 KV head with multi_query, else the heads (16 for SantaCoder).
    config = _config("gpt-bigcode-santacoder")
    config["num_key_value_heads"] = 1
    assert _bpt(config) == 24 * 1 * 256 * 2 == 12_288  # agrees with multi_query: read
    config["multi_query"] = False
    del config["num_key_value_heads"]
    assert _bpt(config) == 24 * 16 * 256 * 2 == 196_608
    config["num_key_value_heads"] = 4  # the old reading planned 49,152
    assert _refused(config) == ("c.json: num_key_value_heads 4 is not read for GPTBigCodeConfig: its KV heads are "
                                "1 with multi_query, else num_attention_heads (vLLM's gpt_bigcode.py), 16 here; "
                                "remove the key")


def test_chatglm_reads_multi_query_group_num_only_with_multi_query_attention():
    # vLLM chatglm.py:63-67. ChatGLM3-6B: 28 layers, head size 4096 / 32 = 128.
    config = _config("chatglm3-6b")
    config["n_head_kv"] = 2  # vLLM's ChatGLMConfig maps n_head_kv onto multi_query_group_num: agrees
    assert _bpt(config) == 28 * 2 * 256 * 2 == 28_672
    del config["n_head_kv"]
    config["multi_query_attention"] = False
    assert _bpt(config) == 28 * 32 * 256 * 2 == 458_752
    config["num_key_value_heads"] = 2  # the old reading planned 28,672
    assert _refused(config).startswith("c.json: num_key_value_heads 2 is not read for ChatGLMConfig: its KV heads are "
                                       "multi_query_group_num with multi_query_attention, else num_attention_heads")


def test_llama_with_only_num_kv_heads_is_refused_not_read():
    # LlamaConfig has no num_kv_heads: it is absent -> 32 heads there and in vLLM's llama.py
    # (num_kv_heads=config.num_key_value_heads); the old reading planned 8 (131,072 B, a
    # quarter of the 524,288 vLLM would cache).
    config = _config("llama-3.1-8b")
    config["num_kv_heads"] = config.pop("num_key_value_heads")
    assert _refused(config) == (
        "c.json: num_kv_heads 8 is not read by LlamaConfig: its key num_key_value_heads is absent, which gives 32 "
        "KV heads (vLLM's attention layers read num_key_value_heads too, only its get_total_num_kv_heads reads "
        "num_kv_heads); remove num_kv_heads or state num_key_value_heads")
    config["num_kv_heads"] = 32  # agrees with the class's reading: planned as vLLM builds it
    assert _bpt(config) == 32 * 32 * 256 * 2 == 524_288


def test_dbrx_top_level_num_key_value_heads_must_agree_with_kv_n_heads():
    # DbrxConfig.__init__ writes num_key_value_heads = attn_config.kv_n_heads
    # (configuration_dbrx.py:223), so a config saved by transformers has it: read when it agrees
    # (the old reading refused the key as unknown), refused when it does not.
    config = _config("dbrx")
    config["num_key_value_heads"] = 8
    assert _bpt(config) == 40 * 8 * 256 * 2 == 163_840
    config["num_key_value_heads"] = 4
    assert _refused(config) == ("c.json: num_key_value_heads 4 is not read for DbrxConfig: its KV heads are "
                                "attn_config.kv_n_heads (vLLM's dbrx.py), 8 here; remove the key")


def test_nemotron_nas_num_key_value_heads_must_be_the_per_layer_maximum():
    # vLLM nemotron_nas.py:154-156 reads n_heads_in_group per layer; the file's key is null.
    config = _config("llama-3.3-nemotron-super-49b-v1")
    config["num_key_value_heads"] = 8
    assert _bpt(config) == 200_704
    config["num_key_value_heads"] = 2
    assert _refused(config).startswith("c.json: num_key_value_heads 2 is not read for DeciLMConfig: its KV heads are "
                                       "num_attention_heads // block_configs[i].attention.n_heads_in_group")


# -- 2. DBRX's kv_n_heads ----------------------------------------------------------------------
def test_dbrx_without_kv_n_heads_takes_dbrxattentionconfig_default_1():
    # DbrxAttentionConfig(kv_n_heads=1) (configuration_dbrx.py:50): 40 layers x 1 x (128 + 128) x 2.
    config = _config("dbrx")
    del config["attn_config"]["kv_n_heads"]
    spec = spec_from_hf_config(config, "d.json")
    assert spec.num_kv_heads == 1 and bytes_per_token(spec, BF16) == 20_480
    assert "attn_config.kv_n_heads absent: DbrxAttentionConfig's class default, 1" in spec.notes
    del config["attn_config"]  # DbrxConfig builds DbrxAttentionConfig() (lines 199-200)
    assert _bpt(config) == 20_480


def test_dbrx_null_kv_n_heads_is_refused():
    config = _config("dbrx")
    config["attn_config"]["kv_n_heads"] = None
    assert _refused(config) == ("c.json: attn_config.kv_n_heads is null, which DbrxAttentionConfig keeps as None "
                                "(it has no rule for it): give the number of KV heads")


# -- 3. old-architecture Falcon ----------------------------------------------------------------
# Falcon-7B: 32 layers, 71 heads of 4544 / 71 = 64; multi-head: 32 x 71 x 128 x 2 = 581,632.
def test_falcon_multi_head_old_architecture_has_one_kv_head_per_query_head():
    config = _config("falcon-7b-instruct")
    config["multi_query"] = False  # num_kv_heads 71 in the file: the heads, read
    assert _bpt(config) == 32 * 71 * 128 * 2 == 581_632
    config["num_kv_heads"] = 1  # vLLM falcon.py:121 builds 71; the old reading planned 8,192
    assert _refused(config) == ("c.json: num_kv_heads 1 with multi_query and new_decoder_architecture false: that "
                                "Falcon attention has one K/V head per query head (71); remove num_kv_heads or fix "
                                "the flags")


def _as_refined_web(name: str, model_type: str) -> dict:
    config = _config(name)
    for old, new in (("num_hidden_layers", "n_layer"), ("num_attention_heads", "n_head"),
                     ("num_kv_heads", "n_head_kv")):
        config[new] = config.pop(old)
    del config["new_decoder_architecture"]
    config["model_type"] = model_type
    return config


def test_refinedweb_multi_head_takes_the_heads_not_rwconfig_n_head_kv_default():
    # vLLM RWConfig: n_head_kv None -> 1, but falcon.py:121 builds the heads without multi_query;
    # the old reading planned 1 KV head (8,192 B).
    config = _as_refined_web("falcon-7b-instruct", "RefinedWebModel")
    config["multi_query"] = False
    del config["n_head_kv"], config["parallel_attn"]
    spec = spec_from_hf_config(config, "rw.json")
    assert spec.num_kv_heads == 71 and bytes_per_token(spec, BF16) == 581_632
    # RWConfig's parallel_attn defaults to false (configs/falcon.py:52): input and post-attention
    # LayerNorms (vLLM falcon.py:290-294), two a layer; the old reading took FalconConfig's true (1).
    assert spec.norms_per_layer == 2


def test_refinedweb_architecture_follows_vllm_rwconfig_not_the_model_type():
    # RWConfig: new_decoder_architecture false unless hidden_size == 8192 (configs/falcon.py:77-79).
    small = _as_refined_web("falcon-7b-instruct", "RefinedWeb")  # hidden 4544, n_head_kv 71, multi_query
    spec = spec_from_hf_config(small, "rw.json")
    assert spec.num_kv_heads == 1 and bytes_per_token(spec, BF16) == 32 * 1 * 128 * 2 == 8_192  # old: 581,632
    assert "n_head_kv 71 ignored: multi_query without new_decoder_architecture means 1 KV head" in spec.notes
    big = _as_refined_web("falcon-40b-instruct", "RefinedWebModel")  # hidden 8192, n_head_kv 8
    assert _bpt(big) == 60 * 8 * 128 * 2 == 122_880  # old: 1 KV head, 15,360
    big["new_decoder_architecture"] = False
    assert _refused(big) == ("c.json: new_decoder_architecture false with hidden_size 8192: vLLM's RWConfig builds "
                             "the new architecture for every 8192-wide RefinedWeb model; which one the weights hold "
                             "is not known")


# -- 4. a class default that fails the heads check names itself --------------------------------
def test_qwen25_without_the_key_names_qwen2config_default():
    config = _config("qwen2.5-7b")
    del config["num_key_value_heads"]
    assert _refused(config, "q.json") == (
        "q.json: num_key_value_heads is absent, so the KV heads are Qwen2Config's class default, 32, and "
        "num_attention_heads (28) is not a multiple of 32; add num_key_value_heads to the config")


def test_cli_names_the_class_default_in_one_line(capsys, tmp_path):
    config = _config("qwen2.5-7b")
    del config["num_key_value_heads"]
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    code, out, err = cli(capsys, "import", path)
    assert code == 2 and out == ""
    assert one_line_error(err) == (
        f"kvplan: error: {path}: num_key_value_heads is absent, so the KV heads are Qwen2Config's class default, "
        "32, and num_attention_heads (28) is not a multiple of 32; add num_key_value_heads to the config")


def test_a_nested_class_default_that_fails_names_its_path():
    # LLaVA-NeXT-Mistral's shape with 20 heads: MistralConfig's 8 does not divide them.
    text = {k: v for k, v in _config("mistral-7b-v0.1").items() if k != "num_key_value_heads"}
    text.update(num_attention_heads=20, head_dim=128)
    config = {"model_type": "llava", "architectures": ["LlavaForConditionalGeneration"], "text_config": text}
    assert _refused(config) == (
        "c.json: text_config.num_key_value_heads is absent, so the KV heads are MistralConfig's class default, 8, "
        "and num_attention_heads (20) is not a multiple of 8; add text_config.num_key_value_heads to the config")


def test_a_class_default_that_fits_is_noted():
    config = _config("mistral-7b-v0.1")
    del config["num_key_value_heads"]
    spec = spec_from_hf_config(config, "m.json")
    assert bytes_per_token(spec, BF16) == 32 * 8 * 256 * 2 == 131_072
    assert "num_key_value_heads absent: MistralConfig's class default, 8" in spec.notes


# -- other class defaults ---------------------------------------------------------------------
def test_llama4_empty_no_rope_layers_is_the_default_pattern():
    # Llama4TextConfig: "if no_rope_layers == []: no_rope_layers = None" (configuration_llama4.py:372-373);
    # the old reading refused the empty list. Scout: 48 layers x 8 x 256 x 2 = 196,608 B.
    config = _config("llama-4-scout-17b-16e-instruct")
    config["text_config"]["no_rope_layers"] = []
    spec = spec_from_hf_config(config, "l.json")
    assert bytes_per_token(spec, BF16) == 196_608
    assert spec == spec_from_hf_config(_config("llama-4-scout-17b-16e-instruct"), "l.json")


# -- head_dtype (vLLM 0.26.0 ModelConfig.head_dtype) ---------------------------------------------
@pytest.mark.parametrize("value", ["float32", "bfloat16", "fp16", "Model"])
def test_head_dtype_other_than_the_model_dtype_is_refused_naming_the_key(value):
    """vLLM 0.26.0 runs the lm_head in the config's head_dtype (vllm/config/model.py _get_head_dtype
    :2128-2149, logits_processor.py _apply_head :99-136): float32 logits, or a cast copy of the weight,
    which kvplan does not model; before, the key fell to the generic 'may shape the KV cache' refusal.
    Even the model's own dtype is refused (a plan's --dtype may differ from the config's); "Model" is
    not vLLM's "model" (compared before lowercasing, then not a dtype: ValueError)."""
    config = _config("llama-3.1-8b")
    config["head_dtype"] = value
    text = _refused(config)
    assert text.startswith(f"c.json: head_dtype {value!r}: vLLM 0.26.0 runs the output layer in it (")
    assert text.endswith("for those, a spec from kvplan import CONFIG --ignore head_dtype")
    # no SGLang wheel 0.4.6-0.5.23 has 'head_dtype' under sglang/srt (not only 0.5.9, as it said)
    assert "no SGLang release kvplan models (0.4.6-0.5.23) reads the key" in text


def test_head_dtype_in_a_text_config_is_refused_with_its_path():
    config = _config("gemma-3-4b-it")
    config["text_config"]["head_dtype"] = "float32"
    assert _refused(config).startswith("c.json: text_config.head_dtype 'float32': vLLM 0.26.0 runs the output")


@pytest.mark.parametrize("value", ["model", None])
def test_head_dtype_at_the_model_dtype_changes_nothing(value):
    # "model" -> the model dtype in every release that reads it; null -> a generating model's default
    config = _config("llama-3.1-8b")
    config["head_dtype"] = value
    spec = spec_from_hf_config(config, "c.json")
    assert _bpt(config) == 32 * 8 * (128 + 128) * 2 == 131_072
    assert spec.weights_unknown == () or not spec.weights_unknown
    assert spec == spec_from_hf_config(_config("llama-3.1-8b"), "c.json")


def test_cli_head_dtype_exit_2_in_one_line_and_ignore_plans_the_model_dtype(capsys, tmp_path):
    config = _config("llama-3.1-8b")
    config["head_dtype"] = "float32"
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    code, out, err = cli(capsys, "size", path, "--ctx", "1k")
    assert code == 2 and out == ""
    assert one_line_error(err).startswith(f"kvplan: error: {path}: head_dtype 'float32': vLLM 0.26.0 runs")
    code, out, err = cli(capsys, "import", path, "--ignore", "head_dtype")
    assert code == 0 and "dtype: bf16" in out and "head_dtype ignored at the user''s request" in out
