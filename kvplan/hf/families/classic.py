"""GPT-2, OPT and Falcon: LayerNorm, plain (non-gated) MLPs, learned or ALiBi positions."""

from __future__ import annotations

from kvplan.hf.core import HIDDEN, Family, HFConfig, base, vllm_multi_head


def read_falcon(c: HFConfig) -> dict:
    # FalconConfig (transformers v4.57.1 models/falcon/configuration_falcon.py:144-190):
    # new_decoder_architecture default false, multi_query true, num_kv_heads None -> the heads.
    return _falcon(c, c.flag("new_decoder_architecture", False), "num_kv_heads")


def read_refined_web(c: HFConfig) -> dict:
    # The original RefinedWeb (falcon-40b) / RefinedWebModel (falcon-7b) configs, which vLLM
    # loads with its own RWConfig (vllm/transformers_utils/configs/falcon.py, 0.19.1):
    # new_decoder_architecture and parallel_attn default false (lines 52-53), and "if
    # self.hidden_size == 8192: ... new_decoder_architecture = True" (lines 77-79, the
    # falcon-40b hack), whatever the model_type. A file that says false there is refused:
    # vLLM would build the new architecture over weights the file says are the old one.
    hidden = c.int(HIDDEN)
    if hidden == 8192:
        if c.raw("new_decoder_architecture", None) is False:
            raise c.error("new_decoder_architecture false with hidden_size 8192: vLLM's RWConfig builds the new "
                          "architecture for every 8192-wide RefinedWeb model; which one the weights hold is not known")
        c.ignore("new_decoder_architecture")
        return _falcon(c, True, "n_head_kv")
    return _falcon(c, c.flag("new_decoder_architecture", False), "n_head_kv")


def _falcon(c: HFConfig, new_arch: bool, kv_key: str) -> dict:
    # KV heads (vLLM 0.19.1 model_executor/models/falcon.py:116-121 FalconAttention;
    # transformers v4.57.1 modeling_falcon.py:216-227 FalconAttention):
    #   new_decoder_architecture: the class's KV-head key (``kv_key``; base() reads it);
    #   else multi_query: 1 KV head, whatever the key says (Falcon-7B's file also says
    #     num_kv_heads 71: noted, not used);
    #   else multi-head: the attention heads. A key that says otherwise is refused: vLLM
    #     builds the heads, while transformers fuses 3 x hidden_size (line 221) and views K/V
    #     with num_kv_heads heads (lines 300-308), which fails for any other count.
    # ffn_hidden_size defaults to 4 * hidden_size, max_position_embeddings to 2048
    # (FalconConfig). Plain GELU MLP (dense_h_to_4h, dense_4h_to_h), LayerNorm.
    multi_query = c.flag("multi_query", True)
    hidden = c.int(HIDDEN)
    m = base(c, intermediate=4 * hidden)
    stated = c.data.get(kv_key)
    if not new_arch:
        c.kv_default = None  # the count is the architecture's, not a class default
        if multi_query:
            m["num_kv_heads"] = 1
            if stated not in (None, 1):
                c.note(f"{kv_key} {stated} ignored: multi_query without new_decoder_architecture means 1 KV head")
        else:
            m["num_kv_heads"] = heads = m["num_attention_heads"]
            if stated is not None and stated != heads:
                raise c.error(f"{c.where(kv_key)} {stated} with multi_query and new_decoder_architecture false: "
                              f"that Falcon attention has one K/V head per query head ({heads}); remove {kv_key} "
                              "or fix the flags")
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
# FalconConfig num_kv_heads None -> num_attention_heads. The original RefinedWeb /
# RefinedWebModel configs are loaded by vLLM 0.19.1 with its own RWConfig
# (vllm/transformers_utils/configs/falcon.py:49,71): "1 if n_head_kv is None", so an absent
# or null n_head_kv is 1 KV head there; parallel_attn defaults to false (line 52).
# GPT2Config and OPTConfig have no KV-head key and neither model reads one: vLLM 0.19.1
# gpt2.py:73-100 (GPT2Attention: QKVParallelLinear(hidden, head_dim, num_attention_heads),
# Attention(num_heads, ...)) and opt.py:86-110 (OPTAttention, num_heads =
# config.num_attention_heads at line 140) build multi-head attention, as transformers'
# GPT2Attention / OPTAttention do; a config stating another count is refused
# (core.check_kv_heads): it is not a GPT-2 / OPT any engine here builds.
FALCON = Family(read_falcon, "FalconConfig",
                {"hidden_size": 4544, "num_hidden_layers": 32, "num_attention_heads": 71, "num_kv_heads": None,
                 "tie_word_embeddings": True, "max_position_embeddings": 2048})
REFINED_WEB = Family(read_refined_web, "RWConfig",
                     {"n_head_kv": 1, "parallel_attn": False, "tie_word_embeddings": True,
                      "max_position_embeddings": 2048}, null_kv_heads=1)
GPT2 = Family(read_gpt2, "GPT2Config",
              {"n_embd": 768, "n_layer": 12, "n_head": 12, "tie_word_embeddings": True, "n_positions": 1024},
              kv_heads_from=vllm_multi_head("gpt2.py"))
OPT = Family(read_opt, "OPTConfig",
             {"hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12, "tie_word_embeddings": True,
              "max_position_embeddings": 2048},
             kv_heads_from=vllm_multi_head("opt.py"))
