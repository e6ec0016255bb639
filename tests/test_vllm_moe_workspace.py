"""vLLM's fused-MoE workspace kept after the profile forward (rule moe_persistent_workspace,
FINDINGS_h27_moe.md): counted on the sampler-time peak for TritonExperts (0.14.0-0.19.1); a
note where kvplan has not read the kernel (the pool can be smaller than planned, as for dp > 1's
token gather). 0.20.0+ (the oracle releases): tests/test_vllm_moe_oracle.py."""

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


def _weights(release, spec, tp=1):
    from kvplan.capacity import make_request, plan

    return plan(make_request(spec, "h100", tp=tp, engine=f"vllm=={release}")).weights


def _ws(release, spec, tp=1, tokens=8192):
    e = get_engine(f"vllm=={release}")
    s = e.settings(H100, tp=tp, max_num_batched_tokens=tokens)
    return e.moe_workspace_bytes(spec, s, range(spec.num_layers), H100, _weights(release, spec, tp))


def test_qwen3_30b_a3b_at_8192_tokens():
    # K = 2,048, topk 8, N = 2 x 768 = 1,536: workspace13 8,192 x 8 x max(768, 2,048),
    # workspace2 8,192 x 8 x max(1,536, 2,048), bf16: 2 x 134,217,728 x 2 = 536,870,912
    for release in ("0.14.0", "0.17.1", "0.18.0", "0.19.1"):
        assert _ws(release, QWEN) == 536_870_912


def test_mixtral_tp2():
    # K = 4,096, topk 2, N = 2 x 14,336 / 2 = 14,336: 8,192 x 2 x 7,168 + 8,192 x 2 x 14,336
    # = 117,440,512 + 234,881,024 elements, x 2 B = 704,643,072
    assert _ws("0.19.1", MIXTRAL, tp=2) == 704_643_072


def test_chunked_on_0_17_not_on_0_18():
    # T = 32,768 > 16,384 on 0.17.1: workspace13 16,384 x 8 x 2,048, workspace2 the same, and
    # fused_out 32,768 x 2,048 of its own: (268,435,456 x 2 + 67,108,864) x 2 = 1,207,959,552.
    assert _ws("0.17.1", QWEN, tokens=32768) == 1_207_959_552
    # 0.18.0: no chunking, fused_out a view of workspace13: 2 x 32,768 x 8 x 2,048 x 2 = 2,147,483,648
    assert _ws("0.18.0", QWEN, tokens=32768) == 2_147_483_648


def test_freed_before_0_14_and_dense_untouched():
    assert _ws("0.13.0", QWEN) == 0
    assert _ws("0.10.2", QWEN) == 0
    assert _ws("0.19.1", load_builtin("llama-3.1-8b")) == 0


def test_activation_adds_it_to_the_sampler_peak():
    e = get_engine("vllm==0.19.1")
    s = e.settings(H100)
    layers = range(QWEN.num_layers)
    w = _weights("0.19.1", QWEN)
    assert e.activation_bytes(QWEN, H100, s, 0, layers, w) == e.sampler_bytes(QWEN, H100, s) + 536_870_912


def _cli(*args):
    p = subprocess.run(["kvplan", "capacity", *args], capture_output=True, text=True)
    return p.returncode, p.stderr.strip()


@pytest.mark.parametrize("args, words", [
    (("--engine", "vllm==0.19.1", "--weights", "fp8"), "the fp8 experts' kernels"),
    (("--engine", "vllm==0.12.0", "--weights", "fp8"), "the fp8 experts' kernels"),
    (("--engine", "vllm==0.19.1", "--tp", "2", "--enable-expert-parallel"), "with --enable-expert-parallel"),
    (("--engine", "vllm==0.19.1", "--dp", "2"), "with dp 2"),
])
def test_unmodelled_cases_are_planned_with_a_note(args, words):
    """Where the kept workspace is not sized, it is not counted and the pool's notes say the pool can
    be smaller than planned (exit 0)."""
    rc, err = _cli("qwen3-30b-a3b", "--gpu", "h100", *args)
    assert rc == 0 and words in err
    assert "fused-MoE workspace" in err and "not counted and the KV pool can be smaller than planned" in err


def test_quantized_before_0_11_still_planned():
    rc, _ = _cli("qwen3-30b-a3b", "--gpu", "h100", "--engine", "vllm==0.10.2", "--weights", "fp8")
    assert rc == 0


