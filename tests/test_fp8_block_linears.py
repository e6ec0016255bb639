"""Block-fp8 dense linear layers whose tensor-parallel shard the checkpoint's blocks do not divide
(kvplan.engines.base.fp8_linear_shard_misfit; VLLM / SGLang.check_fp8_block_linears;
docs/findings/FINDINGS_h34_fp8lin.md). Both engines' Fp8LinearMethod.create_weights raise ValueError
for a row-parallel layer whose input a rank is not a multiple of block_k and a column-parallel layer
whose output a rank is not a multiple of block_n. DeepSeek-V3's dense MLP (intermediate 18,432, layers
0-2) at tp 32 holds 576 channels a rank against [128, 128]: with expert parallelism (so the routed
experts, refused on their own at tp 32 otherwise, are whole) kvplan planned it."""

from __future__ import annotations

import dataclasses

import pytest

from kvplan.engines.base import LinearShardMisfit, fp8_linear_shard_misfit
from kvplan.loader import load_model
from kvplan.weights import weights_footprint
from tests.helpers import HF_FIXTURES, cli, one_line_error

_BASE = ("capacity", "deepseek-v3", "--weights", "fp8", "--gpu", "h200", "--max-model-len", "4096")


def _misfit(ref: str, tp: int, **kw):
    spec = load_model(ref)
    return fp8_linear_shard_misfit(spec, weights_footprint(spec, "fp8", tp), **kw)


def test_the_helper_names_the_first_layer_the_engines_refuse():
    # DeepSeek-V3 at tp 32: gate_up_proj (merged: two outputs of 576) comes before down_proj (576 input columns)
    assert _misfit("deepseek-v3", 32) == LinearShardMisfit("layers.0.mlp.gate_up_proj", "output", 576, 128, 32)
    assert _misfit("deepseek-v3", 32, merged=False) == LinearShardMisfit("layers.0.mlp.down_proj", "input", 576,
                                                                          128, 32)
    assert _misfit("deepseek-v3", 16) is None  # 1,152 = 9 x 128; MLA q_b 3,072 / kv_b 2,048 / o 1,024 a rank
    # Kimi-K2 (64 heads of 128 + 64): at tp 64 the MLA q_b_proj holds 1 x 192 rows, a single column layer
    kimi = str(HF_FIXTURES / "kimi-k2-instruct.json")
    assert _misfit(kimi, 64) == LinearShardMisfit("layers.0.q_b_proj", "output", 192, 128, 64)
    # SGLang before 0.5.22 tests a single layer only split over its whole --tp group: q_b_proj split 64 ways
    # in a group of 128 (DP attention) is not tested; the dense MLP over all 128 is (144 a rank)
    assert _misfit(kimi, 64, group=128, splits=(("mlp", "", 128),)) == LinearShardMisfit(
        "layers.0.mlp.gate_up_proj", "output", 144, 128, 128)
    # MiMo-V2-Flash's K heads of 192 in one QKVParallelLinear: at tp 4 one head a rank, merged only
    mimo = str(HF_FIXTURES / "mimo-v2-flash.json")
    assert _misfit(mimo, 4) == LinearShardMisfit("layers.0.k_proj", "output", 192, 128, 4)
    assert _misfit(mimo, 4, merged=False) is None
    assert _misfit(mimo, 2) is None  # 2 x 192 = 384
    # not served as block fp8: nothing to test
    spec = load_model("deepseek-v3")
    assert fp8_linear_shard_misfit(spec, weights_footprint(spec, "bf16", 32)) is None


def test_row_layers_against_block_k_and_column_layers_against_block_n():
    """[block_n, block_k] not square (review h34 M14): a row-parallel layer's input a rank is held against
    block_k, a column-parallel layer's output against block_n. DeepSeek-V3 at tp 32: 576 a rank each side."""
    spec = load_model("deepseek-v3")

    def misfit(block, tp=32, **kw):
        shaped = dataclasses.replace(spec, weights_block=block)
        return fp8_linear_shard_misfit(shaped, weights_footprint(shaped, "fp8", tp), **kw)

    # block_k 64 divides down_proj's 576 input columns (and the shared expert's 64); gate_up (block_n 128) does not
    assert misfit((128, 64), merged=False) is None
    assert misfit((128, 64)) == LinearShardMisfit("layers.0.mlp.gate_up_proj", "output", 576, 128, 32)
    # block_n 64 divides gate_up's 576 rows a half; down_proj's 576 columns against block_k 128 do not
    assert misfit((64, 128)) == LinearShardMisfit("layers.0.mlp.down_proj", "input", 576, 128, 32)
    # a layer that is not split (tp 1) is not tested, whatever its width (review h34 M6: 16,384 % 1,000 at o_proj)
    assert misfit((1000, 1000), tp=1) is None and misfit((1000, 1000), tp=1, merged=False) is None
    assert misfit((1000, 1000), tp=2) == LinearShardMisfit("layers.0.q_b_proj", "output", 12_288, 1000, 2)


_VLLM_ERROR = ("kvplan: error: vllm=={r} does not start deepseek-v3 with fp8 weights at tp 32: layers.0.mlp.{t} "
               "holds 576 {side} channels a rank, not a multiple of the checkpoint's 128-wide blocks, and vllm/"
               "model_executor/layers/quantization/fp8.py Fp8LinearMethod.create_weights raises ValueError (Weight "
               "{what} = 576 is not divisible by weight quantization {block} = 128); use another --tp")


