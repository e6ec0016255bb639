"""`kvplan capacity --enable-prefix-caching / --no-enable-prefix-caching`: the request field
`--from-vllm` and plan files set (CapacityRequest.enable_prefix_caching), with the same
refusals and notes (Engine.check_prefix_caching, rule state_prefix_caching); `kvplan sweep`
takes it the same way."""

from __future__ import annotations

import json

import pytest

from helpers import cli, one_line_error  # noqa: F401

BAMBA = "tests/fixtures/hf_configs/bamba-9b.json"
REFUSED = ("kvplan: error: --enable-prefix-caching with bamba-9b's state-space layers: vllm==0.19.1 keeps it on for "
           "them and then sizes the attention block and the state layers' blocks per request for it")
TURNED_OFF = ("kvplan: warning: --enable-prefix-caching: vllm==0.11.0 turns prefix caching off for state-space models "
              "(vllm/model_executor/models/config.py MambaModelConfig.verify_and_update_config sets "
              "cache_config.enable_prefix_caching = False); the pool is planned without it")


def _error(err: str) -> str:
    """The one error line (bamba-9b's config also brings a warning that it names no dtype)."""
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln.startswith("kvplan: error: ")]
    assert len(lines) == 1, err
    return lines[0]


def _tokens(capsys, *args) -> tuple[int, int | None, str]:
    code, out, err = cli(capsys, "capacity", *args, "--json")
    return code, (json.loads(out)["kv_cache_tokens"] if code in (0, 1) and out else None), err


def test_state_space_model_refused_where_vllm_keeps_it_on(capsys):
    code, out, err = cli(capsys, "capacity", BAMBA, "--gpu", "h100", "--max-model-len", "32768",
                         "--engine", "vllm==0.19.1", "--enable-prefix-caching")
    assert code == 2 and out == ""
    assert _error(err).startswith(REFUSED)


def test_the_same_refusal_as_from_vllm(capsys):
    _, _, flag_err = cli(capsys, "capacity", BAMBA, "--gpu", "h100", "--max-model-len", "32768",
                         "--engine", "vllm==0.19.1", "--enable-prefix-caching")
    code, _, cmd_err = cli(capsys, "capacity", "--gpu", "h100", "--engine", "vllm==0.19.1", "--from-vllm",
                           f"vllm serve {BAMBA} --max-model-len 32768 --enable-prefix-caching")
    assert code == 2 and _error(cmd_err) == _error(flag_err)


@pytest.mark.parametrize(("flag", "release", "tokens"), [
    (None, "0.11.0", 404_448), ("--enable-prefix-caching", "0.11.0", 404_448),
    ("--no-enable-prefix-caching", "0.11.0", 404_448),
    (None, "0.19.1", 403_920), ("--no-enable-prefix-caching", "0.19.1", 403_920)])
def test_state_space_pool_where_it_is_off(capsys, flag, release, tokens):
    """0.11.0 turns it off for Bamba (a note, the pool as without it); --no- is the default."""
    code, got, err = _tokens(capsys, BAMBA, "--gpu", "h100", "--max-model-len", "32768", "--engine",
                             f"vllm=={release}", *([flag] if flag else []))
    assert (code, got) == (0, tokens)
    assert (TURNED_OFF in err) == (flag == "--enable-prefix-caching")


def test_attention_only_model_pool_unchanged(capsys):
    base = _tokens(capsys, "llama3.1-8b", "--gpu", "h100")
    on = _tokens(capsys, "llama3.1-8b", "--gpu", "h100", "--enable-prefix-caching")
    assert base[:2] == on[:2] and base[0] == 0 and base[1] > 0
    assert "prefix" not in on[2]


def test_flag_and_command_may_not_both_give_it(capsys):
    code, _, err = cli(capsys, "capacity", "--gpu", "h100", "--from-vllm",
                       "vllm serve meta-llama/Llama-3.1-8B --enable-prefix-caching", "--no-enable-prefix-caching")
    assert code == 2
    assert _error(err) == "kvplan: error: enable-prefix-caching is given both in --from-vllm and as an option"


def test_help_says_what_it_changes():
    import inspect

    from kvplan.cli.capacity import capacity
    from kvplan.cli.common import PrefixCachingOpt
    from kvplan.cli.sweep import sweep

    option = PrefixCachingOpt.__metadata__[0]
    assert "--enable-prefix-caching/--no-enable-prefix-caching" in (option.default, *(option.param_decls or ()))
    assert "mamba_cache_mode" in option.help and "refused" in option.help and "0.10.2-0.11.0" in option.help
    for command in (capacity, sweep):  # annotations are strings (from __future__ import annotations)
        assert inspect.signature(command).parameters["enable_prefix_caching"].annotation == "PrefixCachingOpt"


def test_a_command_switch_and_its_negation_conflict(capsys):
    """Refused, not the command's value silently taken over --no-...: the same for
    --disable-hybrid-kv-cache-manager."""
    code, _, err = cli(capsys, "capacity", "--gpu", "h100", "--from-vllm",
                       "vllm serve gemma3-27b --disable-hybrid-kv-cache-manager",
                       "--no-disable-hybrid-kv-cache-manager")
    assert code == 2
    assert _error(err) == ("kvplan: error: disable-hybrid-kv-cache-manager is given both in --from-vllm and as an "
                           "option")


def test_sweep_takes_it_as_capacity_does(capsys):
    code, out, err = cli(capsys, "sweep", BAMBA, "--gpu", "h100", "--ctx", "32k", "--batch", "8",
                         "--max-model-len", "32768", "--enable-prefix-caching")
    assert code == 2 and REFUSED.removeprefix("kvplan: error: ") in _error(err)
    code, out, _ = cli(capsys, "sweep", BAMBA, "--gpu", "h100", "--ctx", "32k", "--batch", "8",
                       "--max-model-len", "32768", "--engine", "vllm==0.11.0", "--enable-prefix-caching", "--json")
    off = json.loads(out)["points"][0]
    code, out, _ = cli(capsys, "sweep", BAMBA, "--gpu", "h100", "--ctx", "32k", "--batch", "8",
                       "--max-model-len", "32768", "--engine", "vllm==0.11.0", "--json")
    assert off == json.loads(out)["points"][0]
    code, _, err = cli(capsys, "sweep", BAMBA, "--ctx", "32k", "--enable-prefix-caching")
    assert code == 2
    assert _error(err) == "kvplan: error: engine options (--engine, --max-model-len, ...) apply with --gpu; add --gpu"
