"""DeepSeek sparse attention with top-k sharing (index_topk_freq > 1, or an index_topk_pattern with "S"
layers): the layers that reuse the previous layer's top-k build no indexer, and from SGLang 0.5.18 keep no
indexer cache (model_executor/pool_configurator.py; 0.5.22+ mem_cache/memory_pool.py
_should_allocate_index_layer). kvplan sizes no indexer cache per layer: refused where the release reads
the keys (rule dsa_index_topk_sharing: SGLang 0.5.10+, vLLM 0.21.0+), under raw and TensorRT-LLM;
planned as every layer's indexer where the release does not read them (vLLM 0.19.1: the figures of the
config without the keys). The configs are DeepSeek-V3.2's with the keys added (synthetic)."""

from __future__ import annotations

import json

import pytest

from helpers import cli, one_line_error
from kvplan.capacity import make_request, plan
from kvplan.engines import get_engine
from kvplan.errors import BadInputError
from kvplan.loader import load_model

BASE = "tests/fixtures/hf_configs/deepseek-v3.2.json"
PATTERN = "F" + "FS" * 30  # 61 layers: every second one from layer 2 reuses its predecessor's top-k
OPTS = dict(tp=8, weights="fp8", kv_format="bf16")


def _config(tmp_path, **keys) -> str:
    config = json.loads(open(BASE).read())
    config.update(keys)
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    return str(path)


@pytest.mark.parametrize("keys,sharing", [
    ({"index_topk_freq": 2}, "index_topk_freq 2"),
    ({"index_topk_freq": 4, "index_skip_topk_offset": 3}, "index_topk_freq 4, index_skip_topk_offset 3"),
    ({"index_topk_pattern": PATTERN}, f"index_topk_pattern {PATTERN!r}"),
    ({"index_topk_freq": 1}, ""),
    ({"index_topk_freq": None}, ""),
    ({"index_topk_pattern": "F" * 61}, ""),
    ({"index_skip_topk_offset": 2}, ""),
])
def test_the_reader_records_the_sharing(tmp_path, keys, sharing):
    assert load_model(_config(tmp_path, **keys)).index_topk_sharing == sharing


@pytest.mark.parametrize("keys,message", [
    ({"index_topk_freq": 0}, "index_topk_freq must be a positive integer, got 0"),
    ({"index_topk_freq": "2"}, "index_topk_freq must be a positive integer, got '2'"),
    ({"index_topk_freq": True}, "index_topk_freq must be a positive integer, got True"),
    ({"index_topk_pattern": "FSX"}, "index_topk_pattern must be a string of F and S (one a layer), got 'FSX'"),
    # no "S": the reader's own check, not the spec schema's (which sees only patterns with "S"), refuses it
    ({"index_topk_pattern": "FFX"}, "index_topk_pattern must be a string of F and S (one a layer), got 'FFX'"),
])
def test_bad_keys_one_line_exit_2(capsys, tmp_path, keys, message):
    code, _, err = cli(capsys, "capacity", _config(tmp_path, **keys), "--gpu", "h200", "--tp", "8")
    assert code == 2 and message in one_line_error(err)


@pytest.mark.parametrize("engine", ["sglang==0.5.10", "sglang==0.5.17", "sglang==0.5.18", "sglang==0.5.19",
                                    "sglang==0.5.20", "sglang==0.5.21", "sglang==0.5.22", "sglang==0.5.23",
                                    "vllm==0.21.0", "vllm==0.27.0", "trtllm", "raw"])
@pytest.mark.parametrize("keys", [{"index_topk_freq": 2}, {"index_topk_pattern": PATTERN}])
def test_refused_where_the_release_reads_the_keys_or_kvplan_has_not_read_it(tmp_path, engine, keys):
    spec = load_model(_config(tmp_path, **keys))
    with pytest.raises(BadInputError, match="shares DeepSeek sparse attention top-k indices between layers"):
        make_request(spec, "h200", engine=engine, **OPTS)


@pytest.mark.parametrize("engine", ["sglang==0.4.6", "sglang==0.5.4", "sglang==0.5.9", "vllm==0.19.1",
                                    "vllm==0.20.2"])
def test_releases_that_do_not_read_the_keys_pass_the_check(tmp_path, engine):
    spec = load_model(_config(tmp_path, index_topk_freq=2))
    assert get_engine(engine).check_dsa_topk_sharing(spec) is None


def test_vllm_0_19_1_plans_every_layer_s_indexer(tmp_path):
    # vllm 0.19.1 reads neither key: the figures of DeepSeek-V3.2 without them (8 x H200, fp8 weights, bf16 KV)
    for keys in ({"index_topk_freq": 2}, {"index_topk_pattern": PATTERN}):
        p = plan(make_request(load_model(_config(tmp_path, **keys)), "h200", engine="vllm==0.19.1", **OPTS))
        base = plan(make_request(load_model(BASE), "h200", engine="vllm==0.19.1", **OPTS))
        assert (p.weights_bytes, p.kv_pool_bytes, p.kv_cache_tokens) == (
            base.weights_bytes, base.kv_pool_bytes, base.kv_cache_tokens) == (86_711_955_968, 44_018_395_263, 561_984)


def test_cli_one_line_exit_2(capsys, tmp_path):
    path = _config(tmp_path, index_topk_freq=2)
    name = load_model(path).name
    code, _, err = cli(capsys, "capacity", path, "--gpu", "h200", "--tp", "8", "--weights", "fp8", "--kv-dtype",
                       "bf16", "--engine", "sglang==0.5.18")
    assert code == 2
    assert one_line_error(err) == (
        f"kvplan: error: sglang==0.5.18: {name}'s config shares DeepSeek sparse attention top-k indices between layers "
        f"(index_topk_freq 2): the layers that reuse the previous layer's top-k keep no indexer of their own, which "
        f"kvplan does not size per layer, and sglang==0.5.18 reads them (python/sglang/srt/model_executor/"
        f"pool_configurator.py (0.5.18 lines 376-412, 0.5.19 388-424): the indexer cache sized on the layers "
        f"dsa_layer_skips_topk (configs/model_config.py 0.5.18 lines 200-228) does not skip)")


def test_every_release_has_a_row():
    from kvplan.engines.sglang import BOOK as SGL
    from kvplan.engines.vllm import BOOK as VLLM

    for book in (SGL, VLLM):
        for release in book.releases:
            book.rule("dsa_index_topk_sharing", release)  # exactly one row
