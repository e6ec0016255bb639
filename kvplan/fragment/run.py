"""One call for the CLI and the API: a model, a pool, a workload, several policies."""

from __future__ import annotations

from dataclasses import dataclass, field

from kvplan.errors import BadInputError
from kvplan.fragment.metrics import PolicyResult
from kvplan.fragment.policies import Policy
from kvplan.fragment.simulator import VLLM_MAX_NUM_SEQS, VLLM_WATERMARK, simulate
from kvplan.fragment.workloads import Workload


@dataclass(frozen=True)
class FragmentReport:
    model: str
    kv_dtype: str
    bytes_per_token: int  # one token in every layer, per GPU
    pool_tokens: int
    pool_source: str
    max_model_len: int
    max_seqs: int
    watermark: float
    allocator: str
    workload: Workload
    results: list[PolicyResult] = field(default_factory=list)

    @property
    def pool_bytes(self) -> int:
        return self.pool_tokens * self.bytes_per_token

    def to_dict(self) -> dict:
        return {
            "model": self.model,
            "kv_dtype": self.kv_dtype,
            "bytes_per_token": self.bytes_per_token,
            "pool_tokens": self.pool_tokens,
            "pool_bytes": self.pool_bytes,
            "pool_source": self.pool_source,
            "max_model_len": self.max_model_len,
            "max_seqs": self.max_seqs,
            "watermark": self.watermark,
            "allocator": self.allocator,
            "workload": self.workload.summary(),
            "policies": [r.to_dict() for r in self.results],
        }


def run_fragment(
    spec,
    fmt,
    workload: Workload,
    policies: list[Policy],
    pool_tokens: int,
    *,
    pool_source: str = "given",
    max_model_len: int,
    max_seqs: int = VLLM_MAX_NUM_SEQS,
    watermark: float = VLLM_WATERMARK,
    allocator: str = "first-fit",
    tp: int = 1,
    progress=None,
) -> FragmentReport:
    """Simulate every policy on the same workload and pool (tokens of ``spec`` in ``fmt``)."""
    from kvplan.footprint import bytes_per_token

    if not policies:
        raise BadInputError("no policies to simulate")
    if not 0.0 <= watermark < 1.0:
        raise BadInputError(f"watermark must be in [0, 1), got {watermark}")
    results = [
        simulate(workload, pol, pool_tokens, max_model_len=max_model_len, max_seqs=max_seqs,
                 watermark=watermark, allocator=allocator, progress=progress)
        for pol in policies
    ]
    return FragmentReport(
        model=spec.name,
        kv_dtype=fmt.name,
        bytes_per_token=bytes_per_token(spec, fmt, tp),
        pool_tokens=pool_tokens,
        pool_source=pool_source,
        max_model_len=max_model_len,
        max_seqs=max_seqs,
        watermark=watermark,
        allocator=allocator,
        workload=workload,
        results=results,
    )


def pool_from_gpu(
    spec, gpu: str, *, fmt, tp: int, max_model_len: int, block_size: int, max_seqs: int | None
) -> tuple[int, str, int]:
    """(KV pool tokens per replica, where they come from, max running sequences) from the
    capacity planner's Pool (vLLM engine profile); ``max_seqs`` None takes the engine's
    default for that GPU."""
    from kvplan.capacity import make_request, plan
    from kvplan.errors import DoesNotFitError

    pool = plan(make_request(spec, gpu, tp=tp, kv_format=fmt, max_model_len=max_model_len, block_size=block_size,
                             max_num_seqs=max_seqs))
    if pool.kv_cache_tokens < 1:
        why = pool.verdict().reason or "no KV pool left"
        raise DoesNotFitError(f"{spec.name} on {pool.request.gpu.name} (tp {tp}): {why}")
    seqs = pool.max_num_seqs or max_seqs or VLLM_MAX_NUM_SEQS
    return int(pool.kv_cache_tokens), f"capacity plan: {pool.request.gpu.name}, tp {tp}, {pool.engine}", seqs
