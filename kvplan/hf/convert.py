"""One config.json -> a kvplan spec mapping: family lookup, the text/wrapper split, the
fields every family shares (dtype, tied embeddings, quantization), and the verdict on
every key (``kvplan.hf.core.classify``)."""

from __future__ import annotations

from pathlib import PurePath

from kvplan.errors import SpecError
from kvplan.hf import dtypes
from kvplan.hf.core import (HEADS, HIDDEN, INTERMEDIATE, LAYERS, VOCAB, Family, Findings, HFConfig, check_kv_heads,
                            classify, sanitize)
from kvplan.hf.families.llama import UNKNOWN
from kvplan.hf.registry import ARCHITECTURES, family_for

#: Core sizes a top-level config must state itself (never filled from class defaults).
_CORE = set(LAYERS + HIDDEN + HEADS + VOCAB + INTERMEDIATE)


def spec_mapping_from_hf_config(config: dict, origin: str, name: str | None = None, source: str | None = None,
                                ignore: tuple[str, ...] = (), header_dtype: str | None = None) -> dict:
    """A Hugging Face config (parsed JSON) -> a mapping in kvplan's spec format (valid under
    kvplan.schema.ModelSpecSchema).

    Every key is judged (see kvplan.hf.core): a key that may shape the cache and that no
    reader understands raises SpecError with one line naming it, unless it is listed in
    ``ignore`` (then it becomes an assumption). A missing KV size raises SpecError naming
    the key; a missing weight-only size goes into ``weights_unknown``. ``header_dtype``: the
    dtype vLLM would take from the checkpoint's safetensors headers when the config names none."""
    if not isinstance(config, dict):
        raise SpecError(f"{origin}: a config.json must hold a JSON object, got {type(config).__name__}")
    findings = Findings()
    top_type = _model_type(config)
    text_data = config.get("text_config")
    if text_data is None:
        family = family_for(top_type) or UNKNOWN
        if family.wrapper:
            raise SpecError(f"{origin}: model_type {top_type!r} is a multimodal wrapper but the config has "
                            "no text_config")
        top = c = HFConfig(config, origin, _defaults(family, nested=False), findings=findings, family=family)
        text_type, wrapper = top_type, None
    else:
        if not isinstance(text_data, dict):
            raise SpecError(f"{origin}: text_config must be a JSON object")
        top = HFConfig(config, origin, findings=findings)
        wrapper = family_for(top_type)
        if wrapper is not None and not wrapper.wrapper:
            wrapper = None
        text_type = text_data.get("model_type") or (wrapper.text_family if wrapper else None) or ""
        family = family_for(text_type) or UNKNOWN
        c = HFConfig(text_data, origin, _defaults(family, nested=True), path="text_config.", findings=findings,
                     top=top, family=family)
    top.ignore("text_config", "quantization_config", "tie_word_embeddings")
    if family is UNKNOWN:
        c.assume(f"model_type {text_type!r} has no reader in kvplan")
    c.ignore(*family.ignored)
    fields = family.reader(c)
    check_kv_heads(c, fields)
    if wrapper is not None:
        top.ignore(*wrapper.ignored)
        fields = wrapper.reader(top, fields)
    elif c is not top:
        top.assume(f"model_type {top_type!r} is a multimodal wrapper kvplan has no reader for: only its "
                   f"text_config (model_type {text_type!r}) is read")
    cache = fields.pop("cache", None)

    mapping: dict = {
        "name": sanitize(name) if name else sanitize(_display_name(config, origin)),
        "display_name": _display_name(config, origin),
        "source": source or str(origin),
        "architecture": _architecture(config),
    }
    mapping.update({k: v for k, v in fields.items() if v is not None})
    mapping["tie_word_embeddings"] = _tie(c, top)
    mapping["dtype"] = dtypes.served_dtype(top, c, header_dtype)
    if cache is not None:
        mapping["cache"] = cache
    quant = dtypes.quantization(top, c)
    if quant is not None:
        mapping["quantization"] = quant
    # SGLang 0.5.18+ read the top-level config's language_model_only (configs/model_config.py ModelConfig.__init__
    # 0.5.18 line 331 getattr(self.hf_config, "language_model_only", False)): recorded for the engines to judge
    # (Engine.check_language_model_only).
    lm_only = top.raw("language_model_only", None)
    if lm_only is not None and not isinstance(lm_only, bool):
        raise top.error(f"language_model_only must be true or false, got {lm_only!r}")
    if lm_only:
        mapping["language_model_only"] = True
    # vLLM's Model Runner V2 sizes two buffers from the text config (VLLM.v2_persistent_bytes): RopeState for an
    # M-RoPE config (transformers_utils/config.py uses_mrope / mrope_num_dims: an mrope_section in the text config's
    # rope parameters, then the config's; 0.33.0 :702-771) and a multimodal model's inputs_embeds, whose width is the
    # first of word_embed_proj_dim / projection_dim / projection_size its release reads (config/model.py
    # get_inputs_embeds_size, 0.33.0 :1635-1642), else hidden_size. Recorded for the engines to judge; the keys are
    # not marked read, so the readers still judge them as before (projection_dim / projection_size are refused
    # in a text config, word_embed_proj_dim blocks weight figures without a checkpoint).
    for source in (c, top) if c is not top else (top,):
        rope = source.data.get("rope_scaling") or source.data.get("rope_parameters")
        if isinstance(rope, dict) and isinstance(rope.get("mrope_section"), (list, tuple)):
            mapping["mrope_section_entries"] = len(rope["mrope_section"])
            break
    projection = {k: v for k in ("word_embed_proj_dim", "projection_dim", "projection_size")
                  if isinstance(v := c.data.get(k), int) and not isinstance(v, bool) and v > 0}
    if projection:
        mapping["embed_projection"] = projection
    # vLLM 0.33.0+ builds only the retained experts of a checkpoint that declares substituted experts
    # (fused_moe/expert_substitution.py get_expert_substitution_spec :107-141): recorded for the engines to judge
    # (VLLM.check_model); the keys are not marked read, so the reader still judges them as before.
    compression = top.data.get("compression_config")
    transform = compression.get("transform_config") if isinstance(compression, dict) else None
    if c.data.get("approximate_experts", top.data.get("approximate_experts")) is not None:
        mapping["expert_substitution"] = "approximate_experts"
    elif isinstance(transform, dict) and transform.get("expert_substitution") is not None:
        mapping["expert_substitution"] = "compression_config.transform_config.expert_substitution"
    kv_method = dtypes.kv_cache_quant_algo(top, c)
    if kv_method:
        mapping["kv_cache_quant_algo"] = "FP8"
        mapping["kv_cache_quant_method"] = kv_method

    _apply_ignore(ignore, top, c)
    classify(c, text_type)
    if c is not top:
        classify(top, top_type)
    if findings.unread:
        listed = ", ".join(findings.unread)
        if family is UNKNOWN:
            c.assume(f"fields not read (judged not to shape the cache or the weights): {listed}")
        else:
            c.note(f"not read (judged not to shape the cache or the weights): {listed}")
    if findings.notes:
        mapping["notes"] = "; ".join(findings.notes)
    if findings.assumptions:
        mapping["assumptions"] = list(findings.assumptions)
    if findings.weights_unknown:
        mapping["weights_unknown"] = list(dict.fromkeys(findings.weights_unknown))
    return _ordered(mapping)


