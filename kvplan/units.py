"""Parsing and formatting of token counts and byte sizes.

Inside kvplan everything is an integer: bytes and tokens. Units appear only at the
edges: parsing user input here, and formatting in the report layer.

Token counts use binary suffixes (``32k`` = 32,768; ``1M`` = 1,048,576), as context
lengths are quoted that way. Memory uses SI for ``GB`` (``80GB`` = 80e9 bytes) and
binary for ``GiB`` (``79.19GiB`` = 79.19 * 2**30 = 85,029,615,042 bytes, rounded down).
"""

from __future__ import annotations

import math
import re

from kvplan import limits
from kvplan.errors import BadInputError

_TOKEN_SUFFIX = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
_MEM_SUFFIX = {
    "": 1,
    "b": 1,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "tb": 10**12,
    "kib": 1 << 10,
    "mib": 1 << 20,
    "gib": 1 << 30,
    "tib": 1 << 40,
}
_NUM = re.compile(r"^\s*([-+]?)([0-9][0-9_,]*(?:\.[0-9]+)?|\.[0-9]+)\s*([a-zA-Z]*)\s*$")
#: Separators inside the whole part: "8,192" (thousands, groups of three) or "1_000" (Python).
_THOUSANDS = re.compile(r"[0-9]{1,3}(?:,[0-9]{3})+")
_UNDERSCORES = re.compile(r"[0-9]+(?:_[0-9]+)*")


