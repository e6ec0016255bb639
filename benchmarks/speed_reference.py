"""Published speed measurements kvplan's speed model is checked against (docs/speed.md).

Every entry is a figure someone measured and published, with where it was read. Nothing
here is measured by kvplan. ``predict(m)`` is what `kvplan speed` says for the same
deployment and load, through the library (``kvplan.speed``), with the shipped efficiency
factors unless others are given.

Metrics:
  e2e   vLLM ``benchmark_latency``: ``batch`` prompts of ``prompt`` tokens prefilled
        together, then ``output - 1`` decode steps; the end-to-end latency of the batch
  tpot  `bench_serve` at a fixed ``concurrency``: mean/median time per output token
        (first token excluded) while ``concurrency`` requests of ``prompt`` in /
        ``output`` out stream, new prompts prefilled in between (chunked prefill)
  ttft  median time to first token as the client measured it, at ``concurrency`` users
        (the server's request handling, tokenization and any wait for the step in flight
        included); kvplan's figure is one ``prompt``-token prefill on an idle replica
"""

from __future__ import annotations

from dataclasses import dataclass, replace

VLLM_CI = ("vLLM CI performance benchmark (vllm/.buildkite/nightly-benchmarks), latency test: batch 8, "
           "32 tokens in, 128 out, bf16, median end-to-end latency")
NIM = ("docs.nvidia.com/nim/benchmarking/llm/1.0.0/performance (llms.txt): Llama-3.3-70b-instruct, NIM 1.8.0, "
       "2 x H100 80G, fp8 TP2")
DSTACK = ("github.com/dstackai/benchmarks Deepseek-R1/raw_data/online_results.csv (commit 7f37e669; blog "
          "dstack.ai h200-mi300x-deepskeek-benchmark, 2025-03-18): DeepSeek-R1, random 3200 in / 800 out, "
          "500 prompts, median TPOT")
ROCM_BLOG = ("github.com/ROCm/rocm-blogs blogs/artificial-intelligence/LLM_Inference/README.md (commit 11235ac2; "
             "rocm.blogs.amd.com 'Best practices for competitive inference optimization on AMD Instinct MI300X "
             "GPUs', 2025-01-29), section 'vLLM Latency Benchmark Results', MI300X column (endnote MI300-074): "
             "vLLM benchmark_latency in the rocm/vllm-dev:20250112 image (vLLM 0.6.7.dev, ROCm 6.3), 8 x MI300X, "
             "FP8 TP8, batch x 2048 in / 2048 out, end-to-end latency (TTLT) in ms")


SGL_COOKBOOK = ("github.com/sgl-project/sgl-cookbook (commit 7b5bd9c0, docs.sglang.io/cookbook), section "
                "'5.1 Speed Benchmark': sglang.bench_serving --backend sglang, 8 x NVIDIA B200, --tp 8, no other "
                "server flags (KV cache dtype auto = bf16), median TPOT")
#: SGLang's default mem_fraction_static on a B200 (nvidia-smi: 183359 MiB) at tp 8, releases
#: 0.5.6-0.5.8 (kvplan.engines.sglang.default_fraction("reserved_0_5_6", 183359, 8, 1)):
#: reserved 512 + 1.5 x 16384 + 2 x 512 + 8/8 x 1024 = 27,136 MiB, round(156223 / 183359, 3).
#: kvplan's catalog does not hold the B200's nvidia-smi figure, so the rows give it; it only
#: decides whether the load fits.
SGL_B200_TP8_FRACTION = 0.852


#: SemiAnalysis InferenceMAX (github.com/InferenceMAX/InferenceMAX, since moved to
#: github.com/SemiAnalysisAI/InferenceX): each GitHub Actions sweep run uploads an aggregated result
#: (agg_bmk.json: hw, image, model, tp, ep, dp_attention, isl, osl, conc, mean/median TPOT in s).
#: Those artifacts are read here from the copies in github.com/gminneci/mantile
#: reconcile/sources/inferencemax/raw/run_<id>/agg_bmk.json (commit 72ff84eb).
INFMAX = ("InferenceMAX GitHub Actions run {run} artifact agg_bmk.json (copied in github.com/gminneci/mantile "
          "reconcile/sources/inferencemax/raw/run_{run}/agg_bmk.json, commit 72ff84eb): hw {hw}, image {image}, "
          "model {model}, tp {tp}, ep 1, dp_attention false, isl {isl} / osl {osl}, conc {c}, median_tpot; "
          "server flags: github.com/SemiAnalysisAI/InferenceX {script} at commit {commit}; client "
          "kimbochen/bench_serving benchmark_serving.py --dataset-name random --random-range-ratio 0.8 "
          "--ignore-eos --num-prompts 10 x conc --max-concurrency conc")
#: The client draws each request's lengths uniformly from [int(0.8 L), L] with numpy seed 0
#: (benchmark_serving.py sample_random_requests, --seed default 0; range ratio 0.8 is
#: .github/workflows/benchmark-tmpl.yml's default), outputs exact under --ignore-eos. Redrawn
#: here: (isl, osl) -> conc -> (requests, total input, total output tokens). Their in/out
#: ratio equals each artifact's input_tput_per_gpu / output_tput_per_gpu to the 4th digit
#: (e.g. 1k/1k at conc 4: 37068 / 36709 = 1.0098), so these are the runs' totals. The 1k/8k
#: line redrawn the same way (the inputs are the 1k/1k line's, as the input draw comes first
#: from the same seed): its ratio matches every 1k/8k artifact row used below to the 4th digit
#: at every conc (e.g. conc 4: 37068 / 290482 = 0.1276; conc 64: 590227 / 4727146 = 0.1249).
_INFMAX_TOKENS = {
    (1024, 1024): {4: (40, 37068, 36709), 8: (80, 73777, 74326), 16: (160, 148103, 146543),
                   32: (320, 294646, 295581), 64: (640, 590227, 589961)},
    (8192, 1024): {4: (40, 294050, 36805), 8: (80, 584809, 74069), 16: (160, 1175032, 146426),
                   32: (320, 2352062, 296143), 64: (640, 4727544, 589927)},
    (1024, 8192): {4: (40, 37068, 290482), 8: (80, 73777, 588640), 16: (160, 148103, 1180476),
                   32: (320, 294646, 2373111), 64: (640, 590227, 4727146)},
}
#: The MI355X runner asks 50 x conc prompts of DeepSeek-R1 (20 x conc at 8k out), not 10 x conc
#: (InferenceX runners/launch_mi355x-amd.sh at 70c1eceb6: NUM_PROMPTS); redrawn the same way, each
#: line's in/out ratio equals the artifact's input_tput_per_gpu / output_tput_per_gpu to the 4th
#: digit (run 20609406656, 1k/1k conc 4: 33.664 / 33.623 = 1.0012 = 184378 / 184153; 8k/1k conc 4:
#: 241.80 / 30.187 = 8.0102 = 1471966 / 183762).
_INFMAX_TOKENS_R1_MI355X = {
    (1024, 1024): {4: (200, 184378, 184153), 8: (400, 368531, 370510), 16: (800, 739041, 736508),
                   32: (1600, 1475549, 1472859), 64: (3200, 2948408, 2950415)},
    (8192, 1024): {4: (200, 1471966, 183762), 8: (400, 2945105, 370364), 16: (800, 5916180, 736700),
                   32: (1600, 11810993, 1471942), 64: (3200, 23590518, 2952237)},
    (1024, 8192): {4: (80, 73777, 588640), 8: (160, 148103, 1180476), 16: (320, 294646, 2373111),
                   32: (640, 590227, 4727146), 64: (1280, 1180188, 9428955)},
}


def _infmax(tag: str, model: str, gpu: str, engine: str, lines, *, run: str, hw: str, image: str,
            hf_model: str, script: str, commit: str, weights=None, kv=None, memory_fraction=None, note="",
            notes=None, fit=None, fuse_allreduce_rms=None, tokens=None, unfactored=False):
    """One row per concurrency of each InferenceMAX sweep line ``(tp, isl, osl, tpot_ms)`` in
    ``lines``; ``tpot_ms[conc]`` the artifact's median_tpot in ms (rounded to 0.01). Prompt and
    output: the run's means (_INFMAX_TOKENS). ``notes[(isl, osl, conc)]`` replaces ``note`` for
    that row; the row ``fit == (isl, osl, conc)`` is fit=True. ``tokens``: the run's draw when it is
    not _INFMAX_TOKENS (10 x conc prompts)."""
    return tuple(
        Measurement(f"imax-{gpu}-{tag}-tp{tp}-{isl // 1024}k{osl // 1024}k-c{c}", model, gpu, "tpot", v,
                    INFMAX.format(run=run, hw=hw, image=image, model=hf_model, tp=tp, isl=isl, osl=osl, c=c,
                                  script=script, commit=commit)
                    + f": {n} requests, {tin} input / {tout} output tokens, median TPOT {v} ms",
                    tp=tp, engine=engine, weights=weights, kv=kv, memory_fraction=memory_fraction, concurrency=c,
                    prompt=round(tin / n), output=round(tout / n), note=(notes or {}).get((isl, osl, c), note),
                    fit=(isl, osl, c) == fit, fuse_allreduce_rms=fuse_allreduce_rms, unfactored=unfactored)
        for tp, isl, osl, tpot_ms in lines
        for c, v in tpot_ms.items()
        for n, tin, tout in ((tokens or _INFMAX_TOKENS)[(isl, osl)][c],))


