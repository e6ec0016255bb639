"""vLLM's mxfp4 experts (gpt-oss) on compute capability 9.0: the bytes they hold after
process_weights_after_loading (rule mxfp4_sm90_expert_layout, FINDINGS_h28_mxw.md): Marlin on
0.10.1-0.10.1.1, Triton on 0.12.0-0.19.1, refused on 0.10.2-0.11.2 (install-dependent); and
gpt-oss's float32 rotary cache (FP32_ROPE_ARCHITECTURES)."""

import json

import pytest

from kvplan.engines import rope_cache_bytes
from kvplan.engines.vllm import mxfp4_expert_bytes
from kvplan.loader import load_builtin
from helpers import cli, one_line_error

G120 = load_builtin("gpt-oss-120b")
G20 = load_builtin("gpt-oss-20b")
GIB = 1 << 30


def _json(capsys, *args):
    rc, out, _ = cli(capsys, "capacity", *args, "--json")
    return rc, json.loads(out)


def test_per_layer_bytes_tp1():
    # Marlin: I 2880 -> 2944, H 2880 -> 3072: w13 128 x 3072 x 5888 / 2 = 1,157,627,904, w2 578,813,952,
    # scales 72,351,744 + 36,175,872, bf16 biases 1,507,328 + 786,432 (workspace not counted)
    assert mxfp4_expert_bytes(G120, 1, "marlin") == 1_847_263_232
    # Triton: w13 1,061,683,200 + w2 530,841,600, scales 66,355,200 + 33,177,600 kept, swizzled
    # 128 x 5888 x 90 = 67,829,760 + 128 x 3072 x 90 = 35,389,440, fp32 biases 2,949,120 + 1,474,560
    assert mxfp4_expert_bytes(G120, 1, "triton") == 1_799_700_480
    assert mxfp4_expert_bytes(G20, 1, "triton") == 1_799_700_480 // 4  # 32 experts, same shapes


def test_per_layer_bytes_tp2():
    # I // 2 = 1440. Triton pads to 1472: w13 128 x 2944 x 1440 = 542,638,080, w2 128 x 2880 x 736 =
    # 271,319,040, scales 128 x 2944 x 90 = 33,914,880 + 128 x 2880 x 46 = 16,957,440, swizzled rows
    # to 3072: 35,389,440 + 18,087,936, fp32 biases 1,507,328 + 1,474,560
    assert mxfp4_expert_bytes(G120, 2, "triton") == 921_288_704
    # Marlin pads to 1536 (H 3072): 603,979,776 + 301,989,888 + 37,748,736 + 18,874,368 + 786,432 x 2
    assert mxfp4_expert_bytes(G120, 2, "marlin") == 964_165_632


def test_rope_cache_fp32_for_gpt_oss_only():
    assert rope_cache_bytes(G120) == 131072 * 64 * 4 == 32 << 20
    assert rope_cache_bytes(load_builtin("llama-3.1-8b")) == 131072 * 128 * 2


def test_0_14_1_triton_pool_negative(capsys):
    # matches vllm issue #33155: gpt-oss-120b on one H100 at defaults has no KV memory
    rc, d = _json(capsys, "gpt-oss-120b", "--gpu", "h100", "--engine", "vllm==0.14.1")
    assert rc == 1
    assert d["weights_bytes"] == 4_255_115_904 + (32 << 20) + 36 * 1_799_700_480 == 69_077_887_616
    assert d["kv_pool_bytes"] == -743_500_416
    assert d["fits"] is False and d["verdict"].startswith("does not fit: no memory left for the KV cache")


def test_0_10_1_1_marlin(capsys):
    rc, d = _json(capsys, "gpt-oss-120b", "--gpu", "h100", "--engine", "vllm==0.10.1.1")
    assert rc == 1
    # + each layer's Marlin workspace, 132 SMs x 4 int32 = 2,112 B (marlin_make_workspace_new(device, 4))
    assert d["weights_bytes"] == 4_255_115_904 + (32 << 20) + 36 * (1_847_263_232 + 2_112) == 70_790_222_720
    assert d["kv_pool_bytes"] == 2_754_538_624
    assert "vllm==0.10.1.1 refuses to start" in d["verdict"]


def test_tp2_and_20b(capsys):
    _, d = _json(capsys, "gpt-oss-120b", "--gpu", "h100", "--engine", "vllm==0.14.1", "--tp", "2")
    assert d["weights_bytes"] == 2_141_147_520 + (32 << 20) + 36 * 921_288_704 == 35_341_095_296
    _, d = _json(capsys, "gpt-oss-120b", "--gpu", "h100", "--engine", "vllm==0.10.1.1", "--tp", "2")
    assert d["weights_bytes"] == 2_141_147_520 + (32 << 20) + 36 * (964_165_632 + 2_112) == 36_884_740_736
    _, d = _json(capsys, "gpt-oss-20b", "--gpu", "h100", "--engine", "vllm==0.14.1")
    assert d["weights_bytes"] == 3_595_648_128 + (32 << 20) + 24 * 449_925_120 == 14_427_405_440


