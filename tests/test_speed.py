"""kvplan.speed: bytes and FLOPs per step (exact where they are counts), the time model's
invariants, calibration files, refusals, and `kvplan speed`."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import cli, one_line_error, toy_spec
from kvplan.capacity import make_request, plan
from kvplan.errors import BadInputError, KvplanError
from kvplan.gpus import get_gpu
from kvplan.loader import load_model
from kvplan.speed import (
    decode_step,
    default_efficiency,
    estimate,
    expert_hit_fraction,
    load_calibration,
    prefill_time,
    setup,
    speed_table,
)
from kvplan.weights import weights_footprint

REPO = Path(__file__).resolve().parents[1]


def _setup(model="llama3.1-8b", gpu="h100", eff=None, **options):
    spec = model if not isinstance(model, str) else load_model(model)
    return setup(plan(make_request(spec, gpu, **options)), eff)


# -- what a step reads ----------------------------------------------------------------------
def test_decode_reads_every_weight_matrix_once_and_no_embedding_table():
    s = _setup()
    w = weights_footprint(load_model("llama3.1-8b"), "bf16")
    step = decode_step(s, 1, 1000)
    # 16,060,522,496 B of weights minus the 1,050,673,152 B embedding table (only 1 row looked up)
    assert step.weight_read_bytes == w.total_bytes - w.by_part["embedding"] == 15_009_849_344


def test_decode_reads_each_sequences_kv_exactly():
    s = _setup()
    # Llama-3.1-8B bf16: 131,072 B a token (32 layers x 8 heads x 256 values x 2 B)
    assert decode_step(s, 4, 1000).kv_read_bytes == 4 * 131_072 * 1000


def test_kv_read_in_the_format_with_scales():
    # int8: 128 + 4 B per head vector (one fp32 scale per token and head)
    s = _setup(kv_format="int8", engine="raw")  # vLLM has no int8 KV; the raw engine plans any format
    assert decode_step(s, 1, 100).kv_read_bytes == 100 * 32 * 8 * 2 * 132


def test_tied_embedding_is_read_as_the_lm_head():
    spec = load_model("llama3.2-1b")
    assert spec.tie_word_embeddings
    s = _setup(spec)
    w = weights_footprint(spec, "bf16")
    assert decode_step(s, 1, 10).weight_read_bytes == w.total_bytes


def test_sliding_window_layers_read_at_most_the_window():
    spec = toy_spec(cache={"kinds": {"local": {"kind": "sliding_window", "window": 100}}})
    s = _setup(spec, gpu_mem_bytes="80GB", gpu="h100")
    assert decode_step(s, 1, 5000).kv_read_bytes == decode_step(s, 1, 100).kv_read_bytes == 32 * 100 * 4096


def test_mla_latent_is_read_whole_on_every_rank():
    s = _setup("deepseek-v3", "h200", tp=8)
    # 61 layers x (512 + 64) x 2 B = 70,272 B a token, not divided by tp
    assert decode_step(s, 2, 1000).kv_read_bytes == 2 * 1000 * 70_272


def test_tensor_parallel_halves_the_matrices_and_adds_collectives():
    one, two = _setup(), _setup(tp=2)
    a, b = decode_step(one, 8, 1000), decode_step(two, 8, 1000)
    assert a.comm_s == 0 and b.comm_s > 0
    assert 0.49 < b.weight_read_bytes / a.weight_read_bytes < 0.52
    # 2 all-reduces a layer of 8 x 4096 bf16 activations, ring bytes (2 (tp - 1) / tp) = 1x, the
    # embedding's all-reduce, and the gather of 8 rows of 128,256 bf16 logits (half crosses)
    assert b.comm_bytes == 2 * 32 * 8 * 4096 * 2 + 8 * 4096 * 2 + 8 * 128_256 * 2 // 2


def test_expert_hit_fraction():
    assert expert_hit_fraction(2, 8, 0) == 0
    assert expert_hit_fraction(2, 8, 1) == pytest.approx(0.25)
    assert expert_hit_fraction(2, 8, 8) == pytest.approx(1 - 0.75 ** 8)
    assert expert_hit_fraction(8, 256, 10_000) == pytest.approx(1.0)


def test_moe_reads_only_the_experts_the_batch_hits():
    s = _setup("mixtral-8x7b", tp=2)
    experts = s.stages[0].expert_bytes
    rest = s.stages[0].weight_read_bytes
    one = decode_step(s, 1, 100).weight_read_bytes
    assert one == pytest.approx(rest + experts * 0.25)
    many = decode_step(s, 256, 100).weight_read_bytes
    assert many == pytest.approx(rest + experts)


def test_fp8_weights_run_at_the_fp8_peak_where_the_gpu_has_one():
    assert _setup(weights="fp8").linear_flops_per_s == 1_978_900_000_000_000
    assert _setup(gpu="a100-80gb", weights="fp8").linear_flops_per_s == 312_000_000_000_000  # Marlin, BF16 math


# -- the time model's invariants -------------------------------------------------------------
@settings(max_examples=30, deadline=None)
@given(users=st.integers(1, 200), ctx=st.integers(1, 60_000), more=st.integers(1, 50))
def test_tpot_grows_with_users_and_context(users, ctx, more):
    s = _setup(tp=2)
    t = decode_step(s, users, ctx).total_s
    assert decode_step(s, users + more, ctx).total_s >= t
    assert decode_step(s, users, ctx + more).total_s >= t


@settings(max_examples=20, deadline=None)
@given(prompt=st.integers(1, 100_000))
def test_ttft_grows_with_the_prompt(prompt):
    s = _setup()
    assert prefill_time(s, prompt + 1).total_s >= prefill_time(s, prompt).total_s > 0


def test_faster_memory_is_never_slower():
    slow = _setup(gpu="h100")
    fast = setup(plan(make_request(load_model("llama3.1-8b"), "h200")))
    assert decode_step(fast, 8, 4096).total_s < decode_step(slow, 8, 4096).total_s


def test_bound_names_the_largest_term():
    s = _setup()
    assert estimate(s, 1, 100).bound == "weights"
    assert estimate(s, 40, 8192).bound == "kv"
    low = replace(default_efficiency(), flops=0.001)
    assert decode_step(_setup(eff=low), 64, 100).bound == "compute"


def test_users_beyond_the_pool_are_marked_not_timed():
    s = _setup()
    p = estimate(s, 1000, 8192)
    assert not p.fits and p.tpot_s is None and p.tokens_per_s is None
    assert p.limit == "memory" and "blocks but the pool holds" in p.reason
    assert estimate(s, 8, 8192).fits


def test_users_spread_over_replicas():
    s = _setup(dp=4)
    p = estimate(s, 10, 1000)
    assert p.users_per_replica == 3
    assert p.tokens_per_s == pytest.approx(10 / p.tpot_s)
    assert p.tokens_per_s_per_gpu == pytest.approx(p.tokens_per_s / 4)


def test_output_adds_the_share_of_new_prompts():
    s = _setup()
    assert estimate(s, 32, 4096, 256).tpot_s > estimate(s, 32, 4096 + 128).tpot_s


def test_one_users_tpot_carries_no_prompt():
    """TPOT = (latency - TTFT) / (output - 1): a lone request's own prompt is its TTFT, so its
    decode steps compute no prompt, however long the prompt."""
    s = _setup()
    assert estimate(s, 1, 8192, 100).tpot_s == decode_step(s, 1, 8192 + 50).total_s


@pytest.mark.parametrize(("users", "output"), [(8, 256), (33, 1000), (4, 2)])
def test_tpot_is_the_time_mean_of_decode_steps_and_steps_with_a_prompt(users, output):
    """The other users - 1 requests each bring a prompt once per ``output`` steps: a share
    q = (users - 1) / output of the steps computes one (every step, (users - 1) / output
    prompts, when q would exceed 1), and TPOT is the mean of the two step times."""
    from kvplan.speed import _Load, _pass_time

    s = _setup()
    prompt, ctx = 1000, 1000 + output // 2
    q = (users - 1) / output
    plain = _pass_time(s, _Load(users, ctx)).total_s
    if q <= 1:
        want = (1 - q) * plain + q * _pass_time(s, _Load(users, ctx, float(prompt), 0, 1.0)).total_s
    else:
        want = _pass_time(s, _Load(users, ctx, q * prompt, 0, q)).total_s
    got = decode_step(s, users, ctx, prompt, output).total_s - s.efficiency.step_overhead_s
    assert got == pytest.approx(want, rel=1e-12)


def test_a_prompt_touches_each_expert_once_not_in_every_step():
    """Mixtral at 4 users with 3,200-token prompts over 800 steps: 3 of the 800 steps compute
    a prompt and read every expert; spreading its users x prompt / output = 16 tokens into every
    step would read 99.7% of the experts in each step (1 - (6/8)^20) instead of 68% (1 - (6/8)^4)."""
    from kvplan.speed import _Load, _pass_time

    s = _setup("mixtral-8x7b", tp=2)
    mean = decode_step(s, 4, 3600, 3200, 800)
    spread = _pass_time(s, _Load(4, 3600, 4 * 3200 / 800, 0, 4 / 800))
    plain = _pass_time(s, _Load(4, 3600))
    assert plain.weight_read_bytes < mean.weight_read_bytes < spread.weight_read_bytes
    assert mean.weights_s < spread.weights_s


def test_speed_table_one_pool_per_format():
    req = make_request(load_model("llama3.1-8b"), "h100")
    t = speed_table(req, [1, 64], 8192, [req.kv_format, req.replace(kv_format="fp8").kv_format])
    d = t.as_dict()
    bf16, fp8 = d["formats"]
    assert fp8["max_requests_at_peak"] > bf16["max_requests_at_peak"]
    assert bf16["points"][1]["fits"] is False and fp8["points"][1]["fits"] is True


# -- refusals -----------------------------------------------------------------------------
def test_refuses_a_gpu_known_only_by_its_memory():
    with pytest.raises(BadInputError, match="no memory bandwidth"):
        setup(plan(make_request(load_model("llama3.1-8b"), None, gpu_mem_bytes="80GB")))


def test_refuses_tensor_parallel_without_a_link_figure():
    with pytest.raises(BadInputError, match="no GPU-to-GPU link"):
        _setup(gpu="a10g", tp=2)


def test_refuses_fp32_weights():
    with pytest.raises(BadInputError, match="no compute path for fp32"):
        _setup(dtype="fp32")


# -- vLLM's fused all-reduce + RMSNorm (pass_config fuse_allreduce_rms) ---------------------
def _counted(name: str):
    """A catalog GPU the catalog has no SM count for (B300, L40, RTX PRO 6000 Workstation: vLLM
    0.17+ plans on them are refused, tests/test_rules_pinned.py), given one so that the figure a
    test checks, which does not depend on the Triton sampler buffer's rows, can be planned."""
    import dataclasses

    from kvplan.gpus import get_gpu

    g = get_gpu(name)
    return g if g.compute_units is not None else dataclasses.replace(g, compute_units=128)


