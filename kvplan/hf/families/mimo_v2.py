"""MiMo-V2-Flash: sliding-window and full attention layers with their own head counts and
head sizes (hybrid_layer_pattern, swa_*), and K and V heads of different widths."""

from __future__ import annotations

from kvplan.hf.core import Family, HFConfig, base, layout, partial_rotary_dim

ROUTING = frozenset({"norm_topk_prob", "routed_scaling_factor", "n_group", "topk_group", "topk_method",
                     "scoring_func"})


def read_mimo_v2_flash(c: HFConfig) -> dict:
    # MiMoV2FlashConfig (vLLM mimo_v2_flash.py MiMoV2Attention): hybrid_layer_pattern[i] 1
    # is a sliding-window layer with swa_num_key_value_heads heads, K of swa_head_dim and V of
    # swa_v_head_dim, over sliding_window_size tokens; 0 a full-attention layer with
    # num_key_value_heads heads, K of head_dim and V of v_head_dim. vLLM's attention spec
    # keeps K and V widths apart (FullAttentionSpec.head_size_v).
    m = base(c)
    n = m["num_layers"]
    pattern = c.raw("hybrid_layer_pattern", None)
    if not isinstance(pattern, list) or len(pattern) != n or any(p not in (0, 1) for p in pattern):
        raise c.error(f"hybrid_layer_pattern must hold 0 (full) or 1 (sliding) for each of the {n} layers")
    window = c.int(("sliding_window_size", "sliding_window"))
    for key in ("sliding_window", "sliding_window_size"):
        other = c.raw(key, None)
        if other is not None and other != window:
            raise c.error(f"sliding_window {c.raw('sliding_window')} and sliding_window_size "
                          f"{c.raw('sliding_window_size')} differ; write a spec by hand")
    if c.int("swa_num_attention_heads", default=m["num_attention_heads"]) != m["num_attention_heads"]:
        raise c.error("swa_num_attention_heads differs from num_attention_heads: not modelled")
    m["v_head_dim"] = c.int("v_head_dim", default=m.get("head_dim"))
    swa = {"kind": "sliding_window", "window": window, "kv_heads": c.int("swa_num_key_value_heads"),
           "head_dim": c.int("swa_head_dim"), "v_head_dim": c.int("swa_v_head_dim")}
    m["cache"] = layout({"full": {"kind": "full_attention"}, "swa": swa}, ["swa" if p else "full" for p in pattern])
    _rotary_tables(c, m, swa["head_dim"])
    # attention_chunk_size repeats the window in this config; vLLM's MiMoV2Attention takes the
    # window from sliding_window_size. attention_value_scale scales V at run time; the sink
    # biases add one logit per head (64 values a layer, not counted).
    chunk = c.raw("attention_chunk_size", None)
    if chunk is not None and chunk != window:
        raise c.error(f"attention_chunk_size {chunk} differs from the window {window}; write a spec by hand")
    c.ignore("attention_value_scale", "swa_rope_theta", "add_swa_attention_sink_bias", "add_full_attention_sink_bias")
    bias = c.flag("attention_bias", False)
    m.update(qkv_bias=bias, o_bias=bias)

    def moe() -> dict:
        freq = c.raw("moe_layer_freq", None)
        if not isinstance(freq, list) or len(freq) != n or any(f not in (0, 1) for f in freq):
            raise c.error("moe_layer_freq must hold 0 or 1 per layer")
        first = freq.index(1) if 1 in freq else n
        if freq != [0] * first + [1] * (n - first):
            raise c.error("moe_layer_freq interleaves dense and MoE layers: not expressible as a moe block")
        return {
            "num_experts": c.int("n_routed_experts"),
            "experts_per_token": c.int("num_experts_per_tok"),
            "expert_intermediate_size": c.int("moe_intermediate_size"),
            "num_shared_experts": c.count("n_shared_experts", 0),
            "first_dense_layers": first,
            "router_bias": c.raw("topk_method", None) == "noaux_tc",
        }

    m["moe"] = c.weights_only(moe)
    return m


def _rotary_tables(c: HFConfig, m: dict, swa_head_dim: int) -> None:
    """vLLM's rotary tables for MiMo-V2-Flash (kvplan.engines.vllm.rope_cache_bytes): each
    MiMoV2Attention calls get_rope(head_size, max_position=config.max_position_embeddings,
    rope_parameters={"rope_type": "default", "rope_theta", "partial_rotary_factor"}), the sliding
    layers with swa_head_dim and swa_rope_theta (default rope_theta), the full ones with head_dim
    and rope_theta (default 1,000,000), both with config.partial_rotary_factor (default 1.0)
    (vllm/model_executor/models/mimo_v2_flash.py 0.14.0 :270-278 / :339-377, 0.19.1 :271-279 /
    :340-378; mimo_v2.py 0.23.0 :277-285 / :348-387). get_rope's width is int(head_size x
    factor) (rotary_embedding/__init__.py 0.19.1 :62-66, 0.23.0 :69-72) and it caches one table
    per distinct argument set (0.23.0 :74-84): two tables of max_position rows when the thetas
    differ (rope_local_base_freq carries the sliding layers' one), one when they match.
    MiMo-V2-Flash: head_dim 192 x 0.334 -> 64, thetas 5,000,000 and 10,000: 2 x 262,144 x 64 x
    2 B = 67,108,864 B. The rope type is fixed at default, so a config rope_scaling, or K widths
    that differ between the kinds, leave the weights refused."""
    head_dim = m.get("head_dim") or m["hidden_size"] // m["num_attention_heads"]
    if swa_head_dim != head_dim:
        c.weights_need(f"swa_head_dim {swa_head_dim} other than head_dim {head_dim} (vLLM's two rotary tables "
                       "of different widths are not modelled)")
        return
    if "rope_scaling" in m:
        c.weights_need("rope_scaling on MiMo-V2-Flash (vLLM's MiMoV2Attention builds a default rotary table, "
                       "kvplan's table would follow the scaling)")
    if (rotary := partial_rotary_dim(c, head_dim)) is not None:
        m["rotary_dim"] = rotary
    theta = c.raw("rope_theta", 1_000_000)
    swa_theta = c.raw("swa_rope_theta", theta)
    if swa_theta != theta:
        m["rope_local_base_freq"] = c.check_positive("swa_rope_theta", swa_theta)


#: Remote code: its KV-head default is not known to kvplan (a config without num_key_value_heads is refused).
MIMO_V2_FLASH = Family(read_mimo_v2_flash, "MiMoV2FlashConfig", {"tie_word_embeddings": False}, ignored=ROUTING)
