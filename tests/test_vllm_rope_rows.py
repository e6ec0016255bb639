"""vLLM's rotary table rows for the models that size them by the deployment's max_model_len
(kvplan.engines.vllm.MAX_MODEL_LEN_ROPE_ROWS; docs/findings/FINDINGS_h29_rope4.md): MiniMax-Text-01
/ M1 build min(max_position_embeddings, max_model_len) rows, MiniMax-M2 max(...). Before, kvplan
counted max_position_embeddings rows whatever --max-model-len: MiniMax-M1 at 40,960 held
10,240,000 x 64 x 4 = 2,621,440,000 B of table, not 40,960 x 64 x 4 = 10,485,760 B."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers import cli

from kvplan.loader import load_builtin
from kvplan.engines import rope_cache_bytes
from kvplan.hf import spec_from_hf_config

FIXTURES = Path(__file__).parent / "fixtures" / "hf_configs"


def _spec(name: str):
    return spec_from_hf_config(json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8")), name)


@pytest.mark.parametrize("name, max_model_len, table", [
    ("minimax-m1", None, 10_240_000 * 64 * 4),
    ("minimax-m1", 40_960, 40_960 * 64 * 4),
    ("minimax-m1", 20_000_000, 10_240_000 * 64 * 4),  # min: never beyond max_position_embeddings
    ("minimax-m2.5", 65_536, 196_608 * 64 * 2),  # max: never below it
    ("minimax-m2.5", 393_216, 393_216 * 64 * 2),
])
def test_rows(name, max_model_len, table):
    assert rope_cache_bytes(_spec(name), "0.19.1", None, max_model_len) == table


def test_other_models_keep_their_rows():
    """Llama's table is max_position_embeddings rows whatever the deployment's length."""
    spec = load_builtin("llama-3.1-8b")
    assert rope_cache_bytes(spec, None, None, 4_096) == rope_cache_bytes(spec) == 131_072 * 128 * 2


@pytest.mark.parametrize("name, engine, flags, weights, blocks, code", [
    # before: 62,260,176,896 B and 3,377 / 3,417 blocks, as at the model's own length
    ("minimax-m1", "vllm==0.19.1", ["--tp", "8", "--weights", "fp8", "--max-model-len", "40960"],
     59_649_222_656, 4_373, 0),
    ("minimax-m1", "vllm==0.11.0", ["--tp", "8", "--weights", "fp8", "--max-model-len", "40960"],
     59_649_222_656, 4_413, 0),
    # auto-fit: vLLM builds the model at the derived length and shortens max_model_len only after
    # profiling (vllm/v1/core/kv_cache_utils.py _auto_fit_max_model_len, 0.23.0 :1850-1909), so the
    # table keeps 10,240,000 rows; as at the model's own length. Neither fits one whole request
    # (exit 1), the figures are printed all the same.
    ("minimax-m1", "vllm==0.19.1", ["--tp", "8", "--weights", "fp8", "--max-model-len", "auto"],
     62_260_176_896, 3_377, 1),
    ("minimax-m1", "vllm==0.19.1", ["--tp", "8", "--weights", "fp8"], 62_260_176_896, 3_377, 1),
    # 196,608 rows: 57,835,917,312 B, 12,327 blocks; 393,216 rows: + 196,608 x 128 B = 25,165,824. At tp 4: at
    # tp 8 the experts' 1,536 rows split into 192 a rank, which its 128 x 128 fp8 blocks do not divide, and vLLM
    # does not start (Fp8MoEMethod.create_weights raises ValueError; VLLM.check_fp8_block_experts). At tp 4 one
    # request of 393,216 tokens does not fit (exit 1); the figures are printed all the same
    ("minimax-m2.5", "vllm==0.19.1", ["--tp", "4", "--max-model-len", "393216", "--allow-long-max-model-len"],
     57_861_083_136, 12_302, 1),
])
def test_capacity(capsys, name, engine, flags, weights, blocks, code):
    """`kvplan capacity tests/fixtures/hf_configs/NAME.json --gpu h100 --engine ENGINE FLAGS --json`."""
    got_code, out, err = cli(capsys, "capacity", str(FIXTURES / f"{name}.json"), "--gpu", "h100", "--engine", engine,
                             *flags, "--json")
    assert got_code == code, err
    got = json.loads(out)
    assert (got["weights_bytes"], got["num_blocks"]) == (weights, blocks)
