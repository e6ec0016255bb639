"""Model Runner V2's multimodal and reasoning buffers (rule v2_persistent_buffers, docs/findings/FINDINGS_h35_v2pers.md
"Multimodal and reasoning buffers (h35 v2mm)").

On every V2 release kvplan plans (0.25.0-0.33.0) load_model's init_model_state builds DefaultModelState after the
weights' DeviceMemoryProfiler and before the profile: for an architecture vLLM serves multimodal (the default
--limit-mm-per-prompt; kvplan refuses the flag) its EncoderRunner keeps inputs_embeds, [T, inputs_embeds_size] in
the model dtype, on the first stage (vllm/v1/worker/gpu/mm/encoder_runner.py, 0.25.0 :31, 0.33.0 :58); a config
with an M-RoPE section keeps RopeState.positions, int64 [num_dims, T + 1], on every stage (mm/rope.py, 0.25.0 :55,
0.33.0 :52; num_dims 3 up to 0.29.0, max(section entries, 3) from 0.30.0). --reasoning-parser puts
ThinkingBudgetState on the GPU from 0.28.0 (sample/thinking_budget.py), whose token-id tensors follow the
tokenizer: refused there.

H100 defaults: T = max_num_batched_tokens 8,192, R = max_num_seqs 1,024; bf16 (2 B); every tensor rounds to
512 B (kvplan.units.allocated_bytes). The text buffers (test_vllm_v2_persistent.py): RequestState 20,480,
InputBuffers 119,296, the sampler tables 18,354,176, logits_indices 4,096, and by the vocabulary V the two bit
masks 4 x R x cdiv(V, 32) and output_bin_counts 4 x R x V.
"""

from __future__ import annotations

import dataclasses
import json

import pytest

from helpers import capacity_json as _plan, cli, hf_fixture, one_line_error

from kvplan.engines import get_engine
from kvplan.engines import vllm_rules as R
from kvplan.errors import BadInputError
from kvplan.gpus import get_gpu
from kvplan.loader import load_model

H = "tests/fixtures/hf_configs/"
#: Qwen3-VL-8B-Instruct's text_config rope_scaling (as tests/test_sglang_0_5_19.py writes it; the fixture leaves it out)
MROPE = {"mrope_interleaved": True, "mrope_section": [24, 20, 20], "rope_type": "default"}

#: Gemma 3 (V 262,208: cdiv = 8,194): 20,480 + 119,296 + 2 x 33,562,624 + 1,074,003,968 + 18,354,176 + 4,096
GEMMA_TEXT = 1_159_627_264
#: Qwen3-VL-8B (V 151,936: cdiv = 4,748): 20,480 + 119,296 + 2 x 19,447,808 + 622,329,856 + 18,354,176 + 4,096
QWEN_VL_TEXT = 679_723_520
LLAMA_TEXT = 576_668_160


def _spec(ref: str, tmp_path=None, text_over: dict | None = None):
    if text_over is None:
        return load_model(ref)
    config = hf_fixture(ref)
    config["text_config"].update(text_over)
    path = tmp_path / f"{ref}.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    return load_model(str(path))


def _bytes(release: str, spec, pp: int = 1, stage: int = 0, engine=None) -> int:
    engine = engine or get_engine(f"vllm=={release}")
    return engine.v2_persistent_bytes(spec, engine.settings(get_gpu("h100"), spec=spec, pp=pp), stage)


def _qwen_vl(tmp_path, section=None):
    return _spec("qwen3-vl-8b-instruct", tmp_path, {"rope_scaling": {**MROPE, "mrope_section": section or
                                                                     MROPE["mrope_section"]}})


@pytest.mark.parametrize("release", ["0.26.0", "0.29.0", "0.33.0"])
def test_gemma3_27b_inputs_embeds(release):
    """Gemma3ForConditionalGeneration (multimodal, no M-RoPE): the text buffers 1,159,627,264 (4 x 1,024 x 262,208 =
    1,074,003,968 for output_bin_counts, 4 x 1,024 x 8,194 = 33,562,624 for each bit mask) plus
    EncoderRunner.inputs_embeds 8,192 x 5,376 (hidden_size: the text config gives no word_embed_proj_dim,
    projection_dim or projection_size) x 2 = 88,080,384: 1,247,707,648 B (1,159,627,264 before h35-v2mm)."""
    assert _bytes(release, load_model("gemma3-27b")) == GEMMA_TEXT + 8_192 * 5_376 * 2 == 1_247_707_648


