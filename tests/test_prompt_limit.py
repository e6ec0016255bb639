"""The longest prompt an engine accepts (RequestCap.prompt_tokens), asked by `kvplan speed` and
`kvplan recommend` through one check (RequestCap.refusal / Pool.refusal, Pool.serves with the
prompt). vLLM: max_model_len - 1 (0.14.0+ v1/engine/input_processor.py refuses a prompt of
max_model_len: no room for the output token). SGLang (0.4.6-0.5.8): managers/tp_worker.py
max_req_len = min(context_len - 1, pool tokens - 1), max_req_input_len = max_req_len - 5, and
managers/utils.py validate_input_length aborts len(prompt) >= max_req_input_len, so a prompt runs
up to min(max_model_len, pool tokens) - 7. Each boundary: the longest accepted prompt runs, one
token more is refused with its line."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers import cli, one_line_error
from kvplan.capacity import make_request, plan
from kvplan.engines import get_engine
from kvplan.engines.sglang import BOOK
from kvplan.loader import load_model

VLLM_RULE = ("every request makes at least one output token; vLLM 0.11.1+ v1/engine/input_processor.py refuses a "
             "prompt of max_model_len, and earlier releases' OpenAI server asks max_tokens 0 for it, which "
             "SamplingParams refuses")
SGL_RULE = ("managers/utils.py validate_input_length aborts a prompt of max_req_input_len = max_req_len - 5 tokens "
            "or more")
SGL_CUT = ("managers/tp_worker.py max_req_len = min(context_len, pool tokens) - 1, and a request stops at "
           "max_req_len - 1: managers/scheduler.py init_req_max_new_tokens")


# -- the rule ------------------------------------------------------------------------------------
def test_prompt_tokens_by_engine_and_pool():
    vllm, sgl = get_engine("vllm").request_cap, get_engine("sglang==0.5.8").request_cap
    assert (vllm.prompt_tokens(4096), vllm.prompt_tokens(4096, 100)) == (4095, 4095)  # vLLM: no cap by the pool
    assert sgl.prompt_tokens(4096) == 4089  # max_req_len 4,095, max_req_input_len 4,090: 4,090 is aborted
    assert sgl.prompt_tokens(131072, 30866) == 30859  # the pool binds: max_req_len 30,865
    assert sgl.prompt_tokens(4096, 1_000_000) == 4089  # a pool longer than context_len: context_len binds
    assert sgl.prompt_tokens(131072, 5) == 0
    # max_model_len_for is the inverse at the setting: the smallest max_model_len accepting the prompt
    for cap in (vllm, sgl):
        mml = cap.max_model_len_for(1, 4096)
        assert cap.prompt_tokens(mml) == 4096 and cap.prompt_tokens(mml - 1) == 4095


@pytest.mark.parametrize("release", [str(r) for r in BOOK.releases])
def test_every_modelled_sglang_release_caps_the_prompt_by_its_pool(release):
    """tp_worker.py (0.4.6 line 120, 0.4.9 132, 0.4.10 141, 0.5.1 142, 0.5.2 151, 0.5.4 293,
    0.5.6 303, 0.5.8 286; 0.5.23 568-572): max_req_len = min(context_len - 1, pool - 1); max_req_input_len =
    max_req_len - 5; utils.py validate_input_length aborts len >= max_req_input_len."""
    cap = get_engine(f"sglang=={release}").request_cap
    assert (cap.by_pool, cap.prompt_short, cap.short) == (True, 7, 2)
    # SGLang's own rule, never the default (vLLM's) text (0.5.23's cites its lines)
    assert cap.prompt_source.startswith("managers/utils.py validate_input_length")
    assert "max_req_input_len = max_req_len - 5 tokens or more" in cap.prompt_source
    assert cap.prompt_tokens(131072, 27316) == 27316 - 1 - 5 - 1


@given(mml=st.integers(1, 1 << 22), pool=st.integers(0, 1 << 22), prompt=st.integers(1, 1 << 22),
       output=st.integers(0, 1 << 16))
def test_refusal_is_exactly_the_two_limits(mml, pool, prompt, output):
    """RequestCap.refusal says "" exactly when prompt + output <= tokens and prompt <= prompt_tokens;
    a request SGLang runs to the end has a prompt it accepts once output >= 5."""
    sgl = get_engine("sglang==0.5.8").request_cap
    for p in (None, pool):
        why = sgl.refusal("sglang==0.5.8", "m", prompt, output, mml, p)
        ok = prompt + output <= sgl.tokens(mml, p) and prompt <= sgl.prompt_tokens(mml, p)
        assert (why == "") == ok
        if ok is False and prompt + output <= sgl.tokens(mml, p):
            assert why.startswith("sglang==0.5.8 accepts a prompt of at most") and output < 5


def test_refusal_lines():
    sgl = get_engine("sglang==0.5.8").request_cap
    assert sgl.refusal("sglang==0.5.8", "m", 30860, 0, 131072, 30866) == (
        f"sglang==0.5.8 accepts a prompt of at most min(max_model_len, pool tokens) - 7 = 30,859 tokens at "
        f"max_model_len 131,072 with a pool of 30,866 tokens ({SGL_RULE}), but --ctx is 30,860")
    assert sgl.refusal("sglang==0.5.8", "m", 30859, 6, 131072, 30866) == (
        f"m takes at most 30,864 tokens a request at max_model_len 131,072 with a pool of 30,866 tokens "
        f"(sglang==0.5.8 runs one to min(max_model_len, pool tokens) - 2: {SGL_CUT}), but 30,859 in + 6 out = "
        f"30,865 were asked")
    assert sgl.refusal("sglang==0.5.8", "m", 30859, 5, 131072, 30866) == ""


# -- kvplan speed ------------------------------------------------------------------------------
@pytest.mark.parametrize(("engine", "mml", "longest", "line"), [
    ("vllm", "4096", 4095, f"vllm==0.19.1 accepts a prompt of at most max_model_len - 1 = 4,095 tokens at "
                           f"max_model_len 4,096 ({VLLM_RULE}), but --ctx is 4,096"),
    ("vllm", None, 131071, f"vllm==0.19.1 accepts a prompt of at most max_model_len - 1 = 131,071 tokens at "
                           f"max_model_len 131,072 ({VLLM_RULE}), but --ctx is 131,072"),
    ("sglang==0.5.8", "4096", 4089, f"sglang==0.5.8 accepts a prompt of at most max_model_len - 7 = 4,089 tokens "
                                    f"at max_model_len 4,096 ({SGL_RULE}), but --ctx is 4,090"),
    ("sglang==0.4.6", "4096", 4089, f"sglang==0.4.6 accepts a prompt of at most max_model_len - 7 = 4,089 tokens "
                                    f"at max_model_len 4,096 ({SGL_RULE}), but --ctx is 4,090"),
])
def test_speed_refuses_a_prompt_the_engine_refuses_at_its_max_model_len(capsys, engine, mml, longest, line):
    """Before: `kvplan speed llama3.1-8b --gpu h100 --ctx 131072` timed the prompt vLLM refuses
    (TPOT 15.0 ms, TTFT 12,114.1 ms), as it did --ctx 4096 --max-model-len 4096 (8.0 / 119.7 ms)."""
    base = ["speed", "llama3.1-8b", "--gpu", "h100", "--engine", engine, "--users", "1", "--json"]
    base += ["--max-model-len", mml] if mml else []
    code, out, err = cli(capsys, *base, "--ctx", longest)
    assert code == 0, err
    (p,) = json.loads(out)["formats"][0]["points"]
    assert p["fits"] and p["tpot_ms"] > 0 and p["ttft_ms"] > 0
    code, out, err = cli(capsys, *base, "--ctx", longest + 1)
    assert (code, out, one_line_error(err)) == (2, "", f"kvplan: error: {line}")


def test_speed_refuses_a_request_longer_than_the_engine_runs(capsys):
    base = ["speed", "llama3.1-8b", "--gpu", "h100", "--users", "1", "--max-model-len", "4096"]
    assert cli(capsys, *base, "--ctx", "4089", "--output", "7")[0] == 0
    code, _, err = cli(capsys, *base, "--ctx", "4089", "--output", "8")
    assert code == 2 and one_line_error(err) == ("kvplan: error: llama3.1-8b takes at most 4,096 tokens a request at "
                                                 "max_model_len 4,096, but 4,089 in + 8 out = 4,097 were asked")
    sgl = base + ["--engine", "sglang==0.5.8"]
    assert cli(capsys, *sgl, "--ctx", "4089", "--output", "5")[0] == 0
    code, _, err = cli(capsys, *sgl, "--ctx", "4089", "--output", "6")
    assert code == 2 and one_line_error(err) == (
        f"kvplan: error: llama3.1-8b takes at most 4,094 tokens a request at max_model_len 4,096 (sglang==0.5.8 runs "
        f"one to max_model_len - 2: {SGL_CUT}), but 4,089 in + 6 out = 4,095 were asked")


def test_speed_names_the_kv_format_when_it_times_several(capsys):
    code, _, err = cli(capsys, "speed", "llama3.1-8b", "--gpu", "h100", "--max-model-len", "4096", "--ctx", "4096",
                       "--kv-dtype", "bf16,fp8", "--users", "1")
    assert code == 2 and one_line_error(err).startswith("kvplan: error: KV bf16: vllm==0.19.1 accepts a prompt of "
                                                        "at most max_model_len - 1 = 4,095 tokens")


@pytest.mark.parametrize(("model", "gpu", "options", "pool_tokens"), [
    # a long max_model_len: Gemma-3-27B's own 131,072 on an H100, a pool of 30,866 tokens
    ("gemma3-27b", "h100", [], 30866),
    # a small GPU: Llama-3.1-8B on an L4 at mem_fraction_static 0.85, a pool of 26,804 tokens
    # (27,316 before SGLang's 64 MiB float32 rotary table was counted in its weights)
    ("llama3.1-8b", "l4", ["--gpu-memory-utilization", "0.85"], 26804),
])
def test_speed_sglang_prompt_beyond_its_pool_does_not_run(capsys, model, gpu, options, pool_tokens):
    """SGLang starts with max_model_len 131,072 and a shorter pool; max_req_input_len is
    min(context_len, pool tokens) - 6, so the longest prompt is pool - 7. Before: a prompt of
    pool - 6 was timed (Gemma-3-27B: TPOT 24.9 ms, TTFT 3,265.9 ms at 30,860). The pool, not
    the setting, refuses it: the rows say so (bound memory), the command does not exit 2 (another
    KV format's pool may hold it)."""
    longest = pool_tokens - 7
    base = ["speed", model, "--gpu", gpu, "--engine", "sglang==0.5.8", *options, "--users", "1", "--json"]
    code, out, err = cli(capsys, *base, "--ctx", longest)
    assert code == 0, err
    (f,) = json.loads(out)["formats"]
    assert f["max_requests_at_peak"] == 1 and f["points"][0]["fits"] and f["points"][0]["ttft_ms"] > 0
    code, out, err = cli(capsys, *base, "--ctx", longest + 1)
    assert code == 0, err
    (f,) = json.loads(out)["formats"]
    (p,) = f["points"]
    assert (f["max_requests_at_peak"], p["fits"], p["limit"], p["tpot_ms"], p["ttft_ms"]) == (0, False, "memory",
                                                                                             None, None)
    assert p["reason"] == (f"sglang==0.5.8 accepts a prompt of at most min(max_model_len, pool tokens) - 7 = "
                           f"{longest:,} tokens at max_model_len 131,072 with a pool of {pool_tokens:,} tokens "
                           f"({SGL_RULE}), but --ctx is {longest + 1:,}")


def test_pool_queries_take_the_prompt():
    pool = plan(make_request(load_model("gemma3-27b"), "h100", engine="sglang==0.5.8"))
    assert (pool.kv_cache_tokens, pool.max_prompt_tokens, pool.max_request_tokens) == (30866, 30859, 30864)
    assert pool.serves(30864, 1) and pool.serves(30864, 1, prompt_tokens=30859)
    v = pool.serves(30860, 1, prompt_tokens=30860)
    assert (v.ok, v.bound) == (False, "memory") and "accepts a prompt of at most" in v.reason
    assert (pool.max_requests(30860), pool.max_requests(30860, 30860), pool.max_requests(30864, 30859)) == (1, 0, 1)
    assert pool.runs(30860, 1, prompt_tokens=30860).reason == v.reason
    assert pool.refusal(30860) == ""  # the setting (131,072) accepts it; the pool does not


# -- kvplan recommend --------------------------------------------------------------------------
@pytest.mark.parametrize(("engine", "longest", "line"), [
    ("vllm", 4095, f"vllm==0.19.1 accepts a prompt of at most max_model_len - 1 = 4,095 tokens at max_model_len 4,096 "
                   f"({VLLM_RULE}), but --ctx is 4,096"),
    ("sglang==0.5.8", 4089, f"sglang==0.5.8 accepts a prompt of at most max_model_len - 7 = 4,089 tokens at "
                            f"max_model_len 4,096 ({SGL_RULE}), but --ctx is 4,090"),
])
def test_recommend_prompt_boundary_at_a_given_max_model_len(capsys, engine, longest, line):
    base = ["recommend", "llama3.1-8b", "--users", "8", "--gpus", "h100", "--engine", engine, "--max-model-len",
            "4096", "--weights", "bf16", "--kv-dtype", "bf16", "--json"]
    code, out, err = cli(capsys, *base, "--ctx", longest)
    assert code == 0, err
    assert {o["max_model_len"] for o in json.loads(out)["options"]} == {4096}
    code, out, err = cli(capsys, *base, "--ctx", longest + 1)
    assert (code, out, one_line_error(err)) == (2, "", f"kvplan: error: {line}")


def test_recommend_sglang_prompt_beyond_the_pool_is_rejected(capsys):
    """Llama-3.1-8B on an L4 under SGLang 0.5.8 at 0.85: max_model_len_for(26,798, 26,798) =
    26,805 but the pool holds 26,804 tokens (weights with the 64 MiB float32 rotary table), so
    SGLang aborts a prompt of 26,798 (26,804 - 6). Before: recommended (1 x l4, planned with
    max_model_len 26,805)."""
    base = ["recommend", "llama3.1-8b", "--users", "1", "--gpus", "l4", "--engine", "sglang==0.5.8",
            "--gpu-memory-utilization", "0.85", "--max-gpus", "1", "--weights", "bf16", "--kv-dtype", "bf16", "--json"]
    code, out, err = cli(capsys, *base, "--ctx", "26797")
    assert code == 0, err
    (o,) = json.loads(out)["options"]
    assert (o["gpu"], o["max_model_len"]) == ("l4", 26804)
    code, out, err = cli(capsys, *base, "--ctx", "26798")
    assert code == 1
    d = json.loads(out)
    (r,) = d["rejections"]
    assert not d["options"] and r["reason"] == "memory"
    assert r["detail"].endswith(
        f"sglang==0.5.8 accepts a prompt of at most min(max_model_len, pool tokens) - 7 = 26,797 tokens at "
        f"max_model_len 26,805 with a pool of 26,804 tokens ({SGL_RULE}), but --ctx is 26,798")


@pytest.mark.parametrize("engine", ["vllm==0.8.0", "vllm==0.11.1", "vllm==0.19.1", "trtllm"])
def test_max_model_len_1_serves_nothing(capsys, engine):
    # a one-token prompt leaves no room for the output token: vLLM 0.11.1+ refuses a prompt of max_model_len
    # (v1/engine/processor.py 0.11.1 :601-616), 0.8.0-0.11.0's server asks max_tokens 0 (SamplingParams refuses);
    # at 2 a one-token prompt runs
    code, out, err = cli(capsys, "capacity", "llama3.1-8b", "--gpu", "h100", "--engine", engine, "--max-model-len", "1")
    assert code == 1 and "starts at max_model_len 1 but aborts every prompt" in err
    code, out, err = cli(capsys, "capacity", "llama3.1-8b", "--gpu", "h100", "--engine", engine, "--max-model-len", "2")
    assert code == 0 and "verdict: fits" in out


def test_no_request_line_when_no_prompt_fits(capsys):
    # SGLang at max_model_len 2 starts (0.5.14+) but accepts no prompt: the longest request is 0 tokens, so the
    # report says none runs instead of "requests of 0 ... memory alone: 0.00x, 0 blocks each" (review h33 R7)
    code, out, err = cli(capsys, "capacity", "llama3.1-8b", "--gpu", "h100", "--engine", "sglang==0.5.23",
                         "--max-model-len", "2")
    assert code == 1
    assert "one replica (1 GPU): requests at once: 0 (the deployment aborts every prompt at max_model_len 2)" in out
    assert "requests of 0" not in out
