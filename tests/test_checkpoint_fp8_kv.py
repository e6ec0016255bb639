"""A ModelOpt checkpoint whose quantization config asks for an FP8 KV cache: SGLang 0.5.4+ and
vLLM 0.14.0+ may store --kv-cache-dtype auto as fp8_e4m3 (rule checkpoint_fp8_kv_auto), which
kvplan refuses to guess; earlier releases keep the model dtype; an explicit --kv-dtype plans."""

from __future__ import annotations

import json

import pytest

from kvplan.capacity import make_request, plan
from kvplan.errors import BadInputError
from kvplan.loader import load_model
from tests.helpers import cli, one_line_error

BASE = "tests/fixtures/hf_configs/llama-3.1-8b.json"


def _config(tmp_path, quant: dict) -> str:
    config = json.loads(open(BASE).read())
    config["quantization_config"] = quant
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    return str(path)


@pytest.mark.parametrize("quant,fp8", [
    # ModelOpt >= 0.31 config.json (flat): an 8-bit float kv_cache_scheme
    ({"quant_method": "modelopt", "quant_algo": "FP8",
      "kv_cache_scheme": {"dynamic": False, "num_bits": 8, "type": "float"}}, True),
    ({"quant_method": "modelopt", "quant_algo": "FP8", "kv_cache_quant_algo": "FP8"}, True),
    ({"quant_method": "modelopt_fp4", "quant_algo": "NVFP4", "kv_cache_scheme": "fp8"}, True),
    # hf_quant_config.json's nested layout
    ({"producer": {"name": "modelopt"}, "quantization": {"quant_algo": "FP8", "kv_cache_quant_algo": "FP8"}}, True),
    ({"quant_method": "modelopt", "quant_algo": "FP8"}, False),
    ({"quant_method": "modelopt", "quant_algo": "NVFP4", "kv_cache_quant_algo": "NVFP4"}, False),
    # compressed-tensors: neither engine turns auto into fp8 (vLLM reads modelopt only; SGLang's
    # CompressedTensorsConfig has no kv_cache_quant_algo)
    ({"quant_method": "compressed-tensors", "kv_cache_scheme": {"num_bits": 8, "type": "float"}}, False),
])
def test_the_importer_records_a_modelopt_fp8_kv_cache(tmp_path, quant, fp8):
    assert load_model(_config(tmp_path, quant)).kv_cache_quant_algo == ("FP8" if fp8 else "")


def _spec():
    import dataclasses

    return dataclasses.replace(load_model(BASE), kv_cache_quant_algo="FP8")


@pytest.mark.parametrize("engine", ["sglang==0.5.4", "sglang==0.5.8", "sglang==0.5.23", "vllm==0.14.0",
                                    "vllm==0.19.1", "trtllm"])
def test_auto_is_refused_where_the_release_may_store_fp8(engine):
    with pytest.raises(BadInputError, match="asks for an FP8 KV cache .* give --kv-dtype fp8_e4m3 or bf16"):
        make_request(_spec(), "h100-sxm", engine=engine)
    # an explicit format plans: the cache as given
    for fmt, nbytes in (("fp8_e4m3", 1), ("bf16", 2)):
        req = make_request(_spec(), "h100-sxm", engine=engine, kv_format=fmt)
        assert req.kv_format.bytes_per_value == nbytes


@pytest.mark.parametrize("engine", ["sglang==0.5.2", "vllm==0.13.0", "raw"])
def test_auto_is_the_model_dtype_where_the_release_keeps_it(engine):
    spec = _spec()
    assert plan(make_request(spec, "h100-sxm", engine=engine)).request.kv_format.name == "bf16"
    assert plan(make_request(spec, "h100-sxm", engine=engine, kv_format="auto")).request.kv_format.name == "bf16"


def test_cli_one_line_exit_2(capsys, tmp_path):
    import yaml

    spec = load_model(BASE)
    path = tmp_path / "s.yaml"
    from kvplan.hf.convert import spec_mapping_from_hf_config

    mapping = spec_mapping_from_hf_config(json.loads(open(BASE).read()), BASE)
    mapping["kv_cache_quant_algo"] = "FP8"
    path.write_text(yaml.safe_dump(mapping))
    code, _, err = cli(capsys, "capacity", path, "--gpu", "h100", "--engine", "sglang==0.5.8")
    assert code == 2
    assert one_line_error(err).startswith(f"kvplan: error: sglang==0.5.8: {spec.name}'s quantization config asks "
                                          f"for an FP8 KV cache")
    code, _, err = cli(capsys, "capacity", path, "--gpu", "h100", "--engine", "sglang==0.5.8", "--kv-dtype", "fp8")
    assert code in (0, 1), err
