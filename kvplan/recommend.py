"""Recommend: the cheapest deployment that holds the load and meets the latency targets.

    rec = recommend(spec, ctx=32768, users=64, tpot_s=0.05, ttft_s=2.0,
                    gpus=["h100-sxm", "h200"], max_gpus=16)
    rec.options[0]          # the cheapest: request, speed point, $/hour, $ per million tokens
    rec.rejections          # every (GPU, weights, KV) family that cannot, with the reason

The search runs over GPU type x weight format x KV format (a "family"), and within a
family over GPU counts (1, 2, 4, 8, then whole nodes of 8: ``gpu_counts``) from the
smallest that could hold the weights and KV at all, and every layout of that count: tp x pp x dp, and expert parallelism for MoE models. A layout
is kept when

  1. the engine starts and the KV pool holds the users (``pool.runs(prompt + output,
     cdiv(users, dp))`` of ``plan(make_request(...))``: `kvplan capacity`'s answer, never a
     second fit rule; max_model_len is prompt + output unless given),
  2. its time per output token at that load is within ``tpot_s`` (``kvplan.speed``),
  3. the time to first token of one prompt is within ``ttft_s``.

Prices grow with the GPU count, so within a family the first count with a kept layout is
the cheapest; its layouts are ranked by $ per million output tokens. Families are ranked
by $/hour, then $ per million output tokens. A family with no kept layout up to
``max_gpus`` is reported with the reason of its closest miss: "memory" (nothing holds the
load), "tpot" / "ttft" (it fits, but the best layout is too slow: its figure is given),
"shape" (no layout the model's heads allow), or "gpu" (the engine release or the catalog
refuses the family: a figure the estimate needs, or a model or layout the release is not
planned for; the detail names it, docs/recommend.md).

Prices are data (``kvplan/data/prices.yaml``: dated, each cited); ``load_prices(path)``
overlays a user's own. A GPU without a price is refused with one line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from kvplan.capacity import CapacityRequest, make_request, plan
from kvplan.errors import BadInputError, KvplanError, ShapeError
from kvplan.spec import ModelSpec
from kvplan.units import cdiv

#: Pipeline degrees the search tries (vLLM runs pp up to the layer count; deeper pipelines
#: only add bubbles at the loads recommend targets).
PP_CHOICES = (1, 2, 4)
#: GPU counts a deployment can have: cloud instances and HGX/MI300X nodes come with 1, 2,
#: 4 or 8 GPUs; past 8, whole nodes of 8 (efficiency.yaml topology.gpus_per_node).
def gpu_counts(max_gpus: int, per_node: int = 8) -> list[int]:
    small = [n for n in (1, 2, 4, 8) if n <= min(max_gpus, per_node)]
    return small + list(range(2 * per_node, max_gpus + 1, per_node))


#: How families are ranked when they fail, closest miss first.
REASONS = ("tpot", "ttft", "memory", "shape", "gpu")


# -- prices -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Price:
    gpu: str
    usd_per_gpu_hour: float
    date: str
    provider: str
    source: str

    def as_dict(self) -> dict:
        return {"gpu": self.gpu, "usd_per_gpu_hour": self.usd_per_gpu_hour, "date": self.date,
                "provider": self.provider, "source": self.source}


def _prices_path() -> Path:
    return Path(__file__).with_name("data") / "prices.yaml"


def _read_prices(path: Path) -> dict[str, Price]:
    from kvplan.gpus import get_gpu
    from kvplan.loader import read_yaml

    data = read_yaml(path)
    if not isinstance(data, dict) or data.get("version") != 1 or not isinstance(data.get("prices"), dict):
        raise BadInputError(f"{path}: expected version: 1 and a 'prices' mapping (see kvplan/data/prices.yaml)")
    if data.get("currency", "USD") != "USD":
        raise BadInputError(f"{path}: currency {data.get('currency')!r}: kvplan compares prices in USD")
    out = {}
    for name, entry in data["prices"].items():
        where = f"{path}: prices.{name}"
        if not isinstance(entry, dict):
            raise BadInputError(f"{where}: expected a mapping")
        unknown = set(entry) - {"usd_per_gpu_hour", "date", "provider", "source"}
        if unknown:
            raise BadInputError(f"{where}: unknown field {sorted(unknown)[0]!r}")
        value = entry.get("usd_per_gpu_hour")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise BadInputError(f"{where}: usd_per_gpu_hour must be a positive number, got {value!r}")
        for key in ("date", "source"):
            if not str(entry.get(key) or "").strip():
                raise BadInputError(f"{where}: a price needs its {key} (when and where it was read)")
        gpu = get_gpu(str(name)).name
        out[gpu] = Price(gpu, float(value), str(entry["date"]), str(entry.get("provider") or ""),
                         str(entry["source"]))
    return out


def load_prices(path=None) -> dict[str, Price]:
    """The shipped price table, with ``path``'s entries (same format) replacing its own."""
    prices = _read_prices(_prices_path())
    if path is not None:
        prices.update(_read_prices(Path(path)))
    return prices


