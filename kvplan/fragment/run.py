"""One call for the CLI and the API: a model, a pool, a workload, several policies (and rates)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from kvplan.errors import BadInputError
from kvplan.fragment import _native
from kvplan.fragment.config import ServingConfig
from kvplan.fragment.metrics import PolicyResult
from kvplan.fragment.policies import Policy
from kvplan.fragment.simulator import VLLM_MAX_NUM_SEQS, VLLM_WATERMARK, simulate
from kvplan.fragment.timing import SpeculativeStepTime


@dataclass(frozen=True)
class Speculative:
    """Speculative decoding: k draft tokens verified per step, their acceptance rate, and the
    drafter's KV (bytes per token per GPU of a draft model's, an EAGLE head's or the MTP layers'
    KV layers, kvplan.speculative; 0 for n-gram lookup, and when the pool given already holds it)."""

    num_tokens: int
    acceptance: float
    draft_bytes_per_token: int = 0
    draft_name: str = ""
    draft_step_s: float = 0.0
    #: kvplan.speculative's method names: draft_model, eagle, mtp, ngram. It decides the
    #: drafter's lookahead slots (the same rule the capacity pool applies).
    method: str = "draft_model"

    def __post_init__(self):
        if not isinstance(self.draft_bytes_per_token, int) or self.draft_bytes_per_token < 0:
            raise BadInputError(f"draft KV bytes per token must be >= 0, got {self.draft_bytes_per_token!r}")
        from kvplan.speculative import LOOKAHEAD_METHODS

        if self.method not in (*LOOKAHEAD_METHODS, "ngram"):
            raise BadInputError(f"speculative method {self.method!r}: use one of "
                                f"{', '.join((*LOOKAHEAD_METHODS, 'ngram'))}")

    @property
    def lookahead_tokens(self) -> int:
        """vLLM's num_lookahead_tokens: k for a drafter, 0 for n-gram lookup."""
        from kvplan.speculative import LOOKAHEAD_METHODS

        return self.num_tokens if self.method in LOOKAHEAD_METHODS else 0

    @property
    def drops_last_hit_block(self) -> bool:
        """vLLM drops the last block of a prefix-cache hit with EAGLE, EAGLE-3 and MTP drafters,
        to compute the hidden states the drafting head needs (``find_longest_cache_hit``: "if
        use_eagle and computed_blocks[0]: ... pop()", v0.10.1.1-0.19.1
        vllm/v1/core/single_type_kv_cache_manager.py, v0.19.1 :457 and :509; ``use_eagle`` is
        ``method in ("eagle", "eagle3", "mtp")``, v0.19.1 vllm/config/speculative.py:859-860,
        "deepseek_mtp" before 0.11.0; kvplan's ``eagle`` covers EAGLE and EAGLE-3). kvplan
        models speculative decoding from 0.10.1.1 (kvplan.speculative.VLLM_READ); a draft model
        and n-gram lookup keep the whole hit."""
        return self.method in ("eagle", "mtp")

    def to_dict(self) -> dict:
        return {"num_speculative_tokens": self.num_tokens, "method": self.method,
                "lookahead_tokens": self.lookahead_tokens, "acceptance": self.acceptance,
                "draft_model": self.draft_name or None, "draft_bytes_per_token": self.draft_bytes_per_token,
                "draft_step_s": self.draft_step_s}


def speculative_pool_tokens(pool_tokens: int, bytes_per_token: int, draft_bytes_per_token: int) -> int:
    """Tokens the pool holds when every token also keeps the draft model's KV: the target's
    pool bytes over (target + draft) bytes per token. OPT-13B (819,200 B) with a 125M draft
    of 12 layers x 768 x 2 x 2 B = 36,864 B: 15,728 tokens become 15,728 x 819,200 //
    856,064 = 15,050."""
    return pool_tokens * bytes_per_token // (bytes_per_token + draft_bytes_per_token)


@dataclass(frozen=True)
class RateRun:
    """Every policy under one arrival process."""

    arrivals: object
    results: list[PolicyResult]


