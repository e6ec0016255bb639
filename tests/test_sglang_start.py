"""SGLang refuses to start some deployments kvplan could otherwise plan: weights whose
quantization method needs a newer GPU (rule weights_min_capability, kvplan/engines/sglang.py;
SGLang.check_weights)."""
from __future__ import annotations

import pytest

from helpers import cli, one_line_error
from kvplan.capacity import make_request
from kvplan.errors import BadInputError
from kvplan.loader import load_model

_LOADER = "checked by model_loader/loader.py _get_quantization_config"

# (engine, gpu, model, --weights, the one line kvplan prints); each straddles a boundary
WEIGHTS_REFUSED = [
    ("sglang==0.5.8", "t4", "llama3.1-8b", "fp8",
     "sglang==0.5.8 runs fp8 weights only from compute capability 8.0 (python/sglang/srt/layers/quantization/"
     f"fp8.py Fp8Config.get_min_capability 80, mxfp4.py Mxfp4Config 80, {_LOADER}); NVIDIA T4 (16 GB) has 7.5: "
     "use other --weights"),
    ("sglang==0.4.6", "v100-32gb", "llama3.1-8b", "fp8",
     "sglang==0.4.6 runs fp8 weights only from compute capability 8.0 (python/sglang/srt/layers/quantization/"
     f"fp8.py Fp8Config.get_min_capability 80, {_LOADER}; no layers/quantization/mxfp4.py before 0.5.1); "
     "NVIDIA V100 SXM2 32GB has 7.0: use other --weights"),
    ("sglang==0.5.1", "v100-32gb", "gpt-oss-20b", None,
     "sglang==0.5.1 runs mxfp4 weights only from compute capability 8.0 (python/sglang/srt/layers/quantization/"
     f"fp8.py Fp8Config.get_min_capability 80, mxfp4.py Mxfp4Config 80, {_LOADER}); NVIDIA V100 SXM2 32GB has "
     "7.0: use other --weights"),
    ("sglang==0.4.10", "h100-sxm", "llama3.1-8b", "mxfp4",
     "sglang==0.4.10 has no quantization method for mxfp4 weights (SGLang has it from 0.5.1); use a newer "
     "--engine sglang==X or other --weights"),
]


@pytest.mark.parametrize("engine,gpu,model,weights,line", WEIGHTS_REFUSED)
def test_weights_the_release_does_not_load_on_this_gpu_are_refused(capsys, engine, gpu, model, weights, line):
    args = ["capacity", model, "--gpu", gpu, "--engine", engine, "--max-model-len", "4096"]
    args += ["--weights", weights] if weights else []
    code, out, err = cli(capsys, *args)
    assert code == 2 and out == ""
    assert one_line_error(err) == f"kvplan: error: {line}"


@pytest.mark.parametrize("engine,gpu,model,weights", [
    ("sglang==0.5.8", "a100-80gb", "llama3.1-8b", "fp8"),     # 8.0: Fp8Config's minimum itself
    ("sglang==0.4.6", "a10g", "llama3.1-8b", "fp8"),
    ("sglang==0.5.1", "a100-80gb", "gpt-oss-20b", None),      # mxfp4 from 0.5.1 at 8.0
    ("sglang==0.5.8", "t4", "llama3.1-8b", "int8"),           # not a format the rule covers
    ("sglang==0.5.8", "mi300x", "llama3.1-8b", "fp8"),        # AMD: SGLang's check is CUDA only
])
def test_weights_the_release_loads_are_planned(engine, gpu, model, weights):
    req = make_request(load_model(model), gpu, engine=engine, weights=weights, max_model_len=4096)
    assert req.weights == weights


def test_an_unknown_capability_is_not_checked():
    req = make_request(load_model("llama3.1-8b"), None, gpu_mem_bytes="80GiB", engine="sglang==0.5.8",
                       weights="fp8", gpu_memory_utilization="0.9", max_model_len=4096)
    assert req.weights == "fp8"
