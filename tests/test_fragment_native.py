"""The compiled simulator (setup.py: mypyc) is the Python source, bit for bit.

`pip install` compiles kvplan/fragment/{allocators,metrics,simulator}.py where it can. Every
result of the compiled modules must equal what their Python source computes, integers and
float clocks alike, on variants that take every path of the simulator (contiguous, buddy,
static, paged with and without sharing, windows and sinks, samples, system prompts, chunked
prefill, lookahead, arrivals in time, a step time that reads the KV, tiers, trace hashes).
Where nothing was compiled the comparison is skipped (CI installs compiled); the guard that
keeps a stale extension from running is tested either way.
"""

from __future__ import annotations

import dataclasses
import json

import pytest

from kvplan.fragment import _native
from kvplan.fragment.arrivals import Poisson
from kvplan.fragment.config import Retention, ServingConfig, Tiers
from kvplan.fragment.policies import parse_policy
from kvplan.fragment.timing import ConstantStepTime, SpeculativeStepTime
from kvplan.fragment.workloads import builtin_workload, from_lengths

compiled = _native.mode == "compiled"


class KVStepTime:
    """A step time that reads the KV (so the simulator tracks it): 10 ms + 0.1 us a KV token
    + 0.1 ms a prompt token."""

    uses_kv_tokens = True

    def step_seconds(self, num_decode_seqs: int, decode_kv_tokens: int, num_prefill_tokens: int) -> float:
        return 0.01 + 1e-7 * decode_kv_tokens + 1e-4 * num_prefill_tokens

    def describe(self) -> str:
        return "test: 10 ms + 0.1 us/KV token + 0.1 ms/prompt token"


def _sharegpt(num=400, n=1, system_prompt=0, seed=5):
    return builtin_workload("sharegpt", num_requests=num, n=n, system_prompt=system_prompt, max_model_len=2048,
                            seed=seed)


def _hashed():
    # 6 requests sharing prefixes through trace hash ids (blocks of 32 tokens)
    prompts = [96, 96, 64, 128, 96, 40]
    hashes = [(1, 2, 3), (1, 2, 4), (1, 2), (1, 2, 3, 5), (7, 8, 9), (1, 2)]
    return from_lengths(prompts, [40, 12, 30, 8, 50, 5], max_model_len=256, hash_ids=hashes, hash_block=32)


def _evicting():
    # one request at a time on an 8-block pool: later prompts evict earlier ones' blocks to the CPU tier
    hashes = [(1, 2, 3), (4, 5, 6), (7, 8, 9), (10, 11, 12), (1, 2, 3), (4, 5, 6), (13, 14, 15), (7, 8, 9)]
    return from_lengths([96] * 8, [8] * 8, max_model_len=256, hash_ids=hashes, hash_block=32)


VARIANTS = {
    "orca-max": lambda: (_sharegpt(), "orca-max", 6000, {}),
    "orca-pow2": lambda: (_sharegpt(), "orca-pow2", 6000, {}),
    "orca-oracle": lambda: (_sharegpt(), "orca-oracle", 6000, {}),
    "orca-oracle-buddy": lambda: (_sharegpt(), "orca-oracle", 6000, {"allocator": "buddy"}),
    "static": lambda: (_sharegpt(), "static", 6000, {}),
    "paged-16": lambda: (_sharegpt(), "paged-16", 6000, {}),
    "paged-1": lambda: (_sharegpt(), "paged-1", 6000, {}),
    "paged-16-n3-system": lambda: (_sharegpt(n=3, system_prompt=40), "paged-16", 9000, {}),
    "paged-16-share-n2-system": lambda: (_sharegpt(n=2, system_prompt=40), "paged-16-share", 6000, {}),
    "paged-16-budget": lambda: (_sharegpt(), "paged-16", 6000,
                                {"serving": ServingConfig(max_num_batched_tokens=512)}),
    "orca-oracle-budget": lambda: (_sharegpt(), "orca-oracle", 6000,
                                   {"serving": ServingConfig(max_num_batched_tokens=512)}),
    "paged-16-window-sinks": lambda: (_sharegpt(), "paged-16", 4000,
                                      {"serving": ServingConfig(retention=Retention(window=256, sinks=4))}),
    "orca-max-window": lambda: (_sharegpt(), "orca-max", 4000,
                                {"serving": ServingConfig(retention=Retention(window=256))}),
    "paged-16-lookahead": lambda: (_sharegpt(), "paged-16", 6000, {"serving": ServingConfig(
        step_time=SpeculativeStepTime(ConstantStepTime(), 3, 0.7, 0.002, lookahead_tokens=3))}),
    "orca-oracle-lookahead": lambda: (_sharegpt(), "orca-oracle", 6000, {"serving": ServingConfig(
        step_time=SpeculativeStepTime(ConstantStepTime(), 3, 0.7, lookahead_tokens=3))}),
    "paged-16-poisson-kv": lambda: (_sharegpt().with_arrivals(Poisson(4.0, 1)), "paged-16", 6000,
                                    {"serving": ServingConfig(step_time=KVStepTime())}),
    "orca-pow2-poisson-kv": lambda: (_sharegpt().with_arrivals(Poisson(4.0, 1)), "orca-pow2", 6000,
                                     {"serving": ServingConfig(step_time=KVStepTime())}),
    "static-poisson": lambda: (_sharegpt().with_arrivals(Poisson(4.0, 1)), "static", 6000, {}),
    "paged-32-share-hashes": lambda: (_hashed(), "paged-32-share", 320, {}),
    "paged-32-share-tiers": lambda: (_evicting(), "paged-32-share", 256, {"max_seqs": 1, "serving": ServingConfig(
        tiers=Tiers(cpu_bytes=32 * 6 * 1024, bytes_per_token=1024))}),
}


