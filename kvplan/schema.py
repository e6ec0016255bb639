"""The spec schema: every check on user-supplied model specs lives here.

Pydantic models with ``extra="forbid"``, strict types and constraints in the types. The
rest of kvplan never sees these models: ``kvplan.spec.build_spec`` turns a validated
``ModelSpecSchema`` into a frozen ``ModelSpec`` of plain values.

Layer layout (``cache``): named kinds, then either a ``pattern`` repeated over the
layers or an explicit ``layer_types`` list, one name per layer:

    cache:
      kinds:
        local:  {kind: sliding_window, window: 1024}
        global: {kind: full_attention}
      pattern: [local, local, local, local, local, global]   # Gemma 3: 5 local : 1 global

"alternating" is a pattern of two, "every 8th layer is attention" a pattern of eight.
Without ``cache``, every layer is full attention with the model's KV heads and head_dim.
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from kvplan import limits
from kvplan.errors import SpecError

PositiveInt = Annotated[int, Field(gt=0)]
NonNegativeInt = Annotated[int, Field(ge=0)]
ModelDtype = Literal["bf16", "fp16", "fp32"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, defer_build=True)


# -- cache kinds (one model per kvplan.layers class, discriminated by `kind`) ------------
class FullAttentionSpec(_Strict):
    """Full attention. kv_heads / head_dim / v_head_dim default to the model's."""

    kind: Literal["full_attention"]
    kv_heads: PositiveInt | None = None
    head_dim: PositiveInt | None = None
    v_head_dim: PositiveInt | None = None


class SlidingWindowSpec(FullAttentionSpec):
    """Attention over the last `window` tokens."""

    kind: Literal["sliding_window"]  # type: ignore[assignment]
    window: PositiveInt


class SinkWindowSpec(FullAttentionSpec):
    """StreamingLLM: the first `sinks` tokens and the last `window` tokens of a full-attention
    layer (see kvplan.layers.SinkWindow)."""

    kind: Literal["sink_window"]  # type: ignore[assignment]
    window: PositiveInt
    sinks: NonNegativeInt = 0


class ChunkedLocalSpec(FullAttentionSpec):
    """Attention within aligned chunks of `chunk` tokens (Llama 4)."""

    kind: Literal["chunked_local"]  # type: ignore[assignment]
    chunk: PositiveInt


class MLASpec(_Strict):
    """MLA latent cache. Sizes default to the model's `mla` block."""

    kind: Literal["mla"]
    kv_lora_rank: PositiveInt | None = None
    qk_rope_head_dim: PositiveInt | None = None


class StatePartSpec(_Strict):
    """Constant per-sequence state (Mamba, linear attention); see kvplan.layers.StateSpace.
    Also the state-space half of an attention_with_state layer."""

    conv_dim: NonNegativeInt
    conv_kernel: PositiveInt
    ssm_heads: PositiveInt
    ssm_head_dim: PositiveInt
    ssm_state_size: PositiveInt
    state_dtype: ModelDtype | None = None
    # The recurrent state's dtype when it differs from the conv state's (vLLM's
    # mamba_ssm_cache_dtype, e.g. fp32 for Nemotron-H); default: state_dtype.
    ssm_state_dtype: ModelDtype | None = None
    # Mamba 2's B/C groups (included in conv_dim); vLLM replicates them under tp.
    n_groups: NonNegativeInt = 0


class StateSpaceSpec(StatePartSpec):
    """A layer holding only a state-space cache."""

    kind: Literal["state_space"]


class SharedKVSpec(_Strict):
    """Reuses the cache of layer `source_layer` (0-based): 0 bytes of its own."""

    kind: Literal["shared_kv"]
    source_layer: NonNegativeInt


class MLAIndexedSpec(MLASpec):
    """MLA latent plus DeepSeek-V3.2's indexer keys (fp8 + one fp32 scale per
    `index_quant_block` values) per token; see kvplan.layers.MLAIndexed."""

    kind: Literal["mla_indexed"]  # type: ignore[assignment]
    index_head_dim: PositiveInt
    index_quant_block: PositiveInt | None = None


class NoCacheSpec(_Strict):
    """A layer without attention (pruned or replaced by a linear map): no cache."""

    kind: Literal["no_cache"]
    replacement: Literal["none", "linear"] = "none"