@pytest.mark.parametrize("release", ["0.26.0", "0.29.0", "0.33.0"])
def test_gemma3_4b_config(release):
    """gemma-3-4b-it's config.json (hidden 2,560): 1,159,627,264 + 8,192 x 2,560 x 2 = 41,943,040 = 1,201,570,304."""
    assert _bytes(release, load_model(H + "gemma-3-4b-it.json")) == GEMMA_TEXT + 41_943_040 == 1_201_570_304


@pytest.mark.parametrize("release", ["0.26.0", "0.29.0", "0.33.0"])
def test_qwen3_vl_8b_inputs_embeds_and_rope_state(tmp_path, release):
    """Qwen3VLForConditionalGeneration with its rope_scaling mrope_section [24, 20, 20]: the text buffers
    679,723,520 (4 x 1,024 x 151,936 = 622,329,856; 4 x 1,024 x 4,748 = 19,447,808 each mask), inputs_embeds
    8,192 x 4,096 x 2 = 67,108,864, RopeState.positions 8 x 3 x 8,193 = 196,632 -> 197,120 (3 channels on every
    release: max(3 entries, 3) from 0.30.0): 747,029,504 B."""
    spec = _qwen_vl(tmp_path)
    assert spec.mrope_section_entries == 3
    assert _bytes(release, spec) == QWEN_VL_TEXT + 67_108_864 + 197_120 == 747_029_504


def test_qwen3_vl_fixture_without_a_section_keeps_no_rope_state():
    """The fixture's text_config has no rope_scaling: vLLM's uses_mrope is False, no RopeState; inputs_embeds
    still (multimodal architecture): 679,723,520 + 67,108,864 = 746,832,384 B."""
    spec = load_model(H + "qwen3-vl-8b-instruct.json")
    assert spec.mrope_section_entries == 0
    assert _bytes("0.33.0", spec) == QWEN_VL_TEXT + 67_108_864 == 746_832_384


@pytest.mark.parametrize("release, dims", [("0.29.0", 3), ("0.30.0", 4), ("0.33.0", 4)])
def test_rope_channels_follow_the_section_from_0_30_0(tmp_path, release, dims):
    """A four-entry mrope_section: 0.29.0's get_rope_state makes RopeState(num_dims=3) (mm/rope.py :146), 0.30.0+
    model_config.mrope_num_dims = max(len(section), 3) = 4 (transformers_utils/config.py 0.30.0 :648-664):
    8 x 3 x 8,193 = 196,632 -> 197,120 or 8 x 4 x 8,193 = 262,176 -> 262,656 B."""
    spec = _qwen_vl(tmp_path, [16, 16, 16, 16])
    rope = {3: 197_120, 4: 262_656}[dims]
    assert _bytes(release, spec) == QWEN_VL_TEXT + 67_108_864 + rope


def test_llava_inputs_embeds():
    """LlavaForConditionalGeneration (llava-1.5-7b: V 32,064, hidden 4,096): 20,480 + 119,296 + 2 x 4,104,192 +
    131,334,144 + 18,354,176 + 4,096 = 158,040,576, plus 8,192 x 4,096 x 2 = 67,108,864: 225,149,440 B."""
    assert _bytes("0.33.0", load_model(H + "llava-1.5-7b.json")) == 158_040_576 + 67_108_864 == 225_149_440


@pytest.mark.parametrize("release", ["0.26.0", "0.29.0", "0.33.0"])
def test_text_only_unchanged(release):
    """A text-only architecture keeps 576,668,160 B (Llama-3.1-8B, test_vllm_v2_persistent.py)."""
    assert _bytes(release, load_model("llama3.1-8b")) == LLAMA_TEXT


def test_pipeline_stages(tmp_path):
    """pp 2: inputs_embeds on stage 0 only (the EncoderCache is the first stage's: model_runner.py 0.29.0 :251-252),
    RopeState on both (DefaultModelState on every stage). Gemma-3-27B: stage 0 139,776 + 88,080,384 = 88,220,160;
    stage 1 1,159,627,264 + 2 x 8,192 x 5,376 x 2 = 176,160,768 (received tensors) = 1,335,788,032. Qwen3-VL-8B:
    stage 0 139,776 + 67,108,864 + 197,120 = 67,445,760; stage 1 679,723,520 + 134,217,728 + 197,120 =
    814,138,368."""
    gemma, qwen = load_model("gemma3-27b"), _qwen_vl(tmp_path)
    assert _bytes("0.29.0", gemma, pp=2, stage=0) == 139_776 + 88_080_384 == 88_220_160
    assert _bytes("0.29.0", gemma, pp=2, stage=1) == GEMMA_TEXT + 176_160_768 == 1_335_788_032
    assert _bytes("0.29.0", qwen, pp=2, stage=0) == 139_776 + 67_108_864 + 197_120 == 67_445_760
    assert _bytes("0.29.0", qwen, pp=2, stage=1) == QWEN_VL_TEXT + 134_217_728 + 197_120 == 814_138_368


