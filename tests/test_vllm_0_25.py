"""vLLM 0.25.0 and 0.25.1: planned as 0.24.0 is (eager, or the CUDA-graph estimate off; full, MLA,
sliding-window and chunked-local layers) for models kvplan can put on the V1 model runner, which
from 0.25.0 means VLLM_USE_V2_MODEL_RUNNER=0 for every model without experts or state-space layers:
VllmConfig._is_default_v2_model_runner_model (vllm/config/vllm.py :557-574) adds `or not
model_config.is_moe` and keeps DeepseekV2ForCausalLM, GraniteMoeForCausalLM and Qwen2MoeForCausalLM
in DEFAULT_V2_MODEL_RUNNER_ARCHITECTURES (rules v2_model_runner_dense, v2_model_runner_architectures).
Worker.determine_available_memory differs only by a frontend multimodal-decoding reservation that is
0 by default (mm_ipc_gpu_memory_gb 0, the opencv video backend); profile_run, _dummy_run,
_dummy_sampler_run, the sampler (the Triton top-k/top-p kernel indexes rows in int64; FlashInfer
0.6.13's sampling Python is 0.6.12's) and vllm/v1/core/kv_cache_utils.py are unchanged, so the
figures equal 0.24.0's: each test below asserts the 0.25.0 figure and that 0.24.0 gives the same.
Newly refused: a sliding-window model at a block size other than 16 (rule window_block_size), the
int4_per_token_head KV cache, MLA models on 8.x (TRITON_MLA's decode workspace), tp 16 fusion across
nodes. FINDINGS_h30_v25.md has the reading."""

from __future__ import annotations

import pytest

from helpers import capacity_json as _plan, cli, one_line_error, pool_figures as _figures

from kvplan.engines import get_engine
from kvplan.errors import BadInputError
from kvplan.gpus import get_gpu
from kvplan.loader import load_model

DENSE_V2 = ("kvplan: error: vllm=={rel} runs {model} on Model Runner V2 (vllm/v1/worker/gpu/), whose profile run "
            "kvplan does not model, by default: every generating model without experts or state-space layers "
            "(vllm/config/vllm.py _is_default_v2_model_runner_model: `or not model_config.is_moe`; V1 only for a "
            "feature V2 lacks); plan it with VLLM_USE_V2_MODEL_RUNNER=0 in front of a --from-vllm command, or use "
            "--engine vllm=={earlier}")
GEMMA = "VLLM_USE_V2_MODEL_RUNNER=0 vllm serve google/gemma-3-27b-it --enforce-eager"
LLAMA = "VLLM_USE_V2_MODEL_RUNNER=0 vllm serve meta-llama/Llama-3.1-8B --enforce-eager"


@pytest.mark.parametrize("rel", ["0.25.0", "0.25.1"])
def test_gemma3_27b_h100_on_v1_as_0_24_0(capsys, rel):
    """Gemma-3-27B on an H100, eager, on V1: weights 55,166,803,168 (gemma3_mm.py adds host-side ints
    only), activation 4,037,972,992, pool 18,753,493,997: 14,307 blocks, 160,910 tokens; the 52
    window + 10 full layers page at 16 tokens either way (Attention.get_kv_cache_spec 0.25.0 :616-688
    gives the window layers FlashAttention's smallest kernel block, 16, the default block size)."""
    got = _plan(capsys, "--gpu", "h100", "--engine", f"vllm=={rel}", "--from-vllm", GEMMA)
    assert _figures(got) == (55_166_803_168, 4_037_972_992, 268_435_456, 78_226_705_613, 18_753_493_997,
                             14_307, 160_910)
    assert (got["blocks_per_request"], got["padding_layers"], got["block_size"]) == (11_654, 8, 16)
    assert _figures(_plan(capsys, "--gpu", "h100", "--engine", "vllm==0.24.0", "--from-vllm", GEMMA)) == _figures(got)


