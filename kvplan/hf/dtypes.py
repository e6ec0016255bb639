"""How a checkpoint stores its weights: ``torch_dtype``, ``quantization_config``.

A float32 checkpoint is kept as float32: what it is served in depends on the engine, its
release and the GPU, so each engine resolves it (kvplan.capacity.served_spec: vLLM 0.9.1+
downcasts float32 to the platform's first dtype, bf16 from compute capability 8.0 and fp16
below; earlier releases and SGLang to fp16; rule ``auto_dtype``). ``kvplan size`` without a
GPU and ``--engine raw`` count it as stored. A config without a dtype is read from the
safetensors headers by vLLM (``_find_dtype``); from the config alone kvplan assumes bfloat16
and says so.
"""

from __future__ import annotations

from kvplan.hf.core import HFConfig

#: torch dtype names in config.json -> kvplan model dtypes.
DTYPES = {
    "bfloat16": "bf16", "bf16": "bf16",
    "float16": "fp16", "fp16": "fp16", "half": "fp16",
    "float32": "fp32", "fp32": "fp32", "float": "fp32",
}

def served_dtype(top: HFConfig, text: HFConfig, header_dtype: str | None = None) -> str:
    """``torch_dtype`` (or ``dtype``, transformers >= 4.56), as stored; without one,
    ``header_dtype`` (from the safetensors headers, as vLLM's ``_find_dtype``)."""
    for source in (top, text):
        for key in ("torch_dtype", "dtype"):
            value = source.raw(key, None)
            if value is None:
                continue
            if not isinstance(value, str) or value.lower() not in DTYPES:
                raise source.error(f"{source.where(key)} {value!r} is not one of bfloat16, float16, float32")
            stored = DTYPES[value.lower()]
            if stored == "fp32":
                top.note("checkpoint stored in float32: with --gpu each engine plans the dtype it serves it in "
                         "(vLLM 0.9.1+: bf16 on compute capability >= 8.0, fp16 below; earlier vLLM and SGLang: "
                         "fp16); without a GPU, and with --engine raw, float32 is counted; --dtype picks one")
            return stored
    if header_dtype is not None:
        top.note(f"dtype {header_dtype} from the safetensors headers (the config names none)")
        return header_dtype
    top.assume("config gives no torch_dtype: bf16 assumed (vLLM would read the dtype from the safetensors "
               "headers; point kvplan at the checkpoint to read them too)")
    return "bf16"


def quantization(top: HFConfig, text: HFConfig) -> dict | None:
    """quantization_config (top level, else the text_config's: Kimi-K2.5 keeps it there) ->
    {format, exclude} (and weight_block_size for block-quantized fp8): how the checkpoint's
    weights are stored."""
    q = top.raw("quantization_config", None)
    if q is None and text is not top:
        q = text.raw("quantization_config", None)
    if q is None:
        return None
    if not isinstance(q, dict):
        raise top.error("quantization_config must be a JSON object")
    method = str(q.get("quant_method", "")).lower()
    # Modules kept unquantized: transformers' modules_to_not_convert, vLLM fp8's
    # ignored_layers, compressed-tensors' ignore (names or "re:" patterns).
    exclude = []
    for key in ("modules_to_not_convert", "ignored_layers", "ignore"):
        names = q.get(key) or []
        if not isinstance(names, list) or not all(isinstance(x, str) for x in names):
            raise top.error(f"quantization_config.{key} must be a list of names")
        exclude += [n for n in names if n not in exclude]
    if method == "mxfp4":
        fmt = "mxfp4"
    elif method == "fp8":
        fmt = "fp8_e5m2" if str(q.get("fmt", "e4m3")).lower() == "e5m2" else "fp8_e4m3"
        if q.get("store_dtype") == "mxfp4":
            # vLLM 0.24.0 Fp8Config.from_config reads store_dtype (quantization/fp8.py :166) and gives
            # the experts Mxfp4MoEMethod for "mxfp4" (get_quant_method :208-213): experts stored as
            # mxfp4 beside fp8 linears, a mix kvplan's weight formats do not describe
            top.weights_need("quantization_config (quant_method 'fp8' with store_dtype 'mxfp4': mxfp4 experts "
                             "beside fp8 layers, which kvplan does not read)")
            return None
        # Block-quantized weights (DeepSeek-V3: [128, 128]): vLLM's Fp8Config reads the same key
        # and picks its fp8 MoE kernel by it (VLLM.fp8_block_experts_triton).
        block = q.get("weight_block_size")
        if block is not None:
            if not (isinstance(block, list) and len(block) == 2
                    and all(isinstance(x, int) and not isinstance(x, bool) and x > 0 for x in block)):
                raise top.error(f"quantization_config.weight_block_size must be two positive integers, got {block!r}")
            return {"format": fmt, "exclude": list(exclude), "weight_block_size": list(block)}
    elif method in ("gptq", "awq") and q.get("bits") in (4, 8):
        fmt = f"int{q['bits']}"
    elif method == "compressed-tensors" and (fmt := _compressed_tensors_format(q)):
        pass
    else:
        top.weights_need(f"quantization_config (quant_method {method or '?'!r} is not a storage format "
                         "kvplan reads)")
        return None
    return {"format": fmt, "exclude": list(exclude)}


