"""vLLM 0.33.0, read against 0.32.0 (docs/findings/FINDINGS_h34_v33.md); the newest published release.

- The memory accounting is 0.32.0's where kvplan plans (vllm/utils/mem_utils.py byte-identical; the
  kv_cache_memory_bytes branch of Worker.determine_available_memory unchanged): the profiled pool stays
  refused (rule non_kv_from_free_memory) and a plan needs --kv-cache-memory-bytes.
- Model Runner V2 is still the default for every model, and its dummy sampler now runs a second warm-up
  pass with every sampling feature on (rule v2_runner_memory warmup_pass; FINDINGS_h34_v33v2.md): a float32
  copy of the [S, vocab] logits, then FlashInfer's top_k_mask_logits output and softmax (two more float32
  [S, vocab]) and a 1 MiB row-state buffer. Dense models are planned on V2 where FlashInfer samples (NVIDIA
  8.0-11.x); the blocks for given bytes are 0.32.0's, the activation peak grows (the sampler binds at 1,024
  rows for Llama-3.1-8B on an H100). MoE / MLA models plan on V2 as 0.32.0's for the architectures of rule
  v2_moe_mla_architectures (h35, tests/test_vllm_v2_moe.py); state-space models stay refused there.
- Pages, grouping, the null block, the start-up check, auto-fit and window admission are 0.32.0's (moved to
  v1/core/kv_cache_planning.py): on V1 the same blocks for the same bytes as 0.32.0.
- What is refused anew: --kv-cache-dtype float16 / bfloat16 other than the model dtype (vLLM refuses to
  start, rule float_kv_dtype_must_match), the octave_* KV dtypes, checkpoints that declare substituted experts
  (rule expert_substitution), three new engine flags and the new --enable-x / --disable-x spellings.
  Nothing published is later: 0.33.1 or 0.34.0 is a release kvplan does not know of."""

from __future__ import annotations

import dataclasses
import json
from importlib.resources import files

import pytest

from helpers import capacity_json as _plan, cli, hf_fixture, one_line_error

from kvplan.engines import get_engine
from kvplan.engines import vllm_rules as R
from kvplan.engines.base import Release
from kvplan.engines.vllm import BOOK as VLLM_BOOK
from kvplan.errors import BadInputError
from kvplan.gpus import get_gpu
from kvplan.loader import load_model
from kvplan.paging import BOOK as PAGING

_NAMES = ("engine", "paging")
NEW, OLD = "0.33.0", "0.32.0"
V1 = "VLLM_USE_V2_MODEL_RUNNER=0 vllm serve"


def _same_but_names(a: dict, b: dict) -> bool:
    return {k: v for k, v in a.items() if k not in _NAMES} == {k: v for k, v in b.items() if k not in _NAMES}


def _v1(capsys, gpu: str, command: str):
    """The capacity JSON on 0.33.0 and on 0.32.0 of the same command on Model Runner V1."""
    return [_plan(capsys, "--gpu", gpu, "--engine", f"vllm=={rel}", "--from-vllm", f"{V1} {command}")
            for rel in (NEW, OLD)]


