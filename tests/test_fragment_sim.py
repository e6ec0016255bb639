"""Hand-computed scenarios, one per policy, with every sum derived step by step.

Step order (kvplan.fragment.simulator): 1 decode, 2 admit (FCFS, unless the step
preempted), 3 measure, 4 complete. A request with prompt P and output O holds P + k
tokens k steps after admission and completes when it holds P + O.

Scenario A: pool 8 slots, max_model_len 8, three requests in order
    r1: prompt 2, output 3 (final 5)   r2: prompt 1, output 1 (final 2)   r3: prompt 2, output 1 (final 3)
"""

from __future__ import annotations

from fractions import Fraction

import pytest

from kvplan.errors import BadInputError, DoesNotFitError, UnknownNameError
from kvplan.fragment.allocators import Buddy, FirstFit
from kvplan.fragment.metrics import contiguous_sums, pages_upto, paged_sums
from kvplan.fragment.policies import default_policies, parse_policies, parse_policy
from kvplan.fragment.simulator import simulate
from kvplan.fragment.workloads import builtin_workload, from_lengths

A = from_lengths([2, 1, 2], [3, 1, 1], max_model_len=8)


def run(policy, wl=A, pool=8, **kw):
    kw.setdefault("max_model_len", 8)
    return simulate(wl, parse_policy(policy), pool, **kw)


def sums(res):
    u = res.usage
    return dict(steps=u.steps, token=u.token, fillable=u.fillable, allocated=u.allocated,
                waiting_steps=u.waiting_steps, external=res.external, seq_steps=u.seq_steps,
                preemptions=res.preemptions, peak=res.peak_batch, completed=res.completed)


def shares(res):
    d = res.accounted
    return tuple(Fraction(x, d) for x in (res.usage.token, res.usage.fillable - res.usage.token,
                                          res.usage.allocated - res.usage.fillable, res.external))


def test_orca_oracle_hand_computed():
    # chunks = final lengths 5, 2, 3 (first fit)
    # step 1: r1 -> [0,5), r2 -> [5,7); r3 needs 3, only hole [7,8) (1 slot): waits.
    #         tokens 2+1=3, fillable 5+2=7, allocated 7, waiting: external 8-7=1
    # step 2: r1 3, r2 2 -> tokens 5, fill 7, alloc 7, external 1; r2 completes, hole [5,8)
    # step 3: r1 4; r3 admitted at [5,8) holding 2 -> tokens 6, fill 5+3=8, alloc 8, none waits
    # step 4: r1 5, r3 3 -> tokens 8, fill 8, alloc 8; both complete
    res = run("orca-oracle")
    assert sums(res) == dict(steps=4, token=3 + 5 + 6 + 8, fillable=7 + 7 + 8 + 8, allocated=7 + 7 + 8 + 8,
                             waiting_steps=2, external=1 + 1, seq_steps=2 + 2 + 2 + 2, preemptions=0, peak=2,
                             completed=3)
    # accounted = 30 + 2 = 32: token 22/32, reserved 8/32, internal 0, external 2/32
    assert shares(res) == (Fraction(22, 32), Fraction(8, 32), 0, Fraction(2, 32))
    assert res.mean_batch == 2.0
    assert res.completed_per_1000_steps == 750.0


def test_orca_pow2_hand_computed():
    # chunks = next power of two of 5, 2, 3 -> 8, 2, 4
    # steps 1-4: r1 alone in [0,8) holding 2,3,4,5 (fill 5, alloc 8 each); r2, r3 wait, pool full:
    #            external 0. r1 completes at step 4.
    # step 5: r2 -> [0,2) holding 1, r3 -> [2,6) holding 2: tokens 3, fill 2+3=5, alloc 2+4=6, none waits
    # step 6: r2 2, r3 3: tokens 5, fill 5, alloc 6; both complete
    res = run("orca-pow2")
    assert sums(res) == dict(steps=6, token=2 + 3 + 4 + 5 + 3 + 5, fillable=5 * 4 + 5 + 5, allocated=8 * 4 + 6 + 6,
                             waiting_steps=4, external=8 * 4 - 8 * 4, seq_steps=4 + 2 + 2, preemptions=0, peak=2,
                             completed=3)
    # accounted 44: token 22, reserved 8, internal 14 (r1: 3 slots x 4 steps, r3: 1 slot x 2 steps)
    assert shares(res) == (Fraction(22, 44), Fraction(8, 44), Fraction(14, 44), 0)


