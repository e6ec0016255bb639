"""Block-fp8 state-space layers under tensor parallelism (docs/findings/FINDINGS_h35_fp8ssm.md).

Qwen/Qwen3-Next-80B-A3B-Instruct-FP8 (fixture qwen3-next-80b-a3b-instruct-fp8.json: its quantization_config,
weight_block_size [128, 128], modules_to_not_convert naming each Gated DeltaNet layer's in_proj_ba, conv1d,
A_log, dt_bias and norm, the routers, the shared-expert gates, the norms and the lm_head) on vLLM:

- vLLM decides per module whether a linear layer is quantized (quantization/utils/quant_utils.py
  is_layer_skipped, exact names); kvplan's former part-level reading of that list (kvplan.weights.excluded_parts
  until h35-fp8w: "post_attention_layernorm" -> attention, "shared_expert_gate" -> mlp) kept the attention and
  the shared experts out of the shard test, so tp 8 / 16 with expert parallelism planned where vLLM raises ValueError
  for the shared expert (512 rows / 8 = 64 a rank against 128);
- vLLM 0.10.2 builds in_proj_qkvz and in_proj_ba as one layer "in_proj", and a list naming only
  in_proj_ba makes is_layer_skipped raise at any tp;
- the Gated DeltaNet projections themselves (in_proj_qkvz 12,288 rows, in_proj_ba 64, out_proj 4,096
  columns) are tested as the release builds them (rule gdn_projection_layers): a checkpoint that
  quantizes in_proj_ba is refused at tp 2 (32 rows a rank) except on 0.17.x, where in_proj_ba is a
  merged layer of two halves that linear.py lets through.

Other state-space mixers (Mamba, Mamba-2, lightning attention) of a block-fp8 checkpoint are refused at
tp > 1 on vLLM (not read); SGLang refuses every state-space model before (SGLang.check_kv_pool)."""

from __future__ import annotations

import json

import pytest

from kvplan.engines.base import LinearShardMisfit, fp8_linear_shard_misfit, qwen3_next_fp8_shard_mix
from kvplan.loader import load_model
from kvplan.shapes import layer_shapes
from kvplan.weights import weight_storage, weights_footprint
from tests.helpers import HF_FIXTURES, cli, one_line_error

QWEN3_NEXT_FP8 = str(HF_FIXTURES / "qwen3-next-80b-a3b-instruct-fp8.json")
_BASE = ("capacity", QWEN3_NEXT_FP8, "--gpu", "h200", "--max-model-len", "4096")


def _quantized_ba(tmp_path) -> str:
    """The fixture with in_proj_ba left off modules_to_not_convert: a checkpoint that quantizes it."""
    cfg = json.loads((HF_FIXTURES / "qwen3-next-80b-a3b-instruct-fp8.json").read_text())
    q = cfg["quantization_config"]
    q["modules_to_not_convert"] = [m for m in q["modules_to_not_convert"] if not m.endswith(".in_proj_ba")]
    path = tmp_path / "qwen3-next-ba-fp8.json"
    path.write_text(json.dumps(cfg))
    return str(path)


def _misfit(ref: str, tp: int, **kw):
    spec = load_model(ref)
    return fp8_linear_shard_misfit(spec, weights_footprint(spec, None, tp), **kw)


def test_the_fixture_is_the_block_fp8_checkpoint():
    spec = load_model(QWEN3_NEXT_FP8)
    assert spec.weights_format == "fp8_e4m3" and spec.weights_block == (128, 128)
    assert len(spec.weights_exclude) == 407 and spec.ssm.type == "gated_deltanet"
    assert weights_footprint(spec, None, 4).format == "fp8"


