"""Capacity: with this model on these GPUs under this engine, how much KV cache fits?

One question, one answer: every command that says whether something fits (`size --gpu`,
`sweep --gpu`, `capacity`, `check`, `fragment --gpu`, the Python API) builds the same
frozen request and asks the same pool:

    req = make_request(spec, "h100", tp=2, kv_format="fp8", max_model_len="32k")
    pool = plan(req)                  # engine carves memory, pool cut into blocks
    pool.kv_cache_tokens              # vLLM's "GPU KV cache size"
    pool.max_requests(8192)           # whole requests of 8k, capped by max_num_seqs
    pool.longest_context(8)           # the longest context 8 requests can each have
    pool.serves(32768, 8)             # Verdict(ok, reason)

``plan_capacity(spec, gpu, **options)`` is the same thing in one call, returning a
``Capacity`` summary (the pool's answers to --ctx / --batch, and what would fit instead).

Per pipeline stage (on one tensor-parallel rank) the engine profile (kvplan.engines)
carves the GPU into weights, activations, other and the KV pool; the pool is cut into
pages exactly as vLLM's ``kv_cache_utils`` does:

- one cache kind (most models): every layer gets ``num_blocks`` pages,
  ``num_blocks = kv_pool // (page_bytes * num_layers)``; "GPU KV cache size" is
  ``num_blocks * block_size`` tokens. Llama-3.1-8B bf16 on an H100 at 0.95: a page of
  16 tokens is 16 * 8 heads * (128 + 128) * 2 B = 65,536 B a layer, 2 MiB for 32 layers;
  58.11 GiB // 2 MiB = 29,751 blocks = 476,016 tokens.
- several kinds with equal page sizes (the hybrid allocator: sliding + full layers): layers
  are put in groups of ``group_size`` = the smallest kind's layer count, padding the
  last group of each kind (vLLM warns "Add N padding layers"), or the largest kind's
  count when it is under 1.5x the smallest (vLLM ``_get_kv_cache_groups_uniform_page_size``:
  12 sliding + 13 full -> groups of 13, one padding layer); ``num_blocks = kv_pool //
  (page_bytes * group_size)`` and it logs ``num_blocks // num_groups * block_size`` tokens.
- attention + state-space layers (Jamba, Qwen3-Next): vLLM raises the attention block
  size until one attention page holds a whole state, ``block = a * cdiv(state_bytes, a *
  bytes_per_token)`` with ``a = max(16, block_size)`` (16: FlashAttention's kernel block
  alignment), pads the state page up to the attention page, and groups all layers as
  above; a request holds one block per state layer.
- kinds with different page sizes: each layer gets a tensor of ``num_blocks`` pages
  (an approximation of vLLM's page-size unification; documented in docs/capacity.md).

Pipeline stages have their own pools; vLLM then uses the smallest ``num_blocks`` of all
workers, so the stage with the fewest blocks binds, and its figures are reported (the
"most loaded GPU"). A request of L tokens needs ``cdiv(L, block_size)`` blocks of a
full-attention group and ``cdiv(min(window - 1 + max_num_batched_tokens, L), block_size)
+ 1`` of a sliding-window group; maximum concurrency is blocks over blocks per request.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from fractions import Fraction

from kvplan.engines import EngineSettings, StageBudget, get_engine
from kvplan.errors import BadInputError
from kvplan.formats import KVFormat, get_format
from kvplan.gpus import GPU, custom_gpu, get_gpu
from kvplan.layer_sums import kind_counts, pp_stage_ranges
from kvplan.layers import CacheKind
from kvplan.spec import ModelSpec
from kvplan.units import cdiv
from kvplan.weights import Weights


#: vLLM puts hybrid layers in groups of the largest kind's layer count when it is under
#: this multiple of the smallest's (kv_cache_utils._get_kv_cache_groups_uniform_page_size;
#: 1.25 in earlier releases).
GROUP_SIZE_RATIO = 1.5
#: Attention block sizes are multiples of the attention kernel's block alignment when vLLM
#: raises them for state-space hybrids (FlashAttentionBackend.get_supported_kernel_block_sizes
#: -> MultipleOf(16); other backends align to more).
KERNEL_BLOCK_ALIGNMENT = 16


@dataclass(frozen=True)
class PoolLayout:
    """How one stage's pool is paged: bytes per block unit and the groups sharing it."""

    block_size: int  # tokens per attention block (raised for state-space hybrids)
    unit_bytes: int  # bytes one block costs across the layers that share it
    groups: tuple[tuple[CacheKind, int], ...]  # (kind, number of block tables of that kind)
    tokens_divisor: int  # vLLM logs num_blocks // tokens_divisor * block_size tokens
    padding_layers: int = 0
    has_tokens: bool = True  # False when only constant-state layers are paged


