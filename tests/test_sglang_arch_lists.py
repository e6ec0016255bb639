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
