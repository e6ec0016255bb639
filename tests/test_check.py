"""`kvplan check`: plans, requirements with their numbers, exit codes, JUnit output."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from kvplan.cli.main import run
from kvplan.errors import BadInputError
from kvplan.plan import check_plan, junit_xml, load_plan

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def write(tmp_path, text: str) -> str:
    p = tmp_path / "plan.yaml"
    p.write_text(text)
    return str(p)


GOOD = """
deployments:
  - name: chat
    model: llama3.1-8b
    gpu: h100
    max_model_len: 8k
    requires:
      min_concurrency: [{ctx: 8k, requests: 50}]
      min_kv_tokens: 400k
      min_headroom: 1GiB
"""


def test_example_plan_passes(capsys):
    assert run(["check", str(EXAMPLES / "capacity.yaml")]) == 0
    assert "0 failed" in capsys.readouterr().out


def test_failing_example_exits_1_with_numbers(capsys):
    assert run(["check", str(EXAMPLES / "capacity-too-small.yaml")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0].startswith("kvplan: note: llama-70b-one-l4: max_model_len 8k is 8,192 tokens here")
    err = err[1:]
    assert len(err) == 1 and err[0].startswith("kvplan: check failed: 3 of 3 requirements")
    assert "exceed the engine's" in err[0]


def test_requirements_use_exact_block_arithmetic(tmp_path):
    report = check_plan(load_plan(write(tmp_path, GOOD)))
    d = report.deployments[0]
    cap = d.capacity
    by = {r.requirement: r for r in d.results}
    # 8k tokens = 512 blocks of 16; 50 requests need 25,600 blocks
    assert by["min_concurrency@8192"].measured == cap.num_blocks // 512
    assert by["min_concurrency@8192"].passed == (cap.num_blocks >= 25_600)
    assert by["min_kv_tokens"].measured == cap.kv_cache_tokens and by["min_kv_tokens"].required == 409_600
    # headroom = (usable blocks - 25,600) * (65,536 B * 32 layers)
    assert by["min_headroom"].measured == (cap.num_blocks - 1 - 25_600) * 2_097_152
    assert report.passed


def test_failures_are_named_with_numbers(tmp_path, capsys):
    plan = write(tmp_path, GOOD.replace("requests: 50", "requests: 500"))
    assert run(["check", plan, "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    failed = [r for d in out["deployments"] for r in d["requirements"] if not r["passed"]]
    assert [r["requirement"] for r in failed] == ["min_concurrency@8192", "min_headroom"]
    assert out["deployments"][0]["requirements"][0]["requirement"] == "starts"
    assert "500 requests of 8,192 tokens need 256,000 blocks" in failed[0]["message"]


def test_junit_report(tmp_path):
    plan = write(tmp_path, GOOD.replace("requests: 50", "requests: 500"))
    junit = tmp_path / "out" / "report.xml"
    junit.parent.mkdir()
    assert run(["check", plan, "--junit", str(junit)]) == 1
    root = ET.fromstring(junit.read_text())
    suite = root.find("testsuite")
    assert suite.get("tests") == "5" and suite.get("failures") == "2"
    names = [c.get("name") for c in suite.findall("testcase") if c.find("failure") is not None]
    assert names == ["min_concurrency@8192", "min_headroom"]
    assert junit_xml(check_plan(load_plan(plan))).startswith("<?xml")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("deployments: []", "deployments: List should have at least 1 item"),
        ("deployments:\n  - {name: a, model: llama3.1-8b}", "give gpu"),
        ("deployments:\n  - {name: a, model: llama3.1-8b, gpu: h100, tp: 0}", "deployments.0.tp"),
        ("deployments:\n  - {name: a, model: llama3.1-8b, gpu: h100, colour: red}", "deployments.0.colour: unknown field"),
        ("deployments:\n  - {name: a, model: llama3.1-8b, gpu: h100, gpu_memory_utilization: 1.5}",
         "gpu_memory_utilization"),
        ("deployments:\n  - {name: a, model: llama3.1-8b, gpu: h100, max_model_len: 3q}", "max_model_len"),
        ("deployments:\n  - {name: a, model: llama3.1-8b, gpu: h300}", "unknown GPU 'h300'"),
        ("deployments:\n  - {name: a, model: llama3.1-8b, gpu: h100, tp: 3}", "tp=3 does not divide"),
        ("deployments:\n  - {name: a, model: llama3.1-8b, gpu: h100}\n  - {name: a, model: llama3.1-8b, gpu: l4}",
         "used twice"),
        ("deployments: [oops", "malformed YAML"),
        ("deployments:\n  - {name: a, model: llama3.1-8b, gpu: h100, requires: {min_concurrency: "
         "[{ctx: 8k, requests: 5}, {ctx: 8192, requests: 5}]}}", "5 requests of 8,192 tokens is listed twice"),
    ],
)
def test_bad_plans_exit_2_with_one_line(tmp_path, capsys, text, message):
    assert run(["check", write(tmp_path, text)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("kvplan: error:") and message in err[0], err


def test_defaults_merge_into_deployments(tmp_path):
    plan = load_plan(write(tmp_path, "defaults: {gpu: h100, kv_dtype: fp8}\n"
                                     "deployments:\n  - {name: a, model: llama3.1-8b}\n"
                                     "  - {name: b, model: llama3.1-8b, kv_dtype: bf16}\n"))
    assert [d.settings["kv_format"] for d in plan.deployments] == ["fp8", "bf16"]
    assert plan.deployments[0].settings["gpu"] == "h100"


def test_missing_plan_file():
    with pytest.raises(BadInputError, match="no such file"):
        load_plan("/nonexistent/plan.yaml")


def test_concurrency_longer_than_max_model_len_fails_with_the_reason(tmp_path):
    """Issue 12: `check` passed a requirement of 32k-token concurrency with max_model_len 8k."""
    report = check_plan(load_plan(write(tmp_path, """
