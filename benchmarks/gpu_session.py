"""Phases of benchmarks/gpu_session.sh (one GPU window, see that script and benchmarks/README.md).

    python benchmarks/gpu_session.py env                  -> $GS_TMP/env.json
    python benchmarks/gpu_session.py check GROUP          -> $GS_TMP/check_GROUP.json
        GROUP: bf16, fp16, fp8_e4m3:tensor, fp8_e4m3:head, int8, int4 or mla. Correctness of
        the write (bit-exact) and decode (max |out - ref| / max |ref| <= 1e-2) kernels against
        the torch references, with the SAME compile-time constants as the bench phase (llama3-8b
        layer: 32 query heads, 8 KV heads x 128, block 16; DeepSeek-V2-Lite latent 512 + 64):
        run one process per group in parallel and the JIT compiles overlap; triton's on-disk
        cache then serves the bench process.
    python benchmarks/gpu_session.py bench                -> $GS_TMP/bench.json
        read-only and copy bandwidth; decode GB/s per format at batch 16 x 8k and 32k (CUDA-graph
        replay), speedups over bf16; MLA decode at 16 x 8k; prefill write GB/s.
    python benchmarks/gpu_session.py alloc                -> $GS_TMP/alloc.json
        memory_allocated of pool allocations vs tensor bytes (= planner) vs the allocator model.
    python benchmarks/gpu_session.py step                 -> $GS_TMP/step.json
        Llama-3.1-8B decode steps (CUDA-graph replay): its 129 bf16 weight matrices alone at
        batch 1..128 (weights GB/s vs the read roof), and the whole decoder as unfused torch ops
        around kvplan's kernels at 1..32 users x 1k..4k context (the cost per layer beyond the
        matrices, against efficiency.yaml's layer_overhead_us).
    python benchmarks/gpu_session.py ncu                  (stdout; gpu_session.sh runs it under ncu)
        one decode launch per case (GQA bf16/fp8/int8/int4 at 16 x 32k, MLA bf16/fp8 at 16 x 8k)
        for Nsight Compute's counters: where the quantized formats lose the read roof.
    python benchmarks/gpu_session.py summary OUT_DIR      -> OUT_DIR/summary.json, summary.md

GPU_SESSION_DRYRUN=1 runs every phase on the CPU under TRITON_INTERPRET=1 at tiny shapes (the
code path, not the numbers). Never changes GPU settings.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import time
import traceback
from pathlib import Path

DRY = os.environ.get("GPU_SESSION_DRYRUN") == "1"
if DRY:
    os.environ["TRITON_INTERPRET"] = "1"  # before triton is imported
TMP = Path(os.environ.get("GS_TMP", "/tmp/kvplan_gpu_session"))
TMP.mkdir(parents=True, exist_ok=True)
HERE = Path(__file__).resolve().parent

import torch  # noqa: E402

DEV = "cpu" if DRY else "cuda"
TOL = 1e-2
# Shapes: llama3-8b's layer (the bench's constexprs) on a GPU, tiny ones in the dry run.
GQA = dict(H=2, D=32, HQ=8) if DRY else dict(H=8, D=128, HQ=32)
MLA = dict(R=64, P=32, HQ=16) if DRY else dict(R=512, P=64, HQ=16)
BLOCK = 16
TABLE_WIDTH = 16  # block-table columns are a multiple of 16 in every phase (one JIT specialization)


def _bench_helpers():
    """benchmarks/kernels.py's input helpers (fill_random_, shuffled_tables, fp8_kwargs)."""
    spec = importlib.util.spec_from_file_location("kvplan_bench_kernels", HERE / "kernels.py")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(HERE))  # for its `from _common import ...`
    spec.loader.exec_module(module)
    return module


def dump(name: str, data) -> None:
    path = TMP / name
    path.with_suffix(".tmp").write_text(json.dumps(data, indent=1, default=str))
    os.replace(path.with_suffix(".tmp"), path)


def sync() -> None:
    if DEV == "cuda":
        torch.cuda.synchronize()


def say(row: dict) -> None:
    print(json.dumps({k: v for k, v in row.items() if k != "traceback"}, default=str), flush=True)


# ------------------------------------------------------------------------------------- env
def phase_env() -> None:
    import platform

    import triton

    info = {"python": sys.version.split()[0], "torch": torch.__version__, "triton": triton.__version__,
            "cuda": torch.version.cuda, "platform": platform.platform(), "dryrun": DRY,
            "PYTORCH_CUDA_ALLOC_CONF": os.environ.get("PYTORCH_CUDA_ALLOC_CONF")}
    for mod in ("numpy", "pydantic", "typer", "rich", "yaml", "pandas"):
        try:
            info[mod] = getattr(__import__(mod), "__version__", "present")
        except ImportError:
            info[mod] = None
    if DEV == "cuda":
        p = torch.cuda.get_device_properties(0)
        info.update(name=p.name, sms=p.multi_processor_count, cc=f"{p.major}.{p.minor}", total_mem=p.total_memory,
                    l2_bytes=getattr(p, "L2_cache_size", None),
                    regs_per_sm=getattr(p, "regs_per_multiprocessor", None),
                    smem_per_sm=getattr(p, "shared_memory_per_multiprocessor", None))
    dump("env.json", info)
    say(info)


