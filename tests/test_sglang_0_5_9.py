"""SGLang 0.5.9, read against 0.5.8 from its published wheel (sglang-0.5.9-py3-none-any.whl): every
rule kvplan/engines/sglang.py cites, diffed (docs/findings/FINDINGS_h31_sgl59.md). 0.5.9 sizes the
pool, the default mem_fraction_static, the pages and the rotary tables as 0.5.8 does; it differs in
the embedding under DP attention for Qwen3-MoE and GptOss (split over the attention tp group, as
0.5.22), in Baichuan's ALiBi slopes (a bf16 tensor on the GPU, as 0.5.22), in the models it has
(GPT-J from 0.5.9) and in lists (trtllm_mla, multimodal, sliding-window, hybrid-SWA, all-reduce
fusion, model-specific backends). 0.5.20 and 0.5.21 are modelled too (0.5.10-0.5.17:
tests/test_sglang_0_5_10.py ... test_sglang_0_5_17.py)."""
from __future__ import annotations

import json

import pytest

from helpers import capacity_json, cli
from kvplan.capacity import make_request, plan
from kvplan.engines import get_engine
from kvplan.gpus import get_gpu
from kvplan.loader import load_model

REL, OLD = "sglang==0.5.9", "sglang==0.5.8"
H = "tests/fixtures/hf_configs/"


@pytest.mark.parametrize("args, weights, tokens", [
    # server_args.py _handle_gpu_memory_settings (0.5.9 lines 911-1077, 0.5.8's text): H100 13,440 MiB
    # reserved, 0.835; pool 54,414,278,656 B / 131,072 B a token; weights + the float32 rotary table
    (("llama3.1-8b", "--gpu", "h100"), 16_127_631_360, 415_148),
    (("qwen3-30b-a3b", "--gpu", "h100"), 61_085_216_768, 96_199),
    # block-fp8 kv_b_proj -> bf16 w_kc / w_vc (deepseek_weight_loader.py lines 503 / 514 / 570)
    (("deepseek-v3", "--weights", "fp8", "--gpu", "h200", "--tp", "8"), 85_879_341_312, 673_163),
    # one pool for every layer (gemma3 is not is_hybrid_swa_model); the inv_freq buffers only
    (("gemma3-27b", "--gpu", "h100", "--max-model-len", "30000"), 54_864_813_792, 30_866),
])
def test_planned_as_0_5_8(capsys, args, weights, tokens):
    for engine in (REL, OLD):
        out = capacity_json(capsys, *args, "--engine", engine)
        assert (out["weights_bytes"], out["kv_cache_tokens"]) == (weights, tokens), engine


def test_qwen3_moe_embedding_splits_over_the_attention_tp_group():
    # qwen2_moe.py Qwen2MoeModel (0.5.9 lines 574-577): VocabParallelEmbedding(use_attn_tp_group=
    # is_dp_attention_enabled()), 0.5.8 enable_tp=not is_dp_attention_enabled() (whole). --tp 4 --dp 2:
    # attention tp 2, 151,936 x 2,048 x 2 B = 622,329,856 whole, 311,164,928 a rank; lm_head over all 4
    q = load_model("qwen3-30b-a3b")
    got = {}
    for engine in (OLD, REL):
        p = plan(make_request(q, "h100", engine=engine, tp=2, dp=2))
        by = p.weights.stages[0].by_part
        got[engine] = (by["embedding"], by["lm_head"], p.kv_cache_tokens)
    assert got == {OLD: (622_329_856, 155_582_464, 972_791), REL: (311_164_928, 155_582_464, 979_122)}


def test_gpt_j_is_served_from_0_5_9(capsys):
    # models/gpt_j.py is new in 0.5.9 (get_rope lines 84-90 as 0.5.22's): config.rotary_dim 64, n_positions
    # 2,048, float32: 2,048 x 64 x 4 = 524,288 B in the weights
    out = capacity_json(capsys, H + "gpt-j-6b.json", "--engine", REL)
    assert (out["weights_bytes"], out["kv_cache_tokens"]) == (12_102_814_144, 127_387)
    assert get_engine(REL).rope_table_bytes(load_model(H + "gpt-j-6b.json"), get_gpu("h100")) == 524_288
    code, _, err = cli(capsys, "capacity", H + "gpt-j-6b.json", "--gpu", "h100", "--engine", OLD)
    assert code == 2 and "GPTJForCausalLM" in err


def test_baichuan_13b_alibi_slopes_are_a_tensor_from_0_5_9(tmp_path):
    # baichuan.py (0.5.9 lines 130 / 183-192): torch.tensor(slopes, dtype=bfloat16, device="cuda") a layer,
    # 40 heads x 2 B = 80 B (40 B at tp 2), each layer's tensor a 512 B caching-allocator block (kvplan.units.
    # allocated_bytes, as 0.5.22+): 40 x 512 = 20,480 B at tp 1 and tp 2 (0.5.8: a Python list, 0 B)
    cfg = json.load(open(H + "baichuan2-7b.json"))
    cfg.update(hidden_size=5_120, num_attention_heads=40, num_hidden_layers=40, intermediate_size=13_696)
    path = tmp_path / "baichuan-13b.json"
    path.write_text(json.dumps(cfg))
    spec = load_model(str(path))
    assert get_engine(REL).alibi_slopes_bytes(spec, 1) == get_engine(REL).alibi_slopes_bytes(spec, 2) == 40 * 512
    assert get_engine(REL).alibi_slopes_bytes(spec, 1) == get_engine("sglang==0.5.22").alibi_slopes_bytes(spec, 1)
    assert get_engine(OLD).alibi_slopes_bytes(spec, 1) == 0


def test_lists_that_grew():
    eng = get_engine(REL)
    assert eng.rule("mla_backend_default")["rows"][0][3] == (
        "DeepseekV3ForCausalLM", "KimiK25ForConditionalGeneration", "MistralLarge3ForCausalLM",
        "PixtralForConditionalGeneration", "GlmMoeDsaForCausalLM")
    assert "Step3p5ForCausalLM" in eng.rule("swa_pool_archs")
    assert {"Exaone4ForCausalLM", "ExaoneMoEForCausalLM", "Step3p5ForCausalLM"} <= set(eng.rule("sliding_window_archs"))
    assert set(eng.rule("vlm_fraction").archs) - set(get_engine(OLD).rule("vlm_fraction").archs) == {
        "Ernie4_5_VLMoeForConditionalGeneration", "GlmOcrForConditionalGeneration", "LightOnOCRForConditionalGeneration",
        "Qwen3_5ForConditionalGeneration", "Qwen3_5MoeForConditionalGeneration", "InternS1ProForConditionalGeneration",
        "StepVLForConditionalGeneration", "KimiK25ForConditionalGeneration"}
    assert dict(eng.rule("allreduce_rms_fusion").defaults)["KimiK25ForConditionalGeneration"] == (9, 10)
    assert {"Qwen3_5ForConditionalGeneration", "Lfm2ForCausalLM"} <= set(eng.rule("mha_backend_default")["own"])
    assert eng.rule("dsa_fp8_alloc_bytes") == 656 and eng.rule("alibi_slopes_tensor") is True
