"""vLLM 0.22.0 and 0.22.1: planned as 0.21.0 is (eager, or the CUDA-graph estimate off; full,
MLA, sliding-window and chunked-local layers), except where the release runs Model Runner V2
(rule v2_model_runner_architectures: Qwen3ForCausalLM) and where it raises a multimodal
prefix-LM model's default max_num_batched_tokens (rule mm_prefix_lm_token_floor). Every
figure is worked out below from the release's source (FINDINGS_h28_v22.md has the rule-by-rule
reading; the two wheels differ in nothing the plan reads)."""

from __future__ import annotations

from types import SimpleNamespace

import json

import pytest

from helpers import capacity_json as _plan, cli, one_line_error, pool_figures as _figures, toy_spec

from kvplan.engines import get_engine
from kvplan.errors import BadInputError
from kvplan.gpus import get_gpu
from kvplan.vllm_args import parse_vllm

RELEASES = ("0.22.0", "0.22.1")
ESTIMATE = ("kvplan: error: vllm==0.22.0 subtracts a CUDA-graph memory estimate from the KV pool "
            "(VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS=1 by default from 0.20.0), measured by trial graph captures "
            "that kvplan does not predict; plan it eager (kvplan capacity --enforce-eager, or --enforce-eager in a "
            "--from-vllm command or a plan's from_vllm) or with VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS=0 in front "
            "of one, or use --engine vllm==0.19.1")
V2 = ("kvplan: error: vllm==0.22.0 runs Qwen3ForCausalLM (qwen3-8b) on Model Runner V2 (vllm/v1/worker/gpu/), "
      "whose profile run kvplan does not model, by default (vllm/config/vllm.py DEFAULT_V2_MODEL_RUNNER_ARCHITECTURES; "
      "V1 only for a checkpoint with a quantization_config or a feature V2 lacks); plan it with "
      "VLLM_USE_V2_MODEL_RUNNER=0 in front of a --from-vllm command, or use --engine vllm==0.21.0")


@pytest.mark.parametrize("release", RELEASES)
def test_llama31_8b_h100_eager(capsys, release):
    """`kvplan capacity llama3.1-8b --gpu h100 --engine vllm==0.22.0 --enforce-eager`, by hand from
    the 0.22.0 wheel (0.22.1 differs only in CPU kernels, Mellum, the Ray DP port handshake and a
    rope_parameters check):

    - requested = total x gpu_memory_utilization: H100 85,029,027,840 B x 0.92 (config/cache.py :66);
      v1/worker/utils.py request_memory :408 takes math.ceil of the float product: 78,226,705,613
      (rule requested_memory_rounding).
    - weights: 8,030,261,248 parameters x 2 B + the rotary cache 131,072 x 128 x 2 B (llama.py and
      rotary_embedding unchanged from 0.21.0) = 16,094,076,928.
    - activation, the sampler binds (profile_run :6104-6177 and _dummy_run AST-identical to 0.21.0;
      _dummy_sampler_run :5910-6015 changes only its speculative part): S = min(1,024, 8,192) rows x
      128,256 logits x (2 bf16 + 4 fp32 copy + 8 Triton path) = 1,838,690,304; Triton buffer
      min(next_pow2(1,024), 132 SMs) = 132 rows x 128,256 x 4 = 67,719,168; hidden states alive
      8,192 x 4,096 x 2 = 67,108,864; workspace 49 MiB = 51,380,224; the first, FlashInfer sampler
      call's row-state buffer 1 MiB = 1,048,576 (VLLM_USE_FLASHINFER_SAMPLER default True, envs.py
      :818-822; flashinfer-python 0.6.11.post2 sampling.py as 0.6.8.post1's), and that call's sampled ids, int32 [1,024, 1] = 4,096 B, held
      while the native call runs (the 0.21.0 code, unchanged): 2,025,938,944. The
      forward, 8,192 x 2 x (6.7 x 4,096 + 3 x 14,336) = 1,154,272,870, is smaller.
    - non-torch 0.25 GiB = 268,435,456 (fit of the v0.19.0 H100 logs, inherited).
    - pool 78,226,705,613 - 16,094,076,928 - 2,025,938,944 - 268,435,456 = 59,838,254,285
      (gpu_worker.py determine_available_memory AST-identical; no graph estimate under eager).
    - page 16 x 8 heads x (128 + 128) x 2 B x 32 layers = 2,097,152: 28,533 blocks; "GPU KV cache
      size" int(28,533 / 8,192 x 131,072) = 456,528 (kv_cache_utils.py :1731)."""
    got = _plan(capsys, "llama3.1-8b", "--engine", f"vllm=={release}", "--enforce-eager")
    assert _figures(got) == (16_094_076_928, 2_025_938_944, 268_435_456, 78_226_705_613, 59_838_254_285,
                             28_533, 456_528)
    assert (got["gpu_memory_utilization"], got["block_size"]) == (0.92, 16)
    old = _plan(capsys, "llama3.1-8b", "--engine", "vllm==0.21.0", "--enforce-eager")
    assert _figures(old) == _figures(got)  # nothing on the memory path changed


