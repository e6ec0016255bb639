"""Helpers for the tests ported from vLLM's own unit tests (tests/test_vllm_kv_cache_utils*.py).

vLLM's tests build layer specs by hand; these build the same layers as a kvplan model:
``FULL`` is vLLM's ``new_kv_cache_spec()`` (FullAttentionSpec, block 16, 2 KV heads of 64,
float32: a page of 16 x 2 x 2 x 64 x 4 = 16,384 B), ``SW`` its ``new_sliding_window_spec()``
(window 1), ``MAMBA`` its ``new_mamba_spec()`` (shapes (2, 512) + (3, 32, 32) float32 =
16,384 B). ``configs`` is vLLM's ``get_kv_cache_configs(vllm_config, specs, memory)``:
kvplan.paging.page_replica at one release.
"""

from __future__ import annotations

import json

from kvplan.formats import get_format
from kvplan.paging import page_replica, vllm_paging
from kvplan.spec import spec_from_mapping

#: vLLM's ``mem_per_block_per_layer = 16 * 2 * 64 * 4 * 2`` (the page of FULL).
PAGE = 16 * 2 * 64 * 4 * 2


def full(kv_heads: int = 2, head_dim: int = 64) -> dict:
    return {"kind": "full_attention", "kv_heads": kv_heads, "head_dim": head_dim}


def sliding(window: int = 1, kv_heads: int = 2, head_dim: int = 64) -> dict:
    return {"kind": "sliding_window", "window": window, "kv_heads": kv_heads, "head_dim": head_dim}


def chunked(chunk: int, kv_heads: int = 2, head_dim: int = 64) -> dict:
    return {"kind": "chunked_local", "chunk": chunk, "kv_heads": kv_heads, "head_dim": head_dim}


FULL = full()
SW = sliding()
#: (2, 512) conv + (3, 32, 32) ssm values in float32: 1,024 + 3,072 values = 16,384 B.
MAMBA = {"kind": "state_space", "conv_dim": 512, "conv_kernel": 3, "ssm_heads": 3, "ssm_head_dim": 32,
         "ssm_state_size": 32, "state_dtype": "fp32"}


def model(layers: list[dict], max_len: int = 16, dtype: str = "fp32"):
    """A kvplan spec whose layers are ``layers`` in order (max_position_embeddings
    ``max_len``, vLLM's ModelConfig(max_model_len=...))."""
    names: dict[str, str] = {}
    kinds: dict[str, dict] = {}
    types = []
    for d in layers:
        key = json.dumps(d, sort_keys=True)
        if key not in names:
            names[key] = f"k{len(names)}"
            kinds[names[key]] = d
        types.append(names[key])
    base = dict(name="vllm-test", source="vLLM unit tests", num_layers=len(layers), hidden_size=128,
                num_attention_heads=2, num_kv_heads=2, head_dim=64, vocab_size=1000, intermediate_size=256,
                dtype=dtype, max_position_embeddings=max_len, cache={"kinds": kinds, "layer_types": types})
    return spec_from_mapping(base, "test")


def configs(release: str, layers: list[dict], memory, *, max_model_len: int | None = 16, max_len: int | None = None,
            hybrid: bool | None = None, override: int | None = None, max_num_batched_tokens: int = 2048,
            tp: int = 1, stage_layers=None, num_speculative_tokens: int = 0, block_size: int = 16,
            dtype: str = "fp32"):
    """vLLM's get_kv_cache_configs at ``release``: one int of memory, or one per worker.
    ``max_model_len`` None is vLLM's -1 (auto-fit below ``max_len``). The scheduler's token
    budget (``max_num_batched_tokens``) only enters sliding-window admission and the check.
    ``num_speculative_tokens``: vLLM's num_lookahead_tokens for allocate_slots and its
    MambaSpec.num_speculative_blocks, as the vLLM tests set them."""
    spec = model(layers, max_len or max_model_len or 16, dtype)
    memory = list(memory) if isinstance(memory, (list, tuple)) else [memory]
    pp = len(stage_layers) if stage_layers is not None else len(memory) // tp
    return page_replica(spec, get_format("auto", spec.dtype), vllm_paging(release), tp=tp, pp=pp,
                        block_size=block_size, worker_memory_bytes=memory, max_model_len=max_model_len,
                        max_num_batched_tokens=max_num_batched_tokens, num_gpu_blocks_override=override,
                        hybrid=hybrid, lookahead_tokens=num_speculative_tokens,
                        num_speculative_blocks=num_speculative_tokens, stage_layers=stage_layers)


def tables(layout) -> list[tuple[str, int, int]]:
    """A layout's groups as (kind name, block tables, tokens per block)."""
    return [(kind.kind, n, block) for kind, n, block in layout.groups]
