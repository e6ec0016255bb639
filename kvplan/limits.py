"""The largest inputs kvplan accepts, written once, checked where each input enters.

Every figure kvplan computes is an exact Python integer, so no size overflows inside the
planner; these limits exist so that a typo or a hostile file is refused in one line
(exit 2) instead of eating memory, hanging, or reaching a numpy int64 or float path that
would wrap or overflow. Each limit sits far above anything a real model or deployment
uses (the figure it is compared with is in its comment) and is listed, with the message
it gives, in docs/limits.md. tests/test_limits.py pins every value.

The checks are here too, so each message is written once:
``check_int(value, what, limit)`` and ``check_spec(data, origin)``.
"""

from __future__ import annotations

from kvplan.errors import BadInputError, SpecError

# -- model shapes (spec files, config.json) ----------------------------------------------------------
#: Decoder layers. The deepest published stacks: Llama 3.1 405B 126, GPT-3 96, DeepSeek-V3 61.
#: Specs keep one entry per layer, so this also bounds every per-layer list and loop.
MAX_LAYERS = 10_000
#: Any other width: hidden_size, intermediate_size, vocab_size, q_lora_rank, state-space
#: channels, heads and sizes, expert counts and widths. The largest real ones:
#: vocab 262,208 (Gemma 3), intermediate 53,248 (Llama 3.1 405B), Mamba d_inner 16,384
#: (Jamba 1.5 Large): 2**24 = 16,777,216 leaves 64x over the largest.
MAX_WIDTH = 1 << 24
#: Attention heads (num_attention_heads, num_kv_heads, a kind's kv_heads). The most
#: published: 128 (Llama 3.1 405B, DeepSeek-V3); 65,536 is 512x that.
MAX_HEADS = 1 << 16
#: Head and latent dims (head_dim, v_head_dim, MLA kv_lora_rank, qk_rope_head_dim,
#: qk_nope_head_dim). The widest: 256 (Gemma 2/3 head_dim), 512 (DeepSeek-V3 kv_lora_rank);
#: 16,384 is 32x that.
MAX_HEAD_DIM = 1 << 14
#: Parameters of one extra_params entry (a vision tower ...): 10**15, 500x the largest
#: published model (~2 * 10**12 parameters).
MAX_PARAMS = 10**15

# -- token counts -------------------------------------------------------------------------------
#: Any token count: --ctx, max_position_embeddings, --max-model-len, windows, chunks,
#: --max-num-batched-tokens, --kv-pool-tokens, trace lengths, min_kv_tokens. 2**32 =
#: 4,294,967,296 tokens: 400x the longest advertised context (10M, Llama 4 Scout).
MAX_TOKENS = 1 << 32
#: Concurrent requests or sequences: --batch, `requests` in a plan, --max-num-seqs,
#: --max-seqs. 2**20 = 1,048,576; engines default to 256-1024 (vLLM max_num_seqs).
MAX_BATCH = 1 << 20
#: Parallel degrees: --tp, --pp, --dp, --gpus (each). 65,536 GPUs per degree.
MAX_DEGREE = 1 << 16
#: Tokens per KV block (--block-size), and speculative tokens a step (num_speculative_tokens:
#: 1-10 in practice). vLLM offers block sizes 1 to 256; hybrid models raise it to about 1-3k
#: (Qwen3-Next); 65,536 leaves room for any of that.
MAX_BLOCK_SIZE = 1 << 16
#: Memory sizes: --gpu-mem, gpu_mem and min_headroom in a plan. 2**50 B = 1 PiB per GPU
#: (the largest GPU today holds 288 GB).
MAX_MEMORY_BYTES = 1 << 50
#: Characters of one number written as text ('32k', '79.19GiB'). Every limit above has
#: at most 16 digits; this stops a 5,000-digit argument before Python converts it (Python
#: refuses to convert more than 4,300 digits, and float() overflows past 309).
MAX_NUMBER_CHARS = 64

# -- work ----------------------------------------------------------------------------------------
#: Points of one sweep (models x ctx x batch x formats x tp x pp). A point is ~15 numbers
#: (~120 B in memory, ~100 B of CSV), so 10**6 points is ~120 MB and ~2 s of work.
MAX_GRID_POINTS = 1_000_000
#: Sequences one `kvplan fragment` run simulates per policy (requests x --n). The simulator
#: takes ~30 us per sequence and policy on a laptop core: 10**6 is about a minute for the
#: six default policies.
MAX_SIMULATED_SEQUENCES = 1_000_000
#: Arrival rates of one `kvplan fragment --rate` sweep: each rate simulates every policy
#: again (5,000 rates of 50 requests took 118 s here); a sweep plot shows far fewer points.
MAX_RATES = 256
#: The slowest Poisson --rate: below it arrival times (seconds, float64) grow so large that a
#: step of milliseconds is lost in their rounding (at 1e-300/s every delay came out 0 ms);
#: 1e6 requests at 1e-6/s arrive over ~1e12 s, where a float still resolves 0.1 ms.
MIN_RATE_PER_S = 1e-6
#: Deployments in one `kvplan check` plan (each is planned once, ~1 ms).
MAX_DEPLOYMENTS = 1_000
#: Random seeds (measure, fragment): torch.Generator takes a 64-bit seed; 2**63 - 1 keeps
#: it in the signed range every generator accepts.
MAX_SEED = (1 << 63) - 1
#: Timed decode steps per format (`kvplan measure --repeat`).
MAX_REPEAT = 10_000
#: Cache bytes of one layer under `kvplan measure --interpret` (the Triton interpreter runs
#: the kernels on the CPU): the default interpreter run of llama3-8b holds 384 KiB per layer
#: (2 sequences x 3 pages x 16 tokens x 8 heads x 256 values x 2 B), so 16 MiB is 42x that.
MAX_INTERPRET_CACHE_BYTES = 16 << 20

