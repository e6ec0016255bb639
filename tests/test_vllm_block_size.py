"""The KV block size vLLM really runs, by release, GPU and model (kvplan.engines.vllm
model_block_size and the rules mla_block_size / sparse_mla_block_size / block_size_choices),
and the symmetric-memory all-reduce by compute capability.

Sources are each rule's own (kvplan/engines/vllm_rules.py): vllm/platforms/cuda.py
check_and_update_config up to 0.17.1 forces FlashMLA's 64 on compute capability 9.x; from
0.18.0 the selected backend's preferred size applies (FLASH_ATTN_MLA: 16 for 16-bit caches,
FLASHMLA: 64 for fp8).
"""

from __future__ import annotations

import json

import pytest

from kvplan.capacity import make_request, plan
from kvplan.engines import get_engine
from kvplan.errors import BadInputError
from kvplan.formats import get_format
from kvplan.gpus import get_gpu
from kvplan.loader import load_model

from helpers import cli, one_line_error

V32 = "tests/fixtures/hf_configs/deepseek-v3.2.json"


def _block(model, gpu, engine, **kw) -> int:
    if "kv_dtype" in kw:
        kw["kv_format"] = kw.pop("kv_dtype")
    return plan(make_request(load_model(model), gpu=gpu, engine=engine, **kw)).settings.block_size


@pytest.mark.parametrize("engine, gpu, kw, block", [
    # Hopper, 0.8.0-0.11.0: `block_size != 64` -> 64, even a --block-size 128
    ("vllm==0.8.3", "h100", {}, 64),
    ("vllm==0.10.1", "h20", {"block_size": 128}, 64),
    # Hopper, 0.11.1-0.17.1: `block_size % 64 != 0` -> 64; 128 is kept
    ("vllm==0.15.1", "h200", {}, 64),
    ("vllm==0.15.1", "h200", {"block_size": 128}, 128),
    ("vllm==0.15.1", "h200", {"block_size": 32}, 64),
    # Hopper, 0.18+: FLASH_ATTN_MLA for a 16-bit cache (16), FLASHMLA for fp8 (64); --block-size kept
    ("vllm==0.19.1", "h100", {}, 16),
    ("vllm==0.18.0", "h100", {"kv_dtype": "fp8"}, 64),
    ("vllm==0.19.1", "h100", {"kv_dtype": "fp8", "block_size": 32}, 32),
    # no FlashMLA before Hopper: TRITON_MLA keeps the block
    ("vllm==0.10.1", "a100-80gb", {}, 16),
    ("vllm==0.15.1", "l40s", {"block_size": 32}, 32),
    ("vllm==0.19.1", "a100-80gb", {}, 16),
    # ROCm, VLLM_ROCM_USE_AITER unset: TRITON_MLA
    # fp8 experts: bf16 experts on AMD are refused on 0.14.0-0.20.2 (rule rocm_moe_weight_padding)
    ("vllm==0.19.1", "mi300x", {"weights": "fp8"}, 16),
    # Blackwell: a --block-size of 128 is kept by FlashInfer MLA and CUTLASS MLA alike
    ("vllm==0.15.1", "b200", {"block_size": 128}, 128),
    ("vllm==0.19.1", "b200", {"block_size": 64}, 64),
])
def test_mla_block_size(engine, gpu, kw, block):
    assert _block("deepseek-v2-lite", gpu, engine, **kw) == block


def test_non_mla_models_keep_the_default_block():
    assert _block("llama3-8b", "h100", "vllm==0.15.1") == 16
    assert _block("llama3-8b", "b200", "vllm==0.19.1") == 16


def test_mla_block_changes_the_token_count():
    """The same pool paged in 64-token blocks on 0.15.1 is a whole number of 64-token blocks."""
    pool = plan(make_request(load_model("deepseek-v2-lite"), gpu="h100", engine="vllm==0.15.1"))
    assert pool.settings.block_size == 64
    assert pool.kv_cache_tokens % 64 == 0


