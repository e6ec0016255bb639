"""vLLM 0.20.0-0.21.0: planned only where the CUDA-graph memory estimate is not subtracted
(rule cudagraph_estimate_subtracted: --enforce-eager, VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS=0,
an AMD GPU), and only for full-attention models (kvplan.paging modelled_kinds); refused with one
line otherwise. Figures derived by hand from the rules (docs/capacity.md, vllm_rules.py)."""

from __future__ import annotations

import json

import pytest

from helpers import cli, one_line_error  # noqa: F401

from kvplan.engines import get_engine
from kvplan.vllm_args import parse_vllm

ESTIMATE = ("kvplan: error: vllm==0.21.0 subtracts a CUDA-graph memory estimate from the KV pool "
            "(VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS=1 by default from 0.20.0), measured by trial graph captures "
            "that kvplan does not predict; plan it eager (kvplan capacity --enforce-eager, or --enforce-eager in a "
            "--from-vllm command or a plan's from_vllm) or with VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS=0 in front "
            "of one, or use --engine vllm==0.19.1")
SERVE = "vllm serve meta-llama/Llama-3.1-8B"


def _plan(capsys, *args):
    code, out, err = cli(capsys, "capacity", "--gpu", "h100", *args, "--json")
    assert code == 0, err
    return json.loads(out)


def test_llama31_8b_h100_0_21_enforce_eager_against_0_19_1(capsys):
    # H100: 85,029,027,840 B (79.19 GiB). Weights 16,094,076,928 and non-torch 268,435,456 (0.25 GiB)
    # as 0.19.1. 0.19.1: activation 2,024,886,272 (the sampler binds), share int(total x 0.9) =
    # 76,526,125,056, pool 58,138,726,400, 58,138,726,400 // (16 x 131,072) = 27,722 blocks, 443,552 tokens.
    old = _plan(capsys, "llama3.1-8b", "--engine", "vllm==0.19.1")
    assert (old["activation_bytes"], old["kv_pool_bytes"], old["num_blocks"], old["kv_cache_tokens"]) == (
        2_024_886_272, 58_138_726_400, 27_722, 443_552)
    # 0.21.0: gpu_memory_utilization 0.92 (int(total x 23 / 25) = 78,226,705,612); the sampler's
    # FlashInfer call leaves its 1 MiB row-state buffer for the native call: 2,024,886,272 + 1,048,576
    # = 2,025,934,848; pool 78,226,705,612 - 16,094,076,928 - 2,025,934,848 - 268,435,456 =
    # 59,838,258,380 -> 28,533 blocks; "GPU KV cache size" int(28,533 / 8,192 x 131,072) = 456,528.
    new = _plan(capsys, "--engine", "vllm==0.21.0", "--from-vllm", SERVE + " --enforce-eager")
    assert (new["weights_bytes"], new["other_bytes"]) == (old["weights_bytes"], old["other_bytes"])
    assert (new["activation_bytes"], new["kv_pool_bytes"], new["num_blocks"], new["kv_cache_tokens"]) == (
        2_025_934_848, 59_838_258_380, 28_533, 456_528)


def test_0_20_0_estimate_off_by_environment(capsys):
    # 0.20.0: no FlashInfer call (VLLM_USE_FLASHINFER_SAMPLER unset is off): activation as 0.19.1,
    # pool 78,226,705,612 - 16,094,076,928 - 2,024,886,272 - 268,435,456 = 59,839,306,956 -> 28,533
    # blocks, 28,533 x 16 = 456,528 tokens (num_blocks // groups x block size, up to 0.20.0)
    got = _plan(capsys, "--engine", "vllm==0.20.0", "--from-vllm",
                "VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS=0 " + SERVE)
    assert (got["activation_bytes"], got["kv_pool_bytes"], got["num_blocks"], got["kv_cache_tokens"]) == (
        2_024_886_272, 59_839_306_956, 28_533, 456_528)


