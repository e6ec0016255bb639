"""BigCode's code models: GPT-BigCode (StarCoder, SantaCoder) and StarCoder2."""

from __future__ import annotations

from kvplan.hf.core import HIDDEN, Family, HFConfig, base, sliding

#: Softmax numerics of the BigCode attention (fp32 upcast, 1/sqrt(d) scaling): no shape.
SOFTMAX_NUMERICS = frozenset({"attention_softmax_in_fp32", "scale_attention_softmax_in_fp32", "scale_attn_weights"})


def read_gpt_bigcode(c: HFConfig) -> dict:
    # GPTBigCodeConfig: n_embd / n_layer / n_head / n_positions, n_inner null -> 4 * n_embd,
    # multi_query default true. vLLM gpt_bigcode.py GPTBigCodeAttention:
    # num_kv_heads = 1 if config.multi_query else num_heads; head_dim = hidden / heads.
    # c_attn carries q plus the (one) K and V head, all with biases; LayerNorm; plain GELU
    # MLP with biases; learned absolute positions (wpe); lm_head tied to wte.
    hidden = c.int(HIDDEN)
    m = base(c, intermediate=4 * hidden)
    if c.flag("multi_query", True):
        m["num_kv_heads"] = 1
    # runner_max_sequence_length: a setting of BigCode's own inference runner, not of the model.
    c.ignore("runner_max_sequence_length")
    m.update(mlp_gated=False, qkv_bias=True, o_bias=True, mlp_bias=True, norm="layernorm",
             position_embedding="learned")
    return m


def read_starcoder2(c: HFConfig) -> dict:
    # Starcoder2Config: sliding_window (4096) is applied to every layer: vLLM
    # starcoder2.py builds each Starcoder2Attention's Attention with
    # per_layer_sliding_window=config.sliding_window. use_bias puts biases on q/k/v/o and on
    # the plain (c_fc, c_proj) MLP; norm_type layer_norm (with bias).
    m = base(c)
    window = c.window()
    if window is not None:
        m["cache"] = {"kinds": {"sliding": sliding(window)}}
    norm = c.raw("norm_type", "layer_norm")
    mlp = c.raw("mlp_type", "default")
    if norm != "layer_norm" or mlp != "default":
        raise c.error(f"norm_type {norm!r} / mlp_type {mlp!r}: only layer_norm / default are read "
                      "(the shapes of other variants are not known to kvplan)")
    bias = c.flag("use_bias", True)
    m.update(mlp_gated=False, qkv_bias=bias, o_bias=bias, mlp_bias=bias, norm="layernorm")
    return m


# transformers v4.57.1 models/gpt_bigcode/configuration_gpt_bigcode.py: no KV-head key,
# multi_query (default true) decides: 1 KV head, else the heads (vLLM 0.19.1
# gpt_bigcode.py:77-83); a KV-head key a config states anyway must agree (core.check_kv_heads). Starcoder2Config
# (models/starcoder2/configuration_starcoder2.py): 2 KV heads, no rule for null (refused).
GPT_BIGCODE = Family(read_gpt_bigcode, "GPTBigCodeConfig",
                     {"n_embd": 768, "n_layer": 12, "n_head": 12, "tie_word_embeddings": True, "n_positions": 1024},
                     ignored=SOFTMAX_NUMERICS,
                     kv_heads_from="1 with multi_query, else num_attention_heads (vLLM's gpt_bigcode.py)")
STARCODER2 = Family(read_starcoder2, "Starcoder2Config",
                    {"hidden_size": 3072, "num_hidden_layers": 30, "num_attention_heads": 24, "num_key_value_heads": 2,
                     "tie_word_embeddings": True, "max_position_embeddings": 4096, "sliding_window": None},
                    ignored=SOFTMAX_NUMERICS, null_kv_heads="refuse")