deployments:
  - name: chat
    model: llama3.1-8b
    gpu: h100
    max_model_len: 8k
    requires:
      min_concurrency: [{ctx: 32k, requests: 1}]
""")))
    (r,) = [r for r in report.deployments[0].results if r.requirement.startswith("min_concurrency")]
    assert not r.passed and r.measured == 0
    assert "longer than max_model_len 8,192" in r.message
    assert not report.passed


def test_concurrency_above_max_num_seqs_fails_with_the_reason(tmp_path):
    report = check_plan(load_plan(write(tmp_path, """
deployments:
  - name: chat
    model: llama3.1-8b
    gpu: h100
    max_model_len: 2k
    max_num_seqs: 64
    requires:
      min_concurrency: [{ctx: 1k, requests: 100}]
""")))
    (r,) = [r for r in report.deployments[0].results if r.requirement.startswith("min_concurrency")]
    assert not r.passed and r.measured == 64 and "exceed max_num_seqs 64" in r.message


def _plan_with(tmp_path, requires: str) -> str:
    return write(tmp_path, f"""
deployments:
  - name: chat
    model: llama3.1-8b
    gpu: h100
    max_model_len: 8k
    requires:
{requires}
""")


def test_requirements_at_exactly_the_boundary_pass(tmp_path):
    """Mutation pass: `>=` must stay `>=` (a pool of exactly the required tokens or headroom passes)."""
    from kvplan.capacity import plan_capacity
    from kvplan.loader import load_model

    cap = plan_capacity(load_model("llama3.1-8b"), "h100", max_model_len=8192)
    load = 50 * 512  # 50 requests of 8k: 512 blocks each
    headroom = (cap.pool.usable_blocks - load) * cap.block_unit_bytes
    text = (f"      min_kv_tokens: {cap.kv_cache_tokens}\n"
            f"      min_concurrency: [{{ctx: 8k, requests: 50}}]\n"
            f"      min_headroom: {headroom}\n")
    report = check_plan(load_plan(_plan_with(tmp_path, text)))
    by = {r.requirement: r for r in report.deployments[0].results}
    assert by["min_kv_tokens"].passed and by["min_kv_tokens"].measured == by["min_kv_tokens"].required
    assert by["min_headroom"].passed and by["min_headroom"].measured == headroom
    over = text.replace(f"min_kv_tokens: {cap.kv_cache_tokens}", f"min_kv_tokens: {cap.kv_cache_tokens + 1}")
    over = over.replace(f"min_headroom: {headroom}", f"min_headroom: {headroom + 1}")
    report = check_plan(load_plan(_plan_with(tmp_path, over)))
    by = {r.requirement: r for r in report.deployments[0].results}
    assert not by["min_kv_tokens"].passed and not by["min_headroom"].passed


def test_headroom_is_left_after_the_largest_load(tmp_path):
    """Mutation pass: headroom subtracts the LARGEST min_concurrency load (max, not min)."""
    from kvplan.capacity import plan_capacity
    from kvplan.loader import load_model

    cap = plan_capacity(load_model("llama3.1-8b"), "h100", max_model_len=8192)
    text = ("      min_concurrency: [{ctx: 1k, requests: 10}, {ctx: 8k, requests: 40}]\n"
            "      min_headroom: 1\n")
    report = check_plan(load_plan(_plan_with(tmp_path, text)))
    by = {r.requirement: r for r in report.deployments[0].results}
    # loads: 10 x 64 blocks = 640; 40 x 512 = 20,480 -> the larger is subtracted
    assert by["min_headroom"].measured == (cap.pool.usable_blocks - 20_480) * cap.block_unit_bytes


def test_dp_requirements_count_one_replica_and_say_so(tmp_path):
    """min_concurrency and min_kv_tokens count one replica (what each engine instance admits);
    with dp the message says the deployment has that many replicas."""
    from kvplan.capacity import plan as plan_pool, make_request
    from kvplan.loader import load_model

    p = tmp_path / "p.yaml"
    p.write_text("deployments:\n  - {name: moe, model: mixtral-8x7b, gpu: h100, tp: 2, dp: 2, max_model_len: 32k,\n"
                 "     requires: {min_concurrency: [{ctx: 8k, requests: 8}], min_kv_tokens: 100k}}\n")
    rep = check_plan(load_plan(p))
    pool = plan_pool(make_request(load_model("mixtral-8x7b"), "h100", tp=2, dp=2, max_model_len=32768))
    tokens, conc = rep.deployments[0].results[2:]
    assert conc.measured == pool.max_requests(8192) and tokens.measured == pool.kv_cache_tokens
    assert conc.message.endswith("(per replica; the deployment has 2 replicas)")
    assert tokens.message.endswith("(per replica; the deployment has 2 replicas)")


def test_a_deployment_wide_plan_error_reads_as_one_line(tmp_path, capsys):
    """A check on the deployment as a whole (a name and its vLLM alias both given) printed
    "deployments.0.Value error, give ..." (pydantic's prefix glued to the location)."""
    p = tmp_path / "p.yaml"
    p.write_text("deployments:\n  - {name: a, model: llama3.1-8b, gpu: h100, tp: 2, tensor_parallel_size: 2}\n")
    assert run(["check", str(p)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"kvplan: error: {p}: deployments.0: give tensor_parallel_size or tp, not both"


def test_junit_names_each_requirement_once(tmp_path):
    """A ctx listed twice (a pass and a fail) gets two test cases CI can tell apart."""
    plan = write(tmp_path, GOOD.replace("[{ctx: 8k, requests: 50}]", "[{ctx: 8k, requests: 50}, {ctx: 8k, requests: 500}]"))
    root = ET.fromstring(junit_xml(check_plan(load_plan(plan))))
    names = [c.get("name") for c in root.iter("testcase")]
    assert len(names) == len(set(names))
    assert {"min_concurrency@8192x50", "min_concurrency@8192x500"} <= set(names)


def test_check_says_how_it_reads_a_suffix_as_capacity_does(tmp_path, capsys):
    plan = write(tmp_path, GOOD.replace("max_model_len: 8k", "max_model_len: 32k"))
    run(["check", plan])
    err = capsys.readouterr().err
    assert "note: chat: max_model_len 32k is 32,768 tokens here (k = 1,024); vLLM reads 32k as 32,000" in err


# -- review h25 (F1, F2, F10-F12) ------------------------------------------------------------------
OVERRIDE = """
deployments:
  - name: override
    model: llama3.1-8b
    gpu: h100
    max_model_len: 8192
    num_gpu_blocks_override: 1000
    requires: {min_headroom: 40GiB, min_concurrency: [{ctx: 8k, requests: 1}]}
"""


def test_headroom_counts_the_blocks_an_override_allocates(tmp_path, capsys):
    """vLLM allocates num_gpu_blocks_override blocks whatever the memory holds (v0.19.1
    v1/core/kv_cache_utils.py 823-835): 1,000 blocks, 999 usable, less one 8k request's 512
    leave 487 x 2,097,152 B. The memory left (58,138,726,400 B less the load: 57,064,984,576 B)
    passed 40 GiB before."""
    assert run(["check", write(tmp_path, OVERRIDE), "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    by = {r["requirement"]: r for r in out["deployments"][0]["requirements"]}
    assert by["min_headroom"]["measured"] == 487 * 2_097_152 == 1_021_313_024
    assert not by["min_headroom"]["passed"] and by["min_headroom"]["required"] == 40 << 30
    assert by["min_headroom"]["message"] == (
        "the pool's 999 usable blocks (--num-gpu-blocks-override) less the load (512 blocks) leave 487 x 2,097,152 B "
        "= 1,021,313,024 B per GPU; required 42,949,672,960 B")
    cap = out["deployments"][0]["capacity"]
    assert (cap["num_blocks"], cap["kv_cache_bytes"], cap["kv_pool_bytes"]) == (1000, 2_097_152_000, 58_138_726_400)
    # the other requirements already asked the overridden pool
    assert by["min_concurrency@8192"]["measured"] == 1 and by["starts"]["passed"]


def test_capacity_says_what_an_override_allocates(capsys):
    code, out = run(["capacity", "llama3.1-8b", "--gpu", "h100", "--max-model-len", "8192",
                     "--num-gpu-blocks-override", "1000"]), capsys.readouterr().out
    assert code == 0
    assert ("(vLLM allocates only these: 1,000 x 2,097,152 B = 2,097,152,000 B per GPU of the 58,138,726,400 B KV "
            "pool; the rest of the KV pool stays unallocated)") in " ".join(out.split())


def test_an_override_beyond_the_gpu_does_not_fit(capsys):
    """100,000 blocks x 2,097,152 B = 209,715,200,000 B on an 85,029,027,840 B H100: vLLM runs out
    of memory allocating them (said "fits" before, with 195 requests of 8k)."""
    assert run(["capacity", "llama3.1-8b", "--gpu", "h100", "--max-model-len", "8192",
                "--num-gpu-blocks-override", "100000", "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert not out["starts"] and not out["fits"]
    assert out["reasons"][0] == (
        "stage 0: weights 16,094,076,928 B + activations 2,024,886,272 B + other 268,435,456 B + KV cache "
        "209,715,200,000 B (--num-gpu-blocks-override: 100,000 blocks) exceed the GPU's 85,029,027,840 B")
    # 30,000 blocks (62,914,560,000 B) exceed the 58,138,726,400 B pool but not the GPU: vLLM allocates them
    assert run(["capacity", "llama3.1-8b", "--gpu", "h100", "--max-model-len", "8192",
                "--num-gpu-blocks-override", "30000"]) == 0
    assert "more than the KV pool: vLLM allocates them beyond its memory budget" in capsys.readouterr().out


NO_START = """
deployments:
  - {name: big-on-l4, model: llama3.1-70b, gpu: l4, requires: {max_model_len_fits: false}}
"""


def test_a_deployment_that_cannot_start_fails_without_requirements(tmp_path, capsys):
    """Llama-3.1-70B bf16 (141 GB of weights) on one L4 passed with "0 passed, 0 failed", exit 0."""
    plan = write(tmp_path, NO_START)
    junit = tmp_path / "r.xml"
    assert run(["check", plan, "--junit", str(junit)]) == 1
    out, err = capsys.readouterr()
    assert "0 passed, 1 failed" in out
    reason = ("no memory left for the KV cache on stage 0: weights 141,140,967,424 B + activations 577,136,230 B + "
              "other 0 B exceed the engine's 21,289,079,144 B")
    assert err.strip() == f"kvplan: check failed: 1 of 1 requirements (big-on-l4: {reason})"
    suite = ET.fromstring(junit.read_text()).find("testsuite")
    assert (suite.get("tests"), suite.get("failures")) == ("1", "1")
    (case,) = suite.findall("testcase")
    assert case.get("name") == "starts" and case.find("failure").get("message") == reason
    assert run(["check", plan, "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert (out["passed"], out["num_requirements"], out["num_failed"]) == (False, 1, 1)


def test_vllm_refusing_to_start_fails_the_check(tmp_path, capsys):
    """Llama-3.1-8B on an L4 at its own 131,072 tokens: vLLM's start-up check refuses (a pool of
    4,637,419,880 B, 35,376 tokens at most), even with max_model_len_fits switched off."""
    plan = write(tmp_path, "deployments:\n  - {name: a, model: llama3.1-8b, gpu: l4, "
                           "requires: {max_model_len_fits: false}}\n")
    assert run(["check", plan, "--json"]) == 1
    (r,) = json.loads(capsys.readouterr().out)["deployments"][0]["requirements"]
    assert r["requirement"] == "starts" and not r["passed"]
    assert r["message"] == ("vllm==0.19.1 refuses to start: one request of max_model_len 131,072 needs "
                            "17,179,869,184 B of KV cache, more than the 4,637,419,880 B available; the estimated "
                            "maximum model length is 35,376")


def test_a_plan_without_requirements_says_what_it_checked(tmp_path, capsys):
    plan = write(tmp_path, "deployments:\n  - {name: a, model: llama3.1-8b, gpu: h100, max_model_len: 8k, "
                           "requires: {max_model_len_fits: false}}\n")
    assert run(["check", plan]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert ("a │ starts │ pass │ vllm==0.19.1 starts: weights 16,094,076,928 B per GPU, KV cache 443,552 tokens in "
            "27,722 blocks") in out
    assert "1 passed, 0 failed" in out


@pytest.mark.parametrize(
    ("text", "line"),
    [
        # F10: a field of `defaults:` was reported as deployments.0.<field>
        ("defaults: {gpu_memory_utilisation: 0.8}\ndeployments:\n  - {name: a, model: llama3.1-8b, gpu: h100}\n",
         "defaults.gpu_memory_utilisation: unknown field; did you mean gpu_memory_utilization?"),
        ("defaults: {gpu_memory_utilization: 1.5}\ndeployments:\n  - {name: a, model: llama3.1-8b, gpu: h100}\n",
         "defaults.gpu_memory_utilization: Input should be less than or equal to 1"),
        ("defaults: {requires: {min_headrom: 1GiB}}\n"
         "deployments:\n  - {name: a, model: llama3.1-8b, gpu: h100, requires: {min_kv_tokens: 1}}\n",
         "defaults.requires.min_headrom: unknown field; did you mean min_headroom?"),
        # the deployment's own field stays its own, also where defaults give the same name
        ("defaults: {gpu_memory_utilization: 0.8}\n"
         "deployments:\n  - {name: a, model: llama3.1-8b, gpu: h100, gpu_memory_utilization: 1.5}\n",
         "deployments.0.gpu_memory_utilization: Input should be less than or equal to 1"),
        ("deployments:\n  - {name: a, model: llama3.1-8b, gpu: h100, gpu_memory_utilisation: 0.8}\n",
         "deployments.0.gpu_memory_utilisation: unknown field; did you mean gpu_memory_utilization?"),
        ("deployments:\n  - {name: a, model: llama3.1-8b, gpu: h100, tensor_paralel_size: 2}\n",
         "deployments.0.tensor_paralel_size: unknown field; did you mean tensor_parallel_size, data_parallel_size, "
         "pipeline_parallel_size?"),
        # F11: the misspelt top-level key was hidden behind "deployments: required field is missing"
        ("deployment:\n  - {name: a, model: llama3.1-8b, gpu: h100}\n",
         "deployment: unknown field; did you mean deployments? (and 1 more problems)"),
        ("default: {gpu: h100}\ndeployments:\n  - {name: a, model: llama3.1-8b, gpu: h100}\n",
         "default: unknown field; did you mean defaults?"),
        ("deployments:\n  - {name: a, model: llama3.1-8b, gpu: h100, requires: {min_concurrency: "
         "[{ctx: 1k, request: 2}]}}\n",
         "deployments.0.requires.min_concurrency.0.request: unknown field; did you mean requests? "
         "(and 1 more problems)"),
    ],
)
def test_plan_errors_name_the_field_where_it_was_written(tmp_path, capsys, text, line):
    plan = write(tmp_path, text)
    assert run(["check", plan]) == 2
    assert capsys.readouterr().err.strip() == f"kvplan: error: {plan}: {line}"


SWA = """
deployments:
  - {name: oss, model: gpt-oss-120b, gpu: h100, engine: sglang, max_model_len: 64k, disable_hybrid_swa_memory: true}
"""


def test_sglang_disable_hybrid_swa_memory_is_a_plan_field(tmp_path, capsys):
    """SGLang's --disable-hybrid-swa-memory: the request field `kvplan capacity
    --disable-hybrid-kv-cache-manager` sets (one token pool; without it sglang==0.5.23, like 0.5.8 on
    Hopper, gives gpt-oss's window layers a pool of their own, which kvplan refuses). Bare sglang is
    0.5.23: mem_fraction_static 0.830 (0.5.8: 0.835; its prefill CUDA graphs reserve 464 MiB more),
    int(85,029,027,840 x 0.83) - 65,248,815,744 - 454,514,913 - 33,554,432 (the float32 rotary table,
    YaRN 4,096 x 32 rows x 64) = 4,837,208,018 B of pool, 36 layers x 8 x (64 + 64) x 2 = 73,728 B a
    token: 65,608 tokens (71,338 under 0.5.8)."""
    assert run(["check", write(tmp_path, SWA), "--json"]) == 0
    cap = json.loads(capsys.readouterr().out)["deployments"][0]["capacity"]
    assert run(["capacity", "gpt-oss-120b", "--gpu", "h100", "--engine", "sglang", "--max-model-len", "65536",
                "--disable-hybrid-kv-cache-manager", "--json"]) == 0
    want = json.loads(capsys.readouterr().out)
    assert cap["disable_hybrid_kv_cache_manager"] is True
    assert (cap["num_blocks"], cap["kv_cache_tokens"]) == (want["num_blocks"], want["kv_cache_tokens"]) == (65_608, 65_608)
    plan = write(tmp_path, SWA.replace(", disable_hybrid_swa_memory: true", ""))
    assert run(["check", plan]) == 2
    assert "SWAKVPool" in capsys.readouterr().err
    plan = write(tmp_path, SWA.replace("engine: sglang, ", ""))
    assert run(["check", plan]) == 2
    assert capsys.readouterr().err.strip().endswith(
        "deployments.0: disable_hybrid_swa_memory is SGLang's name (engine: sglang); use disable_hybrid_kv_cache_manager")


NOTED = """
deployments:
  - name: gemma
    model: gemma3-27b
    gpu: h100
    engine: vllm==0.14.0
    kv_dtype: bf16
    requires:
      max_model_len_fits: false
      min_concurrency: [{ctx: 8192, requests: 2}]
  - name: llama
    model: llama3.1-8b
    gpu: h100
    max_model_len: 8192
    requires:
      min_concurrency: [{ctx: 8192, requests: 4}]
"""


def test_check_warns_the_pools_caveats_on_stderr_as_capacity_does(tmp_path, capsys):
    """The pool's caveats (Pool.notes) were in --json only. They go to stderr as `kvplan capacity`
    warns them, led by the deployments they are about where not about all (as sweep leads with its
    pools); stdout's table and count line are unchanged. Gemma-3-27B under vLLM 0.14.0 starts with
    131,072 tokens one request of which outgrows the pool (tests/test_same_figures_h26.py)."""
    from test_same_figures_h26 import GEMMA_014

    plan = write(tmp_path, NOTED)
    assert run(["check", plan]) == 0
    out, err = capsys.readouterr()
    assert err.splitlines() == [f"kvplan: warning: gemma: {GEMMA_014}"]
    assert "warning" not in out and out.splitlines()[-1] == "5 passed, 0 failed"
    assert run(["check", plan, "--json"]) == 0
    out, json_err = capsys.readouterr()
    assert json_err == err
    assert [d["capacity"]["notes"] for d in json.loads(out)["deployments"]] == [[GEMMA_014], []]
    assert run(["capacity", "gemma3-27b", "--gpu", "h100", "--engine", "vllm==0.14.0", "--kv-dtype", "bf16"]) == 1
    assert f"kvplan: warning: {GEMMA_014}" in capsys.readouterr().err.splitlines()
    # about every deployment (here the only one): the line as capacity prints it, without a name
    assert run(["check", write(tmp_path, NOTED.split("  - name: llama")[0])]) == 0
    assert capsys.readouterr().err.splitlines() == [f"kvplan: warning: {GEMMA_014}"]