def test_orca_max_hand_computed():
    # chunks of max_model_len = 8: one request at a time.
    # steps 1-4 r1 (tokens 2..5, fill 5, alloc 8); steps 5-6 r2 (tokens 1, 2; fill 2); steps 7-8 r3
    # (tokens 2, 3; fill 3). Requests wait through step 6 (after r2's admission r3 still waits);
    # the pool is always full, so external = 0.
    res = run("orca-max")
    assert sums(res) == dict(steps=8, token=2 + 3 + 4 + 5 + 1 + 2 + 2 + 3, fillable=5 * 4 + 2 * 2 + 3 * 2,
                             allocated=8 * 8, waiting_steps=6, external=0, seq_steps=8, preemptions=0, peak=1,
                             completed=3)
    assert shares(res) == (Fraction(22, 64), Fraction(8, 64), Fraction(34, 64), 0)


def test_paged_2_hand_computed_with_preemption():
    # 4 blocks of 2; watermark int(0.01 * 4) = 0.
    # step 1: admit r1 (1 block), r2 (1), r3 (1): 1 free. tokens 2+1+2=5; alloc 2+2+2=6;
    #         fill min(2,5)+min(2,2)+min(2,3)=6
    # step 2: r1 (2 tokens) and r3 (2) have full blocks: 2 new blocks needed, 1 free -> preempt
    #         the newest, r3 (frees 1; its own need goes): 2 free, r1 takes 1 -> 1 free.
    #         r1 3 tokens (2 blocks), r2 2: tokens 5, alloc 6, fill 4+2=6; r3 waits:
    #         external 8-6=2. r2 completes (frees 1 -> 2 free).
    # step 3: r1 4 (no new block); r3 readmitted holding 2 (1 block -> 1 free):
    #         tokens 6, alloc 6, fill 6; none waits
    # step 4: r1 (4) and r3 (2) need blocks, 1 free -> preempt r3 again; r1 takes 1 block.
    #         r1 5 tokens in 3 blocks: alloc 6, fill min(6,5)=5; r3 waits: external 2. r1 completes.
    # step 5: r3 readmitted holding 2: tokens 2, alloc 2, fill 2
    # step 6: r3 3 tokens in 2 blocks: alloc 4, fill 3; completes.
    res = run("paged-2")
    assert sums(res) == dict(steps=6, token=5 + 5 + 6 + 5 + 2 + 3, fillable=6 + 6 + 6 + 5 + 2 + 3,
                             allocated=6 + 6 + 6 + 6 + 2 + 4, waiting_steps=2, external=2 + 2,
                             seq_steps=3 + 2 + 2 + 1 + 1 + 1, preemptions=2, peak=3, completed=3)
    assert shares(res) == (Fraction(26, 34), Fraction(2, 34), Fraction(2, 34), Fraction(4, 34))


def test_paged_1_hand_computed():
    # 8 blocks of 1 token: no rounding at all. step 1: all three admitted, 5 tokens (3 free).
    # step 2: 3 new blocks -> 0 free; tokens 3+2+3=8; r2 and r3 complete (5 free).
    # steps 3-4: r1 4, 5; completes.
    res = run("paged-1")
    assert sums(res) == dict(steps=4, token=5 + 8 + 4 + 5, fillable=22, allocated=22, waiting_steps=0,
                             external=0, seq_steps=3 + 3 + 1 + 1, preemptions=0, peak=3, completed=3)
    assert res.token_state_share == 1.0


