"""vLLM's own KV-cache arithmetic tests, ported: the newest release, 0.33.0.

Source: ``tests/v1/core/test_kv_cache_planning.py`` and ``tests/v1/core/test_kv_cache_utils.py``
of the vLLM v0.33.0 source distribution (pypi.org vllm-0.33.0.tar.gz). These run at the paging
level (``page_replica``: the KV memory given directly, as vLLM's tests give it). 0.33.0 is
modelled by the vLLM engine too (from h34-v31m, read against 0.32.0: FINDINGS_h34_v33.md), whose
planning functions moved to v1/core/kv_cache_planning.py with 0.32.0's arithmetic, so its paging
plans the kinds 0.32.0's does (full attention, MLA, sliding window, chunked local; the window
admission's ``max_in_flight_tokens`` comes from the engine); unequal pages (packed or padded,
not read) and state layers are refused (tested below). New here: the
null block is held back in the start-up check and in auto-fit (0.29.0+),
``num_gpu_blocks_override`` replaces the memory the check plans against (0.22.0+), and
"GPU KV cache size" is ``int(max_concurrency * max_model_len)`` (0.22.0+).
"""

from __future__ import annotations

import pytest
from vllm_port import FULL, MAMBA, PAGE, SW, configs, full

from kvplan.errors import BadInputError

R = "0.33.0"
GiB = 1 << 30


# -- test_get_kv_cache_configs_multiple_workers (full-attention cases) -------------------------
def test_multiple_workers_all_the_same_and_tp_memory():
    assert configs(R, [full(4), full(4)], [PAGE * 2 * 10] * 2, tp=2).num_blocks == 10
    assert configs(R, [full(4), full(4)], [PAGE * 2 * 10, PAGE * 2 * 20], tp=2).num_blocks == 10


def test_multiple_workers_pp_and_tp_pp():
    assert configs(R, [FULL] * 3, [PAGE * 2 * 10] * 2, stage_layers=[range(0, 1), range(1, 3)]).num_blocks == 10
    assert configs(R, [full(4)] * 3, [PAGE * 2 * 10] * 4, tp=2,
                   stage_layers=[range(0, 2), range(2, 3)]).num_blocks == 10


# -- test_get_kv_cache_configs_pp_sharding -------------------------------------------------------
@pytest.mark.parametrize("asymmetric", [False, True])
def test_get_kv_cache_configs_pp_sharding(asymmetric):
    # 512 // 16 + 1 = 33 blocks: 32 for a request of 512 and the null block
    avail = PAGE * 33
    pages = configs(R, [FULL, FULL], [avail, 2 * avail if asymmetric else avail], max_model_len=512,
                    stage_layers=[range(0, 1), range(1, 2)])
    assert pages.num_blocks == 33 and pages.failing_stage() is None


# -- test_get_kv_cache_config_one_worker (full-attention cases) -------------------------------
def test_one_worker_full_attention_and_override():
    assert configs(R, [FULL, FULL], PAGE * 2 * 32).num_blocks == 32
    assert configs(R, [FULL, FULL], PAGE * 2 * 32, override=16).num_blocks == 16


# -- test_estimate_max_model_len ------------------------------------------------------------------
@pytest.mark.parametrize("max_model_len, want", [(16385, 16384), (16383, 16383)])
def test_estimate_max_model_len(max_model_len, want):
    # estimate_max_model_len itself sums max_memory_usage_bytes over the layers against the
    # memory given (the null block is reserved by its callers)
    spec_pages = configs(R, [full(32, 128)] * 32, 8 * GiB + 8 * (1 << 20), max_model_len=max_model_len,
                         dtype="fp16", max_num_batched_tokens=32768)
    # 8 GiB for the tokens + one 8 MiB block (32 layers x 262,144 B) for the null block
    assert spec_pages.estimated_max_model_len() == want


