"""GPT-2, OPT and Falcon: LayerNorm, plain (non-gated) MLPs, learned or ALiBi positions."""

from __future__ import annotations

from kvplan.hf.core import HIDDEN, KV_HEADS, Family, HFConfig, base


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
    if new_arch or not multi_query:
        m["num_kv_heads"] = c.int(KV_HEADS, default=m["num_attention_heads"])
    else:
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


FALCON = Family(read_falcon, "FalconConfig", {"tie_word_embeddings": True, "max_position_embeddings": 2048})
GPT2 = Family(read_gpt2, "GPT2Config", {"tie_word_embeddings": True, "n_positions": 1024})
OPT = Family(read_opt, "OPTConfig", {"tie_word_embeddings": True, "max_position_embeddings": 2048})
