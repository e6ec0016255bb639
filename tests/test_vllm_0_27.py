"""vLLM 0.27.0, read against 0.26.0 (FINDINGS_h31_v27.md).

- The worker measures the memory that is not KV cache from the device's free memory
  (vllm/utils/mem_utils.py memory_profiling: total_consumed, the free-memory drop from the worker's
  start to after the profile run and empty_cache, plus transient_peak_headroom, the torch peak over
  what stays allocated; rule non_kv_from_free_memory). Beside 0.26.0's terms it counts what PyTorch's
  caching allocator keeps reserved in segments that hold a live tensor after the profile run, and the
  runner's buffers allocated after the worker's start outside load_model: the allocator's segment
  layout, which kvplan does not predict. Every profiled pool is refused, eager or not.
- With --kv-cache-memory-bytes vLLM returns that value without the accounting (reserve_mm_ipc_gpu_memory:
  0 B by default), and the pages (kv_cache_interface.py / kv_cache_utils.py: the grouping merges only
  full-attention specs differing in window attributes, the concurrency sums whole pages per group) and
  the window admission (max_in_flight_tokens, async scheduling by default) are 0.26.0's: planned, the
  same blocks as 0.26.0.
- DEFAULT_V2_MODEL_RUNNER_ARCHITECTURES adds KimiK3ForConditionalGeneration; dense models stay on V2
  by default (refused without VLLM_USE_V2_MODEL_RUNNER=0 until h31-v27v2, which read 0.27.0's V2:
  planned there with the KV memory given, tests/test_vllm_0_27_v2.py).
- The fused-MoE layer (FusedMoEFactory, MoERunner.forward), the MLA layer and deepseek_v2.py's forward
  changed; read against 0.26.0 (FINDINGS_h31_v27moe.md, tests/test_vllm_0_27_moe.py): with the KV memory
  given MoE and MLA models plan as on 0.26.0; their profiled pool is refused like every 0.27.0 pool.
- FI_ALLREDUCE_FUSION_MAX_SIZE_MB adds capability 10.7.
Each figure test asserts the 0.27.0 figure and the 0.26.0 one beside it."""

from __future__ import annotations

import dataclasses
import json

import pytest

from helpers import capacity_json as _plan, cli, one_line_error, pool_figures as _figures

from kvplan.engines import get_engine
from kvplan.engines import vllm_rules as R
from kvplan.engines.base import Release
from kvplan.engines.vllm import VLLM
from kvplan.errors import BadInputError
from kvplan.gpus import get_gpu

GEMMA = "VLLM_USE_V2_MODEL_RUNNER=0 vllm serve google/gemma-3-27b-it --enforce-eager"
LLAMA = "VLLM_USE_V2_MODEL_RUNNER=0 vllm serve meta-llama/Llama-3.1-8B --enforce-eager"
#: 0.26.0's profiled pools (tests/test_vllm_0_26.py), given to 0.27.0 as --kv-cache-memory-bytes
GEMMA_POOL, LLAMA_POOL = 18_753_493_997, 59_838_254_285
FREE_MEMORY = r"measures the memory that is not KV cache from the device's free memory"


@pytest.mark.parametrize("command", [GEMMA, LLAMA, LLAMA.replace(" --enforce-eager", ""),
                                     "VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS=0 " + LLAMA])
def test_profiled_pool_is_refused(capsys, command):
    """Eager, with CUDA graphs or with the estimate off: 0.27.0's non-KV memory is the free-memory drop
    (exit 2, one line naming the accounting and the ways out); 0.26.0 plans the eager commands."""
    code, _, err = cli(capsys, "capacity", "--gpu", "h100", "--engine", "vllm==0.27.0", "--from-vllm", command)
    line = one_line_error(err)
    assert code == 2 and "vllm==0.27.0 " in line and "memory_profiling" in line
    assert "--kv-cache-memory-bytes" in line and line.endswith("or use --engine vllm==0.26.0")
    if "--enforce-eager" in command and "ESTIMATE" not in command:
        # planned on 0.26.0 (Gemma-3-27B at its own 131,072 tokens then does not fit: exit 1)
        code, out, _ = cli(capsys, "capacity", "--gpu", "h100", "--engine", "vllm==0.26.0", "--from-vllm", command,
                           "--json")
        assert (code, json.loads(out)["num_blocks"]) in ((1, 14_307), (0, 28_533))


def test_llama_with_the_kv_memory_given_plans_as_0_26_0(capsys):
    """Llama-3.1-8B with 0.26.0's own pool given: 59,838,254,285 B // 2 MiB = 28,533 blocks, 456,528
    tokens under both; the rest of the capacity JSON equals 0.26.0's but for the engine's name."""
    cmd = f"{LLAMA} --kv-cache-memory-bytes {LLAMA_POOL}"
    new = _plan(capsys, "--engine", "vllm==0.27.0", "--from-vllm", cmd)
    old = _plan(capsys, "--engine", "vllm==0.26.0", "--from-vllm", cmd)
    assert _figures(new) == _figures(old) == (16_094_076_928, 2_025_938_944, 268_435_456, 78_226_705_613,
                                              LLAMA_POOL, 28_533, 456_528)
    for d in (new, old):
        d.pop("engine")
        d.pop("engine_description", None)
    assert {k: v for k, v in new.items() if "0.27.0" not in str(v)} == {
        k: v for k, v in old.items() if "0.26.0" not in str(v)}