class AttentionPartSpec(_Strict):
    """The attention half of an attention_with_state layer (sizes default to the model's)."""

    kind: Literal["full_attention", "sliding_window", "chunked_local"] = "full_attention"
    kv_heads: PositiveInt | None = None
    head_dim: PositiveInt | None = None
    v_head_dim: PositiveInt | None = None
    window: PositiveInt | None = None
    chunk: PositiveInt | None = None

    @model_validator(mode="after")
    def _window_or_chunk(self) -> AttentionPartSpec:
        needs = {"sliding_window": "window", "chunked_local": "chunk"}.get(self.kind)
        for name in ("window", "chunk"):
            if (getattr(self, name) is not None) != (name == needs):
                raise ValueError(f"{name} {'is required' if name == needs else 'is not allowed'} "
                                 f"for kind {self.kind}")
        return self


class AttentionWithStateSpec(_Strict):
    """Attention and a state-space mixer in the same layer (Falcon-H1): both caches."""

    kind: Literal["attention_with_state"]
    attention: AttentionPartSpec = AttentionPartSpec()
    state: StatePartSpec


KindSpec = Annotated[
    Union[FullAttentionSpec, SlidingWindowSpec, ChunkedLocalSpec, MLASpec, StateSpaceSpec, SharedKVSpec,
          MLAIndexedSpec, NoCacheSpec, AttentionWithStateSpec, SinkWindowSpec],
    Field(discriminator="kind"),
]


def _check_layout(kinds: dict, pattern: list[str] | None, layer_types: list[str] | None) -> None:
    """Named kinds laid over the layers by ``pattern`` or ``layer_types`` (one of them, or
    a single kind)."""
    if pattern is not None and layer_types is not None:
        raise ValueError("give either pattern or layer_types, not both")
    if pattern is None and layer_types is None and len(kinds) != 1:
        raise ValueError("several kinds need a pattern or layer_types to place them")
    for i, name in enumerate(pattern or layer_types or []):
        if name not in kinds:
            field = "pattern" if pattern is not None else "layer_types"
            raise ValueError(f"{field}.{i}: {name!r} is not one of the kinds {sorted(kinds)}")


class CacheSpec(_Strict):
    """Named layer kinds and how they are laid over the layers."""

    kinds: dict[str, KindSpec] = Field(min_length=1)
    pattern: list[str] | None = Field(default=None, min_length=1)
    layer_types: list[str] | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _layout(self) -> CacheSpec:
        _check_layout(self.kinds, self.pattern, self.layer_types)
        return self


class FFNKindSpec(_Strict):
    """A feed-forward block: a dense ``mlp`` (of ``intermediate_size``, default the
    model's), the model's ``moe`` block, or ``none`` (a layer with a mixer only)."""

    kind: Literal["mlp", "moe", "none"]
    intermediate_size: PositiveInt | None = None

    @model_validator(mode="after")
    def _width(self) -> FFNKindSpec:
        if self.intermediate_size is not None and self.kind != "mlp":
            raise ValueError(f"intermediate_size is only for kind mlp, not {self.kind}")
        return self


class FFNSpec(_Strict):
    """Per-layer feed-forward blocks, laid out like ``cache`` (Nemotron-H: a layer holds a
    mixer or an MLP; DeciLM: a width per layer). Without it the moe block's layers are MoE
    and the others a dense MLP of intermediate_size."""

    kinds: dict[str, FFNKindSpec] = Field(min_length=1)
    pattern: list[str] | None = Field(default=None, min_length=1)
    layer_types: list[str] | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _layout(self) -> FFNSpec:
        _check_layout(self.kinds, self.pattern, self.layer_types)
        return self


# -- architecture blocks used for parameter counts ---------------------------------------
class MoEBlock(_Strict):
    """Mixture of experts. Layers [0, first_dense_layers) are dense; after that every
    `layer_freq`-th layer is MoE (DeepSeek's moe_layer_freq, Qwen's decoder_sparse_step)."""

    num_experts: PositiveInt
    experts_per_token: PositiveInt
    expert_intermediate_size: PositiveInt
    num_shared_experts: NonNegativeInt = 0
    shared_expert_intermediate_size: PositiveInt | None = None
    shared_expert_gate: bool = False
    first_dense_layers: NonNegativeInt = 0
    layer_freq: PositiveInt = 1
    router_bias: bool = False
    expert_bias: bool = False

    @model_validator(mode="after")
    def _experts(self) -> MoEBlock:
        if self.experts_per_token > self.num_experts:
            raise ValueError(
                f"experts_per_token ({self.experts_per_token}) exceeds num_experts ({self.num_experts})"
            )
        return self


class MLABlock(_Strict):
    """MLA projection sizes (DeepSeek-V2/V3 config names). ``index_n_heads``: heads of
    DeepSeek sparse attention's lightning indexer (V3.2), for its weights."""

    q_lora_rank: PositiveInt | None = None
    kv_lora_rank: PositiveInt
    qk_nope_head_dim: PositiveInt
    qk_rope_head_dim: PositiveInt
    v_head_dim: PositiveInt
    index_n_heads: PositiveInt | None = None


