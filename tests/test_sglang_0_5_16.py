"""SGLang 0.5.16, read against 0.5.15.post1 from its published wheel (sglang-0.5.16-cp311-cp311-manylinux_2_34_x86_64
.whl): every rule kvplan/engines/sglang.py cites, diffed (docs/findings/FINDINGS_h32_sgl516.md). 0.5.16 moves the
pool into mem_cache/kv_cache_configurator.py (KVCacheConfigurator) with 0.5.15's arithmetic, splits the
mem-fraction sum into reserve_for_graph_mb / reserve_for_deepep_a2a_mb (the same terms; a post-capture sizing path
only with SGLANG_ENABLE_POST_CAPTURE_KV_SIZING, off), and plans what kvplan plans as 0.5.15.post1. It differs in
the prefill CUDA graphs of multimodal models (tc_piecewise for Cohere2Vision, Kimi-K2.5 and MiniMax-M3 sparse, which
keeps Kimi-K2.5's 1.5 GiB although it is MLA; breakable for Qwen3.5 VL), in the trtllm_mla default list
(LongCat-Flash), in the --kv-cache-dtype choices (mxfp8, nvfp4, fp4_mx_block16; nvfp4 refused as 0.5.22) and in lists
(multimodal: GLM-Image; sliding window / SWA pool: Inkling, Mellum, DeepSeek-V4 DSpark). 0.5.17 is modelled too
(tests/test_sglang_0_5_17.py); 0.5.20 and 0.5.21 are modelled too."""
from __future__ import annotations

import dataclasses

import pytest

from helpers import capacity_json, cli
from kvplan.engines import get_engine
from kvplan.engines.base import Release, registered_spans
from kvplan.engines.sglang import BOOK, GraphModel
from kvplan.gpus import get_gpu
from kvplan.loader import load_model

REL, OLD = "sglang==0.5.16", "sglang==0.5.15.post1"
H = "tests/fixtures/hf_configs/"


@pytest.mark.parametrize("args, fraction, weights, tokens, seqs", [
    # H100: 13,440 + 58 breakable prefill sizes x 8 MiB = 13,904 MiB reserved, 0.830, as 0.5.15.post1
    (("llama3.1-8b", "--gpu", "h100"), 0.83, 16_127_631_360, 411_925, 2048),
    (("qwen3-30b-a3b", "--gpu", "h100"), 0.83, 61_085_216_768, 91_902, 2048),
    # MLA: no breakable prefill graphs (server_args.py line 3774): 14,848 MiB on an H200 at tp 8, 0.897
    (("deepseek-v3", "--weights", "fp8", "--gpu", "h200", "--tp", "8"), 0.897, 85_879_341_312, 673_163, 2103),
    (("deepseek-v3", "--weights", "fp8", "--gpu", "b200", "--tp", "8"), 0.852, 85_879_341_312, 1_079_808, 3374),
    (("gemma3-27b", "--gpu", "h100", "--max-model-len", "29000"), 0.83, 54_999_031_520, 29_770, 2048),
    # the --context-length clamp kept (lines 4039-4045): 42 sizes at 2,048, 50 at 4,096
    (("llama3.1-8b", "--gpu", "h100", "--max-model-len", "2048"), 0.831, 16_127_631_360, 412_570, 4096),
    (("llama3.1-8b", "--gpu", "b200", "--max-model-len", "4096"), 0.855, 16_127_631_360, 1_122_560, 4096),
    (("llama3.1-8b", "--gpu", "b200"), 0.854, 16_127_631_360, 1_121_088, 4096),
    # pipeline stages keep the breakable graphs; DP attention turns them off (line 3799)
    (("llama3.1-8b", "--gpu", "h100", "--pp", "2"), 0.828, 8_097_374_208, 929_968, 3632),
    (("qwen3-30b-a3b", "--gpu", "h100", "--tp", "2", "--dp", "2"), 0.768, 15_914_790_912, 979_122, 4096),
])
def test_as_0_5_15_post1(capsys, args, fraction, weights, tokens, seqs):
    for engine in (OLD, REL):
        out = capacity_json(capsys, *args, "--engine", engine)
        assert (out["mem_fraction_static"], out["weights_bytes"], out["kv_cache_tokens"], out["max_num_seqs"]) == (
            fraction, weights, tokens, seqs), engine


