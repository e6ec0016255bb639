"""Tests the mutation pass over kvplan.paging asked for (benchmarks/mutation.py, issue 12):
each pins a decision rule whose change no earlier test noticed. The layers are vLLM's
unit-test specs (tests/vllm_port.py): FULL and SW pages of 16,384 B, block 16."""

from __future__ import annotations

import pytest

from vllm_port import FULL, PAGE, SW, configs


@pytest.mark.parametrize(("release", "group"), [("0.11.0", 10), ("0.14.0", 10), ("0.17.1", 10), ("0.18.0", 13),
                                                ("0.19.0", 13)])
# (16 + 10 under 0.19.0 gives 10: 16 < 15 is false; see the generic test for the same rule.)
def test_grouping_ratio_by_release(release, group):
    """13 sliding + 10 full layers. vLLM groups by the larger count when it is under ratio x
    the smaller: no ratio up to 0.11.2 (groups of the smaller, 10), 1.25 in 0.12.0-0.17.1
    (13 < 12.5 is false: 10), 1.5 from 0.18.0 (13 < 15: 13). Groups of 10: 2 sliding tables
    + 1 full, 7 padding layers; of 13: 1 + 1, 3 padding layers."""
    pages = configs(release, [SW] * 13 + [FULL] * 10, PAGE * 20 * 64, max_model_len=16)
    lay = pages.layouts[0]
    assert lay.unit_bytes == group * PAGE
    assert lay.tokens_divisor == (3 if group == 10 else 2)
    assert lay.padding_layers == (3 * 10 - 23 if group == 10 else 2 * 13 - 23)


def test_grouping_ratio_1_25_boundary():
    """0.14.0: 12 sliding + 10 full: 12 < 12.5 groups by 12 (the ratio is 1.25, not 1.5, which
    would also give 12; and not 'no ratio', which gives 10). 13 + 10 above: groups of 10."""
    lay = configs("0.14.0", [SW] * 12 + [FULL] * 10, PAGE * 20 * 64).layouts[0]
    assert lay.unit_bytes == 12 * PAGE and lay.tokens_divisor == 2


def test_generic_paging_groups_hybrids_like_the_newest_vllm():
    """Engines without release rules (raw, SGLang, TensorRT-LLM) page hybrid layers with the
    generic rules: vLLM's newest 1.5 ratio (13 + 10 -> groups of 13)."""
    from kvplan.formats import get_format
    from kvplan.paging import Paging, pool_layout
    from vllm_port import model

    spec = model([SW] * 13 + [FULL] * 10)
    lay = pool_layout(spec, range(23), get_format("fp32"), 16, 1, Paging())
    assert lay.unit_bytes == 13 * PAGE and lay.tokens_divisor == 2
    # 16 + 10: 16 < 15 is false, so groups of 10 (a ratio of 2 would give 16)
    spec = model([SW] * 16 + [FULL] * 10)
    lay = pool_layout(spec, range(26), get_format("fp32"), 16, 1, Paging())
    assert lay.unit_bytes == 10 * PAGE and lay.tokens_divisor == 3


@pytest.mark.parametrize(("release", "null"), [("0.8.2", 0), ("0.8.3", 1), ("0.19.0", 1)])
def test_null_block_from_0_8_3(release, null):
    """vLLM's BlockPool holds back block 0 as the null block from 0.8.3: requests can use all
    but one block."""
    pages = configs(release, [FULL] * 2, PAGE * 2 * 32)
    assert pages.num_blocks == 32
    assert pages.null_blocks == null and pages.usable_blocks == 32 - null


@pytest.mark.parametrize(("release", "rule"), [("0.11.0", "layers"), ("0.13.0", "layers"), ("0.14.0", "groups"),
                                               ("0.19.0", "groups")])
def test_start_up_check_sums_layers_before_0_14_and_groups_after(release, rule):
    """vLLM's check_enough_kv_cache_memory asks, for one request of max_model_len, the sum over
    layers before 0.14.0 and over groups (padding layers included) from 0.14.0
    (_max_memory_usage_bytes_from_groups). 13 sliding (window 1) + 10 full layers, 0.14.0:
    groups of 10 -> 2 sliding tables + 1 full table of 10 layers = 30 layer-pages per block;
    per layer: 13 + 10 = 23. A 64-token request: full cdiv(64, 16) = 4 blocks; a window-1
    layer cdiv(min(1 - 1 + 2048, 64), 16) + 1 = 5."""
    pages = configs(release, [SW] * 13 + [FULL] * 10, PAGE * 30 * 64, max_model_len=64)
    per_layer = (13 * 5 + 10 * 4) * PAGE
    lay = pages.layouts[0]
    per_group = lay.unit_bytes * (5 * (lay.tokens_divisor - 1) + 4)
    assert pages.needed_bytes(0, 64) == (per_layer if rule == "layers" else per_group)
    assert per_layer != per_group


@pytest.mark.parametrize(("release", "n", "usable"), [("0.19.0", 2, 1), ("0.19.0", 1, 0)])
def test_usable_blocks_never_negative(release, n, usable):
    """A pool of n blocks leaves n - 1 to requests (the null block), and 0, not -1, when n is 0 or 1."""
    pages = configs(release, [FULL] * 2, PAGE * 2 * n)
    assert pages.num_blocks == n and pages.usable_blocks == usable


@pytest.mark.parametrize(("limit", "hi", "expected"), [
    (5, 10, 5), (1, 10, 1), (0, 10, 0), (10, 10, 10), (10, 1, 1), (10, 0, 0),
])
def test_longest_fitting_is_the_largest_length_in_1_to_hi(limit, hi, expected):
    """vLLM's estimate_max_model_len (kv_cache_utils.py): a binary search over 1..max_model_len
    for the largest length that fits; 0 when one token does not fit (or the range is empty)."""
    from kvplan.paging import longest_fitting

    assert longest_fitting(lambda n: n <= limit, hi) == expected


@pytest.mark.parametrize(("release", "n", "expected"), [("0.19.0", 1, 32.0), ("0.19.0", 16, 32.0),
                                                        ("0.19.0", 17, 16.0), ("0.19.0", 0, 0.0)])
def test_max_concurrency_from_one_token(release, n, expected):
    """vLLM logs "Maximum concurrency for N tokens per request" = num_blocks / blocks per
    request (0.9.1+): 32 blocks of 16 tokens hold 32 requests of 1 or 16 tokens, 16 of 17."""
    pages = configs(release, [FULL] * 2, PAGE * 2 * 32)
    assert pages.num_blocks == 32
    assert pages.max_concurrency(n) == expected


@pytest.mark.parametrize(("release", "kind", "blocks"), [("0.8.2", "FullAttention", 4), ("0.8.3", "SlidingWindow", 5)])
def test_sliding_window_layers_are_full_attention_before_0_8_3(release, kind, blocks):
    """kv_cache_interface.py has no SlidingWindowSpec before 0.8.3: sliding-window layers are
    allocated as full attention (a 64-token request holds cdiv(64, 16) = 4 blocks); from 0.8.3
    a window-1 layer holds cdiv(min(1 - 1 + 2048, 64), 16) + 1 = 5 at its peak."""
    pages = configs(release, [SW] * 2, PAGE * 2 * 32, max_model_len=64)
    (group,) = pages.layouts[0].groups
    assert type(group[0]).__name__ == kind
    assert pages.blocks_per_request(64) == blocks
