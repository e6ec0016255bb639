"""vLLM's model-dtype copy of a quantized MLA kv_b_proj (W_UK_T / W_UV), rule
mla_kv_b_dequantized_copy: exact bytes per GPU and what they take from the KV pool.

Figures (kvplan.shapes.mla_absorbed_shapes): DeepSeek-V3 has 61 MLA layers of 128 heads,
qk_nope 128 + v 128, kv_lora 512: 128 x 256 x 512 = 16,777,216 values a layer, bf16 (the model
dtype vLLM passes as act_dtype) = 33,554,432 B at tp 1, 4,194,304 B at tp 8. Before this rule
kvplan planned 100,941,048,064 B of weights per GPU at dp 8 (tp 1) and 85,602,517,248 at tp 8.
"""

from __future__ import annotations

import dataclasses

import pytest

from kvplan.capacity import make_request, plan, plan_capacity
from kvplan.engines import get_engine, rope_cache_bytes
from kvplan.engines import vllm_rules as R
from kvplan.hf.checkpoint import Checkpoint
from kvplan.hf.safetensors import TensorInfo
from kvplan.loader import load_model
from kvplan.shapes import mla_absorbed_shapes
from kvplan.spec import spec_from_mapping
from kvplan.weights import kv_b_proj_quantized, mla_absorbed_bytes, weights_footprint

V3_LAYER_BYTES = 128 * (128 + 128) * 512 * 2  # 33,554,432
V3_TP1 = 61 * V3_LAYER_BYTES  # 2,046,820,352
V3_TP8 = 61 * V3_LAYER_BYTES // 8  # 255,852,544


@pytest.fixture(scope="module")
def v3():
    return load_model("deepseek-v3")


def _weights_bytes(spec, **options) -> int:
    return plan(make_request(spec, "h200", **options)).waterfall.weights_bytes


def test_shapes_of_the_absorbed_projections(v3):
    w_uk, w_uv = mla_absorbed_shapes(v3, 0)
    assert (w_uk.rows, w_uk.cols, w_uv.rows, w_uv.cols) == (128 * 128, 512, 128 * 128, 512)
    assert w_uk.rank_numel(1) + w_uv.rank_numel(1) == 16_777_216
    assert w_uk.rank_numel(8) + w_uv.rank_numel(8) == 2_097_152  # 16 heads a rank
    assert mla_absorbed_shapes(load_model("llama3.1-8b"), 0) == ()


def test_absorbed_bytes_of_every_layer(v3):
    assert V3_TP1 == 2_046_820_352 and V3_TP8 == 255_852_544
    assert mla_absorbed_bytes(v3, range(61), 1, 2) == V3_TP1
    assert mla_absorbed_bytes(v3, range(61), 8, 2) == V3_TP8
    assert mla_absorbed_bytes(v3, range(31), 1, 2) == 31 * V3_LAYER_BYTES


def test_dp8_weights_and_pool_before_and_after(v3):
    """The audit's row (recommend's DeepSeek-V3 family): dp 8, tp 1, expert parallel, block 128."""
    cap = plan_capacity(v3, "h200", dp=8, enable_expert_parallel=True, max_model_len=5120, block_size=128,
                        ctx=5120)
    assert cap.weights_bytes == 100_941_048_064 + V3_TP1 == 102_987_868_416
    assert cap.kv_pool_bytes == 31_807_937_796 - V3_TP1 == 29_761_117_444
    assert cap.num_blocks == 3_308  # was 3,536: 29,761,117,444 // (128 x 70,272)
    assert cap.pool.max_requests(5120) == 82  # was 88: 3,307 usable blocks // 40
    assert cap.pool.max_requests(5120) * 8 == 656  # across the deployment, was 704


def test_tp8_weights_and_pool_before_and_after(v3):
    cap = plan_capacity(v3, "h200", tp=8, max_model_len=32768)
    assert cap.weights_bytes == 85_602_517_248 + V3_TP8 == 85_858_369_792
    # and less the kept fused-MoE workspace of the block-quantized fp8 experts (rule
    # moe_fp8_block_sm90_triton, 1,879,048,192 B): 39,909 blocks without it
    assert cap.kv_pool_bytes == 45_127_833_983 - V3_TP8 - 1_879_048_192 == 42_992_933_247
    assert cap.num_blocks == 38_237  # was 40,136 (blocks of 16 x 70,272 B), then 39,909 without the workspace


def test_copy_is_the_only_difference_from_the_parameters(v3):
    """weights = the parameters on the GPU + rotary cache + the copy, at every release modelled."""
    for tp, dp, copy in ((8, 1, V3_TP8), (1, 8, V3_TP1)):
        req = make_request(v3, "h200", tp=tp, dp=dp, enable_expert_parallel=True)
        params = weights_footprint(v3, None, tp, 1, moe=req.moe_parallel).per_gpu_bytes
        assert plan(req).waterfall.weights_bytes == params + rope_cache_bytes(v3) + copy


