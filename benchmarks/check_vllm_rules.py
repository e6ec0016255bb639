"""Check kvplan's vLLM rule table (kvplan/engines/vllm_rules.py) against each modelled
release's own source, read from its published wheel.

    for v in 0.8.0 0.8.1 ... 0.19.1; do            # every release in vllm_rules.RELEASES
      pip download --no-deps --only-binary :all: --python-version 3.12 \
          --platform manylinux1_x86_64 --platform manylinux_2_31_x86_64 vllm==$v -d /tmp/w
      mkdir -p SRC/v$v && (cd SRC/v$v && unzip -q /tmp/w/vllm-$v-*.whl 'vllm/*.py') && rm /tmp/w/*
    done
    python benchmarks/check_vllm_rules.py SRC

For each release it reads the markers the rules come from (the top-k/top-p path, whether
the profile forward's output stays alive, the A100 exception, the CUDA-graph and
symmetric-memory environment defaults, CacheDType, the fused all-reduce + RMSNorm option,
its O2 default and size table; FlashInfer's head sizes; which backends take attention sinks, sliding windows and logit soft-caps (in float32 too) at
sample compute capabilities; what the start-up check counts and on which worker, MambaSpec's
speculative blocks, Nemotron-H's state dtype, prefix caching and speculative decoding with
Mamba layers, the hybrid block alignment on Blackwell, the scheduler-default caps, the
architectures that run Model Runner V2 by default and whether a quantized checkpoint escapes it,
the multimodal prefix-LM floor on max_num_batched_tokens, whether the fused-MoE layer is 0.24.0's
rewritten factory and still keeps what 0.24.0's reading found, whether unequal pages that do
not divide are padded, whether the MLA layer's profile forward and W_UV / W_UK_T views are what
the readings found and which MLA shapes FlashAttention's MLA prefill takes, whether deepseek_v2.py's
decoder forward takes its sequence-parallel steps only with expert parallelism and dp > 1; Model Runner V2's
dummy idx_mapping dtype, its float32 logits copy and 0.33.0's second (warm-up) dummy-sampler pass, whether V2
is the default for every model (0.29.0+), the --device-memory-utilization name, EnableDisableAction's
--enable-x / --disable-x pairs (and that every flag kvplan.vllm_args.INVERSE_SPELLINGS reads the other
spelling of is a bool field there), the float KV dtype check, expert substitution and the architectures
moved to the Transformers backend) and prints every disagreement with the table, and MISSING for a release
without a source tree; it exits non-zero on any. The planning functions 0.33.0 moved to
v1/core/kv_cache_planning.py are read with kv_cache_utils.py. Nothing of vLLM's is kept in this repository.
"""
import ast
import os
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from kvplan.engines.base import Release  # noqa: E402
from kvplan.engines.vllm import BOOK  # noqa: E402
from kvplan.engines.vllm_rules import KV_CACHE_DTYPES_NOT_MODELLED  # noqa: E402
from kvplan.paging import BOOK as PAGING  # noqa: E402
from kvplan.vllm_args import INVERSE_SPELLINGS  # noqa: E402

