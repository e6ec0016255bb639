"""GPT-2, OPT and Falcon: LayerNorm, plain (non-gated) MLPs, learned or ALiBi positions."""

from __future__ import annotations

from kvplan.hf.core import HIDDEN, Family, HFConfig, base


def read_falcon(c: HFConfig) -> dict:
    # Falcon (modeling_falcon.FalconAttention): num_kv_heads = config.num_kv_heads if
    # (new_decoder_architecture or not multi_query) else 1. Falcon-7B: multi_query, old
    # architecture -> 1 KV head even where the file also says num_kv_heads: 71;
    # Falcon-40B: new architecture -> num_kv_heads (8). The original RefinedWeb /
    # RefinedWebModel configs (n_head, n_head_kv, no new_decoder_architecture key) map as
    # NeMo's converter maps them: RefinedWeb is the new architecture, RefinedWebModel the
    # old one. ffn_hidden_size defaults to 4 * hidden_size, max_position_embeddings to
    # 2048 (FalconConfig). Plain GELU MLP (dense_h_to_4h, dense_4h_to_h), LayerNorm.
    model_type = str(c.data.get("model_type", ""))
    new_arch = c.flag("new_decoder_architecture", model_type == "RefinedWeb")
    multi_query = c.flag("multi_query", True)
    hidden = c.int(HIDDEN)
    m = base(c, intermediate=4 * hidden)
    if multi_query and not new_arch:  # else the count base() read stands
        m["num_kv_heads"] = 1
        if c.raw("num_kv_heads", None) not in (None, 1):
            c.note(
                f"num_kv_heads {c.raw('num_kv_heads')} ignored: multi_query without "
                "new_decoder_architecture means 1 KV head"
            )
    bias = c.flag("bias", False)
    # FalconDecoderLayer: parallel_attn with the new architecture uses two norms (ln_attn,
    # ln_mlp; num_ln_in_parallel_attn defaults to 2 there), the old one a single
    # input_layernorm; sequential attention + MLP uses two.
    parallel = c.flag("parallel_attn", True)
    if parallel:
        norms = c.int("num_ln_in_parallel_attn", default=2 if new_arch else 1)
    else:
        norms = 2
    m.update(
        mlp_gated=False, qkv_bias=bias, o_bias=bias, mlp_bias=bias, norm="layernorm",
        norms_per_layer=norms, position_embedding="alibi" if c.flag("alibi", False) else "rope",
    )
    return m


def read_gpt2(c: HFConfig) -> dict:
    # GPT2Config: n_inner null -> 4 * n_embd; learned absolute positions (wpe) of
    # n_positions rows; LayerNorm; Conv1D projections with biases; plain GELU MLP;
    # lm_head tied to wte. n_ctx is an old duplicate of n_positions (GPT2Config keeps it
    # only for backward compatibility).
    hidden = c.int(HIDDEN)
    m = base(c, intermediate=4 * hidden)
    c.ignore("n_ctx")
    m.update(mlp_gated=False, qkv_bias=True, o_bias=True, mlp_bias=True, norm="layernorm",
             position_embedding="learned")
    return m


def read_opt(c: HFConfig) -> dict:
    # OPT: learned positions with 2 extra rows (OPTLearnedPositionalEmbedding offset = 2),
    # LayerNorm, plain ReLU MLP of ffn_dim, biases everywhere (enable_bias, default
    # true), lm_head tied to embed_tokens.
    m = base(c)
    bias = c.flag("enable_bias", True)
    m.update(mlp_gated=False, qkv_bias=bias, o_bias=bias, mlp_bias=bias, norm="layernorm",
             position_embedding="learned", position_offset=2)
    proj = c.raw("word_embed_proj_dim", None)
    if proj is not None and proj != m["hidden_size"]:
        c.weights_need(
            f"word_embed_proj_dim {proj} != hidden_size {m['hidden_size']} (the embedding's "
            "project_in/project_out are not counted)"
        )
    return m


# KV heads when the key is absent (transformers v4.57.1 models/<m>/configuration_<m>.py):
# FalconConfig num_kv_heads None -> num_attention_heads. GPT2Config and OPTConfig have no
# KV-head key: every layer is multi-head (vLLM gpt2.py / opt.py build heads K/V heads), so
# None (= the heads). The original RefinedWeb / RefinedWebModel configs are loaded by vLLM
# 0.19.1 with its own RWConfig (vllm/transformers_utils/configs/falcon.py): n_head_kv
# "1 if n_head_kv is None", so an absent or null n_head_kv is 1 KV head there.
FALCON = Family(read_falcon, "FalconConfig",
                {"hidden_size": 4544, "num_hidden_layers": 32, "num_attention_heads": 71, "num_kv_heads": None,
                 "tie_word_embeddings": True, "max_position_embeddings": 2048})
REFINED_WEB = Family(read_falcon, "RWConfig",
                     {"n_head_kv": 1, "tie_word_embeddings": True, "max_position_embeddings": 2048}, null_kv_heads=1)
GPT2 = Family(read_gpt2, "GPT2Config",
              {"n_embd": 768, "n_layer": 12, "n_head": 12, "num_key_value_heads": None, "tie_word_embeddings": True,
               "n_positions": 1024})
OPT = Family(read_opt, "OPTConfig",
             {"hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12, "num_key_value_heads": None,
              "tie_word_embeddings": True, "max_position_embeddings": 2048})
