"""DeepSeek-V2/V3 and Kimi K2: multi-head latent attention, routed + shared experts."""

from __future__ import annotations

from kvplan.hf.core import KV_HEADS, Family, HFConfig, base

#: Expert routing and training settings of DeepSeek configs: they decide which experts a
#: token picks and how the gate is trained, never the shapes (modeling_deepseek.py MoEGate).
ROUTING = frozenset({"n_group", "topk_group", "norm_topk_prob", "routed_scaling_factor", "scoring_func",
                     "topk_method", "ep_size", "seq_aux"})


def read_deepseek(c: HFConfig) -> dict:
    # DeepSeek-V2/V3 and Kimi K2 (DeepseekV3ForCausalLM): multi-head latent attention.
    # The cache holds one latent of kv_lora_rank + qk_rope_head_dim values per token and
    # layer (vLLM's MLA backends; DeepSeek-V2 paper section 2.1). Query/key heads are
    # qk_nope_head_dim + qk_rope_head_dim wide, value heads v_head_dim.
    m = base(c)
    if not any(c.data.get(key) is not None for key in KV_HEADS):
        # MLA caches one latent, not K/V heads, and neither vLLM's MLA attention nor kvplan's
        # MLA shapes read the count; the class default (DeepseekV3Config 128) would only trip
        # the spec's heads-per-KV-head check on Kimi K2's 64 heads, so the heads stand in.
        m["num_kv_heads"] = m["num_attention_heads"]
        c.kv_default = None
    mla = {
        "kv_lora_rank": c.int("kv_lora_rank"),
        "qk_nope_head_dim": c.int("qk_nope_head_dim"),
        "qk_rope_head_dim": c.int("qk_rope_head_dim"),
        "v_head_dim": c.int("v_head_dim"),
    }
    q_lora = c.raw("q_lora_rank", None)  # null in DeepSeek-V2-Lite: queries are not compressed
    if q_lora is not None:
        mla["q_lora_rank"] = c.check_int("q_lora_rank", q_lora)
    m["mla"] = mla
    m["head_dim"] = mla["qk_nope_head_dim"] + mla["qk_rope_head_dim"]
    m["v_head_dim"] = mla["v_head_dim"]
    m["cache"] = {"kinds": {"mla": {"kind": "mla"}}}
    bias = c.flag("attention_bias", False)
    m.update(qkv_bias=bias, o_bias=bias)

    # DeepSeek's modeling_deepseek.py (and vLLM's deepseek_v2.py): layer i is MoE when
    # n_routed_experts is set, i >= first_k_dense_replace and i % moe_layer_freq == 0.
    # Experts and shared experts are SwiGLU MLPs of moe_intermediate_size; with
    # topk_method "noaux_tc" (V3, Kimi K2) the gate carries an e_score_correction_bias
    # of n_routed_experts values.
    def moe() -> dict | None:
        if c.raw("n_routed_experts", None) is None:
            return None
        first = c.count("first_k_dense_replace", 0)
        freq = c.int("moe_layer_freq", default=1)
        if first % freq:
            raise c.error(
                f"moe_layer_freq {freq} with first_k_dense_replace {first} cannot be "
                "expressed as a moe block (first_dense_layers + layer_freq); write the spec by hand"
            )
        return {
            "num_experts": c.int("n_routed_experts"),
            "experts_per_token": c.int("num_experts_per_tok"),
            "expert_intermediate_size": c.int("moe_intermediate_size"),
            "num_shared_experts": c.count("n_shared_experts", 0),
            "first_dense_layers": first,
            "layer_freq": freq,
            "router_bias": c.raw("topk_method", None) == "noaux_tc",
        }

    m["moe"] = c.weights_only(moe)
    mtp = c.count("num_nextn_predict_layers", 0)
    if mtp:
        c.note(
            f"{mtp} multi-token-prediction layer(s) (num_nextn_predict_layers) not planned: "
            "they only serve as a speculative-decoding draft"
        )
    return m


# KV heads (transformers v4.57.1 models/deepseek_v2/configuration_deepseek_v2.py,
# models/deepseek_v3/configuration_deepseek_v3.py): DeepseekV2Config None -> num_attention_heads,
# DeepseekV3Config 128 (null -> the heads). MLA caches a latent, not heads, so only the
# weights read it.
DEEPSEEK_V2 = Family(
    read_deepseek, "DeepseekV2Config",
    {"hidden_size": 4096, "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": None,
     "first_k_dense_replace": 0, "moe_layer_freq": 1, "n_shared_experts": 2, "q_lora_rank": 1536,
     "tie_word_embeddings": False, "max_position_embeddings": 2048},
    ignored=ROUTING,
)
DEEPSEEK_V3 = Family(
    read_deepseek, "DeepseekV3Config",
    {"hidden_size": 7168, "num_hidden_layers": 61, "num_attention_heads": 128, "num_key_value_heads": 128,
     "first_k_dense_replace": 3, "moe_layer_freq": 1, "n_shared_experts": 1, "q_lora_rank": 1536,
     "tie_word_embeddings": False, "max_position_embeddings": 4096},
    ignored=ROUTING,
)
