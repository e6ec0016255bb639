"""vLLM 0.20.0+'s mixture-of-experts oracle (vllm/model_executor/layers/fused_moe/oracle/): the
experts class it picks and the workspace that class keeps past the profile forward, in the cases
kvplan has read (rule moe_persistent_workspace "oracle fi-cutlass" / "oracle triton",
moe_fp8_block_sm90_triton; VLLM.moe_oracle_experts; FINDINGS_h29_moe20.md); one line for the rest."""

import json

import pytest

from helpers import VLLM_MOE_ORACLE_REFUSALS, cli, one_line_error
from kvplan.capacity import engine_weights
from kvplan.engines import get_engine
from kvplan.gpus import get_gpu
from kvplan.loader import load_builtin

QWEN = load_builtin("qwen3-30b-a3b")
MIXTRAL = load_builtin("mixtral-8x7b")


def _kept(release, spec, gpu="h100", tp=1, tokens=8192):
    e, g = get_engine(f"vllm=={release}"), get_gpu(gpu)
    s = e.settings(g, tp=tp, max_num_batched_tokens=tokens)
    w = engine_weights(e, spec, g, tp=tp)
    return e.moe_oracle_experts(spec, g, w, s), e.moe_workspace_bytes(spec, s, range(spec.num_layers), g, w)


@pytest.mark.parametrize("release", ["0.20.0", "0.20.2", "0.21.0", "0.22.0", "0.22.1"])
@pytest.mark.parametrize("tp", [1, 2, 4, 8])
def test_hopper_unquantized_runs_flashinfer_cutlass_keeping_its_output(release, tp):
    # FlashInferExperts.workspace_shapes: workspace13 (T, K) = output (T, K), workspace2 (0,):
    # 8,192 x 2,048 x 2 B = 33,554,432 whatever the tp (TritonExperts on 0.19.1: 536,870,912)
    assert _kept(release, QWEN, tp=tp) == ("flashinfer cutlass", 33_554_432)


def test_0_23_moves_flashinfer_behind_triton_on_hopper():
    # oracle/unquantized.py 0.23.0 :71-76: TritonExperts, 2 x 8,192 x 8 x 2,048 x 2 = 536,870,912;
    # Mixtral tp 2: (8,192 x 2 x 7,168 + 8,192 x 2 x 14,336) x 2 = 704,643,072, as 0.19.1
    assert _kept("0.23.0", QWEN) == ("triton", 536_870_912)
    assert _kept("0.23.0", MIXTRAL, tp=2) == ("triton", 704_643_072)
    assert _kept("0.19.1", QWEN) == (None, 536_870_912)


def test_below_hopper_neither_flashinfer_class_is_supported():
    # TrtLlmBf16Experts: capability family 100; FlashInferExperts: 9.0 / 10.x / 11.x / 12.x: TritonExperts
    assert _kept("0.21.0", QWEN, gpu="a100-80gb") == ("triton", 536_870_912)
    assert _kept("0.22.1", QWEN, gpu="l40s") == ("triton", 536_870_912)


def test_flashinfer_call_bound():
    # n = 65,536 rows: GEMM inputs and outputs 2 x 65,536 x 2,048 x 2 = 536,870,912; maps 5 x 65,536 x 4
    # = 1,310,720; blocked maps and experts_to_token_score 4 x 128 x 8,192 x 4 = 16,777,216; 16 MiB
    e = get_engine("vllm==0.21.0")
    assert e.flashinfer_cutlass_moe_call_bytes(QWEN, e.settings(get_gpu("h100"))) == 571_736_064


@pytest.mark.parametrize("release, figures", [
    # pool ceil(85,029,027,840 x 0.92) = 78,226,705,613 - weights 61,074,731,008 - activation - 268,435,456;
    # blocks of 48 x 16 x 4 x 128 x 2 x 2 = 1,572,864 B
    ("0.20.0", (2_376_865_792, 14_506_673_357, 9_223)),  # sampler 2,343,311,360 + 33,554,432
    ("0.21.0", (2_377_918_464, 14_505_620_685, 9_222)),  # + FlashInfer sampler's 1 MiB + 4,096
    ("0.22.1", (2_377_918_464, 14_505_620_685, 9_222)),
    ("0.23.0", (2_881_234_944, 14_002_304_205, 8_902)),  # sampler 2,344,364,032 + 536,870,912
])
def test_qwen3_30b_a3b_h100_eager(capsys, release, figures):
    code, out, err = cli(capsys, "capacity", "qwen3-30b-a3b", "--gpu", "h100", "--engine", f"vllm=={release}",
                         "--enforce-eager", "--json")
    assert code == 0, err
    got = json.loads(out)
    assert (got["activation_bytes"], got["kv_pool_bytes"], got["num_blocks"]) == figures
    assert got["weights_bytes"] == 61_074_731_008


