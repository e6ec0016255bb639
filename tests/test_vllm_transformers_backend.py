"""vLLM releases that build an architecture through their Transformers backend (registry.py
_TRANSFORMERS_SUPPORTED_MODELS; rule ``transformers_backend_moved``) are refused on exactly those releases
(FINDINGS_h34_tfb.md): SmolLM3 from 0.10.1, GPT-BigCode and Starcoder2 from 0.25.0, Olmo2 from 0.26.0,
HunYuan-MoE-V1 from 0.29.0, besides 0.32.0's eight. The release before each still plans with its own
family, figures unchanged."""

from __future__ import annotations

import json

import pytest

from helpers import HF_FIXTURES, cli

from kvplan.engines import get_engine
from kvplan.engines import vllm_rules as R

_WHY = ("through its Transformers backend (vllm/model_executor/models/registry.py _TRANSFORMERS_SUPPORTED_MODELS; "
        "rule transformers_backend_moved), whose layers and profile run kvplan has not read; ")


def _error(err: str) -> str:
    """The one error line (a fixture without torch_dtype also prints its bf16 assumption as a warning)."""
    lines = [ln for ln in err.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("kvplan: error: ")]
    assert len(errors) == 1 and "Traceback" not in err, err
    assert all(ln.startswith("kvplan: warning: ") for ln in lines if ln not in errors), err
    return errors[0]


def _blocks(capsys, fixture: str, *args) -> int:
    code, out, err = cli(capsys, "capacity", str(HF_FIXTURES / f"{fixture}.json"), *args, "--json")
    assert code == 0, err
    return json.loads(out)["num_blocks"]


@pytest.mark.parametrize("fixture, arch, release, extra, way_out", [
    # registry.py 0.25.0 :641-651 (gpt_bigcode.py, starcoder2.py deleted); profiled pool
    ("gpt-bigcode-santacoder", "GPTBigCodeForCausalLM", "0.25.0", ("--enforce-eager",), "use --engine vllm==0.24.0"),
    ("starcoder2-7b", "Starcoder2ForCausalLM", "0.25.0", ("--enforce-eager",), "use --engine vllm==0.24.0"),
    ("starcoder2-7b", "Starcoder2ForCausalLM", "0.26.0", ("--enforce-eager",), "use --engine vllm==0.24.0"),
    # registry.py 0.26.0 :656-668 (olmo.py, olmo2.py deleted)
    ("olmo-2-1124-7b", "Olmo2ForCausalLM", "0.26.0", ("--enforce-eager",), "use --engine vllm==0.25.1"),
    # 0.27.0+: the KV memory given, still refused (the overcommit check adds the unread forward's peak)
    ("gpt-bigcode-santacoder", "GPTBigCodeForCausalLM", "0.27.0", ("--kv-cache-memory-bytes", "10000000000"),
     "use --engine vllm==0.24.0"),
    ("olmo-2-1124-7b", "Olmo2ForCausalLM", "0.31.0", ("--kv-cache-memory-bytes", "10000000000"),
     "use --engine vllm==0.25.1"),
    # registry.py 0.29.0 :683-708 (hunyuan_v1.py deleted; TransformersMoEForCausalLM)
    ("hunyuan-a13b-instruct", "HunYuanMoEV1ForCausalLM", "0.29.0", ("--kv-cache-memory-bytes", "10000000000"),
     "use --engine vllm==0.28.0"),
    # registry.py 0.10.1 :274-279: SmolLM3 has no native class on any release
    ("smollm3-3b", "SmolLM3ForCausalLM", "0.10.1", ("--enforce-eager",),
     "no vLLM release kvplan models builds it natively (use --engine raw for memory alone)"),
    ("smollm3-3b", "SmolLM3ForCausalLM", "0.26.0", ("--enforce-eager",),
     "no vLLM release kvplan models builds it natively (use --engine raw for memory alone)"),
])
def test_refused(capsys, fixture, arch, release, extra, way_out):
    code, out, err = cli(capsys, "capacity", str(HF_FIXTURES / f"{fixture}.json"), "--gpu", "h100", "--engine",
                         f"vllm=={release}", *extra)
    assert code == 2 and out == ""
    assert _error(err) == f"kvplan: error: vllm=={release} builds {arch} ({fixture}) {_WHY}{way_out}"


@pytest.mark.parametrize("fixture, args, blocks", [
    # the release before each move plans with kvplan's own family (figures as before this rule)
    ("gpt-bigcode-santacoder", ("--gpu", "h100", "--engine", "vllm==0.24.0", "--enforce-eager"), 380_910),
    ("starcoder2-7b", ("--gpu", "h100", "--engine", "vllm==0.24.0", "--enforce-eager"), 59_313),
    ("olmo-2-1124-7b", ("--gpu", "h100", "--engine", "vllm==0.25.1", "--enforce-eager"), 7_435),
    ("hunyuan-a13b-instruct", ("--gpu", "h200", "--tp", "8", "--engine", "vllm==0.28.0",
                               "--kv-cache-memory-bytes", "10000000000"), 38_146),
    ("smollm3-3b", ("--gpu", "h100", "--engine", "raw"), 66_866),
])
def test_release_before_plans(capsys, fixture, args, blocks):
    assert _blocks(capsys, fixture, *args) == blocks


def test_smollm3_before_0_10_1_has_no_class(capsys):
    code, out, err = cli(capsys, "capacity", str(HF_FIXTURES / "smollm3-3b.json"), "--gpu", "h100", "--engine",
                         "vllm==0.10.0")
    assert code == 2 and out == ""
    assert _error(err).startswith("kvplan: error: vllm==0.10.0 has no model class for SmolLM3ForCausalLM")


def test_rows_follow_each_registry():
    """Each release's rule is its registry.py _TRANSFORMERS_SUPPORTED_MODELS, read release by release."""
    def at(release):
        return set(get_engine(f"vllm=={release}").rule("transformers_backend_moved"))

    assert at("0.8.0") == at("0.10.0") == set()
    assert at("0.10.1") == at("0.24.0") == {"SmolLM3ForCausalLM", "Emu3ForConditionalGeneration"}
    assert at("0.25.0") - at("0.24.0") == {"GPTBigCodeForCausalLM", "Starcoder2ForCausalLM"} and at("0.25.1") == at(
        "0.25.0")
    assert at("0.26.0") - at("0.25.1") == {"OlmoForCausalLM", "Olmo2ForCausalLM"}
    assert at("0.27.0") - at("0.26.0") == {"VaultGemmaForCausalLM", "VibeVoiceAsrForConditionalGeneration"}
    assert at("0.28.0") == at("0.27.1") == at("0.27.0")
    assert at("0.29.0") - at("0.28.0") == {"FlexOlmoForCausalLM", "HunYuanDenseV1ForCausalLM",
                                           "HunYuanMoEV1ForCausalLM", "HunYuanVLForConditionalGeneration",
                                           "Olmo3ForCausalLM"}
    assert at("0.30.0") - at("0.29.0") == {"NanbeigeForCausalLM"} and at("0.31.0") == at("0.30.0")
    assert len(at("0.32.0") - at("0.31.0")) == 8 and at("0.33.0") - at("0.32.0") == {"Kolibri1ForCausalLM"}
    # never shrinks: no architecture came back to a native class
    for prev, rel in zip(R.RELEASES, R.RELEASES[1:]):
        assert at(prev) <= at(rel), rel
