"""vLLM's (and SGLang's) own flags: the launch-command parser (kvplan.vllm_args) and the
deployment options every command shares (kvplan/cli/common.py), with vLLM's meaning."""

from __future__ import annotations

import json

import pytest
from helpers import cli, one_line_error

from kvplan.capacity import make_request, plan
from kvplan.errors import BadInputError
from kvplan.loader import load_model
from kvplan.vllm_args import human_readable_int, parse_sglang, parse_vllm, quantization_weights

GiB = 1 << 30


# -- numbers as vLLM reads them (vllm/engine/arg_utils.py human_readable_int, v0.19.0) ----------
@pytest.mark.parametrize("text, value", [
    ("32k", 32_000), ("32K", 32_768), ("25.6k", 25_600), ("1m", 1_000_000), ("1M", 1_048_576),
    ("20G", 20 * GiB), ("20g", 20_000_000_000), ("4096", 4096), (" 8k ", 8000),
])
def test_human_readable_int(text, value):
    assert human_readable_int(text, "--max-model-len")[0] == value


def test_human_readable_int_notes_the_suffix():
    value, note = human_readable_int("32k", "--max-model-len")
    assert value == 32000 and "32,000" in note and "'32K' would be 32,768" in note
    assert human_readable_int("4096", "--max-model-len")[1] is None


@pytest.mark.parametrize("text, message", [("1.5K", "no decimals with a binary suffix"), ("32kb", "cannot read"),
                                           ("abc", "cannot read")])
def test_human_readable_int_refuses_what_vllm_refuses(text, message):
    with pytest.raises(BadInputError, match=message):
        human_readable_int(text, "--max-model-len")


# -- whole command lines -----------------------------------------------------------------------
def test_vllm_serve_command():
    cmd = parse_vllm("vllm serve meta-llama/Llama-3.1-8B --max-model-len 32k -tp 2 --gpu-memory-utilization 0.85 "
                     "--kv-cache-dtype fp8 --max-num-seqs 128 --max-num-batched-tokens 4K -dp 2 --block-size 32")
    assert cmd.model == "meta-llama/Llama-3.1-8B" and cmd.engine == "vllm" and cmd.usage_context == "serve"
    assert cmd.options == {"max_model_len": 32000, "tp": 2, "gpu_memory_utilization": 0.85, "kv_format": "fp8",
                           "max_num_seqs": 128, "max_num_batched_tokens": 4096, "dp": 2, "block_size": 32}
    assert any("32,000" in n for n in cmd.notes) and any("4,096" in n for n in cmd.notes)


def test_a_command_pasted_over_several_lines():
    """Backslash line continuations, as launch commands are usually written (and pasted from
    docs); the words were split with the newline as an argument ("unexpected argument '\\n'")."""
    text = ("vllm serve meta-llama/Llama-3.1-8B \\\n  --tensor-parallel-size 2 \\\n  --max-model-len 32K \\\r\n"
            "  --kv-cache-dtype fp8")
    cmd = parse_vllm(text)
    assert cmd.model == "meta-llama/Llama-3.1-8B"
    assert cmd.options == {"tp": 2, "max_model_len": 32768, "kv_format": "fp8"}
    sg = parse_sglang("python -m sglang.launch_server \\\n --model-path meta-llama/Llama-3.1-8B \\\n --tp 2")
    assert sg.model == "meta-llama/Llama-3.1-8B" and sg.options["tp"] == 2


def test_an_llm_call_as_written_in_a_script():
    """``llm = LLM(...)`` over several lines, as scripts write it (was refused as not a command)."""
    cmd = parse_vllm('llm = LLM(\n    model="meta-llama/Llama-3.1-8B",\n    tensor_parallel_size=2,\n'
                     '    max_model_len=16384,\n)')
    assert (cmd.model, cmd.usage_context) == ("meta-llama/Llama-3.1-8B", "llm")
    assert cmd.options == {"tp": 2, "max_model_len": 16384}


