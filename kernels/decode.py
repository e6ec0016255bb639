"""paged_decode_attention: one query token per sequence against a paged KV cache.

Design (DESIGN.md "Kernels", the FlashInfer / SGLang decode practice):
  grid (batch, kv_head, split). A program loads the whole GQA group of query heads of its
  KV head (padded to at least 16 rows so ``tl.dot`` is legal; padding rows are masked on
  store), walks its share of the sequence in tiles of BLOCK_N tokens through the block
  table, and keeps an fp32 online softmax (base 2, the softmax scale folded with log2 e).
  With one split it writes the output directly; otherwise it writes a partial output and
  its log-sum-exp, and ``_merge_kernel`` combines the splits.

  Built for the bandwidth roof (the SASS per tile: python -m kvplan.kernels.compile_check --sass):
  - the block-table entries of the next tile are loaded one iteration ahead, so a tile's
    K/V addresses depend only on loop-carried values and the software pipeliner keeps
    two K/V tiles in flight (cp.async into shared memory, num_stages 3);
  - full tiles load without masks; only the last, partial tile of a split is masked;
  - cache offsets are int32 arithmetic (int64 only for caches of 2**31 elements or more),
    head dims and head counts are compile-time constants, the head's base pointer is
    hoisted out of the loop;
  - dequantization is folded: fp8 e4m3 converts straight to fp16 (one cvt per 2 values,
    no e4m3 -> f16 -> bf16 detour) and both dots run in fp16, with bf16 queries scaled by
    an exact power of two into fp16's range and k_scale folded into the softmax scale,
    v_scale into the output; int8 codes convert exactly to the query dtype, the per-token
    K scale joins the softmax scale in one multiply per token and the V scale goes on the
    probabilities; int4 nibbles become fp16 by bit operations and one fp16 FMA applies
    scale and minimum, and the dot products split into even and odd head-dim halves;
  - with ``num_splits`` unset, the split count fills one wave of the GPU at the compiled
    kernel's real occupancy (registers per thread, shared memory, warps: occupancy.py).

Each sequence's tokens are split evenly: split s covers [s * c, min((s + 1) * c, len))
with c = cdiv(cdiv(len, num_splits), BLOCK_N) * BLOCK_N; empty splits write lse = -inf
and weigh nothing in the merge. The split count is a run-time argument (one compiled
kernel serves every split count above 1).
"""

from __future__ import annotations

import math
from fractions import Fraction

import torch
import triton
import triton.language as tl

from kvplan.kernels import quant as Q
from kvplan.kernels._jit import dot, dot_acc, interpreted, to_dtype

LOG2E = 1.4426950408889634  # log2(e): exp(x) = exp2(x * log2(e))
MAX_SPLITS = 64
#: Element offsets into a cache tensor are computed in int32 when the tensor has fewer
#: elements than this, else in int64 (the OFF64 constexpr).
INT32_ELEMENTS = 2**31


@triton.jit
def _split_range(len_ptr, b, s, num_splits, BLOCK_N: tl.constexpr):
    """Tokens [lo, hi) of split ``s`` of sequence ``b`` (hi == lo: an empty split)."""
    L = tl.load(len_ptr + b)
    chunk = tl.cdiv(tl.cdiv(L, num_splits), BLOCK_N) * BLOCK_N
    lo = s * chunk
    hi = tl.maximum(tl.minimum(lo + chunk, L), lo)
    return lo, hi


