"""SGLang 0.5.23, read against 0.5.8 from its published wheel (sglang-0.5.23-cp311-cp311-
manylinux_2_34_x86_64.whl; 0.5.22 is modelled from its own wheel, tests/test_sglang_0_5_22.py; the
releases 0.5.9-0.5.21 (with 0.5.13.post1 and 0.5.15.post1) are modelled too, tests/test_sglang_0_5_9.py ...
tests/test_sglang_0_5_21.py).
Every figure below is worked from the 0.5.23 source the rules in kvplan/engines/sglang.py cite.

The pool formula is 0.5.8's (mem_cache/kv_cache_configurator.py _profile_available_bytes):
pool = f x (total - in use at start) - weights, kvplan's carve with in use 0.51 GiB on one GPU
(547,608,330 B) and 1.53 GiB with tp (1,642,824,990 B). What moved is the default f
(arg_groups/memory_hook.py: prefill CUDA graphs reserve 8 MiB a captured size, 1.5 GiB for MLA),
the request cap with pages, max_running_requests, and what is refused."""
from __future__ import annotations

import dataclasses
from fractions import Fraction

import pytest

from helpers import cli, one_line_error
from kvplan.capacity import make_request, plan
from kvplan.engines import get_engine
from kvplan.engines.sglang import default_fraction, prefill_graph_sizes, GraphModel
from kvplan.errors import BadInputError
from kvplan.gpus import get_gpu
from kvplan.loader import load_model

NEW, OLD = "sglang==0.5.23", "sglang==0.5.8"
V32 = "tests/fixtures/hf_configs/deepseek-v3.2.json"


def _pool(model, gpu, engine=NEW, **options):
    spec = load_model(model) if isinstance(model, str) else model
    return plan(make_request(spec, gpu, engine=engine, **options))


def test_prefill_graph_sizes():
    # cuda_graph_hook.py generate_prefill_cuda_graph_batch_sizes: 4..32 by 4 (8), 48..256 by 16 (14),
    # 288..512 by 32 (8), 576..1024 by 64 (8), 1280..4096 by 256 (12), 4608.. by 512
    assert prefill_graph_sizes(4096) == 50
    assert prefill_graph_sizes(8192) == 58
    assert prefill_graph_sizes(16384) == 74
    assert prefill_graph_sizes(3) == 0


@pytest.mark.parametrize(("gpu_mib", "tp", "graphs", "old", "new"), [
    # H100 (81,559 MiB), tp 1: 512 + 1.5 x 8,192 + 128 + 2 x 256 = 13,440 MiB (0.835); 0.5.23 adds
    # 58 prefill sizes x 8 = 464: 13,904 -> round(67,655 / 81,559, 3) = 0.830
    (81559, 1, GraphModel(), "0.835", "0.830"),
    # H200 (143,771): 13,440 -> 0.907; 13,904 -> round(129,867 / 143,771, 3) = 0.903
    (143771, 1, GraphModel(), "0.907", "0.903"),
    # B200 (183,359): 512 + 24,576 + 128 + 1,024 = 26,240 (0.857); + 74 x 8 = 592: 26,832 -> 0.854
    (183359, 1, GraphModel(), "0.857", "0.854"),
    # a Llama-2 path: prefill graphs only up to 4,096 tokens (memory_hook.py line 260): 50 x 8 = 400,
    # 26,640 -> round(156,719 / 183,359, 3) = 0.855
    (183359, 1, GraphModel(llama2=True), "0.857", "0.855"),
    # RTX 4090 (24,564): 0.5.8 512 + 3,072 + 128 + 48 = 3,760 (0.847); 0.5.23 chunked 4,096 and
    # max_bs 48: 512 + 6,144 + 128 + 96 + 50 x 8 = 7,280 -> round(17,284 / 24,564, 3) = 0.704
    (24564, 1, GraphModel(), "0.847", "0.704"),
    # DeepSeek-V3 on an H200 at --tp 8: 512 + 12,288 + 1,024 + 1,024 = 14,848 (0.897); MLA's 1.5 GiB:
    # 16,384 -> round(127,387 / 143,771, 3) = 0.886
    (143771, 8, GraphModel(mla=True), "0.897", "0.886"),
    # --max-running-requests 64 lowers the decode graphs' max_bs 256 -> 64: 13,904 - 384 = 13,520 ->
    # round(68,039 / 81,559, 3) = 0.834 (0.5.8 does not read it)
    (81559, 1, GraphModel(max_running_requests=64), "0.835", "0.834"),
])
def test_default_mem_fraction_static(gpu_mib, tp, graphs, old, new):
    assert default_fraction("reserved_0_5_6", gpu_mib, tp, 1) == Fraction(old)
    assert default_fraction("reserved_0_5_23", gpu_mib, tp, 1, graphs=graphs) == Fraction(new)


