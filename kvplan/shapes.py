"""Parameter shapes: every weight tensor of a model, written once.

``layer_shapes(spec, layer)`` lists the tensors of one decoder layer and
``model_shapes(spec)`` those outside the layers (embedding, learned positions, lm_head,
final norm, vision tower and projector (``kvplan.towers``), extra parameters). Each
``Param`` knows its shape, which part of the model it
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
              (the padded count must divide by tp: ``check_tp_splits``)
    replicated  norms, routers, MLA's q_a / kv_a down projections, position embeddings

A decoder layer is a mixer, a feed-forward block and the norms in front of them:

    mixer   from the layer's cache kind: attention (GQA / MLA / sliding ...), a state-space
            or linear-attention mixer (``spec.ssm`` says which: Mamba 1, Mamba 2, Gated
            DeltaNet, lightning attention), both side by side (Falcon-H1), a hidden x hidden
            linear map, or nothing (a pruned or MLP-only layer: ``no_cache``)
    ffn     ``spec.ffn_kind(layer)``: a dense MLP of its width, the MoE block, or none
            (Mamba and Nemotron-H layers hold a mixer or an MLP, not both)
    norms   ``norms_per_layer`` for a layer with both a mixer and an FFN; half of them for a
            layer with one (each sub-block has its own pre-norm), none for an empty layer

Worked example, Llama-3-8B layer (hidden 4096, 32 heads of 128, 8 KV heads, MLP 14336):
q 4096x4096, k 1024x4096, v 1024x4096, o 4096x4096, gate/up 14336x4096 each, down
4096x14336, two norms of 4096: 218,112,000 parameters. At tp 2 a rank holds q 2048 rows,
k/v 4 heads (512 rows each), o 2048 columns, gate/up 7168 rows, down 7168 columns.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache

from kvplan.errors import SpecError
from kvplan.layers import (AttentionWithState, CacheKind, FullAttention, MLAIndexed, MLALatent, NoCache, SharedKV,
                           StateSpace)
from kvplan.spec import FFN, ModelSpec
from kvplan.units import cdiv, round_up

COLUMN = "column"
ROW = "row"
KV_HEADS = "kv_heads"
HEADS = "heads"
VOCAB = "vocab"
REPLICATED = "replicated"

#: vLLM pads vocab-parallel embeddings to a multiple of this (DEFAULT_VOCAB_PADDING_SIZE).
VOCAB_PADDING = 64

#: Where the engines refuse an uneven tensor-parallel split, read in their source (vLLM
#: v0.8.0..v0.33.0 and SGLang 0.5.8 alike): ``divide(n, tp)`` (vllm/distributed/utils.py
#: ensure_divisibility: ``assert numerator % denominator == 0``) in ColumnParallelLinear
#: (output rows), MergedColumnParallelLinear (``assert all(output_size % tp_size == 0 ...)``,
#: each of gate and up), RowParallelLinear (input columns: down_proj) and
#: VocabParallelEmbedding / ParallelLMHead (``divide(num_embeddings_padded, tp_size)``,
#: after padding the vocabulary to a multiple of 64: the padding is to 64, never to tp).
#: TensorRT-LLM's Linear (tensorrt_llm/_torch/modules/linear.py) asserts the same for its
#: row and column layers, but its Embedding/LMHead pad the vocabulary to a multiple of tp.
SPLIT_RULE_ENGINES = "vLLM and SGLang"


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

    def rank_rows(self, tp: int | None, vocab_padding: int = VOCAB_PADDING) -> int:
        """Rows one tensor-parallel rank holds (``tp=None``: the tensor itself, unpadded). A
        vocabulary split pads the rows to a multiple of ``vocab_padding`` first (the engine's:
        kvplan.engines.base.Engine.vocab_padding; 1 for TensorRT-LLM, whose padding to a
        multiple of tp leaves cdiv(rows, tp) a rank)."""
        if tp is None:
            return self.rows
        # cdiv: an uneven dense MLP or vocabulary split is refused before (check_tp_splits); the
        # other column and row splits are checked by the heads, the cache kinds and the MoE check
        if self.split == COLUMN:
            return cdiv(self.rows, tp)
        if self.split in (KV_HEADS, HEADS):
            per_head = self.rows // self.heads
            kept = max(1, self.heads // tp) if self.split == KV_HEADS else cdiv(self.heads, tp)
            return kept * per_head
        if self.split == VOCAB:
            return cdiv(round_up(self.rows, vocab_padding), tp)
        return self.rows

    def rank_cols(self, tp: int | None) -> int:
        """Columns one rank holds (0 for a vector)."""
        if tp is not None and self.split == ROW and self.is_matrix:
            return cdiv(self.cols, tp)
        return self.cols

    def rank_numel(self, tp: int | None, vocab_padding: int = VOCAB_PADDING) -> int:
        return self.count * self.rank_rows(tp, vocab_padding) * max(self.rank_cols(tp), 1)


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


@lru_cache(maxsize=256)
def _mlp_widths(spec: ModelSpec) -> tuple[int, ...]:
    """The distinct intermediate sizes of the dense MLP layers (none without weight fields)."""
    widths = {f.intermediate_size or spec.intermediate_size for i in range(spec.num_layers)
              if (f := spec.ffn_kind(i)).kind == "mlp"}
    return tuple(sorted(w for w in widths if w))


def check_tp_splits(spec: ModelSpec, tp: int, *, vocab: bool = True, engines: str = SPLIT_RULE_ENGINES) -> None:
    """ShapeError where the engines assert on an uneven tensor-parallel split of a dense
    layer (``SPLIT_RULE_ENGINES``): the dense MLP's intermediate size (gate/up rows,
    down_proj columns) and the vocabulary padded to a multiple of 64. Qwen2.5-7B at tp 28:
    18,944 = 28 x 676 + 16, refused (kvplan used to round 677 rows up per rank). Attention
    heads and KV heads are checked by ``footprint.check_parallelism`` and the cache kinds;
    routed experts by the MoE sharding check (kvplan.capacity)."""
    from kvplan.errors import ShapeError

    if tp <= 1:
        return
    for width in _mlp_widths(spec):
        if width % tp:
            raise ShapeError(
                f"tp={tp} does not divide {spec.name}'s MLP intermediate_size {width:,} ({width:,} = {tp} x "
                f"{width // tp:,} + {width % tp}): {engines} do not start it (vllm/model_executor/layers/"
                f"linear.py MergedColumnParallelLinear / RowParallelLinear: divide(intermediate_size, tp)); use a tp "
                f"that divides {width:,}")
    if vocab and spec.vocab_size:
        padded = round_up(spec.vocab_size, VOCAB_PADDING)
        if padded % tp:
            raise ShapeError(
                f"tp={tp} does not divide {spec.name}'s vocabulary {spec.vocab_size:,} padded to {padded:,} (a "
                f"multiple of {VOCAB_PADDING}): {SPLIT_RULE_ENGINES} do not start it (vllm/model_executor/layers/"
                f"vocab_parallel_embedding.py VocabParallelEmbedding: divide(num_embeddings_padded, tp)); use a tp "
                f"that divides {padded:,}")


def linear(prefix: str, part: str, n_in: int, n_out: int, bias: bool, split: str, *, count: int = 1,
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
    return linear(f"{prefix}.{name}", part, hidden, up_rows, bias, COLUMN, count=count) + linear(
        f"{prefix}.down_proj", part, intermediate, hidden, bias, ROW, count=count)


# -- mixers: one function per cache kind (looked up along the kind's class hierarchy) ---------
def _attention(spec: ModelSpec, kind: CacheKind) -> list[Param]:
    """q/k/v/o projections (GQA/MQA/MHA, sliding and chunked layers alike); a shared-KV
    layer keeps its own projections with the model's sizes. ``attention_output_gate``
    (Qwen3-Next): q_proj also produces a sigmoid gate per query channel (twice the rows)."""
    hidden, heads = spec.hidden_size, spec.num_attention_heads
    if isinstance(kind, FullAttention):
        kv_heads, k_dim, v_dim = kind.kv_heads, kind.head_dim, kind.v_head_dim
    else:
        kv_heads, k_dim, v_dim = spec.num_kv_heads, spec.head_dim, spec.v_head_dim
    q_rows = heads * k_dim * (2 if spec.attention_output_gate else 1)
    out = linear("q_proj", "attention", hidden, q_rows, spec.qkv_bias, COLUMN)
    out += linear("k_proj", "attention", hidden, kv_heads * k_dim, spec.qkv_bias, KV_HEADS, heads=kv_heads)
    out += linear("v_proj", "attention", hidden, kv_heads * v_dim, spec.qkv_bias, KV_HEADS, heads=kv_heads)
    out += linear("o_proj", "attention", heads * v_dim, hidden, spec.o_bias, ROW)
    if spec.qk_norm:  # per-head RMSNorm weights of head_dim, shared by all heads
        out += [Param("q_norm.weight", "attention", k_dim), Param("k_norm.weight", "attention", k_dim)]
    return out + _sinks(spec)


def _sinks(spec: ModelSpec) -> list[Param]:
    """One learned logit per query head (gpt-oss), split with the heads."""
    heads = spec.num_attention_heads
    return [Param("sinks", "attention", heads, 0, 1, HEADS, heads)] if spec.attention_sinks else []


def _mla(spec: ModelSpec, kind: CacheKind) -> list[Param]:
    """Multi-head latent attention (DeepSeek-V2/V3): q through a low-rank q_a / q_b pair
    (or one q_proj), the shared kv_a down projection (replicated) with its norm, kv_b up to
    per-head nope keys and values, o_proj."""
    m = spec.mla
    if m is None:
        raise SpecError(f"{spec.origin or spec.source}: weight figures need the mla block (MLA projection sizes)")
    hidden, heads = spec.hidden_size, spec.num_attention_heads
    qk_head = m.qk_nope_head_dim + m.qk_rope_head_dim
    out: list[Param] = []
    if m.q_lora_rank:  # q_a_proj -> q_a_layernorm -> q_b_proj (DeepSeek-V3)
        out += linear("q_a_proj", "attention", hidden, m.q_lora_rank, spec.qkv_bias, REPLICATED)
        out.append(Param("q_a_layernorm.weight", "attention", m.q_lora_rank))
        out += linear("q_b_proj", "attention", m.q_lora_rank, heads * qk_head, False, COLUMN)
    else:  # one q_proj (DeepSeek-V2-Lite)
        out += linear("q_proj", "attention", hidden, heads * qk_head, spec.qkv_bias, COLUMN)
    out += linear("kv_a_proj_with_mqa", "attention", hidden, m.kv_lora_rank + m.qk_rope_head_dim, spec.qkv_bias,
                  REPLICATED)
    out.append(Param("kv_a_layernorm.weight", "attention", m.kv_lora_rank))
    out += linear("kv_b_proj", "attention", m.kv_lora_rank, heads * (m.qk_nope_head_dim + m.v_head_dim), False,
                  COLUMN)
    out += linear("o_proj", "attention", heads * m.v_head_dim, hidden, spec.o_bias, ROW)
    return out + _sinks(spec)


def mla_absorbed_shapes(spec: ModelSpec, layer: int) -> tuple[Param, ...]:
    """The absorbed up-projections an engine may build from an MLA layer's kv_b_proj at load
    time, for decode on the latent (vLLM's ``W_UK_T`` / ``W_UV``, SGLang's ``w_kc`` /
    ``w_vc``): per head, the qk_nope_head_dim x kv_lora_rank key part and the v_head_dim x
    kv_lora_rank value part, together kv_b_proj's shape, split with the query heads. Whether
    an engine holds them beside kv_b_proj, and in which dtype, is the engine's rule
    (kvplan.engines). () for a layer without MLA. DeepSeek-V3 (128 heads, 128 + 128,
    kv_lora 512): 8,388,608 + 8,388,608 values a layer; 1,048,576 each on a rank at tp 8."""
    if not isinstance(spec.layers[layer], MLALatent):
        return ()
    m = spec.mla
    if m is None:
        raise SpecError(f"{spec.origin or spec.source}: weight figures need the mla block (MLA projection sizes)")
    heads = spec.num_attention_heads
    return (Param("W_UK", "attention", heads * m.qk_nope_head_dim, m.kv_lora_rank, split=HEADS, heads=heads),
            Param("W_UV", "attention", heads * m.v_head_dim, m.kv_lora_rank, split=HEADS, heads=heads))


def _mla_indexed(spec: ModelSpec, kind: MLAIndexed) -> list[Param]:
    """MLA plus DeepSeek sparse attention's lightning indexer (vLLM deepseek_v2.py
    Indexer, every module replicated): wq_b from the q latent to index_n_heads x
    index_head_dim, wk from the hidden state to one index_head_dim key, its LayerNorm
    (weight + bias), and weights_proj to one weight per index head. DeepSeek-V3.2
    (q_lora 1536, 64 heads of 128, hidden 7168): 12,582,912 + 917,504 + 256 + 458,752 =
    13,959,424 a layer."""
    m = spec.mla
    if m is None or m.index_n_heads is None or not m.q_lora_rank:
        raise SpecError(f"{spec.origin or spec.source}: weight figures need mla.index_n_heads and mla.q_lora_rank "
                        "(the sparse-attention indexer's projections)")
    dim, heads, hidden = kind.index_head_dim, m.index_n_heads, spec.hidden_size
    return _mla(spec, kind) + [
        *linear("indexer.wq_b", "attention", m.q_lora_rank, heads * dim, False, REPLICATED),
        *linear("indexer.wk", "attention", hidden, dim, False, REPLICATED),
        Param("indexer.k_norm.weight", "attention", dim), Param("indexer.k_norm.bias", "attention", dim),
        *linear("indexer.weights_proj", "attention", hidden, heads, False, REPLICATED),
    ]


def _state_space(spec: ModelSpec, kind: StateSpace) -> list[Param]:
    """The state-space or linear-attention mixer ``spec.ssm`` names, sized from the
    layer's state dims (kvplan.layers.StateSpace) and the ``ssm`` block."""
    return list(_SSM_MIXERS[spec.ssm.type](spec, kind))


