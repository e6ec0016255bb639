"""Engines as classes over release-rule tables: resolution, refusals, each rule's effect in bytes."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kvplan.engines import get_engine
from kvplan.engines import vllm_rules as R
from kvplan.engines.base import Release
from kvplan.engines.sglang import BOOK as SGLANG_BOOK
from kvplan.engines.sglang import default_fraction
from kvplan.engines.vllm import BOOK as VLLM_BOOK
from kvplan.errors import BadInputError, UnknownNameError
from kvplan.formats import get_format
from kvplan.gpus import get_gpu
from kvplan.loader import load_model

GIB = 1 << 30
MIB = 1 << 20
H100 = get_gpu("h100")
A100 = get_gpu("a100-80gb")
LLAMA = load_model("llama3.1-8b")  # hidden 4096, vocab 128,256, bf16


@pytest.mark.parametrize("book", [VLLM_BOOK, SGLANG_BOOK], ids=["vllm", "sglang"])
def test_exactly_one_row_of_every_rule_covers_every_modelled_release(book):
    for release in book.releases:
        table = book.table(release)
        assert set(table) == set(book.names)
        for rule in table.values():
            assert rule.source  # every rule cites where it was read


def test_release_order_and_parsing():
    assert Release.parse("0.8.5") < Release.parse("0.8.5.post1") < Release.parse("0.9.0")
    assert Release.parse("v0.10.1.1") > Release.parse("0.10.1")
    assert Release.parse("0.10.1.1") < Release.parse("0.10.2")
    with pytest.raises(BadInputError, match="cannot read a release"):
        Release.parse("latest")


@pytest.mark.parametrize(("name", "label"), [
    ("vllm", "vllm==0.19.1"),  # bare name: the newest release modelled
    ("vllm==0.11.0", "vllm==0.11.0"),
    ("VLLM==v0.8.5.post1", "vllm==0.8.5.post1"),
    ("vllm-0.10", "vllm==0.10.1.1"),  # legacy names keep working
    ("vllm-v0.19", "vllm==0.19.0"),
    ("sglang", "sglang==0.5.23"),  # the newest modelled
    ("sglang==0.4.9", "sglang==0.4.9"),
    ("tensorrt-llm", "trtllm"),
    ("none", "raw"),
])
def test_names_resolve_to_one_release(name, label):
    engine = get_engine(name)
    assert engine.name == label
    s = engine.settings(H100) if engine.family != "sglang" else engine.settings(H100, memory_fraction=0.9)
    assert s.engine == label
    expected = {"raw": "", "trtllm": "release not pinned"}.get(engine.family) or label.partition("==")[2]
    assert s.release == expected


@pytest.mark.parametrize(("name", "text"), [
    ("vllm==0.7.3", "vllm 0.7.3 is not a release kvplan models; modelled: 0.8.0 to 0.33.0"),
    ("vllm==0.11.5", "is not a release kvplan models"),
    # vllm/config/vllm.py: Model Runner V2 by default for DEFAULT_V2_MODEL_RUNNER_ARCHITECTURES only in
    # 0.22.0-0.28.0 (0.22.0-0.28.0 modelled for the others; from 0.25.0 also every model without experts or
    # state-space layers), wherever its features are supported from 0.29.0;
    # the CUDA-graph estimate throughout; 0.27.0 modelled from h31-v27 (tests/test_vllm_0_27.py), 0.27.1 as 0.27.0,
    # 0.28.0 read against 0.27.1 (tests/test_vllm_0_28.py), 0.29.0 against 0.28.0 (tests/test_vllm_0_29.py),
    # 0.30.0 against 0.29.0 (tests/test_vllm_0_30.py), 0.31.0 against 0.30.0 (tests/test_vllm_0_31.py),
    # 0.32.0 against 0.31.0 (tests/test_vllm_0_32.py), 0.33.0 (the newest published) against 0.32.0
    # (tests/test_vllm_0_33.py): nothing later is known
    ("vllm==0.34.0", "vllm 0.34.0 is not a release kvplan knows of (newer than 0.33.0, the newest published as of "
                     "2026-11-30 (pip index versions vllm), which kvplan has not read); modelled: 0.8.0 to 0.33.0"),
    ("vllm==0.99.0", "vllm 0.99.0 is not a release kvplan knows of (newer than 0.33.0"),
    ("vllm==0.25.2", "vllm 0.25.2 is not a release kvplan models"),  # 0.25.0 and 0.25.1 were published
    ("vllm==0.26.1", "vllm 0.26.1 is not a release kvplan models"),  # 0.26.0 and 0.27.0 were published
    ("vllm==0.27.2", "vllm 0.27.2 is not a release kvplan models"),  # 0.27.1 was (modelled), then 0.28.0
    ("vllm==0.28.1", "vllm 0.28.1 is not a release kvplan models"),  # 0.28.0 was (modelled), then 0.29.0
    ("vllm==0.29.1", "vllm 0.29.1 is not a release kvplan models"),  # 0.29.0 was (modelled), then 0.30.0
    ("vllm==0.30.1", "vllm 0.30.1 is not a release kvplan models"),  # 0.30.0 was (modelled), then 0.31.0
    ("vllm==0.31.1", "vllm 0.31.1 is not a release kvplan models"),  # 0.31.0 was (modelled), then 0.32.0
    ("vllm==0.32.1", "vllm 0.32.1 is not a release kvplan models"),  # 0.32.0 was (modelled), then 0.33.0
    ("vllm==0.33.1", "vllm 0.33.1 is not a release kvplan knows of"),  # 0.33.0 the newest published
    # no .postN between 0.5.19 and 0.5.23 was published (pip index versions sglang)
    ("sglang==0.5.20.post1", "sglang 0.5.20.post1 is not a release kvplan models; modelled: 0.4.6 to 0.5.23"),
    ("sglang==0.5.18.post1", "sglang 0.5.18.post1 is not a release kvplan models"),
    ("sglang==0.5.19.post1", "sglang 0.5.19.post1 is not a release kvplan models"),
    ("sglang==0.5.16.post1", "sglang 0.5.16.post1 is not a release kvplan models"),
    ("sglang==0.5.17.post1", "sglang 0.5.17.post1 is not a release kvplan models"),
    ("sglang==0.5.15.post2", "sglang 0.5.15.post2 is not a release kvplan models"),
    ("sglang==0.5.13.post2", "sglang 0.5.13.post2 is not a release kvplan models"),
    ("sglang==0.5.14.post1", "sglang 0.5.14.post1 is not a release kvplan models"),
    ("sglang==0.5.21.post1", "sglang 0.5.21.post1 is not a release kvplan models; modelled: 0.4.6 to 0.5.23 "
                             "(0.4.6, 0.4.9, 0.4.10, 0.5.1, 0.5.2, 0.5.4, 0.5.6, 0.5.8, 0.5.9, 0.5.10, "
                             "0.5.11, 0.5.12, 0.5.13, 0.5.13.post1, 0.5.14, 0.5.15, 0.5.15.post1, 0.5.16, "
                             "0.5.17, 0.5.18, 0.5.19, 0.5.20, 0.5.21, 0.5.22, 0.5.23)"),
    ("trtllm==1.2.1", "trtllm 1.2.1 is not modelled"),
    ("raw==1", "the raw engine has no releases"),
    ("vllm==", "give a release after '=='"),
])
def test_unmodelled_releases_are_refused_in_one_line(name, text):
    with pytest.raises(BadInputError) as err:
        get_engine(name)
    assert text in str(err.value) and "\n" not in str(err.value)


def test_unknown_engine_family():
    with pytest.raises(UnknownNameError, match="did you mean vllm"):
        get_engine("vlm==0.11.0")


# -- the dummy sampler by release -------------------------------------------------------------
def _sampler(name, gpu=H100, **options):
    engine = get_engine(name, **options)
    return engine, engine.sampler_bytes(LLAMA, gpu, engine.settings(gpu))


S, V, T, H = 1024, 128_256, 8192, 4096  # H100 defaults for `vllm serve`; Llama-3.1-8B


def test_triton_sampler_bytes_v019():
    # [S, V] bf16 logits (2) + fp32 copy (4) + probs and noise (4 + 4) + the Triton buffer of
    # 132 rows (H100 SMs) + the [T, hidden] forward output + 49 MiB of GEMM workspaces
    engine, got = _sampler("vllm==0.19.0")
    assert engine.sampler_path() == "triton"
    assert got == S * V * 14 + 132 * V * 4 + T * H * 2 + 49 * MIB == 2_024_886_272
    assert round(got / GIB, 2) == 1.89  # the logged peak (tests/fixtures/calibration A018)


def test_sort_sampler_v0_12_to_v0_16_holds_several_gib_more():
    # S = 1024 rows >= 128: PyTorch's segmented radix sort, 32 bytes a logit of its own
    engine, got = _sampler("vllm==0.12.0")
    assert engine.sampler_path() == "sort"
    assert got == S * V * (2 + 4 + 32) + T * H * 2 + 49 * MIB
    assert got - _sampler("vllm==0.17.0")[1] > 2.5 * GIB  # 4.8 vs 1.9 GiB


@pytest.mark.parametrize("rows,own", [(1, 32), (2, 44), (127, 44), (128, 32), (256, 32), (1024, 32)])
def test_sort_cost_follows_pytorchs_stable_sort_branch(rows, own):
    # aten/src/ATen/native/cuda/SortStable.cu: one row -> large-segment sort, 2-127 rows ->
    # sort by full sort (two int2 arrays), 128+ rows -> cub segmented radix sort
    assert R.sort_bytes_per_logit(rows) == own
    engine = get_engine("vllm==0.15.1")
    settings = engine.settings(H100, max_num_batched_tokens=T, max_num_seqs=rows)
    assert engine.sampler_bytes(LLAMA, H100, settings) == rows * V * (2 + 4 + own) + T * H * 2 + 49 * MIB


def test_flashinfer_sampler_up_to_v0_11_0_unless_not_installed():
    engine, got = _sampler("vllm==0.11.0")
    assert engine.sampler_path() == "flashinfer"
    assert got == S * V * 14 + T * H * 2 + 49 * MIB  # no Triton buffer
    engine, got = _sampler("vllm==0.11.0", flashinfer_sampler=False)
    assert engine.sampler_path() == "sort" and got == S * V * 38 + T * H * 2 + 49 * MIB
    assert get_engine("vllm==0.11.1").sampler_path() == "sort"  # FlashInfer became opt-in


def test_v08_frees_the_forward_output_before_the_sampler():
    # 0.8.0-0.9.1: _dummy_run returns hidden_states[logit_indices] only
    assert _sampler("vllm==0.9.1")[1] == S * V * 14 + 49 * MIB
    assert _sampler("vllm==0.9.2")[1] == S * V * 14 + T * H * 2 + 49 * MIB


def test_fp32_model_has_no_float_copy_of_its_logits():
    engine = get_engine("vllm==0.19.0")
    spec = LLAMA.__class__(**{**LLAMA.__dict__, "dtype": "fp32"})
    got = engine.sampler_bytes(spec, H100, engine.settings(H100))
    assert got == S * V * (4 + 8) + 132 * V * 4 + T * H * 4 + 49 * MIB


# -- scheduler defaults, non-torch memory, CUDA graphs -------------------------------------------
def test_scheduler_defaults_by_release_gpu_and_usage_context():
    assert _limits("vllm==0.8.5", A100) == (8192, 1024)  # no A100 exception before 0.9.0
    assert _limits("vllm==0.9.0", A100) == (2048, 256)
    assert _limits("vllm==0.19.0", H100) == (8192, 1024)
    assert _limits("vllm==0.19.0", H100, usage_context="llm") == (16384, 1024)
    assert _limits("vllm==0.19.0", get_gpu("l4")) == (2048, 256)
    assert _limits("vllm==0.19.0", get_gpu("l4"), usage_context="llm") == (8192, 256)
    with pytest.raises(BadInputError, match="usage context"):
        _limits("vllm", H100, usage_context="batch")


def _limits(name, gpu, **options):
    s = get_engine(name, **options).settings(gpu)
    return s.max_num_batched_tokens, s.max_num_seqs


def test_non_torch_memory_by_release_gpu_and_parallelism():
    new, old = get_engine("vllm==0.19.0"), get_engine("vllm==0.10.2")
    assert new.non_torch_bytes(H100, 1, 1) == int(0.25 * GIB)
    assert new.non_torch_bytes(H100, 1, 2) == int(0.07 * GIB)
    assert new.non_torch_bytes(H100, 2, 1) == int(2.09 * GIB)  # symmetric-memory all-reduce (0.11+)
    assert new.non_torch_bytes(H100, 8, 1) == int(2.13 * GIB)
    assert new.non_torch_bytes(A100, 2, 1) == int(0.12 * GIB)  # no symmetric memory before Hopper
    assert old.non_torch_bytes(H100, 2, 1) == int(0.12 * GIB)  # off by default before 0.11.0
    assert old.non_torch_bytes(H100, 1, 1) == 0


def test_only_0_20_and_later_subtract_a_cuda_graph_estimate():
    # vllm/envs.py VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS default "0" up to 0.19.1, "1" from 0.20.0
    for release in VLLM_BOOK.releases:
        assert VLLM_BOOK.value("cudagraph_estimate_subtracted", release) is (release >= Release.parse("0.20.0"))


# -- KV formats ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "fmt"), [
    ("vllm==0.19.0", "int4"), ("vllm==0.19.0", "q4_0"), ("vllm==0.19.0", "int2"), ("vllm==0.19.0", "mxfp4"),
    ("vllm==0.19.0", "int8"), ("vllm==0.9.2", "nvfp4"), ("sglang==0.5.4", "int8"),
])
def test_formats_the_engine_cannot_run_are_refused(name, fmt):
    engine = get_engine(name)
    with pytest.raises(BadInputError) as err:
        engine.check_kv_format(get_format(fmt), "bf16")
    text = str(err.value)
    assert f"cannot store the KV cache as {get_format(fmt).name}" in text
    assert "--engine raw" in text and "auto" in text and "\n" not in text


@pytest.mark.parametrize(("name", "fmt"), [
    ("vllm==0.19.0", "fp8"), ("vllm==0.19.0", "fp8_e5m2"), ("vllm==0.19.0", "fp8_inc"), ("vllm==0.19.0", "auto"),
    ("vllm==0.8.0", "fp8_e4m3"), ("vllm==0.19.0", "bfloat16"), ("sglang==0.5.4", "bf16"), ("raw", "int2"),
])
def test_formats_the_engine_runs_are_accepted(name, fmt):
    get_engine(name).check_kv_format(get_format(fmt, "bf16"), "bf16")


def test_vllm_before_0_11_has_no_explicit_bfloat16_kv_for_an_fp16_model():
    engine = get_engine("vllm==0.10.2")
    engine.check_kv_format(get_format("fp16"), "fp16")  # auto = the model's dtype
    with pytest.raises(BadInputError):
        engine.check_kv_format(get_format("bf16"), "fp16")
    get_engine("vllm==0.11.0").check_kv_format(get_format("bf16"), "fp16")


def test_fp8_inc_is_an_alias_not_a_new_format():
    assert get_format("fp8_inc") is get_format("fp8_e4m3")


# -- SGLang defaults ------------------------------------------------------------------------------
@pytest.mark.parametrize(("release", "tp", "expected"), [
    ("0.4.6", 1, "0.88"), ("0.4.6", 2, "0.87"), ("0.4.6", 8, "0.81"),
    # round((81559 - (9.5 + tp/2) * 1024) / 81559, 3)
    ("0.4.9", 1, "0.874"), ("0.4.9", 4, "0.856"),
    # reserved = max(512 + 1.5 * 8192 + 2 * 256 + tp/8 * 1024, 10240) MiB = 13,440 MiB at tp 1
    ("0.5.4", 1, "0.835"), ("0.5.8", 4, "0.824"),
])
def test_sglang_mem_fraction_static_default_on_h100(release, tp, expected):
    from fractions import Fraction

    engine = get_engine(f"sglang=={release}")
    assert engine.settings(H100, tp=tp).memory_fraction == Fraction(expected)


@pytest.mark.parametrize(("gpu", "release", "tp", "expected"), [
    # B200, nvidia-smi 183,359 MiB, 0.5.6: reserved 512 + 1.5 x 16384 + 2 x 512 + tp/8 x 1024 = 27,136 MiB
    # at tp 8 (chunked_prefill_size 16k, cuda_graph_max_bs 512): round(156223 / 183359, 3)
    ("b200", "0.5.6", 8, "0.852"),
    # H200, 143,771 MiB, 0.5.8: chunked_prefill_size 8k, cuda_graph_max_bs 256 at tp 1:
    # 512 + 1.5 x 8192 + 2 x 256 + 1/8 x 1024 = 13,440 MiB; round(130331 / 143771, 3)
    ("h200", "0.5.8", 1, "0.907"),
])
def test_sglang_default_on_h200_and_b200(gpu, release, tp, expected):
    from fractions import Fraction

    assert get_engine(f"sglang=={release}").settings(get_gpu(gpu), tp=tp).memory_fraction == Fraction(expected)


def test_sglang_default_needs_nvidia_smi_memory():
    with pytest.raises(BadInputError, match=r"give the memory fraction \(mem_fraction_static\)"):
        get_engine("sglang").settings(get_gpu("l4"))


def test_sglang_pool_is_fraction_of_free_memory_minus_weights():
    from kvplan.weights import weights_footprint

    engine = get_engine("sglang==0.5.4")
    s = engine.settings(H100, memory_fraction=0.85)
    w = weights_footprint(LLAMA, None, 1, 1)
    (b,) = engine.carve(LLAMA, H100, w, s)
    in_use = int(0.51 * GIB)
    rope = 131_072 * 128 * 4  # the float32 rotary table SGLang builds at load (rule rope_table)
    assert b.weights_bytes == w.stages[0].bytes + rope
    assert abs(b.kv_pool_bytes - (int((H100.memory_bytes - in_use) * 0.85) - w.stages[0].bytes - rope)) <= 2
    assert b.kv_pool_bytes == b.engine_share_bytes - b.weights_bytes - b.activation_bytes - b.other_bytes


@settings(max_examples=40, deadline=None)
@given(release=st.sampled_from(VLLM_BOOK.releases), tokens=st.integers(16, 32768), seqs=st.integers(1, 2048))
def test_vllm_waterfall_adds_up_and_the_triton_path_never_exceeds_the_sort_path(release, tokens, seqs):
    from kvplan.weights import weights_footprint

    engine = get_engine(f"vllm=={release}")
    s = engine.settings(H100, max_num_batched_tokens=tokens, max_num_seqs=seqs)
    (b,) = engine.carve(LLAMA, H100, weights_footprint(LLAMA, None, 1, 1), s)
    assert b.kv_pool_bytes == b.engine_share_bytes - b.weights_bytes - b.activation_bytes - b.other_bytes
    assert b.activation_bytes > 0
    triton = get_engine("vllm==0.17.0").sampler_bytes(LLAMA, H100, s)
    sort = get_engine("vllm==0.16.0").sampler_bytes(LLAMA, H100, s)
    assert triton <= sort + 132 * V * 4


def test_rule_table_rows_name_real_releases():
    known = {Release.parse(r) for r in R.RELEASES}
    for rule in R.RULES:
        assert Release.parse(rule.first) in known
        assert rule.last is None or Release.parse(rule.last) in known


def test_default_fraction_tp_table_for_big_gpus():
    from fractions import Fraction

    assert default_fraction("tp_table", 143771, 1, 1) == Fraction(143771 - 13 * 1024, 143771)


# -- allreduce_rms_fusion: vLLM's FlashInfer all-reduce + RMSNorm pass, by release ------------
@pytest.mark.parametrize("release, exists, default_on_b200", [
    ("0.9.2", False, False), ("0.11.2", False, False), ("0.12.0", True, False), ("0.16.0", True, False),
    ("0.17.0", True, True), ("0.18.1", True, True), ("0.19.0", True, True), ("0.19.1", True, True)])
def test_allreduce_rms_fusion_rule_by_release(release, exists, default_on_b200):
    vllm = get_engine(f"vllm=={release}")
    fusion = vllm.allreduce_rms_fusion(get_gpu("b200"), tp=4)
    assert fusion.on is default_on_b200 and fusion.max_bytes == (32 * MIB if default_on_b200 else 0)
    if exists:
        assert vllm.allreduce_rms_fusion(get_gpu("b200"), tp=4, asked=True).max_bytes == 32 * MIB
    else:
        with pytest.raises(BadInputError, match=f"vllm {release} has no pass_config.fuse_allreduce_rms"):
            vllm.allreduce_rms_fusion(get_gpu("b200"), tp=4, asked=True)


def test_allreduce_rms_fusion_says_why_the_default_is_off():
    vllm = get_engine("vllm==0.19.1")
    off = vllm.allreduce_rms_fusion(get_gpu("b200"), tp=2, dp=2)
    assert off.source == ("vLLM 0.19.1 default at O2: off for tp 2, dp 2, pp 1, CC 10.0 (on at tp > 1, dp 1, pp 1 "
                          "on CC 9.0 or 10.x)")
    assert get_engine("vllm==0.17.0").allreduce_rms_fusion(get_gpu("b300"), tp=2).source.endswith("CC 9.0 or 10.0)")
    # the table's rows for 9.0 and 10.0 are the same in every release that has the option, but for the
    # tp 16 size 0.25.0 adds (PassConfig.flashinfer_max_size takes world size 16 from then)
    rows = [r.value["max_bytes"] for r in R.RULES if r.name == "allreduce_rms_fusion" and r.value is not None]
    below_16 = [{cc: {tp: b for tp, b in t[cc].items() if tp < 16} for cc in ((9, 0), (10, 0))} for t in rows]
    assert all(t == below_16[0] for t in below_16)
    assert [16 in t[(10, 0)] for t in rows] == [False] * (len(rows) - 4) + [True] * 4
    # 0.27.0 adds capability 10.7 (allreduce_rms_fusion.py FI_ALLREDUCE_FUSION_MAX_SIZE_MB 107); 0.28.0 and
    # 0.29.0 keep it; 0.29.0 raises 10.3 at tp 8 from 2 to 4 MB (:116-121)
    assert [(10, 7) in t for t in rows] == [False] * (len(rows) - 3) + [True] * 3
    assert [t.get((10, 3), {}).get(8) for t in rows][-4:] == [2 * MIB, 2 * MIB, 2 * MIB, 4 * MIB]
