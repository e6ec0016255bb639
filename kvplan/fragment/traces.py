"""Request traces, read row by row (a trace of millions of rows is streamed, never loaded whole).

A trace file is CSV, JSONL (one JSON object per line), JSON (an array of objects) or
Parquet. Its columns say which format it is; each format is one class that turns a row
into a :class:`TraceRow`:

    kvplan    prompt_len, output_len [, arrival_s]            (the generic format)
    mooncake  timestamp (ms), input_length, output_length, hash_ids
              (kvcache-ai/Mooncake FAST25-release/traces/*.jsonl; hash_ids are prefix-chained
              hashes of 512-token blocks: equal ids = equal tokens up to the end of that block)
    azure     TIMESTAMP (date and time), ContextTokens, GeneratedTokens
              (Azure/AzurePublicDataset data/AzureLLMInferenceTrace_{conv,code}.csv; Patel et
              al., "Splitwise", ISCA 2024)

Every problem is one BadInputError naming the file, the row (1-based, header not counted)
and the field: a missing column or field, a column the format does not read (never
dropped in silence), a value that is not a whole number, a length below 1, a timestamp
earlier than the row before, hash ids that do not cover the prompt.
"""

from __future__ import annotations

import csv
import json
import math
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from kvplan.errors import BadInputError, NeedsExtraError

SUFFIXES = {".csv": "csv", ".jsonl": "jsonl", ".json": "json", ".parquet": "parquet", ".pq": "parquet"}


@dataclass(frozen=True, slots=True)
class TraceRow:
    prompt: int
    output: int
    arrival_s: float | None = None  # seconds since the trace's first row; None: not given
    hash_ids: tuple[int, ...] | None = None


_NUMBER = re.compile(r"^\s*[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?\s*$", re.I)


def _show(value) -> str:
    """A field's value for a message: numbers as written, anything else quoted."""
    if isinstance(value, str) and _NUMBER.match(value):
        return value.strip()
    return repr(value)


class _Row:
    """Field access with one-line errors naming the row and the field."""

    __slots__ = ("path", "num", "data")

    def __init__(self, path, num: int, data: dict):
        self.path, self.num, self.data = path, num, data

    def fail(self, field: str, why: str) -> BadInputError:
        return BadInputError(f"{self.path}: row {self.num}: {field} {why}")

    def raw(self, field: str):
        if field not in self.data:
            raise self.fail(field, "is missing")
        value = self.data[field]
        if value is None or (isinstance(value, str) and not value.strip()):
            raise self.fail(field, "is empty")
        return value

    def count(self, field: str, minimum: int = 1) -> int:
        """A whole number >= minimum ('7', 7 and 7.0 are 7; '1.5', 'abc', True are refused)."""
        value = self.raw(field)
        if isinstance(value, bool):
            raise self.fail(field, f"must be a whole number >= {minimum}, got {_show(value)}")
        num = value
        if isinstance(value, str):
            text = value.strip()
            try:
                num = int(text)
            except ValueError:
                try:
                    num = float(text)
                except ValueError:
                    raise self.fail(field, f"must be a whole number >= {minimum}, got {_show(value)}") from None
        if isinstance(num, float):
            if not math.isfinite(num) or not num.is_integer():
                raise self.fail(field, f"must be a whole number >= {minimum}, got {_show(value)}")
            num = int(num)
        if not isinstance(num, int):
            raise self.fail(field, f"must be a whole number >= {minimum}, got {_show(value)}")
        if num < minimum:
            raise self.fail(field, f"must be a whole number >= {minimum}, got {_show(value)}")
        return num

    def seconds(self, field: str) -> float:
        value = self.raw(field)
        try:
            num = float(value) if not isinstance(value, bool) else math.nan
        except (TypeError, ValueError):
            num = math.nan
        if not math.isfinite(num) or num < 0:
            raise self.fail(field, f"must be a number of seconds >= 0, got {_show(value)}")
        return num


def _names(columns, most: int = 5, width: int = 40) -> str:
    """Column names for a message: quoted, each cut to ``width`` characters, the first ``most``."""
    shown = [repr(str(c)[:width] + ("..." if len(str(c)) > width else "")) for c in columns[:most]]
    more = len(columns) - most
    return ", ".join(shown) + (f" and {more:,} more" if more > 0 else "")


