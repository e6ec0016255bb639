"""Time, chunked prefill, windows, static batching and speculative decoding: hand-computed runs.

Every figure below is derived step by step in the comments. The step-time model is
``ConstantStepTime(step_s=1.0, prefill_token_s=0.25)`` (binary fractions: times are exact):
a step costs 1 s plus 0.25 s per prompt token computed in it. Step order (kvplan.fragment.
simulator): decode, prefill of requests mid-prompt, admission, measure, time, completions.
"""

from __future__ import annotations

import json

import pytest

from kvplan.errors import BadInputError
from kvplan.fragment.arrivals import AllAtOnce, Poisson, TraceTimes, parse_rate, parse_rates
from kvplan.fragment.config import Retention, ServingConfig
from kvplan.fragment.metrics import WAIT_BUDGET, WAIT_SEATS
from kvplan.fragment.policies import parse_policy
from kvplan.fragment.run import speculative_pool_tokens
from kvplan.fragment.simulator import simulate
from kvplan.fragment.timing import ConstantStepTime, SpeculativeStepTime, decode_run_seconds, steps_until
from kvplan.fragment.workloads import from_lengths

STEP = ConstantStepTime(step_s=1.0, prefill_token_s=0.25, source="test")


def run(wl, policy, pool, mml=64, **cfg):
    serving = ServingConfig(step_time=cfg.pop("step_time", STEP), **cfg.pop("serving", {}))
    return simulate(wl, parse_policy(policy), pool, max_model_len=mml, watermark=0.0, serving=serving, **cfg)


def sums(res):
    u = res.usage
    return dict(steps=u.steps, token=u.token, allocated=u.allocated, fillable=u.fillable, seq_steps=u.seq_steps,
                waiting_steps=u.waiting_steps, preemptions=res.preemptions)


def test_arrivals_queueing_ttft_and_latency():
    # paged-2, pool 16 (8 blocks). r1: prompt 2, output 2, arrives at 0; r2: prompt 1, output 1, at 2.5 s.
    # step 1 (0 -> 1.5 s): r1 admitted, its 2 prompt tokens computed: 1 + 2 x 0.25 = 1.5 s; TTFT 1.5.
    #         holds 2 tokens in 1 block: tokens 2, allocated 2, fillable 2
    # step 2 (-> 2.5): r1 decodes to 3 tokens, a 2nd block: tokens 3, allocated 4, fillable min(4, 4) = 4
    # step 3 (2.5 -> 3.75): r2 has arrived (2.5 <= 2.5): admitted with no delay, 1 prompt token:
    #         1 + 0.25 = 1.25 s; TTFT 3.75 - 2.5 = 1.25. r1 decodes to 4 = final: completes,
    #         latency 3.75. tokens 4 + 1, allocated 4 + 2, fillable 4 + min(2, 2)
    # step 4 (-> 4.75): r2 decodes to 2 = final: completes, latency 4.75 - 2.5 = 2.25. tokens 2, alloc 2
    wl = from_lengths([2, 1], [2, 1], arrival_s=[0.0, 2.5], max_model_len=64)
    res = run(wl, "paged-2", 16)
    assert sums(res) == dict(steps=4, token=2 + 3 + 5 + 2, allocated=2 + 4 + 6 + 2, fillable=2 + 4 + 6 + 2,
                             seq_steps=1 + 1 + 2 + 1, waiting_steps=0, preemptions=0)
    t = res.timing
    assert t.ttft_s == (1.375, 1.25, 1.5)  # mean, p50 (nearest rank: 1st of 2), p99 (2nd of 2)
    assert t.queue_delay_s == (0.0, 0.0, 0.0)
    assert t.latency_s == (3.0, 2.25, 3.75)
    assert (t.makespan_s, t.busy_s, t.output_tokens, t.prefill_tokens) == (4.75, 4.75, 3, 3)
    assert t.to_dict(res.completed)["requests_per_s"] == round(2 / 4.75, 6)


def test_idle_engine_jumps_to_the_next_arrival():
    # r1 as above runs steps 1-3 (1.5 + 1 + 1 = 3.5 s); r2 arrives at 10 s, after the engine went idle.
    # step 4 starts at 10: 1 + 0.25 = 1.25 s -> 11.25 (TTFT 1.25); step 5 -> 12.25 (latency 2.25).
    # Idle time is not busy: busy = 3.5 + 2.25 = 5.75; makespan = 12.25; steps are counted without a gap.
    wl = from_lengths([2, 1], [2, 1], arrival_s=[0.0, 10.0], max_model_len=64)
    res = run(wl, "paged-2", 16)
    t = res.timing
    assert res.usage.steps == 5
    assert (t.makespan_s, t.busy_s) == (12.25, 5.75)
    assert t.ttft_s[1:] == (1.25, 1.5) and t.latency_s == (2.875, 2.25, 3.5)


