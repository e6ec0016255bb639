"""SGLang's mem_fraction_static for a multimodal model (kvplan/engines/sglang.py rule vlm_fraction,
SGLang.multimodal_fraction): x 0.90 (0.4.6 also on a given fraction, 0.4.9 on the default), from
0.4.10 adjust_mem_fraction_for_vlm's 0.95 x clamp(1 - 0.1 x (L h^2 / (24 x 1024^2) - 1), 0.8,
1.05) on the default only; none for the architectures SGLang runs as text (Gemma 3, Llama 4)."""

from __future__ import annotations

import dataclasses
import json
from fractions import Fraction

import pytest

from kvplan.capacity import make_request, plan
from kvplan.engines import get_engine
from kvplan.errors import BadInputError
from kvplan.loader import load_model
from kvplan.towers import ClipTower, MoonViTTower
from tests.helpers import cli, one_line_error

QWEN3_VL = "benchmarks/unseen_configs/qwen3-vl-8b-instruct.json"
LLAVA = "benchmarks/unseen_configs/llava-1.5-7b.json"


def _cap(model, engine, **kw):
    spec = model if not isinstance(model, str) else load_model(model)
    return plan(make_request(spec, "h100-sxm", engine=engine, **kw))


def test_qwen3_vl_8b_fraction_under_sglang_0_5_8_by_hand():
    """H100 (nvidia-smi 81,559 MiB), tp 1: default round((81,559 - 13,440) / 81,559, 3) = 0.835.
    Qwen3-VL's vision_config has depth 27 and hidden_size 1152; transformers 4.57.1's
    Qwen3VLVisionConfig has no num_hidden_layers, so getattr gives SGLang 24:
    ratio 24 x 1152^2 / (24 x 1024^2) = 1.265625, factor 0.95 x (1 - 0.1 x 0.265625)
    = 0.9247656249999999 (float), fraction 0.835 x that = 0.7721792968749999. total 85,029,027,840 B;
    share int(total x f) = 65,657,654,931; other int(547,608,330.24 x f) = 422,851,815; weights
    8,767,123,696 x 2 + the text model's float32 rotary table 262,144 x 128 x 4 + the vision tower's
    get_rope table 8,192 x 36 x 4 (head width 1152 / vision_config.num_heads 16 = 72; rule
    rope_table) = 17,669,644,768; pool 47,565,158,348 B / 147,456 B a token = 322,571 (was refused:
    the spec did not record the vision heads)."""
    frac, note = get_engine("sglang==0.5.8").multimodal_fraction(load_model(QWEN3_VL), Fraction("0.835"), given=False)
    assert float(frac) == 0.7721792968749999 == 0.835 * (0.95 * (1.0 - 0.1 * 0.265625))
    assert "its config class stores depth, not num_hidden_layers" in note
    cap = _cap(QWEN3_VL, "sglang==0.5.8")
    w = cap.waterfall
    assert w.engine_share_bytes == int(85_029_027_840 * Fraction("0.7721792968749999")) == 65_657_654_931
    assert w.weights_bytes == 17_534_247_392 + 134_217_728 + 1_179_648 == 17_669_644_768
    assert w.kv_pool_bytes == 65_657_654_931 - 17_669_644_768 - 422_851_815 == 47_565_158_348
    assert cap.kv_cache_tokens == 47_565_158_348 // 147_456 == 322_571


def test_llava_pool_under_sglang_0_5_8_by_hand():
    """LLaVA-1.5-7B (CLIP-L: 24 x 1024, ratio 1): 0.835 x 0.95 = 0.7932499999999999 (float).
    total 85,029,027,840 B; share int(total x f) = 67,449,276,334; other int(547,608,330.24 x f) =
    434,390,307; weights 14,101,657,600 (fp16) + the Llama backbone's float32 rotary table 4,096 x
    128 x 4 = 2,097,152 (rule rope_table); pool 52,911,131,275 B / 524,288 B a token = 100,919."""
    cap = _cap(LLAVA, "sglang==0.5.8")
    assert cap.settings.memory_fraction == Fraction("0.7932499999999999")
    w = cap.waterfall
    assert w.total_bytes == 85_029_027_840
    assert w.engine_share_bytes == int(85_029_027_840 * Fraction("0.7932499999999999")) == 67_449_276_334
    assert w.weights_bytes == 14_101_657_600 + 2_097_152
    assert w.kv_pool_bytes == 67_449_276_334 - 14_103_754_752 - 434_390_307 == 52_911_131_275
    assert cap.kv_cache_tokens == 100_919


