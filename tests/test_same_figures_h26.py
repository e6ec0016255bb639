"""Every command answers the same question with the same figures (review h25-2 Q4, Q5 and two
notes): `kvplan sweep` prints the pool caveats `kvplan capacity` prints (Pool.notes); the
request_beyond_pool note has one condition (Pool.beyond_pool_note); sweep's headroom_bytes and
check's min_headroom are one figure (Pool.headroom_bytes), also for a pool without paged layers;
a deployment that does not start runs no request in capacity --json, sweep and check
(Pool.start_bound)."""

from __future__ import annotations

import json

import pytest

from helpers import cli
from kvplan.capacity import make_request, plan
from kvplan.loader import load_model

GEMMA_014 = ("vllm==0.14.0 starts with max_model_len 131,072 though one request of it needs 11,654 blocks and "
             "requests can use 8,199 (its start-up check asks for the first KV-cache group's blocks only, "
             "756,285,440 B: vllm/v1/core/kv_cache_utils.py _max_memory_usage_bytes_from_groups); one request "
             "runs up to 75,792 tokens")
BAMBA = "tests/fixtures/hf_configs/bamba-9b.json"
PREFIX_OFF = ("--enable-prefix-caching: vllm==0.11.0 turns prefix caching off for state-space models "
              "(vllm/model_executor/models/config.py MambaModelConfig.verify_and_update_config sets "
              "cache_config.enable_prefix_caching = False); the pool is planned without it")

NO_CACHE_SPEC = """\
name: no-cache
source: a model whose layers keep nothing per sequence
num_layers: 4
hidden_size: 128
num_attention_heads: 2
num_kv_heads: 2
head_dim: 64
vocab_size: 1000
intermediate_size: 256
dtype: bf16
max_position_embeddings: 4096
cache:
  kinds:
    none: {kind: no_cache}
  layer_types: [none, none, none, none]
"""


def _warnings(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("kvplan: warning: ")]


# -- Q4: sweep prints the pools' caveats as capacity does ---------------------------------------
def test_sweep_prints_capacitys_caveat_once_on_stderr_and_in_json(capsys):
    """Four points of one pool (Gemma-3-27B, H100, vLLM 0.14.0: the first-group start-up check):
    the one line capacity prints, once."""
    args = ("gemma3-27b", "--gpu", "h100", "--engine", "vllm==0.14.0", "--kv-dtype", "bf16")
    code, out, cap_err = cli(capsys, "capacity", *args)
    assert code == 1  # one request of max_model_len does not fit (it starts; the note says so)
    assert _warnings(cap_err) == [f"kvplan: warning: {GEMMA_014}"]
    code, out, err = cli(capsys, "sweep", *args, "--ctx", "8k,100k", "--batch", "1,2")
    assert code == 0
    assert _warnings(err) == _warnings(cap_err)
    assert "warning" not in out
    code, out, _ = cli(capsys, "capacity", *args, "--json")
    cap_notes = json.loads(out)["notes"]
    code, out, err = cli(capsys, "sweep", *args, "--ctx", "8k,100k", "--batch", "1,2", "--json")
    assert code == 0 and _warnings(err) == _warnings(cap_err)
    notes = json.loads(out)["notes"]
    assert [n["text"] for n in notes] == cap_notes == [GEMMA_014]
    assert notes[0]["pools"] == [{"model": "gemma3-27b", "kv_dtype": "bf16", "tp": 1, "pp": 1}]


def test_sweep_prints_the_prefix_caching_note_once_for_two_pools(capsys):
    """vLLM 0.11.0 turns prefix caching off for Bamba's state layers: a note on both formats' pools,
    one line (about every pool, so without names), the text capacity prints."""
    args = (BAMBA, "--gpu", "h100", "--max-model-len", "32768", "--engine", "vllm==0.11.0",
            "--enable-prefix-caching")
    code, _, cap_err = cli(capsys, "capacity", *args)
    assert code == 0
    cap_line = [ln for ln in _warnings(cap_err) if PREFIX_OFF in ln]
    assert cap_line == [f"kvplan: warning: {PREFIX_OFF}"]
    code, out, err = cli(capsys, "sweep", *args, "--ctx", "8k", "--batch", "1,4", "--kv-dtype", "auto,fp8")
    assert code == 0
    assert [ln for ln in _warnings(err) if PREFIX_OFF in ln] == cap_line
    assert _warnings(err) == _warnings(cap_err)  # and the spec's assumption (no torch_dtype) before it, as there
    code, out, _ = cli(capsys, "sweep", *args, "--ctx", "8k", "--kv-dtype", "auto,fp8", "--json")
    (note,) = json.loads(out)["notes"]
    assert note["text"] == PREFIX_OFF
    assert [p["kv_dtype"] for p in note["pools"]] == ["bf16", "fp8_e4m3"]


