"""Speculative decoding in `kvplan size` and `kvplan capacity`: the draft's KV layers in the
pool, its weights, the lookahead slots, and what they do to concurrency (hand-computed)."""

from __future__ import annotations

import json

import pytest
from helpers import cli, one_line_error

from kvplan.capacity import make_request, plan
from kvplan.errors import BadInputError, ShapeError
from kvplan.layers import MLALatent
from kvplan.loader import load_model
from kvplan.params import layer_params
from kvplan.speculative import Speculative, make_speculative, mtp_weights
from kvplan.spec import spec_from_mapping

SPEC_CONFIG = '{"model": "llama3.2-1b", "num_speculative_tokens": 4}'

# Llama-3.2-1B on one of 4 tensor-parallel ranks, bf16 (tied lm_head):
#   embedding 128,256 rows (a multiple of 64) / 4 x 2,048            =  65,667,072
#   a layer: q 2,048 x 2,048 / 4 = 1,048,576; k, v 2 heads x 64 x 2,048 = 262,144 each;
#            o 1,048,576; gate_up 2 x 8,192 x 2,048 / 4 = 8,388,608; down 4,194,304;
#            norms 2 x 2,048 = 4,096                                  -> 15,208,448 x 16 = 243,335,168
#   final norm                                                                           2,048
#   = 309,004,288 params x 2 B = 618,008,576 B
DRAFT_1B_TP4_BYTES = 618_008_576


@pytest.fixture(scope="module")
def llama70b():
    return load_model("llama3.1-70b")


# -- the setup and its lookahead -------------------------------------------------------------
def test_lookahead_slots_by_method():
    # vLLM: a decoding request schedules 1 + k tokens and allocate_slots adds
    # num_lookahead_tokens (k for drafters, 0 for ngram): slots for n + 2k (ngram n + k).
    assert Speculative(method="draft_model", num_speculative_tokens=4).extra_slots == 8
    assert Speculative(method="eagle", num_speculative_tokens=3).extra_slots == 6
    assert Speculative(method="mtp", num_speculative_tokens=1, mtp_layers=1).extra_slots == 2
    assert Speculative(method="ngram", num_speculative_tokens=3).extra_slots == 3


def test_short_forms_equal_vllm_json(llama70b):
    a = make_speculative(llama70b, SPEC_CONFIG, tp=4)
    b = make_speculative(llama70b, draft="llama3.2-1b", num_speculative_tokens=4, tp=4)
    assert a == b and a.method == "draft_model" and a.draft.name == "llama3.2-1b"
    assert make_speculative(llama70b, {"model": "ngram", "num_speculative_tokens": 3}).method == "ngram"
    assert make_speculative(llama70b) is None


@pytest.mark.parametrize("config,needle", [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "must be a JSON object"),
    ('{"model": "llama3.2-1b"}', "give num_speculative_tokens"),
    ('{"model": "llama3.2-1b", "num_speculative_tokens": 0}', "num_speculative_tokens must be"),
    ('{"method": "eagle3", "model": "llama3.2-1b", "num_speculative_tokens": 2}', "eagle3"),
    ('{"model": "llama3.2-1b", "num_speculative_tokens": 2, "speculative_token_tree": "x"}', "speculative_token_tree"),
    ('{"model": "qwen2.5-7b", "num_speculative_tokens": 2}', "vocabulary"),
    ('{"method": "mtp", "num_speculative_tokens": 1}', "no multi-token-prediction layers"),
    ('{"model": "llama3.2-1b", "num_speculative_tokens": 2, "draft_tensor_parallel_size": 1}', "tensor-parallel"),
])
def test_bad_configs_refused(llama70b, config, needle):
    with pytest.raises(BadInputError, match=needle):
        make_speculative(llama70b, config, tp=4)


def test_draft_must_split_over_tp(llama70b):
    with pytest.raises(ShapeError, match="tp=64 does not divide the draft"):  # Llama-3.2-1B: 32 query heads
        make_speculative(llama70b, draft="llama3.2-1b", num_speculative_tokens=2, tp=64)


