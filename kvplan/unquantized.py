"""Which weight tensors a quantized checkpoint keeps unquantized: its exclusion list read module by module.

A checkpoint's quantization_config names modules it stores unquantized (transformers' and vLLM fp8's
``modules_to_not_convert`` / ``ignored_layers``, compressed-tensors' ``ignore`` with names or "re:"
patterns; read into ``ModelSpec.weights_exclude`` by kvplan.hf.dtypes). The engines decide, for each
linear layer they build with the quant config, whether the list names it (read in their sources):

    vLLM fp8 / mxfp4   quantization/utils/quant_utils.py is_layer_skipped(prefix, ignored_layers,
                       packed_modules_mapping), called by Fp8Config.get_quant_method (fp8.py) with the
                       layer's full name ("model.layers.0.self_attn.qkv_proj"):
                       - a name matches exactly (``prefix in ignored_layers``; 0.8.0 :174-208, 0.19.1
                         :437-491 prefix_full_match, 0.28.0+ match_mode "exact", Fp8Config's default);
                       - a fused layer (qkv_proj, gate_up_proj, ...) by its checkpoint shards, all or
                         none, else ValueError "Detected some but not all shards of ... are quantized"
                         (from 0.8.4, when Fp8Config starts passing packed_modules_mapping: fp8.py 0.8.4
                         :119-121; 0.8.0-0.8.3 test the fused name alone, :110);
                       - a fused name listed itself skips the layer from 0.24.0 (quant_utils.py 0.24.0
                         :531, "Honor that fused-name match first"; 0.33.0 :661);
                       - a FusedMoE layer (routed experts) from 0.11.1: skipped when a listed name holding
                         "experts" contains the layer's prefix (0.11.1 :326, 0.19.1 :479-486, 0.33.0
                         :684-688); before, Fp8Config gives every FusedMoE Fp8MoEMethod.
                       Mxfp4Config.from_config ignores the list (mxfp4.py 0.19.1 :45-47: ``cls()``): its
                       linear layers are unquantized anyway, its experts always mxfp4.
    vLLM compressed-   compressed_tensors/utils.py should_ignore_layer (0.19.1 :22-80): equal names or
    tensors            "re:" patterns (re.match on the full name, :153-171), a fused layer by its own name
                       or by its shards, all or none (ValueError otherwise).
    SGLang             layers/quantization/utils.py is_layer_skipped (0.5.21 :48-125): a name matches a
                       layer when its dotted components are a run of the layer's (``_module_path_match``:
                       equal, a parent, or e.g. "mlp.gate" inside "model.layers.0.mlp.gate" but not
                       "mlp.gate_up_proj"); fused layers by their shards, all or none (fallback qkv_proj /
                       gate_up_proj shards when the model gives none); experts as vLLM's.

kvplan's reading: an entry names the modules whose dotted names contain its components as a run (SGLang's
rule; for a full module name, as every entry of the lists read so far is, it is vLLM's exact match), "*"
standing for one component ("model.layers.*.self_attn", the checkpoint maker's glob: gpt-oss), "re:"
patterns matched from the start of the full name. Each kvplan tensor of a decoder layer has its module
(``LAYER_MODULES``): the engine's layer and the checkpoint shards that decide it, matched as
``model.layers.N.<shard>``. Refused with one line (BadInputError), naming the entry:

- an entry naming some but not all shards of a fused layer kvplan counts quantized (both engines raise);
- an entry naming a fused layer by its own name (vLLM from 0.24.0 and compressed-tensors skip it; vLLM
  before and SGLang read its shards and quantize it);
- an entry naming routed experts (vLLM before 0.11.1 quantizes them, later releases and SGLang skip the
  whole layer's experts);
- an entry kvplan cannot map to a module it counts, unless it provably names nothing quantized: a norm,
  a router or gate, A_log, dt_bias, D, conv1d, a bias, the embedding, the lm_head, a multi-token-prediction
  module's own tensors ("mtp.fc", "mtp.norm").

Qwen/Qwen3-Next-80B-A3B-Instruct-FP8 (407 names): only ``linear_attn.in_proj_ba`` of each Gated DeltaNet
layer is a module kvplan counts quantized; the rest are norms, A_log, dt_bias, conv1d, the routers, the
shared-expert gates, the lm_head and mtp.* tensors. Before, kvplan read the list by part
("post_attention_layernorm" -> all attention, "shared_expert_gate" -> the whole MLP).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from kvplan.errors import BadInputError

_QKV = ("self_attn.qkv_proj", ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"))
_GATE_UP = ("mlp.gate_up_proj", ("mlp.gate_proj", "mlp.up_proj"))
_EXPERTS = ("mlp.experts", ("mlp.experts",))


def _single(path: str) -> tuple[str, tuple[str, ...]]:
    return path, (path,)


def _shared(path: str) -> dict:
    """The shared expert's modules under ``path`` (DeepSeek ``mlp.shared_experts``, Qwen ``mlp.shared_expert``):
    a MergedColumnParallelLinear gate_up_proj of [gate_proj, up_proj] and a RowParallelLinear down_proj
    (vLLM models/deepseek_v2.py DeepseekV2MLP, models/qwen2_moe.py Qwen2MoeMLP)."""
    return {"mlp.shared_experts.gate_up_proj": (f"{path}.gate_up_proj", (f"{path}.gate_proj", f"{path}.up_proj")),
            "mlp.shared_experts.up_proj": _single(f"{path}.up_proj"),
            "mlp.shared_experts.down_proj": _single(f"{path}.down_proj")}


#: kvplan tensor of a decoder layer (kvplan.shapes.layer_shapes, ``.weight`` left off) -> (the engine's layer,
#: the checkpoint modules whose names decide its quant method: a fused layer's shards, as vLLM's
#: packed_modules_mapping names them), under ``model.layers.N.``, as the Hugging Face modules of the Llama,
#: Qwen, DeepSeek and Mixtral families name them. None: built without a quant method (never quantized:
#: Qwen3-Next's conv1d, a ColumnParallelLinear without quant_config, qwen3_next.py / gdn_linear_attn.py).
#: q_proj / k_proj / v_proj are one QKVParallelLinear where the layer has a k_proj (else an MLA q_proj,
#: alone); q_a_proj and kv_a_proj_with_mqa are vLLM's fused_qkv_a_proj from 0.10.0 (models/deepseek_v2.py
#: 0.10.0 :411, 0.19.1 :870 and packed_modules_mapping :1334; two layers up to 0.9.1): listing one of the
#: two is refused, as a fused layer listed in part.
LAYER_MODULES: dict[str, tuple[str, tuple[str, ...]] | None] = {
    "q_proj": _QKV, "k_proj": _QKV, "v_proj": _QKV,
    "o_proj": _single("self_attn.o_proj"),
    "q_a_proj": ("self_attn.fused_qkv_a_proj", ("self_attn.q_a_proj", "self_attn.kv_a_proj_with_mqa")),
    "kv_a_proj_with_mqa": ("self_attn.fused_qkv_a_proj", ("self_attn.q_a_proj", "self_attn.kv_a_proj_with_mqa")),
    "q_b_proj": _single("self_attn.q_b_proj"),
    "kv_b_proj": _single("self_attn.kv_b_proj"),
    "indexer.wq_b": _single("self_attn.indexer.wq_b"),
    "indexer.wk": _single("self_attn.indexer.wk"),
    "indexer.weights_proj": _single("self_attn.indexer.weights_proj"),
    "mlp.gate_up_proj": _GATE_UP,
    "mlp.up_proj": _single("mlp.up_proj"),
    "mlp.down_proj": _single("mlp.down_proj"),
    **_shared("mlp.shared_experts"),
    "mlp.experts.gate_up_proj": _EXPERTS, "mlp.experts.up_proj": _EXPERTS, "mlp.experts.down_proj": _EXPERTS,
    "linear_attn.in_proj_qkvz": _single("linear_attn.in_proj_qkvz"),
    "linear_attn.in_proj_ba": _single("linear_attn.in_proj_ba"),
    "linear_attn.out_proj": _single("linear_attn.out_proj"),
    "linear_attn.conv1d": None,
}

#: Architectures whose modules differ from LAYER_MODULES: Qwen2-MoE and Qwen3-Next name the shared
#: expert ``mlp.shared_expert`` (vLLM models/qwen2_moe.py Qwen2MoeSparseMoeBlock, qwen3_next.py
#: Qwen3NextSparseMoeBlock: prefix f"{prefix}.shared_expert").
ARCH_MODULES: dict[str, dict] = {
    "Qwen2MoeForCausalLM": _shared("mlp.shared_expert"),
    "Qwen3NextForCausalLM": _shared("mlp.shared_expert"),
}

#: State-space projections a weight format quantizes with the attention and MLP layers, by architecture
#: (read): Qwen3-Next's Gated DeltaNet in_proj_qkvz, in_proj_ba and out_proj are built with the quant
#: config in every release (vLLM qwen3_next.py 0.11.0 :247-261; layers/mamba/gdn_linear_attn.py 0.19.1
#: :370-417; docs/findings/FINDINGS_h35_fp8ssm.md section 2). Other mixers' projections (Mamba,
#: Mamba-2, lightning attention) are counted in the model dtype, as before (not read).
QUANTIZED_STATE_SPACE: dict[str, frozenset[str]] = {
    "Qwen3NextForCausalLM": frozenset({"linear_attn.in_proj_qkvz.weight", "linear_attn.in_proj_ba.weight",
                                       "linear_attn.out_proj.weight"}),
}

#: Last name components that provably name no tensor kvplan counts as quantized: norms, routers and
#: gates (built without a quant method: vLLM's MoE gate ReplicatedLinear(..., quant_config=None), e.g.
#: models/minimax_m2.py 0.19.1 :113-120, qwen3_next.py :118-124), state-space vectors and conv1d,
#: biases, embeddings and heads (VocabParallelEmbedding / ParallelLMHead get no linear method).
_NEVER_QUANTIZED = re.compile(
    r"(.*norm.*|gate|router|shared_expert_gate|e_score_correction_bias|A_log|dt_bias|D|conv1d|bias|sinks|"
    r"embed_tokens|embedding|unembedding|wte|wpe|lm_head|rotary_emb)")

#: Layer prefixes a list may use for the decoder's layers (vision-language checkpoints nest the text
#: model; vLLM's hf_to_vllm_mapper maps them to model.layers.N).
_LAYER_PREFIXES = ("model.language_model.layers.", "language_model.model.layers.", "model.layers.")


_FUSED = frozenset({"k_proj.weight", "q_a_proj.weight"})  # a layer with a QKV layer and a fused_qkv_a_proj


def layer_module(arch: str, name: str, table: dict | None = None,
                 names: frozenset[str] = _FUSED) -> tuple[str, tuple[str, ...]] | None:
    """(the engine's layer, the checkpoint shards that decide its method) of kvplan tensor ``name``
    (``.weight`` left off) of a decoder layer of architecture ``arch``, under ``model.layers.N.``;
    ``table`` overrides rows (an engine release's own build, kvplan.engines.base.QWEN3_NEXT_MODULES_0_10_2);
    ``names``: the layer's kvplan tensors (without a k_proj an MLA q_proj is its own layer, without a
    q_a_proj kv_a_proj_with_mqa is: DeepSeek-V2-Lite). A tensor not in the tables is its own module;
    None: never quantized."""
    if (name == "q_proj" and "k_proj.weight" not in names) or (
            name == "kv_a_proj_with_mqa" and "q_a_proj.weight" not in names):
        return _single(f"self_attn.{name}")
    for rows in (table or {}, ARCH_MODULES.get(arch, {}), LAYER_MODULES):
        if name in rows:
            return rows[name]
    return name, (name,)


def _runs(name: str) -> list[str]:
    """Every run of ``name``'s dotted components ("a.b.c": a, a.b, a.b.c, b, b.c, c)."""
    parts = name.split(".")
    return [".".join(parts[i:j]) for i in range(len(parts)) for j in range(i + 1, len(parts) + 1)]


@dataclass(frozen=True)
class ExclusionList:
    """A checkpoint's exclusion list, matched as kvplan reads it (module docstring)."""

    entries: tuple[str, ...]

    def matching(self, module: str) -> tuple[str, ...]:
        """The entries that name full module name ``module`` (``model.layers.0.self_attn.o_proj``)."""
        plain, globs, patterns = _compiled(self.entries)
        found = [plain[r] for r in _runs(module) if r in plain]
        found += [e for e, rx in globs if any(rx.fullmatch(r) for r in _runs(module))]
        found += [e for e, rx in patterns if rx.match(module)]
        return tuple(found)


@lru_cache(maxsize=16)
def _compiled(entries: tuple[str, ...]):
    plain, globs, patterns = {}, [], []
    for entry in entries:
        norm = _normalise(entry)
        if entry.startswith("re:"):
            try:
                patterns.append((entry, re.compile(norm)))
            except re.error as err:
                raise BadInputError(f"quantization_config exclusion entry {entry!r} is not a regular expression "
                                    f"({err})") from None
        elif "*" in norm:
            globs.append((entry, re.compile(r"[^.]+".join(re.escape(p) for p in norm.split("*")))))
        else:
            plain.setdefault(norm, entry)
    return plain, tuple(globs), tuple(patterns)


def _normalise(entry: str) -> str:
    """``entry`` with a nested text model's layer prefix as ``model.layers.`` and "re:" left off."""
    if entry.startswith("re:"):
        return entry[3:]
    for prefix in _LAYER_PREFIXES[:-1]:
        if entry.startswith(prefix):
            return "model.layers." + entry[len(prefix):]
    return entry


@dataclass(frozen=True)
class Unquantized:
    """What a spec's exclusion list keeps unquantized, per decoder layer: kvplan tensor names (with
    ``.weight``) of the tensors a format would quantize. ``by_layer[i]``: layer i's."""

    by_layer: tuple[frozenset[str], ...]

    def layer(self, layer: int) -> frozenset[str]:
        return self.by_layer[layer] if layer < len(self.by_layer) else frozenset()


def tensor_quantizable(arch: str, p, parts) -> bool:
    """Whether a format that quantizes ``parts`` quantizes kvplan tensor ``p`` (a ``kvplan.shapes.Param``)
    before any exclusion list: a matrix of a quantized part, or a state-space projection of an
    architecture whose mixer is read (``QUANTIZED_STATE_SPACE``) under a format of attention and MLP."""
    if not p.is_matrix:
        return False
    if p.part in parts:
        return True
    return p.part == "state_space" and "attention" in parts and p.name in QUANTIZED_STATE_SPACE.get(arch, ())


def unquantized(spec, parts, table: dict | None = None) -> Unquantized:
    """The tensors of ``spec``'s decoder layers that a format quantizing ``parts`` would quantize but
    the spec's exclusion list (``spec.weights_exclude``) keeps in the model dtype, read as the module
    docstring says; BadInputError naming the first entry kvplan refuses there."""
    return _unquantized(spec, frozenset(parts), tuple(sorted((table or {}).items())))


@lru_cache(maxsize=64)
def _unquantized(spec, parts: frozenset, table_items: tuple) -> Unquantized:
    from kvplan.shapes import layer_shapes

    entries = spec.weights_exclude
    if not entries or not parts:
        return Unquantized(())
    table = dict(table_items)
    listed = ExclusionList(entries)
    used: set[str] = set()  # entries that name a module kvplan counts
    out = []
    for layer in range(spec.num_layers):
        params = layer_shapes(spec, layer)
        names = frozenset(p.name for p in params)
        kept = set()
        for p in params:
            if not p.is_matrix:
                continue
            name = p.name.removesuffix(".weight")
            found = layer_module(spec.architecture, name, table, names)
            if found is None:
                continue
            layer_name, shards = f"model.layers.{layer}.{found[0]}", found[1]
            hits = [listed.matching(f"model.layers.{layer}.{s}") for s in shards]
            fused_hit = listed.matching(layer_name) if len(shards) > 1 else ()
            for h in (*hits, fused_hit):
                used.update(h)
            if not tensor_quantizable(spec.architecture, p, parts):
                continue
            if fused_hit and not all(hits):
                raise BadInputError(
                    f"{spec.name}: quantization_config exclusion entry {fused_hit[0]!r} names the fused layer "
                    f"{layer_name} itself, which the engines read differently (vLLM from 0.24.0 and "
                    f"compressed-tensors keep it unquantized, vLLM before 0.24.0 and SGLang read its shards "
                    f"{', '.join(shards)} and quantize it): not modelled")
            if any(hits) and not all(hits):
                named = next(h for h in hits if h)[0]
                raise BadInputError(
                    f"{spec.name}: quantization_config exclusion entry {named!r} names some but not all shards "
                    f"of {layer_name} ({', '.join(f'model.layers.{layer}.{s}' for s in shards)}), which vLLM and "
                    f"SGLang build as one layer: is_layer_skipped raises ValueError (\"Detected some but not all "
                    f"shards of {layer_name} are quantized\")")
            if all(hits):
                if p.part == "experts":
                    _refuse_experts(spec, hits[0][0])
                kept.add(p.name)
        out.append(frozenset(kept))
    for entry in entries:
        if entry not in used:
            _check_names_nothing(spec, entry)
    return Unquantized(tuple(out))


def _check_names_nothing(spec, entry: str) -> None:
    """BadInputError unless ``entry``, which names no module kvplan counts, provably names nothing
    quantized: its last component is a norm, router, gate, bias, state-space vector, conv1d, embedding
    or head (``_NEVER_QUANTIZED``), or a multi-token-prediction module's own tensor (mtp.*, not under
    mtp.layers: norms and the fc kvplan counts in the model dtype, kvplan.shapes.mtp_module_shapes)."""
    if entry.startswith("re:"):
        raise BadInputError(f"{spec.name}: quantization_config exclusion pattern {entry!r} matches no module kvplan "
                            f"counts and kvplan cannot tell what else it names; remove it from the config to plan "
                            f"without it")
    norm = _normalise(entry)
    if "experts." in norm and ".shared_expert" not in norm:
        _refuse_experts(spec, entry)
    last = norm.rsplit(".", 1)[-1]
    if _NEVER_QUANTIZED.fullmatch(last):
        return
    if norm.startswith("mtp.") and not norm.startswith("mtp.layers."):
        return
    raise BadInputError(f"{spec.name}: quantization_config exclusion entry {entry!r} names no module kvplan counts "
                        f"({spec.architecture}'s layers as kvplan.unquantized.LAYER_MODULES names them), so kvplan "
                        f"cannot tell which weights it keeps unquantized; remove it from the config to plan without it")


def _refuse_experts(spec, entry: str) -> None:
    raise BadInputError(
        f"{spec.name}: quantization_config exclusion entry {entry!r} names routed experts, which the engines read "
        f"differently (vLLM before 0.11.1 quantizes every FusedMoE layer, later releases and SGLang keep the whole "
        f"layer's experts unquantized when a listed name holding \"experts\" contains the layer's): not modelled")
