"""vLLM 0.24.0: planned as 0.23.0 is (eager, or the CUDA-graph estimate off; full, MLA,
sliding-window and chunked-local layers; V1-runner architectures), except that it runs
DeepseekV2ForCausalLM, GraniteMoeForCausalLM and Qwen2MoeForCausalLM on Model Runner V2 by default
too, quantized checkpoints included (rules v2_model_runner_architectures,
v2_model_runner_skips_quantized), drops the pp 1 test of the fused all-reduce + RMSNorm pass again
(rule allreduce_rms_fusion), pads unequal pages that do not divide for some attention backends (rule
unify_page_sizes "pad", refused), and runs mixture-of-experts layers through a rewritten fused-MoE
layer (a FusedMoE factory of MoERunner / RoutedExperts) that keeps what 0.23.0 kept: the same
experts, kernel and workspace (rules moe_persistent_workspace "oracle triton", moe_fp8_block_sm90_triton
"triton"; FINDINGS_h30_v24moe.md), so MoE plans as 0.23.0 and refuses what 0.23.0 refuses. Worker.determine_available_memory, request_memory, profile_run, _dummy_run,
_dummy_sampler_run, the CUDA sampler (FlashInfer 0.6.12 again) and the paging functions are
AST-identical to 0.23.0 (FINDINGS_h30_v24.md has the reading), so the planned figures equal
0.23.0's: each test below asserts the 0.24.0 figure and that 0.23.0 gives the same."""

from __future__ import annotations

import json

import pytest

from helpers import VLLM_MOE_ORACLE_REFUSALS, capacity_json as _plan, cli, one_line_error, pool_figures as _figures

from kvplan.engines import get_engine
from kvplan.errors import BadInputError
from kvplan.gpus import get_gpu

V2 = ("kvplan: error: vllm==0.24.0 runs {arch} ({model}) on Model Runner V2 (vllm/v1/worker/gpu/), whose profile "
      "run kvplan does not model, by default (vllm/config/vllm.py DEFAULT_V2_MODEL_RUNNER_ARCHITECTURES; V1 only for "
      "a feature V2 lacks); plan it with VLLM_USE_V2_MODEL_RUNNER=0 in front of a --from-vllm command, or use "
      "--engine vllm=={earlier}")



def test_gemma3_27b_h100_eager_as_0_23_0(capsys):
    """`kvplan capacity gemma3-27b --gpu h100 --engine vllm==0.24.0 --enforce-eager`
    (Gemma3ForConditionalGeneration: not in 0.24.0's DEFAULT_V2_MODEL_RUNNER_ARCHITECTURES,
    vllm/config/vllm.py :68-77): the figures tests/test_vllm_0_23.py derives, because what they come
    from is unchanged: gpu_memory_utilization 0.92 (config/cache.py :67) and math.ceil (v1/worker/utils.py
    :410); gemma3.py drops only a GGUF branch of load_weights; the sampler (profile_run :6239-6312,
    _dummy_sampler_run :6045-6150, TopKTopPSampler but for ROCm, apply_top_k_top_p_triton but for an
    XPU tile size) and flashinfer-python 0.6.12 (the Requires-Dist again); the paging functions; the
    52 window + 10 full layers' equal pages (no padding: unify_kv_cache_spec_page_size not reached)."""
    got = _plan(capsys, "gemma3-27b", "--engine", "vllm==0.24.0", "--enforce-eager")
    assert _figures(got) == (55_166_803_168, 4_037_972_992, 268_435_456, 78_226_705_613, 18_753_493_997,
                             14_307, 160_910)
    assert (got["blocks_per_request"], got["padding_layers"], got["block_size"]) == (11_654, 8, 16)
    assert _figures(_plan(capsys, "gemma3-27b", "--engine", "vllm==0.23.0", "--enforce-eager")) == _figures(got)


def test_llama_on_v1_with_the_variable_off_as_0_23_0(capsys):
    """`VLLM_USE_V2_MODEL_RUNNER=0` (envs.py unchanged, read first by use_v2_model_runner :522-548):
    Llama-3.1-8B on V1, weights 16,094,076,928, activation 2,025,938,944 (sampler 1,024 x 128,256 x 14
    + Triton buffer 132 x 128,256 x 4 + hidden 67,108,864 + 49 MiB + 1 MiB + 4,096), pool
    59,838,254,285: 28,533 blocks, 456,528 tokens, as 0.23.0."""
    cmd = "VLLM_USE_V2_MODEL_RUNNER=0 vllm serve meta-llama/Llama-3.1-8B --enforce-eager"
    got = _plan(capsys, "--engine", "vllm==0.24.0", "--from-vllm", cmd)
    assert _figures(got) == (16_094_076_928, 2_025_938_944, 268_435_456, 78_226_705_613, 59_838_254_285,
                             28_533, 456_528)
    assert _figures(_plan(capsys, "--engine", "vllm==0.23.0", "--from-vllm", cmd)) == _figures(got)


