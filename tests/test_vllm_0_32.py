"""vLLM 0.32.0, read against 0.31.0 (docs/findings/FINDINGS_h34_v32.md).

- The memory accounting is 0.31.0's where kvplan plans (memory_profiling textually identical; request_memory
  may subtract weights held by another process, only under --load-format ipc_cache, refused): the profiled
  pool stays refused (rule non_kv_from_free_memory) and a plan needs --kv-cache-memory-bytes.
- Model Runner V2 is still the default for every model (rule v2_default_all): MoE / MLA models plan on
  V1 with VLLM_USE_V2_MODEL_RUNNER=0 as on 0.31.0, and by default on V2 for the architectures of rule
  v2_moe_mla_architectures (h35, tests/test_vllm_v2_moe.py); other ones are refused there. V2's dummy idx_mapping is
  int64 again (rule v2_runner_memory): its sampler peak is 0.30.0's, 4,096 B above 0.31.0's (the forward binds).
- Pages, grouping, the null block, the start-up check and auto-fit are 0.31.0's for the kinds kvplan plans
  (bytes per block now by KV-cache layout and each layer's block-stride alignment, 1 for them at block 16).
- What is refused anew: the eight architectures moved to the Transformers backend (rule
  transformers_backend_moved: Phi, Seed-OSS, ...), --load-format ipc_cache, the ultraquant_4bit KV cache,
  four new engine flags. 0.33.0 is read against 0.32.0 in tests/test_vllm_0_33.py."""

from __future__ import annotations

import json
from importlib.resources import files

import pytest

from helpers import HF_FIXTURES, capacity_json as _plan, cli, one_line_error

from kvplan.engines import get_engine
from kvplan.engines import vllm_rules as R
from kvplan.engines.base import Release
from kvplan.engines.vllm import BOOK as VLLM_BOOK
from kvplan.errors import BadInputError
from kvplan.gpus import get_gpu
from kvplan.loader import load_model
from kvplan.paging import BOOK as PAGING

_NAMES = ("engine", "paging")
NEW, OLD = "0.32.0", "0.31.0"


def _same_but_names(a: dict, b: dict) -> bool:
    return {k: v for k, v in a.items() if k not in _NAMES} == {k: v for k, v in b.items() if k not in _NAMES}


def test_v2_sampler_idx_mapping_int64_again():
    """InputBatch.make_dummy idx_mapping int64 (input_batch.py 0.32.0 :140; 0.31.0 :140 int32): 1,024 rows,
    4,096 B more than 0.31.0, 0.30.0's figure."""
    spec, gpu = load_model("llama3.1-8b"), get_gpu("h100")
    new, old, older = (get_engine(f"vllm=={rel}") for rel in (NEW, OLD, "0.30.0"))
    assert new.rule("v2_runner_memory") == {"fp32_logits_copy": False, "idx_mapping_bytes": 8}
    assert new.v2_sampler_bytes(spec, new.settings(gpu, spec=spec)) == 374_366_720
    assert old.v2_sampler_bytes(spec, old.settings(gpu, spec=spec)) == 374_362_624
    assert older.v2_sampler_bytes(spec, older.settings(gpu, spec=spec)) == 374_366_720


@pytest.mark.parametrize("args, words", [
    (("gemma3-4b", "--gpu", "b200", "--kv-cache-memory-bytes", "10000000000"), "has head size 256"),
    (("llama3.1-8b", "--gpu", "h100", "--kv-cache-memory-bytes", "60709920769", "--quantization", "fp8"),
     "fp8_per_tensor"),
])
def test_earlier_refusals_carried(capsys, args, words):
    code, out, err = cli(capsys, "capacity", *args, "--engine", f"vllm=={NEW}")
    assert code == 2 and out == "" and words in one_line_error(err)


@pytest.mark.parametrize("fixture, arch, blocks", [
    ("phi-2-super", "PhiForCausalLM", 1_907),
    ("seed-oss-36b-derivative", "SeedOssForCausalLM", 2_384),
])
def test_transformers_backend_architectures_refused(capsys, fixture, arch, blocks):
    """registry.py 0.32.0 _TRANSFORMERS_SUPPORTED_MODELS (:709-744): phi.py and seed_oss.py deleted; 0.31.0
    plans them natively (10,000,000,000 B given: 1,907 and 2,384 blocks)."""
    args = (str(HF_FIXTURES / f"{fixture}.json"), "--gpu", "h100", "--kv-cache-memory-bytes", "10000000000")
    code, out, err = cli(capsys, "capacity", *args, "--engine", f"vllm=={NEW}")
    line = one_line_error(err)
    assert code == 2 and out == ""
    assert f"vllm=={NEW} builds {arch}" in line and "Transformers backend" in line
    assert line.endswith("use --engine vllm==0.31.0")
    code, out, err = cli(capsys, "capacity", *args, "--engine", f"vllm=={OLD}", "--json")
    assert json.loads(out)["num_blocks"] == blocks