def _mamba1(spec: ModelSpec, kind: StateSpace) -> list[Param]:
    """Mamba 1 (vLLM mamba_mixer.py MambaMixer; Mamba, Falcon-Mamba, Jamba), d_inner =
    conv_dim channels: in_proj to x and z (column), a depthwise conv1d (column, optional
    bias), x_proj to dt_rank + 2 x d_state (row-parallel: its input channels are split),
    dt_proj back to d_inner with a bias (column), A_log (d_inner x d_state) and D (column),
    out_proj (row); with ``dt_norms: weighted`` RMSNorm weights on dt, B and C (Jamba).
    Mamba-2.8B layer (2560 wide, d_inner 5120, d_state 16, dt_rank 160, conv 4, biases on
    conv only): 26,214,400 + 25,600 + 983,040 + 824,320 + 81,920 + 5,120 + 13,107,200 =
    41,241,600."""
    s, hidden = spec.ssm, spec.hidden_size
    inner, state = kind.conv_dim, kind.ssm_state_size
    rank = s.time_step_rank
    out = linear("mixer.in_proj", "state_space", hidden, 2 * inner, s.proj_bias, COLUMN)
    out += linear("mixer.conv1d", "state_space", kind.conv_kernel, inner, s.conv_bias, COLUMN)
    out += linear("mixer.x_proj", "state_space", inner, rank + 2 * state, False, ROW)
    out += linear("mixer.dt_proj", "state_space", rank, inner, True, COLUMN)
    out += [Param("mixer.A_log", "state_space", inner, state, split=COLUMN),
            Param("mixer.D", "state_space", inner, split=COLUMN)]
    out += linear("mixer.out_proj", "state_space", inner, hidden, s.proj_bias, ROW)
    if s.dt_norms == "weighted":
        out += [Param("mixer.dt_layernorm.weight", "state_space", rank),
                Param("mixer.b_layernorm.weight", "state_space", state),
                Param("mixer.c_layernorm.weight", "state_space", state)]
    return out


