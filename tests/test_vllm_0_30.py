"""vLLM 0.30.0, read against 0.29.0 (docs/findings/FINDINGS_h34_v30.md).

- The memory accounting is 0.29.0's (memory_profiling, Worker.determine_available_memory and init_device
  AST-identical): the profiled pool stays refused (rule non_kv_from_free_memory) and a plan needs
  --kv-cache-memory-bytes.
- Model Runner V2 is still the default for every model (rule v2_default_all): MoE / MLA models plan on
  V1 with VLLM_USE_V2_MODEL_RUNNER=0 as on 0.29.0, and by default on V2 for the architectures of rule
  v2_moe_mla_architectures (h35, tests/test_vllm_v2_moe.py); other ones are refused there.
- Pages, grouping, the null block, the start-up check and auto-fit are 0.29.0's for the kinds kvplan plans
  (the new kv_cache_utils.py branches are HiSparse and GLM-5-Next only): the same blocks for the same bytes.
- What is refused anew: multimodal prefix-LM models on compute capability 10.x (a composite attention
  backend first, rule mm_prefix_composite_backend), a V1 dummy sampler of 64 rows or fewer (the split
  top-p pipeline, rule topp_split_small_batch), --kv-cache-dtype nvfp4_ds_mla, eight new engine flags.
  0.31.0 is read against 0.30.0 in tests/test_vllm_0_31.py."""

from __future__ import annotations

import json
from importlib.resources import files

import pytest

from helpers import capacity_json as _plan, cli, gemma3_config_with_head_dim, one_line_error

from kvplan.engines import get_engine
from kvplan.engines import vllm_rules as R
from kvplan.engines.base import Release
from kvplan.engines.vllm import BOOK as VLLM_BOOK
from kvplan.errors import BadInputError
from kvplan.paging import BOOK as PAGING

_NAMES = ("engine", "paging")


def _same_but_names(a: dict, b: dict) -> bool:
    return {k: v for k, v in a.items() if k not in _NAMES} == {k: v for k, v in b.items() if k not in _NAMES}


def _both(capsys, *args):
    """The capacity JSON on 0.30.0 and on 0.29.0 for the same arguments."""
    return [_plan(capsys, *args, "--engine", f"vllm=={rel}") for rel in ("0.30.0", "0.29.0")]


def test_mm_prefix_model_refused_on_capability_10(capsys, tmp_path):
    """Gemma3ForConditionalGeneration (model type gemma3, is_mm_prefix_lm) on a B200: TRITON_FLASHINFER comes
    first (platforms/cuda.py 0.30.0 :158-166) for head sizes 256 and 512 (review h34 F1: head 128 plans, below);
    gemma-3-4b-it's config with head_dim 512 is refused (head 256 is refused earlier, by the FA4 block rule)."""
    path = gemma3_config_with_head_dim(tmp_path, 512)
    code, out, err = cli(capsys, "capacity", path, "--gpu", "b200", "--kv-cache-memory-bytes", "10000000000",
                         "--engine", "vllm==0.30.0")
    line = one_line_error(err)
    assert code == 2 and out == ""
    assert "(Gemma3ForConditionalGeneration) is a multimodal prefix-LM model" in line
    assert "TRITON_FLASHINFER" in line and line.endswith("use --engine vllm==0.29.0")
    # a model that is not a prefix LM plans on the B200 as on 0.29.0
    new, old = _both(capsys, "llama3.1-8b", "--gpu", "b200", "--kv-cache-memory-bytes", "60709920769")
    assert new["num_blocks"] == 28_948 and _same_but_names(new, old)


def test_mm_prefix_model_plans_on_capability_12(capsys):
    """The composite backends are for majors 10 and 9 only (platforms/cuda.py 0.30.0 :158-176; review h34 M3):
    Gemma-3-27B at 32,768 tokens on an RTX PRO 6000 (12.0) plans as on 0.29.0."""
    new, old = _both(capsys, "gemma3-27b", "--gpu", "rtx-pro-6000-server", "--max-model-len", "32768",
                     "--kv-cache-memory-bytes", "21144363809")
    assert (new["num_blocks"], new["blocks_per_request"]) == (16_131, 8_582) and _same_but_names(new, old)


