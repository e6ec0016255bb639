"""SGLang's w_kc / w_vc of a quantized MLA kv_b_proj (SGLang.mla_copy_for / mla_copy_bytes; the
post_load_weights of every modelled release read: docs/findings/FINDINGS_h30_sglmla.md).

DeepSeek-V3 (61 MLA layers, 128 heads, qk_nope 128 + v 128, kv_lora 512), the checkpoint's
128 x 128 block fp8, at tp 8 (16 heads a rank, 2,097,152 values a layer):
  NVIDIA 0.4.9+    dequantized to bf16:                     61 x 4,194,304       = 255,852,544 B
  0.4.6 on 9.0     fp8 copies + DeepGEMM block scales:      61 x (2,097,152 + 512) = 127,957,504 B
  0.4.6 on 8.0     requantized per tensor, fp8 + 4-B scale: 61 x (2,097,152 + 512) = 127,957,504 B
  (each scale tensor counted as the 512 B block PyTorch's caching allocator gives it, kvplan.units.
  allocated_bytes; DeepGEMM's w_scale_k / w_scale_v, 256 B each at tp 8, take 512 B each: 61 x
  (2,097,152 + 1,024) = 127,988,736 B; the decode read stays at the tensors' bytes)
  AMD (any)        requantized per tensor:                  127,926,516 B
`kvplan capacity deepseek-v3 --gpu h200 --tp 8 --weights fp8 --engine sglang==0.5.6`: weights
85,623,488,768 -> 85,879,341,312 B a GPU, 676,804 -> 673,163 tokens.
"""

from __future__ import annotations

import dataclasses
import json

import pytest

from helpers import cli
from kvplan.engines import get_engine
from kvplan.gpus import get_gpu
from kvplan.loader import load_model
from kvplan.weights import weights_footprint

BF16_TP8 = 61 * 16 * 256 * 512 * 2
FP8_TP8 = 61 * 16 * 256 * 512


@pytest.fixture(scope="module")
def v3():
    return load_model("deepseek-v3")


def _copy(spec, release, gpu, weights="fp8", tp=8):
    w = weights_footprint(spec, weights, tp=tp)
    return get_engine(f"sglang=={release}").mla_copy_bytes(spec, w, range(spec.num_layers),
                                                            gpu=get_gpu(gpu) if gpu else None)


def test_hand_figures_are_the_absorbed_shapes(v3):
    # 61 MLA layers x 16 heads a rank at tp 8 x (128 key + 128 value rows) x kv_lora 512: the
    # library's shape of the up-projection (kvplan.weights.mla_absorbed_bytes) in bf16 and fp8
    from kvplan.weights import mla_absorbed_bytes

    assert mla_absorbed_bytes(v3, range(v3.num_layers), 8, 2) == BF16_TP8 == 255_852_544
    assert mla_absorbed_bytes(v3, range(v3.num_layers), 8, 1) == FP8_TP8 == 127_926_272


@pytest.mark.parametrize("release", ["0.4.9", "0.4.10", "0.5.1", "0.5.2", "0.5.4", "0.5.6", "0.5.8", "0.5.22",
                                     "0.5.23"])
@pytest.mark.parametrize("gpu", ["h200", "h100", "a100-80gb", "b200"])
def test_block_fp8_128_on_nvidia_is_dequantized_to_bf16(v3, release, gpu):
    assert _copy(v3, release, gpu) == BF16_TP8


@pytest.mark.parametrize("release", ["0.4.6", "0.4.9", "0.5.6", "0.5.23"])
@pytest.mark.parametrize("gpu", ["mi300x", "mi355x"])
def test_block_fp8_on_amd_is_requantized_per_tensor(v3, release, gpu):
    assert _copy(v3, release, gpu) == FP8_TP8 + 61 * 512 == 127_957_504


def test_0_4_6_keeps_fp8_copies_and_block_scales_on_hopper(v3):
    # w_scale_k / w_scale_v: 16 heads x 512 / 128 tiles x float32, each
    assert _copy(v3, "0.4.6", "h200") == _copy(v3, "0.4.6", "h100") == FP8_TP8 + 61 * 2 * 512 == 127_988_736
    # 8.0 (no DeepGEMM) and 10.0 (0.4.6's DeepGEMM is sm 90 only): requantized per tensor
    assert _copy(v3, "0.4.6", "a100-80gb") == _copy(v3, "0.4.6", "b200") == FP8_TP8 + 61 * 512