class RopeScalingBlock(_Strict):
    """Rotary scaling whose cos/sin table some engine releases size differently from the
    context. ``dynamic``: dynamic NTK (Hugging Face rope_scaling type "dynamic" with a factor;
    InternLM2.5-7B: factor 2.0 over max_position_embeddings 32,768). ``original_max_position_embeddings``
    (dynamic only): the config's length before the factor, the ``max_position`` the model hands
    vLLM's get_rope; the spec's max_position_embeddings is the scaled context, floor(original x
    factor). vLLM keeps original x factor table rows up to 0.21.0 and original rows from 0.22.0
    (rule ``dynamic_ntk_rope_rows``). ``linear`` (Gemma 3 only, with ``rope_local_base_freq``):
    the full-attention layers' table, max_position_embeddings x factor rows
    (LinearScalingRotaryEmbedding), while the context stays max_position_embeddings (gemma-3-27b:
    factor 8.0 over 131,072). ``longrope`` (Hugging Face rope_scaling type "longrope" or "su";
    Phi-3-mini-128k: original_max_position_embeddings 4,096 under a max_position_embeddings of
    131,072), no factor: vLLM's Phi3LongRoPEScaledRotaryEmbedding keeps a short table of
    ``original_max_position_embeddings`` rows and a long one of max_position_embeddings rows, one
    buffer (long_short_cos_sin_cache)."""

    type: Literal["dynamic", "linear", "longrope"]
    factor: Annotated[float, Field(gt=0, allow_inf_nan=False, strict=False)] | None = None
    original_max_position_embeddings: PositiveInt | None = None


class SSMBlock(_Strict):
    """The mixer of the state_space layers, for their weights (the kind holds the state
    sizes). ``mamba1``: in/x/dt/out projections, needs ``time_step_rank``; ``mamba2``
    (the default): one in_proj to z, x, B, C, dt, ``inner_norm`` the gated RMSNorm;
    ``gated_deltanet`` (Qwen3-Next); ``lightning`` (MiniMax linear attention).
    ``conv_bias`` / ``proj_bias``: biases of conv1d / in_proj and out_proj. ``dt_norms``
    (Mamba 1): RMSNorms on dt, B and C with weights (Jamba), without (Falcon-Mamba)."""

    type: Literal["mamba1", "mamba2", "gated_deltanet", "lightning"] = "mamba2"
    time_step_rank: PositiveInt | None = None
    conv_bias: bool = True
    proj_bias: bool = False
    inner_norm: bool = True
    dt_norms: Literal["none", "weighted", "unweighted"] = "none"

    @model_validator(mode="after")
    def _rank(self) -> SSMBlock:
        if (self.type == "mamba1") != (self.time_step_rank is not None):
            raise ValueError("time_step_rank is required for type mamba1 and only for it")
        return self


class TowerSpec(_Strict):
    """A vision tower (kvplan.towers): ``kind`` and that class's fields."""

    kind: Literal["siglip", "clip", "qwen3_vl", "llama4", "moonvit"]
    hidden_size: PositiveInt
    intermediate_size: PositiveInt
    num_layers: PositiveInt | None = None
    depth: PositiveInt | None = None
    patch_size: PositiveInt
    image_size: PositiveInt | None = None
    num_channels: PositiveInt | None = None
    post_norm: bool | None = None
    config_num_layers: PositiveInt | None = None
    temporal_patch_size: PositiveInt | None = None
    num_position_embeddings: PositiveInt | None = None
    spatial_merge_size: PositiveInt | None = None
    out_hidden_size: PositiveInt | None = None
    num_deepstack: NonNegativeInt | None = None
    projector_input_dim: PositiveInt | None = None
    projector_output_dim: PositiveInt | None = None
    adapter_bias: bool | None = None
    pos_emb_height: PositiveInt | None = None
    pos_emb_width: PositiveInt | None = None
    num_heads: PositiveInt | None = None
    mrope: bool | None = None

    @model_validator(mode="after")
    def _fields(self) -> TowerSpec:
        _check_component(self, "kvplan.towers.TOWERS")
        return self


class ProjectorSpec(_Strict):
    """A multimodal projector (kvplan.towers): ``kind`` and that class's fields."""

    kind: Literal["gemma3", "llava", "llama4", "kimi_vl"]
    vision_hidden_size: PositiveInt | None = None
    vision_output_dim: PositiveInt | None = None
    text_hidden_size: PositiveInt
    merged_patches: PositiveInt | None = None
    bias: bool | None = None

    @model_validator(mode="after")
    def _fields(self) -> ProjectorSpec:
        _check_component(self, "kvplan.towers.PROJECTORS")
        return self


