"""How fast is a 20-panel `kvplan sweep --plot`? (Issue 12: 13-17 s before; target under 3 s.)

The grid: 5 models (llama3-8b, llama3-70b, llama3.1-8b, mistral-7b, gemma2-9b) x tp 1,2,4,8
= 20 panels, each with 3 formats x 3 batch sizes = 9 lines over 8 contexts (1k .. 128k).

Two measurements:
  * in-process: the sweep, then sweep_figure + writing the PNG, median and spread over
    --repeat runs after one warm-up (matplotlib already imported);
  * cold CLI: `kvplan sweep ... --plot FILE --csv FILE` in a fresh Python process, wall time
    including interpreter start-up and every import (what a user waits for).

Prints the figures and writes JSON (benchmarks/results/plot_speed.json unless --out).

    python benchmarks/plot_speed.py [--repeat 5] [--cli-repeat 3] [--out FILE]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import summarize, time_calls, write_json

GRID = {
    "models": "llama3-8b,llama3-70b,llama3.1-8b,mistral-7b,gemma2-9b",
    "ctx": "1k,2k,4k,8k,16k,32k,64k,128k",
    "batch": "1,8,32",
    "kv_dtype": "bf16,fp8,int4",
    "tp": "1,2,4,8",
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--cli-repeat", type=int, default=3)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()

    from kvplan.plots import plot_sweep
    from kvplan.sweep import sweep

    frame = sweep(GRID["models"], ctx=GRID["ctx"], batch=GRID["batch"], kv_dtype=GRID["kv_dtype"], tp=GRID["tp"])
    panels = frame.groupby(["model", "tp", "pp"], observed=True).ngroups
    with tempfile.TemporaryDirectory() as tmp:
        png = Path(tmp) / "grid.png"
        plot = time_calls(lambda: plot_sweep(frame, png), repeat=args.repeat)
        png_bytes = png.stat().st_size
        cmd = [sys.executable, "-m", "kvplan.cli.main", "sweep", GRID["models"], "--ctx", GRID["ctx"], "--batch",
               GRID["batch"], "--kv-dtype", GRID["kv_dtype"], "--tp", GRID["tp"], "--plot", str(png),
               "--csv", str(Path(tmp) / "grid.csv")]
        samples = []
        for _ in range(args.cli_repeat):
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True)
            samples.append(time.perf_counter() - t0)
        cli = summarize(samples)
    print(f"grid: {panels} panels, {len(frame):,} points; PNG {png_bytes:,} bytes")
    print(f"in-process figure + PNG: median {plot['median_s']:.2f} s (min {plot['min_s']:.2f}, max {plot['max_s']:.2f})")
    print(f"cold CLI (sweep + plot + csv): median {cli['median_s']:.2f} s (min {cli['min_s']:.2f}, max {cli['max_s']:.2f})")
    print("target: under 3 s")
    path = write_json({"grid": GRID, "panels": panels, "points": len(frame), "png_bytes": png_bytes,
                       "in_process": plot, "cold_cli": cli, "target_s": 3.0}, args.out, "plot_speed.json")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
