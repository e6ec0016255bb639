"""plan_capacity: exact pools and blocks, hybrid paging, verdicts, properties, CLI."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kvplan.capacity import blocks_per_request, make_request, plan, plan_capacity, pool_layout
from kvplan.cli.main import run
from helpers import cli
from kvplan.errors import BadInputError, ShapeError, UnknownNameError
from kvplan.formats import get_format
from kvplan.loader import load_model
from kvplan.spec import spec_from_mapping

GIB = 1 << 30
TINY = {
    "name": "tiny", "source": "test", "num_layers": 2, "hidden_size": 256, "num_attention_heads": 4,
    "num_kv_heads": 2, "vocab_size": 1024, "intermediate_size": 512, "dtype": "bf16",
    "max_position_embeddings": 4096,
}


def tiny(**over):
    return spec_from_mapping({**TINY, **over}, "tiny")


def test_raw_engine_pool_is_memory_minus_weights_exactly():
    s = tiny()
    # params: 2 * (196,608 + 393,216 + 512) + 2 * 262,144 + 256 = 1,705,216; bf16 -> 3,410,432 B
    # page: 16 tokens * 2 heads * (64 + 64) * 2 B = 8,192 B a layer; 2 layers -> 16,384 B a block
    c = plan_capacity(s, None, gpu_mem_bytes=100 * 2**20, engine="raw")
    assert c.weights_bytes == 3_410_432
    assert c.kv_pool_bytes == 104_857_600 - 3_410_432 == 101_447_168
    assert c.num_blocks == 101_447_168 // 16_384 == 6_191
    assert c.kv_cache_tokens == 6_191 * 16
    assert c.blocks_per_request == 4096 // 16  # max_model_len defaults to max_position_embeddings
    assert c.max_requests == 6_191 // 256 == 24
    assert c.max_concurrency == round(6_191 / 256, 2)


def test_vllm_llama31_8b_h100_waterfall_matches_the_log():
    # Calibration log A024: requested 75.23 GiB, weights 14.99, peak 1.89, non-torch 0.25,
    # KV 58.11 GiB, 476,016 tokens.
    c = plan_capacity(load_model("llama3.1-8b"), "h100", gpu_memory_utilization=0.95, max_model_len=8192)
    w = c.waterfall
    assert w.engine_share_bytes == int(85_029_027_840 * 0.95) == 80_777_576_448
    assert round(w.weights_bytes / GIB, 2) == 14.99
    assert round(w.activation_bytes / GIB, 2) == 1.89
    assert w.other_bytes == GIB // 4
    assert w.kv_pool_bytes == w.engine_share_bytes - w.weights_bytes - w.activation_bytes - w.other_bytes
    # blocks = pool // (65,536 B a layer-page * 32 layers)
    assert c.num_blocks == c.kv_pool_bytes // (65_536 * 32)
    assert abs(c.kv_cache_tokens - 476_016) <= 32  # within 2 blocks of the log
    assert c.max_num_batched_tokens == 8192 and c.max_num_seqs == 1024 and c.block_size == 16


def test_fp8_kv_doubles_tokens_exactly_for_the_same_pool():
    s = load_model("llama3.1-8b")
    bf = plan_capacity(s, "h100", max_model_len=8192)
    f8 = plan_capacity(s, "h100", max_model_len=8192, kv_format="fp8")
    assert f8.kv_pool_bytes == bf.kv_pool_bytes
    assert f8.num_blocks == bf.kv_pool_bytes // (32_768 * 32)
    assert 2 * bf.kv_cache_tokens <= f8.kv_cache_tokens <= 2 * bf.kv_cache_tokens + 16


def test_a100_gets_vllm_small_defaults():
    c = plan_capacity(load_model("llama3.1-8b"), "a100-80gb", max_model_len=8192)
    assert (c.max_num_batched_tokens, c.max_num_seqs) == (2048, 256)


def test_hybrid_sliding_window_padding_and_blocks_per_request():
    s = tiny(num_layers=5, cache={"kinds": {"local": {"kind": "sliding_window", "window": 64},
                                            "global": {"kind": "full_attention"}},
                                  "pattern": ["local", "local", "local", "global", "global"]})
    lay = pool_layout(s, range(5), get_format("bf16"), 16, 1)
    # 3 local + 2 global, group size 2: local -> 2 groups (1 padding layer), global -> 1 group
    assert lay.padding_layers == 1 and lay.tokens_divisor == 3
    assert lay.unit_bytes == 8_192 * 2
    # per request of 1000 tokens with T = 512: sliding cdiv(min(63 + 512, 1000), 16) + 1 = 37 per
    # local group (x2), full cdiv(1000, 16) = 63 -> 137
    assert blocks_per_request(lay, 1000, 512) == 2 * 37 + 63


def test_does_not_fit_says_what_would():
    c = plan_capacity(load_model("llama3.1-70b"), "h100", max_model_len=8192)
    assert not c.fits and c.kv_pool_bytes < 0
    assert "no memory left" in c.reasons[0]
    assert any("--tp 2" in s for s in c.suggestions)
    c2 = plan_capacity(load_model("llama3.1-8b"), "l4", max_model_len=131072)
    assert not c2.fits and c2.kv_pool_bytes > 0
    assert any(s.startswith("max_model_len") for s in c2.suggestions)
    assert any("--kv-dtype fp8" in s for s in c2.suggestions) or any("--tp" in s for s in c2.suggestions)


def test_ctx_and_batch():
    c = plan_capacity(load_model("llama3.1-8b"), "h100", max_model_len=8192, ctx=4096, batch=100)
    assert c.concurrency_at_ctx == round(c.num_blocks / 256, 2)
    # longest context L with 100 * cdiv(L, 16) <= num_blocks
    assert c.max_context_at_batch == (c.num_blocks // 100) * 16


@pytest.mark.parametrize(
    ("kwargs", "error", "text"),
    [
        ({"tp": 3}, ShapeError, "tp=3 does not divide"),
        ({"pp": 64}, ShapeError, "exceeds the model's 32 layers"),
        ({"gpu_memory_utilization": 0}, BadInputError, "(0, 1]"),
        ({"gpu_memory_utilization": 1.01}, BadInputError, "(0, 1]"),
        ({"gpu_mem_bytes": 0}, BadInputError, "positive"),
        ({"gpu_mem_bytes": -5}, BadInputError, "positive"),
        ({"engine": "vlm"}, UnknownNameError, "did you mean vllm"),
    ],
)
def test_bad_input(kwargs, error, text):
    with pytest.raises(error, match=text.replace("(", r"\(").replace("]", r"\]")):
        plan_capacity(load_model("llama3.1-8b"), "h100", **kwargs)


@pytest.mark.parametrize("engine", ["sglang", "trtllm", "raw", "vllm-0.10"])
def test_other_engines_produce_a_pool(engine):
    c = plan_capacity(load_model("llama3.1-8b"), "h100", engine=engine, max_model_len=8192)
    assert c.fits and c.kv_cache_tokens > 0
    assert c.block_size == {"sglang": 1, "trtllm": 32, "raw": 16, "vllm-0.10": 16}[engine]


@settings(max_examples=30, deadline=None)
@given(mem=st.integers(20, 200), extra=st.integers(1, 50), engine=st.sampled_from(["vllm", "sglang", "trtllm", "raw"]))
def test_more_memory_never_fewer_tokens(mem, extra, engine):
    """With the engine's scheduler settings fixed. (vLLM's own defaults step up at 70 GiB:
    max_num_batched_tokens 2048 -> 8192 and max_num_seqs 256 -> 1024 raise the profiled
    activation peak, so 69 -> 70 GiB can give fewer tokens: test_vllm_defaults_step_at_70_gib.)"""
    s = load_model("llama3.1-8b")
    fixed = dict(max_num_batched_tokens=8192, max_num_seqs=256) if engine == "vllm" else {}
    a = plan_capacity(s, "h100", gpu_mem_bytes=mem * GIB, engine=engine, max_model_len=4096, **fixed)
    b = plan_capacity(s, "h100", gpu_mem_bytes=(mem + extra) * GIB, engine=engine, max_model_len=4096, **fixed)
    assert b.kv_cache_tokens >= a.kv_cache_tokens


def test_vllm_defaults_step_at_70_gib():
    """vLLM's scheduler defaults depend on GPU memory (vllm/engine/arg_utils.py): below 70 GiB
    2048 batched tokens / 256 seqs, from 70 GiB (non-A100) 8192 / 1024. One more GiB can
    therefore cost KV tokens: a real step of the engine, not of kvplan's arithmetic."""
    s = load_model("llama3.1-8b")
    a = plan_capacity(s, "h100", gpu_mem_bytes=69 * GIB, max_model_len=4096)
    b = plan_capacity(s, "h100", gpu_mem_bytes=70 * GIB, max_model_len=4096)
    assert (a.max_num_batched_tokens, a.max_num_seqs) == (2048, 256)
    assert (b.max_num_batched_tokens, b.max_num_seqs) == (8192, 1024)
    assert b.waterfall.activation_bytes > a.waterfall.activation_bytes


