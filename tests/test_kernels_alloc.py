"""Caches allocated for the kernels hold exactly the bytes the planner predicts.

For built-in models and every format their layers support: the allocated tensors (payload
and scales) of all layers == num_blocks * sum over layers of kind.page_bytes(fmt, block,
tp) == the footprint's paged bytes for a context of num_blocks * block_size tokens. Plus
hand-derived totals, the one-buffer carving, and a hypothesis property over random shapes.
Pure torch on the CPU (no kernel launches).
"""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from kvplan.footprint import Parallelism, footprint, supported_formats  # noqa: E402
from kvplan.formats import FORMATS, get_format  # noqa: E402
from kvplan.kernels.cache import (  # noqa: E402
    allocate,
    allocate_model,
    allocate_pool,
    cache_nbytes,
    caching_allocator_bytes,
    cuda_allocated_bytes,
)
from kvplan.layers import FullAttention, MLALatent  # noqa: E402
from kvplan.layout import DTYPE_BYTES, layer_layout  # noqa: E402
from kvplan.loader import load_model  # noqa: E402
from kvplan.spec import spec_from_mapping  # noqa: E402

NUM_BLOCKS = 3
BLOCK = 16


MODELS = {"llama3-8b": lambda: load_model("llama3-8b"), "deepseek-v2-lite": lambda: load_model("deepseek-v2-lite")}


def _cases():
    for name, load in MODELS.items():
        spec = load()
        ok, _ = supported_formats(spec, FORMATS.values())
        for fmt in ok:
            yield pytest.param(name, fmt.name, id=f"{name}-{fmt.name}")


@pytest.mark.parametrize("model,fmt_name", list(_cases()))
def test_allocated_bytes_equal_planner_prediction(model, fmt_name):
    spec = MODELS[model]()
    fmt = get_format(fmt_name)
    caches = allocate_model(spec, fmt, NUM_BLOCKS, BLOCK)
    assert len(caches) == spec.num_layers and all(c is not None for c in caches)
    allocated = sum(cache_nbytes(c) for c in caches)
    per_pages = NUM_BLOCKS * sum(kind.page_bytes(fmt, BLOCK) for kind in spec.layers)
    planned = footprint(spec, fmt, ctx=NUM_BLOCKS * BLOCK, batch=1, block_size=BLOCK).paged_total_bytes
    assert allocated == per_pages == planned


@pytest.mark.parametrize(
    "model,fmt_name,expected",
    [
        # llama3-8b: 32 layers x 8 KV heads x (K 128 + V 128) per token.
        # bf16: 3 blocks x 16 tokens x 8 x 256 x 2 B = 196,608 B per layer; x 32 = 6,291,456
        ("llama3-8b", "bf16", 6_291_456),
        # int8: a 128-value vector is 128 B + 4 B fp32 scale = 132 B; per token and layer
        # 8 x 2 x 132 = 2,112 B; x 48 tokens x 32 layers = 3,244,032
        ("llama3-8b", "int8", 3_244_032),
        # int4: 64 B of nibbles + 4 groups x (2 B scale + 2 B min) = 80 B per vector;
        # 8 x 2 x 80 = 1,280 B per token and layer; x 48 x 32 = 1,966,080
        ("llama3-8b", "int4", 1_966_080),
        # deepseek-v2-lite: 27 layers x one 512 + 64 = 576-value latent per token.
        # bf16: 576 x 2 = 1,152 B; x 48 tokens x 27 layers = 1,492,992
        ("deepseek-v2-lite", "bf16", 1_492_992),
        # fp8 (per-tensor scale, not stored): 576 B; x 48 x 27 = 746,496
        ("deepseek-v2-lite", "fp8_e4m3", 746_496),
    ],
)
def test_hand_derived_totals(model, fmt_name, expected):
    caches = allocate_model(MODELS[model](), get_format(fmt_name), NUM_BLOCKS, BLOCK)
    assert sum(cache_nbytes(c) for c in caches) == expected


