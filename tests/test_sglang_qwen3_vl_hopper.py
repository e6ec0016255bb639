"""SGLang 0.5.20-0.5.23's Qwen3-VL override (arg_groups/model_overrides/qwen3_vl.py) acts only where
large_hopper_qwen3_vl_model_type answers: compute capability 9.x (is_sm90_supported, CUDA only) with at least
60 * 1024 MiB in nvidia-smi (get_device_memory_capacity). kvplan refuses Qwen3-VL there (rule qwen3_vl_hopper)
and plans it elsewhere by the generic rules: on an A100 80GB and a B200 the same pool as 0.5.19, whose other
rules for this model agree (docs/findings/FINDINGS_h34_qvl.md)."""
from __future__ import annotations

import json

import pytest

from helpers import cli

H = "tests/fixtures/hf_configs/"
VL8, VL30 = H + "qwen3-vl-8b-instruct.json", H + "qwen3-vl-30b-a3b-instruct.json"
NEW = ("sglang==0.5.20", "sglang==0.5.21", "sglang==0.5.22", "sglang==0.5.23")


def _tokens(capsys, *args, rc: int = 0) -> int:
    code, out, err = cli(capsys, "capacity", *args, "--json")
    assert code == rc, err
    return json.loads(out)["kv_cache_tokens"]


@pytest.mark.parametrize("model, gpu, tokens, rc", [
    (VL8, "a100-80gb", 322_731, 0), (VL8, "b200", 905_728, 0),
    (VL30, "a100-80gb", 30_328, 1)])  # exit 1: 30,326 tokens a request, short of max_model_len 262,144
def test_planned_off_hopper_as_0_5_19(capsys, model, gpu, tokens, rc):
    # compute capability 8.0 / 10.0: large_hopper_qwen3_vl_model_type returns None, nothing in qwen3_vl.py acts
    assert _tokens(capsys, model, "--gpu", gpu, "--engine", "sglang==0.5.19", rc=rc) == tokens
    for engine in NEW:
        assert _tokens(capsys, model, "--gpu", gpu, "--engine", engine, rc=rc) == tokens, engine


@pytest.mark.parametrize("gpu", ["h100", "h100-pcie", "h200", "h20", "gh200-144gb"])
@pytest.mark.parametrize("engine", NEW)
def test_refused_on_large_hopper(capsys, gpu, engine):
    for model, arch in ((VL8, "Qwen3VLForConditionalGeneration"), (VL30, "Qwen3VLMoeForConditionalGeneration")):
        code, _, err = cli(capsys, "capacity", model, "--gpu", gpu, "--engine", engine)
        assert code == 2 and f"({arch}) on a Hopper GPU with at least 60 GiB" in err, (gpu, engine)
        lines = "lines 88-160" if engine == "sglang==0.5.20" else "lines 85-157"
        assert f"_qwen3vl_hopper_serving_overrides {lines}" in err
    # 0.5.19 has no such override
    assert _tokens(capsys, VL8, "--gpu", "h200", "--engine", "sglang==0.5.19") == 730_258


def test_unknown_compute_capability_refused(capsys):
    # --gpu-mem alone: kvplan cannot tell whether SGLang would see a large Hopper GPU
    code, _, err = cli(capsys, "capacity", VL8, "--gpu-mem", "80GiB", "--engine", "sglang==0.5.22",
                       "--mem-fraction-static", "0.8")
    assert code == 2 and "compute capability unknown" in err


def test_amd_planned_env_refused(capsys):
    # ROCm: is_sm90_supported() is False; _qwen3vl_overrides' page_size 16 needs SGLANG_USE_AITER_UNIFIED_ATTN,
    # an engine variable a --from-sglang command may not set
    launch = f"python -m sglang.launch_server --model-path {VL8} --mem-fraction-static 0.8"
    code, out, err = cli(capsys, "capacity", "--gpu", "mi300x", "--from-sglang", launch, "--engine", "sglang==0.5.22",
                         "--json")
    assert code == 0, err
    assert json.loads(out)["kv_cache_tokens"] == 827_565
    code, _, err = cli(capsys, "capacity", "--gpu", "mi300x", "--from-sglang", "SGLANG_USE_AITER_UNIFIED_ATTN=1 " + launch,
                       "--engine", "sglang==0.5.22")
    assert code == 2 and "SGLANG_USE_AITER_UNIFIED_ATTN=1: an engine environment variable" in err