@pytest.mark.parametrize("args, blocks, per_request, activation, old_activation", [
    # Llama-3.1-8B, S = 1,024, T = 8,192: the warm-up pass (1,949,873,664) binds over the forward (1,154,272,460)
    (("llama3.1-8b", "--gpu", "h100", "--kv-cache-memory-bytes", "60709920769"), 28_948, 8_192,
     1_949_873_664, 1_154_272_460),
    # 256 rows: the forward binds on both releases
    (("llama3.1-8b", "--gpu", "h100", "--max-num-seqs", "256", "--kv-cache-memory-bytes", "60709920769"),
     28_948, 8_192, 1_154_272_460, 1_154_272_460),
    (("gemma3-27b", "--gpu", "h100", "--max-model-len", "32768", "--kv-cache-memory-bytes", "21144363809"),
     16_131, 8_582, 3_888_559_616, 1_647_103_180),
    (("gemma3-4b", "--gpu", "h100", "--kv-cache-memory-bytes", "10000000000"), 30_517, 14_726,
     3_848_189_440, 784_334_848),
    # T = 16,384 on a B200: the forward (2,308,544,921) binds over the pass (2,016,982,528)
    (("llama3.1-8b", "--gpu", "b200", "--kv-cache-memory-bytes", "60709920769"), 28_948, 8_192,
     2_308_544_921, 2_308_544_921),
])
def test_dense_models_planned_on_v2(capsys, args, blocks, per_request, activation, old_activation):
    """_dummy_sampler_run (v1/worker/gpu/model_runner.py 0.33.0 :993-1014): the for_sampler_warmup pass moves
    the activation peak only; the pages are the given bytes, as 0.32.0's."""
    new = _plan(capsys, *args, "--engine", f"vllm=={NEW}")
    old = _plan(capsys, *args, "--engine", f"vllm=={OLD}")
    assert (new["num_blocks"], new["blocks_per_request"]) == (old["num_blocks"], old["blocks_per_request"]) == (
        blocks, per_request)
    assert (new["activation_bytes"], old["activation_bytes"]) == (activation, old_activation)
    assert new["starts"] is True and new["kv_cache_tokens"] == old["kv_cache_tokens"]


def test_warmup_pass_bytes():
    """Llama-3.1-8B on an H100 (S = 1,024, vocab 128,256, bf16): 262,668,288 (the logits) + 3 x 525,336,576
    (the float32 copy, top_k_mask_logits' output, the softmax) + 1,048,576 (row states) + 3 x 4,096 (top_k,
    top_p, samples) + 1,024 (valid) = 1,839,739,904 B; with the dummy batch (33,280), the fixed profile bytes
    less V1's rand_like copy (51,380,224 - 8,388,608) and the forward's output (67,108,864): 1,949,873,664.
    A row without warmup_pass gives 0.32.0's 374,366,720 B."""
    spec, gpu = load_model("llama3.1-8b"), get_gpu("h100")
    new, old = get_engine(f"vllm=={NEW}"), get_engine(f"vllm=={OLD}")
    settings = new.settings(gpu, spec=spec)
    assert (settings.max_num_seqs, settings.max_num_batched_tokens) == (1_024, 8_192)
    assert new.v2_warmup_pass_bytes(spec, settings, gpu) == 1_839_739_904
    assert new.v2_sampler_bytes(spec, settings, gpu) == 1_949_873_664
    assert old.v2_sampler_bytes(spec, settings, gpu) == 374_366_720
    # 256 rows: 65,667,072 + 3 x 131,334,144 + 1,048,576 + 3 x 1,024 + 512
    small = dataclasses.replace(settings, max_num_seqs=256)
    assert new.v2_warmup_pass_bytes(spec, small, gpu) == 460_721_664
    assert new.rule("v2_runner_memory") == {"fp32_logits_copy": False, "idx_mapping_bytes": 8, "warmup_pass": True}


def test_larger_activation_flips_starts(capsys):
    """66,500,000,000 B given: 0.32.0 starts (activation 1,154,272,460), 0.33.0 does not (1,949,873,664: weights +
    activation + other + V2's persistent buffers (576,668,160 B, tests/test_vllm_v2_persistent.py) + KV exceed the
    H100's 85,029,027,840 B: 0.33.0 starts up to 66,139,973,632 B given, 0.32.0 up to 66,935,574,836); the blocks
    are the same, 31,709. (Was 67,000,000,000 before the persistent buffers were counted: now over both bounds.)"""
    args = ("llama3.1-8b", "--gpu", "h100", "--kv-cache-memory-bytes", "66500000000", "--json")
    code, out, err = cli(capsys, "capacity", *args, "--engine", f"vllm=={NEW}")
    got = json.loads(out)
    assert code == 1 and got["starts"] is False and got["num_blocks"] == 31_709
    assert "activations 1,949,873,664 B" in err and "exceed the GPU's 85,029,027,840 B" in err
    old = _plan(capsys, *args[:-1], "--engine", f"vllm=={OLD}")
    assert old["starts"] is True and old["num_blocks"] == 31_709


