"""The dtype an engine runs a model in, from its config's torch_dtype and the GPU (vLLM's
--dtype auto; rule auto_dtype in kvplan.engines.vllm_rules), and the --dtype a release refuses.

Expectations read from each release's vllm/config (_get_and_verify_dtype, _resolve_auto_dtype,
_FLOAT16_NOT_SUPPORTED_MODELS) and vllm/platforms/cuda.py (supported_dtypes: bf16 from compute
capability 8.0); SGLang's from sglang/srt/configs/model_config.py (0.4.6, 0.5.8)."""

from __future__ import annotations

import dataclasses

import pytest

from helpers import cli
from kvplan.capacity import make_request, plan
from kvplan.errors import BadInputError
from kvplan.loader import load_model


def _served(model, gpu, engine="vllm", dtype=None, **kw):
    spec = load_model(model) if isinstance(model, str) else model
    return make_request(spec, gpu, engine=engine, dtype=dtype, **kw).spec.dtype


def _fp32(model):
    return dataclasses.replace(load_model(model), dtype="fp32")


@pytest.mark.parametrize(("engine", "gpu", "model", "want"), [
    # a float32 config (gpt2's torch_dtype) under --dtype auto
    ("vllm==0.19.1", "h100", "gpt2", "bf16"),   # the platform's first dtype from 0.9.1
    ("vllm==0.9.1", "a100-80gb", "gpt2", "bf16"),
    ("vllm==0.9.0", "h100", "gpt2", "fp16"),    # 'we use float16 for float32 models' up to 0.9.0.1
    ("vllm==0.8.0", "h100", "gpt2", "fp16"),
    ("vllm==0.19.1", "t4", "gpt2", "fp16"),     # no bf16 below compute capability 8.0
    ("sglang==0.5.8", "h100", "gpt2", "fp16"),
    ("sglang==0.4.6", "h100", "gpt2", "fp16"),
    ("raw", "h100", "gpt2", "fp32"),            # the bytes as the config gives them
    # a bf16 config on a GPU without bf16
    ("vllm==0.19.1", "t4", "llama3.1-8b", "fp16"),
    ("vllm==0.19.1", "t4", "gemma2-9b", "fp32"),     # never fp16 for gemma2: the next is fp32
    ("vllm==0.19.1", "h100", "llama3.1-8b", "bf16"),
])
def test_auto_dtype_by_release_and_gpu(engine, gpu, model, want):
    assert _served(model, gpu, engine) == want


@pytest.mark.parametrize(("engine", "gpu", "model", "want"), [
    ("vllm==0.9.0", "t4", "llama3.1-8b", "fp16"),    # 0.9.0 falls back to supported_dtypes[0]
    ("vllm==0.10.1.1", "v100-32gb", "gemma2-9b", "fp32"),
    ("vllm==0.9.0", "t4", "gemma2-9b", "fp16"),      # before _FLOAT16_NOT_SUPPORTED_MODELS
    ("vllm==0.10.2", "v100-32gb", "gemma2-9b", "fp32"),  # refused: FlexAttention takes no sliding window
])
def test_auto_dtype_rule_of_releases_that_run_v0_below_8_0(engine, gpu, model, want):
    """Up to 0.10.1.1 these GPUs run vLLM's V0 engine, which kvplan refuses to plan
    (test_releases_that_run_v0_below_8_0_are_refused), and 0.10.2 runs no sliding-window model
    there (rule attention_features_start); the dtype rule itself, read from the same configs,
    still says what the release would serve."""
    from kvplan.engines import get_engine
    from kvplan.gpus import get_gpu

    assert get_engine(engine).serving_dtype(load_model(model), get_gpu(gpu), explicit=False) == want


@pytest.mark.parametrize(("engine", "gpu"), [("vllm==0.8.0", "t4"), ("vllm==0.9.2", "v100-32gb"),
                                             ("vllm==0.10.1.1", "t4")])
def test_releases_that_run_v0_below_8_0_are_refused(engine, gpu):
    with pytest.raises(BadInputError, match=r"compute capability 7\.[05]\) runs only its V0 engine.*vllm==0\.10\.2"):
        _served("llama3.1-8b", gpu, engine, "fp16")


