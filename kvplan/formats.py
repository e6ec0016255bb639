"""KV-cache storage formats and their exact byte cost, scales included.

A format turns one vector of ``n`` values (a K or V head vector, or an MLA latent) into
bytes:

    vector_bytes(n) = cdiv(n * value_bits, 8) + scale_groups(n) * scale_bytes

where ``scale_groups`` is 0 for a per-tensor scale (fp8), 1 for one scale per vector
(int8: one fp32 scale per token and head) and ``n / group`` for block formats.

Worked numbers (head_dim 128):
  bf16   256 B                  fp8 (per-tensor scale) 128 B
  int8   128 + 4 = 132 B        (DESIGN.md: "adds 4 / head_dim bytes per element")
  int4   64 + 4 * (2 + 2) = 80 B   (groups of 32, fp16 scale and zero; KIVI-style)
  int2   32 + 4 * 4 = 48 B
  nvfp4  64 + 8 * 1 = 72 B      (d/2 + d/16: e2m1 values, one fp8 e4m3 scale per 16)
  mxfp4  64 + 4 * 1 = 68 B      (OCP MX: e2m1 values, one e8m0 scale per 32)
  q8_0   4 * 34 = 136 B         (llama.cpp ggml-common.h: block_q8_0 = fp16 d + 32 int8)
  q4_0   4 * 18 = 72 B          (block_q4_0 = fp16 d + 16 bytes of nibbles)
  q4_1   4 * 20 = 80 B          (fp16 d, fp16 m, 16 bytes)
  q5_0   4 * 22 = 88 B          (fp16 d, 4 bytes of high bits, 16 bytes)
  q5_1   4 * 24 = 96 B          (fp16 d, fp16 m, 4 bytes of high bits, 16 bytes)

One format stores MLA latents only: ``fp8_ds_mla``, the record DeepSeek's FlashMLA kernels
read (see ``DeepSeekSparseMLA``): 656 B for a 512 + 64 latent instead of 1,152 in bf16. It
is kept apart (``LATENT_FORMATS``): ``get_format`` finds it by name, comparisons over every
format (``FORMATS``, ``--kv-dtype all``) leave it out.

Block formats need the vector length to be a multiple of the block (llama.cpp asserts
this for its rows; kvplan applies formats per head vector, which for every built-in model
gives the same bytes as llama.cpp's per-row blocks).
"""

from __future__ import annotations

from dataclasses import dataclass

from kvplan.errors import ShapeError, UnknownNameError


@dataclass(frozen=True)
class KVFormat:
    """One storage format. ``value_bits`` is the payload per value, before scales."""

    name: str
    value_bits: int
    description: str
    # Scale granularity: "tensor" (no per-vector bytes), "vector" (one per vector),
    # or "group" (one per ``group`` values).
    scale_scope: str = "tensor"
    group: int = 0
    scale_bytes: int = 0
    # Element dtype as torch names it, for layouts and kernels; None for packed formats.
    torch_dtype: str | None = None

    def scale_groups(self, n: int) -> int:
        if self.scale_scope == "tensor":
            return 0
        if self.scale_scope == "vector":
            return 1
        if n % self.group:
            raise ShapeError(
                f"kv format {self.name} stores blocks of {self.group} values; "
                f"a vector of {n} is not a multiple of {self.group}"
            )
        return n // self.group

    def payload_bytes(self, n: int) -> int:
        bits = n * self.value_bits
        if bits % 8:
            raise ShapeError(
                f"kv format {self.name}: {n} values of {self.value_bits} bits do not fill whole bytes"
            )
        return bits // 8

    def vector_bytes(self, n: int) -> int:
        """Exact bytes of one vector of ``n`` values, scales and zero points included."""
        return self.payload_bytes(n) + self.scale_groups(n) * self.scale_bytes

    def supports(self, n: int) -> bool:
        try:
            self.vector_bytes(n)
        except ShapeError:
            return False
        return True

    def latent_bytes(self, kv_lora_rank: int, rope_dim: int) -> int:
        """Bytes of one MLA latent (kv_lora_rank compressed values + rope_dim rope values):
        one vector of their sum, for every format but the latent-only ones."""
        return self.vector_bytes(kv_lora_rank + rope_dim)

    @property
    def bytes_per_value(self) -> float:
        """Nominal cost per value for large vectors (for display and ordering only)."""
        if self.scale_scope == "group":
            return self.value_bits / 8 + self.scale_bytes / self.group
        return self.value_bits / 8


