"""vLLM 0.20.0-0.21.0: planned only where the CUDA-graph memory estimate is not subtracted
(rule cudagraph_estimate_subtracted: --enforce-eager, VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS=0,
an AMD GPU), and for full-attention, MLA, sliding-window and chunked-local layers (kvplan.paging
modelled_kinds; FINDINGS_h27_v20b.md: DeepSeek sparse attention and state-space layers stay refused);
refused with one line otherwise. Figures derived by hand from the rules (docs/capacity.md,
vllm_rules.py, paging.py)."""

from __future__ import annotations

import json

import pytest

from helpers import cli, one_line_error  # noqa: F401
from vllm_port import FULL, MAMBA, PAGE, SW, chunked, configs, tables

from kvplan.errors import BadInputError

from kvplan.engines import get_engine
from kvplan.vllm_args import parse_vllm

ESTIMATE = ("kvplan: error: vllm==0.21.0 subtracts a CUDA-graph memory estimate from the KV pool "
            "(VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS=1 by default from 0.20.0), measured by trial graph captures "
            "that kvplan does not predict; plan it eager (kvplan capacity --enforce-eager, or --enforce-eager in a "
            "--from-vllm command or a plan's from_vllm) or with VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS=0 in front "
            "of one, or use --engine vllm==0.19.1")
SERVE = "vllm serve meta-llama/Llama-3.1-8B"


def _plan(capsys, *args):
    code, out, err = cli(capsys, "capacity", "--gpu", "h100", *args, "--json")
    assert code == 0, err
    return json.loads(out)


def test_llama31_8b_h100_0_21_enforce_eager_against_0_19_1(capsys):
    # H100: 85,029,027,840 B (79.19 GiB). Weights 16,094,076,928 and non-torch 268,435,456 (0.25 GiB)
    # as 0.19.1. 0.19.1: activation 2,024,886,272 (the sampler binds), share ceil(total x 0.9) =
    # 76,526,125,056 (utils.py request_memory, rule requested_memory_rounding), pool 58,138,726,400, 58,138,726,400 // (16 x 131,072) = 27,722 blocks, 443,552 tokens.
    old = _plan(capsys, "llama3.1-8b", "--engine", "vllm==0.19.1")
    assert (old["activation_bytes"], old["kv_pool_bytes"], old["num_blocks"], old["kv_cache_tokens"]) == (
        2_024_886_272, 58_138_726_400, 27_722, 443_552)
    # 0.21.0: gpu_memory_utilization 0.92 (ceil(total x 0.92) = ceil(78,226,705,612.8) = 78,226,705,613); the sampler's
    # FlashInfer call leaves its 1 MiB row-state buffer and its output (1,024 x 4 B) for the native call:
    # 2,024,886,272 + 1,048,576 + 4,096 = 2,025,938,944; pool 78,226,705,613 - 16,094,076,928 - 2,025,938,944 -
    # 268,435,456 = 59,838,254,285 -> 28,533 blocks; "GPU KV cache size" int(28,533 / 8,192 x 131,072) = 456,528.
    new = _plan(capsys, "--engine", "vllm==0.21.0", "--from-vllm", SERVE + " --enforce-eager")
    assert (new["weights_bytes"], new["other_bytes"]) == (old["weights_bytes"], old["other_bytes"])
    assert (new["activation_bytes"], new["kv_pool_bytes"], new["num_blocks"], new["kv_cache_tokens"]) == (
        2_025_938_944, 59_838_254_285, 28_533, 456_528)


def test_0_20_0_estimate_off_by_environment(capsys):
    # 0.20.0: no FlashInfer call (VLLM_USE_FLASHINFER_SAMPLER unset is off): activation as 0.19.1,
    # pool 78,226,705,613 - 16,094,076,928 - 2,024,886,272 - 268,435,456 = 59,839,306,957 -> 28,533
    # blocks, 28,533 x 16 = 456,528 tokens (num_blocks // groups x block size, up to 0.20.0)
    got = _plan(capsys, "--engine", "vllm==0.20.0", "--from-vllm",
                "VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS=0 " + SERVE)
    assert (got["activation_bytes"], got["kv_pool_bytes"], got["num_blocks"], got["kv_cache_tokens"]) == (
        2_024_886_272, 59_839_306_957, 28_533, 456_528)


