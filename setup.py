"""Build hook: compile the fragment simulator's hot modules with mypyc where possible.

Everything else is declared in pyproject.toml. The modules in NATIVE stay plain Python (the
source of truth, and what runs where nothing could be compiled); `pip install` turns them into
C extensions when mypy (a build requirement) and a C compiler are at hand, which makes
`kvplan fragment` about twice as fast (benchmarks/fragment_speed.py). A build that cannot compile
them (no compiler, no mypy, or KVPLAN_PURE_PYTHON=1) installs the pure-Python package instead.
Next to the extensions the build writes the SHA-256 of each source it compiled
(kvplan/fragment/_native.py reads it and runs the source whenever they differ, so an edited
checkout never runs a stale extension). A compile that was attempted and failed writes the
reason there instead: the modules then run as Python, `_native.mode` says why, and
tests/test_fragment_native.py fails (CI builds with mypy, so an edit mypyc cannot compile is
caught there rather than leaving every user on the slow path).
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent


def _native_module():
    """kvplan/fragment/_native.py alone (standard library only; kvplan's own imports need its
    dependencies, which a build environment lacks): the module names and the record's name."""
    spec = importlib.util.spec_from_file_location("_kvplan_native", ROOT / "kvplan" / "fragment" / "_native.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_NATIVE = _native_module()
NATIVE = [f"kvplan/fragment/{name}.py" for name in _NATIVE.COMPILED]
RECORD = _NATIVE.RECORD
GROUP = _NATIVE.GROUP


def _record(folder: Path, record: dict) -> None:
    (folder / RECORD).write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")


def _failed(why: str, folder: Path = ROOT / "kvplan" / "fragment") -> None:
    print(f"kvplan: {why}; the simulator stays pure Python", file=sys.stderr)
    _record(folder, {"failed": why})


#: the sources' digests as they were when compiled (taken before mypyc reads them: an edit during
#: the build then reads as stale, never as fresh)
DIGESTS = {Path(p).stem: _NATIVE.digest(ROOT / p) for p in NATIVE}


class BuildNative(build_ext):
    """build_ext that tolerates a failed compile (pure Python then) and records the sources."""

    def run(self) -> None:
        if not self.extensions:
            return
        out = Path(self.get_ext_fullpath("kvplan.fragment.simulator")).parent
        out.mkdir(parents=True, exist_ok=True)
        try:
            super().run()
        except Exception as err:  # noqa: BLE001 - any compiler failure leaves the pure package
            self.warn(f"kvplan: compiling the simulator failed ({err}); installing pure Python")
            _failed(f"the C compiler failed: {type(err).__name__}: {err}"[:2000], out)
            return
        _record(out, DIGESTS)

    def build_extension(self, ext) -> None:
        try:
            super().build_extension(ext)
        except Exception as err:  # noqa: BLE001
            raise RuntimeError(f"{ext.name}: {err}") from err


def native_extensions() -> list:
    if os.environ.get("KVPLAN_PURE_PYTHON") == "1":
        return []
    try:
        from mypyc.build import mypycify
    except ImportError:  # not attempted (e.g. --no-build-isolation without mypy): no record
        print("kvplan: mypy is not installed; the simulator stays pure Python", file=sys.stderr)
        return []
    cwd = os.getcwd()
    os.chdir(ROOT)  # mypyc names modules by their paths relative to the working directory
    try:
        return mypycify([*_NATIVE.MYPY_FLAGS, *NATIVE], opt_level="3", group_name=GROUP)
    except (Exception, SystemExit) as err:  # a type error in the sources, or mypyc itself: say why (not Ctrl-C)
        _failed(f"mypyc could not compile the simulator: {type(err).__name__}: {err}"[:2000])
        return []
    finally:
        os.chdir(cwd)


setup(ext_modules=native_extensions(), cmdclass={"build_ext": BuildNative})