@dataclass(frozen=True)
class Measurement:
    id: str
    model: str  # kvplan built-in with the measured model's architecture, or a config path (repository-relative)
    gpu: str
    metric: str  # e2e, tpot, ttft
    value_ms: float
    source: str
    tp: int = 1
    dp: int = 1
    engine: str = "vllm"
    weights: str | None = None
    kv: str | None = None
    concurrency: int = 1
    prompt: int = 32
    output: int = 128
    memory_fraction: float | None = None  # the engine's memory fraction, where kvplan needs it given
    fit: bool = False  # used to fit the shipped factors (benchmarks/fit_speed.py): in-sample
    note: str = ""
    #: vLLM ran with --compilation-config pass_config fuse_allreduce_rms true / false; None: the
    #: engine release's default (kvplan.speed.setup; on from vLLM 0.17.0 at tp > 1 on 9.0 / 10.x)
    fuse_allreduce_rms: bool | None = None
    #: a GPU kvplan speed refuses without --calibration (speed.shipped_efficiency: no factors of its
    #: own): timed with the NVIDIA-fitted factors to show why, and left out of the counts
    unfactored: bool = False


#: The SGLang cookbook's three random-length runs (name, --random-input-len, --random-output-len,
#: and per concurrency: requests, total input tokens, total generated tokens, as printed; the
#: same seeds give the same totals for every model).
_SGL_RUNS = (("chat", 1000, 1000, ((1, 10, 6101, 4210), (16, 80, 39668, 40725), (100, 500, 249831, 252162))),
             ("reason", 1000, 8000, ((1, 10, 6101, 44452), (16, 80, 39668, 318226), (64, 320, 158939, 1300705))),
             ("summ", 8000, 1000, ((1, 10, 41941, 4210), (16, 80, 300020, 41589), (64, 320, 1273893, 169680))))


def _sgl_cookbook_random(tag: str, model: str, where: str, tpot_ms, *, weights=None, note=""):
    """One row per run and concurrency of _SGL_RUNS; ``tpot_ms[run][i]`` the median TPOT printed.
    Prompt and output are the run's means (total tokens / requests)."""
    return tuple(
        Measurement(f"sglcb-b200-{tag}-{name}-c{c}", model, "b200", "tpot", v,
                    f"{SGL_COOKBOOK}; {where}, --random-input-len {rin} --random-output-len {rout} --max-concurrency "
                    f"{c}: {n} requests, {tin} input / {tout} generated tokens, median TPOT {v} ms",
                    tp=8, engine="sglang==0.5.6", weights=weights, memory_fraction=SGL_B200_TP8_FRACTION,
                    concurrency=c, prompt=round(tin / n), output=round(tout / n), note=note)
        for (name, rin, rout, points), row in zip(_SGL_RUNS, tpot_ms)
        for (c, n, tin, tout), v in zip(points, row))


#: GPUStack's performance lab (github.com/gpustack/gpustack docs/performance-lab/, commit 47277d79,
#: 2026-08-21; pages last changed at 1f37f1b8, 2026-01-06; docs.gpustack.ai performance-lab):
#: `vllm bench serve --backend openai-chat --endpoint /v1/chat/completions --dataset-name sharegpt
#: --num-prompts 100 --max-concurrency N` against the page's "Baseline" (vLLM without any
#: optimizations) serving script; every printed block gives the run's request count and total
#: input / generated tokens, so prompt and output are the run's means.
GPUSTACK = ("github.com/gpustack/gpustack {page} (commit 47277d79; docs.gpustack.ai performance-lab), "
            "{section}: baseline `{serve}` ({engine}), {hw}; vllm bench serve --backend openai-chat "
            "--dataset-name sharegpt --num-prompts 100 --max-concurrency {c}: 100 requests, {tin} input / {tout} "
            "generated tokens, median TPOT {v} ms")
#: Rows taken, by a rule fixed before comparing with kvplan: every result block of those pages
#: that prints "Maximum request concurrency" (a fixed --max-concurrency), was run against the
#: page's baseline serving script (the other sections turn on speculative decoding, EAGLE,
#: torch.compile or other engines' tuning, not all modelled), and is of a model with a kvplan
#: built-in of the same architecture on a GPU kvplan has factors for (the Ascend 910B pages and
#: the Qwen3.5 / GLM pages drop out). That is the Qwen3-8B latency page's BS=1/2/4/8 sweep and
#: the ShareGPT batch-size-4 point of the gpt-oss-120b H100 and A100 pages and of the
#: DeepSeek-R1 H200 page. KV auto (bf16): no baseline script sets --kv-cache-dtype.
_GPUSTACK_ROWS = (
    # (id tag, model, gpu, tp, engine, weights, page, section, serve, hw, c, tin, tout, median TPOT)
    *(("qwen3-8b", "qwen3-8b", "h100-sxm", 1, "vllm==0.11.0", None, "docs/performance-lab/qwen3-8b/h100-latency.md",
       "'Other Benchmark Cases', Baseline benchmark results # BS=" + str(c), "vllm serve Qwen/Qwen3-8B",
       "Qwen/Qwen3-8B (BF16), a single NVIDIA H100 SXM GPU", c, 23260, 22061, v)
      for c, v in ((1, 7.22), (2, 7.30), (4, 7.40), (8, 7.67))),
    ("gptoss", "gpt-oss-120b", "h100-sxm", 1, "vllm==0.10.2", None, "docs/performance-lab/gpt-oss-120b/h100.md",
     "'Other Benchmark Cases', Baseline benchmark results # ShareGPT batch size 4",
     "vllm serve openai/gpt-oss-120b --max-model-len 32768",
     "openai/gpt-oss-120b (MXFP4 experts), 2 x NVIDIA H100 SXM, the baseline on one (no -tp)", 4, 22946, 21691, 8.24),
    ("gptoss", "gpt-oss-120b", "a100-80gb", 1, "vllm==0.11.0", None, "docs/performance-lab/gpt-oss-120b/a100.md",
     "'Other Benchmark Cases', Baseline benchmark results # ShareGPT batch size 4",
     "vllm serve openai/gpt-oss-120b --max-model-len 32768",
     "openai/gpt-oss-120b (MXFP4 experts), 2 x NVIDIA A100 SXM 80GB, the baseline on one (no -tp)", 4, 22946, 21691,
     11.44),
    ("r1", "deepseek-v3", "h200", 8, "vllm==0.11.0", "fp8", "docs/performance-lab/deepseek-r1/h200.md",
     "'Other Benchmark Cases', Baseline benchmark results # ShareGPT batch size 4",
     "vllm serve deepseek-ai/DeepSeek-R1-0528 -tp 8", "deepseek-ai/DeepSeek-R1-0528 (FP8), 8 x NVIDIA H200 SXM",
     4, 22836, 21338, 19.13),
)

#: The same blocks' median TTFT (ms), by (id tag, gpu, concurrency): the TTFT lines of the result
#: blocks quoted above (the gpt-oss H100 block is refused like its TPOT row, so not read).
_GPUSTACK_TTFT = {("qwen3-8b", "h100-sxm", 1): 60.38, ("qwen3-8b", "h100-sxm", 2): 64.78,
                  ("qwen3-8b", "h100-sxm", 4): 60.26, ("qwen3-8b", "h100-sxm", 8): 60.77,
                  ("gptoss", "a100-80gb", 4): 61.55, ("r1", "h200", 4): 117.53}


#: Vultr's NVIDIA HGX B200 inference cookbook (docs.vultr.com/inference-cookbook/cuda; read from the
#: stored copies of 2026-03-11 pages: optimization/concurrency-tuning "Throughput Results (NVIDIA HGX
#: B200 Verified)", benchmarks/methodology, benchmarks/results-overview and model-guides/*): `vllm bench
#: serve --dataset-name random --random-input-len 2048 --random-output-len 512`, 50 prompts at
#: concurrency 1 and 400 above (Nemotron Nano and MiniMax M2.5, bench_all.sh; DeepSeek and GLM-5 4 x
#: concurrency; Nemotron Super ~50 at every level), --gpu-memory-utilization 0.90, --max-model-len
#: 32768. The tables print one "TPOT (ms)" per concurrency; the methodology calls it "average time
#: between consecutive output tokens" (the mean). Random lengths are fixed (no --random-range-ratio
#: given: vLLM's default 0.0); the pages print no token totals, so prompt / output are 2048 / 512
#: (at one user, TTFT + 511 x TPOT reproduces the printed output tok/s for every model, e.g. Nemotron
#: Nano 0.362 + 511 x 0.00291 s -> 277 tok/s, so the outputs ran to 512).
#:
#: Rule, fixed on 2026-11-30 before any kvplan figure was computed for these runs: take every TPOT
#: row of the concurrency-tuning table, at every printed concurrency, of every model whose served
#: checkpoint kvplan reads with its exact architecture (a config fixture of that checkpoint's
#: architecture, tests/fixtures/hf_configs/README.md), served by a vLLM release kvplan models, with
#: the serve command stated (tp, weights, and the KV format that command gives); leave out a row
#: whose concurrency exceeds the run's prompt count (the run never reaches it), and a row the stored
#: copy does not show whole. Whatever kvplan then says, refusals included. Applied (the rule's "KV
#: format that command gives" then struck Nemotron Nano, below):
#:   - MiniMax M2.5, tp 4, vLLM 0.12.0 (methodology: "MiniMax M2.5 was benchmarked on vLLM 0.12.0
#:     because vLLM 0.16.0 crashes"; model-guides/minimax-m25: `vllm serve MiniMaxAI/MiniMax-M2.5
#:     --tensor-parallel-size 4 --max-model-len 32768 --gpu-memory-utilization 0.90
#:     --trust-remote-code`): architecture minimax-m2.5.json (that checkpoint's config), its own FP8
#:     weights, KV auto (bf16: 0.12.0 keeps the model dtype). Taken at 1, 8 and 16 users; the stored
#:     copy breaks off inside the 32-user row ("32 1,636 91 18."), so 32-1024 are not read.
#:   Left out: Nemotron 3 Nano 30B-A3B FP8, tp 2, vLLM 0.16.0 (model-guides/nemotron-nano: `vllm serve
#:   nvidia/NVIDIA-Nemotron-3-Nano-30B-A3B-FP8 --tensor-parallel-size 2 ...`): its KV format and weight
#:   layout are not stated anywhere stored. The FP8 checkpoint's config is in no stored copy; vLLM
#:   0.16.0 would store auto as fp8 if its ModelOpt config asks for an FP8 KV cache (rule
#:   checkpoint_fp8_kv_auto), and a third-party re-quantization card (huggingface.co/chankhavu/
#:   Nemotron-Cascade-2-30B-A3B-FP8) says NVIDIA's recipe does, keeping attention and six Mamba layers
#:   in BF16, which kvplan would plan as fp8 throughout. Both inferred, so not taken (it was timed
#:   once while the rows were drafted: +48% at one user, where kvplan's 52 x 63.9 us of layer
#:   overhead alone exceeds the 2.91 ms step; docs/findings/FINDINGS_h31_vultr.md);
#:   Llama-3.3-Nemotron-Super-49B (serves nvidia/Llama-3_3-Nemotron-Super-49B-v1_5-FP8;
#:   the fixture is v1's BF16 config and no stored copy gives v1.5's block_configs or the FP8
#:   checkpoint's KV setting; also ~50 prompts at every level, so 64-1024 users were never reached);
#:   GLM-5 (GlmMoeDsaForCausalLM: no kvplan reader); "DeepSeek V3.2" (the guide's serve command runs
#:   deepseek-ai/DeepSeek-V3-0324 with --quantization fp8 --block-size 1 while the other pages call
#:   the model V3.2, so which checkpoint the table measured is not established, and the stored copy
#:   does not show its table); Nemotron Nano NVFP4 tp 1 (table not in the stored copy).
VULTR = ("docs.vultr.com/inference-cookbook/cuda (pages updated 2026-03-11): optimization/concurrency-tuning, "
         "'Throughput Results (NVIDIA HGX B200 Verified)', {model} ({fmt}, TP={tp}, {tp} GPU{s}); serve: {serve} "
         "(model-guides/{guide}), vLLM {release} (benchmarks/methodology); vllm bench serve --dataset-name random "
         "--random-input-len 2048 --random-output-len 512, {n} prompts, --max-concurrency {c}: TPOT {v} ms (mean)")