def test_mm_prefix_model_with_head_512_refused_on_capability_9(capsys, tmp_path):
    """On 9.x TRITON_FLASH_ATTN (head sizes 256 / 512, its causal route FlashAttention 4 only: fa_utils.py
    get_flash_attn_version upgrades 3 -> 4 above head 256) comes first for a prefix-LM model (review h34 M5):
    gemma-3-4b-it's config with head_dim 512 is refused on an H100, while head 256 plans (above)."""
    path = gemma3_config_with_head_dim(tmp_path, 512)
    code, out, err = cli(capsys, "capacity", path, "--gpu", "h100", "--kv-cache-memory-bytes", "10000000000",
                         "--engine", "vllm==0.30.0")
    line = one_line_error(err)
    assert code == 2 and out == ""
    assert "is a multimodal prefix-LM model" in line and "TRITON_FLASH_ATTN" in line
    assert line.endswith("use --engine vllm==0.29.0")


def test_mm_prefix_model_with_head_128_plans_on_capability_10(capsys):
    """Review h34 F1: TRITON_FLASHINFER takes head sizes 256 and 512 only (triton_flashinfer.py
    head_sizes=(256, 512); composite.py supports_head_size :404-408), so vLLM 0.30.0 passes it over for
    Gemma-3-27B (head 128) and picks as 0.29.0 did (16,131 blocks, 14,342 a request)."""
    new, old = _both(capsys, "gemma3-27b", "--gpu", "b200", "--max-model-len", "32768",
                     "--kv-cache-memory-bytes", "21144363809")
    assert (new["num_blocks"], new["blocks_per_request"]) == (16_131, 14_342) and _same_but_names(new, old)


def test_small_v1_sampler_refused(capsys):
    """At max_num_seqs 64 the V1 dummy sampler has 64 rows: 0.30.0 runs the split top-p pipeline there
    (topk_topp_triton.py _SPLIT_MAX_BATCH :984); 0.29.0 plans it (activation 797,884,928 B); 65 rows plan."""
    cmd = "VLLM_USE_V2_MODEL_RUNNER=0 vllm serve Qwen/Qwen3-30B-A3B --kv-cache-memory-bytes 14002304205 --max-num-seqs"
    code, out, err = cli(capsys, "capacity", "--gpu", "h100", "--engine", "vllm==0.30.0", "--from-vllm", f"{cmd} 64")
    errors = [ln for ln in err.splitlines() if ln.startswith("kvplan: error:")]
    assert code == 2 and out == "" and len(errors) == 1
    assert "the V1 dummy sampler samples 64 rows" in errors[0] and "_apply_topp_split" in errors[0]
    old = _plan(capsys, "--gpu", "h100", "--engine", "vllm==0.29.0", "--from-vllm", f"{cmd} 64")
    assert (old["num_blocks"], old["activation_bytes"]) == (8_902, 797_884_928)
    new, old = [_plan(capsys, "--gpu", "h100", "--engine", f"vllm=={rel}", "--from-vllm", f"{cmd} 65")
                for rel in ("0.30.0", "0.29.0")]
    assert new["num_blocks"] == 8_902 and _same_but_names(new, old)


def test_nvfp4_ds_mla_refused(capsys):
    code, out, err = cli(capsys, "capacity", "llama3.1-8b", "--gpu", "b200", "--engine", "vllm==0.30.0",
                         "--kv-cache-memory-bytes", "150000000000", "--kv-cache-dtype", "nvfp4_ds_mla")
    assert code == 2 and out == "" and "nvfp4_ds_mla" in one_line_error(err)


@pytest.mark.parametrize("flag", ["--dp-sync-interval 4", "--elastic-ep-max-dp-size 4",
                                  "--enable-mamba-fine-grained-prefix-cache", "--enable-nccl-comm-suspend",
                                  "--engram-config {}", "--kda-decode-backend triton",
                                  "--sparse-indexer-topk-backend auto", "--watermark-config {}"])
def test_new_engine_flags_refused(capsys, flag):
    code, out, err = cli(capsys, "capacity", "--gpu", "h100", "--engine", "vllm==0.30.0", "--from-vllm",
                         f"vllm serve meta-llama/Llama-3.1-8B --kv-cache-memory-bytes 60709920769 {flag}")
    assert code == 2 and out == ""
    assert one_line_error(err) == (f"kvplan: error: {flag.split()[0]}: a vllm flag kvplan does not know; it may "
                                   f"change memory, so kvplan will not guess (remove it, or plan with kvplan's own "
                                   f"options)")


