"""Request workloads: fitted distributions of published datasets, fixed lengths, traces.

Built-in distributions (means from Kwon et al., SOSP 2023, arXiv 2309.06180, §6.1 and
Figure 11, measured with the OPT tokenizer):

    sharegpt   mean input 161.31, mean output 337.99 tokens
    alpaca     mean input  19.31, mean output  58.45 tokens

Family: geometric on {1, 2, ...} (a discretised exponential), one independent draw for
the prompt and one per sample for the output, with p = 1 / mean. The paper publishes
only the means (and that ShareGPT has "higher variance"); among distributions on the
positive integers with a given mean the geometric has the largest entropy, so it adds
no shape the sources do not state. Its variance mean * (mean - 1) also grows with the
mean, as the paper says. One consistency check with another published figure is in
docs/fragmentation.md (Orca-Oracle's reserved-to-token ratio implies an output
coefficient of variation close to 1, the geometric's).

Lengths are then clipped so that system prompt + prompt + output <= max_model_len: the
prompt to max_model_len - S - 1 (at least one output token), then the output.

Traces (kvplan.fragment.traces): CSV, JSONL, JSON or Parquet in the kvplan, Mooncake or
Azure format, streamed in file order: a trace workload reads its file once to check every
row and summarise it, then once more per simulated policy, never holding it whole.

Every workload yields requests as (prompt, outputs, arrival_s, hash_ids) in arrival order;
``arrivals`` (kvplan.fragment.arrivals) sets the times.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from kvplan.errors import BadInputError, UnknownNameError
from kvplan.fragment.arrivals import AllAtOnce, TraceTimes


@dataclass(frozen=True)
class LengthFit:
    """A fitted built-in workload: geometric prompt and output lengths with these means."""

    name: str
    prompt_mean: float
    output_mean: float
    source: str


BUILTIN_WORKLOADS = {
    "sharegpt": LengthFit(
        "sharegpt", 161.31, 337.99,
        "ShareGPT, Kwon et al. 2023 (arXiv 2309.06180) §6.1 / Fig. 11: mean 161.31 in, 337.99 out",
    ),
    "alpaca": LengthFit(
        "alpaca", 19.31, 58.45, "Alpaca, Kwon et al. 2023 (arXiv 2309.06180) §6.1 / Fig. 11: mean 19.31 in, 58.45 out"
    ),
}


@dataclass(frozen=True, eq=False)
class Workload:
    """Requests held in memory, in arrival (FCFS) order.

    ``prompt_lens[i]`` is request i's own prompt (tokens), ``output_lens[i][j]`` the
    output of its sample j; every prompt is preceded by the same ``system_prompt``
    tokens. Lengths are already clipped to ``max_model_len``. ``trace_times`` (seconds,
    or None) and ``hash_ids`` (prefix-block ids of ``hash_block`` tokens each, or None)
    come from a trace; ``arrivals`` decides the arrival times."""

    name: str
    source: str
    prompt_lens: tuple[int, ...]
    output_lens: tuple[tuple[int, ...], ...]
    system_prompt: int = 0
    clipped: int = 0  # requests whose lengths were cut to fit max_model_len
    max_model_len: int | None = None
    arrivals: object = AllAtOnce()
    trace_times: tuple[float | None, ...] | None = None
    hash_ids: tuple[tuple[int, ...] | None, ...] | None = None
    hash_block: int | None = None

    @property
    def num_requests(self) -> int:
        return len(self.prompt_lens)

    @property
    def n(self) -> int:
        return len(self.output_lens[0]) if self.output_lens else 1

    @property
    def has_times(self) -> bool:
        return self.trace_times is not None and self.trace_times[0] is not None

    def with_arrivals(self, arrivals) -> Workload:
        return replace(self, arrivals=arrivals)

    def iter_requests(self):
        """(prompt, outputs, arrival_s, hash_ids) per request, in order."""
        times = self.arrivals.times(self.trace_times or _nones(self.num_requests))
        hashes = self.hash_ids or _nones(self.num_requests)
        return zip(self.prompt_lens, self.output_lens, times, hashes)

    def summary(self) -> dict:
        outs = [o for row in self.output_lens for o in row]
        return _summary(self, self.num_requests, sum(self.prompt_lens), sum(outs), len(outs))


def _nones(n: int):
    for _ in range(n):
        yield None


def _summary(wl, num: int, prompt_sum: int, output_sum: int, num_outputs: int, span_s=None) -> dict:
    return {
        "name": wl.name,
        "source": wl.source,
        "requests": num,
        "samples_per_request": wl.n,
        "system_prompt_tokens": wl.system_prompt,
        "mean_prompt_tokens": round(prompt_sum / num, 2) if num else 0.0,
        "mean_output_tokens": round(output_sum / num_outputs, 2) if num_outputs else 0.0,
        "max_model_len": wl.max_model_len,
        "clipped_requests": wl.clipped,
        "arrivals": wl.arrivals.label,
        "trace_has_timestamps": wl.has_times,
        "hash_block_tokens": wl.hash_block,
    }


def from_lengths(
    prompt_lens,
    output_lens,
    *,
    name: str = "lengths",
    source: str = "given",
    system_prompt: int = 0,
    max_model_len: int | None = None,
    arrival_s=None,
    hash_ids=None,
    hash_block: int | None = None,
) -> Workload:
    """A workload from explicit lengths. ``output_lens`` holds one int per request, or
    one sequence of n ints per request (parallel samples). Lengths are clipped to
    ``max_model_len`` when given. ``arrival_s`` (non-decreasing seconds) makes the
    workload replay at those times; ``hash_ids`` gives each request's prefix-block ids
    (``hash_block`` tokens per id, as in a Mooncake trace)."""
    prompts = [int(p) for p in prompt_lens]
    outs = [tuple(int(x) for x in o) if isinstance(o, (tuple, list)) else (int(o),) for o in output_lens]
    if len(prompts) != len(outs):
        raise BadInputError(f"{len(prompts)} prompt lengths but {len(outs)} output lengths")
    if not prompts:
        raise BadInputError("a workload needs at least one request")
    if len({len(o) for o in outs}) != 1 or not outs[0]:
        raise BadInputError("every request needs the same number (>= 1) of output lengths")
    if min(prompts) < 1 or min(min(o) for o in outs) < 1:
        raise BadInputError("prompt and output lengths must be at least 1 token")
    if system_prompt < 0:
        raise BadInputError(f"system prompt must be >= 0 tokens, got {system_prompt}")
    times = None
    if arrival_s is not None:
        times = tuple(float(t) for t in arrival_s)
        if len(times) != len(prompts) or min(times) < 0 or any(b < a for a, b in zip(times, times[1:])):
            raise BadInputError("arrival_s needs one non-decreasing time >= 0 per request")
    hashes = None
    if hash_ids is not None:
        if not hash_block or hash_block < 1:
            raise BadInputError("hash_ids need hash_block, the tokens each id covers (Mooncake: 512)")
        hashes = tuple(tuple(int(x) for x in h) for h in hash_ids)
        for i, (p, h) in enumerate(zip(prompts, hashes)):
            if len(h) != -(-p // hash_block):
                raise BadInputError(f"request {i + 1}: {len(h)} hash ids for a {p}-token prompt of "
                                    f"{hash_block}-token blocks")
        if system_prompt:
            raise BadInputError(_HASH_AND_SYSTEM)
    clipped = 0
    if max_model_len is not None:
        prompts, outs, clipped = _clip(prompts, outs, system_prompt, max_model_len)
    arrivals = TraceTimes() if times is not None else AllAtOnce()
    return Workload(name, source, tuple(prompts), tuple(outs), system_prompt, clipped, max_model_len, arrivals,
                    times, hashes, hash_block if hashes else None)


_HASH_AND_SYSTEM = ("--system-prompt with a trace that has hash_ids: the trace's hash ids already say which "
                    "prefixes requests share; drop --system-prompt")


def _room(system_prompt: int, max_model_len: int) -> int:
    room = max_model_len - system_prompt
    if room < 2:
        raise BadInputError(
            f"system prompt of {system_prompt} tokens leaves no room for a prompt and an output in "
            f"max_model_len {max_model_len}; use --system-prompt <= {max_model_len - 2}"
        )
    return room


def _clip_one(p: int, row: tuple[int, ...], room: int) -> tuple[int, tuple[int, ...]]:
    p2 = min(p, room - 1)
    return p2, tuple(min(o, room - p2) for o in row)


def _clip(prompts, outs, system_prompt: int, max_model_len: int):
    room = _room(system_prompt, max_model_len)
    new_p, new_o, clipped = [], [], 0
    for p, row in zip(prompts, outs):
        p2, row2 = _clip_one(p, row, room)
        clipped += p2 != p or row2 != row
        new_p.append(p2)
        new_o.append(row2)
    return new_p, new_o, clipped


def builtin_workload(
    name: str, num_requests: int, *, n: int = 1, system_prompt: int = 0, max_model_len: int, seed: int = 0
) -> Workload:
    """Draw ``num_requests`` requests from a fitted built-in distribution (numpy, seeded)."""
    import numpy as np

    fit = BUILTIN_WORKLOADS[name]
    rng = np.random.default_rng(seed)
    prompts = rng.geometric(1.0 / fit.prompt_mean, size=num_requests)
    outs = rng.geometric(1.0 / fit.output_mean, size=(num_requests, n))
    wl = from_lengths(
        prompts.tolist(),
        [tuple(r) for r in outs.tolist()],
        name=name,
        source=fit.source + f"; geometric, p = 1/mean, seed {seed}",
        system_prompt=system_prompt,
        max_model_len=max_model_len,
    )
    return wl


def fixed_workload(
    spec: str, num_requests: int, *, n: int = 1, system_prompt: int = 0, max_model_len: int
) -> Workload:
    """``'fixed:512:128'``: every request has a 512-token prompt and 128-token outputs."""
    from kvplan.units import parse_tokens

    parts = spec.split(":")
    if len(parts) != 3:
        raise BadInputError(f"workload {spec!r}: write fixed lengths as fixed:PROMPT:OUTPUT, e.g. fixed:512:128")
    prompt = parse_tokens(parts[1], "fixed prompt length")
    output = parse_tokens(parts[2], "fixed output length")
    return from_lengths(
        [prompt] * num_requests,
        [(output,) * n] * num_requests,
        name=f"fixed:{prompt}:{output}",
        source="fixed lengths",
        system_prompt=system_prompt,
        max_model_len=max_model_len,
    )



#: Traces of up to this many rows are kept in memory after the checking pass (about 0.2 KB a
#: row: 200k rows ~ 40 MB); longer ones are streamed from the file for every policy.
IN_MEMORY_ROWS = 200_000


@dataclass(frozen=True, eq=False)
class TraceWorkload:
    """A trace file, streamed: each ``iter_requests()`` reads the file again, row by row.

    Built by :func:`trace_workload`, which reads it once first to check every row and to
    summarise it (so a bad row fails before any simulation starts)."""

    name: str
    source: str
    path: Path
    format_name: str
    num_requests: int
    n: int
    system_prompt: int
    max_model_len: int
    clipped: int
    prompt_sum: int
    output_sum: int
    has_times: bool
    span_s: float | None
    hash_block: int | None
    limit: int | None
    arrivals: object = AllAtOnce()
    #: (clipped prompt, clipped outputs, arrival_s, hash_ids) of every row when the trace has
    #: at most IN_MEMORY_ROWS rows (kept from the checking pass: each policy then reads memory,
    #: not the file); None for a longer trace, which is streamed from the file every time.
    rows: tuple | None = field(default=None, repr=False)

    def with_arrivals(self, arrivals) -> TraceWorkload:
        return replace(self, arrivals=arrivals)

    def _rows(self):
        from kvplan.fragment.traces import read_rows

        if self.rows is not None:
            return iter(self.rows)
        room = _room(self.system_prompt, self.max_model_len)
        n = self.n
        return ((*_clip_one(row.prompt, (row.output,) * n, room), row.arrival_s, row.hash_ids)
                for row in read_rows(self.path, self.limit)[1])

    def iter_requests(self):
        rows = self._rows()
        times_in = (r[2] for r in self._rows()) if isinstance(self.arrivals, TraceTimes) else \
            _nones(self.num_requests)
        for (p, outs, _, hashes), t in zip(rows, self.arrivals.times(times_in)):
            yield p, outs, t, hashes

    @property
    def prompt_lens(self) -> tuple[int, ...]:
        """All prompts (reads the file; for tests and small traces)."""
        return tuple(p for p, _, _, _ in self.iter_requests())

    @property
    def output_lens(self) -> tuple[tuple[int, ...], ...]:
        return tuple(o for _, o, _, _ in self.iter_requests())

    def summary(self) -> dict:
        d = _summary(self, self.num_requests, self.prompt_sum, self.output_sum, self.num_requests * self.n)
        d["trace_format"] = self.format_name
        d["trace_span_s"] = round(self.span_s, 3) if self.span_s is not None else None
        return d


def trace_workload(
    path: str | Path,
    *,
    num_requests: int | None = None,
    n: int = 1,
    system_prompt: int = 0,
    max_model_len: int,
) -> TraceWorkload:
    """A trace file (kvplan, Mooncake or Azure format) as a streamed workload.

    Every sample of a request gets the row's output length. With ``num_requests`` only the
    first rows are used. The file is read once here (every row checked, lengths clipped to
    ``max_model_len`` and summed); arrivals default to the trace's timestamps when it has
    them, else all at time 0."""
    from kvplan.fragment.traces import read_rows

    path = Path(path)
    fmt, rows = read_rows(path, num_requests)
    room = _room(system_prompt, max_model_len)
    num = clipped = prompt_sum = output_sum = 0
    first_t = last_t = None
    has_hash = False
    kept: list | None = []
    for row in rows:
        p, outs = _clip_one(row.prompt, (row.output,) * n, room)
        if kept is not None:
            kept.append((p, outs, row.arrival_s, row.hash_ids))
            if len(kept) > IN_MEMORY_ROWS:
                kept = None  # a long trace: streamed from the file for every policy instead
        clipped += p != row.prompt or outs[0] != row.output
        num += 1
        prompt_sum += p
        output_sum += outs[0] * n
        if row.arrival_s is not None:
            first_t = row.arrival_s if first_t is None else first_t
            last_t = row.arrival_s
        has_hash = has_hash or row.hash_ids is not None
    if has_hash and system_prompt:
        raise BadInputError(_HASH_AND_SYSTEM)
    _check_sequences(num, n, f"{path}: {num:,} rows")  # the file is streamed; simulating each policy is not
    timed = first_t is not None
    return TraceWorkload(
        name=path.name, source=f"trace {path} ({fmt.name} format)", path=path, format_name=fmt.name,
        num_requests=num, n=n, system_prompt=system_prompt, max_model_len=max_model_len, clipped=clipped,
        prompt_sum=prompt_sum, output_sum=output_sum, has_times=timed,
        span_s=(last_t - first_t) if timed else None, hash_block=fmt.hash_block if has_hash else None,
        limit=num_requests, arrivals=TraceTimes() if timed else AllAtOnce(),
        rows=tuple(kept) if kept is not None else None,
    )


def read_trace(path: str | Path) -> tuple[list[int], list[int]]:
    """(prompt_lens, output_lens) of a whole trace file (small files; the simulator streams)."""
    from kvplan.fragment.traces import read_rows

    prompts, outputs = [], []
    for row in read_rows(path)[1]:
        prompts.append(row.prompt)
        outputs.append(row.output)
    return prompts, outputs


def _check_sequences(requests: int, n: int, what: str) -> None:
    """Refuse more simulated sequences (requests x samples) than kvplan.limits allows, before
    any length is drawn (--n 1e9 asked for 1.46 TiB of lengths) or any policy simulated."""
    from kvplan import limits

    if requests * n > limits.MAX_SIMULATED_SEQUENCES:
        raise BadInputError(f"{what} x --n {n:,} = {requests * n:,} sequences, beyond kvplan's limit of "
                            f"{limits.MAX_SIMULATED_SEQUENCES:,} simulated sequences (see docs/limits.md)")


def load_workload(
    ref: str,
    *,
    num_requests: int | None,
    n: int = 1,
    system_prompt: int = 0,
    max_model_len: int,
    seed: int = 0,
    default_requests: int = 10_000,
):
    """``'sharegpt'`` | ``'alpaca'`` | ``'fixed:P:O'`` | a trace file path."""
    from kvplan.fragment.traces import SUFFIXES

    if n < 1:
        raise BadInputError(f"--n must be at least 1 sample per request, got {n}")
    if num_requests is not None and num_requests < 1:
        raise BadInputError(f"--requests must be at least 1, got {num_requests}")
    key = str(ref).strip().lower()
    count = default_requests if num_requests is None else num_requests
    if key in BUILTIN_WORKLOADS or key.startswith("fixed:"):
        _check_sequences(count, n, f"--requests {count:,}")
    if key in BUILTIN_WORKLOADS:
        return builtin_workload(
            key, count, n=n, system_prompt=system_prompt, max_model_len=max_model_len, seed=seed
        )
    if key.startswith("fixed:"):
        return fixed_workload(key, count, n=n, system_prompt=system_prompt, max_model_len=max_model_len)
    path = Path(ref)
    if path.suffix.lower() in SUFFIXES or path.exists():
        return trace_workload(
            path, num_requests=num_requests, n=n, system_prompt=system_prompt, max_model_len=max_model_len
        )
    raise UnknownNameError(
        "workload", ref, list(BUILTIN_WORKLOADS) + ["fixed:PROMPT:OUTPUT"],
        "use sharegpt, alpaca, fixed:PROMPT:OUTPUT or a .csv/.jsonl/.json/.parquet trace",
    )