def _defaults(family: Family, nested: bool) -> dict:
    """The family's class defaults; a top-level config must state its core sizes itself,
    a nested text_config of a sparse family may take them from the defaults."""
    if nested and family.sparse_text:
        return dict(family.defaults)
    return {k: v for k, v in family.defaults.items() if k not in _CORE}


def _apply_ignore(keys: tuple[str, ...], top: HFConfig, text: HFConfig) -> None:
    """Keys the user asked to skip (``kvplan import --ignore``): read, and an assumption each."""
    parts = [top, *top.children] if text is top else [top, text, *top.children, *text.children]
    for key in keys:
        for part in parts:
            if part.path and key.startswith(part.path) and key[len(part.path):] in part.data:
                part.ignore(key[len(part.path):])
                break
            if not part.path and key in part.data:
                part.ignore(key)
                break
        else:
            raise top.error(f"--ignore {key}: the config has no such field")
        top.assume(f"{key} ignored at the user's request: the figures leave out whatever it changes")


def spec_from_hf_config(config: dict, origin: str, ignore: tuple[str, ...] = (), checkpoint=None,
                        source: str | None = None, extra_assumptions: tuple[str, ...] = ()):
    """A Hugging Face config (parsed JSON) -> ModelSpec (validated by the spec schema).
    ``checkpoint`` (kvplan.hf.checkpoint.Checkpoint): the safetensors headers read with it;
    weights then come from them."""
    import dataclasses

    from kvplan.hf.checkpoint import served_dtype_from_headers
    from kvplan.spec import spec_from_mapping

    header_dtype = served_dtype_from_headers(checkpoint) if checkpoint is not None else None
    mapping = spec_mapping_from_hf_config(config, origin, source=source, ignore=ignore, header_dtype=header_dtype)
    if extra_assumptions:
        mapping = _ordered({**mapping, "assumptions": [*mapping.get("assumptions", []), *extra_assumptions]})
    spec = spec_from_mapping(mapping, origin)
    return dataclasses.replace(spec, checkpoint=checkpoint) if checkpoint is not None else spec


