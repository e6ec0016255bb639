"""vLLM 0.29.0, read against 0.28.0 (docs/findings/FINDINGS_h33_v29.md).

- The memory accounting is 0.28.0's (vllm/utils/mem_utils.py memory_profiling AST-identical; the worker
  adds a ROCm-only fallback): the profiled pool stays refused (rule non_kv_from_free_memory) and a plan
  needs --kv-cache-memory-bytes. Model Runner V2 now measures a CUDA-graph estimate, which a given KV
  memory never reaches (gpu_worker.py determine_available_memory :527-549 returns it first).
- Model Runner V2 is the default for every model (config/vllm.py use_v2_model_runner :645-677: no
  architecture list, rule v2_default_all). kvplan has read V2 for models without experts, MLA or
  state-space layers only: Qwen3-30B-A3B and DeepSeek-V3 are refused by default, and planned on V1 with
  VLLM_USE_V2_MODEL_RUNNER=0 (the fused-MoE, DeepSeek and MLA profile paths compare as 0.28.0's).
- Dense models on V2 (Llama-3.1-8B, Gemma-3-27B on H100 and B200) plan as 0.28.0 for the same given KV
  memory.
- What changes: the start-up check and max-model-len auto-fit hold back the null block (paging rule
  null_block_in_check); head-size-256 models on compute capability 10.x / 11.x are refused (FlashAttention 4's
  128-token kernel blocks, rule fa4_hd256_block); unequal page sizes are refused (rule unify_page_sizes
  "unread"); the SM 10.3 tp 8 fused all-reduce limit is 4 MB; fp8 expert block scales are refined where the
  TP shard does not divide the block (refused, rule moe_fp8_block_refined); 'umm' leaves the prefix-LM list;
  seven new engine flags (refused as unknown). 0.30.0 is read against 0.29.0 in tests/test_vllm_0_30.py."""

from __future__ import annotations

import json
from importlib.resources import files

import pytest

from helpers import capacity_json as _plan, cli, one_line_error

from kvplan.engines import get_engine
from kvplan.engines import vllm_rules as R
from kvplan.engines.base import Release
from kvplan.engines.vllm import BOOK as VLLM_BOOK
from kvplan.errors import BadInputError
from kvplan.gpus import get_gpu
from kvplan.loader import load_model
from kvplan.paging import BOOK as PAGING

_NAMES = ("engine", "paging")


def _same_but_names(a: dict, b: dict) -> bool:
    return {k: v for k, v in a.items() if k not in _NAMES} == {k: v for k, v in b.items() if k not in _NAMES}


def _both(capsys, *args):
    """The capacity JSON on 0.29.0 and on 0.28.0 for the same arguments."""
    return [_plan(capsys, *args, "--engine", f"vllm=={rel}") for rel in ("0.29.0", "0.28.0")]


@pytest.mark.parametrize("args, blocks, per_request, tokens, estimated", [
    # Llama-3.1-8B on V2 (0.27.x / 0.28.0: 28,948 blocks; activation 1,154,272,460 B)
    (("llama3.1-8b", "--gpu", "h100", "--kv-cache-memory-bytes", "60709920769"), 28_948, 8_192, 463_168, (131_072, 131_072)),
    # Gemma-3-27B at 32,768 tokens on V2, two steps in flight (0.28.0: 16,131 blocks, 8,582 a request)
    (("gemma3-27b", "--gpu", "h100", "--max-model-len", "32768", "--kv-cache-memory-bytes", "21144363809"),
     16_131, 8_582, 61_591, (131_072, 131_072)),
    # on a B200 (160 GiB tier: 16,384 tokens a step, 0.28.0's): 14,342 a request
    (("gemma3-27b", "--gpu", "b200", "--max-model-len", "32768", "--kv-cache-memory-bytes", "21144363809"),
     16_131, 14_342, 36_855, (55_232, 55_248)),
])
def test_dense_plans_equal_0_28_0s(capsys, args, blocks, per_request, tokens, estimated):
    """The same blocks and JSON; where the longest servable length is reported (the pool holds less than
    max_model_len's blocks, here the B200's 14,342 a request) 0.29.0's is one block (16 tokens) shorter:
    its auto-fit plans against the memory less the null block (kv_cache_utils.py :2316-2322)."""
    new, old = _both(capsys, *args)
    assert (new["num_blocks"], new["blocks_per_request"], new["kv_cache_tokens"]) == (blocks, per_request, tokens)
    assert new["engine"] == "vllm==0.29.0"
    key = "estimated_max_model_len"
    assert (new.pop(key), old.pop(key)) == estimated
    assert _same_but_names(new, old)


