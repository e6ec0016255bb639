"""`kvplan size`, `models`, `show`, `schema`: output contracts, exit codes, one-line errors."""

import json
import subprocess
import sys
import textwrap

import pytest

from helpers import cli, one_line_error

GOOD_SPEC = textwrap.dedent(
    """\
    name: toy
    source: test
    num_layers: 2
    hidden_size: 64
    num_attention_heads: 4
    num_kv_heads: 2
    vocab_size: 100
    intermediate_size: 128
    dtype: bf16
    max_position_embeddings: 1024
    """
)


def test_size_json_contract(capsys):
    code, out, err = cli(capsys, "size", "llama3-8b", "--ctx", "32k", "--json")
    assert code == 0
    data = json.loads(out)
    for key in ("model", "ctx", "batch", "block_size", "tp", "pp", "formats"):
        assert key in data
    assert data["model"] == "llama3-8b" and data["ctx"] == 32768 and data["batch"] == 1
    entry = {f["kv_dtype"]: f for f in data["formats"]}
    assert entry["bf16"]["bytes_per_token"] == 131_072
    assert entry["bf16"]["total_bytes"] == 4 * 2**30
    assert entry["bf16"]["paged_total_bytes"] == 4 * 2**30
    assert entry["fp8_e4m3"]["total_bytes"] == 2 * 2**30
    assert len(data["formats"]) == 15  # every format, when --kv-dtype is not given
    # max_position_embeddings is 8k: a warning, on stderr only
    assert "max_position_embeddings" in err


def test_size_single_format_and_parallelism(capsys):
    code, out, _ = cli(capsys, "size", "llama3-8b", "--ctx", "8k", "--batch", "4", "--kv-dtype", "fp8",
                        "--tp", "4", "--pp", "2", "--json")
    assert code == 0
    data = json.loads(out)
    assert [f["kv_dtype"] for f in data["formats"]] == ["fp8_e4m3"]
    f = data["formats"][0]
    # 2 kv heads per rank x 256 x 1 B x 16 layers per stage x 8192 tokens x 4 sequences
    assert f["per_gpu_bytes"] == 2 * 256 * 16 * 8192 * 4
    assert f["all_gpus_bytes"] == f["total_bytes"] == 65_536 * 8192 * 4


def test_size_table(capsys):
    code, out, _ = cli(capsys, "size", "llama3-8b", "--ctx", "32k")
    assert code == 0
    assert "131,072" in out and "4.00 GiB" in out and "int4" in out


def test_size_from_spec_file(tmp_path, capsys):
    path = tmp_path / "toy.yaml"
    path.write_text(GOOD_SPEC)
    code, out, _ = cli(capsys, "size", str(path), "--ctx", "1k", "--kv-dtype", "bf16", "--json")
    assert code == 0
    # 2 layers x 2 kv heads x (16 + 16) x 2 B (head_dim derived: 64 / 4 = 16)
    assert json.loads(out)["formats"][0]["bytes_per_token"] == 2 * 2 * 32 * 2


@pytest.mark.parametrize(
    "args, needle",
    [
        (["size", "llama3-9b"], "did you mean llama3-8b"),
        (["size", "meta-llama/Llama-3.3-70B-Instruct"], "llama3-70b"),
        (["size", "llama3-8b", "--ctx", "0"], "--ctx"),
        (["size", "llama3-8b", "--ctx", "-4k"], "--ctx"),
        (["size", "llama3-8b", "--ctx", "lots"], "--ctx"),
        (["size", "llama3-8b", "--batch", "0"], "--batch"),
        (["size", "llama3-8b", "--batch", "abc"], "--batch"),
        (["size", "llama3-8b", "--kv-dtype", "fp7"], "unknown kv format"),
        (["size", "llama3-8b", "--kv-dtype", "bf16,,fp8"], "empty item"),
        (["size", "llama3-8b", "--tp", "3"], "tp=3"),
        (["size", "llama3-8b", "--pp", "33"], "pp=33"),
        (["size", "llama3-8b", "--block-size", "0"], "--block-size"),
        (["size", "llama3-8b", "--bogus"], "--bogus"),
        (["size"], "Missing argument"),
        (["frobnicate"], "frobnicate"),
        (["size", "/no/such/spec.yaml"], "no such file"),
    ],
)
def test_bad_input_one_line_exit_2(capsys, args, needle):
    code, out, err = cli(capsys, *args)
    assert code == 2, (args, out, err)
    line = one_line_error(err)
    assert line.startswith("kvplan: error:")
    assert needle in line
    assert out == ""


