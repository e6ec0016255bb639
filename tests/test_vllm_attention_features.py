"""vLLM releases that do not start a model with attention sinks (gpt-oss) or sliding-window layers
on some GPUs, whatever the cache dtype (rule attention_features_start), and fp8 caches of models
with sinks where fp8_kv_start's backend refuses sinks (rule fp8_kv_start_sinks). Rules in
kvplan/engines/vllm_rules.py, checked by VLLM.check_attention_features / check_kv_on_gpu."""
from __future__ import annotations

import dataclasses

import pytest

from helpers import cli, one_line_error
from kvplan.capacity import make_request
from kvplan.errors import BadInputError
from kvplan.loader import load_model


def _request(model, gpu, release, kv="auto", **kw):
    spec = load_model(model) if isinstance(model, str) else model
    return make_request(spec, gpu, engine=f"vllm=={release}", kv_format=kv, **kw)


# -- fp8 caches of models with sinks (fp8_kv_start_sinks). fp8_kv_start alone starts each of these
#    (FLASHINFER on 7.5-12.1 from 0.11.1), so each fails without the sinks rows.
FP8_SINKS_REFUSED = [
    ("a100-80gb", "0.11.1"), ("a100-80gb", "0.19.1"), ("a10g", "0.15.0"),
]
FP8_SINKS_STARTS = [
    ("h100-sxm", "0.11.1"), ("l40s", "0.11.1"), ("l4", "0.19.1"), ("b200", "0.19.1"), ("h100-sxm", "0.19.1"),
]


@pytest.mark.parametrize("gpu,release", FP8_SINKS_REFUSED)
def test_an_fp8_cache_of_a_model_with_sinks_falls_to_triton_below_8_9(gpu, release):
    with pytest.raises(BadInputError, match=r"a model with attention sinks with --kv-cache-dtype fp8_e4m3: "
                                            r".*TRITON_ATTN.*float8_e4m3fn"):
        _request("gpt-oss-20b", gpu, release, "fp8")
    assert _request("llama3-8b", gpu, release, "fp8", dtype="fp16")  # no sinks: FLASHINFER


@pytest.mark.parametrize("gpu,release", FP8_SINKS_STARTS)
def test_an_fp8_cache_of_a_model_with_sinks_starts_from_8_9(gpu, release):
    # mxfp4 experts on capability 9.0 under 0.10.2-0.11.2 are refused (their layout depends on whether
    # triton_kernels is installed: rule mxfp4_sm90_expert_layout), so there the model runs bf16 weights
    weights = "bf16" if (gpu, release) == ("h100-sxm", "0.11.1") else None
    assert _request("gpt-oss-20b", gpu, release, "fp8", weights=weights).spec.attention_sinks


def test_below_7_5_an_fp8_cache_fails_with_or_without_sinks():
    anon = dataclasses.replace(load_model("gpt-oss-20b"), weights_format=None)  # bf16 weights: no mxfp4 check
    for gpu in ("v100-32gb", "t4"):
        with pytest.raises(BadInputError, match="attention sinks with --kv-cache-dtype fp8_e4m3.*below 8.9"):
            _request(anon, gpu, "0.19.1", "fp8", dtype="fp16")
    plain = dataclasses.replace(anon, attention_sinks=False)
    with pytest.raises(BadInputError, match="TRITON_ATTN below 7.5"):
        _request(plain, "v100-32gb", "0.19.1", "fp8", dtype="fp16")
    assert _request(plain, "t4", "0.19.1", "fp8", dtype="fp16")  # FLASHINFER from 7.5


# -- sinks, any cache dtype (attention_features_start "sinks")
def test_b200_runs_sinks_through_an_optional_flashinfer_up_to_0_11_0():
    for release in ("0.10.1", "0.10.2", "0.11.0"):
        with pytest.raises(BadInputError, match=r"compute capability 10\.0\): kvplan does not model whether a model "
                                                r"with attention sinks starts \(.*artifactory"):
            _request("gpt-oss-20b", "b200", release)
    assert _request("gpt-oss-20b", "b200", "0.11.1")
    assert _request("gpt-oss-20b", "b300", "0.11.0")  # 10.3: TRITON_ATTN (is_device_capability(100) only)
    assert _request("gpt-oss-20b", "h100-sxm", "0.10.1")  # FlashAttention 3
    assert _request("gpt-oss-20b", "a100-80gb", "0.10.1")  # TRITON_ATTN
    assert _request("gpt-oss-20b", None, "0.11.0", gpu_mem_bytes="80GiB")  # no capability: row not general


