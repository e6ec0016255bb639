"""Engine memory profiles: how each serving engine, at each release, carves a GPU.

    get_engine("vllm==0.11.0")   vLLM with the 0.11.0 rules
    get_engine("vllm")           the newest vLLM release modelled
    get_engine("vllm-0.10")      legacy name: vllm==0.10.1.1
    get_engine("sglang==0.5.4"), get_engine("trtllm"), get_engine("raw")

One class per engine (kvplan/engines/vllm.py, sglang.py, trtllm.py, raw.py); what changes
with the release is a rule table (vllm_rules.py, and RULES in sglang.py / trtllm.py):
rule, first release, last release, value, engine source. A release outside the table is
refused with the list of modelled releases. Every engine answers the planner's two
questions (base.py): ``settings(...)`` -> EngineSettings (defaults filled in, release
named) and ``carve(spec, gpu, weights, settings)`` -> one StageBudget per pipeline stage.
"""

from __future__ import annotations

from kvplan.engines.base import GIB, Engine, EngineSettings, Release, Rule, RuleBook, StageBudget, gib
from kvplan.errors import BadInputError, UnknownNameError

__all__ = [
    "ENGINES", "Engine", "EngineSettings", "Release", "Rule", "RuleBook", "StageBudget", "GIB", "gib",
    "get_engine", "rope_cache_bytes", "engine_families",
]

#: Engine families and one line each (for --help and messages).
ENGINES: dict[str, str] = {
    "vllm": "vLLM 0.8.0-0.19.1 (release rules from its source; calibrated on startup logs)",
    "sglang": "SGLang 0.4.6-0.5.15.post1 and 0.5.22-0.5.23: mem_fraction_static of the free memory minus weights; token pool",
    "trtllm": "TensorRT-LLM: free_gpu_memory_fraction of the memory free after loading; 32-token blocks",
    "raw": "all memory minus weights (what `kvplan measure` allocates against)",
}
ALIASES = {"tensorrt-llm": "trtllm", "trt-llm": "trtllm", "tensorrt_llm": "trtllm", "none": "raw"}
#: Names kvplan used before releases were explicit.
LEGACY = {"vllm-0.10": "vllm==0.10.1.1", "vllm-v0.10": "vllm==0.10.1.1",
          "vllm-0.19": "vllm==0.19.0", "vllm-v0.19": "vllm==0.19.0"}


def engine_families() -> list[str]:
    return list(ENGINES)


def rope_cache_bytes(spec, release: str | None = None, layers: range | None = None,
                     max_model_len: int | None = None) -> int:
    """vLLM's rotary cos/sin caches at a release, of the layers given (default all), for a
    deployment's max_model_len (default the model's own; see kvplan.engines.vllm.rope_cache_bytes)."""
    from kvplan.engines.vllm import rope_cache_bytes as _rope

    return _rope(spec, release, layers, max_model_len)


def _split(name: str) -> tuple[str, str | None]:
    key = str(name).strip().lower()
    key = LEGACY.get(key, key)
    if "==" in key:
        family, _, release = key.partition("==")
        family, release = family.strip(), release.strip()
        if not release:
            raise BadInputError(f"engine {name!r}: give a release after '==' (e.g. vllm==0.11.0)")
    else:
        family, release = key, None
    return ALIASES.get(family, family), release


#: Each family's engine class, imported when first asked for (planning imports only its engine).
CLASSES: dict[str, str] = {
    "vllm": "kvplan.engines.vllm:VLLM",
    "sglang": "kvplan.engines.sglang:SGLang",
    "trtllm": "kvplan.engines.trtllm:TensorRTLLM",
    "raw": "kvplan.engines.raw:Raw",
}


def get_engine(name, **options) -> Engine:
    """The engine ``name`` names (``family`` or ``family==release``), bound to its release.

    ``options`` go to the engine class (vLLM: ``flashinfer_sampler``, ``usage_context``).
    Raises UnknownNameError for an unknown family, BadInputError for a release kvplan does
    not model (naming the ones it does)."""
    if isinstance(name, Engine):
        return name
    family, release = _split(name)
    where = CLASSES.get(family)
    if where is None:
        raise UnknownNameError("engine", str(name), list(ENGINES) + ["vllm==0.11.0", "sglang==0.5.4"])
    from importlib import import_module

    module, _, cls = where.partition(":")
    return getattr(import_module(module), cls).for_release(release, **options)
