"""Which simulator runs: the mypyc-compiled modules or their Python source.

`pip install` compiles the simulator's hot modules (``COMPILED``) with mypyc where it can
(setup.py); the .py files stay the source of truth, and the fallback. Python's importer prefers
an extension module to a source file of the same name, so an editable checkout edited after its
build would silently run the old extension. The build therefore records the SHA-256 of every
source it compiled (``RECORD``, next to the extensions), and :func:`select` (run by
``kvplan/fragment/__init__.py`` before any of them is imported) loads every one of them from its
.py file instead when any digest differs, the record is missing, or ``KVPLAN_PURE_PYTHON=1``.
They are all-or-nothing: compiled modules call each other directly, not through sys.modules.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import json
import os
import sys
from pathlib import Path

PACKAGE = "kvplan.fragment"
#: in import order (each imports only those before it); setup.py compiles these
COMPILED = ("allocators", "metrics", "simulator")
RECORD = "_native_sources.json"
#: mypyc's shared library for the group (a top-level module next to the ``kvplan`` package)
GROUP = "kvplan_fragment_native"
#: mypy options for the compiled modules: their imports of the rest of kvplan are checked as Any
MYPY_FLAGS = ("--ignore-missing-imports", "--follow-imports=skip", "--disable-error-code", "annotation-unchecked")
HERE = Path(__file__).resolve().parent

#: what select() chose: "compiled", or "python (<why>)"
mode = "python (not selected yet)"


def digest(path: Path) -> str:
    """The SHA-256 of a source file, as setup.py records it and the guard compares it."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _extension(name: str) -> Path | None:
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        path = HERE / f"{name}{suffix}"
        if path.exists():
            return path
    return None


def _why_source() -> str | None:
    """None when the compiled modules are there and match their sources; else why not."""
    if os.environ.get("KVPLAN_PURE_PYTHON") == "1":
        return "KVPLAN_PURE_PYTHON=1"
    try:
        record = json.loads((HERE / RECORD).read_text())
    except (OSError, ValueError):
        record = None
    if isinstance(record, dict) and "failed" in record:  # the install tried and failed (setup.py)
        return f"compile failed at install: {record['failed']}"
    if not any(_extension(name) for name in COMPILED):
        return "not compiled"
    if not isinstance(record, dict):
        return f"no readable {RECORD}"
    for name in COMPILED:
        if _extension(name) is None:
            return f"{name} not compiled"
        source = HERE / f"{name}.py"
        if not source.exists():  # a wheel without its sources: the extensions are all there is
            continue
        if record.get(name) != digest(source):
            return f"{name}.py changed since it was compiled"
    if not _group_found():
        return f"{GROUP}__mypyc (mypyc's shared library) not found"
    return None


def _group_found() -> bool:
    """The compiled modules' shared library is importable (it sits beside the kvplan package)."""
    return importlib.util.find_spec(f"{GROUP}__mypyc") is not None


def _exec_source(name: str, full: str):
    """Run ``name``.py as the module ``full`` (registered in sys.modules, where dataclasses and
    the compiled modules' callers look it up; removed again if it fails)."""
    spec = importlib.util.spec_from_file_location(full, HERE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[full] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[full]
        raise
    return module


def _load_source(name: str) -> None:
    setattr(sys.modules[PACKAGE], name, _exec_source(name, f"{PACKAGE}.{name}"))


def select() -> str:
    """Load the compiled modules' sources in their place where needed; returns ``mode``."""
    global mode
    why = _why_source()
    if why is None:
        mode = "compiled"
    else:
        mode = f"python ({why})"
        if any(_extension(name) for name in COMPILED):
            for name in COMPILED:
                if f"{PACKAGE}.{name}" not in sys.modules:
                    _load_source(name)
    return mode


def source_module(name: str):
    """A fresh copy of ``name``'s Python source as a private module (``kvplan.fragment._source_<name>``),
    whatever select() chose: what tests monkeypatch (a compiled class ignores patched methods)
    and compare the compiled module with. Its own imports resolve as usual."""
    return _exec_source(name, f"{PACKAGE}._source_{name}")
