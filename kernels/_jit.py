"""Triton helpers shared by the kernels: exact rounding that behaves the same on GPUs and
in the CPU interpreter, and the fp8 / int8 / int4 quantizers.

Why explicit rounding: in the Triton interpreter (triton 3.9) ``x.to(tl.bfloat16)``
truncates instead of rounding to nearest even, and ``x.to(tl.float8e4nv)`` does not
carry the rounding into the exponent (1.94 -> 1.0, not 2.0). On GPUs both are correct.
Rounding the fp32 bits first makes the final conversion exact, so kernels give the same
bits everywhere. Float -> int casts truncate toward zero, so rounding is written out.
Divisions that decide a quantized value use ``tl.math.div_rn`` (IEEE): Triton's ``/``
lowers to the approximate ``div.full.f32`` on NVIDIA GPUs.

The interpreter's ``tl.dot`` multiplies bf16 operands as their raw uint16 storage
(triton 3.9: ``create_dot`` calls numpy matmul on the bits), so kernels take an
``INTERPRET`` constexpr and ``dot`` widens both operands to fp32 there. That is the GPU's
arithmetic too: a bf16 x bf16 product is exact in fp32 and the MMA accumulates in fp32.

Only long-stable tl APIs are used (the GPU images run an older Triton).
"""

from __future__ import annotations

import triton
import triton.language as tl


def interpreted(kernel) -> bool:
    """Whether ``kernel`` runs in the Triton interpreter (decided when it was decorated)."""
    return type(kernel).__name__ == "InterpretedFunction"


@triton.jit
def dot(a, b, INTERPRET: tl.constexpr):
    """tl.dot with fp32 accumulation; operands widened to fp32 in the interpreter."""
    if INTERPRET:
        return tl.dot(a.to(tl.float32), b.to(tl.float32))
    else:
        return tl.dot(a, b)


@triton.jit
def round_to_bf16(x):
    """fp32 -> bf16, round to nearest even, exact in the interpreter and on GPUs."""
    bits = x.to(tl.int32, bitcast=True)
    bits = (bits + 0x7FFF + ((bits >> 16) & 1)) & ~0xFFFF
    return bits.to(tl.float32, bitcast=True).to(tl.bfloat16)


@triton.jit
def to_dtype(x, DTYPE: tl.constexpr):
    """fp32 -> DTYPE (bf16, fp16 or fp32) with round-to-nearest-even."""
    if DTYPE == tl.bfloat16:
        return round_to_bf16(x)
    else:
        return x.to(DTYPE)


@triton.jit
def quantize_e4m3(y):
    """fp32 -> float8e4nv: clamp to +-448, round to 3 mantissa bits (nearest even),
    subnormals (|y| < 2**-6) to multiples of 2**-9; then the conversion is exact."""
    a = tl.minimum(tl.abs(y), 448.0)
    bits = a.to(tl.int32, bitcast=True)
    bits = (bits + 0x7FFFF + ((bits >> 20) & 1)) & ~0xFFFFF
    normal = bits.to(tl.float32, bitcast=True)
    sub = (a + 16384.0) - 16384.0  # the fp32 add rounds to a multiple of 2**-9 (ulp of 16384)
    mag = tl.where(a < 0.015625, sub, normal).to(tl.float8e4nv).to(tl.uint8, bitcast=True)
    # The sign goes on as a bit, from y's own sign bit: on an H200 (Triton 3.6) a negated
    # zero came out as +0 (0x00), where torch writes -0 (0x80) for a negative y that rounds
    # to zero (docs/measurements/h200-session.md).
    neg = y.to(tl.int32, bitcast=True) < 0
    return tl.where(neg, mag | 0x80, mag).to(tl.uint8).to(tl.float8e4nv, bitcast=True)


@triton.jit
def round_half_away_i32(y):
    """trunc(y + copysign(0.5, y)) as int32 (matches quant.round_half_away)."""
    return (y + tl.where(y >= 0, 0.5, -0.5)).to(tl.int32)


@triton.jit
def quantize_int8_vector(x):
    """x: fp32 [BLOCK] (masked lanes 0) -> (int8 codes [BLOCK], fp32 scale)."""
    amax = tl.max(tl.abs(x), axis=0)
    scale = tl.math.div_rn(amax, 127.0)
    safe = tl.where(scale > 0, scale, 1.0)
    q = round_half_away_i32(tl.math.div_rn(x, safe))
    q = tl.minimum(tl.maximum(q, -127), 127)
    return q.to(tl.int8), scale


@triton.jit
def quantize_int4_groups(xe, xo):
    """Even and odd values of each group of 32, fp32 [G, 16] each (row g holds values
    32g, 32g+2, ... and 32g+1, 32g+3, ...) -> (packed uint8 [G, 16], fp16 scale [G],
    fp16 min [G])."""
    lo = tl.minimum(tl.min(xe, axis=1), tl.min(xo, axis=1))
    hi = tl.maximum(tl.max(xe, axis=1), tl.max(xo, axis=1))
    s16 = tl.math.div_rn(hi - lo, 15.0).to(tl.float16)
    m16 = lo.to(tl.float16)
    s = s16.to(tl.float32)
    m = m16.to(tl.float32)
    safe = tl.where(s > 0, s, 1.0)
    qe = (tl.math.div_rn(xe - m[:, None], safe[:, None]) + 0.5).to(tl.int32)
    qo = (tl.math.div_rn(xo - m[:, None], safe[:, None]) + 0.5).to(tl.int32)
    qe = tl.minimum(tl.maximum(qe, 0), 15)
    qo = tl.minimum(tl.maximum(qo, 0), 15)
    packed = (qe | (qo << 4)).to(tl.uint8)
    return packed, s16, m16


@triton.jit
def dot_acc(a, b, acc, INTERPRET: tl.constexpr):
    """acc + a @ b, accumulated by the MMA itself; operands widened to fp32 in the interpreter."""
    if INTERPRET:
        return tl.dot(a.to(tl.float32), b.to(tl.float32), acc)
    else:
        return tl.dot(a, b, acc)
