"""Expert parallelism and DP attention in the weights and the capacity request (vLLM's
FusedMoEParallelConfig.make: MoE layers sharded over tp x dp; with EP, whole experts)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kvplan.capacity import make_request, plan
from kvplan.errors import BadInputError, ShapeError
from kvplan.loader import load_model
from kvplan.shapes import MoEParallel
from kvplan.weights import weights_footprint


@pytest.fixture(scope="module")
def dsv3():
    return load_model("deepseek-v3")


def test_moe_parallel_follows_vllm_make():
    # FusedMoEParallelConfig.make's docstring table: TP=2, DP=2, EP=True -> TP 1, EP 4;
    # EP=False -> TP 4 (flattened over DP), EP 1; one rank -> no sharding.
    assert MoEParallel.of(2, 2, True) == MoEParallel(1, 4)
    assert MoEParallel.of(2, 2, False) == MoEParallel(4, 1)
    assert MoEParallel.of(1, 1, True) == MoEParallel(1, 1)
    assert MoEParallel(1, 3).experts_per_rank(8) == 3  # determine_expert_map: 3, 3, 2


def test_ep_holds_whole_experts_exactly_one_eighth(dsv3):
    whole = weights_footprint(dsv3, "fp8").by_part["experts"]
    ep = weights_footprint(dsv3, "fp8", tp=1, moe=MoEParallel.of(1, 8, True)).stages[0].by_part["experts"]
    assert ep * 8 == whole  # 256 experts / 8 ranks, each expert whole (its per-channel scales too)
    sliced = weights_footprint(dsv3, "fp8", tp=1, moe=MoEParallel.of(1, 8, False)).stages[0].by_part["experts"]
    # row-parallel down_proj keeps every output channel's scale on each slice: a little more than 1/8
    assert sliced > ep
    assert sliced - ep == 58 * 256 * 7168 * 4 * 7 // 8  # 58 MoE layers, 7/8 of the down scales duplicated


def test_ep_params_split_exactly(dsv3):
    total = weights_footprint(dsv3, "fp8").total_params
    w = weights_footprint(dsv3, "fp8", tp=1, moe=MoEParallel.of(1, 8, True))
    experts = w.stages[0].params_by_part["experts"]
    assert experts * 8 == sum(p for part, p in weights_footprint(dsv3, "fp8", tp=1).stages[0].params_by_part.items()
                              if part == "experts")
    assert sum(w.stages[0].params_by_part.values()) == w.stages[0].params < total


def test_uneven_ep_counts_the_most_loaded_rank():
    mixtral = load_model("mixtral-8x7b")
    one = weights_footprint(mixtral, "bf16", tp=1).stages[0].by_part["experts"]  # all 8 experts
    three = weights_footprint(mixtral, "bf16", tp=1, moe=MoEParallel(1, 3)).stages[0].by_part["experts"]
    assert three * 8 == one * 3  # cdiv(8, 3) = 3 experts on the first ranks


@settings(max_examples=25, deadline=None)
@given(tp=st.sampled_from([1, 2, 4, 8]), dp=st.sampled_from([1, 2, 4]), ep=st.booleans())
def test_expert_shards_cover_the_model(tp, dp, ep):
    """Every rank's experts times the ranks is at least one whole copy (shards cover it)."""
    mixtral = load_model("mixtral-8x7b")
    if 14336 % (tp * dp) and not ep:
        return
    moe = MoEParallel.of(tp, dp, ep)
    rank = weights_footprint(mixtral, "bf16", tp=tp, moe=moe).stages[0].params_by_part["experts"]
    whole = weights_footprint(mixtral, "bf16").by_part["experts"] // 2
    assert rank * tp * dp >= whole


def test_request_shards_moe_over_dp_and_fits_dp_attention(dsv3):
    # 671B in FP8 does not fit one H200; DP 8 with EP (DeepSeek-style DP attention:
    # attention replicated per rank, latents per rank, experts split) fits each rank.
    single = plan(make_request(dsv3, "h200", max_model_len="32k"))
    assert single.kv_pool_bytes < 0
    req = make_request(dsv3, "h200", dp=8, enable_expert_parallel=True, max_model_len="32k")
    assert req.moe_parallel == MoEParallel(1, 8)
    pool = plan(req)
    assert pool.kv_pool_bytes > 0
    assert pool.weights.moe_ep == 8 and pool.weights.moe_tp == 1
    # each DP rank holds its own MLA latents: the deployment holds dp x the replica's requests
    assert pool.serves(4096, pool.max_requests(4096))
    # vLLM shards MoE over dp even without EP (slices of every expert): the same bytes to within the scales
    sliced = plan(make_request(dsv3, "h200", dp=8, max_model_len="32k"))
    assert sliced.weights.moe_tp == 8 and 0 < sliced.weights_bytes - pool.weights_bytes < 2 * 10**9


def test_dense_model_dp_keeps_replicas_whole():
    s = load_model("llama3.1-8b")
    assert plan(make_request(s, "h100", dp=4)).weights_bytes == plan(make_request(s, "h100")).weights_bytes


def test_moe_parallel_refusals(dsv3):
    with pytest.raises(BadInputError, match="has no experts"):
        make_request(load_model("llama3.1-8b"), "h100", tp=2, enable_expert_parallel=True)
    with pytest.raises(ShapeError, match="only 8 experts"):
        make_request(load_model("mixtral-8x7b"), "h100", tp=4, dp=4, enable_expert_parallel=True)
    with pytest.raises(ShapeError, match="cannot slice"):
        make_request(load_model("mixtral-8x7b"), "h100", tp=1, dp=3)
    with pytest.raises(BadInputError, match="true or false"):
        make_request(dsv3, "h200", enable_expert_parallel="yes")


def test_replace_keeps_expert_parallel(dsv3):
    req = make_request(dsv3, "h200", dp=8, enable_expert_parallel=True)
    assert req.replace(kv_format="fp8").enable_expert_parallel