def test_gemma_window_layers_with_the_kv_memory_given(capsys):
    """Gemma-3-27B at 32,768 tokens, 0.26.0's pool given: the window layers reserve two steps in flight
    as on 0.26.0 (max_in_flight_tokens AST-identical, async scheduling on by default): 14,307 blocks,
    8,582 a request, 54,627 tokens; --no-async-scheduling gives one step (5,510 a request)."""
    cmd = f"{GEMMA} --max-model-len 32768 --kv-cache-memory-bytes {GEMMA_POOL}"
    for rel in ("0.27.0", "0.26.0"):
        got = _plan(capsys, "--engine", f"vllm=={rel}", "--from-vllm", cmd)
        assert (got["num_blocks"], got["blocks_per_request"], got["kv_cache_tokens"]) == (14_307, 8_582, 54_627)
        one = _plan(capsys, "--engine", f"vllm=={rel}", "--from-vllm", cmd + " --no-async-scheduling")
        assert (one["num_blocks"], one["blocks_per_request"], one["kv_cache_tokens"]) == (14_307, 5_510, 85_083)


def test_dense_models_run_v2_by_default(capsys):
    """Dense models stay on Model Runner V2 by default; from h31-v27v2 its 0.27.0 memory path is read
    (FINDINGS_h31_v27v2.md, tests/test_vllm_0_27_v2.py): without the KV memory they are refused by the
    free-memory accounting (before: as V2 not modelled), with it planned on V2."""
    for model in ("gemma3-27b", "llama3.1-8b"):
        code, _, err = cli(capsys, "capacity", model, "--gpu", "h100", "--engine", "vllm==0.27.0", "--enforce-eager")
        line = one_line_error(err)
        assert code == 2 and "memory_profiling" in line and line.endswith("or use --engine vllm==0.26.0")
    code, out, err = cli(capsys, "capacity", "llama3.1-8b", "--gpu", "h100", "--engine", "vllm==0.27.0",
                         "--kv-cache-memory-bytes", "59838254285", "--json")
    # V2's activation (the profile forward's 1,154,272,460 B), not V1's sampler peak 2,025,938,944 B
    assert code == 0 and (json.loads(out)["activation_bytes"], json.loads(out)["num_blocks"]) == (1_154_272_460, 28_533)
    code, _, err = cli(capsys, "capacity", "--from-vllm", "VLLM_USE_V2_MODEL_RUNNER=0 vllm serve "
                       "meta-llama/Llama-3.1-8B --kv-cache-memory-bytes 59838254285", "--gpu", "h100",
                       "--engine", "vllm==0.27.0")
    assert code in (0, 1), err
    # review h31b F4: V1 is refused on 0.27.0 too unless the KV memory is given, so the way out of a V2
    # refusal says so (h35: a listed MoE architecture whose model code kvplan has not read, GraniteMoe:
    # tests/test_vllm_v2_moe.py test_unread_listed_architecture_refused_on_0_27_0); DeepSeek-V2-Lite's
    # (DeepseekV2ForCausalLM) is read: planned on V2 with V1's 60,281 blocks
    code, out, err = cli(capsys, "capacity", "deepseek-v2-lite", "--gpu", "h100", "--engine", "vllm==0.27.0",
                         "--kv-cache-memory-bytes", "30000000000", "--json")
    assert code == 0 and json.loads(out)["num_blocks"] == 60_281, err


@pytest.mark.parametrize("args, blocks_0_26", [
    (["qwen3-30b-a3b"], 8_902),
    (["mixtral-8x7b", "--tp", "2"], 26_674),
    (["deepseek-v3", "--weights", "fp8", "--tp", "8"], 40_907),
])
def test_moe_and_mla_models_profiled_pool_refused(capsys, args, blocks_0_26):
    """MoE and MLA models on 0.27.0 without --kv-cache-memory-bytes: refused by the free-memory accounting
    (rule non_kv_from_free_memory), naming the flag and 0.26.0, which plans them (Qwen3-30B-A3B 8,902
    blocks, Mixtral-8x7B 26,674, DeepSeek-V3 fp8 on 8 x H200 40,907). With the KV memory given they plan:
    tests/test_vllm_0_27_moe.py."""
    gpu = "h200" if "deepseek-v3" in args else "h100"
    code, out, err = cli(capsys, "capacity", *args, "--gpu", gpu, "--enforce-eager", "--engine", "vllm==0.27.0")
    line = one_line_error(err)
    assert code == 2 and out == "" and "--kv-cache-memory-bytes" in line and "vllm==0.26.0" in line
    assert _plan_on(capsys, gpu, *args, "--enforce-eager",
                    "--engine", "vllm==0.26.0")["num_blocks"] == blocks_0_26