def test_a_given_fraction_is_not_scaled_from_0_4_9(capsys):
    cap = _cap(LLAVA, "sglang==0.5.8", gpu_memory_utilization=0.835)
    assert cap.settings.memory_fraction == Fraction("0.835")
    assert cap.waterfall.kv_pool_bytes == 56_438_230_539
    code, out, err = cli(capsys, "capacity", LLAVA, "--gpu", "h100", "--engine", "sglang==0.5.8",
                         "--mem-fraction-static", "0.835", "--json")
    assert code == 0 and "multimodal" not in err
    code, out, err = cli(capsys, "capacity", LLAVA, "--gpu", "h100", "--engine", "sglang==0.5.8", "--json")
    assert code == 0 and "scales its default mem_fraction_static 0.835 x 0.95" in err


@pytest.mark.parametrize("engine", ["sglang==0.4.6", "sglang==0.4.9", "sglang==0.5.4", "sglang==0.5.8",
                                    "sglang==0.5.23"])
@pytest.mark.parametrize("model", ["gemma3-4b", "gemma3-27b"])
def test_gemma3_runs_as_a_text_model_unscaled(model, engine):
    """Gemma3ForConditionalGeneration is in multimodal_model_archs but also in mm_disabled_models in
    every release: enable_multimodal None becomes False, no scaling."""
    eng = get_engine(engine)
    cap = _cap(model, engine)
    assert cap.settings.memory_fraction == eng.default_memory_fraction(cap.request.gpu, 1, 1, spec=cap.request.spec)


def test_llava_clip_depth_is_the_checkpoint_s_not_the_layers_built():
    """llava-1.5-7b: CLIP ViT-L (24 layers, 1024 wide; vLLM builds 23): ratio 1, factor 0.95."""
    spec = load_model(LLAVA)
    assert spec.vision_tower.num_layers == 23 and spec.vision_tower.config_num_layers == 24
    frac, note = get_engine("sglang==0.5.8").multimodal_fraction(spec, Fraction("0.835"), given=False)
    assert frac == Fraction(repr(0.835 * 0.95)) == Fraction("0.7932499999999999")
    assert "24 layers (CLIPVisionConfig.num_hidden_layers) x 1024 wide" in note


def test_flat_0_90_in_0_4_9_on_the_default_and_in_0_4_6_on_any_fraction():
    """0.4.9 server_args.py: default x 0.90; 0.4.6 model_runner.py: x 0.90 whatever the fraction
    (LLaVA is multimodal from 0.4.9; Qwen2-VL in 0.4.6, with no vision tower needed)."""
    llava = load_model(LLAVA)
    e49 = get_engine("sglang==0.4.9")
    assert e49.multimodal_fraction(llava, Fraction("0.874"), given=False)[0] == Fraction(repr(0.874 * 0.9))
    assert e49.multimodal_fraction(llava, Fraction("0.8"), given=True) == (Fraction("0.8"), None)
    qwen2_vl = dataclasses.replace(llava, architecture="Qwen2VLForConditionalGeneration", vision_tower=None)
    frac, note = get_engine("sglang==0.4.6").multimodal_fraction(qwen2_vl, Fraction("0.8"), given=True)
    assert frac == Fraction("0.7200000000000001")  # 0.8 * 0.9 in float
    assert "scales the given mem_fraction_static" in note
    # LLaVA has no place in 0.4.6's list
    assert get_engine("sglang==0.4.6").multimodal_fraction(llava, Fraction("0.8"), given=True)[1] is None


def test_moonvit_and_the_clamps():
    """Kimi-VL's MoonViT (27 x 1152): ratio 1.423828125, factor 0.95 x 0.9576171875; a tiny tower
    is clamped at 1.05 (x 0.9975), a huge one at 0.8 (x 0.76)."""
    base = dataclasses.replace(load_model(LLAVA), architecture="KimiVLForConditionalGeneration")
    eng = get_engine("sglang==0.5.8")

    def factor(layers, hidden):
        tower = MoonViTTower(hidden_size=hidden, intermediate_size=8, num_layers=layers, patch_size=14,
                             pos_emb_height=2, pos_emb_width=2)
        return eng.multimodal_fraction(dataclasses.replace(base, vision_tower=tower), Fraction(1), given=False)[0]

    assert factor(27, 1152) == Fraction(repr(0.95 * 0.9576171875)) == Fraction("0.9097363281249999")
    assert factor(1, 64) == Fraction(repr(0.95 * 1.05))
    assert factor(80, 4096) == Fraction(repr(0.95 * 0.8))


