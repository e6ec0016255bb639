"""kvplan.limits: every documented limit pinned, and each one refused at the boundary with
exit 2 and the one line that names it (just past the limit), while the limit itself passes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from helpers import cli, one_line_error, toy_spec
from kvplan import limits
from kvplan.errors import BadInputError, SpecError

DOCS = Path(__file__).parents[1] / "docs" / "limits.md"

#: The documented values (docs/limits.md). Changing a limit means changing this table and the page.
PINNED = {
    "MAX_LAYERS": 10_000,
    "MAX_WIDTH": 16_777_216,
    "MAX_HEADS": 65_536,
    "MAX_HEAD_DIM": 16_384,
    "MAX_PARAMS": 10**15,
    "MAX_TOKENS": 4_294_967_296,
    "MAX_BATCH": 1_048_576,
    "MAX_DEGREE": 65_536,
    "MAX_BLOCK_SIZE": 65_536,
    "MAX_MEMORY_BYTES": 2**50,
    "MAX_NUMBER_CHARS": 64,
    "MAX_GRID_POINTS": 1_000_000,
    "MAX_SIMULATED_SEQUENCES": 1_000_000,
    "MAX_RATES": 256,
    "MAX_DEPLOYMENTS": 1_000,
    "MAX_SEED": 2**63 - 1,
    "MAX_REPEAT": 10_000,
    "MAX_INTERPRET_CACHE_BYTES": 16 * 2**20,
    "MAX_INPUT_BYTES": 16 * 2**20,
    "MAX_TRACE_BYTES": 256 * 2**20,
    "MAX_LOG_BYTES": 256 * 2**20,
    "MAX_NESTING_DEPTH": 64,
    "MAX_VALUES": 1_000_000,
}


def test_every_limit_is_pinned_and_documented():
    found = {name: getattr(limits, name) for name in dir(limits) if name.startswith("MAX_")}
    assert found == PINNED
    page = DOCS.read_text()
    for name, value in PINNED.items():
        assert f"`{name}`" in page, f"{name} missing from docs/limits.md"
        row = next(line for line in page.splitlines() if f"`{name}`" in line)
        assert f"{value:,}" in row or _pow2(value) in row, (name, row)


def _pow2(value: int) -> str:
    k = value.bit_length() - 1
    return f"2**{k}" if value == 1 << k else f"2**{k + 1} - 1"


def test_limits_sit_far_above_every_builtin_model():
    from kvplan.loader import load_all_builtins

    specs = load_all_builtins()
    assert max(s.num_layers for s in specs) * 50 < limits.MAX_LAYERS
    assert max(s.max_position_embeddings for s in specs) * 100 < limits.MAX_TOKENS
    assert max(s.vocab_size for s in specs) * 50 < limits.MAX_WIDTH
    assert max(s.num_attention_heads for s in specs) * 100 < limits.MAX_HEADS
    assert max(s.head_dim for s in specs) * 50 < limits.MAX_HEAD_DIM


def test_show_never_prints_more_digits_than_python_converts():
    assert limits.show(1_048_576) == "1,048,576"
    assert limits.show(10**5000) == "a number of about 5,001 digits"
    with pytest.raises(BadInputError, match=r"^--x: a number of about 401 digits is beyond kvplan's limit of 7 "):
        limits.check_int(10**400, "--x", 7)


# -- model specs -------------------------------------------------------------------------------
@pytest.mark.parametrize("field, limit, unit", [
    ("num_layers", limits.MAX_LAYERS, " layers"),
    ("max_position_embeddings", limits.MAX_TOKENS, " tokens"),
    ("vocab_size", limits.MAX_WIDTH, ""),
    ("hidden_size", limits.MAX_WIDTH, ""),
    ("num_attention_heads", limits.MAX_HEADS, " heads"),
    ("head_dim", limits.MAX_HEAD_DIM, ""),
])
def test_spec_fields_past_their_limit_are_refused(field, limit, unit):
    over = {field: limit + 1}
    if field == "num_attention_heads":
        over["num_kv_heads"] = 1
    with pytest.raises(SpecError) as err:
        toy_spec(**over)
    assert str(err.value) == (f"test: {field}: {limit + 1:,}{unit} is beyond kvplan's limit of {limit:,}{unit} "
                              f"(see docs/limits.md)")


def test_spec_at_the_layer_limit_is_planned(capsys):
    spec = toy_spec(num_layers=limits.MAX_LAYERS)
    from kvplan.footprint import footprint
    from kvplan.formats import get_format

    assert footprint(spec, get_format("bf16"), 1024).seq_bytes == limits.MAX_LAYERS * 8 * 256 * 2 * 1024


def test_nested_kind_fields_name_their_place():
    cache = {"kinds": {"w": {"kind": "sliding_window", "window": limits.MAX_TOKENS + 1}}}
    with pytest.raises(SpecError, match=r"^test: cache\.kinds\.w\.window: 4,294,967,297 tokens is beyond"):
        toy_spec(cache=cache)
    with pytest.raises(SpecError, match=r"^test: extra_params\.vision: 1,000,000,000,000,001 parameters"):
        toy_spec(extra_params={"vision": limits.MAX_PARAMS + 1})


def test_config_json_layer_count_is_checked_before_the_reader(tmp_path, capsys):
    cfg = json.loads((Path(__file__).parent / "fixtures/hf_configs/llama-3.1-8b.json").read_text())
    cfg["num_hidden_layers"] = 10**12
    path = tmp_path / "config.json"
    path.write_text(json.dumps(cfg))
    for command in (["size", str(path)], ["import", str(path)]):
        code, _, err = cli(capsys, *command)
        assert code == 2
        assert one_line_error(err) == (f"kvplan: error: {path}: num_hidden_layers: 1,000,000,000,000 layers is beyond "
                                       f"kvplan's limit of 10,000 layers (see docs/limits.md)")


# -- command-line numbers ---------------------------------------------------------------------
def test_token_counts(capsys):
    code, _, err = cli(capsys, "size", "llama3-8b", "--ctx", str(limits.MAX_TOKENS + 1))
    assert code == 2 and one_line_error(err) == (
        "kvplan: error: --ctx: 4,294,967,297 tokens is beyond kvplan's limit of 4,294,967,296 tokens "
        "(see docs/limits.md)")
    code, out, _ = cli(capsys, "size", "llama3-8b", "--ctx", "4G", "--kv-dtype", "bf16", "--json")
    assert code == 0 and json.loads(out)["formats"][0]["seq_bytes"] == 131_072 * 2**32


def test_numbers_too_long_to_read(capsys):
    code, _, err = cli(capsys, "size", "llama3-8b", "--ctx", "9" * 5000)
    assert code == 2 and one_line_error(err) == (
        "kvplan: error: --ctx: a number of 5,000 characters is beyond every limit of kvplan (see docs/limits.md)")
    code, _, err = cli(capsys, "capacity", "llama3-8b", "--gpu-mem", "9" * 401)
    assert code == 2 and "--gpu-mem: a number of 401 characters" in one_line_error(err)


def test_memory_sizes(capsys):
    code, _, err = cli(capsys, "capacity", "llama3-8b", "--gpu-mem", "2048TiB")
    assert code == 2 and one_line_error(err) == (
        "kvplan: error: --gpu-mem: 2,251,799,813,685,248 B is beyond kvplan's limit of 1,125,899,906,842,624 B "
        "(see docs/limits.md)")


@pytest.mark.parametrize("args, option, limit", [
    (["size", "llama3-8b", "--batch"], "--batch", limits.MAX_BATCH),
    (["size", "llama3-8b", "--block-size"], "--block-size", limits.MAX_BLOCK_SIZE),
    (["size", "llama3-8b", "--tp"], "--tp", limits.MAX_DEGREE),
    (["capacity", "llama3-8b", "--gpu", "h100-sxm", "--dp"], "--dp", limits.MAX_DEGREE),
    (["capacity", "llama3-8b", "--gpu", "h100-sxm", "--max-num-seqs"], "--max-num-seqs", limits.MAX_BATCH),
    (["fragment", "llama3-8b", "--kv-pool-tokens", "64k", "--requests"], "--requests",
     limits.MAX_SIMULATED_SEQUENCES),
    (["measure", "llama3-8b", "--interpret", "--seed"], "--seed", limits.MAX_SEED),
    (["measure", "llama3-8b", "--interpret", "--repeat"], "--repeat", limits.MAX_REPEAT),
])
def test_integer_options(capsys, args, option, limit):
    code, _, err = cli(capsys, *args, str(limit + 1))
    assert code == 2
    assert re.fullmatch(rf"kvplan: error: Invalid value for '[^:]*{option}'[^:]*: {limit + 1} is not in the range "
                        rf"(?:[01]<=)?x<={limit}\. \(see 'kvplan \w+ --help'\)", one_line_error(err))


def test_make_request_bounds_the_library_too():
    from kvplan.capacity import make_request
    from kvplan.loader import load_model

    spec = load_model("llama3-8b")
    with pytest.raises(BadInputError, match=r"^tp: 65,537 is beyond kvplan's limit of 65,536"):
        make_request(spec, "h100-sxm", tp=limits.MAX_DEGREE + 1)
    with pytest.raises(BadInputError, match=r"^max_model_len: 4,294,967,297 tokens is beyond"):
        make_request(spec, "h100-sxm", max_model_len=limits.MAX_TOKENS + 1)
    with pytest.raises(BadInputError, match=r"^--gpu-mem: 1,125,899,906,842,625 B is beyond"):
        make_request(spec, None, gpu_mem_bytes=limits.MAX_MEMORY_BYTES + 1)


# -- work -------------------------------------------------------------------------------------------
def test_sweep_grid_points_are_counted_before_any_work(capsys):
    ctx = ",".join(str(i) for i in range(1, 1001))
    batch = ",".join(str(i) for i in range(1, 1002))
    code, _, err = cli(capsys, "sweep", "llama3-8b", "--ctx", ctx, "--batch", batch, "--kv-dtype", "bf16")
    assert code == 2 and one_line_error(err) == (
        "kvplan: error: the grid has 1,001,000 points (1 models x 1000 ctx x 1001 batch x 1 formats x 1 tp x 1 pp), "
        "beyond kvplan's limit of 1,000,000 per sweep (see docs/limits.md); split it into several sweeps")


def test_sweep_and_plot_refuse_int64_overflow(capsys, tmp_path):
    code, _, err = cli(capsys, "sweep", "llama3-8b", "--ctx", "4G", "--batch", "100000")
    assert code == 2 and one_line_error(err).endswith(
        "llama3-8b at ctx 4,294,967,296 x batch 100,000 needs 56,294,995,342,131,200,000 bytes, "
        "beyond what a sweep column holds (2**63 - 1); use smaller ctx or batch values")
    code, _, err = cli(capsys, "size", "llama3-8b", "--ctx", "4G", "--batch", "100000", "--kv-dtype", "bf16",
                       "--plot", tmp_path / "p.png")
    assert code == 2 and "beyond what a plotted series holds (2**63 - 1)" in one_line_error(err)
    assert not (tmp_path / "p.png").exists()


def test_fragment_sequences_are_bounded_before_drawing(capsys):
    code, _, err = cli(capsys, "fragment", "llama3-8b", "--kv-pool-tokens", "64k", "--n", "101")
    assert code == 2 and one_line_error(err) == (
        "kvplan: error: --requests 10,000 x --n 101 = 1,010,000 sequences, beyond kvplan's limit of 1,000,000 "
        "simulated sequences (see docs/limits.md)")


def test_trace_rows_and_size(tmp_path, capsys, monkeypatch):
    path = tmp_path / "t.csv"
    path.write_text("prompt_len,output_len\n" + "5,5\n" * 12)
    monkeypatch.setattr(limits, "MAX_SIMULATED_SEQUENCES", 10)
    code, _, err = cli(capsys, "fragment", "llama3-8b", "--kv-pool-tokens", "64k", "--workload", path)
    assert code == 2 and one_line_error(err) == (
        f"kvplan: error: {path}: 12 rows x --n 1 = 12 sequences, beyond kvplan's limit of 10 simulated sequences "
        f"(see docs/limits.md)")
    code, _, _ = cli(capsys, "fragment", "llama3-8b", "--kv-pool-tokens", "64k", "--workload", path,
                     "--requests", "5", "--json")
    assert code == 0
    monkeypatch.setattr(limits, "MAX_TRACE_BYTES", 16)
    code, _, err = cli(capsys, "fragment", "llama3-8b", "--kv-pool-tokens", "64k", "--workload", path)
    assert code == 2 and one_line_error(err) == (
        f"kvplan: error: {path}: larger than the 16 B kvplan reads for an trace (see docs/limits.md)")


def test_plan_deployments(tmp_path, capsys):
    path = tmp_path / "p.yaml"
    path.write_text(json.dumps({"deployments": [{"name": f"d{i}", "model": "llama3-8b", "gpu": "h100-sxm"}
                                                for i in range(limits.MAX_DEPLOYMENTS + 1)]}))
    code, _, err = cli(capsys, "check", path)
    assert code == 2 and one_line_error(err) == (
        f"kvplan: error: {path}: deployments: List should have at most 1000 items after validation, not 1001")


def test_plan_numbers(tmp_path, capsys):
    path = tmp_path / "p.yaml"
    dep = {"name": "a", "model": "llama3-8b", "gpu": "h100-sxm",
           "requires": {"min_concurrency": [{"ctx": "8k", "requests": limits.MAX_BATCH + 1}]}}
    path.write_text(json.dumps({"deployments": [dep]}))
    code, _, err = cli(capsys, "check", path)
    assert code == 2 and one_line_error(err) == (
        f"kvplan: error: {path}: deployments.0.requires.min_concurrency.0.requests: Input should be less than or "
        f"equal to 1048576")
    dep["requires"] = {"min_kv_tokens": limits.MAX_TOKENS + 1}
    path.write_text(json.dumps({"deployments": [dep]}))
    code, _, err = cli(capsys, "check", path)
    assert code == 2 and "requires.min_kv_tokens: token count: 4,294,967,297 tokens is beyond kvplan's limit" in err


def test_interpreter_cache_bytes(tmp_path, capsys):
    path = tmp_path / "wide.yaml"
    path.write_text(json.dumps(dict(name="wide", source="test", num_layers=2, hidden_size=4096,
                                    num_attention_heads=64, num_kv_heads=64, head_dim=16_384, vocab_size=1000,
                                    intermediate_size=512, dtype="bf16", max_position_embeddings=4096)))
    code, _, err = cli(capsys, "measure", path, "--interpret", "--kv-dtype", "bf16")
    assert code == 2 and one_line_error(err) == (
        "kvplan: error: --interpret would allocate 402,653,184 B of cache for one layer of wide (block size 16), "
        "beyond the 16 MiB the Triton interpreter is given (see docs/limits.md); use a smaller --block-size or model")


# -- input files --------------------------------------------------------------------------------
def test_input_file_size(tmp_path, capsys):
    path = tmp_path / "big.yaml"
    path.write_bytes(b"#" * (limits.MAX_INPUT_BYTES + 1))
    code, _, err = cli(capsys, "size", path)
    assert code == 2 and one_line_error(err) == (
        f"kvplan: error: {path}: larger than the 16 MiB kvplan reads for an input file (see docs/limits.md)")


@pytest.mark.parametrize("suffix, depth, ok", [(".json", 64, True), (".json", 65, False),
                                                (".yaml", 64, True), (".yaml", 65, False)])
def test_nesting_depth(tmp_path, suffix, depth, ok):
    from kvplan.loader import read_structured

    path = tmp_path / f"deep{suffix}"
    path.write_text("[" * depth + "]" * depth)
    if ok:
        assert read_structured(path) is not None
    else:
        with pytest.raises(SpecError) as err:
            read_structured(path)
        assert str(err.value) == (f"{path}: nested more than 64 levels deep (specs, configs and plans nest a few "
                                  f"levels; see docs/limits.md)")


def test_yaml_aliases_are_counted_expanded(tmp_path):
    from kvplan.loader import read_yaml

    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 7):  # 10**7 values once expanded
        prev, cur = chr(96 + i), chr(97 + i)
        lines.append(f"{cur}: &{cur} [{', '.join(['*' + prev] * 10)}]")
    path = tmp_path / "laughs.yaml"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(SpecError, match=r"more than 1,000,000 values \(YAML aliases included"):
        read_yaml(path)


def test_newer_options_are_bounded(capsys):
    code, _, err = cli(capsys, "capacity", "--gpu", "h100-sxm", "--from-vllm",
                       "vllm serve meta-llama/Meta-Llama-3-8B --max-model-len " + "9" * 400 + "k")
    assert code == 2 and one_line_error(err) == (
        "kvplan: error: --max-model-len 9999999999999999999999999999999999999999...: too large a number")
    code, _, err = cli(capsys, "capacity", "llama3-8b", "--gpu", "h100-sxm", "--speculative-config",
                       '{"method": "ngram", "num_speculative_tokens": 65537}')
    assert code == 2 and one_line_error(err) == (
        "kvplan: error: num_speculative_tokens: 65,537 is beyond kvplan's limit of 65,536 (see docs/limits.md)")
    code, _, err = cli(capsys, "capacity", "llama3-8b", "--gpu", "h100-sxm", "--cpu-offload-gb", "1e300")
    assert code == 2 and one_line_error(err) == (
        "kvplan: error: --cpu-offload-gb: 1e+300 GiB is beyond kvplan's limit of 1,125,899,906,842,624 B "
        "(see docs/limits.md)")
    code, _, err = cli(capsys, "speed", "llama3-8b", "--gpu", "h100-sxm", "--ctx", "4k", "--users", "1,2000000")
    assert code == 2 and one_line_error(err) == (
        "kvplan: error: --users: 2,000,000 is beyond kvplan's limit of 1,048,576 (see docs/limits.md)")
    code, _, err = cli(capsys, "recommend", "llama3-8b", "--ctx", "4k", "--users", str(10**30))
    assert code == 2 and "is not in the range 1<=x<=1048576" in one_line_error(err)


def test_fragment_sweeps_and_tiers_are_bounded(capsys):
    rates = ",".join(f"{i}/s" for i in range(1, limits.MAX_RATES + 2))
    code, _, err = cli(capsys, "fragment", "llama3-8b", "--kv-pool-tokens", "64k", "--requests", "20", "--rate", rates)
    assert code == 2 and one_line_error(err) == (
        "kvplan: error: --rate: 257 rates, beyond kvplan's limit of 256 a sweep (see docs/limits.md)")
    code, _, err = cli(capsys, "fragment", "llama3-8b", "--kv-pool-tokens", "64k", "--cpu-kv-gib", "inf")
    assert code == 2 and "is not in the range 0<=x<=1048576" in one_line_error(err)
