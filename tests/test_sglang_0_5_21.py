"""SGLang 0.5.21, read against 0.5.20 and 0.5.22 from its published wheel
(sglang-0.5.21-cp311-cp311-manylinux_2_34_x86_64.whl): every function the rules in kvplan/engines/sglang.py cite,
compared by AST with its 0.5.20 and 0.5.22 namesakes (docs/findings/FINDINGS_h33_sgl520.md). 0.5.21 reserves as
0.5.20 does (arg_groups/memory_hook.py identical: no --max-running-requests cap on the decode graphs) and keeps
0.5.20's prefill-graph, page, DSA and rotary-table rules; it takes 0.5.22's --kv-cache-dtype choices (no fp4_e2m1),
request cap (mem_cache/allocator/base.py max_new_tokens_for_memory), fp8 verdicts, model overrides and all-reduce fusion
paths (layers/layer_boundary/, not read: refused where on), and adds Gemma-4 diffusion / IQuest-Q1 windows and pools."""
from __future__ import annotations

import pytest

from helpers import capacity_json, cli
from kvplan.engines import get_engine
from kvplan.engines.base import Release, registered_spans
from kvplan.engines.sglang import BOOK
from kvplan.errors import BadInputError
from kvplan.gpus import get_gpu
from kvplan.loader import load_model

REL, OLD, NEXT = "sglang==0.5.21", "sglang==0.5.20", "sglang==0.5.22"
H = "tests/fixtures/hf_configs/"


@pytest.mark.parametrize("args, fraction, weights, tokens, seqs", [
    (("llama3.1-8b", "--gpu", "h100"), 0.83, 16_127_631_360, 411_925, 2048),
    (("deepseek-v3", "--weights", "fp8", "--gpu", "h200", "--tp", "8"), 0.886, 85_879_341_312, 649_921, 2048),
    (("llama3.1-8b", "--gpu", "h100", "--pp", "2"), 0.834, 8_097_374_208, 937_602, 3662),
    (("llama3.1-8b", "--gpu", "h100", "--max-model-len", "2048"), 0.83, 16_127_631_360, 411_925, 4096),
    (("qwen3-30b-a3b", "--gpu", "h100", "--tp", "2", "--dp", "2"), 0.762, 15_914_790_912, 968_943, 4096),
    ((H + "llava-1.5-7b.json", "--gpu", "h100"), 0.7932499999999999, 14_103_754_752, 100_719, 4096),
    # trtllm_mha pages of 64 on a B200, as 0.5.20 / 0.5.22
    (("llama3.1-8b", "--gpu", "b200"), 0.854, 16_127_631_360, 1_121_088, 4096),
])
def test_as_0_5_20_and_0_5_22(capsys, args, fraction, weights, tokens, seqs):
    for engine in (OLD, REL, NEXT):
        out = capacity_json(capsys, *args, "--engine", engine)
        assert (out["mem_fraction_static"], out["weights_bytes"], out["kv_cache_tokens"], out["max_num_seqs"]) == (
            fraction, weights, tokens, seqs), engine


def test_reserves_as_0_5_20(capsys):
    # memory_hook.py identical to 0.5.20's: the decode graphs keep max_bs 256 at --max-running-requests 64
    # (0.5.22: 64, 0.834 / 414,504)
    args = ("llama3.1-8b", "--gpu", "h100", "--max-num-seqs", "64")
    for engine, want in ((OLD, (0.83, 411_925)), (REL, (0.83, 411_925)), (NEXT, (0.834, 414_504))):
        out = capacity_json(capsys, *args, "--engine", engine)
        assert (out["mem_fraction_static"], out["kv_cache_tokens"], out["max_num_seqs"]) == (*want, 64), engine
    assert BOOK.rule("mem_fraction_static_default", get_engine(REL).release) is BOOK.rule(
        "mem_fraction_static_default", get_engine(OLD).release)


def test_a_request_stops_a_page_and_a_token_short_of_the_pool(capsys):
    # mem_cache/allocator/base.py max_new_tokens_for_memory lines 79-96 (0.5.22's; 0.5.20 does it in the scheduler):
    # Llama-3.1-70B on a B200 (trtllm_mha, pages of 64), a pool of 66,816 tokens: at most 66,816 - 64 - 1
    code, _, err = cli(capsys, "capacity", "llama3.1-70b", "--gpu", "b200", "--engine", REL)
    assert code == 1 and "at most 66,751 tokens when the pool holds 66,816" in err
    assert BOOK.rule("request_cap", get_engine(REL).release) is BOOK.rule("request_cap", get_engine(NEXT).release)