def test_refused_where_kvplan_cannot_tell_the_tower_sglang_reads(capsys, tmp_path):
    eng = get_engine("sglang==0.5.8")
    q3 = load_model(QWEN3_VL)
    with pytest.raises(BadInputError, match="the spec has no qwen3_vl vision tower"):
        eng.multimodal_fraction(dataclasses.replace(q3, vision_tower=None), Fraction("0.835"), given=False)
    # a CLIP tower built short of the checkpoint's depth, with the depth not recorded
    short = ClipTower(hidden_size=1024, intermediate_size=4096, num_layers=23, patch_size=14, image_size=336)
    llava = dataclasses.replace(load_model(LLAVA), vision_tower=short)
    with pytest.raises(BadInputError, match="records the 23 layers built, not the checkpoint's depth"):
        eng.multimodal_fraction(llava, Fraction("0.835"), given=False)
    # with the fraction given nothing is read
    assert eng.multimodal_fraction(llava, Fraction("0.835"), given=True) == (Fraction("0.835"), None)
    # a hand-written spec naming an architecture whose tower kvplan does not read: one line, exit 2
    spec = {"name": "my-qwen25-vl", "source": "test", "architecture": "Qwen2_5_VLForConditionalGeneration",
            "num_layers": 28, "hidden_size": 3584, "num_attention_heads": 28, "num_kv_heads": 4, "head_dim": 128,
            "dtype": "bf16", "max_position_embeddings": 32768, "vocab_size": 152064, "intermediate_size": 18944}
    path = tmp_path / "my.yaml"
    path.write_text(json.dumps(spec))  # JSON is YAML
    code, _, err = cli(capsys, "capacity", path, "--gpu", "h100", "--engine", "sglang==0.5.8")
    assert code == 2
    line = one_line_error(err)
    assert line.startswith("kvplan: error: sglang==0.5.8 scales Qwen2_5_VLForConditionalGeneration's default "
                           "mem_fraction_static by vision_config.num_hidden_layers and hidden_size")
    assert line.endswith("kvplan has not read how SGLang's config of Qwen2_5_VLForConditionalGeneration gives "
                         "them; give --mem-fraction-static (no scaling then)")
    # with the fraction given, the vision tower's rotary buffer, which kvplan cannot size, refuses it
    code, _, err = cli(capsys, "capacity", path, "--gpu", "h100", "--engine", "sglang==0.5.8",
                       "--mem-fraction-static", "0.8")
    assert code == 2
    assert one_line_error(err).startswith("kvplan: error: sglang==0.5.8: kvplan cannot size the rotary buffer SGLang "
                                          "builds for my-qwen25-vl's vision tower (Qwen2_5_VLForConditionalGeneration")


def test_aiter_scales_after_the_vlm_factor():
    """On ROCm with a context over 8192 (LLaVA run at 16,384) the aiter backend's x 0.85 follows."""
    cap = plan(make_request(load_model(LLAVA), "mi300x", engine="sglang==0.5.8", gpu_memory_utilization=0.8,
                            max_model_len=16_384, allow_long_max_model_len=True))
    assert cap.settings.memory_fraction == Fraction("0.8") * Fraction(85, 100)


def test_llava_without_vision_config_gets_llava_config_s_clip_tower(tmp_path):
    """transformers LlavaConfig builds CLIP ViT-L/14 at 336 px (24 x 1024) for an absent
    vision_config (configuration_llava.py, 4.57.1 lines 111-121), not CLIPVisionConfig's 12 x 768."""
    config = json.loads(open(LLAVA).read())
    del config["vision_config"]
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    tower = load_model(str(path)).vision_tower
    assert (tower.hidden_size, tower.intermediate_size, tower.num_layers, tower.config_num_layers,
            tower.patch_size, tower.image_size) == (1024, 4096, 23, 24, 14, 336)


def test_0_5_23_scales_llava_s_default_as_0_5_8():
    """arg_groups/memory_hook.py adjust_mem_fraction_for_vlm (the 0.5.8 formula): 0.835 x 0.95. The
    default is 0.835, not a text model's 0.830: cuda_graph_hook.py disable_breakable_cudagraph_if_incompatible
    turns LLaVA's prefill graphs off (multimodal, not in multimodal_breakable_cuda_graph_supported_model_archs)
    before the reserve is sized (rule prefill_graphs), so 13,440 MiB, not 13,904."""
    cap = _cap(LLAVA, "sglang==0.5.23")
    assert cap.settings.memory_fraction == Fraction(repr(0.835 * 0.95)) == Fraction("0.7932499999999999")
