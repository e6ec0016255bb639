"""SGLang 0.5.18, read against 0.5.17 from its published wheel (sglang-0.5.18-cp311-cp311-manylinux_2_34_x86_64.whl):
every rule kvplan/engines/sglang.py cites, diffed (docs/findings/FINDINGS_h32_sgl518.md). 0.5.18 sums its reserve,
sizes the pool, the pages, the request cap and max_running_requests as 0.5.17 for what kvplan plans. It differs in
the breakable prefill CUDA graphs, which MLA models keep again (server_args.py
_disable_breakable_cudagraph_if_incompatible lines 4666-4717 drop the MLA rule: DeepSeek-V3 reserves 1.5 GiB, 0.5.14's
sum), in the 100 MiB a multimodal model's
KV budget loses (kv_cache_configurator.py mm_runtime_reservation_gb, 0.5.22's), and in lists (MuseGlimmer,
InternS2Mobius; all-reduce fusion + DeepSeek-V4). 0.5.20 and 0.5.21 are modelled too."""
from __future__ import annotations

import dataclasses

import pytest

from helpers import capacity_json
from kvplan.capacity import make_request, plan
from kvplan.engines import get_engine
from kvplan.engines.base import Release, registered_spans
from kvplan.engines.sglang import BOOK, GraphModel
from kvplan.gpus import get_gpu
from kvplan.loader import load_model

REL, OLD = "sglang==0.5.18", "sglang==0.5.17"
H = "tests/fixtures/hf_configs/"


@pytest.mark.parametrize("args, fraction, weights, tokens, seqs", [
    (("llama3.1-8b", "--gpu", "h100"), 0.83, 16_127_631_360, 411_925, 2048),
    (("qwen3-30b-a3b", "--gpu", "h100"), 0.83, 61_085_216_768, 91_902, 2048),
    (("gemma3-27b", "--gpu", "h100", "--max-model-len", "29000"), 0.83, 54_999_031_520, 29_770, 2048),
    (("llama3.1-8b", "--gpu", "b200"), 0.854, 16_127_631_360, 1_121_088, 4096),
    # breakable prefill graphs still kept at pp > 1 (no pp rule): 13,568 + 58 x 8 = 14,032 MiB
    (("llama3.1-8b", "--gpu", "h100", "--pp", "2"), 0.828, 8_097_374_208, 929_968, 3632),
    # and under DP attention (no DP-attention rule, as 0.5.17)
    (("qwen3-30b-a3b", "--gpu", "h100", "--tp", "2", "--dp", "2"), 0.762, 15_914_790_912, 968_943, 4096),
    ((H + "gemma-3-1b-it.json", "--gpu", "h100"), 0.83, 2_066_881_792, 2_556_065, 4096),
    # Gemma 3 is on mm_disabled_models: not multimodal, no 100 MiB either
    ((H + "gemma-3-4b-it.json", "--gpu", "h100"), 0.83, 8_868_595_424, 439_819, 2048),
])
def test_as_0_5_17(capsys, args, fraction, weights, tokens, seqs):
    for engine in (OLD, REL):
        out = capacity_json(capsys, *args, "--engine", engine)
        assert (out["mem_fraction_static"], out["weights_bytes"], out["kv_cache_tokens"], out["max_num_seqs"]) == (
            fraction, weights, tokens, seqs), engine


@pytest.mark.parametrize("args, old, new", [
    # MLA keeps its breakable prefill graphs again: H200 tp 8 reserves 14,848 + 1,536 = 16,384 MiB,
    # round(127,387 / 143,771, 3) = 0.886 (0.5.15-0.5.17: 0.897), 0.5.14's figures
    (("deepseek-v3", "--weights", "fp8", "--gpu", "h200", "--tp", "8"), (0.897, 673_163, 2103), (0.886, 649_921, 2048)),
    (("deepseek-v3", "--weights", "fp8", "--gpu", "b200", "--tp", "8"), (0.852, 1_079_808, 3374),
     (0.844, 1_058_176, 3306)),
    # under DP attention too (SGLang tp 8, dp 8): + 1,536 MiB, 0.769 -> 0.758
    (("deepseek-v3", "--weights", "fp8", "--gpu", "h200", "--tp", "1", "--dp", "8"), (0.769, 223_358, 2048),
     (0.758, 200_117, 2048)),
])
def test_mla_prefill_graphs_are_back(capsys, args, old, new):
    for engine, want in ((OLD, old), (REL, new)):
        out = capacity_json(capsys, *args, "--engine", engine)
        assert (out["mem_fraction_static"], out["kv_cache_tokens"], out["max_num_seqs"]) == want, engine
    if "--dp" not in args:  # 0.5.18 equals 0.5.14, the last release before the MLA rule
        out = capacity_json(capsys, *args, "--engine", "sglang==0.5.14")
        assert (out["mem_fraction_static"], out["kv_cache_tokens"], out["max_num_seqs"]) == new


