"""Issue 12: one question, one answer. The same deployment question asked through every
command that says whether something fits, and through the API, gets identical figures:
they all ask the same kvplan.capacity.Pool."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers import cli
from kvplan import api

QWEN3_NEXT = str(Path(__file__).parent / "fixtures" / "hf_configs" / "qwen3-next-80b-a3b-instruct.json")

CASES = [
    # (model, gpu, options as CLI flags, ctx, batch)
    ("gemma3-27b", "h100", [], 32768, 8),
    ("llama3.1-8b", "h100", ["--max-model-len", "8k", "--kv-dtype", "fp8"], 8192, 64),
    ("llama3.1-8b", "a100-80gb", ["--max-model-len", "4k", "--max-num-seqs", "32"], 2048, 40),
    ("qwen2.5-7b", "l4", ["--tp", "2", "--max-model-len", "16k"], 16384, 2),
    ("llama3.1-70b", "h100", [], 4096, 1),  # weights alone do not fit one H100
    # a fixed block count: 8,192 blocks, 8,191 usable (the null block); 1k requests take 64
    # blocks, so 127 run at once (8,192 // 64 = 128 would count the null block)
    ("llama3.1-8b", "h100", ["--num-gpu-blocks-override", "8192", "--max-model-len", "8k"], 1024, 127),
    ("llama3.1-70b", "h100", ["--tp", "4", "--pp", "2", "--max-model-len", "32k"], 16384, 8),
    ("gpt-oss-20b", "h100", ["--max-model-len", "64k"], 32768, 8),  # sliding + full groups
    # engines whose default block is not vLLM's 16: SGLang's page of 1 token, TensorRT-LLM's 32
    ("llama3.1-8b", "h100", ["--engine", "sglang", "--max-model-len", "128k"], 103915, 4),
    ("llama3.1-8b", "h100", ["--engine", "trtllm", "--max-model-len", "128k"], 1000, 460),
    # data parallelism: each replica its own pool, the experts sharded over tp x dp (slices, or
    # whole experts with expert parallelism; DeepSeek-style DP attention keeps a latent cache per rank)
    ("mixtral-8x7b", "h100", ["--tp", "2", "--dp", "2", "--max-model-len", "32k"], 8192, 8),
    ("mixtral-8x7b", "h100", ["--tp", "2", "--dp", "2", "--enable-expert-parallel", "--max-model-len", "32k"], 8192, 8),
    ("deepseek-v3", "h200", ["--dp", "8", "--enable-expert-parallel", "--max-model-len", "16k"], 4096, 64),
    # hybrids: linear attention + full attention (Qwen3-Next), sliding + full with the hybrid manager off
    (QWEN3_NEXT, "h200", ["--tp", "2", "--max-model-len", "64k"], 32768, 8),
    ("gemma3-27b", "h100", ["--max-model-len", "32k", "--disable-hybrid-kv-cache-manager"], 32768, 2),
    # the load fits the pool, but vLLM does not start with the model's own max_model_len (131,072
    # tokens on a pool of 35,376): capacity says "does not fit", and so must size and sweep
    ("llama3.1-8b", "l4", [], 4096, 8),
    # the engine chooses the block: vLLM's FlashMLA pages DeepSeek-V3's fp8 cache in blocks of 64 on
    # Hopper, so 1,000 tokens take 16 blocks and 17,595 blocks hold 1,099 requests (blocks of 16,
    # which size and sweep once forced, would say 1,117 and "fits"); on Blackwell kvplan needs the
    # block given; SGLang 0.5.8's trtllm_mha forces pages of 64 on a B200 (8,796 requests of 100)
    ("deepseek-v3", "h200", ["--tp", "8", "--kv-dtype", "fp8", "--max-num-seqs", "4096"], 1000, 1100),
    ("deepseek-v3", "b200", ["--tp", "8", "--block-size", "128", "--max-model-len", "32k"], 8192, 64),
    ("llama3.1-8b", "b200", ["--engine", "sglang==0.5.8"], 100, 9000),
]


def _flag(opts, name, default=None):
    return opts[opts.index(name) + 1] if name in opts else default


#: CLI flag -> (make_request keyword, whether it is a whole number)
_OPTIONS = {"--max-model-len": ("max_model_len", False), "--kv-dtype": ("kv_format", False),
            "--max-num-seqs": ("max_num_seqs", True), "--tp": ("tp", True), "--pp": ("pp", True),
            "--dp": ("dp", True), "--engine": ("engine", False), "--block-size": ("block_size", True),
            "--num-gpu-blocks-override": ("num_gpu_blocks_override", True)}


def _api_options(opts):
    out = {}
    for flag, (key, whole) in _OPTIONS.items():
        if flag in opts:
            value = _flag(opts, flag)
            out[key] = int(value) if whole else value
    for flag in opts:
        if flag.startswith("--") and flag not in _OPTIONS:
            out[flag[2:].replace("-", "_")] = True
    return out


@pytest.mark.parametrize(("model", "gpu", "opts", "ctx", "batch"), CASES)
def test_every_command_gives_the_same_answer(capsys, tmp_path, model, gpu, opts, ctx, batch):
    pool = api.plan(model, gpu, **_api_options(opts))
    truth = {
        "kv_pool_bytes": pool.kv_pool_bytes,
        "max_requests": pool.max_requests(ctx),
        # the deployment runs as planned (one request of max_model_len) and the load runs
        "fits": pool.runs(ctx, batch).ok,
    }

    # kvplan capacity
    code, out, _ = cli(capsys, "capacity", model, "--gpu", gpu, *opts, "--ctx", ctx, "--batch", batch, "--json")
    d = json.loads(out)
    assert code == (0 if truth["fits"] else 1)
    assert (d["kv_pool_bytes"], d["requests_at_ctx"], d["fits"]) == (
        truth["kv_pool_bytes"], truth["max_requests"], truth["fits"])
    assert d["kv_cache_tokens"] == pool.kv_cache_tokens

    # kvplan size --gpu
    kv = _flag(opts, "--kv-dtype", "auto")
    size_opts = [o for o in opts if o not in ("--kv-dtype", kv)]
    code, out, _ = cli(capsys, "size", model, "--gpu", gpu, *size_opts, "--kv-dtype", kv, "--ctx", ctx,
                       "--batch", batch, "--json")
    assert code == 0
    d = json.loads(out)
    (f,) = d["formats"]
    assert (f["on_gpu"]["kv_pool_bytes"], f["on_gpu"]["max_requests"], f["on_gpu"]["fits"]) == (
        truth["kv_pool_bytes"], truth["max_requests"], truth["fits"])
    # the byte columns count the pages the pool runs, not a block size fills in
    assert d["block_size"] == f["block_size"] == f["on_gpu"]["block_size"] == pool.block_size

    # kvplan sweep --gpu
    code, out, _ = cli(capsys, "sweep", model, "--gpu", gpu, *size_opts, "--kv-dtype", kv, "--ctx", ctx,
                       "--batch", batch, "--json")
    assert code == 0
    (p,) = json.loads(out)["points"]
    assert (p["kv_pool_bytes"], p["max_requests"], p["fits"]) == (
        truth["kv_pool_bytes"], truth["max_requests"], truth["fits"])
    assert p["block_size"] == pool.block_size

    # kvplan speed: its capacity marks (speed takes the deployment options it times with)
    speed_flags = ("--tp", "--pp", "--dp", "--engine", "--max-model-len", "--max-num-seqs", "--kv-dtype",
                   "--enable-expert-parallel", "--block-size")
    if all(o in speed_flags or not o.startswith("--") for o in opts):
        # speed's --ctx is a prompt: one of max_model_len (8,192 at 8k) the engine refuses, exit 2
        # with the line recommend gives (Pool.refusal); one its pool refuses (SGLang's min(context_len,
        # pool tokens) - 7) holds no request
        code, out, err = cli(capsys, "speed", model, "--gpu", gpu, *opts, "--ctx", ctx, "--users",
                             batch * pool.request.dp, "--json")
        refused = pool.refusal(ctx)
        if refused:
            # the last line (a --max-model-len 8k note may come first)
            assert code == 2 and err.splitlines()[-1] == f"kvplan: error: {refused}" and "Traceback" not in err
        else:
            assert code == 0
            (sf,) = json.loads(out)["formats"]
            accepted = ctx <= pool.max_prompt_tokens
            assert (sf["max_requests_at_peak"], sf["points"][0]["fits"]) == (
                truth["max_requests"] * accepted, pool.serves(ctx, batch).ok and accepted)
            assert sf["starts"] == pool.startup().ok  # the engine starts (Pool.planned), whatever the load

    # kvplan check: min_concurrency asks what capacity --ctx --batch asks (Pool.runs: the engine
    # starts, then the load runs), max_model_len_fits (off here) a request of max_model_len
    load = truth["fits"]
    plan = tmp_path / "plan.yaml"
    plan_fields = {"kv_format": "kv_dtype"}
    fields = {"name": "q", "model": model, "gpu": gpu,
              **{plan_fields.get(k, k): v for k, v in _api_options(opts).items()},
              "requires": {"max_model_len_fits": False, "min_concurrency": [{"ctx": ctx, "requests": batch}]}}
    plan.write_text(json.dumps({"deployments": [fields]}))
    code, out, _ = cli(capsys, "check", str(plan), "--json")
    dep = json.loads(out)["deployments"][0]
    starts, r = dep["requirements"]  # `starts` is always asked (Pool.startup, capacity's "starts")
    assert (starts["requirement"], starts["passed"]) == ("starts", pool.startup().ok)
    assert (dep["capacity"]["kv_pool_bytes"], r["measured"], r["passed"]) == (
        truth["kv_pool_bytes"], truth["max_requests"], load)
    assert code == (0 if load and pool.startup().ok else 1)
    assert dep["capacity"]["fits"] == pool.verdict().ok  # the deployment's own verdict, as capacity without --ctx

    # the API summary
    cap = api.capacity(model, gpu, ctx=ctx, batch=batch, **_api_options(opts))
    assert (cap.kv_pool_bytes, cap.requests_at_ctx, cap.fits) == (
        truth["kv_pool_bytes"], truth["max_requests"], truth["fits"])


@pytest.mark.parametrize(("model", "gpu", "opts"), [(m, g, o) for m, g, o, _, _ in CASES[:4] + CASES[-3:]])
def test_fragment_pool_is_the_capacity_pool(capsys, model, gpu, opts):
    """fragment --gpu simulates capacity's pool (its tokens, in the block the engine runs); the
    default paged policies page in that block, a policy named paged-16 in blocks of 16 of it."""
    pool = api.plan(model, gpu, **_api_options(opts))
    mml = str(pool.max_model_len)
    args = ["fragment", model, "--gpu", gpu, "--requests", "20", "--max-model-len", mml, "--json"]
    for flag in ("--kv-dtype", "--tp", "--engine", "--block-size"):
        if flag in opts:
            args += [flag, _flag(opts, flag)]
    if "--max-num-seqs" in opts:
        args += ["--max-seqs", _flag(opts, "--max-num-seqs")]
    code, out, _ = cli(capsys, *args, "--policies", "paged-16")
    assert code == 0
    report = json.loads(out)
    assert report["pool_tokens"] == pool.kv_cache_tokens
    assert report["engine_block_size"] == pool.block_size
    if pool.max_num_seqs is not None:  # SGLang's pool has no cap: fragment then simulates 256 (its own default)
        assert report["max_seqs"] == pool.max_num_seqs  # the engine's default when not given
    assert [p["policy"] for p in report["policies"]] == ["paged-16"]
    if pool.kv_cache_tokens < pool.max_model_len:
        return  # orca-max, a default policy, reserves max_model_len a request: it cannot run here
    code, out, _ = cli(capsys, *args, "--requests", "5")
    assert code == 0
    report = json.loads(out)
    assert report["pool_tokens"] == pool.kv_cache_tokens
    names = [p["policy"] for p in report["policies"]]
    assert f"paged-{pool.block_size}" in names and f"paged-{pool.block_size}-share" in names


def test_an_mla_block_kvplan_cannot_tell_is_refused_by_every_command(capsys, tmp_path):
    """On Blackwell vLLM's MLA backend (and so DeepSeek-V3's block) is not modelled: capacity refuses,
    and size, sweep, speed, check and fragment (which once filled in a block of 16 and answered)
    refuse with the same line; --block-size 128 is a CASES row above."""
    code, _, err = cli(capsys, "capacity", "deepseek-v3", "--gpu", "b200", "--tp", "8")
    assert code == 2
    why = err.strip().removeprefix("kvplan: error: ")
    assert "give the block size the deployment runs" in why and "\n" not in why
    plan = tmp_path / "plan.yaml"
    plan.write_text(json.dumps({"deployments": [{"name": "q", "model": "deepseek-v3", "gpu": "b200", "tp": 8,
                                                 "requires": {"max_model_len_fits": True}}]}))
    for args in (["size", "deepseek-v3", "--gpu", "b200", "--tp", "8", "--ctx", "32k", "--kv-dtype", "bf16"],
                 ["size", "deepseek-v3", "--gpu", "b200", "--tp", "8", "--ctx", "32k"],  # every format
                 ["sweep", "deepseek-v3", "--gpu", "b200", "--tp", "8", "--ctx", "32k", "--kv-dtype", "bf16"],
                 ["speed", "deepseek-v3", "--gpu", "b200", "--tp", "8", "--ctx", "8k", "--users", "8"],
                 ["check", str(plan)],
                 ["fragment", "deepseek-v3", "--gpu", "b200", "--tp", "8", "--requests", "20"]):
        code, out, err = cli(capsys, *args, "--json")
        assert (code, out) == (2, ""), args
        assert err.count("\n") == 1 and why in err, args


def test_size_pages_each_format_as_its_pool(capsys):
    """One size table, two blocks: DeepSeek-V3 on an H200 runs FLASH_ATTN_MLA (16) for bf16 and
    FLASHMLA (64) for fp8; each row counts its own pool's pages, and the title says so."""
    code, out, _ = cli(capsys, "size", "deepseek-v3", "--gpu", "h200", "--tp", "8", "--ctx", "8k", "--batch", "64",
                       "--kv-dtype", "bf16,fp8", "--json")
    assert code == 0
    d = json.loads(out)
    assert d["block_size"] is None
    for f in d["formats"]:
        pool = api.plan("deepseek-v3", "h200", tp=8, kv_format=f["kv_dtype"])
        assert f["block_size"] == pool.block_size == {"bf16": 16, "fp8_e4m3": 64}[f["kv_dtype"]]
        assert f["on_gpu"]["max_requests"] == pool.max_requests(8192)
        # 8,192 tokens are 128 blocks of 64 or 512 of 16: no rounding either way, 61 layers x 576 x bytes
        assert f["paged_total_bytes"] == 64 * 8192 * 61 * 576 * {"bf16": 2, "fp8_e4m3": 1}[f["kv_dtype"]]
    code, out, _ = cli(capsys, "size", "deepseek-v3", "--gpu", "h200", "--tp", "8", "--ctx", "8k", "--batch", "64",
                       "--kv-dtype", "bf16,fp8")
    assert code == 0 and "block by format" in out
    code, out, _ = cli(capsys, "sweep", "deepseek-v3", "--gpu", "h200", "--tp", "8", "--ctx", "8k", "--batch", "64",
                       "--kv-dtype", "bf16,fp8", "--json")
    d = json.loads(out)
    assert d["grid"]["block_size"] is None
    assert {p["kv_dtype"]: p["block_size"] for p in d["points"]} == {"bf16": 16, "fp8_e4m3": 64}


