"""Fixes to `kvplan speed` and `kvplan recommend` from the h25 audit (S1-S12): each test
fails on the code before its fix (the figure it asserts, the exit code, the message)."""

from __future__ import annotations

import pytest

from kvplan.capacity import make_request, plan
from kvplan.loader import load_model
from kvplan.speed import decode_step, estimate, prefill_time, setup


def _setup(model="llama3.1-8b", gpu="h100", eff=None, **options):
    spec = model if not isinstance(model, str) else load_model(model)
    return setup(plan(make_request(spec, gpu, **options)), eff)


# -- S1: one DP rank's prompt meets one dummy token from each idle rank, not dp prompts ------
def test_s1_prefill_charges_the_prompt_once_and_a_dummy_token_per_idle_dp_rank():
    """vLLM 0.19.1 v1/engine/core.py 1718-1723 and v1/worker/gpu_worker.py 889-891: an idle DP
    rank runs a dummy pass of one token. Mixtral at tp 1 dp 2: 4,096 + 1 tokens meet in the
    experts (the old code: 2 x 4,096), so the routed-expert FLOPs are those of 4,097 tokens."""
    s = _setup("mixtral-8x7b", tp=1, dp=2)
    one = _setup("mixtral-8x7b", tp=1)
    st = s.stages[0]
    t2, t1 = prefill_time(s, 4096), prefill_time(one, 4096)
    k, e = s.expert_hit
    # the dp 2 rank holds half the experts (flattened over tp x dp), computes them for 4,097 tokens
    expert = 2.0 * st.expert_params * k / e
    assert t2.flops - t1.flops == pytest.approx(expert * 4097 - 2.0 * one.stages[0].expert_params * k / e * 4096)
    assert round(t2.total_s * 1e3, 1) == 123.0  # was 216.1 ms (125.1 with S1 alone; S5 takes the lm_head off)


def test_s1_deepseek_v3_dp8_ttft_and_tpot():
    """kvplan speed deepseek-v3 --gpu h200 --dp 8 --enable-expert-parallel --ctx 4k --output 1k
    --users 8,64,256: TTFT 502.8 ms before (8 prompts' expert FLOPs), 247.3 ms with S1, 240.1 with
    S5 too; the TPOT at 256 users 50.28 -> 46.29 (S1) -> 46.08 ms (the other ranks' prompts come
    at their own rate); 46.32 ms (and 13.96 -> 14.22 ms at 8 users) once a decode step reads vLLM's
    bf16 W_UK_T / W_UV copy of the fp8 kv_b_proj (tests/test_speed_mla_copy.py); the TTFT, a
    prompt's steps, reads kv_b_proj itself and stays."""
    s = _setup("deepseek-v3", "h200", dp=8, enable_expert_parallel=True)
    p = estimate(s, 256, 4096, 1024)
    assert round(p.ttft_s * 1e3, 1) == 240.1
    assert round(p.tpot_s * 1e3, 2) == 46.32
    assert round(estimate(s, 8, 4096, 1024).tpot_s * 1e3, 2) == 14.22


def test_s1_other_ranks_prompts_are_a_share_of_steps_not_a_mean_token_count():
    """One user per rank (dp 8, 1,024 output tokens): the 7 other ranks bring a prompt in
    1 - (1023/1024)^7 = 0.68% of the steps; spreading their prompt tokens over every step
    (4 tokens each) would read 1 - (31/32)^36 = 68% of DeepSeek-V3's experts in every step
    instead of 1 - (31/32)^8 = 22%."""
    from kvplan.speed import _Load, _pass_time

    s = _setup("deepseek-v3", "h200", dp=8, enable_expert_parallel=True)
    mean = decode_step(s, 1, 4096 + 512, 4096, 1024)
    idle = _pass_time(s, _Load(1, 4608, other_ranks_tokens=7.0))
    busy = _pass_time(s, _Load(1, 4608, other_ranks_tokens=7.0 + 7 * (1 / 1024) / (1 - (1023 / 1024) ** 7) * 4096))
    p = 1 - (1023 / 1024) ** 7
    want = (1 - p) * idle.total_s + p * busy.total_s + s.efficiency.step_overhead_s
    assert mean.total_s == pytest.approx(want, rel=1e-12)
    assert mean.weight_read_bytes < _pass_time(s, _Load(1, 4608, other_ranks_tokens=7 * (1 + 4.0))).weight_read_bytes


