"""Weights from safetensors headers: exact bytes, sections, dtype as served, per GPU under TP/PP.

Every checkpoint here is a real safetensors file written by tests/hf_checkpoints.py for a
tiny Llama whose tensors are listed there; the expected bytes are added up by hand below.
"""

from __future__ import annotations

import json
import struct

import pytest

from helpers import cli, one_line_error
from hf_checkpoints import TINY_CONFIG, safetensors_bytes, split, tiny_tensors, write_checkpoint
from kvplan.errors import BadInputError
from kvplan.hf.safetensors import read_header
from kvplan.loader import load_model
from kvplan.weights import weights_footprint

# Per layer: q 64x64 + k 32x64 + v 32x64 + o 64x64 = 12,288; gate, up 128x64 and down 64x128 =
# 24,576; two norms of 64 = 128: 36,992. Two layers 73,984 + embedding 256x64 + lm_head 256x64
# + final norm 64 = 106,816 parameters, 213,632 bytes in bf16.
TINY_PARAMS = 106_816
TINY_BF16_BYTES = 2 * TINY_PARAMS


@pytest.fixture
def tiny(tmp_path):
    return write_checkpoint(tmp_path / "tiny", TINY_CONFIG, split(tiny_tensors(), 2))


def test_header_only_read_gives_names_dtypes_shapes(tmp_path):
    path = tmp_path / "m.safetensors"
    path.write_bytes(safetensors_bytes({"a.weight": ("BF16", [3, 5]), "b": ("F8_E4M3", [7])}))
    tensors = {t.name: (t.dtype, t.shape, t.nbytes) for t in read_header(path)}
    assert tensors == {"a.weight": ("BF16", (3, 5), 30), "b": ("F8_E4M3", (7,), 7)}


def test_checkpoint_weights_are_the_header_sum_and_match_the_architecture(tiny):
    spec = load_model(str(tiny))
    assert spec.checkpoint is not None and len(spec.checkpoint.tensors) == 21
    w = weights_footprint(spec)
    assert (w.format, w.total_params, w.total_bytes) == ("checkpoint", TINY_PARAMS, TINY_BF16_BYTES)
    assert w.by_section == {"language_model": TINY_BF16_BYTES, "vision_tower": 0, "projector": 0, "other": 0,
                            "unused": 0}
    # the shapes kvplan derives from the config agree with the headers to the byte
    assert weights_footprint(spec, "bf16").total_bytes == TINY_BF16_BYTES
    assert w.by_part["attention"] == 2 * 12_288 * 2 and w.by_part["mlp"] == 2 * 24_576 * 2


def test_tensor_parallel_split_per_gpu(tiny):
    # tp 2, one rank: q 32 rows (2,048), k and v one of the 2 KV heads (1,024 each), o 32
    # columns (2,048), gate/up 64 rows and down 64 columns (4,096 each), norms whole (128):
    # 18,560 a layer, 37,120 for two; embedding and lm_head 256 rows (a multiple of 64) / 2 =
    # 128 rows x 64 = 8,192 each; final norm 64. 53,568 parameters, 107,136 bytes.
    w = weights_footprint(load_model(str(tiny)), tp=2)
    assert [s.params for s in w.stages] == [53_568]
    assert w.per_gpu_bytes == 107_136
    # the same split as the architecture path (kvplan.shapes), to the byte
    assert weights_footprint(load_model(str(tiny)), "bf16", tp=2).per_gpu_bytes == 107_136


def test_pipeline_stages(tiny):
    # pp 2: stage 0 = layer 0 (36,992) + embedding (16,384); stage 1 = layer 1 + lm_head + final norm.
    w = weights_footprint(load_model(str(tiny)), pp=2)
    assert [s.params for s in w.stages] == [53_376, 53_440]
    assert [s.bytes for s in w.stages] == [106_752, 106_880] and w.per_gpu_bytes == 106_880


def test_float32_checkpoint_is_served_in_the_engines_dtype(tmp_path):
    from kvplan.capacity import make_request

    cfg = dict(TINY_CONFIG, torch_dtype="float32")
    folder = write_checkpoint(tmp_path / "fp32", cfg, [tiny_tensors("F32")])
    spec = load_model(str(folder))
    assert spec.checkpoint.stored_bytes == 4 * TINY_PARAMS
    assert spec.dtype == "fp32" and "stored in float32" in spec.notes
    assert weights_footprint(spec).total_bytes == 2 * TINY_BF16_BYTES  # as stored, without an engine
    # under an engine: vLLM 0.19.1 serves it in bf16 on an H100 and in fp16 on a T4; 0.8.3 in fp16
    # on an H100 ('we use float16 for float32 models' up to 0.9.0.1)
    served = make_request(spec, "h100", engine="vllm==0.19.1").spec
    assert served.dtype == "bf16" and weights_footprint(served).total_bytes == TINY_BF16_BYTES
    assert make_request(spec, "t4", engine="vllm==0.19.1").spec.dtype == "fp16"
    assert make_request(spec, "h100", engine="vllm==0.8.3", max_model_len=64).spec.dtype == "fp16"


def test_missing_dtype_is_read_from_the_headers(tmp_path):
    cfg = {k: v for k, v in TINY_CONFIG.items() if k != "torch_dtype"}
    spec = load_model(str(write_checkpoint(tmp_path / "f16", cfg, [tiny_tensors("F16")])))
    assert spec.dtype == "fp16" and spec.assumptions == ()
    assert "dtype fp16 from the safetensors headers" in spec.notes


