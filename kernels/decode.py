"""paged_decode_attention: one query token per sequence against a paged KV cache.

Design (DESIGN.md "Kernels", the FlashInfer / SGLang decode practice):
  grid (batch, kv_head, split). A program loads the whole GQA group of query heads of its
  KV head (padded to at least 16 rows so ``tl.dot`` is legal; padding rows are masked on
  store), walks its share of the sequence in tiles of BLOCK_N tokens through the block
  table, and keeps an fp32 online softmax (base 2, the softmax scale folded with log2 e).
  With one split it writes the output directly; otherwise it writes a partial output and
  its log-sum-exp, and ``_merge_kernel`` combines the splits.

  Dequantization happens on the fly: fp8 converts exactly to the query's dtype and its
  k_scale is folded into the softmax scale, v_scale into the output; int8 dots the codes
  (exact in bf16/fp16) and applies the per-token scale to the scores and to the
  probabilities; int4 unpacks nibbles, dequantizes in fp32 (q * scale + min) and splits
  the dot products into even and odd head-dim halves, which avoids interleaving.

Each sequence's tokens are split evenly: split s covers [s * c, min((s + 1) * c, len))
with c = cdiv(cdiv(len, num_splits), BLOCK_N) * BLOCK_N; empty splits write lse = -inf
and weigh nothing in the merge.
"""

from __future__ import annotations

import math

import torch
import triton
import triton.language as tl

from kvplan.kernels import quant as Q
from kvplan.kernels._jit import dot, interpreted, to_dtype

LOG2E = 1.4426950408889634  # log2(e): exp(x) = exp2(x * log2(e))
MAX_SPLITS = 64


