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

import json
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


@dataclass(frozen=True)
class BenchRun:
    """One fixed-concurrency run of an engine's benchmark client."""

    where: str  # file, and the line or item within it
    users: int
    prompt_tokens: int  # mean a request, rounded
    output_tokens: int
    tpot_ms: float

    def as_dict(self) -> dict:
        return {"where": self.where, "users": self.users, "prompt_tokens": self.prompt_tokens,
                "output_tokens": self.output_tokens, "tpot_ms": self.tpot_ms}


def _objects(path: Path) -> list[tuple[str, object]]:
    """(where, object) for each run in ``path``: one JSON object, a list of them, or JSON Lines."""
    from kvplan.errors import SpecError
    from kvplan.loader import _read_text, loads_json

    text = _read_text(path)
    lines = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
    try:
        whole = loads_json(text, path)
    except SpecError:
        if len(lines) < 2:
            raise
        return [(f"{path}:{n}", loads_json(line, f"{path}:{n}")) for n, line in lines]
    if isinstance(whole, list):
        return [(f"{path}[{i}]", o) for i, o in enumerate(whole)]
    return [(str(path), whole)]


def _number(obj: dict, key: str, where: str, *, whole: bool = False) -> float:
    value = obj.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value or value in (
            float("inf"), float("-inf")):
        raise BadInputError(f"{where}: {key} is {value!r}, expected a number (a benchmark result saved by "
                            f"vllm bench serve --save-result or sglang.bench_serving --output-file)")
    if value <= 0 or (whole and value != int(value)):
        raise BadInputError(f"{where}: {key} must be a positive {'whole ' if whole else ''}number, got {value!r}")
    return value


def _run(where: str, obj, metric: str) -> BenchRun:
    if not isinstance(obj, dict):
        raise BadInputError(f"{where}: expected a JSON object (one benchmark run), got {type(obj).__name__}")
    rate = obj.get("request_rate", "inf")
    if rate not in ("inf", float("inf")):
        raise BadInputError(f"{where}: request_rate {rate!r}: a paced run does not hold a fixed concurrency; "
                            f"calibrate from runs with --request-rate inf and --max-concurrency N")
    if obj.get("max_concurrency") is None:
        raise BadInputError(f"{where}: no max_concurrency: calibrate from runs with --max-concurrency N "
                            f"(an unbounded run starts every request at once)")
    if obj.get("accept_length") not in (None, 0, 1, 1.0):
        raise BadInputError(f"{where}: accept_length {obj['accept_length']!r}: a run with speculative decoding; "
                            f"kvplan speed does not model it")
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
    return BenchRun(where, users, max(1, round(prompt)), round(output), float(tpot))


def read_runs(paths, metric: str = "median") -> list[BenchRun]:
    """Every run in ``paths`` (BadInputError, one line, for anything not a usable run)."""
    if metric not in METRICS:
        raise BadInputError(f"--metric: {metric!r}, expected one of {', '.join(METRICS)}")
    runs = [_run(where, obj, metric) for p in paths for where, obj in _objects(Path(p))]
    if not runs:
        raise BadInputError("give at least one benchmark result file")
    return runs


@dataclass(frozen=True)
class Fit:
    """The fitted efficiency, and each run beside kvplan's shipped and calibrated TPOT."""

    efficiency: object  # kvplan.speed.Efficiency
    shipped: object
    runs: tuple[BenchRun, ...]
    shipped_ms: tuple[float, ...]
    fitted_ms: tuple[float, ...]
    iterations: int

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


def _solve(a: list[list[float]], b: list[float]) -> list[float]:
    """Gaussian elimination with partial pivoting (a is small and, with LM damping, regular)."""
    n = len(b)
    m = [row[:] + [b[i]] for i, row in enumerate(a)]
    for c in range(n):
        p = max(range(c, n), key=lambda r: abs(m[r][c]))
        m[c], m[p] = m[p], m[c]
        for r in range(n):
            if r != c:
                f = m[r][c] / m[c][c]
                m[r] = [x - f * y for x, y in zip(m[r], m[c])]
    return [m[i][n] / m[i][i] for i in range(n)]


