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
    #: Whether the layer runs attention with the model's query heads (tensor parallelism then
    #: splits them): False for state-space mixers and layers without a mixer.
    has_attention: ClassVar[bool] = True

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

    def parts(self) -> tuple[CacheKind, ...]:
        """The caches this layer keeps, each one a kind an engine sizes on its own. One for
        every kind but a layer that runs two mixers side by side (``AttentionWithState``):
        an engine builds a separate cache for each (vLLM registers an attention layer and a
        Mamba layer, each in its own KV cache group), so pool and page rules apply per part."""
        return (self,)

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

    def engine_blocks_per_request(self, n: int, block_size: int, max_num_batched_tokens: int | None = None,
                                  num_speculative_blocks: int = 0) -> int:
        """Blocks an engine reserves for one request of ``n`` tokens when it sizes its pool and
        admits requests (vLLM's ``max_memory_usage_bytes // page_size_bytes`` of the layer's
        spec, ``vllm/v1/kv_cache_interface.py``). Without a per-step token budget this is the
        planner's peak page count. ``num_speculative_blocks`` only concerns constant-state
        kinds (vLLM's ``MambaSpec.num_speculative_blocks``)."""
        return self.pages(n, block_size)

    # -- how vLLM classifies the layer (kv_cache_interface.py) ---------------------------
    def slot_class(self) -> tuple:
        """What decides how many token slots a request needs in this layer: layers whose
        classes are equal always need the same number of blocks (vLLM's
        ``UniformTypeKVCacheSpecs.is_uniform_type``: full attention and MLA are one class,
        sliding windows one per window size, chunked local one per chunk size, state
        layers one)."""
        return (self.kind,)

    def as_full_attention(self) -> CacheKind | None:
        """The layer as vLLM allocates it when it treats every attention layer as full
        attention (``unify_hybrid_kv_cache_specs``: the hybrid KV cache manager disabled, or
        a release without a spec for this kind); None when there is nothing to convert."""
        return None

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

    def slot_class(self) -> tuple:
        return ("full_attention",)

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

    def engine_blocks_per_request(self, n: int, block_size: int, max_num_batched_tokens: int | None = None,
                                  num_speculative_blocks: int = 0) -> int:
        # vLLM SlidingWindowSpec: a chunked-prefill step may add max_num_batched_tokens tokens
        # before the window slides past old pages: cdiv(min(w - 1 + T, n), B) + 1.
        if not max_num_batched_tokens:
            return self.pages(n, block_size)
        return cdiv(minimum(self.window - 1 + max_num_batched_tokens, n), block_size) + 1

    def slot_class(self) -> tuple:
        return (self.kind, self.window)

    def as_full_attention(self) -> FullAttention:
        return FullAttention(kv_heads=self.kv_heads, head_dim=self.head_dim, v_head_dim=self.v_head_dim)

    def pages(self, n, block_size: int):
        r = (self.window - 1) % block_size
        straddle = (n >= self.window + block_size - r) * (1 if r else 0)
        return cdiv(self.cached_tokens(n), block_size) + straddle

    def describe(self) -> str:
        return f"sliding window {self.window}, {self._dims()}"


@dataclass(frozen=True, kw_only=True)
class SinkWindow(FullAttention):
    """A StreamingLLM cache (Xiao et al., ICLR 2024, arXiv:2309.17453, section 3.2: attention
    sinks + a rolling KV cache): the first ``sinks`` tokens and the last ``window`` tokens
    of a full-attention layer, everything between evicted. Unpaged a layer holds
    min(n, sinks + window) tokens.

    Paged, a page is freed once it holds no kept token: the sinks fill s = cdiv(sinks, B)
    pages (the last one shared with tokens evicted later) and the window straddles page
    boundaries as SlidingWindow's does. A sequence of x tokens holds

        cdiv(x, B) - max(0, (x - window) // B - s)

    pages, whose peak over its life is reached just before the first page is freed:

        pages(n) = cdiv(min(n, window + (s + 1) * B - 1), B)

    e.g. sinks 4, window 4096, B 16: s = 1, cdiv(min(n, 4127), 16) = 258 pages once
    n >= 4113 (1 sink page + 257 window pages); sinks 0 gives SlidingWindow's count.

    The same page rule sizes the pool's blocks per request (``engine_blocks_per_request``
    is the base class's, ``pages``): the only engine kvplan plans it under is ``raw``, memory
    alone (kvplan.eviction: no serving engine it models runs a sink + window cache).
    """

    kind: ClassVar[str] = "sink_window"
    window: int
    sinks: int = 0

    def cached_tokens(self, n):
        return minimum(n, self.sinks + self.window)

    def sink_pages(self, block_size: int) -> int:
        return cdiv(self.sinks, block_size)

    def pages(self, n, block_size: int):
        peak_at = self.window + (self.sink_pages(block_size) + 1) * block_size - 1
        return cdiv(minimum(n, peak_at), block_size)

    def slot_class(self) -> tuple:
        """Layers of this kind need the same slots only with the same sinks and window."""
        return (self.kind, self.sinks, self.window)

    def describe(self) -> str:
        return f"{self.sinks} sinks + window {self.window}, {self._dims()}"


