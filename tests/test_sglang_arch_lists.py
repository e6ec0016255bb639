"""SGLang architecture-list rule rows against the wheels' own lists (h33-swa22).

Every expected name below is copied by hand from the SGLang wheel's source (the file and lines
named beside it), not from kvplan: a row that loses one of them, or gains one the source does
not have, fails here.
"""

from __future__ import annotations

import pytest

from helpers import cli, one_line_error
from kvplan.engines import get_engine
from kvplan.engines.sglang import BOOK

# configs/model_config.py is_hybrid_swa_model: 0.5.22 lines 2536-2577 (SWA_SINK_ARCHS lines 87-95,
# MIMO_V2_MODEL_ARCHS lines 73-76 expanded); 0.5.23 lines 2651-2697, the same and BeamForCausalLM.
HYBRID_SWA_0_5_22 = {
    "Llama4ForConditionalGeneration", "DeepseekV4ForCausalLM", "DeepseekV4ForCausalLMNextN",
    "DeepseekV4ForCausalLMDSpark", "GptOssForCausalLM", "GraniteSWAForCausalLM", "GraniteMoeSWAForCausalLM",
    "IQuestQ1ForCausalLM", "IQuestQ1MTP", "MiMoV2ForCausalLM", "MiMoV2FlashForCausalLM", "MiMoV2MTP",
    "Step3p5ForCausalLM", "Step3p5MTP", "Step3p7ForConditionalGeneration", "Gemma4ForCausalLM",
    "Gemma4ForConditionalGeneration", "EmbeddingGemma2Model", "Gemma4UnifiedForConditionalGeneration",
    "DiffusionGemmaForBlockDiffusion", "LagunaForCausalLM", "MellumForCausalLM", "MuseGlimmerForCausalLM",
    "MuseGlimmerForConditionalGeneration", "InklingForConditionalGeneration", "InklingForConditionalGenerationMTP",
    "UnlimitedOCRForCausalLM",
}
HYBRID_SWA_0_5_23 = HYBRID_SWA_0_5_22 | {"BeamForCausalLM"}

# The names 0.5.22's and 0.5.23's swa_pool_archs rows had lost (findings FINDINGS_h33_swa22.md).
SWA_POOL_RESTORED = ("DeepseekV4ForCausalLM", "DeepseekV4ForCausalLMNextN", "DeepseekV4ForCausalLMDSpark",
                     "Step3p5MTP", "Step3p7ForConditionalGeneration", "Gemma4UnifiedForConditionalGeneration",
                     "InklingForConditionalGenerationMTP")

# Modules that still pass a window in 0.5.22 and 0.5.23 (models/cohere2_vision.py line 145: Cohere2MoeForCausalLM;
# step3p7.py line 70: Step3p5ForCausalLM; gemma4_unified.py line 186: Gemma4TextModel; dflash.py DFlashDraftModel
# sliding_window_size= (0.5.22 line 309, 0.5.23 line 330); unlimited_ocr.py get_attention_sliding_window_size lines
# 96-98; inkling.py InklingMTPLayer local_extent, inkling_common/attn.py line 408).
SLIDING_RESTORED = ("Cohere2VisionForConditionalGeneration", "Step3p7ForConditionalGeneration",
                    "Gemma4UnifiedForConditionalGeneration", "DFlashDraftModel", "UnlimitedOCRForCausalLM",
                    "InklingForConditionalGenerationMTP")

# arg_groups/overrides.py _FLASHINFER_ALLREDUCE_FUSION_ARCHS, 0.5.18 lines 1959-1979 and 0.5.19 lines 944-964 (the
# same 17; no InternS2MobiusForConditionalGeneration).
FUSION_0_5_18 = {
    "DeepseekV3ForCausalLM", "DeepseekV32ForCausalLM", "DeepseekV4ForCausalLM", "GptOssForCausalLM",
    "GlmMoeDsaForCausalLM", "Glm4MoeForCausalLM", "Glm4MoeLiteForCausalLM", "MistralLarge3ForCausalLM",
    "Qwen3MoeForCausalLM", "Qwen3VLMoeForConditionalGeneration", "Qwen3NextForCausalLM",
    "KimiK25ForConditionalGeneration", "Qwen3_5MoeForConditionalGeneration", "InternS2PreviewForConditionalGeneration",
    "Qwen3_5ForConditionalGeneration", "NemotronHForCausalLM", "NemotronHPuzzleForCausalLM",
}

# configs/model_config.py ModelConfig.__init__ mm_disabled_models: 0.5.16 lines 309-314, 0.5.17 lines 331-336, 0.5.18
# lines 347-352, 0.5.19 lines 372-377.
MM_DISABLED_0_5_18 = {"Gemma3ForConditionalGeneration", "Llama4ForConditionalGeneration",
                      "Step3VLForConditionalGeneration", "InklingForConditionalGeneration"}


