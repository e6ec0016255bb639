"""A rotary fraction on the families whose vLLM attention is llama.py's LlamaAttention (kvplan.hf.
core.llama_rotary_dim cites it per release; docs/findings/FINDINGS_h29_rope4.md): it reads
partial_rotary_factor in every release, so the table is int(head_dim x factor) wide. Before, a
Llama, Mistral, Ernie 4.5 or Nemotron-NAS config with one refused weight figures (a weights-only
unknown). Llama-3.1-8B with 0.5: 131,072 x 64 x 2 B, 16,777,216 B less than the whole head's.
rotary_pct / rotary_emb_fraction alone are read only from 0.13.0: refused, naming the key.
Mixtral (mixtral.py) and Qwen2 do not read the fraction before 0.13.0 and still refuse."""

from __future__ import annotations

import json

import pytest

from helpers import HF_FIXTURES, cli, config_refusal, hf_fixture, one_line_error

from kvplan.engines import rope_cache_bytes
from kvplan.engines import vllm_rules as R
from kvplan.hf import spec_from_hf_config

FIXTURES = HF_FIXTURES



@pytest.mark.parametrize("name, rows, head", [
    ("llama-3.1-8b", 131_072, 128),
    ("mistral-7b-v0.1", 32_768, 128),  # MistralForCausalLM: llama.py's class, mistral.py's subclass from 0.15.0
    ("ernie-4.5-0.3b", 131_072, 128),  # Ernie4_5ForCausalLM(LlamaForCausalLM)
    ("llama-3.3-nemotron-super-49b-v1", 131_072, 128),  # DeciLMAttention(LlamaAttention)
])
def test_half_width_every_release(name, rows, head):
    spec = spec_from_hf_config(hf_fixture(name, partial_rotary_factor=0.5), name)
    assert spec.rotary_dim == head // 2 and spec.weights_unknown == ()
    assert {rope_cache_bytes(spec, release) for release in R.RELEASES} == {rows * head // 2 * 2}
    whole = spec_from_hf_config(hf_fixture(name, partial_rotary_factor=1.0), name)
    assert whole.rotary_dim is None and rope_cache_bytes(whole) == rows * head * 2


@pytest.mark.parametrize("name, engine, flags, weights, blocks", [
    # the whole head: 16,094,076,928 B, 27,722 / 27,653 blocks; before: refused (exit 2)
    ("llama-3.1-8b", "vllm==0.19.1", [], 16_077_299_712, 27_730),
    ("llama-3.1-8b", "vllm==0.8.5", [], 16_077_299_712, 27_661),
    # the whole head: 14,491,852,800 B, 28,901 blocks (32,768 x 64 x 2 = 4,194,304 B less)
    ("mistral-7b-v0.1", "vllm==0.19.1", [], 14_487_658_496, 28_903),
    # the whole head: 49,901,764,608 B, 13,881 blocks
    ("llama-3.3-nemotron-super-49b-v1", "vllm==0.19.1", ["--tp", "2"], 49_884_987_392, 13_891),
])
def test_capacity(tmp_path, capsys, name, engine, flags, weights, blocks):
    """`kvplan capacity <NAME with partial_rotary_factor 0.5> --gpu h100 --engine ENGINE FLAGS --json`."""
    path = tmp_path / "config.json"
    path.write_text(json.dumps(hf_fixture(name, partial_rotary_factor=0.5)), encoding="utf-8")
    code, out, err = cli(capsys, "capacity", str(path), "--gpu", "h100", "--engine", engine, *flags, "--json")
    assert code == 0, err
    got = json.loads(out)
    assert (got["weights_bytes"], got["num_blocks"]) == (weights, blocks)


@pytest.mark.parametrize("name, over, message", [
    ("llama-3.1-8b", {"rotary_pct": 0.5},
     "rotary_pct: vLLM's rotary table width differs by release (128 on 0.8.0-0.12.0, 64 on 0.13.0+ columns of 128)"),
    ("mistral-7b-v0.1", {"rotary_emb_fraction": 0.25},
     "rotary_emb_fraction: vLLM's rotary table width differs by release (128 on 0.8.0-0.12.0, 32 on 0.13.0+"),
    ("llama-3.1-8b", {"partial_rotary_factor": 0}, "partial_rotary_factor must be a number in (0, 1], got 0"),
])
def test_refused(tmp_path, capsys, name, over, message):
    assert message in config_refusal(capsys, tmp_path, hf_fixture(name, **over))


def test_factor_first_as_vllm_reads_it():
    """partial_rotary_factor beside rotary_pct: llama.py reads the former before 0.13.0 and
    patch_rope_parameters puts it first from 0.13.0, so the width is one: 0.5 of 128."""
    spec = spec_from_hf_config(hf_fixture("llama-3.1-8b", partial_rotary_factor=0.5, rotary_pct=0.25), "x")
    assert spec.rotary_dim == 64


@pytest.mark.parametrize("name, model_type", [("mixtral-8x7b", "mixtral"), ("qwen2.5-7b", "qwen2")])
def test_unread_still_refuses_weights(tmp_path, capsys, name, model_type):
    """Mixtral shares Mistral's layout reader but runs mixtral.py, which passes no fraction to
    get_rope before 0.13.0: weight figures refuse, naming the key, in one line, exit 2."""
    path = tmp_path / "config.json"
    path.write_text(json.dumps(hf_fixture(name, partial_rotary_factor=0.5)), encoding="utf-8")
    code, _, err = cli(capsys, "capacity", str(path), "--gpu", "h100", "--engine", "vllm==0.19.1", "--tp", "2")
    assert code == 2
    assert one_line_error(err).startswith(f"kvplan: error: {path}: weight figures need partial_rotary_factor 0.5 "
                                          f"(the width of vLLM's rotary table, not read for model_type "
                                          f"'{model_type}')")


def test_unknown_model_type_not_read():
    """A model_type without a reader takes Llama's layout but not its rotary reading (which
    vLLM file runs it is unknown): the fraction stays a weights-only unknown."""
    spec = spec_from_hf_config(hf_fixture("llama-3.1-8b", partial_rotary_factor=0.5, model_type="newthing",
                                       architectures=["NewThingForCausalLM"]), "x")
    assert spec.rotary_dim is None
    assert ("partial_rotary_factor 0.5 (the width of vLLM's rotary table, not read for model_type 'newthing')"
            in spec.weights_unknown)
