"""Compile every kernel variant for an NVIDIA target without a GPU, and read its SASS.

The CPU tests run the kernels in the Triton interpreter, which does not type-check the
way the GPU compiler does (dtype promotion, tl.dot operand types, layouts). This module
compiles the GPU path ahead of time (Triton -> PTX -> ptxas, all shipped in the triton
wheel), so a broken GPU build shows up on any machine:

    python -m kvplan.kernels.compile_check            # sm_90 (H100/H200)
    python -m kvplan.kernels.compile_check 80 90      # several architectures
    python -m kvplan.kernels.compile_check --quick    # one variant per kernel and format
    python -m kvplan.kernels.compile_check --sass [--json FILE]
        # per variant: registers per thread, spill (stack) bytes, shared memory, resident
        # blocks per SM on sm_90, and the SASS of the main loop: instructions per tile and
        # per class (global loads, MMAs, conversions, integer/address arithmetic, float)

Variants are compiled the way the JIT specializes a real launch (llama3-8b / DeepSeek
shapes): pointers 16-byte aligned, integer arguments that are multiples of 16 marked
``tt.divisibility=16``, integers equal to 1 turned into constants. Without that the
compiler cannot vectorize and the figures describe no real launch.

It must run with TRITON_INTERPRET unset (the kernels are then real JIT functions).
Exit status 0 when every variant compiles, 1 otherwise; one line per variant.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field

from kvplan.kernels.occupancy import resident_blocks

@dataclass(frozen=True)
class Variant:
    name: str
    fn: object
    types: dict  # pointer and float argument types
    consts: dict  # constexpr values
    num_warps: int
    ints: dict = field(default_factory=dict)  # example integer arguments (for specialization)
    tile_tokens: int = 0  # tokens per main-loop iteration (0: no token loop)
    maxnreg: int | None = None  # ptxas's register cap per thread (decode.REGISTER_CAPS), None: none


# Example integer arguments of a real launch: llama3-8b (32 query heads, 8 KV heads,
# head_dim 128), 32k tokens in blocks of 16 (2,048 table columns); DeepSeek-V2-Lite MLA
# (16 heads, latent 512 + 64).
_GQA_INTS = dict(q_stride_b=4096, q_stride_h=128, o_stride_b=4096, o_stride_h=128, bt_stride=2048, ks_stride=0,
                 vs_stride=0, HQ=32, HKV=8, GROUP=4, D=128, DV=128)
_MLA_INTS = dict(qn_stride_b=8192, qn_stride_h=512, qr_stride_b=1024, qr_stride_h=64, o_stride_b=8192,
                 o_stride_h=512, bt_stride=2048, HQ=16, R=512, P=64)


def _variants(quick: bool = False):
    """Every variant (``quick``: one per kernel and cache format, bf16 queries)."""
    import triton.language as tl

    from kvplan.kernels import decode, mla, write

    cache_types = {0: ("*bf16", "*bf16"), 1: ("*fp8e4nv", "*fp8e4nv"), 2: ("*i8", "*fp32"), 3: ("*u8", "*fp16")}
    for fmt, (cdt, sdt) in cache_types.items():
        for has_v in (True,) if quick else (True, False):
            types = dict(k_ptr="*bf16", v_ptr="*bf16", kc_ptr=cdt, vc_ptr=cdt, kcs_ptr=sdt, vcs_ptr=sdt,
                         ks_ptr="*fp32", vs_ptr="*fp32", slot_ptr="*i64")
            consts = dict(FMT=fmt, HAS_V=has_v, BLOCK_D=128, BLOCK_DV=128, BLOCK_G=4, BLOCK_GV=4)
            ints = dict(k_stride_t=1024, k_stride_h=128, v_stride_t=1024, v_stride_h=128, ks_stride=0, vs_stride=0,
                        H=8, D=128, DV=128)
            yield Variant(f"paged_kv_write fmt={fmt} has_v={has_v}", write._paged_kv_write_kernel, types, consts, 1,
                          ints)
    for fmt, (cdt, sdt) in cache_types.items():
        for qdt, qtl in (("*bf16", tl.bfloat16),) if quick else (("*bf16", tl.bfloat16), ("*fp16", tl.float16)):
            for splits in (8,) if quick else (1, 8):
                for group in (4,) if quick else (4, 32):
                    yield decode.compile_variant(fmt, cdt, sdt, qdt, qtl, splits, group, _GQA_INTS)
        if fmt == 3:
            continue
        for splits in (8,) if quick else (1, 8):
            yield mla.compile_variant(fmt, cdt, splits, _MLA_INTS)
    for qdt, qtl in (("*bf16", tl.bfloat16),) if quick else (("*bf16", tl.bfloat16), ("*fp16", tl.float16)):
        types = dict(po_ptr="*fp32", plse_ptr="*fp32", out_ptr=qdt)
        consts = dict(BLOCK_S=8, BLOCK_DV=128, OUT_DTYPE=qtl)
        ints = dict(o_stride_b=4096, o_stride_h=128, num_splits=8, HQ=32, DV=128)
        yield Variant(f"merge out={qdt[1:]}", decode._merge_kernel, types, consts, 1, ints)


def _source(v: Variant):
    """An ASTSource specialized as the JIT specializes a launch with ``v.ints``."""
    from triton.compiler import ASTSource

    sig, consts, attrs = {}, dict(v.consts), {}
    fixed = {v.fn.arg_names[a] if isinstance(a, int) else a for a in getattr(v.fn, "do_not_specialize", ()) or ()}
    for i, arg in enumerate(v.fn.arg_names):
        if arg in v.consts:
            sig[arg] = "constexpr"
        elif arg in v.types:
            sig[arg] = v.types[arg]
            if v.types[arg].startswith("*"):
                attrs[(i,)] = [["tt.divisibility", 16]]  # torch allocations are 256-byte aligned
        else:
            value = None if arg in fixed else v.ints.get(arg)
            if value == 1:  # the JIT turns an integer 1 into a constant
                sig[arg] = "constexpr"
                consts[arg] = 1
                continue
            sig[arg] = "i32"
            if value is not None and value % 16 == 0:
                attrs[(i,)] = [["tt.divisibility", 16]]
    constexprs = {(v.fn.arg_names.index(k),): val for k, val in consts.items()}
    return ASTSource(fn=v.fn, signature=sig, constexprs=constexprs, attrs=attrs)


def compile_variant(v: Variant, arch: int = 90):
    import triton
    from triton.backends.compiler import GPUTarget

    options = {"num_warps": v.num_warps} | ({} if v.maxnreg is None else {"maxnreg": v.maxnreg})
    return triton.compile(_source(v), target=GPUTarget("cuda", int(arch), 32), options=options)


def compile_all(archs=(90,), quick: bool = False) -> list[tuple[str, str]]:
    """Compile every variant for each compute capability; [(name, 'ok' or the error)]."""
    _check_env()
    results = []
    for arch in archs:
        for v in _variants(quick):
            try:
                compile_variant(v, arch)
                results.append((f"sm_{arch} {v.name}", "ok"))
            except Exception as err:  # report every failure, not just the first
                first = str(err).strip().splitlines()
                results.append((f"sm_{arch} {v.name}", f"{type(err).__name__}: {first[0] if first else ''}"))
    return results


def _check_env() -> None:
    if os.environ.get("TRITON_INTERPRET", "") == "1":
        raise RuntimeError("compile_check needs TRITON_INTERPRET unset (the kernels are interpreted functions)")


# -- SASS ------------------------------------------------------------------------------------
# Instruction classes (SASS opcode roots; sm_90). Anything else counts as "other".
SASS_CLASSES = {
    "global_load": ("LDG", "LDGSTS", "LDGDEPBAR", "UBLKCP", "UTMALDG"),
    "global_store": ("STG", "RED", "ATOM"),
    "shared": ("LDS", "STS", "LDSM", "STSM"),
    "mma": ("HMMA", "HGMMA", "QGMMA", "IMMA", "IGMMA", "WARPGROUP"),
    "convert": ("F2F", "F2FP", "I2F", "F2I", "I2FP", "F2IP", "I2I", "FRND", "HADD2", "HFMA2", "HMUL2"),
    "int_address": ("IMAD", "IADD3", "IADD", "LEA", "SHF", "LOP3", "SGXT", "VIADD", "IMNMX", "VIMNMX", "ISETP",
                    "PRMT", "SEL", "IABS", "POPC", "FLO", "BMSK", "UIADD3", "UIMAD", "ULEA", "USHF", "ULOP3",
                    "USEL", "UISETP", "UPRMT", "UMOV", "MOV", "IMNMX", "PLOP3", "P2R", "R2P", "R2UR", "S2R", "S2UR",
                    "CS2R", "LDC", "ULDC"),
    "float": ("FFMA", "FMUL", "FADD", "FMNMX", "FSEL", "MUFU", "FSETP", "FCHK", "FSWZADD"),
    "sync_branch": ("BAR", "BRA", "BSYNC", "BSSY", "WARPSYNC", "DEPBAR", "SHFL", "VOTE", "NOP", "YIELD", "EXIT",
                    "ARRIVES", "SYNCS", "FENCE", "MEMBAR", "ERRBAR", "CCTL"),
    "local_spill": ("LDL", "STL"),
}
_OP_CLASS = {op: cls for cls, ops in SASS_CLASSES.items() for op in ops}
_LINE = re.compile(r"/\*([0-9a-f]{4,})\*/\s+(@!?U?P[0-9T]+\s+)?([A-Z][A-Z0-9_]*)(\.[A-Z0-9_.]+)?\s*([^;]*);")
_RES = re.compile(r"REG:(\d+)\s+STACK:(\d+)\s+SHARED:(\d+)\s+LOCAL:(\d+)")


def _tool(name: str) -> str:
    from triton import knobs

    return getattr(knobs.nvidia, name).path


def sass_of(cubin: bytes) -> tuple[str, str]:
    """(SASS text, resource usage text) of a cubin, via the cuobjdump in the triton wheel."""
    with tempfile.NamedTemporaryFile(suffix=".cubin", delete=False) as fh:
        fh.write(cubin)
        path = fh.name
    try:
        sass = subprocess.run([_tool("cuobjdump"), "-sass", path], capture_output=True, text=True, check=True).stdout
        res = subprocess.run([_tool("cuobjdump"), "-res-usage", path], capture_output=True, text=True,
                             check=True).stdout
    finally:
        os.unlink(path)
    return sass, res


def parse_sass(sass: str) -> list[tuple[int, str, str]]:
    """[(address, opcode root, operands)] of every instruction."""
    return [(int(m.group(1), 16), m.group(3), m.group(5)) for m in _LINE.finditer(sass)]


def main_loop(instrs) -> tuple[int, int] | None:
    """(first, last) index of the main loop: of the ranges [branch target, backward branch],
    the one with the most global loads (the token loop of a decode kernel)."""
    by_addr = {addr: i for i, (addr, _, _) in enumerate(instrs)}
    best = None
    for i, (addr, op, args) in enumerate(instrs):
        if op != "BRA":
            continue
        m = re.search(r"0x([0-9a-f]+)", args)
        if not m:
            continue
        target = int(m.group(1), 16)
        if target >= addr or target not in by_addr:
            continue
        lo = by_addr[target]
        loads = sum(1 for _, o, _ in instrs[lo : i + 1] if _OP_CLASS.get(o) == "global_load")
        if loads and (best is None or loads > best[0]):
            best = (loads, lo, i)
    return None if best is None else (best[1], best[2])


def sass_report(v: Variant, arch: int = 90) -> dict:
    """Registers, spills, shared memory, occupancy and the main loop's instruction mix."""
    kernel = compile_variant(v, arch)
    sass, res = sass_of(kernel.asm["cubin"])
    m = _RES.search(res)
    regs, stack, shared, local = (int(x) for x in m.groups()) if m else (0, 0, 0, 0)
    shared = max(shared, int(kernel.metadata.shared))  # dynamic shared memory (pipelined tiles) included
    blocks, limit = resident_blocks(regs, shared, v.num_warps)
    instrs = [i for i in parse_sass(sass) if i[1] != "NOP"]
    out = {"variant": v.name, "arch": f"sm_{arch}", "num_warps": v.num_warps, "registers": regs,
           "stack_bytes": stack, "local_bytes": local, "shared_bytes": shared, "instructions": len(instrs),
           "blocks_per_sm": blocks, "limited_by": limit}
    loop = main_loop(instrs) if v.tile_tokens else None
    if loop:
        body = instrs[loop[0] : loop[1] + 1]
        mix = {cls: 0 for cls in SASS_CLASSES} | {"other": 0}
        for _, op, _ in body:
            mix[_OP_CLASS.get(op, "other")] += 1
        out.update(tile_tokens=v.tile_tokens, loop_instructions_per_tile=len(body), loop_mix=mix,
                   loop_instructions_per_64_tokens=round(len(body) * 64 / v.tile_tokens, 1))
    return out


