"""paged_kv_write: the Triton kernel writes exactly the bytes of its torch reference.

Runs on CUDA when present, else on the CPU under TRITON_INTERPRET=1 (tests/conftest.py).
What is proved, per format (bf16, fp16, fp8 per-tensor and per-head scale, int8, int4),
block size 8 and 16, a prefill chunk of ragged sequences and a decode step:
  - written slots hold the reference's bytes bit for bit (payload and scales), whatever
    the cache held before (two different poison bytes give the same written bytes, so
    every written byte was really written);
  - every other slot is unchanged, padding tokens (slot -1) included;
  - the dequantized cache is within the format's own rounding bound of the input.
Inputs are seeded random normals scaled over several magnitudes, never zeros (the zero
vector is its own test).
"""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")
pytest.importorskip("triton")

from kvplan.formats import get_format  # noqa: E402
from kvplan.kernels import quant as Q  # noqa: E402
from kvplan.kernels.cache import allocate  # noqa: E402
from kvplan.kernels.testing import poison_, ragged_block_tables, raw, slots_for  # noqa: E402
from kvplan.kernels.write import paged_kv_write, paged_kv_write_ref  # noqa: E402
from kvplan.layers import FullAttention  # noqa: E402
from kvplan.layout import layer_layout  # noqa: E402

pytestmark = pytest.mark.interpret

DEVICE = "cuda" if torch.cuda.is_available() and os.environ.get("TRITON_INTERPRET") != "1" else "cpu"

# (format name, fp8 scale mode)
CASES = [("bf16", None), ("fp16", None), ("fp8_e4m3", "tensor"), ("fp8_e4m3", "head"), ("int8", None), ("int4", None)]
SEQ_LENS = [1, 13, 24]  # ragged: one token, a non-multiple of 8 and 16, a multiple of 8


def _inputs(fmt_name, scale_mode, T, H, D, DV, seed):
    g = torch.Generator().manual_seed(seed)
    dtype = torch.float16 if fmt_name == "fp16" else torch.bfloat16
    # Magnitudes spread over ~3 orders so fp8 rounding meets normals, subnormals and clamping.
    mag = torch.exp(torch.randn(T, H, 1, generator=g) * 1.5)
    key = (torch.randn(T, H, D, generator=g) * mag).to(dtype).to(DEVICE)
    value = (torch.randn(T, H, DV, generator=g) * 2).to(dtype).to(DEVICE)
    key[1, :, 1] = -600.0  # beyond any fp8 scale used here x 448: saturates
    value[1, :, 1] = 600.0
    kw = {}
    if scale_mode == "tensor":
        kw = {"k_scale": 0.02, "v_scale": torch.tensor(0.01, device=DEVICE)}
    elif scale_mode == "head":
        kw = {"k_scale": (torch.rand(H, generator=g) * 0.05 + 0.01).to(DEVICE),
              "v_scale": (torch.rand(H, generator=g) * 0.05 + 0.01).to(DEVICE)}
    return key, value, kw


def _run_both(fmt, key, value, slots, layout, kw, poison):
    """Kernel and reference on identically poisoned caches; returns (kernel cache, ref cache)."""
    got, want = allocate(layout, DEVICE), allocate(layout, DEVICE)
    poison_(got, poison)
    poison_(want, poison)
    paged_kv_write(key, value, slot_mapping=slots, kv_format=fmt.name, **got, **kw)
    paged_kv_write_ref(key, value, slot_mapping=slots, kv_format=fmt.name, **want, **kw)
    return got, want


