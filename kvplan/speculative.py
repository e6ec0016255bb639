"""Speculative decoding: the draft's KV layers, its weights and the lookahead slots.

vLLM (0.33.0 read here; the same since 0.9) runs a drafter beside the target model and
sizes one KV pool for both:

- **Draft KV in the same pool.** The drafter's attention layers register in the same
  forward context as the target's, so ``GPUModelRunner.get_kv_cache_spec`` returns them with
  the target's layers (vllm/v1/worker/gpu_model_runner.py: ``attn_module.is_draft_layer`` only
  tags the spec, and ``KVCacheSpec.is_draft`` is "excluded from equality so it never affects
  grouping", vllm/v1/kv_cache_interface.py). They are paged with the target's layers by the
  usual rules: equal pages share the group (an EAGLE head shaped like its target), unequal
  full-attention pages make one group with a tensor per layer (``UniformTypeKVCacheSpecs``:
  page = the sum of every layer's page, one block table). kvplan appends the draft's layers
  to the target's (``kv_spec``), so the pool layout, blocks and concurrency follow.
- **Methods and their layers.** ``draft_model``: every attention layer of a separate draft
  model, run at the target's tensor-parallel size (vllm/v1/spec_decode/draft_model.py,
  ``_raise_if_draft_tp_mismatch``), its weights loaded in full (no embedding or lm_head
  sharing: ``_maybe_share_embeddings`` / ``_maybe_share_lm_head`` are no-ops there).
  ``mtp``: the target's ``num_nextn_predict_layers`` multi-token-prediction modules
  (vllm/model_executor/models/deepseek_mtp.py: each is a ``DeepseekV2DecoderLayer`` at index
  num_hidden_layers + i, so one more MLA layer with its own latent cache, plus enorm, hnorm,
  eh_proj = nn.Linear(2 x hidden, hidden) and shared_head.norm; the embedding and the head
  are the target's, shared by ``SpecDecodeBaseProposer._maybe_share_embeddings`` /
  ``_maybe_share_lm_head``, vllm/v1/spec_decode/llm_base_proposer.py; before 0.16.0 each MTP
  layer keeps its own shared_head.head, an engine rule: ``Engine.mtp_keeps_own_head``). The
  MTP layer is built from the target's VllmConfig, so its experts split as the target's
  across tp x dp (whole under expert parallelism). ``eagle``: the head's
  decoder layers (vllm/model_executor/models/llama_eagle.py: ``LlamaDecoderLayer`` x
  num_hidden_layers of the head's config, the first without its input_layernorm, plus
  fc = Linear(2 x hidden, hidden)), embedding and lm_head shared with the target at pp 1.
  ``ngram``: no model, no KV.
- **Lookahead slots.** A decoding request of T tokens schedules 1 + k tokens (the sampled
  token and k draft tokens to verify) and ``allocate_slots`` adds ``num_lookahead_tokens``
  more for the drafter (vllm/v1/core/kv_cache_manager.py: ``num_tokens_need_slot =
  min(num_tokens_main_model + num_lookahead_tokens, max_model_len)``, with
  num_tokens_main_model = computed (T - 1) + 1 + k). ``num_lookahead_tokens`` is k for
  eagle / eagle3 / mtp / draft_model and 0 for ngram (vllm/config/vllm.py,
  ``VllmConfig.num_lookahead_tokens``; scheduler.py of 0.19 sets the same). So a request
  holding n tokens reserves slots for min(n + 2k, max_model_len) (ngram: n + k): blocks
  per request are those of that many tokens. vLLM's logged "Maximum concurrency" and its
  start-up check leave the lookahead out (``max_memory_usage_bytes``).

Other engines keep a draft differently (SGLang: a second KV pool for the draft;
TensorRT-LLM: a separate DRAFT_KV_CACHE_MANAGER for two-model drafting), which kvplan does
not model: ``capacity`` refuses speculative decoding under them (``check_engine``).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass

from kvplan.errors import BadInputError, ShapeError
from kvplan.layers import FullAttention, MLALatent
from kvplan.spec import ModelSpec

#: vLLM method names kvplan models, and what each is.
METHODS = {
    "draft_model": "a separate draft model",
    "eagle": "an EAGLE head",
    "mtp": "the model's own multi-token-prediction layers",
    "ngram": "prompt-lookup n-grams (no model, no KV)",
}
#: vLLM's deprecated MTP method names, replaced by "mtp" (vllm/config/speculative.py, MTPModelTypes).
MTP_ALIASES = ("deepseek_mtp", "mimo_mtp", "glm4_moe_mtp", "ernie_mtp", "qwen3_next_mtp", "longcat_flash_mtp")
#: Keys of vLLM's --speculative-config that kvplan reads (the rest change no memory figure it
#: models only when listed in MEMORY_NEUTRAL_KEYS; anything else is refused).
KNOWN_KEYS = ("method", "model", "num_speculative_tokens", "draft_tensor_parallel_size")
MEMORY_NEUTRAL_KEYS = ("prompt_lookup_max", "prompt_lookup_min", "disable_by_batch_size", "acceptance_rate")
#: Engine families whose speculative-decoding memory kvplan models.
ENGINES = ("vllm", "raw")
ENGINE_REFUSALS = {
    "sglang": "SGLang keeps the draft's KV in a second pool (its own token count), which kvplan does not model",
    "trtllm": ("TensorRT-LLM keeps a two-model draft in a separate KV cache manager "
               "(ResourceManagerType.DRAFT_KV_CACHE_MANAGER), which kvplan does not model"),
}


@dataclass(frozen=True)
class Speculative:
    """A speculative-decoding setup: vLLM's method, k draft tokens per step, and the draft."""

    method: str
    num_speculative_tokens: int
    draft: ModelSpec | None = None  # draft model or EAGLE head; None for mtp and ngram
    mtp_layers: int = 0  # mtp: modules loaded

    @property
    def kind(self) -> _Method:
        """What the method does (``_METHODS``: its layers, weights, lookahead)."""
        return _METHODS[self.method]

    @property
    def lookahead_tokens(self) -> int:
        """vLLM's num_lookahead_tokens: slots the drafter writes past the verified tokens."""
        return self.num_speculative_tokens if self.kind.lookahead else 0

    @property
    def extra_slots(self) -> int:
        """Slots a decoding request reserves beyond its tokens: k to verify + the lookahead.
        k = 4 with a draft model: a request of 8,192 tokens reserves 8,200 slots."""
        return self.num_speculative_tokens + self.lookahead_tokens

    @property
    def label(self) -> str:
        return self.kind.label

    def describe(self) -> str:
        return f"{self.kind.what(self).strip()}, {self.num_speculative_tokens} speculative tokens"

    # -- the draft's KV layers -------------------------------------------------------------
    def draft_layers(self, target: ModelSpec) -> tuple:
        """Cache kinds of the drafter's attention layers (appended to the target's pool)."""
        return self.kind.layers(self, target)

    def kv_spec(self, target: ModelSpec) -> ModelSpec:
        """The target with the draft's layers appended: the layers one KV pool pages."""
        extra = self.draft_layers(target)
        if not extra:
            return target
        return dataclasses.replace(target, num_layers=target.num_layers + len(extra),
                                   layers=target.layers + extra,
                                   layer_labels=target.layer_labels + (self.label,) * len(extra))

    def check_tp(self, tp: int) -> None:
        for kind in set(self.draft_layers_any()):
            kind.check_tp(tp)
        if self.draft is not None and self.draft.num_attention_heads % tp:
            raise ShapeError(f"tp={tp} does not divide the draft {self.draft.name}'s "
                             f"{self.draft.num_attention_heads} attention heads (vLLM runs the draft at the "
                             f"target's tensor-parallel size)")

    def draft_layers_any(self) -> tuple:
        return tuple(self.draft.layers) if self.draft is not None else ()

    # -- the draft's weights ----------------------------------------------------------------
    def draft_weights(self, target: ModelSpec, weights: str | None, tp: int, moe=None,
                      engine=None) -> tuple[int, int]:
        """(params, bytes on one tensor-parallel rank) of what the drafter adds to the GPU.
        ``moe``: how the deployment holds the target's routed experts (kvplan.shapes.MoEParallel;
        default a 1/tp slice each); ``engine``: the engine release (kvplan.engines), whose rules
        decide what the drafter shares with the target (default: everything it can, as the
        newest vLLM does)."""
        from kvplan.shapes import MoEParallel

        return self.kind.weights(self, target, weights, tp, moe if moe is not None else MoEParallel(tp, 1), engine)

    def engine_copy_bytes(self, target: ModelSpec, w, engine) -> int:
        """Bytes on one rank that ``engine`` keeps beside the drafter's stored weights, by the
        rule it applies to the target's own layers (``w``: the target's kvplan.weights.Weights,
        its format and tp): for ``mtp``, vLLM's model-dtype copy of each MTP layer's quantized
        kv_b_proj (``Engine.mla_copy_bytes``; the drafter is loaded by the same
        model_loader, whose process_weights_after_loading runs on its MLA layer too); 0 for the
        other methods. Counted with the engine's memory, not in ``draft_weights``."""
        return self.kind.engine_copy(self, target, w, engine)


