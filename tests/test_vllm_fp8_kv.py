"""vLLM refuses (or falls back to its unmodelled V0 engine for) an fp8 KV cache on some GPUs
by release: rule fp8_kv_start (kvplan/engines/vllm_rules.py), checked by VLLM.check_kv_on_gpu."""
from __future__ import annotations

import pytest

from helpers import cli, one_line_error
from kvplan.capacity import make_request, plan
from kvplan.errors import BadInputError
from kvplan.loader import load_model


def _plan(gpu, release, kv="fp8", model="llama3-8b", **kw):
    spec = load_model(model)
    return plan(make_request(spec, gpu, engine=f"vllm=={release}", kv_format=kv, dtype="fp16", **kw))


# (gpu, release, kv dtype, what the error says); each pair of rows straddles a release boundary
REFUSED = [
    ("h100-sxm", "0.8.1", "fp8", "only in its V0 engine"),           # 0.8.0-0.8.1: any fp8 cache -> V0
    ("a100-80gb", "0.8.2", "fp8", "only in its V0 engine"),          # FlashAttention 3 is 9.x only
    ("l4", "0.10.2", "fp8_e5m2", "only in its V0 engine"),
    ("b200", "0.10.2", "fp8", "does not model whether"),            # FlashInfer optional on Blackwell
    ("a100-80gb", "0.11.0", "fp8", "float8_e4m3fn"),                # TRITON_ATTN below 8.9
    ("a10g", "0.11.0", "fp8_e5m2", "float8_e4m3fn"),
    ("t4", "0.11.0", "fp8", "FlexAttention does not support quantized kv-cache"),
    ("v100-32gb", "0.11.1", "fp8", "TRITON_ATTN below 7.5"),
    ("v100-32gb", "0.19.1", "fp8_e5m2", "TRITON_ATTN below 7.5"),
]
STARTS = [
    ("h100-sxm", "0.8.2", "fp8"), ("h100-sxm", "0.10.2", "fp8_e5m2"), ("h100-sxm", "0.19.1", "fp8"),
    ("l4", "0.11.0", "fp8"), ("b200", "0.11.0", "fp8"), ("a100-80gb", "0.11.1", "fp8"),
    ("a10g", "0.19.1", "fp8_e5m2"), ("l4", "0.19.1", "fp8"), ("b200", "0.19.1", "fp8"),
]


@pytest.mark.parametrize("gpu,release,kv,match", REFUSED)
def test_an_fp8_cache_the_release_does_not_start_here_is_refused(gpu, release, kv, match):
    with pytest.raises(BadInputError, match=match):
        _plan(gpu, release, kv)


@pytest.mark.parametrize("gpu,release,kv", STARTS)
def test_an_fp8_cache_the_release_starts_is_planned(gpu, release, kv):
    assert _plan(gpu, release, kv).num_blocks > 0


def test_16_bit_caches_and_unknown_gpus_are_not_checked():
    assert _plan("a100-80gb", "0.9.2", "auto").num_blocks > 0
    assert _plan(None, "0.11.0", "fp8", gpu_mem_bytes="80GiB").num_blocks > 0
    assert _plan("mi300x", "0.11.0", "fp8").num_blocks > 0


# MLA models (rule fp8_kv_start_mla): (gpu, release, kv dtype, what the error says). Each group of
# rows straddles a release boundary; B200 needs a --block-size (kvplan does not pick its MLA backend).
MLA_REFUSED = [
    ("h100-sxm", "0.8.1", "fp8", "only in its V0 engine"),          # 0.8.0-0.8.1: oracle, MLA or not
    ("a100-80gb", "0.8.2", "fp8", "only in its V0 engine"),         # 0.8.2-0.10.1.1: FA3 fp8 is 9.x only
    ("h100-sxm", "0.8.2", "fp8", "FlashMLA V1 with FP8 KV cache not yet supported"),
    ("h100-sxm", "0.10.1.1", "fp8_e5m2", "FlashMLA V1 with FP8 KV cache not yet supported"),
    ("b200", "0.10.0", "fp8", r"TRITON_MLA \(0.10.0\) or CUTLASS_MLA"),   # 10.0 stays on V1 from 0.10.0
    ("b200", "0.10.1.1", "fp8", "not yet supported"),
    ("l4", "0.10.1.1", "fp8", "only in its V0 engine"),
    ("a100-80gb", "0.10.2", "fp8", "TritonMLA V1 with FP8 KV cache not yet supported"),  # V1 from 0.10.2
    ("l4", "0.11.0", "fp8_e5m2", "TritonMLA V1 with FP8 KV cache not yet supported"),
    ("l4", "0.11.1", "fp8", "no fp8 before 0.18.0"),                 # TRITON_MLA: supported_kv_cache_dtypes
    ("a10g", "0.17.1", "fp8", "no fp8 before 0.18.0"),
    ("a10g", "0.18.0", "fp8", "compiles only from compute capability 8.9"),  # fp8 TRITON_MLA below 8.9
    ("a100-80gb", "0.19.1", "fp8", "compiles only from compute capability 8.9"),
    ("h100-sxm", "0.11.1", "fp8_e5m2", "no MLA attention backend of this release lists fp8_e5m2"),
    ("b200", "0.19.1", "fp8_e5m2", "no MLA attention backend of this release lists fp8_e5m2"),
]
MLA_STARTS = [
    ("h100-sxm", "0.10.2", "fp8"), ("h100-sxm", "0.11.0", "fp8_e5m2"), ("b200", "0.10.2", "fp8"),
    ("h100-sxm", "0.11.1", "fp8"), ("b200", "0.11.1", "fp8"), ("h100-sxm", "0.19.1", "fp8"),
    ("b200", "0.19.1", "fp8"), ("l40s", "0.18.0", "fp8"), ("l40s", "0.19.1", "fp8"),  # L40S: 8.9
]


