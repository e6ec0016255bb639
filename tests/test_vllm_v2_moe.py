"""Model Runner V2 with experts and MLA layers (docs/findings/FINDINGS_h35_v2moe.md, rule
v2_moe_mla_architectures): from 0.29.0 every model runs V2 by default (rule v2_default_all), and 0.25.0-0.28.0
run DeepseekV2ForCausalLM and Qwen2MoeForCausalLM there (rule v2_model_runner_architectures).

V2's profile forward is V1's: the same model code (deepseek_v2.py, mixtral.py, qwen2_moe.py, qwen3_moe.py) over
the same max_num_batched_tokens dummy tokens, attention skipped, eager; the same TritonExperts and the same
WorkspaceManager (one per worker for both runners), whose buffers are sized by the token count, topk and the
weights' shapes, not by which experts the dummy tokens reach (on 0.27.0-0.30.0 V2 marks them padding, expert id
-1; V1 routes them); an MLA layer takes the same attn_metadata-None branch. So on V2 the activation peak is
max(V1's forward, V2's dummy sampler + the kept MoE workspace), and the blocks for given bytes are V1's.
Still refused on V2: architectures whose model code was not read, DeepSeek sparse attention, state-space
layers, AMD GPUs; expert parallelism and dp > 1 are refused on either runner (the MoE oracle)."""

from __future__ import annotations

import dataclasses

import pytest

from helpers import HF_FIXTURES, capacity_json as _plan, cli, one_line_error

from kvplan.capacity import make_request, plan
from kvplan.engines import get_engine
from kvplan.engines import vllm_rules as R
from kvplan.engines.base import Release, RuleBook
from kvplan.errors import BadInputError
from kvplan.loader import load_model

V1 = "VLLM_USE_V2_MODEL_RUNNER=0 vllm serve"
QWEN = ("qwen3-30b-a3b", "h100", "1", "14002304205", "Qwen/Qwen3-30B-A3B")
DEEPSEEK = ("deepseek-v3", "h200", "8", "45994277463", "deepseek-ai/DeepSeek-V3 --tensor-parallel-size 8")
#: V1's activation on every release 0.29.0-0.33.0 (tests/test_vllm_given_memory_releases.py): the sampler's
#: peak plus the kept workspace, 2,344,364,032 + 536,870,912 and 2,091,491,328 + 1,879,048,192
V1_ACTIVATION = {"qwen3-30b-a3b": 2_881_234_944, "deepseek-v3": 3_970_539_520}


def _v2(capsys, model, gpu, tp, given, release):
    return _plan(capsys, model, "--gpu", gpu, "--tp", tp, "--engine", f"vllm=={release}",
                 "--kv-cache-memory-bytes", given)


def _v1(capsys, model, gpu, tp, given, hub, release):
    return _plan(capsys, "--gpu", gpu, "--engine", f"vllm=={release}", "--from-vllm",
                 f"{V1} {hub} --kv-cache-memory-bytes {given}")


@pytest.mark.parametrize("release, qwen, deepseek", [
    ("0.29.0", 930_656_768, 2_678_482_534),
    ("0.30.0", 930_656_768, 2_678_482_534),
    ("0.31.0", 930_652_672, 2_678_482_534),  # idx_mapping int32 (rule v2_runner_memory): 4,096 B less
    ("0.32.0", 930_656_768, 2_678_482_534),
    ("0.33.0", 2_796_860_928, 3_887_642_112),  # the warm-up sampler pass
])
def test_moe_and_mla_planned_on_v2_with_v1_blocks(capsys, release, qwen, deepseek):
    """Qwen3-30B-A3B (H100) and DeepSeek-V3 block-fp8 (8 x H200), KV memory given, by default (V2): the blocks,
    blocks a request, tokens and weights of the V1 plan (VLLM_USE_V2_MODEL_RUNNER=0); the activation peak is
    V2's (before h35: exit 2, "read only for models without experts")."""
    for (model, gpu, tp, given, hub), activation in ((QWEN, qwen), (DEEPSEEK, deepseek)):
        got, v1 = _v2(capsys, model, gpu, tp, given, release), _v1(capsys, model, gpu, tp, given, hub, release)
        keys = ("num_blocks", "blocks_per_request", "kv_cache_tokens", "weights_bytes", "other_bytes",
                "kv_pool_bytes", "usable_blocks", "estimated_max_model_len")
        assert {k: got[k] for k in keys} == {k: v1[k] for k in keys}
        assert got["num_blocks"] == (8_902 if model == "qwen3-30b-a3b" else 40_907)
        assert (got["activation_bytes"], v1["activation_bytes"]) == (activation, V1_ACTIVATION[model])
        assert got["starts"] and got["notes"] == []