@pytest.mark.parametrize("release", ["0.10.2", "0.11.0", "0.11.2"])
def test_install_dependent_releases_refused(capsys, release):
    rc, out, err = cli(capsys, "capacity", "gpt-oss-120b", "--gpu", "h100", "--engine", f"vllm=={release}")
    assert rc == 2
    line = one_line_error(err)
    assert "triton_kernels" in line and "mxfp4_sm90_expert_layout" in line


def test_against_logged_weights(capsys):
    # "Model loading took" 65.9651 GiB (0.10.1, Marlin, #23278) and 64.38 GiB (0.14.1, Triton, #33155):
    # kvplan's weights (with the rotary cache) are below each by caching-allocator rounding, not
    # modelled, which stays under 0.06 GiB (rule mxfp4_sm90_expert_layout)
    for release, logged in (("0.10.1", 65.9651), ("0.14.1", 64.38)):
        _, d = _json(capsys, "gpt-oss-120b", "--gpu", "h100", "--engine", f"vllm=={release}")
        short = logged - d["weights_bytes"] / GIB
        assert 0 < short < 0.06, (release, short)


def test_blackwell_amd_and_ep_keep_checkpoint_bytes_with_one_note(capsys):
    _, d = _json(capsys, "gpt-oss-120b", "--gpu", "b200", "--engine", "vllm==0.14.1")
    assert d["weights_bytes"] == 65_248_815_744 + (32 << 20)
    assert len([n for n in d["notes"] if "holds these mxfp4 experts in here" in n]) == 1
    _, d = _json(capsys, "gpt-oss-120b", "--gpu", "mi300x", "--engine", "vllm==0.10.1.1")
    assert d["weights_bytes"] == 65_248_815_744 + (32 << 20)
    assert len([n for n in d["notes"] if "holds these mxfp4 experts in here" in n]) == 1
    _, d = _json(capsys, "gpt-oss-120b", "--gpu", "h100", "--engine", "vllm==0.14.1", "--tp", "2",
                 "--enable-expert-parallel")
    assert len([n for n in d["notes"] if "holds these mxfp4 experts in here" in n]) == 1
    # on capability 9.0 with the layout read, no such note
    _, d = _json(capsys, "gpt-oss-120b", "--gpu", "h100", "--engine", "vllm==0.14.1", "--tp", "2")
    assert not [n for n in d["notes"] if "mxfp4 experts" in n]


def test_marlin_workspace_needs_the_sm_count(capsys):
    """The Marlin workspace is SMs x 16 B a layer: a Hopper GPU without a catalog SM count is refused
    (H800: capability 9.0, compute_units unknown), as the Triton sampler's buffer is on 0.17.0+."""
    rc, out, err = cli(capsys, "capacity", "gpt-oss-120b", "--gpu", "h800", "--engine", "vllm==0.10.1.1")
    assert rc == 2 and out == ""
    assert "Marlin mxfp4 MoE workspace" in one_line_error(err) and "no SM count for h800" in err


def test_0_17_pads_the_triton_layout_to_64(capsys):
    """From 0.17.0 triton_kernels' hopper_value.py swizzle_data pads both dims of each expert weight to
    multiples of 64 first (0.17.0 :128-133, 0.19.1 :129-134; not in 0.16.0): gpt-oss's 1,440-byte rows
    become 1,472 (review h28 F1). tp 1: 36 x 1,835,089,920 B; tp 2: 945,143,808 B a layer."""
    assert mxfp4_expert_bytes(G120, 1, "triton64") == 1_835_089_920
    assert mxfp4_expert_bytes(G120, 2, "triton64") == 945_143_808
    for release, weights in (("0.16.0", 69_077_887_616), ("0.17.0", 70_351_907_456), ("0.19.1", 70_351_907_456)):
        _, d = _json(capsys, "gpt-oss-120b", "--gpu", "h100", "--engine", f"vllm=={release}")
        assert d["weights_bytes"] == weights, release
    _, d = _json(capsys, "gpt-oss-120b", "--gpu", "h100", "--engine", "vllm==0.19.1")
    assert (d["kv_pool_bytes"], d["num_blocks"]) == (2_818_243_968, 4_778)


def test_mxfp4_experts_without_biases_on_hopper_keep_the_layout_warning(capsys):
    """--weights mxfp4 on an MoE without expert biases (Qwen3-30B-A3B): the Triton backend keeps no
    workspace (rule moe_mxfp4_sm90_freed), but the resident layout is not read for such experts
    (mxfp4_expert_layout None), so the plan says so, as mxfp4_expert_layout's docstring promises."""
    rc, out, err = cli(capsys, "capacity", "qwen3-30b-a3b", "--gpu", "h100", "--weights", "mxfp4",
                       "--engine", "vllm==0.19.1")
    assert rc == 0
    warnings = [ln for ln in err.splitlines() if ln.startswith("kvplan: warning:")]
    assert len(warnings) == 1 and "kvplan has not read the layout vllm==0.19.1 holds these mxfp4 experts" in warnings[0]
    _, _, err = cli(capsys, "capacity", "gpt-oss-120b", "--gpu", "h100", "--engine", "vllm==0.19.1")
    assert "mxfp4 experts" not in err  # gpt-oss: layout read, nothing kept
