"""paged_decode_attention against its fp32 torch reference, on the same (quantized) cache.

Runs on CUDA when present, else on the CPU under TRITON_INTERPRET=1 (tests/conftest.py).
Matrix: every format (bf16, fp16, fp8 per-tensor and per-head scale, int8, int4) x GQA
ratio 1, 4, 8 x block size 8, 16, with ragged lengths (1 token, a non-multiple and a
multiple of the block) over shuffled blocks, and 1, 2 or 3 splits. Tolerance, stated
once: max |out - ref| / max |ref| <= 1e-2 (the kernel rounds probabilities and
dequantized int4 values to bf16/fp16 for tl.dot; the reference keeps fp32).

Every run starts from a NaN-poisoned output (so a row left unwritten fails) and a cache
whose blocks outside the block tables are NaN (0xFF bytes), with table entries past each
sequence pointing at a block id far outside the cache: reading anything beyond seq_lens
would poison or crash the result.
"""

from __future__ import annotations

import math
import os
from fractions import Fraction

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("triton")

from kvplan.formats import get_format  # noqa: E402
from kvplan.kernels.cache import allocate  # noqa: E402
from kvplan.kernels.decode import (  # noqa: E402
    choose_launch,
    default_num_splits,
    register_caps,
    wave_fill,
    wave_splits,
    paged_decode_attention,
    paged_decode_attention_ref,
)
from kvplan.kernels.testing import poison_, ragged_block_tables, rel_err, slots_for  # noqa: E402
from kvplan.kernels import decode as decode_module  # noqa: E402
from kvplan.kernels import quant as Q  # noqa: E402
from kvplan.kernels.write import paged_kv_write_ref  # noqa: E402
from kvplan.layers import FullAttention  # noqa: E402
from kvplan.layout import layer_layout  # noqa: E402

pytestmark = pytest.mark.interpret

DEVICE = "cuda" if torch.cuda.is_available() and os.environ.get("TRITON_INTERPRET") != "1" else "cpu"
TOL = 1e-2

FORMATS = [("bf16", None), ("fp16", None), ("fp8_e4m3", "tensor"), ("fp8_e4m3", "head"), ("int8", None), ("int4", None)]


def build_case(fmt_name, scale_mode, *, group, block_size, seq_lens, kv_heads=2, head_dim=32, v_head_dim=None,
               seed=0):
    """A cache filled through the reference writer (same quantization as the kernel) and a
    query batch. Returns (q, cache dict, block_tables, seq_lens, fp8 scale kwargs)."""
    v_head_dim = v_head_dim or head_dim
    g = torch.Generator().manual_seed(seed)
    dtype = torch.float16 if fmt_name == "fp16" else torch.bfloat16
    table, lens, nb = ragged_block_tables(seq_lens, block_size, generator=g)
    layout = layer_layout(FullAttention(kv_heads=kv_heads, head_dim=head_dim, v_head_dim=v_head_dim),
                          get_format(fmt_name), nb, block_size)
    cache = allocate(layout, DEVICE)
    poison_(cache, 0xFF)  # NaN in every float payload and scale; int8 codes -1
    slots = slots_for(table, [list(range(n)) for n in seq_lens], block_size).to(DEVICE)
    T = slots.shape[0]
    key = torch.randn(T, kv_heads, head_dim, generator=g).to(dtype).to(DEVICE)
    value = torch.randn(T, kv_heads, v_head_dim, generator=g).to(dtype).to(DEVICE)
    kw = {}
    if scale_mode == "tensor":
        kw = {"k_scale": 0.01, "v_scale": torch.tensor(0.02, device=DEVICE)}
    elif scale_mode == "head":
        kw = {"k_scale": (torch.rand(kv_heads, generator=g) * 0.02 + 0.005).to(DEVICE),
              "v_scale": (torch.rand(kv_heads, generator=g) * 0.02 + 0.005).to(DEVICE)}
    paged_kv_write_ref(key, value, slot_mapping=slots, **cache, **kw)
    q = (torch.randn(len(seq_lens), kv_heads * group, head_dim, generator=g) * 2).to(dtype).to(DEVICE)
    return q, cache, table.to(DEVICE), lens.to(DEVICE), kw