def test_model_dtype_decides_in_0_4_9(v3):
    fp16 = dataclasses.replace(v3, dtype="fp16")
    assert _copy(fp16, "0.4.9", "h200") == FP8_TP8 + 61 * 512  # model_dtype != bf16: requantized
    assert _copy(fp16, "0.4.10", "h200") == BF16_TP8  # torch.bfloat16 whatever the model dtype
    assert _copy(fp16, "0.4.6", "h200") == FP8_TP8 + 61 * 512  # no DeepGEMM bmm without bf16


def test_other_block_sizes_are_requantized(v3):
    other = dataclasses.replace(v3, weights_block=(64, 64))
    assert _copy(other, "0.5.6", "h200") == FP8_TP8 + 61 * 512


def test_one_head_a_rank_pins_the_new_tensor(v3):
    """At tp 128 (one head a rank) w_vc is a contiguous view: of the dequantized / requantized w,
    which it then keeps whole (key + value part), or of kv_b_proj (nothing more)."""
    per_layer = 256 * 512
    assert _copy(v3, "0.5.6", "h200", tp=128) == 61 * (128 * 512 + per_layer) * 2
    assert _copy(v3, "0.5.6", "mi300x", tp=128) == 61 * (128 * 512 + per_layer + 512)
    # 0.4.6 DeepGEMM: w_vc and both scale tensors are views of kv_b_proj's: only w_kc is copied
    assert _copy(v3, "0.4.6", "h200", tp=128) == 61 * 128 * 512


def test_online_fp8_copies_in_the_model_dtype():
    """--weights fp8 on a checkpoint without a quantization_config: SGLang's --quantization fp8
    creates kv_b_proj in the model dtype and quantizes it after post_load_weights, so w_kc / w_vc
    are model-dtype copies; with one head a rank the view keeps the dropped bf16 weight whole."""
    lite = load_model("deepseek-v2-lite")  # 27 layers, 16 heads
    assert lite.weights_format is None
    assert _copy(lite, "0.5.6", "h100", tp=1) == 27 * 16 * 256 * 512 * 2 == 113_246_208
    assert _copy(lite, "0.5.6", None, tp=1) == 113_246_208  # vendor-free
    assert _copy(lite, "0.5.6", "h100", tp=16) == 27 * (128 + 256) * 512 * 2
    assert _copy(lite, "0.5.6", "h100", weights=None, tp=16) == 27 * 128 * 512 * 2  # unquantized: view of kv_b_proj


def test_what_kvplan_cannot_tell_apart_is_not_counted_and_warned(v3):
    assert _copy(v3, "0.5.6", "h200", weights="int8") == 0
    assert _copy(v3, "0.5.6", "h200", weights="int4") == 0
    assert _copy(v3, "0.5.6", None) == 0  # vendor unknown
    custom = dataclasses.replace(get_gpu("h200"), name="custom", compute_capability=None)
    w = weights_footprint(v3, "fp8", tp=8)
    assert get_engine("sglang==0.4.6").mla_copy_bytes(v3, w, range(61), gpu=custom) == 0
    assert get_engine("sglang==0.4.6").unmodelled_notes(v3, w, gpu=custom)[-1].endswith(
        "(the GPU's compute capability decides in 0.4.6: fp8 with block scales on 9.0, else fp8 with one scale): "
        "255,852,544 B a GPU if bf16, half that if fp8")
    no_block = dataclasses.replace(v3, weights_block=None)
    assert _copy(no_block, "0.5.6", "h200") == 0
    notes = get_engine("sglang==0.5.6").unmodelled_notes(no_block, w, gpu=get_gpu("h200"))
    assert notes == ("sglang==0.5.6 also keeps w_kc / w_vc, copies of every MLA layer's quantized kv_b_proj "
                     "(models/deepseek_v2.py post_load_weights), which are not counted (an fp8 checkpoint without "
                     "weight_block_size: per-tensor fp8 keeps fp8 copies, a compressed-tensors block scheme bf16 ones "
                     "from 0.5.8, which kvplan's spec does not tell apart): 255,852,544 B a GPU if bf16, half that "
                     "if fp8",)
    # counted: no note
    assert get_engine("sglang==0.5.6").unmodelled_notes(v3, w, gpu=get_gpu("h200")) == ()


