"""Speed: time per output token, time to first token and tokens/s, from the bytes and
FLOPs of a step over what the GPU delivers.

Pure arithmetic over the same objects the capacity model uses (no torch, no numpy):
parameter tensors and their tensor-parallel split come from ``kvplan.shapes`` through
``kvplan.weights`` (per-stage, per-rank bytes and parameter counts), KV bytes from the
cache kinds' own arithmetic (``kvplan.layers`` via ``kvplan.layer_sums``), and whether a
load fits at all from the ``kvplan.capacity.Pool``.

One decode step of one replica (every running sequence gains one token), per pipeline
stage on one GPU:

    linear   = max(weight bytes read / (weights_bandwidth x HBM),
                   2 x active params x tokens / (flops x peak FLOP/s of the weight format))
    attention= max(KV bytes read / (kv_bandwidth x HBM),
                   attention FLOPs / (flops x peak BF16 FLOP/s))
    comm     = per collective: collective_latency + ring bytes / (interconnect x link)
    stage    = linear + attention + comm
    TPOT     = pp x stage (one token passes every stage) + step_overhead
               + decoding sequences x sequence_overhead (0 unless calibrated; under pp the
               sequences of one micro-batch, cdiv(users, pp): a scheduler that samples every
               micro-batch in turn would pay it for all users, not modelled)

Bytes read: every weight matrix of the stage once (the embedding table only for the rows
looked up, except a tied lm_head, which reads it whole); routed experts only in the share
the batch activates: with ``T`` tokens entering an MoE layer and top-``k`` of ``E`` experts
under uniform routing an expert is hit with probability ``1 - (1 - k/E)^T`` (Mixtral,
k=2, E=8: 25% at T=1, 90% at T=8, 99.99% at T=32), while all ``E`` stay resident. An MLA
layer's absorbed decode reads the up-projection as the engine holds it for decode: vLLM's
model-dtype W_UK_T / W_UV copy of a quantized kv_b_proj (``Engine.mla_decode_read_bytes``,
the rule capacity counts the copy's memory by; DeepSeek-V3 fp8 at tp 8: 255,852,544 B of
bf16 a step instead of the stored 128,925,696 B), while a step that computes a prompt also
runs kv_b_proj itself. KV bytes read: each running sequence's cache at its length, in its format with scales, on
this rank (sliding windows hold ``min(n, window)`` tokens, an MLA latent is read whole on
every rank, a shared-KV layer reads its source's cache again).

FLOPs: 2 per active parameter per token (expert parameters weighted by ``k/E``), plus
attention: ``2 x q_heads x (k_dim + v_dim) x cached tokens`` a layer (MLA absorbed in
decode: ``2 x q_heads x (2 x kv_lora_rank + rope_dim) x n``; prefill runs MLA as multi-head
attention over the up-projected keys and values).

Communication: two collectives per layer under tensor parallelism (after attention and
after the MLP), each an all-reduce of ``tokens x hidden`` activations, ring bytes
``2 (g - 1) / g`` of the message. vLLM shards MoE layers over the tp x dp ranks: there the
tokens of every data-parallel rank meet (all-gather + reduce-scatter, the same ring
bytes for the global batch). Groups larger than a node use the inter-node bandwidth.
With FlashInfer's fused all-reduce + RMSNorm (vLLM's ``fuse_allreduce_rms`` compilation pass,
the release's default from 0.17.0 on Hopper/Blackwell at tp > 1; SGLang's
``--enable-flashinfer-allreduce-fusion``, on by default for some MoE architectures from
0.5.1; or asked for: rule ``allreduce_rms_fusion`` of each engine), each tp all-reduce it
fuses with the RMSNorm after it costs a measured saving less (``fused_allreduce_saving_us``,
per GPU); SGLang leaves the model's last MLP all-reduce unfused.

Prefill (TTFT) of one prompt on an otherwise idle replica: chunked as the engine chunks it
(``max_num_batched_tokens`` tokens a step), each chunk ``max(weights / bandwidth, FLOPs /
FLOP/s) + comm``, pipelined over the pp stages. Queueing behind other requests is not
modelled. With ``output_tokens`` given, the TPOT is the mean step a request sees while it
decodes, as `vllm bench serve` measures it (``(latency - TTFT) / (output - 1)``): the other
``users - 1`` requests each start a new prompt once per ``output`` steps, so a share
``q = (users - 1) / output`` of the steps also computes a prompt (chunked prefill mixes it
in), and TPOT = (1 - q) x decode step + q x step with a prompt. Its own prompt is in its
TTFT, so one user's TPOT is a pure decode step. The mean is over step times, not one step
at the mean token count: a prompt touches every expert of an MoE layer in the one step
that computes it, where its tokens spread over all steps would touch more experts in each.
Without ``output_tokens``, a pure decode step (disaggregated decode, or a batch whose
prompts are done).

Efficiency factors and fixed costs are data (``kvplan/data/efficiency.yaml``, each with
its source); ``load_calibration`` replaces them from a `kvplan measure` report or a small
JSON of achieved fractions. Times are floats in seconds: estimates, not byte counts.
"""

from __future__ import annotations

from dataclasses import astuple, dataclass, replace
from functools import lru_cache
from pathlib import Path

from kvplan.capacity import CapacityRequest, Pool
from kvplan.engines import get_engine
from kvplan.engines.base import AllReduceFusion
from kvplan.errors import BadInputError
from kvplan.gpus import GPU
from kvplan.layers import (
    CacheKind,
    ChunkedLocal,
    FullAttention,
    MLAIndexed,
    MLALatent,
    NoCache,
    SharedKV,
    SlidingWindow,
    StateSpace,
)
from kvplan.spec import ModelSpec
from kvplan.units import cdiv

#: Fractions of a peak (0 < f <= 1) and fixed costs (microseconds) an Efficiency holds.
FRACTIONS = ("weights_bandwidth", "kv_bandwidth", "flops", "interconnect")
FIXED_US = ("collective_latency_us", "matrix_overhead_us", "layer_overhead_us", "step_overhead_us",
            "fused_allreduce_saving_us", "sequence_overhead_us")
CALIBRATION_VERSION = 1

#: What limits a step (the largest term), in report order.
BOUNDS = ("weights", "kv", "compute", "comm", "overhead")


# -- efficiency ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Efficiency:
    """Achieved fractions of peak and fixed costs, each with where it came from."""

    weights_bandwidth: float
    kv_bandwidth: float
    flops: float
    interconnect: float
    collective_latency_s: float
    matrix_overhead_s: float
    layer_overhead_s: float
    step_overhead_s: float
    gpus_per_node: int
    inter_node_bytes_per_s: int
    #: per all-reduce that vLLM's fuse_allreduce_rms pass fuses with the norm after it
    fused_allreduce_saving_s: float = 0.0
    #: per decoding sequence and step, outside the model's terms (0 in the shipped factors;
    #: `kvplan calibrate` fits it from an engine's own runs)
    sequence_overhead_s: float = 0.0
    sources: tuple[tuple[str, str], ...] = ()

    def as_dict(self) -> dict:
        return {
            **{f: getattr(self, f) for f in FRACTIONS},
            "collective_latency_us": self.collective_latency_s * 1e6,
            "matrix_overhead_us": self.matrix_overhead_s * 1e6,
            "layer_overhead_us": self.layer_overhead_s * 1e6,
            "step_overhead_us": self.step_overhead_s * 1e6,
            "fused_allreduce_saving_us": self.fused_allreduce_saving_s * 1e6,
            "sequence_overhead_us": self.sequence_overhead_s * 1e6,
            "gpus_per_node": self.gpus_per_node,
            "inter_node_bytes_per_s": self.inter_node_bytes_per_s,
            "sources": dict(self.sources),
        }


def _efficiency_path() -> Path:
    return Path(__file__).with_name("data") / "efficiency.yaml"


def _figure(entry, where: str) -> tuple[object, str]:
    if not isinstance(entry, dict) or set(entry) != {"value", "source"} or not str(entry["source"]).strip():
        raise BadInputError(f"efficiency.yaml: {where}: expected {{value, source}}")
    return entry["value"], str(entry["source"]).strip()


#: The plausible range of an achieved fraction of a peak and of a fixed cost. The shipped
#: factors run from 0.21 (flops) to 0.93 and from 0 to 620 us (efficiency.yaml); a figure
#: below 5% of the peak or over 100 ms a step is a unit slip (seconds given as us, a percent
#: as a fraction of 1e-9), refused: a calibration of flops 1e-9 and step_overhead_us
#: 9,999,999 printed a TPOT of 15,722,744 ms (audit h25 S10).
MIN_FRACTION = 0.05
MAX_FIXED_US = 100_000


