"""SGLang's weights under DP attention (--tp N --dp D --enable-dp-attention; kvplan tp = N / D,
dp = D) and DeepSeek-V3's fused shared expert: rules dp_attention_weights and
shared_expert_whole (kvplan/engines/sglang.py), exact bytes per GPU.

DeepSeek-V3 fp8 (kvplan's per-channel scales), --tp 8 --dp 8, expert parallel, before these
rules: 100,920,076,544 B a GPU (lm_head, 3 dense MLPs and 58 shared experts whole). SGLang
splits them over its whole tp group of 8:
  lm_head       129,280 x 7,168 x 2 B = 1,853,358,080 -> 231,669,760          (-1,621,688,320)
  dense MLP     3 x (36,864 x 7,168 + 7,168 x 18,432 weights, 1 B, + 4 B scales per output row:
                36,864 split, 7,168 of down_proj kept whole by the row split)  (-1,040,836,608)
  shared expert 58 x (4,096 x 7,168 + 7,168 x 2,048 weights + scales)          (-2,235,871,232)
  total -4,898,396,160 -> 96,021,680,384 B.
"""

from __future__ import annotations

import dataclasses

import pytest

from helpers import cli, one_line_error
from kvplan.capacity import make_request, plan
from kvplan.engines import get_engine
from kvplan.errors import BadInputError, ShapeError
from kvplan.gpus import get_gpu
from kvplan.hf.checkpoint import Checkpoint
from kvplan.hf.safetensors import TensorInfo
from kvplan.loader import load_model
from kvplan.shapes import MoEParallel
from kvplan.weights import weights_footprint

BEFORE = 100_920_076_544
LM_HEAD = 1_621_688_320
DENSE = 1_040_836_608
SHARED = 2_235_871_232
#: SGLang's float32 rotary table, counted in its weights (rule rope_table): 163,840 rows x 64 x 4 B
ROPE = 163_840 * 64 * 4
#: SGLang's w_kc / w_vc of the block-fp8 kv_b_proj (SGLang.mla_copy_bytes), 61 layers of 128 heads x
#: (128 + 128) x 512 at attention tp 1: bf16 from 0.4.9 on NVIDIA; 0.4.6 on an H200 (9.0): fp8 copies
#: and DeepGEMM's float32 block scales, 128 heads x 4 x (1 + 1) each
COPY_BF16_TP1 = 61 * 128 * 256 * 512 * 2
COPY_0_4_6_TP1 = 61 * (128 * 256 * 512 + 128 * 4 * 2 * 4)


@pytest.fixture(scope="module")
def v3():
    return load_model("deepseek-v3")


def _weights(spec, gpu="h200", engine="sglang==0.5.8", **options) -> int:
    return plan(make_request(spec, gpu, engine=engine, **options)).waterfall.weights_bytes


