"""vLLM 0.23.0: planned as 0.22.1 is (eager, or the CUDA-graph estimate off; full, MLA,
sliding-window and chunked-local layers; V1-runner architectures), except that it runs
LlamaForCausalLM and MistralForCausalLM on Model Runner V2 by default as well as
Qwen3ForCausalLM (rule v2_model_runner_architectures) and gates the fused all-reduce + RMSNorm
pass on pp 1 again (rule allreduce_rms_fusion). The rewritten Triton top-k/top-p kernel allocates
nothing of its own, and the FlashInfer 0.6.12 sampler is 0.6.11.post2's; every figure below is
worked out from the 0.23.0 wheel's source (FINDINGS_h28_v23.md has the rule-by-rule reading)."""

from __future__ import annotations


import json

import pytest

from helpers import capacity_json as _plan, cli, one_line_error, pool_figures as _figures, toy_spec

from kvplan.engines import get_engine
from kvplan.errors import BadInputError
from kvplan.gpus import get_gpu

ESTIMATE = ("kvplan: error: vllm==0.23.0 subtracts a CUDA-graph memory estimate from the KV pool "
            "(VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS=1 by default from 0.20.0), measured by trial graph captures "
            "that kvplan does not predict; plan it eager (kvplan capacity --enforce-eager, or --enforce-eager in a "
            "--from-vllm command or a plan's from_vllm) or with VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS=0 in front "
            "of one, or use --engine vllm==0.19.1")
V2 = ("kvplan: error: vllm==0.23.0 runs {arch} ({model}) on Model Runner V2 (vllm/v1/worker/gpu/), whose profile "
      "run kvplan does not model, by default (vllm/config/vllm.py DEFAULT_V2_MODEL_RUNNER_ARCHITECTURES; V1 only for "
      "a checkpoint with a quantization_config or a feature V2 lacks); plan it with VLLM_USE_V2_MODEL_RUNNER=0 in "
      "front of a --from-vllm command, or use --engine vllm=={earlier}")


def test_gemma3_27b_h100_eager(capsys):
    """`kvplan capacity gemma3-27b --gpu h100 --engine vllm==0.23.0 --enforce-eager`
    (Gemma3ForConditionalGeneration: not in DEFAULT_V2_MODEL_RUNNER_ARCHITECTURES, vllm/config/vllm.py
    :69-75, so V1), by hand from the 0.23.0 wheel:

    - requested: 85,029,027,840 B x 0.92 (config/cache.py :67), math.ceil (v1/worker/utils.py
      request_memory :410) = 78,226,705,613.
    - weights: 27,432,406,640 parameters x 2 B + the rotary caches (131,072 x 8 global + 131,072
      local rows) x 128 x 2 B = 55,166,803,168
      (gemma3.py, gemma3_mm.py, siglip.py change only load_weights; rotary_embedding base.py only
      ROCm AITER branches).
    - activation, the sampler binds (profile_run :6168-6241, _dummy_sampler_run :5974-6079 and
      Sampler.forward / sample AST-identical to 0.22.1): S = min(1,024, 8,192) rows x 262,208 logits
      x (2 bf16 + 4 fp32 copy + 4 softmax + 4 exponential noise q, float32 with use_fp64_gumbel False:
      topk_topp_sampler.py random_sample :435-457, empty_exponential_noise_like :419-423) =
      3,759,013,888; the Triton buffer, apply_top_k_top_p_triton :913-915, min(next_pow2(min(132 SMs,
      1,024)), 132) = 132 rows x 262,208 x 4 = 138,445,824 (the new _topk_topp_kernel :94-853 stores
      only to the logits and that buffer); hidden states alive 8,192 x 5,376 x 2 = 88,080,384;
      workspace 49 MiB = 51,380,224; the first, FlashInfer sampler call (forward_cuda,
      flashinfer_sampler_supported :21-67 on 9.0): flashinfer-python 0.6.12's row-state buffer 1 MiB =
      1,048,576 (sampling.py identical to 0.6.11.post2's) and its sampled ids int32 [1,024, 1] =
      4,096 B: 4,037,972,992. The forward, 8,192 x 2 x (6.7 x 5,376 + 3 x 21,504) = 1,647,103,180,
      is smaller.
    - non-torch 268,435,456 (fit, inherited; the default device communicators unchanged).
    - pool 78,226,705,613 - 55,166,803,168 - 4,037,972,992 - 268,435,456 = 18,753,493,997
      (determine_available_memory :372-524 AST-identical; cudagraph_mode NONE under eager).
    - pages 16 x 16 heads x (128 + 128) x 2 B = 131,072; 52 window + 10 full layers in 1 + 6 groups
      of 10 (8 padding layers), unit 10 x 131,072 = 1,310,720 B (kv_cache_utils.py
      _get_kv_cache_groups_uniform_page_size :1074-1193 AST-identical): 14,307 blocks; a
      131,072-token request 8,192 + 6 x 577 = 11,654 blocks; "GPU KV cache size"
      int(14,307 / 11,654 x 131,072) = 160,910 (_report_kv_cache_config :1720-1749)."""
    got = _plan(capsys, "gemma3-27b", "--engine", "vllm==0.23.0", "--enforce-eager")
    assert _figures(got) == (55_166_803_168, 4_037_972_992, 268_435_456, 78_226_705_613, 18_753_493_997,
                             14_307, 160_910)
    assert (got["blocks_per_request"], got["padding_layers"], got["block_size"]) == (11_654, 8, 16)
    assert _figures(_plan(capsys, "gemma3-27b", "--engine", "vllm==0.22.1", "--enforce-eager")) == _figures(got)


