"""gpt-oss."""

from __future__ import annotations

from kvplan.hf.core import Family, HFConfig, base, either, every_nth_global, hf_layer_types


def read_gpt_oss(c: HFConfig) -> dict:
    # gpt-oss: layer_types alternates sliding_attention (window 128) and full_attention
    # (GptOssConfig's default when absent: even layers slide). Attention projections carry
    # biases (attention_bias, default true) and a learned sink logit per head
    # (GptOssAttention.sinks). Every layer is MoE: num_local_experts SwiGLU experts of
    # intermediate_size with biases (gate_up_proj_bias, down_proj_bias), and a router
    # Linear with a bias (GptOssTopKRouter.bias).
    m = base(c)
    window = c.window()
    m["cache"] = either(hf_layer_types(c, m, window), every_nth_global(m["num_layers"], 2, window))
    bias = c.flag("attention_bias", True)
    m.update(qkv_bias=bias, o_bias=bias, attention_sinks=True)
    m["moe"] = c.weights_only(lambda: {
        "num_experts": c.int(("num_local_experts", "num_experts")),
        "experts_per_token": c.int(("num_experts_per_tok", "experts_per_token")),
        "expert_intermediate_size": c.int("intermediate_size"),
        "router_bias": True,
        "expert_bias": True,
    })
    return m


GPT_OSS = Family(
    read_gpt_oss, "GptOssConfig",
    # transformers v4.57.1 models/gpt_oss/configuration_gpt_oss.py: 8 KV heads (null -> the heads).
    {"hidden_size": 2880, "num_hidden_layers": 36, "num_attention_heads": 64, "num_key_value_heads": 8,
     "head_dim": 64, "sliding_window": 128, "tie_word_embeddings": False, "max_position_embeddings": 131072,
     "num_experts_per_tok": 4, "num_local_experts": 128},
)