_FIXTURES = "tests/fixtures/hf_configs"  # a row's model may be a config path, relative to the repository root


MEASUREMENTS: tuple[Measurement, ...] = (
    # vLLM's own CI: 3 models x 3 GPUs, batch 8 (buildkite vllm/performance-benchmark)
    Measurement("ci-h100-8b", "llama3.1-8b", "h100-sxm", "e2e", 997.365, f"{VLLM_CI}; build 9555, 8xH100",
                concurrency=8, fit=True),
    Measurement("ci-h100-70b", "llama3-70b", "h100-sxm", "e2e", 2444.3, f"{VLLM_CI}; build 9555, 8xH100", tp=4,
                concurrency=8, fit=True),
    Measurement("ci-h100-mixtral", "mixtral-8x7b", "h100-sxm", "e2e", 2330.57, f"{VLLM_CI}; build 9555, 8xH100",
                tp=2, concurrency=8, fit=True),
    Measurement("ci-a100-8b", "llama3.1-8b", "a100-80gb", "e2e", 1579.34, f"{VLLM_CI}; build 9523, A100-SXM4-80GB",
                concurrency=8),
    Measurement("ci-a100-70b", "llama3-70b", "a100-80gb", "e2e", 3990.39, f"{VLLM_CI}; build 9523, A100-SXM4-80GB",
                tp=4, concurrency=8),
    Measurement("ci-a100-mixtral", "mixtral-8x7b", "a100-80gb", "e2e", 3648.91,
                f"{VLLM_CI}; build 9523, A100-SXM4-80GB", tp=2, concurrency=8),
    Measurement("ci-h200-8b", "llama3.1-8b", "h200", "e2e", 834.014, f"{VLLM_CI}; build 9513, H200", concurrency=8),
    Measurement("ci-h200-70b", "llama3-70b", "h200", "e2e", 2075.36, f"{VLLM_CI}; build 9513, H200", tp=4,
                concurrency=8),
    Measurement("ci-h200-mixtral", "mixtral-8x7b", "h200", "e2e", 1920.16, f"{VLLM_CI}; build 9513, H200", tp=2,
                concurrency=8),
    # one user, vLLM 0.23, A100 40GB
    Measurement("jm-a100-40-8b-c1", "llama3.1-8b", "a100-40gb", "tpot", 1000 / 75,
                "johnmusgrave.com/p/vllm-throughput-latency-sweep-on: Llama-3.1-8B-Instruct BF16, vLLM 0.23.0, "
                "A100 40GB, 1024 in / 128 out: 'decode at one request per time runs at about 75 tokens/sec'",
                prompt=1024, output=128, note="published as ~75 tok/s; TPOT = 1000/75 ms"),
    # NIM (TensorRT-LLM inside), Llama-3.3-70B (the llama3.1-70b architecture), fp8 weights
    # NIM does not state its KV format. Its own table shows it: 50 users of 5,500 tokens ran
    # without queueing (TTFT 0.83 s) while 100 queued (TTFT 8 s, ITL flat at ~93 ms from 100
    # to 250 users); kvplan's trtllm pool holds 46 such requests with bf16 KV and 93 with fp8.
    *(Measurement(f"nim-h100-70b-c{c}", "llama3.1-70b", "h100-sxm", "tpot", v, f"{NIM}; 5000 in / 500 out, ITL",
                  tp=2, engine="trtllm", weights="fp8", kv="fp8", concurrency=c, prompt=5000, output=500,
                  note="KV fp8 (inferred, see the comment above)")
      for c, v in ((1, 18.58), (5, 21.83), (25, 38.75), (50, 59.73))),
    Measurement("nim-h100-70b-500in-c1", "llama3.1-70b", "h100-sxm", "tpot", 18.91,
                f"{NIM}; 500 in / 2000 out, ITL", tp=2, engine="trtllm", weights="fp8", kv="fp8", prompt=500,
                output=2000),
    Measurement("nim-h100-70b-ttft5000", "llama3.1-70b", "h100-sxm", "ttft", 406.77, f"{NIM}; 5000 in, TTFT at "
                "concurrency 1", tp=2, engine="trtllm", weights="fp8", kv="fp8", prompt=5000, output=500, fit=True,
                note="used to set the flops factor"),
    Measurement("nim-h100-70b-ttft500", "llama3.1-70b", "h100-sxm", "ttft", 47.77, f"{NIM}; 500 in, TTFT at "
                "concurrency 1", tp=2, engine="trtllm", weights="fp8", kv="fp8", prompt=500, output=2000),
    # DeepSeek-R1 (the deepseek-v3 architecture), FP8, 8 GPUs, dstack's runs
    *(Measurement(f"dstack-h200-vllm-c{c}", "deepseek-v3", "h200", "tpot", v,
                  f"{DSTACK}; H200, vLLM 0.7.4.dev (FLASHMLA), --tensor-parallel-size 8", tp=8, concurrency=c,
                  prompt=3200, output=800)
      for c, v in ((4, 25.73463239), (8, 31.32708064), (16, 49.75211769), (32, 51.99512878), (64, 64.41520109),
                   (128, 66.85374147))),
    *(Measurement(f"dstack-mi300x-vllm-c{c}", "deepseek-v3", "mi300x", "tpot", v,
                  f"{DSTACK}; MI300X, vLLM 0.7.3.dev (ROCm), --tensor-parallel-size 8", tp=8, concurrency=c,
                  prompt=3200, output=800)
      for c, v in ((4, 46.16849698), (8, 50.55525633), (16, 54.91463675), (32, 60.82328767), (64, 76.69277963),
                   (128, 108.6403598))),
    *(Measurement(f"dstack-h200-sglang-c{c}", "deepseek-v3", "h200", "tpot", v,
                  f"{DSTACK}; H200, SGLang 0.4.3.post2, --tp 8 --enable-dp-attention (8 attention DP ranks, "
                  f"MoE sliced over 8)", tp=1, dp=8, engine="sglang==0.4.6", memory_fraction=0.81, concurrency=c,
                  prompt=3200, output=800,
                  note="SGLang 0.4.3 is older than kvplan's SGLang rules: the pool (the fit check only) uses "
                       "0.4.6's with mem_fraction_static 0.81, the tp-8 default of 0.4.x")
      for c, v in ((4, 43.14762804), (8, 43.48452974), (16, 50.90542678), (32, 61.18636742), (64, 76.49795418),
                   (128, 108.3526393))),
    # Llama 3.1 70B and 405B in FP8 on 8 x MI300X, vLLM's offline latency benchmark: a batch
    # prefilled at once, then 2047 decode steps, so the figure is decode-bound. The blog gives
    # e2e latency, not TPOT; these rows are checked as e2e, nothing is converted.
    # KV fp8: the blog follows ROCm/MAD's standalone vLLM benchmark, whose float8 runs pass
    # "--dtype float16 --quantization fp8 --kv-cache-dtype fp8" (ROCm/MAD
    # scripts/vllm/vllm_benchmark_report.sh, commit 047bbf93); the blog's own serve commands for
    # the FP8-KV checkpoints (Meta-Llama-3.1-70B/405B-Instruct-FP8-KV) pass the same flags.
    *(Measurement(f"rocm-mi300x-70b-b{b}", "llama3.1-70b", "mi300x", "e2e", v,
                  f"{ROCM_BLOG}; Llama 3.1 70B FP8, batch {b}: {v}",
                  tp=8, weights="fp8", kv="fp8", concurrency=b, prompt=2048, output=2048)
      for b, v in ((1, 19154), (2, 19671), (4, 19976), (8, 22486), (16, 25246), (32, 28967), (64, 39920),
                   (128, 59514))),
    *(Measurement(f"rocm-mi300x-405b-b{b}", "llama3.1-405b", "mi300x", "e2e", v,
                  f"{ROCM_BLOG}; Llama 3.1 405B FP8, batch {b}: {v}",
                  tp=8, weights="fp8", kv="fp8", concurrency=b, prompt=2048, output=2048)
      for b, v in ((1, 52218), (2, 53227), (4, 55512), (8, 59931), (16, 66890), (32, 80688), (64, 108503),
                   (128, 168846))),

    # SGLang's cookbook on 8 x B200 (--tp 8): bench_serving's random dataset draws each
    # request's lengths up to --random-input-len / --random-output-len, so prompt and output
    # here are the run's means (total input / generated tokens over successful requests, as
    # printed); that keeps the run's prefill-to-decode token ratio. Three scenarios per model:
    # chat 1000/1000 (1, 16, 100 users), reasoning 1000/8000 and summarization 8000/1000
    # (1, 16, 64 users).
    *_sgl_cookbook_random("qwen3", "qwen3-235b-a22b", "docs/autoregressive/Qwen/Qwen3.md, "
                          "Qwen/Qwen3-235B-A22B-Instruct-2507 (BF16), sglang 0.5.6",
                          ((10.12, 16.12, 34.04), (10.24, 14.91, 24.07), (10.33, 16.66, 34.27)),
                          note="Qwen3-235B-A22B-Instruct-2507 has the qwen3-235b-a22b architecture (262k context, "
                               "not 40k)"),
    *_sgl_cookbook_random("r1", "deepseek-v3", "docs/autoregressive/DeepSeek/DeepSeek-R1.md, "
                          "deepseek-ai/DeepSeek-R1-0528 (FP8), SGLang 0.5.6.post1",
                          ((9.15, 17.46, 41.98), (9.20, 15.59, 26.72), (9.27, 19.23, 40.99)), weights="fp8",
                          note="0.5.6.post1 planned with 0.5.6's rules; KV bf16: SGLang (server_args.py) forces fp8 KV "
                               "on Blackwell only for DeepSeek NSA (V3.2), not for DeepseekV3ForCausalLM"),
    # gpt-oss-120b: bench_serving's default dataset (ShareGPT), so lengths vary more widely
    # (median TPOT 11.00 ms at 100 users, mean 14.31)
    *(Measurement(f"sglcb-b200-gptoss-c{c}", "gpt-oss-120b", "b200", "tpot", v,
                  f"{SGL_COOKBOOK}; docs/autoregressive/OpenAI/GPT-OSS.md, openai/gpt-oss-120b (MXFP4 experts), "
                  f"sglang 0.5.6, ShareGPT, --num-prompt {n} --max-concurrency {c}: {tin} input / {tout} generated "
                  f"tokens, median TPOT {v} ms",
                  tp=8, engine="sglang==0.5.6", memory_fraction=SGL_B200_TP8_FRACTION, concurrency=c,
                  prompt=round(tin / n), output=round(tout / n))
      for c, n, tin, tout, v in ((1, 100, 33178, 21251, 2.31), (100, 1000, 297156, 192432, 11.00))),

    # SemiAnalysis InferenceMAX sweeps (see INFMAX): current engines at 4-64 users, random
    # lengths (1k/1k and 8k/1k nominal; means from _INFMAX_TOKENS), no prefix caching.
    # Rows taken: for each GPU x model, the tp 2 and tp 8 1k/1k lines and the tp 2 8k/1k line
    # (H200 gpt-oss also tp 1 8k/1k; its tp 1 1k/1k line has only conc 4); DeepSeek-R1 is
    # swept at tp 8 only. Chosen before comparing with kvplan.
    # Added later by the same rule, also fixed before comparing (same runs, images and scripts
    # as the rows above): the 1k/8k (long output) lines at the tp values of each GPU x model's
    # 1k/1k lines (gpt-oss tp 2 and 8, DeepSeek tp 8), every conc 4-64 the line has; and B200,
    # same run as the H100/H200 lines: gpt-oss at the tp values used for the others (tp 1 where
    # its line has the 4-64 sweep, 2, and 8 at 1k/1k; tp 4 left out as for H100/H200) at 1k/1k
    # and 8k/1k, DeepSeek at tp 8 at 1k/1k and 8k/1k. The B200 tp 8 gpt-oss 1k/1k line has only
    # conc 4 and 8, taken as they are; its tp 8 8k/1k line (conc 4 only) left out like the
    # H100/H200 tp 8 8k/1k lines.
    #
    # gpt-oss-120b, vLLM 0.13.0 (vllm/vllm-openai:v0.13.0, run 20667906037, 2026-01-02T22:24Z,
    # the moment commit 4e52ed4c6 "Update vLLM version to v0.13.0" landed): MXFP4 experts
    # through the Marlin kernel (VLLM_MXFP4_USE_MARLIN=1), KV auto (bf16), async scheduling,
    # --max-num-batched-tokens 8192, --gpu-memory-utilization 0.9, --max-num-seqs = conc.
    *_infmax("gptoss", "gpt-oss-120b", "h100-sxm", "vllm==0.13.0", (
        (2, 1024, 1024, {4: 5.24, 8: 6.37, 16: 8.32, 32: 11.11, 64: 15.26}),
        (8, 1024, 1024, {4: 3.71, 8: 4.10, 16: 4.86, 32: 5.92, 64: 7.42}),
        (2, 8192, 1024, {4: 5.81, 8: 7.62, 16: 11.16, 32: 17.18, 64: 27.41}),
        (2, 1024, 8192, {4: 5.12, 8: 6.21, 16: 7.95, 32: 10.78, 64: 14.70}),
        (8, 1024, 8192, {4: 3.69, 8: 3.99, 16: 4.67, 32: 5.62, 64: 7.20})),
             run="20667906037", hw="h100", image="vllm/vllm-openai:v0.13.0", hf_model="openai/gpt-oss-120b",
             script="benchmarks/gptoss_fp4_h100_slurm.sh", commit="4e52ed4c6", memory_fraction=0.9),
    *_infmax("gptoss", "gpt-oss-120b", "h200", "vllm==0.13.0", (
        (1, 8192, 1024, {4: 7.33, 8: 10.54, 16: 16.39, 32: 25.82, 64: 43.38}),
        (2, 1024, 1024, {4: 4.92, 8: 6.14, 16: 8.05, 32: 10.80, 64: 14.74}),
        (8, 1024, 1024, {4: 3.68, 8: 4.01, 16: 4.71, 32: 5.73, 64: 7.16}),
        (2, 8192, 1024, {4: 5.47, 8: 7.23, 16: 10.53, 32: 16.36, 64: 26.08}),
        (2, 1024, 8192, {4: 4.84, 8: 5.80, 16: 7.60, 32: 10.13, 64: 14.01}),
        (8, 1024, 8192, {4: 3.60, 8: 3.97, 16: 4.53, 32: 5.41, 64: 6.86})),
             run="20667906037", hw="h200", image="vllm/vllm-openai:v0.13.0", hf_model="openai/gpt-oss-120b",
             script="benchmarks/gptoss_fp4_h200_slurm.sh", commit="4e52ed4c6", memory_fraction=0.9),
    # DeepSeek-R1-0528 (FP8), SGLang 0.5.6 on 8 x H200 (lmsysorg/sglang:v0.5.6-cu129-amd64,
    # run 20621824084, between runs 20308883467 of 2025-12-17 and 20667906037 of 2026-01-02;
    # dsr1_fp8_h200_slurm.sh unchanged from 2025-11-21 to 2026-01-12): --tp 8,
    # --mem-fraction-static 0.82, --attention-backend flashinfer, --disable-radix-cache,
    # --chunked-prefill-size 32768, KV auto (bf16).
    *_infmax("r1", "deepseek-v3", "h200", "sglang==0.5.6", (
        (8, 1024, 1024, {4: 12.09, 8: 13.69, 16: 17.62, 32: 25.35, 64: 33.16}),
        (8, 8192, 1024, {4: 13.46, 8: 15.89, 16: 22.41, 32: 35.49, 64: 53.41}),
        (8, 1024, 8192, {4: 12.27, 8: 13.54, 16: 17.08, 32: 24.31, 64: 31.76})),
             run="20621824084", hw="h200", image="lmsysorg/sglang:v0.5.6-cu129-amd64",
             hf_model="deepseek-ai/DeepSeek-R1-0528", script="benchmarks/dsr1_fp8_h200_slurm.sh",
             commit="4e52ed4c6", weights="fp8", memory_fraction=0.82, fit=(1024, 1024, 16),
             notes={(8192, 1024, 64): "8k/1k at 64 users refused by kvplan: 64 whole requests (7,387 + 922 tokens "
                                      "on average) need 531,776 KV tokens, 4% over the 510,470 kvplan finds at "
                                      "mem_fraction_static 0.82. The run completed; SGLang admits requests as pages "
                                      "free (mean TTFT 2.35 s here against 1.09 s at 32 users suggests queueing), "
                                      "so the refusal is kvplan's whole-request fit rule at the margin, not a "
                                      "measured overflow",
                    (1024, 1024, 16): "fit: the MoE measurement of the five that set the shared factors "
                                      "(benchmarks/fit_speed.py)",
                    (1024, 8192, 64): "1k/8k at 64 users refused by kvplan: 64 whole requests (922 + 7,386 tokens "
                                      "on average) need 531,712 KV tokens, 4% over the 510,470 kvplan finds at "
                                      "mem_fraction_static 0.82. The run completed (mean TTFT 0.51 s against "
                                      "0.32 s at 32 users, no sign of queueing): the 64 never hold their full "
                                      "lengths at once (outputs range 6,553-8,192 tokens and a finished request is "
                                      "replaced by a new, short one), so the refusal is kvplan's whole-request fit "
                                      "rule at the margin, not a measured overflow"}),
    # DeepSeek-R1-0528 (FP8), SGLang 0.5.5.post3 on 8 x MI300X
    # (lmsysorg/sglang:v0.5.5.post3-rocm700-mi30x, run 20720630953, after commit 70c1eceb6 of
    # 2026-01-05 that moved mi300x to this image; dsr1_fp8_mi300x_{docker,slurm}.sh unchanged
    # from 2025-11-21 to 2026-01-12): --tp 8, --mem-fraction-static 0.8, SGLANG_USE_AITER=1,
    # --num-continuous-decode-steps 4, --disable-radix-cache, KV auto (bf16). The 8k/1k line
    # has no conc 64 result.
    *_infmax("r1", "deepseek-v3", "mi300x", "sglang==0.5.4", (
        (8, 1024, 1024, {4: 26.59, 8: 28.00, 16: 32.61, 32: 39.02, 64: 51.55}),
        (8, 8192, 1024, {4: 30.24, 8: 33.82, 16: 41.13, 32: 55.53}),
        (8, 1024, 8192, {4: 26.82, 8: 28.61, 16: 31.32, 32: 36.17, 64: 46.85})),
             run="20720630953", hw="mi300x", image="lmsysorg/sglang:v0.5.5.post3-rocm700-mi30x",
             hf_model="deepseek-ai/DeepSeek-R1-0528", script="benchmarks/dsr1_fp8_mi300x_slurm.sh",
             commit="70c1eceb6", weights="fp8", memory_fraction=0.8, fit=(1024, 1024, 16),
             note="SGLang 0.5.5.post3 is not a release kvplan models: the pool (the fit check only) uses 0.5.4's "
                  "rules, the last modelled release before it, with mem_fraction_static 0.8 as given",
             notes={(1024, 1024, 16): "fit: sets the MI300X weights_bandwidth override (the twin of the H200 fit "
                                      "row); SGLang 0.5.5.post3 planned with 0.5.4's rules"}),
    # DeepSeek-R1-0528 (FP8), SGLang 0.5.5.post3 on 8 x MI325X, the same run and server flags as the
    # MI300X lines above (dsr1_fp8_mi325x_{docker,slurm}.sh at 70c1eceb6: --tp 8, --mem-fraction-static
    # 0.8, SGLANG_USE_AITER=1, --num-continuous-decode-steps 4, --disable-radix-cache, --cuda-graph-max-bs
    # 128), image lmsysorg/sglang:v0.5.5.post3-rocm700-mi30x. kvplan speed refuses the MI325X (no factors
    # of its own); the rows show the NVIDIA-fitted factors' error. The MI325X has 13% more bandwidth
    # than the MI300X and measures within 5% of it at every point: the stack, not HBM, sets the pace.
    *_infmax("r1", "deepseek-v3", "mi325x", "sglang==0.5.4", (
        (8, 1024, 1024, {4: 27.26, 8: 28.25, 16: 31.27, 32: 36.29, 64: 44.57}),
        (8, 8192, 1024, {4: 30.14, 8: 32.19, 16: 38.78, 32: 50.83, 64: 75.21}),
        (8, 1024, 8192, {4: 27.68, 8: 28.31, 16: 30.94, 32: 35.02, 64: 42.17})),
             run="20720630953", hw="mi325x", image="lmsysorg/sglang:v0.5.5.post3-rocm700-mi30x",
             hf_model="deepseek-ai/DeepSeek-R1-0528", script="benchmarks/dsr1_fp8_mi325x_slurm.sh",
             commit="70c1eceb6", weights="fp8", memory_fraction=0.8, unfactored=True,
             note="no MI325X factors: kvplan speed refuses it; NVIDIA-fitted factors shown, not counted"),
    # DeepSeek-R1-0528 (FP8), SGLang 0.5.5.post3 on 8 x MI355X (run 20609406656, image
    # lmsysorg/sglang:v0.5.5.post3-rocm700-mi35x, which commit 70c1eceb6 (PR #307 merged as #332)
    # introduced; the artifact does not record its commit, so the flags are that commit's
    # dsr1_fp8_mi355x_slurm.sh: --tp 8, --mem-fraction-static 0.8, --attention-backend aiter,
    # --enable-torch-compile, --num-continuous-decode-steps 4, ROCM_QUICK_REDUCE_QUANTIZATION=INT4).
    # 50 x conc prompts (20 x at 8k out): _INFMAX_TOKENS_R1_MI355X.
    *_infmax("r1", "deepseek-v3", "mi355x", "sglang==0.5.4", (
        (8, 1024, 1024, {4: 14.46, 8: 14.85, 16: 16.69, 32: 19.45, 64: 25.67}),
        (8, 8192, 1024, {4: 15.62, 8: 16.71, 16: 20.25, 32: 26.87, 64: 40.85}),
        (8, 1024, 8192, {4: 14.72, 8: 14.88, 16: 16.23, 32: 18.70, 64: 24.41})),
             run="20609406656", hw="mi355x", image="lmsysorg/sglang:v0.5.5.post3-rocm700-mi35x",
             hf_model="deepseek-ai/DeepSeek-R1-0528", script="benchmarks/dsr1_fp8_mi355x_slurm.sh",
             commit="70c1eceb6", weights="fp8", memory_fraction=0.8, tokens=_INFMAX_TOKENS_R1_MI355X,
             unfactored=True,
             note="no MI355X factors: kvplan speed refuses it; NVIDIA-fitted factors shown, not counted"),
    # gpt-oss-120b, vLLM 0.13.0 on B200 (same run 20667906037 and commit 4e52ed4c6 as the H100/H200
    # lines; gptoss_fp4_b200_slurm.sh, its _docker.sh twin has the same server flags): MXFP4 experts
    # through FlashInfer (VLLM_USE_FLASHINFER_MOE_MXFP4_MXFP8=1), --kv-cache-dtype fp8 (config.yaml),
    # compilation-config pass_config {"fuse_allreduce_rms": true, "eliminate_noops": true} (the
    # H100/H200 scripts leave it off, vLLM 0.13.0's default), async scheduling,
    # --max-num-batched-tokens 8192, --gpu-memory-utilization 0.9, --max-num-seqs 512, no prefix
    # caching.
    *_infmax("gptoss", "gpt-oss-120b", "b200", "vllm==0.13.0", (
        (1, 1024, 1024, {4: 3.82, 8: 4.78, 16: 6.06, 32: 8.29, 64: 10.77}),
        (2, 1024, 1024, {4: 3.36, 8: 3.85, 16: 4.65, 32: 5.79, 64: 7.08}),
        (8, 1024, 1024, {4: 2.89, 8: 3.19}),
        (1, 8192, 1024, {4: 4.10, 8: 5.25, 16: 7.00, 32: 10.05, 64: 14.83}),
        (2, 8192, 1024, {4: 3.59, 8: 4.10, 16: 5.22, 32: 6.86, 64: 9.83})),
             run="20667906037", hw="b200", image="vllm/vllm-openai:v0.13.0", hf_model="openai/gpt-oss-120b",
             script="benchmarks/gptoss_fp4_b200_slurm.sh", commit="4e52ed4c6", kv="fp8", memory_fraction=0.9,
             fuse_allreduce_rms=True),
    # The rest of run 20667906037's gpt-oss lines at conc 4-64, added 2026-11-30 (session 30), after
    # the rows above had been compared with kvplan: every tp 4 line, the tp 8 8k/1k lines, H200's
    # tp 1 1k/1k and 1k/8k lines (conc 4 only) and B200's 1k/8k lines. Taken whole, whatever kvplan
    # says of them (docs/speed.md gives the counts with and without them). Same images, scripts and
    # server flags as the lines above.
    *_infmax("gptoss", "gpt-oss-120b", "h100-sxm", "vllm==0.13.0", (
        (4, 1024, 1024, {4: 4.14, 8: 4.88, 16: 5.92, 32: 7.62, 64: 10.00}),
        (4, 1024, 8192, {4: 4.11, 8: 4.77, 16: 5.74, 32: 7.17, 64: 9.76}),
        (4, 8192, 1024, {4: 4.51, 8: 5.60, 16: 7.57, 32: 11.05, 64: 17.56}),
        (8, 8192, 1024, {4: 3.96, 8: 4.61, 16: 5.96})),
             run="20667906037", hw="h100", image="vllm/vllm-openai:v0.13.0", hf_model="openai/gpt-oss-120b",
             script="benchmarks/gptoss_fp4_h100_slurm.sh", commit="4e52ed4c6", memory_fraction=0.9),
    *_infmax("gptoss", "gpt-oss-120b", "h200", "vllm==0.13.0", (
        (1, 1024, 1024, {4: 6.51}),
        (1, 1024, 8192, {4: 6.20}),
        (4, 1024, 1024, {4: 4.03, 8: 4.59, 16: 5.75, 32: 7.29, 64: 9.68}),
        (4, 1024, 8192, {4: 3.99, 8: 4.49, 16: 5.38, 32: 6.91, 64: 9.34}),
        (4, 8192, 1024, {4: 4.37, 8: 5.30, 16: 7.27, 32: 10.50, 64: 16.83}),
        (8, 8192, 1024, {4: 3.88, 8: 4.51, 16: 5.72, 32: 7.84})),
             run="20667906037", hw="h200", image="vllm/vllm-openai:v0.13.0", hf_model="openai/gpt-oss-120b",
             script="benchmarks/gptoss_fp4_h200_slurm.sh", commit="4e52ed4c6", memory_fraction=0.9),
    *_infmax("gptoss", "gpt-oss-120b", "b200", "vllm==0.13.0", (
        (1, 1024, 8192, {4: 3.74, 8: 4.57, 16: 5.74, 32: 7.74, 64: 10.06}),
        (2, 1024, 8192, {4: 3.39, 8: 3.72, 16: 4.38, 32: 5.37, 64: 6.94}),
        (4, 1024, 1024, {4: 2.99, 8: 3.29, 16: 3.82, 32: 4.54, 64: 5.36}),
        (4, 1024, 8192, {4: 3.02, 8: 3.25, 16: 3.68, 32: 4.36, 64: 5.08}),
        (4, 8192, 1024, {4: 3.17, 8: 3.54, 16: 4.20, 32: 5.35, 64: 7.23}),
        (8, 1024, 8192, {4: 2.87, 8: 3.19}),
        (8, 8192, 1024, {4: 3.01})),
             run="20667906037", hw="b200", image="vllm/vllm-openai:v0.13.0", hf_model="openai/gpt-oss-120b",
             script="benchmarks/gptoss_fp4_b200_slurm.sh", commit="4e52ed4c6", kv="fp8", memory_fraction=0.9,
             fuse_allreduce_rms=True),
    # DeepSeek-R1-0528 (FP8), SGLang 0.5.6 on 8 x B200 (same run 20621824084 and image as the H200
    # lines; dsr1_fp8_b200_docker.sh unchanged from 2025-11-21 to 2026-01-12, its _slurm.sh twin
    # added 2025-12-31 with the same server flags): --tp 8, --mem-fraction-static 0.82,
    # --kv-cache-dtype fp8_e4m3, --attention-backend trtllm_mla, --chunked-prefill-size 32768,
    # --max-prefill-tokens 32768, --max-running-requests 128, --quantization fp8,
    # --moe-runner-backend flashinfer_trtllm, --disable-radix-cache. trtllm_mla turns page_size 1
    # into 64 (sglang 0.5.6 srt/server_args.py, "TensorRT-LLM MLA only supports page_size of 32 or
    # 64"); kvplan plans 1-token pages (the rows carry no page size): at most 63 tokens a request.
    *_infmax("r1", "deepseek-v3", "b200", "sglang==0.5.6", (
        (8, 1024, 1024, {4: 8.70, 8: 10.62, 16: 13.59, 32: 17.44, 64: 23.07}),
        (8, 8192, 1024, {4: 9.80, 8: 12.70, 16: 17.81, 32: 26.35, 64: 41.76})),
             run="20621824084", hw="b200", image="lmsysorg/sglang:v0.5.6-cu129-amd64",
             hf_model="deepseek-ai/DeepSeek-R1-0528", script="benchmarks/dsr1_fp8_b200_docker.sh",
             commit="4e52ed4c6", weights="fp8", kv="fp8", memory_fraction=0.82),
    # Vultr's B200 cookbook (see VULTR: the rule, fixed before comparing, and what it leaves out)
    *(Measurement(f"vultr-b200-minimax-m2.5-tp4-c{c}", f"{_FIXTURES}/minimax-m2.5.json", "b200", "tpot", v,
                  VULTR.format(model="MiniMax M2.5", fmt="FP8", tp=4, s="s",
                               serve="vllm serve MiniMaxAI/MiniMax-M2.5 --tensor-parallel-size 4 --max-model-len "
                                     "32768 --gpu-memory-utilization 0.90 --trust-remote-code",
                               guide="minimax-m25", release="0.12.0", n=50 if c == 1 else 400, c=c, v=v),
                  tp=4, engine="vllm==0.12.0", memory_fraction=0.9, concurrency=c, prompt=2048, output=512)
      for c, v in ((1, 11.40), (8, 13.37), (16, 15.01))),
    # GPUStack's performance lab (see GPUSTACK and _GPUSTACK_ROWS below: the rule and the rows)
    *(Measurement(f"gpstk-{gpu}-{tag}-tp{tp}-c{c}", model, gpu, "tpot", v,
                  GPUSTACK.format(page=page, section=section, serve=serve, engine=engine, hw=hw, c=c, tin=tin,
                                  tout=tout, v=v),
                  tp=tp, engine=engine, weights=weights, concurrency=c, prompt=round(tin / 100),
                  output=round(tout / 100))
      for tag, model, gpu, tp, engine, weights, page, section, serve, hw, c, tin, tout, v in _GPUSTACK_ROWS),
)

