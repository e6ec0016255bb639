"""Helpers for the checkpoint and Hub tests: write real safetensors files (zero-filled data)
for a tiny Llama-style model whose every tensor shape is listed here by hand."""

from __future__ import annotations

import json
import struct
from pathlib import Path

BITS = {"BF16": 16, "F16": 16, "F32": 32, "F8_E4M3": 8, "I32": 32, "U8": 8}

#: A tiny Llama (hidden 64, 2 layers, 4 heads of 16, 2 KV heads, MLP 128, vocab 256, untied).
TINY_CONFIG = {
    "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 64, "num_hidden_layers": 2,
    "num_attention_heads": 4, "num_key_value_heads": 2, "intermediate_size": 128, "vocab_size": 256,
    "max_position_embeddings": 4096, "tie_word_embeddings": False, "torch_dtype": "bfloat16",
    "rms_norm_eps": 1e-5, "rope_theta": 10000.0,
}


def tiny_tensors(dtype: str = "BF16", layers: int = 2) -> dict[str, tuple[str, list[int]]]:
    """name -> (dtype, shape) of TINY_CONFIG's checkpoint (HF Llama names)."""
    t = {"model.embed_tokens.weight": (dtype, [256, 64]), "model.norm.weight": (dtype, [64]),
         "lm_head.weight": (dtype, [256, 64])}
    for i in range(layers):
        p = f"model.layers.{i}."
        t.update({
            p + "self_attn.q_proj.weight": (dtype, [64, 64]),   # 4 heads x 16
            p + "self_attn.k_proj.weight": (dtype, [32, 64]),   # 2 KV heads x 16
            p + "self_attn.v_proj.weight": (dtype, [32, 64]),
            p + "self_attn.o_proj.weight": (dtype, [64, 64]),
            p + "mlp.gate_proj.weight": (dtype, [128, 64]),
            p + "mlp.up_proj.weight": (dtype, [128, 64]),
            p + "mlp.down_proj.weight": (dtype, [64, 128]),
            p + "input_layernorm.weight": (dtype, [64]),
            p + "post_attention_layernorm.weight": (dtype, [64]),
        })
    return t


def safetensors_bytes(tensors: dict[str, tuple[str, list[int]]]) -> bytes:
    """A valid safetensors file: 8-byte length, JSON header, zero-filled data."""
    header, offset = {}, 0
    for name, (dtype, shape) in tensors.items():
        n = 1
        for d in shape:
            n *= d
        size = -(-n * BITS[dtype] // 8)
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + size]}
        offset += size
    header["__metadata__"] = {"format": "pt"}
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + bytes(offset)


def write_checkpoint(folder: Path, config: dict, shards: list[dict[str, tuple[str, list[int]]]]) -> Path:
    """config.json plus one model.safetensors (one shard) or an index and N shards."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")
    if len(shards) == 1:
        (folder / "model.safetensors").write_bytes(safetensors_bytes(shards[0]))
        return folder
    weight_map, total = {}, 0
    for i, shard in enumerate(shards, 1):
        name = f"model-{i:05d}-of-{len(shards):05d}.safetensors"
        (folder / name).write_bytes(safetensors_bytes(shard))
        for tensor, (dtype, shape) in shard.items():
            weight_map[tensor] = name
            n = 1
            for d in shape:
                n *= d
            total += -(-n * BITS[dtype] // 8)
    index = {"metadata": {"total_size": total}, "weight_map": weight_map}
    (folder / "model.safetensors.index.json").write_text(json.dumps(index), encoding="utf-8")
    return folder


def split(tensors: dict, n: int) -> list[dict]:
    """The tensors in ``n`` shards, in order."""
    items = list(tensors.items())
    size = -(-len(items) // n)
    return [dict(items[i:i + size]) for i in range(0, len(items), size)]
