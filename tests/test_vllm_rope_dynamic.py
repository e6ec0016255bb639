"""vLLM's rotary cos/sin table for dynamic NTK rope scaling (rule dynamic_ntk_rope_rows).

InternLM2.5-7B (tests/fixtures/hf_configs/internlm2.5-7b.json: max_position_embeddings 32,768,
rope_scaling {"type": "dynamic", "factor": 2.0}, head_dim 4,096 / 32 = 128, bf16) serves 65,536
tokens. DynamicNTKScalingRotaryEmbedding._compute_cos_sin_cache builds ``max_position x factor``
rows through 0.21.0 (``t = torch.arange(max_len)``, max_len = 32,768 x 2.0) and ``max_position``
rows from 0.22.0 (``t = torch.arange(self.max_position_embeddings)``):
65,536 x 128 x 2 = 16,777,216 B, then 32,768 x 128 x 2 = 8,388,608 B.
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

FIXTURE = Path(__file__).parent / "fixtures" / "hf_configs" / "internlm2.5-7b.json"
SCALED, UNSCALED = 65_536 * 128 * 2, 32_768 * 128 * 2
PARAMS = 7_737_708_544  # InternLM2.5-7B's parameters (weights_bytes - the 0.21.0 table) / 2 B


def _config(**rope) -> dict:
    config = json.loads(FIXTURE.read_text(encoding="utf-8"))
    if rope:
        config["rope_scaling"] = rope
    return config


def test_import_keeps_the_dynamic_factor():
    spec = spec_from_hf_config(_config(), str(FIXTURE))
    assert spec.max_position_embeddings == 65_536
    assert (spec.rope_scaling.type, spec.rope_scaling.factor, spec.rope_scaling.original_max_position_embeddings) \
        == ("dynamic", 2.0, 32_768)


@pytest.mark.parametrize("release", R.RELEASES)
def test_rows_by_release(release):
    spec = spec_from_hf_config(_config(), str(FIXTURE))
    old = tuple(map(int, release.split(".")[:2])) < (0, 22)
    assert rope_cache_bytes(spec, release) == (SCALED if old else UNSCALED)


def test_non_integral_factor_rounds_up_like_arange():
    """4,097 x 1.5 = 6,145.5: vLLM's max_model_len is int() of it (6,145), torch.arange(6,145.5)
    has 6,146 rows through 0.21.0; 4,097 rows from 0.22.0."""
    config = _config(type="dynamic", factor=1.5)
    config["max_position_embeddings"] = 4_097
    spec = spec_from_hf_config(config, "x")
    assert spec.max_position_embeddings == 6_145
    assert rope_cache_bytes(spec, "0.21.0") == 6_146 * 128 * 2
    assert rope_cache_bytes(spec, "0.22.0") == 4_097 * 128 * 2


def test_linear_is_the_same_on_every_release():
    """LinearScalingRotaryEmbedding (max_position x factor rows) did not change at 0.22.0: no
    rope_scaling in the spec, the table is the scaled context's rows everywhere."""
    spec = spec_from_hf_config(_config(type="linear", factor=2.0), "x")
    assert spec.rope_scaling is None and spec.max_position_embeddings == 65_536
    assert rope_cache_bytes(spec, "0.21.0") == rope_cache_bytes(spec, "0.22.0") == SCALED


def test_alpha_with_factor_one_is_plain():
    """Hunyuan: dynamic with alpha 1000 and factor 1.0 -- max_position rows on every release."""
    spec = spec_from_hf_config(_config(type="dynamic", alpha=1000.0, factor=1.0), "x")
    assert spec.rope_scaling is None and spec.max_position_embeddings == 32_768
    assert rope_cache_bytes(spec, "0.8.0") == rope_cache_bytes(spec, "0.22.1") == UNSCALED


def _figures(capsys, release, model=str(FIXTURE)):
    code, out, err = cli(capsys, "capacity", model, "--gpu", "h100", "--engine", f"vllm=={release}",
                         "--enforce-eager", "--json")
    assert code == 0, err
    got = json.loads(out)
    return got["weights_bytes"], got["kv_pool_bytes"], got["num_blocks"], got["kv_cache_tokens"]


def test_capacity_0_21_0_and_0_22_0(capsys):
    """`kvplan capacity tests/fixtures/hf_configs/internlm2.5-7b.json --gpu h100 --engine vllm==<r>
    --enforce-eager --json`: the weights differ by the 8 MiB of table rows 0.22.0 no longer builds,
    which the pool gets back (4 more blocks of 32 layers x 16 tokens x 8 heads x 256 x 2 B =
    2,097,152 B each)."""
    assert _figures(capsys, "0.21.0") == (PARAMS * 2 + SCALED, 60_970_960_077, 29_073, 465_168)
    assert _figures(capsys, "0.22.0") == (PARAMS * 2 + UNSCALED, 60_979_348_685, 29_077, 465_232)
    assert _figures(capsys, "0.22.1") == _figures(capsys, "0.22.0")


def test_spec_yaml_round_trip(tmp_path, capsys):
    """An imported spec keeps the block; written as YAML it plans the same."""
    import yaml

    mapping = spec_mapping_from_hf_config(_config(), "internlm")
    assert mapping["rope_scaling"] == {"type": "dynamic", "factor": 2.0, "original_max_position_embeddings": 32_768}
    path = tmp_path / "internlm.yaml"
    path.write_text(yaml.safe_dump(mapping, sort_keys=False), encoding="utf-8")
    for release in ("0.21.0", "0.22.0"):
        assert _figures(capsys, release, str(path)) == _figures(capsys, release)


def test_spec_contradiction_refused():
    mapping = spec_mapping_from_hf_config(_config(), "internlm")
    mapping["max_position_embeddings"] = 60_000
    with pytest.raises(SpecError, match=r"rope_scaling: original_max_position_embeddings 32768 x factor 2 is not "
                                        r"max_position_embeddings \(60000\)"):
        spec_from_mapping(mapping, "x")


@pytest.mark.parametrize("rope, message", [
    ({"type": "dynamic", "alpha": 1000.0, "factor": 2.0},
     "dynamic NTK scaling with both alpha and factor 2.0 is not modelled"),
    ({"full_attention": {"rope_type": "dynamic", "factor": 2.0}, "sliding_attention": {"rope_type": "default"}},
     "dynamic NTK scaling in a per-layer-type rope_parameters is not modelled"),
])
def test_refused(tmp_path, capsys, rope, message):
    assert message in config_refusal(capsys, tmp_path, _config(**rope))