@pytest.mark.parametrize("model, arch, earlier", [
    ("llama3.1-8b", "LlamaForCausalLM", "0.22.1"), ("mistral-7b", "MistralForCausalLM", "0.22.1"),
    ("qwen3-8b", "Qwen3ForCausalLM", "0.21.0"), ("deepseek-v2-lite", "DeepseekV2ForCausalLM", "0.23.0"),
    ("tests/fixtures/hf_configs/qwen1.5-moe-a2.7b.json", "Qwen2MoeForCausalLM", "0.23.0")])
def test_model_runner_v2_architectures_refused(capsys, model, arch, earlier):
    """0.24.0's six default-V2 architectures; the quantization_config escape of 0.22.0-0.23.0 is gone
    (_is_default_v2_model_runner_model :550-561), so the line no longer offers it."""
    code, out, err = cli(capsys, "capacity", model, "--gpu", "h100", "--engine", "vllm==0.24.0", "--enforce-eager")
    assert code == 2 and out == ""
    name = model.rsplit("/", 1)[-1].removesuffix(".json")
    assert one_line_error(err) == V2.format(arch=arch, model=name, earlier=earlier)


def test_quantized_escape_by_release():
    assert [get_engine(f"vllm=={r}").rule("v2_model_runner_skips_quantized")
            for r in ("0.21.0", "0.22.0", "0.23.0", "0.24.0")] == [None, True, True, False]


@pytest.mark.parametrize("args, figures", [
    # Qwen3-30B-A3B, H100: TritonExperts keeps 2 x 8,192 x 8 x 2,048 x 2 = 536,870,912 B on the sampler's
    # 2,344,364,032 (activation 2,881,234,944); pool 78,226,705,613 - 61,074,731,008 - 2,881,234,944 -
    # 268,435,456 = 14,002,304,205 B, blocks of 1,572,864 B
    (("qwen3-30b-a3b", "--gpu", "h100"),
     (61_074_731_008, 2_881_234_944, 268_435_456, 78_226_705_613, 14_002_304_205, 8_902, 142_432)),
    # Qwen3-235B-A22B, 8 x H200: 2 x 8,192 x 8 x 4,096 x 2 = 1,073,741,824 B kept
    (("qwen3-235b-a22b", "--gpu", "h200", "--tp", "8"),
     (58_970_102_784, 3_451_660_288, 2_287_070_085, 138_110_256_860, 73_401_423_703, 95_320, 1_525_120)),
    # Mixtral-8x7B, 2 x H100: (8,192 x 2 x 7,168 + 8,192 x 2 x 14,336) x 2 = 704,643,072 B kept
    (("mixtral-8x7b", "--gpu", "h100", "--tp", "2"),
     (46_712_496_128, 1_299_832_832, 2_244_120_412, 78_226_705_613, 27_970_256_241, 26_674, 426_784)),
    # DeepSeek-V3 block fp8, 8 x H200: TritonExperts first for block fp8 on 9.0 (oracle/fp8.py :105-115),
    # 2 x 8,192 x 8 x 7,168 x 2 = 1,879,048,192 B kept in bf16
    (("deepseek-v3", "--weights", "fp8", "--gpu", "h200", "--tp", "8"),
     (85_858_369_792, 3_970_539_520, 2_287_070_085, 138_110_256_860, 45_994_277_463, 40_907, 654_512)),
])
def test_moe_plans_as_0_23_0(capsys, args, figures):
    """`kvplan capacity M ... --engine vllm==0.24.0 --enforce-eager --json`: 0.23.0's figures, because
    what they come from holds through the refactor: RoutedExperts.__init__ (routed_experts.py :54-169)
    creates the same expert tensors (create_weights, :168; 0.23.0 layer.py :416) and
    process_weights_after_loading keeps them as before (unquantized_fused_moe_method.py :201-270,
    Fp8MoEMethod AST-identical), building the same FusedMoEKernel (no-DP/EP prepare/finalize, TritonExperts:
    oracle/unquantized.py :72-74 and oracle/fp8.py :105-115 on Hopper); TritonExperts.workspace_shapes
    (experts/triton_moe.py :181-196), modular_kernel.py _allocate_buffers / _fused_experts and
    v1/worker/workspace.py are unchanged, so the kept workspace and the profile's peak are 0.23.0's."""
    code, out, err = cli(capsys, "capacity", *args, "--engine", "vllm==0.24.0", "--enforce-eager", "--json")
    assert code == 0, err
    assert _figures(json.loads(out)) == figures
    code, out, err = cli(capsys, "capacity", *args, "--engine", "vllm==0.23.0", "--enforce-eager", "--json")
    assert code == 0 and _figures(json.loads(out)) == figures


