"""kvplan speed's shipped factors were fitted on NVIDIA GPUs: another vendor's GPU gets a figure only
through its own efficiency.yaml entry (MI300X) or a calibration from the engine's own runs
(speed.shipped_efficiency). Published DeepSeek-R1 runs on MI325X / MI355X take up to 3.2x / 1.8x the
NVIDIA factors' TPOT (benchmarks/speed_reference.py imax-mi325x-* / imax-mi355x-*)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from helpers import cli, one_line_error
from kvplan.capacity import make_request, plan
from kvplan.errors import BadInputError
from kvplan.gpus import get_gpu
from kvplan.loader import load_model
from kvplan.speed import has_shipped_factors, load_calibration, setup, shipped_efficiency

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("gpu", ["mi325x", "mi355x", "mi250x"])
def test_speed_refuses_an_amd_gpu_without_factors(capsys, gpu):
    code, out, err = cli(capsys, "speed", "llama3.1-8b", "--gpu", gpu, "--ctx", "1k", "--users", "4")
    assert code == 2 and out == ""
    line = one_line_error(err)
    assert f"kvplan speed has no factors for {gpu}" in line and "--calibration" in line


def test_raw_engine_on_gaudi_is_refused_too(capsys):
    code, _, err = cli(capsys, "speed", "llama3.1-8b", "--gpu", "gaudi3", "--engine", "raw", "--ctx", "1k")
    assert code == 2 and "no factors for gaudi3" in one_line_error(err)


def test_nvidia_and_the_mi300x_keep_their_factors():
    assert has_shipped_factors(get_gpu("h100")) and has_shipped_factors(get_gpu("l40s"))
    assert has_shipped_factors(get_gpu("mi300x")) and not has_shipped_factors(get_gpu("mi325x"))
    assert shipped_efficiency(get_gpu("mi300x")).weights_bandwidth == 0.29  # its own entry
    assert shipped_efficiency(get_gpu("h100")).weights_bandwidth == 0.83


def test_a_calibration_from_the_engines_runs_is_accepted_on_mi325x(tmp_path):
    p = tmp_path / "c.json"
    p.write_text(json.dumps({"kvplan_calibration": 1, "gpu": "mi325x", "source": "my runs",
                             "fitted_on": {"model": "llama3.1-8b"},
                             "weights_bandwidth": 0.3, "step_overhead_us": 15000}), encoding="utf-8")
    pool = plan(make_request(load_model("llama3.1-8b"), "mi325x"))
    eff = load_calibration(p, pool.request.gpu, "bf16")
    s = setup(pool, eff)
    assert s.efficiency.weights_bandwidth == 0.3 and s.efficiency.step_overhead_s == pytest.approx(0.015)


def test_a_measure_report_alone_is_refused_on_mi325x(tmp_path):
    report = json.loads((ROOT / "docs/measurements/h200-measure.json").read_text(encoding="utf-8"))
    report["device"]["catalog_gpu"] = "mi325x"
    p = tmp_path / "m.json"
    p.write_text(json.dumps(report), encoding="utf-8")
    with pytest.raises(BadInputError, match="replaces kv_bandwidth only.*no shipped factors for mi325x"):
        load_calibration(p, get_gpu("mi325x"), "bf16")


def test_recommend_rejects_the_family_and_goes_on(capsys, tmp_path):
    prices = tmp_path / "p.yaml"
    prices.write_text("version: 1\ncurrency: USD\nprices:\n"
                      "  mi325x: {usd_per_gpu_hour: 2.5, date: 2026-11-30, source: test}\n", encoding="utf-8")
    code, out, err = cli(capsys, "recommend", "llama3.1-8b", "--ctx", "8k", "--users", "16", "--gpus",
                         "h100,mi325x", "--prices", prices, "--json")
    assert code == 0, err
    d = json.loads(out)
    assert {o["gpu"] for o in d["options"]} == {"h100-sxm"}
    mi = [r for r in d["rejections"] if r["gpu"] == "mi325x"]
    assert len(mi) == 4 and all(r["reason"] == "gpu" and "no factors for mi325x" in r["detail"] for r in mi)


def test_the_reference_rows_say_why():
    """The MI325X / MI355X rows are timed with the NVIDIA factors and kept out of the counts."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from speed_reference import MEASUREMENTS, predict

    rows = {m.id: m for m in MEASUREMENTS}
    m = rows["imax-mi325x-r1-tp8-1k1k-c4"]
    assert m.unfactored and m.value_ms == 27.26
    assert m.value_ms / predict(m) == pytest.approx(3.16, abs=0.01)
    m = rows["imax-mi355x-r1-tp8-1k1k-c4"]
    assert (m.prompt, m.output) == (922, 921)  # 200 prompts drawn (50 x conc), not 40
    assert m.value_ms / predict(m) == pytest.approx(1.82, abs=0.01)


def test_a_hand_written_partial_calibration_is_refused_on_mi325x(tmp_path):
    """Without fitted_on (kvplan calibrate's mark), the factors it leaves out would be the NVIDIA ones
    (review h28 F2: kv_bandwidth alone gave a TPOT bound by the shipped weights_bandwidth)."""
    p = tmp_path / "c.json"
    p.write_text(json.dumps({"kvplan_calibration": 1, "gpu": "mi325x", "source": "x", "kv_bandwidth": 0.5}),
                 encoding="utf-8")
    with pytest.raises(BadInputError, match=r"no shipped factors for mi325x .* \(kvplan calibrate writes fitted_on\)"):
        load_calibration(p, get_gpu("mi325x"), "bf16")
    q = tmp_path / "n.json"  # on an NVIDIA GPU a partial file keeps the shipped rest, as before
    q.write_text(json.dumps({"kvplan_calibration": 1, "gpu": "h100", "source": "x", "kv_bandwidth": 0.5}),
                 encoding="utf-8")
    assert load_calibration(q, get_gpu("h100"), "bf16").kv_bandwidth == 0.5
