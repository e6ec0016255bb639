"""TensorRT-LLM: the KV pool is free_gpu_memory_fraction of the memory free after loading.

    pool = free_gpu_memory_fraction * (total - in_use_before_loading - weights)

with free_gpu_memory_fraction 0.9 and tokens_per_block 32 (tensorrt_llm/llmapi/llm_args.py:
KvCacheConfig, "Default is 90%"). No release is pinned: TensorRT-LLM's wheels are not on
PyPI, so kvplan has not read any one release's source end to end; ``trtllm==X`` is refused
and the bare name uses these documented defaults (the label says "release not pinned").
Not calibrated against a log.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from kvplan.engines.base import Engine, EngineSettings, RuleBook, StageBudget, fraction, gib, positive
from kvplan.errors import BadInputError
from kvplan.gpus import GPU

#: memory in use before loading (CUDA context, NCCL): from the vLLM v0.19.0 H100 logs
#: (total - free at startup: 79.19 - 78.68 one GPU, 79.19 - 77.66 with tp), not a TRT-LLM log.
STARTUP_IN_USE = {"single": gib("0.51"), "parallel": gib("1.53")}
FREE_GPU_MEMORY_FRACTION = Fraction(9, 10)
TOKENS_PER_BLOCK = 32


class _NoReleases(RuleBook):
    def __init__(self):
        super().__init__("trtllm", ("0.0.0",), ())

    def resolve(self, text):
        if text is not None:
            raise BadInputError(
                f"trtllm {text} is not modelled: kvplan has read no TensorRT-LLM release's source "
                "(its wheels are not on PyPI); --engine trtllm uses the documented KvCacheConfig defaults"
            )
        return None


BOOK = _NoReleases()


@dataclass(frozen=True)
class TensorRTLLM(Engine):
    release: None = None

    family = "trtllm"
    book = BOOK
    vendors = frozenset({"nvidia"})
    fraction_name = "free_gpu_memory_fraction"
    default_block_size = TOKENS_PER_BLOCK
    description = ("TensorRT-LLM (release not pinned): free_gpu_memory_fraction of the memory free after "
                   "loading; tokens_per_block 32")

    @property
    def name(self) -> str:
        return "trtllm"

    def settings(self, gpu: GPU, *, tp: int = 1, pp: int = 1, memory_fraction=None, block_size=None,
                 max_num_batched_tokens=None, max_num_seqs=None) -> EngineSettings:
        block = positive(block_size, "--tokens-per-block") or TOKENS_PER_BLOCK
        tokens = positive(max_num_batched_tokens, "--max-num-tokens")
        seqs = positive(max_num_seqs, "--max-batch-size")
        frac = fraction(memory_fraction, "--free-gpu-memory-fraction", FREE_GPU_MEMORY_FRACTION)
        return EngineSettings(self.name, frac, self.fraction_name, block, tokens, seqs, tp, pp,
                              "release not pinned")

    def carve(self, spec, gpu: GPU, weights, settings: EngineSettings) -> list[StageBudget]:
        total = gpu.memory_bytes
        other = STARTUP_IN_USE["single"] if settings.tp * settings.pp == 1 else STARTUP_IN_USE["parallel"]
        out = []
        for st in weights.stages:
            free = total - other - st.bytes
            pool = int(free * settings.memory_fraction) if free > 0 else free
            out.append(StageBudget(st.stage, st.layers, total, total, st.bytes, 0, other, pool))
        return out
