"""How fast is `kvplan fragment`? 100,000 trace requests through six policies, and a streamed trace.

Target (issue 14): 100,000 trace requests through 6 policies in under 10 s on ONE core, with
memory linear in running sequences (not in requests or tokens), and traces of millions of
rows streamed rather than loaded whole.

Build: the simulator's hot modules are compiled with mypyc where `pip install` could
(setup.py); the figures say which ran ("compiled", or "python (why)": KVPLAN_PURE_PYTHON=1 times
the Python source).

Configuration: OPT-13B's pool from the PagedAttention paper (Table 1: 12 GB of KV cache =
15,728 tokens of 819,200 B), max_model_len 2,048, policies orca-max, orca-pow2,
orca-oracle, paged-16, paged-16-share, paged-1 (the six of the step-0 benchmark; static
batching, the seventh default, is timed on its own line).

Measurements:
  * trace: a kvplan-format CSV of --requests rows (prompt_len, output_len) drawn from the
    ShareGPT fit (seed 0) is written to a temporary folder, then read as a streamed trace
    workload (one checking pass when loaded, one pass per policy);
  * time: the process is pinned to one CPU (os.sched_setaffinity); kvplan.fragment.run_fragment
    runs all six policies on the trace (every request at time 0, as the step-0 figure was
    measured; then once more at Poisson 2/s); median and spread over --repeat runs after one
    warm-up; per policy, one timed run each. Figure: requests simulated per second.
  * memory: tracemalloc's peak of what one simulate() call allocates beyond its input, for
    paged-16 and orca-oracle at 10,000 and --requests requests (in memory);
  * streaming: --stream-rows rows (default 1,000,000) written to a CSV, loaded (a checking
    pass) and run through paged-16 at Poisson 2/s; tracemalloc's peak over load + run, and
    the seconds of each.

    python benchmarks/fragment_speed.py [--requests 100000] [--repeat 3] [--stream-rows 1000000] [--out FILE]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import tracemalloc
from pathlib import Path

from _common import time_calls, write_json

POOL_TOKENS = 15_728  # 12 GiB / 819,200 B per OPT-13B token (Kwon et al. 2023, Table 1: "15.7K" slots)
MAX_MODEL_LEN = 2048
SIX = ["orca-max", "orca-pow2", "orca-oracle", "paged-16", "paged-16-share", "paged-1"]


def write_trace(path: Path, rows: int, seed: int = 0) -> None:
    from kvplan.fragment import load_workload

    chunk = 100_000
    with open(path, "w") as fh:
        fh.write("prompt_len,output_len\n")
        done = 0
        while done < rows:
            n = min(chunk, rows - done)
            wl = load_workload("sharegpt", num_requests=n, max_model_len=MAX_MODEL_LEN, seed=seed + done)
            fh.writelines(f"{p},{o[0]}\n" for p, o in zip(wl.prompt_lens, wl.output_lens))
            done += n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--stream-rows", type=int, default=1_000_000)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()

    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None

    from kvplan.formats import get_format
    from kvplan.fragment import _native, load_workload, parse_policies, run_fragment, simulate
    from kvplan.fragment.arrivals import AllAtOnce, Poisson
    from kvplan.loader import load_model

    spec = load_model("opt-13b")
    fmt = get_format(spec.dtype)
    policies = parse_policies(",".join(SIX))
    tmp = Path(tempfile.mkdtemp(prefix="kvplan-bench-"))
    trace = tmp / "sharegpt_fit.csv"
    t0 = time.perf_counter()
    write_trace(trace, args.requests)
    t1 = time.perf_counter()
    wl = load_workload(str(trace), num_requests=None, max_model_len=MAX_MODEL_LEN)
    load_s = time.perf_counter() - t1
    print(f"kvplan fragment speed: {spec.name}, pool {POOL_TOKENS:,} tokens, a {args.requests:,}-row trace "
          f"(written in {t1 - t0:.2f} s, checked in {load_s:.2f} s), {len(policies)} policies: "
          f"{', '.join(p.name for p in policies)}; pinned to CPU {cpus}; simulator {_native.mode}")

    def all_policies(arrivals):
        return lambda: run_fragment(spec, fmt, wl, policies, POOL_TOKENS, max_model_len=MAX_MODEL_LEN,
                                    rates=[arrivals])

    timing = time_calls(all_policies(AllAtOnce()), repeat=args.repeat, warmup=1)
    rate = args.requests * len(policies) / timing["median_s"]
    print(f"  six policies, all at time 0: median {timing['median_s']:.2f} s (min {timing['min_s']:.2f}, max "
          f"{timing['max_s']:.2f}) -> {rate:,.0f} requests simulated per second; target < 10 s: "
          f"{'met' if timing['median_s'] < 10 else 'NOT met'}")
    t0 = time.perf_counter()
    all_policies(Poisson(2.0, 0))()
    poisson_s = time.perf_counter() - t0
    print(f"  six policies, Poisson 2/s: {poisson_s:.2f} s (one run)")

    per_policy = {}
    for pol in parse_policies(",".join(SIX + ["static"])):
        t0 = time.perf_counter()
        res = simulate(wl, pol, POOL_TOKENS, max_model_len=MAX_MODEL_LEN)
        dt = time.perf_counter() - t0
        per_policy[pol.name] = {"seconds": dt, "token_state_share": res.token_state_share,
                                "preemptions": res.preemptions, "steps": res.usage.steps,
                                "mean_batch": res.mean_batch, "peak_batch": res.peak_batch}
        print(f"  {pol.name:15s} {dt:5.2f} s  token states {100 * res.token_state_share:5.1f}%  "
              f"peak batch {res.peak_batch:3d}  preemptions {res.preemptions:,}")

    memory = {}
    for name in ("paged-16", "orca-oracle"):
        pol = parse_policies(name)[0]
        for num in (10_000, args.requests):
            w = load_workload("sharegpt", num_requests=num, max_model_len=MAX_MODEL_LEN, seed=0)
            tracemalloc.start()
            res = simulate(w, pol, POOL_TOKENS, max_model_len=MAX_MODEL_LEN)
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            memory[f"{name}/{num}"] = {"requests": num, "peak_bytes": peak, "peak_batch": res.peak_batch}
            print(f"  memory {name:12s} {num:7,} requests: peak {peak / 1024:8.1f} KiB beyond the workload "
                  f"(peak batch {res.peak_batch}; per-request times are kept: 3 floats each)")

    stream = {}
    if args.stream_rows:
        big = tmp / "big.csv"
        t0 = time.perf_counter()
        write_trace(big, args.stream_rows, seed=1)
        size = big.stat().st_size
        t1 = time.perf_counter()
        tracemalloc.start()
        w = load_workload(str(big), num_requests=None, max_model_len=MAX_MODEL_LEN)
        t2 = time.perf_counter()
        res = simulate(w.with_arrivals(Poisson(2.0, 0)), parse_policies("paged-16")[0], POOL_TOKENS,
                       max_model_len=MAX_MODEL_LEN)
        t3 = time.perf_counter()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        stream = {"rows": args.stream_rows, "file_bytes": size, "write_s": t1 - t0, "check_s": t2 - t1,
                  "simulate_s": t3 - t2, "peak_bytes": peak, "completed": res.completed}
        print(f"  streamed trace: {args.stream_rows:,} rows ({size / 1e6:.1f} MB) checked in {t2 - t1:.1f} s, "
              f"paged-16 at Poisson 2/s in {t3 - t2:.1f} s; tracemalloc peak {peak / 2**20:.1f} MiB "
              f"({peak / args.stream_rows:.1f} B per row: the per-request times, not the rows)")
        big.unlink()
    trace.unlink()
    tmp.rmdir()

    path = write_json(
        {
            "config": {"model": spec.name, "pool_tokens": POOL_TOKENS, "max_model_len": MAX_MODEL_LEN,
                       "workload": "sharegpt fit written as a kvplan CSV trace", "requests": args.requests,
                       "seed": 0, "policies": [p.name for p in policies], "cpus": cpus, "trace_check_s": load_s,
                       "simulator": _native.mode},
            "all_policies": timing,
            "requests_per_second": rate,
            "poisson_2_per_s_s": poisson_s,
            "per_policy": per_policy,
            "memory": memory,
            "stream": stream,
        },
        args.out,
        "fragment_speed.json",
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