def run_and_compare(q, cache, table, lens, kw, sm_scale=None, **launch):
    """Kernel (with tuning ``launch``) vs reference, both at ``sm_scale``."""
    B, HQ, _ = q.shape
    DV = cache["v_cache"].shape[-1] * (2 if cache["v_cache"].dtype == torch.uint8 else 1)
    out = torch.full((B, HQ, DV), float("nan"), dtype=q.dtype, device=DEVICE)
    got = paged_decode_attention(q, block_tables=table, seq_lens=lens, sm_scale=sm_scale, out=out, **cache, **kw,
                                 **launch)
    assert got is out
    assert not bool(torch.isnan(out).any()), "some output rows were not written"
    ref = paged_decode_attention_ref(q, block_tables=table, seq_lens=lens, sm_scale=sm_scale, **cache, **kw)
    assert not bool(torch.isnan(ref).any())
    err = rel_err(out, ref)
    assert err <= TOL, f"relative error {err:.2e} > {TOL}"
    return out, ref


@pytest.mark.parametrize("block_size", [8, 16])
@pytest.mark.parametrize("group", [1, 4, 8])
@pytest.mark.parametrize("fmt_name,scale_mode", FORMATS)
def test_decode_matrix(fmt_name, scale_mode, group, block_size):
    # Lengths: 1, a non-multiple of the block (2 blocks + 5) and an exact multiple (3 blocks).
    seq_lens = [1, 2 * block_size + 5, 3 * block_size]
    splits = {1: 1, 4: 2, 8: 3}[group]
    head_dim = 64 if block_size == 16 else 32
    case = build_case(fmt_name, scale_mode, group=group, block_size=block_size, seq_lens=seq_lens,
                      head_dim=head_dim, seed=group * 100 + block_size)
    run_and_compare(*case, num_splits=splits, block_n=16)


@pytest.mark.parametrize("fmt_name", ["bf16", "int8", "int4"])
def test_v_head_dim_differs_and_tiles_span_blocks(fmt_name):
    """K head_dim 64, V head_dim 32; 32-token tiles over 8-token blocks; 4 splits."""
    case = build_case(fmt_name, None, group=4, block_size=8, seq_lens=[40, 3], head_dim=64, v_head_dim=32, seed=7)
    run_and_compare(*case, num_splits=4, block_n=32)


def test_int4_head_dim_128_four_groups():
    case = build_case("int4", None, group=2, block_size=16, seq_lens=[21, 16], head_dim=128, seed=8)
    run_and_compare(*case, num_splits=2)


def test_more_splits_than_tokens_leave_empty_splits():
    """Splits with no tokens write lse = -inf and must weigh nothing in the merge."""
    case = build_case("bf16", None, group=4, block_size=8, seq_lens=[1, 5, 17], seed=9)
    out8, ref = run_and_compare(*case, num_splits=8)
    out1, _ = run_and_compare(*case, num_splits=1)
    assert rel_err(out8, out1) <= TOL


