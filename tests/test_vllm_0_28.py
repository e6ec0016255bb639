"""vLLM 0.28.0, read against 0.27.1 (docs/findings/FINDINGS_h33_v28.md).

- The memory accounting is 0.27.x's: vllm/utils/mem_utils.py is byte-identical and
  Worker.determine_available_memory AST-identical, so the profiled pool stays refused (rule
  non_kv_from_free_memory) and a plan needs --kv-cache-memory-bytes, as on 0.27.x.
- The pages (kv_cache_interface.py's rewritten page formula: the same bytes for the kinds and KV
  dtypes kvplan plans), the grouping, the checks, the window admission and the V2 default are 0.27.1's:
  Llama-3.1-8B, Qwen3-30B-A3B, DeepSeek-V3 fp8 and Gemma-3-27B given 0.27.x's KV memory plan to the
  byte as 0.27.1 does.
- What changes: GPUs of 160 GiB or more (B200, MI300X, not H200) default to max_num_batched_tokens
  16,384 when serving (EngineArgs.get_batch_defaults), which doubles the profile forward and the tokens
  a sliding-window layer reserves; Model Runner V2's dummy idx_mapping is int64 (+4 KiB at 1,024 rows);
  DeepseekV4ForCausalLM joins the V2 architectures; nvfp4_4over6 is one more KV dtype left out.
- 0.29.0 is the first refused release."""

from __future__ import annotations

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


def _both(capsys, *args):
    """The capacity JSON on 0.28.0 and on 0.27.1 for the same arguments."""
    return [_plan(capsys, *args, "--engine", f"vllm=={rel}") for rel in ("0.28.0", "0.27.1")]


def _same_but_names(a: dict, b: dict) -> bool:
    return {k: v for k, v in a.items() if k not in _NAMES} == {k: v for k, v in b.items() if k not in _NAMES}


@pytest.mark.parametrize("args, blocks, per_request, tokens", [
    # FINDINGS_h31_v27v2.md: Llama-3.1-8B on V2 (0.27.x: 28,948 blocks)
    (("llama3.1-8b", "--gpu", "h100", "--kv-cache-memory-bytes", "60709920769"), 28_948, 8_192, 463_168),
    # FINDINGS_h31_v27moe.md: Qwen3-30B-A3B on V1, TritonExperts (0.27.x: 8,902)
    (("qwen3-30b-a3b", "--gpu", "h100", "--kv-cache-memory-bytes", "14002304205"), 8_902, 2_560, 142_432),
    # DeepSeek-V3 block-fp8 on 8 x H200, MLA (0.27.x: 40,907)
    (("deepseek-v3", "--weights", "fp8", "--gpu", "h200", "--tp", "8", "--kv-cache-memory-bytes", "45994277463"),
     40_907, 10_240, 654_512),
    # Gemma-3-27B at 32,768 tokens on V2, two steps in flight (0.27.x: 16,131 blocks, 8,582 a request)
    (("gemma3-27b", "--gpu", "h100", "--max-model-len", "32768", "--kv-cache-memory-bytes", "21144363809"),
     16_131, 8_582, 61_591),
])
def test_plans_equal_0_27_1s(capsys, args, blocks, per_request, tokens):
    new, old = _both(capsys, *args)
    assert (new["num_blocks"], new["blocks_per_request"], new["kv_cache_tokens"]) == (blocks, per_request, tokens)
    assert new["engine"] == "vllm==0.28.0" and _same_but_names(new, old)


def test_the_figures_beside_the_blocks(capsys):
    """Weights, activation and the given pool, exactly (0.27.1's): Llama-3.1-8B's V2 activation is the
    profile forward's 1,154,272,460 B; DeepSeek-V3's 3,970,539,520 B holds the kept TritonExperts workspace."""
    llama = _plan(capsys, "llama3.1-8b", "--gpu", "h100", "--engine", "vllm==0.28.0",
                  "--kv-cache-memory-bytes", "60709920769")
    assert (llama["weights_bytes"], llama["activation_bytes"], llama["kv_pool_bytes"]) == (
        16_094_076_928, 1_154_272_460, 60_709_920_769)
    ds = _plan(capsys, "deepseek-v3", "--weights", "fp8", "--gpu", "h200", "--tp", "8", "--engine", "vllm==0.28.0",
               "--kv-cache-memory-bytes", "45994277463")
    assert (ds["weights_bytes"], ds["activation_bytes"], ds["kv_pool_bytes"]) == (
        85_858_369_792, 3_970_539_520, 45_994_277_463)


def test_v2_dummy_idx_mapping_is_int64():
    """input_batch.py make_dummy (0.28.0 :128): idx_mapping int64, one 8,192 B block at 1,024 rows where
    0.27.1's int32 took 4,096: Llama-3.1-8B's V2 sampler peak 374,366,720 B against 374,362,624 (below the
    forward's 1,154,272,460 either way). A row saying 4 gives 0.27.1's figure."""
    spec, gpu = load_model("llama3.1-8b"), get_gpu("h100")
    new, old = get_engine("vllm==0.28.0"), get_engine("vllm==0.27.1")
    assert new.rule("v2_runner_memory") == {"fp32_logits_copy": False, "idx_mapping_bytes": 8}
    assert new.v2_sampler_bytes(spec, new.settings(gpu, spec=spec)) == 374_366_720
    assert old.v2_sampler_bytes(spec, old.settings(gpu, spec=spec)) == 374_362_624


