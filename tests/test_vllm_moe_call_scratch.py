"""vLLM 0.8.0-0.13.0: the scratch one fused-MoE call allocates and frees inside the profile forward
(rule moe_call_scratch, VLLM.moe_call_scratch_bytes; review h31b F1b, FINDINGS_h32_moescr.md).

fused_moe.py fused_experts_impl, every release 0.8.0-0.13.0: cache13 = M x topk x max(N, K) and
intermediate_cache2 = M x topk x N / 2 in the activations' dtype, M = min(T, VLLM_FUSED_MOE_CHUNK_SIZE)
(envs.py default 32,768 to 0.11.2, 16 * 1024 from 0.12.0), and from 0.11.1 (torch 2.9:
utils.py disable_inplace) the (T, K) out_hidden_states. N = 2 x expert_intermediate / tp, K = hidden.
The unquantized forward holds it in place of the dense fit's routed MLP copies; the plan compares that
forward with the dummy sampler. Every figure below is worked out from those shapes in the comment.
"""

import json
import subprocess

import pytest

from kvplan.capacity import make_request, plan
from kvplan.engines import get_engine
from kvplan.gpus import get_gpu
from kvplan.loader import load_builtin

H100 = get_gpu("h100")
QWEN = load_builtin("qwen3-30b-a3b")
MIXTRAL = load_builtin("mixtral-8x7b")


def _scratch(release, spec, tp=1, tokens=8192, gpu="h100", **kw):
    g = get_gpu(gpu)
    e = get_engine(f"vllm=={release}")
    s = e.settings(g, tp=tp, max_num_batched_tokens=tokens)
    # the weights' split, planned with ROCm's expert padding off (padded, AMD plans of 0.8.2-0.13.0 are
    # refused: rule rocm_moe_weight_padding)
    w = plan(make_request(spec, gpu, tp=tp, engine=get_engine(f"vllm=={release}", rocm_moe_padding=False), **kw)).weights
    return e.moe_call_scratch_bytes(spec, s, range(spec.num_layers), g, w)


# Qwen3-30B-A3B, tp 1: K = 2,048, topk 8, N = 2 x 768 = 1,536.
#   cache13 8,192 x 8 x 2,048 x 2 = 268,435,456; cache2 8,192 x 8 x 768 x 2 = 100,663,296
#   0.11.1+: out_hidden_states 8,192 x 2,048 x 2 = 33,554,432
@pytest.mark.parametrize("release, expected", [
    ("0.8.4", 369_098_752), ("0.9.2", 369_098_752), ("0.10.2", 369_098_752), ("0.11.0", 369_098_752),
    ("0.11.1", 402_653_184), ("0.11.2", 402_653_184), ("0.12.0", 402_653_184), ("0.13.0", 402_653_184),
    ("0.14.0", 0),  # the modular kernel's kept workspace instead (rule moe_persistent_workspace)
])
def test_qwen3_30b_a3b_at_8192_tokens(release, expected):
    assert _scratch(release, QWEN) == expected


@pytest.mark.parametrize("release, expected", [
    # T = 32,768: M = 32,768 (chunk 32,768): 32,768 x 8 x (2,048 + 768) x 2 = 1,476,395,008
    ("0.10.2", 1_476_395_008),
    # + out_hidden_states 32,768 x 2,048 x 2 = 134,217,728
    ("0.11.1", 1_610_612_736),
    # chunk 16,384: 16,384 x 8 x (2,048 + 768) x 2 = 738,197,504, + the full (T, K) output 134,217,728
    ("0.12.0", 872_415_232), ("0.13.0", 872_415_232),
])
def test_the_chunk_caps_m_but_not_the_output(release, expected):
    assert _scratch(release, QWEN, tokens=32768) == expected


def test_mixtral_tp2():
    # K = 4,096, topk 2, N = 2 x 14,336 / 2 = 14,336: cache13 8,192 x 2 x 14,336 x 2 = 469,762,048,
    # cache2 8,192 x 2 x 7,168 x 2 = 234,881,024; 0.13.0 + 8,192 x 4,096 x 2 = 67,108,864
    assert _scratch("0.10.2", MIXTRAL, tp=2) == 704_643_072
    assert _scratch("0.13.0", MIXTRAL, tp=2) == 771_751_936


