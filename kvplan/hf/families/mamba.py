"""Attention-free state-space models: Mamba, Falcon-Mamba (Mamba 1) and Mamba 2 (Codestral).

Every layer keeps a constant state per sequence (kvplan.layers.StateSpace), sized as vLLM's
MambaStateShapeCalculator sizes it (vllm/model_executor/layers/mamba/mamba_utils.py):
Mamba 1: conv (intermediate, conv_kernel - 1) + temporal (intermediate, state_size);
Mamba 2: conv (intermediate + 2 x n_groups x state_size, conv_kernel - 1) + temporal
(num_heads, head_dim, state_size). Both states are kept in the model dtype
(mamba_cache_dtype / mamba_ssm_cache_dtype "auto", MambaStateDtypeCalculator).

Weights (vLLM mamba.py / mamba2.py): each layer is one RMSNorm and the mixer, no MLP
(``ffn`` none everywhere); the mixer's layout is in kvplan.shapes (``ssm`` block).
"""

from __future__ import annotations

import math

from kvplan.hf.core import HIDDEN, LAYERS, MAX_POS, Family, HFConfig

#: vLLM's max_model_len when a config names no context length (vllm/config/model.py
#: _get_and_verify_max_len: "Assuming the model's maximum length is 2048").
VLLM_DEFAULT_MAX_LEN = 2048

#: Settings of the selective scan's time step initialisation, the chunked scan and the
#: kernels: no shapes (time_step_rank, use_bias and use_conv_bias are read where they shape
#: the mixer's weights).
SCAN_SETTINGS = frozenset({"time_step_scale", "time_step_min", "time_step_max", "time_step_floor",
                           "time_step_init_scheme", "time_step_limit", "chunk_size", "residual_in_fp32",
                           "rescale_prenorm_residual", "use_mambapy", "use_falcon_mambapy", "fused_add_norm",
                           "pad_vocab_size_multiple", "mixer_rms_eps", "norm_before_gate", "rms_norm"})

#: A layer with a mixer and no feed-forward block (Mamba, and Nemotron-H's mixer layers).
MIXER_ONLY = {"kinds": {"none": {"kind": "none"}}}


def time_step_rank(c: HFConfig, key: str, hidden: int) -> int:
    """dt_rank: an integer, or "auto" = ceil(hidden_size / 16) (MambaConfig, JambaConfig)."""
    value = c.raw(key, "auto")
    return math.ceil(hidden / 16) if value == "auto" else c.check_int(key, value)


def attention_free_base(c: HFConfig) -> dict:
    """Sizes of a model without attention layers. The spec's attention fields have no
    meaning there: one head of hidden_size is written (no layer reads it), and said so."""
    hidden = c.int(HIDDEN)
    m = {"num_layers": c.int(LAYERS), "hidden_size": hidden, "num_attention_heads": 1, "num_kv_heads": 1,
         "head_dim": hidden}
    max_len = c.int(MAX_POS, default=None)
    if max_len is None:
        max_len = VLLM_DEFAULT_MAX_LEN
        c.assume(f"no context length in the config: {max_len} tokens, the max_model_len vLLM assumes then "
                 "(vllm/config/model.py _get_and_verify_max_len); pass --max-model-len to plan another")
    m["max_position_embeddings"] = max_len
    vocab = c.int("vocab_size", default=None)
    if vocab is not None:
        m["vocab_size"] = vocab
    c.note("attention-free model: num_attention_heads / num_kv_heads 1 are placeholders, no layer attends")
    m["ffn"] = MIXER_ONLY
    # No attention, so no rotary cos/sin table (vLLM mamba.py and mamba2.py build no get_rope in
    # any release, 0.8.0-0.23.0).
    m["position_embedding"] = "none"
    return m


def mamba1_state(intermediate: int, conv_kernel: int, state_size: int) -> dict:
    return {"kind": "state_space", "conv_dim": intermediate, "conv_kernel": conv_kernel, "ssm_heads": intermediate,
            "ssm_head_dim": 1, "ssm_state_size": state_size}