@settings(max_examples=20, deadline=None)
@given(mem=st.integers(30, 200), name=st.sampled_from(["llama3.1-8b", "qwen2.5-7b", "mistral-7b"]))
def test_fp8_at_least_doubles_bf16_tokens_up_to_rounding(mem, name):
    s = load_model(name)
    bf = plan_capacity(s, None, gpu_mem_bytes=mem * GIB, max_model_len=4096)
    f8 = plan_capacity(s, None, gpu_mem_bytes=mem * GIB, max_model_len=4096, kv_format="fp8")
    assert f8.kv_cache_tokens >= 2 * bf.kv_cache_tokens  # same pool, half the page: floor(2x) >= 2 floor(x)


@settings(max_examples=10, deadline=None)
@given(tp=st.sampled_from([1, 2, 4, 8]))
def test_tp_shards_weights_and_grows_the_pool(tp):
    s = load_model("llama3.1-8b")
    one = plan_capacity(s, "h100", engine="raw", max_model_len=4096)
    many = plan_capacity(s, "h100", engine="raw", tp=tp, max_model_len=4096)
    assert many.weights_bytes * tp >= one.weights_bytes  # shards cover the model
    assert many.weights_bytes <= one.weights_bytes
    assert many.kv_cache_tokens >= one.kv_cache_tokens