def test_capacity_before_and_after(capsys):
    code, out, err = cli(capsys, "capacity", "deepseek-v3", "--gpu", "h200", "--tp", "8", "--weights", "fp8",
                         "--engine", "sglang==0.5.6", "--json")
    assert code == 0 and "w_kc" not in err
    d = json.loads(out)
    assert d["weights_bytes"] == 85_623_488_768 + BF16_TP8 == 85_879_341_312
    assert d["kv_cache_tokens"] == 673_163  # 676,804 when the copies were warned, not counted
    code, out, err = cli(capsys, "capacity", "deepseek-v3", "--gpu", "h200", "--tp", "8", "--weights", "fp8",
                         "--engine", "sglang==0.4.6", "--json")
    assert code == 0 and json.loads(out)["weights_bytes"] == 87_859_360_000 + 127_988_736
    code, out, err = cli(capsys, "capacity", "deepseek-v3", "--gpu", "mi300x", "--tp", "8", "--weights", "fp8",
                         "--engine", "sglang==0.5.6", "--mem-fraction-static", "0.85", "--json")
    assert code == 0 and json.loads(out)["weights_bytes"] == 85_602_517_248 + 127_957_504
    code, out, err = cli(capsys, "capacity", "deepseek-v3", "--gpu", "h200", "--tp", "8", "--weights", "int8",
                         "--engine", "sglang==0.5.6", "--json")
    assert code == 0 and "which are not counted (kvplan's int8 does not say" in err


@pytest.mark.parametrize("release, copy", [("0.4.6", 61 * (128 * 256 * 512 + 128 * 4 * 2 * 4)),
                                           ("0.5.6", 61 * 128 * 256 * 512 * 2)])
def test_explain_counts_the_copies_capacity_counts(v3, release, copy):
    """Both go through SGLang.loaded_bytes with the GPU: DeepSeek-V3 fp8 at tp 1 on an H100 (the
    SGLang 0.4.6 H100 log, model overridden): 0.4.6 keeps fp8 copies and DeepGEMM block scales
    (1,023,660,032 B), 0.5.6 bf16 ones (2,046,820,352 B)."""
    from kvplan.capacity import make_request, plan
    from kvplan.explain import explain
    from kvplan.explain_log import parse_log

    log = open("tests/fixtures/startup_logs/sglang_pr4760_llama31_8b_fa3_h100.log").read()
    ex = explain(parse_log(log), model="deepseek-v3", gpu="h100", release=release)
    cap = plan(make_request(v3, "h100", engine=f"sglang=={release}"))
    assert ex.line("model weights").kvplan == cap.weights_bytes
    assert _copy(v3, release, "h100", tp=1) == copy
    stored = cap.weights.stages[0].bytes
    rope = get_engine(f"sglang=={release}").rope_table_bytes(v3, get_gpu("h100"))
    assert cap.weights_bytes == stored + rope + copy


def test_speed_reads_sglang_s_w_kc_w_vc_as_held():
    """SGLang's absorbed decode reads w_kc / w_vc (forward_absorb), so kvplan.speed times the copies
    capacity counts: DeepSeek-V3 block fp8 at tp 8, bf16 on an H200 from 0.4.9 (255,852,544 B),
    fp8 with DeepGEMM's block scales under 0.4.6 (127,957,504 B), fp8 with one scale a layer on an
    MI300X (127,926,516 B); no GPU: undecided, timed as stored (None)."""
    from kvplan.engines import get_engine
    from kvplan.gpus import get_gpu
    from kvplan.loader import load_model
    from kvplan.weights import weights_footprint

    v3 = load_model("deepseek-v3")
    w = weights_footprint(v3, "fp8", tp=8)
    every = range(v3.num_layers)
    assert get_engine("sglang==0.5.6").mla_decode_read_bytes(v3, w, every, gpu=get_gpu("h200")) == 255_852_544
    assert get_engine("sglang==0.4.6").mla_decode_read_bytes(v3, w, every, gpu=get_gpu("h200")) == 127_957_504
    assert get_engine("sglang==0.5.6").mla_decode_read_bytes(v3, w, every, gpu=get_gpu("mi300x")) == 127_926_516
    assert get_engine("sglang==0.5.6").mla_decode_read_bytes(v3, w, every) is None
    lite = load_model("deepseek-v2-lite")  # unquantized: the copies are the stored bytes, nothing to add
    assert get_engine("sglang==0.5.6").mla_decode_read_bytes(lite, weights_footprint(lite, "bf16"),
                                                             range(lite.num_layers), gpu=get_gpu("h100")) is None
