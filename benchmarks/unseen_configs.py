"""Exact, refused or wrong: kvplan on real config.json files of architectures it had no reader for.

Each config in benchmarks/unseen_configs/ (sources in its README) is loaded the way a user
would (``kvplan.loader.load_model(path)``) and its KV bytes for one sequence are compared,
at 4,096 and 131,072 tokens, with a figure derived by hand below from the config and from
what vLLM builds (unpaged: a sliding or chunked layer holds min(n, window) tokens, a
state-space layer a constant state). The KV format is the model's served dtype (vLLM's
default ``--kv-cache-dtype auto``).

Verdicts: **exact** (both figures right; "+warn" when kvplan printed assumptions),
**refused** (a KvplanError: one line, exit 2), **wrong** (a number that differs).
A model vLLM cannot serve counts as right only when refused.

Run it against any checkout: ``PYTHONPATH=<checkout> python benchmarks/unseen_configs.py``
(the kvplan found first on sys.path is measured). Writes results/unseen_configs.json.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
CONFIGS = HERE / "unseen_configs"
CTXS = (4096, 131072)


@dataclass(frozen=True)
class Expect:
    """KV of one sequence: ``layers`` = (count, bytes per token per layer, tokens cap or None);
    ``state`` = bytes held per sequence whatever its length."""

    layers: tuple[tuple[int, int, int | None], ...]
    state: int = 0
    why: str = ""

    def seq_bytes(self, n: int) -> int:
        return sum(c * b * (min(n, cap) if cap else n) for c, b, cap in self.layers) + self.state


@dataclass(frozen=True)
class Refuse:
    why: str


BF16, FP16 = 2, 2
EXPECTED: dict[str, Expect | Refuse] = {
    # gpt_bigcode, multi_query: 24 layers x 1 KV head x (128 + 128) x 2 B = 12,288 B/token
    "starcoderbase-1b": Expect(((24, 1 * 256 * BF16, None),), why="multi_query: one KV head"),
    # gpt_neox: 32 x 32 heads x (80 + 80) x 2 (fp16) = 327,680
    "redpajama-incite-3b": Expect(((32, 32 * 160 * FP16, None),)),
    # phi-msft (Phi-2): n_head_kv null = MHA, 2560 / 32 = 80: 32 x 32 x 160 x 2 = 327,680
    "phi-2": Expect(((32, 32 * 160 * FP16, None),)),
    # qwen (v1): kv_channels 128 = 2048 / 16, MHA: 24 x 16 x 256 x 2 = 196,608
    "qwen-1_8b": Expect(((24, 16 * 256 * BF16, None),)),
    # qwen2_moe: use_sliding_window false: 24 x 16 x 256 x 2 = 196,608
    "qwen1.5-moe-a2.7b": Expect(((24, 16 * 256 * BF16, None),)),
    # stablelm: 32 x 32 x (80 + 80) x 2 = 327,680
    "stablelm-3b-4e1t": Expect(((32, 32 * 160 * BF16, None),)),
    # baichuan: 32 x 32 x 256 x 2 = 524,288
    "baichuan2-7b": Expect(((32, 32 * 256 * BF16, None),)),
    # internlm: 32 x 32 x 256 x 2 (fp16) = 524,288
    "internlm-7b": Expect(((32, 32 * 256 * FP16, None),)),
    # chatglm: multi_query_group_num 2 KV heads of kv_channels 128: 28 x 2 x 256 x 2 = 28,672
    "chatglm3-6b": Expect(((28, 2 * 256 * FP16, None),), why="2 query groups"),
    # internlm2: 32 x 8 x 256 x 2 = 131,072
    "internlm2_5-7b": Expect(((32, 8 * 256 * BF16, None),)),
    # starcoder2: sliding_window 4096 on every layer (vLLM Starcoder2Attention): 32 x 4 x 256 x 2
    "starcoder2-7b": Expect(((32, 4 * 256 * BF16, 4096),), why="4096-token window on every layer"),
    # cohere (Aya 23): 32 x 8 x 256 x 2 (fp16) = 131,072
    "aya-23-8b": Expect(((32, 8 * 256 * FP16, None),)),
    # minicpm: 40 x 36 x (64 + 64) x 2 = 368,640
    "minicpm-2b": Expect(((40, 36 * 128 * BF16, None),)),
    # deepseek (v1 MoE): MHA 28 x 16 x 256 x 2 = 229,376
    "deepseek-moe-16b": Expect(((28, 16 * 256 * BF16, None),)),
    # gptj: 4096 / 16 = 256: 28 x 16 x 512 x 2 = 458,752 (fp32 checkpoint served as bf16)
    "gpt-j-6b": Expect(((28, 16 * 512 * BF16, None),)),
    # olmo2: torch_dtype float32 -> served bf16: 32 x 32 x 256 x 2 = 524,288
    "olmo-2-7b": Expect(((32, 32 * 256 * BF16, None),), why="float32 checkpoint served in bf16"),
    # orion: 40 x 40 x 256 x 2 = 819,200
    "orion-14b": Expect(((40, 40 * 256 * BF16, None),)),
    # llava: text_config is a diff against LlamaConfig (32 layers, 32 heads, 4096): 32 x 32 x 256 x 2 (fp16)
    "llava-1.5-7b": Expect(((32, 32 * 256 * FP16, None),), why="sparse text_config"),
    # RWKV: vLLM has no RWKV model
    "rwkv5-3b": Refuse("vLLM cannot serve RWKV"),
    # ministral3 wrapper, text ministral3: sliding_window null: 26 x 8 x 256 x 2 = 106,496
    "ministral-3-3b-2512": Expect(((26, 8 * 256 * BF16, None),)),
    # qwen3_vl, text qwen3_vl_text: 36 x 8 x 256 x 2 = 147,456
    "qwen3-vl-8b-instruct": Expect(((36, 8 * 256 * BF16, None),)),
    # qwen3_vl_moe: 48 x 4 x 256 x 2 = 98,304
    "qwen3-vl-30b-a3b-instruct": Expect(((48, 4 * 256 * BF16, None),)),
    # qwen3_5: 16 full layers (layer_types) x 4 x (256 + 256) x 2 = 65,536/token; 48 Gated DeltaNet
    # layers: conv (2 x 16 x 128 + 48 x 128) x 3 = 30,720 + state 48 x 128 x 128 = 786,432 values,
    # taken in bf16 here (the config's mamba_ssm_dtype float32 would double the state part)
    "qwen3.5-27b": Expect(((16, 4 * 512 * BF16, None),), state=48 * (30_720 + 786_432) * BF16,
                          why="hybrid; state dtype not cross-checked"),
    # mimo (qwen2-like, use_sliding_window false): 36 x 8 x 256 x 2 = 147,456
    "mimo-7b-base": Expect(((36, 8 * 256 * BF16, None),)),
    # mimo_v2_flash: hybrid_layer_pattern 0 = full (9 layers: 4 KV heads x (192 K + 128 V)),
    # 1 = sliding window 128 (39 layers: swa 8 KV heads x (192 + 128))
    "mimo-v2-flash": Expect(((9, 4 * 320 * BF16, None), (39, 8 * 320 * BF16, 128)),
                            why="hybrid SWA, V narrower than K"),
    # deepseek_v32: MLA latent (512 + 64) x 2 B + indexer key 128 fp8 + 4 B scale per token and layer
    "deepseek-v3.2": Expect(((61, 576 * BF16 + 132, None),), why="MLA + sparse-attention indexer"),
    # llama4: 48 layers x 8 x 256 x 2 = 4,096 B/token/layer; every 4th layer NoPE global (12),
    # the other 36 chunked local attention over 8,192 tokens (attention_chunk_size)
    "llama-4-scout-17b-16e-instruct": Expect(((12, 8 * 256 * BF16, None), (36, 8 * 256 * BF16, 8192)),
                                             why="chunked local attention"),
    # kimi_k25 wrapper, text kimi_k2 (DeepSeek-V3 MLA): 61 x 576 x 2 = 70,272
    "kimi-k2.5": Expect(((61, 576 * BF16, None),)),
    # nemotron-nas: block_configs: 49 layers with n_heads_in_group 8 (64 / 8 = 8 KV heads), 31 no-op
    "llama-3.3-nemotron-super-49b-v1": Expect(((49, 8 * 256 * BF16, None),), why="per-layer block_configs"),
    # nemotron_h: hybrid_override_pattern: 10 attention layers x 8 x 256 x 2; 54 Mamba2 layers:
    # conv (256 x 64 + 2 x 8 x 256) x 3 = 61,440 values in bf16 + ssm 256 x 64 x 256 = 4,194,304
    # values in the model dtype: the config names no mamba_ssm_cache_dtype (vLLM picks one by
    # release, float16 in 0.13.0-0.19.1: kvplan.engines.vllm_rules mamba_ssm_cache_dtype)
    "nemotron-h-56b-base-8k": Expect(((10, 8 * 256 * BF16, None),), state=54 * (61_440 * BF16 + 4_194_304 * BF16),
                                     why="Mamba2 hybrid, ssm state dtype not named"),
    # nemotron_h MoE: 6 attention x 2 x 256 x 2; 23 Mamba2: conv (64 x 64 + 2 x 8 x 128) x 3 = 18,432
    # bf16 + ssm 64 x 64 x 128 = 524,288 in float32 (mamba_ssm_cache_dtype)
    "nemotron-3-nano-30b-a3b": Expect(((6, 2 * 256 * BF16, None),), state=23 * (18_432 * BF16 + 524_288 * 4),
                                      why="Mamba2 hybrid, fp32 ssm state"),
    # glm_moe_dsa: MLA (512 + 64) x 2 + DSA indexer 128 fp8 + 4 B scale, 78 layers
    "glm-5": Expect(((78, 576 * BF16 + 132, None),), why="MLA + sparse-attention indexer"),
    # minimax_m2: full attention 62 x 8 x 256 x 2 = 253,952 (MTP modules unused without speculation)
    "minimax-m2.5": Expect(((62, 8 * 256 * BF16, None),)),
}


def judge(path: Path) -> dict:
    from kvplan.capacity import served_spec
    from kvplan.errors import KvplanError
    from kvplan.footprint import footprint
    from kvplan.formats import get_format
    from kvplan.loader import load_model

    expect = EXPECTED[path.stem]
    try:
        spec = load_model(str(path))
        # the dtype vLLM serves the config in on an H100 (a float32 config such as OLMo-2's is
        # downcast: VLLM.serving_dtype), which is what the expectations are written in
        fmt = get_format(served_spec(spec, "h100").dtype)
        got = [footprint(spec, fmt, n).seq_bytes for n in CTXS]
    except KvplanError as err:
        return {"verdict": "refused", "detail": str(err)}
    if isinstance(expect, Refuse):
        return {"verdict": "wrong", "detail": f"gave {got}; {expect.why}"}
    want = [expect.seq_bytes(n) for n in CTXS]
    if got != want:
        return {"verdict": "wrong", "got": got, "want": want, "detail": expect.why}
    warned = bool(getattr(spec, "assumptions", ()))
    return {"verdict": "exact+warn" if warned else "exact", "got": got}


def main() -> None:
    import kvplan

    paths = sorted(CONFIGS.glob("*.json"))
    missing = {p.stem for p in paths} ^ set(EXPECTED)
    if missing:
        sys.exit(f"configs and expectations differ: {sorted(missing)}")
    rows = {p.stem: judge(p) for p in paths}
    counts: dict[str, int] = {}
    for name, row in rows.items():
        counts[row["verdict"]] = counts.get(row["verdict"], 0) + 1
        extra = row.get("detail", "") if row["verdict"] != "exact" else ""
        if row["verdict"] == "wrong" and "got" in row:
            extra = f"got {row['got']} want {row['want']} ({row['detail']})"
        print(f"{row['verdict']:11} {name:34} {extra[:150]}")
    print(f"kvplan from {Path(kvplan.__file__).parent}: {len(rows)} configs: "
          + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    out = HERE / "results" / (sys.argv[1] if len(sys.argv) > 1 else "unseen_configs.json")
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"kvplan": str(Path(kvplan.__file__).parent), "counts": counts, "rows": rows},
                              indent=2) + "\n")


if __name__ == "__main__":
    main()