def _draft_model_weights(sp: Speculative, target: ModelSpec, weights: str | None, tp: int, moe,
                         engine) -> tuple[int, int]:
    """A draft model's weights in full, in its own checkpoint format (not --weights). vLLM
    builds it with its own ParallelConfig, the target's tp and none of its expert parallelism
    (vllm/config/speculative.py create_draft_parallel_config; draft_model.py
    _create_draft_vllm_config), so a MoE draft holds a 1/tp slice of each expert at dp 1;
    across data-parallel ranks (the experts of FusedMoE shard over the global dp group) it is
    not modelled."""
    from kvplan.weights import weights_footprint

    if sp.draft.moe is not None and moe.tp * moe.ep != tp:
        raise BadInputError(f"draft_model: {sp.draft.name} is a mixture of experts; how vLLM shards a draft "
                            f"model's experts across data-parallel ranks is not modelled (plan it at --dp 1)")
    w = weights_footprint(sp.draft, None, tp, 1)
    return w.stages[0].params, w.stages[0].bytes


@dataclass(frozen=True)
class _Method:
    """One speculative-decoding method's behaviour: the label of its KV layers, how it is
    described, whether the drafter writes lookahead slots, its KV layers and its weights."""

    label: str
    lookahead: bool  # vLLM num_lookahead_tokens = k (eagle / eagle3 / mtp / draft_model), else 0
    what: object  # (Speculative) -> str
    layers: object  # (Speculative, target) -> cache kinds appended to the pool
    weights: object  # (Speculative, target, weights, tp, moe, engine) -> (params, bytes per rank)
    engine_copy: object = lambda sp, target, w, engine: 0  # (Speculative, target, Weights, engine) -> bytes per rank


