"""Fit the speed model's factors to an engine's own benchmark runs (`kvplan calibrate`).

A `kvplan measure` report calibrates kvplan's own kernels, which docs/speed.md shows is not
enough to bring published engine figures within 10%: an engine step also pays for rotary,
sampling, scheduling and launch gaps that no kernel timing sees. What does carry them is the
engine's own TPOT at a few fixed concurrencies on the GPU you plan for. This module reads
those runs as the engines' benchmark clients save them and solves for the figures of
``kvplan/data/efficiency.yaml`` that make kvplan's TPOT match them, for one deployment.

Read formats (one run per JSON object; a file holds one object, a list, or one a line):

- vLLM ``vllm bench serve --save-result`` (vllm/benchmarks/serve.py, ``main``: ``result_json``
  with ``request_rate`` ("inf" when unpaced), ``max_concurrency``, then the ``benchmark``
  result's ``completed``, ``total_input_tokens``, ``total_output_tokens``,
  ``median_tpot_ms``, ``mean_tpot_ms``);
- SGLang ``python -m sglang.bench_serving --output-file`` (sglang 0.5.8
  python/sglang/bench_serving.py lines 2519-2565: the same fields, ``request_rate`` a number,
  inf when unpaced, and ``accept_length`` under speculative decoding), one object a line.

Each run gives one point: ``users`` = its concurrency (``max_concurrency``, or fewer when it
completed fewer requests), prompt and output = its mean tokens a request (totals / completed),
and its median (or mean) TPOT. Runs paced by a request rate do not hold a fixed concurrency
and are refused, as are runs with speculative decoding (`kvplan speed` does not model it).

The fit: the shipped fit's free figures (benchmarks/fit_speed.py: weights_bandwidth,
matrix_overhead_us, step_overhead_us, flops; its layer_overhead_us is kept, as one deployment
has one layer count and the step overhead takes up any difference), kv_bandwidth, which the
shipped fit could not set, and sequence_overhead_us, a cost per decoding sequence and step
(0 in the shipped factors). Without that last term the cost a step grows by with each user at
short contexts (sampling, input preparation, scheduling) can only be bought by reading the KV
at a few percent of the bandwidth, which then makes long prompts far too slow (held out on
the published rows: 61 of 75 within 20% without it, 73 with it; benchmarks/calibrate_holdout.py).
Levenberg-Marquardt on the log errors, each figure within the range
``kvplan.speed.load_calibration`` accepts; the first five in log space with a weak pull
(``PRIOR_WEIGHT``) towards the shipped value, so a figure the runs cannot tell apart from
another (flops, from runs without long prompts) stays where it was. Deterministic: the same
runs give the same file. Times are floats (estimates), not byte counts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path

from kvplan.errors import BadInputError

#: The figures fitted, as Efficiency fields (seconds for fixed costs) and as calibration keys.
#: The first five are fitted in log space with the weak pull towards the shipped value; the
#: per-sequence cost, 0 in the shipped factors, linearly from 0 without one.
FITTED = (("step_overhead_s", "step_overhead_us"), ("weights_bandwidth", "weights_bandwidth"),
          ("kv_bandwidth", "kv_bandwidth"), ("flops", "flops"), ("matrix_overhead_s", "matrix_overhead_us"),
          ("sequence_overhead_s", "sequence_overhead_us"))
LINEAR = frozenset({"sequence_overhead_s"})
#: A linear figure's unit in the fit (100 us), so that its steps are of the log figures' size.
LINEAR_UNIT_S = 1e-4
#: Weight of the pull of each figure's log towards the shipped value, against the squared log
#: errors of the points: moving a figure by a factor e costs what a 3% error on one point costs.
PRIOR_WEIGHT = 0.001
#: Lower end of a fixed cost in the fit (log space cannot reach 0): 0.01 us.
MIN_FIXED_S = 1e-8
METRICS = ("median", "mean")
#: Levenberg-Marquardt iterations at most (the fits of benchmarks/calibrate_holdout.py converge in
#: fewer).
MAX_ITERATIONS = 300
#: A fit that misses any of its own runs by more than this is refused, not written: the model
#: cannot follow them (impossible, contradictory or mislabelled runs).
MAX_FIT_ERROR = 0.10


@dataclass(frozen=True)
class BenchRun:
    """One fixed-concurrency run of an engine's benchmark client."""

    where: str  # file, and the line or item within it
    users: int
    prompt_tokens: int  # mean a request, rounded
    output_tokens: int
    tpot_ms: float
    path: str = ""  # the file it was read from
    #: what the result says of the server: SGLang's server_info (tp_size, pp_size, version), vLLM's
    #: model_id; checked against the deployment given (``check_runs``)
    server: tuple[tuple[str, object], ...] = ()

    def as_dict(self) -> dict:
        return {"where": self.where, "users": self.users, "prompt_tokens": self.prompt_tokens,
                "output_tokens": self.output_tokens, "tpot_ms": self.tpot_ms}


