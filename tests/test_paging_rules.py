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


@pytest.mark.parametrize(("release", "expected"), [
    ("0.11.0", (13 * 5 + 10 * 4) * PAGE), ("0.13.0", (13 * 5 + 10 * 4) * PAGE),
    ("0.14.0", 10 * PAGE * 5), ("0.17.1", 10 * PAGE * 5), ("0.18.1", 13 * PAGE * 5),
    ("0.19.0", 13 * PAGE * (5 + 4)),
])
def test_start_up_check_layers_then_first_group_then_every_group(release, expected):
    """vLLM's check_enough_kv_cache_memory asks, for one request of max_model_len: the sum over
    layers before 0.14.0; from 0.14.0 _max_memory_usage_bytes_from_groups, group_size x page x
    the blocks of kv_cache_groups[0] only (``any_spec``, kv_cache_utils.py 0.14.0 :1348-1351,
    0.18.1 :1359-1362), and of every group from 0.19.0 (``sum(...)``, 0.19.0 :1362-1365).
    13 sliding (window 1) + 10 full layers: groups of 10 up to 0.17.1 (2 sliding tables + 1 full),
    of 13 from 0.18.0 (ratio 1.5: 1 + 1); layer 0 is sliding, so the first group is a sliding
    one. A 64-token request: full cdiv(64, 16) = 4 blocks; a window-1 layer cdiv(min(1 - 1 +
    2048, 64), 16) + 1 = 5. Per layer: 13 x 5 + 10 x 4 = 105 pages; first group: 10 x 5 = 50
    (13 x 5 = 65 from 0.18.0) pages; every group (0.19.0): 13 x (5 + 4) = 117 pages."""
    pages = configs(release, [SW] * 13 + [FULL] * 10, PAGE * 30 * 64, max_model_len=64)
    assert pages.needed_bytes(0, 64) == expected


@pytest.mark.parametrize(("release", "pages_needed"), [("0.14.0", 10 * 4), ("0.18.1", 13 * 4), ("0.19.0", 13 * 9)])
def test_first_group_is_the_kind_of_layer_0(release, pages_needed):
    """The first group is the kind the runner lists first (layer order): with the full layers
    first (10 full, then 13 sliding), 0.14.0-0.18.1 check the full group's 4 blocks x the group
    size (10; 13 from 0.18.0); 0.19.0 every group's (4 + 5) x 13."""
    pages = configs(release, [FULL] * 10 + [SW] * 13, PAGE * 30 * 64, max_model_len=64)
    assert pages.needed_bytes(0, 64) == pages_needed * PAGE


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


# -- second mutation pass (benchmarks/mutation.py survivors on kvplan/paging.py) ----------------
from vllm_port import MAMBA, full, model  # noqa: E402

#: A full-attention layer with 4 KV heads of 32: the same page as FULL (16 x 2 x 4 x 32 x 4 =
#: 16,384 B) but another CacheKind; FULL4 has 4 heads of 64, twice FULL's page.
FULL_4X32 = full(kv_heads=4, head_dim=32)
FULL4 = full(kv_heads=4)


@pytest.mark.parametrize("release", ["0.8.0", "0.9.0.1"])
def test_one_type_with_equal_pages_is_one_group_before_0_9_1(release):
    """Before 0.9.1 vLLM's get_kv_cache_config takes one group when is_kv_cache_type_uniform
    (kv_cache_utils.py): every layer's type_id equal, and FullAttentionSpec.type_id is
    f"full_attention_{block_size}_{page_size_bytes}" (kv_cache_interface.py). Two full-attention
    shapes with equal 16,384 B pages are one type: one group of 4 layers, 4 pages a block."""
    lay = configs(release, [FULL] * 2 + [FULL_4X32] * 2, PAGE * 4 * 10).layouts[0]
    assert lay.unit_bytes == 4 * PAGE and lay.tokens_divisor == 1 and len(lay.groups) == 1


@pytest.mark.parametrize("release", ["0.8.0", "0.9.0.1"])
def test_full_attention_with_unequal_pages_refused_before_0_9_1(release):
    """Pages of 16,384 and 32,768 B give two type_ids: not uniform, and with no hybrid allocator
    (0.9.1) get_kv_cache_config raises NotImplementedError. kvplan refuses (BadInputError)."""
    from kvplan.errors import BadInputError

    with pytest.raises(BadInputError, match="one KV-cache type only"):
        configs(release, [FULL] * 2 + [FULL4] * 2, PAGE * 6 * 10)


def test_start_up_check_per_layer_counts_only_the_workers_layers():
    """0.11.0-0.13.0 check each worker against the sum of max_memory_usage_bytes over its own
    layers (check_enough_kv_cache_memory in get_kv_cache_configs, per worker's kv_cache_spec).
    Stage 0 holds 4 sliding (window 1) layers, stage 1 the 4 full ones: stage 0 needs
    4 x 5 blocks x 16,384 B for a 64-token request (cdiv(min(2048, 64), 16) + 1 = 5), nothing
    for the full layers it does not hold; stage 1 needs 4 x cdiv(64, 16) = 16 pages."""
    pages = configs("0.13.0", [SW] * 4 + [FULL] * 4, [PAGE * 8 * 64] * 2, max_model_len=64,
                    stage_layers=[range(0, 4), range(4, 8)])
    assert pages.needed_bytes(0, 64) == 4 * 5 * PAGE
    assert pages.needed_bytes(1, 64) == 4 * 4 * PAGE