def test_s1_balanced_decode_is_unchanged_without_output():
    """A pure decode step (no --output) still has every rank bring its own sequences."""
    from kvplan.speed import _Load, _pass_time

    s = _setup("mixtral-8x7b", tp=1, dp=2)
    assert decode_step(s, 8, 4096).total_s - s.efficiency.step_overhead_s == pytest.approx(
        _pass_time(s, _Load(8, 4096)).total_s, rel=1e-12)


# -- S2: recommend under SGLang plans the max_model_len the engine's RequestCap needs --------
def test_s2_recommend_under_sglang_plans_two_tokens_more_and_finds_options(capsys):
    """SGLang 0.5.8 managers/tp_worker.py 286-290 max_req_len = min(context_len, pool) - 1 and
    scheduler.py 1335-1343: a request stops at max_req_len - 1. The old code planned
    max_model_len 4,096 for 4,096 tokens: 0 options, every family 'memory', exit 1."""
    from helpers import cli

    code, out, _ = cli(capsys, "recommend", "llama3.1-8b", "--ctx", "4k", "--users", "8", "--gpus", "h100",
                       "--engine", "sglang==0.5.8", "--json")
    assert code == 0
    d = __import__("json").loads(out)
    assert len(d["options"]) == 4 and not d["rejections"]
    # a prompt of 4,096 needs max_model_len 4,103 (review h25-2 Q1: SGLang aborts a prompt of
    # max_req_input_len = context_len - 6 or more; 4,098 accepted prompts of at most 4,091)
    assert {o["max_model_len"] for o in d["options"]} == {4103}
    assert {(o["weights"], o["kv_dtype"], round(o["tpot_ms"], 1)) for o in d["options"]} == {
        ("fp8", "fp8_e4m3", 6.1), ("fp8", "bf16", 7.0), ("bf16", "fp8_e4m3", 8.6), ("bf16", "bf16", 9.6)}


def test_s2_the_cap_is_the_engines_request_cap():
    from kvplan.engines import get_engine

    assert get_engine("sglang==0.5.8").request_cap.max_model_len_for(4096) == 4098
    assert get_engine("sglang==0.4.6").request_cap.max_model_len_for(4096) == 4098
    assert get_engine("vllm").request_cap.max_model_len_for(4096) == 4096
    cap = get_engine("sglang==0.5.8").request_cap
    assert cap.tokens(cap.max_model_len_for(12345)) == 12345
    # the prompt's own limit: SGLang aborts len(prompt) >= context_len - 1 - 5; vLLM needs room for 1 output token
    assert cap.max_model_len_for(4096, 4096) == 4103 and cap.max_model_len_for(4200, 4096) == 4202
    assert get_engine("vllm").request_cap.max_model_len_for(4096, 4096) == 4097


def test_q1_recommend_plans_a_max_model_len_that_accepts_the_prompt(capsys):
    # review h25-2 Q1: --ctx 4k without --output planned max_model_len 4,096 under vLLM, whose
    # 0.14.0+ input processor refuses a prompt of max_model_len (no room for the output token)
    from helpers import cli

    code, out, _ = cli(capsys, "recommend", "llama3.1-8b", "--ctx", "4k", "--users", "8", "--gpus", "h100", "--json")
    assert code == 0
    assert {o["max_model_len"] for o in __import__("json").loads(out)["options"]} == {4097}
    code, _, err = cli(capsys, "recommend", "llama3.1-8b", "--ctx", "4k", "--users", "8", "--gpus", "h100",
                       "--engine", "sglang==0.5.8", "--max-model-len", "4100")
    assert code == 2 and "accepts a prompt of at most max_model_len - 7 = 4,093 tokens" in err


def test_s2_a_max_model_len_sglang_cuts_short_is_refused_in_one_line(capsys):
    from helpers import cli, one_line_error

    code, _, err = cli(capsys, "recommend", "llama3.1-8b", "--ctx", "4k", "--users", "8", "--gpus", "h100",
                       "--engine", "sglang==0.5.8", "--max-model-len", "4096")
    assert code == 2
    assert "takes at most 4,094 tokens a request at max_model_len 4,096 (sglang==0.5.8 runs one to " \
           "max_model_len - 2" in one_line_error(err)
    code, out, _ = cli(capsys, "recommend", "llama3.1-8b", "--ctx", "4k", "--users", "8", "--gpus", "h100",
                       "--engine", "vllm", "--max-model-len", "4097", "--json")
    assert code == 0
    code, _, err = cli(capsys, "recommend", "llama3.1-8b", "--ctx", "4k", "--users", "8", "--gpus", "h100",
                       "--engine", "vllm", "--max-model-len", "4096")  # the prompt leaves no output token
    assert code == 2 and "accepts a prompt of at most max_model_len - 1 = 4,095 tokens" in err


