"""vLLM 0.24.0: planned as 0.23.0 is (eager, or the CUDA-graph estimate off; full, MLA,
sliding-window and chunked-local layers; V1-runner architectures), except that it runs
DeepseekV2ForCausalLM, GraniteMoeForCausalLM and Qwen2MoeForCausalLM on Model Runner V2 by default
too, quantized checkpoints included (rules v2_model_runner_architectures,
v2_model_runner_skips_quantized), drops the pp 1 test of the fused all-reduce + RMSNorm pass again
(rule allreduce_rms_fusion), pads unequal pages that do not divide for some attention backends (rule
unify_page_sizes "pad", refused), and runs every mixture-of-experts layer through a rewritten
fused-MoE layer kvplan has not read to the end (rule moe_persistent_workspace "oracle unread",
refused). Worker.determine_available_memory, request_memory, profile_run, _dummy_run,
_dummy_sampler_run, the CUDA sampler (FlashInfer 0.6.12 again) and the paging functions are
AST-identical to 0.23.0 (FINDINGS_h30_v24.md has the reading), so the planned figures equal
0.23.0's: each test below asserts the 0.24.0 figure and that 0.23.0 gives the same."""

from __future__ import annotations

import json

import pytest

from helpers import capacity_json as _plan, cli, one_line_error, pool_figures as _figures

from kvplan.engines import get_engine
from kvplan.errors import BadInputError
from kvplan.gpus import get_gpu

V2 = ("kvplan: error: vllm==0.24.0 runs {arch} ({model}) on Model Runner V2 (vllm/v1/worker/gpu/), whose profile "
      "run kvplan does not model, by default (vllm/config/vllm.py DEFAULT_V2_MODEL_RUNNER_ARCHITECTURES; V1 only for "
      "a feature V2 lacks); plan it with VLLM_USE_V2_MODEL_RUNNER=0 in front of a --from-vllm command, or use "
      "--engine vllm=={earlier}")
MOE = ("kvplan: error: vllm==0.24.0 runs {model}'s mixture-of-experts layers through a rewritten fused-MoE layer "
       "(vllm/model_executor/layers/fused_moe/layer.py FusedMoE, now a factory of runner/moe_runner.py MoERunner and "
       "routed_experts.py RoutedExperts) that kvplan has not read to the end; use --engine vllm==0.23.0")


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


@pytest.mark.parametrize("args", [
    ("qwen3-30b-a3b",), ("gpt-oss-120b",), ("deepseek-v3", "--weights", "fp8", "--gpu", "h200", "--tp", "8"),
    ("mixtral-8x7b", "--tp", "2")])
def test_moe_refused(capsys, args):
    """0.23.0 plans Qwen3-30B-A3B (activation 2,881,234,944 B, 8,902 blocks) and DeepSeek-V3 fp8 tp 8
    (3,970,539,520 B, 40,907 blocks) and refuses gpt-oss (mxfp4); 0.24.0 refuses every MoE model in one
    line: fused_moe/layer.py FusedMoE is now a factory (:103-409) of MoERunner / RoutedExperts."""
    model, rest = args[0], list(args[1:])
    gpu = [] if "--gpu" in rest else ["--gpu", "h100"]
    code, out, err = cli(capsys, "capacity", model, *gpu, *rest, "--engine", "vllm==0.24.0", "--enforce-eager")
    assert code == 2 and out == ""
    assert one_line_error(err) == MOE.format(model=model)


def test_moe_figures_on_0_23_0_unchanged(capsys):
    code, out, _ = cli(capsys, "capacity", "qwen3-30b-a3b", "--gpu", "h100", "--engine", "vllm==0.23.0",
                       "--enforce-eager", "--json")
    assert code == 0 and (json.loads(out)["activation_bytes"], json.loads(out)["num_blocks"]) == (2_881_234_944, 8_902)


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