def _value(name: str, release: str):
    return BOOK.rule(name, get_engine(f"sglang=={release}").release).value


@pytest.mark.parametrize("release,expected", [("0.5.22", HYBRID_SWA_0_5_22), ("0.5.23", HYBRID_SWA_0_5_23)])
def test_swa_pool_archs_is_the_wheels_is_hybrid_swa_model(release, expected):
    """Exactly is_hybrid_swa_model's names: 27 in 0.5.22, 28 in 0.5.23."""
    row = _value("swa_pool_archs", release)
    assert set(row) == expected
    assert len(row) == {"0.5.22": 27, "0.5.23": 28}[release]
    assert all(kept == () for kept in row.values())  # no backend keeps one pool for any of them


@pytest.mark.parametrize("release", ["0.5.22", "0.5.23"])
@pytest.mark.parametrize("arch", SWA_POOL_RESTORED)
def test_swa_pool_archs_keep_the_restored_names(release, arch):
    assert arch in _value("swa_pool_archs", release)


@pytest.mark.parametrize("release", ["0.5.16", "0.5.17", "0.5.18", "0.5.19", "0.5.20", "0.5.21"])
@pytest.mark.parametrize("arch", ["MiMoV2MTP", "Step3p5MTP"])
def test_swa_pool_archs_mtp_drafts_0_5_16_to_0_5_21(release, arch):
    """is_hybrid_swa_model has both MTP draft names (0.5.16 lines 1903-1941 ... 0.5.21 lines 2454-2494)."""
    assert arch in _value("swa_pool_archs", release)


@pytest.mark.parametrize("release", ["0.5.21", "0.5.22", "0.5.23"])
@pytest.mark.parametrize("arch", SLIDING_RESTORED)
def test_sliding_window_archs_keep_the_restored_names(release, arch):
    assert arch in _value("sliding_window_archs", release)


@pytest.mark.parametrize("release", ["0.5.18", "0.5.19"])
def test_fusion_defaults_0_5_18_0_5_19_are_the_wheels_17(release):
    defaults = dict(_value("allreduce_rms_fusion", release).defaults)
    assert set(defaults) == FUSION_0_5_18
    assert "InternS2MobiusForConditionalGeneration" not in defaults


@pytest.mark.parametrize("release", ["0.5.16", "0.5.17", "0.5.18", "0.5.19"])
def test_vlm_disabled_0_5_16_to_0_5_19_include_inkling(release):
    assert set(_value("vlm_fraction", release).disabled) == MM_DISABLED_0_5_18


@pytest.mark.parametrize("release", ["0.5.22", "0.5.23"])
def test_unlimited_ocr_windows_kept_so_the_swa_pool_refuses(tmp_path, capsys, release):
    """A Gemma-3-1B config named UnlimitedOCRForCausalLM (window layers): with its window kept
    (sliding_window_archs) SGLang gives it SWAKVPool (is_hybrid_swa_model), which kvplan refuses in one
    line, exit 2; before h33-swa22 its windows became full attention and the refusal was the rotary table's."""
    import json
    from pathlib import Path

    cfg = json.loads((Path(__file__).parent / "fixtures/hf_configs/gemma-3-1b-it.json").read_text())
    cfg["architectures"] = ["UnlimitedOCRForCausalLM"]
    path = tmp_path / "ocr.json"
    path.write_text(json.dumps(cfg))
    code, out, err = cli(capsys, "capacity", path, "--gpu", "h100", "--engine", f"sglang=={release}",
                         "--mem-fraction-static", "0.8", "--tp", "2")
    assert code == 2 and out == ""
    line = one_line_error(err)
    assert f"sglang=={release} gives ocr's window layers a pool of their own (SWAKVPool" in line


# -- h34-sglaud: configs/model_config.py is_hybrid_swa_model, 0.5.8-0.5.15.post1 (MIMO_V2_MODEL_ARCHS expanded:
# 0.5.11 lines 42-45, MiMoV2ForCausalLM / MiMoV2FlashForCausalLM). Every release's set has the MTP draft names.
HYBRID_SWA_0_5_8 = {"Llama4ForConditionalGeneration", "GptOssForCausalLM", "MiMoV2FlashForCausalLM",
                    "MiMoV2MTP"}                                                       # lines 1220-1228
HYBRID_SWA_0_5_9 = HYBRID_SWA_0_5_8 | {"Step3p5ForCausalLM", "Step3p5MTP"}            # 0.5.9 1320-1330, 0.5.10 1438-1448
HYBRID_SWA_0_5_11 = HYBRID_SWA_0_5_9 | {"MiMoV2ForCausalLM", "Gemma4ForCausalLM",
                                        "Gemma4ForConditionalGeneration"}             # lines 1546-1558
HYBRID_SWA_0_5_12 = HYBRID_SWA_0_5_11 | {"DeepseekV4ForCausalLM", "DeepseekV4ForCausalLMNextN",
                                         "LagunaForCausalLM"}                         # lines 1660-1675