def test_paged_share_hand_computed():
    # System prompt S=2, one request with prompt 3 and n=2 samples of outputs 1 and 3; block 2,
    # pool 16 slots = 8 blocks, watermark 0. Prompt P = 5 tokens: block 0 (the system prompt,
    # stored once for the run), block 1 (prompt tokens 3-4, shared by the samples: it ends before
    # the prompt's last token), and a partial block (token 5) each sample computes into a block of
    # its own. Finals: 6 and 8.
    wl = from_lengths([3], [(1, 3)], system_prompt=2, max_model_len=16)
    res = simulate(wl, parse_policy("paged-2-share"), 16, max_model_len=16, watermark=0.0)
    # step 1: system 2 + shared 2 + own 1 + 1 = 6 tokens; alloc 2 + 2 + 2 + 2 = 8; fill 8
    # step 2: each sample 6 tokens (no new block): tokens 2+2+2+2 = 8, alloc 8; sample a completes
    # step 3: sample b 7 tokens: a new own block: own 3 tokens in 4 slots: tokens 7, alloc 8, fill 8
    # step 4: b 8 tokens: tokens 8, alloc 8, fill 8; completes.
    assert sums(res) == dict(steps=4, token=6 + 8 + 7 + 8, fillable=32, allocated=32, waiting_steps=0,
                             external=0, seq_steps=2 + 2 + 1 + 1, preemptions=0, peak=2, completed=1)
    # Without sharing each sample holds all 5 prompt tokens: step 1 tokens 10 in 12 slots,
    # step 2 12 in 12, step 3 b 7 in 8, step 4 8 in 8.
    plain = simulate(wl, parse_policy("paged-2"), 16, max_model_len=16, watermark=0.0)
    assert (plain.usage.token, plain.usage.allocated, plain.usage.fillable) == (10 + 12 + 7 + 8, 40, 40)


def test_share_without_anything_to_share_equals_paged_without_watermark():
    for pool in (8, 12, 30):  # int(0.01 x blocks) = 0: the watermark keeps nothing back
        a, b = run("paged-2", pool=pool), run("paged-2-share", pool=pool)
        assert sums(a) == sums(b)
    # 983 blocks: paged-16 keeps vLLM V0's int(0.01 x 983) = 9 blocks free at admission,
    # paged-16-share (vLLM V1) none; with nothing to share that is the only difference.
    wl = builtin_workload("sharegpt", 300, max_model_len=2048)
    share = sums(simulate(wl, parse_policy("paged-16-share"), 15728, max_model_len=2048))
    assert share == sums(simulate(wl, parse_policy("paged-16"), 15728, max_model_len=2048, watermark=0.0))
    assert share != sums(simulate(wl, parse_policy("paged-16"), 15728, max_model_len=2048))


def test_first_fit_places_lowest_and_merges():
    ff = FirstFit(10)
    assert [ff.alloc(3), ff.alloc(3), ff.alloc(3)] == [0, 3, 6]
    assert ff.alloc(2) == -1  # only 1 slot left
    ff.free(3, 3)
    assert ff.holes() == [(3, 3), (9, 1)]
    assert ff.alloc(1) == 3  # lowest hole that fits
    ff.free(0, 3)
    ff.free(6, 3)
    assert ff.holes() == [(0, 3), (4, 6)]
    ff.free(3, 1)
    assert ff.holes() == [(0, 10)] and ff.free_slots == 10


def test_closed_forms():
    # cdiv(y, 4) for y = 1..9: 1,1,1,1,2,2,2,2,3 -> 15
    assert pages_upto(9, 4) == 15 and pages_upto(0, 4) == 0 and pages_upto(4, 4) == 4
    # contiguous: holds t - c tokens, c = -1; steps 2..4 hold 3, 4, 5 in a chunk of 8, final 5
    assert contiguous_sums(-1, 5, 8, 2, 4) == (3, 12, 24, 15)
    # paged, block 4, final 6, c = 0: steps 3..6 hold 3,4,5,6 tokens in 4,4,8,8 slots;
    # min(slots, 6) = 4,4,6,6
    assert paged_sums(0, 6, 0, 4, 3, 6) == (4, 18, 24, 20)