#: The SGLang cookbook's other pages (github.com/sgl-project/sgl-cookbook, commit 7b5bd9c0), added
#: 2026-12-01 (session 32, docs/findings/FINDINGS_h32_srcdoc.md).
#: Rule, fixed before any kvplan figure was computed for these runs: every printed
#: `sglang.bench_serving` result block (requests, total input and generated tokens, median TPOT) of
#: a page's "Speed Benchmark" section whose page names one GPU type kvplan has factors for (NVIDIA;
#: AMD only MI300X) and its count; whose served checkpoint is a built-in or has its own config under
#: tests/fixtures/hf_configs; whose serve command is stated and sets nothing the rows cannot carry
#: (tp; `--dp D --enable-dp-attention` as tp = N / D, dp = D; `--mem-fraction-static`; allowed
#: besides: --trust-remote-code, --host, --port and --context-length, which bounds one request's
#: length), so no speculative decoding and no --ep; on a stated SGLang release (a .postN planned with
#: its release's rules, a release between modelled ones with the last modelled one before it);
#: not already above. Taken whatever kvplan says. Prompt / output: the run's means (totals /
#: requests), as _sgl_cookbook_random. KV auto (bf16: no --kv-cache-dtype); mem_fraction_static left
#: to kvplan's SGLang default (no serve command here sets it). Applied: Qwen3-Next-80B-A3B-Instruct
#: on 8 x B200 (1 and 100 users), Llama-4-Scout-17B-16E-Instruct on 8 x MI300X (1, 16, 100) and
#: Kimi-K2-Instruct on 8 x B200 at 1 user (its 100-user block ran with --ep 4). Left out (the
#: FINDINGS file gives each reason): Llama 3.1 70B ("A100" without 40/80 GB), GLM-4.6 (four GPU types
#: named for one set of figures), DeepSeek-V3 / V3.2 (EAGLE, --ep), DeepSeek-V3.1 and MiniMax-M2 on
#: MI300X (no stored config of those checkpoints), MiniMax-M2.5 (--ep 8), and pages without a
#: release number, a serve command or a kvplan reader.
SGL_COOKBOOK_PAGES = ("github.com/sgl-project/sgl-cookbook (commit 7b5bd9c0, docs.sglang.io/cookbook) {page}, "
                      "section '{section}': {checkpoint}, {hw}, `{serve}`, sglang {release}; sglang.bench_serving "
                      "--backend sglang {data}--max-concurrency {c}: {n} requests, {tin} input / {tout} generated "
                      "tokens, median TPOT {v} ms")