# -- mxfp4 experts (gpt-oss), rule moe_mxfp4_sm90_freed (FINDINGS_h28_moeq.md) --------------------
GPT_OSS = load_builtin("gpt-oss-120b")


def _capacity(*args):
    p = subprocess.run(["kvplan", "capacity", *args, "--json"], capture_output=True, text=True)
    return p.returncode, json.loads(p.stdout), p.stderr


def _moe_notes(data):
    return [n for n in data["notes"] if "fused-MoE workspace" in n]


@pytest.mark.parametrize("release, rc, activation, pool, blocks", [
    # H100 (80 GiB, capability 9.0), gpt-oss-120b, defaults, without the note: vLLM's mxfp4 Triton path
    # keeps no workspace, so none is added (0 B). The pools carry the Triton experts' resident bytes
    # (rule mxfp4_sm90_expert_layout, tests/test_vllm_mxfp4_experts.py: 3,812,294,656 B above the
    # checkpoint's with the float32 rotary cache). 0.14.1 is vllm issue #33155's release ("[mxfp4.py:165]
    # Using Triton backend"): no memory left for the KV cache (exit 1), as that issue reports; 0.18.1 and
    # 0.19.1: exit 1, a 131,072-token request needs 8,713 blocks, more than the pool's 6,938
    ("0.14.1", 1, 7_923_302_400, -743_500_416, 0),
    ("0.18.1", 1, 3_087_538_176, 2_818_243_968, 4_778),  # the 0.17.0+ layout's padding to 64
    ("0.19.1", 1, 3_087_538_176, 2_818_243_968, 4_778),
])
def test_gpt_oss_on_hopper_is_planned_without_the_note(release, rc, activation, pool, blocks):
    got, data, err = _capacity("gpt-oss-120b", "--gpu", "h100", "--engine", f"vllm=={release}")
    assert got == rc and not _moe_notes(data) and "fused-MoE" not in err
    assert (data["activation_bytes"], data["kv_pool_bytes"], data["num_blocks"]) == (activation, pool, blocks)


@pytest.mark.parametrize("release", ["0.12.0", "0.13.0", "0.14.1", "0.15.1", "0.16.0", "0.17.1", "0.18.1", "0.19.1"])
@pytest.mark.parametrize("gpu", ["h100", "h200"])
def test_mxfp4_on_capability_9_0_keeps_no_workspace(release, gpu):
    e = get_engine(f"vllm=={release}")
    g = get_gpu(gpu)
    s = e.settings(g)
    w = plan(make_request(GPT_OSS, gpu, engine=f"vllm=={release}")).weights
    assert w.format == "mxfp4" and e.mxfp4_experts_freed(g, w, s)
    assert e.moe_workspace_note(GPT_OSS, g, w, s) is None
    assert e.moe_workspace_bytes(GPT_OSS, s, range(GPT_OSS.num_layers), g, w) == 0


@pytest.mark.parametrize("args, why", [
    # (0.11.x on capability 9.0, Triton or Marlin by whether triton_kernels is installed, is refused:
    # tests/test_vllm_mxfp4_experts.py test_install_dependent_releases_refused)
    # Blackwell: FlashInfer when flashinfer-cubin is installed or nvcc is on PATH (before 0.19.0), not read
    (("--gpu", "b200", "--engine", "vllm==0.14.1"), "mxfp4 experts' kernels"),
    (("--gpu", "b200", "--engine", "vllm==0.19.1"), "mxfp4 experts' kernels"),
    (("--gpu", "mi300x", "--engine", "vllm==0.19.1"), "mxfp4 experts' kernels"),
    (("--gpu", "h100", "--engine", "vllm==0.14.1", "--dp", "2"), "mxfp4 experts' kernels"),
    (("--gpu", "h100", "--engine", "vllm==0.14.1", "--tp", "2", "--enable-expert-parallel"), "mxfp4 experts' kernels"),
])
def test_mxfp4_cases_not_read_keep_the_note(args, why):
    rc, data, err = _capacity("gpt-oss-120b", "--max-model-len", "8192", *args)
    assert rc == 0 and len(_moe_notes(data)) == 1 and why in _moe_notes(data)[0]
    assert "the KV pool can be smaller than planned" in _moe_notes(data)[0]


# -- block-quantized fp8 experts on capability 9.0, rule moe_fp8_block_sm90_triton (FINDINGS_h28_moeq.md
#    section 6): vLLM 0.17.0-0.19.1's fp8 oracle puts TritonExperts first there, so the workspace counts
DSV3 = load_builtin("deepseek-v3")