def test_pipeline_stages_capture_no_prefill_graphs():
    # cuda_graph_hook.py lines 147-161: breakable prefill graphs off by default with pp > 1.
    # H100, pp 2: 512 + 12,288 + 256 + 512 = 13,568 -> round(67,991 / 81,559, 3) = 0.834 (with the
    # graphs it would be 14,032 -> 0.828)
    assert default_fraction("reserved_0_5_23", 81559, 1, 2, graphs=GraphModel()) == Fraction("0.834")


def test_dp_attention_reserve():
    # DeepSeek-V3, --tp 8 --dp 8 on an H200: 512 + 12,288 + 1,024 + 1,024 + 512 x 8 x 3 + 512 x 8 x 1.5
    # + 1,536 = 34,816 -> round(108,955 / 143,771, 3) = 0.758 (0.5.8: 33,280 -> 0.769)
    graphs = GraphModel(mla=True)
    assert default_fraction("reserved_0_5_23", 143771, 8, 1, dp_attention=8, graphs=graphs) == Fraction("0.758")
    pool = _pool("deepseek-v3", "h200", tp=1, dp=8, weights="fp8")
    assert pool.settings.memory_fraction == Fraction("0.758")


def test_llama3_1_8b_on_an_h100():
    # share int(85,029,027,840 x 0.830) = 70,574,093,107; in use int(547,608,330 x 0.830) = 454,514,913;
    # weights 16,060,522,496 + the float32 rotary table 131,072 x 128 x 4 = 67,108,864 (rule rope_table): pool 53,991,946,834 B;
    # 32 layers x 8 KV heads x (128 + 128) x 2 B = 131,072 B a token: 411,925 tokens (0.5.8: 415,148)
    pool = _pool("llama3.1-8b", "h100")
    assert pool.settings.memory_fraction == Fraction("0.830")
    assert pool.stages[0].kv_pool_bytes == 53_991_946_834
    assert pool.kv_cache_tokens == 411_925
    assert _pool("llama3.1-8b", "h100", engine=OLD).kv_cache_tokens == 415_148


def test_llama3_1_8b_on_an_h200_and_a_b200():
    # H200: int(150,119,844,413 x 0.903) - 16,127,631,360 (weights and rotary table) - int(547,608,330 x
    # 0.903) = 135,558,219,504 - 16,127,631,360 - 494,490,321 = 118,936,097,823 B: 907,410 tokens
    # (0.5.8: 911,974)
    h200 = _pool("llama3.1-8b", "h200")
    assert (h200.stages[0].kv_pool_bytes, h200.kv_cache_tokens) == (118_936_097_823, 907_410)
    # B200 at 0.854: 146,947,831,998 B = 1,121,122 tokens, in trtllm_mha pages of 64: 1,121,088
    # (0.5.8: 1,125,440)
    b200 = _pool("llama3.1-8b", "b200")
    assert (b200.stages[0].kv_pool_bytes, b200.kv_cache_tokens, b200.settings.block_size) == (
        146_947_831_998, 1_121_088, 64)


