"""The block-hash prefix cache: hits, the last-token rule, tail-first LRU eviction, CPU/disk tiers.

Requests carry Mooncake-style prefix-block ids of H = 4 tokens each (equal ids = equal
tokens up to that block's end); the engine block is B = 2 tokens, so engine block j is
named (id of the hash block holding its last token, j). Requests arrive 10 s apart so
each runs alone (step 1 s, 0.25 s per prompt token).
"""

from __future__ import annotations

import pytest

from kvplan.fragment.config import ServingConfig, Tiers
from kvplan.fragment.policies import parse_policy
from kvplan.fragment.prefix_cache import BlockCache, Tier
from kvplan.fragment.simulator import _KEY_SPAN, simulate
from kvplan.fragment.timing import ConstantStepTime
from kvplan.fragment.workloads import from_lengths

STEP = ConstantStepTime(step_s=1.0, prefill_token_s=0.25, source="test")


def k(hash_id, j):
    return hash_id * _KEY_SPAN + j


def run(prompts, hashes, pool, tiers=None, policy="paged-2-share"):
    wl = from_lengths(prompts, [1] * len(prompts), arrival_s=[10.0 * i for i in range(len(prompts))],
                      hash_ids=hashes, hash_block=4, max_model_len=64)
    cfg = ServingConfig(step_time=STEP, tiers=tiers or Tiers())
    return simulate(wl, parse_policy(policy), pool, max_model_len=64, watermark=0.0, serving=cfg)


# r1: 8 tokens, ids [10, 11] -> engine blocks (10,0) (10,1) (11,2) (11,3)
# r2: 8 tokens, ids [10, 12] -> (10,0) (10,1) (12,2) (12,3): shares r1's first 4 tokens
# r3: 6 tokens, ids [10, 11] -> (10,0) (10,1) (11,2): r1's first 6 tokens, but the last must be computed
PROMPTS = [8, 8, 6]
HASHES = [[10, 11], [10, 12], [10, 11]]


def test_hits_and_the_last_token_rule():
    # r1: nothing cached, 8 tokens computed.
    # r2: (10,0) (10,1) cached -> 4 tokens served; 4 computed.
    # r3: all 3 blocks cached, but vLLM recomputes at least a prompt's last token: hits are capped at
    #     (6 - 1) // 2 = 2 blocks = 4 tokens; block (11,2) is referenced (no new memory) and recomputed.
    # hit rate = (0 + 4 + 4) / (8 + 8 + 6) = 8 / 22
    res = run(PROMPTS, HASHES, 64)
    c = res.cache
    assert (c.prompt_tokens, c.gpu_hit_tokens, c.hit_tokens) == (22, 8, 8)
    assert c.hit_rate == 8 / 22
    assert res.timing.prefill_tokens == 8 + 4 + 2
    # TTFT: 1 + 0.25 x computed tokens: 3.0, 2.0, 1.5
    assert res.timing.ttft_s == ((3.0 + 2.0 + 1.5) / 3, 2.0, 3.0)
    assert c.evicted_blocks == 0 and "hash_ids (4-token" in c.key_source


def test_without_sharing_nothing_hits():
    res = run(PROMPTS, HASHES, 64, policy="paged-2")
    assert res.cache is None and res.timing.prefill_tokens == 22


