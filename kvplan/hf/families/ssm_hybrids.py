"""Mamba-2 hybrids: Nemotron-H (hybrid_override_pattern), Bamba (attn_layer_indices) and
Falcon-H1 (attention and Mamba-2 side by side in every layer)."""

from __future__ import annotations

from kvplan.hf.core import Family, HFConfig, base, full, layout
from kvplan.hf.dtypes import DTYPES
from kvplan.hf.families.mamba import SCAN_SETTINGS, mamba2_state

#: vLLM's recurrent-state dtype for Nemotron-H when the config names none
#: (vllm/model_executor/models/config.py NemotronHForCausalLMConfig.DEFAULT_MAMBA_SSM_CACHE_DTYPE,
#: "Only float32 is known to have no accuracy issues"; earlier releases used float16).
NEMOTRON_H_SSM_DTYPE = "float32"


def _dtype(c: HFConfig, key: str, value: str) -> str:
    if not isinstance(value, str) or value.lower() not in DTYPES:
        raise c.error(f"{c.where(key)} {value!r} is not one of bfloat16, float16, float32")
    return DTYPES[value.lower()]


def read_nemotron_h(c: HFConfig) -> dict:
    # NemotronHConfig: hybrid_override_pattern holds one character per layer: M a Mamba-2
    # mixer, * attention, - an MLP, E a MoE block (vLLM nemotron_h.py ALL_DECODER_LAYER_TYPES).
    # Only M and * layers cache. Attention: num_key_value_heads heads of head_dim
    # (attention_head_dim in older configs). Mamba-2: mamba_num_heads x mamba_head_dim
    # channels (not expand x hidden_size: Nemotron-3-Nano's expand does not match them),
    # n_groups groups of ssm_state_size, conv_kernel; the recurrent state in
    # mamba_ssm_cache_dtype, float32 by default (vLLM's NemotronH config hook), the conv
    # state in the model dtype.
    m = base(c)
    pattern = c.raw("hybrid_override_pattern", None)
    if not isinstance(pattern, str) or len(pattern) != m["num_layers"] or set(pattern) - set("M*-E"):
        raise c.error(f"hybrid_override_pattern must be one of M * - E per layer ({m['num_layers']} layers)")
    head_dim = c.raw("head_dim", None) or c.raw("attention_head_dim", None)
    if head_dim is not None:
        m["head_dim"] = c.check_int("head_dim", head_dim)
    if c.window() is not None:
        raise c.error("sliding_window is set: sliding attention in Nemotron-H is not modelled")
    ssm_dtype = _dtype(c, "mamba_ssm_cache_dtype", c.raw("mamba_ssm_cache_dtype", NEMOTRON_H_SSM_DTYPE))
    if not c.has("mamba_ssm_cache_dtype"):
        c.note(f"mamba_ssm_cache_dtype not in the config: {NEMOTRON_H_SSM_DTYPE}, vLLM's default for Nemotron-H")
    heads, head = c.int("mamba_num_heads"), c.int("mamba_head_dim")
    mamba = mamba2_state(heads * head, c.int("n_groups"), heads, head, c.int("ssm_state_size"),
                         c.int("conv_kernel"), ssm_dtype)
    names = {"M": "mamba", "*": "attention", "-": "mlp", "E": "moe"}
    kinds = {"mamba": mamba, "attention": full(), "mlp": {"kind": "no_cache"}, "moe": {"kind": "no_cache"}}
    m["cache"] = layout(kinds, [names[ch] for ch in pattern])
    # expand: a Mamba-2 convention the mixer does not read (see above); mamba_hidden_act /
    # mlp_hidden_act: activations; the mixer's biases and dt rank: mixer weights.
    c.ignore("expand", "mamba_hidden_act", "mamba_proj_bias", "use_conv_bias", "use_bias")
    bias = c.flag("attention_bias", False)
    m.update(qkv_bias=bias, o_bias=bias)
    c.weights_need("hybrid_override_pattern: a Nemotron-H layer holds a mixer or an MLP, not both "
                   "(kvplan.shapes counts both in every layer): weights not modelled")
    c.ignore("intermediate_size", "moe_intermediate_size", "moe_shared_expert_intermediate_size",
             "n_routed_experts", "n_shared_experts", "num_experts_per_tok", "mlp_hidden_act", "mlp_bias",
             "n_group", "topk_group", "norm_topk_prob", "routed_scaling_factor", "moe_latent_size")
    return m


