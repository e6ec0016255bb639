"""Model Runner V2's persistent GPU buffers (rule v2_persistent_buffers, docs/findings/FINDINGS_h35_v2pers.md).

GPUModelRunner.__init__ and load_model (vllm/v1/worker/gpu/model_runner.py, 0.25.0-0.33.0) allocate request,
input and sampler state on the GPU after the weights' DeviceMemoryProfiler and before the profile: in no
term of vLLM's accounting. kvplan reports them (``persistent_bytes``) and counts them in the start-up check
with the KV memory given; they never shrink a profiled pool (0.25.x / 0.26.0: the 1 - utilization headroom).

Llama-3.1-8B: V = 128,256 (cdiv(V, 32) = 4,008 words of the bit masks), T = 8,192 (the H100 defaults), hidden
4,096 bf16; R = max_num_seqs. Each tensor rounds to 512 B (kvplan.units.allocated_bytes).
"""

from __future__ import annotations

import dataclasses
import json

import pytest

from helpers import capacity_json as _plan, cli

from kvplan.engines import get_engine
from kvplan.engines import vllm_rules as R
from kvplan.gpus import get_gpu
from kvplan.loader import load_model

V2_RELEASES = ("0.25.0", "0.25.1", "0.26.0", "0.27.0", "0.27.1", "0.28.0", "0.29.0", "0.30.0", "0.31.0", "0.32.0",
               "0.33.0")
H100 = 85_029_027_840
WEIGHTS, OTHER = 16_094_076_928, 268_435_456
ACT = {"0.26.0": 1_154_272_460, "0.29.0": 1_154_272_460, "0.33.0": 1_949_873_664}
PERSISTENT_1024 = 576_668_160


def _bytes(release: str, seqs: int | None = None, pp: int = 1, stage: int = 0) -> int:
    engine = get_engine(f"vllm=={release}")
    spec, gpu = load_model("llama3.1-8b"), get_gpu("h100")
    return engine.v2_persistent_bytes(spec, engine.settings(gpu, spec=spec, max_num_seqs=seqs, pp=pp), stage)


@pytest.mark.parametrize("release", ["0.26.0", "0.29.0", "0.33.0"])
def test_llama_1024_requests(release):
    """R = 1,024, one GPU (every stage's tensors and the last stage's):
    RequestState total_len, num_computed_tokens, next_prefill_tokens 3 x 4,096 + last_sampled_tokens 8,192
      = 20,480;
    InputBuffers input_ids 32,768 + positions 65,536 + is_padding 8,192 + query_start_loc 4 x 1,025 = 4,100 -> 4,608
      + seq_lens 4,096 + dcp_local_seq_lens 4,096 = 119,296;
    PenaltiesState prompt_bin_mask 4 x 1,024 x 4,008 = 16,416,768, output_bin_counts 4 x 1,024 x 128,256
      = 525,336,576;
    allowed_token_ids, logit_bias_token_ids, logit_bias 3 x 4 x 1,024 x 1,024 = 12,582,912, stop_token_ids
      4 x 1,024 x 128 = 524,288, bad_word_token_ids 4,194,304, bad_word_offsets 4 x 1,024 x 129 = 528,384,
      logprob token_ids 524,288: 18,354,176;
    StructuredOutputsWorker logits_indices 4,096 + grammar_bitmask 16,416,768;
    20,480 + 119,296 + 16,416,768 + 525,336,576 + 18,354,176 + 4,096 + 16,416,768 = 576,668,160."""
    assert _bytes(release) == PERSISTENT_1024 == (
        20_480 + 119_296 + 16_416_768 + 525_336_576 + 18_354_176 + 4_096 + 16_416_768)


@pytest.mark.parametrize("release", ["0.26.0", "0.29.0", "0.33.0"])
def test_llama_256_requests(release):
    """R = 256 (T stays 8,192): RequestState 3 x 1,024 + 2,048 = 5,120; InputBuffers 32,768 + 65,536 + 8,192 +
    4 x 257 = 1,028 -> 1,536 + 2 x 1,024 = 110,080; prompt_bin_mask and grammar_bitmask 4 x 256 x 4,008 =
    4,104,192 each; output_bin_counts 4 x 256 x 128,256 = 131,334,144; the tables 4 x 256 x (3 x 1,024 + 128 +
    1,024 + 129 + 128) = 4,588,544; logits_indices 1,024:
    5,120 + 110,080 + 2 x 4,104,192 + 131,334,144 + 4,588,544 + 1,024 = 144,247,296."""
    assert _bytes(release, 256) == 144_247_296 == (
        5_120 + 110_080 + 2 * 4_104_192 + 131_334_144 + 4_588_544 + 1_024)


