"""SGLang 0.5.15 and 0.5.15.post1, read against 0.5.14 from their published wheels (sglang-0.5.15-cp311-cp311-
manylinux_2_34_x86_64.whl, sglang-0.5.15.post1-...: post1 differs only in DSA / PD-disaggregation / speculative
compute paths no rule reads): every rule kvplan/engines/sglang.py cites, diffed (docs/findings/
FINDINGS_h32_sgl514.md). 0.5.15 moves the model-specific server defaults into arg_groups/overrides.py (declared,
applied at the end of __post_init__) with the same choices, and sizes the pool, the pages, max_running_requests
and the request cap as 0.5.14. It differs in the prefill CUDA graphs: breakable by default on CUDA, which are
off for an MLA model (DeepSeek-V3 no longer reserves 1.5 GiB for them) and stay on with pipeline stages, and in
lists (multimodal, sliding window, SWA pool: UnlimitedOCR, LocateAnything). 0.5.16 and 0.5.17 are modelled too (tests/test_sglang_0_5_16.py,
test_sglang_0_5_17.py); 0.5.20 and 0.5.21 are modelled too."""
from __future__ import annotations

import pytest

from helpers import capacity_json
from kvplan.capacity import make_request, plan
from kvplan.engines import get_engine
from kvplan.engines.base import Release, registered_spans
from kvplan.engines.sglang import BOOK, GraphModel, _reserved_0_5_10
from kvplan.gpus import get_gpu
from kvplan.loader import load_model

REL, POST, OLD = "sglang==0.5.15", "sglang==0.5.15.post1", "sglang==0.5.14"
H = "tests/fixtures/hf_configs/"


@pytest.mark.parametrize("args, fraction, weights, tokens", [
    # H100: 13,440 + 58 prefill sizes x 8 MiB = 13,904 MiB reserved, 0.830, as 0.5.14
    (("llama3.1-8b", "--gpu", "h100"), 0.83, 16_127_631_360, 411_925),
    (("qwen3-30b-a3b", "--gpu", "h100"), 0.83, 61_085_216_768, 91_902),
    (("gemma3-27b", "--gpu", "h100", "--max-model-len", "29000"), 0.83, 54_999_031_520, 29_770),
    (("llama3.1-8b", "--gpu", "h100", "--max-model-len", "2048"), 0.831, 16_127_631_360, 412_570),
    (("llama3.1-8b", "--gpu", "b200"), 0.854, 16_127_631_360, 1_121_088),
    ((H + "gemma-3-1b-it.json", "--gpu", "h100"), 0.83, 2_066_881_792, 2_556_065),
])
def test_as_0_5_14(capsys, args, fraction, weights, tokens):
    for engine in (OLD, REL, POST):
        out = capacity_json(capsys, *args, "--engine", engine)
        assert (out["weights_bytes"], out["kv_cache_tokens"], out["mem_fraction_static"]) == (
            weights, tokens, fraction), engine


@pytest.mark.parametrize("args, old, new", [
    # MLA: the breakable prefill graphs are off (server_args.py line 3352), so no 1.5 GiB: H200 tp 8 reserves
    # 512 + 12,288 + 1,024 + 1,024 = 14,848 MiB, round(128,923 / 143,771, 3) = 0.897 (0.5.14: 16,384 MiB, 0.886)
    (("deepseek-v3", "--weights", "fp8", "--gpu", "h200", "--tp", "8"), (0.886, 649_921, 2048), (0.897, 673_163, 2103)),
    # B200 (183,359 MiB): 28,672 -> 27,136 MiB, 0.844 -> 0.852
    (("deepseek-v3", "--weights", "fp8", "--gpu", "b200", "--tp", "8"), (0.844, 1_058_176, 3306),
     (0.852, 1_079_808, 3374)),
    # pp 2: the breakable graphs stay on (tc_piecewise was off with pipeline stages): 13,568 + 58 x 8 = 14,032 MiB
    (("llama3.1-8b", "--gpu", "h100", "--pp", "2"), (0.834, 937_602, 3662), (0.828, 929_968, 3632)),
])
def test_breakable_prefill_graphs(capsys, args, old, new):
    for engine, want in ((OLD, old), (REL, new), (POST, new)):
        out = capacity_json(capsys, *args, "--engine", engine)
        assert (out["mem_fraction_static"], out["kv_cache_tokens"], out["max_num_seqs"]) == want, engine


