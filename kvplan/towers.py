"""Vision towers and multimodal projectors: their parameter tensors, written once.

A multimodal wrapper (Gemma 3, LLaVA, Llama 4, Qwen3-VL, Kimi-VL) puts a vision encoder and
a projector in front of its language model. Each tower and projector here is one frozen
class whose ``shapes()`` lists every weight tensor as a ``kvplan.shapes.Param`` (part
``other``), named ``vision_tower.*`` or ``multimodal_projector.*`` so that
``kvplan.weights`` puts its bytes in the right section. ``kvplan.shapes.model_shapes``
appends them after the embedding.

Tensor parallelism follows vLLM's encoders, which shard the vision transformer like the
language model unless ``--mm-encoder-tp-mode data`` is set: the fused q/k/v projection is
column-parallel (QKVParallelLinear with as many KV heads as query heads), the attention
output and fc2 row-parallel (their biases kept whole), fc1 column-parallel; convolutions,
class embeddings, layer norms and learned positions are replicated (SigLIP's positions are
a VocabParallelEmbedding, split like a vocabulary).

Sources (vLLM ``vllm/model_executor/models/``): siglip.py (SiglipVisionEmbeddings,
SiglipEncoderLayer), clip.py (CLIPVisionTransformer; LLaVA builds it only up to its
``vision_feature_layer`` and without ``post_layernorm``: llava.py
``init_vision_tower_for_llava``), gemma3_mm.py (Gemma3MultiModalProjector), llava.py
(LlavaMultiModalProjector), mllama4.py (Llama4VisionModel, Llama4VisionPixelShuffleMLP,
Llama4MultiModalProjector), qwen3_vl.py (Qwen3_VisionTransformer, Qwen3_VisionPatchMerger),
moonvit.py (MoonVitPretrainedModel) and kimi_vl.py (KimiVLMultiModalProjector).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import ClassVar

from kvplan.shapes import COLUMN, REPLICATED, ROW, VOCAB, Param, linear

TOWER = "vision_tower"
PROJECTOR = "multimodal_projector"


def _layer_norm(name: str, size: int) -> list[Param]:
    """nn.LayerNorm: a weight and a bias, replicated."""
    return [Param(f"{name}.weight", "other", size), Param(f"{name}.bias", "other", size)]


def _vit_block(pre: str, hidden: int, intermediate: int, bias: bool = True,
               names: tuple[str, str, str, str] = ("qkv_proj", "out_proj", "fc1", "fc2")) -> list[Param]:
    """One pre-norm ViT encoder layer: two LayerNorms, a fused q/k/v projection (column),
    the attention output (row), an fc1 (column) / fc2 (row) MLP; biases on every linear."""
    qkv, out, fc1, fc2 = names
    return [*_layer_norm(f"{pre}.norm1", hidden), *_layer_norm(f"{pre}.norm2", hidden),
            *linear(f"{pre}.{qkv}", "other", hidden, 3 * hidden, bias, COLUMN),
            *linear(f"{pre}.{out}", "other", hidden, hidden, bias, ROW),
            *linear(f"{pre}.{fc1}", "other", hidden, intermediate, True, COLUMN),
            *linear(f"{pre}.{fc2}", "other", intermediate, hidden, True, ROW)]


@dataclass(frozen=True)
class Component:
    """Base of towers and projectors: ``kind`` names it in a spec's ``vision`` block."""

    kind: ClassVar[str] = ""

    def shapes(self) -> tuple[Param, ...]:
        raise NotImplementedError

    @property
    def numel(self) -> int:
        return sum(p.numel for p in self.shapes())

    def as_dict(self) -> dict:
        return {"kind": self.kind, **{f.name: getattr(self, f.name) for f in fields(self)}}


