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

Per pipeline stage (on one tensor-parallel rank) the engine (kvplan.engines, bound to
its release) carves the GPU into weights, activations, other and the KV pool, or the
request gives the KV memory directly (vLLM's ``--kv-cache-memory``, per rank when ranks
differ); the pool is cut into blocks by the engine release's paging rules
(``kvplan.paging``: vLLM's ``kv_cache_utils`` release by release):

- one cache kind (most models): every layer gets ``num_blocks`` pages,
  ``num_blocks = kv_pool // (page_bytes * num_layers)``; "GPU KV cache size" is
  ``num_blocks * block_size`` tokens. Llama-3.1-8B bf16 on an H100 at 0.95: a page of
  16 tokens is 16 * 8 heads * (128 + 128) * 2 B = 65,536 B a layer, 2 MiB for 32 layers;
  58.11 GiB // 2 MiB = 29,751 blocks = 476,016 tokens.
- several kinds (the hybrid allocator, vLLM 0.9.1+): layers in groups of ``group_size`` =
  the smallest kind's layer count, padding the last group of each kind, or the largest
  kind's count when it is under 1.25x (0.12.0-0.17.1) / 1.5x (0.18.0+) the smallest
  (12 sliding + 13 full -> groups of 13, one padding layer); ``num_blocks = kv_pool //
  (page_bytes * group_size)``; vLLM logs ``num_blocks // num_groups * block_size`` tokens
  (before 0.22.0). Unequal pages: one group when the kinds need the same token slots
  (0.11.0+), block sizes scaled until pages match (0.12.0+), else vLLM refuses to start.
- attention + state-space layers (Jamba, Qwen3-Next): vLLM raises the attention block
  size until one attention page holds a whole state, ``block = a * cdiv(state_bytes, a *
  bytes_per_token)`` with ``a = max(16, block_size)`` (16: FlashAttention's kernel block
  alignment), pads the state page up to the attention page, and groups all layers as
  above; a request holds one block per state layer.

Pipeline stages have their own pools; vLLM then uses the smallest ``num_blocks`` of all
workers (or ``--num-gpu-blocks-override``), so the stage with the fewest blocks binds, and
its figures are reported (the "most loaded GPU"). A request of L tokens needs
``cdiv(L, block_size)`` blocks of a full-attention group and ``cdiv(min(window - 1 +
max_num_batched_tokens, L), block_size) + 1`` of a sliding-window group (plus speculative
lookahead slots); vLLM's logged maximum concurrency is blocks over blocks per request, and
requests can use every block but the null block (0.8.3+).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from fractions import Fraction

from kvplan import limits
from kvplan.engines import EngineSettings, StageBudget, get_engine
from kvplan.engines.base import RequestCap
from kvplan.errors import BadInputError
from kvplan.eviction import SinkWindowPolicy
from kvplan.formats import KVFormat, get_format
from kvplan.gpus import GPU, custom_gpu, get_gpu
from kvplan.layer_sums import pp_stage_ranges
from kvplan.paging import (  # noqa: F401  (PoolLayout, pool_layout, blocks_per_request: re-exported)
    Pages,
    Paging,
    PoolLayout,
    blocks_per_request,
    page_replica,
    paging_for,
    pool_layout,
)
from kvplan.spec import ModelSpec
from kvplan.speculative import Speculative
from kvplan.units import cdiv
from kvplan.weights import Weights


# -- the request ----------------------------------------------------------------------------
def _positive_int(value, what: str, *, tokens: bool = False, limit: int | None = None) -> int | None:
    """None, or a positive whole number of at most ``limit`` (kvplan.limits; token counts:
    MAX_TOKENS, and strings such as '32k' when ``tokens``)."""
    if value is None:
        return None
    if tokens:
        from kvplan.units import parse_tokens

        if isinstance(value, str):
            return parse_tokens(value, what)
        limit = limits.MAX_TOKENS
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise BadInputError(f"{what} must be a positive whole number, got {value!r}")
    if limit is None:
        return value
    return limits.check_int(value, what, limit, " tokens" if tokens else "")


@dataclass(frozen=True)
class CapacityRequest:
    """Everything that decides what fits, resolved and checked (build it with make_request).

    ``gpu`` is one GPU of the deployment; ``tp * pp`` GPUs make one replica (one engine
    instance, one KV pool per rank) and ``dp`` replicas the whole deployment.

    For a mixture-of-experts model the ``dp`` replicas are vLLM's data-parallel ranks:
    each keeps its own attention weights and KV pool (DeepSeek-style DP attention: every
    rank holds the MLA latents of its own requests), while the routed experts are sharded
    over all ``tp * dp`` ranks, as slices of every expert or, with
    ``enable_expert_parallel``, as whole experts (``kvplan.shapes.MoEParallel``). SGLang's
    ``--tp N --dp D --enable-dp-attention`` is tp = N / D here, and SGLang also splits the
    lm_head, dense MLP and shared experts over all N (``Engine.weight_splits``)."""

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
    #: vLLM's --max-model-len -1 / auto (0.14.0+): the longest length the KV memory holds,
    #: at most the model's max_position_embeddings.
    max_model_len_auto: bool = False
    #: KV memory per GPU given directly (vLLM --kv-cache-memory-bytes, 0.10.2+; it replaces
    #: the gpu_memory_utilization waterfall): one value per rank of the replica
    #: (rank = stage * tp + tp rank); None: the engine carves it.
    kv_cache_memory_bytes: tuple[int, ...] | None = None
    #: vLLM --num-gpu-blocks-override: every worker's block count, whatever its memory.
    num_gpu_blocks_override: int | None = None
    #: vLLM --disable-hybrid-kv-cache-manager: True allocates every attention layer as full
    #: attention; False forces the hybrid manager on; None: the release's default.
    disable_hybrid_kv_cache_manager: bool | None = None
    #: vLLM --cpu-offload-gb, as bytes per GPU: decoder-layer weights vLLM keeps in CPU memory.
    cpu_offload_bytes: int = 0
    #: vLLM --swap-space, as bytes of CPU memory per GPU (removed in 0.19.0): no effect on the
    #: GPU pool; kept so outputs can say so.
    swap_space_bytes: int | None = None
    eviction: SinkWindowPolicy | None = None  # --window/--sinks (kvplan.eviction)
    speculative: Speculative | None = None  # --speculative-config / --draft / --mtp (kvplan.speculative)
    enable_expert_parallel: bool = False  # MoE: whole experts over the tp x dp ranks (vLLM's flag)
    #: vLLM --enable-prefix-caching (True), --no-enable-prefix-caching (False), or the engine's
    #: default (None): block reuse, no change to the pool, but where the engine release changes
    #: a state-space model's pages with it (Engine.check_prefix_caching refuses those)
    enable_prefix_caching: bool | None = None
    #: a max_model_len beyond the model's own was allowed (VLLM_ALLOW_LONG_MAX_MODEL_LEN=1 /
    #: SGLANG_ALLOW_OVERWRITE_LONGER_CONTEXT_LEN=1 where the engine runs)
    allow_long_max_model_len: bool = False
    #: what the engine release does to the model as given (one line each; e.g. SGLang runs a
    #: window its model class does not apply as full attention)
    engine_notes: tuple[str, ...] = ()
    #: the model as make_request was given it, and the --dtype asked (None: the config's), before
    #: the engine's serving dtype and serving_spec: replace() plans from them, so the engine's
    #: changes and their notes are made again (under another engine too)
    model_spec: ModelSpec | None = field(default=None, compare=False, repr=False)
    dtype_asked: str | None = None

    @property
    def served_spec(self) -> ModelSpec:
        """The model as served: its full-attention layers under the eviction policy, if any."""
        return self.eviction.apply(self.spec) if self.eviction else self.spec

    @property
    def kv_spec(self) -> ModelSpec:
        """Every layer the KV pool pages: the served model's, then the drafter's."""
        served = self.served_spec
        return self.speculative.kv_spec(served) if self.speculative else served

    @property
    def extra_slots(self) -> int:
        """Slots a decoding request reserves beyond its tokens (speculative decoding)."""
        return self.speculative.extra_slots if self.speculative else 0

    @property
    def moe_parallel(self):
        """How each rank holds the routed experts (``kvplan.shapes.MoEParallel``); for a
        dense model, ``MoEParallel(tp, 1)`` (nothing to shard across replicas)."""
        from kvplan.shapes import MoEParallel

        if self.spec.moe is None:
            return MoEParallel(self.tp, 1)
        return MoEParallel.of(self.tp, self.dp, self.enable_expert_parallel)

    @property
    def dp_attention(self) -> int:
        """Ranks of one DP-attention group: ``dp`` for a mixture-of-experts model (each rank its
        own attention and KV pool, the experts shared: SGLang's ``--tp tp*dp --dp dp
        --enable-dp-attention``), 1 for a dense model (``dp`` independent replicas: SGLang's
        ``--tp tp --dp dp``)."""
        return self.dp if self.spec.moe is not None else 1

    @property
    def num_gpus(self) -> int:
        """GPUs of the whole deployment."""
        return self.tp * self.pp * self.dp

    @property
    def model_len(self) -> int:
        """max_model_len as given (the model's own limit when not given or auto-fitted; the
        auto-fitted length is ``Pool.max_model_len``)."""
        return self.max_model_len or self.spec.max_position_embeddings

    def replace(self, **changes) -> CapacityRequest:
        """A copy with some options changed, checked again (names as make_request's)."""
        args = dict(gpu_mem_bytes=None, tp=self.tp, pp=self.pp, dp=self.dp, weights=self.weights,
                    kv_format=self.kv_format, engine=self.engine, gpu_memory_utilization=self.memory_fraction,
                    max_model_len="auto" if self.max_model_len_auto else self.max_model_len,
                    max_num_batched_tokens=self.max_num_batched_tokens,
                    max_num_seqs=self.max_num_seqs, block_size=self.block_size, eviction=self.eviction,
                    speculative=self.speculative, kv_cache_memory_bytes=self.kv_cache_memory_bytes,
                    num_gpu_blocks_override=self.num_gpu_blocks_override,
                    disable_hybrid_kv_cache_manager=self.disable_hybrid_kv_cache_manager,
                    cpu_offload_bytes=self.cpu_offload_bytes, swap_space_bytes=self.swap_space_bytes,
                    enable_expert_parallel=self.enable_expert_parallel,
                    enable_prefix_caching=self.enable_prefix_caching,
                    allow_long_max_model_len=self.allow_long_max_model_len)
        spec = changes.pop("spec", self.model_spec or self.spec)
        gpu = changes.pop("gpu", self.gpu)
        args["dtype"] = self.dtype_asked
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
        limits.check_int(gpu_mem_bytes, "--gpu-mem", limits.MAX_MEMORY_BYTES, " B")
    if gpu is None:
        if gpu_mem_bytes is None:
            raise BadInputError("give a GPU (--gpu h100; see `kvplan gpus`) or its memory (--gpu-mem 80GB)")
        return custom_gpu(gpu_mem_bytes)
    g = get_gpu(gpu)
    return g.with_memory(gpu_mem_bytes) if gpu_mem_bytes is not None else g


VENDOR_NAMES = {"nvidia": "NVIDIA", "amd": "AMD", "google": "Google", "intel": "Intel"}


def served_spec(spec: ModelSpec, gpu, *, engine: str = "vllm", dtype: str | None = None, gpu_mem_bytes=None,
                **_other) -> ModelSpec:
    """``spec`` in the dtype ``engine`` runs it in on ``gpu``: ``dtype`` (--dtype) when given,
    else the engine's resolution of the config's (vLLM downcasts float32 and replaces bf16
    below compute capability 8.0: kvplan.engines.vllm.VLLM.serving_dtype). make_request plans
    this spec; commands that resolve ``auto`` KV formats or default weights before asking
    for a pool (size, sweep, fragment, recommend with a GPU) start from it too, so every
    command counts the same bytes. Other keywords (a make_request options dict) are ignored."""
    spec = _with_dtype(spec, dtype)
    return _served(spec, resolve_gpu(gpu, gpu_mem_bytes), get_engine(engine), explicit=bool(dtype))


def model_dtype(dtype: str) -> str:
    """The model dtype --dtype names (bf16, fp16, fp32; their aliases such as bfloat16);
    BadInputError naming --dtype otherwise, for a name no format has too (int3), not "unknown
    kv format"."""
    from kvplan.errors import UnknownNameError
    from kvplan.formats import MODEL_DTYPES

    try:
        d = get_format(dtype).name
    except UnknownNameError:
        d = None
    if d not in MODEL_DTYPES:
        raise BadInputError(f"--dtype must be one of {', '.join(MODEL_DTYPES)}, got {dtype!r}")
    return d


def _with_dtype(spec: ModelSpec, dtype: str | None) -> ModelSpec:
    """``spec`` with the --dtype given (checked), or as it is."""
    if not dtype:
        return spec
    return dataclasses.replace(spec, dtype=model_dtype(dtype))


def _served(spec: ModelSpec, g: GPU, prof, explicit: bool) -> ModelSpec:
    """``spec`` in the dtype engine ``prof`` runs it in on ``g`` (served_spec, resolved); an
    engine release without a model class for its architecture refuses it here."""
    prof.check_model(spec)
    prof.check_gpu(g)  # BadInputError: a GPU this release runs only in an engine kvplan does not model
    served = prof.serving_dtype(spec, g, explicit=explicit)
    spec = prof.serving_spec(spec)  # e.g. SGLang: windows its model class does not apply are full layers
    return spec if served == spec.dtype else dataclasses.replace(spec, dtype=served)


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
    window: int | str | None = None,
    sinks: int | None = None,
    eviction: SinkWindowPolicy | None = None,
    speculative_config: str | dict | None = None,
    draft: str | ModelSpec | None = None,
    num_speculative_tokens: int | None = None,
    mtp: bool = False,
    speculative: Speculative | None = None,
    kv_cache_memory_bytes=None,
    num_gpu_blocks_override: int | None = None,
    disable_hybrid_kv_cache_manager: bool | None = None,
    cpu_offload_gb=None,
    cpu_offload_bytes: int | None = None,
    swap_space=None,
    swap_space_bytes: int | None = None,
    enable_expert_parallel: bool = False,
    allow_long_max_model_len: bool = False,
    quantization: str | None = None,
    enable_prefix_caching: bool | None = None,
    dp_attention: bool | None = None,
) -> CapacityRequest:
    """Check and resolve every option into a CapacityRequest; BadInputError / ShapeError /
    UnknownNameError (one line) on anything kvplan cannot use.

    Token counts may be strings ('32k'); ``gpu_mem_bytes`` a size ('80GB'); ``kv_format``
    'auto' (or None) means the model's dtype; ``dtype`` overrides the model's dtype;
    ``max_model_len`` -1 or 'auto' is vLLM's auto-fit; ``enable_expert_parallel`` puts whole experts on
    the tp x dp ranks (MoE models only).

    ``window`` / ``sinks``: a StreamingLLM sink + window cap on the full-attention layers
    (kvplan.eviction; only under engines that run it). ``speculative_config`` (vLLM's JSON,
    or a dict), or ``draft`` + ``num_speculative_tokens``, or ``mtp``: speculative decoding
    (kvplan.speculative: the draft's KV layers in the pool, its weights, the lookahead).

    vLLM's own options keep vLLM's meaning: ``kv_cache_memory_bytes`` (bytes or a size, one
    for every GPU or a list with one per rank), ``num_gpu_blocks_override``,
    ``disable_hybrid_kv_cache_manager``, ``cpu_offload_gb`` / ``swap_space`` (GiB per GPU, as
    vLLM's flags; or the ``*_bytes`` forms), ``enable_expert_parallel``, ``quantization``
    (vLLM's method names, read as a weight format: kvplan.vllm_args.quantization_weights) and
    ``enable_prefix_caching`` (refused where the release changes the pool with it).

    ``dp_attention``: SGLang's --enable-dp-attention as a launch command gave it (None: kvplan's
    own meaning of dp, DP attention for a mixture-of-experts model and replicas for a dense
    one); a layout that meaning cannot express is refused (``_check_dp_attention``)."""
    from kvplan import eviction as _eviction
    from kvplan import speculative as _speculative
    from kvplan.footprint import Parallelism, check_parallelism

    given = spec
    spec = _with_dtype(spec, dtype)
    g = resolve_gpu(gpu, gpu_mem_bytes)
    prof = get_engine(engine)  # UnknownNameError for an unknown engine or release
    layers_note = prof.serving_spec_note(spec)
    if enable_prefix_caching is not None and not isinstance(enable_prefix_caching, bool):
        raise BadInputError(f"enable_prefix_caching must be true or false, got {enable_prefix_caching!r}")
    prof.check_language_model_only(spec)  # SGLang 0.5.18+ serve such a config otherwise
    prof.check_dsa_topk_sharing(spec)  # DSA layers that reuse the previous layer's top-k keep no indexer
    spec = _served(spec, g, prof, explicit=bool(dtype))
    tp, pp, dp = (_positive_int(v, what, limit=limits.MAX_DEGREE) for v, what in ((tp, "tp"), (pp, "pp"), (dp, "dp")))
    check_parallelism(spec, Parallelism(tp, pp))
    prof.check_pipeline(pp)
    prof.check_tp_splits(spec, tp)
    _check_moe_parallel(spec, tp, dp, enable_expert_parallel)
    dp_note = _check_dp_attention(spec, prof, tp, dp, dp_attention)
    if isinstance(kv_format, KVFormat):
        fmt = kv_format
    else:
        if kv_format in (None, "") or str(kv_format).strip().lower() == "auto":
            prof.check_auto_kv(spec)  # e.g. a ModelOpt checkpoint's FP8 KV cache under SGLang 0.5.4+
        fmt = get_format(kv_format if kv_format not in (None, "") else "auto", spec.dtype)
    prof.check_forced_kv(spec, fmt)  # vLLM 0.15.0-0.21.0: a compressed-tensors kv_cache_scheme is fp8 whatever is given
    if eviction is None:
        eviction = _eviction.make_policy(window, sinks)
    elif window is not None or sinks is not None:
        raise BadInputError("give window/sinks or an eviction policy, not both")
    if eviction is not None:
        _eviction.check_engine(engine)
        eviction.apply(spec)  # ShapeError for layers the policy cannot take
    elif any(k.kind == "sink_window" for k in spec.layers):  # a spec that states the kind itself
        _eviction.check_engine(engine, f"{spec.name}'s sink_window layers")
    if speculative is None:
        speculative = _speculative.make_speculative(
            spec, speculative_config, draft=draft, num_speculative_tokens=num_speculative_tokens, mtp=mtp, tp=tp)
    elif speculative_config is not None or draft is not None or num_speculative_tokens is not None or mtp:
        raise BadInputError("give speculative_config/draft/num_speculative_tokens/mtp or a Speculative, not both")
    if speculative is not None:
        _speculative.check_engine(engine, speculative.method)
        prof.check_speculative(spec, speculative)
        if pp > 1:
            raise BadInputError("speculative decoding is modelled with pp=1 only (where an engine places the "
                                "draft's layers across pipeline stages is not modelled)")
        speculative.check_tp(tp)
    kv_layers = {*spec.layers} | ({*speculative.draft_layers(spec)} if speculative else set())
    for kind in kv_layers:
        kind.per_token_bytes(fmt, tp)  # ShapeError if the format cannot store this layer
    from kvplan.weights import get_weight_format
    if quantization is not None:
        from kvplan.vllm_args import quantization_weights

        q = quantization_weights(quantization, spec)
        prof.check_quantization(quantization, spec)
        if weights is not None and q is not None and get_weight_format(weights, spec.dtype).name != q:
            raise BadInputError(f"--quantization {quantization} stores weights as {q}, but --weights is {weights}")
        weights = weights if q is None else q
    if weights is not None:
        weights = get_weight_format(weights, spec.dtype).name
    from kvplan.weights import resolve_weight_format

    prof.check_weights(weights or resolve_weight_format(spec).name, g)
    family = prof.family
    # Only the serving engines the catalog speaks of (raw, and explain's anchored re-plans, run anywhere).
    from kvplan.gpus import ENGINE_NAMES

    if g.engines and family in ENGINE_NAMES and family not in g.engines:
        raise BadInputError(f"{family} does not run on {g.display_name or g.name} (engines that serve it: "
                            f"{', '.join(g.engines)}); use --engine raw for memory alone")
    if prof.vendors and g.vendor and g.vendor not in prof.vendors:
        raise BadInputError(f"kvplan models {family}'s memory only on {' and '.join(VENDOR_NAMES[v] for v in sorted(prof.vendors))} "
                            f"GPUs; on {g.display_name or g.name} {family} sizes memory and pages in a worker of "
                            f"its own that kvplan does not model; use --engine raw for memory alone")
    if isinstance(kv_format, str) and kv_format.strip().lower().replace("-", "_") == "fp8_inc" and prof.vendors:
        # vLLM's fp8_inc is Intel Neural Compressor's fp8 for Gaudi (docs features/quantization/inc.md);
        # no CUDA/ROCm attention backend takes it.
        raise BadInputError(f"fp8_inc is vLLM's Intel Gaudi (INC) cache format, and kvplan models {family} on NVIDIA "
                            f"and AMD GPUs only: use --kv-cache-dtype fp8 (or --engine raw for the bytes)")
    prof.check_kv_format(fmt, spec.dtype)  # BadInputError: a format this engine release cannot run
    real = prof.resolve_kv_format(fmt, spec)  # e.g. vLLM's fp8 -> fp8_ds_mla for DeepSeek sparse attention
    prof.check_kv_on_gpu(real, spec, g)  # BadInputError: a cache format this release does not start on this GPU
    if real != fmt:
        for kind in {*spec.layers}:
            kind.per_token_bytes(real, tp)
        fmt = real
    paging = paging_for(prof)
    fraction = None
    if gpu_memory_utilization is not None:
        # The engine checks the range with its own option name.
        prof.settings(g, tp=tp, pp=pp, memory_fraction=gpu_memory_utilization)
        fraction = Fraction(str(gpu_memory_utilization))
    auto = isinstance(max_model_len, (int, str)) and not isinstance(max_model_len, bool) and (
        str(max_model_len).strip().lower() in ("-1", "auto"))
    kv_mem = _rank_memory(kv_cache_memory_bytes, tp * pp)
    if kv_mem is not None and not paging.kv_cache_memory_bytes:
        raise paging.refuse("has no --kv-cache-memory-bytes (added in vLLM 0.10.2)",
                            paging.sources.get("kv_cache_memory_bytes", ""))
    if disable_hybrid_kv_cache_manager is not None and not isinstance(disable_hybrid_kv_cache_manager, bool):
        raise BadInputError(f"disable_hybrid_kv_cache_manager must be true or false, got "
                            f"{disable_hybrid_kv_cache_manager!r}")
    model_len = None if auto else _positive_int(max_model_len, "max_model_len", tokens=True)
    env = prof.long_context_env
    if model_len is not None and model_len > spec.max_position_embeddings and env and not allow_long_max_model_len:
        # vllm/config/model.py _get_and_verify_max_len raises ValueError; SGLang's model_config.py likewise.
        raise BadInputError(f"{prof.name} refuses max_model_len {model_len:,}: {spec.name} serves at most "
                            f"{spec.max_position_embeddings:,} tokens (its config's derived length); with {env}=1 "
                            f"where it runs, pass --allow-long-max-model-len")
    offload = _gib_or_bytes(cpu_offload_gb, cpu_offload_bytes, "--cpu-offload-gb") or 0
    swap = _gib_or_bytes(swap_space, swap_space_bytes, "--swap-space")
    if swap is not None and "swap_space" in prof.removed_options():
        raise BadInputError(f"{prof.name} has no --swap-space (vLLM removed it in 0.18.0): the engine would not start "
                            f"with it; drop the flag")
    prefix_note = prof.check_prefix_caching(spec, enable_prefix_caching)
    return CapacityRequest(
        spec=spec, gpu=g, kv_format=fmt, engine=engine, tp=tp, pp=pp, dp=dp, weights=weights,
        engine_notes=tuple(n for n in (dp_note, layers_note, prefix_note) if n),
        enable_prefix_caching=enable_prefix_caching,
        model_spec=given, dtype_asked=model_dtype(dtype) if dtype else None,
        memory_fraction=fraction,
        max_model_len=model_len, allow_long_max_model_len=bool(allow_long_max_model_len),
        max_num_batched_tokens=_positive_int(max_num_batched_tokens, "max_num_batched_tokens", tokens=True),
        max_num_seqs=_positive_int(max_num_seqs, "max_num_seqs", limit=limits.MAX_BATCH),
        block_size=_positive_int(block_size, "block_size", limit=limits.MAX_BLOCK_SIZE),
        max_model_len_auto=auto,
        kv_cache_memory_bytes=kv_mem,
        num_gpu_blocks_override=_positive_int(num_gpu_blocks_override, "num_gpu_blocks_override",
                                              limit=limits.MAX_TOKENS),
        disable_hybrid_kv_cache_manager=disable_hybrid_kv_cache_manager,
        cpu_offload_bytes=offload,
        swap_space_bytes=swap,
        enable_expert_parallel=bool(enable_expert_parallel),
        eviction=eviction, speculative=speculative,
    )


