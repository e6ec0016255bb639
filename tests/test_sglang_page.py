"""The page size SGLang really runs (SGLang.model_block_size; rules mha_backend_default,
mla_backend_default, backend_page_size and dsa in kvplan/engines/sglang.py): server_args.py
changes --page-size for the default backends that take only some pages (trtllm_mha: 16/32/64,
trtllm_mla: 32/64, else 64, with a warning) and for DeepSeek sparse attention (64; 1 on ROCm
in 0.5.8); kvplan plans that page, says so in its notes, and refuses where the page depends on
a compute capability it does not know."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers import cli, one_line_error
from kvplan.capacity import make_request, plan
from kvplan.engines import get_engine
from kvplan.formats import get_format
from kvplan.gpus import get_gpu
from kvplan.loader import load_model

DSA = str(Path(__file__).parent / "fixtures" / "hf_configs" / "deepseek-v3.2.json")

# (engine, gpu, model, --page-size or None, the page SGLang runs). Sources in the rules.
PAGES = [
    # MLA: fa3 on Hopper, flashinfer on sm100 up to 0.5.2 (model_runner.py), then trtllm_mla for
    # DeepseekV3ForCausalLM on sm100 (server_args.py _handle_model_specific_adjustments)
    ("sglang==0.4.6", "b200", "deepseek-v3", None, 1),      # triton (no sm100 row in 0.4.6)
    ("sglang==0.5.2", "b200", "deepseek-v3", None, 1),      # flashinfer MLA keeps the page
    ("sglang==0.5.2", "b200", "deepseek-v3", 16, 16),
    ("sglang==0.5.4", "b200", "deepseek-v3", None, 64),     # trtllm_mla: None -> 64
    ("sglang==0.5.4", "b200", "deepseek-v3", 32, 32),       # kept
    ("sglang==0.5.6", "b200", "deepseek-v3", 16, 64),       # overridden, with a warning
    ("sglang==0.5.8", "b300", "deepseek-v3", 128, 64),      # 10.3 is sm100 too
    ("sglang==0.5.8", "h200", "deepseek-v3", None, 1),      # fa3
    ("sglang==0.5.8", "h200", "deepseek-v3", 128, 128),
    ("sglang==0.5.8", "b200", "deepseek-v2-lite", None, 1),  # DeepseekV2ForCausalLM: flashinfer MLA
    ("sglang==0.5.8", "rtx5090", "deepseek-v2-lite", None, 1),  # 12.0: triton
    # MHA: trtllm_mha on sm100 for GptOss from 0.5.1, Olmo2 from 0.5.4, Llama4 from 0.5.6, every
    # model but a few hybrids in 0.5.8
    ("sglang==0.5.8", "b200", "llama3.1-8b", None, 64),
    ("sglang==0.5.8", "b200", "llama3.1-8b", 16, 16),
    ("sglang==0.5.8", "b200", "llama3.1-8b", 128, 64),
    ("sglang==0.5.8", "h100-sxm", "llama3.1-8b", None, 1),  # fa3
    ("sglang==0.5.8", "rtx5090", "llama3.1-8b", None, 1),   # 12.0: flashinfer
    ("sglang==0.5.8", "mi300x", "llama3.1-8b", 8, 8),       # aiter keeps it
    ("sglang==0.5.6", "b200", "llama3.1-8b", None, 1),      # flashinfer: trtllm_mha only for some models
    ("sglang==0.5.1", "b200", "gpt-oss-20b", None, 64),
    ("sglang==0.5.2", "b200", "gpt-oss-120b", 32, 32),
    ("sglang==0.5.2", "h100-sxm", "gpt-oss-20b", None, 1),  # fa3
    # DeepSeek sparse attention: 64 whatever --page-size says (1 on ROCm in 0.5.8)
    ("sglang==0.5.6", "h200", DSA, None, 64),
    ("sglang==0.5.6", "h200", DSA, 128, 64),
    ("sglang==0.5.6", "mi300x", DSA, None, 64),
    ("sglang==0.5.8", "mi300x", DSA, 64, 1),
]


@pytest.mark.parametrize("engine,gpu,model,requested,page", PAGES)
def test_the_page_sglang_runs(engine, gpu, model, requested, page):
    prof = get_engine(engine)
    spec = load_model(model)
    fmt = get_format("auto", spec.dtype)
    assert prof.model_block_size(spec, get_gpu(gpu), fmt, requested, requested or 1) == page


def test_the_pool_is_paged_by_the_forced_page():
    # Llama-3.1-8B on a B200 under 0.5.8: trtllm_mha by default, pages of 64. The pool's tokens
    # round down to whole pages (1,125,493 tokens at page 1 -> 17,585 x 64 = 1,125,440; weights with
    # SGLang's 64 MiB float32 rotary table) and a 100-token request takes 2 pages (128 tokens): 8,792
    # of them at once, not 11,254.
    req = make_request(load_model("llama3.1-8b"), "b200", engine="sglang==0.5.8")
    pool = plan(req)
    assert pool.settings.block_size == 64
    assert (pool.num_blocks, pool.kv_cache_tokens) == (17_585, 1_125_440)
    assert pool.blocks_per_request(100) == 2
    assert pool.memory_requests(100) == 8_792
    assert pool.max_requests(100) == 4_096  # max_running_requests: the request pool's 4,096 (tests/test_sglang_pool.py)
    at_one = plan(make_request(load_model("llama3.1-8b"), "b200", engine="sglang==0.5.6"))
    assert (at_one.settings.block_size, at_one.kv_cache_tokens, at_one.memory_requests(100)) == (1, 1_125_493, 11_254)


def test_a_forced_page_is_said_in_the_notes(capsys):
    code, out, err = cli(capsys, "capacity", "deepseek-v3", "--gpu", "b200", "--tp", "8", "--engine", "sglang==0.5.6",
                         "--block-size", "16")
    assert code == 0
    assert "KV cache 1,079,808 tokens in 16,872 blocks of 64" in out  # less the bf16 w_kc / w_vc, 255,852,544 B
    assert ("kvplan: warning: sglang==0.5.6 runs deepseek-v3 on compute capability 10.0 on its default trtllm_mla "
            "attention backend, which takes pages of 32/64 tokens: SGLang changes --page-size 16 to 64 with a "
            "warning (python/sglang/srt/server_args.py _handle_attention_backend_compatibility lines 1375-1379)"
            ) in err.replace("\n", " ")
    code, out, err = cli(capsys, "capacity", "deepseek-v3", "--gpu", "b200", "--tp", "8", "--engine", "sglang==0.5.6",
                         "--block-size", "32", "--json")
    assert code == 0
    doc = json.loads(out)
    assert not any("page" in n for n in doc["notes"])  # 32 is kept: nothing to say


def test_a_kept_page_gives_no_note():
    cap_req = make_request(load_model("llama3.1-8b"), "h100-sxm", engine="sglang==0.5.8")
    prof = get_engine("sglang==0.5.8")
    assert prof.block_size_note(cap_req.spec, cap_req.gpu, cap_req.kv_format, None, 1) is None


REFUSED = [
    # the backend, and so the page, follows a compute capability kvplan does not know
    (["llama3.1-8b", "--gpu-mem", "80GiB", "--engine", "sglang==0.5.8", "--gpu-memory-utilization", "0.9"],
     "sglang==0.5.8 on GPU with 85,899,345,920 B: SGLang picks llama3.1-8b's attention backend, and with it the "
     "page size (1, 64 here), by the GPU's compute capability, which kvplan does not know for this GPU; name it "
     "with --gpu (see `kvplan gpus`), or give a --block-size every such backend keeps (16, 32, 64)"),
    (["deepseek-v3", "--gpu-mem", "180GB", "--tp", "8", "--engine", "sglang==0.5.4", "--gpu-memory-utilization",
      "0.85"],
     "sglang==0.5.4 on GPU with 180,000,000,000 B: SGLang picks deepseek-v3's attention backend, and with it the "
     "page size (1, 64 here), by the GPU's compute capability, which kvplan does not know for this GPU; name it "
     "with --gpu (see `kvplan gpus`), or give a --block-size every such backend keeps (32, 64)"),
    # DeepSeek sparse attention
    ([DSA, "--gpu", "h200", "--tp", "8", "--engine", "sglang==0.5.4"],
     "sglang==0.5.4 runs deepseek-v3.2's DeepSeek sparse attention with DP attention over every GPU (dp_size = "
     "tp_size: each GPU a token pool of its own requests), which kvplan does not model (python/sglang/srt/"
     "server_args.py _handle_model_specific_adjustments lines 1010-1034: is_deepseek_nsa (not NPU): "
     "enable_dp_attention, dp_size = tp_size, page_size = 64, kv_cache_dtype = fp8_e4m3 if major >= 10); use "
     "--engine sglang==0.5.6 or later"),
    ([DSA, "--gpu", "b200", "--tp", "8", "--engine", "sglang==0.5.6"],
     "sglang==0.5.6 on NVIDIA B200 (HGX, 180 GB) stores deepseek-v3.2's DeepSeek sparse attention cache as fp8_e4m3 "
     "on compute capability 10.0 for --kv-cache-dtype auto, which kvplan cannot tell from an explicit bf16 "
     "(python/sglang/srt/server_args.py _handle_model_specific_adjustments lines 948-988: DeepSeek NSA (not NPU): "
     "'Setting page size to 64 for DeepSeek NSA.', kv_cache_dtype auto -> fp8_e4m3 if major >= 10 else bfloat16, "
     "assert kv_cache_dtype in [bfloat16, fp8_e4m3]); give --kv-dtype fp8_e4m3"),
    ([DSA, "--gpu", "h200", "--tp", "8", "--engine", "sglang==0.5.8", "--kv-dtype", "fp8_e5m2"],
     "sglang==0.5.8 on NVIDIA H200 SXM 141GB (compute capability 9.0) does not start deepseek-v3.2's DeepSeek sparse "
     "attention with --kv-cache-dtype fp8_e5m2: python/sglang/srt/server_args.py asserts 'DeepSeek NSA only "
     "supports bf16/bfloat16 or fp8_e4m3 kv_cache_dtype'; use --kv-dtype auto or another --engine sglang==X"),
    ([DSA, "--gpu-mem", "141GB", "--tp", "8", "--engine", "sglang==0.5.8", "--gpu-memory-utilization", "0.85"],
     "sglang==0.5.8 on GPU with 141,000,000,000 B: SGLang pages DeepSeek sparse attention by 64 tokens on NVIDIA "
     "GPUs and by 1 on AMD ones (python/sglang/srt/server_args.py _handle_model_specific_adjustments lines "
     "1150-1175: DeepSeek DSA: page_size 1 on ROCm ('Setting page size to 1 for DeepSeek DSA on ROCm.'), else 64; "
     "kv_cache_dtype auto -> fp8_e4m3 if major >= 10 else bfloat16, assert kv_cache_dtype in [bfloat16, "
     "fp8_e4m3]); name the GPU with --gpu (see `kvplan gpus`)"),
]


@pytest.mark.parametrize("args,line", REFUSED)
def test_a_page_kvplan_cannot_know_is_refused(capsys, args, line):
    code, out, err = cli(capsys, "capacity", *args)
    assert code == 2 and out == ""
    assert one_line_error(err) == f"kvplan: error: {line}"


@pytest.mark.parametrize("args,page", [
    # every backend the unknown GPU could pick keeps --page-size 32 (trtllm_mha: 16/32/64)
    (["llama3.1-8b", "--gpu-mem", "80GiB", "--engine", "sglang==0.5.8", "--gpu-memory-utilization", "0.9",
      "--block-size", "32"], 32),
    # no default backend of 0.5.6 forces a page for Llama
    (["llama3.1-8b", "--gpu-mem", "80GiB", "--engine", "sglang==0.5.6", "--gpu-memory-utilization", "0.9"], 1),
    (["deepseek-v3", "--gpu", "b200", "--tp", "8", "--engine", "sglang==0.5.6", "--kv-dtype", "fp8_e4m3"], 64),
])
def test_a_page_every_outcome_agrees_on_is_planned(capsys, args, page):
    code, out, err = cli(capsys, "capacity", *args, "--json")
    assert code == 0, err
    assert json.loads(out)["block_size"] == page