@pytest.mark.parametrize("gpu, why", [
    ("rtx-pro-6000-server", "compute capability 12.0"),
])
def test_warmup_pass_off_flashinfer_refused(capsys, gpu, why):
    """flashinfer_sampler_supported (v1/sample/ops/topk_topp_sampler.py 0.33.0 :102-161): on 12.x FlashInfer's
    JIT needs CUDA 12.8 / 12.9 (flashinfer 0.7.2.post1 compilation_context.py _normalize_cuda_arch), else the
    pass samples through apply_top_k_top_p and gumbel_sample, which kvplan has not read; 0.32.0 plans it."""
    args = ("llama3.1-8b", "--gpu", gpu, "--kv-cache-memory-bytes", "20000000000")
    code, out, err = cli(capsys, "capacity", *args, "--engine", f"vllm=={NEW}")
    line = one_line_error(err)
    assert code == 2 and out == ""
    assert line.startswith(f"kvplan: error: vllm=={NEW}: Model Runner V2's dummy sampler runs a second warm-up pass")
    assert why in line and line.endswith(f"or use --engine vllm=={OLD}")
    assert _plan(capsys, *args, "--engine", f"vllm=={OLD}")["num_blocks"] == 9_536
    spec = load_model("llama3.1-8b")
    engine = dataclasses.replace(get_engine(f"vllm=={NEW}"), flashinfer_sampler=False)
    with pytest.raises(BadInputError, match="a deployment without FlashInfer"):
        engine.v2_sampler_bytes(spec, engine.settings(get_gpu("h100"), spec=spec), get_gpu("h100"))


@pytest.mark.parametrize("gpu, command, blocks, per_request, tokens, weights, activation", [
    ("h100", "meta-llama/Llama-3.1-8B --kv-cache-memory-bytes 60709920769",
     28_948, 8_192, 463_168, 16_094_076_928, 2_025_938_944),
    ("h100", "google/gemma-3-27b-it --max-model-len 32768 --kv-cache-memory-bytes 21144363809",
     16_131, 8_582, 61_591, 55_166_803_168, 4_037_972_992),
    ("h100", "google/gemma-3-4b-it --kv-cache-memory-bytes 10000000000",
     30_517, 14_726, 271_623, 9_204_138_720, 3_991_835_648),
    ("h100", "Qwen/Qwen3-30B-A3B --kv-cache-memory-bytes 14002304205",
     8_902, 2_560, 142_432, 61_074_731_008, 2_881_234_944),
    ("h100", "Qwen/Qwen3-30B-A3B --kv-cache-memory-bytes 14002304205 --max-num-seqs 65",
     8_902, 2_560, 142_432, 61_074_731_008, 838_907_648),
    ("h200", "deepseek-ai/DeepSeek-V3 --tensor-parallel-size 8 --kv-cache-memory-bytes 45994277463",
     40_907, 10_240, 654_512, 85_858_369_792, 3_970_539_520),
])
def test_v1_plans_equal_0_32_0s(capsys, gpu, command, blocks, per_request, tokens, weights, activation):
    new, old = _v1(capsys, gpu, command)
    assert (new["num_blocks"], new["blocks_per_request"], new["kv_cache_tokens"]) == (blocks, per_request, tokens)
    assert (new["weights_bytes"], new["activation_bytes"]) == (weights, activation)
    assert new["engine"] == f"vllm=={NEW}" and _same_but_names(new, old)


def test_profiled_pool_refused(capsys):
    code, out, err = cli(capsys, "capacity", "--gpu", "h100", "--engine", f"vllm=={NEW}", "--from-vllm",
                         f"{V1} meta-llama/Llama-3.1-8B")
    line = one_line_error(err)
    assert code == 2 and out == ""
    assert f"vllm=={NEW} measures the memory that is not KV cache" in line and "memory_profiling" in line


