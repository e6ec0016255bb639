"""SGLang 0.5.22, read against 0.5.23 from its published wheel (sglang-0.5.22-cp311-cp311-
manylinux_2_34_x86_64.whl): the files every rule in kvplan/engines/sglang.py cites, diffed
(h27-sgl's FINDINGS_h27_sgl.md). 0.5.22 sizes the pool as 0.5.23 does (the same
arg_groups/memory_hook.py reservation, mem_cache/kv_cache_configurator.py _profile_available_bytes
and page rounding); it differs in what it has no model for (Beam, MuseSpark, MiniCPM-V 4.7), in
MiMo-V2's all-reduce fusion (not turned on by itself) and in --max-running-requests under DP
attention (R // dp, refused at 0, as 0.5.8). 0.5.20 and 0.5.21 reserve otherwise (no
--max-running-requests cap on the decode graphs: tests/test_sglang_0_5_20.py, test_sglang_0_5_21.py)."""
from __future__ import annotations

import dataclasses
from fractions import Fraction

import pytest

from helpers import cli, one_line_error
from kvplan.capacity import make_request, plan
from kvplan.engines import get_engine
from kvplan.engines.sglang import BOOK, GraphModel, default_fraction
from kvplan.errors import BadInputError
from kvplan.gpus import get_gpu
from kvplan.loader import load_model

REL, NEW, OLD = "sglang==0.5.22", "sglang==0.5.23", "sglang==0.5.8"
LLAVA = "benchmarks/unseen_configs/llava-1.5-7b.json"


def _pool(model, gpu, engine=REL, **options):
    spec = load_model(model) if isinstance(model, str) else model
    return plan(make_request(spec, gpu, engine=engine, **options))


def test_llama3_1_8b_on_an_h100(capsys):
    # memory_hook.py (0.5.22 lines 90-345): H100 81,559 MiB -> chunked_prefill_size 8,192, decode
    # max_bs 256 at tp 1; reserved 512 + 1.5 x 8,192 + 1 x 1 / 8 x 1,024 + 2 x 256 = 13,440 MiB, plus
    # the breakable prefill graphs, 8 MiB for each of the 58 captured sizes up to 8,192
    # (cuda_graph_hook.py lines 442-459): 13,904 -> round(67,655 / 81,559, 3) = 0.830, as 0.5.23.
    # share int(85,029,027,840 x 0.830) = 70,574,093,107; in use int(547,608,330 x 0.830) = 454,514,913;
    # weights 16,060,522,496 + the float32 rotary table 131,072 x 128 x 4 = 67,108,864 (rule rope_table):
    # pool 53,991,946,834 B / 131,072 B a token (32 layers x 8 KV heads x (128 + 128) x 2 B) = 411,925 tokens
    assert default_fraction("reserved_0_5_23", 81559, 1, 1, graphs=GraphModel()) == Fraction("0.830")
    pool = _pool("llama3.1-8b", "h100")
    assert pool.settings.memory_fraction == Fraction("0.830")
    assert (pool.stages[0].kv_pool_bytes, pool.kv_cache_tokens) == (53_991_946_834, 411_925)
    code, out, _ = cli(capsys, "capacity", "llama3.1-8b", "--gpu", "h100", "--engine", REL)
    assert code == 0 and "(mem_fraction_static 0.83)" in out and "KV cache 411,925 tokens" in out


