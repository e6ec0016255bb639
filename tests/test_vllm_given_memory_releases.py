"""What every vLLM release from 0.30.0 plans or refuses alike, one parametrized test per fact (each release's
own file, tests/test_vllm_0_3N.py, keeps what that release changes). Adding a release is one entry in PAIRS.

- The profiled pool is refused: memory_profiling measures the free-memory drop (rule non_kv_from_free_memory;
  FINDINGS_h31_v27.md, unchanged to 0.33.0: FINDINGS_h34_v30..v33).
- Mixture-of-experts and MLA models plan on V1 (VLLM_USE_V2_MODEL_RUNNER=0) as on the previous release; on
  Model Runner V2, the default for every model since 0.29.0 (rule v2_default_all), those of the architectures
  kvplan read (rule v2_moe_mla_architectures, tests/test_vllm_v2_moe.py) plan with V1's blocks, others are
  refused.
- The start-up check holds back the null block (rule null_block_in_check): 8,192 blocks of 2,097,152 B given
  exactly do not start at Llama-3.1-8B's 131,072 tokens; auto-fit gives 131,056.
- The multimodal prefix-LM composite backends take head sizes 256 and 512 only (review h34 F1).
- Dense models on V2 given their KV memory: the previous release's JSON (Llama-3.1-8B 28,948 blocks).
"""

from __future__ import annotations

import json

import pytest

from helpers import HF_FIXTURES, capacity_json as _plan, cli, gemma3_config_with_head_dim, one_line_error

#: (release, the release before it) for every release whose pool is planned from the KV memory given on V2 too
PAIRS = (("0.30.0", "0.29.0"), ("0.31.0", "0.30.0"), ("0.32.0", "0.31.0"))
_NAMES = ("engine", "paging")


def _same_but_names(a: dict, b: dict) -> bool:
    return {k: v for k, v in a.items() if k not in _NAMES} == {k: v for k, v in b.items() if k not in _NAMES}


@pytest.mark.parametrize("release", [new for new, _ in PAIRS] + ["0.33.0"])
@pytest.mark.parametrize("model, arch", [("olmoe-1b-7b-0924", "OlmoeForCausalLM"), ("glm-4.7", "Glm4MoeForCausalLM")])
def test_unread_moe_architectures_refused_on_v2_by_default(capsys, release, model, arch):
    """Qwen3-30B-A3B and DeepSeek-V3 plan on V2 from h35 (tests/test_vllm_v2_moe.py); an MoE architecture whose
    model code kvplan has not read against V1's (rule v2_moe_mla_architectures) stays refused."""
    code, out, err = cli(capsys, "capacity", str(HF_FIXTURES / f"{model}.json"), "--gpu", "h200", "--tp", "8",
                         "--engine", f"vllm=={release}", "--kv-cache-memory-bytes", "20000000000")
    line = one_line_error(err)
    assert code == 2 and out == ""
    assert line.startswith(f"kvplan: error: vllm=={release} runs {model} on Model Runner V2 (vllm/v1/worker/gpu/)")
    assert f"not {arch}, by default" in line and line.endswith("or use --engine vllm==0.28.0")


@pytest.mark.parametrize("new, old", PAIRS)
@pytest.mark.parametrize("gpu, command, blocks, per_request, tokens, weights, activation", [
    ("h100", "vllm serve Qwen/Qwen3-30B-A3B --kv-cache-memory-bytes 14002304205",
     8_902, 2_560, 142_432, 61_074_731_008, 2_881_234_944),
    # 65 sampler rows: above 0.30.0's split top-p threshold (rule topp_split_small_batch)
    ("h100", "vllm serve Qwen/Qwen3-30B-A3B --kv-cache-memory-bytes 14002304205 --max-num-seqs 65",
     8_902, 2_560, 142_432, 61_074_731_008, 838_907_648),
    ("h200", "vllm serve deepseek-ai/DeepSeek-V3 --tensor-parallel-size 8 --kv-cache-memory-bytes 45994277463",
     40_907, 10_240, 654_512, 85_858_369_792, 3_970_539_520),
])
def test_moe_and_mla_on_v1_equal_the_previous_release(capsys, new, old, gpu, command, blocks, per_request, tokens,
                                                       weights, activation):
    got, before = [_plan(capsys, "--gpu", gpu, "--engine", f"vllm=={rel}", "--from-vllm",
                         f"VLLM_USE_V2_MODEL_RUNNER=0 {command}") for rel in (new, old)]
    assert (got["num_blocks"], got["blocks_per_request"], got["kv_cache_tokens"]) == (blocks, per_request, tokens)
    assert (got["weights_bytes"], got["activation_bytes"]) == (weights, activation)
    assert _same_but_names(got, before)