def test_sections_vision_projector_and_unused_mtp_layer(tmp_path):
    tensors = tiny_tensors()
    tensors["vision_tower.vision_model.encoder.layers.0.mlp.fc1.weight"] = ("BF16", [32, 16])  # 1,024 B
    tensors["multi_modal_projector.linear_1.weight"] = ("BF16", [64, 16])  # 2,048 B
    tensors["model.layers.2.mlp.gate_proj.weight"] = ("BF16", [128, 64])  # past num_hidden_layers: 16,384 B
    w = weights_footprint(load_model(str(write_checkpoint(tmp_path / "mm", TINY_CONFIG, [tensors]))))
    assert w.by_section == {"language_model": TINY_BF16_BYTES, "vision_tower": 1_024, "projector": 2_048,
                            "other": 0, "unused": 16_384}
    assert w.total_bytes == TINY_BF16_BYTES + 1_024 + 2_048


def test_quantized_payloads_and_scales_are_held_as_stored(tmp_path):
    tensors = tiny_tensors()
    tensors["model.layers.0.mlp.down_proj.weight"] = ("F8_E4M3", [64, 128])  # 8,192 B instead of 16,384
    tensors["model.layers.0.mlp.down_proj.weight_scale"] = ("F32", [64])  # fp32 scales stay fp32: 256 B
    w = weights_footprint(load_model(str(write_checkpoint(tmp_path / "q", TINY_CONFIG, [tensors]))))
    assert w.total_bytes == TINY_BF16_BYTES - 8_192 + 256


def test_an_unknown_model_type_gets_weights_from_its_checkpoint(tmp_path):
    cfg = dict(TINY_CONFIG, model_type="brand_new_llm", architectures=["BrandNewForCausalLM"])
    spec = load_model(str(write_checkpoint(tmp_path / "new", cfg, [tiny_tensors()])))
    assert spec.weights_unknown  # no architecture count for an unknown model_type ...
    assert weights_footprint(spec).total_bytes == TINY_BF16_BYTES  # ... the headers give it exactly


@pytest.mark.parametrize("make, message", [
    (lambda p: p.write_bytes(struct.pack("<Q", 30_000_000) + b"{}"),
     "safetensors header of 30,000,000 bytes exceeds the 25,000,000-byte limit"),
    (lambda p: p.write_bytes(struct.pack("<Q", 100) + b"{}"), "runs past the end of the file"),
    (lambda p: p.write_bytes(b"\x01\x02"), "not a safetensors file"),
    (lambda p: p.write_bytes(safetensors_bytes({"w": ("BF16", [4])})[:-2]), "data_offsets [0, 8] do not hold"),
])
def test_bad_headers_are_one_line_errors(tmp_path, make, message):
    path = tmp_path / "model.safetensors"
    make(path)
    with pytest.raises(BadInputError, match=message.replace("[", r"\[")):
        read_header(path)


def test_index_naming_a_tensor_no_shard_holds_is_refused(tiny):
    index_path = tiny / "model.safetensors.index.json"
    index = json.loads(index_path.read_text())
    index["weight_map"]["model.layers.9.mlp.up_proj.weight"] = "model-00001-of-00002.safetensors"
    index_path.write_text(json.dumps(index))
    with pytest.raises(BadInputError, match="1 tensor\\(s\\) of the index are in no shard header"):
        load_model(str(tiny))


def test_cli_capacity_reads_the_checkpoint(capsys, tiny):
    code, out, err = cli(capsys, "capacity", tiny, "--gpu", "h100", "--tp", "2", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["weights_format"] == "checkpoint"
    # the headers' 107,136 B per GPU + vLLM's rotary cos/sin cache, 4,096 positions x 16 x 2 B
    assert data["weights_bytes"] == 107_136 + 4096 * 16 * 2


def test_cli_size_of_a_bad_checkpoint_is_one_line(capsys, tiny):
    (tiny / "model-00002-of-00002.safetensors").write_bytes(b"\x00")
    code, out, err = cli(capsys, "size", tiny)
    assert code == 2 and out == ""
    assert one_line_error(err) == (f"kvplan: error: {tiny / 'model-00002-of-00002.safetensors'}: "
                                   "not a safetensors file (shorter than 8 bytes)")


# metadata.total_size of real model.safetensors.index.json files (bf16 checkpoints): the
# architecture count from the fixture config must land within 1% (it lands on the byte).
# Llama-3.1-8B: 16,060,522,496, the index quoted in huggingface/transformers' docs and
# vendored whole by zml (search index id 42794433997). Gemma-3-4B: 8,600,158,944, the index of
# a MedGemma-4B checkpoint (Gemma 3 4B shapes) in a public test (index id 67482288239).
@pytest.mark.parametrize("fixture, total_size", [("llama-3.1-8b", 16_060_522_496), ("gemma-3-4b-it", 8_600_158_944)])
def test_architecture_count_matches_real_index_totals(fixture, total_size):
    from pathlib import Path

    spec = load_model(str(Path(__file__).parent / "fixtures" / "hf_configs" / f"{fixture}.json"))
    got = weights_footprint(spec, "bf16").total_bytes
    assert abs(got - total_size) <= total_size // 100
    assert got == total_size


def test_nemotron_h_mixer_tensors_go_to_their_part():
    """Nemotron-H names every block's module "mixer"; its attention and MLP projections keep
    their own part, the Mamba projections are the state-space mixer's."""
    from kvplan.hf.checkpoint import part

    assert part("backbone.layers.5.mixer.q_proj.weight") == "attention"
    assert part("backbone.layers.1.mixer.up_proj.weight") == "mlp"
    assert part("backbone.layers.1.mixer.experts.3.up_proj.weight") == "experts"
    assert part("backbone.layers.0.mixer.in_proj.weight") == "state_space"
