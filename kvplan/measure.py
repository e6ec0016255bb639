"""`kvplan measure`: real paged caches and decode kernels on a GPU, beside the prediction.

For each KV format the pipeline is:

1. predict the paged cache bytes of the measured layers with the planner
   (``predicted_bytes``: kvplan.layer_sums, the sums `kvplan size` prints);
2. allocate the cache through the same layout objects (``kvplan.layout`` ->
   ``kvplan.kernels.cache.allocate_pool``): ONE pool tensor, each layer's cache a view
   into it, as vLLM allocates its KV pool. Two figures: the tensor bytes (must equal the
   prediction exactly; a difference is a bug) and the allocator bytes
   (``torch.cuda.memory_allocated`` before and after, set against
   ``caching_allocator_bytes``: 512-byte rounding and segment splitting);
3. fill it with the write kernel (random K/V, never zeros);
4. run paged decode attention over the layers for batch x ctx and time one decode step
   by CUDA-graph replay (several steps per replay over rotated queries, so host
   overhead is out; median and spread over replays);
5. set the time against the roofline: bytes read / device READ bandwidth measured in the
   same run (decode reads; the copy bandwidth, reads + writes, is reported beside it),
   and each quantized format's speedup over bf16.

``interpret=True`` runs the same pipeline on the CPU under the Triton interpreter at tiny
sizes (so CI exercises every step); its timings and byte counts describe the CPU and say
nothing about a GPU.

The library never prints: progress goes to an optional callback.
"""

from __future__ import annotations

import gc
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from kvplan.errors import BadInputError, NeedsCudaError, NeedsExtraError
from kvplan.formats import KVFormat
from kvplan.layers import FullAttention, MLALatent
from kvplan.spec import ModelSpec

#: Formats the kernels implement (kvplan.kernels.quant).
KERNEL_FORMATS = ("bf16", "fp16", "fp8_e4m3", "int8", "int4")
REPORT_SCHEMA_VERSION = 2
#: Versions `kvplan report` (and kvplan.speed's calibration) read: 1 had no read-only roof and
#: no separate tensor / allocator bytes.
READABLE_SCHEMA_VERSIONS = (1, 2)

# Interpreter runs: the same pipeline at sizes the CPU can run in seconds.
INTERPRET_MAX_CTX = 40
INTERPRET_MAX_BATCH = 2
INTERPRET_MAX_LAYERS = 2

Progress = Callable[[str], None]


@dataclass(frozen=True)
class MeasureConfig:
    """What to measure. ``layers`` is None for all layers, else the first N."""

    ctx: int
    batch: int
    formats: tuple[KVFormat, ...]
    layers: int | None = None
    block_size: int = 16
    interpret: bool = False
    repeat: int = 20
    seed: int = 0
    probe_capacity: bool = False
    weights: str | None = None


#: A JSON snapshot of validated built-in specs (benchmarks/gpu_specs.json) that `kvplan
#: measure` reads when pydantic is not installed (the GPU image has none); see load_spec.
VALIDATED_SPECS_ENV = "KVPLAN_VALIDATED_SPECS"


def load_spec(ref: str) -> ModelSpec:
    """The model to measure: ``kvplan.loader.load_model(ref)``.

    Without pydantic (it validates every spec) a built-in model is taken from the validated
    snapshot named by $KVPLAN_VALIDATED_SPECS, written by ``python benchmarks/gpu_specs.py``:
    the validated, defaulted form of the spec YAML with the YAML's sha256. The snapshot is
    used only while that YAML is unchanged (the test suite checks that it equals today's
    validation); anything else is refused with one line."""
    from kvplan.loader import load_model

    try:
        return load_model(ref)
    except ModuleNotFoundError as err:
        if err.name not in ("pydantic", "pydantic_core"):
            raise
    return _snapshot_spec(ref)


def yaml_sha256(name: str) -> str:
    """sha256 of a built-in spec's YAML text (what a validated snapshot was made from)."""
    import hashlib
    from pathlib import Path

    import kvplan.model_specs

    return hashlib.sha256((Path(kvplan.model_specs.__file__).parent / f"{name}.yaml").read_bytes()).hexdigest()


