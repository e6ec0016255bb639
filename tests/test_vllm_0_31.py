"""vLLM 0.31.0, read against 0.30.0 (docs/findings/FINDINGS_h34_v31.md).

- The memory accounting is 0.30.0's where kvplan plans (memory_profiling AST-identical; the profiled branch
  of Worker.determine_available_memory runs under a 20 MiB max_split_size_mb, still a free-memory drop):
  the profiled pool stays refused (rule non_kv_from_free_memory) and a plan needs --kv-cache-memory-bytes.
- Model Runner V2 is still the default for every model (rule v2_default_all): MoE / MLA models plan on
  V1 with VLLM_USE_V2_MODEL_RUNNER=0 as on 0.30.0, and by default on V2 for the architectures of rule
  v2_moe_mla_architectures (h35, tests/test_vllm_v2_moe.py); other ones are refused there. V2's dummy idx_mapping is
  int32 again (rule v2_runner_memory): its sampler peak is 4,096 B lower for 1,024 rows (the forward binds).
- Pages, grouping, the null block, the start-up check and auto-fit are 0.30.0's for the kinds kvplan plans
  (the new block_stride_alignment rounding is 1 for them): the same blocks for the same bytes.
- What is refused anew: V1 with pipeline parallelism and --async-scheduling (rule v1_pp_async_refused),
  --quantization fp8 without a checkpoint quantization_config (online fp8_per_tensor, rule
  online_fp8_rerouted), head size 512 with an fp8 KV cache on capability 9.x (FlashAttention 4's 64-token
  blocks, rule fa4_sm90_fp8_hd512_block), the nine new engine flags and the renamed mamba flag (unknown);
  --device-memory-utilization is --gpu-memory-utilization (one dest). 0.32.0 is read against 0.31.0 in tests/test_vllm_0_32.py."""

from __future__ import annotations

import json
from importlib.resources import files

import pytest

from helpers import capacity_json as _plan, cli, hf_fixture, one_line_error

from kvplan.engines import get_engine
from kvplan.engines import vllm_rules as R
from kvplan.engines.base import Release
from kvplan.engines.vllm import BOOK as VLLM_BOOK
from kvplan.errors import BadInputError
from kvplan.gpus import get_gpu
from kvplan.loader import load_model
from kvplan.paging import BOOK as PAGING

_NAMES = ("engine", "paging")
NEW, OLD = "0.31.0", "0.30.0"


def _same_but_names(a: dict, b: dict) -> bool:
    return {k: v for k, v in a.items() if k not in _NAMES} == {k: v for k, v in b.items() if k not in _NAMES}


def _both(capsys, *args):
    """The capacity JSON on 0.31.0 and on 0.30.0 for the same arguments."""
    return [_plan(capsys, *args, "--engine", f"vllm=={rel}") for rel in (NEW, OLD)]


def test_v2_sampler_idx_mapping_int32():
    """InputBatch.make_dummy idx_mapping int32 (input_batch.py 0.31.0 :140; 0.30.0 :134 int64): 1,024 rows,
    4,096 B less; the profile forward (1,154,272,460 B) still binds."""
    spec, gpu = load_model("llama3.1-8b"), get_gpu("h100")
    new, old = get_engine(f"vllm=={NEW}"), get_engine(f"vllm=={OLD}")
    assert new.rule("v2_runner_memory") == {"fp32_logits_copy": False, "idx_mapping_bytes": 4}
    assert old.rule("v2_runner_memory") == {"fp32_logits_copy": False, "idx_mapping_bytes": 8}
    assert new.v2_sampler_bytes(spec, new.settings(gpu, spec=spec)) == 374_362_624
    assert old.v2_sampler_bytes(spec, old.settings(gpu, spec=spec)) == 374_366_720


@pytest.mark.parametrize("args, words", [
    (("gemma3-4b", "--gpu", "b200", "--kv-cache-memory-bytes", "10000000000"), "has head size 256"),
])
def test_0_30_0_refusals_carried(capsys, args, words):
    code, out, err = cli(capsys, "capacity", *args, "--engine", f"vllm=={NEW}")
    assert code == 2 and out == "" and words in one_line_error(err)