_METHODS: dict[str, _Method] = {
    "draft_model": _Method("draft", True, lambda sp: f"draft model {sp.draft.name if sp.draft else ''}",
                           lambda sp, target: tuple(sp.draft.layers), _draft_model_weights),
    "eagle": _Method("draft", True, lambda sp: f"EAGLE head {sp.draft.name if sp.draft else ''}",
                     lambda sp, target: tuple(sp.draft.layers),
                     lambda sp, target, weights, tp, moe, engine: eagle_weights(sp.draft, tp)),
    "mtp": _Method("mtp", True, lambda sp: f"{sp.mtp_layers} MTP layer{'s' if sp.mtp_layers != 1 else ''}",
                   lambda sp, target: (mtp_kind(target),) * sp.mtp_layers,
                   lambda sp, target, weights, tp, moe, engine: mtp_weights(
                       target, weights, tp, sp.mtp_layers, moe=moe,
                       own_head=engine is not None and engine.mtp_keeps_own_head()),
                   lambda sp, target, w, engine: mtp_copy_bytes(target, w, sp.mtp_layers, engine)),
    "ngram": _Method("draft", False, lambda sp: "n-gram proposer", lambda sp, target: (),
                     lambda sp, target, weights, tp, moe, engine: (0, 0)),
}
#: Methods whose drafter writes KV past the verified tokens (num_lookahead_tokens = k).
LOOKAHEAD_METHODS = tuple(name for name, m in _METHODS.items() if m.lookahead)


