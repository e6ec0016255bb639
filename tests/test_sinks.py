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
    # The pool reserves by the same page rule (h24-audit-spec I3: TensorRT-LLM's ring rule gave
    # 257 here while size's paged column said 258). B 32: s = 1, cdiv(min(n, 4096 + 63), 32) = 130.
    assert k.engine_blocks_per_request(131072, 16) == 258
    assert k.engine_blocks_per_request(131072, 32) == 130
    assert k.engine_blocks_per_request(100, 32) == 4  # cdiv(100, 32)
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
    assert list(k.engine_blocks_per_request(n, 16)) == [k.engine_blocks_per_request(int(x), 16) for x in n]


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


@pytest.mark.parametrize("engine,ok", [("raw", True), ("trtllm", False), ("vllm", False), ("vllm-0.10", False),
                                       ("sglang", False)])
def test_engines_that_run_it(engine, ok):
    if ok:
        assert "what-if" in check_engine(engine)
    else:
        with pytest.raises(BadInputError, match="only under --engine raw"):
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
    # size says it is a what-if that no serving engine kvplan models runs (trtllm included: M1)
    assert one_line_error(err).startswith("kvplan: warning: --window/--sinks: a what-if") and "no serving engine" in err


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
    # A request of 128k holds the page rule's 258 blocks (1 sink block + 257 window blocks):
    # 32,886 // 258 = 127 at once (4 without the cap: 32,886 // 8,192).
    assert pool.blocks_per_request(131_072) == 258
    assert pool.max_requests(131_072) == 127
    assert plan(pool.request.replace(eviction=None)).max_requests(131_072) == 4


def test_size_gpu_one_block_rule_for_every_column(capsys):
    # h24-audit-spec I3: one `size --gpu` output said 258 pages (paged column) and reserved 257
    # blocks (TensorRT-LLM's ring rule) for the same request. Now both are the page rule.
    code, out, err = cli(capsys, "size", "llama3.1-8b", "--ctx", "8192", "--window", "4096", "--sinks", "4",
                         "--kv-dtype", "bf16", "--gpu", "h100", "--engine", "raw", "--max-model-len", "8192", "--json")
    assert code == 0, err
    (fp,) = json.loads(out)["formats"]
    # 258 blocks x 16 tokens x 131,072 B = 541,065,216 B, in both columns
    assert fp["paged_total_bytes"] == 258 * 16 * 131_072 == 541_065_216
    assert fp["on_gpu"]["reserved_bytes"] == 541_065_216
    assert fp["on_gpu"]["max_requests"] == 68_968_505_344 // 2_097_152 // 258 == 127


@pytest.mark.parametrize("sinks", ["4", "0"])
def test_capacity_trtllm_refused(capsys, sinks):
    # h24-audit-spec M1 / W2: TensorRT-LLM runs no StreamingLLM sinks (build.py asserts; the PyTorch
    # backend ignores sink_token_length), and a window there reserves W + a temporary attention
    # window that kvplan cannot size without a pinned release: no figure, one line.
    code, out, err = cli(capsys, "capacity", "llama3.1-8b", "--gpu", "h100", "--engine", "trtllm", "--window", "4096",
                         "--sinks", sinks, "--max-model-len", "131072")
    assert code == 2 and out == ""
    line = one_line_error(err)
    assert line.startswith("kvplan: error: --window/--sinks under trtllm: TensorRT-LLM dropped StreamingLLM sinks")
    assert "max_num_tokens" in line and "only under --engine raw" in line


def test_size_gpu_trtllm_refused(capsys):
    code, _, err = cli(capsys, "size", "qwen3-8b", "--window", "4096", "--sinks", "4", "--gpu", "h100",
                       "--engine", "trtllm")
    assert code == 2
    assert "TensorRT-LLM dropped StreamingLLM sinks" in one_line_error(err)


def test_spec_stated_sink_window_asks_the_engine(capsys, tmp_path):
    # A spec that states sink_window layers itself meets the same engine check as --window.
    path = tmp_path / "toy.yaml"
    path.write_text("name: toy-streaming\nsource: test\nnum_layers: 4\nhidden_size: 1024\nnum_attention_heads: 8\n"
                    "num_kv_heads: 8\ndtype: bf16\nmax_position_embeddings: 65536\nvocab_size: 32000\nintermediate_size: 4096\n"
                    "cache:\n  kinds:\n    attention: {kind: sink_window, window: 1020, sinks: 4}\n")
    code, _, err = cli(capsys, "capacity", str(path), "--gpu", "h100", "--max-model-len", "8192")
    assert code == 2
    assert one_line_error(err).startswith("kvplan: error: toy-streaming's sink_window layers under vllm")
    code, _, err = cli(capsys, "capacity", str(path), "--gpu", "h100", "--engine", "raw", "--max-model-len", "8192")
    assert code == 0, err


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


# -- fragment: the same refusals (h24-audit-spec I2) --------------------------------------------
def test_fragment_refuses_a_vllm_pool_with_a_window(capsys):
    # The pool is vLLM's (the default engine), and vLLM runs no sink + window cache: refused with
    # capacity's line, before anything is simulated.
    code, out, err = cli(capsys, "fragment", "llama3.1-8b", "--gpu", "h100", "--workload", "fixed:8000:192",
                         "--requests", "30", "--window", "4096", "--sinks", "4", "--max-model-len", "8192",
                         "--policies", "paged-16")
    assert code == 2 and out == ""
    assert one_line_error(err).startswith("kvplan: error: --window/--sinks under vllm: vLLM slides a window only")


@pytest.mark.parametrize("model,needle", [("deepseek-v2-lite", "MLA latent"), ("mistral-7b", "no full-attention layers to evict from")])
def test_fragment_refuses_layers_the_policy_cannot_take(capsys, model, needle):
    code, _, err = cli(capsys, "fragment", model, "--kv-pool-tokens", "100000", "--workload", "fixed:8000:192",
                       "--requests", "10", "--window", "4096", "--sinks", "4", "--policies", "paged-16")
    assert code == 2
    assert needle in one_line_error(err)


def test_fragment_window_is_a_what_if(capsys):
    code, out, err = cli(capsys, "fragment", "llama3.1-8b", "--gpu", "h100", "--engine", "raw", "--workload",
                         "fixed:8000:192", "--requests", "30", "--window", "4096", "--sinks", "4", "--max-model-len",
                         "8192", "--policies", "paged-16", "--json")
    assert code == 0, err
    assert json.loads(out)["retention"] == {"window": 4096, "sinks": 4}
    assert one_line_error(err).startswith("kvplan: warning: --window/--sinks: a what-if")