def test_v1_below_8_0_from_0_10_2_and_v0_releases_on_ampere_plan():
    assert _served("llama3.1-8b", "t4", "vllm==0.10.2") == "fp16"
    assert _served("llama3.1-8b", "a100-80gb", "vllm==0.8.0") == "bf16"


def test_float32_gemma_configs_by_release():
    g2 = _fp32("gemma2-9b")
    assert _served(g2, "h100", "vllm==0.8.0") == "bf16"   # 'For Gemma 2 and 3, we downcast float32 to bfloat16'
    assert _served(g2, "h100", "vllm==0.8.1") == "fp16"
    assert _served(g2, "h100", "vllm==0.19.1") == "bf16"
    assert _served(g2, "t4", "vllm==0.19.1") == "fp32"
    assert _served(g2, "h100", "sglang==0.5.8") == "bf16"  # model_type.startswith("gemma")
    gemma3_text = dataclasses.replace(_fp32("llama3.1-8b"), architecture="Gemma3ForCausalLM")
    from kvplan.engines import get_engine
    from kvplan.gpus import get_gpu

    # gemma3_text joined the list in 0.10.2 (0.10.1.1 runs V0 on a T4: the rule alone)
    assert get_engine("vllm==0.10.1.1").serving_dtype(gemma3_text, get_gpu("t4"), explicit=False) == "fp16"
    assert _served(gemma3_text, "t4", "vllm==0.10.2") == "fp32"


def test_the_plan_counts_the_bytes_of_the_dtype_the_engine_runs():
    # gpt2 under vLLM 0.19.1 on an H100: bf16 weights and KV, half the float32 config's
    spec = load_model("gpt2")
    served = plan(make_request(spec, "h100", engine="vllm==0.19.1"))
    as_fp32 = plan(make_request(spec, "h100", engine="vllm==0.19.1", dtype="fp32"))
    assert served.request.kv_format.name == "bf16" and as_fp32.request.kv_format.name == "fp32"
    assert 2 * served.weights_bytes == as_fp32.weights_bytes
    assert 2 * served.reserved_bytes(1024) == as_fp32.reserved_bytes(1024)


@pytest.mark.parametrize(("engine", "gpu", "model", "dtype", "match"), [
    ("vllm==0.19.1", "t4", "llama3.1-8b", "bf16", "refuses --dtype bf16: vLLM runs bfloat16 only from compute capability 8.0"),
    ("vllm==0.8.3", "t4", "llama3.1-8b", None, "runs only its V0 engine"),
    ("vllm==0.19.1", "h100", "gemma2-9b", "fp16", "refuses --dtype fp16 for gemma2-9b"),
])
def test_a_dtype_the_release_refuses_is_refused(engine, gpu, model, dtype, match):
    with pytest.raises(BadInputError, match=match):
        _served(model, gpu, engine, dtype)


def test_explicit_dtypes_the_release_runs_are_kept():
    assert _served("gemma2-9b", "h100", "vllm==0.9.0", "fp16") == "fp16"  # no fp16 ban before 0.9.1
    assert _served("llama3.1-8b", "t4", "vllm==0.19.1", "fp16") == "fp16"
    assert _served("llama3.1-8b", "h100", "vllm==0.19.1", "fp32") == "fp32"


def test_the_cli_prints_the_dtype_and_refuses_in_one_line(capsys):
    code, out, _ = cli(capsys, "capacity", "gpt2", "--gpu", "h100")
    assert code == 0 and "weights bf16, KV bf16" in out
    code, _, err = cli(capsys, "capacity", "llama3.1-8b", "--gpu", "t4", "--engine", "vllm==0.8.3")
    assert code == 2 and err.count("\n") == 1 and "runs only its V0 engine" in err


def test_speed_times_fp16_math_at_the_fp16_tensor_rate_where_bf16_has_none():
    # vLLM runs a bf16 model in fp16 on a T4 / V100 (no BF16 tensor cores): their FP16 rate
    # (T4 datasheet 65 TFLOPS, Volta whitepaper 125) times the matmuls; Ampere on: the bf16 figure.
    from kvplan.gpus import get_gpu
    from kvplan.speed import setup

    s = setup(plan(make_request(load_model("qwen2.5-7b"), "t4", weights="int4", max_model_len=4096)))
    assert (s.linear_flops_per_s, s.attention_flops_per_s) == (65 * 10**12, 65 * 10**12)
    s = setup(plan(make_request(load_model("llama3.1-8b"), "v100-32gb", max_model_len=4096)))
    assert s.request.spec.dtype == "fp16" and s.linear_flops_per_s == 125 * 10**12
    h100 = get_gpu("h100")
    s = setup(plan(make_request(load_model("llama3.1-8b"), "h100", dtype="fp16")))
    assert h100.fp16_dense_flops is None and s.linear_flops_per_s == h100.bf16_dense_flops
    with pytest.raises(BadInputError, match="no bf16 dense flops"):
        setup(plan(make_request(load_model("llama3.1-8b"), "t4", engine="raw", max_model_len=4096)))