def _group_size(counts: dict[CacheKind, int]) -> int:
    lo, hi = min(counts.values()), max(counts.values())
    return hi if hi < lo * GROUP_SIZE_RATIO else lo


def pool_layout(spec: ModelSpec, layers: range, fmt: KVFormat, block_size: int, tp: int) -> PoolLayout:
    """Page the cache-holding layers of ``layers`` as vLLM does (shared-KV layers hold none)."""
    counts = {kind: n for kind, n in kind_counts(spec, layers) if kind.token_proportional or kind.state_bytes(tp)}
    if not counts:
        return PoolLayout(block_size, 0, (), 1, has_tokens=False)
    attention = [k for k in counts if k.token_proportional]
    states = [k for k in counts if not k.token_proportional]
    if states:
        state_page = max(k.state_bytes(tp) for k in states)
        if attention:
            per_token = max(k.per_token_bytes(fmt, tp) for k in attention)
            align = max(KERNEL_BLOCK_ALIGNMENT, block_size)
            block_size = max(block_size, align * cdiv(state_page, align * per_token))
        # one page size for every layer: state pages are padded up to the attention page
        page = max([state_page] + [k.page_bytes(fmt, block_size, tp) for k in attention])
        pages = dict.fromkeys(counts, page)
    else:
        pages = {k: k.page_bytes(fmt, block_size, tp) for k in counts}
    if len(counts) == 1:
        (kind, n), = counts.items()
        return PoolLayout(block_size, pages[kind] * n, ((kind, 1),), 1, has_tokens=bool(attention))
    if len(set(pages.values())) == 1:
        group_size = _group_size(counts)
        groups = tuple((k, cdiv(n, group_size)) for k, n in counts.items())
        padding = sum(g * group_size - counts[k] for k, g in groups)
        n_groups = sum(g for _, g in groups)
        page = next(iter(pages.values()))
        return PoolLayout(block_size, page * group_size, groups, n_groups, padding, has_tokens=bool(attention))
    unit = sum(pages[k] * n for k, n in counts.items())
    return PoolLayout(block_size, unit, tuple((k, 1) for k in counts), 1)


def blocks_per_request(layout: PoolLayout, n_tokens, max_num_batched_tokens: int | None):
    """Blocks one request of ``n_tokens`` holds at its peak, over every block table
    (each kind's own rule: ``CacheKind.engine_blocks_per_request``). ``n_tokens`` may be an
    int or a numpy int64 array (the sweep asks for a whole column of contexts at once)."""
    return sum(
        tables * kind.engine_blocks_per_request(n_tokens, layout.block_size, max_num_batched_tokens)
        for kind, tables in layout.groups
    )


# -- the request ----------------------------------------------------------------------------
def _positive_int(value, what: str, *, tokens: bool = False) -> int | None:
    """None, or a positive whole number (token strings such as '32k' when ``tokens``)."""
    if value is None:
        return None
    if tokens and isinstance(value, str):
        from kvplan.units import parse_tokens

        return parse_tokens(value, what)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise BadInputError(f"{what} must be a positive whole number, got {value!r}")
    return value


