"""kvplan's prefill model against published prefill bursts: prints a markdown table, writes JSON.

    python benchmarks/prefill_accuracy.py [--out FILE]

Rows, their sources and the rule that chose them: benchmarks/prefill_reference.py. For each
row kvplan's time for the burst: ``kvplan.speed.prefill_time(setup, prompt, prompts=N)``, the
N prompts arriving together on an idle replica, chunked by the engine's own
max_num_batched_tokens (kvplan derives it for the release), with the shipped efficiency
factors. The outputs are 0.3-5% of the tokens (column "gen/in"), so the headline figure is
the prefill alone. Error = (kvplan - measured) / measured; ratio = measured / kvplan. The
summary splits dense from MoE models (MoE: some layer of the spec routes to experts).

A second figure, "+decode", adds the decode steps the outputs need beyond those the prefill
steps already carry (``decode_only_steps``), each a ``kvplan.speed.decode_step`` of the
requests the KV pool holds at once (kvplan's pool for the deployment, the memory's answer).
Where the pool holds few requests against the burst (the single-GPU Qwen3-32B rows: 7-9 of
4.2k tokens), the run waits on decode steps between admissions: this adds 3-166% to the 4K / 2K
rows and 1-16% to the 32K rows (mostly the last requests' output tail). A crude sum:
a step that computes a prompt also carries decodes, and every decode step is priced at the
mean context.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import write_json  # noqa: E402

from kvplan.errors import KvplanError  # noqa: E402  (fails here, not on every row, without kvplan)
from prefill_reference import BLOCKS, BURSTS, load, predict  # noqa: E402


def is_moe(spec) -> bool:
    return any(spec.is_moe_layer(i) for i in range(spec.num_layers))


def prefill_steps(budget: int | None, prompt: int, n: int) -> int:
    """Steps ``prefill_time`` splits n prompts into: whole prompts per step while they fit the
    budget, else each prompt chunked."""
    if budget is None:
        return 1
    if prompt <= budget:
        return -(-n // (budget // prompt))
    return n * -(-prompt // budget)


def decode_only_steps(held: int, generated: int, output: int, steps_with_prefill: int) -> int:
    """Steps that run decodes alone: at most ``held`` requests run at once, so the outputs take at
    least generated / held steps, of which ``steps_with_prefill`` also compute prompts; and the
    last prompt's output - 1 decodes come after the last prefill step in any case."""
    return max(output - 1, -(-generated // held) - steps_with_prefill)


def with_decode(b, s, prefill_s: float) -> tuple[float | None, int, int | None]:
    """(prefill + decode-only steps in seconds, requests held, decode-only steps); None where the
    pool holds no whole request of the mean length."""
    from kvplan.speed import decode_step

    pool = s.pool
    output = round(b.generated_tokens / b.requests)
    held = int(pool.memory_requests(b.prompt + output))  # the memory's answer, the start-up check aside
    held = min(held, b.requests, pool.settings.max_num_seqs or held)
    if held < 1:
        return None, held, None
    steps = decode_only_steps(held, b.generated_tokens, output,
                              prefill_steps(pool.settings.max_num_batched_tokens, b.prompt, b.requests))
    return prefill_s + steps * decode_step(s, held, b.prompt + output // 2).total_s, held, steps


def row(b) -> dict:
    spec = load(b)
    out = {"id": b.id, "page": b.page, "commit": b.commit, "block": b.block, "model": b.model, "hf_model": b.hf_model,
           "kind": "moe" if is_moe(spec) else "dense", "gpu": b.gpu, "tp": b.tp, "engine": b.engine,
           "weights": b.weights, "serve": b.serve, "requests": b.requests, "prompt": b.prompt,
           "input_tokens": b.input_tokens, "generated_tokens": b.generated_tokens,
           "generated_share": b.generated_tokens / b.input_tokens, "measured_s": b.duration_s,
           "median_ttft_ms": b.median_ttft_ms, "source": b.source, "note": b.note}
    try:
        t, s = predict(b)
    except (KvplanError, ValueError) as e:  # a refusal is a result too; a missing kvplan or a bug is not
        return {**out, "kvplan_s": None, "error": None, "ratio": None, "refused": str(e)}
    pool = s.pool
    per_request = b.prompt + round(b.generated_tokens / b.requests)
    total, held, steps = with_decode(b, s, t.total_s)
    out.update({
        "kvplan_with_decode_s": total, "held_by_memory": held, "decode_only_steps": steps,
        "error_with_decode": None if total is None else (total - b.duration_s) / b.duration_s,
        "ratio_with_decode": None if total is None else b.duration_s / total,
        "kvplan_s": t.total_s, "error": (t.total_s - b.duration_s) / b.duration_s, "ratio": b.duration_s / t.total_s,
        "bound": t.bound, "parts_s": {"weights": t.weights_s, "kv": t.kv_s, "compute": t.compute_s,
                                      "comm": t.comm_s, "overhead": t.overhead_s},
        "max_num_batched_tokens": pool.settings.max_num_batched_tokens, "max_num_seqs": pool.settings.max_num_seqs,
        "kv_cache_tokens": pool.kv_cache_tokens, "requests_held": int(pool.max_requests(per_request, b.prompt)),
        "start_bound": pool.start_bound(), "refused": None})
    return out


def summary(rows: list[dict], field: str = "ratio") -> dict:
    """Measured / kvplan (``field``) per kind, per kind and block, and per kind and GPU: count,
    median, min, max."""
    groups: dict[str, list[float]] = {}
    for kind in ("dense", "moe"):
        groups[kind] = []
        for block in BLOCKS:
            groups[f"{kind} {block.split()[1]}"] = []
        for gpu in ("a100-80gb", "h100-sxm", "h200"):
            groups[f"{kind} {gpu}"] = []
    for r in rows:
        if r.get(field) is None:
            continue
        for name in (r["kind"], f"{r['kind']} {r['block'].split()[1]}", f"{r['kind']} {r['gpu']}"):
            groups[name].append(r[field])
    return {name: ({"n": len(rs), "median": statistics.median(rs), "min": min(rs), "max": max(rs)} if rs
                   else {"n": 0}) for name, rs in groups.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", help="JSON output (default benchmarks/results/prefill_accuracy.json)")
    args = ap.parse_args()
    rows = [row(b) for b in BURSTS]
    print("| id | kind | GPU x tp | engine | burst | budget | held | gen/in | measured s | kvplan s | bound | error "
          "| measured/kvplan | +decode s | measured/(+decode) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        burst = f"{r['requests']} x {r['prompt']}"
        dec = "-" if r.get("kvplan_with_decode_s") is None else f"{r['kvplan_with_decode_s']:.1f}"
        dec_r = "-" if r.get("ratio_with_decode") is None else f"{r['ratio_with_decode']:.2f}"
        share = f"{100 * r['generated_share']:.1f}%"
        if r["refused"]:
            print(f"| {r['id']} | {r['kind']} | {r['gpu']} x {r['tp']} | {r['engine']} | {burst} | | | {share} | "
                  f"{r['measured_s']:.2f} | refused: {r['refused']} | | | | | |")
            continue
        print(f"| {r['id']} | {r['kind']} | {r['gpu']} x {r['tp']} | {r['engine']} | {burst} | "
              f"{r['max_num_batched_tokens']} | {r['held_by_memory']} | {share} | {r['measured_s']:.2f} | "
              f"{r['kvplan_s']:.1f} | {r['bound']} | {100 * r['error']:+.1f}% | {r['ratio']:.2f} | {dec} | {dec_r} |")
    s, sd = summary(rows), summary(rows, "ratio_with_decode")
    print("\nmeasured / kvplan: prefill only, and with the decode-only steps")
    print("| rows | n | median | min | max | n (+decode) | median | min | max |")
    print("|---|---|---|---|---|---|---|---|---|")
    for key, v in s.items():
        d = sd[key]
        if v["n"] or d["n"]:
            dd = f"{d['n']} | {d['median']:.2f} | {d['min']:.2f} | {d['max']:.2f}" if d["n"] else "0 | | |"
            vv = f"{v['n']} | {v['median']:.2f} | {v['min']:.2f} | {v['max']:.2f}" if v["n"] else "0 | | |"
            print(f"| {key} | {vv} | {dd} |")
    refused = [r["id"] for r in rows if r["refused"]]
    print(f"\nrefused: {len(refused)}" + (f" ({', '.join(refused)})" if refused else ""))
    path = write_json({"rows": rows, "summary": s, "summary_with_decode": sd, "refused": refused}, args.out,
                      "prefill_accuracy.json")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
