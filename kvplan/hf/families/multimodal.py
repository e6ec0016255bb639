"""Multimodal wrappers around a text model kvplan reads: LLaVA (1.5 / NeXT layout),
Qwen3-VL (dense and MoE) and Kimi-VL, whose text_config names no model_type. The cache is
the language model's; the vision tower and projector add weights, laid out tensor by tensor
in kvplan.towers from ``vision_config`` (whose keys a vision reader reads, and whose other
keys only ever block weight figures)."""

from __future__ import annotations

from kvplan.hf.core import Family, HFConfig

#: Vision-side settings of the wrappers: which tower layer feeds the projector, how image
#: features are picked, the projector's activation, training's ignore index.
VISION_SETTINGS = frozenset({"vision_feature_layer", "vision_feature_select_strategy", "projector_hidden_act",
                             "ignore_index", "image_grid_pinpoints", "multimodal_projector_bias",
                             "vision_start_token_id", "vision_end_token_id", "media_placeholder_token_id"})

#: Vision-config keys that never change a parameter shape: activations, epsilons, heads
#: (the fused q/k/v is hidden x 3 hidden whatever the head count), initialisation, rope.
_VISION_NUMERICS = ("hidden_act", "layer_norm_eps", "norm_eps", "num_attention_heads", "num_heads",
                    "attention_dropout", "dropout", "initializer_range", "initializer_factor", "rope_theta",
                    "rope_parameters", "model_type", "torch_dtype", "dtype", "projection_dim", "vocab_size",
                    "vision_feature_select_strategy", "projector_dropout", "_attn_implementation")

#: CLIPVisionConfig defaults (transformers models/clip/configuration_clip.py).
CLIP_DEFAULTS = {"hidden_size": 768, "intermediate_size": 3072, "num_hidden_layers": 12, "num_channels": 3,
                 "image_size": 224, "patch_size": 32}
#: The CLIP tower LlavaConfig builds when config.json has no vision_config (transformers
#: models/llava/configuration_llava.py, 4.57.1 lines 111-121: CLIP ViT-L/14 at 336 px), not
#: CLIPVisionConfig's own defaults.
LLAVA_ABSENT_VISION = {**CLIP_DEFAULTS, "intermediate_size": 4096, "hidden_size": 1024, "patch_size": 14,
                       "image_size": 336, "num_hidden_layers": 24}
#: Qwen3VLVisionConfig defaults (transformers models/qwen3_vl/configuration_qwen3_vl.py; SGLang's own
#: copy, python/sglang/srt/configs/qwen3_vl.py Qwen3VLVisionConfig.__init__ lines 8-24 in 0.5.4-0.5.23,
#: has the same, num_heads=16 among them).
QWEN3_VL_VISION_DEFAULTS = {"depth": 27, "hidden_size": 1152, "intermediate_size": 4304, "in_channels": 3,
                            "num_heads": 16,
                            "patch_size": 16, "spatial_merge_size": 2, "temporal_patch_size": 2,
                            "out_hidden_size": 3584, "num_position_embeddings": 2304,
                            "deepstack_visual_indexes": [8, 16, 24]}
#: MoonViTConfig defaults (vLLM transformers_utils/configs/moonvit.py, from Kimi-VL's
#: configuration_kimi_vl.py).
MOONVIT_DEFAULTS = {"patch_size": 14, "init_pos_emb_height": 64, "init_pos_emb_width": 64, "num_hidden_layers": 27,
                    "hidden_size": 1152, "intermediate_size": 4304, "merge_kernel_size": [2, 2]}


def vision_config(top: HFConfig, defaults: dict, model_type: str | None, what: str,
                  absent: dict | None = None) -> HFConfig | None:
    """``vision_config`` as an HFConfig over the tower's class defaults (an absent one is
    ``absent``, else the class's defaults, as transformers builds it), or None (weights then
    refuse) when it names another tower than ``model_type``."""
    v = top.sub("vision_config", defaults, weights_only=True)
    if v is None:  # transformers fills an absent (or null) vision_config with the wrapper's defaults
        v = HFConfig({}, top.origin, absent or defaults, path="vision_config.", findings=top.findings, top=top)
        v.only_weights = True
        top.children.append(v)
    v.ignore(*_VISION_NUMERICS)
    found = v.data.get("model_type")
    if model_type is not None and found not in (None, model_type):
        top.weights_need(f"vision_config.model_type {found!r} ({what} expects {model_type!r})")
        v.ignore(*v.data)
        return None
    return v


