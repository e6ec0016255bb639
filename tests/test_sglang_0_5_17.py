"""SGLang 0.5.17, read against 0.5.16 from its published wheel (sglang-0.5.17-cp311-cp311-manylinux_2_34_x86_64.whl):
every rule kvplan/engines/sglang.py cites, diffed (docs/findings/FINDINGS_h32_sgl516.md). 0.5.17 sums its reserve,
sizes the pool, the request cap and max_running_requests as 0.5.16 for what kvplan plans. It differs in the prefill
CUDA graphs: the --context-length clamp is gone (Llama-3.1-8B on an H100 at --max-model-len 2048 reserves the 58
sizes again), DeepSeek sparse attention keeps its breakable graphs (1.5 GiB) and DP attention no longer turns them
off (sized for the chunk before SGLang divides it by dp); in the attention backends on sm100 (fa4, pages of 128, for
a model whose K and V rows differ in width; trtllm_mha keeps pages of 128 too); and the MLA cell is sized as stored
(calculate_mla_kv_cache_dim), which changes nothing kvplan plans. 0.5.20 and 0.5.21 are modelled too."""
from __future__ import annotations

import dataclasses

import pytest

from helpers import capacity_json
from kvplan.capacity import make_request, plan
from kvplan.engines import get_engine
from kvplan.engines.base import Release, registered_spans
from kvplan.engines.sglang import BOOK, GraphModel, _reserved_0_5_10
from kvplan.gpus import get_gpu
from kvplan.loader import load_model

REL, OLD = "sglang==0.5.17", "sglang==0.5.16"
H = "tests/fixtures/hf_configs/"


@pytest.mark.parametrize("args, fraction, weights, tokens, seqs", [
    (("llama3.1-8b", "--gpu", "h100"), 0.83, 16_127_631_360, 411_925, 2048),
    (("qwen3-30b-a3b", "--gpu", "h100"), 0.83, 61_085_216_768, 91_902, 2048),
    # MLA without DSA: still no breakable prefill graphs (server_args.py lines 4467-4471)
    (("deepseek-v3", "--weights", "fp8", "--gpu", "h200", "--tp", "8"), 0.897, 85_879_341_312, 673_163, 2103),
    (("deepseek-v3", "--weights", "fp8", "--gpu", "b200", "--tp", "8"), 0.852, 85_879_341_312, 1_079_808, 3374),
    (("gemma3-27b", "--gpu", "h100", "--max-model-len", "29000"), 0.83, 54_999_031_520, 29_770, 2048),
    (("llama3.1-8b", "--gpu", "b200"), 0.854, 16_127_631_360, 1_121_088, 4096),
    (("llama3.1-8b", "--gpu", "h100", "--pp", "2"), 0.828, 8_097_374_208, 929_968, 3632),
])
def test_as_0_5_16(capsys, args, fraction, weights, tokens, seqs):
    for engine in (OLD, REL):
        out = capacity_json(capsys, *args, "--engine", engine)
        assert (out["mem_fraction_static"], out["weights_bytes"], out["kv_cache_tokens"], out["max_num_seqs"]) == (
            fraction, weights, tokens, seqs), engine


@pytest.mark.parametrize("args, old, new", [
    # no --context-length clamp (0.5.16 lines 4039-4045 are gone): 58 sizes x 8 MiB, as without --max-model-len
    (("llama3.1-8b", "--gpu", "h100", "--max-model-len", "2048"), (0.831, 412_570), (0.83, 411_925)),
    (("llama3.1-8b", "--gpu", "b200", "--max-model-len", "4096"), (0.855, 1_122_560), (0.854, 1_121_088)),
    # DP attention keeps the breakable graphs: SGLang tp 4, dp 2 on an H100: 18,944 + 58 x 8 = 19,408 MiB,
    # round(62,151 / 81,559, 3) = 0.762 (0.5.16: 0.768)
    (("qwen3-30b-a3b", "--gpu", "h100", "--tp", "2", "--dp", "2"), (0.768, 979_122), (0.762, 968_943)),
])
def test_prefill_graphs_that_changed(capsys, args, old, new):
    for engine, want in ((OLD, old), (REL, new)):
        out = capacity_json(capsys, *args, "--engine", engine)
        assert (out["mem_fraction_static"], out["kv_cache_tokens"]) == want, engine