@pytest.mark.parametrize("release", V2_RELEASES)
def test_every_v2_release(release):
    """The default buffers are the same tensors on every release with V2 planned (FINDINGS_h35_v2pers.md table);
    none before 0.25.0 (V2 not planned there)."""
    assert _bytes(release) == PERSISTENT_1024
    assert _bytes("0.24.0") == 0


def test_pipeline_stages():
    """pp 2: stage 0 keeps RequestState and InputBuffers only (20,480 + 119,296 = 139,776; no sampler); stage 1
    those, the sampler and structured-output state (576,668,160 in all) and the received hidden states and
    residual, 2 x 8,192 x 4,096 x 2 = 134,217,728 (load_model make_empty_intermediate_tensors):
    710,885,888."""
    assert _bytes("0.29.0", pp=2, stage=0) == 20_480 + 119_296 == 139_776
    assert _bytes("0.29.0", pp=2, stage=1) == PERSISTENT_1024 + 134_217_728 == 710_885_888


@pytest.mark.parametrize("release", ["0.26.0", "0.29.0", "0.33.0"])
def test_starts_flips_at_the_new_bound(capsys, release):
    """With --kv-cache-memory-bytes the start-up check is weights + activations + other + V2 persistent buffers
    + KV <= the H100's 85,029,027,840 B: 0.26.0 / 0.29.0 (activation 1,154,272,460) start up to
    85,029,027,840 - 16,094,076,928 - 1,154,272,460 - 268,435,456 - 576,668,160 = 66,935,574,836 B given,
    0.33.0 (1,949,873,664) up to 66,139,973,632; one byte more does not start (exit 1, the term named)."""
    bound = H100 - WEIGHTS - ACT[release] - OTHER - PERSISTENT_1024
    assert bound == {"0.33.0": 66_139_973_632}.get(release, 66_935_574_836)
    base = ("capacity", "llama3.1-8b", "--gpu", "h100", "--engine", f"vllm=={release}", "--json")
    got = _plan(capsys, "llama3.1-8b", "--engine", f"vllm=={release}", "--kv-cache-memory-bytes", bound)
    assert got["starts"] is True and got["persistent_bytes"] == PERSISTENT_1024
    assert got["stages"][0]["persistent_bytes"] == PERSISTENT_1024
    assert got["kv_pool_bytes"] == bound  # the given bytes: the pool is not shrunk
    code, out, err = cli(capsys, *base, "--kv-cache-memory-bytes", bound + 1)
    assert code == 1 and json.loads(out)["starts"] is False
    assert (f"other 268,435,456 B + V2 persistent buffers 576,668,160 B + KV cache {bound + 1:,} B "
            f"(--kv-cache-memory-bytes) exceed the GPU's 85,029,027,840 B") in err


def test_text_output_names_the_buffers(capsys):
    code, out, _ = cli(capsys, "capacity", "llama3.1-8b", "--gpu", "h100", "--engine", "vllm==0.33.0",
                       "--kv-cache-memory-bytes", "60000000000")
    assert code == 0
    assert "V2 persistent buffers 576,668,160 B (549.95 MiB): allocated before the profile" in out


@pytest.mark.parametrize("release", ["0.25.0", "0.26.0"])
def test_profiled_pool_unchanged(capsys, release):
    """0.25.x / 0.26.0 profile the pool (--enforce-eager: no CUDA-graph estimate): the buffers come out of the
    1 - utilization headroom, so the pool stays share - weights - activation - other = 60,709,920,769 B,
    28,948 blocks, as before the buffers were modelled."""
    got = _plan(capsys, "llama3.1-8b", "--engine", f"vllm=={release}", "--enforce-eager")
    assert got["persistent_bytes"] == PERSISTENT_1024
    assert got["kv_pool_bytes"] == got["engine_share_bytes"] - got["weights_bytes"] - got["activation_bytes"] \
        - got["other_bytes"] == 60_709_920_769
    assert got["num_blocks"] == 28_948 and got["starts"] is True


