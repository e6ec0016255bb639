"""Decode kernels' tile sizes and split counts on a GPU: % of the read roof per format.

    # on the device machine, kvplan importable as in benchmarks/gpu_session.sh (a PYTHONPATH
    # folder mapping kernels/ to kvplan.kernels), from the repo root:
    python -P benchmarks/tile_sweep.py              # GQA 16 x 32k: block_n 32/64/128 x splits
                                                    # default/8; MLA 16 x 8k: 16/32/64 x default/4
    SWEEP=verify python -P benchmarks/tile_sweep.py # GQA 64 vs 128-token tiles per format at
                                                    # 16 x 32k, 16 x 8k, 4 x 32k, 1 x 32k, 4 x 8k,
                                                    # 64 x 2k, 128 x 1k (default splits)
    SWEEP=splits python -P benchmarks/tile_sweep.py # split counts around the default, GQA at
                                                    # 16 x 8k/32k and 4 x 32k, MLA at 16 x 8k
    SWEEP=maxnreg python -P benchmarks/tile_sweep.py # a register cap (168, 160) for the quantized
                                                    # GQA kernels at four shapes, then checked
    SWEEP=caps python -P benchmarks/tile_sweep.py   # the default launch (its own register-cap
                                                    # choice) against no cap, fp8 and int8 at six
                                                    # shapes, then the correctness checks
    SWEEP=launch python -P benchmarks/tile_sweep.py # num_warps 4/8 x num_stages 2/3/4 for the
                                                    # quantized formats, each config timed,
                                                    # then checked against the torch references

Writes $OUT/sweep_knobs.json. GPU_SESSION_DRYRUN=1 runs tiny shapes under the interpreter.
The defaults it set (kernels/decode.py default_block_n, kernels/mla.py MLA_GPU_TILES) and
the H200 figures: docs/measurements/h200-session.md."""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gpu_session as gs  # noqa: E402
import torch  # noqa: E402
from kvplan.kernels.timing import read_bandwidth  # noqa: E402

DEV, DRY = gs.DEV, gs.DRY
OUT = os.environ.get("OUT", "/tmp")
bk = gs._bench_helpers()
gen = torch.Generator(device=DEV).manual_seed(0)
res = {"read_bps": read_bandwidth((1 << 20) if DRY else (2 << 30), device=DEV, repeat=3 if DRY else 10)["bytes_per_s"],
       "rows": []}
t0 = time.time()
BUDGET = 40 if DRY else 170


def save(data) -> None:
    with open(os.path.join(OUT, "sweep_knobs.json"), "w") as fh:
        json.dump(data, fh, indent=0)


def run(kind, name, B, ctx, block_n, splits):
    row = {"kind": kind, "format": name, "batch": B, "ctx": ctx, "block_n": block_n, "splits": splits}
    if time.time() - t0 > BUDGET:
        row["skipped"] = "budget"
        res["rows"].append(row)
        return
    try:
        case = gs.gqa_decode_case if kind == "gqa" else gs.mla_decode_case
        call, sets, kv_read = case(bk, name, B, ctx, gen, block_n=block_n, splits=splits)
        t = gs._timed(call, sets, 3 if DRY else 10)
        row.update(us=t["median_s"] * 1e6, pct_read_roof=100 * kv_read / t["median_s"] / res["read_bps"])
    except Exception as err:  # noqa: BLE001
        row["error"] = f"{type(err).__name__}: {str(err)[:300]}"
    res["rows"].append(row)
    print(json.dumps(row), flush=True)
    if DEV == "cuda":
        torch.cuda.empty_cache()
    save(res)

def checked(group):
    """gpu_session's correctness checks of one group ("mla", or a format with an optional
    ":mode" of fp8 scales) under the launch settings in force: (checks run, failures)."""
    results = []
    if group == "mla":
        gs.check_mla(results)
    else:
        name, _, mode = group.partition(":")
        gs.check_gqa(name, mode or None, results)
    bad = [r for r in results if not r["ok"]]
    return len(results), [{k: v for k, v in r.items() if k != "traceback"} for r in bad]


def finish(dec=None):
    """Save the sweep (with the occupancy the decode wrappers computed, if ``dec``) and exit."""
    if dec is not None:
        res["occupancy"] = [{"key": repr(k), "blocks_per_sm": v} for k, v in dec._OCCUPANCY.items()]
    res["seconds"] = time.time() - t0
    save(res)
    sys.exit(0)


if os.environ.get("SWEEP") == "launch":
    # num_warps x num_stages per format at block_n 128 (GQA, 16 x 32k) and the MLA tiles
    # (16 x 8k), each config first checked against the torch reference (gpu_session's checks)
    from kvplan.kernels import decode as dec

    configs = [(w, st) for w in (4, 8) for st in (2, 3, 4)]
    plan = [("gqa", f) for f in ("fp8_e4m3", "int8", "int4")] + [("mla", f) for f in ("fp8_e4m3", "int8")]
    for kind, name in plan:
        for w, st in (configs[:2] if DRY else configs):
            dec.LAUNCH_TUNING.clear()
            dec.LAUNCH_TUNING.update(num_warps=w, num_stages=st)
            n_before = len(res["rows"])
            if kind == "gqa":
                run("gqa", name, *((2, 64) if DRY else (16, 32768)), None, None)
            else:
                run("mla", name, *((1, 64) if DRY else (16, 8192)), None, None)
            row = res["rows"][-1] if len(res["rows"]) > n_before else {}
            row.update(num_warps=w, num_stages=st)
            if "us" in row and time.time() - t0 < BUDGET:
                group = "mla" if kind == "mla" else ("fp8_e4m3:head" if name == "fp8_e4m3" else name)
                try:
                    row["checks"], row["check_failures"] = checked(group)
                except Exception as err:  # noqa: BLE001
                    row["check_error"] = f"{type(err).__name__}: {str(err)[:300]}"
            print(json.dumps(row), flush=True)
    dec.LAUNCH_TUNING.clear()
    finish()