# -- towers ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class SiglipTower(Component):
    """SigLIP without its pooling head (vision_use_head false; Gemma 3): patch conv with
    bias, one learned position per patch (vocab-parallel), ``layers`` encoder layers, a
    post LayerNorm. Gemma 3 (1152 wide, MLP 4304, 27 layers, patch 14, image 896):
    416,866,032."""

    kind: ClassVar[str] = "siglip"
    hidden_size: int
    intermediate_size: int
    num_layers: int
    patch_size: int
    image_size: int
    num_channels: int = 3

    def shapes(self) -> tuple[Param, ...]:
        h, pre = self.hidden_size, TOWER
        positions = (self.image_size // self.patch_size) ** 2
        out = [Param(f"{pre}.patch_embedding.weight", "other", h, self.num_channels * self.patch_size ** 2),
               Param(f"{pre}.patch_embedding.bias", "other", h),
               Param(f"{pre}.position_embedding.weight", "other", positions, h, split=VOCAB)]
        for i in range(self.num_layers):
            out += _vit_block(f"{pre}.layers.{i}", h, self.intermediate_size)
        out += _layer_norm(f"{pre}.post_layernorm", h)
        return tuple(out)


@dataclass(frozen=True)
class ClipTower(Component):
    """CLIP ViT (LLaVA): class embedding, bias-free patch conv, ``(image / patch)^2 + 1``
    learned positions, a pre LayerNorm, ``num_layers`` encoder layers (the layers vLLM
    builds: up to the feature layer LLaVA reads, e.g. 23 of 24 for
    ``vision_feature_layer: -2``) and the post LayerNorm only when ``post_norm``.
    ``config_num_layers``: the checkpoint's depth (vision_config.num_hidden_layers) where it
    is more than the layers built (no weights; SGLang's default mem_fraction_static reads
    it, kvplan.engines.sglang rule ``vlm_fraction``); None: ``num_layers``."""

    kind: ClassVar[str] = "clip"
    hidden_size: int
    intermediate_size: int
    num_layers: int
    patch_size: int
    image_size: int
    num_channels: int = 3
    post_norm: bool = False
    config_num_layers: int | None = None

    def shapes(self) -> tuple[Param, ...]:
        h, pre = self.hidden_size, TOWER
        positions = (self.image_size // self.patch_size) ** 2 + 1
        out = [Param(f"{pre}.class_embedding", "other", h),
               Param(f"{pre}.patch_embedding.weight", "other", h, self.num_channels * self.patch_size ** 2),
               Param(f"{pre}.position_embedding.weight", "other", positions, h),
               *_layer_norm(f"{pre}.pre_layrnorm", h)]
        for i in range(self.num_layers):
            out += _vit_block(f"{pre}.layers.{i}", h, self.intermediate_size)
        if self.post_norm:
            out += _layer_norm(f"{pre}.post_layernorm", h)
        return tuple(out)


@dataclass(frozen=True)
class Qwen3VLTower(Component):
    """Qwen3-VL's vision transformer with its mergers (all under ``visual.`` in the
    checkpoint): a Conv3d patch embedding with bias (channels x temporal x patch x patch),
    ``num_position_embeddings`` learned positions, ``depth`` blocks, the patch merger (a
    LayerNorm over the hidden size, then fc1 of (hidden x merge^2)^2 and fc2 to
    ``out_hidden_size``) and one deepstack merger per deepstack layer (its LayerNorm over
    hidden x merge^2).

    Two fields shape no weight, only the rotary tables SGLang keeps from load
    (kvplan.engines.sglang SGLang.rope_table_bytes): ``num_heads`` (vision_config.num_heads;
    the vision head width is hidden_size / num_heads) and ``mrope`` (the text model's
    rope_scaling names an mrope_section: SGLang 0.5.22+ keeps an axis_map beside the text
    table). None: not recorded (a spec written before kvplan read them), and SGLang refuses."""

    kind: ClassVar[str] = "qwen3_vl"
    hidden_size: int
    intermediate_size: int
    depth: int
    patch_size: int
    temporal_patch_size: int
    num_channels: int
    num_position_embeddings: int
    spatial_merge_size: int
    out_hidden_size: int
    num_deepstack: int
    num_heads: int | None = None
    mrope: bool | None = None

    def _merger(self, pre: str, postshuffle: bool) -> list[Param]:
        merged = self.hidden_size * self.spatial_merge_size ** 2
        return [*_layer_norm(f"{pre}.norm", merged if postshuffle else self.hidden_size),
                *linear(f"{pre}.linear_fc1", "other", merged, merged, True, COLUMN),
                *linear(f"{pre}.linear_fc2", "other", merged, self.out_hidden_size, True, ROW)]

    def shapes(self) -> tuple[Param, ...]:
        h, pre = self.hidden_size, TOWER
        kernel = self.num_channels * self.temporal_patch_size * self.patch_size ** 2
        out = [Param(f"{pre}.patch_embed.proj.weight", "other", h, kernel),
               Param(f"{pre}.patch_embed.proj.bias", "other", h),
               Param(f"{pre}.pos_embed.weight", "other", self.num_position_embeddings, h)]
        for i in range(self.depth):
            out += _vit_block(f"{pre}.blocks.{i}", h, self.intermediate_size,
                              names=("attn.qkv", "attn.proj", "mlp.linear_fc1", "mlp.linear_fc2"))
        out += self._merger(f"{pre}.merger", postshuffle=False)
        for i in range(self.num_deepstack):
            out += self._merger(f"{pre}.deepstack_merger_list.{i}", postshuffle=True)
        return tuple(out)


@dataclass(frozen=True)
class Llama4Tower(Component):
    """Llama 4's vision encoder with its pixel-shuffle adapter: a bias-free unfold
    projection (channels x patch^2 -> hidden, column-parallel), a class embedding,
    ``(image / patch)^2 + 1`` learned positions, pre and post LayerNorms, ``num_layers``
    encoder layers, and the adapter MLP (intermediate_size -> projector_input_dim ->
    projector_output_dim, biases when ``adapter_bias``). Scout/Maverick defaults (768 wide,
    34 layers, MLP 5632, patch 14, image 448, 4096 adapter): 415,856,640."""

    kind: ClassVar[str] = "llama4"
    hidden_size: int
    intermediate_size: int
    num_layers: int
    patch_size: int
    image_size: int
    num_channels: int
    projector_input_dim: int
    projector_output_dim: int
    adapter_bias: bool = False

    def shapes(self) -> tuple[Param, ...]:
        h, pre = self.hidden_size, TOWER
        positions = (self.image_size // self.patch_size) ** 2 + 1
        out = [Param(f"{pre}.patch_embedding.linear.weight", "other", h, self.num_channels * self.patch_size ** 2,
                     split=COLUMN),
               Param(f"{pre}.class_embedding", "other", h),
               Param(f"{pre}.positional_embedding_vlm", "other", positions, h),
               *_layer_norm(f"{pre}.layernorm_pre", h), *_layer_norm(f"{pre}.layernorm_post", h)]
        for i in range(self.num_layers):
            out += _vit_block(f"{pre}.model.layers.{i}", h, self.intermediate_size,
                              names=("self_attn.qkv_proj", "self_attn.o_proj", "mlp.fc1", "mlp.fc2"))
        adapter = f"{pre}.vision_adapter.mlp"
        out += linear(f"{adapter}.fc1", "other", self.intermediate_size, self.projector_input_dim,
                      self.adapter_bias, COLUMN)
        out += linear(f"{adapter}.fc2", "other", self.projector_input_dim, self.projector_output_dim,
                      self.adapter_bias, ROW)
        return tuple(out)


@dataclass(frozen=True)
class MoonViTTower(Component):
    """Kimi-VL's MoonViT: a patch conv with bias, a learned ``pos_emb_height x
    pos_emb_width`` grid of positions (interpolated per image), ``num_layers`` encoder
    layers (biased wqkv / wo / fc0 / fc1) and a final LayerNorm."""

    kind: ClassVar[str] = "moonvit"
    hidden_size: int
    intermediate_size: int
    num_layers: int
    patch_size: int
    pos_emb_height: int
    pos_emb_width: int
    num_channels: int = 3

    def shapes(self) -> tuple[Param, ...]:
        h, pre = self.hidden_size, TOWER
        out = [Param(f"{pre}.patch_embed.proj.weight", "other", h, self.num_channels * self.patch_size ** 2),
               Param(f"{pre}.patch_embed.proj.bias", "other", h),
               Param(f"{pre}.patch_embed.pos_emb.weight", "other", self.pos_emb_height * self.pos_emb_width, h)]
        for i in range(self.num_layers):
            out += _vit_block(f"{pre}.encoder.blocks.{i}", h, self.intermediate_size,
                              names=("wqkv", "wo", "mlp.fc0", "mlp.fc1"))
        out += _layer_norm(f"{pre}.encoder.final_layernorm", h)
        return tuple(out)


# -- projectors -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Gemma3Projector(Component):
    """Gemma3MultiModalProjector: ``mm_input_projection_weight`` (vision x text, a bare
    parameter, replicated) and the RMSNorm ``mm_soft_emb_norm`` over the vision width (the
    pooling has no weights): 2,950,272 for Gemma-3-4B."""

    kind: ClassVar[str] = "gemma3"
    vision_hidden_size: int
    text_hidden_size: int

    def shapes(self) -> tuple[Param, ...]:
        return (Param(f"{PROJECTOR}.mm_input_projection_weight", "other", self.vision_hidden_size,
                      self.text_hidden_size),
                Param(f"{PROJECTOR}.mm_soft_emb_norm.weight", "other", self.vision_hidden_size))


@dataclass(frozen=True)
class LlavaProjector(Component):
    """LlavaMultiModalProjector: linear_1 (vision -> text, column) and linear_2 (text ->
    text, row), with biases when ``bias`` (multimodal_projector_bias, default true)."""

    kind: ClassVar[str] = "llava"
    vision_hidden_size: int
    text_hidden_size: int
    bias: bool = True

    def shapes(self) -> tuple[Param, ...]:
        return tuple(linear(f"{PROJECTOR}.linear_1", "other", self.vision_hidden_size, self.text_hidden_size,
                            self.bias, COLUMN)
                     + linear(f"{PROJECTOR}.linear_2", "other", self.text_hidden_size, self.text_hidden_size,
                              self.bias, ROW))


@dataclass(frozen=True)
class Llama4Projector(Component):
    """Llama4MultiModalProjector: one bias-free linear_1 from ``vision_output_dim`` to the
    text width (column-parallel, gathered)."""

    kind: ClassVar[str] = "llama4"
    vision_output_dim: int
    text_hidden_size: int

    def shapes(self) -> tuple[Param, ...]:
        return tuple(linear(f"{PROJECTOR}.linear_1", "other", self.vision_output_dim, self.text_hidden_size, False,
                            COLUMN))


@dataclass(frozen=True)
class KimiVLProjector(Component):
    """KimiVLMultiModalProjector: a LayerNorm over the vision width, then linear_1 over
    the merged patches (vision x merge_h x merge_w, square, with bias) and linear_2 to the
    text width (with bias); both replicated (ReplicatedLinear)."""

    kind: ClassVar[str] = "kimi_vl"
    vision_hidden_size: int
    merged_patches: int
    text_hidden_size: int

    def shapes(self) -> tuple[Param, ...]:
        merged = self.vision_hidden_size * self.merged_patches
        return tuple(_layer_norm(f"{PROJECTOR}.pre_norm", self.vision_hidden_size)
                     + linear(f"{PROJECTOR}.linear_1", "other", merged, merged, True, REPLICATED)
                     + linear(f"{PROJECTOR}.linear_2", "other", merged, self.text_hidden_size, True, REPLICATED))


TOWERS: dict[str, type[Component]] = {c.kind: c for c in (SiglipTower, ClipTower, Qwen3VLTower, Llama4Tower,
                                                           MoonViTTower)}
PROJECTORS: dict[str, type[Component]] = {c.kind: c for c in (Gemma3Projector, LlavaProjector, Llama4Projector,
                                                               KimiVLProjector)}


def component(registry: dict[str, type[Component]], data: dict) -> Component:
    """A tower or projector from a validated spec mapping (``kind`` + its fields)."""
    cls = registry[data["kind"]]
    return cls(**{k: v for k, v in data.items() if k != "kind" and v is not None})