# -- a draft model in the pool ---------------------------------------------------------------------
def test_draft_model_pool_raw(llama70b):
    base = plan(make_request(llama70b, "h100", engine="raw", tp=4))
    pool = plan(make_request(llama70b, "h100", engine="raw", tp=4, speculative_config=SPEC_CONFIG))
    # Weights: the draft's 618,008,576 B join each GPU.
    assert pool.draft_weights_bytes == DRAFT_1B_TP4_BYTES
    assert pool.weights_bytes - base.weights_bytes == DRAFT_1B_TP4_BYTES
    assert pool.kv_pool_bytes == base.kv_pool_bytes - DRAFT_1B_TP4_BYTES  # raw: memory less weights
    # One block of 16 tokens on a rank: the 70B's 80 layers x 16 x 2 heads x 256 values x 2 B
    # = 1,310,720 B, plus the draft's 16 layers x 16 x 2 heads x 128 x 2 B = 131,072 B; the
    # pages differ, so vLLM puts all 96 layers in one group (a tensor per layer, one table).
    assert base.layout.unit_bytes == 1_310_720
    assert pool.layout.unit_bytes == 1_441_792
    assert len(pool.layout.groups) == 1
    assert pool.num_blocks == pool.kv_pool_bytes // 1_441_792
    # A request of 8,192 tokens reserves 8,192 + 4 + 4 slots: cdiv(8,200, 16) = 513 blocks.
    assert base.blocks_per_request(8192) == 512
    assert pool.blocks_per_request(8192) == 513
    assert pool.blocks_per_request(8192, lookahead=False) == 512
    assert pool.max_requests(8192) == pool.num_blocks // 513
    # vLLM's logged concurrency leaves the lookahead out.
    assert pool.memory_concurrency(8192) == round(pool.num_blocks / 512, 2)
    # At max_model_len the slots are capped: min(131,072 + 8, 131,072) -> 8,192 blocks.
    assert pool.blocks_per_request(131_072) == 8192