def _mamba2(spec: ModelSpec, kind: StateSpace) -> list[Param]:
    """Mamba 2 (vLLM mamba_mixer2.py MambaMixer2; Mamba-2, Bamba, Nemotron-H, Falcon-H1,
    Granite 4.0-H), inner = heads x head_dim, n_groups = (conv_dim - inner) / (2 x d_state):
    in_proj to z, x, B, C and dt (column; the B/C rows of each group stay with the heads
    that read them: a rank keeps max(1, n_groups // tp) groups, replicating past n_groups
    as vLLM's extra_groups_for_head_shards does), the depthwise conv1d over x, B, C (same
    split), A_log / D / dt_bias per head, the gated RMSNorm over inner (``inner_norm``),
    out_proj (row). Bamba-9B layer (4096 wide, 128 heads of 64, 1 group of 128, conv 4,
    conv bias): in_proj 4096 x 16,768 = 68,681,728, conv 8,448 x 5 = 42,240, 3 x 128,
    norm 8,192, out_proj 33,554,432: 102,286,976."""
    s, hidden = spec.ssm, spec.hidden_size
    heads, state = kind.ssm_heads, kind.ssm_state_size
    inner = heads * kind.ssm_head_dim
    groups, rest = divmod(kind.conv_dim - inner, 2 * state)
    if rest or groups <= 0:
        raise SpecError(f"{spec.origin or spec.source}: a Mamba-2 layer with conv_dim {kind.conv_dim}, "
                        f"{heads} x {kind.ssm_head_dim} channels and state {state} has no whole number of groups "
                        "((conv_dim - heads x head_dim) / (2 x state_size)); set ssm.type")
    bc = 2 * groups * state
    out = linear("mixer.in_proj[zx]", "state_space", hidden, 2 * inner, s.proj_bias, COLUMN)
    out += linear("mixer.in_proj[BC]", "state_space", hidden, bc, s.proj_bias, KV_HEADS, heads=groups)
    out += linear("mixer.in_proj[dt]", "state_space", hidden, heads, s.proj_bias, COLUMN)
    out += linear("mixer.conv1d[x]", "state_space", kind.conv_kernel, inner, s.conv_bias, COLUMN)
    out += linear("mixer.conv1d[BC]", "state_space", kind.conv_kernel, bc, s.conv_bias, KV_HEADS, heads=groups)
    out += [Param(f"mixer.{name}", "state_space", heads, split=COLUMN) for name in ("A_log", "D", "dt_bias")]
    if s.inner_norm:
        out.append(Param("mixer.norm.weight", "state_space", inner, split=COLUMN))
    out += linear("mixer.out_proj", "state_space", inner, hidden, s.proj_bias, ROW)
    return out