# -- test_auto_fit_max_model_len* ----------------------------------------------------------------
def test_auto_fit_max_model_len():
    assert configs(R, [FULL, FULL], PAGE * 2 * 1024, max_model_len=None, max_len=1024).max_model_len == 1024
    reduced = configs(R, [FULL, FULL], PAGE * 2 * 32, max_model_len=None, max_len=1024).max_model_len
    assert 0 < reduced < 1024  # vLLM's assertion
    assert reduced == 31 * 16  # kvplan's reading: 32 blocks less the null block


def test_auto_fit_max_model_len_not_triggered():
    assert configs(R, [FULL, FULL], PAGE * 2 * 32, max_model_len=16).max_model_len == 16


def test_auto_fit_max_model_len_respects_num_gpu_blocks_override():
    # plenty of memory, but 32 blocks: auto-fit stays within 32 x 16 = 512 tokens
    fitted = configs(R, [FULL, FULL], PAGE * 2 * 1024, max_model_len=None, max_len=16384, override=32).max_model_len
    assert 0 < fitted <= 32 * 16  # vLLM's assertion
    assert fitted == 31 * 16  # kvplan's reading: the override's blocks less the null block


def test_auto_fit_max_model_len_reserves_null_block():
    # memory for exactly the 64 blocks of max_model_len 1024: auto-fit settles on 63 x 16
    pages = configs(R, [FULL], PAGE * 64, max_model_len=None, max_len=1024)
    assert pages.max_model_len == 63 * 16


# -- the start-up check ----------------------------------------------------------------------------
def test_check_enough_kv_cache_memory_respects_num_gpu_blocks_override():
    # 32 blocks are far too few for max_model_len 16,384 (1,024 blocks), whatever the memory
    pages = configs(R, [FULL, FULL], PAGE * 2 * 1024, max_model_len=16384, override=32)
    assert pages.failing_stage() == 0
    # 0.19.0 applied the override after a check against the memory: it passed there
    assert configs("0.19.0", [FULL, FULL], PAGE * 2 * 1024, max_model_len=16384, override=32).failing_stage() is None


@pytest.mark.parametrize("override", [True, False])
def test_kv_cache_reserves_null_block_for_max_model_len(override):
    # max_model_len 512 needs 32 blocks; 32 blocks leave 31 usable: rejected
    memory = PAGE * 1024 if override else PAGE * 32
    pages = configs(R, [FULL], memory, max_model_len=512, override=32 if override else None)
    assert pages.failing_stage() == 0


def test_check_enough_kv_cache_memory_reserves_null_block():
    assert configs(R, [FULL], PAGE * 32, max_model_len=512).failing_stage() == 0
    assert configs(R, [FULL], PAGE * 33, max_model_len=512).failing_stage() is None
    # before 0.29.0 the check counted the null block as usable: 32 blocks passed
    assert configs("0.19.0", [FULL], PAGE * 32, max_model_len=512).failing_stage() is None


# -- test_get_max_concurrency_for_kv_cache_config (full attention), "GPU KV cache size" ---------
def test_get_max_concurrency_for_kv_cache_config():
    pages = configs(R, [full(32, 128)] * 32, 1, override=int(1024 * 1.5), max_model_len=16384, dtype="fp16",
                    max_num_batched_tokens=1024)
    assert pages.max_concurrency() == 1.5
    # vllm/v1/core/kv_cache_utils.py get_kv_cache_capacity: int(1.5 * 16384) tokens
    assert pages.kv_cache_tokens == 24576


@pytest.mark.parametrize("lookahead, blocks", [(2, 2), (4, 2)])
def test_allocate_with_lookahead(lookahead, blocks):
    pages = configs(R, [FULL], PAGE * 10, block_size=4, max_model_len=100, num_speculative_tokens=lookahead)
    assert pages.blocks_per_request(3) == blocks


def test_window_layers_plan_as_0_32_0_and_state_layers_are_refused():
    new, old = configs(R, [FULL, SW], PAGE * 2 * 32), configs("0.32.0", [FULL, SW], PAGE * 2 * 32)
    assert (new.num_blocks, new.blocks_per_request(16)) == (old.num_blocks, old.blocks_per_request(16)) == (64, 3)
    with pytest.raises(BadInputError, match="not modelled for this release"):
        configs(R, [FULL, MAMBA], PAGE * 2 * 32)
