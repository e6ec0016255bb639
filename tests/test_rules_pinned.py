"""Decision rules the mutation pass found unpinned (benchmarks/mutation.py, issue 12 item 4).

Each test names the rule and the engine source it was read from; every expected figure is
worked out in the comment beside it from that source, not from kvplan. GPU memory figures
sit exactly on and one MiB under each threshold, so a `<` that became `<=`, or a threshold
that moved, changes the answer.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

from kvplan.engines import get_engine
from kvplan.engines.sglang import _reserved_0_4_9, _reserved_0_5_4, _reserved_0_5_6, default_fraction
from kvplan.gpus import get_gpu

# -- SGLang: mem_fraction_static default ---------------------------------------------------------
# sglang==0.4.9 .. 0.5.2, python/sglang/srt/server_args.py, ServerArgs.__post_init__ (0.4.9: lines
# 294-309): parallel_size = tp * pp; reserved_mem (MiB) =
#   gpu_mem < 20 * 1024 or < 35 * 1024:  (2.8 + parallel_size / 10) * 1024
#   gpu_mem < 90 * 1024:                 (9.5 + parallel_size / 2) * 1024
#   gpu_mem < 100 * 1024 or < 160 * 1024: (12 + parallel_size / 2) * 1024
#   else:                                32 * 1024
# Here tp 2, pp 2 (parallel_size 4), so the tp*pp coefficient shows too.
@pytest.mark.parametrize(("gpu_mib", "reserved_mib"), [
    (35 * 1024 - 1, Fraction(16384, 5)),  # (2.8 + 4/10) * 1024 = 3276.8
    (35 * 1024, 11776),                   # (9.5 + 4/2) * 1024
    (90 * 1024 - 1, 11776),
    (90 * 1024, 14336),                   # (12 + 4/2) * 1024
    (160 * 1024 - 1, 14336),
    (160 * 1024, 32768),                  # 32 * 1024, whatever tp and pp
])
def test_sglang_0_4_9_reserved_memory_tiers(gpu_mib, reserved_mib):
    assert _reserved_0_4_9(gpu_mib, 2, 2) == reserved_mib


@pytest.mark.parametrize(("gpu_mib", "expected"), [
    # round((gpu_mem - reserved_mem) / gpu_mem, 3), tp 1 (parallel_size 1):
    (35839, "0.917"),   # (35839 - 2969.6) / 35839 = 0.91714
    (35840, "0.714"),   # (35840 - 10240) / 35840 = 0.71429
    (92159, "0.889"),   # (92159 - 10240) / 92159 = 0.88889
    (92160, "0.861"),   # (92160 - 12800) / 92160 = 0.86111
    (163839, "0.922"),  # (163839 - 12800) / 163839 = 0.92188
    (163840, "0.8"),    # (163840 - 32768) / 163840 = 0.8
])
def test_sglang_0_4_9_default_fraction_at_each_threshold(gpu_mib, expected):
    assert default_fraction("reserved_0_4_9", gpu_mib, 1, 1) == Fraction(expected)


# sglang==0.5.4, server_args.py, _handle_gpu_memory_settings (lines 668-798): by gpu_mem (MiB)
#   < 20 GiB: chunked_prefill_size 2048, cuda_graph_max_bs 8
#   < 35 GiB: 2048, 16 if tp < 4 else 80       (0.5.6 and 0.5.8: 24 if tp < 4 else 80)
#   < 60 GiB: 4096, 32 if tp < 4 else 160
#   < 90 GiB and < 160 GiB: 8192, 256 if tp < 4 else 512
#   else: 16384, 512
# reserved_mem = 512 + 1.5 * max(chunked_prefill_size, 2048) + 2 * cuda_graph_max_bs + tp * pp / 8 * 1024,
# then max(reserved_mem, 10 * 1024) when gpu_mem > 60 * 1024.
@pytest.mark.parametrize(("gpu_mib", "tp", "reserved_mib"), [
    (20 * 1024 - 1, 1, 3728),   # 512 + 3072 + 2 * 8 + 128
    (20 * 1024, 1, 3744),       # 512 + 3072 + 2 * 16 + 128
    (20 * 1024, 4, 4256),       # 512 + 3072 + 2 * 80 + 512   (tp 4: not < 4)
    (35 * 1024 - 1, 1, 3744),
    (35 * 1024, 1, 6848),       # 512 + 6144 + 2 * 32 + 128
    (35 * 1024, 4, 7488),       # 512 + 6144 + 2 * 160 + 512
    (60 * 1024 - 1, 1, 6848),
    (60 * 1024, 1, 13440),      # 512 + 12288 + 2 * 256 + 128
    (60 * 1024, 4, 14336),      # 512 + 12288 + 2 * 512 + 512
    (160 * 1024 - 1, 1, 13440),
    (160 * 1024, 1, 26240),     # 512 + 24576 + 2 * 512 + 128
    (160 * 1024, 4, 26624),     # 512 + 24576 + 2 * 512 + 512
])
def test_sglang_0_5_4_reserved_memory_tiers(gpu_mib, tp, reserved_mib):
    assert _reserved_0_5_4(gpu_mib, tp, 1) == reserved_mib


@pytest.mark.parametrize(("gpu_mib", "expected"), [
    (20479, "0.818"),   # (20479 - 3728) / 20479 = 0.81796
    (20480, "0.817"),   # (20480 - 3744) / 20480 = 0.81719
    (35839, "0.896"),   # (35839 - 3744) / 35839 = 0.89553
    (35840, "0.809"),   # (35840 - 6848) / 35840 = 0.80893
    (61439, "0.889"),   # (61439 - 6848) / 61439 = 0.88854
    (61440, "0.781"),   # (61440 - 13440) / 61440 = 0.78125
    (163839, "0.918"),  # (163839 - 13440) / 163839 = 0.91797
    (163840, "0.84"),   # (163840 - 26240) / 163840 = 0.83984
])
def test_sglang_0_5_4_default_fraction_at_each_threshold(gpu_mib, expected):
    assert default_fraction("reserved_0_5_4", gpu_mib, 1, 1) == Fraction(expected)


@pytest.mark.parametrize(("gpu_mib", "chunk", "reserved_mib"), [
    (61441, None, 13440),   # default chunk 8192: 13,440 MiB, above the floor
    (61440, 2048, 4224),    # --chunked-prefill-size 2048: 512 + 3072 + 512 + 128; not over 60 GiB: no floor
    (61441, 2048, 10240),   # over 60 GiB: max(4224, 10 * 1024)
    (61441, 16384, 25728),  # 512 + 24576 + 512 + 128
])
def test_sglang_0_5_4_chunked_prefill_size_and_the_ten_gib_floor(gpu_mib, chunk, reserved_mib):
    """server_args.py 0.5.4 _handle_gpu_memory_settings: the user's chunked_prefill_size (the
    tier's default only when unset) enters reserved_mem; `if gpu_mem > 60 * 1024: reserved_mem
    = max(reserved_mem, 10 * 1024)`. At default sizes the floor never binds (the smallest
    reservation above 60 GiB is 13,440 MiB); with a small chunk it does."""
    assert _reserved_0_5_4(gpu_mib, 1, 1, chunk) == reserved_mib


@pytest.mark.parametrize(("release", "chunk", "expected"), [
    # H100 (81,559 MiB), tp 1
    ("0.5.4", None, "0.835"),   # (81559 - 13440) / 81559 = 0.83521
    ("0.5.4", 2048, "0.874"),   # floor: (81559 - 10240) / 81559 = 0.87445
    ("0.5.8", 16384, "0.685"),  # (81559 - 25728) / 81559 = 0.68455
    ("0.4.9", 16384, "0.874"),  # 0.4.9-0.5.2 reserve by GPU tier only: (81559 - 10240) / 81559
])
def test_sglang_default_fraction_follows_the_chunked_prefill_size(release, chunk, expected):
    engine = get_engine(f"sglang=={release}")
    s = engine.settings(get_gpu("h100"), max_num_batched_tokens=chunk)
    assert s.memory_fraction == Fraction(expected)


@pytest.mark.parametrize(("release", "expected"), [
    # RTX 4090, nvidia-smi 24,564 MiB, tp 1 (20-35 GiB tier, chunk 2048):
    ("0.5.4", "0.848"),  # cuda_graph_max_bs 16: (24564 - (512 + 3072 + 32 + 128)) / 24564 = 0.84758
    ("0.5.6", "0.847"),  # cuda_graph_max_bs 24 (0.5.6 server_args.py line 753, 0.5.8 line 921):
    ("0.5.8", "0.847"),  #   (24564 - (512 + 3072 + 48 + 128)) / 24564 = 0.84693
])
def test_sglang_small_gpu_graph_batch_changed_in_0_5_6(release, expected):
    engine = get_engine(f"sglang=={release}")
    assert engine.settings(get_gpu("rtx4090")).memory_fraction == Fraction(expected)


@pytest.mark.parametrize(("release", "gpu", "tp", "expected"), [
    # RTX 4090 at tp 4: cuda_graph_max_bs 80 in every 0.5.x release; reserved 512 + 3072 + 160 + 512 = 4256
    ("0.5.4", "rtx4090", 4, "0.827"), ("0.5.8", "rtx4090", 4, "0.827"),  # (24564 - 4256) / 24564 = 0.82674
    # A100 40GB (40,960 MiB, 35-60 GiB tier): chunk 4096, tp 1: 32 graphs; tp 4: 160
    ("0.5.8", "a100-40gb", 1, "0.833"),  # (40960 - (512 + 6144 + 64 + 128)) / 40960 = 0.83281
    ("0.5.8", "a100-40gb", 4, "0.817"),  # (40960 - (512 + 6144 + 320 + 512)) / 40960 = 0.81719
])
def test_sglang_0_5_x_defaults_by_gpu_and_tp(release, gpu, tp, expected):
    assert get_engine(f"sglang=={release}").settings(get_gpu(gpu), tp=tp).memory_fraction == Fraction(expected)


@pytest.mark.parametrize(("gpu_mib", "tp", "expected"), [
    # sglang==0.4.6 server_args.py __post_init__ (lines 225-238): gpu_mem <= 81920 -> by tp_size
    # >= 16: 0.79, >= 8: 0.81, >= 4: 0.85, >= 2: 0.87, else 0.88; above: (gpu_mem - 13 * 1024) / gpu_mem
    (81920, 1, Fraction("0.88")), (81920, 2, Fraction("0.87")), (81920, 3, Fraction("0.87")),
    (81920, 4, Fraction("0.85")), (81920, 7, Fraction("0.85")), (81920, 8, Fraction("0.81")),
    (81920, 15, Fraction("0.81")), (81920, 16, Fraction("0.79")),
    (81921, 1, Fraction(81921 - 13312, 81921)), (81921, 16, Fraction(81921 - 13312, 81921)),
])
def test_sglang_0_4_6_tp_table(gpu_mib, tp, expected):
    assert default_fraction("tp_table", gpu_mib, tp, 1) == expected


# -- kvplan check: the comparisons behind each requirement (kvplan/plan.py check_deployment) ------
PLAN = """
deployments:
  - name: chat
    model: llama3.1-8b
    gpu: h100
    max_model_len: 8k
    requires:
      min_concurrency: [{{ctx: 2k, requests: 10}}, {{ctx: 8k, requests: 50}}]
      min_kv_tokens: {tokens}
      min_headroom: {headroom}
"""


def _check(tmp_path, tokens="400k", headroom="1GiB"):
    from kvplan.plan import check_plan, load_plan

    path = tmp_path / "plan.yaml"
    path.write_text(PLAN.format(tokens=tokens, headroom=headroom))
    (dep,) = check_plan(load_plan(str(path))).deployments
    return dep.capacity, {r.requirement: r for r in dep.results}


def test_headroom_is_left_after_the_largest_load(tmp_path):
    """min_headroom: bytes of the pool's usable blocks left after the largest min_concurrency
    load (schema: RequirementsSchema.min_headroom). 10 x 2k = 10 x 128 blocks = 1,280; 50 x 8k
    = 50 x 512 = 25,600 blocks: the larger, listed last, sets the headroom (blocks of 16 tokens
    x 32 layers x 65,536 B = 2,097,152 B for Llama-3.1-8B in bf16). The pool's 27,722 blocks
    less the null block leave 27,721 usable: (27,721 - 25,600) x 2,097,152 B."""
    cap, by = _check(tmp_path)
    assert cap.block_unit_bytes == 2_097_152 and cap.num_blocks == 27_722
    assert by["min_headroom"].measured == 2_121 * 2_097_152 == 4_448_059_392
    assert "less the load (25,600 blocks) leave 2,121 x 2,097,152 B = 4,448,059,392 B" in by["min_headroom"].message


def test_requirements_pass_when_met_exactly(tmp_path):
    """A requirement met exactly passes (`>=`), one more fails: min_kv_tokens and min_headroom."""
    cap, by = _check(tmp_path)
    tokens, headroom = by["min_kv_tokens"].measured, by["min_headroom"].measured
    assert tokens == cap.kv_cache_tokens
    _, exact = _check(tmp_path, tokens=str(tokens), headroom=str(headroom))
    assert exact["min_kv_tokens"].passed and exact["min_headroom"].passed
    _, over = _check(tmp_path, tokens=str(tokens + 1), headroom=str(headroom + 1))
    assert not over["min_kv_tokens"].passed and not over["min_headroom"].passed


def test_one_replica_is_not_called_replicas(tmp_path):
    """Messages name the replica count only when dp > 1 (dp 2: test_check.py)."""
    _, by = _check(tmp_path)
    assert by["min_kv_tokens"].message == "KV cache holds {:,} tokens; required 409,600".format(
        by["min_kv_tokens"].measured)
    assert "replica" not in by["min_concurrency@8192"].message


@pytest.mark.parametrize(("gpu_mib", "tp", "reserved_mib", "expected"), [
    # sglang==0.5.6 / 0.5.8 server_args.py _handle_gpu_memory_settings (0.5.8 lines 904-1028): as 0.5.4,
    # but cuda_graph_max_bs 24 if tp < 4 on 20-35 GiB GPUs (0.5.8 line 921)
    (20 * 1024 - 1, 1, 3728, "0.818"),  # < 20 GiB: 512 + 3072 + 2 * 8 + 128; unchanged
    (20 * 1024, 1, 3760, "0.816"),      # 512 + 3072 + 2 * 24 + 128; (20480 - 3760) / 20480 = 0.81641
    (35 * 1024 - 1, 2, 3888, "0.892"),  # 512 + 3072 + 2 * 24 + 256; (35839 - 3888) / 35839 = 0.89151
    (35 * 1024 - 1, 4, 4256, "0.881"),  # tp 4: 80 graphs; (35839 - 4256) / 35839 = 0.88125
    (35 * 1024, 1, 6848, "0.809"),      # 35-60 GiB tier unchanged
])
def test_sglang_0_5_6_reserved_memory(gpu_mib, tp, reserved_mib, expected):
    assert _reserved_0_5_6(gpu_mib, tp, 1) == reserved_mib
    assert default_fraction("reserved_0_5_6", gpu_mib, tp, 1) == Fraction(expected)


# -- vLLM: non-torch memory by release (kvplan/engines/vllm_rules.py, rule non_torch_bytes) ------
@pytest.mark.parametrize(("release", "tp", "pp", "expected"), [
    # 0.8.0-0.10.2 (v0.10.1.1 A100 startup logs, tests/fixtures/calibration A062-A066): ~0 GiB beyond the
    # activation peak on one GPU and with pipeline stages only; 0.12 GiB at tp 2. From 0.9.1 the memory in
    # use before loading is not counted (non_torch_counts_startup_memory), so these are the whole figure.
    ("0.10.2", 1, 1, 0), ("0.10.2", 1, 2, 0), ("0.9.1", 1, 2, 0),
    ("0.10.2", 2, 1, int(Fraction("0.12") * 2**30)),
    # 0.11.0+: one GPU 0.25 GiB, pp only 0.07 GiB (v0.19.0 H100 logs)
    ("0.19.0", 1, 1, int(Fraction("0.25") * 2**30)), ("0.19.0", 1, 2, int(Fraction("0.07") * 2**30)),
])
def test_vllm_non_torch_bytes_by_release(release, tp, pp, expected):
    assert get_engine(f"vllm=={release}").non_torch_bytes(get_gpu("h100"), tp, pp) == expected


# -- vLLM 0.17+: the Triton top-k/top-p buffer has min(next_pow2(S), num_SMs) rows, the SM (CU) count being
#    the GPU catalog's compute_units (torch's multi_processor_count; sources in kvplan/data/gpus.yaml)
SMS = {"h20": 78, "h100-pcie": 114, "h100-sxm": 132, "h200": 132, "gh200-96gb": 132, "b200": 148,
       "a100-40gb": 108, "a100-40gb-pcie": 108, "a100-80gb": 108, "a100-80gb-pcie": 108, "a10g": 80, "a10": 72,
       "l4": 58, "l40": 142, "l40s": 142, "t4": 40, "v100-16gb": 80, "v100-32gb": 80, "rtx3090": 82, "rtx4090": 128,
       "rtx5090": 170, "rtx6000-ada": 142, "rtx-pro-6000-server": 188, "mi250x": 110, "mi300x": 304,
       "mi325x": 304, "mi355x": 256}
#: No count found (or not a CUDA/ROCm device): refused, never another GPU's count.
NO_SMS = ("h800", "h100-nvl", "h200-nvl", "gh200-144gb", "b300", "gb200", "gb300",
          "rtx-pro-6000-workstation", "gaudi3", "tpu-v5e", "tpu-v6e")


def test_every_catalog_gpu_has_its_sm_count_or_none():
    from kvplan.gpus import list_gpus

    assert {g.name: g.compute_units for g in list_gpus()} == {**SMS, **dict.fromkeys(NO_SMS)}


@pytest.mark.parametrize("gpu", NO_SMS[:8])
def test_vllm_triton_sampler_refuses_a_gpu_without_its_sm_count(gpu, capsys):
    from helpers import cli, one_line_error

    code, out, err = cli(capsys, "capacity", "llama3.1-8b", "--gpu", gpu, "--engine", "vllm==0.19.1")
    assert code == 2 and out == ""
    assert f"kvplan has no SM count for {gpu} (" in one_line_error(err)


def test_vllm_sort_sampler_needs_no_sm_count():
    """0.11.1-0.16.0 sort the logits (rule sampler_top_k_top_p "sort"): the H800 plans."""
    from kvplan.loader import load_model

    g = get_gpu("h800")
    engine = get_engine("vllm==0.16.0")
    s = engine.settings(g, max_num_batched_tokens=8192, max_num_seqs=1024)
    assert engine.sampler_bytes(load_model("llama3.1-8b"), g, s) == 1024 * 128256 * (2 + 4 + 32) + (49 << 20) + 8192 * 4096 * 2


@pytest.mark.parametrize("gpu", sorted(SMS))
def test_vllm_triton_sampler_buffer_rows_are_the_gpus_sms(gpu):
    """vllm/v1/sample/ops/topk_topp_triton.py (_TRITON_BUFFER_CACHE): one [rows, vocab] fp32
    buffer, rows = min(next_pow2(S), num_SMs). Llama-3.1-8B (vocab 128,256, hidden 4,096,
    bf16), S = 1024 rows, T = 8192: sampler peak = S x vocab x (2 + 4 + 8) + 49 MiB +
    SMs x vocab x 4 + T x hidden x 2 (the [T, hidden] output, alive from 0.9.2)."""
    from kvplan.loader import load_model

    spec, g = load_model("llama3.1-8b"), get_gpu(gpu)
    engine = get_engine("vllm==0.17.0")
    s = engine.settings(g, max_num_batched_tokens=8192, max_num_seqs=1024)
    expected = 1024 * 128256 * 14 + (49 << 20) + SMS[gpu] * 128256 * 4 + 8192 * 4096 * 2
    assert engine.sampler_bytes(spec, g, s) == expected


@pytest.mark.parametrize(("release", "gpu", "memory", "expected"), [
    # vllm/engine/arg_utils.py (_set_default_args / get_batch_defaults): device_memory >= 70 * GiB_bytes
    # (and, from 0.9.0, "a100" not in the device name) -> serve defaults 8192 tokens / 1024 seqs, else 2048 / 256
    ("0.19.0", "h100", 70 << 30, (8192, 1024)),
    ("0.19.0", "h100", (70 << 30) - 1, (2048, 256)),
    ("0.8.5", "h100", 70 << 30, (8192, 1024)),
    ("0.8.5", "h100", (70 << 30) - 1, (2048, 256)),
])
def test_vllm_large_gpu_is_at_least_70_gib(release, gpu, memory, expected):
    g = get_gpu(gpu).with_memory(memory)
    s = get_engine(f"vllm=={release}").settings(g)
    assert (s.max_num_batched_tokens, s.max_num_seqs) == expected
    assert (s.tp, s.pp) == (1, 1)  # settings() without parallelism: one GPU


@pytest.mark.parametrize(("rows", "expected_own", "buffer_rows"), [
    # vllm 0.17.0-0.19.1, vllm/v1/sample/ops/topk_topp_sampler.py apply_top_k_top_p (0.17.0 line 251):
    #   if HAS_TRITON and logits.shape[0] >= 8: apply_top_k_top_p_triton, else apply_top_k_top_p_pytorch
    # (the torch sort: 44 bytes a logit for 2-127 rows, 32 for one; no Triton buffer).
    (1, 32, 0), (7, 44, 0),
    (8, 8, 8),     # Triton: probs + noise 8 B a logit; buffer min(next_pow2(8), 132) = 8 rows
    (9, 8, 16),    # next_pow2(9) = 16 rows
])
def test_vllm_triton_sampler_needs_8_rows(rows, expected_own, buffer_rows):
    """Llama-3.1-8B (vocab 128,256, hidden 4,096, bf16) on an H100, T = 8192: sampler peak =
    S x vocab x (2 + 4 + own) + rows x vocab x 4 + T x hidden x 2 + 49 MiB."""
    from kvplan.loader import load_model

    spec, g = load_model("llama3.1-8b"), get_gpu("h100")
    engine = get_engine("vllm==0.17.0")
    s = engine.settings(g, max_num_batched_tokens=8192, max_num_seqs=rows)
    expected = rows * 128256 * (6 + expected_own) + buffer_rows * 128256 * 4 + 8192 * 4096 * 2 + (49 << 20)
    assert engine.sampler_bytes(spec, g, s) == expected


# -- kvplan.capacity.Pool -------------------------------------------------------------------------
def test_estimated_max_model_len_searches_up_to_the_models_limit():
    """Pool.estimated_max_model_len: the longest max_model_len whose one request passes the
    start-up check, searched up to the model's own limit (max_position_embeddings 131,072 for
    Llama-3.1-8B), not only up to the configured 8,192: an H100's pool holds 443,552 tokens."""
    from kvplan.capacity import make_request, plan
    from kvplan.loader import load_model

    pool = plan(make_request(load_model("llama3.1-8b"), "h100", max_model_len=8192))
    assert pool.max_model_len == 8192 and pool.kv_cache_tokens > 131072
    assert pool.estimated_max_model_len() == 131072


def test_reserved_bytes_default_to_one_request():
    """Pool.reserved_bytes(n): one request unless a batch is given. Llama-3.1-8B bf16, 8,192
    tokens = 512 blocks of 16 x 32 layers x 65,536 B (16 tokens x 8 KV heads x 128 x 2 x 2 B)."""
    from kvplan.capacity import make_request, plan
    from kvplan.loader import load_model

    pool = plan(make_request(load_model("llama3.1-8b"), "h100", max_model_len=8192))
    assert pool.reserved_bytes(8192) == 512 * 32 * 65536
    assert pool.reserved_bytes(8192, 3) == 3 * 512 * 32 * 65536


@pytest.mark.parametrize(("spare", "bound"), [(0, "weights"), (1, "memory")])
def test_no_pool_means_zero_bytes_or_less(spare, bound):
    """Pool.limits: "no pool" is kv_pool_bytes <= 0. Raw engine (pool = memory - weights),
    Llama-3.1-8B bf16 weights 16,060,522,496 B: a GPU of exactly that memory has no pool (the
    weights bind); one byte more is a pool of 0 blocks (memory binds)."""
    from kvplan.capacity import make_request, plan
    from kvplan.loader import load_model

    spec = load_model("llama3.1-8b")
    weights = plan(make_request(spec, "h100", engine="raw")).weights_bytes
    assert weights == 16_060_522_496
    pool = plan(make_request(spec, "h100", engine="raw", gpu_mem_bytes=weights + spare, max_model_len=4096))
    assert pool.kv_pool_bytes == spare and pool.num_blocks == 0
    assert pool.serves(16, 1).bound == bound


def test_a_model_without_cache_layers_has_no_pages_and_is_never_memory_bound():
    """A model whose every layer keeps nothing per sequence (Nemotron-NAS no_op layers): no
    paged layers, so no request is held back by memory; memory_requests counts blocks: 0."""
    from kvplan.capacity import make_request, plan
    from vllm_port import model

    pool = plan(make_request(model([{"kind": "no_cache"}] * 4, max_len=4096), "h100", engine="raw",
                             max_model_len=4096))
    assert not pool.paged
    assert pool.limits(4096, 4) == (False, False, False, False) and pool.serves(4096, 4).ok
    assert pool.memory_requests(4096) == 0 and pool.num_blocks == 0


def test_limits_and_serves_default_to_one_request():
    """Pool.limits(n), serves(n), runs(n) and longest_context() ask about one request: with max_num_seqs 1, one
    fits and two do not."""
    from kvplan.capacity import make_request, plan
    from kvplan.loader import load_model

    pool = plan(make_request(load_model("llama3.1-8b"), "h100", max_model_len=8192, max_num_seqs=1))
    assert pool.limits(8192) == (False, False, False, False) and pool.serves(8192).ok
    assert pool.limits(8192, 2)[2] is True and pool.serves(8192, 2).bound == "max_num_seqs"
    assert pool.longest_context() == pool.longest_context(1) == 8192 and pool.longest_context(2) == 0
    assert pool.runs(8192).ok and pool.runs(8192, 2).bound == "max_num_seqs"


# -- engine start-up constants: memory in use before loading (CUDA context, NCCL) -----------------
# vllm_rules / sglang RULES startup_in_use_bytes: total - free at startup in the v0.19.0 H100 logs,
# 79.19 - 78.68 = 0.51 GiB on one GPU, 79.19 - 77.66 = 1.53 GiB at tp 2 (tests/fixtures/calibration).
IN_USE_ONE, IN_USE_PARALLEL = int(Fraction("0.51") * 2**30), int(Fraction("1.53") * 2**30)


@pytest.mark.parametrize(("release", "tp", "pp", "expected"), [
    # 0.8.0-0.9.0.1 count it as non-torch memory (non_torch_counts_startup_memory), on top of the
    # 0.10.1.1 A100 non-torch figures (0 on one GPU and pp only, 0.12 GiB at tp > 1)
    ("0.9.0.1", 1, 1, IN_USE_ONE), ("0.9.0.1", 1, 2, IN_USE_PARALLEL),
    ("0.9.0.1", 2, 1, int(Fraction("0.12") * 2**30) + IN_USE_PARALLEL),
    ("0.9.1", 1, 1, 0),  # from 0.9.1 the worker measures from its init snapshot: not counted
])
def test_vllm_startup_memory_counted_up_to_0_9_0_1(release, tp, pp, expected):
    assert get_engine(f"vllm=={release}").non_torch_bytes(get_gpu("h100"), tp, pp) == expected


@pytest.mark.parametrize(("tp", "in_use"), [(1, IN_USE_ONE), (2, IN_USE_PARALLEL)])
def test_sglang_pool_leaves_the_fraction_of_startup_memory(tp, in_use):
    """SGLang: pool = mem_fraction_static x (total - in use before loading) - weights; kvplan
    carves other = int(in use x fraction)."""
    from kvplan.loader import load_model
    from kvplan.weights import weights_footprint

    engine, gpu = get_engine("sglang==0.5.8"), get_gpu("h100")
    s = engine.settings(gpu, tp=tp, memory_fraction="0.8")
    spec = load_model("llama3.1-8b")
    (b, *_) = engine.carve(spec, gpu, weights_footprint(spec, None, tp, 1), s)
    assert b.other_bytes == int(in_use * Fraction("0.8"))


def _raw_pool(spare_bytes: int, block_size: int = 16, max_model_len: int = 4096, **options):
    """Llama-3.1-8B under the raw engine on a GPU of its bf16 weights (16,060,522,496 B) plus
    ``spare_bytes``: the pool is exactly the spare bytes (one token = 32 layers x 2 x 8 heads x
    128 x 2 B = 131,072 B; a block of 16 = 2,097,152 B). No null block under raw."""
    from kvplan.capacity import make_request, plan
    from kvplan.loader import load_model

    return plan(make_request(load_model("llama3.1-8b"), "h100", engine="raw",
                             gpu_mem_bytes=16_060_522_496 + spare_bytes, max_model_len=max_model_len,
                             block_size=block_size, **options))


def test_startup_with_no_kv_memory_blames_the_weights():
    """Pool.startup: KV memory <= 0 -> the weights leave nothing (bound "weights"); 1 B -> the
    start-up check fails on max_model_len, with no estimated length (0 tokens fit: no hint)."""
    assert _raw_pool(0).startup().bound == "weights"
    one = _raw_pool(1).startup()
    assert one.bound == "max_model_len" and "more than the 1 B available" in one.reason
    assert one.reason.startswith("raw refuses to start: one request")  # one stage: no "on pipeline stage"
    assert "estimated" not in one.reason


def test_startup_hint_names_any_positive_estimate():
    """One token of KV memory with pages of one token: the estimate is 1 and is named."""
    pool = _raw_pool(131_072, block_size=1)
    assert pool.estimated_max_model_len() == 1
    assert pool.startup().reason.endswith("; the estimated maximum model length is 1")


def test_one_block_holds_one_block_of_context():
    """Pool.memory_longest_context: a pool of exactly one block (no null block under raw) holds 16
    tokens. At max_model_len 4,096 the engine does not start (one request of it needs 256
    blocks), so no request runs: longest_context 0 and max_requests 0 (Pool.start_bound); at
    max_model_len 16 it starts and runs one request of 16."""
    pool = _raw_pool(2_097_152)
    assert (pool.num_blocks, pool.usable_blocks) == (1, 1)
    assert pool.memory_longest_context(1) == 16 and pool.memory_longest_context() == 16
    assert pool.start_bound() == "max_model_len" and pool.longest_context(1) == 0
    assert pool.memory_requests(16) == 1 and pool.max_requests(16) == 0
    assert pool.concurrency_bound(16) == "max_model_len"
    short = _raw_pool(2_097_152, max_model_len=16)
    assert short.start_bound() == "" and short.longest_context(1) == 16 and short.max_requests(16) == 1
    assert short.concurrency_bound(16) == "memory"
    assert _raw_pool(0).start_bound() == "weights" and _raw_pool(0).concurrency_bound(16) == "weights"


def test_concurrency_bound_is_memory_when_memory_and_max_num_seqs_tie():
    """Pool.concurrency_bound: max_num_seqs binds only when memory holds more requests than it."""
    pool = _raw_pool(2_097_152 * 5, max_model_len=16)  # 5 blocks: 5 requests of 16 tokens (the engine starts)
    assert pool.memory_requests(16) == 5
    assert _raw_pool(2_097_152 * 5, max_model_len=16, max_num_seqs=5).concurrency_bound(16) == "memory"
    assert _raw_pool(2_097_152 * 5, max_model_len=16, max_num_seqs=4).concurrency_bound(16) == "max_num_seqs"


def test_startup_names_the_pipeline_stage_from_pp_2():
    """With pp 2 the refusal names the stage: 16 layers a stage x 131,072 tokens x 4,096 B
    (K + V: 2 x 8 heads x 128 x 2 B) = 8,589,934,592 B for one request of max_model_len."""
    from kvplan.capacity import make_request, plan
    from kvplan.loader import load_model

    pool = plan(make_request(load_model("llama3.1-8b"), "h100", engine="raw", pp=2, gpu_mem_bytes=10 << 30,
                             max_model_len=131072))
    assert pool.startup().reason.startswith("raw refuses to start on pipeline stage 0: one request of "
                                            "max_model_len 131,072 needs 8,589,934,592 B")


def test_verdict_joins_the_request_and_the_refusal_unless_the_weights_leave_nothing():
    """Pool.verdict when one request of max_model_len neither fits nor lets the engine start:
    the request's reason, then the refusal; when the weights leave no memory both say so, and
    the verdict gives it once."""
    nothing = _raw_pool(0)
    assert nothing.startup().bound == nothing.serves(4096).bound == "weights"
    assert nothing.verdict().reason == nothing.serves(4096).reason and ";" not in nothing.verdict().reason
    one_byte = _raw_pool(1)
    serve, start = one_byte.serves(4096), one_byte.startup()
    assert (serve.bound, start.bound) == ("memory", "max_model_len")
    assert one_byte.verdict() == type(serve)(False, f"{serve.reason}; {start.reason}", "memory")


# -- kvplan.capacity.plan: which memory each stage gets and which stage binds ----------------------
GIB = 1 << 30


def test_kv_cache_memory_bytes_per_rank_gives_each_stage_its_smallest_rank():
    """--kv-cache-memory-bytes per rank (vLLM's order, rank = stage x tp + tp rank): a stage
    has its smallest rank's memory (vLLM takes the minimum over workers); the stage with the
    fewest blocks binds. Llama-3.1-8B bf16: 16 layers a stage x 65,536 B = 1 MiB a block."""
    from kvplan.capacity import make_request, plan
    from kvplan.loader import load_model

    spec = load_model("llama3.1-8b")
    tp2 = plan(make_request(spec, "h100", tp=2, kv_cache_memory_bytes=[2 * GIB, GIB], max_model_len=4096))
    assert tp2.kv_pool_bytes == GIB
    pp2 = plan(make_request(spec, "h100", pp=2, kv_cache_memory_bytes=[2 * GIB, GIB], max_model_len=4096))
    assert [b.kv_pool_bytes for b in pp2.stages] == [2 * GIB, GIB]
    assert pp2.stage_blocks == (2048, 1024) and pp2.binding_stage == 1


@pytest.mark.parametrize(("extra", "over"), [(0, None), (1, 0)])
def test_kv_cache_memory_bytes_may_fill_the_gpu_exactly(extra, over):
    """Pool.overcommitted_stage: weights + activations + other + given KV memory above the
    GPU's memory overflows it; equal to it does not. Raw engine, H100 85,029,027,840 B,
    Llama-3.1-8B weights 16,060,522,496 B."""
    from kvplan.capacity import make_request, plan
    from kvplan.loader import load_model

    kv = 85_029_027_840 - 16_060_522_496 + extra
    pool = plan(make_request(load_model("llama3.1-8b"), "h100", engine="raw", kv_cache_memory_bytes=kv,
                             max_model_len=4096))
    assert pool.overcommitted_stage() == over


def test_no_pool_reason_names_the_stage_short_by_the_most():
    """Both pipeline stages of Llama-3.1-8B on a 1 GiB GPU have no pool; stage 1 (the LM head
    and the final norm: 8,192 B more weights) is short by the most and is named."""
    from kvplan.capacity import make_request, plan
    from kvplan.loader import load_model

    pool = plan(make_request(load_model("llama3.1-8b"), "h100", engine="raw", pp=2, gpu_mem_bytes=GIB,
                             max_model_len=4096))
    a, b = pool.stages
    assert b.kv_pool_bytes == a.kv_pool_bytes - 8192 < 0
    assert pool.serves(16).reason.startswith("no memory left for the KV cache on stage 1:")


def test_a_cacheless_model_binds_on_its_smallest_pool():
    """No paged layers: the binding stage is the one whose pool is smallest (stage 1: the
    final norm's weights)."""
    from kvplan.capacity import make_request, plan
    from vllm_port import model

    pool = plan(make_request(model([{"kind": "no_cache"}] * 4, max_len=4096), "h100", engine="raw", pp=2,
                             max_model_len=4096))
    a, b = pool.stages
    assert b.kv_pool_bytes < a.kv_pool_bytes and pool.binding_stage == 1


@pytest.mark.parametrize(("ctx", "fits"), [(8192, True), (8193, False)])
def test_capacity_ctx_up_to_max_model_len(ctx, fits):
    """kvplan capacity --ctx without --batch: a context of max_model_len is served; one token
    more is longer than max_model_len (the request's reason)."""
    from kvplan.capacity import plan_capacity
    from kvplan.loader import load_model

    cap = plan_capacity(load_model("llama3.1-8b"), "h100", ctx=ctx, max_model_len=8192, suggest=False)
    assert cap.reasons == (() if fits else ("a request of 8,193 tokens is longer than max_model_len 8,192",))


# -- kvplan.capacity._suggest: what would fit instead ---------------------------------------------
def test_suggestions_name_any_positive_length_that_fits():
    """Pages of one token, memory for two tokens: max_model_len 2 is suggested; memory for one token:
    no max_model_len, since at max_model_len 1 a one-token prompt leaves no room for the output token
    (Pool.aborts_every_prompt). Memory for four tokens and max_model_len 2: two requests of 3 tokens
    do not fit, two of 2 tokens do."""
    from kvplan.capacity import summarize

    assert "max_model_len 2 (--max-model-len 2)" in summarize(_raw_pool(2 * 131_072, block_size=1)).suggestions
    assert not any(s.startswith("max_model_len") for s in summarize(_raw_pool(131_072, block_size=1)).suggestions)
    load = summarize(_raw_pool(4 * 131_072, block_size=1, max_model_len=2), ctx=3, batch=2)
    assert load.suggestions[0] == "a context of 2 tokens for 2 requests (--ctx 2)"


def test_suggestions_never_offer_a_context_of_zero():
    """Two requests with max_num_seqs 1 fit at no context: no "a context of" suggestion."""
    from kvplan.capacity import plan_capacity
    from kvplan.loader import load_model

    cap = plan_capacity(load_model("llama3.1-8b"), "h100", ctx=1024, batch=2, max_num_seqs=1, max_model_len=8192)
    assert cap.reasons and not any(s.startswith("a context of") for s in cap.suggestions)


def test_suggested_max_model_len_may_equal_the_context():
    """--ctx 16,384 over max_model_len 8,192: re-planned with max_model_len = ctx, which serves
    it (ctx <= max_model_len), so it is suggested."""
    from kvplan.capacity import plan_capacity
    from kvplan.loader import load_model

    cap = plan_capacity(load_model("llama3.1-8b"), "h100", ctx=16384, max_model_len=8192)
    assert cap.suggestions == ("max_model_len 16,384 (--max-model-len 16384)",)


def test_suggestions_for_one_request_and_for_a_two_byte_cache():
    """Llama-3.1-8B on an L4 holds 35,360 tokens of bf16 KV at most for one request; at
    max_model_len 65,536 an fp8 cache (1 byte a value, from 2) is among the fixes. One
    request of 16,384 tokens over max_model_len 8,192: "1 request", singular."""
    from kvplan.capacity import plan_capacity
    from kvplan.loader import load_model

    spec = load_model("llama3.1-8b")
    assert "fp8 KV cache (--kv-dtype fp8)" in plan_capacity(spec, "l4", max_model_len=65536).suggestions
    one = plan_capacity(spec, "h100", ctx=16384, batch=1, max_model_len=8192)
    assert one.suggestions == ("a context of 8,192 tokens for 1 request (--ctx 8192)",)


@pytest.mark.parametrize(("model", "gpu", "tp", "suggested"), [
    ("llama3.1-70b", "l40s", 1, 4),      # bf16 weights 141 GB: 2 x 48 GB too few
    ("llama3.1-70b", "l4", 1, 8),
    ("llama3.1-405b", "h100", 1, 16),    # 810 GB of weights over 80 GB GPUs
    ("llama3.1-405b", "l4", 4, 64),      # 16 x tp 4: 64 GPUs, the most suggested (128 heads)
])
def test_more_gpus_suggests_the_fewest_that_fit(model, gpu, tp, suggested):
    """_suggest tries tp x 2, 4, 8, 16 (up to 64, dividing the heads) and names the first
    that fits; each suggestion is the smallest such tp a direct plan accepts."""
    from kvplan.capacity import plan_capacity
    from kvplan.loader import load_model

    spec = load_model(model)
    cap = plan_capacity(spec, gpu, tp=tp, max_model_len=8192)
    assert cap.suggestions[-1] == f"{suggested} GPUs (--tp {suggested})"
    assert not plan_capacity(spec, gpu, tp=suggested, max_model_len=8192, suggest=False).reasons
    assert plan_capacity(spec, gpu, tp=suggested // 2, max_model_len=8192, suggest=False).reasons


def test_memory_reason_counts_requests_in_words():
    """Pool.serves: "1 request of ..." for one, "2 requests of ..." for more (a 1-byte pool
    holds 0 blocks; 4,096 tokens are 256 blocks of 16)."""
    pool = _raw_pool(1)
    assert pool.serves(4096).reason.startswith("1 request of 4,096 tokens need 256 blocks but the pool holds 0")
    assert pool.serves(4096, 2).reason.startswith("2 requests of 4,096 tokens need 512 blocks")


# -- kvplan/engines/vllm.py helpers -----------------------------------------------------------------
@pytest.mark.parametrize(("model", "expected"), [
    ("llama3.1-8b", 131072 * 128 * 2),  # rotary cos/sin cache: max_position x rotary_dim x 2 B = 32 MiB
    ("gpt2", 0), ("opt-13b", 0),         # learned positions: no rotary cache
])
def test_rope_cache_bytes(model, expected):
    from kvplan.engines.vllm import rope_cache_bytes
    from kvplan.loader import load_model

    assert rope_cache_bytes(load_model(model)) == expected


def test_mlp_width_is_the_widest_layer_of_the_stage():
    """DeepSeek-V2-Lite (tests/fixtures/hf_configs): layer 0 is dense (intermediate_size
    10,944), layers 1-26 MoE (6 routed + 2 shared experts of 1,408 = 11,264 a token). The
    forward's MLP activations follow the widest layer of the stage, split over tp."""
    from kvplan.engines.vllm import mlp_width
    from kvplan.loader import load_model

    spec = load_model("tests/fixtures/hf_configs/deepseek-v2-lite.json")
    assert mlp_width(spec, 1, range(27)) == 11264
    assert mlp_width(spec, 1, range(1)) == 10944
    assert mlp_width(spec, 2, range(27)) == 5632
    assert mlp_width(spec, 1, range(0)) == 0


@pytest.mark.parametrize(("n", "expected"), [(1, 1), (2, 2), (3, 4), (8, 8), (9, 16), (132, 256)])
def test_next_power_of_2(n, expected):
    """vllm.utils next_power_of_2 (the Triton buffer's row count before the SM cap)."""
    from kvplan.engines.vllm import next_power_of_2

    assert next_power_of_2(n) == expected


def test_a_later_pipeline_stage_holds_the_received_hidden_states_and_residual():
    """vLLM's pipeline stages after the first receive IntermediateTensors {hidden_states,
    residual}, each [T, hidden] in the model dtype: a middle stage's peak is its forward plus
    2 x T x hidden x 2 B (Llama-3.1-8B, T = 8192: 134,217,728 B); the first stage has none."""
    from kvplan.loader import load_model

    spec, gpu = load_model("llama3.1-8b"), get_gpu("h100")
    engine = get_engine("vllm==0.19.0")
    s = engine.settings(gpu, pp=3, max_num_batched_tokens=8192)
    layers = range(11, 22)
    forward = engine.forward_bytes(spec, s, layers)
    assert engine.activation_bytes(spec, gpu, s, 1, layers) == forward + 2 * 8192 * 4096 * 2
    assert engine.activation_bytes(spec, gpu, s, 0, layers) == forward


def test_kv_cache_memory_bytes_per_rank_with_tp_and_pp():
    """tp 2 x pp 2, --kv-cache-memory-bytes per rank [4, 3, 2, 1] GiB (rank = stage x tp + tp
    rank): stage 0 has min(4, 3) = 3 GiB, stage 1 min(2, 1) = 1 GiB (kvplan.paging.page_replica)."""
    from kvplan.capacity import make_request, plan
    from kvplan.loader import load_model

    pool = plan(make_request(load_model("llama3.1-8b"), "h100", tp=2, pp=2,
                             kv_cache_memory_bytes=[4 * GIB, 3 * GIB, 2 * GIB, GIB], max_model_len=4096))
    assert [b.kv_pool_bytes for b in pool.stages] == [3 * GIB, GIB]
    assert pool.pages.memory_bytes == (3 * GIB, GIB)


def test_auto_fit_refuses_only_when_not_one_token_fits():
    """--max-model-len -1 (vLLM's _auto_fit_max_model_len): no token fits in 1 byte -> refused;
    one token's KV (131,072 B) with pages of one token -> max_model_len 1."""
    from kvplan.errors import BadInputError

    with pytest.raises(BadInputError, match="cannot auto-fit max_model_len: not enough KV memory for a single token"):
        _raw_pool(1, max_model_len=-1)
    assert _raw_pool(131_072, block_size=1, max_model_len=-1).max_model_len == 1


@pytest.mark.parametrize(("window", "expected"), [(2, 3), (1, 2)])
def test_sliding_window_peak_blocks(window, expected):
    """vLLM SlidingWindowSpec.max_memory_usage_bytes (kv_cache_interface.py): cdiv(min(window - 1
    + max_num_batched_tokens, max_model_len), block_size) + 1. Window 2, T = 16, block 16:
    cdiv(17, 16) + 1 = 3; window 1: cdiv(16, 16) + 1 = 2."""
    from kvplan.layers import SlidingWindow

    kind = SlidingWindow(kv_heads=2, head_dim=64, v_head_dim=64, window=window)
    assert kind.engine_blocks_per_request(10_000, 16, 16) == expected


# -- vLLM's start-up check by release (kvplan.paging rules memory_check, memory_check_scope) -----
# vllm/v1/core/kv_cache_utils.py _max_memory_usage_bytes_from_groups: group_size x page x the
# blocks of kv_cache_groups[0] only in 0.14.0-0.18.1 (0.14.0 :1348-1351, 0.18.1 :1359-1362), of
# every group from 0.19.0 (:1362-1365). Gemma-3-27B: 52 sliding (window 1,024) + 10 full layers,
# groups of 10 (7 tables), page 16 x 16 KV heads x 128 x 2 (K, V) x 2 B = 131,072 B, unit 10 x
# 131,072 = 1,310,720 B; layer 0 is sliding, so the first group is a window group. With
# T = 8,192 (serve on an H100) a window layer needs cdiv(min(1,023 + 8,192, 131,072), 16) + 1 =
# 577 blocks; a full layer cdiv(131,072, 16) = 8,192. KV memory pinned at 11,016,823,584 B
# (8,405 blocks): 0.14.0-0.18.1 ask 577 x 1,310,720 = 756,285,440 B and start; 0.19.0 asks
# (6 x 577 + 8,192) x 1,310,720 = 15,275,130,880 B and refuses, estimating the longest L with
# 3,462 + cdiv(L, 16) <= 8,405: 4,943 x 16 = 79,088.
GEMMA3_KV_BYTES = 11_016_823_584


@pytest.mark.parametrize(("release", "needed", "starts", "auto_fit"), [
    ("0.13.0", (52 * 577 + 10 * 8192) * 131_072, False, None),   # per layer; no auto-fit before 0.14.0
    ("0.14.0", 577 * 1_310_720, True, 131_072),
    ("0.18.1", 577 * 1_310_720, True, 131_072),
    ("0.19.0", (6 * 577 + 8192) * 1_310_720, False, 79_088),
])
def test_vllm_start_up_check_first_group_then_every_group(release, needed, starts, auto_fit):
    from kvplan.capacity import make_request, plan
    from kvplan.loader import load_model

    spec = load_model("gemma3-27b")
    pool = plan(make_request(spec, "h100", engine=f"vllm=={release}", kv_cache_memory_bytes=GEMMA3_KV_BYTES))
    assert pool.num_blocks == 8405 and pool.pages.max_model_len == 131_072
    assert pool.pages.needed_bytes(0, 131_072) == needed
    assert bool(pool.startup()) is starts
    if not starts and release == "0.19.0":
        assert pool.estimated_max_model_len() == 79_088
        assert "refuses to start: one request of max_model_len 131,072 needs 15,275,130,880 B" in pool.startup().reason
    if auto_fit is not None:
        fitted = plan(make_request(spec, "h100", engine=f"vllm=={release}", kv_cache_memory_bytes=GEMMA3_KV_BYTES,
                                   max_model_len=-1))
        assert fitted.max_model_len == auto_fit


# vllm/v1/core/kv_cache_utils.py get_kv_cache_configs 0.14.0-0.16.0 (0.14.0 :1513-1524): the global
# groups (every pipeline stage's layers) against min(available_memory); 0.13.0 each worker's own
# layers (:1337-1342); 0.17.0 each worker's projected groups (:1465, :1568-1577; PR #33698, issue
# #32105). Llama-3.1-8B, pp 2 (16 layers a stage), KV memory 12 GiB and 10 GiB a stage (--kv-cache-
# memory-bytes per rank): page 16 x 8 x 128 x 2 x 2 = 65,536 B; one request of 131,072 tokens =
# 8,192 blocks. 0.14.0-0.16.0: 32 x 65,536 x 8,192 = 17,179,869,184 B > 10 GiB = 10,737,418,240:
# refused; estimate: 10,737,418,240 // (32 x 65,536) = 5,120 blocks -> 81,920 tokens. Per stage:
# 16 x 65,536 x 8,192 = 8,589,934,592 B <= 10 GiB: starts.
@pytest.mark.parametrize(("release", "starts", "auto_fit"), [
    ("0.13.0", True, None), ("0.14.0", False, 81_920), ("0.16.0", False, 81_920), ("0.17.0", True, 131_072),
])
def test_vllm_0_14_to_0_16_check_the_whole_model_against_one_worker(release, starts, auto_fit):
    from kvplan.capacity import make_request, plan
    from kvplan.loader import load_model

    spec = load_model("llama3.1-8b")
    kv = [12 * GIB, 10 * GIB]
    pool = plan(make_request(spec, "h100", pp=2, engine=f"vllm=={release}", kv_cache_memory_bytes=kv))
    assert pool.num_blocks == 10 * GIB // (16 * 65_536) == 10_240
    verdict = pool.startup()
    assert bool(verdict) is starts
    if not starts:
        assert pool.pages.needed_bytes(0, 131_072) == 17_179_869_184
        assert pool.estimated_max_model_len() == 81_920
        assert "needs 17,179,869,184 B of KV cache, more than the 10,737,418,240 B" in verdict.reason
        assert "checks the whole model's KV cache" in verdict.reason
    if auto_fit is not None:
        fitted = plan(make_request(spec, "h100", pp=2, engine=f"vllm=={release}", kv_cache_memory_bytes=kv,
                                   max_model_len=-1))
        assert fitted.max_model_len == auto_fit


# -- vLLM rule mamba_ssm_cache_dtype: Nemotron-H's recurrent state -----------------------------------
# vllm/model_executor/models/config.py NemotronHForCausalLMConfig (0.13.0 :493-510, 0.19.1 :483-500):
# mamba_ssm_cache_dtype "auto" -> getattr(hf_config, "mamba_ssm_cache_dtype", "float16"); before
# 0.13.0 no hook: "auto" keeps the state in the model dtype and the config's field is not read.
# Attention pages hold a state (HybridAttentionMambaModelConfig): block = 16 x cdiv(state,
# 16 x attention bytes a token).
# Nemotron-H-56B, tp 4, no mamba_ssm_cache_dtype: state a GPU = ssm 64 heads x 64 x 256 x 2 B
# (fp16 from 0.13.0, bf16 before) = 2,097,152 + conv (16,384 + 2 x 8 x 256) / 4 x 3 x 2 B = 30,720
# -> 2,127,872 B; attention 2 KV heads x 128 x 2 x 2 B = 1,024 B a token -> block 16 x
# cdiv(2,127,872, 16,384) = 2,080 either way (float32, 4,225,024 B, would give 4,128). KV memory
# 43,939,468,155 B; 54 state + 10 attention layers, groups of 10 (7 tables), unit 2,080 x 1,024 x 10
# = 21,299,200 B -> 2,062 blocks, 2,062 // 7 x 2,080 = 611,520 tokens; a request of 8,192: 4 + 6 =
# 10 blocks -> 206.20x.
# Nemotron-3-Nano (config: mamba_ssm_cache_dtype float32), tp 1: conv (4,096 + 2 x 8 x 128) x 3 x 2 =
# 36,864 B + ssm 64 x 64 x 128 x 4 B = 2,097,152 (0.13.0+) or x 2 B = 1,048,576 (0.12.0: not read)
# -> block 16 x cdiv(2,134,016, 16,384) = 2,096, resp. 16 x cdiv(1,085,440, 16,384) = 1,072.
@pytest.mark.parametrize(("model", "tp", "release", "block", "dtype"), [
    ("nemotron-h-56b-base-8k", 4, "0.12.0", 2080, "bf16"),
    ("nemotron-h-56b-base-8k", 4, "0.13.0", 2080, "fp16"),
    ("nemotron-h-56b-base-8k", 4, "0.19.1", 2080, "fp16"),
    ("nemotron-3-nano-30b-a3b", 1, "0.12.0", 1072, "bf16"),
    ("nemotron-3-nano-30b-a3b", 1, "0.13.0", 2096, "fp32"),
])
def test_vllm_nemotron_h_recurrent_state_dtype_by_release(model, tp, release, block, dtype):
    from kvplan.capacity import make_request, plan
    from kvplan.layers import StateSpace
    from kvplan.loader import load_model

    spec = load_model(f"tests/fixtures/hf_configs/{model}.json")
    req = make_request(spec, "h100", tp=tp, engine=f"vllm=={release}", kv_cache_memory_bytes=43_939_468_155,
                       max_model_len=8192)
    assert {k.recurrent_dtype for k in req.spec.layers if isinstance(k, StateSpace)} == {dtype}
    pool = plan(req)
    assert pool.block_size == block
    if model == "nemotron-h-56b-base-8k":
        assert (pool.num_blocks, pool.kv_cache_tokens, pool.memory_concurrency(8192)) == (2062, 611_520, 206.2)


def test_vllm_nemotron_h_state_dtype_note_names_the_rule():
    from kvplan.capacity import make_request
    from kvplan.loader import load_model

    spec = load_model("tests/fixtures/hf_configs/nemotron-h-56b-base-8k.json")
    req = make_request(spec, "h100", tp=4, engine="vllm==0.19.1")
    assert any("the config names no mamba_ssm_cache_dtype, so vllm==0.19.1 keeps it in fp16" in n
               for n in req.engine_notes)
    nano = load_model("tests/fixtures/hf_configs/nemotron-3-nano-30b-a3b.json")
    assert not make_request(nano, "h100", engine="vllm==0.19.1").engine_notes  # float32 named and read


# -- vLLM and state-space models: V0 fallback, prefix caching, speculative decoding, alignment -----
BAMBA = "tests/fixtures/hf_configs/bamba-9b.json"
QWEN3_NEXT = "tests/fixtures/hf_configs/qwen3-next-80b-a3b-instruct.json"


@pytest.mark.parametrize(("model", "release", "v0"), [
    (BAMBA, "0.10.1.1", True), (BAMBA, "0.10.2", False),
    ("tests/fixtures/hf_configs/mamba-2.8b.json", "0.10.0", True),
    ("tests/fixtures/hf_configs/mamba-2.8b.json", "0.10.2", False),
])
def test_vllm_runs_state_space_models_on_v0_before_0_10_2(model, release, v0):
    """vllm/engine/arg_utils.py _is_v1_supported_oracle: 'V1 mamba models are unoptimized':
    has_inner_state and _warn_or_fallback('Mamba') falls back to V0 unless VLLM_USE_V1=1
    (0.9.2-0.10.1.1; 0.10.1.1 :1428-1431); gone in 0.10.2."""
    from kvplan.capacity import make_request
    from kvplan.errors import BadInputError
    from kvplan.loader import load_model

    spec = load_model(model)
    if v0:
        with pytest.raises(BadInputError, match="on its V0 engine by default"):
            make_request(spec, "h100", engine=f"vllm=={release}", max_model_len=2048)
    else:
        make_request(spec, "h100", engine=f"vllm=={release}", max_model_len=2048)


@pytest.mark.parametrize(("release", "outcome"), [("0.11.0", "off"), ("0.11.1", "refused"), ("0.12.0", "refused"),
                                                  ("0.14.1", "refused"), ("0.15.0", "refused"), ("0.19.1", "refused")])
def test_vllm_prefix_caching_on_a_state_space_model(release, outcome):
    """models/config.py MambaModelConfig: 0.10.2-0.11.0 set enable_prefix_caching = False (0.11.0
    :296); from 0.11.1 it stays on for SupportsMambaPrefixCaching models (Bamba) and
    HybridAttentionMambaModelConfig sizes the attention block to a multiple of mamba_chunk_size
    (Bamba-9B at 0.19.1: 768 tokens, not 528; kv_cache_interface.py MambaSpec: cdiv(max_model_len,
    block) pages a state layer), which kvplan does not model: refused. Without the flag (None) or
    with --no-enable-prefix-caching the plan is the default one."""
    from kvplan.capacity import make_request, plan
    from kvplan.errors import BadInputError
    from kvplan.loader import load_model

    spec = load_model(BAMBA)
    base = plan(make_request(spec, "h100", engine=f"vllm=={release}", max_model_len=32768))
    off = plan(make_request(spec, "h100", engine=f"vllm=={release}", max_model_len=32768, enable_prefix_caching=False))
    assert (off.num_blocks, off.block_size) == (base.num_blocks, base.block_size) == (off.num_blocks, 528)
    if outcome == "refused":
        with pytest.raises(BadInputError, match="--enable-prefix-caching with bamba-9b's state-space layers: "
                                                f"vllm=={release} keeps it on"):
            make_request(spec, "h100", engine=f"vllm=={release}", max_model_len=32768, enable_prefix_caching=True)
    else:
        req = make_request(spec, "h100", engine=f"vllm=={release}", max_model_len=32768, enable_prefix_caching=True)
        assert any("turns prefix caching off for state-space models" in n for n in req.engine_notes)
        assert plan(req).num_blocks == base.num_blocks


MINIMAX_M1 = "tests/fixtures/hf_configs/minimax-m1.json"


# models/config.py MambaModelConfig.verify_and_update_config, 0.11.1-0.14.1 (0.12.0 :292-309): with
# --enable-prefix-caching, 'if model_config.supports_mamba_prefix_caching' keeps it on, else logs
# 'Hybrid or mamba-based model detected without support for prefix caching: disabling.' and sets
# cache_config.enable_prefix_caching = False. The SupportsMambaPrefixCaching classes (models/*.py,
# by registry name) are the same nine in all six releases; Qwen3NextForCausalLM (qwen3_next.py,
# IsHybrid) and MiniMaxText01ForCausalLM (minimax_text_01.py, also MiniMaxM1ForCausalLM) are not,
# and both reach MambaModelConfig through HybridAttentionMambaModelConfig (vllm/config/vllm.py
# 'if self.model_config.is_hybrid', 0.12.0 :1164). From 0.15.0 it stays on for every architecture
# (mamba_cache_mode 'align' for the others, 0.15.0 :332-381).
NINE = ("BambaForCausalLM", "FalconH1ForCausalLM", "FalconMambaForCausalLM", "GraniteMoeHybridForCausalLM",
        "JambaForCausalLM", "Mamba2ForCausalLM", "MambaForCausalLM", "NemotronHForCausalLM", "Zamba2ForCausalLM")


@pytest.mark.parametrize(("release", "value"), [
    ("0.10.1.1", "v0"), ("0.10.2", "off"), ("0.11.0", "off"), ("0.11.1", NINE), ("0.11.2", NINE), ("0.12.0", NINE),
    ("0.13.0", NINE), ("0.14.0", NINE), ("0.14.1", NINE), ("0.15.0", "honoured"), ("0.19.1", "honoured"),
])
def test_vllm_state_prefix_caching_rule_by_release(release, value):
    assert get_engine(f"vllm=={release}").rule("state_prefix_caching") == value


@pytest.mark.parametrize(("model", "gpu", "tp", "release", "arch"), [
    (QWEN3_NEXT, "h100", 4, "0.11.1", "Qwen3NextForCausalLM"), (QWEN3_NEXT, "h100", 4, "0.12.0", "Qwen3NextForCausalLM"),
    (MINIMAX_M1, "h200", 8, "0.13.0", "MiniMaxM1ForCausalLM"), (MINIMAX_M1, "h200", 8, "0.14.1", "MiniMaxM1ForCausalLM"),
])
def test_vllm_turns_prefix_caching_off_for_other_state_space_classes(model, gpu, tp, release, arch):
    """Planned as without the flag, with a note naming the release's lines; not refused."""
    from kvplan.capacity import make_request, plan
    from kvplan.loader import load_model

    spec = load_model(model)
    assert spec.architecture == arch
    args = dict(engine=f"vllm=={release}", max_model_len=32768, tp=tp)
    base = plan(make_request(spec, gpu, **args))
    req = make_request(spec, gpu, enable_prefix_caching=True, **args)
    lines = {"0.11.1": "0.11.1 :293-305", "0.12.0": "0.12.0 :292-309", "0.13.0": "0.13.0 :289-306",
             "0.14.1": "0.14.1 :332-349"}[release]
    note = (f"--enable-prefix-caching: vllm=={release} turns prefix caching off for {spec.name}: {arch} does not "
            f"support it for state-space layers (vllm/model_executor/models/config.py "
            f"MambaModelConfig.verify_and_update_config, {lines}: 'Hybrid or mamba-based model detected without "
            f"support for prefix caching: disabling.'); the pool is planned without it")
    assert note in req.engine_notes
    on = plan(req)
    assert (on.num_blocks, on.block_size, on.kv_pool_bytes) == (base.num_blocks, base.block_size, base.kv_pool_bytes)


def test_vllm_prefix_caching_by_class_from_the_command_line(capsys):
    """Exit 0 and the note for Qwen3-Next on 0.12.0 and MiniMax-M1 on 0.14.1 (the same blocks as without
    the flag); exit 2 and one line for Bamba on 0.12.0 (SupportsMambaPrefixCaching) and for Qwen3-Next
    on 0.15.0 (kept on for every class)."""
    import json

    from helpers import cli

    for model, gpu, tp, release in ((QWEN3_NEXT, "h100", 4, "0.12.0"), (MINIMAX_M1, "h200", 8, "0.14.1")):
        runs = []
        for flag in (" --enable-prefix-caching", ""):
            command = f"vllm serve {model} --tensor-parallel-size {tp} --max-model-len 32768{flag}"
            code, out, err = cli(capsys, "capacity", "--gpu", gpu, "--engine", f"vllm=={release}", "--from-vllm",
                                 command, "--json")
            assert code == 0, err
            runs.append((json.loads(out)["num_blocks"], err))
        assert runs[0][0] == runs[1][0]
        assert f"vllm=={release} turns prefix caching off for" in runs[0][1]
        assert "turns prefix caching off" not in runs[1][1]
    for model, gpu, tp, release, them in ((BAMBA, "h100", 1, "0.12.0", "BambaForCausalLM (SupportsMambaPrefixCaching)"),
                                          (QWEN3_NEXT, "h100", 4, "0.15.0", "them")):
        command = f"vllm serve {model} --tensor-parallel-size {tp} --max-model-len 32768 --enable-prefix-caching"
        code, out, err = cli(capsys, "capacity", "--gpu", gpu, "--engine", f"vllm=={release}", "--from-vllm", command)
        errors = [ln for ln in err.splitlines() if ln.startswith("kvplan: error")]
        assert code == 2 and out == "" and len(errors) == 1
        assert f"state-space layers: vllm=={release} keeps it on for {them} and then sizes" in errors[0]


def test_vllm_prefix_caching_state_space_model_without_an_architecture():
    """0.11.1-0.14.1 decide by class: a spec that names none is refused, not guessed."""
    import dataclasses

    from kvplan.capacity import make_request
    from kvplan.errors import BadInputError
    from kvplan.loader import load_model

    spec = dataclasses.replace(load_model(QWEN3_NEXT), architecture=None)
    with pytest.raises(BadInputError, match="keeps it on only for its SupportsMambaPrefixCaching architectures"):
        make_request(spec, "h100", engine="vllm==0.12.0", tp=4, max_model_len=32768, enable_prefix_caching=True)


def test_vllm_prefix_caching_leaves_an_attention_model_alone():
    from kvplan.capacity import make_request, plan
    from kvplan.loader import load_model

    spec = load_model("llama3.1-8b")
    on = plan(make_request(spec, "h100", engine="vllm==0.19.1", max_model_len=32768, enable_prefix_caching=True))
    assert on.num_blocks == plan(make_request(spec, "h100", engine="vllm==0.19.1", max_model_len=32768)).num_blocks


def test_vllm_prefix_caching_refused_from_the_command_line_and_a_plan(capsys, tmp_path):
    from helpers import cli

    command = f"vllm serve {BAMBA} --max-model-len 32768 --enable-prefix-caching"
    code, _, err = cli(capsys, "capacity", "--gpu", "h100", "--engine", "vllm==0.19.1", "--from-vllm", command)
    errors = [ln for ln in err.splitlines() if ln.startswith("kvplan: error")]
    assert code == 2 and len(errors) == 1 and "--enable-prefix-caching with bamba-9b's state-space layers" in errors[0]
    plan_file = tmp_path / "plan.yaml"
    plan_file.write_text(f"deployments:\n  - name: b\n    model: {Path(BAMBA).resolve()}\n    gpu: h100\n"
                         f"    engine: vllm==0.19.1\n    max_model_len: 32768\n    enable_prefix_caching: true\n")
    code, _, err = cli(capsys, "check", plan_file)
    assert code == 2 and "--enable-prefix-caching with bamba-9b's state-space layers" in err


@pytest.mark.parametrize(("model", "release", "starts"), [
    (BAMBA, "0.16.0", False), (BAMBA, "0.17.0", True), (QWEN3_NEXT, "0.16.0", True),
])
def test_vllm_speculative_decoding_with_state_space_layers(model, release, starts):
    """vllm/model_executor/layers/mamba/abstract.py MambaBase.get_kv_cache_spec (0.11.1-0.16.0
    :44-50) raises 'Mamba with speculative decoding is not supported yet' unless model_type is
    qwen3_next; no check from 0.17.0."""
    from kvplan.capacity import make_request
    from kvplan.errors import BadInputError
    from kvplan.loader import load_model

    spec = load_model(model)
    ngram = '{"method": "ngram", "num_speculative_tokens": 2, "prompt_lookup_max": 4}'
    args = dict(engine=f"vllm=={release}", max_model_len=32768, speculative_config=ngram, tp=4)
    if starts:
        make_request(spec, "h100", **args)
    else:
        with pytest.raises(BadInputError, match="raises 'Mamba with speculative decoding is not supported yet' for "
                                                "BambaForCausalLM"):
            make_request(spec, "h100", **args)


# Qwen3-Next-80B at tp 4 (models/config.py HybridAttentionMambaModelConfig; mamba_utils.py
# gated_delta_net_state_shape): conv (2 x 16 x 128 + 32 x 128) / 4 = 2,048 channels x 3 x 2 B =
# 12,288 B + temporal 32 / 4 = 8 heads x 128 x 128 x 2 B = 262,144 B -> a state of 274,432 B; the
# 2 KV heads are replicated at tp 4, so an attention token is 1 x 256 x 2 x 2 B = 1,024 B. Aligned
# to 16: 16 x cdiv(274,432, 16 x 1,024) = 272 tokens; to 32 (0.11.1-0.17.1 on Blackwell, head size
# 256: 0.13.0 :364-375): 32 x cdiv(274,432, 32 x 1,024) = 288.
@pytest.mark.parametrize(("gpu", "release", "block"), [
    ("b200", "0.11.0", 272), ("b200", "0.12.0", 288), ("b200", "0.14.0", 288), ("b200", "0.17.1", 288),
    ("b200", "0.18.0", 272), ("h100", "0.14.0", 272),
])
def test_vllm_hybrid_block_aligned_to_32_on_blackwell_for_heads_of_256(gpu, release, block):
    from kvplan.capacity import make_request, plan
    from kvplan.loader import load_model

    pool = plan(make_request(load_model(QWEN3_NEXT), gpu, tp=4, engine=f"vllm=={release}", max_model_len=32768))
    assert pool.block_size == block


def test_mla_with_state_space_layers_is_refused():
    """models/config.py HybridAttentionMambaModelConfig aligns an MLA model's attention block to 64
    (128 with CUTLASS_MLA) from 0.11.1 (0.19.1 :206-210); no importer builds such a model."""
    from kvplan.errors import BadInputError
    from kvplan.formats import get_format
    from kvplan.layers import MLALatent
    from kvplan.paging import pool_layout, vllm_paging
    from vllm_port import MAMBA, model

    mla = {"kind": "mla", "kv_lora_rank": 512, "qk_rope_head_dim": 64}
    spec = model([mla, MAMBA])
    assert isinstance(spec.layers[0], MLALatent)
    with pytest.raises(BadInputError, match="MLA attention \\+ state-space layers: kvplan does not model"):
        pool_layout(spec, range(2), get_format("bf16"), 16, 1, vllm_paging("0.19.1"))


# vllm/engine/arg_utils.py (0.11.1 :2021-2036, 0.19.1 :2224-2241): a default max_num_batched_tokens
# is capped at max_num_seqs x max_model_len, then a default max_num_seqs at max_num_batched_tokens;
# 0.8.0-0.11.0 take the usage-context default tokens (serve on an H100: 8,192 tokens, 1,024 sequences),
# and 0.10.1-0.11.0 already lower a default max_num_seqs to the tokens (0.10.1 :1711-1712, 0.11.0
# :1678-1679; rule default_seqs_capped_by_tokens; the 0.11.0 case was pinned at (512, 1024) until
# review h34 F2, which 0.11.0 would report as 512 sequences).
@pytest.mark.parametrize(("release", "seqs", "tokens", "expected"), [
    ("0.11.0", 1, None, (8192, 1)), ("0.11.1", 1, None, (4096, 1)), ("0.19.1", 1, None, (4096, 1)),
    ("0.19.1", 1, 8192, (8192, 1)),            # given tokens are kept
    ("0.10.0", None, 2048, (2048, 1024)), ("0.10.1", None, 512, (512, 512)),
    ("0.11.0", None, 512, (512, 512)), ("0.19.1", None, 512, (512, 512)),
    ("0.19.1", None, None, (8192, 1024)),      # 1,024 x 4,096 is far above 8,192
])
def test_vllm_scheduler_defaults_capped_from_0_11_1(release, seqs, tokens, expected):
    from kvplan.capacity import make_request, plan
    from kvplan.loader import load_model

    pool = plan(make_request(load_model("llama3.1-8b"), "h100", engine=f"vllm=={release}", max_model_len=4096,
                             max_num_seqs=seqs, max_num_batched_tokens=tokens))
    assert (pool.settings.max_num_batched_tokens, pool.settings.max_num_seqs) == expected


def test_vllm_capped_batch_shrinks_the_profiled_forward():
    """Llama-3.1-8B, max_num_seqs 1, max_model_len 4,096 at 0.19.1: T = min(1 x 4,096, 8,192) = 4,096;
    the forward peak is T x 2 B x (6.7 x 4,096 + 3 x 14,336) = 577,136,230 B (kvplan.engines.vllm
    forward_bytes), as with --max-num-batched-tokens 4096."""
    from kvplan.capacity import make_request, plan
    from kvplan.loader import load_model

    spec = load_model("llama3.1-8b")
    capped = plan(make_request(spec, "h100", engine="vllm==0.19.1", max_model_len=4096, max_num_seqs=1))
    given = plan(make_request(spec, "h100", engine="vllm==0.19.1", max_model_len=4096, max_num_seqs=1,
                              max_num_batched_tokens=4096))
    assert capped.stages[0].activation_bytes == given.stages[0].activation_bytes == 577_136_230
    assert capped.num_blocks == given.num_blocks


@pytest.mark.parametrize(("release", "flags", "default"), [
    ("0.8.0", ["--max-num-batched-tokens", "512"], True),     # 0.8.0-0.10.0: the default 1,024 sequences stay
    ("0.10.0", ["--max-num-batched-tokens", "512"], True),
    ("0.10.1", ["--max-num-seqs", "1024", "--max-num-batched-tokens", "512"], False),
    ("0.19.1", ["--max-num-seqs", "256", "--max-num-batched-tokens", "64"], False),
    ("0.30.0", ["--max-num-seqs", "256", "--max-num-batched-tokens", "64", "--kv-cache-memory-bytes", "20000000000"],
     False),
])
def test_vllm_refuses_fewer_batched_tokens_than_sequences(capsys, release, flags, default):
    # SchedulerConfig raises ValueError when max_num_batched_tokens < max_num_seqs (0.8.0 vllm/config.py :1723,
    # 0.19.1 vllm/config/scheduler.py :273, 0.30.0 :309, 0.33.0 :331); kvplan said "fits" (review h34 F2)
    from helpers import cli, one_line_error

    code, out, err = cli(capsys, "capacity", "llama3.1-8b", "--gpu", "h100", "--engine", f"vllm=={release}",
                         "--max-model-len", "4096", *flags)
    assert code == 2
    line = one_line_error(err)
    seqs = 1024 if default or release == "0.10.1" else 256
    tokens = int(flags[flags.index("--max-num-batched-tokens") + 1])
    assert (f"vllm=={release} does not start with max_num_batched_tokens {tokens:,} below max_num_seqs {seqs:,}"
            f"{' (its default)' if default else ''}: SchedulerConfig raises ValueError") in line
    # the way out the message gives starts
    code, out, err = cli(capsys, "capacity", "llama3.1-8b", "--gpu", "h100", "--engine", f"vllm=={release}",
                         "--max-model-len", "4096", *flags, "--max-num-seqs", str(tokens))
    assert code == 0 and "verdict: fits" in out
