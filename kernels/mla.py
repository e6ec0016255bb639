"""MLA decode attention in absorbed form over a paged latent cache.

DeepSeek-V2/V3 cache one latent c = [c_kv (kv_lora_rank) | k_rope (rope_dim)] per token.
With W_UK absorbed into the query (q_nope_absorbed = q_nope W_UK, per head) and W_UV
applied after attention, decode is attention of every query head over the shared latent:

    score[h, t] = (q_nope_absorbed[h] . c_kv[t] + q_rope[h] . k_rope[t]) * sm_scale
    out[h]      = softmax_t(score[h]) @ c_kv          -> [Hq, kv_lora_rank]

All heads read the same latent, so a program takes a tile of 16 heads (one tl.dot row
block) and a split of the sequence: grid (batch, cdiv(Hq, 16), split); splits merge as in
kvplan.kernels.decode. Cache formats: bf16/fp16, fp8_e4m3 (per-tensor scale, folded into
the softmax scale and the output) and int8 (fp32 scale per token on the scores and the
probabilities). The latent is written by kvplan.kernels.write.paged_mla_write.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

from kvplan.kernels import quant as Q
from kvplan.kernels._jit import dot, interpreted, to_dtype
from kvplan.kernels.decode import (
    LOG2E,
    MAX_SPLITS,
    _epilogue,
    _merge_kernel,
    _split_range,
    _TL_DTYPES,
    check_block_table,
    default_num_splits,
    gather_sequence,
)

HEAD_TILE = 16  # query heads per program (tl.dot needs >= 16 rows)


@triton.jit
def _load_latent(ptr, mask, FMT: tl.constexpr, Q_DTYPE: tl.constexpr):
    if FMT == 1:  # fp8: no `other` (the interpreter cannot cast it), zero after
        x = tl.where(mask, tl.load(ptr, mask=mask).to(Q_DTYPE), 0.0)
    else:
        x = tl.load(ptr, mask=mask, other=0)
        if FMT == 2:
            x = x.to(tl.float32)  # int8 -> fp32 -> Q_DTYPE, exact
    return x.to(Q_DTYPE)


@triton.jit
def _mla_decode_kernel(
    qn_ptr, qr_ptr, c_ptr, cs_ptr, sc_ptr, bt_ptr, len_ptr, out_ptr, po_ptr, plse_ptr,
    qk_scale, qn_stride_b, qn_stride_h, qr_stride_b, qr_stride_h, o_stride_b, o_stride_h, bt_stride,
    HQ, R, P,
    FMT: tl.constexpr, Q_DTYPE: tl.constexpr, BLOCK_H: tl.constexpr, BLOCK_R: tl.constexpr,
    BLOCK_P: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_SIZE: tl.constexpr, NUM_SPLITS: tl.constexpr,
    INTERPRET: tl.constexpr,
):
    b = tl.program_id(0)
    hb = tl.program_id(1)
    s = tl.program_id(2)
    lo, hi = _split_range(len_ptr, b, s, NUM_SPLITS, BLOCK_N)
    hh = hb * BLOCK_H + tl.arange(0, BLOCK_H)
    hmask = hh < HQ
    r = tl.arange(0, BLOCK_R)
    rmask = r < R
    pr = tl.arange(0, BLOCK_P)
    pmask = pr < P
    b64 = b.to(tl.int64)
    qn = tl.load(qn_ptr + b64 * qn_stride_b + hh[:, None] * qn_stride_h + r[None, :],
                 mask=hmask[:, None] & rmask[None, :], other=0.0)
    qr = tl.load(qr_ptr + b64 * qr_stride_b + hh[:, None] * qr_stride_h + pr[None, :],
                 mask=hmask[:, None] & pmask[None, :], other=0.0)
    scale = qk_scale
    v_scale = 1.0
    if FMT == 1:  # one per-tensor fp8 scale for the whole latent
        v_scale = tl.load(sc_ptr)
        scale = qk_scale * v_scale
    LD = R + P
    m_i = tl.full([BLOCK_H], float("-inf"), tl.float32)
    l_i = tl.zeros([BLOCK_H], tl.float32)
    acc = tl.zeros([BLOCK_H, BLOCK_R], tl.float32)
    bt_row = bt_ptr + b64 * bt_stride
    for start in range(lo, hi, BLOCK_N):
        t = start + tl.arange(0, BLOCK_N)
        tmask = t < hi
        blk = tl.load(bt_row + t // BLOCK_SIZE, mask=tmask, other=0).to(tl.int64)
        slot = blk * BLOCK_SIZE + t % BLOCK_SIZE
        cn = _load_latent(c_ptr + slot[:, None] * LD + r[None, :], tmask[:, None] & rmask[None, :], FMT, Q_DTYPE)
        cr = _load_latent(c_ptr + slot[:, None] * LD + R + pr[None, :], tmask[:, None] & pmask[None, :], FMT,
                          Q_DTYPE)
        sc = dot(qn, tl.trans(cn), INTERPRET) + dot(qr, tl.trans(cr), INTERPRET)  # [BLOCK_H, BLOCK_N]
        if FMT == 2:
            tok_scale = tl.load(cs_ptr + slot, mask=tmask, other=0.0)
            sc = sc * tok_scale[None, :]
        sc = tl.where(tmask[None, :], sc * scale, float("-inf"))
        m_new = tl.maximum(m_i, tl.max(sc, axis=1))
        alpha = tl.exp2(m_i - m_new)
        p = tl.exp2(sc - m_new[:, None])
        l_i = l_i * alpha + tl.sum(p, axis=1)
        if FMT == 2:
            p = p * tok_scale[None, :]
        acc = acc * alpha[:, None] + dot(to_dtype(p, Q_DTYPE), cn, INTERPRET)
        m_i = m_new
    _epilogue(acc, m_i, l_i, v_scale, hh, hmask, r, rmask, b, s, out_ptr, o_stride_b, o_stride_h, po_ptr, plse_ptr,
              HQ, R, NUM_SPLITS, Q_DTYPE)


_MLA_CODES = (Q.PLAIN, Q.FP8, Q.INT8)
#: The kvplan formats MLA decode reads (int4 latents are written, but not decoded yet).
MLA_DECODE_FORMATS = tuple(name for name in Q.KERNEL_FORMATS if Q.resolve_code(name) in _MLA_CODES)


def _check_mla(q_nope, q_rope, kv_cache, block_tables, seq_lens, kv_cache_scale, kv_format, scale, out, *,
               kernel: bool):
    Q.check_tensor(q_nope, "q_nope", ndim=3, dtypes=(torch.bfloat16, torch.float16))
    device = q_nope.device
    if kernel:
        Q.check_kernel_device(device)
    Q.check_tensor(q_rope, "q_rope", ndim=3, dtypes=(q_nope.dtype,), device=device)
    B, HQ, R = q_nope.shape
    if q_rope.shape[:2] != (B, HQ):
        raise ValueError(f"q_rope must have shape ({B}, {HQ}, rope_dim) like q_nope, got {tuple(q_rope.shape)}")
    P = q_rope.shape[2]
    fmt = Q.resolve_format(kv_format, kv_cache, "kv_cache")
    if fmt.code not in _MLA_CODES:
        raise ValueError(f"MLA decode reads bf16, fp16, fp8_e4m3 or int8 latents, not {fmt.name}")
    Q.check_tensor(kv_cache, "kv_cache", ndim=3, device=device, contiguous=True)
    nb, bs = kv_cache.shape[:2]
    Q.check_shape(kv_cache, "kv_cache", (nb, bs, R + P), "[num_blocks, block_size, kv_lora_rank + rope_dim]")
    if fmt.code == Q.PLAIN and kv_cache.dtype != q_nope.dtype:
        raise TypeError(f"a plain latent cache must have the queries' dtype {q_nope.dtype}, got {kv_cache.dtype}")
    Q.check_cache_scale(fmt, kv_cache_scale, "kv_cache_scale", "kv_cache", (nb, bs), R + P, device)
    if isinstance(scale, torch.Tensor) and scale.numel() != 1:
        raise ValueError(f"scale of an MLA latent cache is per tensor (one number), got shape {tuple(scale.shape)}")
    sc = Q.fp8_scale_tensor(fmt, scale, 1, device, "scale")
    Q.check_decode_io(block_tables, seq_lens, out, q_nope.dtype, (B, HQ, R), "[batch, q_heads, kv_lora_rank]",
                      "q_nope", device)
    return fmt, B, HQ, R, P, nb, bs, sc


def mla_decode_attention(
    q_nope: torch.Tensor,
    q_rope: torch.Tensor,
    kv_cache: torch.Tensor,
    block_tables: torch.Tensor,
    seq_lens: torch.Tensor,
    sm_scale: float,
    *,
    kv_cache_scale: torch.Tensor | None = None,
    kv_format: str | None = None,
    scale=None,
    out: torch.Tensor | None = None,
    num_splits: int | None = None,
    block_n: int | None = None,
    check_values: bool = True,
    max_seq_len: int | None = None,
) -> torch.Tensor:
    """MLA decode (absorbed form): every query head attends over the shared latent cache.

    Tensor contract (R = kv_lora_rank, P = qk_rope_head_dim):
      q_nope         [B, Hq, R] bf16 or fp16: the no-rope query with W_UK absorbed
      q_rope         [B, Hq, P] same dtype: the rope part of the query
      kv_cache       [num_blocks, block_size, R + P] contiguous: latent c_kv then k_rope;
                     bf16/fp16 (= the queries' dtype), float8_e4m3fn or int8
      kv_cache_scale int8: [num_blocks, block_size] fp32; else None
      scale          fp8 only: the per-tensor scale (number or 0-d tensor, default 1.0)
      block_tables   [B, max_blocks] int32;  seq_lens [B] int32 (>= 1)
      sm_scale       softmax scale (required: DeepSeek uses 1/sqrt(qk_nope + qk_rope head
                     dim), times a YaRN factor, which the latent alone does not tell)
      out            optional [B, Hq, R] of the queries' dtype, written in place
    Returns ``out``: softmax((q_nope c_kv^T + q_rope k_rope^T) * sm_scale) c_kv, fp32 online
    softmax; V is the first R values of the latent. The cache is only read.
    ``num_splits``, ``block_n``, ``check_values`` and ``max_seq_len`` as in
    paged_decode_attention. Raises TypeError / ValueError on bad inputs.
    """
    fmt, B, HQ, R, P, nb, bs, sc = _check_mla(
        q_nope, q_rope, kv_cache, block_tables, seq_lens, kv_cache_scale, kv_format, scale, out, kernel=True)
    longest = check_block_table(block_tables, seq_lens, bs, nb, check_values)
    if max_seq_len is None:
        max_seq_len = longest
    device = q_nope.device
    block_r = max(16, triton.next_power_of_2(R))
    if block_n is None:
        block_n = 16 if device.type != "cuda" or block_r >= 512 else 32
    if block_n < 16 or block_n & (block_n - 1):
        raise ValueError(f"block_n must be a power of two >= 16, got {block_n}")
    head_tiles = -(-HQ // HEAD_TILE)
    if num_splits is None:
        num_splits = default_num_splits(B, head_tiles, max_seq_len, device, block_n)
    if not isinstance(num_splits, int) or isinstance(num_splits, bool) or not 1 <= num_splits <= MAX_SPLITS:
        raise ValueError(f"num_splits must be an integer from 1 to {MAX_SPLITS}, got {num_splits!r}")
    if not isinstance(sm_scale, (int, float)) or isinstance(sm_scale, bool) or not sm_scale > 0:
        raise ValueError(f"sm_scale must be a positive number, got {sm_scale!r}")
    if out is None:
        out = torch.empty((B, HQ, R), dtype=q_nope.dtype, device=device)
    if B == 0:
        return out
    if num_splits > 1:
        part_o = torch.empty((B, HQ, num_splits, R), dtype=torch.float32, device=device)
        part_lse = torch.empty((B, HQ, num_splits), dtype=torch.float32, device=device)
    else:
        part_o = part_lse = out  # unused
    dummy = kv_cache
    _mla_decode_kernel[(B, head_tiles, num_splits)](
        q_nope, q_rope, kv_cache, dummy if kv_cache_scale is None else kv_cache_scale, sc[0] if sc else dummy,
        block_tables, seq_lens, out, part_o, part_lse,
        float(sm_scale) * LOG2E,
        q_nope.stride(0), q_nope.stride(1), q_rope.stride(0), q_rope.stride(1), out.stride(0), out.stride(1),
        block_tables.stride(0),
        HQ, R, P,
        FMT=fmt.code, Q_DTYPE=_TL_DTYPES[q_nope.dtype], BLOCK_H=HEAD_TILE, BLOCK_R=block_r,
        BLOCK_P=max(16, triton.next_power_of_2(P)), BLOCK_N=block_n, BLOCK_SIZE=bs, NUM_SPLITS=num_splits,
        INTERPRET=interpreted(_mla_decode_kernel), num_warps=8 if block_r >= 256 else 4,
    )
    if num_splits > 1:
        _merge_kernel[(B, HQ)](
            part_o, part_lse, out, out.stride(0), out.stride(1), HQ, R,
            NUM_SPLITS=num_splits, BLOCK_S=max(2, triton.next_power_of_2(num_splits)),
            BLOCK_DV=triton.next_power_of_2(R), OUT_DTYPE=_TL_DTYPES[q_nope.dtype],
            num_warps=4 if R > 128 else 1,
        )
    return out


def mla_decode_attention_ref(
    q_nope, q_rope, kv_cache, block_tables, seq_lens, sm_scale, *, kv_cache_scale=None, kv_format=None, scale=None,
    out=None, num_splits=None, block_n=None, check_values: bool = True, max_seq_len=None,
) -> torch.Tensor:
    """Pure-torch mla_decode_attention: same contract, fp32 math on the dequantized latent
    (``num_splits``, ``block_n``, ``max_seq_len`` accepted and ignored)."""
    fmt, B, HQ, R, P, nb, bs, _ = _check_mla(
        q_nope, q_rope, kv_cache, block_tables, seq_lens, kv_cache_scale, kv_format, scale, out, kernel=False)
    check_block_table(block_tables, seq_lens, bs, nb, check_values)
    if out is None:
        out = torch.empty((B, HQ, R), dtype=q_nope.dtype, device=q_nope.device)
    fp8 = Q.fp8_scale_values(scale, 1, q_nope.device)[0] if fmt.code == Q.FP8 else None
    for b in range(B):
        n = int(seq_lens[b])
        cs = gather_sequence(kv_cache_scale, block_tables, b, n) if kv_cache_scale is not None else None
        c = Q.dequantize(fmt, gather_sequence(kv_cache, block_tables, b, n), cs, fp8)  # [n, R + P]
        scores = (q_nope[b].to(torch.float32) @ c[:, :R].T + q_rope[b].to(torch.float32) @ c[:, R:].T) * sm_scale
        p = torch.softmax(scores, dim=-1)
        out[b] = (p @ c[:, :R]).to(q_nope.dtype)
    return out


def compile_variant(fmt: int, cache_type: str, splits: int, ints: dict):
    """The compile_check variant of _mla_decode_kernel (DeepSeek-V2-Lite shapes by default)."""
    from kvplan.kernels.compile_check import Variant

    types = dict(qn_ptr="*bf16", qr_ptr="*bf16", c_ptr=cache_type, cs_ptr="*fp32", sc_ptr="*fp32", bt_ptr="*i32",
                 len_ptr="*i32", out_ptr="*bf16", po_ptr="*fp32", plse_ptr="*fp32", qk_scale="fp32")
    block_n = 16
    consts = dict(FMT=fmt, Q_DTYPE=tl.bfloat16, BLOCK_H=16, BLOCK_R=512, BLOCK_P=64, BLOCK_N=block_n,
                  BLOCK_SIZE=16, NUM_SPLITS=splits, INTERPRET=False)
    return Variant(f"mla_decode fmt={fmt} splits={splits}", _mla_decode_kernel, types, consts, 8, ints, block_n)
