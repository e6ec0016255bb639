"""The vLLM profile against real startup logs (tests/fixtures/calibration/vllm_startup_logs.json,
a copy of the project's shared calibration set).

Tolerances (stated in docs/calibration.md):
- vLLM v0.19 on H100 (24 logs): KV cache tokens within 2% of the log, except the
  Qwen2.5-72B TP2 log (A045) whose pool is only 3.04 GiB: within 4.5% there (kvplan's
  weights are 0.08 GiB under the logged 67.80 GiB, +3.9% of that small pool; with the
  logged weights, as `kvplan explain` uses them, it is +0.7%); the KV pool (GiB)
  within 0.12 GiB (A045: 0.13). The activation peak within 0.03 GiB, except fp32 (A021):
  0.07 GiB (the forward phase binds there and kvplan's forward model is 0.06 GiB short).
- vLLM v0.10.1.1 on A100, same node (4 logs): tokens within 1.5%.
- A064 (two A100 40GB on different nodes): within 9%; cross-node NCCL buffers
  (~1 GiB) are not modelled.
The worst case is printed (pytest -s) and asserted.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path


from kvplan.capacity import plan_capacity
from kvplan.loader import load_model

GIB = 1 << 30
LOGS = Path(__file__).resolve().parent / "fixtures" / "calibration" / "vllm_startup_logs.json"
MODELS = {
    "meta-llama/Llama-3.1-8B-Instruct": "llama3.1-8b",
    "Qwen/Qwen2.5-7B-Instruct": "qwen2.5-7b",
    "Qwen/Qwen2.5-72B-Instruct": "qwen2.5-72b",
    "Qwen2-7B-Instruct (local path name)": "qwen2-7b",
}
DTYPES = {"bfloat16": "bf16", "float16": "fp16", "float32": "fp32"}


def _logs() -> list[dict]:
    return json.loads(LOGS.read_text())


def _predict(r: dict):
    spec = dataclasses.replace(load_model(MODELS[r["model"]]), dtype=DTYPES[r["dtype"]])
    gpu = "h100" if "H100" in r["gpu"] else ("a100-40gb" if "40GB" in r["gpu"] else "a100-80gb")
    engine = "vllm==" + r["engine_version"].lstrip("v")
    return plan_capacity(
        spec, gpu, tp=r["tensor_parallel_size"], pp=r["pipeline_parallel_size"],
        weights="fp8" if r["quantization"] == "fp8" else None, kv_format=r["kv_cache_dtype"], engine=engine,
        gpu_memory_utilization=r["gpu_memory_utilization"], max_model_len=r["max_model_len"],
    )


def _tolerance(r: dict) -> float:
    if r["id"] == "A045":
        return 0.045
    if r["id"] == "A064":
        return 0.09
    return 0.02 if r["engine_version"].startswith("v0.19") else 0.015


def test_every_log_within_its_tolerance():
    rows = []
    for r in _logs():
        cap = _predict(r)
        err = (cap.kv_cache_tokens - r["kv_cache_tokens"]) / r["kv_cache_tokens"]
        rows.append((abs(err), r["id"], cap.kv_cache_tokens, r["kv_cache_tokens"], err))
        assert abs(err) <= _tolerance(r), f"{r['id']}: predicted {cap.kv_cache_tokens:,} vs {r['kv_cache_tokens']:,}"
    worst = max(rows)
    print(f"\nworst: {worst[1]} predicted {worst[2]:,} vs logged {worst[3]:,} tokens ({worst[4]:+.2%})")
    v019 = [row for row in rows if row[1] not in ("A045",) and row[1] < "A06"]
    assert max(v019)[0] < 0.002  # the other 23 v0.19 logs are within 0.2%
    assert len(rows) == 29


def test_v019_pool_within_0_12_gib_and_parts_match_the_log():
    for r in _logs():
        if not r["engine_version"].startswith("v0.19"):
            continue
        cap = _predict(r)
        # The first stage is the one whose figures the log prints.
        st = cap.stages[0]
        # A045 is 0.12 GiB high: weights 0.08 + non-torch 0.02 + peak 0.01 GiB under the log
        assert abs(st.kv_pool_bytes / GIB - r["available_kv_cache_gib"]) <= (0.13 if r["id"] == "A045" else 0.12), r["id"]
        assert abs(st.weights_bytes / GIB - r["model_weights_gib"]) <= 0.09, r["id"]
        extra = r["extra"]
        tol = 0.07 if r["dtype"] == "float32" else 0.03
        assert abs(st.activation_bytes / GIB - extra["torch_peak_memory_increase_gib"]) <= tol, r["id"]
        # tp 2 logs spread 2.06-2.09 GiB; kvplan takes 2.09 (docs/calibration.md)
        assert abs(st.other_bytes / GIB - extra["non_torch_forward_increase_gib"]) <= 0.035, r["id"]
        assert abs(st.engine_share_bytes / GIB - extra["requested_memory_gib"]) <= 0.006, r["id"]


def test_max_concurrency_matches_the_logged_figure():
    for r in _logs():
        if r["id"] in ("A045", "A064"):
            continue
        cap = _predict(r)
        assert abs(cap.max_concurrency - r["max_concurrency"]) / r["max_concurrency"] <= 0.015, r["id"]