@triton.jit
def _slots(bt_row_ptr, start, hi, BLOCK_N: tl.constexpr, BLOCK_SIZE: tl.constexpr, OFF64: tl.constexpr):
    """Cache slots (block * BLOCK_SIZE + offset) of tokens [start, start + BLOCK_N), int32
    (int64 with OFF64). Tokens at or past ``hi`` read no table entry and get a slot in
    block 0 (their cache loads are masked)."""
    t = start + tl.arange(0, BLOCK_N)
    page = tl.load(bt_row_ptr + t // BLOCK_SIZE, mask=t < hi, other=0)
    if OFF64:
        page = page.to(tl.int64)
    return page * BLOCK_SIZE + t % BLOCK_SIZE


@triton.jit
def _pow2_prescale(amax):
    """2**-k (exact, fp32) for the smallest k >= 0 with amax * 2**-k < 2**15: queries
    scaled by it convert from bf16 to fp16 without overflow (and exactly, for values
    above fp16's normal range 2**-14)."""
    e = (amax.to(tl.int32, bitcast=True) >> 23) & 0xFF  # biased exponent of amax
    k = tl.maximum(e - (127 + 14), 0)
    return ((127 - k) << 23).to(tl.float32, bitcast=True)


@triton.jit
def _load_codes(ptr, mask, USE_MASK: tl.constexpr, FMT: tl.constexpr, DOT_DTYPE: tl.constexpr,
                INTERPRET: tl.constexpr):
    """A plain / fp8 / int8 cache tile as DOT_DTYPE (exact: fp8 e4m3 -> fp16 directly,
    int8 -> bf16 or fp16; the interpreter casts int8 -> bf16 bits wrongly, so it goes
    through fp32 there)."""
    if USE_MASK:
        if FMT == 1:  # the interpreter cannot cast `other` to fp8: zero after converting
            x = tl.where(mask, tl.load(ptr, mask=mask).to(DOT_DTYPE), 0.0)
        else:
            x = tl.load(ptr, mask=mask, other=0)
    else:
        x = tl.load(ptr)
    if FMT == 2 and INTERPRET:
        x = x.to(tl.float32)
    return x.to(DOT_DTYPE)


@triton.jit
def _softmax_step(s, m_i, l_i):
    """Online softmax over one tile of base-2 scores: (p, alpha, new max, new sum)."""
    m_new = tl.maximum(m_i, tl.max(s, axis=1))
    alpha = tl.exp2(m_i - m_new)
    p = tl.exp2(s - m_new[:, None])
    return p, alpha, m_new, l_i * alpha + tl.sum(p, axis=1)


@triton.jit
def _tile_vec(
    q, acc, m_i, l_i, slot, start, hi, kc_h, vc_h, kcs_h, vcs_h, qk_scale,
    HKV: tl.constexpr, D: tl.constexpr, DV: tl.constexpr, FMT: tl.constexpr, DOT_DTYPE: tl.constexpr,
    BLOCK_D: tl.constexpr, BLOCK_DV: tl.constexpr, BLOCK_N: tl.constexpr, MASKED: tl.constexpr,
    INTERPRET: tl.constexpr,
):
    """One tile of BLOCK_N tokens (slots ``slot``) for plain, fp8 and int8 caches.
    ``kc_h``/``vc_h`` point at this KV head's first vector; MASKED: the tile may end past
    ``hi`` (the last, partial tile; full tiles load without masks)."""
    d = tl.arange(0, BLOCK_D)
    dv = tl.arange(0, BLOCK_DV)
    tmask = start + tl.arange(0, BLOCK_N) < hi
    k = _load_codes(kc_h + (slot * (HKV * D))[None, :] + d[:, None], (d[:, None] < D) & tmask[None, :],
                    MASKED or D != BLOCK_D, FMT, DOT_DTYPE, INTERPRET)  # K^T [BLOCK_D, BLOCK_N]
    s = dot(q, k, INTERPRET)  # [GP, BLOCK_N] fp32
    if FMT == 2:  # int8: the per-token scale and the softmax scale in one multiply per token
        if MASKED:
            ks = tl.load(kcs_h + slot * HKV, mask=tmask, other=0.0)
        else:
            ks = tl.load(kcs_h + slot * HKV)
        s = s * (ks * qk_scale)[None, :]
    else:
        s = s * qk_scale
    if MASKED:
        s = tl.where(tmask[None, :], s, float("-inf"))
    p, alpha, m_i, l_i = _softmax_step(s, m_i, l_i)
    v = _load_codes(vc_h + (slot * (HKV * DV))[:, None] + dv[None, :], tmask[:, None] & (dv[None, :] < DV),
                    MASKED or DV != BLOCK_DV, FMT, DOT_DTYPE, INTERPRET)  # [BLOCK_N, BLOCK_DV]
    if FMT == 2:  # int8: the per-token V scale goes on the probabilities
        if MASKED:
            p = p * tl.load(vcs_h + slot * HKV, mask=tmask, other=0.0)[None, :]
        else:
            p = p * tl.load(vcs_h + slot * HKV)[None, :]
    acc = dot_acc(to_dtype(p, DOT_DTYPE), v, acc * alpha[:, None], INTERPRET)
    return acc, m_i, l_i


@triton.jit
def _int4_halves(codes_h, scale_h, slot, tmask, HKV: tl.constexpr, HALF: tl.constexpr, TRANS: tl.constexpr,
                 BLOCK_J: tl.constexpr, BLOCK_N: tl.constexpr, USE_MASK: tl.constexpr):
    """A dequantized int4 tile as fp16 (even, odd) halves: [BLOCK_J, BLOCK_N] when TRANS
    (K^T for the score dot), else [BLOCK_N, BLOCK_J] (V). Byte j of a vector holds values
    2j (low nibble) and 2j + 1; its group is j // 16. A nibble c becomes fp16 exactly as
    bits(0x6400 | c) - 1024 (0x6400 is 1024.0), then c * scale + min in one fp16 FMA
    (scale and min are stored as fp16; one rounding, to fp16's 11 bits)."""
    j = tl.arange(0, BLOCK_J)
    g = tl.arange(0, BLOCK_J // 16)
    if TRANS:
        cptr = codes_h + (slot * (HKV * HALF))[None, :] + j[:, None]
        cmask = (j[:, None] < HALF) & tmask[None, :]
        sptr = scale_h + (slot * (HKV * (HALF // 8)))[None, :] + 2 * g[:, None]  # [groups, BLOCK_N]
        smask = (g[:, None] < HALF // 16) & tmask[None, :]
    else:
        cptr = codes_h + (slot * (HKV * HALF))[:, None] + j[None, :]
        cmask = tmask[:, None] & (j[None, :] < HALF)
        sptr = scale_h + (slot * (HKV * (HALF // 8)))[:, None] + 2 * g[None, :]  # [BLOCK_N, groups]
        smask = tmask[:, None] & (g[None, :] < HALF // 16)
    if USE_MASK:
        b = tl.load(cptr, mask=cmask, other=0)
        sc = tl.load(sptr, mask=smask, other=0.0)
        mn = tl.load(sptr + 1, mask=smask, other=0.0)
    else:
        b = tl.load(cptr)
        sc = tl.load(sptr)
        mn = tl.load(sptr + 1)
    if TRANS:
        sc = tl.reshape(tl.broadcast_to(sc[:, None, :], (BLOCK_J // 16, 16, BLOCK_N)), (BLOCK_J, BLOCK_N))
        mn = tl.reshape(tl.broadcast_to(mn[:, None, :], (BLOCK_J // 16, 16, BLOCK_N)), (BLOCK_J, BLOCK_N))
    else:
        sc = tl.reshape(tl.broadcast_to(sc[:, :, None], (BLOCK_N, BLOCK_J // 16, 16)), (BLOCK_N, BLOCK_J))
        mn = tl.reshape(tl.broadcast_to(mn[:, :, None], (BLOCK_N, BLOCK_J // 16, 16)), (BLOCK_N, BLOCK_J))
    lo = ((b & 15).to(tl.int16) | 0x6400).to(tl.float16, bitcast=True) - 1024.0
    hi = ((b >> 4).to(tl.int16) | 0x6400).to(tl.float16, bitcast=True) - 1024.0
    return lo * sc + mn, hi * sc + mn


@triton.jit
def _tile_int4(
    qe, qo, acc_e, acc_o, m_i, l_i, slot, start, hi, kc_h, vc_h, kcs_h, vcs_h, qk_scale,
    HKV: tl.constexpr, D: tl.constexpr, DV: tl.constexpr, BLOCK_D2: tl.constexpr, BLOCK_DV2: tl.constexpr,
    BLOCK_N: tl.constexpr, MASKED: tl.constexpr, INTERPRET: tl.constexpr,
):
    """One tile for int4 caches; K and V dequantized in fp16, outputs in even/odd halves."""
    tmask = start + tl.arange(0, BLOCK_N) < hi
    ke, ko = _int4_halves(kc_h, kcs_h, slot, tmask, HKV, D // 2, True, BLOCK_D2, BLOCK_N,
                          MASKED or D // 2 != BLOCK_D2)
    s = dot_acc(qo, ko, dot(qe, ke, INTERPRET), INTERPRET) * qk_scale
    if MASKED:
        s = tl.where(tmask[None, :], s, float("-inf"))
    p, alpha, m_i, l_i = _softmax_step(s, m_i, l_i)
    ve, vo = _int4_halves(vc_h, vcs_h, slot, tmask, HKV, DV // 2, False, BLOCK_DV2, BLOCK_N,
                          MASKED or DV // 2 != BLOCK_DV2)
    pf = p.to(tl.float16)
    acc_e = dot_acc(pf, ve, acc_e * alpha[:, None], INTERPRET)
    acc_o = dot_acc(pf, vo, acc_o * alpha[:, None], INTERPRET)
    return acc_e, acc_o, m_i, l_i


@triton.jit
def _epilogue(
    acc, m_i, l_i, v_scale, qh, rmask, cols, cmask, b, s, num_splits, out_ptr, o_stride_b, o_stride_h, po_ptr,
    plse_ptr, HQ, DV, SPLIT: tl.constexpr, OUT_DTYPE: tl.constexpr,
):
    """Normalise and store: the output (one split) or the partial output + lse."""
    l_safe = tl.where(l_i > 0, l_i, 1.0)
    o = acc * (v_scale / l_safe)[:, None]
    mask = rmask[:, None] & cmask[None, :]
    if SPLIT:
        base = (b * HQ + qh).to(tl.int64) * num_splits + s
        tl.store(po_ptr + base[:, None] * DV + cols[None, :], o, mask=mask)
        lse = tl.where(l_i > 0, m_i + tl.log2(l_safe), float("-inf"))
        tl.store(plse_ptr + base, lse, mask=rmask)
    else:
        ptrs = out_ptr + b.to(tl.int64) * o_stride_b + qh[:, None] * o_stride_h + cols[None, :]
        tl.store(ptrs, to_dtype(o, OUT_DTYPE), mask=mask)


@triton.jit(do_not_specialize=["num_splits"])  # one binary for every split count
def _decode_kernel(
    q_ptr, kc_ptr, vc_ptr, kcs_ptr, vcs_ptr, ks_ptr, vs_ptr, bt_ptr, len_ptr, out_ptr, po_ptr, plse_ptr,
    qk_scale, q_stride_b, q_stride_h, o_stride_b, o_stride_h, bt_stride, ks_stride, vs_stride, num_splits,
    HQ: tl.constexpr, HKV: tl.constexpr, GROUP: tl.constexpr, D: tl.constexpr, DV: tl.constexpr,
    FMT: tl.constexpr, Q_DTYPE: tl.constexpr, DOT_DTYPE: tl.constexpr, GP: tl.constexpr, BLOCK_D: tl.constexpr,
    BLOCK_DV: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_SIZE: tl.constexpr, SPLIT: tl.constexpr,
    OFF64: tl.constexpr, INTERPRET: tl.constexpr,
):
    b = tl.program_id(0)
    h = tl.program_id(1)
    s = tl.program_id(2)
    lo, hi = _split_range(len_ptr, b, s, num_splits, BLOCK_N)
    end = lo + (hi - lo) // BLOCK_N * BLOCK_N  # full tiles run unmasked up to here
    r = tl.arange(0, GP)
    rmask = r < GROUP
    qh = h * GROUP + r
    scale = qk_scale
    v_scale = 1.0
    if FMT == 1:  # fp8: fold k_scale into the softmax scale, v_scale into the output
        scale = qk_scale * tl.load(ks_ptr + h * ks_stride)
        v_scale = tl.load(vs_ptr + h * vs_stride)
    q_row = q_ptr + b.to(tl.int64) * q_stride_b + qh[:, None] * q_stride_h
    bt_row = bt_ptr + b.to(tl.int64) * bt_stride
    m_i = tl.full([GP], float("-inf"), tl.float32)
    l_i = tl.zeros([GP], tl.float32)
    # The next tile's slots are loaded one iteration ahead: the K/V loads of a tile depend
    # only on loop-carried values, so the pipeliner can keep two tiles in flight.
    nxt = _slots(bt_row, lo, hi, BLOCK_N, BLOCK_SIZE, OFF64)
    if FMT == 3:
        j = tl.arange(0, BLOCK_D // 2)
        qmask = rmask[:, None] & (j[None, :] < D // 2)
        qe = tl.load(q_row + 2 * j[None, :], mask=qmask, other=0.0).to(tl.float32)
        qo = tl.load(q_row + 2 * j[None, :] + 1, mask=qmask, other=0.0).to(tl.float32)
        inv = _pow2_prescale(tl.maximum(tl.max(tl.max(tl.abs(qe), axis=1), axis=0),
                                        tl.max(tl.max(tl.abs(qo), axis=1), axis=0)))
        qe = (qe * inv).to(tl.float16)
        qo = (qo * inv).to(tl.float16)
        scale = tl.math.div_rn(scale, inv)
        kc_h = kc_ptr + h * (D // 2)
        vc_h = vc_ptr + h * (DV // 2)
        kcs_h = kcs_ptr + h * (D // 16)  # (scale, min) pairs of D / 32 groups
        vcs_h = vcs_ptr + h * (DV // 16)
        acc_e = tl.zeros([GP, BLOCK_DV // 2], tl.float32)
        acc_o = tl.zeros([GP, BLOCK_DV // 2], tl.float32)
        if INTERPRET:  # triton 3.6's interpreter cannot take loaded loop bounds in range()
            start = lo
            while start < end:
                cur = nxt
                nxt = _slots(bt_row, start + BLOCK_N, hi, BLOCK_N, BLOCK_SIZE, OFF64)
                acc_e, acc_o, m_i, l_i = _tile_int4(qe, qo, acc_e, acc_o, m_i, l_i, cur, start, hi, kc_h, vc_h,
                                                    kcs_h, vcs_h, scale, HKV, D, DV, BLOCK_D // 2, BLOCK_DV // 2,
                                                    BLOCK_N, False, INTERPRET)
                start += BLOCK_N
        else:
            for start in range(lo, end, BLOCK_N):
                cur = nxt
                nxt = _slots(bt_row, start + BLOCK_N, hi, BLOCK_N, BLOCK_SIZE, OFF64)
                acc_e, acc_o, m_i, l_i = _tile_int4(qe, qo, acc_e, acc_o, m_i, l_i, cur, start, hi, kc_h, vc_h,
                                                    kcs_h, vcs_h, scale, HKV, D, DV, BLOCK_D // 2, BLOCK_DV // 2,
                                                    BLOCK_N, False, INTERPRET)
        if end < hi:
            acc_e, acc_o, m_i, l_i = _tile_int4(qe, qo, acc_e, acc_o, m_i, l_i, nxt, end, hi, kc_h, vc_h, kcs_h,
                                                vcs_h, scale, HKV, D, DV, BLOCK_D // 2, BLOCK_DV // 2, BLOCK_N,
                                                True, INTERPRET)
        jv = tl.arange(0, BLOCK_DV // 2)
        jvmask = jv < DV // 2
        _epilogue(acc_e, m_i, l_i, v_scale, qh, rmask, 2 * jv, jvmask, b, s, num_splits, out_ptr, o_stride_b,
                  o_stride_h, po_ptr, plse_ptr, HQ, DV, SPLIT, Q_DTYPE)
        _epilogue(acc_o, m_i, l_i, v_scale, qh, rmask, 2 * jv + 1, jvmask, b, s, num_splits, out_ptr, o_stride_b,
                  o_stride_h, po_ptr, plse_ptr, HQ, DV, SPLIT, Q_DTYPE)
    else:
        d = tl.arange(0, BLOCK_D)
        q = tl.load(q_row + d[None, :], mask=rmask[:, None] & (d[None, :] < D), other=0.0)
        if DOT_DTYPE != Q_DTYPE:  # bf16 queries against fp16 operands (fp8 cache)
            qf = q.to(tl.float32)
            inv = _pow2_prescale(tl.max(tl.max(tl.abs(qf), axis=1), axis=0))
            q = (qf * inv).to(DOT_DTYPE)
            scale = tl.math.div_rn(scale, inv)
        kc_h = kc_ptr + h * D
        vc_h = vc_ptr + h * DV
        kcs_h = kcs_ptr + h
        vcs_h = vcs_ptr + h
        acc = tl.zeros([GP, BLOCK_DV], tl.float32)
        if INTERPRET:  # triton 3.6's interpreter cannot take loaded loop bounds in range()
            start = lo
            while start < end:
                cur = nxt
                nxt = _slots(bt_row, start + BLOCK_N, hi, BLOCK_N, BLOCK_SIZE, OFF64)
                acc, m_i, l_i = _tile_vec(q, acc, m_i, l_i, cur, start, hi, kc_h, vc_h, kcs_h, vcs_h, scale, HKV,
                                          D, DV, FMT, DOT_DTYPE, BLOCK_D, BLOCK_DV, BLOCK_N, False, INTERPRET)
                start += BLOCK_N
        else:
            for start in range(lo, end, BLOCK_N):
                cur = nxt
                nxt = _slots(bt_row, start + BLOCK_N, hi, BLOCK_N, BLOCK_SIZE, OFF64)
                acc, m_i, l_i = _tile_vec(q, acc, m_i, l_i, cur, start, hi, kc_h, vc_h, kcs_h, vcs_h, scale, HKV,
                                          D, DV, FMT, DOT_DTYPE, BLOCK_D, BLOCK_DV, BLOCK_N, False, INTERPRET)
        if end < hi:
            acc, m_i, l_i = _tile_vec(q, acc, m_i, l_i, nxt, end, hi, kc_h, vc_h, kcs_h, vcs_h, scale, HKV, D, DV,
                                      FMT, DOT_DTYPE, BLOCK_D, BLOCK_DV, BLOCK_N, True, INTERPRET)
        dv = tl.arange(0, BLOCK_DV)
        _epilogue(acc, m_i, l_i, v_scale, qh, rmask, dv, dv < DV, b, s, num_splits, out_ptr, o_stride_b, o_stride_h,
                  po_ptr, plse_ptr, HQ, DV, SPLIT, Q_DTYPE)


@triton.jit(do_not_specialize=["num_splits"])  # one binary for every split count
def _merge_kernel(
    po_ptr, plse_ptr, out_ptr, o_stride_b, o_stride_h, num_splits, HQ, DV,
    BLOCK_S: tl.constexpr, BLOCK_DV: tl.constexpr, OUT_DTYPE: tl.constexpr,
):
    """out[b, hq] = sum_s w_s * o_s / sum_s w_s with w_s = 2 ** (lse_s - max lse)."""
    b = tl.program_id(0)
    hq = tl.program_id(1)
    sidx = tl.arange(0, BLOCK_S)
    smask = sidx < num_splits
    base = (b * HQ + hq).to(tl.int64) * num_splits
    lse = tl.load(plse_ptr + base + sidx, mask=smask, other=float("-inf"))
    w = tl.exp2(lse - tl.max(lse, axis=0))  # empty splits (lse = -inf) weigh 0
    dv = tl.arange(0, BLOCK_DV)
    dvmask = dv < DV
    o = tl.load(po_ptr + (base + sidx)[:, None] * DV + dv[None, :], mask=smask[:, None] & dvmask[None, :], other=0.0)
    out = tl.sum(o * w[:, None], axis=0) / tl.sum(w, axis=0)
    tl.store(out_ptr + b.to(tl.int64) * o_stride_b + hq * o_stride_h + dv, to_dtype(out, OUT_DTYPE), mask=dvmask)


# -- host side -----------------------------------------------------------------------------
_TL_DTYPES = {torch.bfloat16: tl.bfloat16, torch.float16: tl.float16}


def dot_dtype(fmt_code: int, q_tl):
    """The operand dtype of the kernels' dots for a cache format: fp16 for fp8 (e4m3
    converts to it in one instruction per two values) and int4 (nibbles become fp16 by bit
    operations); the query's dtype for plain and int8 caches (int8 codes are exact in
    either)."""
    return tl.float16 if fmt_code in (Q.FP8, Q.INT4) else q_tl


def merge_splits(part_o: torch.Tensor, part_lse: torch.Tensor, out: torch.Tensor, num_splits: int) -> None:
    """Combine split partials [B, Hq, S, Dv] fp32 + lse [B, Hq, S] into ``out`` [B, Hq, Dv]."""
    B, HQ, _, DV = part_o.shape
    _merge_kernel[(B, HQ)](
        part_o, part_lse, out, out.stride(0), out.stride(1), num_splits, HQ, DV,
        BLOCK_S=max(2, triton.next_power_of_2(num_splits)), BLOCK_DV=triton.next_power_of_2(DV),
        OUT_DTYPE=_TL_DTYPES[out.dtype], num_warps=1 if DV <= 128 else 4,
    )


#: Shared memory of one program with 128-token tiles at head dim 128, per format (two K/V
#: tiles in flight; compile_check for sm_80, sm_89 and sm_90 alike, triton 3.9): plain bf16 /
#: fp16 139,264 B, fp8 73,728, int8 75,776, int4 40,960. With 64-token tiles every format
#: needs at most 71,680 B.
WIDE_TILE_SHARED_BYTES = {Q.PLAIN: 139_264, Q.FP8: 73_728, Q.INT8: 75_776, Q.INT4: 40_960}


def default_block_n(device: torch.device, head_dim: int, fmt_code: int = Q.PLAIN) -> int:
    """Tokens per tile on GPUs: 128 for head dims up to 128 where the GPU gives a program the
    shared memory (WIDE_TILE_SHARED_BYTES; else 64), 32 for wider heads; 16 in the interpreter.

    128 from a sweep on an NVIDIA H200 (Triton 3.6; docs/measurements/h200-session.md): a
    llama3-8b layer at 16 x 32k with the default splits reads at 97 / 67 / 60 / 19% of the
    read roof (bf16 / fp8 / int8 / int4) with 128-token tiles, 87 / 58 / 56 / 15% with 64
    and 73 / 44 / 39 / 13% with 32; with the wave-filling split counts (wave_splits) 128 still
    beat 64 for fp8, int8 and int4 at seven shapes from 1 x 32k to 128 x 1k; bf16 lost at 128 x 1k
    (85.9 against 93.4%) and by at most 1.4 points at 16 x 8k and 16 x 32k
    (docs/measurements/h200-s2-tile-verify.json). Plain caches at 128 need 136 KiB, more than the 99 KiB
    a program gets on sm_86, sm_89 and sm_120 (A10, L4, RTX 4090 and 5090): 64 there. Head
    dims over 128 were not measured."""
    if device.type != "cuda":
        return 16
    if head_dim > 128:
        return 32
    return 128 if WIDE_TILE_SHARED_BYTES.get(fmt_code, WIDE_TILE_SHARED_BYTES[Q.PLAIN]) <= block_shared_bytes(
        device) else 64


def block_shared_bytes(device: torch.device) -> int:
    """The most shared memory one program may take on ``device`` (the opt-in limit)."""
    props = torch.cuda.get_device_properties(device)
    limit = getattr(props, "shared_memory_per_block_optin", None)
    if limit:
        return int(limit)
    # CUDA programming guide, compute capabilities table: 227 KiB on 9.0 and 10.x, 163 KiB on
    # 8.0 and 8.7, 99 KiB on 8.6, 8.9 and 12.x, 64 KiB on 7.5
    cc = (props.major, props.minor)
    if props.major in (9, 10):
        return 227 * 1024
    if cc in ((8, 0), (8, 7)):
        return 163 * 1024
    return 64 * 1024 if cc == (7, 5) else 99 * 1024


#: Launch settings a benchmark may override (benchmarks/tile_sweep.py): ``num_warps`` and
#: ``num_stages`` of the decode kernels (GQA here, MLA in kvplan.kernels.mla), and ``maxnreg``
#: of the GQA kernel (ptxas's register cap per thread; None: no cap; see register_caps). Empty:
#: the defaults below.
LAUNCH_TUNING: dict = {}


def launch_settings(default_warps: int) -> dict:
    """``num_warps`` (and ``num_stages`` when overridden) for a decode launch."""
    out = {"num_warps": LAUNCH_TUNING.get("num_warps", default_warps)}
    if "num_stages" in LAUNCH_TUNING:
        out["num_stages"] = LAUNCH_TUNING["num_stages"]
    return out


#: A register cap per thread that GQA decode may launch fp8 and int8 caches with. Uncapped
#: they compile to 247-255 registers, two 4-warp programs per SM; at 168 ptxas spills nothing
#: in the token loop (compile_check, sm_90) and three fit. On an H200 (Triton 3.6,
#: docs/measurements/h200-session2.md) 168 took fp8 at 16 x 32k from 73.1 to 79.6% of the read
#: roof and int8 from 63.7 to 68.0, but fp8 at 64 x 2k from 67.2 to 58.8: 512 programs that
#: filled two waves of 264 spill into a second wave of 396. So the wrapper launches the cap
#: only where its grid fills its waves at least as well (choose_launch). int4 lost at every
#: shape (its loop spills at 168) and has none.
REGISTER_CAPS = {Q.FP8: 168, Q.INT8: 168}


def register_caps(fmt_code: int) -> tuple:
    """The maxnreg values a GQA launch chooses among: LAUNCH_TUNING's alone when it sets one,
    else no cap and the format's REGISTER_CAPS entry."""
    if "maxnreg" in LAUNCH_TUNING:
        return (LAUNCH_TUNING["maxnreg"],)
    cap = REGISTER_CAPS.get(fmt_code)
    return (None,) if cap is None else (None, cap)


def wave_fill(programs: int, slots: int) -> Fraction:
    """How full a grid of ``programs`` keeps its waves of ``slots`` resident programs."""
    return Fraction(programs, -(-programs // slots) * slots)


def choose_launch(options: list, pairs: int, sms: int) -> tuple:
    """Of ``options`` [(maxnreg, blocks per SM, splits)], the one whose grid of pairs x splits
    programs fills its waves of blocks x sms best; of equals, the one with more programs per
    SM (more loads in flight), then the first."""
    def score(opt):
        _, per_sm, splits = opt
        return wave_fill(pairs * splits, per_sm * sms), per_sm

    return max(options, key=score)  # the first of equal scores


#: Resident programs per SM assumed when triton does not tell a compiled kernel's registers.
FALLBACK_BLOCKS_PER_SM = 2
#: No split shorter than this many tokens on a GPU: each program's fixed cost (query load,
#: epilogue, its share of the merge) stays small against the tiles it streams.
MIN_SPLIT_TOKENS = 256


def wave_splits(programs_per_split: int, slots: int, most: int) -> int:
    """The split count s in 1..min(most, cdiv(slots, programs_per_split)) whose grid of
    programs_per_split x s programs fills its waves of ``slots`` resident programs best
    (programs / (waves x slots)); of equals, the larger s.

    Rounding the split count up to one wave left a partial second wave, which an H200 showed
    (docs/measurements/h200-session2.md, Nsight Compute): GQA fp8 at 16 x 8 heads with 2
    programs per SM took 3 splits, 384 programs for 264 slots (1.45 waves, the last 120
    programs alone on their SMs); MLA at 16 heads took 17, 272 programs for 264 slots. Here:
    2 splits (256 programs, 0.97 of one wave) and 16 (256)."""
    per = max(1, programs_per_split)
    best = 1
    for s in range(2, max(1, min(most, -(-slots // per))) + 1):
        if wave_fill(per * s, slots) >= wave_fill(per * best, slots):
            best = s
    return best


def default_num_splits(batch: int, programs_per_seq: int, max_seq_len: int | None, device: torch.device,
                       block_n: int = 64, blocks_per_sm: int | None = None) -> int:
    """Splits per sequence so that batch x programs_per_seq x splits fills the GPU's waves
    (wave_splits: at most about one wave, and no partial wave where a smaller count avoids it).

    On a GPU a wave is ``blocks_per_sm`` (the compiled kernel's real occupancy:
    kvplan.kernels.occupancy; FALLBACK_BLOCKS_PER_SM when unknown) x the SM count; at most
    MAX_SPLITS, and no split shorter than MIN_SPLIT_TOKENS. In the interpreter the target
    is 4 programs and one tile per split. ``programs_per_seq`` is the KV heads (GQA) or the
    16-head tiles (MLA).
    """
    if device.type == "cuda":
        per_sm = blocks_per_sm or FALLBACK_BLOCKS_PER_SM
        slots = per_sm * torch.cuda.get_device_properties(device).multi_processor_count
        min_tokens = MIN_SPLIT_TOKENS
    else:
        slots, min_tokens = 4, block_n
    most = MAX_SPLITS if max_seq_len is None else min(MAX_SPLITS, -(-max_seq_len // min_tokens))
    return wave_splits(batch * programs_per_seq, slots, most)


_OCCUPANCY: dict = {}


def occupancy_of(kernel, key: tuple, device: torch.device, args: tuple, consts: dict) -> int | None:
    """Resident programs per SM of ``kernel`` compiled for ``args``/``consts`` (compiled
    ahead of the launch with ``warmup``, which the launch then finds in triton's cache);
    cached per ``key``. None off CUDA."""
    if device.type != "cuda":
        return None
    if key not in _OCCUPANCY:
        from kvplan.kernels.occupancy import compiled_resident_blocks

        try:
            compiled = kernel.warmup(*args, grid=(1,), **consts)
        except Exception:  # noqa: BLE001 - a triton without warmup(): fall back to the default
            compiled = None
        _OCCUPANCY[key] = compiled_resident_blocks(compiled, device) if compiled is not None else None
    return _OCCUPANCY[key]


def check_num_splits(num_splits) -> None:
    if num_splits is not None and (not isinstance(num_splits, int) or isinstance(num_splits, bool)
                                   or not 1 <= num_splits <= MAX_SPLITS):
        raise ValueError(f"num_splits must be an integer from 1 to {MAX_SPLITS}, got {num_splits!r}")


def offsets_need_int64(*tensors) -> bool:
    """Whether element offsets into any of these tensors may reach 2**31 (the kernels then
    compute cache addresses in int64 instead of int32)."""
    return any(t is not None and t.numel() >= INT32_ELEMENTS for t in tensors)


def check_block_table(block_tables, seq_lens, block_size: int, num_blocks: int, check_values: bool) -> int | None:
    """Check that the block table covers seq_lens with valid block ids; returns the
    largest length (None without ``check_values``, which avoids a device sync)."""
    max_tokens = block_tables.shape[1] * block_size
    if not check_values:
        return None
    lens = seq_lens.to(torch.int64)
    if lens.numel() == 0:
        return 0
    lo, hi = int(lens.min()), int(lens.max())
    if lo < 1:
        raise ValueError(f"seq_lens must be >= 1 (one query token attends at least to itself), got {lo}")
    if hi > max_tokens:
        raise ValueError(
            f"block_tables has {block_tables.shape[1]} blocks of {block_size} tokens per sequence "
            f"({max_tokens} tokens) but seq_lens holds {hi}"
        )
    used = torch.arange(block_tables.shape[1], device=lens.device)[None, :] < (-(-lens // block_size))[:, None]
    ids = block_tables[used]
    if int(ids.min()) < 0 or int(ids.max()) >= num_blocks:
        raise ValueError(
            f"block_tables names block {int(ids.min()) if int(ids.min()) < 0 else int(ids.max())} "
            f"for a live token but the cache has blocks 0..{num_blocks - 1}"
        )
    return hi


def _check_decode(q, k_cache, v_cache, block_tables, seq_lens, k_cache_scale, v_cache_scale, kv_format,
                  k_scale, v_scale, out, *, kernel: bool):
    Q.check_tensor(q, "q", ndim=3, dtypes=(torch.bfloat16, torch.float16))
    device = q.device
    if kernel:
        Q.check_kernel_device(device)
    B, HQ, D = q.shape
    fmt = Q.resolve_format(kv_format, k_cache, "k_cache")
    Q.check_tensor(k_cache, "k_cache", ndim=4, device=device, contiguous=True)
    Q.check_tensor(v_cache, "v_cache", ndim=4, dtypes=(k_cache.dtype,), device=device, contiguous=True)
    nb, bs, HKV = k_cache.shape[:3]
    Q.check_vector_dim(fmt, D, "q")
    Q.check_shape(k_cache, "k_cache", (nb, bs, HKV, fmt.payload_dim(D)),
                  "[num_blocks, block_size, kv_heads, head_dim" + (" / 2]" if fmt.code == Q.INT4 else "]"))
    if v_cache.shape[:3] != k_cache.shape[:3]:
        raise ValueError(f"v_cache must start like k_cache {tuple(k_cache.shape[:3])}, got {tuple(v_cache.shape)}")
    DV = v_cache.shape[3] * (2 if fmt.code == Q.INT4 else 1)
    Q.check_vector_dim(fmt, DV, "v_cache")
    if HQ % HKV:
        raise ValueError(f"q has {HQ} heads, not a multiple of the cache's {HKV} KV heads")
    if fmt.code == Q.PLAIN and k_cache.dtype != q.dtype:
        raise TypeError(f"a plain cache must have q's dtype {q.dtype}, got {k_cache.dtype}")
    Q.check_cache_scale(fmt, k_cache_scale, "k_cache_scale", "k_cache", (nb, bs, HKV), D, device)
    Q.check_cache_scale(fmt, v_cache_scale, "v_cache_scale", "v_cache", (nb, bs, HKV), DV, device)
    ks = Q.fp8_scale_tensor(fmt, k_scale, HKV, device, "k_scale")
    vs = Q.fp8_scale_tensor(fmt, v_scale, HKV, device, "v_scale")
    Q.check_decode_io(block_tables, seq_lens, out, q.dtype, (B, HQ, DV), "[batch, q_heads, head_dim_v]", "q",
                      device)
    return fmt, B, HQ, HKV, D, DV, nb, bs, ks, vs


def paged_decode_attention(
    q: torch.Tensor,
    k_cache: torch.Tensor,
    v_cache: torch.Tensor,
    block_tables: torch.Tensor,
    seq_lens: torch.Tensor,
    sm_scale: float | None = None,
    *,
    k_cache_scale: torch.Tensor | None = None,
    v_cache_scale: torch.Tensor | None = None,
    kv_format: str | None = None,
    k_scale=None,
    v_scale=None,
    out: torch.Tensor | None = None,
    num_splits: int | None = None,
    block_n: int | None = None,
    check_values: bool = True,
    max_seq_len: int | None = None,
    launch_info: dict | None = None,
) -> torch.Tensor:
    """Decode attention: one query token per sequence over its paged K/V.

    Tensor contract (B sequences, Hq query heads, H KV heads, Hq % H == 0; query head i
    reads KV head i // (Hq / H)):
      q              [B, Hq, D] bf16 or fp16 (unit last stride)
      k_cache        [num_blocks, block_size, H, D] contiguous (int4: uint8 [.., D/2]);
                     formats and scale tensors as in paged_kv_write
      v_cache        [num_blocks, block_size, H, Dv] likewise
      block_tables   [B, max_blocks] int32: block ids of each sequence in order
      seq_lens       [B] int32, each >= 1 and <= max_blocks * block_size
      sm_scale       softmax scale (default 1 / sqrt(D))
      k_scale, v_scale  fp8 only: per-tensor (number / 0-d tensor) or per KV head ([H])
      out            optional [B, Hq, Dv] of q's dtype, written in place
    Returns ``out`` (allocated when not given): softmax(q K^T * sm_scale) V per sequence,
    computed with an fp32 online softmax; the caches are only read.

    ``launch_info``: a dict the wrapper fills with the launch it chose (num_splits, maxnreg,
    blocks_per_sm where it read the compiled kernel's occupancy, block_n), for benchmarks.
    Tuning: ``num_splits`` (default: default_num_splits), ``block_n`` tokens per tile
    (a power of two >= 16; default_block_n). ``check_values`` (default) checks seq_lens
    and the block ids the sequences use against the cache, which syncs with the device;
    hot paths pass False together with ``max_seq_len`` (used only to pick num_splits).
    Raises TypeError / ValueError on a wrong dtype, shape, device or layout.
    """
    fmt, B, HQ, HKV, D, DV, nb, bs, ks, vs = _check_decode(
        q, k_cache, v_cache, block_tables, seq_lens, k_cache_scale, v_cache_scale, kv_format, k_scale, v_scale,
        out, kernel=True)
    longest = check_block_table(block_tables, seq_lens, bs, nb, check_values)
    if max_seq_len is None:
        max_seq_len = longest
    device = q.device
    if block_n is None:
        block_n = default_block_n(device, D, fmt.code)
    if block_n < 16 or block_n & (block_n - 1):
        raise ValueError(f"block_n must be a power of two >= 16, got {block_n}")
    check_num_splits(num_splits)
    if sm_scale is None:
        sm_scale = 1.0 / math.sqrt(D)
    if out is None:
        out = torch.empty((B, HQ, DV), dtype=q.dtype, device=device)
    if B == 0:
        return out
    group = HQ // HKV
    gp = max(16, triton.next_power_of_2(group))
    q_tl = _TL_DTYPES[q.dtype]
    consts = dict(
        HQ=HQ, HKV=HKV, GROUP=group, D=D, DV=DV, FMT=fmt.code, Q_DTYPE=q_tl, DOT_DTYPE=dot_dtype(fmt.code, q_tl),
        GP=gp, BLOCK_D=max(32, triton.next_power_of_2(D)),  # int4 halves stay >= 16 for tl.dot
        BLOCK_DV=max(32, triton.next_power_of_2(DV)), BLOCK_N=block_n, BLOCK_SIZE=bs,
        OFF64=offsets_need_int64(k_cache, v_cache, k_cache_scale, v_cache_scale),
        INTERPRET=interpreted(_decode_kernel), **launch_settings(4 if gp <= 16 else 8),
    )
    dummy = k_cache

    def args(splits, part_o, part_lse):
        return (q, k_cache, v_cache,
                dummy if k_cache_scale is None else k_cache_scale, dummy if v_cache_scale is None else v_cache_scale,
                ks[0] if ks else dummy, vs[0] if vs else dummy,
                block_tables, seq_lens, out, part_o, part_lse,
                float(sm_scale) * LOG2E,
                q.stride(0), q.stride(1), out.stride(0), out.stride(1), block_tables.stride(0),
                ks[1] if ks else 0, vs[1] if vs else 0, splits)

    caps = register_caps(fmt.code)
    if device.type == "cuda" and (num_splits is None or len(caps) > 1):
        options = []
        for cap in caps:
            launch = consts if cap is None else dict(consts, maxnreg=cap)
            key = ("gqa", device.index, *sorted((k, str(v)) for k, v in launch.items()))
            per_sm = occupancy_of(_decode_kernel, key, device, args(2, out, out), dict(launch, SPLIT=True))
            if per_sm is None and cap is not None and len(caps) > 1:
                continue  # a capped kernel whose occupancy triton does not tell is not guessed at
            splits = num_splits or default_num_splits(B, HKV, max_seq_len, device, block_n, per_sm)
            options.append((cap, per_sm or FALLBACK_BLOCKS_PER_SM, splits))
        cap, per_sm, num_splits = choose_launch(options, B * HKV,
                                                torch.cuda.get_device_properties(device).multi_processor_count)
    else:
        cap, per_sm = (caps[0] if device.type == "cuda" else None), None
        if num_splits is None:
            num_splits = default_num_splits(B, HKV, max_seq_len, device, block_n)
    if cap is not None:
        consts = dict(consts, maxnreg=cap)
    if launch_info is not None:
        launch_info.update(num_splits=num_splits, maxnreg=cap, blocks_per_sm=per_sm, block_n=block_n)
    if num_splits > 1:
        part_o = torch.empty((B, HQ, num_splits, DV), dtype=torch.float32, device=device)
        part_lse = torch.empty((B, HQ, num_splits), dtype=torch.float32, device=device)
    else:
        part_o = part_lse = out  # unused
    _decode_kernel[(B, HKV, num_splits)](*args(num_splits, part_o, part_lse), SPLIT=num_splits > 1, **consts)
    if num_splits > 1:
        merge_splits(part_o, part_lse, out, num_splits)
    return out


def gather_sequence(cache: torch.Tensor, block_tables: torch.Tensor, b: int, length: int) -> torch.Tensor:
    """Rows [length, ...] of sequence ``b`` from a paged tensor [num_blocks, block_size, ...]."""
    bs = cache.shape[1]
    nblk = -(-length // bs)
    blocks = block_tables[b, :nblk].to(torch.int64)
    return cache[blocks].reshape(nblk * bs, *cache.shape[2:])[:length]


def paged_decode_attention_ref(
    q, k_cache, v_cache, block_tables, seq_lens, sm_scale=None, *, k_cache_scale=None, v_cache_scale=None,
    kv_format=None, k_scale=None, v_scale=None, out=None, num_splits=None, block_n=None,
    check_values: bool = True, max_seq_len=None,
) -> torch.Tensor:
    """Pure-torch paged_decode_attention: same contract, fp32 math on the dequantized cache
    (exact softmax, no splits; ``num_splits``, ``block_n`` and ``max_seq_len`` are accepted
    and ignored). Runs on any device."""
    fmt, B, HQ, HKV, D, DV, nb, bs, _, _ = _check_decode(
        q, k_cache, v_cache, block_tables, seq_lens, k_cache_scale, v_cache_scale, kv_format, k_scale, v_scale,
        out, kernel=False)
    check_block_table(block_tables, seq_lens, bs, nb, check_values)
    if sm_scale is None:
        sm_scale = 1.0 / math.sqrt(D)
    if out is None:
        out = torch.empty((B, HQ, DV), dtype=q.dtype, device=q.device)
    group = HQ // HKV
    fk = Q.fp8_scale_values(k_scale, HKV, q.device)[:, None] if fmt.code == Q.FP8 else None
    fv = Q.fp8_scale_values(v_scale, HKV, q.device)[:, None] if fmt.code == Q.FP8 else None
    for b in range(B):
        n = int(seq_lens[b])
        kcs = gather_sequence(k_cache_scale, block_tables, b, n) if k_cache_scale is not None else None
        vcs = gather_sequence(v_cache_scale, block_tables, b, n) if v_cache_scale is not None else None
        k = Q.dequantize(fmt, gather_sequence(k_cache, block_tables, b, n), kcs, fk)  # [n, H, D]
        v = Q.dequantize(fmt, gather_sequence(v_cache, block_tables, b, n), vcs, fv)  # [n, H, Dv]
        k = k.repeat_interleave(group, dim=1)
        v = v.repeat_interleave(group, dim=1)
        scores = torch.einsum("hd,nhd->hn", q[b].to(torch.float32), k) * sm_scale
        p = torch.softmax(scores, dim=-1)
        out[b] = torch.einsum("hn,nhd->hd", p, v).to(q.dtype)
    return out


def compile_variant(fmt: int, cache_type: str, scale_type: str, q_type: str, q_tl, splits: int, group: int,
                    ints: dict):
    """The compile_check variant of _decode_kernel for one format (llama3-8b shapes by default)."""
    from kvplan.kernels.compile_check import Variant

    gp = max(16, triton.next_power_of_2(group))
    types = dict(q_ptr=q_type, kc_ptr=cache_type, vc_ptr=cache_type, kcs_ptr=scale_type, vcs_ptr=scale_type,
                 ks_ptr="*fp32", vs_ptr="*fp32", bt_ptr="*i32", len_ptr="*i32", out_ptr=q_type, po_ptr="*fp32",
                 plse_ptr="*fp32", qk_scale="fp32")
    block_n = 128 if ints["D"] <= 128 else 32  # default_block_n on an sm_90 GPU
    hkv, d, dv = ints["HKV"], ints["D"], ints["DV"]
    hq = hkv * group
    consts = dict(HQ=hq, HKV=hkv, GROUP=group, D=d, DV=dv, FMT=fmt, Q_DTYPE=q_tl, DOT_DTYPE=dot_dtype(fmt, q_tl),
                  GP=gp, BLOCK_D=128, BLOCK_DV=128, BLOCK_N=block_n, BLOCK_SIZE=16, SPLIT=splits > 1, OFF64=False,
                  INTERPRET=False)
    ints = dict(ints, q_stride_b=hq * d, o_stride_b=hq * dv, num_splits=splits)
    return Variant(f"paged_decode fmt={fmt} q={q_type[1:]} splits={splits} group={group}", _decode_kernel, types,
                   consts, 4 if gp <= 16 else 8, ints, block_n)
