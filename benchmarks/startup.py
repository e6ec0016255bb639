"""Start-up cost of planning: `kvplan size llama3-8b --ctx 32k` against the bare imports
of the libraries it is built on (`python -c "import typer, rich.table, pydantic, yaml"`),
measured in the same run, interleaved so that machine noise hits both alike.

Target (issue 2): at most 1.5x the baseline. Also reported, to show where time goes:
- typer floor: a minimal typer app running one command: typer's own run-time cost, which
  the import-only baseline never pays (typer 0.29 coerces every option through pydantic,
  about 100 ms; kvplan therefore requires typer < 0.29);
- cold: the first run after a spec change (KVPLAN_NO_CACHE=1: the spec is validated by
  pydantic instead of read back from kvplan's cache of validated built-in specs).

    python benchmarks/startup.py [--rounds 21] [--out FILE.json]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time

from _common import summarize, write_json

TYPER_FLOOR = """
import typer
app = typer.Typer()
@app.command()
def size(model: str, ctx: str = "8k", batch: int = 1):
    pass
@app.command()
def other():
    pass
app(["size", "llama3-8b", "--ctx", "32k"], standalone_mode=False)
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=21)
    ap.add_argument("--out", default=None, help="JSON output (default benchmarks/results/startup.json)")
    args = ap.parse_args()

    exe = shutil.which("kvplan")
    kvplan = [exe] if exe else [sys.executable, "-m", "kvplan.cli.main"]
    env = dict(os.environ)
    env.pop("KVPLAN_NO_CACHE", None)
    # As installed, Python modules run from cached bytecode; with PYTHONDONTWRITEBYTECODE set
    # every run would compile kvplan from source (+70 ms) while the baseline's libraries,
    # compiled by pip, would not: the warm-up run below writes kvplan's .pyc files.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    cmds = {
        "baseline": ([sys.executable, "-c", "import typer, rich.table, pydantic, yaml"], env),
        "typer_floor": ([sys.executable, "-c", TYPER_FLOOR], env),
        "kvplan_size": ([*kvplan, "size", "llama3-8b", "--ctx", "32k"], env),
        "kvplan_size_cold": ([*kvplan, "size", "llama3-8b", "--ctx", "32k"], {**env, "KVPLAN_NO_CACHE": "1"}),
    }
    subprocess.run(cmds["kvplan_size"][0], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   check=True)  # warm the OS page cache and kvplan's spec cache
    samples: dict[str, list[float]] = {k: [] for k in cmds}
    for _ in range(args.rounds):
        for name, (cmd, cmd_env) in cmds.items():
            t0 = time.perf_counter()
            subprocess.run(cmd, env=cmd_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
            samples[name].append(time.perf_counter() - t0)
    stats = {k: summarize(v) for k, v in samples.items()}
    base = stats["baseline"]["median_s"]
    ratio = stats["kvplan_size"]["median_s"] / base
    from importlib.metadata import version

    versions = {name: version(name) for name in ("typer", "rich", "pydantic", "PyYAML")}
    print(f"command: {' '.join(cmds['kvplan_size'][0])}   rounds: {args.rounds}   "
          + " ".join(f"{k} {v}" for k, v in versions.items()))
    for name, st in stats.items():
        print(f"{name:18s} median {st['median_s'] * 1e3:7.1f} ms   min {st['min_s'] * 1e3:7.1f}   "
              f"iqr {st['iqr_s'] * 1e3:5.1f}   x{st['median_s'] / base:.2f} of baseline")
    print(f"kvplan size / baseline = {ratio:.2f} (target <= 1.5)")
    path = write_json({"stats": stats, "ratio": ratio, "target_ratio": 1.5, "command": cmds["kvplan_size"][0],
                       "versions": versions},
                      args.out, "startup.json")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
