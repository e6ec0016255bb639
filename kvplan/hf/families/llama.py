"""Llama and the reading of a model_type kvplan has no reader for."""

from __future__ import annotations

from kvplan.hf.core import Family, HFConfig, base, llama_rotary_dim


def read_llama(c: HFConfig) -> dict:
    m = _llama_layout(c)
    # vLLM's llama.py reads partial_rotary_factor in every release (core.llama_rotary_dim).
    if (rotary := llama_rotary_dim(c, m.get("head_dim") or m["hidden_size"] // m["num_attention_heads"])) is not None:
        m["rotary_dim"] = rotary
    return m


def _llama_layout(c: HFConfig) -> dict:
    # LlamaAttention: q/k/v/o_proj all use bias=config.attention_bias; LlamaMLP uses
    # bias=config.mlp_bias (transformers models/llama/modeling_llama.py).
    m = base(c)
    bias = c.flag("attention_bias", False)
    m.update(qkv_bias=bias, o_bias=bias, mlp_bias=c.flag("mlp_bias", False))
    return m


def read_unknown(c: HFConfig) -> dict:
    """A model_type with no reader: only proceeds when every key was understood or judged
    not to shape the cache (``classify`` refuses the rest), and says what it assumed."""
    # Llama's layout, but not its rotary keys: which vLLM model file runs an unknown model_type
    # (and whether it reads a rotary fraction) is not known, so they stay weights-only unknowns.
    m = _llama_layout(c)
    # sliding_window null means "no window" in every transformers config class that has the key;
    # a number could apply to some layers only, so it is left to classify (which refuses it).
    if c.has("sliding_window") and c.data["sliding_window"] is None:
        c.assume("sliding_window null read as no window on any layer")
    else:
        c.read.discard("sliding_window")
    c.assume("every layer read as full attention over num_key_value_heads "
             "heads of head_dim (all its cache-shaping fields were understood)")
    c.assume("keys absent from the config take no class default (the transformers defaults of this "
             "model_type are unknown to kvplan)")
    # Weight shapes (MLP gated or not, biases, norms, position tables) differ between families
    # whose cache fields read the same (GPT-NeoX vs Llama): no guess, the checkpoint's headers tell.
    c.weights_need("the weight shapes of a model_type kvplan has no reader for (MLP gating, biases, norms)")
    return m


# LlamaConfig defaults (transformers v4.57.1 models/llama/configuration_llama.py); a nested
# text_config (LLaVA's) is written as a diff against them, so they may fill its sizes.
# num_key_value_heads None: "if num_key_value_heads is None: num_key_value_heads =
# num_attention_heads" (multi-head attention; Llama-2-7B, LLaVA-1.5's text model).
LLAMA = Family(
    read_llama, "LlamaConfig",
    {"vocab_size": 32000, "hidden_size": 4096, "intermediate_size": 11008, "num_hidden_layers": 32,
     "num_attention_heads": 32, "num_key_value_heads": None, "tie_word_embeddings": False,
     "max_position_embeddings": 2048},
    sparse_text=True,
)

#: Used for a model_type kvplan has no reader for: no class defaults at all (a config without
#: num_key_value_heads is refused: kvplan cannot know what the class fills in).
UNKNOWN = Family(read_unknown, "(unknown)", {})
