"""Special files as inputs and outputs: FIFOs, devices, deep nesting, long names, symlink loops.
Each is one line on stderr and exit 2, never a hang, a crash or a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import cli, one_line_error

NOT_REGULAR = "not a regular file ({}); kvplan reads specs, configs, plans and traces from files"


@pytest.fixture
def fifo(tmp_path):
    def make(name: str):
        path = tmp_path / name
        os.mkfifo(path)
        return path

    return make


@pytest.mark.parametrize("command", [["size"], ["capacity", "--gpu", "h100-sxm"], ["show"], ["check"], ["report"],
                                     ["import"]])
def test_a_fifo_nobody_writes_is_refused_at_once(capsys, fifo, command):
    path = fifo("spec.json" if command[0] in ("report", "import") else "spec.yaml")
    args = [command[0], path, *command[1:]]
    code, _, err = cli(capsys, *args)
    assert code == 2
    assert one_line_error(err) == f"kvplan: error: {path}: " + NOT_REGULAR.format("a FIFO")


def test_a_fifo_trace(capsys, fifo):
    path = fifo("trace.csv")
    code, _, err = cli(capsys, "fragment", "llama3-8b", "--kv-pool-tokens", "64k", "--workload", path)
    assert code == 2 and one_line_error(err) == f"kvplan: error: {path}: " + NOT_REGULAR.format("a FIFO")


@pytest.mark.parametrize("command", [["size"], ["check"], ["report"], ["import"]])
def test_dev_zero_is_not_read(capsys, command):
    code, _, err = cli(capsys, command[0], "/dev/zero")
    assert code == 2
    assert one_line_error(err) == "kvplan: error: /dev/zero: " + NOT_REGULAR.format("a character device")


def test_a_link_to_dev_zero_is_not_read(capsys, tmp_path):
    link = tmp_path / "trace.csv"
    link.symlink_to("/dev/zero")
    code, _, err = cli(capsys, "fragment", "llama3-8b", "--kv-pool-tokens", "64k", "--workload", link)
    assert code == 2 and one_line_error(err) == f"kvplan: error: {link}: " + NOT_REGULAR.format("a character device")


def test_json_nested_100000_deep(capsys, tmp_path):
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    code, _, err = cli(capsys, "size", path)
    assert code == 2 and one_line_error(err) == (
        f"kvplan: error: {path}: nested more than 64 levels deep (specs, configs and plans nest a few levels; "
        f"see docs/limits.md)")


@pytest.mark.parametrize("text", ["[" * 100_000 + "]" * 100_000, "- " * 50_000 + "x\n"], ids=["flow", "dashes"])
def test_yaml_nested_deep_does_not_crash_the_process(tmp_path, text):
    # libyaml's composer recurses in C: without the depth check this is a segmentation fault,
    # so it runs in its own process.
    path = tmp_path / "deep.yaml"
    path.write_text(text)
    proc = subprocess.run([sys.executable, "-m", "kvplan.cli.main", "check", str(path)], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert one_line_error(proc.stderr) == (
        f"kvplan: error: {path}: nested more than 64 levels deep (specs, configs and plans nest a few levels; "
        f"see docs/limits.md)")


def test_a_300_character_name(capsys, tmp_path):
    path = tmp_path / ("a" * 300 + ".yaml")
    code, _, err = cli(capsys, "size", path)
    assert code == 2 and one_line_error(err) == f"kvplan: error: {path}: cannot read (File name too long)"
    code, _, err = cli(capsys, "sweep", "llama3-8b", "--csv", tmp_path / ("c" * 300 + ".csv"))
    assert code == 2 and one_line_error(err).endswith(".csv: File name too long")


def test_a_long_output_name_that_fits_still_gets_a_temporary_file(capsys, tmp_path):
    out = tmp_path / ("o" * 240 + ".csv")  # 244 bytes: a file system's 255 leave no room for ".NAME.xxxxxxxx.tmp"
    code, _, _ = cli(capsys, "sweep", "llama3-8b", "--ctx", "4k", "--csv", out)
    assert code == 0 and out.read_text().startswith('"model"')
    assert [p.name for p in tmp_path.iterdir()] == [out.name]


def test_symlink_loops(capsys, tmp_path):
    loop = tmp_path / "loop.yaml"
    loop.symlink_to(loop.name)
    code, _, err = cli(capsys, "size", loop)
    assert code == 2 and one_line_error(err) == f"kvplan: error: {loop}: cannot read (Too many levels of symbolic links)"
    folder = tmp_path / "dir"
    folder.symlink_to(folder.name)
    code, _, err = cli(capsys, "sweep", "llama3-8b", "--csv", folder / "out.csv")
    assert code == 2 and one_line_error(err) == (
        f"kvplan: error: --csv file {folder / 'out.csv'}: Too many levels of symbolic links")
    csv_loop = tmp_path / "out.csv"
    csv_loop.symlink_to(csv_loop.name)
    code, _, err = cli(capsys, "sweep", "llama3-8b", "--csv", csv_loop)
    assert code == 2 and "Too many levels of symbolic links" in one_line_error(err)


def test_a_folder_without_config_json(capsys, tmp_path):
    (tmp_path / "model").mkdir()
    code, _, err = cli(capsys, "size", tmp_path / "model")
    assert code == 2 and one_line_error(err) == f"kvplan: error: {tmp_path / 'model' / 'config.json'}: no such file"


def test_outputs_onto_special_files(capsys, tmp_path, fifo):
    pipe = fifo("plot.png")
    code, _, err = cli(capsys, "size", "llama3-8b", "--plot", pipe)
    assert code == 2 and one_line_error(err) == (
        f"kvplan: error: --plot file {pipe}: not a regular file (kvplan writes files; use a file path)")
    code, _, err = cli(capsys, "sweep", "llama3-8b", "--csv", "/dev/full")
    assert code == 2 and one_line_error(err) == (
        "kvplan: error: --csv file /dev/full: not a regular file (kvplan writes files; use a file path)")


def test_binary_and_empty_specs(capsys, tmp_path):
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(bytes(range(256)))
    code, _, err = cli(capsys, "size", binary)
    assert code == 2 and one_line_error(err) == f"kvplan: error: {binary}: not a UTF-8 text file"
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    code, _, err = cli(capsys, "size", empty)
    assert code == 2 and one_line_error(err) == f"kvplan: error: {empty}: a model spec must be a mapping, got NoneType"


def test_an_engine_log_must_be_a_regular_file_read_with_a_bound(capsys, fifo):
    pipe = fifo("vllm.log")
    code, _, err = cli(capsys, "explain", pipe)
    assert code == 2 and one_line_error(err) == f"kvplan: error: {pipe}: " + NOT_REGULAR.format("a FIFO")
    code, _, err = cli(capsys, "explain", "/dev/zero")
    assert code == 2 and one_line_error(err) == "kvplan: error: /dev/zero: " + NOT_REGULAR.format("a character device")


def test_explain_reads_stdin_with_a_bound():
    with open("/dev/zero", "rb") as zero:
        proc = subprocess.run([sys.executable, "-m", "kvplan.cli.main", "explain", "-"], stdin=zero,
                              capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert one_line_error(proc.stderr) == (
        "kvplan: error: stdin: more than the 256 MiB kvplan reads for a log (see docs/limits.md)")


@pytest.mark.parametrize("name", ["model.safetensors", "shard-1.safetensors"])
def test_a_fifo_among_checkpoint_files_is_refused(capsys, tmp_path, name):
    folder = tmp_path / "ckpt"
    folder.mkdir()
    (folder / "config.json").write_text((Path(__file__).parent / "fixtures/hf_configs/llama-3.1-8b.json").read_text())
    os.mkfifo(folder / name)
    code, _, err = cli(capsys, "size", folder)
    assert code == 2 and one_line_error(err) == f"kvplan: error: {folder / name}: " + NOT_REGULAR.format("a FIFO")


def test_deep_json_in_a_safetensors_header_and_an_option(capsys, tmp_path):
    folder = tmp_path / "ckpt"
    folder.mkdir()
    (folder / "config.json").write_text((Path(__file__).parent / "fixtures/hf_configs/llama-3.1-8b.json").read_text())
    header = b"[" * 100_000 + b"]" * 100_000
    (folder / "model.safetensors").write_bytes(len(header).to_bytes(8, "little") + header)
    code, _, err = cli(capsys, "size", folder)
    assert code == 2 and one_line_error(err) == (
        f"kvplan: error: {folder / 'model.safetensors'}: the safetensors header: nested more than 64 levels deep "
        f"(specs, configs and plans nest a few levels; see docs/limits.md)")
    code, _, err = cli(capsys, "capacity", "llama3-8b", "--gpu", "h100-sxm", "--speculative-config",
                       "[" * 50_000 + "]" * 50_000)
    assert code == 2 and one_line_error(err) == (
        "kvplan: error: --speculative-config: nested deeper than any configuration (see docs/limits.md)")


def test_a_report_field_of_the_wrong_type_is_one_line(capsys, tmp_path):
    report = tmp_path / "r.json"
    report.write_text(json.dumps({
        "schema_version": 1, "model": "m", "device": {"name": "cpu", "interpret": True},
        "config": {"ctx": 8, "batch": 1, "block_size": 16, "layers_measured": 1, "num_layers": 2},
        "copy_bandwidth": {"gbps": 1.0}, "read_bandwidth": {"gbps": "fast"}, "formats": []}))
    code, _, err = cli(capsys, "report", report)
    assert code == 2 and one_line_error(err) == f"kvplan: error: {report}: read_bandwidth.gbps: expected a number, got 'fast'"
