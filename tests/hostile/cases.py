"""The hostile cases run by tests/hostile/run.py: bad, huge, special and malicious inputs
for every command. ``{dir}`` in an argument is the case's own folder."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Callable
from pathlib import Path
from dataclasses import dataclass, field

ESC_CLEAR = "\x1b[2J\x1b[H"
OSC52 = "\x1b]52;c;ZWNobyBwd25lZA==\x07"
BIDI = "\u202egnp.exe"


@dataclass
class Case:
    name: str
    group: str
    args: list[str]
    files: dict = field(default_factory=dict)
    env: dict = field(default_factory=dict)
    codes: frozenset = frozenset({0, 1, 2})
    max_err: int = 1
    check: Callable | None = None
    stdout: str | None = None  # "closed-pipe", "closed-fd", "full"
    signal: tuple | None = None  # (signal, glob that triggers it | seconds after start)
    stdin: str | None = None  # a file (in the case's folder, or absolute) for stdin
    timeout: float | None = None


CASES: list[Case] = []


def case(name, group, *args, **kw) -> None:
    CASES.append(Case(name, group, [str(a) for a in args], **kw))


# -- checks ---------------------------------------------------------------------------------
def refused(code: int = 2, *words: str):
    def check(r):
        if r["rc"] != code:
            return f"expected exit {code}, got {r['rc']}"
        for w in words:
            if w.lower() not in r["stderr"].lower():
                return f"stderr lacks {w!r}: {r['stderr'][-200:]!r}"
        return None

    return check


def exit_is(code: int):
    return refused(code)


def file_starts(name: str, magic: bytes):
    def check(r):
        p = r["work"] / name
        if r["rc"] != 0:
            return f"exit {r['rc']}"
        if not p.is_file():
            return f"{name} not written"
        head = p.read_bytes()[: len(magic)]
        return None if head == magic else f"{name} starts with {head!r}, not {magic!r}"

    return check


def no_file(*names: str):
    def check(r):
        left = [n for n in names if (r["work"] / n).exists()]
        return f"left {left}" if left else None

    return check


def stdout_has(text: str):
    def check(r):
        return None if text in r["stdout"] else f"stdout lacks {text!r}"

    return check


def both(*checks):
    def check(r):
        for c in checks:
            why = c(r)
            if why:
                return why
        return None

    return check


# -- inputs -----------------------------------------------------------------------------------
BASE = dict(name="toy", source="test", num_layers=4, hidden_size=256, num_attention_heads=4, num_kv_heads=2,
            head_dim=64, vocab_size=1000, intermediate_size=512, dtype="bf16", max_position_embeddings=4096)


def spec(**over) -> str:
    """A spec as JSON text (valid YAML too); values given as Raw(...) are written verbatim."""
    data = {**BASE, **over}
    raws = {}
    for k, v in list(data.items()):
        if isinstance(v, Raw):
            raws[k] = v.text
            data[k] = f"@@{k}@@"
    text = json.dumps(data, indent=1)
    for k, t in raws.items():
        text = text.replace(f'"@@{k}@@"', t)
    return text


@dataclass
class Raw:
    text: str


HF = dict(model_type="llama", architectures=["LlamaForCausalLM"], hidden_size=256, intermediate_size=512,
          num_attention_heads=4, num_key_value_heads=2, num_hidden_layers=4, vocab_size=1000,
          max_position_embeddings=4096, torch_dtype="bfloat16", rms_norm_eps=1e-5, tie_word_embeddings=False)


def hf(**over) -> str:
    data = {**HF, **over}
    raws = {}
    for k, v in list(data.items()):
        if isinstance(v, Raw):
            raws[k] = v.text
            data[k] = f"@@{k}@@"
    text = json.dumps(data, indent=1)
    for k, t in raws.items():
        text = text.replace(f'"@@{k}@@"', t)
    return text


def plan(deployments: list[dict], **top) -> str:
    return json.dumps({**top, "deployments": deployments}, indent=1)


DEP = {"name": "a", "model": "llama3-8b", "gpu": "h100-sxm"}


def fifo(path) -> None:
    os.mkfifo(path)


def loop(path) -> None:
    os.symlink(path.name, path)  # a link to itself


def big(size: int, unit: bytes = b"# padding\n"):
    def make(path) -> None:
        with open(path, "wb") as fh:
            fh.write(BASE_YAML.encode())
            fh.write(unit * (size // len(unit)))

    return make


BASE_YAML = spec()
DIGITS_5000 = "9" * 5000
DIGITS_401 = "9" * 401
E20 = str(10**20)
HUGE_INT = str(2**64)

# == numbers: unbounded values and sizes ======================================================
G = "numbers"
case("ctx-5000-digits", G, "size", "llama3-8b", "--ctx", DIGITS_5000, check=refused(2, "--ctx"))
case("ctx-1e20-text", G, "size", "llama3-8b", "--ctx", "1e20", check=refused(2))
case("ctx-10^20", G, "size", "llama3-8b", "--ctx", E20, check=refused(2, "--ctx"))
case("ctx-negative", G, "size", "llama3-8b", "--ctx", "-5", check=refused(2))
case("ctx-zero", G, "size", "llama3-8b", "--ctx", "0", check=refused(2))
case("ctx-nan", G, "size", "llama3-8b", "--ctx", "nan", check=refused(2))
case("ctx-inf", G, "size", "llama3-8b", "--ctx", "inf", check=refused(2))
case("ctx-fraction", G, "size", "llama3-8b", "--ctx", "1.5", check=refused(2))
case("ctx-underscores-huge", G, "size", "llama3-8b", "--ctx", "1_000_000_000_000_000", check=refused(2, "--ctx"))
case("ctx-1G-ok", G, "size", "llama3-8b", "--ctx", "1G", max_err=1)
case("batch-10^30", G, "size", "llama3-8b", "--batch", str(10**30), check=refused(2, "--batch"))
case("batch-5000-digits", G, "size", "llama3-8b", "--batch", DIGITS_5000, check=refused(2))
case("block-10^20", G, "size", "llama3-8b", "--block-size", E20, check=refused(2, "--block-size"))
case("tp-10^20", G, "size", "llama3-8b", "--tp", E20, check=refused(2))
case("pp-10^20", G, "size", "llama3-8b", "--pp", E20, check=refused(2))
case("gpu-mem-401-digits", G, "capacity", "llama3-8b", "--gpu-mem", DIGITS_401, check=refused(2, "--gpu-mem"))
case("gpu-mem-5000-digits", G, "capacity", "llama3-8b", "--gpu-mem", DIGITS_5000, check=refused(2, "--gpu-mem"))
case("gpu-mem-size-401", G, "size", "llama3-8b", "--gpu-mem", DIGITS_401 + "GB", check=refused(2, "--gpu-mem"))
case("gpu-mem-tiny", G, "capacity", "llama3-8b", "--gpu-mem", "0.5B", check=refused(2))
case("gpu-mem-negative", G, "capacity", "llama3-8b", "--gpu-mem", "-80GB", check=refused(2))
case("gpu-util-tiny", G, "capacity", "llama3-8b", "--gpu", "h100-sxm", "--gpu-memory-utilization", "1e-300")
case("gpu-util-nan", G, "capacity", "llama3-8b", "--gpu", "h100-sxm", "--gpu-memory-utilization", "nan",
     check=refused(2))
case("gpu-util-inf", G, "capacity", "llama3-8b", "--gpu", "h100-sxm", "--gpu-memory-utilization", "inf",
     check=refused(2))
case("max-model-len-5000", G, "capacity", "llama3-8b", "--gpu", "h100-sxm", "--max-model-len", DIGITS_5000,
     check=refused(2))
case("max-model-len-10^20", G, "capacity", "llama3-8b", "--gpu", "h100-sxm", "--max-model-len", E20,
     check=refused(2))
case("max-num-seqs-10^30", G, "capacity", "llama3-8b", "--gpu", "h100-sxm", "--max-num-seqs", str(10**30),
     check=refused(2))
case("max-batched-10^20", G, "capacity", "llama3-8b", "--gpu", "h100-sxm", "--max-num-batched-tokens", E20,
     check=refused(2))
case("capacity-tp-10^20", G, "capacity", "llama3-8b", "--gpu", "h100-sxm", "--tp", E20, check=refused(2))
case("capacity-dp-10^20", G, "capacity", "llama3-8b", "--gpu", "h100-sxm", "--dp", E20, check=refused(2))
case("capacity-gpus-10^20", G, "capacity", "llama3-8b", "--gpu", "h100-sxm", "--gpus", E20, check=refused(2))
case("capacity-ctx-batch-10^20", G, "capacity", "llama3-8b", "--gpu", "h100-sxm", "--ctx", E20, "--batch", E20,
     check=refused(2))
case("capacity-block-10^9", G, "capacity", "llama3-8b", "--gpu", "h100-sxm", "--block-size", "1000000000",
     check=refused(2))
case("sweep-ctx-10^20", G, "sweep", "llama3-8b", "--ctx", E20, check=refused(2, "ctx"))
case("sweep-ctx-1e20", G, "sweep", "llama3-8b", "--ctx", "1e20", check=refused(2))
case("sweep-batch-int64", G, "sweep", "llama3-8b", "--ctx", "1G", "--batch", "1000000", check=refused(2))
case("sweep-grid-huge", G, "sweep", "llama3-8b", "--ctx", ",".join(str(i) for i in range(1, 5001)),
     "--batch", ",".join(str(i) for i in range(1, 5001)), "--kv-dtype", "all", check=refused(2, "points"))
# 3,000 tp values: most cannot split the heads; a handful of warnings, not thousands of lines
case("sweep-grid-tp-list", G, "sweep", "llama3-8b", "--tp", ",".join(str(i) for i in range(1, 3001)),
     max_err=6, check=exit_is(0))
case("sweep-grid-tp-over", G, "sweep", "llama3-8b", "--tp", "65537", check=refused(2, "65,536"))
case("sweep-gpu-huge-ctx", G, "sweep", "llama3-8b", "--gpu", "h100-sxm", "--ctx", "1G", "--batch", "1,1024")
case("size-plot-int64", G, "size", "llama3-8b", "--ctx", str(10**15), "--batch", "1000", "--plot", "p.png",
     check=refused(2))
case("size-plot-large-ok", G, "size", "llama3-8b", "--ctx", "1M", "--batch", "1000", "--plot", "p.png",
     check=file_starts("p.png", b"\x89PNG"), max_err=1)
case("spec-layers-10^12", G, "size", "s.yaml", files={"s.yaml": spec(num_layers=10**12)}, check=refused(2, "layers"))
case("spec-layers-2M", G, "size", "s.yaml", files={"s.yaml": spec(num_layers=2_000_000)}, check=refused(2))
for n_layers, expect in ((10_000, exit_is(0)), (10_001, refused(2, "10,000 layers"))):
    # an architecture named: vLLM's pipeline stages hand on the tensors its model file lists (kvplan refuses
    # pp > 1 for a spec naming none, VLLM.intermediate_tensor_count)
    case(f"spec-layer-types-{n_layers}", G, "capacity", "s.yaml", "--gpu", "h100-sxm", "--pp", "2", files={"s.yaml": spec(
        num_layers=n_layers, architecture="LlamaForCausalLM", cache={"kinds": {"a": {"kind": "full_attention"},
                                              "b": {"kind": "sliding_window", "window": 128}},
                                    "layer_types": ["a" if (i * i) % 7 < 3 else "b" for i in range(n_layers)]})},
         check=expect)
case("spec-layer-types-1000-ok", G, "capacity", "s.yaml", "--gpu", "h100-sxm", "--pp", "4", files={"s.yaml": spec(
    num_layers=1000, num_attention_heads=8, num_kv_heads=8, architecture="LlamaForCausalLM",
    cache={"kinds": {"a": {"kind": "full_attention"}, "b": {"kind": "sliding_window", "window": 128}},
           "layer_types": ["a" if (i * i) % 7 < 3 else "b" for i in range(1000)]})})
case("spec-vocab-401", G, "capacity", "s.yaml", "--gpu", "h100-sxm",
     files={"s.yaml": spec(vocab_size=Raw(DIGITS_401))}, check=refused(2))
# a multimodal architecture whose vision tower kvplan cannot read: SGLang's default fraction depends on it
case("spec-vlm-no-tower-sglang", G, "capacity", "s.yaml", "--gpu", "h100-sxm", "--engine", "sglang==0.5.8",
     files={"s.yaml": spec(architecture="Qwen2_5_VLForConditionalGeneration")},
     check=refused(2, "vision_config.num_hidden_layers", "--mem-fraction-static"))
# a ModelOpt checkpoint's FP8 KV cache under --kv-cache-dtype auto: the release may store fp8
case("spec-modelopt-fp8-kv-auto", G, "capacity", "s.yaml", "--gpu", "h100-sxm", "--engine", "vllm",
     files={"s.yaml": spec(kv_cache_quant_algo="FP8")}, check=refused(2, "FP8 KV cache", "--kv-dtype"))
# which quant_method asked for the FP8 cache decides (SGLang 0.5.18+ keep a quant_method fp8 config's ask)
case("hf-fp8-method-fp8-kv-auto", G, "capacity", "config.json", "--gpu", "h100-sxm", "--engine", "sglang==0.5.18",
     files={"config.json": hf(quantization_config={"quant_method": "fp8", "activation_scheme": "dynamic",
                                                   "kv_cache_quant_algo": "FP8"})},
     check=refused(2, "quant_method fp8 with kv_cache_quant_algo FP8", "--kv-dtype"))
case("spec-kv-quant-method-alone", G, "capacity", "s.yaml", "--gpu", "h100-sxm",
     files={"s.yaml": spec(kv_cache_quant_method="fp8")}, check=refused(2, "kv_cache_quant_method"))
case("spec-kv-quant-method-unknown", G, "capacity", "s.yaml", "--gpu", "h100-sxm",
     files={"s.yaml": spec(kv_cache_quant_algo="FP8", kv_cache_quant_method="awq")},
     check=refused(2, "kv_cache_quant_method"))
case("hf-language-model-only-string", G, "capacity", "config.json", "--gpu", "h100-sxm",
     files={"config.json": hf(language_model_only="true")}, check=refused(2, "language_model_only must be true or false"))
case("hf-language-model-only-sglang-0.5.18", G, "capacity", "config.json", "--gpu", "h100-sxm", "--engine",
     "sglang==0.5.18", files={"config.json": hf(language_model_only=True)},
     check=refused(2, "language_model_only: true", "model_config.py"))
case("spec-index-topk-pattern-junk", G, "capacity", "s.yaml", "--gpu", "h100-sxm",
     files={"s.yaml": spec(index_topk_pattern="FS\u202eX")}, check=refused(2, "index_topk_pattern"))
case("spec-index-topk-freq-0", G, "capacity", "s.yaml", "--gpu", "h100-sxm",
     files={"s.yaml": spec(index_topk_freq=0)}, check=refused(2, "index_topk_freq"))
# SGLang starts at context_len 2-7 but aborts every prompt: does not fit, not "fits"
case("sglang-context-len-6", G, "capacity", "llama3.1-8b", "--gpu", "h100-sxm", "--engine", "sglang==0.5.23",
     "--max-model-len", "6", check=refused(1, "aborts every prompt", "validate_input_length"))
case("spec-hidden-5000", G, "size", "s.yaml", files={"s.yaml": spec(hidden_size=Raw(DIGITS_5000))},
     check=refused(2))
case("spec-maxpos-10^30", G, "size", "s.yaml", files={"s.yaml": spec(max_position_embeddings=10**30)},
     check=refused(2))
case("spec-head-dim-10^9", G, "size", "s.yaml", "--kv-dtype", "int4",
     files={"s.yaml": spec(head_dim=10**9)}, check=refused(2))
case("spec-kv-heads-10^7", G, "size", "s.yaml",
     files={"s.yaml": spec(num_attention_heads=10**7, num_kv_heads=10**7)}, check=refused(2, "heads"))
case("spec-kind-kv-heads-huge", G, "size", "s.yaml", files={"s.yaml": spec(
    cache={"kinds": {"w": {"kind": "full_attention", "kv_heads": 70_000}}})}, check=refused(2, "heads"))
case("spec-mla-rank-huge", G, "size", "s.yaml", files={"s.yaml": spec(
    mla={"kv_lora_rank": 10**6, "qk_nope_head_dim": 128, "qk_rope_head_dim": 64, "v_head_dim": 128},
    cache={"kinds": {"m": {"kind": "mla"}}})}, check=refused(2, "kv_lora_rank"))
case("spec-window-10^30", G, "size", "s.yaml", files={"s.yaml": spec(
    cache={"kinds": {"w": {"kind": "sliding_window", "window": 10**30}}})}, check=refused(2))
case("spec-ssm-10^12", G, "capacity", "s.yaml", "--gpu", "h100-sxm", files={"s.yaml": spec(
    cache={"kinds": {"a": {"kind": "full_attention"},
                     "m": {"kind": "state_space", "conv_dim": 10**12, "conv_kernel": 4, "ssm_heads": 10**12,
                           "ssm_head_dim": 64, "ssm_state_size": 128}}, "pattern": ["a", "m"]})},
     check=refused(2))
case("spec-experts-10^9", G, "capacity", "s.yaml", "--gpu", "h100-sxm", files={"s.yaml": spec(
    moe={"num_experts": 10**9, "experts_per_token": 2, "expert_intermediate_size": 512})}, check=refused(2))
case("spec-extra-params-huge", G, "capacity", "s.yaml", "--gpu", "h100-sxm",
     files={"s.yaml": spec(extra_params={"x": 10**40})}, check=refused(2))
case("spec-source-layer-huge", G, "size", "s.yaml", files={"s.yaml": spec(
    cache={"kinds": {"a": {"kind": "full_attention"}, "s": {"kind": "shared_kv", "source_layer": 10**30}},
           "pattern": ["a", "s"]})}, check=refused(2))
case("hf-layers-10^12", G, "size", "config.json", files={"config.json": hf(num_hidden_layers=10**12)},
     check=refused(2))
case("hf-vocab-1e400", G, "capacity", "config.json", "--gpu", "h100-sxm",
     files={"config.json": hf(vocab_size=Raw("1e400"))}, check=refused(2))
case("hf-vocab-401-digits", G, "capacity", "config.json", "--gpu", "h100-sxm",
     files={"config.json": hf(vocab_size=Raw(DIGITS_401))}, check=refused(2))
case("hf-hidden-5000-digits", G, "size", "config.json", files={"config.json": hf(hidden_size=Raw(DIGITS_5000))},
     check=refused(2))
case("hf-rope-factor-huge", G, "size", "config.json",
     files={"config.json": hf(rope_scaling=Raw('{"rope_type": "linear", "factor": 1e308}'))})
case("import-layers-10^12", G, "import", "config.json", files={"config.json": hf(num_hidden_layers=10**12)},
     check=refused(2))
case("fragment-n-1e9", G, "fragment", "llama3-8b", "--kv-pool-tokens", "64k", "--n", "1000000000",
     check=refused(2, "--n"))
case("fragment-requests-1e8", G, "fragment", "llama3-8b", "--kv-pool-tokens", "64k", "--requests", "100000000",
     check=refused(2, "--requests"))
case("fragment-pool-5000", G, "fragment", "llama3-8b", "--kv-pool-tokens", DIGITS_5000, check=refused(2))
case("fragment-pool-10^20", G, "fragment", "llama3-8b", "--kv-pool-tokens", E20, check=refused(2))
case("fragment-system-prompt-huge", G, "fragment", "llama3-8b", "--kv-pool-tokens", "64k", "--system-prompt", E20,
     check=refused(2))
case("fragment-fixed-huge", G, "fragment", "llama3-8b", "--kv-pool-tokens", "64k", "--workload",
     f"fixed:{E20}:{E20}", check=refused(2))
case("fragment-mml-huge", G, "fragment", "llama3-8b", "--kv-pool-tokens", "64k", "--max-model-len", E20,
     check=refused(2))
case("fragment-seed-huge", G, "fragment", "llama3-8b", "--kv-pool-tokens", "64k", "--requests", "50",
     "--seed", str(2**200), check=refused(2))
case("fragment-max-seqs-huge", G, "fragment", "llama3-8b", "--kv-pool-tokens", "64k", "--requests", "50",
     "--max-seqs", E20, check=refused(2))
# a trace's lengths are clipped to max_model_len (documented, with a warning): 10**20 included
case("fragment-trace-huge-len", G, "fragment", "llama3-8b", "--kv-pool-tokens", "64k", "--workload", "t.csv",
     files={"t.csv": f"prompt_len,output_len\n{E20},{E20}\n"}, check=exit_is(0))
case("fragment-trace-5000-digits", G, "fragment", "llama3-8b", "--kv-pool-tokens", "64k", "--workload", "t.csv",
     files={"t.csv": f"prompt_len,output_len\n{DIGITS_5000},5\n"}, check=refused(2))
case("check-requests-10^30", G, "check", "p.yaml", files={"p.yaml": plan(
    [dict(DEP, requires={"min_concurrency": [{"ctx": "8k", "requests": 10**30}]})])}, check=refused(2))
case("check-kv-tokens-5000", G, "check", "p.yaml", files={"p.yaml": plan(
    [dict(DEP, requires={"min_kv_tokens": DIGITS_5000})])}, check=refused(2))
case("check-gpu-mem-401", G, "check", "p.yaml", files={"p.yaml": plan(
    [{"name": "a", "model": "llama3-8b", "gpu_mem": DIGITS_401 + "GB"}])}, check=refused(2))
case("check-headroom-huge", G, "check", "p.yaml", files={"p.yaml": plan(
    [dict(DEP, requires={"min_headroom": E20 + "TiB"})])}, check=refused(2))
case("check-1000-deployments", G, "check", "p.yaml", files={"p.yaml": plan(
    [dict(DEP, name=f"d{i}") for i in range(5000)])}, check=refused(2))
case("measure-seed-2^64", G, "measure", "llama3.2-1b", "--interpret", "--seed", HUGE_INT, "--kv-dtype", "bf16",
     check=refused(2, "--seed"), timeout=120)
case("measure-block-1e9", G, "measure", "llama3.2-1b", "--interpret", "--block-size", "1000000000",
     "--kv-dtype", "bf16", check=refused(2), timeout=120)
case("measure-wide-heads", G, "measure", "s.yaml", "--interpret", "--kv-dtype", "bf16", files={"s.yaml": spec(
    num_attention_heads=64, num_kv_heads=64, head_dim=65536, hidden_size=4096)}, check=refused(2), timeout=120)
case("measure-repeat-huge", G, "measure", "llama3.2-1b", "--repeat", E20, "--interpret", check=refused(2),
     timeout=120)
case("measure-batch-huge", G, "measure", "llama3.2-1b", "--batch", E20, "--interpret", check=refused(2),
     timeout=120)
case("measure-ctx-huge", G, "measure", "llama3.2-1b", "--ctx", E20, "--interpret", check=refused(2), timeout=120)
case("measure-layers-huge", G, "measure", "llama3.2-1b", "--layers", E20, "--interpret", check=refused(2),
     timeout=120)

# == files: special files, size, nesting, names ===============================================
G = "files"
case("fifo-spec", G, "size", "s.yaml", files={"s.yaml": fifo}, check=refused(2, "regular file"), timeout=20)
case("fifo-config", G, "size", "config.json", files={"config.json": fifo}, check=refused(2), timeout=20)
case("fifo-dir-config", G, "size", "m/", files={"m/config.json": fifo}, check=refused(2), timeout=20)
case("fifo-plan", G, "check", "p.yaml", files={"p.yaml": fifo}, check=refused(2), timeout=20)
case("fifo-report", G, "report", "r.json", files={"r.json": fifo}, check=refused(2), timeout=20)
case("fifo-trace", G, "fragment", "llama3-8b", "--kv-pool-tokens", "64k", "--workload", "t.csv",
     files={"t.csv": fifo}, check=refused(2), timeout=20)
case("fifo-import", G, "import", "config.json", files={"config.json": fifo}, check=refused(2), timeout=20)
case("devzero-spec", G, "size", "/dev/zero", check=refused(2), timeout=20)
case("devzero-capacity", G, "capacity", "/dev/zero", "--gpu", "h100-sxm", check=refused(2), timeout=20)
case("devzero-plan", G, "check", "/dev/zero", check=refused(2), timeout=20)
case("devzero-report", G, "report", "/dev/zero", check=refused(2), timeout=20)
case("devzero-import", G, "import", "/dev/zero", check=refused(2), timeout=20)
case("devzero-trace", G, "fragment", "llama3-8b", "--kv-pool-tokens", "64k", "--workload", "/dev/zero",
     check=refused(2), timeout=20)
case("devzero-trace-link", G, "fragment", "llama3-8b", "--kv-pool-tokens", "64k", "--workload", "z.csv",
     files={"z.csv": lambda p: os.symlink("/dev/zero", p)}, check=refused(2), timeout=20)
case("devnull-spec", G, "size", "/dev/null", check=refused(2))
case("devzero-link-spec", G, "size", "z.yaml", files={"z.yaml": lambda p: os.symlink("/dev/zero", p)},
     check=refused(2), timeout=20)
case("deep-json-100k", G, "size", "s.json", files={"s.json": "[" * 100_000 + "]" * 100_000},
     check=refused(2, "deep"))
case("deep-yaml-100k", G, "size", "s.yaml", files={"s.yaml": "[" * 100_000 + "]" * 100_000},
     check=refused(2, "deep"))
case("deep-yaml-block", G, "size", "s.yaml",
     files={"s.yaml": "".join(" " * i + f"k{i}:\n" for i in range(2000)) + " " * 2000 + "x: 1\n"},
     check=refused(2))
case("deep-yaml-dashes", G, "size", "s.yaml", files={"s.yaml": "- " * 50_000 + "x\n"}, check=refused(2))
case("deep-json-dicts", G, "size", "s.json", files={"s.json": '{"a":' * 50_000 + "1" + "}" * 50_000},
     check=refused(2))
case("deep-json-300", G, "size", "s.json", files={"s.json": json.dumps({**BASE, "notes": None}).replace(
    '"notes": null', '"notes": ' + "[" * 300 + "]" * 300)}, check=refused(2))
case("deep-plan", G, "check", "p.yaml", files={"p.yaml": "[" * 100_000 + "]" * 100_000}, check=refused(2))
case("deep-config-json", G, "size", "config.json", files={"config.json": "[" * 100_000 + "]" * 100_000},
     check=refused(2))
case("deep-report", G, "report", "r.json", files={"r.json": "[" * 100_000 + "]" * 100_000}, check=refused(2))
case("deep-trace-jsonl", G, "fragment", "llama3-8b", "--kv-pool-tokens", "64k", "--workload", "t.jsonl",
     files={"t.jsonl": '{"prompt_len": ' + "[" * 100_000 + "]" * 100_000 + ', "output_len": 3}\n'},
     check=refused(2))
case("big-spec-64MiB", G, "size", "s.yaml", files={"s.yaml": big(64 << 20)}, check=refused(2, "MiB"))
case("big-plan-64MiB", G, "check", "p.yaml", files={"p.yaml": big(64 << 20)}, check=refused(2))
case("big-report-64MiB", G, "report", "r.json", files={"r.json": big(64 << 20, b" " * 64)}, check=refused(2))
case("billion-laughs", G, "check", "p.yaml", files={"p.yaml": (
    "a: &a [x,x,x,x,x,x,x,x,x,x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(8))
    + "defaults: {requires: *i}\ndeployments: [{name: a, model: llama3-8b, gpu: h100-sxm}]\n")}, check=refused(2))
case("yaml-python-tag", G, "size", "s.yaml", files={"s.yaml": "!!python/object/apply:os.system ['echo pwned']\n"},
     check=refused(2))
case("yaml-binary", G, "size", "s.yaml", files={"s.yaml": bytes(range(256)) * 4}, check=refused(2))
case("yaml-empty", G, "size", "s.yaml", files={"s.yaml": ""}, check=refused(2))
case("yaml-list-top", G, "size", "s.yaml", files={"s.yaml": "[1, 2]\n"}, check=refused(2))
case("yaml-utf16", G, "size", "s.yaml", files={"s.yaml": BASE_YAML.encode("utf-16")})
case("yaml-bom", G, "size", "s.yaml", files={"s.yaml": b"\xef\xbb\xbf" + BASE_YAML.encode()})
case("yaml-nul", G, "size", "s.yaml", files={"s.yaml": BASE_YAML + "\x00"}, check=refused(2))
case("json-nan", G, "size", "s.json", files={"s.json": spec(vocab_size=Raw("NaN"))}, check=refused(2))
case("json-trailing", G, "size", "s.json", files={"s.json": BASE_YAML + "}"}, check=refused(2))
case("long-name-300", G, "size", "a" * 300 + ".yaml", check=refused(2))
case("long-name-5000", G, "size", "a/" * 2500 + "s.yaml", check=refused(2))
case("long-csv-name", G, "sweep", "llama3-8b", "--csv", "c" * 300 + ".csv", check=refused(2))
case("long-plot-name", G, "size", "llama3-8b", "--plot", "p" * 300 + ".png", check=refused(2))
case("long-out-name", G, "import", "config.json", "-o", "o" * 300 + ".yaml", files={"config.json": hf()},
     check=refused(2))
case("csv-symlink-loop", G, "sweep", "llama3-8b", "--csv", "loop/out.csv", files={"loop": loop}, check=refused(2))
case("csv-self-loop", G, "sweep", "llama3-8b", "--csv", "loop.csv", files={"loop.csv": loop}, check=refused(2))
case("spec-symlink-loop", G, "size", "loop.yaml", files={"loop.yaml": loop}, check=refused(2))
case("spec-in-loop-dir", G, "size", "loop/s.yaml", files={"loop": loop}, check=refused(2))
case("spec-dir-no-config", G, "size", "d/", files={"d/x": "1"}, check=refused(2))
case("spec-is-dir-yaml", G, "size", "d.yaml", files={"d.yaml/x": "1"}, check=refused(2))
case("csv-into-devfull", G, "sweep", "llama3-8b", "--csv", "/dev/full", check=refused(2))
case("csv-into-dir", G, "sweep", "llama3-8b", "--csv", "d", files={"d/x": "1"}, check=refused(2))
case("csv-into-missing-dir", G, "sweep", "llama3-8b", "--csv", "nope/x.csv", check=refused(2))
case("csv-into-proc", G, "sweep", "llama3-8b", "--csv", "/proc/version", check=refused(2))
case("plot-into-fifo", G, "size", "llama3-8b", "--plot", "p.png", files={"p.png": fifo}, check=refused(2),
     timeout=20)
case("junit-into-fifo", G, "check", "p.yaml", "--junit", "j.xml", files={"p.yaml": plan([DEP]), "j.xml": fifo},
     check=refused(2), timeout=20)
case("out-into-devfull", G, "import", "config.json", "-o", "/dev/full", files={"config.json": hf()},
     check=refused(2))
case("trace-nul-name", G, "fragment", "llama3-8b", "--kv-pool-tokens", "64k", "--workload", "t\u0001.csv",
     check=refused(2))
case("spec-nonexistent-dir", G, "size", "/nonexistent/s.yaml", check=refused(2))
case("proc-self-mem", G, "size", "/proc/self/mem", check=refused(2), timeout=20)
case("trace-big-rows", G, "fragment", "llama3-8b", "--kv-pool-tokens", "64k", "--workload", "t.csv",
     files={"t.csv": lambda p: p.write_text("prompt_len,output_len\n" + "5,5\n" * 3_000_000)},
     check=refused(2), timeout=60)

# == injection: markup and terminal escapes ===================================================
G = "inject"
for label, evil in (("markup", "[/oops] [bold red]x[/]"), ("clear", ESC_CLEAR + "pwn"), ("osc52", OSC52),
                    ("bidi", BIDI), ("c1", "\x9b2J"), ("cr", "real\rfake")):
    case(f"display-name-{label}-size", G, "size", "s.yaml", files={"s.yaml": spec(display_name=evil)})
    case(f"display-name-{label}-show", G, "show", "s.yaml", files={"s.yaml": spec(display_name=evil)})
    case(f"display-name-{label}-capacity", G, "capacity", "s.yaml", "--gpu", "h100-sxm",
         files={"s.yaml": spec(display_name=evil)})
case("notes-osc52-show", G, "show", "s.yaml", files={"s.yaml": spec(notes=OSC52, source=ESC_CLEAR)})
case("aliases-markup-show", G, "show", "s.yaml", files={"s.yaml": spec(aliases=["[/x]", ESC_CLEAR])})
case("architecture-esc-show", G, "show", "s.yaml", files={"s.yaml": spec(architecture=ESC_CLEAR + "[/a]")})
case("display-name-sweep-plot", G, "sweep", "s.yaml", "--plot", "p.png", files={"s.yaml": spec(display_name=OSC52)},
     max_err=1)
case("display-name-size-plot", G, "size", "s.yaml", "--plot", "p.png", files={"s.yaml": spec(display_name="$x^$")},
     check=file_starts("p.png", b"\x89PNG"))
case("trace-name-dollar-plot", G, "fragment", "llama3-8b", "--kv-pool-tokens", "64k", "--workload", "$x^$.csv",
     "--plot", "f.png", files={"$x^$.csv": "prompt_len,output_len\n10,20\n"}, check=file_starts("f.png", b"\x89PNG"))
case("report-dollar-plot", G, "report", "r.json", "--plot", "r.png", files={"r.json": json.dumps({
    "schema_version": 1, "model": "$\\frac{$", "device": {"name": "$^$", "interpret": True},
    "config": {"ctx": 8, "batch": 1, "block_size": 16, "layers_measured": 1, "num_layers": 2},
    "copy_bandwidth": {"gbps": 1.0}, "formats": []})}, check=file_starts("r.png", b"\x89PNG"))
case("hf-name-or-path-import", G, "import", "config.json",
     files={"config.json": hf(_name_or_path=ESC_CLEAR + "[/x]" + OSC52)})
case("hf-name-or-path-size", G, "size", "config.json", files={"config.json": hf(_name_or_path=ESC_CLEAR + "[/x]")})
case("hf-model-type-esc", G, "size", "config.json", files={"config.json": hf(model_type=ESC_CLEAR + "[/x]")},
     max_err=2)  # two warnings: the assumed reader, and ctx past max_position_embeddings
case("hf-architecture-esc", G, "size", "config.json",
     files={"config.json": hf(architectures=[OSC52 + "[/x]ForCausalLM"])})
case("hf-unknown-field-esc", G, "size", "config.json",
     files={"config.json": hf(**{ESC_CLEAR + "sliding_window_pattern": 3})})
case("deployment-name-markup", G, "check", "p.yaml", files={"p.yaml": plan([dict(DEP, name="[/oops]")])})
case("deployment-name-esc", G, "check", "p.yaml", files={"p.yaml": plan([dict(DEP, name=ESC_CLEAR + OSC52)])})
case("deployment-name-junit", G, "check", "p.yaml", "--junit", "j.xml",
     files={"p.yaml": plan([dict(DEP, name="bad\x01\x1b[2J<&>", max_model_len="1M",
                                  allow_long_max_model_len=True)])},
     check=lambda r: _valid_xml(r["work"] / "j.xml"))
case("deployment-name-junit-fail", G, "check", "p.yaml", "--junit", "j.xml",
     files={"p.yaml": plan([dict(DEP, name="\x0b\x0c\ufffe", requires={"min_kv_tokens": "100M"})])},
     check=lambda r: _valid_xml(r["work"] / "j.xml"))
case("deployment-model-esc", G, "check", "p.yaml",
     files={"p.yaml": plan([dict(DEP, model=ESC_CLEAR + "[/x]")])}, check=refused(2))
case("deployment-gpu-esc", G, "check", "p.yaml", files={"p.yaml": plan([dict(DEP, gpu=OSC52)])}, check=refused(2))
case("plan-unknown-key-esc", G, "check", "p.yaml",
     files={"p.yaml": plan([dict(DEP, **{ESC_CLEAR + "x": 1})])}, check=refused(2))
case("trace-header-esc", G, "fragment", "llama3-8b", "--kv-pool-tokens", "64k", "--workload", "t.csv",
     files={"t.csv": f"{ESC_CLEAR}prompt,[/oops]{OSC52}\n1,2\n"}, check=refused(2))
# an unknown column is refused by name: an injected name is quoted, a huge header is cut short
case("trace-unknown-column-esc", G, "fragment", "llama3-8b", "--kv-pool-tokens", "64k", "--workload", "t.csv",
     files={"t.csv": f"prompt_len,output_len,{ESC_CLEAR}[/x]{OSC52}\n1,2,3\n"},
     check=refused(2, "is not a trace column of the kvplan format"))
case("trace-unknown-columns-100k", G, "fragment", "llama3-8b", "--kv-pool-tokens", "64k", "--workload", "t.csv",
     files={"t.csv": "prompt_len,output_len," + ",".join(f"c{i}" for i in range(100_000)) + "\n"
            + "1,2" + ",0" * 100_000 + "\n"}, check=refused(2, "and 99,995 more"))
case("trace-unknown-column-huge-name", G, "fragment", "llama3-8b", "--kv-pool-tokens", "64k", "--workload",
     "t.jsonl", files={"t.jsonl": json.dumps({"prompt_len": 1, "output_len": 2, "x" * 100_000: 1}) + "\n"},
     check=refused(2, "'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...'"))
case("trace-value-esc", G, "fragment", "llama3-8b", "--kv-pool-tokens", "64k", "--workload", "t.csv",
     files={"t.csv": f"prompt_len,output_len\n{ESC_CLEAR},2\n"}, check=refused(2))
case("trace-name-markup", G, "fragment", "llama3-8b", "--kv-pool-tokens", "64k", "--workload", "[/x]\x1b[2J.csv",
     files={"[/x]\x1b[2J.csv": "prompt_len,output_len\n10,20\n"})
case("file-name-esc", G, "size", ESC_CLEAR + ".yaml", check=refused(2))
case("model-name-esc", G, "size", OSC52 + "[/x]", check=refused(2))
case("gpu-name-esc", G, "capacity", "llama3-8b", "--gpu", ESC_CLEAR + "[/x]", check=refused(2))
case("kv-dtype-esc", G, "size", "llama3-8b", "--kv-dtype", OSC52, check=refused(2))
case("engine-esc", G, "capacity", "llama3-8b", "--gpu", "h100-sxm", "--engine", ESC_CLEAR, check=refused(2))
case("option-value-esc", G, "size", "llama3-8b", "--batch", ESC_CLEAR, check=refused(2))
case("unknown-option-esc", G, "size", "llama3-8b", "--" + ESC_CLEAR, check=refused(2))
case("unknown-command-esc", G, ESC_CLEAR + "[/x]", check=refused(2))
case("yaml-error-esc", G, "size", "s.yaml", files={"s.yaml": "name: \x1b[2J\n  bad: [\n"}, check=refused(2))
case("report-model-esc", G, "report", "r.json", files={"r.json": json.dumps({
    "schema_version": 1, "model": ESC_CLEAR + "[/oops]", "device": {"name": OSC52, "interpret": True},
    "config": {"ctx": 8, "batch": 1, "block_size": 16, "layers_measured": 1, "num_layers": 2},
    "copy_bandwidth": {"gbps": 1.0}, "formats": [{"kv_dtype": "[/x]" + ESC_CLEAR, "status": OSC52,
                                                  "cache_bytes_predicted": 5}]})})
case("report-json-esc", G, "report", "r.json", "--json", files={"r.json": json.dumps({
    "schema_version": 1, "model": ESC_CLEAR, "device": {"name": "x", "interpret": True},
    "config": {"ctx": 8, "batch": 1, "block_size": 16, "layers_measured": 1, "num_layers": 2},
    "copy_bandwidth": {"gbps": 1.0}, "formats": []})})
case("import-name-esc", G, "import", "config.json", "--name", ESC_CLEAR, files={"config.json": hf()})
case("import-source-esc", G, "import", "config.json", "--source", OSC52, files={"config.json": hf()})
case("csv-name-esc", G, "sweep", "llama3-8b", "--csv", ESC_CLEAR + "[/x].csv", max_err=1)

# == streams: closed, full, encodings, widths ================================================
G = "streams"
PIPE = frozenset({141})  # 128 + SIGPIPE, as a shell reports other tools stopped by a closed pipe
case("closed-pipe-models-json", G, "models", "--json", stdout="closed-pipe", max_err=0, codes=PIPE)
case("closed-pipe-models", G, "models", stdout="closed-pipe", max_err=0, codes=PIPE)
case("closed-pipe-sweep-json", G, "sweep", "llama3-8b", "--json", stdout="closed-pipe", max_err=0, codes=PIPE)
case("closed-pipe-schema", G, "schema", stdout="closed-pipe", max_err=0, codes=PIPE)
case("closed-pipe-import", G, "import", "config.json", files={"config.json": hf()}, stdout="closed-pipe", max_err=0, codes=PIPE)
case("closed-pipe-error", G, "size", "nope-model", stdout="closed-pipe", check=refused(2))
case("closed-pipe-check", G, "check", "p.yaml", files={"p.yaml": plan([DEP])}, stdout="closed-pipe", max_err=0,
     codes=PIPE)
case("closed-fd-size", G, "size", "llama3-8b", stdout="closed-fd")
case("closed-fd-json", G, "models", "--json", stdout="closed-fd")
case("devfull-size", G, "size", "llama3-8b", stdout="full", check=refused(2, "stdout"))
case("devfull-models-json", G, "models", "--json", stdout="full", check=refused(2, "stdout"))
case("devfull-schema", G, "schema", stdout="full", check=refused(2, "stdout"))
case("devfull-import", G, "import", "config.json", files={"config.json": hf()}, stdout="full", check=refused(2))
case("devfull-show", G, "show", "llama3-8b", stdout="full", check=refused(2))
case("devfull-check", G, "check", "p.yaml", files={"p.yaml": plan([DEP])}, stdout="full", check=refused(2))
case("devfull-help", G, "--help", stdout="full", check=refused(2))
case("ascii-size-unicode", G, "size", "s.yaml", files={"s.yaml": spec(display_name="Llamα-3 ☃ 模型")},
     env={"PYTHONIOENCODING": "ascii"})
case("ascii-show-unicode", G, "show", "s.yaml", files={"s.yaml": spec(display_name="Llamα ☃", notes="ünïcödé")},
     env={"PYTHONIOENCODING": "ascii"})
case("ascii-models", G, "models", env={"PYTHONIOENCODING": "ascii"})
case("ascii-error-unicode", G, "size", "llamа-3-8b☃", env={"PYTHONIOENCODING": "ascii"}, check=refused(2))
case("ascii-check-unicode", G, "check", "p.yaml", files={"p.yaml": plan([dict(DEP, name="déploiement ☃")])},
     env={"PYTHONIOENCODING": "ascii"})
case("ascii-lang-c", G, "size", "s.yaml", files={"s.yaml": spec(display_name="☃")},
     env={"LANG": "C", "LC_ALL": "C", "PYTHONIOENCODING": "ascii", "PYTHONUTF8": "0"})
case("latin1-show", G, "show", "s.yaml", files={"s.yaml": spec(display_name="☃ Ω")},
     env={"PYTHONIOENCODING": "latin-1"})
case("columns-0", G, "size", "llama3-8b", env={"COLUMNS": "0"}, check=stdout_has("131,072"))
case("columns-negative", G, "size", "llama3-8b", env={"COLUMNS": "-5"}, check=stdout_has("131,072"))
case("columns-text", G, "size", "llama3-8b", env={"COLUMNS": "wide"}, check=stdout_has("131,072"))
case("columns-1", G, "capacity", "llama3-8b", "--gpu", "h100-sxm", env={"COLUMNS": "1"})
case("columns-huge", G, "models", env={"COLUMNS": "100000000"})
case("columns-0-help", G, "size", "--help", env={"COLUMNS": "0"})
case("lines-0", G, "show", "llama3-8b", env={"LINES": "0", "COLUMNS": "0"})
case("term-dumb", G, "size", "llama3-8b", env={"TERM": "dumb", "NO_COLOR": "1"})
case("force-color", G, "size", "s.yaml", files={"s.yaml": spec(display_name=ESC_CLEAR)},
     env={"FORCE_COLOR": "1", "TTY_COMPATIBLE": "0"})

# == interrupted writes ==========================================================================
G = "signals"
_BIG_SWEEP = ["sweep", "llama3-8b,llama3-70b,qwen3-8b", "--ctx", ",".join(str(1024 + i) for i in range(400)),
              "--batch", ",".join(str(i) for i in range(1, 201)), "--kv-dtype", "bf16,fp8"]
case("sigterm-sweep-csv", G, *_BIG_SWEEP, "--csv", "out.csv", signal=(signal.SIGTERM, ".out.csv.*.tmp"),
     codes=frozenset({143}), check=no_file("out.csv"), max_err=1)
case("sigint-sweep-csv", G, *_BIG_SWEEP, "--csv", "out.csv", signal=(signal.SIGINT, ".out.csv.*.tmp"),
     codes=frozenset({130}), check=no_file("out.csv"), max_err=1)
case("sigterm-sweep-parquet", G, *_BIG_SWEEP, "--parquet", "out.parquet",
     signal=(signal.SIGTERM, ".out.parquet.*.tmp"), codes=frozenset({143}), check=no_file("out.parquet"))
case("sighup-sweep-csv", G, *_BIG_SWEEP, "--csv", "out.csv", signal=(signal.SIGHUP, ".out.csv.*.tmp"),
     codes=frozenset({129}), check=no_file("out.csv"))
case("sigterm-sweep-plot", G, "sweep", "llama3-8b,llama3-70b,qwen3-8b,gemma3-27b", "--tp", "1,2,4,8",
     "--plot", "p.png", signal=(signal.SIGTERM, ".p.png.*.tmp"), codes=frozenset({143}), check=no_file("p.png"))
case("sigterm-fragment", G, "fragment", "llama3-8b", "--kv-pool-tokens", "64k", "--requests", "200000",
     signal=(signal.SIGTERM, 4.0), codes=frozenset({143}))
case("sigint-fragment", G, "fragment", "llama3-8b", "--kv-pool-tokens", "64k", "--requests", "200000",
     signal=(signal.SIGINT, 4.0), codes=frozenset({130}))
# A signal during Python's start-up, before kvplan has written or installed anything, ends the
# process with the default action (-15): nothing to clean up yet.
case("sigterm-early", G, *_BIG_SWEEP, "--csv", "out.csv", signal=(signal.SIGTERM, 0.3),
     codes=frozenset({143, -15}), check=no_file("out.csv"))

# == misreads ==================================================================================
G = "misreads"
case("ctx-8,16", G, "size", "llama3-8b", "--ctx", "8,16", check=refused(2, "--ctx"))
case("ctx-8,192-ok", G, "size", "llama3-8b", "--ctx", "8,192", check=stdout_has("8k tokens"))
case("ctx-1,00", G, "size", "llama3-8b", "--ctx", "1,00", check=refused(2))
case("capacity-ctx-8,16", G, "capacity", "llama3-8b", "--gpu", "h100-sxm", "--ctx", "8,16", check=refused(2))
case("mml-32k,64k", G, "capacity", "llama3-8b", "--gpu", "h100-sxm", "--max-model-len", "32k,64k",
     check=refused(2))
case("pool-tokens-8,16", G, "fragment", "llama3-8b", "--kv-pool-tokens", "64,00", check=refused(2))
case("gpu-mem-8,0GB", G, "capacity", "llama3-8b", "--gpu-mem", "8,0GB", check=refused(2))
# An option given twice: the last wins, as in every click/argparse tool (wrappers pass defaults, then overrides).
case("repeated-ctx", G, "size", "llama3-8b", "--ctx", "8k", "--ctx", "16k", "--json",
     check=lambda r: None if json.loads(r["stdout"])["ctx"] == 16384 else "the last --ctx did not win")
case("yaml-dup-key", G, "size", "s.yaml", files={"s.yaml": BASE_YAML.replace('"num_layers": 4,',
                                                                             '"num_layers": 4, "num_layers": 80,')},
     check=refused(2, "num_layers"))
case("yaml-dup-key-block", G, "size", "s.yaml", files={"s.yaml": "num_layers: 4\n" + "\n".join(
    f"{k}: {json.dumps(v)}" for k, v in BASE.items())}, check=refused(2, "num_layers"))
case("json-dup-key", G, "size", "s.json", files={"s.json": BASE_YAML.replace('"num_layers": 4,',
                                                                             '"num_layers": 4, "num_layers": 80,')},
     check=refused(2, "num_layers"))
case("hf-dup-key", G, "size", "config.json", files={"config.json": hf().replace(
    '"num_hidden_layers": 4,', '"num_hidden_layers": 4, "num_hidden_layers": 80,')}, check=refused(2))
case("plan-dup-key", G, "check", "p.yaml",
     files={"p.yaml": "deployments:\n  - {name: a, model: llama3-8b, gpu: h100-sxm, gpu: b200}\n"},
     check=refused(2, "gpu"))
case("yaml-octal", G, "size", "s.yaml", files={"s.yaml": BASE_YAML.replace('"num_layers": 4', '"num_layers": 032')},
     check=refused(2))
case("yaml-sexagesimal", G, "size", "s.yaml",
     files={"s.yaml": "\n".join(f"{k}: {json.dumps(v)}" for k, v in BASE.items() if k != "num_layers")
            + "\nnum_layers: 1:20\n"}, check=refused(2))
case("yaml-float-layers", G, "size", "s.yaml", files={"s.yaml": spec(num_layers=Raw("4.0"))}, check=refused(2))
case("yaml-bool-layers", G, "size", "s.yaml", files={"s.yaml": spec(num_layers=True)}, check=refused(2))
case("fragment-plot-pdf", G, "fragment", "llama3-8b", "--kv-pool-tokens", "64k", "--requests", "50",
     "--plot", "frag.pdf", check=file_starts("frag.pdf", b"%PDF"))
case("fragment-plot-svg", G, "fragment", "llama3-8b", "--kv-pool-tokens", "64k", "--requests", "50",
     "--plot", "frag.svg", check=file_starts("frag.svg", b"<?xml"))
case("fragment-plot-txt", G, "fragment", "llama3-8b", "--kv-pool-tokens", "64k", "--requests", "50",
     "--plot", "frag.txt", check=both(refused(2), no_file("frag.txt")))
case("size-plot-jpg", G, "size", "llama3-8b", "--plot", "p.jpg", check=refused(2))
case("report-plot-pdf", G, "report", "r.json", "--plot", "r.pdf", files={"r.json": json.dumps({
    "schema_version": 1, "model": "m", "device": {"name": "cpu", "interpret": True},
    "config": {"ctx": 8, "batch": 1, "block_size": 16, "layers_measured": 1, "num_layers": 2},
    "copy_bandwidth": {"gbps": 1.0}, "formats": []})}, check=file_starts("r.pdf", b"%PDF"))
_CHUNKED = spec(cache={"kinds": {"c": {"kind": "chunked_local", "chunk": 100}, "f": {"kind": "full_attention"}},
                       "pattern": ["c", "c", "c", "f"]})
case("chunked-100-capacity", G, "capacity", "s.yaml", "--gpu", "h100-sxm", files={"s.yaml": _CHUNKED},
     check=refused(2, "chunk"))
case("chunked-100-size", G, "size", "s.yaml", files={"s.yaml": _CHUNKED}, check=refused(2, "chunk"))
case("chunked-100-sweep-gpu", G, "sweep", "s.yaml", "--gpu", "h100-sxm", files={"s.yaml": _CHUNKED},
     check=refused(2, "chunk"))
case("chunked-100-check", G, "check", "p.yaml", files={"s.yaml": _CHUNKED, "p.yaml": plan([dict(DEP, model="s.yaml")])},
     check=refused(2, "chunk"))
case("chunked-100-size-gpu", G, "size", "s.yaml", "--gpu", "h100-sxm", files={"s.yaml": _CHUNKED},
     check=refused(2, "chunk"))
case("chunked-128-ok", G, "capacity", "s.yaml", "--gpu", "h100-sxm", files={"s.yaml": _CHUNKED.replace(
    '"chunk": 100', '"chunk": 128')}, check=exit_is(0))

# == verdicts ===================================================================================
G = "verdicts"
_HYBRID = spec(num_layers=8, cache={
    "kinds": {"a": {"kind": "full_attention"},
              "m": {"kind": "state_space", "conv_dim": 768, "conv_kernel": 4, "ssm_heads": 8, "ssm_head_dim": 64,
                    "ssm_state_size": 128}},
    "layer_types": ["a", "m", "m", "m", "m", "m", "m", "m"]})


def _fits_with_tokens(r):
    """A "fits" verdict needs a pool and the blocks of one request of max_model_len; the
    requests reported never need more blocks than the pool holds; and every stage's pool holds
    the bytes those requests keep in its layers (at least one block of each table each)."""
    if r["rc"] != 0:
        return None  # refusing or "does not fit" is consistent
    d = json.loads(r["stdout"])
    if d["fits"] and (d["kv_pool_bytes"] <= 0 or d["blocks_per_request"] > d["num_blocks"]):
        return f"fits, but one request needs {d['blocks_per_request']} blocks of {d['num_blocks']}"
    if d["max_requests"] * d["blocks_per_request"] > d["num_blocks"]:
        return f"{d['max_requests']} requests x {d['blocks_per_request']} blocks > {d['num_blocks']} blocks"
    if d["max_concurrency"] > d["num_blocks"] / max(d["blocks_per_request"], 1) + 0.01:
        return f"concurrency {d['max_concurrency']} beyond {d['num_blocks']} / {d['blocks_per_request']}"
    return None


for pp in (2, 4, 8):
    case(f"hybrid-pp{pp}-verdict", G, "capacity", "s.yaml", "--gpu", "h100-sxm", "--pp", str(pp), "--json",
         files={"s.yaml": _HYBRID}, check=_fits_with_tokens, max_err=1)
case("jamba-pp4-verdict", G, "capacity", "cfg/config.json", "--gpu", "h100-sxm", "--pp", "4", "--json",
     files={"cfg/config.json": (lambda p: p.write_text(
         (__import__("pathlib").Path(__file__).parents[1] / "fixtures/hf_configs/jamba-1.5-mini.json").read_text()))},
     check=_fits_with_tokens)
case("state-only-verdict", G, "capacity", "s.yaml", "--gpu", "h100-sxm", "--json", files={"s.yaml": spec(
    cache={"kinds": {"m": {"kind": "state_space", "conv_dim": 512, "conv_kernel": 4, "ssm_heads": 8,
                           "ssm_head_dim": 64, "ssm_state_size": 128}}})}, check=_fits_with_tokens)


def _valid_xml(path) -> str | None:
    import xml.etree.ElementTree as ET

    if not path.is_file():
        return f"{path.name} not written"
    try:
        ET.parse(path)
    except ET.ParseError as err:
        return f"invalid XML: {err}"
    raw = path.read_bytes()
    if any(b < 32 and b not in (9, 10, 13) for b in raw):
        return "control bytes in the XML"
    return None


# == the newer commands and options (explain, recommend, speed, --from-vllm, checkpoints) =======
G = "newer"
LOG = (Path(__file__).parents[1] / "fixtures/startup_logs/vllm_pr10511_llama3_8b_h100.log")
case("explain-fifo", G, "explain", "v.log", files={"v.log": fifo}, check=refused(2), timeout=20)
case("explain-devzero", G, "explain", "/dev/zero", check=refused(2), timeout=30)
case("explain-stdin-devzero", G, "explain", "-", stdin="/dev/zero", check=refused(2), timeout=30)
case("explain-stdin-empty", G, "explain", "-", stdin="/dev/null", check=refused(2))
case("explain-binary", G, "explain", "v.log", files={"v.log": bytes(range(256)) * 100}, check=refused(2))
case("explain-log-esc", G, "explain", "v.log", files={"v.log": lambda p: p.write_text(
    LOG.read_text().replace("meta-llama/Meta-Llama-3-8B", ESC_CLEAR + "[/x]" + OSC52))})
case("explain-log-ok", G, "explain", str(LOG), check=exit_is(0))
case("explain-what-if-huge", G, "explain", str(LOG), "--what-if", "--max-model-len", E20, check=refused(2))
case("spec-config-deep", G, "capacity", "llama3-8b", "--gpu", "h100-sxm", "--speculative-config",
     "[" * 50_000 + "]" * 50_000, check=refused(2))
case("spec-config-huge-tokens", G, "capacity", "llama3-8b", "--gpu", "h100-sxm", "--speculative-config",
     '{"method": "ngram", "num_speculative_tokens": ' + str(10**30) + "}", check=refused(2))
case("spec-config-1e400", G, "capacity", "llama3-8b", "--gpu", "h100-sxm", "--speculative-config",
     '{"method": "ngram", "num_speculative_tokens": 1e400}', check=refused(2))
case("spec-config-esc", G, "capacity", "llama3-8b", "--gpu", "h100-sxm", "--speculative-config",
     '{"method": "' + ESC_CLEAR + '[/x]"}', check=refused(2))
case("from-vllm-huge-k", G, "capacity", "--gpu", "h100-sxm", "--from-vllm",
     "vllm serve meta-llama/Meta-Llama-3-8B --max-model-len " + "9" * 400 + "k", check=refused(2))
case("from-vllm-huge-int", G, "capacity", "--gpu", "h100-sxm", "--from-vllm",
     "vllm serve meta-llama/Meta-Llama-3-8B --max-num-seqs " + DIGITS_5000, check=refused(2))
case("from-vllm-esc", G, "capacity", "--gpu", "h100-sxm", "--from-vllm", "vllm serve " + ESC_CLEAR + "[/x]",
     check=refused(2))
case("from-vllm-unbalanced-quote", G, "capacity", "--gpu", "h100-sxm", "--from-vllm",
     "vllm serve 'meta-llama/Meta-Llama-3-8B", check=refused(2))
case("kv-cache-memory-huge", G, "capacity", "llama3-8b", "--gpu", "h100-sxm", "--kv-cache-memory",
     "9" * 400 + "G", check=refused(2))
case("cpu-offload-1e300", G, "capacity", "llama3-8b", "--gpu", "h100-sxm", "--cpu-offload-gb", "1e300",
     check=refused(2))
# the flag's note (what --swap-space means) comes before the refusal: two lines
case("swap-space-1e308", G, "capacity", "llama3-8b", "--gpu", "h100-sxm", "--swap-space", "1e308",
     check=refused(2), max_err=2)
case("gpu-blocks-override-huge", G, "capacity", "llama3-8b", "--gpu", "h100-sxm", "--num-gpu-blocks-override",
     str(10**30), check=refused(2))
case("window-huge", G, "capacity", "llama3-8b", "--gpu", "h100-sxm", "--window", E20, check=refused(2))
case("recommend-users-huge", G, "recommend", "llama3-8b", "--ctx", "4k", "--users", str(10**30),
     check=refused(2))
case("recommend-max-gpus-huge", G, "recommend", "llama3-8b", "--ctx", "4k", "--users", "8", "--max-gpus",
     str(10**30), check=refused(2), timeout=120)
case("recommend-top-huge", G, "recommend", "llama3-8b", "--ctx", "4k", "--users", "8", "--top", str(10**30),
     timeout=120)
case("recommend-prices-fifo", G, "recommend", "llama3-8b", "--ctx", "4k", "--users", "8", "--prices", "p.yaml",
     files={"p.yaml": fifo}, check=refused(2), timeout=20)
case("recommend-prices-deep", G, "recommend", "llama3-8b", "--ctx", "4k", "--users", "8", "--prices", "p.yaml",
     files={"p.yaml": "[" * 100_000 + "]" * 100_000}, check=refused(2))
case("recommend-ctx-8,16", G, "recommend", "llama3-8b", "--ctx", "8,16", "--users", "8", check=refused(2))
case("speed-users-huge", G, "speed", "llama3-8b", "--gpu", "h100-sxm", "--ctx", "4k", "--users", E20,
     check=refused(2))
case("speed-users-list", G, "speed", "llama3-8b", "--gpu", "h100-sxm", "--ctx", "4k", "--users",
     ",".join(str(i) for i in range(1, 20001)), timeout=120)
RUN = {"request_rate": "inf", "max_concurrency": 8, "completed": 80, "total_input_tokens": 80_000,
       "total_output_tokens": 40_000, "median_tpot_ms": 6.0}
case("calibrate-fifo", G, "calibrate", "llama3-8b", "r.json", "--gpu", "h100-sxm", files={"r.json": fifo},
     check=refused(2), timeout=20)
case("calibrate-devzero", G, "calibrate", "llama3-8b", "/dev/zero", "--gpu", "h100-sxm", check=refused(2),
     timeout=30)
case("calibrate-deep", G, "calibrate", "llama3-8b", "r.json", "--gpu", "h100-sxm",
     files={"r.json": "[" * 100_000 + "]" * 100_000}, check=refused(2))
case("calibrate-huge-users", G, "calibrate", "llama3-8b", "r.json", "--gpu", "h100-sxm",
     files={"r.json": json.dumps([dict(RUN, max_concurrency=10**18, completed=10**18, total_input_tokens=10**21,
                                       total_output_tokens=10**20)])}, check=refused(2))
case("calibrate-1e308-tokens", G, "calibrate", "llama3-8b", "r.json", "--gpu", "h100-sxm",
     files={"r.json": json.dumps([RUN, dict(RUN, max_concurrency=16, total_input_tokens=1e308)])},
     check=refused(2))
case("calibrate-esc", G, "calibrate", "llama3-8b", "r.json", "--gpu", "h100-sxm",
     files={"r.json": json.dumps([dict(RUN, request_rate=ESC_CLEAR + "[/x]" + OSC52)])}, check=refused(2))
case("calibrate-out-dir", G, "calibrate", "llama3-8b", "r.json", "--gpu", "h100-sxm", "--out", "{dir}",
     files={"r.json": json.dumps([RUN, dict(RUN, max_concurrency=32, median_tpot_ms=9.0)])}, check=refused(2))
case("speed-calibration-fifo", G, "speed", "llama3-8b", "--gpu", "h100-sxm", "--ctx", "4k", "--calibration",
     "c.json", files={"c.json": fifo}, check=refused(2), timeout=20)
case("speed-calibration-devzero", G, "speed", "llama3-8b", "--gpu", "h100-sxm", "--ctx", "4k", "--calibration",
     "/dev/zero", check=refused(2), timeout=20)
case("speed-plot-txt", G, "speed", "llama3-8b", "--gpu", "h100-sxm", "--ctx", "4k", "--plot", "s.txt",
     check=both(refused(2), no_file("s.txt")))
case("speed-plot-pdf", G, "speed", "llama3-8b", "--gpu", "h100-sxm", "--ctx", "4k", "--plot", "s.pdf",
     check=file_starts("s.pdf", b"%PDF"), max_err=1)
case("speed-display-name-esc", G, "speed", "s.yaml", "--gpu", "h100-sxm", "--ctx", "1k",
     files={"s.yaml": spec(display_name=ESC_CLEAR + "[/x]")})
case("checkpoint-fifo-shard", G, "size", "m/", files={"m/config.json": hf(), "m/model.safetensors": fifo},
     check=refused(2), timeout=20)
case("checkpoint-fifo-glob", G, "size", "m/", files={"m/config.json": hf(), "m/a.safetensors": fifo},
     check=refused(2), timeout=20)
case("checkpoint-index-fifo", G, "size", "m/", files={"m/config.json": hf(),
                                                      "m/model.safetensors.index.json": fifo},
     timeout=20)
case("checkpoint-index-deep", G, "size", "m/", files={"m/config.json": hf(),
                                                      "m/model.safetensors.index.json": "[" * 100_000 + "]" * 100_000},
     check=refused(2))
case("checkpoint-header-huge", G, "size", "m/", files={"m/config.json": hf(), "m/model.safetensors":
                                                       (2**63).to_bytes(8, "little") + b"{}"}, check=refused(2))
case("checkpoint-header-deep", G, "size", "m/", files={"m/config.json": hf(), "m/model.safetensors":
                                                       (200_000).to_bytes(8, "little") + b"[" * 100_000 + b"]" * 100_000},
     check=refused(2))
case("checkpoint-shape-huge", G, "size", "m/", files={"m/config.json": hf(), "m/model.safetensors": (
    lambda h: len(h).to_bytes(8, "little") + h)(json.dumps({"x": {"dtype": "BF16", "shape": [10**30, 10**30],
                                                                  "data_offsets": [0, 0]}}).encode())},
     check=refused(2))
case("checkpoint-devzero-link", G, "size", "m/", files={"m/config.json": hf(),
                                                        "m/model.safetensors": lambda p: os.symlink("/dev/zero", p)},
     check=refused(2), timeout=20)

# fragment's newer options (arrival rates, tiers, speculative decoding)
F = ["fragment", "llama3-8b", "--kv-pool-tokens", "64k", "--requests", "50"]
case("fragment-rate-huge", G, *F, "--rate", E20 + "/s")  # arrivals all but at once: a result, not an error
case("fragment-rate-list", G, *F, "--rate", ",".join(f"{i}/s" for i in range(1, 5001)), check=refused(2),
     timeout=120)
case("fragment-rate-nan", G, *F, "--rate", "nan/s", check=refused(2))
case("fragment-cpu-kv-1e300", G, *F, "--cpu-kv-gib", "1e300", check=refused(2))
case("fragment-disk-kv-inf", G, *F, "--disk-kv-gib", "inf", check=refused(2))
case("fragment-sinks-huge", G, *F, "--window", "4k", "--sinks", E20, check=refused(2))
case("fragment-window-huge", G, *F, "--window", E20, check=refused(2))
case("fragment-spec-tokens-huge", G, *F, "--spec-tokens", E20, "--spec-method", "ngram", check=refused(2))
case("fragment-step-ms-huge", G, *F, "--step-ms", "1e308")
case("fragment-step-ms-nan", G, *F, "--step-ms", "nan", check=refused(2))
case("fragment-acceptance-2", G, *F, "--spec-tokens", "4", "--spec-method", "ngram", "--acceptance", "2",
     check=refused(2))
case("fragment-host-bw-huge", G, *F, "--cpu-kv-gib", "4", "--host-bandwidth", "9" * 400 + "GB", check=refused(2))
case("fragment-budget-huge", G, *F, "--max-num-batched-tokens", E20, check=refused(2))
case("fragment-trace-deep-jsonl", G, "fragment", "llama3-8b", "--kv-pool-tokens", "64k", "--workload", "t.jsonl",
     files={"t.jsonl": "[" * 50_000 + "]" * 50_000 + "\n"}, check=refused(2))
case("fragment-trace-deep-json", G, "fragment", "llama3-8b", "--kv-pool-tokens", "64k", "--workload", "t.json",
     files={"t.json": "[" * 100_000 + "]" * 100_000}, check=refused(2))
case("fragment-trace-csv-field", G, "fragment", "llama3-8b", "--kv-pool-tokens", "64k", "--workload", "t.csv",
     files={"t.csv": "prompt_len,output_len\n" + "9" * 200_000 + ",5\n"}, check=refused(2))
case("fragment-trace-latin1", G, "fragment", "llama3-8b", "--kv-pool-tokens", "64k", "--workload", "t.csv",
     files={"t.csv": "prompt_len,output_len\n5,5\n\xe9\n".encode("latin-1")}, check=refused(2))
case("fragment-trace-mooncake-deep-ids", G, "fragment", "llama3-8b", "--kv-pool-tokens", "64k", "--workload",
     "t.jsonl", files={"t.jsonl": json.dumps({"timestamp": 0, "input_length": 10, "output_length": 5,
                                               "hash_ids": "[" * 5000 + "]" * 5000}) + "\n"}, check=refused(2))
case("report-read-bandwidth-text", G, "report", "r.json", files={"r.json": json.dumps({
    "schema_version": 1, "model": "m", "device": {"name": "cpu", "interpret": True},
    "config": {"ctx": 8, "batch": 1, "block_size": 16, "layers_measured": 1, "num_layers": 2},
    "copy_bandwidth": {"gbps": 1.0}, "read_bandwidth": {"gbps": "fast"}, "formats": []})}, check=refused(2))