def test_null_block_held_back_at_start(capsys):
    """8,192 blocks of 2,097,152 B given exactly: 0.33.0 (V1) refuses to start as 0.32.0 does, auto-fit 131,056."""
    args = ("capacity", "--gpu", "h100", "--engine", f"vllm=={NEW}", "--json", "--from-vllm",
            f"{V1} meta-llama/Llama-3.1-8B --kv-cache-memory-bytes 17179869184")
    code, out, err = cli(capsys, *args)
    got = json.loads(out)
    assert code == 1 and got["starts"] is False and got["num_blocks"] == 8_192
    assert "more than the 17,177,772,032 B available; the estimated maximum model length is 131,056" in err
    code, out, err = cli(capsys, *args[:-1], args[-1] + " --max-model-len auto")
    assert code == 0 and json.loads(out)["max_model_len"] == 131_056


@pytest.mark.parametrize("kv, dtype, refused", [
    ("float16", "", True), ("bfloat16", "", False), ("float16", " --dtype float16", False),
    ("bfloat16", " --dtype float16", True), ("auto", "", False),
])
def test_float_kv_dtype_must_match_the_model(capsys, kv, dtype, refused):
    """_reject_mismatched_float_kv_cache (config/vllm.py 0.33.0 :1492-1508); 0.32.0 plans each (bf16 Llama:
    28,948 blocks of either 16-bit cache)."""
    command = f"meta-llama/Llama-3.1-8B --kv-cache-memory-bytes 60709920769 --kv-cache-dtype {kv}{dtype}"
    old = _plan(capsys, "--gpu", "h100", "--engine", f"vllm=={OLD}", "--from-vllm", f"{V1} {command}")
    assert old["num_blocks"] == 28_948
    if not refused:
        new = _plan(capsys, "--gpu", "h100", "--engine", f"vllm=={NEW}", "--from-vllm", f"{V1} {command}")
        assert _same_but_names(new, old)
        return
    code, out, err = cli(capsys, "capacity", "--gpu", "h100", "--engine", f"vllm=={NEW}", "--from-vllm",
                         f"{V1} {command}")
    line = one_line_error(err)
    assert code == 2 and out == ""
    assert f"does not start with --kv-cache-dtype {kv} for a model served in" in line
    assert line.endswith(f"use --kv-cache-dtype auto, or --engine vllm=={OLD}")


@pytest.mark.parametrize("kv", ["octave_k3v4", "octave_k3v3", "octave_k3v3_compact"])
def test_octave_kv_dtypes_refused(capsys, kv):
    code, out, err = cli(capsys, "capacity", "--gpu", "mi300x", "--engine", f"vllm=={NEW}", "--from-vllm",
                         f"{V1} meta-llama/Llama-3.1-8B --kv-cache-memory-bytes 60709920769 --kv-cache-dtype {kv}")
    assert code == 2 and out == "" and kv in one_line_error(err)
    assert kv in get_engine(f"vllm=={NEW}").rule("kv_cache_dtypes_unmodelled")


def test_expert_substitution_refused(capsys, tmp_path):
    """fused_moe/expert_substitution.py get_expert_substitution_spec (0.33.0 :107-141): only the retained
    experts are built. The HF reader records the key; the engine refuses it from 0.33.0 on V1 too."""
    path = tmp_path / "config.json"
    path.write_text(json.dumps(hf_fixture("qwen3-30b-a3b", approximate_experts={"0": [1, 2]})), encoding="utf-8")
    assert load_model(str(path)).expert_substitution == "approximate_experts"
    spec = dataclasses.replace(load_model("qwen3-30b-a3b"), expert_substitution="approximate_experts")
    with pytest.raises(BadInputError, match=r"declares substituted experts \(approximate_experts\).*"
                                            r"use --engine vllm==0\.32\.0"):
        get_engine(f"vllm=={NEW}", use_v2_model_runner=False).check_model(spec)
    get_engine(f"vllm=={OLD}", use_v2_model_runner=False).check_model(spec)  # 0.32.0 has no such file
    code, out, err = cli(capsys, "capacity", "--gpu", "h100", "--engine", f"vllm=={NEW}", "--from-vllm",
                         f"{V1} {path} --kv-cache-memory-bytes 14002304205")
    assert code == 2 and out == "" and "approximate_experts" in one_line_error(err)