def _check_component(spec: BaseModel, where: str) -> None:
    """Every field the component class needs is given; no field it does not have."""
    import dataclasses

    from kvplan import towers

    cls = (towers.TOWERS if where.endswith("TOWERS") else towers.PROJECTORS)[spec.kind]
    known = {f.name: f for f in dataclasses.fields(cls)}
    for name, value in spec:
        if name != "kind" and value is not None and name not in known:
            raise ValueError(f"{name} is not a field of a {spec.kind} component")
    for name, f in known.items():
        required = f.default is dataclasses.MISSING
        if required and getattr(spec, name) is None:
            raise ValueError(f"a {spec.kind} component needs {name}")


class VisionBlock(_Strict):
    """The vision tower and multimodal projector of a multimodal wrapper, counted in the
    weights (section vision_tower / projector); the KV cache is the language model's."""

    tower: TowerSpec
    projector: ProjectorSpec | None = None


class QuantizationBlock(_Strict):
    """How the checkpoint's weights are stored, when not in `dtype` (config quantization_config)."""

    format: str
    exclude: list[str] = []
    # fp8 (quant_method fp8) only: the [rows, columns] of the weight blocks sharing one scale
    # (config quantization_config.weight_block_size); absent: per-tensor / per-channel scales
    # or not read. vLLM picks its fp8 MoE kernel by it (VLLM.fp8_block_experts_triton).
    weight_block_size: Annotated[list[PositiveInt], Field(min_length=2, max_length=2)] | None = None