@pytest.mark.parametrize("release", ["0.20.0", "0.20.1", "0.20.2", "0.21.0"])
def test_default_graphs_refused(capsys, release):
    code, out, err = cli(capsys, "capacity", "llama3.1-8b", "--gpu", "h100", "--engine", f"vllm=={release}")
    assert code == 2 and out == ""
    assert err.strip() == ESTIMATE.replace("0.21.0", release)


def test_environment_on_is_refused_too(capsys):
    code, out, err = cli(capsys, "capacity", "--gpu", "h100", "--engine", "vllm==0.21.0", "--from-vllm",
                         "VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS=1 " + SERVE)
    assert code == 2 and err.strip() == ESTIMATE


def test_kv_cache_memory_bytes_needs_no_profile(capsys):
    # gpu_worker.py determine_available_memory returns kv_cache_memory_bytes before profiling
    got = _plan(capsys, "llama3.1-8b", "--engine", "vllm==0.21.0", "--kv-cache-memory-bytes", "32G")
    assert got["num_blocks"] == (32 << 30) // (16 * 131_072)


def test_bare_engine_is_still_0_19_1():
    assert str(get_engine("vllm").release) == "0.19.1"


def _figures(got):
    return tuple(got[k] for k in ("activation_bytes", "kv_pool_bytes", "num_blocks", "kv_cache_tokens",
                                  "blocks_per_request"))


def test_deepseek_v3_h200_tp8_fp8_mla_0_21_enforce_eager_against_0_19_1(capsys):
    """MLA on 0.21.0 (modelled_kinds): latent page, FLASH_ATTN_MLA's block 16 for a bf16 cache on
    Hopper and the dequantized kv_b_proj copy are 0.19.1's (FINDINGS_h27_v20b.md)."""
    # H200: 150,119,844,413 B. Weights per rank 85,858,369,792 (with the bf16 kv_b_proj copy, 61 x
    # 33,554,432 / 8 B; rule mla_kv_b_dequantized_copy), other 2,287,070,085 (tp 8 non-torch): as 0.19.1.
    # 0.19.1: the sampler binds: S = 1,024 rows x vocab 129,280 x (2 + 4 + 8) = 1,853,358,080, Triton
    # buffer 132 x 129,280 x 4 = 68,259,840, hidden 8,192 x 7,168 x 2 = 117,440,512, workspace
    # 51,380,224: 2,090,438,656, plus the kept fused-MoE workspace of the block-quantized fp8 experts
    # (TritonExperts on capability 9.0, rule moe_fp8_block_sm90_triton): 2 x 8,192 x 8 x 7,168 x 2 =
    # 1,879,048,192: 3,969,486,848 (was 2,090,438,656 with a note). Share ceil(total x 0.9) =
    # ceil(135,107,859,971.7) = 135,107,859,972, pool 42,992,933,247 (44,871,981,439 without the
    # workspace); a block is 61 layers x 16 x 576 x 2 = 1,124,352 B: 38,237 blocks (was 39,909),
    # 38,237 x 16 = 611,792 tokens (was 638,544).
    args = ("deepseek-v3", "--gpu", "h200", "--tp", "8", "--weights", "fp8", "--enforce-eager", "--json")
    code, out, err = cli(capsys, "capacity", *args[:-1], "--engine", "vllm==0.19.1", "--json")
    assert code == 0, err
    old = json.loads(out)
    assert old["block_size"] == 16 and old["weights_bytes"] == 85_858_369_792
    assert _figures(old) == (3_969_486_848, 42_992_933_247, 38_237, 611_792, 10_240)
    # 0.21.0: share ceil(total x 0.92) = ceil(138,110,256,859.96) = 138,110,256,860; activation + 1 MiB + 4,096 B (FlashInfer
    # sampler's row-state buffer and output) = 2,091,491,328; pool 138,110,256,860 - 85,858,369,792 - 2,091,491,328 -
    # 2,287,070,085 = 47,873,325,655 -> 42,578 blocks; "GPU KV cache size" int(42,578 / 10,240 x 163,840)
    # = 681,248 (a request of 163,840 tokens needs 10,240 blocks).
    # That is without the kept fused-MoE workspace; 0.21.0's fp8 oracle still puts TritonExperts first for
    # block fp8 on capability 9.0 without EP (oracle/fp8.py :90-101, rule moe_fp8_block_sm90_triton,
    # FINDINGS_h29_moe20.md), so 1,879,048,192 B more: activation 3,970,539,520, pool 45,994,277,463 ->
    # 40,907 blocks; int(40,907 / 10,240 x 163,840) = 654,512 tokens.
    code, out, err = cli(capsys, "capacity", *args[:-1], "--engine", "vllm==0.21.0", "--json")
    assert code == 0, err
    assert _figures(json.loads(out)) == (3_970_539_520, 45_994_277_463, 40_907, 654_512, 10_240)


