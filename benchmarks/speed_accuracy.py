"""kvplan's speed model against published measurements: prints a markdown table, writes JSON.

    python benchmarks/speed_accuracy.py [--out FILE]

Measurements and their sources: benchmarks/speed_reference.py. Rows marked "fit" were used
to fit the shipped factors (benchmarks/fit_speed.py) and match by construction; the others
are out-of-sample. Error = (predicted - published) / published.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import write_json  # noqa: E402
from speed_reference import MEASUREMENTS, predict  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", help="JSON output (default benchmarks/results/speed_accuracy.json)")
    args = ap.parse_args()
    rows = []
    print("| id | model | GPU x n | engine | load | metric | published ms | kvplan ms | error | |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for m in MEASUREMENTS:
        try:
            pred = predict(m)
            err = (pred - m.value_ms) / m.value_ms
            note = "fit" if m.fit else ""
        except Exception as e:  # noqa: BLE001 - a refusal is a result too
            pred, err, note = None, None, f"refused: {e}"
        rows.append({"id": m.id, "model": m.model, "gpu": m.gpu, "tp": m.tp, "dp": m.dp, "engine": m.engine,
                     "weights": m.weights, "concurrency": m.concurrency, "prompt": m.prompt, "output": m.output,
                     "metric": m.metric, "published_ms": m.value_ms, "predicted_ms": pred, "error": err,
                     "fit": m.fit, "source": m.source, "note": m.note})
        n = m.tp * m.dp
        load = f"{m.concurrency} x {m.prompt}/{m.output}"
        shown = f"{pred:.1f}" if pred is not None else "-"
        e = f"{100 * err:+.1f}%" if err is not None else "-"
        print(f"| {m.id} | {m.model} | {m.gpu} x {n} | {m.engine} | {load} | {m.metric} | {m.value_ms:.1f} | "
              f"{shown} | {e} | {note} |")
    checked = [r for r in rows if r["error"] is not None and not r["fit"]]
    within = [r for r in checked if abs(r["error"]) <= 0.20]
    low = [r for r in checked if r["concurrency"] <= 32]
    low_within = [r for r in low if abs(r["error"]) <= 0.20]
    print(f"\nout of sample: {len(within)}/{len(checked)} within 20%; at 1-32 users: "
          f"{len(low_within)}/{len(low)} within 20%")
    path = write_json({"rows": rows, "out_of_sample": len(checked), "within_20pct": len(within),
                       "low_concurrency": len(low), "low_within_20pct": len(low_within)}, args.out,
                      "speed_accuracy.json")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