def test_api_server_module_with_equals_and_underscores():
    cmd = parse_vllm("CUDA_VISIBLE_DEVICES=0,1 python3 -m vllm.entrypoints.openai.api_server --model=/models/llama "
                     "--tensor_parallel_size=2 --max_model_len 8192 --disable-hybrid-kv-cache-manager "
                     "--enable-expert-parallel --num-gpu-blocks-override 4000 --kv-cache-memory-bytes 20G")
    assert cmd.model == "/models/llama"
    assert cmd.options == {"tp": 2, "max_model_len": 8192, "disable_hybrid_kv_cache_manager": True,
                           "enable_expert_parallel": True, "num_gpu_blocks_override": 4000,
                           "kv_cache_memory_bytes": 20 * GiB}


@pytest.mark.parametrize("value", ["-1", "auto"])
def test_max_model_len_auto(value):
    assert parse_vllm(f"vllm serve m --max-model-len {value}").options == {"max_model_len": "auto"}


def test_neutral_flags_are_ignored_with_a_note():
    cmd = parse_vllm("vllm serve m --port 8000 --host 0.0.0.0 --trust-remote-code "
                     "--served-model-name chat --max-model-len 4096")
    assert cmd.options == {"max_model_len": 4096}
    assert sum("does not change GPU memory" in n for n in cmd.notes) == 4


@pytest.mark.parametrize(("flag", "value"), [("--enable-prefix-caching", True), ("--no-enable-prefix-caching", False),
                                             ("--enable_prefix_caching", True)])
def test_prefix_caching_is_an_option_the_plan_checks(flag, value):
    """--enable-prefix-caching is not neutral for every model (vLLM 0.11.1+ changes a state-space
    model's pages with it): it reaches make_request, which checks it by release."""
    cmd = parse_vllm(f"vllm serve m {flag} --max-model-len 4096")
    assert cmd.options == {"max_model_len": 4096, "enable_prefix_caching": value}
    assert parse_vllm("LLM('m', enable_prefix_caching=True)").options == {"enable_prefix_caching": True}


def test_swap_space_is_cpu_memory():
    cmd = parse_vllm("vllm serve m --swap-space 16 --cpu-offload-gb 4")
    assert cmd.options == {"swap_space": 16.0, "cpu_offload_gb": 4.0}
    assert any("does not change the GPU KV pool" in n for n in cmd.notes)


@pytest.mark.parametrize("command, message", [
    ("vllm serve m --made-up-flag 3", "--made-up-flag: a vllm flag kvplan does not know"),
    ("vllm serve m --enable-lora", "LoRA"),
    ("vllm serve m --max-model-len", "--max-model-len needs a value"),
    ("vllm serve m -tp two", "expected an integer"),
    ("vllm serve m --max-model-len 1.5K", "no decimals"),
    ("python app.py --model m", "--from-vllm takes"),
    ("vllm serve m --load-format bitsandbytes", "bitsandbytes"),
])
def test_what_kvplan_will_not_guess(command, message):
    with pytest.raises(BadInputError, match=message):
        parse_vllm(command)


def test_speculative_config_passes_through(capsys):
    cmd = parse_vllm("vllm serve m --speculative-config '{\"method\": \"ngram\", \"num_speculative_tokens\": 4}'")
    assert cmd.options == {"speculative_config": '{"method": "ngram", "num_speculative_tokens": 4}'}
    spec_json = '{"model": "llama3.2-1b", "num_speculative_tokens": 4}'
    a, _ = _json(capsys, "--gpu", "h100", "--from-vllm", f"vllm serve llama3.1-70b -tp 4 --speculative-config '{spec_json}'")
    b, _ = _json(capsys, "llama3.1-70b", "--gpu", "h100", "-tp", "4", "--speculative-config", spec_json)
    assert a == b and a["speculative"]["draft_layers"] == 16


def test_llm_class_keywords():
    cmd = parse_vllm('LLM(model="Qwen/Qwen3-8B", tensor_parallel_size=2, max_model_len=32768, '
                     'gpu_memory_utilization=0.8, kv_cache_dtype="fp8", seed=0)')
    assert cmd.model == "Qwen/Qwen3-8B" and cmd.usage_context == "llm"
    assert cmd.options == {"tp": 2, "max_model_len": 32768, "gpu_memory_utilization": 0.8, "kv_format": "fp8"}
    with pytest.raises(BadInputError, match="enable_lora"):
        parse_vllm('LLM("m", enable_lora=True)')
    with pytest.raises(BadInputError, match="made_up"):
        parse_vllm('LLM("m", made_up=1)')


