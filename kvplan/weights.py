"""Weight memory: bytes of a model's parameters in a storage format, per GPU under TP/PP.

Parameter shapes come from ``kvplan.shapes`` (one source of truth, also behind
``kvplan.params``); this module decides how many bytes each tensor costs in a format and
sums them for the whole model and for each GPU under TP/PP.

Formats (``--weights``), bytes for a linear layer of ``out x in`` weights:

    fp32   4 B a weight                bf16 / fp16   2 B a weight
    fp8    1 B + one fp32 scale per output channel (per-channel, as fp8 checkpoints
           from llm-compressor store it; vLLM's online ``quantization=fp8`` keeps one
           scale per tensor, a few bytes less)
    int8   w8a8: 1 B + one fp32 scale per output channel
    int4   w4a16 GPTQ/AWQ, group 128: 4 bits + per group of 128 inputs an fp16 scale
           (2 B) and a 4-bit zero point (0.5 B): 0.5 + 2.5/128 B a weight
    mxfp4  OCP MX: 4-bit e2m1 + one e8m0 scale byte per 32 (gpt-oss routed experts)

Which tensors a quantized format touches follows what vLLM does: the weight matrices of
the linear layers of attention, MLPs and experts are quantized (their biases, and vectors
such as q/k norms and sinks, stay in the model dtype); the embedding, lm_head, norms and the MoE
router stay in the model dtype (vLLM builds the lm_head and the MoE gate without a
quant method, and fp8/GPTQ/AWQ checkpoints leave them unquantized). mxfp4 covers only
the routed experts (gpt-oss's quantization_config excludes attention, router,
embedding and lm_head). Qwen3-Next's Gated DeltaNet projections (in_proj_qkvz, in_proj_ba,
out_proj) are quantized with attention and MLPs (kvplan.unquantized.QUANTIZED_STATE_SPACE); other
state-space mixers stay in the model dtype. A spec's ``quantization.exclude`` (config.json
``modules_to_not_convert`` / ``ignored_layers`` / ``ignore``) keeps the modules it names unquantized,
read module by module as the engines read it (kvplan.unquantized: each tensor's module, e.g.
``model.layers.0.self_attn.o_proj``; a name kvplan cannot map is refused).

Worked numbers (checked against vLLM v0.19 startup logs, whose "model weights" also
count the rotary cos/sin cache: see kvplan.engines):

    Llama-3.1-8B bf16   8,030,261,248 params * 2 B = 16,060,522,496 B = 14.96 GiB
    Llama-3.1-8B fp8    linear 6,979,321,856 * 1 B + embedding and lm_head
                        2 * 525,336,576 * 2 B + norms 266,240 * 2 B + scales
                        32 * 43,008 channels * 4 B = 9,086,705,664 B = 8.46 GiB

Tensor parallelism follows vLLM's layers: q/o, MLP and expert projections are split
tp ways (column/row-parallel); K/V projections keep max(1, kv_heads // tp) heads per
rank (replicated past kv_heads); the embedding and lm_head are vocab-parallel (rows
padded to a multiple of 64, then split); norms and the router are replicated; MLA's
down projections (q_a, kv_a) are replicated. Pipeline stages take the layer ranges of
``kvplan.footprint.pp_stage_ranges``; the embedding sits on the first stage, the
lm_head and final norm on the last (a tied lm_head then needs its own copy there).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kvplan.errors import UnknownNameError
from kvplan.shapes import VOCAB_PADDING
from kvplan.spec import ModelSpec
from kvplan.units import cdiv
from kvplan.unquantized import tensor_quantizable, unquantized

#: Parts of a model a quantized format can touch (ParamCount field names).
LINEAR_PARTS = ("attention", "mlp", "experts")
PARTS = ("embedding", "lm_head", "attention", "mlp", "experts", "router", "norms", "state_space", "other")


@dataclass(frozen=True)
class WeightFormat:
    """How one weight format stores a linear layer's weights."""

    name: str
    bits: int
    description: str
    scale_scope: str = "none"  # "none", "channel" (per output channel) or "group"
    group: int = 0  # inputs per group (scale_scope "group")
    scale_half_bytes: int = 0  # scale (+ zero point) bytes per channel/group, in half bytes
    parts: tuple[str, ...] = ()  # parts quantized; () = every part (plain dtypes)

    @property
    def is_quantized(self) -> bool:
        return bool(self.parts)

    def matrix_bytes(self, rows: int, cols: int, count: int = 1) -> int:
        """Bytes of ``count`` weight matrices of ``rows`` output channels x ``cols`` inputs,
        scales included (per output channel, or per group of ``group`` inputs of a row)."""
        payload = cdiv(count * rows * cols * self.bits, 8)
        if self.scale_scope == "channel":
            return payload + cdiv(count * rows * self.scale_half_bytes, 2)
        if self.scale_scope == "group":
            return payload + cdiv(count * rows * cdiv(cols, self.group) * self.scale_half_bytes, 2)
        return payload


