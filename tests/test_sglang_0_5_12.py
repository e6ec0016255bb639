"""SGLang 0.5.12, read against 0.5.11 from its published wheel (sglang-0.5.12-cp311-cp311-manylinux_2_34_
x86_64.whl): every rule kvplan/engines/sglang.py cites, diffed (docs/findings/FINDINGS_h31_sgl512.md).
0.5.12 sizes the default mem_fraction_static (_handle_gpu_memory_settings identical), the pool, the pages,
max_running_requests and the rotary tables as 0.5.11 does; it differs in how long a request runs
(scheduler.py init_req_max_new_tokens: pool tokens - page - 1 less the prompt's rounding, as 0.5.23), in
DeepSeek sparse attention's ROCm page (1 or 64 by aiter's kernel: refused, as 0.5.23), in Gemma 3's
global rotary table (a config without rope_scaling does not start: refused), and in lists (multimodal,
all-reduce fusion: InternS2Preview; sliding-window / SWA pool: Laguna, DeepSeek-V4; own backends:
InternS2Preview, MiniCPM-V 4.6, DeepSeek-V4; trtllm_mla: DeepseekV32ForCausalLM). 0.5.13-0.5.17 are modelled too (tests/test_sglang_0_5_13.py ... test_sglang_0_5_17.py); 0.5.20 and 0.5.21 are
modelled too."""
from __future__ import annotations

import pytest

from helpers import capacity_json, cli
from kvplan.capacity import make_request, plan
from kvplan.engines import get_engine
from kvplan.engines.base import Release, registered_spans
from kvplan.engines.sglang import BOOK
from kvplan.errors import BadInputError
from kvplan.gpus import get_gpu
from kvplan.loader import load_model

REL, OLD = "sglang==0.5.12", "sglang==0.5.11"
H = "tests/fixtures/hf_configs/"


@pytest.mark.parametrize("args, fraction, weights, tokens", [
    # H100 (81,559 MiB): 13,440 + 58 piecewise sizes x 8 MiB = 13,904 MiB reserved, 0.830, as 0.5.11
    (("llama3.1-8b", "--gpu", "h100"), 0.83, 16_127_631_360, 411_925),
    (("qwen3-30b-a3b", "--gpu", "h100"), 0.83, 61_085_216_768, 91_902),
    # MLA: 1.5 GiB for the piecewise graphs, H200 tp 8: 16,384 MiB, 0.886
    (("deepseek-v3", "--weights", "fp8", "--gpu", "h200", "--tp", "8"), 0.886, 85_879_341_312, 649_921),
    # Gemma 3 27B (rope_scaling linear 8): the global table's factor is there, the tables as 0.5.11
    (("gemma3-27b", "--gpu", "h100", "--max-model-len", "29000"), 0.83, 54_999_031_520, 29_770),
])
def test_against_0_5_11(capsys, args, fraction, weights, tokens):
    for engine in (OLD, REL):
        out = capacity_json(capsys, *args, "--engine", engine)
        assert (out["weights_bytes"], out["kv_cache_tokens"], out["mem_fraction_static"]) == (
            weights, tokens, fraction), engine


def test_gemma3_27b_at_its_full_context_does_not_fit(capsys):
    # page 1 on an H100 (fa3): pool - 2 either way, 29,768 of a 29,770-token pool, as 0.5.11
    code, _, err = cli(capsys, "capacity", "gemma3-27b", "--gpu", "h100", "--engine", REL)
    assert code == 1 and "at most 29,768 tokens when the pool holds 29,770" in err


def test_a_request_stops_a_page_and_a_token_short_of_the_pool(capsys):
    # scheduler.py init_req_max_new_tokens lines 1867-1886: Llama-3.1-70B on a B200 (trtllm_mha, pages of 64),
    # a pool of 66,816 tokens: 0.5.11 runs a request to 66,816 - 2, 0.5.12 to 66,816 - 64 - 1
    got = {}
    for engine in (OLD, REL):
        out = capacity_json(capsys, "llama3.1-70b", "--gpu", "b200", "--max-model-len", "60000", "--engine", engine)
        got[engine] = (out["block_size"], out["kv_cache_tokens"])
        assert got[engine] == (64, 66_816), engine
    for engine, most in ((OLD, 66_814), (REL, 66_751)):
        code, _, err = cli(capsys, "capacity", "llama3.1-70b", "--gpu", "b200", "--engine", engine)
        assert code == 1 and f"at most {most:,} tokens when the pool holds 66,816" in err, engine
    cap = get_engine(REL).request_cap
    # a prompt of 1,000 tokens rounds up to 1,024: 24 tokens fewer
    assert cap.tokens(131_072, 66_816, 64, prompt_tokens=1_000) == 66_816 - 64 - 1 - 24
    assert cap.start_min == 7  # tp_worker.py lines 310-311 still assert max_req_input_len > 0


def test_gemma3_without_rope_scaling_does_not_start(capsys):
    # gemma3_causal.py lines 581-587 read rope_parameters["full_attention"]["factor"]: Gemma 3 1B has none
    code, _, err = cli(capsys, "capacity", H + "gemma-3-1b-it.json", "--gpu", "h100", "--engine", REL)
    assert code == 2 and "Gemma3TextModel reads its global rotary table's" in err and "KeyError" in err
    code, _, _ = cli(capsys, "capacity", H + "gemma-3-1b-it.json", "--gpu", "h100", "--engine", OLD)
    assert code == 0


