"""Request-length workloads: fitted distributions of published datasets, fixed lengths, traces.

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

Traces: CSV, JSONL (or JSON) or Parquet with integer columns ``prompt_len`` and
``output_len``, read with pandas, served in file order.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kvplan import limits
from kvplan.errors import BadInputError, NeedsExtraError, UnknownNameError


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

TRACE_COLUMNS = ("prompt_len", "output_len")
_TRACE_SUFFIXES = {".csv": "csv", ".jsonl": "jsonl", ".json": "json", ".parquet": "parquet", ".pq": "parquet"}


@dataclass(frozen=True, eq=False)
class Workload:
    """Requests in arrival (FCFS) order.

    ``prompt_lens[i]`` is request i's own prompt (tokens), ``output_lens[i][j]`` the
    output of its sample j; every prompt is preceded by the same ``system_prompt``
    tokens. Lengths are already clipped to ``max_model_len``."""

    name: str
    source: str
    prompt_lens: tuple[int, ...]
    output_lens: tuple[tuple[int, ...], ...]
    system_prompt: int = 0
    clipped: int = 0  # requests whose lengths were cut to fit max_model_len
    max_model_len: int | None = None

    @property
    def num_requests(self) -> int:
        return len(self.prompt_lens)

    @property
    def n(self) -> int:
        return len(self.output_lens[0]) if self.output_lens else 1

    def summary(self) -> dict:
        num = self.num_requests
        outs = [o for row in self.output_lens for o in row]
        return {
            "name": self.name,
            "source": self.source,
            "requests": num,
            "samples_per_request": self.n,
            "system_prompt_tokens": self.system_prompt,
            "mean_prompt_tokens": round(sum(self.prompt_lens) / num, 2) if num else 0.0,
            "mean_output_tokens": round(sum(outs) / len(outs), 2) if outs else 0.0,
            "max_model_len": self.max_model_len,
            "clipped_requests": self.clipped,
        }


def from_lengths(
    prompt_lens,
    output_lens,
    *,
    name: str = "lengths",
    source: str = "given",
    system_prompt: int = 0,
    max_model_len: int | None = None,
) -> Workload:
    """A workload from explicit lengths. ``output_lens`` holds one int per request, or
    one sequence of n ints per request (parallel samples). Lengths are clipped to
    ``max_model_len`` when given."""
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
    clipped = 0
    if max_model_len is not None:
        prompts, outs, clipped = _clip(prompts, outs, system_prompt, max_model_len)
    return Workload(name, source, tuple(prompts), tuple(outs), system_prompt, clipped, max_model_len)


def _clip(prompts, outs, system_prompt: int, max_model_len: int):
    room = max_model_len - system_prompt
    if room < 2:
        raise BadInputError(
            f"system prompt of {system_prompt} tokens leaves no room for a prompt and an output in "
            f"max_model_len {max_model_len}; use --system-prompt <= {max_model_len - 2}"
        )
    new_p, new_o, clipped = [], [], 0
    for p, row in zip(prompts, outs):
        p2 = min(p, room - 1)
        row2 = tuple(min(o, room - p2) for o in row)
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


def trace_workload(
    path: str | Path,
    *,
    num_requests: int | None = None,
    n: int = 1,
    system_prompt: int = 0,
    max_model_len: int,
) -> Workload:
    """Read a trace file (CSV, JSONL/JSON or Parquet) with prompt_len and output_len columns.

    Every sample of a request gets the row's output_len. With ``num_requests`` only the
    first rows are used."""
    prompts, outputs = read_trace(path, take=num_requests)
    if num_requests is not None:
        prompts, outputs = prompts[:num_requests], outputs[:num_requests]
    _check_sequences(len(prompts), n, f"{path}: {len(prompts):,} rows")
    return from_lengths(
        prompts,
        [(o,) * n for o in outputs],
        name=Path(path).name,
        source=f"trace {path}",
        system_prompt=system_prompt,
        max_model_len=max_model_len,
    )


def read_trace(path: str | Path, take: int | None = None) -> tuple[list[int], list[int]]:
    """(prompt_lens, output_lens) from a trace file; one-line BadInputError on any problem.

    The file must be a regular file of at most kvplan.limits.MAX_TRACE_BYTES; at most
    MAX_SIMULATED_SEQUENCES rows are read (``take``: only the first ``take`` rows)."""
    from kvplan.loader import check_regular_file

    path = Path(path)
    kind = _TRACE_SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise BadInputError(
            f"{path}: unknown trace format {path.suffix or '(no suffix)'!r}; use .csv, .jsonl, .json or .parquet"
        )
    check_regular_file(path, limits.MAX_TRACE_BYTES, "trace")
    rows = min(take, limits.MAX_SIMULATED_SEQUENCES) if take is not None else limits.MAX_SIMULATED_SEQUENCES + 1
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas is in the test environment
        raise NeedsExtraError("pandas", "data", "reading a trace file") from None
    try:
        if kind == "csv":
            df = pd.read_csv(path, nrows=rows)
        elif kind == "parquet":
            df = pd.read_parquet(path)
        else:
            df = pd.read_json(path, lines=kind == "jsonl", nrows=rows if kind == "jsonl" else None)
    except ImportError as err:  # e.g. no parquet engine
        raise NeedsExtraError("pyarrow", "data", f"reading {path.name}") from err
    except Exception as err:  # pandas raises many types for malformed files
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise BadInputError(f"{path}: cannot read as {kind}: {first}") from None
    missing = [c for c in TRACE_COLUMNS if c not in df.columns]
    if missing:
        found = ", ".join(map(str, df.columns)) or "none"
        raise BadInputError(f"{path}: missing column(s) {', '.join(missing)} (found: {found}); "
                            "a trace needs integer columns prompt_len and output_len")
    if len(df) == 0:
        raise BadInputError(f"{path}: no rows; a trace needs at least one request")
    if take is None and len(df) > limits.MAX_SIMULATED_SEQUENCES:
        raise BadInputError(f"{path}: more than {limits.MAX_SIMULATED_SEQUENCES:,} rows, kvplan's limit of simulated "
                            f"requests (see docs/limits.md); use --requests N to simulate the first N")
    return _int_column(df, "prompt_len", path), _int_column(df, "output_len", path)


def _int_column(df, col: str, path: Path) -> list[int]:
    import pandas as pd

    values = pd.to_numeric(df[col], errors="coerce")
    raw = df[col].tolist()
    for i, (v, r) in enumerate(zip(values.tolist(), raw)):
        if v != v or v < 1 or v != int(v) or isinstance(r, bool):  # NaN, < 1, fractional, bool
            raise BadInputError(f"{path}: row {i + 1}: {col} must be a whole number >= 1, got {r!r}")
        if v > limits.MAX_TOKENS:
            raise BadInputError(f"{path}: row {i + 1}: {col} {r!r} is beyond kvplan's limit of {limits.MAX_TOKENS:,} "
                                f"tokens (see docs/limits.md)")
    return [int(v) for v in values.tolist()]


def _check_sequences(requests: int, n: int, what: str) -> None:
    """Refuse more simulated sequences (requests x samples) than kvplan.limits allows, before
    any length is drawn: the lengths alone would take requests x n integers of memory."""
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
) -> Workload:
    """``'sharegpt'`` | ``'alpaca'`` | ``'fixed:P:O'`` | a trace file path."""
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
    if path.suffix.lower() in _TRACE_SUFFIXES or path.exists():
        return trace_workload(
            path, num_requests=num_requests, n=n, system_prompt=system_prompt, max_model_len=max_model_len
        )
    raise UnknownNameError(
        "workload", ref, list(BUILTIN_WORKLOADS) + ["fixed:PROMPT:OUTPUT"],
        "use sharegpt, alpaca, fixed:PROMPT:OUTPUT or a .csv/.jsonl/.parquet trace",
    )