def test_one_free_queue_tail_blocks_first():
    # vLLM 0.8.0-0.23.0 (every release kvplan models): ONE free queue; new blocks come from its head,
    # whatever is there, and a request's blocks are freed tail first to its tail. Pool 12 tokens =
    # 6 blocks, queue [6 unnamed].
    # r1: takes 4 for its keyed blocks and 1 for its 9th token (decode): [1 unnamed]. At its end its
    #     own block, then its keys tail first, join the tail: [2 unnamed, (11,3) (11,2) (10,1) (10,0)].
    # r2: hits (10,0) (10,1) (out of the queue), takes the 2 unnamed for (12,2) (12,3); its 9th token
    #     takes the head, evicting (11,3). At its end: [(11,2), 1 unnamed, (12,3) (12,2) (10,1) (10,0)].
    # r3: (10,0) (10,1) (11,2) are cached but its hit stops at (6 - 1) // 2 = 2 blocks; its last
    #     prompt block is a fresh one, from the head: (11,2) is evicted. 4 tokens served.
    # The old rule (unnamed free blocks first, then the LRU) evicted 1 block here, not 2.
    res = run(PROMPTS, HASHES, 12)
    assert res.cache.evicted_blocks == 2 and res.cache.hit_tokens == 8
    # r3 decodes into the unnamed block, and at its end: [(12,3) (12,2), 2 unnamed, (10,1) (10,0)].
    # r4 = r1's prompt again (9 tokens, ids [10, 11, 13]): (11,2) is gone, so 2 blocks = 4 tokens hit
    # (the old rule: 6); its 3 new blocks evict (12,3) (12,2) and take 1 unnamed: 4 evictions.
    res = run(PROMPTS + [9], HASHES + [[10, 11, 13]], 12)
    assert (res.cache.evicted_blocks, res.cache.hit_tokens, res.cache.prompt_tokens) == (4, 8 + 4, 31)


def test_a_whole_prompt_hit_computes_its_last_block_into_a_fresh_block():
    # vLLM caps a hit at P - 1 tokens and allocates a new block for the rest (v0.10.0
    # kv_cache_manager.py:178-186); the cached copy stays in the free queue. Pool 10 tokens = 5 blocks.
    # r1: 8 tokens [10, 11] + 1 decoded: all 5 blocks; at its end [1 unnamed, (11,3) (11,2) (10,1) (10,0)].
    # r2: the same prompt: hits 3 blocks (6 tokens), takes the unnamed block for its last prompt
    #     block and, for its 9th token, the head: (11,3) is evicted. The old rule referenced (11,3)
    #     instead (one block fewer held) and evicted nothing.
    res = run([8, 8], [[10, 11], [10, 11]], 10)
    assert (res.cache.hit_tokens, res.cache.evicted_blocks) == (6, 1)
    assert res.timing.prefill_tokens == 8 + 2


def test_eagle_and_mtp_drop_the_last_matched_block():
    # find_longest_cache_hit pops the last matched block with use_eagle (v0.19.1
    # single_type_kv_cache_manager.py:457): r2 keeps 1 of its 2 cached blocks (2 tokens), r3 1 of
    # its 2 (2 tokens): 4 tokens hit instead of 8.
    wl = from_lengths(PROMPTS, [1] * 3, arrival_s=[0.0, 10.0, 20.0], hash_ids=HASHES, hash_block=4, max_model_len=64)
    for drop, hit in ((False, 8), (True, 4)):
        cfg = ServingConfig(step_time=STEP, drops_last_hit_block=drop)
        res = simulate(wl, parse_policy("paged-2-share"), 64, max_model_len=64, watermark=0.0, serving=cfg)
        assert res.cache.hit_tokens == hit
        assert res.timing.prefill_tokens == 22 - hit


def test_share_policy_has_no_watermark():
    # vLLM V1's KVCacheManager admits while the new blocks fit the free ones (no watermark);
    # paged-B keeps V0's: a 40-token prompt (20 blocks) with a 50% watermark of 32 blocks does not fit.
    from kvplan.errors import DoesNotFitError

    wl = from_lengths([40], [1], hash_ids=[list(range(10))], hash_block=4, max_model_len=64)
    assert parse_policy("paged-2-share").watermark_applies is False and parse_policy("paged-2").watermark_applies
    res = simulate(wl, parse_policy("paged-2-share"), 64, max_model_len=64, watermark=0.5)
    assert res.completed == 1
    with pytest.raises(DoesNotFitError):
        simulate(wl, parse_policy("paged-2"), 64, max_model_len=64, watermark=0.5)


