"""Output streams and interrupted writes: a closed pipe ends quietly (141), a full disk or a
closed stdout is one line, an encoding that cannot hold a name escapes it, COLUMNS=0 does not
squash tables, and SIGTERM/SIGINT during a write remove the temporary file."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers import cli, one_line_error

SPEC = dict(name="toy", source="test", num_layers=4, hidden_size=256, num_attention_heads=4, num_kv_heads=2,
            head_dim=64, vocab_size=1000, intermediate_size=512, dtype="bf16", max_position_embeddings=4096)


def kvplan(*args, env=None, **kw) -> subprocess.Popen:
    full_env = {k: v for k, v in os.environ.items() if k not in ("KVPLAN_DEBUG", "COLUMNS")}
    full_env.update(env or {})
    return subprocess.Popen([sys.executable, "-m", "kvplan.cli.main", *map(str, args)], env=full_env,
                            stdin=subprocess.DEVNULL, **kw)


@pytest.mark.parametrize("args", [["models", "--json"], ["models"], ["check", "PLAN"]])
def test_a_closed_pipe_ends_quietly_with_141(tmp_path, args):
    plan = tmp_path / "plan.yaml"
    plan.write_text("deployments: [{name: a, model: llama3-8b, gpu: h100-sxm}]\n")
    proc = kvplan(*[plan if a == "PLAN" else a for a in args], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # `| head -0`: the reader is gone before the first write
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 141
    assert err == ""


@pytest.mark.parametrize("args", [["size", "llama3-8b"], ["models", "--json"], ["schema"], ["--help"]])
def test_stdout_on_a_full_disk_is_one_line(args):
    with open("/dev/full", "w") as full:
        proc = kvplan(*args, stdout=full, stderr=subprocess.PIPE, text=True)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert one_line_error(err) == "kvplan: error: cannot write to stdout (No space left on device)"


def test_a_closed_stdout_is_dev_null():
    proc = kvplan("check", "/nonexistent.yaml", stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                  preexec_fn=lambda: os.close(1))
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2 and one_line_error(err) == "kvplan: error: /nonexistent.yaml: no such file"
    proc = kvplan("models", "--json", stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                  preexec_fn=lambda: os.close(1))
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0 and err == ""


def test_an_ascii_terminal_gets_escapes_for_other_characters(tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text(json.dumps({**SPEC, "display_name": "Llamα ☃"}))
    proc = kvplan("show", spec, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={"PYTHONIOENCODING": "ascii"})
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert out.decode("ascii").startswith("Llam\\u03b1 \\u2603 (toy)")
    proc = kvplan("size", "llamа☃", stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                  env={"PYTHONIOENCODING": "ascii"})
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2 and one_line_error(err).startswith("kvplan: error: unknown model 'llam\\u0430\\u2603'")


@pytest.mark.parametrize("columns", ["0", "-5", "wide", "1"])
def test_unusable_columns_do_not_squash_tables(capsys, monkeypatch, columns):
    monkeypatch.setenv("COLUMNS", columns)
    code, out, _ = cli(capsys, "size", "llama3-8b", "--kv-dtype", "bf16")
    assert code == 0
    assert "│ bf16   │     131,072 │     1.00 GiB │ 1.00 GiB │   1.00 GiB │" in out


# -- interrupted writes ----------------------------------------------------------------------------
# A writer that starts the file and then waits, so the signal surely arrives mid-write. It
# waits in short sleeps: the kernel may deliver the signal to another thread (pyarrow's and
# numpy's pools), and Python runs its handler only when the main thread next returns to it.
SLOW_WRITE = """
import sys, time
import pyarrow.csv
from kvplan.cli.main import run
def slow(table, path, *a, **k):
    open(path, "w").write("half a file")
    for _ in range(6000):
        time.sleep(0.01)
pyarrow.csv.write_csv = slow
sys.exit(run(sys.argv[1:]))
"""


@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130), (signal.SIGHUP, 129)])
def test_a_signal_during_a_write_removes_the_temporary_file(tmp_path, sig, code):
    out = tmp_path / "out.csv"
    out.write_text("the previous file\n")
    proc = subprocess.Popen([sys.executable, "-c", SLOW_WRITE, "sweep", "llama3-8b", "--ctx", "4k", "--csv", str(out)],
                            cwd=tmp_path, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(".out.csv.*.tmp")) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert list(tmp_path.glob(".out.csv.*.tmp")), "the write never started"
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code
    assert one_line_error(err) == f"kvplan: interrupted by {signal.Signals(sig).name}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]
    assert out.read_text() == "the previous file\n"


def test_atomic_write_removes_its_file_on_any_interruption(tmp_path):
    from kvplan.outputs import atomic_write

    def interrupted(tmp: str) -> None:
        Path(tmp).write_text("half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(tmp_path / "x.csv", interrupted)
    assert list(tmp_path.iterdir()) == []
