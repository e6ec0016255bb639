"""vLLM's fused-MoE workspace kept after the profile forward (rule moe_persistent_workspace,
FINDINGS_h27_moe.md): counted on the sampler-time peak for TritonExperts (0.14.0-0.19.1); a
note where kvplan has not read the kernel (the pool can be smaller than planned, as for dp > 1's
token gather); MoE on 0.20.0+ refused (rule moe_persistent_workspace: unread)."""

import subprocess

import pytest

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


def test_moe_on_0_20_is_refused_in_one_line():
    rc, err = _cli("qwen3-30b-a3b", "--gpu", "h100", "--engine", "vllm==0.21.0", "--enforce-eager")
    assert rc == 2 and "mixture-of-experts kernels by a new oracle" in err and len(err.splitlines()) == 1


def test_quantized_before_0_11_still_planned():
    rc, _ = _cli("qwen3-30b-a3b", "--gpu", "h100", "--engine", "vllm==0.10.2", "--weights", "fp8")
    assert rc == 0
