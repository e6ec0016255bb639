"""Impossible verdicts, as hypothesis properties over random valid specs and deployments.

A "fits" verdict must mean one request of max_model_len really fits, and no concurrency the
pool reports may exceed what it holds. Both are checked against an independent count: the
bytes a request keeps in each pipeline stage's layers (each layer kind's own engine block
rule, times its page bytes), which every stage's KV pool must hold. State-space hybrids
under pipeline parallelism are drawn on purpose: a stage holding only state layers used to
bind the pool with one block per request, so `capacity` said "fits" with 0 KV tokens and a
concurrency of 273,113x.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from helpers import toy_spec
from kvplan.capacity import make_request, plan
from kvplan.errors import KvplanError

#: A later vLLM pipeline stage receives the tensors the architecture names (vllm_rules.VLLM_INTERMEDIATE_TENSORS;
#: an unnamed one is refused at pp > 1): the pp tests' toy models are Llama-like.
ARCH = "LlamaForCausalLM"

KINDS = {
    "full": {"kind": "full_attention"},
    "slide": {"kind": "sliding_window", "window": 1024},
    "chunk": {"kind": "chunked_local", "chunk": 8192},
    "ssm": {"kind": "state_space", "conv_dim": 768, "conv_kernel": 4, "ssm_heads": 8, "ssm_head_dim": 64,
            "ssm_state_size": 128},
    "shared": {"kind": "shared_kv", "source_layer": 0},
}


@st.composite
def deployments(draw):
    n_layers = draw(st.integers(1, 24))
    names = draw(st.lists(st.sampled_from(sorted(KINDS)), min_size=n_layers, max_size=n_layers))
    names[0] = draw(st.sampled_from(["full", "slide", "ssm"]))  # layer 0 holds a cache: shared layers read it
    kv_heads = draw(st.sampled_from([1, 2, 4, 8]))
    spec = toy_spec(num_layers=n_layers, num_kv_heads=kv_heads, num_attention_heads=8 * kv_heads,
                    hidden_size=1024 * kv_heads, max_position_embeddings=draw(st.sampled_from([4096, 32768, 131072])),
                    cache={"kinds": {n: KINDS[n] for n in set(names)}, "layer_types": names})
    options = dict(
        tp=draw(st.sampled_from([1, 2, 4])),
        pp=draw(st.integers(1, min(4, n_layers))),
        engine=draw(st.sampled_from(["vllm", "vllm==0.10.2", "vllm==0.12.0", "sglang", "trtllm", "raw"])),
        kv_format=draw(st.sampled_from(["bf16", "fp8"])),
        gpu_mem_bytes=draw(st.sampled_from([None, "6GiB", "24GiB"])),
        max_model_len=draw(st.sampled_from([None, 1000, 8192, 100_000])),
        block_size=draw(st.sampled_from([None, 16, 32])),
    )
    gpu = None if options["gpu_mem_bytes"] else draw(st.sampled_from(["h100-sxm", "a100-80gb-sxm", "l4"]))
    return spec, gpu, options


def _pool(case):
    spec, gpu, options = case
    try:
        return plan(make_request(spec, gpu, **options))
    except KvplanError:
        assume(False)  # a deployment kvplan refuses (tp vs heads, engine vs GPU ...) says nothing here


def stage_demand_bytes(pool, stage: int, n: int) -> int:
    """Bytes one request of ``n`` tokens keeps in the layers of ``stage`` on one GPU, counted
    layer by layer, whatever the grouping: each layer as the engine allocates it (a release
    without the hybrid allocator stores a window layer as full attention) takes its kind's
    engine block rule in pages of its page bytes."""
    step = pool.settings.max_num_batched_tokens
    return sum(s.count * s.kind.engine_blocks_per_request(n, s.block_size, step) * s.page_bytes
               for s in pool.pages.layouts[stage].layers)


def test_stage_demand_counts_every_layer_of_the_stage():
    cache = {"kinds": {"a": {"kind": "full_attention"}, "w": KINDS["slide"]}, "layer_types": ["a", "w", "w", "a"]}
    pool = plan(make_request(toy_spec(num_layers=4, cache=cache, architecture=ARCH), "h100-sxm", pp=2))
    # stage 0: layers 0 (full) and 1 (window 1024): 8k tokens in pages of 16 tokens x 8 heads x 256 values x 2 B
    page = 16 * 8 * 256 * 2
    window_pages = -(-min(1024 - 1 + pool.settings.max_num_batched_tokens, 8192) // 16) + 1
    assert stage_demand_bytes(pool, 0, 8192) == (512 + window_pages) * page


#: Examples per property; KVPLAN_PROPERTY_EXAMPLES=2000 for a longer hunt.
PROPERTY = settings(max_examples=int(os.environ.get("KVPLAN_PROPERTY_EXAMPLES", "150")), deadline=None,
                    suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])


@PROPERTY
@given(deployments())
def test_fits_means_one_request_of_max_model_len_fits(case):
    pool = _pool(case)
    verdict = pool.verdict()
    if not verdict:
        return
    n = pool.max_model_len
    assert pool.kv_pool_bytes > 0
    assert 1 <= pool.blocks_per_request(n) <= pool.num_blocks
    for i, stage in enumerate(pool.stages):
        assert stage_demand_bytes(pool, i, n) <= stage.kv_pool_bytes, f"stage {i} cannot hold one request"


@PROPERTY
@given(deployments(), st.sampled_from([1, 100, 4096, 50_000]))
def test_concurrency_never_exceeds_what_the_pool_holds(case, n):
    pool = _pool(case)
    assume(n <= pool.max_model_len and pool.paged and pool.kv_pool_bytes > 0)
    per = pool.blocks_per_request(n)
    fit = pool.memory_requests(n)
    assert fit * per <= pool.num_blocks
    assert pool.memory_concurrency(n) <= pool.num_blocks / per + 0.005
    assert pool.max_requests(n) <= fit
    # TensorRT-LLM rounds its block count up (kvplan.paging round_blocks_up): it allocates up
    # to one block more than the fraction's bytes, so a stage may hold that much more
    slack = pool.layout.unit_bytes if pool.paging.round_blocks_up else 0
    for i, stage in enumerate(pool.stages):
        assert fit * stage_demand_bytes(pool, i, n) <= stage.kv_pool_bytes + slack, f"stage {i} overcommitted"


@PROPERTY
@given(deployments(), st.sampled_from([1, 100, 4096]))
def test_max_requests_is_exactly_what_runs_answers(case, n):
    """max_requests counts what runs at once in a deployment that starts (Pool.start_bound: 0 where
    it does not, as capacity, sweep and check say since stop 26), so it is exactly what ``runs``
    (start-up, then ``serves``) answers, not ``serves`` alone."""
    pool = _pool(case)
    assume(n <= pool.max_model_len)
    count = pool.max_requests(n)
    if count:
        assert pool.runs(n, count)
    assert not pool.runs(n, count + 1)


def test_a_deployment_that_does_not_start_runs_nothing_though_memory_holds_a_short_request():
    """The example a random draw found against the old property (max_requests against serves):
    raw on 6 GiB, one full-attention and 16 chunked-local layers (chunk 8,192), max_model_len
    4,096: one request of 4,096 does not fit, so the deployment does not start (start_bound
    "max_model_len") and runs no request, though the memory alone holds a 1-token one."""
    import dataclasses

    from kvplan.layers import ChunkedLocal, FullAttention

    spec = toy_spec(num_layers=17)
    spec = dataclasses.replace(spec, max_position_embeddings=4096, layers=(
        FullAttention(kv_heads=4, head_dim=128, v_head_dim=128),
        *(ChunkedLocal(kv_heads=4, head_dim=128, v_head_dim=128, chunk=8192) for _ in range(16))))
    pool = plan(make_request(spec, None, engine="raw", kv_format="bf16", gpu_mem_bytes="6GiB"))
    assert pool.start_bound() == "max_model_len"
    assert pool.max_requests(1) == 0 and not pool.runs(1, 1)
    assert pool.serves(1, 1) and pool.memory_requests(1) == 63


@PROPERTY
@given(deployments(), st.sampled_from([1, 4, 64]))
def test_longest_context_is_served(case, batch):
    pool = _pool(case)
    longest = pool.longest_context(batch)
    if longest:
        assert pool.serves(longest, batch)
        assert longest == pool.max_model_len or not pool.serves(longest + 1, batch)


def test_state_layers_alone_on_a_stage_do_not_bind_the_pool():
    """The case found by the hostile run: 1 attention layer + 7 Mamba layers over pp 2. Stage 1
    holds only state layers; every request still needs its attention blocks (vLLM groups the
    whole model's layers: kv_cache_utils.get_kv_cache_configs)."""
    cache = {"kinds": {"a": {"kind": "full_attention"}, "m": KINDS["ssm"]}, "layer_types": ["a"] + ["m"] * 7}
    spec = toy_spec(architecture=ARCH, num_layers=8, num_kv_heads=2, num_attention_heads=4, hidden_size=256, head_dim=64,
                    vocab_size=1000, intermediate_size=512, max_position_embeddings=4096, cache=cache)
    pool = plan(make_request(spec, "h100-sxm", pp=2))
    assert pool.kv_cache_tokens > 0
    # 8 block tables (group size 1: 1 attention layer vs 7 state layers), block size raised to
    # 272 so an attention page holds a state; a request of 4096 tokens: cdiv(4096, 272) = 16
    # attention blocks + 7 state blocks.
    assert (pool.block_size, pool.layout.tokens_divisor, pool.blocks_per_request(4096)) == (272, 8, 23)
    assert pool.memory_concurrency(4096) == round(pool.num_blocks / 23, 2)
    assert pool.memory_concurrency(4096) < 25_000


@pytest.mark.parametrize("pp", [2, 4])
def test_pipeline_stages_page_the_whole_model_alike(pp):
    """Every stage pages with the whole model's block size and block tables; only the bytes
    a block costs on each GPU differ."""
    cache = {"kinds": {"a": {"kind": "full_attention"}, "m": KINDS["ssm"]},
             "layer_types": ["m", "m", "m", "a"] * 4}
    spec = toy_spec(num_layers=16, cache=cache, architecture=ARCH)
    pool = plan(make_request(spec, "h100-sxm", pp=pp))
    whole = plan(make_request(spec, "h100-sxm"))
    assert {lay.block_size for lay in pool.layouts} == {whole.block_size}
    assert {lay.groups for lay in pool.layouts} == {whole.layout.groups}


def test_releases_that_group_per_worker_refuse_stages_of_different_kinds():
    """vLLM up to 0.10.2 groups each worker's layers and asserts every worker's groups are
    rank 0's (unify_kv_cache_configs): full attention on two stages and a window on the third
    does not start. Planned with the first stage's groups, a request needed 1 block there and 2
    on the window stage, and 669,019 requests of 1 token were said to fit in 669,020 blocks."""
    cache = {"kinds": {"full": KINDS["full"], "slide": KINDS["slide"]}, "layer_types": ["full", "full", "slide"]}
    spec = toy_spec(num_layers=3, num_kv_heads=1, num_attention_heads=8, hidden_size=1024, cache=cache, architecture=ARCH)
    with pytest.raises(KvplanError) as err:
        plan(make_request(spec, None, gpu_mem_bytes="6GiB", pp=3, engine="vllm==0.10.2"))
    assert str(err.value).startswith("vllm==0.10.2: pipeline stages whose KV cache groups differ")
    pool = plan(make_request(spec, None, gpu_mem_bytes="6GiB", pp=3, engine="vllm==0.11.0"))
    for i, stage in enumerate(pool.stages):
        assert pool.memory_requests(1) * stage_demand_bytes(pool, i, 1) <= stage.kv_pool_bytes