def test_multimodal_prefill_graphs():
    eng, old = get_engine(REL), get_engine(OLD)
    h200 = get_gpu("h200")
    # Kimi-K2.5 (MLA, multimodal) is switched to tc_piecewise (server_args.py lines 3649-3678), which has no MLA
    # rule: 1.5 GiB reserved again (0.5.15.post1: off, multimodal and MLA under breakable)
    kimi = dataclasses.replace(load_model("deepseek-v3"), architecture="KimiK25ForConditionalGeneration")
    assert eng.rule("vlm_fraction").serves(kimi)
    new = GraphModel.of(kimi, None, eng.rule("prefill_graphs"), eng.rule("vlm_fraction"))
    was = GraphModel.of(kimi, None, old.rule("prefill_graphs"), old.rule("vlm_fraction"))
    assert (new.prefill_graphs, new.with_pipeline, was.prefill_graphs) == (True, False, False)
    # H200 tp 8: 14,848 + 1,536 = 16,384 MiB, 0.886 (0.5.15.post1 0.897)
    assert float(eng.default_memory_fraction(h200, 8, 1, spec=kimi)) == 0.886
    assert float(old.default_memory_fraction(h200, 8, 1, spec=kimi)) == 0.897
    rule = eng.rule("prefill_graphs")
    assert rule["mm_tc"] == ("Cohere2VisionForConditionalGeneration", "KimiK25ForConditionalGeneration",
                             "MiniMaxM3SparseForCausalLM", "MiniMaxM3SparseForConditionalGeneration")
    assert rule["mm_kept"] == ("Qwen3_5ForConditionalGeneration", "Qwen3_5MoeForConditionalGeneration")
    assert (rule["mla_off"], rule["pp_kept"], rule["context_clamp"], rule.get("dp_kept")) == (True, True, True, None)
    # a multimodal model off both lists still has none (Qwen3-VL)
    vl = load_model(H + "qwen3-vl-8b-instruct.json")
    assert not GraphModel.of(vl, None, rule, eng.rule("vlm_fraction")).prefill_graphs
    # DeepSeek-V3.2 (MLA with DSA) on an H200 at tp 8: 0.897, as 0.5.15.post1; page 64
    v32 = load_model(H + "deepseek-v3.2.json")
    assert float(eng.default_memory_fraction(h200, 8, 1, spec=v32)) == 0.897
    assert eng.model_block_size(v32, h200, None, None, 1) == 64


def test_rows_that_changed(capsys):
    eng, old = get_engine(REL), get_engine(OLD)
    trtllm_mla = eng.rule("mla_backend_default")["rows"][0]
    assert trtllm_mla[2] == "trtllm_mla" and set(trtllm_mla[3]) - set(old.rule("mla_backend_default")["rows"][0][3]) == {
        "LongcatFlashForCausalLM", "LongcatFlashForCausalLMNextN"}
    assert set(eng.rule("kv_cache_dtypes")) - set(old.rule("kv_cache_dtypes")) == {"mxfp8", "nvfp4", "fp4_mx_block16"}
    assert set(eng.rule("vlm_fraction").archs) - set(old.rule("vlm_fraction").archs) == {
        "GlmImageForConditionalGeneration"}
    assert set(eng.rule("sliding_window_archs")) - set(old.rule("sliding_window_archs")) == {
        "InklingForConditionalGeneration", "InklingForConditionalGenerationMTP", "MellumForCausalLM"}
    assert set(eng.rule("swa_pool_archs")) - set(old.rule("swa_pool_archs")) == {
        "InklingForConditionalGeneration", "InklingForConditionalGenerationMTP", "MellumForCausalLM",
        "DeepseekV4ForCausalLMDSpark"}  # the MTP draft names are in 0.5.15's row too (h34-sglaud)
    assert eng.rule("backend_page_size")["trtllm_mha"] == ((16, 32, 64), 64, "1732-1741")
    # nvfp4 is a choice now, refused as 0.5.22's (scale buffers and a dequant workspace kvplan's format lacks)
    code, _, err = cli(capsys, "capacity", "llama3.1-8b", "--gpu", "b200", "--engine", REL, "--kv-cache-dtype", "nvfp4")
    assert code == 2 and "sglang==0.5.16 --kv-cache-dtype nvfp4: its nvfp4 cache keeps scale buffers" in err
    code, _, err = cli(capsys, "capacity", "llama3.1-8b", "--gpu", "b200", "--engine", OLD, "--kv-cache-dtype", "nvfp4")
    assert code == 2 and "cannot store the KV cache as nvfp4" in err
    # the same values at 0.5.16's lines
    for name in ("mha_backend_default", "mem_fraction_static_default", "dsa", "allreduce_rms_fusion",
                 "fp8_kv_start", "own_backend_unread", "request_cap", "trtllm_mha_large_page"):
        assert eng.rule(name) == old.rule(name), name
    # the rows 0.5.15.post1 and 0.5.16 share
    for name in ("pool_formula", "page_size", "running_requests", "dsa_fp8_alloc_bytes", "dp_attention_weights",
                 "aiter_fraction", "multimodal", "min_capability", "weights_min_capability", "checkpoint_fp8_kv_auto",
                 "rope_table", "alibi_slopes_tensor", "request_pool_extra", "startup_in_use_bytes",
                 "shared_expert_whole", "mla_copy_block_fp8", "pipeline_parallel"):
        assert BOOK.rule(name, eng.release) is BOOK.rule(name, old.release), name


def test_new_architectures_are_registered_from_0_5_16():
    # kvplan/data/engine_models.json from the wheels: 0.5.15.post1 213 classes, 0.5.16 222, none removed
    for arch in ("MellumForCausalLM", "InklingForConditionalGeneration", "GlmImageForConditionalGeneration",
                 "MiniMaxM3SparseForCausalLM", "GlmMoeDsaForCausalLMNextN"):
        spans = registered_spans("sglang", arch)
        assert spans and spans[0][0] == Release.parse("0.5.16"), arch