# (argparse_utils.py EnableDisableAction's new --enable-x / --disable-x spellings are read as the --no- ones:
# tests/test_vllm_args_inverse.py)
@pytest.mark.parametrize("flag", ["--monokernel", "--sleep-mode-backend cumem", "--watchdog-config {}"])
def test_new_engine_flags_refused(capsys, flag):
    code, out, err = cli(capsys, "capacity", "--gpu", "h100", "--engine", f"vllm=={NEW}", "--from-vllm",
                         f"{V1} meta-llama/Llama-3.1-8B --kv-cache-memory-bytes 60709920769 {flag}")
    assert code == 2 and out == ""
    assert one_line_error(err) == (f"kvplan: error: {flag.split()[0]}: a vllm flag kvplan does not know; it may "
                                   f"change memory, so kvplan will not guess (remove it, or plan with kvplan's own "
                                   f"options)")


@pytest.mark.parametrize("release", ["0.33.1", "0.34.0"])
def test_nothing_later_is_known(release):
    with pytest.raises(BadInputError, match=rf"vllm {release.replace('.', '[.]')} is not a release kvplan knows of "
                                            r"\(newer than 0\.33\.0, the newest published as of 2026-11-30"):
        get_engine(f"vllm=={release}")


def test_rows():
    new, old = get_engine(f"vllm=={NEW}"), get_engine(f"vllm=={OLD}")
    assert R.RELEASES[-2:] == (OLD, NEW) and R.PUBLISHED_LATER == () and not R.REFUSED
    for name in ("v2_default_all", "v2_model_runner_architectures", "non_kv_from_free_memory", "fa4_hd256_block",
                 "moe_fp8_block_refined", "moe_persistent_workspace", "sampler_top_k_top_p", "mla_forward_read",
                 "deepseek_v2_forward_read", "scheduler_defaults", "allreduce_rms_fusion", "topp_split_small_batch",
                 "mm_prefix_composite_backend", "rocm_moe_weight_padding", "fa4_sm90_fp8_hd512_block",
                 "v1_pp_async_refused", "online_fp8_rerouted"):
        assert new.rule(name) == old.rule(name), name
    # registry.py 0.33.0 _TRANSFORMERS_SUPPORTED_MODELS (:747-782) adds Kolibri1ForCausalLM to 0.32.0's
    assert new.rule("transformers_backend_moved") == old.rule("transformers_backend_moved") + ("Kolibri1ForCausalLM",)
    assert {k: v for k, v in new.rule("v2_runner_memory").items() if k != "warmup_pass"} == old.rule("v2_runner_memory")
    assert new.rule("v2_runner_memory")["warmup_pass"] and "warmup_pass" not in old.rule("v2_runner_memory")
    for name in ("float_kv_dtype_must_match", "expert_substitution"):
        assert (new.rule(name), old.rule(name)) == (True, False), name
    rel, prev = Release.parse(NEW), Release.parse(OLD)
    for name in ("null_block_in_check", "unify_page_sizes", "modelled_kinds", "window_block_size"):
        assert PAGING.value(name, rel) == PAGING.value(name, prev), name
    for book in (VLLM_BOOK, PAGING):  # every row in force at 0.33.0 cites a source
        assert all(row.source for row in book.table(rel).values())


def test_engine_models_0_33_0():
    archs = json.loads(files("kvplan.data").joinpath("engine_models.json").read_text())["vllm"]["architectures"]
    at = Release.parse(NEW)
    # 0.33.0's registry.py: 403 classes, 23 added, MedusaModel removed (FINDINGS_h34_v33.md section 4)
    assert sum(1 for spans in archs.values() if any(Release.parse(a) <= at <= Release.parse(b) for a, b in spans)) == 403
    for added in ("Step5ForCausalLM", "Kolibri1ForCausalLM", "MuseSparkForConditionalGeneration", "FlintForCausalLM"):
        assert archs[added] == [[NEW, NEW]]
    assert archs["MedusaModel"][-1][1] == OLD
    assert archs["LlamaForCausalLM"][-1] == ["0.8.0", NEW]
