"""TensorRT-LLM splits the embedding and lm_head rows as its LMHead does (pads the vocabulary to a
multiple of tp: ceil(vocab / tp) rows a rank; tensorrt_llm/_torch/modules/embedding.py), not as
vLLM and SGLang do (pad to a multiple of 64, then split). The rule is the engine's
(Engine.vocab_padding); kvplan.shapes.Param.rank_rows applies it."""

from __future__ import annotations

import pytest

from kvplan.capacity import make_request, plan
from kvplan.engines import get_engine
from kvplan.loader import load_model
from kvplan.shapes import VOCAB, Param
from kvplan.weights import weights_footprint


@pytest.mark.parametrize("tp,vllm_rows,trtllm_rows", [(1, 50_304, 50_272), (2, 25_152, 25_136), (8, 6_288, 6_284)])
def test_vocab_rows_a_rank(tp, vllm_rows, trtllm_rows):
    """OPT-13B's 50,272-row vocabulary: vLLM pads to 50,304 (64 x 786) and splits; TensorRT-LLM
    keeps ceil(50,272 / tp) rows a rank."""
    p = Param("embed_tokens.weight", "embedding", 50_272, 5120, split=VOCAB)
    assert p.rank_rows(tp) == vllm_rows
    assert p.rank_rows(tp, get_engine("trtllm").vocab_padding) == trtllm_rows
    assert get_engine("vllm").vocab_padding == get_engine("sglang").vocab_padding == 64


@pytest.mark.parametrize("model,tp,old,new", [
    # OPT-13B fp16, tied lm_head: 32 rows x 5,120 x 2 B = 327,680 B fewer at tp 1, 4 rows (40,960 B) at tp 8
    ("opt-13b", 1, 25_707_274_240, 25_706_946_560),
    ("opt-13b", 8, 3_233_945_600, 3_233_904_640),
    # GPT-2 fp32 (50,257 rows, tied): 47 rows x 768 x 4 B = 144,384 B
    ("gpt2", 1, 497_903_616, 497_759_232),
])
def test_trtllm_weights_per_gpu(model, tp, old, new):
    spec = load_model(model)
    trt = plan(make_request(spec, "h100-sxm", engine="trtllm", tp=tp))
    assert trt.weights_bytes == new
    # vLLM's split (the default), unchanged: the figure kvplan gave trtllm
    assert weights_footprint(spec, None, tp).stages[0].bytes == old


def test_llama_vocab_is_the_same_either_way():
    """128,256 rows are a multiple of 64 x 8: both splits give 16,032 rows a rank at tp 8."""
    spec = load_model("llama3.1-8b")
    trt = plan(make_request(spec, "h100-sxm", engine="trtllm", tp=8)).weights_bytes
    assert trt == weights_footprint(spec, None, 8).stages[0].bytes
