"""Llama 4 (Scout, Maverick): chunked local attention on RoPE layers, global NoPE layers,
MoE interleaved with dense layers, and the multimodal wrapper around it."""

from __future__ import annotations

from kvplan.hf.core import Family, HFConfig, base, full, layout


def read_llama4_text(c: HFConfig) -> dict:
    # Llama4TextConfig: no_rope_layers[i] == 0 marks a NoPE layer; without the list, layer i
    # is NoPE when (i + 1) % no_rope_layer_interval == 0 (default 4). vLLM llama4.py
    # Llama4Attention: NoPE layers are plain full attention; the others use
    # ChunkedLocalAttention over attention_chunk_size tokens when that is set (Scout:
    # 36 chunked layers of 8192 tokens + 12 global ones).
    # MoE layers: i in range(step - 1, layers, step) for step = interleave_moe_layer_step
    # (Llama4TextConfig.moe_layers); each holds num_local_experts SwiGLU experts of
    # intermediate_size, one shared expert of intermediate_size and a bias-free router;
    # dense layers an MLP of intermediate_size_mlp. q/k are L2-normalised without weights
    # (use_qk_norm), so no q/k norm parameters.
    m = base(c)
    n = m["num_layers"]
    nope = c.raw("no_rope_layers", None)
    # An empty list means the default too (transformers v4.57.1 models/llama4/
    # configuration_llama4.py:372-379: "if no_rope_layers == []: no_rope_layers = None").
    if nope is None or nope == []:
        interval = c.int("no_rope_layer_interval", default=4)
        nope = [int((i + 1) % interval != 0) for i in range(n)]
    else:
        c.ignore("no_rope_layer_interval")
        if not isinstance(nope, list) or len(nope) != n or any(v not in (0, 1) for v in nope):
            raise c.error(f"{c.where('no_rope_layers')} must list 0 or 1 for each of the {n} layers")
    chunk = c.raw("attention_chunk_size", None)
    if chunk is not None:
        chunk = c.check_int("attention_chunk_size", chunk)
        labels = ["chunked" if rope else "global" for rope in nope]
        m["cache"] = layout({"chunked": {"kind": "chunked_local", "chunk": chunk}, "global": full()}, labels)
    c.ignore("use_qk_norm", "attn_temperature_tuning", "floor_scale", "attn_scale")
    bias = c.flag("attention_bias", False)
    m.update(qkv_bias=bias, o_bias=bias)

    def moe() -> dict:
        step = c.int("interleave_moe_layer_step", default=1)
        layers = c.raw("moe_layers", None)
        if layers is not None and list(layers) != list(range(step - 1, n, step)):
            raise c.error("moe_layers does not follow interleave_moe_layer_step; write the spec by hand")
        return {
            "num_experts": c.int("num_local_experts"),
            "experts_per_token": c.int("num_experts_per_tok"),
            "expert_intermediate_size": c.int("intermediate_size"),
            "num_shared_experts": 1,
            "shared_expert_intermediate_size": c.int("intermediate_size"),
            "first_dense_layers": step - 1,
            "layer_freq": step,
        }

    m["moe"] = c.weights_only(moe)
    dense = c.int("intermediate_size_mlp", default=None)
    if dense is not None:
        m["intermediate_size"] = dense  # the dense layers' MLP (experts read intermediate_size above)
    return m


#: Llama4VisionConfig defaults (transformers models/llama4/configuration_llama4.py): the
#: tower of Scout and Maverick.
LLAMA4_VISION_DEFAULTS = {"hidden_size": 768, "num_hidden_layers": 34, "num_channels": 3, "intermediate_size": 5632,
                          "vision_output_dim": 7680, "image_size": 448, "patch_size": 14, "pixel_shuffle_ratio": 0.5,
                          "projector_input_dim": 4096, "projector_output_dim": 4096,
                          "multi_modal_projector_bias": False}


def read_llama4_wrapper(top: HFConfig, text_fields: dict) -> dict:
    """Llama4ForConditionalGeneration (vLLM mllama4.py): the text model's fields, plus the
    vision encoder with its pixel-shuffle adapter and the multimodal projector
    (kvplan.towers), from ``vision_config`` (absent: Llama4VisionConfig's defaults, as
    transformers' Llama4Config fills it). pixel_shuffle_ratio changes how many tokens an
    image becomes, not a shape."""
    from kvplan.hf.families.multimodal import vision_config

    v = vision_config(top, LLAMA4_VISION_DEFAULTS, "llama4_vision_model", "Llama 4")
    if v is None:
        return text_fields
    v.ignore("pixel_shuffle_ratio", "vision_feature_layer")
    tower = {"kind": "llama4", "hidden_size": v.int("hidden_size"), "intermediate_size": v.int("intermediate_size"),
             "num_layers": v.int("num_hidden_layers"), "patch_size": v.int("patch_size"),
             "image_size": v.int("image_size"), "num_channels": v.int("num_channels"),
             "projector_input_dim": v.int("projector_input_dim"),
             "projector_output_dim": v.int("projector_output_dim"),
             "adapter_bias": v.flag("multi_modal_projector_bias", False)}
    projector = {"kind": "llama4", "vision_output_dim": v.int("vision_output_dim"),
                 "text_hidden_size": text_fields["hidden_size"]}
    return {**text_fields, "vision": {"tower": tower, "projector": projector}}


# Llama4TextConfig (transformers v4.57.1 models/llama4/configuration_llama4.py): 8 KV heads
# (null -> the heads) of head_dim 128.
LLAMA4_TEXT = Family(
    read_llama4_text, "Llama4TextConfig",
    {"hidden_size": 5120, "num_hidden_layers": 48, "num_attention_heads": 40, "num_key_value_heads": 8,
     "head_dim": 128, "tie_word_embeddings": False, "max_position_embeddings": 4096 * 32, "interleave_moe_layer_step": 1,
     "num_local_experts": 16, "num_experts_per_tok": 1, "attention_chunk_size": 8192},
)
LLAMA4 = Family(read_llama4_wrapper, "Llama4Config", wrapper=True, text_family="llama4_text")