def test_sglang_command():
    cmd = parse_sglang("python -m sglang.launch_server --model-path Qwen/Qwen3-8B --mem-fraction-static 0.8 "
                       "--context-length 32768 --tp-size 2 --max-running-requests 64 --chunked-prefill-size 4096")
    assert cmd.engine == "sglang" and cmd.model == "Qwen/Qwen3-8B"
    assert cmd.options == {"gpu_memory_utilization": 0.8, "max_model_len": 32768, "tp": 2, "max_num_seqs": 64,
                           "max_num_batched_tokens": 4096}
    with pytest.raises(BadInputError, match="--port: a sglang flag"):
        parse_sglang("python -m sglang.launch_server --model-path m --port 30000")


def test_quantization_methods():
    spec = load_model("llama3.1-8b")
    assert quantization_weights("fp8", spec) == "fp8"
    with pytest.raises(BadInputError, match="quantization_config"):
        quantization_weights("awq", spec)  # a bf16 checkpoint has no AWQ weights to read
    gptq = load_model("tests/fixtures/hf_configs/gpt-oss-20b.json")  # mxfp4 checkpoint
    assert quantization_weights("mxfp4", gptq) is None
    with pytest.raises(BadInputError, match="not a method kvplan models"):
        quantization_weights("bitsandbytes", spec)


# -- the meaning of the flags, through the capacity planner ---------------------------------------
def _pool(**kw):
    return plan(make_request(load_model("llama3.1-8b"), "h100", max_model_len=8192, **kw))


def test_kv_cache_memory_bytes_replaces_the_waterfall():
    pool = _pool(kv_cache_memory_bytes="20G")
    # Llama-3.1-8B bf16: a block is 32 layers x 65,536 B = 2 MiB; 20 GiB // 2 MiB = 10,240
    assert pool.kv_pool_bytes == 20 * GiB and pool.num_blocks == 10_240 and pool.kv_cache_tokens == 163_840


def test_kv_cache_memory_bytes_per_rank_takes_the_smallest():
    spec = load_model("llama3.1-8b")
    pool = plan(make_request(spec, "h100", tp=2, max_model_len=8192, kv_cache_memory_bytes=[10 * GiB, 8 * GiB]))
    # tp 2: 4 KV heads a rank, 1 MiB a block; the 8 GiB rank binds: 8,192 blocks
    assert pool.stage_blocks == (8192,) and pool.num_blocks == 8192
    with pytest.raises(BadInputError, match="one for each of the 2 ranks"):
        make_request(spec, "h100", tp=2, kv_cache_memory_bytes=[GiB, GiB, GiB])


def test_num_gpu_blocks_override():
    pool = _pool(num_gpu_blocks_override=1000)
    assert pool.num_blocks == 1000 and pool.kv_cache_tokens == 16_000 and pool.usable_blocks == 999


def test_cpu_offload_frees_exactly_its_bytes_and_swap_space_none():
    base, offload = _pool(), _pool(cpu_offload_gb=4)
    assert base.weights_bytes - offload.weights_bytes == 4 * GiB
    assert offload.kv_pool_bytes - base.kv_pool_bytes == 4 * GiB
    old, swap = _pool(engine="vllm==0.17.1"), _pool(engine="vllm==0.17.1", swap_space=16)
    assert swap.kv_pool_bytes == old.kv_pool_bytes and swap.request.swap_space_bytes == 16 * GiB


def test_swap_space_is_refused_from_vllm_0_18():
    """vllm/engine/arg_utils.py has no swap_space from 0.18.0: the engine would not start."""
    with pytest.raises(BadInputError, match="no --swap-space"):
        _pool(engine="vllm==0.18.0", swap_space=16)


def test_quantization_fp8_is_fp8_weights():
    assert _pool(quantization="fp8").weights_bytes == _pool(weights="fp8").weights_bytes