def test_hand_figures():
    assert LM_HEAD == 129_280 * 7_168 * 2 * 7 // 8
    assert DENSE == 3 * ((36_864 * 7_168 + 7_168 * 18_432) * 7 // 8 + 36_864 * 4 * 7 // 8)
    assert SHARED == 58 * ((4_096 * 7_168 + 7_168 * 2_048) * 7 // 8 + 4_096 * 4 * 7 // 8)


@pytest.mark.parametrize("release", ["0.4.9", "0.4.10", "0.5.1", "0.5.2", "0.5.4", "0.5.6", "0.5.8"])
def test_dp8_splits_lm_head_dense_mlp_and_shared_experts_over_tp8(v3, release):
    got = _weights(v3, engine=f"sglang=={release}", tp=1, dp=8, enable_expert_parallel=True, max_model_len=5120)
    assert got == BEFORE - LM_HEAD - DENSE - SHARED + ROPE + COPY_BF16_TP1 == 96_021_680_384 + 41_943_040 + 2_046_820_352


def test_by_part_at_dp8(v3):
    w = plan(make_request(v3, "h200", engine="sglang", tp=1, dp=8, enable_expert_parallel=True,
                          max_model_len=5120)).weights.stages[0].by_part
    assert w["lm_head"] == 129_280 // 8 * 7_168 * 2 == 231_669_760
    assert w["embedding"] == 129_280 * 7_168 * 2  # attention tp 1: whole


def test_vllm_dp_ranks_keep_them_whole(v3):
    """vLLM's DP ranks each run their own tp group: only the routed experts span tp x dp."""
    assert get_engine("vllm").weight_splits(v3, get_gpu("h200"), tp=1, dp_attention=8, expert_parallel=True) == ()


def test_0_4_6_keeps_the_shared_expert_whole_on_hopper(v3):
    """0.4.6 clones the shared expert tp_size times among the routed experts on capability >= 9.0:
    each rank holds a whole one, with or without DP attention."""
    dp8 = _weights(v3, engine="sglang==0.4.6", tp=1, dp=8, enable_expert_parallel=True, max_model_len=5120)
    assert dp8 == BEFORE - LM_HEAD - DENSE + ROPE + COPY_0_4_6_TP1 == 98_257_551_616 + 41_943_040 + 1_023_660_032
    eng = get_engine("sglang==0.4.6")
    assert eng.weight_splits(v3, get_gpu("h200"), tp=8) == (("mlp", "mlp.shared_experts.", 1),)
    assert eng.weight_splits(v3, get_gpu("a100-80gb"), tp=8) == ()  # 8.0: no fusion, split over tp
    assert eng.weight_splits(v3, get_gpu("mi300x"), tp=8) == (("mlp", "mlp.shared_experts.", 1),)
    tp8 = weights_footprint(v3, None, 8).per_gpu_bytes
    # + 58 x 7/8 of a shared expert; w_kc / w_vc at tp 8: 61 x (2,097,152 fp8 + 512 of scales), 61 x 4,194,304 bf16
    assert _weights(v3, engine="sglang==0.4.6", tp=8) - tp8 == SHARED + ROPE + 127_988_736
    assert _weights(v3, engine="sglang==0.4.9", tp=8) == tp8 + ROPE + 255_852_544


def test_0_5_6_fuses_the_shared_expert_under_ep_on_amd_gfx942(v3):
    eng = get_engine("sglang==0.5.8")
    whole = ("mlp", "mlp.shared_experts.", 1)
    assert whole in eng.weight_splits(v3, get_gpu("mi300x"), tp=8, expert_parallel=True)
    assert whole in eng.weight_splits(v3, get_gpu("mi355x"), tp=8, expert_parallel=True)
    assert whole not in eng.weight_splits(v3, get_gpu("mi300x"), tp=8)  # no EP: one fused expert, sliced
    assert whole not in eng.weight_splits(v3, get_gpu("mi250x"), tp=8, expert_parallel=True)  # gfx90a: 9.0
    assert whole not in eng.weight_splits(v3, get_gpu("h200"), tp=8, expert_parallel=True)
    assert whole not in get_engine("sglang==0.5.4").weight_splits(v3, get_gpu("mi300x"), tp=8,
                                                                   expert_parallel=True)


def test_embedding_by_release_with_an_attention_tp_group(v3):
    """--tp 8 --dp 4 (tp 2 here): 0.5.4 keeps the embedding whole (enable_tp=False), 0.5.8 splits it
    over the attention tp group of 2 (use_attn_tp_group=True)."""
    emb = 129_280 * 7_168 * 2
    for release, held in (("0.5.4", emb), ("0.5.8", emb // 2), ("0.4.9", emb // 2), ("0.4.6", emb)):
        w = plan(make_request(v3, "h200", engine=f"sglang=={release}", tp=2, dp=4, max_model_len=5120)).weights
        assert w.stages[0].by_part["embedding"] == held, release
        assert w.stages[0].by_part["lm_head"] == emb // 8, release


def test_other_read_architectures_split_the_lm_head():
    q = load_model("qwen3-30b-a3b")  # vocab 151,936, hidden 2,048, bf16, untied; no dense MLP
    whole = weights_footprint(q, None, 1, moe=MoEParallel.of(1, 2)).per_gpu_bytes
    rope = 40_960 * 128 * 4  # SGLang's float32 rotary table (rule rope_table)
    assert _weights(q, gpu="h100", tp=1, dp=2) == whole - 151_936 * 2_048 * 2 // 2 + rope
    w = plan(make_request(q, "h100", engine="sglang", tp=1, dp=2)).weights.stages[0].by_part
    assert w["lm_head"] == 151_936 * 2_048 * 2 // 2 == 311_164_928
    assert w["embedding"] == 151_936 * 2_048 * 2


def test_an_architecture_not_read_is_refused_with_dp(capsys):
    code, out, err = cli(capsys, "capacity", "mixtral-8x7b", "--gpu", "h100", "--engine", "sglang", "--tp", "1",
                         "--dp", "2")
    assert (code, out) == (2, "")
    assert one_line_error(err) == (
        "kvplan: error: sglang==0.5.23: kvplan has not read how DP attention (--tp 2 --dp 2 --enable-dp-attention) "
        "holds the weights of MixtralForCausalLM (read for DeepseekV2ForCausalLM, DeepseekV3ForCausalLM, "
        "GptOssForCausalLM, Qwen3MoeForCausalLM); plan it with --dp 1")
    with pytest.raises(BadInputError, match="Qwen3MoeForCausalLM \\(read for DeepseekV2ForCausalLM, "
                                            "DeepseekV3ForCausalLM\\)"):
        plan(make_request(load_model("qwen3-30b-a3b"), "h100", engine="sglang==0.4.6", tp=1, dp=2))
    # dp 1, or a dense model's dp replicas: no DP attention, nothing refused
    assert get_engine("sglang").weight_splits(load_model("mixtral-8x7b"), get_gpu("h100"), tp=2) == ()
    llama = load_model("llama3.1-8b")
    assert make_request(llama, "h100", engine="sglang", dp=4).dp_attention == 1
    assert (plan(make_request(llama, "h100", engine="sglang", dp=4)).weights
            == plan(make_request(llama, "h100", engine="sglang")).weights)


def test_the_whole_group_must_divide_the_vocabulary():
    lite = load_model("deepseek-v2-lite")  # vocab 102,400: not a multiple of 3
    with pytest.raises(ShapeError, match="tp=3 does not divide .*vocabulary 102,400"):
        get_engine("sglang").weight_splits(lite, get_gpu("h100"), tp=1, dp_attention=3)


def test_a_gpu_without_a_capability_is_refused_where_the_fusion_depends_on_it(v3):
    custom = dataclasses.replace(get_gpu("h200"), name="custom", vendor="", compute_capability=None)
    with pytest.raises(BadInputError, match="does not know for custom"):
        get_engine("sglang==0.4.6").weight_splits(v3, custom, tp=8)
    assert get_engine("sglang==0.5.8").weight_splits(v3, custom, tp=8) == ()  # 0.5.8 on NVIDIA: never


def test_checkpoint_bytes_are_not_split_by_the_engine(v3):
    spec = dataclasses.replace(v3, checkpoint=Checkpoint("test", (TensorInfo("lm_head.weight", "BF16", (129280, 7168)),)))
    with pytest.raises(BadInputError, match="the engine holds lm_head, mlp otherwise"):
        weights_footprint(spec, None, 1, moe=MoEParallel(1, 1), splits=(("lm_head", "", 8), ("mlp", "", 8)))


# -- notes on memory the plan leaves out (audit D5; SGLang's w_kc / w_vc) --------------------------

def test_vllm_dp_with_moe_says_the_gathered_tokens_are_not_counted(v3):
    cap_notes = plan(make_request(v3, "h200", tp=1, dp=8, enable_expert_parallel=True,
                                  max_model_len=5120)).engine_notes
    note = ("dp 8: each rank's activation peak and non-torch memory are planned as with dp 1; vLLM 0.19.1's MoE "
            "layers run on the tokens of all 8 ranks (all-gather (allgather_reducescatter): the profile run gathers "
            "8 x max_num_batched_tokens tokens) and the data-parallel communicators add buffers, neither counted, so "
            "the KV pool can be smaller than planned")
    assert note in cap_notes
    old = plan(make_request(v3, "h200", engine="vllm==0.10.1.1", tp=1, dp=8, enable_expert_parallel=True,
                            max_model_len=5120, block_size=64)).engine_notes
    assert any("(naive multicast:" in n for n in old)
    # dp 1, or a dense model's independent replicas: no such note
    assert not any(n.startswith("dp ") for n in plan(make_request(v3, "h200", tp=8)).engine_notes)
    dense = plan(make_request(load_model("llama3.1-8b"), "h100", tp=1, dp=4)).engine_notes
    assert not any(n.startswith("dp ") for n in dense)


def test_sglang_names_its_uncounted_mla_copies(v3):
    """An int8 kv_b_proj (w8a8_int8 or compressed-tensors: not told apart) still warns; the
    checkpoint's block fp8 is counted, not warned about (tests/test_sglang_mla_copy.py)."""
    notes = plan(make_request(v3, "h200", engine="sglang", tp=8, weights="int8")).engine_notes
    assert any("w_kc / w_vc" in n and ": 255,852,544 B a GPU if bf16, half that if fp8" in n for n in notes)
    assert not any("w_kc" in n for n in plan(make_request(v3, "h200", engine="sglang", tp=8)).engine_notes)
    assert not any("w_kc" in n for n in plan(make_request(load_model("llama3.1-8b"), "h100",
                                                          engine="sglang")).engine_notes)


def test_sglang_counts_the_copies_of_an_unquantized_kv_b_proj():
    """DeepSeek-V2-Lite in bf16 (27 MLA layers, 16 heads, kv_lora 512, 128 + 128): w_kc / w_vc
    copy kv_b_proj in bf16, 27 x 16 x 256 x 512 x 2 = 113,246,208 B at tp 1, taken from the
    pool and not warned about; at tp 16 (one head a rank) w_vc is a contiguous view, so only
    w_kc is copied: 27 x 128 x 512 x 2 = 3,538,944 B. Pools before the copies were counted:
    39,129,016,843 and 65,096,236,207 B; both less SGLang's float32 rotary table, 163,840 x 64 x 4 =
    41,943,040 B, since it is counted (rule rope_table)."""
    from kvplan.engines import get_engine
    from kvplan.weights import weights_footprint

    lite = load_model("deepseek-v2-lite")
    sglang = get_engine("sglang==0.5.4")
    for tp, copy, pool_bytes in ((1, 113_246_208, 39_015_770_635 - 41_943_040), (16, 3_538_944, 65_092_697_263 - 41_943_040)):
        weights = weights_footprint(lite, None, tp=tp)
        assert sglang.mla_copy_bytes(lite, weights, range(lite.num_layers)) == copy
        pool = plan(make_request(lite, "h100", engine="sglang==0.5.4", tp=tp))
        assert pool.kv_pool_bytes == pool_bytes
        assert not any("w_kc" in n for n in pool.engine_notes)
    # a block-fp8 kv_b_proj without a GPU (vendor unknown): not counted, said (tests/test_sglang_mla_copy.py)
    v3 = load_model("deepseek-v3")
    assert sglang.mla_copy_bytes(v3, weights_footprint(v3, "fp8", tp=8), range(v3.num_layers)) == 0


def test_explain_on_an_sglang_log_counts_the_mla_copies_as_capacity_does():
    """SGLang logs its weight line after post_load_weights, so `kvplan explain` predicts the
    w_kc / w_vc copies capacity counts (SGLang.loaded_bytes, the one sum of both): DeepSeek-V2-Lite
    in bf16 on the SGLang 0.4.6 H100 log, 31,454,911,488 B before (tensors and rotary table only)
    + 113,246,208 B of copies = 31,568,157,696 B, capacity's weights."""
    from kvplan.explain import explain
    from kvplan.explain_log import parse_log

    log = open("tests/fixtures/startup_logs/sglang_pr4760_llama31_8b_fa3_h100.log").read()
    ex = explain(parse_log(log), model="deepseek-v2-lite", gpu="h100", release="0.4.6")
    cap = plan(make_request(load_model("deepseek-v2-lite"), "h100", engine="sglang==0.4.6"))
    assert ex.line("model weights").kvplan == cap.weights_bytes == 31_454_911_488 + 113_246_208
