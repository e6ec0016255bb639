"""vLLM 0.27.0's fused-MoE layer, MLA layer and DeepSeek decoder read against 0.26.0
(FINDINGS_h31_v27moe.md). 0.27.0's profiled pool is refused (rule non_kv_from_free_memory), so every
case here gives the KV memory with --kv-cache-memory-bytes, set to the pool 0.26.0 plans for it:

- fused_moe/layer.py's FusedMoE is renamed FusedMoEFactory (SituGLU betas added); TritonExperts'
  workspace_shapes / apply, the modular kernel's _allocate_buffers, oracle/fp8.py and
  v1/worker/workspace.py are unchanged; _fused_experts writes the experts' output into the caller's
  tensor on CUDA too (one copy fewer, no tensor more); MoERunner.forward's latent-MoE reduction runs only
  with a routed output transform (NemotronH / Kimi-K3): rules moe_persistent_workspace "oracle triton",
  moe_fp8_block_sm90_triton "triton";
- deepseek_v2.py's decoder forward is unchanged and DeepseekV2Model.forward changes only its
  sequence-parallel all-gather branches (EP and dp > 1, refused): rule deepseek_v2_forward_read True;
- mla_attention.py's profile branch (no attention metadata) is unchanged, the new code is decode context
  parallelism's query replication (refused) and sparse MLA's masked MHA (refused); layers/mla.py runs the
  query projection after kv_a_layernorm (the same tensors once both ran; DeepSeek-V3's fp8 input copy now
  beside the normed latent stays below the layer's forward_impl moment): rule mla_forward_read True;
- FlashAttention's MLA prefill takes GLM's (192, 64, 256) under every version, but on Blackwell the
  selector tries the TRT-LLM ragged prefill first for it (rule mla_prefill_dimensions "not_blackwell").

Each figure test asserts the 0.27.0 figure and the 0.26.0 one beside it."""

from __future__ import annotations

import json

import pytest

from helpers import capacity_json as _plan, cli, hf_fixture, one_line_error, pool_figures as _figures

from kvplan.engines import get_engine
from kvplan.engines.vllm import VLLM

DEEPSEEK_V3 = "VLLM_USE_V2_MODEL_RUNNER=0 vllm serve deepseek-ai/DeepSeek-V3 --tensor-parallel-size 8 --enforce-eager"
DEEPSEEK_V2_LITE = "VLLM_USE_V2_MODEL_RUNNER=0 vllm serve deepseek-ai/DeepSeek-V2-Lite --enforce-eager"
#: capacity JSON keys that name the release or the given memory
_NAMES = ("engine", "paging", "kv_cache_memory_bytes")


def _same_but_names(a: dict, b: dict) -> bool:
    return {k: v for k, v in a.items() if k not in _NAMES} == {k: v for k, v in b.items() if k not in _NAMES}


@pytest.mark.parametrize("args, figures", [
    (("qwen3-30b-a3b", "--gpu", "h100"),
     (61_074_731_008, 2_881_234_944, 268_435_456, 78_226_705_613, 14_002_304_205, 8_902, 142_432)),
    (("qwen3-235b-a22b", "--gpu", "h200", "--tp", "8"),
     (58_970_102_784, 3_451_660_288, 2_287_070_085, 138_110_256_860, 73_401_423_703, 95_320, 1_525_120)),
    (("mixtral-8x7b", "--gpu", "h100", "--tp", "2"),
     (46_712_496_128, 1_299_832_832, 2_244_120_412, 78_226_705_613, 27_970_256_241, 26_674, 426_784)),
])
def test_moe_on_0_27_plans_as_0_26_0(capsys, args, figures):
    """Qwen3-MoE and Mixtral on 0.27.0 with 0.26.0's pool given: the same weights, activation (the kept
    TritonExperts workspace inside it: Qwen3-30B-A3B at T 8,192 536,870,912 B), blocks and tokens; the
    whole JSON equal but for the release and the given memory. Before: exit 2 ('rewritten fused-MoE
    layer ... not read')."""
    pool = str(figures[4])
    got = _plan(capsys, *args, "--engine", "vllm==0.27.0", "--enforce-eager", "--kv-cache-memory-bytes", pool)
    assert _figures(got) == figures
    was = _plan(capsys, *args, "--engine", "vllm==0.26.0", "--enforce-eager")
    assert _figures(was) == figures and _same_but_names(got, was)


