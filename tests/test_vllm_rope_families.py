"""vLLM's rotary cos/sin table per family (docs/findings/FINDINGS_h29_rope3.md; each reader's
docstring cites the model file per release): max_position rows x the width vLLM passes to
get_rope x the table's dtype. Before, kvplan counted the whole head for every family but Phi-3
and MiMo-V2, in the model dtype, and a table for models vLLM builds none for (Mamba, Nemotron-H):
GPT-J-6B 1,048,576 B -> 262,144; Phi-2 327,680 -> 131,072; StableLM-2-1.6B 524,288 -> 131,072;
ChatGLM3-6B 2,097,152 -> 1,048,576; GLM-4.7 51,904,512 -> 25,952,256; MiniMax-M2.5 50,331,648 ->
25,165,824; Qwen3-Next-80B 134,217,728 -> 33,554,432; Bamba-9B 67,108,864 -> 33,554,432;
Nemotron-3-Nano 67,108,864 -> 0; Mamba-2.8B 10,485,760 -> 0. MiniMax-M1's table is float32 and
64 wide: 10,240,000 x 64 x 4 B, the same bytes as the 128 x 2 B counted before."""

from __future__ import annotations

import json

import pytest

from helpers import HF_FIXTURES, cli, config_refusal, hf_fixture

from kvplan.engines import rope_cache_bytes
from kvplan.engines import vllm_rules as R
from kvplan.hf import spec_from_hf_config

FIXTURES = HF_FIXTURES



@pytest.mark.parametrize("name, rotary_dim, table_bytes", [
    ("gpt-j-6b", 64, 2_048 * 64 * 2),  # rotary_dim 64 of 256
    ("phi-2-super", 32, 2_048 * 32 * 2),  # partial_rotary_factor 0.4 of 80
    ("stablelm-2-zephyr-1.6b", 16, 4_096 * 16 * 2),  # 0.25 of 64, fp16
    ("chatglm3-6b", 64, 8_192 * 64 * 2),  # always half the head (chatglm.py)
    ("glm-4.7", 64, 202_752 * 64 * 2),  # 0.5 of 128
    ("minimax-m2.5", 64, 196_608 * 64 * 2),  # rotary_dim 64 of 128
    ("minimax-m1", 64, 10_240_000 * 64 * 4),  # rotary_dim 64 of 128, float32
    ("qwen3-next-80b-a3b-instruct", 64, 262_144 * 64 * 2),  # 0.25 of 256
    ("bamba-9b", 64, 262_144 * 64 * 2),  # attn_rotary_emb 64 = BambaConfig's 0.5 of 128
    ("nemotron-3-nano-30b-a3b", None, 0),  # no rotary embedding in nemotron_h.py
    ("nemotron-h-56b-base-8k", None, 0),
    ("mamba-2.8b", None, 0),  # no attention
    ("mamba-codestral-7b", None, 0),
    ("falcon3-mamba-7b-base", None, 0),
    ("c4ai-command-r7b-abliterated", None, 8_192 * 128 * 2),  # rotary_pct 1.0: the whole head
    ("qwen-1.8b", None, 8_192 * 128 * 2),  # rotary_pct 1.0
    ("falcon-h1-0.5b", None, 16_384 * 64 * 2),  # no attn_rotary_emb
])
def test_table_every_release(name, rotary_dim, table_bytes):
    spec = spec_from_hf_config(hf_fixture(name), name)
    assert spec.rotary_dim == rotary_dim and spec.weights_unknown == ()
    assert {rope_cache_bytes(spec, release) for release in R.RELEASES} == {table_bytes}


