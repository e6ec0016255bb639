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
# Synthetic quantization configs on Llama-3.1-8B (no public checkpoint read with these exact keys): a
# quant_method fp8 config that asks for an FP8 cache the way SGLang's Fp8Config reads it, and an
# llm-compressor-style compressed-tensors kv_cache_scheme (static, symmetric, per tensor).
FP8_KV = {"quant_method": "fp8", "activation_scheme": "dynamic", "kv_cache_quant_algo": "FP8"}
CT_KV = {"quant_method": "compressed-tensors", "format": "float-quantized",
         "config_groups": {"group_0": {"targets": ["Linear"],
                                       "weights": {"num_bits": 8, "type": "float", "strategy": "channel"}}},
         "kv_cache_scheme": {"num_bits": 8, "type": "float", "strategy": "tensor", "dynamic": False,
                             "symmetric": True}}


def _config(tmp_path, quant: dict) -> str:
    config = json.loads(open(BASE).read())
    config["quantization_config"] = quant
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    return str(path)


@pytest.mark.parametrize("quant,method", [
    # ModelOpt >= 0.31 config.json (flat): an 8-bit float kv_cache_scheme
    ({"quant_method": "modelopt", "quant_algo": "FP8",
      "kv_cache_scheme": {"dynamic": False, "num_bits": 8, "type": "float"}}, "modelopt"),
    ({"quant_method": "modelopt", "quant_algo": "FP8", "kv_cache_quant_algo": "FP8"}, "modelopt"),
    ({"quant_method": "modelopt_fp4", "quant_algo": "NVFP4", "kv_cache_scheme": "fp8"}, "modelopt"),
    # hf_quant_config.json's nested layout
    ({"producer": {"name": "modelopt"}, "quantization": {"quant_algo": "FP8", "kv_cache_quant_algo": "FP8"}},
     "modelopt"),
    ({"quant_method": "modelopt", "quant_algo": "FP8"}, ""),
    ({"quant_method": "modelopt", "quant_algo": "NVFP4", "kv_cache_quant_algo": "NVFP4"}, ""),
    # quant_method fp8 / mxfp8 (SGLang's Fp8Config.from_config keeps kv_cache_quant_algo from 0.5.18;
    # configure_kv_cache_dtype compares it upper-cased); a kv_cache_scheme is not what Fp8Config reads
    (FP8_KV, "fp8"),
    ({"quant_method": "fp8", "activation_scheme": "dynamic", "kv_cache_quant_algo": "fp8"}, "fp8"),
    ({"quant_method": "mxfp8", "activation_scheme": "dynamic", "kv_cache_quant_algo": "FP8"}, "fp8"),
    ({"quant_method": "fp8", "activation_scheme": "dynamic"}, ""),
    ({"quant_method": "fp8", "activation_scheme": "dynamic", "kv_cache_scheme": {"num_bits": 8, "type": "float"}},
     ""),
    # compressed-tensors: CompressedTensorsConfig.kv_cache_quant_algo (SGLang 0.5.19+) is "FP8" only for a
    # static symmetric per-tensor 8-bit float scheme (is_supported_scheme)
    (CT_KV, "compressed-tensors"),
    # any other kv_cache_scheme: SGLang ignores it, vLLM 0.15.0+ stores fp8 for it (rule checkpoint_fp8_kv_auto)
    ({"quant_method": "compressed-tensors", "kv_cache_scheme": {"num_bits": 8, "type": "float"}},
     "compressed-tensors-other"),
    ({"quant_method": "compressed-tensors",
      "kv_cache_scheme": {"num_bits": 8, "type": "float", "strategy": "tensor", "dynamic": True}},
     "compressed-tensors-other"),
    ({"quant_method": "compressed-tensors",
      "kv_cache_scheme": {"num_bits": 8, "type": "float", "strategy": "tensor", "symmetric": False}},
     "compressed-tensors-other"),
    ({"quant_method": "compressed-tensors",
      "kv_cache_scheme": {"num_bits": 8, "type": "float", "strategy": "attn_head", "dynamic": False}},
     "compressed-tensors-other"),
    ({"quant_method": "compressed-tensors", "kv_cache_scheme": None}, ""),
    ({"quant_method": "compressed-tensors"}, ""),
])
def test_the_importer_records_which_method_asks_for_an_fp8_kv_cache(tmp_path, quant, method):
    spec = load_model(_config(tmp_path, quant))
    assert (spec.kv_cache_quant_algo, spec.kv_cache_quant_method) == (("FP8", method) if method else ("", ""))


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