def _check_round_trip(fmt, x, payload, scale_tensor, fp8_scale):
    """The stored vectors dequantize to within the format's rounding bound of x."""
    x = x.to(torch.float32)
    deq = Q.dequantize(fmt, payload, scale_tensor, fp8_scale)
    err = (deq - x).abs()
    if fmt.code == Q.PLAIN:
        assert torch.equal(deq, x)  # a plain cache is a copy
    elif fmt.code == Q.FP8:
        # Saturation: |x| beyond 448 * scale stores +-448 * scale. Below it e4m3 keeps 3
        # mantissa bits: relative error <= 2**-4, plus half the subnormal step (2**-10)
        # times the scale near zero.
        limit = 448 * fp8_scale
        clamped = torch.maximum(torch.minimum(x, limit), -limit)
        assert bool((x.abs() > limit).any()), "the inputs should exercise saturation"
        assert bool(((deq - clamped).abs() <= clamped.abs() * 2**-4 + 2**-10 * fp8_scale + 1e-12).all())
    elif fmt.code == Q.INT8:
        # half a step (scale / 2) plus fp32 rounding of x / scale.
        bound = scale_tensor[..., None] * (0.5 + 1e-5)
        assert bool((err <= bound).all())
    else:
        # half a step (s / 2) plus the fp16 rounding of the minimum (half an fp16 ulp of
        # |min|, <= |min| * 2**-11) and of the scale (15 steps of s * 2**-11).
        d = x.shape[-1]
        s = scale_tensor[..., 0].to(torch.float32).repeat_interleave(32, dim=-1)
        m = scale_tensor[..., 1].to(torch.float32).abs().repeat_interleave(32, dim=-1)
        bound = s * (0.5 + 15 * 2**-11) + m * 2**-11 + 1e-6
        assert deq.shape[-1] == d and bool((err <= bound).all())


@pytest.mark.parametrize("block_size", [8, 16])
@pytest.mark.parametrize("fmt_name,scale_mode", CASES)
def test_prefill_chunk_matches_reference(fmt_name, scale_mode, block_size):
    fmt = Q.resolve_format(fmt_name, torch.empty(0, dtype=Q._FORMATS[fmt_name].cache_dtype))
    H, D, DV = 2, 64, 32
    table, lens, nb = ragged_block_tables(SEQ_LENS, block_size, spare_blocks=2,
                                          generator=torch.Generator().manual_seed(block_size))
    positions = [list(range(n)) for n in SEQ_LENS]
    slots = slots_for(table, positions, block_size)
    pad = torch.tensor([-1], dtype=torch.int64)
    slots = torch.cat([slots[:5], pad, slots[5:], pad]).to(DEVICE)  # padding tokens mid-chunk and last
    T = slots.shape[0]
    key, value, kw = _inputs(fmt_name, scale_mode, T, H, D, DV, seed=11 * block_size)
    layout = layer_layout(FullAttention(kv_heads=H, head_dim=D, v_head_dim=DV), get_format(fmt_name), nb, block_size)

    got_a, want_a = _run_both(fmt, key, value, slots, layout, kw, poison=0xAB)
    got_b, _ = _run_both(fmt, key, value, slots, layout, kw, poison=0x54)
    live = slots[slots >= 0].cpu()
    dead = torch.ones(nb * block_size, dtype=torch.bool)
    dead[live] = False
    for name in got_a:
        a, w, b = raw(got_a[name]).cpu(), raw(want_a[name]).cpu(), raw(got_b[name]).cpu()
        assert torch.equal(a, w), f"{name}: kernel bytes differ from the reference"
        rows_a = a.reshape(nb * block_size, -1)
        rows_b = b.reshape(nb * block_size, -1)
        assert torch.equal(rows_a[live], rows_b[live]), f"{name}: a written slot kept poison"
        untouched = bool((rows_a[dead] == 0xAB).all()) and bool((rows_b[dead] == 0x54).all())
        assert untouched, f"{name}: untouched slot changed"

    # Round trip: what the cache holds dequantizes back to the inputs (pads excluded).
    keep = (slots >= 0).cpu()
    live_dev = live.to(DEVICE)
    for x, cache, scale_name, fp8 in (
        (key, "k_cache", "k_cache_scale", kw.get("k_scale")),
        (value, "v_cache", "v_cache_scale", kw.get("v_scale")),
    ):
        flat = got_a[cache].reshape(nb * block_size, H, -1)[live_dev]
        sc = got_a.get(scale_name)
        sc = sc.reshape(nb * block_size, H, *sc.shape[3:])[live_dev] if sc is not None else None
        fp8_scale = Q.fp8_scale_values(fp8, H, DEVICE)[:, None] if fmt.code == Q.FP8 else None
        _check_round_trip(fmt, x[keep.to(DEVICE)], flat, sc, fp8_scale)


