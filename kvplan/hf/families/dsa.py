"""DeepSeek-V3.2 (deepseek_v32): DeepSeek-V3's MLA and experts plus the sparse-attention
(DSA) lightning indexer, whose keys are cached per token and layer."""

from __future__ import annotations

from kvplan.hf.core import Family, HFConfig
from kvplan.hf.families.deepseek import ROUTING, read_deepseek


def read_deepseek_v32(c: HFConfig) -> dict:
    # vLLM deepseek_v2.py: a config with index_topk is V3.2; each layer's Indexer keeps a
    # DeepseekV32IndexerCache of one key per token: index_head_dim fp8 values + one fp32
    # scale per 128 (quant_block_size), 132 bytes for index_head_dim 128, beside the MLA
    # latent (kvplan.layers.MLAIndexed). index_n_heads sizes the indexer's projections
    # (weights: kvplan.shapes counts wq_b, wk, k_norm and weights_proj); index_topk how
    # many tokens each query attends to, which changes compute, not what is cached.
    # KV format: vLLM turns any fp8 --kv-cache-dtype into its fp8_ds_mla for V3.2
    # (vllm/model_executor/models/config.py DeepseekV32ForCausalLM: 656 B a token for the
    # latent, kvplan.formats.DeepSeekSparseMLA); kvplan plans the format it is given
    # (--kv-dtype fp8_ds_mla).
    m = read_deepseek(c)
    m["cache"] = {"kinds": {"mla": {"kind": "mla_indexed", "index_head_dim": c.int("index_head_dim")}}}
    heads = c.weights_only(lambda: c.int("index_n_heads"))
    if heads is not None:
        m["mla"]["index_n_heads"] = heads
    c.ignore("index_topk")
    # Top-k sharing: a layer that reuses the previous layer's top-k indices (index_topk_freq > 1, or an
    # index_topk_pattern with "S" layers) builds no indexer of its own, and from SGLang 0.5.18 its indexer
    # cache is not allocated (model_executor/pool_configurator.py 0.5.18 lines 376-412, dsa_layer_skips_topk;
    # 0.5.22 mem_cache/memory_pool.py _should_allocate_index_layer line 5262). Recorded for the engines to
    # judge (Engine.check_dsa_topk_sharing, rule dsa_index_topk_sharing); default 1 / none: every layer.
    freq = c.raw("index_topk_freq", None)
    if freq is not None and (isinstance(freq, bool) or not isinstance(freq, int) or freq < 1):
        raise c.error(f"index_topk_freq must be a positive integer, got {freq!r}")
    pattern = c.raw("index_topk_pattern", None)
    if pattern is not None and not (isinstance(pattern, str) and set(pattern) <= {"F", "S"}):
        raise c.error(f"index_topk_pattern must be a string of F and S (one a layer), got {pattern!r}")
    offset = c.raw("index_skip_topk_offset", None)
    if freq is not None and freq > 1:
        m["index_topk_freq"] = freq
        if offset is not None:
            m["index_skip_topk_offset"] = offset
    if pattern and "S" in pattern:
        m["index_topk_pattern"] = pattern
    return m


# vLLM 0.19.1 loads deepseek_v32 configs with transformers' DeepseekV3Config
# (vllm/transformers_utils/config.py _CONFIG_REGISTRY): its defaults (v4.57.1
# models/deepseek_v3/configuration_deepseek_v3.py), 128 KV heads, null -> the heads.
DEEPSEEK_V32 = Family(
    read_deepseek_v32, "DeepseekV3Config",
    {"hidden_size": 7168, "num_hidden_layers": 61, "num_attention_heads": 128, "num_key_value_heads": 128,
     "first_k_dense_replace": 3, "moe_layer_freq": 1, "n_shared_experts": 1, "q_lora_rank": 1536,
     "tie_word_embeddings": False, "max_position_embeddings": 4096},
    ignored=ROUTING,
)
