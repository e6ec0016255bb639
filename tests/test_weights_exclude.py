"""A checkpoint's exclusion list (quantization_config modules_to_not_convert / ignored_layers / ignore) read
module by module (kvplan.unquantized; docs/findings/FINDINGS_h35_fp8w.md).

Until h35-fp8w kvplan read each entry as a whole part by keyword ("post_attention_layernorm" -> all of
attention, "shared_expert_gate" -> the whole MLP), so Qwen3-Next-80B-A3B-Instruct-FP8's 407 names (norms,
A_log, dt_bias, conv1d, routers, gates, in_proj_ba, lm_head, mtp.*) made it count attention, the shared
expert and the Gated DeltaNet projections in bf16, where vLLM's Fp8Config (is_layer_skipped: exact module
names) quantizes them: 1,682,915,328 B too many over the model."""

from __future__ import annotations

import json
import re

import pytest

from kvplan.errors import BadInputError
from kvplan.loader import load_model
from kvplan.spec import spec_from_mapping
from kvplan.unquantized import unquantized
from kvplan.weights import weights_footprint
from tests.helpers import HF_FIXTURES, cli, one_line_error

QWEN3_NEXT_FP8 = str(HF_FIXTURES / "qwen3-next-80b-a3b-instruct-fp8.json")

# A tiny Llama-shaped model (tests/test_weights.py TINY): hidden 256, 4 heads of 64, 2 KV heads, MLP 512.
TINY = {
    "name": "tiny", "source": "test", "num_layers": 2, "hidden_size": 256, "num_attention_heads": 4,
    "num_kv_heads": 2, "vocab_size": 1000, "intermediate_size": 512, "dtype": "bf16",
    "max_position_embeddings": 4096,
}


def tiny(exclude):
    return spec_from_mapping({**TINY, "quantization": {"format": "fp8", "exclude": list(exclude)}}, "tiny")


def test_qwen3_next_fp8_weights_by_part_at_tp_1():
    """fp8 here is kvplan's fp8 format: 1 B a weight + one fp32 scale per output row (the checkpoint's
    128 x 128 block scales are not what is counted: docs/findings/FINDINGS_h35_fp8w.md, Left).

    Quantized (fp8): the attention q (8,192 x 2,048: q and its output gate), k and v (512 x 2,048), o
    (2,048 x 4,096) of the 12 attention layers; the shared expert's gate_up (1,024 x 2,048) and down
    (2,048 x 512) of the 48 layers; in_proj_qkvz (12,288 x 2,048) and out_proj (2,048 x 4,096) of the 36
    Gated DeltaNet layers; the routed experts (unchanged). bf16: in_proj_ba (64 x 2,048, listed), conv1d
    (8,192 x 4, built without a quant method), A_log and dt_bias (32 each), the GDN norm (128), q/k norms
    (256 each), routers, shared-expert gates, norms, embedding and lm_head."""
    w = weights_footprint(load_model(QWEN3_NEXT_FP8), None, 1)
    attention = 12 * ((8_192 + 512 + 512) * 2_048 + (8_192 + 512 + 512) * 4   # q, k, v + row scales
                      + 2_048 * 4_096 + 2_048 * 4                              # o
                      + 2 * 256 * 2)                                           # q_norm, k_norm
    shared = 48 * (1_024 * 2_048 + 1_024 * 4 + 2_048 * 512 + 2_048 * 4)
    gdn = 36 * (12_288 * 2_048 + 12_288 * 4      # in_proj_qkvz fp8
                 + 64 * 2_048 * 2                # in_proj_ba bf16
                 + 2_048 * 4_096 + 2_048 * 4     # out_proj fp8
                 + 8_192 * 4 * 2                 # conv1d bf16
                 + (32 + 32 + 128) * 2)          # A_log, dt_bias, norm
    assert (attention, shared, gdn) == (327_708_672, 151_584_768, 1_221_834_240)
    assert (w.by_part["attention"], w.by_part["mlp"], w.by_part["state_space"]) == (attention, shared, gdn)
    assert w.by_part["experts"] == 77_611_401_216
    assert w.total_bytes == w.stages[0].bytes == 80_658_445_824  # part-level reading: 82,341,361,152
    assert w.quantized_parts == ("attention", "mlp", "experts", "state_space")