def test_v1_pipeline_with_async_scheduling_refused(capsys):
    """_get_v1_model_runner_unsupported_features (config/vllm.py 0.31.0 :3112-3124); 0.30.0 plans it
    (57,897 blocks); without --async-scheduling 0.31.0 plans the same (async off on V1 with pp > 1)."""
    cmd = "VLLM_USE_V2_MODEL_RUNNER=0 vllm serve meta-llama/Llama-3.1-8B --kv-cache-memory-bytes 60709920769 -pp 2"
    code, out, err = cli(capsys, "capacity", "--gpu", "h100", "--engine", f"vllm=={NEW}", "--from-vllm",
                         f"{cmd} --async-scheduling")
    errors = [ln for ln in err.splitlines() if ln.startswith("kvplan: error:")]
    assert code == 2 and out == "" and len(errors) == 1
    line = errors[0]
    assert "pipeline parallelism with async scheduling" in line and line.endswith("use --engine vllm==0.30.0")
    old = _plan(capsys, "--gpu", "h100", "--engine", f"vllm=={OLD}", "--from-vllm", f"{cmd} --async-scheduling")
    new, plain = [_plan(capsys, "--gpu", "h100", "--engine", f"vllm=={rel}", "--from-vllm", cmd) for rel in (NEW, OLD)]
    assert old["num_blocks"] == new["num_blocks"] == 57_897 and _same_but_names(new, plain)


def test_online_fp8_refused(capsys):
    """--quantization fp8 on a bf16 checkpoint: fp8_per_tensor online (weight_utils.py get_quant_config 0.31.0
    :341-348); 0.30.0 plans fp8 weights (9,120,260,096 B, 28,948 blocks)."""
    args = ("llama3.1-8b", "--gpu", "h100", "--kv-cache-memory-bytes", "60709920769", "--quantization", "fp8")
    code, out, err = cli(capsys, "capacity", *args, "--engine", f"vllm=={NEW}")
    line = one_line_error(err)
    assert code == 2 and out == ""
    assert "--quantization fp8 on llama3.1-8b" in line and "fp8_per_tensor" in line
    old = _plan(capsys, *args, "--engine", f"vllm=={OLD}")
    assert (old["weights_bytes"], old["num_blocks"]) == (9_120_260_096, 28_948)


def test_head_512_fp8_kv_on_hopper_refused(capsys, tmp_path):
    """_get_sm90_fa4_fp8_kv_block_size (flash_attn.py 0.31.0 :297-325): 64-token kernel blocks; 0.30.0 plans
    a Llama-3-8B config with head_dim 512 in fp8 at 9,536 blocks; auto KV dtype plans on 0.31.0."""
    path = tmp_path / "config.json"
    path.write_text(json.dumps(hf_fixture("llama-3-8b-instruct", head_dim=512)), encoding="utf-8")
    args = (str(path), "--gpu", "h100", "--kv-cache-memory-bytes", "40000000000")
    code, out, err = cli(capsys, "capacity", *args, "--kv-cache-dtype", "fp8", "--engine", f"vllm=={NEW}")
    line = one_line_error(err)
    assert code == 2 and out == "" and "has head size 512 with an fp8 KV cache" in line
    old = _plan(capsys, *args, "--kv-cache-dtype", "fp8", "--engine", f"vllm=={OLD}")
    assert (old["num_blocks"], old["blocks_per_request"]) == (9_536, 512)
    new, old = _both(capsys, *args)
    assert _same_but_names(new, old)


@pytest.mark.parametrize("flag", ["--aux-output-config {}", "--log-config-file x.json", "--log-level debug",
                                  "--logging-config {}", "--long-prefill-token-threshold-adaptive",
                                  "--max-lora-cls-labels 4", "--max-num-active-seqs 8",
                                  "--sleep-preserve-parameter-names x", "--swa-bounded-replay",
                                  "--enable-mamba-shared-prefix-checkpoint"])
def test_new_engine_flags_refused(capsys, flag):
    code, out, err = cli(capsys, "capacity", "--gpu", "h100", "--engine", f"vllm=={NEW}", "--from-vllm",
                         f"vllm serve meta-llama/Llama-3.1-8B --kv-cache-memory-bytes 60709920769 {flag}")
    assert code == 2 and out == ""
    assert one_line_error(err) == (f"kvplan: error: {flag.split()[0]}: a vllm flag kvplan does not know; it may "
                                   f"change memory, so kvplan will not guess (remove it, or plan with kvplan's own "
                                   f"options)")