def test_expert_parallel_splits_whole_experts_over_tp_times_dp():
    # vLLM shards MoE layers over tp x dp ranks (FusedMoEParallelConfig flattens tp across dp):
    # slices of every expert, or with --enable-expert-parallel whole experts, cdiv(E, tp x dp)
    # on the fullest rank (fused_moe/layer.py determine_expert_map).
    spec = load_model("qwen3-30b-a3b")  # 128 routed experts of 768 channels
    one = plan(make_request(spec, "h100")).weights.stages[0].by_part["experts"]
    sliced = plan(make_request(spec, "h100", tp=2, dp=3)).weights.stages[0].by_part["experts"]
    ep = plan(make_request(spec, "h100", tp=2, dp=3, enable_expert_parallel=True)).weights.stages[0].by_part["experts"]
    assert sliced == one // 6  # 768 / 6 = 128 channels of every expert
    assert ep == one * 22 // 128  # cdiv(128, 6) = 22 whole experts
    with pytest.raises(BadInputError, match="has no experts"):
        make_request(load_model("llama3.1-8b"), "h100", enable_expert_parallel=True)


# -- the command line ------------------------------------------------------------------------------
def _json(capsys, *args):
    code, out, err = cli(capsys, "capacity", *args, "--json")
    assert code == 0, err
    return json.loads(out), err


def test_vllm_names_and_kvplan_names_are_the_same_options(capsys):
    a, _ = _json(capsys, "llama3-70b", "--gpu", "h100", "-tp", "4", "--kv-cache-dtype", "fp8", "-pp", "2")
    b, _ = _json(capsys, "llama3-70b", "--gpu", "h100", "--tp", "4", "--kv-dtype", "fp8", "--pp", "2")
    c, _ = _json(capsys, "llama3-70b", "--gpu", "h100", "--tensor-parallel-size", "4", "--pipeline-parallel-size",
                 "2", "--kv-cache-dtype", "fp8")
    assert a == b == c and a["tp"] == 4 and a["pp"] == 2 and a["kv_dtype"] == "fp8_e4m3"


def test_from_vllm_plans_the_command(capsys):
    d, err = _json(capsys, "--gpu", "h100", "--from-vllm",
                   "vllm serve llama3.1-8b --max-model-len 32k -tp 2 --port 8000")
    assert d["tp"] == 2 and d["max_model_len"] == 32_000
    assert "vLLM reads a lower-case 'k' as x1,000" in err and "--port: ignored" in err


def test_from_vllm_unknown_flag_is_one_line_exit_2(capsys):
    code, out, err = cli(capsys, "capacity", "--gpu", "h100", "--from-vllm", "vllm serve llama3.1-8b --foo 1")
    assert code == 2 and out == ""
    assert one_line_error(err) == ("kvplan: error: --foo: a vllm flag kvplan does not know; it may change memory, "
                                   "so kvplan will not guess (remove it, or plan with kvplan's own options)")


def test_from_vllm_and_an_option_may_not_overlap(capsys):
    code, _, err = cli(capsys, "capacity", "--gpu", "h100", "-tp", "2", "--from-vllm", "vllm serve llama3.1-8b -tp 4")
    assert code == 2 and "tp is given both" in one_line_error(err)


def test_kvplan_max_model_len_suffix_note(capsys):
    d, err = _json(capsys, "llama3.1-8b", "--gpu", "h100", "--max-model-len", "32k")
    assert d["max_model_len"] == 32_768
    assert "vLLM reads 32k as 32,000 and 32K as 32,768" in err


def test_sglang_names_need_the_sglang_engine(capsys):
    code, _, err = cli(capsys, "capacity", "llama3.1-8b", "--gpu", "h100", "--mem-fraction-static", "0.8")
    assert code == 2 and one_line_error(err) == ("kvplan: error: --mem-fraction-static is SGLang's option (use "
                                                 "--engine sglang); with --engine vllm use --gpu-memory-utilization")
    a, _ = _json(capsys, "llama3.1-8b", "--gpu", "h100", "--engine", "sglang", "--mem-fraction-static", "0.8",
                 "--context-length", "8192")
    b, _ = _json(capsys, "llama3.1-8b", "--gpu", "h100", "--engine", "sglang", "--gpu-memory-utilization", "0.8",
                 "--max-model-len", "8192")
    assert a == b and a["mem_fraction_static"] == 0.8