def test_deepseek_v3_spec_is_block_quantized():
    assert (DSV3.weights_format, DSV3.weights_block) == ("fp8_e4m3", (128, 128))


@pytest.mark.parametrize("release", ["0.17.0", "0.17.1", "0.18.0", "0.18.1", "0.19.0", "0.19.1"])
def test_deepseek_v3_fp8_block_workspace_h200_tp8(release):
    # K = 7,168, topk 8, N = 2 x 2,048 / 8 = 512: workspace13 8,192 x 8 x max(256, 7,168),
    # workspace2 8,192 x 8 x max(512, 7,168), bf16 (the activations' dtype, not fp8):
    # 2 x 469,762,048 x 2 = 1,879,048,192 B
    g = get_gpu("h200")
    e = get_engine(f"vllm=={release}")
    s = e.settings(g, tp=8)
    w = plan(make_request(DSV3, "h200", tp=8, engine=f"vllm=={release}")).weights
    assert w.format == "fp8" and e.fp8_block_experts_triton(DSV3, g, w, s)
    assert e.moe_workspace_note(DSV3, g, w, s) is None
    assert e.moe_workspace_bytes(DSV3, s, range(DSV3.num_layers), g, w) == 1_879_048_192
    # the dense first three layers alone hold none
    assert e.moe_workspace_bytes(DSV3, s, range(3), g, w) == 0


@pytest.mark.parametrize("release, before, after", [
    # kvplan capacity deepseek-v3 --gpu h200 --tp 8 --engine vllm==RELEASE --json:
    # (activation_bytes, kv_pool_bytes, num_blocks) before (not counted, with the note) and after
    ("0.17.1", (2_090_438_656, 44_871_981_439, 9_977), (3_969_486_848, 42_992_933_247, 9_559)),
    ("0.18.1", (2_090_438_656, 44_871_981_439, 39_909), (3_969_486_848, 42_992_933_247, 38_237)),
    ("0.19.1", (2_090_438_656, 44_871_981_439, 39_909), (3_969_486_848, 42_992_933_247, 38_237)),
])
def test_deepseek_v3_h200_tp8_counts_the_workspace(release, before, after):
    rc, data, err = _capacity("deepseek-v3", "--gpu", "h200", "--tp", "8", "--engine", f"vllm=={release}")
    assert rc == 0 and not _moe_notes(data) and "fused-MoE" not in err
    got = (data["activation_bytes"], data["kv_pool_bytes"], data["num_blocks"])
    assert got == after
    # the pool shrinks by exactly the workspace
    assert after[0] - before[0] == before[1] - after[1] == 1_879_048_192


@pytest.mark.parametrize("args, why", [
    # 0.16.0: DEEPGEMM before TRITON, an installation fact
    (("deepseek-v3", "--gpu", "h200", "--tp", "8", "--engine", "vllm==0.16.0"), "fp8 experts' kernels"),
    # Blackwell: FlashInfer TRTLLM first, not read
    (("deepseek-v3", "--gpu", "b200", "--tp", "8", "--block-size", "64", "--engine", "vllm==0.19.1"),
     "fp8 experts' kernels"),
    # expert parallelism: FlashInfer CUTLASS first
    (("deepseek-v3", "--gpu", "h200", "--tp", "8", "--enable-expert-parallel", "--engine", "vllm==0.19.1"),
     "fp8 experts' kernels"),
    (("deepseek-v3", "--gpu", "h200", "--tp", "8", "--dp", "2", "--engine", "vllm==0.19.1"), "fp8 experts' kernels"),
    # fp8 without a block size (per-tensor scales: another oracle order)
    (("qwen3-30b-a3b", "--gpu", "h100", "--weights", "fp8", "--engine", "vllm==0.19.1"), "fp8 experts' kernels"),
    (("qwen3-30b-a3b", "--gpu", "h100", "--quantization", "fp8", "--engine", "vllm==0.19.1"), "fp8 experts' kernels"),
])
def test_fp8_cases_not_read_keep_the_note(args, why):
    rc, data, err = _capacity(*args, "--max-model-len", "8192")
    assert rc == 0 and len(_moe_notes(data)) == 1 and why in _moe_notes(data)[0], (rc, data.get("notes"), err)