HYBRID_SWA_0_5_13 = HYBRID_SWA_0_5_12 | {"Step3p7ForConditionalGeneration",
                                         "Gemma4UnifiedForConditionalGeneration"}     # 0.5.13 1679-1705, 0.5.14 1842-1875
HYBRID_SWA_0_5_15 = HYBRID_SWA_0_5_13 | {"UnlimitedOCRForCausalLM"}                   # lines 1833-1867


@pytest.mark.parametrize("release,expected", [
    ("0.5.8", HYBRID_SWA_0_5_8), ("0.5.9", HYBRID_SWA_0_5_9), ("0.5.10", HYBRID_SWA_0_5_9),
    ("0.5.11", HYBRID_SWA_0_5_11), ("0.5.12", HYBRID_SWA_0_5_12), ("0.5.13", HYBRID_SWA_0_5_13),
    ("0.5.13.post1", HYBRID_SWA_0_5_13), ("0.5.14", HYBRID_SWA_0_5_13), ("0.5.15", HYBRID_SWA_0_5_15),
    ("0.5.15.post1", HYBRID_SWA_0_5_15)])
def test_swa_pool_archs_0_5_8_to_0_5_15_are_is_hybrid_swa_model(release, expected):
    assert set(_value("swa_pool_archs", release)) == expected


# model_overrides/deepseek_v2.py _register_for, lines 37-50 in 0.5.22 and 0.5.23: the architectures whose
# configs without index_topk take trtllm_mla on sm100 (0.5.22 lines 177-189, 0.5.23 lines 176-188).
DEEPSEEK_FAMILY_0_5_22 = {
    "DeepseekV3ForCausalLM", "DeepseekV32ForCausalLM", "KimiK25ForConditionalGeneration", "MistralLarge3ForCausalLM",
    "PixtralForConditionalGeneration", "GlmMoeDsaForCausalLM", "Glm5NextForConditionalGeneration", "HYV4ForCausalLM",
    "HYV4ForCausalLMNextN", "LongcatFlashForCausalLM", "LongcatFlashForCausalLMNextN", "Dots3NoteForCausalLM"}


@pytest.mark.parametrize("release", ["0.5.22", "0.5.23"])
def test_trtllm_mla_archs_0_5_22_0_5_23_are_the_deepseek_family_overrides(release):
    rows = _value("mla_backend_default", release)["rows"]
    assert rows[0][:3] == ((10, 0), (11, 0), "trtllm_mla") and set(rows[0][3]) == DEEPSEEK_FAMILY_0_5_22


def _olmo2():
    import dataclasses

    from kvplan.loader import load_model

    return dataclasses.replace(load_model("llama3.1-8b"), architecture="Olmo2ForCausalLM")


# Olmo2's own choice where no --attention-backend is given: trtllm_mha on sm100, else fa3 from sm80 (0.5.4
# server_args.py lines 983-996 ... 0.5.14 lines 4117-4130; overrides.py _olmo2_overrides 0.5.15 lines 903-917 ...
# 0.5.18 lines 1438-1452; model_overrides/olmo2.py 0.5.19 lines 19-34, 0.5.21-0.5.23 lines 16-31).
@pytest.mark.parametrize("release", ["0.5.4", "0.5.6", "0.5.8", "0.5.9", "0.5.10", "0.5.11", "0.5.12", "0.5.13",
                                     "0.5.13.post1", "0.5.14", "0.5.15", "0.5.15.post1", "0.5.16", "0.5.17", "0.5.18",
                                     "0.5.19", "0.5.20", "0.5.21"])
def test_olmo2_takes_fa3_from_sm80(release):
    from kvplan.gpus import get_gpu

    eng, olmo = get_engine(f"sglang=={release}"), _olmo2()
    got = [eng.default_backend(olmo, get_gpu(g)) for g in ("a100-80gb", "l40s", "h100", "b200",
                                                            "rtx-pro-6000-server")]
    assert got == ["fa3", "fa3", "fa3", "trtllm_mha", "fa3"]


def test_llama4_text_takes_fa3_on_hopper_0_5_6():
    """0.5.6 server_args.py _handle_model_specific_adjustments lines 1125-1137: every '"Llama4" in model_arch' takes
    fa3 on sm90 (Llama4ForCausalLM is not in is_fa3_default_architecture, utils/common.py lines 2758-2775)."""
    import dataclasses

    from kvplan.gpus import get_gpu
    from kvplan.loader import load_model

    spec = dataclasses.replace(load_model("llama3.1-8b"), architecture="Llama4ForCausalLM")
    eng = get_engine("sglang==0.5.6")
    assert (eng.default_backend(spec, get_gpu("h100")), eng.default_backend(spec, get_gpu("b200"))) == \
        ("fa3", "trtllm_mha")
