"""`kvplan speed` and `kvplan recommend` print the pool's caveats that `kvplan capacity` prints
for the same deployment (kvplan.capacity.Pool.notes), each once: on stderr, and as
``warnings`` in --json."""

from __future__ import annotations

import json

import pytest

from helpers import cli
from kvplan.capacity import make_request, plan, summarize
from kvplan.loader import load_model

DP_GATHER = "dp 8: each rank's activation peak and non-torch memory are planned as with dp 1; vLLM 0.19.1's MoE"
SGLANG_COPY = "sglang==0.5.6 also keeps w_kc / w_vc, copies of every MLA layer's quantized kv_b_proj"


def _warnings(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("kvplan: warning: ")]


def test_pool_notes_are_capacitys_notes():
    pool = plan(make_request(load_model("deepseek-v3"), "h200", dp=8))
    assert summarize(pool).notes == pool.notes
    assert [n for n in pool.notes if n.startswith(DP_GATHER)]


def test_speed_prints_the_vllm_dp_moe_warning_once(capsys):
    """Three users counts, two KV formats (two pools): one line, as capacity prints it."""
    args = ("deepseek-v3", "--gpu", "h200", "--dp", "8", "--enable-expert-parallel")
    code, _, cap_err = cli(capsys, "capacity", *args)
    assert code == 0
    code, out, err = cli(capsys, "speed", *args, "--ctx", "4k", "--users", "8,64,256", "--kv-dtype", "bf16,fp8")
    assert code == 0
    lines = _warnings(err)
    assert len([ln for ln in lines if DP_GATHER in ln]) == 1
    assert [ln for ln in _warnings(cap_err) if DP_GATHER in ln] == [ln for ln in lines if DP_GATHER in ln]
    assert "warning" not in out


def test_speed_json_carries_the_warnings(capsys):
    args = ("deepseek-v3", "--gpu", "h200", "--dp", "8", "--enable-expert-parallel")
    code, out, _ = cli(capsys, "capacity", *args, "--json")
    notes = json.loads(out)["notes"]
    code, out, err = cli(capsys, "speed", *args, "--ctx", "4k", "--users", "8,64", "--json")
    assert code == 0
    # the pool's caveats, as capacity prints them, then the MoE TTFT caveat (kvplan.speed.ttft_notes) and
    # the FP8 MoE TPOT caveat (kvplan.speed.tpot_notes)
    warnings = json.loads(out)["warnings"]
    assert warnings[:-2] == notes and warnings[-2].startswith("TTFT of an MoE model is a floor: its prompt's expert")
    assert warnings[-1].startswith("TPOT of an MoE model with FP8 weights is likely optimistic")
    # dp 8's token gather and the fp8 experts' kept fused-MoE workspace, neither counted
    assert len(notes) == 2 and notes[0].startswith(DP_GATHER)
    assert "fp8 experts' kernels, so their workspace is not counted" in notes[1]


def test_speed_prints_sglangs_quantized_copy_warning(capsys):
    code, _, err = cli(capsys, "speed", "deepseek-v3", "--gpu", "h200", "--tp", "8", "--engine", "sglang==0.5.6",
                       "--weights", "int8", "--ctx", "1k", "--users", "4,32")
    assert code == 0
    assert len([ln for ln in _warnings(err) if SGLANG_COPY in ln]) == 1


def test_speed_without_caveats_prints_none(capsys):
    code, out, err = cli(capsys, "speed", "llama3.1-8b", "--gpu", "h100", "--ctx", "8k", "--users", "1,8",
                         "--json")
    assert code == 0 and json.loads(out)["warnings"] == [] and _warnings(err) == []


@pytest.fixture(scope="module")
def v3_recommend():
    from kvplan.recommend import recommend

    return recommend(load_model("deepseek-v3"), ctx=4096, users=256, output_tokens=1024, tpot_s=0.08,
                     gpus=["h200", "b200", "mi300x"], block_size=128)


