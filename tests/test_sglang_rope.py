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


QWEN3_VL_8B = "tests/fixtures/hf_configs/qwen3-vl-8b-instruct.json"
QWEN3_VL_30B = "tests/fixtures/hf_configs/qwen3-vl-30b-a3b-instruct.json"
#: Qwen/Qwen3-VL-8B-Instruct's text_config.rope_scaling (the fixture's copy has none).
MROPE = {"mrope_interleaved": True, "mrope_section": [24, 20, 20], "rope_type": "default"}


def _qwen3_vl_8b(tmp_path, rope_scaling=None):
    from helpers import hf_fixture

    config = hf_fixture("qwen3-vl-8b-instruct")
    if rope_scaling is not None:
        config["text_config"] = {**config["text_config"], "rope_scaling": rope_scaling}
    path = tmp_path / "qwen3-vl-8b-instruct.json"
    path.write_text(json.dumps(config))
    return load_model(str(path))


@pytest.mark.parametrize("release, vision", [
    ("0.5.4", 18 * 4),              # transformers' Qwen2_5_VisionRotaryEmbedding(36).inv_freq, float32
    ("0.5.6", 18 * 4),
    ("0.5.8", 8_192 * 36 * 4),      # get_rope(72, rotary_dim=36, max_position=8192): float32 on CUDA
    ("0.5.22", 8_192 * 36 * 4 + 64 * 8),  # + MRotaryEmbedding.axis_map, 128 / 2 int64
    ("0.5.23", 8_192 * 36 * 4 + 64 * 8),
])
def test_qwen3_vl_8b_text_table_plus_its_vision_tower_s(tmp_path, release, vision):
    # vision head width 1152 / 16 = 72; the text model's table 262,144 x 128 x 4 = 134,217,728 B
    spec = _qwen3_vl_8b(tmp_path, MROPE)
    assert spec.vision_tower.num_heads == 16 and spec.vision_tower.mrope is True
    assert get_engine(f"sglang=={release}").rope_table_bytes(spec, get_gpu("h100")) == 134_217_728 + vision


def test_qwen3_vl_without_an_mrope_section_keeps_no_axis_map(tmp_path):
    spec = _qwen3_vl_8b(tmp_path)  # the fixture: no rope_scaling
    assert spec.vision_tower.mrope is False
    assert get_engine("sglang==0.5.23").rope_table_bytes(spec, get_gpu("h100")) == 134_217_728 + 1_179_648
    # ROCm: float32 from 0.5.22; up to 0.5.8 both get_rope tables are cast to bf16, the inv_freq stays float32
    assert get_engine("sglang==0.5.23").rope_table_bytes(spec, get_gpu("mi300x")) == 134_217_728 + 1_179_648
    assert get_engine("sglang==0.5.8").rope_table_bytes(spec, get_gpu("mi300x")) == (134_217_728 + 1_179_648) // 2
    assert get_engine("sglang==0.5.6").rope_table_bytes(spec, get_gpu("mi300x")) == 134_217_728 // 2 + 72


def test_qwen3_vl_moe_s_vision_table():
    # Qwen3-VL-30B-A3B: the same tower (1152 / 16), text 262,144 x 128 x 4
    spec = load_model(QWEN3_VL_30B)
    assert spec.architecture == "Qwen3VLMoeForConditionalGeneration"
    assert get_engine("sglang==0.5.6").rope_table_bytes(spec, get_gpu("h100")) == 134_217_728 + 72
    assert get_engine("sglang==0.5.8").rope_table_bytes(spec, get_gpu("h100")) == 134_217_728 + 1_179_648


@pytest.mark.parametrize("release, weights, tokens", [
    # 8,767,123,696 x 2 B + 134,217,728 + 72 B (was refused)
    ("0.5.6", 17_534_247_392 + 134_217_728 + 72, 322_579),
    ("0.5.8", 17_534_247_392 + 134_217_728 + 1_179_648, 322_571),
])
def test_qwen3_vl_8b_capacity_under_sglang(capsys, release, weights, tokens):
    out = capacity_json(capsys, QWEN3_VL_8B, "--engine", f"sglang=={release}")
    assert out["weights_bytes"] == weights
    assert out["kv_cache_tokens"] == tokens


def test_qwen3_vl_30b_capacity_under_sglang_tp2(capsys):
    # weights per GPU at tp 2: 31,222,415,288 B under 0.5.6 (inv_freq 72 B), + 1,179,576 B under 0.5.8
    out6 = capacity_json(capsys, QWEN3_VL_30B, "--engine", "sglang==0.5.6", "--tp", "2")
    out8 = capacity_json(capsys, QWEN3_VL_30B, "--engine", "sglang==0.5.8", "--tp", "2")
    assert (out6["weights_bytes"], out6["kv_cache_tokens"]) == (31_222_415_288, 673_209)
    assert (out8["weights_bytes"], out8["kv_cache_tokens"]) == (31_222_415_288 + 1_179_576, 673_185)


