"""SGLang refuses to start some deployments kvplan could otherwise plan: weights whose
quantization method needs a newer GPU (rule weights_min_capability, kvplan/engines/sglang.py;
SGLang.check_weights), an fp8 cache its default attention backend does not run (rules
mha_backend_default, fp8_kv_start; SGLang.check_kv_on_gpu), a GPU below compute capability 7.5
(rule min_capability; SGLang.check_gpu)."""
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
    ("sglang==0.4.6", "t4", "llama3.1-8b", "fp8",
     "sglang==0.4.6 runs fp8 weights only from compute capability 8.0 (python/sglang/srt/layers/quantization/"
     f"fp8.py Fp8Config.get_min_capability 80, {_LOADER}; no layers/quantization/mxfp4.py before 0.5.1); "
     "NVIDIA T4 (16 GB) has 7.5: use other --weights"),
    ("sglang==0.5.1", "t4", "gpt-oss-20b", None,
     "sglang==0.5.1 runs mxfp4 weights only from compute capability 8.0 (python/sglang/srt/layers/quantization/"
     f"fp8.py Fp8Config.get_min_capability 80, mxfp4.py Mxfp4Config 80, {_LOADER}); NVIDIA T4 (16 GB) has "
     "7.5: use other --weights"),
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


# fp8 caches on the attention backend SGLang picks by default (rules mha_backend_default,
# mla_backend_default and fp8_kv_start): (engine, gpu, model, --kv-dtype, what the one line says)
_TRTLLM_MHA = ("(layers/attention/trtllm_mha_backend.py handles only a float8_e4m3fn cache; whether FlashInfer's "
               "TensorRT-LLM kernels take fp8_e5m2 is not read); use --kv-dtype auto or another --engine sglang==X")
KV_REFUSED = [
    ("sglang==0.5.8", "b200", "llama3.1-8b", "fp8_e5m2",       # trtllm_mha on sm100 by default from 0.5.8
     "sglang==0.5.8 on NVIDIA B200 (HGX, 180 GB) (compute capability 10.0): kvplan does not model whether "
     f"llama3.1-8b on its default trtllm_mha attention backend with --kv-cache-dtype fp8_e5m2 starts {_TRTLLM_MHA}"),
    ("sglang==0.5.6", "b200", "gpt-oss-20b", "fp8_e5m2",       # GptOssForCausalLM: its own trtllm_mha on sm100
     "sglang==0.5.6 on NVIDIA B200 (HGX, 180 GB) (compute capability 10.0): kvplan does not model whether "
     f"gpt-oss-20b on its default trtllm_mha attention backend with --kv-cache-dtype fp8_e5m2 starts {_TRTLLM_MHA}"),
    ("sglang==0.5.4", "b200", "deepseek-v3", "fp8_e5m2",       # DeepseekV3ForCausalLM: trtllm_mla on sm100
     "sglang==0.5.4 on NVIDIA B200 (HGX, 180 GB) (compute capability 10.0) does not start deepseek-v3 on its default "
     "trtllm_mla attention backend with --kv-cache-dtype fp8_e5m2: python/sglang/srt/server_args.py line 1111 raises "
     "'TensorRT-LLM MLA backend only supports kv-cache-dtype of fp8_e4m3 or auto.'; use --kv-dtype auto or another "
     "--engine sglang==X"),
    ("sglang==0.5.8", "b200", "deepseek-v3", "fp8_e5m2",
     "sglang==0.5.8 on NVIDIA B200 (HGX, 180 GB) (compute capability 10.0) does not start deepseek-v3 on its default "
     "trtllm_mla attention backend with --kv-cache-dtype fp8_e5m2: python/sglang/srt/server_args.py line 1753 raises "
     "'TensorRT-LLM MLA backend only supports kv-cache-dtype of fp8_e4m3, fp4_e2m1, bf16, or auto.'; use --kv-dtype "
     "auto or another --engine sglang==X"),
]