@pytest.mark.parametrize(("release", "extra", "merged"), [
    # planned before: 1,499,520 tokens (0.13.0), 1,543,792 (0.19.1)
    ("0.13.0", ("--max-num-seqs", "1024"), True),  # up to 0.13.0 the merged gate_up_proj is tested first
    ("0.14.0", (), False),  # the first release with the allowance (layers/linear.py 0.14.0 :524-549; review h34 M10)
    ("0.19.1", (), False),  # from 0.14.0 a merged layer is let through; down_proj is not
])
def test_vllm_refuses_deepseek_v3_dense_mlp_at_tp_32_with_expert_parallelism(capsys, release, extra, merged):
    code, out, err = cli(capsys, *_BASE, "--engine", f"vllm=={release}", "--tp", "32", "-ep", *extra)
    assert code == 2 and out == ""
    t, side, what, block = (("gate_up_proj", "output", "output_partition_size", "block_n") if merged
                            else ("down_proj", "input", "input_size_per_partition", "block_k"))
    assert one_line_error(err) == _VLLM_ERROR.format(r=release, t=t, side=side, what=what, block=block)


def test_vllm_plans_deepseek_v3_at_tp_16_with_expert_parallelism_as_before(capsys):
    # the neighbouring split: 18,432 / 16 = 1,152 = 9 x 128 channels a rank; figure unchanged
    code, out, err = cli(capsys, *_BASE, "--engine", "vllm==0.19.1", "--tp", "16", "-ep")
    assert code == 0, err
    assert "KV cache 1,243,808 tokens in 77,738 blocks of 16" in out


def test_vllm_0_29_refuses_it_too(capsys):
    cmd = ("VLLM_USE_V2_MODEL_RUNNER=0 vllm serve deepseek-ai/DeepSeek-V3 --tensor-parallel-size 32 "
           "--enable-expert-parallel --kv-cache-memory-bytes 45994277463")
    code, out, err = cli(capsys, "capacity", "deepseek-v3", "--weights", "fp8", "--gpu", "h200", "--engine",
                         "vllm==0.29.0", "--from-vllm", cmd)
    errors = [ln for ln in err.splitlines() if ln.startswith("kvplan: error:")]
    assert code == 2 and out == "" and len(errors) == 1
    assert errors[0].startswith("kvplan: error: vllm==0.29.0 does not start deepseek-v3 with fp8 weights at tp 32: "
                                "layers.0.mlp.down_proj holds 576 input channels a rank")


_SGLANG_ERROR = ("kvplan: error: sglang=={r} does not start deepseek-v3 with fp8 weights at this split: "
                 "layers.0.mlp.gate_up_proj, split {n} ways, holds {size} output channels a rank, not a multiple of "
                 "the checkpoint's 128-wide blocks, and python/sglang/srt/layers/quantization/fp8.py "
                 "Fp8LinearMethod.create_weights raises ValueError (Weight output_partition_size = {size} is not "
                 "divisible by weight quantization block_n = 128); use another --tp")


@pytest.mark.parametrize(("release", "split"), [
    # planned before: 1,565,642 tokens (0.4.6 --tp 32), 1,531,939 (0.5.8 --tp 32), 1,436,792 (0.5.23 --tp 16
    # --dp 2: DP attention, SGLang's --tp 32, the dense MLP split over all 32)
    ("0.4.6", ("--tp", "32")),
    ("0.5.8", ("--tp", "32")),
    # DP attention before 0.5.22: the dense MLP over SGLang's whole --tp 32 group, tested against that group
    # (review h34 M11: a group of kvplan's tp alone would skip it)
    ("0.5.8", ("--tp", "16", "--dp", "2")),
    ("0.5.23", ("--tp", "16", "--dp", "2")),
])
def test_sglang_refuses_deepseek_v3_dense_mlp_split_32_ways(capsys, release, split):
    code, out, err = cli(capsys, *_BASE, "--engine", f"sglang=={release}", *split, "-ep")
    assert code == 2 and out == ""
    assert one_line_error(err) == _SGLANG_ERROR.format(r=release, n=32, size=576)


@pytest.mark.parametrize(("release", "split", "line"), [
    ("0.5.8", ("--tp", "16"), "KV cache 1,263,646 tokens in 1,263,646 blocks of 1"),
    ("0.5.23", ("--tp", "8", "--dp", "2"), "KV cache 1,159,981 tokens in 1,159,981 blocks of 1"),
])
def test_sglang_plans_the_16_way_split_as_before(capsys, release, split, line):
    code, out, err = cli(capsys, *_BASE, "--engine", f"sglang=={release}", *split, "-ep")
    assert code == 0, err
    assert line in out


@pytest.mark.parametrize(("release", "first"), [
    # before 0.5.22 a single layer is tested against the whole --tp group (128): q_b_proj, split 64 ways over the
    # attention group, is not, and the dense MLP over all 128 (144 a rank) is the first refused
    ("0.5.21", "layers.0.mlp.gate_up_proj, split 128 ways, holds 144 output channels"),
    # from 0.5.22 against the layer's own group (layer.tp_group: attn_tp for q_b_proj, fp8.py 0.5.22 :579-580,
    # linear.py _resolve_linear_group): q_b_proj, one head of 192 rows a rank, comes first (review h34 M9)
    ("0.5.23", "layers.0.q_b_proj, split 64 ways, holds 192 output channels"),
])
def test_sglang_tests_an_attention_layer_under_dp_attention_from_0_5_22(capsys, release, first):
    kimi = str(HF_FIXTURES / "kimi-k2-instruct.json")
    code, out, err = cli(capsys, "capacity", kimi, "--weights", "fp8", "--gpu", "h200", "--max-model-len", "4096",
                         "--engine", f"sglang=={release}", "--tp", "64", "--dp", "2", "-ep")
    assert code == 2 and out == ""
    assert one_line_error(err).startswith(f"kvplan: error: sglang=={release} does not start kimi-k2-instruct with "
                                          f"fp8 weights at this split: {first} a rank")