# -- the quant_method decides (rule checkpoint_fp8_kv_auto: the methods each release honours) --------------
# Llama-3.1-8B with fp8 weights on one H100 under SGLang: the KV pool is 60,965,763,666 B whatever the cache
# dtype; 128 KiB a token in bf16 (32 layers x 8 heads x 128 x 2 x 2 B) -> 465,131 tokens, 64 KiB in fp8 ->
# 930,263. Before this rule knew the method, sglang==0.5.18+ planned auto at 465,131 tokens for FP8_KV,
# while SGLang stores fp8 (930,263).
POOL_BYTES = 60_965_763_666


@pytest.mark.parametrize("engine", ["sglang==0.5.18", "sglang==0.5.19", "sglang==0.5.20", "sglang==0.5.21",
                                    "sglang==0.5.22", "sglang==0.5.23", "trtllm"])
def test_an_fp8_checkpoint_asking_for_an_fp8_cache_is_refused_where_sglang_keeps_the_ask(tmp_path, engine):
    spec = load_model(_config(tmp_path, FP8_KV))
    with pytest.raises(BadInputError, match=r"\(quant_method fp8 with kv_cache_quant_algo FP8\), and for "
                                            r"--kv-cache-dtype auto .* give --kv-dtype fp8_e4m3 or bf16"):
        make_request(spec, "h100-sxm", engine=engine)


@pytest.mark.parametrize("engine", ["sglang==0.4.6", "sglang==0.5.4", "sglang==0.5.8", "sglang==0.5.17",
                                    "vllm==0.13.0", "vllm==0.14.0", "vllm==0.19.1", "vllm==0.26.0", "vllm==0.27.0"])
def test_an_fp8_checkpoint_asking_for_an_fp8_cache_is_the_model_dtype_elsewhere(tmp_path, engine):
    spec = load_model(_config(tmp_path, FP8_KV))
    assert make_request(spec, "h100-sxm", engine=engine).kv_format.name == "bf16"


@pytest.mark.parametrize("engine,refused", [
    ("sglang==0.5.17", False), ("sglang==0.5.18", False), ("sglang==0.5.19", True), ("sglang==0.5.20", True),
    ("sglang==0.5.21", True), ("sglang==0.5.22", True),
    ("sglang==0.5.23", True), ("vllm==0.14.0", False), ("vllm==0.14.1", False), ("vllm==0.15.0", True),
    ("vllm==0.19.1", True), ("vllm==0.22.0", True), ("vllm==0.27.0", True), ("trtllm", True)])
def test_a_compressed_tensors_fp8_kv_scheme(tmp_path, engine, refused):
    spec = load_model(_config(tmp_path, CT_KV))
    if refused:
        with pytest.raises(BadInputError, match=r"\(compressed-tensors static per-tensor fp8 kv_cache_scheme\)"):
            make_request(spec, "h100-sxm", engine=engine)
    else:
        assert make_request(spec, "h100-sxm", engine=engine).kv_format.name == "bf16"


def test_exact_tokens_before_and_after_the_ask(tmp_path):
    spec = load_model(_config(tmp_path, FP8_KV))
    old = plan(make_request(spec, "h100-sxm", engine="sglang==0.5.17"))  # Fp8Config ignores the ask: bf16
    new = plan(make_request(spec, "h100-sxm", engine="sglang==0.5.18", kv_format="fp8_e4m3"))
    assert (old.kv_pool_bytes, old.kv_cache_tokens) == (POOL_BYTES, 465_131)
    assert (new.kv_pool_bytes, new.kv_cache_tokens) == (POOL_BYTES, 930_263)


def test_cli_fp8_method_one_line_exit_2(capsys, tmp_path):
    path = _config(tmp_path, FP8_KV)
    name = load_model(path).name
    code, _, err = cli(capsys, "capacity", path, "--gpu", "h100", "--engine", "sglang==0.5.18")
    assert code == 2
    assert one_line_error(err).startswith(f"kvplan: error: sglang==0.5.18: {name}'s quantization config asks for "
                                          "an FP8 KV cache (quant_method fp8 with kv_cache_quant_algo FP8), and for "
                                          "--kv-cache-dtype auto sglang==0.5.18 may store it as fp8_e4m3 (")
    code, out, err = cli(capsys, "capacity", path, "--gpu", "h100", "--engine", "sglang==0.5.17", "--json")
    assert code == 0, err
    assert (json.loads(out)["kv_dtype"], json.loads(out)["kv_cache_tokens"]) == ("bf16", 465_131)