def test_kv_cache_memory_needs_0_10_2(capsys):
    code, _, err = cli(capsys, "capacity", "llama3.1-8b", "--gpu", "h100", "--engine", "vllm==0.10.1.1",
                       "--kv-cache-memory-bytes", "20G")
    assert code == 2 and "has no --kv-cache-memory-bytes (added in vLLM 0.10.2)" in one_line_error(err)


def test_sweep_and_size_take_the_same_names(capsys):
    code, out, err = cli(capsys, "sweep", "llama3.1-8b", "--ctx", "8k", "-tp", "1,2", "--kv-cache-dtype", "fp8",
                         "--gpu", "h100", "--num-gpu-blocks-override", "1000", "--json")
    assert code == 0, err
    rows = json.loads(out)["points"]
    assert {r["tp"] for r in rows} == {1, 2} and {r["kv_dtype"] for r in rows} == {"fp8_e4m3"}
    code, out, err = cli(capsys, "size", "llama3.1-8b", "--ctx", "8k", "--kv-cache-dtype", "fp8", "-tp", "2", "--gpu",
                         "h100", "--kv-cache-memory-bytes", "8G", "--json")
    assert code == 0, err
    d = json.loads(out)
    assert d["tp"] == 2 and d["formats"][0]["on_gpu"]["kv_pool_bytes"] == 8 * GiB


# -- kvplan check: the plan schema takes the same names ------------------------------------------
def _plan(tmp_path, body: str):
    from kvplan.plan import check_plan, load_plan

    path = tmp_path / "plan.yaml"
    path.write_text(body)
    return check_plan(load_plan(path))


def test_plan_accepts_vllm_names(tmp_path):
    a = _plan(tmp_path, "deployments:\n  - {name: a, model: llama3.1-70b, gpu: h100, tensor_parallel_size: 4,\n"
                        "     kv_cache_dtype: fp8, max_model_len: 32768, num_gpu_blocks_override: 5000}\n")
    b = _plan(tmp_path, "deployments:\n  - {name: a, model: llama3.1-70b, gpu: h100, tp: 4, kv_dtype: fp8,\n"
                        "     max_model_len: 32768, num_gpu_blocks_override: 5000}\n")
    ca, cb = a.deployments[0].capacity, b.deployments[0].capacity
    assert ca.tp == cb.tp == 4 and ca.kv_dtype == cb.kv_dtype == "fp8_e4m3" and ca.num_blocks == cb.num_blocks == 5000


def test_plan_from_vllm(tmp_path):
    report = _plan(tmp_path, 'deployments:\n  - name: chat\n    gpu: h100\n'
                             '    from_vllm: "vllm serve llama3.1-8b --max-model-len 32K -tp 2 --kv-cache-memory-bytes 16G"\n'
                             '    requires: {min_kv_tokens: 100k}\n')
    cap = report.deployments[0].capacity
    assert cap.tp == 2 and cap.max_model_len == 32768 and cap.kv_pool_bytes == 16 * GiB and report.passed


@pytest.mark.parametrize("body, message", [
    ("{name: a, model: llama3.1-8b, gpu: h100, tp: 2, tensor_parallel_size: 2}", "give tensor_parallel_size or tp"),
    ("{name: a, model: llama3.1-8b, gpu: h100, mem_fraction_static: 0.8}", "mem_fraction_static is SGLang's name"),
    ("{name: a, gpu: h100}", "give model"),
    ('{name: a, gpu: h100, from_vllm: "vllm serve llama3.1-8b --bogus 1"}', "--bogus: a vllm flag"),
])
def test_plan_refuses_with_one_line(tmp_path, body, message):
    with pytest.raises(BadInputError, match=message):
        _plan(tmp_path, f"deployments:\n  - {body}\n")


def test_kv_cache_memory_that_does_not_fit_beside_the_weights():
    # Llama-3-70B bf16 on one H100: 131 GiB of weights alone exceed the GPU, whatever the KV memory
    pool = plan(make_request(load_model("llama3-70b"), "h100", max_model_len=8192, kv_cache_memory_bytes="20G"))
    v = pool.verdict()
    assert not v and v.bound == "weights" and "(--kv-cache-memory-bytes) exceed the GPU's 85,029,027,840 B" in v.reason
