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
from kvplan.kernels._jit import dot, dot_acc, interpreted, to_dtype
from kvplan.kernels.decode import (
    LOG2E,
    _TL_DTYPES,
    _epilogue,
    _load_codes,
    _pow2_prescale,
    _slots,
    _softmax_step,
    _split_range,
    check_block_table,
    check_num_splits,
    default_num_splits,
    dot_dtype,
    gather_sequence,
    launch_settings,
    merge_splits,
    occupancy_of,
    offsets_need_int64,
)

HEAD_TILE = 16  # query heads per program (tl.dot needs >= 16 rows)

#: GPU tile per format for wide latents (kv_lora_rank >= 256): (tokens per tile, warps).
#: From the sm_90 SASS of DeepSeek-V2-Lite's shapes (compile_check --sass; triton 3.6),
#: warp-instructions per 16 tokens of the main loop at (8 warps, 16 tokens) -> (4 warps, 32
#: tokens for bf16 and fp8, 16 for int8), the first choice:
#: bf16 2,960 -> 1,398 (202 registers, 2 blocks/SM), fp8 5,624 -> 2,616 (247, 1 block/SM),
#: int8 7,720 -> 4,748 (250, 2 blocks/SM; 32-token tiles spill there).
#: Then timed on an NVIDIA H200 (Triton 3.6, DeepSeek-V2-Lite latent at 16 x 8k, default
#: splits; docs/measurements/h200-session.md), % of the read roof at 16 / 32 / 64 tokens:
#: bf16 55 / 67 / 30, fp8 16 / 10 / 12, int8 17 / 20 / 20. So fp8 takes 16-token tiles and
#: int8 32 (the spill costs less than the halved tile count saves).
MLA_GPU_TILES = {Q.PLAIN: (32, 4), Q.FP8: (16, 4), Q.INT8: (32, 4)}


@triton.jit
def _mla_tile(
    qn, qr, acc, m_i, l_i, slot, start, hi, c_ptr, cs_ptr, qk_scale,
    R: tl.constexpr, P: tl.constexpr, FMT: tl.constexpr, DOT_DTYPE: tl.constexpr, BLOCK_R: tl.constexpr,
    BLOCK_P: tl.constexpr, BLOCK_N: tl.constexpr, MASKED: tl.constexpr, INTERPRET: tl.constexpr,
):
    """One tile of BLOCK_N latents: scores against [c_kv | k_rope], then p @ c_kv."""
    r = tl.arange(0, BLOCK_R)
    pr = tl.arange(0, BLOCK_P)
    tmask = start + tl.arange(0, BLOCK_N) < hi
    row = slot * (R + P)  # element offset of each token's latent
    cn = _load_codes(c_ptr + row[:, None] + r[None, :], tmask[:, None] & (r[None, :] < R), MASKED or R != BLOCK_R,
                     FMT, DOT_DTYPE, INTERPRET)  # [BLOCK_N, BLOCK_R]
    cr = _load_codes(c_ptr + row[:, None] + R + pr[None, :], tmask[:, None] & (pr[None, :] < P),
                     MASKED or P != BLOCK_P, FMT, DOT_DTYPE, INTERPRET)  # [BLOCK_N, BLOCK_P]
    sc = dot_acc(qr, tl.trans(cr), dot(qn, tl.trans(cn), INTERPRET), INTERPRET)  # [BLOCK_H, BLOCK_N]
    if FMT == 2:  # int8: one scale per token, with the softmax scale in one multiply per token
        if MASKED:
            ts = tl.load(cs_ptr + slot, mask=tmask, other=0.0)
        else:
            ts = tl.load(cs_ptr + slot)
        sc = sc * (ts * qk_scale)[None, :]
    else:
        sc = sc * qk_scale
    if MASKED:
        sc = tl.where(tmask[None, :], sc, float("-inf"))
    p, alpha, m_i, l_i = _softmax_step(sc, m_i, l_i)
    if FMT == 2:
        p = p * ts[None, :]
    acc = dot_acc(to_dtype(p, DOT_DTYPE), cn, acc * alpha[:, None], INTERPRET)
    return acc, m_i, l_i