def _gated_deltanet(spec: ModelSpec, kind: StateSpace) -> list[Param]:
    """Gated DeltaNet (vLLM gdn_linear_attn.py; Qwen3-Next, Qwen3.5). The layer's state
    dims are value heads (ssm_heads), key head dim (ssm_head_dim), value head dim
    (ssm_state_size) and conv_dim = 2 x key_dim + value_dim, so key heads = (conv_dim -
    heads x v_dim) / (2 x k_dim). in_proj_qkvz (2 x key_dim + 2 x value_dim rows, column),
    in_proj_ba (2 per value head, column), a bias-free conv1d (column), dt_bias and A_log
    per value head, the gated RMSNorm over one value head (replicated), out_proj (row).
    Qwen3-Next-80B layer (2048 wide, 16 key heads, 32 value heads, 128 / 128): 25,165,824 +
    131,072 + 32,768 + 64 + 128 + 8,388,608 = 33,718,464."""
    hidden, v_heads, k_dim, v_dim = spec.hidden_size, kind.ssm_heads, kind.ssm_head_dim, kind.ssm_state_size
    value_dim = v_heads * v_dim
    key_dim, rest = divmod(kind.conv_dim - value_dim, 2)
    if rest or key_dim <= 0 or key_dim % k_dim:
        raise SpecError(f"{spec.origin or spec.source}: a Gated DeltaNet layer with conv_dim {kind.conv_dim} and "
                        f"{v_heads} value heads of {v_dim} has no whole number of key heads of {k_dim}")
    out = linear("linear_attn.in_proj_qkvz", "state_space", hidden, 2 * key_dim + 2 * value_dim, False, COLUMN)
    out += linear("linear_attn.in_proj_ba", "state_space", hidden, 2 * v_heads, False, COLUMN)
    out += linear("linear_attn.conv1d", "state_space", kind.conv_kernel, kind.conv_dim, False, COLUMN)
    out += [Param("linear_attn.dt_bias", "state_space", v_heads, split=COLUMN),
            Param("linear_attn.A_log", "state_space", v_heads, split=COLUMN),
            Param("linear_attn.norm.weight", "state_space", v_dim)]
    out += linear("linear_attn.out_proj", "state_space", value_dim, hidden, False, ROW)
    return out