def test_estimate_off_by_environment_plans_the_same(capsys):
    """VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS=0 (envs.py :1978-1980): measured, not subtracted."""
    got = _plan(capsys, "--engine", "vllm==0.23.0", "--from-vllm",
                "VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS=0 vllm serve google/gemma-3-27b-it")
    assert (got["kv_pool_bytes"], got["num_blocks"], got["kv_cache_tokens"]) == (18_753_493_997, 14_307, 160_910)


def test_default_graphs_refused(capsys):
    code, out, err = cli(capsys, "capacity", "gemma3-27b", "--gpu", "h100", "--engine", "vllm==0.23.0")
    assert code == 2 and out == ""
    assert err.strip() == ESTIMATE


@pytest.mark.parametrize("model, arch, earlier", [
    ("llama3.1-8b", "LlamaForCausalLM", "0.22.1"), ("llama3.1-70b", "LlamaForCausalLM", "0.22.1"),
    ("mistral-7b", "MistralForCausalLM", "0.22.1"), ("qwen3-8b", "Qwen3ForCausalLM", "0.21.0")])
def test_model_runner_v2_architectures_refused(capsys, model, arch, earlier):
    """vllm/config/vllm.py (0.23.0) DEFAULT_V2_MODEL_RUNNER_ARCHITECTURES = {LlamaForCausalLM,
    MistralForCausalLM, Qwen3ForCausalLM} (:69-75): V2 for a dense, unquantized checkpoint; the way
    out names the newest release that runs the architecture on V1."""
    code, out, err = cli(capsys, "capacity", model, "--gpu", "h100", "--engine", "vllm==0.23.0", "--enforce-eager")
    assert code == 2 and out == ""
    assert one_line_error(err) == V2.format(arch=arch, model=model, earlier=earlier)
    # 0.22.1 ran Llama and Mistral on V1 (planned: exit 0, or 1 where the model does not fit one H100)
    code, out, err = cli(capsys, "capacity", model, "--gpu", "h100", "--engine", "vllm==0.22.1", "--enforce-eager")
    assert (code != 2) is (arch != "Qwen3ForCausalLM")


def test_llama_on_v1_with_the_variable_off(capsys):
    """`VLLM_USE_V2_MODEL_RUNNER=0` (envs.py :1921-1923, read first by VllmConfig.use_v2_model_runner
    :519-542) keeps Llama-3.1-8B on V1, planned as 0.22.1 (tests/test_vllm_0_22.py derives it):
    weights 8,030,261,248 x 2 + 131,072 x 128 x 2 = 16,094,076,928; sampler 1,024 x 128,256 x 14 =
    1,838,690,304 + 132 x 128,256 x 4 = 67,719,168 + 8,192 x 4,096 x 2 = 67,108,864 + 51,380,224 +
    1,048,576 + 4,096 = 2,025,938,944; pool 78,226,705,613 - 16,094,076,928 - 2,025,938,944 - 268,435,456
    = 59,838,254,285; page 16 x 8 x 256 x 2 x 32 = 2,097,152: 28,533 blocks; int(28,533 / 8,192 x
    131,072) = 456,528 tokens."""
    got = _plan(capsys, "--engine", "vllm==0.23.0", "--from-vllm",
                "VLLM_USE_V2_MODEL_RUNNER=0 vllm serve meta-llama/Llama-3.1-8B --enforce-eager")
    assert _figures(got) == (16_094_076_928, 2_025_938_944, 268_435_456, 78_226_705_613, 59_838_254_285,
                             28_533, 456_528)
    assert _figures(_plan(capsys, "llama3.1-8b", "--engine", "vllm==0.22.1", "--enforce-eager")) == _figures(got)