def test_v1_unchanged(capsys):
    """VLLM_USE_V2_MODEL_RUNNER=0 on 0.33.0: V1, no V2 buffers; its start-up bound stays 85,029,027,840 -
    16,094,076,928 - 2,025,938,944 (V1's activation) - 268,435,456 = 66,640,576,512 B."""
    cmd = "VLLM_USE_V2_MODEL_RUNNER=0 vllm serve meta-llama/Llama-3.1-8B --kv-cache-memory-bytes {}"
    got = _plan(capsys, "--from-vllm", cmd.format(66_640_576_512), "--engine", "vllm==0.33.0")
    assert got["starts"] is True and got["persistent_bytes"] == 0 and got["activation_bytes"] == 2_025_938_944
    code, _, err = cli(capsys, "capacity", "--gpu", "h100", "--from-vllm", cmd.format(66_640_576_513),
                       "--engine", "vllm==0.33.0")
    assert code == 1 and "V2 persistent" not in err
    engine = dataclasses.replace(get_engine("vllm==0.33.0"), use_v2_model_runner=False)
    spec = load_model("llama3.1-8b")
    assert engine.v2_persistent_bytes(spec, engine.settings(get_gpu("h100"), spec=spec), 0) == 0


def test_moe_on_v1_unchanged(capsys):
    """Qwen3-30B-A3B on 0.28.0 runs V1 (experts: rule v2_model_runner_dense): no V2 buffers, 8,902 blocks."""
    got = _plan(capsys, "qwen3-30b-a3b", "--engine", "vllm==0.28.0", "--kv-cache-memory-bytes", "14002304205")
    assert got["persistent_bytes"] == 0 and got["num_blocks"] == 8_902 and got["starts"] is True


def test_rows():
    """One row a release range; every V2 row carries the same widths (read per release, FINDINGS_h35_v2pers.md),
    none before 0.25.0."""
    rows = [r for r in R.RULES if r.name == "v2_persistent_buffers"]
    # 0.30.0 has its own row since h35-v2mm (RopeState's channels from the mrope_section: test_vllm_v2_persistent_mm.py)
    assert [r.first for r in rows] == ["0.8.0", "0.25.0", "0.26.0", "0.27.0", "0.28.0", "0.29.0", "0.30.0",
                                       "0.31.0", "0.32.0", "0.33.0"]
    assert rows[0].value is None
    assert all(r.value["widths"] == {"allowed_token_ids": 1024, "logit_bias_token_ids": 1024, "logit_bias": 1024,
                                     "stop_token_ids": 128, "bad_word_token_ids": 1024, "bad_word_offsets": 129,
                                     "logprob_token_ids": 128} for r in rows[1:])


# -- REVIEW_h35 F2: a later stage receives the model's IntermediateTensors, one [T, hidden] tensor for GPT-2 / OPT /
# Falcon (make_empty_intermediate_tensors_factory(["hidden_states"], ...)), two for Llama-style models
# (["hidden_states", "residual"]); vllm_rules.VLLM_INTERMEDIATE_TENSORS. T 8,192.
_KV = ("--kv-cache-memory-bytes", "10000000000")


@pytest.mark.parametrize(("model", "extra", "stage1", "one"), [
    # falcon-7b: hidden 4,544 bf16 -> 8,192 x 4,544 x 2 = 74,448,896 (two tensors: 450,380,288)
    ("falcon-7b", (), 375_931_392, 74_448_896),
    # opt-13b: hidden 5,120 fp16 -> 83,886,080 (two: 405,053,952)
    ("opt-13b", (), 321_167_872, 83_886_080),
    # gpt2 at --dtype fp32 (its checkpoint's): hidden 768 x 4 B -> 25,165,824 (two: 287,552,000); the 4 B also
    # kills a dtype fixed at 2 B (REVIEW_h35 F4, M27: 249,803,264)
    ("gpt2", ("--dtype", "fp32"), 262_386_176, 25_165_824),
    # llama3.1-8b: two tensors, unchanged
    ("llama3.1-8b", (), 710_885_888, 67_108_864)])
