"""Time the paged KV-cache kernels against the GPU's own copy bandwidth.

For each cache format (bf16, fp8_e4m3, int8, int4), batch size and context length, on one
layer of a real model's shape (default llama3-8b: 8 KV heads x 128, 32 query heads):

  decode   paged_decode_attention, one query token per sequence over ctx cached tokens
           (blocks shuffled over the pool, as a paged cache holds them)
  write    paged_kv_write of a whole prefill (batch x ctx tokens, capped by --write-tokens)
           and of one decode step (batch tokens)
  peer     torch's scaled_dot_product_attention on the same K/V laid out contiguously
           (bf16 rows only), its output checked against the kernel's
  mla      mla_decode_attention on an MLA model's latent (default deepseek-v2-lite)

Timing: kvplan.kernels.timing.time_graph: several calls over input sets rotated (so a call
does not find the previous call's data in L2) captured in one CUDA graph, each replay timed
with CUDA events; the median per call, with the host's launch overhead out. The device's
copy bandwidth (dst.copy_(src) of --copy-gb, bytes read + written per second) is measured
in the same run; every row reports bytes moved (cache bytes read or written, scales
included, plus queries, outputs, block tables and split partials), GB/s and % of copy
bandwidth. Before timing, each format's kernels are checked against the torch
references on a small case (max |out - ref| / max |ref| <= 1e-2).

Targets (issue 15; H100/H200): bf16 decode >= 85% of the read-only bandwidth once a call
reads >= 0.5 GB; fp8 >= 1.8x and int8 >= 1.6x faster than bf16 at 32k; MLA fp8 faster than
MLA bf16; prefill write >= 70% of copy bandwidth (calls moving >= 0.5 GB). The summary prints PASS/FAIL for each.

    python benchmarks/kernels.py [--formats bf16,fp8,int8,int4] [--batch 1,4,16,64,256]
        [--ctx 1k,4k,32k,128k] [--model llama3-8b] [--mla-model deepseek-v2-lite]
        [--out FILE.json] [--markdown FILE.md] [--strict]
    python benchmarks/kernels.py --interpret   # tiny shapes on the CPU (Triton interpreter)

Writes JSON (benchmarks/results/kernels-<device>.json unless --out). On a machine without
a CUDA GPU it exits 2 with one line, unless --interpret.
"""

from __future__ import annotations

import argparse
import os
import re
import sys

from _common import environment, write_json

NEEDS_GPU = "benchmarks/kernels.py needs a CUDA GPU"
GB = 1e9
HALF_GB = 0.5e9
L2_GUARD_BYTES = 256 * 2**20  # rotate input sets until a round trip touches this much


