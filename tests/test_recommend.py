"""kvplan.recommend and `kvplan recommend`: every option is checked again against the one
capacity model and the speed estimate; reasons for rejected families; prices as data."""

from __future__ import annotations

import json

import pytest

from helpers import cli, one_line_error
from kvplan.capacity import plan
from kvplan.errors import BadInputError
from kvplan.loader import load_model
from kvplan.recommend import _min_gpus, layouts, load_prices, recommend
from kvplan.speed import estimate, setup
from kvplan.units import cdiv


@pytest.fixture(scope="module")
def llama8b():
    return load_model("llama3.1-8b")


@pytest.fixture(scope="module")
def rec8b(llama8b):
    return recommend(llama8b, ctx=8192, users=64, tpot_s=0.03, gpus=["h100", "h200", "mi300x"])


def test_every_option_holds_the_load_and_meets_the_target(rec8b):
    assert rec8b.options
    for o in rec8b.options:
        pool = plan(o.request)  # asked again, independently of the search
        assert pool.serves(8192, cdiv(64, o.request.dp))
        p = estimate(setup(pool), 64, 8192)
        assert p.tpot_s <= 0.03
        assert o.usd_per_hour == pytest.approx(o.num_gpus * o.price.usd_per_gpu_hour)
        assert o.usd_per_million_tokens == pytest.approx(o.usd_per_hour / (p.tokens_per_s * 3600) * 1e6)


def test_every_option_starts_as_capacity_plans_it(llama8b, capsys):
    """An option is a deployment `kvplan capacity` also says fits: vLLM starts (one request of
    max_model_len fits) as well as holding the load. Without --max-model-len the search plans
    max_model_len = prompt + output, and says so; vLLM with Llama-3.1-8B's own 131,072 would
    refuse to start on one L4 (a pool of 35,376 tokens), which the search used to recommend."""
    rec = recommend(llama8b, ctx=2048, users=4, gpus=["l4"], weights=["bf16"], kv_formats=["auto"])
    (o,) = rec.options
    # a prompt of 2,048 with no --output: vLLM needs room for its one output token (review h25-2 Q1)
    assert (o.num_gpus, o.request.max_model_len, o.as_dict()["max_model_len"]) == (1, 2049, 2049)
    assert plan(o.request).verdict() and plan(o.request).serves(2048, 4)
    code, out, _ = cli(capsys, "capacity", "llama3.1-8b", "--gpu", "l4", "--max-model-len", "2049", "--ctx", "2048",
                       "--batch", "4", "--json")
    assert code == 0 and json.loads(out)["fits"]
    # A max_model_len that is given is planned as given: 131,072 does not start on one L4.
    rec = recommend(llama8b, ctx=2048, users=4, gpus=["l4"], weights=["bf16"], kv_formats=["auto"], max_gpus=1,
                    max_model_len=131072)
    assert not rec.options and rec.rejections[0].reason == "memory"
    assert "refuses to start" in rec.rejections[0].detail


def test_options_are_ranked_by_cost(rec8b):
    keys = [(o.usd_per_hour, o.usd_per_million_tokens) for o in rec8b.options]
    assert keys == sorted(keys)


def test_one_option_per_family_at_its_smallest_gpu_count(rec8b):
    fams = [(o.request.gpu.name, o.request.weights, o.request.kv_format.name) for o in rec8b.options]
    assert len(fams) == len(set(fams))
    for o in rec8b.options:
        # nothing with fewer GPUs of that family qualified: the option's count is the first that did
        smaller = recommend(load_model("llama3.1-8b"), ctx=8192, users=64, tpot_s=0.03, gpus=[o.request.gpu.name],
                            max_gpus=max(1, o.num_gpus - 1), weights=[o.request.weights],
                            kv_formats=[o.request.kv_format])
        assert not smaller.options or o.num_gpus == 1


def test_tight_tpot_rejects_with_the_fastest_figure(llama8b):
    rec = recommend(llama8b, ctx=8192, users=8, tpot_s=0.001, gpus=["h100"], max_gpus=2)
    assert not rec.options
    assert {r.reason for r in rec.rejections} == {"tpot"}
    assert all("> 1 ms" in r.detail for r in rec.rejections)


def test_too_many_users_rejects_for_memory(llama8b):
    rec = recommend(llama8b, ctx=32768, users=512, gpus=["h100"], max_gpus=2, kv_formats=["bf16"], weights=["bf16"])
    (r,) = rec.rejections
    assert r.reason == "memory" and "need at least" in r.detail


def test_ttft_rejection(llama8b):
    rec = recommend(llama8b, ctx=65536, users=1, ttft_s=0.05, gpus=["h100"], max_gpus=2, kv_formats=["bf16"],
                    weights=["bf16"])
    (r,) = rec.rejections
    assert r.reason == "ttft" and "fastest first token" in r.detail


