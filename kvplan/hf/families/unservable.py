"""Model types vLLM does not serve: refused with the reason, never planned.

kvplan's capacity figures follow what vLLM allocates; for an architecture vLLM cannot load
there is nothing to follow, so these are refused outright (exit 2, one line)."""

from __future__ import annotations

from kvplan.hf.core import Family, HFConfig

_REGISTRY = "vllm/model_executor/models/registry.py"


def _refuse(reason: str):
    def read(c: HFConfig, *_rest) -> dict:
        raise c.error(f"{reason}; kvplan plans what vLLM allocates, so it cannot plan this model "
                      "(write a spec by hand for another engine)")
    return read


RWKV = Family(_refuse(f"RWKV is not a model vLLM can serve (no RWKV architecture in {_REGISTRY})"), "RwkvConfig")
MLLAMA = Family(
    _refuse("Llama 3.2 Vision (MllamaForConditionalGeneration) is no longer served by vLLM: its "
            f"cross-attention encoder-decoder path was removed after v0.10.2 ({_REGISTRY} "
            "_PREVIOUSLY_SUPPORTED_MODELS)"),
    "MllamaConfig", wrapper=True, text_family="mllama_text_model",
)
