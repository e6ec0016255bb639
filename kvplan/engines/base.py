"""What every engine shares: releases, release rules, resolved settings, the waterfall.

An engine is one frozen class (``kvplan.engines.vllm.VLLM``, ...) bound to one release.
Everything that changes from release to release is a row of a rule table::

    Rule("sampler_top_k_top_p", "0.17.0", None, "triton",
         "vllm/v1/sample/ops/topk_topp_sampler.py: apply_top_k_top_p")

(name, first release, last release or None for "still true in the newest modelled
release", value, the engine source it was read from). ``RuleBook.value(name, release)``
returns the one row that covers the release; a release outside the modelled list is
refused, never answered with another release's rules.

The interface the capacity planner calls is two methods:

    settings(gpu, tp=, pp=, memory_fraction=, block_size=, max_num_batched_tokens=,
             max_num_seqs=) -> EngineSettings      every default filled in, release named
    carve(spec, gpu, weights, settings) -> list[StageBudget]
                                                   one memory waterfall per pipeline stage

plus ``check_kv_format(fmt)`` (raises when the engine cannot store that format).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property, lru_cache
from typing import Any

from kvplan.errors import BadInputError, SpecError, UnknownNameError

GIB = 1 << 30


def gib(text: str) -> int:
    """Exact bytes of a decimal GiB figure from a log: ``gib('2.07')``."""
    return int(Fraction(text) * GIB)


# -- releases ----------------------------------------------------------------------------------
_RELEASE = re.compile(r"v?(\d+)\.(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:\.?post(\d+))?")


@dataclass(frozen=True, order=True)
class Release:
    """A published release, ordered as the project orders them (0.8.5 < 0.8.5.post1 < 0.9.0)."""

    key: tuple[int, ...]
    text: str

    @classmethod
    def parse(cls, text: str) -> Release:
        m = _RELEASE.fullmatch(str(text).strip())
        if not m:
            raise BadInputError(f"cannot read a release from {text!r} (e.g. 0.11.0)")
        a, b, c, d, post = m.groups()
        key = (int(a), int(b), int(c or 0), int(d or 0), int(post) if post is not None else -1)
        return cls(key, str(text).strip().lstrip("v"))

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class Rule:
    """One release rule: holds for releases first..last (inclusive; last None = newest)."""

    name: str
    first: str
    last: str | None
    value: Any
    source: str  # engine source file + function/line (or the logs a figure was read from)

    @cached_property
    def bounds(self) -> tuple[Release, Release | None]:
        """``first`` and ``last`` parsed, once (RuleBook.rule asks covers thousands of times a plan)."""
        return Release.parse(self.first), None if self.last is None else Release.parse(self.last)

    def covers(self, release: Release) -> bool:
        first, last = self.bounds
        if release < first:
            return False
        return last is None or release <= last


class RuleBook:
    """The rule table of one engine over the releases it models."""

    def __init__(self, engine: str, releases: tuple[str, ...], rules: tuple[Rule, ...]):
        self.engine = engine
        self.releases = tuple(sorted((Release.parse(r) for r in releases)))
        self.rules = rules
        self.names = tuple(dict.fromkeys(r.name for r in rules))
        # rows by name, and each (name, release) answer once: a plan asks thousands of rules, and a
        # linear scan of every row, parsing its bounds, dominated `kvplan recommend`
        # (benchmarks/recommend_speed.py)
        self._rows: dict[str, list[Rule]] = {}
        for r in rules:
            self._rows.setdefault(r.name, []).append(r)
        self._answers: dict[tuple[str, Release], Rule] = {}

    @property
    def newest(self) -> Release:
        return self.releases[-1]

    def resolve(self, text: str | None) -> Release:
        """The modelled release ``text`` names (None: the newest); anything else is refused."""
        if text is None:
            return self.newest
        rel = Release.parse(text)
        for known in self.releases:
            if known.key == rel.key:
                return known
        raise BadInputError(
            f"{self.engine} {text} is not a release kvplan models; modelled: {self.modelled_text()}"
        )

    def modelled_text(self) -> str:
        """``0.8.0-0.19.1 (27 releases)``-style summary for messages."""
        return f"{self.releases[0]} to {self.newest} ({', '.join(map(str, self.releases))})"

    def rule(self, name: str, release: Release) -> Rule:
        answer = self._answers.get((name, release))
        if answer is not None:
            return answer
        hits = [r for r in self._rows.get(name, ()) if r.covers(release)]
        if len(hits) != 1:
            # a table defect, caught by tests/test_engines.py for every modelled release
            raise SpecError(f"{self.engine} rule {name!r}: {len(hits)} rows cover release {release}")
        self._answers[(name, release)] = hits[0]
        return hits[0]

    def value(self, name: str, release: Release):
        return self.rule(name, release).value

    def table(self, release: Release) -> dict[str, Rule]:
        """Every rule in force at ``release``."""
        return {name: self.rule(name, release) for name in self.names}


# How each quant_method spells its request for an FP8 KV cache (kvplan.hf.dtypes.kv_cache_quant_algo),
# for check_auto_kv's refusal.
_KV_QUANT_ASKED = {
    "modelopt": "ModelOpt kv_cache_quant_algo / kv_cache_scheme",
    "fp8": "quant_method fp8 with kv_cache_quant_algo FP8",
    "compressed-tensors": "compressed-tensors static per-tensor fp8 kv_cache_scheme",
    "compressed-tensors-other": "compressed-tensors kv_cache_scheme",
}


# -- what engines return -------------------------------------------------------------------------
@dataclass(frozen=True)
class EngineSettings:
    """Resolved engine settings (every default filled in) and the release whose rules apply."""

    engine: str
    memory_fraction: Fraction  # gpu_memory_utilization / mem_fraction_static / free fraction
    memory_fraction_name: str
    block_size: int
    max_num_batched_tokens: int | None
    max_num_seqs: int | None
    tp: int = 1
    pp: int = 1
    release: str = ""  # "" for engines without releases (raw)
    #: ranks of one DP-attention group (kvplan.capacity.CapacityRequest.dp_attention: dp for a
    #: mixture-of-experts model, each rank its own attention and KV pool); 1: none
    dp_attention: int = 1
    #: the max_model_len the model is built with (vLLM's model_config.max_model_len at load: as
    #: given, else the model's own; auto-fit shortens it only after profiling); None: the
    #: model's own. Sizes the rotary table of some models (kvplan.engines.vllm.rope_cache_bytes).
    max_model_len: int | None = None


@dataclass(frozen=True)
class StageBudget:
    """One pipeline stage on one tensor-parallel rank: the memory waterfall (bytes)."""

    stage: int
    layers: range
    total_bytes: int
    engine_share_bytes: int  # what the engine lets itself use
    weights_bytes: int
    activation_bytes: int
    other_bytes: int  # non-torch / context / communication buffers
    kv_pool_bytes: int  # may be negative: does not fit
    #: GPU buffers the engine keeps outside every term above and outside the engine's share (vLLM Model
    #: Runner V2's persistent state, allocated before the profile: kvplan.engines.vllm
    #: VLLM.v2_persistent_bytes): they do not shrink the pool, but need memory beside a given KV cache
    #: (kvplan.capacity Pool.overcommitted_stage); 0 for every other engine and runner
    persistent_bytes: int = 0

    def as_dict(self) -> dict:
        return {
            "stage": self.stage,
            "layers": [self.layers.start, self.layers.stop - 1],
            "total_bytes": self.total_bytes,
            "engine_share_bytes": self.engine_share_bytes,
            "weights_bytes": self.weights_bytes,
            "activation_bytes": self.activation_bytes,
            "other_bytes": self.other_bytes,
            "kv_pool_bytes": self.kv_pool_bytes,
            "persistent_bytes": self.persistent_bytes,
        }

    def with_more_weights(self, extra_bytes: int) -> "StageBudget":
        """This stage with ``extra_bytes`` more held as weights, taken from the KV pool."""
        return dataclasses.replace(self, weights_bytes=self.weights_bytes + extra_bytes,
                                   kv_pool_bytes=self.kv_pool_bytes - extra_bytes)


@dataclass(frozen=True)
class AllReduceFusion:
    """Whether the engine runs each tensor-parallel all-reduce fused with the RMSNorm after it
    (vLLM's ``pass_config.fuse_allreduce_rms``), up to which size, and why (for outputs)."""

    on: bool  # the pass runs (asked for, or the release's default)
    max_bytes: int  # all-reduces of up to this many bytes run fused (0: none, e.g. no size for this GPU/tp)
    source: str
    #: the all-reduce after the MLP / MoE block, where its limit differs (SGLang fuses it with the
    #: next layer's input norm under its own token cap; 0: never); None: max_bytes as well
    mlp_max_bytes: int | None = None
    #: whether the model's last layer's MLP all-reduce is fused too (vLLM: with the final norm;
    #: SGLang: no, LayerCommunicator.is_last_layer leaves it to postprocess_layer)
    last_layer_mlp_fused: bool = True

    @property
    def mlp_bytes(self) -> int:
        """The largest MLP-output all-reduce that runs fused."""
        return self.max_bytes if self.mlp_max_bytes is None else self.mlp_max_bytes

    def as_dict(self) -> dict:
        return {"on": self.on, "max_bytes": self.max_bytes, "mlp_max_bytes": self.mlp_bytes,
                "last_layer_mlp_fused": self.last_layer_mlp_fused, "source": self.source}


@dataclass(frozen=True)
class RequestCap:
    """How many tokens (prompt and output together) one request may run to under an engine,
    whatever the memory: ``max_model_len - short``, and, where the engine caps a request by its
    pool's tokens instead of refusing to start (``by_pool``), ``pool tokens - short`` too; the
    engine refuses to start when min(max_model_len, pool tokens) is under ``start_min``.
    ``source`` says where the rule is read. The default (vLLM, TensorRT-LLM, raw) is a request
    of max_model_len; whether the engine starts is ``kvplan.capacity.Pool.startup`` (vLLM's
    start-up check, by release: all KV-cache groups, or the first only in 0.14.0-0.18.1)."""

    short: int = 0
    by_pool: bool = False
    start_min: int = 0
    source: str = ""
    start_why: str = ""  # the refusal below start_min, with its source
    #: a prompt must leave this many tokens of max_model_len: 1 by default (every request makes at
    #: least one output token; vLLM 0.11.1+ refuses a prompt of max_model_len outright,
    #: v1/engine/processor.py 0.11.1 :601-616, input_processor.py 0.12.0 :628, 0.19.1 :373-381 'plus the
    #: number of requested output tokens (at least 1)'; 0.8.0-0.11.0's OpenAI server asks max_tokens
    #: max_model_len - prompt = 0, entrypoints/utils.py get_max_tokens, which sampling_params.py
    #: _verify_args refuses, 0.10.2 :399-401);
    #: SGLang 7 (a prompt of max_req_input_len = max_req_len - 5 = min(context_len, pool tokens) - 6
    #: or more is aborted, ``by_pool`` applying to the prompt as to the whole request)
    prompt_short: int = 1
    prompt_source: str = ("every request makes at least one output token; vLLM 0.11.1+ "
                          "v1/engine/input_processor.py refuses a prompt of max_model_len, and earlier "
                          "releases' OpenAI server asks max_tokens 0 for it, which SamplingParams refuses")
    #: where the pool caps a request (``by_pool``), whether it does at pool tokens - page - 1
    #: (SGLang 0.5.23's allocator: a prompt rounded up to whole pages plus one page, and one token
    #: more) rather than pool tokens - ``short``; with pages of one token both are pool - 2
    pool_page_short: bool = False

    def _limit(self, max_model_len: int, pool_tokens: int | None) -> int:
        """What a request's length is measured against: max_model_len, or where the engine caps a
        request by its pool (``by_pool``) and ``pool_tokens`` is given, the shorter of the two."""
        return min(max_model_len, pool_tokens) if pool_tokens is not None and self.by_pool else max_model_len

    def _where(self, max_model_len: int, pool_tokens: int | None) -> tuple[str, str]:
        """(the rule's left-hand side, where) for messages: ("min(max_model_len, pool tokens)",
        " with a pool of N tokens") where the pool binds, else ("max_model_len", "")."""
        if self._limit(max_model_len, pool_tokens) < max_model_len:
            return "min(max_model_len, pool tokens)", f" with a pool of {pool_tokens:,} tokens"
        return "max_model_len", ""

    def tokens(self, max_model_len: int, pool_tokens: int | None = None, page: int = 1,
               prompt_tokens: int | None = None) -> int:
        """The longest request at ``max_model_len`` in a pool of ``pool_tokens`` (None: the
        setting alone) paged by ``page`` tokens. Where the pool caps it at pool - page - 1
        (``pool_page_short``), a prompt of ``prompt_tokens`` also loses its rounding up to whole
        pages (SGLang 0.5.23 mem_cache/allocator/base.py max_new_tokens_for_memory, lines 88-105:
        pool - ceil(prompt / page) x page - page - 1 new tokens; pages of 64, a prompt of 1,000:
        24 tokens fewer); without the prompt, the best case (a prompt of whole pages)."""
        if pool_tokens is not None and self.by_pool:
            waste = -prompt_tokens % page if prompt_tokens is not None else 0
            by_pool = pool_tokens - page - 1 - waste if self.pool_page_short else pool_tokens - self.short
            return max(0, min(max_model_len - self.short, by_pool))
        return max(0, max_model_len - self.short)

    def prompt_tokens(self, max_model_len: int, pool_tokens: int | None = None) -> int:
        """The longest prompt the engine accepts at ``max_model_len`` in a pool of ``pool_tokens``
        (None: the setting alone): ``max_model_len - prompt_short``, and where the engine caps a
        request by its pool (``by_pool``), ``min(max_model_len, pool tokens) - prompt_short``.
        vLLM: 4,095 at 4,096. SGLang (every modelled release, 0.4.6 to 0.5.8 and 0.5.23): tp_worker.py
        max_req_len = min(context_len - 1, pool tokens - 1) (0.5.8 line 286: max_token_pool_size),
        max_req_input_len = max_req_len - 5 (line 290), and managers/utils.py validate_input_length
        aborts len(prompt) >= max_req_input_len: at most min(context_len, pool tokens) - 7, 4,089
        at 4,096, 30,859 in a pool of 30,866 tokens at 131,072."""
        return max(0, self._limit(max_model_len, pool_tokens) - self.prompt_short)

    def request_refusal(self, engine: str, model: str, prompt_tokens: int, output_tokens: int, max_model_len: int,
                        pool_tokens: int | None = None, page: int = 1) -> str:
        """Why the engine does not run ``prompt_tokens`` in + ``output_tokens`` out to the end
        (longer than ``tokens``), one line; "" when it does."""
        total, most = prompt_tokens + output_tokens, self.tokens(max_model_len, pool_tokens, page, prompt_tokens)
        if total <= most:
            return ""
        if pool_tokens is not None and self.pool_page_short and most < self.tokens(max_model_len):
            where = f" with a pool of {pool_tokens:,} tokens in pages of {page:,}"
            cut = (f" ({engine} runs one to pool tokens - page - 1, less the prompt's {-prompt_tokens % page:,} "
                   f"tokens of rounding to whole pages: {self.source})")
        else:
            lhs, where = self._where(max_model_len, pool_tokens)
            cut = f" ({engine} runs one to {lhs} - {self.short}: {self.source})" if self.short or where else ""
        return (f"{model} takes at most {most:,} tokens a request at max_model_len {max_model_len:,}{where}{cut}, "
                f"but {prompt_tokens:,} in + {output_tokens:,} out = {total:,} were asked")

    def prompt_refusal(self, engine: str, prompt_tokens: int, max_model_len: int,
                       pool_tokens: int | None = None) -> str:
        """Why the engine refuses a prompt of ``prompt_tokens`` tokens (more than the method
        ``prompt_tokens`` allows), one line; "" when it accepts it."""
        most = self.prompt_tokens(max_model_len, pool_tokens)
        if prompt_tokens <= most:
            return ""
        lhs, where = self._where(max_model_len, pool_tokens)
        return (f"{engine} accepts a prompt of at most {lhs} - {self.prompt_short} = {most:,} tokens at "
                f"max_model_len {max_model_len:,}{where} ({self.prompt_source}), but --ctx is {prompt_tokens:,}")

    def refusal(self, engine: str, model: str, prompt_tokens: int, output_tokens: int, max_model_len: int,
                pool_tokens: int | None = None, page: int = 1) -> str:
        """The one check of a load against the engine's limits (`kvplan recommend` and `kvplan
        speed` ask it): "" when the engine runs a request of ``prompt_tokens`` in +
        ``output_tokens`` out at ``max_model_len`` (in a pool of ``pool_tokens``; None: the setting
        alone), else why not in one line: the whole request first, then the prompt."""
        return (self.request_refusal(engine, model, prompt_tokens, output_tokens, max_model_len, pool_tokens, page)
                or self.prompt_refusal(engine, prompt_tokens, max_model_len, pool_tokens))

    def pool_binds(self, max_model_len: int, pool_tokens: int, page: int = 1) -> bool:
        """Whether the pool, not max_model_len, sets ``tokens`` (``by_pool`` engines)."""
        return self.by_pool and self.tokens(max_model_len, pool_tokens, page) < self.tokens(max_model_len)

    def max_model_len_for(self, num_tokens: int, prompt_tokens: int = 0) -> int:
        """The smallest max_model_len whose requests run to ``num_tokens`` (prompt and output)
        and accept a prompt of ``prompt_tokens``, the pool aside: the inverse of ``tokens`` and
        ``prompt_short``. SGLang: 4,096 + 2 = 4,098 for a request of 4,096 (managers/tp_worker.py
        max_req_len = context_len - 1, a request stopping at max_req_len - 1), and 4,096 + 7 =
        4,103 for a prompt of 4,096; vLLM: 4,096, and 4,097 for a prompt of 4,096."""
        return max(num_tokens + self.short, prompt_tokens + self.prompt_short)


# -- argument checks shared by the engines ------------------------------------------------------
def fraction(value, what: str, default) -> Fraction:
    if value is None:
        value = default
    if isinstance(value, bool):
        raise BadInputError(f"{what} must be a number in (0, 1], got {value!r}")
    try:
        frac = Fraction(str(value))
    except (ValueError, ZeroDivisionError):
        raise BadInputError(f"{what} must be a number in (0, 1], got {value!r}") from None
    if not 0 < frac <= 1:
        raise BadInputError(f"{what} must be in (0, 1], got {value}; e.g. 0.9")
    return frac


def positive(value, what: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise BadInputError(f"{what} must be a positive whole number, got {value!r}")
    return value


def fp8_expert_shard_misfit(spec, weights) -> tuple[int, int, int] | None:
    """(shard, block_n, block_k) where block-fp8 experts' tensor-parallel shard of the expert intermediate
    size is not a multiple of the checkpoint's block (block_n; block_k too at a moe_tp above 1), the
    test vLLM's and SGLang's Fp8MoEMethod.create_weights make (VLLM / SGLang.check_fp8_block_experts);
    None where it divides or the experts are not block-fp8."""
    if (spec.moe is None or weights is None or weights.format != "fp8" or spec.weights_block is None
            or len(spec.weights_block) != 2):
        return None
    block_n, block_k = spec.weights_block
    shard = spec.moe.expert_intermediate_size // max(1, weights.moe_tp)
    if shard % block_n or (weights.moe_tp > 1 and shard % block_k):
        return shard, block_n, block_k
    return None


@dataclass(frozen=True)
class LinearShardMisfit:
    """A dense block-fp8 linear layer whose tensor-parallel shard the checkpoint's block does not
    divide (``fp8_linear_shard_misfit``): ``tensor`` (layers.N.name), ``size`` per rank of its
    ``side`` ("input": a row-parallel layer's columns, against block_k; "output": a logical output
    of a column-parallel layer, against block_n), the ``block`` it misses and the split ``degree``."""

    tensor: str
    side: str
    size: int
    block: int
    degree: int

    @property
    def value_error(self) -> str:
        """The ValueError text both engines raise for it (the same words in every release read)."""
        what, block = (("input_size_per_partition", "block_k") if self.side == "input"
                       else ("output_partition_size", "block_n"))
        return f"Weight {what} = {self.size} is not divisible by weight quantization {block} = {self.block}"


def fp8_linear_shard_misfit(spec, weights, *, splits: tuple = (), group: int | None = None,
                            merged: bool = True, gdn: str | None = None) -> LinearShardMisfit | None:
    """The first dense linear layer of a block-fp8 checkpoint served as stored (``weights.format``
    fp8, ``spec.weights_block`` [block_n, block_k]) whose tensor-parallel shard the blocks do not
    divide, as vLLM's and SGLang's Fp8LinearMethod.create_weights test it (VLLM / SGLang
    .check_fp8_block_linears cite the lines): a row-parallel layer's input columns a rank
    (o_proj, down_proj) against block_k, each logical output a rank of a column-parallel layer
    (MLA q_b_proj / kv_b_proj, or, with ``merged``, the q / k / v of a QKV layer and the gate and
    up halves of gate_up_proj) against block_n, both only where the layer is split (degree > 1).
    The degree is ``weights.tp`` or the engine's ``splits`` row for the tensor (kvplan.weights:
    SGLang's DP attention splits the dense MLP over tp x dp); with ``group`` (SGLang before
    0.5.22: the whole --tp group) a single (not merged) layer is tested only where its degree is
    that group. Attention and MLP parts only (dense MLP and shared experts; routed experts:
    ``fp8_expert_shard_misfit``); a part the checkpoint keeps unquantized is not tested. None
    where every shard divides. DeepSeek-V3 at tp 32: layers.0.mlp.down_proj, 18,432 / 32 = 576
    input columns against 128.

    With ``gdn`` (vLLM's Qwen3NextForCausalLM, rule ``gdn_projection_layers``) the Gated DeltaNet
    projections are tested too, built as that rule says (``GDN_LAYERS``), each layer where the
    checkpoint quantizes it (read per module, as vLLM's Fp8Config does): Qwen3-Next-80B-A3B-Instruct-FP8 at tp 8 with expert parallelism, the shared expert's
    down_proj holds 512 / 8 = 64 input columns against 128. conv1d is built without a quant
    method (never tested). Which tensors are quantized is the weights' own rule
    (kvplan.weights.Storage.quantizes: the exclusion list read per module, kvplan.unquantized), for
    every model; the state-space projections are tested only with ``gdn``."""
    from kvplan.shapes import COLUMN, KV_HEADS, ROW, layer_shapes
    from kvplan.weights import weight_storage

    if weights is None or weights.format != "fp8" or spec.weights_block is None or len(spec.weights_block) != 2:
        return None
    block_n, block_k = spec.weights_block
    st = weight_storage(spec, weights.format)
    tested = ("attention", "mlp", "state_space") if gdn is not None else ("attention", "mlp")
    merged_gdn, halved_gdn = GDN_LAYERS[gdn] if gdn is not None else ((), ())
    for layer in range(spec.num_layers):
        params = layer_shapes(spec, layer)
        kept = st.layer_kept(layer)
        qkv = any(p.name == "k_proj.weight" for p in params)  # plain attention: one QKVParallelLinear
        for p in params:
            if not p.is_matrix or p.split not in (COLUMN, KV_HEADS, ROW):
                continue
            if p.part not in tested or not st.quantizes(p, kept):
                continue
            degree = next((k for part, prefix, k in splits if p.part == part and p.name.startswith(prefix)),
                          weights.tp)
            module = p.name.removesuffix(".weight")
            gate_up = module.endswith("gate_up_proj")
            halves = gate_up or module in halved_gdn
            fused = (gate_up or (qkv and module in ("q_proj", "k_proj", "v_proj")) or module in merged_gdn)
            if degree <= 1 or (fused and not merged) or (not fused and group is not None and degree != group):
                continue
            if p.split == ROW:
                side, size, block = "input", p.rank_cols(degree), block_k
            else:
                side, size, block = "output", p.rank_rows(degree) // (2 if halves else 1), block_n
            if size % block:
                return LinearShardMisfit(f"layers.{layer}.{module}", side, size, block, degree)
    return None


#: How vLLM builds Qwen3-Next's Gated DeltaNet input projections (rule ``gdn_projection_layers``):
#: value -> (the kvplan tensors that are logical outputs of a merged layer, those of them whose
#: rows are two logical outputs). out_proj is a RowParallelLinear in every release.
#:   "in_proj"      0.10.2: one MergedColumnParallelLinear "in_proj" of [qkvz, ba]
#:   "qkvz, ba"     0.11.0-0.16.0: two ColumnParallelLinear; 0.18.0+: two MergedColumnParallelLinear
#:                  of one output each (Qwen3-Next's interleaved layout), tested as single layers
#:   "qkvz, b + a"  0.17.0-0.17.1: in_proj_qkvz of one output, in_proj_ba of [num_v_heads] x 2
GDN_LAYERS = {
    "in_proj": (("linear_attn.in_proj_qkvz", "linear_attn.in_proj_ba"), ()),
    "qkvz, ba": ((), ()),
    "qkvz, b + a": (("linear_attn.in_proj_ba",), ("linear_attn.in_proj_ba",)),
}


_IN_PROJ = ("linear_attn.in_proj", ("linear_attn.in_proj_qkvz", "linear_attn.in_proj_ba"))
#: vLLM 0.10.2 (rule gdn_projection_layers "in_proj"): rows that differ from kvplan.unquantized's
#: LAYER_MODULES / ARCH_MODULES (Qwen3NextForCausalLM, as qwen3_next.py builds its layers under
#: model.layers.N.self_attn / .linear_attn / .mlp / .mlp.shared_expert, 0.11.0-0.33.0): in_proj_qkvz and
#: in_proj_ba are the shards of one layer "in_proj" (qwen3_next.py :256-262, packed_modules_mapping
#: :1061); the shared expert's Qwen2MoeMLP takes no prefix (models/qwen2_moe.py 0.10.2 :77-85), so no
#: name can keep it unquantized (no modules).
QWEN3_NEXT_MODULES_0_10_2 = {
    "linear_attn.in_proj_qkvz": _IN_PROJ, "linear_attn.in_proj_ba": _IN_PROJ,
    "mlp.shared_experts.gate_up_proj": ("gate_up_proj", ()), "mlp.shared_experts.down_proj": ("down_proj", ()),
}


def qwen3_next_modules(name: str, gdn: str) -> tuple[str, tuple[str, ...]] | None:
    """(vLLM's layer, the checkpoint modules that decide its quant method) of kvplan tensor ``name``
    of a Qwen3NextForCausalLM decoder layer under rule ``gdn_projection_layers`` value ``gdn``
    (kvplan.unquantized.layer_module, with 0.10.2's own rows)."""
    from kvplan.unquantized import layer_module

    return layer_module("Qwen3NextForCausalLM", name, QWEN3_NEXT_MODULES_0_10_2 if gdn == "in_proj" else None)


def _qwen3_next_listed(spec, layer: int, name: str, gdn: str) -> tuple[str, tuple[bool, ...]] | None:
    """(vLLM's layer of kvplan tensor ``name`` in layer ``layer``, whether modules_to_not_convert names
    each of its shards), None for a tensor vLLM never quantizes (``qwen3_next_modules``)."""
    found = qwen3_next_modules(name, gdn)
    if found is None:
        return None
    from kvplan.unquantized import ExclusionList

    listed = ExclusionList(spec.weights_exclude)
    return (f"model.layers.{layer}.{found[0]}",
            tuple(bool(listed.matching(f"model.layers.{layer}.{m}")) for m in found[1]))


def qwen3_next_fp8_shard_mix(spec, weights, gdn: str) -> tuple[str, tuple[str, ...], tuple[bool, ...]] | None:
    """(vLLM's layer, its shards' modules, whether the checkpoint keeps each unquantized) of the first
    fused layer of a Qwen3NextForCausalLM fp8 checkpoint whose modules_to_not_convert names some
    but not all of its shards: quant_utils.py is_layer_skipped raises ValueError ("Detected some
    but not all shards of ... are quantized", 0.10.2 :281-285) when Fp8Config.get_quant_method
    asks for the layer, at any tp. Qwen3-Next-80B-A3B-Instruct-FP8 on vLLM 0.10.2, whose
    in_proj fuses in_proj_qkvz (quantized) and in_proj_ba (listed): model.layers.0.linear_attn.in_proj.
    None where every fused layer is listed whole or not at all."""
    if weights is None or weights.format != "fp8" or not spec.weights_exclude:
        return None
    from kvplan.shapes import layer_shapes

    for layer in range(spec.num_layers):
        for p in layer_shapes(spec, layer):
            if not p.is_matrix or p.part not in ("attention", "mlp", "state_space"):
                continue
            found = _qwen3_next_listed(spec, layer, p.name.removesuffix(".weight"), gdn)
            if found is not None and any(found[1]) and not all(found[1]):
                shards = qwen3_next_modules(p.name.removesuffix(".weight"), gdn)[1]
                return found[0], tuple(f"model.layers.{layer}.{m}" for m in shards), found[1]
    return None


def refuse_weights_below(engine_name: str, need: dict, weights: str, gpu, why: str, added: str) -> None:
    """BadInputError when ``weights`` has a quantization method whose minimum compute capability
    (``need[weights]``: (major, minor); None: the release has no method for it) is above ``gpu``'s.
    ``why`` names where the minimum is read, ``added`` where a later release has the method. A
    format not in ``need`` and a GPU without a known compute capability (AMD, --gpu-mem) pass."""
    if weights not in need:
        return
    family = engine_name.split("==")[0]
    if need[weights] is None:
        raise BadInputError(f"{engine_name} has no quantization method for {weights} weights ({added}); use a "
                            f"newer --engine {family}==X or other --weights")
    cc = gpu.compute_capability
    if cc is not None and cc < need[weights]:
        a, b = need[weights]
        raise BadInputError(f"{engine_name} runs {weights} weights only from compute capability {a}.{b} ({why}); "
                            f"{gpu.display_name or gpu.name} has {cc[0]}.{cc[1]}: use other --weights")


class Engine:
    """Base of the engine classes. Subclasses are frozen dataclasses with ``release``."""

    family: str = ""
    description: str = ""
    fraction_name: str = ""
    default_block_size: int = 16
    #: GPU vendors whose memory carve-up this engine class models (empty: any, e.g. raw). vLLM's
    #: and SGLang's TPU (Pallas / SGLang-Jax) and Gaudi (vllm-gaudi, HPU worker) paths size their
    #: memory and pages in their own workers, which kvplan does not model.
    vendors: frozenset = frozenset()
    #: The environment variable that lets the engine serve a max_model_len beyond the model's
    #: derived length (None: the engine does not refuse one).
    long_context_env: str | None = None
    #: Whether the engine has SGLang's --enable-dp-attention flag (kvplan's dp of a
    #: mixture-of-experts model planned as DP attention; ``CapacityRequest.dp_attention``).
    dp_attention_flag: bool = False

    #: The engine's release rule table (None: an engine without releases).
    book = None
    #: What this engine's plan leaves out that makes its figures bounds rather than
    #: predictions (one line each; every plan prints them as notes).
    caveats: tuple[str, ...] = ()
    #: Who asserts that tp divides the dense MLP and the vocabulary padded to 64
    #: (kvplan.shapes.check_tp_splits), for the refusal; None: not checked (raw: memory alone).
    tp_split_rule: str | None = None
    #: Whether the vocabulary is checked too (TensorRT-LLM pads it to a multiple of tp).
    tp_split_vocab: bool = True
    #: The embedding and lm_head rows are padded to a multiple of this before the tensor-parallel
    #: split (kvplan.shapes.Param.rank_rows): vLLM's and SGLang's DEFAULT_VOCAB_PADDING_SIZE 64
    #: (vocab_parallel_embedding.py); 1 pads to a multiple of tp alone (TensorRT-LLM).
    vocab_padding: int = 64
    #: How long one request may run beyond what its blocks need (RequestCap: none by default).
    request_cap: RequestCap = RequestCap()
    #: Whether the release splits a model over pipeline stages (--pp > 1): vLLM, TensorRT-LLM
    #: and raw do; SGLang from 0.4.9 (its rule ``pipeline_parallel``).
    pipeline_parallel: bool = True
    pipeline_parallel_source: str = ""

    def check_pipeline(self, pp: int) -> None:
        """BadInputError for ``pp`` > 1 under a release without pipeline parallelism (the
        one rule `kvplan capacity`, `speed` and `recommend` ask)."""
        if pp > 1 and not self.pipeline_parallel:
            raise BadInputError(f"{self.name} has no pipeline parallelism ({self.pipeline_parallel_source}); "
                                f"plan it with --pp 1, or a release that has it")

    def check_tp_splits(self, spec, tp: int) -> None:
        """ShapeError where this engine asserts on an uneven dense tensor-parallel split."""
        if self.tp_split_rule:
            from kvplan.shapes import check_tp_splits

            check_tp_splits(spec, tp, vocab=self.tp_split_vocab, engines=self.tp_split_rule)

    def loaded_spec(self, spec):
        """``spec`` as far as this engine builds and loads its tensors (``capacity.engine_weights``).
        Default: all of them."""
        return spec

    def weight_splits(self, spec, gpu, *, tp: int, dp_attention: int = 1, expert_parallel: bool = False) -> tuple:
        """Where this engine holds a part of the weights otherwise than split by ``tp``
        (``dp_attention``: ranks of one DP-attention group, ``CapacityRequest.dp_attention``)
        (``kvplan.weights.weights_footprint`` ``splits``: (part, name prefix, degree) rows). None
        by default: every rank of a replica holds a 1/tp share (vLLM's data-parallel ranks each
        run their own tp group; the routed experts follow kvplan.shapes.MoEParallel)."""
        return ()

    def moe_workspace_note(self, spec, gpu, weights, settings) -> str | None:
        """One line where a mixture-of-experts kernel's workspace this engine keeps through its
        profile run is not counted (the pool can be smaller than planned). Default: none."""
        return None

    def unmodelled_notes(self, spec, weights, *, dp: int = 1, gpu=None) -> tuple[str, ...]:
        """Memory this release allocates for ``spec`` on ``gpu`` (None: unknown) that the plan
        does not count (one line each, for the notes); none by default."""
        return ()

    @classmethod
    def for_release(cls, release: str | None, **options) -> Engine:
        """This engine bound to ``release`` (None: the newest modelled); BadInputError for a
        release its rule table does not cover."""
        if cls.book is None:
            if release is not None:
                raise BadInputError(f"the {cls.family} engine has no releases (use --engine {cls.family})")
            return cls(**options)
        return cls(cls.book.resolve(release), **options)

    @property
    def name(self) -> str:
        """The label outputs print: ``vllm==0.19.1``; the family alone for release-less engines."""
        release = getattr(self, "release", None)
        return f"{self.family}=={release}" if release is not None else self.family

    @property
    def version(self) -> str:
        release = getattr(self, "release", None)
        return str(release) if release is not None else ""

    def kv_formats(self) -> tuple[str, ...] | None:
        """The KV-cache dtype names this release accepts (None: any kvplan format)."""
        return None

    def resolve_kv_format(self, fmt, spec):
        """The format the engine really stores ``spec``'s cache in when asked for ``fmt``
        (engines may substitute one for a model's layers); default: ``fmt`` itself."""
        return fmt

    def removed_options(self) -> tuple[str, ...]:
        """Options (make_request names) this release's CLI no longer takes."""
        return ()

    def model_block_size(self, spec, gpu, fmt, requested: int | None, block_size: int) -> int:
        """The KV block size the engine really runs ``spec`` at on ``gpu`` (``block_size``: the
        --block-size or the engine default; engines may impose their attention backend's)."""
        return block_size

    def kv_alloc_note(self, spec, fmt) -> str | None:
        """A line where the engine allocates more bytes a cached token than it sizes its pool by
        (the token count is the engine's; the extra comes out of the memory left beside the
        pool); default None."""
        return None

    def check_page(self, spec, gpu, page: int, tp: int) -> None:
        """BadInputError where the engine's attention backend does not start ``spec`` on ``gpu``
        with pages of ``page`` tokens at attention tp ``tp`` (SGLang 0.5.23's trtllm_mha); default:
        every page starts."""

    def block_size_note(self, spec, gpu, fmt, requested: int | None, block_size: int) -> str | None:
        """One line saying why the engine runs another block size than ``block_size`` (see
        ``model_block_size``), for the capacity notes; None: it runs ``block_size``, or the engine
        gives no reason."""
        return None

    def serving_spec(self, spec):
        """``spec`` as this engine release runs its layers (an engine may attend to and keep the
        whole context in layers the model defines as windowed); default: as it is."""
        return spec

    def pooled_spec(self, spec):
        """``spec`` as the engine's KV pool holds its layers (byte figures beside the pool: size,
        sweep); default: as it is (vLLM's own rules are in kvplan.paging)."""
        return spec

    def serving_spec_note(self, spec) -> str | None:
        """Why serving_spec changed ``spec``'s layers (a line for the notes); None if it did not."""
        return None

    def mla_copy_bytes(self, spec, weights, layers: range) -> int:
        """Bytes on one rank this engine keeps beside the stored kv_b_proj of ``spec``'s MLA
        ``layers`` (``weights``: kvplan.weights.Weights; e.g. vLLM's model-dtype copy of a
        quantized one); default 0: none."""
        return 0

    def mla_decode_read_bytes(self, spec, weights, layers: range, gpu=None) -> int | None:
        """Bytes one rank's absorbed MLA decode reads, a step, of the up-projections of ``spec``'s
        MLA ``layers`` where that is not the stored kv_b_proj (``weights``: kvplan.weights.Weights):
        the copy ``mla_copy_bytes`` counts, when the decode path reads it instead (kvplan.speed
        times a decode step with it; a prefill step still runs kv_b_proj; ``gpu``: where the copy
        depends on it). Default None: decode
        reads bytes equal to the stored kv_b_proj's (views of its weight, or copies of it in the
        same dtype)."""
        return None

    def mtp_keeps_own_head(self) -> bool:
        """Whether this release's MTP drafter keeps each MTP layer's own lm_head copy beside the
        target's (kvplan.speculative.mtp_weights); default: no, the target's head is shared."""
        return False

    def rejection_pass_overstatement(self, spec, gpu, settings, budget, weights=None) -> int | None:
        """Bytes by which, at least, the KV pool of ``budget`` (the stage running the sampler) is
        overstated because the engine's profile run under speculative decoding peaks higher than
        the plan counts (None: by an amount kvplan does not bound); default 0: nothing left out."""
        return 0

    def speculative_profile_note(self, spec, gpu, settings, budget, weights=None) -> str | None:
        """One line on what the profile run does under speculative decoding that the plan leaves
        out (see ``rejection_pass_overstatement``); None: nothing."""
        return None

    def check_kv_pool(self, spec, gpu, disable_hybrid: bool | None) -> None:
        """BadInputError where this release would allocate ``spec``'s KV pool in a way kvplan does
        not model (``disable_hybrid``: --disable-hybrid-kv-cache-manager as given); default: none."""

    def pool_paging(self, paging, spec, gpu):
        """The paging rules (kvplan.paging.Paging) this engine pages ``spec``'s pool by on ``gpu``,
        where they depend on the model and the GPU; default: ``paging`` as it is."""
        return paging

    def window_tokens(self, spec, settings: EngineSettings, speculative=None) -> int | None:
        """The tokens beyond its window (chunk) a sliding-window (chunked-local) layer reserves for
        one request when the engine sizes and admits it: one step's, ``max_num_batched_tokens``
        (vLLM 0.26.0 reserves for every step in flight: VLLM.window_tokens)."""
        return settings.max_num_batched_tokens

    def check_prefix_caching(self, spec, enabled: bool | None) -> str | None:
        """BadInputError where prefix caching as given (``enabled``: --enable-prefix-caching true,
        false, or None: the engine's default) changes this release's pool in a way kvplan does not
        model; else a note for the capacity notes, or None. Default: block reuse between requests
        leaves the pool's size unchanged."""
        return None

    def check_speculative(self, spec, speculative) -> None:
        """BadInputError where this release does not start ``spec`` with speculative decoding
        (``speculative``: a kvplan.speculative.Speculative, or None). Default: it does."""

    def scheduler_limits(self, settings, max_model_len: int, *, tokens_given: bool, seqs_given: bool):
        """``settings`` with the caps the engine puts on its scheduler defaults for a
        ``max_model_len`` (``tokens_given`` / ``seqs_given``: the user set max_num_batched_tokens /
        max_num_seqs); default: as they are."""
        return settings

    def default_max_num_seqs(self, pool_tokens: int, profiled_tokens: int, context_len: int) -> int | None:
        """The most requests the engine runs at once when none is given, where it depends on the
        pool it built (``pool_tokens``, in whole pages; ``profiled_tokens``, what its memory holds
        before the rounding to pages); None where the settings already hold it, or none."""
        return None

    def given_max_num_seqs(self, max_num_seqs: int, pool_tokens: int, context_len: int | None = None) -> int:
        """The requests the engine runs at once for a given max_num_seqs (per replica, as the
        settings hold it) once its pool holds ``pool_tokens``; default: as given (SGLang 0.5.23
        caps it at half the pool)."""
        return max_num_seqs

    def request_table_check(self, max_num_seqs: int, context_len: int, stages) -> str | None:
        """For a given max_num_seqs: refuse (BadInputError) where the engine's per-request table outside
        its memory share cannot fit beside it on some stage (``stages``: the plan's StageBudgets), or
        a note where it takes much of that room; default: nothing (the engine sizes no such table from
        a given count, or kvplan counts it)."""
        return None

    def memory_fraction_for(self, spec, gpu, fraction, *, tp: int, dp_attention: int = 1, context_len: int):
        """(the memory fraction the engine really applies to ``spec`` on ``gpu`` at ``tp`` with
        ``dp_attention`` DP-attention ranks (``CapacityRequest.dp_attention``), a note when it is
        not ``fraction``);
        default: ``fraction`` as given."""
        return fraction, None

    def check_auto_kv(self, spec) -> None:
        """--kv-cache-dtype auto (kvplan: no --kv-dtype) for a checkpoint whose quantization config
        asks for an FP8 KV cache (``spec.kv_cache_quant_algo``; ``spec.kv_cache_quant_method`` the
        quant_method that asked): BadInputError where this release may store the cache as fp8 rather
        than the model dtype for that method (rule ``checkpoint_fp8_kv_auto``: the methods it honours;
        True, all of them) or where kvplan has not read it (no such rule: TensorRT-LLM, whose quant
        config carries kv_cache_quant_algo too). raw (memory alone): the model dtype."""
        if not getattr(spec, "kv_cache_quant_algo", "") or self.book is None:
            return
        method = getattr(spec, "kv_cache_quant_method", "") or "modelopt"
        if "checkpoint_fp8_kv_auto" in self.book.names:
            rule = self.book.rule("checkpoint_fp8_kv_auto", self.release)
            if not (rule.value is True or (rule.value and method in rule.value)):
                return
            why = f"may store it as fp8_e4m3 ({rule.source})"
        else:
            why = "reads it, and kvplan has not read whether it then stores fp8"
        asked = _KV_QUANT_ASKED.get(method, f"{method} kv_cache_quant_algo")
        raise BadInputError(f"{self.name}: {spec.name}'s quantization config asks for an FP8 KV cache "
                            f"({asked}), and for --kv-cache-dtype auto "
                            f"{self.name} {why}; give --kv-dtype fp8_e4m3 or {spec.dtype}")

    def check_forced_kv(self, spec, fmt) -> None:
        """--kv-cache-dtype given as ``fmt`` for a compressed-tensors checkpoint with a kv_cache_scheme
        (``spec.kv_cache_quant_method`` compressed-tensors*): BadInputError where this release's Attention
        layer sets the cache to fp8 whatever was given (rule ``compressed_tensors_kv_forced``, vLLM
        0.15.0-0.21.0) and ``fmt`` is not fp8_e4m3, the format it then stores. Engines without the rule
        store what is given."""
        if (not getattr(spec, "kv_cache_quant_method", "").startswith("compressed-tensors") or self.book is None
                or "compressed_tensors_kv_forced" not in self.book.names or fmt.name == "fp8_e4m3"):
            return
        rule = self.book.rule("compressed_tensors_kv_forced", self.release)
        if rule.value:
            raise BadInputError(f"{self.name}: {spec.name}'s quantization config has a compressed-tensors "
                                f"kv_cache_scheme, and {self.name} stores the KV cache as fp8 whatever "
                                f"--kv-cache-dtype says ({rule.source}), not {fmt.name}; give --kv-dtype fp8_e4m3")

    def check_language_model_only(self, spec) -> None:
        """A config that says ``language_model_only: true`` (``spec.language_model_only``): BadInputError
        where this release reads the key (rule ``config_language_model_only`` True: SGLang 0.5.18+ then
        serves the model as not multimodal, with no mrope, and some model classes build no vision tower,
        none of which kvplan models) or where kvplan has not read whether it does (no such rule:
        TensorRT-LLM). Releases that do not read it serve the config as if the key were absent, which
        is what kvplan plans. raw (memory alone): the spec as it is."""
        if not getattr(spec, "language_model_only", False) or self.book is None:
            return
        if "config_language_model_only" in self.book.names:
            rule = self.book.rule("config_language_model_only", self.release)
            if not rule.value:
                return
            why = f"reads it ({rule.source}), and kvplan does not model what it then serves"
        else:
            why = "may read it, and kvplan has not read whether it does"
        raise BadInputError(f"{self.name}: {spec.name}'s config says language_model_only: true, and {self.name} {why}; "
                            f"drop the key to plan the model as the config's architecture serves it, or use "
                            f"--engine raw for memory alone")

    def check_dsa_topk_sharing(self, spec) -> None:
        """A DeepSeek sparse attention model whose config shares top-k indices between layers
        (``spec.index_topk_sharing``: index_topk_freq > 1 or an index_topk_pattern with "S" layers):
        BadInputError where this release reads the keys (rule ``dsa_index_topk_sharing`` True: the
        sharing layers build no indexer, and from SGLang 0.5.18 keep no indexer cache, which kvplan
        does not size per layer), where kvplan has not read whether it does (no such rule), and under
        raw (kvplan's spec keeps an indexer cache on every layer). Releases that do not read the keys
        run an indexer on every layer, as kvplan plans."""
        sharing = getattr(spec, "index_topk_sharing", "")
        if not sharing:
            return
        if self.book is not None and "dsa_index_topk_sharing" in self.book.names:
            rule = self.book.rule("dsa_index_topk_sharing", self.release)
            if not rule.value:
                return
            why = f"{self.name} reads them ({rule.source})"
        elif self.book is None:
            why = "kvplan's spec keeps an indexer cache on every layer"
        else:
            why = f"{self.name} may read them, and kvplan has not read whether it does"
        raise BadInputError(f"{self.name}: {spec.name}'s config shares DeepSeek sparse attention top-k indices "
                            f"between layers ({sharing}): the layers that reuse the previous layer's top-k keep no "
                            f"indexer of their own, which kvplan does not size per layer, and {why}")

    def multimodal_fraction(self, spec, fraction, *, given: bool):
        """(the memory fraction the engine runs a multimodal ``spec`` at, a note when it is not
        ``fraction``); ``given``: the user set the fraction (else it is the engine's default).
        Default: ``fraction`` as it is."""
        return fraction, None

    def check_model(self, spec) -> None:
        """Raise BadInputError when this engine release has no model class for ``spec``'s
        architecture (``check_registered``). Engines the table does not cover (raw, and
        TensorRT-LLM, which pins no release) are not checked."""
        if self.family in _engine_models():
            check_registered(self.name, self.family, self.release, spec)

    def allreduce_rms_fusion(self, gpu, *, tp: int, pp: int = 1, dp: int = 1, asked: bool | None = None,
                             spec=None, nodes: int = 1) -> AllReduceFusion:
        """Whether tp all-reduces run fused with their RMSNorm (``asked``: the deployment turns
        the pass on or off; None: the release's default) for ``spec`` (the model: SGLang's
        default depends on its architecture) on ``nodes`` nodes a replica. Default: this engine
        has no such pass kvplan models; asking for it is refused."""
        if asked:
            raise BadInputError(f"{self.name} has no all-reduce + RMSNorm fusion option kvplan models (vLLM's "
                                f"pass_config fuse_allreduce_rms, SGLang's --enable-flashinfer-allreduce-fusion)")
        return AllReduceFusion(False, 0, f"{self.name}: no all-reduce + RMSNorm fusion kvplan models")

    def check_gpu(self, gpu) -> None:
        """Raise BadInputError when kvplan does not model this engine release on ``gpu``.
        Default: it does."""

    def check_profiled_pool(self, gpu, spec=None) -> None:
        """Raise BadInputError when kvplan cannot plan the pool this engine release derives from
        its start-up profile on ``gpu`` (asked only when no KV memory is given outright).
        Default: it can."""

    def check_kv_on_gpu(self, fmt, spec, gpu) -> None:
        """Raise BadInputError when this engine does not start ``spec`` with a KV cache stored
        as ``fmt`` on ``gpu``. Default: it does."""

    def _refuse_unless_starts(self, verdict: str, why: str, gpu, what: str, kv: str | None = None) -> None:
        """BadInputError for a start rule's verdict other than "starts" (vLLM's fp8_kv_start, SGLang's
        fp8_kv_start): "fails" (the engine refuses or crashes: ``why`` says where), "unmodelled"
        (kvplan cannot tell from the engine's source), "v0" (vLLM runs it only in its V0 engine).
        ``what`` names the model ("" for any model), ``kv`` the --kv-cache-dtype when the cache
        dtype decides. Every refusal ends with the same way out: --kv-dtype auto (where the cache
        dtype decides), another release, or (where the GPU decides) another GPU."""
        if verdict == "starts":
            return
        cc = gpu.compute_capability
        where = self.name + (f" on {gpu.display_name or gpu.name}" if gpu.name else "")
        if cc is not None:
            where += f" (compute capability {cc[0]}.{cc[1]})"
        flag = f" with --kv-cache-dtype {kv}" if kv else ""
        noun = f"{what}{flag}" if what else f"--kv-cache-dtype {kv}"  # what runs, or may not start
        other = f"another --engine {self.family}==X"
        way_out = f"use --kv-dtype auto or {other}" if kv else f"use {other} or GPU"
        if verdict == "v0":
            raise BadInputError(f"{where} runs {noun} only in its V0 engine, whose memory kvplan does not model "
                                f"({why}); " + (way_out if kv else f"use {other}"))  # V0 by dtype: any GPU
        if verdict == "unmodelled":
            raise BadInputError(f"{where}: kvplan does not model whether {noun} starts ({why}); {way_out}")
        raise BadInputError(f"{where} does not start {(what + flag).lstrip()}: {why}; {way_out}")

    def check_weights(self, weights: str, gpu) -> None:
        """Raise BadInputError when this engine cannot run ``weights`` (a weight format name)
        on ``gpu``. Default: any."""

    def check_quantization(self, method: str, spec) -> None:
        """Raise BadInputError where this release's ``--quantization METHOD`` on ``spec`` quantizes in a
        way kvplan has not read. Default: any method kvplan.vllm_args reads."""

    def serving_dtype(self, spec, gpu, explicit: bool) -> str:
        """The dtype the engine runs ``spec`` in on ``gpu``: ``spec.dtype`` is the config's
        torch_dtype, or the --dtype given when ``explicit``. Default: as given. BadInputError
        where the engine would refuse it."""
        return spec.dtype

    def check_kv_format(self, fmt, model_dtype: str) -> None:
        """Raise BadInputError when this engine cannot store the cache in ``fmt``."""
        names = self.kv_formats()
        if names is None:
            return
        if fmt.name not in self.kv_format_kvplan_names(model_dtype):
            raise BadInputError(
                f"{self.name} cannot store the KV cache as {fmt.name}; its --kv-cache-dtype takes "
                f"{', '.join(names)} (use --engine raw to plan other formats)"
            )

    def kv_format_kvplan_names(self, model_dtype: str) -> set[str]:
        from kvplan.formats import get_format

        out = set()
        for n in self.kv_formats() or ():
            try:
                out.add(get_format(n, model_dtype).name)
            except UnknownNameError:
                continue
        return out

    def rules(self) -> dict[str, Rule]:
        """The release rules in force (empty for engines without a rule table)."""
        return {}


# -- which architectures a release has a model class for ------------------------------------------
@lru_cache(maxsize=1)
def _engine_models() -> dict:
    """kvplan/data/engine_models.json by engine family, read once."""
    import json
    from importlib.resources import files

    return json.loads(files("kvplan.data").joinpath("engine_models.json").read_text())


def registered_spans(family: str, architecture: str) -> list[tuple[Release, Release]] | None:
    """The runs of modelled ``family`` releases (first, last) that have a model class for
    ``architecture`` (config.json architectures[0]); None if no modelled release has one.
    Read from kvplan/data/engine_models.json, which tools/engine_models.py derives from each
    release's own registry (vLLM: registry.py _VLLM_MODELS; SGLang: models/*.py EntryClass)."""
    spans = _engine_models()[family]["architectures"].get(architecture)
    return None if spans is None else [(Release.parse(a), Release.parse(b)) for a, b in spans]


def check_registered(engine_name: str, family: str, release: Release, spec) -> None:
    """Refuse ``spec`` on ``family`` ``release`` when that release has no model class for its
    architecture (a spec without one, e.g. a user's YAML, is not checked). The engines'
    Transformers-backend fallback (vLLM/SGLang --model-impl transformers) is not modelled."""
    arch = getattr(spec, "architecture", "")
    if not arch:
        return
    spans = registered_spans(family, arch)
    if spans is not None and any(a <= release <= b for a, b in spans):
        return
    if spans is None:
        where, use = f"no {family} release kvplan models has one", "--engine raw for memory alone"
    else:
        where = "releases " + ", ".join(str(a) if a == b else f"{a} to {b}" for a, b in spans) + " have one"
        use = "one of those releases (--engine " + family + "==X), or --engine raw for memory alone"
    raise BadInputError(f"{engine_name} has no model class for {arch} ({spec.name}): {where}; its Transformers "
                        f"fallback is not modelled (use {use})")
