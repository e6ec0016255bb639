"""SGLang 0.5.10, read against 0.5.9 from its published wheel (sglang-0.5.10-py3-none-any.whl): every
rule kvplan/engines/sglang.py cites, diffed (docs/findings/FINDINGS_h31_sgl510.md). 0.5.10 sizes the
pool, the pages and the embedding split as 0.5.9 does; it differs in the default mem_fraction_static
(the piecewise CUDA graphs are on by default: 8 MiB per captured size, 1.5 GiB for MLA, off for DP
attention, pp > 1, multimodal models and a list of architectures), in max_running_requests (the
request-pool estimate from the pool in whole pages, and a given --max-running-requests capped by
it), in Gemma 3's rotary tables (get_rope tables beside the inv_freq buffers, as 0.5.23), in GPT-OSS's
SWA pool (kept on trtllm_mha too), in GPT-OSS on ROCm (aiter) and in DeepSeek sparse attention's fp8
layout (trtllm on 10.x: 576 B; below: refused). 0.5.20 and 0.5.21 are modelled too (0.5.11-0.5.17:
tests/test_sglang_0_5_11.py, test_sglang_0_5_12.py)."""
from __future__ import annotations

import pytest

from helpers import capacity_json, cli
from kvplan.capacity import make_request, plan
from kvplan.engines import get_engine
from kvplan.engines.sglang import default_fraction, GraphModel, NVIDIA_SMI_MIB, _reserved_0_5_10
from kvplan.loader import load_model

REL, OLD = "sglang==0.5.10", "sglang==0.5.9"


@pytest.mark.parametrize("args, fractions, weights, tokens", [
    # H100 (81,559 MiB): 0.5.9 reserves 13,440 MiB (0.835); 0.5.10 adds 58 piecewise graph sizes up to
    # chunked_prefill_size 8,192 x 8 MiB = 464: 13,904 MiB, round(67,655 / 81,559, 3) = 0.830
    (("llama3.1-8b", "--gpu", "h100"), (0.835, 0.83), (16_127_631_360, 16_127_631_360), (415_148, 411_925)),
    (("qwen3-30b-a3b", "--gpu", "h100"), (0.835, 0.83), (61_085_216_768, 61_085_216_768), (96_199, 91_902)),
    # MLA: 1.5 GiB instead: H200 tp 8, 14,848 -> 16,384 MiB, 0.897 -> 0.886
    (("deepseek-v3", "--weights", "fp8", "--gpu", "h200", "--tp", "8"), (0.897, 0.886),
     (85_879_341_312, 85_879_341_312), (673_163, 649_921)),
    # Gemma 3: get_rope tables (global and local, 131,072 x 128 x 4 B each = 134,217,728 B) join the
    # inv_freq buffers (gemma3_causal.py Gemma3Attention lines 175-211)
    (("gemma3-27b", "--gpu", "h100", "--max-model-len", "29000"), (0.835, 0.83),
     (54_864_813_792, 54_999_031_520), (30_866, 29_770)),
])
def test_against_0_5_9(capsys, args, fractions, weights, tokens):
    for i, engine in enumerate((OLD, REL)):
        out = capacity_json(capsys, *args, "--engine", engine)
        assert (out["weights_bytes"], out["kv_cache_tokens"]) == (weights[i], tokens[i]), engine
        assert out["mem_fraction_static"] == fractions[i], engine


def test_piecewise_graph_reservation():
    h100, r4090 = NVIDIA_SMI_MIB["h100-sxm"], NVIDIA_SMI_MIB["rtx4090"]
    f = lambda *a, **k: float(default_fraction("reserved_0_5_10", *a, **k))  # noqa: E731
    assert f(h100, 1, 1, graphs=GraphModel()) == 0.83
    # RTX 4090: 3,760 + 42 sizes up to 2,048 x 8 = 4,096 MiB: 0.833 (0.5.9: 0.847)
    assert f(r4090, 1, 1, graphs=GraphModel()) == 0.833
    assert float(default_fraction("reserved_0_5_6", r4090, 1, 1)) == 0.847
    # off: pp > 1, DP attention, or turned off for the model (multimodal, the disabled list): 0.5.9's
    assert f(h100, 1, 2, graphs=GraphModel()) == float(default_fraction("reserved_0_5_6", h100, 1, 2))
    assert f(r4090, 1, 1, graphs=GraphModel(prefill_graphs=False)) == 0.847
    # a "llama-2" model path captures up to 4,096 tokens: 50 sizes, 13,840 MiB (0.830 on an H100, as the
    # 13,904 without it: review h31b F2 asserts the MiB, and an H200, where the two round apart)
    assert _reserved_0_5_10(h100, 1, 1, graphs=GraphModel(llama2=True)) == 13_840
    assert _reserved_0_5_10(h100, 1, 1, graphs=GraphModel()) == 13_904
    h200 = NVIDIA_SMI_MIB["h200"]  # 143,771 MiB: (143,771 - 13,840) / 143,771 = 0.9037; - 13,904: 0.9033
    assert (f(h200, 1, 1, graphs=GraphModel(llama2=True)), f(h200, 1, 1, graphs=GraphModel())) == (0.904, 0.903)


