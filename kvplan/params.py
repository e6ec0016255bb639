"""Exact parameter counts from a model's architecture.

Every count is a plain integer sum of weight-matrix shapes, written the way the Hugging
Face modules lay the weights out (``nn.Linear(in, out)`` holds ``in * out`` weights plus
``out`` biases). Worked example, Llama-3-8B (hidden 4096, 32 heads of 128, 8 KV heads,
MLP 14336, vocab 128256, 32 layers, untied head):

    attention  4096*4096 + 2 * 4096*1024 + 4096*4096    =  41,943,040 a layer
    mlp        3 * 4096*14336                            = 176,160,768 a layer
    norms      2 * 4096                                  =       8,192 a layer
    32 layers                                            = 6,979,584,000
    + embedding 128256*4096 + lm_head 128256*4096 + final norm 4096
    = 8,030,261,248   (the "8.03B" on the model card)

What goes where (the ``ParamCount`` fields):

- attention: q/k/v/o projections with their biases; MLA's down/up projections and the
  two MLA RMSNorms (q_a_layernorm, kv_a_layernorm); per-head q/k norms (Qwen3, Gemma 3);
  attention sinks (gpt-oss).
- mlp: dense MLPs and shared experts. experts: every routed expert. router: the gate
  (and its bias, and Qwen-style shared-expert gates).
- norms: the hidden-size norms of each layer (``norms_per_layer`` of them: 2 for Llama,
  1 for Falcon-7B, 4 for Gemma 2/3) and the final norm; a LayerNorm has a bias, an RMSNorm
  does not.
- state_space: the state-space / linear-attention mixers (Mamba 1, Mamba 2, Gated DeltaNet,
  lightning attention: ``spec.ssm`` says which; kvplan.shapes has each layout).
- other: the vision tower and multimodal projector (kvplan.towers) and ``extra_params``.

Multi-token-prediction heads (DeepSeek-V3's MTP module) are not part of a spec, so they
are not counted; published totals (671B) leave them out too.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from kvplan.shapes import layer_shapes, mlp_shapes, model_shapes
from kvplan.spec import ModelSpec


@dataclass(frozen=True)
class ParamCount:
    """Parameters by part of the model; ``total`` is their sum."""

    embedding: int = 0  # token embedding table (+ learned position embeddings)
    lm_head: int = 0  # output projection; 0 when tied to the embedding
    attention: int = 0  # q/k/v/o incl. MLA projections and their norms, biases, sinks
    mlp: int = 0  # dense MLPs and shared experts (weights + biases)
    experts: int = 0  # routed experts, all of them
    router: int = 0  # MoE gates (+ their biases)
    norms: int = 0  # layer norms (weights and biases), incl. the final norm
    state_space: int = 0  # mixer params of state-space / linear-attention layers
    other: int = 0  # vision tower, multimodal projector, extra_params

    @property
    def total(self) -> int:
        return sum(getattr(self, f.name) for f in fields(self))

    def __add__(self, other: ParamCount) -> ParamCount:
        if not isinstance(other, ParamCount):
            return NotImplemented
        return ParamCount(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)})

    def as_dict(self) -> dict[str, int]:
        """Plain data (for --json and the API), with the total."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["total"] = self.total
        return out


# -- sums over kvplan.shapes ------------------------------------------------------------------
def _count(params) -> ParamCount:
    by_part: dict[str, int] = {}
    for p in params:
        by_part[p.part] = by_part.get(p.part, 0) + p.numel
    return ParamCount(**by_part)


def expert_params(spec: ModelSpec) -> int:
    """Parameters of one routed expert (0 for a dense model)."""
    moe = spec.moe
    if moe is None:
        return 0
    return sum(p.numel for p in mlp_shapes(spec, "expert", "experts", moe.expert_intermediate_size, moe.expert_bias))


# -- public API -----------------------------------------------------------------------------
def layer_params(spec: ModelSpec, layer: int) -> ParamCount:
    """Parameters of decoder layer ``layer`` (0-based) alone."""
    return _count(layer_shapes(spec, layer))


def count_params(spec: ModelSpec) -> ParamCount:
    """The whole model: every layer + embedding (+ learned positions) + lm_head + final norm
    + ``extra_params``."""
    total = _count(model_shapes(spec))
    for layer in range(spec.num_layers):
        total = total + layer_params(spec, layer)
    return total


def inactive_expert_params(spec: ModelSpec) -> int:
    """Routed-expert parameters a single token does not use, summed over the MoE layers."""
    moe = spec.moe
    if moe is None:
        return 0
    moe_layers = sum(1 for i in range(spec.num_layers) if spec.is_moe_layer(i))
    return moe_layers * (moe.num_experts - moe.experts_per_token) * expert_params(spec)


def active_params(spec: ModelSpec) -> int:
    """Parameters one token touches: the total minus the routed experts it is not sent to.

    Embedding and lm_head are counted (Mistral's convention: Mixtral-8x7B 12.9B active).
    Some vendors leave the embedding table out (OpenAI's gpt-oss 5.1B); subtract
    ``count_params(spec).embedding`` to compare with those."""
    return count_params(spec).total - inactive_expert_params(spec)
