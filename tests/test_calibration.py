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
- Public logs of other releases, each with its own bound (the GPU is stated in the post,
  not in the log; docs/calibration.md): P001 (v0.9.0.1, A100 40GB, torch-sort sampler, the
  CUDA context counted as non-torch memory) within 0.5%; P002 (v0.15.1, A100 40GB, the LLM
  class, torch sort over 256 rows) within 1%.
The worst case is printed (pytest -s) and asserted.
"""

from __future__ import annotations

import json
from pathlib import Path


from kvplan.capacity import plan_capacity
from kvplan.engines import get_engine
from kvplan.loader import load_model

GIB = 1 << 30
FIXTURES = Path(__file__).resolve().parent / "fixtures"
LOGS = FIXTURES / "calibration" / "vllm_startup_logs.json"
MODELS = {
    "meta-llama/Llama-3.1-8B-Instruct": "llama3.1-8b",
    "Qwen/Qwen2.5-7B-Instruct": "qwen2.5-7b",
    "Qwen/Qwen2.5-72B-Instruct": "qwen2.5-72b",
    "Qwen2-7B-Instruct (local path name)": "qwen2-7b",
    # the real config.json (tests/fixtures/hf_configs/README.md)
    "deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B": str(FIXTURES / "hf_configs" / "deepseek-r1-distill-qwen-1.5b.json"),
}
DTYPES = {"bfloat16": "bf16", "float16": "fp16", "float32": "fp32"}
#: Public logs of releases other than 0.19.0 / 0.10.1.1 (docs/calibration.md) and their bounds.
PUBLIC_TOLERANCE = {"P001": 0.005, "P002": 0.01}


def _logs() -> list[dict]:
    return json.loads(LOGS.read_text())


def _engine(r: dict):
    """The release's engine; the sampler path and usage context as the log shows them."""
    extra = r["extra"] or {}
    options = {}
    if extra.get("sampler") == "sort" and get_engine("vllm==" + r["engine_version"].lstrip("v")).rule(
            "sampler_top_k_top_p") == "flashinfer-if-installed":
        options["flashinfer_sampler"] = False  # the log: "FlashInfer is not available"
    if extra.get("usage_context"):
        options["usage_context"] = extra["usage_context"]
    return get_engine("vllm==" + r["engine_version"].lstrip("v"), **options)


def _predict(r: dict):
    # The dtype the run used, as --dtype (the records' float16/float32 runs passed it; a bf16
    # model's auto dtype is bf16 on these GPUs either way).
    spec = load_model(MODELS[r["model"]])
    gpu = "h100" if "H100" in r["gpu"] else ("a100-40gb" if "40GB" in r["gpu"] else "a100-80gb")
    return plan_capacity(
        spec, gpu, dtype=DTYPES[r["dtype"]], tp=r["tensor_parallel_size"], pp=r["pipeline_parallel_size"],
        weights="fp8" if r["quantization"] == "fp8" else None, kv_format=r["kv_cache_dtype"], engine=_engine(r),
        gpu_memory_utilization=r["gpu_memory_utilization"], max_model_len=r["max_model_len"],
    )


def _tolerance(r: dict) -> float:
    if r["id"] in PUBLIC_TOLERANCE:
        return PUBLIC_TOLERANCE[r["id"]]
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
    assert len(rows) == 31


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
        if r["id"] in ("A045", "A064") or r["id"] in PUBLIC_TOLERANCE:
            continue
        cap = _predict(r)
        assert abs(cap.max_concurrency - r["max_concurrency"]) / r["max_concurrency"] <= 0.015, r["id"]


def test_public_logs_of_other_releases_one_by_one():
    """Each public log's own check (the figures are docs/calibration.md's table)."""
    by_id = {r["id"]: r for r in _logs()}
    # v0.9.0.1: 256 sort rows of 151,936 logits x (2 + 4 + 32) B + 49 MiB; the forward output is
    # freed before the sampler (0.8.0-0.9.1); the 0.51 GiB in use before loading counts as non-torch
    p001 = _predict(by_id["P001"])
    st = p001.stages[0]
    assert st.activation_bytes == 256 * 151_936 * 38 + (49 << 20)
    assert st.other_bytes == get_engine("vllm==0.9.0.1").rule("startup_in_use_bytes")["single"]
    assert p001.max_num_batched_tokens == 2048  # vllm serve on a < 70 GiB GPU, as logged
    assert abs(p001.kv_cache_tokens - 1_131_008) / 1_131_008 <= 0.005
    # v0.15.1 LLM class: 8192 batched tokens and 256 rows (small GPU), as logged; no non-torch on an A100
    p002 = _predict(by_id["P002"])
    st = p002.stages[0]
    assert p002.max_num_batched_tokens == 8192 and p002.max_num_seqs == 256
    assert st.activation_bytes == 256 * 128_256 * 38 + 8192 * 4096 * 2 + (49 << 20)
    assert st.other_bytes == 0
    assert abs(st.kv_pool_bytes / GIB - 19.28) / 19.28 <= 0.01