def test_the_prefill_graph_rule():
    eng, old = get_engine(REL), get_engine(OLD)
    rule = eng.rule("prefill_graphs")
    assert (rule["context_clamp"], rule["dsa_kept"], rule["dp_kept"], rule["mla_off"]) == (False, True, True, True)
    assert "dp_kept" not in old.rule("prefill_graphs") and "dsa_kept" not in old.rule("prefill_graphs")
    # DeepSeek-V3.2 (DSA) on an H200 at tp 8: 1.5 GiB again, 0.886 (0.5.16: 0.897); page 64
    v32, h200 = load_model(H + "deepseek-v3.2.json"), get_gpu("h200")
    got = {e: float(get_engine(e).default_memory_fraction(h200, 8, 1, spec=v32)) for e in (OLD, REL)}
    assert got == {OLD: 0.897, REL: 0.886}
    assert eng.model_block_size(v32, h200, None, None, 1) == 64
    graphs = GraphModel.of(v32, None, rule, eng.rule("vlm_fraction"))
    assert (graphs.prefill_graphs, graphs.with_pipeline, graphs.with_dp_attention) == (True, True, True)
    # DeepSeek-V3 (MLA without DSA) still none
    assert not GraphModel.of(load_model("deepseek-v3"), None, rule, eng.rule("vlm_fraction")).prefill_graphs
    # Kimi-K2.5 goes tc_piecewise as in 0.5.16: kept, but not under DP attention nor with pipeline stages
    kimi = dataclasses.replace(load_model("deepseek-v3"), architecture="KimiK25ForConditionalGeneration")
    graphs = GraphModel.of(kimi, None, rule, eng.rule("vlm_fraction"))
    assert (graphs.prefill_graphs, graphs.with_pipeline, graphs.with_dp_attention) == (True, False, False)
    # H100, SGLang tp 4 over dp 2: the graphs count under DP attention only where the release keeps them
    assert _reserved_0_5_10(81559, 4, 1, None, 2, graphs=GraphModel(with_dp_attention=True)) == 19_408
    assert _reserved_0_5_10(81559, 4, 1, None, 2, graphs=GraphModel()) == 18_944
    q = load_model("qwen3-30b-a3b")
    p = plan(make_request(q, "h100", engine=REL, tp=2, dp=2))
    assert (float(p.settings.memory_fraction), p.kv_cache_tokens) == (0.762, 968_943)


def test_backends_on_sm100(capsys):
    eng, old = get_engine(REL), get_engine(OLD)
    b200 = get_gpu("b200")
    llama = load_model("llama3.1-8b")
    # K and V rows of different widths: fa4 on sm100 (server_args.py lines 5697-5700), pages of 128
    wide = dataclasses.replace(llama, v_head_dim=64)
    assert eng.default_backend(wide, b200) == "fa4" and eng.model_block_size(wide, b200, None, None, 1) == 128
    assert old.default_backend(wide, b200) == "trtllm_mha" and old.model_block_size(wide, b200, None, None, 1) == 64
    assert eng.default_backend(llama, b200) == "trtllm_mha" and eng.model_block_size(llama, b200, None, None, 1) == 64
    # trtllm_mha keeps pages of 128 (overrides.py lines 2081-2094) with trtllm-gen's GQA check (rule
    # trtllm_mha_large_page, as 0.5.22)
    assert eng.rule("backend_page_size")["trtllm_mha"] == ((16, 32, 64, 128), 64, "2081-2094")
    assert (eng.rule("trtllm_mha_large_page"), old.rule("trtllm_mha_large_page")) == (128, None)
    out = capacity_json(capsys, "llama3.1-8b", "--gpu", "b200", "--engine", REL, "--block-size", "128")
    assert out["block_size"] == 128
    # fa4's fp8 cache is not read: refused
    assert eng.rule("fp8_kv_start")["fa4"]["fp8_e4m3"][0] == "unmodelled" and "fa4" not in old.rule("fp8_kv_start")
    assert eng.rule("mha_backend_default")["asymmetric_kv"] == "fa4"
    assert "Lfm2MoeForCausalLM" in eng.rule("mha_backend_default")["own"]


def test_rows_shared_with_0_5_16():
    eng, old = get_engine(REL), get_engine(OLD)
    for name in ("pool_formula", "page_size", "running_requests", "dsa_fp8_alloc_bytes", "dp_attention_weights",
                 "aiter_fraction", "multimodal", "min_capability", "weights_min_capability", "checkpoint_fp8_kv_auto",
                 "rope_table", "alibi_slopes_tensor", "request_pool_extra", "startup_in_use_bytes",
                 "shared_expert_whole", "mla_copy_block_fp8", "pipeline_parallel", "request_cap", "dsa",
                 "allreduce_rms_fusion", "own_backend_unread", "mla_backend_default", "kv_cache_dtypes",
                 "kv_dtypes_unmodelled", "vlm_fraction", "sliding_window_archs", "swa_pool_archs",
                 "mem_fraction_static_default", "llama4_backend_asserted", "llama4_vision_tower",
                 "rope_scaling_passed"):
        assert BOOK.rule(name, eng.release) is BOOK.rule(name, old.release), name


def test_new_architectures_are_registered_from_0_5_17():
    # kvplan/data/engine_models.json from the wheels: 0.5.16 222 classes, 0.5.17 229, none removed
    for arch in ("KimiK3ForConditionalGeneration", "Qwen3_5ForCausalLM", "EmbeddingGemmaModel"):
        spans = registered_spans("sglang", arch)
        assert spans and spans[0][0] == Release.parse("0.5.17"), arch