class ModelSpecSchema(_Strict):
    """A model architecture, as far as KV-cache and weight planning need it."""

    name: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._+-]*$")]
    display_name: str | None = None
    aliases: list[str] = []
    source: Annotated[str, Field(min_length=1)]
    notes: str | None = None
    # What the importer assumed that could make a figure wrong (printed as a warning).
    assumptions: list[str] = []
    # Fields the weights depend on that are missing or were not read: weight and capacity
    # figures refuse, naming them; KV sizing does not need them.
    weights_unknown: list[str] = []
    architecture: str | None = None

    num_layers: PositiveInt
    hidden_size: PositiveInt
    num_attention_heads: PositiveInt
    num_kv_heads: PositiveInt
    head_dim: PositiveInt | None = None
    v_head_dim: PositiveInt | None = None
    # Weights only (KV sizing never reads them): a spec may leave them out.
    vocab_size: PositiveInt | None = None
    intermediate_size: PositiveInt | None = None
    tie_word_embeddings: bool = False
    dtype: ModelDtype
    max_position_embeddings: PositiveInt

    moe: MoEBlock | None = None
    mla: MLABlock | None = None
    cache: CacheSpec | None = None
    # Multi-token-prediction modules shipped with the checkpoint (DeepSeek-V3 config
    # num_nextn_predict_layers): each is one more decoder layer, loaded only for speculative
    # decoding (vLLM --speculative-config '{"method": "mtp"}').
    num_nextn_predict_layers: NonNegativeInt = 0
    # The checkpoint's quantization config asks for an FP8 KV cache (kvplan.hf.dtypes.kv_cache_quant_algo):
    # some engine releases then store --kv-cache-dtype auto as fp8 (rule checkpoint_fp8_kv_auto),
    # which depends on the quant_method that asked (kv_cache_quant_method; absent: modelopt, the
    # only one kvplan recorded before).
    kv_cache_quant_algo: Literal["FP8"] | None = None
    kv_cache_quant_method: Literal["modelopt", "fp8", "compressed-tensors", "compressed-tensors-other"] | None = None
    # The checkpoint's config says language_model_only: true (a multimodal architecture shipped or
    # served as its language model alone): engines that read the key serve it otherwise
    # (Engine.check_language_model_only).
    language_model_only: bool = False
    # The text config's rope mrope_section, its number of entries (M-RoPE positions from the vision grid; 0: none):
    # vLLM's Model Runner V2 keeps a RopeState of max(entries, 3) (0.30.0+; 3 before) int64 position rows of
    # max_num_batched_tokens + 1 (VLLM.v2_persistent_bytes).
    mrope_section_entries: NonNegativeInt = 0
    # The text config's word_embed_proj_dim / projection_dim / projection_size where given: vLLM sizes a multimodal
    # model's inputs_embeds buffer by the first its release reads (ModelConfig.get_inputs_embeds_size), else
    # hidden_size.
    embed_projection: dict[Literal["word_embed_proj_dim", "projection_dim", "projection_size"],
                           PositiveInt] | None = None
    # The config declares substituted experts (approximate_experts, or compression_config.transform_config.
    # expert_substitution): the key's name; vLLM 0.33.0+ then builds only the retained experts (VLLM.check_model).
    expert_substitution: Literal["approximate_experts", "compression_config.transform_config.expert_substitution"] | None = None
    # DeepSeek sparse attention top-k sharing (kvplan.hf.families.dsa): layers that reuse the previous
    # layer's top-k (index_topk_freq > 1, or "S" layers of index_topk_pattern) keep no indexer cache in
    # some engine releases (Engine.check_dsa_topk_sharing).
    index_topk_freq: PositiveInt = 1
    index_topk_pattern: str | None = None
    index_skip_topk_offset: int | None = None

    # Shape details for parameter counts (defaults are Llama's).
    mlp_gated: bool = True
    qkv_bias: bool = False
    o_bias: bool = False
    mlp_bias: bool = False
    norm: Literal["rmsnorm", "layernorm"] = "rmsnorm"
    position_embedding: Literal["rope", "learned", "alibi", "none"] = "rope"
    # Learned position rows beyond max_position_embeddings (OPT keeps 2 extra: 2048 + 2).
    position_offset: NonNegativeInt = 0
    # hidden_size norms in each decoder layer: 2 (Llama), 1 (Falcon-7B's shared input norm
    # before its parallel attention + MLP), 4 (Gemma 2/3: pre and post norms around both).
    norms_per_layer: PositiveInt = 2
    # Per-head RMSNorm on queries and keys (Qwen3, Gemma 3): 2 * head_dim weights a layer.
    qk_norm: bool = False
    # A learned attention-sink logit per query head (gpt-oss): num_attention_heads a layer.
    attention_sinks: bool = False
    # Qwen3-Next: q_proj also produces a sigmoid output gate per query channel (twice the rows).
    attention_output_gate: bool = False
    # The tanh soft-cap on attention logits, scores -> cap * tanh(scores / cap) (Gemma 2:
    # attn_logit_softcapping 50.0); no bytes, but vLLM's FlexAttention refuses it.
    attn_logit_softcapping: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = None
    # Rotary scaling that sizes an engine's rotary table differently from the context (see RopeScalingBlock).
    rope_scaling: RopeScalingBlock | None = None
    # Gemma 3: the sliding (local) layers' rotary base (config.json rope_local_base_freq, 10,000;
    # the global layers keep rope_theta and rope_scaling). vLLM's gemma3.py gives those layers
    # their own default rotary table of max_position_embeddings rows, beside the global one.
    rope_local_base_freq: Annotated[float, Field(gt=0, allow_inf_nan=False, strict=False)] | None = None
    # The rotary table's width when the rotary embedding covers only part of each head (Phi-4-mini:
    # partial_rotary_factor 0.75 of head_dim 128, 96): vLLM's cos/sin cache has this many columns.
    rotary_dim: PositiveInt | None = None
    # The rotary table's rows before any rope factor, where they are not the context's: the
    # max_position the model file passes to get_rope (config.json max_position_embeddings; Cohere's
    # model_max_length first) when another context key is smaller, or a rope factor scales the
    # context, and rope_scaling's original_max_position_embeddings is not it. SGLang's table follows it.
    rope_max_position: PositiveInt | None = None
    ssm: SSMBlock | None = None
    ffn: FFNSpec | None = None
    vision: VisionBlock | None = None
    extra_params: dict[str, NonNegativeInt] = {}
    quantization: QuantizationBlock | None = None

    @model_validator(mode="after")
    def _shapes(self) -> ModelSpecSchema:
        if self.index_topk_pattern is not None and not set(self.index_topk_pattern) <= {"F", "S"}:
            raise ValueError(f"index_topk_pattern must be a string of F and S (one a layer), got "
                             f"{self.index_topk_pattern!r}")
        if self.kv_cache_quant_method is not None and self.kv_cache_quant_algo is None:
            raise ValueError("kv_cache_quant_method says which quant_method asked for an FP8 KV cache; "
                             "give it with kv_cache_quant_algo: FP8, or drop it")
        if self.num_attention_heads % self.num_kv_heads:
            raise ValueError(
                f"num_attention_heads ({self.num_attention_heads}) is not a multiple of "
                f"num_kv_heads ({self.num_kv_heads})"
            )
        if self.head_dim is None and self.hidden_size % self.num_attention_heads:
            raise ValueError(
                f"head_dim is missing and hidden_size ({self.hidden_size}) is not a multiple of "
                f"num_attention_heads ({self.num_attention_heads}); give head_dim"
            )
        for block, name in ((self.cache, "cache"), (self.ffn, "ffn")):
            if block and block.layer_types is not None and len(block.layer_types) != self.num_layers:
                raise ValueError(
                    f"{name}.layer_types has {len(block.layer_types)} entries for {self.num_layers} layers"
                )
        head_dim = self.head_dim or self.hidden_size // self.num_attention_heads
        if self.rotary_dim is not None and self.rotary_dim > head_dim:
            raise ValueError(f"rotary_dim ({self.rotary_dim}) is more than head_dim ({head_dim})")
        rope = self.rope_scaling
        if rope is not None and (rope.factor is None) != (rope.type == "longrope"):
            raise ValueError(f"rope_scaling: {rope.type} " + ("takes no factor" if rope.type == "longrope"
                                                                else "needs a factor"))
        if rope is not None and rope.type == "longrope" and rope.original_max_position_embeddings is None:
            raise ValueError("rope_scaling: longrope needs original_max_position_embeddings (the short table's rows)")
        if rope is not None and rope.type == "dynamic":
            original = rope.original_max_position_embeddings
            if original is None:
                raise ValueError("rope_scaling: dynamic needs original_max_position_embeddings")
            if int(original * rope.factor) != self.max_position_embeddings:
                raise ValueError(
                    f"rope_scaling: original_max_position_embeddings {original} x factor {rope.factor:g} is not "
                    f"max_position_embeddings ({self.max_position_embeddings}), the scaled context"
                )
        if rope is not None and rope.type == "linear":
            if rope.original_max_position_embeddings is not None:
                raise ValueError("rope_scaling: linear scales the table, not the context: "
                                 "original_max_position_embeddings does not apply")
            if self.rope_local_base_freq is None:
                raise ValueError("rope_scaling: linear is modelled only for Gemma 3's global layers (with "
                                 "rope_local_base_freq); another model's linear table has the context's rows")
        if self.cache and self.mla is None:
            for name, kind in self.cache.kinds.items():
                if isinstance(kind, MLASpec) and (kind.kv_lora_rank is None or kind.qk_rope_head_dim is None):
                    raise ValueError(f"cache.kinds.{name}: an mla kind needs kv_lora_rank and "
                                     "qk_rope_head_dim, here or in the model's mla block")
        return self