@dataclass(frozen=True)
class CapacityRequest:
    """Everything that decides what fits, resolved and checked (build it with make_request).

    ``gpu`` is one GPU of the deployment; ``tp * pp`` GPUs make one replica (one engine
    instance, one KV pool per rank) and ``dp`` replicas the whole deployment."""

    spec: ModelSpec
    gpu: GPU
    kv_format: KVFormat
    engine: str = "vllm"
    tp: int = 1
    pp: int = 1
    dp: int = 1
    weights: str | None = None  # weight format name; None: the spec's quantization or dtype
    memory_fraction: Fraction | None = None  # None: the engine's default
    max_model_len: int | None = None  # None: the model's max_position_embeddings
    max_num_batched_tokens: int | None = None  # None: the engine's default
    max_num_seqs: int | None = None  # None: the engine's default
    block_size: int | None = None  # None: the engine's default

    @property
    def num_gpus(self) -> int:
        """GPUs of the whole deployment."""
        return self.tp * self.pp * self.dp

    @property
    def model_len(self) -> int:
        return self.max_model_len or self.spec.max_position_embeddings

    def replace(self, **changes) -> CapacityRequest:
        """A copy with some options changed, checked again (names as make_request's)."""
        args = dict(gpu_mem_bytes=None, tp=self.tp, pp=self.pp, dp=self.dp, weights=self.weights,
                    kv_format=self.kv_format, engine=self.engine, gpu_memory_utilization=self.memory_fraction,
                    max_model_len=self.max_model_len, max_num_batched_tokens=self.max_num_batched_tokens,
                    max_num_seqs=self.max_num_seqs, block_size=self.block_size)
        spec = changes.pop("spec", self.spec)
        gpu = changes.pop("gpu", self.gpu)
        args.update(changes)
        return make_request(spec, gpu, **args)


def resolve_gpu(gpu, gpu_mem_bytes=None) -> GPU:
    """A catalog name or GPU object, with memory overridden by ``gpu_mem_bytes`` (bytes, or a
    size string such as '24GiB'); a GPU known only by its memory when ``gpu`` is None."""
    if isinstance(gpu_mem_bytes, str):
        from kvplan.units import parse_bytes

        gpu_mem_bytes = parse_bytes(gpu_mem_bytes, "--gpu-mem")
    if gpu_mem_bytes is not None:
        if isinstance(gpu_mem_bytes, bool) or not isinstance(gpu_mem_bytes, int) or gpu_mem_bytes <= 0:
            raise BadInputError(f"GPU memory must be positive, got {gpu_mem_bytes!r} (e.g. --gpu-mem 24GiB)")
    if gpu is None:
        if gpu_mem_bytes is None:
            raise BadInputError("give a GPU (--gpu h100; see `kvplan gpus`) or its memory (--gpu-mem 80GB)")
        return custom_gpu(gpu_mem_bytes)
    g = get_gpu(gpu)
    return g.with_memory(gpu_mem_bytes) if gpu_mem_bytes is not None else g


def make_request(
    spec: ModelSpec,
    gpu: str | GPU | None = None,
    *,
    gpu_mem_bytes: int | str | None = None,
    tp: int = 1,
    pp: int = 1,
    dp: int = 1,
    weights: str | None = None,
    kv_format: str | KVFormat | None = None,
    engine: str = "vllm",
    gpu_memory_utilization=None,
    max_model_len: int | str | None = None,
    max_num_batched_tokens: int | str | None = None,
    max_num_seqs: int | None = None,
    block_size: int | None = None,
    dtype: str | None = None,
) -> CapacityRequest:
    """Check and resolve every option into a CapacityRequest; BadInputError / ShapeError /
    UnknownNameError (one line) on anything kvplan cannot use.

    Token counts may be strings ('32k'); ``gpu_mem_bytes`` a size ('80GB'); ``kv_format``
    'auto' (or None) means the model's dtype; ``dtype`` overrides the model's dtype."""
    from kvplan.footprint import Parallelism, check_parallelism

    if dtype:
        from kvplan.formats import MODEL_DTYPES

        d = get_format(dtype).name
        if d not in MODEL_DTYPES:
            raise BadInputError(f"--dtype must be one of {', '.join(MODEL_DTYPES)}, got {dtype!r}")
        spec = dataclasses.replace(spec, dtype=d)
    tp, pp, dp = (_positive_int(v, what) for v, what in ((tp, "tp"), (pp, "pp"), (dp, "dp")))
    check_parallelism(spec, Parallelism(tp, pp))
    g = resolve_gpu(gpu, gpu_mem_bytes)
    if isinstance(kv_format, KVFormat):
        fmt = kv_format
    else:
        fmt = get_format(kv_format if kv_format not in (None, "") else "auto", spec.dtype)
    for kind in {*spec.layers}:
        kind.per_token_bytes(fmt, tp)  # ShapeError if the format cannot store this layer
    if weights is not None:
        from kvplan.weights import get_weight_format

        weights = get_weight_format(weights, spec.dtype).name
    prof = get_engine(engine)  # UnknownNameError for an unknown engine
    family = prof.name.split("==")[0].split("-")[0]
    if g.engines and family != "raw" and family not in g.engines:
        raise BadInputError(f"{family} does not run on {g.display_name or g.name} (engines that serve it: "
                            f"{', '.join(g.engines)}); use --engine raw for memory alone")
    fraction = None
    if gpu_memory_utilization is not None:
        # The engine checks the range with its own option name.
        prof.settings(g, tp=tp, pp=pp, memory_fraction=gpu_memory_utilization)
        fraction = Fraction(str(gpu_memory_utilization))
    return CapacityRequest(
        spec=spec, gpu=g, kv_format=fmt, engine=engine, tp=tp, pp=pp, dp=dp, weights=weights,
        memory_fraction=fraction,
        max_model_len=_positive_int(max_model_len, "max_model_len", tokens=True),
        max_num_batched_tokens=_positive_int(max_num_batched_tokens, "max_num_batched_tokens", tokens=True),
        max_num_seqs=_positive_int(max_num_seqs, "max_num_seqs"),
        block_size=_positive_int(block_size, "block_size"),
    )