def test_vllm_reads_the_exclusion_list_per_module():
    spec = load_model(QWEN3_NEXT_FP8)
    st = weight_storage(spec, None)  # the one rule the weights and the shard test read (Storage.quantizes)

    def kept_unquantized(layer: int, name: str) -> bool:
        p = next(p for p in layer_shapes(spec, layer) if p.name == f"{name}.weight")
        return not st.quantizes(p, st.layer_kept(layer))

    skipped = {name: kept_unquantized(layer, name) for layer, name in [
        (0, "linear_attn.in_proj_ba"), (0, "linear_attn.in_proj_qkvz"), (0, "linear_attn.out_proj"),
        (0, "linear_attn.conv1d"), (3, "q_proj"), (3, "o_proj"), (0, "mlp.shared_experts.gate_up_proj"),
        (0, "mlp.shared_experts.down_proj")]}
    assert skipped == {"linear_attn.in_proj_ba": True, "linear_attn.in_proj_qkvz": False,
                       "linear_attn.out_proj": False, "linear_attn.conv1d": True, "q_proj": False,
                       "o_proj": False, "mlp.shared_experts.gate_up_proj": False,
                       "mlp.shared_experts.down_proj": False}
    # vLLM 0.10.2: one layer "in_proj" of in_proj_qkvz and in_proj_ba, listed in part
    assert qwen3_next_fp8_shard_mix(spec, weights_footprint(spec, None, 1), "in_proj") == (
        "model.layers.0.linear_attn.in_proj",
        ("model.layers.0.linear_attn.in_proj_qkvz", "model.layers.0.linear_attn.in_proj_ba"), (False, True))
    assert qwen3_next_fp8_shard_mix(spec, weights_footprint(spec, None, 1), "qkvz, ba") is None


def test_the_helper_tests_the_shared_expert_and_the_gdn_projections():
    # tp 8: the shared expert (512 rows) holds 64 a rank; merged gate_up first where merged layers are tested
    assert _misfit(QWEN3_NEXT_FP8, 8, gdn="qkvz, ba") == LinearShardMisfit(
        "layers.0.mlp.shared_experts.gate_up_proj", "output", 64, 128, 8)
    assert _misfit(QWEN3_NEXT_FP8, 8, gdn="qkvz, ba", merged=False) == LinearShardMisfit(
        "layers.0.mlp.shared_experts.down_proj", "input", 64, 128, 8)
    # without gdn (SGLang's call) the list is read per module too (kvplan.unquantized): the shared expert is
    # tested; SGLang refuses state-space models before (SGLang.check_kv_pool)
    assert _misfit(QWEN3_NEXT_FP8, 8) == LinearShardMisfit("layers.0.mlp.shared_experts.gate_up_proj", "output", 64,
                                                          128, 8)
    # tp 4: qkvz 3,072 rows, out_proj 1,024 columns, q 2,048, o 1,024, shared expert 128: every shard divides
    # (0.10.2's "in_proj" is refused before, for the shards listed in part: qwen3_next_fp8_shard_mix)
    for gdn in ("qkvz, ba", "qkvz, b + a"):
        assert _misfit(QWEN3_NEXT_FP8, 4, gdn=gdn) is None


def test_a_quantized_in_proj_ba_is_tested_as_each_release_builds_it(tmp_path):
    ba = _quantized_ba(tmp_path)
    # one ColumnParallelLinear (0.11.0-0.16.0) or a MergedColumnParallelLinear of one output (0.18.0+): 64 / 2
    assert _misfit(ba, 2, gdn="qkvz, ba", merged=False) == LinearShardMisfit(
        "layers.0.linear_attn.in_proj_ba", "output", 32, 128, 2)
    # 0.10.2: the second output of the merged in_proj (in_proj_qkvz's 6,144 rows a rank divide)
    assert _misfit(ba, 2, gdn="in_proj") == LinearShardMisfit("layers.0.linear_attn.in_proj_ba", "output", 32, 128, 2)
    # 0.17.x: [num_v_heads] x 2, two outputs of 16 a rank, let through from 0.14.0 (merged layers not tested)
    assert _misfit(ba, 2, gdn="qkvz, b + a", merged=False) is None
    assert _misfit(ba, 2, gdn="qkvz, b + a", merged=True) == LinearShardMisfit(
        "layers.0.linear_attn.in_proj_ba", "output", 16, 128, 2)
    assert _misfit(ba, 1, gdn="qkvz, ba") is None  # not split: not tested


