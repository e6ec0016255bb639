"""Model Runner V2 (vllm/v1/worker/gpu/) on vLLM 0.25.0, 0.25.1 and 0.26.0: the default runner of every
model without experts or state-space layers there (rule v2_model_runner_dense), planned from h31-v2run
(rule v2_runner_memory; docs/findings/FINDINGS_h31_v2run.md). What differs from the V1 runner kvplan
models: the dummy sampler samples with the SamplingStates defaults (no top-k/top-p path, no Triton
buffer), from the gathered hidden states themselves (no rand_like copy), with a float32 copy of the
logits on 0.25.x and none on 0.26.0, plus gumbel_sample's two [S, cdiv(vocab, 1024)] buffers; no
CUDA-graph estimate (profile_cudagraph_memory returns 0); a later pipeline stage's intermediate tensors
are allocated before the profile. The profile forward, the weights, the non-torch memory and the KV
pages are the V1 runner's."""

from __future__ import annotations

import json

import pytest

from helpers import capacity_json as _plan, cli, one_line_error, pool_figures as _figures

from kvplan.engines import get_engine
from kvplan.gpus import get_gpu
from kvplan.loader import load_model

RELEASES = ("0.25.0", "0.25.1", "0.26.0")
LLAMA_V1 = "VLLM_USE_V2_MODEL_RUNNER=0 vllm serve meta-llama/Llama-3.1-8B-Instruct --enforce-eager"
GEMMA_V1 = "VLLM_USE_V2_MODEL_RUNNER=0 vllm serve google/gemma-3-27b-it --enforce-eager"
# (weights, activation, non-torch, requested, pool, blocks, tokens) on an H100 SXM (85,029,027,840 B x 0.92)
LLAMA_V2 = (16_094_076_928, 1_154_272_460, 268_435_456, 78_226_705_613, 60_709_920_769, 28_948, 463_168)
LLAMA_ON_V1 = (16_094_076_928, 2_025_938_944, 268_435_456, 78_226_705_613, 59_838_254_285, 28_533, 456_528)


@pytest.mark.parametrize("rel", RELEASES)
def test_llama_8b_plans_on_v2_by_default(capsys, rel):
    """Before h31-v2run: exit 2 (Model Runner V2 not modelled). V2's dummy sampler holds 899,699,200 B on
    0.25.x (1,024 x 128,256 logits x (2 + 4 float32 copy) + gumbel 1,564,672 + 29,184 + 49 MiB - 8 MiB +
    the 67,108,864 B forward output) and 374,362,624 B on 0.26.0, both below the profile forward's
    1,154,272,460 B, which binds: 28,948 blocks, 415 more than the V1 runner's 28,533 (whose sampler,
    2,025,938,944 B with the Triton top-k/top-p path, binds). The flags and the variable set to 1 plan
    the same; without --enforce-eager too (V2 subtracts no CUDA-graph estimate)."""
    v2 = _plan(capsys, "llama3.1-8b", "--gpu", "h100", "--engine", f"vllm=={rel}", "--enforce-eager")
    assert _figures(v2) == LLAMA_V2
    assert (v2["kv_cache_tokens"], v2["max_concurrency"], v2["notes"]) == (463_168, 3.53, [])
    assert _figures(_plan(capsys, "--gpu", "h100", "--engine", f"vllm=={rel}", "--from-vllm", LLAMA_V1)) == LLAMA_ON_V1
    forced = "VLLM_USE_V2_MODEL_RUNNER=1 vllm serve meta-llama/Llama-3.1-8B-Instruct --enforce-eager"
    assert _figures(_plan(capsys, "--gpu", "h100", "--engine", f"vllm=={rel}", "--from-vllm", forced)) == LLAMA_V2
    assert _figures(_plan(capsys, "llama3.1-8b", "--gpu", "h100", "--engine", f"vllm=={rel}")) == LLAMA_V2
    spec, gpu = load_model("llama3.1-8b"), get_gpu("h100")
    engine = get_engine(f"vllm=={rel}")
    assert engine.v2_sampler_bytes(spec, engine.settings(gpu, spec=spec)) == (
        374_362_624 if rel == "0.26.0" else 899_699_200)