# -- the pool and its queries ---------------------------------------------------------------
@dataclass(frozen=True)
class Verdict:
    """An answer with its reason: ``ok`` and, when not ok, why (one line)."""

    ok: bool
    reason: str = ""
    #: What binds: "memory", "max_num_seqs", "max_model_len", "weights" (no pool) or "" when ok.
    bound: str = ""

    def __bool__(self) -> bool:
        return self.ok


@dataclass(frozen=True)
class Pool:
    """The KV pool an engine builds for a request. Byte figures are per GPU (the binding
    pipeline stage, one tensor-parallel rank); blocks, tokens and requests are per replica
    (the tp x pp GPUs of one engine instance); ``dp`` replicas make the deployment.

    Every query is a pure function of the pool: ask it, never re-plan to read one number."""

    request: CapacityRequest
    engine: str  # the engine profile's name (with the release its rules come from)
    settings: EngineSettings
    weights: Weights
    stages: tuple[StageBudget, ...]
    layouts: tuple[PoolLayout, ...]
    stage_blocks: tuple[int | None, ...]  # None: a stage without paged layers
    binding_stage: int
    num_blocks: int

    # -- what the engine logs -----------------------------------------------------------------
    @property
    def layout(self) -> PoolLayout:
        return self.layouts[self.binding_stage]

    @property
    def paged(self) -> bool:
        return any(n is not None for n in self.stage_blocks)

    @property
    def waterfall(self) -> StageBudget:
        """The binding stage's memory waterfall (one GPU)."""
        return self.stages[self.binding_stage]

    @property
    def kv_pool_bytes(self) -> int:
        """KV pool of the binding GPU (negative when weights and buffers already overflow)."""
        return self.waterfall.kv_pool_bytes

    @property
    def weights_bytes(self) -> int:
        return self.waterfall.weights_bytes

    @property
    def block_size(self) -> int:
        return self.layout.block_size

    @property
    def kv_cache_tokens(self) -> int:
        """vLLM's "GPU KV cache size: N tokens" (per replica)."""
        if not self.paged or not self.layout.has_tokens:
            return 0
        return self.num_blocks // self.layout.tokens_divisor * self.layout.block_size

    @property
    def max_model_len(self) -> int:
        return self.request.model_len

    @property
    def max_num_seqs(self) -> int | None:
        """The engine's cap on running requests per replica (None: the engine has none)."""
        return self.settings.max_num_seqs

    # -- per request ----------------------------------------------------------------------------
    def blocks_per_request(self, n):
        """Blocks one request of ``n`` tokens holds at its peak (int, or int64 array)."""
        return blocks_per_request(self.layout, n, self.settings.max_num_batched_tokens)

    def reserved_bytes(self, n, batch: int = 1):
        """Bytes per GPU that ``batch`` requests of ``n`` tokens hold in the pool (blocks x
        bytes a block costs across the binding stage's layers). int, or int64 array."""
        return batch * self.blocks_per_request(n) * self.layout.unit_bytes

    def memory_concurrency(self, n: int) -> float:
        """Blocks over blocks per request, rounded to 0.01: what vLLM logs as "Maximum
        concurrency for N tokens per request" (memory only; no max_num_seqs cap)."""
        per = self.blocks_per_request(n) if self.paged else 0
        return round(self.num_blocks / per, 2) if per else 0.0

    def memory_requests(self, n: int) -> int:
        """Whole requests of ``n`` tokens the pool's memory holds at once (no caps)."""
        per = self.blocks_per_request(n) if self.paged else 0
        return self.num_blocks // per if per else 0

    def max_requests(self, n: int) -> int:
        """Whole requests of ``n`` tokens that can run at once: the memory's answer, capped by
        max_num_seqs, and 0 for a request longer than max_model_len."""
        if n > self.max_model_len:
            return 0
        fit = self.memory_requests(n)
        cap = self.max_num_seqs
        return min(fit, cap) if cap is not None else fit

    #: What can stop a load, in the order it is reported (see ``limits``).
    LIMITS = ("weights", "max_model_len", "max_num_seqs", "memory")

    def limits(self, n, requests=1) -> tuple:
        """The four conditions that each stop ``requests`` requests of ``n`` tokens, in the
        order of ``LIMITS``: no pool at all, longer than max_model_len, more than max_num_seqs,
        more blocks than the pool holds. Python bools for ints; numpy bool arrays (broadcast)
        when ``n`` or ``requests`` are arrays. The one rule behind ``serves`` and the sweep."""
        cap = self.max_num_seqs
        need = requests * self.blocks_per_request(n) if self.paged else requests * 0
        return (
            self.kv_pool_bytes <= 0,
            n > self.max_model_len,
            requests > cap if cap is not None else requests < 0,
            need > self.num_blocks,
        )

    def serves(self, n: int, requests: int = 1) -> Verdict:
        """Can ``requests`` requests of ``n`` tokens each run at once? The first limit that
        stops them (``limits``) is the reason."""
        no_pool, too_long, too_many, too_big = self.limits(n, requests)
        if no_pool:
            return Verdict(False, self._no_pool_reason(), "weights")
        if too_long:
            return Verdict(False, f"a request of {n:,} tokens is longer than max_model_len {self.max_model_len:,}",
                           "max_model_len")
        if too_many:
            cap = self.max_num_seqs
            return Verdict(False, f"{requests:,} requests exceed max_num_seqs {cap:,} (the engine runs at most "
                                  f"{cap:,} at once)", "max_num_seqs")
        if too_big:
            need = requests * self.blocks_per_request(n)
            return Verdict(False, f"{requests:,} request{'s' if requests != 1 else ''} of {n:,} tokens need "
                                  f"{need:,} blocks but the pool holds {self.num_blocks:,} "
                                  f"({self.kv_cache_tokens:,} tokens)", "memory")
        return Verdict(True)

    def longest_context(self, batch: int = 1) -> int:
        """The largest L <= max_model_len such that ``batch`` requests of L tokens fit; 0 when
        not even one token each does (or ``batch`` exceeds max_num_seqs)."""
        cap = self.max_num_seqs
        if not self.paged or self.num_blocks <= 0 or (cap is not None and batch > cap):
            return 0

        def fits(n: int) -> bool:
            return batch * self.blocks_per_request(n) <= self.num_blocks

        hi = self.max_model_len
        if not fits(1):
            return 0
        if fits(hi):
            return hi
        lo = 1  # fits(lo), not fits(hi)
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if fits(mid):
                lo = mid
            else:
                hi = mid
        return lo

    def concurrency_bound(self, n: int) -> str:
        """What limits concurrency at ``n`` tokens: "max_model_len", "max_num_seqs" or "memory"."""
        if n > self.max_model_len:
            return "max_model_len"
        cap = self.max_num_seqs
        if cap is not None and self.memory_requests(n) > cap:
            return "max_num_seqs"
        return "memory"

    def verdict(self) -> Verdict:
        """Does the deployment start and serve at least one request of max_model_len?"""
        return self.serves(self.max_model_len, 1)

    def _no_pool_reason(self) -> str:
        short = [b for b in self.stages if b.kv_pool_bytes <= 0]
        b = min(short, key=lambda x: x.kv_pool_bytes) if short else self.waterfall
        return (f"no memory left for the KV cache on stage {b.stage}: weights {b.weights_bytes:,} B + activations "
                f"{b.activation_bytes:,} B + other {b.other_bytes:,} B exceed the engine's "
                f"{b.engine_share_bytes:,} B")


