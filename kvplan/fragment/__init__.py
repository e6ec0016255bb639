"""Serving workloads replayed through KV allocation policies on a fixed pool, in time.

    workloads     requests: fitted ShareGPT/Alpaca, fixed, traces (streamed)
    traces        trace formats (kvplan, Mooncake, Azure), read row by row with one-line errors
    arrivals      all at once, a trace's timestamps, Poisson (--rate)
    policies      orca-max / orca-pow2 / orca-oracle (contiguous), static batching, paged-B, paged-B-share
    allocators    first-fit and buddy address ranges for the contiguous policies
    timing        the step-time protocol, a stated constant model, speculative decoding's mean field
    config        token budget, retention window and sinks, CPU/disk tiers
    prefix_cache  block-hash prefix cache with reference counts, vLLM V1's free queue and tiers
    simulator     event-driven continuous (and static) batching in time (FCFS, preemption)
    metrics       closed-form step sums; memory shares, times, cache statistics
    run           all policies (and rates) on one workload and pool -> FragmentReport
    plot          memory bars, rate sweeps, hit rate against capacity (matplotlib, object API)

Imports numpy (workload draws), pyarrow (Parquet traces) and matplotlib lazily; never
imported by planning commands.
"""

from kvplan.fragment import _native

_native.select()  # compiled simulator modules, or their sources (see _native.py)

from kvplan.fragment.arrivals import AllAtOnce, Poisson, TraceTimes, parse_rate, parse_rates
from kvplan.fragment.config import Retention, ServingConfig, Tiers
from kvplan.fragment.metrics import CacheStats, PolicyResult, TimeStats, Usage
from kvplan.fragment.policies import Policy, default_policies, parse_policies, parse_policy
from kvplan.fragment.run import FragmentReport, Speculative, run_fragment
from kvplan.fragment.simulator import simulate
from kvplan.fragment.timing import ConstantStepTime, SpeculativeStepTime, StepTimeModel
from kvplan.fragment.workloads import TraceWorkload, Workload, from_lengths, load_workload

__all__ = [
    "AllAtOnce",
    "CacheStats",
    "ConstantStepTime",
    "FragmentReport",
    "Poisson",
    "Policy",
    "PolicyResult",
    "Retention",
    "ServingConfig",
    "Speculative",
    "SpeculativeStepTime",
    "StepTimeModel",
    "Tiers",
    "TimeStats",
    "TraceTimes",
    "TraceWorkload",
    "Usage",
    "Workload",
    "default_policies",
    "from_lengths",
    "load_workload",
    "parse_policies",
    "parse_policy",
    "parse_rate",
    "parse_rates",
    "run_fragment",
    "simulate",
]
