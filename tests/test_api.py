"""kvplan.api: the documented examples run, and every call agrees with the core library."""

import doctest
import importlib.util
import re
from pathlib import Path

import pytest

from kvplan import api
from kvplan.errors import BadInputError, ShapeError, UnknownNameError
from kvplan.footprint import Parallelism, footprint
from kvplan.formats import FORMATS
from kvplan.loader import load_model

DOC = Path(__file__).resolve().parents[1] / "docs" / "api.md"
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def _has(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def _sections() -> list[tuple[str, str]]:
    """docs/api.md split at its `## ` headings: [(title, text)], the preamble first."""
    text = DOC.read_text(encoding="utf-8")
    parts = re.split(r"^## (.+)$", text, flags=re.M)
    out = [("preamble", parts[0])]
    out += [(parts[i].strip(), parts[i + 1]) for i in range(1, len(parts), 2)]
    return out


def _run_section(title: str, text: str, globs: dict) -> doctest.TestResults:
    test = doctest.DocTestParser().get_doctest(text, globs, f"api.md: {title}", str(DOC), 0)
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    runner.run(test, clear_globs=False)
    globs.update(test.globs)  # DocTest copies its globals: carry names to the next section
    return runner.summarize(verbose=False)


def test_docs_api_examples_run():
    """Every example in docs/api.md, in order and sharing names (the capacity section is run
    by the next test, which needs kvplan.capacity)."""
    globs: dict = {}
    ran = 0
    for title, text in _sections():
        if title.startswith("Capacity"):
            continue
        result = _run_section(title, text, globs)
        assert result.failed == 0, f"docs/api.md section {title!r}: {result.failed} example(s) failed"
        ran += result.attempted
    assert ran >= 25  # the doc really holds examples (a parser change cannot silently skip them all)


def test_docs_api_capacity_examples_run():
    if not (_has("kvplan.capacity") and _has("kvplan.gpus")):
        pytest.skip("kvplan.capacity is not in this build")
    globs: dict = {}
    sections = dict(_sections())
    _run_section("preamble", sections["preamble"], globs)
    title = next(t for t in sections if t.startswith("Capacity"))
    result = _run_section(title, sections[title], globs)
    assert result.attempted >= 5 and result.failed == 0


def test_module_docstring_examples_run():
    result = doctest.testmod(api, optionflags=FLAGS)
    assert result.attempted >= 4 and result.failed == 0


def test_footprint_accepts_strings_and_ints_and_agrees_with_core():
    spec = load_model("llama3-8b")
    core = footprint(spec, FORMATS["fp8_e4m3"], 32768, 4, 16, Parallelism(2, 2))
    assert api.footprint("llama3-8b", "32k", 4, "fp8", tp=2, pp=2) == core
    assert api.footprint(spec, 32768, 4, "fp8_e4m3", tp=2, pp=2) == core
    # auto = the model's dtype (bf16): 131,072 B/token
    assert api.footprint("llama3-8b", kv_dtype="auto").kv_dtype == "bf16"
    assert api.footprint("llama3-8b").bytes_per_token == 131_072
    # default ctx 8k: 131,072 x 8,192 = 1 GiB
    assert api.footprint("llama3-8b").total_bytes == 2**30


def test_footprint_dict_is_plain_data():
    d = api.footprint_dict(api.footprint("llama3-8b", ctx=100, batch=2, kv_dtype="bf16"))
    # 100 tokens = 7 pages of 16 = 112 tokens; 131,072 x 112 x 2 = 29,360,128
    assert d["paged_total_bytes"] == 131_072 * 112 * 2 == 29_360_128
    assert d["model"] == "llama3-8b" and d["ctx"] == 100 and d["batch"] == 2
    import json

    json.dumps(d)  # plain data only


def test_sweep_equals_footprint_for_each_row():
    df = api.sweep(["llama3-8b"], ctx=["1k", 5000], batch="1,3", kv_dtype=["bf16", "int8"], tp=[1, 4], pp=2)
    assert len(df) == 2 * 2 * 2 * 2
    spec = load_model("llama3-8b")
    for row in df.itertuples(index=False):
        fp = footprint(spec, FORMATS[row.kv_dtype], row.ctx, row.batch, 16, Parallelism(row.tp, row.pp))
        assert (row.total_bytes, row.paged_total_bytes, row.per_gpu_paged_bytes) == (
            fp.total_bytes, fp.paged_total_bytes, fp.per_gpu_paged_bytes)


def test_load_model_from_paths(tmp_path):
    spec_file = tmp_path / "toy.yaml"
    spec_file.write_text(
        "name: toy\nsource: test\nnum_layers: 2\nhidden_size: 64\nnum_attention_heads: 4\nnum_kv_heads: 2\n"
        "vocab_size: 100\nintermediate_size: 128\ndtype: fp16\nmax_position_embeddings: 1024\n"
    )
    toy = api.load_model(spec_file)
    assert api.load_model(str(spec_file)) == toy
    # 2 layers x 2 heads x (16 + 16) x 2 B = 256 B per token; auto = fp16
    fp = api.footprint(toy, ctx=10)
    assert (fp.kv_dtype, fp.bytes_per_token) == ("fp16", 256)


def test_load_model_from_hf_config():
    if not _has("kvplan.hf_import"):
        pytest.skip("kvplan.hf_import (config.json reader) is not in this build")
    config = Path(__file__).parent / "fixtures" / "hf_configs" / "llama-3.1-8b.json"
    spec = api.load_model(config)
    # Llama-3.1-8B: 32 layers, 8 KV heads, head_dim 128 -> 131,072 B per token in bf16
    assert api.footprint(spec, kv_dtype="bf16").bytes_per_token == 131_072


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: api.footprint("llama3-8b", ctx="32q"), BadInputError, "unknown suffix"),
        (lambda: api.footprint("llama3-8b", ctx=0), BadInputError, "positive"),
        (lambda: api.footprint("llama3-8b", batch="8"), BadInputError, "batch must be a whole number"),
        (lambda: api.footprint("llama3-8b", kv_dtype="fp9"), UnknownNameError, "fp9"),
        (lambda: api.footprint("llama3-8c"), UnknownNameError, "did you mean"),
        (lambda: api.footprint("llama3-8b", tp=3), ShapeError, "tp=3"),
        (lambda: api.sweep("llama3-8b", ctx=[]), BadInputError, "empty"),
        (lambda: api.sweep("llama3-8b", ctx="8k", batch="1,,2"), BadInputError, "empty item"),
    ],
)
def test_errors_are_typed_one_liners(call, error, match):
    with pytest.raises(error, match=match) as info:
        call()
    assert "\n" not in str(info.value)


def test_capacity_delegates():
    if not (_has("kvplan.capacity") and _has("kvplan.gpus")):
        with pytest.raises(BadInputError, match="not available"):
            api.capacity("llama3-8b", "h100")
        return
    from kvplan.capacity import plan_capacity
    from kvplan.gpus import get_gpu

    spec = load_model("llama3.1-8b")
    expected = plan_capacity(spec, get_gpu("h100"), tp=2, kv_format="bf16", max_model_len=32768)
    got = api.capacity("llama3.1-8b", "h100", tp=2, kv_format="auto", max_model_len="32k")
    assert got.kv_pool_bytes == expected.kv_pool_bytes and got.kv_cache_tokens == expected.kv_cache_tokens


def test_plot_size_needs_a_known_suffix(tmp_path):
    import matplotlib  # noqa: F401
    with pytest.raises(BadInputError, match=r"\.png"):
        api.plot_size("llama3-8b", tmp_path / "kv.bmp")
    assert list(tmp_path.iterdir()) == []