@pytest.mark.parametrize("gpu, tier_0_27, tier_0_28, tokens_0_28", [
    ("b200", "large", "huge", 16_384),     # 191,502,483,456 B: 160 GiB or more
    ("mi300x", "large", "huge", 16_384),
    ("h200", "large", "large", 8_192),     # 150,119,844,413 B: below 160 GiB
    ("h100", "large", "large", 8_192),
    ("a100-80gb", "small", "small", 2_048),
])
def test_scheduler_default_tiers(gpu, tier_0_27, tier_0_28, tokens_0_28):
    """EngineArgs.get_batch_defaults (0.28.0 :2582-2611): a 160 GiB tier serving 16,384 tokens and 1,024
    sequences, tested before the 70 GiB one."""
    g = get_gpu(gpu)
    new, old = get_engine("vllm==0.28.0"), get_engine("vllm==0.27.1")
    assert (old.gpu_tier(g), new.gpu_tier(g)) == (tier_0_27, tier_0_28)
    assert new.settings(g).max_num_batched_tokens == tokens_0_28
    assert new.settings(g).max_num_seqs == (256 if tier_0_28 == "small" else 1_024)


def test_b200_serves_16k_tokens_a_step(capsys):
    """On a B200 the default step doubles: Llama-3.1-8B's V2 activation 2,308,544,921 B (0.27.1:
    1,154,272,460), the same blocks for the same given memory; Gemma-3-27B at 32,768 tokens reserves
    2 x 16,384 tokens past each window, 14,342 blocks a request (0.27.1: 8,582), the logged KV cache size
    36,855 tokens (0.27.1: 61,591)."""
    new, old = _both(capsys, "llama3.1-8b", "--gpu", "b200", "--kv-cache-memory-bytes", "150000000000")
    assert (new["max_num_batched_tokens"], new["activation_bytes"], new["num_blocks"]) == (16_384, 2_308_544_921, 71_525)
    assert (old["max_num_batched_tokens"], old["activation_bytes"], old["num_blocks"]) == (8_192, 1_154_272_460, 71_525)
    new, old = _both(capsys, "gemma3-27b", "--gpu", "b200", "--max-model-len", "32768",
                     "--kv-cache-memory-bytes", "21144363809")
    assert (new["num_blocks"], new["blocks_per_request"], new["kv_cache_tokens"]) == (16_131, 14_342, 36_855)
    assert (old["num_blocks"], old["blocks_per_request"], old["kv_cache_tokens"]) == (16_131, 8_582, 61_591)
    # the old step given explicitly: 0.27.1's window admission again
    given = _plan(capsys, "gemma3-27b", "--gpu", "b200", "--max-model-len", "32768", "--engine", "vllm==0.28.0",
                  "--kv-cache-memory-bytes", "21144363809", "--max-num-batched-tokens", "8192")
    assert (given["blocks_per_request"], given["kv_cache_tokens"]) == (8_582, 61_591)


def test_rows():
    new = get_engine("vllm==0.28.0")
    # 0.29.0 read against 0.28.0 (tests/test_vllm_0_29.py)
    assert R.RELEASES[-6:-3] == ("0.28.0", "0.29.0", "0.30.0") and R.PUBLISHED_LATER == ()
    assert not R.REFUSED
    assert "DeepseekV4ForCausalLM" in new.rule("v2_model_runner_architectures")
    assert "DeepseekV4ForCausalLM" not in get_engine("vllm==0.27.1").rule("v2_model_runner_architectures")
    assert new.rule("kv_cache_dtypes_unmodelled")[-1] == "nvfp4_4over6"
    assert new.rule("non_kv_from_free_memory") is True
    assert PAGING.value("null_block_in_check", Release.parse("0.28.0")) is False
    assert PAGING.value("modelled_kinds", Release.parse("0.28.0")) == (
        "full_attention", "mla", "sliding_window", "chunked_local")
    # every row in force at 0.28.0 cites a source
    rel = Release.parse("0.28.0")
    for book in (VLLM_BOOK, PAGING):
        assert all(row.source for row in book.table(rel).values())


def test_refusals(capsys):
    """The profiled pool (no --kv-cache-memory-bytes), the new KV dtype and 0.31.0, one line each, exit 2."""
    code, out, err = cli(capsys, "capacity", "llama3.1-8b", "--gpu", "h100", "--engine", "vllm==0.28.0")
    assert code == 2 and out == "" and "memory_profiling" in one_line_error(err)
    code, out, err = cli(capsys, "capacity", "llama3.1-8b", "--gpu", "b200", "--engine", "vllm==0.28.0",
                         "--kv-cache-memory-bytes", "150000000000", "--kv-cache-dtype", "nvfp4_4over6")
    assert code == 2 and out == "" and "nvfp4_4over6" in one_line_error(err)
    with pytest.raises(BadInputError, match=r"vllm 0\.34\.0 is not a release kvplan knows of \(newer than 0\.33\.0"):
        get_engine("vllm==0.34.0")


def test_engine_models_0_28_0():
    import json
    from importlib.resources import files

    archs = json.loads(files("kvplan.data").joinpath("engine_models.json").read_text())["vllm"]["architectures"]
    # 0.28.0's registry.py adds 11 classes and drops none
    from kvplan.engines.base import Release

    at = Release.parse("0.28.0")
    assert sum(1 for spans in archs.values()
               if any(Release.parse(a) <= at <= Release.parse(b) for a, b in spans)) == 368
    for new in ("BailingMoeV3ForCausalLM", "MuseGlimmerForCausalLM", "Dots3NoteForCausalLM",
                "InternS2MobiusForConditionalGeneration", "DFlash2DraftModel"):
        assert archs[new] == [["0.28.0", R.RELEASES[-1]]]  # each kept by every later release (tests/test_vllm_0_29.py, ...)
    assert archs["LlamaForCausalLM"][-1] == ["0.8.0", R.RELEASES[-1]]
