"""Packaging: kernels ship as kvplan.kernels (never a bare `kernels`), specs as package data,
a regular (non-editable) install works away from the checkout, and CI runs the README's command."""

import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(ROOT)],
        capture_output=True, text=True,
    )
    assert proc.returncode == 0, proc.stderr
    (whl,) = out.glob("kvplan-*.whl")
    return whl


def test_wheel_layout(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names}
    assert "kernels" not in top and "model_specs" not in top, top
    assert "kvplan/kernels/__init__.py" in names
    assert "kvplan/model_specs/llama3-8b.yaml" in names
    specs = [n for n in names if n.startswith("kvplan/model_specs/") and n.endswith(".yaml")]
    assert len(specs) == len(list((ROOT / "model_specs").glob("*.yaml")))
    assert not any(n.startswith("tests/") or n.startswith("benchmarks/") for n in names)


def test_regular_install_runs_outside_the_checkout(wheel, tmp_path):
    target = tmp_path / "site"
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
        capture_output=True, text=True,
    )
    assert proc.returncode == 0, proc.stderr
    env = {**os.environ, "PYTHONPATH": str(target), "KVPLAN_NO_CACHE": "1"}
    code = "import kvplan.kernels, kvplan.cli.main as m, sys; sys.exit(m.run(['size','llama3-8b','--json']))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["formats"][1]["bytes_per_token"] == 131_072
    proc = subprocess.run([sys.executable, "-c", "import kvplan; print(kvplan.__file__)"], capture_output=True,
                          text=True, env=env, cwd=tmp_path)
    assert proc.stdout.strip().startswith(str(target))


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Tests", 1)[1]
    command = re.search(r"```bash\n(.+?)\n```", section, re.S).group(1).strip()
    ci_lines = [ln.strip() for ln in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert command in ci_lines
    assert os.access(ROOT / ".ci" / "run", os.X_OK)


def test_quick_start_installs_and_runs_size():
    """The quick start installs, then runs `kvplan size` in a block tests/test_docs_examples.py
    checks (README.md's examples run as the docs pages' do)."""
    quick = (ROOT / "README.md").read_text().split("## Quick start", 1)[1]
    first = re.search(r"```bash\n(.+?)\n```", quick, re.S).group(1)
    assert first.strip() == "pip install ."
    session = re.search(r"```console\n(.+?)\n```", quick, re.S).group(1)
    assert session.splitlines()[0] == "$ kvplan size llama3.1-8b --ctx 32k"
    assert "bf16: 131,072 B per token; 4,294,967,296 B in total" in session


def test_command_table_matches_what_the_modules_register():
    """kvplan.cli.main imports only the module of the command being run (start-up); its table
    of commands must name every command each module registers, in help order."""
    import importlib

    import typer

    from kvplan.cli.main import COMMAND_MODULES, COMMANDS

    seen = {}
    for module in COMMAND_MODULES:
        app = typer.Typer()
        importlib.import_module(f"kvplan.cli.{module}").register(app)
        for cmd in app.registered_commands:
            seen[cmd.name] = module
    assert seen == COMMANDS


def test_a_command_imports_only_its_own_module():
    import subprocess
    import sys

    code = ("import sys; from kvplan.cli.main import run; run(['size', 'llama3-8b', '--ctx', '1k', '--kv-dtype', "
            "'bf16']); print(sorted(m for m in sys.modules if m.startswith('kvplan.cli.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    mods = eval(out.stdout.strip().splitlines()[-1])  # noqa: S307 - our own printed list
    assert mods == ["kvplan.cli.common", "kvplan.cli.main", "kvplan.cli.size"]


def test_a_wheel_built_with_mypy_carries_the_compiled_simulator(wheel):
    # setup.py compiles the simulator where mypy is installed (the build requirement; the test extra
    # has it too): the wheel then holds the three extensions, mypyc's group library and the record
    # of the sources they were compiled from (kvplan/fragment/_native.py checks it at import)
    pytest.importorskip("mypyc.build")
    from kvplan.fragment import _native

    names = zipfile.ZipFile(wheel).namelist()
    for name in _native.COMPILED:
        assert any(n.startswith(f"kvplan/fragment/{name}.") and n.endswith(".so") for n in names), name
    assert any(n.startswith(f"{_native.GROUP}__mypyc.") for n in names)
    record = json.loads(zipfile.ZipFile(wheel).read(f"kvplan/fragment/{_native.RECORD}"))
    assert set(record) == set(_native.COMPILED)
