"""vLLM 0.26.0, read against 0.25.0 (FINDINGS_h30_v26.md): planned as 0.25.x is (eager, or the
CUDA-graph estimate off; full-attention, sliding-window and chunked-local layers; models kvplan can
put on the V1 model runner, VLLM_USE_V2_MODEL_RUNNER=0 for every model without experts or
state-space layers). The memory path (Worker.determine_available_memory, profile_run,
_dummy_sampler_run; _dummy_run adds decode-context-parallel metadata only), the sampler (the Triton
top-k/top-p buffer is float32 whatever the logits, which are float32; FlashInfer 0.6.14's new fast
path takes a Python int top_k, vLLM passes a tensor) and the pages are unchanged, so weights,
activation, pool and blocks equal 0.25.0's. What changes:

- SlidingWindowSpec / ChunkedLocalAttentionSpec size a request with VllmConfig.max_in_flight_tokens,
  max_concurrent_batches (2 with async scheduling at pp 1 on V1, else pp) x max_num_batched_tokens
  (rule window_in_flight_tokens): Gemma 3's window layers reserve 1,089 blocks, not 577, so the
  "GPU KV cache size" tokens fall and the default 131,072-token Gemma-3-27B no longer fits an H100;
- the CUDA-graph estimate is measured and subtracted on ROCm too (rule cudagraph_estimate_on_amd);
- the MLA layer was reorganised (rule mla_forward_read: read, planned as 0.25.1 for the MLA shapes its
  FlashAttention prefill takes, rule mla_prefill_dimensions; tests/test_vllm_0_26_moe.py);
- DEFAULT_V2_MODEL_RUNNER_ARCHITECTURES adds InklingForCausalLM, InklingForConditionalGeneration and
  LongcatFlashNgramForCausalLM.
Each figure test asserts the 0.26.0 figure and the 0.25.0 one beside it."""

from __future__ import annotations

import pytest

from helpers import capacity_json as _plan, cli, one_line_error, pool_figures as _figures

from kvplan.engines import get_engine
from kvplan.errors import BadInputError
from kvplan.gpus import get_gpu
from kvplan.loader import load_model as load_spec

GEMMA = "VLLM_USE_V2_MODEL_RUNNER=0 vllm serve google/gemma-3-27b-it --enforce-eager"
GEMMA_32K = GEMMA + " --max-model-len 32768"
LLAMA = "VLLM_USE_V2_MODEL_RUNNER=0 vllm serve meta-llama/Llama-3.1-8B --enforce-eager"
#: Gemma-3-27B on an H100, eager: weights, activation, other, engine share, pool -- as 0.25.0
GEMMA_BUDGET = (55_166_803_168, 4_037_972_992, 268_435_456, 78_226_705_613, 18_753_493_997)


def _window(got: dict) -> tuple:
    return got["num_blocks"], got["blocks_per_request"], got["kv_cache_tokens"]


def test_gemma3_27b_window_layers_reserve_two_steps(capsys):
    """At max_model_len 32,768 a request needs 2,048 full-attention blocks plus, in each of the six
    sliding-window groups, cdiv(min(1,023 + 2 x 8,192, 32,768), 16) + 1 = 1,089 blocks (0.25.0:
    cdiv(1,023 + 8,192, 16) + 1 = 577): 8,582 blocks a request, not 5,510; the pool (14,307 blocks) is
    0.25.0's, so "GPU KV cache size" is int(14,307 / 8,582 x 32,768) = 54,627 tokens, not 85,083."""
    new = _plan(capsys, "--engine", "vllm==0.26.0", "--from-vllm", GEMMA_32K)
    old = _plan(capsys, "--engine", "vllm==0.25.0", "--from-vllm", GEMMA_32K)
    assert _figures(new)[:5] == _figures(old)[:5] == GEMMA_BUDGET
    assert _window(new) == (14_307, 8_582, 54_627)
    assert _window(old) == (14_307, 5_510, 85_083)


def test_gemma3_27b_at_its_own_length_no_longer_fits(capsys):
    """At the config's 131,072 tokens one request needs 8,192 + 6 x 1,089 = 14,726 blocks, more than
    the 14,307 the pool holds: vLLM 0.26.0 refuses to start (check_enough_kv_cache_memory takes the same
    max_memory_usage_bytes); 0.25.0 plans 11,654 blocks a request, 160,910 tokens."""
    code, out, err = cli(capsys, "capacity", "--gpu", "h100", "--engine", "vllm==0.26.0", "--from-vllm", GEMMA)
    assert code == 1 and "gemma-3-27b-it on 1 x h100-sxm under vllm==0.26.0" in out
    assert err.startswith("kvplan: does not fit: 1 request of 131,072 tokens need 14,726 blocks but the pool holds "
                          "14,307 (127,342 tokens); vllm==0.26.0 refuses to start: one request of max_model_len "
                          "131,072 needs 19,301,662,720 B of KV cache, more than the 18,753,493,997 B available")
    old = _plan(capsys, "--engine", "vllm==0.25.0", "--from-vllm", GEMMA)
    assert _figures(old) == GEMMA_BUDGET + (14_307, 160_910) and old["blocks_per_request"] == 11_654