@pytest.mark.parametrize("rel, activation, pool, blocks, tokens, per_request", [
    ("0.25.0", 1_742_660_096, 21_048_806_893, 16_058, 180_603, 11_654),
    ("0.25.1", 1_742_660_096, 21_048_806_893, 16_058, 180_603, 11_654),
    ("0.26.0", 1_647_103_180, 21_144_363_809, 16_131, 143_577, 14_726),
])
def test_gemma3_27b_sliding_window_on_v2(capsys, rel, activation, pool, blocks, tokens, per_request):
    """Gemma-3-27B (52 window + 10 full layers, vocab 262,208): on 0.25.x V2's sampler binds (1,024 x
    262,208 x 6 + gumbel 1,024 x 257 x 12 + 2,048 x 8 + 29,184 + 49 MiB - 1,024 x 5,376 x 2 + 8,192 x
    5,376 x 2 = 1,742,660,096 B); on 0.26.0 (no float32 copy) the forward's 1,647,103,180 B. The V1
    runner's 4,037,972,992 B leaves 14,307 blocks; V2 16,058 / 16,131 -- on 0.26.0 enough for one
    request of 131,072 tokens (14,726 blocks with two steps in flight), which V1 cannot start."""
    got = _plan(capsys, "gemma3-27b", "--gpu", "h100", "--engine", f"vllm=={rel}", "--enforce-eager")
    assert _figures(got) == (55_166_803_168, activation, 268_435_456, 78_226_705_613, pool, blocks, tokens)
    assert (got["blocks_per_request"], got["fits"]) == (per_request, True)
    code, out, _ = cli(capsys, "capacity", "--gpu", "h100", "--engine", f"vllm=={rel}", "--from-vllm", GEMMA_V1,
                       "--json")
    v1 = json.loads(out)
    assert (v1["activation_bytes"], v1["num_blocks"], code) == (4_037_972_992, 14_307, 1 if rel == "0.26.0" else 0)


@pytest.mark.parametrize("rel", RELEASES)
def test_qwen3_8b_and_llama_70b_tp4_on_v2(capsys, rel):
    """Qwen3-8B and Llama-3.1-70B at tp 4 are bound by the profile forward on V2, 1,053,609,164 and
    1,251,580,313 B (the 70B's MLP width splits 4 ways), where the V1 runner's sampler binds
    (2,377,918,464 B for Qwen3-8B, vocab 151,936)."""
    qwen = _plan(capsys, "qwen3-8b", "--gpu", "h100", "--engine", f"vllm=={rel}", "--enforce-eager")
    assert _figures(qwen) == (16_391_956_480, 1_053_609_164, 268_435_456, 78_226_705_613, 60_512_704_513,
                              25_648, 410_368)
    big = _plan(capsys, "llama3.1-70b", "--gpu", "h100", "--tp", "4", "--engine", f"vllm=={rel}", "--enforce-eager")
    assert _figures(big) == (35_312_386_048, 1_251_580_313, 2_287_070_085, 78_226_705_613, 39_375_669_167,
                             30_041, 480_656)


@pytest.mark.parametrize("rel", RELEASES)
def test_a_later_pipeline_stage_holds_no_received_tensors_in_the_peak(capsys, rel):
    """V2 allocates a later stage's intermediate tensors in load_model (model_runner.py 0.25.0 :361-372),
    before the profile; V1 in _dummy_run during it (gpu_model_runner.py 0.25.0 :5976-5977), so its stage 1
    adds 2 x 8,192 x 4,096 x 2 B to the forward and ends its sampler at 2,160,156,672 B."""
    v2 = _plan(capsys, "llama3.1-8b", "--gpu", "h100", "--pp", "2", "--engine", f"vllm=={rel}", "--enforce-eager")
    assert [s["activation_bytes"] for s in v2["stages"]] == [1_154_272_460, 1_154_272_460]
    assert (v2["num_blocks"], v2["kv_cache_tokens"]) == (65_740, 1_051_840)
    v1 = _plan(capsys, "--gpu", "h100", "--engine", f"vllm=={rel}", "--from-vllm", LLAMA_V1 + " -pp 2")
    assert [s["activation_bytes"] for s in v1["stages"]] == [1_154_272_460, 2_160_156_672]
    assert v1["num_blocks"] == 64_780


def test_window_layers_reserve_pp_plus_one_steps_with_async_on_v2_0_26(capsys):
    """VllmConfig.max_concurrent_batches (0.26.0 :512-522): with async scheduling V2 runs pp + 1 batches
    (V1: pp at pp > 1), so at pp 2 a Gemma-3 window layer reserves 3 x 8,192 tokens: 11,654 blocks a
    request at --max-model-len 32,768 (8,582 without async, as V1); 0.25.1 one step (5,510)."""
    base = ("--gpu", "h100", "--pp", "2", "--max-model-len", "32768", "--enforce-eager")
    on = _plan(capsys, "gemma3-27b", *base, "--engine", "vllm==0.26.0")
    off = _plan(capsys, "--gpu", "h100", "--engine", "vllm==0.26.0", "--from-vllm",
                "vllm serve google/gemma-3-27b-it --enforce-eager -pp 2 --max-model-len 32768 --no-async-scheduling")
    old = _plan(capsys, "gemma3-27b", *base, "--engine", "vllm==0.25.1")
    assert (on["num_blocks"], on["blocks_per_request"], on["kv_cache_tokens"]) == (71_620, 11_654, 201_376)
    assert (off["num_blocks"], off["blocks_per_request"], off["kv_cache_tokens"]) == (71_620, 8_582, 273_461)
    assert (old["num_blocks"], old["blocks_per_request"], old["kv_cache_tokens"]) == (71_620, 5_510, 425_924)


