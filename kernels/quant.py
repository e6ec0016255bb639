"""Cache formats the kernels store, their exact quantization rules, and input checks.

This module is pure torch: the references (``*_ref``) and the tests use it, the Triton
kernels implement the same rules bit for bit (on the CPU interpreter and on GPUs; the
kernels use IEEE division ``tl.math.div_rn`` and explicit rounding to get there).

Formats (names as in kvplan.formats; layout as kvplan.layout builds it, NHD):

  bf16, fp16  plain copy; the cache has the dtype of the new keys/values.
  fp8_e4m3    q = e4m3(clamp(x / s, -448, 448)), rounded to nearest even; ``s`` is a
              per-tensor scale (python float or 0-d tensor) or one fp32 scale per KV
              head (a [H] tensor); not stored in the cache. x ~ q * s.
  int8        one fp32 scale per token and head: s = max|x| / 127 (IEEE division);
              q = trunc(x / s' + copysign(0.5, x)) clamped to [-127, 127], where
              s' = s, or 1 when s == 0 (an all-zero vector). x ~ q * s.
              Cache scale tensor [num_blocks, block_size, H] fp32.
  int4        per group of 32 values (the planner's "groups of 32 with fp16 scale and
              zero"; head_dim 32 is exactly one group per token and head):
              s = fp16((max - min) / 15), m = fp16(min)   (IEEE division, then rounding
              to fp16, nearest even), q = trunc((x - m) / s' + 0.5) clamped to [0, 15]
              with s' = s, or 1 when s == 0. x ~ q * s + m   (the "zero" slot holds the
              group minimum m). Two values per byte, low nibble = even index. Payload
              [num_blocks, block_size, H, D / 2] uint8; scales
              [num_blocks, block_size, H, D / 32, 2] fp16 holding (s, m).

All arithmetic is fp32 on values first converted exactly from bf16/fp16. Inputs must be
finite; int4 needs |x| < 65504 (fp16's largest value) for its minimum and scale.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import torch

#: Formats the kernels implement, in kvplan.formats names.
KERNEL_FORMATS = ("bf16", "fp16", "fp8_e4m3", "int8", "int4")

FP8_MAX = 448.0  # largest finite float8_e4m3fn
INT8_MAX = 127.0
INT4_LEVELS = 15.0
INT4_GROUP = 32


@dataclass(frozen=True)
class KernelFormat:
    """How one kvplan format is stored, and the code the kernels switch on."""

    name: str
    code: int  # constexpr FMT in the kernels
    cache_dtype: torch.dtype
    scale_dtype: torch.dtype | None = None  # dtype of the cache's scale tensor, if any

    @property
    def has_cache_scale(self) -> bool:
        return self.scale_dtype is not None

    def payload_dim(self, dim: int) -> int:
        return dim // 2 if self.name == "int4" else dim


# Codes used as tl.constexpr in the kernels.
PLAIN, FP8, INT8, INT4 = 0, 1, 2, 3

_FORMATS = {
    "bf16": KernelFormat("bf16", PLAIN, torch.bfloat16),
    "fp16": KernelFormat("fp16", PLAIN, torch.float16),
    "fp8_e4m3": KernelFormat("fp8_e4m3", FP8, torch.float8_e4m3fn),
    "int8": KernelFormat("int8", INT8, torch.int8, torch.float32),
    "int4": KernelFormat("int4", INT4, torch.uint8, torch.float16),
}
_BY_DTYPE = {f.cache_dtype: f for f in _FORMATS.values()}


def resolve_code(name: str) -> int:
    """The kernels' format code of a kvplan format name (KERNEL_FORMATS only)."""
    return _FORMATS[name].code