@pytest.mark.parametrize("rel", ["0.25.0", "0.25.1"])
def test_llama_on_v1_with_the_variable_off_as_0_24_0(capsys, rel):
    """Llama-3.1-8B on V1: weights 16,094,076,928, activation 2,025,938,944, pool 59,838,254,285:
    28,533 blocks, 456,528 tokens, as 0.24.0."""
    got = _plan(capsys, "--gpu", "h100", "--engine", f"vllm=={rel}", "--from-vllm", LLAMA)
    assert _figures(got) == (16_094_076_928, 2_025_938_944, 268_435_456, 78_226_705_613, 59_838_254_285,
                             28_533, 456_528)
    assert _figures(_plan(capsys, "--gpu", "h100", "--engine", "vllm==0.24.0", "--from-vllm", LLAMA)) == _figures(got)


@pytest.mark.parametrize("rel", ["0.25.0", "0.25.1"])
@pytest.mark.parametrize("model", ["gemma3-27b", "llama3.1-8b", "qwen3-8b", "phi3-mini"])
def test_every_dense_model_runs_v2_by_default_and_is_planned_there(capsys, rel, model):
    """Without the variable every model without experts or state-space layers runs Model Runner V2
    (rule v2_model_runner_dense), which kvplan plans from h31-v2run (rule v2_runner_memory; figures in
    tests/test_vllm_v2_runner.py): exit 0, and an activation peak no larger than the V1 runner's."""
    from kvplan.capacity import make_request, plan
    from kvplan.loader import load_model

    v2 = _plan(capsys, model, "--gpu", "h100", "--engine", f"vllm=={rel}", "--enforce-eager")
    v1 = plan(make_request(load_model(model), "h100", engine=get_engine(f"vllm=={rel}", enforce_eager=True,
                                                                        use_v2_model_runner=False)))
    assert get_engine(f"vllm=={rel}").plans_v2(load_model(model))
    # phi3-mini (vocab 32,064) is bound by the profile forward on either runner: the same figures
    assert v2["activation_bytes"] <= v1.stages[0].activation_bytes and v2["num_blocks"] >= v1.num_blocks


@pytest.mark.parametrize("model", ["deepseek-v2-lite", "tests/fixtures/hf_configs/qwen1.5-moe-a2.7b.json"])
def test_listed_moe_architectures_run_v2(capsys, model):
    """DeepseekV2ForCausalLM and Qwen2MoeForCausalLM run V2 by default; from h35 (rule v2_moe_mla_architectures,
    figures in tests/test_vllm_v2_moe.py) kvplan plans them there (before: exit 2)."""
    code, out, err = cli(capsys, "capacity", model, "--gpu", "h100", "--engine", "vllm==0.25.0", "--enforce-eager")
    assert code == 0, err
    assert get_engine("vllm==0.25.0").plans_v2(load_model(model))


@pytest.mark.parametrize("rel", ["0.25.0", "0.25.1"])
@pytest.mark.parametrize("args, blocks", [
    (("qwen3-30b-a3b",), 8_902),
    (("qwen3-235b-a22b", "--gpu", "h200", "--tp", "8"), 95_320),
    (("mixtral-8x7b", "--tp", "2"), 26_674),
])
def test_other_moe_models_stay_on_v1_and_plan_as_0_24_0(capsys, rel, args, blocks):
    """Qwen3MoeForCausalLM and MixtralForCausalLM are neither listed nor dense: V1 (is_moe), where the
    fused-MoE layer, compared with 0.24.0's function by function (FINDINGS_h30_v25moe.md; rules
    moe_persistent_workspace "oracle triton", moe_fp8_block_sm90_triton "triton" to 0.25.1), keeps the
    same experts, TritonExperts and workspace: every figure equals 0.24.0's."""
    got = _figures(_plan(capsys, *args, "--engine", f"vllm=={rel}", "--enforce-eager"))
    assert got == _figures(_plan(capsys, *args, "--engine", "vllm==0.24.0", "--enforce-eager"))
    assert got[5] == blocks