WEIGHT_FORMATS: dict[str, WeightFormat] = {
    f.name: f
    for f in (
        WeightFormat("fp32", 32, "float32"),
        WeightFormat("bf16", 16, "bfloat16"),
        WeightFormat("fp16", 16, "float16"),
        WeightFormat("fp8", 8, "fp8 e4m3, fp32 scale per output channel", "channel", 0, 8, LINEAR_PARTS),
        WeightFormat("int8", 8, "int8 w8a8, fp32 scale per output channel", "channel", 0, 8, LINEAR_PARTS),
        WeightFormat("int4", 4, "int4 w4a16 (GPTQ/AWQ), group 128, fp16 scale + 4-bit zero", "group", 128, 5,
                     LINEAR_PARTS),
        WeightFormat("mxfp4", 4, "MXFP4: e2m1 + e8m0 scale per 32 (routed experts only)", "group", 32, 2,
                     ("experts",)),
    )
}

WEIGHT_ALIASES = {
    "bfloat16": "bf16", "float16": "fp16", "half": "fp16", "float32": "fp32", "float": "fp32",
    "fp8_e4m3": "fp8", "e4m3": "fp8", "fp8_e5m2": "fp8", "e5m2": "fp8", "w8a8": "int8", "w8a8_int8": "int8",
    "w4a16": "int4", "gptq": "int4", "awq": "int4", "gptq_int4": "int4", "awq_int4": "int4",
    "int4_g128": "int4", "mx_fp4": "mxfp4",
}


def get_weight_format(name: str, model_dtype: str | None = None) -> WeightFormat:
    """A weight format by name or alias (``auto`` = the model's dtype)."""
    key = str(name).strip().lower().replace("-", "_")
    if key == "auto" and model_dtype:
        key = model_dtype
    key = WEIGHT_ALIASES.get(key, key)
    try:
        return WEIGHT_FORMATS[key]
    except KeyError:
        raise UnknownNameError("weight format", name, list(WEIGHT_FORMATS) + ["auto"]) from None


def resolve_weight_format(spec: ModelSpec, weights: str | None = None) -> WeightFormat:
    """``--weights`` if given, else the spec's (config.json's) quantization, else its dtype."""
    if weights:
        return get_weight_format(weights, spec.dtype)
    if spec.weights_format:
        return get_weight_format(spec.weights_format, spec.dtype)
    return get_weight_format(spec.dtype)


@dataclass(frozen=True)
class StageWeights:
    """Weights of one pipeline stage on one tensor-parallel rank."""

    stage: int
    layers: range
    params: int
    bytes: int
    by_part: dict[str, int] = field(default_factory=dict)  # bytes by ParamCount field
    params_by_part: dict[str, int] = field(default_factory=dict)  # parameters by ParamCount field


@dataclass(frozen=True)
class Weights:
    """A model's weights in one format: whole-model and per-GPU bytes."""

    model: str
    format: str
    dtype: str
    tp: int
    pp: int
    total_params: int
    total_bytes: int  # one copy of the whole model
    by_part: dict[str, int]  # whole-model bytes by part
    quantized_parts: tuple[str, ...]
    stages: tuple[StageWeights, ...]
    # Whole-model bytes by section: language_model, vision_tower, projector, other (and, from a
    # checkpoint, unused: tensors vLLM does not load, e.g. multi-token-prediction layers).
    by_section: dict[str, int] = field(default_factory=dict)
    moe_tp: int = 1  # routed experts: slices per expert on a rank (kvplan.shapes.MoEParallel)
    moe_ep: int = 1  # routed experts: expert-parallel groups (whole experts per rank)

    @property
    def per_gpu_bytes(self) -> int:
        """The most loaded GPU (largest stage, one tensor-parallel rank)."""
        return max(s.bytes for s in self.stages)

    @property
    def most_loaded_stage(self) -> int:
        return max(self.stages, key=lambda s: s.bytes).stage