#: A result saved with every request's details (vllm bench serve --save-detailed, sglang.bench_serving
#: --output-details) can exceed what kvplan reads; the totals it needs are in the plain result.
_DETAILS_HINT = "; save the result without --save-detailed / --output-details (the totals are enough)"


def _objects(path: Path) -> list[tuple[str, object]]:
    """(where, object) for each run in ``path``: one JSON object, a list of them, or JSON Lines."""
    from kvplan.errors import SpecError
    from kvplan.loader import _read_text, loads_json

    try:
        text = _read_text(path)
        lines = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
        try:
            whole = loads_json(text, path)
        except SpecError:
            if len(lines) < 2:
                raise
            return [(f"{path}:{n}", loads_json(line, f"{path}:{n}")) for n, line in lines]
    except BadInputError as err:
        if "larger than" in str(err) or "more than" in str(err):
            raise BadInputError(f"{err}{_DETAILS_HINT}") from None
        raise
    if isinstance(whole, list):
        return [(f"{path}[{i}]", o) for i, o in enumerate(whole)]
    return [(str(path), whole)]


def _number(obj: dict, key: str, where: str, *, whole: bool = False, zero: bool = False) -> float:
    value = obj.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value or value in (
            float("inf"), float("-inf")):
        raise BadInputError(f"{where}: {key} is {value!r}, expected a number (a benchmark result saved by "
                            f"vllm bench serve --save-result or sglang.bench_serving --output-file)")
    if value < 0 or (value == 0 and not zero) or (whole and value != int(value)):
        raise BadInputError(f"{where}: {key} must be a positive {'whole ' if whole else ''}number, got {value!r}")
    return value


def _server_info(obj: dict) -> dict:
    """SGLang's saved server_info (bench_serving.py 0.5.8 lines 2511-2531: the /get_server_info
    body, http_server.py lines 581-598: the server args, scheduler info and version; a PD
    deployment nests the decode server's under "decode"), or {}."""
    info = obj.get("server_info")
    if isinstance(info, dict) and isinstance(info.get("decode"), list) and info["decode"]:
        info = info["decode"][0]
    return info if isinstance(info, dict) else {}


def _refuse_speculative(obj: dict, info: dict, where: str) -> None:
    """Runs with speculative decoding, which `kvplan speed` does not model: SGLang's accept_length
    (bench_serving.py 0.5.8 lines 2383-2402) or server_info.speculative_algorithm, vLLM's
    spec_decode_* metrics (vllm/benchmarks/serve.py 0.19.1 lines 1018-1028)."""
    why = None
    if obj.get("accept_length") not in (None, 0, 1, 1.0):
        why = f"accept_length {obj['accept_length']!r}"
    elif info.get("speculative_algorithm") not in (None, "", "NONE"):
        why = f"server_info speculative_algorithm {info['speculative_algorithm']!r}"
    else:
        spec = sorted(k for k, v in obj.items() if str(k).startswith("spec_decode_") and v is not None)
        if spec:
            why = f"{spec[0]} {obj[spec[0]]!r}"
    if why:
        raise BadInputError(f"{where}: {why}: a run with speculative decoding; kvplan speed does not model it")


