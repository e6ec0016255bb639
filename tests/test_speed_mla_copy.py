"""kvplan speed reads the up-projection an MLA decode really reads: vLLM's model-dtype W_UK_T /
W_UV copy of a quantized kv_b_proj (the copy `kvplan capacity` counts the memory of, rule
mla_kv_b_dequantized_copy, Engine.mla_copy_bytes), not the stored fp8 kv_b_proj; a step that
computes a prompt still runs kv_b_proj (vllm/model_executor/layers/attention/mla_attention.py
0.19.1: forward_impl bmm with W_UK_T line 664, _v_up_proj with W_UV line 872, forward_mha
kv_b_proj line 2673)."""

from __future__ import annotations

import pytest

from kvplan.capacity import make_request, plan
from kvplan.engines import get_engine
from kvplan.loader import load_model
from kvplan.speed import _Load, _pass_time, decode_step, prefill_time, setup
from kvplan.weights import kv_b_proj_bytes

#: DeepSeek-V3 at tp 8, one rank, all 61 MLA layers: the bf16 copy (61 x 128/8 heads x (128 + 128)
#: x 512 x 2 B) and the stored fp8 kv_b_proj (61 x (4,096 x 512 B + 4,096 fp32 scales))
COPY_TP8 = 61 * 16 * 256 * 512 * 2
STORED_TP8 = 61 * (4096 * 512 + 4096 * 4)


@pytest.fixture(scope="module")
def v3():
    return load_model("deepseek-v3")


def _setup(spec, engine="vllm==0.19.1", **options):
    return setup(plan(make_request(spec, "h200", tp=8, engine=engine, **options)))


def test_the_figures(v3):
    assert COPY_TP8 == 255_852_544 and STORED_TP8 == 128_925_696
    pool = plan(make_request(v3, "h200", tp=8, engine="vllm==0.19.1"))
    assert kv_b_proj_bytes(v3, range(61), pool.weights) == STORED_TP8
    assert get_engine("vllm==0.19.1").mla_copy_bytes(v3, pool.weights, range(61)) == COPY_TP8


def test_a_decode_step_reads_the_copy_instead_of_kv_b_proj(v3):
    """One user, 4k tokens: 5,850,661,120 B a step, 126,926,848 B (copy - stored) more than when the
    fp8 kv_b_proj was read (5,723,734,272 B before this change)."""
    s = _setup(v3)
    st = s.stages[0]
    assert (st.prefill_only_bytes, st.decode_only_bytes) == (STORED_TP8, COPY_TP8)
    step = decode_step(s, 1, 4096)
    assert step.weight_read_bytes == 5_850_661_120
    assert step.weight_read_bytes - 5_723_734_272 == COPY_TP8 - STORED_TP8


def test_the_copy_is_the_one_capacity_counts(v3):
    """The pool's weights line holds the copy (carve) by the same method speed reads it by."""
    s = _setup(v3)
    budget = s.pool.stages[0]
    from kvplan.engines import rope_cache_bytes

    assert budget.weights_bytes - s.pool.weights.stages[0].bytes - rope_cache_bytes(v3) == COPY_TP8
    assert s.stages[0].decode_only_bytes == COPY_TP8


def test_a_prompt_step_reads_kv_b_proj_not_the_copy(v3):
    s = _setup(v3)
    w = s.pool.weights.stages[0]
    ttft = prefill_time(s, 4096)
    # every stored matrix once (experts all but surely hit by 4,096 tokens), no copy
    assert ttft.weight_read_bytes == pytest.approx(w.bytes - w.by_part["embedding"], rel=1e-12)


def test_a_mixed_step_reads_both(v3):
    s = _setup(v3)
    only_prompt = _pass_time(s, _Load(0, 0, 512.0, 0, 1.0)).weight_read_bytes
    both = _pass_time(s, _Load(1, 4096, 512.0, 0, 1.0)).weight_read_bytes
    # one more token barely moves the experts' hit share; the copy is read on top of kv_b_proj
    assert both - only_prompt == pytest.approx(COPY_TP8, rel=1e-3)


@pytest.mark.parametrize("release", ["0.8.0", "0.10.1.1", "0.14.1", "0.19.1"])
def test_every_release_that_keeps_the_copy_reads_it(v3, release):
    st = _setup(v3, engine=f"vllm=={release}").stages[0]
    assert (st.prefill_only_bytes, st.decode_only_bytes) == (STORED_TP8, COPY_TP8)


def test_unquantized_kv_b_proj_is_read_as_it_is(v3):
    """bf16 weights: W_UK_T / W_UV are views of kv_b_proj's weight; the step reads kv_b_proj's bytes."""
    st = _setup(v3, weights="bf16").stages[0]
    assert (st.prefill_only_bytes, st.decode_only_bytes) == (0, 0)


def test_sglang_decode_reads_its_bf16_w_kc_w_vc(v3):
    """SGLang 0.5.6 on an H200 dequantizes the block-fp8 kv_b_proj into bf16 w_kc / w_vc
    (SGLang.mla_copy_for, the rule capacity counts them by) and its absorbed decode reads those,
    as vLLM's reads W_UK_T / W_UV; the prefill still runs the stored kv_b_proj."""
    st = _setup(v3, engine="sglang==0.5.6").stages[0]
    assert (st.prefill_only_bytes, st.decode_only_bytes) == (STORED_TP8, COPY_TP8)


def test_sglang_s_undecided_copies_are_read_as_stored(v3):
    """fp8 without a weight_block_size: kvplan cannot tell SGLang's copies' dtype (the pool's note
    says so), so speed reads the stored bytes, as capacity counts none."""
    import dataclasses

    per_tensor = dataclasses.replace(v3, weights_block=None)
    st = _setup(per_tensor, engine="sglang==0.5.6").stages[0]
    assert (st.prefill_only_bytes, st.decode_only_bytes) == (0, 0)
