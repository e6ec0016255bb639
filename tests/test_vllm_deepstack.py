"""Qwen3-VL's deepstack buffers, which vLLM counts with the weights (VLLM.deepstack_buffer_bytes):
Qwen3VLForConditionalGeneration.__init__ keeps one torch.zeros(max_num_batched_tokens, text hidden) per
deepstack level, built under the loader's device and model-dtype context, so inside the weights'
DeviceMemoryProfiler (vllm/model_executor/models/qwen3_vl.py 0.19.1 :1502-1509)."""

from __future__ import annotations

import pytest

from helpers import capacity_json as _plan, cli, one_line_error

QWEN3_VL = "tests/fixtures/hf_configs/qwen3-vl-8b-instruct.json"
LLAMA = "llama3.1-8b"


@pytest.mark.parametrize("release", ["0.11.0", "0.19.1", "0.33.0"])
def test_qwen3_vl_weights_hold_the_deepstack_buffers(capsys, release):
    """Qwen3-VL-8B (3 deepstack levels, hidden 4,096, bf16) on an H100 at the default 8,192 tokens a step:
    3 x 8,192 x 4,096 x 2 = 201,326,592 B on top of the tensors (17,601,356,256 B on 0.19.1 before: the
    pool, and with it 23,854 -> 23,769 blocks, was overstated by that much)."""
    extra = ["--kv-cache-memory-bytes", "20000000000", "--max-model-len", "32768"] if release == "0.33.0" else []
    got = _plan(capsys, QWEN3_VL, "--gpu", "h100", "--engine", f"vllm=={release}", "--max-num-batched-tokens", "8192",
                *extra)
    from kvplan.engines import get_engine
    from kvplan.loader import load_model
    from kvplan.gpus import get_gpu

    engine = get_engine(f"vllm=={release}")
    spec = load_model(QWEN3_VL)
    settings = engine.settings(get_gpu("h100"), spec=spec, max_num_batched_tokens=8192)
    assert engine.deepstack_buffer_bytes(spec, settings, 0) == 201_326_592
    assert engine.deepstack_buffer_bytes(spec, settings, 1) == 0
    assert got["weights_bytes"] == got["stages"][0]["weights_bytes"]
    if release == "0.19.1":
        assert got["weights_bytes"] == 17_601_356_256 + 201_326_592 and got["num_blocks"] == 23_769


def test_other_models_hold_none(capsys):
    from kvplan.engines import get_engine
    from kvplan.gpus import get_gpu
    from kvplan.loader import load_model

    engine = get_engine("vllm==0.19.1")
    spec = load_model(LLAMA)
    assert engine.deepstack_buffer_bytes(spec, engine.settings(get_gpu("h100"), spec=spec), 0) == 0


def test_pipeline_parallel_refused(capsys):
    """Where vLLM builds the vision tower and the buffers on later pipeline stages is not read."""
    code, out, err = cli(capsys, "capacity", QWEN3_VL, "--gpu", "h100", "--engine", "vllm==0.19.1", "--pp", "2")
    assert code == 2 and out == ""
    assert "keeps 3 deepstack buffers" in one_line_error(err) and one_line_error(err).endswith("plan it with --pp 1")
