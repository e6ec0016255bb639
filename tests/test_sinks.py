"""StreamingLLM sink + window caches: the SinkWindow kind, the --window/--sinks policy, and
their figures in `kvplan size` and `kvplan capacity` (hand-computed expectations)."""

from __future__ import annotations

import json

import pytest
from helpers import cli, one_line_error
from hypothesis import given, settings
from hypothesis import strategies as st

from kvplan.capacity import make_request, plan
from kvplan.errors import BadInputError, ShapeError
from kvplan.eviction import SinkWindowPolicy, check_engine, make_policy
from kvplan.formats import get_format
from kvplan.layers import FullAttention, SinkWindow, SlidingWindow, cdiv
from kvplan.loader import load_model
from kvplan.spec import spec_from_mapping

BF16 = get_format("bf16")
# One Llama-3.1-8B layer: 8 KV heads x (128 + 128) values x 2 B = 4,096 B per token.
LAYER = dict(kv_heads=8, head_dim=128, v_head_dim=128)


def held_pages(x: int, sinks: int, window: int, block: int) -> int:
    """Pages holding a kept token (the first `sinks`, the last `window`), counted by brute force."""
    kept = set(range(min(sinks, x))) | set(range(max(0, x - window), x))
    return len({t // block for t in kept})


# -- the kind ---------------------------------------------------------------------------------
def test_sink_window_llama_layer():
    k = SinkWindow(window=4096, sinks=4, **LAYER)
    assert k.per_token_bytes(BF16) == 4096
    assert k.cached_tokens(100) == 100
    assert k.cached_tokens(131072) == 4100  # 4 sinks + 4,096 window
    assert k.seq_bytes(131072, BF16) == 4100 * 4096  # 16,793,600 B a layer
    # Block 16: s = cdiv(4, 16) = 1 sink page; peak cdiv(min(n, 4096 + 2 * 16 - 1), 16):
    assert k.pages(4112, 16) == 257  # still growing: cdiv(4112, 16)
    assert k.pages(4113, 16) == 258  # 1 sink page + 257 window pages (the window straddles)
    assert k.pages(131072, 16) == 258
    assert k.paged_seq_bytes(131072, BF16, 16) == 258 * 16 * 4096
    # TensorRT-LLM's ring: bubble = (-4) % 32 = 28; cdiv(4100 + 28, 32) = 129 blocks
    # (1 sink block + 4,096 / 32 = 128 window blocks).
    assert k.engine_blocks_per_request(131072, 32) == 129
    assert k.engine_blocks_per_request(131072, 16) == 257  # cdiv(4100 + 12, 16)
    assert k.engine_blocks_per_request(100, 32) == 4  # cdiv(100 + 28, 32)
    assert k.describe() == "4 sinks + window 4096, 8 kv heads x 128"


def test_no_sinks_matches_sliding_window_pages():
    # sinks 0 is a plain window: the same peak pages as SlidingWindow (257 for 4,096 / 16).
    sink = SinkWindow(window=4096, sinks=0, **LAYER)
    slide = SlidingWindow(window=4096, **LAYER)
    for n in (1, 4095, 4096, 4097, 4111, 4112, 100_000):
        assert sink.pages(n, 16) == slide.pages(n, 16)
        assert sink.cached_tokens(n) == slide.cached_tokens(n)


@settings(max_examples=300, deadline=None)
@given(block=st.integers(1, 20), sinks=st.integers(0, 40), window=st.integers(1, 60), n=st.integers(1, 200))
def test_pages_is_the_peak_of_pages_held(block, sinks, window, n):
    k = SinkWindow(window=window, sinks=sinks, **LAYER)
    assert k.pages(n, block) == max(held_pages(x, sinks, window, block) for x in range(1, n + 1))
    # and what is held at n follows the closed form in the class docstring
    assert held_pages(n, sinks, window, block) == cdiv(n, block) - max(0, (n - window) // block - cdiv(sinks, block))
    assert k.cached_tokens(n) == len(set(range(min(sinks, n))) | set(range(max(0, n - window), n)))


def test_numpy_columns_match_ints():
    np = pytest.importorskip("numpy")
    k = SinkWindow(window=4096, sinks=4, **LAYER)
    n = np.array([1, 4100, 4113, 131072], dtype=np.int64)
    assert list(k.pages(n, 16)) == [k.pages(int(x), 16) for x in n]
    assert list(k.engine_blocks_per_request(n, 32)) == [k.engine_blocks_per_request(int(x), 32) for x in n]


def test_spec_states_it_directly():
    spec = spec_from_mapping({
        "name": "toy-streaming", "source": "test", "num_layers": 4, "hidden_size": 1024, "num_attention_heads": 8,
        "num_kv_heads": 8, "dtype": "bf16", "max_position_embeddings": 65536,
        "cache": {"kinds": {"attention": {"kind": "sink_window", "window": 1020, "sinks": 4}}},
    })
    (kind,) = set(spec.layers)
    # 8 heads x (128 + 128) x 2 B = 4,096 B per token; 4 layers hold 1,024 tokens each.
    assert kind == SinkWindow(kv_heads=8, head_dim=128, v_head_dim=128, window=1020, sinks=4)
    assert kind.cached_tokens(65536) == 1024


def test_spec_rejects_negative_sinks():
    from kvplan.errors import SpecError

    with pytest.raises(SpecError, match="sinks"):
        spec_from_mapping({
            "name": "toy", "source": "test", "num_layers": 1, "hidden_size": 64, "num_attention_heads": 1,
            "num_kv_heads": 1, "dtype": "bf16", "max_position_embeddings": 64,
            "cache": {"kinds": {"a": {"kind": "sink_window", "window": 8, "sinks": -1}}},
        })


# -- the policy -------------------------------------------------------------------------------
def test_policy_caps_full_attention_only():
    gemma = load_model("gemma3-27b")  # 5 sliding (1,024) : 1 full
    capped = SinkWindowPolicy(4096, 4).apply(gemma)
    kinds = {type(k) for k in capped.layers}
    assert kinds == {SlidingWindow, SinkWindow}  # sliding layers keep their own window
    assert sum(isinstance(k, SinkWindow) for k in capped.layers) == sum(
        type(k) is FullAttention for k in gemma.layers)


@pytest.mark.parametrize("model", ["deepseek-v3", "deepseek-v2-lite"])
def test_policy_refuses_mla(model):
    with pytest.raises(ShapeError, match="MLA latent"):
        SinkWindowPolicy(4096, 4).apply(load_model(model))


def test_policy_inputs():
    assert make_policy("4k", 4) == SinkWindowPolicy(4096, 4)
    assert make_policy(None, None) is None
    with pytest.raises(BadInputError, match="--sinks needs --window"):
        make_policy(None, 4)
    with pytest.raises(BadInputError, match="--sinks"):
        make_policy(4096, -1)


@pytest.mark.parametrize("engine,ok", [("trtllm", True), ("raw", True), ("vllm", False), ("vllm-0.10", False),
                                       ("sglang", False)])
def test_engines_that_run_it(engine, ok):
    if ok:
        assert check_engine(engine)
    else:
        with pytest.raises(BadInputError, match="--engine trtllm"):
            check_engine(engine)


# -- size ---------------------------------------------------------------------------------------
def test_size_llama_128k_window_4096_sinks_4(capsys):
    code, out, err = cli(capsys, "size", "llama3.1-8b", "--ctx", "128k", "--window", "4096", "--sinks", "4",
                         "--kv-dtype", "bf16", "--json")
    assert code == 0
    d = json.loads(out)
    (fp,) = d["formats"]
    # 32 layers x 4,096 B = 131,072 B per token; each layer holds 4 + 4,096 = 4,100 tokens.
    assert fp["bytes_per_token"] == 131_072
    assert fp["seq_bytes"] == 4100 * 131_072 == 537_395_200
    # Paged, block 16: 258 pages (1 sink page + 257 window pages) x 16 tokens x 131,072 B.
    assert fp["paged_total_bytes"] == 258 * 16 * 131_072 == 541_065_216
    assert fp["groups"][0]["kind"] == "sink_window" and fp["groups"][0]["cached_tokens"] == 4100
    assert d["eviction"] == {"window": 4096, "sinks": 4, "max_tokens_per_layer": 4100, "layers_capped": 32,
                             "layers": 32}
    assert "what-if" in err and "trtllm" in err  # size says who runs it


def test_size_text_says_what_is_capped(capsys):
    code, out, _ = cli(capsys, "size", "llama3.1-8b", "--ctx", "128k", "--window", "4096", "--sinks", "4",
                       "--kv-dtype", "bf16")
    assert code == 0
    assert "32 of 32 layers" in out and "at most 4,100 tokens" in out


def test_size_with_gpu_asks_the_engine(capsys):
    code, _, err = cli(capsys, "size", "llama3.1-8b", "--window", "4096", "--gpu", "h100")
    assert code == 2
    assert "vLLM slides a window only" in one_line_error(err)


def test_size_refuses_mla(capsys):
    code, _, err = cli(capsys, "size", "deepseek-v3", "--window", "4096", "--sinks", "4")
    assert code == 2
    assert "MLA latent" in one_line_error(err)


# -- capacity -----------------------------------------------------------------------------------
def test_capacity_raw_exact():
    spec = load_model("llama3.1-8b")
    pool = plan(make_request(spec, "h100", engine="raw", window=4096, sinks=4, max_model_len="128k"))
    # raw: the KV pool is the H100's 85,029,027,840 B less 16,060,522,496 B of bf16 weights.
    assert pool.kv_pool_bytes == 85_029_027_840 - 16_060_522_496 == 68_968_505_344
    # A block of 16 tokens: 16 x 4,096 B x 32 layers = 2 MiB.
    assert pool.layout.unit_bytes == 2_097_152
    assert pool.num_blocks == 68_968_505_344 // 2_097_152 == 32_886
    # A request of 128k holds cdiv(4,100 + 12, 16) = 257 blocks: 32,886 // 257 = 127 at once
    # (4 without the cap: 32,886 // 8,192).
    assert pool.blocks_per_request(131_072) == 257
    assert pool.max_requests(131_072) == 127
    assert plan(pool.request.replace(eviction=None)).max_requests(131_072) == 4


def test_capacity_trtllm(capsys):
    code, out, err = cli(capsys, "capacity", "llama3.1-8b", "--gpu", "h100", "--engine", "trtllm", "--window", "4096",
                         "--sinks", "4", "--max-model-len", "128k", "--json")
    assert code == 0, err
    d = json.loads(out)
    # TensorRT-LLM pages 32 tokens: a block is 32 x 4,096 B x 32 layers = 4 MiB; a request
    # of 128k holds cdiv(4,100 + 28, 32) = 129 blocks.
    assert d["block_size"] == 32
    # TensorRT-LLM rounds the blocks up (kvCacheManager.cpp calculateMaxNumBlocks: ceilDiv of
    # the whole tokens the pool holds at 131,072 B a token; docs/calibration.md, TensorRT-LLM)
    assert d["num_blocks"] == -(-(d["kv_pool_bytes"] // 131_072) // 32)
    assert d["blocks_per_request"] == 129
    assert d["max_requests"] == d["num_blocks"] // 129
    ev = d["eviction"]
    assert (ev["window"], ev["sinks"], ev["max_tokens_per_layer"]) == (4096, 4, 4100)
    assert ev["without"]["blocks_per_request"] == 4096  # 131,072 / 32
    assert ev["without"]["max_requests"] == d["num_blocks"] // 4096
    assert "sink_token_length" in ev["engine"]


@pytest.mark.parametrize("engine,needle", [("vllm", "vLLM slides a window only"),
                                           ("sglang", "speculative draft's attention")])
def test_capacity_refuses_engines_without_it(capsys, engine, needle):
    code, _, err = cli(capsys, "capacity", "llama3.1-8b", "--gpu", "h100", "--engine", engine, "--window", "4096")
    assert code == 2
    assert needle in one_line_error(err)


def test_capacity_sinks_without_window(capsys):
    code, _, err = cli(capsys, "capacity", "llama3.1-8b", "--gpu", "h100", "--engine", "raw", "--sinks", "4")
    assert code == 2
    assert "--sinks needs --window" in one_line_error(err)


def test_check_plan_takes_window(tmp_path, capsys):
    path = tmp_path / "plan.yaml"
    path.write_text(
        "deployments:\n"
        "  - name: streaming\n    model: llama3.1-8b\n    gpu: h100\n    engine: raw\n"
        "    max_model_len: 128k\n    window: 4096\n    sinks: 4\n"
        "    requires:\n      min_concurrency: [{ctx: 128k, requests: 127}]\n"
        "  - name: too-many\n    model: llama3.1-8b\n    gpu: h100\n    engine: raw\n"
        "    max_model_len: 128k\n    window: 4096\n    sinks: 4\n"
        "    requires:\n      min_concurrency: [{ctx: 128k, requests: 128}]\n")
    code, out, _ = cli(capsys, "check", str(path), "--json")
    assert code == 1  # 127 requests fit (test_capacity_raw_exact), 128 do not
    results = {d["name"]: d["passed"] for d in json.loads(out)["deployments"]}
    assert results == {"streaming": True, "too-many": False}
