"""SGLang 0.5.20, read against 0.5.19 and 0.5.22 from its published wheel
(sglang-0.5.20-cp311-cp311-manylinux_2_34_x86_64.whl): every function the rules in kvplan/engines/sglang.py cite,
compared by AST with its 0.5.19 and 0.5.22 namesakes (docs/findings/FINDINGS_h33_sgl520.md). 0.5.20's default
mem_fraction_static is 0.5.22's sum (20-35 GiB GPUs: a 4,096-token chunk, 48 / 160 decode graphs) without 0.5.22's
cap of the decode graphs at a given --max-running-requests (arg_groups/memory_hook.py handle_gpu_memory_settings lines
47-347); the prefill graphs, the pool, the pages, the request cap and max_running_requests follow 0.5.19's rules.
Qwen3-VL gets large-Hopper serving defaults of its own (arg_groups/model_overrides/qwen3_vl.py): refused there, as on
0.5.22 (elsewhere planned as 0.5.19: tests/test_sglang_qwen3_vl_hopper.py). 0.5.21 is modelled too (tests/test_sglang_0_5_21.py)."""
from __future__ import annotations

import dataclasses

import pytest

from helpers import capacity_json, cli
from kvplan.engines import get_engine
from kvplan.engines.base import Release, registered_spans
from kvplan.engines.sglang import BOOK, GraphModel, _reserved_0_5_10, _reserved_0_5_20, _reserved_0_5_23
from kvplan.loader import load_model

REL, OLD, NEXT = "sglang==0.5.20", "sglang==0.5.19", "sglang==0.5.22"
H = "tests/fixtures/hf_configs/"


@pytest.mark.parametrize("args, fraction, weights, tokens, seqs", [
    (("llama3.1-8b", "--gpu", "h100"), 0.83, 16_127_631_360, 411_925, 2048),
    # MLA: 1.5 GiB of prefill graphs, as 0.5.18 / 0.5.19 / 0.5.22
    (("deepseek-v3", "--weights", "fp8", "--gpu", "h200", "--tp", "8"), 0.886, 85_879_341_312, 649_921, 2048),
    # no prefill graphs at pp > 1 (cuda_graph_hook.py apply_cuda_graph_compatibility lines 118-131)
    (("llama3.1-8b", "--gpu", "h100", "--pp", "2"), 0.834, 8_097_374_208, 937_602, 3662),
    # no --context-length clamp on the prefill graphs (0.5.17 on)
    (("llama3.1-8b", "--gpu", "h100", "--max-model-len", "2048"), 0.83, 16_127_631_360, 411_925, 4096),
    # DP attention keeps the breakable prefill graphs (0.5.17 on)
    (("qwen3-30b-a3b", "--gpu", "h100", "--tp", "2", "--dp", "2"), 0.762, 15_914_790_912, 968_943, 4096),
    # multimodal: 0.95 x the default, 100 MiB off the KV budget
    ((H + "llava-1.5-7b.json", "--gpu", "h100"), 0.7932499999999999, 14_103_754_752, 100_719, 4096),
])
def test_as_0_5_19_and_0_5_22(capsys, args, fraction, weights, tokens, seqs):
    for engine in (OLD, REL, NEXT):
        out = capacity_json(capsys, *args, "--engine", engine)
        assert (out["mem_fraction_static"], out["weights_bytes"], out["kv_cache_tokens"], out["max_num_seqs"]) == (
            fraction, weights, tokens, seqs), engine


def test_no_max_running_requests_cap_on_the_decode_graphs(capsys):
    # memory_hook.py: 0.5.20 keeps the tier's decode max_bs 256 at --max-running-requests 64 (0.5.22 lines 135-142
    # lower it to 64: 2 x 192 MiB less, 13,520 MiB, round(68,039 / 81,559, 3) = 0.834)
    args = ("llama3.1-8b", "--gpu", "h100", "--max-num-seqs", "64")
    for engine, want in ((OLD, (0.83, 411_925)), (REL, (0.83, 411_925)), (NEXT, (0.834, 414_504))):
        out = capacity_json(capsys, *args, "--engine", engine)
        assert (out["mem_fraction_static"], out["kv_cache_tokens"], out["max_num_seqs"]) == (*want, 64), engine
    assert _reserved_0_5_20(81559, 1, 1, graphs=GraphModel(max_running_requests=64)) == 13_904
    assert _reserved_0_5_23(81559, 1, 1, graphs=GraphModel(max_running_requests=64)) == 13_520


def test_small_gpu_tier_is_0_5_22s():
    # memory_hook.py lines 100-116: an RTX 4090 (24,564 MiB) takes chunk 4,096 and decode max_bs 48 (0.5.19: 2,048
    # and 24): 512 + 6,144 + 128 + 96 + 50 x 8 = 7,280 MiB (0.5.19: 512 + 3,072 + 128 + 48 + 42 x 8 = 4,096)
    graphs = GraphModel()
    assert _reserved_0_5_20(24564, 1, 1, graphs=graphs) == _reserved_0_5_23(24564, 1, 1, graphs=graphs) == 7_280
    assert _reserved_0_5_10(24564, 1, 1, graphs=dataclasses.replace(graphs, with_dp_attention=True)) == 4_096