@pytest.mark.parametrize("engine, gpu, kw, words", [
    ("vllm==0.15.1", "b200", {}, "does not model which MLA attention backend"),
    ("vllm==0.19.1", "gb200", {}, "does not model which MLA attention backend"),
    ("vllm==0.15.1", "b300", {"block_size": 64}, "does not model which MLA attention backend"),
    ("vllm==0.19.1", "h100", {"kv_dtype": "fp8_e5m2"}, "no MLA attention backend"),
    ("vllm==0.19.1", "a100-80gb", {"block_size": 8}, "multiple of 16"),
])
def test_mla_block_size_refused(engine, gpu, kw, words):
    with pytest.raises(BadInputError, match=words):
        _block("deepseek-v2-lite", gpu, engine, **kw)


def test_mla_on_a_gpu_known_only_by_memory_is_refused():
    with pytest.raises(BadInputError, match="compute capability"):
        _block("deepseek-v2-lite", None, "vllm==0.19.1", gpu_mem_bytes=80 << 30)
    assert _block("llama3-8b", None, "vllm==0.19.1", gpu_mem_bytes=80 << 30) == 16


def test_sparse_mla_block_size():
    spec = load_model(V32)
    engine = get_engine("vllm==0.15.1")
    fmt = get_format("bf16")
    assert engine.model_block_size(spec, get_gpu("h200"), fmt, None, 16) == 64
    assert engine.model_block_size(spec, get_gpu("b200"), fmt, 16, 16) == 64  # `!= 64` -> 64
    new = get_engine("vllm==0.19.1")
    assert new.model_block_size(spec, get_gpu("h200"), fmt, None, 16) == 64
    assert new.model_block_size(spec, get_gpu("h200"), fmt, 128, 128) == 128
    with pytest.raises(BadInputError, match="multiple of 64"):
        new.model_block_size(spec, get_gpu("h200"), fmt, 32, 32)
    with pytest.raises(BadInputError, match="FlashInfer MLA sparse"):
        new.model_block_size(spec, get_gpu("b200"), fmt, None, 16)
    with pytest.raises(BadInputError, match=r"9\.x or 10\.x, not 8\.0"):
        new.model_block_size(spec, get_gpu("a100-80gb"), fmt, None, 16)
    with pytest.raises(BadInputError, match="0.11.0"):
        get_engine("vllm==0.10.2").model_block_size(spec, get_gpu("h200"), fmt, None, 16)


@pytest.mark.parametrize("engine, block, ok", [
    ("vllm==0.8.4", 1, False),  # argparse choices [8, 16, 32, 64, 128]
    ("vllm==0.8.5", 1, True),  # BlockSize = Literal[1, 8, 16, 32, 64, 128]
    ("vllm==0.11.0", 256, False),
    ("vllm==0.11.1", 256, True),  # 256 added
    ("vllm==0.17.1", 7, False),
    ("vllm==0.18.0", 7, True),  # SkipValidation[int]
])
def test_block_size_choices(engine, block, ok):
    if ok:
        assert _block("llama3-8b", "h100", engine, block_size=block) == block
    else:
        with pytest.raises(BadInputError, match="takes --block-size"):
            _block("llama3-8b", "h100", engine, block_size=block)


def test_block_size_choices_cli(capsys):
    code, out, err = cli(capsys, "capacity", "llama3-8b", "--gpu", "h100", "--engine", "vllm==0.15.1",
                         "--block-size", "7")
    assert code == 2 and out == ""
    assert one_line_error(err) == "kvplan: error: vllm==0.15.1 takes --block-size 1, 8, 16, 32, 64, 128, 256; got 7"


@pytest.mark.parametrize("gpu, symm", [
    ("h100", True), ("h20", True), ("h800", True), ("gh200-144gb", True), ("h100-nvl", True),
    ("b200", True), ("gb200", True), ("b300", False), ("a100-80gb", False), ("l40s", False),
])
def test_symmetric_memory_by_compute_capability(gpu, symm):
    """SYMM_MEM_ALL_REDUCE_MAX_SIZES has keys "9.0" and "10.0": 2.09 GiB at tp 2 (0.19.1), else 0.12."""
    engine = get_engine("vllm==0.19.1")
    got = engine.non_torch_increase_bytes(get_gpu(gpu), 2, 1)
    table = engine.rule("non_torch_bytes")
    assert got == (table["tp_symm"][2] if symm else table["tp"])