def test_deepseek_v3_tp8_on_an_h200_fp8():
    # H200 143,771 MiB, --tp 8: 512 + 12,288 + 8 / 8 x 1,024 + 2 x 512 = 14,848 MiB, and MLA's prefill
    # graphs 1.5 GiB (reserve_for_graph_mb line 391): 16,384 -> round(127,387 / 143,771, 3) = 0.886.
    # int(150,119,844,413 x 0.886) = 133,006,182,149, in use int(1,642,824,990 x 0.886) = 1,455,542,941,
    # weights (fp8) 85,581,545,728 + the rotary table 163,840 x 64 (qk_rope_head_dim) x 4 = 41,943,040
    # + the bf16 w_kc / w_vc of the block-fp8 kv_b_proj 61 x 4,194,304 = 255,852,544:
    # 45,671,297,896 B / (61 layers x (512 + 64) x 2 B = 70,272 B) = 649,921
    pool = _pool("deepseek-v3", "h200", tp=8, weights="fp8")
    assert pool.settings.memory_fraction == Fraction("0.886")
    assert (pool.stages[0].kv_pool_bytes, pool.kv_cache_tokens) == (45_671_297_896, 649_921)


def test_a_multimodal_model_s_prefill_graphs_are_off_before_the_reserve():
    # cuda_graph_hook.py disable_breakable_cudagraph_if_incompatible (0.5.22 lines 194-201): LLaVA is
    # multimodal and not in multimodal_breakable_cuda_graph_supported_model_archs, so its prefill graph
    # is off before handle_gpu_memory_settings (pipeline.py lines 181 / 208): 13,440 MiB, 0.835; then
    # adjust_mem_fraction_for_vlm (CLIP-L: 24 x 1024, ratio 1) x 0.95 = 0.7932499999999999 (float).
    # share int(85,029,027,840 x 0.79325) - weights 14,101,657,600 - the Llama backbone's float32 rotary
    # table 4,096 x 128 x 4 = 2,097,152 - in use and SGLANG_VLM_CACHE_SIZE_MB's 100 MiB 539,247,907
    # = 52,806,273,675 B / 524,288 B a token = 100,719 tokens; 0.5.23 the same
    for engine in (REL, NEW):
        pool = _pool(LLAVA, "h100", engine=engine)
        assert pool.settings.memory_fraction == Fraction(repr(0.835 * 0.95)) == Fraction(repr(0.7932499999999999))
        assert (pool.stages[0].kv_pool_bytes, pool.kv_cache_tokens) == (52_806_273_675, 100_719)
    # a text model keeps them: the same H100 reserves 13,904 MiB (above)
    assert GraphModel.of(load_model(LLAVA), None, BOOK.rule("prefill_graphs", get_engine(REL).release).value,
                         BOOK.rule("vlm_fraction", get_engine(REL).release).value).prefill_graphs is False


def test_muse_glimmer_captures_prefill_graphs_up_to_512_tokens():
    # cuda_graph_hook.py apply_muse_glimmer_prefill_cuda_graph_max_bs_default (0.5.22 lines 337-351):
    # 30 sizes up to 512 (8 + 14 + 8) x 8 = 240 MiB: 13,440 + 240 = 13,680 -> round(67,879 / 81,559, 3) = 0.832
    rel = get_engine(REL)
    glimmer = dataclasses.replace(load_model("llama3.1-8b"), architecture="MuseGlimmerForCausalLM")
    graphs = GraphModel.of(glimmer, None, rel.rule("prefill_graphs"), rel.rule("vlm_fraction"))
    assert graphs.prefill_max_bs == 512
    assert default_fraction("reserved_0_5_23", 81559, 1, 1, graphs=graphs) == Fraction("0.832")


def test_max_running_requests_under_dp_attention_is_not_raised_to_one():
    # kv_cache_configurator.py resolve_max_num_reqs line 2809: R // attn_dp_size (0.5.23: max(1, ...)),
    # and managers/tp_worker.py line 413 asserts 'max_running_request is zero'
    ds = load_model("deepseek-v3")
    with pytest.raises(BadInputError, match=r"--max-running-requests 7 // dp 8 = 0 .*max_running_request is zero"):
        _pool(ds, "h200", tp=1, dp=8, weights="fp8", max_num_seqs=7)
    assert _pool(ds, "h200", engine=NEW, tp=1, dp=8, weights="fp8", max_num_seqs=7).settings.max_num_seqs == 1
    # the cap at half the pool's tokens as 0.5.23 (RTX 4090: 12,353 // 2)
    assert _pool("llama3.1-8b", "rtx4090", max_num_seqs=10_000).settings.max_num_seqs == 6_176


