"""Which model architectures each modelled engine release has a model class for
(kvplan/data/engine_models.json, derived by tools/engine_models.py from every release's own
registry), and the refusal of a model a release cannot load.

Expectations read from the releases' sources: vLLM vllm/model_executor/models/registry.py
(GptOssForCausalLM first in 0.10.1; Qwen3ForCausalLM first in 0.8.4;
MllamaForConditionalGeneration last in 0.10.2; no FalconForCausalLM in any SGLang
sglang/srt/models/*.py EntryClass; gpt-oss in SGLang from 0.5.1)."""

from __future__ import annotations

import dataclasses
import json
import zipfile
from importlib.resources import files
from pathlib import Path

import pytest

from helpers import cli, one_line_error
from kvplan.capacity import make_request, served_spec
from kvplan.engines import sglang, vllm_rules
from kvplan.engines.base import Release, registered_spans
from kvplan.errors import BadInputError
from kvplan.loader import builtin_names, load_model

ROOT = Path(__file__).resolve().parents[1]
HF = ROOT / "tests/fixtures/hf_configs"


@pytest.mark.parametrize(("engine", "model"), [
    ("vllm==0.10.1", "gpt-oss-20b"),
    ("vllm==0.8.4", "qwen3-8b"),
    ("vllm==0.8.0", "llama3.1-8b"),
    ("vllm==0.10.2", str(HF / "llava-1.5-7b.json")),
    ("sglang==0.5.1", "gpt-oss-20b"),
    ("sglang==0.4.6", "deepseek-v3"),
])
def test_a_release_with_the_model_class_plans_it(engine, model):
    req = make_request(load_model(model), "h100", engine=engine, weights="bf16")
    assert req.spec.architecture


@pytest.mark.parametrize(("engine", "model", "match"), [
    ("vllm==0.9.2", "gpt-oss-20b", r"vllm==0\.9\.2 has no model class for GptOssForCausalLM \(gpt-oss-20b\): "
                                   r"releases 0\.10\.1 to 0\.33\.0 have one"),
    ("vllm==0.8.3", "qwen3-8b", r"has no model class for Qwen3ForCausalLM .*releases 0\.8\.4 to 0\.33\.0"),
    ("sglang==0.4.10", "gpt-oss-20b", r"sglang==0\.4\.10 has no model class for GptOssForCausalLM .*0\.5\.1 to 0\.5\.23"),
    ("sglang", "falcon-7b", r"no sglang release kvplan models has one; .*--engine raw"),
    # a config whose architecture name a release dropped: ERNIE 4.5's first configs said
    # Ernie4_5_ForCausalLM, which vLLM registered only in 0.9.2 to 0.10.0
    ("vllm", str(HF / "ernie-4.5-0.3b.json"), r"Ernie4_5_ForCausalLM .*releases 0\.9\.2 to 0\.10\.0 have one"),
])
def test_a_release_without_the_model_class_refuses_it(engine, model, match):
    with pytest.raises(BadInputError, match=match):
        make_request(load_model(model), "h100", engine=engine, weights="bf16")
    # every command that resolves the served spec asks the same question
    with pytest.raises(BadInputError, match=match):
        served_spec(load_model(model), "h100", engine=engine)


def test_the_refusal_is_one_line_and_exit_2(capsys):
    code, out, err = cli(capsys, "capacity", "gpt-oss-20b", "--gpu", "h100", "--engine", "vllm==0.9.2",
                         "--weights", "bf16")
    assert code == 2 and out == ""
    assert "GptOssForCausalLM" in one_line_error(err)
    code, _, err = cli(capsys, "capacity", "gpt-oss-20b", "--gpu", "h100", "--engine", "vllm==0.10.1",
                       "--weights", "bf16")
    assert code == 0, err


def test_raw_and_trtllm_and_a_spec_without_an_architecture_are_not_checked():
    spec = load_model("falcon-7b")
    make_request(spec, "h100", engine="raw")
    make_request(spec, "h100", engine="trtllm")
    # a user's YAML names no class (without sinks: no backend of 0.9.2 runs them, rule attention_features_start)
    anon = dataclasses.replace(load_model("gpt-oss-20b"), architecture="", attention_sinks=False)
    make_request(anon, "h100", engine="vllm==0.9.2", weights="bf16")


def test_a_model_removed_from_a_release_is_refused_after_it():
    spans = registered_spans("vllm", "MllamaForConditionalGeneration")
    assert [(str(a), str(b)) for a, b in spans] == [("0.8.0", "0.10.2")]


def test_every_built_in_model_runs_on_the_newest_vllm():
    newest = Release.parse(vllm_rules.RELEASES[-1])
    for name in builtin_names():
        spec = load_model(name)
        assert spec.architecture, name
        assert any(a <= newest <= b for a, b in registered_spans("vllm", spec.architecture)), name


def test_the_table_covers_exactly_the_modelled_releases():
    data = json.loads(files("kvplan.data").joinpath("engine_models.json").read_text())
    for family, releases in (("vllm", vllm_rules.RELEASES), ("sglang", sglang.RELEASES)):
        order = [Release.parse(r) for r in releases]
        seen = set()
        for arch, spans in data[family]["architectures"].items():
            assert not arch.startswith("Transformers"), arch
            for a, b in spans:
                assert a in releases and b in releases, (family, arch, a, b)
                assert Release.parse(a) <= Release.parse(b)
                seen.update(r for r in order if Release.parse(a) <= r <= Release.parse(b))
        assert seen == set(order), family  # every modelled release has some model


def _tool():
    import importlib.util

    spec = importlib.util.spec_from_file_location("engine_models_tool", ROOT / "tools/engine_models.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_the_tool_reads_vllm_registries(tmp_path):
    tool = _tool()
    reg = tmp_path / "v1/vllm/model_executor/models"
    reg.mkdir(parents=True)
    (reg / "registry.py").write_text(
        '_TEXT = {"LlamaForCausalLM": ("llama", "LlamaForCausalLM"), "FooForCausalLM": ("foo", "Foo")}\n'
        '_MM: dict[str, tuple] = {"LlavaForConditionalGeneration": ("llava", "Llava")}\n'
        '_TRANSFORMERS_BACKEND_MODELS = {"TransformersForCausalLM": ("t", "T")}\n'
        '_UNUSED = {"NotMergedForCausalLM": ("x", "X")}\n'
        '_VLLM_MODELS = {**_TEXT, **_MM, **_TRANSFORMERS_BACKEND_MODELS}\n')
    assert tool.vllm_architectures(tmp_path / "v1") == {"LlamaForCausalLM", "FooForCausalLM",
                                                        "LlavaForConditionalGeneration"}


def test_the_tool_reads_sglang_entry_classes_and_runs(tmp_path):
    tool = _tool()
    wheel = tmp_path / "w.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        z.writestr("sglang/srt/models/llama.py", "class LlamaForCausalLM: pass\nEntryClass = LlamaForCausalLM\n")
        z.writestr("sglang/srt/models/qwen.py", "EntryClass = [Qwen2ForCausalLM, TransformersForCausalLM]\n")
        z.writestr("sglang/srt/other.py", "EntryClass = NotAModel\n")
    assert tool.sglang_architectures(wheel) == {"LlamaForCausalLM", "Qwen2ForCausalLM"}
    per = {"1": {"A", "B"}, "2": {"A"}, "3": {"A", "B"}, "4": {"B"}}
    assert tool.runs(per) == {"A": [["1", "3"]], "B": [["1", "1"], ["3", "4"]]}