def resolve_format(kv_format: str | None, cache: torch.Tensor, what: str = "k_cache") -> KernelFormat:
    """The KernelFormat for ``kv_format`` (a kvplan.formats name or alias), or the one
    implied by the cache dtype when ``kv_format`` is None (uint8 means int4)."""
    if not isinstance(cache, torch.Tensor):
        raise TypeError(f"{what} must be a torch.Tensor, got {type(cache).__name__}")
    if kv_format is None:
        fmt = _BY_DTYPE.get(cache.dtype)
        if fmt is None:
            raise TypeError(
                f"{what} has dtype {cache.dtype}, which is no cache format of these kernels; "
                f"use {', '.join(str(f.cache_dtype) for f in _FORMATS.values())}"
            )
        return fmt
    from kvplan.errors import KvplanError
    from kvplan.formats import get_format

    try:
        name = get_format(str(kv_format)).name
    except KvplanError as err:
        raise ValueError(str(err)) from None
    if name not in _FORMATS:
        raise ValueError(
            f"kv format {name} is not implemented by the kernels; use one of {', '.join(KERNEL_FORMATS)}"
        )
    fmt = _FORMATS[name]
    if cache.dtype != fmt.cache_dtype:
        raise TypeError(f"{what} must be {fmt.cache_dtype} for kv format {name}, got {cache.dtype}")
    return fmt


# -- checks shared by the wrappers -------------------------------------------------------
def check_tensor(
    t,
    name: str,
    *,
    ndim: int | None = None,
    dtypes: tuple[torch.dtype, ...] | None = None,
    device: torch.device | None = None,
    contiguous: bool = False,
) -> torch.Tensor:
    """TypeError for a non-tensor or a wrong dtype; ValueError for rank/device/layout."""
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
    if dtypes is not None and t.dtype not in dtypes:
        want = " or ".join(str(d) for d in dtypes)
        raise TypeError(f"{name} must be {want}, got {t.dtype}")
    if ndim is not None and t.dim() != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions, got shape {tuple(t.shape)}")
    if device is not None and t.device != device:
        raise ValueError(f"{name} is on {t.device} but the other inputs are on {device}")
    if contiguous and not t.is_contiguous():
        raise ValueError(f"{name} must be contiguous (call .contiguous()); got strides {t.stride()}")
    if t.dim() and t.stride(-1) != 1 and t.shape[-1] > 1:
        raise ValueError(f"{name} must have a unit stride in its last dimension, got strides {t.stride()}")
    return t


def check_shape(t: torch.Tensor, name: str, shape: tuple[int, ...], what: str = "") -> None:
    if tuple(t.shape) != tuple(shape):
        hint = f" ({what})" if what else ""
        raise ValueError(f"{name} must have shape {tuple(shape)}{hint}, got {tuple(t.shape)}")


def check_decode_io(block_tables, seq_lens, out, out_dtype, out_shape, out_desc: str, q_name: str, device) -> None:
    """Decode kernels' shared checks: int32 block tables [B, max_blocks] and seq_lens [B] on
    ``device``, one row per query sequence, and an optional ``out`` of ``out_shape``."""
    batch = out_shape[0]
    check_tensor(block_tables, "block_tables", ndim=2, dtypes=(torch.int32,), device=device)
    check_tensor(seq_lens, "seq_lens", ndim=1, dtypes=(torch.int32,), device=device)
    if block_tables.shape[0] != batch or seq_lens.shape[0] != batch:
        raise ValueError(
            f"block_tables ({block_tables.shape[0]} rows) and seq_lens ({seq_lens.shape[0]}) need one entry "
            f"per sequence of {q_name} ({batch})"
        )
    if out is not None:
        check_tensor(out, "out", ndim=3, dtypes=(out_dtype,), device=device)
        check_shape(out, "out", tuple(out_shape), out_desc)


def check_kernel_device(device: torch.device) -> None:
    """Kernels run on CUDA, or on the CPU under the Triton interpreter."""
    if device.type == "cuda":
        return
    if device.type == "cpu" and os.environ.get("TRITON_INTERPRET", "") == "1":
        return
    raise ValueError(
        f"the Triton kernels need CUDA tensors (got {device}); on the CPU set TRITON_INTERPRET=1 "
        "before importing triton, or use the *_ref functions"
    )