# -- S6: SGLang 0.4.6 has no pipeline parallelism ---------------------------------------------
@pytest.mark.parametrize("command", [
    ["capacity", "llama3.1-70b", "--gpu", "h100", "--tp", "2", "--pp", "2"],
    ["speed", "llama3.1-70b", "--gpu", "h100", "--tp", "2", "--pp", "2", "--ctx", "4k", "--users", "8"],
])
def test_s6_pp_under_sglang_0_4_6_is_refused(capsys, command):
    """The 0.4.6 wheel's server_args.py has no pp_size (0.4.9: line 86, --pipeline-parallel-size
    line 862). Before: capacity 'verdict: fits', speed timed it, both exit 0."""
    from helpers import cli, one_line_error

    code, _, err = cli(capsys, *command, "--engine", "sglang==0.4.6")
    assert code == 2
    assert one_line_error(err).startswith("kvplan: error: sglang==0.4.6 has no pipeline parallelism")
    code, _, _ = cli(capsys, *command, "--engine", "sglang==0.4.9")
    assert code == 0


def test_s6_recommend_under_sglang_0_4_6_tries_no_pipeline():
    from kvplan.engines import get_engine
    from kvplan.recommend import layouts, recommend

    spec = load_model("llama3.1-70b")
    assert get_engine("sglang==0.4.6").pipeline_parallel is False
    assert get_engine("sglang==0.4.9").pipeline_parallel is True
    assert {pp for _, pp, _, _ in layouts(spec, 8, False)} == {1}
    assert {pp for _, pp, _, _ in layouts(spec, 8)} == {1, 2, 4}
    rec = recommend(spec, ctx=4096, users=8, gpus=["h100"], engine="sglang==0.4.6", kv_formats=["auto"],
                    weights=["bf16"])
    assert rec.options and all(o.request.pp == 1 for o in rec.options)


# -- S7: a refused layout does not outrank the family's closest miss --------------------------
def test_s7_tpot_miss_outranks_a_refused_dp_attention_layout():
    """SGLang 0.5.8 refuses Mixtral with --dp (DP-attention weights not read) while its tp-only
    layouts fit and are too slow: before, the reason was 'gpu' naming the dp layout."""
    from kvplan.recommend import recommend

    rec = recommend(load_model("mixtral-8x7b"), ctx=8192, users=64, output_tokens=1024, tpot_s=0.010,
                    gpus=["h100"], engine="sglang==0.5.8", max_model_len=9300)
    reasons = {(r.weights, r.kv_dtype): (r.reason, r.detail) for r in rec.rejections}
    assert reasons[("bf16", "bf16")] == ("tpot", "fastest that fits: 11.4 ms a token (16 GPUs tp 8 pp 2 ep) > 10 ms")
    assert reasons[("bf16", "fp8_e4m3")][0] == "tpot"


# -- S3: a measure report calibrates each KV format with its own kv_bandwidth -----------------
H200_REPORT = "docs/measurements/h200-measure.json"


@pytest.mark.parametrize("order", ["bf16,fp8", "fp8,bf16"])
def test_s3_speed_calibrates_each_format_with_its_own_bandwidth(capsys, order):
    """docs/measurements/h200-measure.json: bf16 4,130.6 GB/s (0.8605 of 4.8 TB/s), fp8_e4m3
    2,418.1 (0.5038). Before: the first --kv-dtype's figure for all, so fp8 read 10.25 ms after
    bf16 and 13.20 ms first; bf16 14.41 or 20.30 ms."""
    import json
    from pathlib import Path

    from helpers import cli

    report = str(Path(__file__).resolve().parents[1] / H200_REPORT)
    code, out, _ = cli(capsys, "speed", "llama3.1-8b", "--gpu", "h200", "--ctx", "8k", "--users", "32",
                       "--kv-dtype", order, "--calibration", report, "--json")
    assert code == 0
    got = {f["kv_dtype"]: (round(f["efficiency"]["kv_bandwidth"], 4), round(f["points"][0]["tpot_ms"], 2))
           for f in json.loads(out)["formats"]}
    assert got == {"bf16": (0.8605, 14.41), "fp8_e4m3": (0.5038, 13.20)}