def test_device_memory_utilization_is_the_gpu_flag(capsys):
    """arg_utils.py 0.31.0 :1325-1330: --device-memory-utilization, dest gpu_memory_utilization."""
    cmd = "vllm serve meta-llama/Llama-3.1-8B --kv-cache-memory-bytes 60709920769"
    a, b = [_plan(capsys, "--gpu", "h100", "--engine", f"vllm=={NEW}", "--from-vllm", f"{cmd} {flag} 0.8")
            for flag in ("--device-memory-utilization", "--gpu-memory-utilization")]
    assert a == b and a["num_blocks"] == 28_948


def test_rows():
    new, old = get_engine(f"vllm=={NEW}"), get_engine(f"vllm=={OLD}")
    assert R.RELEASES[-4:-2] == (OLD, NEW) and R.PUBLISHED_LATER == ()
    assert not R.REFUSED
    for name in ("v2_default_all", "v2_model_runner_architectures", "non_kv_from_free_memory", "fa4_hd256_block",
                 "moe_fp8_block_refined", "moe_persistent_workspace", "sampler_top_k_top_p", "mla_forward_read",
                 "deepseek_v2_forward_read", "scheduler_defaults", "allreduce_rms_fusion", "topp_split_small_batch",
                 "mm_prefix_composite_backend", "kv_cache_dtypes_unmodelled", "rocm_moe_weight_padding"):
        assert new.rule(name) == old.rule(name), name
    for name in ("fa4_sm90_fp8_hd512_block", "v1_pp_async_refused", "online_fp8_rerouted"):
        assert (new.rule(name), old.rule(name)) == (True, False), name
    rel, prev = Release.parse(NEW), Release.parse(OLD)
    for name in ("null_block_in_check", "unify_page_sizes", "modelled_kinds", "window_block_size"):
        assert PAGING.value(name, rel) == PAGING.value(name, prev), name
    for book in (VLLM_BOOK, PAGING):  # every row in force at 0.31.0 cites a source
        assert all(row.source for row in book.table(rel).values())
    with pytest.raises(BadInputError, match=r"vllm 0\.34\.0 is not a release kvplan knows of \(newer than 0\.33\.0"):
        get_engine("vllm==0.34.0")


def _in(span, release: str) -> bool:
    return Release.parse(span[0]) <= Release.parse(release) <= Release.parse(span[1])


def test_engine_models_0_31_0():
    archs = json.loads(files("kvplan.data").joinpath("engine_models.json").read_text())["vllm"]["architectures"]
    # 0.31.0's registry.py: 377 classes, LiLiCorrDraftModel added, none removed (FINDINGS_h34_v31.md section 4)
    assert sum(1 for spans in archs.values() if _in(spans[-1], NEW)) == 377
    assert archs["LiLiCorrDraftModel"][0][0] == NEW
    assert archs["LlamaForCausalLM"][-1][0] == "0.8.0"


@pytest.mark.parametrize("release", ["0.19.1", "0.30.0"])
def test_device_memory_utilization_only_from_0_31_0(capsys, release):
    """--device-memory-utilization is another name of --gpu-memory-utilization from 0.31.0 (vllm/engine/arg_utils.py
    add_cli_args 0.31.0 :1326-1330); earlier releases do not parse it, so a command spelling it is refused there."""
    cmd = "vllm serve meta-llama/Llama-3.1-8B --device-memory-utilization 0.8 --kv-cache-memory-bytes 20000000000"
    code, out, err = cli(capsys, "capacity", "--gpu", "h100", "--engine", f"vllm=={release}", "--from-vllm", cmd)
    assert code == 2 and out == ""
    assert one_line_error(err).endswith(f"vllm=={release} has no --device-memory-utilization (vLLM 0.31.0 added it "
                                        "as another name of --gpu-memory-utilization: vllm/engine/arg_utils.py "
                                        "add_cli_args 0.31.0 :1327); write --gpu-memory-utilization")
    new = _plan(capsys, "--gpu", "h100", "--engine", f"vllm=={NEW}", "--from-vllm", cmd)
    same = _plan(capsys, "--gpu", "h100", "--engine", f"vllm=={NEW}", "--from-vllm",
                 cmd.replace("--device-memory-utilization", "--gpu-memory-utilization"))
    assert new == same and new["num_blocks"] == 9_536
