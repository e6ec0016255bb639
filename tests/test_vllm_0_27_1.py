"""vLLM 0.27.1: 0.27.0 for everything kvplan reads.

Both sdists compared (2026-12-01): the Python differs only in vllm/_version.py and
vllm/model_executor/models/qwen3_dspark.py (the DSpark drafter passes quant_config to its
layers; kvplan plans no DSpark speculative method); requirements/, cmake/, csrc/,
CMakeLists.txt, setup.py and models/registry.py are 0.27.0's. So every rule resolves to the
same row, the registry's classes run on, and plans are 0.27.0's to the byte."""

from __future__ import annotations

import json

import pytest

from helpers import cli
from kvplan.engines import get_engine
from kvplan.engines import vllm_rules as R
from kvplan.errors import BadInputError
from kvplan.engines.base import Release
from kvplan.engines.vllm import BOOK as VLLM_BOOK
from kvplan.paging import BOOK as PAGING


def test_every_rule_is_0_27_0s_row():
    """The same row object (not an equal copy) for every rule of the engine and paging books."""
    assert R.RELEASES[-8:-6] == ("0.27.0", "0.27.1") and R.PUBLISHED_LATER == ()
    for book in (VLLM_BOOK, PAGING):
        a, b = Release.parse("0.27.0"), Release.parse("0.27.1")
        assert len(book.names) >= 20
        for name in book.names:
            assert book.rule(name, a) is book.rule(name, b), name


@pytest.mark.parametrize("args, blocks", [
    # FINDINGS_h31_v27v2.md: Llama-3.1-8B on V2 given 60,709,920,769 B: 28,948 blocks (0.26.0 / 0.27.0)
    (("llama3.1-8b", "--gpu", "h100", "--kv-cache-memory-bytes", "60709920769"), 28_948),
    # FINDINGS_h31_v27moe.md: Qwen3-30B-A3B given 14,002,304,205 B: 8,902 blocks
    (("qwen3-30b-a3b", "--gpu", "h100", "--kv-cache-memory-bytes", "14002304205"), 8_902),
])
def test_plans_are_0_27_0s(capsys, args, blocks):
    got = {}
    for rel in ("0.27.0", "0.27.1"):
        code, out, err = cli(capsys, "capacity", *args, "--engine", f"vllm=={rel}", "--json")
        assert code == 0, err
        data = json.loads(out)
        data.pop("engine", None)
        got[rel] = data
    assert got["0.27.0"]["num_blocks"] == blocks
    assert {k: v for k, v in got["0.27.1"].items() if not isinstance(v, str)} == {
        k: v for k, v in got["0.27.0"].items() if not isinstance(v, str)}


def test_profiled_pool_still_refused_and_0_31_0_is_not_read(capsys):
    """0.28.0 is read against 0.27.1 (tests/test_vllm_0_28.py), 0.29.0 against 0.28.0 (test_vllm_0_29.py);
    0.30.0 against 0.29.0 (test_vllm_0_30.py); 0.31.0 is the first refused release."""
    code, out, err = cli(capsys, "capacity", "llama3.1-8b", "--gpu", "h100", "--engine", "vllm==0.27.1",
                         "--enforce-eager")
    assert code == 2 and out == "" and "vllm==0.27.1 measures the memory that is not KV cache" in err
    with pytest.raises(BadInputError, match=r"vllm 0\.34\.0 is not a release kvplan knows of \(newer than 0\.33\.0"):
        get_engine("vllm==0.34.0")