@pytest.mark.parametrize("config, arch", [(QWEN3_VL_8B, "Qwen3VLForConditionalGeneration"),
                                          (QWEN3_VL_30B, "Qwen3VLMoeForConditionalGeneration")])
def test_a_qwen3_vl_spec_without_the_vision_heads_is_refused(capsys, tmp_path, config, arch):
    # a spec written before kvplan recorded vision_config.num_heads: one line, exit 2, naming the field
    import yaml

    code, text, err = cli(capsys, "import", config)
    assert code == 0, err
    spec = yaml.safe_load(text)
    del spec["vision"]["tower"]["num_heads"]
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    code, out, err = cli(capsys, "capacity", str(path), "--gpu", "h200", "--engine", "sglang==0.5.8",
                         "--mem-fraction-static", "0.8")
    assert code == 2 and out == ""
    line = one_line_error(err)
    assert line.startswith("kvplan: error: sglang==0.5.8: kvplan cannot size the rotary table SGLang builds for ")
    assert f"vision tower ({arch}: models/qwen3_vl.py" in line
    assert "has no num_heads (vision.tower.num_heads, vision_config.num_heads" in line
    # vLLM plans it: the heads shape no weight there
    code, _, err = cli(capsys, "capacity", str(path), "--gpu", "h200", "--engine", "vllm")
    assert code == 0, err


def test_qwen3_vl_mrope_unrecorded_is_refused_where_it_counts(tmp_path):
    import dataclasses

    from kvplan.errors import BadInputError

    spec = _qwen3_vl_8b(tmp_path, MROPE)
    spec = dataclasses.replace(spec, vision_tower=dataclasses.replace(spec.vision_tower, mrope=None))
    # 0.5.8 keeps no axis_map: nothing to tell
    assert get_engine("sglang==0.5.8").rope_table_bytes(spec, get_gpu("h100")) == 134_217_728 + 1_179_648
    with pytest.raises(BadInputError, match=r"axis_map .*vision\.tower\.mrope"):
        get_engine("sglang==0.5.23").rope_table_bytes(spec, get_gpu("h100"))
    no_tower = dataclasses.replace(spec, vision_tower=None)
    with pytest.raises(BadInputError, match="the spec has no qwen3_vl vision tower"):
        get_engine("sglang==0.5.8").rope_table_bytes(no_tower, get_gpu("h100"))


@pytest.mark.parametrize("vision, message", [
    ({"num_heads": None}, "vision_config.num_heads must be a positive integer, got None"),
    ({"num_heads": 0}, "vision_config.num_heads must be a positive integer, got 0"),
    ({"num_heads": 7}, "vision_config.num_heads 7 does not divide vision_config.hidden_size 1152"),
])
def test_a_malformed_vision_num_heads_is_refused_on_import(capsys, tmp_path, vision, message):
    from helpers import config_refusal, hf_fixture

    config = hf_fixture("qwen3-vl-8b-instruct")
    config["vision_config"] = {**config["vision_config"], **vision}
    assert message in config_refusal(capsys, tmp_path, config)


def test_an_absent_vision_num_heads_is_the_config_class_default(tmp_path):
    # transformers' and SGLang's Qwen3VLVisionConfig both default num_heads to 16
    from helpers import hf_fixture

    config = hf_fixture("qwen3-vl-8b-instruct")
    config["vision_config"] = {k: v for k, v in config["vision_config"].items() if k != "num_heads"}
    path = tmp_path / "c.json"
    path.write_text(json.dumps(config))
    assert load_model(str(path)).vision_tower.num_heads == 16


@pytest.mark.parametrize("arch, what", [
    ("Qwen2VLForConditionalGeneration", "Qwen2VisionRotaryEmbedding(head_dim // 2), head_dim = "
                                        "vision_config.embed_dim"),
    ("Qwen2_5_VLForConditionalGeneration", "Qwen2_5_VisionRotaryEmbedding(head_dim // 2), head_dim = "
                                           "vision_config.hidden_size"),
])
def test_qwen2_vl_and_qwen2_5_vl_stay_refused(arch, what):
    import dataclasses

    from kvplan.errors import BadInputError

    spec = dataclasses.replace(load_model("qwen3-8b"), architecture=arch)
    for release in ("0.4.6", "0.5.8", "0.5.23"):
        with pytest.raises(BadInputError) as err:
            get_engine(f"sglang=={release}").rope_table_bytes(spec, get_gpu("h100"))
        line = str(err.value)
        assert f"vision tower ({arch}: models/" in line and what in line
        assert f"kvplan reads no vision_config of {arch}" in line


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