def test_sparse_attention_keeps_the_note(tmp_path):
    # DeepSeek-V3.2 (fp8, weight_block_size [128, 128]): its indexer and FlashMLA sparse share the
    # WorkspaceManager buffer, not read
    from pathlib import Path

    from kvplan.hf_import import spec_from_hf_config

    cfg = json.loads((Path(__file__).parent / "fixtures/hf_configs/deepseek-v3.2.json").read_text())
    spec = spec_from_hf_config(cfg, "deepseek-v3.2.json")
    assert spec.weights_block == (128, 128)
    g = get_gpu("h200")
    e = get_engine("vllm==0.19.1")
    s = e.settings(g, tp=8)
    w = plan(make_request(spec, "h200", tp=8, engine="vllm==0.19.1")).weights
    assert not e.fp8_block_experts_triton(spec, g, w, s)
    assert "fp8 experts' kernels" in e.moe_workspace_note(spec, g, w, s)
    assert e.moe_workspace_bytes(spec, s, range(spec.num_layers), g, w) == 0


# -- pipeline stages: every stage's profile forward holds the workspace (no sampler before the last) ----
def test_forward_counts_the_workspace_in_place_of_the_mlp_copies():
    e = get_engine("vllm==0.19.1")
    s = e.settings(H100, pp=2)
    w = _weights("0.19.1", QWEN)
    layers = range(24)
    # the dense fit alone: int(8,192 x 2 x (6.7 x 2,048 + 3 x 8 x 768)), below the workspace itself
    assert e.forward_bytes(QWEN, s, layers) == 526_804_582 < 536_870_912
    # int(8,192 x 2 x 6.7 x 2,048) + 536,870,912: the experts' intermediates are views of the workspace
    assert e.forward_bytes(QWEN, s, layers, H100, w) == 761_685_606
    assert e.activation_bytes(QWEN, H100, s, 0, layers, w) == 761_685_606
    # Mixtral (expert_intermediate 14,336 >= hidden 4,096): the workspace is the fit's 3 x 2 x 14,336 MLP
    # copies to the element, so its forward is unchanged
    sm = e.settings(H100, pp=3)
    wm = _weights("0.19.1", MIXTRAL)
    assert e.forward_bytes(MIXTRAL, sm, range(11), H100, wm) == e.forward_bytes(MIXTRAL, sm, range(11)) \
        == 1_858_915_532


def test_deepseek_v2_lite_shared_experts_and_dense_first_layer():
    spec = load_builtin("deepseek-v2-lite")
    e = get_engine("vllm==0.19.1")
    s = e.settings(H100, pp=2)
    w = _weights("0.19.1", spec)
    # workspace 8,192 x 6 x (2,048 + 2,816) x 2 = 478,150,656; an MoE layer: int(8,192 x 2 x 6.7 x 2,048)
    # + 3 x 2 x 1,408 shared-expert copies x 8,192 x 2 (138,412,032) + the workspace; layer 0 (dense,
    # 10,944, before the workspace): 224,814,694 + 537,919,488 = 762,734,182, less
    assert e.moe_workspace_bytes(spec, s, range(14), H100, w) == 478_150_656
    assert e.forward_bytes(spec, s, range(14), H100, w) == 841_377_382
    assert e.forward_bytes(spec, s, range(1), H100, w) == 762_734_182


@pytest.mark.parametrize("args, binding, blocks, activations", [
    # before: 231,988 blocks, stage 0 at 778,462,822 B (the dense fit); the first stage (14 of 27 layers) binds
    (("deepseek-v2-lite", "--pp", "2", "--engine", "vllm==0.19.1"), 0, 231_744, [841_377_382, 2_152_267_776]),
    # before: 198,622 blocks, stages 1-3 at 593,913,446 B; a middle stage (10 of 48 layers) binds
    (("qwen3-30b-a3b", "--pp", "5", "--engine", "vllm==0.25.1", "--enforce-eager"), 1, 197_906,
     [761_685_606, 828_794_470, 828_794_470, 828_794_470, 2_948_343_808]),
    # the last stage binds as before (56,788); stage 0 at 761,685,606 (before 526,804,582): 59,569 blocks
    (("qwen3-30b-a3b", "--pp", "2", "--engine", "vllm==0.25.1", "--enforce-eager"), 1, 56_788,
     [761_685_606, 2_948_343_808]),
    # one sampled row: the forward binds the last stage too (before 59,653 blocks, 695,737,088 B), and at
    # pp 1 (before 10,334 blocks, 628,628,224 B: the sampler plus the workspace)
    (("qwen3-30b-a3b", "--pp", "2", "--max-num-seqs", "1", "--engine", "vllm==0.25.1", "--enforce-eager"), 1,
     59_484, [761_685_606, 828_794_470]),
    (("qwen3-30b-a3b", "--max-num-seqs", "1", "--engine", "vllm==0.25.1", "--enforce-eager"), 0, 10_249,
     [761_685_606]),
    # 0.21.0 on Hopper (FlashInferExperts): the kept (T, K) output 33,554,432 and the CUTLASS call's
    # 571,736,064 beside the hidden copies on stage 0: 830,105,190 (before 526,804,582)
    (("qwen3-30b-a3b", "--pp", "2", "--engine", "vllm==0.21.0", "--enforce-eager"), 1, 57_428,
     [830_105_190, 2_445_027_328]),
])
def test_pipeline_stages_hold_the_workspace(args, binding, blocks, activations):
    rc, data, err = _capacity(*args, "--gpu", "h100")
    assert rc in (0, 1), err
    assert (data["binding_stage"], data["num_blocks"]) == (binding, blocks)
    assert [st["activation_bytes"] for st in data["stages"]] == activations