def _feature_layers(top: HFConfig, layers: int) -> int:
    """Encoder layers vLLM builds for LLaVA (llava.py _get_num_hidden_layers): up to the
    deepest ``vision_feature_layer`` (negative: counted from the end, -1 the last)."""
    chosen = top.raw("vision_feature_layer", -2)
    chosen = chosen if isinstance(chosen, list) else [chosen]
    if not chosen or any(isinstance(i, bool) or not isinstance(i, int) for i in chosen):
        raise top.error("vision_feature_layer must be an integer or a list of integers")
    return max(layers + i + 1 if i < 0 else i for i in chosen)


def read_llava_wrapper(top: HFConfig, text_fields: dict) -> dict:
    """LlavaForConditionalGeneration (vLLM llava.py): the language model caches as its text
    family does. A top-level vocab_size repeats the text model's (LLaVA-1.5 configs). The
    CLIP tower is built up to the feature layer, without its post LayerNorm; the projector
    is linear_1 / GELU / linear_2 with biases (multimodal_projector_bias, default true)."""
    vocab = top.raw("vocab_size", None)
    if vocab is not None and text_fields.get("vocab_size") not in (None, vocab):
        raise top.error(f"vocab_size {vocab} differs from text_config.vocab_size {text_fields['vocab_size']}")
    v = vision_config(top, CLIP_DEFAULTS, "clip_vision_model", "LLaVA's CLIP tower", absent=LLAVA_ABSENT_VISION)
    if v is None:
        return text_fields
    layers = v.int("num_hidden_layers")
    built = _feature_layers(top, layers)
    tower = {"kind": "clip", "hidden_size": v.int("hidden_size"), "intermediate_size": v.int("intermediate_size"),
             "num_layers": built, "patch_size": v.int("patch_size"), "image_size": v.int("image_size"),
             "num_channels": v.int("num_channels"), "post_norm": built == layers,
             **({"config_num_layers": layers} if built != layers else {})}
    projector = {"kind": "llava", "vision_hidden_size": tower["hidden_size"],
                 "text_hidden_size": text_fields["hidden_size"], "bias": top.flag("multimodal_projector_bias", True)}
    return {**text_fields, "vision": {"tower": tower, "projector": projector}}


def read_qwen3_vl_wrapper(top: HFConfig, text_fields: dict) -> dict:
    """Qwen3VL(Moe)ForConditionalGeneration (vLLM qwen3_vl.py / qwen3_vl_moe.py): the text
    model is Qwen3 / Qwen3-MoE (interleaved M-RoPE changes positions, not the cache); the
    vision transformer with its patch merger and deepstack mergers (kvplan.towers)."""
    v = vision_config(top, QWEN3_VL_VISION_DEFAULTS, None, "Qwen3-VL")
    deepstack = v.raw("deepstack_visual_indexes", [])
    if not isinstance(deepstack, list):
        raise top.error("vision_config.deepstack_visual_indexes must be a list")
    tower = {"kind": "qwen3_vl", "hidden_size": v.int("hidden_size"), "intermediate_size": v.int("intermediate_size"),
             "depth": v.int("depth"), "patch_size": v.int("patch_size"),
             "temporal_patch_size": v.int("temporal_patch_size"), "num_channels": v.int("in_channels"),
             "num_position_embeddings": v.int("num_position_embeddings"),
             "spatial_merge_size": v.int("spatial_merge_size"), "out_hidden_size": v.int("out_hidden_size"),
             "num_deepstack": len(deepstack)}
    # The vision heads shape no weight (the fused q/k/v is hidden x 3 hidden) but size the vision
    # tower's rotary table in SGLang (head width hidden_size / num_heads, kvplan.engines.sglang
    # SGLang.rope_table_bytes); vLLM's and SGLang's vision attention split hidden_size by them.
    heads = v.check_int("num_heads", v.raw("num_heads"))
    if tower["hidden_size"] % heads:
        raise top.error(f"vision_config.num_heads {heads} does not divide vision_config.hidden_size "
                        f"{tower['hidden_size']} (the vision head width)")
    tower["num_heads"] = heads
    tower["mrope"] = _mrope(top)
    if tower["out_hidden_size"] != text_fields["hidden_size"]:
        raise top.error(f"vision_config.out_hidden_size {tower['out_hidden_size']} differs from the text model's "
                        f"hidden_size {text_fields['hidden_size']}")
    return {**text_fields, "vision": {"tower": tower}}


