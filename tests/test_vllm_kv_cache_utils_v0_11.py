"""vLLM's own KV-cache arithmetic tests, ported: the 0.11 release line.

Source: ``tests/v1/core/test_kv_cache_utils.py`` of the vLLM v0.11.0 source distribution
(pypi.org vllm-0.11.0.tar.gz). Each test names the vLLM test it ports; every number
asserted is vLLM's. From 0.11.0 vLLM groups the layers of the whole model
(``get_kv_cache_configs``: specs merged over workers, ``layers[i::num_groups]``) and puts
layers of one type with unequal pages in one group (``UniformTypeKVCacheSpecs``).
"""

from __future__ import annotations

import pytest
from vllm_port import FULL, PAGE, SW, configs, full, sliding, tables

from kvplan.errors import BadInputError

R = "0.11.0"
GiB = 1 << 30


# -- test_get_kv_cache_configs_multiple_workers -------------------------------------------------
def test_multiple_workers_all_the_same():
    # two tensor-parallel workers (4 KV heads over tp 2 = FULL's 2 a rank), 10 blocks each
    pages = configs(R, [full(4), full(4)], [PAGE * 2 * 10] * 2, tp=2)
    assert pages.num_blocks == 10 and pages.layouts[0].unit_bytes == 2 * PAGE


def test_multiple_workers_tp_with_different_memory_uses_the_smallest():
    pages = configs(R, [full(4), full(4)], [PAGE * 2 * 10, PAGE * 2 * 20], tp=2)
    assert pages.num_blocks == 10


def test_multiple_workers_pp_with_different_layers():
    # worker 0 holds layer1 (its memory holds 20 blocks), worker 1 layer2 + layer3 (10): 10
    pages = configs(R, [FULL] * 3, [PAGE * 2 * 10] * 2, stage_layers=[range(0, 1), range(1, 3)])
    assert pages.stage_blocks == (20, 10) and pages.num_blocks == 10


def test_multiple_workers_tp_and_pp():
    pages = configs(R, [full(4)] * 3, [PAGE * 2 * 10] * 4, tp=2, stage_layers=[range(0, 2), range(2, 3)])
    assert pages.stage_blocks == (10, 20) and pages.num_blocks == 10


def test_multiple_workers_hybrid_and_pp():
    # full layers on worker 0, sliding layers on worker 1: two global groups, each worker
    # holding one of them (the other group is empty there)
    pages = configs(R, [FULL, FULL, SW, SW], [PAGE * 2 * 10] * 2, stage_layers=[range(0, 2), range(2, 4)])
    assert pages.num_blocks == 10
    for lay in pages.layouts:
        assert tables(lay) == [("full_attention", 1, 16), ("sliding_window", 1, 16)]
        assert lay.unit_bytes == 2 * PAGE


def test_multiple_workers_keep_the_number_of_layers_per_group_similar():
    # 1 full + 2 sliding on each of two workers: groups from the whole model (2 full, 4
    # sliding -> groups of 2), each worker holds one layer of each of 3 groups: 10 blocks
    layers = [FULL, SW, SW, FULL, SW, SW]
    pages = configs(R, layers, [PAGE * 10] * 2, stage_layers=[range(0, 3), range(3, 6)])
    assert pages.num_blocks == 10
    assert tables(pages.layouts[0]) == [("full_attention", 1, 16), ("sliding_window", 2, 16)]
    assert [lay.unit_bytes for lay in pages.layouts] == [PAGE, PAGE]


# -- test_get_kv_cache_config_one_worker -------------------------------------------------------
def test_one_worker_full_attention():
    assert configs(R, [FULL, FULL], PAGE * 2 * 32).num_blocks == 32


def test_one_worker_sliding_window():
    pages = configs(R, [SW, SW], PAGE * 2 * 32)
    assert pages.num_blocks == 32 and tables(pages.layouts[0]) == [("sliding_window", 1, 16)]


def test_one_worker_hybrid_manager_disabled():
    pages = configs(R, [FULL, SW], PAGE * 2 * 32, hybrid=False)
    assert pages.num_blocks == 32 and tables(pages.layouts[0]) == [("full_attention", 1, 16)]


def test_one_worker_hybrid_manager():
    pages = configs(R, [FULL, SW], PAGE * 2 * 32)
    assert pages.num_blocks == 64
    assert tables(pages.layouts[0]) == [("full_attention", 1, 16), ("sliding_window", 1, 16)]


