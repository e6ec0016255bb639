"""kvplan's speed model against published measurements: prints a markdown table, writes JSON.

    python benchmarks/speed_accuracy.py [--out FILE]
    python benchmarks/speed_accuracy.py --calibration docs/measurements/h200-measure.json

With --calibration (a `kvplan measure` report or calibration JSON, as `kvplan speed
--calibration` takes), only the rows on that file's GPU, each predicted with the shipped
factors and with the calibrated ones, and how many fall within 10% and 20% either way.

Measurements and their sources: benchmarks/speed_reference.py. Rows marked "fit" were used
to fit the shipped factors (benchmarks/fit_speed.py) and match by construction; the others
are out-of-sample. Error = (predicted - published) / published.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import write_json  # noqa: E402

from kvplan.errors import KvplanError  # noqa: E402  (fails here, not on every row, without kvplan)
from speed_reference import MEASUREMENTS, predict  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", help="JSON output (default benchmarks/results/speed_accuracy.json)")
    ap.add_argument("--calibration", help="compare the rows on this measure report's (or calibration file's) GPU "
                                          "with and without it")
    args = ap.parse_args()
    if args.calibration:
        calibrated(args.calibration, args.out)
        return
    rows = []
    print("| id | model | GPU x n | engine | load | metric | published ms | kvplan ms | error | |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for m in MEASUREMENTS:
        try:
            pred = predict(m)
            err = (pred - m.value_ms) / m.value_ms
            note = "fit" if m.fit else ("no factors: not counted" if m.unfactored else "")
        except (KvplanError, ValueError) as e:  # a refusal is a result too; a missing kvplan or a bug is not
            pred, err, note = None, None, f"refused: {e}"
        rows.append({"id": m.id, "model": m.model, "gpu": m.gpu, "tp": m.tp, "dp": m.dp, "engine": m.engine,
                     "weights": m.weights, "concurrency": m.concurrency, "prompt": m.prompt, "output": m.output,
                     "metric": m.metric, "published_ms": m.value_ms, "predicted_ms": pred, "error": err,
                     "fit": m.fit, "unfactored": m.unfactored, "source": m.source, "note": m.note})
        n = m.tp * m.dp
        load = f"{m.concurrency} x {m.prompt}/{m.output}"
        shown = f"{pred:.1f}" if pred is not None else "-"
        e = f"{100 * err:+.1f}%" if err is not None else "-"
        print(f"| {m.id} | {m.model} | {m.gpu} x {n} | {m.engine} | {load} | {m.metric} | {m.value_ms:.1f} | "
              f"{shown} | {e} | {note} |")
    counted = [r for r in rows if r["error"] is not None and not r["fit"] and not r["unfactored"]]
    checked = [r for r in counted if r["metric"] != "ttft"]
    within = [r for r in checked if abs(r["error"]) <= 0.20]
    low = [r for r in checked if r["concurrency"] <= 32]
    low_within = [r for r in low if abs(r["error"]) <= 0.20]
    print(f"\nout of sample (TPOT and end-to-end): {len(within)}/{len(checked)} within 20%; at 1-32 users: "
          f"{len(low_within)}/{len(low)} within 20%")
    ttft = ttft_summary(counted)
    itl = itl_summary(rows)
    pairs = by_deployment(checked)
    met = [p for p in pairs if p["low_and_high"] and p["all_low_within_20pct"]]
    print(f"\ndeployments measured at low (1-8) and high (25+) users: "
          f"{sum(p['low_and_high'] for p in pairs)}; with every point at 1-32 users within 20%: {len(met)}")
    print("| model | GPU x n | engine | users | points at 1-32 users | within 20% | within 10% | worst at 1-32 |")
    print("|---|---|---|---|---|---|---|---|")
    for p in pairs:
        worst = f"{100 * p['worst_low_error']:+.1f}%" if p["worst_low_error"] is not None else "-"
        print(f"| {p['model']} | {p['gpu']} x {p['gpus']} | {p['engine']} | {p['users']} | {p['low_points']} | "
              f"{p['low_within_20pct']} | {p['low_within_10pct']} | {worst} |")
    path = write_json({"rows": rows, "out_of_sample": len(checked), "within_20pct": len(within),
                       "low_concurrency": len(low), "low_within_20pct": len(low_within),
                       "deployments": pairs, "deployments_low_and_high_all_within_20pct": len(met), "ttft": ttft, "decode_step_vs_itl": itl},
                      args.out,
                      "speed_accuracy.json")
    print(f"wrote {path}")


def ttft_summary(counted: list[dict]) -> dict:
    """The TTFT rows: how many fall within 20% of kvplan's idle-replica prefill, and, where a
    deployment was measured at a ~1k and a ~8k prompt, the extra time the longer prompt took
    (published and kvplan), which leaves out what both prompts pay alike (request handling,
    tokenization, a wait for the step in flight)."""
    rows = [r for r in counted if r["metric"] == "ttft"]
    within = [r for r in rows if abs(r["error"]) <= 0.20]
    under = sorted(r["predicted_ms"] / r["published_ms"] for r in rows)
    print(f"\nTTFT (published at 1-8 users, client-measured; kvplan: one prompt on an idle replica): "
          f"{len(within)}/{len(rows)} within 20%; kvplan / published from {under[0]:.2f} to {under[-1]:.2f}, "
          f"median {under[len(under) // 2]:.2f}")
    groups: dict[tuple, dict[int, dict]] = {}
    for r in rows:
        if r["id"].startswith("imax-") and ("1k1k" in r["id"] or "8k1k" in r["id"]):
            groups.setdefault((r["model"], r["gpu"], r["tp"], r["dp"], r["engine"], r["weights"]), {})[
                r["prompt"]] = r
    longer = []
    print("| model | GPU x n | engine | TTFT ~1k published / kvplan ms | TTFT ~8k published / kvplan ms | "
          "8k - 1k published ms | kvplan ms | published / kvplan |")
    print("|---|---|---|---|---|---|---|---|")
    for (model, gpu, tp, dp, engine, _), by_prompt in groups.items():
        if len(by_prompt) != 2:
            continue
        short, long_ = (by_prompt[k] for k in sorted(by_prompt))
        dp_ms = long_["published_ms"] - short["published_ms"]
        dk_ms = long_["predicted_ms"] - short["predicted_ms"]
        longer.append({"model": model, "gpu": gpu, "gpus": tp * dp, "engine": engine, "short_prompt": short["prompt"],
                       "long_prompt": long_["prompt"], "published_extra_ms": dp_ms, "kvplan_extra_ms": dk_ms,
                       "ratio": dp_ms / dk_ms})
        print(f"| {model} | {gpu} x {tp * dp} | {engine} | {short['published_ms']:.1f} / {short['predicted_ms']:.1f} | "
              f"{long_['published_ms']:.1f} / {long_['predicted_ms']:.1f} | {dp_ms:.1f} | {dk_ms:.1f} | "
              f"{dp_ms / dk_ms:.2f} |")
    ratios = sorted(g["ratio"] for g in longer)
    print(f"longer prompt, published extra time / kvplan's: {ratios[0]:.2f} to {ratios[-1]:.2f}, median "
          f"{statistics.median(ratios):.2f} over {len(ratios)} deployments (kvplan.speed.MOE_PREFILL_MEASURED)")
    return {"rows": len(rows), "within_20pct": len(within), "kvplan_over_published_min": under[0],
            "kvplan_over_published_median": under[len(under) // 2], "kvplan_over_published_max": under[-1],
            "longer_prompt": longer}


def itl_summary(rows: list[dict]) -> list[dict]:
    """kvplan's plain decode step against the InferenceMAX vLLM rows' median ITL (a step without a
    prompt: speed_reference.decode_itl_ms), by GPU and users: where TPOT's error comes from the decode
    step itself and where from the steps that compute prompts (TPOT - ITL, published and kvplan:
    ``rows``' predicted TPOT, None where kvplan refused the row)."""
    from speed_reference import decode_itl_ms

    tpot_ms = {r["id"]: r["predicted_ms"] for r in rows}
    groups: dict[tuple[str, int], list[tuple[float, float, float, float]]] = {}
    for m in MEASUREMENTS:
        if m.metric != "tpot" or m.unfactored or tpot_ms[m.id] is None:
            continue
        got = decode_itl_ms(m)
        if got:
            groups.setdefault((m.gpu, m.concurrency), []).append((got[0], got[1], m.value_ms, tpot_ms[m.id]))
    print("\ndecode step (kvplan, no prompt in the step) against median ITL, InferenceMAX vLLM rows; TPOT - ITL is "
          "what the steps computing prompts add")
    print("| GPU | users | rows | step error: min / median / max | TPOT - ITL published ms (median) | kvplan ms (median) |")
    print("|---|---|---|---|---|---|")
    out = []
    for (gpu, users), rows in sorted(groups.items()):
        errs = sorted((k - p) / p for p, k, _, _ in rows)
        gap_pub = statistics.median(t - p for p, _, t, _ in rows)
        gap_kv = statistics.median(kt - k for _, k, _, kt in rows)
        out.append({"gpu": gpu, "users": users, "rows": len(rows), "step_error_min": errs[0],
                    "step_error_median": statistics.median(errs), "step_error_max": errs[-1],
                    "prompt_share_published_ms": gap_pub, "prompt_share_kvplan_ms": gap_kv})
        print(f"| {gpu} | {users} | {len(rows)} | {100 * errs[0]:+.1f} / {100 * statistics.median(errs):+.1f} / "
              f"{100 * errs[-1]:+.1f}% | {gap_pub:.2f} | {gap_kv:.2f} |")
    return out


def by_deployment(checked: list[dict]) -> list[dict]:
    """Out-of-sample TPOT/e2e rows grouped by deployment (model, GPU, parallelism, engine, weights), in
    table order: the issue's "model x GPU pairs at low and high concurrency", each with its errors at
    1-32 users (low: some point at 1-8 users; high: some point at 25 or more)."""
    groups: dict[tuple, list[dict]] = {}
    for r in checked:
        if r["metric"] == "ttft":
            continue
        groups.setdefault((r["model"], r["gpu"], r["tp"], r["dp"], r["engine"], r["weights"]), []).append(r)
    pairs = []
    for (model, gpu, tp, dp, engine, weights), rs in groups.items():
        users = sorted({r["concurrency"] for r in rs})
        low = [r for r in rs if r["concurrency"] <= 32]
        worst = max((r["error"] for r in low), key=abs, default=None)
        pairs.append({"model": model, "gpu": gpu, "gpus": tp * dp, "tp": tp, "dp": dp, "engine": engine,
                      "weights": weights, "users": ",".join(map(str, users)),
                      "low_and_high": users[0] <= 8 and users[-1] >= 25,
                      "low_points": len(low), "low_within_20pct": sum(abs(r["error"]) <= 0.20 for r in low),
                      "low_within_10pct": sum(abs(r["error"]) <= 0.10 for r in low),
                      "all_low_within_20pct": bool(low) and all(abs(r["error"]) <= 0.20 for r in low),
                      "worst_low_error": worst})
    return pairs


def calibrated(path: str, out: str | None) -> None:
    """The rows measured on the calibration's GPU, shipped factors against calibrated."""
    from kvplan.gpus import get_gpu
    from kvplan.loader import read_json
    from kvplan.speed import load_calibration
    from speed_reference import request

    data = read_json(Path(path))
    device = data.get("device") or {}
    gpu = get_gpu(str(device.get("catalog_gpu") or device.get("name") or data.get("gpu")))
    print(f"rows on {gpu.name}; calibration {path}")
    print("| id | engine | load | published ms | shipped ms | error | calibrated ms | error |")
    print("|---|---|---|---|---|---|---|---|")
    rows = []
    for m in MEASUREMENTS:
        if get_gpu(m.gpu).name != gpu.name or m.metric == "ttft":  # a measure report times decode only
            continue
        try:
            eff = load_calibration(path, gpu, request(m).kv_format.name)
            shipped, cal = predict(m), predict(m, eff)
        except (KvplanError, ValueError) as e:  # a refusal is a result too; a missing kvplan or a bug is not
            print(f"| {m.id} | {m.engine} | | {m.value_ms:.1f} | refused: {e} | | | |")
            continue
        es, ec = (shipped - m.value_ms) / m.value_ms, (cal - m.value_ms) / m.value_ms
        rows.append({"id": m.id, "engine": m.engine, "fit": m.fit, "published_ms": m.value_ms, "shipped_ms": shipped,
                     "shipped_error": es, "calibrated_ms": cal, "calibrated_error": ec,
                     "kv_bandwidth": eff.kv_bandwidth})
        print(f"| {m.id} | {m.engine} | {m.concurrency} x {m.prompt}/{m.output} | {m.value_ms:.1f} | {shipped:.1f} | "
              f"{100 * es:+.1f}% | {cal:.1f} | {100 * ec:+.1f}% |")
    counts = {}
    for key in ("shipped_error", "calibrated_error"):
        counts[key] = {f"within_{p}pct": sum(abs(r[key]) <= p / 100 for r in rows) for p in (10, 20)}
        print(f"{key.split('_')[0]}: {counts[key]['within_10pct']}/{len(rows)} within 10%, "
              f"{counts[key]['within_20pct']}/{len(rows)} within 20%")
    written = write_json({"gpu": gpu.name, "calibration": path, "rows": rows, "counts": counts}, out,
                         "speed_accuracy_calibrated.json")
    print(f"wrote {written}")


if __name__ == "__main__":
    main()
