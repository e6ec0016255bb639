"""The field-driven core of config.json reading: the ``HFConfig`` accessor, the family
record, the layout helpers every family shares, and the classification of every key.

How a key is judged
-------------------
Reading is driven by the fields a config holds, not by its ``model_type`` alone. Every
key of the config (top level, ``text_config`` and any sub-mapping a reader opens) ends in
one of four places:

1. **understood**: the family reader read it (``HFConfig`` records every key it is asked
   for) or declared it deliberately unused (``Family.ignored``, ``HFConfig.ignore``);
2. **ignorable**: on the allow-list below (``IGNORABLE``), one group per reason: token ids,
   training-only settings, numerics without a shape, rotary frequencies, runtime switches,
   generation defaults, heads of other tasks;
3. **shapes the weights only**: its name holds one of ``WEIGHT_TOKENS`` (experts, MLP
   width, vocabulary, vision tower ...). KV sizing goes on; the spec lists the field in
   ``weights_unknown`` and any weight or capacity figure refuses, naming it;
4. **may shape the cache**: its name holds one of ``CACHE_TOKENS`` (window, chunk, pattern,
   layer, kv, head, attention, state, mamba ...), or it holds a list or a mapping (a
   structure). The import stops with one line naming the field: ``classify`` raises.

A key that fits none of these is recorded as not read (``notes``; ``assumptions`` for a
model_type kvplan has no reader for).
"""

from __future__ import annotations

import fnmatch
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from kvplan.errors import SpecError

ABSENT = object()

# Alternative key names for the core sizes, in the order they are tried. GPT-2 writes
# n_layer / n_head / n_embd / n_positions / n_inner; Falcon's original RefinedWeb configs
# n_layer / n_head / n_head_kv; OPT ffn_dim.
LAYERS = ("num_hidden_layers", "n_layer", "num_layers")
HIDDEN = ("hidden_size", "n_embd", "d_model")
HEADS = ("num_attention_heads", "n_head", "num_heads")
KV_HEADS = ("num_key_value_heads", "num_kv_heads", "n_head_kv")
VOCAB = ("vocab_size",)
INTERMEDIATE = ("intermediate_size", "ffn_dim", "ffn_hidden_size", "n_inner")
MAX_POS = ("max_position_embeddings", "n_positions", "max_seq_len", "seq_length")

#: Keys that only KV-free weight figures need: missing ones are named when weights are asked for.
WEIGHT_ONLY_SIZES = {"vocab_size": VOCAB, "intermediate_size": INTERMEDIATE}


@dataclass
class Findings:
    """What a reading found besides the spec fields; shared by every part of one config."""

    notes: list[str] = field(default_factory=list)
    assumptions: list[str] = field(default_factory=list)
    weights_unknown: list[str] = field(default_factory=list)
    unread: list[str] = field(default_factory=list)


class HFConfig:
    """A config mapping plus its family's defaults, read with one-line errors.

    Every key asked for is recorded in ``read``; ``classify`` judges the rest. ``path`` is
    the prefix of this mapping inside the file (``"text_config."``), used in messages.
    """

    def __init__(self, data: dict, origin: str, defaults: dict | None = None, *, path: str = "",
                 findings: Findings | None = None, top: HFConfig | None = None, family: Family | None = None):
        self.data = data
        self.origin = origin
        self.defaults = dict(defaults or {})
        #: The family whose class defaults fill this mapping (None for sub-mappings).
        self.family = family
        self.path = path
        self.findings = findings if findings is not None else Findings()
        self.top = top if top is not None else self
        self.read: set[str] = set()
        self.children: list[HFConfig] = []
        self.only_weights = False
        #: The KV-head key ``kv_heads`` read as the class's own (None: it read none).
        self.kv_key: str | None = None
        #: (where, value, class) when the KV-head count is a class default for an absent key;
        #: a reader that settles the count otherwise clears it (``check_kv_heads`` reads it).
        self.kv_default: tuple[str, int, str] | None = None

    # -- bookkeeping --------------------------------------------------------------------
    @property
    def notes(self) -> list[str]:
        return self.findings.notes

    def where(self, key: str) -> str:
        """The key as the user finds it in the file (``text_config.sliding_window``)."""
        return f"{self.path}{key}"

    def error(self, message: str) -> SpecError:
        return SpecError(f"{self.origin}: {message}")

    def note(self, text: str) -> None:
        self.findings.notes.append(text)

    def assume(self, text: str) -> None:
        """Something kvplan assumed that could make a figure wrong: printed as a warning."""
        self.findings.assumptions.append(text)

    def weights_need(self, text: str) -> None:
        """A field the weights depend on that is missing or not read: weight figures refuse."""
        self.findings.weights_unknown.append(text)

    def weights_only(self, build: Callable[[], dict]) -> dict | None:
        """Run ``build`` (a reader of weight-only fields: MoE, MLP widths); a missing or bad
        key there becomes a ``weights_need`` instead of an error, so KV sizing goes on."""
        try:
            return build()
        except SpecError as err:
            self.weights_need(str(err).removeprefix(f"{self.origin}: "))
            return None

    def ignore(self, *keys: str) -> None:
        """Declare keys deliberately not used (the caller says why in a comment)."""
        self.read.update(keys)

    # -- raw access -------------------------------------------------------------------
    def has(self, key: str) -> bool:
        """Whether the file itself holds ``key`` (null included)."""
        self.read.add(key)
        return key in self.data

    def raw(self, key: str, default=ABSENT):
        """The value as written (``null`` included), else the family default, else ``default``."""
        self.read.add(key)
        if key in self.data:
            return self.data[key]
        if key in self.defaults:
            return self.defaults[key]
        return default

    def first(self, keys: tuple[str, ...], default=None):
        """The first of ``keys`` with a non-null value (config first, then defaults)."""
        self.read.update(keys)
        for key in keys:
            if self.data.get(key) is not None:
                return self.data[key], key
        for key in keys:
            if self.defaults.get(key) is not None:
                return self.defaults[key], key
        return default, None

    def sub(self, key: str, defaults: dict | None = None, weights_only: bool = False) -> HFConfig | None:
        """A nested mapping (``attn_config``, ``vision_config``) as an HFConfig whose keys are
        classified too; None when absent or null. ``weights_only``: the mapping cannot shape
        the text model's cache (a vision tower), so its unread keys only block weights."""
        value = self.raw(key, None)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise self.error(f"{self.where(key)} must be a JSON object")
        child = HFConfig(value, self.origin, defaults, path=f"{self.where(key)}.", findings=self.findings,
                         top=self.top)
        child.only_weights = weights_only
        self.children.append(child)
        return child

    # -- typed access -----------------------------------------------------------------
    def int(self, keys: str | tuple[str, ...], default=ABSENT) -> int | None:
        """A positive integer from the first of ``keys`` present; SpecError if missing."""
        keys = (keys,) if isinstance(keys, str) else keys
        value, key = self.first(keys)
        if key is None:
            if default is not ABSENT:
                return default
            alt = f" (or {' / '.join(keys[1:])})" if len(keys) > 1 else ""
            raise self.error(f"missing {self.where(keys[0])}{alt}")
        return self.check_int(key, value)

    def check_int(self, key: str, value) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise self.error(f"{self.where(key)} must be a positive integer, got {value!r}")
        return value

    def count(self, key: str, default: int = 0) -> int:
        """A non-negative integer (0 allowed: first_k_dense_replace, n_shared_experts)."""
        value = self.raw(key, default)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise self.error(f"{self.where(key)} must be a non-negative integer, got {value!r}")
        return value

    def flag(self, key: str, default: bool) -> bool:
        value = self.raw(key, default)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.error(f"{self.where(key)} must be true or false, got {value!r}")
        return value

    def check_positive(self, key: str, value, or_null: bool = False) -> float:
        """``value`` (read from ``key``) as a positive finite number; one line naming the key otherwise."""
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < float("inf"):
            raise self.error(f"{self.where(key)} must be a positive number{' or null' if or_null else ''}, "
                             f"got {value!r}")
        return float(value)

    def softcap(self, key: str = "attn_logit_softcapping") -> float | None:
        """A logit soft-cap: a positive finite number, or None when the config says null or
        has no such key and the family no default for it (no cap)."""
        value = self.raw(key, None)
        return None if value is None else self.check_positive(key, value, or_null=True)

    def window(self, key: str = "sliding_window") -> int | None:
        """A sliding window size; None when the config says null, or has no such key and
        the family no default for it (no window)."""
        value = self.raw(key, None)
        if value is None:
            return None
        return self.check_int(key, value)

    def layer_types(self, num_layers: int, key: str = "layer_types") -> list[str] | None:
        value = self.raw(key, None)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.error(f"{self.where(key)} must be a list of strings")
        if len(value) != num_layers:
            raise self.error(f"{self.where(key)} has {len(value)} entries for {num_layers} layers")
        return value


