"""A model whose every layer keeps nothing per sequence (no_cache: an encoder-only model, or a
spec whose layers hold no KV) has no paged layers, so no request holds a block and memory stops
none (Pool.limits, Pool.serves; headroom 0 B: tests/test_same_figures_h26.py). Every command
gives that one answer: the requests that run at once are the engine's cap, max_num_seqs (vLLM
0.19.1's default here: 1,024), the longest context for a batch within it is max_model_len, and
where the engine caps no request count (raw) the count is refused, not given as 0 or unbounded.
memory_requests still counts blocks: 0 (tests/test_rules_pinned.py)."""

from __future__ import annotations

import json

from helpers import cli, one_line_error
from kvplan.capacity import make_request, plan
from kvplan.loader import load_model
from test_same_figures_h26 import NO_CACHE_SPEC

RAW_REFUSAL = ("kvplan: error: no-cache keeps no KV cache (no paged layers) and raw caps no request count: the "
               "requests that run at once have no bound to report; give --max-num-seqs")


def _spec(tmp_path, monkeypatch) -> str:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "no-cache.yaml").write_text(NO_CACHE_SPEC)
    return "no-cache.yaml"


def test_capacity_says_fits_and_every_count_follows(capsys, tmp_path, monkeypatch):
    """It printed "4 concurrent requests cannot run: not even one token each fits" above "verdict: fits",
    "requests of 4k at once: 0", and --json max_requests 0, max_context_at_batch 0."""
    model = _spec(tmp_path, monkeypatch)
    args = (model, "--gpu", "h100", "--ctx", "1000", "--batch", "4")
    code, out, _ = cli(capsys, "capacity", *args)
    assert code == 0
    assert out.splitlines()[-5:] == [
        "one replica (1 GPU): KV cache 0 tokens in 0 blocks of 16",
        "one replica (1 GPU): requests of 4k (max_model_len) at once: 1,024 (max_num_seqs 1,024; no paged KV cache, "
        "so memory holds any number)",
        "one replica (1 GPU): requests of 1,000 (--ctx) at once: 1,024 (max_num_seqs 1,024; no paged KV cache, so "
        "memory holds any number)",
        "one replica (1 GPU): longest context for 4 concurrent requests: 4,096 tokens (max_model_len)",
        "verdict: fits",
    ]
    code, out, _ = cli(capsys, "capacity", *args, "--json")
    d = json.loads(out)
    assert code == 0
    assert {k: d[k] for k in ("fits", "max_requests", "requests_at_ctx", "concurrency_bound", "max_context_at_batch",
                              "num_blocks", "blocks_per_request")} == {
        "fits": True, "max_requests": 1024, "requests_at_ctx": 1024, "concurrency_bound": "max_num_seqs",
        "max_context_at_batch": 4096, "num_blocks": 0, "blocks_per_request": 0}


def test_a_batch_beyond_max_num_seqs_cannot_run(capsys, tmp_path, monkeypatch):
    model = _spec(tmp_path, monkeypatch)
    code, out, _ = cli(capsys, "capacity", model, "--gpu", "h100", "--batch", "1025")
    assert code == 0  # the verdict asks for one request of max_model_len
    assert ("one replica (1 GPU): 1025 concurrent requests cannot run: more than max_num_seqs 1,024"
            in out.splitlines())


def test_check_measures_what_capacity_reports(capsys, tmp_path, monkeypatch):
    """check's min_concurrency passed with "measured": 0 ("the pool holds 0 (0 such requests)")."""
    model = _spec(tmp_path, monkeypatch)
    (tmp_path / "plan.yaml").write_text(json.dumps({"deployments": [{
        "name": "d", "model": model, "gpu": "h100",
        "requires": {"min_concurrency": [{"ctx": 1000, "requests": 4}, {"ctx": 1000, "requests": 1025}]}}]}))
    code, out, _ = cli(capsys, "check", "plan.yaml", "--json")
    assert code == 1
    reqs = {r["requirement"]: r for r in json.loads(out)["deployments"][0]["requirements"]}
    four, over = reqs["min_concurrency@1000x4"], reqs["min_concurrency@1000x1025"]
    assert (four["passed"], four["measured"], four["message"]) == (
        True, 1024, "4 requests of 1,000 tokens hold no KV blocks (no paged KV cache); 1,024 such requests run at "
                    "once (max_num_seqs)")
    assert (over["passed"], over["measured"], over["message"]) == (
        False, 1024, "1,025 requests exceed max_num_seqs 1,024 (the engine runs at most 1,024 at once)")


def test_max_requests_is_what_serves_answers():
    from vllm_port import model

    pool = plan(make_request(model([{"kind": "no_cache"}] * 4, max_len=4096), "h100", max_model_len=4096))
    assert not pool.paged and pool.memory_requests(4096) == 0  # memory_requests counts blocks
    assert pool.max_requests(4096) == 1024 and pool.serves(4096, 1024) and not pool.serves(4096, 1025)
    assert pool.max_requests(4097) == 0 and pool.longest_context(1024) == 4096 and pool.longest_context(1025) == 0
    assert pool.concurrency_bound(4096) == "max_num_seqs"


def test_no_pool_runs_no_request():
    """Weights beyond the GPU (--gpu-mem below them): no pool, so 0 requests and 0 tokens, as serves says."""
    from vllm_port import model

    pool = plan(make_request(model([{"kind": "no_cache"}] * 4, max_len=4096), "h100", engine="raw",
                             gpu_mem_bytes=1_000_000, max_model_len=4096))
    assert pool.serves(16).bound == "weights"
    assert pool.max_requests(16) == 0 and pool.longest_context(1) == 0 and pool.concurrency_bound(16) == "weights"


def test_raw_refuses_the_count_without_a_cap(capsys, tmp_path, monkeypatch):
    """raw caps no request count: nothing bounds the requests of a model that keeps no KV cache, so
    capacity refuses (exit 2, one line, before any output) and --max-num-seqs gives the count."""
    model = _spec(tmp_path, monkeypatch)
    code, out, err = cli(capsys, "capacity", model, "--gpu", "h100", "--engine", "raw")
    assert (code, out, one_line_error(err)) == (2, "", RAW_REFUSAL)
    code, out, _ = cli(capsys, "capacity", model, "--gpu", "h100", "--engine", "raw", "--max-num-seqs", "8", "--json")
    assert code == 0 and json.loads(out)["max_requests"] == 8
