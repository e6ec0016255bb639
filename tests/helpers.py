"""Helpers shared by the CLI tests (imported as `from helpers import ...`: pytest puts
tests/ on sys.path)."""

from __future__ import annotations

import json
from pathlib import Path

from kvplan.cli.main import run

#: Real Hugging Face config.json files the tests import (tests/fixtures/hf_configs/).
HF_FIXTURES = Path(__file__).parent / "fixtures" / "hf_configs"


def hf_fixture(name: str, **over) -> dict:
    """The config of tests/fixtures/hf_configs/NAME.json with ``over``'s keys set."""
    config = json.loads((HF_FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    config.update(over)
    return config


def gemma3_config_with_head_dim(tmp_path: Path, head_dim: int) -> str:
    """Path of gemma-3-4b-it's config (a multimodal prefix-LM model) written under ``tmp_path`` with its
    text model's head_dim set to ``head_dim``."""
    config = hf_fixture("gemma-3-4b-it")
    config["text_config"]["head_dim"] = head_dim
    path = tmp_path / f"gemma3-head{head_dim}.json"
    path.write_text(json.dumps(config))
    return str(path)


def cli(capsys, *args) -> tuple[int, str, str]:
    """Run `kvplan ARGS...` in process: (exit code, stdout, stderr)."""
    code = run([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(err: str) -> str:
    """The single non-blank stderr line of a failed command (and no traceback)."""
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


#: A layer layout with every kind but MLA and chunked: 3 x (sliding 100, full, Mamba-style state, shared).
HYBRID_CACHE = {
    "kinds": {
        "local": {"kind": "sliding_window", "window": 100},
        "global": {"kind": "full_attention"},
        "ssm": {"kind": "state_space", "conv_dim": 64, "conv_kernel": 4, "ssm_heads": 8, "ssm_head_dim": 4,
                "ssm_state_size": 16},
        "shared": {"kind": "shared_kv", "source_layer": 1},
    },
    "pattern": ["local", "global", "ssm", "shared"],
}

#: DeepSeek-V3's MLA block (config.json): one latent of 512 + 64 values per token and layer.
DEEPSEEK_V3_MLA = {"kv_lora_rank": 512, "qk_nope_head_dim": 128, "qk_rope_head_dim": 64, "v_head_dim": 128,
                   "q_lora_rank": 1536}


def toy_spec(**over):
    """A Llama-like spec (32 layers, 8 KV heads of 128) with any field overridden."""
    from kvplan.spec import spec_from_mapping

    base = dict(
        name="toy", source="test", num_layers=32, hidden_size=4096, num_attention_heads=32, num_kv_heads=8,
        head_dim=128, vocab_size=32000, intermediate_size=11008, dtype="bf16", max_position_embeddings=4096,
    )
    base.update(over)
    return spec_from_mapping(base, "test")


def capacity_json(capsys, *args) -> dict:
    """`kvplan capacity --gpu h100 ARGS... --json`, which must succeed: its JSON."""
    import json

    code, out, err = cli(capsys, "capacity", "--gpu", "h100", *args, "--json")
    assert code == 0, err
    return json.loads(out)


def pool_figures(got: dict) -> tuple:
    """The byte budget of a capacity JSON: weights, activation, other, engine share, pool, blocks, tokens."""
    return (got["weights_bytes"], got["activation_bytes"], got["other_bytes"], got["engine_share_bytes"],
            got["kv_pool_bytes"], got["num_blocks"], got["kv_cache_tokens"])


def config_refusal(capsys, tmp_path, config: dict) -> str:
    """Write ``config`` as a Hugging Face config.json, run `kvplan size` on it, assert exit 2, and
    return the one line it printed."""
    import json

    path = tmp_path / "config.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    code, _, err = cli(capsys, "size", str(path), "--ctx", "4096")
    assert code == 2
    return one_line_error(err)


#: (capacity arguments, words of the refusal) of the MoE cases vLLM's fused-MoE oracle picks by
#: paths kvplan has not read (0.20.0+): tests/test_vllm_moe_oracle.py and test_vllm_0_24.py
VLLM_MOE_ORACLE_REFUSALS = (
    (("gpt-oss-120b", "--gpu", "h100"), "select_gpt_oss_mxfp4_moe_backend picks for mxfp4 experts"),
    (("qwen3-30b-a3b", "--gpu", "b200"), "on compute capability 10.0 it puts FlashInfer's TRT-LLM"),
    (("qwen3-30b-a3b", "--gpu", "mi300x"), "on AMD GPUs its ROCm branch (Triton experts by default"),
    (("qwen3-30b-a3b", "--gpu-mem", "80GB"), "given by its memory alone"),
    (("qwen3-30b-a3b", "--gpu", "h100", "--tp", "2", "--enable-expert-parallel"), "with --enable-expert-parallel"),
    (("qwen3-30b-a3b", "--gpu", "h100", "--dp", "2"), "with dp 2 it picks prepare/finalize classes"),
    (("qwen3-30b-a3b", "--gpu", "h100", "--weights", "fp8"), "for per-tensor fp8 experts"),
)
