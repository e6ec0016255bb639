"""SGLang's rules asked in one place by every command (review h24, F2 F3 F5 F6 F7):

- `kvplan explain` on a DP-attention log predicts the weights with capacity's rule
  (kvplan.capacity.engine_weights: SGLang.weight_splits under DP attention), what-if tp too;
- `kvplan fragment` on an SGLang capacity plan runs requests up to the Pool's
  max_request_tokens (min(context_len, pool) - 2), clipping longer ones as the workload is
  clipped to max_model_len under vLLM;
- SGLang's verdict: it starts with max_model_len beyond its pool and caps requests at the pool
  (0.5.8 managers/tp_worker.py:286-293, scheduler.py:1335-1343), so `size`, `capacity` and
  `check` ask for requests it runs, and a too-long request's limit is the memory;
- the DP-attention rule (dp is DP attention for a MoE model) is CapacityRequest.dp_attention
  alone; --enable-dp-attention is an engine attribute.
"""

from __future__ import annotations

import json
from fractions import Fraction

import pytest
from helpers import cli, one_line_error
from test_sglang_dp_attention import _DP_LOG

from kvplan.capacity import make_request, plan
from kvplan.engines import get_engine
from kvplan.errors import BadInputError
from kvplan.explain import explain
from kvplan.explain_log import GIB, parse_log
from kvplan.fragment.policies import parse_policies
from kvplan.fragment.simulator import simulate
from kvplan.fragment.workloads import Workload
from kvplan.gpus import get_gpu
from kvplan.loader import load_model


# -- F2: explain's weights are capacity's ---------------------------------------------------------
def test_explain_predicts_dp_attention_weights_as_capacity_plans_them():
    """Qwen3-30B-A3B at --tp 4 --dp 4 --enable-dp-attention (the made-up log of
    test_sglang_dp_attention, which logs 16.00 GB): capacity plans tp 1 x dp 4, attention
    whole on each GPU and the experts over 4; explain took every tensor over --tp 4
    (15,285,252,096 B). Both count SGLang's float32 rotary table, 40,960 x 128 x 4 = 20,971,520 B
    (rule rope_table): 17,110,953,984 B of tensors."""
    ex = explain(parse_log(_DP_LOG), model="qwen3-30b-a3b", gpu="h100", release="0.5.4")
    cap = plan(make_request(load_model("qwen3-30b-a3b"), "h100", engine="sglang==0.5.4", tp=1, dp=4))
    line = ex.line("model weights")
    assert line.kvplan == cap.weights_bytes == 17_110_953_984 + 20_971_520
    assert line.logged == 16 * GIB == 17_179_869_184


def test_explain_what_if_tp_moves_the_weights_by_capacity_s_ratio():
    """--what-if tp=8 (SGLang's --tp 8, --dp 4: capacity's tp 2 x dp 4, 8,879,435,776 B of tensors
    + the 20,971,520 B rotary table a GPU): the logged 16 GiB x 8,900,407,296 / 17,131,925,504 =
    8,925,315,078 B."""
    ex = explain(parse_log(_DP_LOG), model="qwen3-30b-a3b", release="0.5.4", what_if={"tp": 8})
    cap8 = plan(make_request(load_model("qwen3-30b-a3b"), "h100", engine="sglang==0.5.4", tp=2, dp=4))
    assert cap8.weights_bytes == 8_879_435_776 + 20_971_520
    w = ex.what_if["lines"][0]
    assert w.label == "model weights"
    assert w.kvplan == int(16 * GIB * Fraction(8_900_407_296, 17_131_925_504)) == 8_925_315_078


# -- F3: fragment runs requests as SGLang caps them -----------------------------------------------
def _csv(tmp_path):
    path = tmp_path / "two.csv"
    path.write_text("prompt_len,output_len\n8000,192\n8000,192\n")  # 8,192 tokens each
    return path


def test_fragment_cuts_requests_to_sglang_s_cap(capsys, tmp_path):
    """llama3.1-8b on an H100 at --max-model-len 8192: SGLang runs a request to 8,190 tokens
    (context_len - 2), so two 8,192-token requests are cut to 8,190 (their output clipped, as
    SGLang clips max_new_tokens), with a warning naming the cap; vLLM runs them whole."""
    code, out, err = cli(capsys, "fragment", "llama3.1-8b", "--gpu", "h100", "--engine", "sglang==0.5.8",
                         "--max-model-len", "8192", "--workload", _csv(tmp_path), "--json")
    assert code == 0, err
    d = json.loads(out)
    assert (d["max_model_len"], d["max_request_tokens"]) == (8192, 8190)
    assert d["workload"]["clipped_requests"] == 2
    assert all(p["completed"] == 2 for p in d["policies"])
    assert ("kvplan: warning: 2 of 2 requests were cut to 8,190 tokens: a request of 8,191 is longer than "
            "sglang==0.5.8 runs one: at most 8,190 tokens at max_model_len 8,192") in err
    code, out, err = cli(capsys, "fragment", "llama3.1-8b", "--gpu", "h100", "--engine", "vllm",
                         "--max-model-len", "8192", "--workload", _csv(tmp_path), "--json")
    assert code == 0, err
    d = json.loads(out)
    assert (d["max_request_tokens"], d["workload"]["clipped_requests"]) == (8192, 0)


