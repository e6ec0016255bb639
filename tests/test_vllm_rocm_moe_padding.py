"""ROCm's padding of unquantized expert weights, vLLM 0.14.0-0.27.0 (rule rocm_moe_weight_padding,
FINDINGS_h32_rocmpad.md).

- 0.14.0-0.20.2: padded (kept to 0.19.x, copied away by .contiguous() on 0.20.x), but the weights line is
  the device's used memory (platforms/rocm.py get_current_memory_usage: total - free), which counts what
  the caching allocator keeps of the freed copies: refused unless VLLM_ROCM_MOE_PADDING=0.
- 0.21.0-0.24.0: convert_to_unquantized_kernel_format's .contiguous() drops it, allocated bytes: 0.
- 0.25.0-0.27.0: the Triton path skips .contiguous() on ROCm: kept and counted (the 0.13.0 figure).
Qwen3-30B-A3B tp 1: (128 x 1,536 + 128 x 2,048) x 256 x 48 = 5,637,144,576 B; Mixtral-8x7B tp 2 (N 7,168:
14,336 B rows, K 4,096: 8,192 B rows): 8 x (14,336 + 4,096) x 256 x 32 = 1,207,959,552 B.
"""

import json
import subprocess

import pytest

from kvplan.capacity import make_request, plan
from kvplan.engines import get_engine
from kvplan.errors import BadInputError
from kvplan.gpus import get_gpu
from kvplan.loader import load_builtin
from kvplan.vllm_args import parse_vllm

QWEN = load_builtin("qwen3-30b-a3b")
MIXTRAL = load_builtin("mixtral-8x7b")


def _padding(release, spec, tp, **engine_options):
    # the weights of the 0.19.1 plan (the same split on every release here); the padding on an MI300X
    w = plan(make_request(spec, "h100", tp=tp, engine="vllm==0.19.1")).weights
    g = get_gpu("mi300x")
    e = get_engine(f"vllm=={release}", **engine_options)
    return e.rocm_moe_padding_bytes(spec, g, w, e.settings(g, tp=tp), range(spec.num_layers))


@pytest.mark.parametrize("release", ["0.25.0", "0.25.1", "0.26.0", "0.27.0"])
def test_kept_from_0_25(release):
    assert _padding(release, QWEN, 1) == 5_637_144_576
    assert _padding(release, MIXTRAL, 2) == 1_207_959_552


@pytest.mark.parametrize("release", ["0.21.0", "0.22.1", "0.23.0", "0.24.0"])
def test_compacted_0_21_to_0_24(release):
    assert _padding(release, QWEN, 1) == 0
    assert _padding(release, MIXTRAL, 2) == 0


@pytest.mark.parametrize("release", ["0.14.0", "0.16.0", "0.18.1", "0.19.0", "0.19.1", "0.20.0", "0.20.2"])
def test_device_measured_refused(release):
    for spec, tp in ((QWEN, 1), (MIXTRAL, 2)):
        with pytest.raises(BadInputError, match="rocm_moe_weight_padding.*VLLM_ROCM_MOE_PADDING=0"):
            _padding(release, spec, tp)
        assert _padding(release, spec, tp, rocm_moe_padding=False) == 0


def test_env_off_and_unpadded_shapes():
    assert _padding("0.25.0", QWEN, 1, rocm_moe_padding=False) == 0
    # 0.13.0 measures the weights as the device's used memory too: refused where padded (h32-moescr2 had
    # counted the padded 5,637,144,576 B alone, a lower bound)
    with pytest.raises(BadInputError, match="rule rocm_moe_weight_padding"):
        _padding("0.13.0", QWEN, 1)
    assert _padding("0.13.0", QWEN, 1, rocm_moe_padding=False) == 0
    # tp 2: w2's rows are 768 B (not padded), w13's are: still refused on 0.19.1
    with pytest.raises(BadInputError):
        _padding("0.19.1", QWEN, 2)


def test_env_parsed_from_vllm_command():
    cmd = parse_vllm("VLLM_ROCM_MOE_PADDING=0 vllm serve Qwen/Qwen3-30B-A3B")
    assert cmd.engine_options == {"rocm_moe_padding": False}
    with pytest.raises(BadInputError, match="integer"):
        parse_vllm("VLLM_ROCM_MOE_PADDING=off vllm serve Qwen/Qwen3-30B-A3B")


def _cli(*args):
    p = subprocess.run(["kvplan", "capacity", *args, "--json"], capture_output=True, text=True)
    return p.returncode, (json.loads(p.stdout) if p.stdout else None), p.stderr.strip()


@pytest.mark.parametrize("args", [
    ("qwen3-30b-a3b", "--gpu", "mi300x", "--engine", "vllm==0.14.0"),
    ("qwen3-30b-a3b", "--gpu", "mi300x", "--engine", "vllm==0.19.1"),
    ("mixtral-8x7b", "--gpu", "mi300x", "--tp", "2", "--engine", "vllm==0.14.0"),
    ("mixtral-8x7b", "--gpu", "mi300x", "--tp", "2", "--engine", "vllm==0.19.1"),
])
def test_cli_refused(args):
    # before: 0.14.0 qwen 61,074,731,008 B weights, 75,312 blocks; 0.19.1 the same weights, 77,568 blocks;
    # mixtral tp 2 46,712,496,128 B, 130,960 (0.14.0) / 131,160 (0.19.1) blocks: the padding left out
    rc, data, err = _cli(*args)
    assert rc == 2 and data is None
    assert len(err.splitlines()) == 1 and "rule rocm_moe_weight_padding" in err and "VLLM_ROCM_MOE_PADDING=0" in err


@pytest.mark.parametrize("release, model, tp, weights, blocks", [
    ("0.14.0", "Qwen/Qwen3-30B-A3B", None, 61_074_731_008, 75_312),
    ("0.19.1", "Qwen/Qwen3-30B-A3B", None, 61_074_731_008, 77_568),
    ("0.14.0", "mistralai/Mixtral-8x7B-v0.1", 2, 46_712_496_128, 130_960),
    ("0.19.1", "mistralai/Mixtral-8x7B-v0.1", 2, 46_712_496_128, 131_160),
])
def test_cli_padding_off(release, model, tp, weights, blocks):
    cmd = f"VLLM_ROCM_MOE_PADDING=0 vllm serve {model}" + (f" --tensor-parallel-size {tp}" if tp else "")
    rc, data, _ = _cli("--gpu", "mi300x", "--engine", f"vllm=={release}", "--from-vllm", cmd)
    assert rc == 0
    assert (data["weights_bytes"], data["num_blocks"]) == (weights, blocks)


@pytest.mark.parametrize("release, extra", [("0.25.0", ()), ("0.27.0", ("--kv-cache-memory-bytes", "20000000000"))])
def test_cli_amd_moe_still_refused_from_0_20(release, extra):
    # the oracle refuses every AMD MoE plan from 0.20.0 (VLLM.moe_oracle_experts), padding or not
    for args in (("qwen3-30b-a3b",), ("mixtral-8x7b", "--tp", "2")):
        rc, data, err = _cli(*args, "--gpu", "mi300x", "--engine", f"vllm=={release}", *extra)
        assert rc == 2 and "oracle" in err
