"""vLLM's own KV-cache arithmetic tests, ported: the 0.19 release line (the newest release
the vLLM engine models; the 6 + 5 case also at 0.14.0).

Source: ``tests/v1/core/test_kv_cache_utils.py`` of the vLLM v0.19.0 (and v0.14.0) source
distributions (pypi.org vllm-0.19.0.tar.gz, vllm-0.14.0.tar.gz). Each test names the vLLM
test it ports; every number asserted is vLLM's unless a comment says it is kvplan's
reading of the same rule. New since 0.11: block sizes scaled until pages match
(``unify_kv_cache_spec_page_size``, 0.12.0+), the 1.25x / 1.5x group-size rule, the
start-up check over groups and auto-fit of ``--max-model-len -1`` (0.14.0+), state layers'
speculative blocks in the check (0.17.0+).
"""

from __future__ import annotations

import pytest
from vllm_port import FULL, MAMBA, PAGE, SW, chunked, configs, full, sliding, tables

from kvplan.errors import BadInputError

R = "0.19.0"
GiB = 1 << 30


# -- test_get_kv_cache_configs_multiple_workers --------------------------------------------------
def test_multiple_workers_tp_with_different_memory_uses_the_smallest():
    assert configs(R, [full(4), full(4)], [PAGE * 2 * 10, PAGE * 2 * 20], tp=2).num_blocks == 10


def test_multiple_workers_pp_with_different_layers():
    pages = configs(R, [FULL] * 3, [PAGE * 2 * 10] * 2, stage_layers=[range(0, 1), range(1, 3)])
    assert pages.stage_blocks == (20, 10) and pages.num_blocks == 10


def test_multiple_workers_tp_and_pp():
    pages = configs(R, [full(4)] * 3, [PAGE * 2 * 10] * 4, tp=2, stage_layers=[range(0, 2), range(2, 3)])
    assert pages.num_blocks == 10


def test_multiple_workers_hybrid_and_pp():
    pages = configs(R, [FULL, FULL, SW, SW], [PAGE * 2 * 10] * 2, stage_layers=[range(0, 2), range(2, 4)])
    assert pages.num_blocks == 10 and pages.layouts[1].tokens_divisor == 2


def test_multiple_workers_keep_the_number_of_layers_per_group_similar():
    pages = configs(R, [FULL, SW, SW, FULL, SW, SW], [PAGE * 10] * 2, stage_layers=[range(0, 3), range(3, 6)])
    assert pages.num_blocks == 10 and pages.layouts[0].tokens_divisor == 3


# -- test_get_kv_cache_configs_pp_sharding -------------------------------------------------------
@pytest.mark.parametrize("asymmetric", [False, True])
def test_get_kv_cache_configs_pp_sharding(asymmetric):
    # max_model_len 512: 512 // 16 + 1 = 33 blocks of memory per worker; each worker checks
    # only its own layer, and a worker with twice the memory still runs 33 blocks
    avail = PAGE * 33
    pages = configs(R, [FULL, FULL], [avail, 2 * avail if asymmetric else avail], max_model_len=512,
                    stage_layers=[range(0, 1), range(1, 2)])
    assert pages.num_blocks == 33 and pages.failing_stage() is None


# -- test_get_kv_cache_config_one_worker --------------------------------------------------------
def test_one_worker_full_sliding_and_disabled_hybrid():
    assert configs(R, [FULL, FULL], PAGE * 2 * 32).num_blocks == 32
    assert configs(R, [SW, SW], PAGE * 2 * 32).num_blocks == 32
    assert configs(R, [FULL, SW], PAGE * 2 * 32, hybrid=False).num_blocks == 32
    assert configs(R, [FULL, SW], PAGE * 2 * 32).num_blocks == 64


def test_one_worker_two_full_four_sliding():
    pages = configs(R, [FULL, FULL, SW, SW, SW, SW], PAGE * 2 * 32)
    assert pages.num_blocks == 32 and pages.layouts[0].tokens_divisor == 3