def test_recommend_options_carry_their_pools_notes(v3_recommend):
    from kvplan.speed import setup, tpot_notes, ttft_notes

    for option in v3_recommend.options:  # then the caveats of the TTFT and TPOT each option shows
        pool = plan(option.request)
        s = setup(pool)
        assert option.warnings == pool.notes + ttft_notes(s) + tpot_notes(s)
        assert len(ttft_notes(s)) == len(tpot_notes(s)) == 1
    layouts = [o.layout for o in v3_recommend.options]
    assert layouts[:5] == ["tp 2 dp 4 ep", "tp 2 dp 4 ep", "tp 2 dp 4 ep", "tp 1 dp 8 ep", "tp 2 dp 4 ep"]


def test_recommend_quotes_the_caveats_with_or_without_targets():
    """Every option shows a TPOT, $ per million tokens from it and a TTFT, targets or not (review h32
    D2: without --tpot-ms the family's option is still picked by $/M tokens, then TPOT), so each
    carries the caveats `kvplan speed` prints beside the same figures."""
    from kvplan.recommend import recommend

    got = recommend(load_model("deepseek-v3"), ctx=4096, users=256, output_tokens=1024,
                    gpus=["h200"], block_size=128)
    assert got.options
    for o in got.options:
        assert [w.split(" is ")[0] for w in o.warnings if w.startswith(("TPOT", "TTFT"))] == [
            "TTFT of an MoE model", "TPOT of an MoE model with FP8 weights"]
    dense = recommend(load_model("llama3.1-8b"), ctx=4096, users=16, gpus=["h100"])
    assert dense.options and not any(w.startswith(("TPOT", "TTFT")) for o in dense.options for w in o.warnings)


def test_recommend_deduplicates_over_the_shown_rows(v3_recommend):
    """Rows 1 and 2 run on MI300X (the ROCm note), rows 1, 2, 3 and 5 run dp 4, row 4 dp 8: two lines, each naming its rows; the fp8 experts'
    uncounted MoE workspace under vLLM 0.19.1 and the TTFT and TPOT caveats apply to every row: one
    line each for all five."""
    shown = v3_recommend.warnings(5)
    assert [(text.split(":")[0], ranks) for text, ranks in shown] == [
        ("on AMD Instinct MI300X (192 GB) the non-torch memory kvplan subtracts is the figure of NVIDIA startup "
         "logs (no ROCm startup log has been checked), and vllm==0.19.1 takes the weights as the device's used "
         "memory across load_model (platforms/rocm.py get_current_memory_usage", (1, 2)),
        ("dp 4", (1, 2, 3, 5)), ("vllm==0.19.1", (1, 2, 3, 4, 5)),
        ("TTFT of an MoE model is a floor", (1, 2, 3, 4, 5)),
        ("TPOT of an MoE model with FP8 weights is likely optimistic", (1, 2, 3, 4, 5)),
        ("dp 8", (4,))]


def test_recommend_cli_prints_each_warning_once_with_its_rows(capsys):
    code, out, err = cli(capsys, "recommend", "deepseek-v3", "--ctx", "4k", "--users", "256", "--output", "1k",
                         "--tpot-ms", "80", "--gpus", "h200,b200,mi300x", "--block-size", "128", "--top", "3")
    assert code == 0
    assert [ln.split(": each rank")[0].split(": vLLM keeps")[0].split(" is ")[0] for ln in _warnings(err)] == [
        "kvplan: warning: #1, #2: on AMD Instinct MI300X (192 GB) the non-torch memory kvplan subtracts",
        "kvplan: warning: #1, #2, #3: dp 4", "kvplan: warning: #1, #2, #3: vllm==0.19.1",
        "kvplan: warning: #1, #2, #3: TTFT of an MoE model", "kvplan: warning: #1, #2, #3: TPOT of an MoE model with FP8 weights"]


def test_recommend_json_lists_warnings_per_option_and_once(capsys):
    code, out, err = cli(capsys, "recommend", "deepseek-v3", "--ctx", "4k", "--users", "256", "--output", "1k",
                         "--tpot-ms", "80", "--gpus", "h200,b200,mi300x", "--block-size", "128", "--json")
    assert code == 0
    data = json.loads(out)
    texts = [w["text"] for w in data["warnings"]]
    assert len(texts) == len(set(texts))
    for w in data["warnings"]:
        for rank in w["options"]:
            assert w["text"] in data["options"][rank - 1]["warnings"]
    assert sum(len(o["warnings"]) for o in data["options"]) == sum(len(w["options"]) for w in data["warnings"])
