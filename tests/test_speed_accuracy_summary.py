"""benchmarks/speed_accuracy.py's per-deployment summary (the issue's "model x GPU pairs at low and high
concurrency"): grouping, the low/high test and the 20% verdict, on hand-made rows."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

from speed_accuracy import by_deployment  # noqa: E402


def _row(users, error, model="m", gpu="h200", tp=2, dp=1, engine="vllm", metric="tpot"):
    return {"model": model, "gpu": gpu, "tp": tp, "dp": dp, "engine": engine, "weights": None,
            "concurrency": users, "metric": metric, "error": error}


def test_one_deployment_low_and_high_all_within():
    rows = [_row(4, 0.05), _row(32, -0.199), _row(64, 0.40), _row(1, 0.5, metric="ttft")]
    (p,) = by_deployment(rows)
    assert p["users"] == "4,32,64"  # the TTFT row is not a decode point
    assert p["low_and_high"] and p["all_low_within_20pct"]  # 64 users is outside 1-32
    assert (p["low_points"], p["low_within_20pct"], p["low_within_10pct"]) == (2, 2, 1)
    assert p["worst_low_error"] == -0.199 and p["gpus"] == 2


def test_a_point_beyond_20pct_fails_the_deployment_and_groups_split_by_parallelism():
    rows = [_row(4, 0.05), _row(16, 0.201), _row(64, 0.0), _row(8, 0.0, tp=8), _row(25, 0.0, tp=8)]
    a, b = by_deployment(rows)
    assert not a["all_low_within_20pct"] and a["worst_low_error"] == 0.201
    assert b["tp"] == 8 and b["low_and_high"] and b["all_low_within_20pct"]


def test_only_low_load_is_not_low_and_high():
    (p,) = by_deployment([_row(8, 0.0), _row(16, 0.0)])
    assert not p["low_and_high"] and p["all_low_within_20pct"]