def test_sweep_warns_what_a_spec_assumed_as_size_and_capacity_do(capsys):
    """Bamba's config names no dtype: the one line size and capacity print, once per model."""
    code, _, size_err = cli(capsys, "size", BAMBA, "--ctx", "8k")
    assumed = [ln for ln in _warnings(size_err) if "bamba-9b: assumed: " in ln]
    assert code == 0 and len(assumed) == 1
    code, _, err = cli(capsys, "sweep", BAMBA, "--ctx", "8k,32k", "--kv-dtype", "auto,fp8")
    assert code == 0 and _warnings(err) == assumed
    code, _, cap_err = cli(capsys, "capacity", BAMBA, "--gpu", "h100", "--max-model-len", "32768")
    assert [ln for ln in _warnings(cap_err) if "assumed" in ln] == assumed


def test_size_on_a_gpu_prints_capacitys_caveat(capsys):
    """`kvplan size --gpu` plans a pool per format: the caveat once, as capacity prints it; led by
    the format where the other formats' pools do not have it (Gemma-3's fp8 pools start within
    it), and per format in --json."""
    code, _, err = cli(capsys, "size", "gemma3-27b", "--gpu", "h100", "--engine", "vllm==0.14.0", "--ctx", "8k",
                       "--kv-dtype", "bf16")
    assert code == 0 and _warnings(err) == [f"kvplan: warning: {GEMMA_014}"]
    code, out, err = cli(capsys, "size", "gemma3-27b", "--gpu", "h100", "--engine", "vllm==0.14.0", "--ctx", "8k",
                         "--kv-dtype", "bf16,fp8", "--json")
    assert code == 0 and _warnings(err) == [f"kvplan: warning: KV bf16: {GEMMA_014}"]
    assert {f["kv_dtype"]: f["on_gpu"]["notes"] for f in json.loads(out)["formats"]} == {
        "bf16": [GEMMA_014], "fp8_e4m3": []}


def test_a_caveat_about_some_pools_names_them(capsys, tmp_path):
    code, out, err = cli(capsys, "sweep", "gemma3-27b,llama3.1-8b", "--gpu", "h100", "--engine", "vllm==0.14.0",
                         "--ctx", "8k", "--kv-dtype", "bf16", "--csv", tmp_path / "grid.csv")
    assert code == 0
    assert _warnings(err) == [f"kvplan: warning: gemma3-27b bf16: {GEMMA_014}"]


def test_sweep_without_caveats_prints_none(capsys):
    code, _, cap_err = cli(capsys, "capacity", "llama3.1-8b", "--gpu", "h100")
    assert code == 0 and _warnings(cap_err) == []
    code, out, err = cli(capsys, "sweep", "llama3.1-8b", "--gpu", "h100", "--ctx", "8k", "--kv-dtype", "bf16",
                         "--json")
    assert code == 0 and _warnings(err) == [] and json.loads(out)["notes"] == []
    code, out, err = cli(capsys, "sweep", "llama3.1-8b", "--ctx", "8k", "--json")  # no GPU: no pool, no notes
    assert code == 0 and json.loads(out)["notes"] == []


# -- Q5: one condition for the note on a request beyond the pool ----------------------------------
def test_beyond_pool_note_is_one_condition_for_serves_and_check(capsys, tmp_path):
    """Gemma-3-27B on an H100 under 0.14.0: a request of 8k fits (""), one of 100k needs more than
    the 8,199 usable blocks and gets the release's note, in capacity's verdict and in check's
    min_concurrency message alike; two of 50k (each alone within the pool) get none."""
    pool = plan(make_request(load_model("gemma3-27b"), "h100", engine="vllm==0.14.0"))
    assert pool.usable_blocks == 8199
    assert pool.blocks_per_request(8192) <= 8199 and pool.beyond_pool_note(8192) == ""
    assert pool.blocks_per_request(100_000) > 8199
    note = pool.beyond_pool_note(100_000)
    assert note == pool.pages.request_beyond_pool_note(131_072)
    assert note.startswith("; vllm==0.14.0 does not refuse it (it is within max_model_len 131,072)")
    # two requests of 50k need more blocks than the pool, but each alone fits: no note
    assert pool.blocks_per_request(50_000) <= 8199 and not pool.serves(50_000, 2)
    assert not pool.serves(50_000, 2).reason.endswith(note) and pool.beyond_pool_note(50_000) == ""
    assert pool.serves(100_000, 1).reason.endswith(note)
    plan_file = tmp_path / "plan.yaml"
    plan_file.write_text(json.dumps({"deployments": [{
        "name": "g", "model": "gemma3-27b", "gpu": "h100", "engine": "vllm==0.14.0",
        "requires": {"max_model_len_fits": False, "min_concurrency": [{"ctx": 100_000, "requests": 1}]}}]}))
    code, out, _ = cli(capsys, "check", str(plan_file), "--json")
    assert code == 1
    (r,) = [r for r in json.loads(out)["deployments"][0]["requirements"] if r["requirement"].startswith("min_conc")]
    assert r["message"].endswith(note) and not r["passed"]