def _lightning(spec: ModelSpec, kind: StateSpace) -> list[Param]:
    """MiniMax lightning attention (vLLM minimax_linear_attn.py MiniMaxText01LinearAttention),
    inner = heads x head_dim: qkv_proj (3 x inner, column), output_gate (inner, column), an
    RMSNorm over inner split with the heads, out_proj (row); no biases. MiniMax-M1 layer
    (6144 wide, 64 heads of 128): 150,994,944 + 50,331,648 + 8,192 + 50,331,648 =
    251,666,432."""
    hidden, inner = spec.hidden_size, kind.ssm_heads * kind.ssm_head_dim
    return [*linear("self_attn.qkv_proj", "state_space", hidden, 3 * inner, False, COLUMN),
            *linear("self_attn.output_gate", "state_space", hidden, inner, False, COLUMN),
            Param("self_attn.norm.weight", "state_space", inner, split=COLUMN),
            *linear("self_attn.out_proj", "state_space", inner, hidden, False, ROW)]


_SSM_MIXERS = {"mamba1": _mamba1, "mamba2": _mamba2, "gated_deltanet": _gated_deltanet, "lightning": _lightning}


def _no_cache(spec: ModelSpec, kind: NoCache) -> list[Param]:
    """A layer without attention: nothing (no_op), or one bias-free hidden x hidden map
    (DeciLM's replace_with_linear)."""
    if kind.replacement == "linear":
        return linear("self_attn.linear_attn", "attention", spec.hidden_size, spec.hidden_size, False, REPLICATED)
    return []