def _plan_on(capsys, gpu, *args) -> dict:
    code, out, err = cli(capsys, "capacity", *args, "--gpu", gpu, "--json")
    assert code == 0, err
    return json.loads(out)


def test_the_refusal_follows_the_rule():
    """check_profiled_pool refuses by rule non_kv_from_free_memory alone: with the 0.27.0 row patched to
    False it lets an eager plan through, as on 0.26.0."""
    eng = get_engine("vllm==0.27.0")
    assert isinstance(eng, VLLM) and eng.rule("non_kv_from_free_memory") is True
    assert get_engine("vllm==0.26.0").rule("non_kv_from_free_memory") is False
    eager = dataclasses.replace(eng, enforce_eager=True)
    with pytest.raises(BadInputError, match=FREE_MEMORY):
        eager.check_profiled_pool(get_gpu("h100"))
    rules = tuple(dataclasses.replace(r, value=False) if r.name == "non_kv_from_free_memory" else r for r in R.RULES)
    from kvplan.engines.base import RuleBook
    from kvplan.engines import vllm as V

    book, V.BOOK = V.BOOK, RuleBook("vllm", R.RELEASES, rules)
    try:
        eager.check_profiled_pool(get_gpu("h100"))  # planned
        with pytest.raises(BadInputError, match="CUDA-graph memory estimate"):
            dataclasses.replace(eager, enforce_eager=False).check_profiled_pool(get_gpu("h100"))
    finally:
        V.BOOK = book


def test_release_rows():
    eng = get_engine("vllm==0.27.0")
    assert R.RELEASES[-8:-3] == ("0.27.0", "0.27.1", "0.28.0", "0.29.0", "0.30.0") and R.PUBLISHED_LATER == ()
    assert "KimiK3ForConditionalGeneration" in eng.rule("v2_model_runner_architectures")
    assert "KimiK3ForConditionalGeneration" not in get_engine("vllm==0.26.0").rule("v2_model_runner_architectures")
    assert eng.rule("v2_model_runner_dense") is True and eng.rule("window_in_flight_tokens") == "in_flight"
    assert eng.rule("sampler_top_k_top_p") == "triton" and eng.rule("sampler_flashinfer_first_bytes") == 1 << 20
    assert eng.rule("moe_persistent_workspace") == "oracle triton"  # read: FINDINGS_h31_v27moe.md
    assert eng.rule("mla_forward_read") is True and eng.rule("deepseek_v2_forward_read") is True
    assert eng.rule("allreduce_rms_fusion")["max_bytes"][(10, 7)] == {2: 64 << 20, 4: 64 << 20, 8: 2 << 20}
    assert (10, 7) not in get_engine("vllm==0.26.0").rule("allreduce_rms_fusion")["max_bytes"]
    for rel in ("0.34.0",):  # 0.27.1 modelled as 0.27.0, 0.28.0-0.33.0 read (test_vllm_0_27_1.py, _0_28.py, _0_29.py, _0_30.py, _0_31.py, _0_32.py, _0_33.py)
        with pytest.raises(BadInputError, match=r"vllm 0\.34\.0 is not a release kvplan knows of \(newer than 0\.33\.0"):
            get_engine(f"vllm=={rel}")


def test_engine_models_0_27_0():
    import json
    from importlib.resources import files

    archs = json.loads(files("kvplan.data").joinpath("engine_models.json").read_text())["vllm"]["architectures"]
    # every class 0.27.0 has runs on through 0.27.1 (its registry.py is 0.27.0's: tests/test_vllm_0_27_1.py)
    # and 0.28.0 (which only adds 11: tests/test_vllm_0_28.py); 0.29.0 adds 11 and drops 13 (test_vllm_0_29.py)
    assert sum(1 for spans in archs.values() if Release.parse(spans[-1][1]) >= Release.parse("0.28.0")) == (
        357 + 11 + 11 + 10 + 1 + 4 + 23)  # 0.30.0 adds 10, 0.31.0 1, 0.32.0 4, 0.33.0 23 (tests/test_vllm_0_30.py ...)
    assert archs["KimiK3ForConditionalGeneration"] == [["0.27.0", R.RELEASES[-1]]]
    assert archs["Plamo2ForCausalLM"][-1][1] == "0.26.0" and archs["OuroForCausalLM"][-1][1] == "0.26.0"


def test_explain_of_a_0_27_0_log_says_why_it_is_not_planned():
    """A 0.27.0 log (test_explain's 0.26.0 Gemma log with the version changed) is not re-planned: kvplan
    does not predict the free-memory accounting, and this log has no activation / non-torch figures."""
    from test_explain import _g26

    from kvplan.explain import explain
    from kvplan.explain_log import parse_log

    with pytest.raises(BadInputError, match=r"vllm 0\.27\.0 \(not modelled: its non-KV memory is measured from the "
                                            r"device's free memory"):
        explain(parse_log(_g26().replace("0.26.0", "0.27.0")), model="gemma3-27b", gpu="h100")
