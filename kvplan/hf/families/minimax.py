"""MiniMax-Text-01 / MiniMax-M1: lightning (linear) attention with a softmax-attention
layer every few layers (attn_type_list)."""

from __future__ import annotations

from kvplan.hf.core import Family, HFConfig, base, full, layout, one_rotary_width


def read_minimax_text_01(c: HFConfig) -> dict:
    # vLLM minimax_text_01.py (MiniMaxText01ForCausalLM, also for MiniMaxM1ForCausalLM):
    # attn_type_list[i] 0 is a MiniMaxText01LinearAttention layer, 1 a softmax attention
    # layer with num_key_value_heads heads of head_dim. A linear layer keeps one
    # head_dim x head_dim matrix per attention head (MambaStateShapeCalculator.
    # linear_attention_state_shape), in the model dtype (linear_attention_state_dtype),
    # and nothing per token: kvplan.layers.StateSpace with no conv part.
    m = base(c)
    n = m["num_layers"]
    types = c.raw("attn_type_list", None)
    if not isinstance(types, list) or len(types) != n or any(t not in (0, 1) for t in types):
        raise c.error(f"attn_type_list must hold 0 (linear) or 1 (softmax) for each of the {n} layers")
    head_dim = m.get("head_dim") or m["hidden_size"] // m["num_attention_heads"]
    linear = {"kind": "state_space", "conv_dim": 0, "conv_kernel": 1, "ssm_heads": m["num_attention_heads"],
              "ssm_head_dim": head_dim, "ssm_state_size": head_dim}
    m["cache"] = layout({"linear": linear, "attention": full()}, ["attention" if t else "linear" for t in types])
    if c.window() is not None:
        raise c.error("sliding_window is set: MiniMax with sliding attention is not modelled")
    # The deepnorm-style residual scales (layernorm_*_alpha/beta) and postnorm: numerics;
    # shared_moe_mode: how the shared MLP's output is mixed in.
    c.ignore(*[k for k in c.data if k.startswith("layernorm_") and k.endswith(("_alpha", "_beta"))], "postnorm",
             "shared_moe_mode")
    # Weights (vLLM minimax_text_01.py): linear layers run the lightning-attention mixer
    # (kvplan.shapes), softmax layers bias-free q/k/v/o; every layer two RMSNorms and a
    # MiniMaxText01MoE (bias-free fp32 router, SwiGLU experts of intermediate_size), plus,
    # when shared_intermediate_size > 0, a SwiGLU shared MLP and its fp32 coefficient
    # Linear(hidden, 1) (kvplan's shared expert gate).
    m["ssm"] = {"type": "lightning"}
    m["moe"] = c.weights_only(lambda: _minimax_moe(c))
    if (rotary := _rotary_dim(c, head_dim)) is not None:
        m["rotary_dim"] = rotary
    return m


def _rotary_dim(c: HFConfig, head_dim: int) -> int | None:
    """vLLM's rotary table width for the softmax layers (minimax_text_01.py, from 0.8.3):
    config.rotary_dim when the config has one, else head_dim, as the rotary_dim of the model's own
    MiniMaxText01RotaryEmbedding on 0.8.3-0.10.1.1 (0.8.3 :617 / :849-856, 0.10.1.1 :720 /
    :979-986) and of get_rope on 0.10.2-0.12.0 (0.10.2 :250 / :323, 0.12.0 :246 / :325); from
    0.13.0 rope_parameters["partial_rotary_factor"] = rotary_dim / head_dim, overwriting any
    fraction the config holds (0.13.0 :291 / :250, 0.23.0 :299-300 / :260), int(head_dim x
    factor) columns. MiniMax-M1 / Text-01: 64 of 128. The table is float32 in every release
    (kvplan.engines.vllm.FP32_ROPE_ARCHITECTURES)."""
    rotary = c.raw("rotary_dim", None)
    if rotary is None:
        return None
    rotary = c.check_int("rotary_dim", rotary)
    return one_rotary_width(c, head_dim, "rotary_dim",
                            {"0.8.3-0.12.0": rotary, "0.13.0+": int(head_dim * (rotary / head_dim))})


def _minimax_moe(c: HFConfig) -> dict | None:
    experts, shared = c.raw("num_local_experts", None), c.raw("shared_intermediate_size", 0)
    if isinstance(experts, list) or isinstance(shared, list):
        raise c.error("per-layer num_local_experts / shared_intermediate_size lists are not modelled")
    if experts == 1:  # expert_num 1: a plain MiniMaxText01MLP of intermediate_size, no router
        c.ignore("num_experts_per_tok", "shared_intermediate_size")
        return None
    moe = {"num_experts": c.int("num_local_experts"), "experts_per_token": c.int("num_experts_per_tok"),
           "expert_intermediate_size": c.int("intermediate_size")}
    if c.count("shared_intermediate_size", 0):
        moe.update(num_shared_experts=1, shared_expert_intermediate_size=c.int("shared_intermediate_size"),
                   shared_expert_gate=True)
    return moe


#: Remote code (MiniMaxText01Config is not transformers' MiniMaxConfig): its KV-head default is
#: not known to kvplan, so a config without num_key_value_heads is refused.
MINIMAX_TEXT_01 = Family(read_minimax_text_01, "MiniMaxText01Config", {"tie_word_embeddings": False})