@pytest.mark.parametrize("release, gpu, kw", [
    ("0.10.2", "h100", {"weights": "fp8"}),  # quantized experts: other kernels' copies, not read
    ("0.13.0", "mi300x", {}),                # the ROCm build's torch decides the (T, K) output
    ("0.13.0", "h100", {"weights": "fp8"}),
])
def test_not_sized_outside_the_read_path(release, gpu, kw):
    assert _scratch(release, QWEN, gpu=gpu, **kw) == 0


def test_forward_holds_it_in_place_of_the_routed_mlp_copies():
    e = get_engine("vllm==0.10.2")
    s = e.settings(H100)
    w = plan(make_request(QWEN, "h100", engine="vllm==0.10.2")).weights
    layers = range(QWEN.num_layers)
    # dense fit: int(8,192 x 2 x (6.7 x 2,048 + 3 x 8 x 768)) = 526,804,582;
    # sized: int(8,192 x 2 x 6.7 x 2,048) + 369,098,752 = 224,814,694 + 369,098,752
    assert e.forward_bytes(QWEN, s, layers) == 526_804_582
    assert e.forward_bytes(QWEN, s, layers, H100, w) == 593_913_446
    # freed after the call: nothing is kept for the sampler (moe_workspace_bytes 0)
    assert e.moe_workspace_bytes(QWEN, s, layers, H100, w) == 0


def test_deepseek_v2_lite_dense_first_layer_holds_no_scratch():
    spec = load_builtin("deepseek-v2-lite")
    e = get_engine("vllm==0.10.2")
    s = e.settings(H100)
    w = plan(make_request(spec, "h100", engine="vllm==0.10.2")).weights
    # K = 2,048, topk 6, N = 2,816: cache13 8,192 x 6 x 2,816 x 2 = 276,824,064, cache2 8,192 x 6 x 1,408 x 2
    # = 138,412,032
    assert e.moe_call_scratch_bytes(spec, s, range(27), H100, w) == 415_236_096
    assert e.moe_call_scratch_bytes(spec, s, range(1), H100, w) == 0
    # layer 0 alone (dense, 10,944): 224,814,694 + 3 x 10,944 x 8,192 x 2 = 762,734,182, no scratch
    assert e.forward_bytes(spec, s, range(1), H100, w) == 762_734_182
    # an MoE layer: 224,814,694 + 3 x 2 x 1,408 x 8,192 x 2 (shared, 138,412,032) + 415,236,096
    assert e.forward_bytes(spec, s, range(27), H100, w) == 778_462_822


def _capacity(*args):
    p = subprocess.run(["kvplan", "capacity", *args, "--json"], capture_output=True, text=True)
    data = json.loads(p.stdout) if p.stdout else None
    return p.returncode, data, p.stderr.strip()


