"""Gemma, Gemma 2, Gemma 3 (text and the multimodal wrapper)."""

from __future__ import annotations

from kvplan.hf.core import Family, HFConfig, base, either, every_nth_global, hf_layer_types


def _gemma_base(c: HFConfig) -> dict:
    # GemmaAttention (and Gemma 2/3): q/k/v/o_proj use bias=config.attention_bias (default false).
    m = base(c)
    bias = c.flag("attention_bias", False)
    m.update(qkv_bias=bias, o_bias=bias)
    return m


def read_gemma(c: HFConfig) -> dict:
    # Gemma (1): head_dim is explicit (Gemma-7B: 256, while 3072 / 16 = 192); tied
    # embeddings (GemmaConfig default tie_word_embeddings=True).
    return _gemma_base(c)


def read_gemma2(c: HFConfig) -> dict:
    # Gemma2Config.__post_init__: without layer_types, layer i is sliding when
    # (i + 1) % 2 != 0, i.e. even layers (0, 2, 4 ...) slide and odd layers are global.
    # Four RMSNorms a layer (input, post_attention, pre_feedforward, post_feedforward).
    m = _gemma_base(c)
    window = c.window()
    # Older Gemma 2 configs repeat the window as sliding_window_size: it must agree.
    alias = c.raw("sliding_window_size", None)
    if alias is not None and alias != window:
        raise c.error(f"sliding_window_size {alias!r} disagrees with sliding_window {window!r}")
    m["cache"] = either(hf_layer_types(c, m, window), every_nth_global(m["num_layers"], 2, window))
    m["norms_per_layer"] = 4
    # vllm/model_executor/models/gemma2.py passes config.attn_logit_softcapping to every
    # Attention as logits_soft_cap (Gemma2Config default 50.0); final_logit_softcapping caps
    # the LM head only and stays ignored (kvplan.hf.core IGNORABLE).
    m["attn_logit_softcapping"] = c.softcap()
    return m


def read_gemma3(c: HFConfig) -> dict:
    # Gemma3TextConfig: sliding_window_pattern 6 means layer i is global when
    # (i + 1) % 6 == 0 (modeling_gemma3: is_sliding = bool((layer_idx + 1) %
    # sliding_window_pattern)): 5 local : 1 global. Newer configs write layer_types.
    # q_norm/k_norm per head, four norms a layer as in Gemma 2.
    m = _gemma_base(c)
    window = c.window()
    period = c.int(("sliding_window_pattern", "_sliding_window_pattern"), default=6)
    m["cache"] = either(hf_layer_types(c, m, window), every_nth_global(m["num_layers"], period, window))
    m.update(norms_per_layer=4, qk_norm=True)
    # Gemma3TextConfig's attn_logit_softcapping (null in Google's configs) is not used:
    # vllm/model_executor/models/gemma3.py builds every Attention with attn_logits_soft_cap=None.
    c.ignore("attn_logit_softcapping")
    m.update(gemma3_rope(c))
    return m


def gemma3_rope(c: HFConfig) -> dict:
    """Gemma 3's two rotary tables in vLLM (kvplan.engines.vllm.rope_cache_bytes): the global
    layers get the config's rope_theta and rope_scaling, the local (sliding) layers a default
    rope of base rope_local_base_freq (vllm/model_executor/models/gemma3.py
    Gemma3Attention.__init__, 0.8.0 :141-160, 0.19.1 :163-186; with a transformers v5
    rope_parameters per layer type, its full_attention and sliding_attention entries). get_rope
    builds one table per distinct argument set, so two. gemma-3-4b/12b/27b config.json:
    rope_scaling {"factor": 8.0, "rope_type": "linear"}, rope_local_base_freq 10000 (default),
    rope_theta 1,000,000 (default); gemma-3-1b: rope_scaling null. Refused: another scaling
    type on the global layers, scaling on the local ones, or one base for both (whether vLLM
    then shares a table depends on how the release keys its cache)."""
    params = c.raw("rope_parameters", None)
    if isinstance(params, dict) and "sliding_attention" in params:
        full, local = params.get("full_attention") or {}, params["sliding_attention"] or {}
        if local.get("rope_type", "default") != "default":
            raise c.error(f"{c.where('rope_parameters')}.sliding_attention: rope type {local.get('rope_type')!r} "
                          "on Gemma 3's local layers is not modelled")
        local_base = c.check_positive("rope_parameters.sliding_attention.rope_theta", local.get("rope_theta", 10_000.0))
        scaling, theta = full, full.get("rope_theta", 1_000_000.0)
    else:
        local_base = c.check_positive("rope_local_base_freq", c.raw("rope_local_base_freq", 10_000.0))
        scaling = c.raw("rope_scaling", None) or (params if isinstance(params, dict) else None) or {}
        theta = c.raw("rope_theta", scaling.get("rope_theta", 1_000_000.0))
    if not isinstance(scaling, dict):
        raise c.error(f"{c.where('rope_scaling')} must be a JSON object, got {scaling!r}")
    kind = scaling.get("rope_type", scaling.get("type", "default"))
    out: dict = {"rope_local_base_freq": local_base}
    if kind == "linear":
        factor = c.check_positive("rope_scaling.factor", scaling.get("factor", 1.0))
        if factor != 1:
            out["rope_scaling"] = {"type": "linear", "factor": factor}
    elif kind != "default":
        raise c.error(f"{c.where('rope_scaling')}: rope type {kind!r} on Gemma 3's global layers is not modelled "
                      "(vLLM's rotary table for it is not read)")
    if "rope_scaling" not in out and c.check_positive("rope_theta", theta) == local_base:
        raise c.error(f"{c.where('rope_local_base_freq')} equals rope_theta ({theta:g}): whether vLLM shares one "
                      "rotary table between Gemma 3's local and global layers is not modelled")
    return out