@pytest.mark.parametrize("fmt_name,scale_mode", CASES)
def test_decode_step_matches_reference(fmt_name, scale_mode):
    """One new token per sequence at position seq_len (a decode step), head_dim 128."""
    block_size, H, D = 16, 2, 128
    lens_after = [n + 1 for n in SEQ_LENS]
    table, lens, nb = ragged_block_tables(lens_after, block_size, generator=torch.Generator().manual_seed(3))
    slots = slots_for(table, [[n] for n in SEQ_LENS], block_size).to(DEVICE)
    key, value, kw = _inputs(fmt_name, scale_mode, len(SEQ_LENS), H, D, D, seed=5)
    layout = layer_layout(FullAttention(kv_heads=H, head_dim=D, v_head_dim=D), get_format(fmt_name), nb, block_size)
    fmt = Q.resolve_format(fmt_name, torch.empty(0, dtype=Q._FORMATS[fmt_name].cache_dtype))
    got, want = _run_both(fmt, key, value, slots, layout, kw, poison=0xFF)
    for name in got:
        assert torch.equal(raw(got[name]), raw(want[name])), name


def test_strided_inputs_and_inferred_format():
    """key/value as views of a fused qkv tensor (token stride != H * D); kv_format
    taken from the cache dtype (int8)."""
    T, H, D = 7, 2, 32
    g = torch.Generator().manual_seed(0)
    qkv = torch.randn(T, 3 * H * D, generator=g).to(torch.bfloat16).to(DEVICE)
    key = qkv[:, H * D : 2 * H * D].view(T, H, D)
    value = qkv[:, 2 * H * D :].view(T, H, D)
    assert key.stride(0) == 3 * H * D
    layout = layer_layout(FullAttention(kv_heads=H, head_dim=D, v_head_dim=D), get_format("int8"), 2, 8)
    got, want = allocate(layout, DEVICE), allocate(layout, DEVICE)
    poison_(got, 0)
    poison_(want, 0)
    slots = torch.tensor([3, 0, 15, 8, 9, 1, 2], device=DEVICE)
    paged_kv_write(key, value, slot_mapping=slots, **got)
    paged_kv_write_ref(key.contiguous(), value.contiguous(), slot_mapping=slots, **want)
    for name in got:
        assert torch.equal(raw(got[name]), raw(want[name])), name


@pytest.mark.parametrize("fmt_name", ["int8", "int4"])
def test_constant_vectors_quantize_to_zero_codes(fmt_name):
    """An all-zero head vector (int8 scale 0) and a constant group (int4 scale 0) store
    code 0 and dequantize exactly; no division by zero."""
    H, D = 1, 64
    key = torch.zeros(2, H, D, dtype=torch.bfloat16, device=DEVICE)
    key[1] = 0.75  # constant: int4 min 0.75, scale 0; int8 scale 0.75 / 127
    value = key.clone()
    layout = layer_layout(FullAttention(kv_heads=H, head_dim=D, v_head_dim=D), get_format(fmt_name), 1, 8)
    got = allocate(layout, DEVICE)
    poison_(got, 0xFF)
    paged_kv_write(key, value, slot_mapping=torch.tensor([0, 1], device=DEVICE), **got)
    fmt = Q.resolve_format(fmt_name, got["k_cache"])
    deq = Q.dequantize(fmt, got["k_cache"][0, :2], got["k_cache_scale"][0, :2])
    assert torch.equal(deq, key.to(torch.float32)), deq
    if fmt_name == "int4":
        assert torch.equal(raw(got["k_cache"][0, :2]), torch.zeros_like(raw(got["k_cache"][0, :2])))