def test_one_worker_three_full_seven_sliding():
    # 7 >= 1.5 x 3: groups of 3 (4 groups), padded to 3 full + 9 sliding
    pages = configs(R, [FULL] * 3 + [SW] * 7, PAGE * 3 * 32)
    assert pages.num_blocks == 32 and pages.layouts[0].tokens_divisor == 4
    assert pages.layouts[0].padding_layers == 2


@pytest.mark.parametrize("release", ["0.14.0", R])
def test_one_worker_six_full_five_sliding_pads_to_six_and_six(release):
    # "6 full + 5 sliding, pad to 6 full + 6 sliding" (gpt-oss + EAGLE): 6 < 1.25 x 5 (0.14) and
    # 6 < 1.5 x 5 (0.19), so groups of 6: 2 groups, 1 padding layer, num_blocks = 6 x 32 pages // 6
    pages = configs(release, [FULL] * 6 + [SW] * 5, PAGE * 6 * 32)
    assert pages.num_blocks == 32
    lay = pages.layouts[0]
    assert tables(lay) == [("full_attention", 1, 16), ("sliding_window", 1, 16)]
    assert lay.padding_layers == 1 and lay.unit_bytes == 6 * PAGE


def test_one_worker_different_hidden_size_same_type():
    pages = configs(R, [full(head_dim=128), full(head_dim=64)], PAGE * 3 * 32)
    assert pages.num_blocks == 32 and pages.layouts[0].per_layer


def test_one_worker_different_hidden_size_and_type_align_by_block_size():
    # full head 64 (16,384 B pages) + sliding head 32 (8,192 B at 16 tokens): the sliding
    # layer's block grows to 32 tokens so both pages are 16,384 B; num_blocks = 32
    pages = configs(R, [full(head_dim=64), sliding(head_dim=32)], PAGE * 32)
    assert pages.num_blocks == 32
    assert tables(pages.layouts[0]) == [("full_attention", 1, 16), ("sliding_window", 1, 32)]


def test_one_worker_different_hidden_size_that_cannot_be_aligned():
    # 24,576 B (head 96) is not a multiple of 16,384 B (head 64): NotImplementedError
    with pytest.raises(BadInputError, match="does not divide"):
        configs(R, [full(head_dim=64), sliding(head_dim=96)], PAGE * 2 * 32)


def test_one_worker_num_gpu_blocks_override():
    assert configs(R, [FULL, FULL], PAGE * 2 * 32, override=16).num_blocks == 16


# -- test_auto_fit_max_model_len* ---------------------------------------------------------------
def test_auto_fit_max_model_len_keeps_the_derived_length_when_it_fits():
    pages = configs(R, [FULL, FULL], PAGE * 2 * 1024, max_model_len=None, max_len=1024)
    assert pages.max_model_len == 1024 and pages.auto_fit


def test_auto_fit_max_model_len_reduces_to_fit():
    pages = configs(R, [FULL, FULL], PAGE * 2 * 32, max_model_len=None, max_len=1024)
    assert 0 < pages.max_model_len < 1024  # vLLM's assertion
    assert pages.max_model_len == 32 * 16  # kvplan's reading: 32 blocks of 16 tokens


