"""Offline what-if for h34-skew (docs/findings/FINDINGS_h34_skew.md): kvplan's decode step for the
InferenceMAX vLLM gpt-oss-120b rows with the routed-expert hit share changed, kvplan untouched.

Run from the worktree root:  python docs/findings/h34_skew/skew_what_if.py
Needs the fetched snapshot of AmanPriyanshu/GPT-OSS-MoE-ExpertFingerprinting (commit 72b368f) at
MIRROR; its data is read there, not copied here.

Three variants of kvplan.speed.expert_hit_fraction (monkeypatched in this process only):
  uniform : kvplan as shipped, 1 - (1 - k/E)^T
  A, B    : uniform x r(T), r = D_skew / D_uniform of gpt-oss-20b's measured per-layer load
            (R4: A at the same T, B at T' = T * 32/128); a labelled sensitivity, not the verdict
  needed  : the constant share that makes kvplan's step equal the measured ITL (diagnostic)
"""
from __future__ import annotations

import json
import subprocess
import sys

sys.path.insert(0, "benchmarks")
import kvplan.speed as speed  # noqa: E402
from speed_reference import MEASUREMENTS, _INFMAX_ITL, timed_setup  # noqa: E402

MIRROR = "/work/.mirror/AmanPriyanshu+GPT-OSS-MoE-ExpertFingerprinting/repo"
RAW = ("Polyglot-or-Not_Fact-Completion", "gpqa_diamond", "tulu3_persona_if")  # the raw/ aggregates in the snapshot
K20, E20 = 4, 32
UNIFORM = speed.expert_hit_fraction


def layer_loads(names=RAW) -> list[list[float]]:
    """Per layer, p_i = share of routed slots to expert i, over generated tokens (think + answer),
    each bucket weighted by sample_count x its mean token count."""
    acc = [[0.0] * E20 for _ in range(24)]
    for name in names:
        blob = subprocess.run(["git", "-C", MIRROR, "show", f"HEAD:raw/{name}.json"], check=True,
                              capture_output=True, text=True).stdout
        for bucket in json.loads(blob).values():
            for sec, ntok in (("think_expert_analytics", bucket.get("num_think_tokens")),
                              ("answer_expert_analytics", bucket.get("num_answer_tokens"))):
                if not ntok or sec not in bucket:
                    continue
                w = bucket["sample_count"] * ntok
                for layer, experts in bucket[sec].items():
                    li = int(layer.split("_")[1])
                    for e, v in experts.items():
                        acc[li][int(e)] += w * v["count_frequency"]
    return [[c / sum(row) for c in row] for row in acc]


def distinct(p_layers, t: float) -> float:
    """Mean over layers of sum_i 1 - (1 - min(1, k p_i))^t (R2)."""
    return sum(sum(1 - (1 - min(1.0, K20 * p)) ** t for p in row) for row in p_layers) / len(p_layers)


def ratio_fn(p_layers):
    return lambda t: 1.0 if t <= 0 else distinct(p_layers, t) / (E20 * (1 - (1 - K20 / E20) ** t))


def step_ms(m, hit) -> float:
    speed.expert_hit_fraction = hit
    try:
        return speed.decode_step(timed_setup(m), m.concurrency, m.prompt + m.output // 2).total_s * 1e3
    finally:
        speed.expert_hit_fraction = UNIFORM


def needed_share(m, itl: float) -> str:
    lo, hi = 0.0, 1.0
    if step_ms(m, lambda k, e, t: 0.0) > itl:
        return "<0"
    if step_ms(m, lambda k, e, t: 1.0) < itl:
        return ">1"
    for _ in range(40):
        mid = (lo + hi) / 2
        if step_ms(m, lambda k, e, t, h=mid: h) < itl:
            lo = mid
        else:
            hi = mid
    return f"{(lo + hi) / 2:.3f}"


def main() -> None:
    pl = layer_loads()
    r = ratio_fn(pl)
    print("gpt-oss-20b measured load (3 raw aggregates pooled): D(T) skewed vs uniform, 32 experts top-4")
    print("   T  D_skew  D_unif  ratio   | per data set ratio: " + ", ".join(RAW))
    per = {n: ratio_fn(layer_loads((n,))) for n in RAW}
    for t in (1, 2, 4, 8, 16, 32, 64):
        print(f"{t:4d} {distinct(pl, t):7.2f} {E20 * (1 - (1 - K20 / E20) ** t):7.2f} {r(t):6.3f}   | "
              + " ".join(f"{per[n](t):.3f}" for n in RAW))
    var_a = lambda k, e, t: UNIFORM(k, e, t) * r(t)  # noqa: E731
    var_b = lambda k, e, t: UNIFORM(k, e, t) * r(t * E20 / e)  # noqa: E731  (same tokens per expert, k equal)
    print()
    print(f"{'row':38s} {'ITL':>6s} {'uniform':>8s} {'A':>7s} {'B':>7s}  {'share_unif':>10s} {'share_needed':>12s}")
    rows = [m for m in MEASUREMENTS if m.id in _INFMAX_ITL and "gptoss" in m.id and m.metric == "tpot"]
    for m in rows:
        itl = _INFMAX_ITL[m.id]
        errs = [100 * (step_ms(m, h) / itl - 1) for h in (UNIFORM, var_a, var_b)]
        print(f"{m.id:38s} {itl:6.2f} {errs[0]:+7.1f}% {errs[1]:+6.1f}% {errs[2]:+6.1f}%  "
              f"{UNIFORM(4, 128, m.concurrency):10.3f} {needed_share(m, itl):>12s}")


if __name__ == "__main__":
    main()
