"""SGLang 0.5.14, read against 0.5.13 from its published wheel (sglang-0.5.14-cp311-cp311-manylinux_2_34_
x86_64.whl): every rule kvplan/engines/sglang.py cites, diffed (docs/findings/FINDINGS_h32_sgl514.md).
0.5.14 sizes the default mem_fraction_static (the same sum: its CUDA graphs are configured through
cuda_graph_config now, the prefill ones tc_piecewise by default), the pool, the pages and the rotary tables
of the models 0.5.13 plans as 0.5.13 does. It differs in a --max-running-requests given (capped at half the
pool, not the request-pool estimate: 0.5.22's rule), in the start-up check (only max_req_len > 0), in Gemma 3
without rope_scaling (it starts again: the global table takes rope_parameters['full_attention'] as it is),
in the all-reduce fusion (--flashinfer-allreduce-fusion-backend; on by itself for Qwen3-VL-MoE and NemotronH
too, and across nodes on sm100), in multimodal models keeping their piecewise graphs (Cohere2Vision only)
and in lists. 0.5.15-0.5.17 are modelled too (tests/test_sglang_0_5_15.py ... test_sglang_0_5_17.py); 0.5.20 and 0.5.21 are modelled too."""
from __future__ import annotations

import dataclasses
import json

import pytest

from helpers import capacity_json, cli, one_line_error
from kvplan.capacity import make_request, plan
from kvplan.engines import get_engine
from kvplan.engines.base import Release, registered_spans
from kvplan.engines.sglang import BOOK
from kvplan.errors import BadInputError
from kvplan.gpus import get_gpu
from kvplan.loader import load_model

REL, OLD = "sglang==0.5.14", "sglang==0.5.13"
H = "tests/fixtures/hf_configs/"


@pytest.mark.parametrize("args, fraction, weights, tokens", [
    # H100 (81,559 MiB): 13,440 + 58 prefill sizes x 8 MiB = 13,904 MiB reserved, 0.830, as 0.5.13
    (("llama3.1-8b", "--gpu", "h100"), 0.83, 16_127_631_360, 411_925),
    (("qwen3-30b-a3b", "--gpu", "h100"), 0.83, 61_085_216_768, 91_902),
    # MLA: 1.5 GiB for the prefill graphs, H200 tp 8: 16,384 MiB, 0.886
    (("deepseek-v3", "--weights", "fp8", "--gpu", "h200", "--tp", "8"), 0.886, 85_879_341_312, 649_921),
    (("gemma3-27b", "--gpu", "h100", "--max-model-len", "29000"), 0.83, 54_999_031_520, 29_770),
    # the --context-length clamp (server_args.py lines 3261-3267): 42 sizes up to 2,048, 13,776 MiB, 0.831
    (("llama3.1-8b", "--gpu", "h100", "--max-model-len", "2048"), 0.831, 16_127_631_360, 412_570),
    # B200 (183,359 MiB): 26,240 + 74 x 8 = 26,832 MiB, 0.854; trtllm_mha pages of 64 (lines 4638-4642)
    (("llama3.1-8b", "--gpu", "b200"), 0.854, 16_127_631_360, 1_121_088),
])
def test_as_0_5_13(capsys, args, fraction, weights, tokens):
    for engine in (OLD, REL):
        out = capacity_json(capsys, *args, "--engine", engine)
        assert (out["weights_bytes"], out["kv_cache_tokens"], out["mem_fraction_static"]) == (
            weights, tokens, fraction), engine


def test_a_given_max_running_requests_is_capped_at_half_the_pool():
    # model_runner_kv_cache_mixin.py _resolve_max_num_reqs lines 988-994: min(R // dp, token_capacity // 2),
    # no longer 0.5.13's min(R // dp, the 2,048-4,096 estimate)
    m = load_model("llama3.1-8b")
    got = {e: plan(make_request(m, "h100", engine=e, max_num_seqs=5000)).settings.max_num_seqs for e in (OLD, REL)}
    assert got == {OLD: 2048, REL: 5000}  # the pool holds 411,925 tokens
    assert plan(make_request(m, "h100", engine=REL)).settings.max_num_seqs == 2048  # not given: the estimate
    q = load_model("qwen3-30b-a3b")
    p = plan(make_request(q, "h100", engine=REL, tp=2, dp=2))  # no prefill graphs under DP attention
    assert (float(p.settings.memory_fraction), p.kv_cache_tokens) == (0.768, 979_122)


def _pool_of(engine, max_model_len):
    return plan(make_request(load_model("llama3.1-8b"), "h100-sxm", engine=engine, max_model_len=max_model_len))