def test_s3_recommend_calibrates_each_family_with_its_kv_format():
    from pathlib import Path

    from kvplan.recommend import recommend
    from kvplan.speed import load_calibration

    report = Path(__file__).resolve().parents[1] / H200_REPORT
    rec = recommend(load_model("llama3.1-8b"), ctx=8192, users=32, gpus=["h200"], weights=["bf16"],
                    kv_formats=["auto", "fp8"], calibration=report)
    assert {o.request.kv_format.name for o in rec.options} == {"bf16", "fp8_e4m3"}
    for o in rec.options:
        eff = load_calibration(report, o.request.gpu, o.request.kv_format.name)
        want = estimate(setup(plan(o.request), eff), 32, 8192)
        assert o.point.tpot_s == pytest.approx(want.tpot_s, rel=1e-12)
    fp8 = next(o for o in rec.options if o.request.kv_format.name == "fp8_e4m3")
    assert round(fp8.point.tpot_s * 1e3, 2) == 13.20  # with bf16's 0.8605 it read 10.25 ms


# -- S10: a calibration file with a bool version or implausible figures is refused ------------
@pytest.mark.parametrize(("body", "text"), [
    ('{"kvplan_calibration": true, "gpu": "h100", "source": "x", "kv_bandwidth": 0.8}',
     'not a kvplan measure report nor a calibration file (expected "kvplan_calibration": 1'),
    ('{"kvplan_calibration": 1, "gpu": "h100", "source": "x", "flops": 1e-9}',
     "flops: expected an achieved fraction of the peak in [0.05, 1], got 1e-09"),
    ('{"kvplan_calibration": 1, "gpu": "h100", "source": "x", "step_overhead_us": 9999999}',
     "step_overhead_us: expected microseconds in [0, 100,000], got 9999999"),
    ('{"kvplan_calibration": 1.0, "gpu": "h100", "source": "x", "flops": 0.5}',
     "not a kvplan measure report nor a calibration file"),
])
def test_s10_calibration_refusals_exit_2_one_line(capsys, tmp_path, body, text):
    """Before: each was accepted (exit 0); flops 1e-9 + step_overhead_us 9,999,999 printed a TPOT
    of 15,722,744.5 ms."""
    from helpers import cli, one_line_error

    path = tmp_path / "cal.json"
    path.write_text(body)
    code, _, err = cli(capsys, "speed", "llama3.1-8b", "--gpu", "h100", "--ctx", "1k", "--users", "1",
                       "--calibration", str(path))
    assert code == 2
    assert text in one_line_error(err)


# -- S4: tp all-reduces by the layer's row-parallel outputs ------------------------------------
@pytest.mark.parametrize(("model", "reduces"), [
    ("tests/fixtures/hf_configs/nemotron-h-56b-base-8k.json", 118),  # 118 one-mixer blocks (was 236)
    ("tests/fixtures/hf_configs/falcon-h1-0.5b.json", 108),  # 36 x (attention, Mamba, MLP) (was 72)
    ("llama3.1-8b", 64),
])
def test_s4_decode_charges_one_all_reduce_per_row_parallel_output(model, reduces):
    """One user, h200 tp 2: comm = (reduces + the embedding's one) x one all-reduce of one token
    (every message is hidden wide here; no fusion saving on Hopper) + the logits gather (S11)."""
    from pathlib import Path

    from kvplan.speed import _collective_s, _gather_s

    path = str(Path(__file__).resolve().parents[1] / model) if model.endswith(".json") else model
    s = _setup(path, "h200", tp=2)
    one = _collective_s(s, 2, s.spec.hidden_size * s.act_bytes)[0]
    gather = _gather_s(s, 2, s.spec.vocab_size * s.act_bytes)[0]  # the logits of the one row
    assert decode_step(s, 1, 8192).comm_s == pytest.approx((reduces + 1) * one + gather, rel=1e-12)


def test_s4_the_count_lives_in_shapes():
    from pathlib import Path

    from kvplan.shapes import tp_all_reduces

    root = Path(__file__).resolve().parents[1] / "tests/fixtures/hf_configs"
    nemo = load_model(str(root / "nemotron-h-56b-base-8k.json"))
    kinds = {tp_all_reduces(nemo, i) for i in range(nemo.num_layers)}
    assert kinds == {((8192,), ()), ((), (8192,))}
    falcon = load_model(str(root / "falcon-h1-0.5b.json"))
    assert tp_all_reduces(falcon, 0) == ((1024, 1024), (1024,))
    mamba = load_model(str(root / "mamba-2.8b.json"))
    assert tp_all_reduces(mamba, 0) == ((192, 2560), ())  # x_proj (dt_rank 160 + 2 x 16) and out_proj
    assert tp_all_reduces(load_model("deepseek-v3"), 5) == ((7168,), (7168,))  # routed + shared: one