@pytest.mark.parametrize("release", ["0.29.0", "0.33.0"])
def test_activation_is_v1_forward_or_v2_sampler_plus_workspace(release):
    """activation = max(forward_bytes, v2_sampler_bytes + moe_workspace_bytes):
    - Qwen3-30B-A3B, H100 defaults (T = 8,192, S = 1,024, vocab 151,936), bf16 Triton experts: forward
      int(8,192 x 2 x 6.7 x 2,048) + 536,870,912 (workspace 2 x 8,192 x 8 x 2,048 x 2) = 761,685,606; V2 sampler
      on 0.29.0 311,164,928 (bf16 logits) + 1,847,296 (gumbel) + 33,280 (dummy batch) + 51,380,224 - 4,194,304
      (fixed bytes less V1's rand_like copy) + 33,554,432 (forward output) = 393,785,856, + 536,870,912 =
      930,656,768 (binds); on 0.33.0 the warm-up pass 2,179,216,384 + 80,773,632 = 2,259,990,016, + 536,870,912
      = 2,796,860,928.
    - DeepSeek-V3 block-fp8 at tp 8 on H200: workspace 2 x 8,192 x 8 x 7,168 x 2 = 1,879,048,192 (the
      experts' shapes in the model dtype, rule moe_fp8_block_sm90_triton); forward 2,678,482,534 binds on
      0.29.0 (V2 sampler 420,516,352 + workspace = 2,299,564,544); on 0.33.0 2,008,593,920 + 1,879,048,192 =
      3,887,642,112."""
    engine = get_engine(f"vllm=={release}")
    expect = {"0.29.0": {"qwen3-30b-a3b": (761_685_606, 393_785_856, 536_870_912, 930_656_768),
                         "deepseek-v3": (2_678_482_534, 420_516_352, 1_879_048_192, 2_678_482_534)},
              "0.33.0": {"qwen3-30b-a3b": (761_685_606, 2_259_990_016, 536_870_912, 2_796_860_928),
                         "deepseek-v3": (2_678_482_534, 2_008_593_920, 1_879_048_192, 3_887_642_112)}}[release]
    for model, gpu, tp, weights in (("qwen3-30b-a3b", "h100", 1, None), ("deepseek-v3", "h200", 8, "fp8")):
        options = {"weights": weights} if weights else {}
        pool = plan(make_request(load_model(model), gpu, engine=engine, tp=tp, kv_cache_memory_bytes=[10 ** 10] * tp,
                                 **options))
        s, w, stage = pool.settings, pool.weights, pool.stages[-1]
        gpu_ = pool.request.gpu
        parts = (engine.forward_bytes(pool.request.served_spec, s, stage.layers, gpu_, w),
                 engine.v2_sampler_bytes(pool.request.served_spec, s, gpu_),
                 engine.moe_workspace_bytes(pool.request.served_spec, s, stage.layers, gpu_, w))
        assert parts + (stage.activation_bytes,) == expect[model]
        assert stage.activation_bytes == max(parts[0], parts[1] + parts[2])