def test_start_up_needs_two_tokens_not_seven(capsys):
    # tp_worker.py alloc_memory_pool lines 336-341 assert max_req_len > 0 only (0.5.13 lines 310-311 also
    # max_req_len - 5 > 0)
    # It starts at 4, but managers/utils.py validate_input_length aborts a prompt of max_req_input_len =
    # min(context_len, pool) - 6 tokens or more (tp_worker.py get_worker_info line 458): every prompt up to
    # context_len 7, so the deployment serves nothing there (Pool.prompt_check); 8 runs prompts of 1 token.
    args = ("capacity", "llama3.1-8b", "--gpu", "h100", "--max-model-len", "4")
    code, _, err = cli(capsys, *args, "--engine", OLD)
    assert code == 1 and "it needs at least 7 of each" in err
    code, _, err = cli(capsys, *args, "--engine", REL)
    assert code == 1 and one_line_error(err) == (
        f"kvplan: does not fit: {REL} starts at max_model_len 4 but aborts every prompt: it accepts one of at most "
        f"max_model_len - 7 tokens, none here (managers/utils.py validate_input_length (lines 142-172) aborts a "
        f"prompt of max_req_input_len = max_req_len - 5 tokens or more (tp_worker.py line 458))")
    assert _pool_of(REL, 4).startup().ok and not _pool_of(REL, 4).planned().ok
    for n in (2, 6, 7):
        code, out, err = cli(capsys, "capacity", "llama3.1-8b", "--gpu", "h100", "--max-model-len", str(n),
                             "--engine", REL, "--json")
        assert code == 1 and json.loads(out)["fits"] is False and json.loads(out)["max_requests"] == 0, n
    code, out, err = cli(capsys, "capacity", "llama3.1-8b", "--gpu", "h100", "--max-model-len", "8", "--engine", REL,
                         "--json")
    assert code == 0 and json.loads(out)["max_requests"] == 4_096 and json.loads(out)["max_request_tokens"] == 6
    code, _, err = cli(capsys, "capacity", "llama3.1-8b", "--gpu", "h100", "--max-model-len", "1", "--engine", REL)
    assert code == 1 and "it needs at least 2 of each" in err and "lines 337-341" in err


def test_gemma3_without_rope_scaling_starts_again(capsys):
    # gemma3_causal.py Gemma3TextModel.__init__ lines 578-583: the global table from
    # rope_parameters['full_attention'] (rope_type default for Gemma 3 1B): the figures of 0.5.11 and 0.5.22
    code, _, err = cli(capsys, "capacity", H + "gemma-3-1b-it.json", "--gpu", "h100", "--engine", OLD)
    assert code == 2 and "KeyError" in err and "0.5.11, 0.5.14 or 0.5.22" in err
    for engine in ("sglang==0.5.11", REL, "sglang==0.5.22"):
        out = capacity_json(capsys, H + "gemma-3-1b-it.json", "--gpu", "h100", "--engine", engine)
        assert (out["mem_fraction_static"], out["weights_bytes"], out["kv_cache_tokens"]) == (
            0.83, 2_066_881_792, 2_556_065), engine


def test_allreduce_fusion_flag_and_defaults():
    # server_args.py lines 4298-4328: "auto" for Qwen3-VL-MoE too (its language model is Qwen3-MoE's layers,
    # qwen3_vl_moe.py lines 32, 41-54), and on sm100 across nodes
    vl, h100 = load_model(H + "qwen3-vl-30b-a3b-instruct.json"), get_gpu("h100")
    old = get_engine(OLD).allreduce_rms_fusion(h100, tp=2, spec=vl)
    new = get_engine(REL).allreduce_rms_fusion(h100, tp=2, spec=vl)
    assert (old.on, old.max_bytes) == (False, 0)
    assert (new.on, new.max_bytes, new.mlp_max_bytes) == (True, 8_388_608, 8_388_608)  # 2,048 x 2,048 x 2 B
    with pytest.raises(BadInputError, match="has not read which all-reduces SGLang 0.5.13 fuses"):
        get_engine(OLD).allreduce_rms_fusion(h100, tp=2, spec=vl, asked=True)
    ds = load_model("deepseek-v3")
    for gpu, want in (("b200", (True, 29_360_128)), ("h200", (False, 0))):
        got = get_engine(REL).allreduce_rms_fusion(get_gpu(gpu), tp=8, spec=ds, nodes=2)
        assert (got.on, got.max_bytes) == want, gpu
        got = get_engine(OLD).allreduce_rms_fusion(get_gpu(gpu), tp=8, spec=ds, nodes=2)
        assert (got.on, got.max_bytes) == (False, 0), gpu
    got = get_engine(REL).allreduce_rms_fusion(get_gpu("h200"), tp=8, spec=ds, asked=False)  # lines 4330-4336
    assert not got.on and got.source.startswith("--enforce-disable-flashinfer-allreduce-fusion")
    with pytest.raises(BadInputError, match="--flashinfer-allreduce-fusion-backend"):
        get_engine(REL).allreduce_rms_fusion(get_gpu("a100-80gb"), tp=8, spec=ds, asked=True)