def test_gpt_oss_120b_h100_sliding_window_0_21_enforce_eager_against_0_19_1(capsys):
    """Sliding window (with gpt-oss's attention sinks) on 0.21.0: two groups of 18 layers, as 0.19.1."""
    # H100: 85,029,027,840 B. Weights 70,351,907,456 (the mxfp4 experts' Triton layout, rows and row
    # bytes padded to 64 from 0.17.0, and the float32 rotary cache: tests/test_vllm_mxfp4_experts.py),
    # non-torch 268,435,456. Sampler: 1,024 x 201,088 x 14
    # + 132 x 201,088 x 4 + 8,192 x 2,880 x 2 + 51,380,224 = 3,087,538,176. A page is 16 x 8 heads x
    # (64 + 64) x 2 = 32,768 B; 18 full + 18 window layers -> 2 groups of 18: a block unit 589,824 B.
    # A request of 131,072: 8,192 full blocks + cdiv(min(127 + 8,192, 131,072), 16) + 1 = 521 window blocks.
    # 0.19.1: pool 76,526,125,056 - 70,351,907,456 - 3,087,538,176 - 268,435,456 = 2,818,243,968 ->
    # 4,778 blocks, 4,778 // 2 x 16 = 38,224 tokens: one request of 131,072 does not fit (exit 1).
    code, out, err = cli(capsys, "capacity", "--gpu", "h100", "gpt-oss-120b", "--engine", "vllm==0.19.1", "--json")
    old = json.loads(out)
    assert code == 1 and old["weights_bytes"] == 70_351_907_456
    assert _figures(old) == (3_087_538_176, 2_818_243_968, 4_778, 38_224, 8_713)
    # 0.21.0: activation + 1 MiB + 4,096 = 3,088,590,848; pool 78,226,705,613 - 65,265,592,960 - 3,088,590,848 -
    # 268,435,456 = 9,604,086,349 -> 16,282 blocks; int(16,282 / 8,713 x 131,072) = 244,934 tokens
    # (its mxfp4 experts refused: 0.20.0+'s oracle/mxfp4.py not read, FINDINGS_h29_moe20.md)
    code, out, err = cli(capsys, "capacity", "gpt-oss-120b", "--gpu", "h100", "--engine", "vllm==0.21.0",
                         "--enforce-eager")
    assert code == 2 and "select_gpt_oss_mxfp4_moe_backend picks for mxfp4 experts" in one_line_error(err)


def test_gemma3_27b_h100_sliding_window_0_21_enforce_eager_against_0_19_1(capsys):
    # Pages 16 x 16 heads x 256 x 2 = 131,072 B; 52 window + 10 full layers: group size 10 (52 is not
    # under 1.5 x 10), 1 + 6 groups, 8 padding layers, unit 1,310,720 B. A request of 131,072: 8,192 +
    # 6 x (cdiv(1,023 + 8,192, 16) + 1 = 577) = 11,654 blocks. Sampler: 1,024 x 262,208 x 14 + 132 x
    # 262,208 x 4 + 8,192 x 5,376 x 2 + 51,380,224 = 4,036,920,320.
    # 0.19.1: pool 76,526,125,056 - 55,166,803,168 - 4,036,920,320 - 268,435,456 = 17,053,966,112 ->
    # 13,011 blocks, 13,011 // 7 x 16 = 29,728 tokens.
    old = _plan(capsys, "gemma3-27b", "--engine", "vllm==0.19.1")
    assert _figures(old) == (4_036_920_320, 17_053_966_112, 13_011, 29_728, 11_654)
    # 0.21.0: activation 4,037,972,992 (+ 1 MiB + 4,096); pool 78,226,705,613 - 55,166,803,168 - 4,037,972,992 -
    # 268,435,456 = 18,753,493,997 -> 14,307 blocks; int(14,307 / 11,654 x 131,072) = 160,910 tokens
    new = _plan(capsys, "gemma3-27b", "--engine", "vllm==0.21.0", "--enforce-eager")
    assert _figures(new) == (4_037_972_992, 18_753_493_997, 14_307, 160_910, 11_654)
    assert new["padding_layers"] == 8
    # 0.20.0 (no FlashInfer sampler; "GPU KV cache size" still num_blocks // groups x block size):
    # pool 18,754,546,669 -> 14,308 blocks, 14,308 // 7 x 16 = 32,704 tokens
    mid = _plan(capsys, "gemma3-27b", "--engine", "vllm==0.20.0", "--enforce-eager")
    assert _figures(mid) == (4_036_920_320, 18_754_546_669, 14_308, 32_704, 11_654)