@pytest.mark.parametrize("spec, gpu, tp, kept", [
    ("qwen3-30b-a3b", "h100", 1, 536_870_912), ("qwen3-235b-a22b", "h200", 8, 1_073_741_824),
    ("mixtral-8x7b", "h100", 2, 704_643_072), ("deepseek-v3", "h200", 8, 1_879_048_192),
    ("qwen3-30b-a3b", "a100-80gb", 1, 536_870_912)])
def test_kept_workspace_is_triton_as_0_23_0(spec, gpu, tp, kept):
    """The experts class and the kept bytes at 8,192 tokens, for the cases 0.23.0 plans: TritonExperts
    on Hopper (FlashInfer's bf16 classes moved behind it) and below 9.0 (neither FlashInfer class
    supported: experts/flashinfer_cutlass_moe.py :132-143, trtllm_bf16_moe.py :49-56)."""
    from kvplan.capacity import engine_weights
    from kvplan.loader import load_builtin

    model = load_builtin(spec)
    for release in ("0.23.0", "0.24.0"):
        e, g = get_engine(f"vllm=={release}"), get_gpu(gpu)
        s = e.settings(g, tp=tp, max_num_batched_tokens=8192)
        w = engine_weights(e, model, g, tp=tp)
        assert e.moe_oracle_experts(model, g, w, s) == "triton"
        assert e.moe_workspace_bytes(model, s, range(model.num_layers), g, w) == kept


def test_deepseek_v3_from_a_v1_command(capsys):
    """DeepseekV3ForCausalLM is not in 0.24.0's DEFAULT_V2_MODEL_RUNNER_ARCHITECTURES (config/vllm.py
    :68-77): the same plan with VLLM_USE_V2_MODEL_RUNNER=0 as without, 40,907 blocks on 8 x H200."""
    cmd = ("VLLM_USE_V2_MODEL_RUNNER=0 vllm serve deepseek-ai/DeepSeek-V3 --tensor-parallel-size 8 "
           "--enforce-eager")
    got = _plan(capsys, "--gpu", "h200", "--engine", "vllm==0.24.0", "--from-vllm", cmd)
    assert (got["weights_format"], got["tp"]) == ("fp8", 8)
    assert _figures(got) == (85_858_369_792, 3_970_539_520, 2_287_070_085, 138_110_256_860, 45_994_277_463,
                             40_907, 654_512)


def test_deepseek_v2_lite_on_v1_as_0_23_0(capsys):
    """DeepseekV2ForCausalLM runs V2 by default on 0.24.0 (refused above); with
    VLLM_USE_V2_MODEL_RUNNER=0 it runs V1 and its bf16 experts TritonExperts, as 0.23.0: 89,293 blocks."""
    cmd = "VLLM_USE_V2_MODEL_RUNNER=0 vllm serve deepseek-ai/DeepSeek-V2-Lite --enforce-eager"
    got = _plan(capsys, "--engine", "vllm==0.24.0", "--from-vllm", cmd)
    assert (got["activation_bytes"], got["kv_pool_bytes"], got["num_blocks"]) == (2_086_211_584, 44_438_118_605,
                                                                                  89_293)
    assert _figures(_plan(capsys, "--engine", "vllm==0.23.0", "--from-vllm", cmd)) == _figures(got)


@pytest.mark.parametrize("args, words", [
    *VLLM_MOE_ORACLE_REFUSALS,
    (("deepseek-v3", "--weights", "fp8", "--gpu", "b200", "--tp", "8", "--block-size", "64"),
     "block fp8 off compute capability 9.0"),
    (("tests/fixtures/hf_configs/deepseek-v3.2.json", "--gpu", "h200", "--tp", "8"),
     "DeepSeek sparse attention's indexer takes the fused-MoE WorkspaceManager buffer too"),
])
def test_moe_refused_as_0_23_0(capsys, args, words):
    """What 0.23.0 refuses, 0.24.0 refuses with the same line: the oracle (mxfp4, Blackwell, AMD, per-tensor
    fp8, DeepSeek sparse attention's shared workspace) and EP / dp > 1 paths were not read for either."""
    lines = []
    for release in ("0.23.0", "0.24.0"):
        code, out, err = cli(capsys, "capacity", *args, "--engine", f"vllm=={release}", "--enforce-eager")
        assert code == 2 and out == ""
        lines.append(one_line_error(err).replace(release, "R"))
    assert lines[0] == lines[1] and words in lines[1]
    assert "mixture-of-experts kernels by an oracle (vllm/model_executor/layers/fused_moe/oracle/)" in lines[1]