def test_vllm_0_19_has_no_beyond_pool_note():
    """Where kvplan has not read the release's scheduler for it (rule request_beyond_pool, 0.19.1),
    a request beyond the pool gets no note: Llama-3.1-8B's 131,072 tokens on an L4."""
    pool = plan(make_request(load_model("llama3.1-8b"), "l4", engine="vllm==0.19.1"))
    assert pool.blocks_per_request(131_072) > pool.usable_blocks
    assert pool.beyond_pool_note(131_072) == ""


# -- headroom: one figure for sweep and check ------------------------------------------------------
@pytest.mark.parametrize(("model", "engine", "max_model_len", "ctx", "batch", "headroom"), [
    # 27,721 usable blocks less 4 x 512 = 25,673 blocks x 2,097,152 B
    ("llama3.1-8b", "vllm", 8192, 8192, 4, 53_840_183_296),
    # no paged layers: no blocks, 0 B, whatever the KV pool (vLLM allocates no KV tensor for it)
    ("no-cache.yaml", "vllm", 4096, 2048, 4, 0),
    # raw caps no request count: its count of such a model's requests is refused without --max-num-seqs
    # (tests/test_cacheless_model.py), so the sweep and the plan give one
    ("no-cache.yaml", "raw", 4096, 2048, 4, 0),
])
def test_sweep_headroom_is_checks_min_headroom(capsys, tmp_path, monkeypatch, model, engine, max_model_len, ctx,
                                               batch, headroom):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "no-cache.yaml").write_text(NO_CACHE_SPEC)
    seqs = {"max_num_seqs": 64} if engine == "raw" else {}
    pool = plan(make_request(load_model(model), "h100", engine=engine, max_model_len=max_model_len, **seqs))
    assert pool.headroom_bytes(ctx, batch) == headroom
    code, out, _ = cli(capsys, "sweep", model, "--gpu", "h100", "--engine", engine, "--max-model-len", max_model_len,
                       "--ctx", ctx, "--batch", batch, "--kv-dtype", "auto", "--json",
                       *(("--max-num-seqs", 64) if seqs else ()))
    assert code == 0
    (p,) = json.loads(out)["points"]
    assert p["headroom_bytes"] == headroom and p["fits"]
    if model == "no-cache.yaml":
        assert not pool.paged and p["kv_pool_bytes"] == pool.kv_pool_bytes > 0  # the pool's bytes are not headroom
    (tmp_path / "plan.yaml").write_text(json.dumps({"deployments": [{
        "name": "d", "model": model, "gpu": "h100", "engine": engine, "max_model_len": max_model_len, **seqs,
        "requires": {"min_concurrency": [{"ctx": ctx, "requests": batch}], "min_headroom": 1}}]}))
    code, out, _ = cli(capsys, "check", "plan.yaml", "--json")
    (r,) = [r for r in json.loads(out)["deployments"][0]["requirements"] if r["requirement"] == "min_headroom"]
    assert r["measured"] == headroom and r["passed"] == (headroom >= 1)
    assert code == (0 if headroom >= 1 else 1)


