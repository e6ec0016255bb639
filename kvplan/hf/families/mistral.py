"""Mistral and Mixtral."""

from __future__ import annotations

from kvplan.hf.core import Family, HFConfig, base, either, hf_layer_types, llama_rotary_dim, sliding


def read_mistral(c: HFConfig) -> dict:
    m = _mistral_layout(c)
    # MistralForCausalLM runs llama.py's LlamaAttention in every release (core.llama_rotary_dim),
    # which reads partial_rotary_factor; mixtral.py does not before 0.13.0 (read_mixtral).
    if (rotary := llama_rotary_dim(c, m.get("head_dim") or m["hidden_size"] // m["num_attention_heads"])) is not None:
        m["rotary_dim"] = rotary
    return m


def _mistral_layout(c: HFConfig) -> dict:
    # MistralConfig: sliding_window defaults to 4096 when the key is absent; an explicit
    # null means no window (Mistral-7B-v0.3, Mistral-Nemo). The window is the same on
    # every layer (Mistral 7B paper, arXiv:2310.06825, section 2).
    m = base(c)
    window = c.window()
    m["cache"] = either(hf_layer_types(c, m, window), {"kinds": {"sliding": sliding(window)}} if window else None)
    return m


def read_mixtral(c: HFConfig) -> dict:
    m = _mistral_layout(c)
    # Every layer is a sparse MoE block of num_local_experts SwiGLU experts of
    # intermediate_size (MixtralSparseMoeBlock); the router is a bias-free Linear.
    m["moe"] = c.weights_only(lambda: {
        "num_experts": c.int(("num_local_experts", "num_experts")),
        "experts_per_token": c.int("num_experts_per_tok"),
        "expert_intermediate_size": c.int("intermediate_size"),
    })
    return m


# MistralConfig / MixtralConfig defaults (transformers v4.57.1 models/mistral/configuration_mistral.py,
# models/mixtral/configuration_mixtral.py): num_key_value_heads=8 when the key is absent (a
# null becomes num_attention_heads), not the 32 attention heads: Mistral-7B without the key
# caches 131,072 B a token in bf16, not 524,288.
MISTRAL = Family(
    read_mistral, "MistralConfig",
    {"hidden_size": 4096, "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 8,
     "sliding_window": 4096, "tie_word_embeddings": False, "max_position_embeddings": 4096 * 32},
)
MIXTRAL = Family(
    read_mixtral, "MixtralConfig",
    {"hidden_size": 4096, "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 8,
     "sliding_window": None, "tie_word_embeddings": False, "max_position_embeddings": 4096 * 32,
     "num_experts_per_tok": 2, "num_local_experts": 8},
)