# -- the family record ----------------------------------------------------------------------
FamilyReader = Callable[[HFConfig], dict]


@dataclass(frozen=True)
class Family:
    """A model_type's reader, its transformers config class and that class's defaults.

    ``ignored``: keys this family's configs carry that are deliberately not used (the
    family module says why next to them). ``sparse_text``: a nested ``text_config`` of this
    family is written as a diff against the class defaults (transformers
    ``PretrainedConfig.to_diff_dict``), so the defaults may fill its core sizes too.
    ``text_family``: for a multimodal wrapper, the model_type of its ``text_config`` when
    that mapping does not say (Kimi-VL's is DeepSeek-V3). ``wrapper``: the reader reads the
    top-level mapping of a multimodal config and gets the text part's fields to extend.

    KV heads (``kv_heads``): ``defaults`` holds the class's own KV-head key (one of
    ``KV_HEADS``) at its ``__init__`` default, None where the class turns None into the
    attention heads (LlamaConfig); a family without that key has no known default and a
    config that leaves the key out is refused. ``null_kv_heads`` is what an explicit null
    becomes: "heads" (``if num_key_value_heads is None: num_key_value_heads =
    num_attention_heads``), "refuse" (the class keeps None and its attention cannot be
    built), or a number (vLLM's RWConfig: ``1 if n_head_kv is None``).

    ``kv_heads_from``: set where the engine's attention reads no ``KV_HEADS`` key at all
    (GPT-2, OPT, GPT-J ... build multi-head attention; GPT-BigCode and ChatGLM decide by
    their own flags, DBRX reads attn_config.kv_n_heads): what gives the count instead, in
    words. ``kv_heads`` then returns the attention heads, the reader settles the count, and
    a KV-head key the config states anyway must agree with it (``check_kv_heads``).
    """

    reader: FamilyReader
    config_class: str
    defaults: dict = field(default_factory=dict)
    ignored: frozenset[str] = frozenset()
    sparse_text: bool = False
    wrapper: bool = False
    text_family: str | None = None
    null_kv_heads: int | str = "heads"
    kv_heads_from: str | None = None



def vllm_multi_head(model_file: str) -> str:
    """``Family.kv_heads_from`` for a class whose vLLM attention (``model_file``) is multi-head
    whatever KV-head key the config states."""
    return f"num_attention_heads (vLLM's {model_file} builds multi-head attention)"

# -- the allow-list: keys that never change KV-cache bytes or weight bytes ------------------
@dataclass(frozen=True)
class IgnoreGroup:
    """Keys ignored for one reason. ``names`` are exact, ``patterns`` fnmatch-style;
    ``neutral`` maps a name to a test its value must pass (else the key is judged as unknown)."""

    reason: str
    names: frozenset[str] = frozenset()
    patterns: tuple[str, ...] = ()
    neutral: dict = field(default_factory=dict)

    def matches(self, key: str, value) -> bool:
        if key in self.neutral:
            return self.neutral[key](value)
        return key in self.names or any(fnmatch.fnmatchcase(key, p) for p in self.patterns)


def _falsy(value) -> bool:
    return not value


