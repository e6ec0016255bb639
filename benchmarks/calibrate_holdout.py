"""Held-out error of `kvplan calibrate` on the published TPOT rows (docs/speed.md, issue 13).

    python benchmarks/calibrate_holdout.py [--out FILE]

For each deployment with published TPOT at several loads (benchmarks/speed_reference.py:
one model on one GPU type under one engine release and layout, from one source), the
published rows stand in for the user's own benchmark runs: kvplan.calibrate.fit is given
some of them and the others are scored, with the shipped factors and with the fitted ones.
Two splits, fixed before scoring:

- users: fit on the runs at 4, 16 and 64 users (the cookbook's 1, 16 and 64 or 100), score
  every other concurrency of the same lengths (interpolation in load: 8 and 32 users);
- lengths: fit on every run of the shortest line (1k in / 1k out, or the cookbook's chat),
  score the other lines (8k/1k, 1k/8k: other prompt and output lengths).

Rows marked fit=True (the shipped factors' own fit) may be given to the calibration but
are not scored; rows kvplan's pool refuses are left out, as in speed_accuracy.py. Prints a
table per split and a summary, writes JSON (benchmarks/results/calibrate_holdout.json).
"""

from __future__ import annotations

import argparse
import collections
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import write_json  # noqa: E402
from speed_reference import MEASUREMENTS, request  # noqa: E402

from kvplan.calibrate import BenchRun, fit, tpot_ms  # noqa: E402
from kvplan.capacity import plan  # noqa: E402
from kvplan.errors import BadInputError  # noqa: E402

FIT_USERS = {4, 16, 64, 1, 100}


def _deployment(m) -> tuple:
    return (m.id.split("-")[0], m.model, m.gpu, m.engine, m.tp, m.dp, m.weights, m.kv, m.memory_fraction,
            m.fuse_allreduce_rms)


def _line(m) -> tuple:
    return (round(m.prompt, -3), round(m.output, -3)) if m.id.startswith("imax") else m.id.rsplit("-", 1)[0]


def _score(pool, eff, m, fuse) -> float:
    return (tpot_ms(pool, eff, BenchRun(m.id, m.concurrency, m.prompt, m.output, m.value_ms), fuse) - m.value_ms) \
        / m.value_ms


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", help="JSON output (default benchmarks/results/calibrate_holdout.json)")
    args = ap.parse_args()
    groups = collections.defaultdict(list)
    for m in MEASUREMENTS:
        if m.metric == "tpot":
            groups[_deployment(m)].append(m)
    result = {"splits": {}}
    for split in ("users", "lengths"):
        rows, fits = [], []
        print(f"\n## split: {split}\n")
        print("| deployment | fitted on | scored | within 10% shipped | within 10% calibrated | calibrated errors |")
        print("|---|---|---|---|---|---|")
        for key, ms in groups.items():
            try:
                pool = plan(request(ms[0]))
            except BadInputError:
                continue  # kvplan refuses the deployment itself (speed_accuracy.py shows the line)
            fuse = ms[0].fuse_allreduce_rms
            usable = []
            for m in ms:
                try:
                    _score(pool, None, m, fuse)
                    usable.append(m)
                except BadInputError:
                    pass  # the pool refuses it, as speed_accuracy.py refuses it
            if split == "users":
                given = [m for m in usable if m.concurrency in FIT_USERS]
            else:
                lines = collections.defaultdict(list)
                for m in usable:
                    lines[_line(m)].append(m)
                if len(lines) < 2:
                    continue
                # the shortest line: the least mean prompt + output over its runs
                first = min(lines, key=lambda ln: sum(m.prompt + m.output for m in lines[ln]) / len(lines[ln]))
                given = lines[first]
            scored = [m for m in usable if m not in given and not m.fit]
            if not scored or len({m.concurrency for m in given}) < 2:
                continue
            f = fit(pool, [BenchRun(m.id, m.concurrency, m.prompt, m.output, m.value_ms) for m in given], None, fuse)
            name = f"{key[1]} {key[2]} x {key[4] * key[5]} {key[3]} ({key[0]})"
            errs = []
            for m in scored:
                es, ec = _score(pool, f.shipped, m, fuse), _score(pool, f.efficiency, m, fuse)
                errs.append(ec)
                rows.append({"id": m.id, "deployment": name, "users": m.concurrency, "prompt": m.prompt,
                             "output": m.output, "published_ms": m.value_ms, "shipped_error": es,
                             "calibrated_error": ec, "fit_refused": bool(f.refusal())})
            fits.append({"deployment": name, "fitted_on": [m.id for m in given], "figures": f.figures(),
                         "fit_errors": f.errors(), "iterations": f.iterations, "converged": f.converged,
                         "refused": f.refusal()})
            n_s = sum(abs(r["shipped_error"]) <= 0.10 for r in rows[-len(scored):])
            n_c = sum(abs(e) <= 0.10 for e in errs)
            print(f"| {name} | {len(given)} runs{' (refused)' if f.refusal() else ''} | {len(scored)} | {n_s} | {n_c} "
                  f"| {' '.join(f'{100 * e:+.0f}%' for e in errs)} |")
        # `kvplan calibrate` refuses a fit that misses its own runs by more than MAX_FIT_ERROR: a user
        # of those runs gets no file, so their rows count as refused, not scored
        refused = [r for r in rows if r["fit_refused"]]
        rows_all, rows = rows, [r for r in rows if not r["fit_refused"]]
        low = [r for r in rows if r["users"] <= 32]
        summary = {k: {f"within_{p}pct": sum(abs(r[k]) <= p / 100 for r in rows) for p in (10, 20)}
                   for k in ("shipped_error", "calibrated_error")}
        summary["refused_rows"] = len(refused)
        summary["refused_fits"] = sum(1 for f in fits if f["refused"])
        summary["scored"] = len(rows)
        summary["scored_1_32_users"] = len(low)
        summary["calibrated_within_10pct_1_32_users"] = sum(abs(r["calibrated_error"]) <= 0.10 for r in low)
        summary["shipped_within_10pct_1_32_users"] = sum(abs(r["shipped_error"]) <= 0.10 for r in low)
        print(f"\n{split}: {summary['refused_fits']} fits refused (own runs missed by more than 10%: "
              f"{len(refused)} rows not scored); {len(rows)} held-out rows scored; within 10%: shipped {summary['shipped_error']['within_10pct']}, "
              f"calibrated {summary['calibrated_error']['within_10pct']}; within 20%: shipped "
              f"{summary['shipped_error']['within_20pct']}, calibrated {summary['calibrated_error']['within_20pct']}; "
              f"at 1-32 users within 10%: shipped {summary['shipped_within_10pct_1_32_users']}/{len(low)}, calibrated "
              f"{summary['calibrated_within_10pct_1_32_users']}/{len(low)}")
        result["splits"][split] = {"summary": summary, "rows": rows_all, "fits": fits}
    path = write_json(result, args.out, "calibrate_holdout.json")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