_SGL_COOKBOOK_PAGES_ROWS = (
    # (id, fixture, gpu, tp, dp, engine, weights, page, section, checkpoint, hw, serve, release, data, c, n, tin,
    #  tout, median TPOT ms, note)
    *((f"sgldoc-b200-qwen3next-tp8-c{c}", "qwen3-next-80b-a3b-instruct.json", "b200", 8, 1, "sglang==0.5.6", None,
       "docs/autoregressive/Qwen/Qwen3-Next.md", "5.1 Speed Benchmark", "Qwen/Qwen3-Next-80B-A3B-Instruct (BF16)",
       "8 x NVIDIA B200", "python -m sglang.launch_server --model Qwen/Qwen3-Next-80B-A3B-Instruct --tp 8", "0.5.6",
       f"(ShareGPT, the default dataset) --num-prompt {n} ", c, n, tin, tout, v, "")
      for c, n, tin, tout, v in ((1, 100, 33839, 21640, 6.17), (100, 1000, 302118, 195775, 50.28))),
    *((f"sgldoc-mi300x-scout-tp8-c{c}", "llama-4-scout-17b-16e-instruct.json", "mi300x", 8, 1, "sglang==0.5.9", None,
       "docs/autoregressive/Llama/Llama4.md", "5.1 Speed Benchmark", "meta-llama/Llama-4-Scout-17B-16E-Instruct (BF16)",
       "AMD MI300X, Tensor Parallelism 8",
       "sglang serve --model-path meta-llama/Llama-4-Scout-17B-16E-Instruct --tp 8 --context-length 1000000 "
       "--trust-remote-code", "0.5.9",
       f"--dataset-name random --random-input-len 1000 --random-output-len 1000 --num-prompts {n} ", c, n, tin, tout,
       v, note)
      for c, n, tin, tout, v, note in (
          (1, 10, 6101, 4220, 7.40, ""),
          (16, 80, 49668, 40805, 12.00, "input total as printed (49,668; the same draw prints 39,668 on every other "
                                        "cookbook page)"),
          (100, 500, 249841, 252662, 42.90, "input total as printed (249,841; 249,831 on every other cookbook page)"))),
    ("sgldoc-b200-kimik2-tp2dp4-c1", "kimi-k2-instruct.json", "b200", 2, 4, "sglang==0.5.6", "fp8",
     "docs/autoregressive/Moonshotai/Kimi-K2.md", "5.1.1 Latency-Sensitive Benchmark",
     "moonshotai/Kimi-K2-Instruct (FP8)", "8 x NVIDIA B200",
     "python3 -m sglang.launch_server --model-path moonshotai/Kimi-K2-Instruct --tp 8 --dp 4 --enable-dp-attention "
     "--trust-remote-code", "0.5.6.post1", "(ShareGPT, the default dataset) --num-prompts 10 ", 1, 10, 1951, 2755,
     15.63, "SGLang 0.5.6.post1 planned with 0.5.6's rules; --tp 8 --dp 4 --enable-dp-attention: 4 attention DP "
            "ranks of tp 2, MoE sliced over 8"),
)
MEASUREMENTS = MEASUREMENTS + tuple(
    Measurement(mid, f"{_FIXTURES}/{fixture}", gpu, "tpot", v,
                SGL_COOKBOOK_PAGES.format(page=page, section=section, checkpoint=checkpoint, hw=hw, serve=serve,
                                          release=release, data=data, c=c, n=n, tin=tin, tout=tout, v=v),
                tp=tp, dp=dp, engine=engine, weights=weights, concurrency=c, prompt=round(tin / n),
                output=round(tout / n), note=note)
    for (mid, fixture, gpu, tp, dp, engine, weights, page, section, checkpoint, hw, serve, release, data, c, n, tin,
         tout, v, note) in _SGL_COOKBOOK_PAGES_ROWS)