@dataclass(frozen=True)
class DeepSeekSparseMLA(KVFormat):
    """vLLM's ``fp8_ds_mla``: FlashMLA's packed record of one DeepSeek MLA latent (the KV
    dtype vLLM uses for DeepSeek-V3.2 when an fp8 cache is asked for:
    vllm/model_executor/models/config.py DeepseekV32ForCausalLM). Per token and layer:

        512 compressed values in fp8 e4m3                     512 B
        one fp32 scale per 128 of them (4 scales)              16 B
        64 rope values kept in bf16                           128 B
                                                              656 B

    (vllm/v1/attention/backends/mla/flashmla_sparse.py get_kv_cache_shape: "custom storage
    format is 656 bytes", head size 576 only; kv_cache_interface.py MLAAttentionSpec pages
    of block_size x 656). Only a 512 + 64 latent has this layout: a K/V head vector, or any
    other latent, cannot be stored in it."""

    rank: int = 512
    rope: int = 64
    block: int = 128  # compressed values per fp32 scale

    @property
    def record_bytes(self) -> int:
        return self.rank + self.rank // self.block * 4 + self.rope * 2

    def latent_bytes(self, kv_lora_rank: int, rope_dim: int) -> int:
        if (kv_lora_rank, rope_dim) != (self.rank, self.rope):
            raise ShapeError(
                f"kv format {self.name} is FlashMLA's record for a {self.rank} + {self.rope} MLA latent; "
                f"this latent is {kv_lora_rank} + {rope_dim}"
            )
        return self.record_bytes

    def vector_bytes(self, n: int) -> int:
        raise ShapeError(f"kv format {self.name} stores DeepSeek MLA latents only, not K/V head vectors")

    def payload_bytes(self, n: int) -> int:
        """The packed record as one uint8 row (kvplan.layout's latent tensor)."""
        if n != self.rank + self.rope:
            return self.vector_bytes(n)
        return self.record_bytes

    @property
    def bytes_per_value(self) -> float:
        return (self.rank + self.rank // self.block * 4 + self.rope * 2) / (self.rank + self.rope)


def _f(*args, **kwargs) -> KVFormat:
    return KVFormat(*args, **kwargs)


# Ordered from largest to smallest nominal size; `kvplan size` lists them in this order.
FORMATS: dict[str, KVFormat] = {
    f.name: f
    for f in (
        _f("fp32", 32, "IEEE float32", torch_dtype="float32"),
        _f("bf16", 16, "bfloat16", torch_dtype="bfloat16"),
        _f("fp16", 16, "IEEE float16", torch_dtype="float16"),
        _f("q8_0", 8, "llama.cpp q8_0: 32 int8 + fp16 scale per block", "group", 32, 2),
        _f("int8", 8, "int8, one fp32 scale per token and head", "vector", 0, 4, "int8"),
        _f("fp8_e4m3", 8, "fp8 e4m3, per-tensor scale", torch_dtype="float8_e4m3fn"),
        _f("fp8_e5m2", 8, "fp8 e5m2, per-tensor scale", torch_dtype="float8_e5m2"),
        _f("q5_1", 5, "llama.cpp q5_1: fp16 scale + fp16 min per 32", "group", 32, 4),
        _f("q5_0", 5, "llama.cpp q5_0: fp16 scale per 32", "group", 32, 2),
        _f("int4", 4, "int4 (2 per byte), fp16 scale + zero per 32", "group", 32, 4),
        _f("q4_1", 4, "llama.cpp q4_1: fp16 scale + fp16 min per 32", "group", 32, 4),
        _f("q4_0", 4, "llama.cpp q4_0: fp16 scale per 32", "group", 32, 2),
        _f("nvfp4", 4, "NVFP4: e2m1, fp8 e4m3 scale per 16", "group", 16, 1),
        _f("mxfp4", 4, "OCP MXFP4: e2m1, e8m0 scale per 32", "group", 32, 1),
        _f("int2", 2, "int2 (KIVI-style), fp16 scale + zero per 32", "group", 32, 4),
    )
}

#: Formats of one cache kind only, asked for by name (not in the comparisons over FORMATS).
LATENT_FORMATS: dict[str, KVFormat] = {
    f.name: f
    for f in (DeepSeekSparseMLA("fp8_ds_mla", 8,
                                "DeepSeek MLA latent: 512 fp8 + 4 fp32 scales + 64 bf16 rope (656 B)"),)
}

ALIASES: dict[str, str] = {
    "bfloat16": "bf16",
    "float16": "fp16",
    "half": "fp16",
    "float32": "fp32",
    "float": "fp32",
    "fp8": "fp8_e4m3",
    "fp8e4m3": "fp8_e4m3",
    "fp8_e4m3fn": "fp8_e4m3",
    "float8_e4m3fn": "fp8_e4m3",
    "e4m3": "fp8_e4m3",
    "fp8e5m2": "fp8_e5m2",
    "float8_e5m2": "fp8_e5m2",
    "e5m2": "fp8_e5m2",
    "fp4": "nvfp4",
    # vLLM's --kv-cache-dtype names (vllm/config/cache.py: CacheDType): fp8_inc is Intel
    # Neural Compressor's fp8 (e4m3, one byte a value, per-tensor scale)
    "fp8_inc": "fp8_e4m3",
}

#: Model dtypes a spec may declare (the weights' and activations' dtype).
MODEL_DTYPES = ("bf16", "fp16", "fp32")


def get_format(name: str, model_dtype: str | None = None) -> KVFormat:
    """Look a format up by name or alias; ``auto`` means the model's dtype."""
    key = str(name).strip().lower().replace("-", "_")
    if key == "auto":
        if model_dtype is None:
            raise UnknownNameError("kv format", name, FORMATS, "auto needs a model")
        key = model_dtype
    key = ALIASES.get(key, key)
    found = FORMATS.get(key) or LATENT_FORMATS.get(key)
    if found is None:
        raise UnknownNameError("kv format", name, list(FORMATS) + list(LATENT_FORMATS) + ["auto"] + list(ALIASES))
    return found


def parse_formats(text: str, model_dtype: str | None = None) -> list[KVFormat]:
    """``'bf16,fp8,int4'`` -> formats (deduplicated, order kept). ``'all'`` -> every format
    of FORMATS (``fp8_ds_mla``, for DeepSeek MLA latents only, is asked for by name)."""
    from kvplan.units import parse_list

    if str(text).strip().lower() == "all":
        return list(FORMATS.values())
    out: list[KVFormat] = []
    for fmt in parse_list(text, lambda t, _w: get_format(t, model_dtype), "kv format"):
        if fmt not in out:
            out.append(fmt)
    return out
