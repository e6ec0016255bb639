"""When requests arrive: all at once, at a trace's timestamps, or as a Poisson process.

``--rate`` takes:

    inf         every request is queued at time 0 (an offline, saturated run)
    trace       the trace's own timestamps (the default for a trace that has them)
    2/s         a Poisson process of 2 requests per second (exponential gaps, seeded);
                also 120/min, 0.5/s, or a bare number of requests per second
    1/s,2/s,4/s a sweep: one run per rate

The Poisson gaps come from Python's ``random.Random(seed).expovariate(rate)``, one draw
per request in order, so the same seed gives the same arrivals for any number of requests
and streaming needs no stored times. The PagedAttention paper generates its request
arrivals the same way ("we generate request arrival times using Poisson distribution with
different request rates", Kwon et al. 2023, §6.1).
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass

from kvplan.errors import BadInputError


@dataclass(frozen=True)
class AllAtOnce:
    """Every request arrives at time 0."""

    label = "all at time 0"

    def times(self, trace_times):
        for _ in trace_times:
            yield 0.0

    def to_dict(self) -> dict:
        return {"kind": "all-at-once"}


@dataclass(frozen=True)
class TraceTimes:
    """The trace's own timestamps (seconds since its first row)."""

    label = "trace timestamps"

    def times(self, trace_times):
        for t in trace_times:
            if t is None:
                raise BadInputError("--rate trace: this trace has no timestamps; use --rate inf or --rate 2/s")
            yield t

    def to_dict(self) -> dict:
        return {"kind": "trace"}


@dataclass(frozen=True)
class Poisson:
    """Exponential gaps with mean 1 / rate_per_s; the first request arrives after one gap."""

    rate_per_s: float
    seed: int = 0

    @property
    def label(self) -> str:
        return f"Poisson {self.rate_per_s:g}/s (seed {self.seed})"

    def times(self, trace_times):
        rng = random.Random(self.seed)
        t = 0.0
        for _ in trace_times:
            t += rng.expovariate(self.rate_per_s)
            yield t

    def to_dict(self) -> dict:
        return {"kind": "poisson", "rate_per_s": self.rate_per_s, "seed": self.seed}


_RATE = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:e[-+]?[0-9]+)?)\s*(?:/\s*(s|sec|second|min|minute|h|hour))?\s*$", re.I)
_PER = {"s": 1.0, "sec": 1.0, "second": 1.0, "min": 60.0, "minute": 60.0, "h": 3600.0, "hour": 3600.0}


def parse_rate(text: str, seed: int = 0):
    """One rate: ``'inf'`` | ``'trace'`` | ``'2/s'`` | ``'120/min'`` | ``'2'`` (per second)."""
    key = str(text).strip().lower()
    if key in ("inf", "infinite", "all", "offline"):
        return AllAtOnce()
    if key == "trace":
        return TraceTimes()
    m = _RATE.match(key)
    if not m:
        raise BadInputError(f"--rate: cannot read {text!r}; use 2/s, 120/min, inf or trace")
    rate = float(m.group(1)) / _PER[(m.group(2) or "s").lower()]
    if not math.isfinite(rate) or rate <= 0:
        raise BadInputError(f"--rate: must be a positive rate, got {text!r}")
    from kvplan import limits

    if rate < limits.MIN_RATE_PER_S:
        raise BadInputError(f"--rate: {text!r} is slower than kvplan simulates ({limits.MIN_RATE_PER_S:g}/s: simulated "
                            f"time would lose its milliseconds; see docs/limits.md)")
    return Poisson(rate, seed)


def parse_rates(text: str, seed: int = 0) -> list:
    """Comma-separated rates (a sweep), order kept, duplicates refused."""
    from kvplan import limits

    items = [t.strip() for t in str(text).split(",")]
    if not str(text).strip() or any(not t for t in items):
        raise BadInputError(f"--rate: empty item in {text!r} (e.g. 1/s,2/s,4/s)")
    if len(items) > limits.MAX_RATES:  # each rate simulates every policy again
        raise BadInputError(f"--rate: {len(items):,} rates, beyond kvplan's limit of {limits.MAX_RATES} a sweep "
                            f"(see docs/limits.md)")
    out = [parse_rate(t, seed) for t in items]
    if len(set(out)) != len(out):
        raise BadInputError(f"--rate: the same rate twice in {text!r}")
    return out