def test_chunked_prefill_under_a_token_budget():
    # paged-2, pool 16, --max-num-batched-tokens 3 (decodes take 1 each), max_seqs 2.
    # r1: prompt 5, output 1 (final 6); r2: prompt 1, output 2 (final 3); both at 0.
    # step 1: r1 admitted: its 3 blocks allocated at once (vLLM v0), 3 of 5 prompt tokens computed;
    #         budget spent, r2 waits for the budget. 1 + 3 x 0.25 = 1.75 s.
    #         r1: 3 tokens computed (token states) of its 6-slot allocation, fillable min(6, 6) = 6;
    #         free while r2 waits: 16 - 6 = 10 (budget cap, not fragmentation)
    # step 2: r1's last 2 prompt tokens (budget 3 - 0 decodes), then r2 with the 1 left: both prompts
    #         done (TTFT 3.5 s for both; r2 queued 1.75 s). 1 + 3 x 0.25 = 1.75 s -> 3.5.
    #         r1 5 tokens in 6 slots (fill 6), r2 1 token in 2 slots (fill min(2, 3) = 2)
    # step 3: both decode (budget 3 - 2): r1 6 = final (completes, latency 4.5), r2 2. No new blocks.
    # step 4: r2 3 tokens: a 2nd block (fill 3 of 4); completes, latency 5.5.
    wl = from_lengths([5, 1], [1, 2], max_model_len=64)
    res = run(wl, "paged-2", 16, max_seqs=2, serving=dict(max_num_batched_tokens=3))
    assert sums(res) == dict(steps=4, token=3 + 6 + 8 + 3, allocated=6 + 8 + 8 + 4, fillable=6 + 8 + 8 + 3,
                             seq_steps=1 + 2 + 2 + 1, waiting_steps=1, preemptions=0)
    assert res.usage.wait_steps[WAIT_BUDGET] == 1 and res.budget_cap == 16 - 6
    assert res.timing.ttft_s == (3.5, 3.5, 3.5)
    assert res.timing.queue_delay_s == (0.875, 0.0, 1.75)
    assert res.timing.latency_s == (5.0, 4.5, 5.5)


def test_budget_must_cover_the_decodes():
    wl = from_lengths([5], [1], max_model_len=64)
    with pytest.raises(BadInputError, match="max_num_batched_tokens >= max_num_seqs"):
        run(wl, "paged-2", 16, max_seqs=4, serving=dict(max_num_batched_tokens=3))


def test_sliding_window_releases_blocks():
    # paged-2, --window 4: a sequence of n tokens keeps the blocks overlapping its last 4 tokens:
    # freed(n) = max(0, (n - 4) // 2) blocks released. One request: prompt 3, output 6 (final 9).
    #   n:        3  4  5  6  7  8  9
    #   blocks:   2  2  3  2  3  2  3     (cdiv(n, 2) - freed(n); 5 blocks at n = 9 without the window)
    #   tokens:   3  4  5  4  5  4  5     (n - 2 x freed: the tokens left in kept blocks)
    #   fillable: 4  4  6  4  6  4  5     (min(2 cdiv(n, 2), 9) - 2 x freed)
    wl = from_lengths([3], [6], max_model_len=64)
    res = run(wl, "paged-2", 64, serving=dict(retention=Retention(window=4)))
    assert sums(res) == dict(steps=7, token=30, allocated=2 * 17, fillable=33, seq_steps=7, waiting_steps=0,
                             preemptions=0)
    full = run(wl, "paged-2", 64)
    assert full.usage.allocated == 2 * (2 + 2 + 3 + 3 + 4 + 4 + 5)


def test_sinks_keep_the_first_blocks():
    # --window 4 --sinks 2: the block of the 2 sink tokens stays: freed(n) = max(0, (n - 4) // 2 - 1).
    #   n:       3  4  5  6  7  8  9
    #   blocks:  2  2  3  3  4  3  4
    wl = from_lengths([3], [6], max_model_len=64)
    res = run(wl, "paged-2", 64, serving=dict(retention=Retention(window=4, sinks=2)))
    assert res.usage.allocated == 2 * (2 + 2 + 3 + 3 + 4 + 3 + 4)
    assert res.usage.token == 3 + 4 + 5 + 6 + 7 + (8 - 2) + (9 - 2)
    with pytest.raises(BadInputError, match="--sinks needs --window"):
        Retention(sinks=4)


def test_window_caps_a_contiguous_chunk():
    # orca-max with --window 4: each chunk is a ring of min(max_model_len, 4) = 4 slots; tokens
    # held min(n, 4). Prompt 3, output 3: n = 3, 4, 5, 6 -> tokens 3, 4, 4, 4; fillable min(4, min(6, 4)) = 4.
    wl = from_lengths([3], [3], max_model_len=64)
    res = run(wl, "orca-max", 64, serving=dict(retention=Retention(window=4)))
    assert (res.usage.allocated, res.usage.token, res.usage.fillable) == (16, 15, 16)