@pytest.mark.parametrize("release", ["0.20.0", "0.20.1", "0.20.2", "0.21.0"])
def test_default_graphs_refused(capsys, release):
    code, out, err = cli(capsys, "capacity", "llama3.1-8b", "--gpu", "h100", "--engine", f"vllm=={release}")
    assert code == 2 and out == ""
    assert err.strip() == ESTIMATE.replace("0.21.0", release)


def test_environment_on_is_refused_too(capsys):
    code, out, err = cli(capsys, "capacity", "--gpu", "h100", "--engine", "vllm==0.21.0", "--from-vllm",
                         "VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS=1 " + SERVE)
    assert code == 2 and err.strip() == ESTIMATE


def test_kv_cache_memory_bytes_needs_no_profile(capsys):
    # gpu_worker.py determine_available_memory returns kv_cache_memory_bytes before profiling
    got = _plan(capsys, "llama3.1-8b", "--engine", "vllm==0.21.0", "--kv-cache-memory-bytes", "32G")
    assert got["num_blocks"] == (32 << 30) // (16 * 131_072)


def test_bare_engine_is_still_0_19_1():
    assert str(get_engine("vllm").release) == "0.19.1"


def test_non_full_attention_refused_on_0_20(capsys):
    code, out, err = cli(capsys, "capacity", "--gpu", "h100", "--engine", "vllm==0.21.0", "--from-vllm",
                         "vllm serve google/gemma-3-27b-it --enforce-eager")
    assert code == 2 and out == ""
    assert "layers are not modelled for this release (kvplan models full_attention layers there)" in err


def test_from_vllm_reads_enforce_eager_and_the_environment():
    cmd = parse_vllm("VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS=0 FOO=1 vllm serve m --enforce-eager")
    assert cmd.engine_options == {"enforce_eager": True, "estimate_cudagraphs": False}
    assert "enforce_eager" not in cmd.options
    assert any(n.startswith("FOO: an environment variable kvplan does not read") for n in cmd.notes)
    assert parse_vllm("LLM(model='m', enforce_eager=True)").engine_options == {"enforce_eager": True,
                                                                               "usage_context": "llm"}


def test_speed_refuses_an_eager_engine():
    """kvplan's speed factors were fitted on CUDA-graph runs: an eager vLLM is refused, not timed."""
    from kvplan.capacity import make_request, plan
    from kvplan.errors import BadInputError
    from kvplan.loader import load_model
    from kvplan.speed import setup

    pool = plan(make_request(load_model("llama3.1-8b"), "h100", engine=get_engine("vllm==0.21.0", enforce_eager=True)))
    assert pool.stages[0].kv_pool_bytes == 59_838_258_380  # planned: the eager pool itself is exact
    with pytest.raises(BadInputError, match="does not model vllm==0.21.0 with --enforce-eager"):
        setup(pool)


def test_kv_dtypes_the_release_takes_but_kvplan_does_not_plan_are_named(capsys):
    """0.20.0 adds turboquant / per-token-head / nvfp4 KV dtypes (vllm/config/cache.py CacheDType):
    refused as not planned by kvplan, not as absent from the release (0.19.1 keeps its wording)."""
    code, out, err = cli(capsys, "capacity", "llama3.1-8b", "--gpu", "h100", "--engine", "vllm==0.21.0",
                         "--kv-dtype", "nvfp4")
    line = one_line_error(err)
    assert code == 2 and out == ""
    assert "kvplan does not plan vllm==0.21.0 with the KV cache as nvfp4" in line
    assert "the page layouts of turboquant_k8v4" in line and "nvfp4 are not read" in line
    code, out, err = cli(capsys, "capacity", "llama3.1-8b", "--gpu", "h100", "--engine", "vllm==0.19.1",
                         "--kv-dtype", "nvfp4")
    assert code == 2 and "vllm==0.19.1 cannot store the KV cache as nvfp4" in one_line_error(err)