def test_qwen3_235b_a22b_h200_tp8_eager(capsys):
    # 8,192 x 4,096 x 2 = 67,108,864 kept on the sampler's 2,377,918,464 (the forward's bound, 525,126,860 +
    # 1,108,606,976, stays under it); 0.23.0: Triton's 2 x 8,192 x 8 x 4,096 x 2 = 1,073,741,824
    for release, act, blocks in (("0.21.0", 2_445_027_328, 96_627), ("0.23.0", 3_451_660_288, 95_320)):
        code, out, err = cli(capsys, "capacity", "qwen3-235b-a22b", "--gpu", "h200", "--tp", "8", "--engine",
                             f"vllm=={release}", "--enforce-eager", "--json")
        got = json.loads(out)
        assert code == 0 and (got["activation_bytes"], got["num_blocks"]) == (act, blocks)


@pytest.mark.parametrize("args, words", [
    # Mixtral: the forward fit 1,154,272,460 + FlashInfer's call 722,796,544 > the sampler's 595,189,760
    (("mixtral-8x7b", "--gpu", "h100", "--tp", "2"), "per-call workspace (up to 722,796,544 B at 8,192 tokens)"),
    *VLLM_MOE_ORACLE_REFUSALS,
])
def test_unread_cases_are_refused_in_one_line(capsys, args, words):
    code, out, err = cli(capsys, "capacity", *args, "--engine", "vllm==0.21.0", "--enforce-eager")
    line = one_line_error(err)
    assert code == 2 and out == "" and words in line
    assert "mixture-of-experts kernels by an oracle (vllm/model_executor/layers/fused_moe/oracle/)" in line


def test_deepseek_v3_block_fp8_keeps_triton_on_0_20_to_0_23(capsys):
    # oracle/fp8.py: TRITON first for block fp8 on 9.0 without EP (rule moe_fp8_block_sm90_triton):
    # 2 x 8,192 x 8 x 7,168 x 2 = 1,879,048,192 at tp 8
    for release in ("0.20.0", "0.21.0", "0.22.1", "0.23.0"):
        assert _kept(release, load_builtin("deepseek-v3"), gpu="h200", tp=8) == ("triton", 1_879_048_192)


def test_amd_refusal_names_the_default_backend_and_a_way_out_that_plans(capsys):
    # ROCm's default is the Triton experts (VLLM_ROCM_USE_AITER off); the way out is 0.19.1 with the
    # padding off, since 0.19.1 with the padding on is refused too (rule rocm_moe_weight_padding "device")
    code, _, err = cli(capsys, "capacity", "qwen3-30b-a3b", "--gpu", "mi300x", "--engine", "vllm==0.22.0")
    line = one_line_error(err)
    assert code == 2 and "Triton experts by default" in line and "AITER experts" not in line
    assert 'use --engine vllm==0.19.1 with the padding off: --from-vllm "VLLM_ROCM_MOE_PADDING=0 vllm serve' in line
    code, _, err = cli(capsys, "capacity", "qwen3-30b-a3b", "--gpu", "mi300x", "--engine", "vllm==0.19.1")
    assert code == 2 and "VLLM_ROCM_MOE_PADDING=0" in one_line_error(err)
    code, out, err = cli(capsys, "capacity", "qwen3-30b-a3b", "--gpu", "mi300x", "--engine", "vllm==0.19.1",
                         "--from-vllm", "VLLM_ROCM_MOE_PADDING=0 vllm serve Qwen/Qwen3-30B-A3B")
    assert code == 0, err


@pytest.mark.parametrize("release, weights_words", [
    ("0.9.0.1", False), ("0.19.1", True), ("0.20.2", True), ("0.21.0", False), ("0.22.0", False)])
def test_amd_plans_say_which_figures_are_not_rocms(capsys, release, weights_words):
    # rule rocm_weights_line: the weights line is total - free on ROCm from 0.9.1 to 0.20.2 only; the
    # non-torch figures are NVIDIA logs' on every release. An NVIDIA plan carries neither.
    code, out, err = cli(capsys, "capacity", "llama3.1-8b", "--gpu", "mi300x", "--engine", f"vllm=={release}",
                         "--json")
    notes = [n for n in json.loads(out)["notes"] if "no ROCm startup log has been checked" in n]
    assert code == 0 and len(notes) == 1
    assert ("get_current_memory_usage: total - free" in notes[0]) is weights_words
    code, out, err = cli(capsys, "capacity", "llama3.1-8b", "--gpu", "h100", "--engine", f"vllm=={release}", "--json",
                         "--enforce-eager")
    assert code == 0 and not any("ROCm" in n for n in json.loads(out)["notes"])