def _attention_with_state(spec: ModelSpec, kind: AttentionWithState) -> list[Param]:
    """Falcon-H1: the attention branch and the state-space branch of the same layer."""
    return _attention(spec, kind.attention) + _state_space(spec, kind.state)


#: Cache kind class -> its mixer's tensors. A kind's nearest registered class applies
#: (SlidingWindow and ChunkedLocal are FullAttention, MLAIndexed is checked before MLALatent).
_MIXERS = {FullAttention: _attention, SharedKV: _attention, MLAIndexed: _mla_indexed, MLALatent: _mla,
           StateSpace: _state_space, NoCache: _no_cache, AttentionWithState: _attention_with_state}


def _mixer(spec: ModelSpec, kind: CacheKind) -> list[Param]:
    for cls in type(kind).__mro__:
        if cls in _MIXERS:
            return _MIXERS[cls](spec, kind)
    raise SpecError(f"{spec.origin or spec.source}: no parameter layout for cache kind {kind.kind!r}")


# -- feed-forward blocks ----------------------------------------------------------------------
def _ffn(spec: ModelSpec, layer: int) -> list[Param]:
    ffn: FFN = spec.ffn_kind(layer)
    if ffn.kind == "none":
        return []
    if ffn.kind == "mlp":
        return mlp_shapes(spec, "mlp", "mlp", ffn.intermediate_size or spec.intermediate_size, spec.mlp_bias)
    moe = spec.moe
    out = linear("mlp.gate", "router", spec.hidden_size, moe.num_experts, moe.router_bias, REPLICATED)
    out += mlp_shapes(spec, "mlp.experts", "experts", moe.expert_intermediate_size, moe.expert_bias, moe.num_experts)
    if moe.num_shared_experts:
        shared = moe.shared_expert_intermediate_size or moe.expert_intermediate_size
        out += mlp_shapes(spec, "mlp.shared_experts", "mlp", shared, spec.mlp_bias, moe.num_shared_experts)
        if moe.shared_expert_gate:  # Qwen-MoE: sigmoid(Linear(hidden, 1)) on the shared expert
            out += linear("mlp.shared_expert_gate", "router", spec.hidden_size, 1, False, REPLICATED)
    return out