@pytest.mark.parametrize("release, bound", [("0.29.0", 73_570_548_512), ("0.33.0", 70_506_693_920)])
def test_gemma3_4b_starts_flips_at_the_new_bound(capsys, release, bound):
    """gemma-3-4b on an H100 with --kv-cache-memory-bytes: starts while weights 9,204,138,720 + activation
    (784,334,848 on 0.29.0, 3,848,189,440 on 0.33.0) + other 268,435,456 + V2 persistent buffers 1,201,570,304 +
    KV <= 85,029,027,840: up to 73,570,548,512 / 70,506,693,920 B (41,943,040 B less than before h35-v2mm);
    one byte more is exit 1, the buffers named."""
    got = _plan(capsys, "gemma3-4b", "--engine", f"vllm=={release}", "--kv-cache-memory-bytes", bound)
    assert got["starts"] is True and got["persistent_bytes"] == 1_201_570_304
    assert bound == (got["gpu_memory_bytes"] - got["weights_bytes"] - got["activation_bytes"] - got["other_bytes"]
                     - 1_201_570_304)
    code, out, err = cli(capsys, "capacity", "gemma3-4b", "--gpu", "h100", "--engine", f"vllm=={release}",
                         "--kv-cache-memory-bytes", bound + 1, "--json")
    assert code == 1 and json.loads(out)["starts"] is False
    assert f"V2 persistent buffers 1,201,570,304 B + KV cache {bound + 1:,} B (--kv-cache-memory-bytes)" in err


def test_v1_keeps_none(capsys):
    """VLLM_USE_V2_MODEL_RUNNER=0: V1, none of these buffers."""
    engine = dataclasses.replace(get_engine("vllm==0.33.0"), use_v2_model_runner=False)
    assert _bytes("0.33.0", load_model("gemma3-27b"), engine=engine) == 0


def test_inputs_embeds_width_by_release():
    """get_inputs_embeds_size tries word_embed_proj_dim from 0.33.0 only (config/model.py 0.33.0 :1635-1642;
    0.32.0 :1622-1629 projection_dim, projection_size): a text config's word_embed_proj_dim 1,024 sizes
    inputs_embeds 8,192 x 1,024 x 2 = 16,777,216 on 0.33.0, hidden_size 5,376 (88,080,384) on 0.32.0;
    projection_size 2,048 (33,554,432) on both."""
    gemma = load_model("gemma3-27b")
    word = dataclasses.replace(gemma, embed_projection=(("word_embed_proj_dim", 1_024),))
    both = dataclasses.replace(gemma, embed_projection=(("projection_size", 2_048), ("word_embed_proj_dim", 1_024)))
    proj = dataclasses.replace(gemma, embed_projection=(("projection_size", 2_048),))
    assert _bytes("0.33.0", word) == GEMMA_TEXT + 16_777_216
    assert _bytes("0.32.0", word) == GEMMA_TEXT + 88_080_384
    assert _bytes("0.33.0", both) == GEMMA_TEXT + 16_777_216  # word_embed_proj_dim first
    assert _bytes("0.32.0", proj) == _bytes("0.33.0", proj) == GEMMA_TEXT + 33_554_432


def test_reader_records_the_projection_keys(tmp_path, capsys):
    """The text config's word_embed_proj_dim reaches the spec (it blocks weight figures without a checkpoint, as
    before); projection_dim and projection_size stay refused on read (no multimodal model kvplan reads has them),
    so inputs_embeds_size is hidden_size for every config kvplan plans without a checkpoint."""
    assert _spec("gemma-3-4b-it", tmp_path, {"word_embed_proj_dim": 1_000}).embed_projection == (
        ("word_embed_proj_dim", 1_000),)
    assert load_model(H + "gemma-3-4b-it.json").embed_projection == ()
    for key in ("projection_dim", "projection_size"):
        config = hf_fixture("gemma-3-4b-it")
        config["text_config"][key] = 1_000
        path = tmp_path / f"{key}.json"
        path.write_text(json.dumps(config), encoding="utf-8")
        code, _, err = cli(capsys, "capacity", path, "--gpu", "h100", "--engine", "vllm==0.33.0")
        assert code == 2 and f"text_config.{key} is a field kvplan does not read" in one_line_error(err)