def test_a_gpu_known_by_memory_alone_is_taken_to_run_bf16_and_the_plan_says_so():
    from kvplan.capacity import plan_capacity

    cap = plan_capacity(load_model("llama3.1-8b"), None, gpu_mem_bytes="80GiB")
    assert cap.request.spec.dtype == "bf16" and any("taken to run bf16" in n for n in cap.notes)
    assert not any("taken to run bf16" in n for n in plan_capacity(load_model("llama3.1-8b"), "h100").notes)


def test_every_gpu_command_counts_the_dtype_capacity_plans(capsys):
    # gemma2 on a V100 runs in fp32 under vLLM 0.19.1; gpt2's float32 config in bf16 on an H100:
    # size, sweep and fragment --gpu give capacity's pool and format, not the config's dtype.
    import json

    args = ["--gpu", "v100-32gb", "--weights", "int4", "--max-model-len", "4096"]
    pool = plan(make_request(load_model("gemma2-9b"), "v100-32gb", weights="int4", max_model_len=4096))
    assert pool.request.kv_format.name == "fp32"
    code, out, _ = cli(capsys, "size", "gemma2-9b", "--ctx", "4k", "--kv-dtype", "auto", "--json", *args)
    row = json.loads(out)
    assert code == 0 and json.dumps(row).count('"fp32"') >= 1 and '"bf16"' not in json.dumps(row)
    code, out, _ = cli(capsys, "sweep", "gemma2-9b", "--ctx", "4k", "--kv-dtype", "auto", "--json", *args)
    points = json.loads(out)["points"]
    assert code == 0 and {p["kv_dtype"] for p in points} == {"fp32"}
    assert {p["kv_pool_bytes"] for p in points} == {pool.kv_pool_bytes}
    code, out, _ = cli(capsys, "fragment", "gemma2-9b", "--requests", "20", "--policies", "paged-16", "--json", *args)
    assert code == 0 and json.loads(out)["pool_tokens"] == pool.kv_cache_tokens
    code, out, _ = cli(capsys, "sweep", "gpt2", "--ctx", "1k", "--kv-dtype", "auto", "--gpu", "h100", "--json")
    assert code == 0 and {p["kv_dtype"] for p in json.loads(out)["points"]} == {"bf16"}


@pytest.mark.parametrize(("engine", "gpu", "model", "weights", "match"), [
    # Fp8Config.get_min_capability: 80 up to 0.13.0, 75 from 0.14.0; Mxfp4Config 80 (from 0.10.1)
    ("vllm==0.19.1", "v100-32gb", "llama3.1-8b", "fp8", "fp8 weights only from compute capability 7.5"),
    ("vllm==0.13.0", "t4", "llama3.1-8b", "fp8", "fp8 weights only from compute capability 8.0"),
    ("vllm==0.19.1", "t4", "gpt-oss-20b", None, "mxfp4 weights only from compute capability 8.0"),
    ("vllm==0.9.2", "h100", "llama3.1-8b", "mxfp4", "has no quantization method for mxfp4"),
])
def test_a_weight_format_the_gpu_cannot_run_is_refused(engine, gpu, model, weights, match):
    with pytest.raises(BadInputError, match=match):
        make_request(load_model(model), gpu, engine=engine, weights=weights, max_model_len=4096)


def test_weight_formats_the_gpu_runs_are_planned():
    assert make_request(load_model("llama3.1-8b"), "t4", engine="vllm==0.14.0", weights="fp8",
                        max_model_len=4096).weights == "fp8"
    assert make_request(load_model("gpt-oss-20b"), "a100-80gb", engine="vllm==0.10.1").weights is None
    assert make_request(load_model("llama3.1-8b"), "v100-32gb", engine="raw", weights="fp8").weights == "fp8"