# ----------------------------------------------------------------------------------- check
def _table(lens, gen):
    from kvplan.kernels.testing import ragged_block_tables

    need = max(-(-n // BLOCK) for n in lens)
    width = -(-(need + 1) // TABLE_WIDTH) * TABLE_WIDTH
    return ragged_block_tables(lens, BLOCK, spare_blocks=3, extra_columns=width - need, generator=gen)


def fp8_scales(scale_mode: str | None, heads: int, gen) -> dict:
    """The fp8 write's k/v scales: one per tensor (0.02, 0.015), one per head (uniform in
    [0.005, 0.025), drawn from ``gen``), or none."""
    if scale_mode == "tensor":
        return {"k_scale": torch.tensor(0.02, device=DEV), "v_scale": torch.tensor(0.015, device=DEV)}
    if scale_mode == "head":
        return {"k_scale": (torch.rand(heads, generator=gen) * 0.02 + 0.005).to(DEV),
                "v_scale": (torch.rand(heads, generator=gen) * 0.02 + 0.005).to(DEV)}
    return {}


def check_gqa(fmt_name: str, scale_mode: str | None, results: list) -> None:
    from kvplan.formats import get_format
    from kvplan.kernels.cache import allocate
    from kvplan.kernels.decode import paged_decode_attention, paged_decode_attention_ref
    from kvplan.kernels.testing import poison_, raw, rel_err, slots_for
    from kvplan.kernels.write import paged_kv_write, paged_kv_write_ref
    from kvplan.layers import FullAttention
    from kvplan.layout import layer_layout

    H, D, HQ = GQA["H"], GQA["D"], GQA["HQ"]
    lens = [1, 21, 40] if DRY else [1, 17, 300, 1000, 2048, 4097]
    gen = torch.Generator().manual_seed(1234 + len(fmt_name))
    dtype = torch.float16 if fmt_name == "fp16" else torch.bfloat16
    table, seq_lens, nb = _table(lens, gen)
    layout = layer_layout(FullAttention(kv_heads=H, head_dim=D, v_head_dim=D), get_format(fmt_name), nb, BLOCK)
    cache, cref = allocate(layout, DEV), allocate(layout, DEV)
    poison_(cache, 0xFF)  # NaN payloads and scales outside the written slots
    poison_(cref, 0xFF)
    slots = slots_for(table, [list(range(n)) for n in lens], BLOCK)
    slots = torch.cat([slots, torch.tensor([-1, -1], dtype=torch.int64)]).to(DEV)  # padding tokens skip
    T = slots.numel()
    key = (torch.randn(T, H, D, generator=gen) * 1.5).to(dtype).to(DEV)
    val = torch.randn(T, H, D, generator=gen).to(dtype).to(DEV)
    kw = fp8_scales(scale_mode, H, gen)
    paged_kv_write(key, val, slot_mapping=slots, **cache, **kw)
    paged_kv_write_ref(key, val, slot_mapping=slots, **cref, **kw)
    sync()
    label = fmt_name + (f"/{scale_mode}" if scale_mode else "")
    mism = {n: int((raw(cache[n]) != raw(cref[n])).sum()) for n in cache}
    results.append({"test": "paged_kv_write bit-exact", "format": label, "mismatched_bytes": mism,
                    "ok": all(v == 0 for v in mism.values())})
    tdev, ldev = table.to(DEV), seq_lens.to(DEV)
    q = (torch.randn(len(lens), HQ, D, generator=gen) * 2).to(dtype).to(DEV)
    ref = paged_decode_attention_ref(q, block_tables=tdev, seq_lens=ldev, **cache, **kw)
    for splits in ([2] if DRY else [1, 5, None]):  # None: the occupancy-based default the bench uses
        out = torch.full_like(ref, float("nan"))
        paged_decode_attention(q, block_tables=tdev, seq_lens=ldev, out=out, num_splits=splits, **cache, **kw)
        sync()
        nan = bool(torch.isnan(out).any())
        err = rel_err(out, ref)
        results.append({"test": "paged_decode vs ref", "format": label, "splits": splits, "rel_err": err,
                        "nan": nan, "ok": (not nan) and err <= TOL})
    again = paged_decode_attention(q, block_tables=tdev, seq_lens=ldev, num_splits=splits, **cache, **kw)
    sync()  # the same call twice gives the same bits (a moving error is a race)
    results.append({"test": "decode deterministic", "format": label, "ok": bool(torch.equal(raw(out), raw(again)))})


def check_mla(results: list) -> None:
    from kvplan.formats import get_format
    from kvplan.kernels.cache import allocate
    from kvplan.kernels.mla import MLA_DECODE_FORMATS, mla_decode_attention, mla_decode_attention_ref
    from kvplan.kernels.testing import poison_, raw, rel_err, slots_for
    from kvplan.kernels.write import paged_mla_write, paged_mla_write_ref
    from kvplan.layers import MLALatent
    from kvplan.layout import layer_layout

    R, P, HQ = MLA["R"], MLA["P"], MLA["HQ"]
    lens = [1, 21, 40] if DRY else [1, 33, 700, 4097]
    sm_scale = 192 ** -0.5
    for fmt_name in ("bf16", "fp8_e4m3", "int8", "int4"):
        gen = torch.Generator().manual_seed(99)
        table, seq_lens, nb = _table(lens, gen)
        layout = layer_layout(MLALatent(kv_lora_rank=R, qk_rope_head_dim=P), get_format(fmt_name), nb, BLOCK)
        cache, cref = allocate(layout, DEV), allocate(layout, DEV)
        poison_(cache, 0xFF)
        poison_(cref, 0xFF)
        slots = slots_for(table, [list(range(n)) for n in lens], BLOCK).to(DEV)
        lat = torch.randn(slots.numel(), R + P, generator=gen).to(torch.bfloat16).to(DEV)
        kw = {"scale": torch.tensor(0.02, device=DEV)} if fmt_name == "fp8_e4m3" else {}
        paged_mla_write(lat, slot_mapping=slots, **cache, **kw)
        paged_mla_write_ref(lat, slot_mapping=slots, **cref, **kw)
        sync()
        mism = {n: int((raw(cache[n]) != raw(cref[n])).sum()) for n in cache}
        results.append({"test": "paged_mla_write bit-exact", "format": fmt_name, "mismatched_bytes": mism,
                        "ok": all(v == 0 for v in mism.values())})
        if fmt_name not in MLA_DECODE_FORMATS:
            continue
        tdev, ldev = table.to(DEV), seq_lens.to(DEV)
        qn = (torch.randn(len(lens), HQ, R, generator=gen) * 0.2).to(torch.bfloat16).to(DEV)
        qr = (torch.randn(len(lens), HQ, P, generator=gen) * 0.2).to(torch.bfloat16).to(DEV)
        ref = mla_decode_attention_ref(qn, qr, block_tables=tdev, seq_lens=ldev, sm_scale=sm_scale, **cache, **kw)
        for splits in ([2] if DRY else [1, None]):
            out = torch.full_like(ref, float("nan"))
            mla_decode_attention(qn, qr, block_tables=tdev, seq_lens=ldev, sm_scale=sm_scale, out=out,
                                 num_splits=splits, **cache, **kw)
            sync()
            nan = bool(torch.isnan(out).any())
            err = rel_err(out, ref)
            results.append({"test": "mla_decode vs ref", "format": fmt_name, "splits": splits, "rel_err": err,
                            "nan": nan, "ok": (not nan) and err <= TOL})


def phase_check(group: str) -> None:
    results, t0 = [], time.time()
    try:
        if group == "mla":
            check_mla(results)
        else:
            name, _, mode = group.partition(":")
            check_gqa(name, mode or None, results)
    except Exception as err:  # noqa: BLE001 - reported, the other groups go on
        results.append({"test": "exception", "format": group, "ok": False, "error": f"{type(err).__name__}: {err}",
                        "traceback": traceback.format_exc()[-3000:]})
    dump(f"check_{group.replace(':', '_')}.json", {"group": group, "seconds": time.time() - t0, "results": results})
    for r in results:
        say(r)


# ----------------------------------------------------------------------------------- bench
def _timed(fn, sets, repeat):
    from kvplan.kernels.timing import time_graph

    return time_graph(fn, sets, calls_per_replay=len(sets) * 4, replays=1 if DRY else repeat, warmup=1 if DRY else 3,
                      device=DEV)


def gqa_decode_case(bk, name: str, B: int, ctx: int, gen, block_n=None, splits=None):
    """A paged decode of a llama3-8b layer (GQA shapes) in format ``name``, B x ctx tokens, on
    two random caches rotated (a call never finds the last one's data in L2): (call, the two
    input sets, KV bytes one call reads). block_n / splits None: the kernel's defaults."""
    from kvplan.formats import get_format
    from kvplan.kernels.cache import allocate
    from kvplan.kernels.decode import paged_decode_attention
    from kvplan.layers import FullAttention
    from kvplan.layout import layer_layout

    H, D, HQ = GQA["H"], GQA["D"], GQA["HQ"]
    fmt = get_format(name)
    bps = -(-ctx // BLOCK)
    layout = layer_layout(FullAttention(kv_heads=H, head_dim=D, v_head_dim=D), fmt, B * bps, BLOCK)
    sets = []
    for _ in range(2):
        cache = allocate(layout, DEV)
        bk.fill_random_(cache, gen)
        table = bk.shuffled_tables(B, bps, B * bps, DEV, gen)
        q = torch.randn(B, HQ, D, device=DEV, generator=gen).to(torch.bfloat16)
        sets.append((q, cache, table, torch.empty(B, HQ, D, device=DEV, dtype=torch.bfloat16)))
    lens = torch.full((B,), ctx, dtype=torch.int32, device=DEV)
    kw = bk.fp8_kwargs(name, DEV)

    def call(s):
        q, cache, table, out = s
        paged_decode_attention(q, block_tables=table, seq_lens=lens, out=out, check_values=False,
                               max_seq_len=ctx, num_splits=splits, block_n=block_n, **cache, **kw)

    return call, sets, B * ctx * H * 2 * fmt.vector_bytes(D)


def mla_decode_case(bk, name: str, B: int, ctx: int, gen, block_n=None, splits=None):
    """The same for the DeepSeek-V2-Lite latent (MLA decode, 16 query heads)."""
    from kvplan.formats import get_format
    from kvplan.kernels.cache import allocate
    from kvplan.kernels.mla import mla_decode_attention
    from kvplan.layers import MLALatent
    from kvplan.layout import layer_layout

    R, P, HQ = MLA["R"], MLA["P"], MLA["HQ"]
    fmt = get_format(name)
    bps = -(-ctx // BLOCK)
    layout = layer_layout(MLALatent(kv_lora_rank=R, qk_rope_head_dim=P), fmt, B * bps, BLOCK)
    sets = []
    for _ in range(2):
        cache = allocate(layout, DEV)
        bk.fill_random_(cache, gen)
        table = bk.shuffled_tables(B, bps, B * bps, DEV, gen)
        qn = (torch.randn(B, HQ, R, device=DEV, generator=gen) * 0.2).to(torch.bfloat16)
        qr = (torch.randn(B, HQ, P, device=DEV, generator=gen) * 0.2).to(torch.bfloat16)
        sets.append((qn, qr, cache, table, torch.empty(B, HQ, R, device=DEV, dtype=torch.bfloat16)))
    lens = torch.full((B,), ctx, dtype=torch.int32, device=DEV)
    kw = {"scale": torch.tensor(0.05, device=DEV)} if name == "fp8_e4m3" else {}

    def call(s):
        qn, qr, cache, table, out = s
        mla_decode_attention(qn, qr, block_tables=table, seq_lens=lens, sm_scale=192 ** -0.5, out=out,
                             check_values=False, max_seq_len=ctx, num_splits=splits, block_n=block_n,
                             **cache, **kw)

    return call, sets, B * ctx * fmt.vector_bytes(R + P)


def bench_decode(bk, rows, bw, shapes, budget_s):
    gen = torch.Generator(device=DEV).manual_seed(0)
    t_start = time.time()
    for B, ctx in shapes:
        for name in ("bf16", "fp8_e4m3", "int8", "int4"):
            row = {"kind": "decode", "format": name, "batch": B, "ctx": ctx}
            if time.time() - t_start > budget_s:
                rows.append(row | {"skipped": "time budget"})
                continue
            sets = None
            try:
                call, sets, kv_read = gqa_decode_case(bk, name, B, ctx, gen)
                t = _timed(call, sets, 3 if DRY else 10)
                med = t["median_s"]
                row.update(kv_read_bytes=kv_read, us=med * 1e6, iqr_us=t["iqr_s"] * 1e6, timing=t["method"],
                           gbps=kv_read / med / 1e9, pct_read_roof=100 * kv_read / med / bw["read_bps"],
                           pct_copy_roof=100 * kv_read / med / bw["copy_bps"])
            except Exception as err:  # noqa: BLE001
                row.update(error=f"{type(err).__name__}: {err}", traceback=traceback.format_exc()[-2000:])
            rows.append(row)
            say(row)
            sets = None
            if DEV == "cuda":
                torch.cuda.empty_cache()


def bench_mla(bk, rows, bw):
    B, ctx = (1, 40) if DRY else (16, 8192)
    gen = torch.Generator(device=DEV).manual_seed(1)
    for name in ("bf16", "fp8_e4m3", "int8"):
        row = {"kind": "mla_decode", "format": name, "batch": B, "ctx": ctx, "q_heads": MLA["HQ"]}
        sets = None
        try:
            call, sets, kv_read = mla_decode_case(bk, name, B, ctx, gen)
            t = _timed(call, sets, 3 if DRY else 10)
            med = t["median_s"]
            row.update(kv_read_bytes=kv_read, us=med * 1e6, iqr_us=t["iqr_s"] * 1e6, timing=t["method"],
                       gbps=kv_read / med / 1e9, pct_read_roof=100 * kv_read / med / bw["read_bps"])
        except Exception as err:  # noqa: BLE001
            row.update(error=f"{type(err).__name__}: {err}", traceback=traceback.format_exc()[-2000:])
        rows.append(row)
        say(row)
        sets = None
        if DEV == "cuda":
            torch.cuda.empty_cache()


def bench_write(rows, bw):
    from kvplan.formats import get_format
    from kvplan.kernels.cache import allocate
    from kvplan.kernels.write import paged_kv_write
    from kvplan.layers import FullAttention
    from kvplan.layout import layer_layout

    H, D = GQA["H"], GQA["D"]
    tokens = 64 if DRY else 262144
    kind = FullAttention(kv_heads=H, head_dim=D, v_head_dim=D)
    gen = torch.Generator(device=DEV).manual_seed(2)
    for name in ("bf16", "fp8_e4m3", "int8", "int4"):
        fmt = get_format(name)
        nb = -(-tokens // BLOCK)
        layout = layer_layout(kind, fmt, nb, BLOCK)
        moved = tokens * H * 2 * D * 2 + tokens * H * 2 * fmt.vector_bytes(D) + tokens * 8  # in, out, slots
        row = {"kind": "write_prefill", "format": name, "tokens": tokens, "bytes_moved": moved}
        try:
            sets = []
            for _ in range(2):
                cache = allocate(layout, DEV)
                key = torch.randn(tokens, H, D, device=DEV, generator=gen).to(torch.bfloat16)
                val = torch.randn(tokens, H, D, device=DEV, generator=gen).to(torch.bfloat16)
                blocks = torch.randperm(nb, device=DEV, generator=gen)
                slots = (blocks[:, None] * BLOCK + torch.arange(BLOCK, device=DEV)).reshape(-1)[:tokens].contiguous()
                sets.append((key, val, cache, slots))
            kw = {"k_scale": torch.tensor(0.05, device=DEV), "v_scale": torch.tensor(0.05, device=DEV)} \
                if name == "fp8_e4m3" else {}

            def call(s, kw=kw):
                key, val, cache, slots = s
                paged_kv_write(key, val, slot_mapping=slots, check_slots=False, **cache, **kw)

            t = _timed(call, sets, 3 if DRY else 10)
            med = t["median_s"]
            row.update(us=med * 1e6, timing=t["method"], gbps=moved / med / 1e9,
                       pct_copy_roof=100 * moved / med / bw["copy_bps"])
        except Exception as err:  # noqa: BLE001
            row.update(error=f"{type(err).__name__}: {err}", traceback=traceback.format_exc()[-2000:])
        rows.append(row)
        say(row)
        sets = None


def phase_bench() -> None:
    from kvplan.kernels.timing import copy_bandwidth, read_bandwidth

    bk = _bench_helpers()
    t0 = time.time()
    res: dict = {"rows": []}
    try:
        nbytes = (1 << 20) if DRY else (1 << 30)
        copy = copy_bandwidth(nbytes, device=DEV, repeat=3 if DRY else 20)
        read = read_bandwidth(2 * nbytes, device=DEV, repeat=3 if DRY else 10)
        bw = {"copy_bps": copy["bytes_per_s"], "read_bps": read["bytes_per_s"], "read_timing": read["timing"]["method"]}
        res["bandwidth"] = bw
        say(bw)
        dump("bench.json", res)
        shapes = [(1, 40)] if DRY else [(16, 8192), (16, 32768)]
        bench_decode(bk, res["rows"], bw, shapes, budget_s=60 if DRY else 110)
        dump("bench.json", res)
        bench_mla(bk, res["rows"], bw)
        dump("bench.json", res)
        bench_write(res["rows"], bw)
    except Exception as err:  # noqa: BLE001
        res.update(error=f"{type(err).__name__}: {err}", traceback=traceback.format_exc()[-3000:])
    res["seconds"] = time.time() - t0
    dump("bench.json", res)


def speedups(rows: list) -> None:
    """speedup_vs_bf16 on every timed row with a bf16 row of the same kind, batch and context."""
    base = {(r["kind"], r.get("batch"), r.get("ctx")): r["us"] for r in rows if r.get("format") == "bf16" and "us" in r}
    for r in rows:
        key = (r["kind"], r.get("batch"), r.get("ctx"))
        if "us" in r and key in base:
            r["speedup_vs_bf16"] = base[key] / r["us"]


# ----------------------------------------------------------------------------------- alloc
def phase_alloc() -> None:
    """Pool allocations (every layer a view of one tensor) for real model shapes: tensor bytes
    against the planner, memory_allocated against the caching allocator's model; and, for
    contrast, one allocation per layer (the old layout)."""
    from kvplan.formats import get_format
    from kvplan.kernels.cache import allocate, allocate_pool, caching_allocator_bytes
    from kvplan.layers import FullAttention, MLALatent
    from kvplan.layout import layer_layout

    gqa = FullAttention(kv_heads=8, head_dim=128, v_head_dim=128)
    cases = [  # (label, kind, format, blocks per layer, layers); block 16
        ("llama3-8b 8k x16 bf16", gqa, "bf16", 16 * 512, 32),
        ("llama3-8b 8k x16 int4", gqa, "int4", 16 * 512, 32),
        ("llama3-8b 4k x3 int4", gqa, "int4", 3 * 256, 32),
        ("deepseek-v2-lite 32k x8 int8", MLALatent(kv_lora_rank=512, qk_rope_head_dim=64), "int8", 8 * 2048, 27),
        ("gemma2-9b 8k x16 fp8 (head_dim 256)", FullAttention(kv_heads=8, head_dim=256, v_head_dim=256), "fp8_e4m3",
         16 * 512, 42),
        ("6.5 MiB layers (20 MiB segments)", gqa, "bf16", 104, 12),
    ]
    if DRY:
        cases = [(c[0], c[1], c[2], 4, 2) for c in cases[:2]]
    conf = os.environ.get("PYTORCH_CUDA_ALLOC_CONF")
    out = {"PYTORCH_CUDA_ALLOC_CONF": conf, "cases": []}
    for label, kind, fname, nb, layers in cases:
        fmt = get_format(fname)
        layout = layer_layout(kind, fmt, nb, BLOCK)
        planner = layers * nb * kind.page_bytes(fmt, BLOCK)
        case = {"case": label, "layers": layers, "layer_bytes": layout.nbytes, "planner_bytes": planner,
                "pool_model_bytes": caching_allocator_bytes(layers * layout.nbytes, conf),
                "per_layer_model_bytes": (None if caching_allocator_bytes(layout.nbytes, conf) is None else
                                          layers * caching_allocator_bytes(layout.nbytes, conf))}
        try:
            for how in ("pool", "per_layer"):
                if DEV == "cuda":
                    torch.cuda.empty_cache()
                    sync()
                before = torch.cuda.memory_allocated() if DEV == "cuda" else 0
                if how == "pool":
                    pool, caches = allocate_pool([layout] * layers, DEV)
                    case["tensor_bytes"] = sum(t.numel() * t.element_size() for c in caches for t in c.values())
                    case["tensor_bytes_equal_planner"] = case["tensor_bytes"] == planner
                else:
                    caches = [allocate(layout, DEV) for _ in range(layers)]
                sync()
                if DEV == "cuda":
                    case[f"{how}_measured"] = torch.cuda.memory_allocated() - before
                    model = case[f"{how}_model_bytes"]
                    case[f"{how}_equals_model"] = None if model is None else case[f"{how}_measured"] == model
                pool = caches = None
        except Exception as err:  # noqa: BLE001
            case["error"] = f"{type(err).__name__}: {err}"
        out["cases"].append(case)
        say(case)
        if DEV == "cuda":
            torch.cuda.empty_cache()
    dump("alloc.json", out)


# -------------------------------------------------------------------------------------- ncu
NCU_CASES = (("gqa", "bf16"), ("gqa", "fp8_e4m3"), ("gqa", "int8"), ("gqa", "int4"), ("mla", "bf16"),
             ("mla", "fp8_e4m3"))


def phase_ncu() -> None:
    """One decode launch per case of NCU_CASES, in that order, for Nsight Compute to profile
    (gpu_session.sh runs this under `ncu -k regex:_decode_kernel`): GQA at 16 x 32k (llama3-8b
    layer), MLA at 16 x 8k (DeepSeek-V2-Lite latent), the bench's shapes and default launches."""
    bk = _bench_helpers()
    gen = torch.Generator(device=DEV).manual_seed(1)
    for kind, name in NCU_CASES:
        B, ctx = ((1, 40) if DRY else (16, 32768)) if kind == "gqa" else ((1, 40) if DRY else (16, 8192))
        case = gqa_decode_case if kind == "gqa" else mla_decode_case
        call, sets, kv_read = case(bk, name, B, ctx, gen)
        call(sets[0])
        sync()
        say({"ncu_case": f"{kind} {name}", "batch": B, "ctx": ctx, "kv_read_bytes": kv_read})
        sets = None
        if DEV == "cuda":
            torch.cuda.empty_cache()


# ------------------------------------------------------------------------------------ step
#: Llama-3.1-8B's decoder (meta-llama/Llama-3.1-8B config.json: 32 layers, hidden 4096, 32 query
#: and 8 KV heads of 128, intermediate 14336, vocab 128256), as vLLM lays out its matrices:
#: qkv_proj, o_proj, gate_up_proj and down_proj per layer, then lm_head.
STEP_MODEL = (dict(layers=2, hidden=64, hq=4, hkv=2, d=16, inter=96, vocab=160) if DRY else
              dict(layers=32, hidden=4096, hq=32, hkv=8, d=128, inter=14336, vocab=128256))


def _step_weights(m, gen):
    """bf16 weights, one set per layer (no reuse through L2), each drawn with std 1/sqrt(in)
    so that activations keep their scale through the layers (no inf, no zeros)."""
    def mat(out_f, in_f):
        w = torch.empty(out_f, in_f, device=DEV, dtype=torch.bfloat16)
        return w.normal_(0.0, in_f ** -0.5, generator=gen)

    qkv_out = (m["hq"] + 2 * m["hkv"]) * m["d"]
    layers = [{"qkv": mat(qkv_out, m["hidden"]), "o": mat(m["hidden"], m["hq"] * m["d"]),
               "gate_up": mat(2 * m["inter"], m["hidden"]), "down": mat(m["hidden"], m["inter"]),
               "norm1": torch.ones(m["hidden"], device=DEV, dtype=torch.bfloat16),
               "norm2": torch.ones(m["hidden"], device=DEV, dtype=torch.bfloat16)} for _ in range(m["layers"])]
    lm_head = mat(m["vocab"], m["hidden"])
    matrix_bytes = sum(w.numel() * 2 for lay in layers for k, w in lay.items() if not k.startswith("norm"))
    return layers, lm_head, matrix_bytes + lm_head.numel() * 2


def _gemms_only(m, layers, lm_head, x):
    """The step's 129 matrix products alone, chained so that each reads the last one's output."""
    qd = m["hq"] * m["d"]
    for lay in layers:
        qkv = x @ lay["qkv"].t()
        h = qkv[:, :qd] @ lay["o"].t()
        gu = h @ lay["gate_up"].t()
        x = gu[:, : m["inter"]] @ lay["down"].t()
    return x @ lm_head.t()


def _layer_proxy(m, layers, lm_head, x, kv):
    """One decode step of the decoder as eager torch ops around kvplan's Triton kernels:
    RMSNorm, qkv, cache write, paged attention over every sequence's context, o, residual,
    RMSNorm, gate_up, SiLU x up, down, residual; then the final norm and lm_head. No rotary
    (one elementwise kernel in vLLM), no sampling. Unfused: an upper bound on what the small
    kernels cost an engine that fuses them (vLLM's torch.compile fuses norm+quant, SiLU x mul)."""
    from kvplan.kernels.decode import paged_decode_attention
    from kvplan.kernels.write import paged_kv_write

    B, qd, kd = x.shape[0], m["hq"] * m["d"], m["hkv"] * m["d"]
    F = torch.nn.functional
    rms_norm = getattr(F, "rms_norm", None) or _rms_norm  # F.rms_norm from torch 2.4
    for lay, cache in zip(layers, kv["caches"]):
        h = rms_norm(x, (m["hidden"],), lay["norm1"], 1e-5)
        qkv = h @ lay["qkv"].t()
        q = qkv[:, :qd].view(B, m["hq"], m["d"])
        k = qkv[:, qd: qd + kd].view(B, m["hkv"], m["d"])
        v = qkv[:, qd + kd:].view(B, m["hkv"], m["d"])
        paged_kv_write(k, v, slot_mapping=kv["slots"], check_slots=False, **cache)
        paged_decode_attention(q, block_tables=kv["table"], seq_lens=kv["lens"], out=kv["out"], check_values=False,
                               max_seq_len=kv["ctx"], **cache)
        x = x + kv["out"].view(B, qd) @ lay["o"].t()
        h = rms_norm(x, (m["hidden"],), lay["norm2"], 1e-5)
        gu = h @ lay["gate_up"].t()
        x = x + (F.silu(gu[:, : m["inter"]]) * gu[:, m["inter"]:]) @ lay["down"].t()
    return rms_norm(x, (m["hidden"],), None, 1e-5) @ lm_head.t()


def _rms_norm(x, shape, weight, eps):
    y = x * torch.rsqrt(x.float().pow(2).mean(-1, keepdim=True) + eps).to(x.dtype)
    return y if weight is None else y * weight


def _fp8_gemms(m, layers, lm_head, bf16_bytes, res, gen) -> None:
    """The same 129 matrices as fp8 e4m3 (one byte a weight, per-tensor scales) through
    torch._scaled_mm at batch 16..128 (its dims must be multiples of 16): the weights GB/s
    of an FP8 checkpoint's decode."""
    res["fp8_gemm"] = []
    try:
        one = torch.ones((), device=DEV)
        f8 = [{k: w.to(torch.float8_e4m3fn).t() for k, w in lay.items() if not k.startswith("norm")}
              for lay in layers]  # [in, out] column-major views, as _scaled_mm wants its B
        head = lm_head.to(torch.float8_e4m3fn).t()
        qd = m["hq"] * m["d"]

        def mm(a, b):
            return torch._scaled_mm(a.to(torch.float8_e4m3fn), b, scale_a=one, scale_b=one, out_dtype=torch.bfloat16)

        def step(x):
            for lay in f8:
                h = mm(mm(x, lay["qkv"])[:, :qd].contiguous(), lay["o"])
                x = mm(mm(h, lay["gate_up"])[:, : m["inter"]].contiguous(), lay["down"])
            return mm(x, head)

        fbytes = bf16_bytes // 2
        for B in ((16,) if DRY else (16, 32, 128)):
            x = torch.randn(B, m["hidden"], device=DEV, generator=gen).to(torch.bfloat16)
            t = _timed(step, [x], 3 if DRY else 10)
            row = {"batch": B, "us": t["median_s"] * 1e6, "iqr_us": t["iqr_s"] * 1e6, "timing": t["method"],
                   "weights_gbps": fbytes / t["median_s"] / 1e9,
                   "pct_read_roof": 100 * fbytes / t["median_s"] / res["read_bps"],
                   "finite": bool(torch.isfinite(step(x)).all())}
            res["fp8_gemm"].append(row)
            say(row)
        f8 = head = None
    except Exception as err:  # noqa: BLE001
        res["fp8_gemm"].append({"error": f"{type(err).__name__}: {err}", "traceback": traceback.format_exc()[-2000:]})


def phase_step() -> None:
    """Llama-3.1-8B decode steps on this GPU, with the host out (CUDA-graph replay): the 129
    weight matrices alone at batch 1..128 (weights GB/s against the read roof: what
    efficiency.yaml calls weights_bandwidth and matrix_overhead_us), and the whole decoder as
    unfused torch ops around kvplan's kernels at a few (users, context) points (what is left
    over the matrices and the attention per layer, against layer_overhead_us)."""
    from kvplan.formats import get_format
    from kvplan.kernels.cache import allocate_pool
    from kvplan.kernels.timing import read_bandwidth
    from kvplan.layers import FullAttention
    from kvplan.layout import layer_layout

    bk = _bench_helpers()
    t0 = time.time()
    m = STEP_MODEL
    res: dict = {"model": "llama3-8b (Llama-3.1-8B shapes)" if not DRY else "tiny", "shapes": m, "gemm": [], "full": []}
    try:
        gen = torch.Generator(device=DEV).manual_seed(3)
        res["read_bps"] = read_bandwidth((1 << 20) if DRY else (2 << 30), device=DEV, repeat=3 if DRY else 10)[
            "bytes_per_s"]
        layers, lm_head, wbytes = _step_weights(m, gen)
        res["weight_bytes"], res["matrices"] = wbytes, 4 * m["layers"] + 1
        say({"weights": wbytes, "read_bps": res["read_bps"]})
        for B in ([1, 4] if DRY else [1, 8, 32, 128]):
            x = torch.randn(B, m["hidden"], device=DEV, generator=gen).to(torch.bfloat16)
            t = _timed(lambda s: _gemms_only(m, layers, lm_head, s), [x], 3 if DRY else 10)
            row = {"batch": B, "us": t["median_s"] * 1e6, "iqr_us": t["iqr_s"] * 1e6, "timing": t["method"],
                   "weights_gbps": wbytes / t["median_s"] / 1e9,
                   "pct_read_roof": 100 * wbytes / t["median_s"] / res["read_bps"]}
            row["finite"] = bool(torch.isfinite(_gemms_only(m, layers, lm_head, x)).all())
            res["gemm"].append(row)
            say(row)
        dump("step.json", res)
        _fp8_gemms(m, layers, lm_head, wbytes, res, gen)
        dump("step.json", res)
        layout_kind = FullAttention(kv_heads=m["hkv"], head_dim=m["d"], v_head_dim=m["d"])
        points = [(1, 32), (4, 40)] if DRY else [(1, 1024), (8, 1024), (32, 1024), (32, 4096)]
        for B, ctx in points:
            if time.time() - t0 > (120 if DRY else 70):
                res["full"].append({"batch": B, "ctx": ctx, "skipped": "time budget"})
                continue
            row = {"batch": B, "ctx": ctx}
            try:
                bps = -(-ctx // BLOCK)
                layout = layer_layout(layout_kind, get_format("bf16"), B * bps, BLOCK)
                pool, caches = allocate_pool([layout] * m["layers"], DEV)
                for c in caches:
                    bk.fill_random_(c, gen)
                table = bk.shuffled_tables(B, bps, B * bps, DEV, gen)
                pos = ctx - 1  # the new token's slot: the last of each sequence's context
                slots = (table[:, pos // BLOCK].long() * BLOCK + pos % BLOCK).contiguous()
                kv = {"caches": caches, "table": table, "slots": slots, "ctx": ctx,
                      "lens": torch.full((B,), ctx, dtype=torch.int32, device=DEV),
                      "out": torch.empty(B, m["hq"], m["d"], device=DEV, dtype=torch.bfloat16)}
                x = torch.randn(B, m["hidden"], device=DEV, generator=gen).to(torch.bfloat16)
                t = _timed(lambda s: _layer_proxy(m, layers, lm_head, s, kv), [x], 3 if DRY else 10)
                g = _timed(lambda s: _gemms_only(m, layers, lm_head, s), [x], 3 if DRY else 10)
                kv_read = m["layers"] * B * ctx * m["hkv"] * 2 * m["d"] * 2
                logits = _layer_proxy(m, layers, lm_head, x, kv)
                sync()
                row["finite"] = bool(torch.isfinite(logits).all())  # the timed step computes numbers
                row.update(us=t["median_s"] * 1e6, iqr_us=t["iqr_s"] * 1e6, timing=t["method"],
                           gemm_us=g["median_s"] * 1e6, kv_read_bytes=kv_read,
                           rest_per_layer_us=(t["median_s"] - g["median_s"]) * 1e6 / m["layers"])
                pool = caches = kv = None
            except Exception as err:  # noqa: BLE001
                row.update(error=f"{type(err).__name__}: {err}", traceback=traceback.format_exc()[-2000:])
            res["full"].append(row)
            say(row)
            dump("step.json", res)
            if DEV == "cuda":
                torch.cuda.empty_cache()
    except Exception as err:  # noqa: BLE001
        res.update(error=f"{type(err).__name__}: {err}", traceback=traceback.format_exc()[-3000:])
    res["seconds"] = time.time() - t0
    dump("step.json", res)


# --------------------------------------------------------------------------------- summary
def _load(name: str):
    try:
        return json.loads((TMP / name).read_text())
    except (OSError, ValueError):
        return None


def phase_summary(out_dir: str) -> None:
    res = {"env": _load("env.json"), "checks": [_load(p.name) for p in sorted(TMP.glob("check_*.json"))],
           "bench": _load("bench.json"), "alloc": _load("alloc.json"), "step": _load("step.json"), "measure": None,
           "phases": _load("phases.json")}
    measure_path = Path(out_dir) / "measure.json"
    if measure_path.exists():
        try:
            res["measure"] = json.loads(measure_path.read_text())
        except ValueError:
            res["measure"] = {"error": "measure.json is not JSON"}
    checks = [r for c in res["checks"] if c for r in c["results"]]
    bad = [r for r in checks if not r["ok"]]
    env = res["env"] or {}
    lines = [f"# kvplan GPU session: {env.get('name', 'cpu (dry run)' if DRY else '?')}", "",
             f"torch {env.get('torch')}, triton {env.get('triton')}, numpy {env.get('numpy')}, "
             f"pydantic {env.get('pydantic')}; PYTORCH_CUDA_ALLOC_CONF={env.get('PYTORCH_CUDA_ALLOC_CONF')}"
             + ("; DRY RUN (CPU, Triton interpreter, tiny shapes: no figure means anything)" if DRY else ""), "",
             f"Correctness: {len(checks) - len(bad)}/{len(checks)} checks ok"
             + "".join(f"\n- FAILED {r['test']} {r.get('format')} splits={r.get('splits')}: "
                       f"{r.get('rel_err', r.get('error', r.get('mismatched_bytes')))}" for r in bad[:20]), ""]
    bench = res["bench"] or {}
    speedups(bench.get("rows", []))
    bw = bench.get("bandwidth") or {}
    if bw:
        lines += [f"Read-only bandwidth {bw['read_bps'] / 1e9:.0f} GB/s ({bw.get('read_timing')}); copy "
                  f"{bw['copy_bps'] / 1e9:.0f} GB/s (read + write).", ""]
    lines += ["| kernel | format | batch | ctx/tokens | us | GB/s | % read roof | % copy roof | x bf16 |",
              "|---|---|---|---|---|---|---|---|---|"]
    for r in bench.get("rows", []):
        if "us" not in r:
            lines.append(f"| {r['kind']} | {r['format']} | {r.get('batch', '')} | {r.get('ctx', r.get('tokens'))} | "
                         f"{r.get('skipped', r.get('error', ''))} | | | | |")
            continue
        lines.append(f"| {r['kind']} | {r['format']} | {r.get('batch', '')} | {r.get('ctx', r.get('tokens'))} | "
                     f"{r['us']:.1f} | {r['gbps']:.0f} | {r.get('pct_read_roof', 0):.0f} | "
                     f"{r.get('pct_copy_roof', 0):.0f} | {r.get('speedup_vs_bf16', 0):.2f} |")
    lines += ["", "| allocation case | planner B | tensor B | pool measured | pool model | per-layer measured | "
              "per-layer model |", "|---|---|---|---|---|---|---|"]
    for c in (res["alloc"] or {}).get("cases", []):
        lines.append(f"| {c['case']} | {c['planner_bytes']:,} | {c.get('tensor_bytes', '')} | "
                     f"{c.get('pool_measured', '')} | {c.get('pool_model_bytes')} | {c.get('per_layer_measured', '')} "
                     f"| {c.get('per_layer_model_bytes')} |")
    m = res["measure"] or {}
    lines += ["", "kvplan measure: " + (m.get("error") or f"{m.get('model')} {m.get('config', {}).get('batch')} x "
                                        f"{m.get('config', {}).get('ctx')}")]
    for f in m.get("formats", []):
        lines.append(f"- {f.get('kv_dtype')}: {f.get('status')}; tensor bytes diff {f.get('tensor_bytes_diff')}, "
                     f"allocator {f.get('allocator_bytes_measured')} vs model {f.get('allocator_bytes_predicted')}; "
                     f"decode {f.get('decode_ms_median') or 0:.3f} ms, {f.get('pct_of_read_roof') or 0:.0f}% of the "
                     f"read roof, x{f.get('speedup_vs_bf16') or 0:.2f} vs bf16")
    step = res["step"] or {}
    if step.get("gemm") or step.get("full"):
        lines += ["", f"Decode step, {step.get('model')}: {step.get('weight_bytes', 0):,} weight bytes in "
                  f"{step.get('matrices')} matrices (bf16), read roof {step.get('read_bps', 0) / 1e9:.0f} GB/s",
                  "", "| matrices only, batch | us | weights GB/s | % read roof |", "|---|---|---|---|"]
        lines += [f"| {r['batch']} | {r['us']:.1f} | {r['weights_gbps']:.0f} | {r['pct_read_roof']:.1f} |"
                  for r in step.get("gemm", [])]
        f8 = [r for r in step.get("fp8_gemm", []) if "us" in r]
        if f8:
            lines += ["", "| fp8 matrices only (torch._scaled_mm), batch | us | weights GB/s | % read roof |",
                      "|---|---|---|---|"]
            lines += [f"| {r['batch']} | {r['us']:.1f} | {r['weights_gbps']:.0f} | {r['pct_read_roof']:.1f} |"
                      for r in f8]
        lines += [f"fp8 matrices: {r.get('error', r.get('skipped'))}" for r in step.get("fp8_gemm", [])
                  if "us" not in r]
        lines += ["", "| whole decoder (unfused torch + kvplan kernels), users x ctx | us | matrices us | "
                  "rest per layer us |", "|---|---|---|---|"]
        for r in step.get("full", []):
            if "us" in r:
                lines.append(f"| {r['batch']} x {r['ctx']} | {r['us']:.1f} | {r['gemm_us']:.1f} | "
                             f"{r['rest_per_layer_us']:.2f} |")
            else:
                lines.append(f"| {r['batch']} x {r['ctx']} | {r.get('skipped', r.get('error', ''))} | | |")
    if step.get("error"):
        lines.append(f"step phase error: {step['error']}")
    phases = res["phases"] or {}
    if phases:
        lines += ["", "Phases (seconds, exit status): " + ", ".join(f"{k} {v}" for k, v in phases.items())]
    os.makedirs(out_dir, exist_ok=True)
    Path(out_dir, "summary.json").write_text(json.dumps(res, indent=1, default=str) + "\n")
    Path(out_dir, "summary.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    phase = sys.argv[1]
    if phase == "check":
        phase_check(sys.argv[2])
    elif phase == "summary":
        phase_summary(sys.argv[2])
    else:
        {"env": phase_env, "bench": phase_bench, "alloc": phase_alloc, "step": phase_step, "ncu": phase_ncu}[phase]()
