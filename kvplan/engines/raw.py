"""raw: every byte but the weights (what `kvplan measure` allocates against)."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from kvplan.engines.base import Engine, EngineSettings, StageBudget, fraction, positive
from kvplan.gpus import GPU


@dataclass(frozen=True)
class Raw(Engine):
    """No engine: the pool is the GPU's memory minus the weights. Any kvplan format."""

    family = "raw"
    description = "all memory minus weights (what `kvplan measure` allocates against)"
    fraction_name = ""
    default_block_size = 16

    def settings(self, gpu: GPU, *, tp: int = 1, pp: int = 1, memory_fraction=None, block_size=None,
                 max_num_batched_tokens=None, max_num_seqs=None, dp_attention: int = 1, spec=None,
                 max_model_len: int | None = None) -> EngineSettings:
        block = positive(block_size, "--block-size") or self.default_block_size
        tokens = positive(max_num_batched_tokens, "--max-num-batched-tokens")
        seqs = positive(max_num_seqs, "--max-num-seqs")
        frac = fraction(memory_fraction, "memory fraction", Fraction(1))
        return EngineSettings(self.name, frac, self.fraction_name, block, tokens, seqs, tp, pp)

    def carve(self, spec, gpu: GPU, weights, settings: EngineSettings) -> list[StageBudget]:
        total = gpu.memory_bytes
        return [StageBudget(st.stage, st.layers, total, total, st.bytes, 0, 0, total - st.bytes)
                for st in weights.stages]