def test_fp8_zero_keeps_its_sign():
    """A value that rounds to zero in fp8 keeps its sign: -0.0 and tiny negatives store
    0x80, +0.0 and tiny positives 0x00, as torch's conversion does. On an H200 the kernel
    once stored +0 for tiny negatives (docs/measurements/h200-session.md); -0.0 itself came
    out +0 everywhere, since the old code took the sign from y < 0."""
    H, D = 1, 16
    vals = [-0.0, 0.0, -1e-6, 1e-6, -2.0**-12, 2.0**-12, -3.0, 3.0] * 2
    key = torch.tensor(vals, dtype=torch.float32).reshape(1, H, D).to(torch.bfloat16).to(DEVICE)
    layout = layer_layout(FullAttention(kv_heads=H, head_dim=D, v_head_dim=D), get_format("fp8_e4m3"), 1, 8)
    got, want = allocate(layout, DEVICE), allocate(layout, DEVICE)
    poison_(got, 0x11)
    poison_(want, 0x22)
    slots = torch.tensor([0], device=DEVICE)
    paged_kv_write(key, key, slot_mapping=slots, k_scale=0.5, v_scale=0.5, **got)
    paged_kv_write_ref(key, key, slot_mapping=slots, k_scale=0.5, v_scale=0.5, **want)
    codes = raw(got["k_cache"][0, 0, 0]).cpu().tolist()
    assert codes[:6] == [0x80, 0x00, 0x80, 0x00, 0x80, 0x00], codes
    assert torch.equal(raw(got["k_cache"][0, :1]), raw(want["k_cache"][0, :1]))


@settings(max_examples=200, deadline=None)
@given(a=st.floats(-1e30, 1e30, allow_nan=False), b=st.sampled_from([127, 15, 3.0, 0.02, 1e-3]))
def test_property_ieee_div_is_the_correctly_rounded_quotient(a, b):
    """Q.ieee_div gives the fp32 nearest (ties to even) to the exact quotient, by exact
    rational arithmetic: what the kernels' div_rn computes, whatever the device does with
    a division by a Python number (torch on CUDA multiplies by a rounded reciprocal)."""
    from fractions import Fraction

    import numpy as np

    a = float(np.float32(a))
    exact = Fraction(a) / Fraction(float(np.float32(b)))
    got = float(Q.ieee_div(torch.tensor([a], dtype=torch.float32, device=DEVICE), b)[0])
    near = np.float32(float(exact))
    candidates = [np.nextafter(near, np.float32(-np.inf)), near, np.nextafter(near, np.float32(np.inf))]
    best = min(candidates, key=lambda v: (abs(Fraction(float(v)) - exact), int(v.view(np.int32)) & 1))
    assert got == float(best), (a, b, got, float(best))


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    groups=st.integers(1, 4),
    log_scale=st.floats(-6, 6),
    offset=st.floats(-10, 10),
)
def test_property_reference_quantizers_round_trip(seed, groups, log_scale, offset):
    """For any vector: int4 codes pack and unpack losslessly and dequantize within half a
    step (plus fp16 rounding of scale and min); int8 within half a step. (Pure torch: the
    kernels are held to these same references bit for bit above.)"""
    g = torch.Generator().manual_seed(seed)
    x = (torch.randn(3, 32 * groups, generator=g) * 2.0**log_scale + offset).to(torch.bfloat16)
    fmt4 = Q.resolve_format("int4", torch.empty(0, dtype=torch.uint8))
    packed, sm = Q.quantize_int4(x)
    codes = Q.unpack_int4(packed)
    assert int(codes.max()) <= 15 and torch.equal(codes[..., 0::2] | (codes[..., 1::2] << 4), packed)
    _check_round_trip(fmt4, x, packed, sm, None)
    fmt8 = Q.resolve_format("int8", torch.empty(0, dtype=torch.int8))
    q8, s8 = Q.quantize_int8(x)
    assert int(q8.abs().max()) <= 127
    _check_round_trip(fmt8, x, q8, s8, None)