def test_cpu_tier_serves_what_the_gpu_evicted():
    # As above with a CPU tier of 2 blocks (bytes_per_token 1 B, so a 2-token block is 2 B): the
    # evicted (11,3) and (11,2) move to the CPU instead of being dropped ((12,3) and (12,2), evicted
    # for r4 itself, come after its lookup). r4 finds (10,0) (10,1) on the GPU and (11,2) (11,3) on
    # the CPU: 8 tokens served (4 GPU + 4 CPU), 1 computed. Loading 2 blocks at a 4 B/s host link
    # takes 4 B / 4 B/s = 1 s (added to the step); computing their 4 tokens would have taken
    # 4 x 0.25 = 1 s. r4's TTFT: 1 + 0.25 x 1 + 1 = 2.25 s.
    tiers = Tiers(cpu_bytes=4, bytes_per_token=1, host_bandwidth=4, host_bandwidth_source="test")
    res = run(PROMPTS + [9], HASHES + [[10, 11, 13]], 12, tiers=tiers)
    c = res.cache
    assert (c.gpu_hit_tokens, c.tier_hit_tokens, c.hit_tokens) == (12, (4, 0), 16)
    assert c.tier_names == ("cpu", "disk") and c.tier_capacity_tokens == (4, 0)
    assert c.tier_peak_tokens[0] == 4 and c.transfer_s == 1.0 and c.recompute_s_avoided == 1.0
    assert res.timing.ttft_s[1:] == (2.0, 3.0)  # p50 of 3.0, 2.0, 1.5, 2.25 is 2.0
    assert res.timing.prefill_tokens == 8 + 4 + 2 + 1


def test_disk_tier_below_cpu():
    # A CPU tier of 0 bytes and a disk tier: evictions fall through to disk; loads run at the slower
    # of disk (2 B/s) and host link (4 B/s): 2 blocks, 4 B / 2 B/s = 2 s.
    tiers = Tiers(cpu_bytes=0, disk_bytes=4, bytes_per_token=1, host_bandwidth=4, disk_bandwidth=2)
    res = run(PROMPTS + [9], HASHES + [[10, 11, 13]], 12, tiers=tiers)
    assert res.cache.tier_hit_tokens == (0, 4) and res.cache.transfer_s == 2.0


def test_block_cache_unit():
    cache = BlockCache([Tier("cpu", 1)])
    cache.register([1, 2, 3])
    cache.acquire([1])  # a second reader of block 1
    assert cache.referenced == 3 and cache.ref == {1: 2, 2: 1, 3: 1}
    cache.release([1, 2, 3])  # tail first: 3, then 2 become evictable; 1 still has a reader
    assert list(cache.lru) == [3, 2] and cache.evictable == 2 and cache.referenced == 1
    assert cache.lookup([1, 2, 3, 4], 4) == (3, 2, [0])
    cache.evict(2)  # 3 then 2 leave the GPU; the CPU tier (1 block) keeps the latest, 2
    assert list(cache.tiers[0].keys) == [2] and cache.evicted == 2 and cache.evictable == 0
    assert cache.lookup([1, 2, 3], 3) == (1, 0, [1])  # 1 on the GPU, then 2 on the CPU, 3 nowhere
    assert cache.lookup([1, 2, 3], 1) == (1, 0, [0])  # the tier count respects the limit


def test_samples_share_their_prompt_and_system_prompt_is_stored_once():
    # n = 2 samples, system prompt 4, prompt 4 (8 tokens), outputs 1 and 3, block 2: the 3 full blocks
    # before the prompt's last token are keyed (2 system prompt blocks and 1 of the request's own),
    # stored once and read by both samples; the 4th, holding the last token, each sample computes
    # into a block of its own (vLLM V1: a child's hit stops at num_tokens - 1, see
    # simulator.keys_of). Shared reads per step = (readers - 1) x 6 tokens while both run.
    wl = from_lengths([4], [(1, 3)], system_prompt=4, max_model_len=64)
    res = simulate(wl, parse_policy("paged-2-share"), 64, max_model_len=64, watermark=0.0)
    # steps 1-2 both samples read the 3 blocks (6 tokens, 1 extra reader); steps 3-4 one sample
    assert res.usage.shared_reads == 6 * 2
    assert res.served_share == (res.usage.token + 12) / res.accounted
    assert res.cache.key_source.startswith("system prompt blocks and each request")


