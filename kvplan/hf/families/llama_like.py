"""Llama-layout decoders that differ in names, norms, biases or experts, not in how they
cache: InternLM2, StableLM, MiniCPM, Orion, OLMo 2, OLMoE, Cohere (Command R / Aya),
Cohere2 (Command R7B), Seed-OSS, SmolLM3, Hunyuan (A13B), Qwen1.5/2-MoE, MiMo, MiniMax-M2
and GLM-4.5/4.6/4.7 (glm4_moe). Every layer caches K and V of num_key_value_heads heads of
head_dim (hidden / heads unless the config gives head_dim), except where a reader says so."""

from __future__ import annotations

from kvplan.hf.core import (ABSENT, Family, HFConfig, base, either, every_nth_global, hf_layer_types,
                            one_rotary_width, partial_rotary_dim, rope_max_position, rope_parameters_factor,
                            rotary_factor, whole_head_before_0_13)
from kvplan.hf.families.qwen import qwen_moe, read_qwen2

#: MoE routing settings: which experts a token picks and how their outputs are weighed.
ROUTING = frozenset({"norm_topk_prob", "routed_scaling_factor", "n_group", "topk_group", "topk_method",
                     "scoring_func", "group_limited_greedy", "moe_drop_tokens", "moe_random_routing_dropped_token"})


def _mtp_note(c: HFConfig, *keys: str) -> None:
    """Multi-token-prediction modules serve only as a speculative-decoding draft: vLLM loads
    them only with --speculative-config, so they are not planned (and say so)."""
    for key in keys:
        value = c.raw(key, None)
        if value:
            c.note(f"{key} {value}: multi-token-prediction module(s) not planned (a speculative-decoding draft)")


def read_internlm2(c: HFConfig) -> dict:
    # InternLM2 (trust_remote_code): one fused wqkv; `bias` puts biases on wqkv / wo.
    m = base(c)
    bias = c.flag("bias", False)
    m.update(qkv_bias=bias, o_bias=bias)
    return m


