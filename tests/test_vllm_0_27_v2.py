"""Model Runner V2 (vllm/v1/worker/gpu/) of vLLM 0.27.0, read against 0.26.0 (FINDINGS_h31_v27v2.md).

0.27.0's profiled pool is refused for both runners (rule non_kv_from_free_memory), so a dense model on
V2 is planned with the KV memory given (--kv-cache-memory-bytes: vLLM runs profile_run, then returns
the given bytes, gpu_worker.py determine_available_memory :474-496). What of V2 still decides the plan
then: the KV specs and their allocation (attn_utils.py get_kv_cache_spec, _allocate_kv_cache,
init_kv_cache AST-identical to 0.26.0), the window admission (VllmConfig.max_concurrent_batches: pp + 1
steps on V2 with async scheduling, AST-identical), and the activation peak, which only decides whether
weights + activation + other + the given KV exceed the GPU. The dummy sampler changed
(Sampler.apply_sampling_params returns the logits untouched unless _requires_logits_processing, True
for none of the dummy run's defaults; the float32 copy only then): no copy, as on 0.26.0, so rule
v2_runner_memory is {"fp32_logits_copy": False} and every figure equals 0.26.0's with the same bytes
given. Before h31-v27v2 each command here exited 2 (V2 not read on 0.27.0)."""

from __future__ import annotations

import dataclasses

import pytest

from helpers import capacity_json as _plan, cli, one_line_error, pool_figures as _figures

from kvplan.engines import get_engine
from kvplan.gpus import get_gpu
from kvplan.loader import load_model

#: 0.26.0's V2 pools on an H100 (tests/test_vllm_v2_runner.py), given to 0.27.0
LLAMA_POOL, QWEN_POOL, GEMMA_POOL = 60_709_920_769, 60_512_704_513, 21_144_363_809


def _both(capsys, *args):
    """The capacity JSON on 0.27.0 and on 0.26.0 for the same arguments."""
    return [_plan(capsys, *args, "--gpu", "h100", "--engine", f"vllm=={rel}") for rel in ("0.27.0", "0.26.0")]


def test_llama_8b_on_v2_with_the_kv_memory_given(capsys):
    """`kvplan capacity llama3.1-8b --gpu h100 --engine vllm==0.27.0 --kv-cache-memory-bytes 60709920769`
    (before: exit 2): 60,709,920,769 B // 2 MiB = 28,948 blocks, 463,168 tokens, as 0.26.0's V2 plan
    (profiled or given); V2's activation is the profile forward's 1,154,272,460 B (its sampler:
    374,362,624 B), not V1's 2,025,938,944 B. The rest of the JSON equals 0.26.0's but for the engine."""
    new, old = _both(capsys, "llama3.1-8b", "--kv-cache-memory-bytes", str(LLAMA_POOL))
    assert _figures(new) == _figures(old) == (16_094_076_928, 1_154_272_460, 268_435_456, 78_226_705_613,
                                              LLAMA_POOL, 28_948, 463_168)
    assert (new["blocks_per_request"], new["max_concurrency"], new["max_requests"], new["notes"]) == (8_192, 3.53, 3, [])
    for d in (new, old):
        d.pop("engine")
        d.pop("engine_description", None)
    assert {k: v for k, v in new.items() if "0.27.0" not in str(v)} == {
        k: v for k, v in old.items() if "0.26.0" not in str(v)}
    # the same blocks as 0.26.0's profiled V2 pool (FINDINGS_h31_v2run.md)
    profiled = _plan(capsys, "llama3.1-8b", "--gpu", "h100", "--engine", "vllm==0.26.0")
    assert (profiled["kv_pool_bytes"], profiled["num_blocks"]) == (LLAMA_POOL, 28_948)


def test_the_dummy_sampler_keeps_the_logits_dtype():
    """0.27.0 copies the logits to float32 only when a request needs processing (sampler.py :155-159):
    the dummy run's defaults need none, so V2's sampler peak is 0.26.0's 374,362,624 B (with the copy,
    0.25.x's 899,699,200 B); a row saying True would give that."""
    spec, gpu = load_model("llama3.1-8b"), get_gpu("h100")
    new, old = get_engine("vllm==0.27.0"), get_engine("vllm==0.26.0")
    assert new.rule("v2_runner_memory") == {"fp32_logits_copy": False, "idx_mapping_bytes": 4}
    assert new.plans_v2(spec) and new.v2_unplanned(spec) is None
    assert new.v2_sampler_bytes(spec, new.settings(gpu, spec=spec)) == old.v2_sampler_bytes(
        spec, old.settings(gpu, spec=spec)) == 374_362_624
    assert new.activation_bytes(spec, gpu, new.settings(gpu, spec=spec), 0, range(32)) == 1_154_272_460