def test_llama_2_model_is_read_from_the_spec(capsys):
    fractions = [capacity_json(capsys, m, "--gpu", "h200", "--engine", REL)["mem_fraction_static"]
                 for m in ("llama-2-7b", "llama3.1-8b")]
    assert fractions == [0.904, 0.903]


def test_dp_attention_turns_the_piecewise_graphs_off():
    # _handle_piecewise_cuda_graph line 1093: enable_dp_attention -> disabled; the embedding split and
    # the fraction are 0.5.9's (0.768 at --tp 4 --dp 2)
    q = load_model("qwen3-30b-a3b")
    got = {e: plan(make_request(q, "h100", engine=e, tp=2, dp=2)) for e in (OLD, REL)}
    assert {e: (float(p.settings.memory_fraction), p.kv_cache_tokens) for e, p in got.items()} == {
        OLD: (0.768, 979_122), REL: (0.768, 979_122)}


def test_given_max_running_requests_is_capped_by_the_request_pool_estimate():
    # _resolve_max_num_reqs lines 840-859: min(5,000, max(min(int(411,925 / 131,072 x 512), 4,096), 2,048))
    # = 2,048 (0.5.9 runs 5,000); the default is the same estimate, from the pool in whole pages
    m = load_model("llama3.1-8b")
    seats = {e: plan(make_request(m, "h100", engine=e, max_num_seqs=5000)).settings.max_num_seqs for e in (OLD, REL)}
    assert seats == {OLD: 5000, REL: 2048}
    d = load_model("deepseek-v3")
    p = plan(make_request(d, "h200", engine=REL, tp=8, weights="fp8"))
    assert p.settings.max_num_seqs == 2048  # int(649,921 / 163,840 x 512) = 2,031 -> 2,048 (0.5.9: 2,103)


def test_rows_that_changed():
    eng, old = get_engine(REL), get_engine(OLD)
    assert eng.rule("swa_pool_archs")["GptOssForCausalLM"] == () and old.rule("swa_pool_archs")["GptOssForCausalLM"]
    assert eng.rule("aiter_fraction")["triton"] == ("Olmo2ForCausalLM",)
    assert eng.rule("dsa").fp8_scaled_below == 10 and eng.rule("dsa_fp8_alloc_bytes") is None
    assert old.rule("dsa_fp8_alloc_bytes") == 656
    assert set(eng.rule("vlm_fraction").archs) - set(old.rule("vlm_fraction").archs) == {
        "Lfm2VlForConditionalGeneration", "WhisperForConditionalGeneration"}
    assert eng.rule("vlm_fraction").any_tower and not old.rule("vlm_fraction").any_tower
    assert "Qwen3_5ForConditionalGeneration" in dict(eng.rule("allreduce_rms_fusion").defaults)
    assert eng.rule("running_requests") == {"aligned": True, "given_capped": "estimate", "floor_one": False}
    assert eng.rule("rope_table")["gemma3_get_rope"] and not old.rule("rope_table")["gemma3_get_rope"]
    assert eng.rule("backend_page_size")["trtllm_mha"] == ((16, 32, 64), 64, "2391-2395")


def test_dp_rank_without_requests_is_refused(capsys):
    code, _, err = cli(capsys, "capacity", "qwen3-30b-a3b", "--gpu", "h100", "--tp", "2", "--dp", "2",
                       "--max-num-seqs", "1", "--engine", REL)
    assert code == 2 and "max_running_request is zero" in err