@dataclass(frozen=True)
class FragmentReport:
    model: str
    kv_dtype: str
    bytes_per_token: int  # one token in every layer, per GPU
    pool_tokens: int  # the KV pool, in tokens of the model
    pool_source: str
    max_model_len: int
    max_seqs: int
    watermark: float
    allocator: str
    workload: object
    runs: list[RateRun] = field(default_factory=list)
    serving: ServingConfig = field(default_factory=ServingConfig)
    speculative: Speculative | None = None
    sim_pool_tokens: int = 0  # tokens the simulated pool holds (less with a draft model's KV)
    #: The block the engine runs the capacity pool in (--gpu; None: a pool given in tokens). A
    #: paged-B policy pages the pool's tokens in its own B, which need not be this block.
    engine_block_size: int | None = None
    #: The longest request the engine runs (a capacity plan's Pool.max_request_tokens: SGLang's
    #: min(context_len, pool) - 2); None: max_model_len.
    max_request_tokens: int | None = None

    @property
    def results(self) -> list[PolicyResult]:
        return self.runs[0].results if self.runs else []

    @property
    def pool_tokens_bytes(self) -> int:
        """The bytes of the pool's tokens: pool_tokens x bytes_per_token (per GPU). Not
        `kvplan capacity`'s kv_pool_bytes: that is the memory left for KV, of which whole
        blocks make the tokens (llama3.1-8b on an H100: 58,138,726,400 B hold 27,722 blocks
        of 16 x 131,072 B = 58,137,247,744 B)."""
        return self.pool_tokens * self.bytes_per_token

    def to_dict(self) -> dict:
        cfg = self.serving
        st = cfg.step_time
        d = {
            "model": self.model,
            "kv_dtype": self.kv_dtype,
            "bytes_per_token": self.bytes_per_token,
            "pool_tokens": self.pool_tokens,
            "pool_tokens_bytes": self.pool_tokens_bytes,
            "pool_source": self.pool_source,
            "engine_block_size": self.engine_block_size,
            "simulated_pool_tokens": self.sim_pool_tokens or self.pool_tokens,
            "max_model_len": self.max_model_len,
            "max_request_tokens": self.max_request_tokens or self.max_model_len,
            "max_seqs": self.max_seqs,
            "watermark": self.watermark,
            "allocator": self.allocator,
            "max_num_batched_tokens": cfg.max_num_batched_tokens,
            "step_time": st.to_dict() if hasattr(st, "to_dict") else {"kind": type(st).__name__},
            "step_time_description": st.describe(),
            "retention": {"window": cfg.retention.window, "sinks": cfg.retention.sinks},
            "tiers": ({"cpu_bytes": cfg.tiers.cpu_bytes, "disk_bytes": cfg.tiers.disk_bytes,
                       "host_bandwidth_bytes_per_s": cfg.tiers.host_bandwidth,
                       "host_bandwidth_source": cfg.tiers.host_bandwidth_source,
                       "disk_bandwidth_bytes_per_s": cfg.tiers.disk_bandwidth} if cfg.tiers.enabled else None),
            "speculative": self.speculative.to_dict() if self.speculative else None,
            "workload": self.workload.summary(),
            "notes": explain(self),
            "policies": [r.to_dict() for r in self.results],
            # which simulator ran: "compiled" or "python (why)" (kvplan.fragment._native; same figures)
            "simulator": _native.mode,
        }
        d["workload"]["arrivals"] = self.runs[0].arrivals.label if self.runs else d["workload"]["arrivals"]
        if len(self.runs) > 1:
            d["rates"] = [{"arrivals": run.arrivals.to_dict(), "label": run.arrivals.label,
                           "policies": [r.to_dict() for r in run.results]} for run in self.runs]
        return d


