"""SGLang's DP attention (kvplan's dp for a mixture-of-experts model: ``--tp tp*dp --dp dp
--enable-dp-attention``): the default mem_fraction_static read at SGLang's whole --tp with DP
attention's reserve, --max-running-requests and --chunked-prefill-size divided among the DP
ranks, --from-sglang's --enable-dp-attention, and `kvplan explain`'s cell size at the attention
TP size. Figures read from the SGLang wheels (server_args.py, managers/tp_worker.py,
model_executor/model_runner.py; lines cited in kvplan/engines/sglang.py)."""

from __future__ import annotations

from fractions import Fraction

import pytest

from kvplan.capacity import make_request, plan, resolve_gpu
from kvplan.engines import get_engine
from kvplan.engines.sglang import _reserved_0_4_9, _reserved_0_5_4, _reserved_0_5_6
from kvplan.errors import BadInputError
from kvplan.explain import explain
from kvplan.explain_log import parse_log
from kvplan.loader import load_model
from tests.helpers import cli

SGL = 'python -m sglang.launch_server --model-path deepseek-v3 '


# -- the reserve, MiB -------------------------------------------------------------------------
def test_0_4_9_to_0_5_2_reserve_4_gib_more_with_dp_attention():
    # H200 (143,771 MiB): (12 + --tp 8 / 2) GiB + 4 GiB
    assert _reserved_0_4_9(143_771, 8, 1, None, 8) == 20_480
    assert _reserved_0_4_9(143_771, 8, 1) == 16_384  # --tp 8 without DP attention


@pytest.mark.parametrize("fn,gpu_mib,tp,dp,reserved", [
    # H200, --tp 8 --dp 8: 512 + 1.5 x 8,192 + 2 x 512 + 8/8 GiB + 512 x 8 x 3 + 512 x 8 x 1.5
    (_reserved_0_5_4, 143_771, 8, 8, 33_280),
    # H200, --tp 2 --dp 2: cuda_graph_max_bs 256 (tp < 4), not over 300: no x 1.5 term
    (_reserved_0_5_4, 143_771, 2, 2, 15_104),
    # RTX 4090, --tp 8 --dp 8: cuda_graph_max_bs 80; 512 + 3,072 + 160 + 1,024 + 1,920; no floor
    (_reserved_0_5_6, 24_564, 8, 8, 6_688),
])
def test_0_5_4_on_reserve_cuda_graph_max_bs_x_dp_x_3(fn, gpu_mib, tp, dp, reserved):
    assert fn(gpu_mib, tp, 1, None, dp) == reserved


# -- the default fraction at kvplan's tp x dp -----------------------------------------------------
@pytest.mark.parametrize("release,gpu,tp,dp,frac", [
    # 0.4.6 on <= 80 GiB: its table at SGLang's --tp 8 (kvplan took tp 1: 0.88)
    ("0.4.6", "h100-sxm", 1, 8, "0.81"),
    # 0.4.9-0.5.2: (143,771 - 20,480) / 143,771 = 0.858 (kvplan took --tp 1, no reserve: 0.911)
    ("0.4.9", "h200", 1, 8, "0.858"),
    ("0.5.2", "h200", 1, 8, "0.858"),
    # 0.5.4-0.5.8: (143,771 - 33,280) / 143,771 = 0.769 (kvplan took 0.907)
    ("0.5.4", "h200", 1, 8, "0.769"),
    ("0.5.6", "h200", 1, 8, "0.769"),
    ("0.5.8", "h200", 1, 8, "0.769"),
    # H100 (81,559 MiB), --tp 8 --dp 4: 14,848 + 6,144 + 3,072 = 24,064 MiB -> 0.705
    ("0.5.4", "h100-sxm", 2, 4, "0.705"),
])
def test_the_default_fraction_is_read_at_sglang_s_whole_tp_with_the_dp_reserve(release, gpu, tp, dp, frac):
    pool = plan(make_request(load_model("deepseek-v3"), gpu, engine=f"sglang=={release}", tp=tp, dp=dp,
                             weights="fp8"))
    assert pool.settings.memory_fraction == Fraction(frac)
    assert pool.settings.dp_attention == dp


def test_the_pool_before_the_weights_follows_the_fraction_and_the_tp_group():
    """engine share = int(total x 0.769); other = int(1.53 GiB x 0.769): every GPU joins SGLang's
    --tp 8 group at start-up (the 'parallel' figure, not the one-GPU 0.51 GiB)."""
    pool = plan(make_request(load_model("deepseek-v3"), "h200", engine="sglang==0.5.4", tp=1, dp=8, weights="fp8"))
    assert pool.waterfall.engine_share_bytes == 115_442_160_353
    assert pool.waterfall.other_bytes == 1_263_332_417


