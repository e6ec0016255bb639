"""Weights from a checkpoint's safetensors headers: exact bytes, split into language model,
vision tower, projector and other, and per GPU under tensor and pipeline parallelism.

A checkpoint is a folder with ``config.json`` and ``model.safetensors`` or
``model.safetensors.index.json`` + shards (or the same files on the Hub, read by
``kvplan.hf.hub``). Only headers are read (``kvplan.hf.safetensors``).

Bytes on the GPU, per tensor, follow how vLLM loads it:

- unquantized floating tensors (F32 / F16 / BF16) are held in the served dtype (the
  spec's ``dtype``: a float32 checkpoint is served in bf16, see ``kvplan.hf.dtypes``);
- quantized payloads (F8, packed I32/U8 ...) and their scales stay as stored (vLLM keeps
  ``weight_scale`` / ``weight_scale_inv`` in float32, and DeepSeek-V3's
  ``e_score_correction_bias`` too);
- decoder layers at or past ``num_hidden_layers`` (DeepSeek-V3's multi-token-prediction
  layer 61) are not loaded for plain decoding, and are reported as ``unused``.

Tensor parallelism splits each tensor by the rule of the module it belongs to, written once
in ``kvplan.shapes.Param`` (column, row, kv_heads, vocab, replicated): q/gate/up/fc1 are
column-parallel, o/down/fc2 row-parallel, k/v keep max(1, kv_heads // tp) heads, fused qkv
splits its query rows and keeps its K/V heads as K/V, embeddings and lm_head are
vocab-parallel. Pipeline stages take the decoder layers of
``kvplan.footprint.pp_stage_ranges``; the embedding, vision tower and projector sit on the
first stage, the lm_head and final norm on the last.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from kvplan.errors import BadInputError
from kvplan.hf.safetensors import FLOAT_DTYPES, DTYPE_BITS, TensorInfo, read_header

INDEX = "model.safetensors.index.json"
SINGLE = "model.safetensors"

SECTIONS = ("language_model", "vision_tower", "projector", "other", "unused")

_VISION = re.compile(r"(^|\.)(vision_tower|vision_model|visual|vision_encoder|image_encoder|vision|vit|"
                     r"audio_tower|audio_model)\.")
_PROJECTOR = re.compile(r"(^|\.)(multi_modal_projector|mm_projector|multimodal_projector|mm_input_projection|"
                        r"mm_soft_emb_norm|connector|aligner)(\.|$)")
_LAYER = re.compile(r"\.(?:layers|h|blocks|layer|decoder\.layers)\.(\d+)\.")
#: Tensors held as stored whatever the model dtype: quantization scales and zero points,
#: and parameters vLLM creates in float32.
_KEEP_STORED = re.compile(r"(scale|zeros|zero_point|g_idx|e_score_correction_bias)")

# Module names (the last path part before weight/bias/scale) -> tensor-parallel rule.
_COLUMN = {"q_proj", "q_b_proj", "kv_b_proj", "gate_proj", "up_proj", "gate_up_proj", "c_fc", "fc1", "w1", "w3",
           "dense_h_to_4h", "wq", "in_proj", "linear_fc1"}
_ROW = {"o_proj", "down_proj", "c_proj", "fc2", "w2", "dense_4h_to_h", "out_proj", "dense", "wo", "proj",
        "linear_fc2"}
_KV = {"k_proj", "v_proj", "wk", "wv"}
_FUSED_QKV = {"qkv_proj", "query_key_value", "c_attn", "W_pack", "qkv", "wqkv"}
_QK_NORMS = {"q_norm", "k_norm", "q_layernorm", "k_layernorm", "q_a_layernorm", "kv_a_layernorm"}
_VOCAB = {"embed_tokens", "wte", "word_embeddings", "embed_in", "lm_head", "embed_out", "output_layer", "output"}


@dataclass(frozen=True)
class Checkpoint:
    """The tensors a checkpoint holds (from its headers) and where they were read."""

    source: str
    tensors: tuple[TensorInfo, ...]

    @property
    def stored_bytes(self) -> int:
        return sum(t.nbytes for t in self.tensors)

    def float_dtypes(self) -> set[str]:
        return {t.dtype for t in self.tensors if t.dtype in FLOAT_DTYPES}


# -- reading ------------------------------------------------------------------------------
def shard_names(index: dict, where: str) -> list[str]:
    """The shard files an index's weight_map names, in order."""
    weight_map = index.get("weight_map") if isinstance(index, dict) else None
    if not isinstance(weight_map, dict) or not all(isinstance(v, str) for v in weight_map.values()):
        raise BadInputError(f"{where}: no weight_map of tensor -> file names")
    return list(dict.fromkeys(weight_map.values()))