def test_rows():
    new, old = get_engine("vllm==0.30.0"), get_engine("vllm==0.29.0")
    assert R.RELEASES[-5:-3] == ("0.29.0", "0.30.0") and R.PUBLISHED_LATER == ()
    assert not R.REFUSED
    for name in ("v2_default_all", "v2_model_runner_architectures", "v2_runner_memory", "non_kv_from_free_memory",
                 "fa4_hd256_block", "moe_fp8_block_refined", "moe_persistent_workspace", "sampler_top_k_top_p",
                 "mla_forward_read", "deepseek_v2_forward_read", "scheduler_defaults", "allreduce_rms_fusion"):
        assert new.rule(name) == old.rule(name), name
    assert (new.rule("topp_split_small_batch"), old.rule("topp_split_small_batch")) == (True, False)
    # model_arch_config_convertor.py is_mm_prefix_lm (0.30.0 :362-384): bagel, gemma3, molmo2, moondream3,
    # paligemma, by registry.py's architectures (review h34 M16: a row dropped left the tests green)
    assert old.rule("mm_prefix_composite_backend") == () and new.rule("mm_prefix_composite_backend") == (
        "BagelForConditionalGeneration", "Gemma3ForConditionalGeneration", "HfMoondream",
        "Molmo2ForConditionalGeneration", "Moondream3ForCausalLM", "PaliGemmaForConditionalGeneration")
    assert (new.rule("rocm_moe_weight_padding"), old.rule("rocm_moe_weight_padding")) == ("compacted", "kept")
    assert set(new.rule("kv_cache_dtypes_unmodelled")) - set(old.rule("kv_cache_dtypes_unmodelled")) == {"nvfp4_ds_mla"}
    rel, rel29 = Release.parse("0.30.0"), Release.parse("0.29.0")
    for name in ("null_block_in_check", "unify_page_sizes", "modelled_kinds", "window_block_size"):
        assert PAGING.value(name, rel) == PAGING.value(name, rel29), name
    for book in (VLLM_BOOK, PAGING):  # every row in force at 0.30.0 cites a source
        assert all(row.source for row in book.table(rel).values())
    with pytest.raises(BadInputError, match=r"vllm 0\.34\.0 is not a release kvplan knows of \(newer than 0\.33\.0"):
        get_engine("vllm==0.34.0")


def _in(span, release: str) -> bool:
    return Release.parse(span[0]) <= Release.parse(release) <= Release.parse(span[1])


def test_engine_models_0_30_0():
    archs = json.loads(files("kvplan.data").joinpath("engine_models.json").read_text())["vllm"]["architectures"]
    # 0.30.0's registry.py: 376 classes, 10 added, none removed (FINDINGS_h34_v30.md section 5)
    assert sum(1 for spans in archs.values() if _in(spans[-1], "0.30.0")) == 376
    for added in ("Glm5NextForCausalLM", "DeepseekV41ForCausalLM", "NanbeigeForCausalLM", "K2HorizonForCausalLM"):
        assert archs[added][0][0] == "0.30.0"  # kept by 0.31.0 (tests/test_vllm_0_31.py)
    assert archs["LlamaForCausalLM"][-1][0] == "0.8.0"


def test_mla_prefill_nope_layout_from_0_30_0(capsys, tmp_path):
    """0.30.0's FlashAttnPrefillBackend.supports_mla_dimensions adds GLM5Next's NoPE layout (256, 0, 256),
    which the Blackwell order tries FlashAttention first for (only (192, 64, 256) puts TRT-LLM ragged first);
    0.29.0 lacks it. kvplan itself refuses an MLA config without a rotary part when it reads it, so the
    row matters only to benchmarks/check_vllm_rules.py until that is read."""
    new, old = (VLLM_BOOK.value("mla_prefill_dimensions", Release.parse(v)) for v in ("0.30.0", "0.29.0"))
    assert (256, 0, 256) in new["every"] and (256, 0, 256) not in old["every"]
    assert new["not_blackwell"] == old["not_blackwell"] == ((192, 64, 256),)
    assert VLLM_BOOK.value("mla_prefill_dimensions", Release.parse("0.33.0")) == new
    from helpers import hf_fixture
    path = tmp_path / "nope.json"
    path.write_text(json.dumps(hf_fixture("deepseek-v2-lite", qk_nope_head_dim=256, qk_rope_head_dim=0,
                                          v_head_dim=256, architectures=["DeepseekV3ForCausalLM"])), encoding="utf-8")
    code, out, err = cli(capsys, "capacity", str(path), "--gpu", "h100", "--engine", "vllm==0.30.0",
                         "--kv-cache-memory-bytes", "40G")
    assert code == 2 and out == "" and "qk_rope_head_dim must be a positive integer, got 0" in one_line_error(err)
