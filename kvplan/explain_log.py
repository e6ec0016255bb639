"""Reading a vLLM or SGLang startup log into the figures it states (``parse_log``).

Only what the log says is kept; nothing is filled in here. Every figure is an exact
Fraction of the decimal the log printed (GiB figures keep their 0.01 rounding). When a
line appears once per worker the first one (rank 0) is taken.

vLLM lines read (release by release they differ; each pattern names its origin):
  "Initializing a V1 LLM engine (v0.11.0) with config: model='...', dtype=torch.bfloat16,
   max_seq_len=8192, ..., tensor_parallel_size=2, pipeline_parallel_size=1, ...,
   quantization=None, ..., kv_cache_dtype=auto, ..."                 (engine/core.py)
  "non-default args: {...}"                                         (entrypoints/utils.py)
  "Chunked prefill is enabled with max_num_batched_tokens=8192."    (config/scheduler.py)
  "Model loading took 14.99 GiB"     V1;  "Loading model weights took 14.9888 GB" V0 (GiB)
  "Available KV cache memory: 58.11 GiB"                            (v1/worker/gpu_worker.py)
  "GPU KV cache size: 476,016 tokens", "Maximum concurrency for 8,192 tokens per request:
   58.11x"                                                          (v1/core/kv_cache_utils.py)
  V0 memory profile: "total_gpu_memory (23.58GiB) x gpu_memory_utilization (0.99) = 23.35GiB",
   "model weights take 21.21GiB; non_torch_memory takes 0.20GiB; PyTorch activation peak
   memory takes 0.37GiB; the rest of the memory reserved for KV Cache is 1.57GiB." and the
   tabular form of 0.6.5 ("model weights take   14.96GiB" ...)      (worker/worker.py)
  "Free memory on device (23.15/23.56 GiB) on startup. Desired GPU memory utilization is
   (0.92, 21.67 GiB). Actual usage is ..."                          (v1/worker/gpu_worker.py)
  "Using FlashInfer for top-p & top-k sampling." / "... Falling back to the PyTorch-native
   implementation of top-p & top-k sampling"                        (topk_topp_sampler.py)
  "Asynchronous scheduling is enabled." / "... is disabled."        (config/vllm.py VllmConfig.
   __post_init__, logger.info_once, once per process: 0.19.1 :790, 0.20.0-0.20.2 :840, 0.21.0
   :886, 0.22.x :977, 0.23.0 :999, 0.24.0 :1006, 0.25.x :1042, 0.26.0 :1109; also in 0.15.1 logs)
  "Model loading took 14.99 GiB memory and 6.72 seconds" (the V1 runner, v1/worker/
   gpu_model_runner.py: 0.19.1 :4821 ... 0.26.0 :5348) against "Model loading took 14.99 GiB and
   ..." (Model Runner V2, v1/worker/gpu/model_runner.py: 0.19.1 :292 ... 0.26.0 :306; and the V1
   runner of 0.9.0.1, before V2 existed): which words the load line has (``loading_words``)
SGLang lines:
  "server_args=ServerArgs(model_path='...', ..., mem_fraction_static=0.88, ..., tp_size=1, ...)"
  "Load weight begin. avail mem=78.63 GB", "Load weight end. ..., avail mem=63.49 GB,
   mem usage=15.14 GB.", "KV Cache is allocated. #tokens: 482139, K size: 29.43 GB, V size:
   29.43 GB", "max_total_num_tokens=482139, ..."                    (model_executor/model_runner.py)
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field, fields
from fractions import Fraction

from kvplan.errors import BadInputError

GIB = 1 << 30
_NUM = r"([0-9]+(?:\.[0-9]+)?)"
_DTYPES = {"bfloat16": "bf16", "float16": "fp16", "half": "fp16", "float32": "fp32", "float": "fp32",
           "bf16": "bf16", "fp16": "fp16", "fp32": "fp32"}


@dataclass(frozen=True)
class LoggedStartup:
    """The figures one startup log states (GiB as exact Fractions of the printed decimals)."""

    engine: str  # "vllm" or "sglang"
    release: str | None = None
    model: str | None = None
    args: dict = field(default_factory=dict)  # non-default args (vLLM) / ServerArgs fields (SGLang)
    dtype: str | None = None  # bf16 / fp16 / fp32
    tp: int = 1
    pp: int = 1
    max_model_len: int | None = None
    kv_cache_dtype: str | None = None
    quantization: str | None = None
    memory_fraction: Fraction | None = None  # gpu_memory_utilization / mem_fraction_static
    max_num_batched_tokens: int | None = None
    max_num_seqs: int | None = None
    gpu_name: str | None = None  # as the log names it (nvidia-smi, collect_env)
    total_gib: Fraction | None = None
    requested_gib: Fraction | None = None
    free_at_start_gib: Fraction | None = None
    weights_gib: Fraction | None = None
    activation_gib: Fraction | None = None
    non_torch_gib: Fraction | None = None
    weights_plus_non_torch_gib: Fraction | None = None  # newer logs: "consumed memory (weights + non-torch)"
    cudagraph_estimate_gib: Fraction | None = None
    cudagraph_gib: Fraction | None = None  # captured graphs ("Graph capturing finished ..., took")
    kv_gib: Fraction | None = None
    kv_tokens: int | None = None
    max_concurrency: Fraction | None = None
    concurrency_at_tokens: int | None = None
    num_gpu_blocks: int | None = None  # V0 "# GPU blocks: N"
    sampler: str | None = None  # "flashinfer" / "sort" when the log says which top-k/top-p path runs
    nodes: int | None = None  # hosts the workers ran on, when the log shows it (see _nodes)
    enforce_eager: bool | None = None  # the config line's enforce_eager= (or the non-default args')
    async_scheduling: bool | None = None  # "Asynchronous scheduling is enabled." / "... disabled."
    loading_words: str | None = None  # "GiB memory and" / "GiB and" in "Model loading took N ..."
    # SGLang
    avail_before_load_gib: Fraction | None = None
    avail_after_load_gib: Fraction | None = None
    k_gib: Fraction | None = None
    v_gib: Fraction | None = None
    #: SGLang's DP ranks under enable_dp_attention=True (dp_size; 1 without): ``tp`` stays its
    #: whole --tp, each rank's attention runs over tp // dp_attention GPUs
    dp_attention: int = 1

    def stated(self) -> dict:
        """The fields the log stated (for --json)."""
        out = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if v is None or v == {}:
                continue
            out[f.name] = float(v) if isinstance(v, Fraction) else v
        return out


def _first(pattern: str, text: str, flags=0):
    m = re.search(pattern, text, flags)
    return m


def _frac(text: str) -> Fraction:
    return Fraction(text)


def _int(text: str) -> int:
    return int(text.replace(",", ""))


def _dtype(text: str | None) -> str | None:
    if text is None:
        return None
    key = text.strip().strip("'\"").lower().replace("torch.", "")
    return _DTYPES.get(key)


def _literal_dict(text: str) -> dict:
    """A non-default-args dict; values vLLM prints as objects (KVTransferConfig(...)) are dropped."""
    try:
        value = ast.literal_eval(text)
        return value if isinstance(value, dict) else {}
    except (ValueError, SyntaxError):
        out = {}
        for m in re.finditer(r"'(\w+)': ('[^']*'|[-0-9.]+|True|False|None)", text):
            try:
                out[m.group(1)] = ast.literal_eval(m.group(2))
            except (ValueError, SyntaxError):
                continue
        return out


def _config_value(line: str, key: str) -> str | None:
    m = re.search(rf"\b{key}=('[^']*'|[^,)\s]+)", line)
    return m.group(1).strip("'") if m else None


def detect_engine(text: str) -> str | None:
    if re.search(r"ServerArgs\(|KV Cache is allocated\. |max_total_num_tokens=|Load weight (?:begin|end)\.", text):
        return "sglang"
    if re.search(r"\bvLLM\b|\bvllm\b|\[gpu_worker\.py|kv_cache_utils\.py|LLM engine \(v|Available KV cache memory|"
                 r"GPU KV cache size|Memory profiling results|GPU blocks: \d+|Loading model weights took|Model loading took", text):
        return "vllm"
    return None


def parse_log(text: str) -> LoggedStartup:
    """The figures a vLLM or SGLang startup log states. BadInputError (one line) when the text
    is not such a log or stops before the KV cache is sized."""
    if not text.strip():
        raise BadInputError("the log is empty")
    engine = detect_engine(text)
    if engine == "vllm":
        return _parse_vllm(text)
    if engine == "sglang":
        return _parse_sglang(text)
    raise BadInputError("not a vLLM or SGLang startup log (no engine, memory or KV-cache line found)")


def _nodes(text: str, args: dict) -> int | None:
    """Hosts a log's GPU workers ran on, where the log shows it: an ``nnodes`` argument (vLLM
    --nnodes from 0.11.1, vllm/engine/arg_utils.py; SGLang ServerArgs.nnodes), or Ray's
    prefixes on worker lines. Ray names a worker's ip only when its node's address differs
    from the driver's ("(RayWorkerWrapper pid=1234, ip=10.0.0.2) ...", ray/_private/worker.py):
    the hosts are the distinct ips, plus the driver's when a worker line has no ip (a worker
    beside the driver), plus vLLM's ``distributed_init_method=tcp://IP:PORT`` host (rank 0's)
    when it names one. A driver whose address merely resolves differently from its own
    node's (containers, several interfaces) makes every worker line name the same ip: one
    host. None when the log shows none of these."""
    n = args.get("nnodes")
    if isinstance(n, int) and not isinstance(n, bool) and n >= 1:
        return n
    workers = re.findall(r"\((?:\w+ )?pid=\d+(?:, ip=([0-9A-Fa-f.:]+))?\)", text)
    ips = {ip for ip in workers if ip}
    if not ips:
        return None
    hosts = set(ips)
    m = re.search(r"distributed_init_method=tcp://\[?([0-9A-Fa-f.:]+?)\]?:\d+", text)
    if m:
        hosts.add(m.group(1))
    elif any(not ip for ip in workers):
        hosts.add("the driver's")
    return len(hosts)


def _parse_vllm(text: str) -> LoggedStartup:
    v: dict = {"engine": "vllm"}
    m = (_first(r"LLM engine \(v([0-9][^)\s]*)\)", text) or _first(r"vLLM API server version ([0-9]\S*)", text)
         or _first(r"version\s+([0-9]+\.[0-9]+\.[0-9]+\S*)", text))
    if m:
        v["release"] = m.group(1)
    cfg = _first(r"with config: (.*)", text)
    args = {}
    m = _first(r"non-default args: (\{.*\})", text)
    if m:
        args = _literal_dict(m.group(1))
    v["args"] = args
    if cfg:
        line = cfg.group(1)
        v["model"] = _config_value(line, "model")
        v["dtype"] = _dtype(_config_value(line, "dtype"))
        for key, name in (("max_seq_len", "max_model_len"), ("tensor_parallel_size", "tp"),
                          ("pipeline_parallel_size", "pp")):
            val = _config_value(line, key)
            if val and val.isdigit():
                v[name] = int(val)
        q = _config_value(line, "quantization")
        v["quantization"] = None if q in (None, "None") else q
        v["kv_cache_dtype"] = _config_value(line, "kv_cache_dtype")
        eager = _config_value(line, "enforce_eager")
        if eager in ("True", "False"):
            v["enforce_eager"] = eager == "True"
    # non-default args override or fill in
    if "model" in args and not v.get("model"):
        v["model"] = args["model"]
    m = _first(r"vllm serve (\S+)", text)
    if m and not v.get("model"):
        v["model"] = m.group(1)
    for key, name in (("tensor_parallel_size", "tp"), ("pipeline_parallel_size", "pp"),
                      ("max_model_len", "max_model_len"), ("max_num_seqs", "max_num_seqs"),
                      ("max_num_batched_tokens", "max_num_batched_tokens")):
        if isinstance(args.get(key), int) and not isinstance(args.get(key), bool):
            v[name] = args[key]
    if "kv_cache_dtype" in args:
        v["kv_cache_dtype"] = args["kv_cache_dtype"]
    if isinstance(args.get("enforce_eager"), bool):
        v["enforce_eager"] = args["enforce_eager"]
    if "dtype" in args and _dtype(str(args["dtype"])):
        v.setdefault("dtype", _dtype(str(args["dtype"])))
    if "quantization" in args:
        v["quantization"] = args["quantization"]
    if "gpu_memory_utilization" in args:
        v["memory_fraction"] = Fraction(str(args["gpu_memory_utilization"]))
    m = _first(r"Chunked prefill is enabled with max_num_batched_tokens=(\d+)", text)
    if m and "max_num_batched_tokens" not in v:
        v["max_num_batched_tokens"] = int(m.group(1))
    # the GPU
    m = (_first(r"GPU \d+: (NVIDIA [^\n(|]+?)\s*(?:\(|\n|$)", text)
         or _first(r"\|\s+\d+\s+(NVIDIA [A-Za-z0-9][A-Za-z0-9 .-]*?)\s{2,}", text))
    if m:
        v["gpu_name"] = m.group(1).strip()
    # weights
    m = _first(r"Model loading took " + _NUM + r" ?(GiB memory and|GiB and) ", text)
    if m:
        v["loading_words"] = m.group(2)
    m = (_first(r"Model loading took " + _NUM + r" ?GiB", text) or _first(r"Loading model weights took " + _NUM + " ?GB", text)
         or _first(r"model weights take\s+" + _NUM + r" ?GiB", text))
    if m:
        v["weights_gib"] = _frac(m.group(1))
    # V0 profile, one-line form (0.6.6-0.8) and tabular form (0.6.5)
    m = _first(r"total_gpu_memory \(" + _NUM + r" ?GiB\) x gpu_memory_utilization \(" + _NUM + r"\) = " + _NUM, text)
    if m:
        v["total_gib"], v["memory_fraction"], v["requested_gib"] = (_frac(m.group(i)) for i in (1, 2, 3))
    m = _first(r"non_torch_memory(?: takes)?\s+" + _NUM + r" ?GiB", text)
    if m:
        v["non_torch_gib"] = _frac(m.group(1))
    m = _first(r"PyTorch activation peak memory(?: takes)?\s+" + _NUM + r" ?GiB", text)
    if m:
        v["activation_gib"] = _frac(m.group(1))
    m = _first(r"the rest of the memory reserved for KV Cache is " + _NUM + r" ?GiB", text) or _first(
        r"available_kv_cache_memory\s+" + _NUM + r" ?GiB", text)
    if m:
        v["kv_gib"] = _frac(m.group(1))
    m = _first(r"total_gpu_memory\s+" + _NUM + r" ?GiB", text)
    if m and "total_gib" not in v:
        v["total_gib"] = _frac(m.group(1))
    m = _first(r"gpu_memory_utilization\s+" + _NUM + r"\s*$", text, re.M)
    if m and "memory_fraction" not in v:
        v["memory_fraction"] = _frac(m.group(1))
    m = _first(r"the current vLLM instance can use\s+" + _NUM + r" ?GiB", text)
    if m and "requested_gib" not in v:
        v["requested_gib"] = _frac(m.group(1))
    # 0.6.3-0.6.4 one-line profile: peak_torch_memory is absolute (weights included)
    m = _first(r"Memory profiling results: total_gpu_memory=" + _NUM + r"GiB .*?peak_torch_memory=" + _NUM
               + r"GiB .*?non_torch_memory=" + _NUM + r"GiB kv_cache_size=" + _NUM + r"GiB gpu_memory_utilization="
               + _NUM, text)
    if m:
        v["total_gib"], v["non_torch_gib"], v["kv_gib"] = _frac(m.group(1)), _frac(m.group(3)), _frac(m.group(4))
        v["memory_fraction"] = _frac(m.group(5))
        if v.get("weights_gib") is not None:
            v["activation_gib"] = _frac(m.group(2)) - v["weights_gib"]
    m = _first(r"(?:^|[\s\]])#? ?(?:GPU|CUDA) blocks: (\d+)", text)
    if m:
        v["num_gpu_blocks"] = int(m.group(1))
    # V1 and later
    m = _first(r"Available KV cache memory: " + _NUM + r" GiB", text) or _first(
        r"Current kv cache memory in use is " + _NUM + " GiB", text)
    if m:
        v["kv_gib"] = _frac(m.group(1))
    m = _first(r"GPU KV cache size: ([0-9,]+) tokens", text)
    if m:
        v["kv_tokens"] = _int(m.group(1))
    m = _first(r"Maximum concurrency for ([0-9,]+) tokens per request: " + _NUM + "x", text)
    if m:
        v["concurrency_at_tokens"], v["max_concurrency"] = _int(m.group(1)), _frac(m.group(2))
    m = _first(r"Initial free memory:? " + _NUM + r" GiB; Requested memory: " + _NUM + r" \(util\), " + _NUM + " GiB",
               text)
    if m:
        v["free_at_start_gib"] = _frac(m.group(1))
        v.setdefault("memory_fraction", _frac(m.group(2)))
        v["requested_gib"] = _frac(m.group(3))
    m = _first(r"Free memory on device \(" + _NUM + "/" + _NUM + r" GiB\) on startup\. Desired GPU memory utilization is \("
               + _NUM + ", " + _NUM + r" GiB\)\. Actual usage is (.*?)\. Replace", text)
    if m:
        v["free_at_start_gib"], v["total_gib"] = _frac(m.group(1)), _frac(m.group(2))
        v.setdefault("memory_fraction", _frac(m.group(3)))
        v["requested_gib"] = _frac(m.group(4))
        usage = m.group(5)
        for pattern, name in ((_NUM + r" GiB for weight\b", "weights_gib"),
                              (_NUM + r" GiB for consumed memory \(weights \+ non-torch\)", "weights_plus_non_torch_gib"),
                              (_NUM + r" GiB for peak activation", "activation_gib"),
                              (_NUM + r" GiB for non-torch memory", "non_torch_gib"),
                              (_NUM + r" GiB for CUDAGraph memory", "cudagraph_gib")):
            mm = re.search(pattern, usage)
            if mm:
                v[name] = _frac(mm.group(1))
    m = _first(r"Estimated CUDA graph memory: " + _NUM + " GiB", text)
    if m:
        v["cudagraph_estimate_gib"] = _frac(m.group(1))
    m = _first(r"Graph capturing finished in \d+ secs?, took " + _NUM + " GiB", text)
    if m and "cudagraph_gib" not in v:
        v["cudagraph_gib"] = _frac(m.group(1))
    # debug-level profile result (bytes)
    for key, name in (("torch_peak_increase", "activation_gib"), ("non_torch_increase", "non_torch_gib")):
        m = _first(rf"\b{key}=(\d+)\b", text)
        if m and name not in v:
            v[name] = Fraction(int(m.group(1)), GIB)
    v["nodes"] = _nodes(text, args)
    m = _first(r"Asynchronous scheduling is (enabled|disabled)\.", text)
    if m:
        v["async_scheduling"] = m.group(1) == "enabled"
    if re.search(r"Using FlashInfer for top-p & top-k sampling", text):
        v["sampler"] = "flashinfer"
    elif re.search(r"Falling back to the PyTorch-native implementation of top-p & top-k sampling"
                   # v1/sample/ops/topk_topp_sampler.py TopKTopPSampler.__init__, the native sampler:
                   # 0.20.0 :57-61 (debug, FlashInfer off by default), 0.21.0 :62-66 (a GPU FlashInfer
                   # does not support) and :71-74 (VLLM_USE_FLASHINFER_SAMPLER=0)
                   r"|FlashInfer top-p/top-k sampling is available but disabled"
                   r"|FlashInfer top-p/top-k sampling not supported on compute capability"
                   r"|FlashInfer top-p/top-k sampling disabled via VLLM_USE_FLASHINFER_SAMPLER=0", text):
        v["sampler"] = "sort"
    if v.get("kv_gib") is None and v.get("num_gpu_blocks") is None and v.get("kv_tokens") is None:
        raise BadInputError("truncated vLLM log: no 'Available KV cache memory', 'GPU KV cache size' (or V0 "
                            "memory profile / '# GPU blocks') line, so the KV cache was not sized yet")
    return LoggedStartup(**v)


def _parse_sglang(text: str) -> LoggedStartup:
    v: dict = {"engine": "sglang"}
    m = _first(r"ServerArgs\((.*)\)", text)
    args: dict = {}
    if m:
        for mm in re.finditer(r"(\w+)=('[^']*'|[-0-9.e]+|True|False|None)", m.group(1)):
            try:
                args[mm.group(1)] = ast.literal_eval(mm.group(2))
            except (ValueError, SyntaxError):
                continue
    v["args"] = args
    v["model"] = args.get("model_path")
    v["dtype"] = _dtype(args.get("dtype")) if args.get("dtype") not in (None, "auto") else None
    v["tp"] = args.get("tp_size") or 1
    v["pp"] = args.get("pp_size") or 1
    if args.get("enable_dp_attention") is True and (args.get("dp_size") or 1) > 1:
        v["dp_attention"] = args["dp_size"]
    v["kv_cache_dtype"] = args.get("kv_cache_dtype")
    q = args.get("quantization")
    v["quantization"] = q
    if args.get("mem_fraction_static") is not None:
        v["memory_fraction"] = Fraction(str(args["mem_fraction_static"]))
    if args.get("context_length"):
        v["max_model_len"] = args["context_length"]
    if args.get("chunked_prefill_size"):
        v["max_num_batched_tokens"] = args["chunked_prefill_size"]
    m = _first(r"sglang(?:==| version:? )v?([0-9]+\.[0-9]+\.[0-9]+(?:\.post[0-9]+)?)", text)
    if m:
        v["release"] = m.group(1)
    m = _first(r"Load weight begin\. avail mem=" + _NUM + " GB", text)
    if m:
        v["avail_before_load_gib"] = _frac(m.group(1))
    m = _first(r"Load weight end\..*?avail mem=" + _NUM + r" GB, mem usage=" + _NUM + " GB", text)
    if m:
        v["avail_after_load_gib"], v["weights_gib"] = _frac(m.group(1)), _frac(m.group(2))
        # model_runner.py load_model prints mem usage = before - after (both rounded to 0.01)
        v.setdefault("avail_before_load_gib", v["avail_after_load_gib"] + v["weights_gib"])
    m = _first(r"KV Cache is allocated\. (?:dtype: \S+, )?#tokens: (\d+), K size: " + _NUM + r" GB, V size: " + _NUM + " GB",
               text)
    if m:
        v["kv_tokens"] = int(m.group(1))
        v["k_gib"], v["v_gib"] = _frac(m.group(2)), _frac(m.group(3))
        v["kv_gib"] = v["k_gib"] + v["v_gib"]
    m = _first(r"max_total_num_tokens=(\d+).*?context_len=(\d+)", text)
    if m:
        v.setdefault("kv_tokens", int(m.group(1)))
        v.setdefault("max_model_len", int(m.group(2)))
    m = _first(r"max_running_requests=(\d+)", text)
    if m:
        v["max_num_seqs"] = int(m.group(1))
    v["nodes"] = _nodes(text, args)
    if v.get("kv_tokens") is None:
        raise BadInputError("truncated SGLang log: no 'KV Cache is allocated' or 'max_total_num_tokens' line, "
                            "so the KV cache was not sized yet")
    return LoggedStartup(**v)


#: Model names in the calibration records -> kvplan built-ins (the records keep vLLM's names).
_RECORD_MODELS = {"Qwen2-7B-Instruct (local path name)": "qwen2-7b"}


def from_record(r: dict) -> LoggedStartup:
    """A calibration record (tests/fixtures/calibration/vllm_startup_logs.json: the figures of
    one public startup log, not its lines) as parse_log would have read that log."""
    def f(x):
        return None if x is None else Fraction(str(x))

    e = r.get("extra") or {}
    gpu = r["gpu"]
    name = ("NVIDIA H100 80GB HBM3" if "H100" in gpu else "NVIDIA A100-SXM4-40GB" if "40GB" in gpu
            else "NVIDIA A100-SXM4-80GB" if "A100" in gpu else None)
    return LoggedStartup(
        engine=r["engine"], release=r["engine_version"].lstrip("v"),
        model=_RECORD_MODELS.get(r["model"], r["model"]), dtype=_dtype(r["dtype"]),
        tp=r["tensor_parallel_size"], pp=r["pipeline_parallel_size"], max_model_len=r["max_model_len"],
        kv_cache_dtype=r["kv_cache_dtype"], quantization=r["quantization"],
        memory_fraction=f(r["gpu_memory_utilization"]), gpu_name=name, total_gib=f(r["gpu_total_memory_gib"]),
        requested_gib=f(e.get("requested_memory_gib")), free_at_start_gib=f(e.get("free_memory_at_startup_gib")),
        weights_gib=f(r["model_weights_gib"]), activation_gib=f(e.get("torch_peak_memory_increase_gib")),
        non_torch_gib=f(e.get("non_torch_forward_increase_gib")),
        cudagraph_estimate_gib=f(e.get("cudagraph_memory_estimated_gib")), kv_gib=f(r["available_kv_cache_gib"]),
        kv_tokens=r["kv_cache_tokens"], max_concurrency=f(r["max_concurrency"]),
        concurrency_at_tokens=r["max_concurrency_at_tokens"], num_gpu_blocks=r.get("kv_cache_blocks"),
        max_num_batched_tokens=e.get("max_num_batched_tokens_logged"), sampler=e.get("sampler"), nodes=r.get("nodes"),
        cudagraph_gib=f(e.get("cudagraph_memory_actual_gib")) if e.get("cudagraph_memory_estimated_gib") is None
        else None)