@pytest.mark.parametrize("model, old, new", [
    # mm_runtime_reservation_gb: SGLANG_VLM_CACHE_SIZE_MB = 100 MiB off the KV budget (cpu transport on one node)
    (H + "qwen3-vl-8b-instruct.json", 322_571, 321_860),
    (H + "llava-1.5-7b.json", 100_919, 100_719),
])
def test_multimodal_kv_reservation(capsys, model, old, new):
    got = {e: capacity_json(capsys, model, "--engine", e) for e in (OLD, REL)}
    assert (got[OLD]["kv_cache_tokens"], got[REL]["kv_cache_tokens"]) == (old, new)
    assert got[REL]["other_bytes"] - got[OLD]["other_bytes"] == 100 * 2**20
    assert got[REL]["mem_fraction_static"] == got[OLD]["mem_fraction_static"]
    spec = load_model(model)
    assert (get_engine(REL).multimodal_reserve_bytes(spec), get_engine(OLD).multimodal_reserve_bytes(spec)) == (
        104_857_600, 0)


def test_the_prefill_graph_rule():
    eng, old = get_engine(REL), get_engine(OLD)
    rule, vlm = eng.rule("prefill_graphs"), eng.rule("vlm_fraction")
    assert (rule["mla_off"], rule["pp_kept"], rule["dp_kept"], rule["context_clamp"]) == (False, True, True, False)
    assert old.rule("prefill_graphs")["mla_off"] is True
    ds = load_model("deepseek-v3")
    assert GraphModel.of(ds, None, rule, vlm).prefill_graphs
    assert not GraphModel.of(ds, None, old.rule("prefill_graphs"), old.rule("vlm_fraction")).prefill_graphs
    # Kimi-K2.5 is on both multimodal lists now: it stays breakable (0.5.17: tc_piecewise, off with pp / DP attention)
    kimi = dataclasses.replace(ds, architecture="KimiK25ForConditionalGeneration")
    graphs = GraphModel.of(kimi, None, rule, vlm)
    assert (graphs.prefill_graphs, graphs.with_pipeline, graphs.with_dp_attention) == (True, True, True)
    graphs = GraphModel.of(kimi, None, old.rule("prefill_graphs"), old.rule("vlm_fraction"))
    assert (graphs.prefill_graphs, graphs.with_pipeline, graphs.with_dp_attention) == (True, False, False)
    # Cohere2Vision still goes tc_piecewise (piecewise list only); a multimodal model on neither list: off
    llama = load_model("llama3.1-8b")
    cohere = dataclasses.replace(llama, architecture="Cohere2VisionForConditionalGeneration")
    graphs = GraphModel.of(cohere, None, rule, vlm)
    assert (graphs.prefill_graphs, graphs.with_pipeline, graphs.with_dp_attention) == (True, False, False)
    assert not GraphModel.of(load_model(H + "qwen3-vl-8b-instruct.json"), None, rule, vlm).prefill_graphs
    # MuseGlimmer's prefill graphs stop at 512 tokens (_apply_muse_glimmer_prefill_cuda_graph_max_bs_default)
    muse = dataclasses.replace(llama, architecture="MuseGlimmerForConditionalGeneration")
    graphs = GraphModel.of(muse, None, rule, vlm)
    assert (graphs.prefill_graphs, graphs.prefill_max_bs) == (True, 512)
    assert GraphModel.of(muse, None, old.rule("prefill_graphs"), old.rule("vlm_fraction")).prefill_max_bs is None
    # the DeepSeek-V3 plan through the API: 0.886 at tp 8 on an H200
    p = plan(make_request(ds, "h200", engine=REL, tp=8, weights="fp8"))
    assert (float(p.settings.memory_fraction), p.kv_cache_tokens) == (0.886, 649_921)


