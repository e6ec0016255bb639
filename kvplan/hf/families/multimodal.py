"""Multimodal wrappers around a text model kvplan reads: LLaVA (1.5 / NeXT layout),
Qwen3-VL (dense and MoE) and Kimi-VL, whose text_config names no model_type. The cache is
the language model's; vision towers and projectors only add weights (not counted yet)."""

from __future__ import annotations

from kvplan.hf.core import Family, HFConfig

#: Vision-side settings of the wrappers: which tower layer feeds the projector, how image
#: features are picked, the projector's activation, training's ignore index.
VISION_SETTINGS = frozenset({"vision_feature_layer", "vision_feature_select_strategy", "projector_hidden_act",
                             "ignore_index", "image_grid_pinpoints", "multimodal_projector_bias",
                             "vision_start_token_id", "vision_end_token_id", "media_placeholder_token_id"})


def _vision_tower(top: HFConfig, what: str) -> None:
    if top.raw("vision_config", None) is not None:
        top.weights_need(f"vision_config ({what} vision tower and projector are not counted)")


def read_llava_wrapper(top: HFConfig, text_fields: dict) -> dict:
    """LlavaForConditionalGeneration (vLLM llava.py): the language model caches as its text
    family does. A top-level vocab_size repeats the text model's (LLaVA-1.5 configs)."""
    _vision_tower(top, "the CLIP")
    vocab = top.raw("vocab_size", None)
    if vocab is not None and text_fields.get("vocab_size") not in (None, vocab):
        raise top.error(f"vocab_size {vocab} differs from text_config.vocab_size {text_fields['vocab_size']}")
    return text_fields


def read_qwen3_vl_wrapper(top: HFConfig, text_fields: dict) -> dict:
    """Qwen3VL(Moe)ForConditionalGeneration (vLLM qwen3_vl.py / qwen3_vl_moe.py): the text
    model is Qwen3 / Qwen3-MoE (interleaved M-RoPE changes positions, not the cache)."""
    _vision_tower(top, "the Qwen3-VL")
    return text_fields


def read_kimi_vl_wrapper(top: HFConfig, text_fields: dict) -> dict:
    """KimiVLForConditionalGeneration (vLLM kimi_vl.py): a MoonViT tower in front of a
    DeepSeek-V3 text model (MLA + MoE) whose text_config names no model_type."""
    _vision_tower(top, "the MoonViT")
    return text_fields


LLAVA = Family(read_llava_wrapper, "LlavaConfig", wrapper=True, text_family="llama", ignored=VISION_SETTINGS)
QWEN3_VL = Family(read_qwen3_vl_wrapper, "Qwen3VLConfig", wrapper=True, text_family="qwen3_vl_text",
                  ignored=VISION_SETTINGS)
QWEN3_VL_MOE = Family(read_qwen3_vl_wrapper, "Qwen3VLMoeConfig", wrapper=True, text_family="qwen3_vl_moe_text",
                      ignored=VISION_SETTINGS)
KIMI_VL = Family(read_kimi_vl_wrapper, "KimiVLConfig", wrapper=True, text_family="deepseek_v3",
                 ignored=VISION_SETTINGS)