def _gptoss(gpu="b200", tp=2, fuse: bool | None = True, **options):
    return setup(plan(make_request(load_model("gpt-oss-120b"), _counted(gpu), tp=tp, **options)), None, fuse)


def test_fused_allreduce_sizes_are_the_releases_table():
    # FI_ALLREDUCE_FUSION_MAX_SIZE_MB: SM100 {2: 64, 4: 32, 8: 1}, SM90 {2: 64, 4: 2, 8: 0.5} (0.11.1-0.19.1)
    assert _gptoss("b200", 2).fused_allreduce_max_bytes == 64 * 1024 * 1024
    assert _gptoss("b200", 8).fused_allreduce_max_bytes == 1_048_576
    assert _gptoss("h100", 8).fused_allreduce_max_bytes == 524_288
    assert _gptoss("b200", 1).fused_allreduce_max_bytes == 0  # the pass disables itself at tp 1
    assert _gptoss("a100-80gb", 2).fused_allreduce_max_bytes == 0  # no size for SM80: unfused
    assert _gptoss("b200", 2, fuse=False).fused_allreduce_max_bytes == 0
    # 0.19.0 adds SM103 {2: 64, 4: 64, 8: 2}; before it a B300 (10.3) has no size, so nothing fuses
    assert _gptoss("b300", 8, engine="vllm==0.19.0").fused_allreduce_max_bytes == 2 * 1024 * 1024
    b300 = _gptoss("b300", 8, engine="vllm==0.18.1").allreduce_fusion
    assert b300.on and b300.max_bytes == 0 and "no size for CC 10.3 at tp 8" in b300.source


def test_fused_allreduce_saves_the_b200_figure_on_every_tp_all_reduce():
    fused, plain = decode_step(_gptoss(), 4, 1000), decode_step(_gptoss(fuse=False), 4, 1000)
    # 36 layers x 2 all-reduces of 4 x 2880 bf16 (23,040 B, under 64 MiB), each 4.8 us cheaper
    assert plain.comm_s - fused.comm_s == pytest.approx(72 * 4.8e-6)
    # + the embedding's all-reduce (unfused) and the gather of 4 rows of 201,088 bf16 logits
    assert fused.comm_bytes == plain.comm_bytes == 73 * 23_040 + 4 * 201_088 * 2 // 2
    assert fused.weights_s == plain.weights_s and fused.overhead_s == plain.overhead_s