def test_kv_size_report_counts_the_smallest_block_after_page_unification():
    """0.12.0+ unify_kv_cache_spec_page_size doubles the block size of the sliding layers
    (16,384 B pages) to match the full layers' 32,768 B pages: sliding blocks of 32 tokens,
    full of 16. vLLM logs num_blocks // len(groups) * min_block_size (kv_cache_utils.py
    _report_kv_cache_config, 0.14.0: min over the groups' block sizes): 2 + 2 layers, groups
    of 2, 2 groups; 40 blocks of 2 x 32,768 B -> 40 // 2 * 16 = 320 tokens."""
    pages = configs("0.14.0", [SW] * 2 + [FULL4] * 2, PAGE * 2 * 2 * 40, max_model_len=16)
    lay = pages.layouts[0]
    assert sorted(b for _, _, b in lay.groups) == [16, 32]
    assert lay.block_size == 16 and pages.num_blocks == 40
    assert pages.kv_cache_tokens == 320


def test_generic_paging_unequal_pages_one_tensor_per_layer():
    """kvplan's generic rules (Paging(): raw, SGLang, TensorRT-LLM) approximate unequal pages by
    one tensor per layer (module docstring): 2 sliding layers of 16,384 B pages + 2 full of
    32,768 B -> a block costs 2 x 16,384 + 2 x 32,768 = 98,304 B, one block table per kind, and
    the logged tokens are num_blocks // 1 x 16. A 64-token request holds 5 sliding (window 1)
    + 4 full blocks."""
    from kvplan.formats import get_format
    from kvplan.paging import Paging, blocks_per_request, page_replica, pool_layout

    spec = model([SW] * 2 + [FULL4] * 2, 64)
    lay = pool_layout(spec, range(4), get_format("fp32"), 16, 1, Paging())
    assert lay.per_layer and lay.unit_bytes == 6 * PAGE
    assert [(type(k).__name__, n, b) for k, n, b in lay.groups] == [("SlidingWindow", 1, 16), ("FullAttention", 1, 16)]
    assert lay.tokens_divisor == 1 and lay.block_size == 16
    assert blocks_per_request(lay, 64, 2048) == 5 + 4
    pages = page_replica(spec, get_format("fp32"), Paging(), tp=1, pp=1, block_size=16,
                         worker_memory_bytes=[6 * PAGE * 10], max_model_len=64, max_num_batched_tokens=2048)
    assert pages.num_blocks == 10 and pages.kv_cache_tokens == 10 * 16


def _hybrid(release, spec_tokens, memory_blocks=32):
    """2 full + 2 state-space layers (vLLM's new_mamba_spec: a 16,384 B state = one full page at
    block 16, so HybridAttentionMambaModelConfig keeps block 16): groups of 2, one table each,
    a block 2 x 16,384 B."""
    return configs(release, [FULL] * 2 + [MAMBA] * 2, PAGE * 2 * memory_blocks, max_model_len=64,
                   num_speculative_tokens=spec_tokens)


def test_hybrid_layout_block_and_unit():
    pages = _hybrid("0.14.0", 0)
    lay = pages.layouts[0]
    assert lay.block_size == 16 and lay.unit_bytes == 2 * PAGE and pages.num_blocks == 32


@pytest.mark.parametrize(("release", "spec_tokens", "admitted", "without_lookahead"), [
    ("0.10.1", 2, 4 + 1, 4 + 1),   # no MambaSpec.num_speculative_blocks before 0.10.2
    ("0.14.0", 2, 4 + 1 + 2, 4 + 1),
    ("0.14.0", 0, 4 + 1, 4 + 1),
    ("0.17.0", 2, 4 + 1 + 2, 4 + 1),
])
def test_state_layers_speculative_blocks_at_admission(release, spec_tokens, admitted, without_lookahead):
    """single_type_kv_cache_manager.py MambaManager (0.10.2+) allocates 1 + num_speculative_blocks
    blocks per state layer; before 0.10.2 MambaSpec has no speculative blocks. A 64-token request
    with 2 lookahead slots (capped at max_model_len 64, 0.9.0+) holds cdiv(64, 16) = 4 full
    blocks; without the lookahead, the state table holds its one block only."""
    pages = _hybrid(release, spec_tokens)
    assert pages.blocks_per_request(64) == admitted
    assert pages.blocks_per_request(64, lookahead=False) == without_lookahead