#: Config keys naming a rotary fraction of each head, in the order vLLM 0.13.0+ tries them
#: (rope_parameters_factor).
ROPE_PARAMETERS_FACTORS = ("partial_rotary_factor", "rotary_pct", "rotary_emb_fraction")
#: Keys that set the width of vLLM's rotary cos/sin table (kvplan.engines.vllm.rope_cache_bytes):
#: the fractions, GPT-J's / MiniMax's rotary_dim, StableLM's rope_pct, Bamba's attn_rotary_emb.
#: A family whose model file reads them reads them; elsewhere a value other than the whole head
#: is a weights-only unknown (the table is counted in vLLM's weights), named by any weight figure.
ROTARY_WIDTH_KEYS = ROPE_PARAMETERS_FACTORS + ("rotary_dim", "rope_pct", "attn_rotary_emb")


def _null(value) -> bool:
    return value is None


def _full_rotary(value) -> bool:
    """A rotary-width key at its neutral value: null, or a fraction of 1."""
    return value is None or (not isinstance(value, bool) and isinstance(value, (int, float)) and value == 1)


def _head_at_model_dtype(value) -> bool:
    """``head_dtype`` at the model dtype: "model" (exactly: vllm/config/model.py _get_head_dtype
    compares before it lowercases, 0.26.0 :2133) or null (a generating model's default, :2142-2148)."""
    return value is None or value == "model"


IGNORABLE: tuple[IgnoreGroup, ...] = (
    IgnoreGroup(
        "the output layer's dtype at the model dtype (vllm/config/model.py _get_head_dtype)",
        neutral={"head_dtype": _head_at_model_dtype},
    ),
    IgnoreGroup(
        "identity and provenance: names, classes, versions",
        frozenset({"_name_or_path", "name_or_path", "architectures", "model_type", "auto_map",
                   "transformers_version", "_commit_hash", "tokenizer_class", "custom_pipelines",
                   "_attn_implementation_autoset", "model_name", "license"}),
    ),
    IgnoreGroup(
        "token ids of the tokenizer and of multimodal placeholders",
        patterns=("*_token_id", "*_token_ids", "*token_index", "*_token_idx", "mm_tokens_per_image",
                  "image_seq_length", "image_token_id"),
    ),
    IgnoreGroup(
        "training only: dropout, initialisation, auxiliary losses, gradient checkpointing",
        frozenset({"initializer_range", "initializer_factor", "init_std", "layerdrop", "output_router_logits",
                   "router_jitter_noise", "gradient_checkpointing", "pretraining_tp", "use_bfloat16",
                   "tf_legacy_loss", "seq_aux", "router_z_loss_coef", "ep_size",
                   "ignore_index"}),
        patterns=("*dropout*", "*pdrop*", "*aux_loss*", "*_init_*", "*_z_loss*"),
    ),
    IgnoreGroup(
        "numerics without a shape: norm epsilons, activation functions, soft-caps, scalar multipliers",
        frozenset({"hidden_act", "activation_function", "hidden_activation", "query_pre_attn_scalar",
                   "attention_multiplier", "logits_scaling", "residual_multiplier", "embedding_multiplier",
                   "scale_embedding", "attn_scale", "swiglu_limit", "attn_temperature_tuning",
                   "do_layer_norm_before", "apply_residual_connection_post_layernorm", "clip_qkv",
                   "scale_attn_weights", "scale_attn_by_inverse_layer_idx", "reorder_and_upcast_attn",
                   "attention_softmax_in_fp32", "scale_attention_softmax_in_fp32", "apply_query_key_layer_scaling",
                   "scale_emb", "dim_model_base", "scale_depth"}),
        patterns=("*_eps", "*epsilon*", "*softcap*", "*softcapping*", "*_multiplier"),
        # final_logit_softcapping caps the LM head's logits only (vLLM LogitsProcessor soft_cap):
        # ignorable by the pattern. attn_logit_softcapping caps the attention scores, which
        # some attention backends refuse (vLLM's FlexAttention): ignorable only when null; a
        # family that runs it reads it (Gemma 2: ModelSpec.attn_logit_softcapping).
        neutral={"attn_logit_softcapping": lambda value: value is None},
    ),
    IgnoreGroup(
        "rotary position frequencies and scaling: rotary tables are recomputed, never cached",
        frozenset({"rope_theta", "rope_scaling", "rope_parameters", "rope_interleave", "rotary_emb_base",
                   "original_max_position_embeddings", "use_mrope", "mrope_section", "rope_type",
                   "initial_context_length"}),
        # The keys that narrow vLLM's rotary table (ROTARY_WIDTH_KEYS) only at their neutral
        # value; else a family reads them or they shape the weights (WEIGHT_NAMES).
        neutral={**{key: _full_rotary for key in ROPE_PARAMETERS_FACTORS + ("rope_pct",)},
                 "rotary_dim": _null, "attn_rotary_emb": _null},
    ),
    IgnoreGroup(
        "runtime switches of transformers (kernels, caching, outputs)",
        frozenset({"use_cache", "torchscript", "return_dict", "output_hidden_states", "output_attentions",
                   "use_return_dict", "_attn_implementation", "attn_implementation", "use_flash_attn",
                   "use_flash_attention_2", "cache_implementation", "use_mamba_kernels", "num_logits_to_keep",
                   "torch_dtype", "dtype", "chunk_size_feed_forward", "fused_bias_fc", "fused_dropout_add_ln",
                   "fused_mlp", "flash_attn", "flash_rotary", "fused_dense"}),
    ),
    IgnoreGroup(
        "context limits other than the position table: they cap vLLM's default max_model_len, never the bytes "
        "per token (kvplan sizes the --ctx it is given)",
        frozenset({"model_max_length", "max_sequence_length", "max_seq_length", "seq_len",
                   "runner_max_sequence_length"}),
    ),
    IgnoreGroup(
        "generation defaults (sampling settings)",
        frozenset({"max_length", "min_length", "do_sample", "early_stopping", "num_beams", "num_beam_groups",
                   "diversity_penalty", "temperature", "top_k", "top_p", "typical_p", "repetition_penalty",
                   "length_penalty", "no_repeat_ngram_size", "encoder_no_repeat_ngram_size", "bad_words_ids",
                   "num_return_sequences", "output_scores", "return_dict_in_generate",
                   "remove_invalid_values", "exponential_decay_length_penalty", "suppress_tokens",
                   "begin_suppress_tokens", "max_new_tokens"}),
    ),
    IgnoreGroup(
        "heads and labels for other tasks (classification, summary), not loaded for generation",
        frozenset({"id2label", "label2id", "num_labels", "problem_type", "finetuning_task", "task_specific_params",
                   "prefix", "summary_activation", "summary_first_dropout", "summary_proj_to_labels",
                   "summary_type", "summary_use_proj"}),
    ),
    IgnoreGroup(
        "PretrainedConfig fields at their neutral value (no pruning, no encoder, no cross-attention)",
        neutral={"pruned_heads": _falsy, "is_encoder_decoder": _falsy, "add_cross_attention": _falsy,
                 "cross_attention_hidden_size": _falsy, "tie_encoder_decoder": _falsy, "is_decoder": lambda v: True},
    ),
)

