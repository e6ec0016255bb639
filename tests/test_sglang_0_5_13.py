"""SGLang 0.5.13 and 0.5.13.post1, read against 0.5.12 from their published wheels (sglang-0.5.13-cp311-
cp311-manylinux_2_34_x86_64.whl, sglang-0.5.13.post1-...: post1 differs only in speculative/eagle_worker_v2.py
and standalone_worker_v2.py, speculative decoding kvplan refuses under SGLang): every rule
kvplan/engines/sglang.py cites, diffed (docs/findings/FINDINGS_h32_sgl513.md). 0.5.13 sizes the pool, the
pages, max_running_requests and the request cap as 0.5.12 does, and the default mem_fraction_static too
unless --context-length is given below the chunk (its piecewise CUDA graphs stop there: server_args.py
lines 1579-1586) or the model has DeepSeek sparse attention (no longer off the piecewise graphs: 1.5 GiB
more reserved). DeepSeek's YaRN totals are NPU-only (no note), the all-reduce fusion runs on an H20 and for
MistralLarge3 by itself, Gemma 4 and Step-3.5 / 3.7 pick their own backend (refused), and the lists grow
(multimodal, sliding window, SWA pool). 0.5.14-0.5.17 are modelled too (tests/test_sglang_0_5_14.py ... test_sglang_0_5_17.py);
0.5.20 and 0.5.21 are modelled too."""
from __future__ import annotations

import dataclasses

import pytest

from helpers import capacity_json, cli
from kvplan.capacity import make_request, plan
from kvplan.engines import get_engine
from kvplan.engines.base import Release, registered_spans
from kvplan.engines.sglang import BOOK
from kvplan.errors import BadInputError
from kvplan.gpus import get_gpu
from kvplan.loader import load_model

REL, POST, OLD = "sglang==0.5.13", "sglang==0.5.13.post1", "sglang==0.5.12"
H = "tests/fixtures/hf_configs/"


@pytest.mark.parametrize("args, fraction, weights, tokens", [
    # H100 (81,559 MiB): 13,440 + 58 piecewise sizes x 8 MiB = 13,904 MiB reserved, 0.830, as 0.5.12
    (("llama3.1-8b", "--gpu", "h100"), 0.83, 16_127_631_360, 411_925),
    (("qwen3-30b-a3b", "--gpu", "h100"), 0.83, 61_085_216_768, 91_902),
    # MLA: 1.5 GiB for the piecewise graphs whatever the context, H200 tp 8: 16,384 MiB, 0.886
    (("deepseek-v3", "--weights", "fp8", "--gpu", "h200", "--tp", "8"), 0.886, 85_879_341_312, 649_921),
    (("deepseek-v3", "--weights", "fp8", "--gpu", "h200", "--tp", "8", "--max-model-len", "2048"), 0.886,
     85_879_341_312, 649_921),
    (("gemma3-27b", "--gpu", "h100", "--max-model-len", "29000"), 0.83, 54_999_031_520, 29_770),
    # a context at or above the chunk (8,192 on an H100) leaves the 58 sizes
    (("llama3.1-8b", "--gpu", "h100", "--max-model-len", "8192"), 0.83, 16_127_631_360, 411_925),
    # B200 (183,359 MiB) without --max-model-len: 26,240 + 74 x 8 = 26,832 MiB, 0.854; trtllm_mha pages of 64
    (("llama3.1-8b", "--gpu", "b200"), 0.854, 16_127_631_360, 1_121_088),
])
def test_as_0_5_12(capsys, args, fraction, weights, tokens):
    for engine in (OLD, REL, POST):
        out = capacity_json(capsys, *args, "--engine", engine)
        assert (out["weights_bytes"], out["kv_cache_tokens"], out["mem_fraction_static"]) == (
            weights, tokens, fraction), engine


@pytest.mark.parametrize("args, old, new", [
    # H100, --context-length 2048: sizes up to 2,048 are 8 + 14 + 8 + 8 + 4 = 42, 13,440 + 336 = 13,776 MiB,
    # round(67,783 / 81,559, 3) = 0.831 (0.5.12: 58 sizes, 0.830)
    (("llama3.1-8b", "--gpu", "h100", "--max-model-len", "2048"), (0.83, 411_925), (0.831, 412_570)),
    # B200, --context-length 4096: 50 sizes, 26,240 + 400 = 26,640 MiB, 0.855 (0.5.12: 74 sizes, 0.854)
    (("llama3.1-8b", "--gpu", "b200", "--max-model-len", "4096"), (0.854, 1_121_088), (0.855, 1_122_560)),
])
def test_piecewise_graphs_stop_at_the_context_length_given(capsys, args, old, new):
    # server_args.py _handle_gpu_memory_settings lines 1579-1586: "Clamp to context_length if explicitly set"
    for engine, want in ((OLD, old), (REL, new), (POST, new)):
        out = capacity_json(capsys, *args, "--engine", engine)
        assert (out["mem_fraction_static"], out["kv_cache_tokens"]) == want, engine


