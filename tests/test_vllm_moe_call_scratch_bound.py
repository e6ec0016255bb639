"""vLLM 0.8.0-0.13.0: the fused-MoE call scratch on the paths h32-moescr left unsized (review h32 D1,
FINDINGS_h32_moescr2.md).

- AMD (forward_hip = forward_cuda, AITER off by default) and expert parallelism with dp 1 (all2all
  kernels only with dp > 1; N whole on every rank) run the same fused_experts_impl: sized as on NVIDIA
  (``moe_call_scratch_bytes``), except the (T, K) output on AMD from 0.11.1, which the ROCm build's
  torch decides (``moe_call_scratch_bound``: planned only where the sampler is above the forward with it).
- ROCm pads the unquantized experts' weights (rule rocm_moe_weight_padding, 0.8.2-0.13.0 here):
  256 B a row of w13 / w2 whose row is a multiple of 512 B (``rocm_moe_padding_bytes``).
- fp8 / int8 / int4 experts: the unquantized call scratch is a lower bound; refused where the sampler
  is not above the forward with it, a pool note above it.
Qwen3-30B-A3B: K = 2,048, topk 8, expert intermediate 768, 128 experts, 48 MoE layers, bf16.
"""

import json
import subprocess

import pytest

from kvplan.capacity import make_request, plan
from kvplan.errors import BadInputError
from kvplan.engines import get_engine
from kvplan.gpus import get_gpu
from kvplan.loader import load_builtin

QWEN = load_builtin("qwen3-30b-a3b")


def _engine_weights(release, gpu, tp=1, spec=QWEN, padding=None, **kw):
    # on AMD, 0.8.2-0.13.0 plan unquantized MoE only with VLLM_ROCM_MOE_PADDING=0 (rule
    # rocm_moe_weight_padding "device": the weights line counts what the allocator keeps of the copies)
    g = get_gpu(gpu)
    e = get_engine(f"vllm=={release}", rocm_moe_padding=padding)
    s = e.settings(g, tp=tp)
    w = plan(make_request(spec, gpu, tp=tp, engine=get_engine(f"vllm=={release}", rocm_moe_padding=False), **kw)).weights
    return e, g, s, w


@pytest.mark.parametrize("release, gpu, tp, kw, expected", [
    # AMD to 0.11.0: the NVIDIA figure, 8,192 x 8 x (2,048 + 768) x 2 = 369,098,752
    ("0.10.2", "mi300x", 1, {}, 369_098_752), ("0.8.4", "mi300x", 1, {}, 369_098_752),
    ("0.11.0", "mi300x", 1, {}, 369_098_752),
    # tp 2 without EP: N = 768: 8,192 x 8 x 2,048 x 2 + 8,192 x 8 x 384 x 2 = 318,767,104
    ("0.10.2", "mi300x", 2, {}, 318_767_104),
    # EP at tp 2, dp 1: whole experts, N = 1,536 a rank, the tp 1 figure
    ("0.10.2", "h100", 2, {"enable_expert_parallel": True}, 369_098_752),
    ("0.10.2", "mi300x", 2, {"enable_expert_parallel": True}, 369_098_752),
    # 0.13.0 EP: + the (T, K) output 33,554,432 (NVIDIA, torch 2.9)
    ("0.13.0", "h100", 2, {"enable_expert_parallel": True}, 402_653_184),
    # AMD from 0.11.1: the output depends on the ROCm build's torch: not sized (bounded instead)
    ("0.11.1", "mi300x", 1, {}, 0), ("0.13.0", "mi300x", 1, {}, 0),
    # quantized experts: not sized
    ("0.10.2", "h100", 1, {"weights": "fp8"}, 0),
])
def test_call_scratch(release, gpu, tp, kw, expected):
    e, g, s, w = _engine_weights(release, gpu, tp, **kw)
    assert e.moe_call_scratch_bytes(QWEN, s, range(QWEN.num_layers), g, w) == expected