def test_fused_allreduce_leaves_larger_messages_and_other_gpus_alone():
    # tp 8 on B200 fuses up to 1 MiB: 182 tokens x 5,760 B fit, 256 tokens (1,474,560 B) do not
    assert decode_step(_gptoss(tp=8), 256, 100).comm_s == decode_step(_gptoss(tp=8, fuse=False), 256, 100).comm_s
    assert decode_step(_gptoss(tp=8), 182, 100).comm_s < decode_step(_gptoss(tp=8, fuse=False), 182, 100).comm_s
    # H100: nothing measured to save (vLLM PR #22086), so the same time
    assert decode_step(_gptoss("h100"), 4, 100).comm_s == decode_step(_gptoss("h100", fuse=False), 4, 100).comm_s


def _llama70b(fuse: bool | None, **options):
    return setup(plan(make_request(load_model("llama3.1-70b"), "b200", tp=2, **options)), None, fuse)


def test_fused_allreduce_is_refused_for_other_engines_and_off_by_default_there():
    with pytest.raises(BadInputError, match="^trtllm has no all-reduce \\+ RMSNorm fusion option kvplan models"):
        _llama70b(True, engine="trtllm")
    off = _llama70b(None, engine="trtllm").allreduce_fusion
    assert not off.on and off.max_bytes == 0


def test_trtllm_refuses_a_model_with_its_own_windows():
    # one pool per window size, memory split by static fractions kvplan has not read
    with pytest.raises(BadInputError, match="^trtllm: gpt-oss-120b has layers of its own window"):
        _gptoss(engine="trtllm", fuse=None)


@pytest.mark.parametrize("engine, on", [("vllm==0.12.0", False), ("vllm==0.16.0", False), ("vllm==0.17.0", True),
                                        ("vllm==0.18.1", True), ("vllm==0.19.1", True), ("vllm", True)])
def test_fused_allreduce_default_follows_the_release(engine, on):
    # off at every optimization level up to 0.16.0; O2 (the default) turns it on from 0.17.0 at tp > 1 on 10.0
    fusion = _gptoss("b200", 2, fuse=None, engine=engine).allreduce_fusion
    assert fusion.on is on and fusion.max_bytes == (64 * 1024 * 1024 if on else 0)


def test_fused_allreduce_default_needs_tp_dp_1_pp_1_and_hopper_or_blackwell():
    assert _gptoss("b200", 1, fuse=None).allreduce_fusion.on is False
    assert _gptoss("b200", 2, fuse=None, dp=2).allreduce_fusion.on is False  # tp-dp: vllm issue #34458
    assert _gptoss("b200", 2, fuse=None, pp=2).allreduce_fusion.on is False  # tp-pp: vllm issue #35426
    assert _gptoss("a100-80gb", 2, fuse=None).allreduce_fusion.on is False
    assert _gptoss("mi300x", 2, fuse=None).allreduce_fusion.on is False  # not CUDA
    assert _gptoss("h100", 2, fuse=None).allreduce_fusion.on is True
    # B300 (10.3): is_device_capability(100) is exact up to 0.18.1, the 10.x family from 0.19.0
    assert _gptoss("b300", 2, fuse=None, engine="vllm==0.18.1").allreduce_fusion.on is False
    assert _gptoss("b300", 2, fuse=None, engine="vllm==0.19.0").allreduce_fusion.on is True


def test_fused_allreduce_asked_before_0_12_0_is_refused():
    with pytest.raises(BadInputError, match=r"vllm 0.11.2 has no pass_config.fuse_allreduce_rms .*from 0.12.0"):
        _gptoss(engine="vllm==0.11.2")
    assert _gptoss(engine="vllm==0.11.2", fuse=None).allreduce_fusion.on is False
    assert _gptoss(engine="vllm==0.11.2", fuse=False).allreduce_fusion.on is False


def _speed_json(capsys, *extra, gpu="b200", engine="vllm==0.19.1"):
    code, out, err = cli(capsys, "speed", "gpt-oss-120b", "--gpu", gpu, "--tp", "2", "--ctx", "1k", "--users", "4",
                         "--engine", engine, "--json", *extra)
    assert code == 0, err
    data = json.loads(out)
    return data, data["formats"][0]["points"][0]


def test_cli_fuse_allreduce_rms_defaults_on_for_0_19_1_on_b200(capsys):
    data, point = _speed_json(capsys)
    assert data["fuse_allreduce_rms"] == {"on": True, "source": "vLLM 0.19.1 default at O2 (tp 2, dp 1, pp 1, CC 10.0)"}
    assert data["fused_allreduce_max_bytes"] == 67_108_864
    # 72 all-reduces of 23,040 B at 4.8 us + 2 (2 - 1) / 2 x 23,040 B over NVLink, less 4.8 us each;
    # the embedding's all-reduce and the logits gather (h25 S11) unfused
    assert point["step"]["comm_s"] == pytest.approx(0.00036085315555555564, rel=1e-9)
    assert point["tpot_ms"] == pytest.approx(3.9511897611124334, rel=1e-9)
    off, off_point = _speed_json(capsys, "--no-fuse-allreduce-rms")
    assert off["fuse_allreduce_rms"] == {"on": False, "source": "pass_config fuse_allreduce_rms false (asked)"}
    assert off["fused_allreduce_max_bytes"] == 0
    assert off_point["step"]["comm_s"] == pytest.approx(0.0007064531555555556, rel=1e-9)  # 72 x 4.8 us more
    assert off_point["tpot_ms"] == pytest.approx(4.296789761112434, rel=1e-9)


def test_library_default_matches_the_cli_default():
    # kvplan recommend and kvplan fragment's step times call setup(pool): the release default, as kvplan speed
    s = setup(plan(make_request(load_model("gpt-oss-120b"), "b200", tp=2, engine="vllm==0.19.1")))
    assert s.allreduce_fusion.on and s.fused_allreduce_max_bytes == 67_108_864
    assert estimate(s, 4, 1024).tpot_s * 1e3 == pytest.approx(3.9511897611124334, rel=1e-9)