def mtp_kind(target: ModelSpec):
    """The cache kind of an MTP module's attention: the target's last layer's (DeepSeek-V3:
    the MLA latent; the module is a decoder layer like the target's last)."""
    kind = target.layers[-1]
    if type(kind) is FullAttention or isinstance(kind, MLALatent):
        return kind
    raise ShapeError(f"mtp: {target.name}'s last layer is {kind.describe()}; kvplan models MTP modules whose "
                     f"attention is full attention or MLA")


def _outer_bytes(spec: ModelSpec, tp: int) -> int:
    """Bytes (one rank) of the tensors outside the decoder layers: embedding, lm_head, final
    norm, extras, in the spec's own format (kvplan.weights' rule)."""
    from kvplan.shapes import model_shapes
    from kvplan.weights import tensors_on_rank

    return tensors_on_rank(spec, model_shapes(spec), None, tp)[1]


def mtp_weights(target: ModelSpec, weights: str | None, tp: int, modules: int, moe=None,
                own_head: bool = False) -> tuple[int, int]:
    """(params, bytes per rank) of ``modules`` MTP modules, by the weight rules of the target's
    own layers (kvplan.weights.tensors_on_rank): each a decoder layer numbered after the
    target's last (DeepSeek-V3: layer 61, MLA + MoE, in the target's weight format, its routed
    experts held as the deployment's ``moe`` split holds the target's: vLLM builds the MTP
    drafter from the target's VllmConfig, parallel config included, vllm/v1/spec_decode/
    eagle.py _get_model / _create_draft_vllm_config), plus the module's own tensors
    (kvplan.shapes.mtp_module_shapes: enorm, hnorm, eh_proj, shared_head.norm, and with
    ``own_head`` the shared_head.head copy of the lm_head vLLM keeps before 0.16.0).
    DeepSeek-V3 at tp 8: 1,668,653,824 B; at dp 8 with expert parallelism (tp 1, 32 whole
    experts a rank) 1,851,452,160 B, not the 11,726,547,712 B of all 256 experts."""
    from kvplan.shapes import layer_shapes, mtp_module_shapes
    from kvplan.weights import tensors_on_rank

    ext = mtp_spec(target, modules)
    tensors = [p for i in range(target.num_layers, ext.num_layers) for p in layer_shapes(ext, i)]
    tensors += mtp_module_shapes(target, own_head) * modules
    return tensors_on_rank(ext, tensors, weights, tp, moe)


def mtp_spec(target: ModelSpec, modules: int) -> ModelSpec:
    """The target with its ``modules`` MTP decoder layers appended, numbered after its last
    (DeepSeek-V3: layer 61), each of the last layer's kind (``mtp_kind``)."""
    kind = mtp_kind(target)
    return dataclasses.replace(target, num_layers=target.num_layers + modules,
                               layers=target.layers + (kind,) * modules,
                               layer_labels=target.layer_labels + ("mtp",) * modules)


def mtp_copy_bytes(target: ModelSpec, w, modules: int, engine) -> int:
    """What ``engine`` keeps beside the stored weights of ``modules`` MTP layers on one rank, by
    its rule for the target's MLA layers (``Engine.mla_copy_bytes``, 0 without an engine). vLLM
    loads the drafter with get_model (vllm/v1/spec_decode/eagle.py: 0.10.1.1 line 600, 0.14.1
    995, 0.19.1 1239), whose loader runs process_weights_after_loading on every MLA attention of
    it (vllm/model_executor/model_loader/utils.py: 0.10.1.1 lines 118-122, 0.19.1 112-118); the
    MTP module's mtp_block is a DeepseekV2DecoderLayer with the target's quant_config
    (vllm/model_executor/models/deepseek_mtp.py: 0.10.1.1 lines 61-62, 0.19.1 84-94), so an fp8
    kv_b_proj gets the model-dtype copy. DeepSeek-V3 fp8, one layer: 33,554,432 B at tp 1,
    4,194,304 B at tp 8."""
    if engine is None:
        return 0
    ext = mtp_spec(target, modules)
    return engine.mla_copy_bytes(ext, w, range(target.num_layers, ext.num_layers))


