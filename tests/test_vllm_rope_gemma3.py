"""Gemma 3's two rotary tables in vLLM (ModelSpec.rope_local_base_freq, rope_scaling type linear).

vllm/model_executor/models/gemma3.py Gemma3Attention.__init__ (0.8.0 :141-160 ... 0.23.0 :158-180)
calls get_rope with the config's rope_theta and rope_scaling for the global layers and with
rope_type "default", base rope_local_base_freq for the local (sliding) layers; get_rope keeps one
module per distinct argument set (_ROPE_DICT), so two tables, each a buffer in the model dtype.
The global one is LinearScalingRotaryEmbedding's max_position x factor rows
(linear_scaling_rope.py: t = torch.arange(max_position x factor)), the local one max_position rows.
Every release kvplan models (0.8.0-0.23.0) registers Gemma3ForCausalLM and
Gemma3ForConditionalGeneration and builds them so.

- gemma-3-27b (head_dim 128, 131,072, linear 8.0): (1,048,576 + 131,072) x 128 x 2 = 301,989,888 B
  (kvplan counted 131,072 x 128 x 2 = 33,554,432: 268,435,456 B short).
- gemma-3-4b (head_dim 256): (1,048,576 + 131,072) x 256 x 2 = 603,979,776 B (536,870,912 short).
- gemma-3-1b (tests/fixtures/hf_configs/gemma-3-1b-it.json: head_dim 256, 32,768, rope_scaling
  null, rope_theta 1,000,000, rope_local_base_freq 10,000): 2 x 32,768 x 256 x 2 = 33,554,432 B
  (16,777,216 short; the import refused the config before, rope_local_base_freq unread).
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
from kvplan.loader import load_model
from kvplan.spec import spec_from_mapping

FIXTURES = Path(__file__).parent / "fixtures" / "hf_configs"
ONE_B = FIXTURES / "gemma-3-1b-it.json"
FOUR_B = FIXTURES / "gemma-3-4b-it.json"
TABLES = {"gemma3-27b": 301_989_888, "gemma3-4b": 603_979_776, str(ONE_B): 33_554_432}
#: the single table kvplan counted before (max_position_embeddings x head_dim x 2 B)
ONE_TABLE = {"gemma3-27b": 33_554_432, "gemma3-4b": 67_108_864, str(ONE_B): 16_777_216}


def _spec(model: str):
    return spec_from_hf_config(json.loads(Path(model).read_text()), model) if model.endswith(".json") \
        else load_model(model)


@pytest.mark.parametrize("release", R.RELEASES)
@pytest.mark.parametrize("model", sorted(TABLES))
def test_two_tables_on_every_release(model, release):
    assert rope_cache_bytes(_spec(model), release) == TABLES[model]


def test_the_tables_by_hand():
    assert TABLES["gemma3-27b"] == (131_072 * 8 + 131_072) * 128 * 2
    assert TABLES["gemma3-4b"] == (131_072 * 8 + 131_072) * 256 * 2
    assert TABLES[str(ONE_B)] == 2 * 32_768 * 256 * 2


def _capacity(capsys, model, release, *extra):
    code, out, err = cli(capsys, "capacity", model, "--gpu", "h100", "--engine", f"vllm=={release}", *extra, "--json")
    assert code in (0, 1), err
    got = json.loads(out)
    return got["weights_bytes"], got["kv_pool_bytes"], got["num_blocks"], got["kv_cache_tokens"]


@pytest.mark.parametrize(("model", "weights", "before"), [
    ("gemma3-27b", 55_166_803_168, 54_898_367_712),
    ("gemma3-4b", 9_204_138_720, 8_667_267_808),
    (str(ONE_B), 2_033_326_336, 2_016_549_120),
])
def test_weights_h100_0_19_1(capsys, model, weights, before):
    """`kvplan capacity MODEL --gpu h100 --engine vllm==0.19.1 --json` weights_bytes: the
    parameters plus both tables; before, one table (gemma-3-1b: through `kvplan import --ignore
    rope_local_base_freq`)."""
    got = _capacity(capsys, model, "0.19.1")[0]
    assert got == weights
    assert got - before == TABLES[model] - ONE_TABLE[model]


def test_gemma3_27b_h100_0_19_1_pool(capsys):
    # 76,526,125,056 - 55,166,803,168 - 4,036,920,320 - 268,435,456 = 17,053,966,112 -> 13,011 blocks of
    # 1,310,720 B (was 17,322,401,568, 13,215 blocks); 13,011 // 7 x 16 = 29,728 tokens
    assert _capacity(capsys, "gemma3-27b", "0.19.1") == (55_166_803_168, 17_053_966_112, 13_011, 29_728)


@pytest.mark.parametrize("release", ["0.21.0", "0.23.0"])
def test_enforce_eager_blocks(capsys, release):
    """`kvplan capacity MODEL --gpu h100 --engine vllm==<r> --enforce-eager --json`: gemma3-27b
    78,226,705,613 - 55,166,803,168 - 4,037,972,992 - 268,435,456 = 18,753,493,997 -> 14,307 blocks
    (was 14,512); int(14,307 / 11,654 x 131,072) = 160,910 tokens. gemma3-4b 199,277 -> 197,638 blocks."""
    assert _capacity(capsys, "gemma3-27b", release, "--enforce-eager") == (
        55_166_803_168, 18_753_493_997, 14_307, 160_910)
    assert _capacity(capsys, "gemma3-4b", release, "--enforce-eager") == (
        9_204_138_720, 64_762_295_789, 197_638, 2_222_825)
    assert _capacity(capsys, str(ONE_B), release, "--enforce-eager") == (
        2_033_326_336, 71_957_128_141, 1_097_978, 6_765_427)


def test_a_stage_holds_the_tables_of_its_layers():
    """make_layers builds only a pipeline stage's layers: 0-4 are local, 5 global (pattern 6)."""
    spec = load_model("gemma3-27b")
    assert rope_cache_bytes(spec, None, range(0, 5)) == 131_072 * 128 * 2
    assert rope_cache_bytes(spec, None, range(5, 6)) == 131_072 * 8 * 128 * 2
    assert rope_cache_bytes(spec, None, range(0, 6)) == TABLES["gemma3-27b"]