def plan(req: CapacityRequest) -> Pool:
    """The engine's memory waterfall per pipeline stage and the KV pool it leaves, paged as
    the engine pages it; the stage with the fewest blocks binds (vLLM takes the minimum over
    workers)."""
    from kvplan.weights import weights_footprint

    spec = req.spec
    prof = get_engine(req.engine)
    settings: EngineSettings = prof.settings(
        req.gpu, tp=req.tp, pp=req.pp, memory_fraction=req.memory_fraction, block_size=req.block_size,
        max_num_batched_tokens=req.max_num_batched_tokens, max_num_seqs=req.max_num_seqs,
    )
    w = weights_footprint(spec, req.weights, req.tp, req.pp)
    budgets = prof.carve(spec, req.gpu, w, settings)
    layouts = tuple(pool_layout(spec, r, req.kv_format, settings.block_size, req.tp)
                    for r in pp_stage_ranges(spec.num_layers, req.pp))
    stage_blocks = tuple(None if lay.unit_bytes == 0 else max(b.kv_pool_bytes, 0) // lay.unit_bytes
                         for b, lay in zip(budgets, layouts))
    paged = [i for i, n in enumerate(stage_blocks) if n is not None]
    if paged:
        binding = min(paged, key=lambda i: (stage_blocks[i], -budgets[i].weights_bytes))
        num_blocks = stage_blocks[binding]
    else:  # attention-free model: nothing to page
        binding = min(range(len(budgets)), key=lambda i: budgets[i].kv_pool_bytes)
        num_blocks = 0
    return Pool(request=req, engine=prof.name, settings=settings, weights=w, stages=tuple(budgets),
                layouts=layouts, stage_blocks=stage_blocks, binding_stage=binding, num_blocks=num_blocks)


