"""The longest sequence a Hugging Face config serves, as vLLM derives it
(vllm/config/model.py _get_and_verify_max_len; model_arch_config_convertor.py
derive_max_model_len_and_key, 0.19.1), and the engines' refusal of a longer max_model_len."""

from __future__ import annotations

import pytest

from kvplan.capacity import make_request
from kvplan.errors import BadInputError
from kvplan.hf import spec_from_hf_config

from helpers import cli

BASE = {"model_type": "llama", "architectures": ["LlamaForCausalLM"], "num_hidden_layers": 2, "hidden_size": 256,
        "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 1000, "intermediate_size": 512,
        "torch_dtype": "bfloat16", "max_position_embeddings": 32768}


def _len(**over) -> int:
    return spec_from_hf_config({**BASE, **over}, "t").max_position_embeddings


@pytest.mark.parametrize("over, expected", [
    ({}, 32768),
    # YaRN scales original_max_position_embeddings (Qwen2.5's documented 128k setting)
    ({"rope_scaling": {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 32768}}, 131072),
    # dynamic / linear multiply max_position_embeddings (InternLM2.5: dynamic x 2)
    ({"rope_scaling": {"type": "dynamic", "factor": 2.0}}, 65536),
    ({"rope_scaling": {"rope_type": "linear", "factor": 0.5}}, 16384),
    # llama3 / longrope / su: max_position_embeddings is already the long context
    ({"rope_scaling": {"rope_type": "llama3", "factor": 8.0, "original_max_position_embeddings": 8192}}, 32768),
    ({"rope_scaling": {"rope_type": "default"}}, 32768),
    ({"rope_scaling": {"rope_type": "linear", "factor": None}}, 32768),  # null factor -> 1.0
    # the smallest of the length keys; model_max_length overrides
    ({"max_sequence_length": 4096}, 4096),
    ({"model_max_length": 65536}, 65536),
    # transformers v5 rope_parameters
    ({"rope_parameters": {"rope_type": "yarn", "factor": 2.0, "original_max_position_embeddings": 16384}}, 32768),
])
def test_derived_length(over, expected):
    assert _len(**over) == expected


def test_gemma3_is_not_scaled_again():
    cfg = {**BASE, "model_type": "gemma3_text", "architectures": ["Gemma3ForCausalLM"], "head_dim": 64,
           "max_position_embeddings": 131072, "sliding_window": 1024,
           "rope_scaling": {"rope_type": "linear", "factor": 8.0}}
    try:
        spec = spec_from_hf_config(cfg, "g")
    except Exception as err:  # the gemma3 reader may want more fields: the rule is what matters here
        pytest.skip(f"gemma3 reader needs more fields: {err}")
    assert spec.max_position_embeddings == 131072


def test_yarn_without_its_original_length_is_refused():
    with pytest.raises(Exception, match="original_max_position_embeddings"):
        _len(rope_scaling={"rope_type": "yarn", "factor": 4.0})


@pytest.mark.parametrize("engine, env", [("vllm", "VLLM_ALLOW_LONG_MAX_MODEL_LEN"),
                                         ("sglang", "SGLANG_ALLOW_OVERWRITE_LONGER_CONTEXT_LEN")])
def test_engines_refuse_a_longer_max_model_len(engine, env):
    spec = spec_from_hf_config(BASE, "t")
    with pytest.raises(BadInputError, match=env):
        make_request(spec, "h100", engine=engine, max_model_len=32769)
    assert make_request(spec, "h100", engine=engine, max_model_len=32768).model_len == 32768
    assert make_request(spec, "h100", engine=engine, max_model_len=65536,
                        allow_long_max_model_len=True).model_len == 65536
    assert make_request(spec, "h100", engine="raw", max_model_len=65536).model_len == 65536


def test_check_plan_takes_allow_long_max_model_len(capsys, tmp_path):
    plan = tmp_path / "plan.yaml"
    plan.write_text("deployments:\n  - {name: a, model: llama3-8b, gpu: h100, max_model_len: 16384}\n")
    code, _, err = cli(capsys, "check", str(plan))
    assert code == 2 and "refuses max_model_len 16,384" in err
    plan.write_text("deployments:\n  - {name: a, model: llama3-8b, gpu: h100, max_model_len: 16384,\n"
                    "     allow_long_max_model_len: true}\n")
    code, _, _ = cli(capsys, "check", str(plan))
    assert code == 0


def test_explain_what_if_refuses_a_longer_max_model_len(capsys):
    code, out, err = cli(capsys, "explain", "tests/fixtures/startup_logs/vllm_pr10511_llama3_8b_h100.log",
                         "--release", "0.8.0", "--what-if", "--max-model-len", "64k")
    assert code == 2
    assert "refuses max_model_len 65,536" in err


@pytest.mark.parametrize("factor", [1e308, float("inf"), 1 << 40])
def test_a_rope_factor_beyond_every_context_is_refused(factor):
    with pytest.raises(Exception, match="beyond kvplan's limit"):
        _len(rope_scaling={"rope_type": "linear", "factor": factor})