def check_index(index: dict, tensors: tuple[TensorInfo, ...], where: str) -> None:
    """Every tensor the index maps must be in the headers read."""
    found = {t.name for t in tensors}
    missing = [n for n in index["weight_map"] if n not in found]
    if missing:
        raise BadInputError(f"{where}: {len(missing)} tensor(s) of the index are in no shard header, "
                            f"e.g. {missing[0]!r}")


def read_folder(folder: Path) -> Checkpoint | None:
    """The checkpoint in ``folder`` (index + shards, or one model.safetensors, or the
    folder's *.safetensors), or None when it holds no safetensors file."""
    folder = Path(folder)
    index_path = folder / INDEX
    if index_path.is_file():
        try:
            index = json.loads(index_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            raise BadInputError(f"{index_path}: not a readable JSON index") from None
        files = shard_names(index, str(index_path))
        tensors = tuple(t for name in files for t in read_header(folder / name))
        check_index(index, tensors, str(index_path))
        return Checkpoint(str(folder), tensors)
    files = [folder / SINGLE] if (folder / SINGLE).is_file() else sorted(folder.glob("*.safetensors"))
    if not files:
        return None
    return Checkpoint(str(folder), tuple(t for f in files for t in read_header(f)))


def served_dtype_from_headers(ckpt: Checkpoint) -> str | None:
    """What vLLM's ``_find_dtype`` takes when the config gives no dtype: the common dtype of
    the checkpoint's floating tensors (fp16 alone stays fp16; bf16, float32 or a mix
    promote to float32, which is then served as bf16)."""
    floats = ckpt.float_dtypes()
    if not floats:
        return None
    return "fp16" if floats == {"F16"} else "bf16"


# -- classification -----------------------------------------------------------------------
def section(name: str, num_layers: int) -> str:
    if _VISION.search(name):
        return "vision_tower"
    if _PROJECTOR.search(name):
        return "projector"
    m = _LAYER.search(name)
    if m and int(m.group(1)) >= num_layers:
        return "unused"
    return "language_model"


def _module(name: str) -> str:
    """``model.layers.0.self_attn.q_proj.weight_scale_inv`` -> ``q_proj``."""
    parts = name.split(".")
    return parts[-2] if len(parts) >= 2 else parts[0]


def part(name: str) -> str:
    """The ParamCount field a language-model tensor belongs to (by its name)."""
    mod = _module(name)
    low = name.lower()
    if mod in _VOCAB and not _LAYER.search(name):
        return "lm_head" if mod in ("lm_head", "embed_out", "output_layer", "output") else "embedding"
    if "position" in low or mod == "wpe":
        return "embedding"
    if "expert" in low and "shared" not in low:
        return "experts"
    if mod in ("gate", "router") or "e_score_correction_bias" in low or "shared_expert_gate" in low:
        return "router"
    # Nemotron-H calls every block's module "mixer": its attention and MLP layers keep their
    # projection names.
    if "mixer" in low and mod in ("q_proj", "k_proj", "v_proj", "o_proj"):
        return "attention"
    if "mixer" in low and mod in ("up_proj", "down_proj", "gate_proj"):
        return "mlp"
    if "mixer" in low or "mamba" in low or "linear_attn" in low:
        return "state_space"
    if mod in _QK_NORMS:  # per-head q/k norms belong to attention (as in kvplan.shapes)
        return "attention"
    if "norm" in mod.lower() or re.match(r"ln(_|\d|$)", mod):  # the hidden-size layer norms
        return "norms"
    if any(k in low for k in ("attn", "attention", "q_proj", "k_proj", "v_proj", "o_proj")):
        return "attention"
    if any(k in low for k in ("mlp", "feed_forward", "ffn", "fc1", "fc2")):
        return "mlp"
    return "other"


def param_for(t: TensorInfo, spec, sect: str):
    """``t`` as a ``kvplan.shapes.Param`` carrying its tensor-parallel rule (one place for
    the split arithmetic)."""
    from kvplan.shapes import COLUMN, KV_HEADS, REPLICATED, ROW, VOCAB, Param

    shape = t.shape or (1,)
    mod, leaf = _module(t.name), t.name.rsplit(".", 1)[-1]
    rows, cols = shape[0], (shape[1] if len(shape) == 2 else 0)
    count = 1
    if len(shape) == 3:  # stacked experts [E, a, b]: split along the intermediate dim, tp ways
        count, rows, cols = shape[0], shape[1] * shape[2], 0
    elif len(shape) > 3:  # conv kernels: replicated
        rows, cols = t.numel, 0
    is_bias = leaf == "bias"
    rule, heads = REPLICATED, 0
    if sect == "language_model" and mod in _VOCAB and not _LAYER.search(t.name):
        rule = VOCAB
    elif mod in _COLUMN or (mod in _KV and sect != "language_model"):
        rule = COLUMN
    elif mod in _ROW:
        rule = REPLICATED if is_bias else ROW
    elif mod in _KV:
        rule, heads = KV_HEADS, spec.num_kv_heads
    elif mod in _FUSED_QKV and sect == "language_model":
        return _fused_qkv(t, spec, rows, cols)
    elif mod in _FUSED_QKV:
        rule = COLUMN
    if rule == KV_HEADS and rows % heads:
        rule, heads = COLUMN, 0
    return (Param(t.name, "x", rows, cols, count, rule, heads),)


def _fused_qkv(t: TensorInfo, spec, rows: int, cols: int):
    """A fused q/k/v projection: its query rows are column-parallel, its K/V rows keep
    max(1, kv_heads // tp) heads per rank (vLLM QKVParallelLinear)."""
    from kvplan.shapes import COLUMN, KV_HEADS, Param

    q_rows = spec.num_attention_heads * spec.head_dim
    kv_rows = rows - q_rows
    if kv_rows <= 0 or kv_rows % spec.num_kv_heads:
        return (Param(t.name, "x", rows, cols, 1, COLUMN),)
    return (Param(t.name + "[q]", "x", q_rows, cols, 1, COLUMN),
            Param(t.name + "[kv]", "x", kv_rows, cols, 1, KV_HEADS, spec.num_kv_heads))


def _held_bits(t: TensorInfo, served_bits: int) -> int:
    if t.dtype in FLOAT_DTYPES and not _KEEP_STORED.search(t.name):
        return served_bits
    return DTYPE_BITS[t.dtype]


# -- weights ------------------------------------------------------------------------------
def checkpoint_weights(spec, tp: int = 1, pp: int = 1):
    """``kvplan.weights.Weights`` from the spec's checkpoint headers (see the module docstring)."""
    from kvplan.footprint import Parallelism, check_parallelism, pp_stage_ranges
    from kvplan.weights import PARTS, WEIGHT_FORMATS, StageWeights, Weights

    check_parallelism(spec, Parallelism(tp, pp))
    ckpt: Checkpoint = spec.checkpoint
    served_bits = WEIGHT_FORMATS[spec.dtype].bits
    ranges = pp_stage_ranges(spec.num_layers, pp)
    stage_of_layer = {layer: s for s, rng in enumerate(ranges) for layer in rng}
    last = len(ranges) - 1

    by_part = dict.fromkeys(PARTS, 0)
    by_section = dict.fromkeys(SECTIONS, 0)
    stage_parts = [dict.fromkeys(PARTS, 0) for _ in ranges]
    stage_params = [0] * len(ranges)
    total_params = 0
    embedding = None
    for t in ckpt.tensors:
        sect = section(t.name, spec.num_layers)
        bits = _held_bits(t, served_bits)
        nbytes = -(-t.numel * bits // 8)
        by_section[sect] += nbytes
        if sect == "unused":
            continue
        p = part(t.name) if sect == "language_model" else "other"
        by_part[p] += nbytes
        total_params += t.numel
        m = _LAYER.search(t.name)
        if sect != "language_model":
            stage = 0
        elif m:
            stage = stage_of_layer[int(m.group(1))]
        else:
            stage = 0 if p == "embedding" else last
        if p == "embedding" and sect == "language_model" and embedding is None:
            embedding = t
        for q in param_for(t, spec, sect):
            n = q.rank_numel(tp)
            stage_parts[stage][p] += -(-n * bits // 8)
            stage_params[stage] += n
    if spec.tie_word_embeddings and pp > 1 and embedding is not None:
        # The last stage needs its own copy of a tied head (as kvplan.weights does).
        for q in param_for(embedding, spec, "language_model"):
            n = q.rank_numel(tp)
            stage_parts[last]["lm_head"] += -(-n * _held_bits(embedding, served_bits) // 8)
            stage_params[last] += n
    stages = tuple(StageWeights(stage=s, layers=rng, params=stage_params[s], bytes=sum(stage_parts[s].values()),
                                by_part=stage_parts[s]) for s, rng in enumerate(ranges))
    return Weights(
        model=spec.name, format="checkpoint", dtype=spec.dtype, tp=tp, pp=pp, total_params=total_params,
        total_bytes=sum(by_part.values()), by_part=by_part, quantized_parts=(), stages=stages,
        by_section=by_section,
    )