@pytest.mark.parametrize("release", R.RELEASES)
def test_every_release_keeps_the_copy(v3, release):
    eng = get_engine(f"vllm=={release}")
    w = weights_footprint(v3, None, 8)
    assert eng.mla_copy_bytes(v3, w, range(61)) == V3_TP8


def test_unquantized_kv_b_proj_has_no_copy(v3):
    """bf16 weights: get_and_maybe_dequant_weights returns kv_b_proj's own weight."""
    req = make_request(v3, "h200", tp=8, weights="bf16")
    params = weights_footprint(v3, "bf16", 8).per_gpu_bytes
    assert plan(req).waterfall.weights_bytes == params + rope_cache_bytes(v3)
    lite = load_model("deepseek-v2-lite")  # bf16 checkpoint
    assert _weights_bytes(lite) == weights_footprint(lite).per_gpu_bytes + rope_cache_bytes(lite)


def test_other_quantized_formats_copy_in_the_model_dtype():
    """int4 (GPTQ/AWQ: the identity-matmul path) copies too; mxfp4 leaves attention in bf16."""
    lite = load_model("deepseek-v2-lite")  # 27 MLA layers of 16 heads, 128 + 128, kv_lora 512
    per_layer = 16 * 256 * 512 * 2  # 4,194,304
    base = rope_cache_bytes(lite)
    assert _weights_bytes(lite, weights="int4") == weights_footprint(lite, "int4").per_gpu_bytes + base + 27 * per_layer
    assert _weights_bytes(lite, weights="mxfp4") == weights_footprint(lite, "mxfp4").per_gpu_bytes + base


def test_excluded_attention_has_no_copy(v3):
    spec = dataclasses.replace(v3, weights_exclude=("model.layers.*.self_attn",))
    w = weights_footprint(spec, None, 8)
    assert "attention" not in w.quantized_parts
    assert get_engine("vllm").mla_copy_bytes(spec, w, range(61)) == 0


def test_pipeline_stages_hold_their_own_layers_copies(v3):
    """pp 2 splits 61 layers 31 + 30 (footprint.pp_stage_ranges)."""
    w = weights_footprint(v3, None, 8, 2)
    eng = get_engine("vllm")
    got = [eng.mla_copy_bytes(v3, w, st.layers) for st in w.stages]
    assert [len(st.layers) for st in w.stages] == [31, 30]
    assert got == [31 * V3_LAYER_BYTES // 8, 30 * V3_LAYER_BYTES // 8]


def test_checkpoint_headers_decide_whether_kv_b_proj_is_quantized(v3):
    w = dataclasses.replace(weights_footprint(v3, "bf16", 8), format="checkpoint")

    def with_tensors(*tensors):
        return dataclasses.replace(v3, checkpoint=Checkpoint("test", tuple(tensors)))

    fp8 = with_tensors(TensorInfo("model.layers.0.self_attn.kv_b_proj.weight", "F8_E4M3", (32768, 512)),
                       TensorInfo("model.layers.0.self_attn.kv_b_proj.weight_scale_inv", "F32", (256, 4)))
    bf16 = with_tensors(TensorInfo("model.layers.0.self_attn.kv_b_proj.weight", "BF16", (32768, 512)),
                        TensorInfo("model.layers.0.self_attn.q_b_proj.weight", "F8_E4M3", (24576, 1536)))
    awq = with_tensors(TensorInfo("model.layers.0.self_attn.kv_b_proj.qweight", "I32", (512, 4096)),
                       TensorInfo("model.layers.0.self_attn.kv_b_proj.scales", "F16", (4, 32768)))
    assert kv_b_proj_quantized(fp8, w) and kv_b_proj_quantized(awq, w)
    assert not kv_b_proj_quantized(bf16, w)
    assert get_engine("vllm").mla_copy_bytes(fp8, w, range(61)) == V3_TP8
    assert get_engine("vllm").mla_copy_bytes(bf16, w, range(61)) == 0


def test_a_model_without_mla_has_no_copy():
    spec = spec_from_mapping({
        "name": "tiny", "source": "test", "num_layers": 2, "hidden_size": 256, "num_attention_heads": 4,
        "num_kv_heads": 2, "vocab_size": 1000, "intermediate_size": 512, "dtype": "bf16",
        "max_position_embeddings": 4096}, "tiny")
    w = weights_footprint(spec, "fp8")
    assert not kv_b_proj_quantized(spec, w)
    assert get_engine("vllm").mla_copy_bytes(spec, w, range(2)) == 0