# -- a deployment that does not start runs no request --------------------------------------------------
def test_capacity_json_counts_no_request_where_vllm_does_not_start(capsys, tmp_path):
    """Llama-3.1-8B on an L4 at its own max_model_len 131,072: vLLM refuses to start (a pool of
    35,376 tokens). The memory alone holds 8 requests of 4k (8.64x), but none runs."""
    pool = plan(make_request(load_model("llama3.1-8b"), "l4"))
    assert not pool.startup() and pool.start_bound() == "max_model_len"
    assert pool.memory_requests(4096) == 8 and pool.memory_longest_context(8) > 0  # what was reported before
    assert pool.max_requests(4096) == 0 and pool.longest_context(8) == 0
    code, out, _ = cli(capsys, "capacity", "llama3.1-8b", "--gpu", "l4", "--ctx", "4096", "--batch", "8", "--json")
    assert code == 1
    d = json.loads(out)
    assert {k: d[k] for k in ("starts", "fits", "max_requests", "deployment_max_requests", "requests_at_ctx",
                              "max_context_at_batch", "concurrency_bound", "concurrency_at_ctx")} == {
        "starts": False, "fits": False, "max_requests": 0, "deployment_max_requests": 0, "requests_at_ctx": 0,
        "max_context_at_batch": 0, "concurrency_bound": "max_model_len", "concurrency_at_ctx": 8.64}
    assert d["reasons"][0].startswith("vllm==0.19.1 refuses to start: one request of max_model_len 131,072")
    code, out, _ = cli(capsys, "capacity", "llama3.1-8b", "--gpu", "l4", "--ctx", "4096", "--batch", "8")
    assert code == 1
    assert ("one replica (1 GPU): requests of 4k (--ctx) at once: 0 (the deployment does not start; memory alone: "
            "8.64x, 256 blocks each)") in out
    assert "one replica (1 GPU): 8 concurrent requests cannot run: the deployment does not start" in out
    # sweep and check: the same 0
    code, out, _ = cli(capsys, "sweep", "llama3.1-8b", "--gpu", "l4", "--ctx", "4096", "--batch", "8", "--kv-dtype",
                       "auto", "--json")
    (p,) = json.loads(out)["points"]
    assert (p["max_requests"], p["fits"], p["limit"]) == (0, False, "max_model_len")
    (tmp_path / "plan.yaml").write_text(json.dumps({"deployments": [{
        "name": "d", "model": "llama3.1-8b", "gpu": "l4",
        "requires": {"max_model_len_fits": False, "min_concurrency": [{"ctx": 4096, "requests": 8}]}}]}))
    code, out, _ = cli(capsys, "check", str(tmp_path / "plan.yaml"), "--json")
    starts, conc = json.loads(out)["deployments"][0]["requirements"]
    assert (starts["passed"], conc["passed"], conc["measured"]) == (False, False, 0)
    assert conc["message"] == starts["message"]


def test_capacity_json_counts_no_request_where_the_weights_leave_no_pool(capsys):
    code, out, _ = cli(capsys, "capacity", "llama3-70b", "--gpu", "h100", "--ctx", "8k", "--batch", "4", "--json")
    assert code == 1
    d = json.loads(out)
    assert (d["starts"], d["max_requests"], d["requests_at_ctx"], d["max_context_at_batch"],
            d["concurrency_bound"]) == (False, 0, 0, 0, "weights")
    code, out, _ = cli(capsys, "sweep", "llama3-70b", "--gpu", "h100", "--ctx", "8k", "--batch", "4", "--kv-dtype",
                       "auto", "--json")
    (p,) = json.loads(out)["points"]
    assert (p["max_requests"], p["limit"]) == (0, "weights")


def test_suggestions_still_read_the_memory_where_vllm_does_not_start():
    """_suggest asks the memory (memory_longest_context) for the max_model_len that would start."""
    from kvplan.capacity import summarize

    cap = summarize(plan(make_request(load_model("llama3.1-8b"), "l4")))
    assert cap.suggestions[0] == "max_model_len 35,360 (--max-model-len 35360)"  # as before start_bound


def test_speed_title_of_a_deployment_that_does_not_start(capsys):
    """speed times such a deployment as if it started (it warns); its title says it holds no
    request, as capacity does, and gives the memory's own count beside it."""
    code, out, err = cli(capsys, "speed", "llama3.1-8b", "--gpu", "l4", "--ctx", "4096", "--users", "1")
    assert code == 0
    title = " ".join(out.split())
    assert "the pool holds 0 requests of 4k (it does not start; its memory alone: 8)" in title
    assert "refuses to start" in err


def test_speed_without_a_pool_does_not_ask_for_max_model_len(capsys):
    """Review h26 F5: where the weights leave no pool no row is timed, so speed says the deployment
    does not run, without 'the figures assume it did (give --max-model-len)'."""
    code, out, err = cli(capsys, "speed", "llama3-70b", "--gpu", "h100", "--ctx", "4096", "--users", "1")
    assert code == 0
    assert "this deployment does not run (no memory left for the KV cache" in err
    assert "assume it did" not in err and "--max-model-len" not in err
    assert "the pool holds 0 requests of 4k (it does not start)" in " ".join(out.split())


def test_scoped_notes_lead_a_partial_caveat_with_its_pools():
    """The one rule size and sweep print pool caveats by (kvplan.cli.common.scoped_notes): a caveat
    about every pool as it is, else led by its pools' labels, past ``limit`` with how many more."""
    from kvplan.cli.common import scoped_notes

    about = {"all": ["a", "b", "c", "d", "e"], "some": ["a", "b"], "most": ["a", "b", "c", "d"]}
    assert scoped_notes(about, 5, prefix="KV ") == ["all", "KV a, b: some", "KV a, b, c, d: most"]
    assert scoped_notes(about, 5, sep="; ", limit=3) == [
        "all", "a; b: some", "a; b; c and 1 more pools (--json lists them): most"]