def test_qwen3_8b_on_v2_with_the_kv_memory_given(capsys):
    """Qwen3-8B given 0.26.0's V2 pool: 25,648 blocks (144 KiB each), 410,368 tokens under both."""
    new, old = _both(capsys, "qwen3-8b", "--kv-cache-memory-bytes", str(QWEN_POOL))
    assert _figures(new) == _figures(old) == (16_391_956_480, 1_053_609_164, 268_435_456, 78_226_705_613,
                                              QWEN_POOL, 25_648, 410_368)


@pytest.mark.parametrize("extra, blocks, per_request, tokens", [
    # pp 1: two steps in flight with async scheduling, on V2 (pp + 1) as on V1 (2)
    ((), 16_131, 8_582, 61_591),
    # pp 2: V2 keeps pp + 1 = 3 steps (V1: pp = 2, 8,582 a request, 123,187 tokens)
    (("--pp", "2"), 32_263, 11_654, 90_715),
])
def test_gemma3_27b_window_steps_on_v2(capsys, extra, blocks, per_request, tokens):
    """Gemma-3-27B at 32,768 tokens given 0.26.0's V2 pool (21,144,363,809 B a GPU): its 52 window layers
    reserve max_concurrent_batches x 8,192 tokens beyond the window (config/vllm.py 0.27.0 :540-561,
    AST-identical to 0.26.0), the same figures under both releases."""
    new, old = _both(capsys, "gemma3-27b", "--max-model-len", "32768", "--kv-cache-memory-bytes",
                     str(GEMMA_POOL), *extra)
    for got in (new, old):
        assert (got["activation_bytes"], got["num_blocks"], got["blocks_per_request"], got["kv_cache_tokens"]) == (
            1_647_103_180, blocks, per_request, tokens)
    if extra:  # the V1 runner at pp 2 reserves two steps
        v1 = _plan(capsys, "--gpu", "h100", "--engine", "vllm==0.27.0", "--from-vllm",
                   "VLLM_USE_V2_MODEL_RUNNER=0 vllm serve google/gemma-3-27b-it --pipeline-parallel-size 2 "
                   f"--max-model-len 32768 --kv-cache-memory-bytes {GEMMA_POOL}")
        assert (v1["blocks_per_request"], v1["kv_cache_tokens"]) == (8_582, 123_187)


def test_gemma3_27b_one_step_without_async_scheduling(capsys):
    """--no-async-scheduling: one step (max_concurrent_batches = pp = 1), 5,510 blocks a request."""
    cmd = f"vllm serve google/gemma-3-27b-it --max-model-len 32768 --no-async-scheduling --kv-cache-memory-bytes {GEMMA_POOL}"
    new, old = _both(capsys, "--from-vllm", cmd)
    for got in (new, old):
        assert (got["num_blocks"], got["blocks_per_request"], got["kv_cache_tokens"]) == (16_131, 5_510, 95_931)


def test_still_refused_on_0_27_0(capsys):
    """The profiled pool (rule non_kv_from_free_memory) for either runner; VLLM_USE_V2_MODEL_RUNNER=1 on an
    MoE model whose V2 model code kvplan has not read (gpt-oss; h35 reads Qwen3-30B-A3B's: rule
    v2_moe_mla_architectures, tests/test_vllm_v2_moe.py), as on 0.26.0."""
    code, _, err = cli(capsys, "capacity", "llama3.1-8b", "--gpu", "h100", "--engine", "vllm==0.27.0")
    assert code == 2 and "memory_profiling" in one_line_error(err)
    code, _, err = cli(capsys, "capacity", "--gpu", "h100", "--engine", "vllm==0.27.0", "--from-vllm",
                       "VLLM_USE_V2_MODEL_RUNNER=1 vllm serve openai/gpt-oss-20b --kv-cache-memory-bytes 30000000000")
    assert code == 2 and one_line_error(err).endswith("not GptOssForCausalLM; plan without it")


def test_the_row_decides(capsys):
    """With the 0.27.0 row of v2_runner_memory patched to None (V2 not read), the llama command is refused
    again (exit 2, V2 not modelled), as before h31-v27v2; the 0.26.0 row alone does not plan 0.27.0."""
    import kvplan.engines.vllm_rules as R
    from kvplan.engines import vllm as V
    from kvplan.engines.base import RuleBook

    firsts = [r.first for r in R.RULES if r.name == "v2_runner_memory"]
    assert firsts[firsts.index("0.27.0"):][:3] == ["0.27.0", "0.28.0", "0.29.0"]
    rules = tuple(dataclasses.replace(r, value=None) if r.name == "v2_runner_memory" and r.first == "0.27.0" else r
                  for r in R.RULES)
    book, V.BOOK = V.BOOK, RuleBook("vllm", R.RELEASES, rules)
    try:
        code, _, err = cli(capsys, "capacity", "llama3.1-8b", "--gpu", "h100", "--engine", "vllm==0.27.0",
                           "--kv-cache-memory-bytes", str(LLAMA_POOL))
        assert code == 2 and "whose profile run kvplan does not model" in one_line_error(err)
    finally:
        V.BOOK = book