def eagle_weights(head: ModelSpec, tp: int) -> tuple[int, int]:
    """(params, bytes per rank) of an EAGLE head (vllm/model_executor/models/llama_eagle.py):
    its decoder layers, less the first layer's input_layernorm (replaced by nn.Identity), plus
    fc = ReplicatedLinear(2 x hidden, hidden, bias=False) whole on every rank; the embedding
    and lm_head are the target's (shared at pp 1)."""
    from kvplan.shapes import model_shapes
    from kvplan.weights import WEIGHT_FORMATS, weights_footprint

    if head.norm != "rmsnorm":
        raise ShapeError(f"eagle: {head.name} uses {head.norm}; kvplan counts Llama-style EAGLE heads (RMSNorm)")
    w = weights_footprint(head, None, tp, 1).stages[0]
    outer_params = sum(p.rank_numel(tp) for p in model_shapes(head))
    h = head.hidden_size
    bits = WEIGHT_FORMATS[head.dtype].bits
    params = w.params - outer_params - h + 2 * h * h
    return params, w.bytes - _outer_bytes(head, tp) + (2 * h * h - h) * bits // 8


# -- parsing ---------------------------------------------------------------------------------
def _config_dict(speculative_config) -> dict:
    if speculative_config is None:
        return {}
    if isinstance(speculative_config, dict):
        return dict(speculative_config)
    if not isinstance(speculative_config, str):
        raise BadInputError(f"--speculative-config must be a JSON object, got {speculative_config!r}")
    try:
        data = json.loads(speculative_config)
    except json.JSONDecodeError as err:
        raise BadInputError(f"--speculative-config is not valid JSON ({err.msg} at character {err.pos}): "
                            f"{speculative_config!r}") from None
    except RecursionError:  # '[[[[...': refused in one line, as kvplan.loader refuses deep files
        raise BadInputError("--speculative-config: nested deeper than any configuration (see docs/limits.md)") from None
    if not isinstance(data, dict):
        raise BadInputError(f"--speculative-config must be a JSON object, got {speculative_config!r}")
    return data