def test_deepseek_v3_fp8_h200_tp8_plans_as_0_26_0(capsys):
    """DeepSeek-V3 block-fp8 on 8 x H200 (TritonExperts, rule moe_fp8_block_sm90_triton; the bf16 W_UK_T /
    W_UV copy of the fp8 kv_b_proj in the weights): 85,858,369,792 B weights, activation 3,970,539,520
    (sampler phase + the kept workspace 1,879,048,192; the forward, 2,678,482,534, stays below),
    40,907 blocks, 10,240 a request -- 0.26.0's. Preset, serve command and vLLM's own
    --kv-cache-memory-bytes agree. Before: exit 2 (MLA layer not read)."""
    want = (85_858_369_792, 3_970_539_520, 2_287_070_085, 138_110_256_860, 45_994_277_463, 40_907, 654_512)
    preset = ("deepseek-v3", "--weights", "fp8", "--gpu", "h200", "--tp", "8", "--enforce-eager")
    got = _plan(capsys, *preset, "--engine", "vllm==0.27.0", "--kv-cache-memory-bytes", "45994277463")
    assert _figures(got) == want and got["blocks_per_request"] == 10_240
    was = _plan(capsys, *preset, "--engine", "vllm==0.26.0")
    assert _figures(was) == want and _same_but_names(got, was)
    assert _figures(_plan(capsys, "--gpu", "h200", "--engine", "vllm==0.27.0", "--from-vllm",
                          DEEPSEEK_V3 + " --kv-cache-memory-bytes 45994277463")) == want
    assert _figures(_plan(capsys, "--gpu", "h200", "--engine", "vllm==0.27.0", "--kv-cache-memory-bytes",
                          "45994277463", "--from-vllm", DEEPSEEK_V3)) == want


def test_deepseek_v2_lite_on_v1_plans_as_0_26_0(capsys):
    """DeepSeek-V2-Lite (bf16 MLA + MoE, V1 through the variable) on an H100 with 0.26.0's pool:
    31,433,939,968 B weights, activation 2,086,211,584 (forward 841,377,382 below it), 89,293 blocks."""
    want = (31_433_939_968, 2_086_211_584, 268_435_456, 78_226_705_613, 44_438_118_605, 89_293, 1_428_688)
    got = _plan(capsys, "--gpu", "h100", "--engine", "vllm==0.27.0", "--kv-cache-memory-bytes", "44438118605",
                "--from-vllm", DEEPSEEK_V2_LITE)
    was = _plan(capsys, "--gpu", "h100", "--engine", "vllm==0.26.0", "--from-vllm", DEEPSEEK_V2_LITE)
    assert _figures(got) == want and _figures(was) == want and _same_but_names(got, was)


def _mla_config(tmp_path, name: str, qk_nope: int, v: int) -> str:
    """DeepSeek-V2-Lite's config with other MLA head dimensions, as DeepseekV3ForCausalLM (V1 by default)."""
    config = hf_fixture("deepseek-v2-lite", qk_nope_head_dim=qk_nope, v_head_dim=v,
                        architectures=["DeepseekV3ForCausalLM"])
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    return str(path)


def test_mla_prefill_glm_dims_on_hopper_plans(capsys, tmp_path):
    """GLM's MLA shape (192, 64, 256) on Hopper: FlashAttention takes it; 88,440 blocks with 0.26.0's
    pool, as 0.26.0."""
    path = _mla_config(tmp_path, "glm-dims", 192, 256)
    got = _plan(capsys, path, "--gpu", "h100", "--engine", "vllm==0.27.0", "--enforce-eager",
                "--kv-cache-memory-bytes", "44013445325")
    was = _plan(capsys, path, "--gpu", "h100", "--engine", "vllm==0.26.0", "--enforce-eager")
    assert got["num_blocks"] == was["num_blocks"] == 88_440 and was["kv_pool_bytes"] == 44_013_445_325


