"""`kvplan calibrate`: reading engine benchmark runs, the fit, the file it writes, refusals."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import pytest

from kvplan.calibrate import BenchRun, fit, read_runs, tpot_ms
from kvplan.capacity import make_request, plan
from kvplan.errors import BadInputError
from kvplan.loader import load_model
from kvplan.speed import default_efficiency, load_calibration
from helpers import cli, one_line_error

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples/calibration-runs/h200-gpt-oss-120b-tp2.jsonl"
DEPLOY = ["--gpu", "h200", "--tp", "2", "--engine", "vllm==0.13.0", "--gpu-memory-utilization", "0.9"]


def _vllm_run(users=8, tpot=6.0, **over) -> dict:
    """The fields vllm bench serve --save-result writes that kvplan reads (vllm/benchmarks/serve.py)."""
    run = {"request_rate": "inf", "burstiness": 1.0, "max_concurrency": users, "completed": 10 * users,
           "total_input_tokens": 1000 * 10 * users, "total_output_tokens": 500 * 10 * users,
           "median_tpot_ms": tpot, "mean_tpot_ms": tpot + 1}
    run.update(over)
    return run


def _write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


# -- reading -------------------------------------------------------------------------------
def test_reads_a_vllm_result_a_list_and_sglang_jsonl(tmp_path):
    one = _write(tmp_path, "v.json", json.dumps(_vllm_run(8, 6.0)))
    many = _write(tmp_path, "l.json", json.dumps([_vllm_run(4, 5.0), _vllm_run(16, 7.5)]))
    # SGLang writes request_rate as a float: json.dumps(float("inf")) is Infinity
    sgl = _write(tmp_path, "s.jsonl", "\n".join(json.dumps(_vllm_run(u, 4.0 + u / 10, request_rate=float("inf"),
                                                                     accept_length=None))
                                                for u in (32, 64)) + "\n\n")
    runs = read_runs([one, many, sgl])
    assert [(r.users, r.prompt_tokens, r.output_tokens, r.tpot_ms) for r in runs] == [
        (8, 1000, 500, 6.0), (4, 1000, 500, 5.0), (16, 1000, 500, 7.5), (32, 1000, 500, 7.2), (64, 1000, 500, 10.4)]
    assert [r.where for r in runs] == [str(one), f"{many}[0]", f"{many}[1]", f"{sgl}:1", f"{sgl}:2"]
    assert [r.tpot_ms for r in read_runs([one], "mean")] == [7.0]


def test_users_are_the_concurrency_or_fewer_when_fewer_requests_ran(tmp_path):
    p = _write(tmp_path, "v.json", json.dumps(_vllm_run(64, 9.0, completed=20, total_input_tokens=20_000,
                                                          total_output_tokens=10_001)))
    (r,) = read_runs([p])
    assert (r.users, r.prompt_tokens, r.output_tokens) == (20, 1000, 500)


@pytest.mark.parametrize("over, phrase", [
    ({"request_rate": 10.0}, "request_rate 10.0: a paced run does not hold a fixed concurrency"),
    ({"max_concurrency": None}, "no max_concurrency"),
    ({"accept_length": 2.7}, "accept_length 2.7: a run with speculative decoding"),
    ({"completed": 0}, "completed must be a positive whole number, got 0"),
    ({"median_tpot_ms": None}, "median_tpot_ms is None, expected a number"),
    ({"median_tpot_ms": -3}, "median_tpot_ms must be a positive number"),
    ({"total_output_tokens": 10}, "0.125 output tokens a request: TPOT needs at least 2"),
    ({"max_concurrency": 2.5}, "max_concurrency must be a positive whole number, got 2.5"),
])
def test_unusable_runs_are_refused_in_one_line(tmp_path, over, phrase):
    p = _write(tmp_path, "v.json", json.dumps(_vllm_run(8, 6.0, **over)))
    with pytest.raises(BadInputError, match=None) as err:
        read_runs([p])
    assert phrase in str(err.value) and str(p) in str(err.value)


@pytest.mark.parametrize("over, phrase", [
    # vllm/benchmarks/serve.py 0.19.1 lines 1018-1028: speculative runs carry spec_decode_* metrics
    ({"spec_decode_acceptance_length": 2.4}, "spec_decode_acceptance_length 2.4: a run with speculative decoding"),
    # SGLang's saved server_info (http_server.py 0.5.8 lines 581-598: the server args)
    ({"server_info": {"speculative_algorithm": "EAGLE", "tp_size": 1}},
     "server_info speculative_algorithm 'EAGLE': a run with speculative decoding"),
    # serve.py lines 1848-1857: a ramped run saves request_rate "inf" and its strategy
    ({"ramp_up_strategy": "linear"}, "ramp_up_strategy 'linear': a ramped run does not hold a fixed concurrency"),
    ({"failed": 3}, "3 requests failed"),
])
def test_speculative_ramped_and_failing_runs_are_refused(tmp_path, over, phrase):
    p = _write(tmp_path, "v.json", json.dumps(_vllm_run(8, 6.0, **over)))
    with pytest.raises(BadInputError) as err:
        read_runs([p])
    assert phrase in str(err.value)
    # the same run without them reads
    ok = {k: v for k, v in _vllm_run(8, 6.0).items()}
    ok.update({"failed": 0, "spec_decode_acceptance_length": None})
    assert read_runs([_write(tmp_path, "ok.json", json.dumps(ok))])[0].users == 8


def test_a_run_without_request_rate_is_refused(tmp_path):
    run = _vllm_run(8, 6.0)
    del run["request_rate"]
    with pytest.raises(BadInputError, match="no request_rate"):
        read_runs([_write(tmp_path, "v.json", json.dumps(run))])


def test_sglang_server_info_must_match_the_deployment(tmp_path, capsys):
    """SGLang saves its server args with each run: a layout or release other than the options
    given is refused; a vLLM model_id that is none of the model's names is a note."""
    def runs(**info):
        return _write(tmp_path, "s.jsonl", "\n".join(json.dumps(_vllm_run(u, 8.5 + u / 10, server_info=info))
                                                     for u in (4, 16, 64)))

    base = ["calibrate", "llama3.1-8b", "--gpu", "h100", "--engine", "sglang==0.5.8"]
    code, _, err = cli(capsys, *base[:2], runs(tp_size=2, pp_size=1, version="0.5.8"), *base[2:])
    assert code == 2 and "the server ran --tp 2 (server_info), but this deployment is tp 1" in one_line_error(err)
    code, _, err = cli(capsys, *base[:2], runs(tp_size=1, version="0.5.6.post1"), *base[2:])
    assert code == 2 and "served by SGLang 0.5.6.post1 (server_info), not sglang==0.5.8" in one_line_error(err)
    code, _, err = cli(capsys, *base[:2], runs(tp_size=1, version="0.5.8"), "--gpu", "h100")
    assert code == 2 and "served by SGLang 0.5.8 (server_info); give --engine sglang" in one_line_error(err)
    code, _, err = cli(capsys, *base[:2], runs(tp_size=1, pp_size=1, version="0.5.8.post1"), *base[2:])
    assert code == 0, err
    vllm = _write(tmp_path, "v.jsonl", "\n".join(json.dumps(_vllm_run(u, 7.0 + u / 10, model_id="Qwen/Qwen3-8B"))
                                                 for u in (4, 16, 64)))
    code, _, err = cli(capsys, "calibrate", "llama3.1-8b", vllm, "--gpu", "h100")
    assert code == 0 and "the runs name the model 'Qwen/Qwen3-8B', which is not one of llama3.1-8b's names" in err
    ok = _write(tmp_path, "m.jsonl", "\n".join(json.dumps(_vllm_run(u, 7.0 + u / 10,
                                                                   model_id="meta-llama/Llama-3.1-8B-Instruct"))
                                               for u in (4, 16, 64)))
    code, _, err = cli(capsys, "calibrate", "llama3.1-8b", ok, "--gpu", "h100")
    assert code == 0 and "not one of" not in err