def test_one_worker_two_full_four_sliding():
    pages = configs(R, [FULL, FULL, SW, SW, SW, SW], PAGE * 2 * 32)
    assert pages.num_blocks == 32
    assert tables(pages.layouts[0]) == [("full_attention", 1, 16), ("sliding_window", 2, 16)]


def test_one_worker_three_full_seven_sliding():
    # groups (1,2,3) full; (4,7,10), (5,8), (6,9) sliding: 4 groups of at most 3 layers
    pages = configs(R, [FULL] * 3 + [SW] * 7, PAGE * 3 * 32)
    assert pages.num_blocks == 32
    assert pages.layouts[0].tokens_divisor == 4 and pages.layouts[0].unit_bytes == 3 * PAGE


def test_one_worker_different_hidden_size_is_one_group_of_its_type():
    # head 128 + head 64 full attention: UniformTypeKVCacheSpecs, a tensor per layer,
    # num_blocks = memory // (2 PAGE + PAGE)
    pages = configs(R, [full(head_dim=128), full(head_dim=64)], PAGE * 3 * 32)
    assert pages.num_blocks == 32
    lay = pages.layouts[0]
    assert lay.per_layer and lay.unit_bytes == 3 * PAGE and lay.tokens_divisor == 1


def test_one_worker_num_gpu_blocks_override():
    assert configs(R, [FULL, FULL], PAGE * 2 * 32, override=16).num_blocks == 16


# -- test_is_kv_cache_spec_uniform / test_generate_uniform_type_kv_cache_specs -----------------
@pytest.mark.parametrize("layers, hybrid, groups", [
    ([full(32), full(32)], None, 1),
    ([full(32), sliding(1, 32)], False, 1),
    ([full(32), sliding(1, 32)], None, 2),
    ([sliding(1, 32), sliding(1, 32)], None, 1),
    ([sliding(1, 32), sliding(2, 32)], None, 2),
])
def test_is_kv_cache_spec_uniform(layers, hybrid, groups):
    assert configs(R, layers, 64 * GiB, hybrid=hybrid).layouts[0].tokens_divisor == groups


@pytest.mark.parametrize("layers, one_type", [
    ([FULL, full(head_dim=128)], True),  # all full attention, can be merged
    ([FULL, SW], False),  # full + sliding window, cannot be merged
    ([SW, FULL], False),
    ([SW, sliding(1, head_dim=128)], True),  # same-size sliding window, can be merged
])
def test_generate_uniform_type_kv_cache_specs(layers, one_type):
    lay = configs(R, layers, 64 * GiB).layouts[0]
    assert (lay.tokens_divisor == 1) == one_type


def test_unequal_pages_of_different_types_are_refused():
    # 0.11 has no unify_kv_cache_spec_page_size: get_kv_cache_groups raises NotImplementedError
    with pytest.raises(BadInputError, match="different page sizes"):
        configs(R, [FULL, sliding(1, head_dim=32)], PAGE * 32)


# -- test_estimate_max_model_len ---------------------------------------------------------------
@pytest.mark.parametrize("max_model_len, want", [(16385, 16384), (16383, 16383)])
def test_estimate_max_model_len(max_model_len, want):
    pages = configs(R, [full(32, 128)] * 32, 8 * GiB, max_model_len=max_model_len, dtype="fp16",
                    max_num_batched_tokens=32768)
    assert pages.estimated_max_model_len() == want


# -- test_get_max_concurrency_for_kv_cache_config -----------------------------------------------
def test_get_max_concurrency_for_kv_cache_config():
    kw = dict(max_model_len=16384, dtype="fp16", max_num_batched_tokens=1024)
    f, s = full(32, 128), sliding(1024, 32, 128)
    assert configs(R, [f] * 32, 1, override=int(1024 * 1.5), **kw).max_concurrency() == 1.5
    assert configs(R, [s] * 32, 1, override=129 * 3, **kw).max_concurrency() == 3
    assert configs(R, [f] * 32 + [s] * 32, 1, override=(1024 + 129) * 3, **kw).max_concurrency() == 3


# -- test_allocate_with_lookahead --------------------------------------------------------------
@pytest.mark.parametrize("lookahead, blocks", [(2, 2), (4, 2)])
def test_allocate_with_lookahead(lookahead, blocks):
    pages = configs(R, [FULL], PAGE * 10, block_size=4, max_model_len=100, num_speculative_tokens=lookahead)
    assert pages.blocks_per_request(3) == blocks
