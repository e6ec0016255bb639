"""ModelSpec: a validated model architecture as plain, frozen values.

Built from ``kvplan.schema.ModelSpecSchema`` by ``build_spec``. Explicit fields stay
explicit: ``head_dim`` is derived as hidden_size // num_attention_heads only when the
spec does not give it (deriving it is wrong for Gemma-7B: 256, not 3072 / 16 = 192).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field, fields

from kvplan.errors import SpecError
from kvplan.layers import KINDS, WINDOWED_KINDS, CacheKind, MLALatent, SharedKV, SlidingWindow


@dataclass(frozen=True)
class MoE:
    """Mixture-of-experts shape (see kvplan.schema.MoEBlock)."""

    num_experts: int
    experts_per_token: int
    expert_intermediate_size: int
    num_shared_experts: int = 0
    shared_expert_intermediate_size: int | None = None
    shared_expert_gate: bool = False
    first_dense_layers: int = 0
    layer_freq: int = 1
    router_bias: bool = False
    expert_bias: bool = False

    def is_moe_layer(self, layer: int) -> bool:
        return layer >= self.first_dense_layers and (layer - self.first_dense_layers) % self.layer_freq == 0


@dataclass(frozen=True)
class MLA:
    """MLA projection sizes (see kvplan.schema.MLABlock)."""

    kv_lora_rank: int
    qk_nope_head_dim: int
    qk_rope_head_dim: int
    v_head_dim: int
    q_lora_rank: int | None = None
    index_n_heads: int | None = None  # DeepSeek sparse attention's indexer heads (weights only)


@dataclass(frozen=True)
class RopeScaling:
    """Rotary scaling that sizes an engine's rotary table (see kvplan.schema.RopeScalingBlock)."""

    type: str  # "dynamic", "linear" (Gemma 3's global layers) or "longrope" (su / LongRoPE)
    factor: float | None = None  # dynamic and linear; None for longrope
    original_max_position_embeddings: int | None = None  # dynamic and longrope


@dataclass(frozen=True)
class SSM:
    """Which mixer a state-space layer runs and its weight-only details (see
    kvplan.schema.SSMBlock); the layer's cache kind carries the state sizes."""

    type: str = "mamba2"
    time_step_rank: int | None = None
    conv_bias: bool = True
    proj_bias: bool = False
    inner_norm: bool = True
    dt_norms: str = "none"


@dataclass(frozen=True)
class FFN:
    """A layer's feed-forward block: ``mlp`` (of ``intermediate_size``, else the model's),
    ``moe`` (the model's moe block) or ``none``."""

    kind: str
    intermediate_size: int | None = None


@dataclass(frozen=True)
class LayerGroup:
    """Consecutive-or-not layers sharing one cache kind, with the name the spec gave it."""

    label: str
    kind: CacheKind
    layers: tuple[int, ...]

    @property
    def count(self) -> int:
        return len(self.layers)


#: id(spec) -> hash(spec) for live specs (ModelSpec.__hash__).
_HASHES: dict[int, int] = {}