def validation_message(err: ValidationError, origin: str = "", schema: type[BaseModel] | None = None) -> str:
    """One line from a pydantic error: ``origin: layers.2.head_dim: Input should be > 0``.

    With the ``schema`` that was validated, an unknown field is reported first (a misspelt
    name is why the field it meant is "missing") with the close names the schema knows
    there: ``deployment: unknown field; did you mean deployments?``."""
    errors = err.errors()
    first = first_error(err, schema)
    loc = ".".join(map(str, first["loc"]))
    msg = first["msg"]
    if first["type"] == "missing":
        msg = "required field is missing"
    elif first["type"] == "extra_forbidden":
        msg = "unknown field"
        close = close_field_names(schema, first["loc"]) if schema is not None else []
        if close:
            msg += "; did you mean " + ", ".join(close) + "?"
    elif first["type"] == "value_error":
        msg = msg.removeprefix("Value error, ")  # pydantic's prefix for a validator's ValueError
    prefix = f"{origin}: " if origin else ""
    where = f"{loc}: " if loc else ""
    more = f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""
    return f"{prefix}{where}{msg}{more}"


def first_error(err: ValidationError, schema: type[BaseModel] | None = None) -> dict:
    """The error a one-line message reports: pydantic's first, or with ``schema`` given the
    first unknown field (``deployment:`` misspelt makes ``deployments`` missing too)."""
    errors = err.errors()
    if schema is not None:
        return next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    return errors[0]


def _model_in(annotation) -> type[BaseModel] | None:
    """The pydantic model inside a field's annotation (``X | None``, ``list[X]``), if any."""
    import typing

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def close_field_names(schema: type[BaseModel], loc: tuple) -> list[str]:
    """Names the model holding ``loc``'s last part knows (its fields, and the other names it
    takes: ``FIELD_ALIASES``) closest to that part."""
    from kvplan.errors import close_names

    model = schema
    for part in loc[:-1]:
        if isinstance(part, int):  # a list item: the same model
            continue
        field = model.model_fields.get(part)
        model = _model_in(field.annotation) if field is not None else None
        if model is None:
            return []
    known = [*model.model_fields, *FIELD_ALIASES.get(model, ())]
    return close_names(str(loc[-1]), known) if loc else []