def allreduce_rms_fusion(rd):
    """Rule allreduce_rms_fusion as the release's source has it: None without
    PassConfig.fuse_allreduce_rms; else the compute-capability ranges where the O2 default
    (the default optimization_level) turns it on, and FI_ALLREDUCE_FUSION_MAX_SIZE_MB in bytes."""
    if not re.search(r'^\s+fuse_allreduce_rms: bool', rd('config/compilation.py'), re.M):
        return None
    vllm = rd('config/vllm.py')
    if not re.search(r'optimization_level: OptimizationLevel = OptimizationLevel\.O2', vllm):
        return 'the default optimization level is not O2'
    o2 = re.search(r'^OPTIMIZATION_LEVEL_02 = \{(.*?)^\}', vllm, re.S | re.M).group(1)
    o2_value = re.search(r'"fuse_allreduce_rms": (\w+)', o2).group(1)
    ranges = ()
    if o2_value != 'False':
        body = re.search(rf'def {o2_value}\(.*?\n    \)\n', vllm, re.S).group(0)
        for need in ('tensor_parallel_size > 1', 'is_cuda()', 'has_flashinfer()'):
            if need not in body:
                return f'{o2_value} does not test {need}'
        single = [need in body for need in ('data_parallel_size == 1', 'pipeline_parallel_size == 1')]
        if single[0] and not single[1]:
            return f'{o2_value} tests data_parallel_size == 1 but not pipeline_parallel_size == 1'
        tests = re.findall(r'is_device_capability(_family)?\((\d+)\)', body)
        ranges = tuple(sorted((((int(c) // 10, int(c) % 10), (int(c) // 10 + 1, 0)) if family else
                               ((int(c) // 10, int(c) % 10), (int(c) // 10, int(c) % 10 + 1)))
                              for family, c in tests))
    src = (rd('compilation/passes/fusion/allreduce_rms_fusion.py') or rd('compilation/collective_fusion.py'))
    text = re.search(r'FI_ALLREDUCE_FUSION_MAX_SIZE_MB[^=]*= (\{.*?\n\})', src, re.S).group(1)
    table = ast.literal_eval(re.sub(r'#.*', '', text))
    mib = 1 << 20
    # PassConfig.flashinfer_max_size answers only for FI_SUPPORTED_WORLD_SIZES (2, 4, 8; 16 from 0.25.0)
    sizes = re.search(r'FI_SUPPORTED_WORLD_SIZES = (\[[\d, ]*\])', rd('config/compilation.py'))
    sizes = ast.literal_eval(sizes.group(1)) if sizes else [2, 4, 8]
    max_bytes = {(cc // 10, cc % 10): {tp: int(mb * mib) for tp, mb in row.items() if tp in sizes}
                 for cc, row in table.items()}
    out = {"default_capabilities": ranges, "max_bytes": max_bytes}
    if any(tp > 8 for row in max_bytes.values() for tp in row):
        out["multi_node_unread"] = True  # 0.25.0+: tp 16 ("mnnvl multi-node"), kvplan refuses it across nodes
    if o2_value != 'False' and not single[0]:
        out["single_dp_pp"] = False  # 0.21.0+: on at any dp and pp
        if single[1]:
            out["single_pp"] = True  # 0.23.0+: pp 1 again, any dp
    return out



def mamba_prefix_caching_archs(d):
    """The architectures vLLM's registry maps to a class that lists SupportsMambaPrefixCaching
    among its bases (models/*.py), sorted."""
    models = f'{d}/model_executor/models'
    classes = set()
    for name in os.listdir(models):
        if not name.endswith('.py'):
            continue
        for node in ast.walk(ast.parse(open(f'{models}/{name}').read())):
            if isinstance(node, ast.ClassDef) and any(ast.unparse(b).endswith('SupportsMambaPrefixCaching')
                                                      for b in node.bases):
                classes.add((name[:-3], node.name))
    archs = set()
    for node in ast.walk(ast.parse(open(f'{models}/registry.py').read())):
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values):
                if isinstance(key, ast.Constant) and isinstance(value, ast.Tuple) and len(value.elts) == 2:
                    try:
                        if tuple(ast.literal_eval(value)) in classes:
                            archs.add(key.value)
                    except ValueError:
                        pass
    return tuple(sorted(archs))


root = sys.argv[1] if len(sys.argv) > 1 else "vllm-src"
_inverse = {flag: inverse for inverse, flag in INVERSE_SPELLINGS.items()}.get
#: every KV dtype a row of rule kv_cache_dtypes_unmodelled leaves out, in the rows' order (KV_CACHE_DTYPES_NOT_MODELLED
#: and the names 0.28.0-0.33.0 add: nvfp4_4over6, nvfp4_ds_mla, ultraquant_4bit, octave_*)
UNMODELLED_DTYPES = tuple(dict.fromkeys(KV_CACHE_DTYPES_NOT_MODELLED + tuple(
    d for r in BOOK.rules if r.name == 'kv_cache_dtypes_unmodelled' for d in r.value)))
bad = 0
for rel in BOOK.releases:
    d = f'{root}/v{rel}/vllm'
    if not os.path.isdir(d):
        print('MISSING', rel); bad += 1; continue
    rd = lambda p: open(f'{d}/{p}').read() if os.path.exists(f'{d}/{p}') else ''
    topk = rd('v1/sample/ops/topk_topp_sampler.py')
    if os.path.exists(f'{d}/v1/sample/ops/topk_topp_triton.py'): path = 'triton'
    elif 'VLLM_USE_FLASHINFER_SAMPLER is not False' in topk: path = 'flashinfer-if-installed'
    else: path = 'sort'
    runner = rd('v1/worker/gpu_model_runner.py')
    alive = re.search(r'return hidden_states, hidden_states\[logit_indices(_device)?\]', runner) is not None
    args = rd('engine/arg_utils.py')
    large = '>= 70 GiB and not A100' if '"a100" not in device_name' in args else '>= 70 GiB'
    if 'device_memory >= 160 * GiB_bytes' in args:  # 0.28.0+: EngineArgs.get_batch_defaults' first tier
        large = '>= 160 GiB; ' + large
    envs = rd('envs.py')
    m = re.search(r'"VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS".{0,80}?"([01])"', envs, re.S)
    cg = bool(m and m.group(1) == '1')
    m = re.search(r'"VLLM_ALLREDUCE_USE_SYMM_MEM".{0,80}?"([01])"', envs, re.S)
    symm = bool(m and m.group(1) == '1')
    cfg = rd('config/cache.py') or rd('config.py')
    m = re.search(r'CacheDType = Literal\[(.*?)\]', cfg, re.S)
    unmodelled = ()
    if m:
        dtypes = tuple(d for d in re.findall(r'"([^"]+)"', m.group(1))
                       if d not in UNMODELLED_DTYPES)  # 0.20.0+: left out on purpose
        unmodelled = tuple(d for d in UNMODELLED_DTYPES if f'"{d}"' in m.group(1))
    else:
        m = re.search(r"--kv-cache-dtype'.{0,80}?choices=\[(.*?)\]", args, re.S)
        dtypes = tuple(sorted(re.findall(r"'([^']+)'", m.group(1)), key=['auto','fp8','fp8_e4m3','fp8_e5m2'].index))
    serve = re.search(r'UsageContext.OPENAI_API_SERVER: 8192', args) is not None
    v1_cc = (8, 0) if 'feature_name="Compute Capability < 8.0"' in args else None  # else V1 runs below 8.0
    got = dict(sampler_top_k_top_p=path, hidden_states_alive_in_sampler=alive, large_gpu_test=large,
               cudagraph_estimate_subtracted=cg, symmetric_memory_all_reduce=symm, kv_cache_dtypes=dtypes,
               kv_cache_dtypes_unmodelled=unmodelled,
               v1_min_capability=v1_cc, allreduce_rms_fusion=allreduce_rms_fusion(rd))
    fi = re.search(r'def get_supported_head_sizes\(.*?return (\[[\d, ]*\])', rd('v1/attention/backends/flashinfer.py'), re.S)
    got['flashinfer_head_sizes'] = tuple(ast.literal_eval(fi.group(1))) if fi else None
    # fp8_kv_start: which code decides, told apart by the rule's source (function named there)
    cuda = rd('platforms/cuda.py')
    oracle = args[args.find('def _is_v1_supported_oracle'):][:6000]
    if 'kv_cache_dtype != "auto"' in oracle and 'flash_attn_supports_fp8()' in oracle: fp8 = 'flash_attn_supports_fp8'
    elif 'kv_cache_dtype != "auto"' in oracle and 'is_kv_cache_dtype_supported' in oracle: fp8 = 'is_kv_cache_dtype_supported'
    elif 'kv_cache_dtype != "auto"' in oracle: fp8 = "'No Fp8 KV cache so far'"
    elif 'use_fp8_kv_cache) and not cls.is_device_capability(90)' in cuda: fp8 = 'use_fp8_kv_cache'
    elif 'def _get_backend_priorities' in cuda: fp8 = '_get_backend_priorities'
    else: fp8 = '?'
    told = ' '.join(r.source + ' '.join(row[3] for row in r.value) for r in BOOK.rules
                    if r.name == 'fp8_kv_start' and r.covers(Release.parse(rel)))
    if fp8 not in told:
        print(f'{rel}: fp8_kv_start source={fp8!r}'); bad += 1
    # fp8_kv_start_mla: what the MLA backends do with an fp8 cache, told apart the same way
    mla = lambda b: rd(f'v1/attention/backends/mla/{b}.py')
    m = re.search(r'supported_kv_cache_dtypes[^=]*=\s*\[(.*?)\]', mla('triton_mla'), re.S)
    if m:  # 0.11.1+: the backends' supported_kv_cache_dtypes
        triton_fp8 = '"fp8"' in m.group(1)
        fp8m = 'no fp8 before 0.18.0' if not triton_fp8 else 'fp8 from 0.18.0'
    elif 'FlashMLA V1 with FP8 KV cache not yet supported' in mla('flashmla'):
        fp8m = 'FlashMLA V1 with FP8 KV cache not yet supported'
    elif 'descale_q' in mla('flashmla') and 'TritonMLA V1 with FP8 KV cache' in mla('triton_mla'):
        fp8m = 'descale_q/descale_k from 0.10.2'
    else:
        fp8m = '?'
    if 'No Fp8 KV cache so far' in oracle and 'flash_attn_supports_fp8' not in oracle \
            and 'is_kv_cache_dtype_supported' not in oracle:
        fp8m = "'No Fp8 KV cache so far'"
    rule = next((r for r in BOOK.rules if r.name == 'fp8_kv_start_mla' and r.covers(Release.parse(rel))), None)
    told = rule.source + ' ' + ' '.join(row[3] for rows in rule.value.values() for row in rows) if rule else ''
    if fp8m not in told:
        print(f'{rel}: fp8_kv_start_mla source={fp8m!r}'); bad += 1
    # from 0.11.1 the table refuses fp8_e5m2 everywhere: no MLA backend may list it
    e5m2 = any('"fp8_e5m2"' in mla(b) for b in ('flashmla', 'cutlass_mla', 'flashinfer_mla', 'triton_mla',
                                                  'flashattn_mla'))
    e5m2_told = rule is not None and all(r[2] == 'fails' for r in rule.value['fp8_e5m2'])
    if m and e5m2 == e5m2_told:
        print(f'{rel}: fp8_kv_start_mla fp8_e5m2 listed={e5m2} table refuses={e5m2_told}'); bad += 1
    # ---- model attention features (rules attention_features_start, fp8_kv_start_sinks): the verdict
    #      each release's source gives at sample compute capabilities, against the table's rows ----
    backends = lambda b: rd(f'v1/attention/backends/{b}.py')
    priorities = 'def _get_backend_priorities' in cuda
    v1_below_8 = 'feature_name="Compute Capability < 8.0"' not in args
    flex_default_old = 'FlexAttention is the default for older GPUs' in cuda
    any_sinks = any('sinks' in backends(b) for b in ('flash_attn', 'triton_attn', 'flashinfer'))
    triton_sinks = re.search(r'def supports_sink\(cls\) -> bool:\s*return True', backends('triton_attn')) is not None
    fi_sinks_trtllm = 'sinks' in backends('flashinfer') and 'trtllm' in backends('flashinfer').lower()
    # FlashInfer takes sinks only through TRTLLM: `return supports_trtllm_attention()` (SM100 inside it), or
    # from 0.25.0 an explicit SM100-family test, then the prefill and decode TRTLLM tests
    fi_sink_is_trtllm = re.search(r'def supports_sink\(cls\).*?return supports_trtllm_attention\(\)',
                                  backends('flashinfer'), re.S) is not None or re.search(
        r'def supports_sink\(cls\).*?if not current_platform\.is_device_capability_family\(100\):\s*return False'
        r'.*?return supports_trtllm_attention\(\s*is_prefill=False\s*\) and supports_trtllm_attention\(\s*is_prefill=True',
        backends('flashinfer'), re.S) is not None
    fi_first_on_100 = 'cls.is_device_capability(100)' in cuda and 'FLASHINFER_V1' in cuda
    triton_off_90 = 'has_sink and not cls.is_device_capability(90)' in cuda or '(has_sink or' in cuda
    fa_sink_from_90 = 'sink not supported on compute capability < 9.0' in backends('flash_attn')

    def sinks_any(cc):
        if not any_sinks:
            return 'fails'
        if priorities:
            return 'starts' if triton_sinks else '?'
        if cc == (10, 0) and fi_first_on_100 and fi_sinks_trtllm:
            return 'unmodelled'
        return 'starts' if (cc == (9, 0) or triton_off_90 or cc < (8, 0)) else '?'

    flex_refuses_window = 'FlexAttention does not support sliding window yet' in backends('flex_attention')

    def sliding_any(cc):
        return 'fails' if (cc < (8, 0) and v1_below_8 and flex_default_old and flex_refuses_window) else 'starts'

    flex_softcap_raises = 'FlexAttention does not support logits soft cap yet' in backends('flex_attention')
    fa_dtypes = re.search(r'def get_supported_dtypes\(cls\).*?return (\[.*?\])', backends('flash_attn'), re.S)
    fp32_to_flex = ('FP32 is only supported by FlexAttention' in cuda
                    or ('use_flex_attention_reason["dtype"]' in cuda and fa_dtypes is not None
                        and 'float32' not in fa_dtypes.group(1)))
    fp32_v0 = 'V1_SUPPORTED_DTYPES' in oracle
    takes_softcap = all('logits_soft_cap' in backends(b) for b in ('flash_attn', 'triton_attn', 'flashinfer')
                        if backends(b))
    if priorities:  # 0.11.1+: FLEX_ATTENTION last; TRITON_ATTN, before it, must take float32
        fp32_to_flex = 'torch.float32' not in re.search(r'supported_dtypes[^=]*=\s*\[(.*?)\]',
                                                        backends('triton_attn'), re.S).group(1)

    def softcap_any(cc, fp32):
        if fp32 and fp32_v0:
            return 'v0'
        if not takes_softcap:
            return '?'
        flex = (fp32 and fp32_to_flex) or (cc < (8, 0) and v1_below_8 and flex_default_old and not priorities)
        return 'fails' if flex and flex_softcap_raises else 'starts'

    def fp32_any(cc, window):
        if fp32_v0:
            return 'v0'
        return 'fails' if (window and fp32_to_flex and flex_refuses_window) else 'starts'

    def fp8_sinks(cc):  # None: the table defers to fp8_kv_start
        if not priorities:
            return None
        if cc[0] == 9:
            return 'starts' if 'flash_attn_supports_sinks' in backends('flash_attn') else '?'
        if cc >= (8, 9):
            return 'starts' if triton_sinks else '?'
        return 'fails' if (fi_sink_is_trtllm and fa_sink_from_90 and triton_sinks) else '?'

    def verdict(rows, cc):
        return next(v for lo, below, v, _ in rows if lo <= cc < below)

    feats = BOOK.value('attention_features_start', rel)
    fp8s = BOOK.value('fp8_kv_start_sinks', rel)
    for cc in ((7, 0), (7, 5), (8, 0), (8, 6), (8, 9), (9, 0), (10, 0), (10, 3), (12, 0)):
        if not v1_below_8 and cc < (8, 0):
            continue  # V0 there: check_gpu refuses before any feature is asked
        for key, src in (('sinks', sinks_any(cc)), ('sliding_window', sliding_any(cc)),
                         ('softcap', softcap_any(cc, False)), ('softcap_fp32', softcap_any(cc, True)),
                         ('fp32', fp32_any(cc, False)), ('sliding_window_fp32', fp32_any(cc, True))):
            if verdict(feats[key], cc) != src:
                print(f'{rel}: attention_features_start {key} at {cc} table={verdict(feats[key], cc)!r} source={src!r}')
                bad += 1
        want_fp8 = fp8_sinks(cc)
        got_fp8 = None if fp8s is None else verdict(fp8s, cc)
        if got_fp8 != want_fp8:
            print(f'{rel}: fp8_kv_start_sinks at {cc} table={got_fp8!r} source={want_fp8!r}'); bad += 1
    # ---- end of model attention features
    # ---- state-space models and scheduler caps (rules state_space_engine, state_prefix_caching,
    #      state_speculative_archs, hybrid_alignment_32, mamba_ssm_cache_dtype, scheduler_default_caps)
    models_cfg = rd('model_executor/models/config.py')
    got['state_space_engine'] = ('v0' if ('has_inner_state and _warn_or_fallback' in args
                                          or 'No Mamba or Encoder-Decoder so far' in args
                                          and 'SupportsV0Only' in rd('model_executor/models/mamba.py')) else 'v1')
    if got['state_space_engine'] == 'v0':
        prefix = 'v0'
    elif re.search(r'^\s+cache_config\.enable_prefix_caching = False\n\s+logger\.info\("Hybrid or mamba-based model '
                   r'detected: disabling prefix', models_cfg, re.M):
        prefix = 'off'
    elif 'mamba_cache_mode' in models_cfg:  # 0.15.0+: on for every class ('all' or 'align')
        prefix = 'honoured'
    elif 'support for prefix caching: disabling' in models_cfg and 'supports_mamba_prefix_caching' in models_cfg:
        prefix = mamba_prefix_caching_archs(d)  # on for these, off for the others
    else:
        prefix = '?'
    got['state_prefix_caching'] = prefix
    abstract = rd('model_executor/layers/mamba/abstract.py')
    spec_check = runner + abstract
    if 'class MambaSpec' not in rd('v1/kv_cache_interface.py'):
        got['state_speculative_archs'] = ()  # no state-space layers in V1 at all
    elif 'Mamba with speculative decoding is not supported yet' not in spec_check:
        got['state_speculative_archs'] = None
    elif 'not in ["qwen3_next"]' in spec_check:
        got['state_speculative_archs'] = ('Qwen3NextForCausalLM',)
    else:
        got['state_speculative_archs'] = ()
    if 'kernel_block_alignment_size = 32' not in models_cfg:
        got['hybrid_alignment_32'] = None
    elif 'is_device_capability_family(100)' in models_cfg:
        got['hybrid_alignment_32'] = ((10, 0), (11, 0))
    else:
        got['hybrid_alignment_32'] = ((10, 0), (10, 1))
    m = re.search(r'class NemotronHForCausalLMConfig.*?getattr\(\s*hf_config, "mamba_ssm_cache_dtype", '
                  r'(?:"(\w+)"|cls\.DEFAULT_MAMBA_SSM_CACHE_DTYPE)', models_cfg, re.S)
    if m and m.group(1) is None:  # 0.20.0+: the class constant
        m2 = re.search(r'DEFAULT_MAMBA_SSM_CACHE_DTYPE(?:: "?\w+"?)? = "(\w+)"', models_cfg)
        name = m2.group(1) if m2 else '?'
    else:
        name = m.group(1) if m else None
    got['mamba_ssm_cache_dtype'] = {'NemotronHForCausalLM': {'float16': 'fp16', 'float32': 'fp32'}.get(name, name)
                                    if name else None}
    # v2_model_runner_architectures: no VLLM_USE_V2_MODEL_RUNNER -> None; default "0" -> (); unset by
    # default -> the DEFAULT_V2_MODEL_RUNNER_ARCHITECTURES of vllm/config/vllm.py, sorted
    # v2_default_all: VllmConfig.use_v2_model_runner ends in `return True` (V2 unless a setting or feature opts
    # out) and config/vllm.py has no architecture list (0.29.0+); its opt-outs (_get_v2_model_runner_unsupported_
    # features) must not name quantization or experts, which the table says take V2 too
    vcfg = rd('config/vllm.py')
    default_all = False
    if vcfg and 'DEFAULT_V2_MODEL_RUNNER_ARCHITECTURES' not in vcfg:
        for node in ast.walk(ast.parse(vcfg)):
            if isinstance(node, ast.FunctionDef) and node.name == 'use_v2_model_runner':
                last = node.body[-1]
                default_all = (isinstance(last, ast.Return) and isinstance(last.value, ast.Constant)
                               and last.value.value is True)
            if isinstance(node, ast.FunctionDef) and node.name == '_get_v2_model_runner_unsupported_features':
                body = ast.unparse(node)
                if 'quant' in body or 'is_moe' in body:
                    print(f'{rel}: v2_default_all: _get_v2_model_runner_unsupported_features tests quantization or '
                          f'experts (not read)'); bad += 1
    got['v2_default_all'] = default_all
    m = re.search(r'"VLLM_USE_V2_MODEL_RUNNER":(.{0,120})', envs, re.S)
    if m is None:
        got['v2_model_runner_architectures'] = None
    elif '"0"' in m.group(1):
        got['v2_model_runner_architectures'] = ()
    else:
        m2 = re.search(r'DEFAULT_V2_MODEL_RUNNER_ARCHITECTURES = frozenset\(\s*\{(.*?)\}', rd('config/vllm.py'), re.S)
        got['v2_model_runner_architectures'] = (tuple(sorted(re.findall(r'"(\w+)"', m2.group(1)))) if m2 else
                                                () if default_all else '?')  # 0.29.0+: no list, every model
    # v2_model_runner_skips_quantized: None without default-V2 architectures; else whether
    # _is_default_v2_model_runner_model ends in `not model_config.is_moe and not model_config.is_quantized`
    if default_all:
        got['v2_model_runner_skips_quantized'] = False  # 0.29.0+: no quantized escape (checked above)
    elif not got['v2_model_runner_architectures']:
        got['v2_model_runner_skips_quantized'] = None
    else:
        body = re.search(r'def _is_default_v2_model_runner_model\(self\).*?(?=\n    (?:@|def ))', rd('config/vllm.py'),
                         re.S)
        got['v2_model_runner_skips_quantized'] = (None if body is None else
                                                  'not model_config.is_quantized' in body.group(0))
    # v2_model_runner_dense: _is_default_v2_model_runner_model also takes every model without experts
    # (`or not model_config.is_moe`, 0.25.0+)
    body = re.search(r'def _is_default_v2_model_runner_model\(self\).*?(?=\n    (?:@|def ))', rd('config/vllm.py'), re.S)
    got['v2_model_runner_dense'] = default_all or (body is not None and 'or not model_config.is_moe' in body.group(0))
    # v2_runner_memory (FINDINGS_h31_v2run.md, FINDINGS_h31_v27v2.md): where the table says V2 was read,
    # whether the dummy run's logits get a float32 copy in Sampler.apply_sampling_params: the copy
    # (0.25.x), none (0.26.0: in place), or one only past a `_requires_logits_processing` early return
    # that the dummy defaults take (0.27.0)
    if BOOK.value('v2_runner_memory', rel) is not None:
        asp = re.search(r'def apply_sampling_params\(.*?(?=\n    def )', rd('v1/worker/gpu/sample/sampler.py'), re.S)
        asp = asp.group(0) if asp else ''
        copy = 'torch.empty_like(logits, dtype=torch.float32).copy_(logits)' in asp
        # the early return the dummy defaults take: _requires_logits_processing (0.27.x), or (0.28.0+) the
        # needs_logits_processing flags, which only Sampler.add_request sets
        guarded = (re.search(r'if not self\._requires_logits_processing\(idx_mapping_np\):\s*return logits', asp)
                   or re.search(r'if not np\.any\(self\.needs_logits_processing\[idx_mapping_np\]\):\s*return logits',
                                asp))
        memory = {'fp32_logits_copy': copy and guarded is None}
        # idx_mapping_bytes: the dtype InputBatch.make_dummy gives idx_mapping (int32 / int64)
        dummy = re.search(r'def make_dummy\(.*?(?=\n    (?:@|def )|\n\S)', rd('v1/worker/gpu/input_batch.py'), re.S)
        idx = re.search(r'idx_mapping = torch\.arange\(num_reqs, dtype=torch\.int(32|64)', dummy.group(0) if dummy else '')
        memory['idx_mapping_bytes'] = int(idx.group(1)) // 8 if idx else '?'
        # warmup_pass (0.33.0+): GPUModelRunner._dummy_sampler_run calls the sampler a second time after
        # add_request(SamplingParams.for_sampler_warmup()) for every dummy row; the first call stays the default pass
        v2_runner = rd('v1/worker/gpu/model_runner.py')
        for node in ast.walk(ast.parse(v2_runner)) if v2_runner else ():
            if isinstance(node, ast.FunctionDef) and node.name == '_dummy_sampler_run':
                calls = [ast.unparse(c.func) for c in ast.walk(node) if isinstance(c, ast.Call)]
                runs = calls.count('self.sampler')
                warm = 'SamplingParams.for_sampler_warmup' in calls and 'self.sampler.add_request' in calls
                if runs >= 2 and warm:
                    memory['warmup_pass'] = True
                elif runs != 1 or warm:
                    memory['warmup_pass'] = '?'
        got['v2_runner_memory'] = memory
    # cudagraph_estimate_on_amd: the platform test in front of profile_cudagraph_memory() in
    # Worker.determine_available_memory ('is_cuda_alike()' measures on ROCm too, 0.26.0+)
    worker = rd('v1/worker/gpu_worker.py')
    tests = [ast.unparse(n.test) for n in ast.walk(ast.parse(worker)) if isinstance(n, ast.If)
             and any('self.model_runner.profile_cudagraph_memory()' in ast.unparse(b) for b in n.body)] if worker else []
    got['cudagraph_estimate_on_amd'] = bool(tests) and 'is_cuda_alike()' in min(tests, key=len)
    # non_kv_from_free_memory: memory_profiling's non-KV memory from the device's free memory
    # (total_consumed + transient_peak_headroom, 0.27.0+) rather than weights + torch peak + non-torch
    mem = rd('utils/mem_utils.py') or rd('utils/__init__.py')
    got['non_kv_from_free_memory'] = re.search(r'non_kv_cache_memory = result\.total_consumed \+ '
                                               r'result\.transient_peak_headroom', mem) is not None
    # window_in_flight_tokens: SlidingWindowSpec / ChunkedLocalAttentionSpec size a request with
    # vllm_config.max_in_flight_tokens (0.26.0+) rather than max_num_batched_tokens
    kci_text = rd('v1/kv_cache_interface.py')
    sw = kci_text[kci_text.find('class SlidingWindowSpec('):][:4000]
    got['window_in_flight_tokens'] = 'in_flight' if 'max_in_flight_tokens=vllm_config.max_in_flight_tokens' in sw else None
    # mla_forward_read: True where mla_attention.py's MLACommonImpl, or the MLACommonBaseImpl it derives from
    # (0.26.0), has forward_mha, the profile run's attn_metadata-None branch allocates the
    # chunked_prefill_workspace_size tensor, and W_UV / W_UK_T are the views (0.26.0: through
    # replace_parameter, no copy where no parameter of that name exists) -- what the readings found
    mla = rd('model_executor/layers/attention/mla_attention.py')

    def _cls(name):
        at = mla.find(f'\nclass {name}(')
        if at < 0:
            return ''
        nxt = mla.find('\nclass ', at + 1)
        return mla[at:nxt if nxt > 0 else None]
    impl = _cls('MLACommonImpl')
    if not impl or ('def _forward_prefill' in impl + _cls('MLACommonBaseImpl')
                    and 'def forward_mha' not in impl + _cls('MLACommonBaseImpl')):
        got['mla_forward_read'] = True  # no MLACommonImpl here, or 0.15.x's _forward_prefill layout: earlier rules
    else:
        base = _cls('MLACommonBaseImpl') if 'class MLACommonImpl(MLACommonBaseImpl' in impl else ''
        views = (re.search(r'self\.W_UV = W_UV\.transpose\(0, 1\)', mla) is not None
                 or re.search(r'replace_parameter\(self, "W_UV", W_UV\.transpose\(0, 1\)', mla) is not None)
        got['mla_forward_read'] = ('def forward_mha' in impl + base and views
                                   and 'self.chunked_prefill_workspace_size,' in mla)
    # mla_prefill_dimensions: None where FlashAttnPrefillBackend has no supports_mla_dimensions; else the
    # dims it lists (named dims_* locals, 0.26.0, or inline, 0.27.0), split by whether FlashAttention 4 takes
    # them (0.26.0: "not_fa4") and whether the selector puts another prefill first for them on 10.x (0.27.0:
    # "not_blackwell", an `if mla_dimensions == MLADimensions(...)` list not led by FLASH_ATTN)
    fa_prefill = rd('v1/attention/backends/mla/prefill/flash_attn.py')
    sup = re.search(r'def supports_mla_dimensions\(.*?(?=\n    (?:@|def ))', fa_prefill, re.S)
    dims_re = r'MLADimensions\(\s*qk_nope_head_dim=(\d+),\s*qk_rope_head_dim=(\d+),\s*v_head_dim=(\d+)'
    if sup is None:
        got['mla_prefill_dimensions'] = None
    else:
        named = {m.group(1): tuple(int(x) for x in m.group(2, 3, 4)) for m in re.finditer(
            r'(dims_\w+) = ' + dims_re, sup.group(0))}
        if not named:
            named = {f'inline{i}': tuple(int(x) for x in m.groups()) for i, m in enumerate(re.finditer(dims_re, sup.group(0)))}
        fa4 = re.search(r'if fa_version == 4:\s*return mla_dimensions in \[([^\]]*)\]', sup.group(0))
        fa4_names = re.findall(r'dims_\w+', fa4.group(1)) if fa4 else list(named)
        prio = (re.search(r'def _get_mla_prefill_backend_priorities\(.*?(?=\ndef )',
                          rd('v1/attention/backends/mla/prefill/selector.py'), re.S)
                or re.search(r'def get_mla_prefill_backend_cls\(.*?(?=\n    (?:@|def ))', rd('platforms/interface.py'), re.S))
        not_bw = set()
        for m in re.finditer(r'if (?:mla_selector_config\.)?mla_dimensions == ' + dims_re +
                             r',?\s*\)\s*:\s*(?:return|priorities =) \[\s*MLAPrefillBackendEnum\.(\w+)',
                             prio.group(0) if prio else ''):
            if m.group(4) != 'FLASH_ATTN':
                not_bw.add(tuple(int(x) for x in m.group(1, 2, 3)))
        every = tuple(d for n, d in named.items() if n in fa4_names and d not in not_bw)
        rest = tuple(d for n, d in named.items() if n not in fa4_names)
        got['mla_prefill_dimensions'] = ({"every": every, "not_fa4": rest} if not not_bw else
                                         {"every": every, "not_blackwell": tuple(d for d in named.values() if d in not_bw)})
    # deepseek_v2_forward_read: True where DeepseekV2DecoderLayer.forward clones the first residual (up to
    # 0.24.0), or takes its sequence-parallel steps only under use_sequence_parallel_moe, which ParallelConfig
    # allows only with expert parallelism and dp > 1 (0.25.0+, FINDINGS_h31_v26moe.md)
    ds = rd('model_executor/models/deepseek_v2.py')
    layer_fwd = re.search(r'class DeepseekV2DecoderLayer\(.*?\n    def forward\(.*?(?=\n    def |\nclass |\n@)', ds, re.S)
    if layer_fwd is not None and 'sequence_parallel' not in layer_fwd.group(0) \
            and 'if residual is None:\n            residual = hidden_states\n' in layer_fwd.group(0):
        got['deepseek_v2_forward_read'] = True  # 0.9.x-0.10.x: the first residual aliased, no sequence-parallel step
    elif layer_fwd is not None and 'residual = hidden_states.clone()' not in layer_fwd.group(0):
        sp = re.search(r'def use_sequence_parallel_moe\(self\).*?(?=\n    @|\n    def )', rd('config/parallel.py'), re.S)
        fwd = layer_fwd.group(0)
        got['deepseek_v2_forward_read'] = (
            sp is not None and 'self.enable_expert_parallel' in sp.group(0) and 'self.data_parallel_size > 1' in sp.group(0)
            and 'if residual is None:\n            residual = hidden_states\n' in fwd
            and fwd.count('if self.use_sequence_parallel_moe:') == 2 and 'input_is_sequence_parallel:' in fwd)
    elif layer_fwd is not None:
        got['deepseek_v2_forward_read'] = True
    # moe_persistent_workspace for the refactored layer (0.24.0+: fused_moe/layer.py FusedMoE is a
    # factory function, not the class the 0.20.0-0.23.0 rows were read on): "oracle triton" where
    # 0.24.0's reading holds by its markers (RoutedExperts creates the weights, the quant method builds
    # the kernel in process_weights_after_loading, Hopper moves FlashInfer CUTLASS behind Triton,
    # TritonExperts.workspace_shapes and the modular kernel's single get_simultaneous), else "oracle unread"
    if re.search(r'^def FusedMoE(?:Factory)?\(', rd('model_executor/layers/fused_moe/layer.py'), re.M):
        fm = 'model_executor/layers/fused_moe/'
        unq, triton = rd(fm + 'oracle/unquantized.py'), rd(fm + 'experts/triton_moe.py')
        hopper = re.search(r'is_device_capability_family\(90\):\s*\n(?:\s*_move_to_back\([^)]*\)\s*\n)*'
                           r'\s*_move_to_back\(_AVAILABLE_BACKENDS, UnquantizedMoeBackend\.FLASHINFER_CUTLASS\)', unq)
        read = (hopper is not None
                and 'self.quant_method.create_weights(layer=self' in rd(fm + 'routed_experts.py')
                and 'self.moe_kernel = make_unquantized_moe_kernel(' in rd(fm + 'unquantized_fused_moe_method.py')
                and 'supports_internal_mk' in rd(fm + 'runner/moe_runner.py')
                and 'workspace1 = (M, topk, max(activation_out_dim, K))' in triton
                and 'workspace2 = (M, topk, max(N, K))' in triton
                and rd(fm + 'modular_kernel.py').count('get_simultaneous(') == 1
                # 0.27.0+: the Triton tensor-descriptor path (a Triton scratch allocator) only on XPU unless
                # VLLM_TRITON_USE_TD is set (refused as an unread variable)
                and ('def resolve_moe_use_td' not in rd(fm + 'utils.py')
                     or re.search(r'if override is None:\s*return current_platform\.is_xpu\(\)', rd(fm + 'utils.py'))
                     is not None))
        got['moe_persistent_workspace'] = 'oracle triton' if read else 'oracle unread'
    # mm_prefix_lm_token_floor: the registry's architectures whose module's ProcessingInfo overrides
    # get_mm_max_tokens_per_item and whose model type is a prefix-LM one (MM_PREFIX_LM_MODELS), plus
    # the one the code names (Gemma 4, its config's is_mm_prefix_lm not read); () without the floor
    if '_get_min_mm_batched_tokens' not in args:
        got['mm_prefix_lm_token_floor'] = ()
    else:
        conv = rd('transformers_utils/model_arch_config_convertor.py')
        prefix_types = set(re.findall(r'"(\w+)"', re.search(r'MM_PREFIX_LM_MODELS = \((.*?)\)', conv, re.S).group(1)))
        registry = rd('model_executor/models/registry.py')
        floor = set()
        for arch, module in re.findall(r'"(\w+)": \(\s*"(\w+)",', registry):
            src = rd(f'model_executor/models/{module}.py')
            # the module's name, the model types it and its vLLM config (transformers_utils/configs/<module>.py) name
            types = {module} | set(re.findall(r'model_type\s*[=:]\s*"(\w+)"',
                                              src + rd(f'transformers_utils/configs/{module}.py')))
            if 'def get_mm_max_tokens_per_item' in src and (types & prefix_types or module == 'gemma4_mm'):
                floor.add(arch)
        got['mm_prefix_lm_token_floor'] = tuple(sorted(floor))
    # enable_disable_inverse: FlexibleArgumentParser registers EnableDisableAction for argparse's
    # BooleanOptionalAction, pairing --enable-x with --disable-x (0.33.0+); then every flag kvplan reads the other
    # spelling of (kvplan.vllm_args.INVERSE_SPELLINGS) must be a bool field of EngineArgs or of the frontend's
    # dataclass (get_kwargs gives it BooleanOptionalAction), not a store_true flag
    parser_src = rd('utils/argparse_utils.py') or rd('utils/__init__.py') or rd('utils.py')
    pair = re.search(r'class EnableDisableAction\(BooleanOptionalAction\):.*?_inverse_prefixes = (\{.*?\})', parser_src, re.S)
    init = re.search(r'class FlexibleArgumentParser\(.*?def __init__\(.*?(?=\n    def )', parser_src, re.S)
    got['enable_disable_inverse'] = (
        pair is not None and ast.literal_eval(pair.group(1)) == {'--enable-': '--disable-', '--disable-': '--enable-'}
        and init is not None and 'self.register("action", BooleanOptionalAction, EnableDisableAction)' in init.group(0))
    if got['enable_disable_inverse']:
        fields = args + ''.join(rd(f'entrypoints/{sub}/cli_args.py') for sub in sorted(os.listdir(f'{d}/entrypoints'))
                                if os.path.isdir(f'{d}/entrypoints/{sub}'))
        for flag in sorted(set(INVERSE_SPELLINGS.values())):
            dest = flag[2:].replace('-', '_')
            if not re.search(rf'^\s+{dest}: bool\b', fields, re.M) or re.search(
                    rf'"{flag}",[^)]*action="store_true"', fields):
                print(f'{rel}: enable_disable_inverse: {flag} is not a bool field (no --{_inverse(flag)[2:]} '
                      f'in this release)'); bad += 1
    # device_memory_utilization_flag: add_cli_args' other name of --gpu-memory-utilization (0.31.0+)
    got['device_memory_utilization_flag'] = '"--device-memory-utilization"' in args
    # float_kv_dtype_must_match: VllmConfig.__post_init__ calls _reject_mismatched_float_kv_cache (0.33.0+)
    post_init = re.search(r'def __post_init__\(self\).*?(?=\n    (?:@|def ))', vcfg, re.S)
    got['float_kv_dtype_must_match'] = ('def _reject_mismatched_float_kv_cache(' in vcfg and post_init is not None
                                        and 'self._reject_mismatched_float_kv_cache()' in post_init.group(0))
    # expert_substitution: fused_moe/expert_substitution.py reads approximate_experts (0.33.0+)
    got['expert_substitution'] = 'approximate_experts' in rd('model_executor/layers/fused_moe/expert_substitution.py')
    # transformers_backend_moved: the keys of registry.py's _TRANSFORMERS_SUPPORTED_MODELS (as a set: the table
    # keeps the order releases added them in)
    tfb = re.search(r'^_TRANSFORMERS_SUPPORTED_MODELS = (\{.*?^\})', rd('model_executor/models/registry.py'), re.S | re.M)
    tfb_keys = set(ast.literal_eval(re.sub(r'#.*', '', tfb.group(1)))) if tfb else set()
    if tfb_keys != set(BOOK.value('transformers_backend_moved', rel)):
        print(f'{rel}: transformers_backend_moved table={sorted(BOOK.value("transformers_backend_moved", rel))} '
              f'source={sorted(tfb_keys)}'); bad += 1
    got['scheduler_default_caps'] = re.search(r'self\.max_num_batched_tokens = min\(\s*self\.max_num_seqs \* '
                                              r'model_config\.max_model_len', args) is not None
    # paging rules read from vllm/v1/core/kv_cache_utils.py and kv_cache_interface.py
    kcu = rd('v1/core/kv_cache_utils.py') + rd('v1/core/kv_cache_planning.py')  # 0.33.0 moved the planning there
    if '_max_memory_usage_bytes_from_groups' not in kcu:
        check = 'layers'
    elif 'any_spec = kv_cache_groups[0].kv_cache_spec' in kcu:
        check = 'first_group'
    else:
        check = 'groups'
    if '_project_kv_cache_groups_to_worker' in kcu or '_max_memory_usage_bytes_from_groups' not in kcu:
        scope = 'worker'
    else:
        scope = 'model' if re.search(r'_check_enough_kv_cache_memory\(\s*min\(available_memory\)', kcu) else '?'
    kci = rd('v1/kv_cache_interface.py')
    mamba_spec = kci[kci.find('class MambaSpec'):][:3000]
    if 'num_speculative_blocks' not in mamba_spec:
        spec_blocks = 'none'
    elif '(1 + self.num_speculative_blocks)' in mamba_spec:
        spec_blocks = 'admission_and_check'
    else:
        spec_blocks = 'admission'
    # window_v_head_dim: does SlidingWindowSpec (ChunkedLocalAttentionSpec) carry head_size_v, and does
    # unify_hybrid_kv_cache_specs pass it on when it makes the layer full attention
    def _body(cls):
        at = kci.find(f'class {cls}(')
        nxt = kci.find('\nclass ', at + 1)
        return kci[at:nxt if nxt > 0 else None]
    # (0.27.0 moves the branch into _promote_local_kv_cache_specs, writing promoted_specs[layer_name])
    sw_branch = re.search(r'isinstance\(spec, SlidingWindowSpec\):\s*(?:block_size = [^\n]*\n\s*)?'
                          r'(?:kv_cache_spec|promoted_specs)\[layer_name\] = FullAttentionSpec\((.*?)\)', kcu, re.S)
    promote = re.search(r'def _promote_local_kv_cache_specs\(.*?(?=\ndef )', kcu, re.S)
    keeps_fields = promote is not None and 'replace_as(' in promote.group(0)
    base_v = 'head_size_v' in _body('AttentionSpec')
    chunk_layer = rd('model_executor/layers/attention/chunked_local_attention.py')
    chunk_spec = re.search(r'ChunkedLocalAttentionSpec\((.*?)\)', chunk_layer, re.S)
    window_v = {}
    for kind, cls in (('sliding_window', 'SlidingWindowSpec'), ('chunked_local', 'ChunkedLocalAttentionSpec')):
        has_v = 'head_size_v' in _body(cls) or (base_v and f'class {cls}(AttentionSpec)' in kci)
        if not has_v:
            window_v[kind] = 'never'
        elif (kind == 'chunked_local' and 'head_size_v' not in _body(cls) and chunk_spec
              and 'head_size_v' not in chunk_spec.group(1)):
            window_v[kind] = 'never'  # the field inherited, but the layer leaves it at head_size
        elif kind == 'sliding_window' and ((sw_branch and 'head_size_v' in sw_branch.group(1)) or keeps_fields):
            window_v[kind] = 'always'
        else:
            window_v[kind] = 'hybrid'
    if PAGING.value('window_v_head_dim', rel) is None:
        window_v = None  # not read for this release: the table says so, nothing to compare
    # unify_page_sizes: False without unify_kv_cache_spec_page_size; "pad" where a page that does not
    # divide the largest may be padded (page_size_padded for indexes_kv_by_block_stride, 0.24.0+)
    unify = re.search(r'def unify_kv_cache_spec_page_size\(.*?(?=\ndef )', kcu, re.S)
    unify = (False if unify is None else
             'pad' if 'page_size_padded=max_page_size' in unify.group(0) else True)
    if unify == 'pad' and 'def _get_packed_kv_cache_groups(' in kcu:
        unify = 'unread'  # 0.29.0+: every non-MLA page padded, then pages may be packed (not read)
    # window_block_size: None where Attention.get_kv_cache_spec gives SlidingWindowSpec the cache's block
    # size; 16 where it asks _largest_kernel_block_within (the backends' smallest kernel block, 16 on CUDA)
    attn = rd('model_executor/layers/attention/attention.py') or rd('attention/layer.py')
    window_block = 16 if 'sw_block_size = _largest_kernel_block_within(' in attn else None
    for k, v in (('memory_check', check), ('memory_check_scope', scope), ('state_speculative_blocks', spec_blocks),
                 ('window_v_head_dim', window_v), ('unify_page_sizes', unify), ('window_block_size', window_block)):
        want = PAGING.value(k, rel)
        if want != v:
            print(f'{rel}: paging {k} table={want!r} source={v!r}'); bad += 1
    for k, v in got.items():
        want = BOOK.value(k, rel)
        if k == 'moe_persistent_workspace' and want == 'oracle unread' and v == 'oracle triton':
            continue  # the markers hold, but the layer was read only to 0.25.1: refusing is the safe side
        if k in ('mla_forward_read', 'deepseek_v2_forward_read') and want is False and v is True:
            continue  # the old markers hold, but the file changed and was not read (0.27.0): refusing is safe
        if k == 'mla_prefill_dimensions' and BOOK.value('mla_forward_read', rel) is False:
            continue  # never consulted: MLA models are refused first where the layer is not read
        if want != v:
            print(f'{rel}: {k} table={want!r} source={v!r}'); bad += 1
    if not serve: print(rel, 'scheduler defaults differ'); bad += 1
print(f'{len(BOOK.releases)} releases checked, {bad} disagreements')
sys.exit(1 if bad else 0)