def test_deepseek_v3_tp8_on_an_h200():
    # 0.886: int(150,119,844,413 x 0.886) = 133,006,182,149, in use int(1,642,824,990 x 0.886) =
    # 1,455,542,941, weights (fp8) 85,581,545,728 + the rotary table 163,840 x 64 x 4 = 41,943,040
    # + the bf16 w_kc / w_vc of the block-fp8 kv_b_proj 61 x 4,194,304 = 255,852,544:
    # 45,671,297,896 B; 61 layers x (512 + 64) x 2 B = 70,272 B a token: 649,921 tokens (0.5.8 at
    # 0.897: 673,163)
    pool = _pool("deepseek-v3", "h200", tp=8, weights="fp8")
    assert pool.settings.memory_fraction == Fraction("0.886")
    assert (pool.stages[0].kv_pool_bytes, pool.kv_cache_tokens) == (45_671_297_896, 649_921)
    assert _pool("deepseek-v3", "h200", engine=OLD, tp=8, weights="fp8").kv_cache_tokens == 673_163


def test_a_request_stops_a_page_and_a_token_short_of_the_pool():
    # mem_cache/allocator/base.py max_new_tokens_for_memory: pool - ceil(prompt / page) x page - page - 1
    # new tokens. RTX 4090 at --page-size 16: 12,353 tokens -> 12,352 in pages; a request runs to
    # 12,352 - 16 - 1 = 12,335 (0.5.8's rule: 12,352 - 2 = 12,350)
    pool = _pool("llama3.1-8b", "rtx4090", block_size=16)
    assert (pool.kv_cache_tokens, pool.max_request_tokens, pool.cap_bound) == (12_352, 12_335, "memory")
    one = _pool("llama3.1-8b", "rtx4090")  # pages of 1: pool - 2, as before
    assert one.max_request_tokens == one.kv_cache_tokens - 2 == 12_351


def test_start_needs_two_tokens_not_seven():
    # 0.5.23 managers/tp_worker.py line 425 asserts only max_req_len = min(context_len, pool) - 1 > 0
    assert _pool("llama3.1-8b", "h100", max_model_len=5).startup().ok
    assert not _pool("llama3.1-8b", "h100", engine=OLD, max_model_len=5).startup().ok
    # ... but it then aborts every prompt (managers/utils.py validate_input_length lines 259-289: a prompt of
    # max_req_input_len = min(context_len, pool) - 6 = -1 tokens or more): nothing runs until context_len 8
    v = _pool("llama3.1-8b", "h100", max_model_len=5).planned()
    assert not v.ok and v.bound == "max_model_len" and "starts at max_model_len 5 but aborts every prompt" in v.reason
    assert "validate_input_length (lines 259-289)" in v.reason
    assert not _pool("llama3.1-8b", "h100", max_model_len=7).verdict().ok
    assert _pool("llama3.1-8b", "h100", max_model_len=8).verdict().ok


def test_max_running_requests():
    # default: min(max(int(pool / context_len x 512), 2048), 4096), then pool // 2; a given R runs
    # min(max(1, R // dp), pool // 2) (kv_cache_configurator.py resolve_max_num_reqs): 12,353 // 2 = 6,176
    assert _pool("llama3.1-8b", "rtx4090", max_num_seqs=10_000).settings.max_num_seqs == 6_176
    assert _pool("llama3.1-8b", "rtx4090", engine=OLD, max_num_seqs=10_000).settings.max_num_seqs == 10_000
    # DP attention: R // dp, at least 1 (0.5.8 refuses 7 // 8 = 0)
    ds = load_model("deepseek-v3")
    assert _pool(ds, "h200", tp=1, dp=8, weights="fp8", max_num_seqs=7).settings.max_num_seqs == 1
    with pytest.raises(BadInputError, match="max_running_request is zero"):
        _pool(ds, "h200", engine=OLD, tp=1, dp=8, weights="fp8", max_num_seqs=7)


def test_dp_attention_splits_qwen3_moe_embedding_over_the_attention_group():
    # 0.5.23 models/qwen2_moe.py line 1115: use_attn_tp_group=is_dp_attention_enabled() (0.5.8: whole)
    eng, gpu, spec = get_engine(NEW), get_gpu("h200"), load_model("qwen3-30b-a3b")
    assert eng.weight_splits(spec, gpu, tp=2, dp_attention=4) == (("embedding", "", 2), ("lm_head", "", 8))
    assert get_engine(OLD).weight_splits(spec, gpu, tp=2, dp_attention=4) == (("embedding", "", 1),
                                                                              ("lm_head", "", 8))