#: InferenceMAX median TTFT (ms) at 4 users, the lowest concurrency of every sweep line above, by
#: the id of that line's 4-user TPOT row (same artifact row: agg_bmk.json median_ttft, in s there).
_INFMAX_TTFT_C4 = {
    "imax-h100-sxm-gptoss-tp2-1k1k-c4": 51.32,
    "imax-h100-sxm-gptoss-tp8-1k1k-c4": 29.66,
    "imax-h100-sxm-gptoss-tp2-8k1k-c4": 219.73,
    "imax-h100-sxm-gptoss-tp2-1k8k-c4": 54.58,
    "imax-h100-sxm-gptoss-tp8-1k8k-c4": 29.79,
    "imax-h200-gptoss-tp1-8k1k-c4": 335.65,
    "imax-h200-gptoss-tp2-1k1k-c4": 52.05,
    "imax-h200-gptoss-tp8-1k1k-c4": 29.78,
    "imax-h200-gptoss-tp2-8k1k-c4": 222.1,
    "imax-h200-gptoss-tp2-1k8k-c4": 51.59,
    "imax-h200-gptoss-tp8-1k8k-c4": 36.71,
    "imax-h200-r1-tp8-1k1k-c4": 117.59,
    "imax-h200-r1-tp8-8k1k-c4": 333.84,
    "imax-h200-r1-tp8-1k8k-c4": 119.69,
    "imax-mi300x-r1-tp8-1k1k-c4": 175.95,
    "imax-mi300x-r1-tp8-8k1k-c4": 574.48,
    "imax-mi300x-r1-tp8-1k8k-c4": 177.78,
    "imax-mi325x-r1-tp8-1k1k-c4": 132.91,
    "imax-mi325x-r1-tp8-8k1k-c4": 488.97,
    "imax-mi325x-r1-tp8-1k8k-c4": 133.9,
    "imax-mi355x-r1-tp8-1k1k-c4": 104.46,
    "imax-mi355x-r1-tp8-8k1k-c4": 263.38,
    "imax-mi355x-r1-tp8-1k8k-c4": 106.27,
    "imax-b200-gptoss-tp1-1k1k-c4": 45.18,
    "imax-b200-gptoss-tp2-1k1k-c4": 32.06,
    "imax-b200-gptoss-tp8-1k1k-c4": 24.75,
    "imax-b200-gptoss-tp1-8k1k-c4": 92.16,
    "imax-b200-gptoss-tp2-8k1k-c4": 72.19,
    "imax-h100-sxm-gptoss-tp4-1k1k-c4": 38.49,
    "imax-h100-sxm-gptoss-tp4-1k8k-c4": 38.38,
    "imax-h100-sxm-gptoss-tp4-8k1k-c4": 142.16,
    "imax-h100-sxm-gptoss-tp8-8k1k-c4": 108.47,
    "imax-h200-gptoss-tp1-1k1k-c4": 80.34,
    "imax-h200-gptoss-tp1-1k8k-c4": 78.15,
    "imax-h200-gptoss-tp4-1k1k-c4": 39.08,
    "imax-h200-gptoss-tp4-1k8k-c4": 38.12,
    "imax-h200-gptoss-tp4-8k1k-c4": 141.48,
    "imax-h200-gptoss-tp8-8k1k-c4": 122.05,
    "imax-b200-gptoss-tp1-1k8k-c4": 47.28,
    "imax-b200-gptoss-tp2-1k8k-c4": 34.72,
    "imax-b200-gptoss-tp4-1k1k-c4": 26.72,
    "imax-b200-gptoss-tp4-1k8k-c4": 27.18,
    "imax-b200-gptoss-tp4-8k1k-c4": 66.97,
    "imax-b200-gptoss-tp8-1k8k-c4": 24.8,
    "imax-b200-gptoss-tp8-8k1k-c4": 61.08,
    "imax-b200-r1-tp8-1k1k-c4": 147.17,
    "imax-b200-r1-tp8-8k1k-c4": 408.33,
}