#: Keys that place MoE layers among dense ones: weights only (experts never change the cache).
#: spatial_merge_size: patches merged before the multimodal projector (its input width).
WEIGHT_NAMES = frozenset({"decoder_sparse_step", "first_k_dense_replace", "spatial_merge_size", *ROTARY_WIDTH_KEYS})

#: Name fragments of keys that shape only the weights (experts, MLP width, vocabulary,
#: vision tower, biases, norms). Checked before CACHE_TOKENS: ``attention_bias`` is a weight.
WEIGHT_TOKENS = ("expert", "moe", "router", "vocab", "intermediate", "ffn", "mlp", "vision", "audio", "image",
                 "projector", "embed", "bias", "tie_", "norm", "lm_head")

#: Name fragments of keys that may shape the KV cache. Chosen wide on purpose: a field kvplan
#: cannot place is refused, and a family that understands it reads it.
CACHE_TOKENS = ("window", "chunk", "pattern", "layer", "type", "kv", "key", "value", "lora", "rank", "latent",
                "mamba", "ssm", "state", "conv", "linear", "hybrid", "multi_query", "query", "mqa", "gqa",
                "group", "block", "head", "attn", "attention", "sparse", "index", "share", "cross", "encoder",
                "decoder", "nope", "global", "local", "sink", "compress", "cache", "swa", "interval", "period",
                "offset", "recurr", "rwkv", "retention", "memory", "dim", "channel", "size", "position", "seq",
                "context", "ctx", "len")
#: Prefixes of counts (``num_*``, ``n_*``): a count kvplan does not read may be a count of layers or heads.
CACHE_PREFIXES = ("num_", "n_")


def ignorable(key: str, value) -> str | None:
    """The reason ``key`` never changes cache or weight bytes, or None."""
    for group in IGNORABLE:
        if group.matches(key, value):
            return group.reason
    return None


def effect(key: str, value) -> str | None:
    """"weights", "cache" or None: what an unread key could change, judged by its name."""
    low = key.lower()
    if low in WEIGHT_NAMES or any(t in low for t in WEIGHT_TOKENS):
        return "weights"
    if (any(t in low for t in CACHE_TOKENS) or low.startswith(CACHE_PREFIXES)
            or (isinstance(value, (list, dict)) and value)):
        return "cache"
    return None


def _head_dtype_refusal(where: str, value) -> str:
    return (f"{where} {value!r}: vLLM 0.26.0 runs the output layer in it (vllm/config/model.py "
            f"ModelConfig.head_dtype / _get_head_dtype :1724-1752, :2128-2149; model_executor/layers/"
            f"logits_processor.py LogitsProcessor._apply_head :99-136: float32 logits straight from the bf16/fp16 "
            f"lm_head by torch.mm(out_dtype=...) on CUDA, else a cast copy of the lm_head weight), which kvplan "
            f"does not model; 0.19.1-0.25.1 keep a generating model's head in the model dtype (a warning) and "
            f"no SGLang release kvplan models (0.4.6-0.5.23) reads the key: for those, a spec from kvplan "
            f"import CONFIG --ignore {where}")


#: Keys refused with their own reason in every family (values that change nothing pass IGNORABLE).
REFUSED_KEYS = {"head_dtype": _head_dtype_refusal}


def classify(c: HFConfig, model_type: str) -> None:
    """Judge every key of ``c`` (and of the sub-mappings a reader opened) that was not read.

    Raises SpecError on the first key that may shape the cache; records weight-only keys in
    ``weights_unknown`` and the rest in ``unread``."""
    for key, value in c.data.items():
        if key in c.read or ignorable(key, value):
            continue
        if key in REFUSED_KEYS:
            raise c.error(REFUSED_KEYS[key](c.where(key), value))
        what = effect(key, value)
        if what == "cache" and c.only_weights:
            what = "weights"
        if what == "cache":
            raise c.error(
                f"{c.where(key)} is a field kvplan does not read for model_type {model_type!r}, and it may "
                f"shape the KV cache; write a spec by hand (a draft: kvplan import CONFIG --ignore "
                f"{c.where(key)}; see docs/import.md)"
            )
        if what == "weights" and key in ROTARY_WIDTH_KEYS:
            c.weights_need(f"{c.where(key)} {value!r} (the width of vLLM's rotary table, not read for model_type "
                           f"{model_type!r})")
        elif what == "weights":
            c.weights_need(f"{c.where(key)} (not read for model_type {model_type!r})")
        else:
            c.findings.unread.append(c.where(key))
    for child in c.children:
        classify(child, model_type)


# -- the context a model serves -------------------------------------------------------------
#: vLLM's keys for a model's length limit, the smallest present wins, model_max_length overrides
#: (vllm/transformers_utils/model_arch_config_convertor.py derive_max_model_len_and_key, 0.19.1).
CONTEXT_KEYS = ("max_position_embeddings", "n_positions", "max_seq_len", "seq_length", "model_max_length",
                "max_target_positions", "max_sequence_length", "max_seq_length", "seq_len")