def _run(where: str, obj, metric: str, path: str = "") -> BenchRun:
    if not isinstance(obj, dict):
        raise BadInputError(f"{where}: expected a JSON object (one benchmark run), got {type(obj).__name__}")
    if "request_rate" not in obj:
        raise BadInputError(f"{where}: no request_rate (a benchmark result saved by vllm bench serve --save-result "
                            f"or sglang.bench_serving --output-file has one)")
    rate = obj["request_rate"]
    if rate not in ("inf", float("inf")):
        raise BadInputError(f"{where}: request_rate {rate!r}: a paced run does not hold a fixed concurrency; "
                            f"calibrate from runs with --request-rate inf and --max-concurrency N")
    if obj.get("ramp_up_strategy") is not None:  # vllm/benchmarks/serve.py 0.19.1 lines 1848-1857
        raise BadInputError(f"{where}: ramp_up_strategy {obj['ramp_up_strategy']!r}: a ramped run does not hold "
                            f"a fixed concurrency; calibrate from runs without --ramp-up-strategy")
    if obj.get("max_concurrency") is None:
        raise BadInputError(f"{where}: no max_concurrency: calibrate from runs with --max-concurrency N "
                            f"(an unbounded run starts every request at once)")
    info = _server_info(obj)
    _refuse_speculative(obj, info, where)
    if "failed" in obj and _number(obj, "failed", where, whole=True, zero=True):
        raise BadInputError(f"{where}: {int(obj['failed']):,} requests failed: a run with failures held fewer "
                            f"requests than it says; calibrate from runs without failures")
    cap = int(_number(obj, "max_concurrency", where, whole=True))
    done = int(_number(obj, "completed", where, whole=True))
    prompt = _number(obj, "total_input_tokens", where, whole=True) / done
    output = _number(obj, "total_output_tokens", where, whole=True) / done
    if output < 2:
        raise BadInputError(f"{where}: {output:g} output tokens a request: TPOT needs at least 2")
    tpot = _number(obj, f"{metric}_tpot_ms", where)
    from kvplan import limits

    users = limits.check_int(min(cap, done), f"{where}: users", limits.MAX_BATCH)
    for value, what in ((prompt, "prompt"), (output, "output")):
        limits.check_int(round(value), f"{where}: mean {what}", limits.MAX_TOKENS, " tokens")
    if tpot > 1e6:
        raise BadInputError(f"{where}: {metric}_tpot_ms {tpot!r} is over 1,000 s a token; not a TPOT in milliseconds")
    server = tuple((k, info[k]) for k in ("tp_size", "pp_size", "dp_size", "enable_dp_attention", "version")
                   if k in info)
    if isinstance(obj.get("model_id"), str):
        server += (("model_id", obj["model_id"]),)
    return BenchRun(where, users, max(1, round(prompt)), round(output), float(tpot), path, server)


def read_runs(paths, metric: str = "median") -> list[BenchRun]:
    """Every run in ``paths`` (BadInputError, one line, for anything not a usable run)."""
    if metric not in METRICS:
        raise BadInputError(f"--metric: {metric!r}, expected one of {', '.join(METRICS)}")
    runs = [_run(where, obj, metric, str(p)) for p in paths for where, obj in _objects(Path(p))]
    if not runs:
        raise BadInputError("give at least one benchmark result file")
    return runs


def _release3(text: str) -> tuple[int, ...] | None:
    import re

    m = re.match(r"\s*(\d+)\.(\d+)\.(\d+)", str(text))
    return tuple(int(g) for g in m.groups()) if m else None


def check_runs(runs, pool) -> list[str]:
    """Refuse (BadInputError, one line) runs whose saved server state contradicts the deployment
    given: SGLang's tp_size / pp_size (with DP attention its --tp is kvplan's tp x dp) and its
    release; return notes for what can only be compared loosely (vLLM's model_id)."""
    req = pool.request
    engine = str(pool.engine)
    notes = []
    for r in runs:
        info = dict(r.server)
        if "version" in info:
            if not engine.startswith("sglang"):
                raise BadInputError(f"{r.where}: served by SGLang {info['version']} (server_info); give --engine "
                                    f"sglang==<that release>, not {engine}")
            have, want = _release3(info["version"]), _release3(engine.split("==", 1)[-1])
            if have and want and have != want:
                raise BadInputError(f"{r.where}: served by SGLang {info['version']} (server_info), not {engine}; "
                                    f"calibrate with the release the runs used")
        if "tp_size" in info:
            tp = req.tp * req.dp if info.get("enable_dp_attention") else req.tp
            if info["tp_size"] != tp:
                raise BadInputError(f"{r.where}: the server ran --tp {info['tp_size']} (server_info), but this "
                                    f"deployment is tp {tp}; give the layout the runs used")
        if "pp_size" in info and info["pp_size"] != req.pp:
            raise BadInputError(f"{r.where}: the server ran --pp {info['pp_size']} (server_info), but this deployment "
                                f"is pp {req.pp}; give the layout the runs used")
        if "model_id" in info:
            names = {n.lower() for n in (req.spec.name, req.spec.display_name, *req.spec.aliases)}
            model = str(info["model_id"]).rstrip("/").lower()
            if model not in names and model.rsplit("/", 1)[-1] not in {n.rsplit("/", 1)[-1] for n in names}:
                notes.append(f"{r.where}: the runs name the model {info['model_id']!r}, which is not one of "
                             f"{req.spec.name}'s names; check that they ran this model")
    return list(dict.fromkeys(notes))