def test_rows_that_changed():
    eng, old = get_engine(REL), get_engine(OLD)
    assert set(eng.rule("vlm_fraction").archs) - set(old.rule("vlm_fraction").archs) == {
        "MuseGlimmerForConditionalGeneration", "InternS2MobiusForConditionalGeneration"}
    assert old.rule("multimodal") is None and eng.rule("multimodal")["kv_reserve_mib"] == 100
    assert set(eng.rule("sliding_window_archs")) - set(old.rule("sliding_window_archs")) == {
        "MuseGlimmerForCausalLM", "MuseGlimmerForConditionalGeneration"}
    assert set(eng.rule("swa_pool_archs")) - set(old.rule("swa_pool_archs")) == {
        "MuseGlimmerForCausalLM", "MuseGlimmerForConditionalGeneration"}
    fused, was = eng.rule("allreduce_rms_fusion"), old.rule("allreduce_rms_fusion")
    # overrides.py _FLASHINFER_ALLREDUCE_FUSION_ARCHS lines 1959-1979: DeepSeek-V4 only (no InternS2Mobius: h33-swa22)
    assert {a for a, _ in fused.defaults} - {a for a, _ in was.defaults} == {"DeepseekV4ForCausalLM"}
    assert dataclasses.replace(fused, defaults=was.defaults) == was
    assert set(eng.rule("mha_backend_default")["own"]) - set(old.rule("mha_backend_default")["own"]) == {
        "InternS2MobiusForConditionalGeneration"}
    # the same values at 0.5.18's lines
    assert eng.rule("backend_page_size")["trtllm_mha"] == ((16, 32, 64, 128), 64, "2179-2192")
    assert {k: v[:2] for k, v in eng.rule("backend_page_size").items()} == {
        k: v[:2] for k, v in old.rule("backend_page_size").items()}
    assert "arg_groups/overrides.py line 2224" in eng.rule("fp8_kv_start")["trtllm_mla"]["fp8_e5m2"][1]


def test_rows_shared_with_0_5_17():
    eng, old = get_engine(REL), get_engine(OLD)
    for name in ("pool_formula", "page_size", "running_requests", "dsa_fp8_alloc_bytes", "dp_attention_weights",
                 "aiter_fraction", "min_capability", "weights_min_capability",
                 "rope_table", "alibi_slopes_tensor", "request_pool_extra", "startup_in_use_bytes",
                 "shared_expert_whole", "mla_copy_block_fp8", "pipeline_parallel", "request_cap", "dsa",
                 "own_backend_unread", "mla_backend_default", "kv_cache_dtypes", "kv_dtypes_unmodelled",
                 "trtllm_mha_large_page", "llama4_backend_asserted", "llama4_vision_tower", "rope_scaling_passed"):
        assert BOOK.rule(name, eng.release) is BOOK.rule(name, old.release), name
    # checkpoint_fp8_kv_auto differs: Fp8Config.from_config keeps a quant_method fp8 config's kv_cache_quant_algo
    # from 0.5.18 (layers/quantization/fp8.py lines 306-345)
    assert (eng.rule("checkpoint_fp8_kv_auto"), old.rule("checkpoint_fp8_kv_auto")) == (("modelopt", "fp8"), ("modelopt",))
    # a new row, the same value
    assert eng.rule("mem_fraction_static_default") == old.rule("mem_fraction_static_default") == "reserved_0_5_13"
    assert eng.rule("mha_backend_default")["rows"] == old.rule("mha_backend_default")["rows"]


def test_allreduce_fusion_as_0_5_17():
    vl, h100 = load_model(H + "qwen3-vl-30b-a3b-instruct.json"), get_gpu("h100")
    got = get_engine(REL).allreduce_rms_fusion(h100, tp=2, spec=vl)
    assert (got.on, got.max_bytes) == (True, 8_388_608)
    got = get_engine(REL).allreduce_rms_fusion(get_gpu("h200"), tp=8, spec=load_model("deepseek-v3"))
    assert (got.on, got.max_bytes) == (True, 29_360_128)


def test_new_architectures_are_registered_from_0_5_18():
    # kvplan/data/engine_models.json from the wheels: 0.5.17 229 classes, 0.5.18 233 (InternS2Mobius, MuseGlimmer x3)
    for arch in ("InternS2MobiusForConditionalGeneration", "MuseGlimmerForCausalLM",
                 "MuseGlimmerForConditionalGeneration", "MuseGlimmerAssistantModel"):
        spans = registered_spans("sglang", arch)
        assert spans and spans[0][0] == Release.parse("0.5.18"), arch