def context_length(c: HFConfig) -> int:
    """The longest sequence the engine serves the model at: vLLM's derived max_model_len
    (vllm/config/model.py _get_and_verify_max_len, 0.19.1): the smallest of CONTEXT_KEYS
    (model_max_length when given), times the rope scaling ``factor`` unless the rope type is
    su, longrope or llama3 (whose max_position_embeddings is already the long context) or
    the model is Gemma 3; YaRN scales ``original_max_position_embeddings``. Qwen2.5-7B with
    YaRN factor 4 over 32,768 serves 131,072. A tokenizer_config.json model_max_length, which
    vLLM also reads, is not seen here."""
    length = _unscaled_length(c)
    params = _rope_params(c)
    if params is None:
        return length
    factor = 1
    for rp in params:
        kind = rp.get("rope_type", rp.get("type"))
        if kind in ("su", "longrope", "llama3", None):
            if kind == "longrope" and rp.get("original_max_position_embeddings", c.raw(
                    "original_max_position_embeddings", None)):
                c.assume("vLLM's default max_model_len for a LongRoPE model is its original_max_position_embeddings "
                         f"({rp.get('original_max_position_embeddings') or c.raw('original_max_position_embeddings')}"
                         f"), kvplan's is {length:,}: give --max-model-len")
            continue
        f = rp.get("factor", factor)
        factor = 1 if f is None else f
        if kind == "yarn":
            original = rp.get("original_max_position_embeddings")
            if original is None:
                raise c.error(f"{c.where('rope_scaling')}: yarn without original_max_position_embeddings")
            length = c.check_int("rope_scaling.original_max_position_embeddings", original)
    if isinstance(factor, bool) or not isinstance(factor, (int, float)) or not factor > 0:
        raise c.error(f"{c.where('rope_scaling')}.factor must be a positive number, got {factor!r}")
    from kvplan import limits

    if not length * factor <= limits.MAX_TOKENS:  # inf and NaN too: int() of them raises
        raise c.error(f"{c.where('rope_scaling')}.factor {factor!r} makes a context of more than "
                      f"{limits.MAX_TOKENS:,} tokens, beyond kvplan's limit (see docs/limits.md)")
    scaled = int(length * factor)
    if scaled != length:
        c.note(f"serves {scaled:,} tokens: {length:,} x rope scaling factor {factor:g} (vLLM's derived max_model_len)")
    return scaled


def _unscaled_length(c: HFConfig) -> int:
    """The smallest of CONTEXT_KEYS (model_max_length when given), before any rope factor."""
    found = {k: c.check_int(k, v) for k in CONTEXT_KEYS if (v := c.raw(k, None)) is not None}
    if not found:
        c.int(MAX_POS)  # SpecError naming the missing key
    return found.get("model_max_length") or min(found.values())


def _rope_params(c: HFConfig) -> list[dict] | None:
    """The rope scaling parameter sets (one, or one per layer type in a transformers v5
    rope_parameters), None when there is none or the model is Gemma 3 (whose factor vLLM does
    not apply to the context)."""
    rope = c.raw("rope_scaling", None) or c.raw("rope_parameters", None)
    model_type = f"{c.top.data.get('model_type', '')} {c.data.get('model_type', '')}"
    if rope is None or "gemma3" in model_type:
        return None
    if not isinstance(rope, dict):
        raise c.error(f"{c.where('rope_scaling')} must be a JSON object, got {rope!r}")
    return list(rope.values()) if rope and all(isinstance(v, dict) for v in rope.values()) else [rope]


def rope_scaling(c: HFConfig) -> dict | None:
    """The spec's rope_scaling block for dynamic NTK (rope type "dynamic" with a factor), whose
    rotary table vLLM sizes by release: ``max_position x factor`` rows up to 0.21.0
    (DynamicNTKScalingRotaryEmbedding._compute_cos_sin_cache, ``t = torch.arange(max_len)``:
    rotary_embedding.py :462 in 0.8.0, rotary_embedding/dynamic_ntk_scaling_rope.py :62 in
    0.21.0), ``max_position`` rows from 0.22.0 (:67; get_rope :212-223 passes
    max_trained_positions); ``max_position`` is the config's length, the unscaled one here.
    A factor of 1 changes nothing and gives none. With an ``alpha`` (Hunyuan) vLLM builds
    DynamicNTKAlphaRotaryEmbedding (max_position rows) from 0.9.2, the factor one before: a
    factor other than 1 beside an alpha is refused."""
    params = _rope_params(c)
    if params is None:
        return None
    if any(rp.get("rope_type", rp.get("type")) in ("longrope", "su") for rp in params):
        return _longrope(c, params)
    dynamic = [rp for rp in params if rp.get("rope_type", rp.get("type")) == "dynamic"]
    if not dynamic:
        return None
    factor = dynamic[0].get("factor", 1)
    if isinstance(factor, bool) or not isinstance(factor, (int, float)) or factor == 1:
        return None  # 1: no scaling; a bad factor is named by context_length
    if len(params) > 1:
        raise c.error(f"{c.where('rope_scaling')}: dynamic NTK scaling in a per-layer-type rope_parameters is not "
                      "modelled (which layers' rotary table it sizes is not read)")
    if "alpha" in dynamic[0]:
        raise c.error(f"{c.where('rope_scaling')}: dynamic NTK scaling with both alpha and factor {factor!r} is not "
                      "modelled (vLLM's rotary table follows the alpha from 0.9.2 and the factor before)")
    return {"type": "dynamic", "factor": float(factor), "original_max_position_embeddings": _unscaled_length(c)}


