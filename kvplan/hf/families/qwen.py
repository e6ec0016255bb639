"""Qwen2/2.5, Qwen3, Qwen3-MoE and Qwen3-Next (Gated DeltaNet hybrid)."""

from __future__ import annotations

from kvplan.hf.core import (ABSENT, Family, HFConfig, base, full, hf_layer_types, layout, partial_rotary_dim,
                            rotary_factor, sliding)


def read_qwen2(c: HFConfig) -> dict:
    # Qwen2Config.__post_init__: sliding_window is dropped unless use_sliding_window is
    # true; then layers i >= max_window_layers slide (layer_types says so explicitly in
    # newer configs). Qwen2 q/k/v projections carry a bias, o_proj does not.
    m = base(c)
    m["qkv_bias"] = True
    m["cache"] = qwen_sliding(c, m)
    return m


def qwen_sliding(c: HFConfig, m: dict) -> dict | None:
    use = c.flag("use_sliding_window", False)
    window = c.window() if use else None
    from_types = hf_layer_types(c, m, window)
    # max_window_layers only counts when use_sliding_window is true (read below then).
    c.ignore("max_window_layers", "sliding_window")
    if from_types is not ABSENT:
        return from_types
    if window is None:
        if not use and c.raw("sliding_window", None) is not None:
            c.note(f"sliding_window {c.raw('sliding_window')} ignored: use_sliding_window is false")
        return None
    first = c.count("max_window_layers", 28)
    if first >= m["num_layers"]:
        c.note(
            f"use_sliding_window is true but max_window_layers ({first}) >= "
            f"num_hidden_layers ({m['num_layers']}): no layer slides"
        )
        return None
    labels = ["attention"] * first + ["sliding"] * (m["num_layers"] - first)
    return layout({"attention": full(), "sliding": sliding(window)}, labels)


def read_qwen3(c: HFConfig) -> dict:
    # Qwen3: explicit head_dim (Qwen3Config default 128, not hidden/heads), RMSNorm on
    # q and k per head (q_norm/k_norm), attention_bias default false.
    m = base(c)
    bias = c.flag("attention_bias", False)
    m.update(qkv_bias=bias, o_bias=bias, qk_norm=True)
    m["cache"] = qwen_sliding(c, m)
    return m


def qwen_moe(c: HFConfig, shared_expert: bool) -> dict | None:
    """The MoE block of Qwen2-MoE, Qwen3-MoE and Qwen3-Next (Qwen*SparseMoeBlock): layer i is
    sparse when i is not in mlp_only_layers and (i + 1) % decoder_sparse_step == 0; routed
    SwiGLU experts of moe_intermediate_size, and with ``shared_expert`` one shared expert of
    shared_expert_intermediate_size behind a sigmoid gate. Weights only: a field it cannot
    express blocks weight figures, not KV sizing."""

    def build() -> dict:
        dense_only = c.raw("mlp_only_layers", None) or []
        if dense_only:
            raise c.error(f"mlp_only_layers {dense_only} cannot be expressed as a moe block "
                          "(first_dense_layers + layer_freq); write the spec by hand")
        step = c.int("decoder_sparse_step", default=1)
        moe = {
            "num_experts": c.int(("num_experts", "num_local_experts")),
            "experts_per_token": c.int("num_experts_per_tok"),
            "expert_intermediate_size": c.int("moe_intermediate_size"),
            "first_dense_layers": step - 1,
            "layer_freq": step,
        }
        if shared_expert:
            moe.update(num_shared_experts=1, shared_expert_gate=True,
                       shared_expert_intermediate_size=c.int("shared_expert_intermediate_size"))
        return moe

    # norm_topk_prob: how the router weighs the chosen experts, not their shapes.
    c.ignore("norm_topk_prob")
    return c.weights_only(build)


def read_qwen3_moe(c: HFConfig) -> dict:
    m = read_qwen3(c)
    m["moe"] = qwen_moe(c, shared_expert=False)
    return m