def test_tensor_parallel_rank_matches_per_gpu_prediction():
    spec = load_model("llama3-8b")
    fmt = get_format("int8")
    caches = allocate_model(spec, fmt, NUM_BLOCKS, BLOCK, tp=2)
    assert caches[0]["k_cache"].shape == (NUM_BLOCKS, BLOCK, 4, 128)  # 8 KV heads / 2 ranks
    assert caches[0]["k_cache_scale"].shape == (NUM_BLOCKS, BLOCK, 4)
    fp = footprint(spec, fmt, ctx=NUM_BLOCKS * BLOCK, batch=1, block_size=BLOCK, par=Parallelism(tp=2))
    assert sum(cache_nbytes(c) for c in caches) == fp.per_gpu_paged_bytes == 3_244_032 // 2


def test_one_buffer_tiled_exactly_and_aligned():
    layout = layer_layout(FullAttention(kv_heads=3, head_dim=64, v_head_dim=32), get_format("int4"), 5, 8)
    cache = allocate(layout)
    assert list(cache) == [t.name for t in layout.tensors]  # the layout's order
    base = cache["k_cache"].untyped_storage()
    assert all(t.untyped_storage().data_ptr() == base.data_ptr() for t in cache.values())
    assert base.nbytes() == layout.nbytes
    spans = sorted((t.data_ptr() - base.data_ptr(), t.numel() * t.element_size(), t) for t in cache.values())
    at = 0
    for offset, nbytes, t in spans:
        assert offset == at, "views must tile the buffer without gaps or overlap"
        assert offset % t.element_size() == 0 and t.is_contiguous()
        at += nbytes
    assert at == layout.nbytes
    for spec in layout.tensors:
        t = cache[spec.name]
        assert tuple(t.shape) == spec.shape and t.element_size() == DTYPE_BYTES[spec.dtype]
        assert str(t.dtype) == f"torch.{spec.dtype}"


def test_layers_without_token_cache_get_none():
    spec = spec_from_mapping({
        "name": "toy-hybrid", "source": "test", "num_layers": 3, "hidden_size": 256,
        "num_attention_heads": 4, "num_kv_heads": 2, "head_dim": 64, "vocab_size": 1000,
        "intermediate_size": 512, "dtype": "bf16", "max_position_embeddings": 4096,
        "cache": {
            "kinds": {
                "attn": {"kind": "full_attention"},
                "ssm": {"kind": "state_space", "conv_dim": 8, "conv_kernel": 4, "ssm_heads": 2,
                        "ssm_head_dim": 4, "ssm_state_size": 8},
                "shared": {"kind": "shared_kv", "source_layer": 0},
            },
            "layer_types": ["attn", "ssm", "shared"],
        },
    })
    caches = allocate_model(spec, get_format("bf16"), 2, 8)
    assert caches[1] is None and caches[2] is None
    # 2 blocks x 8 tokens x 2 heads x (64 + 64) x 2 B = 8,192 B
    assert cache_nbytes(caches[0]) == 8_192
    assert allocate_model(spec, get_format("bf16"), 2, 8, layers=range(1, 3)) == [None, None]


@settings(max_examples=60, deadline=None)
@given(
    kind=st.one_of(
        st.builds(FullAttention, kv_heads=st.integers(1, 8), head_dim=st.sampled_from([32, 64, 96, 128]),
                  v_head_dim=st.sampled_from([32, 64, 128])),
        st.builds(MLALatent, kv_lora_rank=st.sampled_from([64, 512]), qk_rope_head_dim=st.sampled_from([32, 64])),
    ),
    fmt_name=st.sampled_from(sorted(FORMATS)),
    num_blocks=st.integers(1, 4),
    block_size=st.integers(1, 32),
    tp=st.sampled_from([1, 2]),
)
def test_property_allocation_equals_layout_and_planner(kind, fmt_name, num_blocks, block_size, tp):
    fmt = get_format(fmt_name)
    layout = layer_layout(kind, fmt, num_blocks, block_size, tp)
    cache = allocate(layout)
    assert cache_nbytes(cache) == layout.nbytes == num_blocks * kind.page_bytes(fmt, block_size, tp)
    assert {n: tuple(t.shape) for n, t in cache.items()} == {t.name: t.shape for t in layout.tensors}