def test_moe_rules_by_release():
    rules = [(get_engine(f"vllm=={r}").rule("moe_persistent_workspace"),
              get_engine(f"vllm=={r}").rule("moe_fp8_block_sm90_triton")) for r in ("0.22.1", "0.23.0", "0.24.0")]
    assert rules == [("oracle fi-cutlass", "triton"), ("oracle triton", "triton"), ("oracle triton", "triton")]


def test_allreduce_rms_fusion_without_the_pp_test():
    """enable_allreduce_rms_fusion (0.24.0 vllm/config/vllm.py :131-151) tests no
    pipeline_parallel_size again (0.23.0 :129-156 did); sizes unchanged."""
    h100, new, old = get_gpu("h100"), get_engine("vllm==0.24.0"), get_engine("vllm==0.23.0")
    assert new.allreduce_rms_fusion(h100, tp=2).max_bytes == 64 << 20
    assert not old.allreduce_rms_fusion(h100, tp=2, pp=2).on
    assert new.allreduce_rms_fusion(h100, tp=2, pp=2).on and new.allreduce_rms_fusion(h100, tp=2, dp=2).on


def test_pages_that_do_not_divide_are_refused_with_the_padding_named():
    """unify_kv_cache_spec_page_size (0.24.0 :1049-1100) pads a page that does not divide the largest
    (AttentionSpec.page_size_padded) when the backend reads pages by the block stride; 0.23.0 raised.
    kvplan does not model which backends do: refused either way, with the release's reason."""
    from kvplan.layers import FullAttention, SlidingWindow
    from kvplan.paging import LayerSet, _unify_pages, vllm_paging

    full = FullAttention(kv_heads=8, head_dim=128, v_head_dim=128)
    window = SlidingWindow(kv_heads=8, head_dim=96, v_head_dim=96, window=4096)
    sets = (LayerSet(full, 4, 4, 16 * 8 * 256 * 2, 16), LayerSet(window, 4, 4, 16 * 8 * 192 * 2, 16))
    with pytest.raises(BadInputError, match=r"^vllm==0\.24\.0: a page of 49,152 B does not divide the largest page "
                                            r"65,536 B .*vLLM pads it to the largest where the layer's attention "
                                            r"backend reads pages by the block stride"):
        _unify_pages(sets, vllm_paging("0.24.0"))
    with pytest.raises(BadInputError, match=r"^vllm==0\.23\.0: refuses to start: a page of 49,152 B"):
        _unify_pages(sets, vllm_paging("0.23.0"))


@pytest.mark.parametrize("config", ["bamba-9b", "minimax-m1"])
def test_architectures_removed_in_0_24_0(capsys, config):
    """registry.py 0.24.0 drops BambaForCausalLM, MiniMaxText01ForCausalLM / MiniMaxM1ForCausalLM,
    QWenLMHeadModel, InternLMForCausalLM, XverseForCausalLM, Dots1ForCausalLM and others
    (kvplan/data/engine_models.json): no model class, refused."""
    code, out, err = cli(capsys, "capacity", f"tests/fixtures/hf_configs/{config}.json", "--gpu", "h100",
                         "--engine", "vllm==0.24.0", "--enforce-eager")
    errors = [ln for ln in err.splitlines() if ln.startswith("kvplan: error:")]
    assert code == 2 and out == "" and len(errors) == 1 and "Traceback" not in err
    assert "vllm==0.24.0 has no model class for" in errors[0] and "to 0.23.0 have one" in errors[0]


def test_release_table():
    from kvplan.engines import vllm_rules as R

    assert "0.24.0" in R.RELEASES and "0.24.0" not in R.PUBLISHED_LATER  # 0.25.x: tests/test_vllm_0_25.py


def test_gpus_below_8_0_refused(capsys):
    """FlashInferBackend.supports_compute_capability (0.24.0 flashinfer.py :426-434) floor 8.0 (7.5 in
    0.23.0): attention backends and the sampler's FlashInfer call move on 7.x, not re-read."""
    code, out, err = cli(capsys, "capacity", "gemma3-4b", "--gpu", "t4", "--engine", "vllm==0.24.0", "--enforce-eager")
    assert code == 2 and out == ""
    assert one_line_error(err) == ("kvplan: error: vllm==0.24.0 on NVIDIA T4 (16 GB) (compute capability 7.5): "
                                   "FlashInfer's attention and sampler no longer run below 8.0 (vllm/v1/attention/"
                                   "backends/flashinfer.py FlashInferBackend.supports_compute_capability), which "
                                   "kvplan has not re-read; use --engine vllm==0.23.0")