@dataclass(frozen=True)
class Fit:
    """The fitted efficiency, and each run beside kvplan's shipped and calibrated TPOT."""

    efficiency: object  # kvplan.speed.Efficiency
    shipped: object
    runs: tuple[BenchRun, ...]
    shipped_ms: tuple[float, ...]
    fitted_ms: tuple[float, ...]
    iterations: int
    converged: bool = True

    def at_bounds(self) -> list[str]:
        """The fitted figures that ended at an end of their range (the runs asked for more)."""
        out = []
        for field, key in FITTED:
            lo, hi = _bounds(field)
            v = getattr(self.efficiency, field)
            if field not in LINEAR and (math.isclose(v, lo, rel_tol=1e-6) or math.isclose(v, hi, rel_tol=1e-6)):
                out.append(f"{key} {_as_key(key, v):g}")
        return out

    def refusal(self) -> str | None:
        """Why this fit must not be written (``MAX_FIT_ERROR``: the model cannot follow the runs),
        or None."""
        errors = self.errors()
        worst = max(range(len(errors)), key=lambda i: abs(errors[i]))
        if abs(errors[worst]) <= MAX_FIT_ERROR:
            return None
        r = self.runs[worst]
        bounds = self.at_bounds()
        return (f"the fitted figures miss {r.where} ({r.users:,} users) by {100 * errors[worst]:+.1f}% (more than "
                f"{100 * MAX_FIT_ERROR:g}%): kvplan's model cannot follow these runs"
                + (f" (at the end of its range: {', '.join(bounds)})" if bounds else "")
                + "; check the deployment options and that the runs are of this deployment")

    def figures(self) -> dict:
        """The fitted figures under their calibration-file keys."""
        return {key: _as_key(key, getattr(self.efficiency, field)) for field, key in FITTED}

    def shipped_figures(self) -> dict:
        return {key: _as_key(key, getattr(self.shipped, field)) for field, key in FITTED}

    def errors(self, which: str = "fitted") -> list[float]:
        ms = self.fitted_ms if which == "fitted" else self.shipped_ms
        return [(p - r.tpot_ms) / r.tpot_ms for p, r in zip(ms, self.runs)]


def _as_key(key: str, value: float) -> float:
    return round(value * 1e6, 3) if key.endswith("_us") else round(value, 4)


def _bounds(field: str) -> tuple[float, float]:
    from kvplan.speed import MAX_FIXED_US, MIN_FRACTION

    return (MIN_FIXED_S, MAX_FIXED_US / 1e6) if field.endswith("_s") else (MIN_FRACTION, 1.0)


def solve(a: list[list[float]], b: list[float]) -> list[float]:
    """Gaussian elimination with partial pivoting (a is small; with LM damping, regular).
    benchmarks/fit_speed.py solves its Newton steps with it too."""
    n = len(b)
    m = [row[:] + [b[i]] for i, row in enumerate(a)]
    for c in range(n):
        p = max(range(c, n), key=lambda r: abs(m[r][c]))
        m[c], m[p] = m[p], m[c]
        for r in range(n):
            if r != c and m[c][c]:
                f = m[r][c] / m[c][c]
                m[r] = [x - f * y for x, y in zip(m[r], m[c])]
    return [m[i][n] / m[i][i] for i in range(n)]


def tpot_ms(pool, efficiency, run: BenchRun, fuse_allreduce_rms: bool | None = None) -> float:
    """kvplan's TPOT for ``run`` on ``pool`` with ``efficiency`` (BadInputError where the pool
    does not hold the run's users: kvplan cannot time what it says does not fit)."""
    return tpots_ms(pool, efficiency, (run,), fuse_allreduce_rms)[0]


def tpots_ms(pool, efficiency, runs, fuse_allreduce_rms: bool | None = None) -> tuple[float, ...]:
    """``tpot_ms`` of each of ``runs``, the speed model set up once for ``efficiency``."""
    from kvplan.speed import estimate, setup

    s = setup(pool, efficiency, fuse_allreduce_rms)
    out = []
    for run in runs:
        point = estimate(s, run.users, run.prompt_tokens, run.output_tokens)
        if not point.fits:
            raise BadInputError(f"{run.where}: {run.users:,} users of {run.prompt_tokens:,} + {run.output_tokens:,} "
                                f"tokens do not fit this deployment as kvplan plans it ({point.reason}); check the "
                                f"deployment options, or leave this run out")
        out.append(point.tpot_s * 1e3)
    return tuple(out)