def run_fragment(
    spec,
    fmt,
    workload,
    policies: list[Policy],
    pool_tokens: int,
    *,
    pool_source: str = "given",
    max_model_len: int,
    max_seqs: int = VLLM_MAX_NUM_SEQS,
    watermark: float = VLLM_WATERMARK,
    allocator: str = "first-fit",
    tp: int = 1,
    serving: ServingConfig | None = None,
    speculative: Speculative | None = None,
    rates: list | None = None,
    progress=None,
    max_request_tokens: int | None = None,
) -> FragmentReport:
    """Simulate every policy on the same workload and pool (tokens of ``spec`` in ``fmt``),
    once per arrival process in ``rates`` (default: the workload's own arrivals).
    ``max_request_tokens``: the longest request the engine runs (a capacity plan's
    ``Pool.max_request_tokens``; None: max_model_len)."""
    from kvplan.footprint import bytes_per_token

    if not policies:
        raise BadInputError("no policies to simulate")
    if not 0.0 <= watermark < 1.0:
        raise BadInputError(f"watermark must be in [0, 1), got {watermark}")
    cfg = serving or ServingConfig()
    bpt = bytes_per_token(spec, fmt, tp)
    if cfg.tiers.enabled and cfg.tiers.bytes_per_token != bpt:
        cfg = replace(cfg, tiers=replace(cfg.tiers, bytes_per_token=bpt))
    sim_pool = pool_tokens
    if speculative is not None:
        cfg = replace(cfg, step_time=SpeculativeStepTime(cfg.step_time, speculative.num_tokens, speculative.acceptance,
                                                         speculative.draft_step_s, speculative.lookahead_tokens),
                      drops_last_hit_block=speculative.drops_last_hit_block)
        sim_pool = speculative_pool_tokens(pool_tokens, bpt, speculative.draft_bytes_per_token)
    if cfg.retention.window is not None and any(p.share for p in policies):
        names = ", ".join(p.name for p in policies if p.share)
        raise BadInputError(f"--window with prefix sharing ({names}) is not modelled; leave the -share policies out")
    runs = []
    for arrivals in rates or [workload.arrivals]:
        wl = workload.with_arrivals(arrivals)
        results = [
            simulate(wl, pol, sim_pool, max_model_len=max_model_len, max_seqs=max_seqs, watermark=watermark,
                     allocator=allocator, serving=cfg, progress=progress, max_request_tokens=max_request_tokens)
            for pol in policies
        ]
        runs.append(RateRun(arrivals, results))
    return FragmentReport(
        model=spec.name,
        kv_dtype=fmt.name,
        bytes_per_token=bpt,
        pool_tokens=pool_tokens,
        pool_source=pool_source,
        max_model_len=max_model_len,
        max_seqs=max_seqs,
        watermark=watermark,
        allocator=allocator,
        workload=workload,
        runs=runs,
        serving=cfg,
        speculative=speculative,
        sim_pool_tokens=sim_pool,
        max_request_tokens=max_request_tokens,
    )


def explain(report: FragmentReport) -> list[str]:
    """Sentences a reader needs beside the table: caps that bind, and why a sharing policy
    looks worse than its plain counterpart where it does."""
    notes = []
    for run in report.runs:
        tag = f" at {run.arrivals.label}" if len(report.runs) > 1 else ""
        by_name = {r.policy: r for r in run.results}
        for r in run.results:
            if r.seat_cap_share >= 0.005 and r.static:
                notes.append(
                    f"{r.policy}{tag}: {100 * r.seat_cap_share:.1f}% of KV memory sat free while requests waited for "
                    "the running batch to finish (static batching runs one batch at a time); not fragmentation")
            elif r.seat_cap_share >= 0.005:
                notes.append(
                    f"{r.policy}{tag}: {100 * r.seat_cap_share:.1f}% of KV memory sat free while requests waited for a "
                    f"seat: the cap of {report.max_seqs:,} running sequences (max_num_seqs) bound, not memory; it is "
                    "not fragmentation (raise --max-seqs to use it)")
            if r.budget_cap_share >= 0.005:
                notes.append(
                    f"{r.policy}{tag}: {100 * r.budget_cap_share:.1f}% of KV memory sat free while requests waited for "
                    f"the step's token budget (--max-num-batched-tokens {report.serving.max_num_batched_tokens:,})")
            if r.policy.endswith("-share"):
                plain = by_name.get(r.policy[: -len("-share")])
                if plain is not None:
                    notes.append(_compare_sharing(plain, r, tag))
    return [n for n in notes if n]


