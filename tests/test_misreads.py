"""Silent misreads, each now read right or refused in one line: a list on a one-value option,
YAML/JSON duplicate keys and YAML 1.1 octal or base-60 integers, a plot suffix that was not
honoured, a chunked-local chunk that only some commands refused."""

from __future__ import annotations

import json

import pytest

from helpers import cli, one_line_error
from kvplan.errors import BadInputError
from kvplan.units import parse_bytes, parse_tokens

SPEC = dict(name="toy", source="test", num_layers=4, hidden_size=256, num_attention_heads=4, num_kv_heads=2,
            head_dim=64, vocab_size=1000, intermediate_size=512, dtype="bf16", max_position_embeddings=4096)


@pytest.mark.parametrize("text, tokens", [("8,192", 8192), ("1,048,576", 1 << 20), ("4_096", 4096), ("8,192k", 8192 << 10)])
def test_thousands_separators_are_read(text, tokens):
    assert parse_tokens(text, "--ctx") == tokens


@pytest.mark.parametrize("text", ["8,16", "1,00", "12,3456", ",123", "1_", "1__0", "1,000_000"])
def test_a_comma_that_is_not_a_thousands_separator_is_refused(text):
    with pytest.raises(BadInputError) as err:
        parse_tokens(text, "--ctx")
    assert str(err.value).startswith("--ctx: ")


def test_ctx_8_16_is_not_816(capsys):
    code, _, err = cli(capsys, "size", "llama3-8b", "--ctx", "8,16")
    assert code == 2 and one_line_error(err) == (
        "kvplan: error: --ctx: '8,16' is not one number (a comma separates thousands, as in 8,192; this option takes "
        "one value)")
    code, _, err = cli(capsys, "capacity", "llama3-8b", "--gpu", "h100-sxm", "--max-model-len", "32k,64k")
    assert code == 2 and one_line_error(err) == (
        "kvplan: error: max_model_len: '32k,64k' is not one number (this option takes one value)")
    with pytest.raises(BadInputError, match="'8,0GB' is not one number"):
        parse_bytes("8,0GB", "--gpu-mem")


def _spec_text(tmp_path, text: str, suffix: str = ".yaml"):
    path = tmp_path / f"s{suffix}"
    path.write_text(text)
    return path


def test_yaml_duplicate_keys_are_refused(capsys, tmp_path):
    body = "\n".join(f"{k}: {json.dumps(v)}" for k, v in SPEC.items())
    path = _spec_text(tmp_path, body + "\nnum_layers: 80\n")
    code, _, err = cli(capsys, "size", path)
    assert code == 2 and one_line_error(err) == (
        f"kvplan: error: {path}: malformed YAML (line 12, column 1): duplicate key 'num_layers' (YAML would keep only "
        f"the last; give it once)")


def test_yaml_merge_keys_may_still_be_overridden(tmp_path):
    from kvplan.loader import read_yaml

    path = _spec_text(tmp_path, "base: &b {tp: 1, pp: 1}\nd: {<<: *b, tp: 2}\n")
    assert read_yaml(path)["d"] == {"tp": 2, "pp": 1}


def test_json_duplicate_keys_are_refused(capsys, tmp_path):
    path = _spec_text(tmp_path, json.dumps(SPEC).replace('"num_layers": 4,', '"num_layers": 4, "num_layers": 80,'),
                      ".json")
    code, _, err = cli(capsys, "size", path)
    assert code == 2 and one_line_error(err) == (
        f"kvplan: error: {path}: duplicate key 'num_layers' (JSON readers keep only the last; give it once)")


def test_plan_duplicate_keys_are_refused(capsys, tmp_path):
    path = _spec_text(tmp_path, "deployments:\n  - {name: a, model: llama3-8b, gpu: h100-sxm, gpu: b200}\n")
    code, _, err = cli(capsys, "check", path)
    assert code == 2 and "duplicate key 'gpu'" in one_line_error(err)


@pytest.mark.parametrize("value, why", [
    ("032", "'032' has a leading zero, which YAML 1.1 reads as octal (26); write 32"),
    ("1:20", "'1:20' is a base-60 number in YAML 1.1; write the value in decimal or quote it"),
])
def test_yaml_11_integers_that_read_as_something_else(capsys, tmp_path, value, why):
    body = "\n".join(f"{k}: {json.dumps(v)}" for k, v in SPEC.items() if k != "num_layers")
    path = _spec_text(tmp_path, body + f"\nnum_layers: {value}\n")
    code, _, err = cli(capsys, "size", path)
    assert code == 2 and one_line_error(err) == f"kvplan: error: {path}: malformed YAML (line 11, column 13): {why}"


def test_json_numbers_kvplan_cannot_hold(tmp_path):
    from kvplan.errors import SpecError
    from kvplan.loader import read_json

    for text, why in (('{"v": ' + "9" * 70 + "}", "a number of 70 digits is beyond every limit of kvplan"),
                      ('{"v": -' + "9" * 5000 + "}", "a number of 5,000 digits is beyond every limit of kvplan")):
        path = _spec_text(tmp_path, text, ".json")
        with pytest.raises(SpecError) as err:
            read_json(path)
        assert str(err.value) == f"{path}: {why}"


@pytest.mark.parametrize("suffix, magic", [("pdf", b"%PDF"), ("svg", b"<?xml"), ("png", b"\x89PNG")])
def test_fragment_plot_writes_the_type_its_name_says(capsys, tmp_path, suffix, magic):
    out = tmp_path / f"frag.{suffix}"
    code, _, err = cli(capsys, "fragment", "llama3-8b", "--kv-pool-tokens", "64k", "--requests", "50", "--plot", out)
    assert code == 0, err
    assert out.read_bytes()[: len(magic)] == magic


def test_fragment_plot_of_an_unknown_type_is_refused_before_simulating(capsys, tmp_path):
    out = tmp_path / "frag.txt"
    code, _, err = cli(capsys, "fragment", "llama3-8b", "--kv-pool-tokens", "64k", "--plot", out)
    assert code == 2 and one_line_error(err) == (
        f"kvplan: error: --plot {out}: cannot tell the image type from .txt suffix; use a file name ending in "
        f".png, .svg, .pdf")
    assert not out.exists()


CHUNKED = {**SPEC, "cache": {"kinds": {"c": {"kind": "chunked_local", "chunk": 100}, "f": {"kind": "full_attention"}},
                             "pattern": ["c", "c", "c", "f"]}}


@pytest.mark.parametrize("command", [["size"], ["capacity", "--gpu", "h100-sxm"], ["size", "--gpu", "h100-sxm"],
                                     ["sweep", "--gpu", "h100-sxm"], ["check"]])
def test_a_chunk_that_pages_cannot_align_is_refused_everywhere(capsys, tmp_path, command):
    spec = tmp_path / "s.yaml"
    spec.write_text(json.dumps(CHUNKED))
    if command[0] == "check":
        plan = tmp_path / "p.yaml"
        plan.write_text(json.dumps({"deployments": [{"name": "a", "model": "s.yaml", "gpu": "h100-sxm"}]}))
        args = ["check", plan]
    else:
        args = [command[0], spec, *command[1:]]
    code, _, err = cli(capsys, *args)
    assert code == 2
    assert one_line_error(err).endswith("chunked local attention: chunk 100 is not a multiple of block size 16")
