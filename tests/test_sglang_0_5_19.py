"""SGLang 0.5.19, read against 0.5.18 from its published wheel (sglang-0.5.19-cp311-cp311-manylinux_2_34_x86_64.whl):
every rule kvplan/engines/sglang.py cites, diffed (docs/findings/FINDINGS_h32_sgl518.md). 0.5.19 splits
server_args.py's handlers into arg_groups/ as 0.5.22 has them (arg_groups/pipeline.py, memory_hook.py,
cuda_graph_hook.py, model_overrides/) with 0.5.18's arithmetic: the reserve, the pool, the pages, the request cap and
max_running_requests as 0.5.18. It differs in the prefill CUDA graphs at pp > 1 (turned off by default, 0.5.22's rule:
Llama-3.1-8B H100 --pp 2 back to 0.5.14's 0.834), in M-RoPE's axis_map (kept for every mrope_section, 0.5.22's), in
MiniCPM's own backend override (refused, as 0.5.22) and in lists (Granite SWA, Dots3Note, Cohere2Vision breakable).
0.5.20 and 0.5.21 are modelled too."""
from __future__ import annotations

import dataclasses
import json

import pytest

from helpers import capacity_json, cli, hf_fixture
from kvplan.engines import get_engine
from kvplan.engines.base import Release, registered_spans
from kvplan.engines.sglang import BOOK, GraphModel, _reserved_0_5_10
from kvplan.gpus import get_gpu
from kvplan.loader import load_model

REL, OLD = "sglang==0.5.19", "sglang==0.5.18"
H = "tests/fixtures/hf_configs/"


@pytest.mark.parametrize("args, fraction, weights, tokens, seqs", [
    (("llama3.1-8b", "--gpu", "h100"), 0.83, 16_127_631_360, 411_925, 2048),
    (("qwen3-30b-a3b", "--gpu", "h100"), 0.83, 61_085_216_768, 91_902, 2048),
    # MLA keeps its prefill graphs (1.5 GiB), as 0.5.18
    (("deepseek-v3", "--weights", "fp8", "--gpu", "h200", "--tp", "8"), 0.886, 85_879_341_312, 649_921, 2048),
    (("deepseek-v3", "--weights", "fp8", "--gpu", "b200", "--tp", "8"), 0.844, 85_879_341_312, 1_058_176, 3306),
    (("deepseek-v3", "--weights", "fp8", "--gpu", "h200", "--tp", "1", "--dp", "8"), 0.758, 98_482_950_400, 200_117,
     2048),
    (("gemma3-27b", "--gpu", "h100", "--max-model-len", "29000"), 0.83, 54_999_031_520, 29_770, 2048),
    (("llama3.1-8b", "--gpu", "b200"), 0.854, 16_127_631_360, 1_121_088, 4096),
    (("qwen3-30b-a3b", "--gpu", "h100", "--tp", "2", "--dp", "2"), 0.762, 15_914_790_912, 968_943, 4096),
    ((H + "gemma-3-1b-it.json", "--gpu", "h100"), 0.83, 2_066_881_792, 2_556_065, 4096),
    # multimodal: 100 MiB off the KV budget, as 0.5.18 (the fixture has no mrope_section: no axis_map)
    ((H + "qwen3-vl-8b-instruct.json", "--gpu", "h100"), 0.7721792968749999, 17_669_644_768, 321_860, 2048),
])
def test_as_0_5_18(capsys, args, fraction, weights, tokens, seqs):
    for engine in (OLD, REL):
        out = capacity_json(capsys, *args, "--engine", engine)
        assert (out["mem_fraction_static"], out["weights_bytes"], out["kv_cache_tokens"], out["max_num_seqs"]) == (
            fraction, weights, tokens, seqs), engine


def test_prefill_graphs_off_with_pipeline_stages(capsys):
    # cuda_graph_hook.py apply_cuda_graph_compatibility lines 118-131: no breakable prefill graphs at pp > 1 by
    # default, so 13,568 MiB, round(67,991 / 81,559, 3) = 0.834 (0.5.15-0.5.18: + 58 x 8 MiB, 0.828), 0.5.14's figures
    args = ("llama3.1-8b", "--gpu", "h100", "--pp", "2")
    for engine, want in ((OLD, (0.828, 929_968, 3632)), (REL, (0.834, 937_602, 3662)),
                         ("sglang==0.5.14", (0.834, 937_602, 3662))):
        out = capacity_json(capsys, *args, "--engine", engine)
        assert (out["mem_fraction_static"], out["kv_cache_tokens"], out["max_num_seqs"]) == want, engine
    eng, old = get_engine(REL), get_engine(OLD)
    rule = eng.rule("prefill_graphs")
    assert (rule["pp_kept"], old.rule("prefill_graphs")["pp_kept"]) == (False, True)
    assert (rule["mla_off"], rule["dp_kept"], rule["context_clamp"]) == (False, True, False)
    graphs = GraphModel.of(load_model("llama3.1-8b"), None, rule, eng.rule("vlm_fraction"))
    assert (graphs.prefill_graphs, graphs.with_pipeline, graphs.with_dp_attention) == (True, False, True)
    assert _reserved_0_5_10(81559, 1, 2, graphs=graphs) == 13_568