def test_estimate_off_by_environment_plans_the_same(capsys):
    got = _plan(capsys, "--engine", "vllm==0.22.1", "--from-vllm",
                "VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS=0 vllm serve meta-llama/Llama-3.1-8B")
    assert (got["kv_pool_bytes"], got["num_blocks"], got["kv_cache_tokens"]) == (59_838_254_285, 28_533, 456_528)


@pytest.mark.parametrize("release", RELEASES)
def test_default_graphs_refused(capsys, release):
    code, out, err = cli(capsys, "capacity", "llama3.1-8b", "--gpu", "h100", "--engine", f"vllm=={release}")
    assert code == 2 and out == ""
    assert err.strip() == ESTIMATE.replace("0.22.0", release)


@pytest.mark.parametrize("release", RELEASES)
@pytest.mark.parametrize("model", ["qwen3-8b", "qwen3-32b"])
def test_qwen3_runs_model_runner_v2_refused(capsys, release, model):
    """vllm/config/vllm.py DEFAULT_V2_MODEL_RUNNER_ARCHITECTURES = {'Qwen3ForCausalLM'} (:69),
    VllmConfig.use_v2_model_runner (:492-516): V2 for a dense, unquantized Qwen3."""
    code, out, err = cli(capsys, "capacity", model, "--gpu", "h100", "--engine", f"vllm=={release}",
                         "--enforce-eager")
    assert code == 2 and out == ""
    assert one_line_error(err) == V2.replace("0.22.0", release).replace("qwen3-8b", model)


def test_qwen3_on_v1_with_the_variable_off(capsys):
    """`VLLM_USE_V2_MODEL_RUNNER=0` (envs.py :1897-1899, read first by use_v2_model_runner) keeps
    Qwen3-8B on V1. By hand: weights 8,190,735,360 x 2 + 40,960 x 128 x 2 = 16,391,956,480;
    sampler 1,024 x 151,936 x 14 = 2,178,154,496 + 132 x 151,936 x 4 = 80,222,208 + 67,108,864 +
    51,380,224 + 1,048,576 + 4,096 = 2,377,918,464; pool 78,226,705,613 - 16,391,956,480 -
    2,377,918,464 - 268,435,456 = 59,188,395,213; page 16 x 8 x 256 x 2 x 36 = 2,359,296: 25,087 blocks;
    int(25,087 / 2,560 x 40,960) = 401,392 tokens. 0.21.0 plans the same."""
    got = _plan(capsys, "--engine", "vllm==0.22.0", "--from-vllm",
                "VLLM_USE_V2_MODEL_RUNNER=0 vllm serve Qwen/Qwen3-8B --enforce-eager")
    assert _figures(got) == (16_391_956_480, 2_377_918_464, 268_435_456, 78_226_705_613, 59_188_395_213,
                             25_087, 401_392)
    assert _figures(_plan(capsys, "qwen3-8b", "--engine", "vllm==0.21.0", "--enforce-eager")) == _figures(got)


def test_v2_forced_by_the_variable_is_refused_where_it_exists(capsys):
    """VLLM_USE_V2_MODEL_RUNNER=1: Model Runner V2 on every release with the variable (0.12.0+,
    rule v2_model_runner_architectures not None); 0.11.0 has no such variable and plans as without."""
    for release in ("0.22.0", "0.21.0", "0.12.0"):
        code, out, err = cli(capsys, "capacity", "--gpu", "h100", "--engine", f"vllm=={release}", "--from-vllm",
                             "VLLM_USE_V2_MODEL_RUNNER=1 vllm serve meta-llama/Llama-3.1-8B --enforce-eager")
        assert code == 2 and out == ""
        assert one_line_error(err) == (f"kvplan: error: VLLM_USE_V2_MODEL_RUNNER=1: vllm=={release} runs Model "
                                       f"Runner V2 (vllm/v1/worker/gpu/), whose profile run kvplan does not model; "
                                       f"plan without it")
    forced = _plan(capsys, "--engine", "vllm==0.11.0", "--from-vllm",
                   "VLLM_USE_V2_MODEL_RUNNER=1 vllm serve meta-llama/Llama-3.1-8B")
    plain = _plan(capsys, "llama3.1-8b", "--engine", "vllm==0.11.0")
    assert forced["num_blocks"] == plain["num_blocks"] > 0
    assert parse_vllm("VLLM_USE_V2_MODEL_RUNNER=0 vllm serve x").engine_options == {"use_v2_model_runner": False}