# -- the summary the commands print ---------------------------------------------------------
@dataclass(frozen=True)
class Capacity:
    """A pool's answers to the questions `kvplan capacity` asks (max_model_len, --ctx,
    --batch), and what would fit instead. Every figure is a Pool query."""

    pool: Pool
    ctx: int | None
    batch: int | None
    reasons: tuple[str, ...]
    suggestions: tuple[str, ...]

    # -- the pool's figures --------------------------------------------------------------------
    @property
    def request(self) -> CapacityRequest:
        return self.pool.request

    @property
    def model(self) -> str:
        return self.request.spec.name

    @property
    def gpu(self) -> str:
        return self.request.gpu.name

    @property
    def gpu_memory_bytes(self) -> int:
        return self.request.gpu.memory_bytes

    @property
    def engine(self) -> str:
        return self.pool.engine

    @property
    def tp(self) -> int:
        return self.request.tp

    @property
    def pp(self) -> int:
        return self.request.pp

    @property
    def dp(self) -> int:
        return self.request.dp

    @property
    def num_gpus(self) -> int:
        """GPUs of one replica (tp x pp)."""
        return self.tp * self.pp

    @property
    def weights_format(self) -> str:
        return self.pool.weights.format

    @property
    def kv_dtype(self) -> str:
        return self.request.kv_format.name

    @property
    def block_size(self) -> int:
        return self.pool.block_size

    @property
    def memory_fraction(self) -> float:
        return float(self.pool.settings.memory_fraction)

    @property
    def memory_fraction_name(self) -> str:
        return self.pool.settings.memory_fraction_name

    @property
    def max_num_batched_tokens(self) -> int | None:
        return self.pool.settings.max_num_batched_tokens

    @property
    def max_num_seqs(self) -> int | None:
        return self.pool.max_num_seqs

    @property
    def max_model_len(self) -> int:
        return self.pool.max_model_len

    @property
    def weights_bytes(self) -> int:
        return self.pool.weights_bytes

    @property
    def kv_pool_bytes(self) -> int:
        return self.pool.kv_pool_bytes

    @property
    def num_blocks(self) -> int:
        return self.pool.num_blocks

    @property
    def kv_cache_tokens(self) -> int:
        return self.pool.kv_cache_tokens

    @property
    def blocks_per_request(self) -> int:
        """Blocks one request of max_model_len holds."""
        return self.pool.blocks_per_request(self.max_model_len)

    @property
    def max_concurrency(self) -> float:
        """vLLM's logged "Maximum concurrency" at max_model_len (memory only)."""
        return self.pool.memory_concurrency(self.max_model_len)

    @property
    def max_requests(self) -> int:
        """Whole requests of max_model_len that run at once (capped by max_num_seqs)."""
        return self.pool.max_requests(self.max_model_len)

    @property
    def concurrency_bound(self) -> str:
        return self.pool.concurrency_bound(self.max_model_len)

    @property
    def ctx_blocks_per_request(self) -> int | None:
        return self.pool.blocks_per_request(self.ctx) if self.ctx is not None else None

    @property
    def concurrency_at_ctx(self) -> float | None:
        """Memory concurrency at --ctx (vLLM's formula; 0 beyond max_model_len)."""
        if self.ctx is None:
            return None
        return self.pool.memory_concurrency(self.ctx) if self.ctx <= self.max_model_len else 0.0

    @property
    def requests_at_ctx(self) -> int | None:
        """Whole requests of --ctx tokens that run at once (capped by max_num_seqs)."""
        return self.pool.max_requests(self.ctx) if self.ctx is not None else None

    @property
    def max_context_at_batch(self) -> int | None:
        return self.pool.longest_context(self.batch) if self.batch is not None else None

    @property
    def stages(self) -> tuple[StageBudget, ...]:
        return self.pool.stages

    @property
    def stage_blocks(self) -> tuple[int, ...]:
        return tuple(n if n is not None else 0 for n in self.pool.stage_blocks)

    @property
    def binding_stage(self) -> int:
        return self.pool.binding_stage

    @property
    def padding_layers(self) -> int:
        return self.pool.layout.padding_layers

    @property
    def block_unit_bytes(self) -> int:
        return self.pool.layout.unit_bytes

    @property
    def waterfall(self) -> StageBudget:
        return self.pool.waterfall

    @property
    def notes(self) -> tuple[str, ...]:
        """Caveats about the inputs (one line each), for stderr and --json."""
        g = self.request.gpu
        if g.memory_source == "smi":
            return (f"{g.name}'s memory is nvidia-smi's figure, a few hundred MiB above what the CUDA runtime "
                    f"reports to the engine: this plan is slightly optimistic (give --gpu-mem to use a runtime "
                    f"figure)",)
        if g.memory_source == "datasheet":
            return (f"{g.name}'s memory is the datasheet figure, not one read from a driver: the engine sees "
                    f"less (give --gpu-mem to use a measured figure)",)
        return ()

    # -- the verdict ---------------------------------------------------------------------------
    @property
    def fits(self) -> bool:
        return not self.reasons

    @property
    def verdict(self) -> str:
        if self.fits:
            return "fits"
        text = "does not fit: " + "; ".join(self.reasons)
        if self.suggestions:
            text += ". Would fit: " + "; ".join(self.suggestions)
        return text