def test_no_release_before_0_10_1_runs_sinks_on_any_gpu():
    anon = dataclasses.replace(load_model("gpt-oss-20b"), architecture="")  # a user's YAML names no class
    for gpu, extra in (("h100-sxm", {}), (None, {"gpu_mem_bytes": "80GiB"})):
        with pytest.raises(BadInputError, match=r"vllm==0\.10\.0.* does not start a model with attention sinks: no "
                                                r"attention backend .*vllm/attention/layer\.py"):
            _request(anon, gpu, "0.10.0", weights="bf16", **extra)
    assert _request(dataclasses.replace(anon, attention_sinks=False), "h100-sxm", "0.10.0", weights="bf16")


# -- sliding-window layers, any cache dtype (attention_features_start "sliding_window")
@pytest.mark.parametrize("model", ["mistral-7b", "gemma3-4b", "phi3-mini", "gemma2-9b"])
def test_0_10_2_runs_no_sliding_window_below_8_0(model):
    with pytest.raises(BadInputError, match=r"vllm==0\.10\.2 on .*\(compute capability 7\.5\) does not start a "
                                            r"model with sliding-window layers: .*FlexAttention does not support "
                                            r"sliding window yet"):
        _request(model, "t4", "0.10.2")


def test_sliding_window_starts_where_flex_attention_is_not_picked_or_takes_it():
    assert _request("phi3-mini", "t4", "0.11.0")          # FlexAttention keeps the window from 0.11.0
    assert _request("phi3-mini", "a10g", "0.10.2")        # 8.0+: FLASH_ATTN
    assert _request("llama3.2-1b", "t4", "0.10.2")        # no sliding window: FlexAttention starts
    assert _request("mistral-7b", None, "0.10.2", gpu_mem_bytes="16GiB")  # no capability: not checked


def test_the_cli_refuses_a_feature_in_one_line_naming_release_gpu_capability_feature_and_source(capsys):
    code, _, err = cli(capsys, "capacity", "gpt-oss-20b", "--gpu", "a100-80gb", "--kv-dtype", "fp8",
                       "--engine", "vllm==0.19.1")
    line = one_line_error(err)
    assert code == 2
    for part in ("vllm==0.19.1", "A100", "compute capability 8.0", "attention sinks", "fp8_e4m3",
                 "vllm/platforms/cuda.py", "flashinfer.py", "triton_attn.py"):
        assert part in line
    code, _, err = cli(capsys, "capacity", "phi3-mini", "--gpu", "t4", "--engine", "vllm==0.10.2")
    line = one_line_error(err)
    assert code == 2
    for part in ("vllm==0.10.2", "T4", "compute capability 7.5", "sliding-window layers", "flex_attention.py"):
        assert part in line
    code, out, _ = cli(capsys, "capacity", "gpt-oss-20b", "--gpu", "l40s", "--kv-dtype", "fp8",
                       "--engine", "vllm==0.19.1")
    assert code == 0 and "fits" in out
    code, out, _ = cli(capsys, "capacity", "phi3-mini", "--gpu", "t4", "--engine", "vllm==0.11.0")
    assert code == 0 and "fits" in out


# -- attention logit soft-capping (attention_features_start "softcap", "softcap_fp32"): Gemma-2
#    passes attn_logit_softcapping to every Attention; FlexAttentionImpl raises for it in every
#    release that has it, so it fails wherever vLLM picks FLEX_ATTENTION.
SOFTCAP_T4 = ("kvplan: error: vllm==0.11.0 on NVIDIA T4 (16 GB) (compute capability 7.5) does not start a model "
              "with attention logit soft-capping: vllm/platforms/cuda.py get_attn_backend_cls picks FLEX_ATTENTION "
              "below 8.0, which raises 'FlexAttention does not support logits soft cap yet.' "
              "(vllm/v1/attention/backends/flex_attention.py FlexAttentionImpl); use another --engine vllm==X or GPU")


def test_the_cli_refuses_gemma2_on_a_t4_under_0_11_0_in_one_line(capsys):
    code, out, err = cli(capsys, "capacity", "gemma2-9b", "--gpu", "t4", "--tp", "4", "--engine", "vllm==0.11.0")
    assert (code, out, one_line_error(err)) == (2, "", SOFTCAP_T4)
    # the same deployment one release later (TRITON_ATTN before FLEX_ATTENTION) starts and fits
    code, out, _ = cli(capsys, "capacity", "gemma2-9b", "--gpu", "t4", "--tp", "4", "--engine", "vllm==0.11.1")
    assert code == 0 and "verdict: fits" in out


@pytest.mark.parametrize("model", ["gemma2-9b", "gemma2-27b"])
@pytest.mark.parametrize("gpu", ["t4", "v100-32gb"])
def test_0_11_0_runs_no_softcap_below_8_0(model, gpu):
    spec = load_model(model)
    assert spec.attn_logit_softcapping == 50.0
    with pytest.raises(BadInputError, match=r"does not start a model with attention logit soft-capping: .*"
                                            r"FlexAttention does not support logits soft cap yet"):
        _request(spec, gpu, "0.11.0")
    # the sliding-window layers alone start there (FlexAttention keeps the window from 0.11.0)
    assert _request(dataclasses.replace(spec, attn_logit_softcapping=None), gpu, "0.11.0")