@dataclass(frozen=True)
class Storage:
    """How ``spec``'s tensors are stored in a format: the format, the parts it quantizes, the model
    dtype's bits, the architecture (kvplan.unquantized.tensor_quantizable) and what the spec's
    exclusion list keeps unquantized, per decoder layer (kvplan.unquantized.unquantized)."""

    fmt: WeightFormat
    parts: frozenset
    dtype_bits: int
    arch: str = ""
    kept: object = None  # kvplan.unquantized.Unquantized, None: nothing listed

    def layer_kept(self, layer: int | None) -> frozenset:
        """Names of layer ``layer``'s tensors the list keeps unquantized (None: outside the layers)."""
        return self.kept.layer(layer) if self.kept is not None and layer is not None else frozenset()

    def quantizes(self, p, kept: frozenset = frozenset()) -> bool:
        """Whether tensor ``p`` is stored in the format (not in the model dtype), ``kept``: its layer's
        tensors the exclusion list keeps unquantized."""
        return tensor_quantizable(self.arch, p, self.parts) and p.name not in kept


def _tensor_bytes(p, tp: int | None, st: Storage, vocab_padding: int = VOCAB_PADDING,
                  kept: frozenset = frozenset()) -> int:
    """Bytes of one rank's share of tensor ``p``: a tensor the format quantizes (``Storage.quantizes``:
    a matrix of a quantized part the exclusion list does not name) in the format, everything else
    (vectors, embeddings, norms, routers, listed modules) in the model dtype (or in the format itself
    when it is a plain dtype); vocabulary rows padded to a multiple of ``vocab_padding`` before the split
    (kvplan.shapes.Param.rank_rows)."""
    if st.quantizes(p, kept):
        return st.fmt.matrix_bytes(p.rank_rows(tp, vocab_padding), p.rank_cols(tp), p.count)
    bits = st.dtype_bits if st.fmt.is_quantized else st.fmt.bits
    return cdiv(p.rank_numel(tp, vocab_padding) * bits, 8)


def weight_storage(spec: ModelSpec, weights: str | WeightFormat | None) -> Storage:
    """How the format ``weights`` names for ``spec`` stores its tensors (``Storage``)."""
    fmt = weights if isinstance(weights, WeightFormat) else resolve_weight_format(spec, weights)
    parts = frozenset(fmt.parts)
    kept = unquantized(spec, parts) if spec.weights_exclude and parts else None
    return Storage(fmt, parts, WEIGHT_FORMATS[spec.dtype].bits, spec.architecture, kept)


def _rank_sum(params, rank_tp: int | None, moe, st: Storage, vocab_padding: int = VOCAB_PADDING,
              splits: tuple = (), kept: frozenset = frozenset()
              ) -> tuple[dict[str, int], dict[str, int], int, frozenset]:
    """(bytes by part, parameters by part, parameters, the parts holding a quantized tensor) of tensors
    ``params`` on one rank (``rank_tp`` None: whole), routed experts held as ``moe`` (a
    kvplan.shapes.MoEParallel) says, vocabulary rows padded to ``vocab_padding`` before the split, the
    engine's ``splits`` rows (part, name prefix, degree; the first that matches) in place of ``rank_tp``,
    ``kept`` the names the exclusion list keeps unquantized."""
    by, cn, n, qparts = {}, {}, 0, set()
    for p in params:
        t = rank_tp
        if t is not None and p.part == "experts":
            p, t = moe.share(p)
        elif t is not None:
            t = next((k for part, prefix, k in splits if p.part == part and p.name.startswith(prefix)), t)
        by[p.part] = by.get(p.part, 0) + _tensor_bytes(p, t, st, vocab_padding, kept)
        if st.quantizes(p, kept):
            qparts.add(p.part)
        k = p.rank_numel(t, vocab_padding)
        cn[p.part] = cn.get(p.part, 0) + k
        n += k
    return by, cn, n, frozenset(qparts)