def test_qwen3_next_fp8_weights_per_stage_at_tp_4():
    """One rank of four: q 2,048 rows, k and v one KV head of 256 (2 heads, max(1, 2 // 4) kept), o 1,024
    input columns; shared gate_up 256 rows, down 128 columns; qkvz 3,072 rows, in_proj_ba 16 rows (bf16),
    out_proj 1,024 columns, conv1d 2,048 channels; norms, A_log / dt_bias (8 a rank) as above."""
    spec = load_model(QWEN3_NEXT_FP8)
    w = weights_footprint(spec, None, 4)
    attention = 12 * (2_048 * 2_048 + 2_048 * 4 + 2 * (256 * 2_048 + 256 * 4) + 2_048 * 1_024 + 2_048 * 4 + 1_024)
    shared = 48 * (256 * 2_048 + 256 * 4 + 2_048 * 128 + 2_048 * 4)
    gdn = 36 * (3_072 * 2_048 + 3_072 * 4 + 16 * 2_048 * 2 + 2_048 * 1_024 + 2_048 * 4 + 2_048 * 4 * 2
                + (8 + 8 + 128) * 2)
    by = w.stages[0].by_part
    assert (by["attention"], by["mlp"], by["state_space"]) == (attention, shared, gdn) == (
        88_313_856, 38_191_104, 305_686_656)
    assert w.per_gpu_bytes == 20_398_459_008  # part-level reading: 20,824,877,184 (426,418,176 B more)
    two = weights_footprint(spec, None, 4, 2)  # pp 2: layers 0-23 and 24-47, six attention layers each
    assert [s.by_part["attention"] for s in two.stages] == [attention // 2] * 2
    assert sum(s.bytes for s in two.stages) == w.per_gpu_bytes  # lm_head not tied: no second copy


def test_a_list_naming_one_projection_keeps_only_that_tensor_in_bf16():
    # tiny per layer: q 256 x 256, k / v 128 x 256, o 256 x 256, gate_up 1,024 x 256, down 256 x 512
    plain = weights_footprint(tiny([]))
    one = weights_footprint(tiny(["model.layers.0.self_attn.o_proj"]))
    # o_proj of layer 0: 65,536 weights in bf16 (131,072 B) instead of 65,536 + 256 x 4 scales (66,560 B)
    assert one.total_bytes - plain.total_bytes == 131_072 - 66_560
    assert one.by_part["mlp"] == plain.by_part["mlp"]
    assert unquantized(tiny(["model.layers.0.self_attn.o_proj"]), {"attention", "mlp"}).by_layer == (
        frozenset({"o_proj.weight"}), frozenset())
    # all three shards of the fused qkv_proj: q, k and v of layer 1 in bf16
    qkv = weights_footprint(tiny([f"model.layers.1.self_attn.{m}_proj" for m in "qkv"]))
    # q 65,536 + k, v 32,768 weights each: bf16 262,144 B instead of fp8 131,072 + (256 + 2 x 128) x 4 scales
    assert qkv.total_bytes - plain.total_bytes == 262_144 - 133_120


def test_norms_and_gates_name_nothing_quantized():
    names = ["model.layers.0.input_layernorm", "model.layers.1.post_attention_layernorm", "lm_head",
             "model.embed_tokens", "gate", "e_score_correction_bias", "model.layers.0.mlp.gate", "model.norm"]
    assert weights_footprint(tiny(names)).total_bytes == weights_footprint(tiny([])).total_bytes


@pytest.mark.parametrize(("entry", "why"), [
    ("transformer.h.0.attn.c_attn", "names no module kvplan counts"),
    ("model.layers.0.self_attn.q_proj", "names some but not all shards of model.layers.0.self_attn.qkv_proj"),
    ("model.layers.0.self_attn.qkv_proj", "names the fused layer model.layers.0.self_attn.qkv_proj itself"),
    ("re:.*foo$", "matches no module kvplan counts"),
])
def test_an_unmappable_entry_is_refused(entry, why):
    with pytest.raises(BadInputError, match="exclusion (entry|pattern) " + re.escape(repr(entry))) as err:
        weights_footprint(tiny([entry]))
    assert why in str(err.value)


def test_an_entry_naming_routed_experts_is_refused():
    spec = spec_from_mapping({**TINY, "moe": {"num_experts": 4, "experts_per_token": 2,
                                              "expert_intermediate_size": 128},
                              "quantization": {"format": "fp8", "exclude": ["model.layers.0.mlp.experts.1.w1"]}},
                             "tiny")
    with pytest.raises(BadInputError, match="names routed experts"):
        weights_footprint(spec)


def test_the_cli_refuses_an_unmappable_entry_with_one_line(capsys, tmp_path):
    cfg = json.loads((HF_FIXTURES / "qwen3-next-80b-a3b-instruct-fp8.json").read_text())
    cfg["quantization_config"]["modules_to_not_convert"].append("model.layers.0.linear_attn.in_proj_xyz")
    path = tmp_path / "qwen3-next-xyz.json"
    path.write_text(json.dumps(cfg))
    code, _, err = cli(capsys, "capacity", str(path), "--gpu", "h200", "--tp", "4", "--engine", "vllm==0.19.1",
                       "--max-model-len", "4096")
    assert code == 2
    assert one_line_error(err) == (
        "kvplan: error: qwen3-next-xyz: quantization_config exclusion entry "
        "'model.layers.0.linear_attn.in_proj_xyz' names no module kvplan counts (Qwen3NextForCausalLM's layers as "
        "kvplan.unquantized.LAYER_MODULES names them), so kvplan cannot tell which weights it keeps unquantized; "
        "remove it from the config to plan without it")


@pytest.mark.parametrize(("ref", "weights", "total"), [
    # gpt-oss: mxfp4 quantizes the routed experts only; attention, router, embedding, lm_head bf16
    ("gpt-oss-120b", None, 65_248_815_744),
    # --weights fp8: "model.layers.*.self_attn" keeps q/k/v/o of every layer in bf16 (as before)
    ("gpt-oss-120b", "fp8", 119_155_780_224),
    ("gpt-oss-20b", None, 13_761_264_768),
    # MiniMax-M2.5 ['gate', 'e_score_correction_bias', 'lm_head']: the router (built with quant_config=None),
    # a bias and the head: nothing kvplan counts quantized
    (str(HF_FIXTURES / "minimax-m2.5.json"), None, 230_360_567_808),
])
def test_coarse_lists_keep_their_bytes(ref, weights, total):
    assert weights_footprint(load_model(ref), weights).total_bytes == total