def test_backends_and_pages():
    eng, b200, h100, a100 = get_engine(NEW), get_gpu("b200"), get_gpu("h100"), get_gpu("a100-80gb")
    llama = load_model("llama3.1-8b")
    assert (eng.default_backend(llama, h100), eng.default_backend(llama, b200)) == ("fa3", "trtllm_mha")
    # trtllm_mha keeps pages of 128 from 0.5.23 (0.5.8: 16 / 32 / 64 only)
    assert eng.model_block_size(llama, b200, None, 128, 128) == 128
    assert get_engine(OLD).model_block_size(llama, b200, None, 128, 128) == 64
    # K and V rows of different widths: fa4 on sm100 (model_override_base.py line 324), pages of 128
    wide = dataclasses.replace(llama, v_head_dim=64)
    assert eng.default_backend(wide, b200) == "fa4" and eng.model_block_size(wide, b200, None, None, 1) == 128
    # Olmo2's own override: fa3 from sm80 (model_overrides/olmo2.py lines 24-30)
    olmo = dataclasses.replace(llama, architecture="Olmo2ForCausalLM")
    assert (eng.default_backend(olmo, a100), eng.default_backend(olmo, b200)) == ("fa3", "trtllm_mha")


def test_gpt_oss_on_rocm_takes_aiter_and_its_0_85():
    # model_overrides/gpt_oss.py line 39: aiter on hip (0.5.8: triton), so a context over 8,192 tokens
    # scales mem_fraction_static by 0.85 (attention_hook.py lines 243-270)
    spec, gpu = load_model("gpt-oss-20b"), get_gpu("mi300x")
    new, note = get_engine(NEW).memory_fraction_for(spec, gpu, Fraction("0.8"), tp=1, context_len=131_072)
    assert new == Fraction("0.68") and "aiter" in note
    assert get_engine(OLD).memory_fraction_for(spec, gpu, Fraction("0.8"), tp=1, context_len=131_072)[0] == \
        Fraction("0.8")


def test_a_multimodal_model_loses_100_mib_of_pool():
    # mem_cache/kv_cache_configurator.py mm_runtime_reservation_gb: SGLANG_VLM_CACHE_SIZE_MB = 100, for
    # a model ModelConfig.is_multimodal; Gemma 3 is in mm_disabled_models (configs/model_config.py lines
    # 690-705): served as text, it loses nothing to the reserve, but 0.5.23 builds two rope_type default
    # rotary tables of 131,072 x 128 x 4 B that 0.5.8 does not (rule rope_table)
    llava = "benchmarks/unseen_configs/llava-1.5-7b.json"
    new = _pool(llava, "h100", gpu_memory_utilization="0.85")
    old = _pool(llava, "h100", engine=OLD, gpu_memory_utilization="0.85")
    assert old.stages[0].kv_pool_bytes - new.stages[0].kv_pool_bytes == 104_857_600
    new = _pool("gemma3-27b", "h100", gpu_memory_utilization="0.85")
    old = _pool("gemma3-27b", "h100", engine=OLD, gpu_memory_utilization="0.85")
    assert old.stages[0].kv_pool_bytes - new.stages[0].kv_pool_bytes == 2 * 131_072 * 128 * 4 == 134_217_728


# Not a real log (no public SGLang 0.5.23 startup log of a multimodal model is kept): the lines SGLang
# prints, with "avail mem" figures made up, for LLaVA-1.5-7B (32 layers x 32 KV heads x 128 x K and V x 2 B
# = 524,288 B a token) at mem_fraction_static 0.85; 0.5.23 logs the reserve it takes
# (kv_cache_configurator.py mm_runtime_reservation_gb: "Reserving %.2f GB of the KV budget ...").
_LLAVA_LOG = """\
[2026-01-10 10:00:00] server_args=ServerArgs(model_path='llava-hf/llava-1.5-7b-hf', dtype='auto', \
kv_cache_dtype='auto', mem_fraction_static=0.85, tp_size=1, pp_size=1)
[2026-01-10 10:00:05 TP0] Load weight begin. avail mem=78.00 GB
[2026-01-10 10:00:30 TP0] Load weight end. type=LlavaForConditionalGeneration, dtype=torch.bfloat16, \
avail mem=64.00 GB, mem usage=14.00 GB.
[2026-01-10 10:00:30 TP0] Reserving 0.10 GB of the KV budget for post-sizing multimodal allocations \
(feature-transport pools + embedding cache).
[2026-01-10 10:00:31 TP0] KV Cache is allocated. #tokens: 106910, K size: 26.10 GB, V size: 26.10 GB
"""


