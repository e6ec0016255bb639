"""SGLang's rotary cos/sin tables in its weights (SGLang.rope_table_bytes, rule rope_table;
docs/findings/FINDINGS_h29_sglrope.md). Each figure fails on the commit before (no table)."""

import pytest

from kvplan.engines import get_engine
from kvplan.gpus import get_gpu
from kvplan.loader import load_model
import json

from helpers import capacity_json, cli


def test_llama3_1_8b_sglang_0_5_8_weights_hold_a_float32_table(capsys):
    # 8,030,261,248 params x 2 B + 131,072 x 128 x 4 B (was 16,060,522,496 B, 415,660 tokens)
    out = capacity_json(capsys, "llama3.1-8b", "--engine", "sglang==0.5.8")
    assert out["weights_bytes"] == 16_060_522_496 + 67_108_864 == 16_127_631_360
    assert out["kv_cache_tokens"] == 415_148


@pytest.mark.parametrize("release, model, nvidia, amd", [
    ("0.4.6", "llama3.1-8b", 67_108_864, 33_554_432),     # ROCm: cast to bf16 up to 0.5.8
    ("0.5.8", "qwen3-8b", 20_971_520, 10_485_760),        # 40,960 x 128
    ("0.5.8", "deepseek-v3", 41_943_040, 20_971_520),     # 163,840 x 64 (qk_rope_head_dim)
    ("0.5.8", "phi3-mini", 1_572_864, 786_432),           # 4,096 x 96
    ("0.5.23", "llama3.1-8b", 67_108_864, 67_108_864),    # float32 on ROCm too from 0.5.22
    ("0.5.8", "gemma3-27b", 512, 512),                    # HF-style inv_freq only: 2 x 64 x 4
    ("0.5.23", "gemma3-27b", 134_218_240, 134_218_240),   # + two default tables, 131,072 x 128 x 4
])
def test_table_bytes(release, model, nvidia, amd):
    engine, spec = get_engine(f"sglang=={release}"), load_model(model)
    assert engine.rope_table_bytes(spec, get_gpu("h100")) == nvidia
    assert engine.rope_table_bytes(spec, get_gpu("mi300x")) == amd


def test_no_table_for_learned_positions():
    assert get_engine("sglang==0.5.8").rope_table_bytes(load_model("gpt2"), get_gpu("h100")) == 0


def test_0_5_8_says_the_deepseek_yarn_totals_it_does_not_count(capsys):
    code, text, err = cli(capsys, "capacity", "deepseek-v3", "--gpu", "h200", "--engine", "sglang==0.5.8", "--tp", "8",
                          "--weights", "fp8", "--json")
    assert code == 0, err
    out = json.loads(text)
    assert any("cos_cached_total" in n and "83,886,080 B" in n for n in out["notes"])