@pytest.mark.parametrize("engine,gpu,model,kv,line", KV_REFUSED)
def test_an_fp8_cache_the_default_backend_does_not_run_is_refused(capsys, engine, gpu, model, kv, line):
    code, out, err = cli(capsys, "capacity", model, "--gpu", gpu, "--engine", engine, "--kv-dtype", kv,
                         "--max-model-len", "4096")
    assert code == 2 and out == ""
    assert one_line_error(err) == f"kvplan: error: {line}"


@pytest.mark.parametrize("engine,gpu,model,kv", [
    ("sglang==0.5.6", "h100-sxm", "llama3.1-8b", "fp8_e5m2"),  # fa3 + fp8_e5m2 -> triton (server_args.py)
    ("sglang==0.5.4", "h100-sxm", "llama3.1-8b", "fp8_e5m2"),  # ... up to 0.5.4 in model_runner.py
    ("sglang==0.4.6", "h200", "mistral-7b", "fp8_e5m2"),       # (model_specific_adjustment), every release
    ("sglang==0.5.2", "h100-sxm", "gpt-oss-20b", "fp8_e5m2"),
    ("sglang==0.5.2", "b200", "deepseek-v2-lite", "fp8_e5m2"),  # flashinfer MLA: not read, not checked
    ("sglang==0.5.4", "b200", "gpt-oss-20b", "fp8_e5m2"),      # trtllm_mha before 0.5.6: not read
    ("sglang==0.5.6", "h100-sxm", "gpt-oss-20b", "fp8_e5m2"),  # (0.5.8 gives it a window pool: refused)
    ("sglang==0.5.4", "h100-sxm", "llama3.1-8b", "fp8_e4m3"),  # FA3 takes fp8_e4m3
    ("sglang==0.4.9", "h100-sxm", "mistral-7b", "fp8_e5m2"),   # not an fa3 default architecture in 0.4.9
    ("sglang==0.5.4", "b200", "llama3.1-8b", "fp8_e5m2"),      # trtllm_mha the default only from 0.5.8
    ("sglang==0.5.8", "b200", "llama3.1-8b", "fp8_e4m3"),
    ("sglang==0.5.4", "a100-80gb", "llama3.1-8b", "fp8_e5m2"),  # FlashInfer: not read, not checked
    ("sglang==0.5.4", "h100-sxm", "deepseek-v2-lite", "fp8_e5m2"),  # MLA on fa3: triton likewise
])
def test_an_fp8_cache_the_default_backend_runs_or_kvplan_has_not_read_is_planned(capsys, engine, gpu, model, kv):
    code, out, err = cli(capsys, "capacity", model, "--gpu", gpu, "--engine", engine, "--kv-dtype", kv,
                         "--max-model-len", "4096")
    assert code == 0, err


@pytest.mark.parametrize("engine,gpu", [("sglang==0.4.6", "v100-32gb"), ("sglang==0.5.8", "v100-16gb")])
def test_a_gpu_below_7_5_is_refused(capsys, engine, gpu):
    code, out, err = cli(capsys, "capacity", "llama3.1-8b", "--gpu", gpu, "--engine", engine,
                         "--max-model-len", "4096", "--gpu-memory-utilization", "0.85")
    name = {"v100-32gb": "NVIDIA V100 SXM2 32GB", "v100-16gb": "NVIDIA V100 SXM2 16GB"}[gpu]
    assert code == 2 and out == ""
    assert one_line_error(err) == (
        f"kvplan: error: {engine} does not start on {name} (compute capability 7.0): it needs 7.5 "
        "(python/sglang/srt/model_executor/model_runner.py load_model: 'SGLang only supports sm75 and above.'); "
        "use another GPU")


def test_a_gpu_below_8_0_runs_every_model_in_fp16():
    # load_model: "Compute capability below sm80. Use float16", --dtype float32 or not
    spec = load_model("llama3.1-8b")
    sgl = make_request(spec, "t4", engine="sglang==0.5.8", dtype="fp32", gpu_memory_utilization="0.85",
                       max_model_len=4096)
    assert sgl.spec.dtype == "fp16"
    assert make_request(spec, "a100-80gb", engine="sglang==0.5.8", dtype="fp32",
                        max_model_len=4096).spec.dtype == "fp32"
