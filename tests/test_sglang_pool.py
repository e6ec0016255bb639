"""SGLang's token pool: one slot per token holds every layer (windows are not freed), windows its
model classes do not apply, the 0.5.8 window pool kvplan refuses, no start-up refusal, and the
aiter fraction on ROCm. Figures read from the SGLang wheels (kvplan/engines/sglang.py rules
sliding_window_archs, swa_pool_archs, aiter_fraction; kvplan/paging.py sglang paging)."""

from __future__ import annotations

import json

import pytest

from kvplan.capacity import make_request, plan
from kvplan.errors import BadInputError
from kvplan.loader import load_model
from tests.helpers import cli, one_line_error


def _cap(model, gpu, engine, **kw):
    return plan(make_request(load_model(model), gpu, engine=engine, **kw))


def _json(capsys, *args):
    code, out, err = cli(capsys, "capacity", *args, "--json")
    assert code == 0, err
    return json.loads(out), err


@pytest.mark.parametrize("model,layers,kv_heads,head_dim", [
    ("mistral-7b", 32, 8, 128),   # MistralForCausalLM: no window in SGLang (models/mistral.py -> llama.py)
    ("gemma3-27b", 62, 16, 128),  # Gemma3: a window, but one pool (disable_hybrid_swa_memory)
    ("gemma2-9b", 42, 8, 256),
    ("phi3-mini", 32, 32, 96),    # Phi3ForCausalLM is LlamaForCausalLM in SGLang
])
def test_every_layer_holds_every_token_in_sglang_s_one_pool(model, layers, kv_heads, head_dim):
    """tokens = pool bytes // (layers x kv heads x head dim x K and V x 2 bytes), SGLang's
    cell_size: a sliding layer holds the whole context like a full one."""
    cap = _cap(model, "h100-sxm", "sglang==0.5.4")
    cell = layers * kv_heads * head_dim * 2 * 2
    assert cap.kv_cache_tokens == cap.waterfall.kv_pool_bytes // cell


def test_mistral_requests_of_32k_under_sglang_hold_32k_slots_each():
    sgl = _cap("mistral-7b", "h100-sxm", "sglang==0.5.4")
    # 427,692 less the float32 rotary table's 32,768 x 128 x 4 B / 131,072 B a token = 128 tokens
    assert sgl.kv_cache_tokens == 427_564
    # at context_len 32,768 SGLang runs a request to 32,766 tokens (rule request_cap)
    assert sgl.max_requests(32_766) == 427_564 // 32_766 == 13
    # vLLM frees blocks outside the 4096-token window: the same tokens hold more requests
    assert _cap("mistral-7b", "h100-sxm", "vllm").max_requests(32_768) > 13


def test_a_window_sglang_does_not_apply_is_planned_as_full_attention_and_said(capsys):
    _, err = _json(capsys, "mistral-7b", "--gpu", "h100", "--engine", "sglang==0.5.4")
    assert "runs mistral-7b (MistralForCausalLM) with no sliding window" in err
    req = make_request(load_model("mistral-7b"), "h100-sxm", engine="sglang==0.5.4")
    assert not req.spec.has_sliding_window  # speed reads the whole context too
    assert make_request(load_model("gemma2-9b"), "h100-sxm", engine="sglang==0.5.4").spec.has_sliding_window
    assert make_request(load_model("mistral-7b"), "h100-sxm", engine="vllm").spec.has_sliding_window


def test_sglang_starts_when_one_max_model_len_request_does_not_fit():
    """SGLang caps a request at the pool's tokens less two (tp_worker.py max_req_len, then
    scheduler.py's max_new_tokens); it does not refuse to start as vLLM does: it starts, and a
    request of max_model_len does not run (the verdict's reason: the memory, not a refusal)."""
    pool = _cap("gemma3-27b", "h100-sxm", "sglang==0.5.4")
    assert pool.startup()
    v = pool.verdict()
    assert not v and v.bound == "memory" and "refuses to start" not in v.reason
    assert "at most 30,864 tokens when the pool holds 30,866" in v.reason