def test_mrope_section_on_an_architecture_without_m_rope_is_refused(tmp_path, capsys):
    """get_rope_state asserts isinstance(model, SupportsMRoPE) when the config names an mrope_section (mm/rope.py
    0.33.0 :122-141): Gemma 3 does not implement it, so V2 stops there: one line, exit 2."""
    config = hf_fixture("gemma-3-4b-it")
    config["text_config"]["rope_scaling"] = {"rope_type": "linear", "factor": 8.0, "mrope_section": [16, 24, 24]}
    path = tmp_path / "gemma-mrope.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    code, _, err = cli(capsys, "capacity", path, "--gpu", "h100", "--engine", "vllm==0.33.0",
                       "--kv-cache-memory-bytes", "10000000000")
    assert code == 2
    assert "names an M-RoPE section (rope mrope_section), but Gemma3ForConditionalGeneration is not one of " \
           "vLLM's M-RoPE models" in one_line_error(err)


def test_vision_tower_without_an_architecture_is_refused():
    spec = dataclasses.replace(load_model("gemma3-27b"), architecture="")
    with pytest.raises(BadInputError, match="names no architecture but has a vision tower"):
        _bytes("0.33.0", spec)


CMD = "vllm serve meta-llama/Llama-3.1-8B-Instruct --reasoning-parser deepseek_r1 --kv-cache-memory-bytes 20000000000"


@pytest.mark.parametrize("release", ["0.28.0", "0.29.0", "0.33.0"])
def test_reasoning_parser_refused_on_v2_from_0_28_0(capsys, release):
    """ThinkingBudgetState (sample/thinking_budget.py 0.28.0 :21-79): three int32 [R] tensors and the markers'
    token ids, as many as the tokenizer makes: not sized, so refused with one line (exit 2)."""
    code, _, err = cli(capsys, "capacity", "--gpu", "h100", "--engine", f"vllm=={release}", "--from-vllm", CMD)
    assert code == 2
    line = [ln for ln in err.splitlines() if "error" in ln]
    assert len(line) == 1 and "--reasoning-parser deepseek_r1" in line[0] and "ThinkingBudgetState" in line[0]
    assert "Traceback" not in err


def test_reasoning_parser_planned_before_0_28_0_and_on_v1(capsys):
    """0.27.0's V2 has no thinking-budget state, V1's (VLLM_USE_V2_MODEL_RUNNER=0) keeps Python state only: the same
    plan as without the flag, with a note."""
    plain = CMD.replace(" --reasoning-parser deepseek_r1", "")
    for engine, prefix in (("vllm==0.27.0", ""), ("vllm==0.33.0", "VLLM_USE_V2_MODEL_RUNNER=0 ")):
        code, out, err = cli(capsys, "capacity", "--gpu", "h100", "--engine", engine, "--from-vllm", prefix + CMD,
                             "--json")
        assert code == 0 and "--reasoning-parser: kept for vLLM 0.28.0+ Model Runner V2" in err
        assert json.loads(out) == _plan(capsys, "--engine", engine, "--from-vllm", prefix + plain)


def test_reasoning_parser_in_an_llm_call(capsys):
    call = "LLM('meta-llama/Llama-3.1-8B-Instruct', reasoning_parser='qwen3', kv_cache_memory_bytes=20_000_000_000)"
    code, _, err = cli(capsys, "capacity", "--gpu", "h100", "--engine", "vllm==0.33.0", "--from-vllm", call)
    assert code == 2 and "--reasoning-parser qwen3" in err


def test_rows():
    """The multimodal fields of each V2 row: the same six multimodal and two M-RoPE architectures everywhere;
    word_embed_proj_dim read from 0.33.0; the section sizes RopeState from 0.30.0; ThinkingBudgetState from 0.28.0."""
    rows = {r.first: r.value for r in R.RULES if r.name == "v2_persistent_buffers" and r.value is not None}
    assert list(rows) == ["0.25.0", "0.26.0", "0.27.0", "0.28.0", "0.29.0", "0.30.0", "0.31.0", "0.32.0", "0.33.0"]
    for first, value in rows.items():
        assert value["multimodal_architectures"] == (
            "Gemma3ForConditionalGeneration", "KimiVLForConditionalGeneration", "Llama4ForConditionalGeneration",
            "LlavaForConditionalGeneration", "Qwen3VLForConditionalGeneration", "Qwen3VLMoeForConditionalGeneration")
        assert value["mrope_architectures"] == ("Qwen3VLForConditionalGeneration", "Qwen3VLMoeForConditionalGeneration")
        assert value["inputs_embeds_keys"] == (("word_embed_proj_dim",) if first == "0.33.0" else ()) + (
            "projection_dim", "projection_size")
        assert value["mrope_dims_from_section"] is (first >= "0.30.0")
        assert value["thinking_budget"] is (first >= "0.28.0")