# -- helpers -------------------------------------------------------------------------------
def _model_type(config: dict) -> str:
    mt = config.get("model_type")
    if isinstance(mt, str) and mt:
        return mt
    arch = _architecture(config)
    return ARCHITECTURES.get(arch, arch or "")


def _architecture(config: dict) -> str | None:
    archs = config.get("architectures")
    if isinstance(archs, list) and archs and isinstance(archs[0], str):
        return archs[0]
    return None


def _display_name(config: dict, origin: str) -> str:
    """``_name_or_path`` (its last path part), else the folder of a config.json, else the
    file's stem."""
    given = config.get("_name_or_path")
    if isinstance(given, str) and given.strip():
        return PurePath(given.strip().rstrip("/")).name or given.strip()
    path = PurePath(str(origin))
    if path.name == "config.json" and path.parent.name:
        return path.parent.name
    return path.stem or "imported-model"


def _tie(c: HFConfig, top: HFConfig) -> bool:
    """tie_word_embeddings: the text config's, else the top-level one's, else the family
    default (PretrainedConfig's own default is true)."""
    for source in (c, top):
        value = source.data.get("tie_word_embeddings")
        source.ignore("tie_word_embeddings")
        if value is not None:
            if not isinstance(value, bool):
                raise c.error(f"tie_word_embeddings must be true or false, got {value!r}")
            return value
    default = c.defaults.get("tie_word_embeddings")
    if default is None:
        c.assume("tie_word_embeddings missing: assumed true (transformers PretrainedConfig default)")
        return True
    return default


_ORDER = (
    "name", "display_name", "aliases", "source", "notes", "assumptions", "weights_unknown", "architecture",
    "num_layers", "hidden_size", "num_attention_heads", "num_kv_heads", "head_dim", "v_head_dim", "vocab_size",
    "intermediate_size", "tie_word_embeddings", "dtype", "max_position_embeddings", "moe", "mla", "cache",
)


def _ordered(m: dict) -> dict:
    """Spec keys in the order a person reads them (sizes, then layout, then shape details);
    shape details that equal the schema's defaults are left out."""
    shape_defaults = {
        "mlp_gated": True, "qkv_bias": False, "o_bias": False, "mlp_bias": False, "norm": "rmsnorm",
        "position_embedding": "rope", "position_offset": 0, "norms_per_layer": 2, "qk_norm": False,
        "attention_sinks": False, "attn_logit_softcapping": None,
    }
    out = {k: m[k] for k in _ORDER if m.get(k) is not None}
    for k, v in m.items():
        if k in out or v is None:
            continue
        if k in shape_defaults and v == shape_defaults[k]:
            continue
        out[k] = v
    return out
