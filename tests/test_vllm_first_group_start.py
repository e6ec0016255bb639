"""vLLM 0.14.0-0.18.1 start with a max_model_len one request of which does not fit the pool
(their start-up check counts the first KV-cache group only: kvplan.paging rule memory_check
"first_group"); a --ctx load is judged against the deployment vLLM runs (Pool.planned is the
start-up), and a request that outgrows the pool is "does not fit", with what the scheduler does
(rule request_beyond_pool).

Gemma-3-27B on one H100 under vLLM 0.14.0 (gpu_memory_utilization 0.9): KV pool
10,748,388,128 B = 8,200 blocks of 1,310,720 B (7 block tables of 10 layers, 16 tokens a block),
8,199 usable (the null block). A request of L tokens holds, in each of 6 window tables,
cdiv(min(1,023 + 8,192, L), 16) + 1 blocks (577 from L = 9,215 on; 513 at 8,192), and cdiv(L, 16)
in the full table: 131,072 -> 3,462 + 8,192 = 11,654; 102,400 -> 3,462 + 6,400 = 9,862; 75,792 ->
3,462 + 4,737 = 8,199 (every usable block); 75,793 -> 8,200; 8,192 -> 3,078 + 512 = 3,590. The
start-up check asks for the first table's 577 blocks x 1,310,720 B = 756,285,440 B.
"""

from __future__ import annotations

import json

import pytest
from helpers import cli

from kvplan import api
from kvplan.capacity import make_request, plan
from kvplan.loader import load_model

GEMMA = ("gemma3-27b", "--gpu", "h100", "--engine", "vllm==0.14.0")
SCHEDULER = ("vllm==0.14.0 does not refuse it (it is within max_model_len 131,072): when a step needs more blocks "
             "than are free, allocate_slots fails (vllm/v1/core/kv_cache_manager.py:334-336) and the scheduler "
             "preempts the running requests, then the request itself, which starts over at the head of the waiting "
             "queue (vllm/v1/core/sched/scheduler.py:352-401, 800-819 at v0.14.0): a request that outgrows the pool "
             "never finishes; kvplan's block count is an upper bound (it holds a window layer's blocks as the start-up "
             "check reserves them at every step, while the manager frees blocks that left the window before each "
             "allocation (kv_cache_manager.py:321), so a request a little past the count may still finish)")
STARTED = ("vllm==0.14.0 starts with max_model_len 131,072 though one request of it needs 11,654 blocks and requests "
           "can use 8,199 (its start-up check asks for the first KV-cache group's blocks only, 756,285,440 B: "
           "vllm/v1/core/kv_cache_utils.py _max_memory_usage_bytes_from_groups); one request runs up to 75,792 "
           "tokens")
#: gemma3-27b's KV memory on an H100 under 0.14.0, given to other releases (their activation peaks differ)
KV_BYTES = 10_748_388_128


def _pool(engine="vllm==0.14.0", **options):
    return plan(make_request(load_model("gemma3-27b"), "h100", engine=engine, **options))


def test_planned_is_the_start_up_and_loads_are_asked_of_it():
    pool = _pool()
    assert (pool.kv_pool_bytes, pool.num_blocks, pool.usable_blocks, pool.max_model_len) == (
        KV_BYTES, 8_200, 8_199, 131_072)
    assert [pool.blocks_per_request(n) for n in (131_072, 102_400, 75_793, 75_792, 8_192)] == [
        11_654, 9_862, 8_200, 8_199, 3_590]
    assert pool.startup().ok and pool.planned().ok  # vLLM starts (the old planned() was the verdict: False)
    v = pool.verdict()  # without a load: one request of max_model_len, which does not run
    assert (v.ok, v.bound) == (False, "memory")
    assert v.reason == ("1 request of 131,072 tokens need 11,654 blocks but the pool holds 8,200 (18,736 tokens); "
                        + SCHEDULER)
    assert pool.runs(8_192, 2).ok and pool.runs(75_792).ok
    assert pool.longest_context(1) == 75_792 and pool.longest_context(2) == 10_192
    three = pool.runs(8_192, 3)
    assert (three.ok, three.bound) == (False, "memory")
    assert three.reason == "3 requests of 8,192 tokens need 10,770 blocks but the pool holds 8,200 (18,736 tokens)"
    one = pool.runs(75_793)  # 8,200 blocks: the pool's all, one more than requests can use
    assert (one.ok, one.bound) == (False, "memory")
    assert one.reason == ("1 request of 75,793 tokens need 8,200 blocks but the pool holds 8,200 (18,736 tokens, "
                          "8,199 usable: vLLM's BlockPool keeps one as the null block); " + SCHEDULER)
    assert pool.starts_beyond_pool() == STARTED


def test_capacity_cli_exit_codes_and_lines(capsys):
    code, out, err = cli(capsys, "capacity", *GEMMA, "--ctx", "8k")
    assert code == 0 and "verdict: fits" in out  # old: exit 1, "does not fit: 1 request of 131,072 tokens ..."
    assert err == f"kvplan: warning: {STARTED}\n"
    code, out, _ = cli(capsys, "capacity", *GEMMA, "--ctx", "8k", "--batch", "2", "--json")
    d = json.loads(out)
    assert code == 0 and (d["fits"], d["starts"], d["requests_at_ctx"], d["max_context_at_batch"]) == (
        True, True, 2, 10_192)
    assert d["notes"] == [STARTED]
    code, _, err = cli(capsys, "capacity", *GEMMA, "--ctx", "100k")
    assert code == 1
    assert err.splitlines()[-1] == (
        "kvplan: does not fit: 1 request of 102,400 tokens need 9,862 blocks but the pool holds 8,200 (18,736 "
        f"tokens); {SCHEDULER}. Would fit: a context of 75,792 tokens (--ctx 75792); fp8 KV cache (--kv-dtype fp8); "
        "fp8 weights (--weights fp8); 2 GPUs (--tp 2)")
    # without --ctx the verdict is unchanged: max_model_len requests do not run, so not a fit
    code, _, err = cli(capsys, "capacity", *GEMMA)
    assert code == 1
    assert err.splitlines()[-1] == (
        "kvplan: does not fit: 1 request of 131,072 tokens need 11,654 blocks but the pool holds 8,200 (18,736 "
        f"tokens); {SCHEDULER}. Would fit: max_model_len 75,792 (--max-model-len 75792); fp8 KV cache (--kv-dtype "
        "fp8); fp8 weights (--weights fp8); 2 GPUs (--tp 2)")
    assert cli(capsys, "capacity", *GEMMA, "--ctx", "75792")[0] == 0
    assert cli(capsys, "capacity", *GEMMA, "--ctx", "75793")[0] == 1


