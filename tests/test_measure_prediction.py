"""`kvplan measure`'s prediction is the planner's one per-layer sum (kvplan.layer_sums), not a
second summation: the same figures `kvplan size` prints, and a change to layer_sums reaches it.
Plain arithmetic: no torch, no interpreter."""

import json

import kvplan.layer_sums
from helpers import HYBRID_CACHE, cli, toy_spec
from kvplan.formats import get_format
from kvplan.loader import load_model
from kvplan.measure import paged_layers, predicted_bytes


def test_whole_model_prediction_equals_size_output(capsys):
    # Gemma-3-27B bf16, 100,000 tokens, pages of 16: 52 window layers keep 1,024 tokens
    # (paged: 65 pages incl. the one a new token spills into), 10 full layers keep all.
    spec = load_model("gemma3-27b")
    paged, read = predicted_bytes(spec, get_format("bf16"), range(spec.num_layers), 100_000, 1, 16)
    assert (paged, read) == (8_635_023_360, 8_628_207_616)
    code, out, _ = cli(capsys, "size", "gemma3-27b", "--ctx", "100000", "--kv-dtype", "bf16", "--json")
    f = json.loads(out)["formats"][0]
    assert code == 0 and (f["per_gpu_paged_bytes"], f["per_gpu_bytes"]) == (paged, read)


def test_batch_and_layer_subset():
    # Llama-3-8B fp8, layers 0-1, 2 sequences of 48 tokens: 2 x 2 x 3 pages x 16 x 8 heads x 256 B
    # (the figure tests/test_measure.py's interpreter run allocates)
    spec = load_model("llama3-8b")
    assert predicted_bytes(spec, get_format("fp8"), range(2), 48, 2, 16) == (393_216, 393_216)


def test_state_space_layers_are_left_out():
    spec = toy_spec(num_layers=8, cache=HYBRID_CACHE)
    fmt = get_format("bf16")
    kept = paged_layers(spec, range(spec.num_layers))
    assert len(kept) < spec.num_layers  # the toy has state-space (and shared) layers
    terms = kvplan.layer_sums.kind_counts(spec, kept)
    want = 3 * kvplan.layer_sums.paged_seq_bytes(terms, 500, fmt, 16)
    assert predicted_bytes(spec, fmt, range(spec.num_layers), 500, 3, 16)[0] == want > 0


def test_prediction_goes_through_layer_sums(monkeypatch):
    # A second summation in measure.py would not see this change to the one sum.
    spec = load_model("llama3-8b")
    monkeypatch.setattr(kvplan.layer_sums, "paged_seq_bytes", lambda terms, n, fmt, block, tp=1: 7)
    monkeypatch.setattr(kvplan.layer_sums, "seq_bytes", lambda terms, n, fmt, tp=1: 5)
    assert predicted_bytes(spec, get_format("bf16"), range(spec.num_layers), 1000, 3, 16) == (21, 15)
