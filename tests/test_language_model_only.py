"""A config that says language_model_only: true (a multimodal architecture served as its language model
alone). SGLang 0.5.18+ read the key (configs/model_config.py ModelConfig.__init__: not multimodal, no
mrope, and some model classes build no vision tower), which kvplan does not model: refused there
(rule config_language_model_only). SGLang 0.4.6-0.5.17 and vLLM (which reads only its
--language-model-only flag) serve the config as if the key were absent: kvplan's figures are those of
the config without it. Qwen3-VL-8B-Instruct's config with the key added is synthetic."""

from __future__ import annotations

import json

import pytest

from helpers import cli, one_line_error
from kvplan.capacity import make_request, plan
from kvplan.errors import BadInputError
from kvplan.loader import load_model

BASE = "tests/fixtures/hf_configs/qwen3-vl-8b-instruct.json"


def _config(tmp_path, value) -> str:
    config = json.loads(open(BASE).read())
    config["language_model_only"] = value
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    return str(path)


def test_the_importer_records_the_key(tmp_path):
    spec = load_model(_config(tmp_path, True))
    assert spec.language_model_only is True
    assert "language_model_only" not in (spec.notes or "")  # read, not "judged not to shape the cache"
    assert load_model(_config(tmp_path, False)).language_model_only is False
    assert load_model(BASE).language_model_only is False


def test_a_key_that_is_not_a_bool_is_refused(capsys, tmp_path):
    code, _, err = cli(capsys, "capacity", _config(tmp_path, "yes"), "--gpu", "h100")
    assert code == 2 and "language_model_only must be true or false, got 'yes'" in one_line_error(err)


@pytest.mark.parametrize("engine", ["sglang==0.5.18", "sglang==0.5.19", "sglang==0.5.20", "sglang==0.5.21",
                                    "sglang==0.5.22", "sglang==0.5.23", "trtllm"])
def test_refused_where_the_engine_reads_it_or_kvplan_has_not_read_whether_it_does(tmp_path, engine):
    with pytest.raises(BadInputError, match="config says language_model_only: true"):
        make_request(load_model(_config(tmp_path, True)), "h100-sxm", engine=engine)


@pytest.mark.parametrize("engine,fraction,weights,tokens", [
    # SGLang 0.5.17 still scales the fraction for the vision tower (0.835 x 0.92476...) and counts its weights
    ("sglang==0.5.17", 0.7721792968749999, 17_669_644_768, 322_571),
    # vLLM: 400,800 tokens (402,176 before the deepstack buffers, 201,326,592 B, joined the weights: h35)
    ("vllm==0.26.0", None, None, 400_800),
])
def test_elsewhere_the_figures_are_those_without_the_key(tmp_path, engine, fraction, weights, tokens):
    with_key = plan(make_request(load_model(_config(tmp_path, True)), "h100-sxm", engine=engine))
    without = plan(make_request(load_model(BASE), "h100-sxm", engine=engine))
    assert with_key.kv_cache_tokens == without.kv_cache_tokens == tokens
    assert with_key.weights_bytes == without.weights_bytes
    if weights is not None:
        assert with_key.weights_bytes == weights
        assert float(with_key.settings.memory_fraction) == float(without.settings.memory_fraction) == fraction


def test_cli_one_line_exit_2(capsys, tmp_path):
    path = _config(tmp_path, True)
    name = load_model(path).name
    code, _, err = cli(capsys, "capacity", path, "--gpu", "h100", "--engine", "sglang==0.5.18")
    assert code == 2
    assert one_line_error(err).startswith(
        f"kvplan: error: sglang==0.5.18: {name}'s config says language_model_only: true, and sglang==0.5.18 reads it "
        f"(python/sglang/srt/configs/model_config.py ModelConfig.__init__ (0.5.18 line 331")
    code, _, err = cli(capsys, "capacity", path, "--gpu", "h100", "--engine", "raw")
    assert code == 0, err


def test_every_release_has_a_row():
    from kvplan.engines.base import Release
    from kvplan.engines.sglang import BOOK as SGL
    from kvplan.engines.vllm import BOOK as VLLM

    assert SGL.value("config_language_model_only", Release.parse("0.5.17")) is False
    assert SGL.value("config_language_model_only", Release.parse("0.5.18")) is True
    for book in (SGL, VLLM):
        for release in book.releases:
            book.rule("config_language_model_only", release)  # exactly one row
