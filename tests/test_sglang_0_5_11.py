"""SGLang 0.5.11, read against 0.5.10 from its published wheel (sglang-0.5.11-cp311-cp311-manylinux_2_34_
x86_64.whl): every rule kvplan/engines/sglang.py cites, diffed (docs/findings/FINDINGS_h31_sgl511.md).
0.5.11 sizes the default mem_fraction_static (_handle_gpu_memory_settings identical, the piecewise CUDA
graphs on by default), the pool (moved to model_executor/pool_configurator.py, the same formula), the
pages, max_running_requests and the rotary tables as 0.5.10 does; it differs in lists (multimodal:
Gemma 4, MiMo-V2, Moss-VL, NemotronH Omni, Qwen3-ASR, Voxtral; sliding-window and SWA-pool: Gemma 4,
MiMo-V2; all-reduce fusion on by default for DeepSeek-V3.2, GLM-MoE-DSA, Qwen3-Next; Gemma 4's own
triton backend), and --enforce-disable-flashinfer-allreduce-fusion (also in 0.5.10) is modelled.
0.5.12-0.5.17 are modelled too (tests/test_sglang_0_5_12.py ... test_sglang_0_5_17.py); 0.5.20 and 0.5.21 are
modelled too."""
from __future__ import annotations

import pytest

from helpers import capacity_json, cli
from kvplan.capacity import make_request, plan
from kvplan.engines import get_engine
from kvplan.engines.base import Release, registered_spans
from kvplan.engines.sglang import BOOK
from kvplan.gpus import get_gpu
from kvplan.loader import load_model

REL, OLD = "sglang==0.5.11", "sglang==0.5.10"
H = "tests/fixtures/hf_configs/"


@pytest.mark.parametrize("args, fraction, weights, tokens", [
    # H100 (81,559 MiB): 13,440 + 58 piecewise sizes x 8 MiB = 13,904 MiB reserved, 0.830, as 0.5.10
    (("llama3.1-8b", "--gpu", "h100"), 0.83, 16_127_631_360, 411_925),
    (("qwen3-30b-a3b", "--gpu", "h100"), 0.83, 61_085_216_768, 91_902),
    # MLA: 1.5 GiB for the piecewise graphs, H200 tp 8: 16,384 MiB, 0.886
    (("deepseek-v3", "--weights", "fp8", "--gpu", "h200", "--tp", "8"), 0.886, 85_879_341_312, 649_921),
    # Gemma 3: the two get_rope tables of 67,108,864 B each beside Gemma3RotaryEmbedding, as 0.5.10
    (("gemma3-27b", "--gpu", "h100", "--max-model-len", "29000"), 0.83, 54_999_031_520, 29_770),
])
def test_against_0_5_10(capsys, args, fraction, weights, tokens):
    for engine in (OLD, REL):
        out = capacity_json(capsys, *args, "--engine", engine)
        assert (out["weights_bytes"], out["kv_cache_tokens"], out["mem_fraction_static"]) == (
            weights, tokens, fraction), engine


def test_gemma3_27b_at_its_full_context_does_not_fit(capsys):
    # 131,070-token requests against a 29,770-token pool: exit 1, as 0.5.10
    code, _, err = cli(capsys, "capacity", "gemma3-27b", "--gpu", "h100", "--engine", REL)
    assert code == 1 and "at most 29,768 tokens when the pool holds 29,770" in err


def test_running_requests_and_dp_attention_as_0_5_10(capsys):
    m = load_model("llama3.1-8b")
    assert plan(make_request(m, "h100", engine=REL, max_num_seqs=5000)).settings.max_num_seqs == 2048
    q = load_model("qwen3-30b-a3b")
    p = plan(make_request(q, "h100", engine=REL, tp=2, dp=2))  # no piecewise graphs under DP attention
    assert (float(p.settings.memory_fraction), p.kv_cache_tokens) == (0.768, 979_122)
    code, _, err = cli(capsys, "capacity", "qwen3-30b-a3b", "--gpu", "h100", "--tp", "2", "--dp", "2",
                       "--max-num-seqs", "1", "--engine", REL)
    assert code == 2 and "max_running_request is zero" in err