def test_sglang_0_5_8_window_pool_is_refused_unless_disabled(capsys):
    code, out, err = cli(capsys, "capacity", "gpt-oss-20b", "--gpu", "h100", "--engine", "sglang==0.5.8")
    assert code == 2 and not out
    assert "SWAKVPool" in err and "--disable-hybrid-kv-cache-manager" in err and len(err.strip().splitlines()) == 1
    off = _cap("gpt-oss-20b", "h100-sxm", "sglang==0.5.8", disable_hybrid_kv_cache_manager=True)
    assert off.kv_cache_tokens == off.waterfall.kv_pool_bytes // (24 * 8 * 64 * 2 * 2)
    # on trtllm_mha (Blackwell's default for GptOss) 0.5.8 keeps one pool
    assert _cap("gpt-oss-20b", "b200", "sglang==0.5.8").kv_cache_tokens > 0
    # up to 0.5.6 server_args.py sets disable_hybrid_swa_memory for GptOss
    assert _cap("gpt-oss-20b", "h100-sxm", "sglang==0.5.6").kv_cache_tokens > 0


def _pool(model, engine, frac, **kw):
    return _cap(model, "mi300x", engine, gpu_memory_utilization=frac, **kw).waterfall.kv_pool_bytes


@pytest.mark.parametrize("model,tp,scaled", [
    ("mixtral-8x7b", 1, True),       # MHA: aiter on ROCm; context 32,768 > 8192
    ("deepseek-v2-lite", 1, True),   # MLA, 16 KV heads a rank: aiter
    ("deepseek-v2-lite", 2, False),  # MLA, 8 KV heads a rank: triton
    ("gpt-oss-20b", 1, False),       # GptOss: triton off CUDA (server_args.py)
])
def test_aiter_scales_mem_fraction_static_by_0_85_over_8192_tokens(model, tp, scaled):
    """At a context of 8192 nothing is scaled, and the pool does not depend on the context
    otherwise, so the pool at 0.9 x 0.85 there is what the model's own context leaves at 0.9
    where aiter scales the fraction."""
    got = _pool(model, "sglang==0.5.4", "0.9", tp=tp)
    assert got == _pool(model, "sglang==0.5.4", "0.765" if scaled else "0.9", tp=tp, max_model_len=8192)


def test_aiter_leaves_the_fraction_at_8192_tokens_and_on_nvidia():
    assert _pool("mixtral-8x7b", "sglang==0.5.8", "0.9", max_model_len=8192) == \
        _pool("mixtral-8x7b", "sglang==0.4.6", "0.9", max_model_len=8192)
    a = _cap("mixtral-8x7b", "h100-sxm", "sglang==0.5.8", gpu_memory_utilization="0.9")
    b = _cap("mixtral-8x7b", "h100-sxm", "sglang==0.4.6", gpu_memory_utilization="0.9")
    assert a.waterfall.kv_pool_bytes == b.waterfall.kv_pool_bytes


def test_aiter_scaling_is_said(capsys):
    d, err = _json(capsys, "mixtral-8x7b", "--gpu", "mi300x", "--engine", "sglang==0.5.4", "--mem-fraction-static",
                   "0.9")
    assert "scales mem_fraction_static by 0.85: 0.9 -> 0.765" in err
    assert d["mem_fraction_static"] == pytest.approx(0.765)