def test_auto_fit_max_model_len_with_hybrid():
    # a Mamba layer with 2 speculative blocks + a full-attention layer, memory for
    # 1024 // 16 + 1 + 2 blocks: auto-fit settles on 1024 of the derived 8192
    pages = configs(R, [MAMBA, FULL], PAGE * (1024 // 16 + 1 + 2), max_model_len=None, max_len=8192,
                    num_speculative_tokens=2)
    assert pages.max_model_len == 1024


def test_auto_fit_max_model_len_not_triggered():
    pages = configs(R, [FULL, FULL], PAGE * 2 * 32, max_model_len=16)
    assert pages.max_model_len == 16 and not pages.auto_fit


def test_auto_fit_needs_0_14():
    with pytest.raises(BadInputError, match="0.14.0"):
        configs("0.11.0", [FULL, FULL], PAGE * 2 * 32, max_model_len=None, max_len=1024)


# -- test_unify_hybrid_kv_cache_specs -----------------------------------------------------------
@pytest.mark.parametrize("layers", [
    [FULL, sliding(1024)],  # 1. full + sliding window -> full attention
    [FULL, chunked(512)],  # 2. full + chunked local -> full attention
    [FULL, sliding(1024), chunked(512)],  # 3. all three -> full attention
])
def test_unify_hybrid_kv_cache_specs(layers):
    lay = configs(R, layers, 64 * GiB, hybrid=False, max_model_len=4096).layouts[0]
    assert tables(lay) == [("full_attention", 1, 16)] and lay.unit_bytes == len(layers) * PAGE


def test_unify_hybrid_kv_cache_specs_without_full_attention_fails():
    # 4. no FullAttentionSpec: nothing to convert, ValueError
    with pytest.raises(BadInputError, match="hybrid KV cache manager disabled"):
        configs(R, [sliding(1024), chunked(512)], 64 * GiB, hybrid=False, max_model_len=4096)


# -- test_estimate_max_model_len / test_get_max_concurrency_for_kv_cache_config ----------------
@pytest.mark.parametrize("max_model_len, want", [(16385, 16384), (16383, 16383)])
def test_estimate_max_model_len(max_model_len, want):
    pages = configs(R, [full(32, 128)] * 32, 8 * GiB, max_model_len=max_model_len, dtype="fp16",
                    max_num_batched_tokens=32768)
    assert pages.estimated_max_model_len() == want


def test_get_max_concurrency_for_kv_cache_config():
    kw = dict(max_model_len=16384, dtype="fp16", max_num_batched_tokens=1024)
    f, s = full(32, 128), sliding(1024, 32, 128)
    assert configs(R, [f] * 32, 1, override=int(1024 * 1.5), **kw).max_concurrency() == 1.5
    assert configs(R, [s] * 32, 1, override=129 * 3, **kw).max_concurrency() == 3
    assert configs(R, [f] * 32 + [s] * 32, 1, override=(1024 + 129) * 3, **kw).max_concurrency() == 3


@pytest.mark.parametrize("lookahead, blocks", [(2, 2), (4, 2)])
def test_allocate_with_lookahead(lookahead, blocks):
    pages = configs(R, [FULL], PAGE * 10, block_size=4, max_model_len=100, num_speculative_tokens=lookahead)
    assert pages.blocks_per_request(3) == blocks


# -- test_is_kv_cache_spec_uniform ---------------------------------------------------------------
@pytest.mark.parametrize("layers, hybrid, groups", [
    ([full(32), full(32)], None, 1),
    ([full(32), sliding(1, 32)], False, 1),
    ([full(32), sliding(1, 32)], None, 2),
    ([sliding(1, 32), sliding(1, 32)], None, 1),
    ([sliding(1, 32), sliding(2, 32)], None, 2),
])
def test_is_kv_cache_spec_uniform(layers, hybrid, groups):
    assert configs(R, layers, 64 * GiB, hybrid=hybrid).layouts[0].tokens_divisor == groups


# -- tests/v1/core/test_kv_sharing.py (v0.19.0): shared layers join their source's group -----------
def test_kv_sharing_layers_hold_no_pages():
    # layers 2 and 3 read layers 0 and 1's cache (add_kv_sharing_layers_to_kv_cache_groups puts
    # them in the same group, with no tensor of their own): the pool is paged as two layers
    shared = [FULL, FULL, {"kind": "shared_kv", "source_layer": 0}, {"kind": "shared_kv", "source_layer": 1}]
    pages, plain = configs(R, shared, PAGE * 2 * 32), configs(R, [FULL, FULL], PAGE * 2 * 32)
    assert pages.num_blocks == plain.num_blocks == 32 and pages.layouts[0].tokens_divisor == 1