def summarize(pool: Pool, ctx: int | None = None, batch: int | None = None, suggest: bool = True) -> Capacity:
    """The pool's answers: does one request of max_model_len fit, and (with ``ctx`` and
    ``batch``) do ``batch`` requests of ``ctx`` tokens; what would fit when not."""
    for what, value in (("ctx", ctx), ("batch", batch)):
        _positive_int(value, what)
    reasons = []
    base = pool.verdict()
    if not base:
        reasons.append(base.reason)
    if ctx is not None and batch is not None and base:
        load = pool.serves(ctx, batch)
        if not load:
            reasons.append(load.reason)
    elif ctx is not None and base and ctx > pool.max_model_len:
        reasons.append(pool.serves(ctx, 1).reason)
    suggestions = _suggest(pool, ctx, batch) if reasons and suggest else ()
    return Capacity(pool=pool, ctx=ctx, batch=batch, reasons=tuple(reasons), suggestions=suggestions)


def plan_capacity(spec: ModelSpec, gpu: str | GPU | None, *, ctx: int | None = None, batch: int | None = None,
                  suggest: bool = True, **options) -> Capacity:
    """``summarize(plan(make_request(spec, gpu, **options)), ctx, batch)`` in one call.

    ``options`` are make_request's keywords (gpu_mem_bytes, tp, pp, dp, weights, kv_format,
    engine, gpu_memory_utilization, max_model_len, max_num_batched_tokens, max_num_seqs,
    block_size, dtype). Raises BadInputError / ShapeError / UnknownNameError on bad input; a
    deployment that does not fit is returned with ``fits=False`` and suggestions."""
    return summarize(plan(make_request(spec, gpu, **options)), ctx, batch, suggest)