@pytest.mark.parametrize("release", ["0.29.0", "0.33.0"])
def test_starts_flips_where_the_v2_activation_says(capsys, release):
    """vLLM starts while weights + activation + other + V2's persistent buffers + the given KV memory fit the GPU
    (Pool.overcommitted_stage): Qwen3-30B-A3B on an H100 starts up to 85,029,027,840 - 61,074,731,008 -
    activation - other - persistent given bytes, one byte more does not (exit 1). V2's smaller activation lets
    more KV memory start than V1's 2,881,234,944 on 0.29.0 (V1 stops at 20,804,626,432 B; V2 at 22,075,481,088,
    its 679,723,520 B of persistent buffers taken: vocab 151,936 at 1,024 requests); on 0.33.0 the warm-up pass
    lifts the activation to 2,796,860,928 and V2 stops below V1 (20,209,276,928)."""
    model, gpu, tp, given, hub = QWEN
    got = _v2(capsys, model, gpu, tp, given, release)
    edge = (got["gpu_memory_bytes"] - got["weights_bytes"] - got["activation_bytes"] - got["other_bytes"]
            - got["persistent_bytes"])
    assert got["activation_bytes"] == {"0.29.0": 930_656_768, "0.33.0": 2_796_860_928}[release]
    assert got["persistent_bytes"] == 679_723_520
    assert edge == {"0.29.0": 22_075_481_088, "0.33.0": 20_209_276_928}[release]
    assert _v2(capsys, model, gpu, tp, str(edge), release)["starts"]
    code, out, err = cli(capsys, "capacity", model, "--gpu", gpu, "--engine", f"vllm=={release}",
                         "--kv-cache-memory-bytes", str(edge + 1), "--json")
    assert code == 1 and '"starts": false' in out
    v1 = _v1(capsys, model, gpu, tp, given, hub, release)
    v1_edge = v1["gpu_memory_bytes"] - v1["weights_bytes"] - v1["activation_bytes"] - v1["other_bytes"]
    assert v1["persistent_bytes"] == 0 and v1_edge == 20_804_626_432
    code, _, _ = cli(capsys, "capacity", "--gpu", gpu, "--engine", f"vllm=={release}", "--from-vllm",
                     f"{V1} {hub} --kv-cache-memory-bytes {v1_edge + 1}", "--json")
    assert code == 1


@pytest.mark.parametrize("release, earlier", [("0.25.0", "0.23.0"), ("0.26.0", "0.23.0")])
def test_listed_moe_architectures_planned_on_v2_on_0_25_and_0_26(capsys, release, earlier):
    """0.25.0-0.26.0 run DeepseekV2ForCausalLM and Qwen2MoeForCausalLM on V2 by default; its pool is profiled
    there (allocated bytes) and V2 subtracts no CUDA-graph estimate: planned with or without --enforce-eager
    (before h35: exit 2). DeepSeek-V2-Lite on an H100: 0.25.0 91,095 blocks (activation 1,189,310,976: the
    float32 logits copy), 0.26.0 91,794 (841,377,382); V1 (VLLM_USE_V2_MODEL_RUNNER=0, eager) 89,293
    (2,086,211,584)."""
    figures = {("0.25.0", "deepseek-v2-lite"): (1_189_310_976, 45_335_019_213, 91_095),
               ("0.26.0", "deepseek-v2-lite"): (841_377_382, 45_682_952_807, 91_794),
               ("0.25.0", "qwen1.5-moe-a2.7b"): (1_334_878_720, 47_983_434_445, 15_253),
               ("0.26.0", "qwen1.5-moe-a2.7b"): (820_405_862, 48_497_907_303, 15_417)}
    for model in ("deepseek-v2-lite", str(HF_FIXTURES / "qwen1.5-moe-a2.7b.json")):
        name = model.rsplit("/", 1)[-1].removesuffix(".json")
        for eager in ((), ("--enforce-eager",)):
            got = _plan(capsys, model, "--engine", f"vllm=={release}", *eager)
            assert (got["activation_bytes"], got["kv_pool_bytes"], got["num_blocks"]) == figures[release, name]
    v1 = _plan(capsys, "--engine", f"vllm=={release}", "--from-vllm",
               f"{V1} deepseek-ai/DeepSeek-V2-Lite --enforce-eager")
    assert (v1["activation_bytes"], v1["num_blocks"]) == (2_086_211_584, 89_293)