@pytest.mark.parametrize("arch", ["Step3p5ForCausalLM", "Gemma4ForCausalLM", "Gemma4UnifiedForConditionalGeneration"])
def test_models_that_pick_their_own_backend_stay_refused(arch):
    spec = dataclasses.replace(load_model("llama3.1-8b"), architecture=arch)
    with pytest.raises(BadInputError, match=f"by its own rules for {arch}"):
        get_engine(REL).check_model(spec)


def test_rows_that_changed():
    eng, old = get_engine(REL), get_engine(OLD)
    assert set(eng.rule("vlm_fraction").archs) - set(old.rule("vlm_fraction").archs) == {
        "MiniMaxM3SparseForConditionalGeneration", "MiMoV2ASRForCausalLM"}
    assert set(eng.rule("sliding_window_archs")) - set(old.rule("sliding_window_archs")) == {"DFlashDraftModel"}
    assert eng.rule("swa_pool_archs") == old.rule("swa_pool_archs")
    assert eng.rule("prefill_graphs")["mm_kept"] == ("Cohere2VisionForConditionalGeneration",)
    assert old.rule("prefill_graphs")["mm_kept"] == ()
    assert {k: v for k, v in eng.rule("prefill_graphs").items() if k != "mm_kept"} == {
        k: v for k, v in old.rule("prefill_graphs").items() if k != "mm_kept"}
    fusion, was = eng.rule("allreduce_rms_fusion"), old.rule("allreduce_rms_fusion")
    assert set(dict(fusion.defaults)) - set(dict(was.defaults)) == {
        "Qwen3VLMoeForConditionalGeneration", "NemotronHForCausalLM", "NemotronHPuzzleForCausalLM"}
    assert set(fusion.archs) - set(was.archs) == {"Qwen3VLMoeForConditionalGeneration"}
    assert (fusion.flag, fusion.multi_node_majors, was.multi_node_majors) == (
        "--flashinfer-allreduce-fusion-backend", (10,), ())
    assert eng.rule("running_requests") == {"aligned": True, "given_capped": True, "floor_one": False}
    assert (eng.rule("request_cap").start_min, old.rule("request_cap").start_min) == (2, 7)
    assert (eng.rule("rope_table")["gemma3_factor_needed"], old.rule("rope_table")["gemma3_factor_needed"]) == (
        False, True)
    assert eng.rule("mem_fraction_static_default") == "reserved_0_5_13"
    assert eng.rule("backend_page_size")["trtllm_mha"] == ((16, 32, 64), 64, "4638-4642")
    assert "line 4557" in eng.rule("fp8_kv_start")["trtllm_mla"]["fp8_e5m2"][1]
    # the same values at 0.5.14's lines
    for name in ("mha_backend_default", "mla_backend_default", "dsa"):
        assert eng.rule(name) == old.rule(name), name
    assert set(eng.rule("own_backend_unread")) == set(old.rule("own_backend_unread"))
    # the rows 0.5.13 and 0.5.14 share
    for name in ("pool_formula", "page_size", "dsa_fp8_alloc_bytes", "dp_attention_weights", "aiter_fraction",
                 "multimodal", "kv_cache_dtypes", "kv_dtypes_unmodelled", "min_capability", "weights_min_capability",
                 "checkpoint_fp8_kv_auto", "trtllm_mha_large_page", "shared_expert_whole", "mla_copy_block_fp8",
                 "startup_in_use_bytes", "alibi_slopes_tensor", "request_pool_extra", "pipeline_parallel",
                 "llama4_backend_asserted", "llama4_vision_tower", "rope_scaling_passed"):
        assert BOOK.rule(name, eng.release) is BOOK.rule(name, old.release), name


def test_new_architectures_are_registered_from_0_5_14():
    # kvplan/data/engine_models.json from the wheels: 0.5.13 207 classes, 0.5.14 209 (MiMoV2ASR, Zaya), none
    # removed
    for arch in ("MiMoV2ASRForCausalLM", "ZayaForCausalLM"):
        assert registered_spans("sglang", arch) == [(Release.parse("0.5.14"), Release.parse("0.5.23"))], arch