def test_the_simulator_refuses_a_request_beyond_the_cap():
    """The simulator's own check reads the cap it is given (Pool.max_request_tokens), not
    max_model_len alone."""
    wl = Workload("two", "test", (8000, 8000), ((192,), (192,)))
    pol = parse_policies("paged-16")[0]
    assert simulate(wl, pol, 100_000, max_model_len=8192).completed == 2
    with pytest.raises(BadInputError, match=r"^request #1 of 8192 tokens exceeds the 8190 tokens the engine runs a "
                                            r"request to \(max_model_len 8192\); clip the workload to it$"):
        simulate(wl, pol, 100_000, max_model_len=8192, max_request_tokens=8190)


# -- F5: SGLang starts with max_model_len beyond its pool ----------------------------------------
GEMMA = ("gemma3-27b", "--gpu", "h100", "--engine", "sglang==0.5.8", "--max-model-len", "128k")


def test_size_says_fits_where_sglang_runs_the_load(capsys):
    """gemma3-27b on an H100 at max_model_len 131,072: the bf16 pool holds 30,866 tokens (a
    request runs to 30,864), the fp8 pool twice that. 1 x 30,865: bf16 no, for the memory; fp8
    runs 2 of them (it read "no (max_model_len)" beside "2")."""
    code, out, err = cli(capsys, "size", *GEMMA, "--ctx", "30865", "--json")
    assert code == 0, err
    on = {f["kv_dtype"]: f["on_gpu"] for f in json.loads(out)["formats"]}
    assert (on["bf16"]["fits"], on["bf16"]["limit"], on["bf16"]["max_requests"]) == (False, "memory", 0)
    assert on["bf16"]["reason"].startswith("a request of 30,865 tokens is longer than sglang==0.5.8 runs one: at "
                                           "most 30,864 tokens when the pool holds 30,866")
    assert (on["fp8_e4m3"]["fits"], on["fp8_e4m3"]["max_requests"]) == (True, 2)


def test_capacity_and_check_agree_on_sglang_s_cap(capsys, tmp_path):
    pool = plan(make_request(load_model("gemma3-27b"), "h100", engine="sglang==0.5.8", max_model_len=131_072))
    assert (pool.kv_cache_tokens, pool.max_request_tokens) == (30_866, 30_864)
    assert pool.planned().ok  # SGLang starts and runs requests of up to 30,864 tokens,
    assert pool.verdict().bound == "memory"  # but not one of max_model_len: the plan's verdict fails
    assert pool.runs(30_864).ok
    v = pool.runs(30_865)
    assert (v.ok, v.bound) == (False, "memory")
    code, out, _ = cli(capsys, "capacity", *GEMMA, "--ctx", "30864")
    assert code == 0 and "verdict: fits" in out
    code, _, err = cli(capsys, "capacity", *GEMMA, "--ctx", "30865")
    assert code == 1
    assert "does not fit: a request of 30,865 tokens is longer than sglang==0.5.8 runs one" in err
    # check: a load of 30,864 passes; "max_model_len_fits" asks for a request of max_model_len
    # (131,070 under SGLang), which does not run
    p = tmp_path / "plan.yaml"
    p.write_text("deployments:\n  - name: g\n    model: gemma3-27b\n    gpu: h100\n    engine: sglang==0.5.8\n"
                 "    max_model_len: 131072\n    requires:\n      min_concurrency:\n"
                 "        - {ctx: 30864, requests: 1}\n")
    code, out, _ = cli(capsys, "check", p, "--json")
    res = {r["requirement"]: r for r in json.loads(out)["deployments"][0]["requirements"]}
    assert code == 1
    assert res["min_concurrency@30864"]["passed"] is True
    assert res["max_model_len_fits"]["passed"] is False
    assert res["max_model_len_fits"]["message"].startswith("a request of 131,070 tokens is longer than "
                                                           "sglang==0.5.8 runs one: at most 30,864 tokens")


def test_vllm_still_refuses_a_max_model_len_beyond_its_pool():
    pool = plan(make_request(load_model("llama3.1-8b"), "h100", engine="vllm", max_model_len=131_072,
                             gpu_memory_utilization=0.3))
    assert (pool.kv_cache_tokens, pool.max_request_tokens) == (54_320, 131_072)
    v = pool.verdict()
    assert not v.ok and "refuses to start" in v.reason


# -- F6/F7: one DP-attention rule; the flag is the engine's --------------------------------------
def test_engines_take_the_request_s_dp_attention():
    assert get_engine("sglang").dp_attention_flag and not get_engine("vllm").dp_attention_flag
    dense = make_request(load_model("llama3.1-8b"), "h100", engine="sglang", dp=4)
    assert dense.dp_attention == 1
    # SGLang's splits follow the dp_attention it is given, not its own reading of dp
    lite = load_model("deepseek-v2-lite")
    assert get_engine("sglang").weight_splits(lite, get_gpu("h100"), tp=1, dp_attention=1) == ()
    assert get_engine("sglang").weight_splits(lite, get_gpu("h100"), tp=1, dp_attention=2) != ()
    with pytest.raises(BadInputError) as err:
        make_request(load_model("deepseek-v3"), "h200", engine="raw", dp=8, weights="fp8", dp_attention=True)
    assert one_line_error(f"kvplan: error: {err.value}\n") == (
        "kvplan: error: dp_attention is SGLang's --enable-dp-attention; raw has no such flag")