@pytest.mark.parametrize("release", [new for new, _ in PAIRS])
def test_profiled_pool_refused(capsys, release):
    code, out, err = cli(capsys, "capacity", "llama3.1-8b", "--gpu", "h100", "--engine", f"vllm=={release}")
    line = one_line_error(err)
    assert code == 2 and out == ""
    assert f"vllm=={release} measures the memory that is not KV cache" in line and "memory_profiling" in line


@pytest.mark.parametrize("release", [new for new, _ in PAIRS])
def test_null_block_held_back_at_start(capsys, release):
    args = ("capacity", "llama3.1-8b", "--gpu", "h100", "--kv-cache-memory-bytes", "17179869184", "--json",
            "--engine", f"vllm=={release}")
    code, out, err = cli(capsys, *args)
    got = json.loads(out)
    assert code == 1 and got["starts"] is False and got["num_blocks"] == 8_192
    assert "more than the 17,177,772,032 B available; the estimated maximum model length is 131,056" in err
    code, out, err = cli(capsys, *args, "--max-model-len", "auto")
    assert code == 0 and json.loads(out)["max_model_len"] == 131_056


@pytest.mark.parametrize("new, old", PAIRS)
def test_mm_prefix_composite_only_for_head_256_and_512(capsys, tmp_path, new, old):
    """Gemma-3-27B (head 128) on a B200 plans as on the previous release (16,131 blocks, 14,342 a request);
    gemma-3-4b-it's config with head_dim 512 is refused there (TRITON_FLASHINFER; head 256 is refused earlier,
    by the FlashAttention 4 block rule)."""
    got, before = [_plan(capsys, "gemma3-27b", "--gpu", "b200", "--max-model-len", "32768",
                         "--kv-cache-memory-bytes", "21144363809", "--engine", f"vllm=={rel}") for rel in (new, old)]
    assert (got["num_blocks"], got["blocks_per_request"]) == (16_131, 14_342) and _same_but_names(got, before)
    path = gemma3_config_with_head_dim(tmp_path, 512)
    code, out, err = cli(capsys, "capacity", path, "--gpu", "b200", "--kv-cache-memory-bytes", "10000000000",
                         "--engine", f"vllm=={new}")
    line = one_line_error(err)
    assert code == 2 and out == "" and "(Gemma3ForConditionalGeneration) is a multimodal prefix-LM model" in line
    assert "TRITON_FLASHINFER" in line and line.endswith("use --engine vllm==0.29.0")


@pytest.mark.parametrize("new, old", PAIRS)
@pytest.mark.parametrize("args, blocks, per_request, tokens", [
    # Llama-3.1-8B on V2
    (("llama3.1-8b", "--gpu", "h100", "--kv-cache-memory-bytes", "60709920769"), 28_948, 8_192, 463_168),
    # Gemma-3-27B at 32,768 tokens on an H100 (9.0: FlashAttention 3, no composite backend at head 128)
    (("gemma3-27b", "--gpu", "h100", "--max-model-len", "32768", "--kv-cache-memory-bytes", "21144363809"),
     16_131, 8_582, 61_591),
    # Gemma-3-4B (head 256) on an H100: window blocks of 16
    (("gemma3-4b", "--gpu", "h100", "--kv-cache-memory-bytes", "10000000000"), 30_517, 14_726, 271_623),
    # Llama-3.1-8B on a B200
    (("llama3.1-8b", "--gpu", "b200", "--kv-cache-memory-bytes", "60709920769"), 28_948, 8_192, 463_168),
])
def test_dense_plans_equal_the_previous_release(capsys, new, old, args, blocks, per_request, tokens):
    got, before = [_plan(capsys, *args, "--engine", f"vllm=={rel}") for rel in (new, old)]
    assert (got["num_blocks"], got["blocks_per_request"], got["kv_cache_tokens"]) == (blocks, per_request, tokens)
    assert got["engine"] == f"vllm=={new}" and _same_but_names(got, before)


@pytest.mark.parametrize("release", [new for new, _ in PAIRS])
def test_llama_figures_beside_the_blocks(capsys, release):
    got = _plan(capsys, "llama3.1-8b", "--gpu", "h100", "--engine", f"vllm=={release}",
                "--kv-cache-memory-bytes", "60709920769")
    assert (got["weights_bytes"], got["activation_bytes"], got["kv_pool_bytes"]) == (
        16_094_076_928, 1_154_272_460, 60_709_920_769)