def _snapshot_spec(ref: str) -> ModelSpec:
    import json

    from kvplan.loader import resolve_builtin
    from kvplan.spec import build_spec

    path = os.environ.get(VALIDATED_SPECS_ENV)
    if not path:
        raise BadInputError(f"{ref}: pydantic is not installed (kvplan validates specs with it); set "
                            f"{VALIDATED_SPECS_ENV} to a validated snapshot (benchmarks/gpu_specs.json) to measure "
                            "built-in models without it")
    try:
        with open(path, encoding="utf-8") as fh:
            specs = json.load(fh)["specs"]
    except (OSError, ValueError, KeyError) as err:
        raise BadInputError(f"{VALIDATED_SPECS_ENV}={path}: not a validated spec snapshot ({err})") from None
    name = resolve_builtin(ref)
    entry = specs.get(name)
    if entry is None:
        raise BadInputError(f"{name}: not in the validated snapshot {path} (it holds {', '.join(sorted(specs))}); "
                            "install pydantic to load other models")
    if entry.get("yaml_sha256") != yaml_sha256(name):
        raise BadInputError(f"{name}: the validated snapshot {path} is older than {name}.yaml; "
                            "regenerate it with python benchmarks/gpu_specs.py")
    return build_spec(entry["validated"], f"{name}.yaml (validated snapshot)")


def _import_torch():
    try:
        import torch  # noqa: F401
        import triton  # noqa: F401
    except ImportError as err:
        raise NeedsExtraError(err.name or "torch", "gpu", "kvplan measure") from None
    return torch


#: A jitted function of each kernel module measure runs: kvplan.kernels._jit is imported by every
#: kernel module (write, decode, mla), so a write-only import shows there too.
_KERNEL_PROBES = (("kvplan.kernels._jit", "dot"), ("kvplan.kernels.decode", "_decode_kernel"))


def _gpu_kernels_loaded() -> bool:
    """Whether this process already decorated kvplan's kernels for the GPU (Triton fixes the
    interpreter when it decorates a kernel). Reads sys.modules only: imports nothing."""
    for name, attr in _KERNEL_PROBES:
        kernel = getattr(sys.modules.get(name), attr, None)
        if kernel is not None and type(kernel).__name__ != "InterpretedFunction":
            return True
    return False


def prepare(cfg: MeasureConfig):
    """Check the environment and return (torch, device). Sets TRITON_INTERPRET when asked."""
    if cfg.interpret:
        # Refused before TRITON_INTERPRET is set: a refused call leaves the environment as it was
        # (a later GPU measure in this process would otherwise be refused for TRITON_INTERPRET).
        if _gpu_kernels_loaded():
            raise BadInputError(
                "--interpret needs the Triton interpreter from the start, but this process already loaded "
                "kvplan's kernels for the GPU: run it in a new process (or set TRITON_INTERPRET=1 first)")
        # Must be set before triton decorates the kernels (first import of kvplan.kernels.*).
        os.environ["TRITON_INTERPRET"] = "1"
    torch = _import_torch()
    if cfg.interpret:
        return torch, torch.device("cpu")
    if os.environ.get("TRITON_INTERPRET", "") not in ("", "0"):
        raise BadInputError("TRITON_INTERPRET is set: unset it to measure on the GPU, or pass --interpret")
    if not torch.cuda.is_available():
        raise NeedsCudaError(
            "kvplan measure needs a CUDA GPU (torch sees none); --interpret runs the same pipeline "
            "at tiny sizes on the CPU"
        )
    return torch, torch.device("cuda")


def effective_sizes(spec: ModelSpec, cfg: MeasureConfig) -> tuple[int, int, tuple[int, ...]]:
    """(ctx, batch, layer indices) actually measured: the first N layers, or under
    --interpret tiny sizes and the first two layers that hold a paged cache."""
    n_layers = spec.num_layers if cfg.layers is None else cfg.layers
    if n_layers < 1 or n_layers > spec.num_layers:
        raise BadInputError(f"--layers must be from 1 to {spec.num_layers} (or all), got {n_layers}")
    ctx, batch = cfg.ctx, cfg.batch
    layers = tuple(range(n_layers))
    if cfg.interpret:
        ctx, batch = min(ctx, INTERPRET_MAX_CTX), min(batch, INTERPRET_MAX_BATCH)
        layers = tuple(paged_layers(spec, layers)[:INTERPRET_MAX_LAYERS]) or layers[:INTERPRET_MAX_LAYERS]
    return ctx, batch, layers


def check_formats(spec: ModelSpec, formats) -> None:
    """The kernels implement a subset of the planner's formats; the model needs paged layers."""
    for fmt in formats:
        if fmt.name not in KERNEL_FORMATS:
            raise BadInputError(
                f"kv format {fmt.name}: the kernels implement {', '.join(KERNEL_FORMATS)} (see docs/kernels.md)"
            )
    if not any(isinstance(k, (FullAttention, MLALatent)) for k in spec.layers):
        raise BadInputError(f"{spec.name} has no paged attention layers to measure")


