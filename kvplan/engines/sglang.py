"""SGLang: the token pool is what mem_fraction_static leaves after the weights.

    rest_GiB   = available_after_load_GiB - available_at_start_GiB * (1 - mem_fraction_static)
    tokens     = int(rest_GiB * 2**30 // cell_size)        cell_size = K+V bytes of one token
                                                           over every layer, per rank
(python/sglang/srt/model_executor/model_runner.py: profile_max_num_token; its
``total_gpu_memory`` argument is the free memory measured after the distributed init,
``min_per_gpu_memory = self.init_torch_distributed()``). With W the weights and C the
memory in use before loading (CUDA context, NCCL), available_at_start = total - C and
available_after_load = total - C - W, so

    pool = mem_fraction_static * (total - C) - W

Pages of one token (page_size 1) unless --page-size is given, or the default attention backend
or the model sets another (SGLang.model_block_size: trtllm_mha and trtllm_mla on sm100, DeepSeek
sparse attention); the token count is rounded down to whole pages. The default
mem_fraction_static changes with the release (server_args.py; 0.5.23
arg_groups/memory_hook.py), see RULES.

Modelled releases: RELEASES. 0.5.23 (the newest on PyPI when it was added) was read file by file
against 0.5.8, and 0.5.22 against 0.5.23 (the files every rule cites, diffed: h27-sgl's
FINDINGS); 0.5.9 was read against 0.5.8 the same way (h31-sgl59's FINDINGS), 0.5.10 against
0.5.9 (h31-sgl510's), 0.5.11 against 0.5.10 (h31-sgl511's), 0.5.12 against 0.5.11
(h31-sgl512's), 0.5.13 against 0.5.12 (h32-sgl513's; 0.5.13.post1 differs from 0.5.13 only in
speculative/eagle_worker_v2.py and standalone_worker_v2.py, speculative decoding kvplan refuses under
SGLang), 0.5.14 against 0.5.13 and 0.5.15 against 0.5.14 (h32-sgl514's; 0.5.15.post1 differs from
0.5.15 in DSA / PD / speculative-decoding compute paths no rule reads), 0.5.16 against 0.5.15.post1
and 0.5.17 against 0.5.16 (h32-sgl516's), 0.5.18 against 0.5.17 and 0.5.19 against 0.5.18
(h32-sgl518's), 0.5.20 against 0.5.19 and 0.5.22, and 0.5.21 against 0.5.20 and 0.5.22
(h33-sgl520b's). No release between 0.5.19 and 0.5.23 is left unread.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from fractions import Fraction

from kvplan.engines.base import (AllReduceFusion, Engine, EngineSettings, Release, RequestCap, Rule, RuleBook,
                                 StageBudget, fp8_expert_shard_misfit, fp8_linear_shard_misfit, fraction, gib, positive,
                                 refuse_weights_below)
from kvplan.errors import BadInputError
from kvplan.gpus import GPU
from kvplan.layers import WINDOWED_KINDS
from kvplan.units import allocated_bytes

RELEASES = ("0.4.6", "0.4.9", "0.4.10", "0.5.1", "0.5.2", "0.5.4", "0.5.6", "0.5.8", "0.5.9", "0.5.10", "0.5.11",
            "0.5.12", "0.5.13", "0.5.13.post1", "0.5.14", "0.5.15", "0.5.15.post1", "0.5.16", "0.5.17", "0.5.18",
            "0.5.19", "0.5.20", "0.5.21", "0.5.22", "0.5.23")
_ARGS = "python/sglang/srt/server_args.py"
#: 0.5.23 splits server_args.py into arg_groups/ (one module per concern; server_args.py keeps
#: the dataclass): the files its rules cite. Paths are inside the wheel (sglang/srt/...).
_MEM23 = "sglang/srt/arg_groups/memory_hook.py"
_OVR23 = "sglang/srt/arg_groups/overrides.py"
_MOD23 = "sglang/srt/arg_groups/model_overrides/"

#: GPU memory as ``nvidia-smi --query-gpu=memory.total`` reports it (MiB), which SGLang's
#: get_device_memory_capacity reads to pick defaults. Sources: nvidia-smi tables in public
#: logs ("0MiB / 81559MiB" for H100 80GB HBM3, vllm-project/vllm#55169; "393MiB / 24564MiB"
#: for an RTX 4090, vllm-project/vllm#7553; "124585MiB / 143771MiB" for an H200,
#: sgl-project/sglang#3196; "166593MiB / 183359MiB" for a B200, NVIDIA/TensorRT-LLM#10278) and
#: NVIDIA's A100 80GB/40GB figures (81920 / 40960).
NVIDIA_SMI_MIB = {"h100-sxm": 81559, "rtx4090": 24564, "a100-80gb": 81920, "a100-40gb": 40960, "h200": 143771,
                  "b200": 183359}


def _reserved_0_4_9(gpu_mib: int, tp: int, pp: int, chunked_prefill_size: int | None = None,
                    dp_attention: int = 1) -> Fraction:
    """MiB reserved for activations and CUDA graphs, 0.4.9-0.5.2 (server_args.__post_init__;
    by GPU tier only: --chunked-prefill-size does not enter it), 4 GiB more with DP attention
    (``if self.enable_dp_attention: reserved_mem += 4 * 1024``: server_args.py 0.4.9 line 317,
    0.4.10 line 323, 0.5.1 line 391, 0.5.2 line 494). ``tp``: SGLang's --tp, every GPU of a
    DP-attention group."""
    par = Fraction(tp * pp)
    if gpu_mib < 35 * 1024:
        reserved = (Fraction(28, 10) + par / 10) * 1024
    elif gpu_mib < 90 * 1024:
        reserved = (Fraction(95, 10) + par / 2) * 1024
    elif gpu_mib < 160 * 1024:
        reserved = (12 + par / 2) * 1024
    else:
        reserved = Fraction(32 * 1024)
    return reserved + (4 * 1024 if dp_attention > 1 else 0)


def _reserved_0_5_4(gpu_mib: int, tp: int, pp: int, chunked_prefill_size: int | None = None,
                    dp_attention: int = 1, small_gpu_graphs: int = 16, floor: bool = True) -> Fraction:
    """MiB reserved, 0.5.4 (server_args._handle_gpu_memory_settings): 512 + 1.5 x
    max(chunked_prefill_size, 2048) + 2 x cuda_graph_max_bs + tp x pp / 8 GiB, at least
    10 GiB on GPUs over 60 GiB. chunked_prefill_size is the user's when given (the tier's
    default only when it is None, lines 670-744; DP attention divides it by dp only later,
    _handle_data_parallelism line 1173). ``small_gpu_graphs``: cuda_graph_max_bs on 20-35 GiB
    GPUs at tp < 4 (16 in 0.5.4, server_args.py line 694). ``tp``: SGLang's --tp (every GPU of
    a DP-attention group: cuda_graph_max_bs reads it too). DP attention over ``dp_attention``
    ranks adds cuda_graph_max_bs x dp x 3 MiB, and x 1.5 more where cuda_graph_max_bs > 300,
    before the 10 GiB floor (lines 776-787; 0.5.6 lines 834-845, 0.5.8 lines 1001-1017).
    H200 (143,771 MiB), --tp 8 --dp 8: 512 + 12,288 + 1,024 + 1,024 + 12,288 + 6,144 = 33,280
    MiB, default round(110,491 / 143,771, 3) = 0.769."""
    if gpu_mib < 20 * 1024:
        graphs = 8
    elif gpu_mib < 35 * 1024:
        graphs = small_gpu_graphs if tp < 4 else 80
    elif gpu_mib < 60 * 1024:
        graphs = 32 if tp < 4 else 160
    elif gpu_mib < 160 * 1024:
        graphs = 256 if tp < 4 else 512
    else:
        graphs = 512
    chunk = _tier_chunk(gpu_mib) if chunked_prefill_size is None else chunked_prefill_size
    reserved = 512 + Fraction(3, 2) * max(chunk, 2048) + 2 * graphs + Fraction(tp * pp, 8) * 1024
    if dp_attention > 1:
        reserved += graphs * dp_attention * 3 + (graphs * dp_attention * Fraction(3, 2) if graphs > 300 else 0)
    if floor and gpu_mib > 60 * 1024:
        reserved = max(reserved, Fraction(10 * 1024))
    return reserved


def _reserved_0_5_6(gpu_mib: int, tp: int, pp: int, chunked_prefill_size: int | None = None,
                    dp_attention: int = 1) -> Fraction:
    """MiB reserved, 0.5.6-0.5.8: 0.5.4's rule with cuda_graph_max_bs 24 (not 16) on 20-35 GiB
    GPUs at tp < 4 (server_args.py: 0.5.6 line 753, 0.5.8 line 921). RTX 4090 (24,564 MiB),
    tp 1: 512 + 3072 + 48 + 128 = 3,760 MiB, default 0.847 (0.5.4: 3,744 MiB, 0.848)."""
    return _reserved_0_5_4(gpu_mib, tp, pp, chunked_prefill_size, dp_attention, small_gpu_graphs=24)


def _reserved_0_5_10(gpu_mib: int, tp: int, pp: int, chunked_prefill_size: int | None = None,
                     dp_attention: int = 1, graphs: "GraphModel | None" = None) -> Fraction:
    """MiB reserved, 0.5.10 (server_args.py _handle_gpu_memory_settings lines 1141-1342): 0.5.6's
    tiers and sum (chunked_prefill_size 2,048 and cuda_graph_max_bs 24 / 80 on 20-35 GiB GPUs, no
    --max-running-requests cap), plus the piecewise CUDA graphs, on by default from 0.5.10
    (``disable_piecewise_cuda_graph: bool = False`` line 637): 8 MiB per captured token count up to
    chunked_prefill_size (4,096 at most for a "llama-2" model path, lines 1254-1274; the token
    counts of _generate_piecewise_cuda_graph_tokens lines 1397-1415 are prefill_graph_sizes'), 1.5
    GiB for an MLA model (lines 1304-1311), before the 10 GiB floor. _handle_piecewise_cuda_graph
    (lines 1078-1139, run before, line 778) turns them off for DP attention, pp > 1, a multimodal
    model and the architectures of configs/model_config.py piecewise_cuda_graph_disabled_model_archs
    (``graphs.prefill_graphs`` False, GraphModel.of). H100 (81,559 MiB), Llama-3.1-8B, tp 1: 13,440 +
    58 x 8 = 13,904 MiB, default round(67,655 / 81,559, 3) = 0.830 (0.5.9: 0.835). 0.5.15's prefill
    graphs (breakable on CUDA) stay on with pipeline stages (``graphs.with_pipeline``, to 0.5.18), 0.5.17-0.5.19's under
    DP attention too (``graphs.with_dp_attention``: sized for the chunk before SGLang divides it by
    dp, server_args.py _handle_data_parallelism running after _handle_gpu_memory_settings)."""
    graphs = graphs or GraphModel()
    # 0.5.6's sum without its 10 GiB floor, which comes after the graph term
    reserved = _reserved_0_5_4(gpu_mib, tp, pp, chunked_prefill_size, dp_attention, small_gpu_graphs=24, floor=False)
    if graphs.prefill_graphs and (pp == 1 or graphs.with_pipeline) and (dp_attention == 1 or graphs.with_dp_attention):
        reserved += _prefill_graphs_mib(graphs, _tier_chunk(gpu_mib) if chunked_prefill_size is None
                                        else chunked_prefill_size)
    if gpu_mib > 60 * 1024:
        reserved = max(reserved, Fraction(10 * 1024))
    return reserved


def _tier_chunk(gpu_mib: int) -> int:
    """0.5.4-0.5.15.post1's default chunked_prefill_size by GPU memory (_handle_gpu_memory_settings)."""
    return 2048 if gpu_mib < 35 * 1024 else 4096 if gpu_mib < 60 * 1024 else 8192 if gpu_mib < 160 * 1024 else 16384


def _prefill_graphs_mib(graphs: "GraphModel", chunk: int) -> Fraction:
    """MiB the prefill CUDA graphs reserve where they are on (0.5.10's piecewise, 0.5.22+'s
    breakable ones): 1.5 GiB for an MLA model, else 8 MiB per captured token count up to the
    chunk (4,096 at most for a "llama-2" model path), or up to an architecture's own cap
    (``prefill_max_bs``: 0.5.22+'s MuseGlimmer; 0.5.10-0.5.15.post1 set none), and from 0.5.13 at most
    the --context-length given (``context_length``: server_args.py _handle_gpu_memory_settings
    lines 1579-1586, "Clamp to context_length if explicitly set"). Llama-3.1-8B on an H100 at
    --context-length 4096: 50 sizes x 8 MiB, not 58."""
    if graphs.mla:
        return Fraction(3, 2) * 1024
    cap = graphs.prefill_max_bs if graphs.prefill_max_bs is not None else (
        min(chunk, 4096) if graphs.llama2 else chunk)
    if graphs.context_length is not None:
        cap = min(cap, graphs.context_length)
    return Fraction(8 * prefill_graph_sizes(cap))


def prefill_graph_sizes(max_bs: int) -> int:
    """How many token counts 0.5.23 captures a prefill CUDA graph for up to ``max_bs``
    (arg_groups/cuda_graph_hook.py generate_prefill_cuda_graph_batch_sizes, lines 480-497: 4-32
    by 4, 48-256 by 16, 288-512 by 32, 576-1024 by 64, 1280-4096 by 256, then by 512). 8,192:
    8 + 14 + 8 + 8 + 12 + 8 = 58; 16,384: 74; 4,096: 50."""
    sizes = [*range(4, 33, 4), *range(48, 257, 16), *range(288, 513, 32), *range(576, 1025, 64),
             *range(1280, 4097, 256), *range(4608, max_bs + 1, 512)]
    return sum(1 for n in sizes if n <= max_bs)


@dataclass(frozen=True)
class GraphModel:
    """What 0.5.22's and 0.5.23's reservation reads from the model and the launch (rule
    mem_fraction_static_default "reserved_0_5_23"): ``mla`` (use_mla_backend: the model's
    attention is MLA), ``llama2`` ('"llama-2" in model_path.lower()', memory_hook.py 0.5.23 line
    260, 0.5.22 line 262: prefill graphs up to 4,096 tokens; kvplan reads the model's source and
    name for it), ``max_running_requests`` (--max-running-requests as given, before the DP division:
    it caps the decode graphs' max_bs, lines 183-188), ``prefill_graphs`` (False where SGLang turns
    the breakable prefill graphs off for a multimodal model: rule prefill_graphs),
    ``prefill_max_bs`` (the prefill graphs' token cap an architecture sets: MuseGlimmer's 512) and
    ``context_length`` (--context-length as given, where the release caps the piecewise graphs by
    it: 0.5.13-0.5.16, rule prefill_graphs "context_clamp"; None: not given or not read),
    ``with_pipeline`` (the prefill graphs stay on with pipeline stages: 0.5.15-0.5.18's breakable ones,
    rule prefill_graphs "pp_kept"; 0.5.10-0.5.14 and 0.5.19+ turn them off at pp > 1) and
    ``with_dp_attention`` (they stay on under DP attention: 0.5.17-0.5.19's breakable ones, rule
    prefill_graphs "dp_kept"; 0.5.10-0.5.16 turn them off; 0.5.22+'s sum, _reserved_0_5_23, keeps them
    without reading this)."""

    mla: bool = False
    llama2: bool = False
    max_running_requests: int | None = None
    prefill_graphs: bool = True
    prefill_max_bs: int | None = None
    context_length: int | None = None
    with_pipeline: bool = False
    with_dp_attention: bool = False

    @classmethod
    def of(cls, spec, max_running_requests: int | None = None, prefill=None, vlm=None,
           context_length: int | None = None) -> "GraphModel":
        """``prefill``: rule prefill_graphs' value, ``vlm``: rule vlm_fraction's (whether SGLang
        serves ``spec`` as multimodal), both of the release; ``context_length``: --context-length
        as given (kvplan's --max-model-len), kept where ``prefill`` says the release clamps to it."""
        where = " ".join(str(getattr(spec, f, "") or "") for f in ("source", "name", "checkpoint", "origin"))
        arch = getattr(spec, "architecture", "") or ""
        kept, max_bs, piecewise = True, None, False
        if prefill is not None:
            multimodal = vlm is not None and vlm.serves(spec)
            # 0.5.16: a multimodal architecture SGLang has validated under tc_piecewise switches the breakable
            # default to it (server_args.py _apply_cuda_graph_compatibility), whose tests have no MLA rule but
            # turn the graphs off at pp > 1 and under DP attention, as 0.5.10-0.5.14's
            piecewise = multimodal and arch in prefill.get("mm_tc", ())
            kept = not multimodal or arch in prefill["mm_kept"] or piecewise
            max_bs = prefill["max_bs"].get(arch)
            if arch in prefill.get("off_archs", ()) or (prefill.get("dsa_off") and _sparse(spec)):
                kept = False  # 0.5.10: is_piecewise_cuda_graph_disabled_model
            if prefill.get("mla_off") and spec.has_mla and not piecewise and not (
                    prefill.get("dsa_kept") and _sparse(spec)):
                kept = False  # 0.5.15: the breakable graphs are off for MLA (use_mla_backend); 0.5.17 not for DSA
        clamp = context_length if prefill is not None and prefill.get("context_clamp") else None
        pipeline = bool(prefill is not None and prefill.get("pp_kept")) and not piecewise
        dp = bool(prefill is not None and prefill.get("dp_kept")) and not piecewise
        return cls(bool(spec.has_mla), "llama-2" in where.lower(), max_running_requests, kept, max_bs, clamp, pipeline,
                   dp)


def _reserved_0_5_20(gpu_mib: int, tp: int, pp: int, chunked_prefill_size: int | None = None,
                     dp_attention: int = 1, graphs: GraphModel | None = None) -> Fraction:
    """MiB reserved, 0.5.20 (arg_groups/memory_hook.py handle_gpu_memory_settings lines 47-347,
    reserve_for_graph_mb lines 350-392): 0.5.22's tiers and sum (chunked_prefill_size 4,096 and
    decode max_bs 48 / 160 on 20-35 GiB GPUs, lines 100-116) without 0.5.22's cap of the decode
    graphs' max_bs at a given --max-running-requests, and the prefill graphs where rule
    prefill_graphs keeps them (0.5.19's rules: off at pp > 1, kept under DP attention but for the
    tc_piecewise switch, ``graphs.with_dp_attention``). On GPUs above 35 GiB with no
    --max-running-requests, 0.5.19's and 0.5.22's figures: Llama-3.1-8B H100 13,904 MiB, 0.830."""
    graphs = graphs or GraphModel()
    kept = graphs.prefill_graphs and (pp == 1 or graphs.with_pipeline) and (
        dp_attention == 1 or graphs.with_dp_attention)
    return _reserved_0_5_23(gpu_mib, tp, pp, chunked_prefill_size, dp_attention,
                            dataclasses.replace(graphs, max_running_requests=None, prefill_graphs=kept))


def _reserved_0_5_23(gpu_mib: int, tp: int, pp: int, chunked_prefill_size: int | None = None,
                     dp_attention: int = 1, graphs: GraphModel | None = None) -> Fraction:
    """MiB reserved, 0.5.23 (arg_groups/memory_hook.py handle_gpu_memory_settings and
    reserve_for_graph_mb, lines 89-399). As 0.5.6-0.5.8 (512 + 1.5 x max(chunked_prefill_size,
    2048) + tp x pp / 8 GiB + 2 x the decode graphs' max_bs, DP attention's 3 (+1.5 over 300) x
    max_bs x dp, at least 10 GiB above 60 GiB), but: 20-35 GiB GPUs take chunked_prefill_size
    4,096 (was 2,048) and max_bs 48 / 160 at tp < 4 / >= 4 (was 24 / 80; lines 101-117); a
    --max-running-requests below the tier's max_bs lowers it (lines 180-186); and the prefill
    CUDA graphs, on by default on CUDA (model_executor/cuda_graph_config.py
    default_prefill_backend: breakable; off by default with pipeline stages, cuda_graph_hook.py
    lines 147-161; off for a multimodal model not on SGLang's list, up to 512 tokens for
    MuseGlimmer: rule prefill_graphs), reserve 8 MiB per captured token count (up to
    chunked_prefill_size) or, for an MLA model, 1.5 GiB (lines 380-389), before the 10 GiB floor.
    0.5.22 the same (memory_hook.py lines 47-401).
    H100 (81,559 MiB), Llama-3.1-8B, tp 1: 512 + 12,288 + 128 + 512 + 58 x 8 = 13,904 MiB,
    default round(67,655 / 81,559, 3) = 0.830 (0.5.8: 13,440 MiB, 0.835). DeepSeek-V3 on an H200
    (143,771 MiB) at --tp 8: 512 + 12,288 + 1,024 + 1,024 + 1,536 = 16,384 MiB, 0.886."""
    graphs = graphs or GraphModel()
    if gpu_mib < 20 * 1024:
        chunk, max_bs = 2048, 8
    elif gpu_mib < 35 * 1024:
        chunk, max_bs = 4096, 48 if tp < 4 else 160
    elif gpu_mib < 60 * 1024:
        chunk, max_bs = 4096, 32 if tp < 4 else 160
    elif gpu_mib < 160 * 1024:
        chunk, max_bs = 8192, 256 if tp < 4 else 512
    else:
        chunk, max_bs = 16384, 512
    chunk = chunk if chunked_prefill_size is None else chunked_prefill_size
    if graphs.max_running_requests is not None:
        max_bs = min(max_bs, graphs.max_running_requests)
    reserved = 512 + Fraction(3, 2) * max(chunk, 2048) + Fraction(tp * pp, 8) * 1024 + 2 * max_bs
    if dp_attention > 1:
        reserved += max_bs * dp_attention * 3 + (max_bs * dp_attention * Fraction(3, 2) if max_bs > 300 else 0)
    if pp == 1 and graphs.prefill_graphs:  # the breakable prefill graphs
        reserved += _prefill_graphs_mib(graphs, chunk)
    if gpu_mib > 60 * 1024:
        reserved = max(reserved, Fraction(10 * 1024))
    return reserved


#: mem_fraction_static_default rule -> MiB SGLang reserves for activations and CUDA graphs
#: ("reserved_0_5_23" reads the model too: default_fraction calls _reserved_0_5_23 with it).
_RESERVED = {"reserved_0_4_9": _reserved_0_4_9, "reserved_0_5_4": _reserved_0_5_4, "reserved_0_5_6": _reserved_0_5_6}


def _round3(x: Fraction) -> Fraction:
    """Python's round(x, 3) on the float SGLang computes."""
    return Fraction(str(round(float(x), 3)))


def default_fraction(rule: str, gpu_mib: int, tp: int, pp: int, chunked_prefill_size: int | None = None,
                     dp_attention: int = 1, graphs: GraphModel | None = None) -> Fraction:
    """SGLang's default mem_fraction_static. ``tp`` is SGLang's --tp: under DP attention
    (``dp_attention`` > 1 ranks, --enable-dp-attention) every GPU of the group, kvplan's tp x
    dp. 0.4.6 (``tp_table``) reserves nothing for DP attention. ``graphs``: what 0.5.23 reads
    from the model (``reserved_0_5_23``; the other rules do not read it)."""
    if rule == "tp_table":
        if gpu_mib > 81920:
            return Fraction(gpu_mib - 13 * 1024, gpu_mib)
        for at_least, frac in ((16, "0.79"), (8, "0.81"), (4, "0.85"), (2, "0.87"), (1, "0.88")):
            if tp >= at_least:
                return Fraction(frac)
    if rule == "reserved_0_5_23":
        reserved = _reserved_0_5_23(gpu_mib, tp, pp, chunked_prefill_size, dp_attention, graphs)
    elif rule == "reserved_0_5_20":
        reserved = _reserved_0_5_20(gpu_mib, tp, pp, chunked_prefill_size, dp_attention, graphs)
    elif rule in ("reserved_0_5_10", "reserved_0_5_13"):  # 0.5.13: GraphModel.context_length
        reserved = _reserved_0_5_10(gpu_mib, tp, pp, chunked_prefill_size, dp_attention, graphs)
    else:
        reserved = _RESERVED[rule](gpu_mib, tp, pp, chunked_prefill_size, dp_attention)
    return _round3((gpu_mib - reserved) / gpu_mib)


@dataclass(frozen=True)
class Fusion:
    """What ``--enable-flashinfer-allreduce-fusion`` (FlashInfer's one-kernel all-reduce +
    residual add + RMSNorm) does in one release, read from its wheel.

    Two all-reduces a layer can fuse: the attention output's, with the post-attention norm
    (layers/communicator.py ``_gather_hidden_states_and_residual``: up to ``attn_max_tokens``
    tokens, on compute capability majors ``majors``), and the MLP / MoE output's, with the
    next layer's input norm (the model sets ``_sglang_needs_allreduce_fusion``: up to
    ``mlp_max_tokens`` tokens, never on the model's last layer; 0: no such path). Both need
    tp > 1. ``archs``: the architectures whose SGLang model kvplan has read going through
    these paths (asking for the flag with another is refused). ``defaults``: architecture ->
    capability majors on which server_args.py turns the flag on by itself (without DP
    attention; ``single_node``: only when nnodes == 1; never on ``not_gpus``).
    ``dp_attention_unfused``: with DP attention neither path runs (else kvplan does not
    know: asking is refused). From 0.5.23: ``multi_node_majors``, the capability majors on which
    the default holds across nodes too; ``flag`` (--flashinfer-allreduce-fusion-backend) and
    ``can_disable`` (--enforce-disable-flashinfer-allreduce-fusion); ``paths_read`` False: kvplan
    has not read which all-reduces the release fuses (``attn_max_tokens`` / ``mlp_max_tokens`` /
    ``archs`` then mean nothing), so a deployment where it is on at tp > 1 without DP attention is
    refused."""

    attn_max_tokens: int
    mlp_max_tokens: int
    majors: tuple[int, ...]
    archs: tuple[str, ...]
    defaults: tuple[tuple[str, tuple[int, ...]], ...] = ()
    single_node: bool = False
    not_gpus: tuple[str, ...] = ()
    dp_attention_unfused: bool = False
    multi_node_majors: tuple[int, ...] = ()
    flag: str = "--enable-flashinfer-allreduce-fusion"
    can_disable: bool = False
    paths_read: bool = True
    source_paths: str = ""


_COMM = "python/sglang/srt/layers/communicator.py"
_DSV = ("DeepseekV2ForCausalLM", "DeepseekV3ForCausalLM")  # models/deepseek_v2.py EntryClass
_SM100, _SM90_100 = (10,), (9, 10)  # is_sm100_supported: major == 10; is_sm90_supported: major == 9

_FA3_0_4_9 = ("Qwen2ForCausalLM", "Llama4ForConditionalGeneration", "LlamaForCausalLM", "Gemma2ForCausalLM",
              "Gemma3ForConditionalGeneration", "Qwen3ForCausalLM", "Qwen3MoeForCausalLM")
_FA3_0_5_1 = _FA3_0_4_9 + ("Glm4MoeForCausalLM", "Glm4vMoeForConditionalGeneration", "Step3VLForConditionalGeneration")
_FA3_FP8_MR = {"fp8_e4m3": ("starts", "fa3"),
               "fp8_e5m2": ("starts", "triton, model_executor/model_runner.py model_specific_adjustment: fa3 with "
                                      "fp8_e5m2 -> triton")}
_FA3_FP8_SA = {"fp8_e4m3": ("starts", "fa3"),
               "fp8_e5m2": ("starts", "triton, " + _ARGS + ": fa3 with fp8_e5m2 -> triton")}
_TRTLLM_MHA_FP8 = {"fp8_e4m3": ("starts", "trtllm_mha"),
                   "fp8_e5m2": ("unmodelled", "layers/attention/trtllm_mha_backend.py handles only a float8_e4m3fn "
                                "cache; whether FlashInfer's TensorRT-LLM kernels take fp8_e5m2 is not read")}


def _trtllm_mla_fp8(listed: str, line: int, path: str = _ARGS) -> dict:
    """trtllm_mla's fp8 verdicts: fp8_e4m3 starts; fp8_e5m2 is refused at start-up, ``path``
    ``line``: ValueError 'TensorRT-LLM MLA backend only supports kv-cache-dtype of {listed}.'"""
    return {"fp8_e4m3": ("starts", "trtllm_mla"),
            "fp8_e5m2": ("fails", f"{path} line {line} raises 'TensorRT-LLM MLA backend only supports kv-cache-dtype "
                                  f"of {listed}.'")}


#: fa4 (0.5.23's default for MHA models whose K and V rows differ in width on sm100, and
#: MiMo-V2's): kvplan has not read which fp8 caches its kernels take.
_FA4_FP8 = {f: ("unmodelled", "layers/attention/ fa4 backend: its fp8 cache support is not read")
            for f in ("fp8_e4m3", "fp8_e5m2")}

#: overrides.py _FLASHINFER_ALLREDUCE_FUSION_ARCHS (0.5.22 lines 905-927, 0.5.23 lines 929-951, the
#: same 19): the architectures --flashinfer-allreduce-fusion-backend defaults to "auto" for.
_FUSION_ARCHS_0_5_22 = (
    "DeepseekV3ForCausalLM", "DeepseekV32ForCausalLM", "DeepseekV4ForCausalLM", "GptOssForCausalLM",
    "GlmMoeDsaForCausalLM", "Glm4MoeForCausalLM", "Glm4MoeLiteForCausalLM", "MistralLarge3ForCausalLM",
    "Qwen3MoeForCausalLM", "Qwen3VLMoeForConditionalGeneration", "Qwen3NextForCausalLM",
    "Qwen4ExpForConditionalGeneration", "KimiK25ForConditionalGeneration", "Qwen3_5MoeForConditionalGeneration",
    "InternS2PreviewForConditionalGeneration", "Qwen3_5ForConditionalGeneration", "NemotronHForCausalLM",
    "NemotronHPuzzleForCausalLM", "NemotronH_Omni_Reasoning_V3")


@dataclass(frozen=True)
class DSA:
    """What server_args.py sets for DeepSeek sparse attention (is_deepseek_nsa: DeepSeek-V3.2) in
    one release: the page on NVIDIA (``page_nvidia``) and AMD (``page_amd``) GPUs, whatever
    --page-size says; ``dp_attention_tp``: DP attention with dp_size = tp_size (every GPU its own
    token pool); ``fp8_on_sm100``: the cache is fp8_e4m3 on compute capability 10.x "always" or
    only for --kv-cache-dtype "auto"; ``formats``: the --kv-cache-dtype values it asserts (None:
    no assertion). From 0.5.23: ``page_amd`` None where the ROCm page depends on what kvplan
    cannot know (the Triton version and environment), and ``fp8_scaled_below``: on a compute
    capability major below it an fp8_e4m3 latent is stored with per-block scales and a bf16 rope
    (656 B for 512 + 64), which kvplan's fp8_e4m3 does not plan (0: never)."""

    page_nvidia: int
    page_amd: int | None
    dp_attention_tp: bool
    fp8_on_sm100: str
    formats: tuple[str, ...] | None
    fp8_scaled_below: int = 0

_WINDOWED = WINDOWED_KINDS  # layer kinds that keep a window of tokens
_SW_0_4_6 = ("Gemma2ForCausalLM", "Gemma3ForCausalLM", "Gemma3ForConditionalGeneration",
             "Llama4ForCausalLM", "Llama4ForConditionalGeneration")
_SW_0_4_9 = _SW_0_4_6 + ("Gemma3nForCausalLM", "Gemma3nForConditionalGeneration")
_SW_0_5_23 = _SW_0_4_9 + (
    "GptOssForCausalLM", "Olmo2ForCausalLM", "JetNemotronForCausalLM", "AfmoeForCausalLM", "Cohere2ForCausalLM",
    "IQuestLoopCoderForCausalLM", "MiMoV2FlashForCausalLM", "MiMoV2ForCausalLM", "MiMoV2MTP", "BeamForCausalLM",
    "Cohere2MoeForCausalLM", "EmbeddingGemma2Model", "Exaone4ForCausalLM", "ExaoneMoEForCausalLM",
    "ExaoneMoeForCausalLM", "Gemma4ForCausalLM", "Gemma4ForConditionalGeneration", "DiffusionGemmaForBlockDiffusion",
    "GraniteSWAForCausalLM", "GraniteMoeSWAForCausalLM", "InklingForConditionalGeneration", "IQuestQ1ForCausalLM",
    "LagunaForCausalLM", "MellumForCausalLM", "MuseGlimmerForCausalLM", "MuseGlimmerForConditionalGeneration",
    "NemotronHForCausalLM", "NemotronHPuzzleForCausalLM", "Step3p5ForCausalLM", "Spark2_5ForCausalLM",
    # h33-swa22: the six 0.5.21's row has and this list had lost, each still windowed in 0.5.22 and 0.5.23:
    # cohere2_vision.py line 145 (Cohere2MoeForCausalLM inside), step3p7.py line 70 (Step3p5ForCausalLM inside),
    # gemma4_unified.py line 186 (gemma4_causal.py Gemma4TextModel inside), dflash.py DFlashDraftModel (0.5.22 lines
    # 182-184 / 309 / 760-761, 0.5.23 184-186 / 330 / 819-820), unlimited_ocr.py get_attention_sliding_window_size
    # lines 96-98, inkling.py InklingForConditionalGenerationMTP (InklingMTPLayer's InklingDecoderLayer, local_extent
    # on its banded depths: 0.5.22 lines 1741-1754, inkling_common/attn.py line 408; 0.5.23 also
    # get_attention_sliding_window_size lines 1848-1856)
    "Cohere2VisionForConditionalGeneration", "Step3p7ForConditionalGeneration",
    "Gemma4UnifiedForConditionalGeneration", "DFlashDraftModel", "UnlimitedOCRForCausalLM",
    "InklingForConditionalGenerationMTP")
#: configs/model_config.py is_hybrid_swa_model, 0.5.23 (lines 2651-2697, with SWA_SINK_ARCHS lines
#: 88-96 and MIMO_V2_MODEL_ARCHS lines 74-77): the architectures that get a second pool for their
#: window layers (rule swa_pool_archs), all 28 (h33-swa22 restored the seven this list had lost: DeepSeek-V4's
#: three, Step3p5MTP, Step3p7, Gemma4Unified, InklingMTP; 0.5.22 lines 2536-2577 the same less BeamForCausalLM).
_SWA_POOL_0_5_23 = (
    "BeamForCausalLM", "Llama4ForConditionalGeneration", "GptOssForCausalLM", "GraniteSWAForCausalLM",
    "GraniteMoeSWAForCausalLM", "IQuestQ1ForCausalLM", "IQuestQ1MTP", "MiMoV2ForCausalLM", "MiMoV2FlashForCausalLM",
    "MiMoV2MTP", "Step3p5ForCausalLM", "Gemma4ForCausalLM", "Gemma4ForConditionalGeneration", "EmbeddingGemma2Model",
    "DiffusionGemmaForBlockDiffusion", "LagunaForCausalLM", "MellumForCausalLM", "MuseGlimmerForCausalLM",
    "MuseGlimmerForConditionalGeneration", "InklingForConditionalGeneration", "UnlimitedOCRForCausalLM",
    "DeepseekV4ForCausalLM", "DeepseekV4ForCausalLMNextN", "DeepseekV4ForCausalLMDSpark", "Step3p5MTP",
    "Step3p7ForConditionalGeneration", "Gemma4UnifiedForConditionalGeneration", "InklingForConditionalGenerationMTP")
#: 0.5.16 and 0.5.17's modules that pass a sliding window (rule sliding_window_archs; h32-sgl516), and their
#: is_hybrid_swa_model architectures (rule swa_pool_archs: configs/model_config.py 0.5.16 lines 1903-1941).
_SW_0_5_16 = _SW_0_4_9 + (
    "GptOssForCausalLM", "Olmo2ForCausalLM", "JetNemotronForCausalLM", "AfmoeForCausalLM", "Cohere2ForCausalLM",
    "IQuestLoopCoderForCausalLM", "MiMoV2FlashForCausalLM", "MiMoV2ForCausalLM", "MiMoV2MTP", "Exaone4ForCausalLM",
    "ExaoneMoEForCausalLM", "Step3p5ForCausalLM", "Gemma4ForCausalLM", "Gemma4ForConditionalGeneration",
    "LagunaForCausalLM", "Cohere2MoeForCausalLM", "Cohere2VisionForConditionalGeneration", "NemotronHForCausalLM",
    "NemotronHPuzzleForCausalLM", "Step3p7ForConditionalGeneration", "Gemma4UnifiedForConditionalGeneration",
    "DFlashDraftModel", "UnlimitedOCRForCausalLM", "InklingForConditionalGeneration",
    "InklingForConditionalGenerationMTP", "MellumForCausalLM")
_SWA_POOL_0_5_16 = (
    "Llama4ForConditionalGeneration", "GptOssForCausalLM", "MiMoV2FlashForCausalLM", "MiMoV2ForCausalLM",
    "Step3p5ForCausalLM", "Gemma4ForCausalLM", "Gemma4ForConditionalGeneration", "DeepseekV4ForCausalLM",
    "DeepseekV4ForCausalLMNextN", "LagunaForCausalLM", "Step3p7ForConditionalGeneration",
    "Gemma4UnifiedForConditionalGeneration", "UnlimitedOCRForCausalLM", "DeepseekV4ForCausalLMDSpark",
    "MellumForCausalLM", "InklingForConditionalGeneration", "InklingForConditionalGenerationMTP")
#: 0.5.18's MuseGlimmer (models/muse_glimmer.py: a sliding window on its sliding layers; configs/model_config.py
#: is_hybrid_swa_model lines 2050-2090)
_MUSE_GLIMMER = ("MuseGlimmerForCausalLM", "MuseGlimmerForConditionalGeneration")
#: the draft names configs/model_config.py gives MiMo-V2's and Step-3.5's MTP heads (0.5.18 lines 671 / 674 / 685),
#: in is_hybrid_swa_model from 0.5.16 at least (0.5.16 lines 1903-1941, 0.5.17 1988-2026, 0.5.18 2050-2090,
#: 0.5.19 2115-2155, 0.5.20 2340-2379, 0.5.21 2454-2494): h33-swa22 added them to 0.5.16-0.5.21's swa_pool_archs
#: rows (0.5.22 / 0.5.23: _SWA_POOL_0_5_23). h34-sglaud: MiMoV2MTP is there from 0.5.8 (lines 1220-1228),
#: Step3p5MTP from 0.5.9 (0.5.9 lines 1320-1330, 0.5.10 1438-1448, 0.5.11 1546-1558, 0.5.12 1660-1675, 0.5.13 /
#: 0.5.13.post1 1679-1705, 0.5.14 1842-1875, 0.5.15 / 0.5.15.post1 1833-1867): 0.5.8-0.5.15.post1's rows have them too
_MTP_SWA = ("MiMoV2MTP", "Step3p5MTP")


def _full_windows(spec):
    """``spec`` with its sliding-window and chunked-local layers as full attention (same heads)."""
    if not spec.has_window_layers:
        return spec
    return dataclasses.replace(spec, layers=tuple(k.as_full_attention() if k.kind in _WINDOWED else k
                                                  for k in spec.layers))


def _trtllm_pages(mla_lines: str, mha_lines: str) -> dict:
    """Rule backend_page_size's value from 0.5.1: trtllm_mla keeps pages of 32 or 64, trtllm_mha
    16, 32 or 64, and both turn any other (or none) into 64; the server_args.py lines of each."""
    return {"trtllm_mla": ((32, 64), 64, mla_lines), "trtllm_mha": ((16, 32, 64), 64, mha_lines)}


def _kept_by_all(forcing: dict, backends: list) -> set:
    """Page sizes every one of ``backends`` runs as given (rule backend_page_size; a backend not
    in it keeps any page): the --block-size that plans whichever of them SGLang picks."""
    sets = [set(forcing[b][0]) for b in backends if b in forcing and forcing[b][0] is not None]
    return set.intersection(*sets) if sets else set()


def _aiter(triton_archs: tuple[str, ...]) -> dict:
    """Rule aiter_fraction's value: mem_fraction_static x 0.85 over 8192 tokens of context, on
    aiter (not for ``triton_archs``; MLA only at 16 or 128 KV heads a rank)."""
    return {"factor": Fraction(85, 100), "over": 8192, "triton": triton_archs, "mla_heads": (16, 128)}


def _sparse(spec) -> bool:
    """DeepSeek sparse attention: the model caches mla_indexed layers (DeepSeek-V3.2)."""
    from kvplan.layers import MLAIndexed

    return any(isinstance(k, MLAIndexed) for k in set(spec.layers))


#: torch.cuda.get_device_capability() on ROCm reports the gfx target's major and minor, which
#: SGLang compares (models/deepseek_v2.py 0.5.8 lines 2848-2857: "(9, 4)" for "gfx942(MI30x)").
#: Targets from AMD's ROCm GPU specifications: MI250X gfx90a, MI300X and MI325X gfx942, MI355X gfx950.
AMD_CAPABILITY = {"mi250x": (9, 0), "mi300x": (9, 4), "mi325x": (9, 4), "mi355x": (9, 5)}

#: Architectures whose model files kvplan read for the rotary tables they build (SGLang.rope_table_bytes),
#: the same in every modelled release: get_rope(head_dim or int(partial_rotary_factor x head_dim),
#: max_position=config.max_position_embeddings, rope_scaling=config's) once per layer (models/llama.py
#: LlamaAttention 0.4.6 lines 135 / 159-166, 0.5.8 156 / 180-187, 0.5.23 200 / 225-232, with
#: MistralForCausalLM (mistral.py) and Phi3ForCausalLM (llama.py EntryClass) on it; qwen2.py 0.5.8
#: lines 160-166, qwen3.py 124-130, qwen3_moe.py 474-480, mixtral.py 169-174 / 215, gemma2.py
#: 145-150 (0.5.23 154-170: the float32 branch is NPU's sequence classifier), gpt_oss.py 278-284 (from
#: 0.5.1; YaRN: original x factor rows); deepseek_v2.py DeepseekV2AttentionMLA, qk_rope_head_dim wide,
#: rope_type deepseek_yarn (0.5.8 lines 1122-1123 / 1204-1212, 0.5.23 2065-2066 / 2167-2175)); Gemma 3
#: in gemma3_causal.py (rule rope_table). LlavaForConditionalGeneration (llava.py, from 0.4.9:
#: 0.4.9 lines 602 / 723-731, 0.5.8 lines 727-734, 0.5.23 lines 779-786) builds its language model
#: from text_config's class through _get_sgl_model_cls (kvplan reads text_config with its own
#: family reader, whose rotary fields the spec keeps), and the vision tower from CLIPVisionModel
#: (clip.py: no rotary embedding in any release): the table is the backbone's.
ROPE_ARCHITECTURES = frozenset({
    "LlamaForCausalLM", "MistralForCausalLM", "Phi3ForCausalLM", "Qwen2ForCausalLM", "Qwen3ForCausalLM",
    "Qwen3MoeForCausalLM", "MixtralForCausalLM", "Gemma2ForCausalLM", "GptOssForCausalLM", "DeepseekV2ForCausalLM",
    "DeepseekV3ForCausalLM", "Gemma3ForCausalLM", "Gemma3ForConditionalGeneration", "LlavaForConditionalGeneration"})

#: Read in h30 (docs/findings/FINDINGS_h30_sglb.md): one get_rope table shared by every layer, no
#: dtype argument (the base RotaryEmbedding's float32 on CUDA), every release that registers the
#: class (the model file's EntryClass), rows and width as rope_table_bytes computes them:
#: - ChatGLMModel (chatglm.py GLMAttention, 0.4.6-0.5.23 line 103, the file unchanged but imports):
#:   head_dim = hidden_size // heads, rotary_dim = head_dim // 2, max_position = getattr(config,
#:   "seq_length", 8192) (line 102; kvplan's context for ChatGLM), no rope_scaling. ChatGLM3-6B 8,192 x 64.
#: - DbrxForCausalLM (dbrx.py DbrxAttention: 0.4.6-0.4.10 lines 199-203 / 222, 0.5.1-0.5.8 205-209 /
#:   228, 0.5.22 214-218 / 237, 0.5.23 215-219 / 238): d_model // n_heads wide, max_seq_len rows, no scaling.
#: - DeciLMForCausalLM (nemotron_nas.py DeciLMDecoderLayer, 0.5.1-0.5.8 lines 68 / 73 / 80 / 91-106,
#:   0.5.22 = 0.5.23 76 / 81 / 88 / 99-103): llama.py's LlamaAttention (partial_rotary_factor x
#:   head_dim, config.max_position_embeddings, the config's rope_scaling; 0.5.22+ rope_parameters),
#:   built only where attention is not no_op: a stage of no_op layers holds no table.
#: - Ernie4_5_ForCausalLM, Ernie4_5_MoeForCausalLM (ernie4.py Ernie4DecoderLayer, LlamaAttention as
#:   Ernie4Attention, 0.5.1-0.5.6 lines 44 / 161-170, 0.5.8 162-171, 0.5.22 169-178, 0.5.23 170-179; EntryClass
#:   both): LlamaAttention's table; the MTP block is ernie4_eagle.py's draft only.
#: - Glm4MoeForCausalLM (glm4_moe.py Glm4MoeAttention, 0.4.10 line 240, 0.5.1 236, 0.5.2 242, 0.5.4
#:   230, 0.5.6 231, 0.5.8 236, 0.5.22 279, 0.5.23 278): get_rope(head_dim, partial_rotary_factor=
#:   config's, default 0.5; 0.5.22+ rope_parameters' first, 0.5.22 lines 704-707), which narrows to
#:   int(head_dim x factor) (layers/rotary_embedding.py get_rope, 0.5.8 lines 2557-2558, 0.5.23
#:   factory.py 156-157); config.max_position_embeddings rows. GLM-4.7 202,752 x 64. NextN: the draft only.
#: - HunYuanMoEV1ForCausalLM (0.4.9+), HunYuanDenseV1ForCausalLM (0.4.10+) (hunyuan.py HunYuanAttention,
#:   0.4.9 line 288, 0.4.10-0.5.2 330, 0.5.4 = 0.5.6 325, 0.5.8 326, 0.5.22 324, 0.5.23 325): head_dim
#:   wide (get_head_dim: head_dim, else attention_head_dim, from 0.4.10), max_position_embeddings rows;
#:   the config's dynamic scaling with an alpha is DynamicNTKAlphaRotaryEmbedding (0.5.8
#:   rotary_embedding.py lines 1126-1160, 2650-2659): max_position rows, only the base changes.
#: - MiMoForCausalLM (mimo.py MiMoModel(Qwen2Model) with Qwen2DecoderLayer, 0.4.9-0.5.2 lines 31 / 42,
#:   0.5.4-0.5.23 20 / 31): qwen2.py's table (0.5.8 lines 160 / 205); the mtp_layers are skipped at
#:   load (line 114) and built only by mimo_mtp.py's draft.
#: - MiniMaxM2ForCausalLM (minimax_m2.py MiniMaxM2Attention, 0.5.6 lines 369-372 / 399, 0.5.8 553-556 /
#:   583, 0.5.22 676-679 / 707, 0.5.23 672-675 / 703): getattr(config, "rotary_dim", head_dim) wide,
#:   config.max_position_embeddings rows (vLLM: max(that, max_model_len)). MiniMax-M2.5 196,608 x 64.
#: - Llama4ForCausalLM, Llama4ForConditionalGeneration (llama4.py Llama4Attention, 0.4.6 line 218,
#:   0.4.9 270, 0.4.10 272, 0.5.1-0.5.4 285, 0.5.6 = 0.5.8 286, 0.5.22 284, 0.5.23 290): head_dim wide,
#:   text_config.max_position_embeddings rows (llama3 scaling: Llama3RotaryEmbedding keeps them), on the
#:   three rope layers of four. Llama-4-Scout: 10,485,760 x 128 x 4 = 5,368,709,120 B. The vision
#:   tower's table: rule llama4_vision_tower.
ROPE_ARCHITECTURES = ROPE_ARCHITECTURES | frozenset({
    "ChatGLMModel", "DbrxForCausalLM", "DeciLMForCausalLM", "Ernie4_5_ForCausalLM", "Ernie4_5_MoeForCausalLM",
    "Glm4MoeForCausalLM", "HunYuanMoEV1ForCausalLM", "HunYuanDenseV1ForCausalLM", "MiMoForCausalLM",
    "MiniMaxM2ForCausalLM", "Llama4ForCausalLM", "Llama4ForConditionalGeneration"})

#: Qwen's vision-language models: the text model's MRotaryEmbedding is RotaryEmbedding's table
#: (layers/rotary_embedding.py MRotaryEmbedding.__init__ calls super().__init__: 0.4.6 line 816,
#: 0.5.4 line 1239, 0.5.6 line 1387, 0.5.8 lines 1409-1425; 0.5.22 / 0.5.23 rotary_embedding/mrope.py
#: line 60, which also registers axis_map, rotary_dim / 2 int64 on the table's device, when the
#: config's mrope_section is non-empty: lines 109 / 113-138), and the vision tower keeps a rotary
#: buffer or table of its own sized by the vision head width, built on every pipeline rank:
#: - Qwen3VLForConditionalGeneration (from 0.5.4; Qwen3VLMoeForConditionalGeneration runs the same
#:   tower, qwen3_vl_moe.py calling Qwen3VLForConditionalGeneration.__init__: 0.5.4 line 168, 0.5.8
#:   line 173, 0.5.22 line 205): models/qwen3_vl.py Qwen3VLMoeVisionModel.__init__, head_dim =
#:   vision_config.hidden_size // vision_config.num_heads. Up to 0.5.6 rotary_pos_emb =
#:   transformers' Qwen2_5_VisionRotaryEmbedding(head_dim // 2) (0.5.4 lines 274-275, 0.5.6 lines
#:   287-288; transformers 4.57.1, SGLang's pin, models/qwen2_5_vl/modeling_qwen2_5_vl.py: one
#:   float32 buffer inv_freq = arange(0, dim, 2), persistent=False). From 0.5.8 get_rope(head_size=
#:   head_dim, rotary_dim=head_dim // 2, max_position=8192, base=10000.0, is_neox_style=True) (0.5.8
#:   lines 317-324, 0.5.22 / 0.5.23 lines 420-427): RotaryEmbedding's table, 8192 rows x rotary_dim,
#:   with the text model's element type (rule rope_table). Its get_rope key (head_size, rotary_dim,
#:   max_position, base, neox, rope_scaling, ...; 0.5.8 rotary_embedding.py lines 2559-2568,
#:   0.5.22 / 0.5.23 rotary_embedding/factory.py lines 158-167) differs from the text model's,
#:   whose rotary_dim is its whole head (qwen3.py Qwen3Attention), so it is a table of its own.
#:   Qwen3-VL-8B (1152 / 16 = 72): 18 x 4 = 72 B up to 0.5.6, 8192 x 36 x 4 = 1,179,648 B from 0.5.8.
#: - Qwen2VLForConditionalGeneration: models/qwen2_vl.py Qwen2VisionRotaryEmbedding(head_dim // 2),
#:   head_dim = vision_config.embed_dim // num_heads, an inv_freq float32 buffer (0.4.6 lines
#:   262-269 / 328-329, 0.5.8 lines 250-257 / 316-317, 0.5.23 lines 255-261 / 319-320).
#: - Qwen2_5_VLForConditionalGeneration: models/qwen2_5_vl.py Qwen2_5_VisionRotaryEmbedding(head_dim
#:   // 2), head_dim = vision_config.hidden_size // num_heads: transformers' class up to 0.5.8 (0.4.6
#:   lines 41 / 256-257, 0.5.8 lines 41 / 302-303), SGLang's own copy from 0.5.22 (lines 123-127 /
#:   394-397), an inv_freq float32 buffer either way.
#: kvplan reads no Qwen2-VL or Qwen2.5-VL vision_config (no kvplan.towers class for them), so those
#: two stay refused: the value says what the vision table needs.
_ROPE_VISION_UNREAD = {
    "Qwen2VLForConditionalGeneration": "models/qwen2_vl.py Qwen2VisionRotaryEmbedding(head_dim // 2), head_dim = "
                                       "vision_config.embed_dim / num_heads",
    "Qwen2_5_VLForConditionalGeneration": "models/qwen2_5_vl.py Qwen2_5_VisionRotaryEmbedding(head_dim // 2), "
                                          "head_dim = vision_config.hidden_size / num_heads",
}
#: The Qwen3-VL architectures whose vision tower's rotary table kvplan sizes (the qwen3_vl tower's
#: num_heads; rule rope_table "qwen3_vl_get_rope"), their text model's table being Qwen3's
#: (qwen3.py) or Qwen3-MoE's (qwen3_moe.py), which ROPE_ARCHITECTURES covers.
ROPE_QWEN3_VL = frozenset({"Qwen3VLForConditionalGeneration", "Qwen3VLMoeForConditionalGeneration"})

#: h30 group A (docs/findings/FINDINGS_h30_sgla.md): model files read in every release that serves
#: them (models/X.py; lines 0.5.8, then 0.5.23 where they moved), each one get_rope per layer with
#: the same arguments (one shared table, rows x width, RotaryEmbedding's dtype: rule rope_table),
#: rows = the max_position passed (ModelSpec.rope_max_position, else the context), rope_scaling
#: passed where rule rope_scaling_passed lists the architecture. Width "head": the whole head,
#: hidden_size // num_attention_heads, whatever fraction key the config has; "rotary": the
#: model file's partial width, the formula kvplan imports as rotary_dim (spec.rotary_width).
#:   Qwen2MoeForCausalLM qwen2_moe.py Qwen2MoeAttention: head_dim = hidden // heads (:368; 0.5.23
#:     :926), get_rope(head_dim, head_dim, max_position_embeddings, rope_scaling, dual_chunk) (:398-405;
#:     0.4.6 :221-227, 0.5.23 :954-961), max_position getattr(config, "max_position_embeddings", 8192)
#:     (:444; 0.5.23 :1001, rope via get_rope_config); dual_chunk_attention_config is refused at import.
#:   OlmoeForCausalLM olmoe.py OlmoeAttention: hidden // heads (:137), get_rope(..., rope_scaling,
#:     is_neox_style=True) (:163-170; 0.4.6 :159-166, 0.5.23 :165-172), max_position getattr(...,
#:     4096) (:209).
#:   Olmo2ForCausalLM olmo2.py Olmo2Attention: hidden // heads (:97), max_position
#:     config.max_position_embeddings (:100), get_rope (:135-141); no rope_scaling up to 0.5.2
#:     (0.4.6-0.5.2 :108-113), config.rope_scaling from 0.5.4 (0.5.4 :118-135; a sliding layer of
#:     layer_types would take {"rope_type": "default"}, a second key: Olmo2 configs have none, and
#:     kvplan's reader refuses layer_types).
#:   PhiForCausalLM phi.py PhiAttention (from 0.4.10): rotary_dim = int(partial_rotary_factor x
#:     hidden // heads), asserted even (:60-64; 0.5.23 :61-65), get_rope without rope_scaling,
#:     max_position getattr(..., 2048) (:67-73; 0.5.23 :68-74).
#:   StableLmForCausalLM stablelm.py StablelmAttention: rotary_ndims = int(head_dim x getattr(config,
#:     "rope_pct", getattr(config, "partial_rotary_factor", 1))) (:109-112; 0.5.23 :114-117), get_rope
#:     without rope_scaling, max_position config.max_position_embeddings (:140-145; 0.5.22 / 0.5.23
#:     :146-151, the float32 branch :153 is NPU's).
#:   InternLM2ForCausalLM internlm2.py InternLM2Attention: hidden // heads (:111), get_rope(...,
#:     rope_scaling) (:135-141; 0.5.23 :137-143), max_position getattr(..., 8192) (:178; 0.5.23 :180);
#:     dynamic NTK: max_position x factor rows (InternLM2.5-7B 65,536).
#:   CohereForCausalLM, Cohere2ForCausalLM commandr.py CohereAttention: hidden // heads (:157),
#:     max_position = getattr(config, "model_max_length", None) or getattr(config,
#:     "max_position_embeddings", 8192) (:171-173), get_rope(..., rope_scaling, is_neox_style=False)
#:     (:193-200; 0.5.22 / 0.5.23 :194-201 with config.rope_parameters); Cohere2's sliding layers
#:     skip the rotation in forward (:250) but build the same key: one table.
#:   BaichuanForCausalLM baichuan.py: "ROPE" when hidden_size == 4096 (:435; 0.5.23 :443), else ALiBi
#:     (no get_rope: kvplan's reader sets position_embedding alibi); BaiChuanAttention get_rope
#:     without rope_scaling (:185-190; 0.5.23 :197-202), max_position getattr(..., 8192) (:230). From
#:     0.5.22 an ALiBi layer keeps its rank's slopes as a bf16 tensor on the GPU (:191-195,
#:     dtype default :131): rule alibi_slopes_tensor, SGLang.alibi_slopes_bytes.
#:   OrionForCausalLM orion.py OrionAttention (from 0.5.6): hidden // heads (:102), get_rope(...,
#:     rope_scaling) (:126-132), max_position getattr(..., 8192) (:169; 0.5.23 :168).
#:   GPTJForCausalLM gpt_j.py GPTJAttention (0.5.22 / 0.5.23 only): get_rope(head_dim,
#:     config.rotary_dim, max_position=getattr(config, "max_position_embeddings", 8192) -- GPTJConfig
#:     maps it to n_positions --, is_neox_style=False) (:86-95), no rope_scaling.
#:   QWenLMHeadModel qwen.py QWenAttention: hidden // heads (:103), get_rope(..., rope_scaling)
#:     (:122-128; 0.5.23 :124-130), max_position config.max_position_embeddings (:170; 0.5.23 :171),
#:     rope_scaling getattr(config, "rope_scaling", None) (:166): use_dynamic_ntk is not read.
ROPE_GROUP_A = {
    "Qwen2MoeForCausalLM": "head", "OlmoeForCausalLM": "head", "Olmo2ForCausalLM": "head", "PhiForCausalLM": "rotary",
    "StableLmForCausalLM": "rotary", "InternLM2ForCausalLM": "head", "CohereForCausalLM": "head",
    "Cohere2ForCausalLM": "head", "BaichuanForCausalLM": "head", "OrionForCausalLM": "head",
    "GPTJForCausalLM": "rotary", "QWenLMHeadModel": "head",
}
_ROPE_SCALING_A = frozenset({"Qwen2MoeForCausalLM", "OlmoeForCausalLM", "InternLM2ForCausalLM", "CohereForCausalLM",
                             "Cohere2ForCausalLM", "OrionForCausalLM", "QWenLMHeadModel"})

#: DP attention's weight layout (rule dp_attention_weights): rows (part, name prefix, degree),
#: degree "all" = SGLang's whole --tp group (tp x dp in kvplan's terms), "attention" = the
#: attention tp group (kvplan's tp), "whole" = not split. The lm_head is ParallelLMHead(...,
#: use_attn_tp_group=enable_dp_lm_head) (0.4.6: no such argument), and enable_dp_lm_head is
#: off by default (server_args.py); DeepSeek's dense layers and shared experts are
#: DeepseekV2MLP(tp_size=None) -> get_tensor_model_parallel_world_size(), the whole group
#: (layers/linear.py), unless moe_dense_tp_size == 1 (default None) or a DeepEP all-to-all.
_LM_ALL = ("lm_head", "", "all")
_DS_EMB_WHOLE = (("embedding", "", "whole"), _LM_ALL, ("mlp", "", "all"))
_DS_EMB_ATTN = (("embedding", "", "attention"), _LM_ALL, ("mlp", "", "all"))
_EMB_WHOLE_LM_ALL = (("embedding", "", "whole"), _LM_ALL)
_OVR15 = "python/sglang/srt/arg_groups/overrides.py"  # 0.5.15's model overrides and post-process passes
#: allreduce_rms_fusion 0.5.9-0.5.12: the architectures whose layers take the fused path, and those the
#: server turns it on for by itself (each release's row cites its lines; 0.5.9-0.5.10 see DeepSeek-V3.2 as
#: DeepseekV3ForCausalLM, the comment above their rows says why it is listed)
_FUSION_PATHS_0_5_9 = _DSV + ("DeepseekV32ForCausalLM", "GptOssForCausalLM", "Qwen3MoeForCausalLM",
                              "Glm4MoeForCausalLM", "Glm4MoeLiteForCausalLM")
_FUSION_AUTO_0_5_9 = ("DeepseekV3ForCausalLM", "DeepseekV32ForCausalLM", "GptOssForCausalLM", "Glm4MoeForCausalLM",
                      "Glm4MoeLiteForCausalLM", "Qwen3MoeForCausalLM", "KimiK25ForConditionalGeneration")
_FUSION_AUTO_0_5_10 = _FUSION_AUTO_0_5_9 + ("Qwen3_5MoeForConditionalGeneration", "Qwen3_5ForConditionalGeneration")
_FUSION_AUTO_0_5_11 = _FUSION_AUTO_0_5_10 + ("GlmMoeDsaForCausalLM", "Qwen3NextForCausalLM")
_FUSION_AUTO_0_5_12 = _FUSION_AUTO_0_5_11 + ("InternS2PreviewForConditionalGeneration",)
#: 0.5.13 turns the fusion on for MistralLarge3ForCausalLM too (server_args.py lines 2627-2651), a
#: DeepseekV3ForCausalLM subclass (models/mistral_large_3.py line 12: DeepSeek-V3's layers, so its
#: fusion paths), and no longer skips an H20.
_FUSION_AUTO_0_5_13 = _FUSION_AUTO_0_5_12 + ("MistralLarge3ForCausalLM",)
_FUSION_PATHS_0_5_13 = _FUSION_PATHS_0_5_9 + ("MistralLarge3ForCausalLM",)
#: 0.5.14 (server_args.py lines 4298-4328) adds Qwen3VLMoeForConditionalGeneration, whose language model is
#: Qwen3MoeModel with Qwen3MoeDecoderLayer (models/qwen3_vl_moe.py lines 32, 41-54: Qwen3-MoE's fusion paths),
#: and NemotronH / NemotronHPuzzle (state-space models, refused first).
_FUSION_AUTO_0_5_14 = _FUSION_AUTO_0_5_13 + ("Qwen3VLMoeForConditionalGeneration", "NemotronHForCausalLM",
                                             "NemotronHPuzzleForCausalLM")
_FUSION_PATHS_0_5_14 = _FUSION_PATHS_0_5_13 + ("Qwen3VLMoeForConditionalGeneration",)
#: 0.5.18 (arg_groups/overrides.py _FLASHINFER_ALLREDUCE_FUSION_ARCHS lines 1959-1979, 17 names) adds
#: DeepseekV4ForCausalLM (refused before any all-reduce is timed: no rotary table read). Not
#: InternS2MobiusForConditionalGeneration: neither 0.5.18's frozenset nor 0.5.19's (overrides.py lines 944-964) has it
#: (h33-swa22; overrides.py line 1316 of 0.5.18 is another list).
_FUSION_AUTO_0_5_18 = _FUSION_AUTO_0_5_14 + ("DeepseekV4ForCausalLM",)
#: 0.5.20 (arg_groups/overrides.py _FLASHINFER_ALLREDUCE_FUSION_ARCHS lines 988-1010): 0.5.18's with Qwen4Exp and
#: NemotronH Omni (both not imported by kvplan).
_FUSION_AUTO_0_5_20 = _FUSION_AUTO_0_5_18 + (
    "Qwen4ExpForConditionalGeneration", "NemotronH_Omni_Reasoning_V3")
#: mha_backend_default from 0.5.8: fa3 on Hopper, trtllm_mha on sm100 for every MHA model
_MHA_FA3_TRTLLM = (((9, 0), (10, 0), "fa3", None), ((10, 0), (11, 0), "trtllm_mha", None))
#: ... and, 0.5.4-0.5.23, Olmo2's own choice where no --attention-backend is given: trtllm_mha on sm100, else
#: fa3 on CUDA from sm80 (h34-sglaud: 0.5.4 server_args.py _handle_model_specific_adjustments lines 983-996, 0.5.6
#: 1167-1180, 0.5.8 1386-1399, 0.5.9 1499-1512, 0.5.10 1889-1902, 0.5.11 2113-2126, 0.5.12 2250-2263, 0.5.13 /
#: 0.5.13.post1 2434-2447, 0.5.14 4117-4130; arg_groups/overrides.py _olmo2_overrides 0.5.15 / 0.5.15.post1 lines
#: 903-917, 0.5.16 1054-1068, 0.5.17 1351-1365, 0.5.18 1438-1452; arg_groups/model_overrides/olmo2.py 0.5.19 /
#: 0.5.20 lines 19-34, 0.5.21-0.5.23 lines 16-31). Only the fa3 on sm80 / sm120 differs from the rows for every
#: model, and fa3 neither forces a page nor refuses an fp8 cache (rule fp8_kv_start), so no plan moves.
_OLMO2_ROWS = (((10, 0), (11, 0), "trtllm_mha", ("Olmo2ForCausalLM",)), ((8, 0), (99, 0), "fa3", ("Olmo2ForCausalLM",)))
#: ... and, 0.5.9-0.5.10, the architectures _handle_mamba_radix_cache gives their own backend on sm100
_OWN_BACKEND_0_5_9 = ("Qwen3NextForCausalLM", "Qwen3_5MoeForConditionalGeneration", "Qwen3_5ForConditionalGeneration",
                      "NemotronHForCausalLM", "FalconH1ForCausalLM", "JetNemotronForCausalLM",
                      "JetVLMForConditionalGeneration", "GraniteMoeHybridForCausalLM", "Lfm2ForCausalLM")
#: 0.5.9 and 0.5.22+: DeepSeek as _DS_EMB_ATTN, Qwen3-MoE's and GptOss's embedding over the attention group
_EMB_SPLIT_OVER_ATTENTION = {**{a: _DS_EMB_ATTN for a in _DSV},
                             "Qwen3MoeForCausalLM": (("embedding", "", "attention"), _LM_ALL),
                             "GptOssForCausalLM": (("embedding", "", "attention"), _LM_ALL)}


@dataclass(frozen=True)
class FusedSharedExpert:
    """Where SGLang folds DeepSeek-V3's shared expert into the routed experts so that every rank
    holds it whole (rule shared_expert_whole): DeepseekV3ForCausalLM with 256 routed experts
    (and one shared expert: ``one_shared``), on an NVIDIA GPU of compute capability
    ``nvidia_min`` or more / an AMD GPU of ``amd_min`` or more (None: never there), only under
    expert parallelism when ``ep_only``."""

    nvidia_min: tuple[int, int] | None
    amd_min: tuple[int, int] | None
    ep_only: bool
    one_shared: bool


#: -- rule vlm_fraction: what SGLang does to mem_fraction_static for a multimodal model. Its
#: multimodal architectures (configs/model_config.py ``multimodal_model_archs``, matched against
#: every entry of config.json ``architectures``), read from each wheel; ``mm_disabled_models``
#: turns multimodal off (enable_multimodal None, the default, becomes False) when
#: ``architectures[0]`` is one of them, so those run as text models.
_MM_0_4_6 = ("CLIPModel", "DeepseekVL2ForCausalLM", "Gemma3ForConditionalGeneration", "Grok1AForCausalLM",
             "Grok1VForCausalLM", "Llama4ForConditionalGeneration", "LlavaLlamaForCausalLM", "LlavaMistralForCausalLM",
             "LlavaQwenForCausalLM", "LlavaVidForCausalLM", "MiniCPMO", "MiniCPMV", "MllamaForConditionalGeneration",
             "MultiModalityCausalLM", "Qwen2VLForConditionalGeneration", "Qwen2_5_VLForConditionalGeneration")
_MM_0_4_9 = _MM_0_4_6 + ("Gemma3nForConditionalGeneration", "InternVLChatModel", "KimiVLForConditionalGeneration",
                         "LlavaForConditionalGeneration", "Mistral3ForConditionalGeneration", "Phi4MMForCausalLM",
                         "Qwen2AudioForConditionalGeneration", "VILAForConditionalGeneration")
_MM_0_4_10 = _MM_0_4_9 + ("InternS1ForConditionalGeneration", "Step3VLForConditionalGeneration")
_MM_0_5_1 = _MM_0_4_10 + ("Glm4vForConditionalGeneration", "Glm4vMoeForConditionalGeneration")
_MM_0_5_4 = _MM_0_5_1 + ("DeepseekOCRForCausalLM", "DotsOCRForCausalLM", "DotsVLMForCausalLM", "POINTSV15ChatModel",
                         "Qwen3OmniMoeForConditionalGeneration", "Qwen3VLForConditionalGeneration",
                         "Qwen3VLMoeForConditionalGeneration", "Sarashina2VisionForCausalLM")
_MM_0_5_6 = tuple(a for a in _MM_0_5_4 if a != "VILAForConditionalGeneration") + (
    "JetVLMForConditionalGeneration", "NVILAForConditionalGeneration", "NVILALiteForConditionalGeneration",
    "NemotronH_Nano_VL_V2")
_MM_0_5_8 = _MM_0_5_6 + ("GlmAsrForConditionalGeneration", "MiDashengLMModel", "PaddleOCRVLForConditionalGeneration",
                         "PixtralForConditionalGeneration")
#: 0.5.9 (configs/model_config.py multimodal_model_archs line 1211): 0.5.8's and eight more.
_MM_0_5_9 = _MM_0_5_8 + ("Ernie4_5_VLMoeForConditionalGeneration", "GlmOcrForConditionalGeneration",
                         "LightOnOCRForConditionalGeneration", "Qwen3_5ForConditionalGeneration",
                         "Qwen3_5MoeForConditionalGeneration", "InternS1ProForConditionalGeneration",
                         "StepVLForConditionalGeneration", "KimiK25ForConditionalGeneration")
#: 0.5.10 (configs/model_config.py multimodal_model_archs lines 1296-1350): 0.5.9's and two more.
_MM_0_5_10 = _MM_0_5_9 + ("Lfm2VlForConditionalGeneration", "WhisperForConditionalGeneration")
#: 0.5.11 (configs/model_config.py multimodal_model_archs lines 1384-1444, with MIMO_V2_MULTIMODAL_ARCHS
#: line 46): 0.5.10's and six more.
_MM_0_5_11 = _MM_0_5_10 + ("Gemma4ForConditionalGeneration", "MiMoV2ForCausalLM", "MossVLForConditionalGeneration",
                           "NemotronH_Nano_Omni_Reasoning_V3", "Qwen3ASRForConditionalGeneration",
                           "VoxtralForConditionalGeneration")
#: 0.5.12 (configs/model_config.py multimodal_model_archs lines 1495-1556): 0.5.11's and
#: InternS2PreviewForConditionalGeneration.
_MM_0_5_12 = _MM_0_5_11 + ("InternS2PreviewForConditionalGeneration",)
#: 0.5.13 (configs/model_config.py multimodal_model_archs lines 1513-1577): 0.5.12's and Cohere2Vision,
#: Gemma 4 unified, Step-3.7.
_MM_0_5_13 = _MM_0_5_12 + ("Cohere2VisionForConditionalGeneration", "Gemma4UnifiedForConditionalGeneration",
                           "Step3p7ForConditionalGeneration")
#: 0.5.14 (configs/model_config.py multimodal_model_archs lines 1645-1711): 0.5.13's and MiniMaxM3Sparse (no model
#: module registers it), MiMo-V2 ASR.
_MM_0_5_14 = _MM_0_5_13 + ("MiniMaxM3SparseForConditionalGeneration", "MiMoV2ASRForCausalLM")
#: 0.5.15 (configs/model_config.py multimodal_model_archs lines 1634-1702): 0.5.14's and LocateAnything, UnlimitedOCR.
_MM_0_5_15 = _MM_0_5_14 + ("LocateAnythingForConditionalGeneration", "UnlimitedOCRForCausalLM")
#: 0.5.16 and 0.5.17 (configs/model_config.py multimodal_model_archs 0.5.16 lines 1692-1761): 0.5.15's and GLM-Image.
_MM_0_5_16 = _MM_0_5_15 + ("GlmImageForConditionalGeneration",)
#: 0.5.18 (configs/model_config.py multimodal_model_archs lines 1822-1893): 0.5.17's and MuseGlimmer, InternS2Mobius.
_MM_0_5_18 = _MM_0_5_16 + ("MuseGlimmerForConditionalGeneration", "InternS2MobiusForConditionalGeneration")
#: 0.5.19 (configs/model_config.py multimodal_model_archs lines 1886-1958): 0.5.18's and Dots3Note.
_MM_0_5_19 = _MM_0_5_18 + ("Dots3NoteForCausalLM",)
#: 0.5.20 (configs/model_config.py multimodal_model_archs lines 2103-2179): 0.5.19's and Cosmos3Edge, Glm5Next,
#: NemotronH Omni, Qwen4Exp.
_MM_0_5_20 = _MM_0_5_19 + ("Cosmos3EdgeForConditionalGeneration", "Glm5NextForConditionalGeneration",
                           "NemotronH_Omni_Reasoning_V3", "Qwen4ExpForConditionalGeneration")
#: 0.5.21 (multimodal_model_archs lines 2199-2279): 0.5.20's and DiffusionGemma, Bailing MM.
_MM_0_5_21 = _MM_0_5_20 + ("DiffusionGemmaForBlockDiffusion", "BailingMMNativeForConditionalGeneration",
                           "BailingMM2NativeForConditionalGeneration", "BailingMoeV3VLForConditionalGeneration")
#: 0.5.10's configs/model_config.py piecewise_cuda_graph_disabled_model_archs (lines 1352-1358):
#: no piecewise (prefill) CUDA graphs, so no reservation for them (rule prefill_graphs).
_PCG_OFF_0_5_10 = ("DeepseekV32ForCausalLM", "Qwen3NextForCausalLM", "GlmMoeDsaForCausalLM", "BailingMoeV2_5ForCausalLM",
                   "LLaDAModelLM")
#: 0.5.12's (configs/model_config.py lines 1558-1566): 0.5.10's and DeepSeek-V4's two classes.
_PCG_OFF_0_5_12 = _PCG_OFF_0_5_10 + ("DeepseekV4ForCausalLM", "DeepseekV4ForCausalLMNextN")
#: 0.5.13's (configs/model_config.py lines 1579-1585): DeepseekV32ForCausalLM and GlmMoeDsaForCausalLM
#: leave the list, and ModelConfig.is_piecewise_cuda_graph_disabled_model (lines 330-332) no longer adds
#: is_deepseek_nsa: DeepSeek sparse attention captures piecewise graphs (1.5 GiB reserved, MLA).
_PCG_OFF_0_5_13 = ("DeepseekV4ForCausalLM", "DeepseekV4ForCausalLMNextN", "Qwen3NextForCausalLM",
                   "BailingMoeV2_5ForCausalLM", "LLaDAModelLM")
#: 0.5.23's list (sglang/srt/configs/model_config.py multimodal_model_archs lines 2391-2490, with
#: MIMO_V2_MULTIMODAL_ARCHS line 78), read by h26-sgl.
_MM_0_5_23 = (
    "CLIPModel", "Cohere2VisionForConditionalGeneration", "Cosmos3EdgeForConditionalGeneration",
    "DeepseekVL2ForCausalLM", "Ernie4_5_VLMoeForConditionalGeneration",
    "MiniMaxM3SparseForConditionalGeneration", "Gemma3ForConditionalGeneration",
    "Gemma3nForConditionalGeneration", "Gemma4ForConditionalGeneration", "EmbeddingGemma2Model",
    "Gemma4UnifiedForConditionalGeneration", "DiffusionGemmaForBlockDiffusion",
    "Glm4vForConditionalGeneration", "Glm4vMoeForConditionalGeneration", "Glm5NextForConditionalGeneration",
    "GlmOcrForConditionalGeneration", "GlmAsrForConditionalGeneration", "GlmImageForConditionalGeneration",
    "Grok1VForCausalLM", "Grok1AForCausalLM", "LlavaLlamaForCausalLM", "Llama4ForConditionalGeneration",
    "LlavaMistralForCausalLM", "LlavaQwenForCausalLM", "LlavaForConditionalGeneration",
    "LlavaVidForCausalLM", "Lfm2VlForConditionalGeneration", "LightOnOCRForConditionalGeneration",
    "MiMoV2ASRForCausalLM", "MiniCPMO", "MiniCPMV", "Mistral3ForConditionalGeneration",
    "MultiModalityCausalLM", "MllamaForConditionalGeneration", "MossVLForConditionalGeneration",
    "NemotronH_Nano_VL_V2", "NemotronH_Nano_Omni_Reasoning_V3", "NemotronH_Omni_Reasoning_V3",
    "MuseGlimmerForConditionalGeneration", "MuseSparkForConditionalGeneration",
    "PixtralForConditionalGeneration", "Qwen2AudioForConditionalGeneration",
    "Qwen2VLForConditionalGeneration", "Qwen2_5_VLForConditionalGeneration",
    "Qwen3VLForConditionalGeneration", "Qwen3VLMoeForConditionalGeneration",
    "Qwen3_5ForConditionalGeneration", "Qwen3_5MoeForConditionalGeneration",
    "Qwen4ExpForConditionalGeneration", "InternS2PreviewForConditionalGeneration",
    "InternS2MobiusForConditionalGeneration", "Qwen3ASRForConditionalGeneration",
    "Qwen3OmniMoeForConditionalGeneration", "KimiVLForConditionalGeneration",
    "LocateAnythingForConditionalGeneration", "InternVLChatModel", "InternS1ForConditionalGeneration",
    "InternS1ProForConditionalGeneration", "Phi4MMForCausalLM", "VoxtralForConditionalGeneration",
    "WhisperForConditionalGeneration", "Step3VLForConditionalGeneration", "POINTSV15ChatModel",
    "DotsVLMForCausalLM", "Dots3NoteForCausalLM", "DotsOCRForCausalLM", "Sarashina2VisionForCausalLM",
    "NVILAForConditionalGeneration", "NVILALiteForConditionalGeneration", "DeepseekOCRForCausalLM",
    "UnlimitedOCRForCausalLM", "JetVLMForConditionalGeneration", "PaddleOCRVLForConditionalGeneration",
    "MiDashengLMModel", "StepVLForConditionalGeneration", "Step3p7ForConditionalGeneration",
    "KimiK25ForConditionalGeneration", "BailingMMNativeForConditionalGeneration",
    "BailingMM2NativeForConditionalGeneration", "BailingMoeV3VLForConditionalGeneration",
    "MiMoV2ForCausalLM")
#: 0.5.22's (configs/model_config.py lines 2279-2360): 0.5.23's without MuseSpark, which 0.5.22 has no model for.
_MM_0_5_22 = tuple(a for a in _MM_0_5_23 if a != "MuseSparkForConditionalGeneration")
#: -- rule prefill_graphs: the multimodal architectures whose breakable prefill CUDA graph stays on
#: (configs/model_config.py multimodal_breakable_cuda_graph_supported_model_archs, 0.5.22), and the
#: architectures whose prefill graphs stop at 512 tokens (cuda_graph_hook.py
#: apply_muse_glimmer_prefill_cuda_graph_max_bs_default: cuda_graph_max_bs_prefill = 512).
_MM_BCG_0_5_22 = ("Cohere2VisionForConditionalGeneration", "Glm5NextForConditionalGeneration",
                  "InternS2MobiusForConditionalGeneration", "PaddleOCRVLForConditionalGeneration",
                  "Qwen3_5ForConditionalGeneration", "Qwen3_5MoeForConditionalGeneration",
                  "Qwen4ExpForConditionalGeneration", "MuseGlimmerForConditionalGeneration",
                  "KimiK3ForConditionalGeneration", "KimiK25ForConditionalGeneration", "MiniMaxM3SparseForCausalLM",
                  "MiniMaxM3SparseForConditionalGeneration")
_MUSE_GLIMMER_512 = {"MuseGlimmerForCausalLM": 512, "MuseGlimmerForConditionalGeneration": 512}
_MM_OFF = ("Gemma3ForConditionalGeneration", "Llama4ForConditionalGeneration")
_MM_OFF_0_5_1 = _MM_OFF + ("Step3VLForConditionalGeneration",)
_MC = "python/sglang/srt/configs/model_config.py"

#: How SGLang's ``adjust_mem_fraction_for_vlm`` reads the vision tower: ``getattr(vision_config,
#: "num_hidden_layers", 24)`` and ``getattr(vision_config, "hidden_size", 1024)`` on the config
#: object of model_config.hf_config.vision_config, by architecture: (the kvplan.towers kind
#: kvplan holds, the tower -> the layer count SGLang reads, why). Qwen3-VL: transformers 4.57.1
#: (the pin of SGLang 0.5.4-0.5.8) Qwen3VLVisionConfig / Qwen3VLMoeVisionConfig store ``depth``
#: and define neither num_hidden_layers nor an attribute_map (models/qwen3_vl/
#: configuration_qwen3_vl.py lines 25-60; SGLang does not register its own configs/qwen3_vl.py
#: with AutoConfig), so SGLang reads the default 24, not the 27 blocks. LLaVA: CLIPVisionConfig
#: .num_hidden_layers, the checkpoint's depth (24 for CLIP ViT-L), not the 23 layers built to
#: vision_feature_layer -2. Kimi-VL: SGLang's own MoonViTConfig (configs/kimi_vl_moonvit.py,
#: registered for model_type kimi_vl) sets num_hidden_layers. Other architectures: not read.
_QWEN3_VL_READ = ("qwen3_vl", lambda t: 24, "its config class stores depth, not num_hidden_layers: getattr's default")
_VIT_READ = {
    "Qwen3VLForConditionalGeneration": _QWEN3_VL_READ,
    "Qwen3VLMoeForConditionalGeneration": _QWEN3_VL_READ,
    "LlavaForConditionalGeneration": ("clip", lambda t: t.config_num_layers or (t.num_layers if t.post_norm else None),
                                      "CLIPVisionConfig.num_hidden_layers"),
    "KimiVLForConditionalGeneration": ("moonvit", lambda t: t.num_layers, "MoonViTConfig.num_hidden_layers"),
}


@dataclass(frozen=True)
class VLMFraction:
    """Rule vlm_fraction's value: for an architecture in ``archs`` whose ``architectures[0]`` is
    not in ``disabled``, SGLang scales mem_fraction_static by ``flat`` (0.4.6, 0.4.9), or, where
    ``flat`` is None (0.4.10 on), by ``adjust_mem_fraction_for_vlm``'s factor when config.json
    has a vision_config: 0.95 x clamp(1 - 0.1 x (L h^2 / (24 x 1024^2) - 1), 0.8, 1.05), L and h
    the tower's num_hidden_layers and hidden_size as the config object gives them (``_VIT_READ``),
    in float arithmetic, the product not rounded. ``given_too``: a --mem-fraction-static given
    is scaled as well (0.4.6 only; later releases scale only the default). ``any_tower``: a
    model with a vision tower counts as multimodal whatever its architecture (0.5.23: a config
    with a text_config sub-config)."""

    archs: tuple[str, ...]
    disabled: tuple[str, ...]
    flat: float | None
    given_too: bool = False
    any_tower: bool = False

    def serves(self, spec) -> bool:
        """Whether SGLang serves ``spec`` as multimodal (ModelConfig.is_multimodal) by default."""
        arch = getattr(spec, "architecture", "") or ""
        listed = arch in self.archs or (self.any_tower and getattr(spec, "vision_tower", None) is not None)
        return listed and arch not in self.disabled


def _own_overrides(step3p: str, muse_spark: str | None = None) -> dict:
    """Rule own_backend_unread's value from 0.5.22: {architecture: where its override is} for the
    model overrides (arg_groups/model_overrides/, identical files in 0.5.22 and 0.5.23 but for
    kimi_k3.py, minimax_m3.py and nemotron_h.py, whose architectures are here in both) and
    overrides.py's own hooks, at the release's lines: Step-3.5 / 3.7 (_step3p_overrides,
    ``step3p``): fa4 on Blackwell, whose pages are 128 (_fa4_page_constraint), fa3 on sm90
    (review h26 F3); MuseSpark (_muse_spark_overrides, ``muse_spark``, 0.5.23 only): --kv-cache-dtype
    auto becomes fp8_e4m3 (review h26 F3b)."""
    own = {**{a: "gemma4.py" for a in ("Gemma4ForCausalLM", "Gemma4ForConditionalGeneration",
                                         "Gemma4UnifiedForConditionalGeneration", "DiffusionGemmaForBlockDiffusion")},
           **{a: "exaone.py" for a in ("Exaone4ForCausalLM", "ExaoneMoEForCausalLM", "ExaoneMoeForCausalLM")},
           **{a: "inkling.py" for a in ("InklingForConditionalGeneration", "InklingForConditionalGenerationMTP")},
           **{a: "iquest_q1.py" for a in ("IQuestQ1ForCausalLM", "IQuestQ1MTP")},
           **{a: "minicpm.py" for a in ("MiniCPMForCausalLM", "MiniCPMSALAForCausalLM")},
           **{a: "minimax_m3.py" for a in ("MiniMaxM3SparseForCausalLM", "MiniMaxM3SparseForConditionalGeneration")},
           **{a: "qwen3_5.py" for a in ("Qwen3NextForCausalLM", "Qwen3_5MoeForConditionalGeneration",
                                        "Qwen3_5ForConditionalGeneration", "InternS2PreviewForConditionalGeneration",
                                        "InternS2MobiusForConditionalGeneration")},
           "Qwen4ExpForConditionalGeneration": "qwen4_exp.py", "KimiK3ForConditionalGeneration": "kimi_k3.py",
           "MossVLForConditionalGeneration": "moss_vl.py", "DeepseekV4ForCausalLM": "deepseek_v4.py",
           **{a: "nemotron_h.py" for a in ("NemotronHForCausalLM", "NemotronHPuzzleForCausalLM",
                                           "NemotronH_Omni_Reasoning_V3")},
           **{a: f"arg_groups/overrides.py _step3p_overrides lines {step3p}"
              for a in ("Step3p5ForCausalLM", "Step3p7ForConditionalGeneration")}}
    if muse_spark:
        own["MuseSparkForConditionalGeneration"] = f"arg_groups/overrides.py _muse_spark_overrides lines {muse_spark}"
    return own


RULES = (
    Rule("mem_fraction_static_default", "0.4.6", "0.4.6", "tp_table",
         _ARGS + ": __post_init__: gpu_mem <= 81920 MiB -> 0.88 / 0.87 (tp 2) / 0.85 (4) / 0.81 (8) / 0.79 (16), "
         "else (gpu_mem - 13 GiB) / gpu_mem"),
    Rule("mem_fraction_static_default", "0.4.9", "0.5.2", "reserved_0_4_9",
         _ARGS + ": __post_init__: round((gpu_mem - reserved_mem) / gpu_mem, 3), reserved_mem (9.5 + tp*pp/2) "
         "GiB on 35-90 GiB GPUs"),
    Rule("mem_fraction_static_default", "0.5.4", "0.5.4", "reserved_0_5_4",
         _ARGS + ": _handle_gpu_memory_settings: reserved_mem = 512 + 1.5 max(chunked_prefill_size, 2048) "
         "+ 2 cuda_graph_max_bs + tp*pp/8 GiB (>= 10 GiB above 60 GiB)"),
    #    0.5.9 the same (server_args.py _handle_gpu_memory_settings lines 911-1077: cuda_graph_max_bs 24 line
    #    953, DP attention lines 1035-1041; only --language-only, default False, and --enable-symm-mem's
    #    environment default added)
    Rule("mem_fraction_static_default", "0.5.6", "0.5.9", "reserved_0_5_6",
         _ARGS + ": _handle_gpu_memory_settings: as 0.5.4, but cuda_graph_max_bs 24 (was 16) on 20-35 GiB "
         "GPUs at tp < 4"),
    #    0.5.10: 0.5.9's sum and tiers, plus 8 MiB per piecewise CUDA graph size (1.5 GiB for MLA), the
    #    piecewise graphs on by default (_reserved_0_5_10).
    #    0.5.11 the same (server_args.py _handle_gpu_memory_settings lines 1294-1495, identical: tiers lines 1318-1381,
    #    sum lines 1433-1456, piecewise term lines 1407-1432, MLA lines 1457-1464, floor line 1466;
    #    _generate_piecewise_cuda_graph_tokens lines 1550-1568; disable_piecewise_cuda_graph False line 665)
    #    0.5.12 the same (server_args.py _handle_gpu_memory_settings lines 1401-1602, identical: tiers lines 1425-1488,
    #    sum lines 1540-1563, piecewise term lines 1514-1539, MLA lines 1564-1571, floor line 1573;
    #    _generate_piecewise_cuda_graph_tokens lines 1657-1675; disable_piecewise_cuda_graph False line 737;
    #    __post_init__ lines 856-1000 still runs it after _handle_piecewise_cuda_graph)
    Rule("mem_fraction_static_default", "0.5.10", "0.5.12", "reserved_0_5_10",
         _ARGS + " (0.5.10) _handle_gpu_memory_settings lines 1141-1342: as 0.5.6-0.5.9 (tiers lines 1165-1228, sum "
         "lines 1280-1303), plus the piecewise CUDA graphs, on by default (disable_piecewise_cuda_graph False line "
         "637; _handle_piecewise_cuda_graph lines 1078-1139): 8 MiB per captured token count up to "
         "chunked_prefill_size (lines 1254-1279, _generate_piecewise_cuda_graph_tokens lines 1397-1415), 1.5 GiB for "
         "MLA (lines 1304-1311), before the 10 GiB floor (line 1313)"),
    #    0.5.13 and 0.5.13.post1: the same tiers, sum, MLA term and floor (server_args.py _handle_gpu_memory_settings
    #    lines 1444-1653: tiers lines 1468-1525, piecewise max tokens lines 1557-1577, sum lines 1592-1613, piecewise
    #    term lines 1615-1622, floor lines 1624-1625; _generate_piecewise_cuda_graph_tokens lines 1708-1726 identical;
    #    disable_piecewise_cuda_graph False line 765; __post_init__ lines 955 / 961 still run it after
    #    _handle_piecewise_cuda_graph), but the piecewise graphs stop at a --context-length given (lines 1579-1586,
    #    "Clamp to context_length if explicitly set"): 8 MiB per captured size up to min(chunked_prefill_size,
    #    context_length) (GraphModel.context_length). Without --context-length (kvplan: --max-model-len) as 0.5.12.
    Rule("mem_fraction_static_default", "0.5.13", "0.5.13.post1", "reserved_0_5_13",
         _ARGS + " (0.5.13) _handle_gpu_memory_settings lines 1444-1653: as 0.5.10-0.5.12 (tiers lines 1468-1525, sum "
         "lines 1592-1613, MLA 1.5 GiB line 1622, floor lines 1624-1625), the piecewise CUDA graphs 8 MiB per captured "
         "token count up to chunked_prefill_size (lines 1557-1577, _generate_piecewise_cuda_graph_tokens lines "
         "1708-1726) and, new, at most --context-length where given (lines 1579-1586)"),
    #    0.5.14: the same sum, under new names (server_args.py _handle_gpu_memory_settings lines 3122-3329:
    #    cuda_graph_max_bs -> cuda_graph_config.decode.max_bs, piecewise_cuda_graph_max_tokens / _tokens ->
    #    cuda_graph_config.prefill.max_bs / bs, "not disable_piecewise_cuda_graph" -> "prefill.backend !=
    #    DISABLED", the default prefill backend tc_piecewise, model_executor/cuda_graph_config.py lines 84-92);
    #    tiers lines 3149-3209, prefill max_bs lines 3239-3259 and the --context-length clamp lines 3261-3267, sum
    #    lines 3276-3297, prefill term lines 3299-3306, floor lines 3308-3309; _generate_prefill_cuda_graph_batch_sizes
    #    lines 3384-3401 = 0.5.13's _generate_piecewise_cuda_graph_tokens. It drops the speculative-decoding reserve
    #    (refused anyway). __post_init__ settles the prefill backend (line 2508, _handle_cuda_graph_config) before it
    #    (line 2524).
    Rule("mem_fraction_static_default", "0.5.14", "0.5.14", "reserved_0_5_13",
         _ARGS + " (0.5.14) _handle_gpu_memory_settings lines 3122-3329: as 0.5.13 (tiers lines 3149-3209, sum lines "
         "3276-3297, MLA 1.5 GiB line 3306, floor lines 3308-3309), the prefill (tc_piecewise) CUDA graphs 8 MiB per "
         "captured size up to chunked_prefill_size and at most --context-length where given (lines 3239-3274, "
         "_generate_prefill_cuda_graph_batch_sizes lines 3384-3401)"),
    #    0.5.15 and 0.5.15.post1: the same sum for what kvplan plans (server_args.py _handle_gpu_memory_settings lines
    #    3469-3704: tiers lines 3496-3556, prefill max_bs lines 3586-3605, the --context-length clamp lines 3607-3614,
    #    sum lines 3623-3660, prefill term lines 3662-3670, floor lines 3672-3673); new terms only for PD
    #    disaggregation (a decode node's activation slack lines 3627-3633, no decode graphs on a prefill node, no
    #    prefill graphs on a decode node) and DeepEP all-to-all (+2 GiB lines 3675-3684), neither planned; the
    #    decode-graph term needs the decode backend on (full by default). Which prefill graphs reserve is rule
    #    prefill_graphs (breakable by default on CUDA: off for MLA, kept with pipeline stages).
    Rule("mem_fraction_static_default", "0.5.15", "0.5.15.post1", "reserved_0_5_13",
         _ARGS + " (0.5.15) _handle_gpu_memory_settings lines 3469-3704: as 0.5.13 (tiers lines 3496-3556, sum lines "
         "3623-3660, prefill graphs lines 3662-3670, floor lines 3672-3673), the prefill graphs 8 MiB per captured "
         "size up to chunked_prefill_size and at most --context-length where given (lines 3586-3620, "
         "_generate_prefill_cuda_graph_batch_sizes lines 3759-3776)"),
    #    0.5.16: the same sum for what kvplan plans (server_args.py _handle_gpu_memory_settings lines 3900-4103: tiers
    #    lines 3928-3987, prefill max_bs lines 4017-4037, the --context-length clamp lines 4039-4045, sum lines
    #    4060-4083 with reserve_for_graph_mb lines 4164-4196 and reserve_for_deepep_a2a_mb lines 4198-4210, floor lines
    #    4080-4081, fraction line 4085); post_capture_kv_sizing_planned (lines 4105-4141) keeps only 512 + tp x pp / 8
    #    GiB and sizes the pool after capture, but only with SGLANG_ENABLE_POST_CAPTURE_KV_SIZING (EnvBool(False),
    #    environ.py line 337), which kvplan cannot see.
    #    0.5.17: the same sum (lines 4607-4808: tiers lines 4635-4694, prefill max_bs lines 4724-4744, sum lines
    #    4754-4782, floor lines 4779-4780; + 1 GiB for breakable prefill graphs with DeepEP, lines 4914-4920, not
    #    planned), but the --context-length clamp is gone: rule prefill_graphs "context_clamp" False. Which prefill
    #    graphs reserve is rule prefill_graphs.
    Rule("mem_fraction_static_default", "0.5.16", "0.5.17", "reserved_0_5_13",
         _ARGS + " (0.5.16) _handle_gpu_memory_settings lines 3900-4103 (sum lines 4060-4083, floor lines 4080-4081), "
         "reserve_for_graph_mb lines 4164-4196; 0.5.17 lines 4607-4808 (sum lines 4754-4782), reserve_for_graph_mb "
         "lines 4882-4922; the post-capture path only with SGLANG_ENABLE_POST_CAPTURE_KV_SIZING (off)"),
    #    0.5.18: the same sum (server_args.py _handle_gpu_memory_settings lines 4802-5004: tiers lines 4830-4889,
    #    prefill max_bs lines 4919-4939, sum lines 4949-4977, floor lines 4974-4975; reserve_for_graph_mb lines
    #    5078-5118 and _generate_prefill_cuda_graph_batch_sizes lines 5186-5203 identical); the opt-in post-capture path
    #    reserves 1536 (was 512) MiB + tp x pp / 8 GiB (line 4952), and --language-model-only (default False) skips the
    #    VLM step.
    #    0.5.19: the same sum, moved to arg_groups/memory_hook.py handle_gpu_memory_settings (lines 26-289: 0.5.18's
    #    with declare_resolution for the field writes; tiers lines 63-150 keep 0.5.18's 2,048 / 24 / 80 on 20-35 GiB, no
    #    --max-running-requests cap on the decode max_bs, unlike 0.5.22) and reserve_for_graph_mb (lines 292-334); one
    #    new branch caps the prefill max_bs at 8,192 at pp > 1 (lines 23, 196-204), reached only with the breakable
    #    backend asked for at pp > 1 (rule prefill_graphs turns it off there by default).
    Rule("mem_fraction_static_default", "0.5.18", "0.5.19", "reserved_0_5_13",
         _ARGS + " (0.5.18) _handle_gpu_memory_settings lines 4802-5004 (sum lines 4949-4977, floor lines 4974-4975), "
         "reserve_for_graph_mb lines 5078-5118; 0.5.19 sglang/srt/arg_groups/memory_hook.py handle_gpu_memory_settings "
         "lines 26-289 (sum lines 231-256), reserve_for_graph_mb lines 292-334"),
    #    0.5.20: arg_groups/memory_hook.py handle_gpu_memory_settings (lines 47-347) is 0.5.22's but for 0.5.22's cap
    #    of a default decode max_bs at a given --max-running-requests (0.5.22 lines 83, 135-142): the 20-35 GiB tier
    #    takes chunked_prefill_size 4,096 and decode max_bs 48 / 160 (lines 100-116; 0.5.19: 2,048 / 24 / 80), the
    #    sum lines 296-315, the floor lines 307-308, round(..., 3) lines 317-321; reserve_for_graph_mb (lines
    #    350-392) identical to 0.5.19's (DP attention by dp_size, which is kvplan's dp), the breakable prefill graphs
    #    off at pp > 1 as 0.5.19 (rule prefill_graphs); +2 GiB on XPU only (line 314). Qwen3-VL's
    #    expand_multimodal_decode_graph_to_running_limit (model_overrides/qwen3_vl.py lines 37-66, called lines
    #    181-187) acts on large Hopper GPUs only, where rule qwen3_vl_hopper refuses Qwen3-VL.
    #    0.5.21 the same (memory_hook.py handle_gpu_memory_settings lines 47-347 and reserve_for_graph_mb lines 350-392
    #    identical to 0.5.20's: no --max-running-requests cap, DP attention by dp_size; cuda_graph_hook.py
    #    generate_prefill_cuda_graph_batch_sizes lines 622-639; the new finalize_cuda_graph_prefill_max_context, lines
    #    592-619, runs after the fraction is set, arg_groups/pipeline.py, as in 0.5.22)
    Rule("mem_fraction_static_default", "0.5.20", "0.5.21", "reserved_0_5_20",
         _MEM23 + " (0.5.20) handle_gpu_memory_settings lines 47-347 (tiers lines 89-170, sum lines 296-315, floor "
         "lines 307-308), reserve_for_graph_mb lines 350-392; cuda_graph_hook.py "
         "generate_prefill_cuda_graph_batch_sizes lines 557-574"),
    Rule("mem_fraction_static_default", "0.5.22", "0.5.23", "reserved_0_5_23",
         _MEM23 + " handle_gpu_memory_settings lines 89-345, reserve_for_graph_mb lines 357-399: as 0.5.8, with "
         "chunked_prefill_size 4096 and decode max_bs 48 / 160 on 20-35 GiB GPUs, max_bs capped by "
         "--max-running-requests, and the breakable prefill CUDA graphs (on by default on CUDA, off with pp > 1): "
         "8 MiB per captured size, 1.5 GiB for MLA; "
         "0.5.22 the same (arg_groups/memory_hook.py handle_gpu_memory_settings lines 47-345, reserve_for_graph_mb "
         "lines 359-401; cuda_graph_hook.py generate_prefill_cuda_graph_batch_sizes lines 442-459; its MLA prefill "
         "graphs stop at 2,048 tokens, not min(8192, chunked_prefill_size), which the flat 1.5 GiB does not read)"),
    # 0.5.23 (mem_cache/kv_cache_configurator.py _profile_available_bytes lines 2990-3062): rest =
    # free now - pre_model_load_memory x (1 - mem_fraction_static), pre_model_load_memory the free
    # memory after the distributed init (distributed/bootstrap.py measure_pre_model_load_memory
    # lines 193-223), tokens = int(rest x 2**30) // cell_size rounded down to pages
    # (model_executor/pool_configurator.py DefaultPoolConfigurator.calculate_pool_sizes lines
    # 637-647): 0.5.8's formula. Its one new term, mm_runtime_reservation_gb (100 MiB more for a
    # multimodal model, lines 202-219), is rule multimodal (SGLang.multimodal_reserve_bytes).
    #    0.5.9 the same (model_runner_kv_cache_mixin.py profile_max_num_token lines 116-151)
    #    0.5.10 the same (model_runner_kv_cache_mixin.py profile_max_num_token lines 144-177: its
    #    argument renamed pre_model_load_memory, measured as before, model_runner.py line 999)
    #    0.5.11 the same formula, moved: model_runner_kv_cache_mixin.py _profile_available_bytes lines 56-70
    #    (int(rest x 2**30) bytes, rest = free now - pre_model_load_memory x (1 - mem_fraction_static)), then
    #    model_executor/pool_configurator.py DefaultPoolConfigurator.calculate_pool_sizes lines 170-175 (bytes //
    #    cell_size, rounded down to pages; _compute_cell_size lines 113-168 as 0.5.10's get_cell_size_per_token)
    #    0.5.12 the same (model_runner_kv_cache_mixin.py _profile_available_bytes lines 62-76, identical;
    #    pool_configurator.py DefaultPoolConfigurator lines 86-193, identical, calculate_pool_sizes lines
    #    182-187; create_memory_pool_configurator lines 464-473 adds DSV4PoolConfigurator for DeepSeek-V4 only)
    #    0.5.13 and 0.5.13.post1 the same (model_runner_kv_cache_mixin.py _profile_available_bytes lines 66-80,
    #    _resolve_memory_pool_config lines 941-966, identical; pool_configurator.py DefaultPoolConfigurator lines 86-193
    #    (_compute_cell_size only renames NSA to DSA), calculate_pool_sizes lines 182-187, create_memory_pool_configurator
    #    lines 471-480, identical)
    #    0.5.14 the same for a start without speculative decoding (model_runner_kv_cache_mixin.py
    #    _profile_available_bytes lines 85-120, but rest <= 0 raises 'Loaded weights leave no GPU memory for the KV
    #    cache' (lines 101-117) where 0.5.13 reached pool_configurator.py's 'Not enough memory': no start either way;
    #    _resolve_memory_pool_config lines 1051-1076 and init_memory_pool lines 1078-1093 identical;
    #    DefaultPoolConfigurator lines 108-233 scales the cell for EAGLE / STANDALONE drafts only (lines 127-144),
    #    _compute_cell_size lines 165-220 and calculate_pool_sizes lines 222-227 identical). The pool is allocated by
    #    managers/scheduler.py init_memory_pools (lines 836-846, called line 868) after the tp worker is built, not
    #    inside ModelRunner.initialize: in between only CPU work (tp_worker.py lines 276-309: tokenizer, the seed
    #    broadcast over the CPU group).
    #    0.5.15 and 0.5.15.post1 the same (model_runner_kv_cache_mixin.py _profile_available_bytes lines 104-139,
    #    _resolve_max_num_reqs lines 1225-1262 and init_memory_pool lines 1323-1338 identical; _resolve_memory_pool_config
    #    lines 1295-1321 adds finalize_with_max_running_requests, the identity but for DeepSeek-V4;
    #    pool_configurator.py DefaultPoolConfigurator.calculate_pool_sizes lines 270-275 identical, _compute_cell_size
    #    lines 175-268 adds a MiniMax sparse-attention branch; MHATokenToKVPool's default NHD buffers as before, an
    #    HND layout only under SGLANG_USE_HND_KVCACHE; the unified memory pool only with --enable-unified-memory)
    #    0.5.16 the same for what kvplan plans, moved: mem_cache/kv_cache_configurator.py KVCacheConfigurator
    #    (_profile_available_bytes lines 1527-1570, as 0.5.15's but a Mamba post-capture floor; _resolve_memory_pool_config
    #    lines 1661-1677 with config_from_budget lines 1679-1701, 0.5.15's calculate / constrain / recalculate;
    #    _apply_token_constraints lines 1593-1620), model_executor/pool_configurator.py DefaultPoolConfigurator lines
    #    121-298 (renames; the DSA layer-split layer count, layers/cp/utils.py lines 83-98, is num_layers unless
    #    --enable-dsa-cache-layer-split), MHATokenToKVPool's buffers as before (memory_pool.py lines 1969-2033)
    #    0.5.17 the same for what kvplan plans (kv_cache_configurator.py lines 1614-1657, 1690-1717, 1774-1814 renames;
    #    pool_configurator.py _compute_cell_size lines 183-315 sizes an MLA latent by calculate_mla_kv_cache_dim, lines
    #    204-210: the bytes stored, which differ from kv_lora_rank + qk_rope_head_dim only for the fp8 DSA layout
    #    below 10.x that rule dsa refuses)
    #    0.5.18 the same for what kvplan plans (kv_cache_configurator.py _profile_available_bytes lines 1764-1811:
    #    0.5.17's less the multimodal reservation, rule multimodal; _resolve_memory_pool_config / config_from_budget
    #    lines 1928-1968 identical; pool_configurator.py _compute_cell_size lines 235-350: MHA heads by
    #    get_num_kv_heads(tp, dcp), dcp 1 by default; the DSA indexer term, _compute_dsa_indexer_cell_size lines
    #    352-413, counts only the layers that compute top-k, all of DeepSeek-V3.2's; calculate_pool_sizes lines 415-424
    #    identical)
    #    0.5.19 the same (_profile_available_bytes lines 1990-2043 runs gc.collect() before it measures: weight-loading
    #    temporaries still referenced are freed first; config_from_budget lines 2178-2208 + the unified pool's byte
    #    total, --enable-unified-memory only; pool_configurator.py lines 157-436 renames)
    #    0.5.20 the same (mem_cache/kv_cache_configurator.py KVCacheConfigurator._profile_available_bytes lines
    #    2148-2201, _resolve_memory_pool_config lines 2318-2334 and _apply_token_constraints lines 2234-2261 identical
    #    to 0.5.19's; config_from_budget lines 2336-2372 adds an assert only; model_executor/pool_configurator.py
    #    calculate_pool_sizes lines 533-543 floors a negative budget at 0 tokens; _compute_cell_size lines 295-429 adds
    #    NPU / --enable-hisparse paths and _compute_qsa_cell_size lines 432-450, a term only for a config with
    #    indexer_n_heads: Qwen4Exp's QSA, which kvplan does not import)
    #    0.5.21 the same for what kvplan plans (kv_cache_configurator.py _profile_available_bytes lines 2177-2230: world
    #    size read through get_parallel(); _apply_token_constraints lines 2263-2290, config_from_budget lines 2365-2400,
    #    _derive_pool_sizes lines 422-477 as 0.5.22; pool_configurator.py calculate_pool_sizes lines 552-562 identical
    #    to 0.5.20's; _compute_cell_size lines 278-449 sizes an fp4 cache by its quant method, 0.5.22's
    #    NVFP4KVCacheMethod, and MiniMax-M3's sparse pool anew)
    Rule("pool_formula", "0.4.6", "0.5.21", "fraction_of_free_at_start",
         "python/sglang/srt/model_executor/model_runner.py (0.5.8: model_runner_kv_cache_mixin.py): "
         "profile_max_num_token"),
    Rule("pool_formula", "0.5.22", "0.5.23", "fraction_of_free_at_start",
         "sglang/srt/mem_cache/kv_cache_configurator.py _profile_available_bytes (lines 2990-3062); "
         "model_executor/pool_configurator.py calculate_pool_sizes (lines 637-647); "
         "0.5.22 the same (kv_cache_configurator.py _profile_available_bytes lines 2671-2743)"),
    #    0.5.9 the same (server_args.py line 338 page_size None)
    #    0.5.10 the same (server_args.py line 359 page_size None; _handle_page_size lines 2546-2548)
    #    0.5.11 the same (server_args.py line 377 page_size None; _handle_page_size lines 2815-2820: 1, 64 on MUSA only)
    #    0.5.12 the same (server_args.py line 434 page_size None; _handle_page_size lines 2949-2954, identical)
    #    0.5.13 and 0.5.13.post1 the same (server_args.py line 440 page_size None; _handle_page_size lines 3162-3183:
    #    1, but 64 on ROCm with SGLANG_AITER_KV_CACHE_LAYOUT=vectorized_5d (default 'nhd', environ.py line 455), as
    #    0.5.22's, and 64 on MUSA)
    #    0.5.14 the same (server_args.py line 744 page_size None; _handle_page_size lines 4806-4827, identical)
    #    0.5.15 and 0.5.15.post1 the same (server_args.py line 719 page_size None; _handle_page_size lines 4561-4569 runs
    #    arg_groups/overrides.py _page_size_default lines 1755-1775, the same choices)
    #    0.5.16 the same (_handle_page_size lines 5148-5156 identical; overrides.py _page_size_default lines 1917-1936)
    #    0.5.17 the same (_handle_page_size lines 5924-5932; _page_size_default lines 2280-2299)
    #    0.5.18 the same (_handle_page_size lines 6139-6147; _page_size_default lines 2378-2397, identical)
    #    0.5.19 the same (_page_size_default overrides.py lines 1377-1399, a rename, run by arg_groups/pipeline.py line
    #    264)
    #    0.5.20 the same (arg_groups/overrides.py _page_size_default lines 1397-1419, identical)
    #    0.5.21 the same (_page_size_default overrides.py lines 1280-1302, identical)
    Rule("page_size", "0.4.6", "0.5.21", 1, _ARGS + ": page_size default 1"),
    Rule("page_size", "0.5.22", "0.5.23", 1,
         _OVR23 + " _page_size_default lines 1341-1364: 1 but on MUSA, or ROCm with SGLANG_AITER_KV_CACHE_LAYOUT="
         "vectorized_5d (default 'nhd', environ.py line 1031); "
         "0.5.22 the same (overrides.py _page_size_default lines 1304-1327)"),
    Rule("kv_cache_dtypes", "0.4.6", "0.5.2", ("auto", "fp8_e5m2", "fp8_e4m3"), _ARGS + ": --kv-cache-dtype choices"),
    Rule("kv_cache_dtypes", "0.5.4", "0.5.6", ("auto", "fp8_e5m2", "fp8_e4m3", "bf16", "bfloat16"),
         _ARGS + ": --kv-cache-dtype choices"),
    #    0.5.9 the same choices (server_args.py line 3083)
    #    0.5.10 the same choices (server_args.py line 3860)
    #    0.5.11 the same choices (server_args.py line 4431)
    #    0.5.12 the same choices (server_args.py line 4790)
    #    0.5.13 and 0.5.13.post1 the same choices (server_args.py line 4750)
    #    0.5.14 the same choices (server_args.py line 600, the field's Arg)
    #    0.5.15 and 0.5.15.post1 the same choices (server_args.py line 567)
    Rule("kv_cache_dtypes", "0.5.8", "0.5.15.post1", ("auto", "fp8_e5m2", "fp8_e4m3", "bf16", "bfloat16", "fp4_e2m1"),
         _ARGS + ": --kv-cache-dtype choices"),
    #    0.5.16: + mxfp8, nvfp4, fp4_mx_block16 (server_args.py lines 604-629, 0.5.22's and fp4_e2m1, which
    #    mem_cache/kv_cache_dtype.py configure_kv_cache_dtype, lines 22-94, now rejects as deprecated);
    #    0.5.17 the same (server_args.py lines 671-697); 0.5.18 (lines 680-706) and 0.5.19 (lines 604-614) the same
    #    0.5.20 the same nine choices (arg_groups/fields/model.py kv_cache_dtype lines 196-221, choices lines 207-217;
    #    mem_cache/kv_cache_dtype.py configure_kv_cache_dtype lines 23-104 still rejects fp4_e2m1, lines 65-69)
    Rule("kv_cache_dtypes", "0.5.16", "0.5.20",
         ("auto", "fp8_e5m2", "fp8_e4m3", "mxfp8", "bf16", "bfloat16", "nvfp4", "fp4_mx_block16", "fp4_e2m1"),
         _ARGS + " (0.5.16) lines 604-629: --kv-cache-dtype choices; 0.5.17 lines 671-697"),
    #    0.5.21: 0.5.22's eight choices, no fp4_e2m1 (arg_groups/fields/model.py kv_cache_dtype lines 189-213, choices
    #    lines 201-210; kv_cache_dtype.py configure_kv_cache_dtype lines 23-99 = 0.5.22's)
    Rule("kv_cache_dtypes", "0.5.21", "0.5.23",
         ("auto", "fp8_e5m2", "fp8_e4m3", "mxfp8", "bf16", "bfloat16", "nvfp4", "fp4_mx_block16"),
         "sglang/srt/arg_groups/fields/model.py lines 197-220: --kv-cache-dtype choices; "
         "0.5.22 the same (arg_groups/fields/model.py lines 191-214)"),
    # -- --kv-cache-dtype values kvplan has a format of that name for but does not plan under the
    #    release: {name: why}. 0.5.23's nvfp4 keeps scale buffers (linear or per page, by
    #    backend) and a dequant workspace beside the e2m1 values (layers/quantization/
    #    fp4_kv_cache_quant_method.py NVFP4KVCacheMethod.create_buffers lines 572-660), whose
    #    bytes kvplan's nvfp4 (d/2 + d/16) does not follow.
    #    0.5.9 the same choices (server_args.py line 3083)
    #    0.5.10 the same choices (server_args.py line 3860)
    #    0.5.11 the same (server_args.py line 4431)
    #    0.5.12 the same (server_args.py line 4790)
    #    0.5.13 and 0.5.13.post1 the same (server_args.py line 4750)
    #    0.5.14 the same (server_args.py line 600)
    #    0.5.15 and 0.5.15.post1 the same (server_args.py line 567)
    Rule("kv_dtypes_unmodelled", "0.4.6", "0.5.15.post1", {}, _ARGS + ": no --kv-cache-dtype kvplan has a format for "
         "but does not plan (fp4_e2m1 has no kvplan format)"),
    #    0.5.16 and 0.5.17: nvfp4 as 0.5.22 (layers/quantization/fp4_kv_cache_quant_method.py NVFP4KVCacheMethod lines
    #    333-556 in both); 0.5.18 and 0.5.19 the same (fp4_kv_cache_quant_method.py: only load_scales_from_model
    #    differs)
    #    0.5.20 the same (layers/quantization/fp4_kv_cache_quant_method.py NVFP4KVCacheMethod lines 385-608, identical)
    Rule("kv_dtypes_unmodelled", "0.5.16", "0.5.20",
         {"nvfp4": "its nvfp4 cache keeps scale buffers (linear or per page, by attention backend) and a dequant "
                   "workspace beside the e2m1 values (layers/quantization/fp4_kv_cache_quant_method.py "
                   "NVFP4KVCacheMethod.create_buffers), which kvplan's nvfp4 format does not follow"},
         "python/sglang/srt/layers/quantization/fp4_kv_cache_quant_method.py (0.5.16, 0.5.17) NVFP4KVCacheMethod "
         "lines 333-556"),
    #    0.5.21 the same (fp4_kv_cache_quant_method.py NVFP4KVCacheMethod lines 443-768 = 0.5.22's)
    Rule("kv_dtypes_unmodelled", "0.5.21", "0.5.23",
         {"nvfp4": "its nvfp4 cache keeps scale buffers (linear or per page, by attention backend) and a dequant "
                   "workspace beside the e2m1 values (layers/quantization/fp4_kv_cache_quant_method.py "
                   "NVFP4KVCacheMethod.create_buffers), which kvplan's nvfp4 format does not follow"},
         "sglang/srt/layers/quantization/fp4_kv_cache_quant_method.py NVFP4KVCacheMethod (lines 443-660); "
         "0.5.22 the same file"),
    #    0.5.23 measures the baseline as 0.5.8 does (distributed/bootstrap.py
    #    measure_pre_model_load_memory lines 193-223, after the distributed init): the same figures.
    #    0.5.9 the same measurement (model_runner.py init_torch_distributed lines 729-853, min_per_gpu_memory
    #    after the distributed init)
    #    0.5.10 the same measurement (model_runner.py init_torch_distributed lines 889-1024,
    #    pre_model_load_memory line 999 after the distributed init; the NCCL pre-warm before it runs only
    #    with --pre-warm-nccl, on by default on AMD, as 0.5.23's)
    #    0.5.11 the same measurement (model_runner.py init_torch_distributed lines 1101-1239: + enable_symm_mem,
    #    default off, and the elastic-EP rejoin rank passed on; pre_model_load_memory line 1214)
    #    0.5.12 the same measurement (model_runner.py init_torch_distributed lines 1186-1324, identical;
    #    pre_model_load_memory line 1299)
    #    0.5.13 and 0.5.13.post1 the same measurement (model_runner.py init_torch_distributed lines 1086-1229: a
    #    Mooncake IB-device lookup and current_platform.synchronize() for torch.cuda's; pre_model_load_memory line 1204)
    #    0.5.14 the same measurement (model_runner.py init_torch_distributed lines 1145-1288, identical;
    #    pre_model_load_memory line 1263)
    #    0.5.15 and 0.5.15.post1 the same (init_torch_distributed lines 1231-1375: + the decode context-parallel size,
    #    1 by default)
    #    0.5.16 the same measurement (ModelRunner.init_torch_distributed, model_runner.py lines 882-895, calls
    #    distributed/bootstrap.py init_torch_distributed lines 51-143: pre_model_load_memory after the distributed
    #    init, lines 116-121); 0.5.17 the same (bootstrap.py lines 51-135)
    #    0.5.18 the same measurement (bootstrap.py init_torch_distributed lines 64-159: a TP LM-head all-to-all pre-warm
    #    before it only with enable_tp_lm_head_all_to_all, which overrides.py _tp_lm_head_all_to_all_default lines
    #    2408-2428 turns on for PD decode nodes only); 0.5.19 the same (lines 71-170: a gated-launch wait only with
    #    --gated-launch-port, default None). Both pin torch 2.13.0 (0.5.17: 2.11.0); these figures are vLLM's anyway.
    #    0.5.20 the same measurement (distributed/bootstrap.py init_torch_distributed lines 70-172: before_avail_memory
    #    after the process-group init, as 0.5.19)
    #    0.5.21 the same measurement (distributed/bootstrap.py measure_pre_model_load_memory lines 177-207 = 0.5.22's)
    Rule("startup_in_use_bytes", "0.4.6", "0.5.23", {"single": gib("0.51"), "parallel": gib("1.53")},
         "memory in use before loading (CUDA context, NCCL): total - free at startup in the vLLM v0.19.0 H100 "
         "logs (79.19 - 78.68 one GPU, 79.19 - 77.66 with tp); not yet read from an SGLang log; "
         "0.5.22 the same measurement (distributed/bootstrap.py measure_pre_model_load_memory lines 187-217)"),
    # -- minimum compute capability of the quantization methods kvplan plans weights for, as
    #    (major, minor); None: the release has no such method. SGLang refuses to load below it
    #    (python/sglang/srt/model_loader/loader.py _get_quantization_config: "capability <
    #    quant_config.get_min_capability()" raises "is not supported for the current GPU"; CUDA
    #    only, so AMD is not checked). Read in each of the 8 wheels: Fp8Config 80 in all;
    #    Mxfp4Config (layers/quantization/mxfp4.py) 80 from 0.5.1, no mxfp4.py before.
    Rule("weights_min_capability", "0.4.6", "0.4.10", {"fp8": (8, 0), "mxfp4": None},
         "python/sglang/srt/layers/quantization/fp8.py Fp8Config.get_min_capability 80, checked by "
         "model_loader/loader.py _get_quantization_config; no layers/quantization/mxfp4.py before 0.5.1"),
    #    0.5.9 the same for kvplan's fp8 and mxfp4 (fp8.py get_min_capability lines 157-158: 80 but 100 for
    #    mxfp8 checkpoints; mxfp4.py lines 242-243; model_loader/loader.py _get_quantization_config lines
    #    192-254)
    #    0.5.10 the same (fp8.py get_min_capability lines 175-176: 80, 100 for mxfp8; mxfp4.py lines 259-260)
    #    0.5.11 the same (fp8.py get_min_capability lines 188-192: 80, 100 for mxfp8, 31 on MUSA; mxfp4.py lines 256-257)
    #    0.5.12 the same (fp8.py get_min_capability lines 191-195; mxfp4.py lines 327-328)
    #    0.5.13 and 0.5.13.post1 the same (fp8.py get_min_capability lines 208-212; mxfp4.py lines 335-336)
    #    0.5.14 the same on CUDA (fp8.py get_min_capability lines 208-214: 0 on NPU first; mxfp4.py lines 273-274)
    #    0.5.15 and 0.5.15.post1 the same (fp8.py get_min_capability lines 277-283, mxfp4.py lines 273-274, identical)
    #    0.5.16 the same for kvplan's formats (fp8.py get_min_capability lines 282-292: + 95 / 94 for mxfp8 on ROCm;
    #    mxfp4.py lines 273-274); 0.5.17 the same (fp8.py lines 288-298, mxfp4.py lines 277-278)
    #    0.5.18 the same (fp8.py lines 289-299, mxfp4.py lines 278-279, identical); 0.5.19 the same (lines 298-308,
    #    334-335)
    #    0.5.20 the same (fp8.py Fp8Config.get_min_capability lines 312-322, mxfp4.py Mxfp4Config.get_min_capability
    #    lines 320-321, identical)
    #    0.5.21 the same (fp8.py Fp8Config.get_min_capability lines 318-328, mxfp4.py lines 324-325, identical)
    Rule("weights_min_capability", "0.5.1", "0.5.21", {"fp8": (8, 0), "mxfp4": (8, 0)},
         "python/sglang/srt/layers/quantization/fp8.py Fp8Config.get_min_capability 80, mxfp4.py Mxfp4Config 80, "
         "checked by model_loader/loader.py _get_quantization_config"),
    Rule("weights_min_capability", "0.5.22", "0.5.23", {"fp8": (8, 0), "mxfp4": (8, 0)},
         "sglang/srt/layers/quantization/fp8.py Fp8Config.get_min_capability lines 329-339 (80 but for mxfp8 "
         "checkpoints), mxfp4.py Mxfp4Config line 339 (80), checked by model_loader/loader.py lines 253-264; "
         "0.5.22 the same (fp8.py lines 323-333, model_loader/loader.py lines 249-260)"),
    # -- the lowest compute capability SGLang starts on: ModelRunner.load_model raises "SGLang only
    #    supports sm75 and above." when major < 8 and minor < 5 (7.0 V100, 6.x Pascal), and runs
    #    every GPU below 8.0 in float16 (see serving_dtype). Read in all 8 wheels.
    #    0.5.9 the same (model_runner.py line 913)
    #    0.5.10 the same (model_runner.py lines 1084-1089)
    #    0.5.11 the same (model_runner.py lines 1299-1304)
    #    0.5.12 the same (model_runner.py lines 1384-1389)
    #    0.5.13 and 0.5.13.post1 the same (model_runner.py lines 1289-1294)
    #    0.5.14 the same (model_runner.py lines 1348-1353; load_model identical)
    #    0.5.15 and 0.5.15.post1 the same (model_runner.py line 1440)
    #    0.5.16 the same (model_runner_components/load_model_utils.py maybe_downgrade_dtype_for_legacy_gpu lines 48-62);
    #    0.5.17 the same (load_model_utils.py)
    #    0.5.18 the same (load_model_utils.py lines 65-79, a rename); 0.5.19 the same (lines 75-86)
    #    0.5.20 the same (model_executor/model_runner_components/load_model_utils.py
    #    maybe_downgrade_dtype_for_legacy_gpu lines 75-86, identical)
    #    0.5.21 the same (load_model_utils.py maybe_downgrade_dtype_for_legacy_gpu lines 75-86, identical)
    Rule("min_capability", "0.4.6", "0.5.21", (7, 5),
         "python/sglang/srt/model_executor/model_runner.py load_model: 'SGLang only supports sm75 and above.'"),
    Rule("min_capability", "0.5.22", "0.5.23", (7, 5),
         "sglang/srt/model_executor/model_runner_components/load_model_utils.py maybe_downgrade_dtype_for_legacy_gpu "
         "lines 80-91: 'SGLang only supports sm75 and above.'; "
         "0.5.22 the same file"),
    # -- the attention backend SGLang picks by default for a model without MLA (rule
    #    mha_backend_default, read by SGLang.check_kv_on_gpu): rows (lowest capability, below,
    #    backend, architectures or None for every model without MLA); the first row that covers
    #    the GPU and the model's architecture applies, else FlashInfer (a dependency of every
    #    release: Requires-Dist flashinfer_python), whose fp8 caches kvplan has not read, so not
    #    checked. FA3 on 9.x (is_hopper_with_cuda_12_3: major 9) for the architectures of
    #    is_fa3_default_architecture (sglang/srt/utils.py; utils/common.py from 0.5.4) and, from
    #    0.5.1, GptOssForCausalLM (server_args.py _handle_model_specific_adjustments); from 0.5.8
    #    FA3 for every model on 9.x and trtllm_mha on 10.x (is_sm100_supported: major 10) but for
    #    the architectures whose own adjustment picks another backend there ("own").
    Rule("mha_backend_default", "0.4.6", "0.4.6",
         {"rows": (((9, 0), (10, 0), "fa3", ("Qwen2ForCausalLM", "Llama4ForConditionalGeneration",
                                             "LlamaForCausalLM", "MistralForCausalLM", "Gemma2ForCausalLM",
                                             "Gemma3ForConditionalGeneration")),), "own": ()},
         "python/sglang/srt/model_executor/model_runner.py model_specific_adjustment (attention_backend None); "
         "utils.py is_fa3_default_architecture"),
    Rule("mha_backend_default", "0.4.9", "0.4.9",
         {"rows": (((9, 0), (10, 0), "fa3", _FA3_0_4_9),), "own": ()},
         "python/sglang/srt/model_executor/model_runner.py model_specific_adjustment; utils.py "
         "is_fa3_default_architecture"),
    Rule("mha_backend_default", "0.4.10", "0.4.10",
         {"rows": (((9, 0), (10, 0), "fa3", _FA3_0_4_9 + ("Glm4MoeForCausalLM",)),), "own": ()},
         "python/sglang/srt/model_executor/model_runner.py model_specific_adjustment; utils.py "
         "is_fa3_default_architecture"),
    Rule("mha_backend_default", "0.5.1", "0.5.2",
         {"rows": (((10, 0), (11, 0), "trtllm_mha", ("GptOssForCausalLM",)),
                   ((9, 0), (10, 0), "fa3", _FA3_0_5_1 + ("GptOssForCausalLM",))), "own": ()},
         "python/sglang/srt/model_executor/model_runner.py model_specific_adjustment; utils.py "
         "is_fa3_default_architecture; " + _ARGS + " model_specific_adjustments (GptOssForCausalLM: trtllm_mha on "
         "sm100, fa3 on sm90; 0.5.1 line 2229)"),
    Rule("mha_backend_default", "0.5.4", "0.5.4",
         {"rows": (((10, 0), (11, 0), "trtllm_mha", ("GptOssForCausalLM", "Olmo2ForCausalLM")),
                   ((8, 0), (99, 0), "fa3", ("Olmo2ForCausalLM",)),
                   ((9, 0), (10, 0), "fa3", _FA3_0_5_1 + ("Olmo2ForCausalLM", "GptOssForCausalLM"))), "own": ()},
         "python/sglang/srt/model_executor/model_runner.py model_specific_adjustment; utils/common.py "
         "is_fa3_default_architecture; " + _ARGS + " _handle_model_specific_adjustments (GptOss, Olmo2: trtllm_mha on "
         "sm100, lines 911 and 992; fa3 on sm90)"),
    Rule("mha_backend_default", "0.5.6", "0.5.6",
         {"rows": (((10, 0), (11, 0), "trtllm_mha", ("GptOssForCausalLM", "Olmo2ForCausalLM",
                                                     "Llama4ForConditionalGeneration", "Llama4ForCausalLM")),
                   ((8, 0), (99, 0), "fa3", ("Olmo2ForCausalLM",)),
                   ((9, 0), (10, 0), "fa3", _FA3_0_5_1 + ("Olmo2ForCausalLM", "GptOssForCausalLM", "Llama4ForCausalLM"))),
          "own": ()},
         _ARGS + " _handle_attention_backend_compatibility; utils/common.py is_fa3_default_architecture; "
         "_handle_model_specific_adjustments (GptOss, Olmo2 and every '\"Llama4\" in model_arch': trtllm_mha on "
         "sm100; GptOss, Olmo2: fa3 on sm90)"),
    Rule("mha_backend_default", "0.5.8", "0.5.8",
         {"rows": _OLMO2_ROWS + _MHA_FA3_TRTLLM,
          "own": ("Qwen3NextForCausalLM", "NemotronHForCausalLM", "FalconH1ForCausalLM", "JetNemotronForCausalLM",
                  "JetVLMForConditionalGeneration")},
         _ARGS + " _handle_attention_backend_compatibility (line 1644: fa3 on Hopper, trtllm_mha on sm100 for every "
         "MHA model); _handle_model_specific_adjustments: Qwen3Next (triton), NemotronH (flashinfer), FalconH1 and "
         "JetNemotron (triton) on sm100"),
    #    0.5.9: the same default (_handle_attention_backend_compatibility lines 1803 / 1812: fa3 on Hopper, trtllm_mha
    #    on sm100), and _handle_mamba_radix_cache (lines 1699-1760) picks another backend on sm100 for
    #    Qwen3-Next and Qwen3.5 (triton), NemotronH and Lfm2 (flashinfer), FalconH1, JetNemotron, JetVLM
    #    and GraniteMoeHybrid with Mamba layers (triton).
    #    0.5.10 the same (server_args.py _get_default_attn_backend lines 2217-2275, called by
    #    _handle_attention_backend_compatibility line 2288: fa3 on Hopper, trtllm_mha on sm100; Whisper
    #    flashinfer, not planned); _handle_mamba_radix_cache lines 2123-2209 for the same architectures
    #    (Qwen3Next / Qwen3.5 lines 1977-2004: triton with the default mamba_scheduler_strategy no_buffer
    #    line 970, the radix cache on and no speculative decoding; NemotronH line 1946; FalconH1 / JetNemotron
    #    / JetVLM line 2036; GraniteMoeHybrid line 2049; Lfm2 line 2057)
    Rule("mha_backend_default", "0.5.9", "0.5.10",
         {"rows": _OLMO2_ROWS + _MHA_FA3_TRTLLM, "own": _OWN_BACKEND_0_5_9},
         _ARGS + " (0.5.9) _handle_attention_backend_compatibility lines 1803 / 1812 (fa3 on Hopper, trtllm_mha on sm100 "
         "for every MHA model); _handle_model_specific_adjustments -> _handle_mamba_radix_cache lines 1699-1760 "
         "(Qwen3Next / Qwen3.5 line 1580, NemotronH line 1529, FalconH1 / JetNemotron / JetVLM line 1629, GraniteMoeHybrid line 1641, "
         "Lfm2 line 1654)"),
    #    0.5.11: the same rows (_get_default_attn_backend lines 2464-2531: fa3 on Hopper line 2496, trtllm_mha on sm100
    #    line 2505; elsewhere flashinfer unless the model has attention sinks, GptOss / MiMo-V2, then triton: not
    #    a row), the same _handle_mamba_radix_cache architectures (lines 2366-2456; Qwen3Next / Qwen3.5 lines
    #    2184-2241, NemotronH line 2178, FalconH1 / JetNemotron / JetVLM lines 2267-2277, GraniteMoeHybrid
    #    lines 2279-2290, Lfm2 lines 2292-2297; the linear-attention registry, line 1659, registers no
    #    built-in model), and Gemma4ForConditionalGeneration takes triton on every GPU (lines 2087-2090).
    #    MossVL sets only its prefill backend (lines 2091-2101): its decode takes the rows.
    Rule("mha_backend_default", "0.5.11", "0.5.11",
         {"rows": _OLMO2_ROWS + _MHA_FA3_TRTLLM, "own": _OWN_BACKEND_0_5_9 + ("Gemma4ForConditionalGeneration",)},
         _ARGS + " (0.5.11) _get_default_attn_backend lines 2464-2531 (fa3 on Hopper line 2496, trtllm_mha on sm100 "
         "line 2505); _handle_model_specific_adjustments: _handle_mamba_radix_cache lines 2366-2456 (Qwen3Next / "
         "Qwen3.5 lines 2184-2241, NemotronH line 2178, FalconH1 / JetNemotron / JetVLM line 2276, GraniteMoeHybrid "
         "line 2289, Lfm2 line 2297), Gemma4ForConditionalGeneration triton lines 2087-2090"),
    #    0.5.12: _get_default_attn_backend identical (lines 2579-2646: fa3 on Hopper line 2611, trtllm_mha on sm100
    #    line 2620); _handle_mamba_radix_cache lines 2481-2571 (only NPU added to an extra-buffer assert) for the
    #    same architectures (Qwen3Next / Qwen3.5 lines 2286-2345, NemotronH line 2280 through
    #    arg_groups/nemotron_h_hook.py lines 41-46, as before; FalconH1 / JetNemotron / JetVLM line 2390,
    #    GraniteMoeHybrid line 2403, Lfm2 line 2411) and two more: InternS2PreviewForConditionalGeneration
    #    (in the Qwen3.5 lists, lines 2291, 2319) and MiniCPMV4_6ForConditionalGeneration (triton on sm100,
    #    lines 2347-2355); Gemma4ForConditionalGeneration triton lines 2224-2227; DeepSeek-V4 its own dsv4
    #    backend and 256-token pages (arg_groups/deepseek_v4_hook.py lines 15-18).
    Rule("mha_backend_default", "0.5.12", "0.5.12",
         {"rows": _OLMO2_ROWS + _MHA_FA3_TRTLLM,
          "own": ("Qwen3NextForCausalLM", "Qwen3_5MoeForConditionalGeneration", "Qwen3_5ForConditionalGeneration",
                  "NemotronHForCausalLM", "FalconH1ForCausalLM", "JetNemotronForCausalLM",
                  "JetVLMForConditionalGeneration", "GraniteMoeHybridForCausalLM", "Lfm2ForCausalLM",
                  "Gemma4ForConditionalGeneration", "InternS2PreviewForConditionalGeneration",
                  "MiniCPMV4_6ForConditionalGeneration", "DeepseekV4ForCausalLM")},
         _ARGS + " (0.5.12) _get_default_attn_backend lines 2579-2646 (fa3 on Hopper line 2611, trtllm_mha on sm100 "
         "line 2620); _handle_model_specific_adjustments: _handle_mamba_radix_cache lines 2481-2571 (Qwen3Next / "
         "Qwen3.5 / InternS2Preview lines 2286-2345, NemotronH line 2280, MiniCPMV4_6 lines 2347-2355, FalconH1 / "
         "JetNemotron / JetVLM line 2390, GraniteMoeHybrid line 2403, Lfm2 line 2411), Gemma4ForConditionalGeneration "
         "triton lines 2224-2227, DeepseekV4 arg_groups/deepseek_v4_hook.py lines 15-18"),
    #    0.5.13 and 0.5.13.post1: _get_default_attn_backend lines 2765-2830 (only an import moved: fa3 on Hopper line
    #    2795, trtllm_mha on sm100 line 2804); the mamba-radix-cache architectures pick their own on sm100 as before
    #    (Qwen3Next / Qwen3.5 / InternS2Preview lines 2476-2535, MiniCPMV4_6 lines 2537-2545, FalconH1 / JetNemotron /
    #    JetVLM lines 2571-2579, Lfm2 lines 2593-2598) but GraniteMoeHybrid flashinfer (was triton, lines 2581-2591),
    #    and NemotronHPuzzleForCausalLM joins NemotronH (line 2470, arg_groups/nemotron_h_hook.py line 60); DeepSeek-V4
    #    dsv4 (deepseek_v4_hook.py line 15). Gemma 4 (now Gemma4ForCausalLM and Gemma4Unified too, lines 2365-2411:
    #    trtllm_mha on sm100 but for a modelopt_fp4 MoE checkpoint, else triton) and Step-3.5 / 3.7 (lines 2293-2307:
    #    fa4 on Blackwell, pages of 128; fa3 on Hopper) are rule own_backend_unread.
    Rule("mha_backend_default", "0.5.13", "0.5.13.post1",
         {"rows": _OLMO2_ROWS + _MHA_FA3_TRTLLM,
          "own": ("Qwen3NextForCausalLM", "Qwen3_5MoeForConditionalGeneration", "Qwen3_5ForConditionalGeneration",
                  "NemotronHForCausalLM", "NemotronHPuzzleForCausalLM", "FalconH1ForCausalLM", "JetNemotronForCausalLM",
                  "JetVLMForConditionalGeneration", "GraniteMoeHybridForCausalLM", "Lfm2ForCausalLM",
                  "InternS2PreviewForConditionalGeneration", "MiniCPMV4_6ForConditionalGeneration",
                  "DeepseekV4ForCausalLM")},
         _ARGS + " (0.5.13) _get_default_attn_backend lines 2765-2830 (fa3 on Hopper line 2795, trtllm_mha on sm100 "
         "line 2804); _handle_model_specific_adjustments: _handle_mamba_radix_cache lines 2664-2757 (Qwen3Next / "
         "Qwen3.5 / InternS2Preview lines 2476-2535, MiniCPMV4_6 lines 2537-2545, FalconH1 / JetNemotron / JetVLM "
         "lines 2571-2579, GraniteMoeHybrid lines 2581-2591, Lfm2 lines 2593-2598), NemotronH / NemotronHPuzzle line "
         "2470 (arg_groups/nemotron_h_hook.py line 60), DeepseekV4 arg_groups/deepseek_v4_hook.py line 15"),
    #    0.5.14: _get_default_attn_backend identical (lines 4407-4472: fa3 on Hopper line 4437, trtllm_mha on sm100
    #    line 4446); _handle_mamba_radix_cache (lines 4380-4399) no longer takes an sm100 backend, each branch sets the
    #    same one before calling it: Qwen3Next / Qwen3.5 / InternS2Preview lines 4152-4212 (trtllm_mha with page 64
    #    or triton), MiniCPMV4_6 triton lines 4214-4219, FalconH1 / JetNemotron / JetVLM triton lines 4245-4252,
    #    GraniteMoeHybrid flashinfer lines 4254-4263, Lfm2 flashinfer lines 4265-4272, NemotronH / NemotronHPuzzle
    #    flashinfer (arg_groups/nemotron_h_hook.py lines 60-62); DeepSeek-V4 dsv4 (deepseek_v4_hook.py line 16);
    #    ZayaForCausalLM (new, lines 4274-4275) sets none.
    Rule("mha_backend_default", "0.5.14", "0.5.14",
         {"rows": _OLMO2_ROWS + _MHA_FA3_TRTLLM,
          "own": ("Qwen3NextForCausalLM", "Qwen3_5MoeForConditionalGeneration", "Qwen3_5ForConditionalGeneration",
                  "NemotronHForCausalLM", "NemotronHPuzzleForCausalLM", "FalconH1ForCausalLM", "JetNemotronForCausalLM",
                  "JetVLMForConditionalGeneration", "GraniteMoeHybridForCausalLM", "Lfm2ForCausalLM",
                  "InternS2PreviewForConditionalGeneration", "MiniCPMV4_6ForConditionalGeneration",
                  "DeepseekV4ForCausalLM")},
         _ARGS + " (0.5.14) _get_default_attn_backend lines 4407-4472 (fa3 on Hopper line 4437, trtllm_mha on sm100 "
         "line 4446); _handle_model_specific_adjustments: Qwen3Next / Qwen3.5 / InternS2Preview lines 4152-4212, "
         "MiniCPMV4_6 lines 4214-4219, FalconH1 / JetNemotron / JetVLM lines 4245-4252, GraniteMoeHybrid lines "
         "4254-4263, Lfm2 lines 4265-4272, NemotronH / NemotronHPuzzle line 4146 (arg_groups/nemotron_h_hook.py "
         "lines 60-62), DeepseekV4 arg_groups/deepseek_v4_hook.py line 16"),
    #    0.5.15 and 0.5.15.post1: the same choices, moved to arg_groups/overrides.py (declared by the model and applied
    #    at the end of __post_init__): _get_default_attn_backend (server_args.py lines 4309-4378: fa3 on Hopper line
    #    4343, trtllm_mha on sm100 line 4352) through _attention_backend_default (overrides.py lines 1503-1516); own
    #    backends: _qwen3_5_hybrid_overrides lines 785-816 (Qwen3Next / Qwen3.5 / InternS2Preview), _nemotron_h_overrides
    #    lines 726-782, _minicpm_v4_6_overrides lines 650-654, _falcon_h1_jet_overrides lines 657-663,
    #    _granite_moe_hybrid_overrides lines 666-673, _lfm2_overrides lines 676-680, _deepseek_v4_overrides lines 683-723.
    #    0.5.16 the same (_get_default_attn_backend lines 4880-4949 identical: fa3 line 4908, trtllm_mha line 4923;
    #    _attention_backend_default overrides.py lines 1665-1678; _handle_mamba_radix_cache identical; the model
    #    overrides of the architectures above differ by an import at most)
    Rule("mha_backend_default", "0.5.15", "0.5.16",
         {"rows": _OLMO2_ROWS + _MHA_FA3_TRTLLM,
          "own": ("Qwen3NextForCausalLM", "Qwen3_5MoeForConditionalGeneration", "Qwen3_5ForConditionalGeneration",
                  "NemotronHForCausalLM", "NemotronHPuzzleForCausalLM", "FalconH1ForCausalLM", "JetNemotronForCausalLM",
                  "JetVLMForConditionalGeneration", "GraniteMoeHybridForCausalLM", "Lfm2ForCausalLM",
                  "InternS2PreviewForConditionalGeneration", "MiniCPMV4_6ForConditionalGeneration",
                  "DeepseekV4ForCausalLM")},
         _ARGS + " (0.5.15) _get_default_attn_backend lines 4309-4378 (fa3 on Hopper line 4343, trtllm_mha on sm100 "
         "line 4352); " + _OVR15 + " _attention_backend_default lines 1503-1516; model overrides: Qwen3Next / Qwen3.5 / "
         "InternS2Preview lines 785-816, NemotronH lines 726-782, MiniCPMV4_6 lines 650-654, FalconH1 / JetNemotron / "
         "JetVLM lines 657-663, GraniteMoeHybrid lines 666-673, Lfm2 lines 676-680, DeepseekV4 lines 683-723"),
    #    0.5.17: on sm100 _get_default_attn_backend (server_args.py lines 5655-5727) picks fa4 instead of trtllm_mha
    #    for a model whose K and V rows differ in width (ModelConfig.has_asymmetric_kv, model_config.py lines 738-746,
    #    lines 5697-5701: "asymmetric_kv", 0.5.22's rule); Lfm2MoeForCausalLM joins Lfm2's override (overrides.py
    #    _lfm2_overrides lines 1075-1078) and branch; the rest as 0.5.16.
    Rule("mha_backend_default", "0.5.17", "0.5.17",
         {"rows": _OLMO2_ROWS + _MHA_FA3_TRTLLM,
          "own": ("Qwen3NextForCausalLM", "Qwen3_5MoeForConditionalGeneration", "Qwen3_5ForConditionalGeneration",
                  "NemotronHForCausalLM", "NemotronHPuzzleForCausalLM", "FalconH1ForCausalLM", "JetNemotronForCausalLM",
                  "JetVLMForConditionalGeneration", "GraniteMoeHybridForCausalLM", "Lfm2ForCausalLM",
                  "Lfm2MoeForCausalLM", "InternS2PreviewForConditionalGeneration",
                  "MiniCPMV4_6ForConditionalGeneration", "DeepseekV4ForCausalLM"),
          "asymmetric_kv": "fa4"},
         _ARGS + " (0.5.17) _get_default_attn_backend lines 5655-5727 (fa3 on Hopper line 5682, fa4 for asymmetric "
         "K/V lines 5697-5700, trtllm_mha on sm100 line 5701); " + _OVR15 + " (0.5.17) _attention_backend_default "
         "lines 2014-2027, _lfm2_overrides lines 1075-1078"),
    #    0.5.18: _get_default_attn_backend identical (server_args.py lines 5870-5942: fa3 line 5903, fa4 for asymmetric
    #    K/V line 5915, trtllm_mha line 5916); _qwen3_5_hybrid_overrides (overrides.py lines 1319-1344) is registered
    #    for InternS2MobiusForConditionalGeneration too (its own backend on sm100).
    #    0.5.19 the same: arg_groups/model_override_base.py get_default_attn_backend lines 273-346 (0.5.18's, renames:
    #    fa3 line 307, fa4 line 319, trtllm_mha line 320), model_overrides/qwen3_5.py lines 20-27 the same
    #    architectures; MiniCPM's new override (model_overrides/minicpm.py) is rule own_backend_unread.
    #    0.5.20 the same (arg_groups/model_override_base.py get_default_attn_backend lines 295-365, identical: fa3 line
    #    329, fa4 line 341, trtllm_mha line 342; model_overrides/ qwen3_5.py, falcon_h1.py, lfm2.py,
    #    granitemoehybrid.py, minicpmv.py, olmo2.py, gpt_oss.py, llama4.py identical; nemotron_h.py's architectures are
    #    here already; new qwen4_exp.py for Qwen4Exp, which kvplan does not import)
    #    0.5.21 the same (model_override_base.py get_default_attn_backend lines 247-320 identical to 0.5.20's and
    #    0.5.22's: fa3 line 281, fa4 / trtllm_mha lines 293-294; model_overrides/ as 0.5.20's but gemma4.py,
    #    deepseek_v4.py, inkling.py, and new bailing_moe_v3.py / gigachat35.py (MoE runner, shared-expert fusion) and
    #    iquest_q1.py: rule own_backend_unread)
    Rule("mha_backend_default", "0.5.18", "0.5.21",
         {"rows": _OLMO2_ROWS + _MHA_FA3_TRTLLM,
          "own": ("Qwen3NextForCausalLM", "Qwen3_5MoeForConditionalGeneration", "Qwen3_5ForConditionalGeneration",
                  "NemotronHForCausalLM", "NemotronHPuzzleForCausalLM", "FalconH1ForCausalLM", "JetNemotronForCausalLM",
                  "JetVLMForConditionalGeneration", "GraniteMoeHybridForCausalLM", "Lfm2ForCausalLM",
                  "Lfm2MoeForCausalLM", "InternS2PreviewForConditionalGeneration",
                  "InternS2MobiusForConditionalGeneration", "MiniCPMV4_6ForConditionalGeneration",
                  "DeepseekV4ForCausalLM"),
          "asymmetric_kv": "fa4"},
         _ARGS + " (0.5.18) _get_default_attn_backend lines 5870-5942 (fa3 on Hopper line 5903, fa4 for asymmetric "
         "K/V line 5915, trtllm_mha on sm100 line 5916); " + _OVR15 + " (0.5.18) _qwen3_5_hybrid_overrides lines "
         "1319-1344; 0.5.19 sglang/srt/arg_groups/model_override_base.py get_default_attn_backend lines 273-346"),
    #    0.5.23: arg_groups/model_override_base.py get_default_attn_backend (lines 277-350): fa3 on
    #    9.x (line 311), on 10.x trtllm_mha (line 325) or, for a model whose K and V rows differ in
    #    width (ModelConfig.has_asymmetric_kv), fa4 (line 324: "asymmetric_kv"); the architectures
    #    whose own override (arg_groups/model_overrides/, run before the default fills in) picks
    #    another come first. GptOss (gpt_oss.py lines 29-33) and Llama 4 (llama4.py lines 23-37)
    #    pick what the default picks on NVIDIA; those whose choice kvplan has not read are rule
    #    own_backend_unread.
    #    0.5.22: the same get_default_attn_backend (model_override_base.py lines 268-341: fa3 line 302,
    #    fa4 for asymmetric K/V line 314, trtllm_mha line 315) and the same model overrides, but no
    #    model_overrides/beam.py (no BeamForCausalLM model) and minicpmv.py registers
    #    MiniCPMV4_6ForConditionalGeneration only (0.5.23 line 13 adds MiniCPMV4_7).
    Rule("mha_backend_default", "0.5.22", "0.5.22",
         {"rows": (((10, 0), (11, 0), "fa4", ("MiMoV2ForCausalLM", "MiMoV2FlashForCausalLM")),
                   ((10, 0), (11, 0), "triton", ("FalconH1ForCausalLM", "JetNemotronForCausalLM",
                                                 "JetVLMForConditionalGeneration", "MiniCPMV4_6ForConditionalGeneration")),
                   ((10, 0), (11, 0), "flashinfer", ("Lfm2ForCausalLM", "Lfm2MoeForCausalLM",
                                                     "GraniteMoeHybridForCausalLM")),
                   ((0, 0), (99, 0), "triton", ("EmbeddingGemma2Model",)),
                   ((10, 0), (11, 0), "trtllm_mha", ("Olmo2ForCausalLM",)),
                   ((8, 0), (99, 0), "fa3", ("Olmo2ForCausalLM",)),
                   ((9, 0), (10, 0), "fa3", None), ((10, 0), (11, 0), "trtllm_mha", None)),
          "own": (), "asymmetric_kv": "fa4"},
         "sglang/srt/arg_groups/model_override_base.py get_default_attn_backend lines 297-316; model_overrides/ "
         "mimo_v2.py, falcon_h1.py, minicpmv.py (MiniCPMV4_6 only), lfm2.py, granitemoehybrid.py, "
         "embedding_gemma2.py, olmo2.py as 0.5.23's; no beam.py"),
    Rule("mha_backend_default", "0.5.23", "0.5.23",
         {"rows": (((10, 0), (11, 0), "fa4", ("MiMoV2ForCausalLM", "MiMoV2FlashForCausalLM")),
                   ((10, 0), (11, 0), "triton", ("FalconH1ForCausalLM", "JetNemotronForCausalLM",
                                                 "JetVLMForConditionalGeneration", "MiniCPMV4_6ForConditionalGeneration",
                                                 "MiniCPMV4_7ForConditionalGeneration")),
                   ((10, 0), (11, 0), "flashinfer", ("Lfm2ForCausalLM", "Lfm2MoeForCausalLM",
                                                     "GraniteMoeHybridForCausalLM")),
                   ((0, 0), (99, 0), "triton", ("EmbeddingGemma2Model",)),
                   ((10, 0), (11, 0), "trtllm_mha", ("Olmo2ForCausalLM",)),
                   ((8, 0), (99, 0), "fa3", ("Olmo2ForCausalLM",)),
                   ((9, 0), (11, 0), "trtllm_mha", ("BeamForCausalLM",)),
                   ((12, 0), (13, 0), "trtllm_mha", ("BeamForCausalLM",)),
                   ((9, 0), (10, 0), "fa3", None), ((10, 0), (11, 0), "trtllm_mha", None)),
          "own": (), "asymmetric_kv": "fa4"},
         "sglang/srt/arg_groups/model_override_base.py get_default_attn_backend lines 306-325; model_overrides/ "
         "mimo_v2.py line 27 (fa4 on sm100), falcon_h1.py line 17, minicpmv.py line 16 (triton on sm100), lfm2.py "
         "line 15, granitemoehybrid.py line 18 (flashinfer on sm100), embedding_gemma2.py line 41 (triton), "
         "olmo2.py lines 24-30 (trtllm_mha on sm100, else fa3 from sm80), beam.py lines 27-31 (trtllm_mha on "
         "sm90/sm100/sm120)"),
    # -- 0.5.23 architectures whose own override (arg_groups/model_overrides/) picks an attention
    #    backend, and with it a page size, by conditions kvplan has not read: {architecture: file}.
    #    Refused (SGLang.check_model). None of them before 0.5.23: their choices were read (rows
    #    above) or the release had no such override.
    #    0.5.9 the same: the new model-specific backends (Qwen3.5, Lfm2, GraniteMoeHybrid:
    #    _handle_mamba_radix_cache lines 1699-1760) are rule mha_backend_default's own
    #    0.5.10 the same (the model-specific backends are rule mha_backend_default's own)
    #    0.5.11 the same (Gemma 4's triton, server_args.py lines 2087-2090, is rule mha_backend_default's own)
    #    0.5.12 the same (InternS2Preview, MiniCPM-V 4.6 and DeepSeek-V4's backends are rule mha_backend_default's own)
    Rule("own_backend_unread", "0.4.6", "0.5.12", {}, _ARGS + ": every model-specific backend read (rows above)"),
    #    0.5.13 and 0.5.13.post1: Gemma 4 (server_args.py lines 2365-2411: trtllm_mha on sm100, pages of 64, but
    #    triton for a modelopt_fp4 checkpoint with MoE blocks, which kvplan's spec does not record; triton
    #    elsewhere) and Step-3.5 / Step-3.7 (lines 2293-2307: fa4 on Blackwell, whose pages are 128 on sm100,
    #    lines 3008-3015; fa3 on Hopper) pick their own backend, and with it the page.
    Rule("own_backend_unread", "0.5.13", "0.5.13.post1",
         {**{a: "server_args.py _handle_model_specific_adjustments lines 2365-2411 (Gemma 4)"
             for a in ("Gemma4ForCausalLM", "Gemma4ForConditionalGeneration", "Gemma4UnifiedForConditionalGeneration")},
          **{a: "server_args.py _handle_model_specific_adjustments lines 2293-2307 (Step-3.5 / 3.7: fa4 on Blackwell)"
             for a in ("Step3p5ForCausalLM", "Step3p7ForConditionalGeneration")}},
         _ARGS + " (0.5.13) _handle_model_specific_adjustments: Gemma 4 lines 2365-2411, Step-3.5 / 3.7 lines 2293-2307"),
    #    0.5.14: the same architectures: Gemma 4 (server_args.py lines 4057-4094: trtllm_mha on sm100, now also for a
    #    modelopt_fp4 MoE checkpoint, triton elsewhere; the Gemma 4 modules kvplan has not read) and Step-3.5 / 3.7
    #    (lines 3985-3999: fa4 on Blackwell, pages of 128, lines 4650-4659).
    Rule("own_backend_unread", "0.5.14", "0.5.14",
         {**{a: "server_args.py _handle_model_specific_adjustments lines 4057-4094 (Gemma 4)"
             for a in ("Gemma4ForCausalLM", "Gemma4ForConditionalGeneration", "Gemma4UnifiedForConditionalGeneration")},
          **{a: "server_args.py _handle_model_specific_adjustments lines 3985-3999 (Step-3.5 / 3.7: fa4 on Blackwell)"
             for a in ("Step3p5ForCausalLM", "Step3p7ForConditionalGeneration")}},
         _ARGS + " (0.5.14) _handle_model_specific_adjustments: Gemma 4 lines 4057-4094, Step-3.5 / 3.7 lines 3985-3999"),
    #    0.5.15 and 0.5.15.post1: the same architectures, their choices now model overrides (arg_groups/overrides.py
    #    _gemma4_overrides lines 604-630: trtllm_mha on sm100, else triton; _step3p_overrides lines 920-947: fa4 on
    #    Blackwell, pages of 128 by _fa4_page_constraint lines 1674-1693; fa3 on Hopper).
    #    0.5.16 and 0.5.17 the same (_gemma4_overrides / _step3p_overrides identical: overrides.py 0.5.16 lines 710-731,
    #    1075-1098; 0.5.17 lines 1007-1028, 1372-1395; 0.5.18 lines 1063-1084, 1459-1482)
    Rule("own_backend_unread", "0.5.15", "0.5.18",
         {**{a: "arg_groups/overrides.py _gemma4_overrides lines 604-630 (Gemma 4)"
             for a in ("Gemma4ForCausalLM", "Gemma4ForConditionalGeneration", "Gemma4UnifiedForConditionalGeneration")},
          **{a: "arg_groups/overrides.py _step3p_overrides lines 920-947 (Step-3.5 / 3.7: fa4 on Blackwell)"
             for a in ("Step3p5ForCausalLM", "Step3p7ForConditionalGeneration")}},
         _OVR15 + " (0.5.15) _gemma4_overrides lines 604-630, _step3p_overrides lines 920-947"),
    #    0.5.19: Gemma 4 (arg_groups/model_overrides/gemma4.py _gemma4_overrides lines 25-47) and Step-3.5 / 3.7
    #    (overrides.py _step3p_overrides lines 455-479) as before, and MiniCPM (model_overrides/minicpm.py
    #    _minicpm_sala_overrides lines 17-67, registered for MiniCPMForCausalLM and MiniCPMSALAForCausalLM: its own
    #    minicpm_flashattn / minicpm_flashinfer backends for a config with has_minicpm_sparse_attention, the radix cache
    #    off for hybrid layers, DP attention refused), as 0.5.22 / 0.5.23 have it.
    Rule("own_backend_unread", "0.5.19", "0.5.19",
         {**{a: "arg_groups/model_overrides/gemma4.py _gemma4_overrides lines 25-47 (Gemma 4)"
             for a in ("Gemma4ForCausalLM", "Gemma4ForConditionalGeneration", "Gemma4UnifiedForConditionalGeneration")},
          **{a: "arg_groups/overrides.py _step3p_overrides lines 455-479 (Step-3.5 / 3.7: fa4 on Blackwell)"
             for a in ("Step3p5ForCausalLM", "Step3p7ForConditionalGeneration")},
          **{a: "arg_groups/model_overrides/minicpm.py _minicpm_sala_overrides lines 17-67 (MiniCPM: sparse-attention "
                "backends, no DP attention)" for a in ("MiniCPMForCausalLM", "MiniCPMSALAForCausalLM")}},
         "sglang/srt/arg_groups/model_overrides/gemma4.py lines 25-47, minicpm.py lines 17-67; arg_groups/overrides.py "
         "_step3p_overrides lines 455-479 (0.5.19)"),
    #    0.5.22: the same overrides but MuseSpark's (no _muse_spark_overrides, no MuseSpark model);
    #    _step3p_overrides at overrides.py lines 309-323.
    #    0.5.20: 0.5.19's, and Qwen3-VL (arg_groups/model_overrides/qwen3_vl.py, new): on sm90 with >= 60 GiB
    #    (large_hopper_qwen3_vl_model_type lines 23-34) _qwen3vl_hopper_serving_overrides (lines 88-160) sets
    #    SGLANG_VLM_CACHE_SIZE_MB to 0 (the 100 MiB of rule multimodal), cuda_ipc feature transport with a 3 GiB
    #    SGLANG_MM_FEATURE_CACHE_MB at --max-running-requests >= 400 and flashinfer for decode, and
    #    expand_multimodal_decode_graph_to_running_limit (lines 37-66) raises the decode graphs' max_bs to a
    #    --max-running-requests up to 512: the KV budget moves in ways kvplan has not modelled, refused there only
    #    (rule qwen3_vl_hopper, not this rule: elsewhere the file does nothing). The other overrides 0.5.20 changes (deepseek_v4.py, inkling.py, kimi_k3.py, nemotron_h.py,
    #    qwen3_moe.py: the MoE runner only; new qwen4_exp.py) are for architectures kvplan refuses or does not import.
    Rule("own_backend_unread", "0.5.20", "0.5.20",
         {**{a: "arg_groups/model_overrides/gemma4.py _gemma4_overrides lines 25-47 (Gemma 4)"
             for a in ("Gemma4ForCausalLM", "Gemma4ForConditionalGeneration", "Gemma4UnifiedForConditionalGeneration")},
          **{a: "arg_groups/overrides.py _step3p_overrides lines 407-431 (Step-3.5 / 3.7: fa4 on Blackwell)"
             for a in ("Step3p5ForCausalLM", "Step3p7ForConditionalGeneration")},
          **{a: "arg_groups/model_overrides/minicpm.py _minicpm_sala_overrides lines 17-67 (MiniCPM: sparse-attention "
                "backends, no DP attention)" for a in ("MiniCPMForCausalLM", "MiniCPMSALAForCausalLM")}},
         "sglang/srt/arg_groups/model_overrides/gemma4.py lines 25-47, minicpm.py lines 17-67; arg_groups/overrides.py "
         "_step3p_overrides lines 407-431 (0.5.20)"),
    #    0.5.21: model_overrides/ as 0.5.22's (the same files but embedding_gemma2.py and ernie45_vl.py; gemma4.py,
    #    qwen3_vl.py, kimi_k3.py, minimax_m3.py, nemotron_h.py, qwen3_5.py identical to 0.5.22's; iquest_q1.py, exaone.py,
    #    inkling.py, mimo_v2.py, minicpm.py, qwen4_exp.py, deepseek_v2.py differ, unread): 0.5.22's list, whose
    #    architectures all have an override here; _step3p_overrides overrides.py lines 312-336.
    Rule("own_backend_unread", "0.5.21", "0.5.21", _own_overrides("312-336"),
         "sglang/srt/arg_groups/model_overrides/ and arg_groups/overrides.py (0.5.21: _step3p_overrides lines "
         "312-336)"),
    Rule("own_backend_unread", "0.5.22", "0.5.22", _own_overrides("309-323"),
         "sglang/srt/arg_groups/model_overrides/ and arg_groups/overrides.py (0.5.22: _step3p_overrides lines "
         "309-323; no _muse_spark_overrides)"),
    Rule("own_backend_unread", "0.5.23", "0.5.23", _own_overrides("331-345", muse_spark="309-320"),
         "sglang/srt/arg_groups/model_overrides/ and arg_groups/overrides.py (the hooks that set attention_backend, "
         "page_size or kv_cache_dtype)"),
    # -- Qwen3-VL's serving override (arg_groups/model_overrides/qwen3_vl.py, new in 0.5.20; 0.5.21-0.5.23's
    #    file identical to each other, 0.5.20's but a three-line longer docstring, so its lines are 3 more): where it
    #    acts, SGLANG_VLM_CACHE_SIZE_MB becomes 0 (the 100 MiB of rule multimodal), the feature transport cuda_ipc
    #    (3 GiB SGLANG_MM_FEATURE_CACHE_MB at --max-running-requests >= 400), decode on flashinfer and the decode
    #    graphs' max_bs up to a --max-running-requests <= 512 (expand_multimodal_decode_graph_to_running_limit,
    #    called from arg_groups/memory_hook.py handle_gpu_memory_settings: 0.5.20 / 0.5.21 lines 181-187, 0.5.22 /
    #    0.5.23 lines 190-196, after the tiers): kvplan has not modelled that budget, so it refuses there and only
    #    there. Both acting functions return at once unless large_hopper_qwen3_vl_model_type (0.5.20 lines 23-34,
    #    0.5.21-0.5.23 lines 20-31) answers: is_sm90_supported() (utils/common.py _check_cuda_device_version:
    #    is_cuda(), compute capability major 9, CUDA >= 12.3; 0.5.20 lines 264-273, 316-320; 0.5.22 lines
    #    267-277, 326-330), the device's memory >= 60 * 1024 MiB (get_device_memory_capacity: on CUDA
    #    get_nvgpu_memory_capacity, the smallest ``nvidia-smi --query-gpu=memory.total`` in MiB, torch's total in MIG
    #    mode; NVIDIA_SMI_MIB), ModelConfig.is_multimodal (rule vlm_fraction's serves) and hf model_type qwen3_vl /
    #    qwen3_vl_moe (what these two architectures' configs carry). Everywhere else (A100, L40S, B200, RTX, AMD)
    #    they do nothing. The file's third hook, _qwen3vl_overrides (0.5.20 lines 68-81, 0.5.21+ lines 65-78,
    #    Qwen3VLForConditionalGeneration only), sets page_size 16 on ROCm with SGLANG_USE_AITER_UNIFIED_ATTN (default
    #    False: environ.py 0.5.20 line 866, 0.5.23 line 985) and no --page-size: an environment variable a
    #    --from-sglang command may not set (kvplan.vllm_args._launch_env refuses SGLANG_*), so never in a plan.
    #    Value: the architectures, the compute-capability major, the MiB threshold and where (for the message).
    Rule("qwen3_vl_hopper", "0.4.6", "0.5.19", None, "no arg_groups/model_overrides/qwen3_vl.py before 0.5.20"),
    Rule("qwen3_vl_hopper", "0.5.20", "0.5.20",
         {"archs": ("Qwen3VLForConditionalGeneration", "Qwen3VLMoeForConditionalGeneration"), "major": 9,
          "min_mib": 60 * 1024,
          "where": "qwen3_vl.py large_hopper_qwen3_vl_model_type lines 23-34, _qwen3vl_hopper_serving_overrides "
                   "lines 88-160, expand_multimodal_decode_graph_to_running_limit lines 37-66"},
         _MOD23 + "qwen3_vl.py (0.5.20) large_hopper_qwen3_vl_model_type lines 23-34"),
    Rule("qwen3_vl_hopper", "0.5.21", "0.5.23",
         {"archs": ("Qwen3VLForConditionalGeneration", "Qwen3VLMoeForConditionalGeneration"), "major": 9,
          "min_mib": 60 * 1024,
          "where": "qwen3_vl.py large_hopper_qwen3_vl_model_type lines 20-31, _qwen3vl_hopper_serving_overrides "
                   "lines 85-157, expand_multimodal_decode_graph_to_running_limit lines 34-63"},
         _MOD23 + "qwen3_vl.py (0.5.21-0.5.23, identical) large_hopper_qwen3_vl_model_type lines 20-31"),
    # -- the attention backend SGLang picks by default for a model with MLA (dense: DeepSeek's
    #    sparse attention is rule dsa), read by SGLang.default_backend; rows as mha_backend_default's,
    #    the first that covers the GPU and the architecture applies, else triton (every other
    #    NVIDIA GPU) or aiter / triton (AMD, by heads per rank), whose pages are the user's.
    #    model_runner.py model_specific_adjustment (0.5.6 on: server_args.py
    #    _handle_attention_backend_compatibility): "fa3" on Hopper (is_hopper_with_cuda_12_3),
    #    from 0.4.9 "flashinfer" on sm100 (is_sm100_supported: major 10); from 0.5.4
    #    server_args.py _handle_model_specific_adjustments picks "trtllm_mla" first for
    #    DeepseekV3ForCausalLM on sm100 ('Use trtllm_mla as attention backend on sm100 for
    #    DeepseekV3ForCausalLM'; not DeepseekV2ForCausalLM). Read in all 8 wheels.
    Rule("mla_backend_default", "0.4.6", "0.4.6", {"rows": (((9, 0), (10, 0), "fa3", None),)},
         "python/sglang/srt/model_executor/model_runner.py model_specific_adjustment: MLA: fa3 if "
         "is_hopper_with_cuda_12_3() else triton"),
    Rule("mla_backend_default", "0.4.9", "0.5.2",
         {"rows": (((9, 0), (10, 0), "fa3", None), ((10, 0), (11, 0), "flashinfer", None))},
         "python/sglang/srt/model_executor/model_runner.py model_specific_adjustment: MLA: fa3 on Hopper, flashinfer "
         "if is_sm100_supported(), else aiter/triton"),
    Rule("mla_backend_default", "0.5.4", "0.5.6",
         {"rows": (((10, 0), (11, 0), "trtllm_mla", ("DeepseekV3ForCausalLM",)), ((9, 0), (10, 0), "fa3", None),
                   ((10, 0), (11, 0), "flashinfer", None))},
         _ARGS + " _handle_model_specific_adjustments (0.5.4 line 886, 0.5.6 line 1022: trtllm_mla for "
         "DeepseekV3ForCausalLM on sm100); the rest: model_runner.py model_specific_adjustment (0.5.4), "
         + _ARGS + " _handle_attention_backend_compatibility (0.5.6)"),
    Rule("mla_backend_default", "0.5.8", "0.5.8",
         {"rows": (((10, 0), (11, 0), "trtllm_mla", ("DeepseekV3ForCausalLM", "MistralLarge3ForCausalLM",
                                                     "PixtralForConditionalGeneration")),
                   ((9, 0), (10, 0), "fa3", None), ((10, 0), (11, 0), "flashinfer", None))},
         _ARGS + " _handle_model_specific_adjustments (line 1207: trtllm_mla for DeepseekV3ForCausalLM, "
         "MistralLarge3ForCausalLM, PixtralForConditionalGeneration on sm100); _handle_attention_backend_compatibility "
         "(line 1686: fa3 on Hopper, flashinfer on sm100)"),
    #    0.5.9: KimiK25ForConditionalGeneration and GlmMoeDsaForCausalLM join the trtllm_mla list (GlmMoeDsa
    #    is DeepSeek sparse attention, rule dsa, when its config has an index_topk).
    #    0.5.10 the same (server_args.py lines 1508-1513 and 1608: trtllm_mla on sm100 for the same five;
    #    _get_default_attn_backend lines 2262-2275: fa3 on Hopper, flashinfer on sm100)
    #    0.5.11 the same (server_args.py _handle_model_specific_adjustments lines 1674-1679 and 1774, trtllm_mla on
    #    sm100; _get_default_attn_backend lines 2516-2531: fa3 on Hopper, flashinfer on sm100)
    Rule("mla_backend_default", "0.5.9", "0.5.11",
         {"rows": (((10, 0), (11, 0), "trtllm_mla", ("DeepseekV3ForCausalLM", "KimiK25ForConditionalGeneration",
                                                     "MistralLarge3ForCausalLM", "PixtralForConditionalGeneration",
                                                     "GlmMoeDsaForCausalLM")),
                   ((9, 0), (10, 0), "fa3", None), ((10, 0), (11, 0), "flashinfer", None))},
         _ARGS + " (0.5.9) _handle_model_specific_adjustments lines 1197-1203 and 1274-1287 (trtllm_mla on sm100 "
         "for DeepseekV3, KimiK25, MistralLarge3, Pixtral, GlmMoeDsa without DSA); "
         "_handle_attention_backend_compatibility lines 1822-1824 (fa3 on Hopper, flashinfer on sm100)"),
    #    0.5.12: DeepseekV32ForCausalLM joins the list (_handle_model_specific_adjustments lines 1786-1793; trtllm_mla
    #    on sm100 line 1898 for a config without index_topk, DSA otherwise); _get_default_attn_backend lines 2631-2646,
    #    identical: fa3 on Hopper, flashinfer on sm100
    Rule("mla_backend_default", "0.5.12", "0.5.12",
         {"rows": (((10, 0), (11, 0), "trtllm_mla", ("DeepseekV3ForCausalLM", "DeepseekV32ForCausalLM",
                                                     "KimiK25ForConditionalGeneration", "MistralLarge3ForCausalLM",
                                                     "PixtralForConditionalGeneration", "GlmMoeDsaForCausalLM")),
                   ((9, 0), (10, 0), "fa3", None), ((10, 0), (11, 0), "flashinfer", None))},
         _ARGS + " (0.5.12) _handle_model_specific_adjustments lines 1786-1793 and 1891-1900 (trtllm_mla on sm100 "
         "for DeepseekV3, DeepseekV32, KimiK25, MistralLarge3, Pixtral, GlmMoeDsa without DSA); "
         "_get_default_attn_backend lines 2631-2646 (fa3 on Hopper, flashinfer on sm100)"),
    #    0.5.13 and 0.5.13.post1: the same list (lines 1839-1846) and trtllm_mla on sm100 for a config without
    #    index_topk (lines 1962-1972); _get_default_attn_backend lines 2816-2830 (fa3 on Hopper line 2817, flashinfer
    #    on sm100)
    Rule("mla_backend_default", "0.5.13", "0.5.13.post1",
         {"rows": (((10, 0), (11, 0), "trtllm_mla", ("DeepseekV3ForCausalLM", "DeepseekV32ForCausalLM",
                                                     "KimiK25ForConditionalGeneration", "MistralLarge3ForCausalLM",
                                                     "PixtralForConditionalGeneration", "GlmMoeDsaForCausalLM")),
                   ((9, 0), (10, 0), "fa3", None), ((10, 0), (11, 0), "flashinfer", None))},
         _ARGS + " (0.5.13) _handle_model_specific_adjustments lines 1839-1846 and 1962-1972 (trtllm_mla on sm100 "
         "for DeepseekV3, DeepseekV32, KimiK25, MistralLarge3, Pixtral, GlmMoeDsa without DSA); "
         "_get_default_attn_backend lines 2816-2830 (fa3 on Hopper, flashinfer on sm100)"),
    #    0.5.14: the same (the list lines 3519-3526, trtllm_mla on sm100 without index_topk lines 3640-3650;
    #    _get_default_attn_backend identical, lines 4458-4472)
    Rule("mla_backend_default", "0.5.14", "0.5.14",
         {"rows": (((10, 0), (11, 0), "trtllm_mla", ("DeepseekV3ForCausalLM", "DeepseekV32ForCausalLM",
                                                     "KimiK25ForConditionalGeneration", "MistralLarge3ForCausalLM",
                                                     "PixtralForConditionalGeneration", "GlmMoeDsaForCausalLM")),
                   ((9, 0), (10, 0), "fa3", None), ((10, 0), (11, 0), "flashinfer", None))},
         _ARGS + " (0.5.14) _handle_model_specific_adjustments lines 3519-3526 and 3640-3650 (trtllm_mla on sm100 "
         "for DeepseekV3, DeepseekV32, KimiK25, MistralLarge3, Pixtral, GlmMoeDsa without DSA); "
         "_get_default_attn_backend lines 4458-4472 (fa3 on Hopper, flashinfer on sm100)"),
    #    0.5.15 and 0.5.15.post1: the same (arg_groups/overrides.py _deepseek_family_overrides lines 309-429: the same
    #    six architectures, trtllm_mla on sm100 without index_topk line 395; _get_default_attn_backend
    #    server_args.py lines 4354-4367: fa3 on Hopper, flashinfer on sm100)
    Rule("mla_backend_default", "0.5.15", "0.5.15.post1",
         {"rows": (((10, 0), (11, 0), "trtllm_mla", ("DeepseekV3ForCausalLM", "DeepseekV32ForCausalLM",
                                                     "KimiK25ForConditionalGeneration", "MistralLarge3ForCausalLM",
                                                     "PixtralForConditionalGeneration", "GlmMoeDsaForCausalLM")),
                   ((9, 0), (10, 0), "fa3", None), ((10, 0), (11, 0), "flashinfer", None))},
         _OVR15 + " (0.5.15) _deepseek_family_overrides lines 309-429 (trtllm_mla on sm100 line 395 for DeepseekV3, "
         "DeepseekV32, KimiK25, MistralLarge3, Pixtral, GlmMoeDsa without DSA); " + _ARGS + " _get_default_attn_backend "
         "lines 4354-4367 (fa3 on Hopper, flashinfer on sm100)"),
    #    0.5.16 and 0.5.17: _deepseek_family_overrides (overrides.py 0.5.16 lines 323-445, trtllm_mla on sm100 lines
    #    405-415; 0.5.17 lines 551-673) is registered for LongcatFlashForCausalLM and its NextN too (server_args.py
    #    0.5.16 lines 4366-4374; is_deepseek_dsa + GlmMoeDsaNextN / LongcatFlash, model_config.py lines 105-120);
    #    _get_default_attn_backend as 0.5.15 (fa3 on Hopper, flashinfer on sm100).
    #    0.5.18 the same (_deepseek_family_overrides overrides.py lines 603-715 identical, trtllm_mla line 681;
    #    _get_default_attn_backend flashinfer on sm100 line 5931)
    Rule("mla_backend_default", "0.5.16", "0.5.18",
         {"rows": (((10, 0), (11, 0), "trtllm_mla", ("DeepseekV3ForCausalLM", "DeepseekV32ForCausalLM",
                                                     "KimiK25ForConditionalGeneration", "MistralLarge3ForCausalLM",
                                                     "PixtralForConditionalGeneration", "GlmMoeDsaForCausalLM",
                                                     "LongcatFlashForCausalLM", "LongcatFlashForCausalLMNextN")),
                   ((9, 0), (10, 0), "fa3", None), ((10, 0), (11, 0), "flashinfer", None))},
         _OVR15 + " (0.5.16) _deepseek_family_overrides lines 323-445 (trtllm_mla on sm100 lines 405-415 for DeepseekV3, "
         "DeepseekV32, KimiK25, MistralLarge3, Pixtral, GlmMoeDsa, LongcatFlash without DSA); " + _ARGS +
         " _get_default_attn_backend lines 4880-4949 (fa3 on Hopper, flashinfer on sm100); 0.5.17 overrides.py "
         "lines 551-673"),
    #    0.5.19: _deepseek_family_overrides moves to arg_groups/model_overrides/deepseek_v2.py (lines 31-145, a rename;
    #    trtllm_mla line 111) and is registered for Dots3NoteForCausalLM too (as 0.5.22); get_default_attn_backend
    #    (model_override_base.py lines 273-346: fa3 on Hopper line 333, flashinfer on sm100 line 335).
    Rule("mla_backend_default", "0.5.19", "0.5.19",
         {"rows": (((10, 0), (11, 0), "trtllm_mla", ("DeepseekV3ForCausalLM", "DeepseekV32ForCausalLM",
                                                     "KimiK25ForConditionalGeneration", "MistralLarge3ForCausalLM",
                                                     "PixtralForConditionalGeneration", "GlmMoeDsaForCausalLM",
                                                     "LongcatFlashForCausalLM", "LongcatFlashForCausalLMNextN",
                                                     "Dots3NoteForCausalLM")),
                   ((9, 0), (10, 0), "fa3", None), ((10, 0), (11, 0), "flashinfer", None))},
         _MOD23 + "deepseek_v2.py (0.5.19) _deepseek_family_overrides lines 31-145 (trtllm_mla on sm100 line 111 "
         "for the DeepSeek family without DSA, no backend given); model_override_base.py get_default_attn_backend "
         "lines 273-346 (fa3 on Hopper, flashinfer on sm100)"),
    #    0.5.20: _deepseek_family_overrides (model_overrides/deepseek_v2.py lines 34-191) is also registered for
    #    Glm5NextForConditionalGeneration and HYV4ForCausalLM / HYV4ForCausalLMNextN (their MXFP8 GEMM backends, lines
    #    40-65); its non-DSA sm100 branch (trtllm_mla line 157) is 0.5.19's; get_default_attn_backend identical
    #    (model_override_base.py lines 295-365: fa3 on Hopper line 355, flashinfer on sm100 line 357).
    #    0.5.21 the same (model_overrides/deepseek_v2.py _deepseek_family_overrides lines 31-184 identical to 0.5.20's,
    #    trtllm_mla line 150; get_default_attn_backend fa3 line 307, flashinfer line 309)
    Rule("mla_backend_default", "0.5.20", "0.5.21",
         {"rows": (((10, 0), (11, 0), "trtllm_mla", ("DeepseekV3ForCausalLM", "DeepseekV32ForCausalLM",
                                                     "KimiK25ForConditionalGeneration", "MistralLarge3ForCausalLM",
                                                     "PixtralForConditionalGeneration", "GlmMoeDsaForCausalLM",
                                                     "Glm5NextForConditionalGeneration", "HYV4ForCausalLM",
                                                     "HYV4ForCausalLMNextN", "LongcatFlashForCausalLM",
                                                     "LongcatFlashForCausalLMNextN", "Dots3NoteForCausalLM")),
                   ((9, 0), (10, 0), "fa3", None), ((10, 0), (11, 0), "flashinfer", None))},
         _MOD23 + "deepseek_v2.py (0.5.20) _deepseek_family_overrides lines 34-191 (trtllm_mla on sm100 line 157 "
         "for the DeepSeek family without DSA, no backend given); model_override_base.py get_default_attn_backend "
         "lines 295-365 (fa3 on Hopper, flashinfer on sm100)"),
    #    0.5.22 and 0.5.23: _deepseek_family_overrides is registered for twelve architectures (model_overrides/
    #    deepseek_v2.py lines 37-50, both releases) and every one of them without DSA (is_deepseek_dsa false: no
    #    index_topk) takes trtllm_mla on sm100 where no backend is given (0.5.22 lines 177-189, 0.5.23 lines 176-188),
    #    DeepseekV32ForCausalLM among them as in 0.5.12-0.5.21 (h34-sglaud: this row had lost it).
    Rule("mla_backend_default", "0.5.22", "0.5.23",
         {"rows": (((10, 0), (11, 0), "trtllm_mla", ("DeepseekV3ForCausalLM", "DeepseekV32ForCausalLM",
                                                     "KimiK25ForConditionalGeneration",
                                                     "MistralLarge3ForCausalLM", "PixtralForConditionalGeneration",
                                                     "HYV4ForCausalLM", "HYV4ForCausalLMNextN", "LongcatFlashForCausalLM",
                                                     "LongcatFlashForCausalLMNextN", "Dots3NoteForCausalLM",
                                                     "GlmMoeDsaForCausalLM", "Glm5NextForConditionalGeneration")),
                   ((9, 0), (10, 0), "fa3", None), ((10, 0), (11, 0), "flashinfer", None))},
         _MOD23 + "deepseek_v2.py lines 37-50 and 176-188 (trtllm_mla on sm100 for the DeepSeek family without "
         "DSA, no backend given); model_override_base.py get_default_attn_backend lines 336-347 (fa3 on Hopper, "
         "flashinfer on sm100, else aiter / triton); "
         "0.5.22 the same (model_overrides/deepseek_v2.py lines 37-50 and 177-189, model_override_base.py lines "
         "326-341)"),
    # -- page sizes the default backends force (SGLang.model_block_size): {backend: (page sizes kept
    #    as asked, the page any other --page-size, or none, becomes, the source's lines)}. server_args.py overrides
    #    the user's --page-size with a warning ("TensorRT-LLM MHA only supports page_size of 16, 32
    #    or 64, changing page_size from {page_size} to 64."; page_size is None when not given, so
    #    the default is 64, not 1), it does not refuse. Backends not listed keep --page-size (else
    #    1). flashmla (64), cutlass_mla (128), fa4 (128, prefill) and ascend (128) force pages too,
    #    but only when asked for with --attention-backend, which kvplan does not take.
    Rule("backend_page_size", "0.4.6", "0.4.10", {},
         _ARGS + ": no default backend forces a page (0.4.9: flashmla 64, cutlass_mla 128 only when asked)"),
    Rule("backend_page_size", "0.5.1", "0.5.1", _trtllm_pages("484-488", "505-509"),
         _ARGS + " __post_init__"),
    Rule("backend_page_size", "0.5.2", "0.5.2", _trtllm_pages("587-591", "608-612"),
         _ARGS + " __post_init__"),
    Rule("backend_page_size", "0.5.4", "0.5.4", _trtllm_pages("1103-1107", "1124-1128"),
         _ARGS + " _handle_attention_backend_compatibility"),
    Rule("backend_page_size", "0.5.6", "0.5.6", _trtllm_pages("1375-1379", "1396-1400"),
         _ARGS + " _handle_attention_backend_compatibility"),
    Rule("backend_page_size", "0.5.8", "0.5.8", _trtllm_pages("1745-1749", "1766-1770"),
         _ARGS + " _handle_attention_backend_compatibility"),
    Rule("backend_page_size", "0.5.9", "0.5.9", _trtllm_pages("1883-1887", "1904-1908"),
         _ARGS + " (0.5.9) _handle_attention_backend_compatibility"),
    Rule("backend_page_size", "0.5.10", "0.5.10", _trtllm_pages("2351-2355", "2391-2395"),
         _ARGS + " (0.5.10) _handle_attention_backend_compatibility"),
    Rule("backend_page_size", "0.5.11", "0.5.11", _trtllm_pages("2607-2611", "2647-2651"),
         _ARGS + " (0.5.11) _handle_attention_backend_compatibility"),
    #    0.5.12 the same values (trtllm_mla lines 2722-2726, trtllm_mha lines 2781-2785; the new tokenspeed_mla,
    #    lines 2734-2751, is no default)
    Rule("backend_page_size", "0.5.12", "0.5.12", _trtllm_pages("2722-2726", "2781-2785"),
         _ARGS + " (0.5.12) _handle_attention_backend_compatibility"),
    #    0.5.13 and 0.5.13.post1 the same values (trtllm_mla lines 2906-2910, trtllm_mha lines 2994-2998; the new
    #    cutedsl_mla, lines 2936-2963, 32 / 64, is no default)
    Rule("backend_page_size", "0.5.13", "0.5.13.post1", _trtllm_pages("2906-2910", "2994-2998"),
         _ARGS + " (0.5.13) _handle_attention_backend_compatibility"),
    #    0.5.14 the same values (trtllm_mla lines 4550-4554, trtllm_mha lines 4638-4642;
    #    _handle_attention_backend_compatibility lines 4474-4725 differs only in the cuda_graph_config names)
    Rule("backend_page_size", "0.5.14", "0.5.14", _trtllm_pages("4550-4554", "4638-4642"),
         _ARGS + " (0.5.14) _handle_attention_backend_compatibility"),
    #    0.5.15 and 0.5.15.post1 the same values, declared by arg_groups/overrides.py _mla_backend_page_constraints (lines
    #    1520-1583, run from server_args.py _handle_attention_backend_compatibility line 4435: trtllm_mla lines
    #    1542-1550, trtllm_mha lines 1570-1579)
    Rule("backend_page_size", "0.5.15", "0.5.15.post1", _trtllm_pages("1542-1550", "1570-1579"),
         _OVR15 + " (0.5.15) _mla_backend_page_constraints"),
    #    0.5.16 the same values (overrides.py _mla_backend_page_constraints lines 1682-1744: trtllm_mla lines
    #    1704-1712, trtllm_mha lines 1732-1741)
    Rule("backend_page_size", "0.5.16", "0.5.16", _trtllm_pages("1704-1712", "1732-1741"),
         _OVR15 + " (0.5.16) _mla_backend_page_constraints"),
    #    0.5.17: trtllm_mha keeps 128 too (lines 2081-2094, "16, 32, 64 or 128"), and fa4, the sm100 default for
    #    asymmetric K/V (rule mha_backend_default), runs pages of 128 only (_fa4_page_constraint lines 2200-2218)
    Rule("backend_page_size", "0.5.17", "0.5.17",
         {"trtllm_mla": ((32, 64), 64, "2053-2061"), "trtllm_mha": ((16, 32, 64, 128), 64, "2081-2094"),
          "fa4": ((128,), 128, "2200-2218")},
         _OVR15 + " (0.5.17) _mla_backend_page_constraints and _fa4_page_constraint"),
    #    0.5.18 the same values (_mla_backend_page_constraints lines 2129-2205, _fa4_page_constraint lines 2298-2316,
    #    identical)
    Rule("backend_page_size", "0.5.18", "0.5.18",
         {"trtllm_mla": ((32, 64), 64, "2151-2159"), "trtllm_mha": ((16, 32, 64, 128), 64, "2179-2192"),
          "fa4": ((128,), 128, "2298-2316")},
         _OVR15 + " (0.5.18) _mla_backend_page_constraints and _fa4_page_constraint"),
    #    0.5.19 the same values (overrides.py _mla_backend_page_constraints lines 1128-1204, _fa4_page_constraint lines
    #    1297-1315: renames)
    Rule("backend_page_size", "0.5.19", "0.5.19",
         {"trtllm_mla": ((32, 64), 64, "1150-1158"), "trtllm_mha": ((16, 32, 64, 128), 64, "1178-1191"),
          "fa4": ((128,), 128, "1297-1315")},
         _OVR15 + " (0.5.19) _mla_backend_page_constraints and _fa4_page_constraint"),
    #    0.5.20 the same values (overrides.py _mla_backend_page_constraints lines 1174-1242, 0.5.22's: cutlass_mla's
    #    forced 128, a backend no default picks, is gone; _fa4_page_constraint lines 1335-1353, 0.5.19's)
    Rule("backend_page_size", "0.5.20", "0.5.20",
         {"trtllm_mla": ((32, 64), 64, "1188-1196"), "trtllm_mha": ((16, 32, 64, 128), 64, "1216-1229"),
          "fa4": ((128,), 128, "1335-1353")},
         _OVR15 + " (0.5.20) _mla_backend_page_constraints and _fa4_page_constraint"),
    #    0.5.21 the same values (_mla_backend_page_constraints lines 1066-1131 and _fa4_page_constraint lines 1218-1236,
    #    identical to 0.5.20's)
    Rule("backend_page_size", "0.5.21", "0.5.21",
         {"trtllm_mla": ((32, 64), 64, "1077-1085"), "trtllm_mha": ((16, 32, 64, 128), 64, "1105-1118"),
          "fa4": ((128,), 128, "1218-1236")},
         _OVR15 + " (0.5.21) _mla_backend_page_constraints and _fa4_page_constraint"),
    #    0.5.23: trtllm_mha keeps 128 too (flashinfer >= 0.6.12's dynamic tokens-per-page kernels),
    #    and fa4, the default for MHA models with asymmetric K/V rows and MiMo-V2 on sm100, runs
    #    pages of 128 only ("FA4 backend only supports page size 128 for non-MLA model
    #    architectures, changing page_size from {page_size} to 128.").
    #    0.5.22: the same pages for these backends, at other lines (and tokenspeed_mla 32 / 64, lines
    #    1105-1113, a backend no default picks: only with --attention-backend).
    Rule("backend_page_size", "0.5.22", "0.5.22",
         {"trtllm_mla": ((32, 64), 64, "1096-1104"), "trtllm_mha": ((16, 32, 64, 128), 64, "1124-1136"),
          "fa4": ((128,), 128, "1237-1261")},
         _OVR23 + " (0.5.22) _mla_backend_page_constraints and _fa4_page_constraint"),
    Rule("backend_page_size", "0.5.23", "0.5.23",
         {"trtllm_mla": ((32, 64), 64, "1155-1163"), "trtllm_mha": ((16, 32, 64, 128), 64, "1174-1186"),
          "fa4": ((128,), 128, "1274-1298")},
         _OVR23 + " _mla_backend_page_constraints and _fa4_page_constraint"),
    # -- an fp8_e4m3 DeepSeek sparse attention latent: the bytes a token and layer the pool allocates
    #    where they exceed what the profile sized it by (SGLang.kv_alloc_note), None where they do not.
    #    0.5.4 mem_cache/memory_pool.py MLATokenToKVPool kv_cache_dim = 656 for nsa_kv_cache_store_fp8
    #    (lines 1246-1251, "TODO do not hardcode"); 0.5.6 / 0.5.8 NSATokenToKVPool override_dim =
    #    512 + 512 // 128 x 4 + 64 x 2 = 656 (0.5.6 lines 1748-1751, 0.5.8 1702-1706), while
    #    profile_max_num_token's cell size is (kv_lora_rank + qk_rope_head_dim) x 1 B (0.5.4
    #    model_runner.py line 1402, 0.5.6 1386, 0.5.8 model_runner_kv_cache_mixin.py lines 50-54).
    #    0.5.23 sizes by what it stores (kv_cache_configurator.py calculate_mla_kv_cache_dim) and
    #    refuses the 656 B layout below 10.x (rule dsa).
    Rule("dsa_fp8_alloc_bytes", "0.4.6", "0.5.2", None, "no DeepSeek sparse attention (rule dsa)"),
    #    0.5.9 the same (memory_pool.py NSATokenToKVPool lines 1731-1733 and 1746-1767: override_dim =
    #    model_runner_kv_cache_mixin.py calculate_mla_kv_cache_dim lines 212-250, 656 for fp8_e4m3 unless an
    #    NSA backend is trtllm, which the fp8 default is not: server_args.py _set_default_nsa_backends lines
    #    1154-1180, flashmla_kv; the profile still reads kv_lora_rank + qk_rope_head_dim bytes,
    #    get_cell_size_per_token lines 50-54)
    Rule("dsa_fp8_alloc_bytes", "0.5.4", "0.5.9", 656,
         "mem_cache/memory_pool.py 656-byte fp8 latent (0.5.4 line 1249, 0.5.6 1748-1751, 0.5.8 1702-1706) against "
         "the profile's kv_lora_rank + qk_rope_head_dim bytes (0.5.8 model_runner_kv_cache_mixin.py 50-54)"),
    #    0.5.10: fp8_e4m3 DSA decodes on trtllm on 10.x (server_args.py _set_default_nsa_backends lines
    #    1445-1490), where calculate_mla_kv_cache_dim keeps 576 (model_runner_kv_cache_mixin.py lines
    #    240-285), the profile's cell; below 10.x flashmla_kv's 656 B scaled layout, refused (rule dsa
    #    fp8_scaled_below), as 0.5.23.
    #    0.5.11 the same (calculate_mla_kv_cache_dim lines 133-178, identical; _set_default_nsa_backends lines
    #    1598-1645: trtllm on 10.x unless the user sets a backend, flashmla_kv below)
    #    0.5.12 the same (calculate_mla_kv_cache_dim lines 139-184, identical; _set_default_nsa_backends lines
    #    1705-1749: only HiSparse moved to arg_groups/hisparse_hook.py, off by default)
    #    0.5.13 and 0.5.13.post1 the same (calculate_mla_kv_cache_dim lines 186-231 and _set_default_dsa_backends lines
    #    1756-1800: NSA renamed DSA, nsa_*_backend dsa_*_backend, otherwise identical)
    #    0.5.14 the same on CUDA (calculate_mla_kv_cache_dim lines 226-272: the HIP raw-layout test takes aiter too;
    #    _set_default_dsa_backends lines 3431-3475 identical)
    #    0.5.15 and 0.5.15.post1 the same (calculate_mla_kv_cache_dim lines 245-291 identical; arg_groups/overrides.py
    #    _dsa_split_backend_resolution lines 1100-1161: 0.5.14's _set_default_dsa_backends as a declaration)
    #    0.5.16 the same (calculate_mla_kv_cache_dim, mem_cache/kv_cache_configurator.py lines 1816-1867, same body)
    #    0.5.17: the pool's cell is calculate_mla_kv_cache_dim (model_executor/pool_configurator.py lines 204-210):
    #    sized as stored, as 0.5.23
    #    0.5.18 and 0.5.19 the same (calculate_mla_kv_cache_dim kv_cache_configurator.py 0.5.18 lines 2139-2190
    #    identical, 0.5.19 lines 2379-2427 a rename)
    #    0.5.20 the same (mem_cache/kv_cache_configurator.py calculate_mla_kv_cache_dim lines 2543-2598: the trtllm
    #    layout test reads the local disaggregation role, none by default, which is 0.5.19's test; ROCm adds the triton
    #    DSA backend, as 0.5.22)
    #    0.5.21 the same (calculate_mla_kv_cache_dim lines 2572-2627, identical to 0.5.20's)
    Rule("dsa_fp8_alloc_bytes", "0.5.10", "0.5.21", None,
         "model_executor/model_runner_kv_cache_mixin.py (0.5.10) calculate_mla_kv_cache_dim lines 240-285 (576 on the "
         "trtllm NSA backends, the 10.x default; 656 below 10.x: rule dsa)"),
    Rule("dsa_fp8_alloc_bytes", "0.5.22", "0.5.23", None,
         "mem_cache/kv_cache_configurator.py calculate_mla_kv_cache_dim lines 3412-3475: sized as stored; "
         "0.5.22 the same (lines 3086-3149)"),
    # -- the smallest trtllm_mha page that needs trtllm-gen's dynamic tokens-per-page kernels on
    #    sm100 (SGLang.check_page), None where no such check: before 0.5.23 trtllm_mha runs 16, 32
    #    or 64 only (backend_page_size); 0.5.23 layers/attention/trtllm_mha_backend.py lines 368-389
    #    raise ValueError for page_size >= 128 when num_q_heads // num_kv_heads <= 1 (per attention
    #    tp rank), head_dim != v_head_dim or the page is not a power of 2 (not on the XQA path).
    #    0.5.9 the same (layers/attention/trtllm_mha_backend.py: no large-page check)
    #    0.5.10 the same (trtllm_mha_backend.py: no large-page check; pages 16 / 32 / 64, server_args.py lines 2391-2395)
    #    0.5.11 the same (trtllm_mha_backend.py: no large-page check; pages 16 / 32 / 64, server_args.py lines 2647-2651)
    #    0.5.12 the same (trtllm_mha_backend.py: no large-page check; pages 16 / 32 / 64, server_args.py lines 2781-2785;
    #    flashinfer 0.6.11.post1, not 0.5.22's 0.6.12)
    #    0.5.13 and 0.5.13.post1 the same (trtllm_mha_backend.py: no large-page check; pages 16 / 32 / 64,
    #    server_args.py lines 2994-2998, though its pin is flashinfer 0.6.12, 0.5.22's)
    #    0.5.14 the same (pages 16 / 32 / 64, server_args.py lines 4638-4642; trtllm_mha_backend.py no large-page check)
    #    0.5.15 and 0.5.15.post1 the same (pages 16 / 32 / 64, arg_groups/overrides.py lines 1570-1579;
    #    trtllm_mha_backend.py no large-page check)
    #    0.5.16 the same (pages 16 / 32 / 64, overrides.py lines 1732-1741; trtllm_mha_backend.py no large-page check,
    #    though its pin is flashinfer 0.6.14)
    Rule("trtllm_mha_large_page", "0.4.6", "0.5.16", None, "trtllm_mha keeps pages of 16, 32 or 64 (backend_page_size)"),
    #    0.5.17: TRTLLMHAAttnBackend.__init__ (layers/attention/trtllm_mha_backend.py lines 210-234) raises for pages of
    #    128 or more off the XQA path unless GQA, equal K / V head dims and a power of 2, as 0.5.22
    #    0.5.18 the same check (lines 220-244); 0.5.19 the same (lines 238-261)
    #    0.5.20 the same (trtllm_mha_backend.py TRTLLMHAAttnBackend.__init__ lines 123-285 identical, the check lines
    #    238-261)
    #    0.5.21 the same value (trtllm_mha_backend.py TRTLLMHAAttnBackend.__init__ lines 177-410 = 0.5.22's)
    Rule("trtllm_mha_large_page", "0.5.17", "0.5.21", 128,
         "python/sglang/srt/layers/attention/trtllm_mha_backend.py (0.5.17) lines 210-234 'trtllm_mha with "
         "page_size=... requires trtllm-gen's dynamic tokens-per-page kernels, which only support GQA'; 0.5.18 lines "
         "220-244, 0.5.19 lines 238-261"),
    Rule("trtllm_mha_large_page", "0.5.22", "0.5.23", 128,
         "sglang/srt/layers/attention/trtllm_mha_backend.py lines 368-389 'trtllm_mha with page_size=... requires "
         "trtllm-gen's dynamic tokens-per-page kernels, which only support GQA'; "
         "0.5.22 the same (lines 356-377)"),
    # -- DeepSeek sparse attention (mla_indexed layers, DeepSeek-V3.2; SGLang.model_block_size and
    #    check_kv_on_gpu). None: no DeepseekV32ForCausalLM. Else a DSA.
    Rule("dsa", "0.4.6", "0.5.2", None, "python/sglang/srt/models/deepseek_v2.py: no DeepseekV32ForCausalLM"),
    Rule("dsa", "0.5.4", "0.5.4", DSA(64, 64, dp_attention_tp=True, fp8_on_sm100="always", formats=None),
         _ARGS + " _handle_model_specific_adjustments lines 1010-1034: is_deepseek_nsa (not NPU): "
         "enable_dp_attention, dp_size = tp_size, page_size = 64, kv_cache_dtype = fp8_e4m3 if major >= 10"),
    Rule("dsa", "0.5.6", "0.5.6", DSA(64, 64, dp_attention_tp=False, fp8_on_sm100="auto", formats=("bf16", "fp8_e4m3")),
         _ARGS + " _handle_model_specific_adjustments lines 948-988: DeepSeek NSA (not NPU): 'Setting page size to "
         "64 for DeepSeek NSA.', kv_cache_dtype auto -> fp8_e4m3 if major >= 10 else bfloat16, assert "
         "kv_cache_dtype in [bfloat16, fp8_e4m3]"),
    Rule("dsa", "0.5.8", "0.5.8", DSA(64, 1, dp_attention_tp=False, fp8_on_sm100="auto", formats=("bf16", "fp8_e4m3")),
         _ARGS + " _handle_model_specific_adjustments lines 1150-1175: DeepSeek DSA: page_size 1 on ROCm ('Setting "
         "page size to 1 for DeepSeek DSA on ROCm.'), else 64; kv_cache_dtype auto -> fp8_e4m3 if major >= 10 else "
         "bfloat16, assert kv_cache_dtype in [bfloat16, fp8_e4m3]"),
    #    0.5.9: the same page, dtype default and assertion, moved into _set_default_nsa_kv_cache_dtype
    #    (lines 1129-1152); the bf16 decode backend on 10.x is trtllm (was flashmla_sparse), where kvplan
    #    plans no bf16 anyway (auto is fp8_e4m3 there); fp8_e4m3 decodes on flashmla_kv everywhere
    #    (_set_default_nsa_backends lines 1154-1180): rule dsa_fp8_alloc_bytes.
    Rule("dsa", "0.5.9", "0.5.9", DSA(64, 1, dp_attention_tp=False, fp8_on_sm100="auto", formats=("bf16", "fp8_e4m3")),
         _ARGS + " (0.5.9) _handle_model_specific_adjustments lines 1250-1262 (page_size 1 on ROCm, else 64), "
         "_set_default_nsa_kv_cache_dtype lines 1129-1152 (auto -> fp8_e4m3 if major >= 10 else bfloat16; assert "
         "bfloat16 / fp8_e4m3)"),
    #    0.5.10: the same page (lines 1573-1581), dtype default and assertion (_set_default_nsa_kv_cache_dtype
    #    lines 1417-1443); fp8_e4m3 now decodes on trtllm on 10.x (576 B, kvplan's fp8_e4m3) and on
    #    flashmla_kv below (656 B with scales and a bf16 rope: refused, fp8_scaled_below 10; on ROCm the
    #    tilelang backends keep 576, refused with it).
    #    0.5.11 the same (page lines 1739-1747; _set_default_nsa_kv_cache_dtype lines 1570-1596, identical;
    #    _set_default_nsa_backends lines 1598-1645: fp8_e4m3 trtllm on >= 10 where not user-set, flashmla_kv below)
    Rule("dsa", "0.5.10", "0.5.11",
         DSA(64, 1, dp_attention_tp=False, fp8_on_sm100="auto", formats=("bf16", "fp8_e4m3"), fp8_scaled_below=10),
         _ARGS + " (0.5.10) _handle_model_specific_adjustments lines 1573-1581 (page_size 1 on ROCm, else 64), "
         "_set_default_nsa_kv_cache_dtype lines 1417-1443, _set_default_nsa_backends lines 1445-1490 (fp8_e4m3: trtllm "
         "on >= 10, flashmla_kv below); model_executor/model_runner_kv_cache_mixin.py calculate_mla_kv_cache_dim lines "
         "240-285"),
    #    0.5.12: on ROCm the page is 1 only without aiter's preshuffle paged-MQA kernel (Triton >= 3.5 or
    #    AITER_ENABLE_AOT_GLUON_PA_MQA_LOGITS), else 64, as 0.5.23: page_amd None (lines 1856-1874); 64 on CUDA
    #    (line 1873). DeepseekV32ForCausalLM now reaches this branch (lines 1786-1793: in 0.5.9-0.5.11 only
    #    DeepseekV3 / KimiK25 / MistralLarge3 / Pixtral / GlmMoeDsa did). _set_default_nsa_kv_cache_dtype
    #    lines 1677-1703 identical; _set_default_nsa_backends lines 1705-1749 (HiSparse, off, moved to a hook);
    #    calculate_mla_kv_cache_dim lines 139-184 identical.
    Rule("dsa", "0.5.12", "0.5.12",
         DSA(64, None, dp_attention_tp=False, fp8_on_sm100="auto", formats=("bf16", "fp8_e4m3"), fp8_scaled_below=10),
         _ARGS + " (0.5.12) _handle_model_specific_adjustments lines 1856-1874 (ROCm: page 1 without aiter's "
         "preshuffle paged-MQA kernel, else 64), _set_default_nsa_kv_cache_dtype lines 1677-1703, "
         "_set_default_nsa_backends lines 1705-1749 (fp8_e4m3: trtllm on >= 10, flashmla_kv below); "
         "model_executor/model_runner_kv_cache_mixin.py calculate_mla_kv_cache_dim lines 139-184"),
    #    0.5.13 and 0.5.13.post1: the same (NSA renamed DSA: is_deepseek_dsa configs/model_config.py lines 102-114, the
    #    "dsa" backend, --dsa-*-backend; _handle_model_specific_adjustments lines 1927-1950: page 1 on ROCm without
    #    aiter's preshuffle paged-MQA kernel, else 64; _set_default_dsa_kv_cache_dtype lines 1728-1754 and
    #    _set_default_dsa_backends lines 1756-1800 identical but for the names; calculate_mla_kv_cache_dim lines
    #    186-231). --enable-two-batch-overlap with index_topk_freq > 1 raises (lines 1867-1879), not planned.
    Rule("dsa", "0.5.13", "0.5.13.post1",
         DSA(64, None, dp_attention_tp=False, fp8_on_sm100="auto", formats=("bf16", "fp8_e4m3"), fp8_scaled_below=10),
         _ARGS + " (0.5.13) _handle_model_specific_adjustments lines 1927-1950 (ROCm: page 1 without aiter's "
         "preshuffle paged-MQA kernel, else 64), _set_default_dsa_kv_cache_dtype lines 1728-1754, "
         "_set_default_dsa_backends lines 1756-1800 (fp8_e4m3: trtllm on >= 10, flashmla_kv below); "
         "model_executor/model_runner_kv_cache_mixin.py calculate_mla_kv_cache_dim lines 186-231"),
    #    0.5.14: the same (is_deepseek_dsa configs/model_config.py lines 103-115; _handle_model_specific_adjustments
    #    lines 3605-3628: page 1 on ROCm without aiter's preshuffle paged-MQA kernel, else 64;
    #    _set_default_dsa_kv_cache_dtype lines 3403-3429 and _set_default_dsa_backends lines 3431-3475 identical;
    #    calculate_mla_kv_cache_dim lines 226-272, on CUDA as before)
    Rule("dsa", "0.5.14", "0.5.14",
         DSA(64, None, dp_attention_tp=False, fp8_on_sm100="auto", formats=("bf16", "fp8_e4m3"), fp8_scaled_below=10),
         _ARGS + " (0.5.14) _handle_model_specific_adjustments lines 3605-3628 (ROCm: page 1 without aiter's "
         "preshuffle paged-MQA kernel, else 64), _set_default_dsa_kv_cache_dtype lines 3403-3429, "
         "_set_default_dsa_backends lines 3431-3475 (fp8_e4m3: trtllm on >= 10, flashmla_kv below); "
         "model_executor/model_runner_kv_cache_mixin.py calculate_mla_kv_cache_dim lines 226-272"),
    #    0.5.15 and 0.5.15.post1: the same, as declarations (arg_groups/overrides.py _deepseek_family_overrides lines
    #    374-386: page 1 on ROCm without aiter's preshuffle paged-MQA kernel, else 64; _dsa_kv_cache_dtype_default lines
    #    1052-1096 and _dsa_split_backend_resolution lines 1100-1161 = 0.5.14's _set_default_dsa_kv_cache_dtype and
    #    _set_default_dsa_backends; calculate_mla_kv_cache_dim lines 245-291 identical)
    #    0.5.16 and 0.5.17 the same on CUDA (_set_default_dsa_kv_cache_dtype / _set_default_dsa_backends, server_args.py
    #    0.5.16 lines 4284-4302, 0.5.17 lines 5009-5027; page 64 overrides.py 0.5.16 line 401; the DSA cache layer split
    #    only on PD prefill workers with context parallelism)
    #    0.5.18 the same (_set_default_dsa_kv_cache_dtype / _set_default_dsa_backends lines 5205-5223 identical,
    #    _dsa_kv_cache_dtype_default / _dsa_split_backend_resolution overrides.py lines 1595-1747 identical)
    #    0.5.19 the same (overrides.py lines 599-643, 670-753 renames; model_overrides/deepseek_v2.py page 64)
    #    0.5.20 the same for CUDA (arg_groups/overrides.py _dsa_kv_cache_dtype_default lines 559-618 is 0.5.22's: auto
    #    -> fp8_e4m3 on >= 10, bfloat16 below, learnable-sink configs bfloat16 on sm100; _dsa_split_backend_resolution
    #    lines 664-794 and _check_dsa_backend_constraints lines 621-647 differ from 0.5.22's only for XPU, HiSparse and
    #    dcp; model_overrides/deepseek_v2.py _deepseek_family_overrides lines 34-191: page 64 line 144, ROCm 1 line 137,
    #    XPU 128 line 147; calculate_mla_kv_cache_dim lines 2543-2598)
    #    0.5.21 the same (_dsa_kv_cache_dtype_default lines 465-521, _dsa_split_backend_resolution lines 567-698,
    #    _check_dsa_backend_constraints lines 524-550, _deepseek_family_overrides and calculate_mla_kv_cache_dim
    #    identical to 0.5.20's)
    Rule("dsa", "0.5.15", "0.5.21",
         DSA(64, None, dp_attention_tp=False, fp8_on_sm100="auto", formats=("bf16", "fp8_e4m3"), fp8_scaled_below=10),
         _OVR15 + " (0.5.15) _deepseek_family_overrides lines 374-386 (ROCm: page 1 without aiter's preshuffle "
         "paged-MQA kernel, else 64), _dsa_kv_cache_dtype_default lines 1052-1096, _dsa_split_backend_resolution "
         "lines 1100-1161 (fp8_e4m3: trtllm on >= 10, flashmla_kv below); "
         "model_executor/model_runner_kv_cache_mixin.py calculate_mla_kv_cache_dim lines 245-291"),
    #    0.5.23: page 64 x index_kpool (1 for DeepSeek-V3.2: no index_kpool in its config) on NVIDIA;
    #    on ROCm 1 or 64 by whether aiter's preshuffle paged-MQA kernel is available (Triton >= 3.5 or
    #    an environment variable), which kvplan cannot know. The dtype default and assertion as
    #    0.5.8. An fp8_e4m3 latent is stored raw (576 B for 512 + 64) only for the trtllm DSA
    #    backends, the default on 10.x; below, flashmla_kv stores 512 fp8 + 4 fp32 scales + 64 bf16
    #    rope = 656 B (mem_cache/kv_cache_configurator.py calculate_mla_kv_cache_dim lines 3412-3475;
    #    overrides.py _dsa_split_backend_resolution lines 713-718).
    Rule("dsa", "0.5.22", "0.5.23",
         DSA(64, None, dp_attention_tp=False, fp8_on_sm100="auto", formats=("bf16", "fp8_e4m3"), fp8_scaled_below=10),
         _MOD23 + "deepseek_v2.py lines 142-172 (page 64 x index_kpool; ROCm: 1 without aiter's preshuffle "
         "paged-MQA kernel); " + _OVR23 + " _dsa_kv_cache_dtype_default lines 491-547 (auto -> fp8_e4m3 if major >= "
         "10 else bfloat16; assert bfloat16 / fp8_e4m3), _dsa_split_backend_resolution lines 709-724; "
         "mem_cache/kv_cache_configurator.py calculate_mla_kv_cache_dim lines 3412-3475; "
         "0.5.22 the same (model_overrides/deepseek_v2.py lines 143-173; overrides.py lines 467-523, 685-700; "
         "kv_cache_configurator.py lines 3086-3149)"),
    # -- whether the default backend starts an fp8 cache (rule fp8_kv_start, SGLang.check_kv_on_gpu):
    #    {backend: {format: (verdict, why)}}, verdicts as vLLM's fp8_kv_start. A backend or format
    #    not listed is not checked (FlashInfer, triton, aiter; trtllm_mha before 0.5.6). FA3 takes
    #    fp8_e4m3 only (FlashAttention 3's mha_fwd: "FlashAttention only supports fp16, bf16, and
    #    fp8_e4m3 data type", hopper/flash_api.cpp), and every release hands fa3 + fp8_e5m2 to
    #    triton before the backend is built, MHA and MLA alike: model_runner.py
    #    model_specific_adjustment up to 0.5.4 (called from ModelRunner.__init__), server_args.py
    #    _handle_attention_backend_compatibility from 0.5.6 ("FlashAttention3 only supports fp8_e4m3
    #    if using FP8; Setting attention backend to triton."). trtllm_mla (DeepSeek-V3 on sm100 from
    #    0.5.4) raises ValueError for any other --kv-cache-dtype than those it lists. trtllm_mha
    #    (0.5.6, 0.5.8) casts q to float8_e4m3fn for an fp8_e4m3 cache only.
    Rule("fp8_kv_start", "0.4.6", "0.5.2", {"fa3": _FA3_FP8_MR},
         "python/sglang/srt/model_executor/model_runner.py model_specific_adjustment: fa3 with fp8_e5m2 -> triton"),
    Rule("fp8_kv_start", "0.5.4", "0.5.4",
         {"fa3": _FA3_FP8_MR, "trtllm_mla": _trtllm_mla_fp8("fp8_e4m3 or auto", 1111)},
         "python/sglang/srt/model_executor/model_runner.py model_specific_adjustment (fa3); " + _ARGS
         + " _handle_attention_backend_compatibility (trtllm_mla)"),
    Rule("fp8_kv_start", "0.5.6", "0.5.6",
         {"fa3": _FA3_FP8_SA, "trtllm_mla": _trtllm_mla_fp8("fp8_e4m3, fp4_e2m1, or auto", 1383),
          "trtllm_mha": _TRTLLM_MHA_FP8},
         _ARGS + ": _handle_attention_backend_compatibility; python/sglang/srt/layers/attention/trtllm_mha_backend.py"),
    Rule("fp8_kv_start", "0.5.8", "0.5.8",
         {"fa3": _FA3_FP8_SA, "trtllm_mla": _trtllm_mla_fp8("fp8_e4m3, fp4_e2m1, bf16, or auto", 1753),
          "trtllm_mha": _TRTLLM_MHA_FP8},
         _ARGS + ": _handle_attention_backend_compatibility; python/sglang/srt/layers/attention/trtllm_mha_backend.py"),
    Rule("fp8_kv_start", "0.5.9", "0.5.9",
         {"fa3": _FA3_FP8_SA, "trtllm_mla": _trtllm_mla_fp8("fp8_e4m3, fp4_e2m1, bf16, or auto", 1891),
          "trtllm_mha": _TRTLLM_MHA_FP8},
         _ARGS + " (0.5.9): _handle_attention_backend_compatibility (fa3 + fp8_e5m2 -> triton line 1912); "
         "python/sglang/srt/layers/attention/trtllm_mha_backend.py (float8_e4m3fn only, lines 531, 705, 789)"),
    Rule("fp8_kv_start", "0.5.10", "0.5.10",
         {"fa3": _FA3_FP8_SA, "trtllm_mla": _trtllm_mla_fp8("fp8_e4m3, fp4_e2m1, bf16, or auto", 2358),
          "trtllm_mha": _TRTLLM_MHA_FP8},
         _ARGS + " (0.5.10): _handle_attention_backend_compatibility (fa3 + fp8_e5m2 -> triton line 2397); "
         "python/sglang/srt/layers/attention/trtllm_mha_backend.py (float8_e4m3fn only, lines 554, 729, 814)"),
    #    0.5.11: the same verdicts (_handle_attention_backend_compatibility lines 2533-2734, changed only for
    #    intel_xpu)
    Rule("fp8_kv_start", "0.5.11", "0.5.11",
         {"fa3": _FA3_FP8_SA, "trtllm_mla": _trtllm_mla_fp8("fp8_e4m3, fp4_e2m1, bf16, or auto", 2614),
          "trtllm_mha": _TRTLLM_MHA_FP8},
         _ARGS + " (0.5.11): _handle_attention_backend_compatibility (fa3 + fp8_e5m2 -> triton line 2653); "
         "python/sglang/srt/layers/attention/trtllm_mha_backend.py (float8_e4m3fn only, lines 558, 733, 818)"),
    #    0.5.12: the same verdicts (_handle_attention_backend_compatibility lines 2648-2868: + tokenspeed_mla,
    #    no default; trtllm_mha_backend.py lines 558, 733, 818 unchanged)
    Rule("fp8_kv_start", "0.5.12", "0.5.12",
         {"fa3": _FA3_FP8_SA, "trtllm_mla": _trtllm_mla_fp8("fp8_e4m3, fp4_e2m1, bf16, or auto", 2729),
          "trtllm_mha": _TRTLLM_MHA_FP8},
         _ARGS + " (0.5.12): _handle_attention_backend_compatibility (fa3 + fp8_e5m2 -> triton line 2787); "
         "python/sglang/srt/layers/attention/trtllm_mha_backend.py (float8_e4m3fn only, lines 558, 733, 818)"),
    #    0.5.13 and 0.5.13.post1: the same verdicts (_handle_attention_backend_compatibility lines 2832-3081: +
    #    cutedsl_mla, no default; trtllm_mha_backend.py float8_e4m3fn only, lines 568, 815, 911)
    Rule("fp8_kv_start", "0.5.13", "0.5.13.post1",
         {"fa3": _FA3_FP8_SA, "trtllm_mla": _trtllm_mla_fp8("fp8_e4m3, fp4_e2m1, bf16, or auto", 2913),
          "trtllm_mha": _TRTLLM_MHA_FP8},
         _ARGS + " (0.5.13): _handle_attention_backend_compatibility (fa3 + fp8_e5m2 -> triton line 3000); "
         "python/sglang/srt/layers/attention/trtllm_mha_backend.py (float8_e4m3fn only, lines 568, 815, 911)"),
    #    0.5.14: the same verdicts (_handle_attention_backend_compatibility lines 4474-4725; trtllm_mha_backend.py
    #    float8_e4m3fn only, lines 284, 294, 579)
    Rule("fp8_kv_start", "0.5.14", "0.5.14",
         {"fa3": _FA3_FP8_SA, "trtllm_mla": _trtllm_mla_fp8("fp8_e4m3, fp4_e2m1, bf16, or auto", 4557),
          "trtllm_mha": _TRTLLM_MHA_FP8},
         _ARGS + " (0.5.14): _handle_attention_backend_compatibility (fa3 + fp8_e5m2 -> triton line 4644); "
         "python/sglang/srt/layers/attention/trtllm_mha_backend.py (float8_e4m3fn only, lines 284, 294, 579)"),
    #    0.5.15 and 0.5.15.post1: the same verdicts (arg_groups/overrides.py _mla_kv_cache_dtype_checks lines 1585-1616,
    #    _attention_backend_fa3_fp8_fallback lines 1664-1672; trtllm_mha_backend.py float8_e4m3fn only)
    #    0.5.16 the same verdicts (overrides.py _mla_kv_cache_dtype_checks lines 1748-1778, _attention_backend_fa3_fp8_fallback
    #    lines 1826-1833; trtllm_mha_backend.py float8_e4m3fn only, lines 337, 656, 971)
    Rule("fp8_kv_start", "0.5.15", "0.5.16",
         {"fa3": _FA3_FP8_SA, "trtllm_mla": _trtllm_mla_fp8("fp8_e4m3, fp4_e2m1, bf16, or auto", 1600, _OVR15),
          "trtllm_mha": _TRTLLM_MHA_FP8},
         _OVR15 + " (0.5.15): _attention_backend_fa3_fp8_fallback (fa3 + fp8_e5m2 -> triton lines 1664-1672), "
         "_mla_kv_cache_dtype_checks lines 1585-1616; python/sglang/srt/layers/attention/trtllm_mha_backend.py "
         "(float8_e4m3fn only)"),
    #    0.5.17: the same verdicts (_mla_kv_cache_dtype_checks lines 2111-2141, identical; _attention_backend_fa3_fp8_fallback
    #    lines 2189-2196; trtllm_mha_backend.py lines 396, 761, 1088), and fa4, now a default (asymmetric K/V on sm100),
    #    whose fp8 cache is not read
    Rule("fp8_kv_start", "0.5.17", "0.5.17",
         {"fa3": _FA3_FP8_SA, "trtllm_mla": _trtllm_mla_fp8("fp8_e4m3, fp4_e2m1, bf16, or auto", 2126, _OVR15),
          "trtllm_mha": _TRTLLM_MHA_FP8, "fa4": _FA4_FP8},
         _OVR15 + " (0.5.17): _attention_backend_fa3_fp8_fallback lines 2189-2196, _mla_kv_cache_dtype_checks lines "
         "2111-2141; python/sglang/srt/layers/attention/trtllm_mha_backend.py (float8_e4m3fn only)"),
    #    0.5.18 the same verdicts (_mla_kv_cache_dtype_checks lines 2209-2239, _attention_backend_fa3_fp8_fallback lines
    #    2287-2294, identical; trtllm_mha_backend.py lines 435, 800, 1134)
    Rule("fp8_kv_start", "0.5.18", "0.5.18",
         {"fa3": _FA3_FP8_SA, "trtllm_mla": _trtllm_mla_fp8("fp8_e4m3, fp4_e2m1, bf16, or auto", 2224, _OVR15),
          "trtllm_mha": _TRTLLM_MHA_FP8, "fa4": _FA4_FP8},
         _OVR15 + " (0.5.18): _attention_backend_fa3_fp8_fallback lines 2287-2294, _mla_kv_cache_dtype_checks lines "
         "2209-2239; python/sglang/srt/layers/attention/trtllm_mha_backend.py (float8_e4m3fn only)"),
    #    0.5.19 the same verdicts (_mla_kv_cache_dtype_checks lines 1208-1238, _attention_backend_fa3_fp8_fallback lines
    #    1286-1293: renames; trtllm_mha_backend.py lines 458, 828, 1277)
    Rule("fp8_kv_start", "0.5.19", "0.5.19",
         {"fa3": _FA3_FP8_SA, "trtllm_mla": _trtllm_mla_fp8("fp8_e4m3, fp4_e2m1, bf16, or auto", 1223, _OVR15),
          "trtllm_mha": _TRTLLM_MHA_FP8, "fa4": _FA4_FP8},
         _OVR15 + " (0.5.19): _attention_backend_fa3_fp8_fallback lines 1286-1293, _mla_kv_cache_dtype_checks lines "
         "1208-1238; python/sglang/srt/layers/attention/trtllm_mha_backend.py (float8_e4m3fn only)"),
    #    0.5.20 the same verdicts (_mla_kv_cache_dtype_checks lines 1246-1276, _attention_backend_fa3_fp8_fallback lines
    #    1324-1331: identical to 0.5.19's; trtllm_mha_backend.py TRTLLMHAAttnBackend.__init__ identical)
    Rule("fp8_kv_start", "0.5.20", "0.5.20",
         {"fa3": _FA3_FP8_SA, "trtllm_mla": _trtllm_mla_fp8("fp8_e4m3, fp4_e2m1, bf16, or auto", 1261, _OVR15),
          "trtllm_mha": _TRTLLM_MHA_FP8, "fa4": _FA4_FP8},
         _OVR15 + " (0.5.20): _attention_backend_fa3_fp8_fallback lines 1324-1331, _mla_kv_cache_dtype_checks lines "
         "1246-1276; python/sglang/srt/layers/attention/trtllm_mha_backend.py (float8_e4m3fn only)"),
    #    0.5.21: 0.5.22's verdicts (_mla_kv_cache_dtype_checks lines 1135-1162 = 0.5.22's: trtllm_mla takes fp8_e4m3,
    #    bf16 or auto, line 1147; _attention_backend_fa3_fp8_fallback lines 1207-1214; trtllm_mha_backend.py = 0.5.22's)
    Rule("fp8_kv_start", "0.5.21", "0.5.21",
         {"fa3": {"fp8_e4m3": ("starts", "fa3"),
                  "fp8_e5m2": ("starts", "triton, " + _OVR23 + " _attention_backend_fa3_fp8_fallback lines 1207-1214: "
                                         "fa3 with fp8_e5m2 -> triton")},
          "trtllm_mla": _trtllm_mla_fp8("fp8_e4m3, bf16, or auto", 1147, _OVR23),
          "trtllm_mha": _TRTLLM_MHA_FP8, "fa4": _FA4_FP8},
         _OVR23 + " (0.5.21) _mla_kv_cache_dtype_checks lines 1135-1162, _attention_backend_fa3_fp8_fallback lines "
         "1207-1214; sglang/srt/layers/attention/trtllm_mha_backend.py (float8_e4m3fn only)"),
    #    0.5.22: the same verdicts at other lines (its _mla_kv_cache_dtype_checks also checks
    #    tokenspeed_mla, a backend no default picks).
    Rule("fp8_kv_start", "0.5.22", "0.5.22",
         {"fa3": {"fp8_e4m3": ("starts", "fa3"),
                  "fp8_e5m2": ("starts", "triton, " + _OVR23 + " _attention_backend_fa3_fp8_fallback lines 1226-1234: "
                                         "fa3 with fp8_e5m2 -> triton")},
          "trtllm_mla": _trtllm_mla_fp8("fp8_e4m3, bf16, or auto", 1166, _OVR23),
          "trtllm_mha": _TRTLLM_MHA_FP8, "fa4": _FA4_FP8},
         _OVR23 + " (0.5.22) _mla_kv_cache_dtype_checks lines 1154-1181, _attention_backend_fa3_fp8_fallback; "
         "sglang/srt/layers/attention/trtllm_mha_backend.py (float8_e4m3fn only, lines 646, 1516-1522)"),
    Rule("fp8_kv_start", "0.5.23", "0.5.23",
         {"fa3": {"fp8_e4m3": ("starts", "fa3"),
                  "fp8_e5m2": ("starts", "triton, " + _OVR23 + " _attention_backend_fa3_fp8_fallback lines 1263-1271: "
                                         "fa3 with fp8_e5m2 -> triton")},
          "trtllm_mla": _trtllm_mla_fp8("fp8_e4m3, bf16, or auto", 1216, _OVR23),
          "trtllm_mha": _TRTLLM_MHA_FP8, "fa4": _FA4_FP8},
         _OVR23 + " _mla_kv_cache_dtype_checks lines 1204-1218, _attention_backend_fa3_fp8_fallback; "
         "sglang/srt/layers/attention/trtllm_mha_backend.py (float8_e4m3fn only, lines 699, 1636-1642)"),
    # -- FlashInfer all-reduce + residual add + RMSNorm (kvplan.speed; SGLang.allreduce_rms_fusion).
    #    None: no --enable-flashinfer-allreduce-fusion. Else a Fusion. The flag is store_true
    #    (default False): nothing turns it off once server_args.py turns it on.
    Rule("allreduce_rms_fusion", "0.4.6", "0.4.6", None,
         _ARGS + ": no enable_flashinfer_allreduce_fusion (no layers/flashinfer_comm_fusion.py)"),
    Rule("allreduce_rms_fusion", "0.4.9", "0.4.9",
         Fusion(1024, 0, _SM100, _DSV + ("Qwen3MoeForCausalLM",), dp_attention_unfused=True),
         _COMM + ": _gather_hidden_states_and_residual fuses the attention all-reduce when _is_sm100_supported "
         "and hidden_states.shape[0] <= 1024 (not with DP attention: attn_dp_size != 1 branch); no model fuses "
         "the MLP all-reduce; " + _ARGS + ": enable_flashinfer_allreduce_fusion default False, never set"),
    Rule("allreduce_rms_fusion", "0.4.10", "0.4.10", Fusion(128, 128, _SM100, _DSV),
         _COMM + ": attention all-reduce fused at shape[0] <= 128 on sm100; models/deepseek_v2.py "
         "_should_fuse_mlp_allreduce_with_next_layer: MLP all-reduce at <= 128 tokens, sm100, not the last layer "
         "(no DP-attention test); " + _ARGS + ": default False, never set"),
    Rule("allreduce_rms_fusion", "0.5.1", "0.5.1",
         Fusion(2048, 2048, _SM100, _DSV + ("GptOssForCausalLM",), (("GptOssForCausalLM", _SM100),)),
         _COMM + ": attention all-reduce at shape[0] <= 2048 on sm100; should_fuse_mlp_allreduce_with_next_layer: "
         "FUSE_ALLREDUCE_MAX_BATCH_SIZE = 2048, not is_last_layer, tp_size > 1 (no DP-attention test); models "
         "deepseek_v2.py, gpt_oss.py; " + _ARGS + ": _handle_model_specific_adjustments (line 2245): "
         "GptOssForCausalLM, is_sm100_supported(), not enable_dp_attention"),
    Rule("allreduce_rms_fusion", "0.5.2", "0.5.2",
         Fusion(4096, 2048, _SM90_100, _DSV + ("GptOssForCausalLM", "Qwen3MoeForCausalLM"),
                (("GptOssForCausalLM", _SM100),)),
         _COMM + ": attention all-reduce at shape[0] <= 4096 on sm90 or sm100 (layers/flashinfer_comm_fusion.py "
         "sizes its workspace for 2048 tokens); MLP all-reduce FUSE_ALLREDUCE_MAX_BATCH_SIZE = 2048 (models "
         "deepseek_v2.py, gpt_oss.py, qwen3_moe.py); " + _ARGS + " line 2459: GptOssForCausalLM on sm100 "
         "without DP attention"),
    Rule("allreduce_rms_fusion", "0.5.4", "0.5.4",
         Fusion(4096, 2048, _SM90_100, _DSV + ("DeepseekV32ForCausalLM", "GptOssForCausalLM", "Qwen3MoeForCausalLM"),
                (("DeepseekV3ForCausalLM", _SM100), ("GptOssForCausalLM", _SM100))),
         _COMM + ": as 0.5.2 (attention <= 4096 tokens on sm90/sm100, MLP <= 2048); " + _ARGS
         + ": _handle_model_specific_adjustments line 891 (DeepseekV3ForCausalLM without index_topk, sm100, "
         "no DP attention) and line 930 (GptOssForCausalLM, sm100, no DP attention)"),
    Rule("allreduce_rms_fusion", "0.5.6", "0.5.6",
         Fusion(2048, 2048, _SM90_100, _DSV + ("DeepseekV32ForCausalLM", "GptOssForCausalLM", "Qwen3MoeForCausalLM",
                                               "Glm4MoeForCausalLM"),
                (("DeepseekV3ForCausalLM", _SM100), ("GptOssForCausalLM", (10, 12))), single_node=True,
                dp_attention_unfused=True),
         _COMM + ": attention all-reduce at shape[0] <= 2048 on sm90/sm100; should_fuse_mlp_allreduce_with_next_layer "
         "<= FUSE_ALLREDUCE_MAX_BATCH_SIZE = 2048, not is_last_layer, tp_size > 1, not is_dp_attention_enabled() "
         "(models deepseek_v2.py, gpt_oss.py, qwen3_moe.py, glm4_moe.py); " + _ARGS + ": "
         "_handle_model_specific_adjustments lines 1027-1031 (DeepseekV3ForCausalLM: is_sm100_supported(), no DP "
         "attention, nnodes == 1) and 1085-1091 (GptOssForCausalLM: is_blackwell_supported(), major 10 or 12)"),
    Rule("allreduce_rms_fusion", "0.5.8", "0.5.8",
         Fusion(2048, 2048, _SM90_100, _DSV + ("DeepseekV32ForCausalLM", "GptOssForCausalLM", "Qwen3MoeForCausalLM",
                                               "Glm4MoeForCausalLM", "Glm4MoeLiteForCausalLM"),
                tuple((a, _SM90_100) for a in ("DeepseekV3ForCausalLM", "GptOssForCausalLM", "Glm4MoeForCausalLM",
                                               "Glm4MoeLiteForCausalLM", "Qwen3MoeForCausalLM")),
                single_node=True, not_gpus=("h20",), dp_attention_unfused=True),
         _COMM + ": apply_flashinfer_allreduce_fusion (both paths): sm90 or sm100, 0 < tokens <= "
         "FUSE_ALLREDUCE_MAX_BATCH_SIZE = 2048, not DP attention; MLP path not is_last_layer, tp_size > 1; "
         + _ARGS + " lines 1610-1626: DeepseekV3 / GptOss / Glm4Moe / Glm4MoeLite / Qwen3Moe on sm90 or sm100, "
         "no DP attention, nnodes == 1, not an H20, moe_a2a_backend none (the default)"),
    #    0.5.9: as 0.5.8 (layers/communicator.py apply_flashinfer_allreduce_fusion lines 91-101,
    #    FUSE_ALLREDUCE_MAX_BATCH_SIZE line 88, should_fuse_mlp_allreduce_with_next_layer lines 584-607),
    #    turned on by itself for KimiK25ForConditionalGeneration too (server_args.py lines 1672-1697).
    Rule("allreduce_rms_fusion", "0.5.9", "0.5.9",
         Fusion(2048, 2048, _SM90_100, _FUSION_PATHS_0_5_9,
                tuple((a, _SM90_100) for a in _FUSION_AUTO_0_5_9),
                single_node=True, not_gpus=("h20",), dp_attention_unfused=True),
         _COMM + " (0.5.9) apply_flashinfer_allreduce_fusion lines 91-101: sm90 or sm100, 0 < tokens <= 2048, not "
         "DP attention; " + _ARGS + " lines 1672-1697: DeepseekV3 / GptOss / Glm4Moe / Glm4MoeLite / Qwen3Moe / "
         "KimiK25 on sm90 or sm100, no DP attention, nnodes == 1, not an H20, moe_a2a_backend none"),
    #    0.5.9-0.5.10 list DeepseekV3 only, but load a model_type deepseek_v32 config (which their pinned
    #    transformers 4.57.1 / 5.3.0 do not know) through _load_deepseek_v32_model, which rewrites its
    #    architectures to ["DeepseekV3ForCausalLM"] (0.5.10 utils/hf_transformers_utils.py lines 258-280,
    #    520-530; FINDINGS_h31_sgl512.md): the list sees DeepSeek-V3.2 as DeepseekV3, so it is listed here.
    #    0.5.10: the fusion paths as 0.5.9's (communicator.py apply_flashinfer_allreduce_fusion lines 96-110,
    #    adding only attn_cp_size <= 1, the default, and FlashInfer's comm module loading;
    #    should_fuse_mlp_allreduce_with_next_layer lines 617-648, the scattered-input path off by default);
    #    turned on by itself for Qwen3.5 too, at tp > 1 (server_args.py lines 2089-2113): kvplan has not read
    #    Qwen3.5's model, so that default is refused. --enforce-disable-flashinfer-allreduce-fusion (line 525,
    #    applied after the defaults lines 2115-2120) turns it off (can_disable; h31-sgl511, read again).
    Rule("allreduce_rms_fusion", "0.5.10", "0.5.10",
         Fusion(2048, 2048, _SM90_100, _FUSION_PATHS_0_5_9,
                tuple((a, _SM90_100) for a in _FUSION_AUTO_0_5_10),
                single_node=True, not_gpus=("h20",), dp_attention_unfused=True, can_disable=True),
         _COMM + " (0.5.10) apply_flashinfer_allreduce_fusion lines 96-110: sm90 or sm100, 0 < tokens <= 2048, not "
         "DP attention; " + _ARGS + " lines 2089-2113: DeepseekV3 / GptOss / Glm4Moe / Glm4MoeLite / Qwen3Moe / "
         "KimiK25 / Qwen3.5 on sm90 or sm100, tp > 1, no DP attention, nnodes == 1, not an H20, moe_a2a_backend none; "
         "--enforce-disable-flashinfer-allreduce-fusion lines 525, 2115-2120"),
    #    0.5.11: the same fusion paths (communicator.py apply_flashinfer_allreduce_fusion lines 157-168, without
    #    0.5.10's attn_cp_size test; FUSE_ALLREDUCE_MAX_BATCH_SIZE line 154; should_fuse_mlp_allreduce_with_next_layer
    #    lines 713-751, + a moe_cp allgather test, off by default); on by itself for DeepseekV32, GlmMoeDsa and
    #    Qwen3Next too (server_args.py lines 2330-2356; GlmMoeDsa's and Qwen3Next's models kvplan has not read:
    #    refused as Qwen3.5's); --enforce-disable-flashinfer-allreduce-fusion (line 556, applied lines
    #    2358-2364) turns it off.
    Rule("allreduce_rms_fusion", "0.5.11", "0.5.11",
         Fusion(2048, 2048, _SM90_100, _FUSION_PATHS_0_5_9,
                tuple((a, _SM90_100) for a in _FUSION_AUTO_0_5_11),
                single_node=True, not_gpus=("h20",), dp_attention_unfused=True, can_disable=True),
         _COMM + " (0.5.11) apply_flashinfer_allreduce_fusion lines 157-168: sm90 or sm100, 0 < tokens <= 2048, not "
         "DP attention; " + _ARGS + " lines 2330-2356: DeepseekV3 / DeepseekV32 / GptOss / GlmMoeDsa / Glm4Moe / "
         "Glm4MoeLite / Qwen3Moe / Qwen3Next / KimiK25 / Qwen3.5 on sm90 or sm100, tp > 1, no DP attention, nnodes == "
         "1, not an H20, moe_a2a_backend none; --enforce-disable-flashinfer-allreduce-fusion lines 2358-2364"),
    #    0.5.12: the same fusion paths (communicator.py FUSE_ALLREDUCE_MAX_BATCH_SIZE line 155,
    #    apply_flashinfer_allreduce_fusion lines 158-169 and should_fuse_mlp_allreduce_with_next_layer lines
    #    716-754, identical); on by itself for InternS2PreviewForConditionalGeneration too (server_args.py lines
    #    2444-2471; its model kvplan has not read: refused, as Qwen3.5's); --enforce-disable-flashinfer-allreduce-
    #    fusion (line 627, applied lines 2473-2479; __post_init__ also sets it under --enable-deterministic-inference)
    Rule("allreduce_rms_fusion", "0.5.12", "0.5.12",
         Fusion(2048, 2048, _SM90_100, _FUSION_PATHS_0_5_9,
                tuple((a, _SM90_100) for a in _FUSION_AUTO_0_5_12),
                single_node=True, not_gpus=("h20",), dp_attention_unfused=True, can_disable=True),
         _COMM + " (0.5.12) apply_flashinfer_allreduce_fusion lines 158-169: sm90 or sm100, 0 < tokens <= 2048, not "
         "DP attention; " + _ARGS + " lines 2444-2471: DeepseekV3 / DeepseekV32 / GptOss / GlmMoeDsa / Glm4Moe / "
         "Glm4MoeLite / Qwen3Moe / Qwen3Next / KimiK25 / Qwen3.5 / InternS2Preview on sm90 or sm100, tp > 1, no DP "
         "attention, nnodes == 1, not an H20, moe_a2a_backend none; --enforce-disable-flashinfer-allreduce-fusion "
         "lines 2473-2479"),
    #    0.5.13 and 0.5.13.post1: the same paths (communicator.py FUSE_ALLREDUCE_MAX_BATCH_SIZE line 160,
    #    apply_flashinfer_allreduce_fusion lines 163-174 identical; should_fuse_mlp_allreduce_with_next_layer lines
    #    728-771 also skips an MLP in ScatterMode.SCATTERED, which needs an MoE all-to-all backend, FP4 all-gather or
    #    DP attention, none of them planned with the fusion); on by itself for MistralLarge3ForCausalLM too (a
    #    DeepseekV3ForCausalLM: its paths), on an H20 too (server_args.py lines 2627-2654: the H20 test is gone);
    #    --enforce-disable-flashinfer-allreduce-fusion line 651, applied lines 2656-2662
    Rule("allreduce_rms_fusion", "0.5.13", "0.5.13.post1",
         Fusion(2048, 2048, _SM90_100, _FUSION_PATHS_0_5_13,
                tuple((a, _SM90_100) for a in _FUSION_AUTO_0_5_13),
                single_node=True, dp_attention_unfused=True, can_disable=True),
         _COMM + " (0.5.13) apply_flashinfer_allreduce_fusion lines 163-174: sm90 or sm100, 0 < tokens <= 2048, not "
         "DP attention; " + _ARGS + " lines 2627-2654: DeepseekV3 / DeepseekV32 / GptOss / GlmMoeDsa / Glm4Moe / "
         "Glm4MoeLite / MistralLarge3 / Qwen3Moe / Qwen3Next / KimiK25 / Qwen3.5 / InternS2Preview on sm90 or sm100, "
         "tp > 1, no DP attention, nnodes == 1, moe_a2a_backend none; --enforce-disable-flashinfer-allreduce-fusion "
         "lines 2656-2662"),
    #    0.5.14: the flag is --flashinfer-allreduce-fusion-backend {auto, trtllm, mnnvl} (server_args.py lines
    #    2057-2070; enable_flashinfer_allreduce_fusion is no CLI flag any more, Arg(no_cli=True) line 2052, lines
    #    2731-2741). "auto" by itself for 0.5.13's architectures and Qwen3-VL-MoE, NemotronH, NemotronHPuzzle on sm90
    #    / sm100 at tp > 1 without DP attention and MoE all-to-all, on one node or on sm100 (lines 4298-4328);
    #    --enforce-disable-flashinfer-allreduce-fusion lines 4330-4336. The fused paths as 0.5.13 (communicator.py
    #    FUSE_ALLREDUCE_MAX_BATCH_SIZE line 160, apply_flashinfer_allreduce_fusion lines 163-174 testing the backend
    #    for None, should_fuse_mlp_allreduce_with_next_layer lines 761-804, a rename).
    Rule("allreduce_rms_fusion", "0.5.14", "0.5.14",
         Fusion(2048, 2048, _SM90_100, _FUSION_PATHS_0_5_14,
                tuple((a, _SM90_100) for a in _FUSION_AUTO_0_5_14),
                single_node=True, multi_node_majors=(10,), dp_attention_unfused=True,
                flag="--flashinfer-allreduce-fusion-backend", can_disable=True),
         _COMM + " (0.5.14) apply_flashinfer_allreduce_fusion lines 163-174: sm90 or sm100, 0 < tokens <= 2048, not "
         "DP attention; " + _ARGS + " lines 4298-4328: DeepseekV3 / DeepseekV32 / GptOss / GlmMoeDsa / Glm4Moe / "
         "Glm4MoeLite / MistralLarge3 / Qwen3Moe / Qwen3VLMoe / Qwen3Next / KimiK25 / Qwen3.5 / InternS2Preview / "
         "NemotronH on sm90 or sm100, tp > 1, no DP attention, nnodes == 1 or sm100, moe_a2a_backend none; "
         "--enforce-disable-flashinfer-allreduce-fusion lines 4330-4336"),
    #    0.5.15 and 0.5.15.post1: the same architectures and conditions as declarations (arg_groups/overrides.py
    #    _FLASHINFER_ALLREDUCE_FUSION_ARCHS lines 1352-1371, _flashinfer_allreduce_fusion_auto_enable lines 1374-1396,
    #    _enforce_disable_allreduce_fusion lines 1399-1409); the fused paths as 0.5.14 (communicator.py
    #    FUSE_ALLREDUCE_MAX_BATCH_SIZE line 163, apply_flashinfer_allreduce_fusion lines 166-177 identical;
    #    should_fuse_mlp_allreduce_with_next_layer lines 772-817 changes only the aiter path).
    #    0.5.16 the same (overrides.py _FLASHINFER_ALLREDUCE_FUSION_ARCHS lines 1514-1533, the same 16 architectures;
    #    _flashinfer_allreduce_fusion_auto_enable lines 1537-1558, _enforce_disable_allreduce_fusion lines 1562-1571
    #    identical; communicator.py apply_flashinfer_allreduce_fusion lines 164-178 reorders its tests,
    #    FUSE_ALLREDUCE_MAX_BATCH_SIZE line 161, should_fuse_mlp_allreduce_with_next_layer lines 776-821 a rename)
    #    0.5.17 the same (overrides.py lines 1863-1920; communicator.py lines 162, 165-179, 809-854)
    Rule("allreduce_rms_fusion", "0.5.15", "0.5.17",
         Fusion(2048, 2048, _SM90_100, _FUSION_PATHS_0_5_14,
                tuple((a, _SM90_100) for a in _FUSION_AUTO_0_5_14),
                single_node=True, multi_node_majors=(10,), dp_attention_unfused=True,
                flag="--flashinfer-allreduce-fusion-backend", can_disable=True),
         _COMM + " (0.5.15) apply_flashinfer_allreduce_fusion lines 166-177: sm90 or sm100, 0 < tokens <= 2048, not "
         "DP attention; " + _OVR15 + " _FLASHINFER_ALLREDUCE_FUSION_ARCHS lines 1352-1371 and "
         "_flashinfer_allreduce_fusion_auto_enable lines 1374-1396 (0.5.14's list and conditions); "
         "--enforce-disable-flashinfer-allreduce-fusion lines 1399-1409"),
    #    0.5.18: _FLASHINFER_ALLREDUCE_FUSION_ARCHS (overrides.py lines 1959-1979) + DeepseekV4ForCausalLM and
    #    InternS2MobiusForConditionalGeneration; _flashinfer_allreduce_fusion_auto_enable (lines 1983-2004),
    #    _enforce_disable_allreduce_fusion (lines 2008-2017), apply_flashinfer_allreduce_fusion (communicator.py lines
    #    165-179) identical, FUSE_ALLREDUCE_MAX_BATCH_SIZE 2048 (line 162); should_fuse_mlp_allreduce_with_next_layer
    #    (lines 809-866) no longer fuses under hybrid expert + tensor parallelism (moe_ep_size > 1 and moe_tp_size > 1),
    #    a split kvplan does not plan (its expert parallelism spans every rank: moe_tp_size 1).
    #    0.5.19 the same (overrides.py _flashinfer_allreduce_fusion_auto_enable lines 968-1003: a rename and a
    #    Qwen3.5-MoE branch under SGLANG_FLASHINFER_MNNVL_CUTEDSL_AR_FUSION; the list unchanged; communicator.py
    #    apply_flashinfer_allreduce_fusion lines 191-205 and should_fuse_mlp_allreduce_with_next_layer lines 886-943
    #    identical, FUSE_ALLREDUCE_MAX_BATCH_SIZE line 188)
    Rule("allreduce_rms_fusion", "0.5.18", "0.5.19",
         Fusion(2048, 2048, _SM90_100, _FUSION_PATHS_0_5_14,
                tuple((a, _SM90_100) for a in _FUSION_AUTO_0_5_18),
                single_node=True, multi_node_majors=(10,), dp_attention_unfused=True,
                flag="--flashinfer-allreduce-fusion-backend", can_disable=True),
         _COMM + " (0.5.18) apply_flashinfer_allreduce_fusion lines 165-179: sm90 or sm100, 0 < tokens <= 2048, not "
         "DP attention; " + _OVR15 + " (0.5.18) _FLASHINFER_ALLREDUCE_FUSION_ARCHS lines 1959-1979 and "
         "_flashinfer_allreduce_fusion_auto_enable lines 1983-2004; --enforce-disable-flashinfer-allreduce-fusion "
         "lines 2008-2017; 0.5.19 overrides.py lines 968-1016, communicator.py lines 188-205"),
    #    0.5.20: _FLASHINFER_ALLREDUCE_FUSION_ARCHS (overrides.py lines 988-1010) + Qwen4ExpForConditionalGeneration,
    #    NemotronH_Omni_Reasoning_V3 (and, as 0.5.19's, without InternS2MobiusForConditionalGeneration);
    #    _flashinfer_allreduce_fusion_auto_enable (lines 1014-1049), _enforce_disable_allreduce_fusion (lines
    #    1053-1062), communicator.py apply_flashinfer_allreduce_fusion (lines 191-205) identical to 0.5.19's,
    #    FUSE_ALLREDUCE_MAX_BATCH_SIZE 2048 (line 188); should_fuse_mlp_allreduce_with_next_layer (lines 925-985) also
    #    declines under context parallelism's MOE_FULL scatter, which kvplan does not plan.
    Rule("allreduce_rms_fusion", "0.5.20", "0.5.20",
         Fusion(2048, 2048, _SM90_100, _FUSION_PATHS_0_5_14,
                tuple((a, _SM90_100) for a in _FUSION_AUTO_0_5_20),
                single_node=True, multi_node_majors=(10,), dp_attention_unfused=True,
                flag="--flashinfer-allreduce-fusion-backend", can_disable=True),
         _COMM + " (0.5.20) apply_flashinfer_allreduce_fusion lines 191-205: sm90 or sm100, 0 < tokens <= 2048, not "
         "DP attention; " + _OVR15 + " (0.5.20) _FLASHINFER_ALLREDUCE_FUSION_ARCHS lines 988-1010 and "
         "_flashinfer_allreduce_fusion_auto_enable lines 1014-1049; --enforce-disable-flashinfer-allreduce-fusion "
         "lines 1053-1062"),
    #    0.5.21: 0.5.22's (where it fuses moved to layers/layer_boundary/: fusions/allreduce.py complete_attention_input
    #    / complete_ffn_input, residual/add_norm.py apply_flashinfer_allreduce_fusion lines 142-158, the body of 0.5.22's
    #    flashinfer_ar_fusion_applies; boundary_reduction pass as 0.5.22, arg_groups/pipeline.py;
    #    _FLASHINFER_ALLREDUCE_FUSION_ARCHS lines 886-908 = 0.5.20's and 0.5.22's; _flashinfer_allreduce_fusion_auto_enable
    #    lines 912-942 = 0.5.22's but enable_dp_attention for attn_dp_enabled_of, the same test under kvplan's launch)
    Rule("allreduce_rms_fusion", "0.5.21", "0.5.21",
         Fusion(0, 0, _SM90_100, (), tuple((a, _SM90_100) for a in _FUSION_ARCHS_0_5_22),
                single_node=True, multi_node_majors=(10,), dp_attention_unfused=True,
                flag="--flashinfer-allreduce-fusion-backend", can_disable=True, paths_read=False,
                source_paths="sglang/srt/layers/layer_boundary/fusions/allreduce.py complete_attention_input / "
                             "complete_ffn_input, residual/add_norm.py apply_flashinfer_allreduce_fusion lines 142-158"),
         _OVR23 + " (0.5.21) _FLASHINFER_ALLREDUCE_FUSION_ARCHS lines 886-908, _flashinfer_allreduce_fusion_auto_enable "
         "lines 912-942, _enforce_disable_allreduce_fusion lines 946-955; fusion paths not read"),
    #    0.5.23: --flashinfer-allreduce-fusion-backend (the old flag is a deprecated alias,
    #    serving_hook.py lines 284-297) is set to "auto" by itself for the architectures below on
    #    sm90 / sm100 at tp > 1 without DP attention, on one node or on sm100, with no MoE
    #    all-to-all (overrides.py _flashinfer_allreduce_fusion_auto_enable lines 955-1001; MiMo-V2
    #    on sm100 only, and only in bf16 at tp 2 / 4 / 8 / 16: kvplan takes it as on on sm100,
    #    which can only refuse more); --enforce-disable-flashinfer-allreduce-fusion turns it off
    #    (lines 1004-1016). Where it
    #    fuses moved into layers/layer_boundary/ (fusions/allreduce.py fused_attn_input and
    #    fused_ffn_input, add_norm.py flashinfer_ar_fusion_applies: sm90 / sm100, no DP attention,
    #    1-2,048 tokens), written for every model through its norms: which of a model's all-reduces
    #    (the last layer's included) take that path kvplan has not read, so a deployment where it is
    #    on at tp > 1 without DP attention is refused.
    #    0.5.22: the same architectures, conditions, flag and --enforce-disable, but MiMo-V2 is not
    #    turned on by itself (0.5.23 added its is_mimo branch, overrides.py lines 963-977).
    Rule("allreduce_rms_fusion", "0.5.22", "0.5.22",
         Fusion(0, 0, _SM90_100, (), tuple((a, _SM90_100) for a in _FUSION_ARCHS_0_5_22),
                single_node=True, multi_node_majors=(10,), dp_attention_unfused=True,
                flag="--flashinfer-allreduce-fusion-backend", can_disable=True, paths_read=False,
                source_paths="sglang/srt/layers/layer_boundary/fusions/allreduce.py fused_attn_input / fused_ffn_input, "
                             "residual/add_norm.py flashinfer_ar_fusion_applies lines 144-158"),
         _OVR23 + " (0.5.22) _FLASHINFER_ALLREDUCE_FUSION_ARCHS lines 905-927, _flashinfer_allreduce_fusion_auto_enable "
         "lines 930-960, _enforce_disable_allreduce_fusion lines 965-977; serving_hook.py lines 284-297; fusion paths "
         "not read"),
    Rule("allreduce_rms_fusion", "0.5.23", "0.5.23",
         Fusion(0, 0, _SM90_100, (), tuple((a, _SM90_100) for a in _FUSION_ARCHS_0_5_22)
                + (("MiMoV2ForCausalLM", _SM100), ("MiMoV2FlashForCausalLM", _SM100)),
                single_node=True, multi_node_majors=(10,), dp_attention_unfused=True,
                flag="--flashinfer-allreduce-fusion-backend", can_disable=True, paths_read=False,
                source_paths="sglang/srt/layers/layer_boundary/fusions/allreduce.py fused_attn_input / fused_ffn_input, "
                             "residual/add_norm.py flashinfer_ar_fusion_applies lines 144-158"),
         _OVR23 + " _FLASHINFER_ALLREDUCE_FUSION_ARCHS lines 929-951, _flashinfer_allreduce_fusion_auto_enable lines "
         "955-1001, _enforce_disable_allreduce_fusion lines 1004-1016; fusion paths not read"),
    # -- sliding windows and chunked-local attention (SGLang.serving_spec, check_kv_pool; kvplan.paging
    #    sglang_paging). SGLang applies a window only in the model classes that pass one to their
    #    attention (RadixAttention sliding_window_size; python/sglang/srt/models/*.py defining
    #    get_attention_sliding_window_size), plus Llama 4's chunked local attention (llama4.py
    #    use_irope); every other class attends to the whole context: MistralForCausalLM and
    #    Phi3ForCausalLM are LlamaForCausalLM (models/mistral.py, models/llama.py) with no window.
    #    The architectures below, read from each wheel's models/.
    Rule("sliding_window_archs", "0.4.6", "0.4.6", _SW_0_4_6, "python/sglang/srt/models/gemma2.py, "
         "gemma3_causal.py, gemma3_mm.py (get_attention_sliding_window_size); llama4.py (use_irope)"),
    Rule("sliding_window_archs", "0.4.9", "0.4.10", _SW_0_4_9, "python/sglang/srt/models/: as 0.4.6, "
         "gemma3n_causal.py, gemma3n_mm.py"),
    Rule("sliding_window_archs", "0.5.1", "0.5.2", _SW_0_4_9 + ("GptOssForCausalLM",),
         "python/sglang/srt/models/: as 0.4.9, gpt_oss.py"),
    Rule("sliding_window_archs", "0.5.4", "0.5.4", _SW_0_4_9 + ("GptOssForCausalLM", "Olmo2ForCausalLM"),
         "python/sglang/srt/models/: as 0.5.1, olmo2.py"),
    Rule("sliding_window_archs", "0.5.6", "0.5.6", _SW_0_4_9 + ("GptOssForCausalLM", "Olmo2ForCausalLM",
                                                                 "JetNemotronForCausalLM"),
         "python/sglang/srt/models/: as 0.5.4, jet_nemotron.py"),
    Rule("sliding_window_archs", "0.5.8", "0.5.8", _SW_0_4_9 + (
        "GptOssForCausalLM", "Olmo2ForCausalLM", "JetNemotronForCausalLM", "AfmoeForCausalLM", "Cohere2ForCausalLM",
        "IQuestLoopCoderForCausalLM", "MiMoV2FlashForCausalLM", "MiMoV2MTP"),
         "python/sglang/srt/models/: as 0.5.6, afmoe.py, commandr.py (Cohere2), iquest_loopcoder.py, "
         "mimo_v2_flash.py, mimo_v2_flash_nextn.py"),
    #    0.5.10: the same modules (the architectures new in 0.5.10 are refused by the rotary-table rule
    #    before a window matters: kvplan has not read them)
    Rule("sliding_window_archs", "0.5.9", "0.5.10", _SW_0_4_9 + (
        "GptOssForCausalLM", "Olmo2ForCausalLM", "JetNemotronForCausalLM", "AfmoeForCausalLM", "Cohere2ForCausalLM",
        "IQuestLoopCoderForCausalLM", "MiMoV2FlashForCausalLM", "MiMoV2MTP", "Exaone4ForCausalLM",
        "ExaoneMoEForCausalLM", "Step3p5ForCausalLM"),
         "python/sglang/srt/models/ (0.5.9): as 0.5.8, exaone4.py, exaone_moe.py, step3p5.py"),
    #    0.5.11: the same modules, mimo_v2.py (MiMoV2ForCausalLM beside MiMoV2FlashForCausalLM) for
    #    mimo_v2_flash.py, and gemma4_causal.py (Gemma4ForCausalLM; Gemma4ForConditionalGeneration through
    #    gemma4_mm.py): kvplan has not read Gemma 4's or MiMo-V2's rotary tables, so they are refused first.
    Rule("sliding_window_archs", "0.5.11", "0.5.11", _SW_0_4_9 + (
        "GptOssForCausalLM", "Olmo2ForCausalLM", "JetNemotronForCausalLM", "AfmoeForCausalLM", "Cohere2ForCausalLM",
        "IQuestLoopCoderForCausalLM", "MiMoV2FlashForCausalLM", "MiMoV2ForCausalLM", "MiMoV2MTP", "Exaone4ForCausalLM",
        "ExaoneMoEForCausalLM", "Step3p5ForCausalLM", "Gemma4ForCausalLM", "Gemma4ForConditionalGeneration"),
         "python/sglang/srt/models/ (0.5.11): as 0.5.10, mimo_v2.py for mimo_v2_flash.py, gemma4_causal.py"),
    #    0.5.12: the same modules and laguna.py (LagunaForCausalLM, lines 325 and 402); DeepSeek-V4's window
    #    is its own dsv4 backend's (refused first: no rotary table read)
    Rule("sliding_window_archs", "0.5.12", "0.5.12", _SW_0_4_9 + (
        "GptOssForCausalLM", "Olmo2ForCausalLM", "JetNemotronForCausalLM", "AfmoeForCausalLM", "Cohere2ForCausalLM",
        "IQuestLoopCoderForCausalLM", "MiMoV2FlashForCausalLM", "MiMoV2ForCausalLM", "MiMoV2MTP", "Exaone4ForCausalLM",
        "ExaoneMoEForCausalLM", "Step3p5ForCausalLM", "Gemma4ForCausalLM", "Gemma4ForConditionalGeneration",
        "LagunaForCausalLM"),
         "python/sglang/srt/models/ (0.5.12): as 0.5.11, laguna.py"),
    #    0.5.13 and 0.5.13.post1: the same modules and cohere2_moe.py (Cohere2MoeForCausalLM, lines 184-204) with
    #    cohere2_vision.py over it (line 144), nemotron_h.py (line 514: NemotronH, NemotronHPuzzle; state-space,
    #    refused), step3p7.py (its language model Step3p5ForCausalLM, line 70) and gemma4_unified.py (Gemma4TextModel,
    #    line 186)
    Rule("sliding_window_archs", "0.5.13", "0.5.13.post1", _SW_0_4_9 + (
        "GptOssForCausalLM", "Olmo2ForCausalLM", "JetNemotronForCausalLM", "AfmoeForCausalLM", "Cohere2ForCausalLM",
        "IQuestLoopCoderForCausalLM", "MiMoV2FlashForCausalLM", "MiMoV2ForCausalLM", "MiMoV2MTP", "Exaone4ForCausalLM",
        "ExaoneMoEForCausalLM", "Step3p5ForCausalLM", "Gemma4ForCausalLM", "Gemma4ForConditionalGeneration",
        "LagunaForCausalLM", "Cohere2MoeForCausalLM", "Cohere2VisionForConditionalGeneration", "NemotronHForCausalLM",
        "NemotronHPuzzleForCausalLM", "Step3p7ForConditionalGeneration", "Gemma4UnifiedForConditionalGeneration"),
         "python/sglang/srt/models/ (0.5.13): as 0.5.12, cohere2_moe.py, cohere2_vision.py, nemotron_h.py, "
         "step3p7.py, gemma4_unified.py"),
    #    0.5.14: the same modules (only gemma4_causal.py's window code differs: sliding_window - 1, line 297) and
    #    dflash.py (DFlashDraftModel, lines 60, 151, 352: a speculative draft, never planned)
    Rule("sliding_window_archs", "0.5.14", "0.5.14", _SW_0_4_9 + (
        "GptOssForCausalLM", "Olmo2ForCausalLM", "JetNemotronForCausalLM", "AfmoeForCausalLM", "Cohere2ForCausalLM",
        "IQuestLoopCoderForCausalLM", "MiMoV2FlashForCausalLM", "MiMoV2ForCausalLM", "MiMoV2MTP", "Exaone4ForCausalLM",
        "ExaoneMoEForCausalLM", "Step3p5ForCausalLM", "Gemma4ForCausalLM", "Gemma4ForConditionalGeneration",
        "LagunaForCausalLM", "Cohere2MoeForCausalLM", "Cohere2VisionForConditionalGeneration", "NemotronHForCausalLM",
        "NemotronHPuzzleForCausalLM", "Step3p7ForConditionalGeneration", "Gemma4UnifiedForConditionalGeneration",
        "DFlashDraftModel"),
         "python/sglang/srt/models/ (0.5.14): as 0.5.13, dflash.py"),
    #    0.5.15 and 0.5.15.post1: the same modules (their window code identical) and unlimited_ocr.py
    #    (UnlimitedOCRForCausalLM, line 95)
    Rule("sliding_window_archs", "0.5.15", "0.5.15.post1", _SW_0_4_9 + (
        "GptOssForCausalLM", "Olmo2ForCausalLM", "JetNemotronForCausalLM", "AfmoeForCausalLM", "Cohere2ForCausalLM",
        "IQuestLoopCoderForCausalLM", "MiMoV2FlashForCausalLM", "MiMoV2ForCausalLM", "MiMoV2MTP", "Exaone4ForCausalLM",
        "ExaoneMoEForCausalLM", "Step3p5ForCausalLM", "Gemma4ForCausalLM", "Gemma4ForConditionalGeneration",
        "LagunaForCausalLM", "Cohere2MoeForCausalLM", "Cohere2VisionForConditionalGeneration", "NemotronHForCausalLM",
        "NemotronHPuzzleForCausalLM", "Step3p7ForConditionalGeneration", "Gemma4UnifiedForConditionalGeneration",
        "DFlashDraftModel", "UnlimitedOCRForCausalLM"),
         "python/sglang/srt/models/ (0.5.15): as 0.5.14, unlimited_ocr.py"),
    #    0.5.16 and 0.5.17: the same modules (their window lines identical) and inkling.py / inkling_common/attn.py
    #    (InklingForConditionalGeneration, its MTP) and mellum.py (MellumForCausalLM), hybrid SWA (swa_pool_archs)
    Rule("sliding_window_archs", "0.5.16", "0.5.17", _SW_0_5_16,
         "python/sglang/srt/models/ (0.5.16, 0.5.17): as 0.5.15, inkling.py, inkling_common/attn.py, mellum.py"),
    #    0.5.18: the same modules (their window lines identical but dflash.py's attention type) and muse_glimmer.py
    #    (MuseGlimmerForCausalLM / ForConditionalGeneration: config.sliding_window - 1 on sliding layers, as 0.5.22)
    Rule("sliding_window_archs", "0.5.18", "0.5.18", _SW_0_5_16 + _MUSE_GLIMMER,
         "python/sglang/srt/models/ (0.5.18): as 0.5.17, muse_glimmer.py"),
    #    0.5.19: + granite.py / granitemoe.py's SWA classes (granite_layer_attn_params lines 59-72: sliding_window - 1
    #    on the sliding layers of model_type granite_swa / granitemoe_swa; GraniteForCausalLM / GraniteMoeForCausalLM
    #    keep none), spark2_5.py (Spark2_5ForCausalLM); dots3 (Dots3NoteForCausalLM, MLA with windowed layers) is left
    #    out as in 0.5.22 / 0.5.23's list (refused by the rotary rule)
    #    0.5.20 the same (models/: the sliding_window reads of 0.5.19 unchanged; new xllm.py refuses a sliding window,
    #    'supports full causal attention only', lines 281-286, 702-707, 738-741)
    Rule("sliding_window_archs", "0.5.19", "0.5.20", _SW_0_5_16 + _MUSE_GLIMMER + (
        "GraniteSWAForCausalLM", "GraniteMoeSWAForCausalLM", "Spark2_5ForCausalLM"),
         "python/sglang/srt/models/ (0.5.19): as 0.5.18, granite.py, granitemoe.py, spark2_5.py"),
    #    0.5.22: the same modules pass a window (no module's window code differs but inkling.py's MTP
    #    head, whose banded depths still pass local_extent), less models/beam.py, which 0.5.22 does not have.
    #    0.5.21: 0.5.20's and models/gemma4_diffusion.py (DiffusionGemmaForBlockDiffusion: config.sliding_window - 1 on
    #    sliding layers) and iquest_q1.py (IQuestQ1ForCausalLM: config.sliding_window - 1 where is_sliding); no other
    #    module's sliding_window read differs
    Rule("sliding_window_archs", "0.5.21", "0.5.21", _SW_0_5_16 + _MUSE_GLIMMER + (
        "GraniteSWAForCausalLM", "GraniteMoeSWAForCausalLM", "Spark2_5ForCausalLM", "DiffusionGemmaForBlockDiffusion",
        "IQuestQ1ForCausalLM"),
         "sglang/srt/models/ (0.5.21): as 0.5.20, gemma4_diffusion.py, iquest_q1.py"),
    Rule("sliding_window_archs", "0.5.22", "0.5.22", tuple(a for a in _SW_0_5_23 if a != "BeamForCausalLM"),
         "sglang/srt/models/ (0.5.22): as 0.5.23, no beam.py"),
    Rule("sliding_window_archs", "0.5.23", "0.5.23", _SW_0_5_23,
         "sglang/srt/models/: the EntryClass of every module passing a sliding_window_size to RadixAttention or "
         "defining get_attention_sliding_window_size (granite.py / granitemoe.py: the SWA model types only; "
         "commandr.py: Cohere2 only; mimo_v2.py, mimo_v2_nextn.py replace mimo_v2_flash*.py)"),
    #    Which of those get a second pool for their window layers (SWAKVPool, sized by
    #    --swa-full-tokens-ratio): none up to 0.5.6 (model_runner.py enables it for a class with a
    #    window only without --disable-hybrid-swa-memory, and server_args.py
    #    _handle_model_specific_adjustments sets that for Gemma-2/3/3n, GptOss and Olmo2; Llama 4
    #    only with --hybrid-kvcache-ratio, default None). 0.5.8 (configs/model_config.py
    #    is_hybrid_swa_model): Llama 4, GptOss (server_args.py disables it on trtllm_mha and with
    #    speculative decoding) and MiMo-V2-Flash. Everything else keeps one MHATokenToKVPool: a
    #    token slot holds every layer's K and V, windows or not.
    Rule("swa_pool_archs", "0.4.6", "0.4.9", {}, "python/sglang/srt/model_executor/model_runner.py: is_hybrid "
         "only from configs/model_config.py is_hybrid_model (Llama4 with hybrid_kvcache_ratio, default None)"),
    Rule("swa_pool_archs", "0.4.10", "0.4.10", {a: () for a in _SW_0_4_9 if not a.startswith("Llama4")},
         "python/sglang/srt/model_executor/model_runner.py lines 283-290: a model with "
         "get_attention_sliding_window_size (not Llama4) gets SWAKVPool unless --disable-hybrid-swa-memory, and "
         "server_args.py sets that for no model in 0.4.10"),
    Rule("swa_pool_archs", "0.5.1", "0.5.6", {}, "python/sglang/srt/server_args.py "
         "_handle_model_specific_adjustments: disable_hybrid_swa_memory = True for Gemma2/Gemma3/Gemma3n, "
         "GptOssForCausalLM, Olmo2ForCausalLM (the classes with get_attention_sliding_window_size); "
         "configs/model_config.py is_hybrid_model: Llama4 only with hybrid_kvcache_ratio"),
    Rule("swa_pool_archs", "0.5.8", "0.5.8",
         {"Llama4ForConditionalGeneration": (), "GptOssForCausalLM": ("trtllm_mha",),
          "MiMoV2FlashForCausalLM": (), "MiMoV2MTP": ()},
         "python/sglang/srt/configs/model_config.py is_hybrid_swa_model lines 1220-1228; server_args.py lines "
         "1280-1291 (GptOss: disable_hybrid_swa_memory with trtllm_mha)"),
    Rule("swa_pool_archs", "0.5.9", "0.5.9",
         {"Llama4ForConditionalGeneration": (), "GptOssForCausalLM": ("trtllm_mha",),
          "MiMoV2FlashForCausalLM": (), "Step3p5ForCausalLM": (), **{a: () for a in _MTP_SWA}},
         "python/sglang/srt/configs/model_config.py (0.5.9) is_hybrid_swa_model lines 1320-1330; server_args.py "
         "lines 1354-1359 (GptOss: disable_hybrid_swa_memory with trtllm_mha)"),
    #    0.5.23: GptOss on every backend (no model override sets disable_hybrid_swa_memory for it any
    #    more: only gemma2_gemma3.py, olmo2.py, exaone.py and Step3p5 with HiCache do), and the new
    #    hybrid-SWA architectures (configs/model_config.py is_hybrid_swa_model lines 2651-2697, with
    #    SWA_SINK_ARCHS lines 88-96 and MIMO_V2_MODEL_ARCHS lines 74-77).
    #    0.5.22: the same but BeamForCausalLM (0.5.23 adds it to is_hybrid_swa_model, lines 2656 and
    #    2681-2684; 0.5.22 has no Beam model).
    #    0.5.10: is_hybrid_swa_model as 0.5.9's (configs/model_config.py lines 1438-1448), but GptOss keeps
    #    the SWA pool on trtllm_mha too (the disable_hybrid_swa_memory branch is gone, server_args.py
    #    lines 1697-1724), as 0.5.23.
    Rule("swa_pool_archs", "0.5.10", "0.5.10",
         {"Llama4ForConditionalGeneration": (), "GptOssForCausalLM": (), "MiMoV2FlashForCausalLM": (),
          "Step3p5ForCausalLM": (), **{a: () for a in _MTP_SWA}},
         "python/sglang/srt/configs/model_config.py (0.5.10) is_hybrid_swa_model lines 1438-1448; server_args.py "
         "GptOss lines 1697-1724 (no disable_hybrid_swa_memory)"),
    #    0.5.11: is_hybrid_swa_model (configs/model_config.py lines 1546-1558) + MiMoV2ForCausalLM
    #    (MIMO_V2_MODEL_ARCHS lines 42-45), Gemma4ForCausalLM and Gemma4ForConditionalGeneration; GptOss on
    #    every backend as 0.5.10 (server_args.py lines 1875-1986: no disable_hybrid_swa_memory). The pool
    #    is split by pool_configurator.py HybridSWAPoolConfigurator (lines 184-284), which kvplan refuses.
    Rule("swa_pool_archs", "0.5.11", "0.5.11",
         {"Llama4ForConditionalGeneration": (), "GptOssForCausalLM": (), "MiMoV2FlashForCausalLM": (),
          "MiMoV2ForCausalLM": (), "Step3p5ForCausalLM": (), "Gemma4ForCausalLM": (),
          "Gemma4ForConditionalGeneration": (), **{a: () for a in _MTP_SWA}},
         "python/sglang/srt/configs/model_config.py (0.5.11) is_hybrid_swa_model lines 1546-1558; server_args.py "
         "GptOss lines 1875-1986 (no disable_hybrid_swa_memory)"),
    #    0.5.12: is_hybrid_swa_model (configs/model_config.py lines 1660-1675) + DeepseekV4ForCausalLM(+NextN),
    #    LagunaForCausalLM; GptOss as before (server_args.py lines 2007-2123); the split is
    #    pool_configurator.py HybridSWAPoolConfigurator (lines 196-296, identical; DeepSeek-V4's
    #    DSV4PoolConfigurator lines 317-462), refused.
    Rule("swa_pool_archs", "0.5.12", "0.5.12",
         {"Llama4ForConditionalGeneration": (), "GptOssForCausalLM": (), "MiMoV2FlashForCausalLM": (),
          "MiMoV2ForCausalLM": (), "Step3p5ForCausalLM": (), "Gemma4ForCausalLM": (),
          "Gemma4ForConditionalGeneration": (), "DeepseekV4ForCausalLM": (), "DeepseekV4ForCausalLMNextN": (),
          "LagunaForCausalLM": (), **{a: () for a in _MTP_SWA}},
         "python/sglang/srt/configs/model_config.py (0.5.12) is_hybrid_swa_model lines 1660-1675; server_args.py "
         "GptOss lines 2007-2123 (no disable_hybrid_swa_memory)"),
    #    0.5.13 and 0.5.13.post1: is_hybrid_swa_model (configs/model_config.py lines 1679-1705) + Step3p7 and
    #    Gemma4Unified, and any config whose text config sets is_hybrid_swa (lines 1701-1704; kvplan's spec does not
    #    record it); GptOss as before (server_args.py lines 2123-2250); HybridSWAPoolConfigurator lines 196-296,
    #    identical, refused.
    Rule("swa_pool_archs", "0.5.13", "0.5.13.post1",
         {"Llama4ForConditionalGeneration": (), "GptOssForCausalLM": (), "MiMoV2FlashForCausalLM": (),
          "MiMoV2ForCausalLM": (), "Step3p5ForCausalLM": (), "Gemma4ForCausalLM": (),
          "Gemma4ForConditionalGeneration": (), "DeepseekV4ForCausalLM": (), "DeepseekV4ForCausalLMNextN": (),
          "LagunaForCausalLM": (), "Step3p7ForConditionalGeneration": (), "Gemma4UnifiedForConditionalGeneration": (),
          **{a: () for a in _MTP_SWA}},
         "python/sglang/srt/configs/model_config.py (0.5.13) is_hybrid_swa_model lines 1679-1705; server_args.py "
         "GptOss lines 2123-2250 (no disable_hybrid_swa_memory)"),
    #    0.5.14: the same architectures (is_hybrid_swa_model configs/model_config.py lines 1842-1875), but a
    #    LagunaForCausalLM config without sliding_window is not hybrid (lines 1863-1869; Laguna is refused by the
    #    rotary rule first); HybridSWAPoolConfigurator lines 236-336 identical and, new, SWAChunkCapPoolConfigurator
    #    (pool_configurator.py lines 348-440, with --max-running-requests, no radix cache and chunked prefill):
    #    both refused; GptOss server_args.py lines 3813-3940.
    Rule("swa_pool_archs", "0.5.14", "0.5.14",
         {"Llama4ForConditionalGeneration": (), "GptOssForCausalLM": (), "MiMoV2FlashForCausalLM": (),
          "MiMoV2ForCausalLM": (), "Step3p5ForCausalLM": (), "Gemma4ForCausalLM": (),
          "Gemma4ForConditionalGeneration": (), "DeepseekV4ForCausalLM": (), "DeepseekV4ForCausalLMNextN": (),
          "LagunaForCausalLM": (), "Step3p7ForConditionalGeneration": (), "Gemma4UnifiedForConditionalGeneration": (),
          **{a: () for a in _MTP_SWA}},
         "python/sglang/srt/configs/model_config.py (0.5.14) is_hybrid_swa_model lines 1842-1875; server_args.py "
         "GptOss lines 3813-3940 (no disable_hybrid_swa_memory)"),
    #    0.5.15 and 0.5.15.post1: is_hybrid_swa_model (configs/model_config.py lines 1833-1867) + UnlimitedOCRForCausalLM;
    #    HybridSWAPoolConfigurator / SWAChunkCapPoolConfigurator refused; GptOss arg_groups/overrides.py lines 475-570.
    Rule("swa_pool_archs", "0.5.15", "0.5.15.post1",
         {"Llama4ForConditionalGeneration": (), "GptOssForCausalLM": (), "MiMoV2FlashForCausalLM": (),
          "MiMoV2ForCausalLM": (), "Step3p5ForCausalLM": (), "Gemma4ForCausalLM": (),
          "Gemma4ForConditionalGeneration": (), "DeepseekV4ForCausalLM": (), "DeepseekV4ForCausalLMNextN": (),
          "LagunaForCausalLM": (), "Step3p7ForConditionalGeneration": (), "Gemma4UnifiedForConditionalGeneration": (),
          "UnlimitedOCRForCausalLM": (), **{a: () for a in _MTP_SWA}},
         "python/sglang/srt/configs/model_config.py (0.5.15) is_hybrid_swa_model lines 1833-1867; "
         "arg_groups/overrides.py _gpt_oss_overrides lines 475-570 (no disable_hybrid_swa_memory)"),
    #    0.5.16 and 0.5.17: is_hybrid_swa_model (configs/model_config.py 0.5.16 lines 1903-1941, 0.5.17 lines
    #    1988-2026) + DeepseekV4ForCausalLMDSpark, MellumForCausalLM, InklingForConditionalGeneration(+MTP)
    Rule("swa_pool_archs", "0.5.16", "0.5.17", {a: () for a in _SWA_POOL_0_5_16 + _MTP_SWA},
         "python/sglang/srt/configs/model_config.py (0.5.16) is_hybrid_swa_model lines 1903-1941; 0.5.17 lines "
         "1988-2026; arg_groups/overrides.py _gpt_oss_overrides (0.5.16) lines 578-671"),
    #    0.5.18: is_hybrid_swa_model (configs/model_config.py lines 2050-2090) + MuseGlimmerForCausalLM and
    #    MuseGlimmerForConditionalGeneration
    Rule("swa_pool_archs", "0.5.18", "0.5.18", {a: () for a in _SWA_POOL_0_5_16 + _MUSE_GLIMMER + _MTP_SWA},
         "python/sglang/srt/configs/model_config.py (0.5.18) is_hybrid_swa_model lines 2050-2090"),
    #    0.5.19: + GraniteSWAForCausalLM, GraniteMoeSWAForCausalLM (SWA_SINK_ARCHS lines 54-60, with GptOss;
    #    is_hybrid_swa_model lines 2115-2155)
    #    0.5.20 the same (configs/model_config.py is_hybrid_swa_model lines 2340-2379 and SWA_SINK_ARCHS lines 54-60,
    #    identical)
    Rule("swa_pool_archs", "0.5.19", "0.5.20",
         {a: () for a in _SWA_POOL_0_5_16 + _MUSE_GLIMMER + _MTP_SWA + ("GraniteSWAForCausalLM",
                                                                         "GraniteMoeSWAForCausalLM")},
         "python/sglang/srt/configs/model_config.py (0.5.19) is_hybrid_swa_model lines 2115-2155, SWA_SINK_ARCHS lines "
         "54-60"),
    #    0.5.21: is_hybrid_swa_model (configs/model_config.py lines 2454-2494) + DiffusionGemmaForBlockDiffusion, and
    #    SWA_SINK_ARCHS (lines 86-94) + IQuestQ1ForCausalLM, IQuestQ1MTP (0.5.22's lists but EmbeddingGemma2)
    Rule("swa_pool_archs", "0.5.21", "0.5.21",
         {a: () for a in _SWA_POOL_0_5_16 + _MUSE_GLIMMER + _MTP_SWA + ("GraniteSWAForCausalLM",
                                                                         "GraniteMoeSWAForCausalLM",
                                                              "DiffusionGemmaForBlockDiffusion", "IQuestQ1ForCausalLM",
                                                              "IQuestQ1MTP")},
         "sglang/srt/configs/model_config.py (0.5.21) is_hybrid_swa_model lines 2454-2494, SWA_SINK_ARCHS lines 86-94"),
    Rule("swa_pool_archs", "0.5.22", "0.5.22", {a: () for a in _SWA_POOL_0_5_23 if a != "BeamForCausalLM"},
         "sglang/srt/configs/model_config.py is_hybrid_swa_model lines 2536-2582; ModelConfig.is_hybrid_swa line "
         "1106 (not with disable_hybrid_swa_memory)"),
    Rule("swa_pool_archs", "0.5.23", "0.5.23", {a: () for a in _SWA_POOL_0_5_23},
         "sglang/srt/configs/model_config.py is_hybrid_swa_model lines 2651-2697; ModelConfig.is_hybrid_swa line "
         "1215 (not with disable_hybrid_swa_memory)"),
    # -- Llama 4: these releases assert a backend before any default is picked (None fails)
    Rule("llama4_backend_asserted", "0.4.6", "0.4.9", None, _ARGS + ": no Llama4 check"),
    Rule("llama4_backend_asserted", "0.4.10", "0.4.10", ("fa3",),
         _ARGS + " check_server_args line 1862: 'assert self.attention_backend == \"fa3\"'"),
    Rule("llama4_backend_asserted", "0.5.1", "0.5.1", ("fa3", "aiter"),
         _ARGS + " _handle_model_specific_adjustments line 2279: 'fa3 or aiter is required for Llama4 model'"),
    Rule("llama4_backend_asserted", "0.5.2", "0.5.4", ("fa3", "aiter", "triton"),
         _ARGS + " _handle_model_specific_adjustments (0.5.4 line 965): 'fa3, aiter, or triton is required for "
         "Llama4 model', before the default backend is picked (model_runner.py)"),
    #    0.5.23: arg_groups/model_overrides/llama4.py lines 23-37 pick it, model_hook.py line 622 asserts after.
    #    0.5.9 the same (server_args.py _handle_model_specific_adjustments: the Llama4 branch as 0.5.8's)
    #    0.5.10 the same (server_args.py Llama4 branch: ascend added to the asserted list)
    #    0.5.11 the same (server_args.py Llama4 lines 2044-2073: LLAMA4_MODEL_ARCHS for '"Llama4" in model_arch')
    #    0.5.12 the same (server_args.py Llama4 lines 2181-2210)
    #    0.5.13 the same (server_args.py Llama4 lines 2322-2351)
    #    0.5.14 the same (server_args.py Llama4 lines 4014-4043, the same text)
    #    0.5.15 the same (arg_groups/overrides.py _llama4_overrides lines 574-600, the assert server_args.py lines
    #    4109-4122)
    #    0.5.16 and 0.5.17 the same (_llama4_overrides identical: overrides.py 0.5.16 lines 676-702, 0.5.17 lines 973-999)
    #    0.5.18 the same (overrides.py lines 1029-1055, identical); 0.5.19 the same (model_overrides/llama4.py lines
    #    20-47)
    #    0.5.20 the same (arg_groups/model_overrides/llama4.py _llama4_overrides lines 20-47, identical)
    #    0.5.21 the same (model_overrides/llama4.py identical to 0.5.22's)
    Rule("llama4_backend_asserted", "0.5.6", "0.5.23", None,
         _ARGS + ": Llama4 picks trtllm_mha / fa3 / aiter / triton itself before the assert; "
         "0.5.22 the same (model_overrides/llama4.py identical, model_hook.py line 624)"),
    # -- how long one request runs (Pool.max_request_tokens): managers/tp_worker.py sets
    #    max_req_len = min(context_len - 1, max_total_num_tokens - 1) (0.5.8: max_token_pool_size,
    #    which is max_total_num_tokens without a window pool), and managers/scheduler.py
    #    init_req_max_new_tokens caps max_new_tokens at max_req_len - len(prompt) - 1, so prompt and
    #    output stop at max_req_len - 1 = min(context_len, pool tokens) - 2 tokens; a longer prompt
    #    (>= max_req_input_len = max_req_len - 5) is aborted or, with --allow-auto-truncate, cut.
    #    tp_worker.py asserts max_req_len > 0 and max_req_input_len > 0 ("Memory pool size is too
    #    small"): SGLang starts only when min(context_len, pool tokens) >= 7. gemma3-27b at 128k on an
    #    H100: a pool of 30,866 tokens runs requests of up to min(131,072, 30,866) - 2 = 30,864.
    #    The same lines in all 8 wheels (0.4.6 tp_worker.py 120-127, scheduler.py 875; 0.5.8
    #    tp_worker.py 286-293, scheduler.py 1342).
    #    0.5.9 the same (tp_worker.py lines 287-294; scheduler.py init_req_max_new_tokens lines 1385-1393;
    #    managers/utils.py validate_input_length lines 98-128)
    #    0.5.10 the same (tp_worker.py lines 301-308; scheduler.py init_req_max_new_tokens lines 1612-1620;
    #    managers/utils.py validate_input_length lines 113-143)
    #    0.5.11 the same (tp_worker.py lines 302-309; scheduler.py init_req_max_new_tokens lines 1838-1846;
    #    managers/utils.py validate_input_length lines 120-150)
    Rule("request_cap", "0.4.6", "0.5.11",
         RequestCap(short=2, by_pool=True, start_min=7, prompt_short=7,
                    source="managers/tp_worker.py max_req_len = min(context_len, pool tokens) - 1, and a request "
                           "stops at max_req_len - 1: managers/scheduler.py init_req_max_new_tokens",
                    start_why="managers/tp_worker.py asserts max_req_len - 5 > 0: 'Memory pool size is too small'; "
                              "a pool of 0 tokens: model_runner.py init_memory_pool 'Not enough memory'",
                    prompt_source="managers/utils.py validate_input_length aborts a prompt of max_req_input_len = "
                                  "max_req_len - 5 tokens or more"),
         "python/sglang/srt/managers/tp_worker.py __init__ (max_req_len, max_req_input_len, 'Memory pool size is "
         "too small'); managers/scheduler.py init_req_max_new_tokens"),
    #    0.5.12: max_req_len and max_req_input_len as 0.5.11 (tp_worker.py lines 304-311, start-up asserts
    #    max_req_input_len > 0), but init_req_max_new_tokens (managers/scheduler.py lines 1867-1886) also caps
    #    max_new_tokens at pool tokens - ceil(prompt / page) x page - page - 1, as 0.5.23's allocator: a request
    #    runs to at most pool tokens - page - 1 less its prompt's rounding (page 1: pool - 2, as before);
    #    managers/utils.py validate_input_length lines 129-159, identical.
    Rule("request_cap", "0.5.12", "0.5.12",
         RequestCap(short=2, by_pool=True, start_min=7, prompt_short=7, pool_page_short=True,
                    source="managers/tp_worker.py max_req_len = min(context_len, pool tokens) - 1 and "
                           "managers/scheduler.py init_req_max_new_tokens lines 1867-1886 (a request stops at "
                           "max_req_len - 1, and at pool tokens - ceil(prompt / page) x page - page - 1)",
                    start_why="managers/tp_worker.py lines 310-311 assert max_req_len - 5 > 0: 'Memory pool size is "
                              "too small'; a pool of 0 tokens: model_executor/pool_configurator.py 'Not enough memory'",
                    prompt_source="managers/utils.py validate_input_length (lines 129-159) aborts a prompt of "
                                  "max_req_input_len = max_req_len - 5 tokens or more (tp_worker.py line 308)"),
         "python/sglang/srt/managers/tp_worker.py (0.5.12) lines 304-311; managers/scheduler.py init_req_max_new_tokens "
         "lines 1867-1886"),
    #    0.5.13 and 0.5.13.post1 the same (tp_worker.py lines 304-311 unchanged; scheduler.py init_req_max_new_tokens
    #    lines 1763-1782 and managers/utils.py validate_input_length lines 142-172, identical)
    Rule("request_cap", "0.5.13", "0.5.13.post1",
         RequestCap(short=2, by_pool=True, start_min=7, prompt_short=7, pool_page_short=True,
                    source="managers/tp_worker.py max_req_len = min(context_len, pool tokens) - 1 and "
                           "managers/scheduler.py init_req_max_new_tokens lines 1763-1782 (a request stops at "
                           "max_req_len - 1, and at pool tokens - ceil(prompt / page) x page - page - 1)",
                    start_why="managers/tp_worker.py lines 310-311 assert max_req_len - 5 > 0: 'Memory pool size is "
                              "too small'; a pool of 0 tokens: model_executor/pool_configurator.py 'Not enough memory'",
                    prompt_source="managers/utils.py validate_input_length (lines 142-172) aborts a prompt of "
                                  "max_req_input_len = max_req_len - 5 tokens or more (tp_worker.py line 308)"),
         "python/sglang/srt/managers/tp_worker.py (0.5.13) lines 304-311; managers/scheduler.py init_req_max_new_tokens "
         "lines 1763-1782"),
    #    0.5.14: the same cap (scheduler.py init_req_max_new_tokens lines 1852-1871 and managers/utils.py
    #    validate_input_length lines 142-172, identical; max_req_len and max_req_input_len = max_req_len - 5 from
    #    tp_worker.py get_worker_info lines 447-465), but start-up (TpModelWorker.alloc_memory_pool lines 336-341)
    #    asserts only max_req_len > 0, as 0.5.22: min(context_len, pool) >= 2.
    Rule("request_cap", "0.5.14", "0.5.14",
         RequestCap(short=2, by_pool=True, start_min=2, prompt_short=7, pool_page_short=True,
                    source="managers/tp_worker.py max_req_len = min(context_len, pool tokens) - 1 and "
                           "managers/scheduler.py init_req_max_new_tokens lines 1852-1871 (a request stops at "
                           "max_req_len - 1, and at pool tokens - ceil(prompt / page) x page - page - 1)",
                    start_why="managers/tp_worker.py lines 337-341 assert max_req_len > 0: 'Memory pool size is "
                              "too small'; a pool of 0 tokens: model_executor/model_runner_kv_cache_mixin.py 'Loaded "
                              "weights leave no GPU memory for the KV cache' or pool_configurator.py 'Not enough memory'",
                    prompt_source="managers/utils.py validate_input_length (lines 142-172) aborts a prompt of "
                                  "max_req_input_len = max_req_len - 5 tokens or more (tp_worker.py line 458)"),
         "python/sglang/srt/managers/tp_worker.py (0.5.14) lines 336-341, 447-465; managers/scheduler.py "
         "init_req_max_new_tokens lines 1852-1871"),
    #    0.5.15 and 0.5.15.post1 the same (TpModelWorker.alloc_memory_pool lines 322-347 and get_worker_info lines
    #    454-472 identical; scheduler.py init_req_max_new_tokens lines 1888-1907, managers/utils.py validate_input_length
    #    lines 164-194, identical)
    #    0.5.16 the same (tp_worker.py alloc_memory_pool lines 361-386 and get_worker_info lines 481-499 use
    #    effective_max_total_num_tokens, the renamed max_token_pool_size, model_runner.py lines 1055-1061;
    #    scheduler.py init_req_max_new_tokens lines 1885-1918 adds SGLANG_MAX_NEW_TOKENS_LIMIT, EnvInt(None); managers/
    #    utils.py validate_input_length lines 181-211 identical)
    #    0.5.17 the same at --dcp-size 1, the default (the pool bounds x dcp_size: tp_worker.py lines 386-413, 508-528;
    #    scheduler.py lines 2110-2146)
    #    0.5.18 the same (tp_worker.py alloc_memory_pool lines 390-416 and get_worker_info lines 525-544, scheduler.py
    #    init_req_max_new_tokens lines 2176-2212: dcp renames; validate_input_length managers/utils.py lines 193-223)
    #    0.5.19 the same (alloc_memory_pool lines 407-433, init_req_max_new_tokens lines 2372-2408,
    #    validate_input_length lines 206-236 identical; get_worker_info lines 542-563 reports
    #    ReqToTokenPool.schedulable_token_capacity, the pool's tokens unless an aux cache is attached, MiniCPM-SALA's
    #    only: memory_pool.py lines 344-355)
    #    0.5.20 the same (managers/tp_worker.py lines 428-433 assert max_req_len > 0, lines 543-556 max_req_len /
    #    max_req_input_len; managers/scheduler.py init_req_max_new_tokens lines 2510-2546 identical to 0.5.19's: no
    #    allocator cap, which 0.5.22 adds; managers/utils.py validate_input_length lines 224-254 identical)
    Rule("request_cap", "0.5.15", "0.5.20",
         RequestCap(short=2, by_pool=True, start_min=2, prompt_short=7, pool_page_short=True,
                    source="managers/tp_worker.py max_req_len = min(context_len, pool tokens) - 1 and "
                           "managers/scheduler.py init_req_max_new_tokens lines 1888-1907 (a request stops at "
                           "max_req_len - 1, and at pool tokens - ceil(prompt / page) x page - page - 1)",
                    start_why="managers/tp_worker.py lines 343-347 assert max_req_len > 0: 'Memory pool size is "
                              "too small'; a pool of 0 tokens: model_executor/model_runner_kv_cache_mixin.py 'Loaded "
                              "weights leave no GPU memory for the KV cache' or pool_configurator.py 'Not enough memory'",
                    prompt_source="managers/utils.py validate_input_length (lines 164-194) aborts a prompt of "
                                  "max_req_input_len = max_req_len - 5 tokens or more (tp_worker.py line 465)"),
         "python/sglang/srt/managers/tp_worker.py (0.5.15) lines 342-347, 454-472; managers/scheduler.py "
         "init_req_max_new_tokens lines 1888-1907"),
    #    0.5.23: max_req_len and max_req_input_len as before (managers/tp_worker.py get_worker_info
    #    lines 568-572; the prompt check managers/utils.py validate_input_length lines 259-289), but
    #    init_req_max_new_tokens (managers/scheduler.py lines 2693-2736) also asks the allocator,
    #    whose max_new_tokens_for_memory (mem_cache/allocator/base.py lines 88-105) allows
    #    pool tokens - ceil(prompt / page) x page - page - 1 new tokens: a request runs to at most
    #    pool tokens - page - 1 (page 1: pool - 2, as before; a B200's trtllm_mha page 64: pool - 65).
    #    Start-up asserts only max_req_len > 0 (tp_worker.py line 425), so min(context_len, pool) >= 2.
    #    0.5.22: the same lines of code (tp_worker.py lines 413-418, 549-553; scheduler.py
    #    init_req_max_new_tokens lines 2585-2628, identical; allocator/base.py lines 88-105;
    #    managers/utils.py validate_input_length lines 254-284, identical).
    #    0.5.21: 0.5.22's (scheduler.py init_req_max_new_tokens lines 2515-2562 and mem_cache/allocator/base.py
    #    max_new_tokens_for_memory lines 79-96 = 0.5.22's: a request stops at pool tokens - page - 1; tp_worker.py lines
    #    411-415 assert max_req_len > 0, lines 544-556; get_worker_info lines 538-564 = 0.5.22's; managers/utils.py
    #    validate_input_length lines 245-275 identical)
    Rule("request_cap", "0.5.21", "0.5.22",
         RequestCap(short=2, by_pool=True, start_min=2, prompt_short=7, pool_page_short=True,
                    source="managers/tp_worker.py max_req_len = min(context_len, pool tokens) - 1 and "
                           "managers/scheduler.py init_req_max_new_tokens (a request stops at max_req_len - 1), "
                           "mem_cache/allocator/base.py max_new_tokens_for_memory (at pool tokens - page - 1)",
                    start_why="managers/tp_worker.py line 418 asserts max_req_len > 0: 'Memory pool size is too "
                              "small'; a pool of 0 tokens: model_executor/pool_configurator.py 'Not enough memory'",
                    prompt_source="managers/utils.py validate_input_length (lines 254-284) aborts a prompt of "
                                  "max_req_input_len = max_req_len - 5 tokens or more (tp_worker.py line 553)"),
         "sglang/srt/managers/tp_worker.py lines 413-418, 549-553; managers/scheduler.py init_req_max_new_tokens "
         "lines 2585-2628; mem_cache/allocator/base.py max_new_tokens_for_memory lines 88-105"),
    Rule("request_cap", "0.5.23", "0.5.23",
         RequestCap(short=2, by_pool=True, start_min=2, prompt_short=7, pool_page_short=True,
                    source="managers/tp_worker.py max_req_len = min(context_len, pool tokens) - 1 and "
                           "managers/scheduler.py init_req_max_new_tokens (a request stops at max_req_len - 1), "
                           "mem_cache/allocator/base.py max_new_tokens_for_memory (at pool tokens - page - 1)",
                    start_why="managers/tp_worker.py line 425 asserts max_req_len > 0: 'Memory pool size is too "
                              "small'; a pool of 0 tokens: model_executor/pool_configurator.py 'Not enough memory'",
                    prompt_source="managers/utils.py validate_input_length (lines 259-289) aborts a prompt of "
                                  "max_req_input_len = max_req_len - 5 tokens or more (tp_worker.py line 572)"),
         "sglang/srt/managers/tp_worker.py lines 420-425, 568-572; managers/scheduler.py init_req_max_new_tokens "
         "lines 2693-2736; mem_cache/allocator/base.py max_new_tokens_for_memory lines 88-105"),
    # -- pipeline parallelism (--pipeline-parallel-size, ServerArgs.pp_size): none in 0.4.6, whose
    #    server_args.py has tp_size, dp_size and nnodes only (`grep -c pp_size` finds 0 lines in the
    #    0.4.6 wheel, 8 in 0.4.9); 0.4.9 server_args.py line 86 `pp_size: int = 1`, line 862
    #    "--pipeline-parallel-size"
    Rule("pipeline_parallel", "0.4.6", "0.4.6", False, _ARGS + " 0.4.6: no pp_size, no --pipeline-parallel-size"),
    #    0.5.23: arg_groups/fields/parallel.py line 59 pp_size, alias --pipeline-parallel-size.
    #    0.5.9 server_args.py line 351 pp_size
    #    0.5.10 server_args.py line 372 pp_size
    #    0.5.11 server_args.py line 390 pp_size
    #    0.5.12 server_args.py line 449 pp_size
    #    0.5.13 server_args.py line 455 pp_size
    #    0.5.14 server_args.py line 856 pp_size (_handle_pipeline_parallelism lines 5418-5423 identical)
    #    0.5.15 server_args.py line 830 pp_size
    #    0.5.16 and 0.5.17 the same (_handle_pipeline_parallelism identical: lines 6118-6126, 7027-7035)
    #    0.5.18 the same (lines 7255-7263); 0.5.19 server_args.py pp_size line 953 (_pipeline_parallel_overlap_disable
    #    arg_groups/overrides.py lines 1617-1621)
    #    0.5.20 the same (arg_groups/fields/parallel.py pp_size line 66; overrides.py _pipeline_parallel_overlap_disable
    #    lines 1670-1674 identical)
    #    0.5.21 the same (overrides.py _pipeline_parallel_overlap_disable lines 1552-1556, identical)
    Rule("pipeline_parallel", "0.4.9", "0.5.23", True,
         _ARGS + " 0.4.9 line 86 pp_size, line 862 --pipeline-parallel-size (0.5.8 the same fields); "
         "0.5.22 arg_groups/fields/parallel.py line 59 pp_size"),
    # -- the request pool (ReqToTokenPool) holds max_num_reqs requests, one more in 0.4.6
    Rule("request_pool_extra", "0.4.6", "0.4.6", 1,
         "python/sglang/srt/model_executor/model_runner.py init_memory_pool: ReqToTokenPool(size=max_num_reqs + 1)"),
    #    0.5.23: mem_cache/kv_cache_configurator.py _build_req_to_token_pool line 1772, size=max_num_reqs.
    #    0.5.9 model_runner_kv_cache_mixin.py lines 439, 452, 461 size=max_num_reqs
    #    0.5.10 model_runner_kv_cache_mixin.py _init_pools lines 389, 413-466 size=max_num_reqs
    #    0.5.11 model_runner_kv_cache_mixin.py _init_pools lines 219-277 size=max_num_reqs (ReqToTokenPool
    #    memory_pool.py lines 130-152: size + 1 rows, slot 0 the padding row, size free slots, as 0.5.23)
    #    0.5.12 the same (model_runner_kv_cache_mixin.py _init_pools lines 238-786; ReqToTokenPool memory_pool.py
    #    lines 131-152: size + 1 rows, size free slots, as 0.5.11)
    #    0.5.13 the same (_init_pools lines 292-845, size=max_num_reqs; ReqToTokenPool.__init__ memory_pool.py lines
    #    151-172, identical)
    #    0.5.14 the same (_init_pools lines 333-950, size=max_num_reqs on CUDA; ReqToTokenPool memory_pool.py lines
    #    229-296, identical)
    #    0.5.15 the same (ReqToTokenPool memory_pool.py lines 242-309, identical)
    #    0.5.16 the same (ReqToTokenPool memory_pool.py lines 249-271, + a CPU tensor; kv_cache_configurator.py
    #    _init_pools lines 504-512: context_len + 4 + draft tokens); 0.5.17 the same (lines 261-283, 552-557)
    #    0.5.18 the same (ReqToTokenPool.__init__ lines 261-283 identical); 0.5.19 the same (lines 261-284: + a CPU-side
    #    aux-cache slot)
    #    0.5.20 the same (mem_cache/kv_cache_configurator.py ReqToTokenPool(size=max_num_reqs) lines 862-864)
    #    0.5.21 the same (kv_cache_configurator.py ReqToTokenPool(size=max_num_reqs))
    Rule("request_pool_extra", "0.4.9", "0.5.23", 0,
         "python/sglang/srt/model_executor/model_runner.py (0.5.8: model_runner_kv_cache_mixin.py) init_memory_pool: "
         "ReqToTokenPool(size=max_num_reqs); "
         "0.5.22 kv_cache_configurator.py line 1612 size=max_num_reqs"),
    # -- how max_running_requests follows the pool (SGLang.default_max_num_seqs, given_max_num_seqs):
    #    ``aligned``: the request-pool estimate min(max(int(tokens / context_len x 512), 2048), 4096)
    #    reads the pool after its rounding to pages (else the profiled tokens before it);
    #    ``given_capped``: a --max-running-requests R runs min(R // dp, pool tokens // 2) a rank (else
    #    R // dp); ``floor_one``: R // dp is raised to 1 (else refused at 0).
    #    0.5.9 the same (model_runner_kv_cache_mixin.py init_memory_pool lines 339-398; model_runner.py lines
    #    593-600)
    Rule("running_requests", "0.4.6", "0.5.9", {"aligned": False, "given_capped": False, "floor_one": False},
         "python/sglang/srt/model_executor/model_runner.py init_memory_pool (0.5.8: model_runner_kv_cache_mixin.py "
         "lines 257-311: max_num_reqs before the page rounding; model_runner.py line 558: min(R // dp, the request "
         "pool of R))"),
    #    0.5.10: the estimate from the pool in whole pages (_resolve_token_capacity lines 808-838 rounds
    #    first), a given R runs min(R // dp, that estimate) (not half the pool), and R // dp = 0 leaves 0,
    #    which tp_worker.py line 296 asserts against.
    #    0.5.11 the same (model_runner_kv_cache_mixin.py _resolve_max_num_reqs lines 698-717, identical; the pool
    #    is rounded to pages first by pool_configurator.py calculate_pool_sizes lines 170-175; _resolve_memory_pool_config
    #    lines 729-754; tp_worker.py line 297)
    #    0.5.12 the same (model_runner_kv_cache_mixin.py _resolve_max_num_reqs lines 817-836 and
    #    _resolve_memory_pool_config lines 869-894, identical; calculate_pool_sizes lines 182-187; tp_worker.py line 299)
    #    0.5.13 and 0.5.13.post1 the same (model_runner_kv_cache_mixin.py _resolve_max_num_reqs lines 876-908: + a
    #    RuntimeError and a log line for the Mamba state cache, refused; _resolve_memory_pool_config lines 941-966,
    #    identical; tp_worker.py line 299)
    Rule("running_requests", "0.5.10", "0.5.13.post1", {"aligned": True, "given_capped": "estimate", "floor_one": False},
         "python/sglang/srt/model_executor/model_runner_kv_cache_mixin.py (0.5.10) _resolve_max_num_reqs lines 840-859 "
         "(min(max(int(token_capacity / context_len * 512), 2048), 4096); a given R: min(R // dp_size, that)), "
         "_resolve_memory_pool_config lines 871-891; managers/tp_worker.py line 296"),
    #    0.5.14: a given R runs min(R // dp_size, token_capacity // 2) (model_runner_kv_cache_mixin.py
    #    _resolve_max_num_reqs lines 981-1018, lines 988-994; a warning where R was reduced), not the estimate: 0.5.22's
    #    rule; without R min(estimate, token_capacity // 2) as before; R // dp = 0 still fails start-up
    #    (managers/tp_worker.py line 336 'max_running_request is zero').
    #    0.5.15 and 0.5.15.post1 the same (_resolve_max_num_reqs lines 1225-1262 identical; tp_worker.py line 342).
    #    0.5.16 the same (kv_cache_configurator.py resolve_max_num_reqs lines 1622-1659: 0.5.15's with ModelRunner.dp_size,
    #    dp_size under DP attention else 1, read as ps.attn_dp_size, the same number); 0.5.17 the same (lines 1719-1772)
    #    0.5.18 and 0.5.19 the same (resolve_max_num_reqs kv_cache_configurator.py 0.5.18 lines 1873-1926, 0.5.19 lines
    #    2105-2158, identical)
    #    0.5.20 the same (mem_cache/kv_cache_configurator.py KVCacheConfigurator.resolve_max_num_reqs lines 2263-2316,
    #    identical to 0.5.19's)
    Rule("running_requests", "0.5.14", "0.5.20", {"aligned": True, "given_capped": True, "floor_one": False},
         "python/sglang/srt/model_executor/model_runner_kv_cache_mixin.py (0.5.14) _resolve_max_num_reqs lines 981-1018 "
         "(a given R: min(R // dp_size, token_capacity // 2), lines 988-994), _resolve_memory_pool_config lines "
         "1051-1076; managers/tp_worker.py line 336"),
    #    0.5.22: the same estimate and cap, but R // attn_dp_size without 0.5.23's max(1, ...)
    #    (resolve_max_num_reqs line 2809; pool_configurator.py lines 930, 1115), so --max-running-requests
    #    below the DP-attention size leaves 0 and managers/tp_worker.py line 413 asserts 'max_running_request
    #    is zero' ("floor_one" False).
    #    0.5.21 the same (kv_cache_configurator.py resolve_max_num_reqs lines 2292-2345 = 0.5.22's, R // attn_dp_size)
    Rule("running_requests", "0.5.21", "0.5.22", {"aligned": True, "given_capped": True, "floor_one": False},
         "sglang/srt/mem_cache/kv_cache_configurator.py resolve_max_num_reqs lines 2800-2853 (line 2809: "
         "max_num_reqs // self.attn_dp_size) and _resolve_memory_pool_config lines 2855-2871; managers/tp_worker.py "
         "line 413"),
    Rule("running_requests", "0.5.23", "0.5.23", {"aligned": True, "given_capped": True, "floor_one": True},
         "sglang/srt/mem_cache/kv_cache_configurator.py resolve_max_num_reqs lines 3119-3133 and "
         "_resolve_memory_pool_config lines 3174-3188 (the estimate from config.max_total_num_tokens, already "
         "whole pages; a given R: min(max(1, R // attn_dp_size), token_capacity // 2))"),
    # -- AMD: SGLang multiplies mem_fraction_static (the default or the user's) by 0.85 on the aiter
    #    backend for a context over 8192 tokens. aiter is the default on ROCm for every model without
    #    MLA (but GptOss and, from 0.5.4, Olmo2: triton) and for MLA models whose KV heads per rank
    #    (get_num_kv_heads(tp)) are 16 or 128 (else triton; up to 0.5.2 only without speculative
    #    decoding). None: no such scaling.
    Rule("aiter_fraction", "0.4.6", "0.4.6", None,
         "python/sglang/srt/model_executor/model_runner.py 0.4.6: no aiter backend"),
    Rule("aiter_fraction", "0.4.9", "0.5.2", _aiter(("GptOssForCausalLM",)),
         "python/sglang/srt/model_executor/model_runner.py model_specific_adjustment: attention_backend aiter "
         "(_is_hip) and model_config.context_len > 8192: mem_fraction_static *= 0.85; server_args.py GptOss: triton "
         "off CUDA"),
    Rule("aiter_fraction", "0.5.4", "0.5.4", _aiter(("GptOssForCausalLM", "Olmo2ForCausalLM")),
         "python/sglang/srt/model_executor/model_runner.py lines 566-584 (aiter on hip; MLA: head_num 16 or 128) "
         "and 646-648 (context_len > 8192: mem_fraction_static *= 0.85); server_args.py GptOss, Olmo2: triton "
         "off CUDA"),
    #    0.5.9 the same (server_args.py lines 1925-1926; GptOss triton off CUDA and Hopper/sm100 lines
    #    1333-1339, Olmo2 lines 1506-1510)
    Rule("aiter_fraction", "0.5.6", "0.5.9", _aiter(("GptOssForCausalLM", "Olmo2ForCausalLM")),
         _ARGS + " _handle_attention_backend_compatibility (aiter on hip; MLA: head_num 16 or 128; "
         "'if self.attention_backend == \"aiter\": if model_config.context_len > 8192: "
         "self.mem_fraction_static *= 0.85'); GptOss, Olmo2: triton off CUDA"),
    #    0.5.10: GptOss takes aiter on ROCm (server_args.py lines 1699-1707), Olmo2 triton off CUDA (lines
    #    1895-1902); the 0.85 at lines 2415-2417.
    #    0.5.11 the same (the 0.85 at server_args.py lines 2671-2673; _get_default_attn_backend lines 2518-2526;
    #    GptOss aiter on hip lines 1877-1887, Olmo2 triton off CUDA lines 2119-2126)
    #    0.5.12 the same (the 0.85 at server_args.py lines 2805-2807; _get_default_attn_backend lines 2633-2641,
    #    identical; GptOss aiter on hip lines 2009-2019, Olmo2 triton off CUDA lines 2256-2263)
    #    0.5.13 and 0.5.13.post1 the same (the 0.85 at server_args.py lines 3018-3020; _get_default_attn_backend lines
    #    2817-2827; GptOss aiter on hip lines 2125-2137, Olmo2 triton off CUDA lines 2440-2447)
    #    0.5.14 the same (the 0.85 at server_args.py lines 4662-4664; _get_default_attn_backend lines 4459-4469,
    #    identical; GptOss aiter on hip lines 3815-3827, Olmo2 triton off CUDA lines 4123-4130)
    #    0.5.15 and 0.5.15.post1 the same (the 0.85 at server_args.py lines 4469-4471; GptOss aiter on hip
    #    arg_groups/overrides.py line 489, Olmo2 triton off CUDA lines 910-916)
    #    0.5.16 and 0.5.17 the same (_handle_amd_specifics identical: lines 5158-5160, 5934-5936)
    #    0.5.18 the same (lines 6149-6151); 0.5.19 the same (arg_groups/platform_hook.py handle_amd_specifics lines
    #    62-66; GptOss aiter on hip model_overrides/gpt_oss.py, Olmo2 triton off CUDA model_overrides/olmo2.py lines
    #    19-34)
    #    0.5.20 the same by default (arg_groups/attention_hook.py handle_attention_backend_compatibility lines 41-209: x
    #    0.85 lines 198-203, skipped only for a --mem-fraction-static given with
    #    SGLANG_AITER_HONOR_EXPLICIT_MEM_FRACTION; model_override_base.py get_default_attn_backend aiter lines 344, 362;
    #    model_overrides/gpt_oss.py, olmo2.py identical)
    #    0.5.21 the same (attention_hook.py handle_attention_backend_compatibility lines 41-206, identical to 0.5.20's)
    Rule("aiter_fraction", "0.5.10", "0.5.21", _aiter(("Olmo2ForCausalLM",)),
         _ARGS + " (0.5.10) _handle_attention_backend_compatibility lines 2415-2417 (aiter, context_len > 8192: "
         "mem_fraction_static *= 0.85); _get_default_attn_backend lines 2262-2270 (aiter on hip; MLA: head_num 16 "
         "or 128); GptOss aiter on hip lines 1699-1707, Olmo2 triton off CUDA lines 1895-1902"),
    #    0.5.23: GptOss takes aiter on ROCm now (model_overrides/gpt_oss.py line 39); Olmo2 triton
    #    off CUDA (olmo2.py line 30); the 0.85 unless SGLANG_AITER_HONOR_EXPLICIT_MEM_FRACTION (default
    #    False, environ.py line 1071) with an explicit fraction.
    Rule("aiter_fraction", "0.5.22", "0.5.23", _aiter(("Olmo2ForCausalLM",)),
         "sglang/srt/arg_groups/attention_hook.py handle_attention_backend_compatibility lines 243-270 (context_len "
         "> 8192: mem_fraction_static * 0.85); model_override_base.py get_default_attn_backend lines 326-345 (aiter "
         "on hip; MLA: head_num 16 or 128); model_overrides/gpt_oss.py line 39 (aiter), olmo2.py line 30 (triton); "
         "0.5.22 the same (attention_hook.py lines 244-269; model_overrides/gpt_oss.py, olmo2.py identical)"),
    # -- DP attention (--tp N --dp D --enable-dp-attention, kvplan's dp > 1 for a MoE model, tp =
    #    N / D): attention and its norms over the attention tp group, routed experts over all N
    #    (kvplan.shapes.MoEParallel), the rest as the model class builds it (rows above). An
    #    architecture not listed is refused with dp > 1.
    Rule("dp_attention_weights", "0.4.6", "0.4.6", {a: _DS_EMB_WHOLE for a in _DSV},
         "python/sglang/srt/models/deepseek_v2.py: VocabParallelEmbedding(enable_tp=not enable_dp_attention) line "
         "1374; ParallelLMHead line 1446 (split over the whole tp group); dense DeepseekV2MLP line 1154, shared "
         "experts line 253; Qwen3-MoE has no attention tp group in 0.4.6 (models/qwen3_moe.py)"),
    Rule("dp_attention_weights", "0.4.9", "0.4.9",
         {**{a: _DS_EMB_ATTN for a in _DSV}, "Qwen3MoeForCausalLM": _EMB_WHOLE_LM_ALL},
         "python/sglang/srt/models/deepseek_v2.py: VocabParallelEmbedding(use_attn_tp_group=True) line 1930; "
         "ParallelLMHead(use_attn_tp_group=enable_dp_lm_head) line 2025; DeepseekV2MLP lines 1785 (dense), 328 "
         "(shared); models/qwen2_moe.py VocabParallelEmbedding(enable_tp=not enable_dp_attention)"),
    Rule("dp_attention_weights", "0.4.10", "0.4.10",
         {**{a: _DS_EMB_WHOLE for a in _DSV}, "Qwen3MoeForCausalLM": _EMB_WHOLE_LM_ALL},
         "python/sglang/srt/models/deepseek_v2.py: VocabParallelEmbedding(enable_tp=not enable_dp_attention) line "
         "1975; ParallelLMHead(use_attn_tp_group=enable_dp_lm_head) line 2070; DeepseekV2MLP lines 1797, 370"),
    Rule("dp_attention_weights", "0.5.1", "0.5.6",
         {**{a: _DS_EMB_WHOLE for a in _DSV}, "Qwen3MoeForCausalLM": _EMB_WHOLE_LM_ALL,
          "GptOssForCausalLM": _EMB_WHOLE_LM_ALL},
         "python/sglang/srt/models/deepseek_v2.py: VocabParallelEmbedding(enable_tp=not is_dp_attention_enabled()) "
         "(0.5.6 line 3139), ParallelLMHead(use_attn_tp_group=enable_dp_lm_head) (0.5.6 line 3377), DeepseekV2MLP "
         "(0.5.6 lines 2916, 679); models/qwen2_moe.py and gpt_oss.py the same embedding and lm_head"),
    Rule("dp_attention_weights", "0.5.8", "0.5.8",
         {**{a: _DS_EMB_ATTN for a in _DSV}, "Qwen3MoeForCausalLM": _EMB_WHOLE_LM_ALL,
          "GptOssForCausalLM": _EMB_WHOLE_LM_ALL},
         "python/sglang/srt/models/deepseek_v2.py: VocabParallelEmbedding(use_attn_tp_group=is_dp_attention_enabled()) "
         "line 2520; ParallelLMHead(use_attn_tp_group=enable_dp_lm_head) line 2798; DeepseekV2MLP lines 2295 "
         "(dense), 458 (shared); models/qwen2_moe.py line 570, gpt_oss.py line 502 enable_tp=not "
         "is_dp_attention_enabled(); qwen3_moe.py line 910, gpt_oss.py line 597 use_attn_tp_group=enable_dp_lm_head"),
    #    0.5.9: Qwen3-MoE's (qwen2_moe.py Qwen2MoeModel) and GptOss's embedding split over the
    #    attention tp group (use_attn_tp_group=is_dp_attention_enabled(), no longer enable_tp=False), as
    #    0.5.22 does; DeepSeek's embedding, every lm_head and DeepSeek's MLPs as 0.5.8's.
    #    0.5.10 the same (deepseek_v2.py VocabParallelEmbedding lines 1862-1865, ParallelLMHead line 2155,
    #    DeepseekV2MLP lines 1628 (dense), 450 (shared); qwen2_moe.py lines 596-599, gpt_oss.py lines 575-578
    #    use_attn_tp_group=is_dp_attention_enabled(); qwen3_moe.py line 957, gpt_oss.py line 680 enable_dp_lm_head)
    #    0.5.11 the same (deepseek_v2.py VocabParallelEmbedding lines 1914-1917, ParallelLMHead line 2202, DeepseekV2MLP
    #    lines 1691 (dense), 494 (shared); qwen2_moe.py lines 715-719 use_attn_tp_group=is_dp_attention_enabled(), now
    #    with quant_config, which Fp8Config.get_quant_method leaves unquantized for an embedding (fp8.py lines 233-256);
    #    gpt_oss.py lines 577-580; qwen3_moe.py line 971, gpt_oss.py line 682 enable_dp_lm_head)
    #    0.5.12 the same (deepseek_v2.py VocabParallelEmbedding lines 2085-2088, ParallelLMHead line 2378, DeepseekV2MLP
    #    lines 1861 (dense), 608 (shared); qwen2_moe.py lines 738-742; gpt_oss.py lines 577-580, 682; qwen3_moe.py
    #    line 971; fp8.py get_quant_method lines 236-284: an embedding still unquantized, the new branches only
    #    for DeepSeek-V4's fp4 experts)
    #    0.5.13 and 0.5.13.post1 the same (deepseek_v2.py VocabParallelEmbedding lines 2252-2256 through
    #    layers/vocab_parallel_embedding.py get_embedding_tp_kwargs lines 166-185: use_attn_tp_group=
    #    is_dp_attention_enabled() unless SGLANG_ENABLE_EMBED_REPLICATION, default False, environ.py line 825;
    #    ParallelLMHead line 2558; DeepseekV2MLP lines 2018 (dense), 696 (shared); qwen2_moe.py lines 784-790;
    #    gpt_oss.py lines 649-652, 754; qwen3_moe.py line 971; fp8.py get_quant_method lines 253-301, identical)
    #    0.5.14 the same (the parallel getters read through runtime_context.py get_parallel(), the same functions:
    #    deepseek_v2.py VocabParallelEmbedding lines 2278-2282, get_embedding_tp_kwargs lines 163-182 identical,
    #    SGLANG_ENABLE_EMBED_REPLICATION default False environ.py line 864; ParallelLMHead line 2617; DeepseekV2MLP
    #    lines 2038 (dense), 705 (shared); qwen2_moe.py lines 832-838; gpt_oss.py lines 643-646, 748; qwen3_moe.py
    #    line 966; fp8.py get_quant_method lines 255-309: + an NPU mxfp8 branch)
    #    0.5.15 and 0.5.15.post1 the same (deepseek_v2.py VocabParallelEmbedding lines 2371-2375 with
    #    get_embedding_tp_kwargs, identical; ParallelLMHead line 2710 enable_dp_lm_head through get_flags(); qwen2_moe.py
    #    line 835, gpt_oss.py lines 646, 748, qwen3_moe.py line 963; fp8.py get_quant_method lines 324-384: + a DeepSeek-V4
    #    fp4 dequant branch)
    #    0.5.16 and 0.5.17 the same (deepseek_v2.py, qwen2_moe.py, qwen3_moe.py, gpt_oss.py renames; get_embedding_tp_kwargs,
    #    vocab_parallel_embedding.py lines 166-185, identical)
    #    0.5.18 the same (deepseek_v2.py get_embedding_tp_kwargs line 2624, lm_head line 2973, DeepseekV2MLP lines
    #    740-748, 2355-2362; qwen2_moe.py lines 890, 1061; gpt_oss.py lines 677, 789; qwen3_moe.py line 964)
    #    0.5.19 the same (deepseek_v2.py lines 2661, 3016, 752-760, 2392-2399; qwen2_moe.py lines 1073, 1244; gpt_oss.py
    #    lines 676, 788; qwen3_moe.py line 964)
    #    0.5.20 the same (models/deepseek_v2.py VocabParallelEmbedding(**get_embedding_tp_kwargs()) line 2599,
    #    ParallelLMHead(use_attn_tp_group=enable_dp_lm_head) lines 2929-2934, shared experts DeepseekV2MLP lines
    #    727-735, dense lines 2351-2358; qwen2_moe.py line 1066 and gpt_oss.py line 692
    #    use_attn_tp_group=is_dp_attention_enabled(); qwen3_moe.py line 998, gpt_oss.py line 804 lm_head)
    #    0.5.21 the same (deepseek_v2.py get_embedding_tp_kwargs line 2865, lm_head line 3216, shared experts lines
    #    767-775, dense lines 2604-2612; vocab_parallel_embedding.py get_embedding_tp_kwargs lines 165-184 identical;
    #    qwen2_moe.py line 1126, gpt_oss.py lines 667, 779, qwen3_moe.py line 1021)
    Rule("dp_attention_weights", "0.5.9", "0.5.21",
         _EMB_SPLIT_OVER_ATTENTION,
         "python/sglang/srt/models/deepseek_v2.py (0.5.9): VocabParallelEmbedding(use_attn_tp_group="
         "is_dp_attention_enabled()) lines 2531-2534; ParallelLMHead(use_attn_tp_group=enable_dp_lm_head) lines "
         "2818-2823; DeepseekV2MLP lines 2306 (dense), 466 (shared); models/qwen2_moe.py lines 574-577, gpt_oss.py "
         "lines 516-519 use_attn_tp_group=is_dp_attention_enabled(); qwen3_moe.py lines 914-919, gpt_oss.py lines "
         "609-614 use_attn_tp_group=enable_dp_lm_head"),
    #    0.5.23: Qwen3-MoE's and GptOss's embedding split over the attention tp group
    #    (use_attn_tp_group=is_dp_attention_enabled(), no longer enable_tp=False); DeepSeek's through
    #    get_embedding_tp_kwargs (layers/vocab_parallel_embedding.py lines 166-185: the attention tp
    #    group, whole only with SGLANG_ENABLE_EMBED_REPLICATION, default False); the lm_head over the
    #    whole group (enable_dp_lm_head default False; the TP lm_head all-to-all only on PD decode
    #    nodes, overrides.py lines 1400-1418); DeepSeek's dense MLP and shared experts
    #    parallel_group "tp", the whole group (layers/linear.py line 633), unless moe_dense_tp_size 1
    #    or a DeepEP-style all-to-all.
    Rule("dp_attention_weights", "0.5.22", "0.5.23",
         _EMB_SPLIT_OVER_ATTENTION,
         "sglang/srt/models/deepseek_v2.py: VocabParallelEmbedding(**get_embedding_tp_kwargs()) line 2943, "
         "ParallelLMHead(use_attn_tp_group=enable_dp_lm_head) line 3291, DeepseekV2MLP(parallel_group=...) lines "
         "888 (shared) and 2666 (dense); models/qwen2_moe.py line 1115 and gpt_oss.py line 659 "
         "use_attn_tp_group=is_dp_attention_enabled(); qwen3_moe.py line 1017, gpt_oss.py line 768 lm_head; "
         "0.5.22 the same (models/deepseek_v2.py lines 2889-2892, 3236-3241, 821-829, 2612; qwen2_moe.py line 1125, "
         "gpt_oss.py lines 661, 772, qwen3_moe.py line 1035)"),
    # -- DeepSeek-V3's shared expert held whole on every rank, with or without DP attention
    #    (elsewhere it is split over the tp group: unfused DeepseekV2MLP, or one fused expert
    #    sliced like the routed ones). 0.4.6 makes tp_size clones of it among the routed experts
    #    on capability >= 9.0 (every AMD GPU: gfx90a reports 9.0): each rank holds tp_size slices
    #    of 1/tp_size, or one whole clone under EP; 0.5.6+ on AMD gfx942+ keeps one fused expert
    #    on every expert-parallel rank (layers/moe/fused_moe_triton/layer.py: num_local_experts =
    #    routed // ep_size + num_fused_shared_experts). DeepSeek-V3 fp8 at --tp 8: 44,040,192
    #    weights a layer instead of 5,505,024.
    Rule("shared_expert_whole", "0.4.6", "0.4.6", FusedSharedExpert((9, 0), (0, 0), ep_only=False, one_shared=False),
         "python/sglang/srt/models/deepseek_v2.py determine_n_share_experts_fusion (lines 1455-1485): "
         "n_share_experts_fusion = tp_size when get_device_capability() >= (9, 0), DeepseekV3ForCausalLM, "
         "n_routed_experts == 256, not enable_deepep_moe; FusedMoE(num_experts=256 + n_share_experts_fusion) line 230"),
    Rule("shared_expert_whole", "0.4.9", "0.5.4", None,
         "python/sglang/srt/models/deepseek_v2.py determine_num_fused_shared_experts: one fused expert (capability "
         ">= 8.0, no expert parallelism), sliced over the tp group like the routed experts; else DeepseekV2MLP"),
    #    0.5.23: models/deepseek_v2.py shared_experts_fusion_disable_reason lines 3325-3393 (the same
    #    tests, resolved by layers/moe/utils.py resolve_shared_experts_config lines 601-623),
    #    fused_moe_triton/layer.py line 416 (num_local_experts = routed // ep + fused).
    #    0.5.9 the same (deepseek_v2.py determine_num_fused_shared_experts lines 2853-2895, mori added beside
    #    deepep; fused_moe_triton/layer.py line 220)
    #    0.5.10 the same (deepseek_v2.py determine_num_fused_shared_experts line 2185, identical to 0.5.9's)
    #    0.5.11 the same decision without DeepEP / TBO / SBO (deepseek_v2.py determine_num_fused_shared_experts
    #    lines 2232-2292: NVIDIA >= 8.0, under expert parallelism only AMD >= 9.4)
    #    0.5.12 the same decision on CUDA without DeepEP / TBO / SBO (deepseek_v2.py determine_num_fused_shared_experts
    #    lines 2408-2459: only --enforce-shared-experts-fusion, off by default, reordered)
    #    0.5.13 the same for what kvplan plans (determine_num_fused_shared_experts lines 2591-2656: 384 routed experts
    #    fuse too, but only for a Quark checkpoint, a weight format kvplan does not plan)
    #    0.5.14 the same (determine_num_fused_shared_experts lines 2650-2715: a rename)
    #    0.5.15 the same (determine_num_fused_shared_experts lines 2743-2813: the flag read through get_flags() and
    #    written as a load-time declaration)
    #    0.5.16 and 0.5.17 the same (determine_num_fused_shared_experts deepseek_v2.py 0.5.16 lines 2761-2831, 0.5.17
    #    lines 2974-: renames, + a W4A16 reason to keep the shared expert apart)
    #    0.5.18 the same decision (deepseek_v2.py shared_experts_fusion_disable_reason lines 3012-3070, evaluated once
    #    by the loader; one new first test, a quant config whose can_fuse_shared_expert() is False: Quark only);
    #    0.5.19 the same (lines 3055-3113, identical)
    #    0.5.20 the same decision on NVIDIA (models/deepseek_v2.py shared_experts_fusion_disable_reason lines 2963-3032:
    #    one more reason to keep the shared expert apart, Hopper modelopt_fp4 with the marlin MoE runner)
    #    0.5.21 the same (deepseek_v2.py shared_experts_fusion_disable_reason lines 3245-3314 = 0.5.20's and 0.5.22's)
    Rule("shared_expert_whole", "0.5.6", "0.5.23", FusedSharedExpert(None, (9, 4), ep_only=True, one_shared=True),
         "python/sglang/srt/models/deepseek_v2.py determine_num_fused_shared_experts (0.5.8 lines 2833-2873): "
         "fusion under expert parallelism only on AMD capability >= (9, 4) (0.5.6 line 3412); "
         "layers/moe/fused_moe_triton/layer.py num_local_experts (0.5.6 lines 182-185, 0.5.8 194-197); "
         "0.5.22 the same decision (deepseek_v2.py shared_experts_fusion_disable_reason lines 3270-3339, moe/utils.py "
         "install_shared_experts_fusion_decision line 618, fused_moe_triton/layer.py line 398)"),
    # -- what post_load_weights makes of a block-fp8 kv_b_proj (the checkpoint's quant_method fp8
    #    with weight_block_size, served as stored) on NVIDIA with a 128 x 128 block: w_kc / w_vc
    #    (SGLang.mla_copy_bytes). "deep_gemm_sm90": fp8 w_kc / w_vc copied from kv_b_proj with
    #    their block scales w_scale_k / w_scale_v when _ENABLE_JIT_DEEPGEMM (compute capability
    #    9.0: layers/quantization/deep_gemm.py lines 14-29, SGL_ENABLE_JIT_DEEPGEMM default true;
    #    deep_gemm ships in sgl-kernel, imported unguarded on CUDA) and the model dtype is bf16,
    #    else requantized per tensor (block_quant_to_tensor_quant: fp8 and a 4-byte scale).
    #    "bf16_if_bf16": dequantized to the model dtype when it is bf16 (block_quant_dequant),
    #    else requantized; "bf16": dequantized to bf16. From 0.4.9 the DeepGEMM bmm path needs
    #    SGL_USE_DEEPGEMM_BMM (0.5.23: SGLANG_USE_DEEPGEMM_BMM, environ.py line 1375), default
    #    false: not planned. Other block sizes and AMD: requantized per tensor in every release.
    Rule("mla_copy_block_fp8", "0.4.6", "0.4.6", "deep_gemm_sm90",
         "python/sglang/srt/models/deepseek_v2.py DeepseekV2ForCausalLM.post_load_weights lines 1505-1614 "
         "(128 x 128, _ENABLE_JIT_DEEPGEMM, model_dtype bf16 lines 1553-1558; requant line 1563; w_kc / w_vc "
         "lines 1594-1595; deep_gemm: w_scale_k / w_scale_v, w_kc / w_vc lines 1609-1612)"),
    Rule("mla_copy_block_fp8", "0.4.9", "0.4.9", "bf16_if_bf16",
         "python/sglang/srt/models/deepseek_v2.py DeepseekV2ForCausalLM.post_load_weights lines 2096-2260 "
         "(_is_cuda, 128 x 128, model_dtype bf16 lines 2163-2167; block_quant_dequant line 2177; "
         "block_quant_to_tensor_quant line 2184; w_kc / w_vc lines 2223-2228)"),
    #    0.5.9 deepseek_weight_loader.py post_load_weights lines 400-610 (as 0.5.8's: 503, 514, 570)
    #    0.5.10 deepseek_weight_loader.py post_load_weights lines 399-601 (block_quant_dequant line 513, w_kc
    #    lines 555-570; only XPU beside CUDA and the CPU-AMX branch removed)
    #    0.5.11 the same on CUDA (deepseek_weight_loader.py post_load_weights lines 411-624: 128 x 128 line 525,
    #    bf16 copies lines 567-585; + MUSA)
    #    0.5.12 the same (deepseek_weight_loader.py post_load_weights lines 411-624, unchanged: 128 x 128 line 525,
    #    bf16 copies lines 567-585)
    #    0.5.13 the same (post_load_weights lines 411-624, identical)
    #    0.5.14 the same (post_load_weights lines 411-624, identical)
    #    0.5.15 the same (post_load_weights lines 472-685, identical)
    #    0.5.16 and 0.5.17 the same (post_load_weights deepseek_weight_loader.py lines 474-687, identical)
    #    0.5.18 the same on CUDA (post_load_weights lines 483-711: a per-channel scale reshape and a ROCm gfx95 GLM
    #    branch; block_quant_dequant line 597); 0.5.19 the same (lines 506-741: a None-safe weight_block_size read)
    #    0.5.20 the same on CUDA (deepseek_weight_loader.py post_load_weights lines 547-792: the copies only for the
    #    stage's own layers, start_layer <= layer_id < end_layer; a uint8 ue8m0 scale read; block_quant_dequant as
    #    before)
    #    0.5.21 the same (deepseek_weight_loader.py post_load_weights lines 547-792, identical to 0.5.20's and 0.5.22's)
    Rule("mla_copy_block_fp8", "0.4.10", "0.5.23", "bf16",
         "post_load_weights: python/sglang/srt/models/deepseek_v2.py (0.4.10 lines 2142-2300: 128 x 128 line "
         "2210, block_quant_dequant(..., torch.bfloat16) line 2221, w_kc line 2267; 0.5.1 2214-2372; 0.5.2 "
         "2463-2631; 0.5.4 2947-3117; 0.5.6 3502-3686: lines 3586, 3597, 3653), from 0.5.8 "
         "models/deepseek_common/deepseek_weight_loader.py (0.5.8 lines 367-571: 470, 481, 537; 0.5.22 547-786: "
         "664, 675, 752; 0.5.23 586-820: 692, 703, 780)"),
    # -- which tensor-parallel size Fp8LinearMethod's block-fp8 shape test of a dense linear layer compares
    #    the layer's split with (SGLang.check_fp8_block_linears; kvplan.engines.base.fp8_linear_shard_misfit):
    #    a row-parallel layer's input a rank % block_k and a column-parallel layer's output a rank % block_n
    #    are tested where input_size // input_size_per_partition (output_size // output_size_per_partition)
    #    equals that size and it is above 1; a layer of several outputs (QKV, gate_up) is tested at any split.
    #    "whole": the whole --tp group (get_tensor_model_parallel_world_size; 0.5.14+ get_parallel().tp_size,
    #    runtime_context.py line 113), so a layer split over DP attention's attention group is not tested;
    #    "layer": the layer's own group (layer.tp_group.world_size). Every release tests the dense MLP, split
    #    over the whole group (rule dp_attention_weights).
    Rule("fp8_block_linear_group", "0.4.6", "0.5.21", "whole",
         "python/sglang/srt/layers/quantization/fp8.py Fp8LinearMethod.create_weights (0.4.6 lines 219-243, 0.5.6 "
         "lines 220-327), from 0.5.8 Fp8LinearMethod.validate_block_quant_shapes (0.5.8 lines 234-272, 0.5.14 "
         "369-407, 0.5.18 485-523, 0.5.21 554-592)"),
    Rule("fp8_block_linear_group", "0.5.22", None, "layer",
         "sglang/srt/layers/quantization/fp8.py Fp8LinearMethod.validate_block_quant_shapes (0.5.22 lines 559-599, "
         "0.5.23 lines 570-610: tp_size = layer.tp_group.world_size, 1 without a group)"),
    # -- a multimodal model's mem_fraction_static (VLMFraction; SGLang.multimodal_fraction). Qwen3-VL-8B
    #    on an H100 under 0.5.8: the default round((81,559 - 13,440) / 81,559, 3) = 0.835, then L = 24
    #    (getattr's default: its vision_config has depth 27), h = 1152: ratio 1.265625, factor
    #    0.95 x (1 - 0.1 x 0.265625) = 0.9247656249999999, mem_fraction_static 0.7721792968749999.
    Rule("vlm_fraction", "0.4.6", "0.4.6", VLMFraction(_MM_0_4_6, _MM_OFF, 0.90, given_too=True),
         "python/sglang/srt/model_executor/model_runner.py model_specific_adjustment lines 307-316 ('if "
         "self.is_multimodal: self.mem_fraction_static *= 0.90', the given or the default fraction); " + _MC +
         " lines 75-92 (mm_disabled_models), 509 (multimodal_model_archs)"),
    Rule("vlm_fraction", "0.4.9", "0.4.9", VLMFraction(_MM_0_4_9, _MM_OFF, 0.90),
         _ARGS + " __post_init__ lines 323-329 (inside 'if self.mem_fraction_static is None': 'if "
         "model_config.is_multimodal: self.mem_fraction_static *= 0.90'); " + _MC + " lines 103-114, 578"),
    Rule("vlm_fraction", "0.4.10", "0.4.10", VLMFraction(_MM_0_4_10, _MM_OFF, None),
         _ARGS + " __post_init__ lines 334-335 (inside 'if self.mem_fraction_static is None') -> "
         "adjust_mem_fraction_for_vlm line 1946; " + _MC + " lines 111-122, 623"),
    Rule("vlm_fraction", "0.5.1", "0.5.1", VLMFraction(_MM_0_5_1, _MM_OFF_0_5_1, None),
         _ARGS + " __post_init__ lines 402-403 -> adjust_mem_fraction_for_vlm line 2297; " + _MC +
         " lines 112-124, 673"),
    Rule("vlm_fraction", "0.5.2", "0.5.2", VLMFraction(_MM_0_5_1, _MM_OFF_0_5_1, None),
         _ARGS + " __post_init__ lines 505-506 -> adjust_mem_fraction_for_vlm line 2513; " + _MC +
         " lines 112-124, 703"),
    Rule("vlm_fraction", "0.5.4", "0.5.4", VLMFraction(_MM_0_5_4, _MM_OFF_0_5_1, None),
         _ARGS + " _handle_gpu_memory_settings lines 808-809 -> adjust_mem_fraction_for_vlm line 3588; " + _MC +
         " lines 135-147, 888"),
    Rule("vlm_fraction", "0.5.6", "0.5.6", VLMFraction(_MM_0_5_6, _MM_OFF_0_5_1, None),
         _ARGS + " _handle_gpu_memory_settings lines 868-869 -> adjust_mem_fraction_for_vlm line 4278; " + _MC +
         " lines 136-148, 921"),
    # -- --kv-cache-dtype auto for a checkpoint whose quantization config asks for an FP8 KV cache
    #    (spec kv_cache_quant_algo, kv_cache_quant_method: the quant_method that asked; kvplan.hf.dtypes.
    #    kv_cache_quant_algo; Engine.check_auto_kv): the quant_methods whose config class carries a
    #    kv_cache_quant_algo this release stores as fp8_e4m3 under auto (configure_kv_cache_dtype reads
    #    getattr(quant_config, "kv_cache_quant_algo", None)); kvplan refuses auto for them (which
    #    spellings set it differs by release and weight format) and plans the model dtype for the others.
    Rule("checkpoint_fp8_kv_auto", "0.4.6", "0.5.2", (),
         "python/sglang/srt/model_executor/model_runner.py init_memory_pool: 'if self.server_args.kv_cache_dtype == "
         "\"auto\": self.kv_cache_dtype = self.dtype' (0.4.6 line 719, 0.4.9 1005, 0.4.10 1074, 0.5.1 1168, 0.5.2 1231)"),
    #    0.5.9 the same (model_runner.py configure_kv_cache_dtype lines 1669-1715)
    #    0.5.10 the same (model_runner.py configure_kv_cache_dtype lines 1902-1948)
    #    0.5.11 the same (model_runner.py configure_kv_cache_dtype lines 2210-2256, identical)
    #    0.5.12 the same (model_runner.py configure_kv_cache_dtype lines 2340-2386, identical)
    #    0.5.13 and 0.5.13.post1 the same (model_runner.py configure_kv_cache_dtype lines 2244-2288: only a log line
    #    dropped)
    #    0.5.14 the same (model_runner.py configure_kv_cache_dtype lines 2337-2381, identical)
    #    0.5.15 and 0.5.15.post1 the same (model_runner.py configure_kv_cache_dtype lines 2446-2484: the dtype recorded
    #    through _record_kv_cache_dtype)
    #    0.5.16 and 0.5.17 the same (mem_cache/kv_cache_dtype.py configure_kv_cache_dtype lines 22-94: auto with the
    #    checkpoint's FP8 kv_cache_quant_algo -> fp8_e4m3, lines 32-44)
    #    Fp8Config (layers/quantization/fp8.py) has no kv_cache_quant_algo in 0.4.6-0.5.17 (0.4.6, 0.4.9, 0.4.10,
    #    0.5.1, 0.5.2, 0.5.4, 0.5.6, 0.5.8-0.5.17 read: no such name in the file), nor CompressedTensorsConfig
    #    before 0.5.19: a quant_method fp8 or compressed-tensors checkpoint keeps the model dtype there.
    Rule("checkpoint_fp8_kv_auto", "0.5.4", "0.5.17", ("modelopt",),
         "python/sglang/srt/model_executor/model_runner.py (0.5.4 init_memory_pool lines 1610-1621, 0.5.6 1631-1641, "
         "0.5.8 configure_kv_cache_dtype 1546-1556): auto -> float8_e4m3fn when the model's quant_config has "
         "kv_cache_quant_algo 'FP8' (layers/quantization/modelopt_quant.py ModelOptFp8Config / ModelOptFp4Config "
         "from_config; layers/quantization/fp8.py Fp8Config has no kv_cache_quant_algo before 0.5.18)"),
    #    0.5.18 the same verdict for ModelOpt (kv_cache_dtype.py configure_kv_cache_dtype lines 22-101, auto + 'FP8'
    #    lines 32-46), and Fp8Config now keeps a quant_method fp8 (or mxfp8) config's kv_cache_quant_algo too
    #    (layers/quantization/fp8.py from_config lines 306-345, get_from_keys_or(config, ["kv_cache_quant_algo"]),
    #    stored by __init__ line 261): an fp8 checkpoint asking for an FP8 cache stores fp8 as well.
    Rule("checkpoint_fp8_kv_auto", "0.5.18", "0.5.18", ("modelopt", "fp8"),
         "python/sglang/srt/mem_cache/kv_cache_dtype.py (0.5.18) configure_kv_cache_dtype lines 32-46: auto -> "
         "float8_e4m3fn when getattr(quant_config, 'kv_cache_quant_algo').upper() == 'FP8'; set by "
         "layers/quantization/modelopt_quant.py ModelOptFp8Config / ModelOptFp4Config from_config and "
         "layers/quantization/fp8.py Fp8Config.from_config lines 306-345 (quant_method fp8 / mxfp8)"),
    #    0.5.19: kv_cache_dtype.py identical; Fp8Config.from_config lines 315-354; and CompressedTensorsConfig
    #    gains a kv_cache_quant_algo property (compressed_tensors/compressed_tensors.py lines 137-146): "FP8" for a
    #    kv_cache_scheme is_supported_scheme accepts (lines 1173-1182: float, 8 bits, strategy tensor, symmetric,
    #    not dynamic; from_config line 306 reads config.get("kv_cache_scheme")).
    #    0.5.20 the same (kv_cache_dtype.py configure_kv_cache_dtype lines 23-104, auto + 'FP8' lines 40-44, only a
    #    CPU error for fp8_e5m2 added; fp8.py Fp8Config.from_config lines 329-370 keeps kv_cache_quant_algo, + scale_fmt;
    #    compressed_tensors.py CompressedTensorsConfig.kv_cache_quant_algo lines 138-146, is_supported_scheme line 1173)
    Rule("checkpoint_fp8_kv_auto", "0.5.19", "0.5.20", ("modelopt", "fp8", "compressed-tensors"),
         "python/sglang/srt/mem_cache/kv_cache_dtype.py (0.5.19) configure_kv_cache_dtype (as 0.5.18's): auto -> "
         "float8_e4m3fn when the quant_config's kv_cache_quant_algo is 'FP8'; set by ModelOptFp8Config / "
         "ModelOptFp4Config, layers/quantization/fp8.py Fp8Config.from_config lines 315-354 and "
         "compressed_tensors/compressed_tensors.py CompressedTensorsConfig.kv_cache_quant_algo lines 137-146 "
         "(is_supported_scheme lines 1173-1182)"),
    Rule("vlm_fraction", "0.5.8", "0.5.8", VLMFraction(_MM_0_5_8, _MM_OFF_0_5_1, None),
         _ARGS + " _handle_gpu_memory_settings lines 1036-1037 -> adjust_mem_fraction_for_vlm line 5160; " + _MC +
         " lines 142-154, 1119"),
    Rule("vlm_fraction", "0.5.9", "0.5.9", VLMFraction(_MM_0_5_9, _MM_OFF_0_5_1, None),
         _ARGS + " (0.5.9) _handle_gpu_memory_settings lines 1067-1069 (is_multimodal and not --language-only) -> "
         "adjust_mem_fraction_for_vlm lines 5483-5519 (as 0.5.8's); " + _MC + " lines 141-171 (mm_disabled_models "
         "as 0.5.8's), 1211 (multimodal_model_archs)"),
    #    0.5.10: two more architectures, and (as 0.5.23) any config with a sub-config (hf_config is not
    #    hf_text_config, a vision_config or an audio_config) counts as multimodal: any_tower.
    Rule("vlm_fraction", "0.5.10", "0.5.10", VLMFraction(_MM_0_5_10, _MM_OFF_0_5_1, None, any_tower=True),
         _ARGS + " (0.5.10) _handle_gpu_memory_settings lines 1330-1334 (is_multimodal and not --language-only) -> "
         "adjust_mem_fraction_for_vlm lines 6396-6432 (as 0.5.9's); " + _MC + " lines 154-170 (mm_disabled_models "
         "as 0.5.9's, but not with --model-impl transformers), 182-189 (is_multimodal: the list or a sub-config), 1296 "
         "(multimodal_model_archs)"),
    #    0.5.11: six more architectures (multimodal_model_archs lines 1384-1444: Gemma4ForConditionalGeneration,
    #    MiMoV2ForCausalLM, MossVL, NemotronH Nano Omni, Qwen3-ASR, Voxtral); a sub-config counts as 0.5.23's
    #    (hf_config is not hf_text_config; vision_config / audio_config only under --model-impl transformers,
    #    lines 218-224): any_tower, as kvplan reads 0.5.23.
    Rule("vlm_fraction", "0.5.11", "0.5.11", VLMFraction(_MM_0_5_11, _MM_OFF_0_5_1, None, any_tower=True),
         _ARGS + " (0.5.11) _handle_gpu_memory_settings lines 1483-1487 (is_multimodal and not --language-only) -> "
         "adjust_mem_fraction_for_vlm lines 7137-7173 (as 0.5.10's); " + _MC + " lines 185-201 (mm_disabled_models "
         "as 0.5.10's), 218-228 (is_multimodal: the list or a text sub-config), 1384 (multimodal_model_archs)"),
    #    0.5.12: + InternS2PreviewForConditionalGeneration (multimodal_model_archs lines 1495-1556); is_multimodal's
    #    sub-config test as 0.5.11's (lines 289-299); a MiMoV2 checkpoint without vision_config and audio_config is
    #    text-only now (lines 232-241; MiMo-V2 is refused by its rotary table first); adjust_mem_fraction_for_vlm
    #    identical (server_args.py lines 7595-7631), called at lines 1590-1594.
    Rule("vlm_fraction", "0.5.12", "0.5.12", VLMFraction(_MM_0_5_12, _MM_OFF_0_5_1, None, any_tower=True),
         _ARGS + " (0.5.12) _handle_gpu_memory_settings lines 1590-1594 (is_multimodal and not --language-only) -> "
         "adjust_mem_fraction_for_vlm lines 7595-7631 (as 0.5.11's); " + _MC + " lines 218-244 (mm_disabled_models "
         "as 0.5.11's), 289-299 (is_multimodal: the list or a text sub-config), 1495 (multimodal_model_archs)"),
    #    0.5.13 and 0.5.13.post1: + Cohere2Vision, Gemma4Unified, Step3p7 (multimodal_model_archs lines 1513-1577);
    #    mm_disabled_models (lines 219-223) and the sub-config test (lines 289-299) as 0.5.12's; adjust_mem_fraction_for_vlm
    #    identical (server_args.py lines 7774-7810), called at lines 1641-1645.
    Rule("vlm_fraction", "0.5.13", "0.5.13.post1", VLMFraction(_MM_0_5_13, _MM_OFF_0_5_1, None, any_tower=True),
         _ARGS + " (0.5.13) _handle_gpu_memory_settings lines 1641-1645 (is_multimodal and not --language-only) -> "
         "adjust_mem_fraction_for_vlm lines 7774-7810 (as 0.5.12's); " + _MC + " lines 218-244 (mm_disabled_models "
         "as 0.5.12's), 289-299 (is_multimodal: the list or a text sub-config), 1513 (multimodal_model_archs)"),
    #    0.5.14: + MiniMaxM3SparseForConditionalGeneration, MiMoV2ASRForCausalLM (multimodal_model_archs lines
    #    1645-1711); mm_disabled_models (lines 293-297), the sub-config test (lines 385-395) and
    #    adjust_mem_fraction_for_vlm (server_args.py lines 6997-7033, called lines 3317-3321) identical.
    Rule("vlm_fraction", "0.5.14", "0.5.14", VLMFraction(_MM_0_5_14, _MM_OFF_0_5_1, None, any_tower=True),
         _ARGS + " (0.5.14) _handle_gpu_memory_settings lines 3317-3321 (is_multimodal and not --language-only) -> "
         "adjust_mem_fraction_for_vlm lines 6997-7033 (as 0.5.13's); " + _MC + " lines 293-297 (mm_disabled_models "
         "as 0.5.13's), 385-395 (is_multimodal: the list or a text sub-config), 1645 (multimodal_model_archs)"),
    #    0.5.15 and 0.5.15.post1: + LocateAnythingForConditionalGeneration, UnlimitedOCRForCausalLM (multimodal_model_archs
    #    lines 1634-1702); mm_disabled_models (lines 293-297), the sub-config test (lines 390-400) and
    #    adjust_mem_fraction_for_vlm (server_args.py lines 6920-6956, called lines 3692-3696) identical.
    Rule("vlm_fraction", "0.5.15", "0.5.15.post1", VLMFraction(_MM_0_5_15, _MM_OFF_0_5_1, None, any_tower=True),
         _ARGS + " (0.5.15) _handle_gpu_memory_settings lines 3692-3696 (is_multimodal and not --language-only) -> "
         "adjust_mem_fraction_for_vlm lines 6920-6956 (as 0.5.14's); " + _MC + " lines 293-297 (mm_disabled_models "
         "as 0.5.14's), 390-400 (is_multimodal: the list or a text sub-config), 1634 (multimodal_model_archs)"),
    #    0.5.16 and 0.5.17: + GlmImageForConditionalGeneration (multimodal_model_archs 0.5.16 lines 1692-1761);
    #    mm_disabled_models + InklingForConditionalGeneration (not read: refused by the rotary rule); the sub-config test
    #    and adjust_mem_fraction_for_vlm (server_args.py 0.5.16 lines 7954-7990, called lines 4091-4095; 0.5.17 lines
    #    9083-9119, called lines 4790-4800, not on a PD decode node) identical.
    Rule("vlm_fraction", "0.5.16", "0.5.17",
         VLMFraction(_MM_0_5_16, _MM_OFF_0_5_1 + ("InklingForConditionalGeneration",), None, any_tower=True),
         _ARGS + " (0.5.16) _handle_gpu_memory_settings lines 4091-4095 (is_multimodal and not --language-only) -> "
         "adjust_mem_fraction_for_vlm lines 7954-7990 (as 0.5.15's); " + _MC + " lines 1692-1761 "
         "(multimodal_model_archs); 0.5.17 server_args.py lines 4790-4800, 9083-9119"),
    #    0.5.18: + MuseGlimmerForConditionalGeneration, InternS2MobiusForConditionalGeneration (multimodal_model_archs
    #    lines 1822-1893); mm_disabled_models (lines 347-352) and adjust_mem_fraction_for_vlm (server_args.py lines
    #    9527-9563, called lines 4985-4996, not with the new --language-model-only) identical; a config that says
    #    language_model_only: true is not multimodal (ModelConfig.__init__ lines 331, 452-459)
    Rule("vlm_fraction", "0.5.18", "0.5.18",
         VLMFraction(_MM_0_5_18, _MM_OFF_0_5_1 + ("InklingForConditionalGeneration",), None, any_tower=True),
         _ARGS + " (0.5.18) _handle_gpu_memory_settings lines 4985-4996 -> adjust_mem_fraction_for_vlm lines "
         "9527-9563; " + _MC + " lines 347-352 (mm_disabled_models), 452-459 (is_multimodal), 1822-1893 "
         "(multimodal_model_archs)"),
    #    0.5.19: + Dots3NoteForCausalLM (multimodal_model_archs lines 1886-1958); the adjustment a rename
    #    (arg_groups/memory_hook.py lines 266-281 -> adjust_mem_fraction_for_vlm lines 352-389)
    #    0.5.16-0.5.19: mm_disabled_models has InklingForConditionalGeneration too (0.5.16 lines 309-314, 0.5.17
    #    lines 331-336, 0.5.18 lines 347-352, 0.5.19 lines 372-377: Gemma3, Llama4, Step3VL, Inkling; h33-swa22), so
    #    Inkling is served as its language model
    Rule("vlm_fraction", "0.5.19", "0.5.19",
         VLMFraction(_MM_0_5_19, _MM_OFF_0_5_1 + ("InklingForConditionalGeneration",), None, any_tower=True),
         _MEM23 + " (0.5.19) handle_gpu_memory_settings lines 266-281 -> adjust_mem_fraction_for_vlm lines 352-389; "
         + _MC + " lines 372-377 (mm_disabled_models), 1886-1958 (multimodal_model_archs)"),
    #    0.5.21 the same (kv_cache_dtype.py configure_kv_cache_dtype lines 23-99 = 0.5.22's; fp8.py
    #    Fp8Config.from_config lines 335-376 = 0.5.22's; compressed_tensors.py CompressedTensorsConfig.kv_cache_quant_algo
    #    lines 140-148 = 0.5.22's)
    Rule("checkpoint_fp8_kv_auto", "0.5.21", "0.5.23", ("modelopt", "fp8", "compressed-tensors"),
         "python/sglang/srt/mem_cache/kv_cache_dtype.py configure_kv_cache_dtype lines 49-56 (called by "
         "model_executor/model_runner.py line 1551): auto -> float8_e4m3fn when the model's quant_config has "
         "kv_cache_quant_algo 'FP8'; "
         "0.5.22 the same (kv_cache_dtype.py configure_kv_cache_dtype lines 23-45, called by model_runner.py "
         "line 1530); set by ModelOpt's configs, layers/quantization/fp8.py Fp8Config.from_config (0.5.22 lines "
         "340-380, 0.5.23 346-386) and compressed_tensors/compressed_tensors.py CompressedTensorsConfig."
         "kv_cache_quant_algo (0.5.22 lines 141-150, is_supported_scheme 1262-1271; 0.5.23 142-151, 1276-1285)"),
    # -- a config that says language_model_only: true (spec language_model_only; Engine.check_language_model_only):
    #    True where the release reads the key. 0.4.6-0.5.17: no 'language_model_only' anywhere in sglang/srt (0.4.6,
    #    0.4.9, 0.4.10, 0.5.1, 0.5.2, 0.5.4, 0.5.6, 0.5.8-0.5.17 wheels read): served as if the key were absent.
    #    0.5.18: ModelConfig.__init__ (configs/model_config.py) line 331 is_lm_only = getattr(hf_config,
    #    "language_model_only", False): not multimodal (lines 452-459: no vlm_fraction, no mm_runtime_reservation),
    #    no mrope (lines 332-335), and line 552 writes it back so models/qwen3_vl.py (lines 1243-1246: visual = None),
    #    models/qwen3_5.py and models/muse_glimmer.py (lines 943-944) build no vision tower, other classes still do:
    #    the weights, fraction, reservation and rotary table then differ by model class; kvplan refuses.
    #    0.5.19: model_config.py line 356 (is_multimodal line 488); 0.5.22: line 584 (is_multimodal 732); 0.5.23: line
    #    674 (is_multimodal 822); 0.5.22 adds models/deepseek_v4.py, cosmos3.py, cosmos3_edge.py, qwen4_exp.py readers.
    # -- DeepSeek sparse attention top-k sharing (spec index_topk_sharing: index_topk_freq > 1 or "S" layers of
    #    index_topk_pattern; Engine.check_dsa_topk_sharing): True where the release reads the keys. 0.4.6-0.5.9: no
    #    index_topk_freq / index_topk_pattern in sglang/srt (0.4.6, 0.5.4, 0.5.6, 0.5.8, 0.5.9 wheels read): every layer
    #    computes its top-k and keeps its indexer cache, as kvplan plans. 0.5.10: models/deepseek_v2.py
    #    DeepseekV2AttentionMLA.__init__ (lines 1202-1219) marks skip_topk layers (max(layer_id - 1, 0) % freq != 0,
    #    or the pattern's "S"); 0.5.16-0.5.17 configs/model_config.py dsa_layer_skips_topk (0.5.16 lines 186-214). 0.5.18:
    #    the indexer cache
    #    is sized on the non-skipping layers only (model_executor/pool_configurator.py lines 376-412, unless
    #    allocate_all_layers; with a GLM DSA context-parallel shard, the busiest shard's count + 1); 0.5.19 lines
    #    388-424; 0.5.22 / 0.5.23 allocate 0 rows for them (mem_cache/memory_pool.py _should_allocate_index_layer
    #    0.5.22 line 5262, 0.5.23 line 5390). kvplan sizes no indexer cache per layer: refused.
    Rule("dsa_index_topk_sharing", "0.4.6", "0.5.9", False,
         "python/sglang/srt (0.4.6-0.5.9): no index_topk_freq / index_topk_pattern read"),
    Rule("dsa_index_topk_sharing", "0.5.10", "0.5.17", True,
         "python/sglang/srt/models/deepseek_v2.py DeepseekV2AttentionMLA.__init__ (0.5.10 lines 1202-1219) and, from "
         "0.5.16, configs/model_config.py dsa_layer_skips_topk: the sharing layers reuse the previous layer's top-k"),
    #    0.5.20: configs/model_config.py dsa_layer_skips_topk lines 311-345 (0.5.22's), pool_configurator.py
    #    _compute_dsa_indexer_cell_size lines 452-531 counts the non-skipping layers (_get_dsa_cache_layer_ids lines
    #    121-135); 0.5.21 the same (dsa_layer_skips_topk lines 356-390, _compute_dsa_indexer_cell_size lines 472-550)
    Rule("dsa_index_topk_sharing", "0.5.18", "0.5.21", True,
         "python/sglang/srt/model_executor/pool_configurator.py (0.5.18 lines 376-412, 0.5.19 388-424): the indexer "
         "cache sized on the layers dsa_layer_skips_topk (configs/model_config.py 0.5.18 lines 200-228) does not skip"),
    Rule("dsa_index_topk_sharing", "0.5.22", "0.5.23", True,
         "python/sglang/srt/mem_cache/memory_pool.py _should_allocate_index_layer (0.5.22 line 5262, 0.5.23 line 5390): "
         "0 indexer rows on the layers configs/model_config.py dsa_layer_skips_topk skips; mem_cache/"
         "kv_cache_configurator.py indexer_layer_ids (0.5.22 lines 1959-1981, 0.5.23 2260-2282)"),
    Rule("config_language_model_only", "0.4.6", "0.5.17", False,
         "python/sglang/srt (0.4.6-0.5.17): no 'language_model_only' read anywhere"),
    #    0.5.20: ModelConfig.__init__ line 467 (is_lm_only = language_model_only or the config's key; is_multimodal line
    #    610, written back line 713; models/qwen3_vl.py, qwen3_5.py, muse_glimmer.py, cosmos3.py, cosmos3_edge.py,
    #    qwen4_exp.py read it); 0.5.21 line 515 (is_multimodal line 663, written back line 753)
    Rule("config_language_model_only", "0.5.18", "0.5.21", True,
         "python/sglang/srt/configs/model_config.py ModelConfig.__init__ (0.5.18 line 331, 0.5.19 line 356) "
         "is_lm_only = getattr(hf_config, 'language_model_only', False): not is_multimodal, not model_is_mrope; "
         "models/qwen3_vl.py Qwen3VLForConditionalGeneration.__init__ (0.5.18 lines 1243-1246) builds no visual"),
    Rule("config_language_model_only", "0.5.22", "0.5.23", True,
         "python/sglang/srt/configs/model_config.py ModelConfig.__init__ (0.5.22 line 584, 0.5.23 line 674) "
         "is_lm_only = language_model_only or getattr(hf_config, 'language_model_only', False): not is_multimodal "
         "(0.5.23 line 822), not model_is_mrope; models/qwen3_vl.py, qwen3_5.py, muse_glimmer.py, deepseek_v4.py, "
         "cosmos3.py, qwen4_exp.py build no vision tower for it"),
    #    0.5.20: + Cosmos3Edge, Glm5Next, NemotronH_Omni_Reasoning_V3, Qwen4Exp (multimodal_model_archs lines
    #    2103-2179); handle_gpu_memory_settings (memory_hook.py lines 276-281, 324-329) takes the factor of
    #    adjust_mem_fraction_for_vlm (lines 410-455, 0.5.22's: returns the scaled fraction; 0.5.19's factor on the
    #    default path) on the rounded default; mm_disabled_models (model_config.py lines 485-490) with Inkling.
    Rule("vlm_fraction", "0.5.20", "0.5.20",
         VLMFraction(_MM_0_5_20, _MM_OFF_0_5_1 + ("InklingForConditionalGeneration",), None, any_tower=True),
         _MEM23 + " (0.5.20) handle_gpu_memory_settings lines 276-281, 324-329 -> adjust_mem_fraction_for_vlm lines "
         "410-455; " + _MC + " lines 485-490 (mm_disabled_models), 608-615 (is_multimodal), 2103-2179 "
         "(multimodal_model_archs)"),
    #    0.5.21: + DiffusionGemma, BailingMMNative, BailingMM2Native, BailingMoeV3VL (multimodal_model_archs lines
    #    2199-2279); the adjustment identical to 0.5.20's (memory_hook.py lines 276-281, 324-329 -> lines 410-455);
    #    mm_disabled_models lines 533-538; is_multimodal lines 661-668 (+ DeepSeek-V4.1's vision, not imported by kvplan)
    Rule("vlm_fraction", "0.5.21", "0.5.21",
         VLMFraction(_MM_0_5_21, _MM_OFF_0_5_1 + ("InklingForConditionalGeneration",), None, any_tower=True),
         _MEM23 + " (0.5.21) handle_gpu_memory_settings lines 276-281, 324-329 -> adjust_mem_fraction_for_vlm lines "
         "410-455; " + _MC + " lines 533-538 (mm_disabled_models), 661-668 (is_multimodal), 2199-2279 "
         "(multimodal_model_archs)"),
    Rule("vlm_fraction", "0.5.22", "0.5.22",
         VLMFraction(_MM_0_5_22, _MM_OFF_0_5_1 + ("InklingForConditionalGeneration",), None, any_tower=True),
         _MEM23 + " (0.5.22) handle_gpu_memory_settings lines 283-340 -> adjust_mem_fraction_for_vlm lines 419-464 "
         "(as 0.5.23); sglang/srt/configs/model_config.py lines 600-628 (mm_disabled_models, the same four), 730-737 "
         "(is_multimodal), 2279-2360 (multimodal_model_archs: 0.5.23's but MuseSparkForConditionalGeneration)"),
    Rule("vlm_fraction", "0.5.23", "0.5.23",
         VLMFraction(_MM_0_5_23, _MM_OFF_0_5_1 + ("InklingForConditionalGeneration",), None, any_tower=True),
         _MEM23 + " handle_gpu_memory_settings lines 281-337 (is_vlm: is_multimodal, not --language-only) -> "
         "adjust_mem_fraction_for_vlm lines 417-462 (the 0.5.8 formula; SGLANG_ENABLE_POST_CAPTURE_KV_SIZING, off "
         "by default, would subtract 8 GiB instead); sglang/srt/configs/model_config.py lines 690-705 "
         "(mm_disabled_models), 809-828 (is_multimodal: the list, or a config with a text_config sub-config), 2391 "
         "(multimodal_model_archs); transformers 5.19.0 (the 0.5.23 pin) Qwen3VLVisionConfig has depth, no "
         "num_hidden_layers"),
    # -- models SGLang serves as multimodal (ModelConfig.is_multimodal): None, not read for the
    #    release (kvplan plans such a model as its language model alone); else {"archs": the
    #    architectures (and any spec with a vision tower), "kv_reserve_mib": what the KV budget
    #    loses}. 0.5.23 scales the default mem_fraction_static by the vision tower's size (rule
    #    vlm_fraction, which also says which models SGLang serves as multimodal) and takes
    #    SGLANG_VLM_CACHE_SIZE_MB = 100 MiB (environ.py line 1598) off the KV budget
    #    (mem_cache/kv_cache_configurator.py mm_runtime_reservation_gb lines 202-219: 1 GiB more
    #    only with the cuda_ipc / cuda_vmm feature transport, default cpu on one node).
    #    0.5.9: no mm_runtime_reservation, as 0.5.8
    #    0.5.10: no mm_runtime_reservation either
    #    0.5.11: no mm_runtime_reservation either
    #    0.5.12: no mm_runtime_reservation either
    #    0.5.13 and 0.5.13.post1: no mm_runtime_reservation either
    #    0.5.14: no mm_runtime_reservation either
    #    0.5.15 and 0.5.15.post1: no mm_runtime_reservation either
    #    0.5.16 and 0.5.17: no mm_runtime_reservation either
    Rule("multimodal", "0.4.6", "0.5.17", None,
         "not read for these releases (0.5.8 server_args.py adjust_mem_fraction_for_vlm exists; kvplan does not "
         "apply it)"),
    #    0.5.18: mm_runtime_reservation_gb (mem_cache/kv_cache_configurator.py lines 130-147, the body of 0.5.22's)
    #    takes SGLANG_VLM_CACHE_SIZE_MB = 100 MiB (environ.py line 1146) off a multimodal model's KV budget
    #    (_profile_available_bytes lines 1785-1789); the 1 GiB SGLANG_MM_FEATURE_CACHE_MB only with the cuda_ipc /
    #    cuda_vmm transport, which _handle_multimodal_feature_transport (server_args.py lines 7861-8027) now resolves to
    #    cpu on one node (0.5.17: cuda_ipc, but no reservation), cuda_vmm only on multi-node GB200 / GB300 with an IMEX
    #    channel mounted.
    #    0.5.19 the same (mm_runtime_reservation_gb lines 132-149 identical; environ.py line 1248;
    #    _profile_available_bytes line 2017; arg_groups/serving_hook.py handle_multimodal_feature_transport lines
    #    744-912, a rename)
    Rule("multimodal", "0.5.18", "0.5.18", {"kv_reserve_mib": 100, "archs": _MM_0_5_18},
         "sglang/srt/mem_cache/kv_cache_configurator.py (0.5.18) mm_runtime_reservation_gb lines 130-147, "
         "_profile_available_bytes lines 1785-1789; environ.py SGLANG_VLM_CACHE_SIZE_MB = 100 line 1146; "
         "configs/model_config.py multimodal_model_archs lines 1822-1893"),
    Rule("multimodal", "0.5.19", "0.5.19", {"kv_reserve_mib": 100, "archs": _MM_0_5_19},
         "sglang/srt/mem_cache/kv_cache_configurator.py (0.5.19) mm_runtime_reservation_gb lines 132-149, "
         "_profile_available_bytes line 2017; environ.py SGLANG_VLM_CACHE_SIZE_MB = 100 line 1248; "
         "configs/model_config.py multimodal_model_archs lines 1886-1958"),
    #    0.5.20 the same reservation (mm_runtime_reservation_gb lines 142-159 and _profile_available_bytes lines
    #    2148-2201, identical to 0.5.19's, reservation line 2175; environ.py SGLANG_VLM_CACHE_SIZE_MB = 100 line 1336;
    #    serving_hook.py handle_multimodal_feature_transport lines 743-905: cpu on one node as 0.5.19), on 0.5.20's
    #    list; Qwen3-VL's large-Hopper override sets the VLM cache to 0 (rule qwen3_vl_hopper refuses it there)
    Rule("multimodal", "0.5.20", "0.5.20", {"kv_reserve_mib": 100, "archs": _MM_0_5_20},
         "sglang/srt/mem_cache/kv_cache_configurator.py (0.5.20) mm_runtime_reservation_gb lines 142-159, "
         "_profile_available_bytes line 2175; environ.py SGLANG_VLM_CACHE_SIZE_MB = 100 line 1336; "
         "configs/model_config.py multimodal_model_archs lines 2103-2179"),
    #    0.5.21 the same reservation (mm_runtime_reservation_gb lines 154-171, call line 2204 in _profile_available_bytes
    #    lines 2177-2230; environ.py SGLANG_VLM_CACHE_SIZE_MB = 100 line 1409; handle_multimodal_feature_transport lines
    #    743-885 = 0.5.22's) on 0.5.21's list
    Rule("multimodal", "0.5.21", "0.5.21", {"kv_reserve_mib": 100, "archs": _MM_0_5_21},
         "sglang/srt/mem_cache/kv_cache_configurator.py (0.5.21) mm_runtime_reservation_gb lines 154-171, "
         "_profile_available_bytes line 2204; environ.py SGLANG_VLM_CACHE_SIZE_MB = 100 line 1409; "
         "configs/model_config.py multimodal_model_archs lines 2199-2279"),
    Rule("multimodal", "0.5.22", "0.5.22", {"kv_reserve_mib": 100, "archs": _MM_0_5_22},
         "sglang/srt/configs/model_config.py multimodal_model_archs lines 2279-2360, is_multimodal line 730; "
         "mem_cache/kv_cache_configurator.py mm_runtime_reservation_gb lines 197-214 (as 0.5.23); environ.py "
         "SGLANG_VLM_CACHE_SIZE_MB = 100 line 1450"),
    Rule("multimodal", "0.5.23", "0.5.23", {"kv_reserve_mib": 100, "archs": _MM_0_5_23},
         "sglang/srt/configs/model_config.py multimodal_model_archs lines 2391-2490 (with "
         "MIMO_V2_MULTIMODAL_ARCHS, line 78), "
         "is_multimodal line 820"),
    # -- what turns the breakable prefill CUDA graphs off or resizes them before the default
    #    mem_fraction_static is sized (GraphModel.of): None where the release reserves nothing for
    #    prefill graphs (rule mem_fraction_static_default); else {"mm_kept": the multimodal
    #    architectures whose prefill graph stays on, "max_bs": {architecture: prefill max_bs}}. For a
    #    model SGLang serves as multimodal (ModelConfig.is_multimodal, rule vlm_fraction) and not in
    #    "mm_kept", arg_groups/cuda_graph_hook.py disable_breakable_cudagraph_if_incompatible turns
    #    the prefill graph off ('Breakable CUDA graph is incompatible with multimodal model'), and
    #    apply_muse_glimmer_prefill_cuda_graph_max_bs_default captures MuseGlimmer up to 512 tokens;
    #    both run before handle_gpu_memory_settings (arg_groups/pipeline.py 0.5.22 lines 176-181 /
    #    208, 0.5.23 lines 186-191 / 218), so reserve_for_graph_mb sees them: LLaVA-1.5 on an H100
    #    reserves 13,440 MiB, not 13,904.
    #    0.5.9 the same (_handle_gpu_memory_settings lines 911-1077)
    Rule("prefill_graphs", "0.4.6", "0.5.9", None, _ARGS + ": no prefill CUDA graph term in the reserved memory"),
    #    0.5.10: the piecewise CUDA graphs are off for every multimodal model (_handle_piecewise_cuda_graph
    #    lines 1111-1112), for DeepSeek sparse attention and the architectures of
    #    piecewise_cuda_graph_disabled_model_archs (configs/model_config.py lines 212-215, 1352-1358), for DP
    #    attention and pp > 1 (lines 1092-1102; _reserved_0_5_10 reads those from the launch).
    #    0.5.11 the same for what kvplan plans (_handle_piecewise_cuda_graph lines 1194-1261: multimodal lines
    #    1229-1230, DP attention / pp > 1 lines 1205-1212; speculative decoding no longer turns them off and
    #    --debug-cuda-graph does, neither planned; piecewise_cuda_graph_disabled_model_archs lines 1446-1452 and
    #    is_piecewise_cuda_graph_disabled_model lines 1505-1509 identical; --enable-breakable-cuda-graph off, line 639)
    Rule("prefill_graphs", "0.5.10", "0.5.11", {"mm_kept": (), "max_bs": {}, "off_archs": _PCG_OFF_0_5_10,
                                                "dsa_off": True},
         _ARGS + " (0.5.10) _handle_piecewise_cuda_graph lines 1078-1139; configs/model_config.py "
         "is_piecewise_cuda_graph_disabled_model lines 212-215 / 1352-1412 (with is_deepseek_nsa)"),
    #    0.5.12 the same for what kvplan plans (_handle_piecewise_cuda_graph lines 1301-1368, identical: multimodal
    #    lines 1336-1337, DP attention / pp > 1 lines 1312-1319); piecewise_cuda_graph_disabled_model_archs lines
    #    1558-1566 + DeepseekV4ForCausalLM(+NextN); is_piecewise_cuda_graph_disabled_model lines 1619-1623
    Rule("prefill_graphs", "0.5.12", "0.5.12", {"mm_kept": (), "max_bs": {}, "off_archs": _PCG_OFF_0_5_12,
                                                "dsa_off": True},
         _ARGS + " (0.5.12) _handle_piecewise_cuda_graph lines 1301-1368; configs/model_config.py "
         "is_piecewise_cuda_graph_disabled_model lines 1619-1623 / 1558-1566 (with is_deepseek_nsa)"),
    #    0.5.13 and 0.5.13.post1: _handle_piecewise_cuda_graph lines 1342-1411 (as 0.5.12 for what kvplan plans:
    #    multimodal lines 1375-1376, DP attention / pp > 1 lines 1353-1360; + --enable-dsa-prefill-context-parallel,
    #    off); piecewise_cuda_graph_disabled_model_archs lines 1579-1585 without DeepseekV32 / GlmMoeDsa, and
    #    ModelConfig.is_piecewise_cuda_graph_disabled_model (configs/model_config.py lines 330-332) without
    #    is_deepseek_nsa: DeepSeek sparse attention keeps the piecewise graphs ("dsa_off" False); the graphs stop
    #    at a --context-length given (server_args.py lines 1579-1586: "context_clamp").
    Rule("prefill_graphs", "0.5.13", "0.5.13.post1", {"mm_kept": (), "max_bs": {}, "off_archs": _PCG_OFF_0_5_13,
                                                      "dsa_off": False, "context_clamp": True},
         _ARGS + " (0.5.13) _handle_piecewise_cuda_graph lines 1342-1411, _handle_gpu_memory_settings lines 1579-1586 "
         "(the context_length clamp); configs/model_config.py is_piecewise_cuda_graph_disabled_model lines 330-332 "
         "/ 1579-1585 (no is_deepseek_nsa)"),
    #    0.5.14: the prefill graphs are a backend (model_executor/cuda_graph_config.py: tc_piecewise by default,
    #    lines 84-92); _disable_tc_piecewise_cudagraph_if_incompatible (server_args.py lines 2997-3057, from
    #    _handle_cuda_graph_config line 2508, before _handle_gpu_memory_settings line 2524) runs 0.5.13's tests (DP
    #    attention line 3007, pp > 1 line 3009, non-CUDA line 3011, the same disabled architectures,
    #    configs/model_config.py lines 1713-1719), but a multimodal model keeps the graphs where
    #    is_multimodal_piecewise_cuda_graph_supported (lines 3021-3024; model_config.py lines 427-443, 1795-1800):
    #    multimodal_piecewise_cuda_graph_supported_model_archs = Cohere2VisionForConditionalGeneration (lines
    #    1725-1727; the MiniMaxM3Sparse list at lines 1789-1792 is read by nothing). The --context-length clamp as
    #    0.5.13 (lines 3261-3267).
    Rule("prefill_graphs", "0.5.14", "0.5.14", {"mm_kept": ("Cohere2VisionForConditionalGeneration",), "max_bs": {},
                                                "off_archs": _PCG_OFF_0_5_13, "dsa_off": False, "context_clamp": True},
         _ARGS + " (0.5.14) _disable_tc_piecewise_cudagraph_if_incompatible lines 2997-3057 (multimodal lines "
         "3021-3024), _handle_gpu_memory_settings lines 3261-3267 (the context_length clamp); configs/model_config.py "
         "lines 427-443, 1713-1727, 1795-1800; model_executor/cuda_graph_config.py lines 84-92"),
    #    0.5.15 and 0.5.15.post1: the default prefill backend is breakable on CUDA (model_executor/cuda_graph_config.py
    #    default_prefill_backend lines 95-101, tc_piecewise elsewhere, where the non-CUDA test turns it off), and
    #    _disable_breakable_cudagraph_if_incompatible (server_args.py lines 3341-3384, from _handle_cuda_graph_config
    #    line 2693, before _handle_gpu_memory_settings line 2709) turns it off for an MLA model (use_mla_backend, line
    #    3352: no 1.5 GiB any more), DeepSeek-V4 (lines 3354-3357), context parallelism, LoRA, an MoE all-to-all, DP
    #    attention (line 3372) and any multimodal model (line 3374: no list of kept ones), but not for pipeline stages
    #    nor for piecewise_cuda_graph_disabled_model_archs (both tc_piecewise's tests). The token counts and the
    #    --context-length clamp as 0.5.14 (lines 3586-3620).
    Rule("prefill_graphs", "0.5.15", "0.5.15.post1",
         {"mm_kept": (), "max_bs": {}, "off_archs": ("DeepseekV4ForCausalLM", "DeepseekV4ForCausalLMNextN"),
          "dsa_off": False, "context_clamp": True, "mla_off": True, "pp_kept": True},
         _ARGS + " (0.5.15) _disable_breakable_cudagraph_if_incompatible lines 3341-3384 (MLA line 3352, DP attention "
         "line 3372, multimodal line 3374), _handle_gpu_memory_settings lines 3607-3614 (the context_length clamp); "
         "model_executor/cuda_graph_config.py default_prefill_backend lines 95-101"),
    #    0.5.16: _apply_cuda_graph_compatibility (server_args.py lines 3649-3678) switches the breakable default to
    #    tc_piecewise for an architecture on multimodal_piecewise_cuda_graph_supported_model_archs (configs/
    #    model_config.py lines 1776-1781: Cohere2Vision, KimiK25, MiniMaxM3Sparse x2: "mm_tc"), whose tests
    #    (_disable_tc_piecewise_cudagraph_if_incompatible lines 3688-3761: DP attention line 3700, pp > 1, the
    #    disabled architectures) have no MLA rule; the breakable rules (_disable_breakable_cudagraph_if_incompatible
    #    lines 3763-3815: MLA line 3774, DP attention line 3799) spare multimodal_breakable_cuda_graph_supported_model_archs
    #    (lines 1785-1788: Qwen3.5 VL x2, "mm_kept"). The --context-length clamp as 0.5.15 (lines 4039-4045).
    Rule("prefill_graphs", "0.5.16", "0.5.16",
         {"mm_kept": ("Qwen3_5ForConditionalGeneration", "Qwen3_5MoeForConditionalGeneration"),
          "mm_tc": ("Cohere2VisionForConditionalGeneration", "KimiK25ForConditionalGeneration",
                    "MiniMaxM3SparseForCausalLM", "MiniMaxM3SparseForConditionalGeneration"),
          "max_bs": {}, "off_archs": ("DeepseekV4ForCausalLM", "DeepseekV4ForCausalLMNextN", "DeepseekV4ForCausalLMDSpark"),
          "dsa_off": False, "context_clamp": True, "mla_off": True, "pp_kept": True},
         _ARGS + " (0.5.16) _apply_cuda_graph_compatibility lines 3649-3678, _disable_tc_piecewise_cudagraph_if_incompatible "
         "lines 3688-3761, _disable_breakable_cudagraph_if_incompatible lines 3763-3815 (MLA line 3774, DP attention "
         "line 3799, multimodal lines 3800-3805), _handle_gpu_memory_settings lines 4039-4045 (the context_length "
         "clamp); configs/model_config.py lines 1763-1788"),
    #    0.5.17: the breakable rules (server_args.py lines 4452-4522) spare DeepSeek sparse attention from the MLA rule
    #    (lines 4467-4471: "dsa_kept"), drop DP attention ("dp_kept": the graphs stay on under DP attention, sized by
    #    _handle_gpu_memory_settings line 3527 before _handle_data_parallelism line 3566 divides the chunk) and LoRA,
    #    keep the deepep / megamoe / flashinfer all-to-all backends, and add NemotronH (is_nemotron_h, model_config.py
    #    lines 136-141) and two-batch overlap; the lists as 0.5.16 (lines 1826-1851); no --context-length clamp in
    #    _handle_gpu_memory_settings (lines 4724-4750).
    Rule("prefill_graphs", "0.5.17", "0.5.17",
         {"mm_kept": ("Qwen3_5ForConditionalGeneration", "Qwen3_5MoeForConditionalGeneration"),
          "mm_tc": ("Cohere2VisionForConditionalGeneration", "KimiK25ForConditionalGeneration",
                    "MiniMaxM3SparseForCausalLM", "MiniMaxM3SparseForConditionalGeneration"),
          "max_bs": {}, "off_archs": ("DeepseekV4ForCausalLM", "DeepseekV4ForCausalLMNextN", "DeepseekV4ForCausalLMDSpark",
                                      "NemotronHForCausalLM", "NemotronHPuzzleForCausalLM", "NemotronHForCausalLMMTP"),
          "dsa_off": False, "context_clamp": False, "mla_off": True, "dsa_kept": True, "pp_kept": True, "dp_kept": True},
         _ARGS + " (0.5.17) _disable_breakable_cudagraph_if_incompatible lines 4452-4522 (MLA but not DSA lines "
         "4467-4471, no DP-attention rule), _apply_cuda_graph_compatibility lines 4338-4367, "
         "_disable_tc_piecewise_cudagraph_if_incompatible lines 4377-4450, _handle_gpu_memory_settings lines 4724-4750 "
         "(no context_length clamp); configs/model_config.py lines 1826-1860"),
    #    0.5.18: _disable_breakable_cudagraph_if_incompatible (server_args.py lines 4666-4717) drops the MLA rule and
    #    the NemotronH rule: an MLA model keeps its breakable prefill graphs and reserves 1.5 GiB again ("mla_off"
    #    False: DeepSeek-V3 back to 0.5.14's sum); left: DeepSeek-V4 (line 4678), context parallelism, dcp > 1,
    #    two-batch overlap, an unvalidated all-to-all, a multimodal model off
    #    multimodal_breakable_cuda_graph_supported_model_archs (line 4704; configs/model_config.py lines 1921-1928: +
    #    InternS2Mobius, MuseGlimmer, KimiK3, KimiK25); still no pp and no DP-attention rule.
    #    _apply_cuda_graph_compatibility (lines 4548-4581) switches to tc_piecewise only an architecture on the
    #    piecewise list (lines 1908-1913) that is not on the breakable one (KimiK25 stays breakable) and whose attention
    #    backend, as given (the model's own default is declared later, line 3680), is not trtllm_mla ("mm_tc":
    #    Cohere2Vision, MiniMaxM3Sparse x2; kvplan takes no --attention-backend for SGLang). MuseGlimmer's prefill
    #    graphs stop at 512 tokens (_apply_muse_glimmer_prefill_cuda_graph_max_bs_default lines 4431-4439, run line 3656
    #    before _handle_cuda_graph_config line 3661). No --context-length clamp.
    Rule("prefill_graphs", "0.5.18", "0.5.18",
         {"mm_kept": ("InternS2MobiusForConditionalGeneration", "Qwen3_5ForConditionalGeneration",
                      "Qwen3_5MoeForConditionalGeneration", "MuseGlimmerForConditionalGeneration",
                      "KimiK3ForConditionalGeneration", "KimiK25ForConditionalGeneration"),
          "mm_tc": ("Cohere2VisionForConditionalGeneration", "MiniMaxM3SparseForCausalLM",
                    "MiniMaxM3SparseForConditionalGeneration"),
          "max_bs": _MUSE_GLIMMER_512,
          "off_archs": ("DeepseekV4ForCausalLM", "DeepseekV4ForCausalLMNextN", "DeepseekV4ForCausalLMDSpark"),
          "dsa_off": False, "context_clamp": False, "mla_off": False, "pp_kept": True, "dp_kept": True},
         _ARGS + " (0.5.18) _disable_breakable_cudagraph_if_incompatible lines 4666-4717 (no MLA rule; multimodal "
         "line 4704), _apply_cuda_graph_compatibility lines 4548-4581, _disable_tc_piecewise_cudagraph_if_incompatible "
         "lines 4591-4664, _apply_muse_glimmer_prefill_cuda_graph_max_bs_default lines 4431-4439; "
         "configs/model_config.py lines 1895-1928"),
    #    0.5.19: arg_groups/cuda_graph_hook.py apply_cuda_graph_compatibility (lines 106-166) turns the breakable
    #    prefill graphs off at pp > 1 (lines 118-131, "Disabling breakable prefill CUDA graph by default for pipeline
    #    parallelism": 0.5.22's rule, "pp_kept" False); disable_breakable_cudagraph_if_incompatible (lines 262-323) the
    #    same six rules; the lists (configs/model_config.py lines 1960-1994) move Cohere2Vision from the piecewise to
    #    the breakable list and add PaddleOCRVL to it; MuseGlimmer 512 (lines 444-458).
    Rule("prefill_graphs", "0.5.19", "0.5.19",
         {"mm_kept": ("Cohere2VisionForConditionalGeneration", "InternS2MobiusForConditionalGeneration",
                      "PaddleOCRVLForConditionalGeneration", "Qwen3_5ForConditionalGeneration",
                      "Qwen3_5MoeForConditionalGeneration", "MuseGlimmerForConditionalGeneration",
                      "KimiK3ForConditionalGeneration", "KimiK25ForConditionalGeneration"),
          "mm_tc": ("MiniMaxM3SparseForCausalLM", "MiniMaxM3SparseForConditionalGeneration"),
          "max_bs": _MUSE_GLIMMER_512,
          "off_archs": ("DeepseekV4ForCausalLM", "DeepseekV4ForCausalLMNextN", "DeepseekV4ForCausalLMDSpark"),
          "dsa_off": False, "context_clamp": False, "mla_off": False, "pp_kept": False, "dp_kept": True},
         "sglang/srt/arg_groups/cuda_graph_hook.py (0.5.19) apply_cuda_graph_compatibility lines 106-166 (pp > 1 lines "
         "118-131), disable_tc_piecewise_cudagraph_if_incompatible lines 169-259, "
         "disable_breakable_cudagraph_if_incompatible lines 262-323, "
         "apply_muse_glimmer_prefill_cuda_graph_max_bs_default lines 444-458; configs/model_config.py lines 1960-1994"),
    #    0.5.20: apply_cuda_graph_compatibility (cuda_graph_hook.py lines 106-166, pp > 1 off lines 118-131),
    #    disable_tc_piecewise_cudagraph_if_incompatible (lines 169-264: 0.5.19's rules less the DSA prefill-CP one)
    #    and apply_muse_glimmer_prefill_cuda_graph_max_bs_default (lines 509-523) as 0.5.19;
    #    disable_breakable_cudagraph_if_incompatible (lines 267-343) adds a first rule, 'KDA hybrid linear attention'
    #    (configs/model_config.py uses_kda_attention lines 183-205: a linear_attn_config with kda_layers, or
    #    linear_attention layer_types with linear_num_heads / linear_head_dim), 0.5.22's: such a model has
    #    linear-attention layers, which SGLang.check_kv_pool refuses before any reservation counts. The GLM-5 Next
    #    chunk / prefill-graph defaults (lines 404-446) need the breakable backend asked for. Lists (model_config.py
    #    lines 2181-2219): breakable and piecewise-off + Glm5NextForConditionalGeneration, piecewise as 0.5.19.
    #    0.5.21 the same (cuda_graph_hook.py apply_cuda_graph_compatibility lines 114-174, pp > 1 lines 126-139;
    #    disable_tc_piecewise_cudagraph_if_incompatible lines 177-272, disable_breakable_cudagraph_if_incompatible lines
    #    275-351, apply_muse_glimmer_prefill_cuda_graph_max_bs_default lines 517-531: identical to 0.5.20's; lists
    #    model_config.py lines 2281-2319 identical; parse_cuda_graph_config lines 37-111 adds
    #    --cuda-graph-max-seq-len-prefill / --cuda-graph-prefill-max-context, not given by kvplan)
    Rule("prefill_graphs", "0.5.20", "0.5.21",
         {"mm_kept": ("Cohere2VisionForConditionalGeneration", "InternS2MobiusForConditionalGeneration",
                      "PaddleOCRVLForConditionalGeneration", "Qwen3_5ForConditionalGeneration",
                      "Qwen3_5MoeForConditionalGeneration", "MuseGlimmerForConditionalGeneration",
                      "KimiK3ForConditionalGeneration", "KimiK25ForConditionalGeneration",
                      "Glm5NextForConditionalGeneration"),
          "mm_tc": ("MiniMaxM3SparseForCausalLM", "MiniMaxM3SparseForConditionalGeneration"),
          "max_bs": _MUSE_GLIMMER_512,
          "off_archs": ("DeepseekV4ForCausalLM", "DeepseekV4ForCausalLMNextN", "DeepseekV4ForCausalLMDSpark"),
          "dsa_off": False, "context_clamp": False, "mla_off": False, "pp_kept": False, "dp_kept": True},
         "sglang/srt/arg_groups/cuda_graph_hook.py (0.5.20) apply_cuda_graph_compatibility lines 106-166 (pp > 1 lines "
         "118-131), disable_tc_piecewise_cudagraph_if_incompatible lines 169-264, "
         "disable_breakable_cudagraph_if_incompatible lines 267-343, "
         "apply_muse_glimmer_prefill_cuda_graph_max_bs_default lines 509-523; configs/model_config.py lines 2181-2219"),
    Rule("prefill_graphs", "0.5.22", "0.5.22", {"mm_kept": _MM_BCG_0_5_22, "max_bs": _MUSE_GLIMMER_512},
         "sglang/srt/arg_groups/cuda_graph_hook.py disable_breakable_cudagraph_if_incompatible lines 138-217 "
         "(multimodal rule lines 194-201), apply_muse_glimmer_prefill_cuda_graph_max_bs_default lines 337-351; "
         "configs/model_config.py multimodal_breakable_cuda_graph_supported_model_archs lines 2388-2401, "
         "is_multimodal_breakable_cuda_graph_supported line 915"),
    Rule("prefill_graphs", "0.5.23", "0.5.23",
         {"mm_kept": _MM_BCG_0_5_22 + ("MuseSparkForConditionalGeneration",), "max_bs": _MUSE_GLIMMER_512},
         "sglang/srt/arg_groups/cuda_graph_hook.py disable_breakable_cudagraph_if_incompatible lines 170-255 "
         "(multimodal rule lines 230-238), apply_muse_glimmer_prefill_cuda_graph_max_bs_default lines 375-389; "
         "configs/model_config.py multimodal_breakable_cuda_graph_supported_model_archs lines 2501-2516, "
         "is_multimodal_breakable_cuda_graph_supported line 1006"),
    # -- the rotary cos/sin tables a model keeps on the GPU from load (SGLang.rope_table_bytes).
    #    The model's __init__ runs under the GPU device (model_loader/loader.py DefaultModelLoader
    #    .load_model, ``with target_device``), so the buffers count in the memory left after load
    #    that profile_max_num_token reads. get_rope keeps one module per argument key (_ROPE_DICT),
    #    so every layer with the same arguments shares one table. RotaryEmbedding keeps
    #    _compute_cos_sin_cache's float32 table on CUDA ("cache needs to be in FP32"), cast to the
    #    model dtype elsewhere: on ROCm up to 0.5.8, float32 there too from 0.5.22. "hip_fp32":
    #    that ROCm change; "deepseek_totals": DeepseekScalingRotaryEmbedding (deepseek_yarn) also
    #    keeps cos_cached_total / sin_cached_total, rows x rotary_dim float32 each (0.5.8 only; NPU
    #    only in 0.5.22 / 0.5.23); "gemma3_get_rope": Gemma 3's attention builds get_rope tables
    #    (global rope_theta and local rope_local_base_freq, both rope_type default) beside the
    #    model's HF-style Gemma3RotaryEmbedding inv_freq buffers, which are all it has up to 0.5.8.
    #    "qwen3_vl_get_rope": Qwen3-VL's vision tower builds a get_rope table (8192 rows x half its
    #    head width), not transformers' inv_freq buffer; "mrope_axis_map": MRotaryEmbedding keeps
    #    an int64 axis_map of rotary_dim / 2 lanes (_ROPE_VISION_UNREAD's comment cites both).
    Rule("rope_table", "0.4.6", "0.5.6", {"hip_fp32": False, "deepseek_totals": False, "gemma3_get_rope": False,
                                          "qwen3_vl_get_rope": False, "mrope_axis_map": False},
         "python/sglang/srt/layers/rotary_embedding.py RotaryEmbedding.__init__ (0.4.6 lines 81-84 / 92, 0.4.9 = "
         "0.4.10 98-101 / 111, 0.5.1 = 0.5.2 99-102 / 112, 0.5.4 110-113 / 125, 0.5.6 111-114 / 129), get_rope "
         "_ROPE_DICT (0.4.6 lines 1061 / 1095, 0.5.6 2507 / 2554); models/gemma3_causal.py Gemma3RotaryEmbedding "
         "(0.4.6 lines 382, 485, 492); models/qwen3_vl.py Qwen3VLMoeVisionModel (0.5.4 lines 274-275, 0.5.6 "
         "287-288: transformers 4.57.1 Qwen2_5_VisionRotaryEmbedding)"),
    #    0.5.9 the same (layers/rotary_embedding.py RotaryEmbedding.__init__ lines 120-123 / 147,
    #    DeepseekScalingRotaryEmbedding._compute_cos_sin_cache lines 1075-1090 (the totals on every
    #    platform), get_rope _ROPE_DICT lines 3339 / 3386-3387 / 3586; models/gemma3_causal.py
    #    Gemma3RotaryEmbedding lines 324, 450, 457, no get_rope; models/qwen3_vl.py get_rope lines 320-326)
    Rule("rope_table", "0.5.8", "0.5.9", {"hip_fp32": False, "deepseek_totals": True, "gemma3_get_rope": False,
                                          "qwen3_vl_get_rope": True, "mrope_axis_map": False},
         "python/sglang/srt/layers/rotary_embedding.py RotaryEmbedding.__init__ lines 112-115 / 133, "
         "DeepseekScalingRotaryEmbedding._compute_cos_sin_cache lines 875-890, get_rope _ROPE_DICT lines 2522 / "
         "2569; models/gemma3_causal.py Gemma3RotaryEmbedding lines 393, 496, 503; models/qwen3_vl.py "
         "Qwen3VLMoeVisionModel get_rope lines 317-324"),
    #    0.5.10: layers/rotary_embedding/ is a package: RotaryEmbedding.__init__ (base.py lines 53-107, float32 on
    #    CUDA, the model dtype elsewhere, as 0.5.9), DeepseekScalingRotaryEmbedding._compute_cos_sin_cache
    #    identical to 0.5.9's (the totals on every platform), get_rope (factory.py lines 62-332: the same
    #    classes; transformers 5's rope_parameters of an unscaled model, rope_type default, builds the
    #    same RotaryEmbedding, line 163); Gemma 3's attention builds get_rope tables as 0.5.23's
    #    (gemma3_causal.py Gemma3Attention lines 175-211, both rope_type default), beside
    #    Gemma3RotaryEmbedding (lines 401-428, 580, 588); Qwen3-VL's vision get_rope (qwen3_vl.py lines
    #    340-346); MRotaryEmbedding keeps an axis_map only for mrope_interleaved_glm (mrope.py lines
    #    105-121), which no planned config sets.
    #    0.5.11 the same (base.py RotaryEmbedding.__init__ lines 53-108: only a MUSA branch; _match_cos_sin_cache_dtype
    #    line 110 is not called by RotaryEmbedding; rope_variant.py's classes identical but a new Gemma4RotaryEmbedding;
    #    factory.py get_rope lines 63-342, + the 'proportional' type for Gemma 4; gemma3_causal.py Gemma3Attention
    #    lines 176-212, Gemma3RotaryEmbedding lines 402-429; qwen3_vl.py get_rope lines 356-362; mrope.py lines
    #    105-121; transformers 5.6.0's Gemma3 and Qwen3-VL configs give the same rope_parameters / depth)
    Rule("rope_table", "0.5.10", "0.5.11", {"hip_fp32": False, "deepseek_totals": True, "gemma3_get_rope": True,
                                            "qwen3_vl_get_rope": True, "mrope_axis_map": False},
         "python/sglang/srt/layers/rotary_embedding/ (0.5.10) base.py RotaryEmbedding.__init__ lines 53-107, "
         "rope_variant.py DeepseekScalingRotaryEmbedding, factory.py get_rope lines 62-332; models/gemma3_causal.py "
         "Gemma3Attention lines 175-211, Gemma3RotaryEmbedding lines 401-428; models/qwen3_vl.py get_rope lines 340-346"),
    #    0.5.12: the same tables (base.py, factory.py, rope_variant.py, mrope.py identical; qwen3_vl.py get_rope
    #    lines 356-362; Gemma3Attention's get_rope lines 181-217 unchanged), but Gemma3TextModel.__init__ builds
    #    its global Gemma3RotaryEmbedding as rope_type linear with config.rope_parameters["full_attention"]
    #    ["factor"] (gemma3_causal.py lines 581-587): the same inv_freq buffer where the config has a factor
    #    (Gemma 3 4B / 12B / 27B: linear 8), a KeyError at start-up where it has none (transformers 5.6.0's
    #    Gemma3TextConfig keeps rope_scaling's keys only: Gemma 3 1B / 270M). "gemma3_factor_needed": refused.
    Rule("rope_table", "0.5.12", "0.5.12", {"hip_fp32": False, "deepseek_totals": True, "gemma3_get_rope": True,
                                            "qwen3_vl_get_rope": True, "mrope_axis_map": False,
                                            "gemma3_factor_needed": True},
         "python/sglang/srt/layers/rotary_embedding/ (0.5.12) base.py RotaryEmbedding.__init__ lines 53-108, "
         "factory.py get_rope lines 63-342; models/gemma3_causal.py Gemma3Attention lines 181-217, "
         "Gemma3RotaryEmbedding lines 407-434, Gemma3TextModel.__init__ lines 581-587 (the global table: "
         "config.rope_parameters['full_attention']['factor']); models/qwen3_vl.py get_rope lines 356-362"),
    #    0.5.13 and 0.5.13.post1: DeepseekScalingRotaryEmbedding._compute_cos_sin_cache keeps cos_cached_total /
    #    sin_cached_total on NPU only (rope_variant.py lines 405-420), as 0.5.22; the rest as 0.5.12 (base.py
    #    RotaryEmbedding.__init__ lines 57-113: float32 on CUDA, + an out-of-tree test; factory.py get_rope lines
    #    63-342 and mrope.py MRotaryEmbedding.__init__ lines 131-209 identical; gemma3_causal.py Gemma3Attention
    #    lines 118-235, Gemma3RotaryEmbedding lines 407-434, Gemma3TextModel.__init__ lines 543-609 identical, so
    #    the global table still needs rope_parameters['full_attention']['factor'], lines 581-587; qwen3_vl.py get_rope
    #    lines 361-367).
    Rule("rope_table", "0.5.13", "0.5.13.post1", {"hip_fp32": False, "deepseek_totals": False, "gemma3_get_rope": True,
                                                  "qwen3_vl_get_rope": True, "mrope_axis_map": False,
                                                  "gemma3_factor_needed": True},
         "python/sglang/srt/layers/rotary_embedding/ (0.5.13) base.py RotaryEmbedding.__init__ lines 57-113, "
         "rope_variant.py DeepseekScalingRotaryEmbedding._compute_cos_sin_cache lines 405-420 (totals under _is_npu), "
         "factory.py get_rope lines 63-342; models/gemma3_causal.py Gemma3Attention lines 118-235, "
         "Gemma3RotaryEmbedding lines 407-434, Gemma3TextModel.__init__ lines 581-587; models/qwen3_vl.py get_rope "
         "lines 361-367"),
    #    0.5.14: Gemma3TextModel.__init__ (gemma3_causal.py lines 578-583) builds the global table from
    #    {**rope_parameters['full_attention'], 'rope_theta': global_theta}: a config without rope_scaling (Gemma 3
    #    1B / 270M: transformers 5.8.1's Gemma3TextConfig.convert_rope_params_to_dict, identical to 5.6.0's, gives
    #    full_attention {rope_type default, rope_theta}) starts with a default table, a linear one keeps its factor;
    #    the buffer is inv_freq, head_dim / 2 floats, either way (Gemma3RotaryEmbedding lines 403-440 identical):
    #    "gemma3_factor_needed" False. The rest identical (base.py RotaryEmbedding.__init__ lines 78-134, only
    #    forward_npu differs; rope_variant.py, factory.py identical; mrope.py only forward_xpu; Gemma3Attention lines
    #    115-232 a rename; qwen3_vl.py get_rope lines 359-365).
    #    0.5.15 and 0.5.15.post1 the same (gemma3_causal.py identical; base.py RotaryEmbedding.__init__ lines 78-135: a
    #    torch.compile flag on NPU; factory.py get_rope, rope_variant.py, MRotaryEmbedding.__init__ identical; transformers
    #    5.12.1's Gemma3TextConfig and Qwen3-VL vision depth as 5.8.1's)
    #    0.5.16 and 0.5.17 the same sizes (base.py RotaryEmbedding.__init__ 0.5.16 lines 79-136: float32 on CUDA, + XPU
    #    and SGLANG_ROPE_CACHE_FP32; factory.py get_rope lines 63-349 passes mscale / mscale_all_dim to YaRN, values not
    #    sizes; mrope.py a rename; gemma3_causal.py Gemma3TextModel.__init__ / Gemma3RotaryEmbedding identical;
    #    qwen3_vl.py vision get_rope line 363, 0.5.17 line 366)
    #    0.5.18 the same (base.py RotaryEmbedding.__init__ lines 81-138 and _compute_cos_sin_cache lines 171-180
    #    identical; factory.py get_rope lines 95-382 drops a dead cached module, _get_live_rope_cache_entry lines 63-92,
    #    the live entry shared as before; mrope.py forward-time only; gemma3_causal.py Gemma3TextModel.__init__ lines
    #    556-621 and Gemma3RotaryEmbedding lines 420-447 identical; qwen3_vl.py's mrope off only under
    #    language-model-only)
    Rule("rope_table", "0.5.14", "0.5.18", {"hip_fp32": False, "deepseek_totals": False, "gemma3_get_rope": True,
                                            "qwen3_vl_get_rope": True, "mrope_axis_map": False,
                                            "gemma3_factor_needed": False},
         "python/sglang/srt/layers/rotary_embedding/ (0.5.14) base.py RotaryEmbedding.__init__ lines 78-134, "
         "rope_variant.py DeepseekScalingRotaryEmbedding._compute_cos_sin_cache lines 405-420 (totals under _is_npu), "
         "factory.py get_rope lines 63-342; models/gemma3_causal.py Gemma3Attention lines 115-232, "
         "Gemma3RotaryEmbedding lines 403-440, Gemma3TextModel.__init__ lines 578-583 (the global table from "
         "rope_parameters['full_attention']); models/qwen3_vl.py get_rope lines 359-365"),
    #    0.5.19: MRotaryEmbedding.__init__ (rotary_embedding/mrope.py lines 57-105) registers axis_map whenever the
    #    config has an mrope_section (_build_axis_map lines 107-132: rotary_dim / 2 int64 lanes; 0.5.18 only for GLM's
    #    interleaved layout): "mrope_axis_map" True, both functions identical to 0.5.22's (mrope.py lines 63-111,
    #    113-138). RotaryEmbedding.__init__ (base.py lines 81-142) keeps float32 on CUDA, not yet on HIP ("hip_fp32"
    #    False); Gemma3TextModel.__init__ (gemma3_causal.py lines 552-617) identical; Qwen3-VL's vision tower
    #    (Qwen3VLMoeVisionModel.__init__ qwen3_vl.py lines 347-462) identical.
    #    0.5.20 the same (rotary_embedding/base.py RotaryEmbedding.__init__ lines 89-150 and _compute_cos_sin_cache
    #    lines 181-190, mrope.py MRotaryEmbedding.__init__ lines 60-108 and _build_axis_map lines 110-135, factory.py
    #    get_rope lines 109-396, gemma3_causal.py Gemma3TextModel.__init__ lines 556-621, qwen3_vl.py
    #    Qwen3VLMoeVisionModel.__init__ lines 349-464: identical to 0.5.19's; the table stays float32 on CUDA only,
    #    'hip_fp32' False)
    #    0.5.21 the same sizes (base.py RotaryEmbedding.__init__ lines 89-152: + position_start, default 0, the table
    #    still float32 on CUDA only, 'hip_fp32' False; _compute_cos_sin_cache lines 183-196 the same row count; mrope.py
    #    identical; factory.py get_rope lines 125-440 = 0.5.22's: video_rope configs take BailingMRotaryEmbedding;
    #    gemma3_causal.py identical; qwen3_vl.py vision lines 355-476 a merger option only)
    Rule("rope_table", "0.5.19", "0.5.21", {"hip_fp32": False, "deepseek_totals": False, "gemma3_get_rope": True,
                                            "qwen3_vl_get_rope": True, "mrope_axis_map": True,
                                            "gemma3_factor_needed": False},
         "sglang/srt/layers/rotary_embedding/ (0.5.19) base.py RotaryEmbedding.__init__ lines 81-142, mrope.py "
         "MRotaryEmbedding.__init__ lines 57-105 and _build_axis_map lines 107-132; models/gemma3_causal.py "
         "Gemma3TextModel.__init__ lines 552-617; models/qwen3_vl.py Qwen3VLMoeVisionModel.__init__ lines 347-462"),
    Rule("rope_table", "0.5.22", "0.5.23", {"hip_fp32": True, "deepseek_totals": False, "gemma3_get_rope": True,
                                            "qwen3_vl_get_rope": True, "mrope_axis_map": True},
         "sglang/srt/layers/rotary_embedding/base.py RotaryEmbedding.__init__ (0.5.22 lines 112-117 / 143, 0.5.23 "
         "115-120 / 154), rope_variant.py DeepseekScalingRotaryEmbedding._compute_cos_sin_cache lines 406-421 "
         "(totals under _is_npu), factory.py get_rope key lines 158-170 / 439; models/gemma3_causal.py "
         "Gemma3Attention lines 196-225, Gemma3RotaryEmbedding lines 442, 595, 603; models/qwen3_vl.py "
         "Qwen3VLMoeVisionModel get_rope lines 420-427; rotary_embedding/mrope.py MRotaryEmbedding axis_map "
         "lines 109 / 113-138"),
    # -- which ROPE_GROUP_A model files pass config.rope_scaling to get_rope (the others build a
    #    plain table of max_position rows whatever the config scales): Olmo2 from 0.5.4.
    Rule("rope_scaling_passed", "0.4.6", "0.5.2", _ROPE_SCALING_A,
         "python/sglang/srt/models/olmo2.py Olmo2Attention get_rope lines 108-113 (no rope_scaling); qwen2_moe.py "
         "0.4.6 lines 221-227, olmoe.py 159-166, internlm2.py 135-141, commandr.py 193-200, qwen.py 122-128"),
    #    0.5.9 the same files (olmo2.py, qwen2_moe.py, orion.py, commandr.py, olmoe.py, internlm2.py,
    #    qwen.py: get_rope calls as 0.5.8's)
    #    0.5.10 the same get_rope calls in every ROPE_GROUP_A file (their rope_scaling now from
    #    get_rope_config / rope_parameters, the same dict under transformers 5; stablelm.py reads the theta
    #    from rope_parameters)
    #    0.5.11 the same get_rope calls in every ROPE_GROUP_A file (an AST compare of every models/ file's
    #    get_rope / rope calls: only qwen3.py differs, a rope_theta / rope_scaling fallback without rope_parameters)
    #    0.5.12 the same get_rope calls in every ROPE_GROUP_A file (the AST compare of every models/ file's rope
    #    calls finds only gemma3_causal.py's model-level table changed, rule rope_table)
    #    0.5.13 the same (the compare finds deepseek_v4.py, dflash.py, gemma4_causal.py, glm4_moe_lite.py's fp32
    #    weight buffer set to None, lfm2.py / lfm2_moe.py's rope_scaling fallback, llama.py's NPU split_qkv_rmsnorm_rope,
    #    qwen3_5.py, qwen3_next.py, sarvam_moe.py: none a table kvplan sizes for a model it plans)
    #    0.5.14 the same (the compare finds baichuan.py's ALiBi device on XPU, deepseek_v4.py, gemma3_causal.py's
    #    global table (rule rope_table), gemma3n_causal.py's rope_parameters reads, lightonocr.py, qwen3_5.py: none a
    #    table kvplan sizes for a model it plans)
    #    0.5.15 the same (the compare finds mimo_vl.py, moss_vl.py, qwen2_5_vl.py's forward-time vision rotary calls
    #    and qwen3_5.py's fused kernel: no table kvplan sizes)
    #    0.5.16 and 0.5.17 the same (the rope calls differ only by renames: bailing_moe_linear.py, deepseek_v2.py,
    #    deepseek_v4.py, qwen3_moe.py, mellum.py, minimax_m2.py, llada2.py (NPU), kimi_k25.py / kimi_vl.py vision)
    #    0.5.18 the same (the compare finds olmo2.py / ernie45_moe_vl.py reading rope_theta through get_rope_config, the
    #    same value, and DeepSeek-V4 / DSpark / dflash / minimax_m3 / qwen3_5 / qwen3_vl changes: no ROPE_GROUP_A call)
    #    0.5.19 the same (granite.py / granitemoe.py take rope_theta per layer, the same value for non-SWA configs;
    #    qwen2_5_vl.py's own vision rotary class; glm4_moe.py's None buffer dropped)
    #    0.5.20 the same (models/olmo2.py Olmo2Attention.__init__ lines 70-164, identical)
    #    0.5.21 the same (olmo2.py Olmo2Attention.__init__ lines 70-164, identical)
    Rule("rope_scaling_passed", "0.5.4", "0.5.23", _ROPE_SCALING_A | {"Olmo2ForCausalLM"},
         "python/sglang/srt/models/olmo2.py Olmo2Attention rope_scaling lines 118-135 (0.5.4), 124-141 (0.5.8), "
         "127-144 (0.5.23); qwen2_moe.py 0.5.8 lines 398-405, orion.py 126-132, commandr.py 0.5.23 194-201"),
    # -- Baichuan's ALiBi layers (hidden_size != 4096) keep their rank's slopes as a tensor on the
    #    GPU in 0.5.9 and from 0.5.22 (a list before): SGLang.alibi_slopes_bytes.
    Rule("alibi_slopes_tensor", "0.4.6", "0.5.8", False,
         "python/sglang/srt/models/baichuan.py BaiChuanAttention lines 166-172 (alibi_slopes.tolist())"),
    #    0.5.10 the same (baichuan.py BaiChuanAttention lines 189-192)
    #    0.5.11 the same (baichuan.py BaiChuanAttention lines 189-192, unchanged)
    #    0.5.12 the same (baichuan.py BaiChuanAttention lines 193-196)
    #    0.5.13 and 0.5.13.post1 the same (baichuan.py BaiChuanAttention lines 193-196, identical)
    #    0.5.14 the same on CUDA (baichuan.py BaiChuanAttention lines 191-197: 'xpu' on XPU, else 'cuda')
    #    0.5.15 and 0.5.15.post1 the same (BaiChuanAttention identical)
    #    0.5.16 and 0.5.17 the same (baichuan.py identical)
    #    0.5.18 and 0.5.19 the same (baichuan.py identical: the slopes tensor line 193)
    #    0.5.20 the same (models/baichuan.py BaiChuanAttention.__init__ lines 122-206, identical)
    #    0.5.21 the same (baichuan.py BaiChuanAttention.__init__ lines 122-206, identical)
    Rule("alibi_slopes_tensor", "0.5.9", "0.5.21", True,
         "python/sglang/srt/models/baichuan.py (0.5.9) BaiChuanAttention lines 183-192 (torch.tensor(..., "
         "dtype=torch.bfloat16 default line 130, device cuda))"),
    Rule("alibi_slopes_tensor", "0.5.22", "0.5.23", True,
         "sglang/srt/models/baichuan.py BaiChuanAttention lines 184-195 (torch.tensor(..., dtype=torch.bfloat16 "
         "default line 131, device cuda))"),
    # -- whether Llama4ForConditionalGeneration builds its vision tower and projector (True): their
    #    weights (SGLang.loaded_spec drops them where not) and the tower's Llama4VisionRotaryEmbedding
    #    keeps freqs_ci, (image_size / patch_size)^2 + 1 rows x (vision hidden_size / num_attention_heads / 2)
    #    complex64, made in __init__ on the GPU (0.5.8 mllama4.py lines 297-322): sized by the vision
    #    head count, which the spec's llama4 tower does not record, so refused where the tower is built
    #    (True). 0.4.6 / 0.4.9 build transformers' Llama4VisionModel always (mllama4.py 0.4.6 line 38,
    #    0.4.9 line 40; transformers 4.51.1 modeling_llama4.py Llama4VisionRotaryEmbedding lines
    #    1433-1448); from 0.4.10 only when has_vision = the checkpoint's vision weights and
    #    enable_multimodal, which model_config.py turns off for Llama4ForConditionalGeneration
    #    (mm_disabled_models) unless --enable-multimodal, an option kvplan does not take.
    Rule("llama4_vision_tower", "0.4.6", "0.4.9", True,
         "python/sglang/srt/models/mllama4.py Llama4ForConditionalGeneration.__init__ (0.4.6 line 38, 0.4.9 line "
         "40: Llama4VisionModel(config.vision_config) from transformers)"),
    #    0.5.9 mllama4.py and model_config.py mm_disabled_models (lines 144-149) as 0.5.8's
    #    0.5.10 mllama4.py has_vision lines 439-447 and mm_disabled_models as 0.5.9's
    #    0.5.11 mllama4.py has_vision lines 439-447 and mm_disabled_models (model_config.py lines 186-190) as 0.5.10's
    #    0.5.12 mllama4.py has_vision lines 439-447 and mm_disabled_models (model_config.py lines 219-223) as 0.5.11's
    #    0.5.13 mllama4.py Llama4ForConditionalGeneration.__init__ identical, mm_disabled_models lines 219-223 as 0.5.12's
    #    0.5.14 mllama4.py identical, mm_disabled_models (model_config.py lines 293-297) as 0.5.13's
    #    0.5.15 mllama4.py Llama4ForConditionalGeneration.__init__ as 0.5.14's (only vision-encoder layers differ),
    #    mm_disabled_models lines 293-297 identical
    #    0.5.16 and 0.5.17 the same (mllama4.py Llama4ForConditionalGeneration.__init__ renames)
    #    0.5.18 and 0.5.19 the same (mllama4.py identical)
    #    0.5.20 the same (models/mllama4.py Llama4ForConditionalGeneration.__init__ lines 454-510, identical;
    #    configs/model_config.py mm_disabled_models lines 485-490)
    #    0.5.21 the same (mllama4.py Llama4ForConditionalGeneration.__init__ lines 455-511, identical)
    Rule("llama4_vision_tower", "0.4.10", "0.5.23", False,
         "python/sglang/srt/models/mllama4.py Llama4ForConditionalGeneration.__init__ has_vision (0.4.10 lines 66-71, "
         "0.5.1 = 0.5.2 444-449, 0.5.4 450-466, 0.5.6 = 0.5.8 447-463, 0.5.22 = 0.5.23 468-482); configs/model_config.py "
         "mm_disabled_models (0.4.10 lines 111-117, 0.5.8 142-149, 0.5.22 601-612)"),
)
BOOK = RuleBook("sglang", RELEASES, RULES)

#: The architectures whose post_load_weights kvplan read for a quantized kv_b_proj
#: (models/deepseek_v2.py DeepseekV2ForCausalLM, DeepseekV3ForCausalLM its subclass; from 0.5.8
#: models/deepseek_common/deepseek_weight_loader.py): SGLang.mla_copy_for.
_MLA_COPY_READ = frozenset({"DeepseekV2ForCausalLM", "DeepseekV3ForCausalLM"})


def _block_scale_bytes(mla, heads: int) -> int:
    """0.4.6 DeepGEMM's w_scale_k / w_scale_v of one MLA layer on a rank of ``heads`` heads: the
    float32 scales of 128 x 128 tiles, heads x kv_lora / 128 of each head's key and value parts."""
    return 4 * heads * -(-mla.kv_lora_rank // 128) * (mla.qk_nope_head_dim // 128 + mla.v_head_dim // 128)


@dataclass(frozen=True)
class MLACopy:
    """How SGLang's post_load_weights holds w_kc / w_vc (SGLang.mla_copy_for): ``element``
    bytes a value; ``fresh``: built from a tensor post_load_weights made (or whose storage
    kv_b_proj drops afterwards), which a one-head view keeps whole; ``scale``: "none",
    "tensor" (one 4-byte w_scale a layer) or "block" (0.4.6 DeepGEMM's w_scale_k / w_scale_v)."""

    element: int
    fresh: bool
    scale: str = "none"


@dataclass(frozen=True)
class SGLang(Engine):
    release: Release

    family = "sglang"
    long_context_env = "SGLANG_ALLOW_OVERWRITE_LONGER_CONTEXT_LEN"
    dp_attention_flag = True
    book = BOOK
    vendors = frozenset({"nvidia", "amd"})
    # dense tp splits asserted: vllm/model_executor/layers/linear.py divide(), SGLang's linear.py alike
    tp_split_rule = "vLLM and SGLang"
    fraction_name = "mem_fraction_static"

    @property
    def default_block_size(self) -> int:  # type: ignore[override]
        return self.rule("page_size")

    @property
    def description(self) -> str:
        return (f"SGLang {self.release}: mem_fraction_static of the free memory minus weights; token pool (page 1 "
                f"unless --page-size, the backend or the model sets one)")

    def rule(self, name: str):
        return BOOK.value(name, self.release)

    @property
    def request_cap(self) -> RequestCap:  # type: ignore[override]
        return self.rule("request_cap")

    @property
    def pipeline_parallel(self) -> bool:  # type: ignore[override]
        return self.rule("pipeline_parallel")

    @property
    def pipeline_parallel_source(self) -> str:  # type: ignore[override]
        return BOOK.rule("pipeline_parallel", self.release).source

    def rules(self):
        return BOOK.table(self.release)

    def kv_formats(self) -> tuple[str, ...]:
        return self.rule("kv_cache_dtypes")

    def check_model(self, spec) -> None:
        """Engine.check_model, then Llama 4 where this release asserts an --attention-backend
        that it does not pick itself (rule ``llama4_backend_asserted``), a model this release
        serves as multimodal where kvplan does not follow what that reserves (rule
        ``multimodal_unmodelled``), and an architecture whose own attention-backend choice kvplan
        has not read (rule ``own_backend_unread``)."""
        super().check_model(spec)
        arch = getattr(spec, "architecture", "") or ""
        unread = self.rule("own_backend_unread").get(arch)
        if unread is not None:
            where = unread if "/" in unread else f"arg_groups/model_overrides/{unread}"
            raise BadInputError(f"{self.name} picks {spec.name}'s attention backend, and with it the page size or the "
                                f"KV cache dtype, by its own rules for {arch} ({where}), which kvplan has not read; "
                                f"use another release or --engine raw for memory alone")
        rule = BOOK.rule("llama4_backend_asserted", self.release)
        if rule.value and "Llama4" in arch:
            raise BadInputError(f"{self.name} does not start {spec.name} ({arch}) without --attention-backend "
                                f"{' / '.join(rule.value)} ({rule.source}), an option kvplan does not take; use "
                                f"--engine sglang==0.5.6 or later, which picks it")

    def check_gpu(self, gpu: GPU) -> None:
        """A GPU below the compute capability SGLang starts on (rule ``min_capability``: 7.5) is
        refused; a GPU without a known compute capability (AMD, --gpu-mem) is not checked."""
        rule = BOOK.rule("min_capability", self.release)
        cc, (a, b) = gpu.compute_capability, rule.value
        if cc is not None and cc < rule.value:
            raise BadInputError(f"{self.name} does not start on {gpu.display_name or gpu.name} (compute capability "
                                f"{cc[0]}.{cc[1]}): it needs {a}.{b} ({rule.source}); use another GPU")

    def default_backend(self, spec, gpu: GPU) -> str | None:
        """The attention backend this release picks by default for ``spec`` on ``gpu`` where kvplan
        has read it: "nsa" for DeepSeek sparse attention (rule ``dsa``), else the first row of rule
        ``mla_backend_default`` (models with MLA) or ``mha_backend_default`` that covers the GPU's
        compute capability and the model's architecture ("fa3", "flashinfer", "trtllm_mla",
        "trtllm_mha"); None where no row does (FlashInfer / triton / aiter fallbacks, an
        architecture with its own choice, a GPU without a known compute capability)."""
        if _sparse(spec):
            return "nsa" if self.rule("dsa") is not None else None
        cc = gpu.compute_capability
        if cc is None:
            return None
        return next((backend for lo, below, backend in self._rows(spec) if lo <= cc < below), None)

    def _rows(self, spec) -> tuple[tuple[tuple[int, int], tuple[int, int], str], ...]:
        """(lowest capability, below, backend) of the default-backend rows that apply to ``spec``'s
        architecture, in SGLang's order."""
        rule = self.rule("mla_backend_default" if spec.has_mla else "mha_backend_default")
        arch = getattr(spec, "architecture", "") or ""
        if arch in rule.get("own", ()):
            return ()
        # 0.5.23: fa4 where trtllm_mha cannot run K and V rows of different widths
        swap = rule.get("asymmetric_kv") if (spec.v_head_dim or spec.head_dim) != spec.head_dim else None
        return tuple((lo, below, swap if swap and backend == "trtllm_mha" and archs is None else backend)
                     for lo, below, backend, archs in rule["rows"] if archs is None or arch in archs)

    def check_kv_format(self, fmt, model_dtype: str) -> None:
        """Engine.check_kv_format, then a --kv-cache-dtype this release has but kvplan does not plan
        (rule ``kv_dtypes_unmodelled``: 0.5.23's nvfp4)."""
        super().check_kv_format(fmt, model_dtype)
        why = self.rule("kv_dtypes_unmodelled").get(fmt.name)
        if why is not None:
            raise BadInputError(f"{self.name} --kv-cache-dtype {fmt.name}: {why}; use another --kv-dtype or "
                                f"--engine raw for the bytes alone")

    def check_kv_on_gpu(self, fmt, spec, gpu: GPU) -> None:
        """An fp8 KV cache the attention backend this release picks by default on ``gpu`` does
        not start (rule ``fp8_kv_start``: fp8_e5m2 on trtllm_mla), or where kvplan cannot tell
        (fp8_e5m2 on trtllm_mha), is refused; so is DeepSeek sparse attention where SGLang runs
        what kvplan does not plan (rule ``dsa``: DP attention over every GPU in 0.5.4; an fp8_e4m3
        cache on compute capability 10.x; a --kv-cache-dtype it asserts against). Backends kvplan
        has not read (FlashInfer, triton, aiter) are not checked."""
        backend = self.default_backend(spec, gpu)
        if backend == "nsa":
            self._check_dsa(fmt, spec, gpu)
            return
        verdict = self.rule("fp8_kv_start").get(backend, {}).get(fmt.name)
        if verdict is not None:
            self._refuse_unless_starts(*verdict, gpu, f"{spec.name} on its default {backend} attention backend",
                                       fmt.name)

    def _check_dsa(self, fmt, spec, gpu: GPU) -> None:
        rule = BOOK.rule("dsa", self.release)
        dsa: DSA = rule.value
        where = f"{self.name} on {gpu.display_name or gpu.name}"
        if dsa.dp_attention_tp:
            raise BadInputError(f"{self.name} runs {spec.name}'s DeepSeek sparse attention with DP attention over "
                                f"every GPU (dp_size = tp_size: each GPU a token pool of its own requests), which "
                                f"kvplan does not model ({rule.source}); use --engine sglang==0.5.6 or later")
        cc = gpu.compute_capability
        if dsa.fp8_scaled_below and fmt.name == "fp8_e4m3" and (cc is None or cc[0] < dsa.fp8_scaled_below):
            raise BadInputError(f"{where}: below compute capability {dsa.fp8_scaled_below}.0 (or where kvplan does not "
                                f"know it) SGLang stores {spec.name}'s fp8_e4m3 DeepSeek sparse attention latent with "
                                f"per-block scales and a bf16 rope (512 + 4 x 4 + 64 x 2 = 656 B; flashmla_kv), which "
                                f"kvplan's fp8_e4m3 (576 B) does not plan ({rule.source}); use --kv-dtype bf16 or a "
                                f"compute capability 10.x GPU")
        if cc is not None and cc[0] >= 10 and fmt.name != "fp8_e4m3":
            asked = ("whatever --kv-cache-dtype says" if dsa.fp8_on_sm100 == "always" else
                     "for --kv-cache-dtype auto, which kvplan cannot tell from an explicit bf16")
            raise BadInputError(f"{where} stores {spec.name}'s DeepSeek sparse attention cache as fp8_e4m3 on "
                                f"compute capability {cc[0]}.{cc[1]} {asked} ({rule.source}); give --kv-dtype fp8_e4m3")
        if dsa.formats is not None and fmt.name not in dsa.formats and fmt.name != "fp16":  # auto: bfloat16
            self._refuse_unless_starts("fails", f"{_ARGS} asserts 'DeepSeek NSA only supports bf16/bfloat16 or "
                                                f"fp8_e4m3 kv_cache_dtype'", gpu,
                                       f"{spec.name}'s DeepSeek sparse attention", fmt.name)

    def model_block_size(self, spec, gpu: GPU, fmt, requested: int | None, block_size: int) -> int:
        """The page size this release runs ``spec`` at on ``gpu``: ``block_size`` (--page-size, else
        1) unless SGLang sets another. It does for DeepSeek sparse attention (rule ``dsa``: 64, 1 on
        ROCm in 0.5.8, whatever --page-size says) and for the default backends that run only some
        pages (rule ``backend_page_size``: trtllm_mha keeps 16, 32 or 64, trtllm_mla 32 or 64,
        else 64 with a warning, not an error). Where the backend, and so the page, depends on a
        compute capability kvplan does not know, BadInputError says so rather than guessing."""
        return self._page(spec, gpu, requested, block_size)[0]

    def block_size_note(self, spec, gpu: GPU, fmt, requested: int | None, block_size: int) -> str | None:
        """Why the page is not ``block_size`` (the --page-size, else 1): the line kvplan adds to
        its notes; None when SGLang runs ``block_size``."""
        return self._page(spec, gpu, requested, block_size)[1]

    def kv_alloc_note(self, spec, fmt) -> str | None:
        """Rule ``dsa_fp8_alloc_bytes``: 0.5.4-0.5.8 size a DeepSeek sparse attention pool in
        fp8_e4m3 at 576 B a latent token and layer (kv_lora_rank + rope, one byte each: the
        profile's cell size) but allocate 656 (512 fp8 + 4 fp32 scales + 64 bf16 rope): SGLang's
        own token count, 80 B a token and layer more memory than it planned, out of what
        mem_fraction_static leaves for activations. DeepSeek-V3.2 (61 layers): 4,880 B a token."""
        value = self.rule("dsa_fp8_alloc_bytes")
        if not value or fmt.name != "fp8_e4m3" or not _sparse(spec):
            return None
        from kvplan.layers import MLAIndexed

        layers = sum(1 for k in spec.layers if isinstance(k, MLAIndexed))
        mla = spec.mla
        planned = mla.kv_lora_rank + mla.qk_rope_head_dim
        extra = value - planned
        rule = BOOK.rule("dsa_fp8_alloc_bytes", self.release)
        return (f"{self.name} sizes {spec.name}'s fp8_e4m3 DeepSeek sparse attention pool at {planned} B a latent "
                f"token and layer but allocates {value} ({rule.source}): the token count is SGLang's, and the pool "
                f"takes {extra} x {layers} = {extra * layers:,} B a token more than the KV pool shown, out of the "
                f"memory mem_fraction_static leaves beside it")

    def check_page(self, spec, gpu: GPU, page: int, tp: int) -> None:
        """Rule ``trtllm_mha_large_page``: from 0.5.23 trtllm_mha serves pages of 128 or more on
        sm100 only through trtllm-gen's dynamic tokens-per-page kernels, and refuses at start-up
        (ValueError) a model whose ranks have one query head per KV head or fewer, K and V rows of
        different widths, or a page that is not a power of 2. Llama-2-7B (32 query, 32 KV heads)
        on a B200 with --page-size 128: refused; Llama-3.1-8B (32 / 8): 4 query heads a KV head,
        runs."""
        rule = BOOK.rule("trtllm_mha_large_page", self.release)
        if not rule.value or page < rule.value or self.default_backend(spec, gpu) != "trtllm_mha":
            return
        cc = gpu.compute_capability
        if cc is None or cc[0] != 10:  # the XQA path (sm90, sm120) has native page-128 kernels
            return
        full = [k for k in spec.layers if k.kind in ("full_attention", "sliding_window", "chunked_local")]
        if not full:
            return
        q = spec.num_attention_heads // tp
        kv = max(1, full[0].kv_heads // tp)
        widths = {(k.head_dim, k.v_head_dim) for k in full}
        if q // kv <= 1 or any(d != v for d, v in widths) or page & (page - 1):
            raise BadInputError(f"{self.name} on {gpu.display_name or gpu.name}: trtllm_mha with pages of {page:,} "
                                f"runs only GQA models (more than one query head a KV head a rank; {spec.name} has "
                                f"{q} / {kv} at tp {tp}) with equal K and V widths and a power-of-2 page, and "
                                f"refuses to start otherwise ({rule.source}); give --block-size 64")

    def _page(self, spec, gpu: GPU, requested: int | None, block_size: int) -> tuple[int, str | None]:
        asked = f"--page-size {requested}" if requested is not None else f"the default page size {block_size}"
        if _sparse(spec):
            rule = BOOK.rule("dsa", self.release)
            if rule.value is None:
                return block_size, None  # no DeepseekV32ForCausalLM: check_model refuses the model
            amd = rule.value.page_amd
            if amd is None and gpu.vendor != "nvidia":
                raise BadInputError(f"{self.name} on {gpu.display_name or gpu.name}: on ROCm SGLang pages DeepSeek "
                                    f"sparse attention by 1 or by {rule.value.page_nvidia} tokens as aiter's preshuffle "
                                    f"paged-MQA kernel is there or not (its Triton version and environment), which "
                                    f"kvplan cannot know ({rule.source}); plan it on an NVIDIA GPU or another release")
            page = amd if gpu.vendor == "amd" else rule.value.page_nvidia
            if not gpu.vendor and amd != page:
                raise BadInputError(f"{self.name} on {gpu.display_name or gpu.name}: SGLang pages DeepSeek sparse "
                                    f"attention by {page} tokens on NVIDIA GPUs and by {amd} on AMD ones "
                                    f"({rule.source}); name the GPU with --gpu (see `kvplan gpus`)")
            why = f"{self.name} sets page_size {page} for DeepSeek sparse attention, not {asked} ({rule.source})"
            return page, why if page != block_size else None
        forcing = self.rule("backend_page_size")
        rule = BOOK.rule("backend_page_size", self.release)

        def run(backend: str | None) -> int:
            kept, forced, _ = forcing.get(backend, (None, None, None))
            return block_size if kept is None or requested in kept else forced

        cc = gpu.compute_capability
        if cc is None and gpu.vendor != "amd":  # AMD: aiter / triton, which keep the page
            backends = [None] + [backend for _, _, backend in self._rows(spec)]
            outcomes = {run(backend) for backend in backends}
            if len(outcomes) > 1:
                raise BadInputError(
                    f"{self.name} on {gpu.display_name or gpu.name}: SGLang picks {spec.name}'s attention backend, and "
                    f"with it the page size ({', '.join(sorted(map(str, outcomes)))} here), by the GPU's compute "
                    f"capability, which kvplan does not know for this GPU; name it with --gpu (see `kvplan gpus`)"
                    + (f", or give a --block-size every such backend keeps ({', '.join(map(str, sorted(keep)))})"
                       if (keep := _kept_by_all(forcing, backends)) else ""))
            return outcomes.pop(), None
        backend = self.default_backend(spec, gpu)
        page = run(backend)
        if page == block_size:
            return page, None
        kept, _, lines = forcing[backend]
        return page, (f"{self.name} runs {spec.name} on compute capability {cc[0]}.{cc[1]} on its default "
                      f"{backend} attention backend, which takes pages of {'/'.join(map(str, kept))} tokens: SGLang "
                      f"changes {asked} to {page} with a warning ({rule.source} lines {lines})")

    def check_weights(self, weights: str, gpu: GPU) -> None:
        """A weight format whose quantization method needs a newer GPU than ``gpu`` (rule
        ``weights_min_capability``: fp8 and mxfp4 from compute capability 8.0), or that this
        release has no method for (mxfp4 before 0.5.1), is refused. A GPU without a known
        compute capability (AMD, --gpu-mem) is not checked."""
        rule = BOOK.rule("weights_min_capability", self.release)
        refuse_weights_below(self.name, rule.value, weights, gpu, rule.source, "SGLang has it from 0.5.1")

    def serving_spec(self, spec):
        """Sliding-window and chunked-local layers of an architecture whose SGLang model class
        applies no window (rule ``sliding_window_archs``: Mistral-7B-v0.1 and Phi-3 run as
        LlamaForCausalLM) attend to and keep the whole context: they become full attention,
        for memory and for speed. A spec with such layers that names no architecture is refused."""
        if not spec.has_window_layers:
            return spec
        arch = getattr(spec, "architecture", "") or ""
        if not arch:
            raise BadInputError(f"{self.name}: {spec.name} has sliding-window or chunked-local layers and names no "
                                f"architecture; SGLang applies windows only in {', '.join(self.rule('sliding_window_archs'))} "
                                f"(python/sglang/srt/models/): add `architecture:` to the spec")
        if arch in self.rule("sliding_window_archs"):
            return spec
        return _full_windows(spec)

    def pooled_spec(self, spec):
        """One token pool: a window layer holds every token like a full one (kvplan.paging's sglang
        paging does the same to the pool)."""
        return _full_windows(spec)

    def serving_spec_note(self, spec) -> str | None:
        if self.serving_spec(spec) is spec:
            return None
        return (f"{self.name} runs {spec.name} ({spec.architecture}) with no sliding window: its model class passes "
                f"none to the attention, so every layer attends to and keeps the whole context (SGLang applies "
                f"windows in {', '.join(self.rule('sliding_window_archs'))}: python/sglang/srt/models/)")

    def check_kv_pool(self, spec, gpu: GPU, disable_hybrid: bool | None) -> None:
        """SGLang keeps one token pool (MHATokenToKVPool) in which a slot holds every layer, windows
        or not (kvplan.paging sglang_paging), except where a release gives the window layers a pool
        of their own (SWAKVPool, rule ``swa_pool_archs``: 0.5.8's Llama 4, GptOss off trtllm_mha,
        MiMo-V2-Flash), sized by --swa-full-tokens-ratio, which kvplan does not model: refused, but
        with --disable-hybrid-kv-cache-manager (SGLang's --disable-hybrid-swa-memory)."""
        states = sorted({k.kind for k in spec.layers if k.kind in ("state_space", "attention_with_state")})
        if states:
            raise BadInputError(f"{self.name}: {spec.name} has state-space layers (Mamba / linear attention); SGLang "
                                f"keeps their states in a pool of its own beside the token pool (MambaPool: "
                                f"--max-mamba-cache-size and, from 0.5.8, --mamba-full-memory-ratio split the memory; "
                                f"model_runner.py init_memory_pool), which kvplan does not model; use --engine vllm")
        if disable_hybrid or not spec.has_window_layers:
            return
        arch = getattr(spec, "architecture", "") or ""
        kept = self.rule("swa_pool_archs").get(arch)
        if kept is None or self.default_backend(spec, gpu) in kept:
            return
        rule = BOOK.rule("swa_pool_archs", self.release)
        raise BadInputError(f"{self.name} gives {spec.name}'s window layers a pool of their own (SWAKVPool, sized by "
                            f"--swa-full-tokens-ratio; {rule.source}), which kvplan does not model; plan the "
                            f"deployment with SGLang's --disable-hybrid-swa-memory (one pool; kvplan's "
                            f"--disable-hybrid-kv-cache-manager, disable_hybrid_kv_cache_manager in a plan) or "
                            f"another release or engine")

    def default_max_num_seqs(self, pool_tokens: int, profiled_tokens: int, context_len: int) -> int | None:
        """max_running_requests without --max-running-requests (every modelled release). SGLang
        sizes its request pool (ReqToTokenPool) from the tokens its memory holds before the
        rounding to pages, min(max(int(tokens / context_len x 512), 2048), 4096) requests (0.4.6:
        one more, rule ``request_pool_extra``), then rounds max_total_num_tokens down to whole
        pages and runs min(that // 2, the request pool's size) (model_executor/model_runner.py
        init_memory_pool: max_num_reqs before 'max_total_num_tokens // page_size * page_size', 0.5.8
        model_runner_kv_cache_mixin.py lines 257-311; the min in managers/tp_worker.py up to 0.5.6,
        model_runner.py line 558 in 0.5.8). Float arithmetic as SGLang's. With pipeline stages each
        rank sizes its own request pool: kvplan takes the stage with the fewest tokens. 0.5.23 (rule
        ``running_requests`` "aligned") estimates from the pool in whole pages."""
        if pool_tokens <= 0:
            return None
        tokens = pool_tokens if self.rule("running_requests")["aligned"] else profiled_tokens
        reqs = min(max(int(tokens / context_len * 512), 2048), 4096) + self.rule("request_pool_extra")
        return max(1, min(pool_tokens // 2, reqs))

    def given_max_num_seqs(self, max_num_seqs: int, pool_tokens: int, context_len: int | None = None) -> int:
        """A --max-running-requests already divided among the DP-attention ranks (``settings``):
        0.5.14-0.5.23 also cap it at half the pool's tokens (rule ``running_requests``
        "given_capped": mem_cache/kv_cache_configurator.py resolve_max_num_reqs, min(requested_per_worker,
        token_capacity // 2); 0.5.14 model_runner_kv_cache_mixin.py _resolve_max_num_reqs lines 988-994);
        0.5.10-0.5.13.post1 at their request-pool estimate min(max(int(tokens / context_len x
        512), 2048), 4096) from the pool in whole pages ("given_capped" "estimate":
        model_executor/model_runner_kv_cache_mixin.py _resolve_max_num_reqs lines 840-859); earlier
        releases run it as given."""
        capped = self.rule("running_requests")["given_capped"]
        if capped == "estimate" and pool_tokens > 0:
            if context_len is None:
                raise BadInputError(f"{self.name} caps --max-running-requests by the model's context length "
                                    f"(_resolve_max_num_reqs); give the model")
            return min(max_num_seqs, min(max(int(pool_tokens / context_len * 512), 2048), 4096))
        if capped and pool_tokens > 0:
            return max(1, min(max_num_seqs, pool_tokens // 2))
        return max_num_seqs

    def request_table_check(self, max_num_seqs: int, context_len: int, stages) -> str | None:
        """Releases that cap a given --max-running-requests only at half the pool's tokens (rule
        ``running_requests`` "given_capped" True: 0.5.14-0.5.23) then allocate
        ReqToTokenPool's int32 table of (R + 1) rows x (context_len + 4) on the GPU outside the
        static pool (0.5.14 mem_cache/memory_pool.py ReqToTokenPool.__init__ lines 229-255: a padding
        row, ``torch.zeros((size + 1, max_context_len), dtype=torch.int32)``;
        model_runner_kv_cache_mixin.py _init_pools lines 333-419 with max_context_len = context_len +
        get_req_to_token_extra_context_len, 4 without speculative decoding, mem_cache/common.py line
        260), i.e. from the 1 - mem_fraction_static SGLang leaves for activations and CUDA graphs. kvplan
        counts at least R x context_len x 4 B (the releases' padding row and extra columns aside):
        refused where even that exceeds the room outside the static pool on a stage (SGLang runs out
        of memory at start; review h32b D1: 30,000 requests of Llama-3.1-8B's 131,072 tokens on an
        H100 need 15.7 GB of the 14.5 GB), a note where it takes more than half of it."""
        if self.rule("running_requests")["given_capped"] is not True:
            return None
        table = max_num_seqs * context_len * 4
        room = min(st.total_bytes - st.engine_share_bytes for st in stages)
        what = (f"{self.name} holds a request table of {max_num_seqs:,} running requests x {context_len:,} tokens "
                f"(int32, at least {table:,} B; ReqToTokenPool) outside mem_fraction_static")
        if table > room:
            raise BadInputError(f"{what}, more than the {room:,} B left outside it: it runs out of memory at start; "
                                f"lower --max-num-seqs (--max-running-requests) or --max-model-len")
        if 2 * table > room:
            return (f"{what}: more than half the {room:,} B left outside it for activations and CUDA graphs, which "
                    f"kvplan does not plan; the engine may run out of memory under load")
        return None

    def memory_fraction_for(self, spec, gpu: GPU, fraction, *, tp: int, dp_attention: int = 1, context_len: int):
        """On ROCm, SGLang scales mem_fraction_static (the default or the user's) by 0.85 where its
        attention backend is aiter and the context is over 8192 tokens (rule ``aiter_fraction``).
        For MLA it picks aiter by the KV heads of a rank of its whole --tp
        (model_config.get_num_kv_heads(server_args.tp_size)): under DP attention over
        ``dp_attention`` ranks (``--tp tp*dp --dp dp --enable-dp-attention``: see
        kvplan.capacity.CapacityRequest.dp_attention) that is tp x dp GPUs, not the tp of one
        attention rank."""
        rule = self.rule("aiter_fraction")
        if rule is None or gpu.vendor != "amd" or context_len <= rule["over"]:
            return fraction, None
        arch = getattr(spec, "architecture", "") or ""
        if _sparse(spec) or arch in rule["triton"]:
            return fraction, None
        sglang_tp = tp * dp_attention  # SGLang's --tp
        if spec.has_mla and max(1, spec.num_kv_heads // sglang_tp) not in rule["mla_heads"]:
            return fraction, None  # triton
        scaled = fraction * rule["factor"]
        src = BOOK.rule("aiter_fraction", self.release).source
        return scaled, (f"{self.name} on {gpu.display_name or gpu.name} runs {spec.name} on its aiter attention backend "
                        f"and, with a context over {rule['over']} tokens ({context_len:,}), scales mem_fraction_static "
                        f"by {float(rule['factor'])}: {float(fraction):.4g} -> {float(scaled):.4g} ({src})")

    def multimodal_fraction(self, spec, fraction: Fraction, *, given: bool) -> tuple[Fraction, str | None]:
        """SGLang's mem_fraction_static for a multimodal model (rule ``vlm_fraction``): ``fraction``
        (the release's default, or the user's when ``given``) scaled as server_args.py (model_runner.py
        in 0.4.6) scales it, with a note; as it is for a text model, a multimodal architecture
        SGLang runs as text (mm_disabled_models: Gemma 3, Llama 4, Step3-VL), and a given fraction
        after 0.4.6. The scaling is float arithmetic as SGLang's (the product is not rounded), kept
        exactly as the float's shortest decimal. Where the factor depends on the vision tower and
        kvplan cannot tell the num_hidden_layers / hidden_size SGLang reads (``_VIT_READ``: no
        vision block, an architecture not read, a CLIP tower without its checkpoint depth),
        BadInputError says so."""
        rule = BOOK.rule("vlm_fraction", self.release)
        vlm: VLMFraction = rule.value
        arch = getattr(spec, "architecture", "") or "a vision tower"
        if not vlm.serves(spec) or (given and not vlm.given_too):
            return fraction, None
        if vlm.flat is not None:
            factor, why = vlm.flat, f"x {vlm.flat}"
        else:
            read = _VIT_READ.get(arch)
            tower = getattr(spec, "vision_tower", None)
            layers = (read[1](tower) if read is not None and tower is not None and tower.kind == read[0]
                      else None)
            if layers is None:
                if read is None:
                    missing = f"kvplan has not read how SGLang's config of {arch} gives them"
                elif tower is None or tower.kind != read[0]:
                    missing = f"the spec has no {read[0]} vision tower (a `vision:` block)"
                else:
                    missing = (f"its {tower.kind} tower records the {tower.num_layers} layers built, not the "
                               f"checkpoint's depth (config_num_layers)")
                raise BadInputError(
                    f"{self.name} scales {arch}'s default mem_fraction_static by vision_config.num_hidden_layers and "
                    f"hidden_size ({rule.source}), which kvplan cannot tell for {spec.name}: {missing}; give "
                    f"--mem-fraction-static (no scaling then)")
            hidden = tower.hidden_size
            ratio = layers * hidden ** 2 / (24 * 1024 ** 2)  # float, as SGLang divides
            factor = 0.95 * max(0.8, min(1.05, 1.0 - 0.1 * (ratio - 1.0)))
            why = f"x {factor!r}: vision tower {layers} layers ({read[2]}) x {hidden} wide, ratio {ratio!r}"
        scaled = Fraction(repr(float(fraction) * factor))
        what = "the given" if given else "its default"
        return scaled, (f"{self.name} runs {spec.name} ({arch}) as a multimodal model and scales {what} "
                        f"mem_fraction_static {float(fraction):g} {why} = {float(scaled)!r} ({rule.source})")

    def _check_qwen3_vl_hopper(self, spec, gpu: GPU) -> None:
        """Qwen3-VL where 0.5.20+'s serving override acts (rule ``qwen3_vl_hopper``): a compute
        capability 9.x GPU whose memory as nvidia-smi reports it (NVIDIA_SMI_MIB) is at least 60 GiB,
        or a 9.x GPU whose nvidia-smi figure kvplan does not know (every Hopper in the catalog has
        79 GiB or more), or an NVIDIA GPU of unknown compute capability (--gpu-mem alone). Called
        from serving_dtype, the first hook _served (kvplan.capacity) gives both model and GPU, right
        after check_model, so every command that plans or sizes on a GPU meets it."""
        rule = self.rule("qwen3_vl_hopper")
        arch = getattr(spec, "architecture", "") or ""
        if rule is None or arch not in rule["archs"] or not self.rule("vlm_fraction").serves(spec):
            return
        if gpu.vendor not in ("", "nvidia"):
            return  # is_sm90_supported() needs is_cuda(): never on ROCm
        cc, mib = gpu.compute_capability, NVIDIA_SMI_MIB.get(gpu.name)
        if cc is not None and (cc[0] != rule["major"] or (mib is not None and mib < rule["min_mib"])):
            return
        known = (f"compute capability {cc[0]}.{cc[1]}, " + (f"{mib:,} MiB in nvidia-smi" if mib is not None else
                 "nvidia-smi's memory figure not known to kvplan")) if cc is not None else "compute capability unknown"
        raise BadInputError(f"{self.name} serves {spec.name} ({arch}) on a Hopper GPU with at least 60 GiB by its own "
                            f"Qwen3-VL overrides (no VLM cache, cuda_ipc transport, flashinfer decode, decode graphs "
                            f"up to --max-running-requests: {_MOD23}{rule['where']}), which kvplan has not "
                            f"modelled; "
                            f"{gpu.display_name or gpu.name} ({known}) may be one; use another GPU, --engine "
                            f"sglang==0.5.19, or --engine raw for memory alone")

    def serving_dtype(self, spec, gpu: GPU, explicit: bool) -> str:
        """--dtype auto downcasts a float32 config: to bf16 for Gemma models (model_type
        "gemma*"), else to fp16 (sglang/srt/configs/model_config.py _get_and_verify_dtype, read
        in the 0.4.6 and 0.5.8 wheels; the releases between are taken to agree). Other dtypes
        run as the config gives them, but on a GPU below compute capability 8.0 every model runs
        in float16, --dtype or not (model_executor/model_runner.py load_model: "Compute
        capability below sm80. Use float16", in all 8 wheels)."""
        self._check_qwen3_vl_hopper(spec, gpu)
        cc = gpu.compute_capability
        if cc is not None and cc < (8, 0):
            return "fp16"
        if explicit or spec.dtype != "fp32":
            return spec.dtype
        return "bf16" if spec.architecture.startswith("Gemma") else "fp16"

    def default_memory_fraction(self, gpu: GPU, tp: int, pp: int, chunked_prefill_size: int | None = None,
                                dp_attention: int = 1, spec=None, max_running_requests: int | None = None,
                                context_length: int | None = None) -> Fraction:
        """The release's default mem_fraction_static on ``gpu``; ``tp`` is SGLang's --tp (under
        DP attention over ``dp_attention`` ranks, every GPU of the group: kvplan's tp x dp).
        0.5.23 reads the model (``spec``: MLA, a Llama-2 path) and --max-running-requests as given
        (``max_running_requests``, before the DP division) for its CUDA-graph reservation; 0.5.13
        --context-length as given (``context_length``; None: not given), which caps its piecewise
        graphs (rule prefill_graphs "context_clamp")."""
        if gpu.vendor == "amd":
            # ROCm: utils/common.py get_device_memory_capacity takes is_hip()'s get_amdgpu_memory_capacity
            # (rocminfo's pool size; 0.5.22 :962-963, 0.5.23 :999-1000), and 0.5.23's prefill graphs are off
            # there (model_executor/cuda_graph_config.py default_prefill_backend :119-123: DISABLED unless
            # is_cuda()), which reserved_0_5_23's GraphModel does not take: refused before either is needed
            raise BadInputError(
                f"SGLang {self.release} picks mem_fraction_static on an AMD GPU from the memory rocminfo reports "
                f"(get_amdgpu_memory_capacity), which kvplan does not know for {gpu.name}; give the memory fraction "
                f"(mem_fraction_static)")
        mib = NVIDIA_SMI_MIB.get(gpu.name)
        if mib is None:
            raise BadInputError(
                f"SGLang {self.release} picks mem_fraction_static from the GPU's memory as nvidia-smi reports it, "
                f"which kvplan does not know for {gpu.name}; give the memory fraction (mem_fraction_static)"
            )
        rule = self.rule("mem_fraction_static_default")
        graphs = None
        if rule in ("reserved_0_5_23", "reserved_0_5_20", "reserved_0_5_10", "reserved_0_5_13"):
            if spec is None:
                raise BadInputError(f"{self.name} sizes its default mem_fraction_static by the model (MLA or not: "
                                    f"{_MEM23} reserve_for_graph_mb); give the model or mem_fraction_static")
            graphs = GraphModel.of(spec, max_running_requests, self.rule("prefill_graphs"), self.rule("vlm_fraction"),
                                   context_length)
        return default_fraction(rule, mib, tp, pp, chunked_prefill_size, dp_attention, graphs)

    def settings(self, gpu: GPU, *, tp: int = 1, pp: int = 1, memory_fraction=None, block_size=None,
                 max_num_batched_tokens=None, max_num_seqs=None, dp_attention: int = 1, spec=None,
                 max_model_len: int | None = None) -> EngineSettings:
        """``tp``: kvplan's tp, the attention ranks of one DP rank. With ``dp_attention`` > 1
        (kvplan's dp for a mixture-of-experts model: SGLang's ``--tp tp*dp --dp dp
        --enable-dp-attention``) SGLang sizes its defaults from its whole --tp and divides some
        flags among the DP ranks: --max-running-requests R runs R // dp requests a rank
        (managers/tp_worker.py ``max_running_requests // (dp_size if enable_dp_attention else
        1)``: 0.4.6 line 115, 0.5.4 line 284, 0.5.6 line 294; 0.5.8 model_executor/model_runner.py
        line 563), refused where that is 0 (tp_worker asserts 'max_running_request is zero');
        --chunked-prefill-size C prefills C // dp tokens a step on each rank (server_args.py:
        0.4.6 line 296, 0.5.4 line 1173, 0.5.8 line 1937: after the default mem_fraction_static
        read C). 0.5.23 runs max(1, R // dp) (mem_cache/kv_cache_configurator.py resolve_max_num_reqs:
        never zero; rule ``running_requests`` "floor_one"; 0.5.22 asserts as 0.5.8), and 0.5.22 /
        0.5.23 read ``spec`` for their default fraction (``default_memory_fraction``), 0.5.13
        ``max_model_len`` as given (SGLang's --context-length; None: not given)."""
        block = positive(block_size, "--page-size") or self.default_block_size
        tokens = positive(max_num_batched_tokens, "--chunked-prefill-size")
        seqs = positive(max_num_seqs, "--max-running-requests")
        group_tp = tp * dp_attention  # SGLang's --tp
        default = (self.default_memory_fraction(gpu, group_tp, pp, tokens, dp_attention, spec, seqs, max_model_len)
                   if memory_fraction is None else None)
        frac = fraction(memory_fraction, "--mem-fraction-static", default)
        def per_rank(value, option, what):  # a flag SGLang divides among the DP-attention ranks
            if dp_attention == 1 or value is None:
                return value
            if value // dp_attention == 0:
                raise BadInputError(f"{self.name} {what.format(f'{option} {value} // dp {dp_attention} = 0')}; "
                                    f"give at least {dp_attention}")
            return value // dp_attention

        if self.rule("running_requests")["floor_one"]:
            seqs = None if seqs is None else max(1, seqs // dp_attention)
        else:
            seqs = per_rank(seqs, "--max-running-requests", "runs {} requests a DP-attention rank and does not start "
                            "(managers/tp_worker.py: 'max_running_request is zero')")
        tokens = per_rank(tokens, "--chunked-prefill-size", "prefills {} tokens a DP-attention rank "
                          "(server_args.py), which kvplan does not model")
        return EngineSettings(self.name, frac, self.fraction_name, block, tokens, seqs, tp, pp, str(self.release),
                              dp_attention)

    def startup_in_use_bytes(self, tp: int, pp: int) -> int:
        table = self.rule("startup_in_use_bytes")
        return table["single"] if tp * pp == 1 else table["parallel"]

    def weight_splits(self, spec, gpu: GPU, *, tp: int, dp_attention: int = 1, expert_parallel: bool = False) -> tuple:
        """Where SGLang holds weights otherwise than split by kvplan's tp (rows for
        kvplan.weights.weights_footprint): DeepSeek-V3's shared expert whole where it is fused
        into the routed experts (rule ``shared_expert_whole``), and under DP attention over
        ``dp_attention`` ranks (``CapacityRequest.dp_attention``; SGLang's --tp tp x dp) the embedding, lm_head and MLP part as the model
        class builds them (rule ``dp_attention_weights``; an architecture not read is refused).
        DeepSeek-V3 fp8 at --tp 8 --dp 8: the lm_head 1,853,358,080 B -> 231,669,760 B a GPU."""
        from kvplan.shapes import check_tp_splits

        rows = []
        if self._shared_expert_whole(spec, gpu, expert_parallel):
            rows.append(("mlp", "mlp.shared_experts.", 1))
        dp = dp_attention
        if dp > 1:
            layouts = self.rule("dp_attention_weights")
            layout = layouts.get(spec.architecture or "")
            if layout is None:
                raise BadInputError(
                    f"{self.name}: kvplan has not read how DP attention (--tp {tp * dp} --dp {dp} "
                    f"--enable-dp-attention) holds the weights of {spec.architecture or spec.name} (read for "
                    f"{', '.join(sorted(layouts))}); plan it with --dp 1")
            degree = {"all": tp * dp, "attention": tp, "whole": 1}
            rows += [(part, prefix, degree[how]) for part, prefix, how in layout]
            split_all = {part for part, _, how in layout if how == "all"}
            if split_all:  # the MLP and the vocabulary divided by the whole group, as SGLang asserts
                check_tp_splits(spec, tp * dp, vocab="lm_head" in split_all, engines="SGLang")
        return tuple(rows)

    def unmodelled_notes(self, spec, weights, *, dp: int = 1, gpu: GPU | None = None) -> tuple[str, ...]:
        """MLA models with a quantized kv_b_proj whose w_kc / w_vc kvplan cannot size
        (``mla_copy_for`` None): not counted, said, with the bf16 and the fp8 figure."""
        from kvplan.weights import kv_b_proj_quantized, mla_absorbed_bytes

        notes = ()
        if spec.mla is not None and self.rule("rope_table")["deepseek_totals"]:
            rows = spec.max_position_embeddings * spec.mla.qk_rope_head_dim * 4
            notes = (f"{self.name} keeps, for a DeepSeek config whose rope_scaling is YaRN (deepseek_yarn), "
                     f"cos_cached_total and sin_cached_total beside the rotary table (layers/rotary_embedding.py "
                     f"DeepseekScalingRotaryEmbedding), which are not counted: {2 * rows:,} B a GPU (kvplan's spec "
                     f"does not record the scaling type)",)
        if spec.mla is None or not kv_b_proj_quantized(spec, weights) or self.mla_copy_for(spec, weights, gpu):
            return notes
        copy = max(mla_absorbed_bytes(spec, st.layers, weights.tp, 2) for st in weights.stages)
        if not copy:
            return notes
        return notes + (f"{self.name} also keeps w_kc / w_vc, copies of every MLA layer's quantized kv_b_proj (models/"
                f"deepseek_v2.py post_load_weights), which are not counted ({self._mla_copy_unknown(spec, weights, gpu)}"
                f"): {copy:,} B a GPU if bf16, half that if fp8",)

    def loaded_bytes(self, spec, gpu: GPU | None, weights, stage) -> int:
        """What one GPU of ``stage`` holds once SGLang has loaded the model, the figure its "Load
        weight end" line logs: the stage's tensors, the rotary tables built at load
        (``rope_table_bytes``), the MLA up-projection copies post_load_weights makes
        (``mla_copy_bytes``) and Baichuan's ALiBi slopes tensors (``alibi_slopes_bytes``). The one sum of ``carve`` (capacity) and of `kvplan explain`
        (kvplan.explain_sglang)."""
        return (stage.bytes + self.rope_table_bytes(spec, gpu, stage.layers)
                + self.mla_copy_bytes(spec, weights, stage.layers, gpu=gpu)
                + self.alibi_slopes_bytes(spec, weights.tp, stage.layers))

    def mla_copy_for(self, spec, weights, gpu: GPU | None) -> MLACopy | None:
        """How post_load_weights (models/deepseek_v2.py in every wheel; from 0.5.8
        models/deepseek_common/deepseek_weight_loader.py) builds w_kc / w_vc from each MLA
        layer's kv_b_proj, which it runs before the quant methods' process_weights_after_loading
        (model_loader/loader.py: DeepseekV2ForCausalLM.load_weights calls it; 0.4.6 lines
        377-388, 0.5.23 load_weights_only / postprocess_weights lines 1028-1090), so kv_b_proj
        is still as loaded; None where kvplan cannot tell (``unmodelled_notes`` says so).
        An unquantized kv_b_proj, and one quantized online (--weights fp8 on a checkpoint without
        a quantization_config: SGLang's --quantization fp8 creates it in the model dtype and
        quantizes it afterwards, dropping that storage): copies in the model dtype. The
        checkpoint's block fp8 served as stored (quant_method fp8 with weight_block_size, read
        for DeepseekV2 / V3 only): dequantized to bf16 on NVIDIA with a 128 x 128 block (rule
        ``mla_copy_block_fp8``; 0.4.6 on compute capability 9.0 keeps fp8 copies and their block
        scales instead), else requantized per tensor (fp8 copies and one 4-byte float32
        w_scale: block_quant_to_tensor_quant, scaled_fp8_quant's torch.zeros(1) on CUDA,
        input_to_float8's scalar on ROCm). Not decided: int8 (w8a8_int8 dequantizes to bf16,
        compressed-tensors int8 in 0.5.8 keeps int8), int4 (AWQ and GPTQ, one format here), fp8
        without a block size (per-tensor fp8 and compressed-tensors channel or block schemes),
        a GPU of unknown vendor, or of unknown compute capability under 0.4.6."""
        from kvplan.engines.vllm import dtype_bytes
        from kvplan.weights import kv_b_proj_quantized

        if spec.mla is None:
            return None
        if not kv_b_proj_quantized(spec, weights):
            return MLACopy(dtype_bytes(spec), False)
        if spec.architecture not in _MLA_COPY_READ:
            return None
        if weights.format == "fp8" and not spec.weights_format:  # online: bf16 at post_load_weights
            return MLACopy(dtype_bytes(spec), True)
        if not (weights.format in ("fp8", "checkpoint") and spec.weights_format == "fp8_e4m3"
                and spec.weights_block is not None):
            return None
        if gpu is None or gpu.vendor not in ("nvidia", "amd"):
            return None
        requant = MLACopy(1, True, "tensor")
        if gpu.vendor == "amd" or tuple(spec.weights_block) != (128, 128):
            return requant
        path = self.rule("mla_copy_block_fp8")
        if path == "deep_gemm_sm90":
            if gpu.compute_capability is None:
                return None
            return MLACopy(1, False, "block") if gpu.compute_capability == (9, 0) and spec.dtype == "bf16" else requant
        if path == "bf16_if_bf16" and spec.dtype != "bf16":
            return requant
        return MLACopy(2, True)

    def _mla_copy_unknown(self, spec, weights, gpu: GPU | None) -> str:
        """Why ``mla_copy_for`` cannot size a quantized kv_b_proj's w_kc / w_vc (for the note)."""
        if spec.architecture not in _MLA_COPY_READ:
            return f"{spec.architecture or spec.name}'s post_load_weights for a quantized kv_b_proj not read"
        if weights.format == "fp8" and spec.weights_format == "fp8_e4m3" and spec.weights_block is None:
            return ("an fp8 checkpoint without weight_block_size: per-tensor fp8 keeps fp8 copies, a compressed-"
                    "tensors block scheme bf16 ones from 0.5.8, which kvplan's spec does not tell apart")
        if weights.format in ("int8", "int4"):
            return (f"kvplan's {weights.format} does not say which quantization SGLang loads: w8a8_int8 and AWQ "
                    f"dequantize to bf16, compressed-tensors int8 keeps int8 in 0.5.8, GPTQ is not read")
        if weights.format == "fp8" and spec.weights_format == "fp8_e4m3":
            return ("the GPU's vendor decides: bf16 on NVIDIA, fp8 on AMD" if gpu is None or gpu.vendor
                    not in ("nvidia", "amd") else "the GPU's compute capability decides in 0.4.6: fp8 with "
                    "block scales on 9.0, else fp8 with one scale")
        return f"a {weights.format} kv_b_proj from a {spec.weights_format or 'unquantized'} checkpoint is not read"

    def mla_decode_read_bytes(self, spec, weights, layers: range, gpu=None) -> int | None:
        """What one rank's absorbed MLA decode reads of the up-projections a step: w_kc and w_vc
        as ``mla_copy_for`` says post_load_weights holds them (models/deepseek_v2.py 0.5.6
        forward_absorb: ``bmm_fp8(q_nope_val, self.w_kc, q_nope_scale, self.w_scale, ...)`` for
        fp8 (line 1890), else ``torch.bmm(q_nope.transpose(0, 1), self.w_kc)`` (line 1893), and
        the same for w_vc (lines 1999-2040)), with their scales; never kv_b_proj, which only the
        MHA prefill runs. DeepSeek-V3 block fp8 at tp 8 on an H200, 0.4.10+: 255,852,544 B of
        bf16 a step where the stored fp8 kv_b_proj is 128,925,696 B. None where decode reads
        bytes equal to the stored kv_b_proj (an unquantized one) or where ``mla_copy_for`` cannot
        tell (the capacity warning says so; kvplan.speed then times kv_b_proj as stored)."""
        from kvplan.weights import kv_b_proj_quantized

        how = self.mla_copy_for(spec, weights, gpu)
        if how is None or not kv_b_proj_quantized(spec, weights):
            return None
        return self._mla_held_bytes(spec, weights, layers, how) or None

    def _mla_held_bytes(self, spec, weights, layers: range, how: MLACopy) -> int:
        """w_kc and w_vc of ``layers`` on one rank as ``how`` says post_load_weights holds them,
        with their scales, views or copies alike: what an absorbed decode reads
        (``mla_decode_read_bytes``), and what ``mla_copy_bytes`` keeps less a one-head rank's views."""
        from kvplan.shapes import mla_absorbed_shapes
        from kvplan.weights import mla_absorbed_bytes

        held = mla_absorbed_bytes(spec, layers, weights.tp, how.element)
        if not held or how.scale == "none":
            return held
        mla_layers = sum(1 for i in layers if mla_absorbed_shapes(spec, i))
        if how.scale == "tensor":
            return held + mla_layers * 4
        return held + mla_layers * _block_scale_bytes(spec.mla, spec.num_attention_heads // weights.tp)

    def mla_copy_bytes(self, spec, weights, layers: range, gpu: GPU | None = None) -> int:
        """SGLang's w_kc / w_vc for ``layers`` on one rank, as ``mla_copy_for`` says they are
        built: per head the key and value parts of kv_b_proj (or of what post_load_weights made of
        it), ``w_kc.transpose(1, 2).contiguous()`` and ``w_vc.contiguous()`` (0.4.10 lines 2267-2272),
        copies together kv_b_proj's size in ``MLACopy.element`` bytes a value, except that with one
        head a rank the value slice is already contiguous and ``.contiguous()`` returns a view: of
        kv_b_proj, nothing more, or of a tensor post_load_weights made (``MLACopy.fresh``), which
        the view then keeps whole. Scales: one 4-byte w_scale a layer (requantized per tensor), or
        0.4.6's DeepGEMM w_scale_k / w_scale_v, the float32 block scales of each head's key and
        value rows (views with one head a rank). DeepSeek-V2-Lite bf16 at tp 1: 27 x 16 x 256 x
        512 x 2 = 113,246,208 B; DeepSeek-V3 block fp8 at tp 8 on an H200, 0.4.10+: 61 x 4,194,304
        = 255,852,544 B (bf16); 0.4.6: 61 x (2,097,152 + 512) = 127,957,504 B; on an MI300X: 61 x
        (2,097,152 + 4) = 127,926,516 B. Undecided (``mla_copy_for`` None): 0, said by
        ``unmodelled_notes``."""
        from kvplan.shapes import mla_absorbed_shapes

        how = self.mla_copy_for(spec, weights, gpu)
        if how is None:
            return 0
        copy = self._mla_held_bytes(spec, weights, layers, how)
        heads = spec.num_attention_heads // weights.tp
        if copy and how.scale != "none":
            # scales are tensors of their own: each takes whole 512 B allocator blocks (kvplan.units.
            # allocated_bytes; the decode read, _mla_held_bytes, stays at their bytes)
            m = spec.mla
            n = sum(1 for i in layers if mla_absorbed_shapes(spec, i))
            if how.scale == "tensor":
                copy += n * (allocated_bytes(4) - 4)
            elif heads > 1:
                tiles = 4 * heads * -(-m.kv_lora_rank // 128)  # w_scale_k / w_scale_v, two .contiguous() copies
                k, v = tiles * (m.qk_nope_head_dim // 128), tiles * (m.v_head_dim // 128)
                copy += n * (allocated_bytes(k) + allocated_bytes(v) - k - v)
        if not copy or heads > 1:
            return copy
        # one head a rank: w_vc is a contiguous view, of kv_b_proj (nothing) or of a new w (all of it),
        # and 0.4.6's block scales are views too
        m, e = spec.mla, how.element
        mla_layers = sum(1 for i in layers if mla_absorbed_shapes(spec, i))
        copy += mla_layers * m.kv_lora_rank * e * ((m.qk_nope_head_dim + m.v_head_dim) * how.fresh - m.v_head_dim)
        return copy - (mla_layers * _block_scale_bytes(m, 1) if how.scale == "block" else 0)

    def loaded_spec(self, spec):
        """``spec`` without the vision tower and projector where this release does not build them:
        Llama4ForConditionalGeneration from 0.4.10 (rule llama4_vision_tower False; mllama4.py
        _should_skip_weight skips their checkpoint tensors, 0.4.10 lines 250 / 275-277, 0.5.8 651 / 690-692).
        Llama-4-Scout at tp 8: 115,453,056 B a GPU fewer."""
        if (getattr(spec, "architecture", None) == "Llama4ForConditionalGeneration"
                and not self.rule("llama4_vision_tower")
                and (spec.vision_tower is not None or spec.vision_projector is not None)):
            return dataclasses.replace(spec, vision_tower=None, vision_projector=None)
        return spec

    def rope_table_bytes(self, spec, gpu: GPU | None, layers: range | None = None) -> int:
        """The rotary tables ``spec``'s model keeps on one GPU of a stage holding ``layers`` (default
        all) from load, counted in SGLang's weights (rule ``rope_table``; each architecture's model
        file read in every release: ROPE_ARCHITECTURES). One table per distinct get_rope key, every
        layer sharing it, of max_position rows (the config's max_position_embeddings, which
        model_config.py overrides only for a draft model; YaRN: original x factor, kvplan's context
        for it) x rotary_dim, float32 on NVIDIA (model dtype on AMD up to 0.5.8). Dynamic NTK:
        ceil(original x factor) rows (DynamicNTKScalingRotaryEmbedding, t = arange(max_position x
        factor)). LongRoPE (Phi3LongRoPEScaledRotaryEmbedding): short, long and their concatenation,
        three buffers cast to the model dtype, 2 x (original + max_position) rows. Llama-3.1-8B:
        131,072 x 128 x 4 = 67,108,864 B (vLLM: 33,554,432, bf16). Gemma 3: the model's two
        Gemma3RotaryEmbedding inv_freq buffers (float32, rotary_dim / 2 each), and from 0.5.22 two
        rope_type default tables of max_position rows (the global layers' linear factor is not
        applied there): gemma-3-27b 2 x 131,072 x 128 x 4 + 512 B. LLaVA: its text backbone's table.
        Qwen3-VL (dense and MoE): the text model's table (and from 0.5.22 MRotaryEmbedding's int64
        axis_map of rotary_dim / 2 lanes where the config's rope_scaling has an mrope_section) plus
        the vision tower's, head width hidden_size / num_heads of the spec's qwen3_vl tower:
        transformers' inv_freq, ceil(head_dim / 4) float32, up to 0.5.6, and from 0.5.8 a get_rope
        table of 8192 rows x head_dim / 2 (_ROPE_VISION_UNREAD's comment; rule ``rope_table``
        "qwen3_vl_get_rope"). Qwen3-VL-8B (mrope_section [24, 20, 20]) on an H100: 134,217,728 +
        72 B (0.5.6), + 1,179,648 B (0.5.8), + 1,179,648 + 512 B (0.5.22).
        A Nemotron-NAS (DeciLM) stage of no_op attention layers only: none. Llama-4-Scout: 10,485,760
        x 128 x 4 = 5,368,709,120 B.
        Refused: an architecture whose model file kvplan has not read for it, Llama 4's vision
        tower where SGLang builds it (rule llama4_vision_tower: 0.4.6 / 0.4.9), Qwen2-VL and
        Qwen2.5-VL (kvplan reads no vision_config of theirs for the vision head width:
        _ROPE_VISION_UNREAD), a Qwen3-VL spec without its qwen3_vl tower's num_heads (or, from
        0.5.22, its mrope), DeepSeek sparse attention (its indexer's rotary table is not read)."""
        if getattr(spec, "architecture", None) in ROPE_GROUP_A:
            return self._rope_group_a_bytes(spec, gpu)
        if spec.position_embedding != "rope":
            return 0
        arch = getattr(spec, "architecture", None) or ""
        if arch in _ROPE_VISION_UNREAD:
            raise BadInputError(f"{self.name}: kvplan cannot size the rotary buffer SGLang builds for {spec.name}'s "
                                f"vision tower ({arch}: {_ROPE_VISION_UNREAD[arch]}), which it counts in the "
                                f"weights: kvplan reads no vision_config of {arch}; use --engine vllm or --engine raw")
        if (arch not in ROPE_ARCHITECTURES and arch not in ROPE_QWEN3_VL) or _sparse(spec):
            what = "DeepSeek sparse attention's indexer" if _sparse(spec) else (arch or "a spec without an architecture")
            raise BadInputError(f"{self.name}: kvplan has not read which rotary cos/sin tables SGLang builds for "
                                f"{spec.name} ({what}), which it counts in the weights (layers/rotary_embedding.py "
                                f"get_rope and the model file); use --engine vllm or --engine raw")
        if arch == "Llama4ForConditionalGeneration" and self.rule("llama4_vision_tower"):
            raise BadInputError(f"{self.name}: kvplan cannot size the rotary table SGLang builds for {spec.name}'s "
                                f"vision tower ({arch}: transformers' Llama4VisionRotaryEmbedding freqs_ci, "
                                f"(image_size / patch_size)^2 + 1 rows x hidden_size / vision_config."
                                f"num_attention_heads / 2 complex64, which kvplan's spec does not record; built in "
                                f"0.4.6 and 0.4.9, not from 0.4.10 without --enable-multimodal), which it counts in "
                                f"the weights; use --engine sglang==0.5.6 or later, --engine vllm or --engine raw")
        from kvplan.engines.vllm import dtype_bytes, rope_tables_held
        from kvplan.layers import NoCache

        if arch == "DeciLMForCausalLM" and all(isinstance(spec.layers[i], NoCache)
                                               for i in (layers if layers is not None else range(spec.num_layers))):
            return 0  # nemotron_nas.py: a no_op attention layer builds no LlamaAttention, so no get_rope

        rule = self.rule("rope_table")
        model = dtype_bytes(spec)
        element = self._rope_element(spec, gpu)
        rotary = spec.rotary_width
        rows = spec.max_position_embeddings
        rope = spec.rope_scaling
        vision = self._qwen3_vl_rope_bytes(spec, rule, element) if arch in ROPE_QWEN3_VL else 0
        if spec.rope_local_base_freq is not None:  # Gemma 3
            if rule.get("gemma3_factor_needed") and (rope is None or rope.factor is None):
                raise BadInputError(f"{self.name} does not start {spec.name}: Gemma3TextModel reads its global "
                                    f"rotary table's config.rope_parameters['full_attention']['factor'], which a Gemma 3 "
                                    f"config without rope_scaling lacks (KeyError: python/sglang/srt/models/"
                                    f"gemma3_causal.py lines 581-587); use --engine sglang==0.5.11, 0.5.14 or 0.5.22")
            inv_freq = 2 * (rotary // 2) * 4
            if not rule["gemma3_get_rope"]:
                return inv_freq
            self._check_rope_rows(spec, arch)
            return inv_freq + sum(rope_tables_held(spec, layers)) * rows * rotary * element
        self._check_rope_rows(spec, arch)
        if rope is not None and rope.type == "dynamic":
            rows = math.ceil(rope.original_max_position_embeddings * rope.factor)
        if rope is not None and rope.type == "longrope":
            return 2 * (rope.original_max_position_embeddings + rows) * rotary * model + vision
        return rows * rotary * element + vision

    def _rope_element(self, spec, gpu: GPU | None) -> int:
        """Bytes of one rotary-table value (rule ``rope_table`` "hip_fp32"): float32 on NVIDIA (and
        with no GPU named), the model dtype on AMD up to 0.5.8."""
        from kvplan.engines.vllm import dtype_bytes

        return 4 if gpu is None or gpu.vendor != "amd" or self.rule("rope_table")["hip_fp32"] else dtype_bytes(spec)

    def _check_rope_rows(self, spec, arch: str) -> None:
        """Refuse where the context kvplan plans is not the rows the model file's get_rope gets:
        the ROPE_ARCHITECTURES files other than chatglm.py (seq_length) and dbrx.py (max_seq_len)
        pass config.max_position_embeddings (llama.py LlamaModel, 0.5.8 line 260: getattr(config,
        "max_position_embeddings", 8192); configs/model_config.py _derive_context_length, 0.5.8
        lines 334-366, overrides it for a draft model only), so a smaller context key
        (model_max_length, seq_length, ...: spec.rope_max_position above the context) leaves
        those rows, or a rope factor kvplan does not keep times them, in the table.
        Llama-3.1-8B with model_max_length 8,192: 131,072 rows (67,108,864 B), not 8,192."""
        from kvplan.engines.vllm import rope_rows_beyond_context

        if not rope_rows_beyond_context(spec):
            return
        raise BadInputError(f"{self.name}: kvplan cannot size the rotary table SGLang builds for {spec.name} ({arch}: "
                            f"get_rope receives config.max_position_embeddings {spec.rope_max_position:,}, beyond the "
                            f"context of {spec.max_position_embeddings:,} a smaller context key gives, times any rope "
                            f"factor kvplan does not keep), which it counts in the weights; use --engine raw")

    def _qwen3_vl_rope_bytes(self, spec, rule, element: int) -> int:
        """What Qwen3-VL adds to its text model's rotary table in SGLang (rope_table_bytes): the
        vision tower's inv_freq (up to 0.5.6) or get_rope table (from 0.5.8), and from 0.5.22 the
        text MRotaryEmbedding's axis_map where the config has an mrope_section. One-line
        refusal where the spec's qwen3_vl tower lacks what that needs."""
        tower = getattr(spec, "vision_tower", None)
        arch = spec.architecture
        where = (f"{self.name}: kvplan cannot size the rotary table SGLang builds for {spec.name}'s vision tower "
                 f"({arch}: models/qwen3_vl.py Qwen3VLMoeVisionModel rotary_pos_emb, head_dim = hidden_size / "
                 f"vision_config.num_heads), which it counts in the weights")
        if getattr(tower, "kind", None) != "qwen3_vl":
            raise BadInputError(f"{where}: the spec has no qwen3_vl vision tower (a `vision:` block; kvplan import "
                                f"writes it from config.json); use --engine vllm or --engine raw")
        if tower.num_heads is None:
            raise BadInputError(f"{where}: the spec's qwen3_vl vision tower has no num_heads (vision.tower.num_heads, "
                                f"vision_config.num_heads, which kvplan import records); use --engine vllm or "
                                f"--engine raw")
        if tower.hidden_size % tower.num_heads:
            raise BadInputError(f"{where}: vision.tower.num_heads {tower.num_heads} does not divide "
                                f"vision.tower.hidden_size {tower.hidden_size}")
        head_dim = tower.hidden_size // tower.num_heads
        half = head_dim // 2  # the rotary_dim / dim both classes get
        if rule["qwen3_vl_get_rope"]:
            # RotaryEmbedding: inv_freq of arange(0, rotary_dim, 2), cos and sin side by side.
            vision = 8192 * 2 * ((half + 1) // 2) * element
        else:
            vision = (half + 1) // 2 * 4  # transformers' inv_freq = arange(0, dim, 2), float32
        if not rule["mrope_axis_map"]:
            return vision
        if tower.mrope is None:
            raise BadInputError(f"{self.name}: kvplan cannot tell whether SGLang keeps an M-RoPE axis_map beside "
                                f"{spec.name}'s text rotary table (rotary_embedding/mrope.py MRotaryEmbedding, "
                                f"rotary_dim / 2 int64 where rope_scaling has an mrope_section under rope type "
                                f"default): the spec's qwen3_vl vision tower does not record it (vision.tower.mrope, "
                                f"which kvplan import records); use --engine vllm or --engine raw")
        return vision + (spec.rotary_width // 2 * 8 if tower.mrope else 0)

    def _rope_group_a_bytes(self, spec, gpu: GPU | None) -> int:
        """The one table a ROPE_GROUP_A model builds (its model file's get_rope arguments cited
        there): rows = the max_position passed (spec.rope_max_position, else the context, or a
        dynamic rope_scaling's original), x factor for dynamic NTK where rule rope_scaling_passed
        lists the architecture; width the whole head or the imported partial width; float32 on
        NVIDIA (model dtype on AMD up to 0.5.8). A scaled context whose unscaled rows the spec
        does not keep (linear, YaRN) is refused where the rope_scaling reaches get_rope.
        phi-2 2,048 x 32 x 4 = 262,144 B; InternLM2.5-7B 32,768 x 2 x 128 x 4 = 33,554,432 B."""
        if spec.position_embedding != "rope":
            return 0
        arch = spec.architecture
        element = self._rope_element(spec, gpu)
        head = spec.hidden_size // spec.num_attention_heads
        width = 2 * math.ceil(head / 2) if ROPE_GROUP_A[arch] == "head" else spec.rotary_width
        rope = spec.rope_scaling if spec.rope_scaling is not None and spec.rope_scaling.type == "dynamic" else None
        rows = spec.rope_max_position or (rope.original_max_position_embeddings if rope else
                                          spec.max_position_embeddings)
        if arch not in self.rule("rope_scaling_passed"):
            return rows * width * element
        if rope is not None:
            return math.ceil(rows * rope.factor) * width * element
        if spec.rope_scaling is not None or spec.rope_max_position:
            why = (f"rope_scaling type {spec.rope_scaling.type}" if spec.rope_scaling is not None else
                   f"max_position_embeddings {spec.rope_max_position:,} beside a context of "
                   f"{spec.max_position_embeddings:,} (a smaller context key, or a rope factor kvplan does not keep)")
            raise BadInputError(f"{self.name}: kvplan cannot size the rotary table SGLang builds for {spec.name} "
                                f"({arch}: get_rope receives the config's rope_scaling; {why}), which it counts in "
                                f"the weights; use --engine vllm or --engine raw")
        return rows * width * element

    def alibi_slopes_bytes(self, spec, tp: int, layers: range | None = None) -> int:
        """Baichuan's ALiBi layers (hidden_size != 4096) in 0.5.9 and from 0.5.22: each keeps its rank's
        num_attention_heads / tp slopes as a bf16 tensor on the GPU (rule alibi_slopes_tensor), each
        a 512 B block of PyTorch's caching allocator: Baichuan2-13B at tp 1 (40 x 2 = 80 B a layer) or
        tp 2: 40 layers x 512 = 20,480 B. 0 otherwise."""
        if (getattr(spec, "architecture", None) != "BaichuanForCausalLM" or spec.position_embedding != "alibi"
                or not self.rule("alibi_slopes_tensor")):
            return 0
        held = len(layers) if layers is not None else spec.num_layers
        # each layer's own tensor: its bytes rounded to the allocator's 512 B (kvplan.units.allocated_bytes)
        return held * allocated_bytes((spec.num_attention_heads // tp) * 2)

    def _shared_expert_whole(self, spec, gpu: GPU, expert_parallel: bool) -> bool:
        """Rule ``shared_expert_whole`` for this model and GPU; a GPU whose capability kvplan
        does not know is refused where the rule depends on it."""
        rule: FusedSharedExpert | None = self.rule("shared_expert_whole")
        moe = spec.moe
        if (rule is None or moe is None or spec.architecture != "DeepseekV3ForCausalLM" or moe.num_experts != 256
                or not moe.num_shared_experts or (rule.one_shared and moe.num_shared_experts != 1)
                or (rule.ep_only and not expert_parallel)):
            return False
        if gpu is None:  # kvplan explain on a log that names no GPU
            raise BadInputError(f"{self.name}: whether SGLang holds DeepSeek-V3's shared expert whole depends on the "
                                f"GPU (models/deepseek_v2.py shared-experts fusion); give --gpu")
        if gpu.vendor == "amd":
            cc, least = AMD_CAPABILITY.get(gpu.name), rule.amd_min
        else:
            cc, least = gpu.compute_capability, rule.nvidia_min
        if least is None:
            return False
        if cc is None:
            raise BadInputError(f"{self.name}: whether SGLang holds DeepSeek-V3's shared expert whole on every GPU "
                                f"depends on the compute capability, which kvplan does not know for {gpu.name} "
                                f"(models/deepseek_v2.py shared-experts fusion); name the GPU")
        return cc >= least

    def multimodal_reserve_bytes(self, spec) -> int:
        """What this release takes off the KV budget of a model it serves as multimodal (rule
        ``multimodal``: 100 MiB in 0.5.23); 0 otherwise, or where the release was not read for it.
        The one rule of ``carve`` (capacity) and of `kvplan explain` (kvplan.explain_sglang)."""
        rule = self.rule("multimodal")
        if rule is None or not self.rule("vlm_fraction").serves(spec):  # not mm_disabled_models (Gemma 3)
            return 0
        return rule["kv_reserve_mib"] * 2**20

    def check_fp8_block_experts(self, spec, gpu: GPU, weights) -> None:
        """Block-fp8 experts whose tensor-parallel shard of the expert intermediate size the checkpoint's
        blocks do not divide: Fp8MoEMethod.create_weights raises ValueError ("The output_size of gate's and
        up's weight = ... is not divisible by weight quantization block_n"; block_k at tp > 1) in every
        release (layers/quantization/fp8.py 0.4.6 :498-511, 0.5.18 :1161-1178, 0.5.23 :1584-1601), except
        on ROCm with aiter where its padding equals the block (get_moe_padding_size; not read: refused)."""
        misfit = fp8_expert_shard_misfit(spec, weights)
        if misfit is not None:
            shard, block_n, block_k = misfit
            amd = (" (on ROCm with aiter SGLang pads the experts instead, get_moe_padding_size, which kvplan "
                   "has not read)" if gpu.vendor == "amd" else "")
            raise BadInputError(
                f"{self.name} does not start {spec.name} with fp8 experts at this split: the tensor-parallel shard "
                f"of the expert intermediate size ({shard:,}) is not a multiple of the checkpoint's {block_n} x "
                f"{block_k} blocks, and python/sglang/srt/layers/quantization/fp8.py Fp8MoEMethod.create_weights "
                f"raises ValueError for it{amd}; use another --tp")

    def check_fp8_block_linears(self, spec, gpu: GPU, weights, settings: EngineSettings) -> None:
        """A block-fp8 checkpoint's dense linear layer whose tensor-parallel shard the blocks do not divide
        (kvplan.engines.base.fp8_linear_shard_misfit; DeepSeek-V3 fp8 at --tp 32 with expert parallelism: the
        dense MLP's gate_up_proj, 576 rows of gate and of up a rank against 128): Fp8LinearMethod.create_weights
        raises ValueError on every release (layers/quantization/fp8.py 0.4.6 lines 219-243, 0.5.8
        validate_block_quant_shapes lines 234-272, 0.5.23 lines 570-610), merged QKV / gate_up layers at any
        split, single layers where split over the group of rule ``fp8_block_linear_group``. Under DP attention
        the layers are split as ``weight_splits`` says (the dense MLP over tp x dp). MiMo-V2-Flash's qkv_proj
        skips the test (skip_block_quant_check=True, models/mimo_v2_flash.py 0.5.9 line 461); kvplan plans
        no SGLang release of it."""
        dp = settings.dp_attention
        splits = self.weight_splits(spec, gpu, tp=weights.tp, dp_attention=dp, expert_parallel=weights.moe_ep > 1)
        group = weights.tp * dp if self.rule("fp8_block_linear_group") == "whole" else None
        if (m := fp8_linear_shard_misfit(spec, weights, splits=splits, group=group)) is not None:
            raise BadInputError(
                f"{self.name} does not start {spec.name} with fp8 weights at this split: {m.tensor}, split {m.degree} "
                f"ways, holds {m.size:,} {m.side} channels a rank, not a multiple of the checkpoint's {m.block}-wide "
                f"blocks, and python/sglang/srt/layers/quantization/fp8.py Fp8LinearMethod.create_weights raises "
                f"ValueError ({m.value_error}); use another --tp")

    def carve(self, spec, gpu: GPU, weights, settings: EngineSettings) -> list[StageBudget]:
        """share = fraction x total; other = fraction x (memory in use before loading), so that
        pool = share - weights - other = fraction x (total - in use) - weights. Under DP
        attention every GPU joins SGLang's whole --tp group (tp x dp ranks) at start-up. 0.5.23
        takes 100 MiB more off a multimodal model's pool (rule ``multimodal``), counted in other:
        Gemma-3-27B on an H100 at mem_fraction_static 0.85 loses 104,857,600 B of KV pool."""
        self.check_fp8_block_experts(spec, gpu, weights)
        self.check_fp8_block_linears(spec, gpu, weights, settings)
        total = gpu.memory_bytes
        frac = settings.memory_fraction
        share = int(total * frac)
        other = int(self.startup_in_use_bytes(settings.tp * settings.dp_attention, settings.pp) * frac)
        other += self.multimodal_reserve_bytes(spec)
        out = []
        for st in weights.stages:
            w = self.loaded_bytes(spec, gpu, weights, st)
            out.append(StageBudget(st.stage, st.layers, total, share, w, 0, other, share - w - other))
        return out

    def allreduce_rms_fusion(self, gpu: GPU, *, tp: int, pp: int = 1, dp: int = 1, asked: bool | None = None,
                             spec=None, nodes: int = 1) -> AllReduceFusion:
        """SGLang's ``--enable-flashinfer-allreduce-fusion`` (rule ``allreduce_rms_fusion``): on
        when asked, else the release's default for the model's architecture (on by itself for
        some MoE models on Hopper / Blackwell from 0.5.1, without DP attention: ``dp > 1`` for
        these MoE models). Where on, the attention all-reduce of up to ``attn_max_tokens``
        tokens and the MLP all-reduce of up to ``mlp_max_tokens`` (not the last layer's) run
        fused; bytes = tokens x hidden_size x the model dtype's bytes, as kvplan.speed sizes
        an all-reduce. The flag cannot be turned off: ``asked=False`` where the default is on
        is refused, as are ``asked=True`` where the release lacks the flag, for an
        architecture or GPU kvplan has not read it for, and with pipeline stages."""
        from kvplan.formats import FORMATS

        rule: Fusion | None = self.rule("allreduce_rms_fusion")
        flag = "--enable-flashinfer-allreduce-fusion" if rule is None else rule.flag
        if rule is None:
            if asked:
                raise BadInputError(f"sglang {self.release} has no {flag} (SGLang has it from 0.4.9)")
            return AllReduceFusion(False, 0, f"SGLang {self.release}: no {flag} (from 0.4.9)")
        arch = getattr(spec, "architecture", "") or ""
        cc = gpu.compute_capability
        where = f"tp {tp}, dp {dp}, pp {pp}, CC {'none' if cc is None else f'{cc[0]}.{cc[1]}'}"
        default_majors = dict(rule.defaults).get(arch)
        default_on = (default_majors is not None and cc is not None and cc[0] in default_majors and dp == 1
                      and not (rule.single_node and nodes > 1 and cc[0] not in rule.multi_node_majors)
                      and gpu.name not in rule.not_gpus)
        if asked is False and default_on and rule.can_disable:
            return AllReduceFusion(False, 0, f"--enforce-disable-flashinfer-allreduce-fusion (asked; SGLang "
                                             f"{self.release} turns {flag} on for {arch} at {where})")
        if asked is False and default_on:
            raise BadInputError(f"sglang {self.release} turns {flag} on for {arch} at {where} (server_args.py) and "
                                f"has no flag to turn it off; drop --no-fuse-allreduce-rms")
        if asked:
            if not arch and rule.paths_read:
                raise BadInputError(f"{flag}: kvplan needs the model's architecture to know which all-reduces "
                                    f"SGLang {self.release} fuses, and this spec gives none")
            if rule.paths_read and arch not in rule.archs:
                raise BadInputError(f"kvplan has not read which all-reduces SGLang {self.release} fuses for {arch} "
                                    f"under {flag} (read: {', '.join(rule.archs)})")
            if cc is None or cc[0] not in rule.majors:
                raise BadInputError(f"SGLang {self.release} runs {flag} only on compute capability "
                                    f"{' / '.join(f'{m}.x' for m in rule.majors)}; {gpu.name} is not one")
            if dp > 1 and not rule.dp_attention_unfused:
                raise BadInputError(f"kvplan does not model SGLang {self.release}'s {flag} with DP attention "
                                    f"(dp {dp}): its MLP path does not test for it")
            why = f"{flag} (asked)"
        elif asked is False:
            return AllReduceFusion(False, 0, f"{flag} not given (asked)")
        elif default_on:
            why = f"SGLang {self.release} default for {arch} ({where})"
        else:
            if not arch:
                why = f"SGLang {self.release}: off (the spec names no architecture, which SGLang's default reads)"
            elif not rule.defaults:
                why = f"SGLang {self.release} default: off ({flag} not given)"
            else:
                need = "; ".join(f"{a} on CC {' / '.join(f'{m}.x' for m in ms)}" for a, ms in rule.defaults)
                extra = ", one node" if rule.single_node else ""
                extra += ", not an H20" if rule.not_gpus else ""
                why = (f"SGLang {self.release} default: off for {arch or 'this model'} at {where} (on for {need}, "
                       f"without DP attention{extra})")
            return AllReduceFusion(False, 0, why)
        if dp > 1:
            return AllReduceFusion(True, 0, why + "; with DP attention no all-reduce fuses (communicator.py)")
        if pp > 1 and tp > 1:
            raise BadInputError(f"kvplan does not model SGLang {self.release}'s {flag} ({why}) with pipeline stages: "
                                f"the last layer of a stage hands its MLP all-reduce to the next stage (is_last_layer "
                                f"counts the model's last layer only); time it at pp 1")
        if tp == 1:
            return AllReduceFusion(True, 0, why + "; nothing fuses at tp 1")
        if not rule.paths_read:
            raise BadInputError(f"SGLang {self.release} runs {flag} here ({why}), and kvplan has not read which of "
                                f"{spec.name if spec is not None else 'the model'}'s all-reduces it fuses "
                                f"({rule.source_paths}); time it with --no-fuse-allreduce-rms (SGLang's "
                                f"--enforce-disable-flashinfer-allreduce-fusion) or another release")
        token_bytes = spec.hidden_size * (FORMATS[spec.dtype].value_bits // 8)
        return AllReduceFusion(True, rule.attn_max_tokens * token_bytes, why,
                               mlp_max_bytes=rule.mlp_max_tokens * token_bytes, last_layer_mlp_fused=False)