@pytest.mark.parametrize("name, engine, flags, weights, blocks", [
    # was 12,103,338,432 B
    ("gpt-j-6b", "vllm==0.23.0", ["--enforce-eager"], 12_102_552_000, 8_801),
    # was 40,059,955,328 B, 9,324 blocks
    ("qwen3-next-80b-a3b-instruct", "vllm==0.19.1", ["--tp", "4"], 39_959_292_032, 9_354),
    # was 63,222,989,440 B, 853 blocks
    ("nemotron-3-nano-30b-a3b", "vllm==0.19.1", [], 63_155_880_576, 858),
    # was 44,802,444,608 B, 35,889 blocks
    ("glm-4.7", "vllm==0.19.1", ["--tp", "8", "--weights", "fp8"], 44_776_492_352, 35_924),
])
def test_capacity_weights(capsys, name, engine, flags, weights, blocks):
    """`kvplan capacity tests/fixtures/hf_configs/NAME.json --gpu h100 --engine ENGINE FLAGS --json`."""
    code, out, err = cli(capsys, "capacity", str(FIXTURES / f"{name}.json"), "--gpu", "h100", "--engine", engine,
                         *flags, "--json")
    assert code == 0, err
    got = json.loads(out)
    assert (got["weights_bytes"], got["num_blocks"]) == (weights, blocks)


@pytest.mark.parametrize("name, over, message", [
    ("gpt-j-6b", {"rotary_dim": 63}, "rotary_dim must be an even number of channels"),
    ("qwen-1.8b", {"rotary_pct": 0.5},
     "rotary_pct: vLLM's rotary table width differs by release (128 on 0.8.0-0.12.0, 64 on 0.13.0+ columns of 128)"),
    ("stablelm-2-zephyr-1.6b", {"rope_pct": 0.5},
     "rope_pct: vLLM's rotary table width differs by release (32 on 0.8.0-0.12.0, 16 on 0.13.0+ columns of 64)"),
    ("aya-23-8b", {"rotary_pct": 0.5},
     "rotary_pct: vLLM's rotary table width differs by release (128 on 0.8.0-0.12.0, 64 on 0.13.0+ columns of 128)"),
    ("bamba-9b", {"attn_rotary_emb": 32},
     "attn_rotary_emb: vLLM's rotary table width differs by release (64 on 0.8.0-0.12.0, 32 on 0.13.0+"),
    ("falcon-h1-0.5b", {"partial_rotary_factor": 0.5},
     "partial_rotary_factor: vLLM's rotary table width differs by release (32 on 0.9.0-0.12.0, 64 on 0.13.0+"),
    ("minimax-m2.5", {"partial_rotary_factor": 0.25},
     "rotary_dim: vLLM's rotary table width differs by release (64 on 0.11.1-0.12.0, 32 on 0.13.0+"),
    ("phi-2-super", {"partial_rotary_factor": None}, "partial_rotary_factor is null"),
    ("glm-4.7", {"partial_rotary_factor": 1.5}, "partial_rotary_factor must be a number in (0, 1], got 1.5"),
])
def test_refused(tmp_path, capsys, name, over, message):
    assert message in config_refusal(capsys, tmp_path, hf_fixture(name, **over))


def test_unread_fraction_refuses_weights(tmp_path, capsys):
    """A family whose model file does not read a rotary fraction before 0.13.0 (Qwen2: qwen2.py
    passes none to get_rope on 0.8.0-0.12.0) keeps KV sizing and refuses weight figures naming
    it; at 1.0 (the whole head) it is ignorable as before. (Llama reads it: test_vllm_rope_llama.)"""
    path = tmp_path / "config.json"
    path.write_text(json.dumps(hf_fixture("qwen2.5-7b", partial_rotary_factor=0.5)), encoding="utf-8")
    code, _, err = cli(capsys, "capacity", str(path), "--gpu", "h100", "--engine", "vllm==0.19.1")
    assert code == 2
    assert "weight figures need partial_rotary_factor 0.5 (the width of vLLM's rotary table, not read for " \
           "model_type 'qwen2')" in err
    assert cli(capsys, "size", str(path), "--ctx", "4096")[0] == 0
    assert spec_from_hf_config(hf_fixture("qwen2.5-7b", partial_rotary_factor=1.0), "x").weights_unknown == ()