def paged_layers(spec: ModelSpec, layers) -> list[int]:
    """The layers of ``layers`` whose cache the kernels page (attention and MLA layers)."""
    return [i for i in layers if isinstance(spec.layers[i], (FullAttention, MLALatent))]


def predicted_bytes(spec: ModelSpec, fmt: KVFormat, layers, ctx: int, batch: int, block_size: int) -> tuple[int, int]:
    """The planner's figures for ``batch`` sequences of ``ctx`` tokens over the paged layers of
    ``layers`` (state-space layers' constant state has no kernel here and is not measured):
    (paged cache bytes, bytes one decode step reads), summed by kvplan.layer_sums, the sums
    `kvplan size` prints."""
    from kvplan.layer_sums import kind_counts, paged_seq_bytes, seq_bytes

    terms = kind_counts(spec, paged_layers(spec, layers))
    return batch * paged_seq_bytes(terms, ctx, fmt, block_size), batch * seq_bytes(terms, ctx, fmt)


# -- device facts ---------------------------------------------------------------------------------
def device_info(torch, device) -> dict:
    if device.type != "cuda":
        return {"type": "cpu", "name": platform.processor() or platform.machine(), "interpret": True,
                "total_memory_bytes": None, "catalog_gpu": None}
    props = torch.cuda.get_device_properties(device)
    free, total = torch.cuda.mem_get_info(device)
    info = {
        "type": "cuda",
        "name": props.name,
        "interpret": False,
        "total_memory_bytes": int(total),
        "free_memory_bytes_at_start": int(free),
        "multiprocessors": props.multi_processor_count,
        "compute_capability": f"{props.major}.{props.minor}",
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
    }
    try:
        import triton

        info["triton"] = triton.__version__
    except Exception:  # pragma: no cover - triton imported above
        pass
    try:
        from kvplan.gpus import get_gpu

        info["catalog_gpu"] = get_gpu(props.name).name
    except Exception:
        info["catalog_gpu"] = None
    return info


# -- one layer's cache, filled --------------------------------------------------------------------
@dataclass
class _LayerCache:
    kind: object
    cache: dict
    block_tables: object  # [batch, pages] int32
    seq_lens: object  # [batch] int32: tokens held
    held: int


def _page_plan(torch, kind, ctx: int, batch: int, block_size: int, gen) -> tuple[int, object]:
    """Blocks for ``batch`` sequences (the planner's page count per sequence), handed out in
    a shuffled order so that sequences' pages interleave as in a long-running engine."""
    pages = int(kind.pages(ctx, block_size))
    num_blocks = batch * pages
    order = torch.randperm(num_blocks, generator=gen).to(torch.int32)
    return num_blocks, order.view(batch, pages)