def test_pow2_reservation_and_cap():
    p = parse_policy("orca-pow2")
    assert [p.reservation(x, 2048) for x in (1, 2, 3, 25, 300, 1025, 2048)] == [1, 2, 4, 32, 512, 2048, 2048]
    assert p.reservation(1500, 1536) == 1536  # capped at max_model_len
    # the paper's Pow2: "if the true output length is 25, it reserves 32 positions for outputs"
    out = parse_policy("orca-pow2-output")
    assert out.reservation(100 + 25, 2048, prompt_len=100) == 132
    assert out.reservation(1900 + 100, 2048, prompt_len=1900) == 2028  # 1900 + 128
    assert out.reservation(1800 + 200, 2048, prompt_len=1800) == 2048  # 1800 + 256 = 2056, capped


def test_buddy_allocator():
    # 12 slots = arenas [0, 8) and [8, 12). Smallest sufficient free block first, lower half kept.
    b = Buddy(12)
    assert b.arenas == [(0, 3), (8, 2)]
    assert Buddy.chunk(3) == 4 and Buddy.chunk(4) == 4 and Buddy.chunk(5) == 8
    assert b.alloc(3) == 8  # 4-slot arena, not the 8-slot one
    assert b.alloc(1) == 0  # splits 8 -> 4 + 4 -> 2 + 2 -> 1 + 1; free: 1 @1, 2 @2, 4 @4
    assert b.blocks() == [(1, 1), (2, 2), (4, 4)]
    assert b.alloc(8) == -1 and b.free_slots == 7
    b.free(0, 1)  # merges back up to the whole 8-slot arena
    assert b.blocks() == [(0, 8)]
    b.free(8, 4)  # arenas never merge with each other
    assert b.blocks() == [(0, 8), (8, 4)] and b.free_slots == 12


def test_orca_oracle_with_buddy_hand_computed():
    # Scenario A with the buddy allocator: chunks are powers of two of the final lengths
    # 5, 2, 3 -> 8, 2, 4 (the same chunks as orca-pow2), placed in one 8-slot arena; the
    # rounding (3 slots for r1, 1 for r3) is counted as internal and, separately, as rounding.
    res = run("orca-oracle", allocator="buddy")
    pow2 = run("orca-pow2")
    assert sums(res) == sums(pow2)
    # r1: 3 rounding slots x 4 steps; r3: 1 x 2 steps; r2: none
    assert res.usage.rounding == 3 * 4 + 1 * 2 == res.usage.allocated - res.usage.fillable
    assert pow2.usage.rounding == 0  # first fit takes exactly the reservation


def test_policy_names():
    assert [p.name for p in default_policies()] == [
        "orca-max", "orca-pow2", "orca-oracle", "static", "paged-16", "paged-16-share", "paged-1"]
    assert [p.name for p in default_policies(1)] == ["orca-max", "orca-pow2", "orca-oracle", "static", "paged-1",
                                                     "paged-1-share"]
    assert [p.name for p in default_policies(16, share=False)][-2:] == ["paged-16", "paged-1"]
    assert [p.name for p in parse_policies("paged-256, ORCA-MAX,paged-256")] == ["paged-256", "orca-max"]
    with pytest.raises(BadInputError, match="1 to 256"):
        parse_policy("paged-512")
    with pytest.raises(BadInputError, match="1 to 256"):
        parse_policy("paged-0")
    with pytest.raises(UnknownNameError, match="did you mean"):
        parse_policy("orca-maxx")


def test_one_request_too_big_for_the_pool():
    with pytest.raises(DoesNotFitError, match="orca-max: request #1 alone needs 1 chunk.s. of 8 contiguous slots"):
        run("orca-max", pool=7)
    with pytest.raises(DoesNotFitError, match="paged-4"):
        run("paged-4", pool=4)  # r1 ends at 5 tokens = 2 blocks, pool has 1


def test_batch_cap():
    # max_seqs=1 serialises paged-1 on scenario A: steps 1-4 r1, 5-6 r2, 7-8 r3
    res = run("paged-1", max_seqs=1)
    assert res.usage.steps == 8 and res.peak_batch == 1


SHAREGPT = builtin_workload("sharegpt", 400, max_model_len=2048, seed=3)


@pytest.mark.parametrize("policy", ["orca-max", "orca-pow2", "orca-oracle", "paged-16", "paged-16-share", "paged-1",
                                    "paged-256"])
