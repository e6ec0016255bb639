"""vLLM's rotary tables for MiMo-V2-Flash (kvplan.hf.families.mimo_v2._rotary_tables cites them):
the sliding layers (swa_rope_theta 10,000) and the full ones (rope_theta 5,000,000) each build a
default table of max_position_embeddings 262,144 rows, int(192 x partial_rotary_factor 0.334) =
64 wide, bf16: 2 x 262,144 x 64 x 2 = 67,108,864 B, where kvplan counted one table of head_dim
192: 262,144 x 192 x 2 = 100,663,296 B. (vLLM capacity for this model is refused on every
release for other reasons, so the table shows in no CLI figure yet.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kvplan.engines import rope_cache_bytes
from kvplan.hf import spec_from_hf_config

FIXTURE = Path(__file__).parent / "fixtures" / "hf_configs" / "mimo-v2-flash.json"
TABLE = 262_144 * 64 * 2


def _spec(**over):
    config = json.loads(FIXTURE.read_text(encoding="utf-8"))
    config.update(over)
    config = {k: v for k, v in config.items() if v is not None}  # None: the key left out
    return spec_from_hf_config(config, "mimo")


def test_two_tables_of_the_rotary_width():
    spec = _spec()
    assert (spec.rotary_dim, spec.rope_local_base_freq, spec.weights_unknown) == (64, 10_000.0, ())
    assert rope_cache_bytes(spec) == 2 * TABLE == 67_108_864
    # layer 0 is full attention, layer 1 sliding: a stage holds only its kinds' table
    assert rope_cache_bytes(spec, None, range(0, 1)) == rope_cache_bytes(spec, None, range(1, 2)) == TABLE


def test_one_table_when_the_thetas_match():
    spec = _spec(swa_rope_theta=5_000_000)
    assert spec.rope_local_base_freq is None and rope_cache_bytes(spec) == TABLE
    # no swa_rope_theta: the sliding layers take rope_theta, one table; factor 1: the whole head
    assert rope_cache_bytes(_spec(partial_rotary_factor=1.0, swa_rope_theta=None)) == 262_144 * 192 * 2


@pytest.mark.parametrize("over, named", [
    ({"swa_head_dim": 128}, "swa_head_dim 128 other than head_dim 192"),
    ({"rope_scaling": {"type": "dynamic", "factor": 2.0}}, "rope_scaling on MiMo-V2-Flash"),
])
def test_weights_refused(over, named):
    assert any(named in text for text in _spec(**over).weights_unknown)