def sass_all(arch: int = 90, quick: bool = True) -> list[dict]:
    """sass_report of every token-loop variant, and of each GQA decode variant again under the
    register cap its format may launch with (decode.REGISTER_CAPS: registers, stack, spills)."""
    import dataclasses

    from kvplan.kernels import decode

    _check_env()
    rows = []
    for v in _variants(quick):
        if not v.tile_tokens:
            continue
        rows.append(sass_report(v, arch))
        cap = decode.REGISTER_CAPS.get(v.consts.get("FMT")) if v.fn is decode._decode_kernel else None
        if cap is not None:
            rows.append(sass_report(dataclasses.replace(v, name=f"{v.name} maxnreg={cap}", maxnreg=cap), arch))
    return rows


def format_sass_table(rows: list[dict]) -> str:
    cols = ("registers", "stack_bytes", "shared_bytes", "blocks_per_sm", "tile_tokens", "loop_instructions_per_tile")
    mix = ("global_load", "mma", "convert", "int_address", "float", "shared", "local_spill")
    head = f"{'variant':<44}{'regs':>5}{'stack':>6}{'smem':>7}{'blk/SM':>7}{'tile':>5}{'loop':>6}" + "".join(
        f"{m[:7]:>8}" for m in mix)
    lines = [head]
    for r in rows:
        vals = [r.get(c, "") for c in cols]
        lines.append(f"{r['variant']:<44}" + "".join(f"{v:>{w}}" for v, w in zip(vals, (5, 6, 7, 7, 5, 6)))
                     + "".join(f"{r.get('loop_mix', {}).get(m, ''):>8}" for m in mix))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    quick = "--quick" in args
    if "--sass" in args:
        out = None
        if "--json" in args:
            out = args[args.index("--json") + 1]
            args.remove(out)
        archs = [int(a) for a in args if a.isdigit()] or [90]
        rows = [r for arch in archs for r in sass_all(arch, quick=not ("--all" in args))]
        print(format_sass_table(rows))
        if out:
            import triton

            with open(out, "w", encoding="utf-8") as fh:
                json.dump({"triton": triton.__version__, "rows": rows}, fh, indent=1)
                fh.write("\n")
        return 0
    archs = [int(a) for a in args if a != "--quick"] or [90]
    results = compile_all(archs, quick)
    for name, status in results:
        print(f"{'ok  ' if status == 'ok' else 'FAIL'} {name}" + ("" if status == "ok" else f": {status}"))
    return 0 if all(status == "ok" for _, status in results) else 1


if __name__ == "__main__":
    sys.exit(main())