@pytest.mark.parametrize("gpu, dims, line", [
    ("b200", (192, 256), "kvplan: error: vllm==0.27.0 on NVIDIA B200 (HGX, 180 GB) (compute capability 10.0): kvplan "
                         "does not model whether other-dims's MLA attention starts (on Blackwell the MLA prefill "
                         "selector tries the TRT-LLM ragged prefill first for the MLA dimensions (192, 64, 256) "
                         "(vllm/v1/attention/backends/mla/prefill/selector.py _get_mla_prefill_backend_priorities), "
                         "not read); use another --engine vllm==X or GPU"),
    ("h100", (64, 64), "kvplan: error: vllm==0.27.0 on NVIDIA H100 80GB SXM (HBM3) (compute capability 9.0) does not "
                       "start other-dims's MLA attention: FlashAttention, its only MLA prefill off Blackwell, takes the "
                       "MLA dimensions (128, 64, 128), (64, 64, 128), (192, 64, 256) only, not (64, 64, 64) "
                       "(vllm/v1/attention/backends/mla/prefill/flash_attn.py FlashAttnPrefillBackend."
                       "supports_mla_dimensions), so get_mla_prefill_backend raises; use another --engine vllm==X or "
                       "GPU"),
])
def test_mla_prefill_dimensions_refused(capsys, tmp_path, gpu, dims, line):
    """GLM's shape on Blackwell: 0.27.0's selector puts TRT-LLM ragged first for it (0.26.0: FlashAttention 4
    did not take it; refused either way, for another reason); other shapes on Hopper: vLLM raises."""
    path = _mla_config(tmp_path, "other-dims", *dims)
    code, out, err = cli(capsys, "capacity", path, "--gpu", gpu, "--engine", "vllm==0.27.0", "--enforce-eager",
                         "--kv-cache-memory-bytes", "40G")
    assert code == 2 and out == ""
    assert one_line_error(err) == line
    code, _, err = cli(capsys, "capacity", path, "--gpu", gpu, "--engine", "vllm==0.26.0", "--enforce-eager")
    assert code == 2 and ("FlashAttention 4" in one_line_error(err)) == (dims == (192, 256))


@pytest.mark.parametrize("name, value, words", [
    ("moe_persistent_workspace", "oracle unread", "mixture-of-experts layers through the rewritten fused-MoE layer"),
    ("deepseek_v2_forward_read", False, "through vllm/model_executor/models/deepseek_v2.py"),
    ("mla_forward_read", False, "MLA attention runs an MLA layer"),
])
def test_unread_refusals_name_0_26_0(capsys, monkeypatch, name, value, words):
    """A 0.27.0 row with a 'not read' value (as before this reading) refuses in one line naming 0.26.0."""
    rule, rel = VLLM.rule, get_engine("vllm==0.27.0").release
    monkeypatch.setattr(VLLM, "rule", lambda self, n: value if n == name and self.release == rel else rule(self, n))
    code, out, err = cli(capsys, "capacity", "deepseek-v3", "--weights", "fp8", "--gpu", "h200", "--tp", "8",
                         "--engine", "vllm==0.27.0", "--enforce-eager", "--kv-cache-memory-bytes", "40G")
    assert code == 2 and out == ""
    line = one_line_error(err)
    assert words in line and line.endswith("; use --engine vllm==0.26.0")


def test_rules_by_release():
    rows = [tuple(get_engine(f"vllm=={r}").rule(n) for n in ("moe_persistent_workspace", "moe_fp8_block_sm90_triton",
                                                            "deepseek_v2_forward_read", "mla_forward_read"))
            for r in ("0.26.0", "0.27.0")]
    assert rows == [("oracle triton", "triton", True, True)] * 2
    assert get_engine("vllm==0.26.0").rule("mla_prefill_dimensions") == {
        "every": ((128, 64, 128), (64, 64, 128)), "not_fa4": ((192, 64, 256),)}
    assert get_engine("vllm==0.27.0").rule("mla_prefill_dimensions") == {
        "every": ((128, 64, 128), (64, 64, 128)), "not_blackwell": ((192, 64, 256),)}
