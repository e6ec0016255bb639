"""vLLM 0.26.0's fused-MoE layer and MLA layer read against 0.25.1, and 0.25.0's rewritten DeepSeek
decoder forward read to the end (FINDINGS_h31_v26moe.md):

- fused_moe/layer.py, unquantized_fused_moe_method.py, experts/triton_moe.py, oracle/fp8.py,
  quantization/fp8.py and v1/worker/workspace.py are byte-identical to 0.25.1; what changed (the
  oracle's list of experts classes, a Blackwell / LoRA TRT-LLM branch, the clamped-SwiGLU activation,
  prefill-context-parallel dispatch, router GEMM tiers for at most 16 tokens) keeps no tensor for the
  planned cases (rules moe_persistent_workspace "oracle triton", moe_fp8_block_sm90_triton "triton");
- models/deepseek_v2.py 0.25.0 (= 0.25.1; 0.26.0 the same forward) takes its sequence-parallel steps
  only with expert parallelism and dp > 1 (refused); otherwise the first layer keeps the embedding
  output as its residual instead of a clone, so the forward's peak cannot rise and the sampler phase
  holds what it held (rule deepseek_v2_forward_read True);
- mla_attention.py 0.26.0's profile forward (no attention metadata) and W_UV / W_UK_T (registered as
  parameters over the same views) hold what 0.25.1's did (rule mla_forward_read True), but the
  dense-MHA prefill's FlashAttention backend takes only three MLA shapes (rule mla_prefill_dimensions).

So every planned MoE and MLA figure on 0.25.0-0.26.0 equals 0.24.0's; each test asserts the figure and
the 0.24.0 (or 0.25.1) one beside it."""

from __future__ import annotations

import dataclasses
import json

import pytest

from helpers import capacity_json as _plan, cli, hf_fixture, one_line_error, pool_figures as _figures

from kvplan.engines import get_engine
from kvplan.engines.vllm import VLLM
from kvplan.errors import BadInputError
from kvplan.formats import get_format
from kvplan.gpus import get_gpu
from kvplan.loader import load_model as load_spec

DEEPSEEK_V3 = "VLLM_USE_V2_MODEL_RUNNER=0 vllm serve deepseek-ai/DeepSeek-V3 --tensor-parallel-size 8 --enforce-eager"
DEEPSEEK_V2_LITE = "VLLM_USE_V2_MODEL_RUNNER=0 vllm serve deepseek-ai/DeepSeek-V2-Lite --enforce-eager"


@pytest.mark.parametrize("args, figures", [
    (("qwen3-30b-a3b", "--gpu", "h100"),
     (61_074_731_008, 2_881_234_944, 268_435_456, 78_226_705_613, 14_002_304_205, 8_902, 142_432)),
    (("qwen3-235b-a22b", "--gpu", "h200", "--tp", "8"),
     (58_970_102_784, 3_451_660_288, 2_287_070_085, 138_110_256_860, 73_401_423_703, 95_320, 1_525_120)),
    (("mixtral-8x7b", "--gpu", "h100", "--tp", "2"),
     (46_712_496_128, 1_299_832_832, 2_244_120_412, 78_226_705_613, 27_970_256_241, 26_674, 426_784)),
])
def test_moe_on_0_26_plans_as_0_25_1(capsys, args, figures):
    """Qwen3-MoE and Mixtral (V1: MoE, not listed for V2) on 0.26.0: the same experts, TritonExperts and
    kept workspace (Qwen3-30B-A3B at T 8,192: 536,870,912 B inside the 2,881,234,944 activation) as
    0.25.1 and 0.24.0. Before this reading: exit 2 ('fused-MoE layer ... not read for this release')."""
    got = _figures(_plan(capsys, *args, "--engine", "vllm==0.26.0", "--enforce-eager"))
    assert got == figures
    assert _figures(_plan(capsys, *args, "--engine", "vllm==0.25.1", "--enforce-eager")) == figures
    assert _figures(_plan(capsys, *args, "--engine", "vllm==0.24.0", "--enforce-eager")) == figures


