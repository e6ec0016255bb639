"""`kvplan explain` for SGLang logs (see kvplan/explain.py for the vLLM side).

SGLang sizes its token pool from two availability figures it logs (GiB, printed as "GB"):

    rest_GiB = avail_after_load - avail_at_start * (1 - mem_fraction_static)
               [- 100 MiB for a model 0.5.23 serves as multimodal: SGLang.multimodal_reserve_bytes]
    #tokens  = int(rest_GiB * 2**30 // cell_size)
    K size = V size = #tokens * cell_size / 2 / 2**30

(model_runner.py: profile_max_num_token; "Load weight begin. avail mem" is the free memory
at start, "Load weight end. ... avail mem" after loading). kvplan recomputes the pool from
the logged availability and the tokens from the model's per-token bytes, so the only
difference left is the log's 0.01 GB rounding. A what-if moves the same formula:
mem_fraction_static, the KV dtype, or tp (weights scale by kvplan's per-rank ratio).

Under DP attention (``enable_dp_attention=True`` and ``dp_size`` D > 1 in the ServerArgs line)
the logged ``tp_size`` N is every GPU of the group, and each rank's attention, and so its
cell_size, runs over N / D of them (profile_max_num_token: get_num_kv_heads(get_attention_tp_size()),
model_runner.py 0.4.6 line 701, 0.5.4 line 1419; 0.5.8 model_runner_kv_cache_mixin.py line
83); the default mem_fraction_static
reads N and reserves DP attention's memory (kvplan.engines.sglang.default_fraction).
"""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

from kvplan.errors import BadInputError
from kvplan.explain_log import GIB, LoggedStartup

SGLANG_WHAT_IF = ("mem_fraction_static", "kv_cache_dtype", "tp")


def _cell_bytes(spec, fmt, tp: int) -> int:
    """K+V bytes of one token over every cache-holding layer on one rank."""
    return sum(kind.per_token_bytes(fmt, tp) for kind in spec.layers if kind.token_proportional)


def _attention_tp(tp: int, dp_attention: int) -> int:
    """The GPUs one DP rank's attention runs over: SGLang's --tp over its DP-attention ranks."""
    if tp % dp_attention:
        raise BadInputError(f"SGLang's DP attention needs --tp % --dp == 0 (server_args.py); tp {tp}, dp "
                            f"{dp_attention}")
    return tp // dp_attention


def _weights_bytes(engine, spec, gpu, tp: int, pp: int, dp_attention: int) -> int:
    """Weights of one GPU at SGLang's --tp ``tp`` (under DP attention, every GPU of the group):
    capacity's rule (kvplan.capacity.engine_weights) at kvplan's layout, tp // dp_attention x
    dp_attention, the experts over the whole --tp (MoEParallel.of; expert parallelism is not
    read from the log), with what SGLang builds at load and its weight line counts (rotary
    tables, MLA up-projection copies, ALiBi slopes): SGLang.loaded_bytes, capacity's sum."""
    from kvplan.capacity import engine_weights
    from kvplan.shapes import MoEParallel

    tp_attn = _attention_tp(tp, dp_attention)
    weights = engine_weights(engine, spec, gpu, tp=tp_attn, pp=pp, dp_attention=dp_attention,
                             moe=MoEParallel.of(tp_attn, dp_attention))
    return engine.loaded_bytes(spec, gpu, weights, weights.stages[0])


