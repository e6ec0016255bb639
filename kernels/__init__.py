"""Triton paged KV-cache kernels and their pure-torch references (``kvplan.kernels``).

Every kernel comes in three parts: the ``@triton.jit`` body, a wrapper that checks its
inputs with real exceptions (``ValueError`` / ``TypeError``) and launches it, and a
pure-torch reference with the same contract (``*_ref``, fp32 math).

    cache.allocate(layout, device)          every tensor of a layer's paged cache, carved
                                            from one uint8 buffer (kvplan.layout objects)
    write.paged_kv_write(...)               K/V of new tokens -> paged cache, quantizing
    write.paged_mla_write(...)              one MLA latent per token -> paged cache
    decode.paged_decode_attention(...)      one query token per sequence, GQA, split-KV
    mla.mla_decode_attention(...)           MLA decode in absorbed form over the latent

Cache formats: bf16, fp16 (plain), fp8_e4m3 (per-tensor or per-head scale), int8 (fp32
scale per token and head), int4 (two values per byte, fp16 scale and minimum per 32
values). See docs/kernels.md.

Importing this package is cheap: torch and triton are imported by the submodules, which
load on first use of a name below.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "allocate": "cache",
    "allocate_model": "cache",
    "allocate_pool": "cache",
    "caching_allocator_bytes": "cache",
    "cache_nbytes": "cache",
    "cuda_allocated_bytes": "cache",
    "KERNEL_FORMATS": "quant",
    "paged_kv_write": "write",
    "paged_kv_write_ref": "write",
    "paged_mla_write": "write",
    "paged_mla_write_ref": "write",
    "paged_decode_attention": "decode",
    "paged_decode_attention_ref": "decode",
    "default_num_splits": "decode",
    "mla_decode_attention": "mla",
    "mla_decode_attention_ref": "mla",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'kvplan.kernels' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"kvplan.kernels.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