def _result(module, name):
    wl, policy, pool, kw = VARIANTS[name]()
    res = module.simulate(wl, parse_policy(policy), pool, max_model_len=wl.max_model_len or 2048, **kw)
    return dataclasses.astuple(res), res  # every field unrounded (to_dict rounds the floats)


@pytest.mark.skipif(not compiled, reason=f"the simulator is not compiled here: {_native.mode}")
@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_compiled_equals_source(name):
    from kvplan.fragment import simulator

    assert simulator.__file__.endswith(tuple(_native.importlib.machinery.EXTENSION_SUFFIXES))
    fast, fast_res = _result(simulator, name)
    slow, slow_res = _result(_native.source_module("simulator"), name)
    assert fast == slow  # every figure, float clocks included, to the last bit
    assert fast_res.usage == slow_res.usage
    assert fast_res.completed == fast_res.requests > 0


def test_variants_take_the_paths_they_name():
    # the comparison above proves something only if its variants do what their names say
    from kvplan.fragment.simulator import simulate

    def run(name):
        wl, policy, pool, kw = VARIANTS[name]()
        return simulate(wl, parse_policy(policy), pool, max_model_len=wl.max_model_len or 2048, **kw)

    assert run("paged-16").preemptions > 0
    assert run("paged-32-share-hashes").cache.hit_tokens > 0
    assert run("paged-32-share-tiers").cache.tier_hit_tokens[0] > 0
    assert run("paged-16-window-sinks").usage != run("paged-16").usage


def _fake_build(tmp_path, record=None, names=_native.COMPILED, monkeypatch=None):
    for name in _native.COMPILED:
        (tmp_path / f"{name}.py").write_text(f"# {name}\n")
    for name in names:
        (tmp_path / f"{name}{_native.importlib.machinery.EXTENSION_SUFFIXES[0]}").write_bytes(b"")
    if record is not None:
        (tmp_path / _native.RECORD).write_text(json.dumps(record))
    if monkeypatch is not None:  # the group's shared library, wherever these tests run
        monkeypatch.setattr(_native, "_group_found", lambda: True)


def _digest(text):
    return _native.hashlib.sha256(text.encode()).hexdigest()


def test_a_stale_extension_is_never_chosen(tmp_path, monkeypatch):
    monkeypatch.setattr(_native, "HERE", tmp_path)
    monkeypatch.delenv("KVPLAN_PURE_PYTHON", raising=False)
    assert _native._why_source() == "not compiled"
    good = {name: _digest(f"# {name}\n") for name in _native.COMPILED}
    _fake_build(tmp_path, record=good, monkeypatch=monkeypatch)
    assert _native._why_source() is None
    monkeypatch.setattr(_native, "_group_found", lambda: False)  # review h25 R9
    assert _native._why_source() == "kvplan_fragment_native__mypyc (mypyc's shared library) not found"
    monkeypatch.setattr(_native, "_group_found", lambda: True)
    monkeypatch.setenv("KVPLAN_PURE_PYTHON", "1")
    assert _native._why_source() == "KVPLAN_PURE_PYTHON=1"
    monkeypatch.delenv("KVPLAN_PURE_PYTHON")
    (tmp_path / "metrics.py").write_text("# metrics, edited\n")
    assert _native._why_source() == "metrics.py changed since it was compiled"
    (tmp_path / _native.RECORD).unlink()
    assert _native._why_source() == f"no readable {_native.RECORD}"