def _longrope(c: HFConfig, params: list[dict]) -> dict:
    """The spec's rope_scaling block for LongRoPE (rope type "longrope", or the older name "su", which
    vLLM renames longrope: transformers_utils/config.py patch_rope_parameters, 0.23.0 :472-474).
    get_rope builds Phi3LongRoPEScaledRotaryEmbedding, whose one buffer long_short_cos_sin_cache
    concatenates a short table of original_max_position_embeddings rows and a long one of
    max_position rows, each cast to the model dtype (vllm/model_executor/layers/rotary_embedding.py
    0.8.0 :624-635, 0.9.2 :724-735; rotary_embedding/phi3_long_rope_scaled_rope.py 0.10.1 :63-74,
    0.12.0 = 0.19.1 = 0.23.0 :82-95; get_rope's longrope branch 0.8.0 :1193-1206, 0.23.0
    __init__.py :315-335). max_position is the config's max_position_embeddings (llama.py
    LlamaModel / LlamaAttention, which Phi-3 runs), and the original comes from the top-level
    original_max_position_embeddings when there is one, else from rope_scaling (0.8.0 llama.py
    :221-225 and 0.23.0 transformers_utils/config.py :502, :524-525 copy the top-level one over)."""
    if len(params) > 1:
        raise c.error(f"{c.where('rope_scaling')}: LongRoPE in a per-layer-type rope_parameters is not modelled "
                      "(which layers' rotary table it sizes is not read)")
    original = c.raw("original_max_position_embeddings", None) or params[0].get("original_max_position_embeddings")
    if original is None:
        raise c.error(f"{c.where('rope_scaling')}: LongRoPE without original_max_position_embeddings (the length "
                      "of vLLM's short rotary table) is not modelled")
    length = _unscaled_length(c)
    if c.raw("max_position_embeddings", None) != length:
        raise c.error(f"{c.where('rope_scaling')}: LongRoPE with a context of {length:,} tokens other than "
                      f"max_position_embeddings ({c.raw('max_position_embeddings', None)!r}, the long rotary "
                      "table's rows in vLLM) is not modelled")
    return {"type": "longrope",
            "original_max_position_embeddings": c.check_int("original_max_position_embeddings", original)}


def rotary_factor(c: HFConfig, key: str) -> float | None:
    """A rotary fraction of each head (partial_rotary_factor, rotary_pct, ...): a number in
    (0, 1], or None when absent or null."""
    factor = c.raw(key, None)
    if factor is None:
        return None
    if isinstance(factor, bool) or not isinstance(factor, (int, float)) or not 0 < factor <= 1:
        raise c.error(f"{c.where(key)} must be a number in (0, 1], got {factor!r}")
    return factor


def partial_rotary_dim(c: HFConfig, head_dim: int) -> int | None:
    """vLLM's rotary width when the rotary embedding covers part of each head, get_rope's
    int(head_size x partial_rotary_factor) (the citations per family: phi.py _rotary_dim,
    mimo_v2.py _rotary_tables); None for the whole head (no factor, or 1)."""
    factor = rotary_factor(c, "partial_rotary_factor")
    return None if factor is None or factor == 1 else int(head_dim * factor)


def rope_parameters_factor(c: HFConfig) -> float | None:
    """The rotary fraction vLLM 0.13.0+ puts in config.rope_parameters: transformers_utils/
    config.py patch_rope_parameters copies the first non-null of ROPE_PARAMETERS_FACTORS
    (getattr_iter, config value else class default) into rope_parameters["partial_rotary_factor"]
    (0.13.0 :314 / :328, 0.19.1 :385 / :403, 0.23.0 :500 / :523), which get_rope turns into
    int(head_size x factor) columns for every model that passes config.rope_parameters
    (0.13.0 rotary_embedding/__init__.py :59-63, 0.19.1 :62-66, 0.23.0 :69-72). Releases
    0.8.0-0.12.0 read only what each model file passes. None: no fraction (the whole head)."""
    for key in ROPE_PARAMETERS_FACTORS:
        factor = rotary_factor(c, key)
        if factor is not None:
            return factor
    return None


def rope_parameters_key(c: HFConfig) -> str:
    """The key rope_parameters_factor reads its fraction from (the first of
    ROPE_PARAMETERS_FACTORS the config sets), else partial_rotary_factor: what a refusal names."""
    return next((k for k in ROPE_PARAMETERS_FACTORS if c.raw(k, None) is not None), "partial_rotary_factor")


def whole_head_before_0_13(c: HFConfig, head: int) -> None:
    """For model files that build the whole head's table on 0.8.0-0.12.0 and pass
    config.rope_parameters from 0.13.0 (rope_parameters_factor): a rotary fraction below 1 in the
    config makes the width differ by release, refused naming it."""
    factor = rope_parameters_factor(c)
    one_rotary_width(c, head, rope_parameters_key(c), {"0.8.0-0.12.0": head, "0.13.0+": int(head * (factor or 1))})


def one_rotary_width(c: HFConfig, head_dim: int, field: str, widths: dict[str, float]) -> int | None:
    """The columns of vLLM's rotary table when the rotary_dim each release range passes
    (``widths``) gives the same table, None when that is the whole head; refused, naming
    ``field``, when releases differ (kvplan plans one width for every release). The table holds
    cos and sin of torch.arange(0, rotary_dim, 2) frequencies (base.py RotaryEmbedding.
    _compute_inv_freq, every release: 0.8.0 rotary_embedding.py :110-111, 0.23.0
    rotary_embedding/base.py :86-90), 2 x ceil(rotary_dim / 2) columns."""
    widths = {r: 2 * math.ceil(w / 2) for r, w in widths.items()}
    if len(set(widths.values())) > 1:
        per = ", ".join(f"{w} on {r}" for r, w in widths.items())
        raise c.error(f"{c.where(field)}: vLLM's rotary table width differs by release ({per} columns of "
                      f"{head_dim}), which kvplan does not model; write a spec by hand with rotary_dim")
    width = next(iter(widths.values()))
    if not 0 < width <= head_dim:
        raise c.error(f"{c.where(field)}: a rotary width of {width} columns is not in 1..head_dim {head_dim}")
    return None if width == head_dim else width


