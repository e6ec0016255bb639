"""Weights of the families whose layers are not a plain mixer + MLP: exact parameter counts
worked by hand from each real config (tests/fixtures/hf_configs, sources in its README),
written here independently of kvplan.shapes, and the published total where one exists
(within 1%, the issue's bar; the source is cited next to each figure).

The hand formulas follow vLLM's module code (vllm/model_executor/models/*.py and
layers/mamba/*.py), as kvplan.shapes does; they are restated here so that a mistake in
kvplan.shapes cannot hide in a shared helper.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kvplan.errors import SpecError
from kvplan.hf import spec_from_hf_config
from kvplan.params import active_params, count_params, layer_params
from kvplan.spec import spec_from_mapping
from kvplan.weights import weights_footprint

FIXTURES = Path(__file__).parent / "fixtures" / "hf_configs"


def _spec(name: str):
    return spec_from_hf_config(json.loads((FIXTURES / f"{name}.json").read_text()), f"{name}.json")


def within_1pct(ours: int, published: float) -> bool:
    return abs(ours - published) <= 0.01 * published


# -- independent building blocks (numbers of parameters) ----------------------------------------
def lin(n_in: int, n_out: int, bias: bool = False) -> int:
    return n_out * n_in + (n_out if bias else 0)


def attention(h: int, heads: int, kv: int, hd: int, q_gate: bool = False, qk_norm: bool = False) -> int:
    return lin(h, heads * hd * (2 if q_gate else 1)) + 2 * lin(h, kv * hd) + lin(heads * hd, h) + (
        2 * hd if qk_norm else 0)


def swiglu(h: int, i: int) -> int:
    return 3 * h * i


def relu2(h: int, i: int) -> int:  # up + down, no gate
    return 2 * h * i


def mamba1(h: int, d_inner: int, state: int, rank: int, k: int, conv_bias: bool, proj_bias: bool,
           dt_norm_weights: bool) -> int:
    """in_proj h -> 2 d_inner, conv1d d_inner x k (+ bias), x_proj d_inner -> rank + 2 state,
    dt_proj rank -> d_inner with bias, A_log d_inner x state, D d_inner, out_proj."""
    return (lin(h, 2 * d_inner, proj_bias) + d_inner * k + (d_inner if conv_bias else 0)
            + lin(d_inner, rank + 2 * state) + lin(rank, d_inner, True) + d_inner * state + d_inner
            + lin(d_inner, h, proj_bias) + ((rank + 2 * state) if dt_norm_weights else 0))


def mamba2(h: int, heads: int, head_dim: int, groups: int, state: int, k: int, conv_bias: bool = True,
           proj_bias: bool = False, norm: bool = True) -> int:
    """in_proj h -> 2 inner + 2 G N + H, conv1d (inner + 2 G N) x k (+ bias), A_log / D /
    dt_bias per head, gated norm over inner, out_proj inner -> h."""
    inner, conv = heads * head_dim, heads * head_dim + 2 * groups * state
    return (lin(h, 2 * inner + 2 * groups * state + heads, proj_bias) + conv * k + (conv if conv_bias else 0)
            + 3 * heads + (inner if norm else 0) + lin(inner, h, proj_bias))


# -- attention-free: Mamba 1 / 2 ------------------------------------------------------------------
def test_mamba_2_8b():
    # 64 layers of (RMSNorm 2560 + Mamba-1 mixer: d_inner 5120, d_state 16, dt_rank 160, conv 4,
    # conv bias, no projection biases), no MLP; tied embedding 50280 x 2560, final norm.
    layer = 2560 + mamba1(2560, 5120, 16, 160, 4, True, False, False)
    assert layer == 41_244_160
    total = count_params(_spec("mamba-2.8b")).total
    assert total == 64 * layer + 50280 * 2560 + 2560 == 2_768_345_600
    # Published: "Model size 2.77B params" on the Hub page of state-spaces/mamba-2.8b (as
    # stored in the project's documentation index).
    assert within_1pct(total, 2.77e9)


def test_falcon_mamba_7b_norms_have_no_weights():
    # Falcon3-Mamba-7B: 64 Mamba-1 layers (hidden 4096, d_inner 8192, d_state 16, dt_rank 256),
    # dt/B/C RMSNorms without weights (vLLM MambaMixer rms_norm_has_weight=False); untied
    # embedding and head of 65024 x 4096.
    layer = 4096 + mamba1(4096, 8192, 16, 256, 4, True, False, False)
    assert count_params(_spec("falcon3-mamba-7b-base")).total == 64 * layer + 2 * 65024 * 4096 + 4096


def test_mamba_codestral_7b_is_mistrals_exact_count():
    # 64 Mamba-2 layers: 128 heads of 64, 8 groups of 128, conv 4, gated norm; untied 32768 x 4096.
    layer = 4096 + mamba2(4096, 128, 64, 8, 128, 4)
    total = count_params(_spec("mamba-codestral-7b")).total
    assert total == 64 * layer + 2 * 32768 * 4096 + 4096
    # Mistral's Codestral Mamba release: "7,285,403,648 parameters" (as quoted on
    # https://ai-tldr.dev/models/codestral-mamba/, stored in the project's page index).
    assert total == 7_285_403_648


# -- hybrids -----------------------------------------------------------------------------------
def test_nemotron_3_nano_layers_hold_one_block_each():
    # Pattern of 52 layers: 23 M (Mamba-2: 64 heads of 64, 8 groups of 128, conv 4, conv bias),
    # 6 * (attention 32 heads, 2 KV heads of 128, no biases), 23 E (MoE: router 2688 -> 128 with an
    # fp32 score-correction bias, 128 relu^2 experts of 1856, one relu^2 shared MLP of 3712).
    # One RMSNorm a layer; untied 131072 x 2688 embedding and head.
    spec = _spec("nemotron-3-nano-30b-a3b")
    h = 2688
    m = mamba2(h, 64, 64, 8, 128, 4)
    a = attention(h, 32, 2, 128)
    e = lin(h, 128) + 128 + 128 * relu2(h, 1856) + relu2(h, 3712)
    assert layer_params(spec, 0).total == h + m and layer_params(spec, 1).total == h + e
    assert layer_params(spec, 5).total == h + a  # the first "*"
    total = count_params(spec).total
    assert total == 52 * h + 23 * m + 6 * a + 23 * e + 2 * 131072 * h + h
    # NVIDIA's card for the BF16 checkpoint: 31.6B total (quoted by basecompute's page of its
    # bf16 build, https://huggingface.co/basecompute/NVIDIA-Nemotron-3-Nano-30B-A3B);
    # ~3.5-3.6B active with embeddings: 6 of 128 experts.
    assert within_1pct(total, 31.6e9)
    assert active_params(spec) == total - 23 * 122 * relu2(h, 1856)


def test_nemotron_h_56b_mlp_layers_are_not_gated():
    # 118 layers: 54 M (256 heads of 64, 8 groups of 256), 10 * (64 heads, 8 KV of 128),
    # 54 - (relu^2 MLP of 32768: up and down only, not three matrices).
    spec = _spec("nemotron-h-56b-base-8k")
    h = 8192
    layers = 54 * mamba2(h, 256, 64, 8, 256, 4) + 10 * attention(h, 64, 8, 128) + 54 * relu2(h, 32768)
    total = count_params(spec).total
    assert total == 118 * h + layers + 2 * 131072 * h + h
    assert count_params(spec).mlp == 54 * 2 * h * 32768
    assert within_1pct(total, 56e9)  # "Nemotron-H-56B" (NVIDIA's name and paper title)


def test_bamba_9b():
    # 32 layers: 3 attention (32 heads, 8 KV of 128), 29 Mamba-2 (128 heads of 64, 1 group of
    # 128, conv bias); each with a SwiGLU MLP of 14336 and two RMSNorms; untied vocab 128256.
    h = 4096
    layers = 3 * attention(h, 32, 8, 128) + 29 * mamba2(h, 128, 64, 1, 128, 4) + 32 * (swiglu(h, 14336) + 2 * h)
    total = count_params(_spec("bamba-9b")).total
    assert total == layers + 2 * 128256 * h + h == 9_780_235_392


def test_falcon_h1_layers_hold_attention_and_mamba():
    # Falcon-H1-0.5B: 36 layers, each attention (8 heads, 2 KV of 64) + Mamba-2 (24 heads of 64,
    # 1 group of 128, conv bias, no gated norm: mamba_rms_norm false) + SwiGLU MLP of 2048 + 2
    # RMSNorms; untied vocab 32784 x 1024.
    h = 1024
    layer = attention(h, 8, 2, 64) + mamba2(h, 24, 64, 1, 128, 4, norm=False) + swiglu(h, 2048) + 2 * h
    spec = _spec("falcon-h1-0.5b")
    assert layer_params(spec, 0).total == layer
    assert count_params(spec).total == 36 * layer + 2 * 32784 * h + h == 521_411_104


def test_jamba_mamba1_with_weighted_dt_norms():
    # Jamba-1.5-Mini: 32 layers, attention at i % 8 == 4 (4 layers: 32 heads, 8 KV of 128),
    # Mamba-1 elsewhere (d_inner 8192, d_state 16, dt_rank 256, conv bias, RMSNorm weights on
    # dt, B and C); MoE (16 SwiGLU experts of 14336, router) at odd layers, SwiGLU MLP at even.
    h = 4096
    mixers = 4 * attention(h, 32, 8, 128) + 28 * mamba1(h, 8192, 16, 256, 4, True, False, True)
    ffns = 16 * (lin(h, 16) + 16 * swiglu(h, 14336)) + 16 * swiglu(h, 14336)
    spec = _spec("jamba-1.5-mini")
    total = count_params(spec).total
    assert total == mixers + ffns + 32 * 2 * h + 2 * 65536 * h + h
    # AI21 (Jamba-1.5 paper and model card): 52B total, 12B active.
    assert within_1pct(total, 52e9) and within_1pct(active_params(spec), 12e9)


def test_minimax_m1_lightning_attention_is_456b():
    # 80 layers: 70 lightning-attention mixers (64 heads of 128: qkv 3 x 8192, output gate 8192,
    # RMSNorm 8192, out_proj) and 10 softmax (64 heads, 8 KV of 128); each a MoE of 32 SwiGLU
    # experts of 9216 with a 6144 -> 32 router and two RMSNorms; untied 200064 x 6144.
    h, inner = 6144, 64 * 128
    lightning = lin(h, 3 * inner) + lin(h, inner) + inner + lin(inner, h)
    assert lightning == 251_666_432
    moe = lin(h, 32) + 32 * swiglu(h, 9216)
    spec = _spec("minimax-m1")
    total = count_params(spec).total
    assert total == 70 * lightning + 10 * attention(h, 64, 8, 128) + 80 * (moe + 2 * h) + 2 * 200064 * h + h
    # MiniMax-AI/MiniMax-M1 README @2abb4f4: "a total of 456 billion parameters with 45.9
    # billion parameters activated per token" (active without the embedding and head).
    assert within_1pct(total, 456e9)
    assert within_1pct(active_params(spec) - 2 * 200064 * h, 45.9e9)


def test_qwen3_next_gated_deltanet_and_gated_queries():
    # 48 layers: 12 full attention (16 heads of 256 with an output gate doubling q_proj, 2 KV
    # heads, q/k norms), 36 Gated DeltaNet (16 key heads, 32 value heads, 128 / 128: in_proj_qkvz
    # 2 x 2048 + 2 x 4096 rows, in_proj_ba 64, conv 8192 x 4 no bias, dt_bias and A_log 32,
    # norm 128, out_proj); each a MoE of 512 experts of 512 + a gated shared expert of 512.
    h = 2048
    gdn = lin(h, 2 * 2048 + 2 * 4096) + lin(h, 64) + 8192 * 4 + 64 + 128 + lin(4096, h)
    assert gdn == 33_718_464
    moe = lin(h, 512) + 512 * swiglu(h, 512) + swiglu(h, 512) + lin(h, 1)
    spec = _spec("qwen3-next-80b-a3b-instruct")
    total = count_params(spec).total
    assert total == (12 * attention(h, 16, 2, 256, q_gate=True, qk_norm=True) + 36 * gdn + 48 * (moe + 2 * h)
                     + 2 * 151936 * h + h)
    # Qwen's model card: 80B in total, 79B non-embedding.
    assert within_1pct(total, 80e9) and within_1pct(total - 2 * 151936 * h, 79e9)


def test_nemotron_nas_per_layer_widths_and_pruned_blocks():
    # Llama-3.3-Nemotron-Super-49B: 49 attention blocks (64 heads, 8 KV of 128), 31 no-op;
    # MLP widths from ffn_mult (vLLM _ffn_mult_to_intermediate_size: int(2 m h / 3) rounded up
    # to 256): 5.25 -> 28672 (49), 2.625 -> 14336 (6), 1.3125 -> 7168 (10), 1.0 -> 5632 (8),
    # 0.5 -> 2816 (6), 3.28125 -> 17920 (1). A no-op attention drops its input norm.
    h = 8192
    widths = {28672: 49, 14336: 6, 7168: 10, 5632: 8, 2816: 6, 17920: 1}
    mlp = sum(n * swiglu(h, i) for i, n in widths.items())
    spec = _spec("llama-3.3-nemotron-super-49b-v1")
    total = count_params(spec).total
    assert total == 49 * attention(h, 64, 8, 128) + mlp + (49 + 80) * h + 2 * 128256 * h + h
    # 49.9B params: the Hub's safetensors count as listed by whatmodel.sh
    # (jakemanger/whatmodel pages/model/llama-3-3-nemotron-super-49b-v1.md).
    assert within_1pct(total, 49.9e9)


def test_deepseek_v32_counts_the_indexer():
    # Per layer the lightning indexer adds wq_b 1536 -> 64 x 128, wk 7168 -> 128, a LayerNorm
    # of 128 (weight + bias) and weights_proj 7168 -> 64 (vLLM deepseek_v2.py Indexer).
    indexer = 1536 * 64 * 128 + 7168 * 128 + 2 * 128 + 7168 * 64
    v3, v32 = count_params(_spec("deepseek-v3")).total, count_params(_spec("deepseek-v3.2")).total
    assert v32 - v3 == 61 * indexer == 851_524_864
    assert within_1pct(v32, 671e9)  # DeepSeek: 671B (685B with the MTP module kvplan leaves out)


# -- vision towers and projectors ----------------------------------------------------------------
def vit_layer(h: int, i: int) -> int:
    """Two LayerNorms, biased q/k/v/o, biased fc1/fc2."""
    return 4 * h + 4 * lin(h, h, True) + lin(h, i, True) + lin(i, h, True)


def test_llava_clip_tower_is_built_to_the_feature_layer():
    # CLIP ViT-L/14-336: class embedding 1024, patch conv 1024 x 3 x 14 x 14 (no bias),
    # (336/14)^2 + 1 = 577 positions, pre LayerNorm; vision_feature_layer -2: vLLM builds 23 of the
    # 24 layers and no post LayerNorm. Projector: 1024 -> 4096 -> 4096 with biases.
    tower = 1024 + 1024 * 3 * 14 * 14 + 577 * 1024 + 2 * 1024 + 23 * vit_layer(1024, 4096)
    projector = lin(1024, 4096, True) + lin(4096, 4096, True)
    spec = _spec("llava-1.5-7b")
    assert spec.vision_tower.numel == tower and spec.vision_projector.numel == projector
    w = weights_footprint(spec)
    assert w.by_section["vision_tower"] == 2 * tower and w.by_section["projector"] == 2 * projector
    # The Hub's safetensors count for llava-hf/llava-1.5-7b-hf is 7.06B (all 24 CLIP layers).
    assert within_1pct(count_params(spec).total, 7.06e9)


def test_qwen3_vl_tower_with_deepstack_mergers():
    # 27 blocks of 1152 (MLP 4304), Conv3d patch 3 x 2 x 16 x 16 -> 1152 with bias, 2304 positions;
    # merger: LayerNorm 1152, fc1 4608 -> 4608, fc2 4608 -> 4096 (biased); 3 deepstack mergers with
    # a LayerNorm over 4608.
    merger = lin(4608, 4608, True) + lin(4608, 4096, True)
    tower = (1152 * 3 * 2 * 16 * 16 + 1152 + 2304 * 1152 + 27 * vit_layer(1152, 4304)
             + 2 * 1152 + merger + 3 * (2 * 4608 + merger))
    spec = _spec("qwen3-vl-8b-instruct")
    assert spec.vision_tower.numel == tower and spec.vision_projector is None
    # Qwen3-VL-8B-Instruct's safetensors hold 8,767,123,696 parameters (the Hub's "8.77B").
    assert count_params(spec).total == 8_767_123_696


def test_llama4_vision_from_class_defaults():
    # The fixture keeps text_config only; transformers' Llama4Config fills vision_config with
    # Llama4VisionConfig's defaults: 34 layers of 768 (MLP 5632), patch 14, image 448, adapter
    # 5632 -> 4096 -> 4096 (no bias), projector 7680 -> 5120 (no bias).
    tower = (768 * 3 * 14 * 14 + 768 + (32 * 32 + 1) * 768 + 4 * 768 + 34 * vit_layer(768, 5632)
             + 5632 * 4096 + 4096 * 4096)
    spec = _spec("llama-4-scout-17b-16e-instruct")
    assert spec.vision_tower.numel == tower == 415_856_640
    assert spec.vision_projector.numel == 7680 * 5120
    # Meta: Llama 4 Scout, 17B active, 109B total.
    assert within_1pct(count_params(spec).total, 109e9)


def test_vision_tower_is_split_like_vllm_encoders():
    # tp 2: q/k/v and fc1 rows halve, out_proj and fc2 columns halve, their biases stay whole;
    # the class embedding, patch conv, positions and LayerNorms are replicated.
    spec = _spec("llava-1.5-7b")
    t1, t2 = weights_footprint(spec, tp=1), weights_footprint(spec, tp=2)
    layer_split = 4 * 1024 + (3 * 1024 * 1024 + 3 * 1024) // 2 + 1024 * 1024 // 2 + 1024 + (1024 * 4096 + 4096) // 2 \
        + 4096 * 1024 // 2 + 1024
    replicated = 1024 + 1024 * 3 * 14 * 14 + 577 * 1024 + 2 * 1024
    projector = (1024 * 4096 + 4096) // 2 + 4096 * 4096 // 2 + 4096
    assert t2.stages[0].by_part["other"] == 2 * (replicated + 23 * layer_split + projector)
    assert t1.stages[0].by_part["other"] == 2 * (count_params(spec).other)


# -- tensor parallelism of the mixers ------------------------------------------------------------
def test_mamba2_groups_follow_their_heads_under_tp():
    # Bamba: one group. At tp 2 each rank keeps half the z/x rows, half the heads, and the whole
    # group's B/C rows (vLLM extra_groups_for_head_shards replicates it), so in_proj holds
    # 8192 + 256 + 64 rows and conv1d 4096 + 256 channels.
    spec = _spec("bamba-9b")
    mamba = next(i for i, k in enumerate(spec.layers) if k.kind == "state_space")
    from kvplan.shapes import layer_shapes

    rank = sum(p.rank_numel(2) for p in layer_shapes(spec, mamba) if p.part == "state_space")
    h = 4096
    assert rank == (h * (8192 + 256 + 64) + (4096 + 256) * 5 + 3 * 64 + 4096 + 4096 * h)


# -- spec fields ----------------------------------------------------------------------------------
def _tiny(**over):
    d = dict(name="tiny", source="test", num_layers=2, hidden_size=8, num_attention_heads=2, num_kv_heads=1,
             head_dim=4, vocab_size=10, intermediate_size=16, dtype="bf16", max_position_embeddings=64)
    d.update(over)
    return spec_from_mapping(d, "test")


def test_ffn_layout_and_norms_per_block():
    spec = _tiny(ffn={"kinds": {"none": {"kind": "none"}, "wide": {"kind": "mlp", "intermediate_size": 32}},
                      "layer_types": ["none", "wide"]})
    # layer 0: attention 64 + 32 + 32 + 64 = 192, one norm (mixer only); layer 1: attention and
    # a SwiGLU of 32 (3 x 8 x 32 = 768), two norms.
    assert layer_params(spec, 0).total == 192 + 8
    assert layer_params(spec, 1).total == 192 + 768 + 16


def test_bad_ssm_and_ffn_blocks_are_refused_with_one_line():
    with pytest.raises(SpecError, match="time_step_rank is required for type mamba1"):
        _tiny(ssm={"type": "mamba1"})
    with pytest.raises(SpecError, match="ffn.layer_types has 1 entries for 2 layers"):
        _tiny(ffn={"kinds": {"a": {"kind": "none"}}, "layer_types": ["a"]})
    with pytest.raises(SpecError, match="intermediate_size is only for kind mlp"):
        _tiny(ffn={"kinds": {"a": {"kind": "moe", "intermediate_size": 4}}})
    with pytest.raises(SpecError, match="moe"):
        count_params(_tiny(ffn={"kinds": {"a": {"kind": "moe"}}}))
    with pytest.raises(SpecError, match="a clip component needs image_size"):
        _tiny(vision={"tower": {"kind": "clip", "hidden_size": 8, "intermediate_size": 8, "num_layers": 1,
                                "patch_size": 2}})
    with pytest.raises(SpecError, match="depth is not a field of a clip component"):
        _tiny(vision={"tower": {"kind": "clip", "hidden_size": 8, "intermediate_size": 8, "num_layers": 1,
                                "patch_size": 2, "image_size": 4, "depth": 3}})


def test_state_space_kind_without_an_ssm_block_is_counted_as_mamba2():
    spec = _tiny(num_layers=1, cache={"kinds": {"m": {"kind": "state_space", "conv_dim": 16, "conv_kernel": 4,
                                                       "ssm_heads": 2, "ssm_head_dim": 4, "ssm_state_size": 2}}})
    # inner 8, groups (16 - 8) / 4 = 2: in_proj 8 x (16 + 8 + 2) = 208, conv 16 x 5 = 80, 3 x 2,
    # norm 8, out_proj 64 -> 366; plus the MLP 384 and two norms 16.
    assert layer_params(spec, 0).state_space == 366 == mamba2(8, 2, 4, 2, 2, 4)
