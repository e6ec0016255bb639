"""`kvplan fragment`: JSON, table, plot, pool from --gpu, and one-line errors with exit codes."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from kvplan.cli.main import run

SMALL = ["fragment", "opt-13b", "--kv-pool-tokens", "15728", "--requests", "300"]


def _json(capsys, args):
    assert run(args + ["--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_json_lists_the_default_policies(capsys):
    d = _json(capsys, SMALL)
    assert [p["policy"] for p in d["policies"]] == [
        "orca-max", "orca-pow2", "orca-oracle", "static", "paged-16", "paged-16-share", "paged-1"]
    # OPT-13B fp16: 2 (K, V) x 40 layers x 5120 hidden x 2 bytes = 819,200 B per token
    # (the paper's "800 KB"); 15,728 tokens x 819,200 B = 12,884,377,600 B (12.0 GiB, Table 1).
    assert d["bytes_per_token"] == 2 * 40 * 5120 * 2 == 819_200
    assert d["pool_tokens"] == 15728 and d["pool_tokens_bytes"] == 15728 * 819_200
    assert d["max_model_len"] == 2048 and d["workload"]["requests"] == 300
    for p in d["policies"]:
        parts = (p["token_state_share"] + p["reserved_share"] + p["internal_share"] + p["external_share"]
                 + p["padding_share"] + p["seat_cap_share"] + p["budget_cap_share"])
        assert parts == pytest.approx(1.0, abs=1e-5)
        assert p["completed"] == 300
    # orca-max: 15,728 // 2,048 = 7 chunks fit at a time
    assert d["policies"][0]["peak_batch"] == 7


def test_policies_block_size_and_sharing_options(capsys):
    d = _json(capsys, SMALL + ["--policies", "paged-32,paged-32-share", "--system-prompt", "64", "--n", "2"])
    plain, shared = d["policies"]
    assert d["workload"]["samples_per_request"] == 2 and d["workload"]["system_prompt_tokens"] == 64
    # sharing stores the prompt once per request and the system prompt once: more requests run at once
    assert shared["mean_batch"] > plain["mean_batch"]
    assert shared["completed_per_1000_steps"] > plain["completed_per_1000_steps"]
    d = _json(capsys, SMALL + ["--block-size", "64"])
    assert [p["policy"] for p in d["policies"]][3:] == ["static", "paged-64", "paged-64-share", "paged-1"]


def test_samples_counted_in_the_hit_rate_as_child_requests(capsys):
    # --n 2 -share: each sample's lookup counted (vLLM V1 child requests), so 2 x the prompts are
    # queried and the second samples' shared blocks are hits; "prefill tokens saved" is exactly the
    # prompt tokens first admissions did not compute. The table's footnote says so.
    args = SMALL + ["--policies", "paged-16-share", "--n", "2"]
    one = _json(capsys, SMALL + ["--policies", "paged-16-share"])["policies"][0]
    p = _json(capsys, args)["policies"][0]
    c, t = p["prefix_cache"], p["time"]
    assert c["prompt_tokens"] == 2 * one["prefix_cache"]["prompt_tokens"] > 0
    assert c["prefill_tokens_saved"] == c["prompt_tokens"] - (t["prefill_tokens"] - t["recomputed_tokens"]) > 0
    assert run(args) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "Hit rate with --n 2: each sample counted as vLLM V1 counts its child requests" in out
    assert run(SMALL + ["--policies", "paged-16-share"]) == 0
    assert "Hit rate with --n" not in capsys.readouterr().out


def test_pool_from_gpu_matches_capacity_planner(capsys):
    from kvplan.capacity import plan_capacity
    from kvplan.loader import load_model

    cap = plan_capacity(load_model("opt-13b"), "a100-40gb", max_model_len=2048, block_size=16, max_num_seqs=256)
    d = _json(capsys, ["fragment", "opt-13b", "--gpu", "a100-40gb", "--requests", "100", "--policies", "paged-16"])
    assert d["pool_tokens"] == cap.kv_cache_tokens > 0
    assert "a100-40gb" in d["pool_source"]


def test_table_output(capsys):
    assert run(SMALL + ["--policies", "orca-max,paged-16"]) == 0
    out = capsys.readouterr().out
    assert "orca-max" in out and "paged-16" in out and "token states" in out and "15,728 tokens" in out


def test_plot_writes_a_png(tmp_path, capsys):
    path = tmp_path / "frag.png"
    assert run(SMALL + ["--plot", str(path), "--json"]) == 0
    json.loads(capsys.readouterr().out)  # --json stays pure JSON with --plot
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    "extra, code, message",
    [
        ([], 2, "give exactly one of --gpu G (capacity planning) or --kv-pool-tokens N"),
        (["--kv-pool-tokens", "1000", "--gpu", "a100-40gb"], 2, "give exactly one of"),
        (["--kv-pool-tokens", "15728", "--policies", "orca-maxx"], 2, "unknown policy 'orca-maxx'; did you mean"),
        (["--kv-pool-tokens", "15728", "--policies", "paged-300"], 2, "block size must be 1 to 256"),
        (["--kv-pool-tokens", "15728", "--policies", "orca-max,,paged-16"], 2, "empty item"),
        (["--kv-pool-tokens", "many"], 2, "--kv-pool-tokens: cannot read 'many'"),
        (["--kv-pool-tokens", "1000", "--policies", "orca-max"], 1,
         "orca-max: request #1 alone needs 1 chunk(s) of 2,048 contiguous slots but the 1,000-token KV pool's "
         "largest free range is 1,000"),
        (["--kv-pool-tokens", "15728", "--system-prompt", "2047"], 2, "leaves no room"),
        (["--kv-pool-tokens", "15728", "--gpu-typo"], 2, "No such option"),
        (["--gpu", "a100-4o"], 2, "unknown GPU"),
    ],
)
def test_errors_are_one_line_with_exit_codes(capsys, extra, code, message):
    assert run(["fragment", "opt-13b", "--requests", "50"] + extra) == code
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and message in err, err


def test_unwritable_plot_fails_before_simulating(tmp_path, capsys):
    target = tmp_path / "no-such-dir" / "f.png"
    assert run(SMALL + ["--plot", str(target)]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert not target.exists()


def test_fragment_package_imports_no_heavy_modules():
    code = (
        "import sys, kvplan.fragment, kvplan.cli.fragment; "
        "print(sorted(m for m in ('numpy', 'pandas', 'matplotlib', 'torch', 'triton') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_progress_callback_counts_every_request():
    from kvplan.formats import get_format
    from kvplan.fragment import default_policies, load_workload, run_fragment
    from kvplan.loader import load_model

    spec = load_model("opt-13b")
    wl = load_workload("alpaca", num_requests=3000, max_model_len=2048)
    ticks = []
    run_fragment(spec, get_format("fp16"), wl, default_policies(), 15728, max_model_len=2048, progress=ticks.append)
    assert sum(ticks) == 3000 * 7


def test_negative_seed_is_bad_input(capsys):
    from helpers import cli, one_line_error

    code, _, err = cli(capsys, "fragment", "opt-13b", "--kv-pool-tokens", "15728", "--workload", "alpaca",
                       "--requests", "10", "--seed", "-1")
    assert code == 2 and "--seed" in one_line_error(err)


def test_seat_cap_is_its_own_share_not_fragmentation(capsys):
    """Issue 12: Llama-3.1-8B on one H100 has a 450,192-token pool; 2,000 ShareGPT requests
    (plus a 1,024-token system prompt) at 256 running sequences never fill it, yet the
    free memory was reported as ~70% "external fragmentation", and prompt sharing looked
    far worse than no sharing (31% against 86% token states). The free memory is the seat
    cap's, and on the headline (served: token states as the sequences read them) sharing
    is not worse: both run the same batch."""
    d = _json(capsys, ["fragment", "llama3.1-8b", "--gpu", "h100", "--requests", "2000", "--max-seqs", "256",
                       "--system-prompt", "1024", "--policies", "paged-16,paged-16-share"])
    plain, shared = d["policies"]
    assert d["max_seqs"] == 256
    assert plain["external_share"] == 0 and shared["external_share"] == 0
    assert plain["seat_cap_share"] > 0.10 and shared["seat_cap_share"] > 0.60
    assert plain["mean_batch"] == shared["mean_batch"] and plain["peak_batch"] == shared["peak_batch"] == 256
    assert shared["served_share"] >= plain["served_share"]
    assert any("max_num_seqs" in note and note.startswith("paged-16:") for note in d["notes"])
    assert not any("serves" in note for note in d["notes"])  # no sharing-looks-worse note: it is not worse


def test_gpu_takes_max_seqs_from_the_engine_profile(capsys):
    # vLLM's default on GPUs of 70 GiB or more is 1,024 running sequences (kvplan.engines)
    d = _json(capsys, ["fragment", "llama3.1-8b", "--gpu", "h100", "--requests", "50", "--policies", "paged-16"])
    assert d["max_seqs"] == 1024
    d = _json(capsys, ["fragment", "opt-13b", "--gpu", "a100-40gb", "--requests", "50", "--policies", "paged-16"])
    assert d["max_seqs"] == 256


def test_rate_sweep_json_and_plot(tmp_path, capsys):
    path = tmp_path / "sweep.png"
    d = _json(capsys, ["fragment", "opt-13b", "--kv-pool-tokens", "15728", "--requests", "200", "--policies",
                       "orca-oracle,paged-16", "--rate", "1/s,3/s", "--plot", str(path)])
    assert [r["label"] for r in d["rates"]] == ["Poisson 1/s (seed 0)", "Poisson 3/s (seed 0)"]
    slow, fast = (r["policies"][1] for r in d["rates"])
    # at 3 requests/s more requests wait: a higher mean batch and a longer mean TTFT
    assert fast["mean_batch"] > slow["mean_batch"] and fast["time"]["ttft_s"]["mean"] > slow["time"]["ttft_s"]["mean"]
    assert d["policies"] == d["rates"][0]["policies"]
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_speculative_draft_shares_the_pool(capsys):
    # Llama-3.1-8B (131,072 B per token) beside Llama-3.2-1B's KV (16 x 8 x 64 x 2 x 2 = 32,768 B):
    # 64k tokens of the target become 65,536 x 131,072 // 163,840 = 52,428
    d = _json(capsys, ["fragment", "llama3.1-8b", "--kv-pool-tokens", "64k", "--requests", "50", "--policies",
                       "paged-16", "--spec-tokens", "4", "--acceptance", "0.8", "--draft-model", "llama3.2-1b"])
    assert d["simulated_pool_tokens"] == 65_536 * 131_072 // 163_840 == 52_428
    assert d["speculative"]["draft_bytes_per_token"] == 32_768
    assert d["step_time"]["tokens_per_step"] == pytest.approx(3.3616)


def test_tiers_report_the_link(capsys):
    d = _json(capsys, ["fragment", "llama3.1-8b", "--gpu", "h100", "--requests", "50", "--policies",
                       "paged-16-share", "--cpu-kv-gib", "8"])
    assert d["tiers"]["cpu_bytes"] == 8 << 30
    # the catalog's H100 SXM host link: PCIe 5.0 x16, 32e9 x 16 x 128 / 130 / 8 = 63,015,384,615 B/s a direction
    assert d["tiers"]["host_bandwidth_bytes_per_s"] == 63_015_384_615 and "host link" in d["tiers"]["host_bandwidth_source"]
    assert d["policies"][0]["prefix_cache"]["tiers"]["cpu"]["capacity_tokens"] == (8 << 30) // (16 * 131_072) * 16


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--window", "1k", "--policies", "paged-16-share"], "--window with prefix sharing"),
        (["--sinks", "4"], "--sinks needs --window"),
        (["--host-bandwidth", "64GB"], "--host-bandwidth and --disk-bandwidth need --cpu-kv-gib"),
        (["--acceptance", "0.5"], "need --spec-tokens"),
        (["--spec-tokens", "2", "--acceptance", "1.5"], "--acceptance must be in [0, 1)"),
        (["--max-num-batched-tokens", "100"], "is below --max-seqs 256"),
        (["--rate", "fast"], "--rate: cannot read 'fast'"),
        (["--rate", "1/s,inf", "--plot", "x.png"], "needs Poisson rates only"),
        (["--policies", "static-0"], "at least 1 request"),
    ],
)
def test_serving_option_errors(tmp_path, capsys, extra, message):
    args = ["fragment", "opt-13b", "--kv-pool-tokens", "15728", "--requests", "20"]
    extra = [str(tmp_path / x) if x.endswith(".png") else x for x in extra]
    assert run(args + extra) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and message in err, err


@pytest.mark.parametrize(("method", "extra"), [("draft_model", 8), ("eagle", 8), ("mtp", 8), ("ngram", 4)])
def test_simulator_reserves_the_capacity_pools_lookahead(method, extra):
    """The simulator and the capacity pool reserve the same slots per decoding sequence under
    speculative decoding (kvplan.speculative: k verified + k drafter lookahead; n-gram: k)."""
    from kvplan.fragment.config import ServingConfig
    from kvplan.fragment.run import Speculative
    from kvplan.fragment.timing import ConstantStepTime, SpeculativeStepTime
    from kvplan.speculative import LOOKAHEAD_METHODS

    sp = Speculative(4, 0.7, method=method)
    cfg = ServingConfig(step_time=SpeculativeStepTime(ConstantStepTime(), 4, 0.7, 0.0, sp.lookahead_tokens))
    assert cfg.lookahead == extra == 4 + (4 if method in LOOKAHEAD_METHODS else 0)
    assert cfg.decode_tokens == 5  # the sampled token + 4 to verify, whatever the method


def test_spec_tokens_without_a_draft_model_needs_a_method(capsys):
    from helpers import cli, one_line_error

    code, _, err = cli(capsys, "fragment", "opt-13b", "--kv-pool-tokens", "15728", "--requests", "20",
                       "--spec-tokens", "4")
    assert code == 2 and "--spec-method" in one_line_error(err)


def test_lookahead_capped_at_max_model_len_as_capacity(capsys):
    """vLLM reserves min(n + lookahead, max_model_len) slots (kvplan.speculative.reserved_slots):
    capacity holds 41 requests of 8,192 tokens (max_model_len) with ngram k = 4 in 20,993 blocks
    (20,992 usable = 41 x 512), and the simulator on that pool preempts none (it preempted 4 when
    it reserved 8,196 slots = 513 blocks)."""
    import json

    from helpers import cli

    code, out, err = cli(capsys, "capacity", "llama3.1-8b", "--gpu", "h100", "--max-model-len", "8192",
                         "--speculative-config", '{"method": "ngram", "num_speculative_tokens": 4, '
                         '"prompt_lookup_max": 4}', "--num-gpu-blocks-override", "20993", "--ctx", "8192", "--json")
    assert code == 0, err
    d = json.loads(out)
    assert (d["requests_at_ctx"], d["blocks_per_request"]) == (41, 512)
    code, out, err = cli(capsys, "fragment", "llama3.1-8b", "--kv-pool-tokens", str(20_992 * 16), "--max-model-len",
                         "8192", "--workload", "fixed:8000:192", "--requests", "200", "--spec-tokens", "4",
                         "--spec-method", "ngram", "--policies", "paged-16", "--max-seqs", "1024", "--json")
    assert code == 0, err
    (r,) = json.loads(out)["policies"]
    assert (r["preemptions"], r["peak_batch"], r["completed"]) == (0, 41, 200)


def test_kv_pool_tokens_take_every_drafters_kv_out(capsys, tmp_path):
    """--kv-pool-tokens are the target's tokens: a drafter's KV, whichever it is, takes its share
    (kvplan.speculative's layers, as capacity pages them). DeepSeek-V3 with its MTP layer: 61 + 1
    MLA layers of 1,152 B, 620,000 x 70,272 // 71,424 = 610,000 tokens simulated (it was
    620,000, while a draft model's KV was taken out)."""
    import json

    from helpers import cli, one_line_error

    def run(*args):
        code, out, err = cli(capsys, "fragment", *args, "--workload", "fixed:8000:192", "--requests", "20",
                             "--policies", "paged-16", "--json")
        assert code == 0, err
        d = json.loads(out)
        return d["simulated_pool_tokens"], d["speculative"]["draft_bytes_per_token"]

    assert run("deepseek-v3", "--kv-pool-tokens", "620000", "--spec-tokens", "1", "--spec-method", "mtp") == (
        620_000 * 70_272 // 71_424, 1152) == (610_000, 1152)
    assert run("llama3.1-8b", "--kv-pool-tokens", "443552", "--spec-tokens", "4", "--draft-model",
               "llama3.2-1b") == (443_552 * 131_072 // 163_840, 32_768) == (354_841, 32_768)
    # An EAGLE head (one Llama-3.1-8B-shaped decoder layer, 4,096 B per token here) is named with
    # --draft-model; without it the head's KV is unknown and the run is refused.
    head = tmp_path / "eagle.yaml"
    head.write_text(json.dumps({"name": "eagle-llama3.1-8b", "source": "test", "num_layers": 1, "hidden_size": 4096,
                                "num_attention_heads": 32, "num_kv_heads": 8, "head_dim": 128, "vocab_size": 128256,
                                "intermediate_size": 14336, "dtype": "bf16", "max_position_embeddings": 131072}))
    assert run("llama3.1-8b", "--kv-pool-tokens", "443552", "--spec-tokens", "3", "--spec-method", "eagle",
               "--draft-model", str(head)) == (443_552 * 131_072 // 135_168, 4096)
    code, _, err = cli(capsys, "fragment", "llama3.1-8b", "--kv-pool-tokens", "443552", "--spec-tokens", "3",
                       "--spec-method", "eagle", "--requests", "5")
    assert code == 2 and "give the EAGLE head with --draft-model" in one_line_error(err)
    code, _, err = cli(capsys, "fragment", "llama3.1-8b", "--kv-pool-tokens", "443552", "--spec-tokens", "3",
                       "--spec-method", "eagle", "--draft-model", "llama3.2-1b", "--requests", "5")
    assert code == 2 and "hidden size (2,048) differs" in one_line_error(err)
    # with --gpu the capacity pool holds the head's layer beside the target's (as `kvplan capacity`)
    code, out, err = cli(capsys, "fragment", "llama3.1-8b", "--gpu", "h100", "--spec-tokens", "3", "--spec-method",
                         "eagle", "--draft-model", str(head), "--workload", "fixed:8000:192", "--requests", "5",
                         "--policies", "paged-16", "--json")
    assert code == 0, err
    assert "eagle KV and weights included" in json.loads(out)["pool_source"]


def test_mtp_and_eagle_drop_the_last_cached_block(capsys):
    # 200 requests of a 1,024-token system prompt (64 blocks) + 2,048 own tokens: 199 hit the system
    # prompt, 64 blocks each without a drafter (203,776 tokens), 63 with MTP, whose last matched block
    # vLLM recomputes (199 x 63 x 16 = 200,592; single_type_kv_cache_manager.py find_longest_cache_hit).
    base = ["fragment", "deepseek-v3", "--kv-pool-tokens", "200k", "--workload", "fixed:2048:64", "--requests", "200",
            "--system-prompt", "1024", "--policies", "paged-16-share", "--rate", "inf", "--json"]
    for extra, hits in (([], 203_776), (["--spec-tokens", "1", "--spec-method", "mtp"], 200_592)):
        d = _json(capsys, base + extra)
        assert d["policies"][0]["prefix_cache"]["gpu_hit_tokens"] == hits


def test_speed_timed_moe_carries_the_ttft_caveat(capsys):
    """With --gpu, the simulator times prompts with the speed model's prefill (kvplan.fragment.timing
    SpeedModelStepTime), so an MoE model gets the same one-line TTFT caveat as `kvplan speed`."""
    args = ["fragment", "mixtral-8x7b", "--gpu", "h100", "--tp", "2", "--requests", "50", "--policies", "paged-16"]
    assert run(args + ["--json"]) == 0
    err = capsys.readouterr().err
    assert [ln for ln in err.splitlines() if "TTFT of an MoE model is a floor" in ln] != []
    assert run(["fragment", "llama3.1-8b", "--gpu", "h100", "--requests", "50", "--policies", "paged-16", "--json"]) == 0
    assert "TTFT of an MoE model" not in capsys.readouterr().err


def test_speed_timed_moe_carries_the_tpot_caveat(capsys):
    """The simulated decode steps are timed by the same speed model, so `fragment --gpu` quotes
    `kvplan speed`'s TPOT caveat where the published rows lean one way (kvplan.speed.tpot_notes):
    gpt-oss-120b's MXFP4 experts on a B200; not Mixtral (BF16) on H100s."""
    tpot = "TPOT of an MoE model with MXFP4 experts on Blackwell is likely pessimistic"
    args = ["--requests", "50", "--policies", "paged-16", "--json"]
    assert run(["fragment", "gpt-oss-120b", "--gpu", "b200", *args]) == 0
    assert len([ln for ln in capsys.readouterr().err.splitlines() if tpot in ln]) == 1
    assert run(["fragment", "mixtral-8x7b", "--gpu", "h100", "--tp", "2", *args]) == 0
    assert "TPOT of an MoE model" not in capsys.readouterr().err