def test_min_gpus_is_a_lower_bound(llama8b, rec8b):
    from kvplan.formats import get_format
    from kvplan.gpus import get_gpu

    for o in rec8b.options:
        bound = _min_gpus(llama8b, get_gpu(o.request.gpu.name), o.request.weights, o.request.kv_format, 8192, 64)
        assert o.num_gpus >= bound
    assert _min_gpus(llama8b, get_gpu("h100"), "bf16", get_format("bf16"), 131072, 64) > 1


def test_layouts_cover_every_factorisation():
    dense = load_model("llama3.1-70b")
    got = layouts(dense, 8)
    assert all(tp * pp * dp == 8 for tp, pp, dp, _ in got)
    assert (8, 1, 1, False) in got and (2, 2, 2, False) in got and (1, 1, 8, False) in got
    assert not any(ep for *_, ep in got)
    moe = layouts(load_model("deepseek-v3"), 8)
    assert (1, 1, 8, True) in moe and (8, 1, 1, True) in moe and (1, 8, 1, True) not in moe


def test_mla_moe_search_uses_expert_parallel():
    rec = recommend(load_model("deepseek-v3"), ctx=4096, users=256, output_tokens=1024, tpot_s=0.1,
                    gpus=["h200"], max_gpus=16)
    assert rec.options
    assert any(o.request.dp > 1 for o in rec.options)


def test_refusals(llama8b):
    with pytest.raises(BadInputError, match="takes at most 8,192 tokens"):
        recommend(load_model("llama3-70b"), ctx=32768, users=1, gpus=["h100"])
    with pytest.raises(BadInputError, match="no price for l40"):
        recommend(llama8b, ctx=1024, users=1, gpus=["l40"])
    with pytest.raises(BadInputError, match="must be a positive, finite number"):
        recommend(llama8b, ctx=1024, users=1, gpus=["h100"], tpot_s=0)


# -- prices -------------------------------------------------------------------------------
def test_shipped_prices_are_dated_and_cited():
    prices = load_prices()
    assert {"h100-sxm", "h200", "b200", "mi300x"} <= set(prices)
    for p in prices.values():
        assert p.usd_per_gpu_hour > 0 and p.date[:4] == "2026" and len(p.source) > 10


def test_price_file_overrides_what_it_names(tmp_path):
    f = tmp_path / "prices.yaml"
    f.write_text("version: 1\nprices:\n  h100:\n    usd_per_gpu_hour: 1.5\n    date: 2026-11-01\n"
                 "    source: our contract\n  l40:\n    usd_per_gpu_hour: 0.9\n    date: 2026-11-01\n"
                 "    source: our contract\n")
    prices = load_prices(f)
    assert prices["h100-sxm"].usd_per_gpu_hour == 1.5 and prices["l40"].usd_per_gpu_hour == 0.9
    assert prices["h200"].usd_per_gpu_hour == load_prices()["h200"].usd_per_gpu_hour


@pytest.mark.parametrize("body, text", [
    ("version: 1\nprices:\n  h100:\n    usd_per_gpu_hour: -1\n    date: x\n    source: y\n", "positive number"),
    ("version: 1\nprices:\n  h100:\n    usd_per_gpu_hour: 1\n    source: y\n", "needs its date"),
    ("version: 1\nprices:\n  h100:\n    usd_per_gpu_hour: 1\n    date: x\n    source: y\n    tax: 2\n",
     "unknown field 'tax'"),
    ("version: 1\ncurrency: EUR\nprices: {}\n", "currency 'EUR'"),
    ("version: 1\nprices:\n  nogpu:\n    usd_per_gpu_hour: 1\n    date: x\n    source: y\n", "unknown GPU"),
])
def test_price_file_refusals(tmp_path, body, text):
    f = tmp_path / "prices.yaml"
    f.write_text(body)
    with pytest.raises(BadInputError, match=text):
        load_prices(f)


# -- the command ----------------------------------------------------------------------------
def test_cli_table_and_json(capsys):
    code, out, err = cli(capsys, "recommend", "llama3.1-8b", "--ctx", "8k", "--users", "64", "--tpot-ms", "30",
                         "--gpus", "h100,h200")
    assert code == 0, err
    assert "$/hour" in out and "price h" in out
    code, out, _ = cli(capsys, "recommend", "llama3.1-8b", "--ctx", "8k", "--users", "64", "--tpot-ms", "30",
                       "--gpus", "h100,h200", "--json")
    d = json.loads(out)
    assert d["options"] and d["options"][0]["tpot_ms"] <= 30 and d["options"][0]["price"]["source"]


