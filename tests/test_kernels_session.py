"""benchmarks/gpu_session.sh, the one-command GPU window, end to end in its dry-run mode: every
phase on the CPU under the Triton interpreter at tiny shapes, with pydantic blocked as on the
GPU image (built-in specs then come from benchmarks/gpu_specs.json). Proves the script, its
phases, their files and the summary work; no figure in a dry run means anything."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("triton")

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.interpret
def test_gpu_session_dry_run(tmp_path):
    out = tmp_path / "out"
    env = {k: v for k, v in os.environ.items() if k not in ("TRITON_INTERPRET", "KVPLAN_VALIDATED_SPECS")}
    # As on the GPU image, kvplan is not installed: python -S skips the .pth files (an
    # editable install's finder among them) while PYTHONPATH still reaches torch and triton.
    # The measure phase once imported the checkout's kvplan/ (the working directory comes
    # first on sys.path), which has no model_specs or kernels, and failed there.
    py = tmp_path / "python-no-site"
    py.write_text(f'#!/bin/sh\nexec "{sys.executable}" -S "$@"\n')
    py.chmod(0o755)
    site_dirs = [p for p in sys.path if p.endswith("-packages") and "kvplan" not in p]
    env.update(GPU_SESSION_DRYRUN="1", GPU_SESSION_BLOCK_PYDANTIC="1", PY=str(py), OUT=str(out),
               GS_TMP=str(tmp_path / "tmp"), PYTHONPATH=os.pathsep.join(site_dirs))
    proc = subprocess.run(["bash", str(REPO / "benchmarks" / "gpu_session.sh")], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=3600)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    # at most 8 files come back from the device tool; the session writes these four
    assert sorted(p.name for p in out.iterdir()) == ["log.txt", "measure.json", "summary.json", "summary.md"]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["env"]["pydantic"] is None and summary["env"]["dryrun"] is True
    assert all(rc == 0 for _, rc in summary["phases"].values()), summary["phases"]
    groups = {c["group"] for c in summary["checks"]}
    assert groups == {"bf16", "fp16", "fp8_e4m3:tensor", "fp8_e4m3:head", "int8", "int4", "mla"}
    results = [r for c in summary["checks"] for r in c["results"]]
    assert results and all(r["ok"] for r in results), [r for r in results if not r["ok"]]
    rows = summary["bench"]["rows"]
    timed = {(r["kind"], r["format"]) for r in rows if "us" in r}
    assert timed == {(k, f) for k in ("decode", "write_prefill") for f in ("bf16", "fp8_e4m3", "int8", "int4")} | {
        ("mla_decode", f) for f in ("bf16", "fp8_e4m3", "int8")}
    assert all("speedup_vs_bf16" in r for r in rows if r["kind"] == "decode")
    assert all(c["tensor_bytes_equal_planner"] for c in summary["alloc"]["cases"])
    step = summary["step"]
    assert [r["batch"] for r in step["gemm"]] == [1, 4] and all(r["finite"] for r in step["gemm"])
    assert [(r["batch"], r["finite"]) for r in step["fp8_gemm"]] == [(16, True)], step["fp8_gemm"]
    assert [(r["batch"], r["ctx"]) for r in step["full"]] == [(1, 32), (4, 40)]
    assert all(r["finite"] and r["us"] > r["gemm_us"] > 0 for r in step["full"]), step["full"]
    assert step["weight_bytes"] == 2 * (2 * (64 * 128 + 64 * 64 + 192 * 64 + 64 * 96) + 160 * 64)
    measure = json.loads((out / "measure.json").read_text())
    assert [f["kv_dtype"] for f in measure["formats"]] == ["bf16", "fp8_e4m3"]
    assert all(f["status"] == "ok" and f["tensor_bytes_diff"] == 0 for f in measure["formats"])
    text = (out / "summary.md").read_text()
    assert "Correctness: " in text and "| whole decoder" in text