def validate_spec(data: object, origin: str = "") -> dict:
    """Validate a parsed YAML/JSON mapping; return it as plain data with every default
    filled in. Raise SpecError with one line on failure."""
    if not isinstance(data, dict):
        raise SpecError(f"{origin}: a model spec must be a mapping, got {type(data).__name__}")
    try:
        validated = ModelSpecSchema.model_validate(data).model_dump()
    except ValidationError as err:
        raise SpecError(validation_message(err, origin)) from None
    return limits.check_spec(validated, origin)


def json_schema() -> dict:
    """The JSON Schema of a model spec (what `kvplan schema` prints)."""
    schema = ModelSpecSchema.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "kvplan model spec"
    return schema


# -- deployment plans (`kvplan check`; owned by kvplan.plan) ------------------------------
def _plan_tokens(value: object) -> object:
    """``'32k'`` -> 32768 for plan fields, and whole numbers checked against
    kvplan.limits.MAX_TOKENS; other types pass through to strict checks."""
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        from kvplan.errors import BadInputError
        from kvplan.units import parse_tokens

        try:
            return parse_tokens(value, "token count")
        except BadInputError as err:
            raise ValueError(str(err)) from None
    return value


def _plan_bytes(value: object) -> object:
    """``'2GiB'`` -> 2147483648 for plan fields (at most kvplan.limits.MAX_MEMORY_BYTES)."""
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        from kvplan.errors import BadInputError
        from kvplan.units import parse_bytes

        try:
            return parse_bytes(value, "size")
        except BadInputError as err:
            raise ValueError(str(err)) from None
    return value


from pydantic import BeforeValidator  # noqa: E402  (kept next to the plan models that use it)

PlanTokens = Annotated[PositiveInt, BeforeValidator(_plan_tokens)]
PlanBytes = Annotated[PositiveInt, BeforeValidator(_plan_bytes)]


class ConcurrencyRequirementSchema(_Strict):
    """At least `requests` whole requests of `ctx` tokens must fit in the KV pool at once."""

    ctx: PlanTokens
    requests: Annotated[int, Field(gt=0, le=limits.MAX_BATCH)]


class RequirementsSchema(_Strict):
    """What a deployment must provide. Every given requirement is checked."""

    max_model_len_fits: bool = True
    min_concurrency: list[ConcurrencyRequirementSchema] = []
    min_kv_tokens: PlanTokens | None = None
    # KV pool bytes left per GPU after the largest min_concurrency load (or one request at
    # max_model_len when there is none).
    min_headroom: PlanBytes | None = None


def _plan_len(value: object) -> object:
    """max_model_len: a token count, or -1 / 'auto' (vLLM's auto-fit)."""
    if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value).strip().lower() in ("-1", "auto"):
        return "auto"
    return _plan_tokens(value)


def _plan_kv_memory(value: object) -> object:
    """kv_cache_memory_bytes: a size per GPU (bytes, '20GiB', vLLM's '20G'), or a list per rank."""
    from kvplan.errors import BadInputError

    if isinstance(value, (list, tuple)):
        return [_plan_kv_memory(v) for v in value]
    if isinstance(value, str):
        from kvplan.capacity import _rank_memory

        try:
            return _rank_memory(value, 1)[0]
        except BadInputError as err:
            raise ValueError(str(err)) from None
    return value


PlanLen = Annotated[Union[PositiveInt, Literal["auto"]], BeforeValidator(_plan_len)]
PlanKvMemory = Annotated[Union[PositiveInt, list[PositiveInt]], BeforeValidator(_plan_kv_memory)]

#: vLLM's (and SGLang's) names for deployment fields -> kvplan's field (the CLI's aliases).
DEPLOYMENT_ALIASES = {
    "tensor_parallel_size": "tp", "tp_size": "tp", "pipeline_parallel_size": "pp", "pp_size": "pp",
    "data_parallel_size": "dp", "dp_size": "dp", "kv_cache_dtype": "kv_dtype", "kv_cache_memory": "kv_cache_memory_bytes",
    "context_length": "max_model_len", "max_running_requests": "max_num_seqs",
    "chunked_prefill_size": "max_num_batched_tokens", "mem_fraction_static": "gpu_memory_utilization",
    # SGLang's --disable-hybrid-swa-memory: one token pool for every layer, the request field
    # `kvplan capacity --disable-hybrid-kv-cache-manager` sets (kvplan.vllm_args reads the flag so)
    "disable_hybrid_swa_memory": "disable_hybrid_kv_cache_manager",
}
#: Aliases that are SGLang's only (need engine: sglang).
SGLANG_ALIASES = ("tp_size", "pp_size", "dp_size", "context_length", "max_running_requests", "chunked_prefill_size",
                  "mem_fraction_static", "disable_hybrid_swa_memory")