class TraceFormat:
    """A trace format: the columns it needs and how a row becomes a TraceRow."""

    name = ""
    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    time_field: str | None = None  # the column arrivals come from, for messages
    #: tokens per hash id, for formats that carry prefix-block hashes
    hash_block: int | None = None
    description = ""

    def row(self, r: _Row) -> TraceRow:
        raise NotImplementedError

    def time_value(self, r: _Row):  # pragma: no cover - overridden where time_field is set
        return None

    #: where this format's arrival times go, for the message refusing an unknown column
    time_hint = ""

    def matches(self, columns) -> bool:
        return all(c in columns for c in self.required)

    def configured(self, columns) -> TraceFormat:
        """This format set up for a file with these columns."""
        return self

    @property
    def columns(self) -> tuple[str, ...]:
        """Every column this format reads; any other column is refused (a column kvplan
        does not read would be dropped silently: 'arrival' for arrival_s made a timed trace
        a burst at time 0)."""
        return self.required + self.optional

    @property
    def row_columns(self) -> frozenset[str]:
        """The columns every row of a file in this format (as configured) may carry."""
        return frozenset(self.columns)

    def refuse_unknown(self, path, columns, where: str = "") -> None:
        """One line naming the columns this format does not read, the format and its columns."""
        unknown = [c for c in columns if c not in self.columns]
        if not unknown:
            return
        names = _names(unknown)
        what = (f"column {names} is not a trace column" if len(unknown) == 1
                else f"columns {names} are not trace columns")
        what += f" of the {self.name} format"
        raise BadInputError(f"{path}: {where}{what} ({', '.join(self.columns)}); rename or remove "
                            f"{'it' if len(unknown) == 1 else 'them'} (arrival times: {self.time_hint})")


class KvplanFormat(TraceFormat):
    name = "kvplan"
    required = ("prompt_len", "output_len")
    optional = ("arrival_s",)
    time_field = "arrival_s"
    time_hint = "arrival_s, in seconds"
    description = "prompt_len, output_len [, arrival_s]"

    def __init__(self, timed: bool = False):
        self.timed = timed  # the file has an arrival_s column: every row needs a value

    def configured(self, columns) -> KvplanFormat:
        return KvplanFormat("arrival_s" in columns)

    @property
    def row_columns(self) -> frozenset[str]:
        # an untimed file (no arrival_s in its header or first row) gives none on any row
        return frozenset(self.columns if self.timed else self.required)

    def row(self, r: _Row) -> TraceRow:
        arrival = r.seconds("arrival_s") if self.timed else None
        return TraceRow(r.count("prompt_len"), r.count("output_len"), arrival)