def test_mimo_v2_all_reduce_fusion_is_not_turned_on_by_itself():
    # overrides.py _flashinfer_allreduce_fusion_auto_enable (0.5.22 lines 930-960): the 19 architectures of
    # _FLASHINFER_ALLREDUCE_FUSION_ARCHS only; 0.5.23 adds MiMo-V2 on sm100 (refused there: paths not read)
    mimo = dataclasses.replace(load_model("llama3.1-8b"), architecture="MiMoV2FlashForCausalLM")
    assert not get_engine(REL).allreduce_rms_fusion(get_gpu("b200"), tp=2, spec=mimo).on
    with pytest.raises(BadInputError, match="SGLang 0.5.23 runs --flashinfer-allreduce-fusion-backend here"):
        get_engine(NEW).allreduce_rms_fusion(get_gpu("b200"), tp=2, spec=mimo)
    # the others as 0.5.23: Qwen3-MoE at tp 2 on an H100 is on, and refused
    with pytest.raises(BadInputError, match="SGLang 0.5.22 runs --flashinfer-allreduce-fusion-backend here"):
        get_engine(REL).allreduce_rms_fusion(get_gpu("h100"), tp=2, spec=load_model("qwen3-30b-a3b"))


@pytest.mark.parametrize("arch", ["BeamForCausalLM", "MuseSparkForConditionalGeneration",
                                  "MiniCPMV4_7ForConditionalGeneration"])
def test_architectures_0_5_22_has_no_model_for_are_refused(arch):
    # models/: no beam.py, muse_spark.py; minicpmv.py's EntryClass has no MiniCPMV4_7 (engine_models.json)
    spec = dataclasses.replace(load_model("llama3.1-8b"), architecture=arch)
    with pytest.raises(BadInputError, match=f"sglang==0.5.22 has no model class for {arch} .*releases 0.5.23 "
                                            f"have one"):
        get_engine(REL).check_model(spec)


def test_beam_s_window_and_backend_rows_are_0_5_23_s_only():
    rel, new = get_engine(REL).release, get_engine(NEW).release
    for name in ("sliding_window_archs", "swa_pool_archs"):
        assert "BeamForCausalLM" in BOOK.rule(name, new).value and "BeamForCausalLM" not in BOOK.rule(name, rel).value
    rows = BOOK.rule("mha_backend_default", rel).value["rows"]
    assert not any(archs and "BeamForCausalLM" in archs for *_, archs in rows)
    assert "MuseSparkForConditionalGeneration" not in BOOK.rule("own_backend_unread", rel).value
    assert "MuseSparkForConditionalGeneration" not in BOOK.rule("vlm_fraction", rel).value.archs


def test_refusals_cite_0_5_22_s_own_lines(capsys):
    # overrides.py _mla_kv_cache_dtype_checks: the trtllm_mla message at line 1166 (0.5.23: 1216)
    code, out, err = cli(capsys, "capacity", "deepseek-v3", "--gpu", "b200", "--tp", "8", "--engine", REL,
                         "--kv-dtype", "fp8_e5m2", "--weights", "fp8")
    assert (code, out) == (2, "")
    assert one_line_error(err) == (
        "kvplan: error: sglang==0.5.22 on NVIDIA B200 (HGX, 180 GB) (compute capability 10.0) does not start "
        "deepseek-v3 on its default trtllm_mla attention backend with --kv-cache-dtype fp8_e5m2: "
        "sglang/srt/arg_groups/overrides.py line 1166 raises 'TensorRT-LLM MLA backend only supports kv-cache-dtype "
        "of fp8_e4m3, bf16, or auto.'; use --kv-dtype auto or another --engine sglang==X")