_MLA = {"kind": "mla", "kv_lora_rank": 512, "qk_rope_head_dim": 64}


@pytest.mark.parametrize("layer, what", [
    ({**_MLA, "kind": "mla_indexed", "index_head_dim": 128}, "MLA latent 512 + rope 64"),
    (MAMBA, "state"),
])
@pytest.mark.parametrize("release", ["0.20.0", "0.20.2", "0.21.0"])
def test_sparse_mla_and_state_space_stay_refused(layer, what, release):
    """DeepSeek sparse attention (the indexer's wk is fused and unquantized from 0.20.0) and
    state-space layers (their block alignment moved, not read) are refused on 0.20.0-0.21.0."""
    with pytest.raises(BadInputError) as e:
        configs(release, [FULL, layer], PAGE * 100, dtype="bf16")
    msg = str(e.value)
    assert msg.startswith(f"vllm=={release}: ") and "layers are not modelled for this release" in msg
    assert what in msg and "\n" not in msg
    assert configs("0.19.1", [FULL, MAMBA], PAGE * 100).num_blocks > 0  # 0.19.1 still plans it


def test_mla_chunked_and_window_pages_at_0_21_are_0_19_1s():
    """The paging of the kinds opened up is the same arithmetic at 0.19.1 and 0.21.0 for the same
    memory (override_in_check / kv_size_report aside, which differ from 0.20.1 only with an override
    or in the logged token count): blocks, groups, padding and the start-up check."""
    mla = {**_MLA}
    # units: 3 latents of 16 x 576 x 4 B; 2 full + 4 window layers in 3 groups of 2 (2 x PAGE); 1 full
    # + 3 chunked layers in 4 groups of 1 (PAGE)
    cases = [([mla] * 3, 16 * 576 * 4 * 3), ([FULL, SW, SW, FULL, SW, SW], PAGE * 2),
             ([FULL] + [chunked(32)] * 3, PAGE)]
    for layers, unit in cases:
        a, b = (configs(r, layers, unit * 10, max_model_len=64) for r in ("0.19.1", "0.21.0"))
        assert a.num_blocks == b.num_blocks == 10 and a.layouts[0].unit_bytes == unit
        assert tables(a.layouts[0]) == tables(b.layouts[0])
        assert a.needed_bytes(0, 64) == b.needed_bytes(0, 64)
        assert a.estimated_max_model_len() == b.estimated_max_model_len()


_SW_V32 = {"kind": "sliding_window", "window": 1, "kv_heads": 2, "head_dim": 64, "v_head_dim": 32}