def read_qwen3_next(c: HFConfig) -> dict:
    # Qwen3NextConfig: without layer_types, layer i is full attention when
    # (i + 1) % full_attention_interval == 0 (default 4), else a Gated DeltaNet
    # ("linear_attention"). Its state (StateSpace docstring): conv over
    # 2 * key_dim + value_dim channels (key_dim = linear_num_key_heads x
    # linear_key_head_dim, value_dim = linear_num_value_heads x linear_value_head_dim)
    # plus a linear_key_head_dim x linear_value_head_dim matrix per value head.
    m = base(c)
    key_dim = c.int("linear_num_key_heads") * c.int("linear_key_head_dim")
    v_heads = c.int("linear_num_value_heads")
    value_dim = v_heads * c.int("linear_value_head_dim")
    linear = {"kind": "state_space", "conv_dim": 2 * key_dim + value_dim,
              "conv_kernel": c.int("linear_conv_kernel_dim"), "ssm_heads": v_heads,
              "ssm_head_dim": c.int("linear_key_head_dim"), "ssm_state_size": c.int("linear_value_head_dim")}
    types = c.layer_types(m["num_layers"])
    interval = c.int("full_attention_interval", default=4)
    if types is None:
        types = ["full_attention" if (i + 1) % interval == 0 else "linear_attention" for i in range(m["num_layers"])]
    names = {"full_attention": "attention", "linear_attention": "linear_attention"}
    for i, t in enumerate(types):
        if t not in names:
            raise c.error(f"layer_types.{i}: {t!r} is not full_attention or linear_attention")
    m["cache"] = layout({"attention": full(), "linear_attention": linear}, [names[t] for t in types])

    m["moe"] = qwen_moe(c, shared_expert=True)
    # Weights (vLLM qwen3_next.py): Qwen3NextAttention's q_proj also produces a sigmoid
    # output gate (2 x heads x head_dim rows, 8,192 for the 80B), per-head q/k norms; the
    # linear-attention layers are Gated DeltaNet mixers (kvplan.shapes).
    m.update(qk_norm=True, attention_output_gate=True, ssm={"type": "gated_deltanet"})
    # vLLM's rotary table (qwen3_next.py Qwen3NextAttention, head_dim = config.head_dim):
    # int(head_dim x partial_rotary_factor), Qwen3NextConfig's default 0.25, in every release
    # that has the model: config.partial_rotary_factor passed to get_rope on 0.10.2-0.12.0
    # (0.10.2 :675-681, 0.11.2 :752-758, 0.12.0 :748-753), config.rope_parameters from 0.13.0
    # (0.13.0 :748, 0.19.1 :253, 0.23.0 :260-265; core.rope_parameters_factor, where
    # partial_rotary_factor comes first). Qwen3-Next-80B-A3B: 64 of 256.
    head = m.get("head_dim") or m["hidden_size"] // m["num_attention_heads"]
    if rotary_factor(c, "partial_rotary_factor") is None:
        raise c.error(f"{c.where('partial_rotary_factor')} is null: vLLM's qwen3_next.py multiplies it (0.10.2-0.12.0)")
    if (rotary := partial_rotary_dim(c, head)) is not None:
        m["rotary_dim"] = rotary
    return m


_QWEN_WINDOW = {"use_sliding_window": False, "sliding_window": 4096, "max_window_layers": 28,
                "tie_word_embeddings": False, "max_position_embeddings": 32768}

# KV-shaping defaults (transformers v4.57.1 models/<m>/configuration_<m>.py __init__):
# Qwen2Config and Qwen3Config 32 KV heads (null: the attention heads); Qwen3MoeConfig 4 and
# Qwen3NextConfig 2, with no rule for null (vLLM 0.19.1's own Qwen3NextConfig copy in
# transformers_utils/configs/qwen3_next.py says the same).
QWEN2 = Family(read_qwen2, "Qwen2Config",
               {"hidden_size": 4096, "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 32,
                **_QWEN_WINDOW})
QWEN3 = Family(read_qwen3, "Qwen3Config",
               {"hidden_size": 4096, "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 32,
                "head_dim": 128, **_QWEN_WINDOW})
QWEN3_MOE = Family(
    read_qwen3_moe, "Qwen3MoeConfig",
    {"hidden_size": 2048, "num_hidden_layers": 24, "num_attention_heads": 32, "num_key_value_heads": 4,
     **_QWEN_WINDOW, "decoder_sparse_step": 1, "moe_intermediate_size": 768, "num_experts_per_tok": 8,
     "num_experts": 128},
    null_kv_heads="refuse",
)
# The text models of Qwen3-VL have classes of their own (models/qwen3_vl/configuration_qwen3_vl.py
# Qwen3VLTextConfig, models/qwen3_vl_moe/configuration_qwen3_vl_moe.py Qwen3VLMoeTextConfig):
# 32 and 16 KV heads (null: the attention heads), no sliding-window keys.
QWEN3_VL_TEXT = Family(
    read_qwen3, "Qwen3VLTextConfig",
    {"hidden_size": 4096, "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 32,
     "head_dim": 128, "tie_word_embeddings": False, "max_position_embeddings": 128000},
)
QWEN3_VL_MOE_TEXT = Family(
    read_qwen3_moe, "Qwen3VLMoeTextConfig",
    {"hidden_size": 2048, "num_hidden_layers": 24, "num_attention_heads": 16, "num_key_value_heads": 16,
     "tie_word_embeddings": False, "max_position_embeddings": 128000, "decoder_sparse_step": 1,
     "moe_intermediate_size": 1408, "num_experts_per_tok": 4, "num_experts": 60},
)
QWEN3_NEXT = Family(
    read_qwen3_next, "Qwen3NextConfig",
    {"hidden_size": 2048, "num_hidden_layers": 48, "num_attention_heads": 16, "num_key_value_heads": 2,
     "head_dim": 256, "linear_conv_kernel_dim": 4, "linear_key_head_dim": 128, "linear_value_head_dim": 128,
     "linear_num_key_heads": 16, "linear_num_value_heads": 32, "decoder_sparse_step": 1,
     "moe_intermediate_size": 512, "shared_expert_intermediate_size": 512, "num_experts_per_tok": 10,
     "num_experts": 512, "tie_word_embeddings": False, "max_position_embeddings": 32768,
     "partial_rotary_factor": 0.25},
    null_kv_heads="refuse",
)