def test_cli_fuse_allreduce_rms_is_off_on_0_16_0_unless_asked(capsys):
    data, point = _speed_json(capsys, engine="vllm==0.16.0")
    assert data["fuse_allreduce_rms"] == {"on": False, "source": "vLLM 0.16.0 default: off at every optimization level"}
    assert point["tpot_ms"] == pytest.approx(4.296789761112434, rel=1e-9)
    data, point = _speed_json(capsys, "--fuse-allreduce-rms", engine="vllm==0.16.0")
    assert data["fuse_allreduce_rms"]["on"] and data["fused_allreduce_max_bytes"] == 67_108_864
    assert point["tpot_ms"] == pytest.approx(3.9511897611124334, rel=1e-9)


def test_cli_fuse_allreduce_rms_on_h100_saves_nothing(capsys):
    on, on_point = _speed_json(capsys, gpu="h100")
    off, off_point = _speed_json(capsys, "--no-fuse-allreduce-rms", gpu="h100")
    assert on["fuse_allreduce_rms"]["on"] and on["fused_allreduce_max_bytes"] == 67_108_864
    assert on_point == off_point


def test_cli_fuse_allreduce_rms_refused_for_0_11_2(capsys):
    # 0.11.2, not 0.11.0: on a B200 up to 0.11.0 gpt-oss's attention sinks are refused first (rule
    # attention_features_start: the optional FlashInfer runs them only with downloaded TRTLLM cubins)
    code, out, err = cli(capsys, "speed", "gpt-oss-120b", "--gpu", "b200", "--tp", "2", "--ctx", "1k", "--engine", "vllm==0.11.2",
                         "--fuse-allreduce-rms")
    assert code == 2 and out == ""
    assert one_line_error(err) == ("kvplan: error: vllm 0.11.2 has no pass_config.fuse_allreduce_rms (vLLM has it "
                                   "from 0.12.0; 0.10.0-0.11.2 have enable_fi_allreduce_fusion, which kvplan does "
                                   "not model)")


# -- efficiency data and calibration --------------------------------------------------------
def test_every_shipped_factor_has_a_source():
    eff = default_efficiency()
    sources = dict(eff.sources)
    assert set(sources) >= {"weights_bandwidth", "kv_bandwidth", "flops", "interconnect", "collective_latency_us",
                            "matrix_overhead_us", "layer_overhead_us", "step_overhead_us",
                            "fused_allreduce_saving_us", "gpus_per_node", "inter_node_bandwidth"}
    assert all(len(v) > 20 for v in sources.values())


def test_gpu_override_applies_to_that_gpu_only():
    from kvplan.gpus import get_gpu

    assert default_efficiency(get_gpu("mi300x")).weights_bandwidth < default_efficiency(get_gpu("h200")).weights_bandwidth


def test_calibration_json_replaces_what_it_gives(tmp_path):
    from kvplan.gpus import get_gpu

    f = tmp_path / "cal.json"
    f.write_text(json.dumps({"kvplan_calibration": 1, "gpu": "h100", "source": "my run", "kv_bandwidth": 0.9,
                             "step_overhead_us": 100}))
    eff = load_calibration(f, get_gpu("h100"), "bf16")
    assert eff.kv_bandwidth == 0.9 and eff.step_overhead_s == pytest.approx(1e-4)
    assert eff.flops == default_efficiency().flops
    assert "my run" in dict(eff.sources)["kv_bandwidth"]


def test_calibration_json_gives_the_fused_allreduce_saving(tmp_path):
    from kvplan.gpus import get_gpu

    f = tmp_path / "cal.json"
    f.write_text(json.dumps({"kvplan_calibration": 1, "gpu": "h100", "source": "my profile",
                             "fused_allreduce_saving_us": 3}))
    assert load_calibration(f, get_gpu("h100"), "bf16").fused_allreduce_saving_s == pytest.approx(3e-6)
    assert default_efficiency(get_gpu("b200")).fused_allreduce_saving_s == pytest.approx(4.8e-6)
    assert default_efficiency(get_gpu("h200")).fused_allreduce_saving_s == 0


@pytest.mark.parametrize("body, text", [
    ({"kvplan_calibration": 1, "gpu": "h200", "source": "x", "flops": 0.5}, "measured on h200, not h100-sxm"),
    ({"kvplan_calibration": 1, "gpu": "h100", "source": "x", "flops": 1.5}, "fraction of the peak in"),
    ({"kvplan_calibration": 1, "gpu": "h100", "source": "x", "speed": 1}, "unknown field 'speed'"),
    ({"kvplan_calibration": 1, "gpu": "h100", "flops": 0.5}, "where the figures come from"),
    ({"gpu": "h100"}, "not a kvplan measure report nor a calibration file"),
])
def test_calibration_refusals(tmp_path, body, text):
    from kvplan.gpus import get_gpu

    f = tmp_path / "cal.json"
    f.write_text(json.dumps(body))
    with pytest.raises(BadInputError, match=text.replace("(", r"\(").replace(")", r"\)").replace("]", r"\]")):
        load_calibration(f, get_gpu("h100"), "bf16")


def _report(interpret=False, gpu="h100-sxm"):
    ok = {"kv_dtype": "bf16", "status": "ok", "cache_bytes_predicted": 1, "cache_bytes_measured": 1,
          "cache_bytes_diff": 0, "memory_source": "torch", "decode_ms_median": 1.0, "decode_ms_min": 1.0,
          "decode_ms_max": 1.0, "decode_ms_iqr": 0.0, "achieved_gbps": 2680.0}
    return {"schema_version": 1, "model": "llama3.1-8b",
            "device": {"name": "NVIDIA H100 80GB HBM3", "interpret": interpret, "catalog_gpu": gpu},
            "config": {"ctx": 4096, "batch": 8, "block_size": 16, "layers_measured": 32, "num_layers": 32},
            "copy_bandwidth": {"gbps": 3000.0}, "formats": [ok]}


def test_measure_report_sets_the_kv_factor(tmp_path):
    from kvplan.gpus import get_gpu

    f = tmp_path / "report.json"
    f.write_text(json.dumps(_report()))
    assert load_calibration(f, get_gpu("h100"), "bf16").kv_bandwidth == pytest.approx(2680 / 3350)
    # no fp8 entry: refused, not the bf16 kernel's figure (review h25-2 Q2)
    with pytest.raises(BadInputError, match=r"no timed fp8_e4m3 decode to calibrate fp8_e4m3 from \(it has: bf16\)"):
        load_calibration(f, get_gpu("h100"), "fp8_e4m3")
    f.write_text(json.dumps(_report(interpret=True)))
    with pytest.raises(BadInputError, match="--interpret report"):
        load_calibration(f, get_gpu("h100"), "bf16")


# -- the command ----------------------------------------------------------------------------
def test_cli_table(capsys):
    code, out, err = cli(capsys, "speed", "llama3.1-8b", "--gpu", "h100", "--ctx", "8k", "--users", "1,8,128")
    assert code == 0, err
    assert "TPOT ms" in out and "does not fit: memory" in out and "128 users:" in out