def test_prefill_graph_rules_are_0_5_19s():
    eng, old = get_engine(REL), get_engine(OLD)
    rule, was = eng.rule("prefill_graphs"), old.rule("prefill_graphs")
    assert {k: v for k, v in rule.items() if k != "mm_kept"} == {k: v for k, v in was.items() if k != "mm_kept"}
    assert set(rule["mm_kept"]) - set(was["mm_kept"]) == {"Glm5NextForConditionalGeneration"}
    # a tc_piecewise multimodal model drops them under DP attention (disable_tc_piecewise_cudagraph_if_incompatible)
    minimax = dataclasses.replace(load_model("llama3.1-8b"), architecture="MiniMaxM3SparseForConditionalGeneration")
    graphs = GraphModel.of(minimax, None, rule, eng.rule("vlm_fraction"))
    assert (graphs.prefill_graphs, graphs.with_dp_attention) == (True, False)
    assert _reserved_0_5_20(81559, 2, 1, dp_attention=2, graphs=graphs) == _reserved_0_5_23(
        81559, 2, 1, dp_attention=2, graphs=dataclasses.replace(graphs, prefill_graphs=False))


def test_qwen3_vl_refused_as_on_0_5_22(capsys):
    # arg_groups/model_overrides/qwen3_vl.py: on a large Hopper GPU no VLM cache (SGLANG_VLM_CACHE_SIZE_MB 0),
    # cuda_ipc transport, decode graphs up to --max-running-requests: refused (0.5.19 plans it)
    for engine in (REL, NEXT):
        code, _, err = cli(capsys, "capacity", H + "qwen3-vl-8b-instruct.json", "--gpu", "h100", "--engine", engine)
        assert code == 2 and "model_overrides/qwen3_vl.py" in err, engine
    code, _, err = cli(capsys, "capacity", H + "qwen3-vl-8b-instruct.json", "--gpu", "h100", "--engine", REL)
    assert code == 2 and "_qwen3vl_hopper_serving_overrides lines 88-160" in err
    assert capacity_json(capsys, H + "qwen3-vl-8b-instruct.json", "--gpu", "h100", "--engine", OLD)[
        "kv_cache_tokens"] == 321_860


def test_rows_that_changed():
    eng, old = get_engine(REL), get_engine(OLD)
    assert eng.rule("mem_fraction_static_default") == "reserved_0_5_20"
    rows, was = eng.rule("mla_backend_default")["rows"], old.rule("mla_backend_default")["rows"]
    assert set(rows[0][3]) - set(was[0][3]) == {"Glm5NextForConditionalGeneration", "HYV4ForCausalLM",
                                                "HYV4ForCausalLMNextN"} and rows[1:] == was[1:]
    assert eng.rule("backend_page_size")["trtllm_mha"] == ((16, 32, 64, 128), 64, "1216-1229")
    assert "arg_groups/overrides.py line 1261" in eng.rule("fp8_kv_start")["trtllm_mla"]["fp8_e5m2"][1]
    assert set(eng.rule("vlm_fraction").archs) - set(old.rule("vlm_fraction").archs) == {
        "Cosmos3EdgeForConditionalGeneration", "Glm5NextForConditionalGeneration", "NemotronH_Omni_Reasoning_V3",
        "Qwen4ExpForConditionalGeneration"}
    assert eng.rule("multimodal")["kv_reserve_mib"] == 100
    fusion, old_fusion = eng.rule("allreduce_rms_fusion"), old.rule("allreduce_rms_fusion")
    # (0.5.19's list has no InternS2Mobius either: h33-swa22)
    assert dict(fusion.defaults).keys() ^ dict(old_fusion.defaults).keys() == {
        "Qwen4ExpForConditionalGeneration", "NemotronH_Omni_Reasoning_V3"}
    own = eng.rule("own_backend_unread")
    assert set(own) == set(old.rule("own_backend_unread"))  # Qwen3-VL: rule qwen3_vl_hopper (large Hopper only)
    assert old.rule("qwen3_vl_hopper") is None and eng.rule("qwen3_vl_hopper")["min_mib"] == 61_440


def test_rows_shared_with_0_5_19():
    eng, old = get_engine(REL), get_engine(OLD)
    for name in ("pool_formula", "page_size", "running_requests", "dsa_fp8_alloc_bytes", "dp_attention_weights",
                 "aiter_fraction", "min_capability", "weights_min_capability", "checkpoint_fp8_kv_auto",
                 "alibi_slopes_tensor", "request_pool_extra", "startup_in_use_bytes", "shared_expert_whole",
                 "mla_copy_block_fp8", "pipeline_parallel", "request_cap", "dsa", "kv_cache_dtypes",
                 "kv_dtypes_unmodelled", "trtllm_mha_large_page", "llama4_backend_asserted", "llama4_vision_tower",
                 "rope_scaling_passed", "mha_backend_default", "sliding_window_archs", "swa_pool_archs", "rope_table"):
        assert BOOK.rule(name, eng.release) is BOOK.rule(name, old.release), name
    # 0.5.22 drops fp4_e2m1 and caps requests by the allocator; 0.5.20 does neither
    assert "fp4_e2m1" in eng.rule("kv_cache_dtypes") and "fp4_e2m1" not in get_engine(NEXT).rule("kv_cache_dtypes")


def test_new_architectures_are_registered_from_0_5_20():
    # kvplan/data/engine_models.json from the wheels: 0.5.19 245 classes, 0.5.20 261, none removed
    for arch in ("Glm5NextForConditionalGeneration", "HYV4ForCausalLM", "Qwen4ExpForConditionalGeneration",
                 "XllmForCausalLM", "NanbeigeForCausalLM", "Cosmos3EdgeForConditionalGeneration"):
        spans = registered_spans("sglang", arch)
        assert spans and spans[0][0] == Release.parse("0.5.20"), arch