def test_a_dense_model_s_dp_replicas_keep_the_fraction_of_their_own_tp():
    one = plan(make_request(load_model("llama3.1-8b"), "h200", engine="sglang==0.5.4", tp=2))
    two = plan(make_request(load_model("llama3.1-8b"), "h200", engine="sglang==0.5.4", tp=2, dp=4))
    assert two.settings.memory_fraction == one.settings.memory_fraction == Fraction("0.906")
    assert two.settings.dp_attention == 1


# -- flags SGLang divides among the DP ranks ----------------------------------------------------
def test_max_running_requests_is_divided_among_the_dp_ranks():
    ds = load_model("deepseek-v3")
    pool = plan(make_request(ds, "h200", engine="sglang==0.5.8", tp=1, dp=8, weights="fp8", max_num_seqs=100))
    assert pool.settings.max_num_seqs == 12  # 100 // 8 (0.5.8 model_runner.py line 563)
    dense = plan(make_request(load_model("llama3.1-8b"), "h200", engine="sglang==0.5.8", dp=8, max_num_seqs=100))
    assert dense.settings.max_num_seqs == 100  # replicas: each its own scheduler, no division


def test_the_default_max_running_requests_is_each_rank_s_own():
    pool = plan(make_request(load_model("deepseek-v3"), "h200", engine="sglang==0.5.4", tp=1, dp=8, weights="fp8"))
    reqs = min(max(int(pool.pages.profiled_tokens / 163_840 * 512), 2048), 4096)
    assert pool.settings.max_num_seqs == min(pool.kv_cache_tokens // 2, reqs) == 2048


def test_fewer_running_requests_than_dp_ranks_is_refused(capsys):
    code, out, err = cli(capsys, "capacity", "deepseek-v3", "--gpu", "h200", "--engine", "sglang==0.5.4", "--dp", "8",
                         "--weights", "fp8", "--max-num-seqs", "7")
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "--max-running-requests 7 // dp 8 = 0" in err and "max_running_request is zero" in err


def test_the_chunked_prefill_size_is_divided_after_the_fraction_reads_it():
    # reserve 512 + 1.5 x 16,384 + 1,024 + 1,024 + 12,288 + 6,144 = 45,568 MiB -> 0.683; each rank
    # prefills 16,384 // 8 = 2,048 tokens a step
    pool = plan(make_request(load_model("deepseek-v3"), "h200", engine="sglang==0.5.4", tp=1, dp=8, weights="fp8",
                             max_num_batched_tokens=16_384))
    assert pool.settings.memory_fraction == Fraction("0.683")
    assert pool.settings.max_num_batched_tokens == 2048


# -- --from-sglang ------------------------------------------------------------------------------------
def test_from_sglang_reads_enable_dp_attention_as_tp_over_dp(capsys):
    code, out, err = cli(capsys, "capacity", "--gpu", "h200", "--engine", "sglang==0.5.4", "--weights", "fp8",
                         "--from-sglang", SGL + "--tp 8 --dp 8 --enable-dp-attention", "--json")
    assert code == 0, err
    import json

    d = json.loads(out)
    assert (d["tp"], d["dp"], d["deployment_num_gpus"], d["mem_fraction_static"]) == (1, 8, 8, 0.769)
    assert "kvplan plans it as tp 1 x dp 8" in err


@pytest.mark.parametrize("model,flags,text", [
    # plain DP: 8 copies of --tp 8 (64 GPUs), experts over each copy's 8 (kvplan read 64 GPUs
    # with the experts over all 64)
    ("deepseek-v3", "--tp 8 --dp 8", "--dp 8 without --enable-dp-attention: SGLang runs 8 independent copies"),
    ("deepseek-v3", "--tp 8 --enable-dp-attention", "--enable-dp-attention without --dp > 1"),
    ("deepseek-v3", "--tp 8 --dp 3 --enable-dp-attention", "--tp % --dp == 0 (server_args.py), and 8 % 3 = 2"),
    ("llama3.1-8b", "--tp 2 --dp 2 --enable-dp-attention", "llama3.1-8b is dense, and kvplan models SGLang's DP "
                                                           "attention only for mixture-of-experts models"),
])
def test_from_sglang_refuses_layouts_kvplan_s_dp_cannot_say(capsys, model, flags, text):
    cmd = f"python -m sglang.launch_server --model-path {model} {flags}"
    code, out, err = cli(capsys, "capacity", "--gpu", "h200", "--engine", "sglang==0.5.4", "--from-sglang", cmd)
    assert code == 2 and out == "" and err.count("\n") == 1
    assert text in err


def test_from_sglang_dense_dp_stays_replicas(capsys):
    code, out, err = cli(capsys, "capacity", "--gpu", "h200", "--engine", "sglang==0.5.4", "--json", "--from-sglang",
                         "python -m sglang.launch_server --model-path llama3.1-8b --tp 2 --dp 2")
    assert code == 0, err
    import json

    d = json.loads(out)
    assert (d["tp"], d["dp"], d["deployment_num_gpus"]) == (2, 2, 4)


def test_dp_attention_is_sglang_s_flag():
    with pytest.raises(BadInputError, match="SGLang's --enable-dp-attention"):
        make_request(load_model("deepseek-v3"), "h200", engine="vllm", dp=8, weights="fp8", dp_attention=True)


# -- explain: the cell at the attention TP size -------------------------------------------------
# Not a real log (no public SGLang DP-attention log with its pool lines is kept yet): the lines
# SGLang prints, with figures made up for a Qwen3-30B-A3B (4 KV heads of 128, 48 layers) at
# --tp 4 --dp 4 --enable-dp-attention, to check which tp the cell is sized at.
_DP_LOG = """\
[2025-10-20 10:00:00] server_args=ServerArgs(model_path='Qwen/Qwen3-30B-A3B', dtype='auto', \
kv_cache_dtype='auto', mem_fraction_static=0.8, tp_size=4, pp_size=1, dp_size=4, enable_dp_attention=True)
[2025-10-20 10:00:05 DP0 TP0] Load weight begin. avail mem=78.00 GB
[2025-10-20 10:00:30 DP0 TP0] Load weight end. type=Qwen3MoeForCausalLM, dtype=torch.bfloat16, avail mem=62.00 GB, \
mem usage=16.00 GB.
[2025-10-20 10:00:31 DP0 TP0] KV Cache is allocated. #tokens: 476608, K size: 21.82 GB, V size: 21.82 GB
"""


def test_explain_sizes_the_cell_at_the_attention_tp_under_dp_attention():
    log = parse_log(_DP_LOG)
    assert (log.tp, log.dp_attention) == (4, 4)
    ex = explain(log, model="qwen3-30b-a3b", release="0.5.4")
    # attention over --tp 4 / --dp 4 = 1 GPU: 4 KV heads x 128 x 48 layers x K and V x 2 bytes
    assert ex.settings["cell_size_bytes"] == 4 * 128 * 48 * 2 * 2 == 98_304
    assert ex.settings["dp_attention"] == 4
    # rest = 62 - 78 x 0.2 = 46.4 GiB: int(46.4 x 2**30 // 98,304) = 506,811 (at the whole --tp 4
    # kvplan took 1 KV head a rank: 2,027,246)
    assert ex.line("KV cache tokens").kvplan == 506_811


def test_explain_s_default_fraction_reads_the_dp_reserve():
    log = parse_log(_DP_LOG.replace("mem_fraction_static=0.8, ", ""))
    ex = explain(log, model="qwen3-30b-a3b", gpu="h100", release="0.5.4")
    # H100, --tp 4: cuda_graph_max_bs 512; 512 + 12,288 + 1,024 + 512 + 512 x 4 x 4.5 = 23,552 MiB
    # -> round(58,007 / 81,559, 3) = 0.711 (kvplan took --tp 4 without the reserve: 0.824)
    assert ex.settings["mem_fraction_static"] == 0.711


def test_sglang_settings_without_dp_attention_are_unchanged():
    g = resolve_gpu("h200")
    # 512 + 12,288 + 1,024 + 1,024 = 14,848 MiB -> round(128,923 / 143,771, 3) = 0.897
    assert get_engine("sglang==0.5.4").settings(g, tp=8).memory_fraction == Fraction("0.897")


def test_from_sglang_reads_attn_dp_size_as_the_old_spelling(capsys):
    """SGLang 0.5.22+: --tp 8 --attn-dp-size 8 is --tp 8 --dp 8 --enable-dp-attention (0.5.23
    arg_groups/parallel_hook.py handle_deprecated_dp_attention rewrites the old one into it)."""
    import json

    def run(flags):
        code, out, err = cli(capsys, "capacity", "--gpu", "h200", "--engine", "sglang==0.5.23", "--weights", "fp8",
                             "--from-sglang", SGL + flags, "--json")
        assert code == 0, err
        d = json.loads(out)
        return d["tp"], d["dp"], d["deployment_num_gpus"], d["mem_fraction_static"], d["kv_cache_tokens"]

    new = run("--tp 8 --attn-dp-size 8")
    assert new[:3] == (1, 8, 8)
    assert new == run("--tp 8 --dp 8 --enable-dp-attention")
    assert run("--tp 8 --attention-data-parallel-size 8") == new


@pytest.mark.parametrize("flags,text", [
    ("--tp 8 --dp 2 --attn-dp-size 4", "--dp-size 2 with --attn-dp-size 4: replicas of a DP-attention layout"),
    ("--tp 8 --dp 8 --enable-dp-attention --attn-dp-size 8", "give one spelling"),
    ("--tp 8 --attn-dp-size 3", "8 % 3 = 2"),
    ("--tp 8 --attn-dp-size 0", "--attn-dp-size must be a positive whole number, got 0"),
])
def test_from_sglang_attn_dp_size_refusals(capsys, flags, text):
    code, out, err = cli(capsys, "capacity", "--gpu", "h200", "--engine", "sglang==0.5.23", "--weights", "fp8",
                         "--from-sglang", SGL + flags)
    assert code == 2 and out == "" and err.count("\n") == 1, err
    assert text in err