def _mrope(top: HFConfig) -> bool | None:
    """Whether the text model's rotary scaling names an mrope_section (M-RoPE: positions from the
    vision grid), which SGLang's get_rope turns into MRotaryEmbedding for a rope type "default";
    from 0.5.22 that class keeps an axis_map beside its table (kvplan.engines.sglang
    SGLang.rope_table_bytes). None where no rope type, or another, carries the section (not read:
    get_rope's other branches)."""
    text = top.raw("text_config", None)
    rope = text.get("rope_scaling") or text.get("rope_parameters") if isinstance(text, dict) else None
    if not isinstance(rope, dict) or not rope.get("mrope_section"):
        return False
    section = rope["mrope_section"]
    if not (isinstance(section, list) and all(isinstance(v, int) and not isinstance(v, bool) and v > 0
                                              for v in section)):
        raise top.error(f"text_config's rope mrope_section must be a list of positive integers, got {section!r}")
    return True if rope.get("rope_type", rope.get("type")) == "default" else None


def read_kimi_vl_wrapper(top: HFConfig, text_fields: dict) -> dict:
    """KimiVLForConditionalGeneration (vLLM kimi_vl.py): a MoonViT tower in front of a
    DeepSeek-V3 text model (MLA + MoE) whose text_config names no model_type; the projector
    normalises each patch, merges merge_kernel_size patches and maps them to the text width."""
    v = vision_config(top, MOONVIT_DEFAULTS, None, "Kimi-VL")
    merge = v.raw("merge_kernel_size", [2, 2])
    if not (isinstance(merge, list) and len(merge) == 2 and all(isinstance(k, int) and k > 0 for k in merge)):
        raise top.error("vision_config.merge_kernel_size must be two positive integers")
    hidden = v.int("hidden_size")
    tower = {"kind": "moonvit", "hidden_size": hidden, "intermediate_size": v.int("intermediate_size"),
             "num_layers": v.int("num_hidden_layers"), "patch_size": v.int("patch_size"),
             "pos_emb_height": v.int("init_pos_emb_height"), "pos_emb_width": v.int("init_pos_emb_width")}
    projector = {"kind": "kimi_vl", "vision_hidden_size": hidden, "merged_patches": merge[0] * merge[1],
                 "text_hidden_size": text_fields["hidden_size"]}
    return {**text_fields, "vision": {"tower": tower, "projector": projector}}


LLAVA = Family(read_llava_wrapper, "LlavaConfig", wrapper=True, text_family="llama", ignored=VISION_SETTINGS)
QWEN3_VL = Family(read_qwen3_vl_wrapper, "Qwen3VLConfig", wrapper=True, text_family="qwen3_vl_text",
                  ignored=VISION_SETTINGS)
QWEN3_VL_MOE = Family(read_qwen3_vl_wrapper, "Qwen3VLMoeConfig", wrapper=True, text_family="qwen3_vl_moe_text",
                      ignored=VISION_SETTINGS)
KIMI_VL = Family(read_kimi_vl_wrapper, "KimiVLConfig", wrapper=True, text_family="deepseek_v3",
                 ignored=VISION_SETTINGS)