def check_cache_scale(
    fmt: KernelFormat, scale, name: str, cache_name: str, lead: tuple[int, ...], dim: int, device
) -> torch.Tensor | None:
    """Check the cache-scale tensor of ``fmt`` for vectors of ``dim`` values indexed by ``lead``."""
    if not fmt.has_cache_scale:
        if scale is not None:
            raise ValueError(f"{name} is only used by the int8 and int4 formats, not {fmt.name}")
        return None
    if scale is None:
        raise ValueError(f"kv format {fmt.name} needs {name} (the scales that go with {cache_name})")
    check_tensor(scale, name, dtypes=(fmt.scale_dtype,), device=device, contiguous=True)
    if fmt.code == INT8:
        check_shape(scale, name, lead, "one fp32 scale per stored vector")
    else:
        check_shape(scale, name, (*lead, dim // INT4_GROUP, 2), "fp16 (scale, min) per 32 values")
    return scale


def check_vector_dim(fmt: KernelFormat, dim: int, name: str) -> None:
    if fmt.code == INT4 and (dim % INT4_GROUP or dim < INT4_GROUP):
        raise ValueError(f"{name}: int4 stores groups of {INT4_GROUP} values; a dimension of {dim} is not a multiple")


def fp8_scale_tensor(fmt: KernelFormat, scale, heads: int, device, name: str) -> tuple[torch.Tensor, int] | None:
    """A fp8 scale argument as (fp32 tensor, stride per head): per-tensor -> stride 0.

    ``scale`` may be None (1.0), a python number, a 0-d or 1-element tensor, or a [heads]
    tensor. Non-fp8 formats take no scale (ValueError if one is given)."""
    if fmt.code != FP8:
        if scale is not None:
            raise ValueError(f"{name} is the fp8 scale; kv format {fmt.name} takes none")
        return None
    if scale is None:
        scale = 1.0
    if isinstance(scale, bool):
        raise TypeError(f"{name} must be a number or a float32 tensor, got bool")
    if isinstance(scale, (int, float)):
        value = float(scale)
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a positive finite number, got {scale}")
        return torch.full((1,), value, dtype=torch.float32, device=device), 0
    if not isinstance(scale, torch.Tensor):
        raise TypeError(f"{name} must be a number or a float32 tensor, got {type(scale).__name__}")
    check_tensor(scale, name, dtypes=(torch.float32,), device=device)
    if scale.numel() == 1 and scale.dim() <= 1:
        return scale.reshape(1), 0
    if scale.dim() != 1 or scale.shape[0] != heads:
        raise ValueError(
            f"{name} must be a scalar (per-tensor) or have shape ({heads},) (one per KV head), "
            f"got {tuple(scale.shape)}"
        )
    return scale.contiguous(), 1


def fp8_scale_values(scale, heads: int, device) -> torch.Tensor:
    """The fp8 scale argument as a [heads] fp32 tensor (for the references)."""
    if scale is None:
        scale = 1.0
    if isinstance(scale, (int, float)):
        return torch.full((heads,), float(scale), dtype=torch.float32, device=device)
    return scale.to(torch.float32).reshape(-1).expand(heads).to(device)


# -- reference quantizers (fp32 math, bit-exact with the kernels) ------------------------
def round_half_away(y: torch.Tensor) -> torch.Tensor:
    """trunc(y + copysign(0.5, y)): what the kernels compute with a float->int cast."""
    return torch.trunc(y + torch.where(y >= 0, 0.5, -0.5))


def ieee_div(a: torch.Tensor, b) -> torch.Tensor:
    """fp32 ``a / b`` correctly rounded on every device. torch on CUDA divides by a Python
    number as ``a * (1 / b)`` (aten's div_true_kernel_cuda), which differs from the IEEE
    quotient in the last bit now and then: on an H200, 3,246 of 65,536 int8 scales
    (docs/measurements/h200-session.md). The quotient in float64 rounded once to fp32 is
    the IEEE one (53 >= 2 x 24 + 2 bits, so the double rounding is innocuous). A Python
    ``b`` is taken as the fp32 the kernels hold, on ``a``'s device (never a CPU scalar)."""
    if not isinstance(b, torch.Tensor):
        b = torch.tensor(float(b), dtype=torch.float32, device=a.device)
    return (a.double() / b.double()).float()


def quantize_fp8(x: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """x (any float dtype, [..., D]) / scale (broadcastable to x) -> float8_e4m3fn."""
    y = ieee_div(x.to(torch.float32), scale.to(torch.float32))
    return y.clamp(-FP8_MAX, FP8_MAX).to(torch.float8_e4m3fn)


def quantize_int8(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """[..., D] -> (int8 [..., D], fp32 scale [...]), one scale per vector."""
    xf = x.to(torch.float32)
    scale = ieee_div(xf.abs().amax(dim=-1), INT8_MAX)
    safe = torch.where(scale > 0, scale, torch.ones_like(scale))
    q = round_half_away(ieee_div(xf, safe[..., None])).clamp(-INT8_MAX, INT8_MAX)
    return q.to(torch.int8), scale


def quantize_int4(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """[..., D] -> (uint8 [..., D/2] two nibbles per byte, low = even index;
    fp16 [..., D/32, 2] holding (scale, min) per group of 32)."""
    d = x.shape[-1]
    if d % INT4_GROUP:
        raise ValueError(f"int4 needs a multiple of {INT4_GROUP} values per vector, got {d}")
    xg = x.to(torch.float32).reshape(*x.shape[:-1], d // INT4_GROUP, INT4_GROUP)
    lo = xg.amin(dim=-1)
    hi = xg.amax(dim=-1)
    s16 = ieee_div(hi - lo, INT4_LEVELS).to(torch.float16)
    m16 = lo.to(torch.float16)
    s = s16.to(torch.float32)
    safe = torch.where(s > 0, s, torch.ones_like(s))
    q = torch.trunc(ieee_div(xg - m16.to(torch.float32)[..., None], safe[..., None]) + 0.5).clamp(0, INT4_LEVELS)
    q = q.to(torch.uint8).reshape(*x.shape[:-1], d)
    packed = q[..., 0::2] | (q[..., 1::2] << 4)
    return packed, torch.stack([s16, m16], dim=-1)


def unpack_int4(packed: torch.Tensor) -> torch.Tensor:
    """uint8 [..., D/2] -> the 4-bit codes as uint8 [..., D] (even index from the low nibble)."""
    lo = packed & 0xF
    hi = packed >> 4
    return torch.stack([lo, hi], dim=-1).reshape(*packed.shape[:-1], packed.shape[-1] * 2)


def dequantize(
    fmt: KernelFormat,
    payload: torch.Tensor,
    cache_scale: torch.Tensor | None = None,
    fp8_scale: torch.Tensor | None = None,
) -> torch.Tensor:
    """Stored vectors -> fp32 [..., D]. ``fp8_scale`` broadcasts against [..., D]'s
    leading dims (e.g. [H, 1] for per-head scales over [..., H, D])."""
    if fmt.code == PLAIN:
        return payload.to(torch.float32)
    if fmt.code == FP8:
        scale = torch.ones((), dtype=torch.float32, device=payload.device) if fp8_scale is None else fp8_scale
        return payload.to(torch.float32) * scale
    if fmt.code == INT8:
        return payload.to(torch.float32) * cache_scale.to(torch.float32)[..., None]
    codes = unpack_int4(payload).to(torch.float32)
    d = codes.shape[-1]
    g = codes.reshape(*codes.shape[:-1], d // INT4_GROUP, INT4_GROUP)
    sm = cache_scale.to(torch.float32)
    out = g * sm[..., 0:1] + sm[..., 1:2]
    return out.reshape(*codes.shape[:-1], d)