# Since h35-fp8w the weights read modules_to_not_convert per module (attention, the shared expert and the
# GDN projections fp8: 420,728,832 B less a GPU at tp 4): 127-128 blocks more than the part-level reading's
# 32,596 / 32,842 / 31,703.
@pytest.mark.parametrize(("release", "extra", "figure"), [
    ("0.19.1", (), "KV cache 2,224,960 tokens in 32,723 blocks of 272"),
    ("0.19.1", ("-ep",), "KV cache 2,241,824 tokens in 32,969 blocks of 272"),
    ("0.17.0", (), "KV cache 2,224,960 tokens in 32,723 blocks of 272"),
    ("0.13.0", (), "KV cache 2,164,304 tokens in 31,831 blocks of 272"),
])
def test_vllm_plans_it_at_tp_4_where_every_shard_divides(capsys, release, extra, figure):
    code, out, err = cli(capsys, *_BASE, "--engine", f"vllm=={release}", "--tp", "4", *extra)
    assert code == 0, err
    assert f"one replica (4 GPUs): {figure}" in out


_SHARED = ("kvplan: error: vllm=={r} does not start qwen3-next-80b-a3b-instruct-fp8 with fp8 weights at tp {tp}: "
           "layers.0.mlp.shared_experts.{t} holds {n} {side} channels a rank, not a multiple of the checkpoint's "
           "128-wide blocks, and vllm/model_executor/layers/quantization/fp8.py Fp8LinearMethod.create_weights "
           "raises ValueError (Weight {what} = {n} is not divisible by weight quantization {block} = 128); use "
           "another --tp")


@pytest.mark.parametrize(("release", "tp"), [("0.19.1", 8), ("0.19.1", 16), ("0.17.0", 8), ("0.13.0", 8),
                                             ("0.11.0", 16)])
def test_vllm_refuses_the_shared_expert_split_8_and_16_ways(capsys, release, tp):
    # planned before (part-level reading): 0.19.1 tp 8 -ep fits, 1,024 requests of 4k at once
    code, out, err = cli(capsys, *_BASE, "--engine", f"vllm=={release}", "--tp", tp, "-ep")
    assert code == 2 and out == ""
    n = 512 // tp
    merged = release in ("0.11.0", "0.13.0")  # up to 0.13.0 the merged gate_up_proj is tested (and first)
    t, side, what, block = (("gate_up_proj", "output", "output_partition_size", "block_n") if merged
                            else ("down_proj", "input", "input_size_per_partition", "block_k"))
    assert one_line_error(err) == _SHARED.format(r=release, tp=tp, t=t, n=n, side=side, what=what, block=block)


@pytest.mark.parametrize("tp", [1, 4])
def test_vllm_0_10_2_refuses_the_checkpoint_at_any_tp(capsys, tp):
    code, out, err = cli(capsys, *_BASE, "--engine", "vllm==0.10.2", "--tp", tp)
    assert code == 2 and out == ""
    assert one_line_error(err) == (
        "kvplan: error: vllm==0.10.2 does not start qwen3-next-80b-a3b-instruct-fp8's fp8 checkpoint: it builds "
        "model.layers.0.linear_attn.in_proj as one layer of in_proj_qkvz and in_proj_ba, "
        "quantization_config.modules_to_not_convert names model.layers.0.linear_attn.in_proj_ba but not "
        "model.layers.0.linear_attn.in_proj_qkvz, and vllm/model_executor/layers/quantization/utils/quant_utils.py "
        "is_layer_skipped raises ValueError (Detected some but not all shards of model.layers.0.linear_attn.in_proj "
        "are quantized); use --engine vllm==0.11.0 or newer (separate in_proj_qkvz and in_proj_ba layers)")


