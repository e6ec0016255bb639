"""Nemotron-NAS (Llama-3.1/3.3-Nemotron Super / Ultra, DeciLM): per-layer block_configs,
with per-layer KV heads and layers whose attention was pruned away."""

from __future__ import annotations

from kvplan.hf.core import Family, HFConfig, base, layout, llama_rotary_dim
from kvplan.hf.families.ssm_hybrids import ffn_layout

#: block_configs attention keys that must be at these values for a plain attention layer;
#: anything else (sink tokens, windows, sparsity) changes what a layer caches.
_PLAIN = {"window_length": None, "num_sink_tokens": None, "sparsify": None, "unshifted_sink": False,
          "use_prefill_window_in_sink_attention": False}


def read_nemotron_nas(c: HFConfig) -> dict:
    # DeciLMConfig.block_configs: one entry per layer (vLLM nemotron_nas.py
    # DeciLMDecoderLayer). attention.no_op: no attention module at all; replace_with_linear:
    # a hidden x hidden Linear instead; neither caches anything (kvplan.layers.NoCache).
    # Otherwise num_key_value_heads = num_attention_heads // attention.n_heads_in_group.
    # ffn.ffn_mult sets each layer's MLP width, ffn.no_op removes it (the spec's ``ffn``
    # layout). replace_with_linear: vLLM's DeciLMDecoderLayer reads only no_op and would
    # build a normal block there, so such a config cannot be served: refused.
    m = base(c)
    blocks = c.raw("block_configs", None)
    n = m["num_layers"]
    if not isinstance(blocks, list) or len(blocks) != n:
        raise c.error(f"block_configs must hold one entry for each of the {n} layers")
    heads = m["num_attention_heads"]
    kinds, labels = {}, []
    for i, block in enumerate(blocks):
        attn = block.get("attention") if isinstance(block, dict) else None
        if not isinstance(attn, dict):
            raise c.error(f"block_configs.{i}.attention must be a JSON object")
        known = set(_PLAIN) | {"n_heads_in_group", "no_op", "replace_with_linear"}
        for key, value in attn.items():
            if key not in known:
                raise c.error(f"block_configs.{i}.attention.{key} is a field kvplan does not read; "
                              "write a spec by hand")
            if key in _PLAIN and value != _PLAIN[key]:
                raise c.error(f"block_configs.{i}.attention.{key} is {value!r}: that attention variant is not "
                              "modelled; write a spec by hand")
        if attn.get("replace_with_linear"):
            raise c.error(f"block_configs.{i}.attention.replace_with_linear: vLLM's nemotron_nas.py does not build "
                          "linear-replaced attention (it reads only no_op), so it cannot serve this model")
        if attn.get("no_op"):
            label = "no_attention"
            kinds[label] = {"kind": "no_cache"}
        else:
            group = attn.get("n_heads_in_group")
            if isinstance(group, bool) or not isinstance(group, int) or group <= 0 or heads % group:
                raise c.error(f"block_configs.{i}.attention.n_heads_in_group must divide {heads} heads, got {group!r}")
            label = f"attention_kv{heads // group}"
            kinds[label] = {"kind": "full_attention", "kv_heads": heads // group}
        labels.append(label)
    m["cache"] = layout(kinds, labels)
    kv = sorted({heads // b["attention"]["n_heads_in_group"] for b in blocks
                 if not (b["attention"].get("no_op") or b["attention"].get("replace_with_linear"))})
    if kv:
        m["num_kv_heads"] = kv[-1]  # the spec's default; every attention layer names its own
    m["ffn"] = c.weights_only(lambda: _ffn_blocks(c, blocks, m["hidden_size"]))
    # intermediate_size: null in these configs; each block names its own MLP width.
    c.ignore("intermediate_size")
    bias = c.flag("attention_bias", False)
    m.update(qkv_bias=bias, o_bias=bias, mlp_bias=c.flag("mlp_bias", False))
    # The rotary table: llama.py's LlamaAttention (0.8.5 nemotron_nas.py :100), from 0.9.0
    # DeciLMAttention(LlamaAttention) whose _init_rotary_emb passes LlamaAttention's
    # self.partial_rotary_factor to get_rope up to 0.12.0 (0.9.0 :99-106, 0.10.1.1 :100-107,
    # 0.11.2 :125-132, 0.12.0 :119-125) and config.rope_parameters from 0.13.0 (0.13.0-0.23.0
    # :119-122): core.llama_rotary_dim's reading.
    if (rotary := llama_rotary_dim(c, m.get("head_dim") or m["hidden_size"] // heads)) is not None:
        m["rotary_dim"] = rotary
    return m


def ffn_width(ffn_mult: float, hidden: int) -> int:
    """DeciLM's MLP width from ffn_mult (vLLM nemotron_nas.py _ffn_mult_to_intermediate_size):
    int(2 x ffn_mult x hidden / 3) rounded up to a multiple of 256, in the same float
    arithmetic vLLM uses. Nemotron-Super-49B (hidden 8192): 5.25 -> 28,672; 1.0 -> 5,632."""
    width = int(2 * ffn_mult * hidden / 3)
    return width if width % 256 == 0 else width + 256 - width % 256


def _ffn_blocks(c: HFConfig, blocks: list, hidden: int) -> dict:
    """block_configs[i].ffn: no_op (no MLP and no post_attention_layernorm: vLLM
    DeciLMDecoderLayer), else a SwiGLU LlamaMLP of ffn_mult's width (or intermediate_size)."""
    kinds, labels = {}, []
    for i, block in enumerate(blocks):
        ffn = block.get("ffn")
        if not isinstance(ffn, dict):
            raise c.error(f"block_configs.{i}.ffn must be a JSON object")
        for key, value in ffn.items():
            if key not in ("no_op", "ffn_mult", "intermediate_size", "replace_with_linear", "sparsify"):
                raise c.error(f"block_configs.{i}.ffn.{key} is a field kvplan does not read")
            if key in ("replace_with_linear", "sparsify") and value:
                raise c.error(f"block_configs.{i}.ffn.{key} is {value!r}: vLLM's nemotron_nas.py builds an MLP "
                              "there, not that block")
        if ffn.get("no_op"):
            kinds["none"] = {"kind": "none"}
            labels.append("none")
            continue
        if ffn.get("ffn_mult") is not None:
            mult = ffn["ffn_mult"]
            if isinstance(mult, bool) or not isinstance(mult, (int, float)) or mult <= 0:
                raise c.error(f"block_configs.{i}.ffn.ffn_mult must be a positive number, got {mult!r}")
            width = ffn_width(mult, hidden)
        else:
            width = ffn.get("intermediate_size")
            if isinstance(width, bool) or not isinstance(width, int) or width <= 0:
                raise c.error(f"block_configs.{i}.ffn needs ffn_mult or intermediate_size")
        label = f"mlp_{width}"
        kinds[label] = {"kind": "mlp", "intermediate_size": width}
        labels.append(label)
    return ffn_layout(kinds, labels)


# num_key_value_heads: null in Nemotron-NAS configs and not read by vLLM 0.19.1 nemotron_nas.py,
# which takes each layer's heads // n_heads_in_group (lines 154-156, read above); a stated
# count must be the spec's default, the largest per-layer count (core.check_kv_heads).
NEMOTRON_NAS = Family(read_nemotron_nas, "DeciLMConfig", {"tie_word_embeddings": False},
                      kv_heads_from="num_attention_heads // block_configs[i].attention.n_heads_in_group, the "
                                    "largest of them (vLLM's nemotron_nas.py)")
