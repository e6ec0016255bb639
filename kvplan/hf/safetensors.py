"""safetensors headers: the tensor names, dtypes and shapes of a checkpoint, never its data.

A safetensors file is an 8-byte little-endian header length N, N bytes of JSON
(``{"name": {"dtype": "BF16", "shape": [4096, 4096], "data_offsets": [begin, end]}, ...,
"__metadata__": {...}}``), then the tensor bytes. Only the first 8 + N bytes are read, and N
is bounded by ``MAX_HEADER_BYTES`` before anything else is read.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from math import prod
from pathlib import Path

from kvplan.errors import BadInputError

#: Largest header accepted: huggingface_hub's SAFETENSORS_MAX_HEADER_LENGTH (constants.py),
#: 25,000,000 bytes; the largest Hub headers are a few MB (a 1,000-tensor shard: ~100 kB).
MAX_HEADER_BYTES = 25_000_000

#: Bits per element of each safetensors dtype (safetensors' Dtype enum).
DTYPE_BITS = {
    "BOOL": 8, "U8": 8, "I8": 8, "F8_E4M3": 8, "F8_E5M2": 8, "F8_E8M0": 8, "E8M0": 8,
    "I16": 16, "U16": 16, "F16": 16, "BF16": 16,
    "I32": 32, "U32": 32, "F32": 32,
    "I64": 64, "U64": 64, "F64": 64,
    "F4": 4, "F6_E2M3": 6, "F6_E3M2": 6,
}

#: Floating dtypes that hold unquantized weights (served in the model dtype by vLLM).
FLOAT_DTYPES = frozenset({"F32", "F16", "BF16", "F64"})


@dataclass(frozen=True)
class TensorInfo:
    """One tensor as a header describes it."""

    name: str
    dtype: str
    shape: tuple[int, ...]

    @property
    def numel(self) -> int:
        return prod(self.shape)

    @property
    def nbytes(self) -> int:
        return -(-self.numel * DTYPE_BITS[self.dtype] // 8)


def header_length(prefix: bytes, where: str, file_bytes: int | None = None) -> int:
    """The JSON header's length from a file's first 8 bytes, bounded."""
    if len(prefix) < 8:
        raise BadInputError(f"{where}: not a safetensors file (shorter than 8 bytes)")
    (n,) = struct.unpack("<Q", prefix[:8])
    if n > MAX_HEADER_BYTES:
        raise BadInputError(f"{where}: safetensors header of {n:,} bytes exceeds the {MAX_HEADER_BYTES:,}-byte limit")
    if file_bytes is not None and 8 + n > file_bytes:
        raise BadInputError(f"{where}: safetensors header of {n:,} bytes runs past the end of the file")
    return n


def parse_header(raw: bytes, where: str, data_bytes: int | None = None) -> tuple[TensorInfo, ...]:
    """The tensors of one header (its JSON bytes). ``data_bytes``: the size of the data part,
    when known, to check every tensor's offsets against."""
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise BadInputError(f"{where}: the safetensors header is not JSON") from None
    if not isinstance(header, dict):
        raise BadInputError(f"{where}: the safetensors header is not a JSON object")
    out = []
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        if not isinstance(entry, dict):
            raise BadInputError(f"{where}: tensor {name!r} has no dtype/shape entry")
        dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
        if dtype not in DTYPE_BITS:
            raise BadInputError(f"{where}: tensor {name!r} has dtype {dtype!r}, not one safetensors defines")
        if not isinstance(shape, list) or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0
                                                  for d in shape):
            raise BadInputError(f"{where}: tensor {name!r} has a bad shape {shape!r}")
        t = TensorInfo(name, dtype, tuple(shape))
        if (not isinstance(offsets, list) or len(offsets) != 2
                or not all(isinstance(o, int) and not isinstance(o, bool) for o in offsets)
                or offsets[1] - offsets[0] != t.nbytes or offsets[0] < 0
                or (data_bytes is not None and offsets[1] > data_bytes)):
            raise BadInputError(f"{where}: tensor {name!r}: data_offsets {offsets!r} do not hold "
                                f"{t.nbytes:,} bytes of {dtype} {list(shape)}")
        out.append(t)
    return tuple(out)


def read_header(path: Path) -> tuple[TensorInfo, ...]:
    """The tensors of a local .safetensors file: reads 8 + header bytes only."""
    path = Path(path)
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            n = header_length(f.read(8), str(path), size)
            raw = f.read(n)
    except OSError as err:
        raise BadInputError(f"{path}: cannot read ({err.strerror})") from None
    return parse_header(raw, str(path), size - 8 - n)