# -- input files --------------------------------------------------------------------------------
#: Bytes of a spec, config.json, plan or measure report. Real ones are 1-50 KB.
MAX_INPUT_BYTES = 16 << 20
#: Bytes of a request trace (CSV, JSONL, JSON, Parquet).
MAX_TRACE_BYTES = 256 << 20
#: Bytes of an engine log for `kvplan explain` (a startup log is ~10-100 KB; a whole
#: server log can be large, and only its start is needed).
MAX_LOG_BYTES = 256 << 20
#: Nesting depth of a YAML or JSON document. Real specs and configs nest 3-5 levels deep.
MAX_NESTING_DEPTH = 64
#: Values (scalars, lists, mappings) of one YAML or JSON document after aliases are expanded.
MAX_VALUES = 1_000_000


def show(value: int) -> str:
    """``1,048,576``, or ``a 5,000-digit number`` when printing it would be silly (or
    would need more digits than Python converts)."""
    if abs(value) < 10**30:
        return f"{value:,}"
    digits = int(abs(value).bit_length() * 0.30103) + 1  # log10(2): exact to one digit
    return f"a number of about {digits:,} digits"


def check_int(value: int, what: str, limit: int, unit: str = "") -> int:
    """``value`` if it is at most ``limit``, else BadInputError in one line."""
    if value > limit:
        raise BadInputError(f"{what}: {show(value)}{unit} is beyond kvplan's limit of {limit:,}{unit} "
                            f"(see docs/limits.md)")
    return value


# -- spec fields ----------------------------------------------------------------------------------
#: Integer spec fields with a limit other than MAX_WIDTH (keys anywhere in the spec).
_SPEC_LIMITS = {
    "num_layers": (MAX_LAYERS, " layers"),
    "source_layer": (MAX_LAYERS, ""),
    "first_dense_layers": (MAX_LAYERS, " layers"),
    "layer_freq": (MAX_LAYERS, ""),
    "norms_per_layer": (64, ""),
    "num_attention_heads": (MAX_HEADS, " heads"),
    "num_kv_heads": (MAX_HEADS, " heads"),
    "kv_heads": (MAX_HEADS, " heads"),
    "head_dim": (MAX_HEAD_DIM, ""),
    "v_head_dim": (MAX_HEAD_DIM, ""),
    "kv_lora_rank": (MAX_HEAD_DIM, ""),
    "qk_rope_head_dim": (MAX_HEAD_DIM, ""),
    "qk_nope_head_dim": (MAX_HEAD_DIM, ""),
    "max_position_embeddings": (MAX_TOKENS, " tokens"),
    "position_offset": (MAX_TOKENS, " tokens"),
    "window": (MAX_TOKENS, " tokens"),
    "chunk": (MAX_TOKENS, " tokens"),
}


def check_spec(data: dict, origin: str = "") -> dict:
    """Every integer of a validated spec (``kvplan.schema.validate_spec``'s plain data)
    within its limit; SpecError naming the field otherwise. Returns ``data``."""
    where = f"{origin}: " if origin else ""
    stack: list[tuple[str, object, str]] = [("", data, "")]
    while stack:
        path, value, key = stack.pop()
        if isinstance(value, dict):
            for k, v in value.items():
                stack.append((f"{path}.{k}" if path else str(k), v, str(k)))
        elif isinstance(value, (list, tuple)):
            if value and all(isinstance(v, str) for v in value):
                continue  # names (aliases, layer_types)
            stack.extend((f"{path}.{i}", v, key) for i, v in enumerate(value))
        elif isinstance(value, int) and not isinstance(value, bool):
            if path.startswith("extra_params."):
                limit, unit = MAX_PARAMS, " parameters"
            else:
                limit, unit = _SPEC_LIMITS.get(key, (MAX_WIDTH, ""))
            if value > limit:
                raise SpecError(f"{where}{path}: {show(value)}{unit} is beyond kvplan's limit of {limit:,}{unit} "
                                f"(see docs/limits.md)")
    return data