def tensors_on_rank(spec: ModelSpec, params, weights: str | WeightFormat | None = None, tp: int = 1,
                    moe=None, layer: int | None = None) -> tuple[int, int]:
    """(parameters, bytes) of tensors ``params`` (``kvplan.shapes`` Params of ``spec``) on one
    tensor-parallel rank, by the rules ``weights_footprint`` applies to the model's own layers:
    the format ``weights`` names (default: the spec's), the tensor-parallel splits, and routed
    experts held as ``moe`` says (default: a 1/tp slice of each); ``layer``: the decoder layer the
    tensors belong to, whose modules the exclusion list may keep unquantized (None: no layer's, as
    for modules planned beside the model's layers: a speculative drafter's MTP layer)."""
    from kvplan.shapes import MoEParallel

    st = weight_storage(spec, weights)
    by, _, n, _ = _rank_sum(params, tp, moe if moe is not None else MoEParallel(tp, 1), st,
                            kept=st.layer_kept(layer))
    return n, sum(by.values())


_MEMO: dict[tuple, tuple] = {}
_SHAPES: dict[int, tuple] = {}


def _layer_shapes(spec: ModelSpec) -> tuple:
    """Every decoder layer's tensors (``kvplan.shapes.layer_shapes``), looked up once per
    spec object (``layer_shapes`` is cached by the spec's hash, which walks every layer)."""
    from kvplan.shapes import layer_shapes

    hit = _SHAPES.get(id(spec))
    if hit is not None and hit[0] is spec:
        return hit[1]
    canon: dict[tuple, tuple] = {}  # equal layers share one tuple, so sums can be keyed by identity
    shapes = tuple(canon.setdefault(t, t) for t in (layer_shapes(spec, i) for i in range(spec.num_layers)))
    if len(_SHAPES) > 256:
        _SHAPES.clear()
    _SHAPES[id(spec)] = (spec, shapes)
    return shapes


def weights_footprint(spec: ModelSpec, weights: str | WeightFormat | None = None, tp: int = 1,
                      pp: int = 1, moe=None, vocab_padding: int = VOCAB_PADDING, splits: tuple = ()) -> Weights:
    """Memoised ``_weights_footprint`` (a Weights is frozen). Keyed by the spec's identity,
    as ``kvplan.layer_sums.stage_terms`` is (hashing a spec hashes every layer); the entry
    holds the spec so its id is never reused while cached."""
    key = (id(spec), weights, tp, pp, moe, vocab_padding, splits)
    hit = _MEMO.get(key)
    if hit is not None and hit[0] is spec:
        return hit[1]
    out = _weights_footprint(spec, weights, tp, pp, moe, vocab_padding, splits)
    if len(_MEMO) > 1024:
        _MEMO.clear()
    _MEMO[key] = (spec, out)
    return out