@pytest.mark.parametrize("release", ["0.27.0", "0.28.0"])
def test_listed_moe_architectures_planned_on_v2_on_0_27_and_0_28(capsys, release):
    """DeepSeek-V2-Lite given 30,000,000,000 B: V1's 60,281 blocks, V2's activation 841,377,382 (V1:
    2,086,211,584); VLLM_USE_V2_MODEL_RUNNER=1 puts Qwen3-30B-A3B (V1 by default here) on V2: V1's blocks,
    activation 930,652,672 on 0.27.0 (idx_mapping int32), 930,656,768 on 0.28.0."""
    got = _plan(capsys, "deepseek-v2-lite", "--engine", f"vllm=={release}", "--kv-cache-memory-bytes", "30000000000")
    v1 = _plan(capsys, "--engine", f"vllm=={release}", "--from-vllm",
               f"{V1} deepseek-ai/DeepSeek-V2-Lite --kv-cache-memory-bytes 30000000000")
    assert (got["num_blocks"], got["activation_bytes"]) == (60_281, 841_377_382)
    assert (v1["num_blocks"], v1["activation_bytes"]) == (60_281, 2_086_211_584)
    on = _plan(capsys, "--engine", f"vllm=={release}", "--from-vllm",
               "VLLM_USE_V2_MODEL_RUNNER=1 vllm serve Qwen/Qwen3-30B-A3B --kv-cache-memory-bytes 14002304205")
    default = _plan(capsys, "qwen3-30b-a3b", "--engine", f"vllm=={release}", "--kv-cache-memory-bytes", "14002304205")
    assert (on["num_blocks"], default["num_blocks"], default["activation_bytes"]) == (8_902, 8_902, 2_881_234_944)
    assert on["activation_bytes"] == {"0.27.0": 930_652_672, "0.28.0": 930_656_768}[release]


@pytest.mark.parametrize("release", ["0.29.0", "0.33.0"])
@pytest.mark.parametrize("model, what", [
    ("olmoe-1b-7b-0924", "whose profile run kvplan has read for models with experts only for DeepseekV2ForCausalLM, "
                         "DeepseekV3ForCausalLM, MixtralForCausalLM, Qwen2MoeForCausalLM, Qwen3MoeForCausalLM (the "
                         "model code read against V1's; rule v2_moe_mla_architectures), not OlmoeForCausalLM"),
    ("glm-4.7", "whose profile run kvplan has read for models with experts only for DeepseekV2ForCausalLM, "
                "DeepseekV3ForCausalLM, MixtralForCausalLM, Qwen2MoeForCausalLM, Qwen3MoeForCausalLM (the model "
                "code read against V1's; rule v2_moe_mla_architectures), not Glm4MoeForCausalLM"),
    ("deepseek-v3.2", "whose profile run kvplan has not read for DeepSeek sparse attention (indexed MLA layers: "
                      "the indexer and its model code)"),
    ("jamba-1.5-mini", "whose profile run kvplan has read only for models without state-space layers"),
])
def test_what_stays_refused_on_v2(capsys, release, model, what):
    """Experts or MLA layers of an architecture whose model code was not read, DeepSeek sparse attention and
    state-space layers: exit 2, one line naming it and the way out."""
    code, out, err = cli(capsys, "capacity", str(HF_FIXTURES / f"{model}.json"), "--gpu", "h200", "--tp", "8",
                         "--engine", f"vllm=={release}", "--kv-cache-memory-bytes", "20000000000")
    line = one_line_error(err)
    assert code == 2 and out == ""
    assert line.startswith(f"kvplan: error: vllm=={release} runs {model} on Model Runner V2 (vllm/v1/worker/gpu/), "
                           f"{what}, by default: every model, with experts, MLA or state-space layers too")
    assert line.endswith("plan it with VLLM_USE_V2_MODEL_RUNNER=0 in front of a --from-vllm command that gives "
                         "--kv-cache-memory-bytes, or use --engine vllm==0.28.0")