def test_dsa_page_on_rocm_is_refused():
    gpu = get_gpu("mi300x")
    v32 = load_model(H + "deepseek-v3.2.json")
    with pytest.raises(BadInputError, match="aiter's preshuffle paged-MQA kernel"):
        get_engine(REL).model_block_size(v32, gpu, None, None, 1)
    assert get_engine(OLD).model_block_size(v32, gpu, None, None, 1) == 1  # 0.5.11: page 1 on ROCm
    assert get_engine(REL).model_block_size(v32, get_gpu("h200"), None, None, 1) == 64


def test_running_requests_and_dp_attention_as_0_5_11(capsys):
    m = load_model("llama3.1-8b")
    assert plan(make_request(m, "h100", engine=REL, max_num_seqs=5000)).settings.max_num_seqs == 2048
    q = load_model("qwen3-30b-a3b")
    p = plan(make_request(q, "h100", engine=REL, tp=2, dp=2))  # no piecewise graphs under DP attention
    assert (float(p.settings.memory_fraction), p.kv_cache_tokens) == (0.768, 979_122)
    code, _, err = cli(capsys, "capacity", "qwen3-30b-a3b", "--gpu", "h100", "--tp", "2", "--dp", "2",
                       "--max-num-seqs", "1", "--engine", REL)
    assert code == 2 and "max_running_request is zero" in err


def test_allreduce_fusion_as_0_5_11():
    h200 = get_gpu("h200")
    v32 = load_model(H + "deepseek-v3.2.json")
    got = get_engine(REL).allreduce_rms_fusion(h200, tp=8, spec=v32)
    assert (got.on, got.max_bytes) == (True, 29_360_128)  # 2,048 tokens x 7,168 x 2 B
    ds = load_model("deepseek-v3")
    got = get_engine(REL).allreduce_rms_fusion(h200, tp=8, spec=ds, asked=False)  # line 627, lines 2473-2479
    assert not got.on and got.source.startswith("--enforce-disable-flashinfer-allreduce-fusion")


def test_rows_that_changed():
    eng, old = get_engine(REL), get_engine(OLD)
    assert set(eng.rule("vlm_fraction").archs) - set(old.rule("vlm_fraction").archs) == {
        "InternS2PreviewForConditionalGeneration"}
    assert set(eng.rule("swa_pool_archs")) - set(old.rule("swa_pool_archs")) == {
        "DeepseekV4ForCausalLM", "DeepseekV4ForCausalLMNextN", "LagunaForCausalLM"}
    assert set(eng.rule("sliding_window_archs")) - set(old.rule("sliding_window_archs")) == {"LagunaForCausalLM"}
    assert set(dict(eng.rule("allreduce_rms_fusion").defaults)) - set(dict(old.rule("allreduce_rms_fusion").defaults)) \
        == {"InternS2PreviewForConditionalGeneration"}
    assert set(eng.rule("mha_backend_default")["own"]) - set(old.rule("mha_backend_default")["own"]) == {
        "InternS2PreviewForConditionalGeneration", "MiniCPMV4_6ForConditionalGeneration", "DeepseekV4ForCausalLM"}
    assert "DeepseekV32ForCausalLM" in eng.rule("mla_backend_default")["rows"][0][3]
    assert "DeepseekV32ForCausalLM" not in old.rule("mla_backend_default")["rows"][0][3]
    assert set(eng.rule("prefill_graphs")["off_archs"]) - set(old.rule("prefill_graphs")["off_archs"]) == {
        "DeepseekV4ForCausalLM", "DeepseekV4ForCausalLMNextN"}
    assert eng.rule("backend_page_size")["trtllm_mha"] == ((16, 32, 64), 64, "2781-2785")
    assert "line 2729" in eng.rule("fp8_kv_start")["trtllm_mla"]["fp8_e5m2"][1]
    assert (eng.rule("dsa").page_amd, old.rule("dsa").page_amd) == (None, 1)
    assert eng.rule("request_cap").pool_page_short and not old.rule("request_cap").pool_page_short
    assert eng.rule("rope_table")["gemma3_factor_needed"] and "gemma3_factor_needed" not in old.rule("rope_table")
    # the rows 0.5.11 and 0.5.12 share
    for name in ("mem_fraction_static_default", "pool_formula", "page_size", "running_requests",
                 "dsa_fp8_alloc_bytes", "dp_attention_weights", "aiter_fraction", "multimodal", "kv_cache_dtypes",
                 "min_capability", "weights_min_capability", "checkpoint_fp8_kv_auto", "trtllm_mha_large_page"):
        assert BOOK.rule(name, eng.release) is BOOK.rule(name, old.release), name


def test_new_architectures_are_registered_from_0_5_12():
    # kvplan/data/engine_models.json from the wheels: 0.5.11 192 classes, 0.5.12 199 (DeepSeek-V4 and its
    # NextN, Laguna, InternS2Preview, MiniCPM-V 4.6, Gemma 4 assistant, Kimi-K2.5 EAGLE-3), none removed
    spans = registered_spans("sglang", "DeepseekV4ForCausalLM")
    assert spans and spans[0][0] == Release.parse("0.5.12")
    assert registered_spans("sglang", "Gemma4ForCausalLM") == [(Release.parse("0.5.11"), Release.parse("0.5.23"))]