def _tokens(rest_gib: Fraction, cell: int) -> int:
    return int(rest_gib * GIB // cell)


def explain_sglang(log: LoggedStartup, *, model=None, gpu=None, release=None, what_if=None):
    from kvplan.engines import get_engine
    from kvplan.explain import Explanation, Line, _gpu_for, _spec_for
    from kvplan.formats import get_format

    text = release or log.release
    if text is None:
        from kvplan.engines.sglang import BOOK

        raise BadInputError(f"this SGLang log does not state its release; give --release (modelled: "
                            f"{BOOK.modelled_text()})")
    engine = get_engine(f"sglang=={text}")
    spec, why = _spec_for(log, model)
    if spec is None:
        raise BadInputError(f"cannot explain this SGLang log: {why}")
    if log.avail_before_load_gib is None or log.avail_after_load_gib is None:
        raise BadInputError("cannot explain this SGLang log: it needs the 'Load weight begin/end ... avail mem' "
                            "lines")
    g = _gpu_for(log, gpu)
    if log.memory_fraction is None and g is None:
        raise BadInputError("this SGLang log does not state mem_fraction_static (server_args) and the release's "
                            "default depends on the GPU; give --gpu")
    kv_name = log.kv_cache_dtype or "auto"
    fmt = get_format(kv_name, spec.dtype)
    engine.check_kv_format(fmt, spec.dtype)
    frac = log.memory_fraction if log.memory_fraction is not None else engine.default_memory_fraction(
        g, log.tp, log.pp, dp_attention=log.dp_attention, spec=spec,
        context_length=log.args.get("context_length"))  # as given (server_args), not the derived context_len
    # a multimodal model's: the logged server_args are already scaled (but 0.4.6 scales in model_runner.py)
    frac, vlm_note = engine.multimodal_fraction(spec, frac, given=log.memory_fraction is not None)
    before, after = log.avail_before_load_gib, log.avail_after_load_gib
    # 0.5.23 takes 100 MiB more off a multimodal model's KV budget (mem_cache/kv_cache_configurator.py
    # mm_runtime_reservation_gb, lines 202-219; it logs "Reserving 0.10 GB of the KV budget ..."): the
    # rule capacity applies (SGLang.multimodal_reserve_bytes)
    mm_reserve = engine.multimodal_reserve_bytes(spec)
    rest = after - before * (1 - frac) - Fraction(mm_reserve, GIB)
    cell = _cell_bytes(spec, fmt, _attention_tp(log.tp, log.dp_attention))
    tokens = _tokens(rest, cell)
    w_pred = _weights_bytes(engine, spec, g, log.tp, log.pp, log.dp_attention)
    lines = (
        Line("GPU memory", "bytes", None, g.memory_bytes if g is not None else None),
        Line("free at start", "bytes", int(before * GIB), None),
        Line("model weights", "bytes", int(log.weights_gib * GIB) if log.weights_gib is not None else None, w_pred),
        Line(f"reserved (x {1 - float(frac):g})", "bytes", None, int(before * (1 - frac) * GIB)),
        *([Line("multimodal reserve", "bytes", None, mm_reserve)] if mm_reserve else []),
        Line("KV cache memory", "bytes", int(log.kv_gib * GIB) if log.kv_gib is not None else None,
             tokens * cell),
        Line("KV cache tokens", "tokens", log.kv_tokens, tokens),
    )
    settings = {"tp": log.tp, "pp": log.pp, **({"dp_attention": log.dp_attention} if log.dp_attention > 1 else {}),
                "mem_fraction_static": float(frac), "kv_cache_dtype": kv_name,
                "context_length": log.max_model_len, "cell_size_bytes": cell}
    notes = ["the pool is recomputed from the logged 'avail mem' figures (0.01 GB rounding)"]
    if vlm_note:
        notes.append(vlm_note)
    if mm_reserve:
        notes.append(f"{engine.name} serves {spec.name} as multimodal and takes {mm_reserve // 2**20} MiB off its KV "
                     f"budget for post-sizing multimodal allocations (SGLANG_VLM_CACHE_SIZE_MB; "
                     f"mem_cache/kv_cache_configurator.py mm_runtime_reservation_gb)")
    if log.memory_fraction is None:
        notes.append(f"mem_fraction_static is not in the log: {engine.name}'s default for this GPU and tp "
                     f"({float(frac):g}) is used")
    out = Explanation(engine.name, True, spec.name, g.name if g is not None else log.gpu_name, settings, lines,
                      tuple(notes), None, log)
    if what_if:
        unknown = set(what_if) - set(SGLANG_WHAT_IF)
        if unknown:
            raise BadInputError(f"--what-if for SGLang cannot change {', '.join(sorted(unknown))}; it changes "
                                f"{', '.join(SGLANG_WHAT_IF)}")
        new_frac = Fraction(str(what_if.get("mem_fraction_static", frac)))
        new_fmt = get_format(what_if.get("kv_cache_dtype", kv_name), spec.dtype)
        engine.check_kv_format(new_fmt, spec.dtype)
        new_tp = what_if.get("tp", log.tp)
        w_logged = after and (before - after)
        w_new = w_logged * Fraction(_weights_bytes(engine, spec, g, new_tp, log.pp, log.dp_attention), w_pred)
        new_after = before - w_new
        new_rest = new_after - before * (1 - new_frac) - Fraction(mm_reserve, GIB)
        new_cell = _cell_bytes(spec, new_fmt, _attention_tp(new_tp, log.dp_attention))
        new_tokens = _tokens(new_rest, new_cell) if new_rest > 0 else 0
        wl = (
            Line("model weights", "bytes", int(w_logged * GIB), int(w_new * GIB)),
            Line("KV cache memory", "bytes", tokens * cell, new_tokens * new_cell),
            Line("KV cache tokens", "tokens", tokens, new_tokens),
        )
        out = replace(out, what_if={"changes": dict(what_if), "lines": wl, "engine": engine.name,
                                    "fits": new_tokens > 0, "verdict": "fits" if new_tokens > 0 else
                                    "does not fit: no memory left for the KV cache"})
    return out