def test_malformed_files_are_refused(tmp_path):
    bad = _write(tmp_path, "b.jsonl", json.dumps(_vllm_run()) + "\n{not json\n")
    with pytest.raises(BadInputError, match=r"b.jsonl:2: malformed JSON"):
        read_runs([bad])
    with pytest.raises(BadInputError, match="expected a JSON object"):
        read_runs([_write(tmp_path, "n.json", "[1]")])
    with pytest.raises(BadInputError, match="--metric"):
        read_runs([bad], "p99")


# -- the fit -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def pool():
    return plan(make_request(load_model("llama3.1-8b"), "h100", engine="vllm==0.19.1"))


def test_the_fit_recovers_a_known_engine(pool):
    """Runs made by kvplan's own model with known figures (another engine's): the fit finds
    figures that reproduce held-out loads (8 and 32 users, a longer prompt, longer outputs)
    within 2.5%, where the shipped figures are 10% or more off. Not the figures themselves: a
    dense model reads the same weights every step, so its weight fraction and step cost trade
    against each other and the pull towards the shipped values settles them (step 630 us and
    0.71 here, for 900 us and 0.74)."""
    base = default_efficiency(pool.request.gpu)
    truth = replace(base, step_overhead_s=900e-6, sequence_overhead_s=35e-6, weights_bandwidth=0.74,
                    kv_bandwidth=0.55, flops=0.4)

    def runs(users, lengths):
        return [BenchRun(f"u{u}-{p}", u, p, o, tpot_ms(pool, truth, BenchRun("", u, p, o, 1.0)))
                for u in users for p, o in lengths]

    given = runs((4, 16, 64), ((1000, 1000), (5000, 1000)))
    result = fit(pool, given)
    assert max(abs(e) for e in result.errors()) < 0.005
    held = runs((8, 32), ((1000, 1000), (8000, 1000), (2000, 3000)))
    cal = [(tpot_ms(pool, result.efficiency, r) - r.tpot_ms) / r.tpot_ms for r in held]
    shipped = [(tpot_ms(pool, base, r) - r.tpot_ms) / r.tpot_ms for r in held]
    assert max(abs(e) for e in cal) < 0.025
    assert min(abs(e) for e in shipped) > 0.10
    # deterministic: the same runs, the same figures
    assert fit(pool, given).figures() == result.figures()