def test_window_layer_with_its_own_v_head_size():
    """Rule window_v_head_dim: 0.20.0+ SlidingWindowSpec pages are head_size + head_size_v; with the
    hybrid manager off 0.20.0-0.20.2 rebuild the layer as full attention without head_size_v (2 x 64),
    which 0.21.0 fixes; 0.19.1's SlidingWindowSpec has no V size at all."""
    # hybrid on, 0.20.0: full page 16,384 B; window page 16 x 2 x (64 + 32) x 4 = 12,288 B does not
    # divide 16,384, so vLLM refuses for page sizes; one window layer alone pages at 12,288
    got = configs("0.20.0", [_SW_V32, _SW_V32], 12_288 * 2 * 7)
    assert got.layouts[0].unit_bytes == 12_288 * 2 and got.num_blocks == 7
    with pytest.raises(BadInputError, match=r"vllm==0\.20\.0: .*as full attention with the hybrid KV cache "
                                            r"manager off"):
        configs("0.20.0", [FULL, _SW_V32], PAGE * 10, hybrid=False)
    # 0.21.0 keeps the V size when it unifies: 16,384 + 12,288 a block
    assert configs("0.21.0", [FULL, _SW_V32], (PAGE + 12_288) * 10, hybrid=False).num_blocks == 10
    for hybrid in (None, False):
        with pytest.raises(BadInputError, match=r"vllm==0\.19\.1: .*in pages of 2 x the K head size"):
            configs("0.19.1", [_SW_V32, _SW_V32], PAGE * 10, hybrid=hybrid)
    # chunked local has no V size in any release read
    with pytest.raises(BadInputError, match="keeps no V head size"):
        configs("0.21.0", [FULL, {**chunked(32), "v_head_dim": 32}], PAGE * 10)


def test_from_vllm_reads_enforce_eager_and_the_environment():
    cmd = parse_vllm("VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS=0 FOO=1 vllm serve m --enforce-eager")
    assert cmd.engine_options == {"enforce_eager": True, "estimate_cudagraphs": False}
    assert "enforce_eager" not in cmd.options
    assert any(n.startswith("FOO: an environment variable kvplan does not read") for n in cmd.notes)
    assert parse_vllm("LLM(model='m', enforce_eager=True)").engine_options == {"enforce_eager": True,
                                                                               "usage_context": "llm"}


def test_speed_refuses_an_eager_engine():
    """kvplan's speed factors were fitted on CUDA-graph runs: an eager vLLM is refused, not timed."""
    from kvplan.capacity import make_request, plan
    from kvplan.errors import BadInputError
    from kvplan.loader import load_model
    from kvplan.speed import setup

    pool = plan(make_request(load_model("llama3.1-8b"), "h100", engine=get_engine("vllm==0.21.0", enforce_eager=True)))
    assert pool.stages[0].kv_pool_bytes == 59_838_254_285  # planned: the eager pool itself is exact
    with pytest.raises(BadInputError, match="does not model vllm==0.21.0 with --enforce-eager"):
        setup(pool)


def test_kv_dtypes_the_release_takes_but_kvplan_does_not_plan_are_named(capsys):
    """0.20.0 adds turboquant / per-token-head / nvfp4 KV dtypes (vllm/config/cache.py CacheDType):
    refused as not planned by kvplan, not as absent from the release (0.19.1 keeps its wording)."""
    code, out, err = cli(capsys, "capacity", "llama3.1-8b", "--gpu", "h100", "--engine", "vllm==0.21.0",
                         "--kv-dtype", "nvfp4")
    line = one_line_error(err)
    assert code == 2 and out == ""
    assert "kvplan does not plan vllm==0.21.0 with the KV cache as nvfp4" in line
    assert "the page layouts of turboquant_k8v4" in line and "nvfp4 are not read" in line
    code, out, err = cli(capsys, "capacity", "llama3.1-8b", "--gpu", "h100", "--engine", "vllm==0.19.1",
                         "--kv-dtype", "nvfp4")
    assert code == 2 and "vllm==0.19.1 cannot store the KV cache as nvfp4" in one_line_error(err)


def test_enforce_eager_is_an_option_of_capacity(capsys):
    """`--enforce-eager` plans 0.21.0 as `--from-vllm "... --enforce-eager"` does (456,528 tokens on
    an H100 for Llama-3.1-8B); vLLM's option only."""
    code, out, err = cli(capsys, "capacity", "llama3.1-8b", "--gpu", "h100", "--engine", "vllm==0.21.0",
                         "--enforce-eager", "--json")
    assert code == 0, err
    got = json.loads(out)
    assert (got["num_blocks"], got["kv_cache_tokens"]) == (28_533, 456_528)
    code, out, err = cli(capsys, "capacity", "llama3.1-8b", "--gpu", "h100", "--engine", "sglang", "--enforce-eager")
    assert code == 2 and "--enforce-eager is vLLM's option; --engine sglang does not take it" in one_line_error(err)