def test_explain_takes_the_multimodal_reserve_capacity_takes():
    """rest = 64 - 78 x 0.15 - 100/1024 = 52.20234375 GiB -> int(52.20234375 x 2**30 // 524,288) = 106,910
    tokens, the log's; explain left the 100 MiB in (107,110, +200 = 104,857,600 / 524,288) though
    capacity takes it (test_a_multimodal_model_loses_100_mib_of_pool). 0.5.8 has no such reserve."""
    from kvplan.explain import explain
    from kvplan.explain_log import parse_log

    llava = "benchmarks/unseen_configs/llava-1.5-7b.json"
    log = parse_log(_LLAVA_LOG)
    ex = explain(log, model=llava, gpu="h100", release="0.5.23")
    assert ex.line("KV cache tokens").kvplan == ex.line("KV cache tokens").logged == 106_910
    assert ex.line("multimodal reserve").kvplan == 104_857_600
    assert any("takes 100 MiB off its KV budget" in n for n in ex.notes)
    old = explain(log, model=llava, gpu="h100", release="0.5.8")
    assert old.line("KV cache tokens").kvplan == 107_110
    assert all(line.label != "multimodal reserve" for line in old.lines)
    # the what-if keeps it: 64 - 78 x 0.2 - 100/1024 = 48.30234375 GiB -> 98,923 tokens
    wi = explain(log, model=llava, gpu="h100", release="0.5.23", what_if={"mem_fraction_static": 0.8})
    assert wi.what_if["lines"][2].kvplan == 98_923


REFUSED = [
    # GptOss: a window pool on every backend now (no disable_hybrid_swa_memory for it)
    (["capacity", "gpt-oss-20b", "--gpu", "b200"], "gives gpt-oss-20b's window layers a pool of their own"),
    (["capacity", "llama3.1-8b", "--gpu", "b200", "--kv-dtype", "nvfp4"],
     "--kv-cache-dtype nvfp4: its nvfp4 cache keeps scale buffers"),
    (["capacity", V32, "--gpu", "h200", "--tp", "8", "--weights", "fp8", "--kv-dtype", "fp8_e4m3"],
     "SGLang stores deepseek-v3.2's fp8_e4m3 DeepSeek sparse attention latent with per-block scales and a bf16 "
     "rope (512 + 4 x 4 + 64 x 2 = 656 B; flashmla_kv)"),
    (["capacity", V32, "--gpu", "mi300x", "--tp", "8", "--weights", "fp8", "--gpu-memory-utilization", "0.8"],
     "on ROCm SGLang pages DeepSeek sparse attention by 1 or by 64 tokens"),
    (["speed", "qwen3-30b-a3b", "--gpu", "h100", "--tp", "2", "--ctx", "4k"],
     "SGLang 0.5.23 runs --flashinfer-allreduce-fusion-backend here (SGLang 0.5.23 default for "
     "Qwen3MoeForCausalLM (tp 2, dp 1, pp 1, CC 9.0)), and kvplan has not read which of qwen3-30b-a3b's "
     "all-reduces it fuses"),
    (["speed", "llama3.1-8b", "--gpu", "h100", "--tp", "2", "--ctx", "4k", "--fuse-allreduce-rms"],
     "kvplan has not read which of llama3.1-8b's all-reduces it fuses"),
]


@pytest.mark.parametrize(("args", "text"), REFUSED)
def test_refused_in_one_line(capsys, args, text):
    code, out, err = cli(capsys, *args, "--engine", NEW)
    assert (code, out) == (2, "")
    line = one_line_error(err)
    assert line.startswith("kvplan: error: ") and text in line


