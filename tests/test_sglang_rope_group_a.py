"""SGLang's rotary tables for the h30 group A architectures (engines.sglang.ROPE_GROUP_A, rules
rope_scaling_passed and alibi_slopes_tensor; docs/findings/FINDINGS_h30_sgla.md). Each was refused
under --engine sglang on the commit before ("kvplan has not read which rotary cos/sin tables ...")."""

import dataclasses
import json

import pytest
from helpers import capacity_json, cli, one_line_error

from kvplan.engines import get_engine
from kvplan.gpus import get_gpu
from kvplan.loader import load_model

H = "tests/fixtures/hf_configs/"


@pytest.mark.parametrize("fixture, weights, tokens", [
    # weights = the tensors + rows x width x 4 B (float32 on CUDA), one table shared by every layer
    ("qwen1.5-moe-a2.7b", 28_648_345_600, 213_082),            # 32,768 x 128 (hidden // heads)
    ("olmoe-1b-7b-0924", 13_840_297_984, 432_599),             # 4,096 x 128
    ("olmo-2-1124-7b", 14_598_823_936, 106_703),               # 4,096 x 128
    ("phi-2-super", 5_559_629_824, 198_310),                   # 2,048 x 32 (0.4 x 80)
    ("stablelm-2-zephyr-1.6b", 3_289_292_800, 342_064),        # 4,096 x 16 (0.25 x 64)
    ("internlm2.5-7b", 15_508_971_520, 419_868),               # 32,768 x 2.0 (dynamic NTK) x 128
    ("aya-23-8b", 16_060_260_352, 415_662),                    # 8,192 x 128
    ("c4ai-command-r7b-abliterated", 16_060_260_352, 415_662),  # 8,192 x 128, one table for both kinds
    ("baichuan2-7b", 15_014_043_648, 105_911),                 # 4,096 x 128 (hidden 4096: rope)
    ("orion-14b", 28_999_503_872, 50_711),                     # 4,096 x 128
    ("qwen-1.8b", 3_677_851_648, 340_088),                     # 8,192 x 128
])
def test_capacity_0_5_8(capsys, fixture, weights, tokens):
    out = capacity_json(capsys, H + fixture + ".json", "--engine", "sglang==0.5.8")
    assert (out["weights_bytes"], out["kv_cache_tokens"]) == (weights, tokens)


def test_gpt_j_from_0_5_22(capsys):
    # gpt_j.py exists from 0.5.22: 2,048 (n_positions) x 64 (config.rotary_dim) x 4 B
    out = capacity_json(capsys, H + "gpt-j-6b.json", "--engine", "sglang==0.5.23")
    assert (out["weights_bytes"], out["kv_cache_tokens"]) == (12_102_814_144, 126_466)
    assert get_engine("sglang==0.5.23").rope_table_bytes(load_model(H + "gpt-j-6b.json"), get_gpu("h100")) == 524_288


@pytest.mark.parametrize("fixture, nvidia", [
    ("qwen1.5-moe-a2.7b", 32_768 * 128 * 4),
    ("olmoe-1b-7b-0924", 4_096 * 128 * 4),
    ("phi-2-super", 2_048 * 32 * 4),
    ("stablelm-2-zephyr-1.6b", 4_096 * 16 * 4),
    ("internlm2.5-7b", 65_536 * 128 * 4),
    ("aya-23-8b", 8_192 * 128 * 4),
    ("c4ai-command-r7b-abliterated", 8_192 * 128 * 4),
    ("baichuan2-7b", 4_096 * 128 * 4),
    ("orion-14b", 4_096 * 128 * 4),
    ("qwen-1.8b", 8_192 * 128 * 4),
])
def test_table_bytes_and_rocm_before_0_5_22(fixture, nvidia):
    spec = load_model(H + fixture + ".json")
    bf16 = dataclasses.replace(spec, dtype="bf16")
    assert get_engine("sglang==0.5.8").rope_table_bytes(spec, get_gpu("h100")) == nvidia
    assert get_engine("sglang==0.5.8").rope_table_bytes(bf16, get_gpu("mi300x")) == nvidia // 2
    assert get_engine("sglang==0.5.23").rope_table_bytes(bf16, get_gpu("mi300x")) == nvidia


def _config(tmp_path, fixture, **change):
    data = json.load(open(H + fixture + ".json"))
    data.update(change)
    path = tmp_path / f"{fixture}-x.json"
    path.write_text(json.dumps(data))
    return str(path)


def test_olmo2_passes_rope_scaling_from_0_5_4(tmp_path):
    # olmo2.py: get_rope without rope_scaling up to 0.5.2 (4,096 rows), config.rope_scaling from 0.5.4
    # (dynamic NTK: 4,096 x 2 rows)
    spec = load_model(_config(tmp_path, "olmo-2-1124-7b", rope_scaling={"type": "dynamic", "factor": 2.0}))
    h100 = get_gpu("h100")
    assert get_engine("sglang==0.5.2").rope_table_bytes(spec, h100) == 4_096 * 128 * 4
    assert get_engine("sglang==0.5.4").rope_table_bytes(spec, h100) == 8_192 * 128 * 4


