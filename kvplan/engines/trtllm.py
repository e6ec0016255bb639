"""TensorRT-LLM: the KV pool is free_gpu_memory_fraction of the memory free after loading.

    pool = free_gpu_memory_fraction * (total - in_use_before_loading - weights)
    blocks = ceil(floor(pool / bytes_per_token) / tokens_per_block)

with free_gpu_memory_fraction 0.9 and tokens_per_block 32 (tensorrt_llm/llmapi/llm_args.py:
KvCacheConfig, "Default is 90%"). The block count rounds up (cpp/tensorrt_llm/batch_manager/
kvCacheManager.cpp, BaseKVCacheManager::calculateMaxNumBlocks: ``tc::ceilDiv(maxTokens,
tokensPerBlock)``; kvplan.paging ``round_blocks_up``).

What TensorRT-LLM calls "available" is measured, not derived (docs/calibration.md, TensorRT-LLM):
the TensorRT-engine path takes cudaMemGetInfo's free memory plus the memory pool's free bytes
(calculateFreeMemBytes) after the engine's weights, its execution-context (activation) memory,
fixed when the engine was built, and the runtime and decoder buffers are allocated; the PyTorch
backend (tensorrt_llm/_torch/pyexecutor/_util.py, KvCacheCreator) takes total - the peak of a
profiling run (weights, activations of max_num_tokens, CUDA graphs, NCCL) + the trial KV cache.
kvplan cannot know the engine's build-time activation memory, the buffers sized by
max_batch_size or the profiled peak, so it subtracts none of them and overstates the pool by
them (public logs: +1.6% for a 0.6B model under the PyTorch backend, +28% for an fp8 engine
built with max_batch_size 2048). The memory in use before loading is vLLM's (STARTUP_IN_USE);
at tp 2 its 1.53 GiB exceeds all the non-weight memory of a public TensorRT-LLM log, where
kvplan is 0.7% under. No release is pinned: kvplan has not read any one release's source
end to end; ``trtllm==X`` is refused and the bare name uses these rules (the label says
"release not pinned").
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from kvplan.engines.base import Engine, EngineSettings, RuleBook, StageBudget, fraction, gib, positive
from kvplan.errors import BadInputError
from kvplan.gpus import GPU
from kvplan.layers import WINDOWED_KINDS

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
    # tensorrt_llm/_torch/modules/linear.py Linear asserts the dense MLP split as vLLM does
    tp_split_rule = "vLLM, SGLang and TensorRT-LLM (its Linear)"
    tp_split_vocab = False  # _torch/modules/embedding.py pads the vocabulary to a multiple of tp
    #: TensorRT-LLM splits the embedding and lm_head rows unpadded, ceil(vocab / tp) a rank (the
    #: vocabulary padded to a multiple of tp): tensorrt_llm/_torch/modules/embedding.py LMHead
    #: (TensorParallelMode.COLUMN: local_out_features = math.ceil(num_embeddings / tp_size)), the
    #: lm_head of every DecoderModelForCausalLM (_torch/models/modeling_utils.py) and the embedding
    #: of LlamaModel and Qwen3Model (modeling_llama.py, modeling_qwen3.py: COLUMN); the TensorRT
    #: engines' lm_head likewise (pad_vocab_size(vocab_size, tp_size)). OPT-13B (50,272 rows) at tp
    #: 8: 6,284 rows a rank (vLLM's pad to 64: 50,304 / 8 = 6,288). Not modelled: model classes that
    #: keep the embedding whole (GLM-4's Embedding without a mapping), attention DP (LMHead and
    #: Embedding unsplit) and the TensorRT engines' embedding without --use_parallel_embedding.
    vocab_padding = 1
    fraction_name = "free_gpu_memory_fraction"
    default_block_size = TOKENS_PER_BLOCK
    caveats = ("trtllm: the engine's activation memory and runtime buffers (measured at startup; fixed when the "
               "engine is built, e.g. by max_batch_size) are not subtracted, so the KV pool and the tokens are mostly "
               "overstated (public logs: -0.7% to +28%; docs/calibration.md)",)
    description = ("TensorRT-LLM (release not pinned): free_gpu_memory_fraction of the memory free after "
                   "loading; tokens_per_block 32, blocks rounded up; the engine's activation memory and "
                   "runtime/decoder buffers (TensorRT engines) or the profiled peak (PyTorch backend) are not "
                   "subtracted (not knowable before the engine is built or run)")

    @property
    def name(self) -> str:
        return "trtllm"

    def settings(self, gpu: GPU, *, tp: int = 1, pp: int = 1, memory_fraction=None, block_size=None,
                 max_num_batched_tokens=None, max_num_seqs=None, dp_attention: int = 1, spec=None,
                 max_model_len: int | None = None) -> EngineSettings:
        block = positive(block_size, "--tokens-per-block") or TOKENS_PER_BLOCK
        tokens = positive(max_num_batched_tokens, "--max-num-tokens")
        seqs = positive(max_num_seqs, "--max-batch-size")
        frac = fraction(memory_fraction, "--free-gpu-memory-fraction", FREE_GPU_MEMORY_FRACTION)
        return EngineSettings(self.name, frac, self.fraction_name, block, tokens, seqs, tp, pp,
                              "release not pinned")

    def check_kv_pool(self, spec, gpu: GPU, disable_hybrid: bool | None) -> None:
        """A model with its own sliding-window or chunked-local layers is refused: TensorRT-LLM
        makes one pool per attention window size and number of heads and divides the memory
        among them by static fractions set at initialization (docs: features/kvcache.html, "KV
        Cache System"), which kvplan has not read."""
        kinds = sorted({k.describe() for k in spec.layers if k.kind in WINDOWED_KINDS})
        if kinds:
            raise BadInputError(f"trtllm: {spec.name} has layers of its own window ({'; '.join(kinds)}); TensorRT-LLM "
                                f"pools layers by attention window (one pool per window size, the memory split among them by "
                                f"static fractions; windows from KvCacheConfig.max_attention_window) in a way kvplan has "
                                f"not read (nvidia.github.io/TensorRT-LLM features/kvcache.html); use --engine vllm or "
                                f"sglang")

    def carve(self, spec, gpu: GPU, weights, settings: EngineSettings) -> list[StageBudget]:
        total = gpu.memory_bytes
        other = STARTUP_IN_USE["single"] if settings.tp * settings.pp == 1 else STARTUP_IN_USE["parallel"]
        out = []
        for st in weights.stages:
            free = total - other - st.bytes
            pool = int(free * settings.memory_fraction) if free > 0 else free
            out.append(StageBudget(st.stage, st.layers, total, total, st.bytes, 0, other, pool))
        return out
