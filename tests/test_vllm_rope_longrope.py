"""vLLM's rotary cos/sin table for LongRoPE (rope type "longrope", formerly "su": Phi-3-*-128k).

Phi3LongRoPEScaledRotaryEmbedding keeps one buffer, long_short_cos_sin_cache: a short table of
original_max_position_embeddings rows and a long one of max_position rows, concatenated
(kvplan.hf.core._longrope cites it per release). Phi-3-mini-128k's shape (the Phi-3-mini-4k
fixture with max_position_embeddings 131,072, original_max_position_embeddings 4,096,
sliding_window 262,144 and a longrope rope_scaling): head_dim 3,072 / 32 = 96, bf16:
(4,096 + 131,072) x 96 x 2 = 25,952,256 B, where kvplan counted 131,072 x 96 x 2 = 25,165,824 B.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers import cli, config_refusal

from kvplan.engines import rope_cache_bytes
from kvplan.engines import vllm_rules as R
from kvplan.errors import SpecError
from kvplan.hf import spec_from_hf_config, spec_mapping_from_hf_config
from kvplan.spec import spec_from_mapping

FIXTURE = Path(__file__).parent / "fixtures" / "hf_configs" / "phi-3-mini-4k-instruct.json"
TABLE = (4_096 + 131_072) * 96 * 2
LONG_ONLY = 131_072 * 96 * 2  # what kvplan counted before


def _config(rope_type="longrope", **over) -> dict:
    config = json.loads(FIXTURE.read_text(encoding="utf-8"))
    config.update(max_position_embeddings=131_072, original_max_position_embeddings=4_096, sliding_window=262_144,
                  rope_scaling={"type": rope_type, "long_factor": [1.0] * 48, "short_factor": [1.0] * 48})
    config.update(over)
    return config


@pytest.mark.parametrize("rope_type", ["longrope", "su"])
def test_import_keeps_the_short_table(rope_type):
    spec = spec_from_hf_config(_config(rope_type), "phi3-128k")
    assert spec.max_position_embeddings == 131_072 and spec.head_dim == 96
    assert (spec.rope_scaling.type, spec.rope_scaling.factor, spec.rope_scaling.original_max_position_embeddings) \
        == ("longrope", None, 4_096)


@pytest.mark.parametrize("release", R.RELEASES)
def test_both_tables_on_every_release(release):
    spec = spec_from_hf_config(_config(), "phi3-128k")
    assert rope_cache_bytes(spec, release) == TABLE == 25_952_256
    assert TABLE - LONG_ONLY == 786_432


def test_top_level_original_wins():
    """vLLM copies the top-level original_max_position_embeddings over rope_scaling's (0.8.0
    llama.py :221-225; 0.23.0 transformers_utils/config.py :524-525)."""
    config = _config()
    config["rope_scaling"]["original_max_position_embeddings"] = 8_192
    assert spec_from_hf_config(config, "x").rope_scaling.original_max_position_embeddings == 4_096
    del config["original_max_position_embeddings"]
    assert spec_from_hf_config(config, "x").rope_scaling.original_max_position_embeddings == 8_192


def test_capacity(capsys):
    """`kvplan capacity <Phi-3-mini-128k config> --gpu h100 --engine vllm==0.23.0 --enforce-eager
    --json`: weights 7,667,324,928 B before (long table only), 7,668,111,360 B now (+786,432 B, the
    4,096-row short table); the pool loses as much and keeps 11,054 blocks."""
    import os
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "config.json")
        Path(path).write_text(json.dumps(_config()), encoding="utf-8")
        code, out, err = cli(capsys, "capacity", path, "--gpu", "h100", "--engine", "vllm==0.23.0",
                             "--enforce-eager", "--json")
    assert code == 0, err
    got = json.loads(out)
    assert (got["weights_bytes"], got["kv_pool_bytes"], got["num_blocks"]) == (7_668_111_360, 69_550_283_572, 11_054)


def test_spec_round_trip_and_contradictions():
    mapping = spec_mapping_from_hf_config(_config(), "phi3")
    assert mapping["rope_scaling"] == {"type": "longrope", "original_max_position_embeddings": 4_096}
    assert rope_cache_bytes(spec_from_mapping(mapping, "x")) == TABLE
    with pytest.raises(SpecError, match="rope_scaling: longrope takes no factor"):
        spec_from_mapping({**mapping, "rope_scaling": {**mapping["rope_scaling"], "factor": 32.0}}, "x")
    with pytest.raises(SpecError, match="rope_scaling: longrope needs original_max_position_embeddings"):
        spec_from_mapping({**mapping, "rope_scaling": {"type": "longrope"}}, "x")
    with pytest.raises(SpecError, match="rope_scaling: dynamic needs a factor"):
        spec_from_mapping({**mapping, "rope_scaling": {"type": "dynamic", "original_max_position_embeddings": 4_096}},
                          "x")


@pytest.mark.parametrize("over, message", [
    ({"original_max_position_embeddings": None}, "LongRoPE without original_max_position_embeddings"),
    ({"model_max_length": 65_536}, "LongRoPE with a context of 65,536 tokens other than max_position_embeddings"),
])
def test_refused(tmp_path, capsys, over, message):
    config = _config(**over)
    if over.get("original_max_position_embeddings", 1) is None:
        del config["original_max_position_embeddings"]
    assert message in config_refusal(capsys, tmp_path, config)