def llama_rotary_dim(c: HFConfig, head_dim: int) -> int | None:
    """vLLM's rotary table width for a model whose attention is llama.py's LlamaAttention
    (LlamaForCausalLM; Phi3ForCausalLM, phi3.py's subclass; MistralForCausalLM, registered to
    llama.py's class up to 0.14.1 and from 0.15.0 mistral.py's MistralAttention(LlamaAttention),
    which calls its __init__). LlamaAttention reads partial_rotary_factor in every release, in
    three ways: 0.8.0-0.8.4 rotary_dim = int(getattr(config, "partial_rotary_factor", 1) x head_dim)
    (llama.py 0.8.0-0.8.2 :131-133, 0.8.3-0.8.4 :133-135) as get_rope's rotary_dim (0.8.0 :163-166,
    0.8.3 :165-168); 0.8.5-0.12.0 self.partial_rotary_factor (0.8.5-0.8.5.post1 :132-134, 0.9.0-0.9.0.1
    :138-140, 0.9.1-0.10.1.1 :139-141, 0.10.2 :141-143, 0.11.0 :143-145, 0.11.1-0.11.2 :155-156, 0.12.0
    :152-153) as get_rope's partial_rotary_factor (0.8.5 :164-171, 0.9.0 :214-221, 0.9.1-0.10.0
    :215-222, 0.10.1-0.10.1.1 :208-215, 0.10.2 :228-235, 0.11.0 :230-237, 0.11.1-0.11.2 :269-276, 0.12.0
    :262-268), which takes int(rotary_dim x factor) (0.9.2 rotary_embedding.py :1892-1893, 0.12.0
    rotary_embedding/__init__.py :58-59); from 0.13.0 config.rope_parameters (0.13.0 :260-263,
    0.14.0-0.14.1 :268-271, 0.15.0-0.17.1 :244-247, 0.18.0-0.23.0 :245-248), where
    partial_rotary_factor, else rotary_pct, else rotary_emb_fraction lands (rope_parameters_factor).
    So partial_rotary_factor gives the same width in every release; rotary_pct or
    rotary_emb_fraction alone is read only from 0.13.0 (refused: the width differs by
    release). Phi-4-mini: 0.75 x 128 = 96. None: the whole head."""
    before = rotary_factor(c, "partial_rotary_factor")
    after = rope_parameters_factor(c)
    field = "partial_rotary_factor" if before is not None else rope_parameters_key(c)
    return one_rotary_width(c, head_dim, field, {"0.8.0-0.12.0": int(head_dim * (before or 1)),
                                                 "0.13.0+": int(head_dim * (after or 1))})


# -- layout helpers every family shares -----------------------------------------------------
def base(c: HFConfig, intermediate: int | None = None, read_intermediate: bool = True) -> dict:
    """Sizes shared by every decoder: layers, widths, heads, context (the KV sizes, required),
    vocabulary and MLP width (weights only: a missing one is left out, and named when a
    weight figure is asked for). ``intermediate`` is the family's value for a missing/null
    MLP width, if it has one; ``read_intermediate`` False leaves the MLP width to the family
    (a per-layer list: Nemotron-H)."""
    heads = c.int(HEADS)
    m = {
        "num_layers": c.int(LAYERS),
        "hidden_size": c.int(HIDDEN),
        "num_attention_heads": heads,
        "num_kv_heads": kv_heads(c, heads),
        "max_position_embeddings": context_length(c),
    }
    if (rope := rope_scaling(c)) is not None:
        m["rope_scaling"] = rope
    if (given := c.raw("max_position_embeddings", None)) is not None:
        m.update(rope_max_position(m, c.check_int("max_position_embeddings", given)))
    for name, keys in WEIGHT_ONLY_SIZES.items():
        if name == "intermediate_size" and not read_intermediate:
            continue
        # Absent: the spec leaves it out and ModelSpec.require_weight_fields names it.
        value = c.int(keys, default=intermediate if name == "intermediate_size" else None)
        if value is not None:
            m[name] = value
    head_dim = c.raw("head_dim", None)
    if head_dim is not None:
        m["head_dim"] = c.check_int("head_dim", head_dim)
    return m


def rope_max_position(m: dict, rows: int) -> dict:
    """{"rope_max_position": rows} when ``rows`` (the max_position a model file passes to get_rope:
    config.json max_position_embeddings, with the class default; commandr.py's model_max_length
    first) is neither the context ``m`` plans (max_position_embeddings: the smallest context key,
    model_max_length first, times a rope factor) nor a dynamic rope_scaling's original, else {}:
    the spec then carries the rotary table's unscaled rows without a second copy. Qwen-14B-style
    configs (max_position_embeddings 8,192, seq_length 2,048) plan 2,048 tokens, while SGLang's
    qwen.py builds 8,192 rows (engines.sglang.SGLang.rope_table_bytes reads this)."""
    rope = m.get("rope_scaling") or {}
    if rows in (m["max_position_embeddings"], rope.get("original_max_position_embeddings")):
        return {}
    return {"rope_max_position": rows}


def kv_heads(c: HFConfig, heads: int) -> int:
    """The KV-head count as transformers (and vLLM through it) fills it from the class's own key.

    The own key is the ``KV_HEADS`` key in the family's defaults (``num_key_value_heads``
    where kvplan knows the class but not its default). Written in the config: that value.
    Absent: the class default (MistralConfig 8, Gemma2Config 4; None: the attention heads,
    LlamaConfig's rule), recorded in ``c.kv_default``; a class whose default kvplan does not
    know is refused rather than guessed. Explicit null: ``Family.null_kv_heads``. The other
    KV-head keys are the class's business only if they agree (``check_kv_heads``, after the
    reader). A family with ``kv_heads_from`` reads no key: the heads, the reader settles it.
    For a model_type kvplan has no reader for, any of ``KV_HEADS`` is read and two that
    disagree are refused (transformers reads its class's key, vLLM's get_total_num_kv_heads
    takes n_head_kv, num_kv_heads, num_key_value_heads in that order: one config, two answers)."""
    c.read.update(KV_HEADS)
    family = c.family
    if family is None or family.config_class == "(unknown)":
        given = [(key, c.check_int(key, c.data[key])) for key in KV_HEADS if c.data.get(key) is not None]
        if given:
            (key, value), *rest = given
            for other, other_value in rest:
                if other_value != value:
                    raise _disagree(c, key, value, other, other_value)
            return value
        name = f"model_type {c.data.get('model_type') or c.top.data.get('model_type')!r}"
        raise c.error(f"{c.where(KV_HEADS[0])} is missing and kvplan does not know the default {name} gives it; "
                      f"add {KV_HEADS[0]} to the config")
    if family.kv_heads_from is not None:
        return heads
    own = next((key for key in KV_HEADS if key in family.defaults), KV_HEADS[0])
    c.kv_key = own
    where = c.where(own)
    if c.data.get(own) is not None:
        return c.check_int(own, c.data[own])
    if own not in family.defaults:
        raise c.error(f"{where} is missing and kvplan does not know the default {family.config_class} gives it; "
                      f"add {own} to the config")
    if own not in c.data:  # absent: the class's __init__ default
        default = family.defaults[own]
        value = heads if default is None else default
        c.kv_default = (where, value, family.config_class) if default is not None else None
        return value
    if family.null_kv_heads == "heads":
        return heads
    if family.null_kv_heads == "refuse":
        raise c.error(f"{where} is null, which {family.config_class} keeps as None (it has no rule for it): "
                      "give the number of KV heads")
    return family.null_kv_heads