@dataclass(frozen=True)
class ModelSpec:
    """A model as plain values; ``layers`` holds one CacheKind per layer."""

    name: str
    source: str
    num_layers: int
    hidden_size: int
    num_attention_heads: int
    num_kv_heads: int
    head_dim: int
    v_head_dim: int
    vocab_size: int | None  # weights only; None when the config/spec leaves it out
    intermediate_size: int | None  # weights only
    tie_word_embeddings: bool
    dtype: str
    max_position_embeddings: int
    layers: tuple[CacheKind, ...]
    layer_labels: tuple[str, ...]
    display_name: str = ""
    aliases: tuple[str, ...] = ()
    notes: str = ""
    assumptions: tuple[str, ...] = ()
    weights_unknown: tuple[str, ...] = ()
    architecture: str = ""
    head_dim_explicit: bool = True
    moe: MoE | None = None
    mla: MLA | None = None
    mlp_gated: bool = True
    qkv_bias: bool = False
    o_bias: bool = False
    mlp_bias: bool = False
    norm: str = "rmsnorm"
    position_embedding: str = "rope"
    position_offset: int = 0
    norms_per_layer: int = 2
    qk_norm: bool = False
    attention_sinks: bool = False
    attention_output_gate: bool = False
    # tanh soft-cap on the attention logits (Gemma 2: config.json attn_logit_softcapping 50.0);
    # no bytes, but some engines' attention backends refuse it (vLLM's FlexAttention).
    attn_logit_softcapping: float | None = None
    # Rotary scaling that sizes vLLM's rotary table (kvplan.engines.vllm.rope_cache_bytes): dynamic
    # NTK (rows by release), linear (Gemma 3's global layers); None: max_position_embeddings rows.
    rope_scaling: RopeScaling | None = None
    # Gemma 3: the sliding layers' rotary base (config.json rope_local_base_freq): vLLM builds
    # them a separate table (kvplan.engines.vllm.rope_cache_bytes); None: one table for all layers.
    rope_local_base_freq: float | None = None
    # The rotary table's width (vLLM's rotary_dim) when less than head_dim (Phi-3 family:
    # int(head_dim x partial_rotary_factor); each family reader cites its model file);
    # None: head_dim, or the MLA rope width.
    rotary_dim: int | None = None
    # The max_position the model file passes to get_rope (config.json max_position_embeddings)
    # where it is not max_position_embeddings (the context) nor rope_scaling's original
    # (kvplan.hf.core.rope_max_position); None: those rows. SGLang's table follows it.
    rope_max_position: int | None = None
    extra_params: tuple[tuple[str, int], ...] = ()
    ssm: SSM = SSM()
    # One FFN per layer when the spec lays them out (``ffn``); None: the moe block's layers
    # are MoE, the others a dense MLP of intermediate_size.
    ffn: tuple[FFN, ...] | None = None
    vision_tower: object = None  # kvplan.towers.Component
    vision_projector: object = None  # kvplan.towers.Component
    weights_format: str | None = None
    weights_exclude: tuple[str, ...] = ()
    # fp8 checkpoints: quantization_config.weight_block_size (block-quantized weights), else None
    weights_block: tuple[int, ...] | None = None
    num_nextn_predict_layers: int = 0  # MTP modules (speculative decoding only)
    kv_cache_quant_algo: str = ""  # "FP8": the checkpoint asks for an fp8 KV cache
    # the quant_method that asked ("modelopt", "fp8", "compressed-tensors"; rule checkpoint_fp8_kv_auto)
    kv_cache_quant_method: str = ""
    language_model_only: bool = False  # the config's language_model_only: true (Engine.check_language_model_only)
    #: the text config's rope mrope_section, its number of entries (0: none): vLLM V2's RopeState
    #: (VLLM.v2_persistent_bytes)
    mrope_section_entries: int = 0
    #: the text config's word_embed_proj_dim / projection_dim / projection_size where given, as (name, value) pairs:
    #: vLLM's inputs_embeds width (ModelConfig.get_inputs_embeds_size; VLLM.v2_persistent_bytes), else hidden_size
    embed_projection: tuple[tuple[str, int], ...] = ()
    #: the config key that declares substituted experts (approximate_experts, or
    #: compression_config.transform_config.expert_substitution), None: none (VLLM.check_model, vLLM 0.33.0+)
    expert_substitution: str | None = None
    # DeepSeek sparse attention top-k sharing (Engine.check_dsa_topk_sharing): "" where every layer computes
    # its own top-k, else the config keys that say some reuse the previous layer's ("index_topk_freq 2")
    index_topk_sharing: str = ""
    origin: str = field(default="", compare=False)
    # The checkpoint's tensors (kvplan.hf.checkpoint.Checkpoint) when the model was read from
    # safetensors files or a Hub repo: weights then come from the headers, not the shapes.
    checkpoint: object = field(default=None, compare=False)

    def __hash__(self) -> int:
        # The dataclass hash hashes every layer each time, and planning hashes a spec once per
        # layer (lru_cache keys in kvplan.shapes): 10,000 layers cost 10**8 hashes. Once is enough
        # for a frozen spec.
        # Kept beside the instance, not in its __dict__ (which callers copy into new specs).
        cached = _HASHES.get(id(self))
        if cached is None:
            cached = hash(tuple(getattr(self, f.name) for f in fields(self) if f.compare))
            _HASHES[id(self)] = cached
            weakref.finalize(self, _HASHES.pop, id(self), None)
        return cached

    @property
    def groups(self) -> tuple[LayerGroup, ...]:
        """Layers grouped by (label, kind), in order of first appearance."""
        found: dict[tuple[str, CacheKind], list[int]] = {}
        for i, (label, kind) in enumerate(zip(self.layer_labels, self.layers)):
            found.setdefault((label, kind), []).append(i)
        return tuple(LayerGroup(label, kind, tuple(idx)) for (label, kind), idx in found.items())

    @property
    def has_mla(self) -> bool:
        """Some layer caches an MLA latent (DeepSeek-V2/V3 style; sparse MLA included)."""
        return any(isinstance(k, MLALatent) for k in set(self.layers))

    @property
    def has_sliding_window(self) -> bool:
        """Some layer keeps a sliding window of tokens (Mistral-7B-v0.1, Gemma-2/3, gpt-oss)."""
        return any(isinstance(k, SlidingWindow) for k in set(self.layers))

    @property
    def has_window_layers(self) -> bool:
        """Some layer keeps a window or a chunk of the context (sliding-window or chunked-local,
        kvplan.layers.WINDOWED_KINDS)."""
        return any(k.kind in WINDOWED_KINDS for k in set(self.layers))

    @property
    def rotary_width(self) -> int:
        """Columns of the rotary cos/sin table the engines build: the MLA rope width, else
        rotary_dim where the family narrows it, else head_dim."""
        return self.mla.qk_rope_head_dim if self.mla is not None else (self.rotary_dim or self.head_dim)

    @property
    def is_hybrid(self) -> bool:
        return len({type(k) for k in self.layers}) > 1

    def ffn_kind(self, layer: int) -> FFN:
        """Layer ``layer``'s feed-forward block."""
        if self.ffn is not None:
            if not 0 <= layer < len(self.ffn):
                raise SpecError(f"{self.origin or self.source}: the ffn layout has {len(self.ffn)} layers, "
                                f"not layer {layer}")
            return self.ffn[layer]
        if self.moe is not None and self.moe.is_moe_layer(layer):
            return _MOE
        return _MLP

    def is_moe_layer(self, layer: int) -> bool:
        return self.ffn_kind(layer).kind == "moe"

    def require_weight_fields(self) -> None:
        """Raise SpecError naming what weight figures need and the spec lacks: a missing
        vocab_size / intermediate_size, or a field listed in ``weights_unknown``. KV sizing
        never calls this."""
        missing = ["vocab_size (missing)"] if self.vocab_size is None else []
        kinds = [self.ffn_kind(i) for i in range(self.num_layers)]
        if self.intermediate_size is None and any(f.kind == "mlp" and f.intermediate_size is None for f in kinds):
            missing.append("intermediate_size (missing)")
        if self.moe is None and any(f.kind == "moe" for f in kinds):
            missing.append("moe (the ffn layout names moe layers)")
        missing += list(self.weights_unknown)
        if missing:
            where = self.origin or self.source
            raise SpecError(
                f"{where}: weight figures need {'; '.join(missing)}; KV sizing (kvplan size) does not. "
                "Point kvplan at the checkpoint (safetensors headers) or complete the spec (kvplan import -o)"
            )