def test_llama_figures_beside_the_blocks(capsys):
    got = _plan(capsys, "llama3.1-8b", "--gpu", "h100", "--engine", "vllm==0.29.0",
                "--kv-cache-memory-bytes", "60709920769")
    assert (got["weights_bytes"], got["activation_bytes"], got["kv_pool_bytes"]) == (
        16_094_076_928, 1_154_272_460, 60_709_920_769)
    spec, gpu, eng = load_model("llama3.1-8b"), get_gpu("h100"), get_engine("vllm==0.29.0")
    assert eng.plans_v2(spec) and eng.v2_sampler_bytes(spec, eng.settings(gpu, spec=spec)) == 374_366_720


@pytest.mark.parametrize("model, gpu, tp, given, hub, activation", [
    ("qwen3-30b-a3b", "h100", "1", "14002304205", "Qwen/Qwen3-30B-A3B", 930_656_768),
    ("deepseek-v3", "h200", "8", "45994277463", "deepseek-ai/DeepSeek-V3", 2_678_482_534),
])
def test_moe_and_mla_planned_on_v2_by_default(capsys, model, gpu, tp, given, hub, activation):
    """Before h35 refused (exit 2, "read only for models without experts"); now planned on V2 (rule
    v2_moe_mla_architectures, tests/test_vllm_v2_moe.py): V1's blocks, V2's activation peak."""
    got = _plan(capsys, model, "--gpu", gpu, "--tp", tp, "--engine", "vllm==0.29.0", "--kv-cache-memory-bytes", given)
    v1 = _plan(capsys, "--gpu", gpu, "--engine", "vllm==0.29.0", "--from-vllm", f"VLLM_USE_V2_MODEL_RUNNER=0 vllm "
               f"serve {hub} --tensor-parallel-size {tp} --kv-cache-memory-bytes {given}")
    assert (got["num_blocks"], got["kv_cache_tokens"]) == (v1["num_blocks"], v1["kv_cache_tokens"])
    assert got["activation_bytes"] == activation < v1["activation_bytes"]


@pytest.mark.parametrize("gpu, command, blocks, per_request, tokens, weights, activation", [
    # Qwen3-30B-A3B on V1, TritonExperts (0.28.0: 8,902 blocks, activation 2,881,234,944 B)
    ("h100", "vllm serve Qwen/Qwen3-30B-A3B --kv-cache-memory-bytes 14002304205",
     8_902, 2_560, 142_432, 61_074_731_008, 2_881_234_944),
    # DeepSeek-V3 block-fp8 on 8 x H200, MLA on V1 (0.28.0: 40,907 blocks, activation 3,970,539,520 B)
    ("h200", "vllm serve deepseek-ai/DeepSeek-V3 --tensor-parallel-size 8 --kv-cache-memory-bytes 45994277463",
     40_907, 10_240, 654_512, 85_858_369_792, 3_970_539_520),
])
def test_moe_and_mla_on_v1_equal_0_28_0s(capsys, gpu, command, blocks, per_request, tokens, weights, activation):
    new, old = [_plan(capsys, "--gpu", gpu, "--engine", f"vllm=={rel}", "--from-vllm",
                      f"VLLM_USE_V2_MODEL_RUNNER=0 {command}") for rel in ("0.29.0", "0.28.0")]
    assert (new["num_blocks"], new["blocks_per_request"], new["kv_cache_tokens"]) == (blocks, per_request, tokens)
    assert (new["weights_bytes"], new["activation_bytes"]) == (weights, activation)
    assert _same_but_names(new, old)


def test_profiled_pool_refused(capsys):
    code, out, err = cli(capsys, "capacity", "llama3.1-8b", "--gpu", "h100", "--engine", "vllm==0.29.0")
    assert code == 2 and out == ""
    line = one_line_error(err)
    assert "vllm==0.29.0 measures the memory that is not KV cache" in line and "memory_profiling" in line
    assert line.endswith("--kv-cache-memory-bytes (vLLM then skips that accounting), or use --engine vllm==0.26.0")


def test_null_block_held_back_at_start(capsys):
    """8,192 blocks of 2,097,152 B (Llama-3.1-8B, 16 tokens x 32 layers x 8 heads x 128 x 2 x 2 B) given
    exactly: 0.28.0 starts at max_model_len 131,072 (its check uses the whole memory), 0.29.0 checks
    against 17,179,869,184 - 2,097,152 = 17,177,772,032 B and refuses to start
    (kv_cache_utils.py :975-983); auto-fit gives 131,056 tokens there (:2316-2322), 131,072 on 0.28.0."""
    args = ("capacity", "llama3.1-8b", "--gpu", "h100", "--kv-cache-memory-bytes", "17179869184", "--json")
    code, out, err = cli(capsys, *args, "--engine", "vllm==0.28.0")
    assert code == 1 and json.loads(out)["starts"] is True
    code, out, err = cli(capsys, *args, "--engine", "vllm==0.29.0")
    got = json.loads(out)
    assert code == 1 and got["starts"] is False and got["num_blocks"] == 8_192
    assert ("vllm==0.29.0 refuses to start: one request of max_model_len 131,072 needs 17,179,869,184 B of KV cache, "
            "more than the 17,177,772,032 B available; the estimated maximum model length is 131,056") in err
    fit = [json.loads(cli(capsys, "capacity", "llama3.1-8b", "--gpu", "h100", "--kv-cache-memory-bytes", "17179869184",
                          "--max-model-len", "auto", "--json", "--engine", f"vllm=={rel}")[1])["max_model_len"]
           for rel in ("0.29.0", "0.28.0")]
    assert fit == [131_056, 131_072]