def _disagree(c: HFConfig, key: str, value: int, other: str, other_value: int) -> SpecError:
    return c.error(f"{c.where(key)} {value} and {c.where(other)} {other_value} disagree (transformers reads one, "
                   "vLLM's get_total_num_kv_heads another); keep one of them")


def check_kv_heads(c: HFConfig, fields: dict) -> None:
    """After the family reader settled ``fields["num_kv_heads"]``: the KV-head keys the
    class does not read must agree with it, and a class default must fit the heads.

    A key other than the class's own (``c.kv_key``) is read by no attention layer: vLLM's
    model files take the count from the class's key or their own rule (gpt2.py, opt.py:
    the heads; falcon.py: multi_query ...), transformers' classes likewise; only vLLM's
    get_total_num_kv_heads reads n_head_kv / num_kv_heads first. Stated beside the own
    key it must equal it; stated alone it must equal the count kvplan plans, else the
    import stops naming it (GPT-2 with "num_key_value_heads": 1 would otherwise plan a
    twelfth of what vLLM caches). A count taken from a class default that does not divide
    the attention heads is refused naming the default (Qwen2.5-7B without the key: 28
    heads, Qwen2Config's 32), and a default the plan keeps is noted."""
    family = c.family
    if family is None or family.config_class == "(unknown)":
        return  # kv_heads read whichever key the file has
    if c.kv_key is None and family.kv_heads_from is None:
        return  # the reader counts no KV heads (Mamba): classify judges any KV-head key
    c.read.update(KV_HEADS)
    final, heads = fields["num_kv_heads"], fields["num_attention_heads"]
    own = c.kv_key
    own_value = c.check_int(own, c.data[own]) if own is not None and c.data.get(own) is not None else None
    for key in KV_HEADS:
        if key == own or c.data.get(key) is None:
            continue
        value = c.check_int(key, c.data[key])
        if own_value is not None:
            if value != own_value:
                raise _disagree(c, own, own_value, key, value)
        elif value != final:
            if family.kv_heads_from is not None:
                raise c.error(f"{c.where(key)} {value} is not read for {family.config_class}: its KV heads are "
                              f"{family.kv_heads_from}, {final} here; remove the key")
            how = "absent" if own not in c.data else "null"
            raise c.error(f"{c.where(key)} {value} is not read by {family.config_class}: its key {c.where(own)} is "
                          f"{how}, which gives {final} KV heads (vLLM's attention layers read {own} too, only its "
                          f"get_total_num_kv_heads reads {key}); remove {key} or state {own}")
    if c.kv_default is not None and c.kv_default[1] == final:
        where, value, cls = c.kv_default
        if heads % value:
            raise c.error(f"{where} is absent, so the KV heads are {cls}'s class default, {value}, and "
                          f"num_attention_heads ({heads}) is not a multiple of {value}; add {where} to the config")
        c.note(f"{where} absent: {cls}'s class default, {value}")


def full() -> dict:
    return {"kind": "full_attention"}


def sliding(window: int) -> dict:
    return {"kind": "sliding_window", "window": window}


def layout(kinds: dict[str, dict], labels: list[str]) -> dict | None:
    """``cache`` for a per-layer list of kind labels: None when every layer is plain full
    attention, one kind when uniform, ``pattern`` when periodic, else ``layer_types``."""
    used = list(dict.fromkeys(labels))
    if len(used) == 1:
        only = used[0]
        if kinds[only] == full():
            return None
        return {"kinds": {only: kinds[only]}}
    n = len(labels)
    for period in range(2, n // 2 + 1):
        if all(labels[i] == labels[i % period] for i in range(n)):
            return {"kinds": {k: kinds[k] for k in used}, "pattern": labels[:period]}
    return {"kinds": {k: kinds[k] for k in used}, "layer_types": labels}


def hf_layer_types(c: HFConfig, m: dict, window: int | None):
    """Layout from a config's ``layer_types`` list ("full_attention" / "sliding_attention"):
    the ``cache`` mapping (None when every layer is full attention), or ABSENT when the
    config has no layer_types."""
    types = c.layer_types(m["num_layers"])
    if types is None:
        return ABSENT
    kinds, labels = {}, []
    for i, t in enumerate(types):
        if t == "full_attention":
            kinds["attention"] = full()
            labels.append("attention")
        elif t == "sliding_attention":
            if window is None:
                raise c.error(f"{c.where('layer_types')}.{i} is sliding_attention but sliding_window is null")
            kinds["sliding"] = sliding(window)
            labels.append("sliding")
        else:
            raise c.error(
                f"{c.where('layer_types')}.{i}: {t!r} is not full_attention or sliding_attention"
            )
    return layout(kinds, labels)


def either(from_layer_types, fallback):
    """The layout from layer_types when the config has that key, else ``fallback``."""
    return fallback if from_layer_types is ABSENT else from_layer_types


def every_nth_global(num_layers: int, period: int, window: int | None) -> dict | None:
    """Layer i is global when (i + 1) % period == 0, else sliding over ``window``."""
    if window is None:
        return None
    labels = ["attention" if (i + 1) % period == 0 else "sliding" for i in range(num_layers)]
    return layout({"attention": full(), "sliding": sliding(window)}, labels)


# -- names ----------------------------------------------------------------------------------
def sanitize(text: str) -> str:
    """Lowercase and fit the schema's name pattern ``^[a-z0-9][a-z0-9._+-]*$``."""
    name = re.sub(r"[^a-z0-9._+-]+", "-", str(text).strip().lower())
    name = re.sub(r"-{2,}", "-", name).lstrip("._+-").rstrip("-")
    return name or "imported-model"
