"""Cache kinds: per-layer arithmetic, checked against brute force and hand-computed values."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kvplan.errors import ShapeError
from kvplan.formats import FORMATS
from kvplan.layers import (
    KINDS,
    AttentionWithState,
    ChunkedLocal,
    FullAttention,
    MLAIndexed,
    MLALatent,
    NoCache,
    SharedKV,
    SlidingWindow,
    StateSpace,
    minimum,
)

BF16 = FORMATS["bf16"]


def test_registry_names_every_kind():
    assert set(KINDS) == {"full_attention", "sliding_window", "chunked_local", "mla", "state_space", "shared_kv",
                          "mla_indexed", "no_cache", "attention_with_state", "sink_window"}
    for name, cls in KINDS.items():
        assert cls.kind == name


def test_full_attention_llama3_layer():
    layer = FullAttention(kv_heads=8, head_dim=128, v_head_dim=128)
    # 8 heads x (128 + 128) values x 2 B = 4,096 B per token per layer
    assert layer.per_token_bytes(BF16) == 4096
    assert layer.seq_bytes(8192, BF16) == 4096 * 8192
    # Paged, block 16: a 17-token sequence holds 2 pages of 16 x 4,096 B
    assert layer.pages(17, 16) == 2
    assert layer.paged_seq_bytes(17, BF16, 16) == 2 * 16 * 4096


def test_k_and_v_head_dims_may_differ():
    layer = FullAttention(kv_heads=2, head_dim=192, v_head_dim=128)
    assert layer.per_token_bytes(BF16) == 2 * (192 + 128) * 2


@pytest.mark.parametrize("tp, heads", [(1, 8), (2, 4), (4, 2), (8, 1), (16, 1), (32, 1)])
def test_tp_heads_per_rank(tp, heads):
    layer = FullAttention(kv_heads=8, head_dim=128, v_head_dim=128)
    assert layer.heads_per_rank(tp) == heads
    assert layer.per_token_bytes(BF16, tp) == heads * 256 * 2


def test_tp_must_divide_or_replicate_heads():
    layer = FullAttention(kv_heads=8, head_dim=128, v_head_dim=128)
    layer.check_tp(16)  # replicated: each of 16 ranks keeps one of 8 heads
    with pytest.raises(ShapeError):
        layer.check_tp(3)
    with pytest.raises(ShapeError):
        FullAttention(kv_heads=6, head_dim=64, v_head_dim=64).check_tp(4)


def test_mla_latent_deepseek_v3():
    layer = MLALatent(kv_lora_rank=512, qk_rope_head_dim=64)
    # (512 + 64) x 2 B = 1,152 B per layer; 61 layers -> 70,272 B per token
    assert layer.per_token_bytes(BF16) == 1152
    assert 61 * layer.per_token_bytes(BF16) == 70_272
    # replicated on every tensor-parallel rank
    assert layer.per_token_bytes(BF16, tp=8) == 1152


def test_sliding_window_holds_at_most_window():
    layer = SlidingWindow(kv_heads=8, head_dim=128, v_head_dim=128, window=4096)
    assert layer.cached_tokens(100) == 100
    assert layer.cached_tokens(4096) == 4096
    assert layer.cached_tokens(32768) == 4096
    # window 4096, block 16: k = 4095 = 255 * 16 + 15, so r = 15: 256 pages, 257 once the window straddles
    assert layer.pages(4096, 16) == 256
    assert layer.pages(4096 + 16 - 15 - 1, 16) == 256
    assert layer.pages(4097, 16) == 257
    assert layer.pages(10**6, 16) == 257


def _sliding_pages_brute(n: int, window: int, block: int) -> int:
    """Peak number of distinct pages any step of the sequence's life touches."""
    best = 0
    for m in range(1, n + 1):
        first = max(0, m - window)
        best = max(best, (m - 1) // block - first // block + 1)
    return best


@settings(max_examples=300, deadline=None)
@given(
    n=st.integers(min_value=1, max_value=300),
    window=st.integers(min_value=1, max_value=100),
    block=st.integers(min_value=1, max_value=40),
)
def test_sliding_pages_match_brute_force(n, window, block):
    layer = SlidingWindow(kv_heads=1, head_dim=8, v_head_dim=8, window=window)
    assert layer.pages(n, block) == _sliding_pages_brute(n, window, block)


def _chunked_pages_brute(n: int, chunk: int, block: int) -> int:
    best = 0
    for m in range(1, n + 1):
        start = ((m - 1) // chunk) * chunk
        best = max(best, (m - 1) // block - start // block + 1)
    return best


@settings(max_examples=200, deadline=None)
@given(
    n=st.integers(min_value=1, max_value=300),
    chunk_blocks=st.integers(min_value=1, max_value=8),
    block=st.sampled_from([1, 2, 4, 8, 16]),
)
def test_chunked_pages_match_brute_force(n, chunk_blocks, block):
    chunk = chunk_blocks * block
    layer = ChunkedLocal(kv_heads=1, head_dim=8, v_head_dim=8, chunk=chunk)
    assert layer.cached_tokens(n) == min(n, chunk)
    assert layer.pages(n, block) == _chunked_pages_brute(n, chunk, block)


def test_chunked_needs_aligned_chunks():
    with pytest.raises(ShapeError):
        ChunkedLocal(kv_heads=1, head_dim=8, v_head_dim=8, chunk=100).pages(500, 16)


def test_state_space_constant_state():
    # Jamba-style Mamba 1 layer: d_inner 8192, d_conv 4, d_state 16, bf16
    layer = StateSpace(conv_dim=8192, conv_kernel=4, ssm_heads=8192, ssm_head_dim=1, ssm_state_size=16)
    expected = (8192 * 3 + 8192 * 16) * 2  # conv (k - 1 columns) + recurrent state, 2 B each
    assert layer.state_bytes() == expected
    assert layer.seq_bytes(1, BF16) == layer.seq_bytes(10**6, BF16) == expected
    assert layer.paged_seq_bytes(10**6, BF16, 16) == expected
    assert layer.state_bytes(tp=2) == expected // 2
    with pytest.raises(ShapeError):
        layer.check_tp(3)


def test_shared_kv_costs_nothing():
    layer = SharedKV(source_layer=3)
    assert layer.seq_bytes(10**6, BF16) == 0
    assert layer.paged_seq_bytes(10**6, BF16, 16) == 0


KIND_SAMPLES = [
    FullAttention(kv_heads=4, head_dim=64, v_head_dim=64),
    SlidingWindow(kv_heads=4, head_dim=64, v_head_dim=64, window=100),
    ChunkedLocal(kv_heads=2, head_dim=64, v_head_dim=64, chunk=64),
    MLALatent(kv_lora_rank=512, qk_rope_head_dim=64),
    StateSpace(conv_dim=64, conv_kernel=4, ssm_heads=8, ssm_head_dim=8, ssm_state_size=16),
    StateSpace(conv_dim=64, conv_kernel=4, ssm_heads=8, ssm_head_dim=8, ssm_state_size=16, ssm_state_dtype="fp32"),
    MLAIndexed(kv_lora_rank=512, qk_rope_head_dim=64, index_head_dim=128),
    NoCache(),
    AttentionWithState(attention=FullAttention(kv_heads=2, head_dim=64, v_head_dim=64),
                       state=StateSpace(conv_dim=64, conv_kernel=4, ssm_heads=8, ssm_head_dim=8, ssm_state_size=16)),
]


@pytest.mark.parametrize("kind", KIND_SAMPLES, ids=lambda k: k.kind)
def test_numpy_arrays_give_the_same_integers(kind):
    ns = np.array([1, 7, 16, 63, 64, 65, 99, 100, 101, 1000, 32768], dtype=np.int64)
    for fmt in (BF16, FORMATS["int4"], FORMATS["fp8_e4m3"]):
        got = kind.paged_seq_bytes(ns, fmt, 16) + 0 * ns
        want = [kind.paged_seq_bytes(int(n), fmt, 16) for n in ns]
        assert got.tolist() == want
        got = kind.seq_bytes(ns, fmt) + 0 * ns
        assert got.tolist() == [kind.seq_bytes(int(n), fmt) for n in ns]


@given(st.integers(-(10**12), 10**12), st.integers(-(10**12), 10**12))
def test_minimum_is_min(a, b):
    assert minimum(a, b) == min(a, b)


@settings(deadline=None)
@given(st.integers(min_value=1, max_value=10**6), st.sampled_from([1, 8, 16, 32, 256]))
def test_paged_never_less_than_unpaged(n, block):
    for kind in KIND_SAMPLES:
        if kind.kind == "chunked_local" and kind.chunk % block:
            continue
        for fmt in FORMATS.values():
            if kind.supports(fmt):
                assert kind.paged_seq_bytes(n, fmt, block) >= kind.seq_bytes(n, fmt)


# -- kinds added for the Hugging Face families (issue 10) ---------------------------------
def test_mla_indexed_deepseek_v32_layer():
    layer = MLAIndexed(kv_lora_rank=512, qk_rope_head_dim=64, index_head_dim=128)
    # indexer key: 128 fp8 values + one fp32 scale per 128 values = 132 B, whatever the format
    assert layer.index_key_bytes == 132
    # bf16 latent (512 + 64) x 2 = 1,152 B + 132 B = 1,284 B per token and layer
    assert layer.per_token_bytes(BF16) == 1284
    assert 61 * layer.per_token_bytes(BF16) == 78_324
    # fp8 latent: 576 x 1 + 132 = 708 B; int4 packs the latent, never the indexer key
    assert layer.per_token_bytes(FORMATS["fp8_e4m3"]) == 708
    assert layer.per_token_bytes(FORMATS["int4"]) == FORMATS["int4"].vector_bytes(576) + 132
    # replicated on every rank, like the latent
    assert layer.per_token_bytes(BF16, tp=8) == 1284
    assert layer.paged_seq_bytes(17, BF16, 16) == 2 * 16 * 1284
    # the plain MLA kind is unchanged
    assert MLALatent(kv_lora_rank=512, qk_rope_head_dim=64).per_token_bytes(BF16) == 1152


def test_no_cache_layer():
    layer = NoCache()
    assert layer.seq_bytes(10**6, BF16) == 0
    assert layer.paged_seq_bytes(10**6, BF16, 16) == 0
    assert layer.state_bytes(4) == 0
    layer.check_tp(7)  # nothing to split
    assert "linear" in NoCache(replacement="linear").describe()


def test_state_space_keeps_the_recurrent_state_in_its_own_dtype():
    # Nemotron-3-Nano Mamba-2 layer: 64 heads x 64, 8 groups, state 128, conv 4,
    # mamba_ssm_cache_dtype float32 (vLLM keeps the conv state in bf16)
    conv_dim = 64 * 64 + 2 * 8 * 128  # 6,144 channels
    layer = StateSpace(conv_dim=conv_dim, conv_kernel=4, ssm_heads=64, ssm_head_dim=64, ssm_state_size=128,
                       ssm_state_dtype="fp32")
    assert layer.state_bytes() == 6144 * 3 * 2 + 64 * 64 * 128 * 4 == 2_134_016
    assert layer.state_bytes(tp=2) == 3072 * 3 * 2 + 32 * 64 * 128 * 4
    same = StateSpace(conv_dim=conv_dim, conv_kernel=4, ssm_heads=64, ssm_head_dim=64, ssm_state_size=128)
    assert same.state_bytes() == (6144 * 3 + 64 * 64 * 128) * 2
    assert "fp32 state" in layer.describe()


def test_linear_attention_state_has_no_conv():
    # MiniMax-M1 lightning attention: 64 heads, a 128 x 128 matrix each, bf16
    layer = StateSpace(conv_dim=0, conv_kernel=1, ssm_heads=64, ssm_head_dim=128, ssm_state_size=128)
    assert layer.state_bytes() == 64 * 128 * 128 * 2 == 2_097_152
    assert layer.state_bytes(tp=8) == 8 * 128 * 128 * 2


def test_attention_with_state_keeps_both_caches():
    # Falcon-H1-0.5B layer: 2 KV heads x 64 and a Mamba-2 branch of 24 heads x 64,
    # 1 group, state 128, conv 4 (conv channels 1,536 + 2 x 128 = 1,792), bf16
    attention = FullAttention(kv_heads=2, head_dim=64, v_head_dim=64)
    state = StateSpace(conv_dim=1792, conv_kernel=4, ssm_heads=24, ssm_head_dim=64, ssm_state_size=128)
    layer = AttentionWithState(attention=attention, state=state)
    assert layer.per_token_bytes(BF16) == 2 * 128 * 2 == 512
    assert layer.state_bytes() == 1792 * 3 * 2 + 24 * 64 * 128 * 2 == 403_968
    assert layer.seq_bytes(1000, BF16) == 512 * 1000 + 403_968
    assert layer.paged_seq_bytes(17, BF16, 16) == 2 * 16 * 512 + 403_968
    assert layer.parts() == (attention, state)
    assert attention.parts() == (attention,)
    with pytest.raises(ShapeError):
        layer.check_tp(3)  # 2 KV heads: tp 3 neither divides nor replicates them


@settings(deadline=None)
@given(st.integers(min_value=0, max_value=10**7), st.sampled_from([1, 16, 64]), st.sampled_from([1, 2]))
def test_attention_with_state_is_the_sum_of_its_parts(n, block, tp):
    layer = KIND_SAMPLES[-1]
    for fmt in (BF16, FORMATS["fp8_e4m3"], FORMATS["int4"]):
        assert layer.seq_bytes(n, fmt, tp) == sum(p.seq_bytes(n, fmt, tp) for p in layer.parts())
        assert layer.paged_seq_bytes(n, fmt, block, tp) == sum(
            p.paged_seq_bytes(n, fmt, block, tp) for p in layer.parts())


def test_new_kinds_through_the_spec_schema():
    from kvplan.errors import SpecError
    from kvplan.spec import spec_from_mapping

    base = dict(name="t", source="test", num_layers=3, hidden_size=1024, num_attention_heads=8, num_kv_heads=2,
                head_dim=64, vocab_size=100, intermediate_size=128, dtype="bf16", max_position_embeddings=4096)
    kinds = {
        "hybrid": {"kind": "attention_with_state",
                   "state": {"conv_dim": 1792, "conv_kernel": 4, "ssm_heads": 24, "ssm_head_dim": 64,
                             "ssm_state_size": 128, "ssm_state_dtype": "fp32"}},
        "none": {"kind": "no_cache", "replacement": "linear"},
        "dsa": {"kind": "mla_indexed", "kv_lora_rank": 512, "qk_rope_head_dim": 64, "index_head_dim": 128},
    }
    spec = spec_from_mapping({**base, "cache": {"kinds": kinds, "pattern": ["hybrid", "none", "dsa"]}}, "t")
    hybrid, none, dsa = spec.layers
    assert hybrid.attention == FullAttention(kv_heads=2, head_dim=64, v_head_dim=64)  # the model's, by default
    assert hybrid.state.ssm_state_dtype == "fp32" and hybrid.state.state_dtype == "bf16"
    assert none == NoCache(replacement="linear")
    assert dsa == MLAIndexed(kv_lora_rank=512, qk_rope_head_dim=64, index_head_dim=128)
    sliding = {"kind": "attention_with_state", "attention": {"kind": "sliding_window", "window": 512},
               "state": kinds["hybrid"]["state"]}
    spec = spec_from_mapping({**base, "num_layers": 1, "cache": {"kinds": {"h": sliding}}}, "t")
    assert spec.layers[0].attention == SlidingWindow(kv_heads=2, head_dim=64, v_head_dim=64, window=512)
    bad = {"kind": "attention_with_state", "attention": {"kind": "full_attention", "window": 512},
           "state": kinds["hybrid"]["state"]}
    with pytest.raises(SpecError, match="window is not allowed"):
        spec_from_mapping({**base, "num_layers": 1, "cache": {"kinds": {"h": bad}}}, "t")
    with pytest.raises(SpecError, match="index_head_dim"):
        spec_from_mapping({**base, "num_layers": 1, "cache": {"kinds": {"d": {"kind": "mla_indexed"}}}}, "t")


def test_mamba2_groups_are_replicated_under_tp_as_vllm_does():
    """vLLM's mamba2_state_shape adds extra_groups_for_head_shards(n_groups, tp) = tp - n_groups
    groups when tp does not divide n_groups, then divides the conv channels by tp. Bamba-9B:
    d_inner 8192, 1 group, d_state 128, conv kernel 4, 128 heads of 64."""
    from kvplan.loader import load_model

    spec = load_model("tests/fixtures/hf_configs/bamba-9b.json")
    kind = next(k for k in spec.layers if k.kind == "state_space")
    assert (kind.conv_dim, kind.n_groups, kind.ssm_state_size) == (8192 + 2 * 128, 1, 128)
    assert kind.rank_conv_dim(1) == 8448
    assert kind.rank_conv_dim(2) == (8192 + 2 * 2 * 128) // 2 == 4352  # not 8448 // 2 = 4224
    assert kind.rank_conv_dim(4) == (8192 + 2 * 4 * 128) // 4 == 2304
    heads, head_dim = kind.ssm_heads, kind.ssm_head_dim
    ssm_bytes = {"fp32": 4, "bf16": 2, "fp16": 2}[kind.recurrent_dtype]
    conv_bytes = {"fp32": 4, "bf16": 2, "fp16": 2}[kind.state_dtype]
    assert kind.state_bytes(2) == 4352 * 3 * conv_bytes + (heads // 2) * head_dim * 128 * ssm_bytes


def test_speed_counts_moe_layers_from_the_ffn_layout():
    """Nemotron-H gives each layer one block (mixer, MLP or MoE) through its ffn layout; the
    speed model must count its MoE layers from that layout, not from the moe block's period."""
    from kvplan.capacity import make_request, plan
    from kvplan.loader import load_model
    from kvplan.speed import setup

    spec = load_model("tests/fixtures/hf_configs/nemotron-3-nano-30b-a3b.json")
    s = setup(plan(make_request(spec, "h100", max_model_len=4096)))
    n_moe = sum(1 for i in range(spec.num_layers) if spec.is_moe_layer(i))
    assert n_moe > 0 and sum(st.num_moe_layers for st in s.stages) == n_moe


def test_attention_free_models_split_over_tp_by_their_mixers():
    """Mamba-Codestral has no attention (its head counts are placeholders of 1): tp 2 is
    decided by its mixer (128 heads, 8 groups), not refused for 'not dividing 1 head'."""
    from kvplan.footprint import Parallelism, footprint
    from kvplan.formats import get_format
    from kvplan.loader import load_model

    spec = load_model("tests/fixtures/hf_configs/mamba-codestral-7b.json")
    kind = spec.layers[0]
    one = footprint(spec, get_format("bf16"), 4096, 1, 16, Parallelism(1, 1))
    two = footprint(spec, get_format("bf16"), 4096, 1, 16, Parallelism(2, 1))
    # conv 10,240 channels (8,192 + 2 x 8 groups x 128) x 3 + 128 heads x 64 x 128, bf16, 64 layers
    assert one.per_gpu_bytes == 64 * (10240 * 3 + 128 * 64 * 128) * 2
    assert two.per_gpu_bytes == 64 * (5120 * 3 + 64 * 64 * 128) * 2 == kind.state_bytes(2) * 64