def test_catalog_compute_capability_json(capsys):
    code, out, _ = cli(capsys, "gpus", "--json")
    assert code == 0
    rows = {g["name"]: g for g in json.loads(out)}
    assert rows["h20"]["compute_capability"] == "9.0"
    assert rows["b300"]["compute_capability"] == "10.3"
    assert rows["mi300x"]["compute_capability"] is None


@pytest.mark.parametrize("gpu, engine", [("tpu-v6e", "vllm"), ("gaudi3", "vllm==0.15.1"), ("tpu-v5e", "sglang"),
                                         ("mi300x", "trtllm")])
def test_engines_refuse_platforms_they_do_not_model(capsys, gpu, engine):
    """vLLM on TPU (Pallas page size from max_model_len) and Gaudi (vllm-gaudi, block 128) carve memory in
    workers kvplan does not model; --engine raw still plans the memory."""
    code, out, err = cli(capsys, "capacity", "llama3-8b", "--gpu", gpu, "--engine", engine)
    assert code == 2 and out == ""
    assert "use --engine raw" in one_line_error(err)
    code, out, _ = cli(capsys, "capacity", "llama3-8b", "--gpu", gpu, "--engine", "raw")
    assert code == 0 and "verdict" in out


def test_recommend_lists_a_gpu_it_cannot_plan_instead_of_failing():
    from kvplan.recommend import recommend

    rec = recommend(load_model("deepseek-v2-lite"), ctx=4096, users=4, gpus=["h100", "b200"], max_gpus=1)
    assert {o.request.gpu.name for o in rec.options} == {"h100-sxm"}
    assert {r.reason for r in rec.rejections if r.gpu == "b200"} == {"gpu"}


#: --block-size values each release's CLI takes, as its source lists them (vllm_rules cites the files).
CHOICES = {
    "0.8.4": (8, 16, 32, 64, 128),  # arg_utils.py: choices=[8, 16, 32, 64, 128]
    "0.10.1": (1, 8, 16, 32, 64, 128),  # config.py: BlockSize = Literal[1, 8, 16, 32, 64, 128]
    "0.15.1": (1, 8, 16, 32, 64, 128, 256),  # config/cache.py: BlockSize = Literal[..., 256]
}


@pytest.mark.parametrize("release", sorted(CHOICES))
def test_every_listed_block_size_and_no_other(release):
    engine = get_engine(f"vllm=={release}")
    gpu = get_gpu("h100")
    for block in CHOICES[release]:
        assert engine.settings(gpu, block_size=block).block_size == block
    for block in {b + 1 for b in CHOICES[release]} - set(CHOICES[release]):
        with pytest.raises(BadInputError, match="takes --block-size"):
            engine.settings(gpu, block_size=block)


def test_blackwell_refusal_names_the_compute_capability():
    with pytest.raises(BadInputError, match=r"compute capability 10\.3 "):
        _block("deepseek-v2-lite", "b300", "vllm==0.15.1")


@pytest.mark.parametrize("release, reason", [
    # 0.33.0, the newest published (2026-11-30), modelled from h34-v31m: nothing published is refused
    ("0.34.0", r"not a release kvplan knows of \(newer than 0\.33\.0, the newest published as of 2026-11-30"),
    ("0.33.1", r"which kvplan has not read\); modelled: 0\.8\.0 to 0\.33\.0"),
])
def test_newer_vllm_releases_are_refused_with_their_reason(release, reason):
    """vllm_rules.REFUSED is empty (every published release modelled); a later one is named as unknown."""
    with pytest.raises(BadInputError, match=reason):
        get_engine(f"vllm=={release}")