def test_model_runner_rules_by_release():
    rules = [(get_engine(f"vllm=={r}").rule("v2_model_runner_dense"),
              get_engine(f"vllm=={r}").rule("v2_model_runner_architectures")) for r in ("0.24.0", "0.25.0", "0.25.1")]
    assert rules[0] == (False, ("DeepseekV2ForCausalLM", "GraniteMoeForCausalLM", "LlamaForCausalLM",
                                "MistralForCausalLM", "Qwen2MoeForCausalLM", "Qwen3ForCausalLM"))
    assert rules[1] == rules[2] == (True, ("DeepseekV2ForCausalLM", "GraniteMoeForCausalLM", "Qwen2MoeForCausalLM"))


def test_window_layers_at_another_block_size_refused(capsys):
    """Attention.get_kv_cache_spec (0.25.0 :616-688) gives a sliding-window layer the backend's
    smallest kernel block (16) whatever --block-size says; 0.24.0 gave it the cache's block size and
    plans Gemma-3-27B at 32 (7,153 blocks, 160,816 tokens)."""
    cmd = GEMMA + " --block-size 32"
    code, out, err = cli(capsys, "capacity", "--gpu", "h100", "--engine", "vllm==0.25.0", "--from-vllm", cmd)
    assert code == 2 and out == ""
    assert one_line_error(err).startswith(
        "kvplan: error: vllm==0.25.0: sliding-window layers take a block of 16 tokens whatever the block size (32 "
        "here), and kvplan does not model how vLLM then unifies their pages with the others (plan at --block-size "
        "16) (vllm/model_executor/layers/attention/attention.py Attention.get_kv_cache_spec (0.25.0 :616-688)")
    old = _plan(capsys, "--gpu", "h100", "--engine", "vllm==0.24.0", "--from-vllm", cmd)
    assert (old["num_blocks"], old["kv_cache_tokens"], old["block_size"]) == (7_153, 160_816, 32)


def test_full_attention_at_another_block_size_still_planned(capsys):
    """The rule touches sliding-window layers only: Llama at --block-size 32 plans as on 0.24.0."""
    cmd = LLAMA + " --block-size 32"
    new = _plan(capsys, "--gpu", "h100", "--engine", "vllm==0.25.0", "--from-vllm", cmd)
    assert _figures(new) == _figures(_plan(capsys, "--gpu", "h100", "--engine", "vllm==0.24.0", "--from-vllm", cmd))
    assert new["block_size"] == 32


def test_int4_per_token_head_named_as_unmodelled():
    """CacheDType adds int4_per_token_head in 0.25.0 (config/cache.py :19-36)."""
    assert "int4_per_token_head" in get_engine("vllm==0.25.0").rule("kv_cache_dtypes_unmodelled")
    assert "int4_per_token_head" not in get_engine("vllm==0.24.0").rule("kv_cache_dtypes_unmodelled")
    assert "int4_per_token_head" not in get_engine("vllm==0.25.0").rule("kv_cache_dtypes")


def test_mla_on_8_x_refused():
    """TRITON_MLA (MLA on 8.x) reserves its decode workspace after the pool is sized from 0.25.0
    (mla/triton_mla.py TritonMLAMetadataBuilder._reserve_attn_logits_workspace); 0.24.0 did not."""
    a100 = get_gpu("a100-80gb")
    with pytest.raises(BadInputError, match=r"compute capability 8\.0\): MLA models run TRITON_MLA here, whose "
                                            r"metadata builder reserves a decode workspace outside the KV pool"):
        get_engine("vllm==0.25.0")._check_backends_read(a100, "mla")
    get_engine("vllm==0.24.0")._check_backends_read(a100, "mla")
    get_engine("vllm==0.25.0")._check_backends_read(a100, "any")
    get_engine("vllm==0.25.0")._check_backends_read(get_gpu("h100"), "mla")


def test_gpus_below_8_0_still_refused():
    with pytest.raises(BadInputError, match=r"FlashInfer's attention and sampler no longer run below 8\.0"):
        get_engine("vllm==0.25.0")._check_backends_read(get_gpu("t4"), "any")