def test_capacity_cli_draft_model(capsys):
    code, out, err = cli(capsys, "capacity", "llama3.1-70b", "--gpu", "h100", "--tp", "4", "--speculative-config",
                         SPEC_CONFIG, "--ctx", "8k", "--json")
    assert code == 0, err
    d = json.loads(out)
    sp = d["speculative"]
    assert sp["method"] == "draft_model" and sp["draft_model"] == "llama3.2-1b"
    # 16 draft layers x 2 heads x (64 + 64) x 2 B = 8,192 B of KV per token per GPU
    assert (sp["draft_layers"], sp["draft_kv_bytes_per_token"]) == (16, 8192)
    assert sp["draft_weights_bytes"] == DRAFT_1B_TP4_BYTES
    assert (sp["lookahead_tokens"], sp["extra_slots"]) == (4, 8)
    assert d["ctx"] == 8192 and d["requests_at_ctx"] == min(d["num_blocks"] // 513, d["max_num_seqs"])
    # The same deployment without the drafter: more blocks (no draft weights, smaller block unit).
    wo = sp["without"]
    assert wo["num_blocks"] > d["num_blocks"]
    assert wo["blocks_per_request"] == 8192  # at max_model_len 131,072: 131,072 / 16
    assert any("activation peak" in note for note in d["notes"])
    code2, out2, _ = cli(capsys, "capacity", "llama3.1-70b", "--gpu", "h100", "--tp", "4", "--draft", "llama3.2-1b",
                         "--num-speculative-tokens", "4", "--ctx", "8k", "--json")
    assert code2 == 0 and json.loads(out2)["speculative"] == sp


def test_capacity_cli_text(capsys):
    code, out, _ = cli(capsys, "capacity", "llama3.1-70b", "--gpu", "h100", "--tp", "4", "--speculative-config",
                       SPEC_CONFIG)
    assert code == 0
    assert "(of which the drafter's)" in out and "618,008,576" in out
    assert "without speculative decoding" in out and "8 more slots (4 to verify + 4 lookahead)" in out


@pytest.mark.parametrize("args,needle", [
    (["--engine", "sglang"], "second pool"),
    (["--engine", "trtllm"], "DRAFT_KV_CACHE_MANAGER"),
    (["--pp", "2"], "pp=1 only"),
    (["--mtp"], "give --speculative-config or"),
])
def test_capacity_refusals(capsys, args, needle):
    code, _, err = cli(capsys, "capacity", "llama3.1-70b", "--gpu", "h100", "--tp", "4", "--speculative-config",
                       SPEC_CONFIG, *args)
    assert code == 2
    assert needle in one_line_error(err)


# -- DeepSeek-V3's MTP layer -----------------------------------------------------------------------
def test_mtp_weights_deepseek_v3():
    spec = load_model("deepseek-v3")
    assert spec.num_nextn_predict_layers == 1
    # Layer 61 is an MLA + MoE decoder layer (moe from layer 3 on, every layer):
    #   attention: q_a 7,168 x 1,536 = 11,010,048; q_a norm 1,536; q_b 1,536 x 128 x 192 =
    #   37,748,736; kv_a 7,168 x 576 = 4,128,768; kv_a norm 512; kv_b 512 x 128 x 256 =
    #   16,777,216; o 128 x 128 x 7,168 = 117,440,512                     -> 187,107,328
    #   norms 2 x 7,168                                                   ->      14,336
    #   router 7,168 x 256 + 256 bias                                     ->   1,835,264
    #   experts 256 x 3 x 7,168 x 2,048                                   -> 11,274,289,152
    #   shared expert 3 x 7,168 x 2,048                                   ->  44,040,192
    #                                                                        11,507,286,272
    #   + eh_proj 2 x 7,168 x 7,168 + enorm, hnorm, shared_head.norm 3 x 7,168 = 102,781,952
    params, _ = mtp_weights(spec, None, 1, 1)
    assert params == 11_507_286_272 + 102_781_952 == 11_610_068_224
    ext_layer = layer_params(Speculative(method="mtp", num_speculative_tokens=1, mtp_layers=1).kv_spec(spec), 61)
    assert ext_layer.total == 11_507_286_272
    # eh_proj and the norms stay bf16 and whole on every rank: 102,781,952 x 2 B of the 8-way figure.
    p8, b8 = mtp_weights(spec, None, 8, 1)
    p1, b1 = mtp_weights(spec, None, 1, 1)
    assert b8 < b1 and b8 > 102_781_952 * 2


def test_size_deepseek_v3_mtp(capsys):
    code, out, err = cli(capsys, "size", "deepseek-v3", "--mtp", "--ctx", "32k", "--kv-dtype", "bf16", "--json")
    assert code == 0, err
    d = json.loads(out)
    (fp,) = d["formats"]
    # 61 + 1 MLA layers x (512 + 64) x 2 B = 62 x 1,152 = 71,424 B per token.
    assert fp["bytes_per_token"] == 71_424
    assert fp["seq_bytes"] == 71_424 * 32_768
    assert [(g["label"], g["num_layers"]) for g in fp["groups"]] == [("latent", 61), ("mtp", 1)]
    sp = d["speculative"]
    assert (sp["method"], sp["num_speculative_tokens"], sp["draft_layers"], sp["draft_kv_bytes_per_token"]) == (
        "mtp", 1, 1, 1152)
    assert (sp["lookahead_tokens"], sp["extra_slots"]) == (1, 2)
    assert sp["draft_weights_params"] == 11_610_068_224


def test_mtp_pool_raw():
    spec = load_model("deepseek-v3")
    base = plan(make_request(spec, "h200", engine="raw", tp=8, max_model_len="32k"))
    pool = plan(make_request(spec, "h200", engine="raw", tp=8, max_model_len="32k", mtp=True))
    # The MTP latent joins the one MLA group: a block is 62 (not 61) x 16 x 1,152 B.
    assert base.layout.unit_bytes == 61 * 16 * 1152
    assert pool.layout.unit_bytes == 62 * 16 * 1152 == 1_142_784
    assert isinstance(pool.layout.groups[0][0], MLALatent) and len(pool.layout.groups) == 1
    assert pool.kv_pool_bytes == base.kv_pool_bytes - pool.draft_weights_bytes
    # k = 1: a request of 8,192 tokens reserves 8,194 slots: cdiv(8,194, 16) = 513 blocks.
    assert pool.blocks_per_request(8192) == 513
    assert pool.max_requests(8192) == pool.num_blocks // 513
    assert pool.max_requests(8192) < base.max_requests(8192)


def test_mtp_k_must_be_a_multiple():
    spec = load_model("deepseek-v3")
    assert make_speculative(spec, '{"method": "deepseek_mtp", "num_speculative_tokens": 3}').num_speculative_tokens == 3
    with pytest.raises(BadInputError, match="MTP layers are deepseek-v3's own"):
        make_speculative(spec, '{"method": "mtp", "model": "llama3.2-1b", "num_speculative_tokens": 1}')


# -- an EAGLE head -----------------------------------------------------------------------------------
def eagle_head(tmp_path, **changes):
    """An EAGLE head for Llama-3.1-8B: one decoder layer of the target's shape."""
    head = {"name": "eagle-llama3.1-8b", "source": "test", "num_layers": 1, "hidden_size": 4096,
            "num_attention_heads": 32, "num_kv_heads": 8, "head_dim": 128, "vocab_size": 128256,
            "intermediate_size": 14336, "dtype": "bf16", "max_position_embeddings": 131072, **changes}
    path = tmp_path / f"{head['name']}.yaml"
    path.write_text(json.dumps(head))
    return path, spec_from_mapping(head)


def test_eagle_head(tmp_path, capsys):
    path, head = eagle_head(tmp_path)
    target = load_model("llama3.1-8b")
    sp = make_speculative(target, {"method": "eagle", "model": str(path), "num_speculative_tokens": 3})
    # Weights: q 4,096^2 = 16,777,216; k, v 4,096 x 1,024 = 4,194,304 each; o 16,777,216;
    # MLP 3 x 4,096 x 14,336 = 176,160,768; one norm (the input norm is dropped) 4,096;
    # fc 2 x 4,096 x 4,096 = 33,554,432 -> 251,662,336 params, x 2 B = 503,324,672 B.
    assert sp.draft_weights(target, None, 1) == (251_662_336, 503_324_672)
    base = plan(make_request(target, "h100", engine="raw"))
    pool = plan(make_request(target, "h100", engine="raw", speculative=sp))
    # The head's layer has the target's page: 33 layers x 16 x 4,096 B in one group.
    assert pool.layout.unit_bytes == 33 * 65_536
    assert pool.num_blocks == (base.kv_pool_bytes - 503_324_672) // (33 * 65_536)
    assert pool.blocks_per_request(8192) == 513  # cdiv(8,192 + 3 + 3, 16)
    code, out, _ = cli(capsys, "capacity", "llama3.1-8b", "--gpu", "h100", "--speculative-config",
                       json.dumps({"method": "eagle", "model": str(path), "num_speculative_tokens": 3}), "--json")
    assert code == 0
    assert any("share the target's embedding" in n for n in json.loads(out)["notes"])


def test_ngram_adds_slots_only(capsys):
    target = load_model("llama3.1-8b")
    base = plan(make_request(target, "h100", engine="raw"))
    pool = plan(make_request(target, "h100", engine="raw", speculative_config='{"model": "ngram", '
                                                                              '"num_speculative_tokens": 5}'))
    assert (pool.num_blocks, pool.layout.unit_bytes, pool.draft_weights_bytes) == (base.num_blocks,
                                                                                  base.layout.unit_bytes, 0)
    assert pool.blocks_per_request(8192) == 513  # cdiv(8,192 + 5, 16): no lookahead for ngram


@pytest.mark.parametrize("engine,ok", [("vllm", True), ("vllm==0.19.0", True), ("vllm==0.18.1", True),
                                       ("vllm==0.15.0", True), ("vllm==0.14.1", False), ("vllm==0.14.0", False),
                                       ("vllm==0.10.1.1", False), ("raw", True)])
def test_draft_model_by_vllm_release(capsys, engine, ok):
    # engine/arg_utils.py raises NotImplementedError for draft_model through 0.14.1 (0.14.1 line
    # 1794); 0.15.0 drops it and ships vllm/v1/spec_decode/draft_model.py DraftModelProposer.
    code, _, err = cli(capsys, "capacity", "llama3.1-8b", "--gpu", "h100", "--engine", engine, "--draft",
                       "llama3.2-1b", "--num-speculative-tokens", "2")
    if ok:
        assert code == 0, err
    else:
        assert code == 2
        line = one_line_error(err)
        assert "vLLM before 0.15.0 refuses it" in line and "not supported yet, through 0.14.1" in line


def test_mtp_under_an_older_vllm_release(capsys):
    code, _, err = cli(capsys, "capacity", "deepseek-v3", "--gpu", "h200", "--tp", "8", "--mtp", "--engine",
                       "vllm==0.10.1.1", "--max-model-len", "32k")
    assert code == 0, err


def test_every_method_kvplan_names_has_its_behaviour():
    """Each method in METHODS is one table entry of behaviour (no name chains): its label,
    lookahead and layers; ngram alone writes no lookahead and adds no layers."""
    from kvplan.speculative import _METHODS, METHODS

    assert set(_METHODS) == set(METHODS)
    assert [m for m, b in _METHODS.items() if not b.lookahead] == ["ngram"]
    assert {m: b.label for m, b in _METHODS.items()} == {"draft_model": "draft", "eagle": "draft", "mtp": "mtp",
                                                          "ngram": "draft"}


# -- the MTP module under data and expert parallelism, and by vLLM release ------------------------
# One routed expert of DeepSeek-V3 in fp8 (1 B a weight + a fp32 scale per output channel):
# gate_up 4,096 x 7,168 + 4,096 x 4 B, down 7,168 x 2,048 + 7,168 x 4 B = 44,085,248 B.
DSV3_FP8_EXPERT_BYTES = 4096 * 7168 + 4096 * 4 + 7168 * 2048 + 7168 * 4


def test_mtp_experts_follow_the_deployments_split():
    """vLLM builds the MTP drafter from the target's VllmConfig (vllm/v1/spec_decode/eagle.py
    _get_model / _create_draft_vllm_config returns self.vllm_config), so the MTP layer's FusedMoE
    is sharded over tp x dp like the target's (whole experts with expert parallelism)."""
    from kvplan.shapes import MoEParallel

    spec = load_model("deepseek-v3")
    whole = mtp_weights(spec, None, 1, 1)[1]
    assert whole == 11_726_547_712  # tp 1, dp 1: all 256 experts on the GPU
    # dp 8 with EP: 32 whole experts a rank, 224 fewer
    dp8_ep = mtp_weights(spec, None, 1, 1, moe=MoEParallel.of(1, 8, True))[1]
    assert dp8_ep == whole - 224 * DSV3_FP8_EXPERT_BYTES == 1_851_452_160
    assert mtp_weights(spec, None, 1, 1, moe=MoEParallel.of(1, 8, False))[1] == 1_857_874_688  # 1/8 of each
    assert mtp_weights(spec, None, 2, 1, moe=MoEParallel.of(2, 4, True))[1] == 1_743_325_952
    assert mtp_weights(spec, None, 8, 1, moe=MoEParallel.of(8, 1, False))[1] == 1_668_653_824  # tp 8 as before
    # tp 8 with EP: 32 whole experts instead of 256 eighths; the same weights, but down_proj's
    # per-output-channel scales of 224 fewer experts: 224 x 7,168 x 4 B = 6,422,528 B less
    assert mtp_weights(spec, None, 8, 1, moe=MoEParallel.of(8, 1, True))[1] == 1_668_653_824 - 6_422_528


def test_mtp_pool_at_dp8_with_expert_parallelism(capsys):
    spec = load_model("deepseek-v3")
    pool = plan(make_request(spec, "h200", dp=8, enable_expert_parallel=True, mtp=True, max_model_len="32k"))
    # Was 11,726,547,712 B of drafter (every expert on every GPU): 17,572 blocks, 8 requests of 32k.
    assert pool.draft_weights_bytes == 1_851_452_160
    # 29,956,485,636 less vLLM's bf16 copy of the fp8 kv_b_proj (W_UK_T / W_UV, rule
    # mla_kv_b_dequantized_copy, 33,554,432 B a layer at tp 1) of the target's 61 layers
    # (2,046,820,352 B) and of the MTP layer (33,554,432 B; 27,909,665,283 B and 24,422 blocks without it)
    assert pool.kv_pool_bytes == 29_956_485_636 - 2_046_820_352 - 33_554_432 == 27_876_110_852
    assert pool.num_blocks == 27_876_110_852 // (62 * 16 * 1152) == 24_393
    assert pool.max_requests(32_768) == (24_393 - 1) // 2048 == 11  # one null block; 2,048 blocks a request
    code, out, err = cli(capsys, "size", "deepseek-v3", "--mtp", "--gpu", "h200", "--dp", "8", "-ep",
                         "--max-model-len", "32k", "--kv-dtype", "bf16", "--json")
    assert code == 0, err
    assert json.loads(out)["speculative"]["draft_weights_bytes_per_gpu"] == 1_851_452_160


@pytest.mark.parametrize("release,head", [("0.10.1.1", True), ("0.14.0", True), ("0.15.1", True),
                                          ("0.16.0", False), ("0.19.1", False)])
def test_mtp_lm_head_copy_by_release(release, head):
    """Before 0.16.0 each MTP layer keeps its own shared_head.head (deepseek_mtp.py SharedHead);
    eagle.py shares it with the target's lm_head from 0.16.0. The copy at tp 8: 129,280 rows
    (a multiple of 64) / 8 x 7,168 x 2 B (no quant method for a vocab embedding) = 231,669,760 B."""
    spec = load_model("deepseek-v3")
    pool = plan(make_request(spec, "h200", tp=8, mtp=True, max_model_len="32k", engine=f"vllm=={release}"))
    head_bytes = 129_280 // 8 * 7168 * 2
    assert head_bytes == 231_669_760
    assert pool.draft_weights_bytes == 1_668_653_824 + (head_bytes if head else 0)
    if release in ("0.14.0", "0.16.0"):  # 0.14.0 was 8,827 blocks of 64 x 71,424 B, as 0.16.0 is
        # (8,776 and 8,827 before the target's kv_b_proj copy, 61 x 4,194,304 B at tp 8: 56 blocks;
        # 8,720 and 8,771 before the MTP layer's own, 4,194,304 B: 39,862,732,415 -> 39,858,538,111 B
        # at 0.14.0, 40,094,402,175 -> 40,090,207,871 B at 0.16.0, each one block of 4,571,136 B fewer)
        assert pool.kv_pool_bytes == (39_858_538_111 if head else 40_090_207_871)
        assert pool.num_blocks == pool.kv_pool_bytes // (64 * 71_424) == (8_719 if head else 8_770)


@pytest.mark.parametrize("release", ["0.10.1.1", "0.14.1", "0.15.0", "0.19.1"])
@pytest.mark.parametrize("dp,tp,ep,copy_bytes", [(1, 8, False, 4_194_304), (8, 1, True, 33_554_432)])
def test_mtp_layer_keeps_its_own_kv_b_proj_copy(release, dp, tp, ep, copy_bytes):
    """vLLM loads the MTP drafter with get_model, whose loader runs process_weights_after_loading
    on its MLA layer as on the target's: the fp8 kv_b_proj of DeepSeek-V3's MTP layer gets the
    bf16 W_UK_T / W_UV copy too (rule mla_kv_b_dequantized_copy, 128 x 256 x 512 x 2 B =
    33,554,432 B at tp 1, split by heads: 4,194,304 B at tp 8). Weights with --mtp less weights
    without = the drafter's stored weights + that copy; the drafter's figure stays its tensors."""
    from kvplan.shapes import MoEParallel
    from kvplan.weights import mla_absorbed_bytes

    spec = load_model("deepseek-v3")
    assert mla_absorbed_bytes(spec, range(60, 61), tp, 2) == copy_bytes
    opts = dict(tp=tp, dp=dp, enable_expert_parallel=ep, max_model_len="32k", engine=f"vllm=={release}")
    base, pool = plan(make_request(spec, "h200", **opts)), plan(make_request(spec, "h200", mtp=True, **opts))
    own_head = release in ("0.10.1.1", "0.14.1", "0.15.0")
    stored = mtp_weights(spec, None, tp, 1, moe=MoEParallel.of(tp, dp, ep), own_head=own_head)[1]
    assert pool.draft_weights_bytes == stored
    assert pool.waterfall.weights_bytes - base.waterfall.weights_bytes == stored + copy_bytes
    assert base.waterfall.kv_pool_bytes - pool.waterfall.kv_pool_bytes == stored + copy_bytes


def test_mtp_copy_is_the_engines():
    """An unquantized kv_b_proj (bf16 weights) has no copy; the raw engine keeps none."""
    spec = load_model("deepseek-v3")
    for engine, weights in (("vllm==0.19.1", "bf16"), ("raw", None)):
        opts = dict(tp=8, max_model_len="32k", engine=engine, weights=weights)
        base, pool = plan(make_request(spec, "h200", **opts)), plan(make_request(spec, "h200", mtp=True, **opts))
        assert pool.waterfall.weights_bytes - base.waterfall.weights_bytes == pool.draft_weights_bytes


# -- the profile run's rejection-sampler pass ----------------------------------------------------------
def test_rejection_sampler_pass_is_stated(capsys, llama70b):
    """From 0.11.1 _dummy_sampler_run passes randn logits of 2S rows to the rejection sampler,
    which samples the bonus tokens from an S-row copy with a raw fp32 copy kept beside the sampled
    one: S x vocab x (2d + 4) B more than the sampler pass kvplan counts, with every method."""
    code, out, err = cli(capsys, "capacity", "llama3.1-70b", "--gpu", "h100", "--tp", "4", "--speculative-config",
                         SPEC_CONFIG, "--json")
    assert code == 0, err
    d = json.loads(out)
    # S = min(max_num_seqs 1,024, 8,192 tokens); 1,024 x 128,256 x (2 x 2 + 4) B. The sampler pass
    # (2,091,995,136 B) binds over the forward pass, so all of it is missing from the peak.
    assert d["speculative"]["pool_overstated_bytes_at_least"] == 1024 * 128_256 * 8 == 1_050_673_152
    assert any("rejection-sampler pass" in n and "at least 1,050,673,152 B" in n for n in d["notes"])
    ngram = plan(make_request(llama70b, "h100", tp=4, speculative_config='{"method": "ngram", '
                                                                          '"num_speculative_tokens": 3}'))
    from kvplan.capacity import Capacity

    notes = Capacity(ngram, None, None, (), ()).notes
    assert any("ngram included" in n and "1,050,673,152" in n for n in notes)
    old = plan(make_request(llama70b, "h100", tp=4, engine="vllm==0.11.0", speculative_config='{"method": '
                            '"ngram", "num_speculative_tokens": 3}'))
    assert any("not bounded for vllm==0.11.0" in n for n in old.engine_notes)
    raw = plan(make_request(llama70b, "h100", tp=4, engine="raw", speculative_config=SPEC_CONFIG))
    assert not any("rejection" in n for n in raw.engine_notes)


# -- EAGLE heads against their target ------------------------------------------------------------------
def test_eagle_head_must_match_the_target(tmp_path, capsys):
    code, _, err = cli(capsys, "capacity", "llama3.1-8b", "--gpu", "h100", "--speculative-config",
                       '{"method": "eagle", "model": "llama3.2-1b", "num_speculative_tokens": 3}')
    assert code == 2
    assert "eagle: llama3.2-1b's hidden size (2,048) differs from" in one_line_error(err)
    path, _ = eagle_head(tmp_path)
    other, _ = eagle_head(tmp_path, name="eagle-32k", vocab_size=32000)
    code, _, err = cli(capsys, "capacity", "llama3.1-8b", "--gpu", "h100", "--speculative-config",
                       json.dumps({"method": "eagle", "model": str(other), "num_speculative_tokens": 3}))
    assert code == 2
    assert "eagle: eagle-32k's vocabulary (32,000) differs from" in one_line_error(err)
    code, _, err = cli(capsys, "capacity", "llama3.1-8b", "--gpu", "h100", "--speculative-config",
                       json.dumps({"method": "eagle", "model": str(path), "num_speculative_tokens": 3}))
    assert code == 0, err



def test_moe_draft_model_split(capsys):
    """A draft model gets its own ParallelConfig (vllm/config/speculative.py
    create_draft_parallel_config: the target's tp, no expert parallelism), so at dp 1 a MoE draft
    holds a 1/tp slice of each expert even under -ep; across dp ranks it is refused."""
    from kvplan.weights import weights_footprint

    target, draft = load_model("qwen3-235b-a22b"), load_model("qwen3-30b-a3b")
    pool = plan(make_request(target, "h200", tp=4, enable_expert_parallel=True, draft=draft,
                             num_speculative_tokens=2, max_model_len="32k"))
    assert pool.draft_weights_bytes == weights_footprint(draft, None, 4, 1).stages[0].bytes
    code, _, err = cli(capsys, "capacity", "qwen3-235b-a22b", "--gpu", "h200", "--tp", "4", "--dp", "2", "-ep",
                       "--draft", "qwen3-30b-a3b", "--num-speculative-tokens", "2")
    assert code == 2
    assert "draft_model: qwen3-30b-a3b is a mixture of experts" in one_line_error(err)
