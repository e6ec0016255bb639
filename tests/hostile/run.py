"""Hostile-input run: every case in tests/hostile/cases.py as a subprocess, classified.

Kept outside the normal pytest run (pytest collects test_*.py only). Each case runs
``python -m kvplan.cli.main ARGS`` in a fresh folder, with a wall-clock timeout and a
memory cap (RLIMIT_AS, set in preexec_fn), and is **clean** when:

- it ends by itself within the timeout (no hang);
- its exit code is 0, 1 or 2 (or the codes the case documents: 143 after SIGTERM, 141 when
  the reader of stdout went away);
- stderr has at most one non-blank line (or the case's stated number), no traceback and
  no "internal error";
- neither stream holds a control character other than newline and tab (kvplan runs
  without a terminal here, so any ESC is an injected one);
- no temporary file (``*.tmp``) is left anywhere in the case's folder (which also holds
  the spec cache, KVPLAN_CACHE_DIR);
- the case's own check passes (e.g. "refused with exit 2", "the file is a PDF").

Usage:
    python tests/hostile/run.py                 # all cases, 2 at a time
    python tests/hostile/run.py -k stream -j 1  # cases whose name contains 'stream'
    python tests/hostile/run.py --out results.json

Prints one line per case and the total clean/total; exits 1 when any case is not clean.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

from cases import CASES, Case  # noqa: E402

_CONTROL = ({c for c in range(32) if c not in (9, 10)} | {127} | set(range(0x80, 0xA0)) | {0x200E, 0x200F}
            | set(range(0x202A, 0x202F)) | set(range(0x2066, 0x206A)))


def _limits(mem_bytes: int, close_stdout: bool):
    def apply() -> None:
        os.setsid()
        resource.setrlimit(resource.RLIMIT_AS, (mem_bytes, mem_bytes))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if close_stdout:
            os.close(1)

    return apply


def _materialize(case: Case, work: Path) -> None:
    for name, content in case.files.items():
        path = work / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if callable(content):
            content(path)
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")


def _leftovers(work: Path) -> list[str]:
    out = []
    for p in work.rglob("*"):
        if p.name.endswith(".tmp") and not p.is_symlink():
            out.append(str(p.relative_to(work)))
    return out


def run_case(case: Case, mem_bytes: int, timeout_s: float) -> dict:
    work = Path(tempfile.mkdtemp(prefix="kvplan-hostile-"))
    try:
        _materialize(case, work)
        env = {k: v for k, v in os.environ.items() if k not in ("KVPLAN_DEBUG", "COLUMNS", "LINES")}
        env.update(KVPLAN_CACHE_DIR=str(work / "cache"), PYTHONPATH=str(ROOT), KVPLAN_NO_CACHE="0")
        env.update(case.env)
        argv = [sys.executable, "-m", "kvplan.cli.main", *[a.replace("{dir}", str(work)) for a in case.args]]
        stdout_target = subprocess.PIPE
        closed_pipe = case.stdout == "closed-pipe"
        if case.stdout == "full":
            stdout_target = open("/dev/full", "w")  # noqa: SIM115
        started = time.monotonic()
        stdin = open(work / case.stdin if case.stdin else os.devnull, "rb")  # noqa: SIM115
        proc = subprocess.Popen(argv, cwd=work, env=env, stdin=stdin, stdout=stdout_target,
                                stderr=subprocess.PIPE, preexec_fn=_limits(mem_bytes, case.stdout == "closed-fd"))
        if closed_pipe:
            proc.stdout.close()
        timed_out = False
        if case.signal is not None:
            deadline = started + timeout_s
            sig, trigger = case.signal
            while time.monotonic() < deadline and proc.poll() is None:
                if (isinstance(trigger, (int, float)) and time.monotonic() - started >= trigger) or (
                        isinstance(trigger, str) and any(work.glob(trigger))):
                    proc.send_signal(sig)
                    break
                time.sleep(0.005)
        try:
            if closed_pipe:
                err = proc.stderr.read()
                proc.wait(timeout=max(1.0, timeout_s - (time.monotonic() - started)))
                out = b""
            else:
                out, err = proc.communicate(timeout=max(1.0, timeout_s - (time.monotonic() - started)))
        except subprocess.TimeoutExpired:
            timed_out = True
            os.killpg(proc.pid, signal.SIGKILL)
            out, err = (b"", b"") if closed_pipe else proc.communicate()
            err = err or b""
        stdin.close()
        if case.stdout == "full":
            stdout_target.close()
        out = out or b""
        elapsed = time.monotonic() - started
        result = {
            "name": case.name, "group": case.group, "rc": proc.returncode, "elapsed_s": round(elapsed, 2),
            "stdout": out.decode("utf-8", "backslashreplace"), "stderr": err.decode("utf-8", "backslashreplace"),
            "timed_out": timed_out, "leftovers": _leftovers(work), "work": work,
        }
        result["problems"] = classify(case, result)
        return result
    finally:
        shutil.rmtree(work, ignore_errors=True)


def classify(case: Case, r: dict) -> list[str]:
    problems = []
    if r["timed_out"]:
        return ["hang (timeout)"]
    if r["rc"] not in case.codes:
        problems.append(f"exit {r['rc']} (expected {sorted(case.codes)})")
    err_lines = [ln for ln in r["stderr"].splitlines() if ln.strip()]
    if "Traceback" in r["stderr"]:
        problems.append("traceback")
    if "internal error" in r["stderr"]:
        problems.append("internal error")
    if len(err_lines) > case.max_err:
        problems.append(f"{len(err_lines)} stderr lines")
    for stream in ("stdout", "stderr"):
        bad = sorted({hex(ord(ch)) for ch in r[stream] if ord(ch) in _CONTROL})
        if bad:
            problems.append(f"control characters {', '.join(bad)} on {stream}")
    if r["leftovers"]:
        problems.append(f"left {', '.join(r['leftovers'])}")
    if case.check is not None and not problems:
        why = case.check(r)
        if why:
            problems.append(why)
    return problems


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-k", default="", help="only cases whose name or group contains this")
    ap.add_argument("-j", type=int, default=2, help="cases run at once (default 2)")
    ap.add_argument("--mem-mb", type=int, default=4096, help="address-space cap per case (MiB)")
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds per case (default 60)")
    ap.add_argument("--out", help="write every result as JSON here")
    ap.add_argument("-v", action="store_true", help="print stderr of cases that are not clean")
    args = ap.parse_args()
    cases = [c for c in CASES if args.k in c.name or args.k in c.group]
    names = [c.name for c in CASES]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        print(f"duplicate case names: {sorted(dup)}", file=sys.stderr)
        return 2
    mem = args.mem_mb << 20
    t0 = time.monotonic()
    with ThreadPoolExecutor(max_workers=max(1, args.j)) as pool:
        results = list(pool.map(lambda c: run_case(c, mem, c.timeout or args.timeout), cases))
    clean = 0
    by_group: dict[str, list[int]] = {}
    for r in results:
        ok = not r["problems"]
        clean += ok
        g = by_group.setdefault(r["group"], [0, 0])
        g[0] += ok
        g[1] += 1
        status = "clean" if ok else "NOT CLEAN: " + "; ".join(r["problems"])
        print(f"{r['name']:<44} rc={r['rc']!s:<4} {r['elapsed_s']:>6.2f}s  {status}")
        if not ok and args.v:
            for ln in r["stderr"].splitlines()[-6:]:
                print(f"    | {ln[:300]}")
    print()
    for g, (ok, n) in by_group.items():
        print(f"  {g:<12} {ok}/{n}")
    print(f"clean {clean}/{len(results)} in {time.monotonic() - t0:.0f} s")
    if args.out:
        Path(args.out).write_text(json.dumps([{k: v for k, v in r.items() if k != "work"} for r in results],
                                             indent=1, default=str))
    return 0 if clean == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