def test_a_failed_compile_is_named(tmp_path, monkeypatch):
    monkeypatch.setattr(_native, "HERE", tmp_path)
    monkeypatch.delenv("KVPLAN_PURE_PYTHON", raising=False)
    _fake_build(tmp_path, record={"failed": "mypyc could not compile the simulator: AssertionError: object"})
    assert _native._why_source() == "compile failed at install: mypyc could not compile the simulator: " \
        "AssertionError: object"


def test_this_install_compiled_if_it_tried():
    # setup.py records a compile it attempted and could not finish (a type error, a mypyc crash, no
    # compiler): CI installs with mypy, so an edit that mypyc cannot compile fails here instead of
    # leaving every user on the slow path
    assert not _native.mode.startswith("python (compile failed"), _native.mode


def test_a_partial_build_is_not_chosen(tmp_path, monkeypatch):
    monkeypatch.setattr(_native, "HERE", tmp_path)
    monkeypatch.delenv("KVPLAN_PURE_PYTHON", raising=False)
    good = {name: _digest(f"# {name}\n") for name in _native.COMPILED}
    _fake_build(tmp_path, record=good, names=("simulator",), monkeypatch=monkeypatch)
    assert _native._why_source() == "allocators not compiled"


def test_pure_python_runs_the_source(tmp_path):
    # KVPLAN_PURE_PYTHON=1 in a fresh interpreter: every compiled module comes from its .py
    import subprocess
    import sys

    code = ("import kvplan.fragment as f, kvplan.fragment._native as n;"
            "import kvplan.fragment.simulator as s, kvplan.fragment.metrics as m, kvplan.fragment.allocators as a;"
            "print(n.mode, s.__file__.endswith('.py'), m.__file__.endswith('.py'), a.__file__.endswith('.py'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**__import__("os").environ, "KVPLAN_PURE_PYTHON": "1"}).stdout.split()
    assert out == ["python", "(KVPLAN_PURE_PYTHON=1)", "True", "True", "True"]


def test_mypyc_accepts_the_sources(tmp_path, monkeypatch):
    # What setup.py asks of mypyc, up to the C sources (a few seconds; no C compile): a type error
    # or a mypyc crash on an edit (review h25 R1: a subclass __init__ calling super().__init__)
    # fails here in every environment with the test extra, compiled or not.
    build = pytest.importorskip("mypyc.build")
    root = _native.HERE.parent.parent
    monkeypatch.chdir(root)  # mypyc names modules by their paths relative to the working directory
    paths = [f"kvplan/fragment/{name}.py" for name in _native.COMPILED]
    extensions = build.mypycify([*_native.MYPY_FLAGS, *paths], opt_level="0", group_name=_native.GROUP,
                                target_dir=str(tmp_path))
    assert {e.name for e in extensions} >= {f"kvplan.fragment.{name}" for name in _native.COMPILED}


def test_setup_compiles_what_the_guard_checks():
    # setup.py takes the module list, the record's name and the group from _native.py: one list
    text = (_native.HERE.parent.parent / "setup.py").read_text()
    assert "_NATIVE.COMPILED" in text and "_NATIVE.RECORD" in text and "_NATIVE.GROUP" in text
    assert "allocators.py" not in text and '"_native_sources.json"' not in text


def test_fragment_json_says_which_simulator_ran():
    # review h25 R8: pip hides the build's messages; the output names what ran
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "kvplan.cli.main", "fragment", "llama3-8b", "--kv-pool-tokens", "4096",
                          "--requests", "20", "--policies", "paged-16", "--json"], capture_output=True, text=True,
                         check=True, env={**__import__("os").environ, "KVPLAN_PURE_PYTHON": "1"}).stdout
    assert json.loads(out)["simulator"] == "python (KVPLAN_PURE_PYTHON=1)"