def test_reference_agrees_with_torch_sdpa():
    """The reference itself, on a plain cache, equals torch's scaled_dot_product_attention
    over the same K/V laid out contiguously (an independent oracle)."""
    q, cache, table, lens, _ = build_case("bf16", None, group=4, block_size=8, seq_lens=[11, 1, 24], seed=10)
    ref = paged_decode_attention_ref(q, block_tables=table, seq_lens=lens, **cache)
    sm_scale = 1 / math.sqrt(q.shape[-1])
    for b, n in enumerate(lens.tolist()):
        blocks = table[b, : -(-n // 8)].long()
        k = cache["k_cache"][blocks].reshape(-1, 2, 32)[:n].float().repeat_interleave(4, dim=1)
        v = cache["v_cache"][blocks].reshape(-1, 2, 32)[:n].float().repeat_interleave(4, dim=1)
        sdpa = torch.nn.functional.scaled_dot_product_attention(
            q[b].float()[:, None, :], k.transpose(0, 1), v.transpose(0, 1), scale=sm_scale
        )[:, 0, :]
        assert rel_err(ref[b], sdpa) <= 1e-2  # ref is rounded to bf16 at the end


def test_strided_query_and_explicit_scale():
    q, cache, table, lens, kw = build_case("fp16", None, group=8, block_size=16, seq_lens=[9, 30], seed=11)
    wide = torch.randn(q.shape[0], q.shape[1], 2 * q.shape[2]).to(q.dtype).to(DEVICE)
    wide[..., : q.shape[2]] = q
    qv = wide[..., : q.shape[2]]  # head stride 2 * head_dim
    assert not qv.is_contiguous()
    run_and_compare(qv, cache, table, lens, kw, sm_scale=0.05, num_splits=2)


def test_default_num_splits():
    cpu = torch.device("cpu")
    # interpreter target: 4 programs; 1 sequence x 2 KV heads -> 2 splits, capped by tiles
    assert default_num_splits(1, 2, 1000, cpu, 16) == 2
    assert default_num_splits(1, 1, 20, cpu, 16) == 2  # cdiv(20, 16) tiles
    assert default_num_splits(64, 8, 100000, cpu, 16) == 1
    assert default_num_splits(1, 1, None, cpu, 16) == 4


def test_launch_info_reports_the_launch():
    q, cache, table, lens, kw = build_case("fp8_e4m3", "tensor", group=2, block_size=8, seq_lens=[3, 9], seed=5)
    info: dict = {}
    run_and_compare(q, cache, table, lens, kw, launch_info=info)
    if DEVICE == "cpu":  # the interpreter: 4 programs, 2 sequences x 2 KV heads -> 1 split, 16-token tiles
        assert info == {"num_splits": 1, "maxnreg": None, "blocks_per_sm": None, "block_n": 16}
    else:
        assert info["maxnreg"] in (None, 168) and info["num_splits"] >= 1 and info["blocks_per_sm"] >= 1


def test_choose_launch_takes_the_register_cap_where_its_waves_fill():
    # H200: uncapped fp8/int8 kernels hold 2 programs per SM, capped at 168 registers 3; 132 SMs
    def pick(pairs):
        options = [(None, 2, wave_splits(pairs, 264, 64)), (168, 3, wave_splits(pairs, 396, 64))]
        return choose_launch(options, pairs, 132)[::2]

    assert pick(128) == (168, 3)  # 16 x 8 heads: 384 of 396 against 256 of 264, equal: the cap
    assert pick(32) == (168, 12)  # 4 x 8 heads
    assert pick(512) == (None, 1)  # 64 x 8 heads: 512 programs, 0.97 of 2 waves uncapped, 0.65 capped
    assert choose_launch([(None, 2, 1), (168, 2, 1)], 128, 132)[0] is None  # no more per SM: no cap
    assert wave_fill(384, 264) == Fraction(384, 528) and wave_fill(256, 264) == Fraction(256, 264)


def test_register_caps(monkeypatch):
    assert register_caps(Q.FP8) == (None, 168) and register_caps(Q.INT8) == (None, 168)
    assert register_caps(Q.PLAIN) == (None,) and register_caps(Q.INT4) == (None,)
    monkeypatch.setitem(decode_module.LAUNCH_TUNING, "maxnreg", None)
    assert register_caps(Q.FP8) == (None,)


def test_wave_splits_leaves_no_partial_wave():
    # The H200 (132 SMs) cases that rounding up to one wave got wrong: GQA fp8 at 16 sequences x
    # 8 KV heads, 2 programs per SM (264 slots): 3 splits were 384 programs, 1.45 waves; 2 fill
    # 256 of 264. MLA, 16 sequences x one 16-head tile: 17 splits were 272, 16 fill 256.
    assert wave_splits(128, 264, 64) == 2
    assert wave_splits(16, 264, 64) == 16
    assert wave_splits(32, 264, 64) == 8  # 4 x 8 heads: 9 splits would be 288 programs
    assert wave_splits(8, 264, 64) == 33  # 1 x 8 heads: 264 programs, exactly one wave
    assert wave_splits(128, 132, 64) == 2  # 1 or 2 waves of 128 in 132: equal, the larger
    assert wave_splits(8, 264, 5) == 5  # capped by the sequence's length
    assert wave_splits(1000, 264, 64) == 1
    for per in range(1, 300):
        s = wave_splits(per, 264, 64)
        programs = per * s
        waves = -(-programs // 264)
        assert 1 <= s <= max(1, -(-264 // per))
        # never worse than the old rule's count, cdiv(slots, per)
        old = max(1, min(64, -(-264 // per)))
        assert programs * (-(-per * old // 264)) * 264 >= per * old * waves * 264


# -- wrapper checks --------------------------------------------------------------------------
def _args(fmt_name="bf16"):
    q, cache, table, lens, kw = build_case(fmt_name, "tensor" if fmt_name.startswith("fp8") else None, group=2,
                                           block_size=8, seq_lens=[3, 9], seed=12)
    return dict(q=q, block_tables=table, seq_lens=lens, **cache, **kw)


@pytest.mark.parametrize(
    "mutate,exc,match",
    [
        (lambda a: a.update(q=a["q"].float()), TypeError, "q must be"),
        (lambda a: a.update(q=a["q"][:, :3]), ValueError, "not a multiple"),
        (lambda a: a.update(q=a["q"].half()), TypeError, "plain cache must have q's dtype"),
        (lambda a: a.update(block_tables=a["block_tables"].long()), TypeError, "block_tables must be torch.int32"),
        (lambda a: a.update(seq_lens=a["seq_lens"][:1]), ValueError, "one entry per sequence"),
        (lambda a: a.update(seq_lens=a["seq_lens"] * 0), ValueError, "seq_lens must be >= 1"),
        (lambda a: a.update(seq_lens=a["seq_lens"] + 40), ValueError, "block_tables has 3 blocks"),
        (lambda a: a["block_tables"].__setitem__((0, 0), 99), ValueError, "names block 99"),
        (lambda a: a.update(out=torch.empty(2, 4, 16, dtype=a["q"].dtype, device=DEVICE)), ValueError,
         "out must have shape"),
        (lambda a: a.update(num_splits=0), ValueError, "num_splits must be"),
        (lambda a: a.update(block_n=24), ValueError, "block_n must be a power of two"),
        (lambda a: a.update(v_cache=a["v_cache"][:2]), ValueError, "v_cache must"),
        (lambda a: a.update(k_scale=1.0), ValueError, "takes none"),
    ],
)
def test_wrapper_rejects_bad_inputs(mutate, exc, match):
    args = _args()
    mutate(args)
    with pytest.raises(exc, match=match):
        paged_decode_attention(**args)


def test_wrapper_rejects_other_devices():
    args = _args()
    args["block_tables"] = args["block_tables"].to("meta")
    with pytest.raises(ValueError, match="block_tables is on meta but the other inputs are on"):
        paged_decode_attention(**args)
    args = _args()
    args["q"] = args["q"].to("meta")
    with pytest.raises(ValueError, match="need CUDA tensors"):
        paged_decode_attention(**args)


def test_wrapper_rejects_bad_scales():
    args = _args("int8")
    args.pop("k_cache_scale")
    with pytest.raises(ValueError, match="needs k_cache_scale"):
        paged_decode_attention(**args)
    args = _args("int8")
    args["k_cache_scale"] = args["k_cache_scale"].double()
    with pytest.raises(TypeError, match="k_cache_scale must be torch.float32"):
        paged_decode_attention(**args)
    args = _args("fp8_e4m3")
    args["k_scale"] = torch.ones(5, device=DEVICE)
    with pytest.raises(ValueError, match="one per KV head"):
        paged_decode_attention(**args)
