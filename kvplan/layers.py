"""Cache kinds: one frozen class per kind of layer cache, each owning its arithmetic.

Every kind answers the same questions for one layer of one sequence on one rank:

    per_token_bytes(fmt, tp)  bytes for each cached token (0 for constant-state kinds)
    cached_tokens(n)          tokens held when the sequence has grown to n tokens
    state_bytes(tp)           bytes held per sequence whatever its length
    pages(n, block_size)      pages a paged cache holds for it (peak over its life)

and everything else (sequence bytes, paged bytes, page size) is derived from those in
this base class, so a new kind is one subclass plus a registry entry.

The arithmetic is written with +, -, *, // and comparisons only, so the same methods
work on Python ints (exact) and on numpy integer arrays (the sweep).

Shape conventions follow vLLM's ``vllm/v1/kv_cache_interface.py`` specs: K and V are
stored per KV head; under tensor parallelism each rank keeps ``max(1, kv_heads // tp)``
heads (heads are replicated when tp exceeds them); an MLA latent is replicated on every
rank.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from kvplan.errors import ShapeError
from kvplan.formats import KVFormat

#: Bytes per value of the dtypes a state-space state may be kept in.
STATE_DTYPE_BYTES = {"fp32": 4, "bf16": 2, "fp16": 2}


def minimum(a, b):
    """min() that also works element-wise on numpy integer arrays (exact for integers)."""
    return (a + b - abs(a - b)) // 2


def cdiv(a, b):
    return -(-a // b)


@dataclass(frozen=True, kw_only=True)
class CacheKind:
    """Base class. Subclasses set ``kind`` and override the four primitives they need."""

    kind: ClassVar[str] = ""
    #: Whether the cache grows with the sequence (so the KV format applies to it).
    token_proportional: ClassVar[bool] = True

    # -- primitives ---------------------------------------------------------------------
    def per_token_bytes(self, fmt: KVFormat, tp: int = 1) -> int:
        return 0

    def cached_tokens(self, n):
        return 0

    def state_bytes(self, tp: int = 1) -> int:
        return 0

    def pages(self, n, block_size: int):
        return 0

    def check_tp(self, tp: int) -> None:
        """Raise ShapeError when this layer cannot be split over ``tp`` ranks."""

    @classmethod
    def from_fields(cls, fields: dict, model: dict) -> CacheKind:
        """Build from a validated spec's kind fields, filling defaults from the model."""
        return cls(**{k: v for k, v in fields.items() if k != "kind"})

    def describe(self) -> str:
        return self.kind

    # -- derived ------------------------------------------------------------------------
    def seq_bytes(self, n, fmt: KVFormat, tp: int = 1):
        """Exact bytes for one sequence of ``n`` tokens, unpaged (peak over its life)."""
        return self.per_token_bytes(fmt, tp) * self.cached_tokens(n) + self.state_bytes(tp)

    def page_bytes(self, fmt: KVFormat, block_size: int, tp: int = 1) -> int:
        """Bytes of one page (``block_size`` tokens) of this layer on one rank."""
        return block_size * self.per_token_bytes(fmt, tp)

    def paged_seq_bytes(self, n, fmt: KVFormat, block_size: int, tp: int = 1):
        """Bytes a paged cache holds for one sequence of ``n`` tokens."""
        return self.pages(n, block_size) * self.page_bytes(fmt, block_size, tp) + self.state_bytes(tp)

    def engine_blocks_per_request(self, n: int, block_size: int, max_num_batched_tokens: int | None = None) -> int:
        """Blocks an engine reserves for one request of ``n`` tokens when it sizes its pool and
        admits requests (vLLM's ``max_admission_blocks_per_request``). Without a per-step token
        budget this is the planner's peak page count."""
        return self.pages(n, block_size)

    def supports(self, fmt: KVFormat) -> bool:
        try:
            self.per_token_bytes(fmt, 1)
        except ShapeError:
            return False
        return True