def test_key_naming_matches_mooncake_prefix_semantics():
    # Two Mooncake rows sharing their first 12 ids share 12 x 512 = 6,144 tokens (the trace README's
    # example): with 16-token engine blocks, exactly 6,144 / 16 = 384 engine blocks have equal keys.
    a = list(range(12)) + [100, 101]
    b = list(range(12)) + [200]
    wl = from_lengths([6955, 6472], [1, 1], hash_ids=[a, b], hash_block=512, max_model_len=8192)
    res = simulate(wl, parse_policy("paged-16-share"), 20_000, max_model_len=8192)
    assert res.cache.gpu_hit_tokens == 6144


@pytest.mark.parametrize("bad", [[[1]], [[1, 2, 3]]])
def test_hash_ids_must_cover_the_prompt(bad):
    from kvplan.errors import BadInputError

    with pytest.raises(BadInputError, match="hash ids for a 8-token prompt"):
        from_lengths([8], [1], hash_ids=bad, hash_block=4)


def test_evictable_count_follows_the_lru():
    # The count the simulator reads every step is kept as a field: it must equal the blocks in the
    # free queue (keys, and runs of unnamed blocks) after any sequence of register / acquire /
    # release / append_free / evict.
    import random

    rng = random.Random(7)
    cache = BlockCache([Tier("cpu", 3)])
    held: list[list[int]] = []
    nxt = 0
    for _ in range(2000):
        op = rng.random()
        if op < 0.35:
            keys = list(range(nxt, nxt + rng.randint(1, 4)))
            nxt += len(keys)
            cache.register(keys)
            held.append(keys)
        elif op < 0.55 and any(n is None for n in cache.lru.values()):
            k = next(k for k, n in cache.lru.items() if n is None)
            cache.acquire([k])
            held.append([k])
        elif op < 0.8 and held:
            cache.release(held.pop(rng.randrange(len(held))))
        elif op < 0.9:
            cache.append_free(rng.randint(0, 3))
        elif cache.evictable:
            cache.evict(rng.randint(1, cache.evictable))
        assert cache.evictable == sum(1 if n is None else n for n in cache.lru.values())
        assert all(cache.ref[k] == 0 for k, n in cache.lru.items() if n is None)


def test_free_queue_takes_from_the_head_whatever_is_there():
    cache = BlockCache()
    cache.append_free(2)
    cache.register([1, 2])
    cache.release([1, 2])  # tail first: queue [2 unnamed, 2, 1]
    cache.append_free(1)
    cache.append_free(2)  # merged with the run at the tail: [2 unnamed, 2, 1, 3 unnamed]
    assert cache.evictable == 7 and len(cache.lru) == 4
    cache.evict(1)  # from the run at the head
    assert (cache.evictable, cache.evicted, sorted(cache.ref)) == (6, 0, [1, 2])
    cache.evict(2)  # the run's last block, then key 2
    assert (cache.evictable, cache.evicted, sorted(cache.ref)) == (4, 1, [1])
    assert cache.lookup([1, 2], 2) == (1, 1, [])
    cache.evict(2)  # key 1 and one unnamed block
    assert (cache.evictable, cache.evicted, cache.ref) == (2, 2, {})
    assert list(cache.lru.values()) == [2]


