"""Llama 4 (Scout, Maverick): chunked local attention on RoPE layers, global NoPE layers,
MoE interleaved with dense layers, and the multimodal wrapper around it."""

from __future__ import annotations

from kvplan.hf.core import Family, HFConfig, base, full, layout


def read_llama4_text(c: HFConfig) -> dict:
    # Llama4TextConfig: no_rope_layers[i] == 0 marks a NoPE layer; without the list, layer i
    # is NoPE when (i + 1) % no_rope_layer_interval == 0 (default 4). vLLM llama4.py
    # Llama4Attention: NoPE layers are plain full attention; the others use
    # ChunkedLocalAttention over attention_chunk_size tokens when that is set (Scout:
    # 36 chunked layers of 8192 tokens + 12 global ones).
    # MoE layers: i in range(step - 1, layers, step) for step = interleave_moe_layer_step
    # (Llama4TextConfig.moe_layers); each holds num_local_experts SwiGLU experts of
    # intermediate_size, one shared expert of intermediate_size and a bias-free router;
    # dense layers an MLP of intermediate_size_mlp. q/k are L2-normalised without weights
    # (use_qk_norm), so no q/k norm parameters.
    m = base(c)
    n = m["num_layers"]
    nope = c.raw("no_rope_layers", None)
    if nope is None:
        interval = c.int("no_rope_layer_interval", default=4)
        nope = [int((i + 1) % interval != 0) for i in range(n)]
    else:
        c.ignore("no_rope_layer_interval")
        if not isinstance(nope, list) or len(nope) != n or any(v not in (0, 1) for v in nope):
            raise c.error(f"{c.where('no_rope_layers')} must list 0 or 1 for each of the {n} layers")
    chunk = c.raw("attention_chunk_size", None)
    if chunk is not None:
        chunk = c.check_int("attention_chunk_size", chunk)
        labels = ["chunked" if rope else "global" for rope in nope]
        m["cache"] = layout({"chunked": {"kind": "chunked_local", "chunk": chunk}, "global": full()}, labels)
    c.ignore("use_qk_norm", "attn_temperature_tuning", "floor_scale", "attn_scale")
    bias = c.flag("attention_bias", False)
    m.update(qkv_bias=bias, o_bias=bias)

    def moe() -> dict:
        step = c.int("interleave_moe_layer_step", default=1)
        layers = c.raw("moe_layers", None)
        if layers is not None and list(layers) != list(range(step - 1, n, step)):
            raise c.error("moe_layers does not follow interleave_moe_layer_step; write the spec by hand")
        return {
            "num_experts": c.int("num_local_experts"),
            "experts_per_token": c.int("num_experts_per_tok"),
            "expert_intermediate_size": c.int("intermediate_size"),
            "num_shared_experts": 1,
            "shared_expert_intermediate_size": c.int("intermediate_size"),
            "first_dense_layers": step - 1,
            "layer_freq": step,
        }

    m["moe"] = c.weights_only(moe)
    dense = c.int("intermediate_size_mlp", default=None)
    if dense is not None:
        m["intermediate_size"] = dense  # the dense layers' MLP (experts read intermediate_size above)
    return m


def read_llama4_wrapper(top: HFConfig, text_fields: dict) -> dict:
    """Llama4ForConditionalGeneration: the text model's fields; the vision tower and the
    multimodal projector are not counted (the weights say so)."""
    if top.raw("vision_config", None) is not None:
        top.weights_need("vision_config (the Llama 4 vision encoder and projector are not counted)")
    return text_fields


LLAMA4_TEXT = Family(
    read_llama4_text, "Llama4TextConfig",
    {"tie_word_embeddings": False, "max_position_embeddings": 4096 * 32, "interleave_moe_layer_step": 1,
     "num_local_experts": 16, "num_experts_per_tok": 1, "attention_chunk_size": 8192},
)
LLAMA4 = Family(read_llama4_wrapper, "Llama4Config", wrapper=True, text_family="llama4_text")