@dataclass(frozen=True, kw_only=True)
class FullAttention(CacheKind):
    """Standard (GQA/MQA/MHA) attention: K and V for every token, per KV head."""

    kind: ClassVar[str] = "full_attention"
    kv_heads: int
    head_dim: int
    v_head_dim: int

    def heads_per_rank(self, tp: int) -> int:
        return max(1, self.kv_heads // tp)

    @classmethod
    def from_fields(cls, fields: dict, model: dict) -> FullAttention:
        """kv_heads / head_dim / v_head_dim default to the model's. A kind that sets its
        own head_dim but no v_head_dim gets V = K; otherwise the model's v_head_dim."""
        extra = {k: v for k, v in fields.items() if k not in ("kind", "kv_heads", "head_dim", "v_head_dim")}
        head_dim = fields.get("head_dim") or model["head_dim"]
        if fields.get("v_head_dim"):
            v_head_dim = fields["v_head_dim"]
        elif fields.get("head_dim"):
            v_head_dim = head_dim
        else:
            v_head_dim = model["v_head_dim"]
        return cls(kv_heads=fields.get("kv_heads") or model["num_kv_heads"], head_dim=head_dim,
                   v_head_dim=v_head_dim, **extra)

    def per_token_bytes(self, fmt: KVFormat, tp: int = 1) -> int:
        per_head = fmt.vector_bytes(self.head_dim) + fmt.vector_bytes(self.v_head_dim)
        return self.heads_per_rank(tp) * per_head

    def cached_tokens(self, n):
        return n

    def pages(self, n, block_size: int):
        return cdiv(self.cached_tokens(n), block_size)

    def check_tp(self, tp: int) -> None:
        if self.kv_heads % tp and tp % self.kv_heads:
            raise ShapeError(
                f"tp={tp} cannot split {self.kv_heads} KV heads: tp must divide them, "
                f"or be a multiple of them (heads are then replicated)"
            )

    def _dims(self) -> str:
        if self.head_dim == self.v_head_dim:
            return f"{self.kv_heads} kv heads x {self.head_dim}"
        return f"{self.kv_heads} kv heads x ({self.head_dim} K + {self.v_head_dim} V)"

    def describe(self) -> str:
        return f"full attention, {self._dims()}"


@dataclass(frozen=True, kw_only=True)
class SlidingWindow(FullAttention):
    """Attention over the last ``window`` tokens (Mistral, Gemma 2/3 local layers, gpt-oss).

    Unpaged, a layer holds min(n, window) tokens. Paged, pages wholly out of the window
    are freed (vLLM's SlidingWindowManager does this), but the window straddles page
    boundaries: with k = window - 1 = q*B + r, the peak over a sequence's life is

        cdiv(min(n, window), B) + (1 if r != 0 and n >= window + B - r else 0)

    e.g. window 4096, B 16: r = 15, so 256 pages, and 257 once n >= 4097.
    """

    kind: ClassVar[str] = "sliding_window"
    window: int

    def cached_tokens(self, n):
        return minimum(n, self.window)

    def engine_blocks_per_request(self, n: int, block_size: int, max_num_batched_tokens: int | None = None) -> int:
        # vLLM SlidingWindowSpec: a chunked-prefill step may add max_num_batched_tokens tokens
        # before the window slides past old pages: cdiv(min(w - 1 + T, n), B) + 1.
        if not max_num_batched_tokens:
            return self.pages(n, block_size)
        return cdiv(minimum(self.window - 1 + max_num_batched_tokens, n), block_size) + 1

    def pages(self, n, block_size: int):
        r = (self.window - 1) % block_size
        straddle = (n >= self.window + block_size - r) * (1 if r else 0)
        return cdiv(self.cached_tokens(n), block_size) + straddle

    def describe(self) -> str:
        return f"sliding window {self.window}, {self._dims()}"


@dataclass(frozen=True, kw_only=True)
class ChunkedLocal(FullAttention):
    """Chunked local attention (Llama 4 iRoPE layers): tokens attend within aligned
    chunks of ``chunk`` tokens, so a sequence holds at most ``chunk`` of them."""

    kind: ClassVar[str] = "chunked_local"
    chunk: int

    def cached_tokens(self, n):
        return minimum(n, self.chunk)

    def engine_blocks_per_request(self, n: int, block_size: int, max_num_batched_tokens: int | None = None) -> int:
        # vLLM ChunkedLocalAttentionSpec: at most one chunk plus one step's tokens: cdiv(min(c + T, n), B).
        if not max_num_batched_tokens:
            return self.pages(n, block_size)
        return cdiv(minimum(self.chunk + max_num_batched_tokens, n), block_size)

    def pages(self, n, block_size: int):
        if self.chunk % block_size:
            # Chunks then start mid-page; vLLM requires alignment too.
            raise ShapeError(
                f"chunked local attention: chunk {self.chunk} is not a multiple of block size {block_size}"
            )
        return cdiv(self.cached_tokens(n), block_size)

    def describe(self) -> str:
        return f"chunked local {self.chunk}, {self._dims()}"


@dataclass(frozen=True, kw_only=True)
class MLALatent(CacheKind):
    """Multi-head latent attention (DeepSeek-V2/V3, Kimi K2): one compressed latent of
    kv_lora_rank + qk_rope_head_dim values per token, no separate K and V (no factor 2),
    replicated on every tensor-parallel rank. DeepSeek-V3 bf16: 61 * 576 * 2 = 70,272 B."""

    kind: ClassVar[str] = "mla"
    kv_lora_rank: int
    qk_rope_head_dim: int

    @classmethod
    def from_fields(cls, fields: dict, model: dict) -> MLALatent:
        mla = model.get("mla") or {}
        return cls(
            kv_lora_rank=fields.get("kv_lora_rank") or mla["kv_lora_rank"],
            qk_rope_head_dim=fields.get("qk_rope_head_dim") or mla["qk_rope_head_dim"],
        )

    @property
    def latent_dim(self) -> int:
        return self.kv_lora_rank + self.qk_rope_head_dim

    def per_token_bytes(self, fmt: KVFormat, tp: int = 1) -> int:
        return fmt.vector_bytes(self.latent_dim)

    def cached_tokens(self, n):
        return n

    def pages(self, n, block_size: int):
        return cdiv(n, block_size)

    def describe(self) -> str:
        return f"MLA latent {self.kv_lora_rank} + rope {self.qk_rope_head_dim}"


@dataclass(frozen=True, kw_only=True)
class StateSpace(CacheKind):
    """Constant per-sequence state (Mamba 1/2, gated DeltaNet and other linear attention).

    state = conv state  conv_dim x (conv_kernel - 1)
          + recurrent   ssm_heads x ssm_head_dim x ssm_state_size
    values of ``state_dtype``; channels and heads are split over tp ranks.
    Mamba 1 (Jamba): conv_dim = ssm_heads = d_inner, ssm_head_dim = 1, state = d_state.
    Gated DeltaNet (Qwen3-Next): heads = linear value heads, head_dim = key head dim,
    state_size = value head dim, conv_dim = 2 * key_dim + value_dim.
    """

    kind: ClassVar[str] = "state_space"
    token_proportional: ClassVar[bool] = False
    conv_dim: int
    conv_kernel: int
    ssm_heads: int
    ssm_head_dim: int
    ssm_state_size: int
    state_dtype: str = "bf16"

    @classmethod
    def from_fields(cls, fields: dict, model: dict) -> StateSpace:
        out = {k: v for k, v in fields.items() if k != "kind"}
        out["state_dtype"] = fields.get("state_dtype") or model["dtype"]
        return cls(**out)

    def state_bytes(self, tp: int = 1) -> int:
        values = (self.conv_dim // tp) * (self.conv_kernel - 1) + (
            (self.ssm_heads // tp) * self.ssm_head_dim * self.ssm_state_size
        )
        return values * STATE_DTYPE_BYTES[self.state_dtype]

    def engine_blocks_per_request(self, n: int, block_size: int, max_num_batched_tokens: int | None = None) -> int:
        return 1  # one block holds the whole state (vLLM MambaSpec without prefix caching)

    def check_tp(self, tp: int) -> None:
        if self.conv_dim % tp or self.ssm_heads % tp:
            raise ShapeError(
                f"tp={tp} cannot split a state-space layer with {self.conv_dim} conv channels "
                f"and {self.ssm_heads} heads"
            )

    def describe(self) -> str:
        return (
            f"state space, conv {self.conv_dim}x{self.conv_kernel - 1} + "
            f"state {self.ssm_heads}x{self.ssm_head_dim}x{self.ssm_state_size} {self.state_dtype}"
        )


@dataclass(frozen=True, kw_only=True)
class SharedKV(CacheKind):
    """A layer that reads another layer's cache (cross-layer KV sharing): 0 bytes."""

    kind: ClassVar[str] = "shared_kv"
    token_proportional: ClassVar[bool] = False
    source_layer: int

    def describe(self) -> str:
        return f"shares layer {self.source_layer}'s cache"


#: Registry: kind name -> class. The schema's discriminated union uses the same names.
KINDS: dict[str, type[CacheKind]] = {
    cls.kind: cls
    for cls in (FullAttention, SlidingWindow, ChunkedLocal, MLALatent, StateSpace, SharedKV)
}