def _suggest(pool: Pool, ctx: int | None, batch: int | None) -> tuple[str, ...]:
    """What would fit instead: a shorter context, fp8 KV, quantized weights, more GPUs."""
    from kvplan.errors import KvplanError

    req = pool.request
    n = ctx if ctx is not None and batch is not None else req.model_len
    requests = batch if ctx is not None and batch is not None else 1
    out = []
    longest = pool.longest_context(requests) if pool.kv_pool_bytes > 0 else 0
    if longest > 0 and ctx is not None and batch is not None:
        out.append(f"a context of {longest:,} tokens for {batch} requests (--ctx {longest})")
    elif longest > 0:
        out.append(f"max_model_len {longest:,} (--max-model-len {longest})")

    def attempt(**changes) -> bool:
        try:
            return bool(plan(req.replace(**changes)).serves(n, requests))
        except KvplanError:
            return False

    if req.kv_format.bytes_per_value > 1 and attempt(kv_format=get_format("fp8")):
        out.append("fp8 KV cache (--kv-dtype fp8)")
    if pool.weights.format in ("fp32", "bf16", "fp16"):
        for q in ("fp8", "int4"):
            if attempt(weights=q):
                out.append(f"{q} weights (--weights {q})")
                break
    for more in (2, 4, 8, 16):
        tp = req.tp * more
        if tp > 64 or req.spec.num_attention_heads % tp:
            continue
        if attempt(tp=tp):
            out.append(f"{tp * req.pp} GPUs (--tp {tp})")
            break
    return tuple(out)


#: What each kind of figure in a capacity report counts.
SCOPES = {
    "bytes": "per GPU: the binding pipeline stage on one tensor-parallel rank",
    "blocks_tokens_requests": "per replica: one engine instance of tp x pp GPUs",
    "deployment": "the whole deployment: dp replicas",
}


def capacity_dict(cap: Capacity) -> dict:
    """Plain data for --json and the API."""
    w = cap.waterfall
    return {
        "model": cap.model,
        "gpu": cap.gpu,
        "gpu_memory_bytes": cap.gpu_memory_bytes,
        "engine": cap.engine,
        "tp": cap.tp,
        "pp": cap.pp,
        "dp": cap.dp,
        "num_gpus": cap.num_gpus,
        "deployment_num_gpus": cap.request.num_gpus,
        "scopes": SCOPES,
        "weights_format": cap.weights_format,
        "kv_dtype": cap.kv_dtype,
        "block_size": cap.block_size,
        cap.memory_fraction_name or "memory_fraction": cap.memory_fraction,
        "max_num_batched_tokens": cap.max_num_batched_tokens,
        "max_num_seqs": cap.max_num_seqs,
        "max_model_len": cap.max_model_len,
        "weights_bytes": cap.weights_bytes,
        "activation_bytes": w.activation_bytes,
        "other_bytes": w.other_bytes,
        "engine_share_bytes": w.engine_share_bytes,
        "kv_pool_bytes": cap.kv_pool_bytes,
        "num_blocks": cap.num_blocks,
        "kv_cache_tokens": cap.kv_cache_tokens,
        "deployment_kv_cache_tokens": cap.dp * cap.kv_cache_tokens,
        "blocks_per_request": cap.blocks_per_request,
        "max_concurrency": cap.max_concurrency,
        "max_requests": cap.max_requests,
        "deployment_max_requests": cap.dp * cap.max_requests,
        "concurrency_bound": cap.concurrency_bound,
        "ctx": cap.ctx,
        "concurrency_at_ctx": cap.concurrency_at_ctx,
        "requests_at_ctx": cap.requests_at_ctx,
        "batch": cap.batch,
        "max_context_at_batch": cap.max_context_at_batch,
        "fits": cap.fits,
        "verdict": cap.verdict,
        "notes": list(cap.notes),
        "reasons": list(cap.reasons),
        "suggestions": list(cap.suggestions),
        "padding_layers": cap.padding_layers,
        "binding_stage": cap.binding_stage,
        "stages": [dict(s.as_dict(), num_blocks=n) for s, n in zip(cap.stages, cap.stage_blocks)],
    }
