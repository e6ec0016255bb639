"""`kvplan check`: deployment plans and their requirements.

A plan (YAML or JSON) lists deployments; each names a model, a GPU, parallelism,
formats and engine settings, and requirements:

    defaults: {engine: vllm, gpu_memory_utilization: 0.9}
    deployments:
      - name: chat-8b
        model: llama3.1-8b
        gpu: h100
        kv_dtype: fp8
        max_model_len: 32k
        requires:
          max_model_len_fits: true             # default: one request of max_model_len fits
          min_concurrency: [{ctx: 8k, requests: 64}]
          min_kv_tokens: 400k
          min_headroom: 4GiB                   # KV pool left after the largest load

Deployments also take vLLM's names for the same fields (``tensor_parallel_size``,
``kv_cache_dtype``, ``kv_cache_memory_bytes``, ``num_gpu_blocks_override`` ...; SGLang's with
``engine: sglang``) and a whole launch command (``from_vllm: "vllm serve MODEL ..."``, read by
kvplan.vllm_args). ``check_plan`` builds one ``kvplan.capacity`` request and pool per deployment and asks the
pool every requirement, with integers: ``requests`` whole requests of ``ctx`` tokens need
``requests * blocks_per_request(ctx)`` blocks of the pool, ``ctx`` at most max_model_len and
``requests`` at most max_num_seqs. A malformed plan raises
BadInputError (exit 2); failures are data (the CLI exits 1).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kvplan.errors import BadInputError, KvplanError
from kvplan.units import suffix_note


@dataclass(frozen=True)
class Deployment:
    """A validated deployment (plain values; see kvplan.schema.DeploymentSchema)."""

    index: int
    name: str
    model: str
    settings: dict  # plan_capacity keyword arguments
    requires: dict
    notes: tuple[str, ...] = ()  # how a from_vllm / from_sglang command was read


@dataclass(frozen=True)
class Plan:
    path: str
    deployments: tuple[Deployment, ...]


@dataclass(frozen=True)
class RequirementResult:
    deployment: str
    requirement: str
    passed: bool
    message: str
    measured: int | float | None = None
    required: int | float | None = None


@dataclass(frozen=True)
class DeploymentResult:
    name: str
    capacity: object  # kvplan.capacity.Capacity
    results: tuple[RequirementResult, ...]

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)


@dataclass(frozen=True)
class CheckReport:
    plan: str
    deployments: tuple[DeploymentResult, ...]

    @property
    def passed(self) -> bool:
        return all(d.passed for d in self.deployments)

    @property
    def num_requirements(self) -> int:
        return sum(len(d.results) for d in self.deployments)


def load_plan(path: str | Path) -> Plan:
    """Read and validate a plan file; raise BadInputError with one line on any problem."""
    from pydantic import ValidationError

    from kvplan.loader import read_structured
    from kvplan.schema import DeploymentSchema, PlanSchema, first_error, validation_message

    path = Path(path)
    data = read_structured(path)
    if not isinstance(data, dict):
        raise BadInputError(f"{path}: a plan must be a mapping with a `deployments` list")
    try:
        top = PlanSchema.model_validate(data)
    except ValidationError as err:
        raise BadInputError(validation_message(err, str(path), PlanSchema)) from None
    deployments, names = [], set()
    for i, raw in enumerate(top.deployments):
        merged = {**top.defaults, **raw}
        if isinstance(top.defaults.get("requires"), dict) and isinstance(raw.get("requires"), dict):
            merged["requires"] = {**top.defaults["requires"], **raw["requires"]}
        try:
            d = DeploymentSchema.model_validate(merged)
        except ValidationError as err:
            msg = validation_message(err, "", DeploymentSchema)
            loc = first_error(err, DeploymentSchema)["loc"]
            sep = "." if loc else ": "  # a field, or the deployment as a whole
            where = "defaults" if _from_defaults(loc, raw, top.defaults) else f"deployments.{i}"
            raise BadInputError(f"{path}: {where}{sep}{msg}") from None
        if d.name in names:
            raise BadInputError(f"{path}: deployments.{i}.name: {d.name!r} is used twice; names must be unique")
        pairs = [(c.ctx, c.requests) for c in d.requires.min_concurrency]
        twice = next((p for k, p in enumerate(pairs) if p in pairs[:k]), None)
        if twice:
            raise BadInputError(f"{path}: deployments.{i}.requires.min_concurrency: {twice[1]} requests of {twice[0]:,} "
                                f"tokens is listed twice")
        names.add(d.name)
        settings = {
            "gpu": d.gpu, "gpu_mem_bytes": d.gpu_mem, "tp": d.tp, "pp": d.pp, "dp": d.dp, "weights": d.weights,
            "quantization": d.quantization, "kv_format": d.kv_dtype, "engine": d.engine,
            "gpu_memory_utilization": d.gpu_memory_utilization, "max_model_len": d.max_model_len,
            "max_num_batched_tokens": d.max_num_batched_tokens, "max_num_seqs": d.max_num_seqs,
            "block_size": d.block_size, "dtype": d.dtype, "kv_cache_memory_bytes": d.kv_cache_memory_bytes,
            "num_gpu_blocks_override": d.num_gpu_blocks_override,
            "disable_hybrid_kv_cache_manager": d.disable_hybrid_kv_cache_manager,
            "allow_long_max_model_len": d.allow_long_max_model_len,
            "enable_expert_parallel": d.enable_expert_parallel, "enable_prefix_caching": d.enable_prefix_caching,
            "cpu_offload_gb": d.cpu_offload_gb,
            "swap_space": d.swap_space, "window": d.window, "sinks": d.sinks,
            "speculative_config": d.speculative_config,
        }
        model, notes = d.model, ()
        if d.from_vllm is not None or d.from_sglang is not None:
            model, settings, notes = _launch(d, settings, f"{path}: deployments.{i}")
        notes += tuple(f"{d.name}: {text}" for key in ("max_model_len", "max_num_batched_tokens")
                       if (text := suffix_note(key, merged.get(key))))  # as written: the schema made it a number
        candidate = path.parent / model
        if ("/" in model or model.endswith((".yaml", ".yml", ".json"))) and candidate.exists():
            model = str(candidate)  # spec paths are relative to the plan file
        for key, default in (("tp", 1), ("pp", 1), ("dp", 1)):
            settings[key] = settings[key] or default
        deployments.append(Deployment(i, d.name, model, settings, d.requires.model_dump(), notes))
    return Plan(str(path), tuple(deployments))


def _from_defaults(loc: tuple, raw: dict, defaults: dict) -> bool:
    """Whether the field at ``loc`` (of a deployment merged with the plan's defaults) came from
    ``defaults:`` (a field, under any of its names, or a key of a merged ``requires``)."""
    from kvplan.schema import DEPLOYMENT_ALIASES

    if not loc:
        return False
    names = {loc[0], *(alias for alias, field in DEPLOYMENT_ALIASES.items() if field == loc[0])}
    given = [n for n in names if n in raw]
    if loc[0] == "requires" and len(loc) > 1 and isinstance(raw.get("requires"), dict):
        inner = defaults.get("requires")
        return loc[1] not in raw["requires"] and isinstance(inner, dict) and loc[1] in inner
    return not given and any(n in defaults for n in names)


def _launch(d, settings: dict, where: str) -> tuple[str, dict, tuple[str, ...]]:
    """Merge a deployment's from_vllm / from_sglang command into its settings (the command's
    options and the deployment's fields may not overlap)."""
    from kvplan.vllm_args import parse_sglang, parse_vllm, vllm_release

    if d.from_vllm is not None and d.from_sglang is not None:
        raise BadInputError(f"{where}: give from_vllm or from_sglang, not both")
    try:
        release = vllm_release(settings["engine"]) if d.from_vllm is not None else None
    except BadInputError as err:
        raise BadInputError(f"{where}: {err}") from None
    try:
        cmd = parse_vllm(d.from_vllm, release) if d.from_vllm is not None else parse_sglang(d.from_sglang)
    except BadInputError as err:
        raise BadInputError(f"{where}.from_{'vllm' if d.from_vllm is not None else 'sglang'}: {err}") from None
    out = dict(settings)
    if not str(out["engine"]).strip().lower().startswith(cmd.engine):
        if out["engine"] != "vllm":
            raise BadInputError(f"{where}: from_{cmd.engine} is a {cmd.engine} command, but engine is {out['engine']}")
        out["engine"] = cmd.engine
    for key, value in cmd.options.items():
        if out.get(key) not in (None, False):
            raise BadInputError(f"{where}: {key} is given both in from_{cmd.engine} and as a field")
        out[key] = value
    if cmd.engine_options:  # LLM(...), --enforce-eager, VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS
        from kvplan.engines import get_engine

        out["engine"] = get_engine(out["engine"], **cmd.engine_options)
    model = d.model or cmd.model
    if model is None:
        raise BadInputError(f"{where}: the {cmd.engine} command names no model")
    return model, out, tuple(f"{d.name}: {n}" for n in cmd.notes)


def _capacity(dep: Deployment, plan_path: str):
    """The deployment's Capacity (one request, one pool: kvplan.capacity)."""
    from kvplan.capacity import make_request, plan, summarize
    from kvplan.loader import load_model

    settings = dict(dep.settings)
    gpu = settings.pop("gpu")
    try:
        return summarize(plan(make_request(load_model(dep.model), gpu, **settings)), suggest=False)
    except KvplanError as err:
        raise BadInputError(f"{plan_path}: deployments.{dep.index} ({dep.name}): {err}") from None


def check_deployment(dep: Deployment, plan_path: str = "") -> DeploymentResult:
    """Every requirement of one deployment, with the numbers that decide it. Each is a
    question to the deployment's one pool (kvplan.capacity.Pool). The first, ``starts``, is
    always asked: a deployment whose engine does not start (weights beyond the GPU, vLLM's
    start-up check) fails whatever else it requires."""
    cap = _capacity(dep, plan_path)
    pool = cap.pool
    req = dep.requires
    out = []

    # Tokens and requests count one replica (tp x pp GPUs, one engine instance); with dp the
    # deployment has dp such replicas, and the messages say so.
    replicas = f" (per replica; the deployment has {cap.dp} replicas)" if cap.dp > 1 else ""

    def add(name, ok, message, measured=None, required=None):
        out.append(RequirementResult(dep.name, name, ok, message, measured, required))

    start = pool.startup()
    override = " (--num-gpu-blocks-override)" if cap.request.num_gpu_blocks_override is not None else ""
    add("starts", start.ok, start.reason if not start else (
        f"{cap.engine} starts: weights {cap.weights_bytes:,} B per GPU, KV cache {cap.kv_cache_tokens:,} tokens in "
        f"{cap.num_blocks:,} blocks{override}" if pool.paged else f"{cap.engine} starts (no paged KV cache)"))
    if req["max_model_len_fits"]:
        # the deployment starts (Pool.planned) and one request of max_model_len runs: under SGLang,
        # which starts with a pool shorter than max_model_len and caps requests at it, and under vLLM
        # 0.14.0-0.18.1, whose start-up check counts the first KV-cache group only, the second can
        # fail alone
        v = pool.runs(cap.model_len_request_tokens, 1)
        message = v.reason if not v else (
            f"one request of {cap.model_len_request_tokens:,} tokens needs {cap.blocks_per_request:,} blocks; "
            f"the pool holds {cap.num_blocks:,} ({cap.kv_cache_tokens:,} tokens)")
        add("max_model_len_fits", v.ok, message, cap.num_blocks, cap.blocks_per_request)
    if req["min_kv_tokens"] is not None:
        need = req["min_kv_tokens"]
        add("min_kv_tokens", cap.kv_cache_tokens >= need,
            f"KV cache holds {cap.kv_cache_tokens:,} tokens; required {need:,}{replicas}", cap.kv_cache_tokens, need)
    loads = []  # (blocks, ctx, requests) of each load the pool's memory decides
    ctxs = [c["ctx"] for c in req["min_concurrency"]]
    for c in req["min_concurrency"]:
        ctx, n = c["ctx"], c["requests"]
        # one name per requirement (JUnit keys a test case on it): the count too where a ctx repeats
        name = f"min_concurrency@{ctx}" + (f"x{n}" if ctxs.count(ctx) > 1 else "")
        # as `kvplan capacity --ctx --batch` (Pool.runs): the engine starts, then the load runs
        v = pool.runs(ctx, n)
        fit = pool.max_requests(ctx)
        if not pool.planned() or v.bound in ("weights", "max_model_len", "max_num_seqs"):
            message = v.reason
        elif not pool.paged:  # a request holds no block: max_num_seqs is the count (Pool.max_requests)
            message = (f"{n} request{'s' if n != 1 else ''} of {ctx:,} tokens hold no KV blocks (no paged KV cache); "
                       f"{fit:,} such requests run at once (max_num_seqs){replicas}")
        else:
            per = pool.blocks_per_request(ctx)
            loads.append((n * per, ctx, n))
            # vLLM 0.14.0-0.18.1 start with a max_model_len one request of which outgrows the pool
            message = (f"{n} request{'s' if n != 1 else ''} of {ctx:,} tokens need {n * per:,} blocks; the pool "
                       f"holds {cap.num_blocks:,} ({fit:,} such requests){replicas}{pool.beyond_pool_note(ctx)}")
        add(name, v.ok, message, fit, n)
    if req["min_headroom"] is not None:
        used, ctx, n = max(loads) if loads else (cap.blocks_per_request, cap.model_len_request_tokens, 1)
        headroom = pool.headroom_bytes(ctx, n)
        need = req["min_headroom"]
        add("min_headroom", headroom >= need,
            f"the pool's {pool.usable_blocks:,} usable blocks{override} less the load ({used:,} blocks) leave "
            f"{pool.usable_blocks - used:,} x {cap.block_unit_bytes:,} B = {headroom:,} B per GPU; required "
            f"{need:,} B", headroom, need)
    return DeploymentResult(dep.name, cap, tuple(out))


def check_plan(plan: Plan) -> CheckReport:
    return CheckReport(plan.path, tuple(check_deployment(d, plan.path) for d in plan.deployments))


def report_dict(report: CheckReport) -> dict:
    from kvplan.capacity import capacity_dict

    return {
        "plan": report.plan,
        "passed": report.passed,
        "num_requirements": report.num_requirements,
        "num_failed": sum(1 for d in report.deployments for r in d.results if not r.passed),
        "deployments": [
            {
                "name": d.name,
                "passed": d.passed,
                "requirements": [
                    {"requirement": r.requirement, "passed": r.passed, "message": r.message,
                     "measured": r.measured, "required": r.required}
                    for r in d.results
                ],
                "capacity": capacity_dict(d.capacity),
            }
            for d in report.deployments
        ],
    }


def junit_xml(report: CheckReport) -> str:
    """JUnit XML: one testcase per requirement, a <failure> with the numbers when it fails."""
    import xml.etree.ElementTree as ET

    from kvplan.text import printable as x  # control characters are not allowed in XML 1.0: escaped

    n_fail = sum(1 for d in report.deployments for r in d.results if not r.passed)
    suites = ET.Element("testsuites", name="kvplan check", tests=str(report.num_requirements),
                        failures=str(n_fail))
    suite = ET.SubElement(suites, "testsuite", name=x(f"kvplan check {report.plan}"),
                          tests=str(report.num_requirements), failures=str(n_fail), errors="0")
    for d in report.deployments:
        for r in d.results:
            case = ET.SubElement(suite, "testcase", classname=x(f"kvplan.check.{d.name}"), name=x(r.requirement))
            if r.passed:
                ET.SubElement(case, "system-out").text = x(r.message)
            else:
                ET.SubElement(case, "failure", message=x(r.message), type="requirement").text = x(r.message)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