@pytest.mark.parametrize("rel", ["0.25.0", "0.25.1", "0.26.0"])
def test_deepseek_v3_fp8_h200_tp8_plans_as_0_24_0(capsys, rel):
    """DeepSeek-V3 block-fp8 on 8 x H200: weights 85,858,369,792 (with the bf16 W_UK_T / W_UV copy of the
    fp8 kv_b_proj), activation 3,970,539,520 (sampler phase + the kept TritonExperts workspace
    1,879,048,192), 40,907 blocks -- 0.24.0's. Before: exit 2 on 0.25.x (deepseek_v2_forward_read) and
    0.26.0 (mla_forward_read). The preset and the serve command agree."""
    want = (85_858_369_792, 3_970_539_520, 2_287_070_085, 138_110_256_860, 45_994_277_463, 40_907, 654_512)
    got = _plan(capsys, "deepseek-v3", "--weights", "fp8", "--gpu", "h200", "--tp", "8", "--engine", f"vllm=={rel}",
                "--enforce-eager")
    assert _figures(got) == want and got["blocks_per_request"] == 10_240
    assert _figures(_plan(capsys, "--gpu", "h200", "--engine", f"vllm=={rel}", "--from-vllm", DEEPSEEK_V3)) == want
    assert _figures(_plan(capsys, "deepseek-v3", "--weights", "fp8", "--gpu", "h200", "--tp", "8", "--engine",
                          "vllm==0.24.0", "--enforce-eager")) == want


@pytest.mark.parametrize("rel", ["0.25.0", "0.25.1", "0.26.0"])
def test_deepseek_v2_lite_on_v1_plans_as_0_24_0(capsys, rel):
    """DeepSeek-V2-Lite (bf16, MLA, MoE; DeepseekV2ForCausalLM runs V2 by default, so the variable) on an
    H100: weights 31,433,939,968 (W_UK_T / W_UV views of the bf16 kv_b_proj: no copy), activation
    2,086,211,584, 89,293 blocks."""
    want = (31_433_939_968, 2_086_211_584, 268_435_456, 78_226_705_613, 44_438_118_605, 89_293, 1_428_688)
    assert _figures(_plan(capsys, "--gpu", "h100", "--engine", f"vllm=={rel}", "--from-vllm", DEEPSEEK_V2_LITE)) == want
    assert _figures(_plan(capsys, "--gpu", "h100", "--engine", "vllm==0.24.0", "--from-vllm", DEEPSEEK_V2_LITE)) == want


def _mla_config(tmp_path, name: str, qk_nope: int, v: int) -> str:
    """DeepSeek-V2-Lite's config with other MLA head dimensions, as DeepseekV3ForCausalLM (V1 by default)."""
    config = hf_fixture("deepseek-v2-lite", qk_nope_head_dim=qk_nope, v_head_dim=v,
                        architectures=["DeepseekV3ForCausalLM"])
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    return str(path)


def test_mla_prefill_dimensions_glm_on_hopper_plans(capsys, tmp_path):
    """GLM's MLA shape (192, 64, 256) is one FlashAttention 3 takes on Hopper: planned as on 0.25.1
    (88,440 blocks)."""
    path = _mla_config(tmp_path, "glm-dims", 192, 256)
    got = _figures(_plan(capsys, path, "--gpu", "h100", "--engine", "vllm==0.26.0", "--enforce-eager"))
    assert got == _figures(_plan(capsys, path, "--gpu", "h100", "--engine", "vllm==0.25.1", "--enforce-eager"))
    assert got[5] == 88_440