def test_static_batching_pads_and_holds_the_batch():
    # static-2, pool 40. r1: prompt 3, output 2; r2: prompt 1, output 4; r3: prompt 2, output 1; all at 0.
    # Batch 1 = r1, r2: rows padded to 3 + 4 = 7 slots (14 <= 40), resident 4 + 1 = 5 steps (1-5).
    #   r1 row: tokens 3,4,5,5,5 = 22; fillable 5 x (3 + 2) = 25; padding 5 x 7 - 25 = 10
    #   r2 row: tokens 1,2,3,4,5 = 15; fillable 25; padding 10
    #   r3 waits through steps 1-5 while 14 of 40 slots are held: 5 x 26 = 130 free (the batch's seats)
    # Batch 2 = r3: 2 + 1 = 3 slots, steps 6-7: tokens 2, 3; fillable 2 x 3; no padding.
    # Time: prefill 1 + 0.25 x 2 rows x 3 (padded) = 2.5 s; 4 decode steps -> 6.5 (r1, r2 latency);
    #   r3 queued until 6.5, prefill 1 + 0.25 x 2 = 1.5 -> TTFT 8.0, one decode -> 9.0.
    wl = from_lengths([3, 1, 2], [2, 4, 1], max_model_len=64)
    res = run(wl, "static-2", 40)
    u = res.usage
    assert (u.steps, u.token, u.fillable, u.allocated, u.padding, u.seq_steps) == (7, 42, 56, 76, 20, 12)
    assert (u.wait_steps[WAIT_SEATS], res.seat_cap, res.accounted) == (5, 130, 206)
    assert res.padding_share == 20 / 206 and res.internal_share == 0
    assert res.timing.ttft_s == ((2.5 + 2.5 + 8.0) / 3, 2.5, 8.0)
    assert res.timing.latency_s == ((6.5 + 6.5 + 9.0) / 3, 6.5, 9.0)
    assert res.timing.queue_delay_s == (6.5 / 3, 0.0, 6.5)
    assert res.peak_batch == 2 and res.static


def test_static_default_batch_and_padding_cap():
    # static (no N): pool // max_model_len rows per batch = 40 // 16 = 2, the worst case that fits.
    wl = from_lengths([3, 1, 2], [2, 4, 1], max_model_len=16)
    assert run(wl, "static", 40, mml=16).usage.padding == 20
    # a batch stops growing when padding its rows would not fit: static-3 on 14 slots takes r1, r2 (2 x 7)
    assert run(wl, "static-3", 14, mml=16).peak_batch == 2


def test_speculative_lookahead_and_tokens_per_step():
    # paged-2 with k = 1 lookahead slot: a sequence of n tokens holds cdiv(n + 1, 2) blocks.
    # Prompt 3, output 3 (final 6): n = 3, 4, 5, 6 -> blocks 2, 3, 3, 4; fillable min(slots, 6) = 4, 6, 6, 6.
    # Acceptance 0.5, k = 1: (1 - 0.5^2) / (1 - 0.5) = 1.5 tokens per step; a draft step 0.5 s: a token
    # step of decodes takes (1 + 1 x 0.5) / 1.5 = 1 s. Prefill step: 1 + 3 x 0.25 = 1.75 s. Latency 4.75 s.
    spec = SpeculativeStepTime(STEP, num_speculative_tokens=1, acceptance=0.5, draft_step_s=0.5)
    assert spec.tokens_per_step == 1.5
    wl = from_lengths([3], [3], max_model_len=64)
    res = run(wl, "paged-2", 64, step_time=spec)
    assert (res.usage.allocated, res.usage.token, res.usage.fillable) == (2 * (2 + 3 + 3 + 4), 18, 4 + 6 + 6 + 6)
    assert res.timing.ttft_s[0] == 1.75 and res.timing.latency_s[0] == 4.75
    # four draft tokens at 0.8: (1 - 0.8^5) / 0.2 = 3.3616 tokens per step (Leviathan et al., eq. 1)
    assert SpeculativeStepTime(STEP, 4, 0.8).tokens_per_step == pytest.approx(3.3616)
    # the draft model's KV shares the pool: 15,728 OPT-13B tokens beside a 36,864 B/token draft
    assert speculative_pool_tokens(15_728, 819_200, 36_864) == 15_728 * 819_200 // 856_064 == 15_050


