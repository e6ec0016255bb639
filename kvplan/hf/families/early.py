"""Decoders with their own key names, from before the Llama layout settled: GPT-J, Phi-1/2,
Qwen (v1), ChatGLM2/3, DBRX and Baichuan."""

from __future__ import annotations

from kvplan.hf.core import (HIDDEN, Family, HFConfig, base, one_rotary_width, rotary_factor, vllm_multi_head,
                            whole_head_before_0_13)


def _head_dim_must_be_hidden_over_heads(c: HFConfig, m: dict, key: str) -> None:
    """vLLM derives these models' head size as hidden_size // num_heads; a config whose
    ``key`` says otherwise is refused rather than planned with either value."""
    given = c.raw(key, None)
    derived = m["hidden_size"] // m["num_attention_heads"]
    if given is not None and c.check_int(key, given) != derived:
        raise c.error(f"{c.where(key)} {given} differs from hidden_size / heads = {derived}, which vLLM uses "
                      "for this model; write a spec by hand")


def read_gptj(c: HFConfig) -> dict:
    # GPTJConfig: n_inner null -> 4 * n_embd. GPTJBlock runs attention and MLP in parallel
    # off one LayerNorm (ln_1); q/k/v/out_proj have no bias, fc_in/fc_out have; lm_head
    # is an untied Linear with a bias. Rotary on the first rotary_dim channels (vLLM gpt_j.py).
    hidden = c.int(HIDDEN)
    m = base(c, intermediate=4 * hidden)
    # rotary: always true for GPT-J checkpoints (rotary frequencies only); scale_attn_weights:
    # the 1/sqrt(head_dim) factor.
    c.ignore("rotary", "scale_attn_weights")
    m.update(mlp_gated=False, qkv_bias=False, o_bias=False, mlp_bias=True, norm="layernorm", norms_per_layer=1)
    if "vocab_size" in m:
        m["extra_params"] = {"lm_head.bias": m["vocab_size"]}
    if (rotary := _gptj_rotary_dim(c, m["hidden_size"] // m["num_attention_heads"])) is not None:
        m["rotary_dim"] = rotary
    return m


def _gptj_rotary_dim(c: HFConfig, head: int) -> int | None:
    """vLLM's rotary table width for GPT-J (gpt_j.py GPTJAttention, head_size = hidden / heads):
    config.rotary_dim (GPTJConfig default 64), passed as get_rope's rotary_dim on 0.8.0-0.12.0
    (0.8.0 :84-91, 0.9.2 :86-92, 0.11.2 :97-102, 0.12.0 :97-101); from 0.13.0 as
    rope_parameters["partial_rotary_factor"] = rotary_dim / head_size (0.13.0-0.23.0 :97-101),
    which get_rope turns back into int(head_size x factor) (core.rope_parameters_factor cites
    it). GPT-J-6B: 64 of 256 either way. Odd or missing widths fail vLLM's assert."""
    rotary = c.raw("rotary_dim", None)
    if rotary is None or c.check_int("rotary_dim", rotary) % 2:
        raise c.error(f"{c.where('rotary_dim')} must be an even number of channels (vLLM's gpt_j.py asserts it), "
                      f"got {rotary!r}")
    return one_rotary_width(c, head, "rotary_dim",
                            {"0.8.0-0.12.0": rotary, "0.13.0+": int(head * (rotary / head))})


def read_phi(c: HFConfig) -> dict:
    # PhiConfig (Phi-1, Phi-1.5, Phi-2): parallel attention + MLP off one LayerNorm
    # (input_layernorm), q/k/v/dense with biases, plain fc1/fc2 MLP with biases, a final
    # LayerNorm and an lm_head with a bias (vLLM phi.py: ParallelLMHead(..., bias=True)).
    # qk_layernorm adds LayerNorms over q and k per head.
    m = base(c)
    if c.flag("qk_layernorm", False):
        raise c.error("qk_layernorm true: the extra per-head LayerNorms are not modelled; write a spec by hand")
    m.update(mlp_gated=False, qkv_bias=True, o_bias=True, mlp_bias=True, norm="layernorm", norms_per_layer=1)
    if "vocab_size" in m:
        m["extra_params"] = {"lm_head.bias": m["vocab_size"]}
    if (rotary := _phi_rotary_dim(c, m["hidden_size"] // m["num_attention_heads"])) is not None:
        m["rotary_dim"] = rotary
    return m


def _phi_rotary_dim(c: HFConfig, head: int) -> int | None:
    """vLLM's rotary table width for Phi-1/1.5/2 (phi.py PhiAttention, head_size = hidden /
    heads): int(partial_rotary_factor x head_size), PhiConfig's default factor 0.5, in every
    release: computed in phi.py and passed as get_rope's rotary_dim on 0.8.0-0.12.0 (0.8.0
    :102-116, 0.9.2 :103-113, 0.11.2 :112-125, 0.12.0 :112-121); from 0.13.0 get_rope takes the
    factor from config.rope_parameters (phi.py :113-117; core.rope_parameters_factor), where
    partial_rotary_factor comes first. Phi-2: 0.4 x 80 = 32. A null factor fails 0.8.0-0.12.0."""
    factor = rotary_factor(c, "partial_rotary_factor")
    if factor is None:
        raise c.error(f"{c.where('partial_rotary_factor')} is null: vLLM's phi.py multiplies it (0.8.0-0.12.0)")
    return one_rotary_width(c, head, "partial_rotary_factor", {"0.8.0+": int(factor * head)})


def read_qwen(c: HFConfig) -> dict:
    # QWenConfig (Qwen-1.8B/7B/14B/72B, trust_remote_code): multi-head attention with a
    # fused c_attn (bias) and a bias-free c_proj; kv_channels is the head size, and vLLM
    # qwen.py uses hidden_size // num_heads, so the two must agree. The MLP's
    # intermediate_size counts both halves of the gated pair (QWenMLP: w1, w2 of
    # intermediate_size // 2, c_proj back). seq_length is the context length.
    m = base(c)
    _head_dim_must_be_hidden_over_heads(c, m, "kv_channels")
    if "intermediate_size" in m:
        m["intermediate_size"] //= 2
    # bf16 / fp16 / fp32: the flags remote code used to pick a dtype; torch_dtype (absent in
    # Qwen v1 configs) decides here. use_dynamic_ntk / use_logn_attn rescale attention
    # scores at long context; scale_attn_weights is the 1/sqrt(d) factor: no shapes.
    c.ignore("bf16", "fp16", "fp32", "use_dynamic_ntk", "use_logn_attn", "scale_attn_weights", "seq_length",
             "rotary_emb_base")
    bias = not c.flag("no_bias", True)
    m.update(qkv_bias=True, o_bias=bias, mlp_bias=bias)
    # vLLM's rotary table (qwen.py QWenAttention): the whole head on 0.8.0-0.12.0 (get_rope's
    # rotary_dim=head_dim: 0.8.0 :109-115, 0.11.2 :116-121, 0.12.0 :115-119); from 0.13.0
    # get_rope reads config.rope_parameters (0.13.0 :115, 0.23.0 :124-128), where rotary_pct lands
    # (core.rope_parameters_factor). Qwen v1 configs say rotary_pct 1.0: the whole head both ways.
    whole_head_before_0_13(c, m["hidden_size"] // m["num_attention_heads"])
    return m


def read_chatglm(c: HFConfig) -> dict:
    # ChatGLMConfig (ChatGLM2/3, GLM-4-9B-chat, trust_remote_code): num_layers, kv heads =
    # multi_query_group_num when multi_query_attention else num_attention_heads; head size
    # kv_channels, which vLLM chatglm.py takes as hidden_size // num_heads (so they must
    # agree). ffn_hidden_size is the width of the SwiGLU pair (dense_h_to_4h is 2x that).
    # Vocabulary rows: padded_vocab_size (embedding and output_layer). Biases on q/k/v only
    # when add_qkv_bias; on the dense layers when add_bias_linear. seq_length: context.
    m = base(c)
    if c.flag("multi_query_attention", False):
        m["num_kv_heads"] = c.int("multi_query_group_num")
    else:
        c.ignore("multi_query_group_num")  # unused without multi_query_attention (vLLM chatglm.py:63-67)
    _head_dim_must_be_hidden_over_heads(c, m, "kv_channels")
    vocab = c.int("padded_vocab_size", default=None)
    if vocab is not None:
        m["vocab_size"] = vocab
    if not c.flag("rmsnorm", True) or not c.flag("post_layer_norm", True):
        raise c.error("rmsnorm / post_layer_norm false: that ChatGLM variant is not modelled; write a spec by hand")
    # apply_query_key_layer_scaling / attention_softmax_in_fp32 / fp32_residual_connection:
    # numerics; original_rope: the rotary layout (half of each head rotated).
    c.ignore("apply_query_key_layer_scaling", "attention_softmax_in_fp32", "fp32_residual_connection",
             "original_rope", "bias_dropout_fusion", "seq_length")
    linear_bias = c.flag("add_bias_linear", False)
    m.update(qkv_bias=c.flag("add_qkv_bias", False), o_bias=linear_bias, mlp_bias=linear_bias)
    # vLLM's rotary table (chatglm.py GLMAttention): half of each head in every release, whatever
    # the config says: get_rope(rotary_dim=head_dim // 2) on 0.8.0-0.12.0 (0.8.0 :93-95, 0.11.2
    # :105-107, 0.12.0 :106-108), its own rope_parameters {"partial_rotary_factor": 0.5} from
    # 0.13.0 (0.13.0-0.23.0 :102-113, int(head x 0.5)). ChatGLM3-6B: 64 of 128. Rotary-width keys
    # in the config are not read by it.
    m["rotary_dim"] = m["hidden_size"] // m["num_attention_heads"] // 2
    c.ignore("partial_rotary_factor", "rotary_pct", "rotary_emb_fraction", "rotary_dim")
    return m


def read_dbrx(c: HFConfig) -> dict:
    # DbrxConfig: d_model / n_heads / n_layers / max_seq_len at the top, attention sizes in
    # attn_config (kv_n_heads), experts in ffn_config. vLLM dbrx.py: head_dim = d_model /
    # n_heads, kv heads = attn_config.kv_n_heads, every layer a MoE of moe_num_experts GLU
    # experts (w1, v1, w2) of ffn_hidden_size, router Linear without bias. No biases; its
    # LayerNorms have a weight and no bias, which the spec's weight-only norm counts exactly.
    # attn_config.kv_n_heads: DbrxAttentionConfig's default is 1 (transformers v4.57.1
    # models/dbrx/configuration_dbrx.py:50; the same in vLLM's own copy of 0.8.0-0.10.0,
    # transformers_utils/configs/dbrx.py:42, line 43 from 0.9.1), and DbrxConfig builds that
    # class from a missing attn_config (configuration_dbrx.py:199-200): absent means 1 KV
    # head. A null stays None there and no attention can be built: refused.
    attn = c.sub("attn_config")
    ffn = c.sub("ffn_config")
    if ffn is None:
        raise c.error("ffn_config is required for model_type 'dbrx'")
    heads = c.int("n_heads")
    if attn is None:
        kv = 1
        c.kv_default = (c.where("attn_config.kv_n_heads"), 1, "DbrxAttentionConfig")
    elif attn.has("kv_n_heads"):
        if attn.data["kv_n_heads"] is None:
            raise c.error(f"{attn.where('kv_n_heads')} is null, which DbrxAttentionConfig keeps as None (it has no "
                          "rule for it): give the number of KV heads")
        kv = attn.int("kv_n_heads")
    else:
        kv = 1
        c.kv_default = (attn.where("kv_n_heads"), 1, "DbrxAttentionConfig")
    m = {"num_layers": c.int("n_layers"), "hidden_size": c.int(HIDDEN), "num_attention_heads": heads,
         "num_kv_heads": kv, "max_position_embeddings": c.int("max_seq_len")}
    vocab = c.int("vocab_size", default=None)
    if vocab is not None:
        m["vocab_size"] = vocab
    # clip_qkv clamps q/k/v values; rope_theta: rotary frequencies; attn_pdrop: training.
    if attn is not None:
        attn.ignore("clip_qkv", "rope_theta", "model_type", "attn_pdrop")
    m["intermediate_size"] = ffn.int("ffn_hidden_size")
    m["moe"] = c.weights_only(lambda: {
        "num_experts": ffn.int("moe_num_experts"),
        "experts_per_token": ffn.int("moe_top_k"),
        "expert_intermediate_size": ffn.int("ffn_hidden_size"),
    })
    # moe_jitter_eps / moe_loss_weight / moe_normalize_expert_weights: routing and training.
    ffn.ignore("moe_jitter_eps", "moe_loss_weight", "moe_normalize_expert_weights", "model_type",
               "ffn_act_fn")
    c.ignore("emb_pdrop", "resid_pdrop", "router_aux_loss_coef")
    return m


def read_baichuan(c: HFConfig) -> dict:
    # Baichuan / Baichuan2 (trust_remote_code): multi-head attention through one fused,
    # bias-free W_pack; SwiGLU MLP. vLLM baichuan.py uses rotary positions when hidden_size
    # is 4096 (the 7B models) and ALiBi otherwise (13B): the cache is the same either way.
    # Baichuan2's lm_head is a NormHead (one weight matrix, normalised at run time).
    m = base(c)
    m["position_embedding"] = "rope" if m["hidden_size"] == 4096 else "alibi"
    # model_max_length: the tokenizer's limit, repeated in the config.
    c.ignore("model_max_length", "_from_model_config")
    return m


# KV heads. None of these models' attention reads a KV-head key (``kv_heads_from``; a
# config stating one that differs is refused by core.check_kv_heads):
#   GPT-J: GPTJConfig has none; vLLM 0.19.1 gpt_j.py:71-75 builds num_attention_heads K/V heads.
#   Phi-1/2: PhiConfig has num_key_value_heads (transformers v4.57.1 models/phi/
#     configuration_phi.py:187-190, None -> the heads) and transformers' PhiAttention reads it,
#     but vLLM 0.19.1 phi.py:87-98 builds num_attention_heads K/V heads: a grouped count is
#     something the two disagree on, so it is refused; the heads (or null) are read.
#   QWen (v1) and Baichuan (remote code): vLLM 0.19.1 qwen.py:103-107 (num_heads =
#     config.num_attention_heads, line 164) and baichuan.py:148-156 (line 233) multi-head.
#   ChatGLM: vLLM 0.19.1 chatglm.py:63-67: multi_query_group_num when multi_query_attention,
#     else the heads (read_chatglm); its ChatGLMConfig maps n_head_kv onto
#     multi_query_group_num (transformers_utils/configs/chatglm.py:11-14).
#   DBRX: attn_config.kv_n_heads (vLLM 0.19.1 dbrx.py:198; transformers modeling_dbrx.py:227);
#     DbrxConfig also writes it out as a top-level num_key_value_heads
#     (configuration_dbrx.py:223), which must then agree.
GPTJ = Family(read_gptj, "GPTJConfig",
              {"n_embd": 4096, "n_layer": 28, "n_head": 16, "tie_word_embeddings": False, "n_positions": 2048,
               "rotary_dim": 64},
              kv_heads_from=vllm_multi_head("gpt_j.py"))
PHI = Family(read_phi, "PhiConfig",
             {"hidden_size": 2048, "num_hidden_layers": 24, "num_attention_heads": 32, "tie_word_embeddings": False,
              "max_position_embeddings": 2048, "partial_rotary_factor": 0.5},
             kv_heads_from="num_attention_heads (vLLM's phi.py builds multi-head attention; only transformers' "
                           "PhiAttention reads num_key_value_heads)")
QWEN = Family(read_qwen, "QWenConfig", {"tie_word_embeddings": False, "no_bias": True},
              kv_heads_from=vllm_multi_head("qwen.py"))
CHATGLM = Family(read_chatglm, "ChatGLMConfig", {"tie_word_embeddings": False},
                 kv_heads_from="multi_query_group_num with multi_query_attention, else num_attention_heads "
                               "(vLLM's chatglm.py)")
DBRX = Family(read_dbrx, "DbrxConfig", {"tie_word_embeddings": False},
              kv_heads_from="attn_config.kv_n_heads (vLLM's dbrx.py)")
BAICHUAN = Family(read_baichuan, "BaichuanConfig", {"tie_word_embeddings": False},
                  kv_heads_from=vllm_multi_head("baichuan.py"))