@pytest.mark.parametrize(
    "change, needle",
    [
        (("num_layers: 2", "num_layers: '2'"), "num_layers"),
        (("num_layers: 2", "num_layers: 0"), "num_layers"),
        (("num_kv_heads: 2", "num_kv_heads: -2"), "num_kv_heads"),
        (("num_kv_heads: 2", "num_kv_heads: 3"), "num_kv_heads"),
        (("dtype: bf16", "dtype: bf17"), "dtype"),
        (("source: test\n", "source: test\nlayers_fancy: 3\n"), "layers_fancy: unknown field"),
        (("name: toy\n", ""), "name: required field is missing"),
        (("num_layers: 2", "num_layers: [2"), "malformed YAML"),
        (("name: toy", "name: !!python/object/apply:os.system ['echo hi']"), "malformed YAML"),
        (("dtype: bf16", "dtype: bf16\ncache: {kinds: {a: {kind: sliding_window}}}"), "cache.kinds.a"),
        (("dtype: bf16", "dtype: bf16\ncache: {kinds: {a: {kind: full_attention}, b: {kind: mla}}, pattern: [a, c]}"),
         "pattern"),
    ],
)
def test_bad_spec_files(tmp_path, capsys, change, needle):
    old, new = change
    assert old in GOOD_SPEC
    path = tmp_path / "bad.yaml"
    path.write_text(GOOD_SPEC.replace(old, new))
    code, out, err = cli(capsys, "size", str(path))
    assert code == 2
    line = one_line_error(err)
    assert needle in line, line


def test_not_a_mapping(tmp_path, capsys):
    path = tmp_path / "list.yaml"
    path.write_text("- 1\n- 2\n")
    code, _, err = cli(capsys, "size", str(path))
    assert code == 2 and "mapping" in one_line_error(err)


def test_malformed_json(tmp_path, capsys):
    path = tmp_path / "spec.json"
    path.write_text('{"name": "toy",')
    code, _, err = cli(capsys, "size", str(path))
    assert code == 2 and "malformed JSON" in one_line_error(err)


def test_debug_shows_traceback(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "kvplan.cli.main", "size", "llama3-9b"],
        capture_output=True, text=True, env={**_env(), "KVPLAN_DEBUG": "1"},
    )
    assert proc.returncode != 0 and "Traceback" in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "kvplan.cli.main", "size", "llama3-9b"], capture_output=True,
                          text=True, env=_env())
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def _env():
    import os

    return {k: v for k, v in os.environ.items() if k != "KVPLAN_DEBUG"}


def test_aliases_case_insensitive(capsys):
    for name in ("Meta-Llama-3-8B", "llama-3-8b", "LLAMA3-8B", "meta-llama/Meta-Llama-3-8B"):
        code, out, _ = cli(capsys, "size", name, "--kv-dtype", "bf16", "--json")
        assert code == 0 and json.loads(out)["model"] == "llama3-8b"


def test_models_and_show_and_schema(capsys):
    code, out, _ = cli(capsys, "models", "--json")
    assert code == 0
    rows = json.loads(out)
    assert any(r["name"] == "llama3-8b" and r["bytes_per_token"] == 131_072 for r in rows)
    code, out, _ = cli(capsys, "show", "llama3-8b", "--json")
    assert code == 0
    shown = json.loads(out)
    assert shown["spec"]["head_dim"] == 128 and shown["derived"]["bytes_per_token"]["bf16"] == 131_072
    code, out, _ = cli(capsys, "schema")
    assert code == 0
    schema = json.loads(out)
    assert schema["additionalProperties"] is False
    assert "num_layers" in schema["required"]
    code, out, _ = cli(capsys, "show", "llama3-8b")
    assert code == 0 and "LlamaForCausalLM" in out