@pytest.mark.parametrize(("release", "spec_tokens", "per_request", "checked"), [
    ("0.14.1", 2, 4 + 1, 4),        # MambaSpec.max_memory_usage_bytes = one page (0.10.2-0.14.1)
    ("0.14.0", 0, 4 + 1, 4),
    ("0.15.0", 2, 4 + 1 + 2, 4),    # page * (1 + num_speculative_blocks) from 0.15.0 (kv_cache_interface.py :300)
    ("0.17.0", 2, 4 + 1 + 2, 4),
    ("0.17.0", 0, 4 + 1, 4),
    ("0.19.0", 2, 4 + 1 + 2, 4 + 1 + 2),  # the check sums every group from 0.19.0
])
def test_logged_concurrency_and_check_count_speculative_blocks_from_0_15(release, spec_tokens, per_request, checked):
    """vLLM's "Maximum concurrency" (get_max_concurrency_for_kv_cache_config) sums
    max_memory_usage_bytes over the groups: kv_cache_interface.py MambaSpec returns one page up
    to 0.14.1 (cdiv(max_model_len, block_size) pages with the state's block = max_model_len) and
    page * (1 + num_speculative_blocks) from 0.15.0 (mamba_cache_mode 'none'). 32 blocks /
    per_request blocks. The start-up check (_max_memory_usage_bytes_from_groups) asks the 2-layer
    unit (32,768 B) x the blocks of the first group (layer 0: full attention, cdiv(64, 16) = 4)
    in 0.14.0-0.18.1, of every group from 0.19.0."""
    pages = _hybrid(release, spec_tokens)
    assert pages.max_concurrency(64) == 32 / per_request
    assert pages.needed_bytes(0, 64) == 2 * PAGE * checked


def _mamba(ssm_heads: int) -> dict:
    """vLLM's new_mamba_spec with ``ssm_heads`` heads of (32, 32): (2 x 512 + ssm_heads x 1,024)
    float32 values of state. 3 heads: 16,384 B; 5: 24,576 B; 11: 49,152 B; 15: 65,536 B."""
    return dict(MAMBA, ssm_heads=ssm_heads)


def test_hybrid_block_size_aligned_to_16_even_below_a_user_block_size_of_8():
    """HybridAttentionMambaModelConfig.verify_and_update_config (vllm/model_executor/models/
    config.py, 0.19.0): attn_block_size = kernel_block_alignment_size (16 for FlashAttention)
    x cdiv(mamba_page_size, 16 x attn_page_size_1_token), used when the user's block size is
    smaller. A 24,576 B state over FULL's 1,024 B a token: 16 x cdiv(24,576, 16,384) = 32
    tokens (not 24, a multiple of the user's 8); pages 32 x 1,024 = 32,768 B, states padded."""
    pages = configs("0.19.0", [FULL] * 2 + [_mamba(5)] * 2, 32768 * 2 * 8, block_size=8)
    lay = pages.layouts[0]
    assert lay.block_size == 32 and lay.unit_bytes == 2 * 32768
    assert {s.page_bytes for s in lay.layers} == {32768}


def test_hybrid_pages_hold_the_largest_state():
    """The attention page must hold a state (vLLM logs "ensure that attention page size is >=
    mamba page size"); vLLM models have one state shape, kvplan pads every state kind to one
    page holding the largest: states of 16,384 and 65,536 B over 1,024 B a token give blocks of
    16 x cdiv(65,536, 16,384) = 64 tokens and 65,536 B pages for every layer."""
    pages = configs("0.19.0", [FULL] * 2 + [MAMBA] * 2 + [_mamba(15)] * 2, 65536 * 2 * 8)
    lay = pages.layouts[0]
    assert lay.block_size == 64
    assert {s.page_bytes for s in lay.layers} == {65536}


def test_hybrid_block_size_from_the_widest_attention():
    """With two attention widths (1,024 and 2,048 B a token) and a 65,536 B state, the smallest
    aligned block whose attention pages hold the state is 16 x cdiv(65,536, 16 x 2,048) = 32
    (the widest page 32 x 2,048 = 65,536 B); sizing by the narrow one would give 64-token blocks
    and 131,072 B pages."""
    pages = configs("0.19.0", [FULL] * 2 + [FULL4] * 2 + [_mamba(15)] * 2, 65536 * 2 * 8)
    lay = pages.layouts[0]
    assert lay.block_size == 32
    assert {s.page_bytes for s in lay.layers} == {65536}


def test_hybrid_user_block_size_is_not_the_alignment():
    """vLLM (config.py, 0.10.0-0.19.0): attn_block_size = 16 x cdiv(mamba_page, 16 x per-token
    page); the user's block size is kept only when it is at least that. A 49,152 B state over
    1,024 B a token with --block-size 32: 16 x cdiv(49,152, 16,384) = 48 > 32 -> 48-token blocks
    (kvplan gave 64, a multiple of 32, until 2026-11-29)."""
    pages = configs("0.19.0", [FULL] * 2 + [_mamba(11)] * 2, 49152 * 2 * 8, block_size=32)
    assert pages.layouts[0].block_size == 48
