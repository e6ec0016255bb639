"""Workloads: fitted built-in distributions, fixed lengths, traces and their errors."""

from __future__ import annotations

import json

import pytest

from kvplan.cli.main import run
from kvplan.errors import BadInputError, UnknownNameError
from kvplan.fragment.workloads import builtin_workload, fixed_workload, from_lengths, load_workload, read_trace


@pytest.mark.parametrize("name, prompt_mean, output_mean", [("sharegpt", 161.31, 337.99), ("alpaca", 19.31, 58.45)])
def test_builtin_means_match_the_paper(name, prompt_mean, output_mean):
    # Geometric with p = 1/mean; 80k draws, no clipping (huge max_model_len). The standard
    # error of a geometric mean over 80k draws is about mean / 283 (0.35%); allow 1% (2.8
    # standard errors; the draw is seeded, so the test is deterministic).
    wl = builtin_workload(name, 80_000, max_model_len=1 << 30, seed=0)
    s = wl.summary()
    assert s["mean_prompt_tokens"] == pytest.approx(prompt_mean, rel=0.01)
    assert s["mean_output_tokens"] == pytest.approx(output_mean, rel=0.01)
    assert wl.clipped == 0 and min(wl.prompt_lens) >= 1


def test_clipping_to_max_model_len():
    # prompt cut to max_model_len - S - 1, then output to what is left
    wl = from_lengths([10, 3, 4], [(5, 5), (2, 3), (9, 1)], system_prompt=2, max_model_len=8)
    assert wl.prompt_lens == (5, 3, 4)  # 10 -> 8 - 2 - 1
    assert wl.output_lens == ((1, 1), (2, 3), (2, 1))  # 5 -> 8-2-5; 2, 3 fit; 9 -> 8-2-4
    assert wl.clipped == 2
    big = builtin_workload("sharegpt", 5000, max_model_len=512, system_prompt=100, seed=1)
    assert all(100 + p + max(o) <= 512 for p, o in zip(big.prompt_lens, big.output_lens))
    assert big.clipped > 0


def test_samples_and_fixed():
    wl = builtin_workload("alpaca", 10, n=3, max_model_len=2048, seed=0)
    assert wl.n == 3 and all(len(o) == 3 for o in wl.output_lens)
    fx = fixed_workload("fixed:512:1k", 4, n=2, max_model_len=4096)
    assert fx.prompt_lens == (512,) * 4 and fx.output_lens == ((1024, 1024),) * 4
    with pytest.raises(BadInputError, match="fixed:PROMPT:OUTPUT"):
        fixed_workload("fixed:512", 4, max_model_len=4096)


def test_seeded():
    a = builtin_workload("sharegpt", 100, max_model_len=2048, seed=5)
    b = builtin_workload("sharegpt", 100, max_model_len=2048, seed=5)
    c = builtin_workload("sharegpt", 100, max_model_len=2048, seed=6)
    assert a.prompt_lens == b.prompt_lens and a.output_lens == b.output_lens
    assert a.prompt_lens != c.prompt_lens


ROWS = [{"prompt_len": 10, "output_len": 5}, {"prompt_len": 20, "output_len": 7}, {"prompt_len": 3, "output_len": 1}]


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_trace_formats(tmp_path, suffix):
    import pandas as pd

    path = tmp_path / f"t{suffix}"
    df = pd.DataFrame(ROWS)
    if suffix == ".csv":
        df.to_csv(path, index=False)
    elif suffix == ".jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    else:
        df.to_parquet(path)
    assert read_trace(path) == ([10, 20, 3], [5, 7, 1])
    wl = load_workload(str(path), num_requests=2, n=2, max_model_len=2048)
    assert wl.prompt_lens == (10, 20) and wl.output_lens == ((5, 5), (7, 7))
    wl_all = load_workload(str(path), num_requests=None, max_model_len=2048)
    assert wl_all.num_requests == 3  # a trace is used whole unless --requests says otherwise


def _fail(capsys, args):
    code = run(args)
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0, err  # one line
    return code, err


BASE = ["fragment", "llama3-8b", "--kv-pool-tokens", "64k", "--workload"]


@pytest.mark.parametrize(
    "content, message",
    [
        ("prompt_len,out\n1,2\n", "missing column(s) output_len (found: prompt_len, out)"),
        ("prompt_len,output_len\n5,3\n-3,2\n", "row 2: prompt_len must be a whole number >= 1, got -3"),
        ("prompt_len,output_len\n5,1.5\n", "row 1: output_len must be a whole number >= 1, got 1.5"),
        ("prompt_len,output_len\n5,\n", "row 1: output_len is empty"),
        ("prompt_len,output_len\nabc,3\n", "row 1: prompt_len must be a whole number >= 1, got 'abc'"),
        ("prompt_len,output_len\n0,3\n", "row 1: prompt_len must be a whole number >= 1, got 0"),
        ("prompt_len,output_len\n", "no rows"),
    ],
)
def test_bad_traces_exit_2_with_one_line(tmp_path, capsys, content, message):
    path = tmp_path / "trace.csv"
    path.write_text(content)
    code, err = _fail(capsys, BASE + [str(path)])
    assert code == 2
    assert err.startswith("kvplan: error: ") and message in err


def test_bad_jsonl_and_unknown_inputs(tmp_path, capsys):
    bad = tmp_path / "t.jsonl"
    bad.write_text('{"prompt_len": 1, "output_len": 2}\nnot json\n')
    code, err = _fail(capsys, BASE + [str(bad)])
    assert code == 2 and "t.jsonl: row 2: cannot read as JSON" in err
    code, err = _fail(capsys, BASE + [str(tmp_path / "nope.csv")])
    assert code == 2 and "no such file" in err
    txt = tmp_path / "t.txt"
    txt.write_text("x")
    code, err = _fail(capsys, BASE + [str(txt)])
    assert code == 2 and "unknown trace format '.txt'" in err
    code, err = _fail(capsys, BASE + ["sharegtp"])
    assert code == 2 and "unknown workload 'sharegtp'; did you mean sharegpt?" in err
    with pytest.raises(UnknownNameError):
        load_workload("nonsense", num_requests=1, max_model_len=2048)