# -- the search ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Option:
    """A deployment that holds the load and meets the targets."""

    request: CapacityRequest
    point: object  # kvplan.speed.SpeedPoint at the requested users
    price: Price
    #: the pool's caveats (kvplan.capacity.Pool.notes: what `kvplan capacity` prints for this deployment), and
    #: a `kvplan calibrate` file's for this deployment and load (kvplan.speed.calibration_notes)
    warnings: tuple[str, ...] = ()

    @property
    def num_gpus(self) -> int:
        return self.request.num_gpus

    @property
    def usd_per_hour(self) -> float:
        return self.num_gpus * self.price.usd_per_gpu_hour

    @property
    def usd_per_million_tokens(self) -> float:
        return self.usd_per_hour / (self.point.tokens_per_s * 3600) * 1e6

    @property
    def layout(self) -> str:
        r = self.request
        out = f"tp {r.tp}" + (f" pp {r.pp}" if r.pp > 1 else "") + (f" dp {r.dp}" if r.dp > 1 else "")
        return out + (" ep" if r.enable_expert_parallel else "")

    def as_dict(self) -> dict:
        r = self.request
        return {
            "gpu": r.gpu.name, "num_gpus": self.num_gpus, "tp": r.tp, "pp": r.pp, "dp": r.dp,
            "enable_expert_parallel": r.enable_expert_parallel, "weights": r.weights, "kv_dtype": r.kv_format.name,
            "max_model_len": r.max_model_len,
            "usd_per_hour": self.usd_per_hour, "usd_per_million_output_tokens": self.usd_per_million_tokens,
            "tpot_ms": self.point.tpot_s * 1e3, "ttft_ms": self.point.ttft_s * 1e3,
            "tokens_per_s": self.point.tokens_per_s, "tokens_per_s_per_gpu": self.point.tokens_per_s_per_gpu,
            "bound": self.point.bound, "price": self.price.as_dict(), "warnings": list(self.warnings),
        }


@dataclass(frozen=True)
class Rejection:
    """A family (GPU, weights, KV format) with no layout that meets the targets."""

    gpu: str
    weights: str
    kv_dtype: str
    reason: str  # one of REASONS
    detail: str

    def as_dict(self) -> dict:
        return {"gpu": self.gpu, "weights": self.weights, "kv_dtype": self.kv_dtype, "reason": self.reason,
                "detail": self.detail}


@dataclass(frozen=True)
class Recommendation:
    model: str
    ctx: int
    users: int
    output_tokens: int | None
    tpot_s: float | None
    ttft_s: float | None
    max_gpus: int
    options: tuple[Option, ...]  # the best layout of each family that passes, cheapest first
    rejections: tuple[Rejection, ...]
    layouts_tried: int

    def warnings(self, top: int | None = None) -> tuple[tuple[str, tuple[int, ...]], ...]:
        """Each caveat of the first ``top`` options (all: None) once, with the options (1-based
        ranks) whose pools give it, in the order they first appear; the rows of one table
        share most of them (every vLLM dp > 1 MoE layout the same gather warning)."""
        seen: dict[str, list[int]] = {}
        for rank, option in enumerate(self.options[:top], 1):
            for text in option.warnings:
                seen.setdefault(text, []).append(rank)
        return tuple((text, tuple(ranks)) for text, ranks in seen.items())

    def as_dict(self) -> dict:
        return {
            "warnings": [{"text": text, "options": list(ranks)} for text, ranks in self.warnings()],
            "model": self.model, "ctx": self.ctx, "users": self.users, "output_tokens": self.output_tokens,
            "tpot_ms": None if self.tpot_s is None else self.tpot_s * 1e3, "ttft_s": self.ttft_s,
            "max_gpus": self.max_gpus, "layouts_tried": self.layouts_tried,
            "options": [o.as_dict() for o in self.options],
            "rejections": [r.as_dict() for r in self.rejections],
        }