def read_stablelm(c: HFConfig) -> dict:
    # StableLmConfig: LayerNorm (with bias), q/k/v biases when use_qkv_bias, partial rotary;
    # use_parallel_residual false: the usual two norms a layer; qk_layernorm adds per-head
    # LayerNorms (not modelled, refused).
    m = base(c)
    if c.flag("qk_layernorm", False) or c.flag("use_parallel_residual", False):
        raise c.error("qk_layernorm / use_parallel_residual true: that StableLM variant is not modelled; "
                      "write a spec by hand")
    m.update(qkv_bias=c.flag("use_qkv_bias", False), norm="layernorm")
    if (rotary := _stablelm_rotary_dim(c, m["hidden_size"] // m["num_attention_heads"])) is not None:
        m["rotary_dim"] = rotary
    return m


def _stablelm_rotary_dim(c: HFConfig, head: int) -> int | None:
    """vLLM's rotary table width for StableLM (stablelm.py StablelmAttention, head_dim = hidden /
    heads): int(head_dim x factor) in every release, the factor config.rope_pct, else
    partial_rotary_factor (StableLmConfig default 0.25) on 0.8.0-0.12.0 (0.8.0 :108-110 / :132-136
    as get_rope's rotary_dim; 0.8.5 :108-109 / :130-135, 0.11.2 :122-123 / :152-157 and 0.12.0
    :122-123 / :152-157 as get_rope's partial_rotary_factor), the first non-null of
    partial_rotary_factor, rotary_pct, rotary_emb_fraction from 0.13.0 (:149-153,
    core.rope_parameters_factor): rope_pct is read only before 0.13.0. StableLM-2-1.6B: 0.25 x 64
    = 16."""
    before = rotary_factor(c, "rope_pct")
    if before is None:
        before = rotary_factor(c, "partial_rotary_factor") or 1
    after = rope_parameters_factor(c) or 1
    field = "rope_pct" if c.raw("rope_pct", None) is not None else "partial_rotary_factor"
    return one_rotary_width(c, head, field, {"0.8.0-0.12.0": int(head * before), "0.13.0+": int(head * after)})


def read_minicpm(c: HFConfig) -> dict:
    # MiniCPM (trust_remote_code): a Llama layout; scale_emb / scale_depth / dim_model_base
    # are muP scalars applied to activations (vLLM minicpm.py), no shapes.
    m = base(c)
    c.ignore("scale_emb", "scale_depth", "dim_model_base")
    if c.raw("num_experts", None):
        raise c.error("num_experts: the MiniCPM-MoE variant is not modelled; write a spec by hand")
    return m


def read_orion(c: HFConfig) -> dict:
    # OrionForCausalLM (trust_remote_code): a Llama layout with LayerNorm (weight and bias);
    # max_sequence_length repeats max_position_embeddings.
    m = base(c)
    c.ignore("max_sequence_length")
    m["norm"] = "layernorm"
    return m


def read_olmo2(c: HFConfig) -> dict:
    # Olmo2Config: RMSNorm on q and k over all heads (q_norm: heads x head_dim, k_norm:
    # kv_heads x head_dim), norms after attention and MLP only (two a layer).
    m = base(c)
    bias = c.flag("attention_bias", False)
    m.update(qkv_bias=bias, o_bias=bias, qk_norm=True)
    c.note("q/k norms span all heads (OLMo 2): counted as one head's width each, "
           "a few hundred thousand parameters short")
    return m


def read_olmoe(c: HFConfig) -> dict:
    # OlmoeConfig: OLMo-2-style q/k norms, every layer a MoE of num_experts SwiGLU experts
    # of intermediate_size behind a bias-free router (no shared expert, no dense layer).
    m = read_olmo2(c)
    m["moe"] = c.weights_only(lambda: {
        "num_experts": c.int("num_experts"),
        "experts_per_token": c.int("num_experts_per_tok"),
        "expert_intermediate_size": c.int("intermediate_size"),
    })
    return m


def read_cohere(c: HFConfig) -> dict:
    # CohereConfig (Command R, Aya 23): attention and MLP run in parallel off one
    # LayerNorm (weight only, no bias: CohereLayerNorm), tied embeddings, logit_scale
    # multiplies the logits. use_qk_norm adds per-head q/k LayerNorms.
    m = base(c)
    bias = c.flag("attention_bias", False)
    m.update(qkv_bias=bias, o_bias=bias, norms_per_layer=1, qk_norm=c.flag("use_qk_norm", False))
    c.ignore("logit_scale")
    # vLLM's rotary table (commandr.py CohereAttention, head_dim = hidden / heads): the whole
    # head on 0.8.0-0.12.0 (get_rope(rotary_dim=head_dim): 0.8.0 :169-174, 0.11.2 :178-183,
    # 0.12.0 :176-180), config.rope_parameters from 0.13.0 (0.13.0-0.23.0 :176-181).
    whole_head_before_0_13(c, m["hidden_size"] // m["num_attention_heads"])
    # The rotary table's rows: commandr.py's max_position is model_max_length, else
    # max_position_embeddings (8,192 by default), in SGLang (0.4.6-0.5.8 :171-173, 0.5.22 / 0.5.23
    # :172-174) and vLLM alike (core.rope_max_position).
    m.pop("rope_max_position", None)
    m.update(rope_max_position(m, c.int(("model_max_length", "max_position_embeddings"), default=8192)))
    return m


def read_cohere2(c: HFConfig) -> dict:
    # Cohere2Config (Command R7B): Cohere's layout plus sliding-window layers. Without
    # layer_types, layer i slides when (i + 1) % sliding_window_pattern != 0 (3 local : 1
    # global for pattern 4); vLLM commandr.py reads the same per-layer types. Command R7B's
    # config also keeps its original remote-code keys: layer_switch (the same period),
    # order_of_interleaved_layers, use_parallel_block, use_embedding_sharing (tied
    # embeddings), position_embedding_type / rotary_pct (rotary layout), use_gated_activation
    # (SwiGLU), use_parallel_embedding: read to check they agree with the layout above.
    m = read_cohere(c)
    window = c.window()
    period = c.int(("sliding_window_pattern", "_sliding_window_pattern"), default=4)
    switch = c.raw("layer_switch", None)
    if switch is not None and switch != period:
        raise c.error(f"layer_switch {switch} differs from sliding_window_pattern {period}; write a spec by hand")
    order = c.raw("order_of_interleaved_layers", "local_attn_first")
    if order != "local_attn_first":
        raise c.error(f"order_of_interleaved_layers {order!r}: only local_attn_first (global every "
                      f"{period}th layer) is read")
    for key, want in (("use_parallel_block", True), ("use_gated_activation", True)):
        if c.flag(key, want) != want:
            raise c.error(f"{key} {not want}: that Command R7B variant is not modelled")
    c.ignore("position_embedding_type", "use_embedding_sharing", "use_parallel_embedding")
    m["cache"] = either(hf_layer_types(c, m, window), every_nth_global(m["num_layers"], period, window))
    return m


def read_seed_oss(c: HFConfig) -> dict:
    # SeedOssConfig: biases on q/k/v (attention_bias), o_proj's own attention_out_bias,
    # mlp_bias on the SwiGLU MLP, explicit head_dim.
    m = base(c)
    m.update(qkv_bias=c.flag("attention_bias", True), o_bias=c.flag("attention_out_bias", False),
             mlp_bias=c.flag("mlp_bias", False))
    return m


def read_smollm3(c: HFConfig) -> dict:
    # SmolLM3Config: a Llama layout where every 4th layer skips RoPE (no_rope_layers /
    # no_rope_layer_interval: position encoding only, the cache is the same). vLLM serves
    # SmolLM3ForCausalLM through its Transformers backend (vllm/model_executor/models/
    # registry.py _TRANSFORMERS_SUPPORTED_MODELS), which caches what layer_types says;
    # sliding windows only when use_sliding_window is true.
    m = base(c)
    window = c.window() if c.flag("use_sliding_window", False) else None
    c.ignore("no_rope_layers", "no_rope_layer_interval", "max_window_layers", "sliding_window")
    layout = hf_layer_types(c, m, window)
    if layout is ABSENT and window is not None:
        raise c.error("use_sliding_window true without layer_types: which layers slide is not known; "
                      "write a spec by hand")
    m["cache"] = None if layout is ABSENT else layout
    bias = c.flag("attention_bias", False)
    m.update(qkv_bias=bias, o_bias=bias, mlp_bias=c.flag("mlp_bias", False))
    return m


def _uniform(c: HFConfig, key: str, num_layers: int, default):
    """A per-layer list (Hunyuan's moe_topk, moe_intermediate_size ...) that must hold one
    value for every layer to fit the spec's moe block; a plain value is returned as is."""
    value = c.raw(key, default)
    if isinstance(value, list):
        if len(value) != num_layers or len(set(value)) != 1:
            raise c.error(f"{key} differs across layers ({value}); the moe block holds one value")
        return value[0]
    return value


def read_hunyuan(c: HFConfig) -> dict:
    # HunYuan (A13B; vLLM hunyuan_v1.py HunYuanMoEV1ForCausalLM / HunYuanDenseV1ForCausalLM):
    # head size attention_head_dim, per-head q/k RMSNorm (use_qk_norm). With use_cla
    # (cross-layer attention) layer i reuses the K/V of layer i - i % cla_share_factor
    # (hunyuan_v1.py _get_cla_factor and kv_sharing_target_layer_name). MoE: num_experts
    # experts of moe_intermediate_size, moe_topk per token, num_shared_expert shared MLPs of
    # intermediate_size (use_mixed_mlp_moe); per-layer lists must be uniform.
    m = base(c)
    head_dim = c.raw("attention_head_dim", None)
    if head_dim is not None:
        m["head_dim"] = c.check_int("attention_head_dim", head_dim)
    if c.flag("use_mla", False):
        raise c.error("use_mla true: Hunyuan's MLA variant is not modelled; write a spec by hand")
    for key in ("kv_lora_rank", "q_lora_rank", "qk_nope_head_dim", "qk_rope_head_dim", "v_head_dim"):
        if c.raw(key, None) is not None:
            raise c.error(f"{key} is set while use_mla is false; write a spec by hand")
    if c.raw("norm_type", "rms") != "rms":
        raise c.error(f"norm_type {c.raw('norm_type')!r}: only rms is read")
    n = m["num_layers"]
    if c.flag("use_cla", False):
        factor = c.int("cla_share_factor")
        kinds = {"attention": {"kind": "full_attention"}}
        labels = []
        for i in range(n):
            if i % factor:
                source = i - i % factor
                kinds[f"shared_{source}"] = {"kind": "shared_kv", "source_layer": source}
                labels.append(f"shared_{source}")
            else:
                labels.append("attention")
        m["cache"] = {"kinds": kinds, "layer_types": labels}
    else:
        c.ignore("cla_share_factor")  # only read with use_cla
    m["qk_norm"] = c.flag("use_qk_norm", False)
    bias = c.flag("attention_bias", False)
    m.update(qkv_bias=bias, o_bias=bias, mlp_bias=c.flag("mlp_bias", False))

    def moe() -> dict | None:
        experts = c.raw("num_experts", None)
        if not experts or experts == 1:
            return None
        shared = _uniform(c, "num_shared_expert", n, 0) if c.flag("use_mixed_mlp_moe", False) else 0
        if c.count("moe_layer_num_skipped", 0):
            raise c.error("moe_layer_num_skipped: dense leading layers are not modelled")
        return {
            "num_experts": c.check_int("num_experts", experts),
            "experts_per_token": _uniform(c, "moe_topk", n, 1),
            "expert_intermediate_size": _uniform(c, "moe_intermediate_size", n, None),
            "num_shared_experts": shared,
            "shared_expert_intermediate_size": m.get("intermediate_size"),
        }

    m["moe"] = c.weights_only(moe)
    # A vision tower only when vit_type / vit_path name one (null in the text checkpoints).
    if c.raw("vit_type", None) or c.raw("vit_path", None):
        c.weights_need("vit_type / vit_path (a vision tower kvplan does not count)")
    c.ignore(*[k for k in c.data if k.startswith(("vit_", "anyres_"))])
    # Remote-code extras with no shape in a text checkpoint: token ids of the chat and media
    # markers, the classification / pooling head (off: add_classification_head false),
    # the count of media placeholder embeddings, the untrimmed vocabulary size, xDRoPE
    # (a rotary variant) and use_rotary_pos_emb.
    if c.flag("add_classification_head", False):
        raise c.error("add_classification_head true: a classification checkpoint, not a generator")
    c.ignore("im_start_id", "im_end_id", "im_newline_id", "text_start_id", "text_end_id", "video_start_id",
             "video_end_id", "mask_init_id", "pad_id", "class_num", "pool_type", "dense_list", "skip_cls_token",
             "num_media_embeds", "org_vocab_size", "position_embedding_xdrope", "xdrope_section",
             "use_rotary_pos_emb", "use_mla")
    return m


def read_qwen2_moe(c: HFConfig) -> dict:
    # Qwen2MoeConfig (Qwen1.5-MoE, Qwen2-57B-A14B): Qwen2 attention (q/k/v biases, the
    # same use_sliding_window rule); layer i is sparse when i not in mlp_only_layers and
    # (i + 1) % decoder_sparse_step == 0: num_experts SwiGLU experts of
    # moe_intermediate_size plus one shared expert of shared_expert_intermediate_size
    # behind a sigmoid gate (Qwen2MoeSparseMoeBlock.shared_expert_gate).
    m = read_qwen2(c)
    m["moe"] = qwen_moe(c, shared_expert=True)
    return m


def read_mimo(c: HFConfig) -> dict:
    # MiMoConfig (MiMo-7B): Qwen2's attention and windows plus num_nextn_predict_layers
    # multi-token-prediction layers (vLLM mimo_mtp.py: a speculative draft only).
    m = read_qwen2(c)
    m["qkv_bias"] = c.flag("attention_bias", True)
    _mtp_note(c, "num_nextn_predict_layers")
    c.ignore("use_mrope")  # rotary layout only
    return m


def read_minimax_m2(c: HFConfig) -> dict:
    # MiniMaxM2Config (MiniMax-M2/M2.5, vLLM minimax_m2.py): full attention in every layer
    # (head_dim explicit), RMSNorm over all of q and k (qk_norm_type "per_layer": weights of
    # heads x head_dim and kv_heads x head_dim), every layer a MoE of num_local_experts
    # experts of intermediate_size with a sigmoid router and a correction bias
    # (use_routing_bias); shared_intermediate_size 0 means no shared expert. MTP modules
    # (use_mtp, num_mtp_modules, mtp_transformer_layers) are a speculative draft only.
    m = base(c)
    if (rotary := _minimax_m2_rotary_dim(c, m.get("head_dim") or m["hidden_size"] // m["num_attention_heads"])):
        m["rotary_dim"] = rotary
    if c.raw("qk_norm_type", "per_layer") != "per_layer":
        raise c.error(f"qk_norm_type {c.raw('qk_norm_type')!r}: only per_layer is read")
    m["qk_norm"] = c.flag("use_qk_norm", True)
    c.note("q/k norms span all heads (MiniMax-M2): counted as one head's width each, "
           "under a million parameters short")

    def moe() -> dict:
        if c.count("shared_intermediate_size", 0):
            raise c.error("shared_intermediate_size > 0: a shared expert is not modelled for MiniMax-M2")
        return {
            "num_experts": c.int("num_local_experts"),
            "experts_per_token": c.int("num_experts_per_tok"),
            "expert_intermediate_size": c.int("intermediate_size"),
            "router_bias": c.flag("use_routing_bias", True),
        }

    m["moe"] = c.weights_only(moe)
    _mtp_note(c, "num_mtp_modules")
    c.ignore("use_mtp", "mtp_transformer_layers")
    return m


def _minimax_m2_rotary_dim(c: HFConfig, head: int) -> int | None:
    """vLLM's rotary table width for MiniMax-M2 (minimax_m2.py, from 0.11.1): config.rotary_dim
    as get_rope's rotary_dim on 0.11.1-0.12.0 (0.11.2 :204-209 / :271, 0.12.0 :202-206 / :266);
    from 0.13.0 rope_parameters["partial_rotary_factor"] = rotary_dim / head_dim unless the
    rope_parameters already hold a fraction (0.13.0 :202-207 / :270, 0.15.1 :200-205 / :269,
    0.23.0 :200-205 / :280; core.rope_parameters_factor), int(head_dim x factor) columns. MiniMax-M2.5: 64 of 128.
    Without rope_theta or rope_scaling the 0.13.0+ config has no rope_parameters and the whole
    head is used: refused."""
    rotary = c.raw("rotary_dim", None)
    if rotary is None:
        raise c.error(f"{c.where('rotary_dim')} is required for MiniMax-M2 (vLLM's minimax_m2.py reads it)")
    rotary = c.check_int("rotary_dim", rotary)
    if c.raw("rope_theta", None) is None and c.raw("rope_scaling", None) is None:
        raise c.error(f"{c.where('rope_theta')} is absent: whether vLLM 0.13.0+ narrows MiniMax-M2's rotary table "
                      "to rotary_dim is not read then")
    factor = rope_parameters_factor(c) or rotary / head
    return one_rotary_width(c, head, "rotary_dim", {"0.11.1-0.12.0": rotary, "0.13.0+": int(head * factor)})


def read_glm4_moe(c: HFConfig) -> dict:
    # Glm4MoeConfig (GLM-4.5, 4.6, 4.7; vLLM glm4_moe.py): explicit head_dim, partial
    # rotary, biases on q/k/v (attention_bias), optional per-head q/k norm (use_qk_norm).
    # Layers i >= first_k_dense_replace are MoE: n_routed_experts SwiGLU experts of
    # moe_intermediate_size, n_shared_experts shared ones, a router with an
    # e_score_correction_bias; earlier layers a dense MLP of intermediate_size.
    m = base(c)
    m.update(qkv_bias=c.flag("attention_bias", False), qk_norm=c.flag("use_qk_norm", False))
    m["moe"] = c.weights_only(lambda: {
        "num_experts": c.int("n_routed_experts"),
        "experts_per_token": c.int("num_experts_per_tok"),
        "expert_intermediate_size": c.int("moe_intermediate_size"),
        "num_shared_experts": c.count("n_shared_experts", 0),
        "first_dense_layers": c.count("first_k_dense_replace", 0),
        "router_bias": True,
    })
    _mtp_note(c, "num_nextn_predict_layers")
    # vLLM's rotary table (glm4_moe.py Glm4MoeAttention, head_dim = config.head_dim or hidden /
    # heads): int(head_dim x partial_rotary_factor), Glm4MoeConfig's default 0.5, in every
    # release that has the model: getattr(config, "partial_rotary_factor", 0.5) passed to get_rope
    # on 0.10.0-0.12.0 (0.10.0 :254-261, 0.11.2 :289-296, 0.12.0 :285-291); from 0.13.0
    # config.rope_parameters.setdefault("partial_rotary_factor", 0.5) over the config's own
    # (0.13.0 :285-289, 0.23.0 :275-279; core.rope_parameters_factor). GLM-4.7: 64 of 128.
    head = m.get("head_dim") or m["hidden_size"] // m["num_attention_heads"]
    if rotary_factor(c, "partial_rotary_factor") is None:
        raise c.error(f"{c.where('partial_rotary_factor')} is null: vLLM's glm4_moe.py multiplies it (0.10.0-0.12.0)")
    if (rotary := partial_rotary_dim(c, head)) is not None:
        m["rotary_dim"] = rotary
    return m


# KV-shaping defaults (transformers v4.57.1 models/<m>/configuration_<m>.py __init__):
# num_key_value_heads None (-> num_attention_heads) for Olmo2, Olmoe, Cohere, Cohere2;
# SeedOss 8 and SmolLM3 4 (null -> the heads); StableLm 32, Qwen2Moe 16, Glm4Moe 8 with no
# rule for null (refused). InternLM2, MiniCPM, Orion, HunYuan ("hunyuan"), MiMo and
# MiniMax-M2 configs are remote code kvplan has not read: no default, so a config without
# num_key_value_heads is refused (vLLM's modules read config.num_key_value_heads).
INTERNLM2 = Family(read_internlm2, "InternLM2Config", {"tie_word_embeddings": False})
STABLELM = Family(read_stablelm, "StableLmConfig",
                  {"hidden_size": 2560, "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 32,
                   "tie_word_embeddings": False, "max_position_embeddings": 4096, "partial_rotary_factor": 0.25},
                  null_kv_heads="refuse")
MINICPM = Family(read_minicpm, "MiniCPMConfig", {"tie_word_embeddings": True})
ORION = Family(read_orion, "OrionConfig", {"tie_word_embeddings": False})
OLMO2 = Family(read_olmo2, "Olmo2Config",
               {"hidden_size": 4096, "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": None,
                "tie_word_embeddings": False, "max_position_embeddings": 2048})
OLMOE = Family(read_olmoe, "OlmoeConfig",
               {"hidden_size": 2048, "num_hidden_layers": 16, "num_attention_heads": 16, "num_key_value_heads": None,
                "tie_word_embeddings": False, "max_position_embeddings": 4096, "num_experts": 64,
                "num_experts_per_tok": 8}, ignored=ROUTING)
COHERE = Family(read_cohere, "CohereConfig",
                {"hidden_size": 8192, "num_hidden_layers": 40, "num_attention_heads": 64, "num_key_value_heads": None,
                 "tie_word_embeddings": True, "max_position_embeddings": 8192})
COHERE2 = Family(read_cohere2, "Cohere2Config",
                 {"hidden_size": 8192, "num_hidden_layers": 40, "num_attention_heads": 64, "num_key_value_heads": None,
                  "tie_word_embeddings": True, "max_position_embeddings": 8192, "sliding_window": 4096,
                  "sliding_window_pattern": 4})
SEED_OSS = Family(read_seed_oss, "SeedOssConfig",
                  {"hidden_size": 4096, "num_hidden_layers": 64, "num_attention_heads": 80, "num_key_value_heads": 8,
                   "head_dim": 128, "tie_word_embeddings": False, "max_position_embeddings": 524288})
SMOLLM3 = Family(read_smollm3, "SmolLM3Config",
                 {"hidden_size": 2048, "num_hidden_layers": 36, "num_attention_heads": 16, "num_key_value_heads": 4,
                  "tie_word_embeddings": True, "max_position_embeddings": 32768})
HUNYUAN = Family(read_hunyuan, "HunYuanConfig", {"tie_word_embeddings": True}, ignored=ROUTING)
QWEN2_MOE = Family(
    read_qwen2_moe, "Qwen2MoeConfig",
    {"hidden_size": 2048, "num_hidden_layers": 24, "num_attention_heads": 16, "num_key_value_heads": 16,
     "use_sliding_window": False, "sliding_window": 4096, "max_window_layers": 28, "tie_word_embeddings": False,
     "max_position_embeddings": 32768, "decoder_sparse_step": 1},
    ignored=ROUTING, null_kv_heads="refuse",
)
MIMO = Family(read_mimo, "MiMoConfig",
              {"use_sliding_window": False, "sliding_window": 4096, "max_window_layers": 28,
               "tie_word_embeddings": False, "max_position_embeddings": 32768})
MINIMAX_M2 = Family(read_minimax_m2, "MiniMaxM2Config", {"tie_word_embeddings": False}, ignored=ROUTING)
GLM4_MOE = Family(read_glm4_moe, "Glm4MoeConfig",
                  {"hidden_size": 4096, "num_hidden_layers": 46, "num_attention_heads": 96, "num_key_value_heads": 8,
                   "tie_word_embeddings": False, "first_k_dense_replace": 1, "partial_rotary_factor": 0.5},
                  ignored=ROUTING, null_kv_heads="refuse")
