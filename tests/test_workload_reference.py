"""The event-driven simulator in time agrees with a plain step-by-step one, to the integer and second.

``reference`` walks every step and every sequence of the documented rules with arrivals,
a token budget (chunked prefill), lookahead slots and a retention window (sinks + last W
tokens), for paged and contiguous policies. It shares no code with kvplan.fragment.simulator.
Times use a constant step of 1 s plus 0.25 s per prompt token and arrivals on quarter
seconds, so every time is an exact binary fraction and compares with ``==``.
"""

from __future__ import annotations

from collections import deque

import pytest

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kvplan.errors import DoesNotFitError
from kvplan.fragment.config import Retention, ServingConfig
from kvplan.fragment.policies import parse_policy
from kvplan.fragment.simulator import simulate
from kvplan.fragment.timing import ConstantStepTime
from kvplan.fragment.workloads import from_lengths

STEP = ConstantStepTime(step_s=1.0, prefill_token_s=0.25, source="test")


def cdiv(a, b):
    return -(-a // b)


def reference(wl, policy, pool, mml, max_seqs, watermark, budget, look, window, sinks):
    B = policy.block_size
    paged = not policy.contiguous
    cap = None if window is None else window + sinks
    sb = cdiv(sinks, B) if paged else 0

    def freed(n):
        if window is None or n < window:
            return 0
        return max(0, (n - window) // B - sb)

    def reach(n):  # a sequence's tokens and lookahead slots, never past max_model_len (vLLM allocate_slots)
        return min(n + look, mml) if look else n

    def held(n):  # paged blocks of a sequence of n tokens
        return cdiv(reach(n), B) - freed(n)

    out = dict(seq_steps=0, token=0, allocated=0, fillable=0, wait=[0, 0, 0, 0], alloc_wait=[0, 0, 0, 0],
               preemptions=0, peak=0, completed=0)
    ttft, latency, qdelay = [], [], []
    free_blocks = pool // B if paged else None
    wm = int(watermark * (pool // B)) if paged else 0
    slots = None if paged else [False] * pool
    future = deque((wl.trace_times[i], i) for i in range(wl.num_requests))
    waiting = deque()  # (rid, lens or None, finals or None); requeued ones at the front
    running = []  # groups in admission order: dict(rid, seqs=[...], todo, started)
    info = {}  # rid -> dict(arrival, first, ttft)
    clock, step = 0.0, 0
    while future or waiting or running:
        eligible = lambda: bool(waiting) or (future and future[0][0] <= clock)  # noqa: E731
        if not running and not waiting and future and future[0][0] > clock:
            clock = future[0][0]  # idle
        step += 1
        start = clock
        while future and future[0][0] <= start:
            t, rid = future.popleft()
            waiting.append((rid, None, None))
            info[rid] = dict(arrival=t, first=None, ttft=None)
        preempted = False
        # 1. decode: needs less releases of the sequences decoding this step
        decoding = [g for g in running if g["started"]]
        if paged:
            def delta(g):
                return sum(held(q["len"] + 1) - held(q["len"]) for q in g["seqs"])
            demand = sum(delta(g) for g in decoding)
            while demand > free_blocks:
                victim = running.pop()
                if victim["started"]:
                    demand -= delta(victim)
                    decoding.remove(victim)
                    free_blocks += sum(held(q["len"]) for q in victim["seqs"])
                    waiting.appendleft((victim["rid"], [q["len"] for q in victim["seqs"]],
                                        [q["final"] for q in victim["seqs"]]))
                else:
                    free_blocks += sum(held(x) for x in victim["lens"])
                    waiting.appendleft((victim["rid"], victim["lens"], victim["finals"]))
                out["preemptions"] += 1
                preempted = True
            free_blocks -= demand
        for g in decoding:
            for q in g["seqs"]:
                q["len"] += 1
        ndec = sum(len(g["seqs"]) for g in decoding)
        left = None if budget is None else budget - ndec * (1 + look)
        prefill = 0
        done = []
        # 2. prefill of requests mid-prompt
        for g in running:
            if g["started"] or (left is not None and left <= 0):
                continue
            chunk = g["todo"] if left is None else min(g["todo"], left)
            g["todo"] -= chunk
            prefill += chunk
            if left is not None:
                left -= chunk
            if g["todo"] == 0:
                g["started"] = True
                g["seqs"] = [{"len": x, "final": f, "chunk": c} for x, f, c in zip(g["lens"], g["finals"], g["chunks"])]
                done.append(g)
        # 3. admission
        reason = 0
        if not preempted:
            while waiting:
                rid, lens, finals = waiting[0]
                P = wl.system_prompt + wl.prompt_lens[rid]
                lens = lens or [P] * wl.n
                finals = finals or [P + o for o in wl.output_lens[rid]]
                nrun = sum(len(g["lens"]) if not g["started"] else len(g["seqs"]) for g in running)
                if nrun + len(lens) > max_seqs:
                    reason = 2
                    break
                if left is not None and left <= 0:
                    reason = 3
                    break
                g = {"rid": rid, "lens": lens, "finals": finals, "started": False, "seqs": [], "chunks": [None] * len(lens)}
                if paged:
                    need = sum(held(x) for x in lens)
                    if free_blocks - need < wm:
                        reason = 1
                        break
                    free_blocks -= need
                else:
                    chunks, ok = [], True
                    for f in finals:
                        want = policy.reservation(f, mml, P)
                        size = want if cap is None else min(want, cap)
                        if look:
                            size = max(size, min(size + look, mml))
                        at = next((a for a in range(pool - size + 1) if not any(slots[a:a + size])), None)
                        if at is None:
                            ok = False
                            break
                        slots[at:at + size] = [True] * size
                        chunks.append((at, size))
                    if not ok:
                        for at, size in chunks:
                            slots[at:at + size] = [False] * size
                        reason = 1
                        break
                    g["chunks"] = chunks
                waiting.popleft()
                if info[rid]["first"] is None:
                    info[rid]["first"] = start
                    qdelay.append(start - info[rid]["arrival"])
                g["todo"] = P if all(x == P for x in lens) else sum(lens)  # a prompt once for its samples
                chunk = g["todo"] if left is None else min(g["todo"], left)
                g["todo"] -= chunk
                prefill += chunk
                if left is not None:
                    left -= chunk
                if g["todo"] == 0:
                    g["started"] = True
                    g["seqs"] = [{"len": x, "final": f, "chunk": c} for x, f, c in zip(lens, finals, g["chunks"])]
                    done.append(g)
                running.append(g)
        else:
            reason = 1
        out["peak"] = max(out["peak"], sum(len(g["lens"]) if not g["started"] else len(g["seqs"]) for g in running))
        if not (waiting or (future and future[0][0] <= start)):
            reason = 0
        # 4. measure
        tok = alloc = fill = 0
        for g in running:
            tok_before = tok
            items = ([(q["len"], q["final"], q["chunk"]) for q in g["seqs"]] if g["started"]
                     else list(zip(g["lens"], g["finals"], g["chunks"])))
            for n, f, chunk in items:
                if paged:
                    fr = freed(n) * B
                    alloc += held(n) * B
                    tok += n - fr
                    fill += min(cdiv(reach(n), B) * B, f) - fr
                else:
                    size = chunk[1]
                    alloc += size
                    tok += n if cap is None else min(n, cap)
                    fill += min(size, f if cap is None else min(f, cap))
                out["seq_steps"] += 1
            if not g["started"]:  # uncomputed prompt tokens are reserved; a window holds the prompt's end
                group_tok = tok - tok_before
                tok = tok_before + (max(0, group_tok - g["todo"]) if window is not None else group_tok - g["todo"])
        if paged:
            assert alloc == (pool // B - free_blocks) * B
        else:
            assert alloc == sum(slots)
        assert 0 <= fill <= alloc <= pool
        out["token"] += tok
        out["allocated"] += alloc
        out["fillable"] += fill
        if reason:
            out["wait"][reason] += 1
            out["alloc_wait"][reason] += alloc
        # 5. time, first tokens, completions
        clock = start + STEP.step_seconds(ndec, 0, prefill)
        for g in done:
            if info[g["rid"]]["ttft"] is None:
                info[g["rid"]]["ttft"] = clock - info[g["rid"]]["arrival"]
                ttft.append(info[g["rid"]]["ttft"])
        for g in list(running):
            if not g["started"] or g in done:
                continue
            for q in list(g["seqs"]):
                if q["len"] == q["final"]:
                    g["seqs"].remove(q)
                    if paged:
                        free_blocks += held(q["len"])
                    else:
                        at, size = q["chunk"]
                        slots[at:at + size] = [False] * size
            if not g["seqs"]:
                running.remove(g)
                out["completed"] += 1
                latency.append(clock - info[g["rid"]]["arrival"])
        assert step < 20_000
    out["steps"] = step
    return out, sorted(ttft), sorted(latency), sorted(qdelay), clock


POLICIES = ["paged-1", "paged-2", "paged-3", "paged-4", "orca-max", "orca-pow2", "orca-oracle"]


@st.composite
def scenarios(draw):
    n = draw(st.integers(1, 2))
    num = draw(st.integers(1, 8))
    prompts = draw(st.lists(st.integers(1, 20), min_size=num, max_size=num))
    outs = draw(st.lists(st.tuples(*[st.integers(1, 20)] * n), min_size=num, max_size=num))
    gaps = draw(st.lists(st.integers(0, 12), min_size=num, max_size=num))
    times, t = [], 0.0
    for g in gaps:
        t += g / 4
        times.append(t)
    policy = parse_policy(draw(st.sampled_from(POLICIES)))
    mml = draw(st.integers(42, 64))
    wl = from_lengths(prompts, outs, max_model_len=mml, arrival_s=times)
    pool = draw(st.integers(8, 300))
    max_seqs = draw(st.integers(n, 6))
    look = draw(st.integers(0, 2))
    budget = draw(st.one_of(st.none(), st.integers(max_seqs * (1 + look), 40)))
    window = draw(st.one_of(st.none(), st.integers(1, 14)))
    sinks = draw(st.integers(0, 5)) if window is not None else 0
    watermark = draw(st.sampled_from([0.0, 0.05]))
    return wl, policy, pool, mml, max_seqs, watermark, budget, look, window, sinks


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_event_driven_equals_step_by_step_in_time(sc):
    wl, policy, pool, mml, max_seqs, watermark, budget, look, window, sinks = sc
    step_time = STEP
    if look:
        from kvplan.fragment.timing import SpeculativeStepTime

        step_time = SpeculativeStepTime(STEP, look, 0.0)  # acceptance 0: one token per step, timing unchanged
    cfg = ServingConfig(step_time=step_time, max_num_batched_tokens=budget, retention=Retention(window, sinks))
    try:
        res = simulate(wl, policy, pool, max_model_len=mml, max_seqs=max_seqs, watermark=watermark, serving=cfg)
    except DoesNotFitError:
        return  # one request alone does not fit
    ref, ttft, latency, qdelay, clock = reference(wl, policy, pool, mml, max_seqs, watermark, budget, look, window,
                                                  sinks)
    u = res.usage
    got = dict(seq_steps=u.seq_steps, token=u.token, allocated=u.allocated, fillable=u.fillable, wait=u.wait_steps,
               alloc_wait=u.alloc_wait, preemptions=res.preemptions, peak=res.peak_batch, completed=res.completed,
               steps=u.steps)
    assert got == ref
    t = res.timing
    assert t.makespan_s == clock - wl.trace_times[0]
    assert t.ttft_s[1:] == (_rank(ttft, 50), _rank(ttft, 99))
    assert t.ttft_s[0] == pytest.approx(sum(ttft) / len(ttft), rel=1e-12)
    assert t.latency_s[1:] == (_rank(latency, 50), _rank(latency, 99))
    assert t.queue_delay_s[2] == _rank(qdelay, 99)


def _rank(xs, q):
    return xs[max(1, -(-len(xs) * q // 100)) - 1]


def test_reference_covers_windows_budgets_and_preemption():
    """Guard against a scenario space in which nothing interesting happens."""
    wl = from_lengths([9, 14, 3], [12, 6, 9], max_model_len=64, arrival_s=[0.0, 0.25, 1.0])
    cfg = ServingConfig(step_time=STEP, max_num_batched_tokens=8, retention=Retention(6, 2))
    res = simulate(wl, parse_policy("paged-2"), 20, max_model_len=64, max_seqs=3, watermark=0.0, serving=cfg)
    ref, *_ = reference(wl, parse_policy("paged-2"), 20, 64, 3, 0.0, 8, 0, 6, 2)
    assert res.preemptions == ref["preemptions"] > 0 and res.usage.wait_steps == ref["wait"]
    assert res.usage.wait_steps[3] > 0  # some step waited for the budget