def fit(pool, runs, base=None, fuse_allreduce_rms: bool | None = None, progress=None) -> Fit:
    """Solve the FITTED figures so that kvplan's TPOT on ``pool`` matches ``runs`` (least
    squares of the log errors, with the weak pull towards ``base``, the shipped factors by
    default). ``progress``: called with (iteration, max iterations)."""
    from kvplan.speed import default_efficiency

    runs = tuple(runs)
    if not runs:
        raise BadInputError("give at least one benchmark run to calibrate from")
    if len({r.users for r in runs}) < 2:
        raise BadInputError(f"every run has {runs[0].users} users: the fixed cost of a step and its cost per byte "
                            f"cannot be told apart; give runs at two or more concurrencies (e.g. 4, 16, 64)")
    base = base or default_efficiency(pool.request.gpu)
    fields = [f for f, _ in FITTED]
    lows, highs = zip(*(_bounds(f) for f in fields))
    lin = [f in LINEAR for f in fields]

    def to_x(f: str, v: float, lo: float, hi: float) -> float:
        v = min(max(v, 0.0 if f in LINEAR else lo), hi)
        return v / LINEAR_UNIT_S if f in LINEAR else math.log(v)

    start = [to_x(f, getattr(base, f), lo, hi) for f, lo, hi in zip(fields, lows, highs)]
    shipped = tpots_ms(pool, base, runs, fuse_allreduce_rms)

    def eff(x: list[float]):
        return replace(base, **{f: v * LINEAR_UNIT_S if li else math.exp(v) for f, v, li in zip(fields, x, lin)})

    def residuals(x: list[float]) -> list[float]:
        out = [math.log(t / r.tpot_ms) for t, r in zip(tpots_ms(pool, eff(x), runs, fuse_allreduce_rms), runs)]
        return out + [math.sqrt(PRIOR_WEIGHT) * (v - s) for v, s, li in zip(x, start, lin) if not li]

    bottom = [0.0 if li else math.log(lo) for lo, li in zip(lows, lin)]
    top = [hi / LINEAR_UNIT_S if li else math.log(hi) for hi, li in zip(highs, lin)]

    def clamp(x: list[float]) -> list[float]:
        return [min(max(v, b), t) for v, b, t in zip(x, bottom, top)]

    x, damping, step = start[:], 1e-2, 1e-4
    r = residuals(x)
    cost = sum(v * v for v in r)
    iterations, converged = 0, False
    for iterations in range(1, MAX_ITERATIONS + 1):
        if progress:
            progress(iterations, MAX_ITERATIONS)
        jac = []
        for j in range(len(x)):
            y = x[:]
            y[j] += step
            jac.append([(a - b) / step for a, b in zip(residuals(y), r)])
        g = [-sum(jac[i][k] * r[k] for k in range(len(r))) for i in range(len(x))]
        # a figure at an end of its range that the descent pushes further out stays there (active set)
        free = [i for i in range(len(x)) if not ((x[i] >= top[i] and g[i] > 0) or (x[i] <= bottom[i] and g[i] < 0))]
        a = [[sum(jac[i][k] * jac[j][k] for k in range(len(r))) + (damping if i == j else 0.0) for j in free]
             for i in free]
        d = dict(zip(free, solve(a, [g[i] for i in free]))) if free else {}
        y = clamp([v + d.get(i, 0.0) for i, v in enumerate(x)])
        ry = residuals(y)
        cy = sum(v * v for v in ry)
        if cy < cost:
            # converged: the cost falls by less than a relative 1e-6, or no figure moves by 1e-6 (log):
            # the runs' fitted TPOT then moves by well under 0.01%
            converged = cost - cy <= 1e-6 * cost or max(abs(u - v) for u, v in zip(x, y)) < 1e-6
            x, r, cost, damping = y, ry, cy, max(damping / 3, 1e-9)
        else:
            damping *= 4
            converged = damping > 1e8  # no step lowers the cost: a minimum within the bounds
        if converged:
            break
    fitted = eff(x)
    return Fit(fitted, base, runs, shipped, tpots_ms(pool, fitted, runs, fuse_allreduce_rms), iterations, converged)


