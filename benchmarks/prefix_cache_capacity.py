"""Prefix-cache hit rate against cache capacity on a Mooncake trace (the analogue of Figure 9
of the Mooncake paper, Qin et al., FAST'25), through kvplan's simulator.

Each request runs alone (``max_seqs`` 1, all queued at time 0: only the order of requests
matters, as in the paper's Figure 9, "We consider only the sequence of requests and do not
account for factors such as prefill computation time"), on a GPU pool of C tokens of
Llama-3.1-70B KV (327,680 B per token: the paper's "320 KB", §5.3.1) with paged-16-share
(16-token blocks, vLLM V1's free queue). The pool minus the running request is the cache. The
unbounded figure ("max") is computed from the trace alone: a request reuses the prefix
named by the leading hash ids seen before (its last token always recomputed).

Prints one line per capacity and writes JSON (benchmarks/results/prefix_cache_capacity.json)
and a PNG (docs/img/prefix_cache_capacity.png).

    python benchmarks/prefix_cache_capacity.py TRACE.jsonl [--capacities 131072,1M,3M,...]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from _common import write_json

DEFAULT = "131072,512k,1M,3M,10M,30M"


def unbounded(path: Path, block: int = 16) -> tuple[int, int, list[tuple[float, int, int]]]:
    """(hit tokens, prompt tokens, per request (time s, hit, prompt)) with an unbounded cache."""
    seen: set[int] = set()
    hits = total = 0
    per = []
    with open(path) as fh:
        for line in fh:
            r = json.loads(line)
            ids, p = r["hash_ids"], r["input_length"]
            cap = (p - 1) // block * block
            k = next((i for i, x in enumerate(ids) if x not in seen), len(ids))
            h = cap if k == len(ids) else min(k * 512, cap)
            hits += h
            total += p
            per.append((r["timestamp"] / 1000, h, p))
            seen.update(ids)
    return hits, total, per


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("trace")
    ap.add_argument("--capacities", default=DEFAULT)
    ap.add_argument("--model", default="llama3.1-70b")
    ap.add_argument("--out", default=None)
    ap.add_argument("--plot", default=str(Path(__file__).resolve().parents[1] / "docs" / "img"
                                          / "prefix_cache_capacity.png"))
    args = ap.parse_args()

    from kvplan.fragment import load_workload, parse_policy, simulate
    from kvplan.units import parse_tokens

    path = Path(args.trace)
    hits, total, per = unbounded(path)
    print(f"{path.name}: {len(per):,} requests, {total:,} prompt tokens; unbounded cache: {hits:,} tokens hit = "
          f"{100 * hits / total:.1f}%")
    windows = []
    for lo in range(0, 3600, 600):
        sel = [(h, p) for t, h, p in per if lo <= t < lo + 600]
        if sel:
            share = sum(h for h, _ in sel) / sum(p for _, p in sel)
            windows.append({"from_s": lo, "to_s": lo + 600, "requests": len(sel), "hit_rate": share})
            print(f"  minutes {lo // 60:2d}-{lo // 60 + 10:2d}: {len(sel):5,} requests, unbounded hit rate "
                  f"{100 * share:.1f}%")
    late = [(h, p) for t, h, p in per if t >= 1800]
    late_rate = sum(h for h, _ in late) / sum(p for _, p in late)
    print(f"  second half hour: {100 * late_rate:.1f}%")

    wl = load_workload(str(path), num_requests=None, max_model_len=131_072)
    from kvplan.fragment.arrivals import AllAtOnce

    wl = wl.with_arrivals(AllAtOnce())
    rows = []
    for text in args.capacities.split(","):
        cap = parse_tokens(text.strip(), "--capacities")
        t0 = time.perf_counter()
        res = simulate(wl, parse_policy("paged-16-share"), cap, max_model_len=131_072, max_seqs=1)
        dt = time.perf_counter() - t0
        c = res.cache
        rows.append({"capacity_tokens": cap, "hit_rate": c.hit_rate, "hit_tokens": c.hit_tokens,
                     "of_unbounded": c.hit_tokens / hits, "evicted_blocks": c.evicted_blocks, "seconds": dt})
        print(f"  capacity {cap:>11,} tokens: hit rate {100 * c.hit_rate:5.1f}% = {100 * c.hit_tokens / hits:5.1f}% of "
              f"the unbounded cache's ({dt:.0f} s)")

    from kvplan.fragment.plot import plot_cache_capacity

    plot_cache_capacity(rows, hits / total, path.name, args.plot)
    out = write_json({"trace": str(path), "requests": len(per), "prompt_tokens": total, "unbounded_hit_tokens": hits,
                      "unbounded_hit_rate": hits / total, "windows": windows, "second_half_hit_rate": late_rate,
                      "capacities": rows}, args.out, "prefix_cache_capacity.json")
    print(f"wrote {out} and {args.plot}")


if __name__ == "__main__":
    main()
