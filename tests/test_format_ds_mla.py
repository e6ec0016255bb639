"""fp8_ds_mla: vLLM's packed DeepSeek MLA latent (kvplan.formats.DeepSeekSparseMLA).

Per token and layer: 512 fp8 values + 4 fp32 scales (one per 128) + 64 bf16 rope values =
512 + 16 + 128 = 656 B (vllm/v1/attention/backends/mla/flashmla_sparse.py: "custom storage
format is 656 bytes"); other kinds and other latents refuse it with one line.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kvplan.engines import get_engine
from kvplan.errors import BadInputError, ShapeError
from kvplan.formats import FORMATS, UnknownNameError, get_format, parse_formats
from kvplan.hf import spec_from_hf_config
from kvplan.layers import FullAttention, MLAIndexed, MLALatent
from kvplan.layout import layer_layout
from helpers import cli, one_line_error

FIXTURES = Path(__file__).parent / "fixtures" / "hf_configs"
DS = get_format("fp8_ds_mla")


def _spec(name: str):
    return spec_from_hf_config(json.loads((FIXTURES / f"{name}.json").read_text()), name)


def test_latent_record_is_656_bytes():
    assert DS.record_bytes == 512 + 512 // 128 * 4 + 64 * 2 == 656
    assert MLALatent(kv_lora_rank=512, qk_rope_head_dim=64).per_token_bytes(DS) == 656
    # DeepSeek-V3.2: the indexer key keeps its own fp8 + scale (132 B) beside the record
    v32 = MLAIndexed(kv_lora_rank=512, qk_rope_head_dim=64, index_head_dim=128)
    assert v32.per_token_bytes(DS) == 656 + 132
    # against bf16's 1,152 B for the same latent
    assert MLALatent(kv_lora_rank=512, qk_rope_head_dim=64).per_token_bytes(get_format("bf16")) == 1152


def test_deepseek_v32_sequence_bytes(capsys):
    spec = _spec("deepseek-v3.2")
    code, out, err = cli(capsys, "size", str(FIXTURES / "deepseek-v3.2.json"), "--ctx", "32k", "--kv-dtype",
                         "fp8_ds_mla", "--json")
    assert code == 0
    row = json.loads(out)["formats"][0]
    # 61 layers x (656 B record + 132 B indexer key) = 48,068 B a token; x 32,768 tokens
    assert (row["kv_dtype"], row["bytes_per_token"]) == ("fp8_ds_mla", 61 * (656 + 132) == 48_068 and 48_068)
    assert row["seq_bytes"] == 32768 * 48_068 == 1_575_092_224
    assert spec.layers[0].seq_bytes(32768, DS) == 32768 * (656 + 132)


def test_other_kinds_and_latents_refuse_it():
    with pytest.raises(ShapeError, match="stores DeepSeek MLA latents only"):
        FullAttention(kv_heads=8, head_dim=128, v_head_dim=128).per_token_bytes(DS)
    with pytest.raises(ShapeError, match="record for a 512 \\+ 64 MLA latent; this latent is 256 \\+ 64"):
        MLALatent(kv_lora_rank=256, qk_rope_head_dim=64).per_token_bytes(DS)


def test_cli_refuses_it_for_a_model_without_mla(capsys):
    code, out, err = cli(capsys, "size", "llama3-8b", "--ctx", "8k", "--kv-dtype", "fp8_ds_mla")
    assert code == 2 and out == ""
    assert one_line_error(err) == ("kvplan: error: kv format fp8_ds_mla stores DeepSeek MLA latents only, "
                                   "not K/V head vectors")


def test_asked_for_by_name_only():
    # Kept out of FORMATS (every format a K/V vector can use), so comparisons leave it out.
    assert "fp8_ds_mla" not in FORMATS and DS not in parse_formats("all")
    assert parse_formats("fp8_ds_mla,bf16") == [DS, get_format("bf16")]
    with pytest.raises(UnknownNameError, match="fp8_ds_mla"):  # listed among the suggestions
        get_format("fp8_ds")


def test_vllm_releases_that_accept_the_name():
    # vllm/config/cache.py CacheDType lists "fp8_ds_mla" from 0.11.1 on.
    get_engine("vllm==0.11.1").check_kv_format(DS, "bf16")
    with pytest.raises(BadInputError, match="vllm==0.10.2 cannot store the KV cache as fp8_ds_mla"):
        get_engine("vllm==0.10.2").check_kv_format(DS, "bf16")
    assert "fp8_ds_mla" in get_engine("vllm").kv_format_kvplan_names("bf16")


def test_paged_layout_is_one_packed_row_per_token():
    lay = layer_layout(MLALatent(kv_lora_rank=512, qk_rope_head_dim=64), DS, 4, 64)
    assert [(t.name, t.shape, t.dtype) for t in lay.tensors] == [("kv_cache", (4, 64, 656), "uint8")]


@pytest.mark.parametrize(("fmt", "latent_bytes"), [("bf16", 576 * 2), ("fp8_ds_mla", 656)])
def test_v32_layout_holds_the_indexer_keys(fmt, latent_bytes):
    """The paged tensors of a DeepSeek-V3.2 layer: the latent plus the indexer's 132 B per
    token (128 fp8 + one fp32 scale), as the planner counts them (layout == planner)."""
    from kvplan.formats import get_format
    from kvplan.layout import layer_layout
    from kvplan.loader import load_model

    kind = load_model("tests/fixtures/hf_configs/deepseek-v3.2.json").layers[0]
    lay = layer_layout(kind, get_format(fmt, "bf16"), 4, 64)
    assert lay.tensor("index_k_cache").shape == (4, 64, 132)
    assert lay.nbytes == 4 * 64 * (latent_bytes + 132)


def test_vllm_stores_deepseek_sparse_attention_fp8_as_fp8_ds_mla():
    """DeepseekV32ForCausalLM.verify_and_update_config sets cache_dtype = "fp8_ds_mla" for any
    fp8 --kv-cache-dtype: kvplan plans 656 B latents, not 576 fp8 bytes; a release whose
    CacheDType has no fp8_ds_mla (0.11.0) is refused rather than guessed."""
    from kvplan.capacity import make_request
    from kvplan.errors import BadInputError
    from kvplan.loader import load_model

    spec = load_model("tests/fixtures/hf_configs/deepseek-v3.2.json")
    for asked in ("fp8", "fp8_e4m3", "fp8_ds_mla"):
        assert make_request(spec, "h200", tp=8, kv_format=asked).kv_format.name == "fp8_ds_mla"
    assert make_request(spec, "h200", tp=8, kv_format="bf16").kv_format.name == "bf16"
    assert make_request(spec, "h200", tp=8, kv_format="fp8", engine="raw").kv_format.name == "fp8_e4m3"
    with pytest.raises(BadInputError, match="no fp8_ds_mla"):
        make_request(spec, "h200", tp=8, kv_format="fp8", engine="vllm==0.11.0")
    # A model without sparse attention keeps plain fp8.
    assert make_request(load_model("deepseek-v3"), "h200", tp=8, kv_format="fp8").kv_format.name == "fp8_e4m3"