def _count(value, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise BadInputError(f"{what} must be a whole number >= 1, got {value!r}")
    from kvplan import limits

    return limits.check_int(value, what, limits.MAX_BLOCK_SIZE)  # extra tokens a step: a block's worth at most


def make_speculative(target: ModelSpec, speculative_config=None, *, draft=None, num_speculative_tokens=None,
                     mtp: bool = False, tp: int = 1) -> Speculative | None:
    """The setup from vLLM's ``--speculative-config`` (JSON text or a dict) or kvplan's short
    forms (``--draft MODEL --num-speculative-tokens K``, ``--mtp``); None when none is given.
    BadInputError / ShapeError / UnknownNameError (one line) on anything kvplan does not model."""
    cfg = _config_dict(speculative_config)
    if draft is not None or num_speculative_tokens is not None or mtp:
        if cfg:
            raise BadInputError("give --speculative-config or --draft/--num-speculative-tokens/--mtp, not both")
        cfg = {"method": "mtp"} if mtp else {}
        if mtp and draft is not None:
            raise BadInputError("--mtp uses the model's own MTP layers; it takes no --draft")
        if draft is not None:
            cfg["model"] = draft if isinstance(draft, (str, ModelSpec)) else str(draft)
        if num_speculative_tokens is not None:
            cfg["num_speculative_tokens"] = num_speculative_tokens
    if not cfg:
        return None
    unknown = [k for k in cfg if k not in KNOWN_KEYS + MEMORY_NEUTRAL_KEYS]
    if unknown:
        raise BadInputError(f"--speculative-config: kvplan does not model {', '.join(map(repr, unknown))} "
                            f"(it reads {', '.join(KNOWN_KEYS)})")
    model = cfg.get("model")
    method = cfg.get("method")
    if method is None:  # vLLM: "ngram" by name, else a draft model (vllm/config/speculative.py)
        method = "ngram" if model in ("ngram", "[ngram]") else "draft_model" if model is not None else None
    if method in MTP_ALIASES:
        method = "mtp"
    if method not in METHODS:
        raise BadInputError(f"--speculative-config: method {method!r} is not modelled (kvplan models "
                            f"{', '.join(METHODS)}; eagle3 heads are not counted yet)")
    k = cfg.get("num_speculative_tokens")
    draft_spec = None
    modules = 0
    if method == "mtp":
        modules = target.num_nextn_predict_layers
        if modules < 1:
            raise BadInputError(f"mtp: {target.name} has no multi-token-prediction layers "
                                f"(num_nextn_predict_layers is 0 in its spec)")
        if model is not None and model not in (target.name, target):
            raise BadInputError(f"mtp: the MTP layers are {target.name}'s own; drop model {model!r}")
        # vLLM defaults k to n_predict and needs k > n_predict to be a multiple of it.
        k = modules if k is None else _count(k, "num_speculative_tokens")
        if k > modules and k % modules:
            raise BadInputError(f"mtp: num_speculative_tokens {k} must be a multiple of the model's "
                                f"{modules} MTP layers")
    else:
        if k is None:
            raise BadInputError(f"{method}: give num_speculative_tokens (vLLM requires it)")
        k = _count(k, "num_speculative_tokens")
        if method != "ngram":
            if model is None:
                raise BadInputError(f"{method}: give the draft model (\"model\" / --draft)")
            if isinstance(model, ModelSpec):
                draft_spec = model
            else:
                from kvplan.loader import load_model

                draft_spec = load_model(str(model))
            if method == "draft_model" and target.vocab_size and draft_spec.vocab_size and (
                    draft_spec.vocab_size != target.vocab_size):
                raise BadInputError(f"draft_model: {draft_spec.name}'s vocabulary ({draft_spec.vocab_size:,}) differs "
                                    f"from {target.name}'s ({target.vocab_size:,}); vLLM refuses a draft model "
                                    f"with another vocabulary size")
            if method == "eagle":
                _check_eagle_head(draft_spec, target)
    dtp = cfg.get("draft_tensor_parallel_size")
    if dtp is not None and dtp != tp:
        raise BadInputError(f"draft_tensor_parallel_size {dtp!r}: kvplan models the draft at the target's "
                            f"tensor-parallel size ({tp}) only (vLLM requires it for draft_model)")
    out = Speculative(method=method, num_speculative_tokens=k, draft=draft_spec, mtp_layers=modules)
    out.check_tp(tp)
    return out


def _check_eagle_head(head: ModelSpec, target: ModelSpec) -> None:
    """BadInputError unless ``head`` can be ``target``'s EAGLE head as vLLM builds one
    (vllm/model_executor/models/llama_eagle.py LlamaModel.forward: fc(torch.cat((input_embeds,
    hidden_states))), fc = ReplicatedLinear(2 x head hidden, head hidden), input_embeds from the
    embedding shared with the target and hidden_states the target's): the hidden sizes must be
    equal; and kvplan counts the head without an embedding or lm_head of its own (shared with the
    target: eagle_weights), which vLLM does only for a head whose vocabulary is the target's
    (vllm/v1/spec_decode/eagle.py _maybe_share_embeddings / _maybe_share_lm_head: no own copy,
    or one torch.equal to the target's)."""
    if head.hidden_size != target.hidden_size:
        raise BadInputError(f"eagle: {head.name}'s hidden size ({head.hidden_size:,}) differs from {target.name}'s "
                            f"({target.hidden_size:,}); vLLM's EAGLE head feeds the target's hidden states and "
                            f"embeddings through fc (2 x hidden), so it cannot load it as {target.name}'s head")
    if target.vocab_size and head.vocab_size and head.vocab_size != target.vocab_size:
        raise BadInputError(f"eagle: {head.name}'s vocabulary ({head.vocab_size:,}) differs from {target.name}'s "
                            f"({target.vocab_size:,}); vLLM shares the target's embedding and lm_head only with a "
                            f"head of the same vocabulary, and kvplan counts the head without its own")


#: vLLM releases whose speculative decoding was read for this module (scheduler lookahead,
#: allocate_slots): the same rule in all of them. Releases before the first are refused.
VLLM_READ = ("0.10.1.1", "0.11.0", "0.14.0", "0.15.0", "0.19.0", "0.33.0")
#: draft_model: vllm/engine/arg_utils.py raises NotImplementedError ("Speculative decoding with
#: draft model is not supported yet" in the V1 oracle, 0.10.1.1 line 1450 and 0.10.2; "Draft
#: model speculative decoding is not supported yet" from 0.11.0 through 0.14.1, 0.14.1 line
#: 1794); 0.15.0 drops
#: it and ships vllm/v1/spec_decode/draft_model.py DraftModelProposer (gpu_model_runner.py
#: builds it for uses_draft_model(); its scheduler sets num_lookahead_tokens = k, scheduler.py
#: 213; the draft's tp must equal the target's; no embedding or lm_head sharing), as every
#: release to 0.19.1 does.
VLLM_DRAFT_MODEL_FIRST = "0.15.0"


def check_engine(engine_name: str, method: str | None = None) -> None:
    """BadInputError (one line) for an engine, or a vLLM release, whose speculative decoding
    kvplan does not model for ``method``."""
    from kvplan.engines import get_engine
    from kvplan.engines.base import Release

    prof = get_engine(engine_name)
    family = prof.family
    if family not in ENGINES:
        why = ENGINE_REFUSALS.get(family, f"{family}'s speculative decoding is not modelled")
        raise BadInputError(f"speculative decoding under {prof.name}: {why}; kvplan models it under vllm and raw")
    release = getattr(prof, "release", None)
    if family != "vllm" or release is None:
        return
    if release < Release.parse(VLLM_READ[0]):
        raise BadInputError(f"speculative decoding under {prof.name}: kvplan read vLLM's from {VLLM_READ[0]} on "
                            f"({', '.join(VLLM_READ)}); pick a later release")
    if method == "draft_model" and release < Release.parse(VLLM_DRAFT_MODEL_FIRST):
        raise BadInputError(f"draft_model under {prof.name}: vLLM before {VLLM_DRAFT_MODEL_FIRST} refuses it "
                            f"(engine/arg_utils.py raises NotImplementedError: draft model speculative decoding is "
                            f"not supported yet, through 0.14.1); use eagle, mtp or ngram there, or a release from "
                            f"{VLLM_DRAFT_MODEL_FIRST} (DraftModelProposer)")


def reserved_slots(n, extra_slots: int, max_model_len: int):
    """Slots a decoding request holding ``n`` tokens reserves under speculative decoding:
    min(n + extra_slots, max_model_len) (vllm/v1/core/kv_cache_manager.py allocate_slots:
    ``num_tokens_need_slot = min(num_computed + num_new + num_lookahead_tokens,
    max_model_len)``, from 0.9.0). The capacity pool (kvplan.paging) and the fragment
    simulator both apply it. A request of 8,192 tokens at max_model_len 8,192 with k = 4 and a
    drafter reserves 8,192 slots (512 blocks of 16), not 8,200 (513). int, or an int64 array."""
    from kvplan.layers import minimum

    return minimum(n + extra_slots, max_model_len)


def with_draft_weights(w, draft_params: int, draft_bytes: int):
    """``w`` (kvplan.weights.Weights of the target, pp 1) with the drafter's weights added
    to its GPU, under the part "draft" (its by_part and its stage's)."""
    if not draft_bytes and not draft_params:
        return w
    if len(w.stages) != 1:
        raise BadInputError("speculative decoding is modelled with pp=1 only")
    st = w.stages[0]
    stage = dataclasses.replace(st, params=st.params + draft_params, bytes=st.bytes + draft_bytes,
                                by_part={**st.by_part, "draft": draft_bytes})
    return dataclasses.replace(w, stages=(stage,))
