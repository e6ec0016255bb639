"""`kvplan explain`: a real startup log beside kvplan's waterfall, and what-ifs anchored on it.

    log = parse_log(text)                     (kvplan/explain_log.py: what the log states)
    explanation = explain(log)                line by line: logged | kvplan | difference
    explanation = explain(log, what_if={"max_model_len": 65536, "kv_cache_dtype": "fp8", "tp": 2})

kvplan's column is its own model of the logged release (kvplan/engines): weights from the
model's parameters, activation peak and non-torch memory from the release's rules. Its KV
line is the pool those rules leave on *the logged weights* (requested - logged weights -
kvplan's activation - kvplan's non-torch): a quantized or unusual checkpoint is whatever
the log says it is, and the difference on that line is the engine rules' error alone.

A what-if re-plans the same deployment with changed flags, anchored on the log: each part
kvplan models is moved by the change kvplan predicts for it and nothing else,

    weights'    = logged weights    x kvplan(weights, new) / kvplan(weights, logged)
    activation' = logged activation + kvplan(activation, new) - kvplan(activation, logged)
    non-torch'  = logged non-torch  + kvplan(non-torch, new)  - kvplan(non-torch, logged)

(parts the log does not state are kvplan's), so a changed flag is answered for the
user's own machine. A log of a release kvplan does not model can be explained from the
figures it states, but not re-planned (right or refuse).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from fractions import Fraction

from kvplan.engines import get_engine
from kvplan.engines.base import Engine, EngineSettings, Release, StageBudget
from kvplan.errors import BadInputError, KvplanError
from kvplan.explain_log import GIB, LoggedStartup, parse_log

__all__ = ["Explanation", "Line", "explain", "explain_text", "parse_log", "WHAT_IF_KEYS"]

#: What a what-if of a vLLM log may change (vLLM's flag names, underscores; SGLang's are
#: kvplan.explain_sglang.SGLANG_WHAT_IF).
WHAT_IF_KEYS = ("max_model_len", "kv_cache_dtype", "tp", "pp", "gpu_memory_utilization", "max_num_seqs",
                "max_num_batched_tokens", "gpu")


@dataclass(frozen=True)
class Line:
    """One row: what the log says, what kvplan says (either may be None) and the unit."""

    label: str
    unit: str  # "bytes", "tokens", "x"
    logged: int | float | None
    kvplan: int | float | None
    note: str = ""

    @property
    def difference(self):
        if self.logged is None or self.kvplan is None:
            return None
        return self.kvplan - self.logged

    @property
    def relative(self) -> float | None:
        if self.difference is None or not self.logged:
            return None
        return self.difference / self.logged

    def as_dict(self) -> dict:
        return {"label": self.label, "unit": self.unit, "logged": self.logged, "kvplan": self.kvplan,
                "difference": self.difference, "relative": self.relative, "note": self.note}


@dataclass(frozen=True)
class Explanation:
    engine: str  # the rules used: "vllm==0.19.0", or "vllm 0.11.2.dev67 (not modelled)"
    modelled: bool
    model: str | None
    gpu: str | None
    settings: dict
    lines: tuple[Line, ...]
    notes: tuple[str, ...] = ()
    what_if: dict | None = None  # {"changes": {...}, "lines": (Line, ...)} anchored re-plan
    log: LoggedStartup | None = field(default=None, repr=False)

    def line(self, label: str) -> Line:
        for ln in self.lines:
            if ln.label == label:
                return ln
        raise KeyError(label)

    def as_dict(self) -> dict:
        out = {"engine": self.engine, "modelled": self.modelled, "model": self.model, "gpu": self.gpu,
               "settings": self.settings, "lines": [ln.as_dict() for ln in self.lines], "notes": list(self.notes),
               "logged": self.log.stated() if self.log else None}
        if self.what_if is not None:
            out["what_if"] = {"changes": self.what_if["changes"], "anchor": self.what_if.get("anchor"),
                              "lines": [ln.as_dict() for ln in self.what_if["lines"]]}
        return out


def _b(gib) -> int | None:
    return None if gib is None else int(Fraction(gib) * GIB)


# -- an engine whose figures are the log's --------------------------------------------------------
@dataclass(frozen=True)
class Anchored(Engine):
    """``base`` (a release's engine) moved onto the logged figures (see the module docstring)."""

    base: Engine
    at: EngineSettings  # the logged deployment's settings
    spec_at: object  # (spec, weights) the logged deployment ran
    weights_logged: int | None
    activation_logged: int | None
    other_logged: int | None

    @property
    def family(self) -> str:  # type: ignore[override]
        return self.base.family  # the engine that runs on the GPU is the base release's

    @property
    def release(self):
        """The base release: its paging rules (kvplan.paging) and its KV formats apply."""
        return getattr(self.base, "release", None)

    @property
    def name(self) -> str:
        return f"{self.base.name} anchored on the log"

    @property
    def fraction_name(self) -> str:  # type: ignore[override]
        return self.base.fraction_name

    @property
    def default_block_size(self) -> int:  # type: ignore[override]
        return self.base.default_block_size

    def settings(self, gpu, **kw) -> EngineSettings:
        return self.base.settings(gpu, **kw)

    def scheduler_limits(self, settings, max_model_len: int, **given) -> EngineSettings:
        return self.base.scheduler_limits(settings, max_model_len, **given)

    def serving_spec(self, spec):
        return self.base.serving_spec(spec)

    def window_tokens(self, spec, settings, speculative=None):
        return self.base.window_tokens(spec, settings, speculative)

    def pool_paging(self, paging, spec, gpu):
        return self.base.pool_paging(paging, spec, gpu)

    def serving_spec_note(self, spec) -> str | None:
        return self.base.serving_spec_note(spec)

    def model_block_size(self, spec, gpu, fmt, requested, block_size) -> int:
        return self.base.model_block_size(spec, gpu, fmt, requested, block_size)

    def check_tp_splits(self, spec, tp: int) -> None:
        self.base.check_tp_splits(spec, tp)

    def weight_splits(self, spec, gpu, **kw) -> tuple:
        return self.base.weight_splits(spec, gpu, **kw)

    def loaded_spec(self, spec):
        return self.base.loaded_spec(spec)

    def block_size_note(self, spec, gpu, fmt, requested, block_size) -> str | None:
        return self.base.block_size_note(spec, gpu, fmt, requested, block_size)

    def removed_options(self) -> tuple[str, ...]:
        return self.base.removed_options()

    @property
    def long_context_env(self):  # type: ignore[override]
        return self.base.long_context_env

    @property
    def vendors(self):  # type: ignore[override]
        return self.base.vendors

    def carve(self, spec, gpu, weights, settings) -> list[StageBudget]:
        new = self.base.carve(spec, gpu, weights, settings)
        old_spec, old_weights, old_gpu = self.spec_at
        old = self.base.carve(old_spec, old_gpu, old_weights, self.at)
        o0 = old[0]
        out = []
        for b in new:
            w = b.weights_bytes
            if self.weights_logged is not None and o0.weights_bytes:
                w = b.weights_bytes * self.weights_logged // o0.weights_bytes
            act = b.activation_bytes + (self.activation_logged - o0.activation_bytes
                                        if self.activation_logged is not None else 0)
            other = b.other_bytes + (self.other_logged - o0.other_bytes if self.other_logged is not None else 0)
            share = b.engine_share_bytes
            out.append(replace(b, engine_share_bytes=share, weights_bytes=w, activation_bytes=act,
                               other_bytes=other, kv_pool_bytes=share - w - act - other))
        return out


# -- resolving what the log names ---------------------------------------------------------------------
def _engine_for(log: LoggedStartup, release: str | None, options: dict) -> tuple[Engine | None, str]:
    text = release or log.release
    if text is None:
        return None, f"{log.engine} (release not in the log; give --release)"
    if log.nodes is not None and log.nodes > 1:
        # kvplan's non-torch figures (NCCL communicators included) were measured with every rank
        # on one host. Across hosts NCCL adds network-transport buffers: the one such public log
        # (calibration A064, tp 2 over two A100 40GB nodes, vLLM 0.10.1.1) holds 0.85 GiB less KV
        # per GPU than those rules give (+7.7%), rules that match the one-host tp-2 logs of the
        # same release and model (A065, A066) within 0.15%.
        return None, (f"{log.engine} {text} (not modelled: the log ran on {log.nodes} hosts; kvplan's memory rules "
                      "are for one host, and NCCL's cross-host buffers are not modelled)")
    try:
        return get_engine(f"{log.engine}=={text}", **options), ""
    except BadInputError as err:
        if release is not None:  # the user asked for these rules: refuse rather than note
            raise BadInputError(f"--release {release}: {err}") from None
        return None, f"{log.engine} {text} (not modelled: {err})"


#: The first release whose two "Model loading took" texts kvplan read: the V1 runner's "N GiB memory
#: and S seconds" (vllm/v1/worker/gpu_model_runner.py load_model: 0.19.1 :4821, 0.25.0 :5307, 0.26.0
#: :5348) and Model Runner V2's "N GiB and S seconds" (vllm/v1/worker/gpu/model_runner.py load_model:
#: 0.19.1 :292, 0.25.0 :303, 0.26.0 :306), the same in every release 0.19.1-0.26.0. Earlier logs' words
#: say nothing about the runner (0.9.0.1's V1 runner, before V2 existed, printed "GiB and").
_RUNNER_TEXTS_FROM = Release.parse("0.19.1")
#: From 0.28.0 Model Runner V2 words its load line as V1 does ("Model loading took %s GiB memory and %.6f
#: seconds": vllm/v1/worker/gpu/model_runner.py load_model 0.28.0 :380-384, gpu_model_runner.py :5516), so
#: the line no longer names the runner and the release's default is taken.
_RUNNER_TEXTS_UNTIL = Release.parse("0.27.1")


def _as_logged(engine: Engine, log: LoggedStartup) -> tuple[Engine | None, str]:
    """``engine`` with what the log says it ran: the model runner its load line names (V2: not
    modelled), --enforce-eager (the engine config line's enforce_eager=True), and async scheduling (the "Asynchronous scheduling is enabled/disabled." line, else
    the non-default --async-scheduling / --no-async-scheduling / --distributed-executor-backend),
    which decides from vLLM 0.26.0 how many steps' tokens a window layer reserves (VLLM.window_tokens)."""
    if getattr(engine, "family", None) != "vllm" or not hasattr(engine, "async_scheduling"):
        return engine, ""
    if log.loading_words is not None and _RUNNER_TEXTS_FROM <= engine.release <= _RUNNER_TEXTS_UNTIL:
        if log.loading_words == "GiB and":
            if engine.rule("v2_runner_memory") is None:
                return None, (f"{log.engine} {engine.release} (not modelled: the log's 'Model loading took N GiB and' "
                              f"line is Model Runner V2's (vllm/v1/worker/gpu/model_runner.py), whose profile run "
                              f"kvplan has read for 0.25.0-0.28.0 only)")
            # V2's words on a release whose V2 memory path kvplan reads (rule v2_runner_memory): plan V2
            # (VLLM.check_model_runner still refuses models with experts, state-space or MLA layers)
            engine = replace(engine, use_v2_model_runner=True)
        else:
            engine = replace(engine, use_v2_model_runner=False)  # the V1 runner's words: it ran on V1
    if log.enforce_eager:  # no CUDA graphs, so 0.20.0+ subtract no estimate (VLLM.check_profiled_pool)
        engine = replace(engine, enforce_eager=True)
    if engine.rule("non_kv_from_free_memory"):
        # vLLM 0.27.0+: the non-KV memory is measured from the device's free memory, which kvplan does
        # not predict (VLLM.check_profiled_pool): the log's own figures only
        return None, (f"{log.engine} {engine.release} (not modelled: its non-KV memory is measured from the "
                      f"device's free memory, vllm/utils/mem_utils.py memory_profiling, which kvplan does not "
                      f"predict)")
    args = log.args
    if log.async_scheduling is not None:
        engine = replace(engine, async_scheduling=log.async_scheduling)
    elif isinstance(args.get("async_scheduling"), bool):
        engine = replace(engine, async_scheduling=args["async_scheduling"])
    if log.async_scheduling is None and isinstance(args.get("distributed_executor_backend"), str):
        engine = replace(engine, executor_backend=args["distributed_executor_backend"])
    return engine, ""


def _window_note(engine, spec, settings, log: LoggedStartup) -> tuple[int | None, str]:
    """The tokens ``spec``'s window layers reserve a request under ``engine`` where that depends on
    async scheduling (vLLM 0.26.0+, rule ``window_in_flight_tokens``), with a note when the log does
    not say whether it was on (kvplan then takes the release's default)."""
    tokens = settings.max_num_batched_tokens
    if (not engine.rule("window_in_flight_tokens") or tokens is None
            or not spec.has_window_layers):
        return None, ""
    reserved = engine.window_tokens(spec, settings)
    if log.async_scheduling is not None:
        return reserved, ""
    said = ("the non-default args" if isinstance(log.args.get("async_scheduling"), bool)
            or isinstance(log.args.get("distributed_executor_backend"), str) else f"{engine.name}'s default")
    return reserved, (f"the log has no 'Asynchronous scheduling is enabled/disabled.' line (vllm/config/vllm.py "
                      f"VllmConfig.__post_init__); from {said} {spec.name}'s sliding-window / chunked-local "
                      f"layers reserve {reserved // tokens} x {tokens:,} tokens a request (VllmConfig."
                      f"max_in_flight_tokens: 2 x with async scheduling at pp 1, pp x without or at pp > 1)")


def _spec_for(log: LoggedStartup, model: str | None):
    from kvplan.loader import load_model

    name = model or log.model
    if not name:
        return None, "the log names no model; give --model"
    try:
        spec = load_model(name)
    except KvplanError as err:
        return None, f"model {name!r} is not known to kvplan ({err}); give --model (a built-in or config.json)"
    if log.dtype and log.dtype != spec.dtype:
        spec = replace(spec, dtype=log.dtype)
    return spec, ""


def _gpu_for(log: LoggedStartup, gpu: str | None):
    from kvplan.gpus import custom_gpu, get_gpu, list_gpus

    total = _b(log.total_gib)
    if gpu:
        g = get_gpu(gpu)
    elif log.gpu_name:
        try:
            g = get_gpu(log.gpu_name)
        except KvplanError:
            g = None
    else:
        g = None
    if g is None and total is not None:
        # the catalog GPU whose driver-reported memory rounds to the logged total
        hits = [c for c in list_gpus() if round(c.memory_bytes / GIB, 2) == float(log.total_gib)]
        g = hits[0] if len(hits) == 1 else custom_gpu(total)
    if gpu and g is not None and total is not None and abs(g.memory_bytes - total) > g.memory_bytes // 50:
        # drivers move the reported total by a few hundred MiB, never by 2%: another GPU
        raise BadInputError(f"--gpu {gpu}: {g.display_name or g.name} has {g.memory_bytes / GIB:.2f} GiB, but the "
                            f"log's GPU reports {float(log.total_gib):.2f} GiB; name the GPU the log ran on")
    if g is not None and total is not None and round(g.memory_bytes / GIB, 2) != float(log.total_gib):
        g = g.with_memory(total)
    return g


def _weights_format(log: LoggedStartup) -> str | None:
    q = (log.quantization or "").lower()
    return {"": None, "fp8": "fp8", "none": None}.get(q, "unsupported")


def _kv_format(log: LoggedStartup, value=None) -> str:
    return value or log.kv_cache_dtype or "auto"


def _plan(spec, gpu, engine, *, tp, pp, weights, kv, fraction, max_model_len, tokens, seqs, logged_len=True,
          dtype=None):
    """The capacity planner's Pool for this deployment under ``engine`` (kvplan.capacity).
    ``logged_len``: max_model_len is the one the log ran with, so a length beyond the
    model's own was allowed there; a what-if's new length is checked as the engine checks it.
    ``dtype``: the dtype the log ran in (the engine's resolved one), given as --dtype."""
    from kvplan.capacity import make_request, plan

    return plan(make_request(spec, gpu, tp=tp, pp=pp, weights=weights, kv_format=kv, engine=engine, dtype=dtype,
                             gpu_memory_utilization=fraction, max_model_len=max_model_len,
                             max_num_batched_tokens=tokens, max_num_seqs=seqs, allow_long_max_model_len=logged_len))


# -- the explanation ------------------------------------------------------------------------------------
def explain(log: LoggedStartup, *, model: str | None = None, gpu: str | None = None, release: str | None = None,
            what_if: dict | None = None, flashinfer_sampler: bool | None = None) -> Explanation:
    """Explain ``log`` (and re-plan it with ``what_if`` changes, anchored on its figures)."""
    if log.engine == "sglang":
        from kvplan.explain_sglang import explain_sglang

        return explain_sglang(log, model=model, gpu=gpu, release=release, what_if=what_if)
    options = {}
    sampler = log.sampler if flashinfer_sampler is None else ("flashinfer" if flashinfer_sampler else "sort")
    if sampler is not None:
        options["flashinfer_sampler"] = sampler == "flashinfer"
    engine, why = _engine_for(log, release, options)
    if (engine is not None and engine.rule("sampler_top_k_top_p") != "flashinfer-if-installed"
            and not engine.rule("sampler_flashinfer_first_bytes")):
        # the log's sampler line changes nothing for this release (0.21.0 keeps it: whether the
        # FlashInfer call runs before the native one, rule sampler_flashinfer_first_bytes)
        engine, why = _engine_for(log, release, {})
    if engine is not None:
        engine, why = _as_logged(engine, log)
    spec, why_spec = _spec_for(log, model)
    if (engine is not None and spec is not None and log.loading_words == "GiB and"
            and getattr(engine, "use_v2_model_runner", None) and engine.v2_unplanned(spec) is not None):
        # V2's load line on a release whose V2 kvplan reads, for a model it has not read V2 for (experts,
        # state-space or MLA layers): the log's figures only, not check_model_runner's
        # VLLM_USE_V2_MODEL_RUNNER=1 refusal, which the log did not necessarily ask for
        why = (f"{log.engine} {engine.release} (not modelled: the log's 'Model loading took N GiB and' line is "
               f"Model Runner V2's (vllm/v1/worker/gpu/model_runner.py), {engine.v2_unplanned(spec)})")
        engine = None
    g = _gpu_for(log, gpu)
    notes = [n for n in (why, why_spec) if n]
    fraction = log.memory_fraction if log.memory_fraction is not None else (
        engine.rule("gpu_memory_utilization") if engine is not None else Fraction(9, 10))
    total = g.memory_bytes if g is not None else _b(log.total_gib)
    if total is None:
        requested = _b(log.requested_gib)
    else:  # as the release rounds it (rule requested_memory_rounding); no release known: truncated
        requested = engine.requested_bytes(total, fraction) if engine is not None else int(total * fraction)
    w_logged = _b(log.weights_gib)
    act_logged, nt_logged = _b(log.activation_gib), _b(log.non_torch_gib)
    if w_logged is None and log.weights_plus_non_torch_gib is not None and nt_logged is not None:
        w_logged = _b(log.weights_plus_non_torch_gib) - nt_logged
    settings_out = {"tp": log.tp, "pp": log.pp, "gpu_memory_utilization": float(fraction),
                    "max_model_len": log.max_model_len, "kv_cache_dtype": _kv_format(log),
                    "quantization": log.quantization, "dtype": log.dtype}

    kv_pred = tokens_pred = conc_pred = None
    w_pred = act_pred = nt_pred = None
    cap = None
    if engine is not None and spec is not None and g is not None:
        wfmt = _weights_format(log)
        cap = _plan(spec, g, engine, tp=log.tp, pp=log.pp, weights=None if wfmt == "unsupported" else wfmt,
                    kv=_kv_format(log), fraction=fraction, max_model_len=log.max_model_len,
                    tokens=log.max_num_batched_tokens, seqs=log.max_num_seqs, dtype=log.dtype)
        st = cap.stages[0]  # vLLM logs rank 0 (the first pipeline stage)
        w_pred = st.weights_bytes if wfmt != "unsupported" else None
        act_pred, nt_pred = st.activation_bytes, st.other_bytes
        settings_out.update(max_num_batched_tokens=cap.settings.max_num_batched_tokens,
                            max_num_seqs=cap.settings.max_num_seqs, block_size=cap.block_size)
        window_tokens, why_window = _window_note(engine, spec, cap.settings, log)
        if window_tokens is not None:
            settings_out["window_tokens"] = window_tokens
            if why_window:
                notes.append(why_window)
        if w_logged is not None and requested is not None:
            kv_pred = requested - w_logged - act_pred - nt_pred
            on_log = _plan(spec, g, _anchor(engine, spec, g, log, fraction, w_logged, None, None), tp=log.tp,
                           pp=log.pp, weights=None if wfmt == "unsupported" else wfmt, kv=_kv_format(log),
                           fraction=fraction, max_model_len=log.max_model_len, tokens=log.max_num_batched_tokens,
                           seqs=log.max_num_seqs)
            tokens_pred = on_log.kv_cache_tokens
            conc_pred = on_log.memory_concurrency(log.concurrency_at_tokens or on_log.max_model_len)
    elif requested is not None and act_logged is not None and (
            (w_logged is not None and nt_logged is not None) or log.weights_plus_non_torch_gib is not None):
        consumed = w_logged + nt_logged if nt_logged is not None else _b(log.weights_plus_non_torch_gib)
        kv_pred = requested - consumed - act_logged  # the log's own figures, re-added
        notes.append("kvplan has no rules for this log: its KV line re-adds the logged parts")
    if kv_pred is None:
        missing = [what for what, have in (("the GPU (give --gpu)", g is not None or log.requested_gib is not None),
                                           ("the model weights line", w_logged is not None),
                                           ("a modelled release or the logged activation and non-torch figures",
                                            engine is not None and spec is not None
                                            or (act_logged is not None and nt_logged is not None)))
                   if not have]
        raise BadInputError("cannot explain this log: missing " + ", ".join(missing or ["the figures"])
                            + (f" ({'; '.join(notes)})" if notes else ""))
    lines = [
        Line("GPU memory", "bytes", _b(log.total_gib), g.memory_bytes if g is not None else None),
        Line(f"requested (x {float(fraction):g})", "bytes", _b(log.requested_gib), requested),
        Line("model weights", "bytes", w_logged, w_pred, "the KV line below uses the logged weights"),
        Line("activation peak", "bytes", act_logged, act_pred),
        Line("non-torch memory", "bytes", nt_logged, nt_pred),
        Line("KV cache memory", "bytes", _b(log.kv_gib), kv_pred),
        Line("KV cache tokens", "tokens", log.kv_tokens, tokens_pred),
        Line(f"max concurrency at {log.concurrency_at_tokens or log.max_model_len:,} tokens"
             if (log.concurrency_at_tokens or log.max_model_len) else "max concurrency", "x",
             float(log.max_concurrency) if log.max_concurrency is not None else None, conc_pred),
    ]
    if log.weights_plus_non_torch_gib is not None:
        lines.insert(3, Line("weights + non-torch", "bytes", _b(log.weights_plus_non_torch_gib),
                             w_pred + nt_pred if w_pred is not None and nt_pred is not None else None))
    if log.cudagraph_gib is not None or log.cudagraph_estimate_gib is not None:
        kv_at = next(i for i, ln in enumerate(lines) if ln.label == "KV cache memory")
        lines.insert(kv_at, Line("CUDA graphs (not subtracted)" if engine is not None else "CUDA graphs", "bytes",
                             _b(log.cudagraph_estimate_gib or log.cudagraph_gib), None,
                             "outside gpu_memory_utilization in the modelled releases"))
    if engine is not None:
        label = engine.name
    elif log.release or release:
        label = f"{log.engine} {release or log.release} (not modelled: logged figures only)"
    else:
        label = f"{log.engine} (release not in the log: logged figures only)"
    out = Explanation(label, engine is not None, spec.name if spec is not None else log.model,
                      g.name if g is not None else log.gpu_name, settings_out, tuple(lines), tuple(notes), None, log)
    if what_if:
        if engine is None or spec is None or g is None or cap is None:
            raise BadInputError("--what-if needs a modelled release, a model kvplan knows and the GPU: "
                                + "; ".join(notes or ["give --gpu"]))
        out = replace(out, what_if=_what_if(log, engine, spec, g, cap, fraction, w_logged, act_logged, nt_logged,
                                            what_if))
    return out


def _anchor(engine, spec, g, log, fraction, w_logged, act_logged, nt_logged) -> Anchored:
    """``engine`` moved onto the logged figures; ``at`` is exactly the settings the logged
    deployment resolves to (what plan_capacity asks the engine for)."""
    from kvplan.weights import weights_footprint

    wfmt = _weights_format(log)
    weights = weights_footprint(spec, None if wfmt == "unsupported" else wfmt, log.tp, log.pp)
    at = engine.settings(g, tp=log.tp, pp=log.pp, memory_fraction=fraction,
                         max_num_batched_tokens=log.max_num_batched_tokens, max_num_seqs=log.max_num_seqs)
    at = replace(at, max_model_len=log.max_model_len)  # the logged length (MiniMax's rotary rows)
    return Anchored(engine, at, (spec, weights, g), w_logged, act_logged, nt_logged)


def _what_if(log, engine, spec, g, cap, fraction, w_logged, act_logged, nt_logged, changes: dict) -> dict:
    unknown = set(changes) - set(WHAT_IF_KEYS)
    if unknown:
        raise BadInputError(f"--what-if cannot change {', '.join(sorted(unknown))}; it changes "
                            f"{', '.join(WHAT_IF_KEYS)}")
    from kvplan.gpus import get_gpu

    wfmt = _weights_format(log)
    weights = None if wfmt == "unsupported" else wfmt

    def logged_setup(eng):
        """The logged deployment planned by ``eng``."""
        return _plan(spec, g, eng, tp=log.tp, pp=log.pp, weights=weights, kv=_kv_format(log), fraction=fraction,
                     max_model_len=log.max_model_len, tokens=log.max_num_batched_tokens, seqs=log.max_num_seqs)

    anchored = _anchor(engine, spec, g, log, fraction, w_logged, act_logged, nt_logged)
    anchor_note = "activation and non-torch memory as the log states them"
    kv_logged = _b(log.kv_gib)
    if kv_logged is not None:
        # The log states its KV memory: the part beside it that the log leaves out (else the
        # activation, whose logged figure is rounded to 0.01 GiB like the others) takes what the
        # re-added parts miss, so the logged deployment re-planned holds the logged KV and a
        # what-if that changes nothing gives the log back.
        at = logged_setup(anchored).waterfall
        miss = at.kv_pool_bytes - kv_logged
        if act_logged is None or nt_logged is not None:
            was = "kvplan's estimate" if act_logged is None else "logged"
            act_logged = at.activation_bytes + miss
            kept = "kvplan's" if nt_logged is None else "the logged"
            anchor_note = (f"activation = what the logged KV leaves, {act_logged / GIB:.3f} GiB ({was} "
                           f"{at.activation_bytes / GIB:.3f} GiB; {kept} non-torch kept)")
        else:
            nt_logged = at.other_bytes + miss
            anchor_note = (f"non-torch = what the logged KV leaves, {nt_logged / GIB:.2f} GiB (kvplan's estimate "
                           f"{at.other_bytes / GIB:.2f} GiB; the logged activation kept)")
        anchored = _anchor(engine, spec, g, log, fraction, w_logged, act_logged, nt_logged)
    new_gpu = get_gpu(changes["gpu"]) if changes.get("gpu") else g
    new_fraction = changes.get("gpu_memory_utilization", fraction)
    kv = _kv_format(log, changes.get("kv_cache_dtype"))
    engine.check_kv_format(_fmt(kv, spec), spec.dtype)
    new = _plan(spec, new_gpu, anchored, tp=changes.get("tp", log.tp), pp=changes.get("pp", log.pp),
                weights=weights, kv=kv, fraction=new_fraction,
                max_model_len=changes.get("max_model_len", log.max_model_len),
                tokens=changes.get("max_num_batched_tokens", log.max_num_batched_tokens),
                seqs=changes.get("max_num_seqs", log.max_num_seqs),
                logged_len=changes.get("max_model_len", log.max_model_len) == log.max_model_len)
    base = logged_setup(anchored)
    b0, n0 = base.waterfall, new.waterfall
    lines = (
        Line("requested", "bytes", b0.engine_share_bytes, n0.engine_share_bytes),
        Line("model weights", "bytes", b0.weights_bytes, n0.weights_bytes),
        Line("activation peak", "bytes", b0.activation_bytes, n0.activation_bytes),
        Line("non-torch memory", "bytes", b0.other_bytes, n0.other_bytes),
        Line("KV cache memory", "bytes", b0.kv_pool_bytes, n0.kv_pool_bytes),
        Line("KV cache tokens", "tokens", base.kv_cache_tokens, new.kv_cache_tokens),
        Line(f"max concurrency at {new.max_model_len:,} tokens", "x", base.memory_concurrency(new.max_model_len),
             new.memory_concurrency(new.max_model_len)),
    )
    verdict = new.verdict()
    return {"changes": dict(changes), "lines": lines, "engine": engine.name, "fits": verdict.ok,
            "verdict": "fits" if verdict.ok else "does not fit: " + verdict.reason,
            "anchor": "the logged deployment re-planned on the log's weights and KV memory; " + anchor_note}


def _fmt(name, spec):
    from kvplan.formats import get_format

    return get_format(name, spec.dtype)


def explain_text(text: str, **kw) -> Explanation:
    """parse_log + explain."""
    return explain(parse_log(text), **kw)