@pytest.mark.parametrize("engine", ["sglang==0.4.6", "sglang==0.5.4", "sglang==0.5.8"])
def test_max_running_requests_is_sglang_s_default_from_the_pool(engine):
    """min(tokens // 2, min(max(int(tokens / context_len x 512), 2048), 4096)): tp_worker.py and
    model_runner.py init_memory_pool, the same in every modelled release."""
    pool = _cap("llama3.1-8b", "h100-sxm", engine)
    t = pool.kv_cache_tokens
    extra = 1 if engine == "sglang==0.4.6" else 0  # 0.4.6: ReqToTokenPool(size=max_num_reqs + 1)
    assert pool.max_num_seqs == min(t // 2, min(max(int(t / 131_072 * 512), 2048), 4096) + extra) == 2048 + extra
    assert pool.max_requests(100) == 2048 + extra < pool.memory_requests(100)
    short = _cap("llama3.1-8b", "h100-sxm", engine, max_model_len=16_384)  # 512 x tokens / 16k > 4096
    assert short.max_num_seqs == 4096 + extra
    tiny = _cap("llama3.1-8b", "h100-sxm", engine, max_model_len=1024, gpu_memory_utilization="0.2")
    assert tiny.max_num_seqs == min(tiny.kv_cache_tokens // 2, 4096 + extra)
    given = _cap("llama3.1-8b", "h100-sxm", engine, max_num_seqs=10_000)
    assert given.max_num_seqs == 10_000


def test_sglang_0_4_10_gives_gemma_a_window_pool_kvplan_refuses():
    """0.4.10's model_runner.py turns SWAKVPool on for a class with a window (not Llama 4), and
    its server_args.py turns it off for none; 0.5.1 turns it off for Gemma."""
    with pytest.raises(BadInputError, match="SWAKVPool"):
        _cap("gemma2-9b", "h100-sxm", "sglang==0.4.10")
    assert _cap("gemma2-9b", "h100-sxm", "sglang==0.4.10", disable_hybrid_kv_cache_manager=True).kv_cache_tokens > 0
    assert _cap("gemma2-9b", "h100-sxm", "sglang==0.5.1").kv_cache_tokens > 0
    assert _cap("gemma2-9b", "h100-sxm", "sglang==0.4.9").kv_cache_tokens > 0


def test_size_and_sweep_count_the_window_layers_sglang_keeps_whole(capsys):
    """The byte columns beside an SGLang pool hold every token in every layer, as the pool does."""
    code, out, err = cli(capsys, "size", "gemma2-9b", "--gpu", "h100", "--engine", "sglang==0.5.4", "--ctx", "8k",
                         "--kv-dtype", "bf16", "--json")
    assert code == 0, err
    d = json.loads(out)
    row = d["formats"][0] if "formats" in d else d["rows"][0]
    assert row["bytes_per_token"] == 42 * 8 * 256 * 2 * 2
    assert row["seq_bytes"] == 42 * 8 * 256 * 2 * 2 * 8192


def test_state_space_models_are_refused_under_sglang(capsys):
    """SGLang keeps Mamba / linear-attention states in a pool of its own (MambaPool): not modelled."""
    from pathlib import Path

    cfg = Path(__file__).parent / "fixtures" / "hf_configs" / "qwen3-next-80b-a3b-instruct.json"
    code, out, err = cli(capsys, "capacity", str(cfg), "--gpu", "h100", "--tp", "4", "--engine", "sglang==0.5.8")
    assert code == 2 and not out and "has state-space layers" in err and "MambaPool" in err
    code, out, err = cli(capsys, "capacity", str(cfg), "--gpu", "h100", "--tp", "4")
    assert code == 0, err  # vLLM's hybrid allocator is modelled


def test_llama4_text_class_applies_its_chunks_under_sglang():
    """SGLang's Llama4ForCausalLM (models/llama4.py) runs chunked local attention (use_irope)."""
    from kvplan.engines import get_engine

    assert "Llama4ForCausalLM" in get_engine("sglang==0.5.4").rule("sliding_window_archs")


def test_a_gpu_known_by_memory_alone_gets_the_block_size_that_plans_it(capsys):
    code, out, err = cli(capsys, "capacity", "llama3.1-8b", "--gpu-mem", "80GiB", "--engine", "sglang==0.5.8",
                         "--gpu-memory-utilization", "0.9")
    assert code == 2 and "or give a --block-size every such backend keeps (16, 32, 64)" in err
    code, out, err = cli(capsys, "capacity", "llama3.1-8b", "--gpu-mem", "80GiB", "--engine", "sglang==0.5.8",
                         "--gpu-memory-utilization", "0.9", "--block-size", "32")
    assert code == 0, err


def test_the_suffix_note_reads_decimals_as_vllm_does():
    from kvplan.units import suffix_note

    assert suffix_note("--max-model-len", "1.5k") == (
        "--max-model-len 1.5k is 1,536 tokens here (k = 1,024); vLLM reads 1.5k as 1,500 and 1.5K as an error "
        "(no decimals with binary suffixes)")
    assert suffix_note("--max-model-len", "8192") is None


@pytest.mark.parametrize("engine,refused", [("sglang==0.4.9", False), ("sglang==0.4.10", True), ("sglang==0.5.1", True),
                                            ("sglang==0.5.4", True), ("sglang==0.5.6", False)])
def test_llama4_needs_a_backend_sglang_asserts_before_picking_one(capsys, engine, refused):
    from pathlib import Path

    cfg = Path(__file__).parent / "fixtures" / "hf_configs" / "llama-4-scout-17b-16e-instruct.json"
    code, out, err = cli(capsys, "capacity", str(cfg), "--gpu", "h100", "--tp", "8", "--engine", engine,
                         "--max-model-len", "128k")
    if refused:
        assert code == 2 and "without --attention-backend" in err and "sglang==0.5.6 or later" in err
    else:
        assert "without --attention-backend" not in err


# -- how long one request runs under SGLang (rule request_cap) -------------------------------
# tp_worker.py: max_req_len = min(context_len - 1, max_total_num_tokens - 1); scheduler.py
# init_req_max_new_tokens: max_new_tokens <= max_req_len - len(prompt) - 1. So prompt + output
# stop at min(context_len, pool tokens) - 2, in all 8 wheels.

def test_a_request_under_sglang_stops_two_tokens_short_of_the_pool():
    """gemma3-27b at 128k on an H100 under 0.5.4: a pool of 30,866 tokens runs requests of up to
    30,864 tokens (kvplan said 30,866: one request of the pool's tokens)."""
    pool = _cap("gemma3-27b", "h100-sxm", "sglang==0.5.4")
    assert pool.kv_cache_tokens == 30_866
    assert pool.longest_context(1) == 30_864          # was 30,866
    assert pool.max_requests(30_864) == 1
    assert pool.max_requests(30_865) == 0             # was 1: memory alone holds it
    assert pool.max_request_tokens == 30_864
    assert not pool.serves(30_865) and pool.serves(30_865).bound == "memory"  # the pool sets the cap
    assert pool.serves(30_864)


def test_a_request_under_sglang_stops_two_tokens_short_of_context_len(capsys):
    """mistral-7b (context_len 32,768) under 0.5.4: requests of 32,766 tokens at most; --ctx 32k
    does not run (kvplan said 13 at once, fits)."""
    pool = _cap("mistral-7b", "h100-sxm", "sglang==0.5.4")
    assert pool.max_requests(32_768) == 0 and pool.verdict()  # was 13
    assert pool.max_request_tokens == pool.model_len_request_tokens == 32_766
    code, out, err = cli(capsys, "capacity", "mistral-7b", "--gpu", "h100", "--engine", "sglang==0.5.4", "--ctx",
                         "32k", "--json")
    d = json.loads(out)
    assert code == 1 and d["requests_at_ctx"] == 0 and d["max_requests"] == 13 and d["max_request_tokens"] == 32_766
    assert "a request of 32,768 tokens is longer than sglang==0.5.4 runs one: at most 32,766 tokens at " \
           "max_model_len 32,768" in d["verdict"]
    # vLLM runs a request of max_model_len
    assert _cap("mistral-7b", "h100-sxm", "vllm").max_request_tokens == 32_768


def test_the_sglang_verdict_asks_for_the_longest_request_context_len_allows(capsys):
    """The verdict asks the pool for a request of context_len - 2 tokens: it fails exactly where
    the pool holds fewer tokens than context_len (SGLang starts, but cuts every request at the
    pool: the reason is the memory), and the suggested max_model_len is the pool's. A request
    the pool-set cap allows (30,864) is served (review h24 F5: with --ctx)."""
    short = _cap("gemma3-27b", "h100-sxm", "sglang==0.5.4", max_model_len=30_867)
    v = short.verdict()
    assert not v and v.bound == "memory" and "at most 30,864 tokens when the pool holds 30,866" in v.reason
    assert short.serves(30_864) and short.max_request_tokens == 30_864
    assert _cap("gemma3-27b", "h100-sxm", "sglang==0.5.4", max_model_len=30_866).verdict()
    code, out, err = cli(capsys, "capacity", "gemma3-27b", "--gpu", "h100", "--engine", "sglang==0.5.4")
    assert code == 1 and "Would fit: max_model_len 30,866 (--max-model-len 30866)" in err
    assert "requests of 131,070 (the longest request at max_model_len 131,072) at once: 0" in out


def test_sglang_refuses_to_start_below_seven_tokens():
    """tp_worker.py asserts max_req_input_len = max_req_len - 5 > 0 ('Memory pool size is too
    small'): context_len 6 does not start."""
    v = _cap("llama3.1-8b", "h100-sxm", "sglang==0.5.4", max_model_len=6).startup()
    assert not v and "refuses to start with max_model_len 6" in v.reason and "Memory pool size is too small" in v.reason
    assert _cap("llama3.1-8b", "h100-sxm", "sglang==0.5.4", max_model_len=7).startup()
    assert _cap("llama3.1-8b", "h100-sxm", "vllm", max_model_len=6).startup()
    # context_len 7 starts, but max_req_input_len = 6 - 5 = 1 and managers/utils.py validate_input_length aborts
    # a prompt of 1 token or more: nothing runs (Pool.prompt_check); 8 serves prompts of 1
    v = _cap("llama3.1-8b", "h100-sxm", "sglang==0.5.4", max_model_len=7).verdict()
    assert not v and v.bound == "max_model_len" and "starts at max_model_len 7 but aborts every prompt" in v.reason
    assert _cap("llama3.1-8b", "h100-sxm", "sglang==0.5.4", max_model_len=8).verdict()
    assert _cap("llama3.1-8b", "h100-sxm", "vllm", max_model_len=2).verdict()


# -- max_running_requests: the request pool from the tokens before the page rounding -----------

@pytest.mark.parametrize("engine,gpu,extra,tokens,profiled,seats", [
    # 0.5.4, --page-size 64, context 94,000: int(415,148 / 94,000 x 512) = 2,261 (kvplan took the
    # 415,104 tokens after rounding: 2,260)
    ("sglang==0.5.4", "h100-sxm", dict(block_size=64, max_model_len=94_000), 415_104, 415_148, 2261),
    # 0.5.8 on a B200 (trtllm_mha: pages of 64), context 250,000: 2,305 (was 2,304)
    ("sglang==0.5.8", "b200", dict(max_model_len=250_000, allow_long_max_model_len=True), 1_125_440, 1_125_493,
     2305),
])
def test_the_request_pool_is_sized_before_the_page_rounding(engine, gpu, extra, tokens, profiled, seats):
    pool = _cap("llama3.1-8b", gpu, engine, **extra)
    assert pool.max_num_seqs == seats  # was seats - 1
    assert (pool.kv_cache_tokens, pool.pages.profiled_tokens) == (tokens, profiled)
    assert seats == min(tokens // 2, int(profiled / pool.max_model_len * 512))


def test_replace_keeps_the_engine_s_note_and_plans_the_model_as_given():
    """CapacityRequest.replace() re-plans from the model as given: the 'no sliding window' note
    survives (it was lost), and another engine gets the windows back (it got SGLang's full
    layers)."""
    req = make_request(load_model("mistral-7b"), "h100-sxm", engine="sglang==0.5.4")
    note = req.engine_notes
    assert len(note) == 1 and "with no sliding window" in note[0]
    assert req.replace(max_model_len=8192).engine_notes == note
    vllm = req.replace(engine="vllm")
    assert vllm.engine_notes == () and vllm.spec.has_sliding_window
    assert plan(vllm).max_requests(32_768) == _cap("mistral-7b", "h100-sxm", "vllm").max_requests(32_768) == 37
    fp16 = make_request(load_model("mistral-7b"), "h100-sxm", engine="sglang==0.5.4", dtype="fp16")
    assert fp16.replace(max_model_len=8192).spec.dtype == "fp16"


# -- aiter with DP attention: SGLang counts KV heads over its whole --tp ----------------------

@pytest.mark.parametrize("model,tp,dp,weights,frac,tokens", [
    # 16 KV heads over SGLang's --tp 2 (tp 1 x dp 2): 8 a rank, triton, no x 0.85 (kvplan took
    # 16 a rank: 0.765, 4,509,430 tokens); every GPU joins the --tp 2 group at start-up: 1.53 GiB
    # in use, not one GPU's 0.51 (5,401,765 tokens before); and DP attention's weights (rule
    # dp_attention_weights): lm_head, dense MLP and shared experts over --tp 2 hold 726,794,240 B
    # less a GPU than whole (5,370,075 tokens without them)
    # w_kc / w_vc: 113,246,208 B / 31,104 = 3,641 tokens fewer; the rotary table, bf16 on ROCm up to
    # 0.5.8 (rule rope_table), 163,840 x 64 x 2 = 20,971,520 B: 5,389,801 -> 5,389,126
    ("deepseek-v2-lite", 1, 2, None, "0.9", 5_389_126),
    # 128 KV heads over --tp 8 (tp 2 x dp 4): 16 a rank, aiter, x 0.85 (kvplan took 64: triton,
    # 0.9, 1,305,414 tokens). Weights: lm_head -695,009,280, dense MLP -446,072,832, shared experts
    # -958,230,528 (over 8 instead of 2), embedding +926,679,040 (whole, enable_tp=False in 0.5.4):
    # 1,172,633,600 B less than split by 2 (912,550 tokens before); the bf16 rotary table,
    # 20,971,520 B: 929,237 -> 928,939; w_kc / w_vc of the block-fp8 kv_b_proj, requantized to fp8 on
    # AMD at attention tp 2 (64 heads), 61 x (64 x 256 x 512 + 4) = 511,705,332 B: -> 921,657
    ("deepseek-v3", 2, 4, "fp8", "0.765", 921_657),
])
def test_aiter_counts_mla_heads_over_sglang_s_whole_tp_with_dp_attention(model, tp, dp, weights, frac, tokens):
    from fractions import Fraction

    pool = _cap(model, "mi300x", "sglang==0.5.4", gpu_memory_utilization="0.9", tp=tp, dp=dp, weights=weights)
    assert pool.settings.memory_fraction == Fraction(frac)
    assert pool.kv_cache_tokens == tokens


@pytest.mark.parametrize("release", ["0.4.6", "0.5.19", "0.5.23"])
def test_fp8_block_experts_a_shard_splits_do_not_start(capsys, release):
    # Fp8MoEMethod.create_weights raises ValueError where the tp shard of the expert intermediate size is not a
    # multiple of the checkpoint's block (layers/quantization/fp8.py 0.4.6 :498-511, 0.5.23 :1584-1601):
    # DeepSeek-V3's 2,048 rows at tp 32 are 64 a rank against [128, 128]; at tp 8, 256: planned
    code, out, err = cli(capsys, "capacity", "deepseek-v3", "--weights", "fp8", "--gpu", "h200", "--tp", "32",
                         "--engine", f"sglang=={release}")
    assert code == 2 and out == ""
    line = one_line_error(err)
    assert line.startswith(f"kvplan: error: sglang=={release} does not start deepseek-v3 with fp8 experts at this split")
    assert "(64) is not a multiple of the checkpoint's 128 x 128 blocks" in line
    code, out, err = cli(capsys, "capacity", "deepseek-v3", "--weights", "fp8", "--gpu", "h200", "--tp", "8",
                         "--engine", f"sglang=={release}")
    assert "does not start" not in err