def test_sharegpt_invariants(policy):
    res = simulate(SHAREGPT, parse_policy(policy), 15728, max_model_len=2048)
    u = res.usage
    assert res.completed == 400
    assert 0 <= u.token <= u.fillable <= u.allocated  # conservation: tokens fit in what is allocated
    assert u.allocated_waiting <= 15728 * u.waiting_steps  # never more than the pool
    assert res.token_state_share + res.reserved_share + res.internal_share + res.external_share == pytest.approx(1)
    if not res.policy.startswith("orca"):
        # paged waste (reserved + internal) is below one block per running sequence
        assert u.allocated - u.token <= (res.block_size - 1) * u.seq_steps
    if policy == "orca-oracle":
        assert u.allocated == u.fillable  # knows the final length: no internal fragmentation
    if policy == "paged-1":
        assert u.allocated == u.token  # token-granular blocks: no waste inside allocations


def test_policy_order_on_sharegpt():
    got = {p: simulate(SHAREGPT, parse_policy(p), 15728, max_model_len=2048).token_state_share
           for p in ("orca-max", "orca-pow2", "orca-oracle", "paged-16", "paged-1")}
    assert got["orca-max"] < got["orca-pow2"] < got["orca-oracle"] < got["paged-16"] < got["paged-1"]


def test_deterministic_under_seed():
    def once(seed):
        wl = builtin_workload("alpaca", 300, max_model_len=2048, seed=seed)
        return [simulate(wl, p, 4000, max_model_len=2048).to_dict() for p in default_policies()]

    assert once(7) == once(7)
    assert once(7) != once(8)


def test_no_admission_in_a_step_that_preempted():
    # vLLM's prototype scheduler admits no new group in a step that evicted one
    # (cacheflow/master/scheduler.py in vllm-project/vllm, e.g. commit 7e5f604e: new groups
    # join only "if not self.swapped"; a later version: "If the sequence group has been
    # preempted in this step, stop.").
    # paged-2, pool 6 = 3 blocks, watermark 0; prompts 1, 1, 1; outputs 1, 2, 2 (finals 2, 3, 3).
    # step 1: all admitted, 1 block each, 0 free: tokens 3, alloc 6, fill 2+2+2=6
    # step 2: 1 -> 2 tokens, no new block: tokens 6, alloc 6, fill 6; r1 completes (1 free)
    # step 3: r2 and r3 (2 tokens) need a block, 1 free: preempt r3 (2 free), r2 takes one (1 free).
    #         r3 would fit again, but is not readmitted in this step. r2 3 tokens in 4 slots:
    #         tokens 3, alloc 4, fill 3; r3 waits: external 6-4=2. r2 completes (3 free).
    # step 4: r3 readmitted with 2 tokens: tokens 2, alloc 2, fill 2
    # step 5: r3 3 tokens in 4 slots: tokens 3, alloc 4, fill 3; completes.
    wl = from_lengths([1, 1, 1], [1, 2, 2], max_model_len=8)
    res = simulate(wl, parse_policy("paged-2"), 6, max_model_len=8, watermark=0.0)
    assert sums(res) == dict(steps=5, token=3 + 6 + 3 + 2 + 3, fillable=6 + 6 + 3 + 2 + 3,
                             allocated=6 + 6 + 4 + 2 + 4, waiting_steps=1, external=2,
                             seq_steps=3 + 3 + 1 + 1 + 1, preemptions=1, peak=3, completed=3)


def test_watermark_holds_back_admission():
    # paged-1, pool 100 blocks; prompts of 24 tokens (24 blocks each), outputs of 1 token.
    # Watermark 0.05: int(0.05 * 100) = 5 blocks must stay free after an admission.
    # After 3 admissions 100 - 72 = 28 are free; a 4th would leave 4 < 5: it waits.
    # Watermark 0: 4 - 0 >= 0, all four run at once.
    wl = from_lengths([24] * 4, [1] * 4, max_model_len=64)
    assert simulate(wl, parse_policy("paged-1"), 100, max_model_len=64, watermark=0.05).peak_batch == 3
    assert simulate(wl, parse_policy("paged-1"), 100, max_model_len=64, watermark=0.0).peak_batch == 4