def _weights_footprint(spec: ModelSpec, weights: str | WeightFormat | None = None, tp: int = 1,
                       pp: int = 1, moe=None, vocab_padding: int = VOCAB_PADDING, splits: tuple = ()) -> Weights:
    """Weight bytes of ``spec`` in format ``weights`` (default: spec's quantization or dtype),
    for the whole model and for each pipeline stage on one tensor-parallel rank.

    Every tensor comes from ``kvplan.shapes``: the whole model is the sum at tp 1; a stage
    holds its layers' tensors split as vLLM splits them, the embedding (first stage), and
    the lm_head and final norm (last stage; a tied lm_head needs its own copy there when
    pp > 1). Routed experts are held as ``moe`` says (a ``kvplan.shapes.MoEParallel``:
    slices over the tp x dp ranks, or whole experts under expert parallelism); by default
    each rank holds a 1/tp slice of every expert. The embedding and lm_head rows are padded
    to a multiple of ``vocab_padding`` before the tp split (the engine's: vLLM and SGLang 64,
    TensorRT-LLM 1, kvplan.engines.base.Engine.vocab_padding). ``splits`` are the engine's
    exceptions to splitting a part by ``tp`` (``kvplan.engines.base.Engine.weight_splits``):
    (part, name prefix, tensor-parallel degree) rows, the first whose part and prefix match a
    tensor applies (1 keeps it whole; SGLang's DP attention splits the lm_head over its whole
    tp group)."""
    from kvplan.footprint import Parallelism, check_parallelism, pp_stage_ranges
    from kvplan.shapes import MoEParallel, Param, model_shapes

    moe = moe if moe is not None else MoEParallel(tp, 1)
    if spec.checkpoint is not None and weights is None:  # exact bytes from the safetensors headers
        from kvplan.errors import BadInputError
        from kvplan.hf.checkpoint import checkpoint_weights

        if moe != MoEParallel(tp, 1):
            raise BadInputError(f"{spec.name}: bytes read from a checkpoint are split by tensor parallelism only; "
                                f"experts sharded over data-parallel ranks or expert parallelism are not modelled "
                                f"for them (give --weights to plan from the architecture)")
        if splits:
            raise BadInputError(f"{spec.name}: bytes read from a checkpoint are split by tensor parallelism only; the "
                                f"engine holds {', '.join(sorted({s[0] for s in splits}))} otherwise, which is not "
                                f"modelled for them (give --weights to plan from the architecture)")
        return checkpoint_weights(spec, tp, pp)
    check_parallelism(spec, Parallelism(tp, pp))
    st = weight_storage(spec, weights)
    fmt = st.fmt
    outer = model_shapes(spec)

    layers = _layer_shapes(spec)
    memo: dict[tuple, tuple[dict[str, int], dict[str, int], int, frozenset]] = {}
    qparts: set[str] = set()

    def add(parts: dict[str, int], params, rank_tp: int | None, counts: dict[str, int] | None = None,
            layer: int | None = None) -> int:
        """Add ``params``' bytes (and counts) by part; equal layers (one shared tuple, see
        ``_layer_shapes``) whose exclusions are equal are summed once. Keyed by identity: every
        keyed object lives until this call returns."""
        kept = st.layer_kept(layer)
        key = (id(params), rank_tp, kept)
        hit = memo.get(key)
        if hit is None:
            hit = _rank_sum(params, rank_tp, moe, st, vocab_padding, splits, kept)
            memo[key] = hit
        for part, b in hit[0].items():
            parts[part] += b
        if counts is not None:
            for part, c in hit[1].items():
                counts[part] += c
        qparts.update(hit[3])
        return hit[2]

    # Whole model, one copy.
    by_part = dict.fromkeys(PARTS, 0)
    total_params = add(by_part, outer, None)
    for i, shapes in enumerate(layers):
        total_params += add(by_part, shapes, None, layer=i)

    # Per stage, one tensor-parallel rank.
    ranges = pp_stage_ranges(spec.num_layers, pp)
    first = [p for p in outer if p.part in ("embedding", "other")]
    last = [p for p in outer if p.part in ("lm_head", "norms")]
    if spec.tie_word_embeddings and pp > 1:  # the last stage needs its own copy of the head
        emb = outer[0]
        last.append(Param("lm_head.weight", "lm_head", emb.rows, emb.cols, split=emb.split))
    stages = []
    for s, rng in enumerate(ranges):
        parts = dict.fromkeys(PARTS, 0)
        counts = dict.fromkeys(PARTS, 0)
        params = 0
        for layer in rng:
            params += add(parts, layers[layer], tp, counts, layer=layer)
        if s == 0:
            params += add(parts, first, tp, counts)
        if s == len(ranges) - 1:
            params += add(parts, last, tp, counts)
        stages.append(StageWeights(stage=s, layers=rng, params=params, bytes=sum(parts.values()), by_part=parts,
                                   params_by_part=counts))
    return Weights(
        model=spec.name,
        format=fmt.name,
        dtype=spec.dtype,
        tp=tp,
        pp=pp,
        total_params=total_params,
        total_bytes=sum(by_part.values()),
        by_part=by_part,
        quantized_parts=tuple(p for p in PARTS if p in qparts and by_part[p]),
        stages=tuple(stages),
        by_section=_sections(by_part, outer, st),
        moe_tp=moe.tp,
        moe_ep=moe.ep,
    )