def _fill_layer(torch, kernels, kind, fmt, cache, block_tables, held: int, batch: int, block_size: int,
                dtype, device, gen, chunk_tokens: int = 1 << 15) -> None:
    """Write ``held`` random tokens per sequence through the write kernel."""
    cols = torch.arange(held, device=device)
    for b in range(batch):
        slots = block_tables[b].to(device).long()[cols // block_size] * block_size + cols % block_size
        for start in range(0, held, chunk_tokens):
            s = slots[start : start + chunk_tokens]
            n = s.numel()
            if isinstance(kind, MLALatent):
                latent = torch.randn((n, kind.latent_dim), generator=gen, device=device, dtype=dtype)
                kernels.paged_mla_write(latent, slot_mapping=s, kv_format=fmt.name, check_slots=False, **cache)
            else:
                h = kind.heads_per_rank(1)
                key = torch.randn((n, h, kind.head_dim), generator=gen, device=device, dtype=dtype)
                value = torch.randn((n, h, kind.v_head_dim), generator=gen, device=device, dtype=dtype)
                kernels.paged_kv_write(key, value, slot_mapping=s, kv_format=fmt.name, check_slots=False, **cache)


def _query_sets(torch, spec, kind, batch, dtype, device, gen, n_sets: int):
    hq = spec.num_attention_heads
    out = []
    for _ in range(n_sets):
        if isinstance(kind, MLALatent):
            qn = torch.randn((batch, hq, kind.kv_lora_rank), generator=gen, device=device, dtype=dtype)
            qr = torch.randn((batch, hq, kind.qk_rope_head_dim), generator=gen, device=device, dtype=dtype)
            out.append((qn, qr))
        else:
            out.append((torch.randn((batch, hq, kind.head_dim), generator=gen, device=device, dtype=dtype),))
    return out


def _decode_layer(kernels, fmt, lc: _LayerCache, q, spec) -> object:
    if isinstance(lc.kind, MLALatent):
        # absorbed form: softmax scale of the un-absorbed head dim (qk_nope + rope)
        head_dim = (spec.mla.qk_nope_head_dim + lc.kind.qk_rope_head_dim) if spec.mla else lc.kind.latent_dim
        return kernels.mla_decode_attention(
            q[0], q[1], lc.cache["kv_cache"], lc.block_tables, lc.seq_lens, head_dim ** -0.5,
            kv_cache_scale=lc.cache.get("kv_cache_scale"), kv_format=fmt.name, check_values=False,
            max_seq_len=lc.held,
        )
    return kernels.paged_decode_attention(
        q[0], lc.cache["k_cache"], lc.cache["v_cache"], lc.block_tables, lc.seq_lens,
        k_cache_scale=lc.cache.get("k_cache_scale"), v_cache_scale=lc.cache.get("v_cache_scale"),
        kv_format=fmt.name, check_values=False, max_seq_len=lc.held,
    )


def _sync(torch, device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _allocated(torch, device) -> int | None:
    return int(torch.cuda.memory_allocated(device)) if device.type == "cuda" else None


#: How allocators word a refusal: CUDA ("out of memory") and torch's CPU allocator
#: ("DefaultCPUAllocator: can't allocate memory" / "not enough memory: you tried to allocate").
_OOM_WORDS = ("out of memory", "defaultcpuallocator", "can't allocate memory", "not enough memory")


def _is_oom(torch, err: BaseException) -> bool:
    oom = getattr(torch.cuda, "OutOfMemoryError", None) or getattr(torch, "OutOfMemoryError", None)
    text = str(err).lower()
    return (oom is not None and isinstance(err, oom)) or any(w in text for w in _OOM_WORDS)


def check_config(spec: ModelSpec, cfg: MeasureConfig) -> None:
    """Bounds of kvplan.limits on what a run may ask for (one-line BadInputError): seed,
    repeats, batch, block size, and under --interpret the bytes of the caches it would
    allocate (the interpreter runs on the CPU: a wide model would take hours)."""
    from kvplan import limits

    limits.check_int(cfg.seed, "--seed", limits.MAX_SEED)
    limits.check_int(cfg.repeat, "--repeat", limits.MAX_REPEAT)
    limits.check_int(cfg.batch, "--batch", limits.MAX_BATCH)
    limits.check_int(cfg.block_size, "--block-size", limits.MAX_BLOCK_SIZE)
    if cfg.interpret:
        ctx, batch, layers = effective_sizes(spec, cfg)
        need = max(batch * spec.layers[i].paged_seq_bytes(ctx, fmt, cfg.block_size)
                   for fmt in cfg.formats for i in paged_layers(spec, layers) or layers)
        if need > limits.MAX_INTERPRET_CACHE_BYTES:
            raise BadInputError(
                f"--interpret would allocate {need:,} B of cache for one layer of {spec.name} (block size "
                f"{cfg.block_size}), beyond the {limits.MAX_INTERPRET_CACHE_BYTES >> 20} MiB the Triton interpreter "
                f"is given (see docs/limits.md); use a smaller --block-size or model")


# -- one format ---------------------------------------------------------------------------------
def measure_format(torch, kernels, timing, spec: ModelSpec, fmt: KVFormat, cfg: MeasureConfig, ctx: int,
                   batch: int, layers, device, copy_bps: float | None, read_bps: float | None,
                   progress: Progress) -> dict:
    """Allocate, fill, decode and time one format; OOM is caught, reported and released."""
    from kvplan.kernels.cache import caching_allocator_bytes
    from kvplan.layout import layer_layout

    block = cfg.block_size
    measured_layers = paged_layers(spec, layers)
    predicted, bytes_read = predicted_bytes(spec, fmt, layers, ctx, batch, block)
    result: dict = {
        "kv_dtype": fmt.name,
        "cache_bytes_predicted": int(predicted),
        "bytes_read_per_step": int(bytes_read),
    }
    gen = torch.Generator().manual_seed(cfg.seed)
    # K/V and queries are drawn on the device (drawing 32k-token chunks on the host is slow)
    dev_gen = torch.Generator(device=device).manual_seed(cfg.seed)
    dtype = torch.float16 if fmt.name == "fp16" else torch.bfloat16
    layer_caches: list[_LayerCache] = []
    pool = None
    try:
        _sync(torch, device)
        if device.type == "cuda":
            torch.cuda.empty_cache()  # the allocator model assumes a fresh segment
            free_before, _ = torch.cuda.mem_get_info(device)
            if predicted > free_before:
                raise MemoryError(
                    f"the cache needs {predicted:,} B and the GPU has {free_before:,} B free; "
                    "use a smaller --ctx, --batch or --layers"
                )
            result["mem_get_info_free_before"] = int(free_before)
        # Block tables and lengths go to the device first: between the two allocator readings
        # only the pool itself is allocated.
        plans = []
        for i in measured_layers:
            kind = spec.layers[i]
            num_blocks, tables = _page_plan(torch, kind, ctx, batch, block, gen)
            held = int(kind.cached_tokens(ctx))
            seq_lens = torch.full((batch,), held, dtype=torch.int32, device=device)
            plans.append((kind, num_blocks, tables.to(device), seq_lens, held))
        layouts = [layer_layout(kind, fmt, num_blocks, block) for kind, num_blocks, _, _, _ in plans]
        _sync(torch, device)
        before = _allocated(torch, device)
        # One pool tensor, every layer a view into it (vLLM's layout): one allocation.
        pool, caches = kernels.allocate_pool(layouts, device)
        _sync(torch, device)
        after = _allocated(torch, device)
        for (kind, _, tables, seq_lens, held), cache in zip(plans, caches):
            layer_caches.append(_LayerCache(kind, cache, tables, seq_lens, held))
        plans.clear()
        tensor_bytes = sum(t.numel() * t.element_size() for c in caches for t in c.values())
        result.update(tensor_bytes=int(tensor_bytes), tensor_bytes_diff=int(tensor_bytes - predicted),
                      allocation="one pool tensor, each layer's cache a view into it (as vLLM)")
        if tensor_bytes != predicted:
            raise RuntimeError(f"tensor bytes {tensor_bytes:,} differ from the planner's {predicted:,}: a layout bug")
        if device.type == "cuda":
            alloc_conf = os.environ.get("PYTORCH_CUDA_ALLOC_CONF")
            model = caching_allocator_bytes(int(pool.numel()), alloc_conf)
            free_after, _ = torch.cuda.mem_get_info(device)
            result.update(
                allocator_bytes_measured=int(after - before),
                allocator_bytes_predicted=None if model is None else int(model),
                allocator_bytes_diff=None if model is None else int(after - before - model),
                allocator_model=(f"not modelled for PYTORCH_CUDA_ALLOC_CONF={alloc_conf}" if model is None else
                                 "torch caching allocator, one request from a fresh segment "
                                 f"(PYTORCH_CUDA_ALLOC_CONF={alloc_conf or 'unset'})"),
                mem_get_info_free_after=int(free_after),
                memory_source="torch.cuda.memory_allocated",
            )
            measured = after - before
        else:
            measured = tensor_bytes
            result.update(memory_source="tensor bytes (CPU, interpreter: no allocator reading)")
        result["cache_bytes_measured"] = int(measured)
        diff = measured - predicted
        result["cache_bytes_diff"] = int(diff)
        if diff == 0:
            result["cache_bytes_explanation"] = "equal to the byte"
        elif result.get("allocator_bytes_predicted") == measured:
            result["cache_bytes_explanation"] = (
                f"tensor bytes equal the prediction; the allocator holds {diff:,} B more, as its model predicts "
                "(512-byte rounding, and a segment handed out whole when splitting would leave <= 1 MiB)"
            )
        else:
            result["cache_bytes_explanation"] = (
                f"tensor bytes equal the prediction; the allocator's {measured:,} B differ from its model "
                f"({result.get('allocator_bytes_predicted')}): {result.get('allocator_model')}"
            )

        progress(f"{fmt.name}: filling {len(layer_caches)} layers x {batch} x {ctx:,} tokens")
        for lc in layer_caches:
            _fill_layer(torch, kernels, lc.kind, fmt, lc.cache, lc.block_tables, lc.held, batch, block, dtype,
                        device, dev_gen)
        _sync(torch, device)

        progress(f"{fmt.name}: timing decode")
        n_sets = 2 if device.type != "cuda" else 4
        queries = {id(lc): _query_sets(torch, spec, lc.kind, batch, dtype, device, dev_gen, n_sets)
                   for lc in layer_caches}

        def step(k: int) -> None:
            for lc in layer_caches:
                _decode_layer(kernels, fmt, lc, queries[id(lc)][k], spec)

        repeat = cfg.repeat if device.type == "cuda" else min(cfg.repeat, 2)
        t = timing.time_graph(step, list(range(n_sets)), calls_per_replay=n_sets, replays=repeat,
                              warmup=1 if device.type != "cuda" else 3, device=device)
        # finite outputs: the kernels really ran over the filled cache
        out = _decode_layer(kernels, fmt, layer_caches[0], queries[id(layer_caches[0])][0], spec)
        _sync(torch, device)
        if not bool(torch.isfinite(out.float()).all()):
            raise RuntimeError(f"{fmt.name}: decode produced non-finite values")
        med = t["median_s"]
        result.update(
            decode_ms_median=med * 1e3,
            decode_ms_min=t["min_s"] * 1e3,
            decode_ms_max=t["max_s"] * 1e3,
            decode_ms_iqr=t["iqr_s"] * 1e3,
            decode_samples=t["n"],
            decode_timing=t["method"],
            achieved_gbps=bytes_read / med / 1e9 if med > 0 else None,
        )
        if read_bps:
            result.update(
                read_gbps=read_bps / 1e9,
                decode_ms_predicted=bytes_read / read_bps * 1e3,
                pct_of_read_roof=100.0 * (bytes_read / read_bps) / med if med > 0 else None,
            )
        if copy_bps:
            result.update(copy_gbps=copy_bps / 1e9,
                          pct_of_copy_roof=100.0 * (bytes_read / copy_bps) / med if med > 0 else None)
        result["status"] = "ok"
    except Exception as err:  # noqa: BLE001 - OOM and kernel failures are reported per format
        if isinstance(err, MemoryError) or _is_oom(torch, err):
            result["status"] = "out of memory"
        else:
            result["status"] = "error"
        result["error"] = f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"
    finally:
        layer_caches.clear()
        pool = None  # noqa: F841 - the last reference: the pool goes back to the allocator
        gc.collect()
        if device.type == "cuda":
            torch.cuda.empty_cache()
    return result


# -- probe ------------------------------------------------------------------------------------
def probe_capacity(torch, spec: ModelSpec, fmt: KVFormat, cfg: MeasureConfig, device, gpu_name: str,
                   progress: Progress) -> dict:
    """Hold a buffer the size of the weights (as planned for this GPU), then allocate blocks
    of the whole model's cache (one block: a page of every layer, grouped as the planner
    pages hybrid models) until the allocator refuses; set the tokens that fit against the
    capacity planner's `raw` engine (all memory minus weights): the same Pool every command
    that says whether something fits asks. Frees everything."""
    from kvplan.capacity import make_request, plan

    total = int(torch.cuda.mem_get_info(device)[1])
    try:
        from kvplan.gpus import get_gpu

        gpu = get_gpu(gpu_name)
    except Exception:
        gpu = None
    pool = plan(make_request(spec, gpu, gpu_mem_bytes=None if gpu else total, engine="raw", kv_format=fmt,
                             weights=cfg.weights, block_size=cfg.block_size,
                             max_model_len=min(spec.max_position_embeddings, cfg.ctx)))
    layout = pool.layout  # the binding stage's paging: one block unit across the layers sharing it
    page_bytes = layout.unit_bytes
    held: list = []
    out = {"kv_dtype": fmt.name, "page_bytes_all_layers": page_bytes, "weights_bytes": int(pool.weights_bytes),
           "predicted_tokens_raw": int(pool.kv_cache_tokens), "gpu_total_bytes": total,
           "catalog_gpu": gpu.name if gpu else None}
    try:
        torch.cuda.empty_cache()
        out["free_before"] = int(torch.cuda.mem_get_info(device)[0])
        if pool.weights_bytes > out["free_before"]:
            out.update(status="weights do not fit", measured_tokens=0)
            return out
        held.append(torch.empty(int(pool.weights_bytes), dtype=torch.uint8, device=device))
        pages = 0
        chunk = max(1, (1 << 30) // page_bytes)  # start with ~1 GiB allocations
        progress("probing capacity")
        while chunk >= 1:
            try:
                held.append(torch.empty(chunk * page_bytes, dtype=torch.uint8, device=device))
                pages += chunk
            except Exception as err:  # noqa: BLE001
                if not _is_oom(torch, err):
                    raise
                chunk //= 2
        tokens = pages // layout.tokens_divisor * layout.block_size  # as the planner counts its blocks
        out.update(
            status="ok",
            pages=pages,
            measured_tokens=tokens,
            diff_tokens=tokens - out["predicted_tokens_raw"],
            diff_pct=100.0 * (tokens - out["predicted_tokens_raw"]) / max(1, out["predicted_tokens_raw"]),
            allocated_bytes=int(torch.cuda.memory_allocated(device)),
            free_at_refusal=int(torch.cuda.mem_get_info(device)[0]),
        )
    finally:
        held.clear()
        gc.collect()
        torch.cuda.empty_cache()
    return out


# -- the whole run ------------------------------------------------------------------------------
def run_measure(spec: ModelSpec, cfg: MeasureConfig, progress: Progress | None = None) -> dict:
    """Run the pipeline for every format in ``cfg``; return the report (plain data)."""
    progress = progress or (lambda _msg: None)
    check_formats(spec, cfg.formats)
    check_config(spec, cfg)
    if cfg.probe_capacity and cfg.interpret:
        raise BadInputError("--probe-capacity allocates GPU memory until it runs out: it needs CUDA, not --interpret")
    torch, device = prepare(cfg)
    import kvplan.kernels as kernels
    from kvplan.kernels import timing

    from kvplan.kernels.mla import MLA_DECODE_FORMATS

    if spec.has_mla:
        for fmt in cfg.formats:
            if fmt.name not in MLA_DECODE_FORMATS:
                raise BadInputError(
                    f"kv format {fmt.name}: MLA decode reads {', '.join(MLA_DECODE_FORMATS)} latents "
                    f"({spec.name} is an MLA model)"
                )
    ctx, batch, layers = effective_sizes(spec, cfg)
    if not paged_layers(spec, layers):
        raise BadInputError(
            f"the measured layers of {spec.name} ({len(layers)}) hold no paged KV cache (state-space or shared "
            "layers only); measure more layers (--layers)"
        )
    started = time.time()
    info = device_info(torch, device)
    progress("measuring copy and read bandwidth")
    copy_bytes = (1 << 30) if device.type == "cuda" else (1 << 22)
    copy = timing.copy_bandwidth(copy_bytes, device=device, repeat=20 if device.type == "cuda" else 3)
    copy_bps = copy["bytes_per_s"]
    read = timing.read_bandwidth(2 * copy_bytes, device=device, repeat=7 if device.type == "cuda" else 2)
    read_bps = read["bytes_per_s"]
    full = range(spec.num_layers)
    scale_bytes = {}
    results = []
    for fmt in cfg.formats:
        progress(f"{fmt.name}: allocating")
        r = measure_format(torch, kernels, timing, spec, fmt, cfg, ctx, batch, layers, device, copy_bps, read_bps,
                           progress)
        whole = predicted_bytes(spec, fmt, full, ctx, batch, cfg.block_size)[0]
        scale_bytes[fmt.name] = whole / r["cache_bytes_predicted"] if r["cache_bytes_predicted"] else None
        r["whole_model_cache_bytes_predicted"] = int(whole)
        if r.get("decode_ms_median") is not None and scale_bytes[fmt.name]:
            r["whole_model_decode_ms_estimate"] = r["decode_ms_median"] * scale_bytes[fmt.name]
        results.append(r)
    base = next((r for r in results if r["kv_dtype"] == "bf16" and r.get("decode_ms_median")), None)
    for r in results:
        if base and r.get("decode_ms_median"):
            r["speedup_vs_bf16"] = base["decode_ms_median"] / r["decode_ms_median"]
    report = {
        "schema_version": REPORT_SCHEMA_VERSION,
        "kvplan_version": __import__("kvplan").__version__,
        "model": spec.name,
        "device": info,
        "config": {
            "ctx": ctx,
            "batch": batch,
            "block_size": cfg.block_size,
            "layers_measured": len(layers),
            "num_layers": spec.num_layers,
            "requested_ctx": cfg.ctx,
            "requested_batch": cfg.batch,
            "requested_layers": cfg.layers if cfg.layers is not None else "all",
            "repeat": cfg.repeat,
            "seed": cfg.seed,
            "scaling": (
                "whole_model_* figures scale the measured layers by the ratio of the whole model's predicted "
                "paged bytes to the measured layers' (decode time is bandwidth-bound, so it scales with bytes)"
            ),
        },
        "copy_bandwidth": {"gbps": copy_bps / 1e9, "copy_bytes": copy["copy_bytes"],
                           "median_ms": copy["timing"]["median_s"] * 1e3,
                           "convention": "bytes read + bytes written per second"},
        "read_bandwidth": {"gbps": read_bps / 1e9, "read_bytes": read["read_bytes"],
                           "median_ms": read["timing"]["median_s"] * 1e3, "timing": read["timing"]["method"],
                           "convention": "bytes read per second (a sum over fp32); the decode roof"},
        "formats": results,
        "elapsed_s": None,
    }
    if cfg.probe_capacity:
        report["probe_capacity"] = probe_capacity(torch, spec, cfg.formats[0], cfg, device, info["name"], progress)
    report["elapsed_s"] = time.time() - started
    return report


_REPORT_FIELDS = {
    # where -> {key: (type(s), required)}
    "top": {"schema_version": (int, True), "model": (str, True), "device": (dict, True), "config": (dict, True),
            "copy_bandwidth": (dict, True), "read_bandwidth": (dict, True), "formats": (list, True)},
    "device": {"name": (str, True), "interpret": (bool, True)},
    "config": {k: (int, True) for k in ("ctx", "batch", "block_size", "layers_measured", "num_layers")},
    "copy_bandwidth": {"gbps": ((int, float), True)},
    "read_bandwidth": {"gbps": ((int, float), True)},
    "format": {"kv_dtype": (str, True), "status": (str, True), "cache_bytes_predicted": (int, True)},
    "format_ok": {
        "cache_bytes_measured": (int, True), "cache_bytes_diff": (int, True), "memory_source": (str, True),
        "decode_ms_median": ((int, float), True), "decode_ms_min": ((int, float), True),
        "decode_ms_max": ((int, float), True), "decode_ms_iqr": ((int, float), True),
        "decode_ms_predicted": ((int, float), False), "achieved_gbps": ((int, float), False),
        "pct_of_copy_roof": ((int, float), False), "speedup_vs_bf16": ((int, float), False),
        "copy_gbps": ((int, float), False), "cache_bytes_explanation": (str, False),
        "tensor_bytes": (int, True), "tensor_bytes_diff": (int, True), "read_gbps": ((int, float), False),
        "pct_of_read_roof": ((int, float), False), "allocator_bytes_measured": (int, False),
        "allocator_bytes_predicted": (int, False),
    },
}


def _check_fields(obj: dict, fields: dict, where: str, origin: str) -> None:
    for key, (types, required) in fields.items():
        if key not in obj or obj[key] is None:
            if required:
                raise BadInputError(f"{origin}: {where}{key}: required field is missing")
            continue
        value = obj[key]
        numeric = types in (int, (int, float))
        if (numeric and isinstance(value, bool)) or not isinstance(value, types):
            want = "a number" if numeric else types.__name__ if isinstance(types, type) else "a value"
            raise BadInputError(f"{origin}: {where}{key}: expected {want}, got {value!r}")


def validate_report(data: object, origin: str) -> dict:
    """A saved report (for `kvplan report`): one-line errors when it is not one."""
    if not isinstance(data, dict) or not isinstance(data.get("formats"), list):
        raise BadInputError(f"{origin}: not a kvplan measure report (no 'formats' list)")
    version = data.get("schema_version")
    if version not in READABLE_SCHEMA_VERSIONS or isinstance(version, bool):
        raise BadInputError(f"{origin}: report schema_version {version!r}, this kvplan reads "
                            f"{', '.join(map(str, READABLE_SCHEMA_VERSIONS))}")
    v2 = version >= 2
    top = dict(_REPORT_FIELDS["top"])
    if not v2:  # optional in version 1, but rendered when there: checked when there
        top["read_bandwidth"] = (dict, False)
    _check_fields(data, top, "", origin)
    has_read = data.get("read_bandwidth") is not None
    for part in ("device", "config", "copy_bandwidth") + (("read_bandwidth",) if has_read else ()):
        _check_fields(data[part], _REPORT_FIELDS[part], f"{part}.", origin)
    for i, f in enumerate(data["formats"]):
        if not isinstance(f, dict):
            raise BadInputError(f"{origin}: formats.{i}: expected an object")
        _check_fields(f, _REPORT_FIELDS["format"], f"formats.{i}.", origin)
        if f["status"] == "ok":
            fields = _REPORT_FIELDS["format_ok"]
            if not v2:  # version 1 reported neither
                fields = {k: v for k, v in fields.items() if k not in ("tensor_bytes", "tensor_bytes_diff")}
            _check_fields(f, fields, f"formats.{i}.", origin)
    probe = data.get("probe_capacity")
    if probe is not None:
        if not isinstance(probe, dict):
            raise BadInputError(f"{origin}: probe_capacity: expected an object")
        _check_fields(probe, {"status": (str, True), "kv_dtype": (str, True)}, "probe_capacity.", origin)
        if probe["status"] == "ok":
            _check_fields(probe, {k: (int, True) for k in ("measured_tokens", "predicted_tokens_raw", "weights_bytes")}
                          | {"diff_pct": ((int, float), True)}, "probe_capacity.", origin)
    return data