def mamba2_state(intermediate: int, n_groups: int, heads: int, head_dim: int, state_size: int,
                 conv_kernel: int, ssm_dtype: str | None = None) -> dict:
    state = {"kind": "state_space", "conv_dim": intermediate + 2 * n_groups * state_size, "conv_kernel": conv_kernel,
             "ssm_heads": heads, "ssm_head_dim": head_dim, "ssm_state_size": state_size, "n_groups": n_groups}
    if ssm_dtype:
        state["ssm_state_dtype"] = ssm_dtype
    return state


def read_mamba(c: HFConfig) -> dict:
    # MambaConfig / FalconMambaConfig: intermediate_size defaults to expand x hidden_size;
    # vLLM mamba.py (MambaForCausalLM, also for FalconMambaForCausalLM) sizes the state from
    # intermediate_size, state_size and conv_kernel.
    m = attention_free_base(c)
    intermediate = c.int("intermediate_size", default=None) or c.int("expand") * m["hidden_size"]
    m["intermediate_size"] = intermediate
    m["cache"] = {"kinds": {"mamba": mamba1_state(intermediate, c.int("conv_kernel"), c.int("state_size"))}}
    c.ignore("n_layer", "expand")  # n_layer duplicates num_hidden_layers in converted configs
    # vLLM MambaDecoderLayer: Falcon-Mamba normalises dt, B and C with RMSNorms that have no
    # weight (rms_norm_has_weight=False); Mamba has none.
    m["ssm"] = {"type": "mamba1", "time_step_rank": time_step_rank(c, "time_step_rank", m["hidden_size"]),
                "conv_bias": c.flag("use_conv_bias", True), "proj_bias": c.flag("use_bias", False),
                "dt_norms": "unweighted" if c.top.data.get("model_type") == "falcon_mamba" else "none"}
    return m


def read_mamba2(c: HFConfig) -> dict:
    # Mamba2Config: vLLM mamba2.py sizes the mixer with intermediate_size = expand x
    # hidden_size, num_heads x head_dim of it, n_groups groups of state_size.
    m = attention_free_base(c)
    intermediate = c.int("expand") * m["hidden_size"]
    heads, head_dim = c.int("num_heads"), c.int("head_dim")
    if heads * head_dim != intermediate:
        raise c.error(f"num_heads x head_dim = {heads * head_dim} differs from expand x hidden_size = "
                      f"{intermediate}; write a spec by hand")
    given = c.int("intermediate_size", default=None)
    if given is not None and given != intermediate:
        raise c.error(f"intermediate_size {given} differs from expand x hidden_size = {intermediate}")
    m["intermediate_size"] = intermediate
    m["head_dim"] = m["hidden_size"]  # the placeholder attention head, not the SSM head_dim
    state = mamba2_state(intermediate, c.int("n_groups"), heads, head_dim, c.int("state_size"), c.int("conv_kernel"))
    m["cache"] = {"kinds": {"mamba2": state}}
    # vLLM Mamba2DecoderLayer: MambaMixer2 with its gated RMSNorm (use_rms_norm default);
    # time_step_rank is a Mamba 1 field Mamba-2 checkpoints carry but do not use.
    m["ssm"] = {"type": "mamba2", "conv_bias": c.flag("use_conv_bias", True), "proj_bias": c.flag("use_bias", False)}
    c.ignore("time_step_rank")
    return m


MAMBA = Family(read_mamba, "MambaConfig", {"tie_word_embeddings": True, "expand": 2, "conv_kernel": 4,
                                           "state_size": 16, "time_step_rank": "auto"}, ignored=SCAN_SETTINGS)
FALCON_MAMBA = Family(read_mamba, "FalconMambaConfig", {"tie_word_embeddings": True, "expand": 2, "conv_kernel": 4,
                                                        "state_size": 16, "time_step_rank": "auto"},
                      ignored=SCAN_SETTINGS)
MAMBA2 = Family(read_mamba2, "Mamba2Config",
                {"tie_word_embeddings": False, "expand": 2, "conv_kernel": 4, "state_size": 128, "n_groups": 8,
                 "num_heads": 128, "head_dim": 64}, ignored=SCAN_SETTINGS)
