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


def test_mla_models_are_not_checked_by_this_rule():
    assert _plan("a100-80gb", "0.11.0", "fp8", model="deepseek-v2-lite").num_blocks > 0


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