def test_one_concurrency_cannot_separate_fixed_from_per_byte_costs(pool):
    with pytest.raises(BadInputError, match="every run has 8 users"):
        fit(pool, [BenchRun("a", 8, 1000, 500, 9.0), BenchRun("b", 8, 4000, 500, 11.0)])


def test_a_run_the_pool_cannot_hold_is_refused(pool):
    with pytest.raises(BadInputError, match="big: 64 users of 100,000 \\+ 1,000 tokens do not fit"):
        fit(pool, [BenchRun("a", 8, 1000, 500, 9.0), BenchRun("big", 64, 100_000, 1000, 90.0)])


def test_runs_the_model_cannot_follow_are_refused_not_written(pool):
    """Runs faster than reading the weights at the full HBM bandwidth allows (0.5 / 0.6 ms for
    Llama-3.1-8B on an H100): the fit ends with figures at their bounds and misses the runs by
    hundreds of percent; `kvplan calibrate` refuses such a fit (Fit.refusal)."""
    result = fit(pool, [BenchRun("a", 4, 1000, 500, 0.5), BenchRun("b", 64, 1000, 500, 0.6)])
    figs = result.figures()
    assert all(0.05 <= figs[k] <= 1 for k in ("weights_bandwidth", "kv_bandwidth", "flops"))
    assert figs["weights_bandwidth"] == 1.0
    why = result.refusal()
    assert why is not None and "the fitted figures miss" in why and "at the end of its range: weights_bandwidth 1" in why
    # and a fit that follows its runs is not refused
    assert fit(pool, [BenchRun("a", 4, 1000, 500, 9.0), BenchRun("b", 64, 1000, 500, 16.0)]).refusal() is None


# -- the command ---------------------------------------------------------------------------
def test_calibrate_writes_a_file_speed_reads(tmp_path, capsys):
    out = tmp_path / "cal.json"
    code, _, err = cli(capsys, "calibrate", "gpt-oss-120b", EXAMPLE, *DEPLOY, "--out", out)
    assert code == 0, err
    data = json.loads(out.read_text())
    assert data["kvplan_calibration"] == 1 and data["gpu"] == "h200"
    assert data["fitted_on"]["tp"] == 2 and data["fitted_on"]["engine"] == "vllm==0.13.0"
    assert len(data["fitted_on"]["runs"]) == 6
    assert all(abs(p["calibrated_ms"] - p["tpot_ms"]) / p["tpot_ms"] < 0.02 for p in data["fitted_on"]["runs"])
    eff = load_calibration(out, plan(make_request(load_model("gpt-oss-120b"), "h200")).request.gpu, "bf16")
    assert eff.sequence_overhead_s == pytest.approx(data["sequence_overhead_us"] * 1e-6)
    # held out: 8 and 32 users of InferenceMAX's 1k/1k and 8k/1k lines (6.14, 10.8, 7.23, 16.36 ms published)
    for ctx, output, published in ((922, 929, (6.14, 10.8)), (7310, 926, (7.23, 16.36))):
        code, stdout, err = cli(capsys, "speed", "gpt-oss-120b", *DEPLOY, "--ctx", ctx, "--output", output,
                                "--users", "8,32", "--calibration", out, "--json")
        assert code == 0, err
        got = [p["tpot_ms"] for p in json.loads(stdout)["formats"][0]["points"]]
        assert all(abs(g - w) / w < 0.05 for g, w in zip(got, published)), got
        # only TPOT was fitted: the fitted flops (0.283 here) moves TTFT, and speed says so
        # (and nothing about the fused-MoE workspace: vLLM 0.13.0's mxfp4 Triton path on the H200 keeps
        # no buffer past the forward, rule moe_mxfp4_sm90_freed)
        warnings = json.loads(stdout)["warnings"]
        assert warnings[:1] == [f"calibration cal.json sets flops {data['flops']:.3g} (shipped 0.53) from TPOT runs "
                                f"alone, and TTFT follows it: no first token was measured for it"]
        assert len(warnings) == 2 and warnings[1].startswith("TTFT of an MoE model is a floor")  # speed.ttft_notes
    # 1k in / 8k out is outside the runs' outputs (915-922 tokens): a caveat, as held out it carries less
    code, stdout, err = cli(capsys, "speed", "gpt-oss-120b", *DEPLOY, "--ctx", 921, "--output", 7416, "--users", "8",
                            "--calibration", out)
    assert code == 0 and "outputs of 7,416 (runs: 915-922) lie outside its runs" in err
    assert data["fitted_on"]["converged"] is True and data["fitted_on"]["iterations"] < 60
    assert data["fitted_on"]["fuse_allreduce_rms"] is False  # vLLM 0.13.0: off by default
    assert data["source"].endswith(f"({EXAMPLE})")