def test_the_clamp_reads_the_context_given_not_the_models():
    eng, h100 = get_engine(REL), get_gpu("h100")
    m = load_model("llama3.1-8b")
    got = [float(eng.default_memory_fraction(h100, 1, 1, spec=m, context_length=c)) for c in (None, 1024, 4096)]
    assert got == [0.83, 0.831, 0.83]  # 1,024: 34 sizes, 13,712 MiB; 4,096: 50 sizes, 13,840 MiB
    assert float(get_engine(OLD).default_memory_fraction(h100, 1, 1, spec=m, context_length=1024)) == 0.83


def test_dsa_keeps_its_piecewise_graphs():
    # configs/model_config.py lines 330-332 / 1579-1585: DeepseekV32ForCausalLM off the disabled list and no
    # is_deepseek_nsa test: H200 tp 8 reserves 14,848 + 1,536 MiB (MLA) = 16,384, 0.886 (0.5.12: 0.897)
    v32, h200 = load_model(H + "deepseek-v3.2.json"), get_gpu("h200")
    got = {e: float(get_engine(e).default_memory_fraction(h200, 8, 1, spec=v32)) for e in (OLD, REL, POST)}
    assert got == {OLD: 0.897, REL: 0.886, POST: 0.886}
    assert get_engine(REL).model_block_size(v32, h200, None, None, 1) == 64  # the "dsa" backend's page
    with pytest.raises(BadInputError, match="aiter's preshuffle paged-MQA kernel"):
        get_engine(REL).model_block_size(v32, get_gpu("mi300x"), None, None, 1)


def test_deepseek_yarn_totals_are_npu_only(capsys):
    # rope_variant.py lines 405-420: cos_cached_total / sin_cached_total under _is_npu, so no note
    args = ("capacity", "deepseek-v3", "--weights", "fp8", "--gpu", "h200", "--tp", "8")
    code, _, err = cli(capsys, *args, "--engine", OLD)
    assert code == 0 and "cos_cached_total" in err
    code, _, err = cli(capsys, *args, "--engine", REL)
    assert code == 0 and "cos_cached_total" not in err


def test_a_request_stops_a_page_and_a_token_short_of_the_pool_as_0_5_12(capsys):
    # scheduler.py init_req_max_new_tokens lines 1763-1782, identical: Llama-3.1-70B on a B200 (pages of 64)
    for engine in (OLD, REL):
        code, _, err = cli(capsys, "capacity", "llama3.1-70b", "--gpu", "b200", "--engine", engine)
        assert code == 1 and "at most 66,751 tokens when the pool holds 66,816" in err, engine


def test_gemma3_without_rope_scaling_still_does_not_start(capsys):
    # gemma3_causal.py Gemma3TextModel.__init__ identical to 0.5.12's (lines 581-587)
    code, _, err = cli(capsys, "capacity", H + "gemma-3-1b-it.json", "--gpu", "h100", "--engine", REL)
    assert code == 2 and "KeyError" in err


def test_running_requests_and_dp_attention_as_0_5_12():
    m = load_model("llama3.1-8b")
    assert plan(make_request(m, "h100", engine=REL, max_num_seqs=5000)).settings.max_num_seqs == 2048
    q = load_model("qwen3-30b-a3b")
    p = plan(make_request(q, "h100", engine=REL, tp=2, dp=2))  # no piecewise graphs under DP attention
    assert (float(p.settings.memory_fraction), p.kv_cache_tokens) == (0.768, 979_122)


def test_allreduce_fusion_on_an_h20_too():
    # server_args.py lines 2627-2654: no H20 test any more
    ds, h20 = load_model("deepseek-v3"), get_gpu("h20")
    old = get_engine(OLD).allreduce_rms_fusion(h20, tp=8, spec=ds)
    new = get_engine(REL).allreduce_rms_fusion(h20, tp=8, spec=ds)
    assert (old.on, old.max_bytes) == (False, 0)
    assert (new.on, new.max_bytes) == (True, 29_360_128)  # 2,048 tokens x 7,168 x 2 B
    got = get_engine(REL).allreduce_rms_fusion(get_gpu("h200"), tp=8, spec=ds, asked=False)  # lines 2656-2662
    assert not got.on and got.source.startswith("--enforce-disable-flashinfer-allreduce-fusion")


