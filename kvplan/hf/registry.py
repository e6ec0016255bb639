"""model_type -> family reader, one line per model_type (merge-friendly: keep it that way).

Each family module holds its reader and the defaults of the matching transformers
configuration class (``configuration_<family>.py``), for keys a config.json may leave out.
A model_type that is not here is read by ``families.llama.UNKNOWN``: it proceeds only when
every field it holds was understood, with its assumptions printed.
"""

from __future__ import annotations

from kvplan.hf.core import Family
from kvplan.hf.families import classic, deepseek, gemma, gpt_oss, hybrid, llama, mistral, phi, qwen

FAMILIES: dict[str, Family] = {
    "llama": llama.LLAMA,
    "mistral": mistral.MISTRAL,
    "mixtral": mistral.MIXTRAL,
    "qwen2": qwen.QWEN2,
    "qwen3": qwen.QWEN3,
    "qwen3_moe": qwen.QWEN3_MOE,
    "qwen3_next": qwen.QWEN3_NEXT,
    "phi3": phi.PHI3,
    "gemma": gemma.GEMMA,
    "gemma2": gemma.GEMMA2,
    "gemma3_text": gemma.GEMMA3_TEXT,
    "gemma3": gemma.GEMMA3,
    "deepseek_v2": deepseek.DEEPSEEK_V2,
    "deepseek_v3": deepseek.DEEPSEEK_V3,
    "kimi_k2": deepseek.DEEPSEEK_V3,  # DeepseekV3ForCausalLM
    "gpt_oss": gpt_oss.GPT_OSS,
    "falcon": classic.FALCON,
    "RefinedWeb": classic.FALCON,  # Falcon's original (trust_remote_code) model types
    "RefinedWebModel": classic.FALCON,
    "gpt2": classic.GPT2,
    "opt": classic.OPT,
    "jamba": hybrid.JAMBA,
}

#: architectures[0] -> model_type, for configs that lack model_type (one line each).
ARCHITECTURES: dict[str, str] = {
    "LlamaForCausalLM": "llama",
    "MistralForCausalLM": "mistral",
    "MixtralForCausalLM": "mixtral",
    "Qwen2ForCausalLM": "qwen2",
    "Qwen3ForCausalLM": "qwen3",
    "Qwen3MoeForCausalLM": "qwen3_moe",
    "Qwen3NextForCausalLM": "qwen3_next",
    "Phi3ForCausalLM": "phi3",
    "GemmaForCausalLM": "gemma",
    "Gemma2ForCausalLM": "gemma2",
    "Gemma3ForCausalLM": "gemma3_text",
    "Gemma3ForConditionalGeneration": "gemma3",
    "DeepseekV2ForCausalLM": "deepseek_v2",
    "DeepseekV3ForCausalLM": "deepseek_v3",
    "GptOssForCausalLM": "gpt_oss",
    "FalconForCausalLM": "falcon",
    "RWForCausalLM": "falcon",
    "GPT2LMHeadModel": "gpt2",
    "OPTForCausalLM": "opt",
    "JambaForCausalLM": "jamba",
}


def family_for(model_type: str) -> Family | None:
    """The family reading ``model_type``, or None when kvplan has no reader for it."""
    return FAMILIES.get(model_type)