@pytest.mark.parametrize(("release", "refused"), [("0.11.0", True), ("0.16.0", True), ("0.17.0", False),
                                                  ("0.17.1", False), ("0.18.0", True), ("0.19.1", True)])
def test_vllm_tests_a_quantized_in_proj_ba_as_the_release_builds_it(capsys, tmp_path, release, refused):
    code, out, err = cli(capsys, "capacity", _quantized_ba(tmp_path), "--gpu", "h200", "--max-model-len", "4096",
                         "--engine", f"vllm=={release}", "--tp", "2")
    if not refused:
        assert code == 0, err
        assert "one replica (2 GPUs): KV cache " in out
        return
    assert code == 2 and out == ""
    assert one_line_error(err) == (
        f"kvplan: error: vllm=={release} does not start qwen3-next-ba-fp8 with fp8 weights at tp 2: "
        "layers.0.linear_attn.in_proj_ba holds 32 output channels a rank, not a multiple of the checkpoint's "
        "128-wide blocks, and vllm/model_executor/layers/quantization/fp8.py Fp8LinearMethod.create_weights raises "
        "ValueError (Weight output_partition_size = 32 is not divisible by weight quantization block_n = 128); use "
        "another --tp")


def test_sglang_refuses_the_state_space_model_before_the_shard_test(capsys):
    code, out, err = cli(capsys, *_BASE, "--engine", "sglang==0.5.8", "--tp", "8", "-ep")
    assert code == 2 and out == ""
    assert one_line_error(err).startswith(
        "kvplan: error: sglang==0.5.8: qwen3-next-80b-a3b-instruct-fp8 has state-space layers (Mamba / linear "
        "attention); SGLang keeps their states in a pool of its own")


def _block_fp8(tmp_path, name: str) -> str:
    cfg = json.loads((HF_FIXTURES / f"{name}.json").read_text())
    cfg["torch_dtype"] = "bfloat16"  # the dtype kvplan would assume, stated (no warning line)
    cfg["quantization_config"] = {"quant_method": "fp8", "activation_scheme": "dynamic",
                                  "weight_block_size": [128, 128]}
    path = tmp_path / f"{name}-fp8.json"
    path.write_text(json.dumps(cfg))
    return str(path)


@pytest.mark.parametrize(("name", "mixer"), [
    ("bamba-9b", "Mamba-2 (layers/mamba/mamba_mixer2.py MambaMixer2: in_proj, out_proj)"),
    ("jamba-1.5-mini", "Mamba (layers/mamba/mamba_mixer.py MambaMixer: in_proj, x_proj, dt_proj, out_proj)"),
])
def test_vllm_refuses_other_block_fp8_state_space_mixers_split_over_tp(capsys, tmp_path, name, mixer):
    ref = _block_fp8(tmp_path, name)
    code, out, err = cli(capsys, "capacity", ref, "--gpu", "h200", "--max-model-len", "4096", "--engine",
                         "vllm==0.19.1", "--tp", "2")
    assert code == 2 and out == ""
    assert one_line_error(err) == (
        f"kvplan: error: vllm==0.19.1: kvplan has not read which of {name}-fp8's {mixer} projections vLLM "
        "quantizes and merges for a block-fp8 checkpoint (128 x 128 blocks), and vllm/model_executor/layers/"
        "quantization/fp8.py Fp8LinearMethod.create_weights refuses a tensor-parallel shard the blocks do not "
        "divide; plan it at --tp 1, or use --engine raw for memory alone")
    # not split: nothing to test, planned
    code, out, err = cli(capsys, "capacity", ref, "--gpu", "h200", "--max-model-len", "4096", "--engine",
                         "vllm==0.19.1", "--tp", "1")
    assert code == 0, err