#: InferenceMAX median inter-token latency (ms) of every vLLM sweep row above, by its TPOT row's id
#: (the same agg_bmk.json row's median_itl). vLLM's server streams every token, so the client's
#: ITL is the time between two tokens: its median is a decode step without a prompt in it (at
#: most one step in ``output / (users - 1)`` carries one), where TPOT also averages in the steps
#: that compute other users' prompts. Added on 2026-11-30 for every vLLM row, after kvplan's
#: decode step had been set beside a few of them; not used for SGLang rows (its client's ITL
#: spans a streamed chunk of tokens: 117.71 ms at 4 users on the DeepSeek H200 line).
_INFMAX_ITL = {
    "imax-h100-sxm-gptoss-tp2-1k1k-c4": 5.14,
    "imax-h100-sxm-gptoss-tp2-1k1k-c8": 6.21,
    "imax-h100-sxm-gptoss-tp2-1k1k-c16": 7.89,
    "imax-h100-sxm-gptoss-tp2-1k1k-c32": 10.21,
    "imax-h100-sxm-gptoss-tp2-1k1k-c64": 13.31,
    "imax-h100-sxm-gptoss-tp8-1k1k-c4": 3.68,
    "imax-h100-sxm-gptoss-tp8-1k1k-c8": 4.02,
    "imax-h100-sxm-gptoss-tp8-1k1k-c16": 4.68,
    "imax-h100-sxm-gptoss-tp8-1k1k-c32": 5.55,
    "imax-h100-sxm-gptoss-tp8-1k1k-c64": 6.65,
    "imax-h100-sxm-gptoss-tp2-8k1k-c4": 5.22,
    "imax-h100-sxm-gptoss-tp2-8k1k-c8": 6.33,
    "imax-h100-sxm-gptoss-tp2-8k1k-c16": 8.24,
    "imax-h100-sxm-gptoss-tp2-8k1k-c32": 11.16,
    "imax-h100-sxm-gptoss-tp2-8k1k-c64": 14.98,
    "imax-h100-sxm-gptoss-tp2-1k8k-c4": 5.13,
    "imax-h100-sxm-gptoss-tp2-1k8k-c8": 6.23,
    "imax-h100-sxm-gptoss-tp2-1k8k-c16": 7.96,
    "imax-h100-sxm-gptoss-tp2-1k8k-c32": 10.66,
    "imax-h100-sxm-gptoss-tp2-1k8k-c64": 14.51,
    "imax-h100-sxm-gptoss-tp8-1k8k-c4": 3.69,
    "imax-h100-sxm-gptoss-tp8-1k8k-c8": 3.97,
    "imax-h100-sxm-gptoss-tp8-1k8k-c16": 4.64,
    "imax-h100-sxm-gptoss-tp8-1k8k-c32": 5.57,
    "imax-h100-sxm-gptoss-tp8-1k8k-c64": 7.08,
    "imax-h200-gptoss-tp1-8k1k-c4": 6.36,
    "imax-h200-gptoss-tp1-8k1k-c8": 8.4,
    "imax-h200-gptoss-tp1-8k1k-c16": 11.63,
    "imax-h200-gptoss-tp1-8k1k-c32": 15.92,
    "imax-h200-gptoss-tp1-8k1k-c64": 23.09,
    "imax-h200-gptoss-tp2-1k1k-c4": 4.84,
    "imax-h200-gptoss-tp2-1k1k-c8": 5.95,
    "imax-h200-gptoss-tp2-1k1k-c16": 7.57,
    "imax-h200-gptoss-tp2-1k1k-c32": 9.79,
    "imax-h200-gptoss-tp2-1k1k-c64": 12.78,
    "imax-h200-gptoss-tp8-1k1k-c4": 3.65,
    "imax-h200-gptoss-tp8-1k1k-c8": 3.93,
    "imax-h200-gptoss-tp8-1k1k-c16": 4.51,
    "imax-h200-gptoss-tp8-1k1k-c32": 5.37,
    "imax-h200-gptoss-tp8-1k1k-c64": 6.4,
    "imax-h200-gptoss-tp2-8k1k-c4": 4.9,
    "imax-h200-gptoss-tp2-8k1k-c8": 5.95,
    "imax-h200-gptoss-tp2-8k1k-c16": 7.62,
    "imax-h200-gptoss-tp2-8k1k-c32": 10.48,
    "imax-h200-gptoss-tp2-8k1k-c64": 13.96,
    "imax-h200-gptoss-tp2-1k8k-c4": 4.84,
    "imax-h200-gptoss-tp2-1k8k-c8": 5.82,
    "imax-h200-gptoss-tp2-1k8k-c16": 7.58,
    "imax-h200-gptoss-tp2-1k8k-c32": 10.0,
    "imax-h200-gptoss-tp2-1k8k-c64": 13.79,
    "imax-h200-gptoss-tp8-1k8k-c4": 3.6,
    "imax-h200-gptoss-tp8-1k8k-c8": 3.95,
    "imax-h200-gptoss-tp8-1k8k-c16": 4.53,
    "imax-h200-gptoss-tp8-1k8k-c32": 5.37,
    "imax-h200-gptoss-tp8-1k8k-c64": 6.73,
    "imax-b200-gptoss-tp1-1k1k-c4": 3.75,
    "imax-b200-gptoss-tp1-1k1k-c8": 4.63,
    "imax-b200-gptoss-tp1-1k1k-c16": 5.72,
    "imax-b200-gptoss-tp1-1k1k-c32": 7.56,
    "imax-b200-gptoss-tp1-1k1k-c64": 9.44,
    "imax-b200-gptoss-tp2-1k1k-c4": 3.32,
    "imax-b200-gptoss-tp2-1k1k-c8": 3.74,
    "imax-b200-gptoss-tp2-1k1k-c16": 4.43,
    "imax-b200-gptoss-tp2-1k1k-c32": 5.36,
    "imax-b200-gptoss-tp2-1k1k-c64": 6.27,
    "imax-b200-gptoss-tp8-1k1k-c4": 2.86,
    "imax-b200-gptoss-tp8-1k1k-c8": 3.13,
    "imax-b200-gptoss-tp1-8k1k-c4": 3.91,
    "imax-b200-gptoss-tp1-8k1k-c8": 4.79,
    "imax-b200-gptoss-tp1-8k1k-c16": 6.02,
    "imax-b200-gptoss-tp1-8k1k-c32": 7.95,
    "imax-b200-gptoss-tp1-8k1k-c64": 10.61,
    "imax-b200-gptoss-tp2-8k1k-c4": 3.45,
    "imax-b200-gptoss-tp2-8k1k-c8": 3.78,
    "imax-b200-gptoss-tp2-8k1k-c16": 4.55,
    "imax-b200-gptoss-tp2-8k1k-c32": 5.44,
    "imax-b200-gptoss-tp2-8k1k-c64": 6.96,
    "imax-h100-sxm-gptoss-tp4-1k1k-c4": 4.08,
    "imax-h100-sxm-gptoss-tp4-1k1k-c8": 4.76,
    "imax-h100-sxm-gptoss-tp4-1k1k-c16": 5.66,
    "imax-h100-sxm-gptoss-tp4-1k1k-c32": 7.03,
    "imax-h100-sxm-gptoss-tp4-1k1k-c64": 8.81,
    "imax-h100-sxm-gptoss-tp4-1k8k-c4": 4.1,
    "imax-h100-sxm-gptoss-tp4-1k8k-c8": 4.75,
    "imax-h100-sxm-gptoss-tp4-1k8k-c16": 5.68,
    "imax-h100-sxm-gptoss-tp4-1k8k-c32": 7.12,
    "imax-h100-sxm-gptoss-tp4-1k8k-c64": 9.55,
    "imax-h100-sxm-gptoss-tp4-8k1k-c4": 4.15,
    "imax-h100-sxm-gptoss-tp4-8k1k-c8": 4.78,
    "imax-h100-sxm-gptoss-tp4-8k1k-c16": 5.79,
    "imax-h100-sxm-gptoss-tp4-8k1k-c32": 7.35,
    "imax-h100-sxm-gptoss-tp4-8k1k-c64": 10.12,
    "imax-h100-sxm-gptoss-tp8-8k1k-c4": 3.72,
    "imax-h100-sxm-gptoss-tp8-8k1k-c8": 4.06,
    "imax-h100-sxm-gptoss-tp8-8k1k-c16": 4.77,
    "imax-h200-gptoss-tp1-1k1k-c4": 6.32,
    "imax-h200-gptoss-tp1-1k8k-c4": 6.23,
    "imax-h200-gptoss-tp4-1k1k-c4": 3.97,
    "imax-h200-gptoss-tp4-1k1k-c8": 4.48,
    "imax-h200-gptoss-tp4-1k1k-c16": 5.45,
    "imax-h200-gptoss-tp4-1k1k-c32": 6.7,
    "imax-h200-gptoss-tp4-1k1k-c64": 8.5,
    "imax-h200-gptoss-tp4-1k8k-c4": 3.98,
    "imax-h200-gptoss-tp4-1k8k-c8": 4.46,
    "imax-h200-gptoss-tp4-1k8k-c16": 5.36,
    "imax-h200-gptoss-tp4-1k8k-c32": 6.84,
    "imax-h200-gptoss-tp4-1k8k-c64": 9.14,
    "imax-h200-gptoss-tp4-8k1k-c4": 4.01,
    "imax-h200-gptoss-tp4-8k1k-c8": 4.51,
    "imax-h200-gptoss-tp4-8k1k-c16": 5.51,
    "imax-h200-gptoss-tp4-8k1k-c32": 6.87,
    "imax-h200-gptoss-tp4-8k1k-c64": 9.46,
    "imax-h200-gptoss-tp8-8k1k-c4": 3.63,
    "imax-h200-gptoss-tp8-8k1k-c8": 3.98,
    "imax-h200-gptoss-tp8-8k1k-c16": 4.58,
    "imax-h200-gptoss-tp8-8k1k-c32": 5.44,
    "imax-b200-gptoss-tp1-1k8k-c4": 3.77,
    "imax-b200-gptoss-tp1-1k8k-c8": 4.6,
    "imax-b200-gptoss-tp1-1k8k-c16": 5.68,
    "imax-b200-gptoss-tp1-1k8k-c32": 7.62,
    "imax-b200-gptoss-tp1-1k8k-c64": 9.83,
    "imax-b200-gptoss-tp2-1k8k-c4": 3.38,
    "imax-b200-gptoss-tp2-1k8k-c8": 3.71,
    "imax-b200-gptoss-tp2-1k8k-c16": 4.33,
    "imax-b200-gptoss-tp2-1k8k-c32": 5.31,
    "imax-b200-gptoss-tp2-1k8k-c64": 6.81,
    "imax-b200-gptoss-tp4-1k1k-c4": 2.96,
    "imax-b200-gptoss-tp4-1k1k-c8": 3.22,
    "imax-b200-gptoss-tp4-1k1k-c16": 3.68,
    "imax-b200-gptoss-tp4-1k1k-c32": 4.28,
    "imax-b200-gptoss-tp4-1k1k-c64": 4.86,
    "imax-b200-gptoss-tp4-1k8k-c4": 3.02,
    "imax-b200-gptoss-tp4-1k8k-c8": 3.24,
    "imax-b200-gptoss-tp4-1k8k-c16": 3.65,
    "imax-b200-gptoss-tp4-1k8k-c32": 4.34,
    "imax-b200-gptoss-tp4-1k8k-c64": 4.99,
    "imax-b200-gptoss-tp4-8k1k-c4": 3.06,
    "imax-b200-gptoss-tp4-8k1k-c8": 3.29,
    "imax-b200-gptoss-tp4-8k1k-c16": 3.69,
    "imax-b200-gptoss-tp4-8k1k-c32": 4.29,
    "imax-b200-gptoss-tp4-8k1k-c64": 5.09,
    "imax-b200-gptoss-tp8-1k8k-c4": 2.86,
    "imax-b200-gptoss-tp8-1k8k-c8": 3.17,
    "imax-b200-gptoss-tp8-8k1k-c4": 2.9,
}