@pytest.mark.parametrize("policy,serving,n,system_prompt,predicted", [
    ("paged-16", None, 1, 0, True),
    ("paged-1", None, 1, 0, True),
    ("paged-16", "budget", 1, 0, True),
    ("paged-16-share", None, 1, 0, True),  # a cache with nothing in it
    ("paged-16-share", None, 2, 40, False),  # heads with cached blocks are never predicted
])
def test_skipped_readmission_attempts_change_nothing(monkeypatch, policy, serving, n, system_prompt, predicted):
    # After a preemption the loop skips step s + 1's admission attempt when head_waits
    # predicts it fails for memory. Every integer of the result must be what trying gives,
    # and the prediction must have been used (else this test proves nothing).
    from kvplan.fragment import _native
    from kvplan.fragment.config import ServingConfig

    # the Python source, also where the simulator is compiled (a compiled class ignores a patched method)
    source = _native.source_module("simulator")
    _PagedRun, simulate = source._PagedRun, source.simulate
    wl = builtin_workload("sharegpt", num_requests=300, n=n, system_prompt=system_prompt, max_model_len=2048,
                          seed=3)
    cfg = ServingConfig(max_num_batched_tokens=1024) if serving else None
    calls = []
    real = _PagedRun.head_waits

    def spy(self, s):
        calls.append(real(self, s))
        return calls[-1]

    monkeypatch.setattr(_PagedRun, "head_waits", spy)
    fast = simulate(wl, parse_policy(policy), 6000, max_model_len=2048, serving=cfg)
    monkeypatch.setattr(_PagedRun, "head_waits", lambda self, s: False)
    slow = simulate(wl, parse_policy(policy), 6000, max_model_len=2048, serving=cfg)
    assert calls and any(calls) == predicted and fast.preemptions > 0
    assert fast.usage == slow.usage
    assert (fast.preemptions, fast.peak_batch, fast.completed, fast.timing.prefill_tokens) == \
        (slow.preemptions, slow.peak_batch, slow.completed, slow.timing.prefill_tokens)
    # the clock differs only in how a run of decode-only steps is summed (float rounding)
    assert fast.timing.makespan_s == pytest.approx(slow.timing.makespan_s, rel=1e-12)


def test_skipped_readmission_needs_the_memory_check(monkeypatch):
    # Three samples a request: preempting one frees more than the step needs, and in this
    # run the preempted head does fit at s + 1 now and then (hypothesis found it against a
    # head_waits without its free-block check). Trying and predicting must agree.
    from kvplan.fragment import _native

    source = _native.source_module("simulator")  # see test_skipped_readmission_attempts_change_nothing
    _PagedRun, simulate = source._PagedRun, source.simulate
    wl = from_lengths([1, 1, 12] + [1] * 6, [(1, 1, 12), (1, 12, 12), (9, 9, 9)] + [(1, 1, 1)] * 6,
                      system_prompt=7, max_model_len=28)

    def run():
        return simulate(wl, parse_policy("paged-3"), 144, max_model_len=28, max_seqs=6, watermark=0.0)

    fast = run()
    monkeypatch.setattr(_PagedRun, "head_waits", lambda self, s: False)
    slow = run()
    assert fast.preemptions > 0
    assert (fast.usage, fast.preemptions, fast.peak_batch) == (slow.usage, slow.preemptions, slow.peak_batch)


def test_free_returns_the_free_range_it_joins():
    # first-fit over 10 slots: chunks [0,3) [3,5) [5,9); freeing [3,5) alone gives a 2-slot
    # hole; then [0,3) joins it (5); then [5,9) joins both and the tail slot 9 (10).
    ff = FirstFit(10)
    assert (ff.alloc(3), ff.alloc(2), ff.alloc(4)) == (0, 3, 5)
    assert ff.free(3, 2) == 2 and ff.free(0, 3) == 5 and ff.free(5, 4) == 10
    # buddy over 16: two 4-slot chunks at 0 and 4; freeing 4 leaves a 4-block (its buddy is
    # taken), freeing 0 merges them into 8 and that with the free 8 at 8 into 16.
    bd = Buddy(16)
    assert (bd.alloc(4), bd.alloc(4)) == (0, 4)
    assert bd.free(4, 4) == 4 and bd.free(0, 4) == 16