def _plan_mla(gpu, release, kv):
    extra = {"block_size": 128} if gpu == "b200" else {}
    if gpu == "mi300x":  # bf16 experts on AMD are refused on 0.14.0-0.20.2 (rule rocm_moe_weight_padding)
        extra["weights"] = "fp8"
    return _plan(gpu, release, kv, model="deepseek-v2-lite", **extra)


@pytest.mark.parametrize("gpu,release,kv,match", MLA_REFUSED)
def test_an_fp8_cache_an_mla_model_does_not_start_is_refused(gpu, release, kv, match):
    with pytest.raises(BadInputError, match=match):
        _plan_mla(gpu, release, kv)


@pytest.mark.parametrize("gpu,release,kv", MLA_STARTS)
def test_an_fp8_cache_an_mla_model_starts_is_planned(gpu, release, kv):
    assert _plan_mla(gpu, release, kv).num_blocks > 0


def test_mla_models_read_their_own_rule_not_the_attention_one():
    """llama3-8b fp8 starts on an A100 under 0.19.1 (FLASHINFER), DeepSeek-V2-Lite does not (TRITON_MLA);
    on an H100 under 0.8.2 llama3-8b starts (FlashAttention 3), DeepSeek-V2-Lite fails (FlashMLA)."""
    assert _plan("a100-80gb", "0.19.1", "fp8").num_blocks > 0
    with pytest.raises(BadInputError, match="TRITON_MLA"):
        _plan_mla("a100-80gb", "0.19.1", "fp8")
    assert _plan("h100-sxm", "0.8.2", "fp8").num_blocks > 0
    with pytest.raises(BadInputError, match="FlashMLA"):
        _plan_mla("h100-sxm", "0.8.2", "fp8")


def test_an_mla_model_on_an_unknown_gpu_or_in_16_bits_is_not_checked():
    assert _plan_mla("a100-80gb", "0.11.0", "auto").num_blocks > 0
    assert _plan_mla("mi300x", "0.19.1", "fp8").num_blocks > 0


def test_the_cli_refuses_an_mla_model_in_one_line(capsys):
    code, _, err = cli(capsys, "capacity", "deepseek-v2-lite", "--gpu", "a100-80gb", "--kv-dtype", "fp8",
                       "--engine", "vllm==0.17.1")
    line = one_line_error(err)
    assert code == 2
    for part in ("vllm==0.17.1", "A100", "compute capability 8.0", "TRITON_MLA", "triton_mla.py"):
        assert part in line
    code, out, _ = cli(capsys, "capacity", "deepseek-v2-lite", "--gpu", "h100-sxm", "--kv-dtype", "fp8")
    assert code == 0 and "fits" in out


def test_the_cli_refuses_in_one_line_naming_release_gpu_capability_and_source(capsys):
    code, _, err = cli(capsys, "capacity", "llama3-8b", "--gpu", "v100-32gb", "--kv-dtype", "fp8", "--dtype", "fp16",
                       "--engine", "vllm==0.19.1")
    line = one_line_error(err)
    assert code == 2
    for part in ("vllm==0.19.1", "V100", "compute capability 7.0", "vllm/platforms/cuda.py", "triton_attn.py"):
        assert part in line
    code, out, _ = cli(capsys, "capacity", "llama3-8b", "--gpu", "a100-80gb", "--kv-dtype", "fp8", "--dtype", "fp16",
                       "--engine", "vllm==0.19.1")
    assert code == 0 and "fits" in out


# FLASHINFER takes head sizes 64, 128 and 256 only (rule flashinfer_head_sizes); vLLM's backend
# selection then goes on to TRITON_ATTN, which compiles its fp8 type only from 8.9. phi-3-mini
# has 96 (hidden 3072 / 32 heads): refused on 7.5-8.8 from 0.11.1, where llama3-8b (128) starts.
@pytest.mark.parametrize("gpu,release,starts", [
    ("a100-80gb", "0.11.1", False), ("a100-80gb", "0.19.1", False), ("a10g", "0.19.1", False),
    ("t4", "0.19.1", False),
    ("l40s", "0.19.1", True),   # 8.9: TRITON_ATTN
    ("h100-sxm", "0.19.1", True),  # 9.0: FlashAttention 3 takes 96
    ("b200", "0.19.1", True),   # 10.0: TRITON_ATTN (FLASHINFER refuses 96)
])
def test_a_head_size_flashinfer_refuses_falls_to_triton(gpu, release, starts):
    assert load_model("phi3-mini").head_dim == 96
    if starts:
        assert _plan(gpu, release, model="phi3-mini").kv_cache_tokens > 0
    else:
        with pytest.raises(BadInputError, match="head size FLASHINFER does not take"):
            _plan(gpu, release, model="phi3-mini")
    if gpu != "t4":
        assert _plan(gpu, release).kv_cache_tokens > 0  # llama3-8b's 128: FLASHINFER (or better) takes it


def test_the_cli_refuses_a_head_size_flashinfer_does_not_take(capsys):
    code, _, err = cli(capsys, "capacity", "phi3-mini", "--gpu", "a100-80gb", "--kv-dtype", "fp8")
    line = one_line_error(err)
    assert code == 2
    for part in ("vllm==0.19.1", "A100", "compute capability 8.0", "get_supported_head_sizes 64, 128, 256",
                 "triton_attn.py"):
        assert part in line