def test_step_time_helpers():
    assert STEP.step_seconds(5, 999, 4) == 2.0
    assert decode_run_seconds(STEP, 3, 0, 3, 4) == 4.0
    # clock 1.0 reaches 3.5 after ceil(2.5 / 1) = 3 decode steps; never more than the limit
    assert steps_until(STEP, 1.0, 3.5, 1, 0, 1, 100) == 3
    assert steps_until(STEP, 1.0, 3.5, 1, 0, 1, 2) == 2
    assert steps_until(STEP, 4.0, 3.5, 1, 0, 1, 100) == 0

    class KvModel:  # a model that reads KV: 1 ms per 1,000 tokens read; summed step by step
        def step_seconds(self, num_decode_seqs, decode_kv_tokens, num_prefill_tokens):
            return decode_kv_tokens / 1e6

        def describe(self):
            return "test"

    # kv 1,000, 2,000, 3,000 over 3 steps: 6 ms
    assert decode_run_seconds(KvModel(), 1, 1000, 1000, 3) == pytest.approx(0.006)
    assert steps_until(KvModel(), 0.0, 0.0045, 1, 1000, 1000, 100) == 3
    with pytest.raises(BadInputError, match="step time must be positive"):
        ConstantStepTime(step_s=0)
    with pytest.raises(BadInputError, match="acceptance"):
        SpeculativeStepTime(STEP, 2, 1.0)


def test_rates():
    assert parse_rate("inf") == AllAtOnce() and parse_rate("trace") == TraceTimes()
    assert parse_rate("2/s", seed=3) == Poisson(2.0, 3) and parse_rate("120/min") == Poisson(2.0, 0)
    assert [r.rate_per_s for r in parse_rates("1/s,2,0.5/s")] == [1.0, 2.0, 0.5]
    for bad, msg in (("fast", "cannot read"), ("0/s", "positive"), ("1/s,,2/s", "empty item"), ("2/s,2", "twice")):
        with pytest.raises(BadInputError, match=msg):
            parse_rates(bad)
    # Poisson arrivals: exponential gaps, seeded, the same for any prefix of the stream
    a = list(Poisson(2.0, 7).times(range(5)))
    assert a == sorted(a) and a == list(Poisson(2.0, 7).times(range(8)))[:5]
    many = list(Poisson(2.0, 0).times(range(20_000)))
    assert many[-1] / len(many) == pytest.approx(0.5, rel=0.03)  # mean gap 1 / rate; sd of the mean 0.7%


def test_poisson_run_is_seeded_and_arrives_in_order():
    wl = from_lengths([10] * 50, [20] * 50, max_model_len=64).with_arrivals(Poisson(1.0, 1))
    a = run(wl, "paged-4", 400).timing
    b = run(wl, "paged-4", 400).timing
    assert a == b and a.queue_delay_s[0] >= 0 and a.makespan_s > 0


def test_speed_model_step_time_is_the_speed_models_decode_step():
    """Issue 14: decode steps take time from the speed model where it exists. One engine step
    of n sequences reading n x ctx tokens is kvplan.speed.decode_step's time for n users at
    ctx; a run of steps is their sum (exact up to 16 steps, trapezoid within 1% beyond)."""
    from kvplan.capacity import make_request, plan
    from kvplan.fragment.timing import SpeedModelStepTime
    from kvplan.loader import load_model
    from kvplan.speed import decode_step, setup

    s = setup(plan(make_request(load_model("llama3.1-8b"), "h100", max_model_len=8192)))
    model = SpeedModelStepTime(s, "test")
    for n, ctx in ((1, 1000), (8, 4096), (64, 2000)):
        assert model.step_seconds(n, n * ctx, 0) == decode_step(s, n, ctx).total_s
    assert model.step_seconds(8, 8 * 4096, 512) > model.step_seconds(8, 8 * 4096, 0)
    exact16 = sum(model.step_seconds(8, 8 * (1000 + j), 0) for j in range(16))
    assert model.decode_run_seconds(8, 8 * 1000, 8, 16) == exact16
    steps = 3000
    exact = sum(model.step_seconds(32, 32 * (500 + j), 0) for j in range(steps))
    assert abs(model.decode_run_seconds(32, 32 * 500, 32, steps) - exact) <= 0.01 * exact


def test_fragment_gpu_times_steps_with_the_speed_model(capsys):
    from helpers import cli

    code, out, _ = cli(capsys, "fragment", "llama3.1-8b", "--gpu", "h100", "--requests", "50", "--rate", "2/s",
                       "--policies", "paged-16", "--json")
    assert code == 0
    assert "kvplan speed model" in json.dumps(json.loads(out))
    code, out, _ = cli(capsys, "fragment", "llama3.1-8b", "--gpu", "h100", "--requests", "50", "--rate", "2/s",
                       "--policies", "paged-16", "--step-ms", "30", "--json")
    assert "kvplan speed model" not in json.dumps(json.loads(out))