_MLP = FFN("mlp")
_MOE = FFN("moe")


def _layer_names(d: dict, key: str = "cache") -> list[str]:
    """Per-layer kind labels of a ``cache`` or ``ffn`` layout (kinds + pattern or layer_types)."""
    block = d.get(key)
    if block is None:
        return ["attention"] * d["num_layers"]
    if block.get("layer_types") is not None:
        return list(block["layer_types"])
    pattern = block.get("pattern") or list(block["kinds"])
    return [pattern[i % len(pattern)] for i in range(d["num_layers"])]


def _ffn_layers(d: dict) -> tuple[FFN, ...] | None:
    if d.get("ffn") is None:
        return None
    kinds = {name: FFN(f["kind"], f.get("intermediate_size")) for name, f in d["ffn"]["kinds"].items()}
    return tuple(kinds[n] for n in _layer_names(d, "ffn"))


def _vision(d: dict):
    """The vision tower and projector (kvplan.towers) of a spec's ``vision`` block."""
    block = d.get("vision")
    if not block:
        return None, None
    from kvplan.towers import PROJECTORS, TOWERS, component

    tower = component(TOWERS, block["tower"])
    projector = component(PROJECTORS, block["projector"]) if block.get("projector") else None
    return tower, projector


def build_spec(d: dict, origin: str = "") -> ModelSpec:
    """A validated spec as plain data (``kvplan.schema.validate_spec``) -> ModelSpec.

    Raises SpecError for contradictions that span several fields."""
    d = dict(d)
    d["head_dim_explicit"] = d.get("head_dim") is not None
    if d.get("head_dim") is None:
        d["head_dim"] = d["hidden_size"] // d["num_attention_heads"]
    d["v_head_dim"] = d.get("v_head_dim") or d["head_dim"]
    cache = d.get("cache") or {"kinds": {"attention": {"kind": "full_attention"}}}
    kinds = {name: KINDS[fields["kind"]].from_fields(fields, d) for name, fields in cache["kinds"].items()}
    names = _layer_names(d)
    layers = tuple(kinds[n] for n in names)
    where = f"{origin}: " if origin else ""
    for i, kind in enumerate(layers):
        if isinstance(kind, SharedKV):
            src = kind.source_layer
            if src >= d["num_layers"]:
                raise SpecError(f"{where}layer {i} shares layer {src}, but the model has {d['num_layers']} layers")
            if isinstance(layers[src], SharedKV):
                raise SpecError(f"{where}layer {i} shares layer {src}, which has no cache of its own")
    if d.get("mla") is not None and not any(isinstance(k, MLALatent) for k in layers):
        raise SpecError(f"{where}the model has an mla block but no mla cache kind; add cache.kinds with kind: mla")
    quant = d.get("quantization") or {}
    tower, projector = _vision(d)
    return ModelSpec(
        name=d["name"],
        display_name=d.get("display_name") or d["name"],
        aliases=tuple(d.get("aliases") or ()),
        source=d["source"],
        notes=d.get("notes") or "",
        assumptions=tuple(d.get("assumptions") or ()),
        weights_unknown=tuple(d.get("weights_unknown") or ()),
        architecture=d.get("architecture") or "",
        num_layers=d["num_layers"],
        hidden_size=d["hidden_size"],
        num_attention_heads=d["num_attention_heads"],
        num_kv_heads=d["num_kv_heads"],
        head_dim=d["head_dim"],
        head_dim_explicit=d["head_dim_explicit"],
        v_head_dim=d["v_head_dim"],
        vocab_size=d.get("vocab_size"),
        intermediate_size=d.get("intermediate_size"),
        tie_word_embeddings=d["tie_word_embeddings"],
        dtype=d["dtype"],
        max_position_embeddings=d["max_position_embeddings"],
        layers=layers,
        layer_labels=tuple(names),
        moe=MoE(**d["moe"]) if d.get("moe") else None,
        mla=MLA(**d["mla"]) if d.get("mla") else None,
        mlp_gated=d["mlp_gated"],
        qkv_bias=d["qkv_bias"],
        o_bias=d["o_bias"],
        mlp_bias=d["mlp_bias"],
        norm=d["norm"],
        position_embedding=d["position_embedding"],
        position_offset=d.get("position_offset", 0),
        norms_per_layer=d.get("norms_per_layer", 2),
        qk_norm=d.get("qk_norm", False),
        attention_sinks=d.get("attention_sinks", False),
        attention_output_gate=d.get("attention_output_gate", False),
        attn_logit_softcapping=d.get("attn_logit_softcapping"),
        rope_scaling=RopeScaling(**d["rope_scaling"]) if d.get("rope_scaling") else None,
        rope_local_base_freq=d.get("rope_local_base_freq"),
        rotary_dim=d.get("rotary_dim"),
        rope_max_position=d.get("rope_max_position"),
        ssm=SSM(**{k: v for k, v in (d.get("ssm") or {}).items() if v is not None}),
        ffn=_ffn_layers(d),
        vision_tower=tower,
        vision_projector=projector,
        extra_params=tuple(sorted((d.get("extra_params") or {}).items())),
        weights_format=quant.get("format"),
        weights_exclude=tuple(quant.get("exclude") or ()),
        weights_block=tuple(quant["weight_block_size"]) if quant.get("weight_block_size") else None,
        num_nextn_predict_layers=d.get("num_nextn_predict_layers") or 0,
        kv_cache_quant_algo=d.get("kv_cache_quant_algo") or "",
        kv_cache_quant_method=(d.get("kv_cache_quant_method") or "modelopt") if d.get("kv_cache_quant_algo") else "",
        language_model_only=bool(d.get("language_model_only")),
        mrope_section_entries=d.get("mrope_section_entries") or 0,
        embed_projection=tuple(sorted((d.get("embed_projection") or {}).items())),
        expert_substitution=d.get("expert_substitution") or None,
        index_topk_sharing=_topk_sharing(d),
        origin=origin,
    )


def _topk_sharing(d: dict) -> str:
    """The DSA top-k sharing keys a spec mapping sets, as one phrase for messages ("" where none shares)."""
    parts = []
    if (d.get("index_topk_freq") or 1) > 1:
        parts.append(f"index_topk_freq {d['index_topk_freq']}")
        if d.get("index_skip_topk_offset") is not None:
            parts.append(f"index_skip_topk_offset {d['index_skip_topk_offset']}")
    if "S" in (d.get("index_topk_pattern") or ""):
        parts.append(f"index_topk_pattern {d['index_topk_pattern']!r}")
    return ", ".join(parts)


def spec_from_mapping(data: object, origin: str = "") -> ModelSpec:
    """Parsed YAML/JSON mapping in kvplan's spec format -> ModelSpec (validated)."""
    from kvplan.schema import validate_spec

    return build_spec(validate_spec(data, origin), origin)
