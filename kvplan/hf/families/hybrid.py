"""Attention + state-space hybrids: Jamba."""

from __future__ import annotations

from kvplan.hf.core import Family, HFConfig, base, full, layout, sliding
from kvplan.hf.families.mamba import time_step_rank


def read_jamba(c: HFConfig) -> dict:
    # JambaConfig.layers_block_type: layer i is attention when i % attn_layer_period ==
    # attn_layer_offset, else Mamba. layers_num_experts: MoE when i % expert_layer_period
    # == expert_layer_offset. Mamba 1 state per layer (StateSpace docstring):
    # d_inner = mamba_expand * hidden_size conv channels x (mamba_d_conv - 1) plus
    # d_inner x mamba_d_state recurrent values. Jamba's attention has no positional
    # encoding.
    m = base(c)
    period, offset = c.int("attn_layer_period"), c.count("attn_layer_offset", 4)
    e_period, e_offset = c.int("expert_layer_period"), c.count("expert_layer_offset", 1)
    for what, p, o in (("attn", period, offset), ("expert", e_period, e_offset)):
        if o >= p:
            raise c.error(f"{what}_layer_offset ({o}) must be smaller than {what}_layer_period ({p})")
    d_inner = c.int("mamba_expand") * m["hidden_size"]
    mamba = {"kind": "state_space", "conv_dim": d_inner, "conv_kernel": c.int("mamba_d_conv"),
             "ssm_heads": d_inner, "ssm_head_dim": 1, "ssm_state_size": c.int("mamba_d_state")}
    # vLLM jamba.py JambaMambaDecoderLayer: a Mamba 1 mixer (kvplan.shapes) with dt_rank
    # mamba_dt_rank, conv bias mamba_conv_bias, in/out_proj bias mamba_proj_bias and
    # weighted RMSNorms on dt, B and C (use_rms_norm=True).
    m["ssm"] = {"type": "mamba1", "time_step_rank": time_step_rank(c, "mamba_dt_rank", m["hidden_size"]),
                "conv_bias": c.flag("mamba_conv_bias", True), "proj_bias": c.flag("mamba_proj_bias", False),
                "dt_norms": "weighted"}
    labels = ["attention" if i % period == offset else "mamba" for i in range(m["num_layers"])]
    window = c.window()
    attention = sliding(window) if window else full()
    m["cache"] = layout({"attention": attention, "mamba": mamba}, labels)
    m["moe"] = c.weights_only(lambda: {
        "num_experts": c.int("num_experts"),
        "experts_per_token": c.int("num_experts_per_tok"),
        "expert_intermediate_size": c.int("intermediate_size"),
        "first_dense_layers": e_offset,
        "layer_freq": e_period,
    })
    m["position_embedding"] = "none"
    return m


# JambaConfig (transformers v4.57.1 models/jamba/configuration_jamba.py): 8 KV heads (null -> the heads).
JAMBA = Family(
    read_jamba, "JambaConfig",
    {"hidden_size": 4096, "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 8,
     "attn_layer_period": 8, "attn_layer_offset": 4, "expert_layer_period": 2, "expert_layer_offset": 1,
     "mamba_dt_rank": "auto", "mamba_conv_bias": True, "mamba_proj_bias": False,
     "num_experts": 16, "num_experts_per_tok": 2, "mamba_d_state": 16, "mamba_d_conv": 4, "mamba_expand": 2,
     "sliding_window": None, "tie_word_embeddings": False, "max_position_embeddings": 262144},
)