def test_only_global_layers_build_only_the_global_table():
    config = json.loads(FOUR_B.read_text())
    config["text_config"]["layer_types"] = ["full_attention"] * 34
    assert rope_cache_bytes(spec_from_hf_config(config, "g.json")) == 131_072 * 8 * 256 * 2


def test_import_sets_the_fields():
    one = spec_mapping_from_hf_config(json.loads(ONE_B.read_text()), "1b")
    assert one["rope_local_base_freq"] == 10_000.0 and "rope_scaling" not in one
    assert one["max_position_embeddings"] == 32_768
    four = spec_mapping_from_hf_config(json.loads(FOUR_B.read_text()), "4b")
    assert four["rope_local_base_freq"] == 10_000.0
    assert four["rope_scaling"] == {"type": "linear", "factor": 8.0}
    assert four["max_position_embeddings"] == 131_072  # vLLM does not scale Gemma 3's context


def test_builtins_match_the_import():
    spec = spec_from_hf_config(json.loads(FOUR_B.read_text()), "4b")
    builtin = load_model("gemma3-4b")
    assert (spec.rope_scaling, spec.rope_local_base_freq) == (builtin.rope_scaling, builtin.rope_local_base_freq)
    assert load_model("gemma3-27b").rope_scaling == builtin.rope_scaling


def test_transformers_v5_rope_parameters_read_alike():
    config = json.loads(FOUR_B.read_text())
    text = config["text_config"]
    del text["rope_scaling"]
    text["rope_parameters"] = {
        "full_attention": {"rope_type": "linear", "factor": 8.0, "rope_theta": 1_000_000.0},
        "sliding_attention": {"rope_type": "default", "rope_theta": 10_000.0},
    }
    got = spec_from_hf_config(config, "v5")
    assert rope_cache_bytes(got) == TABLES["gemma3-4b"]


@pytest.mark.parametrize(("change", "message"), [
    ({"rope_scaling": {"rope_type": "yarn", "factor": 8.0, "original_max_position_embeddings": 16_384}},
     "rope type 'yarn' on Gemma 3's global layers is not modelled"),
    ({"rope_scaling": None, "rope_local_base_freq": 1_000_000},
     "equals rope_theta (1e+06): whether vLLM shares one rotary table"),
    ({"rope_local_base_freq": "x"}, "rope_local_base_freq must be a positive number"),
])
def test_refused(tmp_path, capsys, change, message):
    config = json.loads(ONE_B.read_text())
    config.update(change)
    assert message in config_refusal(capsys, tmp_path, config)


@pytest.mark.parametrize(("rope", "extra", "message"), [
    ({"type": "linear", "factor": 8.0}, {}, "linear is modelled only for Gemma 3's global layers"),
    ({"type": "linear", "factor": 8.0, "original_max_position_embeddings": 16_384}, {"rope_local_base_freq": 1e4},
     "linear scales the table, not the context"),
    ({"type": "dynamic", "factor": 2.0}, {}, "dynamic needs original_max_position_embeddings"),
])
def test_spec_refusals(rope, extra, message):
    mapping = spec_mapping_from_hf_config(json.loads(ONE_B.read_text()), "1b")
    mapping.pop("rope_local_base_freq")
    mapping.update(rope_scaling=rope, **extra)
    with pytest.raises(SpecError, match=message):
        spec_from_mapping(mapping, "x")