@pytest.mark.parametrize("release, gpu, tp, kw", [
    # ROCm pads w13 (128, 1,536, 2,048: 4,096 B rows) and w2 (128, 2,048, 768: 1,536 B rows) at tp 1, w13 alone
    # at tp 2 (w2 rows 768 B), whole experts under EP; 0.8.2-0.13.0 measure the weights as the device's used
    # memory, so the padded layout is refused (h32-rocmpad), not counted as 5,637,144,576 B (h32-moescr2)
    ("0.10.2", "mi300x", 1, {}), ("0.8.4", "mi300x", 1, {}), ("0.13.0", "mi300x", 1, {}),
    ("0.10.2", "mi300x", 2, {}), ("0.10.2", "mi300x", 2, {"enable_expert_parallel": True}),
])
def test_rocm_padding_refused(release, gpu, tp, kw):
    e, g, s, w = _engine_weights(release, gpu, tp, **kw)
    with pytest.raises(BadInputError, match="rule rocm_moe_weight_padding.*VLLM_ROCM_MOE_PADDING=0"):
        e.rocm_moe_padding_bytes(QWEN, g, w, s, range(QWEN.num_layers))
    e, g, s, w = _engine_weights(release, gpu, tp, padding=False, **kw)
    assert e.rocm_moe_padding_bytes(QWEN, g, w, s, range(QWEN.num_layers)) == 0


@pytest.mark.parametrize("release, gpu, kw", [("0.10.2", "h100", {}), ("0.10.2", "mi300x", {"weights": "fp8"})])
def test_rocm_padding_nothing_padded(release, gpu, kw):  # NVIDIA; quantized methods do not pad
    e, g, s, w = _engine_weights(release, gpu, **kw)
    assert e.rocm_moe_padding_bytes(QWEN, g, w, s, range(QWEN.num_layers)) == 0


def test_rocm_padding_from_0_8_2():
    # Mixtral-8x7B (K 4,096, intermediate 14,336): w13 rows 8,192 B, w2 rows 28,672 B, both padded from
    # 0.8.2 (refused); 0.8.1 has no padding
    mixtral = load_builtin("mixtral-8x7b")
    e, g, s, w = _engine_weights("0.8.1", "mi300x", spec=mixtral)
    assert e.rocm_moe_padding_bytes(mixtral, g, w, s, range(mixtral.num_layers)) == 0
    for release in ("0.8.2", "0.11.0"):
        e, g, s, w = _engine_weights(release, "mi300x", spec=mixtral)
        with pytest.raises(BadInputError, match="rule rocm_moe_weight_padding"):
            e.rocm_moe_padding_bytes(mixtral, g, w, s, range(mixtral.num_layers))


#: AMD plans of unquantized experts on 0.8.2-0.13.0 need the padding off (rule rocm_moe_weight_padding)
NO_PAD = ("--from-vllm", "VLLM_ROCM_MOE_PADDING=0 vllm serve Qwen/Qwen3-30B-A3B")


def _capacity(*args):
    p = subprocess.run(["kvplan", "capacity", "qwen3-30b-a3b", *args, "--json"], capture_output=True, text=True)
    data = json.loads(p.stdout) if p.stdout else None
    # --from-vllm's "planning qwen3-30b-a3b for the command's model" note and every AMD plan's ROCm warning
    # (VLLM.rocm_notes, tests/test_vllm_moe_oracle.py) aside
    err = "\n".join(ln for ln in p.stderr.strip().splitlines()
                    if not ln.startswith("kvplan: note: planning") and "no ROCm startup log has been checked" not in ln)
    return p.returncode, data, err


@pytest.mark.parametrize("args, activation, blocks", [
    # review D1 (b): before 527,372,288 B (the sampler), 78,789 blocks; now the forward with the scratch
    # 593,913,446 binds (padding off: the weights as on an H100)
    (("--engine", "vllm==0.10.2", "--gpu", "mi300x", "--max-num-seqs", "208", *NO_PAD), 593_913_446, 78_747),
    # before 2,363,752,448 B, 77,622 blocks; int(32,768 x 2 x 6.7 x 2,048) + 1,476,395,008
    (("--engine", "vllm==0.10.2", "--gpu", "mi300x", "--max-num-batched-tokens", "32768", *NO_PAD), 2_375_653_785,
     77_614),
    # review D1 (c): before 527,372,288 B, 57,620 blocks
    (("--engine", "vllm==0.10.2", "--gpu", "h100", "--tp", "2", "--enable-expert-parallel", "--max-num-seqs",
      "208"), 593_913_446, 57_535),
    # AMD 0.13.0: the sampler, 1,285,836,800 B, is above the forward with the output (627,467,878): exact
    # whichever torch
    (("--engine", "vllm==0.13.0", "--gpu", "mi300x", "--max-num-seqs", "208", *NO_PAD), 1_285_836_800, 78_307),
])
def test_sized_plans(args, activation, blocks):
    rc, data, err = _capacity(*args)
    assert rc == 0 and err == "", err
    assert (data["activation_bytes"], data["num_blocks"]) == (activation, blocks)