def test_importing_the_package_is_light():
    """kvplan.kernels imports neither torch nor triton until a kernel name is used."""
    import subprocess
    import sys

    code = ("import sys, kvplan.kernels as k; a = ('torch' in sys.modules, 'triton' in sys.modules); "
            "k.allocate; b = 'torch' in sys.modules; print(a, b)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.stdout.strip() == "(False, False) True", proc.stdout + proc.stderr


def test_cuda_allocated_bytes_rounds_to_512():
    assert [cuda_allocated_bytes(n) for n in (1, 511, 512, 513, 6_291_456)] == [512, 512, 512, 1024, 6_291_456]


def test_allocate_rejects_non_layouts():
    with pytest.raises(TypeError, match="CacheLayout"):
        allocate({"k_cache": (1, 2)})


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_memory_allocated_grows_by_the_rounded_layout_bytes():
    layout = layer_layout(FullAttention(kv_heads=8, head_dim=128, v_head_dim=128), get_format("int8"), 7, 16)
    assert layout.nbytes < 1 << 20  # below 1 MiB the allocator always splits blocks exactly
    torch.cuda.synchronize()
    before = torch.cuda.memory_allocated()
    cache = allocate(layout, "cuda")
    assert torch.cuda.memory_allocated() - before == cuda_allocated_bytes(layout.nbytes)
    assert caching_allocator_bytes(layout.nbytes) == cuda_allocated_bytes(layout.nbytes)
    del cache


MIB = 1 << 20


@pytest.mark.parametrize(
    "nbytes, counted",
    [
        (1, 512),  # the 512-byte granule
        (MIB, MIB),  # small pool (<= 1 MiB): always split, counted exactly
        (6 * MIB, 6 * MIB),  # 1-10 MiB: a 20 MiB segment, 14 MiB remain, split
        (15 * MIB, 16 * MIB),  # rounded to a 16 MiB segment, 1 MiB would remain: not split, counted whole
        (14 * MIB + 1, 14 * MIB + 512),  # 16 MiB segment, ~2 MiB remain: split
        (145 * MIB + MIB // 2, 146 * MIB),  # deepseek-v2-lite int8 32k x 8 per layer: +0.5 MiB
        (1 << 30, 1 << 30),  # a multiple of 2 MiB: nothing remains, counted exactly
    ],
)
def test_caching_allocator_model(nbytes, counted):
    assert caching_allocator_bytes(nbytes) == counted


def test_caching_allocator_model_configurations():
    assert caching_allocator_bytes(15 * MIB, "expandable_segments:True") == 15 * MIB  # always split
    assert caching_allocator_bytes(12 * MIB, "max_split_size_mb:8") == 12 * MIB + 0  # 12 MiB segment, exact
    assert caching_allocator_bytes(6 * MIB, "max_split_size_mb:4") == 20 * MIB  # never split above 4 MiB
    assert caching_allocator_bytes(6 * MIB, "roundup_power2_divisions:4") is None  # not modelled: no guess
    assert caching_allocator_bytes(6 * MIB, "backend:cudaMallocAsync") is None


def test_pool_holds_every_layer_exactly():
    """One pool tensor, each layer's cache a view into it: bytes equal the planner's to the byte."""
    spec = load_model("deepseek-v2-lite")
    kinds = [spec.layers[i] for i in range(3)]
    for fmt_name in ("bf16", "int8", "int4"):
        fmt = get_format(fmt_name)
        layouts = [layer_layout(k, fmt, 5, 16) for k in kinds]
        pool, caches = allocate_pool(layouts)
        assert pool.numel() == sum(layout.nbytes for layout in layouts) == 3 * 5 * kinds[0].page_bytes(fmt, 16)
        assert sum(cache_nbytes(c) for c in caches) == pool.numel()
        ptrs = sorted((t.data_ptr(), t.numel() * t.element_size()) for c in caches for t in c.values())
        assert ptrs[0][0] == pool.data_ptr()
        assert all(a + n == b for (a, n), (b, _) in zip(ptrs, ptrs[1:]))  # the views tile the pool


def test_pool_rejects_non_layouts():
    with pytest.raises(TypeError, match="CacheLayout"):
        allocate_pool([{"k_cache": (1, 2)}])