def test_cli_capacity_json_has_the_promised_keys(capsys):
    assert run(["capacity", "llama3.1-8b", "--gpu", "h100", "--max-model-len", "8k", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    for key in ("weights_bytes", "kv_pool_bytes", "kv_cache_tokens", "num_blocks", "max_concurrency",
                "max_model_len", "fits"):
        assert key in d
    assert d["max_model_len"] == 8192 and d["fits"] is True


def test_cli_capacity_table_and_gpus_flag(capsys):
    assert run(["capacity", "llama3.1-8b", "--gpu", "h100", "--gpus", "2", "--max-model-len", "8k"]) == 0
    out = capsys.readouterr().out
    assert "KV pool" in out and "tp 2" in out and "verdict: fits" in out


def test_cli_does_not_fit_exit_1(capsys):
    assert run(["capacity", "llama3.1-70b", "--gpu", "l4"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("kvplan: does not fit:")


@pytest.mark.parametrize(
    ("argv", "text"),
    [
        (["--tp", "3"], "tp=3 does not divide"),
        (["--pp", "64"], "pp=64 exceeds"),
        (["--gpu-mem", "0GB"], "must be positive"),
        (["--gpu-mem", "-24GiB"], "must be positive"),
        (["--gpu-memory-utilization", "1.5"], "(0, 1]"),
        (["--gpu-memory-utilization", "0"], "(0, 1]"),
        (["--gpus", "3", "--tp", "2"], "not a multiple"),
        (["--dp", "0"], "dp must be a positive whole number, got 0"),  # was planned as dp 1
        (["--dp", "-2"], "dp must be a positive whole number, got -2"),
    ],
)
def test_cli_bad_input_one_line_exit_2(capsys, argv, text):
    assert run(["capacity", "llama3.1-8b", "--gpu", "h100", *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("kvplan: error:") and text in err[0]


def test_capacity_does_not_import_heavy_packages():
    import subprocess
    import sys

    code = ("import sys; from kvplan.cli.main import run; "
            "rc = run(['capacity', 'llama3.1-8b', '--gpu', 'h100', '--json']); "
            "bad = [m for m in ('torch', 'triton', 'pandas', 'numpy') if m in sys.modules]; "
            "print(bad); sys.exit(rc)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip().splitlines()[-1] == "[]"


# -- vLLM's grouping and admission rules for hybrid models ----------------------------------
def _hybrid(pattern, kinds, num_layers, **over):
    base = dict(name="hybrid", source="test", num_layers=num_layers, hidden_size=1024, num_attention_heads=8,
                num_kv_heads=8, head_dim=128, vocab_size=1000, intermediate_size=2048, dtype="bf16",
                max_position_embeddings=65536, cache={"kinds": kinds, "pattern": pattern})
    base.update(over)
    return spec_from_mapping(base, "test")


def test_nearly_balanced_kinds_group_by_the_larger_count():
    # 25 layers [sliding, full]: 13 sliding + 12 full. 13 < 1.5 * 12, so vLLM uses groups of 13:
    # 2 groups, 1 padding layer (with groups of 12 it would be 2 + 1 = 3 groups, 11 padding layers).
    spec = _hybrid(["s", "f"], {"s": {"kind": "sliding_window", "window": 128}, "f": {"kind": "full_attention"}}, 25)
    lay = pool_layout(spec, range(25), get_format("bf16"), 16, 1)
    page = 16 * 8 * 256 * 2  # 65,536 B per layer and block
    assert (lay.tokens_divisor, lay.padding_layers, lay.unit_bytes) == (2, 1, 13 * page)


def test_five_to_one_groups_by_the_smaller_count():
    # Gemma 3 27B shape: 62 layers, 5 sliding : 1 global -> 52 sliding + 10 global; groups of 10:
    # cdiv(52, 10) = 6 sliding groups (8 padding layers) + 1 global group.
    spec = load_model("gemma3-27b")
    lay = pool_layout(spec, range(spec.num_layers), get_format("bf16"), 16, 1)
    assert (lay.tokens_divisor, lay.padding_layers) == (7, 8)


def test_chunked_local_admission_follows_vllm():
    # vLLM ChunkedLocalAttentionSpec: cdiv(min(chunk + max_num_batched_tokens, L), B) blocks;
    # Llama-4-like 3 local : 1 global, chunk 8192, L = 65,536, T = 8,192, B = 16.
    spec = _hybrid(["c", "c", "c", "g"], {"c": {"kind": "chunked_local", "chunk": 8192}, "g": {"kind": "full_attention"}},
                   48)
    lay = pool_layout(spec, range(48), get_format("bf16"), 16, 1)
    # 36 chunked + 12 global: groups of 12 -> 3 chunked tables + 1 global table
    assert {kind: tables for kind, tables, _ in lay.groups} == {spec.layers[0]: 3, spec.layers[3]: 1}
    need = 3 * ((8192 + 8192) // 16) + 1 * (65536 // 16)  # 3 x 1,024 + 4,096 = 7,168
    assert blocks_per_request(lay, 65536, 8192) == need == 7168


def test_state_space_hybrid_raises_the_block_size():
    # Qwen3-Next-80B-A3B at tp 2 (fixture config): full-attention layers keep 2 // 2 = 1 KV head of
    # 256 + 256 values, 1,024 B per token; a Gated DeltaNet state per rank is conv 4,096 x 3 + recurrent
    # 16 x 128 x 128 values, bf16 = 548,864 B. vLLM: block = 16 * cdiv(548,864, 16 * 1,024) = 544 tokens.
    spec = load_model("tests/fixtures/hf_configs/qwen3-next-80b-a3b-instruct.json")
    cap = plan_capacity(spec, "h200", tp=2, max_model_len=32768)
    assert cap.block_size == 544
    page = 544 * 1024  # the state page (548,864 B) is padded up to this
    # 36 state + 12 attention layers: groups of 12 -> 3 + 1 = 4 groups sharing a 12-page unit
    assert cap.block_unit_bytes == 12 * page
    assert cap.num_blocks == cap.kv_pool_bytes // (12 * page)
    assert cap.kv_cache_tokens == cap.num_blocks // 4 * 544
    # a 32k request: cdiv(32,768, 544) = 61 attention blocks + one block per state group (3)
    assert cap.blocks_per_request == 61 + 3


def test_state_only_model_pages_one_block_per_request():
    spec = _hybrid(["m"], {"m": {"kind": "state_space", "conv_dim": 1024, "conv_kernel": 4, "ssm_heads": 8,
                                 "ssm_head_dim": 64, "ssm_state_size": 16}}, 4)
    cap = plan_capacity(spec, "l4", max_model_len=4096, ctx=1024, batch=2)
    state = (1024 * 3 + 8 * 64 * 16) * 2  # 14,336 B per layer and request
    assert cap.block_unit_bytes == 4 * state
    assert cap.blocks_per_request == 1 and cap.kv_cache_tokens == 0
    # memory holds one request per block but the null block (vllm/v1/core/block_pool.py: BlockPool
    # keeps free_block_queue.popleft() as null_block since 0.8.3); max_num_seqs (256 under 70 GiB) caps it
    assert cap.fits and cap.pool.memory_requests(4096) == cap.num_blocks - 1
    assert cap.max_num_seqs == 256 and cap.max_requests == 256 and cap.concurrency_bound == "max_num_seqs"


def test_max_model_len_beyond_the_model_is_refused_as_vllm_refuses_it(capsys):
    """vllm/config/model.py _get_and_verify_max_len raises ValueError for a max_model_len above the
    derived length unless VLLM_ALLOW_LONG_MAX_MODEL_LEN=1 (--allow-long-max-model-len here)."""
    code, out, err = cli(capsys, "capacity", "llama3-8b", "--gpu", "h100", "--max-model-len", "16k")
    assert code == 2 and out == ""
    assert "vllm==0.19.1 refuses max_model_len 16,384: llama3-8b serves at most 8,192 tokens" in err
    code, out, err = cli(capsys, "capacity", "llama3-8b", "--gpu", "h100", "--max-model-len", "16k",
                         "--allow-long-max-model-len")
    assert code == 0
    assert "exceeds llama3-8b's own length (8,192)" in err
    code, out, err = cli(capsys, "capacity", "llama3-8b", "--gpu", "h100", "--max-model-len", "16k", "--engine", "raw")
    assert code == 0  # no engine to refuse it


# -- issue 12: one question, one answer ----------------------------------------------------
def test_longest_context_never_exceeds_max_model_len(capsys):
    """`capacity --batch 4 --max-model-len 8k` reported "longest context for 4 requests:
    110,880 tokens": a request longer than max_model_len is impossible."""
    cap = plan_capacity(load_model("llama3.1-8b"), "h100", max_model_len=8192, batch=4)
    assert cap.max_context_at_batch == 8192
    code, out, err = cli(capsys, "capacity", "llama3.1-8b", "--gpu", "h100", "--max-model-len", "8k", "--batch", "4",
                         "--json")
    assert code == 0 and json.loads(out)["max_context_at_batch"] == 8192


def test_concurrency_is_capped_by_max_num_seqs(capsys):
    """`--max-num-seqs 64` still reported "439x": the cap, not memory, binds, and says so."""
    cap = plan_capacity(load_model("llama3.1-8b"), "h100", max_model_len=1024, max_num_seqs=64)
    assert cap.pool.memory_requests(1024) > 400  # memory alone: ~439 requests of 1k
    assert cap.max_requests == 64 and cap.concurrency_bound == "max_num_seqs"
    code, out, err = cli(capsys, "capacity", "llama3.1-8b", "--gpu", "h100", "--max-model-len", "1k",
                         "--max-num-seqs", "64")
    assert code == 0
    assert "at once: 64 (capped by max_num_seqs 64; memory alone:" in out
    code, out, err = cli(capsys, "capacity", "llama3.1-8b", "--gpu", "h100", "--max-model-len", "1k",
                         "--max-num-seqs", "64", "--ctx", "1k", "--batch", "65")
    assert code == 1 and "65 requests exceed max_num_seqs 64" in err


def test_ctx_beyond_max_model_len_does_not_fit():
    cap = plan_capacity(load_model("llama3.1-8b"), "h100", max_model_len=8192, ctx=32768, batch=1)
    assert not cap.fits and "longer than max_model_len 8,192" in cap.reasons[0]
    assert cap.requests_at_ctx == 0 and cap.concurrency_at_ctx == 0.0


def test_figures_say_what_they_count(capsys):
    """Tables said "per GPU" beside tokens of the whole tensor-parallel group."""
    code, out, err = cli(capsys, "capacity", "llama3.1-8b", "--gpu", "h100", "--tp", "2", "--dp", "3",
                         "--max-model-len", "8k")
    assert code == 0
    assert "one GPU" in out and "one replica (2 GPUs): KV cache" in out
    assert "whole deployment (3 replicas, 6 GPUs)" in out
    code, out, err = cli(capsys, "capacity", "llama3.1-8b", "--gpu", "h100", "--tp", "2", "--dp", "3",
                         "--max-model-len", "8k", "--json")
    d = json.loads(out)
    assert d["deployment_kv_cache_tokens"] == 3 * d["kv_cache_tokens"]
    assert d["deployment_num_gpus"] == 6 and d["num_gpus"] == 2
    assert set(d["scopes"]) == {"bytes", "blocks_tokens_requests", "deployment"}


@settings(max_examples=60, deadline=None)
@given(
    name=st.sampled_from(["llama3.1-8b", "gemma3-27b", "qwen2.5-7b", "mistral-7b", "deepseek-v2-lite"]),
    gpu=st.sampled_from(["h100", "a100-80gb", "l4", "h200"]),
    mml=st.sampled_from([1024, 4096, 8192, 32768]),
    seqs=st.one_of(st.none(), st.integers(1, 512)),
    ctx=st.integers(1, 40000),
    batch=st.integers(1, 600),
)
def test_answers_are_consistent(name, gpu, mml, seqs, ctx, batch):
    """Every query of one pool agrees with every other: what serves() accepts, max_requests
    and longest_context allow, and the reverse."""
    from kvplan.capacity import make_request, plan

    pool = plan(make_request(load_model(name), gpu, max_model_len=mml, max_num_seqs=seqs))
    v = pool.serves(ctx, batch)
    assert v.ok == (batch <= pool.max_requests(ctx))
    longest = pool.longest_context(batch)
    assert longest <= mml
    if v.ok:
        assert ctx <= longest
    if longest:
        assert pool.serves(longest, batch).ok
        if longest < mml:
            assert not pool.serves(longest + 1, batch).ok
    assert pool.max_requests(ctx) <= (seqs if seqs is not None else pool.max_requests(ctx))
    assert pool.verdict().ok == (pool.max_requests(mml) >= 1)


# -- paging by engine release (kvplan.paging; ported vLLM tests: tests/test_vllm_kv_cache_utils_*) --
def _toy_sliding_full(num_layers=25):
    return _hybrid(["s", "f"], {"s": {"kind": "sliding_window", "window": 128}, "f": {"kind": "full_attention"}},
                   num_layers)


@pytest.mark.parametrize("engine, groups, padding", [
    ("vllm==0.11.0", 3, 11),  # group_size = min = 12: 2 sliding + 1 full table
    ("vllm==0.14.0", 2, 1),  # 13 < 1.25 x 12: groups of 13
    ("vllm==0.19.1", 2, 1),  # 13 < 1.5 x 12
])
def test_group_size_rule_follows_the_release(engine, groups, padding):
    pool = plan(make_request(_toy_sliding_full(), "h100", engine=engine, max_model_len=8192))
    assert (pool.layout.tokens_divisor, pool.layout.padding_layers) == (groups, padding)
    assert pool.paging.name == engine


def test_chunked_local_runs_without_the_hybrid_manager_in_0_10_1_to_0_13():
    # vllm/config: attention_chunk_size turns the hybrid manager off unless
    # VLLM_ALLOW_CHUNKED_LOCAL_ATTN_WITH_HYBRID_KV_CACHE=1 (default '0' until 0.13.0, '1' from 0.14.0)
    spec = _hybrid(["c", "c", "c", "g"], {"c": {"kind": "chunked_local", "chunk": 8192}, "g": {"kind": "full_attention"}},
                   48)
    old = plan(make_request(spec, "h100", engine="vllm==0.11.0", max_model_len=65536))
    new = plan(make_request(spec, "h100", engine="vllm==0.19.1", max_model_len=65536))
    assert old.layout.tokens_divisor == 1 and old.blocks_per_request(65536) == 4096  # every layer full attention
    assert new.layout.tokens_divisor == 4 and new.blocks_per_request(65536) == 3 * 1024 + 4096


def test_disable_hybrid_kv_cache_manager_allocates_gemma3_as_full_attention():
    spec = load_model("gemma3-27b")
    on = plan(make_request(spec, "h100", max_model_len=32768))
    off = plan(make_request(spec, "h100", max_model_len=32768, disable_hybrid_kv_cache_manager=True))
    page = 16 * spec.layers[0].per_token_bytes(get_format("bf16"))
    assert off.layout.tokens_divisor == 1 and off.layout.unit_bytes == 62 * page
    assert off.num_blocks == off.kv_pool_bytes // (62 * page) and off.blocks_per_request(32768) == 2048
    assert on.layout.tokens_divisor == 7 and on.memory_concurrency(32768) > off.memory_concurrency(32768)


def test_unequal_pages_refused_before_0_12_and_scaled_after():
    spec = _hybrid(["s", "f"], {"s": {"kind": "sliding_window", "window": 128, "head_dim": 64},
                                "f": {"kind": "full_attention"}}, 8)
    with pytest.raises(BadInputError, match="different page sizes"):
        plan(make_request(spec, "h100", engine="vllm==0.11.0", max_model_len=8192))
    pool = plan(make_request(spec, "h100", engine="vllm==0.12.0", max_model_len=8192))
    # the sliding layers' pages are half the full layers': their block grows to 32 tokens
    assert [(k.kind, n, block) for k, n, block in pool.layout.groups] == [("sliding_window", 1, 32),
                                                                          ("full_attention", 1, 16)]


def test_the_null_block_is_not_a_request_block():
    # memory for exactly the 512 blocks of one 8k request: vLLM 0.19 starts (its check counts
    # the null block), but BlockPool keeps one block back, so the request cannot be scheduled
    spec = load_model("llama3.1-8b")
    pool = plan(make_request(spec, "h100", max_model_len=8192, kv_cache_memory_bytes=512 * (2 << 20)))
    assert pool.num_blocks == 512 and pool.usable_blocks == 511
    assert pool.startup() and not pool.serves(8192, 1)
    assert "511 usable" in pool.serves(8192, 1).reason


def test_max_model_len_auto_fits_the_memory():
    spec = load_model("llama3.1-8b")
    pool = plan(make_request(spec, "h100", max_model_len="auto", kv_cache_memory_bytes="4GiB"))
    assert pool.max_model_len == 4 * 1024 // 2 * 16 == 32768 and pool.pages.auto_fit
    with pytest.raises(BadInputError, match="0.14.0"):
        plan(make_request(spec, "h100", max_model_len=-1, engine="vllm==0.11.0"))


def test_speculative_lookahead_slots():
    # ngram with k = 3: a request reserves k slots to verify (no drafter lookahead), capped at
    # max_model_len from vLLM 0.9.0 (kv_cache_manager.allocate_slots num_tokens_need_slot)
    spec = load_model("llama3.1-8b")
    pool = plan(make_request(spec, "h100", max_model_len=8192,
                             speculative_config={"method": "ngram", "num_speculative_tokens": 3}))
    assert pool.blocks_per_request(16) == 2 and pool.blocks_per_request(8190) == 512
    assert pool.memory_concurrency(8192) == plan(make_request(spec, "h100", max_model_len=8192)).memory_concurrency(8192)


def test_every_paging_rule_covers_every_modelled_release_once():
    from kvplan.engines import vllm_rules
    from kvplan.paging import BOOK, RELEASES, vllm_paging

    assert set(vllm_rules.RELEASES) <= set(RELEASES)
    for release in BOOK.releases:
        table = BOOK.table(release)  # SpecError when 0 or 2 rows cover a rule
        assert set(table) == set(BOOK.names) and all(rule.source for rule in table.values())
        assert vllm_paging(release).name == f"vllm=={release}"
    assert vllm_paging().name == f"vllm=={vllm_rules.DEFAULT_RELEASE}"  # --engine vllm: 0.19.1, not the newest


def test_attention_and_state_in_one_layer_are_paged_as_two_layers():
    # Falcon-H1-0.5B (fixture config): vLLM registers each layer's attention and Mamba-2 mixer as
    # two layers with their own specs. 512 B per token of attention, a 403,968 B state: blocks of
    # 16 x cdiv(403,968, 16 x 512) = 800 tokens, 409,600 B pages, 36 + 36 layers in 2 groups of 36.
    spec = load_model("tests/fixtures/hf_configs/falcon-h1-0.5b.json")
    lay = pool_layout(spec, range(spec.num_layers), get_format("bf16"), 16, 1)
    assert lay.block_size == 800 and lay.unit_bytes == 36 * 409_600
    assert [(k.kind, n) for k, n, _ in lay.groups] == [("full_attention", 1), ("state_space", 1)]


def test_suggestions_fix_what_failed_and_each_is_checked():
    """When one request of max_model_len is what fails, a shorter --ctx fixes nothing: the
    suggestion is a max_model_len, and every 'would fit' alternative is re-planned and passes
    the whole verdict (one request of max_model_len and the --ctx x --batch load)."""
    spec = load_model("llama3.1-8b")
    # L4 under vLLM 0.19.1: KV pool 4,637,419,880 B = 2,211 blocks of 2 MiB (2,210 usable, one
    # null block); one request of 128k needs 8,192. fp8 KV (4,096 blocks a request of 2 x 1 MiB
    # halves) and fp8 weights (pool ~11.9 GB) still do not hold 128k; tp 2 does.
    c = plan_capacity(spec, "l4", ctx=4096, batch=1)
    assert not c.fits and c.num_blocks == 2_211
    assert c.suggestions == ("max_model_len 35,360 (--max-model-len 35360)", "2 GPUs (--tp 2)")
    for s in c.suggestions:
        flag, value = s[s.index("(--") + 3:-1].split()
        key = {"max-model-len": "max_model_len", "tp": "tp"}[flag]
        assert plan_capacity(spec, "l4", ctx=4096, batch=1, **{key: int(value)}).fits
    # The load alone fails (max_model_len fits): a shorter --ctx for that batch is the suggestion.
    c = plan_capacity(spec, "l4", max_model_len=8192, ctx=8192, batch=8)
    assert not c.fits and c.suggestions[0] == "a context of 4,416 tokens for 8 requests (--ctx 4416)"
    # 8 requests of 4,416 tokens: 8 x 276 = 2,208 blocks of the 2,210 usable.
    assert plan_capacity(spec, "l4", max_model_len=8192, ctx=4416, batch=8).fits
    # With a fixed block count (--num-gpu-blocks-override) fp8 KV, fp8 weights or more GPUs
    # change nothing: only the max_model_len suggestion is left. (vLLM 0.19.1 starts with these
    # 8,192 blocks, its check leaving the null block in, so a load of 1,024 tokens runs and fits:
    # Pool.planned is the start-up.)
    c = plan_capacity(spec, "h100", num_gpu_blocks_override=8192)
    assert not c.fits
    assert c.suggestions == ("max_model_len 131,056 (--max-model-len 131056)",)
    assert plan_capacity(spec, "h100", num_gpu_blocks_override=8192, ctx=1024, batch=1).fits


def test_memory_alone_note_only_when_no_gpu_is_named(capsys):
    """'a GPU given by its memory alone' (bf16 assumed: no compute capability) is said for --gpu-mem
    without --gpu, not for a named GPU whose memory --gpu-mem overrides (an H100 keeps compute
    capability 9.0; the figures equal --gpu h100's at its own runtime memory, 85,029,027,840 B)."""
    code, out, err = cli(capsys, "capacity", "llama3.1-8b", "--gpu", "h100", "--gpu-mem", "85029027840", "--json")
    named = json.loads(out)
    assert code == 0 and "memory alone" not in err and not any("memory alone" in n for n in named["notes"])
    code, out, _ = cli(capsys, "capacity", "llama3.1-8b", "--gpu", "h100", "--json")
    assert json.loads(out)["kv_pool_bytes"] == named["kv_pool_bytes"]
    code, out, err = cli(capsys, "capacity", "llama3.1-8b", "--gpu-mem", "85029027840", "--json")
    assert code == 0 and any(n.startswith("a GPU given by its memory alone") for n in json.loads(out)["notes"])


@pytest.mark.parametrize("command", [["capacity", "llama3.1-8b", "--gpu", "h100"],
                                     ["recommend", "llama3.1-8b", "--ctx", "8k", "--users", "8"]])
def test_dtype_that_is_no_format_names_the_dtype_option(capsys, command):
    """--dtype int3 (no format of that name) said "unknown kv format 'int3'": it is the model dtype."""
    code, out, err = cli(capsys, *command, "--dtype", "int3")
    assert (code, out) == (2, "")
    assert err.strip() == "kvplan: error: --dtype must be one of bf16, fp16, fp32, got 'int3'"