def _fraction(value, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not MIN_FRACTION <= value <= 1:
        raise BadInputError(f"{where}: expected an achieved fraction of the peak in [{MIN_FRACTION:g}, 1], "
                            f"got {value!r}")
    return float(value)


def _micros(value, where: str) -> float:
    if (isinstance(value, bool) or not isinstance(value, (int, float)) or value != value
            or not 0 <= value <= MAX_FIXED_US):
        raise BadInputError(f"{where}: expected microseconds in [0, {MAX_FIXED_US:,}], got {value!r}")
    return float(value) / 1e6


@lru_cache(maxsize=1)
def _efficiency_data() -> dict:
    from kvplan.loader import read_yaml

    data = read_yaml(_efficiency_path())
    if not isinstance(data, dict) or data.get("version") != 1:
        raise BadInputError("efficiency.yaml: expected version 1")
    return data


def has_shipped_factors(gpu: GPU) -> bool:
    """Whether the shipped factors describe ``gpu`` (shipped_efficiency)."""
    return gpu.vendor == "nvidia" or gpu.name in (_efficiency_data().get("gpus") or {})


def shipped_efficiency(gpu: GPU) -> Efficiency:
    """The shipped factors for ``gpu`` when nothing replaces them, or one line (BadInputError) for a
    GPU they do not describe. They were fitted on NVIDIA GPUs (benchmarks/fit_speed.py); a GPU of
    another vendor gets them only through its own entry under ``gpus:`` in efficiency.yaml (MI300X).
    Published DeepSeek-R1 runs under one SGLang stack (InferenceMAX, benchmarks/speed_reference.py
    ``imax-mi325x-*`` / ``imax-mi355x-*``) take 1.4-3.2x the NVIDIA factors' TPOT on the MI325X and
    up to 1.8x on the MI355X at 4-8 users: a figure from them would be confidently wrong."""
    if gpu.hbm_bandwidth_bytes_per_s is not None and not has_shipped_factors(gpu):  # no bandwidth: setup says so
        raise BadInputError(
            f"kvplan speed has no factors for {gpu.name}: the shipped ones were fitted on NVIDIA GPUs, and "
            f"published runs on AMD's MI325X / MI355X take up to 3.2x / 1.8x the time they give "
            f"(docs/speed.md); give --calibration FILE (kvplan calibrate on the engine's own runs)")
    return default_efficiency(gpu)


def default_efficiency(gpu: GPU | None = None) -> Efficiency:
    """The shipped factors (``kvplan/data/efficiency.yaml``), with the GPU's own overrides."""
    from kvplan.units import parse_bytes

    data = _efficiency_data()
    entries = dict(data["defaults"])
    if gpu is not None:
        entries.update((data.get("gpus") or {}).get(gpu.name) or {})
    values, sources = {}, []
    for name in FRACTIONS + FIXED_US:
        value, source = _figure(entries.get(name), f"defaults.{name}")
        values[name] = _fraction(value, f"efficiency.yaml {name}") if name in FRACTIONS else _micros(
            value, f"efficiency.yaml {name}")
        sources.append((name, source))
    topo = data["topology"]
    per_node, src = _figure(topo.get("gpus_per_node"), "topology.gpus_per_node")
    sources.append(("gpus_per_node", src))
    inter, src = _figure(topo.get("inter_node_bandwidth"), "topology.inter_node_bandwidth")
    sources.append(("inter_node_bandwidth", src))
    return Efficiency(
        weights_bandwidth=values["weights_bandwidth"], kv_bandwidth=values["kv_bandwidth"], flops=values["flops"],
        interconnect=values["interconnect"], collective_latency_s=values["collective_latency_us"],
        matrix_overhead_s=values["matrix_overhead_us"], layer_overhead_s=values["layer_overhead_us"],
        step_overhead_s=values["step_overhead_us"],
        fused_allreduce_saving_s=values["fused_allreduce_saving_us"],
        sequence_overhead_s=values["sequence_overhead_us"], gpus_per_node=int(per_node),
        inter_node_bytes_per_s=parse_bytes(inter, "efficiency.yaml inter_node_bandwidth"), sources=tuple(sources),
    )


def load_calibration(path, gpu: GPU, kv_format: str, base: Efficiency | None = None) -> Efficiency:
    """Factors from ``path``: a `kvplan measure` report (its paged-decode kernel's achieved
    bandwidth replaces ``kv_bandwidth``), or a JSON object ``{"kvplan_calibration": 1,
    "gpu": NAME, "source": TEXT, <any of weights_bandwidth, kv_bandwidth, flops,
    interconnect, or any FIXED_US figure>}``. Fields it does not give keep
    their shipped values. Refused with one line when it was measured on another GPU."""
    from kvplan.loader import read_json

    base = base or default_efficiency(gpu)
    path = Path(path)
    data = read_json(path)
    if isinstance(data, dict) and "formats" in data and "copy_bandwidth" in data:
        if not has_shipped_factors(gpu):
            raise BadInputError(f"{path}: a kvplan measure report replaces kv_bandwidth only, and kvplan has no "
                                f"shipped factors for {gpu.name} to keep for the rest (they were fitted on NVIDIA "
                                f"GPUs); calibrate from the engine's own runs (kvplan calibrate)")
        return _from_measure_report(data, path, gpu, kv_format, base)
    version = data.get("kvplan_calibration") if isinstance(data, dict) else None
    if type(version) is not int or version != CALIBRATION_VERSION:  # True == 1, but is no version
        raise BadInputError(f"{path}: not a kvplan measure report nor a calibration file "
                            f"(expected \"kvplan_calibration\": {CALIBRATION_VERSION}; see docs/speed.md)")
    allowed = {"kvplan_calibration", "gpu", "source", "fitted_on", *FRACTIONS, *FIXED_US}
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise BadInputError(f"{path}: unknown field {unknown[0]!r} (known: {', '.join(sorted(allowed))})")
    _same_gpu(data.get("gpu"), gpu, path)
    if "fitted_on" in data and not isinstance(data["fitted_on"], dict):
        raise BadInputError(f"{path}: fitted_on must be an object (the deployment `kvplan calibrate` fitted on)")
    if "fitted_on" not in data and not has_shipped_factors(gpu):
        # a hand-written file keeps the shipped (NVIDIA) figures for every factor it leaves out (review
        # h28 F2); kvplan calibrate's fit to the engine's own runs absorbs them for its deployment
        raise BadInputError(f"{path}: kvplan has no shipped factors for {gpu.name} (they were fitted on NVIDIA "
                            f"GPUs) to keep for the figures this file leaves out; calibrate from the engine's "
                            f"own runs (kvplan calibrate writes fitted_on)")
    source = str(data.get("source") or "").strip()
    if not source:
        raise BadInputError(f"{path}: say where the figures come from (\"source\": ...)")
    changes, sources = {}, dict(base.sources)
    for name in FRACTIONS:
        if name in data:
            changes[name] = _fraction(data[name], f"{path}: {name}")
            sources[name] = f"{path.name}: {source}"
    for name in FIXED_US:
        if name in data:
            changes[name.removesuffix("_us") + "_s"] = _micros(data[name], f"{path}: {name}")
            sources[name] = f"{path.name}: {source}"
    return replace(base, sources=tuple(sources.items()), **changes)


def _same_gpu(name, gpu: GPU, path: Path) -> None:
    if name is None:
        raise BadInputError(f"{path}: says nothing about the GPU it was measured on (\"gpu\": ...)")
    from kvplan.gpus import get_gpu

    measured = get_gpu(str(name))
    if measured.name != gpu.name:
        raise BadInputError(f"{path}: measured on {measured.name}, not {gpu.name}; calibrate on the GPU you plan for")


def _from_measure_report(data: dict, path: Path, gpu: GPU, kv_format: str, base: Efficiency) -> Efficiency:
    from kvplan.measure import validate_report

    validate_report(data, str(path))
    device = data["device"]
    if device.get("interpret"):
        raise BadInputError(f"{path}: an --interpret report times the CPU, not a GPU; it cannot calibrate speed")
    _same_gpu(device.get("catalog_gpu") or device.get("name"), gpu, path)
    ok = {f["kv_dtype"]: f for f in data["formats"] if f["status"] == "ok" and f.get("achieved_gbps")}
    entry = ok.get(kv_format)
    if entry is None:  # another format's bandwidth is not this one's (review h25-2 Q2): measure it
        have = ", ".join(sorted(ok)) or "none"
        raise BadInputError(f"{path}: no timed {kv_format} decode to calibrate {kv_format} from (it has: {have}); "
                            f"run kvplan measure with --kv-dtype {kv_format}, or leave {kv_format} out of --kv-dtype")
    peak = gpu.hbm_bandwidth_bytes_per_s
    fraction = min(1.0, entry["achieved_gbps"] * 1e9 / peak)
    sources = dict(base.sources)
    sources["kv_bandwidth"] = (f"{path.name}: kvplan measure, {entry['kv_dtype']} paged decode "
                               f"{entry['achieved_gbps']:.0f} GB/s of {peak / 1e9:.0f} GB/s peak")
    return replace(base, kv_bandwidth=fraction, sources=tuple(sources.items()))


# -- per cache kind: attention FLOPs and KV bytes read --------------------------------------
def _causal_full(n: int) -> int:
    """Sum over positions 1..n of the tokens attended: n (n + 1) / 2."""
    return n * (n + 1) // 2


def _causal_window(kind: SlidingWindow, n: int) -> int:
    w = kind.window
    return _causal_full(n) if n <= w else _causal_full(w) + (n - w) * w


def _causal_chunked(kind: ChunkedLocal, n: int) -> int:
    q, r = divmod(n, kind.chunk)
    return q * _causal_full(kind.chunk) + _causal_full(r)


@dataclass(frozen=True)
class _KindCost:
    """How one cache kind costs in a step: attention FLOPs per query head and token, the
    causal sum of attended tokens, and the KV bytes a decode step reads."""

    decode_flops: object  # (kind, spec, n) -> FLOPs of one decode token, per query head
    causal: object  # (kind, n) -> tokens attended summed over positions 1..n
    prefill_dims: object  # (kind, spec) -> k_dim + v_dim per query head in prefill
    reads: object  # (kind, spec, n, fmt, tp) -> KV bytes one sequence's decode step reads


def _full_decode(kind: FullAttention, spec: ModelSpec, n: int) -> int:
    return 2 * (kind.head_dim + kind.v_head_dim) * kind.cached_tokens(n)


def _mla_decode(kind: MLALatent, spec: ModelSpec, n: int) -> int:
    # absorbed: scores against the latent (kv_lora + rope), values summed in the latent (kv_lora)
    return 2 * (2 * kind.kv_lora_rank + kind.qk_rope_head_dim) * n


def _mla_prefill_dims(kind: MLALatent, spec: ModelSpec) -> int:
    m = spec.mla
    if m is None:
        return kind.kv_lora_rank + kind.qk_rope_head_dim
    return m.qk_nope_head_dim + m.qk_rope_head_dim + m.v_head_dim


def _state_decode(kind: StateSpace, spec: ModelSpec, n: int) -> int:
    # a recurrent state update and read-out per token, no attention over the past
    return 0


def _shared(spec: ModelSpec, kind: SharedKV) -> CacheKind:
    return spec.layers[kind.source_layer]


_KIND_COSTS: dict[type, _KindCost] = {
    FullAttention: _KindCost(_full_decode, lambda k, n: _causal_full(n), lambda k, s: k.head_dim + k.v_head_dim,
                             lambda k, s, n, fmt, tp: k.seq_bytes(n, fmt, tp)),
    SlidingWindow: _KindCost(_full_decode, _causal_window, lambda k, s: k.head_dim + k.v_head_dim,
                             lambda k, s, n, fmt, tp: k.seq_bytes(n, fmt, tp)),
    ChunkedLocal: _KindCost(_full_decode, _causal_chunked, lambda k, s: k.head_dim + k.v_head_dim,
                            lambda k, s, n, fmt, tp: k.seq_bytes(n, fmt, tp)),
    MLALatent: _KindCost(_mla_decode, lambda k, n: _causal_full(n), _mla_prefill_dims,
                         lambda k, s, n, fmt, tp: k.seq_bytes(n, fmt, tp)),
    StateSpace: _KindCost(_state_decode, lambda k, n: 0, lambda k, s: 0,
                          lambda k, s, n, fmt, tp: 2 * k.state_bytes(tp)),  # read and written back
    SharedKV: _KindCost(lambda k, s, n: _cost(_shared(s, k)).decode_flops(_shared(s, k), s, n),
                        lambda k, n: 0,  # filled per spec below (needs the source kind)
                        lambda k, s: 0,
                        lambda k, s, n, fmt, tp: _cost(_shared(s, k)).reads(_shared(s, k), s, n, fmt, tp)),
}


_KIND_COSTS[NoCache] = _KindCost(lambda k, s, n: 0, lambda k, n: 0, lambda k, s: 0, lambda k, s, n, fmt, tp: 0)

#: Kinds whose step cost kvplan does not model, with why (refused in one line, never guessed).
_NOT_MODELLED = {
    MLAIndexed: "DeepSeek sparse attention reads every indexer key but only the top-k selected latents, and the "
                "spec does not carry index_topk",
}


def _cost(kind: CacheKind) -> _KindCost:
    for cls in type(kind).__mro__:
        if cls in _NOT_MODELLED:
            raise BadInputError(f"kvplan speed does not model cache kind {kind.kind!r}: {_NOT_MODELLED[cls]}")
        if cls in _KIND_COSTS:
            return _KIND_COSTS[cls]
    raise BadInputError(f"kvplan speed does not model cache kind {kind.kind!r} yet ({kind.describe()})")


def _parts(kinds) -> tuple[tuple[CacheKind, int], ...]:
    """(cache kind, layer count) with two-mixer layers split into their parts (each read and
    attended on its own), every part checked to have a modelled cost."""
    out = []
    for kind, count in kinds:
        for part in kind.parts():
            _cost(part)
            out.append((part, count))
    return tuple(out)


def _causal(kind: CacheKind, spec: ModelSpec, n: int) -> int:
    if isinstance(kind, SharedKV):
        src = _shared(spec, kind)
        return _cost(src).causal(src, n)
    return _cost(kind).causal(kind, n)


def _prefill_dims(kind: CacheKind, spec: ModelSpec) -> int:
    if isinstance(kind, SharedKV):
        src = _shared(spec, kind)
        return _cost(src).prefill_dims(src, spec)
    return _cost(kind).prefill_dims(kind, spec)


# -- the compute path of each weight format -----------------------------------------------
#: Which catalog peak a weight format's matmuls run at, and the fallback when the GPU has
#: no such peak. vLLM runs fp8 checkpoints as W8A8 on fp8 tensor cores (Hopper, Ada,
#: Blackwell, MI300) and weight-only through the FP8 Marlin kernel (BF16 math) on Ampere;
#: GPTQ/AWQ int4 and MXFP4 experts dequantize to BF16 (Marlin / triton kernels); int8 W8A8
#: is taken at the BF16 rate (the catalog has no INT8 figure: an underestimate of speed).
#: "act" stands for the activation dtype's peak: fp16 models (vLLM runs bf16 configs in fp16
#: below compute capability 8.0) at the FP16 tensor rate where the catalog gives one that
#: differs (Turing, Volta), else at the BF16 rate (the same from Ampere on).
COMPUTE_PEAK = {
    "bf16": ("bf16_dense_flops",), "fp16": ("fp16_dense_flops", "bf16_dense_flops"),
    "fp8": ("fp8_dense_flops", "act"), "int8": ("act",), "int4": ("act",), "mxfp4": ("act",),
}


def _peak_fields(fields: tuple[str, ...], model_dtype: str) -> tuple[str, ...]:
    act = COMPUTE_PEAK["fp16" if model_dtype == "fp16" else "bf16"]
    return tuple(f for name in fields for f in (act if name == "act" else (name,)))


def _peak_flops(gpu: GPU, fields: tuple[str, ...], what: str) -> int:
    for name in fields:
        value = getattr(gpu, name, None)
        if value:
            return value
    raise BadInputError(f"{gpu.name}: the GPU catalog has no {fields[-1].replace('_', ' ')} figure; "
                        f"kvplan speed needs it for {what}")


# -- inputs resolved once -----------------------------------------------------------------
@dataclass(frozen=True)
class _Stage:
    index: int
    weight_read_bytes: int  # matrices read once a step (no routed experts, no embedding rows)
    expert_bytes: int  # routed experts held on this rank
    linear_params: int  # parameters in matmuls per token (no routed experts, no embedding)
    expert_params: int  # routed-expert parameters held on this rank
    dense_matrices: int  # weight matrices read every step (per expert copy for shared experts)
    expert_matrices: int  # routed-expert weight matrices held on this rank (2 or 3 per expert and layer)
    kinds: tuple[tuple[CacheKind, int], ...]
    num_layers: int
    num_moe_layers: int
    #: tp all-reduces of the stage's mixers as (values a token, how many): one per row-parallel
    #: output (kvplan.shapes.tp_all_reduces); Llama-3.1-8B ((4096, 32),), Nemotron-H-56B
    #: ((8192, 64),) for its 54 Mamba and 10 attention blocks, Falcon-H1 two a layer
    mixer_reduces: tuple[tuple[int, int], ...] = ()
    mlp_layers: int = 0  # layers with a dense feed-forward block (one tp all-reduce each)
    #: of ``linear_params``, the lm_head's (or the tied embedding's): its logits are computed for
    #: one row a request in the step, the last position of a prompt's chunk, not every token
    #: (vLLM 0.19.1 v1/worker/gpu_model_runner.py line 2047 logits_indices = query_start_loc[1:]
    #: - 1, line 4069 hidden_states[logits_indices]; SGLang 0.5.8 layers/logits_processor.py
    #: lines 426 and 440 last_index, hidden_states[last_index])
    head_params: int = 0
    #: MLA under an engine whose absorbed decode reads a copy of kv_b_proj (Engine.mla_decode_read_bytes,
    #: vLLM's model-dtype W_UK_T / W_UV of a quantized one): the stored kv_b_proj, read only by steps that
    #: compute a prompt (left out of weight_read_bytes), and the copy, read by steps that decode
    prefill_only_bytes: int = 0
    decode_only_bytes: int = 0


@dataclass(frozen=True)
class Setup:
    """Everything a step needs, resolved from a pool once (per deployment)."""

    pool: Pool
    efficiency: Efficiency
    stages: tuple[_Stage, ...]
    hbm_bytes_per_s: int
    linear_flops_per_s: int
    attention_flops_per_s: int
    q_heads_rank: int
    act_bytes: int  # bytes of one activation value (model dtype)
    expert_hit: tuple[int, int] | None  # (k, E): top-k of E experts, or None for dense models
    #: whether tp all-reduces run fused with their RMSNorm (vLLM's fuse_allreduce_rms, SGLang's
    #: --enable-flashinfer-allreduce-fusion), up to which size, and why (the engine release's
    #: rule: Engine.allreduce_rms_fusion)
    allreduce_fusion: AllReduceFusion = AllReduceFusion(False, 0, "not resolved")
    #: bytes/s of each of the pp - 1 hand-offs between pipeline stages (``_handoff_links``)
    handoff_links: tuple[int, ...] = ()

    @property
    def fused_allreduce_max_bytes(self) -> int:
        """tp all-reduces up to this many bytes run fused (0: none)."""
        return self.allreduce_fusion.max_bytes

    @property
    def request(self) -> CapacityRequest:
        return self.pool.request

    @property
    def spec(self) -> ModelSpec:
        return self.pool.request.spec


def setup(pool: Pool, efficiency: Efficiency | None = None, fuse_allreduce_rms: bool | None = None) -> Setup:
    """Resolve the figures a speed estimate needs; one line (BadInputError) for a GPU the
    catalog gives no bandwidth or FLOP/s for, or a link figure a parallel layout needs.

    ``fuse_allreduce_rms``: the engine's FlashInfer all-reduce + RMSNorm fusion on (vLLM
    ``--compilation-config '{"pass_config":{"fuse_allreduce_rms":true}}'``, SGLang
    ``--enable-flashinfer-allreduce-fusion``), off, or None: the engine release's default for
    this model (vLLM: on from 0.17.0 at tp > 1 on Hopper/Blackwell; SGLang: on for some MoE
    architectures from 0.5.1; other engines: off). Each tp all-reduce it fuses (up to the
    release's sizes) costs ``fused_allreduce_saving_us`` less. What the engine release cannot
    do (ask where it has no such option; turn SGLang's default off) is refused (BadInputError)."""
    from kvplan.formats import FORMATS
    from kvplan.layer_sums import stage_terms
    from kvplan.weights import kv_b_proj_bytes

    req = pool.request
    spec, gpu = req.spec, req.gpu
    if getattr(req, "speculative", None) is not None:
        raise BadInputError("kvplan speed does not model speculative decoding (draft steps, acceptance rates); "
                            "time the deployment without it")
    if getattr(req, "eviction", None) is not None:
        raise BadInputError("kvplan speed does not model sink + window eviction; time the deployment without it")
    eff = efficiency or shipped_efficiency(gpu)
    engine = get_engine(req.engine)
    if getattr(engine, "enforce_eager", False):
        # every published step time kvplan's factors were fitted to ran under CUDA graphs
        # (efficiency.yaml); eager decode launches each kernel from Python, a cost not modelled
        raise BadInputError(f"kvplan speed does not model {engine.name} with --enforce-eager (no CUDA graphs: "
                            f"kernel launches the fitted factors never paid); time the deployment with CUDA "
                            f"graphs")
    fusion = engine.allreduce_rms_fusion(gpu, tp=req.tp, pp=req.pp, dp=req.dp, asked=fuse_allreduce_rms,
                                                          spec=spec, nodes=cdiv(req.tp * req.pp, eff.gpus_per_node))
    if not gpu.hbm_bandwidth_bytes_per_s:
        raise BadInputError(f"{gpu.name}: no memory bandwidth figure (the catalog has none, or --gpu-mem alone "
                            f"was given); kvplan speed needs --gpu with a catalog GPU")
    wfmt = pool.weights.format
    if wfmt not in COMPUTE_PEAK:
        raise BadInputError(f"kvplan speed has no compute path for {wfmt} weights (known: "
                            f"{', '.join(COMPUTE_PEAK)}); give --weights bf16 or --dtype bf16")
    if wfmt == "fp8" and not gpu.fp8_dense_flops and (gpu.compute_capability or (0, 0)) >= (8, 9):
        # FP8 tensor cores from compute capability 8.9: the bf16 rate would time them at half speed
        raise BadInputError(f"{gpu.name}: the GPU catalog has no FP8 figure, and this GPU runs fp8 matmuls on its own "
                            f"tensor cores (compute capability 8.9 or later), not at the bf16 rate; kvplan speed "
                            f"cannot time fp8 weights on it")
    linear_peak = _peak_flops(gpu, _peak_fields(COMPUTE_PEAK[wfmt], spec.dtype), f"{wfmt} matmuls")
    attention_peak = _peak_flops(gpu, _peak_fields(("act",), spec.dtype), "attention")
    needs_link = req.tp > 1 or req.pp > 1 or (spec.moe is not None and req.dp > 1)
    if needs_link and (gpu.interconnect is None or not gpu.interconnect.bytes_per_s):
        raise BadInputError(f"{gpu.name}: the catalog gives no GPU-to-GPU link bandwidth; kvplan speed cannot "
                            f"time tp {req.tp} x pp {req.pp} x dp {req.dp} collectives on it")
    terms = stage_terms(spec, req.pp)
    moe = spec.moe
    stages = []
    for st, kinds in zip(pool.weights.stages, terms):
        bp, pc = st.by_part, st.params_by_part
        # The embedding table is not counted (one row a token, hidden_size x bytes: negligible), unless it
        # is also the lm_head, read whole.
        embedding_read = bp["embedding"] if spec.tie_word_embeddings and req.pp == 1 else 0
        embedding_params = pc["embedding"] if spec.tie_word_embeddings and req.pp == 1 else 0
        read = st.bytes - bp["embedding"] - bp["experts"] + embedding_read
        linear = sum(pc.values()) - pc["embedding"] - pc["experts"] - pc["norms"] + embedding_params
        moe_layers = sum(1 for i in st.layers if spec.is_moe_layer(i))  # the ffn layout's, when given
        dense_m, expert_m = _matrix_counts(spec, st.layers, req.moe_parallel, st.stage == len(terms) - 1)
        mixer_reduces, mlp_layers = _reduce_counts(spec, st.layers)
        # the up-projection an MLA decode reads: the engine's copy where it keeps one (the rule capacity
        # counts its memory by, Engine.mla_copy_bytes), else kv_b_proj itself
        copy = engine.mla_decode_read_bytes(spec, pool.weights, st.layers, gpu=gpu)
        stored = kv_b_proj_bytes(spec, st.layers, pool.weights) if copy is not None else 0
        stages.append(_Stage(st.stage, read - stored, bp["experts"], linear, pc["experts"], dense_m, expert_m,
                             _parts(kinds), len(st.layers), moe_layers, mixer_reduces, mlp_layers,
                             pc.get("lm_head", 0) + embedding_params, stored, copy or 0))
    return Setup(
        pool=pool, efficiency=eff, stages=tuple(stages), hbm_bytes_per_s=gpu.hbm_bandwidth_bytes_per_s,
        linear_flops_per_s=linear_peak, attention_flops_per_s=attention_peak,
        q_heads_rank=cdiv(spec.num_attention_heads, req.tp),
        act_bytes=FORMATS[spec.dtype].value_bits // 8,  # the model dtype's bytes (kvplan.formats)
        expert_hit=(moe.experts_per_token, moe.num_experts) if moe is not None else None,
        allreduce_fusion=fusion,
        handoff_links=_stage_links(req, engine, eff) if req.pp > 1 else (),
    )


def _stage_links(req: CapacityRequest, engine, eff: Efficiency) -> tuple[int, ...]:
    """``_handoff_links`` of ``req``'s layout: SGLang's DP attention runs one group of --tp =
    tp x dp ranks a stage (server_args.py _handle_data_parallelism asserts tp_size % dp_size ==
    0); vLLM's DP ranks are replicas."""
    width, replicas = ((req.tp * req.dp, 1) if req.dp_attention > 1 and engine.dp_attention_flag
                       else (req.tp, req.dp))
    return tuple(_handoff_links(width, req.pp, eff.gpus_per_node, req.gpu.interconnect.bytes_per_s,
                                eff.inter_node_bytes_per_s, replicas))


def _reduce_counts(spec: ModelSpec, layers: range) -> tuple[tuple[tuple[int, int], ...], int]:
    """(the mixers' tp all-reduces as (width, count), the dense feed-forward layers) of
    ``layers``, from ``kvplan.shapes.tp_all_reduces``."""
    from collections import Counter

    from kvplan.shapes import tp_all_reduces

    widths: Counter = Counter()
    mlp = 0
    for layer in layers:
        mixer, ffn = tp_all_reduces(spec, layer)
        widths.update(mixer)
        mlp += bool(ffn) and not spec.is_moe_layer(layer)
    return tuple(sorted(widths.items())), mlp


_MATRIX_MEMO: dict[tuple, tuple] = {}


def _matrix_counts(spec: ModelSpec, layers: range, moe, last_stage: bool) -> tuple[int, int]:
    """(weight matrices of ``layers`` read every step, routed-expert matrices held on one
    rank), from ``kvplan.shapes``; the lm_head counts on the last stage. Memoised by the
    spec's identity (as ``kvplan.layer_sums.stage_terms``)."""
    key = (id(spec), layers.start, layers.stop, moe, last_stage)
    hit = _MATRIX_MEMO.get(key)
    if hit is not None and hit[0] is spec:
        return hit[1]
    out = _count_matrices(spec, layers, moe, last_stage)
    if len(_MATRIX_MEMO) > 1024:
        _MATRIX_MEMO.clear()
    _MATRIX_MEMO[key] = (spec, out)
    return out


def _count_matrices(spec: ModelSpec, layers: range, moe, last_stage: bool) -> tuple[int, int]:
    from kvplan.shapes import layer_shapes

    dense = expert = 0
    for layer in layers:
        for p in layer_shapes(spec, layer):
            if not p.is_matrix:
                continue
            if p.part == "experts":
                expert += moe.share(p)[0].count
            else:
                dense += p.count
    if last_stage:
        dense += 1  # lm_head (or the tied embedding read as one)
    return dense, expert


# -- one step ------------------------------------------------------------------------------
@dataclass(frozen=True)
class StepTime:
    """Seconds one step spends on each term (one pass through all stages), and its inputs."""

    weights_s: float
    kv_s: float
    compute_s: float
    comm_s: float
    overhead_s: float
    weight_read_bytes: float  # binding stage, one GPU
    kv_read_bytes: float
    flops: float
    comm_bytes: float

    @property
    def total_s(self) -> float:
        return self.weights_s + self.kv_s + self.compute_s + self.comm_s + self.overhead_s

    @property
    def bound(self) -> str:
        terms = dict(zip(BOUNDS, (self.weights_s, self.kv_s, self.compute_s, self.comm_s, self.overhead_s)))
        return max(BOUNDS, key=lambda b: terms[b])

    def as_dict(self) -> dict:
        return {"weights_s": self.weights_s, "kv_s": self.kv_s, "compute_s": self.compute_s, "comm_s": self.comm_s,
                "overhead_s": self.overhead_s, "total_s": self.total_s, "bound": self.bound,
                "weight_read_bytes": self.weight_read_bytes, "kv_read_bytes": self.kv_read_bytes,
                "flops": self.flops, "comm_bytes": self.comm_bytes}


def expert_hit_fraction(k: int, e: int, tokens: float) -> float:
    """Expected share of ``e`` experts that ``tokens`` tokens, each routed to ``k`` of them
    uniformly, touch: ``1 - (1 - k/e)^tokens`` (0 for no tokens)."""
    if tokens <= 0:
        return 0.0
    return 1.0 - (1.0 - k / e) ** tokens


def _collective_s(s: Setup, group: int, message_bytes: float) -> tuple[float, float]:
    """(seconds, ring bytes per rank) of one all-reduce of ``message_bytes`` over ``group`` ranks."""
    if group <= 1 or message_bytes <= 0:
        return 0.0, 0.0
    ring = 2 * (group - 1) / group * message_bytes
    return _over_group_s(s, group, ring), ring


def _over_group_s(s: Setup, group: int, sent_bytes: float) -> float:
    """Seconds of a collective over ``group`` ranks that moves ``sent_bytes`` per rank: the
    GPU's interconnect (the inter-node link when the group spans nodes) at its efficiency."""
    eff = s.efficiency
    link = s.request.gpu.interconnect.bytes_per_s
    if group > eff.gpus_per_node:
        link = min(link, eff.inter_node_bytes_per_s)
    return eff.collective_latency_s + sent_bytes / (eff.interconnect * link)


def _gather_s(s: Setup, group: int, message_bytes: float) -> tuple[float, float]:
    """(seconds, bytes per rank) of one gather to one rank of ``message_bytes`` whole (each
    rank sends its 1/group: (g - 1) / g of the message crosses the root's link)."""
    if group <= 1 or message_bytes <= 0:
        return 0.0, 0.0
    sent = (group - 1) / group * message_bytes
    return _over_group_s(s, group, sent), sent


def _fused_s(s: Setup, seconds: float, message_bytes: float, fused_max_bytes: int) -> float:
    """``seconds`` of one tp all-reduce, less the fused kernel's saving where the engine fuses
    it with the RMSNorm that follows (messages up to ``fused_max_bytes``; never below 0)."""
    if seconds and message_bytes <= fused_max_bytes:
        return max(0.0, seconds - s.efficiency.fused_allreduce_saving_s)
    return seconds


@dataclass(frozen=True)
class _Load:
    """What one stage processes in a step (per data-parallel rank)."""

    decode_seqs: int  # sequences each adding one token
    ctx: int  # tokens each of them holds
    prefill_tokens: float = 0.0  # prompt tokens processed in the same step
    prefill_start: int = 0  # prompt position the prefill tokens start at (one prompt)
    prefill_prompts: float = 0.0  # prompts whose chunk [start, start + tokens/prompts) runs
    #: tokens the other data-parallel ranks together bring to the MoE layers in the same step
    #: (None: dp - 1 times this rank's, a balanced step). An idle rank runs a dummy pass of one token: vLLM 0.19.1
    #: v1/engine/core.py lines 1718-1723 ("must execute a dummy pass"), v1/worker/gpu_worker.py
    #: lines 889-891 (uniform_decode_query_len tokens, 1); v1/worker/dp_utils.py line 153 pads the
    #: ranks to the largest batch only under CUDA graphs or micro-batching, which a prefill step of
    #: thousands of tokens does not run. DeepSeek-V3 dp 8, a 4k prompt: 4,096 + 7 tokens meet in
    #: the experts, not 8 x 4,096.
    other_ranks_tokens: float | None = None


def _last_has_ffn(spec: ModelSpec) -> bool:
    from kvplan.shapes import tp_all_reduces

    return bool(tp_all_reduces(spec, spec.num_layers - 1)[1])


def _moe_tokens(dp: int, tokens: float, load: _Load) -> float:
    """Tokens that meet in an MoE layer sharded over the dp ranks: this rank's ``tokens`` and
    what the ``dp - 1`` others bring (``_Load.other_ranks_tokens``)."""
    other = (dp - 1) * tokens if load.other_ranks_tokens is None else load.other_ranks_tokens
    return tokens + other


def _stage_time(s: Setup, st: _Stage, load: _Load) -> StepTime:
    req, spec, eff = s.request, s.spec, s.efficiency
    fmt, tp = req.kv_format, req.tp
    tokens = load.decode_seqs + load.prefill_tokens
    # linear layers
    weight_bytes = float(st.weight_read_bytes + (st.decode_only_bytes if load.decode_seqs else 0)
                         + (st.prefill_only_bytes if load.prefill_tokens else 0))
    matrices = float(st.dense_matrices)
    logit_rows = load.decode_seqs + load.prefill_prompts  # one a request in the step
    flops = 2.0 * (st.linear_params - st.head_params) * tokens + 2.0 * st.head_params * logit_rows
    if s.expert_hit is not None and st.expert_bytes:
        k, e = s.expert_hit
        moe_tokens = _moe_tokens(req.dp, tokens, load)  # vLLM: every dp rank's tokens meet in the MoE layers
        hit = expert_hit_fraction(k, e, moe_tokens)
        weight_bytes += st.expert_bytes * hit
        matrices += st.expert_matrices * hit
        flops += 2.0 * st.expert_params * k / e * moe_tokens
    mem_s = weight_bytes / (eff.weights_bandwidth * s.hbm_bytes_per_s) + matrices * eff.matrix_overhead_s
    lin_s = flops / (eff.flops * s.linear_flops_per_s)
    # attention
    kv_bytes, attn_flops = 0.0, 0.0
    per_prompt = load.prefill_tokens / load.prefill_prompts if load.prefill_prompts else 0.0
    for kind, count in st.kinds:
        cost = _cost(kind)
        kv_bytes += count * load.decode_seqs * cost.reads(kind, spec, load.ctx, fmt, tp)
        attn_flops += count * load.decode_seqs * s.q_heads_rank * cost.decode_flops(kind, spec, load.ctx)
        if load.prefill_prompts:
            end = load.prefill_start + per_prompt
            attended = _causal(kind, spec, round(end)) - _causal(kind, spec, load.prefill_start)
            attn_flops += count * load.prefill_prompts * 2 * s.q_heads_rank * _prefill_dims(kind, spec) * attended
            kv_bytes += count * load.prefill_prompts * cost.reads(kind, spec, round(end), fmt, tp)
    kv_s = kv_bytes / (eff.kv_bandwidth * s.hbm_bytes_per_s)
    attn_s = attn_flops / (eff.flops * s.attention_flops_per_s)
    # communication inside the replica: one tp all-reduce per row-parallel output of a layer
    # (kvplan.shapes.tp_all_reduces: Llama two, a Nemotron-H block one, Falcon-H1 three), each
    # fused up to the engine's limit for it (the mixer's as attention, the feed-forward's as the
    # MLP); MoE layers over tp x dp
    fusion = s.allreduce_fusion
    comm_s = comm_b = 0.0
    for width, count in st.mixer_reduces:
        msg = tokens * width * s.act_bytes
        one_s, one_b = _collective_s(s, tp, msg)
        comm_s += count * _fused_s(s, one_s, msg, fusion.max_bytes)
        comm_b += count * one_b
    message = tokens * spec.hidden_size * s.act_bytes
    plain_s, one_b = _collective_s(s, tp, message)  # one tp all-reduce, unfused
    mlp_one_s = _fused_s(s, plain_s, message, fusion.mlp_bytes)
    comm_s += st.mlp_layers * mlp_one_s
    comm_b += st.mlp_layers * one_b
    if st.num_moe_layers:
        # with dp 1 the MoE output is the same tp all-reduce (fused likewise); over dp ranks, not
        moe_one_s, moe_one_b = ((mlp_one_s, one_b) if req.dp == 1 else _collective_s(
            s, tp * req.dp, _moe_tokens(req.dp, tokens, load) * spec.hidden_size * s.act_bytes))
        comm_s += st.num_moe_layers * moe_one_s
        comm_b += st.num_moe_layers * moe_one_b
    if st.index == 0:
        # the embedding lookup on a vocabulary split over tp: each rank holds a slice of the rows
        # and the output is all-reduced once a step (vLLM 0.19.1 vocab_parallel_embedding.py
        # line 483 tensor_model_parallel_all_reduce)
        comm_s += plain_s
        comm_b += one_b
    if st.index == len(s.stages) - 1 and st.head_params and tp > 1:
        # the logits of a vocabulary split over tp are gathered once a step, a row a request
        # (vLLM 0.19.1 logits_processor.py lines 75-87: an all-gather on every platform,
        # platforms/interface.py use_all_gather -> True; each rank sends its slice, as timed here)
        head_s, head_b = _gather_s(s, tp, logit_rows * spec.vocab_size * s.act_bytes)
        comm_s += head_s
        comm_b += head_b
    last = spec.num_layers - 1  # the model's last layer sits in the last stage
    if (not fusion.last_layer_mlp_fused and st.index == len(s.stages) - 1
            and (req.dp == 1 or not spec.is_moe_layer(last)) and _last_has_ffn(spec)):
        comm_s += plain_s - mlp_one_s  # the model's last MLP all-reduce runs unfused
    # the larger of memory and compute is what each part costs; split the bound honestly
    compute_s = max(0.0, lin_s - mem_s) + max(0.0, attn_s - kv_s)
    return StepTime(weights_s=mem_s, kv_s=kv_s, compute_s=compute_s, comm_s=comm_s,
                    overhead_s=st.num_layers * eff.layer_overhead_s,
                    weight_read_bytes=weight_bytes, kv_read_bytes=kv_bytes, flops=flops + attn_flops,
                    comm_bytes=comm_b)


def _handoff_links(tp: int, pp: int, per_node: int, nvlink: int, inter_node: int, dp: int = 1) -> list[int]:
    """Bytes/s of each of the pp - 1 hand-offs between stages of the slowest data-parallel
    replica, ranks placed replica after replica and stage after stage (vLLM's global rank
    (replica x pp + stage) x tp + r): rank r of one stage sends to rank r of the next, over the
    inter-node link where any such pair sits on two nodes (tp 8 pp 2 on 8-GPU nodes: every
    hand-off; tp 2 pp 2: none; tp 3 pp 2 dp 2: replica 0 on ranks 0-5 crosses nowhere, replica
    1 on ranks 6-11 crosses from rank 7 to 10, so its link is the one a user of it sees)."""

    def links(first: int) -> list[int]:
        out = []
        for i in range(1, pp):
            crosses = any((first + (i - 1) * tp + r) // per_node != (first + i * tp + r) // per_node
                          for r in range(tp))
            out.append(min(nvlink, inter_node) if crosses else nvlink)
        return out

    return max((links(k * tp * pp) for k in range(dp)), key=lambda ls: sum(1 / link for link in ls))


def _pass_time(s: Setup, load: _Load) -> StepTime:
    """One pass of ``load`` through every pipeline stage (the slowest stage's figures x pp,
    plus the hand-offs between stages)."""
    times = [_stage_time(s, st, load) for st in s.stages]
    worst = max(times, key=lambda t: t.total_s)
    pp = len(s.stages)
    handoff = 0.0
    if pp > 1:
        tokens = load.decode_seqs + load.prefill_tokens
        eff = s.efficiency
        for link in s.handoff_links:
            handoff += eff.collective_latency_s + tokens * s.spec.hidden_size * s.act_bytes / (eff.interconnect * link)
    return StepTime(
        weights_s=sum(t.weights_s for t in times), kv_s=sum(t.kv_s for t in times),
        compute_s=sum(t.compute_s for t in times), comm_s=sum(t.comm_s for t in times) + handoff,
        overhead_s=sum(t.overhead_s for t in times),
        weight_read_bytes=worst.weight_read_bytes, kv_read_bytes=worst.kv_read_bytes, flops=worst.flops,
        comm_bytes=worst.comm_bytes,
    )


# -- the public estimates ------------------------------------------------------------------
def decode_step(s: Setup, users_per_replica: int, ctx: int, prompt_tokens: int = 0,
                output_tokens: int | None = None) -> StepTime:
    """One decode step of a replica with ``users_per_replica`` sequences of ``ctx`` tokens.

    With ``output_tokens`` and ``prompt_tokens``, the mean step one of them sees while it
    decodes (its TPOT; module docstring): the time-weighted mean of the decode-only step and
    the step that also computes another request's prompt, those being a share
    ``q = (users - 1) / output`` of the steps (when that exceeds 1, every step computes
    that many prompts' tokens). Pipeline stages each work on their own micro-batch of
    ``cdiv(users, pp)`` sequences, and the prompts spread over the micro-batches likewise;
    a token passes every stage.

    The other data-parallel ranks of an MoE model bring their own decode tokens to the shared
    MoE layers, and their own new prompts at their own rate (``r = micro / output`` a step
    each: all their users restart once per ``output`` steps), never this rank's prompt dp
    times (``_Load.other_ranks_tokens``): a share ``1 - (1 - r)^(dp - 1)`` of the steps
    carries at least one of their prompts (and every rank waits for it in the MoE layers), the
    rest their decode tokens alone. Mixed step by step as above, not at the mean token count
    (a prompt every 1,024 steps on 7 other ranks would otherwise read 3 x the experts of an
    8-token DeepSeek-V3 step in every step)."""
    pp = len(s.stages)
    micro = cdiv(users_per_replica, min(pp, users_per_replica))
    others = s.request.dp - 1 if s.expert_hit is not None else 0
    idle, busy, p_busy = float(others * micro), 0.0, 0.0
    if others and output_tokens and prompt_tokens:
        rate = micro / output_tokens  # prompts a step on each other rank
        p_busy = 1.0 if rate >= 1 else 1.0 - (1.0 - rate) ** others
        busy = idle + others * rate / p_busy * prompt_tokens

    def with_others(load: _Load) -> StepTime:
        t = _pass_time(s, replace(load, other_ranks_tokens=idle))
        return _mix(t, _pass_time(s, replace(load, other_ranks_tokens=busy)), p_busy) if p_busy else t

    t = with_others(_Load(micro, ctx))
    if output_tokens and prompt_tokens and users_per_replica > 1:
        prompts = (users_per_replica - 1) * micro / (users_per_replica * output_tokens)
        q = min(1.0, prompts)
        t = _mix(t, with_others(_Load(micro, ctx, prompts / q * prompt_tokens, 0, prompts / q)), q)
    return _with_step_overhead(s, t, micro)


def _with_step_overhead(s: Setup, t: StepTime, decode_seqs: int) -> StepTime:
    """``t`` plus the engine's cost per step outside the model: a fixed part and a part per
    decoding sequence (``sequence_overhead_us``, 0 unless calibrated)."""
    eff = s.efficiency
    return replace(t, overhead_s=t.overhead_s + eff.step_overhead_s + decode_seqs * eff.sequence_overhead_s)


def _mix(a: StepTime, b: StepTime, q: float) -> StepTime:
    """The mean of ``a`` (a share 1 - q of the steps) and ``b`` (a share q), term by term."""
    return StepTime(*((1 - q) * x + q * y for x, y in zip(astuple(a), astuple(b))))


def engine_step_seconds(s: Setup, decode_seqs: int, kv_tokens: int, prefill_tokens: int = 0) -> float:
    """Seconds of one engine step of a replica as a serving simulator sees it (the step-time
    protocol of kvplan.fragment.timing): ``decode_seqs`` sequences each adding one token
    while reading ``kv_tokens`` cached tokens between them, each taken at the mean length
    (exact for full attention and MLA, whose read is linear in the length; a mean-field
    estimate for windows), plus ``prefill_tokens`` prompt tokens as one chunk from position
    0. Pipeline stages work on micro-batches of cdiv(seqs, pp) as in ``decode_step``."""
    if decode_seqs <= 0 and prefill_tokens <= 0:
        return 0.0
    pp = len(s.stages)
    micro = cdiv(decode_seqs, min(pp, decode_seqs)) if decode_seqs else 0
    ctx = round(kv_tokens / decode_seqs) if decode_seqs else 0
    load = _Load(micro, ctx, float(prefill_tokens), 0, 1.0 if prefill_tokens else 0.0)
    return _with_step_overhead(s, _pass_time(s, load), micro).total_s


#: Tokens an idle data-parallel rank runs while another computes a prompt: a dummy pass of
#: one token (vLLM 0.19.1 v1/worker/gpu_worker.py execute_dummy_batch, lines 889-891; see _Load).
#: Its uniform_decode_query_len is 1 + the speculative tokens, but speed refuses speculative
#: decoding (``setup``). Not modelled (review h25-2 Q7): a step under CUDA graphs (a chunk of at
#: most max_cudagraph_capture_size tokens, min(2 x max_num_seqs, 512) by default,
#: config/compilation.py) pads every DP rank to the largest rank's token count
#: (v1/worker/dp_utils.py _post_process_dp_padding), so a short prompt's TTFT is understated
#: by the idle ranks' padded MoE work.
IDLE_RANK_TOKENS = 1


def prefill_time(s: Setup, prompt_tokens: int, prompts: int = 1) -> StepTime:
    """Time to first token of ``prompts`` prompts of ``prompt_tokens`` arriving together on
    an idle replica (the other data-parallel ranks idle: one dummy token each in the MoE
    layers, ``IDLE_RANK_TOKENS``): steps of at most the engine's ``max_num_batched_tokens`` tokens (all
    at once when it has none), whole prompts batched into a step while they fit, a longer
    prompt chunked; steps overlap across pipeline stages."""
    _positive(prompt_tokens, "prompt tokens")
    _positive(prompts, "prompts")
    budget = s.pool.settings.max_num_batched_tokens or prompt_tokens * prompts
    loads = []
    if prompt_tokens <= budget:
        per_step = max(1, budget // prompt_tokens)
        for first in range(0, prompts, per_step):
            n = min(per_step, prompts - first)
            loads.append(_Load(0, 0, float(n * prompt_tokens), 0, float(n),
                               float((s.request.dp - 1) * IDLE_RANK_TOKENS)))
    else:
        for _ in range(prompts):
            for start in range(0, prompt_tokens, budget):
                loads.append(_Load(0, 0, float(min(budget, prompt_tokens - start)), start, 1.0,
                                   float((s.request.dp - 1) * IDLE_RANK_TOKENS)))
    total = None
    for load in loads:
        t = _pass_time(s, load)
        total = t if total is None else _add(total, t)
    steps, pp = len(loads), len(s.stages)
    scale = (steps + pp - 1) / (steps * pp) if pp > 1 else 1.0
    return replace(total, weights_s=total.weights_s * scale, kv_s=total.kv_s * scale,
                   compute_s=total.compute_s * scale, comm_s=total.comm_s * scale,
                   overhead_s=total.overhead_s * scale + steps * s.efficiency.step_overhead_s)


def _add(a: StepTime, b: StepTime) -> StepTime:
    return StepTime(a.weights_s + b.weights_s, a.kv_s + b.kv_s, a.compute_s + b.compute_s, a.comm_s + b.comm_s,
                    a.overhead_s + b.overhead_s, max(a.weight_read_bytes, b.weight_read_bytes),
                    a.kv_read_bytes + b.kv_read_bytes, a.flops + b.flops, a.comm_bytes + b.comm_bytes)


@dataclass(frozen=True)
class SpeedPoint:
    """The speed of ``users`` concurrent requests (the whole deployment) at one context.

    ``fits`` False: the pool cannot hold them all at once (``reason`` says why); the
    times are then None, never computed for a load that cannot run."""

    users: int
    users_per_replica: int
    ctx: int  # tokens each running sequence holds when the step is timed
    fits: bool
    reason: str
    limit: str  # what stops the load ("" when it fits): memory, max_num_seqs, max_model_len, weights
    step: StepTime | None
    ttft: StepTime | None
    num_gpus: int

    @property
    def tpot_s(self) -> float | None:
        return self.step.total_s if self.step else None

    @property
    def ttft_s(self) -> float | None:
        return self.ttft.total_s if self.ttft else None

    @property
    def tokens_per_s_per_user(self) -> float | None:
        return 1.0 / self.tpot_s if self.tpot_s else None

    @property
    def tokens_per_s(self) -> float | None:
        """Output tokens/s of the whole deployment."""
        return self.users / self.tpot_s if self.tpot_s else None

    @property
    def tokens_per_s_per_gpu(self) -> float | None:
        return self.tokens_per_s / self.num_gpus if self.tpot_s else None

    @property
    def bound(self) -> str:
        return self.step.bound if self.step else self.limit

    def as_dict(self) -> dict:
        return {
            "users": self.users, "users_per_replica": self.users_per_replica, "ctx": self.ctx, "fits": self.fits,
            "reason": self.reason, "limit": self.limit, "tpot_ms": _ms(self.tpot_s), "ttft_ms": _ms(self.ttft_s),
            "tokens_per_s_per_user": self.tokens_per_s_per_user, "tokens_per_s": self.tokens_per_s,
            "tokens_per_s_per_gpu": self.tokens_per_s_per_gpu, "bound": self.bound,
            "step": self.step.as_dict() if self.step else None, "ttft": self.ttft.as_dict() if self.ttft else None,
        }


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1e3


def _positive(value, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise BadInputError(f"{what} must be a positive whole number, got {value!r}")
    return value


def estimate(s: Setup, users: int, ctx: int, output_tokens: int | None = None) -> SpeedPoint:
    """Speed of ``users`` concurrent requests with prompts of ``ctx`` tokens: decode timed at
    the mean context (``ctx + output / 2`` with ``output_tokens``, else ``ctx``), memory
    checked at the peak (``ctx + output``) by the pool. Users are spread over the dp
    replicas (``cdiv(users, dp)`` on the busiest)."""
    _positive(users, "users")
    _positive(ctx, "ctx")
    if output_tokens is not None:
        _positive(output_tokens, "output tokens")
    req = s.request
    per_replica = cdiv(users, req.dp)
    peak = ctx + (output_tokens or 0)
    # the prompt's own limit too (Pool.max_prompt_tokens: SGLang aborts one of min(context_len,
    # pool tokens) - 6 or more), so a prompt the engine refuses is neither decoded nor prefilled
    verdict = s.pool.serves(peak, per_replica, prompt_tokens=ctx)
    mean_ctx = ctx + (output_tokens or 0) // 2
    ttft = prefill_time(s, ctx) if s.pool.serves(ctx, 1, prompt_tokens=ctx) else None
    if not verdict:
        return SpeedPoint(users, per_replica, mean_ctx, False, verdict.reason, verdict.bound, None, ttft,
                          req.num_gpus)
    step = decode_step(s, per_replica, mean_ctx, ctx, output_tokens)
    return SpeedPoint(users, per_replica, mean_ctx, True, "", "", step, ttft, req.num_gpus)


#: A longer prompt's extra time to first token in published MoE runs, as a multiple of the extra
#: time kvplan gives it: (least, median, most) over the 14 MoE deployments measured at a ~1k and a
#: ~8k prompt (benchmarks/speed_accuracy.py ``ttft_summary``; docs/speed.md "Time to first token
#: against published runs"). tests/test_speed.py recomputes them from the rows.
MOE_PREFILL_MEASURED = (0.92, 2.52, 5.03)


def ttft_notes(s: Setup) -> tuple[str, ...]:
    """The caveat on an MoE deployment's TTFT: its prompt's expert matmuls are timed at the dense
    factors, which published MoE runs did not reach (``MOE_PREFILL_MEASURED``). None for a
    dense model."""
    if s.expert_hit is None:
        return ()
    least, median, most = MOE_PREFILL_MEASURED
    return (f"TTFT of an MoE model is a floor: its prompt's expert matmuls are timed at the dense factors, and in "
            f"published MoE runs a longer prompt took {least:g} to {most:g} times (median {median:g}) the extra time "
            f"kvplan gives it; a client's TTFT also holds the server's request handling (docs/speed.md, "
            f"'Time to first token')",)


#: Where the published TPOT rows lean one way, by case (``tpot_case``): every TPOT and end-to-end row at
#: 1-32 users of benchmarks/speed_reference.py in the case, out of sample, on GPUs with shipped factors
#: (tests/test_speed.py recomputes them): (rows, rows on the caveat's side, kvplan's error
#: kvplan / published - 1 least, median, most, the models).
#:   fp8_moe: an MoE model with FP8 weights (DeepSeek-R1 on SGLang 0.4.3-0.5.6 and vLLM 0.7.x-0.11.0,
#:     Kimi-K2 on SGLang 0.5.6, MiniMax-M2.5 on vLLM 0.12.0; H200, B200, MI300X): kvplan below the
#:     measured TPOT. The per-layer fixed cost was fitted on dense BF16 layers; an FP8 MoE layer runs
#:     more small kernels a step (docs/speed.md, 'What the errors say').
#:   mxfp4_moe_blackwell: an MoE model with MXFP4 experts on a compute capability 10.x Blackwell GPU, not
#:     12.x, where vLLM runs them through Marlin (0.14.1 quantization/mxfp4.py get_mxfp4_backend: FlashInfer
#:     only for the capability-10 family, triton_kernels below 11.0) (gpt-oss-120b on B200 under
#:     vLLM 0.13.0 and SGLang 0.5.6): kvplan above the measured TPOT (expert reads priced at the HBM
#:     roofline plus a per-matrix cost that FlashInfer's MXFP4 MoE kernel does not pay).
TPOT_MEASURED = {
    "fp8_moe": (53, 47, -0.676, -0.232, 0.339, "DeepSeek-R1, Kimi-K2, MiniMax-M2.5"),
    "mxfp4_moe_blackwell": (42, 42, 0.128, 0.239, 0.436, "gpt-oss-120b"),
}
#: Each case's deployments, and which way kvplan's TPOT leans for them (the caveat's words).
TPOT_LEAN = {
    "fp8_moe": ("FP8 weights", "optimistic", "below"),
    "mxfp4_moe_blackwell": ("MXFP4 experts on Blackwell", "pessimistic", "above"),
}


def tpot_case(s: Setup) -> str | None:
    """Which ``TPOT_MEASURED`` case ``s`` falls in (None: no published lean kvplan knows of)."""
    if s.expert_hit is None:
        return None
    fmt = s.pool.weights.format
    if fmt == "fp8":
        return "fp8_moe"
    cc = s.request.gpu.compute_capability
    if fmt == "mxfp4" and s.request.gpu.vendor == "nvidia" and cc is not None and cc[0] == 10:  # the rows: B200
        return "mxfp4_moe_blackwell"
    return None


#: The factors a caveat's figures depend on: the weight reads and the fixed costs of a decode step (a
#: calibration file that changes none of them, e.g. only kv_bandwidth from a `kvplan measure` report
#: or only interconnect, leaves the published lean as it was).
_STEP_FACTORS = ("weights_bandwidth", "flops", "matrix_overhead_s", "layer_overhead_s", "step_overhead_s",
                 "sequence_overhead_s")


def caveat_case(s: Setup) -> str | None:
    """``tpot_case`` where its caveat applies: None as well where a calibration replaces a factor of
    ``_STEP_FACTORS`` (a `kvplan calibrate` file fitted on the deployment's own runs: the published
    lean is the shipped factors'; a `kvplan measure` report replaces only ``kv_bandwidth``, so it stays)."""
    case = tpot_case(s)
    if case is None:
        return None
    shipped = default_efficiency(s.request.gpu)
    if any(getattr(s.efficiency, f) != getattr(shipped, f) for f in _STEP_FACTORS):
        return None
    return case


def tpot_notes(s: Setup) -> tuple[str, ...]:
    """The caveat on a TPOT the published runs show kvplan to get wrong one way (``TPOT_MEASURED``,
    ``TPOT_LEAN``, by ``caveat_case``): likely optimistic for an FP8 MoE model, likely pessimistic for
    MXFP4 experts on Blackwell. None for other deployments and under a calibration of the step."""
    case = caveat_case(s)
    if case is None:
        return ()
    rows, side, least, median, most, models = TPOT_MEASURED[case]
    what, lean, where = TPOT_LEAN[case]
    return (f"TPOT of an MoE model with {what} is likely {lean}: in {rows} published runs at 1-32 users ({models}) "
            f"kvplan's TPOT was {where} the measured one in {side} ({least:+.0%} to {most:+.0%}, median "
            f"{median:+.0%}; docs/speed.md, 'What the errors say')",)


@dataclass(frozen=True)
class SpeedTable:
    """`kvplan speed`'s answer: one row per (KV format, users)."""

    setups: tuple[Setup, ...]  # one per KV format
    ctx: int
    output_tokens: int | None
    points: tuple[tuple[SpeedPoint, ...], ...]  # [format][users]
    #: a `kvplan calibrate` file's caveats for this load (``calibration_notes``)
    calibration_notes: tuple[str, ...] = ()

    @property
    def warnings(self) -> tuple[str, ...]:
        """The pools' caveats (``Pool.notes``, what `kvplan capacity` prints for the same
        deployment), each once: the KV formats' pools share most of them; then the
        calibration's; then an MoE model's TTFT caveat (``ttft_notes``), where a TTFT is shown, and an
        MoE deployment's TPOT caveat (``tpot_notes``), where a TPOT is."""
        timed = [s for s, pts in zip(self.setups, self.points) if any(p.ttft is not None for p in pts)]
        decoded = [s for s, pts in zip(self.setups, self.points) if any(p.step is not None for p in pts)]
        return tuple(dict.fromkeys([n for s in self.setups for n in s.pool.notes] + list(self.calibration_notes)
                                   + [n for s in timed for n in ttft_notes(s)]
                                   + [n for s in decoded for n in tpot_notes(s)]))

    @property
    def peak(self) -> int:
        """Tokens a request holds at its end: prompt and output."""
        return self.ctx + (self.output_tokens or 0)

    def requests_held(self, s: Setup) -> int:
        """Requests of the peak length ``s``'s deployment (its dp replicas) runs at once; 0 where
        the engine refuses the prompt (``Pool.max_requests`` with the prompt)."""
        return s.request.dp * s.pool.max_requests(self.peak, self.ctx)

    def as_dict(self) -> dict:
        first = self.setups[0]
        req = first.request
        return {
            "warnings": list(self.warnings),
            "model": req.spec.name, "gpu": req.gpu.name, "engine": first.pool.engine, "tp": req.tp, "pp": req.pp,
            "dp": req.dp, "enable_expert_parallel": req.enable_expert_parallel, "num_gpus": req.num_gpus,
            "weights_format": first.pool.weights.format, "ctx": self.ctx, "output_tokens": self.output_tokens,
            "fuse_allreduce_rms": {"on": first.allreduce_fusion.on, "source": first.allreduce_fusion.source},
            "fused_allreduce_max_bytes": first.fused_allreduce_max_bytes,
            "fused_allreduce_mlp_max_bytes": first.allreduce_fusion.mlp_bytes,
            "efficiency": first.efficiency.as_dict(),
            "formats": [
                {"kv_dtype": s.request.kv_format.name, "efficiency": s.efficiency.as_dict(),
                 "max_requests_at_peak": s.pool.max_requests(self.peak, self.ctx),
                 "deployment_max_requests_at_peak": self.requests_held(s),
                 "starts": s.pool.planned().ok, "verdict": s.pool.verdict().reason,
                 "points": [p.as_dict() for p in pts]}
                for s, pts in zip(self.setups, self.points)
            ],
        }


def speed_table(req: CapacityRequest, users: list[int], ctx: int, kv_formats=None, output_tokens: int | None = None,
                efficiency: Efficiency | None = None, fuse_allreduce_rms: bool | None = None,
                calibration=None) -> SpeedTable:
    """Estimates for every users count and KV format (default: the request's), one pool each
    (``fuse_allreduce_rms``: as ``setup``). ``calibration``: a file for ``load_calibration``,
    read for each KV format with that format's name (a measure report's kv_bandwidth is the
    format's own: bf16 4,131 GB/s, fp8 2,418 GB/s in docs/measurements/h200-measure.json),
    in place of ``efficiency``. A load the engine refuses at the pool's max_model_len whatever the
    memory (``Pool.refusal``: a prompt of max_model_len under vLLM, a request past SGLang's
    context_len - 2) is a BadInputError; one its pool refuses (SGLang's cap by the pool's tokens)
    is a point that does not fit."""
    from kvplan.capacity import plan

    if not users:
        raise BadInputError("give at least one users count (--users 1,8,32)")
    requests = [req] if not kv_formats else [req.replace(kv_format=f) for f in kv_formats]

    def eff(r: CapacityRequest) -> Efficiency | None:
        return load_calibration(calibration, r.gpu, r.kv_format.name) if calibration is not None else efficiency

    setups = tuple(setup(plan(r), eff(r), fuse_allreduce_rms) for r in requests)
    for s in setups:  # a load the engine refuses at its max_model_len, whatever the memory: `kvplan recommend`'s check
        why = s.pool.refusal(ctx, output_tokens or 0)
        if why:
            raise BadInputError(f"KV {s.request.kv_format.name}: {why}" if len(setups) > 1 else why)
    points = tuple(tuple(estimate(s, u, ctx, output_tokens) for u in users) for s in setups)
    if calibration is not None:
        from kvplan.calibrate import fitted_on

        notes = calibration_notes(calibration, fitted_on(calibration), setups, ctx, output_tokens)
    else:
        notes = ()
    return SpeedTable(setups, ctx, output_tokens, points, notes)


def calibration_notes(path, where: dict | None, setups, ctx: int, output_tokens: int | None) -> tuple[str, ...]:
    """The caveats of a `kvplan calibrate` file at ``path`` (``where``: its fitted_on, read once
    by the caller: ``kvplan.calibrate.fitted_on``) for ``setups`` and the load
    (``kvplan.calibrate.calibration_notes``: another deployment, lengths outside its runs), and
    where its fitted flops moved TTFT: only TPOT was fitted. None for other calibration files."""
    from kvplan.calibrate import calibration_notes as notes

    out = []
    for s in setups:
        out += notes(path, where, s.pool, s.allreduce_fusion.on, ctx, output_tokens)
        shipped = default_efficiency(s.request.gpu).flops
        if where and abs(s.efficiency.flops / shipped - 1) > 0.10:
            out.append(f"calibration {Path(path).name} sets flops {s.efficiency.flops:.3g} (shipped {shipped:.3g}) "
                       f"from TPOT runs alone, and TTFT follows it: no first token was measured for it")
    return tuple(dict.fromkeys(out))


def tpot_curve(s: Setup, users: int, contexts: list[int]) -> list[tuple[int, float | None]]:
    """(context, TPOT seconds or None where the pool cannot hold ``users`` of that length)."""
    return [(n, estimate(s, users, n).tpot_s) for n in contexts]


# -- plot ------------------------------------------------------------------------------------
def plot_speed(table: SpeedTable, path, users: list[int]) -> None:
    """Two panels: deployment output tokens/s against concurrent users, and TPOT against
    context at the largest users count the pool holds; the pool's limits drawn as dashed
    lines (requests of the peak length; the longest context those users can each have).
    matplotlib is imported here only (the `plot` extra)."""
    from kvplan.outputs import atomic_write
    from kvplan.plots import _matplotlib, plot_type

    Figure, FigureCanvasAgg = _matplotlib()
    fig = Figure(figsize=(11, 4.4))
    ax_users, ax_ctx = fig.subplots(1, 2)
    peak = table.peak
    first = table.setups[0]
    req = first.request
    top = max(users)
    for s, points in zip(table.setups, table.points):
        name = s.request.kv_format.name
        cap = table.requests_held(s)
        grid = sorted({u for u in users} | {2 ** i for i in range(0, 20) if 2 ** i <= max(top, cap)} | {cap} - {0})
        xs, ys = [], []
        for u in grid:
            p = estimate(s, u, table.ctx, table.output_tokens)
            if p.fits:
                xs.append(u)
                ys.append(p.tokens_per_s)
        line = ax_users.plot(xs, ys, marker="o", markersize=3, label=f"KV {name}")[0]
        if cap:
            ax_users.axvline(cap, color=line.get_color(), linestyle="--", linewidth=1)
            ax_users.annotate(f"pool holds {cap:,}", xy=(cap, 0.03), xycoords=("data", "axes fraction"),
                              xytext=(-10, 0), textcoords="offset points", fontsize=7, color=line.get_color(),
                              rotation=90, va="bottom")
        fitting = [p.users for p in points if p.fits]
        u = max(fitting) if fitting else 1
        per_replica = cdiv(u, s.request.dp)
        longest = s.pool.longest_context(per_replica)
        hi = max(longest, peak, 256)
        contexts = sorted({2 ** i for i in range(8, 24) if 2 ** i <= hi} | {table.ctx, longest} - {0})
        curve = [(n, t) for n, t in tpot_curve(s, u, contexts) if t is not None]
        cx, cy = [n for n, _ in curve], [t * 1e3 for _, t in curve]
        line = ax_ctx.plot(cx, cy, marker="o", markersize=3, label=f"KV {name}, {u} user{'' if u == 1 else 's'}")[0]
        if longest:
            ax_ctx.axvline(longest, color=line.get_color(), linestyle="--", linewidth=1)
    if not any(line.get_xdata().size for line in ax_users.get_lines()):
        # no users count fits the pool (each row says why): say so instead of an empty axis
        ax_users.text(0.5, 0.5, f"no users count runs requests of\n{peak:,} tokens here (the table says why)",
                      transform=ax_users.transAxes, ha="center", va="center", fontsize=9)
    ax_users.set_xscale("log", base=2)
    ax_users.set_xlabel("concurrent users")
    ax_users.set_ylabel("output tokens/s (deployment)")
    ax_users.set_title(f"prompts of {table.ctx:,} tokens" + (f", {table.output_tokens:,} out"
                                                             if table.output_tokens else ""), fontsize=9)
    ax_ctx.set_xscale("log", base=2)
    ax_ctx.set_xlabel("context tokens per sequence")
    ax_ctx.set_ylabel("TPOT ms")
    ax_ctx.set_title("decode step TPOT against context (dashed: the longest the pool holds)", fontsize=9)
    for ax in (ax_users, ax_ctx):
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle(f"{req.spec.display_name} on {req.num_gpus} x {req.gpu.name} (tp {req.tp}, pp {req.pp}, "
                 f"dp {req.dp}), weights {first.pool.weights.format}", fontsize=10)
    fig.tight_layout()
    kind = plot_type(path)

    def write(tmp: str) -> None:
        FigureCanvasAgg(fig)
        fig.savefig(tmp, format=kind, dpi=110)

    atomic_write(path, write, "--plot file")