def test_softcap_starts_where_flex_attention_is_not_picked():
    assert _request("gemma2-9b", "t4", "0.11.1").spec.dtype == "fp32"   # TRITON_ATTN takes fp32 and the cap
    assert _request("gemma2-9b", "v100-32gb", "0.19.1")
    assert _request("gemma2-9b", "a100-80gb", "0.11.0").spec.dtype == "bf16"  # FLASH_ATTN
    assert _request("gemma2-9b", "a100-80gb", "0.9.2")
    assert _request("gemma2-9b", None, "0.11.0", gpu_mem_bytes="16GiB")  # no capability: CUDA rows not checked
    assert _request("gemma3-4b", "t4", "0.11.0").spec.attn_logit_softcapping is None  # Gemma-3: no cap


@pytest.mark.parametrize("release", ["0.9.2", "0.10.0", "0.10.1.1", "0.10.2", "0.11.0"])
def test_softcap_in_fp32_runs_on_flex_attention_from_0_9_2_to_0_11_0(release):
    with pytest.raises(BadInputError, match=r"compute capability 8\.0\) does not start a model with attention logit "
                                            r"soft-capping in fp32: .*FLEX_ATTENTION for a float32 model.*"
                                            r"--dtype bf16 starts"):
        _request("gemma2-9b", "a100-80gb", release, dtype="fp32")
    assert _request("gemma2-9b", "a100-80gb", release, dtype="bf16")
    assert _request("llama3-8b", "a100-80gb", release, dtype="fp32")  # no cap: FlexAttention starts it


def test_softcap_in_fp32_starts_from_0_11_1_and_falls_back_to_v0_up_to_0_9_1():
    assert _request("gemma2-9b", "a100-80gb", "0.11.1", dtype="fp32").spec.dtype == "fp32"
    with pytest.raises(BadInputError, match=r"vllm==0\.9\.1 .* runs a model with attention logit soft-capping in fp32 "
                                            r"only in its V0 engine.*V1_SUPPORTED_DTYPES.*; use another --engine "
                                            r"vllm==X$"):
        _request("gemma2-9b", "a100-80gb", "0.9.1", dtype="fp32")


# -- any model in fp32 (feature "fp32"): V0 up to 0.9.1 (the V1 oracle's V1_SUPPORTED_DTYPES);
#    FlexAttention from 0.9.2 to 0.11.0, which refuses sliding windows up to 0.10.2
#    ("sliding_window_fp32"); TRITON_ATTN from 0.11.1.
@pytest.mark.parametrize("release", ["0.8.0", "0.8.5", "0.9.1"])
def test_fp32_falls_back_to_v0_up_to_0_9_1(release):
    with pytest.raises(BadInputError, match=r"runs a model with dtype fp32 only in its V0 engine.*V1_SUPPORTED_DTYPES"):
        _request("llama3-8b", "a100-80gb", release, dtype="fp32")
    assert _request("llama3-8b", "a100-80gb", release, dtype="bf16")


@pytest.mark.parametrize("release", ["0.9.2", "0.10.0", "0.10.2", "0.11.0", "0.11.1", "0.19.1"])
def test_fp32_full_attention_starts_from_0_9_2(release):
    assert _request("llama3-8b", "a100-80gb", release, dtype="fp32")


@pytest.mark.parametrize("release,starts", [("0.9.2", False), ("0.10.1", False), ("0.10.2", False),
                                             ("0.11.0", True), ("0.11.1", True), ("0.19.1", True)])
def test_sliding_window_in_fp32_needs_a_flex_attention_that_takes_windows(release, starts):
    if starts:
        assert _request("mistral-7b", "a100-80gb", release, dtype="fp32")
    else:
        with pytest.raises(BadInputError, match=r"sliding-window layers in fp32: .*FLEX_ATTENTION.*does not support "
                                                r"sliding window yet"):
            _request("mistral-7b", "a100-80gb", release, dtype="fp32")
    assert _request("mistral-7b", "a100-80gb", release, dtype="bf16")


def test_the_cli_refuses_fp32_under_v0_in_one_line(capsys):
    code, _, err = cli(capsys, "capacity", "llama3-8b", "--gpu", "a100-80gb", "--dtype", "fp32", "--engine",
                       "vllm==0.9.1")
    line = one_line_error(err)
    assert code == 2
    for part in ("vllm==0.9.1", "A100", "compute capability 8.0", "dtype fp32", "V0", "arg_utils.py"):
        assert part in line