def _compare_sharing(plain: PolicyResult, shared: PolicyResult, tag: str) -> str:
    """One line when sharing serves fewer token states per slot than no sharing, with why."""
    a, b = plain.served_share, shared.served_share
    if b >= a - 5e-4:
        return ""
    why = []
    for label, attr in (("external fragmentation", "external_share"), ("seat cap", "seat_cap_share"),
                        ("token-budget cap", "budget_cap_share"), ("reserved", "reserved_share"),
                        ("internal", "internal_share")):
        d = getattr(shared, attr) - getattr(plain, attr)
        if d > 5e-4:
            why.append(f"{label} +{100 * d:.1f} points")
    if shared.preemptions != plain.preemptions:
        why.append(f"{shared.preemptions:,} preemptions against {plain.preemptions:,} (sharing admits more requests, "
                   "and each preempted one frees its blocks while it waits)")
    return (f"{shared.policy}{tag} serves {100 * b:.1f}% of KV memory as token states read against {100 * a:.1f}% for "
            f"{plain.policy}: " + ("; ".join(why) or "the shared blocks' releases and the last partial blocks"))


def pool_from_gpu(
    spec, gpu: str, *, fmt, tp: int, max_model_len: int, block_size: int | None, max_seqs: int | None,
    speculative: Speculative | None = None, draft=None, pp: int = 1, deploy: dict | None = None,
) -> tuple[int, str, int, object]:
    """(KV pool tokens per replica, where they come from, max running sequences, the Pool) from the
    capacity planner's Pool (vLLM engine profile); ``max_seqs`` None takes the engine's
    default for that GPU; ``block_size`` the engine's --block-size as the user gave it (None: the
    engine's choice, as `kvplan capacity`; the Pool says the block it runs); ``deploy``: further make_request keywords (engine, weights,
    gpu_memory_utilization, ... as `kvplan capacity` takes them). With speculative decoding the pool is the one `kvplan capacity
    --speculative-config` plans: the draft model's (or the MTP layers') KV paged with the
    target's and its weights subtracted, so the tokens returned already leave room for the
    draft's KV."""
    from kvplan.capacity import make_request, plan
    from kvplan.errors import DoesNotFitError

    extra = {}
    if speculative is not None:
        cfg = {"method": speculative.method, "num_speculative_tokens": speculative.num_tokens}
        if speculative.method in ("draft_model", "eagle"):  # the draft model or the EAGLE head
            cfg["model"] = draft
        extra["speculative_config"] = cfg
    pool = plan(make_request(spec, gpu, tp=tp, pp=pp, kv_format=fmt, max_model_len=max_model_len,
                             block_size=block_size, max_num_seqs=max_seqs, **extra, **(deploy or {})))
    if pool.kv_cache_tokens < 1:
        why = pool.verdict().reason or "no KV pool left"
        raise DoesNotFitError(f"{spec.name} on {pool.request.gpu.name} (tp {tp}, pp {pp}): {why}")
    seqs = pool.max_num_seqs or max_seqs or VLLM_MAX_NUM_SEQS
    where = f"capacity plan: {pool.request.gpu.name}, tp {tp}" + (f", pp {pp}" if pp > 1 else "") + f", {pool.engine}"
    if speculative is not None:
        where += f", {speculative.method} KV and weights included"
    return int(pool.kv_cache_tokens), where, seqs, pool


def host_link(gpu: str) -> tuple[int, str]:
    """(bytes/s per direction, description) of a catalog GPU's host link; BadInputError (one
    line naming the GPU and the missing field) when the catalog has none: kvplan does not
    guess a PCIe generation."""
    from kvplan.errors import BadInputError
    from kvplan.gpus import get_gpu

    g = get_gpu(gpu)
    link = g.host_link
    if link is None or not link.bytes_per_s:
        what = "no host_link" if link is None else f"a {link.kind} host_link without a lane count"
        raise BadInputError(f"--cpu-kv-gib/--disk-kv-gib: the GPU catalog gives {g.name} {what} "
                            f"(kvplan/data/gpus.yaml); give the link with --host-bandwidth (per direction, e.g. "
                            f"15.75GB for PCIe 3.0 x16, 31.5GB for 4.0 x16)")
    return int(link.bytes_per_s), f"{g.name} host link ({link.describe()}), kvplan/data/gpus.yaml"