class MooncakeFormat(TraceFormat):
    """Mooncake FAST'25 traces. hash_ids has one id per 512 tokens of input, the last one
    for a partial block: len(hash_ids) = cdiv(input_length, 512) (checked per row)."""

    name = "mooncake"
    required = ("timestamp", "input_length", "output_length", "hash_ids")
    time_field = "timestamp"
    time_hint = "timestamp, in milliseconds"
    #: Mooncake FAST25-release/README.md: "hash_ids: Remapped prefix block hashes. The block size is 512 tokens."
    hash_block = 512
    description = "timestamp (ms), input_length, output_length, hash_ids (512-token prefix blocks)"

    def row(self, r: _Row) -> TraceRow:
        prompt = r.count("input_length")
        output = r.count("output_length")
        ms = r.count("timestamp", minimum=0)
        ids = r.raw("hash_ids")
        if isinstance(ids, str):
            try:
                ids = json.loads(ids)
            except (ValueError, RecursionError):
                ids = None
        if not isinstance(ids, list) or not all(isinstance(x, int) and not isinstance(x, bool) for x in ids):
            raise r.fail("hash_ids", f"must be a list of whole numbers, got {str(r.data.get('hash_ids'))[:60]!r}")
        want = -(-prompt // self.hash_block)
        if len(ids) != want:
            raise r.fail("hash_ids", f"has {len(ids)} ids but input_length {prompt} needs cdiv({prompt}, "
                         f"{self.hash_block}) = {want}")
        return TraceRow(prompt, output, ms / 1000.0, tuple(ids))


_EPOCH_DAY = date(2000, 1, 1).toordinal()
_AZURE_TIME = re.compile(r"^\s*(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?\s*$")


class AzureFormat(TraceFormat):
    """Azure LLM inference traces 2023 (Splitwise). TIMESTAMP has 7 fractional digits,
    e.g. 2023-11-16 18:15:46.6805900; arrivals are seconds since the first row."""

    name = "azure"
    required = ("TIMESTAMP", "ContextTokens", "GeneratedTokens")
    time_field = "TIMESTAMP"
    time_hint = "TIMESTAMP, a date and time"
    description = "TIMESTAMP, ContextTokens, GeneratedTokens"

    def row(self, r: _Row) -> TraceRow:
        text = str(r.raw("TIMESTAMP"))
        m = _AZURE_TIME.match(text)
        try:
            if not m:
                raise ValueError
            y, mo, d, h, mi, s, frac = m.groups()
            # days since 2000-01-01 (keeps the float small: 1e-7 s resolution); no time zone, no DST
            day = date(int(y), int(mo), int(d)).toordinal() - _EPOCH_DAY
            if int(h) > 23 or int(mi) > 59 or int(s) > 59:
                raise ValueError
            base = ((day * 24 + int(h)) * 60 + int(mi)) * 60 + int(s)
        except ValueError:
            raise r.fail("TIMESTAMP", f"must be a date and time like 2023-11-16 18:15:46.6805900, got {text!r}") from None
        seconds = base + (int(frac) / 10 ** len(frac) if frac else 0.0)
        return TraceRow(r.count("ContextTokens"), r.count("GeneratedTokens"), seconds)


FORMATS: tuple[TraceFormat, ...] = (KvplanFormat(), MooncakeFormat(), AzureFormat())


def detect_format(path, columns) -> TraceFormat:
    """The format whose required columns are all present and that reads every other column;
    else one line on what is missing or which columns that format does not read."""
    cols = list(columns)
    for fmt in FORMATS:
        if fmt.matches(cols):
            fmt.refuse_unknown(path, cols)
            return fmt.configured(cols)
    found = ", ".join(map(str, cols)) or "none"
    best = max(FORMATS, key=lambda f: sum(c in cols for c in f.required))
    if any(c in cols for c in best.required):
        missing = [c for c in best.required if c not in cols]
        raise BadInputError(
            f"{path}: missing column(s) {', '.join(missing)} (found: {found}); a {best.name} trace needs "
            f"{best.description}")
    known = "; ".join(f"{f.name}: {f.description}" for f in FORMATS)
    raise BadInputError(f"{path}: unknown trace format: columns {found} match none of the formats ({known})")


def trace_kind(path: Path) -> str:
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise BadInputError(
            f"{path}: unknown trace format {path.suffix or '(no suffix)'!r}; use .csv, .jsonl, .json or .parquet")
    return kind


def _raw_rows(path: Path, kind: str) -> Iterator[tuple[int, dict]]:
    """(row number, dict) per data row; the first yielded item is (0, {column: None ...})
    carrying the header (for CSV/Parquet) or the first row's keys (JSON). A file that is not
    UTF-8 text, a CSV field past csv's field limit or an OS error is one line."""
    try:
        yield from _file_rows(path, kind)
    except UnicodeDecodeError:
        raise BadInputError(f"{path}: not a UTF-8 text file") from None
    except csv.Error as err:
        raise BadInputError(f"{path}: cannot read as csv ({err})") from None
    except OSError as err:
        raise BadInputError(f"{path}: cannot read ({err.strerror or err})") from None


def _file_rows(path: Path, kind: str) -> Iterator[tuple[int, dict]]:
    if kind == "csv":
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            if header is None:
                raise BadInputError(f"{path}: empty file; a trace needs a header and at least one row")
            header = [h.strip() for h in header]
            twice = sorted(h for h, n in Counter(header).items() if n > 1)  # linear: 100,000 columns in ms
            if twice:
                raise BadInputError(f"{path}: header: column {twice[0]!r} appears twice; a trace names each column once")
            yield 0, dict.fromkeys(header)
            width = len(header)
            for num, values in enumerate(reader, 1):
                if not values:
                    continue
                if len(values) > width:
                    raise BadInputError(f"{path}: row {num}: {len(values)} fields but the header has {width}")
                yield num, dict(zip(header, values))
    elif kind == "jsonl":
        with open(path, encoding="utf-8") as fh:
            first = True
            for num, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except ValueError as err:
                    raise BadInputError(f"{path}: row {num}: cannot read as JSON ({err.msg})") from None
                except RecursionError:
                    raise BadInputError(f"{path}: row {num}: nested too deep for a trace row") from None
                if not isinstance(obj, dict):
                    raise BadInputError(f"{path}: row {num}: expected a JSON object, got {type(obj).__name__}")
                if first:
                    yield 0, dict.fromkeys(obj)
                    first = False
                yield num, obj
    elif kind == "json":
        try:
            with open(path, encoding="utf-8") as fh:
                data = json.load(fh)
        except ValueError as err:
            raise BadInputError(f"{path}: cannot read as json ({err})") from None
        except RecursionError:
            raise BadInputError(f"{path}: nested too deep for a trace (see docs/limits.md)") from None
        if not isinstance(data, list):
            raise BadInputError(f"{path}: a .json trace must be an array of objects (or use .jsonl)")
        if data and isinstance(data[0], dict):
            yield 0, dict.fromkeys(data[0])
        for num, obj in enumerate(data, 1):
            if not isinstance(obj, dict):
                raise BadInputError(f"{path}: row {num}: expected a JSON object, got {type(obj).__name__}")
            yield num, obj
    else:
        try:
            import pyarrow.parquet as pq
        except ImportError:
            raise NeedsExtraError("pyarrow", "data", f"reading {path.name}") from None
        try:
            pf = pq.ParquetFile(path)
        except Exception as err:  # pyarrow raises several types for a damaged file
            raise BadInputError(f"{path}: cannot read as parquet: {str(err).splitlines()[0]}") from None
        yield 0, dict.fromkeys(pf.schema_arrow.names)
        num = 0
        for batch in pf.iter_batches(batch_size=65536):
            for obj in batch.to_pylist():
                num += 1
                yield num, obj


def read_rows(path, limit: int | None = None) -> tuple[TraceFormat, Iterator[TraceRow]]:
    """(format, iterator of TraceRow) over a trace file, in file order, checked row by row
    (timestamps must not decrease). ``limit``: stop after that many rows."""
    from kvplan import limits
    from kvplan.loader import check_regular_file

    path = Path(path)
    kind = trace_kind(path)
    # a regular file of at most MAX_TRACE_BYTES (a FIFO or /dev/zero was 'no such file')
    check_regular_file(path, limits.MAX_TRACE_BYTES, "trace")
    rows = _raw_rows(path, kind)
    first = next(rows, None)
    if first is None:
        raise BadInputError(f"{path}: no rows; a trace needs at least one request")
    fmt = detect_format(path, first[1].keys())
    # a CSV or Parquet header names every row's columns (checked once, above); a JSON row
    # names its own, so each is checked against the first row's format
    return fmt, _checked(path, fmt, rows, limit, keyed=kind in ("json", "jsonl"))


def _refuse_row_columns(path, fmt: TraceFormat, num: int, data: dict) -> None:
    """A JSON row with a column its format does not read, or one the first row lacks."""
    fmt.refuse_unknown(path, data, where=f"row {num}: ")
    late = [c for c in data if c not in fmt.row_columns]
    what = f"column {_names(late)} is" if len(late) == 1 else f"columns {_names(late)} are"
    raise BadInputError(f"{path}: row {num}: {what} not in row 1; a trace gives each column on every row or on none")


def _checked(path, fmt: TraceFormat, rows, limit, keyed: bool = False) -> Iterator[TraceRow]:
    prev = prev_num = None
    t0 = None
    seen = 0
    allowed = fmt.row_columns
    for num, data in rows:
        if limit is not None and seen >= limit:
            return
        if keyed and not allowed.issuperset(data):
            _refuse_row_columns(path, fmt, num, data)
        r = _Row(path, num, data)
        row = fmt.row(r)
        if row.arrival_s is not None:
            if prev is not None and row.arrival_s < prev:
                raise r.fail(fmt.time_field, f"goes back in time: {data.get(fmt.time_field)!r} is earlier than row "
                             f"{prev_num}'s; a trace must be in arrival order")
            prev, prev_num = row.arrival_s, num
            if t0 is None:
                t0 = row.arrival_s
            if t0:
                row = TraceRow(row.prompt, row.output, row.arrival_s - t0, row.hash_ids)
        seen += 1
        yield row
    if not seen:
        raise BadInputError(f"{path}: no rows; a trace needs at least one request")