def decode_itl_ms(m: Measurement) -> tuple[float, float] | None:
    """(published median ITL, kvplan's plain decode step) in ms for an InferenceMAX vLLM row, the
    step timed as ``predict`` times the row's TPOT but without the steps that compute a prompt
    (``kvplan.speed.decode_step`` without ``output_tokens``), at the same mean context."""
    if m.id not in _INFMAX_ITL:
        return None
    from kvplan.speed import decode_step

    step = decode_step(timed_setup(m), m.concurrency, m.prompt + m.output // 2)
    return _INFMAX_ITL[m.id], step.total_s * 1e3


def _ttft_rows() -> tuple[Measurement, ...]:
    """TTFT rows, added on 2026-11-30 after kvplan's TTFT had been set beside a few of them (so not
    chosen blind) and taken whole by this rule: for every InferenceMAX sweep line above, its
    4-user point (``_INFMAX_TTFT_C4``); for every GPUStack block above, the same block's median
    TTFT (``_GPUSTACK_TTFT``). Each is its TPOT row's deployment and load with the metric and
    figure replaced: a client's TTFT at 1-8 users, which kvplan times as one prompt's prefill on
    an idle replica (docs/speed.md says what that leaves out)."""
    rows = []
    for m in MEASUREMENTS:
        if m.id in _INFMAX_TTFT_C4:
            v = _INFMAX_TTFT_C4[m.id]
        elif m.id.startswith("gpstk-"):
            key = (m.id.split("-tp")[0].removeprefix(f"gpstk-{m.gpu}-"), m.gpu, m.concurrency)
            if key not in _GPUSTACK_TTFT:
                continue
            v = _GPUSTACK_TTFT[key]
        else:
            continue
        tail = f"median TPOT {m.value_ms} ms"
        assert m.source.endswith(tail), m.id
        source = m.source[: -len(tail)].replace("median_tpot", "median_ttft") + f"median TTFT {v} ms"
        rows.append(replace(m, id=f"{m.id}-ttft", metric="ttft", value_ms=v, source=source, fit=False, note=""))
    return tuple(rows)


MEASUREMENTS = MEASUREMENTS + _ttft_rows()


def request(m: Measurement):
    from kvplan.capacity import make_request
    from kvplan.loader import load_model

    from pathlib import Path

    model = m.model  # a built-in name, or a config path relative to the repository root
    if model.endswith(".json") and not Path(model).is_absolute():
        model = str(Path(__file__).resolve().parent.parent / model)
    return make_request(load_model(model), m.gpu, tp=m.tp, dp=m.dp, engine=m.engine, weights=m.weights,
                        kv_format=m.kv, gpu_memory_utilization=m.memory_fraction)


def timed_setup(m: Measurement, efficiency=None):
    """The kvplan.speed Setup ``m`` is timed with: its deployment's plan, with ``efficiency``, else
    the shipped factors (the NVIDIA-fitted defaults on a GPU without its own, ``m.unfactored``)."""
    from kvplan.capacity import plan
    from kvplan.speed import default_efficiency, setup

    pool = plan(request(m))
    if efficiency is None and m.unfactored:
        efficiency = default_efficiency(pool.request.gpu)
    return setup(pool, efficiency, m.fuse_allreduce_rms)


def predict(m: Measurement, efficiency=None) -> float:
    """kvplan's figure for ``m`` in milliseconds."""
    from kvplan.speed import decode_step, estimate, prefill_time

    s = timed_setup(m, efficiency)
    if m.metric == "e2e":
        prefill = prefill_time(s, m.prompt, m.concurrency).total_s
        decode = decode_step(s, m.concurrency, m.prompt + m.output // 2).total_s
        return (prefill + (m.output - 1) * decode) * 1e3
    if m.metric == "ttft":
        return prefill_time(s, m.prompt).total_s * 1e3
    point = estimate(s, m.concurrency, m.prompt, m.output)
    if not point.fits:
        raise ValueError(f"{m.id}: kvplan says the load does not fit: {point.reason}")
    return point.tpot_s * 1e3
