"""Eviction caps: a StreamingLLM sink + window policy applied to a model's attention layers.

``--window W --sinks S`` keeps, in every full-attention layer, the first S tokens (attention
sinks) and the last W tokens, evicting the rest (Xiao et al., ICLR 2024, arXiv:2309.17453):
such a layer holds at most S + W tokens (``kvplan.layers.SinkWindow`` owns the arithmetic).
The policy is a transformation of the spec, so every figure downstream (footprint, pool
layout, blocks per request, sweeps) reads the transformed layers through their own kind.

What it applies to, layer kind by kind:

- full attention (GQA / MQA / MHA): becomes ``SinkWindow`` with the same heads;
- sliding-window and chunked-local layers: kept as they are (their cache is already bounded
  by their own window or chunk);
- state-space layers (Mamba, linear attention): kept (a constant state, nothing to evict);
  shared-KV and cache-less layers: kept;
- MLA latents (DeepSeek-V2/V3, Kimi K2; also with DeepSeek-V3.2's indexer keys) and layers
  running attention and a state-space mixer side by side (Falcon-H1): refused. No engine
  evicts MLA latents this way (TensorRT-LLM's PyTorch backend, the one that runs MLA, calls
  its attention op with sink_token_length 0: tensorrt_llm/_torch/attention_backend/trtllm.py),
  so kvplan will not print a figure for it.

Which engines run it (``capacity`` asks ``check_engine``; ``size`` and ``fragment`` take the
policy as a what-if of the cache, saying so with ``WHATIF_NOTE``): none of the serving engines
kvplan models, so only ``raw`` (memory alone) plans with it.

- TensorRT-LLM: refused. StreamingLLM (``sink_token_length``) is gone: the TensorRT build path
  asserts "StreamingLLM is no longer supported because attention sink cannot work with the
  non-cyclic kv cache kernel & runtime changes" (tensorrt_llm/commands/build.py, build_model;
  NVIDIA/TensorRT-LLM commit 65f1d153), and the PyTorch backend ignores sink_token_length
  (NVIDIA/TensorRT-LLM PR #14275). A window alone (``max_attention_window``) it does run, but
  the scheduler then reserves cdiv(min(n, W + T) + bubble, B) blocks a request, where T, the
  "temporary attention window", is min(max_num_tokens, max_seq_len - 1 - W) whenever paged
  context FMHA is on, which the PyTorch backend always sets for a windowed cache
  (cpp/tensorrt_llm/batch_manager/kvCacheManager.cpp, getRemainingBlocksToCompletion and
  calculateTemporaryAttentionWindow; tensorrt_llm/_torch/pyexecutor/resource_manager.py,
  _set_temp_attention_window_inputs). T hangs on max_num_tokens and max_seq_len as a release
  sets them, and the rule has changed across releases; kvplan pins no TensorRT-LLM release
  (kvplan.engines.trtllm), so it prints no figure.
- raw: memory alone, the policy as stated, paged by SinkWindow.pages (the page rule).
- vLLM (0.33.0): refused. It slides a window only where the model's config declares one
  (SlidingWindowSpec) and has no sink-token eviction; ``SinkFullAttentionSpec`` (OpenPangu)
  prepends learned sink keys and keeps the full cache (vllm/v1/kv_cache_interface.py).
- SGLang (0.5.23): refused. Its sink + window (``--speculative-draft-window-size``,
  ``--speculative-draft-sink-size``) masks only the speculative draft's attention; the
  model's KV cache keeps every token (sglang/srt/arg_groups/fields/spec.py).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from kvplan.errors import BadInputError, ShapeError
from kvplan.layers import AttentionWithState, CacheKind, FullAttention, MLALatent, SinkWindow
from kvplan.spec import ModelSpec

#: Engine family -> how it runs a sink + window policy (None: it does not).
ENGINE_SUPPORT: dict[str, str | None] = {
    "raw": "memory alone, a what-if: no serving engine kvplan models runs a sink + window cache",
    "trtllm": None,
    "vllm": None,
    "sglang": None,
}

_RAW_ONLY = "a sink + window cache plans only under --engine raw (memory alone, a what-if)"

#: Why an engine family refuses, one line each (what it supports instead).
ENGINE_REFUSALS = {
    "vllm": ("vLLM slides a window only where the model's config declares one (SlidingWindowSpec) and evicts no "
             "sink tokens (its SinkFullAttentionSpec keeps learned sink keys and the full cache); " + _RAW_ONLY),
    "sglang": ("SGLang applies a sink + window only to the speculative draft's attention "
               "(--speculative-draft-window-size / --speculative-draft-sink-size), never to the model's KV cache; "
               + _RAW_ONLY),
    "trtllm": ("TensorRT-LLM dropped StreamingLLM sinks (tensorrt_llm/commands/build.py asserts 'StreamingLLM is no "
               "longer supported'; the PyTorch backend ignores sink_token_length, PR #14275), and for a window it "
               "reserves W + min(max_num_tokens, max_seq_len - 1 - W) tokens a request (kvCacheManager.cpp "
               "getRemainingBlocksToCompletion), which turns on a release kvplan does not pin; " + _RAW_ONLY),
}

#: The line ``size`` and ``fragment`` print when they take the policy as a what-if.
WHATIF_NOTE = ("--window/--sinks: a what-if of the cache; no serving engine kvplan models runs it (vLLM and SGLang "
               "keep every token of a model without its own window, TensorRT-LLM dropped StreamingLLM sinks); "
               "see docs/speculative.md")


@dataclass(frozen=True)
class SinkWindowPolicy:
    """Keep the first ``sinks`` and the last ``window`` tokens of every full-attention layer."""

    window: int
    sinks: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.window, bool) or not isinstance(self.window, int) or self.window < 1:
            raise BadInputError(f"--window must be a whole number of tokens >= 1, got {self.window!r}")
        if isinstance(self.sinks, bool) or not isinstance(self.sinks, int) or self.sinks < 0:
            raise BadInputError(f"--sinks must be a whole number of tokens >= 0, got {self.sinks!r}")

    @property
    def max_tokens(self) -> int:
        """Tokens a layer under the policy holds at most: S + W."""
        return self.sinks + self.window

    def describe(self) -> str:
        return f"{self.sinks} sink tokens + a window of {self.window:,}"

    def kind_for(self, kind: CacheKind) -> CacheKind:
        """The layer under the policy: full attention becomes SinkWindow; bounded or constant
        caches stay; MLA and attention + state layers are refused (see the module doc)."""
        if isinstance(kind, (MLALatent, AttentionWithState)):
            raise ShapeError(f"--window/--sinks: {kind.describe()} layers are not modelled under a sink + window "
                             f"policy (no engine evicts them this way); only GQA/MQA/MHA full-attention layers are")
        if type(kind) is FullAttention:
            return SinkWindow(kv_heads=kind.kv_heads, head_dim=kind.head_dim, v_head_dim=kind.v_head_dim,
                              window=self.window, sinks=self.sinks)
        return kind

    def apply(self, spec: ModelSpec) -> ModelSpec:
        """``spec`` with every full-attention layer under the policy (ShapeError when the model
        has none, or has layers the policy cannot be applied to)."""
        mapped = {kind: self.kind_for(kind) for kind in set(spec.layers)}
        if not any(isinstance(k, SinkWindow) for k in mapped.values()):
            raise ShapeError(f"--window/--sinks: {spec.name} has no full-attention layers to evict from "
                             f"(its layers: {'; '.join(sorted({k.describe() for k in spec.layers}))})")
        return dataclasses.replace(spec, layers=tuple(mapped[k] for k in spec.layers))


def make_policy(window=None, sinks=None) -> SinkWindowPolicy | None:
    """The policy from ``--window`` / ``--sinks`` (token strings such as '4k' allowed), or None."""
    from kvplan.units import parse_tokens

    if window is None:
        if sinks is not None:
            raise BadInputError("--sinks needs --window (sinks are kept beside a rolling window)")
        return None
    if isinstance(window, str):
        window = parse_tokens(window, "--window")
    if isinstance(sinks, str):
        sinks = int(sinks) if sinks.strip().isdigit() else parse_tokens(sinks, "--sinks")
    return SinkWindowPolicy(window, 0 if sinks is None else sinks)


def engine_family(engine_name: str) -> str:
    """'vllm' for 'vllm', 'vllm-0.10' or 'vllm==0.19.1'; 'trtllm', 'sglang', 'raw'
    (UnknownNameError for an engine or release kvplan does not model)."""
    from kvplan.engines import get_engine

    return get_engine(engine_name).family


def check_engine(engine_name: str, what: str = "--window/--sinks") -> str:
    """How ``engine_name`` runs a sink + window policy; BadInputError (one line naming what it
    supports) for an engine that does not. ``what``: the thing asked for (the options, or a
    spec's own sink_window layers)."""
    family = engine_family(engine_name)
    how = ENGINE_SUPPORT.get(family)
    if how is None:
        why = ENGINE_REFUSALS.get(family, f"{family} is not known to run a sink + window KV cache; {_RAW_ONLY}")
        raise BadInputError(f"{what} under {engine_name}: {why}")
    return how