@pytest.mark.parametrize("release, weights", [("0.5.6", 17_668_465_192), ("0.5.8", 17_669_644_768)])
def test_explain_counts_qwen3_vl_s_vision_table_as_capacity_does(release, weights):
    """explain's predicted weights for Qwen3-VL-8B (read against the Llama log, which only sets the
    GPU) are capacity's: 8,767,123,696 x 2 + 134,217,728 + the vision tower's 72 B (0.5.6) or
    1,179,648 B (0.5.8)."""
    from kvplan.capacity import make_request, plan
    from kvplan.explain import explain
    from kvplan.explain_log import parse_log

    log = open("tests/fixtures/startup_logs/sglang_pr4760_llama31_8b_fa3_h100.log").read()
    ex = explain(parse_log(log), model=QWEN3_VL_8B, gpu="h100", release=release)
    cap = plan(make_request(load_model(QWEN3_VL_8B), "h100", engine=f"sglang=={release}"))
    assert ex.line("model weights").kvplan == cap.weights_bytes == weights


def _llama_config(tmp_path, name, **change):
    data = json.load(open("tests/fixtures/hf_configs/" + name + ".json"))
    data.update(change)
    path = tmp_path / f"{name}-x.json"
    path.write_text(json.dumps(data))
    return str(path)


def test_a_smaller_context_key_than_max_position_embeddings_is_refused(capsys, tmp_path):
    # llama.py passes config.max_position_embeddings (131,072 for Llama-3.1-8B) to get_rope whatever
    # model_max_length says; kvplan's context is 8,192 there, so the table is not its rows: refused
    # (before: weights 16,064,716,800 B, a 8,192-row table, 62,914,560 B short; REVIEW_h30 F1)
    path = _llama_config(tmp_path, "llama-3.1-8b", model_max_length=8_192)
    assert load_model(path).rope_max_position == 131_072
    code, out, err = cli(capsys, "capacity", path, "--gpu", "h100", "--engine", "sglang==0.5.8")
    assert code == 2 and out == ""
    line = one_line_error(err)
    assert ("kvplan cannot size the rotary table SGLang builds for llama-3.1-8b-x (LlamaForCausalLM: get_rope "
            "receives config.max_position_embeddings 131,072, beyond the context of 8,192") in line


def test_a_rope_factor_s_context_keeps_its_rows(tmp_path):
    # a linear factor 2 over 8,192: context 16,384 = LinearScalingRotaryEmbedding's max_position x factor
    # rows; rope_max_position (8,192) is below the context, not refused
    path = _llama_config(tmp_path, "llama-3-8b-instruct", rope_scaling={"type": "linear", "factor": 2.0})
    spec = load_model(path)
    assert (spec.max_position_embeddings, spec.rope_max_position) == (16_384, 8_192)
    assert get_engine("sglang==0.5.8").rope_table_bytes(spec, get_gpu("h100")) == 16_384 * 128 * 4


def test_vllm_refuses_the_same_smaller_context_key(capsys, tmp_path):
    # vLLM's llama.py passes config.max_position_embeddings too (0.24.0 :266): its table had 131,072 rows
    # where kvplan sized 8,192 (weights 16,062,619,648 B, 31,457,280 B short; REVIEW_h30 F2): refused now,
    # by capacity and speed alike; the unchanged config keeps its figure
    path = _llama_config(tmp_path, "llama-3.1-8b", model_max_length=8_192)
    for command in (("capacity", path, "--gpu", "h100", "--engine", "vllm==0.22.1", "--enforce-eager"),
                    ("speed", path, "--gpu", "h100", "--ctx", "1k", "--engine", "vllm==0.19.1")):
        code, out, err = cli(capsys, *command)
        assert code == 2 and out == ""
        assert ("kvplan cannot size vLLM's rotary table for llama-3.1-8b-x (LlamaForCausalLM: get_rope receives "
                "config.max_position_embeddings 131,072, beyond the context of 8,192") in one_line_error(err)
    code, out, err = cli(capsys, "capacity", "tests/fixtures/hf_configs/llama-3.1-8b.json", "--gpu", "h100",
                         "--engine", "vllm==0.22.1", "--enforce-eager", "--json")
    assert code == 0 and json.loads(out)["weights_bytes"] == 16_094_076_928


def test_a_malformed_mrope_section_is_refused_on_import(capsys, tmp_path):
    # REVIEW_h30 F6: an mrope_section that is not a list of positive integers is one line, exit 2
    data = json.load(open("tests/fixtures/hf_configs/qwen3-vl-8b-instruct.json"))
    for bad in ("abc", [24, 0, 20], [24.0, 20, 20], [True, 20, 20]):
        data["text_config"]["rope_scaling"] = {"rope_type": "default", "mrope_section": bad}
        path = tmp_path / "qwen3-vl-bad.json"
        path.write_text(json.dumps(data))
        code, out, err = cli(capsys, "size", str(path), "--ctx", "8k")
        assert code == 2 and out == ""
        assert "text_config's rope mrope_section must be a list of positive integers" in one_line_error(err)
    data["text_config"]["rope_scaling"] = {"rope_type": "default", "mrope_section": [24, 20, 20]}
    path.write_text(json.dumps(data))
    assert load_model(str(path)).vision_tower.mrope is True