@dataclass(frozen=True, kw_only=True)
class ChunkedLocal(FullAttention):
    """Chunked local attention (Llama 4 iRoPE layers): tokens attend within aligned
    chunks of ``chunk`` tokens, so a sequence holds at most ``chunk`` of them."""

    kind: ClassVar[str] = "chunked_local"
    chunk: int

    def cached_tokens(self, n):
        return minimum(n, self.chunk)

    def engine_blocks_per_request(self, n: int, block_size: int, max_num_batched_tokens: int | None = None,
                                  num_speculative_blocks: int = 0) -> int:
        # vLLM ChunkedLocalAttentionSpec: at most one chunk plus one step's tokens: cdiv(min(c + T, n), B).
        self.check_block_size(block_size)
        if not max_num_batched_tokens:
            return self.pages(n, block_size)
        return cdiv(minimum(self.chunk + max_num_batched_tokens, n), block_size)

    def slot_class(self) -> tuple:
        return (self.kind, self.chunk)

    def as_full_attention(self) -> FullAttention:
        return FullAttention(kv_heads=self.kv_heads, head_dim=self.head_dim, v_head_dim=self.v_head_dim)

    def pages(self, n, block_size: int):
        self.check_block_size(block_size)
        return cdiv(self.cached_tokens(n), block_size)

    def check_block_size(self, block_size: int) -> None:
        """Chunks must start on a page boundary, for the footprint and the engine alike: vLLM's
        chunked local attention asserts ``attn_chunk_size % block_size == 0``
        (vllm/v1/attention/backends/utils.py, make_local_attention_virtual_batches), whatever
        the KV cache manager allocated the layer as."""
        if self.chunk % block_size:
            raise ShapeError(
                f"chunked local attention: chunk {self.chunk} is not a multiple of block size {block_size}"
            )

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

    def slot_class(self) -> tuple:
        return ("full_attention",)  # vLLM's MLAAttentionSpec is a FullAttentionSpec

    def per_token_bytes(self, fmt: KVFormat, tp: int = 1) -> int:
        return fmt.latent_bytes(self.kv_lora_rank, self.qk_rope_head_dim)

    def cached_tokens(self, n):
        return n

    def pages(self, n, block_size: int):
        return cdiv(n, block_size)

    def describe(self) -> str:
        return f"MLA latent {self.kv_lora_rank} + rope {self.qk_rope_head_dim}"