# -- S5: logits for one row a request, not every prompt token ---------------------------------
@pytest.mark.parametrize(("model", "ttft_ms"), [("llama3.2-1b", 40.2), ("gemma3-4b", 121.9), ("llama3.1-8b", 253.9)])
def test_s5_prefill_computes_the_lm_head_at_the_last_position_only(model, ttft_ms):
    """vLLM 0.19.1 gpu_model_runner.py 2047/4069, SGLang 0.5.8 logits_processor.py 426/440. Before
    (lm_head on all 8,192 positions): 48.5, 142.9, 270.3 ms."""
    s = _setup(model)
    st = s.stages[0]
    assert st.head_params == {"llama3.2-1b": 262_668_288, "gemma3-4b": 671_252_480,
                              "llama3.1-8b": 525_336_576}[model]  # the audit's lm_head counts
    assert round(prefill_time(s, 8192).total_s * 1e3, 1) == ttft_ms


# -- S11: the pp hand-off across nodes uses the inter-node link --------------------------------
def test_s11_handoff_links():
    from kvplan.speed import _handoff_links

    assert _handoff_links(8, 2, 8, 450, 50) == [50]  # tp 8 pp 2: stage 1 on the second node
    assert _handoff_links(2, 2, 8, 450, 50) == [450]
    assert _handoff_links(4, 4, 8, 450, 50) == [450, 50, 450]
    assert _handoff_links(3, 3, 8, 450, 50) == [450, 50]  # 0-2 -> 3-5 on one node; 5 -> 8 crosses


def test_s11_embedding_all_reduce_and_logits_gather_at_tp_2():
    """Llama-3.1-8B, 8 sequences, h100 tp 2: 64 layer all-reduces + the embedding's one, and one
    gather of 8 x 128,256 bf16 logits (half of it crosses)."""
    from kvplan.speed import _collective_s, _gather_s

    s = _setup(tp=2)
    ar = _collective_s(s, 2, 8 * 4096 * 2)[0]
    gather = _gather_s(s, 2, 8 * 128256 * 2)[0]
    assert decode_step(s, 8, 1000).comm_s == pytest.approx(65 * ar + gather, rel=1e-12)


# -- S12: a users count given twice is one row ----------------------------------------------
def test_s12_duplicate_users_print_one_row(capsys):
    import json

    from helpers import cli

    code, out, _ = cli(capsys, "speed", "llama3.1-8b", "--gpu", "h100", "--ctx", "8k", "--users", "1,8,1,8,1",
                       "--json")
    assert code == 0
    assert [p["users"] for p in json.loads(out)["formats"][0]["points"]] == [1, 8]  # was [1, 8, 1, 8, 1]


def test_q9_handoff_links_take_the_slowest_replica():
    """Review h25-2 Q9: with dp replicas placed one after another (vLLM's global rank
    (replica x pp + stage) x tp + r), replica 0 of tp 3 pp 2 on 8-GPU nodes (ranks 0-5) crosses
    no node, replica 1 (ranks 6-11) hands off from ranks 6-8 to 9-11, 7 -> 10 across nodes."""
    from kvplan.speed import _handoff_links

    assert _handoff_links(3, 2, 8, 450, 50) == [450]
    assert _handoff_links(3, 2, 8, 450, 50, dp=2) == [50]
    assert _handoff_links(2, 2, 8, 450, 50, dp=4) == [450]  # four replicas of 4 GPUs, two to a node
    assert _handoff_links(4, 2, 8, 450, 50, dp=2) == [450]  # each replica fills one node


def test_q9_sglang_dp_attention_stages_span_the_whole_tp_group():
    """SGLang's DP attention: one stage is --tp = tp x dp ranks, so tp 2 dp 4 pp 2 (16 GPUs) hands
    off from ranks 0-7 to 8-11 across nodes, where vLLM's four DP ranks of tp 2 pp 2 never cross."""
    def comm(engine):
        return decode_step(_setup("qwen3-235b-a22b", "h100", engine=engine, tp=2, pp=2, dp=4), 4, 1024).comm_s

    assert comm("sglang==0.5.8") > comm("vllm==0.19.1")