def test_the_estimate_asked_for_on_an_older_release_is_refused(capsys):
    """VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS=1 on 0.19.1 (gpu_worker.py lines 397, 446 subtract the
    estimate when it is set) was planned as the default pool (review h27b H1): refused now."""
    code, out, err = cli(capsys, "capacity", "--gpu", "h100", "--engine", "vllm==0.19.1", "--from-vllm",
                         "VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS=1 vllm serve meta-llama/Llama-3.1-8B")
    assert code == 2 and out == ""
    assert "VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS=1: vLLM releases that have the variable" in one_line_error(err)
    code, out, err = cli(capsys, "capacity", "--gpu", "h100", "--engine", "vllm==0.19.1", "--from-vllm",
                         "VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS=1 vllm serve meta-llama/Llama-3.1-8B --enforce-eager",
                         "--json")
    assert code == 0 and json.loads(out)["num_blocks"] == 27_722


@pytest.mark.parametrize("flag, command", [
    # VLLM_USE_V2_MODEL_RUNNER is read (kvplan.vllm_args.VLLM_ENV): tests/test_vllm_0_22.py
    ("--from-vllm", "VLLM_USE_FLASHINFER_SAMPLER=0 vllm serve meta-llama/Llama-3.1-8B"),
    # SGLang 0.5.22 arg_groups/memory_hook.py lines 291-298: 0.830 -> 0.980 with it
    ("--from-sglang", "SGLANG_ENABLE_POST_CAPTURE_KV_SIZING=1 python -m sglang.launch_server "
                      "--model-path meta-llama/Llama-3.1-8B-Instruct"),
])
def test_engine_environment_variables_kvplan_does_not_model_are_refused(capsys, flag, command):
    engine = "sglang==0.5.22" if flag == "--from-sglang" else "vllm==0.19.1"
    code, out, err = cli(capsys, "capacity", "--gpu", "h100", "--engine", engine, flag, command)
    assert code == 2 and out == ""
    assert "an engine environment variable kvplan does not model" in one_line_error(err)


def test_other_environment_variables_are_noted(capsys):
    code, out, err = cli(capsys, "capacity", "--gpu", "h100", "--from-vllm",
                         "CUDA_VISIBLE_DEVICES=0 VLLM_LOGGING_LEVEL=DEBUG vllm serve meta-llama/Llama-3.1-8B")
    assert code == 0
    assert "CUDA_VISIBLE_DEVICES: an environment variable kvplan does not read (ignored)" in err
    assert "VLLM_LOGGING_LEVEL: an environment variable kvplan does not read (ignored)" in err


def test_unquantized_moe_on_hopper_is_planned_on_0_20(capsys):
    """0.20.0 picks unquantized MoE kernels by an oracle (oracle/unquantized.py :66-72, :280-287): on
    capability 9.0 FlashInferExperts (FlashInfer's CUTLASS fused MoE), which keeps only its (T, hidden)
    output in the WorkspaceManager: 8,192 x 2,048 x 2 = 33,554,432 B on the sampler's 2,343,311,360
    (FINDINGS_h29_moe20.md). Pool ceil(85,029,027,840 x 0.92) = 78,226,705,613 - 61,074,731,008 -
    2,376,865,792 - 268,435,456 = 14,506,673,357 -> 9,223 blocks of 1,572,864 B."""
    code, out, err = cli(capsys, "capacity", "qwen3-30b-a3b", "--gpu", "h100", "--engine", "vllm==0.20.0",
                         "--enforce-eager", "--json")
    assert code == 0, err
    assert _figures(json.loads(out)) == (2_376_865_792, 14_506_673_357, 9_223, 147_568, 2_560)


def test_speculative_decoding_is_refused_on_0_20(capsys):
    """0.20.0's v1/spec_decode/eagle.py changed throughout and was not read (rule speculative_read)."""
    code, out, err = cli(capsys, "capacity", "llama3.1-70b", "--gpu", "h100", "-tp", "4", "--engine", "vllm==0.21.0",
                         "--enforce-eager", "--speculative-config",
                         '{"model": "llama3.2-1b", "num_speculative_tokens": 4}')
    assert code == 2 and out == ""
    assert "speculative decoding on vllm==0.21.0: its drafter code" in one_line_error(err)