@pytest.mark.parametrize("arch", ["Step3p5ForCausalLM", "Step3p7ForConditionalGeneration", "Gemma4ForCausalLM"])
def test_models_that_pick_their_own_backend_are_refused(arch):
    # Step-3.5 / 3.7: fa4 on Blackwell (pages of 128), lines 2293-2307; Gemma 4: trtllm_mha on sm100 but for a
    # modelopt_fp4 MoE checkpoint, lines 2365-2411
    spec = dataclasses.replace(load_model("llama3.1-8b"), architecture=arch)
    with pytest.raises(BadInputError, match=f"by its own rules for {arch}"):
        get_engine(REL).check_model(spec)
    if arch == "Step3p5ForCausalLM":  # 0.5.12 had no such branch (and no Step-3.7 model)
        get_engine(OLD).check_model(spec)


def test_rows_that_changed():
    eng, old = get_engine(REL), get_engine(OLD)
    assert set(eng.rule("vlm_fraction").archs) - set(old.rule("vlm_fraction").archs) == {
        "Cohere2VisionForConditionalGeneration", "Gemma4UnifiedForConditionalGeneration",
        "Step3p7ForConditionalGeneration"}
    assert set(eng.rule("swa_pool_archs")) - set(old.rule("swa_pool_archs")) == {
        "Step3p7ForConditionalGeneration", "Gemma4UnifiedForConditionalGeneration"}
    assert set(eng.rule("sliding_window_archs")) - set(old.rule("sliding_window_archs")) == {
        "Cohere2MoeForCausalLM", "Cohere2VisionForConditionalGeneration", "NemotronHForCausalLM",
        "NemotronHPuzzleForCausalLM", "Step3p7ForConditionalGeneration", "Gemma4UnifiedForConditionalGeneration"}
    fusion, was = eng.rule("allreduce_rms_fusion"), old.rule("allreduce_rms_fusion")
    assert set(dict(fusion.defaults)) - set(dict(was.defaults)) == {"MistralLarge3ForCausalLM"}
    assert set(fusion.archs) - set(was.archs) == {"MistralLarge3ForCausalLM"}
    assert (fusion.not_gpus, was.not_gpus) == ((), ("h20",))
    assert set(old.rule("mha_backend_default")["own"]) - set(eng.rule("mha_backend_default")["own"]) == {
        "Gemma4ForConditionalGeneration"}  # now rule own_backend_unread
    assert set(eng.rule("mha_backend_default")["own"]) - set(old.rule("mha_backend_default")["own"]) == {
        "NemotronHPuzzleForCausalLM"}
    assert set(eng.rule("prefill_graphs")["off_archs"]) ^ set(old.rule("prefill_graphs")["off_archs"]) == {
        "DeepseekV32ForCausalLM", "GlmMoeDsaForCausalLM"}
    assert (eng.rule("prefill_graphs")["dsa_off"], old.rule("prefill_graphs")["dsa_off"]) == (False, True)
    assert eng.rule("mem_fraction_static_default") == "reserved_0_5_13"
    assert eng.rule("backend_page_size")["trtllm_mha"] == ((16, 32, 64), 64, "2994-2998")
    assert "line 2913" in eng.rule("fp8_kv_start")["trtllm_mla"]["fp8_e5m2"][1]
    assert (eng.rule("rope_table")["deepseek_totals"], old.rule("rope_table")["deepseek_totals"]) == (False, True)
    assert eng.rule("request_cap").pool_page_short and eng.rule("request_cap").start_min == 7
    # the rows 0.5.12 and 0.5.13 share
    for name in ("pool_formula", "page_size", "running_requests", "dsa_fp8_alloc_bytes", "dp_attention_weights",
                 "aiter_fraction", "multimodal", "kv_cache_dtypes", "min_capability", "weights_min_capability",
                 "checkpoint_fp8_kv_auto", "trtllm_mha_large_page", "shared_expert_whole", "mla_copy_block_fp8",
                 "startup_in_use_bytes", "alibi_slopes_tensor"):
        assert BOOK.rule(name, eng.release) is BOOK.rule(name, old.release), name
    assert eng.rule("dsa") == old.rule("dsa") and eng.rule("mla_backend_default") == old.rule("mla_backend_default")


def test_new_architectures_are_registered_from_0_5_13():
    # kvplan/data/engine_models.json from the wheels: 0.5.12 199 classes, 0.5.13 and post1 207 (Cohere2Moe,
    # Cohere2Vision, Gemma4Unified and its assistant, Glm4MoeLite NextN, NemotronHPuzzle, Qwen3Moe MTP,
    # Step3p7), none removed
    for arch in ("Cohere2MoeForCausalLM", "Step3p7ForConditionalGeneration", "NemotronHPuzzleForCausalLM"):
        spans = registered_spans("sglang", arch)
        assert spans and spans[0][0] == Release.parse("0.5.13"), arch
    spans = registered_spans("sglang", "LagunaForCausalLM")
    assert spans == [(Release.parse("0.5.12"), Release.parse("0.5.23"))]
