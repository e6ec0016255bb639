"""Llama and the reading of a model_type kvplan has no reader for."""

from __future__ import annotations

from kvplan.hf.core import Family, HFConfig, base


def read_llama(c: HFConfig) -> dict:
    # LlamaAttention: q/k/v/o_proj all use bias=config.attention_bias; LlamaMLP uses
    # bias=config.mlp_bias (transformers models/llama/modeling_llama.py).
    m = base(c)
    bias = c.flag("attention_bias", False)
    m.update(qkv_bias=bias, o_bias=bias, mlp_bias=c.flag("mlp_bias", False))
    return m


def read_unknown(c: HFConfig) -> dict:
    """A model_type with no reader: only proceeds when every key was understood or judged
    not to shape the cache (``classify`` refuses the rest), and says what it assumed."""
    m = read_llama(c)
    c.assume("every layer read as full attention over num_key_value_heads "
             "heads of head_dim (all its cache-shaping fields were understood)")
    c.assume("keys absent from the config take no class default (the transformers defaults of this "
             "model_type are unknown to kvplan)")
    c.assume("weights counted as a Llama-style decoder (gated MLP, RMSNorm, rotary positions)")
    return m


LLAMA = Family(
    read_llama, "LlamaConfig", {"tie_word_embeddings": False, "max_position_embeddings": 2048},
    # LlamaConfig's defaults for the sizes, which a nested text_config written as a diff
    # (llava-hf/llava-1.5-7b-hf) leaves out: the Llama-2-7B shape.
    nested_defaults={"vocab_size": 32000, "hidden_size": 4096, "intermediate_size": 11008, "num_hidden_layers": 32,
                     "num_attention_heads": 32},
)

#: Used for a model_type kvplan has no reader for: no class defaults at all.
UNKNOWN = Family(read_unknown, "(unknown)", {})