def test_v2_forced_by_the_variable_is_refused(capsys):
    code, out, err = cli(capsys, "capacity", "--gpu", "h100", "--engine", "vllm==0.23.0", "--from-vllm",
                         "VLLM_USE_V2_MODEL_RUNNER=1 vllm serve google/gemma-3-27b-it --enforce-eager")
    assert code == 2 and out == ""
    assert one_line_error(err) == ("kvplan: error: VLLM_USE_V2_MODEL_RUNNER=1: vllm==0.23.0 runs Model Runner V2 "
                                   "(vllm/v1/worker/gpu/), whose profile run kvplan does not model; plan without it")


def test_a_spec_without_an_architecture_is_refused():
    from kvplan.capacity import make_request

    with pytest.raises(BadInputError, match=r"^toy names no architecture, and vllm==0\.23\.0 runs LlamaForCausalLM, "
                                            r"MistralForCausalLM, Qwen3ForCausalLM on Model Runner V2 .*or use "
                                            r"--engine vllm==0\.21\.0$"):
        make_request(toy_spec(), "h100", engine=get_engine("vllm==0.23.0", enforce_eager=True))


def test_fp64_gumbel_refused(capsys):
    """--use-fp64-gumbel (new in 0.23.0, vllm/config/model.py :237): float64 exponential noise
    (empty_exponential_noise_like) and forward_cuda handing FlashInfer's call to forward_native:
    another sampler peak, not modelled."""
    code, out, err = cli(capsys, "capacity", "--gpu", "h100", "--engine", "vllm==0.23.0", "--from-vllm",
                         "vllm serve google/gemma-3-27b-it --enforce-eager --use-fp64-gumbel")
    assert code == 2 and out == ""
    assert one_line_error(err) == ("kvplan: error: --use-fp64-gumbel: float64 sampling noise changes the profile "
                                   "run's sampler peak (not modelled)")


def test_allreduce_rms_fusion_needs_pp_1_again():
    """enable_allreduce_rms_fusion (0.23.0 vllm/config/vllm.py :129-156) tests
    pipeline_parallel_size == 1, which 0.21.0-0.22.1 did not; still no data_parallel_size test."""
    h100, new, old = get_gpu("h100"), get_engine("vllm==0.23.0"), get_engine("vllm==0.22.1")
    assert new.allreduce_rms_fusion(h100, tp=2).max_bytes == old.allreduce_rms_fusion(h100, tp=2).max_bytes == 64 << 20
    assert old.allreduce_rms_fusion(h100, tp=2, pp=2).on
    off = new.allreduce_rms_fusion(h100, tp=2, pp=2)
    assert not off.on and off.source == ("vLLM 0.23.0 default at O2: off for tp 2, dp 1, pp 2, CC 9.0 (on at tp > 1, "
                                         "pp 1 on CC 9.0 or 10.x)")
    assert new.allreduce_rms_fusion(h100, tp=2, dp=2).on


def test_moe_planned_and_speculative_stays_refused(capsys):
    # 0.23.0 puts TRITON before FlashInfer on Hopper (oracle/unquantized.py :71-76): TritonExperts' kept
    # 2 x 8,192 x 8 x 2,048 x 2 = 536,870,912 B on the sampler's 2,344,364,032 (FINDINGS_h29_moe20.md)
    code, out, err = cli(capsys, "capacity", "qwen3-30b-a3b", "--gpu", "h100", "--engine", "vllm==0.23.0",
                         "--enforce-eager", "--json")
    assert code == 0 and json.loads(out)["activation_bytes"] == 2_881_234_944
    code, out, err = cli(capsys, "capacity", "--gpu", "h100", "--engine", "vllm==0.23.0", "--from-vllm",
                         "VLLM_USE_V2_MODEL_RUNNER=0 vllm serve meta-llama/Llama-3.1-70B -tp 4 --enforce-eager "
                         "--speculative-config "
                         "'{\"model\": \"meta-llama/Llama-3.2-1B\", \"num_speculative_tokens\": 4}'")
    assert code == 2 and "speculative decoding on vllm==0.23.0: its drafter code" in one_line_error(err)
