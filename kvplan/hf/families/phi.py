"""Phi-3."""

from __future__ import annotations

from kvplan.hf.core import Family, HFConfig, base, llama_rotary_dim, sliding


def read_phi3(c: HFConfig) -> dict:
    # Phi3Config: sliding_window defaults to None. Phi-3-mini-4k-instruct sets 2047 (a
    # 2048-token context, vLLM PR #4380), one window for the whole model, so it is put on
    # every layer. Whether a given vLLM release still applies it is not checked here: the
    # spec follows the config. q/k/v are one fused qkv_proj, gate/up one gate_up_proj,
    # no biases.
    m = base(c)
    if c.flag("attention_bias", False):
        c.weights_need("attention_bias true (Phi3Attention's qkv_proj and o_proj are built without biases)")
    rotary = _rotary_dim(c, m.get("head_dim") or m["hidden_size"] // m["num_attention_heads"])
    if rotary is not None:
        m["rotary_dim"] = rotary
    window = c.window()
    if window:
        m["cache"] = {"kinds": {"sliding": sliding(window)}}
        c.note(f"sliding_window {window} from the config, applied to every layer")
    return m


def _rotary_dim(c: HFConfig, head_dim: int) -> int | None:
    """vLLM's rotary width for Phi3ForCausalLM, which runs llama.py's LlamaAttention
    (core.llama_rotary_dim cites it per release): int(head_dim x partial_rotary_factor).
    Phi-4-mini: 0.75 x 128 = 96. None: the whole head."""
    return llama_rotary_dim(c, head_dim)


# Phi3Config defaults (transformers v4.57.1 models/phi3/configuration_phi3.py): num_key_value_heads
# None -> num_attention_heads.
PHI3 = Family(read_phi3, "Phi3Config",
              {"hidden_size": 3072, "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": None,
               "sliding_window": None, "tie_word_embeddings": False, "max_position_embeddings": 4096})