def _norm_count(spec: ModelSpec, has_mixer: bool, has_ffn: bool) -> int:
    """Hidden-size norms of a layer: ``norms_per_layer`` when it has a mixer and an FFN,
    half of them when it has one of the two (each sub-block keeps its pre-norm: Mamba's
    ``norm``, Nemotron-H's per-block ``norm``, DeciLM's no-op blocks drop theirs)."""
    present = has_mixer + has_ffn
    if present == 2:
        return spec.norms_per_layer
    count, rest = divmod(spec.norms_per_layer * present, 2)
    if rest:
        raise SpecError(f"{spec.origin or spec.source}: norms_per_layer {spec.norms_per_layer} cannot be halved for a "
                        "layer that has only a mixer or only a feed-forward block")
    return count


@lru_cache(maxsize=4096)
def layer_shapes(spec: ModelSpec, layer: int) -> tuple[Param, ...]:
    """Every weight tensor of decoder layer ``layer`` (0-based): mixer, norms, feed-forward."""
    spec.require_weight_fields()
    if not 0 <= layer < spec.num_layers:
        from kvplan.errors import BadInputError

        raise BadInputError(f"layer {layer} is out of range: {spec.name} has layers 0..{spec.num_layers - 1}")
    mixer = _mixer(spec, spec.layers[layer])
    ffn = _ffn(spec, layer)
    count = _norm_count(spec, bool(mixer), bool(ffn))
    norms = [p for i in range(count) for p in _norm(spec, f"norm{i}", "norms", spec.hidden_size)]
    return tuple(mixer + norms + ffn)