def read_bamba(c: HFConfig) -> dict:
    # BambaConfig (Bamba-9B; vLLM bamba.py): attention in the layers listed in
    # attn_layer_indices, Mamba-2 elsewhere with intermediate = mamba_expand x hidden_size
    # (mamba_d_head "auto" = that / mamba_n_heads), mamba_n_groups groups of mamba_d_state,
    # mamba_d_conv. attn_rotary_emb: rotary channels of each head (partial RoPE).
    m = base(c)
    n = m["num_layers"]
    attn = c.raw("attn_layer_indices", None) or []
    if not isinstance(attn, list) or any(not isinstance(i, int) or not 0 <= i < n for i in attn):
        raise c.error(f"attn_layer_indices must list layers in 0..{n - 1}")
    intermediate = c.int("mamba_expand") * m["hidden_size"]
    heads = c.int("mamba_n_heads")
    head = c.raw("mamba_d_head", "auto")
    head = intermediate // heads if head == "auto" else c.check_int("mamba_d_head", head)
    if heads * head != intermediate:
        raise c.error(f"mamba_n_heads x mamba_d_head = {heads * head} differs from mamba_expand x hidden_size "
                      f"= {intermediate}")
    mamba = mamba2_state(intermediate, c.int("mamba_n_groups"), heads, head, c.int("mamba_d_state"),
                         c.int("mamba_d_conv"))
    m["cache"] = layout({"attention": full(), "mamba": mamba}, ["attention" if i in attn else "mamba" for i in range(n)])
    c.ignore("attn_rotary_emb", "mamba_dt_rank", "mamba_chunk_size", "mamba_conv_bias", "mamba_proj_bias",
             "z_loss_coefficient")
    return m


def read_falcon_h1(c: HFConfig) -> dict:
    # FalconH1Config (vLLM falcon_h1.py): every decoder layer runs attention and a Mamba-2
    # mixer in parallel on the same input, so every layer keeps both caches
    # (kvplan.layers.AttentionWithState). Mamba-2 channels: mamba_d_ssm, else mamba_expand x
    # hidden_size; mamba_n_heads heads of mamba_d_head, mamba_n_groups groups of
    # mamba_d_state, mamba_d_conv. attn_layer_indices null: attention in every layer.
    m = base(c)
    if c.raw("attn_layer_indices", None) is not None:
        raise c.error("attn_layer_indices is set: Falcon-H1 with attention in some layers only is not modelled")
    intermediate = c.raw("mamba_d_ssm", None)
    intermediate = c.check_int("mamba_d_ssm", intermediate) if intermediate else c.int("mamba_expand") * m["hidden_size"]
    heads, head = c.int("mamba_n_heads"), c.int("mamba_d_head")
    if heads * head != intermediate:
        raise c.error(f"mamba_n_heads x mamba_d_head = {heads * head} differs from the Mamba-2 width {intermediate}")
    state = mamba2_state(intermediate, c.int("mamba_n_groups"), heads, head, c.int("mamba_d_state"), c.int("mamba_d_conv"))
    state.pop("kind")
    m["cache"] = {"kinds": {"hybrid": {"kind": "attention_with_state", "state": state}}}
    # mamba_expand: superseded by mamba_d_ssm; mamba_chunk_size: the scan's chunking;
    # mamba_rms_norm / mamba_norm_before_gate: where the gated norm sits; mamba_use_mlp:
    # the MLP after the mixers; the multipliers (mlp_multipliers, ssm_multipliers ...):
    # muP scalars; projectors_bias / mamba_*_bias: weights.
    c.ignore("mamba_expand", "mamba_chunk_size", "mamba_rms_norm", "mamba_norm_before_gate", "mamba_use_mlp",
             "mlp_multipliers", "ssm_multipliers", "projectors_bias", "mamba_proj_bias", "mamba_conv_bias",
             "mlp_expansion_factor", "attn_layer_indices")
    bias = c.flag("attention_bias", False)
    m.update(qkv_bias=bias, o_bias=bias, mlp_bias=c.flag("mlp_bias", False))
    c.weights_need("Falcon-H1 layers hold attention and a Mamba-2 mixer (kvplan.shapes counts one mixer): "
                   "weights not modelled")
    return m


NEMOTRON_H = Family(read_nemotron_h, "NemotronHConfig", {"tie_word_embeddings": False}, ignored=SCAN_SETTINGS)
BAMBA = Family(read_bamba, "BambaConfig",
               {"tie_word_embeddings": False, "max_position_embeddings": 262144, "mamba_n_heads": 128,
                "mamba_d_head": "auto", "mamba_n_groups": 1, "mamba_d_state": 256, "mamba_d_conv": 4},
               ignored=SCAN_SETTINGS)
FALCON_H1 = Family(read_falcon_h1, "FalconH1Config", {"tie_word_embeddings": False}, ignored=SCAN_SETTINGS)
