"""SGLang's rotary cos/sin tables in its weights (SGLang.rope_table_bytes, rule rope_table;
docs/findings/FINDINGS_h29_sglrope.md). Each figure fails on the commit before (no table)."""

import json

import pytest
from helpers import capacity_json, cli, one_line_error

from kvplan.engines import get_engine
from kvplan.gpus import get_gpu
from kvplan.loader import load_model


def test_llama3_1_8b_sglang_0_5_8_weights_hold_a_float32_table(capsys):
    # 8,030,261,248 params x 2 B + 131,072 x 128 x 4 B (was 16,060,522,496 B, 415,660 tokens)
    out = capacity_json(capsys, "llama3.1-8b", "--engine", "sglang==0.5.8")
    assert out["weights_bytes"] == 16_060_522_496 + 67_108_864 == 16_127_631_360
    assert out["kv_cache_tokens"] == 415_148


@pytest.mark.parametrize("release, model, nvidia, amd", [
    ("0.4.6", "llama3.1-8b", 67_108_864, 33_554_432),     # ROCm: cast to bf16 up to 0.5.8
    ("0.5.8", "qwen3-8b", 20_971_520, 10_485_760),        # 40,960 x 128
    ("0.5.8", "deepseek-v3", 41_943_040, 20_971_520),     # 163,840 x 64 (qk_rope_head_dim)
    ("0.5.8", "phi3-mini", 1_572_864, 786_432),           # 4,096 x 96
    ("0.5.23", "llama3.1-8b", 67_108_864, 67_108_864),    # float32 on ROCm too from 0.5.22
    ("0.5.8", "gemma3-27b", 512, 512),                    # HF-style inv_freq only: 2 x 64 x 4
    ("0.5.23", "gemma3-27b", 134_218_240, 134_218_240),   # + two default tables, 131,072 x 128 x 4
])
def test_table_bytes(release, model, nvidia, amd):
    engine, spec = get_engine(f"sglang=={release}"), load_model(model)
    assert engine.rope_table_bytes(spec, get_gpu("h100")) == nvidia
    assert engine.rope_table_bytes(spec, get_gpu("mi300x")) == amd


def test_no_table_for_learned_positions():
    assert get_engine("sglang==0.5.8").rope_table_bytes(load_model("gpt2"), get_gpu("h100")) == 0


def test_0_5_8_says_the_deepseek_yarn_totals_it_does_not_count(capsys):
    code, text, err = cli(capsys, "capacity", "deepseek-v3", "--gpu", "h200", "--engine", "sglang==0.5.8", "--tp", "8",
                          "--weights", "fp8", "--json")
    assert code == 0, err
    out = json.loads(text)
    assert any("cos_cached_total" in n and "83,886,080 B" in n for n in out["notes"])


def test_llava_s_table_is_its_llama_backbone_s():
    # llava.py LlavaForConditionalGeneration builds text_config's class (LlamaForCausalLM): 4,096 x 128;
    # the CLIP tower has no rotary embedding. fp16 model: half on ROCm up to 0.5.8
    engine, spec = get_engine("sglang==0.5.8"), load_model("benchmarks/unseen_configs/llava-1.5-7b.json")
    assert engine.rope_table_bytes(spec, get_gpu("h100")) == 4_096 * 128 * 4 == 2_097_152
    assert engine.rope_table_bytes(spec, get_gpu("mi300x")) == 1_048_576


@pytest.mark.parametrize("config, arch", [
    ("tests/fixtures/hf_configs/qwen3-vl-8b-instruct.json", "Qwen3VLForConditionalGeneration"),
    ("tests/fixtures/hf_configs/qwen3-vl-30b-a3b-instruct.json", "Qwen3VLMoeForConditionalGeneration"),
])
def test_a_vision_tower_table_kvplan_cannot_size_is_refused(capsys, config, arch):
    # the vision tower's rotary table is sized by vision_config.num_heads, which the spec does not record
    code, out, err = cli(capsys, "capacity", config, "--gpu", "h200", "--engine", "sglang==0.5.8",
                         "--mem-fraction-static", "0.8")
    assert code == 2 and out == ""
    line = one_line_error(err)
    assert line.startswith("kvplan: error: sglang==0.5.8: kvplan cannot size the rotary table SGLang builds for ")
    assert f"vision tower ({arch}: models/qwen3_vl.py" in line and "vision_config.num_heads" in line


def test_deepseek_sparse_attention_s_indexer_table_is_refused(capsys):
    code, out, err = cli(capsys, "capacity", "tests/fixtures/hf_configs/deepseek-v3.2.json", "--gpu", "b200", "--tp",
                         "8", "--engine", "sglang==0.5.8", "--kv-dtype", "fp8_e4m3")
    assert code == 2 and out == ""
    assert "(DeepSeek sparse attention's indexer)" in one_line_error(err)


def test_explain_on_an_sglang_log_counts_the_table_as_capacity_does():
    """The SGLang 0.4.6 H100 log of Llama-3.1-8B (15.11 GiB logged for loading): explain's predicted
    weights are capacity's, 8,030,261,248 x 2 + 131,072 x 128 x 4 = 16,127,631,360 B (before: the
    tensors alone, 16,060,522,496, -1.01% against the log; now -0.60%)."""
    from kvplan.capacity import make_request, plan
    from kvplan.explain import explain
    from kvplan.explain_log import parse_log

    log = open("tests/fixtures/startup_logs/sglang_pr4760_llama31_8b_fa3_h100.log").read()
    ex = explain(parse_log(log), model="llama3.1-8b", gpu="h100", release="0.4.6")
    cap = plan(make_request(load_model("llama3.1-8b"), "h100", engine="sglang==0.4.6"))
    assert ex.line("model weights").kvplan == cap.weights_bytes == 16_127_631_360