def test_speed_warns_when_the_calibration_was_fitted_on_another_deployment(tmp_path, capsys):
    out = tmp_path / "cal.json"
    assert cli(capsys, "calibrate", "gpt-oss-120b", EXAMPLE, *DEPLOY, "--out", out)[0] == 0
    code, _, err = cli(capsys, "speed", "gpt-oss-120b", "--gpu", "h200", "--tp", "8", "--engine", "vllm==0.13.0",
                       "--ctx", "1k", "--users", "8", "--calibration", out)
    assert code == 0
    assert "calibration cal.json was fitted on another deployment (tp 2, here 8)" in err
    code, stdout, err = cli(capsys, "recommend", "gpt-oss-120b", "--ctx", "1k", "--users", "8", "--gpus", "h200",
                            "--max-gpus", "2", "--engine", "vllm==0.13.0", "--calibration", out, "--json")
    assert code == 0, err
    assert any("fitted on another deployment" in w for o in json.loads(stdout)["options"] for w in o["warnings"])


def test_calibrate_json_and_nothing_written_without_out(capsys):
    code, stdout, err = cli(capsys, "calibrate", "gpt-oss-120b", EXAMPLE, *DEPLOY, "--json")
    assert code == 0, err
    data = json.loads(stdout)
    assert data["written"] is None and data["shipped"]["step_overhead_us"] == 620.0
    assert set(data) >= {"step_overhead_us", "weights_bandwidth", "kv_bandwidth", "flops", "matrix_overhead_us",
                         "sequence_overhead_us", "fitted_on", "source"}


def test_a_fit_that_cannot_follow_its_runs_writes_nothing(tmp_path, capsys):
    out = tmp_path / "cal.json"
    fast = _write(tmp_path, "f.jsonl", "\n".join(json.dumps(_vllm_run(u, t)) for u, t in ((4, 0.5), (64, 0.9))))
    code, stdout, err = cli(capsys, "calibrate", "gpt-oss-120b", fast, *DEPLOY, "--out", out)
    assert code == 2 and stdout == "" and not out.exists()
    lines = [ln for ln in err.splitlines() if ln.strip()]  # the pool's caveat (a warning), then the refusal
    assert lines[-1].startswith("kvplan: error: the fitted figures miss") and "Traceback" not in err


def test_a_refused_calibration_leaves_no_file(tmp_path, capsys):
    out = tmp_path / "cal.json"
    paced = _write(tmp_path, "p.json", json.dumps(_vllm_run(8, 6.0, request_rate=4.0)))
    code, _, err = cli(capsys, "calibrate", "gpt-oss-120b", EXAMPLE, paced, *DEPLOY, "--out", out)
    assert code == 2 and "a paced run does not hold a fixed concurrency" in one_line_error(err)
    assert not out.exists() and list(tmp_path.iterdir()) == [paced]
    code, _, err = cli(capsys, "calibrate", "gpt-oss-120b", EXAMPLE, "--gpu", "h100", "--tp", "2", "--engine",
                       "vllm==0.13.0", "--kv-dtype", "bf16,fp8")
    assert code == 2 and "--kv-dtype: the runs used one KV format" in one_line_error(err)


def test_a_calibration_file_with_a_bad_fitted_on_is_refused(tmp_path):
    p = _write(tmp_path, "c.json", json.dumps({"kvplan_calibration": 1, "gpu": "h200", "source": "x",
                                                "fitted_on": [1]}))
    gpu = plan(make_request(load_model("llama3.1-8b"), "h200")).request.gpu
    with pytest.raises(BadInputError, match="fitted_on must be an object"):
        load_calibration(p, gpu, "bf16")


def test_the_shipped_per_sequence_cost_is_zero():
    """Shipped predictions are unchanged by the per-sequence term (benchmarks/speed_accuracy.py)."""
    assert default_efficiency().sequence_overhead_s == 0.0
    assert math.isclose(default_efficiency().step_overhead_s, 620e-6)