@triton.jit(do_not_specialize=["num_splits"])  # one binary for every split count
def _mla_decode_kernel(
    qn_ptr, qr_ptr, c_ptr, cs_ptr, sc_ptr, bt_ptr, len_ptr, out_ptr, po_ptr, plse_ptr,
    qk_scale, qn_stride_b, qn_stride_h, qr_stride_b, qr_stride_h, o_stride_b, o_stride_h, bt_stride, num_splits,
    HQ: tl.constexpr, R: tl.constexpr, P: tl.constexpr,
    FMT: tl.constexpr, Q_DTYPE: tl.constexpr, DOT_DTYPE: tl.constexpr, BLOCK_H: tl.constexpr, BLOCK_R: tl.constexpr,
    BLOCK_P: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_SIZE: tl.constexpr, SPLIT: tl.constexpr,
    OFF64: tl.constexpr, INTERPRET: tl.constexpr,
):
    b = tl.program_id(0)
    hb = tl.program_id(1)
    s = tl.program_id(2)
    lo, hi = _split_range(len_ptr, b, s, num_splits, BLOCK_N)
    hh = hb * BLOCK_H + tl.arange(0, BLOCK_H)
    hmask = hh < HQ
    r = tl.arange(0, BLOCK_R)
    rmask = r < R
    pr = tl.arange(0, BLOCK_P)
    b64 = b.to(tl.int64)
    qn = tl.load(qn_ptr + b64 * qn_stride_b + hh[:, None] * qn_stride_h + r[None, :],
                 mask=hmask[:, None] & rmask[None, :], other=0.0)
    qr = tl.load(qr_ptr + b64 * qr_stride_b + hh[:, None] * qr_stride_h + pr[None, :],
                 mask=hmask[:, None] & (pr[None, :] < P), other=0.0)
    scale = qk_scale
    v_scale = 1.0
    if FMT == 1:  # one per-tensor fp8 scale for the whole latent
        v_scale = tl.load(sc_ptr)
        scale = qk_scale * v_scale
    if DOT_DTYPE != Q_DTYPE:  # bf16 queries against fp16 operands (fp8 latents)
        qnf = qn.to(tl.float32)
        qrf = qr.to(tl.float32)
        inv = _pow2_prescale(tl.maximum(tl.max(tl.max(tl.abs(qnf), axis=1), axis=0),
                                        tl.max(tl.max(tl.abs(qrf), axis=1), axis=0)))
        qn = (qnf * inv).to(DOT_DTYPE)
        qr = (qrf * inv).to(DOT_DTYPE)
        scale = tl.math.div_rn(scale, inv)
    m_i = tl.full([BLOCK_H], float("-inf"), tl.float32)
    l_i = tl.zeros([BLOCK_H], tl.float32)
    acc = tl.zeros([BLOCK_H, BLOCK_R], tl.float32)
    bt_row = bt_ptr + b64 * bt_stride
    # The next tile's slots are loaded one iteration ahead (as in paged_decode_attention). Every
    # tile is masked: a separate unmasked main loop plus a masked last tile makes the compiler
    # keep the [16, 512] query in registers for both (250+ registers, spills).
    nxt = _slots(bt_row, lo, hi, BLOCK_N, BLOCK_SIZE, OFF64)
    if INTERPRET:  # triton 3.6's interpreter cannot take loaded loop bounds in range()
        start = lo
        while start < hi:
            cur = nxt
            nxt = _slots(bt_row, start + BLOCK_N, hi, BLOCK_N, BLOCK_SIZE, OFF64)
            acc, m_i, l_i = _mla_tile(qn, qr, acc, m_i, l_i, cur, start, hi, c_ptr, cs_ptr, scale, R, P, FMT,
                                      DOT_DTYPE, BLOCK_R, BLOCK_P, BLOCK_N, True, INTERPRET)
            start += BLOCK_N
    else:
        for start in range(lo, hi, BLOCK_N):
            cur = nxt
            nxt = _slots(bt_row, start + BLOCK_N, hi, BLOCK_N, BLOCK_SIZE, OFF64)
            acc, m_i, l_i = _mla_tile(qn, qr, acc, m_i, l_i, cur, start, hi, c_ptr, cs_ptr, scale, R, P, FMT,
                                      DOT_DTYPE, BLOCK_R, BLOCK_P, BLOCK_N, True, INTERPRET)
    _epilogue(acc, m_i, l_i, v_scale, hh, hmask, r, rmask, b, s, num_splits, out_ptr, o_stride_b, o_stride_h, po_ptr,
              plse_ptr, HQ, R, SPLIT, Q_DTYPE)


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
    launch_info: dict | None = None,
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
    ``num_splits``, ``block_n``, ``check_values``, ``max_seq_len`` and ``launch_info`` as in
    paged_decode_attention. Raises TypeError / ValueError on bad inputs.
    """
    fmt, B, HQ, R, P, nb, bs, sc = _check_mla(
        q_nope, q_rope, kv_cache, block_tables, seq_lens, kv_cache_scale, kv_format, scale, out, kernel=True)
    longest = check_block_table(block_tables, seq_lens, bs, nb, check_values)
    if max_seq_len is None:
        max_seq_len = longest
    device = q_nope.device
    block_r = max(16, triton.next_power_of_2(R))
    gpu_block_n, num_warps = MLA_GPU_TILES[fmt.code] if block_r >= 256 else (32, 4)
    if block_n is None:
        block_n = gpu_block_n if device.type == "cuda" else 16
    if block_n < 16 or block_n & (block_n - 1):
        raise ValueError(f"block_n must be a power of two >= 16, got {block_n}")
    head_tiles = -(-HQ // HEAD_TILE)
    check_num_splits(num_splits)
    if not isinstance(sm_scale, (int, float)) or isinstance(sm_scale, bool) or not sm_scale > 0:
        raise ValueError(f"sm_scale must be a positive number, got {sm_scale!r}")
    if out is None:
        out = torch.empty((B, HQ, R), dtype=q_nope.dtype, device=device)
    if B == 0:
        return out
    q_tl = _TL_DTYPES[q_nope.dtype]
    consts = dict(
        HQ=HQ, R=R, P=P, FMT=fmt.code, Q_DTYPE=q_tl, DOT_DTYPE=dot_dtype(fmt.code, q_tl), BLOCK_H=HEAD_TILE,
        BLOCK_R=block_r, BLOCK_P=max(16, triton.next_power_of_2(P)), BLOCK_N=block_n, BLOCK_SIZE=bs,
        OFF64=offsets_need_int64(kv_cache, kv_cache_scale), INTERPRET=interpreted(_mla_decode_kernel),
        **launch_settings(num_warps),
    )
    dummy = kv_cache

    def args(splits, part_o, part_lse):
        return (q_nope, q_rope, kv_cache, dummy if kv_cache_scale is None else kv_cache_scale,
                sc[0] if sc else dummy, block_tables, seq_lens, out, part_o, part_lse,
                float(sm_scale) * LOG2E,
                q_nope.stride(0), q_nope.stride(1), q_rope.stride(0), q_rope.stride(1), out.stride(0),
                out.stride(1), block_tables.stride(0), splits)

    per_sm = None
    if num_splits is None:
        key = ("mla", device.index, *sorted((k, str(v)) for k, v in consts.items()))
        per_sm = occupancy_of(_mla_decode_kernel, key, device, args(2, out, out), dict(consts, SPLIT=True))
        num_splits = default_num_splits(B, head_tiles, max_seq_len, device, block_n, per_sm)
    if launch_info is not None:  # as paged_decode_attention's
        launch_info.update(num_splits=num_splits, maxnreg=None, blocks_per_sm=per_sm, block_n=block_n)
    if num_splits > 1:
        part_o = torch.empty((B, HQ, num_splits, R), dtype=torch.float32, device=device)
        part_lse = torch.empty((B, HQ, num_splits), dtype=torch.float32, device=device)
    else:
        part_o = part_lse = out  # unused
    _mla_decode_kernel[(B, head_tiles, num_splits)](*args(num_splits, part_o, part_lse), SPLIT=num_splits > 1,
                                                     **consts)
    if num_splits > 1:
        merge_splits(part_o, part_lse, out, num_splits)
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
    block_n, num_warps = MLA_GPU_TILES[fmt]
    consts = dict(HQ=ints["HQ"], R=ints["R"], P=ints["P"], FMT=fmt, Q_DTYPE=tl.bfloat16,
                  DOT_DTYPE=dot_dtype(fmt, tl.bfloat16), BLOCK_H=16, BLOCK_R=512, BLOCK_P=64, BLOCK_N=block_n,
                  BLOCK_SIZE=16, SPLIT=splits > 1, OFF64=False, INTERPRET=False)
    return Variant(f"mla_decode fmt={fmt} splits={splits}", _mla_decode_kernel, types, consts, num_warps,
                   dict(ints, num_splits=splits), block_n)
