"""How long `kvplan recommend` takes on typical searches (target: under 2 s).

    python benchmarks/recommend_speed.py [--repeat 5] [--cli-repeat 3] [--out FILE]

Each search runs over the four default GPU types (h100, h200, b200, mi300x), up to 16
GPUs, the model's weight format plus fp8, KV auto and fp8. Timed two ways: the library
call in a warm process (``kvplan.recommend.recommend``, model loaded, caches cleared
before every repeat so each run plans from scratch; wall clock, and the process's CPU
time, which other jobs on a shared machine do not inflate), and a cold ``kvplan recommend ...
--json`` process (interpreter start-up and every import included). Prints the figures and
writes JSON to benchmarks/results/recommend_speed.json.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import summarize, time_calls, write_json  # noqa: E402

SEARCHES = (
    # (label, model, ctx, users, extra library keywords, extra CLI flags)
    ("8B, 8k x 64 users, TPOT 30 ms", "llama3.1-8b", 8192, 64, {"tpot_s": 0.03}, ["--tpot-ms", "30"]),
    ("70B, 32k x 64 users, TPOT 50 ms, TTFT 2 s", "llama3.1-70b", 32768, 64, {"tpot_s": 0.05, "ttft_s": 2.0},
     ["--tpot-ms", "50", "--ttft-s", "2"]),
    ("DeepSeek-V3, 4k + 1k out x 256 users", "deepseek-v3", 4096, 256, {"output_tokens": 1024},
     ["--output", "1024"]),
    ("Mixtral-8x7B, 8k x 128 users, TPOT 40 ms", "mixtral-8x7b", 8192, 128, {"tpot_s": 0.04},
     ["--tpot-ms", "40"]),
)
GPUS = ["h100", "h200", "b200", "mi300x"]


def _clear_caches() -> None:
    from kvplan import layer_sums, paging, speed, weights
    from kvplan.engines import sglang, vllm

    weights._MEMO.clear()
    speed._MATRIX_MEMO.clear()
    layer_sums._STAGE_TERMS.clear()
    for book in (vllm.BOOK, sglang.BOOK, paging.BOOK):  # each rule answer (RuleBook.rule) is looked up again
        book._answers.clear()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--cli-repeat", type=int, default=3)
    ap.add_argument("--out")
    args = ap.parse_args()
    from kvplan.loader import load_model
    from kvplan.recommend import recommend

    results = []
    for label, model, ctx, users, kw, flags in SEARCHES:
        spec = load_model(model)
        rec = recommend(spec, ctx=ctx, users=users, gpus=GPUS, **kw)

        def run(spec=spec, ctx=ctx, users=users, kw=kw):
            _clear_caches()
            recommend(spec, ctx=ctx, users=users, gpus=GPUS, **kw)

        import time

        cpu0 = time.process_time()
        lib = time_calls(run, repeat=args.repeat)
        lib["cpu_s_per_run"] = (time.process_time() - cpu0) / (args.repeat + 1)  # + the warm-up run
        argv = [sys.executable, "-m", "kvplan.cli.main", "recommend", model, "--ctx", str(ctx), "--users",
                str(users), "--gpus", ",".join(GPUS), "--json", *flags]
        samples = []
        for _ in range(args.cli_repeat):
            t0 = time.perf_counter()
            proc = subprocess.run(argv, capture_output=True, text=True)
            samples.append(time.perf_counter() - t0)
            if proc.returncode not in (0, 1):
                raise SystemExit(f"{label}: exit {proc.returncode}: {proc.stderr.strip()}")
        cold = summarize(samples)
        results.append({"search": label, "model": model, "ctx": ctx, "users": users, "layouts_tried": rec.layouts_tried,
                        "options": len(rec.options), "rejections": len(rec.rejections), "library": lib,
                        "cli_cold": cold})
        print(f"{label}: {rec.layouts_tried} layouts, {len(rec.options)} families qualify; library median "
              f"{lib['median_s']:.3f} s (min {lib['min_s']:.3f}, CPU {lib['cpu_s_per_run']:.3f} s), cold CLI median "
              f"{cold['median_s']:.2f} s (min {cold['min_s']:.2f})")
    path = write_json({"target_s": 2.0, "gpus": GPUS, "max_gpus": 16, "searches": results}, args.out,
                      "recommend_speed.json")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