def test_cli_json(capsys):
    code, out, _ = cli(capsys, "speed", "mixtral-8x7b", "--gpu", "h100", "--tp", "2", "--ctx", "2k", "--users",
                       "1,16", "--output", "256", "--kv-dtype", "bf16,fp8", "--json")
    assert code == 0
    d = json.loads(out)
    assert d["tp"] == 2 and d["output_tokens"] == 256 and len(d["formats"]) == 2
    p = d["formats"][0]["points"][1]
    assert p["users"] == 16 and p["tpot_ms"] > 0 and p["bound"] in ("weights", "kv", "compute", "comm", "overhead")
    assert d["efficiency"]["sources"]["flops"]


@pytest.mark.parametrize("argv, text", [
    (["--users", "0"], "--users: must be at least 1"),
    (["--users", "a"], "not a whole number"),
    (["--ctx", "0"], "--ctx"),
    (["--tp", "3"], "tp=3"),
    (["--enable-expert-parallel"], "has no experts"),
    (["--calibration", "/nonexistent/cal.json"], "cal.json"),
])
def test_cli_bad_input_one_line(capsys, argv, text):
    base = ["speed", "llama3.1-8b", "--gpu", "h100", "--ctx", "4k"]
    code, _, err = cli(capsys, *base, *argv)
    assert code == 2
    assert text in one_line_error(err)