@pytest.mark.parametrize("args, activation, blocks", [
    # kvplan capacity qwen3-30b-a3b --gpu h100 --engine vllm==0.10.2 --max-num-seqs S (h32-moescr):
    # 192 rows: before exit 2 (sampler 493,338,624 B not above the fit 526,804,582); now the sized forward
    # 593,913,446 binds
    (("qwen3-30b-a3b", "--engine", "vllm==0.10.2", "--max-num-seqs", "192"), 593_913_446, 9_446),
    # review F1b's zone: before, the sampler 527,372,288 (above the fit) planned 9,488 blocks; the forward
    # with the scratch, 593,913,446, is above it: 9,446 blocks (66,541,158 B less pool)
    (("qwen3-30b-a3b", "--engine", "vllm==0.10.2", "--max-num-seqs", "208"), 593_913_446, 9_446),
    # above fit + scratch the sampler binds as before: 240 rows 595,439,616; 256: 629,473,280 (9,423);
    # 1,024: 2,263,089,152 (8,384)
    (("qwen3-30b-a3b", "--engine", "vllm==0.10.2", "--max-num-seqs", "240"), 595_439_616, 9_445),
    (("qwen3-30b-a3b", "--engine", "vllm==0.10.2", "--max-num-seqs", "256"), 629_473_280, 9_423),
    (("qwen3-30b-a3b", "--engine", "vllm==0.10.2", "--max-num-seqs", "1024"), 2_263_089_152, 8_384),
    # one row: before exit 2 (and 9,488 blocks before the F1 refusal)
    (("qwen3-30b-a3b", "--engine", "vllm==0.10.2", "--max-num-seqs", "1"), 593_913_446, 9_446),
    # 0.13.0: the sampler (1,193,459,712 B at 192 rows) is above the forward, 224,814,694 + 402,653,184
    # = 627,467,878, which binds at one row (before exit 2; 9,318 blocks before the F1 refusal)
    (("qwen3-30b-a3b", "--engine", "vllm==0.13.0", "--max-num-seqs", "192"), 1_193_459_712, 8_894),
    (("qwen3-30b-a3b", "--engine", "vllm==0.13.0", "--max-num-seqs", "1"), 627_467_878, 9_254),
    # Mixtral tp 2: the scratch is the fit's 3 x 2 x 14,336 routed copies to the element, so the forward is
    # the fit, 1,154,272,460, on 0.10.2 (before: exit 2 at every --max-num-seqs up to 1,024)
    (("mixtral-8x7b", "--tp", "2", "--engine", "vllm==0.10.2", "--max-num-seqs", "256"), 1_154_272_460, 27_208),
    (("mixtral-8x7b", "--tp", "2", "--engine", "vllm==0.10.2"), 1_154_272_460, 27_208),
    # 0.13.0: + the (T, K) output 67,108,864: 1,221,381,324 (before exit 2 at 256 rows); 1,024 rows: the
    # sampler 1,363,673,088 as before
    (("mixtral-8x7b", "--tp", "2", "--engine", "vllm==0.13.0", "--max-num-seqs", "256"), 1_221_381_324, 25_127),
    (("mixtral-8x7b", "--tp", "2", "--engine", "vllm==0.13.0"), 1_363_673_088, 24_991),
])
def test_plans(args, activation, blocks):
    rc, data, err = _capacity(*args, "--gpu", "h100")
    assert rc == 0, err
    assert "fused-MoE" not in err and "scratch" not in err
    assert (data["activation_bytes"], data["num_blocks"]) == (activation, blocks)


def test_pipeline_stage_with_the_scratch_is_planned():
    # before: exit 2 ("pipeline stage 0 ... runs no dummy sampler"); stage 0's forward now holds the sized
    # scratch: int(8,192 x 2 x 6.7 x 2,048) + 369,098,752 = 593,913,446
    rc, data, err = _capacity("qwen3-30b-a3b", "--gpu", "h100", "--engine", "vllm==0.10.2", "--pp", "2")
    assert rc == 0, err
    assert data["stages"][0]["activation_bytes"] == 593_913_446


def test_a_dense_layer_after_an_moe_layer_holds_no_scratch():
    # Qwen3-30B-A3B with every other layer dense (intermediate 6,144): the call's scratch is freed when the
    # MoE layer returns, so the dense layer 1 holds its fit alone, int(8,192 x 2 x (6.7 x 2,048 + 3 x 6,144))
    # = 526,804,582, not 526,804,582 + 369,098,752 (what a kept workspace would give); the MoE layer 0 binds
    import dataclasses

    spec = dataclasses.replace(QWEN, moe=dataclasses.replace(QWEN.moe, layer_freq=2))
    assert [spec.is_moe_layer(i) for i in range(3)] == [True, False, True]
    e = get_engine("vllm==0.10.2")
    s = e.settings(H100)
    w = plan(make_request(spec, "h100", engine="vllm==0.10.2")).weights
    assert e.forward_bytes(spec, s, range(1, 2), H100, w) == 526_804_582
    assert e.forward_bytes(spec, s, range(2), H100, w) == 593_913_446
    # with a dense layer after the MoE one, the peak is still the MoE layer's: 593,913,446 > 526,804,582
    assert e.forward_bytes(spec, s, range(3), H100, w) == 593_913_446