def test_allreduce_fusion_defaults_and_the_disable_flag():
    h200 = get_gpu("h200")
    v32 = load_model(H + "deepseek-v3.2.json")
    on, off = (get_engine(e).allreduce_rms_fusion(h200, tp=8, spec=v32) for e in (REL, OLD))
    # server_args.py lines 2330-2356: DeepseekV32 joins the default list; 2,048 tokens x 7,168 x 2 B. 0.5.10
    # fuses it too: it loads a deepseek_v32 config as DeepseekV3ForCausalLM (FINDINGS_h31_sgl512.md)
    assert (on.on, on.max_bytes, off.on, off.max_bytes) == (True, 29_360_128, True, 29_360_128)
    ds = load_model("deepseek-v3")
    for e in (REL, OLD):  # --enforce-disable-flashinfer-allreduce-fusion (0.5.10 line 525, 0.5.11 line 556)
        got = get_engine(e).allreduce_rms_fusion(h200, tp=8, spec=ds, asked=False)
        assert not got.on and got.source.startswith("--enforce-disable-flashinfer-allreduce-fusion"), e
    assert get_engine("sglang==0.5.9").rule("allreduce_rms_fusion").can_disable is False


def test_rows_that_changed():
    eng, old = get_engine(REL), get_engine(OLD)
    assert set(eng.rule("vlm_fraction").archs) - set(old.rule("vlm_fraction").archs) == {
        "Gemma4ForConditionalGeneration", "MiMoV2ForCausalLM", "MossVLForConditionalGeneration",
        "NemotronH_Nano_Omni_Reasoning_V3", "Qwen3ASRForConditionalGeneration", "VoxtralForConditionalGeneration"}
    assert eng.rule("vlm_fraction").any_tower
    assert set(eng.rule("swa_pool_archs")) - set(old.rule("swa_pool_archs")) == {
        "MiMoV2ForCausalLM", "Gemma4ForCausalLM", "Gemma4ForConditionalGeneration"}
    assert set(eng.rule("sliding_window_archs")) - set(old.rule("sliding_window_archs")) == {
        "MiMoV2ForCausalLM", "Gemma4ForCausalLM", "Gemma4ForConditionalGeneration"}
    assert set(dict(eng.rule("allreduce_rms_fusion").defaults)) - set(dict(old.rule("allreduce_rms_fusion").defaults)) \
        == {"GlmMoeDsaForCausalLM", "Qwen3NextForCausalLM"}
    assert set(eng.rule("mha_backend_default")["own"]) - set(old.rule("mha_backend_default")["own"]) == {
        "Gemma4ForConditionalGeneration"}
    assert eng.rule("backend_page_size")["trtllm_mha"] == ((16, 32, 64), 64, "2647-2651")
    assert "line 2614" in eng.rule("fp8_kv_start")["trtllm_mla"]["fp8_e5m2"][1]
    # the rows 0.5.10 and 0.5.11 share
    for name in ("mem_fraction_static_default", "pool_formula", "page_size", "running_requests", "dsa",
                 "dsa_fp8_alloc_bytes", "prefill_graphs", "rope_table", "dp_attention_weights", "aiter_fraction",
                 "request_cap", "multimodal"):
        assert BOOK.rule(name, eng.release) is BOOK.rule(name, old.release), name


def test_new_architectures_are_registered_from_0_5_11():
    # kvplan/data/engine_models.json from the wheels: 0.5.10 181 classes, 0.5.11 192 (Gemma 4, MiMo-V2,
    # HunYuan-V3, Moss-VL, Qwen3-ASR, Voxtral, NemotronH Omni, DFlash, Mistral EAGLE), none removed
    assert registered_spans("sglang", "Gemma4ForCausalLM") == [(Release.parse("0.5.11"), Release.parse("0.5.23"))]
    assert registered_spans("sglang", "WhisperForConditionalGeneration") == [
        (Release.parse("0.5.10"), Release.parse("0.5.23"))]