def test_allreduce_fusion_off_where_sglang_turns_it_off():
    eng, h100 = get_engine(NEW), get_gpu("h100")
    qwen = load_model("qwen3-30b-a3b")
    # --enforce-disable-flashinfer-allreduce-fusion exists from 0.5.23: off, not refused
    assert not eng.allreduce_rms_fusion(h100, tp=2, asked=False, spec=qwen).on
    # off by default for an architecture outside _FLASHINFER_ALLREDUCE_FUSION_ARCHS, and with DP attention
    assert not eng.allreduce_rms_fusion(h100, tp=2, spec=load_model("llama3.1-8b")).on
    assert eng.allreduce_rms_fusion(h100, tp=2, dp=2, spec=qwen).max_bytes == 0
    # two nodes: on by itself only on sm100 (overrides.py: nnodes == 1 or is_sm100)
    assert not eng.allreduce_rms_fusion(h100, tp=2, spec=qwen, nodes=2).on


def test_an_architecture_whose_backend_choice_is_not_read_is_refused():
    exaone = dataclasses.replace(load_model("llama3.1-8b"), architecture="Exaone4ForCausalLM")
    with pytest.raises(BadInputError, match=r"by its own rules for Exaone4ForCausalLM \(arg_groups/model_overrides/"
                                            r"exaone.py\), which kvplan has not read"):
        get_engine(NEW).check_model(exaone)


def test_start_up_checks_cite_where_0_5_23_moved_them(capsys):
    # min_capability: model_runner_components/load_model_utils.py lines 80-91 (was model_runner.py)
    code, out, err = cli(capsys, "capacity", "llama3.1-8b", "--gpu", "v100-32gb", "--engine", NEW,
                         "--max-model-len", "4096", "--gpu-memory-utilization", "0.85")
    assert (code, out) == (2, "")
    assert one_line_error(err) == (
        "kvplan: error: sglang==0.5.23 does not start on NVIDIA V100 SXM2 32GB (compute capability 7.0): it needs 7.5 "
        "(sglang/srt/model_executor/model_runner_components/load_model_utils.py maybe_downgrade_dtype_for_legacy_gpu "
        "lines 80-91: 'SGLang only supports sm75 and above.'; 0.5.22 the same file); use another GPU")
    # fp8_kv_start: trtllm_mla lists fp8_e4m3, bf16, auto (0.5.8 also fp4_e2m1), overrides.py line 1216
    code, out, err = cli(capsys, "capacity", "deepseek-v3", "--gpu", "b200", "--tp", "8", "--engine", NEW,
                         "--kv-dtype", "fp8_e5m2", "--weights", "fp8")
    assert (code, out) == (2, "")
    assert "sglang/srt/arg_groups/overrides.py line 1216 raises 'TensorRT-LLM MLA backend only supports " \
           "kv-cache-dtype of fp8_e4m3, bf16, or auto.'" in one_line_error(err)


def test_deepseek_v3_on_a_b200_keeps_trtllm_mla_and_its_prefill_graph_reserve():
    # model_overrides/deepseek_v2.py lines 176-188: trtllm_mla on sm100; the prefill graph that
    # cuda_graph_hook.py disable_prefill_cuda_graph_for_deepseek_trtllm_mla turns off runs after the
    # reservation (arg_groups/pipeline.py: handle_gpu_memory_settings first), so the 1.5 GiB stays:
    # 512 + 24,576 + 1,024 + 1,024 + 1,536 = 28,672 MiB, round(154,687 / 183,359, 3) = 0.844
    pool = _pool("deepseek-v3", "b200", tp=8, weights="fp8")
    assert get_engine(NEW).default_backend(load_model("deepseek-v3"), get_gpu("b200")) == "trtllm_mla"
    assert (pool.settings.memory_fraction, pool.settings.block_size) == (Fraction("0.844"), 64)


def test_trtllm_mha_pages_of_128_need_gqa_on_sm100(capsys):
    """Review h26 F1: 0.5.23 trtllm_mha_backend.py lines 368-389 refuse pages of 128 or more on
    sm100 unless each rank has more than one query head a KV head: Llama-2-7B (32 / 32) does not
    start, Llama-3.1-8B (32 / 8) does; 0.5.8 turns 128 into 64 (no such check); pages of 64 run."""
    from tests.helpers import cli as _cli

    code, out, err = _cli(capsys, "capacity", "llama2-7b", "--gpu", "b200", "--engine", "sglang==0.5.23",
                          "--block-size", "128")
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "trtllm_mha with pages of 128 runs only GQA models" in err and "32 / 32 at tp 1" in err
    for model, engine, block in (("llama3.1-8b", "sglang==0.5.23", "128"), ("llama2-7b", "sglang==0.5.23", "64"),
                                 ("llama2-7b", "sglang==0.5.8", "128")):
        code, _, err = _cli(capsys, "capacity", model, "--gpu", "b200", "--engine", engine, "--block-size", block)
        assert code == 0, err


