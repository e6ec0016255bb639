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
    assert len(err) == 1 and err[0].startswith("kvplan: check failed: 2 of 2 requirements")
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
    # headroom = pool - 25,600 blocks * (65,536 B * 32 layers)
    assert by["min_headroom"].measured == cap.kv_pool_bytes - 25_600 * 2_097_152
    assert report.passed


def test_failures_are_named_with_numbers(tmp_path, capsys):
    plan = write(tmp_path, GOOD.replace("requests: 50", "requests: 500"))
    assert run(["check", plan, "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    failed = [r for d in out["deployments"] for r in d["requirements"] if not r["passed"]]
    assert [r["requirement"] for r in failed] == ["min_concurrency@8192", "min_headroom"]
    assert "500 requests of 8,192 tokens need 256,000 blocks" in failed[0]["message"]


def test_junit_report(tmp_path):
    plan = write(tmp_path, GOOD.replace("requests: 50", "requests: 500"))
    junit = tmp_path / "out" / "report.xml"
    junit.parent.mkdir()
    assert run(["check", plan, "--junit", str(junit)]) == 1
    root = ET.fromstring(junit.read_text())
    suite = root.find("testsuite")
    assert suite.get("tests") == "4" and suite.get("failures") == "2"
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
    headroom = cap.kv_pool_bytes - load * cap.block_unit_bytes
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
    assert by["min_headroom"].measured == cap.kv_pool_bytes - 20_480 * cap.block_unit_bytes


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
    tokens, conc = rep.deployments[0].results[1:]
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