# (bf16 experts on 0.8.0-0.13.0: the call's scratch is sized, rule moe_call_scratch,
#  tests/test_vllm_moe_call_scratch.py; these are the paths it does not size)
@pytest.mark.parametrize("args, sized", [
    # fp8 experts' fused_experts_impl caches (and their quantized copies), local to the call
    (("qwen3-30b-a3b", "--engine", "vllm==0.10.2", "--weights", "fp8"), "which kvplan sizes only for unquantized "
     "gated experts with dp 1, on AMD up to 0.11.0 (rule moe_call_scratch); use --pp 1"),
    # mxfp4 Triton buffers freed: 0.13.0 (fused_experts era) and 0.19.1
    (("gpt-oss-120b", "--engine", "vllm==0.13.0", "--max-model-len", "8192"), "(rule moe_call_scratch); use --pp 1"),
    (("gpt-oss-120b", "--engine", "vllm==0.19.1", "--max-model-len", "8192"),
     "which kvplan has not sized for this release; use --pp 1"),
])
def test_unsized_moe_scratch_on_an_earlier_stage_is_refused(args, sized):
    rc, err = _cli(*args, "--gpu", "h100", "--pp", "2")
    assert rc == 2 and err.count("\n") == 0
    assert "pipeline stage 0 (layers 0-" in err and err.endswith(sized)
    assert _cli(*args, "--gpu", "h100")[0] in (0, 1)  # pp 1: the sampler binds the only stage, as before


def test_noted_cases_keep_the_note_at_pp_2():
    rc, err = _cli("qwen3-30b-a3b", "--gpu", "h100", "--pp", "2", "--engine", "vllm==0.19.1", "--weights", "fp8")
    assert rc == 0 and "the fp8 experts' kernels" in err and "KV pool can be smaller than planned" in err


@pytest.mark.parametrize("release, seqs, extra", [
    ("0.10.2", 1, ("--weights", "fp8")), ("0.10.2", 128, ("--weights", "fp8")),
])
def test_unsized_moe_scratch_where_the_last_stage_forward_binds_is_refused(release, seqs, extra):
    """Review h31b F1: with few sampled rows the dummy sampler's peak (87,061,760 B at one row on
    0.10.2; 357,203,968 at 128) is below the forward, which holds the unsized fused_experts
    scratch, binds the only (or last) stage: refused, as an earlier stage is, where kvplan planned
    9,488 blocks (0.10.2, one row) before. bf16 experts are sized now (NVIDIA, AMD to 0.11.0:
    tests/test_vllm_moe_call_scratch.py, tests/test_vllm_moe_call_scratch_bound.py); fp8 experts are
    compared with the forward holding at least the unquantized scratch (review h32 D1): int(8,192 x 2
    x 6.7 x 2,048) + 369,098,752 = 593,913,446 B."""
    rc, err = _cli("qwen3-30b-a3b", "--gpu", "h100", "--engine", f"vllm=={release}", "--max-num-seqs", str(seqs),
                   *extra)
    assert rc == 2 and err.count("\n") == 0, err
    assert f"the dummy sampler over {seqs:,} row" in err
    assert "is not above the profile forward with its experts' call scratch (593,913,446 B at least" in err
    assert err.endswith("(rule moe_call_scratch); raise --max-num-seqs above the forward or serve bf16 experts on "
                        "an NVIDIA GPU")
    # the default 1,024 rows: the sampler (2,263,089,152 B on 0.10.2) binds, as before
    assert _cli("qwen3-30b-a3b", "--gpu", "h100", "--engine", f"vllm=={release}", *extra)[0] in (0, 1)