@pytest.mark.parametrize("extra", ["--no-async-scheduling", "--distributed-executor-backend ray"])
def test_without_async_scheduling_one_step_as_0_25_0(capsys, extra):
    """max_concurrent_batches is pp (1) without async scheduling: --no-async-scheduling, or the ray
    executor (no supports_async_scheduling, so VllmConfig.__post_init__ turns the default off)."""
    new = _plan(capsys, "--engine", "vllm==0.26.0", "--from-vllm", f"{GEMMA} {extra}")
    assert _figures(new) == GEMMA_BUDGET + (14_307, 160_910) and new["blocks_per_request"] == 11_654


@pytest.mark.parametrize("extra", ["", " --no-async-scheduling"])
def test_pipeline_parallel_reserves_pp_steps(capsys, extra):
    """At pp 2 the V1 runner keeps pp concurrent batches with or without async scheduling
    (VllmConfig.max_concurrent_batches): 8,582 blocks a request, as async at pp 1; 0.25.0: 5,510."""
    cmd = GEMMA_32K + " --pipeline-parallel-size 2" + extra
    new = _plan(capsys, "--engine", "vllm==0.26.0", "--from-vllm", cmd)
    old = _plan(capsys, "--engine", "vllm==0.25.0", "--from-vllm", cmd)
    assert _window(new) == (68_994, 8_582, 263_434)
    assert _window(old) == (68_994, 5_510, 410_307)


def test_async_scheduling_on_ray_refused(capsys):
    code, out, err = cli(capsys, "capacity", "--gpu", "h100", "--engine", "vllm==0.26.0", "--from-vllm",
                         GEMMA_32K + " --async-scheduling --distributed-executor-backend ray")
    assert code == 2 and out == ""
    assert err.splitlines()[-1] == ("kvplan: error: --async-scheduling with --distributed-executor-backend ray: "
                                   "vllm==0.26.0 refuses it (only the mp and uni executors support async scheduling)")


def test_window_tokens_with_speculative_decoding_left_to_the_default_refused():
    """Whether async scheduling is on depends on the speculative method (VllmConfig.__post_init__);
    a full-attention model does not ask."""
    gemma, llama = load_spec("gemma3-27b"), load_spec("llama3.1-8b")
    engine = get_engine("vllm==0.26.0")
    settings = engine.settings(get_gpu("h100"))
    assert settings.max_num_batched_tokens == 8_192
    with pytest.raises(BadInputError, match=r"^vllm==0\.26\.0 with speculative decoding: whether async scheduling "):
        engine.window_tokens(gemma, settings, speculative=object())
    assert engine.window_tokens(llama, settings, speculative=object()) == 8_192
    assert engine.window_tokens(gemma, settings) == 16_384
    assert get_engine("vllm==0.26.0", async_scheduling=False).window_tokens(gemma, settings, object()) == 8_192
    assert get_engine("vllm==0.25.1").window_tokens(gemma, settings, speculative=object()) == 8_192


def test_llama_on_v1_as_0_25_0(capsys):
    """Full attention only: weights 16,094,076,928, activation 2,025,938,944, pool 59,838,254,285:
    28,533 blocks, 456,528 tokens, as 0.25.0."""
    new = _plan(capsys, "--engine", "vllm==0.26.0", "--from-vllm", LLAMA)
    assert _figures(new) == (16_094_076_928, 2_025_938_944, 268_435_456, 78_226_705_613, 59_838_254_285,
                             28_533, 456_528)
    assert _figures(_plan(capsys, "--engine", "vllm==0.25.0", "--from-vllm", LLAMA)) == _figures(new)


def test_dense_models_still_run_v2_by_default(capsys):
    # planned there from h31-v2run (rule v2_runner_memory; figures in tests/test_vllm_v2_runner.py)
    code, out, err = cli(capsys, "capacity", "gemma3-27b", "--gpu", "h100", "--engine", "vllm==0.26.0",
                         "--enforce-eager")
    assert code == 0 and get_engine("vllm==0.26.0").runs_v2(load_spec("gemma3-27b"))


def test_model_runner_rules_by_release():
    new, old = get_engine("vllm==0.26.0"), get_engine("vllm==0.25.1")
    assert new.rule("v2_model_runner_dense") and old.rule("v2_model_runner_dense")
    assert new.rule("v2_model_runner_architectures") == (
        "DeepseekV2ForCausalLM", "GraniteMoeForCausalLM", "InklingForCausalLM", "InklingForConditionalGeneration",
        "LongcatFlashNgramForCausalLM", "Qwen2MoeForCausalLM")
    assert old.rule("v2_model_runner_architectures") == (
        "DeepseekV2ForCausalLM", "GraniteMoeForCausalLM", "Qwen2MoeForCausalLM")
    assert (new.rule("window_in_flight_tokens"), old.rule("window_in_flight_tokens")) == ("in_flight", None)