@pytest.mark.parametrize("args, end", [
    (("--gpu", "mi300x"), "whose memory kvplan has read on CUDA only, not on ROCm; plan it with "
                          "VLLM_USE_V2_MODEL_RUNNER=0 in front of a --from-vllm command"),
    (("--gpu", "h100", "--tp", "2", "--enable-expert-parallel"),
     "with --enable-expert-parallel it picks experts classes and all-to-all buffers kvplan has not read; use "
     "--engine vllm==0.19.1"),
    (("--gpu", "h100", "--dp", "2"), "with dp 2 it picks prepare/finalize classes (every rank's tokens gathered) "
                                     "kvplan has not read; use --engine vllm==0.19.1"),
])
def test_amd_expert_and_data_parallel_stay_refused(capsys, args, end):
    code, out, err = cli(capsys, "capacity", "qwen3-30b-a3b", *args, "--engine", "vllm==0.33.0",
                         "--kv-cache-memory-bytes", "14002304205")
    assert code == 2 and out == "" and one_line_error(err).endswith(end)


def test_unread_listed_architecture_refused_on_0_27_0():
    """A listed architecture (0.27.0: GraniteMoeForCausalLM) whose model code was not read stays refused on
    V2, with the way out that gives the KV memory (review h31b F4) and the release before V2 (0.23.0)."""
    spec = dataclasses.replace(load_model("deepseek-v2-lite"), architecture="GraniteMoeForCausalLM")
    with pytest.raises(BadInputError) as e:
        get_engine("vllm==0.27.0").check_model_runner(spec)
    assert "not GraniteMoeForCausalLM, by default (vllm/config/vllm.py DEFAULT_V2_MODEL_RUNNER_ARCHITECTURES" in str(e.value)
    assert str(e.value).endswith("VLLM_USE_V2_MODEL_RUNNER=0 in front of a --from-vllm command that gives "
                                 "--kv-cache-memory-bytes, or use --engine vllm==0.23.0")


def test_the_rule_decides(capsys):
    """With rule v2_moe_mla_architectures None from 0.29.0 (V2 with experts / MLA not read) the Qwen3 and
    DeepSeek-V3 commands are refused again as before h35, and the rows are the five read architectures."""
    from kvplan.engines import vllm as V

    rows = [r for r in R.RULES if r.name == "v2_moe_mla_architectures"]
    assert [(r.first, r.last) for r in rows] == [("0.8.0", "0.24.0"), ("0.25.0", "0.26.0"), ("0.27.0", "0.28.0"),
                                                 ("0.29.0", "0.30.0"), ("0.31.0", None)]
    assert [r.value for r in rows] == [None] + [R.V2_MOE_MLA_READ] * 4
    later = Release.parse("0.29.0")
    rules = tuple(dataclasses.replace(r, value=None)
                  if r.name == "v2_moe_mla_architectures" and Release.parse(r.first) >= later else r for r in R.RULES)
    book, V.BOOK = V.BOOK, RuleBook("vllm", R.RELEASES, rules)
    try:
        for model, gpu, tp, given, _ in (QWEN, DEEPSEEK):
            code, _, err = cli(capsys, "capacity", model, "--gpu", gpu, "--tp", tp, "--engine", "vllm==0.33.0",
                               "--kv-cache-memory-bytes", given)
            assert code == 2 and "whose profile run kvplan has read only for models without experts" in err
    finally:
        V.BOOK = book