def test_multimodal_lists():
    eng, old = get_engine(REL), get_engine(OLD)
    rule, vlm = eng.rule("prefill_graphs"), eng.rule("vlm_fraction")
    # Cohere2Vision moves to the breakable list (configs/model_config.py lines 1985-1994): kept under DP attention
    cohere = dataclasses.replace(load_model("llama3.1-8b"), architecture="Cohere2VisionForConditionalGeneration")
    graphs = GraphModel.of(cohere, None, rule, vlm)
    assert (graphs.prefill_graphs, graphs.with_pipeline, graphs.with_dp_attention) == (True, False, True)
    graphs = GraphModel.of(cohere, None, old.rule("prefill_graphs"), old.rule("vlm_fraction"))
    assert (graphs.prefill_graphs, graphs.with_pipeline, graphs.with_dp_attention) == (True, False, False)
    assert set(rule["mm_kept"]) - set(old.rule("prefill_graphs")["mm_kept"]) == {
        "Cohere2VisionForConditionalGeneration", "PaddleOCRVLForConditionalGeneration"}
    assert rule["mm_tc"] == ("MiniMaxM3SparseForCausalLM", "MiniMaxM3SparseForConditionalGeneration")
    assert set(vlm.archs) - set(old.rule("vlm_fraction").archs) == {"Dots3NoteForCausalLM"}
    assert eng.rule("multimodal")["kv_reserve_mib"] == 100


def test_qwen3_vl_axis_map(tmp_path):
    # rotary_embedding/mrope.py MRotaryEmbedding.__init__ lines 57-105: axis_map, 128 / 2 int64, for any
    # mrope_section (0.5.18: only GLM's interleaved layout); text 262,144 x 128 x 4, vision 8,192 x 36 x 4
    config = hf_fixture("qwen3-vl-8b-instruct")
    config["text_config"] = {**config["text_config"], "rope_scaling": {
        "mrope_interleaved": True, "mrope_section": [24, 20, 20], "rope_type": "default"}}
    path = tmp_path / "qwen3-vl-8b-instruct.json"
    path.write_text(json.dumps(config))
    spec, h100 = load_model(str(path)), get_gpu("h100")
    assert spec.vision_tower.mrope is True
    got = {r: get_engine(f"sglang=={r}").rope_table_bytes(spec, h100) for r in ("0.5.18", "0.5.19", "0.5.22")}
    assert got == {"0.5.18": 134_217_728 + 1_179_648, "0.5.19": 134_217_728 + 1_179_648 + 512,
                   "0.5.22": 134_217_728 + 1_179_648 + 512}
    assert (get_engine(REL).rule("rope_table")["mrope_axis_map"], get_engine(REL).rule("rope_table")["hip_fp32"]) == (
        True, False)


def test_minicpm_picks_its_own_backend(capsys):
    # arg_groups/model_overrides/minicpm.py _minicpm_sala_overrides (registered for MiniCPMForCausalLM too): refused
    # as in 0.5.22 (0.5.18 refuses it earlier, for its rotary table)
    code, _, err = cli(capsys, "capacity", H + "minicpm-2b-sft-bf16.json", "--gpu", "h100", "--engine", REL)
    assert code == 2 and "model_overrides/minicpm.py _minicpm_sala_overrides lines 17-67" in err
    assert "MiniCPMForCausalLM" not in get_engine(OLD).rule("own_backend_unread")


def test_rows_that_changed():
    eng, old = get_engine(REL), get_engine(OLD)
    added = {"GraniteSWAForCausalLM", "GraniteMoeSWAForCausalLM"}
    assert set(eng.rule("sliding_window_archs")) - set(old.rule("sliding_window_archs")) == added | {
        "Spark2_5ForCausalLM"}
    assert set(eng.rule("swa_pool_archs")) - set(old.rule("swa_pool_archs")) == added
    rows, was = eng.rule("mla_backend_default")["rows"], old.rule("mla_backend_default")["rows"]
    assert set(rows[0][3]) - set(was[0][3]) == {"Dots3NoteForCausalLM"} and rows[1:] == was[1:]
    assert eng.rule("backend_page_size")["trtllm_mha"] == ((16, 32, 64, 128), 64, "1178-1191")
    assert "arg_groups/overrides.py line 1223" in eng.rule("fp8_kv_start")["trtllm_mla"]["fp8_e5m2"][1]


def test_rows_shared_with_0_5_18():
    eng, old = get_engine(REL), get_engine(OLD)
    for name in ("pool_formula", "page_size", "running_requests", "dsa_fp8_alloc_bytes", "dp_attention_weights",
                 "aiter_fraction", "min_capability", "weights_min_capability",
                 "alibi_slopes_tensor", "request_pool_extra", "startup_in_use_bytes", "shared_expert_whole",
                 "mla_copy_block_fp8", "pipeline_parallel", "request_cap", "dsa", "kv_cache_dtypes",
                 "kv_dtypes_unmodelled", "trtllm_mha_large_page", "llama4_backend_asserted", "llama4_vision_tower",
                 "rope_scaling_passed", "mem_fraction_static_default", "mha_backend_default", "allreduce_rms_fusion"):
        assert BOOK.rule(name, eng.release) is BOOK.rule(name, old.release), name
    # checkpoint_fp8_kv_auto differs: CompressedTensorsConfig.kv_cache_quant_algo from 0.5.19 (compressed_tensors.py
    # lines 137-146)
    assert eng.rule("checkpoint_fp8_kv_auto") == ("modelopt", "fp8", "compressed-tensors")
    assert old.rule("checkpoint_fp8_kv_auto") == ("modelopt", "fp8")


def test_new_architectures_are_registered_from_0_5_19():
    # kvplan/data/engine_models.json from the wheels: 0.5.18 233 classes, 0.5.19 245, none removed
    for arch in ("GraniteSWAForCausalLM", "GraniteMoeSWAForCausalLM", "Dots3NoteForCausalLM", "Spark2_5ForCausalLM",
                 "MiniCPMSALAForCausalLM", "BailingMoeV3ForCausalLM"):
        spans = registered_spans("sglang", arch)
        assert spans and spans[0][0] == Release.parse("0.5.19"), arch
