"""vLLM's own KV-cache arithmetic tests, ported: the 0.8-0.10 release line.

Sources: ``tests/v1/core/test_kv_cache_utils.py`` of the vLLM v0.10.1.1 and v0.8.5 source
distributions (pypi.org vllm-0.10.1.1.tar.gz, vllm-0.8.5.tar.gz). Each test names the vLLM
test it ports; every number asserted is vLLM's. vLLM builds layer specs by hand; here they
are kvplan layers (tests/vllm_port.py) and vLLM's ``get_kv_cache_config`` /
``unify_kv_cache_configs`` is ``kvplan.paging.page_replica`` at that release.
"""

from __future__ import annotations

import pytest
from vllm_port import FULL, PAGE, SW, configs, full, sliding, tables

from kvplan.errors import BadInputError

R = "0.10.1.1"
GiB = 1 << 30


# -- test_get_kv_cache_config (v0.10.1.1) ---------------------------------------------------------
def test_get_kv_cache_config_full_attention_is_one_group():
    # all layers are full attention -> single group, num_blocks = 2 * 32 pages // 2 layers
    pages = configs(R, [FULL, FULL], PAGE * 2 * 32)
    assert pages.num_blocks == 32
    assert tables(pages.layouts[0]) == [("full_attention", 1, 16)]
    assert pages.layouts[0].unit_bytes == 2 * PAGE  # two tensors of PAGE * 32


def test_get_kv_cache_config_sliding_window_is_one_group():
    pages = configs(R, [SW, SW], PAGE * 2 * 32)
    assert pages.num_blocks == 32
    assert tables(pages.layouts[0]) == [("sliding_window", 1, 16)]


def test_get_kv_cache_config_full_and_sliding_with_the_hybrid_manager_disabled():
    # disable_hybrid_kv_cache_manager: the sliding layer becomes full attention, one group
    pages = configs(R, [FULL, SW], PAGE * 2 * 32, hybrid=False)
    assert pages.num_blocks == 32
    assert tables(pages.layouts[0]) == [("full_attention", 1, 16)]


def test_get_kv_cache_config_full_and_sliding_with_the_hybrid_manager():
    # one group per kind of one layer each, sharing one tensor: num_blocks = memory // PAGE = 64
    pages = configs(R, [FULL, SW], PAGE * 2 * 32)
    assert pages.num_blocks == 64
    assert tables(pages.layouts[0]) == [("full_attention", 1, 16), ("sliding_window", 1, 16)]
    assert pages.layouts[0].unit_bytes == PAGE


def test_get_kv_cache_config_two_full_four_sliding_groups_of_two():
    pages = configs(R, [FULL, FULL, SW, SW, SW, SW], PAGE * 2 * 32)
    assert pages.num_blocks == 32
    assert tables(pages.layouts[0]) == [("full_attention", 1, 16), ("sliding_window", 2, 16)]
    assert pages.layouts[0].padding_layers == 0 and pages.layouts[0].unit_bytes == 2 * PAGE


def test_get_kv_cache_config_three_full_seven_sliding_pads_to_nine():
    # "3 full + 7 sliding, pad to 3 full + 9 sliding": 4 groups of 3, 2 padding layers
    pages = configs(R, [FULL] * 3 + [SW] * 7, PAGE * 3 * 32)
    assert pages.num_blocks == 32
    assert tables(pages.layouts[0]) == [("full_attention", 1, 16), ("sliding_window", 3, 16)]
    assert pages.layouts[0].tokens_divisor == 4 and pages.layouts[0].padding_layers == 2


def test_get_kv_cache_config_different_hidden_size_is_refused():
    # "different hidden size, unimplemented": NotImplementedError in v0.10.1.1
    with pytest.raises(BadInputError, match="different page sizes"):
        configs(R, [full(head_dim=128), FULL], PAGE * 2 * 32)


def test_get_kv_cache_config_num_gpu_blocks_override():
    pages = configs(R, [FULL, FULL], PAGE * 2 * 32, override=16)
    assert pages.num_blocks == 16


# -- test_is_kv_cache_type_uniform (v0.10.1.1): one group or several --------------------------
@pytest.mark.parametrize("layers, hybrid, groups", [
    ([full(32), full(32)], None, 1),
    ([full(32), sliding(1, 32)], False, 1),  # FullAttentionSpec(sliding_window=1): the disabled manager
    ([full(32), sliding(1, 32)], None, 2),
    ([sliding(1, 32), sliding(1, 32)], None, 1),
    ([sliding(1, 32), sliding(2, 32)], None, 2),
])
def test_is_kv_cache_type_uniform(layers, hybrid, groups):
    pages = configs(R, layers, 64 * GiB, hybrid=hybrid)
    assert pages.layouts[0].tokens_divisor == groups