def test_head_256_refused_on_blackwell(capsys):
    """FlashAttention 4's head-256 kernel (flash_attn.py 0.29.0 :111-116): refused on compute capability
    10.x / 11.x; on an H100 (9.0) Gemma-3-4B (head 256) plans as on 0.28.0."""
    args = ("gemma3-4b", "--kv-cache-memory-bytes", "10000000000")
    code, out, err = cli(capsys, "capacity", *args, "--gpu", "b200", "--engine", "vllm==0.29.0")
    assert code == 2 and out == ""
    assert "gemma3-4b has head size 256, for which FlashAttention 4's dedicated kernel takes 128-token kernel " \
           "blocks" in one_line_error(err) and one_line_error(err).endswith("use --engine vllm==0.28.0")
    assert _plan(capsys, *args, "--gpu", "b200", "--engine", "vllm==0.28.0")["num_blocks"] == 30_517
    new, old = _both(capsys, *args)
    assert (new["num_blocks"], new["blocks_per_request"]) == (30_517, 14_726) and _same_but_names(new, old)


@pytest.mark.parametrize("flag", ["--max-num-queued-reqs 8", "--max-num-queued-tokens 8192", "--dcp-q-replicate",
                                  "--enable-batch-sharded-sampling", "--enable-trace-replay",
                                  "--prefix-cache-retention-interval 4", "--per-request-spec-decode-metrics"])
def test_new_engine_flags_refused(capsys, flag):
    code, out, err = cli(capsys, "capacity", "--gpu", "h100", "--engine", "vllm==0.29.0", "--from-vllm",
                         f"vllm serve meta-llama/Llama-3.1-8B --kv-cache-memory-bytes 60709920769 {flag}")
    assert code == 2 and out == ""
    assert one_line_error(err) == (f"kvplan: error: {flag.split()[0]}: a vllm flag kvplan does not know; it may "
                                   f"change memory, so kvplan will not guess (remove it, or plan with kvplan's own "
                                   f"options)")


def test_rows():
    new, old = get_engine("vllm==0.29.0"), get_engine("vllm==0.28.0")
    assert R.RELEASES[-6:-4] == ("0.28.0", "0.29.0") and R.PUBLISHED_LATER == ()
    assert "0.29.0" not in R.PUBLISHED_LATER and not R.REFUSED
    assert (new.rule("v2_default_all"), old.rule("v2_default_all")) == (True, False)
    assert new.rule("v2_model_runner_architectures") == ()
    assert new.rule("v2_runner_memory") == old.rule("v2_runner_memory")
    assert new.rule("non_kv_from_free_memory") is True
    assert (new.rule("fa4_hd256_block"), old.rule("fa4_hd256_block")) == (True, False)
    assert (new.rule("moe_fp8_block_refined"), old.rule("moe_fp8_block_refined")) == (True, False)
    for name in ("moe_persistent_workspace", "moe_fp8_block_sm90_triton", "mla_forward_read",
                 "deepseek_v2_forward_read", "window_in_flight_tokens", "scheduler_defaults"):
        assert new.rule(name) == old.rule(name), name
    assert "Cheers" in old.rule("mm_prefix_lm_token_floor") and "Cheers" not in new.rule("mm_prefix_lm_token_floor")
    b300 = get_gpu("b300")
    assert [e.allreduce_rms_fusion(b300, tp=8).max_bytes for e in (old, new)] == [2 << 20, 4 << 20]
    rel = Release.parse("0.29.0")
    assert PAGING.value("null_block_in_check", rel) is True
    assert PAGING.value("unify_page_sizes", rel) == "unread"
    assert PAGING.value("modelled_kinds", rel) == ("full_attention", "mla", "sliding_window", "chunked_local")
    for book in (VLLM_BOOK, PAGING):  # every row in force at 0.29.0 cites a source
        assert all(row.source for row in book.table(rel).values())
    with pytest.raises(BadInputError, match=r"vllm 0\.34\.0 is not a release kvplan knows of \(newer than 0\.33\.0"):
        get_engine("vllm==0.34.0")