def test_cli_plot(tmp_path, capsys):
    out = tmp_path / "speed.png"
    code, _, err = cli(capsys, "speed", "llama3.1-8b", "--gpu", "h100", "--ctx", "4k", "--users", "1,32",
                       "--kv-dtype", "bf16,fp8", "--plot", out)
    assert code == 0, err
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_speed_does_not_import_heavy_packages():
    code = ("import sys; from kvplan.cli.main import run; "
            "rc = run(['speed', 'deepseek-v3', '--gpu', 'h200', '--dp', '8', '--enable-expert-parallel', "
            "'--ctx', '4k', '--users', '1,64', '--json']); "
            "bad = [m for m in ('torch', 'triton', 'pandas', 'numpy', 'matplotlib') if m in sys.modules]; "
            "print(bad); sys.exit(rc)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"


# -- the shipped factors reproduce the measurements they were fitted to ---------------------
def test_fitted_factors_match_their_training_measurements():
    """efficiency.yaml holds benchmarks/fit_speed.py's solution rounded: the five training
    measurements are met within 2% (rounding), so the data and the fit cannot drift apart."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        from speed_reference import MEASUREMENTS, predict
    finally:
        sys.path.pop(0)
    for m in MEASUREMENTS:
        if m.fit:
            assert predict(m) == pytest.approx(m.value_ms, rel=0.02), m.id


def test_refuses_sparse_attention_it_does_not_model():
    spec = load_model(str(REPO / "tests/fixtures/hf_configs/deepseek-v3.2.json"))
    with pytest.raises(BadInputError, match="mla_indexed.*top-k"):
        setup(plan(make_request(spec, "h200", tp=8, max_model_len="8k")))


def test_two_mixer_layers_read_both_caches():
    from kvplan.layers import AttentionWithState, FullAttention, StateSpace
    from kvplan.speed import _parts

    both = AttentionWithState(attention=FullAttention(kv_heads=2, head_dim=64, v_head_dim=64),
                              state=StateSpace(conv_dim=64, conv_kernel=4, ssm_heads=4, ssm_head_dim=16,
                                               ssm_state_size=16))
    assert _parts(((both, 3),)) == ((both.attention, 3), (both.state, 3))


def test_refuses_speculative_decoding_and_eviction():
    spec = load_model("llama3.1-8b")
    with pytest.raises(BadInputError, match="speculative decoding"):
        setup(plan(make_request(spec, "h100", draft="llama3.2-1b", num_speculative_tokens=4)))
    with pytest.raises(BadInputError, match="sink \\+ window"):
        setup(plan(make_request(spec, "h100", window="4k", sinks=4, engine="raw")))


def test_speed_says_when_the_engine_would_not_start(capsys):
    """The same verdict as `kvplan capacity`: Llama-3.1-8B on one L4 with its own max_model_len of
    131,072 does not start under vLLM (a pool of 35,376 tokens); speed still times the users the
    pool holds, and says in one warning line that the deployment does not run as planned."""
    code, out, err = cli(capsys, "speed", "llama3.1-8b", "--gpu", "l4", "--ctx", "2k", "--users", "1", "--json")
    assert code == 0
    (f,) = json.loads(out)["formats"]
    assert not f["starts"] and "refuses to start" in f["verdict"]
    line = one_line_error(err)
    assert line.startswith("kvplan: warning: KV bf16: this deployment does not run as planned (")
    # max_model_len 2,049: vLLM refuses a prompt of max_model_len (RequestCap.prompt_short)
    code, out, err = cli(capsys, "speed", "llama3.1-8b", "--gpu", "l4", "--ctx", "2k", "--users", "1",
                         "--max-model-len", "2049", "--json")
    assert code == 0 and err == "" and json.loads(out)["formats"][0]["starts"]


def test_speed_takes_vllms_flag_names(capsys):
    """-tp / --tensor-parallel-size, -dp, -ep and --kv-cache-dtype as `kvplan capacity` takes them."""
    short = cli(capsys, "speed", "mixtral-8x7b", "--gpu", "h100", "-tp", "2", "-dp", "2", "-ep", "--kv-cache-dtype",
                "fp8", "--ctx", "2k", "--users", "8", "--json")
    long = cli(capsys, "speed", "mixtral-8x7b", "--gpu", "h100", "--tp", "2", "--dp", "2",
               "--enable-expert-parallel", "--kv-dtype", "fp8", "--ctx", "2k", "--users", "8", "--json")
    assert short[0] == long[0] == 0 and short[1] == long[1]
    d = json.loads(short[1])
    assert (d["tp"], d["dp"], d["enable_expert_parallel"], d["formats"][0]["kv_dtype"]) == (2, 2, True, "fp8_e4m3")


# -- SGLang's --enable-flashinfer-allreduce-fusion (rule allreduce_rms_fusion, kvplan/engines/sglang.py) ----------
def _sgl(model="deepseek-v3", gpu="b200", tp=8, engine="sglang==0.5.6", fuse: bool | None = None, saving=None,
         **options):
    eff = None if saving is None else replace(default_efficiency(get_gpu(gpu)), fused_allreduce_saving_s=saving)
    return setup(plan(make_request(load_model(model), gpu, tp=tp, engine=engine, **options)), eff, fuse)


def test_sglang_0_5_6_fuses_deepseek_v3_on_b200_by_default():
    s = _sgl()
    # communicator.py: both all-reduces of a layer up to 2,048 tokens x 7,168 x 2 B = 29,360,128 B
    assert s.allreduce_fusion.on and s.fused_allreduce_max_bytes == s.allreduce_fusion.mlp_bytes == 29_360_128
    assert s.allreduce_fusion.source == "SGLang 0.5.6 default for DeepseekV3ForCausalLM (tp 8, dp 1, pp 1, CC 10.0)"
    plain = _sgl(saving=0.0)
    for users in (8, 2048):
        # 61 layers x 2 all-reduces, less the last layer's MLP one (is_last_layer): 121 x 4.8 us = 0.5808 ms
        fused, unfused = decode_step(s, users, 1000), decode_step(plain, users, 1000)
        assert unfused.comm_s - fused.comm_s == pytest.approx(121 * 4.8e-6, rel=1e-9)
        assert fused.comm_bytes == unfused.comm_bytes
    # 2,049 tokens: over FUSE_ALLREDUCE_MAX_BATCH_SIZE, nothing fuses
    assert decode_step(s, 2049, 1000).comm_s == decode_step(plain, 2049, 1000).comm_s
    assert estimate(s, 8, 1024).tpot_s * 1e3 == pytest.approx(9.431908204752956, rel=1e-9)  # decode reads bf16 w_kc / w_vc
    assert estimate(plain, 8, 1024).tpot_s * 1e3 == pytest.approx(10.012708204752956, rel=1e-9)


def test_sglang_default_is_off_before_0_5_1_with_dp_attention_and_for_other_models():
    off = _sgl(engine="sglang==0.4.10").allreduce_fusion
    assert (off.on, off.max_bytes) == (False, 0)
    assert off.source == "SGLang 0.4.10 default: off (--enable-flashinfer-allreduce-fusion not given)"
    dp = _sgl(tp=4, dp=2).allreduce_fusion  # --tp 8 --dp 2 --enable-dp-attention
    assert not dp.on and "off for DeepseekV3ForCausalLM at tp 4, dp 2" in dp.source
    assert not _sgl("llama3.1-8b", tp=2).allreduce_fusion.on  # not an architecture SGLang turns it on for
    two_nodes = _sgl(tp=16).allreduce_fusion  # nnodes == 1 from 0.5.6 (flashinfer issue #2006); 8 GPUs a node
    assert not two_nodes.on and "one node" in two_nodes.source
    # 0.5.1 turns it on for gpt-oss only (server_args.py line 2245), not DeepSeek-V3 (from 0.5.4)
    assert not _sgl(engine="sglang==0.5.1").allreduce_fusion.on
    assert _sgl(engine="sglang==0.5.4").allreduce_fusion.on


def test_sglang_0_5_1_fuses_gpt_oss_on_b200():
    s = _sgl("gpt-oss-120b", tp=2, engine="sglang==0.5.1")
    assert s.allreduce_fusion.on and s.fused_allreduce_max_bytes == 2048 * 2880 * 2 == 11_796_480
    # 36 layers x 2 all-reduces less the last MLP one: 71 x 4.8 us
    plain = _sgl("gpt-oss-120b", tp=2, engine="sglang==0.5.1", saving=0.0)
    assert decode_step(plain, 4, 1000).comm_s - decode_step(s, 4, 1000).comm_s == pytest.approx(71 * 4.8e-6, rel=1e-9)
    # 0.5.2 / 0.5.4: the attention all-reduce up to 4,096 tokens, the MLP one up to 2,048
    f = _sgl("gpt-oss-120b", tp=2, engine="sglang==0.5.4").allreduce_fusion
    assert (f.max_bytes, f.mlp_bytes) == (4096 * 5760, 2048 * 5760)


def test_sglang_hopper_deepseek_off_in_0_5_6_on_in_0_5_8_saving_nothing():
    off, on = _sgl(gpu="h100"), _sgl(gpu="h100", engine="sglang==0.5.8")
    assert not off.allreduce_fusion.on  # is_sm100_supported(): compute capability major 10 only
    assert on.allreduce_fusion.on and on.fused_allreduce_max_bytes == 29_360_128  # sm90 or sm100 in 0.5.8
    assert decode_step(on, 8, 1000) == decode_step(off, 8, 1000)  # fused_allreduce_saving_us is 0 on H100
    from kvplan.engines import get_engine

    h20 = get_engine("sglang==0.5.8").allreduce_rms_fusion(get_gpu("h20"), tp=8, spec=load_model("deepseek-v3"))
    assert not h20.on and h20.source.endswith("without DP attention, one node, not an H20)")  # flashinfer #2204


def test_sglang_asked_for_where_kvplan_knows_the_paths():
    s = _sgl(engine="sglang==0.4.10", fuse=True)  # deepseek_v2.py: both all-reduces up to 128 tokens
    assert s.allreduce_fusion.source == "--enable-flashinfer-allreduce-fusion (asked)"
    assert s.fused_allreduce_max_bytes == s.allreduce_fusion.mlp_bytes == 128 * 14_336
    f = _sgl(engine="sglang==0.4.9", fuse=True).allreduce_fusion  # the attention all-reduce only, <= 1,024
    assert (f.max_bytes, f.mlp_bytes) == (1024 * 14_336, 0)
    assert _sgl(tp=1, engine="sglang==0.5.6").allreduce_fusion.max_bytes == 0  # nothing fuses at tp 1
    assert not _sgl(engine="sglang==0.4.10", fuse=False).allreduce_fusion.on


@pytest.mark.parametrize("kwargs, message", [
    (dict(engine="sglang==0.4.6", fuse=True),
     "sglang 0.4.6 has no --enable-flashinfer-allreduce-fusion (SGLang has it from 0.4.9)"),
    (dict(fuse=False), "sglang 0.5.6 turns --enable-flashinfer-allreduce-fusion on for DeepseekV3ForCausalLM at "
                       "tp 8, dp 1, pp 1, CC 10.0 (server_args.py) and has no flag to turn it off; drop "
                       "--no-fuse-allreduce-rms"),
    (dict(model="llama3.1-8b", tp=2, fuse=True), "kvplan has not read which all-reduces SGLang 0.5.6 fuses for "
                                                 "LlamaForCausalLM under --enable-flashinfer-allreduce-fusion"),
    (dict(gpu="a100-80gb", fuse=True), "SGLang 0.5.6 runs --enable-flashinfer-allreduce-fusion only on compute "
                                       "capability 9.x / 10.x; a100-80gb is not one"),
    (dict(tp=4, dp=2, engine="sglang==0.5.4", fuse=True), "kvplan does not model SGLang 0.5.4's "
                                                          "--enable-flashinfer-allreduce-fusion with DP attention"),
    (dict(tp=4, pp=2), "kvplan does not model SGLang 0.5.6's --enable-flashinfer-allreduce-fusion (SGLang 0.5.6 "
                       "default for DeepseekV3ForCausalLM (tp 4, dp 1, pp 2, CC 10.0)) with pipeline stages"),
])
def test_sglang_fusion_refusals(kwargs, message):
    with pytest.raises(BadInputError) as err:
        _sgl(**kwargs)
    assert str(err.value).startswith(message)


def test_cli_sglang_fusion_default_and_refusals(capsys):
    base = ("speed", "deepseek-v3", "--gpu", "b200", "--tp", "8", "--ctx", "1k", "--users", "8")
    code, out, err = cli(capsys, *base, "--engine", "sglang==0.5.6", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["fuse_allreduce_rms"] == {"on": True, "source": "SGLang 0.5.6 default for DeepseekV3ForCausalLM "
                                                                "(tp 8, dp 1, pp 1, CC 10.0)"}
    assert data["fused_allreduce_max_bytes"] == data["fused_allreduce_mlp_max_bytes"] == 29_360_128
    code, out, err = cli(capsys, *base, "--engine", "sglang==0.5.6", "--no-fuse-allreduce-rms")
    assert code == 2 and out == ""
    assert one_line_error(err) == ("kvplan: error: sglang 0.5.6 turns --enable-flashinfer-allreduce-fusion on for "
                                   "DeepseekV3ForCausalLM at tp 8, dp 1, pp 1, CC 10.0 (server_args.py) and has no "
                                   "flag to turn it off; drop --no-fuse-allreduce-rms")
    code, out, err = cli(capsys, *base, "--engine", "sglang==0.4.6", "--fuse-allreduce-rms")
    assert code == 2 and out == ""
    assert one_line_error(err) == ("kvplan: error: sglang 0.4.6 has no --enable-flashinfer-allreduce-fusion (SGLang "
                                   "has it from 0.4.9)")
    code, out, err = cli(capsys, *base, "--engine", "sglang==0.4.10", "--fuse-allreduce-rms", "--json")
    assert code == 0, err
    assert json.loads(out)["fuse_allreduce_rms"] == {"on": True, "source": "--enable-flashinfer-allreduce-fusion "
                                                                           "(asked)"}


def test_fp8_weights_on_a_gpu_with_fp8_tensor_cores_and_no_catalog_figure_are_refused():
    """From compute capability 8.9 fp8 matmuls run on FP8 tensor cores: the bf16 rate (the
    fallback for GPUs without them, e.g. Marlin on an A100) would time them at half speed."""
    with pytest.raises(BadInputError, match="^rtx-pro-6000-workstation: the GPU catalog has no FP8 figure"):
        setup(plan(make_request(load_model("llama3.1-8b"), _counted("rtx-pro-6000-workstation"), weights="fp8")))
    l40 = setup(plan(make_request(load_model("llama3.1-8b"), _counted("l40"), weights="fp8")))
    assert l40.linear_flops_per_s == 362 * 10**12  # the L40 datasheet's dense FP8 (gpus.yaml)
    a100 = setup(plan(make_request(load_model("llama3.1-8b"), "a100-80gb", weights="fp8")))
    assert a100.linear_flops_per_s == 312 * 10**12  # no FP8 tensor cores: the bf16 rate


FOOTER_TAIL = ("efficiency: shipped factors (kvplan/data/efficiency.yaml). Estimates: see docs/speed.md for measured "
               "errors.")


@pytest.mark.parametrize(("users", "footer"), [
    # 1,024 is vLLM 0.19.1's max_num_seqs here: no row is timed, so the footer times no TPOT
    ("2000,4000", "No users count fits: no TPOT timed; TTFT of one prompt's GPU prefill on an idle replica; " + FOOTER_TAIL),
    ("1,2000", "TPOT timed at 8k tokens a sequence; TTFT of one prompt's GPU prefill on an idle replica; " + FOOTER_TAIL),
])
def test_speed_footer_claims_only_what_was_timed(capsys, users, footer):
    """The footer said "TPOT timed at 8k tokens a sequence" where every row was "does not fit"."""
    code, out, _ = cli(capsys, "speed", "llama3.1-8b", "--gpu", "h100", "--ctx", "8k", "--users", users)
    assert code == 0
    assert out.splitlines()[-1] == footer
    fits = [ln for ln in out.splitlines() if ln.startswith("│") and "does not fit" not in ln]
    assert len(fits) == (0 if users == "2000,4000" else 1)


def test_moe_ttft_caveat_quotes_the_published_rows():
    """speed.MOE_PREFILL_MEASURED, which `kvplan speed` / `recommend` quote for MoE models, is what
    the rows give: for every InferenceMAX deployment with a TTFT row at a ~1k and a ~8k prompt (the
    1k/1k and 8k/1k lines; GPUs without shipped factors left out, as speed_accuracy.py counts),
    the published extra time of the longer prompt over kvplan's, least / median / most."""
    import statistics

    from kvplan.speed import MOE_PREFILL_MEASURED

    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        from speed_reference import MEASUREMENTS, predict
    finally:
        sys.path.pop(0)
    by: dict[tuple, dict[int, tuple[float, float]]] = {}
    for m in MEASUREMENTS:
        if m.metric == "ttft" and m.id.startswith("imax-") and not m.unfactored and ("1k1k" in m.id or "8k1k" in m.id):
            by.setdefault((m.model, m.gpu, m.tp, m.engine), {})[m.prompt] = (m.value_ms, predict(m))
    ratios = []
    for points in by.values():
        (short_pub, short_kv), (long_pub, long_kv) = (points[k] for k in sorted(points))
        ratios.append((long_pub - short_pub) / (long_kv - short_kv))
    assert len(ratios) == 14
    assert all(r > 0 for r in ratios)
    got = (round(min(ratios), 2), round(statistics.median(ratios), 2), round(max(ratios), 2))
    assert got == MOE_PREFILL_MEASURED


def test_tpot_caveats_quote_the_published_rows():
    """speed.TPOT_MEASURED, which `kvplan speed` / `recommend` / `fragment --gpu` quote, is what the rows
    give: every TPOT and end-to-end row at 1-32 users, out of sample (no fit row), on a GPU with shipped
    factors, whose deployment falls in a case of speed.tpot_case: the count, how many lie on the
    caveat's side (kvplan below the published figure for fp8_moe, above for mxfp4_moe_blackwell), and
    kvplan's error least / median / most."""
    import statistics

    from kvplan.speed import TPOT_MEASURED, tpot_case

    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        from speed_reference import MEASUREMENTS, predict, timed_setup
    finally:
        sys.path.pop(0)
    errors: dict[str, list[float]] = {}
    for m in MEASUREMENTS:
        if m.metric not in ("tpot", "e2e") or m.fit or m.unfactored or m.concurrency > 32:
            continue
        try:
            case = tpot_case(timed_setup(m))
        except KvplanError:  # a deployment kvplan refuses (speed_accuracy.py leaves it out too)
            continue
        if case is not None:
            errors.setdefault(case, []).append(predict(m) / m.value_ms - 1)
    assert sorted(errors) == sorted(TPOT_MEASURED)
    for case, errs in errors.items():
        rows, side, least, median, most, _ = TPOT_MEASURED[case]
        on_side = sum(e < 0 for e in errs) if case == "fp8_moe" else sum(e > 0 for e in errs)
        assert (len(errs), on_side) == (rows, side), case
        assert (round(min(errs), 3), round(statistics.median(errs), 3), round(max(errs), 3)) == (least, median, most)
        assert side > rows * 3 // 4  # "likely": most rows lie on that side


@pytest.mark.parametrize(("model", "args", "caveat"), [
    ("deepseek-v3", ("--gpu", "h200", "--tp", "8", "--engine", "sglang==0.5.6"), "FP8 weights is likely optimistic"),
    ("qwen3-30b-a3b", ("--gpu", "h100", "--weights", "fp8"), "FP8 weights is likely optimistic"),
    ("gpt-oss-120b", ("--gpu", "b200",), "MXFP4 experts on Blackwell is likely pessimistic"),
    ("gpt-oss-120b", ("--gpu", "h200",), None),  # MXFP4 on Hopper: H200 rows lean neither way (23 of 42 above), H100 mildly (median +9%): no caveat
    # CC 12.0: no published rows, and vLLM runs MXFP4 experts there through Marlin, not the B200's FlashInfer kernel
    ("gpt-oss-120b", ("--gpu", "rtx5090", "--tp", "4"), None),
    ("deepseek-v2-lite", ("--gpu", "h100",), None),  # MLA + experts in BF16: no published rows
    ("llama3.1-8b", ("--gpu", "h100", "--weights", "fp8"), None),  # dense
    ("qwen3-30b-a3b", ("--gpu", "h100", "--weights", "int8"), None),  # int8 experts: no published rows
])
def test_tpot_caveat_only_where_the_rows_lean(capsys, model, args, caveat):
    code, out, _ = cli(capsys, "speed", model, *args, "--ctx", "2k", "--users", "1,4", "--json")
    assert code == 0
    caveats = [w for w in json.loads(out)["warnings"] if w.startswith("TPOT of an MoE model")]
    assert len(caveats) == (1 if caveat else 0)
    if caveat:
        assert caveat in caveats[0]


def test_tpot_caveat_is_about_the_shipped_factors(tmp_path, capsys):
    """A calibration file that replaces the step's factors (as `kvplan calibrate` writes from the
    deployment's own runs) drops the caveat, whose figures are the shipped factors' errors; a
    `kvplan measure` report, which replaces kv_bandwidth alone, keeps it."""
    tpot = "TPOT of an MoE model with FP8 weights"
    args = ("speed", "deepseek-v3", "--gpu", "h200", "--tp", "8", "--engine", "sglang==0.5.6", "--ctx", "2k",
            "--users", "4", "--json")
    cal = tmp_path / "cal.json"
    cal.write_text(json.dumps({"kvplan_calibration": 1, "gpu": "h200", "source": "my runs",
                               "layer_overhead_us": 90, "weights_bandwidth": 0.8}))
    code, out, _ = cli(capsys, *args, "--calibration", str(cal))
    assert code == 0 and not [w for w in json.loads(out)["warnings"] if w.startswith(tpot)]
    code, out, _ = cli(capsys, *args, "--calibration", str(REPO / "docs/measurements/h200-measure.json"))
    assert code == 0 and len([w for w in json.loads(out)["warnings"] if w.startswith(tpot)]) == 1
    layer = tmp_path / "layer.json"  # the per-layer fixed cost alone is what the FP8 caveat is about
    layer.write_text(json.dumps({"kvplan_calibration": 1, "gpu": "h200", "source": "my runs",
                                 "layer_overhead_us": 90}))
    code, out, _ = cli(capsys, *args, "--calibration", str(layer))
    assert code == 0 and not [w for w in json.loads(out)["warnings"] if w.startswith(tpot)]
    link = tmp_path / "link.json"  # a file that changes none of the step's weight reads or fixed costs
    link.write_text(json.dumps({"kvplan_calibration": 1, "gpu": "h200", "source": "nccl-tests", "interconnect": 0.6}))
    code, out, _ = cli(capsys, *args, "--calibration", str(link))
    assert code == 0 and len([w for w in json.loads(out)["warnings"] if w.startswith(tpot)]) == 1
    code, out, _ = cli(capsys, *args)
    assert code == 0 and len([w for w in json.loads(out)["warnings"] if w.startswith(tpot)]) == 1


@pytest.mark.parametrize(("args", "ttft_shown", "warned"), [
    # gpt-oss-120b (MoE) on 2 x B200: a 1k prompt is timed, so the caveat is printed
    (("gpt-oss-120b", "--gpu", "b200", "--tp", "2", "--ctx", "1k", "--output", "1k"), True, True),
    # Mixtral-8x7B (MoE) on one H100 under SGLang 0.5.8: the pool holds no 32,000-token prompt, no TTFT
    # is shown, so no caveat about one
    (("mixtral-8x7b", "--gpu", "h100", "--ctx", "32000", "--engine", "sglang==0.5.8"), False, False),
    # Llama-3.1-8B (dense): TTFT shown, no MoE caveat
    (("llama3.1-8b", "--gpu", "h100", "--ctx", "1k"), True, False),
])
def test_moe_ttft_caveat_only_where_an_moe_ttft_is_shown(capsys, args, ttft_shown, warned):
    code, out, _ = cli(capsys, "speed", *args, "--users", "1", "--json")
    assert code == 0
    data = json.loads(out)
    assert (data["formats"][0]["points"][0]["ttft_ms"] is not None) == ttft_shown
    caveats = [w for w in data["warnings"] if w.startswith("TTFT of an MoE model is a floor")]
    assert len(caveats) == (1 if warned else 0)