def test_what_stays_refused_on_v2(capsys):
    """AMD (V2 not read on ROCm), an MoE model whose V2 model code is not read forced onto V2, and the V2
    runner of a release before 0.25.0: one line each, exit 2."""
    code, out, err = cli(capsys, "capacity", "llama3.1-8b", "--gpu", "mi300x", "--engine", "vllm==0.25.1",
                         "--enforce-eager")
    assert code == 2 and out == "" and one_line_error(err) == (
        "kvplan: error: vllm==0.25.1 runs llama3.1-8b on Model Runner V2 (vllm/v1/worker/gpu/), whose memory kvplan "
        "has read on CUDA only, not on ROCm; plan it with VLLM_USE_V2_MODEL_RUNNER=0 in front of a --from-vllm "
        "command")
    # the KV memory given skips the profiled pool, not the runner: still refused (0.27.0 the same)
    for release in ("vllm==0.26.0", "vllm==0.27.0"):
        code, out, err = cli(capsys, "capacity", "llama3.1-8b", "--gpu", "mi300x", "--engine", release,
                             "--kv-cache-memory-bytes", "60709920769")
        assert code == 2 and out == "" and "whose memory kvplan has read on CUDA only, not on ROCm" in one_line_error(err)
    # h35 (rule v2_moe_mla_architectures): Qwen3-30B-A3B forced onto V2 is planned there; gpt-oss (an
    # architecture whose V2 model code kvplan has not read) is refused
    code, out, err = cli(capsys, "capacity", "--gpu", "h100", "--engine", "vllm==0.26.0", "--from-vllm",
                         "VLLM_USE_V2_MODEL_RUNNER=1 vllm serve Qwen/Qwen3-30B-A3B --enforce-eager")
    assert code == 0, err
    code, out, err = cli(capsys, "capacity", "--gpu", "h100", "--engine", "vllm==0.26.0", "--from-vllm",
                         "VLLM_USE_V2_MODEL_RUNNER=1 vllm serve openai/gpt-oss-20b --enforce-eager")
    assert code == 2 and one_line_error(err) == (
        "kvplan: error: VLLM_USE_V2_MODEL_RUNNER=1: vllm==0.26.0 runs Model Runner V2 (vllm/v1/worker/gpu/), whose "
        "profile run kvplan has read for models with experts only for DeepseekV2ForCausalLM, DeepseekV3ForCausalLM, "
        "MixtralForCausalLM, Qwen2MoeForCausalLM, Qwen3MoeForCausalLM (the model code read against V1's; rule "
        "v2_moe_mla_architectures), not GptOssForCausalLM; plan without it")
    code, out, err = cli(capsys, "capacity", "--gpu", "h100", "--engine", "vllm==0.24.0", "--from-vllm",
                         "VLLM_USE_V2_MODEL_RUNNER=1 vllm serve google/gemma-3-27b-it --enforce-eager")
    assert code == 2 and "whose profile run kvplan does not model; plan without it" in one_line_error(err)
    # h35: DeepSeek-V2-Lite (experts and MLA, DeepseekV2ForCausalLM) is read on V2; the same spec under an
    # architecture whose model code was not read is not, nor before 0.25.0
    import dataclasses

    lite = load_model("deepseek-v2-lite")
    assert get_engine("vllm==0.25.1").v2_unplanned(lite) is None
    assert get_engine("vllm==0.25.1").v2_unplanned(dataclasses.replace(lite, architecture="MiniCPM3ForCausalLM")) == (
        "whose profile run kvplan has read for models with experts only for DeepseekV2ForCausalLM, "
        "DeepseekV3ForCausalLM, MixtralForCausalLM, Qwen2MoeForCausalLM, Qwen3MoeForCausalLM (the model code read "
        "against V1's; rule v2_moe_mla_architectures), not MiniCPM3ForCausalLM")
    assert get_engine("vllm==0.24.0").v2_unplanned(lite) == "whose profile run kvplan does not model"


def test_v2_runner_rule_by_release():
    # 0.27.0 from h31-v27v2 (tests/test_vllm_0_27_v2.py): no float32 copy for the dummy run's defaults
    # 0.28.0 from h33-v28 (tests/test_vllm_0_28.py): the dummy idx_mapping is int64
    assert [get_engine(f"vllm=={r}").rule("v2_runner_memory") for r in ("0.24.0", *RELEASES, "0.27.0", "0.28.0")] == [
        None, {"fp32_logits_copy": True, "idx_mapping_bytes": 4}, {"fp32_logits_copy": True, "idx_mapping_bytes": 4},
        {"fp32_logits_copy": False, "idx_mapping_bytes": 4}, {"fp32_logits_copy": False, "idx_mapping_bytes": 4},
        {"fp32_logits_copy": False, "idx_mapping_bytes": 8}]
