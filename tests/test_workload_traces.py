"""Trace formats (kvplan, Mooncake, Azure), real excerpts, streaming, and bad rows.

Every bad trace is one line on stderr naming the file, the row (1-based, header not counted)
and the field, with exit code 2.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kvplan.cli.main import run
from kvplan.fragment.policies import parse_policy
from kvplan.fragment.simulator import simulate
from kvplan.fragment.traces import read_rows
from kvplan.fragment.workloads import TraceWorkload, load_workload

FIXTURES = Path(__file__).parent / "fixtures" / "traces"
MOONCAKE = FIXTURES / "mooncake_conversation_head300.jsonl"
AZURE = FIXTURES / "azure_conv_head500.csv"


def test_mooncake_excerpt():
    # 300 rows: 4,269,971 input and 113,079 output tokens in all; last timestamp 102,000 ms
    wl = load_workload(str(MOONCAKE), num_requests=None, max_model_len=131_072)
    s = wl.summary()
    assert isinstance(wl, TraceWorkload) and s["trace_format"] == "mooncake"
    assert (s["requests"], s["mean_prompt_tokens"], s["mean_output_tokens"]) == (300, round(4_269_971 / 300, 2),
                                                                                  round(113_079 / 300, 2))
    assert s["hash_block_tokens"] == 512 and s["trace_span_s"] == 102.0 and s["arrivals"] == "trace timestamps"
    first = next(iter(wl.iter_requests()))
    assert first == (6758, (500,), 0.0, tuple(range(14)))


def test_azure_excerpt():
    # 500 rows: 467,684 context and 132,536 generated tokens; 18:15:46.6805900 to 18:17:55.6930640
    wl = load_workload(str(AZURE), num_requests=None, max_model_len=131_072)
    s = wl.summary()
    assert s["trace_format"] == "azure" and s["requests"] == 500
    assert s["mean_prompt_tokens"] == round(467_684 / 500, 2) and s["mean_output_tokens"] == round(132_536 / 500, 2)
    assert s["trace_span_s"] == 129.012  # 129.012474 s, rounded to the millisecond
    reqs = list(wl.iter_requests())
    assert reqs[1][0:2] == (396, (109,)) and reqs[1][2] == pytest.approx(4.314579, abs=1e-6)


def test_mooncake_hits_with_an_unbounded_pool():
    """Independent of the engine's key naming: with 16-token blocks and no eviction, a request
    finds its first k 512-token blocks cached when its first k ids were seen before; all of
    them (its partial last block too) when every id was; and never its last token."""
    seen, expect = set(), 0
    with open(MOONCAKE) as fh:
        for line in fh:
            r = json.loads(line)
            ids, cap = r["hash_ids"], (r["input_length"] - 1) // 16 * 16
            k = next((i for i, x in enumerate(ids) if x not in seen), len(ids))
            expect += cap if k == len(ids) else min(k * 512, cap)
            seen.update(ids)
    assert expect == 345_952
    wl = load_workload(str(MOONCAKE), num_requests=None, max_model_len=131_072)
    res = simulate(wl, parse_policy("paged-16-share"), 8_000_000, max_model_len=131_072, max_seqs=1024)
    assert res.cache.gpu_hit_tokens == expect and res.cache.evicted_blocks == 0
    assert res.cache.prompt_tokens == 4_269_971


def test_generic_format_with_times_and_limit(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("prompt_len,output_len,arrival_s\n10,5,100.5\n20,7,101\n3,1,101\n")
    wl = load_workload(str(path), num_requests=2, max_model_len=64)
    assert list(wl.iter_requests()) == [(10, (5,), 0.0, None), (20, (7,), 0.5, None)]
    assert wl.has_times and wl.num_requests == 2


def test_streaming_reads_rows_lazily(tmp_path, monkeypatch):
    """A trace longer than IN_MEMORY_ROWS keeps only scalars; each pass reads the file again,
    row by row."""
    import kvplan.fragment.workloads as workloads

    monkeypatch.setattr(workloads, "IN_MEMORY_ROWS", 1_000)
    path = tmp_path / "big.csv"
    with open(path, "w") as fh:
        fh.write("prompt_len,output_len\n")
        for i in range(20_000):
            fh.write(f"{1 + i % 50},{1 + i % 7}\n")
    wl = load_workload(str(path), num_requests=None, max_model_len=64)
    assert wl.num_requests == 20_000 and wl.rows is None
    assert all(not isinstance(v, (list, tuple, dict)) for v in vars(wl).values())
    it = wl.iter_requests()
    assert next(it) == (1, (1,), 0.0, None)
    path.write_text("prompt_len,output_len\n9,9\n")  # a new pass sees the file as it is now
    assert next(iter(wl.iter_requests())) == (9, (9,), 0.0, None)


def test_a_moderate_trace_is_read_once(tmp_path):
    """Up to IN_MEMORY_ROWS rows, the checking pass keeps the clipped rows: every policy then
    reads memory (the file may even be gone), and the figures are the streamed ones."""
    path = tmp_path / "small.csv"
    path.write_text("prompt_len,output_len\n" + "".join(f"{1 + i % 50},{1 + i % 7}\n" for i in range(500)))
    wl = load_workload(str(path), num_requests=None, max_model_len=32)
    assert wl.rows is not None and len(wl.rows) == 500
    first = list(wl.iter_requests())
    path.unlink()
    assert list(wl.iter_requests()) == first
    assert first[49] == (31, (1,), 0.0, None)  # prompt 50 clipped to max_model_len 32 - 1; output to 1


def _cli_error(capsys, args):
    code = run(args)
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0, err
    return code, err


BASE = ["fragment", "llama3-8b", "--kv-pool-tokens", "64k", "--policies", "paged-16", "--workload"]


@pytest.mark.parametrize(
    "name, content, message",
    [
        # missing columns
        ("t.csv", "prompt_len,out\n1,2\n", "missing column(s) output_len (found: prompt_len, out)"),
        ("t.jsonl", '{"timestamp": 0, "input_length": 5, "hash_ids": [1]}\n',
         "missing column(s) output_length (found: timestamp, input_length, hash_ids); a mooncake trace needs"),
        ("t.csv", "TIMESTAMP,ContextTokens\n2023-11-16 18:15:46.6805900,374\n",
         "missing column(s) GeneratedTokens"),
        # a column named twice (was read last-wins)
        ("t.csv", "prompt_len,output_len,prompt_len\n100,10,5\n", "header: column 'prompt_len' appears twice"),
        # a field missing in one row of a JSONL trace
        ("t.jsonl", '{"prompt_len": 5, "output_len": 2}\n{"prompt_len": 5}\n', "row 2: output_len is missing"),
        # negative and zero lengths
        ("t.csv", "prompt_len,output_len\n5,3\n-3,2\n", "row 2: prompt_len must be a whole number >= 1, got -3"),
        ("t.csv", "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.68,374,0\n",
         "row 1: GeneratedTokens must be a whole number >= 1, got 0"),
        ("t.jsonl", '{"timestamp": 0, "input_length": -5, "output_length": 2, "hash_ids": []}\n',
         "row 1: input_length must be a whole number >= 1, got -5"),
        # non-numeric fields
        ("t.csv", "prompt_len,output_len\nabc,3\n", "row 1: prompt_len must be a whole number >= 1, got 'abc'"),
        ("t.csv", "prompt_len,output_len\n5,1.5\n", "row 1: output_len must be a whole number >= 1, got 1.5"),
        ("t.csv", "prompt_len,output_len\n5,\n", "row 1: output_len is empty"),
        ("t.jsonl", '{"prompt_len": true, "output_len": 2}\n', "row 1: prompt_len must be a whole number >= 1, got True"),
        ("t.csv", "prompt_len,output_len,arrival_s\n5,3,soon\n", "row 1: arrival_s must be a number of seconds >= 0, "
         "got 'soon'"),
        ("t.csv", "TIMESTAMP,ContextTokens,GeneratedTokens\nyesterday,374,44\n",
         "row 1: TIMESTAMP must be a date and time like 2023-11-16 18:15:46.6805900, got 'yesterday'"),
        ("t.jsonl", '{"timestamp": 0, "input_length": 5, "output_length": 2, "hash_ids": "x"}\n',
         "row 1: hash_ids must be a list of whole numbers"),
        # timestamps out of order
        ("t.csv", "prompt_len,output_len,arrival_s\n5,3,2.0\n5,3,1.5\n",
         "row 2: arrival_s goes back in time: '1.5' is earlier than row 1's; a trace must be in arrival order"),
        ("t.jsonl", '{"timestamp": 500, "input_length": 5, "output_length": 2, "hash_ids": [1]}\n'
         '{"timestamp": 400, "input_length": 5, "output_length": 2, "hash_ids": [1]}\n',
         "row 2: timestamp goes back in time: 400 is earlier than row 1's"),
        ("t.csv", "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.68,374,44\n"
         "2023-11-16 18:15:45.00,10,4\n", "row 2: TIMESTAMP goes back in time"),
        # hash ids that do not cover the prompt (512-token blocks)
        ("t.jsonl", '{"timestamp": 0, "input_length": 600, "output_length": 2, "hash_ids": [1]}\n',
         "row 1: hash_ids has 1 ids but input_length 600 needs cdiv(600, 512) = 2"),
        # unknown format: no known columns; empty files
        ("t.csv", "a,b\n1,2\n", "unknown trace format: columns a, b match none of the formats (kvplan: prompt_len"),
        ("t.csv", "prompt_len,output_len\n", "no rows"),
        ("t.csv", "", "empty file"),
        ("t.jsonl", '{"prompt_len": 1, "output_len": 2}\nnot json\n', "row 2: cannot read as JSON"),
        ("t.jsonl", '[1, 2]\n', "row 1: expected a JSON object, got list"),
        ("t.txt", "x", "unknown trace format '.txt'"),
    ],
)
def test_bad_traces_exit_2_with_one_line(tmp_path, capsys, name, content, message):
    path = tmp_path / name
    path.write_text(content)
    code, err = _cli_error(capsys, BASE + [str(path)])
    assert code == 2 and err.startswith("kvplan: error: ") and message in err, err
    if message.startswith("row "):
        assert f"{name}: row " in err  # the file and the row are named


KVPLAN = ("not a trace column of the kvplan format (prompt_len, output_len, arrival_s); rename or remove it "
          "(arrival times: arrival_s, in seconds)")


@pytest.mark.parametrize(
    "name, content, message",
    [
        # a misnamed arrival column was dropped: the timed trace ran as a burst at time 0 (exit 0)
        ("arr.csv", "prompt_len,output_len,arrival\n100,50,0\n100,50,5\n", f"column 'arrival' is {KVPLAN}"),
        ("ms.csv", "prompt_len,output_len,arrival_ms\n100,50,0\n", f"column 'arrival_ms' is {KVPLAN}"),
        ("two.csv", "prompt_len,output_len,arrival,extra\n100,50,0,1\n",
         "columns 'arrival', 'extra' are not trace columns of the kvplan format (prompt_len, output_len, arrival_s); "
         "rename or remove them (arrival times: arrival_s, in seconds)"),
        ("t.jsonl", '{"prompt_len": 1, "output_len": 2, "arrival": 0.5}\n', f"column 'arrival' is {KVPLAN}"),
        ("t.json", '[{"prompt_len": 1, "output_len": 2, "time": 0.5}]', f"column 'time' is {KVPLAN}"),
        # a pandas index written with the CSV is a column too
        ("idx.csv", ",prompt_len,output_len\n0,100,50\n", f"column '' is {KVPLAN}"),
        # Mooncake and Azure: their own columns only
        ("mc.jsonl", '{"timestamp": 0, "input_length": 5, "output_length": 2, "hash_ids": [1], "session": 3}\n',
         "column 'session' is not a trace column of the mooncake format (timestamp, input_length, "
         "output_length, hash_ids); rename or remove it (arrival times: timestamp, in milliseconds)"),
        ("az.csv", "TIMESTAMP,ContextTokens,GeneratedTokens,Model\n2023-11-16 18:15:46.68,374,44,x\n",
         "column 'Model' is not a trace column of the azure format (TIMESTAMP, ContextTokens, "
         "GeneratedTokens); rename or remove it (arrival times: TIMESTAMP, a date and time)"),
        # JSON rows carry their own keys: a later row is checked too
        ("late.jsonl", '{"prompt_len": 1, "output_len": 2}\n{"prompt_len": 1, "output_len": 2, "arrival": 3}\n',
         f"row 2: column 'arrival' is {KVPLAN}"),
        # arrival_s on a later row only would be dropped (row 1 made the trace untimed)
        ("late_s.jsonl", '{"prompt_len": 1, "output_len": 2}\n{"prompt_len": 1, "output_len": 2, "arrival_s": 3}\n',
         "row 2: column 'arrival_s' is not in row 1; a trace gives each column on every row or on none"),
    ],
)
def test_unknown_columns_are_refused(tmp_path, capsys, name, content, message):
    path = tmp_path / name
    path.write_text(content)
    code, err = _cli_error(capsys, BASE + [str(path), "--json"])
    assert (code, err) == (2, f"kvplan: error: {path}: {message}")
    assert capsys.readouterr().out == ""


def test_every_known_column_is_accepted(tmp_path):
    """The columns each format reads, all at once, still load (the refusal is for others only)."""
    kv = tmp_path / "t.csv"
    kv.write_text("arrival_s,output_len,prompt_len\n0.5,2,1\n1.5,3,4\n")
    fmt, rows = read_rows(kv)
    assert fmt.name == "kvplan" and [(r.prompt, r.output, r.arrival_s) for r in rows] == [(1, 2, 0.0), (4, 3, 1.0)]
    js = tmp_path / "t.jsonl"
    js.write_text('{"prompt_len": 1, "output_len": 2, "arrival_s": 0}\n{"output_len": 2, "prompt_len": 1, '
                  '"arrival_s": 2}\n')
    assert [r.arrival_s for r in read_rows(js)[1]] == [0.0, 2.0]


@pytest.mark.parametrize("name", ["azure_llm_2023_code.csv", "azure_llm_2023_conv.csv",
                                  "mooncake_conversation_trace.jsonl", "mooncake_synthetic_trace.jsonl"])
def test_real_traces_load_whole(name):
    """The full public traces (../shared/traces; skipped where absent) pass the column checks on every row."""
    path = Path("/work/shared/traces") / name
    if not path.exists():
        pytest.skip(f"{path} not on this machine")
    fmt, rows = read_rows(path)
    counts = {"azure_llm_2023_code.csv": 8_819, "azure_llm_2023_conv.csv": 19_366,
              "mooncake_conversation_trace.jsonl": 12_031, "mooncake_synthetic_trace.jsonl": 3_993}
    assert sum(1 for _ in rows) == counts[name] and fmt.name == name.split("_")[0]


def test_bad_row_deep_in_a_trace_fails_before_simulating(tmp_path, capsys):
    path = tmp_path / "t.csv"
    path.write_text("prompt_len,output_len\n" + "5,3\n" * 5000 + "5,x\n")
    code, err = _cli_error(capsys, BASE + [str(path)])
    assert code == 2 and "row 5001: output_len must be a whole number >= 1, got 'x'" in err
    assert capsys.readouterr().out == ""


def test_rate_trace_needs_timestamps(tmp_path, capsys):
    path = tmp_path / "t.csv"
    path.write_text("prompt_len,output_len\n5,3\n")
    code, err = _cli_error(capsys, BASE + [str(path), "--rate", "trace"])
    assert code == 2 and "this trace has no timestamps" in err


def test_system_prompt_with_hash_ids_is_refused(capsys):
    code, err = _cli_error(capsys, BASE + [str(MOONCAKE), "--system-prompt", "64", "--max-model-len", "128k"])
    assert code == 2 and "--system-prompt with a trace that has hash_ids" in err


def test_read_rows_is_lazy():
    fmt, rows = read_rows(MOONCAKE, limit=3)
    assert fmt.name == "mooncake" and fmt.hash_block == 512
    assert [r.prompt for r in rows] == [6758, 7322, 7236]
