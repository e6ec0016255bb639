"""vLLM's rotary table width for a partial rotary embedding in the Phi-3 family
(kvplan.hf.core.llama_rotary_dim cites it per release): int(head_dim x partial_rotary_factor)
columns. Phi-4-mini's shape (hidden 3,072, 24 heads of 128, partial_rotary_factor 0.75, LongRoPE
4,096 / 131,072): (4,096 + 131,072) x 96 x 2 = 25,952,256 B, where kvplan counted
(4,096 + 131,072) x 128 x 2 = 34,603,008 B with LongRoPE's short table and 131,072 x 128 x 2 =
33,554,432 B before it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers import cli, config_refusal

from kvplan.engines import rope_cache_bytes
from kvplan.engines import vllm_rules as R
from kvplan.hf import spec_from_hf_config

FIXTURE = Path(__file__).parent / "fixtures" / "hf_configs" / "phi-3-mini-4k-instruct.json"


def _config(**over) -> dict:
    config = json.loads(FIXTURE.read_text(encoding="utf-8"))
    config.update(over)
    return config


PHI4_MINI = dict(num_attention_heads=24, num_key_value_heads=8, partial_rotary_factor=0.75,
                 max_position_embeddings=131_072, original_max_position_embeddings=4_096, sliding_window=262_144,
                 rope_scaling={"type": "longrope", "long_factor": [1.0] * 48, "short_factor": [1.0] * 48})


@pytest.mark.parametrize("release", R.RELEASES)
def test_phi4_mini_width(release):
    spec = spec_from_hf_config(_config(**PHI4_MINI), "phi4-mini")
    assert (spec.head_dim, spec.rotary_dim) == (128, 96)
    assert rope_cache_bytes(spec, release) == (4_096 + 131_072) * 96 * 2 == 25_952_256


def test_half_width_without_scaling():
    """The 4k fixture (head_dim 96, 4,096 rows) with factor 0.5: 4,096 x 48 x 2 = 393,216 B (was 786,432)."""
    spec = spec_from_hf_config(_config(partial_rotary_factor=0.5), "x")
    assert spec.rotary_dim == 48 and rope_cache_bytes(spec) == 393_216
    full = spec_from_hf_config(_config(partial_rotary_factor=1.0), "x")
    assert full.rotary_dim is None and rope_cache_bytes(full) == 786_432


@pytest.mark.parametrize("over, message", [
    ({"rotary_pct": 0.5},  # read only from 0.13.0 (kvplan.hf.core.llama_rotary_dim)
     "rotary_pct: vLLM's rotary table width differs by release (96 on 0.8.0-0.12.0, 48 on 0.13.0+ columns of 96)"),
    ({"partial_rotary_factor": 1.5}, "partial_rotary_factor must be a number in (0, 1], got 1.5"),
])
def test_refused(tmp_path, capsys, over, message):
    assert message in config_refusal(capsys, tmp_path, _config(**over))


def test_capacity(tmp_path, capsys):
    """`kvplan capacity <Phi-4-mini-shaped config> --gpu h100 --engine vllm==0.23.0 --enforce-eager
    --json`: weights 6,871,455,744 B with a 128-wide table, 6,862,804,992 B with vLLM's 96 (-8,650,752
    B); the pool gains it: 70,346,939,188 -> 70,355,589,940 B, 33,544 -> 33,548 blocks."""
    path = tmp_path / "config.json"
    path.write_text(json.dumps(_config(**PHI4_MINI)), encoding="utf-8")
    code, out, err = cli(capsys, "capacity", str(path), "--gpu", "h100", "--engine", "vllm==0.23.0",
                         "--enforce-eager", "--json")
    assert code == 0, err
    got = json.loads(out)
    assert (got["weights_bytes"], got["kv_pool_bytes"], got["num_blocks"]) == (6_862_804_992, 70_355_589_940, 33_548)