def rotations_for(call_bytes, set_bytes, ctx_args) -> int:
    """Input sets to rotate: enough that a round trip moves L2_GUARD_BYTES (at most 8),
    as many as the memory budget allows (0: the row does not fit)."""
    want = max(1, min(8, -(-ctx_args["guard"] // max(1, call_bytes))))
    return min(want, ctx_args["budget"] // max(1, set_bytes))


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--formats", default="bf16,fp8_e4m3,int8,int4", help="cache formats (kvplan names)")
    p.add_argument("--batch", default=None, help="batch sizes, e.g. 1,4,16,64,256")
    p.add_argument("--ctx", default=None, help="context lengths, e.g. 1k,4k,32k,128k")
    p.add_argument("--model", default="llama3-8b", help="model whose first layer gives the shapes")
    p.add_argument("--mla-model", default="deepseek-v2-lite", help="MLA model for the latent rows ('' to skip)")
    p.add_argument("--block-size", type=int, default=16)
    p.add_argument("--repeat", type=int, default=None, help="timed calls per row (default 20; 2 interpreted)")
    p.add_argument("--mem-fraction", type=float, default=0.4,
                   help="share of free GPU memory the cache of one row may take, rotations included")
    p.add_argument("--write-tokens", default="1M", help="cap on tokens per prefill write")
    p.add_argument("--copy-gb", type=float, default=1.0, help="buffer size for the copy-bandwidth probe")
    p.add_argument("--no-sdpa", action="store_true", help="skip the scaled_dot_product_attention peer")
    p.add_argument("--out", default=None, help="JSON output path")
    p.add_argument("--markdown", default=None, help="also write a markdown report here")
    p.add_argument("--strict", action="store_true", help="exit 1 when a target fails")
    p.add_argument("--interpret", action="store_true",
                   help="tiny shapes on the CPU under TRITON_INTERPRET=1 (exercises the code path; times mean nothing)")
    return p.parse_args(argv)


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


# -- inputs ----------------------------------------------------------------------------------
def fill_random_(cache, gen):
    """Random payload and scales, chunk by chunk (no large temporaries): normals for float
    payloads, codes over the full range for int8/uint8, positive scales."""
    import torch

    for name, t in cache.items():
        flat = t.view(-1)
        step = 1 << 26
        for i in range(0, flat.numel(), step):
            part = flat[i : i + step]
            if name.endswith("_scale"):
                vals = torch.rand(part.shape, device=part.device, generator=gen) * 0.02 + 0.001
                if part.dtype == torch.float16 and t.dim() >= 2 and t.shape[-1] == 2:
                    vals = vals - 0.01  # int4 pairs (scale, min): mins may be negative, harmless
                part.copy_(vals.to(part.dtype))
            elif part.dtype in (torch.int8, torch.uint8):
                lo, hi = (-127, 128) if part.dtype == torch.int8 else (0, 256)
                part.copy_(torch.randint(lo, hi, part.shape, device=part.device, generator=gen, dtype=part.dtype))
            else:
                part.copy_(torch.randn(part.shape, device=part.device, generator=gen).to(part.dtype))


def shuffled_tables(batch, blocks_per_seq, num_blocks, device, gen):
    import torch

    perm = torch.randperm(num_blocks, device=device, generator=gen)[: batch * blocks_per_seq]
    return perm.view(batch, blocks_per_seq).to(torch.int32)


def fp8_kwargs(fmt_name, device):
    """Per-tensor fp8 scales as 0-d device tensors (a python float would cost a fill
    kernel per call inside the timed region)."""
    if fmt_name != "fp8_e4m3":
        return {}
    import torch

    return {"k_scale": torch.tensor(0.05, device=device), "v_scale": torch.tensor(0.05, device=device)}


# -- correctness on the device before timing ------------------------------------------------
def check_correctness(fmt_names, device, lens=(1, 37, 300)) -> dict:
    """Kernel vs reference on a small ragged case per format; max relative error each."""
    import torch

    from kvplan.formats import get_format
    from kvplan.kernels.cache import allocate
    from kvplan.kernels.decode import paged_decode_attention, paged_decode_attention_ref
    from kvplan.kernels.testing import poison_, ragged_block_tables, raw, rel_err, slots_for
    from kvplan.kernels.write import paged_kv_write, paged_kv_write_ref
    from kvplan.layers import FullAttention
    from kvplan.layout import layer_layout

    out = {}
    for name in fmt_names:
        gen = torch.Generator().manual_seed(0)
        lens = list(lens)
        table, seq_lens, nb = ragged_block_tables(lens, 16, generator=gen)
        kind = FullAttention(kv_heads=2, head_dim=128, v_head_dim=128)
        caches = [allocate(layer_layout(kind, get_format(name), nb, 16), device) for _ in range(2)]
        for cache in caches:
            poison_(cache, 0xFF)  # identical bytes in the slots nobody writes
        slots = slots_for(table, [list(range(n)) for n in lens], 16).to(device)
        key = torch.randn(slots.shape[0], 2, 128, generator=gen).to(torch.bfloat16).to(device)
        val = torch.randn(slots.shape[0], 2, 128, generator=gen).to(torch.bfloat16).to(device)
        kw = fp8_kwargs(name, device)
        paged_kv_write(key, val, slot_mapping=slots, **caches[0], **kw)
        paged_kv_write_ref(key, val, slot_mapping=slots, **caches[1], **kw)
        same = all(torch.equal(raw(caches[0][n]), raw(caches[1][n])) for n in caches[0])
        q = torch.randn(len(lens), 8, 128, generator=gen).to(torch.bfloat16).to(device)
        args = dict(block_tables=table.to(device), seq_lens=seq_lens.to(device), **caches[0], **kw)
        got = paged_decode_attention(q, **args, num_splits=3)
        ref = paged_decode_attention_ref(q, **args)
        out[name] = {"write_bit_exact": same, "decode_rel_err": rel_err(got, ref)}
    return out


# -- one row of each kind -----------------------------------------------------------------------
def bench_decode(fmt, kind, q_heads, batch, ctx, block_size, ctx_args):
    import torch

    from kvplan.kernels.cache import allocate
    from kvplan.kernels.decode import paged_decode_attention
    from kvplan.kernels.timing import time_graph
    from kvplan.layout import layer_layout

    device, gen, budget, repeat = ctx_args["device"], ctx_args["gen"], ctx_args["budget"], ctx_args["repeat"]
    H, D, DV = kind.heads_per_rank(1), kind.head_dim, kind.v_head_dim
    blocks_per_seq = -(-ctx // block_size)
    num_blocks = batch * blocks_per_seq
    layout = layer_layout(kind, fmt, num_blocks, block_size)
    kv_read = batch * ctx * H * (fmt.vector_bytes(D) + fmt.vector_bytes(DV))
    row = {"kind": "decode", "format": fmt.name, "batch": batch, "ctx": ctx, "kv_heads": H, "q_heads": q_heads,
           "head_dim": D, "cache_bytes": layout.nbytes}
    rotations = rotations_for(kv_read, layout.nbytes, ctx_args)
    if rotations < 1:
        row["skipped"] = f"cache of {layout.nbytes / GB:.1f} GB exceeds the {budget / GB:.1f} GB budget"
        return row, None
    dtype = torch.bfloat16
    sets = []
    for _ in range(rotations):
        cache = allocate(layout, device)
        fill_random_(cache, gen)
        table = shuffled_tables(batch, blocks_per_seq, num_blocks, device, gen)
        q = torch.randn(batch, q_heads, D, device=device, generator=gen).to(dtype)
        out = torch.empty(batch, q_heads, DV, device=device, dtype=dtype)
        sets.append((q, cache, table, out))
    lens = torch.full((batch,), ctx, dtype=torch.int32, device=device)
    kw = fp8_kwargs(fmt.name, device)

    def call(s, launch_info=None):  # the wrapper's own launch (split count, register cap), as users get it
        q, cache, table, out = s
        paged_decode_attention(q, block_tables=table, seq_lens=lens, out=out, check_values=False,
                               max_seq_len=ctx, launch_info=launch_info, **cache, **kw)

    launch: dict = {}
    call(sets[0], launch)
    splits = launch["num_splits"]
    timing = time_graph(call, sets, calls_per_replay=4 * len(sets), replays=repeat,
                        warmup=ctx_args["warmup"], device=device)
    other = (batch * q_heads * (D + DV) * 2 + batch * blocks_per_seq * 4 + batch * 4
             + (2 * batch * q_heads * splits * (DV + 1) * 4 if splits > 1 else 0))
    row.update(num_splits=splits, maxnreg=launch["maxnreg"], rotations=rotations, kv_read_bytes=kv_read,
               bytes=kv_read + other, timing=timing)
    return row, sets[0]


def bench_sdpa(kind, q_heads, batch, ctx, block_size, first_set, decode_row, ctx_args):
    """torch SDPA over the same bf16 K/V made contiguous ([B, H, ctx, D]); output compared."""
    import torch
    import torch.nn.functional as F

    from kvplan.kernels.testing import rel_err
    from kvplan.kernels.timing import time_graph

    device, budget, repeat = ctx_args["device"], ctx_args["budget"], ctx_args["repeat"]
    q, cache, table, out = first_set
    H, D = kind.heads_per_rank(1), kind.head_dim
    row = {"kind": "sdpa", "format": "bf16", "batch": batch, "ctx": ctx}
    contiguous_bytes = 2 * batch * ctx * H * (D + kind.v_head_dim)
    if contiguous_bytes > budget:
        row["skipped"] = f"contiguous copy of {contiguous_bytes / GB:.1f} GB exceeds the budget"
        return row

    def contiguous(paged):  # [B, H, ctx, D], one sequence at a time (no full-size temporaries)
        out = torch.empty(batch, H, ctx, paged.shape[-1], dtype=paged.dtype, device=paged.device)
        for b in range(batch):
            out[b] = paged[table[b].long()].reshape(-1, H, paged.shape[-1])[:ctx].transpose(0, 1)
        return out

    k, v = contiguous(cache["k_cache"]), contiguous(cache["v_cache"])
    q4 = q[:, :, None, :]
    group = q_heads // H
    try:
        F.scaled_dot_product_attention(q4, k, v, enable_gqa=True)
        sdpa = lambda _: F.scaled_dot_product_attention(q4, k, v, enable_gqa=True)  # noqa: E731
        row["gqa"] = "enable_gqa"
    except TypeError:  # torch < 2.5: repeat the KV heads (costs memory, same bytes read per head)
        k, v = k.repeat_interleave(group, dim=1), v.repeat_interleave(group, dim=1)
        sdpa = lambda _: F.scaled_dot_product_attention(q4, k, v)  # noqa: E731
        row["gqa"] = "repeat_interleave"
    result = sdpa(None)[:, :, 0, :]
    row["rel_err_vs_kernel"] = rel_err(out, result)
    timing = time_graph(sdpa, [None], calls_per_replay=4, replays=repeat,
                        warmup=ctx_args["warmup"], device=device)
    row.update(bytes=decode_row["kv_read_bytes"] + batch * q_heads * (D + kind.v_head_dim) * 2, timing=timing)
    return row


def bench_write(fmt, kind, batch, ctx, block_size, tokens, label, ctx_args):
    import torch

    from kvplan.kernels.cache import allocate
    from kvplan.kernels.timing import time_graph
    from kvplan.kernels.write import paged_kv_write
    from kvplan.layout import layer_layout

    device, gen, budget, repeat = ctx_args["device"], ctx_args["gen"], ctx_args["budget"], ctx_args["repeat"]
    H, D, DV = kind.heads_per_rank(1), kind.head_dim, kind.v_head_dim
    num_blocks = -(-tokens // block_size)
    layout = layer_layout(kind, fmt, num_blocks, block_size)
    in_bytes = tokens * H * (D + DV) * 2
    out_bytes = tokens * H * (fmt.vector_bytes(D) + fmt.vector_bytes(DV))
    row = {"kind": label, "format": fmt.name, "batch": batch, "ctx": ctx, "tokens": tokens}
    per_set = layout.nbytes + in_bytes + tokens * 8
    rotations = rotations_for(in_bytes + out_bytes, per_set, ctx_args)
    if rotations < 1:
        row["skipped"] = f"needs {per_set / GB:.1f} GB, over the {budget / GB:.1f} GB budget"
        return row
    sets = []
    for _ in range(rotations):
        cache = allocate(layout, device)
        key = torch.randn(tokens, H, D, device=device, generator=gen).to(torch.bfloat16)
        value = torch.randn(tokens, H, DV, device=device, generator=gen).to(torch.bfloat16)
        blocks = torch.randperm(num_blocks, device=device, generator=gen)
        slots = (blocks[:, None] * block_size + torch.arange(block_size, device=device)).view(-1)[:tokens]
        sets.append((key, value, cache, slots.contiguous()))
    kw = fp8_kwargs(fmt.name, device)

    def call(s):
        key, value, cache, slots = s
        paged_kv_write(key, value, slot_mapping=slots, check_slots=False, **cache, **kw)

    timing = time_graph(call, sets, calls_per_replay=4 * len(sets), replays=repeat,
                        warmup=ctx_args["warmup"], device=device)
    row.update(rotations=rotations, bytes=in_bytes + out_bytes + tokens * 8, timing=timing)
    return row


def bench_mla(fmt, mla_kind, q_heads, batch, ctx, block_size, ctx_args):
    import torch

    from kvplan.kernels.cache import allocate
    from kvplan.kernels.mla import mla_decode_attention
    from kvplan.kernels.timing import time_graph
    from kvplan.layout import layer_layout

    device, gen, repeat = ctx_args["device"], ctx_args["gen"], ctx_args["repeat"]
    R, P = mla_kind.kv_lora_rank, mla_kind.qk_rope_head_dim
    blocks_per_seq = -(-ctx // block_size)
    num_blocks = batch * blocks_per_seq
    layout = layer_layout(mla_kind, fmt, num_blocks, block_size)
    kv_read = batch * ctx * fmt.vector_bytes(R + P)
    row = {"kind": "mla_decode", "format": fmt.name, "batch": batch, "ctx": ctx, "q_heads": q_heads,
           "kv_lora_rank": R, "rope_dim": P, "cache_bytes": layout.nbytes}
    rotations = rotations_for(kv_read, layout.nbytes, ctx_args)
    if rotations < 1:
        row["skipped"] = f"cache of {layout.nbytes / GB:.1f} GB exceeds the budget"
        return row
    sets = []
    for _ in range(rotations):
        cache = allocate(layout, device)
        fill_random_(cache, gen)
        table = shuffled_tables(batch, blocks_per_seq, num_blocks, device, gen)
        qn = torch.randn(batch, q_heads, R, device=device, generator=gen).to(torch.bfloat16)
        qr = torch.randn(batch, q_heads, P, device=device, generator=gen).to(torch.bfloat16)
        sets.append((qn, qr, cache, table, torch.empty(batch, q_heads, R, device=device, dtype=torch.bfloat16)))
    lens = torch.full((batch,), ctx, dtype=torch.int32, device=device)
    kw = {"scale": fp8_kwargs(fmt.name, device)["k_scale"]} if fmt.name == "fp8_e4m3" else {}

    def call(s, launch_info=None):
        qn, qr, cache, table, out = s
        mla_decode_attention(qn, qr, block_tables=table, seq_lens=lens, sm_scale=0.07, out=out, check_values=False,
                             max_seq_len=ctx, launch_info=launch_info, **cache, **kw)

    launch: dict = {}
    call(sets[0], launch)
    splits = launch["num_splits"]
    timing = time_graph(call, sets, calls_per_replay=4 * len(sets), replays=repeat,
                        warmup=ctx_args["warmup"], device=device)
    other = batch * q_heads * (2 * R + P) * 2 + batch * blocks_per_seq * 4 + (
        2 * batch * q_heads * splits * (R + 1) * 4 if splits > 1 else 0)
    row.update(num_splits=splits, rotations=rotations, kv_read_bytes=kv_read, bytes=kv_read + other, timing=timing)
    return row


# -- targets and report -------------------------------------------------------------------------
def derive(rows, copy_bps, read_bps):
    """GB/s, % of the copy bandwidth and, for the reading kernels (decode, SDPA), % of the
    read-only bandwidth: their roof."""
    for row in rows:
        if "timing" in row:
            t = row["timing"]["median_s"]
            row["gb_per_s"] = row["bytes"] / t / GB
            row["pct_of_copy"] = 100 * row["bytes"] / t / copy_bps
            if row["kind"] in ("decode", "mla_decode", "sdpa"):
                row["pct_of_read"] = 100 * row["bytes"] / t / read_bps


def evaluate_targets(rows):
    out = []
    timed = [r for r in rows if "timing" in r]
    for r in timed:
        if r["kind"] == "decode" and r["format"] == "bf16" and r["kv_read_bytes"] >= HALF_GB:
            out.append({"target": "bf16 decode >= 85% of the read-only bandwidth (call reads >= 0.5 GB)",
                        "row": f"batch {r['batch']} ctx {r['ctx']}", "value": round(r["pct_of_read"], 1),
                        "pass": r["pct_of_read"] >= 85})
        if r["kind"] == "write_prefill" and r["bytes"] >= HALF_GB:
            out.append({"target": "write >= 70% of copy bandwidth (call moves >= 0.5 GB)",
                        "row": f"{r['format']} {r['tokens']} tokens", "value": round(r["pct_of_copy"], 1),
                        "pass": r["pct_of_copy"] >= 70})
    bf16 = {(r["batch"], r["ctx"]): r for r in timed if r["kind"] == "decode" and r["format"] == "bf16"}
    want = {"fp8_e4m3": 1.8, "int8": 1.6}
    for r in timed:
        if r["kind"] == "decode" and r["format"] in want and r["ctx"] == 32768:
            base = bf16.get((r["batch"], r["ctx"]))
            if base:
                speedup = base["timing"]["median_s"] / r["timing"]["median_s"]
                out.append({"target": f"{r['format']} decode >= {want[r['format']]}x faster than bf16 at 32k",
                            "row": f"batch {r['batch']}", "value": round(speedup, 2),
                            "pass": speedup >= want[r["format"]]})
    mla = {(r["format"], r["batch"], r["ctx"]): r for r in timed if r["kind"] == "mla_decode"}
    for (name, batch, ctx), r in mla.items():
        base = mla.get(("bf16", batch, ctx))
        if name == "fp8_e4m3" and base:
            speedup = base["timing"]["median_s"] / r["timing"]["median_s"]
            out.append({"target": "MLA fp8 decode faster than MLA bf16", "row": f"batch {batch} ctx {ctx}",
                        "value": round(speedup, 2), "pass": speedup > 1.0})
    return out


def fmt_row(r):
    if "skipped" in r:
        return f"{r['kind']:<14}{r['format']:<10}{r['batch']:>6}{r['ctx']:>8}  skipped: {r['skipped']}"
    t = r["timing"]["median_s"]
    extra = f"  splits {r['num_splits']}" if "num_splits" in r else ""
    if "rel_err_vs_kernel" in r:
        extra += f"  rel err vs kernel {r['rel_err_vs_kernel']:.1e}"
    return (f"{r['kind']:<14}{r['format']:<10}{r['batch']:>6}{r['ctx']:>8}{t * 1e6:>11.1f} us"
            f"{r['bytes'] / GB:>10.4f} GB{r['gb_per_s']:>9.1f} GB/s{r['pct_of_copy']:>7.1f} %{extra}")


def markdown(result) -> str:
    lines = [f"# Kernel measurements: {result['device']}", "",
             f"Copy bandwidth (read + write): {result['copy']['bytes_per_s'] / GB:.0f} GB/s "
             f"({result['copy']['copy_bytes'] / GB:.2f} GB copies). Model shapes: {result['shapes']}.",
             f"torch {result['versions']['torch']}, triton {result['versions']['triton']}. "
             "Produced by `python benchmarks/kernels.py` ("
             + ("wall-clock times in the Triton interpreter: they say nothing about GPUs)."
                if result["interpret"] else "median of CUDA-event timings over rotated inputs)."), "",
             "| kernel | format | batch | ctx | median us | GB moved | GB/s | % copy | notes |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in result["rows"]:
        if "skipped" in r:
            lines.append(f"| {r['kind']} | {r['format']} | {r['batch']} | {r['ctx']} | | | | | {r['skipped']} |")
            continue
        note = f"splits {r['num_splits']}" if "num_splits" in r else ""
        if "rel_err_vs_kernel" in r:
            note = f"rel err vs kernel {r['rel_err_vs_kernel']:.1e}"
        lines.append(f"| {r['kind']} | {r['format']} | {r['batch']} | {r['ctx']} | "
                     f"{r['timing']['median_s'] * 1e6:.1f} | {r['bytes'] / GB:.4f} | {r['gb_per_s']:.1f} | "
                     f"{r['pct_of_copy']:.1f} | {note} |")
    lines += ["", "## Targets", "", "| target | row | value | result |", "|---|---|---|---|"]
    for t in result["targets"]:
        lines.append(f"| {t['target']} | {t['row']} | {t['value']} | {'PASS' if t['pass'] else 'FAIL'} |")
    lines += ["", "## Correctness on this device", "", "| format | write bit-exact | decode rel err |", "|---|---|---|"]
    for name, c in result["correctness"].items():
        lines.append(f"| {name} | {c['write_bit_exact']} | {c['decode_rel_err']:.1e} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.interpret:
        os.environ["TRITON_INTERPRET"] = "1"  # before triton is imported
    elif os.environ.get("TRITON_INTERPRET") == "1":
        print("benchmarks/kernels.py: unset TRITON_INTERPRET to time on the GPU (or pass --interpret)",
              file=sys.stderr)
        return 2
    try:
        import torch
        import triton
    except ImportError:
        print(f"{NEEDS_GPU} and torch + triton (pip install 'kvplan[gpu]')", file=sys.stderr)
        return 2
    if not args.interpret and not torch.cuda.is_available():
        print(NEEDS_GPU, file=sys.stderr)
        return 2

    from kvplan.formats import get_format
    from kvplan.kernels.timing import copy_bandwidth, read_bandwidth
    from kvplan.layers import FullAttention, MLALatent
    from kvplan.measure import load_spec  # works without pydantic (benchmarks/gpu_specs.json)
    from kvplan.units import parse_list, parse_tokens

    device = "cpu" if args.interpret else "cuda"
    if args.interpret:
        kind, q_heads = FullAttention(kv_heads=2, head_dim=32, v_head_dim=32), 8
        mla_kind, mla_heads = MLALatent(kv_lora_rank=64, qk_rope_head_dim=32), 4
        batches, ctxs = [1], [40]  # one row per kernel and format (2 splits): the code path, fast
        repeat, budget, copy_bytes = args.repeat or 1, 64 * 2**20, 2**20
        warmup, guard = 1, 0
        device_name = "cpu (Triton interpreter)"
    else:
        spec = load_spec(args.model)
        kind = next(k for k in spec.layers if isinstance(k, FullAttention))
        q_heads = spec.num_attention_heads
        mla_kind, mla_heads = None, 0
        if args.mla_model:
            mla_spec = load_spec(args.mla_model)
            mla_kind = next((k for k in mla_spec.layers if isinstance(k, MLALatent)), None)
            mla_heads = mla_spec.num_attention_heads
        batches = [int(b) for b in (args.batch or "1,4,16,64,256").split(",")]
        ctxs = parse_list(args.ctx or "1k,4k,32k,128k", lambda t, _w: parse_tokens(t), "ctx")
        repeat = args.repeat or 20
        free, _total = torch.cuda.mem_get_info()
        budget = int(free * args.mem_fraction)
        copy_bytes = int(args.copy_gb * GB)
        device_name = torch.cuda.get_device_name()
        warmup, guard = 3, L2_GUARD_BYTES
    if args.batch and args.interpret:
        batches = [int(b) for b in args.batch.split(",")]
    if args.ctx and args.interpret:
        ctxs = parse_list(args.ctx, lambda t, _w: parse_tokens(t), "ctx")
    formats = [get_format(f) for f in args.formats.split(",")]
    write_cap = parse_tokens(args.write_tokens)
    gen = torch.Generator(device=device).manual_seed(0)
    ctx_args = {"device": device, "gen": gen, "budget": budget, "repeat": repeat, "warmup": warmup, "guard": guard}

    print(f"device: {device_name}; torch {torch.__version__}, triton {triton.__version__}")
    print(f"shapes: {kind.describe()}, {q_heads} query heads; block size {args.block_size}; "
          f"MLA: {mla_kind.describe() if mla_kind else 'skipped'}, {mla_heads} heads")
    correctness = check_correctness([f.name for f in formats], device, (1, 21) if args.interpret else (1, 37, 300))
    for name, c in correctness.items():
        print(f"check {name:<9} write bit-exact: {c['write_bit_exact']}  decode rel err: {c['decode_rel_err']:.1e}")
    copy = copy_bandwidth(copy_bytes, device=device, repeat=repeat)
    print(f"copy bandwidth: {copy['bytes_per_s'] / GB:.1f} GB/s (read + write, {copy_bytes / GB:.3f} GB copies)")
    read = read_bandwidth(2 * copy_bytes, device=device, repeat=max(3, repeat // 2))
    print(f"read-only bandwidth: {read['bytes_per_s'] / GB:.1f} GB/s (the decode roof)")
    print(f"{'kernel':<14}{'format':<10}{'batch':>6}{'ctx':>8}{'median':>14}{'moved':>13}{'rate':>14}{'copy':>9}")

    rows = []
    prefill_done = set()  # (format, tokens): prefill writes capped at --write-tokens repeat

    def emit(row):
        rows.append(row)
        derive([row], copy["bytes_per_s"], read["bytes_per_s"])
        print(fmt_row(row), flush=True)

    for fmt in formats:
        for batch in batches:
            for ctx in ctxs:
                row, first = bench_decode(fmt, kind, q_heads, batch, ctx, args.block_size, ctx_args)
                emit(row)
                if first is not None and fmt.name == "bf16" and not args.no_sdpa:
                    emit(bench_sdpa(kind, q_heads, batch, ctx, args.block_size, first, row, ctx_args))
                del first
                tokens = min(batch * ctx, write_cap)
                if (fmt.name, tokens) not in prefill_done:
                    prefill_done.add((fmt.name, tokens))
                    emit(bench_write(fmt, kind, batch, ctx, args.block_size, tokens, "write_prefill", ctx_args))
                if device == "cuda":
                    torch.cuda.empty_cache()
            emit(bench_write(fmt, kind, batch, 1, args.block_size, batch, "write_step", ctx_args))
    if mla_kind is not None:
        for fmt in formats:
            if fmt.name == "int4":
                continue  # MLA decode reads bf16/fp16, fp8 and int8 latents
            for batch in batches:
                for ctx in ctxs:
                    emit(bench_mla(fmt, mla_kind, mla_heads, batch, ctx, args.block_size, ctx_args))
                    if device == "cuda":
                        torch.cuda.empty_cache()

    targets = evaluate_targets(rows)
    print("targets:")
    for t in targets:
        print(f"  {'PASS' if t['pass'] else 'FAIL'}  {t['target']}: {t['row']}: {t['value']}")
    if not targets:
        print("  (no row reached the sizes the targets apply to)")
    bad_checks = [n for n, c in correctness.items() if not c["write_bit_exact"] or c["decode_rel_err"] > 1e-2]
    result = {
        "device": device_name, "interpret": args.interpret, "environment": environment(),
        "versions": {"torch": torch.__version__, "triton": triton.__version__},
        "shapes": f"{kind.describe()}, {q_heads} query heads, block {args.block_size}"
                  + (f"; MLA {mla_kind.describe()}, {mla_heads} heads" if mla_kind else ""),
        "copy": copy, "read": read, "correctness": correctness, "rows": rows, "targets": targets,
    }
    path = write_json(result, args.out, f"kernels-{slug(device_name)}.json")
    print(f"wrote {path}")
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as fh:
            fh.write(markdown(result))
        print(f"wrote {args.markdown}")
    if bad_checks:
        print(f"correctness check failed for {', '.join(bad_checks)}", file=sys.stderr)
        return 1
    if args.strict and not all(t["pass"] for t in targets):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