# -- test_unify_kv_cache_configs (v0.10.1.1, v0.8.5): every worker takes the smallest count --
@pytest.mark.parametrize("release", ["0.8.5", R])
def test_unify_kv_cache_configs_takes_the_smallest_num_blocks(release):
    # two tensor-parallel workers whose memory holds 10 and 20 blocks: both use 10 (4 KV heads
    # split over tp 2 leave each rank FULL's 2 heads)
    pages = configs(release, [full(4), full(4)], [PAGE * 2 * 10, PAGE * 2 * 20], tp=2)
    assert pages.num_blocks == 10


# -- test_estimate_max_model_len (v0.10.1.1, v0.8.5) -----------------------------------------
@pytest.mark.parametrize("release", ["0.8.5", R])
@pytest.mark.parametrize("max_model_len, want", [(16385, 16384), (16383, 16383)])
def test_estimate_max_model_len(release, max_model_len, want):
    # Qwen1.5-7B shape: 32 layers of 32 KV heads x 128, float16; 16,384 tokens need 8 GiB
    layers = [full(32, 128)] * 32
    pages = configs(release, layers, 8 * GiB, max_model_len=max_model_len, dtype="fp16",
                    max_num_batched_tokens=32768)
    assert pages.estimated_max_model_len() == want


# -- test_get_max_concurrency_for_kv_cache_config (v0.10.1.1) ---------------------------------
def test_get_max_concurrency_for_kv_cache_config():
    # max_model_len 16,384, max_num_batched_tokens 1,024; 32 heads x 128 float16
    kw = dict(max_model_len=16384, dtype="fp16", max_num_batched_tokens=1024)
    f, s = full(32, 128), sliding(1024, 32, 128)
    assert configs(R, [f] * 32, 1, override=int(1024 * 1.5), **kw).max_concurrency() == 1.5
    # sliding window 1024: cdiv(min(1023 + 1024, 16384), 16) + 1 = 129 blocks a request
    assert configs(R, [s] * 32, 1, override=129 * 3, **kw).max_concurrency() == 3
    assert configs(R, [f] * 32 + [s] * 32, 1, override=(1024 + 129) * 3, **kw).max_concurrency() == 3


# -- test_allocate_with_lookahead (v0.10.1.1, v0.8.5) ----------------------------------------
@pytest.mark.parametrize("release", ["0.8.5", R])
@pytest.mark.parametrize("lookahead, blocks", [(2, 2), (4, 2)])
def test_allocate_with_lookahead(release, lookahead, blocks):
    # block size 4, 3 new tokens + the speculative lookahead: ceil(5/4) = 2, ceil(7/4) = 2
    pages = configs(release, [FULL], PAGE * 10, block_size=4, max_model_len=100,
                    num_speculative_tokens=lookahead)
    assert pages.blocks_per_request(3) == blocks


# -- what the 0.8 line logs (v0.8.5 kv_cache_utils._get_kv_cache_config_uniform_type) --------
def test_v0_8_logs_concurrency_as_tokens_over_max_model_len():
    # num_tokens / max_model_len, not blocks over blocks per request: 10 blocks of 16 = 160
    # tokens over max_model_len 100 -> 1.6 (7 blocks a request would give 1.43)
    pages = configs("0.8.5", [FULL], PAGE * 10, max_model_len=100)
    assert pages.num_blocks == 10 and pages.kv_cache_tokens == 160
    assert pages.max_concurrency() == 1.6


def test_v0_8_has_no_hybrid_allocator():
    # v0.8.5 get_kv_cache_config: unify_hybrid_kv_cache_specs turns sliding layers into full
    # attention when both are present, then needs one type (NotImplementedError otherwise)
    pages = configs("0.8.5", [FULL, SW], PAGE * 2 * 32)
    assert pages.num_blocks == 32 and tables(pages.layouts[0]) == [("full_attention", 1, 16)]
    with pytest.raises(BadInputError, match="one KV-cache type"):
        configs("0.8.5", [sliding(1), sliding(2)], PAGE * 2 * 32)