def _non_negative_int(value, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise BadInputError(f"{what} must be a whole number >= 0, got {value!r}")
    return value


def _gib_or_bytes(gib, nbytes, what: str) -> int | None:
    """vLLM's GiB-per-GPU float flags (--cpu-offload-gb, --swap-space) as bytes:
    ``int(gib * 1024**3)`` as vLLM converts them (offloader/base.py); or bytes given directly."""
    if gib is not None and nbytes is not None:
        raise BadInputError(f"give {what} in GiB or in bytes, not both")
    if nbytes is not None:
        return limits.check_int(_non_negative_int(nbytes, what), what, limits.MAX_MEMORY_BYTES, " B")
    if gib is None:
        return None
    try:
        value = float(gib)
    except (TypeError, ValueError):
        raise BadInputError(f"{what} must be a number of GiB, got {gib!r}") from None
    if isinstance(gib, bool) or not value >= 0 or value == float("inf"):
        raise BadInputError(f"{what} must be a number of GiB >= 0, got {gib!r}")
    if value > limits.MAX_MEMORY_BYTES / 1024**3:  # before int(): 1e300 GiB would overflow a float
        raise BadInputError(f"{what}: {gib!r} GiB is beyond kvplan's limit of {limits.MAX_MEMORY_BYTES:,} B "
                            f"(see docs/limits.md)")
    return int(value * 1024**3)


def _rank_memory(value, ranks: int) -> tuple[int, ...] | None:
    """KV memory per GPU: one value (bytes or a size string) for every rank, or a list with
    one per rank."""
    if value is None:
        return None
    from kvplan.units import parse_bytes
    from kvplan.vllm_args import VLLM_INT, human_readable_int

    if isinstance(value, str):
        value = [v.strip() for v in value.split(",")]
    values = list(value) if isinstance(value, (list, tuple)) else [value]
    out = []
    for v in values:
        if isinstance(v, str):
            # vLLM's reading (20G = 20 GiB, 20g = 20e9, plain bytes), else kvplan's (20GiB, 80GB)
            v = (human_readable_int(v, "--kv-cache-memory-bytes")[0] if VLLM_INT.fullmatch(v.strip())
                 else parse_bytes(v, "--kv-cache-memory-bytes"))
        if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
            raise BadInputError(f"--kv-cache-memory-bytes must be a positive size per GPU, got {v!r}")
        out.append(limits.check_int(v, "--kv-cache-memory-bytes", limits.MAX_MEMORY_BYTES, " B"))
    if len(out) == 1:
        return tuple(out) * ranks
    if len(out) != ranks:
        raise BadInputError(f"--kv-cache-memory-bytes: give one size for every GPU or one for each of the {ranks} "
                            f"ranks of a replica (tp x pp), got {len(out)}")
    return tuple(out)



def _check_dp_attention(spec: ModelSpec, prof, tp: int, dp: int, dp_attention) -> str | None:
    """kvplan's ``dp`` is DP attention for a mixture-of-experts model (CapacityRequest.dp_attention)
    and independent replicas for a dense one. An SGLang launch command that says otherwise is
    refused: ``--dp D`` without --enable-dp-attention runs D copies of a MoE model, each with its
    experts over its own --tp GPUs (managers/data_parallel_controller.py), which kvplan's dp
    does not express; --enable-dp-attention with a dense model splits its attention over tp / dp
    and its MLP over the whole --tp, which kvplan does not model. Returns a note saying how an
    accepted --enable-dp-attention was read."""
    if dp_attention is None:
        return None
    if not isinstance(dp_attention, bool):
        raise BadInputError(f"dp_attention must be true or false, got {dp_attention!r}")
    if not prof.dp_attention_flag:
        raise BadInputError(f"dp_attention is SGLang's --enable-dp-attention; {prof.name} has no such flag")
    if dp_attention and spec.moe is None:
        raise BadInputError(f"--enable-dp-attention: {spec.name} is dense, and kvplan models SGLang's DP attention "
                            f"only for mixture-of-experts models (its MLP would split over the whole --tp "
                            f"{tp * dp}, its attention over {tp}); plan --dp {dp} replicas without the flag")
    if not dp_attention and dp > 1 and spec.moe is not None:
        raise BadInputError(f"--dp {dp} without --enable-dp-attention: SGLang runs {dp} independent copies of "
                            f"{spec.name}, each with its experts over its own --tp {tp} "
                            f"(managers/data_parallel_controller.py), and kvplan's dp for a mixture-of-experts "
                            f"model is DP attention (experts shared over tp x dp); plan one copy (drop --dp) or "
                            f"add --enable-dp-attention")
    if not dp_attention:
        return None
    return (f"--tp {tp * dp} --dp {dp} --enable-dp-attention: SGLang's DP attention over {tp * dp} GPUs, each of "
            f"the {dp} DP ranks its own attention over {tp} and its own KV pool, the experts over all {tp * dp}: "
            f"kvplan plans it as tp {tp} x dp {dp}")


def _check_moe_parallel(spec: ModelSpec, tp: int, dp: int, expert_parallel) -> None:
    """The MoE sharding vLLM can build: EP needs experts; slices of tp x dp must divide the
    expert width (FusedMoEConfig asserts intermediate_size % tp_size == 0); EP over more
    ranks than experts leaves ranks without one."""
    from kvplan.errors import ShapeError

    if not isinstance(expert_parallel, bool):
        raise BadInputError(f"enable_expert_parallel must be true or false, got {expert_parallel!r}")
    moe = spec.moe
    if moe is None:
        if expert_parallel:
            raise BadInputError(f"--enable-expert-parallel: {spec.name} has no experts (not a mixture-of-experts model)")
        return
    group = tp * dp
    if expert_parallel and group > moe.num_experts:
        raise ShapeError(f"expert parallelism over tp x dp = {group} ranks, but {spec.name} has only "
                         f"{moe.num_experts} experts")
    if not expert_parallel and group > 1 and moe.expert_intermediate_size % group:
        raise ShapeError(f"tp x dp = {group} ranks cannot slice {spec.name}'s experts of "
                         f"{moe.expert_intermediate_size} channels evenly (vLLM shards MoE layers over tp x dp); "
                         f"use --enable-expert-parallel or another tp/dp")


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

    Every query is a pure function of the pool: ask it, never re-plan to read one number.
    The paging arithmetic (blocks, what vLLM logs and checks) is ``pages``
    (kvplan.paging.Pages, the engine release's ``get_kv_cache_configs``)."""

    request: CapacityRequest
    engine: str  # the engine profile's name (with the release its rules come from)
    settings: EngineSettings
    weights: Weights
    stages: tuple[StageBudget, ...]
    pages: Pages
    binding_stage: int
    #: what the engine did to the request while planning (one line each: a forced page, a scaled
    #: memory fraction), said with Capacity.notes
    engine_notes: tuple[str, ...] = ()
    #: how long one request may run under the engine (kvplan.engines.base.RequestCap: SGLang
    #: stops a request 2 tokens short of context_len and of its pool's tokens)
    request_cap: RequestCap = RequestCap()

    @property
    def notes(self) -> tuple[str, ...]:
        """Caveats about the deployment and the plan (one line each), for stderr and --json:
        the GPU's memory figure, the engine's caveats, what the engine did to the request or
        does not have modelled (``engine_notes``: e.g. vLLM's dp > 1 MoE token gather, SGLang's
        quantized w_kc / w_vc, the rejection sampler's lower bound), the request's own, and the
        drafter's. Every command that plans this pool prints them: capacity, speed, recommend, sweep
        (once for all its points), check (in --json's capacity)."""
        g = self.request.gpu
        out = []
        if g.memory_source == "smi":
            out.append(f"{g.name}'s memory is nvidia-smi's figure, a few hundred MiB above what the CUDA runtime "
                       f"reports to the engine: this plan is slightly optimistic (give --gpu-mem to use a runtime "
                       f"figure)")
        elif g.memory_source == "datasheet":
            out.append(f"{g.name}'s memory is the datasheet figure, not one read from a driver: the engine sees "
                       f"less (give --gpu-mem to use a measured figure)")
        from kvplan.engines import get_engine

        prof = get_engine(self.request.engine)
        out.extend(prof.caveats)
        req = self.request
        out.extend(self.engine_notes)  # e.g. SGLang's trtllm_mla page 64; aiter's x 0.85 on ROCm
        out.extend(req.engine_notes)  # e.g. SGLang runs a window its model class does not apply as full
        started = self.starts_beyond_pool()  # e.g. vLLM 0.14.0-0.18.1 with Gemma-3's first group
        if started:
            out.append(started)
        # a GPU known only by --gpu-mem (kvplan.gpus.custom_gpu) has no vendor and no compute capability;
        # a named GPU keeps both when --gpu-mem overrides its memory (memory_source "custom" then too)
        unnamed = not g.vendor and g.compute_capability is None
        if unnamed and prof.family == "vllm" and self.request.spec.dtype == "bf16":
            out.append("a GPU given by its memory alone: taken to run bf16 (compute capability 8.0 or newer); below "
                       "it vLLM runs this model in fp16 (Gemma-2/3 and GLM-4 in fp32, twice the bytes)")
        if unnamed and prof.family == "vllm" and prof.sampler_path() == "triton":
            out.append(f"a GPU given by its memory alone: taken to have {prof.MEMORY_ALONE_SMS} SMs (an H100 SXM's) "
                       f"for vLLM's Triton top-k/top-p buffer, one fp32 row of the vocabulary per SM up to the rows "
                       f"sampled ({self.request.spec.vocab_size * 4:,} B each); --gpu names a GPU with its own count")
        sp = self.request.speculative
        if sp is not None and sp.method != "ngram":
            out.append("speculative decoding: the drafter's weights and KV layers are counted; its own activation "
                       "peak and rotary cache are not (the engine profile is the target's)")
            if sp.method == "eagle":
                out.append("eagle: the head is assumed to share the target's embedding and lm_head (vLLM shares "
                           "them when the head has none or identical ones)")
        return tuple(out)

    # -- what the engine logs -----------------------------------------------------------------
    @property
    def paging(self) -> Paging:
        return self.pages.paging

    @property
    def layouts(self) -> tuple[PoolLayout, ...]:
        return self.pages.layouts

    @property
    def stage_blocks(self) -> tuple[int | None, ...]:
        """Blocks each pipeline stage's memory holds (None: a stage without paged layers;
        ``num_gpu_blocks_override`` when given)."""
        return self.pages.stage_blocks

    @property
    def num_blocks(self) -> int:
        """Blocks every worker allocates: the smallest stage's count (vLLM's num_gpu_blocks)."""
        return self.pages.num_blocks

    @property
    def usable_blocks(self) -> int:
        """Blocks requests can hold: all but the null block vLLM's BlockPool keeps back (0.8.3+)."""
        return self.pages.usable_blocks

    @property
    def layout(self) -> PoolLayout:
        return self.layouts[self.binding_stage]

    @property
    def paged(self) -> bool:
        return self.pages.paged

    @property
    def waterfall(self) -> StageBudget:
        """The binding stage's memory waterfall (one GPU)."""
        return self.stages[self.binding_stage]

    @property
    def kv_pool_bytes(self) -> int:
        """KV pool of the binding GPU (negative when weights and buffers already overflow)."""
        return self.waterfall.kv_pool_bytes

    @property
    def kv_cache_bytes(self) -> int:
        """KV cache bytes the binding GPU allocates: ``num_blocks`` blocks of the bytes a block
        costs across its layers. vLLM sizes its KV tensors by the block count, which
        --num-gpu-blocks-override replaces whatever the memory holds (v0.19.1
        v1/core/kv_cache_utils.py may_override_num_blocks, 823-835; the tensors are page x
        num_blocks, 1116-1125): Llama-3.1-8B bf16 on an H100 with an override of 1,000 allocates
        1,000 x 2,097,152 B = 2,097,152,000 B of a 58,138,726,400 B ``kv_pool_bytes``."""
        return self.num_blocks * self.layout.unit_bytes if self.paged else 0

    def headroom_bytes(self, n, requests: int = 1):
        """Bytes per GPU of the pool's usable blocks left free while ``requests`` requests of
        ``n`` tokens run: (usable_blocks - requests x blocks_per_request(n)) x the bytes a block
        costs on the binding GPU. The blocks the engine has (``num_blocks``: the override's
        when given, less the null block), not its memory: the part of ``kv_pool_bytes`` an
        override leaves unallocated, and the remainder below one block, hold no request.
        Negative when the load does not fit. A pool without paged layers (a model whose layers
        keep nothing per sequence) has no blocks: 0, whatever ``kv_pool_bytes`` is, as vLLM
        allocates no KV tensor for it (v0.19.1 v1/core/kv_cache_utils.py:1097-1104: no KV cache
        groups, num_blocks=1 for the null block, kv_cache_tensors=[]). The one figure of `kvplan
        check`'s min_headroom and `kvplan sweep`'s headroom_bytes column."""
        if not self.paged:
            return n * requests * 0
        return (self.usable_blocks - requests * self.blocks_per_request(n)) * self.layout.unit_bytes

    @property
    def weights_bytes(self) -> int:
        return self.waterfall.weights_bytes

    @property
    def block_size(self) -> int:
        return self.layout.block_size

    @property
    def kv_cache_tokens(self) -> int:
        """vLLM's "GPU KV cache size: N tokens" (per replica), as the engine release logs it."""
        return self.pages.kv_cache_tokens

    @property
    def max_model_len(self) -> int:
        """max_model_len as the engine runs it (auto-fitted for --max-model-len -1)."""
        return self.pages.max_model_len

    @property
    def max_num_seqs(self) -> int | None:
        """The engine's cap on running requests per replica (None: the engine has none)."""
        return self.settings.max_num_seqs

    @property
    def max_request_tokens(self) -> int:
        """The most tokens (prompt and output) one request runs to: max_model_len, or less where
        the engine stops it sooner (``request_cap``; SGLang: min(context_len, pool tokens) - 2; 0.5.23
        with pages of P tokens: at most pool tokens - P - 1)."""
        return self.request_cap.tokens(self.max_model_len, self.kv_cache_tokens, self.settings.block_size)

    def request_tokens_with_prompt(self, prompt_tokens: int) -> int:
        """``max_request_tokens`` for a request whose prompt is ``prompt_tokens`` long: the same,
        except where the engine caps a request by its pool less the prompt's rounding up to
        whole pages (SGLang 0.5.23, ``RequestCap.tokens``)."""
        return self.request_cap.tokens(self.max_model_len, self.kv_cache_tokens, self.settings.block_size,
                                       prompt_tokens)

    @property
    def model_len_request_tokens(self) -> int:
        """The longest request max_model_len allows, whatever the pool (the request ``verdict``
        asks the pool to hold): max_model_len; SGLang's context_len - 2."""
        return self.request_cap.tokens(self.max_model_len)

    @property
    def cap_bound(self) -> str:
        """What sets ``max_request_tokens``: "memory" where the engine caps a request by a pool
        shorter than max_model_len (SGLang), else "max_model_len"."""
        by_pool = self.request_cap.pool_binds(self.max_model_len, self.kv_cache_tokens, self.settings.block_size)
        return "memory" if by_pool else "max_model_len"

    def too_long(self, n: int) -> str:
        """Why a request of ``n`` tokens (more than ``max_request_tokens``) does not run: "longer
        than max_model_len N", or the engine's shorter cap with its source."""
        cap = self.request_cap
        if not cap.short and not cap.by_pool:
            return f"longer than max_model_len {self.max_model_len:,}"
        pool = self.kv_cache_tokens
        where = (f"when the pool holds {pool:,} (max_model_len {self.max_model_len:,}; "
                 if self.cap_bound == "memory" else f"at max_model_len {self.max_model_len:,} (")
        return f"longer than {self.engine} runs one: at most {self.max_request_tokens:,} tokens {where}{cap.source})"

    @property
    def max_prompt_tokens(self) -> int:
        """The longest prompt the engine accepts (``RequestCap.prompt_tokens``): max_model_len - 1
        (vLLM); SGLang's min(context_len, pool tokens) - 7."""
        return self.request_cap.prompt_tokens(self.max_model_len, self.kv_cache_tokens)

    @property
    def aborts_every_prompt(self) -> bool:
        """The engine accepts no prompt of one token or more (``max_prompt_tokens`` 0) where its prompt
        check leaves no room (``RequestCap.prompt_short``):
        SGLang at min(context_len, pool tokens) <= 7, where it may start (0.5.14+: from 2) but
        validate_input_length aborts every prompt; ``startup`` then says the deployment serves nothing.
        vLLM and TensorRT-LLM at max_model_len 1 alike (prompt_short 1: a prompt of one token leaves no
        room for the output token; vLLM 0.11.1+ v1/engine/input_processor.py refuses a prompt of
        max_model_len, earlier releases' OpenAI server asks max_tokens 0, which SamplingParams refuses)."""
        return self.paged and self.max_prompt_tokens < 1

    def not_running_why(self) -> str:
        """Where no request runs (``start_bound``), in a few words for the report: the engine does not
        start, or it starts but aborts every prompt (``prompt_check``)."""
        if self.startup() and not self.prompt_check():
            return "the deployment aborts every prompt"
        return "the deployment does not start"

    def refusal(self, prompt_tokens: int, output_tokens: int = 0) -> str:
        """Why the engine, at this pool's max_model_len and whatever its memory, does not run a
        request of ``prompt_tokens`` in + ``output_tokens`` out ("" when it does): the check
        `kvplan recommend` makes of its --max-model-len (``RequestCap.refusal``)."""
        return self.request_cap.refusal(self.engine, self.request.spec.name, prompt_tokens, output_tokens,
                                        self.max_model_len)

    def estimated_max_model_len(self) -> int:
        """vLLM's "estimated maximum model length": the longest max_model_len (up to the model's
        own limit) whose one request passes the start-up check on every worker."""
        return self.pages.estimated_max_model_len(max(self.pages.derived_max_model_len, self.max_model_len))

    # -- per request ----------------------------------------------------------------------------
    def blocks_per_request(self, n, lookahead: bool = True):
        """Blocks one request of ``n`` tokens holds at its peak (int, or int64 array). Under
        speculative decoding (``lookahead``) the request reserves slots for
        min(n + extra_slots, max_model_len) tokens (kvplan.speculative: k + k for a drafter)
        and state layers hold k more blocks (kvplan.paging.Pages.blocks_per_request)."""
        return self.pages.blocks_per_request(n, lookahead)

    @property
    def draft_weights_bytes(self) -> int:
        """Bytes of the drafter's weights on the binding GPU (included in weights_bytes)."""
        return self.weights.stages[self.binding_stage].by_part.get("draft", 0)

    def reserved_bytes(self, n, batch: int = 1):
        """Bytes per GPU that ``batch`` requests of ``n`` tokens hold in the pool (blocks x
        bytes a block costs across the binding stage's layers). int, or int64 array."""
        return batch * self.blocks_per_request(n) * self.layout.unit_bytes

    def memory_concurrency(self, n: int) -> float:
        """What vLLM logs as "Maximum concurrency for N tokens per request", rounded to 0.01
        (memory only; no max_num_seqs cap; the release's formula; vLLM leaves speculative
        lookahead slots out of it)."""
        return round(self.pages.max_concurrency(n), 2) if self.paged else 0.0

    def memory_requests(self, n):
        """Whole requests of ``n`` tokens the pool's usable blocks hold at once (no caps).
        int, or int64 array for an array of lengths (the sweep asks a column at once)."""
        if not self.paged:
            return n * 0
        per = self.blocks_per_request(n)
        return self.usable_blocks // (per + (per == 0)) * (per > 0)

    def max_requests(self, n, prompt_tokens: int | None = None):
        """Whole requests of ``n`` tokens that can run at once: the memory's answer, capped by
        max_num_seqs, 0 for a request longer than max_model_len, 0 where the deployment
        does not start (``start_bound``: no request runs in an engine that refused to start,
        whatever its pool would hold; ``memory_requests`` is the memory's answer alone), and 0
        (``prompt_tokens``: the prompt of the ``n``, where the caller knows it) for a prompt the
        engine refuses. A pool without paged layers (a model whose layers keep nothing per sequence)
        runs max_num_seqs requests of any length up to the cap (``memory_requests``, which counts
        blocks, is 0 there); refused where the engine has no cap. int, or int64 array."""
        from kvplan.layers import minimum

        fit = self.memory_requests(n)
        cap = self.max_num_seqs
        if not self.paged:
            # no paged layers: a request holds no block, so memory stops none of them (``limits``) and the
            # count is the engine's cap (``serves`` answers exactly that), or none where there is no pool
            fit = n * 0 + (0 if self.limits(1)[0] else self._unpaged_cap())
        elif cap is not None:
            fit = minimum(fit, cap)
        accepted = prompt_tokens is None or (prompt_tokens <= self.max_prompt_tokens
                                             and n <= self.request_tokens_with_prompt(prompt_tokens))
        return fit * (n <= self.max_request_tokens) * (not self.start_bound()) * accepted

    def _unpaged_cap(self) -> int:
        """The requests at once of a pool without paged layers: max_num_seqs, as nothing else
        bounds them; refused where the engine has no cap (raw; TensorRT-LLM without
        --max-batch-size), as no count is then right."""
        if self.max_num_seqs is None:
            raise BadInputError(f"{self.request.spec.name} keeps no KV cache (no paged layers) and {self.engine} caps "
                                f"no request count: the requests that run at once have no bound to report; give "
                                f"--max-num-seqs")
        return self.max_num_seqs

    def start_bound(self) -> str:
        """What stops the deployment before any load (``planned``): "" where the engine starts;
        "weights" where no pool is left; else "max_model_len" (the engine refuses to start with
        the deployment's max_model_len, or its pool is shorter than the engine's minimum). The
        limit `kvplan sweep` gives every point of such a pool, and ``concurrency_bound``'s."""
        base = self.planned()
        if base:
            return ""
        return "weights" if base.bound == "weights" else "max_model_len"

    #: What can stop a load, in the order it is reported (see ``limits``).
    LIMITS = ("weights", "max_model_len", "max_num_seqs", "memory")

    def limits(self, n, requests=1) -> tuple:
        """The four conditions that each stop ``requests`` requests of ``n`` tokens, in the
        order of ``LIMITS``: no pool at all, longer than a request runs (``max_request_tokens``:
        max_model_len, or SGLang's shorter cap), more than max_num_seqs,
        more blocks than the pool's usable blocks. Python bools for ints; numpy bool arrays
        (broadcast) when ``n`` or ``requests`` are arrays. The one rule behind ``serves`` and
        the sweep."""
        cap = self.max_num_seqs
        need = requests * self.blocks_per_request(n) if self.paged else requests * 0
        return (
            self.kv_pool_bytes <= 0 or self.overcommitted_stage() is not None,
            n > self.max_request_tokens,
            requests > cap if cap is not None else requests < 0,
            need > self.usable_blocks,
        )

    def serves(self, n: int, requests: int = 1, prompt_tokens: int | None = None) -> Verdict:
        """Can ``requests`` requests of ``n`` tokens each run at once? The first limit that
        stops them (``limits``) is the reason; with ``prompt_tokens`` (the prompt of the ``n``,
        where the caller knows it), a prompt longer than the engine accepts (``max_prompt_tokens``)
        stops them too, after a request too long."""
        no_pool, too_long, too_many, too_big = self.limits(n, requests)
        if no_pool:
            return Verdict(False, self._no_pool_reason(), "weights")
        if too_long:
            return Verdict(False, f"a request of {n:,} tokens is {self.too_long(n)}", self.cap_bound)
        if prompt_tokens is not None and prompt_tokens > self.max_prompt_tokens:
            return Verdict(False, self.request_cap.prompt_refusal(self.engine, prompt_tokens, self.max_model_len,
                                                                  self.kv_cache_tokens), self.cap_bound)
        if prompt_tokens is not None and n > self.request_tokens_with_prompt(prompt_tokens):
            # SGLang 0.5.23: the pool's cap less the prompt's rounding to whole pages (RequestCap.tokens)
            return Verdict(False, self.request_cap.request_refusal(
                self.engine, self.request.spec.name, prompt_tokens, n - prompt_tokens, self.max_model_len,
                self.kv_cache_tokens, self.settings.block_size), "memory")
        if too_many:
            cap = self.max_num_seqs
            return Verdict(False, f"{requests:,} requests exceed max_num_seqs {cap:,} (the engine runs at most "
                                  f"{cap:,} at once)", "max_num_seqs")
        if too_big:
            per = self.blocks_per_request(n)
            need = requests * per
            null = (f", {self.usable_blocks:,} usable: vLLM's BlockPool keeps one as the null block"
                    if need <= self.num_blocks else "")
            return Verdict(False, f"{requests:,} request{'s' if requests != 1 else ''} of {n:,} tokens need "
                                  f"{need:,} blocks but the pool holds {self.num_blocks:,} "
                                  f"({self.kv_cache_tokens:,} tokens{null}){self.beyond_pool_note(n)}", "memory")
        return Verdict(True)

    def beyond_pool_note(self, n: int) -> str:
        """Where one request of ``n`` tokens needs more blocks than requests can use: what the
        release's scheduler does with it (``Pages.request_beyond_pool_note``, "; ..." to follow
        a verdict: vLLM 0.14.0-0.18.1 start with such a max_model_len and preempt the request
        over and over); "" where one fits. The one condition behind ``serves`` and `kvplan
        check`'s min_concurrency."""
        if self.blocks_per_request(n) <= self.usable_blocks:
            return ""
        return self.pages.request_beyond_pool_note(self.max_model_len)

    def longest_context(self, batch: int = 1) -> int:
        """The largest L <= max_request_tokens (max_model_len, or SGLang's shorter cap) such
        that ``batch`` requests of L tokens run at once: ``memory_longest_context``, and 0
        where the deployment does not start (``start_bound``)."""
        return 0 if self.start_bound() else self.memory_longest_context(batch)

    def memory_longest_context(self, batch: int = 1) -> int:
        """The largest L <= max_request_tokens such that ``batch`` requests of L tokens fit the
        pool's usable blocks, whether or not the engine starts (what a shorter max_model_len
        would run: ``_suggest``); 0 when not even one token each fits (or ``batch`` exceeds
        max_num_seqs). A pool without paged layers holds any length: max_request_tokens (0 where
        there is no pool), as ``serves`` answers."""
        from kvplan.paging import longest_fitting

        cap = self.max_num_seqs
        if cap is not None and batch > cap:
            return 0
        if not self.paged:  # a request holds no block: any length up to the cap runs where there is a pool
            return 0 if self.limits(1)[0] else self.max_request_tokens
        if self.num_blocks <= 0:
            return 0
        return longest_fitting(lambda n: batch * self.blocks_per_request(n) <= self.usable_blocks,
                               self.max_request_tokens)

    def concurrency_bound(self, n: int) -> str:
        """What limits concurrency at ``n`` tokens: the deployment not starting (``start_bound``:
        "weights" or "max_model_len"), "max_model_len" (longer than a request runs),
        "max_num_seqs" or "memory"."""
        start = self.start_bound()
        if start:
            return start
        if n > self.max_request_tokens:
            return self.cap_bound
        if not self.paged:  # no block to hold: no pool at all, or the engine's cap
            return "weights" if self.limits(n)[0] else "max_num_seqs"
        cap = self.max_num_seqs
        if cap is not None and self.memory_requests(n) > cap:
            return "max_num_seqs"
        return "memory"

    def startup(self) -> Verdict:
        """Does the engine start? vLLM's check_enough_kv_cache_memory on every worker: one
        request of max_model_len must fit its KV memory (the release's rule: per layer before
        0.14.0, per group after; less the null block from 0.29.0), else vLLM stops and names
        the estimated maximum model length."""
        if self.overcommitted_stage() is not None:
            return Verdict(False, self._no_pool_reason(), "weights")
        if not self.paged:
            return Verdict(True)
        cap = self.request_cap
        if min(self.max_model_len, self.kv_cache_tokens) < cap.start_min:
            if self.kv_pool_bytes <= 0:
                return Verdict(False, self._no_pool_reason(), "weights")
            return Verdict(False, f"{self.engine} refuses to start with max_model_len {self.max_model_len:,} and a "
                                  f"pool of {self.kv_cache_tokens:,} tokens: it needs at least {cap.start_min} of "
                                  f"each ({cap.start_why})",
                           "max_model_len" if self.max_model_len < cap.start_min else "memory")
        stage = self.pages.failing_stage()
        if stage is None:
            return Verdict(True)
        mem = self.pages.check_memory_bytes(stage)
        if mem <= 0:
            return Verdict(False, self._no_pool_reason(), "weights")
        need = self.pages.needed_bytes(stage, self.max_model_len)
        longest = self.estimated_max_model_len()
        hint = f"; the estimated maximum model length is {longest:,}" if longest > 0 else ""
        where = f" on pipeline stage {stage}" if self.request.pp > 1 else ""
        return Verdict(False, f"{self.engine} refuses to start{where}: one request of max_model_len "
                              f"{self.max_model_len:,} needs {need:,} B of KV cache, more than the {mem:,} B "
                              f"available{hint}{self.pages.check_scope_note()}", "max_model_len")

    def verdict(self) -> Verdict:
        """Does the deployment start and serve at least one request of max_model_len (under
        SGLang, of context_len - 2: ``model_len_request_tokens``)? An engine that caps a request
        by its pool (``RequestCap.by_pool``, SGLang) starts with max_model_len beyond the pool and
        stops each request at min(context_len, pool tokens) - 2 (0.5.8 managers/tp_worker.py:
        286-293, scheduler.py:1335-1343): the deployment runs, but not the max_model_len it was
        planned for, so the verdict is "does not fit" with the memory as its reason (a planner
        that said "fits" there would pass a 128k deployment that cuts every request at 30k).
        When both fail, the request's reason comes first and the engine's refusal (with vLLM's
        estimated maximum model length) follows."""
        start, serve = self.startup(), self.serves(self.model_len_request_tokens, 1)
        if start and serve:
            return self.prompt_check()
        if start or not serve and start.bound == "weights":
            return serve
        if serve:
            return start
        return Verdict(False, f"{serve.reason}; {start.reason}", serve.bound)

    def prompt_check(self) -> Verdict:
        """Does the engine, once started, accept any prompt at all (``aborts_every_prompt``)? SGLang
        0.5.14+ start from min(context_len, pool tokens) = 2 (managers/tp_worker.py asserts
        max_req_len > 0) but managers/utils.py validate_input_length aborts a prompt of max_req_input_len
        = min(context_len, pool tokens) - 6 tokens or more: every prompt up to 7 (0.5.13 and earlier
        start from 7: 7 alone); every other engine at max_model_len 1 (no room for the output token).
        The bound is max_model_len where it alone is that short, else memory."""
        if not self.aborts_every_prompt:
            return Verdict(True)
        cap = self.request_cap
        lhs, where = cap._where(self.max_model_len, self.kv_cache_tokens)
        return Verdict(False, f"{self.engine} starts at max_model_len {self.max_model_len:,}{where} but aborts every "
                              f"prompt: it accepts one of at most {lhs} - {cap.prompt_short} tokens, none here "
                              f"({cap.prompt_source})",
                       "max_model_len" if self.max_model_len <= cap.prompt_short else "memory")

    def planned(self) -> Verdict:
        """Does the deployment run, so that a load can be asked of it? The engine's start-up,
        under every engine: the load is then the question (``serves``). Where the start-up asks
        for less than one request of max_model_len, the engine starts with a max_model_len whose
        requests do not fit and runs the shorter ones: SGLang caps a request by its pool
        (``RequestCap.by_pool``), vLLM 0.14.0-0.18.1 check the first KV-cache group only (rule
        memory_check "first_group": Gemma-3-27B on an H100 starts with 131,072 and runs 8k
        requests), and up to 0.28.0 vLLM's check leaves the null block in. The base of
        ``runs``, of `kvplan sweep`'s points, of ``summarize`` with --ctx and of speed's "starts";
        the verdict without a load (``verdict``) still asks for a request of max_model_len. An engine
        that starts but aborts every prompt (``prompt_check``: SGLang at context_len 7 or less, any
        engine at max_model_len 1) runs no load either."""
        start = self.startup()
        return self.prompt_check() if start else start

    def starts_beyond_pool(self) -> str:
        """Where the engine starts (``startup``) though one request of max_model_len needs more
        blocks than requests can use, and does not cap requests by its pool as SGLang does: a
        line saying so and how long a request that runs may be ("" otherwise)."""
        n = self.model_len_request_tokens
        if self.request_cap.by_pool or not self.paged or not self.startup():
            return ""
        per = self.blocks_per_request(n)
        if per <= self.usable_blocks:
            return ""
        why = (f" (its start-up check asks for the first KV-cache group's blocks only, "
               f"{self.pages.needed_bytes(self.binding_stage, n):,} B: vllm/v1/core/kv_cache_utils.py "
               f"_max_memory_usage_bytes_from_groups)" if self.paging.memory_check == "first_group" else "")
        return (f"{self.engine} starts with max_model_len {self.max_model_len:,} though one request of it needs "
                f"{per:,} blocks and requests can use {self.usable_blocks:,}{why}; one request runs up to "
                f"{self.longest_context(1):,} tokens")

    def runs(self, n: int, requests: int = 1, prompt_tokens: int | None = None) -> Verdict:
        """What `kvplan capacity --ctx n --batch requests` answers: the deployment runs as
        planned (``planned``) and ``requests`` requests of ``n`` tokens run at once
        (``serves``, with the prompt's own limit where ``prompt_tokens`` is given: recommend);
        the first failure is the reason."""
        base = self.planned()
        return base if not base else self.serves(n, requests, prompt_tokens)

    def _given_kv_bytes(self, stage: int) -> int | None:
        """The KV cache a stage's GPU allocates whatever its memory holds: --kv-cache-memory-bytes,
        or --num-gpu-blocks-override blocks of the stage's block bytes; None when neither."""
        if self.request.kv_cache_memory_bytes is not None:
            return self.stages[stage].kv_pool_bytes
        if self.request.num_gpu_blocks_override is not None:
            return self.request.num_gpu_blocks_override * self.layouts[stage].unit_bytes
        return None

    def overcommitted_stage(self) -> int | None:
        """With the KV memory given (--kv-cache-memory-bytes, or --num-gpu-blocks-override blocks:
        ``kv_cache_bytes``), the first stage whose weights, activations, other buffers, persistent
        buffers outside the profile (``StageBudget.persistent_bytes``: vLLM Model Runner V2's) and KV
        cache exceed the GPU (vLLM then runs out of memory)."""
        for b in self.stages:
            kv = self._given_kv_bytes(b.stage)
            if kv is not None and (b.weights_bytes + b.activation_bytes + b.other_bytes + b.persistent_bytes
                                   + kv > b.total_bytes):
                return b.stage
        return None

    def _no_pool_reason(self) -> str:
        over = self.overcommitted_stage()
        if over is not None:
            b = self.stages[over]
            given = ("--kv-cache-memory-bytes" if self.request.kv_cache_memory_bytes is not None else
                     f"--num-gpu-blocks-override: {self.request.num_gpu_blocks_override:,} blocks")
            persistent = (f" + V2 persistent buffers {b.persistent_bytes:,} B" if b.persistent_bytes else "")
            return (f"stage {b.stage}: weights {b.weights_bytes:,} B + activations {b.activation_bytes:,} B + other "
                    f"{b.other_bytes:,} B{persistent} + KV cache {self._given_kv_bytes(over):,} B ({given}) exceed "
                    f"the GPU's {b.total_bytes:,} B")
        if self.request.kv_cache_memory_bytes is not None or self.request.num_gpu_blocks_override is not None:
            return "no KV memory for a single block"
        short = [b for b in self.stages if b.kv_pool_bytes <= 0]
        b = min(short, key=lambda x: x.kv_pool_bytes) if short else self.waterfall
        return (f"no memory left for the KV cache on stage {b.stage}: weights {b.weights_bytes:,} B + activations "
                f"{b.activation_bytes:,} B + other {b.other_bytes:,} B exceed the engine's "
                f"{b.engine_share_bytes:,} B")


def engine_weights(prof, spec: ModelSpec, gpu, weights=None, *, tp: int, pp: int = 1, dp_attention: int = 1, moe=None,
                   expert_parallel: bool = False) -> Weights:
    """Weights per GPU as engine ``prof`` holds them at ``tp`` x ``pp`` with ``dp_attention``
    DP-attention ranks (``CapacityRequest.dp_attention``): experts as ``moe`` says
    (``kvplan.shapes.MoEParallel``), the vocabulary padded as the engine pads it
    (``prof.vocab_padding``), the parts the engine splits otherwise as it does
    (``prof.weight_splits``: SGLang's DP attention), of the tensors the engine builds
    (``prof.loaded_spec``: not SGLang's Llama 4 vision tower from 0.4.10). The one weight rule of
    ``plan`` and of `kvplan explain` on an SGLang log."""
    from kvplan.weights import weights_footprint

    spec = prof.loaded_spec(spec)
    splits = prof.weight_splits(spec, gpu, tp=tp, dp_attention=dp_attention, expert_parallel=expert_parallel)
    return weights_footprint(spec, weights, tp, pp, moe=moe, vocab_padding=prof.vocab_padding, splits=splits)


def _weights(req: CapacityRequest, prof) -> Weights:
    """Weights per GPU: experts held as ``req.moe_parallel`` says (slices over tp x dp, or whole
    experts with expert parallelism), the vocabulary padded as the engine pads it
    (``prof.vocab_padding``), the parts the engine splits otherwise as it does
    (``prof.weight_splits``: SGLang's DP attention), less what --cpu-offload-gb keeps in CPU
    memory."""
    w = engine_weights(prof, req.spec, req.gpu, req.weights, tp=req.tp, pp=req.pp, dp_attention=req.dp_attention,
                       moe=req.moe_parallel, expert_parallel=req.enable_expert_parallel)
    if req.cpu_offload_bytes:
        # vLLM moves decoder-layer parameters to CPU, tensor by tensor, until the moved bytes
        # reach --cpu-offload-gb (model_executor/offloader/uva.py _maybe_offload_to_cpu): the
        # GPU keeps the rest. kvplan subtracts exactly the budget (capped at the layers'
        # bytes); vLLM moves up to one tensor more.
        stages = []
        for st in w.stages:
            layer_bytes = sum(v for k, v in st.by_part.items() if k not in ("embedding", "lm_head", "other"))
            moved = min(req.cpu_offload_bytes, layer_bytes)
            stages.append(dataclasses.replace(st, bytes=st.bytes - moved))
        w = dataclasses.replace(w, stages=tuple(stages))
    return w


def plan(req: CapacityRequest) -> Pool:
    """The engine's memory waterfall per pipeline stage and the KV pool it leaves (or the KV
    memory the request gives), paged as the engine release pages it; the stage with the
    fewest blocks binds (vLLM takes the minimum over workers). The pool pages the served
    model's layers and a drafter's (``CapacityRequest.kv_spec``)."""
    spec = req.served_spec
    kv = req.kv_spec
    prof = get_engine(req.engine)
    settings: EngineSettings = prof.settings(
        req.gpu, tp=req.tp, pp=req.pp, memory_fraction=req.memory_fraction, block_size=req.block_size,
        max_num_batched_tokens=req.max_num_batched_tokens, max_num_seqs=req.max_num_seqs,
        dp_attention=req.dp_attention, spec=spec, max_model_len=req.max_model_len,
    )
    settings = prof.scheduler_limits(settings, req.model_len, tokens_given=req.max_num_batched_tokens is not None,
                                     seqs_given=req.max_num_seqs is not None)
    settings = dataclasses.replace(settings, max_model_len=req.model_len)  # the rotary rows of some models
    notes = [prof.block_size_note(spec, req.gpu, req.kv_format, req.block_size, settings.block_size)]
    block = prof.model_block_size(spec, req.gpu, req.kv_format, req.block_size, settings.block_size)
    if block != settings.block_size:  # e.g. vLLM's FlashMLA on Hopper: 64
        settings = dataclasses.replace(settings, block_size=block)
    prof.check_page(spec, req.gpu, block, req.tp)  # e.g. SGLang 0.5.23's trtllm_mha: 128 needs GQA
    notes.append(prof.kv_alloc_note(spec, req.kv_format))  # e.g. SGLang 0.5.4-0.5.8's fp8 DSA latent
    # SGLang scales a multimodal model's (default) fraction first (server_args.py), the aiter
    # backend's x 0.85 (memory_fraction_for) comes later
    frac, vlm_note = prof.multimodal_fraction(spec, settings.memory_fraction, given=req.memory_fraction is not None)
    notes.append(vlm_note)
    if frac != settings.memory_fraction:
        settings = dataclasses.replace(settings, memory_fraction=frac)
    frac, fraction_note = prof.memory_fraction_for(spec, req.gpu, settings.memory_fraction, tp=req.tp,
                                                   dp_attention=req.dp_attention,
                                                   context_len=req.model_len)
    notes.append(fraction_note)
    if frac != settings.memory_fraction:  # e.g. SGLang's aiter backend on ROCm: x 0.85
        settings = dataclasses.replace(settings, memory_fraction=frac)
    prof.check_kv_pool(spec, req.gpu, req.disable_hybrid_kv_cache_manager)
    w = _weights(req, prof)
    notes.extend(prof.unmodelled_notes(spec, w, dp=req.dp, gpu=req.gpu))  # e.g. vLLM's DP ranks gather MoE tokens
    notes.append(prof.moe_workspace_note(spec, req.gpu, w, settings))  # e.g. vLLM's fp8 experts' kept workspace
    if req.speculative is not None:
        from kvplan.speculative import with_draft_weights

        # the drafter's experts split as the target's (MTP) and what the release shares with the target
        w = with_draft_weights(w, *req.speculative.draft_weights(req.spec, req.weights, req.tp,
                                                                 moe=req.moe_parallel, engine=prof))
    if req.kv_cache_memory_bytes is None:
        prof.check_profiled_pool(req.gpu, spec)  # vLLM 0.20+: a CUDA-graph estimate kvplan does not predict
    budgets = prof.carve(spec, req.gpu, w, settings)
    if req.speculative is not None:
        # what the engine keeps beside the drafter's weights, by its rule for the target's layers
        # (vLLM: an MTP layer's model-dtype kv_b_proj copy), as carve counts the target's
        extra = req.speculative.engine_copy_bytes(req.spec, w, prof)
        budgets = [b.with_more_weights(extra) for b in budgets]
    if req.speculative is not None and req.kv_cache_memory_bytes is None and req.num_gpu_blocks_override is None:
        # a pool derived from the profile run; the sampler runs on the last stage (speculative: pp 1)
        notes.append(prof.speculative_profile_note(spec, req.gpu, settings, budgets[-1], w))
    if req.kv_cache_memory_bytes is not None:
        # vLLM uses kv_cache_memory_bytes as each worker's KV memory, ignoring
        # gpu_memory_utilization (gpu_worker.py determine_available_memory).
        budgets = [dataclasses.replace(b, kv_pool_bytes=min(req.kv_cache_memory_bytes[b.stage * req.tp:
                                                                                      (b.stage + 1) * req.tp]))
                   for b in budgets]
    paging = prof.pool_paging(paging_for(prof), kv, req.gpu)
    hybrid = None if req.disable_hybrid_kv_cache_manager is None else not req.disable_hybrid_kv_cache_manager
    sp = req.speculative
    # the tokens a sliding-window / chunked-local layer reserves beyond its window (vLLM 0.26.0: every
    # step in flight, VllmConfig.max_in_flight_tokens)
    window_tokens = prof.window_tokens(kv, settings, sp)
    pages = page_replica(
        kv, req.kv_format, paging, tp=req.tp, pp=req.pp, block_size=settings.block_size,
        worker_memory_bytes=(req.kv_cache_memory_bytes if req.kv_cache_memory_bytes is not None
                             else [b.kv_pool_bytes for b in budgets]),
        max_model_len=None if req.max_model_len_auto else req.model_len,
        max_num_batched_tokens=window_tokens,
        num_gpu_blocks_override=req.num_gpu_blocks_override, hybrid=hybrid,
        lookahead_tokens=req.extra_slots, num_speculative_blocks=sp.num_speculative_tokens if sp else 0,
    )
    # ShapeError now, not at the first query: a chunked-local chunk its block size does not divide
    # (the runner's layers too: a release that allocates them as full attention still runs them
    # as chunked local attention, which asserts the alignment).
    for layout in pages.layouts:
        for s in layout.runner_layers:
            s.kind.engine_blocks_per_request(1, s.block_size, window_tokens)
    sb = pages.stage_blocks
    paged = [i for i, n in enumerate(sb) if n is not None]
    if paged:
        binding = min(paged, key=lambda i: (sb[i], -budgets[i].weights_bytes))
    else:  # attention-free model: nothing to page
        binding = min(range(len(budgets)), key=lambda i: budgets[i].kv_pool_bytes)
    pool = Pool(request=req, engine=prof.name, settings=settings, weights=w, stages=tuple(budgets),
                pages=pages, binding_stage=binding, engine_notes=tuple(n for n in notes if n),
                request_cap=prof.request_cap)
    if settings.max_num_seqs is None:  # e.g. SGLang: max_running_requests from the pool it built
        seats = prof.default_max_num_seqs(pool.kv_cache_tokens, pages.profiled_tokens, req.model_len)
    else:  # e.g. SGLang 0.5.23: at most half the pool's tokens
        seats = prof.given_max_num_seqs(settings.max_num_seqs, pool.kv_cache_tokens, req.model_len)
        table_note = prof.request_table_check(seats, req.model_len, budgets)  # SGLang's request table
        if table_note:
            pool = dataclasses.replace(pool, engine_notes=pool.engine_notes + (table_note,))
    if seats is not None and seats != settings.max_num_seqs:
        pool = dataclasses.replace(pool, settings=dataclasses.replace(settings, max_num_seqs=seats))
    return pool


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
    def dp_attention(self) -> int:
        """Ranks of one DP-attention group (``CapacityRequest.dp_attention``)."""
        return self.request.dp_attention

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
    def model_len_request_tokens(self) -> int:
        """The longest request max_model_len allows (max_model_len; SGLang's context_len - 2):
        the request the figures below count."""
        return self.pool.model_len_request_tokens

    @property
    def blocks_per_request(self) -> int:
        """Blocks one request of max_model_len holds."""
        return self.pool.blocks_per_request(self.model_len_request_tokens)

    @property
    def max_concurrency(self) -> float:
        """vLLM's logged "Maximum concurrency" at max_model_len (memory only)."""
        return self.pool.memory_concurrency(self.model_len_request_tokens)

    @property
    def max_requests(self) -> int:
        """Whole requests of max_model_len that run at once (capped by max_num_seqs; 0 where the
        deployment does not start: Pool.max_requests)."""
        return self.pool.max_requests(self.model_len_request_tokens)

    @property
    def concurrency_bound(self) -> str:
        return self.pool.concurrency_bound(self.model_len_request_tokens)

    @property
    def ctx_blocks_per_request(self) -> int | None:
        return self.pool.blocks_per_request(self.ctx) if self.ctx is not None else None

    @property
    def concurrency_at_ctx(self) -> float | None:
        """Memory concurrency at --ctx (vLLM's formula; 0 beyond the longest request)."""
        if self.ctx is None:
            return None
        return self.pool.memory_concurrency(self.ctx) if self.ctx <= self.pool.max_request_tokens else 0.0

    @property
    def requests_at_ctx(self) -> int | None:
        """Whole requests of --ctx tokens that run at once (capped by max_num_seqs; 0 where the
        deployment does not start)."""
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
        """Caveats about the inputs (one line each), for stderr and --json: the pool's
        (``Pool.notes``, which speed and recommend print too)."""
        return self.pool.notes

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
    _positive_int(ctx, "ctx", tokens=True)
    _positive_int(batch, "batch", limit=limits.MAX_BATCH)
    pool.max_requests(pool.model_len_request_tokens)  # refused here, before any output, where no count is right
    reasons = []
    # with --ctx the load is the question (Pool.runs: the engine starts, and --batch requests of
    # --ctx tokens, one without --batch, run at once); without it, one request of max_model_len
    v = pool.runs(ctx, batch if batch is not None else 1) if ctx is not None else pool.verdict()
    if not v:
        reasons.append(v.reason)
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
    """What would fit instead: a shorter max_model_len (when one request of it is what fails)
    or a shorter context for the batch (when the load is), fp8 KV, quantized weights, more
    GPUs. Every alternative is re-planned and kept only when it passes what ``summarize``
    asks: the verdict (one request of max_model_len) and the --ctx x --batch load."""
    from kvplan.errors import KvplanError

    req = pool.request
    load = (ctx, batch if batch is not None else 1) if ctx is not None else None

    def passes(p: Pool) -> bool:
        return bool(p.runs(*load)) if load is not None else bool(p.verdict())

    def attempt(**changes) -> bool:
        try:
            return passes(plan(req.replace(**changes)))
        except KvplanError:
            return False

    out = []
    has_pool = pool.kv_pool_bytes > 0 and pool.overcommitted_stage() is None
    short = pool.max_model_len - pool.model_len_request_tokens  # SGLang: a request stops 2 short of it
    if has_pool and not (pool.planned() if load is not None else pool.verdict()):
        fit = pool.memory_longest_context(1)  # the engine does not start: what a shorter max_model_len runs
        longest = fit + short if fit else 0
        if pool.paged:
            longest = min(longest, pool.estimated_max_model_len())
        if longest > 0 and attempt(max_model_len=longest):
            out.append(f"max_model_len {longest:,} (--max-model-len {longest})")
    elif has_pool and batch is not None and load is not None:
        longest = pool.longest_context(batch)
        if longest > 0:
            out.append(f"a context of {longest:,} tokens for {batch:,} request{'s' if batch != 1 else ''} "
                       f"(--ctx {longest})")
    elif has_pool and ctx is not None and ctx > pool.max_request_tokens:
        if attempt(max_model_len=ctx + short):
            out.append(f"max_model_len {ctx + short:,} (--max-model-len {ctx + short})")
    elif has_pool and ctx is not None:
        # one request of ctx (within max_model_len) outgrows the pool: vLLM 0.14.0-0.18.1, which
        # start with such a max_model_len (Pool.starts_beyond_pool)
        longest = pool.longest_context(1)
        if longest > 0:
            out.append(f"a context of {longest:,} tokens (--ctx {longest})")
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


def cache_policy_dict(pool: Pool, ctx: int | None = None) -> dict:
    """What the eviction cap and the drafter change: their settings, the draft's KV and
    weights, and the same deployment's answers without each (max_model_len requests, KV
    tokens; with ``ctx`` the requests of ctx tokens too), for --json and the text report.
    Empty when neither is set."""
    req = pool.request
    out: dict = {}
    n = pool.model_len_request_tokens

    def without(**changes) -> dict:
        other = plan(req.replace(**changes))
        return {"num_blocks": other.num_blocks, "kv_cache_tokens": other.kv_cache_tokens,
                "blocks_per_request": other.blocks_per_request(n) if other.paged else 0,
                "max_requests": other.max_requests(n),
                **({"requests_at_ctx": other.max_requests(ctx)} if ctx is not None else {})}

    if req.eviction is not None:
        from kvplan.eviction import check_engine

        out["eviction"] = {"window": req.eviction.window, "sinks": req.eviction.sinks,
                           "max_tokens_per_layer": req.eviction.max_tokens, "engine": check_engine(req.engine),
                           "without": without(eviction=None)}
    sp = req.speculative
    if sp is not None:
        from kvplan.layer_sums import kind_counts

        draft_layers = sp.draft_layers(req.served_spec)
        fmt = req.kv_format
        out["speculative"] = {
            "method": sp.method, "num_speculative_tokens": sp.num_speculative_tokens,
            "draft_model": sp.draft.name if sp.draft is not None else None,
            "draft_layers": len(draft_layers),
            "draft_kv_bytes_per_token": sum(k.per_token_bytes(fmt, req.tp) for k in draft_layers),
            "draft_weights_bytes": pool.draft_weights_bytes,
            "lookahead_tokens": sp.lookahead_tokens, "extra_slots": sp.extra_slots,
            # the profile run's rejection-sampler pass, left out: the pool is overstated by at least this
            # (null: by an amount kvplan does not bound; 0 for a pool given rather than profiled)
            "pool_overstated_bytes_at_least": (
                get_engine(req.engine).rejection_pass_overstatement(req.served_spec, req.gpu, pool.settings,
                                                                    pool.stages[-1], pool.weights)
                if req.kv_cache_memory_bytes is None and req.num_gpu_blocks_override is None else 0),
            "draft_kinds": [{"cache": k.describe(), "layers": c} for k, c in kind_counts(
                req.kv_spec, range(req.served_spec.num_layers, req.kv_spec.num_layers))],
            "without": without(speculative=None),
        }
    return out


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
        "enable_expert_parallel": cap.request.enable_expert_parallel,
        "scopes": SCOPES,
        "weights_format": cap.weights_format,
        "kv_dtype": cap.kv_dtype,
        "block_size": cap.block_size,
        cap.memory_fraction_name or "memory_fraction": cap.memory_fraction,
        "max_num_batched_tokens": cap.max_num_batched_tokens,
        "max_num_seqs": cap.max_num_seqs,
        "max_model_len": cap.max_model_len,
        "max_request_tokens": cap.pool.max_request_tokens,
        "weights_bytes": cap.weights_bytes,
        "activation_bytes": w.activation_bytes,
        "other_bytes": w.other_bytes,
        "persistent_bytes": w.persistent_bytes,
        "engine_share_bytes": w.engine_share_bytes,
        "kv_pool_bytes": cap.kv_pool_bytes,
        "kv_cache_bytes": cap.pool.kv_cache_bytes,
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
        "paging": cap.pool.paging.name,
        "usable_blocks": cap.pool.usable_blocks,
        "null_blocks": cap.pool.pages.null_blocks,
        "starts": bool(cap.pool.startup()),
        "estimated_max_model_len": cap.pool.estimated_max_model_len() if cap.pool.paged else None,
        "max_model_len_auto": cap.request.max_model_len_auto,
        "kv_cache_memory_bytes": list(cap.request.kv_cache_memory_bytes) if cap.request.kv_cache_memory_bytes else None,
        "num_gpu_blocks_override": cap.request.num_gpu_blocks_override,
        "disable_hybrid_kv_cache_manager": cap.request.disable_hybrid_kv_cache_manager,
        "cpu_offload_bytes": cap.request.cpu_offload_bytes,
        "swap_space_bytes": cap.request.swap_space_bytes,
        "binding_stage": cap.binding_stage,
        "stages": [dict(s.as_dict(), num_blocks=n) for s, n in zip(cap.stages, cap.stage_blocks)],
        **cache_policy_dict(cap.pool, cap.ctx),
    }