def test_cuda_graph_estimate_on_amd(capsys):
    """0.26.0 measures (and subtracts) the CUDA-graph estimate on ROCm too (gpu_worker.py
    'current_platform.is_cuda_alike()'): an MI300X with graphs is refused; 0.25.0 plans it (81,750
    blocks), and so does 0.26.0 with VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS=0."""
    graphs = "VLLM_USE_V2_MODEL_RUNNER=0 vllm serve meta-llama/Llama-3.1-8B"
    code, out, err = cli(capsys, "capacity", "--gpu", "mi300x", "--engine", "vllm==0.26.0", "--from-vllm", graphs)
    assert code == 2 and out == ""
    line = one_line_error(err)
    assert "(on AMD GPUs too from 0.26.0: gpu_worker.py 'current_platform.is_cuda_alike()')" in line
    assert line.endswith("or use --engine vllm==0.25.1 (which measures it on CUDA only)")
    old = _plan(capsys, "--gpu", "mi300x", "--engine", "vllm==0.25.0", "--from-vllm", graphs)
    off = _plan(capsys, "--gpu", "mi300x", "--engine", "vllm==0.26.0", "--from-vllm",
                "VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS=0 " + graphs)
    assert (old["num_blocks"], old["kv_cache_tokens"]) == (off["num_blocks"], off["kv_cache_tokens"]) == (81_750,
                                                                                                         1_308_000)


def test_sampler_rules_hold():
    new, old = get_engine("vllm==0.26.0"), get_engine("vllm==0.25.1")
    for rule in ("sampler_top_k_top_p", "sampler_flashinfer_first_bytes"):
        assert new.rule(rule) == old.rule(rule)
    assert "flashinfer-python==0.6.14" in new.rules()["sampler_flashinfer_first_bytes"].source


def test_engine_models_spans():
    import json
    from importlib.resources import files

    archs = json.loads(files("kvplan.data").joinpath("engine_models.json").read_text())["vllm"]["architectures"]
    from kvplan.engines import vllm_rules as R
    from kvplan.engines.base import Release

    at = Release.parse("0.26.0")
    assert sum(1 for spans in archs.values()
               if any(Release.parse(a) <= at <= Release.parse(b) for a, b in spans)) == 352
    newest = R.RELEASES[-1]  # 0.27.0 from h31-v27, 0.27.1, 0.28.0 onwards their registry
    assert archs["LlamaForCausalLM"][-1] == ["0.8.0", newest]
    assert archs["InklingForCausalLM"] == [["0.26.0", newest]]
    assert archs["FuyuForCausalLM"][-1][1] == "0.25.1" and archs["TeleChatForCausalLM"][-1][1] == "0.25.1"


def test_release_table():
    from kvplan.engines import vllm_rules as R

    # 0.27.0 modelled from h31-v27 (tests/test_vllm_0_27.py)
    assert R.RELEASES[-9:-3] == ("0.26.0", "0.27.0", "0.27.1", "0.28.0", "0.29.0", "0.30.0") and R.PUBLISHED_LATER == ()
    for rel in ("0.34.0",):  # 0.27.1 modelled as 0.27.0, 0.28.0-0.33.0 read (tests/test_vllm_0_28.py, _0_29.py, _0_30.py, _0_31.py, _0_32.py, _0_33.py)
        with pytest.raises(BadInputError, match=r"vllm 0\.34\.0 is not a release kvplan knows of \(newer than 0\.33\.0"):
            get_engine(f"vllm=={rel}")


def test_launch_flags_that_reach_the_engine():
    """--async-scheduling / --no-async-scheduling / --distributed-executor-backend (and the LLM(...)
    keywords) become VLLM engine options (vllm_args._WINDOW_FLAGS), with a note, no other effect."""
    from kvplan.vllm_args import parse_vllm

    cmd = parse_vllm("vllm serve google/gemma-3-27b-it --no-async-scheduling --distributed-executor-backend ray")
    assert cmd.engine_options == {"async_scheduling": False, "executor_backend": "ray"} and cmd.options == {}
    assert parse_vllm("vllm serve m --async-scheduling").engine_options == {"async_scheduling": True}
    llm = parse_vllm('LLM("m", async_scheduling=False, distributed_executor_backend="mp")')
    assert llm.engine_options == {"async_scheduling": False, "executor_backend": "mp", "usage_context": "llm"}
    assert any(n.startswith("async_scheduling: kept for vLLM 0.26.0+") for n in llm.notes)