#: extra_params names and kvplan.towers name prefixes -> section.
_EXTRA_SECTIONS = {"vision_tower": "vision_tower", "multimodal_projector": "projector"}


def _sections(by_part: dict[str, int], outer, st: Storage) -> dict:
    """Whole-model bytes by section: the decoder is the language model; ``extra_params``
    go where their name says (vision_tower, multimodal_projector), else to other."""
    out = {"language_model": sum(by_part.values()) - by_part["other"], "vision_tower": 0, "projector": 0,
           "other": 0}
    for p in outer:
        if p.part == "other":
            out[_EXTRA_SECTIONS.get(p.name.split(".")[0], "other")] += _tensor_bytes(p, None, st)
    return out


def kv_b_proj_quantized(spec: ModelSpec, w: Weights) -> bool:
    """Whether ``w`` holds MLA's kv_b_proj quantized: read from the checkpoint's headers
    (a kv_b_proj tensor of a non-float dtype: an F8 weight, packed I32 qweight/qzeros) when
    ``w`` came from one, else whether ``w``'s format quantizes every MLA layer's kv_b_proj (the
    spec's exclusion list read per module, kvplan.unquantized; a list that keeps it unquantized in
    some layers only is refused). False for a model without MLA."""
    if spec.mla is None:
        return False
    if w.format == "checkpoint":
        from kvplan.hf.safetensors import FLOAT_DTYPES

        return any(".kv_b_proj." in t.name and t.dtype not in FLOAT_DTYPES for t in spec.checkpoint.tensors)
    from kvplan.errors import BadInputError
    from kvplan.shapes import layer_shapes

    st = weight_storage(spec, w.format)
    found = {st.quantizes(p, st.layer_kept(i)) for i in range(spec.num_layers) for p in layer_shapes(spec, i)
             if p.name == "kv_b_proj.weight"}
    if len(found) > 1:
        raise BadInputError(f"{spec.name}: the quantization_config exclusion list keeps kv_b_proj unquantized in some "
                            f"MLA layers only; vLLM's model-dtype copy of a quantized kv_b_proj is not modelled per "
                            f"layer")
    return found == {True}


def kv_b_proj_bytes(spec: ModelSpec, layers: range, w: Weights) -> int:
    """Bytes on one tensor-parallel rank of the stored kv_b_proj of ``layers`` (MLA's up
    projection, ``kvplan.shapes``) in ``w``'s format and tp, by the rule ``w``'s stages
    were summed with (``tensors_on_rank``). DeepSeek-V3 fp8 at tp 8: 4,096 x 512 values and
    4,096 fp32 scales, 2,113,536 B a layer. 0 for a model without MLA; refused for bytes read
    from a checkpoint."""
    from kvplan.errors import BadInputError
    from kvplan.shapes import layer_shapes

    if spec.mla is None:
        return 0
    if w.format == "checkpoint":
        raise BadInputError(f"{spec.name}: kv_b_proj's bytes from a checkpoint are not split out (give --weights)")
    return sum(tensors_on_rank(spec, [p], w.format, w.tp, layer=i)[1]
               for i in layers for p in layer_shapes(spec, i) if p.name == "kv_b_proj.weight")


def mla_absorbed_bytes(spec: ModelSpec, layers: range, tp: int, element_bytes: int) -> int:
    """Bytes on one tensor-parallel rank of the absorbed MLA up-projections
    (``kvplan.shapes.mla_absorbed_shapes``) of ``layers``, ``element_bytes`` a value.
    DeepSeek-V3, 61 layers in bf16: 61 x 16,777,216 x 2 = 2,046,820,352 B at tp 1,
    61 x 4,194,304 = 255,852,544 B at tp 8."""
    from kvplan.shapes import mla_absorbed_shapes

    return element_bytes * sum(p.rank_numel(tp) for i in layers for p in mla_absorbed_shapes(spec, i))


def weight_bytes(spec: ModelSpec, weights: str | None = None) -> int:
    """Bytes of one copy of the whole model's weights."""
    return weights_footprint(spec, weights).total_bytes