def test_enforce_eager_is_an_option_of_capacity(capsys):
    """`--enforce-eager` plans 0.21.0 as `--from-vllm "... --enforce-eager"` does (456,528 tokens on
    an H100 for Llama-3.1-8B); vLLM's option only."""
    code, out, err = cli(capsys, "capacity", "llama3.1-8b", "--gpu", "h100", "--engine", "vllm==0.21.0",
                         "--enforce-eager", "--json")
    assert code == 0, err
    got = json.loads(out)
    assert (got["num_blocks"], got["kv_cache_tokens"]) == (28_533, 456_528)
    code, out, err = cli(capsys, "capacity", "llama3.1-8b", "--gpu", "h100", "--engine", "sglang", "--enforce-eager")
    assert code == 2 and "--enforce-eager is vLLM's option; --engine sglang does not take it" in one_line_error(err)


def test_the_estimate_asked_for_on_an_older_release_is_refused(capsys):
    """VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS=1 on 0.19.1 (gpu_worker.py lines 397, 446 subtract the
    estimate when it is set) was planned as the default pool (review h27b H1): refused now."""
    code, out, err = cli(capsys, "capacity", "--gpu", "h100", "--engine", "vllm==0.19.1", "--from-vllm",
                         "VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS=1 vllm serve meta-llama/Llama-3.1-8B")
    assert code == 2 and out == ""
    assert "VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS=1: vLLM releases that have the variable" in one_line_error(err)
    code, out, err = cli(capsys, "capacity", "--gpu", "h100", "--engine", "vllm==0.19.1", "--from-vllm",
                         "VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS=1 vllm serve meta-llama/Llama-3.1-8B --enforce-eager",
                         "--json")
    assert code == 0 and json.loads(out)["num_blocks"] == 27_722


@pytest.mark.parametrize("flag, command", [
    ("--from-vllm", "VLLM_USE_V2_MODEL_RUNNER=1 vllm serve meta-llama/Llama-3.1-8B"),
    ("--from-vllm", "VLLM_USE_FLASHINFER_SAMPLER=0 vllm serve meta-llama/Llama-3.1-8B"),
    # SGLang 0.5.22 arg_groups/memory_hook.py lines 291-298: 0.830 -> 0.980 with it
    ("--from-sglang", "SGLANG_ENABLE_POST_CAPTURE_KV_SIZING=1 python -m sglang.launch_server "
                      "--model-path meta-llama/Llama-3.1-8B-Instruct"),
])
def test_engine_environment_variables_kvplan_does_not_model_are_refused(capsys, flag, command):
    engine = "sglang==0.5.22" if flag == "--from-sglang" else "vllm==0.19.1"
    code, out, err = cli(capsys, "capacity", "--gpu", "h100", "--engine", engine, flag, command)
    assert code == 2 and out == ""
    assert "an engine environment variable kvplan does not model" in one_line_error(err)


def test_other_environment_variables_are_noted(capsys):
    code, out, err = cli(capsys, "capacity", "--gpu", "h100", "--from-vllm",
                         "CUDA_VISIBLE_DEVICES=0 VLLM_LOGGING_LEVEL=DEBUG vllm serve meta-llama/Llama-3.1-8B")
    assert code == 0
    assert "CUDA_VISIBLE_DEVICES: an environment variable kvplan does not read (ignored)" in err
    assert "VLLM_LOGGING_LEVEL: an environment variable kvplan does not read (ignored)" in err


def test_moe_models_are_refused_on_0_20(capsys):
    """0.20.0 picks unquantized MoE kernels by a new oracle (FlashInfer first; fused_moe/oracle/
    unquantized.py lines 67-72), whose workspaces kvplan has not read (review h27b H2)."""
    code, out, err = cli(capsys, "capacity", "qwen3-30b-a3b", "--gpu", "h100", "--engine", "vllm==0.21.0",
                         "--enforce-eager")
    assert code == 2 and out == ""
    assert "picks qwen3-30b-a3b's mixture-of-experts kernels by a new oracle" in one_line_error(err)