def test_a_vllm_command_line_is_the_same_question(capsys, tmp_path):
    """--from-vllm (capacity) and from_vllm (check) read a launch command into the same request
    as the flags: the same pool, requests and verdict as the options spelled out (32K = 32,768)."""
    cmd = ("vllm serve meta-llama/Llama-3.1-70B-Instruct -tp 4 --max-model-len 32K --kv-cache-dtype fp8 "
           "--gpu-memory-utilization=0.95 --max-num-seqs 128 --data-parallel-size 2")
    pool = api.plan("llama3.1-70b", "h100", tp=4, dp=2, max_model_len=32768, kv_format="fp8",
                    gpu_memory_utilization=0.95, max_num_seqs=128)
    truth = (pool.kv_pool_bytes, pool.kv_cache_tokens, pool.max_requests(16384), bool(pool.serves(16384, 32)))
    assert truth[2] == 62 and truth[3]  # 63,973 usable blocks of 16 tokens // 1,024 blocks a request of 16k

    code, out, _ = cli(capsys, "capacity", "--gpu", "h100", "--from-vllm", cmd, "--ctx", "16384", "--batch", "32",
                       "--json")
    d = json.loads(out)
    assert code == 0 and (d["kv_pool_bytes"], d["kv_cache_tokens"], d["requests_at_ctx"], d["fits"]) == truth
    assert (d["tp"], d["dp"], d["max_model_len"], d["max_num_seqs"]) == (4, 2, 32768, 128)

    plan = tmp_path / "plan.yaml"
    plan.write_text(json.dumps({"deployments": [{
        "name": "q", "model": "llama3.1-70b", "gpu": "h100", "from_vllm": cmd,
        "requires": {"min_concurrency": [{"ctx": 16384, "requests": 32}]}}]}))
    code, out, _ = cli(capsys, "check", str(plan), "--json")
    dep = json.loads(out)["deployments"][0]
    r = dep["requirements"][-1]
    c = dep["capacity"]
    assert code == 0 and (c["kv_pool_bytes"], c["kv_cache_tokens"], r["measured"], r["passed"]) == truth