def cdiv(a: int, b: int) -> int:
    """Ceiling division for non-negative integers (works on numpy arrays too)."""
    return -(-a // b)


def round_up(n: int, m: int) -> int:
    """``n`` rounded up to a multiple of ``m`` (non-negative integers)."""
    return cdiv(n, m) * m


#: PyTorch's CUDA caching allocator hands out at least, and in multiples of, 512 B
#: (c10/cuda/CUDACachingAllocator.cpp ``kMinBlockSize = 512``, ``round_size``; unchanged for years,
#: torch 2.11 as vLLM 0.25/0.26 pin it): torch.cuda.memory_allocated() counts the rounded block.
CUDA_MIN_BLOCK_BYTES = 512


def allocated_bytes(n: int) -> int:
    """What one tensor of ``n`` bytes takes from the CUDA caching allocator (0 for none)."""
    return round_up(n, CUDA_MIN_BLOCK_BYTES) if n > 0 else 0


def _split(text: str, what: str) -> tuple[int, int, str]:
    """``'1.5k'`` -> (15, 10, 'k'): the number as an exact fraction num/den, and the unit.

    A comma is read only as a thousands separator (``8,192``): ``8,16`` is refused rather
    than read as 816, since on a one-value option it is a list the option does not take."""
    text = str(text)
    if len(text) > limits.MAX_NUMBER_CHARS:
        raise BadInputError(f"{what}: a number of {len(text):,} characters is beyond every limit of kvplan "
                            f"(see docs/limits.md)")
    m = _NUM.match(text)
    if not m and "," in text:
        raise BadInputError(f"{what}: {text!r} is not one number (this option takes one value)")
    if not m:
        raise BadInputError(f"{what}: cannot read {text!r} as a number")
    sign, digits, unit = m.groups()
    whole, _, frac = digits.partition(".")
    if "," in whole and not _THOUSANDS.fullmatch(whole):
        raise BadInputError(f"{what}: {text!r} is not one number (a comma separates thousands, as in 8,192; "
                            f"this option takes one value)")
    if "_" in whole and not _UNDERSCORES.fullmatch(whole):
        raise BadInputError(f"{what}: cannot read {text!r} as a number (underscores go between digits: 1_000)")
    num = int(whole.replace("_", "").replace(",", "") + frac or "0")
    return (-num if sign == "-" else num), 10 ** len(frac), unit.lower()


def parse_tokens(text: str | int, what: str = "token count", limit: int = limits.MAX_TOKENS) -> int:
    """``'32k'`` -> 32768, ``'1M'`` -> 1048576, ``'1.5k'`` -> 1536. Must be a whole, positive count
    of at most ``limit`` (kvplan.limits.MAX_TOKENS unless told)."""
    if isinstance(text, bool):
        raise BadInputError(f"{what}: expected a token count, got {text!r}")
    if isinstance(text, int):
        num, den = text, 1
    else:
        num, den, suffix = _split(text, what)
        if suffix not in _TOKEN_SUFFIX:
            raise BadInputError(
                f"{what}: unknown suffix {suffix!r} in {text!r} (use k, M or G: 32k = 32768)"
            )
        num *= _TOKEN_SUFFIX[suffix]
    if num <= 0:
        raise BadInputError(f"{what}: must be positive, got {_shown(text)}")
    if num % den:
        raise BadInputError(f"{what}: {text!r} is not a whole number of tokens")
    unit = " tokens" if limit == limits.MAX_TOKENS else ""
    return limits.check_int(num // den, what, limit, unit)


def _shown(value) -> str:
    return limits.show(value) if isinstance(value, int) else repr(value)


def parse_bytes(text: str | int | float, what: str = "memory size", limit: int = limits.MAX_MEMORY_BYTES) -> int:
    """``'80GB'`` -> 80_000_000_000, ``'79.19GiB'`` -> 85_029_615_042; bare numbers are bytes.
    At most ``limit`` bytes (kvplan.limits.MAX_MEMORY_BYTES unless told)."""
    if isinstance(text, bool):
        raise BadInputError(f"{what}: expected a size, got {text!r}")
    if isinstance(text, float):
        if not math.isfinite(text):
            raise BadInputError(f"{what}: must be finite, got {text!r}")
        num, den = text.as_integer_ratio()
    elif isinstance(text, int):
        num, den = text, 1
    else:
        num, den, suffix = _split(text, what)
        if suffix not in _MEM_SUFFIX:
            raise BadInputError(
                f"{what}: unknown unit {suffix!r} in {text!r} (use B, KB, MB, GB, KiB, MiB, GiB ...)"
            )
        num *= _MEM_SUFFIX[suffix]
    if num <= 0:
        raise BadInputError(f"{what}: must be positive, got {_shown(text)}")
    return limits.check_int(num // den, what, limit, " B")


def parse_list(text: str, parse, what: str) -> list:
    """Comma-separated values, each through ``parse``; rejects empty items and empty lists."""
    items = [t.strip() for t in str(text).split(",")]
    if not text or any(t == "" for t in items):
        raise BadInputError(f"{what}: empty item in {text!r}")
    return [parse(t, what) for t in items]


def format_bytes(n: int | float, binary: bool = True, digits: int = 2) -> str:
    """Human form: ``format_bytes(2**30)`` = ``'1.00 GiB'``; ``binary=False`` gives GB."""
    base, units = (1024, ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]) if binary else (
        1000,
        ["B", "KB", "MB", "GB", "TB", "PB"],
    )
    value = float(n)
    sign = "-" if value < 0 else ""
    value = abs(value)
    for unit in units:
        if value < base or unit == units[-1]:
            if unit == "B":
                return f"{sign}{int(value)} B"
            return f"{sign}{value:.{digits}f} {unit}"
        value /= base
    raise AssertionError("unreachable")


def format_tokens(n: int) -> str:
    """``32768`` -> ``'32k'`` when exact, else thousands separators."""
    for suffix, size in (("M", 1 << 20), ("k", 1 << 10)):
        if n >= size and n % size == 0:
            return f"{n // size}{suffix}"
    return f"{n:,}"


def suffix_note(flag: str, value) -> str | None:
    """kvplan reads token counts with binary suffixes (32k = 32,768); vLLM's human_readable_int
    reads a lower-case suffix as decimal (32k = 32,000; 1.5k = int(1.5 x 1000)) and an
    upper-case one as binary, whole numbers only (vllm/engine/arg_utils.py): the line saying so
    when they differ, else None."""
    import re

    if not isinstance(value, str):
        return None
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)([kmg])\s*", value)
    if not m:
        return None
    number, suffix = m.group(1), m.group(2)
    ours = parse_tokens(value, flag)
    theirs = int(float(number) * 10 ** (3 * " kmg".index(suffix)))
    upper = f"{ours:,}" if "." not in number else "an error (no decimals with binary suffixes)"
    return (f"{flag} {value.strip()} is {ours:,} tokens here (k = 1,024); vLLM reads {number}{suffix} as "
            f"{theirs:,} and {number}{suffix.upper()} as {upper}")