def test_mi300x_padded_refused_unpadded_as_on_an_h100():
    # padded (the default): refused, the weights line being the device's used memory (h32-rocmpad); padding
    # off: the H100's weights, 61,074,731,008 B
    rc, data, err = _capacity("--engine", "vllm==0.10.2", "--gpu", "mi300x")
    assert rc == 2 and data is None and "rule rocm_moe_weight_padding" in err
    (_, h, _), (_, m, _) = (_capacity("--engine", "vllm==0.10.2", "--gpu", g, *extra)
                            for g, extra in (("h100", ()), ("mi300x", NO_PAD)))
    assert m["weights_bytes"] == h["weights_bytes"] == 61_074_731_008


@pytest.mark.parametrize("args, forward, what", [
    # review D1 (a): before 28,439 blocks, exit 0; the forward with at least the unquantized scratch:
    # int(8,192 x 2 x 6.7 x 2,048) + 369,098,752 = 593,913,446 > the sampler 527,372,288
    (("--engine", "vllm==0.10.2", "--gpu", "h100", "--weights", "fp8", "--max-num-seqs", "208"),
     593_913_446, "at least: the unquantized experts' call scratch, 369,098,752 B, which the fp8 experts'"),
    # before 27,272 blocks, exit 0
    (("--engine", "vllm==0.10.2", "--gpu", "h100", "--weights", "fp8", "--max-num-batched-tokens", "32768"),
     2_375_653_785, "at least: the unquantized experts' call scratch, 1,476,395,008 B, which the fp8"),
    (("--engine", "vllm==0.10.2", "--gpu", "h100", "--weights", "int4", "--max-num-seqs", "208"),
     593_913_446, "which the int4 experts'"),
    # 0.13.0 fp8 (before: planned with the workspace note): + the output, 627,467,878
    (("--engine", "vllm==0.13.0", "--gpu", "h100", "--weights", "fp8", "--max-num-seqs", "8"),
     627_467_878, "at least: the unquantized experts' call scratch, 402,653,184 B"),
    # AMD 0.13.0 with few rows: the forward is 593,913,446 or 627,467,878 by the ROCm build's torch
    (("--engine", "vllm==0.13.0", "--gpu", "mi300x", "--max-num-seqs", "8", *NO_PAD),
     627_467_878, "with the (T, K) output fused_experts_impl allocates from torch 2.9 (disable_inplace), which "
     "vllm==0.13.0 on ROCm does not pin"),
])
def test_refused_below_the_bound(args, forward, what):
    rc, data, err = _capacity(*args)
    assert rc == 2 and data is None and err.count("\n") == 0, err
    assert f"is not above the profile forward with its experts' call scratch ({forward:,} B" in err
    assert what in err and "(rule moe_call_scratch)" in err
    assert err.endswith("raise --max-num-seqs above the forward or serve bf16 experts on an NVIDIA GPU")


def test_above_the_bound_the_sampler_binds_with_a_note():
    # 240 rows: the sampler 595,439,616 > 593,913,446: planned (28,396 blocks), the fp8 extras noted
    rc, data, err = _capacity("--engine", "vllm==0.10.2", "--gpu", "h100", "--weights", "fp8", "--max-num-seqs", "240")
    assert rc == 0
    assert (data["activation_bytes"], data["num_blocks"]) == (595_439_616, 28_396)
    assert err.count("warning") == 1 and "the fp8 experts' fused-MoE call allocates" in err
    assert err.endswith("so the profile forward can be above the sampler and the KV pool smaller than planned")
    # bf16 on NVIDIA: sized, no note
    rc, data, err = _capacity("--engine", "vllm==0.10.2", "--gpu", "h100", "--max-num-seqs", "240")
    assert rc == 0 and err == ""