def _compressed_tensors_format(q: dict) -> str | None:
    """The weight format of a compressed-tensors config (llm-compressor checkpoints): the
    first config group's ``weights`` scheme. 8-bit float -> fp8, 8-bit int -> int8, 4-bit int
    -> int4 (w4a16 groups), 4-bit float with groups of 32 -> mxfp4; others are not read."""
    groups = q.get("config_groups")
    if not isinstance(groups, dict):
        return None
    for group in groups.values():
        w = group.get("weights") if isinstance(group, dict) else None
        if not isinstance(w, dict):
            continue
        bits, kind = w.get("num_bits"), str(w.get("type", "int")).lower()
        if bits == 8:
            return "fp8_e4m3" if kind == "float" else "int8"
        if bits == 4 and kind == "int":
            return "int4"
        if bits == 4 and kind == "float" and w.get("group_size") == 32:
            return "mxfp4"
        return None
    return None


def kv_cache_quant_algo(top: HFConfig, text: HFConfig) -> str | None:
    """The quant_method whose quantization_config asks for an FP8 KV cache, in the spelling that
    method's engine config reads, else None (--kv-cache-dtype auto is then the model dtype under
    every engine kvplan reads). Which releases honour which method: rule checkpoint_fp8_kv_auto.

    - "modelopt": quant_method modelopt* (or the nested hf_quant_config.json layout with producer
      modelopt) with kv_cache_quant_algo "FP8" or an 8-bit float kv_cache_scheme: SGLang's
      ModelOptFp8Config / ModelOptFp4Config (layers/quantization/modelopt_quant.py from_config)
      and vLLM's get_kv_cache_quant_algo_string (utils/torch_utils.py, 0.14.0 :239-260, 0.27.0
      :310-362: modelopt* alone).
    - "fp8": quant_method fp8 or mxfp8 (both Fp8Config: SGLang layers/quantization/__init__.py
      0.5.18 lines 73-74) with a top-level kv_cache_quant_algo string that upper-cases to "FP8":
      Fp8Config.from_config keeps it from SGLang 0.5.18 (fp8.py 0.5.18 lines 306-345, 0.5.19
      315-354, 0.5.22 340-380, 0.5.23 346-386; before 0.5.18 Fp8Config has no such field), and
      configure_kv_cache_dtype compares it with .upper() == "FP8" (mem_cache/kv_cache_dtype.py
      0.5.18 lines 32-46).
    - "compressed-tensors": a kv_cache_scheme that CompressedTensorsKVCacheMethod.is_supported_scheme
      accepts (type float, num_bits 8, strategy tensor, symmetric unless false, dynamic unless
      true): CompressedTensorsConfig.kv_cache_quant_algo returns "FP8" for it from SGLang 0.5.19
      (compressed_tensors.py 0.5.19 lines 137-146 and 1173-1182; 0.5.23 lines 142-151 and
      1276-1285; 0.5.18 has no such property).
    - "compressed-tensors-other": any other kv_cache_scheme of a compressed-tensors config (per attention
      head, dynamic, asymmetric, ...). SGLang 0.5.19+ ignore it with a warning (compressed_tensors.py
      0.5.19 lines 208-216: the model dtype), but vLLM's Attention layer sets the cache to "fp8" for any
      kv_cache_scheme that is not None (0.15.0 attention/layer.py lines 198-199; 0.19.1
      model_executor/layers/attention/attention.py lines 229-230; from 0.22.0 only under auto, 0.27.0
      lines 284-285), or fails validating it (CompressedTensorsKVCacheMethod.validate_kv_cache_scheme)."""
    q = top.raw("quantization_config", None)
    if q is None and text is not top:
        q = text.raw("quantization_config", None)
    if not isinstance(q, dict):
        return None
    method = str(q.get("quant_method", "")).lower()
    if method in ("fp8", "mxfp8"):
        algo = q.get("kv_cache_quant_algo")
        return "fp8" if isinstance(algo, str) and algo.upper() == "FP8" else None
    if method == "compressed-tensors":
        scheme = q.get("kv_cache_scheme")
        if scheme is None:
            return None
        if (isinstance(scheme, dict) and scheme.get("type") == "float" and scheme.get("num_bits") == 8
                and scheme.get("strategy") == "tensor" and scheme.get("symmetric", True)
                and not scheme.get("dynamic", False)):
            return "compressed-tensors"
        return "compressed-tensors-other"
    return _modelopt(q)


def _modelopt(q: dict) -> str | None:
    """kv_cache_quant_algo's ModelOpt case (quant_method modelopt*, or the nested layout)."""
    method = str(q.get("quant_method", "")).lower()
    producer = q.get("producer")
    if not (method.startswith("modelopt")
            or (isinstance(producer, dict) and producer.get("name") == "modelopt")):
        return None
    inner = q.get("quantization") if isinstance(q.get("quantization"), dict) else {}
    for where in (inner, q):
        algo, scheme = where.get("kv_cache_quant_algo"), where.get("kv_cache_scheme")
        if isinstance(algo, str) and algo.strip().upper() == "FP8":
            return "modelopt"
        if isinstance(scheme, dict) and scheme.get("type") == "float" and scheme.get("num_bits") == 8:
            return "modelopt"
        if isinstance(scheme, str) and scheme.strip().upper() in ("FP8", "FLOAT8"):
            return "modelopt"
    return None
