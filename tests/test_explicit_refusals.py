"""Inputs a user states explicitly are refused, not turned into a note or a silent default."""

from __future__ import annotations

import pytest

from kvplan.engines import CLASSES, ENGINES, get_engine

from helpers import cli, one_line_error

LOG = "tests/fixtures/startup_logs/vllm_club3090_pr1139_free_memory_line.log"


@pytest.mark.parametrize("release, words", [
    ("foo", "--release foo: cannot read a release from 'foo'"),
    ("0.5", "--release 0.5: vllm 0.5 is not a release kvplan models"),
])
def test_explain_refuses_a_release_it_does_not_model(capsys, release, words):
    code, out, err = cli(capsys, "explain", LOG, "--release", release)
    assert code == 2 and out == ""
    assert one_line_error(err).startswith(f"kvplan: error: {words}")


def test_explain_still_notes_an_unmodelled_release_the_log_states(capsys, tmp_path):
    """A release the log itself states (not the user) stays a note: the logged figures still show."""
    log = tmp_path / "old.log"
    log.write_text("INFO 01-01 00:00:00 api_server.py:1] vLLM API server version 0.6.3\n" + open(LOG).read())
    code, out, err = cli(capsys, "explain", str(log))
    assert code == 0
    assert "vllm 0.6.3 (not modelled" in out + err


@pytest.mark.parametrize("flag, value", [("--ttft-s", "inf"), ("--tpot-ms", "inf"), ("--ttft-s", "nan"),
                                         ("--tpot-ms", "0")])
def test_recommend_targets_must_be_finite(capsys, flag, value):
    code, out, err = cli(capsys, "recommend", "llama3-8b", "--ctx", "8k", "--users", "4", flag, value)
    assert code == 2 and out == ""
    assert "positive, finite" in one_line_error(err)


def test_every_engine_family_has_one_class():
    assert set(CLASSES) == set(ENGINES)
    for family in ENGINES:
        assert get_engine(family).family == family


def test_fp8_inc_is_gaudi_only(capsys):
    code, out, err = cli(capsys, "capacity", "llama3.1-8b", "--gpu", "h100", "--kv-cache-dtype", "fp8_inc")
    assert code == 2 and "Intel Gaudi" in one_line_error(err)
    code, out, _ = cli(capsys, "capacity", "llama3.1-8b", "--gpu", "h100", "--kv-cache-dtype", "fp8_inc",
                       "--engine", "raw")
    assert code == 0


@pytest.mark.parametrize("args, words", [
    (["--cpu-kv-gib", "nan"], "--cpu-kv-gib must be a finite number"),
    (["--disk-kv-gib", "nan"], "--disk-kv-gib must be a finite number"),
    (["--rate", "1e-300/s"], "slower than kvplan simulates"),
])
def test_fragment_refuses_non_finite_tiers_and_vanishing_rates(capsys, args, words):
    code, out, err = cli(capsys, "fragment", "llama3-8b", "--kv-pool-tokens", "64k", "--requests", "5", *args)
    assert code == 2 and words in one_line_error(err)


def test_fragment_gpu_takes_the_deployment_options_capacity_takes(capsys):
    """fragment --gpu plans its pool with the same options as `kvplan capacity` (one answer)."""
    import json

    opts = ["--gpu", "h100", "--gpu-memory-utilization", "0.5", "--weights", "fp8", "--max-model-len", "8k"]
    code, out, _ = cli(capsys, "capacity", "llama3.1-8b", *opts, "--json")
    assert code == 0
    tokens = json.loads(out)["kv_cache_tokens"]
    code, out, _ = cli(capsys, "fragment", "llama3.1-8b", *opts, "--requests", "50", "--json")
    assert code == 0
    assert json.loads(out)["pool_tokens"] == tokens
    code, out, err = cli(capsys, "fragment", "llama3.1-8b", "--kv-pool-tokens", "64k", "--engine", "sglang")
    assert code == 2 and "size the pool from --gpu" in one_line_error(err)


def test_explain_refuses_a_gpu_the_log_did_not_run_on(capsys):
    log = "tests/fixtures/startup_logs/vllm_pr10511_llama3_8b_h100.log"
    code, out, err = cli(capsys, "explain", log, "--release", "0.8.0", "--gpu", "h200")
    assert code == 2 and "the log's GPU reports 79.22 GiB" in one_line_error(err)
    code, out, _ = cli(capsys, "explain", log, "--release", "0.8.0", "--gpu", "h100")
    assert code == 0


@pytest.mark.parametrize("release", ["0.5.22", "0.5.23"])
@pytest.mark.parametrize("gpu", ["mi300x", "mi355x"])
def test_sglang_default_fraction_on_amd_names_rocminfo_not_nvidia_smi(capsys, release, gpu):
    """Review h27b L6: on ROCm SGLang sizes its default fraction from get_amdgpu_memory_capacity
    (rocminfo), not nvidia-smi (utils/common.py get_device_memory_capacity, 0.5.22 :962-963)."""
    from helpers import cli, one_line_error

    code, out, err = cli(capsys, "capacity", "llama3.1-8b", "--gpu", gpu, "--engine", f"sglang=={release}")
    assert code == 2 and out == ""
    assert one_line_error(err) == (
        f"kvplan: error: SGLang {release} picks mem_fraction_static on an AMD GPU from the memory rocminfo reports "
        f"(get_amdgpu_memory_capacity), which kvplan does not know for {gpu}; give the memory fraction "
        f"(mem_fraction_static)")
