"""The event-driven simulator agrees, to the integer, with a plain step-by-step one.

``reference`` below walks every step and every sequence, keeps each sample's chunk or
block count explicitly, and measures the pool directly; it shares no code with
kvplan.fragment.simulator or its closed-form sums. Hypothesis draws small workloads,
pools, block sizes, caps and watermarks; every Usage sum, the preemption count, the
peak batch and the step count must match exactly. The reference also checks, at every
step, that stored tokens never exceed what is allocated and allocation never exceeds
the pool (conservation), and that a paged sample wastes less than one block.
"""

from __future__ import annotations

from collections import deque

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from kvplan.errors import DoesNotFitError
from kvplan.fragment.metrics import WAIT_SEATS
from kvplan.fragment.policies import parse_policy
from kvplan.fragment.simulator import simulate
from kvplan.fragment.workloads import from_lengths


def cdiv(a, b):
    return -(-a // b)


def buddy_place(slots, size):
    """Where a buddy allocator puts a chunk of ``size`` (a power of two), from the occupancy
    map alone: the free blocks of a buddy allocator that merges eagerly are exactly the
    maximal free aligned blocks; it takes the smallest one that is large enough (lowest
    address first) and uses its start. None if there is none."""
    pool = len(slots)
    arenas, start = [], 0
    for order in range(pool.bit_length() - 1, -1, -1):
        if pool >> order & 1:
            arenas.append((start, order))
            start += 1 << order
    best = None
    for a_start, a_order in arenas:
        for order in range(size.bit_length() - 1, a_order + 1):
            step = 1 << order
            for first in range(a_start, a_start + (1 << a_order), step):
                if any(slots[first:first + step]):
                    continue
                parent = first & ~(2 * step - 1)
                if order < a_order and not any(slots[parent:parent + 2 * step]):
                    continue  # not maximal: its parent block is free too
                if best is None or (order, first) < best:
                    best = (order, first)
    return None if best is None else best[1]


def reference(wl, policy, pool, max_model_len, max_seqs, watermark, allocator="first-fit", look=0):
    """Step-by-step simulation of the documented rules; returns a dict of exact sums. ``look``:
    slots a sequence holds past its tokens (speculative decoding), never past max_model_len
    (vLLM allocate_slots: min(tokens + lookahead, max_model_len))."""
    S, n = wl.system_prompt, wl.n
    B = policy.block_size

    def blocks(length):  # a paged sample's blocks, its lookahead included
        return cdiv(min(length + look, max_model_len) if look else length, B)

    paged = not policy.contiguous
    out = dict(seq_steps=0, token=0, allocated=0, fillable=0, allocated_waiting=0, waiting_steps=0,
               rounding=0, preemptions=0, peak=0, completed=0, seat_steps=0, seat_allocated=0)
    if paged:
        num_blocks = pool // B
        sys_blocks = S // B if policy.share else 0
        free_blocks = num_blocks - sys_blocks
        wm = 0 if policy.share else int(watermark * num_blocks)  # -share: vLLM V1, no watermark
        sys_cached = False  # the system prompt's blocks, once computed, are never evicted here
        out.update(prompt_tokens=0, hit_tokens=0)
    else:
        slots = [False] * pool  # True = taken
    waiting = deque({"rid": i, "lens": None} for i in range(wl.num_requests))
    running = []  # groups in admission order
    step = 0
    while waiting or running:
        step += 1
        preempted = False
        # 1. decode
        if paged:
            needs = lambda g: sum(1 for q in g["seqs"] if blocks(q["len"] + 1) > blocks(q["len"]))
            demand = sum(needs(g) for g in running)
            while demand > free_blocks:
                victim = running.pop()
                demand -= needs(victim)
                for q in victim["seqs"]:
                    free_blocks += blocks(q["len"]) - victim["base_blocks"]
                free_blocks += victim["shared_blocks"]
                waiting.appendleft({"rid": victim["rid"], "lens": [q["len"] for q in victim["seqs"]],
                                    "finals": [q["final"] for q in victim["seqs"]]})
                out["preemptions"] += 1
                preempted = True
            free_blocks -= demand
        for g in running:
            for q in g["seqs"]:
                q["len"] += 1
        # 2. admission; a request left waiting waits for a seat (max_seqs) or for memory
        seats = False
        if not preempted:
            while waiting:
                head = waiting[0]
                P = S + wl.prompt_lens[head["rid"]]
                lens = head["lens"] or [P] * n
                finals = head.get("finals") or [P + o for o in wl.output_lens[head["rid"]]]
                if sum(len(g["seqs"]) for g in running) + len(lens) > max_seqs:
                    seats = True
                    break
                if paged:
                    # -share (vLLM V1): the n samples are n child requests, each of whose cache hit
                    # stops before the prompt's last token (v0.19.1 vllm/v1/core/kv_cache_manager.py:201
                    # max_cache_hit_length = num_tokens - 1; llm_engine.py:279-281 makes the children),
                    # so they share (P - 1) // B blocks: P = 2, B = 2, n = 2 holds 2 blocks, not 1.
                    # Alone (n = 1) it makes no difference which of its blocks count as the group's.
                    base_blocks = ((P - 1) // B if n > 1 else P // B) if policy.share else 0
                    shared_blocks = base_blocks - sys_blocks if policy.share else 0
                    need = shared_blocks + sum(blocks(x) - base_blocks for x in lens)
                    if free_blocks - need < wm:
                        break
                    free_blocks -= need
                    if policy.share and head["lens"] is None:
                        # vLLM V1's prefix-cache counters (v0.19.1 kv_cache_manager.py:208-214): each
                        # child request queries its P tokens; the first hits the system prompt's
                        # blocks if an earlier request computed them, the n - 1 others the base_blocks
                        # the first one named. A preempted request's return is not counted (0.11.1+
                        # preempted_* counters, as kvplan's first-admission figures).
                        out["prompt_tokens"] += n * P
                        out["hit_tokens"] += ((sys_blocks if sys_cached else 0) + (n - 1) * base_blocks) * B
                        sys_cached = True
                    g = {"rid": head["rid"], "base_blocks": base_blocks, "shared_blocks": shared_blocks,
                         "seqs": [{"len": x, "final": f} for x, f in zip(lens, finals)]}
                else:
                    g = {"rid": head["rid"], "seqs": []}
                    ok = True
                    for x, f in zip(lens, finals):
                        size = want = policy.reservation(f, max_model_len, P)
                        if look:
                            size = want = max(want, min(want + look, max_model_len))
                        if allocator == "buddy":
                            size = 1 << (size - 1).bit_length()
                            start = buddy_place(slots, size)
                        else:
                            start = next((a for a in range(pool - size + 1) if not any(slots[a:a + size])), None)
                        if start is None:
                            ok = False
                            break
                        slots[start:start + size] = [True] * size
                        g["seqs"].append({"len": x, "final": f, "start": start, "size": size, "want": want})
                    if not ok:
                        for q in g["seqs"]:
                            slots[q["start"]:q["start"] + q["size"]] = [False] * q["size"]
                        break
                waiting.popleft()
                running.append(g)
        out["peak"] = max(out["peak"], sum(len(g["seqs"]) for g in running))
        # 3. measure
        tok = alloc = fill = 0
        for g in running:
            for q in g["seqs"]:
                if paged:
                    base = g["base_blocks"] * B
                    a = B * blocks(q["len"])
                    assert a - q["len"] < B + look  # less than one block of waste per sample past its lookahead
                    tok += q["len"] - base
                    alloc += a - base
                    fill += min(a, q["final"]) - base
                else:
                    tok += q["len"]
                    alloc += q["size"]
                    fill += min(q["size"], q["final"])
                    out["rounding"] += q["size"] - q["want"]
                out["seq_steps"] += 1
            if paged:
                shared = g["shared_blocks"] * B
                tok, alloc, fill = tok + shared, alloc + shared, fill + shared
        if paged:
            sys_tokens = sys_blocks * B
            tok, alloc, fill = tok + sys_tokens, alloc + sys_tokens, fill + sys_tokens
            assert alloc == (num_blocks - free_blocks) * B
        else:
            assert alloc == sum(slots)
        assert tok <= fill <= alloc <= pool  # conservation
        out["token"] += tok
        out["allocated"] += alloc
        out["fillable"] += fill
        if waiting:
            out["waiting_steps"] += 1
            out["allocated_waiting"] += alloc
            if seats:
                out["seat_steps"] += 1
                out["seat_allocated"] += alloc
        # 4. completions
        for g in list(running):
            for q in list(g["seqs"]):
                if q["len"] == q["final"]:
                    g["seqs"].remove(q)
                    if paged:
                        free_blocks += blocks(q["final"]) - g["base_blocks"]
                    else:
                        slots[q["start"]:q["start"] + q["size"]] = [False] * q["size"]
            if not g["seqs"]:
                running.remove(g)
                if paged:
                    free_blocks += g["shared_blocks"]
                out["completed"] += 1
        assert step < 100_000
    out["steps"] = step
    return out


def _sums(res):
    """The simulator's figures the reference computes; with prefix caching, also its hit counts,
    and "prefill tokens saved" checked to be the prompt tokens first admissions did not compute."""
    u = res.usage
    got = dict(seq_steps=u.seq_steps, token=u.token, allocated=u.allocated, fillable=u.fillable,
               allocated_waiting=u.allocated_waiting, waiting_steps=u.waiting_steps, rounding=u.rounding,
               preemptions=res.preemptions, peak=res.peak_batch, completed=res.completed, steps=u.steps,
               seat_steps=u.wait_steps[WAIT_SEATS], seat_allocated=u.alloc_wait[WAIT_SEATS])
    if res.block_size is not None:  # paged
        c = res.cache
        got.update(prompt_tokens=c.prompt_tokens if c else 0, hit_tokens=c.hit_tokens if c else 0)
    if res.cache is not None:
        t = res.timing
        assert res.cache.hit_tokens == res.cache.prompt_tokens - (t.prefill_tokens - t.recomputed_tokens)
    return got


POLICIES = ["orca-max", "orca-pow2", "orca-pow2-output", "orca-oracle", "paged-1", "paged-2", "paged-3", "paged-4",
            "paged-8",
            "paged-2-share", "paged-3-share", "paged-4-share"]


@st.composite
def scenarios(draw):
    n = draw(st.integers(1, 3))
    num = draw(st.integers(1, 10))
    S = draw(st.integers(0, 9))
    prompts = draw(st.lists(st.integers(1, 20), min_size=num, max_size=num))
    outs = draw(st.lists(st.tuples(*[st.integers(1, 20)] * n), min_size=num, max_size=num))
    policy = parse_policy(draw(st.sampled_from(POLICIES)))
    max_model_len = draw(st.integers(S + 2, 64))
    wl = from_lengths(prompts, outs, system_prompt=S, max_model_len=max_model_len)
    pool = draw(st.integers(4, 400))
    max_seqs = draw(st.integers(n, 8))
    watermark = draw(st.sampled_from([0.0, 0.01, 0.05, 0.2]))
    allocator = draw(st.sampled_from(["first-fit", "buddy"]))
    return wl, policy, pool, max_model_len, max_seqs, watermark, allocator


def _two_requests(pool):
    """Found by hypothesis: request 2's prompt (2 tokens) is one whole block; its 2 samples share
    none of it (vLLM V1), so at pool 6 it does not fit alone, and at pool 8 it is preempted once."""
    wl = from_lengths([1, 2], [(1, 1), (1, 1)], system_prompt=0, max_model_len=3)
    return wl, parse_policy("paged-2-share"), pool, 3, 4, 0.0, "first-fit"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
@example(_two_requests(6))
@example(_two_requests(8))
def test_event_driven_equals_step_by_step(sc):
    wl, policy, pool, mml, max_seqs, watermark, allocator = sc
    try:
        res = simulate(wl, policy, pool, max_model_len=mml, max_seqs=max_seqs, watermark=watermark,
                       allocator=allocator)
    except DoesNotFitError:
        return  # one request alone does not fit: checked separately
    ref = reference(wl, policy, pool, mml, max_seqs, watermark, allocator)
    assert _sums(res) == ref
    # shares partition the accounted memory
    total = (res.token_state_share + res.reserved_share + res.internal_share + res.external_share
             + res.seat_cap_share + res.budget_cap_share + res.padding_share)
    assert total == pytest.approx(1.0)
    assert 0.0 <= res.token_state_share <= 1.0


@pytest.mark.parametrize("prompts, outs, pool, expected_allocated, expected_preemptions", [
    # P = 2, B = 2, n = 2 (block-aligned): each sample computes the prompt's only block into a block
    # of its own (a child's hit stops at P - 1 = 1 token, under one block): 2 blocks at the prompt,
    # 4 at 3 tokens: (2 + 4) x 2 = 12 token-slots (sharing the block would give (1 + 3) x 2 = 8).
    ([2], [(1, 1)], 12, 12, 0),
    # P = 4, B = 2: 1 shared block + 1 each = 3 blocks at the prompt, 5 at 5 tokens: (3 + 5) x 2 = 16.
    ([4], [(1, 1)], 10, 16, 0),
    # P = 3, B = 2 (not aligned): 1 shared block + a partial block each = 3 blocks at 3 and 4 tokens,
    # 5 at 5 tokens: (3 + 3 + 5) x 2 = 22.
    ([3], [(2, 2)], 10, 22, 0),
    # After a preemption, the same rule. Pool 5 blocks; request 1 (P = 1) holds 2 blocks, request 2
    # (P = 4) 3: 10 slots at step 1. Step 2 request 2 needs 2 more: preempted (its shared block stays
    # cached); request 1 holds 2 blocks (4) and ends. Step 3 request 2 returns: the cached block hit,
    # 1 block each: 3 (6); step 4: 5 blocks (10). 10 + 4 + 6 + 10 = 30 (28 with the whole prompt shared).
    ([1, 4], [(1, 1), (1, 1)], 10, 30, 1),
    # Not aligned, P = 3: 5 + 5 blocks at steps 1-2 (20); step 3 both need 2 blocks, request 2 is
    # preempted: request 1 holds 4 (8) and ends; then request 2 holds 3 blocks at 4 tokens (6) and
    # 5 at 5 tokens (10): 20 + 8 + 6 + 10 = 44.
    ([1, 3], [(2, 2), (2, 2)], 10, 44, 1),
])
def test_samples_share_the_blocks_before_the_prompts_last_token(prompts, outs, pool, expected_allocated,
                                                               expected_preemptions):
    """vLLM V1 runs n samples as n child requests (v0.19.1 vllm/v1/engine/llm_engine.py:279-281),
    each of whose prefix-cache hit stops at num_tokens - 1 tokens (kv_cache_manager.py:201): the
    samples share (P - 1) // B prompt blocks, at the first admission and after a preemption."""
    wl = from_lengths(prompts, outs, max_model_len=6)
    policy = parse_policy("paged-2-share")
    res = simulate(wl, policy, pool, max_model_len=6, max_seqs=4, watermark=0.0)
    ref = reference(wl, policy, pool, 6, 4, 0.0)
    assert (res.usage.allocated, res.preemptions) == (expected_allocated, expected_preemptions)
    assert (ref["allocated"], ref["preemptions"]) == (expected_allocated, expected_preemptions)
    assert res.usage.token == ref["token"]
    # each sample's first lookup counted (vLLM V1 child requests); a return after a preemption not
    assert (res.cache.prompt_tokens, res.cache.hit_tokens) == (ref["prompt_tokens"], ref["hit_tokens"])


def test_block_aligned_prompt_with_two_samples_needs_a_block_each():
    """P = 2, B = 2, n = 2, 1 output token each: 2 blocks each at 3 tokens, 4 blocks (8 slots); a
    6-slot pool cannot hold the request (it could if the samples shared the prompt's block)."""
    wl = from_lengths([2], [(1, 1)], max_model_len=3)
    with pytest.raises(DoesNotFitError, match="needs 8 tokens of blocks"):
        simulate(wl, parse_policy("paged-2-share"), 6, max_model_len=3, max_seqs=4, watermark=0.0)


def test_buddy_reference_placement():
    # 12 slots = arenas of 8 (0-7) and 4 (8-11). A 2-slot chunk takes the smallest free block
    # that fits: the 4-arena, split, lower half -> start 8 (not 0).
    slots = [False] * 12
    assert buddy_place(slots, 2) == 8
    slots[8:10] = [True, True]
    assert buddy_place(slots, 2) == 10  # the remaining 2-block
    assert buddy_place(slots, 8) == 0 and buddy_place(slots, 16) is None


def test_reference_runs_most_scenarios():
    """Guard against a fit check so strict that the property above tests nothing."""
    wl = from_lengths([5, 9, 3], [4, 7, 2], max_model_len=32)
    for name in POLICIES:
        for allocator in ("first-fit", "buddy"):
            res = simulate(wl, parse_policy(name), 64, max_model_len=32, max_seqs=4, watermark=0.0,
                           allocator=allocator)
            assert res.completed == 3


@st.composite
def lookahead_scenarios(draw):
    """Paged policies with speculative lookahead; max_model_len close to the requests' lengths so
    the cap at max_model_len binds often."""
    n = draw(st.integers(1, 2))
    num = draw(st.integers(1, 8))
    prompts = draw(st.lists(st.integers(1, 16), min_size=num, max_size=num))
    outs = draw(st.lists(st.tuples(*[st.integers(1, 16)] * n), min_size=num, max_size=num))
    policy = parse_policy(draw(st.sampled_from(["paged-1", "paged-2", "paged-3", "paged-4", "paged-8",
                                                "paged-2-share", "paged-4-share", "orca-max", "orca-oracle"])))
    max_model_len = draw(st.integers(2, 34))
    wl = from_lengths(prompts, outs, max_model_len=max_model_len)
    pool = draw(st.integers(4, 200))
    max_seqs = draw(st.integers(n, 6))
    watermark = draw(st.sampled_from([0.0, 0.05]))
    k = draw(st.integers(1, 4))
    lookahead = draw(st.sampled_from([0, k]))  # ngram: k slots; a drafter: k + k
    return wl, policy, pool, max_model_len, max_seqs, watermark, k, lookahead


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lookahead_scenarios())
def test_lookahead_capped_at_max_model_len_equals_step_by_step(sc):
    """The event-driven simulator with speculative lookahead slots, capped at max_model_len as
    the capacity pool caps them (kvplan.speculative.reserved_slots), agrees with the plain
    step-by-step one to the integer."""
    from kvplan.fragment.config import ServingConfig
    from kvplan.fragment.timing import ConstantStepTime, SpeculativeStepTime

    wl, policy, pool, mml, max_seqs, watermark, k, lookahead = sc
    serving = ServingConfig(step_time=SpeculativeStepTime(ConstantStepTime(), k, 0.5, 0.0, lookahead))
    try:
        res = simulate(wl, policy, pool, max_model_len=mml, max_seqs=max_seqs, watermark=watermark, serving=serving)
    except DoesNotFitError:
        return
    ref = reference(wl, policy, pool, mml, max_seqs, watermark, look=serving.lookahead)
    assert _sums(res) == ref


def test_lookahead_cap_frees_the_last_block():
    """One request of 8 prompt + 8 output tokens at max_model_len 16, block 4, k = 2 with a
    drafter (4 slots past its tokens): it holds cdiv(min(n + 4, 16), 4) blocks, at most 4, so a
    pool of 4 blocks runs it without a preemption; uncapped it would need cdiv(20, 4) = 5."""
    from kvplan.fragment.config import ServingConfig
    from kvplan.fragment.timing import ConstantStepTime, SpeculativeStepTime

    wl = from_lengths([8], [(8,)], max_model_len=16)
    serving = ServingConfig(step_time=SpeculativeStepTime(ConstantStepTime(), 2, 0.5, 0.0, 2))
    res = simulate(wl, parse_policy("paged-4"), 16, max_model_len=16, max_seqs=4, watermark=0.0, serving=serving)
    assert (res.completed, res.preemptions) == (1, 0)
    assert res.usage.allocated == reference(wl, parse_policy("paged-4"), 16, 16, 4, 0.0, look=4)["allocated"]