@triton.jit
def _attend_vec(
    q, kc_ptr, vc_ptr, kcs_ptr, vcs_ptr, bt_row_ptr, lo, hi, h, HKV, D, DV, qk_scale,
    FMT: tl.constexpr, Q_DTYPE: tl.constexpr, GP: tl.constexpr, BLOCK_D: tl.constexpr,
    BLOCK_DV: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_SIZE: tl.constexpr, INTERPRET: tl.constexpr,
):
    """Online softmax over tokens [lo, hi) for plain, fp8 and int8 caches."""
    d = tl.arange(0, BLOCK_D)
    dmask = d < D
    dv = tl.arange(0, BLOCK_DV)
    dvmask = dv < DV
    m_i = tl.full([GP], float("-inf"), tl.float32)
    l_i = tl.zeros([GP], tl.float32)
    acc = tl.zeros([GP, BLOCK_DV], tl.float32)
    for start in range(lo, hi, BLOCK_N):
        t = start + tl.arange(0, BLOCK_N)
        tmask = t < hi
        blk = tl.load(bt_row_ptr + t // BLOCK_SIZE, mask=tmask, other=0).to(tl.int64)
        row = (blk * BLOCK_SIZE + t % BLOCK_SIZE) * HKV + h  # vector index in the cache
        kmask = dmask[:, None] & tmask[None, :]
        if FMT == 1:  # no `other` for fp8 loads (the interpreter cannot cast it): zero after
            k = tl.where(kmask, tl.load(kc_ptr + row[None, :] * D + d[:, None], mask=kmask).to(Q_DTYPE), 0.0)
        else:
            k = tl.load(kc_ptr + row[None, :] * D + d[:, None], mask=kmask, other=0)
        if FMT == 2:
            k = k.to(tl.float32)  # int8 -> fp32 -> Q_DTYPE, both exact
        k = k.to(Q_DTYPE)
        s = dot(q, k, INTERPRET)  # [GP, BLOCK_N] fp32
        if FMT == 2:
            s = s * tl.load(kcs_ptr + row, mask=tmask, other=0.0)[None, :]
        s = tl.where(tmask[None, :], s * qk_scale, float("-inf"))
        m_new = tl.maximum(m_i, tl.max(s, axis=1))
        alpha = tl.exp2(m_i - m_new)
        p = tl.exp2(s - m_new[:, None])
        l_i = l_i * alpha + tl.sum(p, axis=1)
        vmask = tmask[:, None] & dvmask[None, :]
        if FMT == 1:
            v = tl.where(vmask, tl.load(vc_ptr + row[:, None] * DV + dv[None, :], mask=vmask).to(Q_DTYPE), 0.0)
        else:
            v = tl.load(vc_ptr + row[:, None] * DV + dv[None, :], mask=vmask, other=0)
        if FMT == 2:
            p = p * tl.load(vcs_ptr + row, mask=tmask, other=0.0)[None, :]
            v = v.to(tl.float32)
        v = v.to(Q_DTYPE)
        acc = acc * alpha[:, None] + dot(to_dtype(p, Q_DTYPE), v, INTERPRET)
        m_i = m_new
    return acc, m_i, l_i


@triton.jit
def _int4_tile(codes_ptr, scale_ptr, row, tmask, half, TRANS: tl.constexpr, BLOCK_J: tl.constexpr,
               BLOCK_N: tl.constexpr):
    """Dequantized int4 tile as fp32 (even, odd) halves: [BLOCK_J, BLOCK_N] when TRANS (K^T
    for the score dot), else [BLOCK_N, BLOCK_J] (V). ``row``: [BLOCK_N] vector indices;
    byte j of a vector holds values 2j (low nibble) and 2j + 1; its group is j // 16.
    Scales and minimums are loaded once per (token, group) and broadcast over the group."""
    j = tl.arange(0, BLOCK_J)
    g = tl.arange(0, BLOCK_J // 16)
    groups = half // 16
    if TRANS:
        b = tl.load(codes_ptr + row[None, :] * half + j[:, None], mask=(j[:, None] < half) & tmask[None, :],
                    other=0)
        gmask = (g[:, None] < groups) & tmask[None, :]
        sp = scale_ptr + (row[None, :] * groups + g[:, None]) * 2  # [groups, BLOCK_N]
        s = tl.load(sp, mask=gmask, other=0.0).to(tl.float32)
        m = tl.load(sp + 1, mask=gmask, other=0.0).to(tl.float32)
        s = tl.reshape(tl.broadcast_to(s[:, None, :], (BLOCK_J // 16, 16, BLOCK_N)), (BLOCK_J, BLOCK_N))
        m = tl.reshape(tl.broadcast_to(m[:, None, :], (BLOCK_J // 16, 16, BLOCK_N)), (BLOCK_J, BLOCK_N))
    else:
        b = tl.load(codes_ptr + row[:, None] * half + j[None, :], mask=tmask[:, None] & (j[None, :] < half),
                    other=0)
        gmask = tmask[:, None] & (g[None, :] < groups)
        sp = scale_ptr + (row[:, None] * groups + g[None, :]) * 2  # [BLOCK_N, groups]
        s = tl.load(sp, mask=gmask, other=0.0).to(tl.float32)
        m = tl.load(sp + 1, mask=gmask, other=0.0).to(tl.float32)
        s = tl.reshape(tl.broadcast_to(s[:, :, None], (BLOCK_N, BLOCK_J // 16, 16)), (BLOCK_N, BLOCK_J))
        m = tl.reshape(tl.broadcast_to(m[:, :, None], (BLOCK_N, BLOCK_J // 16, 16)), (BLOCK_N, BLOCK_J))
    even = (b & 15).to(tl.float32) * s + m
    odd = (b >> 4).to(tl.float32) * s + m
    return even, odd


@triton.jit
def _attend_int4(
    qe, qo, kc_ptr, vc_ptr, kcs_ptr, vcs_ptr, bt_row_ptr, lo, hi, h, HKV, D, DV, qk_scale,
    Q_DTYPE: tl.constexpr, GP: tl.constexpr, BLOCK_D2: tl.constexpr, BLOCK_DV2: tl.constexpr,
    BLOCK_N: tl.constexpr, BLOCK_SIZE: tl.constexpr, INTERPRET: tl.constexpr,
):
    """Online softmax over tokens [lo, hi) for int4 caches; outputs in even/odd halves."""
    m_i = tl.full([GP], float("-inf"), tl.float32)
    l_i = tl.zeros([GP], tl.float32)
    acc_e = tl.zeros([GP, BLOCK_DV2], tl.float32)
    acc_o = tl.zeros([GP, BLOCK_DV2], tl.float32)
    for start in range(lo, hi, BLOCK_N):
        t = start + tl.arange(0, BLOCK_N)
        tmask = t < hi
        blk = tl.load(bt_row_ptr + t // BLOCK_SIZE, mask=tmask, other=0).to(tl.int64)
        row = (blk * BLOCK_SIZE + t % BLOCK_SIZE) * HKV + h
        ke, ko = _int4_tile(kc_ptr, kcs_ptr, row, tmask, D // 2, True, BLOCK_D2, BLOCK_N)
        s = dot(qe, to_dtype(ke, Q_DTYPE), INTERPRET) + dot(qo, to_dtype(ko, Q_DTYPE), INTERPRET)
        s = tl.where(tmask[None, :], s * qk_scale, float("-inf"))
        m_new = tl.maximum(m_i, tl.max(s, axis=1))
        alpha = tl.exp2(m_i - m_new)
        p = tl.exp2(s - m_new[:, None])
        l_i = l_i * alpha + tl.sum(p, axis=1)
        ve, vo = _int4_tile(vc_ptr, vcs_ptr, row, tmask, DV // 2, False, BLOCK_DV2, BLOCK_N)
        pb = to_dtype(p, Q_DTYPE)
        acc_e = acc_e * alpha[:, None] + dot(pb, to_dtype(ve, Q_DTYPE), INTERPRET)
        acc_o = acc_o * alpha[:, None] + dot(pb, to_dtype(vo, Q_DTYPE), INTERPRET)
        m_i = m_new
    return acc_e, acc_o, m_i, l_i


@triton.jit
def _epilogue(
    acc, m_i, l_i, v_scale, qh, rmask, cols, cmask, b, s, out_ptr, o_stride_b, o_stride_h, po_ptr, plse_ptr,
    HQ, DV, NUM_SPLITS: tl.constexpr, OUT_DTYPE: tl.constexpr,
):
    """Normalise and store: the output (one split) or the partial output + lse."""
    l_safe = tl.where(l_i > 0, l_i, 1.0)
    o = acc / l_safe[:, None] * v_scale
    mask = rmask[:, None] & cmask[None, :]
    if NUM_SPLITS == 1:
        ptrs = out_ptr + b * o_stride_b + qh[:, None] * o_stride_h + cols[None, :]
        tl.store(ptrs, to_dtype(o, OUT_DTYPE), mask=mask)
    else:
        base = (b * HQ + qh).to(tl.int64) * NUM_SPLITS + s
        tl.store(po_ptr + base[:, None] * DV + cols[None, :], o, mask=mask)
        lse = tl.where(l_i > 0, m_i + tl.log2(l_safe), float("-inf"))
        tl.store(plse_ptr + base, lse, mask=rmask)


@triton.jit
def _split_range(len_ptr, b, s, NUM_SPLITS: tl.constexpr, BLOCK_N: tl.constexpr):
    L = tl.load(len_ptr + b)
    chunk = tl.cdiv(tl.cdiv(L, NUM_SPLITS), BLOCK_N) * BLOCK_N
    lo = s * chunk
    hi = tl.minimum(lo + chunk, L)
    return lo, hi


@triton.jit
def _decode_kernel(
    q_ptr, kc_ptr, vc_ptr, kcs_ptr, vcs_ptr, ks_ptr, vs_ptr, bt_ptr, len_ptr, out_ptr, po_ptr, plse_ptr,
    qk_scale, q_stride_b, q_stride_h, o_stride_b, o_stride_h, bt_stride, ks_stride, vs_stride,
    HQ, HKV, GROUP, D, DV,
    FMT: tl.constexpr, Q_DTYPE: tl.constexpr, GP: tl.constexpr, BLOCK_D: tl.constexpr,
    BLOCK_DV: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_SIZE: tl.constexpr, NUM_SPLITS: tl.constexpr,
    INTERPRET: tl.constexpr,
):
    b = tl.program_id(0)
    h = tl.program_id(1)
    s = tl.program_id(2)
    lo, hi = _split_range(len_ptr, b, s, NUM_SPLITS, BLOCK_N)
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
    if FMT == 3:
        j = tl.arange(0, BLOCK_D // 2)
        qmask = rmask[:, None] & (j[None, :] < D // 2)
        qe = tl.load(q_row + 2 * j[None, :], mask=qmask, other=0.0)
        qo = tl.load(q_row + 2 * j[None, :] + 1, mask=qmask, other=0.0)
        acc_e, acc_o, m_i, l_i = _attend_int4(
            qe, qo, kc_ptr, vc_ptr, kcs_ptr, vcs_ptr, bt_row, lo, hi, h, HKV, D, DV, scale,
            Q_DTYPE, GP, BLOCK_D // 2, BLOCK_DV // 2, BLOCK_N, BLOCK_SIZE, INTERPRET)
        jv = tl.arange(0, BLOCK_DV // 2)
        jvmask = jv < DV // 2
        _epilogue(acc_e, m_i, l_i, v_scale, qh, rmask, 2 * jv, jvmask, b, s, out_ptr, o_stride_b, o_stride_h,
                  po_ptr, plse_ptr, HQ, DV, NUM_SPLITS, Q_DTYPE)
        _epilogue(acc_o, m_i, l_i, v_scale, qh, rmask, 2 * jv + 1, jvmask, b, s, out_ptr, o_stride_b,
                  o_stride_h, po_ptr, plse_ptr, HQ, DV, NUM_SPLITS, Q_DTYPE)
    else:
        d = tl.arange(0, BLOCK_D)
        q = tl.load(q_row + d[None, :], mask=rmask[:, None] & (d[None, :] < D), other=0.0)
        acc, m_i, l_i = _attend_vec(
            q, kc_ptr, vc_ptr, kcs_ptr, vcs_ptr, bt_row, lo, hi, h, HKV, D, DV, scale,
            FMT, Q_DTYPE, GP, BLOCK_D, BLOCK_DV, BLOCK_N, BLOCK_SIZE, INTERPRET)
        dv = tl.arange(0, BLOCK_DV)
        _epilogue(acc, m_i, l_i, v_scale, qh, rmask, dv, dv < DV, b, s, out_ptr, o_stride_b, o_stride_h,
                  po_ptr, plse_ptr, HQ, DV, NUM_SPLITS, Q_DTYPE)


@triton.jit
def _merge_kernel(
    po_ptr, plse_ptr, out_ptr, o_stride_b, o_stride_h, HQ, DV,
    NUM_SPLITS: tl.constexpr, BLOCK_S: tl.constexpr, BLOCK_DV: tl.constexpr, OUT_DTYPE: tl.constexpr,
):
    """out[b, hq] = sum_s w_s * o_s / sum_s w_s with w_s = 2 ** (lse_s - max lse)."""
    b = tl.program_id(0)
    hq = tl.program_id(1)
    sidx = tl.arange(0, BLOCK_S)
    smask = sidx < NUM_SPLITS
    base = (b * HQ + hq).to(tl.int64) * NUM_SPLITS
    lse = tl.load(plse_ptr + base + sidx, mask=smask, other=float("-inf"))
    w = tl.exp2(lse - tl.max(lse, axis=0))  # empty splits (lse = -inf) weigh 0
    dv = tl.arange(0, BLOCK_DV)
    dvmask = dv < DV
    o = tl.load(po_ptr + (base + sidx)[:, None] * DV + dv[None, :], mask=smask[:, None] & dvmask[None, :], other=0.0)
    out = tl.sum(o * w[:, None], axis=0) / tl.sum(w, axis=0)
    tl.store(out_ptr + b.to(tl.int64) * o_stride_b + hq * o_stride_h + dv, to_dtype(out, OUT_DTYPE), mask=dvmask)


# -- host side -----------------------------------------------------------------------------
_TL_DTYPES = {torch.bfloat16: tl.bfloat16, torch.float16: tl.float16}


def default_block_n(device: torch.device, head_dim: int) -> int:
    """Tokens per tile: 64 (32 for head dims over 128) on GPUs; 16 in the interpreter."""
    if device.type != "cuda":
        return 16
    return 64 if head_dim <= 128 else 32


def default_num_splits(batch: int, programs_per_seq: int, max_seq_len: int | None, device: torch.device,
                       block_n: int = 64) -> int:
    """Splits per sequence so that batch x programs_per_seq x splits fills the GPU.

    Target four programs per SM (``multi_processor_count``: enough loads in flight to
    approach the bandwidth roof; an untuned default, pass ``num_splits`` to override); at
    most MAX_SPLITS, and no split shorter than 256 tokens on a GPU (one tile in the
    interpreter, where the target is 4 programs). ``programs_per_seq`` is the KV heads
    (GQA) or the 16-head tiles (MLA).
    """
    if device.type == "cuda":
        target = 4 * torch.cuda.get_device_properties(device).multi_processor_count
        min_tokens = 256
    else:
        target, min_tokens = 4, block_n
    splits = -(-target // max(1, batch * programs_per_seq))
    if max_seq_len is not None:
        splits = min(splits, -(-max_seq_len // min_tokens))
    return max(1, min(splits, MAX_SPLITS))


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
        block_n = default_block_n(device, D)
    if block_n < 16 or block_n & (block_n - 1):
        raise ValueError(f"block_n must be a power of two >= 16, got {block_n}")
    if num_splits is None:
        num_splits = default_num_splits(B, HKV, max_seq_len, device, block_n)
    if not isinstance(num_splits, int) or isinstance(num_splits, bool) or not 1 <= num_splits <= MAX_SPLITS:
        raise ValueError(f"num_splits must be an integer from 1 to {MAX_SPLITS}, got {num_splits!r}")
    if sm_scale is None:
        sm_scale = 1.0 / math.sqrt(D)
    if out is None:
        out = torch.empty((B, HQ, DV), dtype=q.dtype, device=device)
    if B == 0:
        return out
    group = HQ // HKV
    gp = max(16, triton.next_power_of_2(group))
    block_d = max(32, triton.next_power_of_2(D))  # int4 halves stay >= 16 for tl.dot
    block_dv = max(32, triton.next_power_of_2(DV))
    if num_splits > 1:
        part_o = torch.empty((B, HQ, num_splits, DV), dtype=torch.float32, device=device)
        part_lse = torch.empty((B, HQ, num_splits), dtype=torch.float32, device=device)
    else:
        part_o = part_lse = out  # unused
    dummy = k_cache
    _decode_kernel[(B, HKV, num_splits)](
        q, k_cache, v_cache,
        dummy if k_cache_scale is None else k_cache_scale, dummy if v_cache_scale is None else v_cache_scale,
        ks[0] if ks else dummy, vs[0] if vs else dummy,
        block_tables, seq_lens, out, part_o, part_lse,
        float(sm_scale) * LOG2E,
        q.stride(0), q.stride(1), out.stride(0), out.stride(1), block_tables.stride(0),
        ks[1] if ks else 0, vs[1] if vs else 0,
        HQ, HKV, group, D, DV,
        FMT=fmt.code, Q_DTYPE=_TL_DTYPES[q.dtype], GP=gp, BLOCK_D=block_d, BLOCK_DV=block_dv,
        BLOCK_N=block_n, BLOCK_SIZE=bs, NUM_SPLITS=num_splits, INTERPRET=interpreted(_decode_kernel),
        num_warps=4 if gp <= 16 else 8,
    )
    if num_splits > 1:
        _merge_kernel[(B, HQ)](
            part_o, part_lse, out, out.stride(0), out.stride(1), HQ, DV,
            NUM_SPLITS=num_splits, BLOCK_S=max(2, triton.next_power_of_2(num_splits)),
            BLOCK_DV=triton.next_power_of_2(DV), OUT_DTYPE=_TL_DTYPES[q.dtype],
            num_warps=1 if DV <= 128 else 2,
        )
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
    block_n = 64
    consts = dict(FMT=fmt, Q_DTYPE=q_tl, GP=gp, BLOCK_D=128, BLOCK_DV=128, BLOCK_N=block_n, BLOCK_SIZE=16,
                  NUM_SPLITS=splits, INTERPRET=False)
    hq = ints["HKV"] * group
    ints = dict(ints, GROUP=group, HQ=hq, q_stride_b=hq * ints["D"], o_stride_b=hq * ints["DV"])
    return Variant(f"paged_decode fmt={fmt} q={q_type[1:]} splits={splits} group={group}", _decode_kernel, types,
                   consts, 4 if gp <= 16 else 8, ints, block_n)