def test_cli_exit_1_when_nothing_qualifies(capsys):
    code, out, err = cli(capsys, "recommend", "llama3.1-8b", "--ctx", "8k", "--users", "8", "--tpot-ms", "1",
                         "--gpus", "h100", "--max-gpus", "1")
    assert code == 1
    assert "tpot" in out and "no deployment meets the targets" in err


@pytest.mark.parametrize("argv, text", [
    (["--gpus", "l40"], "no price for l40"),
    (["--gpus", "nogpu"], "unknown GPU"),
    (["--ctx", "1M"], "takes at most"),
    (["--prices", "/nonexistent.yaml"], "nonexistent.yaml"),
    (["--weights", "q9"], "unknown weight format"),
])
def test_cli_bad_input_one_line(capsys, argv, text):
    code, _, err = cli(capsys, "recommend", "llama3.1-8b", "--ctx", "8k", "--users", "8", *argv)
    assert code == 2
    assert text in one_line_error(err)


def test_gpu_counts_are_instance_sizes():
    from kvplan.recommend import gpu_counts

    assert gpu_counts(16) == [1, 2, 4, 8, 16]
    assert gpu_counts(6) == [1, 2, 4]
    assert gpu_counts(40) == [1, 2, 4, 8, 16, 24, 32, 40]


def test_targets_met_only_separately_say_so():
    # 70B bf16 on H100: tp 16 (two nodes) has the fastest tokens but inter-node prefill;
    # tp 8 the fastest first token but slower tokens (the search's own figures)
    rec = recommend(load_model("llama3.1-70b"), ctx=4096, users=8, tpot_s=0.012, ttft_s=0.3, gpus=["h100"],
                    weights=["bf16"], kv_formats=["bf16"])
    (r,) = rec.rejections
    assert r.reason == "tpot" and r.detail.startswith("no layout meets both") and "16 GPUs tp 16" in r.detail


def test_ttft_s_help_says_what_kvplan_times(capsys):
    # --ttft-s is checked against kvplan's GPU prefill of one prompt on an idle replica; published
    # clients measured more (docs/speed.md 'Time to first token': kvplan 0.13-0.90 of their TTFT), so
    # the option's help says which figure it bounds
    code, out, _ = cli(capsys, "recommend", "--help")
    assert code == 0
    text = " ".join(out.replace("│", " ").split())
    assert "as kvplan times it: the GPU prefill on an idle replica" in text


@pytest.mark.parametrize(("tpot_ms", "noted"), [(5, True), (4, False)])
def test_a_tpot_rejection_of_mxfp4_on_blackwell_says_the_runs_were_faster(tpot_ms, noted):
    """gpt-oss-120b's MXFP4 experts on a B200: kvplan's TPOT was above every published run of that
    case (speed.TPOT_MEASURED, +13% to +44%), so a family kvplan rejects by a margin inside that range
    says what it might measure (7.1 ms / 1.436 = 4.9 ms meets 5 ms); beyond the range (4 ms) it says
    nothing, nor does the H200 family (MXFP4 on Hopper through Marlin: no caveat, the H200 rows lean neither way)."""
    from kvplan.recommend import recommend

    got = recommend(load_model("gpt-oss-120b"), ctx=1024, users=32, output_tokens=1024, tpot_s=tpot_ms / 1e3,
                    gpus=["h200", "b200"], max_gpus=2, kv_formats=["bf16"])
    assert not got.options
    by_gpu = {r.gpu: r for r in got.rejections}
    assert by_gpu["b200"].reason == by_gpu["h200"].reason == "tpot"
    note = "but kvplan's TPOT for MXFP4 experts on Blackwell was above the measured one in 42 of 42 published runs"
    assert (note in by_gpu["b200"].detail) == noted and note not in by_gpu["h200"].detail
    if noted:
        assert by_gpu["b200"].detail.endswith("measured, this family might run 4.9-6.3 ms")


def test_no_might_run_note_under_a_calibration_of_the_step(tmp_path, capsys):
    """The "might run" range comes from the shipped factors' published errors; a calibration that
    replaces the step's weight reads (here weights_bandwidth) is not those factors, so the rejection
    says nothing more (speed.tpot_notes is empty there)."""
    args = ["recommend", "gpt-oss-120b", "--ctx", "1k", "--users", "32", "--output", "1k", "--tpot-ms", "5",
            "--gpus", "b200", "--max-gpus", "2", "--kv-dtype", "bf16"]
    code, out, err = cli(capsys, *args)
    assert code == 1 and "might run" in out + err
    cal = tmp_path / "cal.json"
    cal.write_text(json.dumps({"kvplan_calibration": 1, "gpu": "b200", "source": "my runs", "weights_bandwidth": 0.9}))
    code, out, err = cli(capsys, *args, "--calibration", str(cal))
    assert "might run" not in out + err
