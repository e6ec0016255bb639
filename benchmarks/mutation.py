"""Mutation pass over kvplan's decision rules: change one constant or comparison, run the
tests that should notice, and report which changes no test caught (the "survivors").

Issue 12 asks that every decision rule (vLLM's grouping ratio, headroom comparisons, the
largest-load choice, the SGLang default fraction, the engines' start-up constants, the
block rules of each cache kind) be pinned by a test that fails when the rule changes. This
script makes that checkable: for each target module it walks the AST and produces one
mutant per

  * comparison operator   <  <-> <=,  >  <-> >=,  == <-> !=
  * numeric constant      n -> n + 1 (ints), x -> x * 1.01 (floats); Fraction("a/b") and
                          Fraction(a, b) arguments likewise
  * min / max call        min <-> max

inside the functions and module-level tables listed in TARGETS, runs `pytest -x -q` on the
tests listed for that module (in a scratch copy of the repository, so the checkout is never
touched), and records whether the tests failed (killed) or passed (survived).

    python benchmarks/mutation.py [--module kvplan/capacity.py] [--limit N] [--out FILE]
    python benchmarks/mutation.py --module kvplan/paging.py --rerun OLD.json --out NEW.json
    python benchmarks/mutation.py --combine a.json b.json ... [--out FILE]

Prints one line per mutant and a summary; writes benchmarks/results/mutation.json.
``--rerun OLD.json`` keeps OLD.json's killed mutants (a mutant the tests killed stays killed
when tests are only added; the module's code must not have changed since) and runs the rest:
OLD.json's survivors and any mutant it does not list. ``--combine`` merges per-module result
files into one without running anything.
A survivor is not always a missing test: a mutation can be equivalent (e.g. n + 1 in a
bound that no input reaches); the JSON keeps every survivor for a person to judge.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from _common import write_json

ROOT = Path(__file__).resolve().parents[1]

#: module -> (names of functions/classes/assignments to mutate, None = the whole module; tests to run)
TARGETS: dict[str, tuple[tuple[str, ...] | None, tuple[str, ...]]] = {
    "kvplan/paging.py": (
        ("KERNEL_BLOCK_ALIGNMENT", "RULES", "Paging", "blocks_per_request", "_runner_kind", "_runner_layers",
         "_hybrid_off", "_one_type", "pool_layout", "_unify_pages", "_grouped", "needed_bytes", "longest_fitting",
         "Pages", "page_replica"),
        ("tests/test_paging_rules.py", "tests/test_rules_pinned.py", "tests/test_capacity.py",
         "tests/test_vllm_kv_cache_utils_v0_10.py", "tests/test_vllm_kv_cache_utils_v0_11.py",
         "tests/test_vllm_kv_cache_utils_v0_19.py", "tests/test_vllm_kv_cache_utils_v0_33.py",
         "tests/test_calibration.py", "tests/test_one_answer.py", "tests/test_speculative.py",
         "tests/test_verdict_properties.py"),
    ),
    "kvplan/capacity.py": (
        ("Pool", "plan", "summarize", "_suggest"),
        ("tests/test_rules_pinned.py", "tests/test_capacity.py", "tests/test_check.py", "tests/test_one_answer.py",
         "tests/test_calibration.py", "tests/test_sweep.py", "tests/test_speculative.py"),
    ),
    "kvplan/engines/vllm_rules.py": (
        ("RULES", "SAMPLER_PATH_BYTES_PER_LOGIT", "SORT_BYTES_PER_LOGIT", "sort_bytes_per_logit",
         "PROFILE_WORKSPACE_BYTES", "NUM_SMS", "FORWARD_HIDDEN_COPIES", "FORWARD_MLP_COPIES", "TRITON_MIN_ROWS"),
        ("tests/test_rules_pinned.py", "tests/test_vllm_block_size.py", "tests/test_engines.py",
         "tests/test_calibration.py", "tests/test_capacity.py", "tests/test_explain.py"),
    ),
    "kvplan/engines/vllm.py": (
        ("VLLM", "rope_cache_bytes", "mlp_width", "next_power_of_2"),
        ("tests/test_rules_pinned.py", "tests/test_vllm_block_size.py", "tests/test_engines.py", "tests/test_calibration.py", "tests/test_capacity.py",
         "tests/test_explain.py"),
    ),
    "kvplan/engines/sglang.py": (
        ("_reserved_0_4_9", "_reserved_0_5_4", "_reserved_0_5_6", "_RESERVED", "_round3", "default_fraction",
         "RULES", "SGLang"),
        ("tests/test_rules_pinned.py", "tests/test_engines.py", "tests/test_explain.py", "tests/test_calibration.py",
         "tests/test_capacity.py"),
    ),
    "kvplan/layers.py": (
        ("SlidingWindow", "ChunkedLocal", "StateSpace", "FullAttention", "MLALatent", "SinkWindow", "cdiv", "minimum"),
        ("tests/test_layers.py", "tests/test_rules_pinned.py", "tests/test_footprint.py", "tests/test_capacity.py",
         "tests/test_calibration.py", "tests/test_sinks.py"),
    ),
    "kvplan/plan.py": (
        ("check_deployment",),
        ("tests/test_rules_pinned.py", "tests/test_check.py", "tests/test_one_answer.py"),
    ),
}


@dataclass
class Mutant:
    module: str
    line: int
    description: str
    source: str  # the mutated module text


class _Collect(ast.NodeVisitor):
    """Positions of every mutable node inside the target definitions."""

    def __init__(self, names):
        self.names = names
        self.inside = 0
        self.sites: list[tuple[str, ast.AST]] = []

    def _enter(self, node, name):
        wanted = self.names is None or name in self.names
        self.inside += wanted
        self.generic_visit(node)
        self.inside -= wanted

    def visit_FunctionDef(self, node):
        self._enter(node, node.name)

    def visit_ClassDef(self, node):
        self._enter(node, node.name)

    def visit_Assign(self, node):
        names = [t.id for t in node.targets if isinstance(t, ast.Name)]
        self._enter(node, names[0] if names else "")

    def visit_AnnAssign(self, node):
        self._enter(node, node.target.id if isinstance(node.target, ast.Name) else "")

    def visit_Compare(self, node):
        if self.inside:
            self.sites.append(("compare", node))
        self.generic_visit(node)

    def visit_Constant(self, node):
        if self.inside and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
            self.sites.append(("constant", node))

    def visit_Call(self, node):
        if self.inside and isinstance(node.func, ast.Name) and node.func.id in ("min", "max"):
            self.sites.append(("minmax", node))
        self.generic_visit(node)


_SWAP = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq, ast.NotEq: ast.Eq}
_SYM = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!="}


def _replace_segment(text: str, node: ast.AST, new: str) -> str:
    lines = text.splitlines(keepends=True)
    start = sum(len(x) for x in lines[: node.lineno - 1]) + node.col_offset
    end = sum(len(x) for x in lines[: node.end_lineno - 1]) + node.end_col_offset
    return text[:start] + new + text[end:]


def mutants(module: str, names) -> list[Mutant]:
    text = (ROOT / module).read_text()
    tree = ast.parse(text)
    col = _Collect(set(names) if names else None)
    col.visit(tree)
    out = []
    for kind, node in col.sites:
        seg = ast.get_source_segment(text, node)
        if kind == "constant":
            v = node.value
            new = repr(v + 1) if isinstance(v, int) else repr(v * 1.01)
            out.append(Mutant(module, node.lineno, f"constant {seg} -> {new}", _replace_segment(text, node, new)))
        elif kind == "minmax":
            other = "max" if node.func.id == "min" else "min"
            out.append(Mutant(module, node.lineno, f"{node.func.id}(...) -> {other}(...)",
                              _replace_segment(text, node.func, other)))
        else:
            for i, op in enumerate(node.ops):
                if type(op) not in _SWAP:
                    continue
                mutated = ast.Compare(left=node.left, ops=list(node.ops), comparators=node.comparators)
                mutated.ops[i] = _SWAP[type(op)]()
                new = ast.unparse(mutated)
                out.append(Mutant(module, node.lineno, f"{_SYM[type(op)]} -> {_SYM[_SWAP[type(op)]]} in `{seg}`",
                                  _replace_segment(text, node, f"({new})")))
    return out


def run(mutant: Mutant, tests, scratch: Path, timeout: int) -> str:
    target = scratch / mutant.module
    original = target.read_text()
    target.write_text(mutant.source)
    env = dict(os.environ, PYTHONPATH=str(scratch), KVPLAN_NO_CACHE="1", PYTHONDONTWRITEBYTECODE="1")
    # pytest collects every file before it runs the first test, so the first file of the list
    # (the targeted one) runs alone first: most mutants die there in a few seconds, and only
    # those it misses pay for collecting the whole list.
    stages = ([tests[0]], list(tests)) if len(tests) > 1 else (list(tests),)
    try:
        for files in stages:
            proc = subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider",
                                   "-m", "not interpret", *files], cwd=scratch, env=env, capture_output=True,
                                  timeout=timeout)
            if proc.returncode != 0:
                return "killed"
        return "survived"
    except subprocess.TimeoutExpired:
        return "killed (timeout)"
    finally:
        target.write_text(original)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--module", action="append", help="only these target modules")
    ap.add_argument("--limit", type=int, default=0, help="at most N mutants per module (0: all)")
    ap.add_argument("--count", action="store_true", help="only count the mutants of each module")
    ap.add_argument("--timeout", type=int, default=600)
    ap.add_argument("--out", default=None)
    ap.add_argument("--rerun", default=None, help="a previous result file: run only its survivors")
    ap.add_argument("--combine", nargs="+", default=None, help="merge these result files; run nothing")
    args = ap.parse_args()
    if args.combine:
        results = [r for f in args.combine for r in json.loads(Path(f).read_text())["results"]]
        _finish(results, args.out)
        return
    previous = json.loads(Path(args.rerun).read_text())["results"] if args.rerun else None
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp) / "repo"
        shutil.copytree(ROOT, scratch, ignore=shutil.ignore_patterns(".git", ".venv*", "__pycache__", "results"))
        # The scratch copy is imported via PYTHONPATH; map kvplan.kernels / model_specs like the package does.
        for name, folder in (("kernels", "kernels"), ("model_specs", "model_specs")):
            link = scratch / "kvplan" / name
            if not link.exists():
                link.symlink_to(scratch / folder)
        for module, (names, tests) in TARGETS.items():
            if args.module and module not in args.module:
                continue
            missing = [t for t in tests if not (ROOT / t).exists()]
            if missing:
                raise SystemExit(f"{module}: test files missing: {', '.join(missing)}")
            found = mutants(module, names)
            if not args.count:  # the unmutated copy must pass, or every mutant would look "killed"
                baseline = Mutant(module, 0, "baseline", (ROOT / module).read_text())
                if run(baseline, tests, scratch, args.timeout) != "survived":
                    raise SystemExit(f"{module}: the tests fail without any mutation; fix that first")
            if args.count:
                print(f"{module}: {len(found)} mutants")
                continue
            if args.limit:
                found = found[: args.limit]
            if previous is not None:  # keep what was killed; rerun survivors and mutants it does not list
                old = _keyed(r for r in previous if r["module"] == module)
                new = _keyed({"module": m.module, "line": m.line, "mutation": m.description, "m": m} for m in found)
                kept = [old[k] for k in new if k in old and old[k]["status"] != "survived"]
                results += kept
                found = [r["m"] for k, r in new.items() if old.get(k, {}).get("status") in (None, "survived")]
                print(f"{module}: {len(kept)} killed before (kept), {len(found)} to run", flush=True)
            for m in found:
                t0 = time.perf_counter()
                status = run(m, tests, scratch, args.timeout)
                results.append({"module": m.module, "line": m.line, "mutation": m.description, "status": status,
                                "seconds": round(time.perf_counter() - t0, 1)})
                print(f"{status:>17}  {m.module}:{m.line}  {m.description}", flush=True)
    if not args.count:
        _finish(results, args.out)


def _keyed(rows) -> dict:
    """Results by (module, line, mutation, n): n tells apart equal mutations on one line."""
    out, seen = {}, {}
    for r in rows:
        k = (r["module"], r["line"], r["mutation"])
        seen[k] = seen.get(k, 0) + 1
        out[(*k, seen[k])] = r
    return out


def _finish(results: list[dict], out) -> None:
    results = sorted(results, key=lambda r: (r["module"], r["line"]))
    survived = [r for r in results if r["status"] == "survived"]
    for module in sorted({r["module"] for r in results}):
        mine = [r for r in results if r["module"] == module]
        alive = sum(r["status"] == "survived" for r in mine)
        print(f"{module}: {len(mine)} mutants, {len(mine) - alive} killed, {alive} survived")
    print(f"{len(results)} mutants, {len(results) - len(survived)} killed, {len(survived)} survived")
    path = write_json({"targets": {k: list(v[1]) for k, v in TARGETS.items()}, "results": results,
                       "survivors": survived}, out, "mutation.json")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
