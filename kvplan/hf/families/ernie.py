"""ERNIE 4.5 dense (Ernie4_5_ForCausalLM, the 0.3B models)."""

from __future__ import annotations

from kvplan.hf.core import Family, HFConfig, base, llama_rotary_dim


def read_ernie4_5(c: HFConfig) -> dict:
    # vLLM ernie45.py: Ernie4_5ForCausalLM is LlamaForCausalLM with non-Neox rotary and no
    # o_proj bias, so every layer caches K and V of num_key_value_heads heads of head_dim
    # (Ernie4_5Config default 128, not hidden / heads); Llama's weights, tied embeddings by
    # default. Ernie's use_bias (q/k/v/o and MLP biases in transformers) is not read by the
    # Llama modules vLLM builds: a config that sets it blocks weight figures.
    m = base(c)
    if c.flag("use_bias", False):
        c.weights_need("use_bias true: vLLM builds Ernie 4.5 from Llama modules without those biases")
    # Ernie4_5ForCausalLM(LlamaForCausalLM) in every release that has it (ernie45.py 0.10.1-0.11.0 :31,
    # 0.11.1-0.23.0 :42): llama.py's LlamaAttention reads the rotary width (core.llama_rotary_dim).
    if (rotary := llama_rotary_dim(c, m.get("head_dim") or m["hidden_size"] // m["num_attention_heads"])) is not None:
        m["rotary_dim"] = rotary
    return m


#: Ernie4_5Config defaults (transformers v4.57.1 models/ernie4_5/configuration_ernie4_5.py):
#: 2 KV heads (null -> the heads).
ERNIE4_5 = Family(read_ernie4_5, "Ernie4_5Config",
                  {"hidden_size": 1024, "num_hidden_layers": 18, "num_attention_heads": 16, "num_key_value_heads": 2,
                   "head_dim": 128, "tie_word_embeddings": True, "max_position_embeddings": 131072,
                   "use_bias": False})