if os.environ.get("SWEEP") == "splits":
    # split counts around the default (kernels/decode.py wave_splits), each timed: GQA at
    # 16 x 8k, 16 x 32k and 4 x 32k, MLA at 16 x 8k; then the occupancy the wrappers computed
    from kvplan.kernels import decode as dec

    BUDGET = 40 if DRY else 230
    gqa = [((2, 64), (1, 2, None))] if DRY else [
        ((16, 8192), (1, 2, 3, 4, 6, 8, 16, None)), ((16, 32768), (1, 2, 3, 4, 6, 8, 16, None)),
        ((4, 32768), (4, 8, 9, 16, None))]
    for (B, ctx), counts in gqa:
        for name in ("bf16", "fp8_e4m3", "int8", "int4"):
            for sp in counts:
                run("gqa", name, B, ctx, None, sp)
    for name in ("bf16", "fp8_e4m3", "int8"):
        for sp in ((1, 2, None) if DRY else (8, 16, 17, 24, 32, 33, None)):
            run("mla", name, *((1, 64) if DRY else (16, 8192)), None, sp)
    finish(dec)
if os.environ.get("SWEEP") == "maxnreg":
    # a register cap for the quantized GQA kernels (ptxas maxnreg): 168 lets three 4-warp
    # programs share an SM's 64K registers (247-255 uncapped: two); each cap timed with the
    # default splits (which read the capped kernel's occupancy) at four shapes, then checked
    from kvplan.kernels import decode as dec

    BUDGET = 40 if DRY else 200
    caps = (None, 128) if DRY else (None, 168, 160)
    shapes = [(2, 64)] if DRY else [(16, 32768), (16, 8192), (4, 32768), (64, 2048)]
    for name in ("fp8_e4m3", "int8", "int4"):
        for cap in caps:
            dec.LAUNCH_TUNING.clear()
            dec.LAUNCH_TUNING.update(maxnreg=cap)
            for B, ctx in shapes:
                run("gqa", name, B, ctx, None, None)
                res["rows"][-1]["maxnreg"] = cap
            if time.time() - t0 < BUDGET:
                try:
                    n, bad = checked("fp8_e4m3:head" if name == "fp8_e4m3" else name)
                    res["rows"].append({"kind": "check", "format": name, "maxnreg": cap, "checks": n,
                                        "check_failures": bad})
                except Exception as err:  # noqa: BLE001
                    res["rows"].append({"kind": "check", "format": name, "maxnreg": cap,
                                        "check_error": f"{type(err).__name__}: {str(err)[:300]}"})
                print(json.dumps(res["rows"][-1])[:400], flush=True)
    dec.LAUNCH_TUNING.clear()
    finish(dec)
if os.environ.get("SWEEP") == "caps":
    # the wrapper's own register-cap choice (decode.choose_launch) against forcing no cap, per
    # shape, then the correctness checks on the default launches
    from kvplan.kernels import decode as dec

    shapes = [(2, 64)] if DRY else [(16, 32768), (16, 8192), (4, 32768), (64, 2048), (1, 32768), (128, 1024)]
    for name in ("fp8_e4m3", "int8"):
        for B, ctx in shapes:
            for forced in (False, True):
                dec.LAUNCH_TUNING.clear()
                if forced:
                    dec.LAUNCH_TUNING["maxnreg"] = None
                run("gqa", name, B, ctx, None, None)
                res["rows"][-1]["launch"] = "no cap" if forced else "default"
        dec.LAUNCH_TUNING.clear()
        for mode in (("head", "tensor") if name == "fp8_e4m3" else (None,)):
            n, bad = checked(f"{name}:{mode}" if mode else name)
            res["rows"].append({"kind": "check", "format": name, "mode": mode, "checks": n, "check_failures": bad})
            print(json.dumps(res["rows"][-1])[:400], flush=True)
    finish(dec)
if os.environ.get("SWEEP") == "verify":
    shapes = [(2, 64)] if DRY else [(16, 32768), (16, 8192), (4, 32768), (1, 32768), (4, 8192), (64, 2048),
                                    (128, 1024)]
    for B, ctx in shapes:
        for name in ("bf16", "fp8_e4m3", "int8", "int4"):
            for bn in ((16, 32) if DRY else (64, 128)):
                run("gqa", name, B, ctx, bn, None)
    finish()
B, ctx = (2, 64) if DRY else (16, 32768)
for name in ("fp8_e4m3", "int8", "int4", "bf16"):
    for bn in ((16, 32) if DRY else (32, 64, 128)):
        for sp in (None, 8 if not DRY else 2):
            run("gqa", name, B, ctx, bn, sp)
B, ctx = (1, 64) if DRY else (16, 8192)
for name in ("fp8_e4m3", "int8", "bf16"):
    for bn in ((16,) if DRY else (16, 32, 64)):
        for sp in (None, 4 if not DRY else 2):
            run("mla", name, B, ctx, bn, sp)
res["seconds"] = time.time() - t0
save(res)
