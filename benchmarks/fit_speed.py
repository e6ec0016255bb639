"""Fit the speed model's fitted factors to the measurements marked ``fit=True``.

    python benchmarks/fit_speed.py [--out FILE]

Five figures in kvplan/data/efficiency.yaml are fitted rather than read from a source:
weights_bandwidth, matrix_overhead_us, layer_overhead_us, step_overhead_us and flops.
They are solved (Newton's method, numeric Jacobian) so that kvplan's predictions equal
five published measurements exactly (benchmarks/speed_reference.py, ``fit=True``):

    vLLM CI on 8xH100, batch 8: Llama-3.1-8B tp1, Llama-3-70B tp4, Mixtral-8x7B tp2
    dstack DeepSeek-R1 on 8xH200, vLLM tp8, 4 concurrent users (3200 in / 800 out)
    NIM Llama-3.3-70B fp8 tp2 on 2xH100: TTFT of a 5000-token prompt

Every other measurement is an out-of-sample check (benchmarks/speed_accuracy.py). The
script prints the solution and writes it (with the residuals) to
benchmarks/results/fit_speed.json; the values in efficiency.yaml are these, rounded.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import write_json  # noqa: E402
from kvplan.calibrate import solve  # noqa: E402  (Gaussian elimination, shared with kvplan calibrate)
from speed_reference import MEASUREMENTS, predict  # noqa: E402

#: GPUs whose weights_bandwidth is fitted on their own (one measurement each), after the
#: shared factors: their software stack reaches a different share of the bandwidth.
GPU_OVERRIDES = ("mi300x",)
NAMES = ("weights_bandwidth", "matrix_overhead_us", "layer_overhead_us", "step_overhead_us", "flops")


def efficiency(x: list[float], base):
    return replace(base, weights_bandwidth=1 / x[0], matrix_overhead_s=x[1] * 1e-6, layer_overhead_s=x[2] * 1e-6,
                   step_overhead_s=x[3] * 1e-6, flops=1 / x[4])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", help="JSON output (default benchmarks/results/fit_speed.json)")
    args = ap.parse_args()
    from kvplan.speed import default_efficiency

    train = [m for m in MEASUREMENTS if m.fit and m.gpu not in GPU_OVERRIDES]
    base = default_efficiency()
    x = [1 / base.weights_bandwidth, base.matrix_overhead_s * 1e6, base.layer_overhead_s * 1e6,
         base.step_overhead_s * 1e6, 1 / base.flops]

    def residuals(v):
        eff = efficiency(v, base)
        return [predict(m, eff) - m.value_ms for m in train]

    for _ in range(20):
        r = residuals(x)
        if max(abs(e) for e in r) < 1e-6:
            break
        jac = [[0.0] * len(x) for _ in train]
        for j in range(len(x)):
            h = 1e-4 * max(abs(x[j]), 1.0)
            xj = x[:]
            xj[j] += h
            rj = residuals(xj)
            for i in range(len(train)):
                jac[i][j] = (rj[i] - r[i]) / h
        step = solve(jac, [-e for e in r])
        x = [a + b for a, b in zip(x, step)]
    values = {"weights_bandwidth": 1 / x[0], "matrix_overhead_us": x[1], "layer_overhead_us": x[2],
              "step_overhead_us": x[3], "flops": 1 / x[4]}
    res = residuals(x)
    print("fitted to:", ", ".join(m.id for m in train))
    for k, v in values.items():
        print(f"  {k:20s} {v:.4f}")
    print("residuals (ms):", ", ".join(f"{e:+.2e}" for e in res))
    # per-GPU weights_bandwidth, with the shared factors just fitted

    shared = efficiency(x, base)
    overrides = {}
    for name in GPU_OVERRIDES:
        (m,) = [m for m in MEASUREMENTS if m.fit and m.gpu == name]
        lo, hi = 0.05, 1.0
        for _ in range(60):
            mid = (lo + hi) / 2
            eff = replace(shared, weights_bandwidth=mid)
            if predict(m, eff) > m.value_ms:  # too slow: more bandwidth
                lo = mid
            else:
                hi = mid
        overrides[name] = {"weights_bandwidth": (lo + hi) / 2, "fitted_to": m.id}
        print(f"  {name} weights_bandwidth {overrides[name]['weights_bandwidth']:.4f} (fitted to {m.id})")
    path = write_json({"fitted": values, "train": [m.id for m in train], "gpu_overrides": overrides,
                       "residuals_ms": dict(zip((m.id for m in train), res))}, args.out, "fit_speed.json")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