def test_a_file_without_rope_scaling_keeps_the_config_s_rows(tmp_path):
    # phi.py passes no rope_scaling: a linear factor 2 doubles kvplan's context (4,096) but not the
    # table, max_position_embeddings 2,048 rows (ModelSpec.rope_max_position)
    spec = load_model(_config(tmp_path, "phi-2-super", rope_scaling={"type": "linear", "factor": 2.0}))
    assert (spec.max_position_embeddings, spec.rope_max_position) == (4_096, 2_048)
    assert get_engine("sglang==0.5.8").rope_table_bytes(spec, get_gpu("h100")) == 2_048 * 32 * 4


def test_cohere_s_rows_are_model_max_length_first(tmp_path):
    # commandr.py: max_position = model_max_length or max_position_embeddings, as kvplan's context
    spec = load_model(_config(tmp_path, "aya-23-8b", model_max_length=4_096))
    assert (spec.max_position_embeddings, spec.rope_max_position) == (4_096, None)
    assert get_engine("sglang==0.5.8").rope_table_bytes(spec, get_gpu("h100")) == 4_096 * 128 * 4


def test_rows_kvplan_cannot_tell_are_refused(capsys, tmp_path):
    # qwen.py passes the config's rope_scaling: a context (seq_length 2,048) below max_position_embeddings
    # (8,192) could come from a rope factor kvplan does not keep, so the table is not sized
    path = _config(tmp_path, "qwen-1.8b", seq_length=2_048, torch_dtype="bfloat16")
    code, out, err = cli(capsys, "capacity", path, "--gpu", "h100", "--engine", "sglang==0.5.8")
    assert code == 2 and out == ""
    line = one_line_error(err)
    assert "kvplan cannot size the rotary table SGLang builds for" in line
    assert "(QWenLMHeadModel: get_rope receives the config's rope_scaling; max_position_embeddings 8,192 beside a " \
           "context of 2,048" in line


def test_baichuan_13b_alibi_slopes_from_0_5_22(capsys, tmp_path):
    # baichuan.py: hidden_size != 4096 is ALiBi (no table); from 0.5.22 each layer keeps its rank's slopes as a
    # bf16 tensor on the GPU, 80 B (40 at tp 2) a layer, each a 512 B allocator block: 40 x 512 = 20,480 B
    path = _config(tmp_path, "baichuan2-7b", hidden_size=5_120, num_attention_heads=40, num_hidden_layers=40,
                   intermediate_size=13_696)
    spec = load_model(path)
    assert get_engine("sglang==0.5.23").rope_table_bytes(spec, get_gpu("h100")) == 0
    assert get_engine("sglang==0.5.23").alibi_slopes_bytes(spec, 1) == 40 * 512 == 20_480
    assert get_engine("sglang==0.5.23").alibi_slopes_bytes(spec, 2) == 20_480
    assert get_engine("sglang==0.5.8").alibi_slopes_bytes(spec, 1) == 0
    old = capacity_json(capsys, path, "--engine", "sglang==0.5.8")["weights_bytes"]
    new = capacity_json(capsys, path, "--engine", "sglang==0.5.23")["weights_bytes"]
    assert new - old == 20_480


def test_an_unread_architecture_is_still_refused():
    # every fixture's architecture is read now (groups A and B); one no model file was read for
    # (a Llama spec renamed) keeps the one-line refusal
    import dataclasses

    import pytest

    from kvplan.errors import BadInputError

    spec = dataclasses.replace(load_model("llama3.1-8b"), architecture="GraniteForCausalLM")
    with pytest.raises(BadInputError, match=r"kvplan has not read which rotary cos/sin tables SGLang builds for "
                                            r".*\(GraniteForCausalLM\)"):
        get_engine("sglang==0.5.8").rope_table_bytes(spec, get_gpu("h100"))


def test_explain_counts_the_alibi_slopes_as_capacity_does(capsys, tmp_path):
    # SGLang.loaded_bytes is the one sum of carve and explain: the 20,480 B of slopes reach the
    # predicted weight line of an SGLang log too (explain on the 0.4.6 H100 log, read as 0.5.23)
    from kvplan.explain import explain
    from kvplan.explain_log import parse_log

    path = _config(tmp_path, "baichuan2-7b", hidden_size=5_120, num_attention_heads=40, num_hidden_layers=40,
                   intermediate_size=13_696)
    log = parse_log(open("tests/fixtures/startup_logs/sglang_pr4760_llama31_8b_fa3_h100.log").read())
    new = explain(log, model=path, gpu="h100", release="0.5.23").line("model weights").kvplan
    old = explain(log, model=path, gpu="h100", release="0.5.8").line("model weights").kvplan
    assert new - old == 20_480
    assert new == capacity_json(capsys, path, "--engine", "sglang==0.5.23")["weights_bytes"]