@pytest.mark.parametrize(("ctx", "batch", "fits", "limit"), [
    (8_192, 2, True, ""), (8_192, 3, False, "memory"), (102_400, 1, False, "memory"), (75_792, 1, True, ""),
])
def test_every_command_asks_the_running_deployment(capsys, tmp_path, ctx, batch, fits, limit):
    """size, sweep, speed, check and the API give capacity's answer (each said "max_model_len" or
    "does not run as planned" for every load before)."""
    pool = _pool()
    assert pool.runs(ctx, batch).ok is fits
    code, out, _ = cli(capsys, "capacity", *GEMMA, "--ctx", ctx, "--batch", batch, "--json")
    assert (code, json.loads(out)["fits"]) == (0 if fits else 1, fits)

    code, out, _ = cli(capsys, "size", *GEMMA, "--kv-dtype", "bf16", "--ctx", ctx, "--batch", batch, "--json")
    on = json.loads(out)["formats"][0]["on_gpu"]
    assert (code, on["fits"], on["limit"], on["max_requests"]) == (0, fits, limit, pool.max_requests(ctx))

    code, out, _ = cli(capsys, "sweep", *GEMMA, "--kv-dtype", "bf16", "--ctx", ctx, "--batch", batch, "--json")
    (p,) = json.loads(out)["points"]
    assert (code, p["fits"], p["limit"], p["max_requests"]) == (0, fits, limit, pool.max_requests(ctx))

    code, out, err = cli(capsys, "speed", *GEMMA, "--ctx", ctx, "--users", batch, "--json")
    (f,) = json.loads(out)["formats"]
    assert (code, f["starts"], f["points"][0]["fits"]) == (0, True, fits)
    assert "does not run as planned" not in err

    plan_file = tmp_path / "plan.yaml"
    plan_file.write_text("deployments:\n  - name: g\n    model: gemma3-27b\n    gpu: h100\n    engine: vllm==0.14.0\n"
                         f"    requires:\n      max_model_len_fits: false\n      min_concurrency:\n"
                         f"        - {{ctx: {ctx}, requests: {batch}}}\n")
    code, out, _ = cli(capsys, "check", plan_file, "--json")
    starts, r = json.loads(out)["deployments"][0]["requirements"]  # check always asks `starts` first
    assert (starts["requirement"], starts["passed"]) == ("starts", True)
    assert (code, r["passed"]) == (0 if fits else 1, fits)
    assert (SCHEDULER in r["message"]) is (ctx == 102_400)

    assert api.capacity("gemma3-27b", "h100", engine="vllm==0.14.0", ctx=ctx, batch=batch).fits is fits


@pytest.mark.parametrize(("release", "starts", "fits_8k"), [
    ("0.13.0", False, False),  # per layer: 14,670,102,528 B asked, refused
    ("0.14.0", True, True),
    ("0.18.1", True, True),
    ("0.19.0", False, False),  # every group: 15,275,130,880 B asked, refused
])
def test_by_release_on_the_same_pool(release, starts, fits_8k):
    pool = _pool(f"vllm=={release}", kv_cache_memory_bytes=KV_BYTES)
    assert pool.num_blocks == 8_200
    assert pool.startup().ok is starts and pool.planned().ok is starts
    assert not pool.verdict()
    assert pool.runs(8_192, 2).ok is fits_8k
    if not starts:
        assert "refuses to start" in pool.runs(8_192, 2).reason
    assert bool(pool.starts_beyond_pool()) is starts


def test_scheduler_note_only_where_read():
    """0.19.x adds an admission gate (can_fit_full_sequence) kvplan does not model: a request
    beyond the pool there (vLLM 0.19.1 starts with 8,192 blocks, its check leaving the null block
    in) is "does not fit" with no word on the scheduler; loads within the pool fit."""
    from kvplan.paging import vllm_paging

    assert [vllm_paging(r).request_beyond_pool for r in ("0.13.0", "0.14.0", "0.18.1", "0.19.0", "0.19.1")] == [
        None, "preempts_itself", "preempts_itself", None, None]
    pool = plan(make_request(load_model("llama3.1-8b"), "h100", num_gpu_blocks_override=8192))
    assert pool.startup().ok and not pool.verdict()
    assert pool.verdict().reason == ("1 request of 131,072 tokens need 8,192 blocks but the pool holds 8,192 (131,072 "
                                     "tokens, 8,191 usable: vLLM's BlockPool keeps one as the null block)")
    assert pool.runs(1_024, 127).ok and not pool.runs(1_024, 128)
    assert pool.starts_beyond_pool() == ("vllm==0.19.1 starts with max_model_len 131,072 though one request of it "
                                         "needs 8,192 blocks and requests can use 8,191; one request runs up to "
                                         "131,056 tokens")