@lru_cache(maxsize=4096)
def tp_all_reduces(spec: ModelSpec, layer: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The all-reduces decoder layer ``layer`` runs under tensor parallelism, as the widths of
    their messages (values a token): (the mixer's, the feed-forward block's). One per
    row-parallel output: each RowParallelLinear sums its partial products over the tp group
    (vLLM model_executor/layers/linear.py, reduce_results). The mixer's: attention or MLA
    o_proj, a Mamba-2 or linear-attention out_proj (hidden wide); Mamba-1 also x_proj
    (dt_rank + 2 x state wide: vLLM 0.19.1 layers/mamba/mamba_mixer.py lines 105 and 147);
    Falcon-H1's parallel attention and Mamba branches each (models/falcon_h1.py line 270
    o_proj, layers/mamba/mamba_mixer2.py line 456 out_proj). The feed-forward block's: one
    (down_proj, falcon_h1.py line 77; an MoE block's routed and shared experts reduce once
    together: models/nemotron_h.py lines 187 and 219 reduce_results=False, line 275).
    Llama: ((hidden,), (hidden,)); Nemotron-H's one-mixer blocks (nemotron_h.py lines 282, 381,
    507): a Mamba or attention block ((hidden,), ()), an MLP block ((), (hidden,)); Falcon-H1
    ((hidden, hidden), (hidden,))."""
    mixer = tuple(p.rows for p in _mixer(spec, spec.layers[layer]) if p.is_matrix and p.split == ROW)
    return mixer, (spec.hidden_size,) if _ffn(spec, layer) else ()


@lru_cache(maxsize=256)
def model_shapes(spec: ModelSpec) -> tuple[Param, ...]:
    """Tensors outside the decoder layers: token embedding (+ learned positions, replicated),
    lm_head (absent when tied), final norm, the vision tower and projector
    (``kvplan.towers``), and ``extra_params``."""
    spec.require_weight_fields()
    hidden = spec.hidden_size
    out = [Param("embed_tokens.weight", "embedding", spec.vocab_size, hidden, split=VOCAB)]
    if spec.position_embedding == "learned":
        positions = spec.max_position_embeddings + spec.position_offset
        out.append(Param("embed_positions.weight", "embedding", positions, hidden))
    if not spec.tie_word_embeddings:
        out.append(Param("lm_head.weight", "lm_head", spec.vocab_size, hidden, split=VOCAB))
    out += _norm(spec, "norm", "norms", hidden)
    for part in (spec.vision_tower, spec.vision_projector):
        if part is not None:
            out += part.shapes()
    out += [Param(name, "other", n) for name, n in spec.extra_params if n]
    return tuple(out)


def mtp_module_shapes(spec: ModelSpec, own_head: bool = False) -> tuple[Param, ...]:
    """Tensors of one multi-token-prediction module outside its decoder layer (vLLM
    vllm/model_executor/models/deepseek_mtp.py DeepSeekMultiTokenPredictorLayer): enorm and
    hnorm (RMSNorm, hidden), eh_proj = nn.Linear(2 x hidden, hidden, bias=False) (a plain
    torch module: neither split nor quantized, so whole on every rank in the model dtype;
    part "other", which no weight format quantizes) and shared_head.norm; with ``own_head``
    also shared_head.head = ParallelLMHead(vocab, hidden), vocab-parallel and unquantized
    like the model's lm_head (Fp8Config.get_quant_method gives a VocabParallelEmbedding no
    method). The module's decoder layer is ``layer_shapes`` of the layer after the target's
    last. DeepSeek-V3 (hidden 7,168): 3 x 7,168 + 7,168 x 14,336 = 102,781,952 values; its
    own head 129,280 x 7,168 = 926,679,040 more (115,834,880 a rank at tp 8)."""
    hidden = spec.hidden_size
    out = [Param("enorm.weight", "norms", hidden), Param("hnorm.weight", "norms", hidden),
           *linear("eh_proj", "other", 2 * hidden, hidden, False, REPLICATED),
           Param("shared_head.norm.weight", "norms", hidden)]
    if own_head:
        out.append(Param("shared_head.head.weight", "lm_head", spec.vocab_size, hidden, split=VOCAB))
    return tuple(out)


def mlp_width(spec: ModelSpec, layer: int) -> int:
    """Intermediate channels one token passes through in a layer's feed-forward block (all
    ranks): the dense MLP's, the routed experts it is sent to plus the shared experts, or 0
    for a layer without one."""
    ffn = spec.ffn_kind(layer)
    if ffn.kind == "none":
        return 0
    if ffn.kind == "mlp":
        return ffn.intermediate_size or spec.intermediate_size
    moe = spec.moe
    width = moe.experts_per_token * moe.expert_intermediate_size
    if moe.num_shared_experts:
        width += moe.num_shared_experts * (moe.shared_expert_intermediate_size or moe.expert_intermediate_size)
    return width