def test_a_spec_file_without_the_method_is_modelopt_and_a_method_alone_is_refused(capsys, tmp_path):
    import yaml

    from kvplan.hf.convert import spec_mapping_from_hf_config

    mapping = spec_mapping_from_hf_config(json.loads(open(BASE).read()), BASE)
    mapping["kv_cache_quant_algo"] = "FP8"
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(mapping))
    assert load_model(str(path)).kv_cache_quant_method == "modelopt"
    # modelopt is honoured by 0.5.4-0.5.17, fp8 not: the method, not the flag alone, decides
    assert cli(capsys, "capacity", path, "--gpu", "h100", "--engine", "sglang==0.5.17")[0] == 2
    mapping["kv_cache_quant_method"] = "fp8"
    path.write_text(yaml.safe_dump(mapping))
    assert cli(capsys, "capacity", path, "--gpu", "h100", "--engine", "sglang==0.5.17")[0] == 0
    del mapping["kv_cache_quant_algo"]
    path.write_text(yaml.safe_dump(mapping))
    code, _, err = cli(capsys, "capacity", path, "--gpu", "h100", "--engine", "sglang==0.5.17")
    assert code == 2
    assert "kv_cache_quant_method says which quant_method asked for an FP8 KV cache" in one_line_error(err)


def test_every_release_row_names_known_methods():
    from kvplan.engines.sglang import BOOK as SGL
    from kvplan.engines.vllm import BOOK as VLLM

    for book in (SGL, VLLM):
        for rule in book.rules:
            if rule.name == "checkpoint_fp8_kv_auto":
                assert isinstance(rule.value, tuple)
                assert set(rule.value) <= {"modelopt", "fp8", "compressed-tensors", "compressed-tensors-other"}, rule


# -- vLLM 0.15.0+: the Attention layer stores fp8 for any compressed-tensors kv_cache_scheme (REVIEW_h33.md R1) -----
CT_HEAD = {**CT_KV, "kv_cache_scheme": {**CT_KV["kv_cache_scheme"], "strategy": "attn_head"}}


@pytest.mark.parametrize("engine,refused", [
    ("sglang==0.5.19", False), ("sglang==0.5.23", False), ("vllm==0.14.1", False), ("vllm==0.15.0", True),
    ("vllm==0.19.1", True), ("vllm==0.27.0", True), ("trtllm", True)])
def test_another_compressed_tensors_kv_scheme(tmp_path, engine, refused):
    # SGLang ignores a scheme is_supported_scheme rejects (compressed_tensors.py 0.5.19 lines 208-216: the model
    # dtype); vLLM 0.15.0+ sets cache_dtype "fp8" for any kv_cache_scheme under auto
    spec = load_model(_config(tmp_path, CT_HEAD))
    if refused:
        with pytest.raises(BadInputError, match=r"\(compressed-tensors kv_cache_scheme\), and for --kv-cache-dtype auto"):
            make_request(spec, "h100-sxm", engine=engine)
    else:
        assert make_request(spec, "h100-sxm", engine=engine).kv_format.name == "bf16"


@pytest.mark.parametrize("quant", [CT_KV, CT_HEAD])
@pytest.mark.parametrize("release,forced", [("0.14.1", False), ("0.15.0", True), ("0.19.1", True), ("0.21.0", True),
                                            ("0.22.0", False), ("0.27.0", False)])
def test_vllm_0_15_to_0_21_store_fp8_whatever_is_given(tmp_path, quant, release, forced):
    spec = load_model(_config(tmp_path, quant))
    for kv in ("bf16", "fp8_e5m2"):
        if forced:
            with pytest.raises(BadInputError, match=rf"stores the KV cache as fp8 whatever --kv-cache-dtype says .*"
                                                    rf"not {kv}; give --kv-dtype fp8_e4m3"):
                make_request(spec, "h100-sxm", engine=f"vllm=={release}", kv_format=kv)
        else:
            assert make_request(spec, "h100-sxm", engine=f"vllm=={release}", kv_format=kv).kv_format.name == kv
    assert make_request(spec, "h100-sxm", engine=f"vllm=={release}", kv_format="fp8_e4m3").kv_format.name == "fp8_e4m3"


def test_vllm_compressed_tensors_exact_tokens(capsys, tmp_path):
    # Llama-3.1-8B + CT_KV on one H100: 0.14.1 keeps auto at bf16 (29,577 blocks); 0.15.0 stores fp8 (given:
    # 59,154 blocks, as a plain fp8_e4m3 ask); 0.22.0 eager honours an explicit bf16 (31,858 blocks)
    path = _config(tmp_path, CT_KV)
    got = []
    for engine, extra in (("vllm==0.14.1", ()), ("vllm==0.15.0", ("--kv-dtype", "fp8_e4m3")),
                          ("vllm==0.22.0", ("--kv-dtype", "bf16", "--enforce-eager"))):
        code, out, err = cli(capsys, "capacity", path, "--gpu", "h100", "--engine", engine, "--json", *extra)
        assert code == 0, err
        got.append(json.loads(out)["num_blocks"])
    assert got == [29_577, 59_154, 31_858]
    code, _, err = cli(capsys, "capacity", path, "--gpu", "h100", "--engine", "vllm==0.19.1", "--kv-dtype", "bf16")
    assert code == 2 and "stores the KV cache as fp8 whatever --kv-cache-dtype says" in one_line_error(err)