def tpot_ms(pool, efficiency, run: BenchRun, fuse_allreduce_rms: bool | None = None) -> float:
    """kvplan's TPOT for ``run`` on ``pool`` with ``efficiency`` (BadInputError where the pool
    does not hold the run's users: kvplan cannot time what it says does not fit)."""
    from kvplan.speed import estimate, setup

    point = estimate(setup(pool, efficiency, fuse_allreduce_rms), run.users, run.prompt_tokens, run.output_tokens)
    if not point.fits:
        raise BadInputError(f"{run.where}: {run.users:,} users of {run.prompt_tokens:,} + {run.output_tokens:,} tokens "
                            f"do not fit this deployment as kvplan plans it ({point.reason}); check the deployment "
                            f"options, or leave this run out")
    return point.tpot_s * 1e3


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
    shipped = tuple(tpot_ms(pool, base, r, fuse_allreduce_rms) for r in runs)

    def eff(x: list[float]):
        return replace(base, **{f: v * LINEAR_UNIT_S if li else math.exp(v) for f, v, li in zip(fields, x, lin)})

    def residuals(x: list[float]) -> list[float]:
        e = eff(x)
        out = [math.log(tpot_ms(pool, e, r, fuse_allreduce_rms) / r.tpot_ms) for r in runs]
        return out + [math.sqrt(PRIOR_WEIGHT) * (v - s) for v, s, li in zip(x, start, lin) if not li]

    def clamp(x: list[float]) -> list[float]:
        return [min(max(v, 0.0), hi / LINEAR_UNIT_S) if li else min(max(v, math.log(lo)), math.log(hi))
                for v, lo, hi, li in zip(x, lows, highs, lin)]

    x, damping, step = start[:], 1e-2, 1e-4
    r = residuals(x)
    cost = sum(v * v for v in r)
    iterations, limit = 0, 60
    for iterations in range(1, limit + 1):
        if progress:
            progress(iterations, limit)
        jac = []
        for j in range(len(x)):
            y = x[:]
            y[j] += step
            jac.append([(a - b) / step for a, b in zip(residuals(y), r)])
        n = len(x)
        a = [[sum(jac[i][k] * jac[j][k] for k in range(len(r))) + (damping if i == j else 0.0) for j in range(n)]
             for i in range(n)]
        g = [-sum(jac[i][k] * r[k] for k in range(len(r))) for i in range(n)]
        y = clamp([v + d for v, d in zip(x, _solve(a, g))])
        ry = residuals(y)
        cy = sum(v * v for v in ry)
        if cy < cost:
            done = cost - cy < 1e-12
            x, r, cost, damping = y, ry, cy, max(damping / 3, 1e-9)
            if done:
                break
        else:
            damping *= 4
            if damping > 1e6:
                break
    fitted = eff(x)
    return Fit(fitted, base, runs, shipped, tuple(tpot_ms(pool, fitted, r, fuse_allreduce_rms) for r in runs),
               iterations)


def calibration_file(result: Fit, pool, sources: list[str], metric: str) -> dict:
    """The calibration JSON `kvplan speed --calibration` reads: the fitted figures, the GPU,
    a source line, and what it was fitted on (``fitted_on``: the deployment and every run)."""
    req = pool.request
    deployment = deployment_of(pool)
    files = ", ".join(dict.fromkeys(sources))
    source = (f"kvplan calibrate: fitted to {len(result.runs)} {metric} TPOT runs of {req.spec.display_name} on "
              f"{req.num_gpus} x {req.gpu.name} under {pool.engine} ({files})")
    points = [{**r.as_dict(), "shipped_ms": round(s, 3), "calibrated_ms": round(f, 3)}
              for r, s, f in zip(result.runs, result.shipped_ms, result.fitted_ms)]
    return {"kvplan_calibration": 1, "gpu": req.gpu.name, "source": source, **result.figures(),
            "fitted_on": {**deployment, "metric": metric, "runs": points}}


def deployment_of(pool) -> dict:
    """What a calibration's fixed costs belong to: model, engine, layout, formats."""
    req = pool.request
    return {"model": req.spec.name, "engine": pool.engine, "tp": req.tp, "pp": req.pp, "dp": req.dp,
            "enable_expert_parallel": bool(req.enable_expert_parallel), "weights": pool.weights.format,
            "kv_dtype": req.kv_format.name}


def mismatch(fitted_on: dict, pool) -> list[str]:
    """The deployment fields ``pool`` differs in from what a calibration was fitted on."""
    here = deployment_of(pool)
    return [f"{k} {fitted_on[k]}, here {here[k]}" for k in here if k in fitted_on and fitted_on[k] != here[k]]


def fitted_on(path) -> dict | None:
    """The deployment a calibration file was fitted on (its ``fitted_on``), or None for a
    file `kvplan calibrate` did not write (a measure report, a hand-written file)."""
    from kvplan.loader import read_json

    data = read_json(Path(path))
    where = data.get("fitted_on") if isinstance(data, dict) else None
    return where if isinstance(where, dict) else None


def mismatch_note(path, where: dict | None, pool) -> str | None:
    """One line when ``pool``'s deployment is not the one ``where`` (``fitted_on``) names."""
    diff = mismatch(where, pool) if where else []
    if not diff:
        return None
    return (f"calibration {Path(path).name} was fitted on another deployment ({'; '.join(diff)}); its fixed costs "
            f"are that deployment's and may not carry over: calibrate on this one")