def test_engine_models_0_29_0():
    archs = json.loads(files("kvplan.data").joinpath("engine_models.json").read_text())["vllm"]["architectures"]
    # 0.29.0's registry.py: 366 classes, 11 added, 13 removed (FINDINGS_h33_v29.md section 4)
    at = Release.parse("0.29.0")
    assert sum(1 for spans in archs.values() if any(Release.parse(a) <= at <= Release.parse(b) for a, b in spans)) == 366
    for added in ("DeepseekV32MTPModel", "GraniteSWAForCausalLM", "HYV4ForCausalLM", "Qwen4ExpForCausalLM"):
        assert archs[added] == [["0.29.0", R.RELEASES[-1]]]  # kept by every later release
    for removed in ("RWForCausalLM", "MPTForCausalLM", "ArcticForCausalLM", "CheersForConditionalGeneration"):
        assert archs[removed][-1][1] == "0.28.0"
    assert archs["LlamaForCausalLM"][-1] == ["0.8.0", R.RELEASES[-1]]


def test_unequal_pages_refused():
    """0.29.0's unify_kv_cache_spec_page_size (:1135-1197) pads every non-MLA page that does not divide the
    largest and get_kv_cache_groups may pack unequal pages (:1668-1797), neither read: layers with
    different page sizes are refused, even where one divides the other (0.28.0 gives the smaller page a
    block twice as long)."""
    from kvplan.layers import FullAttention, SlidingWindow
    from kvplan.paging import LayerSet, _unify_pages, vllm_paging

    full = FullAttention(kv_heads=8, head_dim=128, v_head_dim=128)
    window = SlidingWindow(kv_heads=4, head_dim=128, v_head_dim=128, window=4096)
    sets = (LayerSet(full, 4, 4, 16 * 8 * 256 * 2, 16), LayerSet(window, 4, 4, 16 * 4 * 256 * 2, 16))
    assert [s.block_size for s in _unify_pages(sets, vllm_paging("0.28.0"))] == [16, 32]
    with pytest.raises(BadInputError, match=r"^vllm==0\.29\.0: layers have different page sizes \(.*65,536 B.*"
                                            r"32,768 B\): vLLM pads or packs them .* which kvplan has not read"):
        _unify_pages(sets, vllm_paging("0.29.0"))
    assert _unify_pages(sets[:1], vllm_paging("0.29.0")) == sets[:1]


def test_fp8_block_experts_refined_below_the_checkpoint_block_are_refused(capsys):
    # DeepSeek-V3's [128, 128] blocks: at tp 32 a rank holds 2,048 / 32 = 64 of each expert's intermediate
    # rows, which 0.29.0 re-blocks (fused_moe/oracle/fp8.py refine_fp8_moe_block_shape): refused; at tp 8 (256
    # rows) nothing is refined and the V1 plan stands (test above); 0.28.0 had no refinement
    cmd = ("VLLM_USE_V2_MODEL_RUNNER=0 vllm serve deepseek-ai/DeepSeek-V3 --tensor-parallel-size 32 "
           "--kv-cache-memory-bytes 45994277463")
    code, out, err = cli(capsys, "capacity", "deepseek-v3", "--weights", "fp8", "--gpu", "h200", "--engine",
                         "vllm==0.29.0", "--from-vllm", cmd)
    assert code == 2 and out == ""
    assert "shard of the expert intermediate size (64) is not a multiple of the checkpoint's 128 x 128" in err
    # 0.8.0-0.28.0 do not start at all there (Fp8MoEMethod.create_weights raises ValueError): refused too
    for release, how in (("0.8.0", ("--tp", "32", "--enforce-eager")), ("0.19.1", ("--tp", "32", "--enforce-eager")),
                         ("0.26.0", ("--tp", "32", "--enforce-eager")), ("0.28.0", ("--from-vllm", cmd))):
        code, out, err = cli(capsys, "capacity", "deepseek-v3", "--weights", "fp8", "--gpu", "h200",
                             "--engine", f"vllm=={release}", *how)
        errors = [ln for ln in err.splitlines() if ln.startswith("kvplan: error:")]  # --from-vllm adds a note
        assert code == 2 and out == "" and len(errors) == 1
        line = errors[0]
        assert "refines" not in line
        assert f"vllm=={release} does not start deepseek-v3 with fp8 experts at this split" in line
        assert "Fp8MoEMethod.create_weights raises ValueError" in line
    # tp 16: 128 rows a rank, a whole block: planned
    code, out, err = cli(capsys, "capacity", "deepseek-v3", "--weights", "fp8", "--gpu", "h200", "--tp", "16")
    assert code == 0, err