def test_trace_samples_share_the_blocks_before_the_prompts_last_token():
    # A 4-token prompt named by trace hash ids (2-token hash blocks = engine blocks), n = 2: the
    # samples share 1 block ((4 - 1) // 2; the block holding the last token is each sample's own):
    # 3 blocks at the prompt, 5 at 5 tokens: (3 + 5) x 2 = 16 slots; 1 shared block read by 1 extra
    # sample for 2 steps = 4 shared reads. Sharing the whole prompt would give (2 + 4) x 2 = 12.
    wl = from_lengths([4], [(1, 1)], hash_ids=[[1, 2]], hash_block=2, max_model_len=8)
    res = simulate(wl, parse_policy("paged-2-share"), 16, max_model_len=8, watermark=0.0)
    assert (res.usage.allocated, res.usage.shared_reads) == (16, 4)
    # Counted as vLLM counts the 2 child requests: 2 x 4 queried, the second child hits the 1 block.
    assert (res.cache.prompt_tokens, res.cache.gpu_hit_tokens) == (8, 2)
    # Alone (n = 1) the request names both of its blocks: a later request extending the prompt hits both.
    wl = from_lengths([4, 6], [1, 1], hash_ids=[[1, 2], [1, 2, 3]], hash_block=2, max_model_len=8)
    res = simulate(wl, parse_policy("paged-2-share"), 16, max_model_len=8, max_seqs=1, watermark=0.0)
    assert res.cache.gpu_hit_tokens == 4


def test_each_sample_is_counted_as_vllm_counts_its_child_requests():
    # vLLM V1 runs n samples as n child requests, each recording its lookup: queries += num_tokens,
    # hits += the hit (v0.19.1 vllm/v1/core/kv_cache_manager.py:208-214, metrics/stats.py:131-142).
    # One request, P = 33, B = 16, n = 4, empty cache: the first child hits nothing, each of the 3
    # others the (33 - 1) // 16 = 2 blocks the first one named: queries 4 x 33 = 132, hits
    # 3 x 2 x 16 = 96. Prefill computed: 33 (the first) + 3 x 1 (the others' last token) = 36 =
    # 132 - 96, so "prefill tokens saved" = 96.
    wl = from_lengths([33], [(1, 1, 1, 1)], max_model_len=64)
    res = simulate(wl, parse_policy("paged-16-share"), 256, max_model_len=64, watermark=0.0)
    c = res.cache
    assert (c.prompt_tokens, c.gpu_hit_tokens, c.hit_tokens, c.hit_rate) == (132, 96, 96, 96 / 132)
    assert (res.timing.prefill_tokens, res.timing.recomputed_tokens) == (36, 0)
    # Plus the real hits: a 16-token system prompt and 17 own tokens (P = 33), n = 2, two requests.
    # Request 1: its first child misses the system prompt block, the second hits 2 blocks: 32 of 66.
    # Request 2: its first child hits the cached system prompt block (16), the second 2 blocks (32):
    # 48 of 66. Queries 132, hits 80; computed 34 + 18 = 52 = 132 - 80.
    wl = from_lengths([17, 17], [(1, 1), (1, 1)], system_prompt=16, arrival_s=[0.0, 10.0], max_model_len=64)
    res = simulate(wl, parse_policy("paged-16-share"), 256, max_model_len=64, watermark=0.0,
                   serving=ServingConfig(step_time=STEP))
    assert (res.cache.prompt_tokens, res.cache.gpu_hit_tokens) == (132, 80)
    assert res.timing.prefill_tokens == 52
    # n = 1 is unchanged: a request is one lookup; request 2 hits the system prompt block only.
    wl = from_lengths([17, 17], [1, 1], system_prompt=16, arrival_s=[0.0, 10.0], max_model_len=64)
    res = simulate(wl, parse_policy("paged-16-share"), 256, max_model_len=64, watermark=0.0,
                   serving=ServingConfig(step_time=STEP))
    assert (res.cache.prompt_tokens, res.cache.gpu_hit_tokens, res.timing.prefill_tokens) == (66, 16, 50)