class DeploymentSchema(_Strict):
    """One deployment: model, GPU, parallelism, formats, engine settings, requirements.

    vLLM's names are accepted for the same fields (tensor_parallel_size, kv_cache_dtype, ...;
    SGLang's with engine: sglang), and ``from_vllm`` / ``from_sglang`` take a whole launch
    command (kvplan.vllm_args)."""

    name: Annotated[str, Field(min_length=1)]
    model: Annotated[str, Field(min_length=1)] | None = None
    gpu: str | None = None
    gpu_mem: PlanBytes | None = None
    tp: Annotated[int, Field(gt=0, le=limits.MAX_DEGREE)] | None = None
    pp: Annotated[int, Field(gt=0, le=limits.MAX_DEGREE)] | None = None
    dp: Annotated[int, Field(gt=0, le=limits.MAX_DEGREE)] | None = None
    dtype: ModelDtype | None = None
    weights: str | None = None
    quantization: str | None = None
    kv_dtype: str | None = None
    engine: str = "vllm"
    gpu_memory_utilization: Annotated[float, Field(gt=0, le=1)] | None = None
    max_model_len: PlanLen | None = None
    max_num_batched_tokens: PlanTokens | None = None
    max_num_seqs: Annotated[int, Field(gt=0, le=limits.MAX_BATCH)] | None = None
    block_size: Annotated[int, Field(gt=0, le=limits.MAX_BLOCK_SIZE)] | None = None
    kv_cache_memory_bytes: PlanKvMemory | None = None
    num_gpu_blocks_override: Annotated[int, Field(gt=0, le=limits.MAX_TOKENS)] | None = None
    disable_hybrid_kv_cache_manager: bool | None = None
    allow_long_max_model_len: bool = False
    enable_expert_parallel: bool = False
    enable_prefix_caching: bool | None = None
    cpu_offload_gb: Annotated[float, Field(ge=0)] | None = None
    swap_space: Annotated[float, Field(ge=0)] | None = None
    from_vllm: str | None = None
    from_sglang: str | None = None
    # StreamingLLM eviction (kvplan.eviction) and speculative decoding (kvplan.speculative),
    # as `kvplan capacity --window/--sinks/--speculative-config` take them.
    window: PlanTokens | None = None
    sinks: NonNegativeInt | None = None
    speculative_config: dict[str, object] | str | None = None
    requires: RequirementsSchema = RequirementsSchema()

    @model_validator(mode="before")
    @classmethod
    def _vllm_names(cls, data):
        if not isinstance(data, dict):
            return data
        out = dict(data)
        engine = str(out.get("engine", "vllm")).strip().lower()
        for alias, field in DEPLOYMENT_ALIASES.items():
            if alias not in out:
                continue
            if alias in SGLANG_ALIASES and not engine.startswith("sglang"):
                raise ValueError(f"{alias} is SGLang's name (engine: sglang); use {field}")
            if field in out:
                raise ValueError(f"give {alias} or {field}, not both")
            out[field] = out.pop(alias)
        vllm_dtypes = {"auto": None, "half": "fp16", "float16": "fp16", "bfloat16": "bf16", "float": "fp32",
                       "float32": "fp32"}
        if isinstance(out.get("dtype"), str) and out["dtype"].lower() in vllm_dtypes:
            out["dtype"] = vllm_dtypes[out["dtype"].lower()]
        return out

    @model_validator(mode="after")
    def _gpu_given(self) -> DeploymentSchema:
        if self.gpu is None and self.gpu_mem is None:
            raise ValueError("give gpu (see `kvplan gpus`) or gpu_mem")
        if self.model is None and self.from_vllm is None and self.from_sglang is None:
            raise ValueError("give model (or from_vllm: \"vllm serve MODEL ...\")")
        return self


class PlanSchema(_Strict):
    """A plan file: optional `defaults` merged into every deployment, then the deployments."""

    version: Literal[1] = 1
    defaults: dict[str, object] = {}
    deployments: list[dict[str, object]] = Field(min_length=1, max_length=limits.MAX_DEPLOYMENTS)


#: Names a model takes besides its fields (close_field_names suggests them too).
FIELD_ALIASES: dict[type[BaseModel], tuple[str, ...]] = {DeploymentSchema: tuple(DEPLOYMENT_ALIASES)}
