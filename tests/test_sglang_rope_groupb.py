"""SGLang's rotary tables for the architectures read in h30 (kvplan/engines/sglang.py
ROPE_ARCHITECTURES, the h30 block; docs/findings/FINDINGS_h30_sglb.md). Before, every one of
them was refused under --engine sglang ("kvplan has not read which rotary cos/sin tables ..."),
so each figure here fails on the commit before."""

import pytest
from helpers import HF_FIXTURES, capacity_json, cli, one_line_error

from kvplan.engines import get_engine
from kvplan.gpus import get_gpu
from kvplan.loader import load_model


def _spec(name):
    return load_model(str(HF_FIXTURES / f"{name}.json"))


@pytest.mark.parametrize("name, rows, width", [
    ("chatglm3-6b", 8_192, 64),                        # seq_length x (hidden / heads) / 2
    ("dbrx", 32_768, 128),                             # max_seq_len x d_model / n_heads
    ("llama-3.3-nemotron-super-49b-v1", 131_072, 128),  # LlamaAttention; llama3 scaling keeps the rows
    ("ernie-4.5-0.3b", 131_072, 128),                  # LlamaAttention as Ernie4Attention
    ("glm-4.7", 202_752, 64),                          # int(128 x partial_rotary_factor 0.5)
    ("hunyuan-a13b-instruct", 32_768, 128),            # dynamic with alpha: max_position rows
    ("mimo-7b-base", 32_768, 128),                     # qwen2.py's table
    ("minimax-m2.5", 196_608, 64),                     # config.rotary_dim; the config's rows, not max_model_len
    ("llama-4-scout-17b-16e-instruct", 10_485_760, 128),  # text_config.max_position_embeddings
])
def test_one_float32_table_on_nvidia_the_model_dtype_on_amd_up_to_0_5_8(name, rows, width):
    spec = _spec(name)
    table = rows * width * 4
    model = rows * width * 2                           # every fixture here is bf16 or fp16
    for release in ("0.5.6", "0.5.8"):
        engine = get_engine(f"sglang=={release}")
        assert engine.rope_table_bytes(spec, get_gpu("h100")) == table
        assert engine.rope_table_bytes(spec, get_gpu("mi300x")) == model
    engine = get_engine("sglang==0.5.22")             # float32 on ROCm too from 0.5.22
    assert engine.rope_table_bytes(spec, get_gpu("h100")) == engine.rope_table_bytes(spec, get_gpu("mi300x")) == table


@pytest.mark.parametrize("name, args, weights, table, tokens", [
    ("chatglm3-6b", (), 12_489_265_152, 2_097_152, 2_024_718),
    ("dbrx", ("--tp", "8"), 32_923_660_288, 16_777_216, 1_722_961),
    ("llama-3.3-nemotron-super-49b-v1", ("--tp", "8"), 12_535_758_848, 67_108_864, 2_219_154),
    ("ernie-4.5-0.3b", (), 788_604_928, 67_108_864, 3_784_363),
    ("glm-4.7", ("--tp", "8", "--weights", "fp8"), 44_802_444_608, 51_904_512, 496_931),
    ("hunyuan-a13b-instruct", ("--tp", "8"), 20_130_258_944, 16_777_216, 2_934_549),
    ("mimo-7b-base", (), 15_262_015_488, 16_777_216, 374_891),
    # tp 4: at tp 8 the experts' 1,536 rows split into 192 a rank, which the 128 x 128 fp8 blocks do not divide,
    # and SGLang does not start (SGLang.check_fp8_block_experts); 128k, since a request of its own 196,608 does not
    # fit the 170,885-token pool at tp 4 (the table is the config's 196,608 rows either way)
    ("minimax-m2.5", ("--tp", "4", "--max-model-len", "128k"), 57_861_083_136, 50_331_648, 170_885),
    ("llama-4-scout-17b-16e-instruct", ("--tp", "8", "--disable-hybrid-kv-cache-manager", "--max-model-len", "128k"),
     32_318_924_800, 5_368_709_120, 1_460_408),
])
def test_capacity_counts_the_table_in_sglang_0_5_8_s_weights(capsys, name, args, weights, table, tokens):
    # every GPU holds the whole table (one per process; get_rope's _ROPE_DICT shares it across layers)
    out = capacity_json(capsys, str(HF_FIXTURES / f"{name}.json"), *args, "--engine", "sglang==0.5.8")
    assert out["weights_bytes"] == weights
    assert get_engine("sglang==0.5.8").rope_table_bytes(_spec(name), get_gpu("h100")) == table
    assert out["kv_cache_tokens"] == tokens


def test_a_nemotron_nas_stage_of_no_op_attention_layers_holds_no_table():
    # nemotron_nas.py DeciLMDecoderLayer builds LlamaAttention (and so get_rope) only where attention
    # is not no_op: layers 6 and 7 of Nemotron Super are no_op, layer 5 attends
    engine, spec, gpu = get_engine("sglang==0.5.8"), _spec("llama-3.3-nemotron-super-49b-v1"), get_gpu("h100")
    assert engine.rope_table_bytes(spec, gpu, range(6, 8)) == 0
    assert engine.rope_table_bytes(spec, gpu, range(5, 8)) == 131_072 * 128 * 4


@pytest.mark.parametrize("release", ["0.4.6", "0.4.9"])
def test_llama4_s_vision_tower_table_is_refused_where_sglang_builds_the_tower(capsys, release):
    # 0.4.6 / 0.4.9 build transformers' Llama4VisionModel always; its freqs_ci is sized by the vision
    # head count, which the spec does not record. From 0.4.10 no tower without --enable-multimodal.
    code, out, err = cli(capsys, "capacity", str(HF_FIXTURES / "llama-4-scout-17b-16e-instruct.json"), "--gpu",
                         "h100", "--tp", "8", "--engine", f"sglang=={release}", "--max-model-len", "131072")
    assert code == 2 and out == ""
    line = one_line_error(err)
    assert line.startswith(f"kvplan: error: sglang=={release}: kvplan cannot size the rotary table SGLang builds for ")
    assert "Llama4VisionRotaryEmbedding freqs_ci" in line and "vision_config.num_attention_heads" in line


def test_llama4_from_0_5_6_counts_the_text_table_and_no_vision_tower(capsys):
    # from 0.4.10 SGLang builds no vision tower or projector for Llama4ForConditionalGeneration without
    # --enable-multimodal (mllama4.py has_vision; _should_skip_weight): their 115,453,056 B a GPU at tp 8
    # are not loaded (kvplan counted them before h30). The text table, 10,485,760 x 128 x 4, is.
    out = capacity_json(capsys, str(HF_FIXTURES / "llama-4-scout-17b-16e-instruct.json"), "--tp", "8",
                        "--disable-hybrid-kv-cache-manager", "--max-model-len", "131072", "--engine", "sglang==0.5.6")
    assert out["weights_bytes"] == 27_065_668_736 - 115_453_056 + 10_485_760 * 128 * 4 == 32_318_924_800
    spec = _spec("llama-4-scout-17b-16e-instruct")
    assert get_engine("sglang==0.5.6").loaded_spec(spec).vision_tower is None
    assert get_engine("sglang==0.4.9").loaded_spec(spec) is spec     # 0.4.9 builds the tower (refused above)