@dataclass
class _Family:
    """What the search learnt about one family."""

    best_tpot: float | None = None  # fastest TPOT among layouts that fit memory, seconds
    best_tpot_layout: str = ""
    best_tpot_ttft: float | None = None  # that layout's TTFT
    best_ttft: float | None = None
    best_ttft_layout: str = ""
    best_ttft_tpot: float | None = None  # that layout's TPOT
    memory: str = ""  # the last memory verdict (of a planned pool, or the bound before planning)
    memory_planned: bool = False  # a planned pool gave it (not only the bound before planning)
    shape: str = ""
    gpu: str = ""  # the last layout the engine or the catalog refused (others may have been planned)
    refused: str = ""  # the engine does not start the model on this GPU at all: every layout
    fitted: bool = False
    passed: list = field(default_factory=list)
    #: the fastest layout's ``speed.caveat_case`` where it leans pessimistic (a TPOT rejection of such a
    #: family may be wrong: the published runs were faster than kvplan)
    pessimistic: str | None = None


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def layouts(spec: ModelSpec, n: int, pipeline_parallel: bool = True) -> list[tuple[int, int, int, bool]]:
    """(tp, pp, dp, expert_parallel) with tp x pp x dp = n (EP only for MoE models with
    more than one rank in tp x dp; pp 1 only under an engine release without pipeline
    parallelism, ``Engine.pipeline_parallel``)."""
    out = []
    for tp in _divisors(n):
        for pp in PP_CHOICES if pipeline_parallel else (1,):
            if (n // tp) % pp or pp > spec.num_layers:
                continue
            dp = n // (tp * pp)
            out.append((tp, pp, dp, False))
            if spec.moe is not None and tp * dp > 1:
                out.append((tp, pp, dp, True))
    return out


def _whole_bytes(spec: ModelSpec, weights: str | None, kv, ctx_peak: int) -> tuple[int, int]:
    """(one copy of the weights, one request's KV at ``ctx_peak`` unsplit)."""
    from kvplan.layer_sums import model_terms, seq_bytes
    from kvplan.weights import weights_footprint

    return weights_footprint(spec, weights).total_bytes, seq_bytes(model_terms(spec), ctx_peak, kv, 1)


def _min_gpus(spec: ModelSpec, gpu, weights: str | None, kv, ctx_peak: int, users: int) -> int:
    """A lower bound on the GPU count: every GPU holds at least its share of one copy of the
    weights and of the users' KV (splitting never shrinks the total)."""
    w, seq = _whole_bytes(spec, weights, kv, ctx_peak)
    return max(1, cdiv(w + users * seq, gpu.memory_bytes))


def _cannot_fit(spec: ModelSpec, gpu, whole: tuple[int, int], tp: int, pp: int, dp: int, users: int) -> bool:
    """True when a layout surely cannot hold the load, before planning it: a replica's
    tp x pp GPUs hold at least its whole weights (a dense model; an MoE model's dp ranks
    share the experts, so its bound is the deployment's) and its users' whole KV."""
    w, seq = whole
    replica = tp * pp
    weights_share = w / (replica * dp) if spec.moe is not None else w / replica
    return weights_share + cdiv(users, dp) * seq / replica > gpu.memory_bytes


def recommend(spec: ModelSpec, *, ctx: int, users: int, output_tokens: int | None = None,
              tpot_s: float | None = None, ttft_s: float | None = None, gpus: list[str], max_gpus: int = 16,
              weights: list[str] | None = None, kv_formats: list | None = None, prices: dict | None = None,
              engine: str = "vllm", efficiency=None, calibration=None, progress=None, **deploy) -> Recommendation:
    """Search GPU x count x layout x weights x KV for the cheapest deployment that serves
    ``users`` concurrent requests of ``ctx`` prompt tokens (+ ``output_tokens``) within the
    targets. ``progress(done, total)`` is called after each family. ``deploy`` are further
    make_request keywords (gpu_memory_utilization, max_model_len, ...). ``calibration``: a
    file for ``kvplan.speed.load_calibration``, read for each family's GPU and KV format (a
    measure report's kv_bandwidth is the format's own), in place of ``efficiency``."""
    from kvplan.formats import get_format
    from kvplan.gpus import get_gpu
    from kvplan.speed import estimate, load_calibration, setup, shipped_efficiency
    from kvplan.weights import get_weight_format, resolve_weight_format

    for what, v in (("ctx", ctx), ("users", users), ("max_gpus", max_gpus)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise BadInputError(f"{what} must be a positive whole number, got {v!r}")
    for what, v in (("tpot", tpot_s), ("ttft", ttft_s)):
        if v is not None and not 0 < v < float("inf"):
            raise BadInputError(f"--{what} target must be a positive, finite number, got {v!r} (leave it out for "
                                f"no target)")
    if not gpus:
        raise BadInputError("give at least one GPU (--gpus h100,h200)")
    prices = prices if prices is not None else load_prices()
    gpu_objs = []
    for name in gpus:
        g = get_gpu(name)
        if g.name not in prices:
            raise BadInputError(f"no price for {g.name}: add it to a --prices file (usd_per_gpu_hour, date, source); "
                                f"priced: {', '.join(sorted(prices))}")
        if g not in gpu_objs:
            gpu_objs.append(g)
    from kvplan.capacity import served_spec

    def formats(sp):
        """(weight names, KV formats) of the search for ``sp`` (the spec in the dtype the engine runs)."""
        default_w = resolve_weight_format(sp).name
        if weights:
            ws = list(dict.fromkeys(get_weight_format(w, sp.dtype).name for w in weights))
        else:
            ws = [default_w] + (["fp8"] if default_w in ("bf16", "fp16", "fp32") else [])
        return ws, list(dict.fromkeys(get_format(k, sp.dtype) if not hasattr(k, "vector_bytes") else k
                                      for k in (kv_formats or ["auto", "fp8"])))

    # Per GPU: the dtype the engine runs the model in there ("auto" and the default weights follow
    # it: vLLM runs a bf16 model in fp16 on a T4), and the families searched; a spec of None: the
    # engine does not start the model there (every family is rejected with the reason).
    searches = []
    for g in gpu_objs:
        try:
            gspec, refused = served_spec(spec, g, engine=engine, dtype=deploy.get("dtype")), ""
        except BadInputError as err:
            gspec, refused = None, str(err)
        searches.append((g, gspec, refused, *formats(gspec or spec)))
    peak = ctx + (output_tokens or 0)
    model_len = deploy.get("max_model_len") or spec.max_position_embeddings
    if isinstance(model_len, str):
        from kvplan.units import parse_tokens

        model_len = parse_tokens(model_len, "max_model_len")
    # How long a request and its prompt run at a max_model_len is the engine's rule (RequestCap, as
    # the pool and `kvplan speed` ask it: SGLang stops one 2 tokens short and aborts a prompt 7 short),
    # never re-derived here; each family's pool is asked again in _try (SGLang's cap by its pool).
    from kvplan.engines import get_engine

    prof = get_engine(engine)
    cap = prof.request_cap
    why = cap.refusal(prof.name, spec.name, ctx, output_tokens or 0, model_len)
    if why:
        raise BadInputError(why)
    if deploy.get("max_model_len") is None:
        # Serve the load's length: the model's own max_model_len may not start where the load fits,
        # and the engine must accept the prompt (RequestCap.prompt_short: vLLM 1, SGLang 7).
        deploy = dict(deploy, max_model_len=cap.max_model_len_for(peak, ctx))
    from kvplan.calibrate import fitted_on

    calibrated_on = fitted_on(calibration) if calibration is not None else None
    options, rejections = [], []
    tried = 0
    total = sum(len(g_w) * len(g_kvs) for *_, g_w, g_kvs in searches)
    done = 0
    for gpu, gspec, refused, g_w, g_kvs in searches:
        base_eff = efficiency
        if efficiency is None and calibration is None and gspec is not None:
            try:
                base_eff = shipped_efficiency(gpu)
            except BadInputError as err:  # no factors for this GPU: its families are refused, the search goes on
                gspec, refused = None, str(err)
        for w in g_w:
            for kv in g_kvs:
                fam = _Family()
                if gspec is None:
                    fam.refused = refused
                    rejections.append(_reject(gpu.name, w, kv.name, fam, max_gpus + 1, max_gpus, users, peak, tpot_s,
                                              ttft_s))
                    done += 1
                    if progress:
                        progress(done, total)
                    continue
                eff = load_calibration(calibration, gpu, kv.name) if calibration is not None else base_eff
                try:
                    start = _min_gpus(gspec, gpu, w, kv, peak, users)
                    whole = _whole_bytes(gspec, w, kv, peak)
                except KvplanError as err:
                    start, fam.shape = max_gpus + 1, str(err)
                for n in [c for c in gpu_counts(max_gpus, eff.gpus_per_node) if c >= start]:
                    for tp, pp, dp, ep in layouts(spec, n, get_engine(engine).pipeline_parallel):
                        if _cannot_fit(gspec, gpu, whole, tp, pp, dp, users):
                            fam.memory = fam.memory or (f"tp {tp} pp {pp} dp {dp}: weights and KV exceed "
                                                        f"{gpu.name}'s memory")
                            continue
                        tried += 1
                        _try(gspec, gpu, w, kv, tp, pp, dp, ep, engine, deploy, eff, ctx, users, output_tokens,
                             tpot_s, ttft_s, prices[gpu.name], fam, setup, estimate, (calibration, calibrated_on))
                    if fam.passed:
                        break
                if fam.passed:
                    options.append(min(fam.passed, key=lambda o: (o.usd_per_million_tokens, o.point.tpot_s)))
                else:
                    rejections.append(_reject(gpu.name, w, kv.name, fam, start, max_gpus, users, peak, tpot_s,
                                              ttft_s))
                done += 1
                if progress:
                    progress(done, total)
    options.sort(key=lambda o: (o.usd_per_hour, o.usd_per_million_tokens))
    rejections.sort(key=lambda r: (REASONS.index(r.reason), r.gpu, r.weights, r.kv_dtype))
    return Recommendation(spec.name, ctx, users, output_tokens, tpot_s, ttft_s, max_gpus, tuple(options),
                          tuple(rejections), tried)


def _try(spec, gpu, w, kv, tp, pp, dp, ep, engine, deploy, eff, ctx, users, output_tokens, tpot_s, ttft_s, price,
         fam: _Family, setup, estimate, calibrated=(None, None)) -> None:
    layout = f"tp {tp}" + (f" pp {pp}" if pp > 1 else "") + (f" dp {dp}" if dp > 1 else "") + (" ep" if ep else "")
    try:
        req = make_request(spec, gpu, tp=tp, pp=pp, dp=dp, enable_expert_parallel=ep, weights=w, kv_format=kv,
                           engine=engine, **deploy)
        pool = plan(req)
    except ShapeError as err:
        fam.shape = str(err)
        return
    except BadInputError as err:  # the engine cannot be planned on this GPU (e.g. an MLA backend kvplan does not model)
        fam.gpu = str(err)
        return
    # the engine starts with max_model_len, and the load runs (kvplan capacity's answer)
    verdict = pool.runs(ctx + (output_tokens or 0), cdiv(users, dp), prompt_tokens=ctx)
    if not verdict:
        fam.memory, fam.memory_planned = f"{layout}: {verdict.reason}", True
        return
    fam.fitted = True
    try:
        s = setup(pool, eff)
    except BadInputError as err:
        fam.gpu = str(err)
        return
    point = estimate(s, users, ctx, output_tokens)
    where = f"{req.num_gpus} GPUs {layout}"
    if fam.best_tpot is None or point.tpot_s < fam.best_tpot:
        fam.best_tpot, fam.best_tpot_layout, fam.best_tpot_ttft = point.tpot_s, where, point.ttft_s
        from kvplan.speed import TPOT_LEAN, caveat_case

        case = caveat_case(s)
        fam.pessimistic = case if case is not None and TPOT_LEAN[case][1] == "pessimistic" else None
    if point.ttft_s is not None and (fam.best_ttft is None or point.ttft_s < fam.best_ttft):
        fam.best_ttft, fam.best_ttft_layout, fam.best_ttft_tpot = point.ttft_s, where, point.tpot_s
    if tpot_s is not None and point.tpot_s > tpot_s:
        return
    if ttft_s is not None and (point.ttft_s is None or point.ttft_s > ttft_s):
        return
    from kvplan.speed import calibration_notes, tpot_notes, ttft_notes

    other = calibration_notes(calibrated[0], calibrated[1], [s], ctx, output_tokens) if calibrated[1] else ()
    # every option shows a TPOT (and $ per million tokens from it) and a TTFT, so it carries the caveats
    # `kvplan speed` prints with them: an MoE model's TTFT floor (speed.ttft_notes) and the TPOT where
    # the published runs lean one way (speed.tpot_notes), targets given or not
    fam.passed.append(Option(req, point, price, pool.notes + other
                             + (ttft_notes(s) if point.ttft_s is not None else ()) + tpot_notes(s)))


def _pessimistic_note(case: str | None, tpot: float, target: float) -> str:
    """What a TPOT rejection adds where the published runs of its case were faster than kvplan
    (``speed.TPOT_MEASURED``) by enough that the family might meet ``target`` after all: the range the
    measured TPOT would take at those errors. Nothing otherwise."""
    if case is None:
        return ""
    from kvplan.speed import TPOT_LEAN, TPOT_MEASURED

    rows, side, least, _, most, _ = TPOT_MEASURED[case]
    what, _, where = TPOT_LEAN[case]
    fastest, slowest = tpot / (1 + most), tpot / (1 + least)
    if fastest > target:
        return ""
    return (f"; but kvplan's TPOT for {what} was {where} the measured one in {side} of {rows} "
            f"published runs ({least:+.0%} to {most:+.0%}): measured, this family might run "
            f"{fastest * 1e3:,.1f}-{slowest * 1e3:,.1f} ms")


def _reject(gpu: str, w: str, kv: str, fam: _Family, start: int, max_gpus: int, users: int, peak: int,
            tpot_s, ttft_s) -> Rejection:
    """The family's closest miss: a layout that fits but is too slow (tpot, ttft) before a
    planned pool that does not hold the load (memory) before a layout the engine or the
    catalog refused (gpu) before the bound that rules a layout out unplanned (memory), and
    shape last. A refusal of every layout (the engine does not start the model on the GPU)
    is the family's reason whatever else."""
    if fam.refused:
        return Rejection(gpu, w, kv, "gpu", fam.refused)
    if fam.fitted:
        if tpot_s is not None and fam.best_tpot is not None and fam.best_tpot > tpot_s:
            return Rejection(gpu, w, kv, "tpot", f"fastest that fits: {fam.best_tpot * 1e3:,.1f} ms a token "
                                                 f"({fam.best_tpot_layout}) > {tpot_s * 1e3:g} ms"
                                                 + _pessimistic_note(fam.pessimistic, fam.best_tpot, tpot_s))
        if ttft_s is not None and (fam.best_ttft is None or fam.best_ttft > ttft_s):
            best = f"{fam.best_ttft:,.2f} s ({fam.best_ttft_layout})" if fam.best_ttft is not None else "none"
            return Rejection(gpu, w, kv, "ttft", f"fastest first token: {best} > {ttft_s:g} s")
        # each target is met by some layout, never both by one
        tpot_ttft = f"{fam.best_tpot_ttft:,.2f} s" if fam.best_tpot_ttft is not None else "-"
        return Rejection(gpu, w, kv, "tpot", f"no layout meets both: the fastest token, {fam.best_tpot * 1e3:,.1f} "
                                             f"ms ({fam.best_tpot_layout}), comes with a {tpot_ttft} first token; "
                                             f"the fastest first token, {fam.best_ttft:,.2f} s "
                                             f"({fam.best_ttft_layout}), with {fam.best_ttft_tpot * 1e3:,.1f} ms "
                                             f"tokens")
    if not any(c >= start for c in gpu_counts(max_gpus)):
        if fam.shape:
            return Rejection(gpu, w, kv, "shape", fam.shape)
        return Rejection(gpu, w, kv, "memory", f"weights + KV of {users:,} requests of {peak:,} tokens need at least "
                                               f"{start} GPUs, more than --max-gpus {max_gpus}")
    if fam.memory and (fam.memory_planned or not fam.gpu):
        return Rejection(gpu, w, kv, "memory", f"up to {max_gpus} GPUs; last tried {fam.memory}")
    if fam.gpu:
        return Rejection(gpu, w, kv, "gpu", fam.gpu)
    return Rejection(gpu, w, kv, "shape", fam.shape or f"no layout of up to {max_gpus} GPUs splits the model")