def test_allreduce_rms_fusion_tp16():
    """PassConfig.flashinfer_max_size takes world size 16 from 0.25.0 (config/compilation.py :181-196)
    and FI_ALLREDUCE_FUSION_MAX_SIZE_MB gives 10.0 / 10.3 64 MB there; across nodes it needs FlashInfer's
    mnnvl workspace, which kvplan cannot tell: refused unless asked."""
    b200, new, old = get_gpu("b200"), get_engine("vllm==0.25.0"), get_engine("vllm==0.24.0")
    assert new.allreduce_rms_fusion(b200, tp=16).max_bytes == 64 << 20
    assert old.allreduce_rms_fusion(b200, tp=16, nodes=2).max_bytes == 0
    assert new.allreduce_rms_fusion(b200, tp=8, nodes=1).max_bytes == old.allreduce_rms_fusion(b200, tp=8).max_bytes
    with pytest.raises(BadInputError, match=r"^vLLM 0\.25\.0 fuses all-reduce \+ RMSNorm at tp 16 across 2 nodes only "
                                            r"where FlashInfer's mnnvl workspace builds"):
        new.allreduce_rms_fusion(b200, tp=16, nodes=2)
    assert new.allreduce_rms_fusion(b200, tp=16, nodes=2, asked=True).max_bytes == 64 << 20
    assert not new.allreduce_rms_fusion(b200, tp=16, nodes=2, asked=False).on


def test_architectures_removed_in_0_25_0(capsys):
    """registry.py 0.25.0 drops BaichuanForCausalLM, AquilaForCausalLM, Grok1ForCausalLM and others
    (kvplan/data/engine_models.json, 346 architectures): no model class, refused."""
    code, out, err = cli(capsys, "capacity", "tests/fixtures/hf_configs/baichuan2-7b.json", "--gpu", "h100",
                         "--engine", "vllm==0.25.0", "--enforce-eager")
    errors = [ln for ln in err.splitlines() if ln.startswith("kvplan: error:")]
    assert code == 2 and out == "" and len(errors) == 1
    assert "vllm==0.25.0 has no model class for BaichuanForCausalLM" in errors[0] and "to 0.24.0 have one" in errors[0]


def test_engine_models_spans():
    import json
    from importlib.resources import files

    from kvplan.engines.base import Release

    archs = json.loads(files("kvplan.data").joinpath("engine_models.json").read_text())["vllm"]["architectures"]
    assert archs["LlamaForCausalLM"][-1][0] == "0.8.0"
    assert archs["Grok1ForCausalLM"] == [["0.14.0", "0.24.0"]] and archs["BaichuanForCausalLM"][-1][1] == "0.24.0"
    assert archs["UnlimitedOCRForCausalLM"][-1][0] == "0.25.0"
    # 346 architectures in 0.25.x (0.26.0 keeps 343 of them: tests/test_vllm_0_26.py)
    rel = Release.parse("0.25.1")
    assert sum(1 for spans in archs.values()
               if any(Release.parse(first) <= rel <= Release.parse(last) for first, last in spans)) == 346


def test_release_table():
    from kvplan.engines import vllm_rules as R

    assert R.RELEASES[-11:-9] == ("0.25.0", "0.25.1") and "0.25.0" not in R.PUBLISHED_LATER
    # 0.26.0 planned from h30-v26 (tests/test_vllm_0_26.py), 0.27.0 from h31-v27 (tests/test_vllm_0_27.py)
    for rel in ("0.34.0",):  # 0.27.1 modelled as 0.27.0, 0.28.0-0.33.0 read (tests/test_vllm_0_28.py, _0_29.py, _0_30.py, _0_31.py, _0_32.py, _0_33.py)
        with pytest.raises(BadInputError, match=r"vllm 0\.34\.0 is not a release kvplan knows of \(newer than 0\.33\.0"):
            get_engine(f"vllm=={rel}")