@pytest.mark.parametrize("arch", ["Step3p5ForCausalLM", "Step3p7ForConditionalGeneration",
                                  "MuseSparkForConditionalGeneration"])
def test_overrides_py_hooks_are_refused(arch):
    """Review h26 F3/F3b: 0.5.23 arg_groups/overrides.py picks fa4 (pages of 128) for Step-3.5 / 3.7 on
    Blackwell and fp8_e4m3 for MuseSpark's auto KV cache; kvplan has not modelled either: refused."""
    import dataclasses

    spec = dataclasses.replace(load_model("llama3.1-8b"), architecture=arch)
    with pytest.raises(BadInputError, match=r"by its own rules for " + arch + r" \(arg_groups/overrides.py"):
        plan(make_request(spec, "b200", engine="sglang==0.5.23", gpu_memory_utilization="0.85"))


def test_the_request_cap_loses_the_prompt_s_rounding_to_pages():
    """Review h26 F2: 0.5.23 allocator/base.py max_new_tokens_for_memory allows pool -
    ceil(prompt / page) x page - page - 1 new tokens, so with pages of 16 a prompt of 1,000
    (1,008 paged) runs to pool - 16 - 1 - 8 tokens in all: Llama-3.1-8B on an RTX 4090 (pool
    12,352 tokens at pages of 16) runs 1,000 + 11,327 and not 1,000 + 11,328."""
    pool = plan(make_request(load_model("llama3.1-8b"), "rtx4090", engine="sglang==0.5.23", block_size=16))
    assert pool.settings.block_size == 16 and pool.kv_cache_tokens == 12_352
    assert pool.max_request_tokens == 12_352 - 16 - 1  # a prompt of whole pages
    assert pool.request_tokens_with_prompt(1_008) == 12_335
    assert pool.request_tokens_with_prompt(1_000) == 12_327
    assert pool.serves(12_327, 1, prompt_tokens=1_000)
    v = pool.serves(12_328, 1, prompt_tokens=1_000)
    assert not v and v.bound == "memory" and "less the prompt's 8 tokens of rounding to whole pages" in v.reason
    assert pool.max_requests(12_328, 1_000) == 0 and pool.max_requests(12_327, 1_000) == 1
    assert pool.serves(12_328, 1)  # without the prompt: the best case, as before


@pytest.mark.parametrize("release,said", [("0.5.4", True), ("0.5.6", True), ("0.5.8", True), ("0.5.2", False),
                                          ("0.5.23", False)])
def test_dsa_fp8_latent_allocated_beyond_the_profile_is_said(release, said):
    """0.5.4-0.5.8 size an fp8_e4m3 DeepSeek sparse attention pool at 576 B a latent token and layer
    (the profile's cell size) and allocate 656 (512 fp8 + 4 x 4 scales + 64 x 2 rope): the note gives
    80 x 61 = 4,880 B a token for DeepSeek-V3.2; bf16 and other releases say nothing."""
    from pathlib import Path

    from kvplan.formats import get_format

    spec = load_model(str(Path(__file__).parent.parent / "benchmarks" / "unseen_configs" / "deepseek-v3.2.json"))
    note = get_engine(f"sglang=={release}").kv_alloc_note(spec, get_format("fp8_e4m3"))
    assert (note is not None) == said
    if said:
        assert "at 576 B a latent token and layer but allocates 656" in note and "80 x 61 = 4,880 B a token" in note
    assert get_engine(f"sglang=={release}").kv_alloc_note(spec, get_format("bf16")) is None
    assert get_engine(f"sglang=={release}").kv_alloc_note(load_model("deepseek-v3"), get_format("fp8_e4m3")) is None