@pytest.mark.parametrize("gpu, dims, line", [
    ("h100", (64, 64), "kvplan: error: vllm==0.26.0 on NVIDIA H100 80GB SXM (HBM3) (compute capability 9.0) does not "
                       "start other-dims's MLA attention: FlashAttention, its only MLA prefill off Blackwell, takes the "
                       "MLA dimensions (128, 64, 128), (64, 64, 128), (192, 64, 256) only, not (64, 64, 64) "
                       "(vllm/v1/attention/backends/mla/prefill/flash_attn.py FlashAttnPrefillBackend."
                       "supports_mla_dimensions), so get_mla_prefill_backend raises; use another --engine vllm==X or "
                       "GPU"),
    ("b200", (64, 64), "kvplan: error: vllm==0.26.0 on NVIDIA B200 (HGX, 180 GB) (compute capability 10.0): kvplan does "
                       "not model whether other-dims's MLA attention starts (FlashAttention's MLA prefill does not take "
                       "the MLA dimensions (64, 64, 64) (vllm/v1/attention/backends/mla/prefill/flash_attn.py "
                       "FlashAttnPrefillBackend.supports_mla_dimensions), and what runs instead is not read (TRT-LLM "
                       "ragged, FlashInfer or TokenSpeed on 10.x; AITER on ROCm where installed)); use another --engine "
                       "vllm==X or GPU"),
    ("b200", (192, 256), "kvplan: error: vllm==0.26.0 on NVIDIA B200 (HGX, 180 GB) (compute capability 10.0): kvplan "
                         "does not model whether other-dims's MLA attention starts (FlashAttention 4 (Blackwell, where "
                         "installed) does not take the MLA dimensions (192, 64, 256) (vllm/v1/attention/backends/mla/"
                         "prefill/flash_attn.py FlashAttnPrefillBackend.supports_mla_dimensions), and the TRT-LLM "
                         "ragged / FlashInfer / TokenSpeed prefill that then runs is not read); use another --engine "
                         "vllm==X or GPU"),
])
def test_mla_prefill_dimensions_refused(capsys, tmp_path, gpu, dims, line):
    """Other MLA shapes: on Hopper vLLM 0.26.0 raises (FlashAttention is the only MLA prefill there);
    on Blackwell (and GLM's shape under FlashAttention 4) other prefill backends run, not read. 0.25.1
    took any shape on Hopper."""
    path = _mla_config(tmp_path, "other-dims", *dims)
    code, out, err = cli(capsys, "capacity", path, "--gpu", gpu, "--engine", "vllm==0.26.0", "--enforce-eager")
    assert code == 2 and out == ""
    assert one_line_error(err) == line
    if gpu == "h100":
        assert _plan(capsys, path, "--gpu", "h100", "--engine", "vllm==0.25.1", "--enforce-eager")["num_blocks"] == 89_862


def test_mla_prefill_dimensions_unknown_spec_refused():
    """A spec with MLA layers but no MLA projection sizes cannot be checked: refused (engine call)."""
    spec = dataclasses.replace(load_spec("deepseek-v2-lite"), mla=None)
    with pytest.raises(BadInputError, match=r"kvplan does not model whether deepseek-v2-lite's MLA attention starts "
                                            r"\(its MLA prefill takes only some MLA dimensions"):
        get_engine("vllm==0.26.0").check_kv_on_gpu(get_format("bf16"), spec, get_gpu("h100"))
    get_engine("vllm==0.25.1").check_kv_on_gpu(get_format("bf16"), spec, get_gpu("h100"))


@pytest.mark.parametrize("name, value, words", [
    ("moe_persistent_workspace", "oracle unread", "mixture-of-experts layers through the rewritten fused-MoE layer"),
    ("deepseek_v2_forward_read", False, "through vllm/model_executor/models/deepseek_v2.py"),
    ("mla_forward_read", False, "MLA attention runs an MLA layer"),
])
def test_unread_refusals_name_the_newest_read_release(capsys, monkeypatch, name, value, words):
    """No release has these 'not read' values now; a future row with one refuses in one line naming the
    newest earlier release read (0.25.1 here)."""
    rule = VLLM.rule
    monkeypatch.setattr(VLLM, "rule", lambda self, n: value if n == name else rule(self, n))
    code, out, err = cli(capsys, "capacity", "deepseek-v3", "--weights", "fp8", "--gpu", "h200", "--tp", "8",
                         "--engine", "vllm==0.26.0", "--enforce-eager")
    assert code == 2 and out == ""
    line = one_line_error(err)
    assert words in line and line.endswith("; use --engine vllm==0.25.1")


def test_rules_by_release():
    rows = [tuple(get_engine(f"vllm=={r}").rule(n) for n in ("moe_persistent_workspace", "moe_fp8_block_sm90_triton",
                                                            "deepseek_v2_forward_read", "mla_forward_read"))
            for r in ("0.24.0", "0.25.0", "0.25.1", "0.26.0")]
    assert rows == [("oracle triton", "triton", True, True)] * 4
    assert get_engine("vllm==0.25.1").rule("mla_prefill_dimensions") is None
    assert get_engine("vllm==0.26.0").rule("mla_prefill_dimensions") == {
        "every": ((128, 64, 128), (64, 64, 128)), "not_fa4": ((192, 64, 256),)}
