"""Parameter shapes: every weight tensor of a model, written once.

``layer_shapes(spec, layer)`` lists the tensors of one decoder layer and
``model_shapes(spec)`` those outside the layers (embedding, learned positions, lm_head,
final norm, extra parameters). Each ``Param`` knows its shape, which part of the model it
belongs to (a ``kvplan.params.ParamCount`` field) and how tensor parallelism splits it.
Everything that needs parameter shapes reads them from here:

    kvplan.params   counts (sum of ``numel``)
    kvplan.weights  bytes in a weight format (matrices of the linear parts are quantized,
                    with per-output-channel or per-group scales), per GPU under TP/PP
    kvplan.engines  the MLP width a token passes through (``mlp_width``), for activations

Shapes follow the Hugging Face modules (``nn.Linear(in, out)`` holds an ``out x in``
weight and ``out`` biases). Tensor-parallel splits follow vLLM's layers
(vllm/model_executor/layers/linear.py, vocab_parallel_embedding.py, fused_moe/layer.py):

    column    output rows split tp ways (q_proj, gate/up, MLA q_b/kv_b, expert gate_up);
              the bias is split with them
    row       input columns split tp ways (o_proj, down_proj); the bias is kept whole on
              every rank (RowParallelLinear adds it once after the all-reduce)
    kv_heads  K/V projections: each rank keeps max(1, kv_heads // tp) heads (replicated past
              kv_heads, as QKVParallelLinear does)
    heads     a per-query-head vector (attention sinks) split with the heads
    vocab     embedding / lm_head rows padded to a multiple of 64, then split tp ways
    replicated  norms, routers, MLA's q_a / kv_a down projections, position embeddings

Worked example, Llama-3-8B layer (hidden 4096, 32 heads of 128, 8 KV heads, MLP 14336):
q 4096x4096, k 1024x4096, v 1024x4096, o 4096x4096, gate/up 14336x4096 each, down
4096x14336, two norms of 4096: 218,112,000 parameters. At tp 2 a rank holds q 2048 rows,
k/v 4 heads (512 rows each), o 2048 columns, gate/up 7168 rows, down 7168 columns.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache

from kvplan.layers import FullAttention, MLALatent, StateSpace
from kvplan.spec import ModelSpec
from kvplan.units import cdiv

COLUMN = "column"
ROW = "row"
KV_HEADS = "kv_heads"
HEADS = "heads"
VOCAB = "vocab"
REPLICATED = "replicated"

#: vLLM pads vocab-parallel embeddings to a multiple of this (DEFAULT_VOCAB_PADDING_SIZE).
VOCAB_PADDING = 64


@dataclass(frozen=True)
class Param:
    """One weight tensor, or ``count`` stacked copies of it (routed experts).

    ``cols`` is 0 for a vector of ``rows`` values (a norm weight, a bias, sink logits)."""

    name: str
    part: str  # a kvplan.params.ParamCount field
    rows: int
    cols: int = 0
    count: int = 1
    split: str = REPLICATED
    heads: int = 0  # KV_HEADS / HEADS splits: heads stacked along the rows

    @property
    def is_matrix(self) -> bool:
        return self.cols > 0

    @property
    def numel(self) -> int:
        return self.count * self.rows * max(self.cols, 1)

    def rank_rows(self, tp: int | None) -> int:
        """Rows one tensor-parallel rank holds (``tp=None``: the tensor itself, unpadded)."""
        if tp is None:
            return self.rows
        if self.split == COLUMN:
            return cdiv(self.rows, tp)
        if self.split in (KV_HEADS, HEADS):
            per_head = self.rows // self.heads
            kept = max(1, self.heads // tp) if self.split == KV_HEADS else cdiv(self.heads, tp)
            return kept * per_head
        if self.split == VOCAB:
            return cdiv(cdiv(self.rows, VOCAB_PADDING) * VOCAB_PADDING, tp)
        return self.rows

    def rank_cols(self, tp: int | None) -> int:
        """Columns one rank holds (0 for a vector)."""
        if tp is not None and self.split == ROW and self.is_matrix:
            return cdiv(self.cols, tp)
        return self.cols

    def rank_numel(self, tp: int | None) -> int:
        return self.count * self.rank_rows(tp) * max(self.rank_cols(tp), 1)


@dataclass(frozen=True)
class MoEParallel:
    """How one rank holds the routed experts (``part == "experts"``).

    vLLM shards MoE layers over every rank of the tensor- and data-parallel groups
    (vllm/model_executor/layers/fused_moe/config.py ``FusedMoEParallelConfig.make`` at
    commit 002d6073: ``flatten_tp_across_dp_and_pcp`` -> ``tp_size = dp * tp``; "MoE layers
    will be sharded according to the product of the tensor parallel size and data parallel
    size", vllm/config/parallel.py). Without expert parallelism each of the ``tp * dp``
    ranks holds a 1/(tp*dp) slice of every expert (``tp``); with
    ``--enable-expert-parallel`` it holds whole experts, ``ep = tp * dp`` groups of them
    (``ep_size = tp_size; tp_size = 1``). ``determine_expert_map`` gives the first
    ``E % ep`` ranks one expert more, so the most loaded rank holds ``cdiv(E, ep)``.
    DeepSeek-V3 (256 experts) at dp 8 with EP: 32 whole experts per rank; without EP:
    all 256, each 1/8 of its 2048 intermediate channels."""

    tp: int = 1
    ep: int = 1

    @classmethod
    def of(cls, tp: int, dp: int = 1, expert_parallel: bool = False) -> MoEParallel:
        group = tp * dp
        return cls(1, group) if expert_parallel and group > 1 else cls(group, 1)

    def share(self, p: Param) -> tuple[Param, int]:
        """(the part of expert tensor ``p`` one rank holds, the tp to split it with)."""
        if self.ep == 1:
            return p, self.tp
        return replace(p, count=cdiv(p.count, self.ep)), self.tp

    def experts_per_rank(self, num_experts: int) -> int:
        """Routed experts (whole or sliced) on the most loaded rank."""
        return cdiv(num_experts, self.ep)


def _linear(prefix: str, part: str, n_in: int, n_out: int, bias: bool, split: str, *, count: int = 1,
            heads: int = 0) -> list[Param]:
    """nn.Linear(n_in, n_out): an ``n_out x n_in`` weight and, with ``bias``, ``n_out`` biases."""
    out = [Param(f"{prefix}.weight", part, n_out, n_in, count, split, heads)]
    if bias:
        # A row-parallel layer keeps its whole bias on every rank.
        out.append(Param(f"{prefix}.bias", part, n_out, 0, count, REPLICATED if split == ROW else split, heads))
    return out


def _norm(spec: ModelSpec, prefix: str, part: str, size: int) -> list[Param]:
    """RMSNorm: a weight; LayerNorm: a weight and a bias."""
    out = [Param(f"{prefix}.weight", part, size)]
    if spec.norm == "layernorm":
        out.append(Param(f"{prefix}.bias", part, size))
    return out


def mlp_shapes(spec: ModelSpec, prefix: str, part: str, intermediate: int, bias: bool, count: int = 1) -> list[Param]:
    """Gated (SwiGLU/GeGLU: gate + up, then down) or plain (up, down) feed-forward block."""
    hidden = spec.hidden_size
    up_rows = intermediate * (2 if spec.mlp_gated else 1)
    name = "gate_up_proj" if spec.mlp_gated else "up_proj"
    return _linear(f"{prefix}.{name}", part, hidden, up_rows, bias, COLUMN, count=count) + _linear(
        f"{prefix}.down_proj", part, intermediate, hidden, bias, ROW, count=count)


def _attention(spec: ModelSpec, layer: int) -> list[Param]:
    kind = spec.layers[layer]
    hidden, heads = spec.hidden_size, spec.num_attention_heads
    out: list[Param] = []
    if isinstance(kind, MLALatent) and spec.mla is not None:
        m = spec.mla
        qk_head = m.qk_nope_head_dim + m.qk_rope_head_dim
        if m.q_lora_rank:  # q_a_proj -> q_a_layernorm -> q_b_proj (DeepSeek-V3)
            out += _linear("q_a_proj", "attention", hidden, m.q_lora_rank, spec.qkv_bias, REPLICATED)
            out.append(Param("q_a_layernorm.weight", "attention", m.q_lora_rank))
            out += _linear("q_b_proj", "attention", m.q_lora_rank, heads * qk_head, False, COLUMN)
        else:  # one q_proj (DeepSeek-V2-Lite)
            out += _linear("q_proj", "attention", hidden, heads * qk_head, spec.qkv_bias, COLUMN)
        out += _linear("kv_a_proj_with_mqa", "attention", hidden, m.kv_lora_rank + m.qk_rope_head_dim,
                       spec.qkv_bias, REPLICATED)
        out.append(Param("kv_a_layernorm.weight", "attention", m.kv_lora_rank))
        out += _linear("kv_b_proj", "attention", m.kv_lora_rank, heads * (m.qk_nope_head_dim + m.v_head_dim),
                       False, COLUMN)
        out += _linear("o_proj", "attention", heads * m.v_head_dim, hidden, spec.o_bias, ROW)
    else:
        if isinstance(kind, FullAttention):  # sliding / chunked layers too (subclasses)
            kv_heads, k_dim, v_dim = kind.kv_heads, kind.head_dim, kind.v_head_dim
        else:  # shared-KV layers keep their own projections
            kv_heads, k_dim, v_dim = spec.num_kv_heads, spec.head_dim, spec.v_head_dim
        out += _linear("q_proj", "attention", hidden, heads * k_dim, spec.qkv_bias, COLUMN)
        out += _linear("k_proj", "attention", hidden, kv_heads * k_dim, spec.qkv_bias, KV_HEADS, heads=kv_heads)
        out += _linear("v_proj", "attention", hidden, kv_heads * v_dim, spec.qkv_bias, KV_HEADS, heads=kv_heads)
        out += _linear("o_proj", "attention", heads * v_dim, hidden, spec.o_bias, ROW)
        if spec.qk_norm:  # per-head RMSNorm weights of head_dim, shared by all heads
            out += [Param("q_norm.weight", "attention", k_dim), Param("k_norm.weight", "attention", k_dim)]
    if spec.attention_sinks:  # one learned logit per query head (gpt-oss), split with the heads
        out.append(Param("sinks", "attention", heads, 0, 1, HEADS, heads))
    return out


def _state_space(spec: ModelSpec, kind: StateSpace) -> list[Param]:
    """An approximate Mamba-2-style mixer from the dims a spec carries: in_proj to (z, xBC,
    dt), depthwise conv1d with bias, A_log / D / dt_bias per head, a gated RMSNorm over the
    inner size, out_proj. Channels and heads split tp ways."""
    hidden = spec.hidden_size
    inner = kind.ssm_heads * kind.ssm_head_dim
    return [
        Param("mixer.in_proj.weight", "state_space", inner + kind.conv_dim + kind.ssm_heads, hidden, split=COLUMN),
        Param("mixer.conv1d.weight", "state_space", kind.conv_dim, kind.conv_kernel, split=COLUMN),
        Param("mixer.conv1d.bias", "state_space", kind.conv_dim, split=COLUMN),
        Param("mixer.A_log", "state_space", kind.ssm_heads, split=COLUMN),
        Param("mixer.D", "state_space", kind.ssm_heads, split=COLUMN),
        Param("mixer.dt_bias", "state_space", kind.ssm_heads, split=COLUMN),
        Param("mixer.norm.weight", "state_space", inner, split=COLUMN),
        Param("mixer.out_proj.weight", "state_space", hidden, inner, split=ROW),
    ]


def _ffn(spec: ModelSpec, layer: int) -> list[Param]:
    moe = spec.moe
    if moe is None or not moe.is_moe_layer(layer):
        return mlp_shapes(spec, "mlp", "mlp", spec.intermediate_size, spec.mlp_bias)
    out = _linear("mlp.gate", "router", spec.hidden_size, moe.num_experts, moe.router_bias, REPLICATED)
    out += mlp_shapes(spec, "mlp.experts", "experts", moe.expert_intermediate_size, moe.expert_bias, moe.num_experts)
    if moe.num_shared_experts:
        shared = moe.shared_expert_intermediate_size or moe.expert_intermediate_size
        out += mlp_shapes(spec, "mlp.shared_experts", "mlp", shared, spec.mlp_bias, moe.num_shared_experts)
        if moe.shared_expert_gate:  # Qwen-MoE: sigmoid(Linear(hidden, 1)) on the shared expert
            out += _linear("mlp.shared_expert_gate", "router", spec.hidden_size, 1, False, REPLICATED)
    return out


@lru_cache(maxsize=4096)
def layer_shapes(spec: ModelSpec, layer: int) -> tuple[Param, ...]:
    """Every weight tensor of decoder layer ``layer`` (0-based): mixer, norms, feed-forward."""
    spec.require_weight_fields()
    if not 0 <= layer < spec.num_layers:
        from kvplan.errors import BadInputError

        raise BadInputError(f"layer {layer} is out of range: {spec.name} has layers 0..{spec.num_layers - 1}")
    kind = spec.layers[layer]
    mixer = _state_space(spec, kind) if isinstance(kind, StateSpace) else _attention(spec, layer)
    norms = [p for i in range(spec.norms_per_layer) for p in _norm(spec, f"norm{i}", "norms", spec.hidden_size)]
    return tuple(mixer + norms + _ffn(spec, layer))


@lru_cache(maxsize=256)
def model_shapes(spec: ModelSpec) -> tuple[Param, ...]:
    """Tensors outside the decoder layers: token embedding (+ learned positions, replicated),
    lm_head (absent when tied), final norm, and ``extra_params`` (vision tower, ...)."""
    spec.require_weight_fields()
    hidden = spec.hidden_size
    out = [Param("embed_tokens.weight", "embedding", spec.vocab_size, hidden, split=VOCAB)]
    if spec.position_embedding == "learned":
        positions = spec.max_position_embeddings + spec.position_offset
        out.append(Param("embed_positions.weight", "embedding", positions, hidden))
    if not spec.tie_word_embeddings:
        out.append(Param("lm_head.weight", "lm_head", spec.vocab_size, hidden, split=VOCAB))
    out += _norm(spec, "norm", "norms", hidden)
    out += [Param(name, "other", n) for name, n in spec.extra_params if n]
    return tuple(out)


def siglip_vision_shapes(hidden: int, intermediate: int, layers: int, patch: int, image_size: int,
                         channels: int = 3) -> tuple[Param, ...]:
    """A SigLIP vision tower without its pooling head (transformers SiglipVisionTransformer,
    vision_use_head false): patch conv with bias, a learned position per patch, per layer
    q/k/v/out projections with biases, fc1/fc2 with biases and two LayerNorms, then a post
    LayerNorm. Gemma 3 (hidden 1152, MLP 4304, 27 layers, patch 14, image 896): 416,866,032."""
    positions = (image_size // patch) ** 2
    out = [Param("vision_tower.patch_embedding.weight", "other", hidden, channels * patch * patch),
           Param("vision_tower.patch_embedding.bias", "other", hidden),
           Param("vision_tower.position_embedding.weight", "other", positions, hidden)]
    for i in range(layers):
        pre = f"vision_tower.layers.{i}"
        for proj in ("q_proj", "k_proj", "v_proj", "out_proj"):
            out += _linear(f"{pre}.self_attn.{proj}", "other", hidden, hidden, True, REPLICATED)
        out += _linear(f"{pre}.mlp.fc1", "other", hidden, intermediate, True, REPLICATED)
        out += _linear(f"{pre}.mlp.fc2", "other", intermediate, hidden, True, REPLICATED)
        out += [Param(f"{pre}.layer_norm{j}.{w}", "other", hidden) for j in (1, 2) for w in ("weight", "bias")]
    out += [Param(f"vision_tower.post_layernorm.{w}", "other", hidden) for w in ("weight", "bias")]
    return tuple(out)


def gemma3_projector_shapes(vision_hidden: int, text_hidden: int) -> tuple[Param, ...]:
    """Gemma3MultiModalProjector: mm_input_projection_weight (vision x text) and the RMSNorm
    mm_soft_emb_norm over the vision width (the pooling has no weights): 2,950,272 for 4B."""
    return (Param("multi_modal_projector.mm_input_projection_weight", "other", vision_hidden, text_hidden),
            Param("multi_modal_projector.mm_soft_emb_norm.weight", "other", vision_hidden))


def mlp_width(spec: ModelSpec, layer: int) -> int:
    """Intermediate channels one token passes through in a layer's feed-forward block (all
    ranks): the dense MLP's, or the routed experts it is sent to plus the shared experts."""
    moe = spec.moe
    if moe is None or not moe.is_moe_layer(layer):
        return spec.intermediate_size
    width = moe.experts_per_token * moe.expert_intermediate_size
    if moe.num_shared_experts:
        width += moe.num_shared_experts * (moe.shared_expert_intermediate_size or moe.expert_intermediate_size)
    return width
