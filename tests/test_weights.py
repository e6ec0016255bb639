"""Weight bytes: exact arithmetic by format, TP/PP splits, and the vLLM log figures."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kvplan.errors import ShapeError, UnknownNameError
from kvplan.loader import load_model
from kvplan.spec import spec_from_mapping
from kvplan.weights import get_weight_format, weights_footprint

GIB = 1 << 30

# A tiny Llama-shaped model: hidden 256, 4 heads of 64, 2 KV heads, MLP 512, vocab 1000.
TINY = {
    "name": "tiny", "source": "test", "num_layers": 2, "hidden_size": 256, "num_attention_heads": 4,
    "num_kv_heads": 2, "vocab_size": 1000, "intermediate_size": 512, "dtype": "bf16",
    "max_position_embeddings": 4096,
}
# Per layer: attention q 256*256 + k 256*128 + v 256*128 + o 256*256 = 196,608
#            mlp 3 * 256*512 = 393,216;  norms 2 * 256 = 512       -> 590,336
# Model: 2 * 590,336 + embedding 256,000 + lm_head 256,000 + final norm 256 = 1,692,928
TINY_PARAMS = 1_692_928


def tiny(**over):
    return spec_from_mapping({**TINY, **over}, "tiny")


def test_bf16_and_fp32_bytes_are_params_times_width():
    s = tiny()
    assert weights_footprint(s, "bf16").total_params == TINY_PARAMS
    assert weights_footprint(s, "bf16").total_bytes == 2 * TINY_PARAMS  # 3,385,856
    assert weights_footprint(s, "fp32").total_bytes == 4 * TINY_PARAMS


def test_fp8_keeps_embedding_lm_head_and_norms_in_bf16_and_adds_channel_scales():
    s = tiny()
    # linear: 2 * (196,608 + 393,216) = 1,179,648 weights at 1 B
    # scales: out channels per layer = q 256 + k 128 + v 128 + o 256 = 768 (attention)
    #         + gate/up 2*512 + down 256 = 1,280 (mlp) -> 2,048 a layer, 4,096 total, 4 B each = 16,384
    # bf16: embedding 256,000 + lm_head 256,000 + norms 2*512 + 256 = 513,280 params * 2 = 1,026,560
    assert weights_footprint(s, "fp8").total_bytes == 1_179_648 + 16_384 + 1_026_560


def test_int4_group128_scales_and_zeros():
    s = tiny()
    # 1,179,648 linear weights * 0.5 B = 589,824; groups 1,179,648 / 128 = 9,216 * 2.5 B = 23,040
    assert weights_footprint(s, "int4").total_bytes == 589_824 + 23_040 + 1_026_560


def test_mxfp4_touches_only_routed_experts():
    s = tiny(moe={"num_experts": 4, "experts_per_token": 2, "expert_intermediate_size": 128})
    w = weights_footprint(s, "mxfp4")
    assert w.quantized_parts == ("experts",)
    # experts a layer: 4 * 3 * 256*128 = 393,216 weights; 2 layers = 786,432 at 0.5 B = 393,216
    # + one e8m0 byte per 32: 786,432 / 32 = 24,576
    assert w.by_part["experts"] == 393_216 + 24_576
    assert w.by_part["attention"] == 2 * 196_608 * 2  # stays bf16


def test_config_exclusions_keep_parts_unquantized():
    # a module path names every module under it (kvplan.unquantized): "self_attn" is all of attention
    s = tiny(quantization={"format": "fp8", "exclude": ["self_attn"]})
    w = weights_footprint(s)
    assert w.format == "fp8" and w.quantized_parts == ("mlp",)
    assert w.by_part["attention"] == 2 * 196_608 * 2


def test_weights_option_overrides_spec_quantization():
    s = tiny(quantization={"format": "int4"})
    assert weights_footprint(s).format == "int4"
    assert weights_footprint(s, "bf16").total_bytes == 2 * TINY_PARAMS


def test_tp2_shards_projections_and_vocab_replicates_norms():
    w = weights_footprint(tiny(), "bf16", tp=2)
    # per layer: q/o 131,072 / 2 + k/v one of two heads each 32,768 + mlp 393,216 / 2 + norms 512
    #          = 65,536 + 32,768 + 196,608 + 512 = 295,424; 2 layers = 590,848
    # embedding/lm_head: vocab 1000 -> padded 1024 -> 512 rows * 256 = 131,072 each; final norm 256
    assert w.stages[0].params == 590_848 + 2 * 131_072 + 256
    assert w.per_gpu_bytes == 2 * (590_848 + 2 * 131_072 + 256)


def test_tp_past_kv_heads_replicates_kv_projections():
    w4 = weights_footprint(tiny(), "bf16", tp=4)
    # tp 4 > 2 KV heads: each rank keeps 1 KV head (k+v 2 * 256*64 = 32,768), q/o 131,072 / 4
    # (q/o 32,768 + k/v 32,768) + mlp 393,216 / 4 = 98,304 + norms 512 -> 164,352 a layer
    # vocab 1024 / 4 = 256 rows * 256 = 65,536 each
    assert w4.stages[0].params == 2 * 164_352 + 2 * 65_536 + 256 == 460_032


def test_pp_puts_embedding_first_and_head_last():
    w = weights_footprint(tiny(), "bf16", pp=2)
    # stage 0: layer 0 (590,336) + embedding (1024 padded rows * 256 = 262,144)
    # stage 1: layer 1 (590,336) + lm_head 262,144 + final norm 256
    assert [s.params for s in w.stages] == [590_336 + 262_144, 590_336 + 262_144 + 256]
    assert w.most_loaded_stage == 1


def test_tied_embeddings_need_a_head_copy_on_the_last_stage():
    w1 = weights_footprint(tiny(tie_word_embeddings=True), "bf16")
    assert w1.total_params == TINY_PARAMS - 256_000
    w2 = weights_footprint(tiny(tie_word_embeddings=True), "bf16", pp=2)
    assert w2.stages[1].params == 590_336 + 262_144 + 256


@pytest.mark.parametrize(
    ("fmt", "tp", "pp", "logged_gib"),
    [  # vLLM v0.19 "Model loading took X GiB" for Llama-3.1-8B (calibration A018-A028); the
       # logged figure includes the 32 MiB rotary cache (131072 x 128 x 2 B), added here.
        ("bf16", 1, 1, 14.99), ("bf16", 2, 1, 7.51), ("bf16", 4, 1, 3.77),
        ("bf16", 1, 2, 7.51), ("bf16", 1, 4, 4.26), ("fp8", 1, 1, 8.49), ("fp32", 1, 1, 29.98),
    ],
)
def test_llama31_8b_matches_vllm_logs_to_the_logged_precision(fmt, tp, pp, logged_gib):
    s = load_model("llama3.1-8b")
    import dataclasses

    from kvplan.engines import rope_cache_bytes

    if fmt == "fp32":
        s = dataclasses.replace(s, dtype="fp32")
    got = weights_footprint(s, fmt, tp, pp).per_gpu_bytes + rope_cache_bytes(s)
    assert abs(got / GIB - logged_gib) <= 0.005  # the log rounds to 0.01 GiB


def test_llama31_8b_bf16_exact():
    # 8,030,261,248 params (params.py worked example) * 2 B
    assert weights_footprint(load_model("llama3.1-8b"), "bf16").total_bytes == 16_060_522_496


def test_bad_names_and_shapes():
    with pytest.raises(UnknownNameError, match="did you mean"):
        get_weight_format("int44")
    with pytest.raises(ShapeError):
        weights_footprint(tiny(), "bf16", tp=3)


@settings(max_examples=40, deadline=None)
@given(tp=st.sampled_from([1, 2, 4]), pp=st.integers(1, 2), fmt=st.sampled_from(["bf16", "fp8", "int4"]))
def test_shards_cover_the_model(tp, pp, fmt):
    """Every GPU together holds at least one copy; one GPU holds no more than the model plus
    vLLM's vocab padding (1000 -> 1024 rows: 24 * 256 * 2 B for embedding and lm_head = 24,576 B)."""
    s = tiny()
    whole = weights_footprint(s, fmt).total_bytes
    w = weights_footprint(s, fmt, tp, pp)
    assert w.per_gpu_bytes <= whole + 24_576
    assert tp * sum(st_.bytes for st_ in w.stages) >= whole


def test_config_json_quantization_config_is_honoured(tmp_path):
    cfg = {
        "model_type": "llama", "architectures": ["LlamaForCausalLM"], "hidden_size": 256,
        "num_attention_heads": 4, "num_key_value_heads": 2, "num_hidden_layers": 2, "intermediate_size": 512,
        "vocab_size": 1000, "max_position_embeddings": 4096, "torch_dtype": "bfloat16",
        "tie_word_embeddings": False, "rms_norm_eps": 1e-5,
        "quantization_config": {"quant_method": "gptq", "bits": 4, "group_size": 128},
    }
    path = tmp_path / "config.json"
    path.write_text(__import__("json").dumps(cfg))
    s = load_model(str(path))
    w = weights_footprint(s)
    assert w.format == "int4"
    # same as TINY in int4: 589,824 + 23,040 + 1,026,560 (see test_int4_group128_scales_and_zeros)
    assert w.total_bytes == 589_824 + 23_040 + 1_026_560
    assert weights_footprint(s, "bf16").total_bytes == 2 * TINY_PARAMS