def test_a_spec_without_an_architecture_is_refused_on_0_22():
    """vLLM picks the runner by the config's architectures; a spec naming none cannot be told apart
    from a Qwen3ForCausalLM one there (0.21.0 runs every model on V1)."""
    from kvplan.capacity import make_request, plan

    spec = toy_spec()
    with pytest.raises(BadInputError, match=r"^toy names no architecture, and vllm==0\.22\.0 runs Qwen3ForCausalLM "
                                            r"on Model Runner V2 .*give the model's architecture, or plan it with "
                                            r"VLLM_USE_V2_MODEL_RUNNER=0"):
        make_request(spec, "h100", engine=get_engine("vllm==0.22.0", enforce_eager=True))
    assert plan(make_request(spec, "h100", engine=get_engine("vllm==0.21.0", enforce_eager=True))).num_blocks > 0
    off = get_engine("vllm==0.22.0", enforce_eager=True, use_v2_model_runner=False)
    assert plan(make_request(spec, "h100", engine=off)).num_blocks > 0


@pytest.mark.parametrize("arch", ["Gemma4ForConditionalGeneration", "BagelForConditionalGeneration",
                                  "Moondream3ForCausalLM", "CheersForConditionalGeneration"])
def test_multimodal_prefix_lm_default_tokens_refused(arch):
    """vllm/engine/arg_utils.py (0.22.0 :2524-2540): an unset max_num_batched_tokens of a
    multimodal prefix-LM model is raised to its largest multimodal item's tokens
    (_get_min_mm_batched_tokens), which kvplan does not compute; a given one is kept."""
    spec, h100 = SimpleNamespace(architecture=arch), get_gpu("h100")
    with pytest.raises(BadInputError, match=f"vllm==0.22.0 raises the default max_num_batched_tokens of {arch} "):
        get_engine("vllm==0.22.0").settings(h100, spec=spec)
    assert get_engine("vllm==0.22.0").settings(h100, spec=spec, max_num_batched_tokens=4096).max_num_batched_tokens \
        == 4096
    assert get_engine("vllm==0.21.0").settings(h100, spec=spec).max_num_batched_tokens == 8192
    # Gemma 3 is prefix-LM but its ProcessingInfo has no get_mm_max_tokens_per_item: no floor
    gemma3 = SimpleNamespace(architecture="Gemma3ForConditionalGeneration")
    assert get_engine("vllm==0.22.0").settings(h100, spec=gemma3).max_num_batched_tokens == 8192


def test_gemma3_27b_eager_as_0_21_0(capsys):
    """Sliding window + full layers (Gemma3ForConditionalGeneration, V1 in 0.22.0): the paging and
    the memory path are 0.21.0's, 14,307 blocks on an H100 (tests/test_vllm_0_20.py derives them)."""
    new = _plan(capsys, "gemma3-27b", "--engine", "vllm==0.22.0", "--enforce-eager")
    old = _plan(capsys, "gemma3-27b", "--engine", "vllm==0.21.0", "--enforce-eager")
    assert new["num_blocks"] == old["num_blocks"] == 14_307
    assert _figures(new) == _figures(old)


def test_flashinfer_takes_head_size_512_from_0_22():
    """FlashInferBackend.get_supported_head_sizes [64, 128, 256, 512] (0.22.0 :402-405): an fp8
    cache with heads of 512 goes to FLASHINFER on compute capability 7.5-8.8, where 0.21.0 left
    TRITON_ATTN, which cannot compile its fp8 type below 8.9."""
    heads_512 = SimpleNamespace(head_dim=512)
    assert get_engine("vllm==0.22.0")._takes("flashinfer", heads_512)
    assert not get_engine("vllm==0.21.0")._takes("flashinfer", heads_512)


def test_moe_planned_and_speculative_stays_refused(capsys):
    # 0.22.0: FlashInferExperts on Hopper as 0.20.0-0.21.0 (rule moe_persistent_workspace "oracle fi-cutlass"):
    # the sampler's 2,344,364,032 + 8,192 x 2,048 x 2 = 2,377,918,464 (FINDINGS_h29_moe20.md)
    code, out, err = cli(capsys, "capacity", "qwen3-30b-a3b", "--gpu", "h100", "--engine", "vllm==0.22.0",
                         "--enforce-eager", "--json")
    assert code == 0 and json.loads(out)["activation_bytes"] == 2_377_918_464
    code, out, err = cli(capsys, "capacity", "llama3.1-70b", "--gpu", "h100", "-tp", "4", "--engine", "vllm==0.22.1",
                         "--enforce-eager", "--speculative-config",
                         '{"model": "llama3.2-1b", "num_speculative_tokens": 4}')
    assert code == 2 and "speculative decoding on vllm==0.22.1: its drafter code" in one_line_error(err)