@dataclass(frozen=True, kw_only=True)
class StateSpace(CacheKind):
    """Constant per-sequence state (Mamba 1/2, gated DeltaNet and other linear attention).

    state = conv state  conv_dim x (conv_kernel - 1)              values of state_dtype
          + recurrent   ssm_heads x ssm_head_dim x ssm_state_size  values of ssm_state_dtype
    (``ssm_state_dtype`` defaults to ``state_dtype``); channels and heads are split over tp
    ranks. The two dtypes differ when the config asks for it: vLLM keeps the conv state in
    the model dtype and the recurrent state in ``mamba_ssm_cache_dtype``
    (vllm/model_executor/layers/mamba/mamba_utils.py, MambaStateDtypeCalculator).
    Mamba 1 (Jamba): conv_dim = ssm_heads = d_inner, ssm_head_dim = 1, state = d_state.
    Mamba 2: conv_dim = d_inner + 2 x n_groups x d_state, heads x head_dim x d_state.
    Gated DeltaNet (Qwen3-Next): heads = linear value heads, head_dim = key head dim,
    state_size = value head dim, conv_dim = 2 * key_dim + value_dim.
    Lightning / linear attention (MiniMax-M1): no conv (conv_dim 0, conv_kernel 1), a
    head_dim x head_dim matrix per head.
    """

    kind: ClassVar[str] = "state_space"
    token_proportional: ClassVar[bool] = False
    has_attention: ClassVar[bool] = False
    conv_dim: int
    conv_kernel: int
    ssm_heads: int
    ssm_head_dim: int
    ssm_state_size: int
    state_dtype: str = "bf16"
    ssm_state_dtype: str | None = None
    #: Mamba 2's B/C groups (conv_dim includes 2 x n_groups x ssm_state_size); 0 when the layer
    #: has none (Mamba 1, gated DeltaNet, lightning attention). Under tp, vLLM replicates the
    #: groups so every head shard has its group: see ``rank_conv_dim``.
    n_groups: int = 0

    @classmethod
    def from_fields(cls, fields: dict, model: dict) -> StateSpace:
        out = {k: v for k, v in fields.items() if k != "kind"}
        out["state_dtype"] = fields.get("state_dtype") or model["dtype"]
        if out.get("ssm_state_dtype") is None:
            out.pop("ssm_state_dtype", None)
        return cls(**out)

    @property
    def recurrent_dtype(self) -> str:
        return self.ssm_state_dtype or self.state_dtype

    def rank_conv_dim(self, tp: int = 1) -> int:
        """Conv channels one rank keeps. vLLM (mamba_utils.py, MambaStateShapeCalculator.
        mamba2_state_shape + extra_groups_for_head_shards) adds tp - n_groups groups when tp
        does not divide n_groups, then divides: Bamba-9B (d_inner 8192, 1 group of 128) at
        tp 2 keeps (8192 + 2 x 2 x 128) / 2 = 4,352 channels, not 8,448 / 2 = 4,224."""
        extra = 0 if not self.n_groups or self.n_groups % tp == 0 else tp - self.n_groups
        return (self.conv_dim + 2 * extra * self.ssm_state_size) // tp

    def state_bytes(self, tp: int = 1) -> int:
        conv = self.rank_conv_dim(tp) * (self.conv_kernel - 1) * STATE_DTYPE_BYTES[self.state_dtype]
        recurrent = (self.ssm_heads // tp) * self.ssm_head_dim * self.ssm_state_size
        return conv + recurrent * STATE_DTYPE_BYTES[self.recurrent_dtype]

    def engine_blocks_per_request(self, n: int, block_size: int, max_num_batched_tokens: int | None = None,
                                  num_speculative_blocks: int = 0) -> int:
        # One block holds the whole state (vLLM MambaSpec without prefix caching), plus one
        # per speculative token when speculative decoding is on (MambaSpec.num_speculative_blocks).
        return 1 + num_speculative_blocks

    def check_tp(self, tp: int) -> None:
        extra = 0 if not self.n_groups or self.n_groups % tp == 0 else tp - self.n_groups
        if extra < 0 or (self.conv_dim + 2 * extra * self.ssm_state_size) % tp or self.ssm_heads % tp:
            raise ShapeError(
                f"tp={tp} cannot split a state-space layer with {self.conv_dim} conv channels "
                f"and {self.ssm_heads} heads"
            )

    def describe(self) -> str:
        dtypes = self.state_dtype if self.recurrent_dtype == self.state_dtype else (
            f"{self.state_dtype} conv, {self.recurrent_dtype} state")
        return (
            f"state space, conv {self.conv_dim}x{self.conv_kernel - 1} + "
            f"state {self.ssm_heads}x{self.ssm_head_dim}x{self.ssm_state_size} {dtypes}"
        )


@dataclass(frozen=True, kw_only=True)
class SharedKV(CacheKind):
    """A layer that reads another layer's cache (cross-layer KV sharing): 0 bytes."""

    kind: ClassVar[str] = "shared_kv"
    token_proportional: ClassVar[bool] = False
    source_layer: int

    def describe(self) -> str:
        return f"shares layer {self.source_layer}'s cache"


@dataclass(frozen=True, kw_only=True)
class MLAIndexed(MLALatent):
    """MLA latent plus the keys of DeepSeek sparse attention's lightning indexer (DeepSeek-V3.2).

    Besides the latent, every layer caches one indexer key per token: ``index_head_dim``
    values in fp8 with one fp32 scale per ``index_quant_block`` values, whatever the KV
    format (vllm/model_executor/models/deepseek_v2.py, DeepseekV32IndexerCache: an
    MLAAttentionSpec of one head of ``index_head_dim + index_head_dim // 128 * 4`` uint8).
    DeepSeek-V3.2, bf16 latent: (512 + 64) x 2 + (128 + 128 // 128 x 4) = 1,152 + 132 =
    1,284 B per token and layer. Replicated on every tensor-parallel rank, like the latent.
    """

    kind: ClassVar[str] = "mla_indexed"
    index_head_dim: int
    index_quant_block: int = 128

    @classmethod
    def from_fields(cls, fields: dict, model: dict) -> MLAIndexed:
        base = MLALatent.from_fields(fields, model)
        extra = {k: fields[k] for k in ("index_quant_block",) if fields.get(k)}
        return cls(kv_lora_rank=base.kv_lora_rank, qk_rope_head_dim=base.qk_rope_head_dim,
                   index_head_dim=fields["index_head_dim"], **extra)

    @property
    def index_key_bytes(self) -> int:
        """fp8 values plus a 4-byte fp32 scale per quant block: 128 + 4 = 132 for V3.2."""
        return self.index_head_dim + self.index_head_dim // self.index_quant_block * 4

    def per_token_bytes(self, fmt: KVFormat, tp: int = 1) -> int:
        return fmt.latent_bytes(self.kv_lora_rank, self.qk_rope_head_dim) + self.index_key_bytes

    def describe(self) -> str:
        return f"{super().describe()} + indexer key {self.index_head_dim} fp8 ({self.index_key_bytes} B)"


@dataclass(frozen=True, kw_only=True)
class NoCache(CacheKind):
    """A decoder layer that keeps nothing per sequence: its attention was pruned away
    (Nemotron-NAS ``block_configs``: ``no_op``) or replaced by a linear map
    (``replace_with_linear``). vLLM's nemotron_nas.py builds no Attention module for such a
    layer, so it has no KV cache spec. ``replacement`` says which, for parameter counts."""

    kind: ClassVar[str] = "no_cache"
    token_proportional: ClassVar[bool] = False
    has_attention: ClassVar[bool] = False
    replacement: str = "none"  # "none" (no_op) or "linear" (hidden x hidden map)

    def describe(self) -> str:
        return "no cache (attention replaced by a linear map)" if self.replacement == "linear" else (
            "no cache (attention removed)")


@dataclass(frozen=True, kw_only=True)
class AttentionWithState(CacheKind):
    """Attention and a state-space mixer side by side in one decoder layer (Falcon-H1: every
    layer adds a Mamba-2 branch to its attention branch). The layer keeps both caches: K/V
    for every token (``attention``) and a constant state per sequence (``state``).
    vLLM's falcon_h1.py registers the two as separate layers, each with its own KV cache
    spec (an attention spec and a MambaSpec); ``parts()`` returns them for rules that
    size each cache on its own. Falcon-H1-0.5B layer, bf16: 2 x (64 + 64) x 2 = 512 B per
    token, plus (1536 + 2 x 128) x 3 x 2 + 24 x 64 x 128 x 2 = 10,752 + 393,216 B of state."""

    kind: ClassVar[str] = "attention_with_state"
    attention: FullAttention
    state: StateSpace

    @classmethod
    def from_fields(cls, fields: dict, model: dict) -> AttentionWithState:
        attention = {k: v for k, v in (fields.get("attention") or {}).items() if v is not None}
        state = dict(fields["state"])
        attention.setdefault("kind", "full_attention")
        state.setdefault("kind", "state_space")
        return cls(attention=KINDS[attention["kind"]].from_fields(attention, model),
                   state=StateSpace.from_fields(state, model))

    def parts(self) -> tuple[CacheKind, ...]:
        return (self.attention, self.state)

    def per_token_bytes(self, fmt: KVFormat, tp: int = 1) -> int:
        return self.attention.per_token_bytes(fmt, tp)

    def cached_tokens(self, n):
        return self.attention.cached_tokens(n)

    def state_bytes(self, tp: int = 1) -> int:
        return self.state.state_bytes(tp)

    def pages(self, n, block_size: int):
        return self.attention.pages(n, block_size)

    def engine_blocks_per_request(self, n: int, block_size: int, max_num_batched_tokens: int | None = None,
                                  num_speculative_blocks: int = 0) -> int:
        """The attention part's blocks; the state part holds one more block of its own
        group (``parts()`` gives each part's rule; kvplan.paging pages the parts as two
        layers, as vLLM registers them)."""
        return self.attention.engine_blocks_per_request(n, block_size, max_num_batched_tokens)

    def check_tp(self, tp: int) -> None:
        self.attention.check_tp(tp)
        self.state.check_tp(tp)

    def describe(self) -> str:
        return f"{self.attention.describe()} + {self.state.describe()}"


#: Registry: kind name -> class. The schema's discriminated union uses the same names.
#: Layer kinds that keep a window (sliding-window) or a chunk (chunked-local) of the context.
WINDOWED_KINDS = (SlidingWindow.kind, ChunkedLocal.kind)

KINDS: dict[str, type[CacheKind]] = {
    cls.kind: cls
    for cls in (FullAttention, SlidingWindow, ChunkedLocal, MLALatent, StateSpace, SharedKV,
                MLAIndexed, NoCache, AttentionWithState, SinkWindow)
}