def test_v2_later_stage_receives_the_models_intermediate_tensors(capsys, model, extra, stage1, one):
    got = _plan(capsys, model, "--engine", "vllm==0.33.0", "--pp", "2", *extra, *_KV)
    first, last = got["stages"]
    assert first["persistent_bytes"] == 139_776
    assert last["persistent_bytes"] == stage1
    n = get_engine("vllm==0.33.0").intermediate_tensor_count(load_model(model))
    assert n == (2 if model == "llama3.1-8b" else 1)
    assert one == 8_192 * load_model(model).hidden_size * (4 if extra else 2)


@pytest.mark.parametrize(("model", "v1_stage1"), [
    # V1 (0.19.1) allocates the same tensors in _dummy_run during the profile: stage 1's activation peak carries
    # one [T, hidden] for Falcon / OPT / GPT-2 (was two: 1,541,092,147 / 1,736,441,856 / 836,149,008), two for Llama
    ("falcon-7b", 1_466_643_251), ("opt-13b", 1_652_555_776), ("gpt2", 823_566_096),
    ("llama3.1-8b", 2_159_104_000)])
def test_v1_later_stage_profile_holds_the_models_intermediate_tensors(capsys, model, v1_stage1):
    got = _plan(capsys, model, "--engine", "vllm==0.19.1", "--pp", "2", *_KV)
    assert got["stages"][1]["activation_bytes"] == v1_stage1


def test_pp_refused_for_an_architecture_whose_intermediate_tensors_are_unread():
    engine = get_engine("vllm==0.33.0")
    spec = dataclasses.replace(load_model("llama3.1-8b"), architecture="BloomForCausalLM")
    settings = engine.settings(get_gpu("h100"), spec=spec, pp=2)
    assert engine.v2_persistent_bytes(spec, settings, 0) == 139_776  # stage 0 receives nothing
    with pytest.raises(Exception, match="make_empty_intermediate_tensors.*--pp 1"):
        engine.v2_persistent_bytes(spec, settings, 1)


# -- REVIEW_h35 F4: vocabulary unpadded, full on every tensor-parallel rank
def test_v2_unpadded_vocabulary(capsys):
    """gpt2's V = 50,257 (not a multiple of 64): cdiv(V, 32) = 1,571 words; 139,776 + 2 x r(4 x 1,024 x 1,571)
    (6,434,816 each) + r(4 x 1,024 x 50,257) (205,852,672) + 18,354,176 + 4,096 = 237,220,352 B (V rounded to
    50,304 would give 237,421,056)."""
    got = _plan(capsys, "gpt2", "--engine", "vllm==0.33.0", *_KV)
    assert got["persistent_bytes"] == 237_220_352


def test_v2_tensor_parallel_keeps_the_whole_vocabulary(capsys):
    """Every TP rank of the last stage builds the Sampler over the whole vocabulary (model_config.get_vocab_size):
    tp 2 is the tp 1 figure, 576,668,160 B (V / 2 would give about 290 MB)."""
    got = _plan(capsys, "llama3.1-8b", "--engine", "vllm==0.33.0", "--tp", "2", *_KV)
    assert got["persistent_bytes"] == PERSISTENT_1024
    assert all(s["persistent_bytes"] == PERSISTENT_1024 for s in got["stages"])


def test_gemma3_text_model_hands_on_two_tensors(capsys):
    """Gemma3ForCausalLM (Gemma 3 1B, text only) hands on its Gemma3Model's IntermediateTensors, hidden_states and
    residual (vllm/model_executor/models/gemma3.py 0.19.1 :333-335 and :488): planned at pp 2, where a spec naming
    an architecture kvplan has not read is refused."""
    from kvplan.engines import get_engine
    from kvplan.loader import load_model

    spec = load_model("tests/fixtures/hf_configs/gemma-3-1b-it.json")
    assert spec.architecture == "Gemma3ForCausalLM"
    assert get_engine("vllm==0.19.1").intermediate_tensor_count(spec) == 2
    code, out, _ = cli(capsys, "capacity", "tests/fixtures/hf_configs/gemma-3-1b-it.json", "--gpu", "h100", "--pp", "2",
                       "--engine", "vllm==0.19.1")
    assert code == 0 and "2,170,136 blocks" in out