def test_the_prefill_graph_rule():
    eng, old = get_engine(REL), get_engine(OLD)
    ds = load_model("deepseek-v3")
    graphs = GraphModel.of(ds, None, eng.rule("prefill_graphs"), eng.rule("vlm_fraction"))
    assert (graphs.prefill_graphs, graphs.with_pipeline) == (False, True)
    graphs = GraphModel.of(ds, None, old.rule("prefill_graphs"), old.rule("vlm_fraction"))
    assert (graphs.prefill_graphs, graphs.with_pipeline) == (True, False)
    # H100, tp 1, pp 2: the graphs only count at pp > 1 where the release keeps them
    assert _reserved_0_5_10(81559, 1, 2, graphs=GraphModel(with_pipeline=True)) == 14_032
    assert _reserved_0_5_10(81559, 1, 2, graphs=GraphModel()) == 13_568
    # DP attention still turns them off (line 3372): Qwen3-30B-A3B tp 2 dp 2 as 0.5.14
    q = load_model("qwen3-30b-a3b")
    p = plan(make_request(q, "h100", engine=REL, tp=2, dp=2))
    assert (float(p.settings.memory_fraction), p.kv_cache_tokens) == (0.768, 979_122)
    # DeepSeek-V3.2 (MLA with DSA) on an H200 at tp 8: 0.897, as 0.5.12 (0.5.13 / 0.5.14: 0.886); page 64
    v32, h200 = load_model(H + "deepseek-v3.2.json"), get_gpu("h200")
    got = {e: float(get_engine(e).default_memory_fraction(h200, 8, 1, spec=v32)) for e in (OLD, REL)}
    assert got == {OLD: 0.886, REL: 0.897}
    assert eng.model_block_size(v32, h200, None, None, 1) == 64


def test_rows_that_changed():
    eng, old = get_engine(REL), get_engine(OLD)
    assert set(eng.rule("vlm_fraction").archs) - set(old.rule("vlm_fraction").archs) == {
        "LocateAnythingForConditionalGeneration", "UnlimitedOCRForCausalLM"}
    assert set(eng.rule("sliding_window_archs")) - set(old.rule("sliding_window_archs")) == {"UnlimitedOCRForCausalLM"}
    assert set(eng.rule("swa_pool_archs")) - set(old.rule("swa_pool_archs")) == {"UnlimitedOCRForCausalLM"}
    new, was = eng.rule("prefill_graphs"), old.rule("prefill_graphs")
    assert (new["mla_off"], new["pp_kept"], new["mm_kept"]) == (True, True, ())
    assert new["off_archs"] == ("DeepseekV4ForCausalLM", "DeepseekV4ForCausalLMNextN")
    assert "mla_off" not in was and "pp_kept" not in was
    assert eng.rule("backend_page_size")["trtllm_mha"] == ((16, 32, 64), 64, "1570-1579")
    assert "arg_groups/overrides.py line 1600" in eng.rule("fp8_kv_start")["trtllm_mla"]["fp8_e5m2"][1]
    # the same values at 0.5.15's lines
    for name in ("mha_backend_default", "mla_backend_default", "dsa", "mem_fraction_static_default",
                 "allreduce_rms_fusion"):
        assert eng.rule(name) == old.rule(name), name
    cap, was_cap = eng.rule("request_cap"), old.rule("request_cap")
    assert (cap.short, cap.start_min, cap.prompt_short, cap.pool_page_short) == (
        was_cap.short, was_cap.start_min, was_cap.prompt_short, was_cap.pool_page_short) == (2, 2, 7, True)
    assert set(eng.rule("own_backend_unread")) == set(old.rule("own_backend_unread"))
    # the rows 0.5.14 and 0.5.15 share
    for name in ("pool_formula", "page_size", "running_requests", "dsa_fp8_alloc_bytes", "dp_attention_weights",
                 "aiter_fraction", "multimodal", "kv_cache_dtypes", "min_capability", "weights_min_capability",
                 "checkpoint_fp8_kv_auto", "trtllm_mha_large_page", "rope_table", "alibi_slopes_tensor",
                 "request_pool_extra", "startup_in_use_bytes", "shared_expert_whole", "mla_copy_block_fp8"):
        assert BOOK.rule(name, eng.release) is BOOK.rule(name, old.release), name


def test_allreduce_fusion_as_0_5_14():
    vl, h100 = load_model(H + "qwen3-vl-30b-a3b-instruct.json"), get_gpu("h100")
    got = get_engine(REL).allreduce_rms_fusion(h100, tp=2, spec=vl)
    assert (got.on, got.max_bytes) == (True, 8_388_608)
    got = get_engine(REL).allreduce_rms_fusion(get_gpu("h200"), tp=8, spec=load_model("deepseek-v3"), asked=False)
    assert not got.on and got.source.startswith("--enforce-disable-flashinfer-allreduce-fusion")


def test_new_architectures_are_registered_from_0_5_15():
    # kvplan/data/engine_models.json from the wheels: 0.5.14 209 classes, 0.5.15 and post1 213 (DFlashLaguna,
    # HrmText, LocateAnything, UnlimitedOCR), none removed
    for arch in ("UnlimitedOCRForCausalLM", "HrmTextForCausalLM", "LocateAnythingForConditionalGeneration"):
        spans = registered_spans("sglang", arch)
        assert spans and spans[0][0] == Release.parse("0.5.15"), arch
