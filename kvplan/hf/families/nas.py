"""Nemotron-NAS (Llama-3.1/3.3-Nemotron Super / Ultra, DeciLM): per-layer block_configs,
with per-layer KV heads and layers whose attention was pruned away."""

from __future__ import annotations

from kvplan.hf.core import Family, HFConfig, base, layout

#: block_configs attention keys that must be at these values for a plain attention layer;
#: anything else (sink tokens, windows, sparsity) changes what a layer caches.
_PLAIN = {"window_length": None, "num_sink_tokens": None, "sparsify": None, "unshifted_sink": False,
          "use_prefill_window_in_sink_attention": False}


def read_nemotron_nas(c: HFConfig) -> dict:
    # DeciLMConfig.block_configs: one entry per layer (vLLM nemotron_nas.py
    # DeciLMDecoderLayer). attention.no_op: no attention module at all; replace_with_linear:
    # a hidden x hidden Linear instead; neither caches anything (kvplan.layers.NoCache).
    # Otherwise num_key_value_heads = num_attention_heads // attention.n_heads_in_group.
    # ffn.ffn_mult sets each layer's MLP width (or ffn.no_op removes it): per-layer widths the
    # spec cannot hold, so the weights are reported as not modelled.
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
        if attn.get("no_op") or attn.get("replace_with_linear"):
            label = "linear" if attn.get("replace_with_linear") else "no_attention"
            kinds[label] = {"kind": "no_cache", "replacement": "linear" if label == "linear" else "none"}
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
    c.weights_need("block_configs: per-layer MLP widths (ffn_mult) and pruned blocks are not modelled by "
                   "kvplan.shapes: weights not modelled")
    c.ignore("intermediate_size")
    bias = c.flag("attention_bias", False)
    m.update(qkv_bias=bias, o_bias=bias, mlp_bias=c.flag("mlp_bias", False))
    return m


NEMOTRON_NAS = Family(read_nemotron_nas, "DeciLMConfig", {"tie_word_embeddings": False})