def test_ipc_cache_load_format_refused(capsys):
    cmd = "vllm serve meta-llama/Llama-3.1-8B --kv-cache-memory-bytes 60709920769 --load-format"
    code, out, err = cli(capsys, "capacity", "--gpu", "h100", "--engine", f"vllm=={NEW}", "--from-vllm",
                         f"{cmd} ipc_cache")
    assert code == 2 and out == "" and one_line_error(err).startswith("kvplan: error: --load-format ipc_cache:")
    new, old = [_plan(capsys, "--gpu", "h100", "--engine", f"vllm=={rel}", "--from-vllm", f"{cmd} safetensors")
                for rel in (NEW, OLD)]
    assert new["num_blocks"] == 28_948 and _same_but_names(new, old)


def test_ultraquant_4bit_refused(capsys):
    code, out, err = cli(capsys, "capacity", "llama3.1-8b", "--gpu", "b200", "--engine", f"vllm=={NEW}",
                         "--kv-cache-memory-bytes", "150000000000", "--kv-cache-dtype", "ultraquant_4bit")
    assert code == 2 and out == "" and "ultraquant_4bit" in one_line_error(err)
    assert "ultraquant_4bit" in get_engine(f"vllm=={NEW}").rule("kv_cache_dtypes_unmodelled")


@pytest.mark.parametrize("flag", ["--custom-histogram-buckets 1,2", "--enable-hc-sp", "--enable-shm-tensor-arena",
                                  "--sleep-mode-offload-cudagraph"])
def test_new_engine_flags_refused(capsys, flag):
    code, out, err = cli(capsys, "capacity", "--gpu", "h100", "--engine", f"vllm=={NEW}", "--from-vllm",
                         f"vllm serve meta-llama/Llama-3.1-8B --kv-cache-memory-bytes 60709920769 {flag}")
    assert code == 2 and out == ""
    assert one_line_error(err) == (f"kvplan: error: {flag.split()[0]}: a vllm flag kvplan does not know; it may "
                                   f"change memory, so kvplan will not guess (remove it, or plan with kvplan's own "
                                   f"options)")


def test_rows():
    new, old = get_engine(f"vllm=={NEW}"), get_engine(f"vllm=={OLD}")
    assert R.RELEASES[-3:-1] == (OLD, NEW) and R.PUBLISHED_LATER == ()
    assert not R.REFUSED
    for name in ("v2_default_all", "v2_model_runner_architectures", "non_kv_from_free_memory", "fa4_hd256_block",
                 "moe_fp8_block_refined", "moe_persistent_workspace", "sampler_top_k_top_p", "mla_forward_read",
                 "deepseek_v2_forward_read", "scheduler_defaults", "allreduce_rms_fusion", "topp_split_small_batch",
                 "mm_prefix_composite_backend", "rocm_moe_weight_padding", "fa4_sm90_fp8_hd512_block",
                 "v1_pp_async_refused", "online_fp8_rerouted"):
        assert new.rule(name) == old.rule(name), name
    assert set(new.rule("transformers_backend_moved")) - set(old.rule("transformers_backend_moved")) == {
        "ArceeForCausalLM", "CwmForCausalLM", "GPTNeoXForCausalLM", "GlmForCausalLM", "Jais2ForCausalLM",
        "MellumForCausalLM", "PhiForCausalLM", "SeedOssForCausalLM"}
    assert set(old.rule("transformers_backend_moved")) <= set(new.rule("transformers_backend_moved"))
    assert set(new.rule("kv_cache_dtypes_unmodelled")) - set(old.rule("kv_cache_dtypes_unmodelled")) == {
        "ultraquant_4bit"}
    rel, prev = Release.parse(NEW), Release.parse(OLD)
    for name in ("null_block_in_check", "unify_page_sizes", "modelled_kinds", "window_block_size"):
        assert PAGING.value(name, rel) == PAGING.value(name, prev), name
    for book in (VLLM_BOOK, PAGING):  # every row in force at 0.32.0 cites a source
        assert all(row.source for row in book.table(rel).values())
    with pytest.raises(BadInputError, match=r"vllm 0\.34\.0 is not a release kvplan knows of \(newer than 0\.33\.0"):
        get_engine("vllm==0.34.0")


def test_engine_models_0_32_0():
    archs = json.loads(files("kvplan.data").joinpath("engine_models.json").read_text())["vllm"]["architectures"]
    at = Release.parse(NEW)
    # 0.32.0's registry.py: 381 classes, 4 added, none removed (FINDINGS_h34_v32.md section 4); the eight
    # Transformers-backend architectures stay registered (refused by rule transformers_backend_moved)
    assert sum(1 for spans in archs.values() if any(Release.parse(a) <= at <= Release.parse(b) for a, b in spans)) == 381
    for added in ("ClefOmniForJointSchema", "EmbeddingGemma2Model", "ExaoneMoEForCausalLM",
                  "MiniCPMV4_7ForConditionalGeneration"):
        assert archs[added][-1][0] == NEW  # ExaoneMoEForCausalLM back after 0.14.0-0.26.0
    assert archs["PhiForCausalLM"][-1][1] == R.RELEASES[-1]