# -- wrapper checks --------------------------------------------------------------------------
def _small(fmt_name="bf16", H=2, D=32, nb=2, bs=8):
    layout = layer_layout(FullAttention(kv_heads=H, head_dim=D, v_head_dim=D), get_format(fmt_name), nb, bs)
    cache = allocate(layout, DEVICE)
    dtype = torch.float16 if fmt_name == "fp16" else torch.bfloat16
    key = torch.randn(3, H, D).to(dtype).to(DEVICE)
    return key, key.clone(), cache, torch.tensor([0, 1, 2], device=DEVICE)


@pytest.mark.parametrize(
    "mutate,exc,match",
    [
        (lambda a: a.update(key=a["key"].float()), TypeError, "key must be"),
        (lambda a: a.update(value=a["value"][:, :1]), ValueError, "value must have shape"),
        (lambda a: a.update(k_cache=a["k_cache"][:, :, :1].contiguous()), ValueError, "k_cache must have shape"),
        (lambda a: a.update(k_cache=a["k_cache"].transpose(0, 1)), ValueError, "k_cache must be contiguous"),
        (lambda a: a.update(slot_mapping=a["slot_mapping"][:2]), ValueError, "one slot per token"),
        (lambda a: a.update(slot_mapping=a["slot_mapping"].float()), TypeError, "slot_mapping must be"),
        (lambda a: a.update(slot_mapping=a["slot_mapping"] + 14), ValueError, "only 16 slots"),
        (lambda a: a.update(kv_format="q4_0"), ValueError, "not implemented by the kernels"),
        (lambda a: a.update(kv_format="int9"), ValueError, "unknown kv format"),
        (lambda a: a.update(kv_format="fp8"), TypeError, "must be torch.float8_e4m3fn"),
        (lambda a: a.update(k_scale=0.5), ValueError, "takes none"),
        (lambda a: a.update(k_cache_scale=a["k_cache"]), ValueError, "only used by the int8 and int4"),
        (lambda a: a.update(key=a["key"].half()), TypeError, "plain bf16 cache"),
    ],
)
def test_wrapper_rejects_bad_inputs(mutate, exc, match):
    key, value, cache, slots = _small()
    args = dict(key=key, value=value, slot_mapping=slots, **cache)
    mutate(args)
    with pytest.raises(exc, match=match):
        paged_kv_write(**args)


def test_wrapper_rejects_missing_scales_and_bad_fp8_scale():
    key, value, cache, slots = _small("int8")
    del cache["v_cache_scale"]
    with pytest.raises(ValueError, match="needs v_cache_scale"):
        paged_kv_write(key, value, slot_mapping=slots, **cache)
    key, value, cache, slots = _small("fp8_e4m3")
    with pytest.raises(ValueError, match=r"shape \(2,\)"):
        paged_kv_write(key, value, slot_mapping=slots, k_scale=torch.ones(3, device=DEVICE), **cache)
    with pytest.raises(ValueError, match="positive finite"):
        paged_kv_write(key, value, slot_mapping=slots, k_scale=0.0, **cache)


def test_int4_needs_whole_groups():
    layout = layer_layout(FullAttention(kv_heads=1, head_dim=32, v_head_dim=32), get_format("int4"), 1, 8)
    cache = allocate(layout, DEVICE)
    key = torch.randn(1, 1, 48).to(torch.bfloat16).to(DEVICE)
    with pytest.raises(ValueError, match="groups of 32"):
        paged_kv_write(key, key, slot_mapping=torch.zeros(1, dtype=torch.int64, device=DEVICE), **cache)


def test_cpu_tensors_need_the_interpreter(monkeypatch):
    if DEVICE != "cpu":
        pytest.skip("CPU-only check")
    key, value, cache, slots = _small()
    monkeypatch.setenv("TRITON_INTERPRET", "0")
    with pytest.raises(ValueError, match="TRITON_INTERPRET=1"):
        paged_kv_write(key, value, slot_mapping=slots, **cache)