#: SiglipVisionConfig defaults (transformers models/siglip/configuration_siglip.py), for the
#: keys a nested vision_config (a diff against them) leaves out.
SIGLIP_DEFAULTS = {"hidden_size": 768, "intermediate_size": 3072, "num_hidden_layers": 12, "num_channels": 3,
                   "image_size": 224, "patch_size": 16, "vision_use_head": True}


def read_gemma3_wrapper(top: HFConfig, text_fields: dict) -> dict:
    """Gemma3ForConditionalGeneration: the text model's fields, plus the SigLIP vision tower
    and the projector (kvplan.towers SiglipTower, Gemma3Projector) from ``vision_config``."""
    v = top.sub("vision_config", SIGLIP_DEFAULTS, weights_only=True)
    if v is None:
        top.weights_need("vision_config (missing: the vision tower cannot be counted)")
        return text_fields
    # Heads, activation and epsilon do not change the parameter count.
    v.ignore("model_type", "num_attention_heads", "hidden_act", "layer_norm_eps", "attention_dropout")
    if v.data.get("model_type", "siglip_vision_model") != "siglip_vision_model" or v.flag("vision_use_head", True):
        top.weights_need("vision_config (not a SigLIP tower without a pooling head)")
        v.ignore(*v.data)  # named once, as the whole vision_config
        return text_fields
    hidden = v.int("hidden_size")
    tower = {"kind": "siglip", "hidden_size": hidden, "intermediate_size": v.int("intermediate_size"),
             "num_layers": v.int("num_hidden_layers"), "patch_size": v.int("patch_size"),
             "image_size": v.int("image_size"), "num_channels": v.int("num_channels")}
    projector = {"kind": "gemma3", "vision_hidden_size": hidden, "text_hidden_size": text_fields["hidden_size"]}
    return {**text_fields, "vision": {"tower": tower, "projector": projector}}


# KV-shaping defaults (transformers v4.57.1 models/gemma*/configuration_gemma*.py __init__):
# GemmaConfig 16 KV heads, Gemma2Config and Gemma3TextConfig 4, head_dim 256; none of the
# three turns a null into the attention heads (null is refused).
GEMMA = Family(read_gemma, "GemmaConfig",
               {"hidden_size": 3072, "num_hidden_layers": 28, "num_attention_heads": 16, "num_key_value_heads": 16,
                "head_dim": 256, "tie_word_embeddings": True, "max_position_embeddings": 8192},
               null_kv_heads="refuse")
GEMMA2 = Family(
    read_gemma2, "Gemma2Config",
    {"hidden_size": 2304, "num_hidden_layers": 26, "num_attention_heads": 8, "num_key_value_heads": 4,
     "head_dim": 256, "sliding_window": 4096, "tie_word_embeddings": True, "max_position_embeddings": 8192,
     "attn_logit_softcapping": 50.0},
    null_kv_heads="refuse",
)
GEMMA3_TEXT = Family(
    read_gemma3, "Gemma3TextConfig",
    {"vocab_size": 262_208, "hidden_size": 2304, "intermediate_size": 9216, "num_hidden_layers": 26,
     "num_attention_heads": 8, "num_key_value_heads": 4, "head_dim": 256,
     "max_position_embeddings": 131_072, "tie_word_embeddings": True, "sliding_window": 4096,
     "sliding_window_pattern": 6},
    sparse_text=True, null_kv_heads="refuse",
)
GEMMA3 = Family(read_gemma3_wrapper, "Gemma3Config", wrapper=True, text_family="gemma3_text")
