"""Hugging Face models -> kvplan specs: config.json reading, checkpoints and Hub ids.

``spec_mapping_from_hf_config(config, origin)`` reads a parsed config.json and returns a
mapping in kvplan's spec format; ``spec_from_hf_config`` builds the ModelSpec from it.

Layout of the package:

    core.py       the HFConfig accessor, the Family record, the verdict on every key
                  (understood / ignorable / weights only / may shape the cache), layout helpers
    registry.py   model_type -> family, one line each; architectures -> model_type
    families/     one module per family group (llama, mistral, qwen, gemma, deepseek, ...)
    dtypes.py     torch_dtype as vLLM serves it; quantization_config
    convert.py    one config -> spec mapping (the text/wrapper split, shared fields)

    safetensors.py  safetensors headers (8-byte length + JSON, bounded; never the tensors)
    checkpoint.py weights from a checkpoint's headers: sections, per GPU under TP/PP
    hub.py        Hub repo ids through huggingface_hub (optional extra kvplan[hub])

The entry points are imported lazily, so ``kvplan.hf.hub.parse_repo_ref`` costs nothing at
start-up (`kvplan size llama3-8b` never reads the family tables).
"""

__all__ = ["spec_from_hf_config", "spec_mapping_from_hf_config"]


def __getattr__(name: str):
    if name in __all__:
        from kvplan.hf import convert

        return getattr(convert, name)
    raise AttributeError(f"module 'kvplan.hf' has no attribute {name!r}")
