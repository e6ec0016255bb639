"""Published prefill bursts kvplan's prefill model is checked against (benchmarks/prefill_accuracy.py).

Every row is one `vllm bench serve` result block someone measured and published, with where
it was read; nothing here is measured by kvplan. A burst is N random prompts sent at once (no
``--max-concurrency``, request rate inf) to an idle server; the run's "Benchmark duration" is
then the time the server takes to prefill all N prompts (and emit their few output tokens),
a throughput figure. ``predict(b)`` is kvplan's time for the same N prompts arriving together
on an idle replica (``kvplan.speed.prefill_time(setup, prompt, prompts=N)``), through the
library, with the shipped efficiency factors.

Source: GPUStack's performance lab, github.com/gpustack/gpustack ``docs/performance-lab/<model>/<gpu>.md``
at commit 47277d79 (2026-08-21; every page used last changed at 1f37f1b8, 2026-01-06),
section "Other Benchmark Cases": a "Baseline serving script" (the engine without any
optimization) and "Baseline benchmark results", blocks "# random 32K input" (100 prompts of
32,000 tokens, 100 out), "# random 4K input" (500 x 4,000 / 200), "# random 2K input" (500 x
2,000 / 100) and "# random 128 input" (1,000 x 128 / 4); the engine release under "Engine
Version", the GPUs under "Hardware". Client (each page's "Benchmark Script"): ``vllm bench serve
--backend openai-chat --endpoint /v1/chat/completions --dataset-name random --random-input-len
L --random-output-len O --num-prompts N --seed 42``; no ``--ignore-eos``, so the generated
totals printed are what the runs produced.

Selection rule, fixed before any kvplan figure was computed for these runs
---------------------------------------------------------------------------
Take every "random 32K input", "random 4K input" and "random 2K input" block (the heading's
case ignored: the DeepSeek-V3.2 page writes "32k") of the "Baseline benchmark results" of
every page under ``docs/performance-lab/`` at 47277d79 such that

1. the page's model is one kvplan can read with its exact architecture: a kvplan built-in of
   the same architecture (Qwen3-32B, Qwen3-235B-A22B, gpt-oss-20b / 120b, DeepSeek-R1-0528 =
   deepseek-v3), a config.json in tests/fixtures/hf_configs of the same sizes (DeepSeek-V3.2:
   deepseek-v3.2.json; GLM-4.6: glm-4.7.json, whose sizes the fixture README records as the
   same as GLM-4.6's, RedHatAI/GLM-4.6-NVFP4), or a public verbatim copy of the model's own
   config.json whose copies of other models agree with kvplan's built-ins (Qwen3-14B:
   benchmarks/prefill_configs/qwen3-14b.json, from citsjtu2020/LLM-Prof sglang/Model_Config.md
   @8434c8d1, the same file the fixture README takes Llama-3.2-3B / Qwen2.5-7B from; its
   Qwen3-32B block matches model_specs/qwen3-32b.yaml and its Qwen3-8B block the qwen3-8b
   fixture);
2. on GPUs kvplan has shipped speed factors for (A100 80GB, H100 SXM, H200);
3. with an engine release kvplan models (the baselines are all vLLM: 0.10.2, 0.11.0, 0.13.0,
   inside kvplan's 0.8.0-0.26.0).

Every block the rule selects is taken, whatever kvplan says of it (a refusal is reported as
one). Out by the rule: glm-4.5-air/{a100,h100} (no GLM-4.5-Air config; those two pages also
print identical figures), qwen3.5-9b / qwen3.5-35b-a3b / glm-5.2 (no config; profile pages),
qwen3-8b/910b and qwen3-30b-a3b/910b (Ascend, no factors), glm-4.x/{a100,h100} and
qwen3-8b/h100-latency (no random blocks). Out by kind: the "random 128 input" blocks (1,000
prompts of 128 tokens, 14 s: per-request and per-step costs kvplan's prefill model does not
price are most of such a run), ShareGPT blocks (fixed concurrency, decode-bound: already TPOT
rows in speed_reference.py) and the "Optimized" blocks (other flags per page; not the same
comparison).

Rows are chosen so the outputs are a small share of the work: 100 / 32,000 (0.3%) and at most
200 / 4,000 or 100 / 2,000 (5%) generated tokens per prompt token. The estimate is therefore
the prefill alone; the columns "generated" and "share" say how much work it leaves out.

Hardware as the pages state it; ``gpu`` is kvplan's name. The Qwen3-14B A100 page says "A
single NVIDIA A100 SXM GPU" without the memory size; taken as the 80 GB part like every other
A100 page of the lab (the 40 GB part cannot hold vLLM's default 40,960-token max_model_len
after 29.5 GB of weights at the default 0.9 memory fraction, so the baseline could not start
there). Pages with two GPUs whose baseline passes no ``-tp`` ran on one (tp 1).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

COMMIT = "47277d79f4a5bae12a2d25e9ecbed2a2177a5f2d"
REPO_ROOT = Path(__file__).resolve().parent.parent
PAGE_URL = "github.com/gpustack/gpustack/blob/{commit}/docs/performance-lab/{page}.md"

#: block heading -> id suffix
BLOCKS = {"random 32K input": "32k", "random 4K input": "4k", "random 2K input": "2k"}


@dataclass(frozen=True)
class Burst:
    """One published result block: ``requests`` prompts sent at once to an idle server."""

    page: str  # docs/performance-lab/<page>.md
    block: str  # the block's heading, as BLOCKS keys
    model: str  # kvplan built-in name, or a config.json path relative to the repository root
    hf_model: str  # the model the page serves
    gpu: str  # kvplan's GPU name
    tp: int
    engine: str
    serve: str  # the page's baseline serving script
    hardware: str  # the page's "Hardware" line
    requests: int
    input_tokens: int
    generated_tokens: int
    duration_s: float
    median_ttft_ms: float
    weights: str | None = None  # None: the model's dtype (gpt-oss: its MXFP4 experts)
    max_model_len: int | None = None  # as the serve command passes it; None: the model's
    commit: str = COMMIT
    note: str = ""

    @property
    def id(self) -> str:
        model, gpu = self.page.split("/")
        return f"gpstk-{gpu}-{model}-{BLOCKS[self.block]}"

    @property
    def prompt(self) -> int:
        """Tokens a prompt, the run's mean (the random dataset's retokenization moves a few)."""
        return round(self.input_tokens / self.requests)

    @property
    def source(self) -> str:
        return (f"{PAGE_URL.format(commit=self.commit[:8], page=self.page)}, 'Other Benchmark Cases', "
                f"Baseline benchmark results # {self.block}: baseline `{self.serve}` ({self.engine}), "
                f"{self.hardware}: {self.requests} requests, {self.input_tokens} input / "
                f"{self.generated_tokens} generated tokens, benchmark duration {self.duration_s} s, "
                f"median TTFT {self.median_ttft_ms} ms")


QWEN3_14B = "benchmarks/prefill_configs/qwen3-14b.json"
GLM_46 = "tests/fixtures/hf_configs/glm-4.7.json"
DSV32 = "tests/fixtures/hf_configs/deepseek-v3.2.json"

#: (page, kvplan model, HF model, gpu, tp, engine, serve, hardware, weights, max_model_len,
#:  ((block, requests, input tokens, generated tokens, duration s, median TTFT ms), ...), note)
_PAGES = (
    # dense
    ("qwen3-14b/a100", QWEN3_14B, "Qwen/Qwen3-14B", "a100-80gb", 1, "vllm==0.11.0", "vllm serve Qwen/Qwen3-14B",
     "A single NVIDIA A100 SXM GPU (80 GB: see the module docstring)", None, None,
     (("random 32K input", 100, 3200000, 9891, 724.56, 359424.54),
      ("random 4K input", 500, 1997942, 99783, 407.05, 196621.85),
      ("random 2K input", 500, 998175, 50000, 175.66, 86575.09)), ""),
    ("qwen3-14b/h100", QWEN3_14B, "Qwen/Qwen3-14B", "h100-sxm", 1, "vllm==0.11.0", "vllm serve Qwen/Qwen3-14B",
     "A single NVIDIA H100 SXM GPU", None, None,
     (("random 32K input", 100, 3200000, 9855, 386.80, 191051.49),
      ("random 4K input", 500, 1997942, 99803, 227.57, 110734.54),
      ("random 2K input", 500, 998175, 50000, 98.91, 49138.28)), ""),
    ("qwen3-32b/a100", "qwen3-32b", "Qwen/Qwen3-32B", "a100-80gb", 1, "vllm==0.11.0", "vllm serve Qwen/Qwen3-32B",
     "A single NVIDIA A100 SXM 80GB GPU", None, None,
     (("random 32K input", 100, 3200000, 7699, 1783.59, 892708.86),
      ("random 4K input", 500, 1997942, 99893, 1141.94, 564705.97),
      ("random 2K input", 500, 998175, 50000, 415.71, 209108.79)), ""),
    ("qwen3-32b/h100", "qwen3-32b", "Qwen/Qwen3-32B", "h100-sxm", 1, "vllm==0.11.0", "vllm serve Qwen/Qwen3-32B",
     "A single NVIDIA H100 SXM GPU", None, None,
     (("random 32K input", 100, 3200000, 7681, 1157.25, 582757.65),
      ("random 4K input", 500, 1997942, 99790, 976.29, 483375.28),
      ("random 2K input", 500, 998175, 50000, 328.04, 164148.38)), ""),
    # MoE
    ("gpt-oss-20b/a100", "gpt-oss-20b", "openai/gpt-oss-20b", "a100-80gb", 1, "vllm==0.11.0",
     "vllm serve openai/gpt-oss-20b", "A single NVIDIA A100 SXM 80GB GPU", None, None,
     (("random 32K input", 100, 3200000, 9533, 440.85, 219663.48),
      ("random 4K input", 500, 1999249, 53530, 128.79, 61941.78),
      ("random 2K input", 500, 999120, 47224, 58.06, 32083.12)), ""),
    ("gpt-oss-20b/h100", "gpt-oss-20b", "openai/gpt-oss-20b", "h100-sxm", 1, "vllm==0.11.0",
     "vllm serve openai/gpt-oss-20b", "A single NVIDIA H100 SXM GPU", None, None,
     (("random 32K input", 100, 3200000, 9350, 107.95, 53539.25),
      ("random 4K input", 500, 1999249, 52309, 61.73, 30820.97),
      ("random 2K input", 500, 999120, 47022, 32.58, 16363.96)), ""),
    ("gpt-oss-120b/a100", "gpt-oss-120b", "openai/gpt-oss-120b", "a100-80gb", 1, "vllm==0.11.0",
     "vllm serve openai/gpt-oss-120b --max-model-len 32768",
     "2 x NVIDIA A100 SXM 80GB GPUs on a single node (the baseline on one: no -tp)", None, 32768,
     (("random 32K input", 100, 3200000, 9988, 740.10, 368713.30),
      ("random 4K input", 500, 1999249, 67259, 269.39, 134006.62),
      ("random 2K input", 500, 999120, 48981, 123.94, 61764.97)), ""),
    ("gpt-oss-120b/h100", "gpt-oss-120b", "openai/gpt-oss-120b", "h100-sxm", 1, "vllm==0.10.2",
     "vllm serve openai/gpt-oss-120b --max-model-len 32768",
     "2 x NVIDIA H100 SXM GPUs on a single node (the baseline on one: no -tp)", None, 32768,
     (("random 32K input", 100, 3200000, 9877, 198.92, 99439.56),
      ("random 4K input", 500, 1999249, 67205, 145.04, 73023.24),
      ("random 2K input", 500, 999120, 49197, 72.87, 35662.58)), ""),
    ("qwen3-235b-a22b/a100", "qwen3-235b-a22b", "Qwen/Qwen3-235B-A22B-Instruct-2507", "a100-80gb", 8,
     "vllm==0.11.0", "vllm serve Qwen/Qwen3-235B-A22B-Instruct-2507 -tp 8",
     "8 x NVIDIA A100 SXM 80GB GPUs on a single node", None, None,
     (("random 32K input", 100, 3200000, 8191, 481.89, 240137.10),
      ("random 4K input", 500, 1997942, 91352, 255.70, 121615.01),
      ("random 2K input", 500, 998175, 49632, 112.15, 54532.60)),
     "Qwen3-235B-A22B-Instruct-2507 has the qwen3-235b-a22b architecture (262k context, not 40k: capacity only)"),
    ("qwen3-235b-a22b/h100", "qwen3-235b-a22b", "Qwen/Qwen3-235B-A22B-Instruct-2507", "h100-sxm", 8,
     "vllm==0.11.0", "vllm serve Qwen/Qwen3-235B-A22B-Instruct-2507 -tp 8",
     "8 x NVIDIA H100 SXM GPUs on a single node", None, None,
     (("random 32K input", 100, 3200000, 8191, 141.60, 70737.29),
      ("random 4K input", 500, 1997942, 92185, 98.99, 48562.54),
      ("random 2K input", 500, 998175, 49500, 43.91, 20242.32)),
     "Qwen3-235B-A22B-Instruct-2507 has the qwen3-235b-a22b architecture (262k context, not 40k: capacity only)"),
    ("deepseek-r1/h200", "deepseek-v3", "deepseek-ai/DeepSeek-R1-0528", "h200", 8, "vllm==0.11.0",
     "vllm serve deepseek-ai/DeepSeek-R1-0528 -tp 8", "8 x NVIDIA H200 SXM GPUs on a single node", "fp8", None,
     (("random 32K input", 100, 3199900, 10000, 206.90, 101163.80),
      ("random 4K input", 500, 1997530, 100000, 132.68, 61952.74),
      ("random 2K input", 500, 998393, 50000, 59.26, 27559.21)),
     "DeepSeek-R1-0528 has the deepseek-v3 architecture; block-FP8 weights as shipped"),
    ("glm-4.x/h200", GLM_46, "zai-org/GLM-4.6", "h200", 8, "vllm==0.11.0", "vllm serve zai-org/GLM-4.6 -tp 8",
     "8 x NVIDIA H200 SXM GPUs on a single node", None, None,
     (("random 32K input", 100, 3200000, 9406, 213.02, 104737.57),
      ("random 4K input", 500, 1999787, 99801, 125.61, 59379.10),
      ("random 2K input", 500, 999429, 50000, 60.96, 29924.42)),
     "GLM-4.6 (BF16) read from the glm-4.7.json fixture: same sizes (tests/fixtures/hf_configs/README.md)"),
    ("deepseek-v3.2/h200", DSV32, "deepseek-ai/DeepSeek-V3.2", "h200", 8, "vllm==0.13.0",
     "vllm serve deepseek-ai/DeepSeek-V3.2 -tp 8 --tokenizer-mode deepseek_v32 --reasoning-parser deepseek_v3",
     "8 x NVIDIA H200 SXM GPUs on a single node", "fp8", None,
     (("random 32K input", 100, 3200000, 10000, 330.61, 164174.93),
      ("random 4K input", 500, 2000000, 100000, 210.54, 97324.68),
      ("random 2K input", 500, 1000000, 50000, 96.10, 43997.53)),
     "block-FP8 weights as shipped (the config's quantization_config); the tokenizer and reasoning-parser flags do "
     "not change the server's work; the page lists the blocks 128, 2K, 4K, 32k (heading '# random 32k input')"),
)

BURSTS: tuple[Burst, ...] = tuple(
    Burst(page, block, model, hf, gpu, tp, engine, serve, hw, n, tin, tout, dur, ttft, weights=weights,
          max_model_len=mml, note=note)
    for page, model, hf, gpu, tp, engine, serve, hw, weights, mml, blocks, note in _PAGES
    for block, n, tin, tout, dur, ttft in blocks)


def load(b: Burst):
    """The kvplan model spec of ``b`` (a built-in name, or a config.json under the repository)."""
    from kvplan.loader import load_model

    return load_model(str(REPO_ROOT / b.model) if b.model.endswith(".json") else b.model)


def request(b: Burst):
    """The deployment as kvplan plans it: the engine's own defaults (memory fraction,
    max_num_batched_tokens, max_num_seqs) derived by kvplan for the release, as the baseline
    scripts pass none of them."""
    from kvplan.capacity import make_request

    return make_request(load(b), b.gpu, tp=b.tp, engine=b.engine, weights=b.weights, max_model_len=b.max_model_len)


def predict(b: Burst):
    """kvplan's prefill of the burst: ``(StepTime, Setup)`` for ``b.requests`` prompts of
    ``b.prompt`` tokens arriving together on the idle replica."""
    from kvplan.capacity import plan
    from kvplan.speed import prefill_time, setup

    s = setup(plan(request(b)))
    return prefill_time(s, b.prompt, b.requests), s
