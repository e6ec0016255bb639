"""vLLM 0.33.0's other spelling of its --enable-x / --disable-x switches (rule enable_disable_inverse:
vllm/utils/argparse_utils.py EnableDisableAction pairs each BooleanOptionalAction --enable-x with
--disable-x and the reverse). kvplan reads it as the --no- spelling on 0.33.0+, and refuses it with one
line on the releases whose argparse has no such pairing (0.32.0 and before)."""

from __future__ import annotations

import json

import pytest
from helpers import cli, one_line_error

from kvplan.engines.base import Release
from kvplan.engines.vllm import BOOK
from kvplan.errors import BadInputError
from kvplan.vllm_args import parse_vllm

LLAMA = "vllm serve meta-llama/Llama-3.1-8B {flag} --kv-cache-memory-bytes 20000000000"
GEMMA = "vllm serve gemma3-27b {flag} --kv-cache-memory-bytes 20000000000 --max-model-len 32768"
QWEN_MOE = ("VLLM_USE_V2_MODEL_RUNNER=0 vllm serve qwen3-30b-a3b -tp 2 {flag} --kv-cache-memory-bytes 20000000000 "
            "--max-model-len 32768")

# (command, the 0.33.0 inverse spelling, the --no- spelling every release takes, num_blocks on 0.33.0 (H100)):
# Llama-3.1-8B 20e9 B // (16 tokens x 131,072 B) = 9,536 blocks; Gemma 3 27B with the hybrid manager on
# (its default) 15,258 blocks, 2,461 with --disable-hybrid-kv-cache-manager; Qwen3-30B-A3B on V1 at tp 2 25,431.
CASES = [
    (LLAMA, "--disable-prefix-caching", "--no-enable-prefix-caching", 9_536),
    (GEMMA, "--enable-hybrid-kv-cache-manager", "--no-disable-hybrid-kv-cache-manager", 15_258),
    (QWEN_MOE, "--disable-expert-parallel", "--no-enable-expert-parallel", 25_431),
]


def _capacity(capsys, command: str, release: str) -> tuple[int, dict | None, str]:
    code, out, err = cli(capsys, "capacity", "--from-vllm", command, "--gpu", "h100", "--engine",
                         f"vllm=={release}", "--json")
    return code, (json.loads(out) if code == 0 else None), err


@pytest.mark.parametrize(("command", "inverse", "negated", "num_blocks"), CASES)
def test_the_inverse_spelling_plans_as_the_no_spelling_on_0_33(capsys, command, inverse, negated, num_blocks):
    code, got, _ = _capacity(capsys, command.format(flag=inverse), "0.33.0")
    code_no, want, _ = _capacity(capsys, command.format(flag=negated), "0.33.0")
    assert (code, code_no) == (0, 0)
    assert got["num_blocks"] == want["num_blocks"] == num_blocks
    assert got == want


def test_the_hybrid_manager_spelling_sets_the_value_that_changes_the_pool(capsys):
    """--enable-hybrid-kv-cache-manager is the manager on (15,258 blocks), not off (2,461): the mapping is
    the right way round where it shows."""
    assert _capacity(capsys, GEMMA.format(flag="--disable-hybrid-kv-cache-manager"), "0.33.0")[1]["num_blocks"] \
        == 2_461
    assert _capacity(capsys, GEMMA.format(flag="--enable-hybrid-kv-cache-manager"), "0.33.0")[1]["num_blocks"] \
        == 15_258


@pytest.mark.parametrize(("inverse", "negated", "option"), [
    ("--disable-prefix-caching", "--no-enable-prefix-caching", "enable_prefix_caching"),
    ("--disable-expert-parallel", "--no-enable-expert-parallel", "enable_expert_parallel"),
    ("--enable-hybrid-kv-cache-manager", "--no-disable-hybrid-kv-cache-manager", "disable_hybrid_kv_cache_manager"),
    ("--disable_prefix_caching", "--no-enable-prefix-caching", "enable_prefix_caching"),  # FlexibleArgumentParser
])
def test_the_inverse_spelling_is_the_negation(inverse, negated, option):
    got = parse_vllm(f"vllm serve m {inverse} --max-model-len 4096", "0.33.0")
    assert got.options == {"max_model_len": 4096, option: False}
    assert got.options == parse_vllm(f"vllm serve m {negated} --max-model-len 4096", "0.33.0").options
    assert got.options == parse_vllm(f"vllm serve m {negated} --max-model-len 4096", Release.parse("0.33.0")).options