def test_fp4_e2m1_is_no_longer_a_choice(capsys):
    # arg_groups/fields/model.py lines 201-210: 0.5.22's choices (0.5.20 still lists fp4_e2m1, and rejects it)
    assert "fp4_e2m1" not in get_engine(REL).rule("kv_cache_dtypes")
    assert "fp4_e2m1" in get_engine(OLD).rule("kv_cache_dtypes")
    rule = get_engine(REL).rule("fp8_kv_start")["trtllm_mla"]["fp8_e5m2"]
    assert rule[0] == "fails" and "line 1147" in rule[1] and "fp8_e4m3, bf16, or auto" in rule[1]


def test_fusion_paths_moved_as_in_0_5_22():
    # layers/layer_boundary/ (0.5.22's layout): where it fuses is not read, so an all-reduce fusion SGLang turns on by
    # itself (Qwen3-30B-A3B at tp 2 on an H100) is refused where kvplan times it, as on 0.5.22; 0.5.20
    # (layers/communicator.py apply_flashinfer_allreduce_fusion) times it
    fusion = get_engine(REL).rule("allreduce_rms_fusion")
    assert fusion.paths_read is False and "apply_flashinfer_allreduce_fusion lines 142-158" in fusion.source_paths
    assert dict(fusion.defaults) == dict(get_engine(NEXT).rule("allreduce_rms_fusion").defaults)
    h100, qwen = get_gpu("h100"), load_model("qwen3-30b-a3b")
    for engine in (REL, NEXT):
        with pytest.raises(BadInputError, match="kvplan has not read which of qwen3-30b-a3b's all-reduces it fuses"):
            get_engine(engine).allreduce_rms_fusion(h100, tp=2, spec=qwen)
    assert get_engine(OLD).allreduce_rms_fusion(h100, tp=2, spec=qwen).on
    assert not get_engine(REL).allreduce_rms_fusion(h100, tp=2, spec=qwen, asked=False).on


def test_lists():
    eng, old = get_engine(REL), get_engine(OLD)
    new = {"DiffusionGemmaForBlockDiffusion", "IQuestQ1ForCausalLM"}
    assert set(eng.rule("sliding_window_archs")) - set(old.rule("sliding_window_archs")) == new
    assert set(eng.rule("swa_pool_archs")) - set(old.rule("swa_pool_archs")) == new | {"IQuestQ1MTP"}
    assert set(eng.rule("vlm_fraction").archs) - set(old.rule("vlm_fraction").archs) == {
        "DiffusionGemmaForBlockDiffusion", "BailingMMNativeForConditionalGeneration",
        "BailingMM2NativeForConditionalGeneration", "BailingMoeV3VLForConditionalGeneration"}
    assert eng.rule("multimodal")["archs"] == eng.rule("vlm_fraction").archs
    assert eng.rule("own_backend_unread") == get_engine(NEXT).rule("own_backend_unread") | {
        a: "arg_groups/overrides.py _step3p_overrides lines 312-336"
        for a in ("Step3p5ForCausalLM", "Step3p7ForConditionalGeneration")}
    assert eng.rule("backend_page_size")["trtllm_mla"] == ((32, 64), 64, "1077-1085")


def test_qwen3_vl_refused(capsys):
    code, _, err = cli(capsys, "capacity", H + "qwen3-vl-8b-instruct.json", "--gpu", "h100", "--engine", REL)
    assert code == 2 and "model_overrides/qwen3_vl.py" in err


def test_rope_tables_as_0_5_20():
    eng = get_engine(REL)
    assert BOOK.rule("rope_table", eng.release) is BOOK.rule("rope_table", get_engine(OLD).release)
    assert eng.rule("rope_table")["hip_fp32"] is False
    h100 = get_gpu("h100")
    spec = load_model("llama3.1-8b")
    assert eng.rope_table_bytes(spec, h100) == get_engine(OLD).rope_table_bytes(spec, h100)


def test_new_architectures_are_registered_from_0_5_21():
    # kvplan/data/engine_models.json from the wheels: 0.5.20 261 classes, 0.5.21 270
    for arch in ("IQuestQ1ForCausalLM", "DiffusionGemmaForBlockDiffusion", "BailingMoeV3VLForConditionalGeneration"):
        spans = registered_spans("sglang", arch)
        assert spans and spans[0][0] == Release.parse("0.5.21"), arch
