"""Build hook: compile the fragment simulator's hot modules with mypyc where possible.

Everything else is declared in pyproject.toml. The modules in NATIVE stay plain Python (the
source of truth, and what runs where nothing could be compiled); `pip install` turns them into
C extensions when mypy (a build requirement) and a C compiler are at hand, which makes
`kvplan fragment` about twice as fast (benchmarks/fragment_speed.py). A build that cannot compile
them (no compiler, no mypy, or KVPLAN_PURE_PYTHON=1) installs the pure-Python package instead.
Next to the extensions the build writes the SHA-256 of each source it compiled
(kvplan/fragment/_native.py reads it and runs the source whenever they differ, so an edited
checkout never runs a stale extension).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent
NATIVE = ["kvplan/fragment/allocators.py", "kvplan/fragment/metrics.py", "kvplan/fragment/simulator.py"]
RECORD = "_native_sources.json"  # kept in step with kvplan/fragment/_native.py
#: mypy options for the compiled modules: their imports of the rest of kvplan are checked as Any
MYPY_FLAGS = ["--ignore-missing-imports", "--follow-imports=skip", "--disable-error-code", "annotation-unchecked"]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class BuildNative(build_ext):
    """build_ext that tolerates a failed compile (pure Python then) and records the sources."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as err:  # noqa: BLE001 - any compiler failure leaves the pure package
            self.warn(f"kvplan: compiling the simulator failed ({err}); installing pure Python")
            return
        if not self.extensions:
            return
        out = Path(self.get_ext_fullpath("kvplan.fragment.simulator")).parent
        record = {Path(p).stem: _digest(ROOT / p) for p in NATIVE}
        (out / RECORD).write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")

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
    except ImportError:
        print("kvplan: mypy is not installed; the simulator stays pure Python", file=sys.stderr)
        return []
    cwd = os.getcwd()
    os.chdir(ROOT)  # mypyc names modules by their paths relative to the working directory
    try:
        return mypycify(MYPY_FLAGS + NATIVE, opt_level="3", group_name="kvplan_fragment_native")
    except BaseException as err:  # noqa: BLE001 - a type error in the sources: stay pure, say why
        print(f"kvplan: mypyc could not compile the simulator ({err}); it stays pure Python", file=sys.stderr)
        return []
    finally:
        os.chdir(cwd)


setup(ext_modules=native_extensions(), cmdclass={"build_ext": BuildNative})
