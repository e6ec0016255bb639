"""Phi-3."""

from __future__ import annotations

from kvplan.hf.core import Family, HFConfig, base, partial_rotary_dim, sliding


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
    """vLLM's rotary width for Phi3ForCausalLM (which runs llama.py), int(head_dim x
    partial_rotary_factor), the same on every release though computed in three places: 0.8.0
    llama.py LlamaAttention :131-133 (self.rotary_dim, passed as get_rope's rotary_dim, :163-166);
    0.9.2 llama.py :139-141 / :217-222 and 0.12.0 :152-153 / :264-268 pass partial_rotary_factor to
    get_rope, which takes int(rotary_dim x factor) (0.9.2 rotary_embedding.py :1892-1893, 0.12.0
    rotary_embedding/__init__.py :58-59); from 0.13.0 llama.py passes config.rope_parameters (0.23.0
    :245-250), into which transformers_utils/config.py patch_rope_parameters copies the first of
    partial_rotary_factor, rotary_pct, rotary_emb_fraction (0.13.0 :314 / :328, 0.19.1 :385 / :403,
    0.23.0 :500 / :523), and get_rope takes int(head_size x factor) (0.13.0 __init__.py :59-63,
    0.19.1 :62-66, 0.23.0 :69-72). Phi-4-mini: 0.75 x 128 = 96. None: the whole head. rotary_pct or
    rotary_emb_fraction alone, which only the releases from 0.13.0 read, is refused."""
    if c.raw("partial_rotary_factor", None) is None:
        other = [k for k in ("rotary_pct", "rotary_emb_fraction") if c.raw(k, None) not in (None, 1, 1.0)]
        if other:
            raise c.error(f"{c.where(other[0])}: a partial rotary width named {other[0]} is not modelled for Phi-3 "
                          "(vLLM reads it only from 0.13.0)")
    return partial_rotary_dim(c, head_dim)


# Phi3Config defaults (transformers v4.57.1 models/phi3/configuration_phi3.py): num_key_value_heads
# None -> num_attention_heads.
PHI3 = Family(read_phi3, "Phi3Config",
              {"hidden_size": 3072, "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": None,
               "sliding_window": None, "tie_word_embeddings": False, "max_position_embeddings": 4096})
