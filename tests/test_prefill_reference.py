"""benchmarks/prefill_reference.py: the published prefill bursts load, each row's kvplan request
plans (or is refused by the one rule that names it), and the step arithmetic of
benchmarks/prefill_accuracy.py. No assertion on accuracy."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

from prefill_accuracy import decode_only_steps, prefill_steps  # noqa: E402
from prefill_reference import BLOCKS, BURSTS, load, request  # noqa: E402

from kvplan.capacity import plan  # noqa: E402
from kvplan.errors import BadInputError  # noqa: E402

#: vLLM 0.10.2 / 0.11.0 hold MXFP4 experts on Hopper in a layout chosen by an optional package
MXFP4_REFUSED = {"gpstk-h100-gpt-oss-20b-32k", "gpstk-h100-gpt-oss-20b-4k", "gpstk-h100-gpt-oss-20b-2k",
                 "gpstk-h100-gpt-oss-120b-32k", "gpstk-h100-gpt-oss-120b-4k", "gpstk-h100-gpt-oss-120b-2k"}


def test_rows_load():
    assert len(BURSTS) == 39  # 13 pages x the 32K, 4K and 2K blocks
    assert len({b.id for b in BURSTS}) == 39
    assert {b.block for b in BURSTS} == set(BLOCKS)
    for b in BURSTS:
        assert b.requests == (100 if b.block == "random 32K input" else 500)
        nominal = {"random 32K input": 32000, "random 4K input": 4000, "random 2K input": 2000}[b.block]
        assert abs(b.prompt - nominal) <= 5, b.id  # the random dataset's retokenization moves a few
        assert 0 < b.generated_tokens <= b.requests * (100 if b.block != "random 4K input" else 200)
        assert b.duration_s * 1000 > b.median_ttft_ms > 0
        assert b.commit.startswith("47277d79") and b.page in b.source


def test_qwen3_14b_config_is_the_14b():
    spec = load(next(b for b in BURSTS if b.page == "qwen3-14b/h100"))
    assert (spec.num_layers, spec.hidden_size, spec.num_attention_heads, spec.num_kv_heads, spec.head_dim,
            spec.intermediate_size, spec.vocab_size) == (40, 5120, 40, 8, 128, 17408, 151936)


@pytest.mark.parametrize("b", BURSTS, ids=lambda b: b.id)
def test_each_row_plans(b):
    if b.id in MXFP4_REFUSED:
        with pytest.raises(BadInputError, match="mxfp4_sm90_expert_layout"):
            plan(request(b))
        return
    pool = plan(request(b))
    assert pool.kv_cache_tokens > 0


def test_prefill_steps_match_prefill_time():
    assert prefill_steps(8192, 4000, 500) == 250  # two whole prompts a step
    assert prefill_steps(8192, 3996, 500) == 250
    assert prefill_steps(2048, 1996, 500) == 500
    assert prefill_steps(8192, 32000, 100) == 400  # each prompt in 4 chunks
    assert prefill_steps(None, 4000, 500) == 1


def test_decode_only_steps():
    # 7 requests at once, 99,790 tokens out: 14,256 steps, 250 of them also prefill
    assert decode_only_steps(7, 99790, 200, 250) == 14006
    # a pool that holds the whole burst: only the last prompt's output tail
    assert decode_only_steps(500, 50000, 100, 250) == 99