@pytest.mark.parametrize(("command", "inverse", "negated", "num_blocks"), CASES)
@pytest.mark.parametrize("release", ["0.32.0", "0.24.0", "0.8.0"])
def test_refused_where_the_release_does_not_take_it(capsys, command, inverse, negated, num_blocks, release):
    code, out, err = cli(capsys, "capacity", "--from-vllm", command.format(flag=inverse), "--gpu", "h100",
                         "--engine", f"vllm=={release}")
    assert code == 2 and out == ""
    assert one_line_error(err) == (
        f"kvplan: error: {inverse}: vLLM {release} does not take this spelling (vLLM 0.33.0+ reads it as {negated}: "
        f"vllm/utils/argparse_utils.py EnableDisableAction); write {negated}")


def test_refused_on_the_default_release(capsys):
    """A bare --engine vllm plans 0.19.1 (vllm_rules.DEFAULT_RELEASE), which does not take it."""
    code, _, err = cli(capsys, "capacity", "--from-vllm", LLAMA.format(flag="--disable-prefix-caching"),
                       "--gpu", "h100")
    assert code == 2 and "vLLM 0.19.1 does not take this spelling" in one_line_error(err)
    with pytest.raises(BadInputError, match="vLLM 0.19.1 does not take this spelling"):
        parse_vllm("vllm serve m --disable-prefix-caching")


def test_the_release_comes_from_the_rule_row():
    firsts = [r for r in BOOK.releases if BOOK.value("enable_disable_inverse", r)]
    assert str(firsts[0]) == "0.33.0" and firsts == [r for r in BOOK.releases if r >= Release.parse("0.33.0")]
    assert "EnableDisableAction" in BOOK.rule("enable_disable_inverse", firsts[0]).source


def test_a_plan_file_reads_it_by_its_engine(tmp_path):
    from kvplan.plan import check_plan, load_plan

    body = ('deployments:\n  - name: chat\n    gpu: h100\n    engine: "vllm=={release}"\n'
            '    from_vllm: "vllm serve llama3.1-8b --disable-prefix-caching --kv-cache-memory-bytes 20000000000"\n')
    path = tmp_path / "plan.yaml"
    path.write_text(body.format(release="0.33.0"))
    assert check_plan(load_plan(path)).deployments[0].capacity.num_blocks == 9_536
    path.write_text(body.format(release="0.32.0"))
    with pytest.raises(BadInputError, match=r"from_vllm: --disable-prefix-caching: vLLM 0.32.0 does not take this"):
        check_plan(load_plan(path))


@pytest.mark.parametrize(("command", "message"), [
    # --no-<inverse> is not one of EnableDisableAction's strings (only --no-enable-x / --no-disable-x)
    ("--no-disable-prefix-caching", "--no-disable-prefix-caching: a vllm flag kvplan does not know"),
    ("--no-enable-hybrid-kv-cache-manager", "--no-enable-hybrid-kv-cache-manager: a vllm flag kvplan does not know"),
    # the pairing is for --enable- / --disable- flags only: --enforce-eager has --no-enforce-eager only, and
    # --disable-log-stats is store_true (engine/arg_utils.py :1920), not paired
    ("--disable-enforce-eager", "--disable-enforce-eager: a vllm flag kvplan does not know"),
    ("--enable-log-stats", "--enable-log-stats: a vllm flag kvplan does not know"),
    ("--disable-prefix-caching=1", "--disable-prefix-caching takes no value"),
    # the inverse of a flag kvplan refuses, with the --no- spelling's reason
    ("--disable-chunked-prefill", "--disable-chunked-prefill \\(vLLM's --no-enable-chunked-prefill\\): without "
                                  "chunked prefill"),
])
def test_what_0_33_does_not_pair_or_kvplan_refuses(command, message):
    with pytest.raises(BadInputError, match=message):
        parse_vllm(f"vllm serve m {command}", "0.33.0")


def test_a_neutral_switch_inverse_is_neutral_on_0_33_only():
    cmd = parse_vllm("vllm serve m --disable-auto-tool-choice --enable-fastapi-docs --max-model-len 4096", "0.33.0")
    assert cmd.options == {"max_model_len": 4096}
    assert [n for n in cmd.notes if "does not change GPU memory" in n] == [
        "--disable-auto-tool-choice: ignored, it does not change GPU memory (API parsing)",
        "--enable-fastapi-docs: ignored, it does not change GPU memory (HTTP docs)"]
    with pytest.raises(BadInputError, match="--disable-auto-tool-choice: vLLM 0.32.0 does not take this spelling"):
        parse_vllm("vllm serve m --disable-auto-tool-choice", "0.32.0")


def test_every_inverse_spelling_swaps_the_prefix():
    from kvplan.vllm_args import INVERSE_SPELLINGS

    for inverse, flag in INVERSE_SPELLINGS.items():
        stem = flag.removeprefix("--enable-").removeprefix("--disable-")
        assert {inverse, flag} == {f"--enable-{stem}", f"--disable-{stem}"}