def test_show_prints_no_derived_head_dim_for_an_mla_model(capsys):
    """DeepSeek-V3 (MLA) has q/k heads of 128 + 64 = 192 and v heads of 128; hidden_size / heads
    = 7,168 / 128 = 56 is no dimension of it, so show prints the MLA sizes, and --json has no
    head_dim (keys kept, null). A model with plain attention still shows its head_dim."""
    code, out, _ = cli(capsys, "show", "deepseek-v3", "--json")
    shown = json.loads(out)
    assert code == 0 and (shown["spec"]["head_dim"], shown["spec"]["v_head_dim"]) == (None, None)
    assert shown["derived"]["head_dim_source"] == "n/a (MLA: see spec.mla)"
    assert shown["spec"]["mla"]["qk_nope_head_dim"] == 128 and shown["derived"]["bytes_per_token"]["bf16"] == 70_272
    code, out, _ = cli(capsys, "show", "deepseek-v3")
    line = next(ln for ln in out.splitlines() if ln.startswith("head_dim"))
    assert "q/k heads 128 + 64 = 192, v heads 128" in line and "56" not in out.split("vocab_size")[0]
    assert not any(ln.startswith("v_head_dim") for ln in out.splitlines())


def test_planning_imports_nothing_heavy():
    code = textwrap.dedent(
        """
        import sys, io, contextlib
        from kvplan.cli.main import run
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            run(["size", "llama3-8b", "--ctx", "32k"])
            run(["size", "llama3-8b", "--json"])
            run(["models"])
            run(["show", "llama3-8b"])
        print(" ".join(m for m in ("torch", "triton", "pandas", "numpy", "matplotlib") if m in sys.modules))
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=_env())
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == ""


def test_size_gpu_without_kv_dtype_compares_the_formats_the_engine_runs(capsys):
    """`kvplan size gemma3-27b --ctx 32k --batch 8 --gpu h100` (an example of its --help) asks
    the pool for every format vLLM can store (bf16, fp16, fp8_e4m3, fp8_e5m2) and names the
    others in one warning; it used to stop at fp32 with exit 2."""
    code, out, err = cli(capsys, "size", "gemma3-27b", "--ctx", "32k", "--batch", "8", "--gpu", "h100", "--json")
    assert code == 0
    d = json.loads(out)
    assert [f["kv_dtype"] for f in d["formats"]] == ["bf16", "fp16", "fp8_e4m3", "fp8_e5m2"]
    assert [f["on_gpu"]["max_requests"] for f in d["formats"]] == [2, 2, 4, 4]
    assert "vllm==0.19.1 cannot store the KV cache as fp32" in d["skipped_formats"]["fp32"]
    code, out, err = cli(capsys, "size", "gemma3-27b", "--ctx", "32k", "--batch", "8", "--gpu", "h100")
    assert code == 0
    assert one_line_error(err).startswith("kvplan: warning: fp32, q8_0, int8, ")
    # a format asked for by name that the engine cannot run is still refused
    code, out, err = cli(capsys, "size", "gemma3-27b", "--gpu", "h100", "--kv-dtype", "int4")
    assert code == 2 and "cannot store the KV cache as int4" in one_line_error(err)


def test_size_gpu_pages_with_the_engines_block(capsys):
    """With --gpu and no --block-size the table and the pool count the engine's pages: SGLang's
    page is one token, so 4 requests of 102,981 tokens fit as in `kvplan capacity` (411,924 of the
    411,925 tokens sglang==0.5.23 pools; blocks of 16 would need 4 x 6,437 = 25,748 of the pool's
    25,745). Under 0.5.8 (415,148 tokens) the same holds at 103,787."""
    code, out, _ = cli(capsys, "size", "llama3.1-8b", "--gpu", "h100", "--engine", "sglang", "--ctx", "102981",
                       "--batch", "4", "--kv-dtype", "auto", "--json")
    assert code == 0
    d = json.loads(out)
    assert d["block_size"] == 1
    assert (d["formats"][0]["on_gpu"]["max_requests"], d["formats"][0]["on_gpu"]["fits"]) == (4, True)
    code, out, _ = cli(capsys, "size", "llama3.1-8b", "--gpu", "h100", "--engine", "sglang", "--ctx", "102982",
                       "--batch", "4", "--kv-dtype", "auto", "--json")
    on_gpu = json.loads(out)["formats"][0]["on_gpu"]
    assert (on_gpu["max_requests"], on_gpu["fits"]) == (3, False)  # 4 x 102,982 > 411,925
    code, out, _ = cli(capsys, "size", "llama3.1-8b", "--ctx", "8k", "--json")
    assert json.loads(out)["block_size"] == 16