def calibration_file(result: Fit, pool, metric: str, fused: bool) -> dict:
    """The calibration JSON `kvplan speed --calibration` reads: the fitted figures, the GPU,
    a source line, and what it was fitted on (``fitted_on``: the deployment, whether its tp
    all-reduces ran fused (``fused``: kvplan.speed.Setup.allreduce_fusion.on), every run, and
    the fit's iterations)."""
    req = pool.request
    files = ", ".join(dict.fromkeys(r.path for r in result.runs))
    source = (f"kvplan calibrate: fitted to {len(result.runs)} {metric} TPOT runs of {req.spec.display_name} on "
              f"{req.num_gpus} x {req.gpu.name} under {pool.engine} ({files})")
    points = [{**r.as_dict(), "shipped_ms": round(s, 3), "calibrated_ms": round(f, 3)}
              for r, s, f in zip(result.runs, result.shipped_ms, result.fitted_ms)]
    return {"kvplan_calibration": 1, "gpu": req.gpu.name, "source": source, **result.figures(),
            "fitted_on": {**deployment_of(pool, fused), "metric": metric, "iterations": result.iterations,
                          "converged": result.converged, "runs": points}}


def deployment_of(pool, fused: bool | None = None) -> dict:
    """What a calibration's figures belong to: model, engine, layout, formats, and (where
    known) whether the tp all-reduces ran fused with their RMSNorm."""
    req = pool.request
    out = {"model": req.spec.name, "engine": pool.engine, "tp": req.tp, "pp": req.pp, "dp": req.dp,
           "enable_expert_parallel": bool(req.enable_expert_parallel), "weights": pool.weights.format,
           "kv_dtype": req.kv_format.name}
    if fused is not None:
        out["fuse_allreduce_rms"] = bool(fused)
    return out


def mismatch(where: dict, pool, fused: bool | None = None) -> list[str]:
    """The deployment fields ``pool`` differs in from what a calibration was fitted on."""
    here = deployment_of(pool, fused)
    return [f"{k} {where[k]}, here {here[k]}" for k in here if k in where and where[k] != here[k]]


def fitted_on(path) -> dict | None:
    """The deployment a calibration file was fitted on (its ``fitted_on``), or None for a
    file `kvplan calibrate` did not write (a measure report, a hand-written file)."""
    from kvplan.loader import read_json

    data = read_json(Path(path))
    where = data.get("fitted_on") if isinstance(data, dict) else None
    return where if isinstance(where, dict) else None


#: How far beyond its runs' lengths a calibration is used without a caveat: a quarter (a run's
#: lengths are means over requests, which benchmark clients draw from ranges such as [0.8 L, L]).
LENGTH_SLACK = 1.25


def _near(value: int, span: tuple[int, int]) -> bool:
    return span[0] / LENGTH_SLACK <= value <= span[1] * LENGTH_SLACK


def _span(values) -> tuple[int, int] | None:
    values = [v for v in values if isinstance(v, int) and not isinstance(v, bool)]
    return (min(values), max(values)) if values else None


def calibration_notes(path, where: dict | None, pool, fused: bool | None, ctx: int,
                      output_tokens: int | None) -> list[str]:
    """Caveats of a `kvplan calibrate` file (``where``: its fitted_on) for a load of ``ctx``
    prompt tokens and ``output_tokens`` on ``pool``: another deployment than the one fitted;
    a prompt or output outside the runs' range (what the runs did not exercise keeps the
    weakly pulled, shipped-like figures); none for other calibration files."""
    if not where:
        return []
    name = Path(path).name
    out = []
    diff = mismatch(where, pool, fused)
    if diff:
        out.append(f"calibration {name} was fitted on another deployment ({'; '.join(diff)}); its figures are "
                   f"that deployment's and may not carry over: calibrate on this one")
    runs = [r for r in where.get("runs") or () if isinstance(r, dict)]
    prompts, outputs = _span(r.get("prompt_tokens") for r in runs), _span(r.get("output_tokens") for r in runs)
    outside = []
    if prompts and not _near(ctx, prompts):
        outside.append(f"prompts of {ctx:,} (runs: {prompts[0]:,}-{prompts[1]:,})")
    if outputs and output_tokens is not None and not _near(output_tokens, outputs):
        outside.append(f"outputs of {output_tokens:,} (runs: {outputs[0]:,}-{outputs[1]:,})")
    if outside:
        out.append(f"calibration {name}: {' and '.join(outside)} lie outside its runs; held out on published runs "
                   f"such a calibration carried within 10% less often than between its runs (docs/speed.md)")
    return out
