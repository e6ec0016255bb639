"""How an engine cuts its KV pool into blocks: vLLM's ``kv_cache_utils``, release by release.

vLLM sizes its cache in ``vllm/v1/core/kv_cache_utils.py`` (``get_kv_cache_config`` up to
0.10.2, ``get_kv_cache_configs`` since 0.11.0) from each worker's KV memory and each
layer's spec (``vllm/v1/kv_cache_interface.py``). kvplan reproduces that arithmetic here,
with what changes from release to release kept as data (``RULES``: rule, first release,
last release, value, source), read through the engine's release (``paging_for``).

The steps, for one replica (tp x pp workers):

1. Each layer gets a spec: page = block_size x bytes per token (``CacheKind.page_bytes``).
   Releases without a sliding-window (before 0.8.3) or chunked-local spec (before 0.10.0)
   allocate those layers as full attention. Attention + state-space models (Jamba,
   Qwen3-Next) raise the attention block size until an attention page holds a state and
   pad state pages to it (``HybridAttentionMambaModelConfig``, 0.10.0+).
2. With the hybrid KV cache manager off (``--disable-hybrid-kv-cache-manager``; releases
   before 0.9.1; chunked-local models by default in 0.10.1-0.13.0) sliding-window and
   chunked-local layers become full attention when the model also has full attention
   (``unify_hybrid_kv_cache_specs``); the specs must then be one type, or vLLM refuses.
3. Grouping: one spec -> one group, every layer gets ``num_blocks`` pages:
   ``num_blocks = memory // page // layers``. One type with unequal pages (0.11.0+,
   ``UniformTypeKVCacheSpecs``) -> one group, each layer its own tensor:
   ``num_blocks = memory // sum(pages)``. Otherwise equal pages are required: 0.12.0+
   scales the block size of smaller pages (``unify_kv_cache_spec_page_size``) and refuses
   when a page does not divide the largest; earlier releases refuse unequal pages. Layers
   then go in groups of ``group_size`` (the smallest kind's layer count; the largest's when
   it is under 1.25x (0.12.0-0.17.1) or 1.5x (0.18.0+) the smallest), padding the last group
   of each kind; each group has its own block table and ``num_blocks = memory // page //
   group_size``. Up to 0.10.2 each worker groups its own layers; from 0.11.0 the groups
   come from the whole model and each worker holds its share (``layers[i::num_groups]``).
4. ``num_gpu_blocks_override`` replaces every worker's block count; the smallest count of
   all workers is used by all.
5. What vLLM logs: "GPU KV cache size: N tokens" = ``num_blocks // num_groups * block_size``
   (before 0.20.1) or ``int(max_concurrency * max_model_len)`` (0.20.1+); "Maximum
   concurrency" = ``num_tokens / max_model_len`` (before 0.9.1) or ``num_blocks /`` the blocks
   one request of max_model_len needs over all groups.
6. Start-up check: one request of max_model_len must fit (``check_enough_kv_cache_memory``),
   summed over layers (before 0.14.0), or the group size x page x the blocks of the first
   group only (0.14.0-0.18.1) or of every group (0.19.0+), against the worker's memory
   (0.20.1+: ``num_gpu_blocks_override`` blocks when given; 0.29.0+: less the null block).
   0.14.0-0.16.0 check the whole model's groups (every pipeline stage's layers) against the
   smallest worker's memory; the others each worker's own layers. When it does not fit, vLLM
   stops with the estimated maximum model length (``estimate_max_model_len``).
   ``--max-model-len -1`` (0.14.0+) picks that estimate instead.
7. ``BlockPool`` keeps one block back as the null block (0.8.3+), so requests can use
   ``num_blocks - 1``.
8. A request within max_model_len that needs more blocks than the pool holds (0.14.0-0.18.1
   start with such a max_model_len, step 6) is admitted and preempts itself over and over: it
   never finishes (rule ``request_beyond_pool``; other releases not read).

Engines other than vLLM use ``Paging`` (kvplan's generic rules: every kind paged with the
hybrid grouping of the newest vLLM release, unequal pages approximated by one tensor per
layer, no null block).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from fractions import Fraction

from kvplan.engines import vllm_rules
from kvplan.engines.base import Release, Rule, RuleBook
from kvplan.errors import BadInputError, ShapeError
from kvplan.formats import KVFormat
from kvplan.layers import CacheKind, MLALatent, minimum
from kvplan.spec import ModelSpec
from kvplan.units import cdiv

#: Attention block sizes are multiples of the attention kernel's block alignment when vLLM
#: raises them for state-space hybrids (FlashAttentionBackend.get_supported_kernel_block_sizes
#: -> MultipleOf(16); other backends align to more).
KERNEL_BLOCK_ALIGNMENT = 16

# -- vLLM's paging rules by release ------------------------------------------------------------
_KCU = "vllm/v1/core/kv_cache_utils.py"
_KCP = "vllm/v1/core/kv_cache_planning.py"
_KCI = "vllm/v1/kv_cache_interface.py"

#: Releases whose paging is modelled: every release the vLLM engine models (0.33.0, the newest published, was
#: modelled here at the paging level before the engine modelled it).
RELEASES = vllm_rules.RELEASES

RULES = (
    Rule("sliding_window_spec", "0.8.0", "0.8.2", False,
         _KCI + ": only FullAttentionSpec; sliding-window layers are allocated as full attention"),
    Rule("sliding_window_spec", "0.8.3", None, True, _KCI + ": SlidingWindowSpec"),
    Rule("chunked_local_spec", "0.8.0", "0.9.2", False,
         _KCI + ": no ChunkedLocalAttentionSpec; chunked-local layers are allocated as full attention"),
    Rule("chunked_local_spec", "0.10.0", None, True, _KCI + ": ChunkedLocalAttentionSpec"),
    Rule("hybrid_allocator", "0.8.0", "0.9.0.1", False,
         _KCU + ": get_kv_cache_config calls unify_hybrid_kv_cache_specs, then one type or NotImplementedError"),
    Rule("hybrid_allocator", "0.9.1", None, True,
         _KCU + ": _get_kv_cache_config_uniform_page_size (0.9.1-0.10.2), _get_kv_cache_groups_uniform_page_size"),
    Rule("hybrid_off_for_chunked_local", "0.8.0", "0.10.0", False, "vllm/config.py: no such rule"),
    Rule("hybrid_off_for_chunked_local", "0.10.1", "0.13.0", True,
         "vllm/config: VllmConfig.__post_init__ disables the hybrid manager when attention_chunk_size is set "
         "unless VLLM_ALLOW_CHUNKED_LOCAL_ATTN_WITH_HYBRID_KV_CACHE=1 (vllm/envs.py default '0')"),
    Rule("hybrid_off_for_chunked_local", "0.14.0", None, False,
         "vllm/envs.py: VLLM_ALLOW_CHUNKED_LOCAL_ATTN_WITH_HYBRID_KV_CACHE default '1'"),
    Rule("state_space", "0.8.0", "0.9.1", "none", _KCI + ": no MambaSpec"),
    Rule("state_space", "0.9.2", "0.9.2", "alone",
         _KCI + ": MambaSpec; no HybridAttentionMambaModelConfig to align attention and state pages"),
    Rule("state_space", "0.10.0", None, "hybrid",
         "vllm/model_executor/models/config.py: HybridAttentionMambaModelConfig.verify_and_update_config"),
    Rule("grouping", "0.8.0", "0.10.2", "per_worker",
         _KCU + ": get_kv_cache_config per worker (layers[i:i + group_size]); unify_kv_cache_configs"),
    Rule("grouping", "0.11.0", None, "global",
         _KCU + ": get_kv_cache_configs groups the merged specs of all workers (layers[i::num_groups])"),
    Rule("group_size_ratio", "0.8.0", "0.11.2", None,
         _KCU + ": _get_kv_cache_groups_uniform_page_size: group_size = min(len(layers))"),
    Rule("group_size_ratio", "0.12.0", "0.17.1", Fraction(5, 4),
         _KCU + ": group_size = max_num_layers if max_num_layers < min_num_layers * 1.25"),
    Rule("group_size_ratio", "0.18.0", None, Fraction(3, 2),
         _KCU + " (0.33.0: " + _KCP + "): group_size = max_num_layers if max_num_layers < min_num_layers * 1.5"),
    Rule("uniform_type_pages", "0.8.0", "0.10.2", False,
         _KCU + ": one spec (is_kv_cache_type_uniform) or equal pages, else NotImplementedError"),
    Rule("uniform_type_pages", "0.11.0", None, True,
         _KCI + ": UniformTypeKVCacheSpecs (one group, a tensor per layer)"),
    Rule("unify_page_sizes", "0.8.0", "0.11.2", False, _KCU + ": get_kv_cache_groups raises NotImplementedError"),
    Rule("unify_page_sizes", "0.12.0", "0.23.0", True,
         _KCU + ": unify_kv_cache_spec_page_size (0.23.0 :1029-1066): a smaller page that does not divide the "
         "largest raises NotImplementedError"),
    # "pad": as True where pages divide; a page that does not is padded to the largest (same block size)
    # when its attention backend reads pages by the block stride, else vLLM raises. kvplan does not model
    # which backends do, so it refuses that case.
    Rule("unify_page_sizes", "0.24.0", "0.28.0", "pad",
         _KCU + ": unify_kv_cache_spec_page_size (0.24.0 :1049-1100): a smaller page that does not divide the "
         "largest gets page_size_padded = the largest page (" + _KCI + " AttentionSpec.page_size_padded :165, "
         "page_size_bytes :178-180) when spec.indexes_kv_by_block_stride, set from the backend's "
         "indexes_kv_by_block_stride (vllm/v1/attention/backend.py :204-, gpu_model_runner.py get_kv_cache_spec "
         ":7493-7499), else NotImplementedError"),
    # 0.29.0 pads every non-MLA attention page that does not divide the largest, and may pack unequal pages
    # (a block-outermost layout): "unread", refused where pages differ (_unify_pages).
    Rule("unify_page_sizes", "0.29.0", "0.29.0", "unread",
         _KCU + " (0.29.0): unify_kv_cache_spec_page_size (:1135-1197) pads every non-MLA AttentionSpec page that "
         "does not divide the largest (the indexes_kv_by_block_stride opt-in is gone) and raises for MLA; "
         "get_kv_cache_groups (:1902-1986) takes _get_packed_kv_cache_groups (:1668-1797) for unequal pages "
         "under a block-outermost KV-cache layout (:1682-1685; the layout resolved from the backends' "
         "get_supported_kv_cache_layouts, not read)"),
    Rule("unify_page_sizes", "0.30.0", "0.30.0", "unread",
         _KCU + " (0.30.0): unify_kv_cache_spec_page_size (:1365-1427) AST-identical to 0.29.0; get_kv_cache_groups "
         "(:2252-2344) adds HiSparse and GLM-5-Next groupings before the 0.29.0 code and "
         "_get_packed_kv_cache_groups (:1978-2112) treats circular-buffer and unsplit sliding-window buckets as "
         "state buckets: unequal pages still padded or packed, not read"),
    Rule("unify_page_sizes", "0.31.0", "0.32.0", "unread",
         _KCU + " (0.31.0): unify_kv_cache_spec_page_size (:1383-1445) AST-identical to 0.30.0; "
         "_get_packed_kv_cache_groups (:2001-2135) renames the eagle annotation only: unequal pages still padded or "
         "packed, not read; 0.32.0: unify_kv_cache_spec_page_size (:1286-) as 0.31.0, bytes per block by "
         "KV-cache layout (_get_kv_cache_bytes_per_block :1520-1551), not read for unequal pages"),
    # 0.33.0 (FINDINGS_h34_v33.md section 1): the planning functions moved to kv_cache_planning.py unchanged.
    Rule("unify_page_sizes", "0.33.0", None, "unread",
         _KCP + " (0.33.0): unify_kv_cache_spec_page_size (:346-408) AST-identical to 0.32.0 (moved from "
         "kv_cache_utils.py); unequal pages still padded or packed (_get_packed_kv_cache_groups), not read"),
    Rule("concurrency", "0.8.0", "0.9.0.1", "tokens_over_len",
         _KCU + ": _get_kv_cache_config_uniform_type: max_concurrency = num_tokens / max_model_len"),
    Rule("concurrency", "0.9.1", None, "blocks", _KCU + ": get_max_concurrency_for_kv_cache_config"),
    Rule("kv_size_report", "0.8.0", "0.20.0", "blocks_per_group",
         _KCU + ": num_tokens = num_blocks // len(kv_cache_groups) * min_block_size (0.20.0 :1689-1711)"),
    Rule("kv_size_report", "0.20.1", None, "concurrency",
         _KCU + ": num_tokens = int(max_concurrency * max_model_len) (0.20.1 :1699-1708, 0.21.0 :1701-1710, "
         "0.22.0 and 0.23.0 _report_kv_cache_config :1709-1738; 0.24.0 get_kv_cache_capacity :1788-1798, logged by "
         "get_kv_cache_configs :2136-2151 with the same two lines)"),
    Rule("null_block", "0.8.0", "0.8.2", False, "vllm/v1/core/block_pool.py: no null block"),
    Rule("null_block", "0.8.3", None, True,
         "vllm/v1/core/block_pool.py: BlockPool.__init__: null_block = free_block_queue.popleft()"),
    Rule("null_block_in_check", "0.8.0", "0.28.0", False, _KCU + ": check against the whole memory"),
    Rule("null_block_in_check", "0.29.0", None, True,
         _KCU + " (0.29.0; 0.33.0: " + _KCP + "): get_kv_cache_configs 'Reserve the null block' (0.29.0 :2316-2322: "
         "check_memory = avail_mem - _pool_bytes_per_block(groups) for auto-fit and the capacity check, the "
         "allocation keeping the whole memory), check_enough_kv_cache_memory (:975-983) likewise; "
         "_pool_bytes_per_block (:1082-1089) = _get_kv_cache_bytes_per_block (:1358-1370), the layers' pages of "
         "the largest group (group size x page for one page size)"),
    Rule("override_in_check", "0.8.0", "0.20.0", False,
         _KCU + ": num_gpu_blocks_override applied after the memory check"),
    Rule("override_in_check", "0.20.1", None, True,
         _KCU + ": get_kv_cache_configs replaces available_memory by override * _pool_bytes_per_block (0.20.1 "
         ":1984-2002, 0.21.0 likewise; 0.23.0 :2027-2041, _pool_bytes_per_block :930-949 the same for one group "
         "or uniform pages, its several-UniformTypeKVCacheSpecs branch, DeepSeek-V4's, bucketed by page size; 0.24.0 "
         ":2070-2092, _pool_bytes_per_block :950-969 takes that branch by _use_packed_kv_cache_config :1255-1274, "
         "DeepSeek-V4 or a KV connector's enable_cross_layers_blocks)"),
    Rule("memory_check", "0.8.0", "0.13.0", "layers",
         _KCU + ": check_enough_kv_cache_memory: sum of max_memory_usage_bytes over the worker's layers"),
    Rule("memory_check", "0.14.0", "0.18.1", "first_group",
         _KCU + ": _max_memory_usage_bytes_from_groups: any_spec = kv_cache_groups[0].kv_cache_spec; group_size x "
         "page x cdiv(any_spec.max_memory_usage_bytes, page) (0.14.0 :1348-1351, 0.18.1 :1359-1362): the first "
         "group's blocks only"),
    Rule("memory_check", "0.19.0", None, "groups",
         _KCU + " (0.33.0: " + _KCP + "): _max_memory_usage_bytes_from_groups: blocks_needed = sum over "
         "kv_cache_groups (0.19.0 :1362-1365)"),
    Rule("request_beyond_pool", "0.8.0", "0.13.0", None,
         "not read: what the scheduler does with one request that needs more blocks than the pool"),
    Rule("request_beyond_pool", "0.14.0", "0.18.1", "preempts_itself",
         "vllm/v1/core/kv_cache_manager.py: allocate_slots returns None when the step needs more blocks "
         "than are free (0.14.0 :334-336, 0.18.1 :348); vllm/v1/core/sched/scheduler.py: schedule then "
         "preempts the running requests, newest first, and last the request itself (0.14.0 :352-401, "
         "0.18.1 :453-495), and _preempt_request frees its blocks, resets num_computed_tokens to 0 and puts "
         "it back at the head of the waiting queue (0.14.0 :800-819, 0.18.1 :929-949)"),
    Rule("request_beyond_pool", "0.19.0", None, None,
         "not read: 0.19.0 adds an admission gate (vllm/v1/core/sched/scheduler.py :733-744, "
         "KVCacheManager.can_fit_full_sequence; vllm/config/scheduler.py scheduler_reserve_full_isl, default "
         "True) that kvplan does not model"),
    Rule("memory_check_scope", "0.8.0", "0.13.0", "worker",
         _KCU + ": get_kv_cache_configs calls check_enough_kv_cache_memory for each worker's own layers "
         "(0.13.0 :1337-1342)"),
    Rule("memory_check_scope", "0.14.0", "0.16.0", "model",
         _KCU + ": get_kv_cache_configs checks the global groups (every layer of every pipeline stage) against "
         "min(available_memory) (0.14.0 :1513-1524, auto-fit :1420); fixed in 0.17.0 (vllm-project/vllm PR #33698, "
         "issue #32105)"),
    Rule("memory_check_scope", "0.17.0", None, "worker",
         _KCU + " (0.33.0: " + _KCP + "): _project_kv_cache_groups_to_worker, then each worker's groups against "
         "its own memory (0.17.0 :1465, :1568-1577)"),
    Rule("auto_fit_max_model_len", "0.8.0", "0.13.0", False, _KCU + ": no auto-fit"),
    Rule("auto_fit_max_model_len", "0.14.0", None, True, _KCU + ": _auto_fit_max_model_len (max_model_len -1)"),
    Rule("kv_cache_memory_bytes", "0.8.0", "0.10.1.1", False, "vllm/engine/arg_utils.py: no --kv-cache-memory"),
    Rule("kv_cache_memory_bytes", "0.10.2", None, True,
         "vllm/v1/worker/gpu_worker.py: determine_available_memory returns kv_cache_memory_bytes"),
    Rule("lookahead_capped", "0.8.0", "0.8.5.post1", False,
         "vllm/v1/core/kv_cache_manager.py: allocate_slots: cdiv(computed + new + lookahead, block_size)"),
    Rule("lookahead_capped", "0.9.0", None, True,
         "vllm/v1/core/kv_cache_manager.py: num_tokens_need_slot = min(... + num_lookahead_tokens, max_model_len)"),
    Rule("state_speculative_blocks", "0.8.0", "0.10.1.1", "none", _KCI + ": MambaSpec without speculative blocks"),
    Rule("state_speculative_blocks", "0.10.2", "0.14.1", "admission",
         "vllm/v1/core/single_type_kv_cache_manager.py: MambaManager allocates num_speculative_blocks more; "
         + _KCI + ": MambaSpec.max_memory_usage_bytes is cdiv(max_model_len, block_size) pages with the state's "
         "block_size = max_model_len: one page (0.14.1 :292-294)"),
    Rule("state_speculative_blocks", "0.15.0", None, "admission_and_check",
         _KCI + ": MambaSpec.max_memory_usage_bytes = page * (1 + num_speculative_blocks) with mamba_cache_mode "
         "'none' (0.15.0 :293-300)"),
    Rule("modelled_kinds", "0.8.0", "0.19.1", None, "every kind (this table)"),
    Rule("modelled_kinds", "0.20.0", "0.27.1", ("full_attention", "mla", "sliding_window", "chunked_local"),
         _KCI + " and " + _KCU + " read through 0.19.1 -> 0.20.0 -> 0.21.0 (FINDINGS_h27_v20b.md): for these kinds "
         "the pages (MLAAttentionSpec.real_page_size_bytes with compress_ratio 1 and no alignment, 0.21.0 :341-355; "
         "SlidingWindowSpec :424-441; ChunkedLocalAttentionSpec as AttentionSpec), max_memory_usage_bytes (0.21.0 "
         ":390-474, refactored into max_admission_blocks_per_request, same formulas), grouping "
         "(_get_kv_cache_groups_uniform_page_size, unify_kv_cache_spec_page_size, is_kv_cache_spec_uniform, "
         "get_max_concurrency_for_kv_cache_config, check_enough_kv_cache_memory unchanged) and the null block "
         "(block_pool.py BlockPool.__init__) are 0.19.1's; what is new (SlidingWindowMLASpec, "
         "group_and_unify_kv_cache_specs, _get_kv_cache_config_deepseek_v4) is DeepSeek-V4's alone. Not modelled: "
         "DeepSeek sparse attention (mla_indexed: deepseek_v2.py fuses the indexer's wk into wk_weights_proj, "
         "unquantized, from 0.20.0) and state-space layers (vllm/model_executor/models/config.py and "
         "vllm/platforms/interface.py _align_hybrid_block_size, 265 + 239 lines changed, not read). 0.22.0 (0.22.1 "
         "the same files) changes, of these, only what other specs use (FINDINGS_h28_v22.md): get_kv_cache_groups "
         "(" + _KCU + " :1618-1684) sets HiddenStateCacheSpec layers (extract_hidden_states only) aside; "
         "MambaSpec.max_memory_usage_bytes adds num_speculative_blocks in 'all' mode (" + _KCI + " :582-591); "
         "the MLA profile forward's kv-cache update returns on the empty cache as before (v1/attention/backend.py "
         ":990-1010); the rest of both files and block_pool.py BlockPool.__init__ AST-identical to 0.21.0. 0.23.0 "
         "(FINDINGS_h28_v23.md): every function above AST-identical to 0.22.1 (" + _KCU + " get_kv_cache_groups "
         ":1629-1695, _get_kv_cache_groups_uniform_page_size :1074-1193, get_kv_cache_config_from_groups :1247-1332, "
         "_max_memory_usage_bytes_from_groups :1752-1812, _report_kv_cache_config :1720-1749; " + _KCI + " "
         "AttentionSpec.real_page_size_bytes :183-200, MLAAttentionSpec :370-384, max_memory_usage_bytes); "
         "UniformTypeKVCacheSpecs.is_uniform_type (:743-755) asks each spec's is_uniform_with_collection, the same "
         "grouping for these kinds (KVCacheSpecRegistry: MLAAttentionSpec with FullAttentionSpec, windows and chunks "
         "by size); get_kv_cache_configs only adds KVCacheSpecRegistry.check_kv_cache_spec_registry (:2004-2006) "
         "and _pool_bytes_per_block (:930-949) generalises the DeepSeek-V4 branch alone. 0.24.0 (FINDINGS_h30_v24.md): "
         "get_kv_cache_groups, _get_kv_cache_groups_uniform_page_size, get_num_blocks, may_override_num_blocks, "
         "get_max_concurrency_for_kv_cache_config, _max_memory_usage_bytes_from_groups, check_enough_kv_cache_memory, "
         "_auto_fit_max_model_len, unify_hybrid_kv_cache_specs AST-identical to 0.23.0; "
         "get_kv_cache_config_from_groups (:1318-1400) takes the packed layout (_get_kv_cache_config_packed :1277-1312) only for DeepSeek-V4 or a KV "
         "connector's enable_cross_layers_blocks (_use_packed_kv_cache_config :1255-1274); " + _KCI + ": pages and "
         "max_memory_usage_bytes unchanged, AttentionSpec gains indexes_kv_by_block_stride / non_causal (merge carries "
         "them); unify_kv_cache_spec_page_size pads pages that do not divide (rule unify_page_sizes 'pad'). 0.25.0 "
         "and 0.25.1 (FINDINGS_h30_v25.md): " + _KCU + " byte-identical to 0.24.0; " + _KCI + " changes only the "
         "int4_per_token_head pages (AttentionSpec / FullAttentionSpec / MLAAttentionSpec.real_page_size_bytes "
         ":188-202 / :310-324 / :380-398, a KV dtype kvplan refuses) and adds RSWASpec (:441-477, "
         "UnlimitedOCRForCausalLM's reference sliding window); a sliding-window layer's spec takes its own block "
         "size (rule window_block_size); block_pool.py AST-identical. 0.26.0 (FINDINGS_h30_v26.md): get_kv_cache_groups, "
         "_get_kv_cache_groups_uniform_page_size, get_num_blocks, get_max_concurrency_for_kv_cache_config, "
         "_max_memory_usage_bytes_from_groups, check_enough_kv_cache_memory, unify_hybrid_kv_cache_specs, "
         "get_kv_cache_config_from_groups, get_kv_cache_configs, get_kv_cache_capacity AST-identical to 0.25.0 (" + _KCU
         + " :1728-1794, :1137-1256, :990-1007, :937-955, :1832-1892, :854-879, :1429-1522, :1344-1426, :2036-2184, "
         ":1819-1829); " + _KCI + " AttentionSpec.page_size_bytes moves the per-token-head scales into "
         "unpadded_page_size_bytes (:185-201, same bytes), real_page_size_bytes AST-identical (:204-218, :328-342); "
         "sliding-window and chunked-local max_memory_usage_bytes take max_in_flight_tokens (vllm rule "
         "window_in_flight_tokens); unify_kv_cache_spec_page_size also pads Mamba pages; block_pool.py "
         "BlockPool.__init__ AST-identical. 0.27.0 (FINDINGS_h31_v27.md): " + _KCI + " page sizes "
         "(AttentionSpec.page_size_bytes / real_page_size_bytes, FullAttentionSpec, MLAAttentionSpec), every "
         "max_memory_usage_bytes and the window admission AST-identical (:205-226, :336-350, :408-426, :522-618); "
         + _KCU + " get_max_concurrency_for_kv_cache_config (:937-959) sums cdiv(max_memory_usage_bytes, page) per "
         "group, the same blocks for these kinds (each group's bytes are whole pages of one unified size); "
         "_get_kv_cache_groups_uniform_page_size (:1140-1280) first merges same-type buckets whose specs "
         "FullAttentionSpec.merge accepts (full-attention specs differing only in sliding_window / "
         "attention_chunk_size, made by the hybrid-off path), none for these kinds with the hybrid manager on; "
         "unify_hybrid_kv_cache_specs (:1568-1589, _promote_local_kv_cache_specs :1446-1531) gives promoted window "
         "layers the full layers' block size (a window model at a block size other than 16 stays refused, rule "
         "window_block_size); get_kv_cache_groups (:1781-1852) falls back to full allocation only for MLA with "
         "sliding-window layers (_try_get_full_allocation_fallback_groups :1534-1565); get_num_blocks, "
         "check_enough_kv_cache_memory, _max_memory_usage_bytes_from_groups, get_kv_cache_config_from_groups, "
         "get_kv_cache_configs AST-identical; block_pool.py BlockPool.__init__ AST-identical"),
    # 0.28.0 (FINDINGS_h33_v28.md), read against 0.27.1: the page formulas are rewritten into one, the
    # same bytes for these kinds and the KV dtypes kvplan plans; admission, grouping and the checks are 0.27.1's.
    Rule("modelled_kinds", "0.28.0", "0.28.0", ("full_attention", "mla", "sliding_window", "chunked_local"),
         _KCI + " (0.28.0): AttentionSpec.unpadded_page_size_bytes (:250-252) = num_heads x storage_block_size x "
         "state_content_size_bytes, num_heads the KV heads unless a backend's customize_spec packs them "
         "(num_head_slots: FlashInfer nvfp4 only), state_content_size_bytes (head_size + head_size_v) x dtype bytes "
         "unless a backend sets state_content_bytes (turboquant, per-token-head scales, nvfp4, fp8_ds_mla: KV dtypes "
         "kvplan refuses); head_size_v moves into AttentionSpec (default head_size, :222, __post_init__ :233-235), "
         "MLAAttentionSpec sets it to 0 (:392: one latent per token, storage_block_size :398-400), so every page "
         "of these kinds is the 0.27.1 product; real_page_size_bytes (:261-266) aliases it; page_size_bytes, "
         "FullAttentionSpec / ChunkedLocalAttentionSpec max_memory_usage_bytes and admission AST-identical (:255-259, "
         ":300-305, :500-524), SlidingWindowSpec.max_admission_blocks_per_request (:546-572) adds "
         "extra_retained_tokens, 0 without multi-module MTP (vllm rule window_in_flight_tokens); " + _KCU + " "
         "get_max_concurrency_for_kv_cache_config (:917-939), get_num_blocks (:973-990), check_enough_kv_cache_memory "
         "(:834-859), _get_kv_cache_groups_uniform_page_size (:1106-1246), unify_kv_cache_spec_page_size "
         "(:1036-1098), unify_hybrid_kv_cache_specs (:1521-1542), get_kv_cache_config_from_groups (:1327-1409), "
         "_max_memory_usage_bytes_from_groups (:1878-1938), get_kv_cache_capacity (:1848-1858), "
         "_auto_fit_max_model_len (:1976-2037), _project_kv_cache_groups_to_worker (:2040-2079) AST-identical; "
         "_promote_local_kv_cache_specs (:1412-1484) rebuilds promoted specs with replace_as (the same fields, "
         "extra_retained_tokens dropped); get_kv_cache_groups (:1741-1823) changes only the hidden-state cache "
         "layers' block size (extract_hidden_states); get_kv_cache_configs (:2082-2228) tags window specs "
         "(above) and leaves the 'GPU KV cache size' / 'Maximum concurrency' figures to update_kv_cache_capacity "
         "(:1861-1875, one log line, the same get_kv_cache_capacity numbers; v1/engine/core.py :325); no null "
         "block in the check (0.29.0 adds it); block_pool.py BlockPool.__init__ (:162-196) AST-identical"),
    # 0.29.0 (FINDINGS_h33_v29.md), read against 0.28.0: pages, grouping and admission of these kinds are
    # 0.28.0's for one page size; unequal pages are refused (rule unify_page_sizes "unread").
    Rule("modelled_kinds", "0.29.0", "0.29.0", ("full_attention", "mla", "sliding_window", "chunked_local"),
         _KCI + " (0.29.0): AttentionSpec.page_size_bytes / real_page_size_bytes (:419-423, :426-430) AST-identical, "
         "unpadded_page_size_bytes (:415-416) = num_heads x num_states x state bytes with num_states = block_size // "
         "tokens_per_state (1 token a state for attention, :392): the 0.28.0 bytes; SlidingWindowSpec (:695-749), "
         "ChunkedLocalAttentionSpec (:655-691), FullAttentionSpec.max_memory_usage_bytes (:464-469) AST-identical; "
         "FullAttentionSpec / MLAAttentionSpec lose indexes_kv_by_block_stride (merge :484-533); " + _KCU + ": "
         "get_kv_cache_config_from_groups (:1407-1497) now one path, num_blocks = available_memory // "
         "_get_kv_cache_bytes_per_block(groups) (:1445, :1358-1370: the largest group's layer pages, group size x "
         "page for one page size, so floor(a / (p x n)) blocks as 0.28.0's), may_override_num_blocks (:1446); "
         "_get_kv_cache_groups_uniform_page_size (:1205-1345), get_max_concurrency_for_kv_cache_config (:1047-1069), "
         "is_kv_cache_spec_uniform (:1022-1044), _auto_fit_max_model_len (:2108-2169), "
         "_project_kv_cache_groups_to_worker (:2172-2211), unify_hybrid_kv_cache_specs (:1609-1630), "
         "_promote_local_kv_cache_specs (:1500-1572) AST-identical; _max_memory_usage_bytes_from_groups "
         "(:2041-2070) = bytes per block x the groups' cdiv(max bytes, page), the same for one page size; "
         "check_enough_kv_cache_memory (:955-989) and get_kv_cache_configs (:2214-2367) hold back the null block "
         "(rule null_block_in_check); get_kv_cache_groups (:1902-1986) packs unequal pages (rule "
         "unify_page_sizes); block_pool.py BlockPool.__init__ (:162-196) AST-identical"),
    # 0.30.0 (FINDINGS_h34_v30.md): the 0.29.0 arithmetic behind HiSparse (DSA, refused) and GLM-5-Next (Mamba +
    # MLA, refused) branches.
    Rule("modelled_kinds", "0.30.0", "0.30.0", ("full_attention", "mla", "sliding_window", "chunked_local"),
         _KCI + " (0.30.0): AttentionSpec, FullAttentionSpec, SlidingWindowSpec, ChunkedLocalAttentionSpec "
         "AST-identical to 0.29.0; MLAAttentionSpec (:646-714) adds DSA / DeepSeek-V4 fields left at their "
         "defaults by dense MLA; KVCacheSpec (:156-274) adds block_table_token_alignment / has_layer_views / "
         "uses_slot_mapping; " + _KCU + ": get_kv_cache_config_from_groups (:1648-1807), _get_kv_cache_bytes_per_block "
         "(:1588-1611), _max_memory_usage_bytes_from_groups (:2405-2461), get_max_concurrency_for_kv_cache_config "
         "(:1067-1100), get_kv_cache_groups (:2252-2344) and get_kv_cache_configs (:2617-2773) put HiSparse "
         "(attention_config.hisparse_config) and GLM-5-Next (_glm5_next_tensor_layout :1277-, Mamba layers "
         "required) branches before the 0.29.0 code, which is unchanged: num_blocks = available // bytes per "
         "block, the null block held back in the check and auto-fit; check_enough_kv_cache_memory (:975-1009), "
         "_auto_fit_max_model_len (:2511-2572), unify_kv_cache_spec_page_size (:1365-1427) AST-identical; "
         "block_pool.py BlockPool.__init__ (:163-202) adds a medium and reuse watchers only"),
    # 0.31.0 (FINDINGS_h34_v31.md section 1): bytes per block rounded to the layers' block_stride_alignment,
    # set only by sparse MLA and DeepSeek-V4.1 (None, so 1, for the kinds planned here).
    Rule("modelled_kinds", "0.31.0", "0.31.0", ("full_attention", "mla", "sliding_window", "chunked_local"),
         _KCU + " (0.31.0): get_kv_cache_config_from_groups (:1669-1828), check_enough_kv_cache_memory (:999-1032), "
         "may_override_num_blocks (:1125-1131), get_max_concurrency_for_kv_cache_config (:1090-1122), "
         "_auto_fit_max_model_len (:2575-2636), _get_kv_cache_groups_uniform_page_size (:1453-1593), "
         "_promote_local_kv_cache_specs (:1831-1903) AST-identical to 0.30.0; _get_kv_cache_bytes_per_block "
         "(:1606-1632) rounds bytes per block up to the lcm of the layers' block_stride_alignment (`or 1` :1628; "
         + _KCI + " KVCacheSpec.block_stride_alignment None :164, set only by sparse MLA, mla_attention.py "
         ":1375-1382, and DeepSeek-V4.1, models/deepseek_v41/attention.py :1192: 1 for dense attention and MLA); "
         "get_kv_cache_configs (:2684-2838) holds back the null block as before; AttentionSpec.page_size_bytes / "
         "real_page_size_bytes (:532-543), ChunkedLocalAttentionSpec AST-identical; FullAttentionSpec, "
         "MLAAttentionSpec, SlidingWindowSpec add dcp_sharded / max_tp_shards (DCP only); block_pool.py "
         "BlockPool.__init__ (:157-196) AST-identical"),
    # 0.32.0 (FINDINGS_h34_v32.md section 1): bytes per block by KV-cache layout and each layer's
    # get_block_stride_alignment(), 1 where the block is a whole kernel block (every planned kind at block 16).
    Rule("modelled_kinds", "0.32.0", "0.32.0", ("full_attention", "mla", "sliding_window", "chunked_local"),
         _KCU + " (0.32.0): _get_kv_cache_bytes_per_block (:1520-1551): layer-outer, the sum of each layer's "
         "page rounded up to get_block_stride_alignment() (_get_layer_block_stride :1515-1517), block-outermost, "
         "the sum of pages rounded up to the lcm of the alignments; " + _KCI + " KVCacheSpec."
         "get_block_stride_alignment (:183-193): None -> 1, MultipleOf(n) -> 1 when gcd(n, block_size) == block_size "
         "(v1/worker/utils.py customize_attention_spec :476-486 sets MultipleOf(largest fixed kernel block) only "
         "for backends with fixed kernel sizes: FlashAttention MultipleOf(16), so 1 at block 16, and for "
         "FlashInfer's fixed sizes up to the block); _pool_bytes_per_block (:1239-1250) and the null block held "
         "back in check_enough_kv_cache_memory (:1125-1129) and get_kv_cache_configs (:2531-2687) as 0.31.0; "
         "num_blocks = available // bytes per block as before"),
    # 0.33.0 (FINDINGS_h34_v33.md section 1), read against 0.32.0: the planning functions moved to
    # kv_cache_planning.py with the same arithmetic; window admission (max_in_flight_tokens, rule
    # window_in_flight_tokens of kvplan.engines.vllm_rules) AST-identical; unequal pages refused (unify_page_sizes).
    Rule("modelled_kinds", "0.33.0", None, ("full_attention", "mla", "sliding_window", "chunked_local"),
         _KCP + " (0.33.0, moved from kv_cache_utils.py): get_kv_cache_config_from_groups (:642-741), "
         "check_enough_kv_cache_memory (:151-184), _get_kv_cache_groups_uniform_page_size (:416-556), "
         "unify_kv_cache_spec_page_size (:346-408), is_kv_cache_spec_uniform (:218-239) AST-identical to 0.32.0; "
         "bytes per block through the default KVCacheConfigBuilder, the same figure as 0.32.0's; get_kv_cache_groups "
         "(:1113-1200), _max_memory_usage_bytes_from_groups (:1253-1285), get_kv_cache_configs (:1461-1604) differ "
         "outside the planned kinds (null block still held back); " + _KCI + " AttentionSpec.page_size_bytes "
         "(:597-601), ChunkedLocalAttentionSpec (:861-897) AST-identical, SlidingWindowSpec (:901-964) adds "
         "num_retained_tokens only (max_admission_blocks_per_request :918-944 and max_memory_usage_bytes :946-955 "
         "AST-identical); " + _KCU + " get_max_concurrency_for_kv_cache_config (:1061-1093) AST-identical"),
    # -- the block size a sliding-window layer's KV-cache spec takes before the pages are unified: None,
    #    the cache's (--block-size or the default); a number: that size whatever --block-size says
    #    (_runner_layers refuses a sliding-window model at another block size: what unify and the
    #    hybrid-off path then make of unequal block sizes is not modelled).
    Rule("window_block_size", "0.8.0", "0.24.0", None,
         "vllm/model_executor/layers/attention/attention.py Attention.get_kv_cache_spec: SlidingWindowSpec("
         "block_size=vllm_config.cache_config.block_size) (0.24.0 :581-632)"),
    Rule("window_block_size", "0.25.0", "0.29.0", 16,
         "vllm/model_executor/layers/attention/attention.py Attention.get_kv_cache_spec (0.25.0 :616-688): "
         "SlidingWindowSpec(block_size=_largest_kernel_block_within(attn_backend, per-token page, "
         "cache_config.skip_page_size_padded, block_size)) (:95-119), which without --kv-cache-dtype-skip-layers "
         "(skip_page_size_padded None) is the smallest of the backend's get_supported_kernel_block_sizes: 16 on "
         "every CUDA backend (flash_attn.py :76-77 MultipleOf(16), flashinfer.py :343-362 [16, 32, 64, ...], "
         "triton_attn.py :290-291, flex_attention.py :156-157 MultipleOf(16))"),
    Rule("window_block_size", "0.30.0", None, 16,
         "vllm/model_executor/layers/attention/attention.py (0.30.0) Attention.get_kv_cache_spec (:604-670): "
         "_largest_kernel_block_within(attn_backend, per-token page, skip_page_size_padded or per-token page x "
         "block_size, block_size) (:645, :98-126): the largest kernel block whose page fits the primary block's, "
         "MultipleOf bases expanded: at block size 16, 16 on every CUDA backend (get_supported_kernel_block_sizes "
         "AST-identical to 0.29.0); at another block size that size, which kvplan does not plan (the backend "
         "choice, composite backends included, not modelled)"),
    # -- whether a sliding-window or chunked-local layer keeps a V head size of its own (a layer whose
    #    K and V head sizes differ): "never" (pages are 2 x head_size: AttentionSpec.real_page_size_bytes),
    #    "hybrid" (only while the hybrid KV cache manager is on: with it off, unify_hybrid_kv_cache_specs
    #    makes a FullAttentionSpec without head_size_v, which then defaults to head_size), "always";
    #    None: not read. kvplan refuses such a layer where the release does not keep its V size.
    Rule("window_v_head_dim", "0.8.0", "0.19.0", None, "not read"),
    Rule("window_v_head_dim", "0.19.1", "0.19.1", {"sliding_window": "never", "chunked_local": "never"},
         _KCI + ": SlidingWindowSpec and ChunkedLocalAttentionSpec have no head_size_v (AttentionSpec."
         "real_page_size_bytes 0.19.1 :80-87: 2 x block_size x num_kv_heads x head_size)"),
    Rule("window_v_head_dim", "0.20.0", "0.20.2", {"sliding_window": "hybrid", "chunked_local": "never"},
         _KCI + ": SlidingWindowSpec.head_size_v and real_page_size_bytes (0.20.0 :404-419: head_size + "
         "head_size_v), set by attention.py Attention.get_kv_cache_spec (0.20.0 :596-604); " + _KCU
         + " unify_hybrid_kv_cache_specs (0.20.0 :1379-1386) builds the FullAttentionSpec without head_size_v"),
    Rule("window_v_head_dim", "0.21.0", None, {"sliding_window": "always", "chunked_local": "never"},
         _KCU + ": unify_hybrid_kv_cache_specs passes head_size_v (0.21.0 :1384-1393); ChunkedLocalAttentionSpec "
         "still has none (" + _KCI + " 0.21.0 :387-411)"),
)

BOOK = RuleBook("vllm paging", RELEASES, RULES)


@dataclass(frozen=True)
class Paging:
    """kvplan's generic paging (engines without release paging rules: sglang, trtllm, raw):
    the hybrid grouping of the newest vLLM release, unequal pages approximated by a tensor
    per layer, no null block, no start-up check beyond one request of max_model_len."""

    name: str = "generic"
    sliding_window_spec: bool = True
    chunked_local_spec: bool = True
    hybrid_allocator: bool = True
    hybrid_off_for_chunked_local: bool = False
    state_space: str = "hybrid"
    grouping: str = "global"
    group_size_ratio: Fraction | None = Fraction(3, 2)
    uniform_type_pages: bool = True
    unify_page_sizes: bool | str = False  # "pad": vLLM 0.24.0-0.28.0, "unread": 0.29.0+ (rule unify_page_sizes)
    unequal_pages_per_layer: bool = True  # the approximation; vLLM rules refuse instead
    concurrency: str = "blocks"
    kv_size_report: str = "blocks_per_group"
    null_block: bool = False
    null_block_in_check: bool = False
    override_in_check: bool = False
    memory_check: str = "groups"
    memory_check_scope: str = "worker"
    #: what the engine does with one request (within max_model_len) that needs more blocks than
    #: the pool holds, where read: "preempts_itself" (vLLM 0.14.0-0.18.1, which start with such a
    #: max_model_len: rule memory_check "first_group"); None: not read, the verdict says no more
    request_beyond_pool: str | None = None
    #: the kernel alignment of an attention block raised to hold a state (the engine may raise
    #: it for the model and GPU: Engine.pool_paging)
    hybrid_block_alignment: int = KERNEL_BLOCK_ALIGNMENT
    auto_fit_max_model_len: bool = True
    kv_cache_memory_bytes: bool = True
    lookahead_capped: bool = True
    state_speculative_blocks: str = "admission_and_check"
    modelled_kinds: tuple[str, ...] | None = None
    #: rule window_block_size (None: a sliding-window layer pages at the cache's block size)
    window_block_size: int | None = None
    #: rule window_v_head_dim (None: not read, no check; the generic paging keeps V sizes)
    window_v_head_dim: dict | None = None
    #: TensorRT-LLM rounds the block count up: blocks = ceil(floor(memory / bytes per token) /
    #: tokens_per_block) (kvCacheManager.cpp calculateMaxNumBlocks, ``tc::ceilDiv(maxTokens,
    #: tokensPerBlock)``), so its pool can exceed the fraction's bytes by up to one block.
    round_blocks_up: bool = False
    #: whether the engine refuses to start when one request of max_model_len does not fit
    #: (vLLM's check_enough_kv_cache_memory); SGLang starts and caps a request at the pool's
    #: tokens less two (its RequestCap, rule request_cap in kvplan/engines/sglang.py).
    start_check: bool = True
    sources: dict = field(default_factory=dict, compare=False, repr=False)

    def refuse(self, what: str, source: str = "") -> BadInputError:
        where = f" ({source})" if source else ""
        return BadInputError(f"{self.name}: {what}{where}")


def vllm_paging(release: str | Release | None = None) -> Paging:
    """vLLM's paging rules at ``release`` (None: the newest release the vLLM engine models,
    as ``--engine vllm``)."""
    rel = release if isinstance(release, Release) else BOOK.resolve(release or vllm_rules.DEFAULT_RELEASE)
    table = BOOK.table(rel)
    values = {name: rule.value for name, rule in table.items()}
    return Paging(name=f"vllm=={rel}", unequal_pages_per_layer=False,
                  sources={name: rule.source for name, rule in table.items()}, **values)


def paging_for(engine) -> Paging:
    """The paging rules of an engine object (kvplan.engines): vLLM's at its release, else
    the generic rules."""
    maker = _PAGINGS.get(getattr(engine, "family", ""))
    return maker(engine) if maker else Paging()


_PAGINGS = {
    "vllm": lambda engine: vllm_paging(engine.release),
    "trtllm": lambda engine: Paging(round_blocks_up=True),
    # SGLang's token pool (MHATokenToKVPool, mem_cache/memory_pool.py): one slot per token holds
    # every layer's K and V, so a sliding-window or chunked-local layer keeps the whole context
    # like a full one; where a release gives window layers their own pool (SWAKVPool),
    # SGLang.check_kv_pool refuses.
    "sglang": lambda engine: Paging(name=engine.name, sliding_window_spec=False, chunked_local_spec=False,
                                    start_check=False),
}


# -- the layout of one worker ------------------------------------------------------------------
@dataclass(frozen=True)
class LayerSet:
    """Layers of one kind as the engine allocates them: ``count`` layers (on the worker, and
    in the whole model) with ``page_bytes`` pages of ``block_size`` tokens."""

    kind: CacheKind
    count: int
    model_count: int
    page_bytes: int
    block_size: int


@dataclass(frozen=True)
class PoolLayout:
    """How one worker's pool is paged: bytes per block unit and the groups sharing it."""

    block_size: int  # tokens per block vLLM counts tokens in (the smallest group's)
    unit_bytes: int  # bytes one block costs across the worker's layers
    groups: tuple[tuple[CacheKind, int, int], ...]  # (kind as allocated, block tables, tokens per block)
    tokens_divisor: int  # vLLM logs num_blocks // tokens_divisor * block_size tokens
    padding_layers: int = 0
    has_tokens: bool = True  # False when only constant-state layers are paged
    per_layer: bool = False  # one group, a tensor per layer (unit = sum of the pages)
    layers: tuple[LayerSet, ...] = ()  # as allocated (after unification)
    runner_layers: tuple[LayerSet, ...] = ()  # as the model runner specifies them (before)


def blocks_per_request(layout: PoolLayout, n_tokens, max_num_batched_tokens: int | None,
                       num_speculative_blocks: int = 0):
    """Blocks one request of ``n_tokens`` holds at its peak, over every block table
    (each kind's own rule: ``CacheKind.engine_blocks_per_request``). ``n_tokens`` may be an
    int or a numpy int64 array (the sweep asks for a whole column of contexts at once)."""
    return sum(
        tables * kind.engine_blocks_per_request(n_tokens, block, max_num_batched_tokens, num_speculative_blocks)
        for kind, tables, block in layout.groups
    )


def _kinds(spec: ModelSpec, layers) -> dict[CacheKind, int]:
    """Layer counts per cache kind; a layer with an attention and a state-space cache side by
    side (``parts()``: Falcon-H1) counts as one layer of each, as vLLM registers them."""
    counts: dict[CacheKind, int] = {}
    for i in layers:
        kind = spec.layers[i]
        for part in (kind.parts() if hasattr(kind, "parts") else (kind,)):
            counts[part] = counts.get(part, 0) + 1
    return counts


def _runner_kind(kind: CacheKind, paging: Paging) -> CacheKind:
    """The kind as the release's model runner specifies it (step 1)."""
    full = kind.as_full_attention()
    if full is not None:
        name = kind.kind
        if (name == "sliding_window" and not paging.sliding_window_spec) or (
                name == "chunked_local" and not paging.chunked_local_spec):
            return full
    return kind


def _paged(kind: CacheKind, tp: int) -> bool:
    return kind.token_proportional or bool(kind.state_bytes(tp))


def _runner_layers(spec: ModelSpec, layers: range, fmt: KVFormat, block_size: int, tp: int,
                   paging: Paging) -> tuple[LayerSet, ...]:
    model = {}
    for kind, n in _kinds(spec, range(spec.num_layers)).items():
        if _paged(kind, tp):
            k = _runner_kind(kind, paging)
            model[k] = model.get(k, 0) + n
    stage = {}
    for kind, n in _kinds(spec, layers).items():
        if _paged(kind, tp):
            k = _runner_kind(kind, paging)
            stage[k] = stage.get(k, 0) + n
    if paging.modelled_kinds is not None:
        for k in model:
            if k.kind not in paging.modelled_kinds:
                raise paging.refuse(f"{k.describe()} layers are not modelled for this release (kvplan models "
                                    f"{', '.join(paging.modelled_kinds)} layers there)",
                                    paging.sources.get("modelled_kinds", ""))
    window = paging.window_block_size
    if window is not None and block_size != window and any(k.kind == "sliding_window" for k in model):
        raise paging.refuse(f"sliding-window layers take a block of {window} tokens whatever the block size "
                            f"({block_size} here), and kvplan does not model how vLLM then unifies their pages with "
                            f"the others (plan at --block-size {window})", paging.sources.get("window_block_size", ""))
    attention = [k for k in model if k.token_proportional]
    states = [k for k in model if not k.token_proportional]
    if states and paging.state_space == "none":
        raise paging.refuse("state-space layers have no KV-cache spec in this release", paging.sources.get("state_space", ""))
    if states and attention and paging.state_space != "hybrid":
        raise paging.refuse("attention + state-space models need vLLM 0.10.0 or later "
                            "(HybridAttentionMambaModelConfig)", paging.sources.get("state_space", ""))
    if states and any(isinstance(k, MLALatent) for k in attention):
        # No importer builds one (kvplan.hf.registry): a hand-written spec only.
        raise paging.refuse("MLA attention + state-space layers: kvplan does not model their attention block "
                            "(vLLM aligns it to 64 tokens, 128 with CUTLASS_MLA, from 0.11.1; kvplan aligns to 16)",
                            "vllm/model_executor/models/config.py HybridAttentionMambaModelConfig: "
                            "kernel_block_alignment_size = 128 if use_cutlass_mla else 64 (0.19.1 :206-210)")
    pages = {k: (k.page_bytes(fmt, block_size, tp), block_size) for k in model}
    if states and attention:
        # One attention page must hold a whole state: the smallest multiple of the kernel
        # alignment (16, not the user's --block-size) whose page holds it replaces a smaller
        # block size, even one the user set; pad state pages up to the attention page.
        # vllm/model_executor/models/config.py HybridAttentionMambaModelConfig (0.10.0-0.19.x):
        # attn_block_size = 16 * cdiv(mamba_page_size, 16 * attn_page_size_1_token), applied
        # when cache_config.block_size < attn_block_size.
        state_page = max(k.state_bytes(tp) for k in states)
        per_token = max(k.per_token_bytes(fmt, tp) for k in attention)
        align = paging.hybrid_block_alignment
        block_size = max(block_size, align * cdiv(state_page, align * per_token))
        page = max([state_page] + [k.page_bytes(fmt, block_size, tp) for k in attention])
        pages = {k: (page, block_size) for k in model}
    elif states:
        pages = {k: (k.state_bytes(tp), block_size) for k in model}
    return tuple(LayerSet(k, stage.get(k, 0), n, *pages[k]) for k, n in model.items())


def _hybrid_off(sets: tuple[LayerSet, ...], fmt: KVFormat, tp: int) -> tuple[LayerSet, ...]:
    """unify_hybrid_kv_cache_specs: with full attention present, sliding-window and
    chunked-local layers become full attention (same heads, same page)."""
    if not any(s.kind.slot_class() == ("full_attention",) for s in sets):
        return sets
    merged: dict[CacheKind, LayerSet] = {}
    for s in sets:
        full = s.kind.as_full_attention()
        k = full if full is not None else s.kind
        prev = merged.get(k)
        merged[k] = LayerSet(k, s.count + (prev.count if prev else 0), s.model_count + (prev.model_count if prev else 0),
                             s.page_bytes, s.block_size)
    return tuple(merged.values())


def _check_window_v(sets: tuple[LayerSet, ...], paging: Paging, hybrid: bool) -> None:
    """Rule window_v_head_dim: a sliding-window or chunked-local layer whose V head size is not
    its K head size is refused where the release pages it as 2 x the K head size (kvplan would
    count head_dim + v_head_dim): always, or (0.20.0-0.20.2) once the hybrid manager is off and
    unify_hybrid_kv_cache_specs turns it into full attention without its V size."""
    rule = paging.window_v_head_dim
    if rule is None:
        return
    has_full = any(s.kind.slot_class() == ("full_attention",) for s in sets)
    for s in sets:
        kind = s.kind
        when = rule.get(kind.kind)
        if when is None or getattr(kind, "v_head_dim", None) in (None, getattr(kind, "head_dim", None)):
            continue
        if when == "never" or (when == "hybrid" and not hybrid and has_full):
            how = ("as full attention with the hybrid KV cache manager off" if when == "hybrid"
                   else "in pages of 2 x the K head size")
            raise paging.refuse(f"{kind.describe()} layers: this release keeps no V head size of their own "
                                f"({kind.v_head_dim} differs from {kind.head_dim}) and allocates them {how}; "
                                f"kvplan does not plan that", paging.sources.get("window_v_head_dim", ""))


def _one_type(sets, exact_pages: bool) -> bool:
    """All layers need the same token slots (and, for releases before 0.9.1, the same page:
    vLLM's type_id held the page size)."""
    if len({s.kind.slot_class() for s in sets}) != 1 or len({s.block_size for s in sets}) != 1:
        return False
    return not exact_pages or len({s.page_bytes for s in sets}) == 1


def pool_layout(spec: ModelSpec, layers: range, fmt: KVFormat, block_size: int, tp: int,
                paging: Paging | None = None, *, hybrid: bool | None = None) -> PoolLayout:
    """Page the cache-holding layers of ``layers`` (one worker: a pipeline stage on one tp
    rank) as the engine release does (shared-KV layers hold none). ``hybrid``: vLLM's hybrid
    KV cache manager on (True), off (False, ``--disable-hybrid-kv-cache-manager``) or the
    release's default (None). Raises BadInputError where that release refuses to start."""
    paging = paging or vllm_paging()
    sets = _runner_layers(spec, layers, fmt, block_size, tp, paging)
    runner = sets
    if not sets:
        return PoolLayout(block_size, 0, (), 1, has_tokens=False)
    chunked = any(s.kind.kind == "chunked_local" for s in sets)
    if hybrid is None:
        hybrid = paging.hybrid_allocator and not (chunked and paging.hybrid_off_for_chunked_local)
    elif hybrid and not paging.hybrid_allocator:
        raise paging.refuse("has no hybrid KV cache manager (added in 0.9.1)", paging.sources.get("hybrid_allocator", ""))
    _check_window_v(sets, paging, hybrid)
    if not hybrid:
        sets = _hybrid_off(sets, fmt, tp)
    per_worker = paging.grouping == "per_worker"
    if per_worker:  # each worker groups its own layers
        sets = tuple(LayerSet(s.kind, s.count, s.count, s.page_bytes, s.block_size) for s in sets if s.count)
        if not sets:
            return PoolLayout(block_size, 0, (), 1, has_tokens=False, runner_layers=runner)
    has_tokens = any(s.kind.token_proportional for s in sets)
    min_block = min(s.block_size for s in sets)

    def one_group(per_layer: bool) -> PoolLayout:
        rep = sets[0].kind
        unit = sum(s.page_bytes * s.count for s in sets)
        return PoolLayout(min_block, unit, ((rep, 1, sets[0].block_size),), 1, has_tokens=has_tokens,
                          per_layer=per_layer, layers=sets, runner_layers=runner)

    if len(sets) == 1 or (not paging.hybrid_allocator and _one_type(sets, exact_pages=True)):
        return one_group(per_layer=False)
    if paging.uniform_type_pages and _one_type(sets, exact_pages=False):
        return one_group(per_layer=len({s.page_bytes for s in sets}) > 1)
    if not hybrid:
        what = ("has one KV-cache type only" if not paging.hybrid_allocator
                else "cannot run these layers with the hybrid KV cache manager disabled")
        raise paging.refuse(f"{what}: {'; '.join(s.kind.describe() for s in sets)}", _KCU + ": unify_hybrid_kv_cache_specs")
    if len({s.page_bytes for s in sets}) > 1:
        sets = _unify_pages(sets, paging)
    return _grouped(sets, paging, per_worker, has_tokens, runner)


def _unify_pages(sets: tuple[LayerSet, ...], paging: Paging) -> tuple[LayerSet, ...]:
    """unify_kv_cache_spec_page_size (0.12.0+): smaller pages get a block size that many
    times larger; a page that does not divide the largest is refused (NotImplementedError up to
    0.23.0; from 0.24.0 padded for some attention backends, which kvplan does not model)."""
    if paging.unequal_pages_per_layer:
        return sets
    desc = "; ".join(f"{s.kind.describe()}: {s.page_bytes:,} B" for s in sets)
    if not paging.unify_page_sizes:
        raise paging.refuse(f"refuses to start: layers have different page sizes ({desc})",
                            paging.sources.get("unify_page_sizes", ""))
    if paging.unify_page_sizes == "unread" and len({s.page_bytes for s in sets}) > 1:
        raise paging.refuse(f"layers have different page sizes ({desc}): vLLM pads or packs them (kv_cache_utils.py "
                            f"unify_kv_cache_spec_page_size, _get_packed_kv_cache_groups), which kvplan has not read "
                            f"for this release", paging.sources.get("unify_page_sizes", ""))
    top = max(s.page_bytes for s in sets)
    out = []
    for s in sets:
        if top % s.page_bytes and paging.unify_page_sizes == "pad":
            raise paging.refuse(f"a page of {s.page_bytes:,} B does not divide the largest page {top:,} B ({desc}): "
                                f"vLLM pads it to the largest where the layer's attention backend reads pages by "
                                f"the block stride and refuses to start otherwise, and kvplan does not model which "
                                f"backends do", paging.sources.get("unify_page_sizes", ""))
        if top % s.page_bytes:
            raise paging.refuse(f"refuses to start: a page of {s.page_bytes:,} B does not divide the largest page "
                                f"{top:,} B ({desc})", paging.sources.get("unify_page_sizes", ""))
        out.append(LayerSet(s.kind, s.count, s.model_count, top, s.block_size * (top // s.page_bytes)))
    return tuple(out)


def _grouped(sets, paging: Paging, per_worker: bool, has_tokens: bool, runner) -> PoolLayout:
    """_get_kv_cache_groups_uniform_page_size: groups of group_size layers, the last group of
    each kind padded; the worker's unit is the page times its largest group."""
    if paging.unequal_pages_per_layer and len({s.page_bytes for s in sets}) > 1:
        # kvplan's approximation for engines without vLLM's rules: a tensor per layer
        unit = sum(s.page_bytes * s.count for s in sets)
        groups = tuple((s.kind, 1, s.block_size) for s in sets)
        return PoolLayout(min(s.block_size for s in sets), unit, groups, 1, has_tokens=has_tokens,
                          per_layer=True, layers=sets, runner_layers=runner)
    counts = [s.model_count for s in sets]
    lo, hi = min(counts), max(counts)
    ratio = paging.group_size_ratio
    group_size = hi if ratio is not None and hi < lo * ratio else lo
    tables = [cdiv(s.model_count, group_size) for s in sets]
    padding = sum(g * group_size - s.model_count for s, g in zip(sets, tables))
    # A worker holds a contiguous run of each kind's layers; dealt round-robin over the
    # kind's groups (layers[i::num_groups]) the fullest group gets cdiv(run, groups).
    worker_size = group_size if per_worker else max((cdiv(s.count, g) for s, g in zip(sets, tables) if s.count),
                                                    default=0)
    page = sets[0].page_bytes
    groups = tuple((s.kind, g, s.block_size) for s, g in zip(sets, tables))
    return PoolLayout(min(s.block_size for s in sets), page * worker_size, groups, sum(tables), padding,
                      has_tokens=has_tokens, layers=sets, runner_layers=runner)


# -- what one worker needs for one request (the start-up check) ---------------------------------
def needed_bytes(layout: PoolLayout, paging: Paging, n: int, max_num_batched_tokens: int | None,
                 num_speculative_blocks: int = 0) -> int:
    """Bytes of KV cache vLLM's start-up check asks of a worker for one request of ``n``
    tokens (``check_enough_kv_cache_memory``): per layer as the runner specifies them
    (before 0.14.0), or per group (``_max_memory_usage_bytes_from_groups``): the group size
    x page x the blocks of the first group only (0.14.0-0.18.1) or of every group (0.19.0+).

    vLLM's first group holds the layers of the kind met first in layer order (the runner
    lists layers as the model registers them; ``_get_kv_cache_groups_uniform_page_size``
    keeps that order), which kvplan's ``layout.groups`` keeps too: Gemma-3's layer 0 is a
    sliding-window layer, so 0.14.0-0.18.1 check a window's blocks, not a full layer's."""
    spec_blocks = num_speculative_blocks if paging.state_speculative_blocks == "admission_and_check" else 0

    def blocks(s: LayerSet) -> int:
        return s.kind.engine_blocks_per_request(n, s.block_size, max_num_batched_tokens, spec_blocks)

    if paging.memory_check == "layers":
        return sum(s.count * blocks(s) * s.page_bytes for s in layout.runner_layers)
    if layout.per_layer:
        return sum(s.count * blocks(s) * s.page_bytes for s in layout.layers)
    if paging.memory_check == "first_group" and layout.groups:
        kind, _tables, block = layout.groups[0]
        return layout.unit_bytes * kind.engine_blocks_per_request(n, block, max_num_batched_tokens, spec_blocks)
    return layout.unit_bytes * blocks_per_request(layout, n, max_num_batched_tokens, spec_blocks)


def longest_fitting(fits, hi: int) -> int:
    """vLLM's estimate_max_model_len: the largest L in 1..hi with fits(L) (binary search over
    a monotone predicate); 0 when not even one token fits."""
    if hi < 1 or not fits(1):
        return 0
    lo = 1
    if fits(hi):
        return hi
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if fits(mid):
            lo = mid
        else:
            hi = mid
    return lo



# -- one replica: every worker's pool, the smallest block count, and what vLLM logs ------------
@dataclass(frozen=True)
class Pages:
    """The KV blocks of one replica (tp x pp workers), as ``get_kv_cache_configs`` builds them
    from each worker's KV memory: per pipeline stage a layout and a block count, the
    smallest count used by every worker (or ``num_gpu_blocks_override``). Build it with
    ``page_replica``; every figure vLLM logs or checks is a pure query."""

    paging: Paging
    layouts: tuple[PoolLayout, ...]  # per pipeline stage
    memory_bytes: tuple[int, ...]  # per stage: the smallest KV memory of its tensor-parallel ranks
    stage_blocks: tuple[int | None, ...]  # per stage (None: no paged layers there)
    num_blocks: int
    max_model_len: int
    max_num_batched_tokens: int | None = None
    lookahead_tokens: int = 0  # slots a request reserves beyond its tokens (speculative decoding)
    num_speculative_blocks: int = 0  # extra blocks per state layer (speculative decoding)
    num_gpu_blocks_override: int | None = None
    derived_max_model_len: int = 0  # the model's own limit (auto-fit searches below it)
    auto_fit: bool = False  # max_model_len was chosen by vLLM's auto-fit (--max-model-len -1)
    #: The whole model's layout, which the start-up check of 0.14.0-0.16.0 plans one worker by
    #: (rule memory_check_scope "model"); None: each worker is checked by its own layout.
    model_layout: PoolLayout | None = None

    @property
    def paged(self) -> bool:
        return any(n is not None for n in self.stage_blocks)

    @property
    def scheduler_layout(self) -> PoolLayout:
        """The groups the scheduler allocates by: the first paged worker's (up to 0.10.2 the
        scheduler took rank 0's config; from 0.11.0 every worker has the same groups)."""
        return next((lay for lay, n in zip(self.layouts, self.stage_blocks) if n is not None), self.layouts[0])

    @property
    def null_blocks(self) -> int:
        return 1 if self.paging.null_block and self.paged else 0

    @property
    def usable_blocks(self) -> int:
        """Blocks requests can hold: all but the null block BlockPool keeps back."""
        return max(self.num_blocks - self.null_blocks, 0)

    def blocks_per_request(self, n, lookahead: bool = True):
        """Blocks one request of ``n`` tokens holds at its peak (int, or int64 array): each
        group's rule, with the slots speculative decoding reserves beyond the request
        (``lookahead_tokens``: allocate_slots num_lookahead_tokens and the tokens to verify,
        capped at max_model_len from 0.9.0) and the state layers' speculative blocks (from
        0.10.2) when ``lookahead``."""
        k = self.lookahead_tokens if lookahead else 0
        spec_blocks = self.num_speculative_blocks if lookahead and self.paging.state_speculative_blocks != "none" else 0
        if k:
            if self.paging.lookahead_capped:
                from kvplan.speculative import reserved_slots

                n = reserved_slots(n, k, self.max_model_len)
            else:
                n = n + k
        return blocks_per_request(self.scheduler_layout, n, self.max_num_batched_tokens, spec_blocks)

    def logged_blocks_per_request(self, n):
        """Blocks per request in vLLM's logged concurrency and start-up check
        (max_memory_usage_bytes over the page: no lookahead; state speculative blocks from
        0.17.0)."""
        spec_blocks = (self.num_speculative_blocks
                       if self.paging.state_speculative_blocks == "admission_and_check" else 0)
        return blocks_per_request(self.scheduler_layout, n, self.max_num_batched_tokens, spec_blocks)

    def max_concurrency(self, n: int | None = None) -> float:
        """vLLM's "Maximum concurrency for N tokens per request" (unrounded; N defaults to
        max_model_len): num_tokens / N before 0.9.1, else num_blocks / blocks per request."""
        n = self.max_model_len if n is None else n
        if not self.paged or n < 1:
            return 0.0
        if self.paging.concurrency == "tokens_over_len":
            return self.num_blocks * self.scheduler_layout.block_size / n
        per = self.logged_blocks_per_request(n)
        return self.num_blocks / per if per else 0.0

    @property
    def kv_cache_tokens(self) -> int:
        """vLLM's "GPU KV cache size: N tokens"."""
        lay = self.scheduler_layout
        if not self.paged or not lay.has_tokens:
            return 0
        if self.paging.kv_size_report == "concurrency":
            return int(self.max_concurrency() * self.max_model_len)
        return self.num_blocks // lay.tokens_divisor * lay.block_size

    @property
    def profiled_tokens(self) -> int:
        """Tokens the KV memory holds before the rounding down to whole blocks, floor(memory x
        block_size / block bytes), on the stage with the fewest (SGLang's profile_max_num_token,
        which sizes its request pool before it rounds to pages); 0 without paged layers."""
        counts = [max(m, 0) * lay.block_size // lay.unit_bytes
                  for m, lay, n in zip(self.memory_bytes, self.layouts, self.stage_blocks) if n is not None]
        return min(counts) if counts else 0

    # -- vLLM's start-up check ----------------------------------------------------------------
    def _own_memory_bytes(self, stage: int) -> int:
        mem, lay = self.memory_bytes[stage], self.layouts[stage]
        if self.num_gpu_blocks_override is not None and self.paging.override_in_check:
            mem = self.num_gpu_blocks_override * lay.unit_bytes
        if self.paging.null_block_in_check:
            mem -= lay.unit_bytes
        return mem

    def check_memory_bytes(self, stage: int) -> int:
        """The KV memory the start-up check plans a worker against: its memory (0.20.1+:
        ``num_gpu_blocks_override`` blocks when given; 0.29.0+: less the null block); in
        0.14.0-0.16.0 with pipeline stages the smallest worker's (``min(available_memory)``)."""
        if self.model_layout is not None:
            return min(self._own_memory_bytes(i) for i in range(len(self.layouts)))
        return self._own_memory_bytes(stage)

    def needed_bytes(self, stage: int, n: int) -> int:
        """KV bytes the start-up check asks of ``stage`` for one request of ``n`` tokens (in
        0.14.0-0.16.0 with pipeline stages: the whole model's, whatever the stage)."""
        layout = self.model_layout if self.model_layout is not None else self.layouts[stage]
        return needed_bytes(layout, self.paging, n, self.max_num_batched_tokens, self.num_speculative_blocks)

    def _checked_stages(self) -> list[int]:
        """The workers the start-up check runs on: every paged stage, or (0.14.0-0.16.0 with
        pipeline stages) one check of the whole model against the smallest worker's memory."""
        paged = [i for i, b in enumerate(self.stage_blocks) if b is not None]
        if self.model_layout is not None and paged:
            return [min(range(len(self.layouts)), key=self._own_memory_bytes)]
        return paged

    def request_beyond_pool_note(self, max_model_len: int) -> str:
        """What the release's scheduler does with one request (within ``max_model_len``) that
        needs more blocks than the pool holds (rule request_beyond_pool), as "; ..." to follow a
        verdict; "" where kvplan has not read it."""
        if self.paging.request_beyond_pool != "preempts_itself":
            return ""
        # 0.14.0 line numbers; 0.18.1's are in the rule's source
        return (f"; {self.paging.name} does not refuse it (it is within max_model_len {max_model_len:,}): when a "
                f"step needs more blocks than are free, allocate_slots fails (vllm/v1/core/kv_cache_manager.py:"
                f"334-336) and the scheduler preempts the running requests, then the request itself, which starts "
                f"over at the head of the waiting queue (vllm/v1/core/sched/scheduler.py:352-401, 800-819 at "
                f"v0.14.0): a request that outgrows the pool never finishes; kvplan's block count is an upper bound (it holds "
                f"a window layer's blocks as the start-up check reserves them at every step, while the manager frees "
                f"blocks that left the window before each allocation (kv_cache_manager.py:321), so a request a little "
                f"past the count may still finish)")

    def check_scope_note(self) -> str:
        """How the check reads its figures when it does not check each worker by its own layers."""
        if self.model_layout is None:
            return ""
        return (f" ({self.paging.name} checks the whole model's KV cache, every pipeline stage's layers, against "
                f"the smallest worker's memory: {_KCU} get_kv_cache_configs; fixed in 0.17.0 by vllm-project/vllm "
                f"PR #33698)")

    def fits_at(self, n: int) -> bool:
        """Does the start-up check pass on every worker for max_model_len ``n``?"""
        return all(self.needed_bytes(i, n) <= self.check_memory_bytes(i) for i in self._checked_stages())

    def failing_stage(self) -> int | None:
        """The first worker whose check fails at max_model_len (None: vLLM starts, or an engine
        without the check)."""
        if not self.paging.start_check:
            return None
        for i in self._checked_stages():
            mem = self.check_memory_bytes(i)
            if mem <= 0 or self.needed_bytes(i, self.max_model_len) > mem:
                return i
        return None

    def estimated_max_model_len(self, limit: int | None = None) -> int:
        """vLLM's estimate of the longest max_model_len the KV memory holds (the figure in its
        "estimated maximum model length is N" error, and what ``--max-model-len -1`` picks):
        the largest L <= ``limit`` (default max_model_len) passing the start-up check on every
        worker; 0 when not even one token does."""
        hi = self.max_model_len if limit is None else limit
        if not self.paged:
            return hi
        return longest_fitting(self.fits_at, hi)


def _blocks_of(paging: Paging, memory_bytes: int, unit_bytes: int, block_size: int) -> int:
    """Blocks a pool of ``memory_bytes`` holds: vLLM's ``memory // unit``, or TensorRT-LLM's
    ``ceil(floor(memory / per-token bytes) / tokens_per_block)`` (per-token bytes = unit /
    block_size, kept as a ratio so the floor is exact). Llama-3.1-8B fp8 KV (65,536 B a token,
    32-token blocks): 16.0527 GiB allotted -> 263,008 tokens -> 8,219 blocks either way; one
    token more than a whole block gives one more block here."""
    if not paging.round_blocks_up:
        return memory_bytes // unit_bytes
    max_tokens = memory_bytes * block_size // unit_bytes
    return -(-max_tokens // block_size)


def page_replica(spec: ModelSpec, fmt: KVFormat, paging: Paging, *, tp: int, pp: int, block_size: int,
                 worker_memory_bytes, max_model_len: int | None, max_num_batched_tokens: int | None = None,
                 num_gpu_blocks_override: int | None = None, hybrid: bool | None = None,
                 lookahead_tokens: int = 0, num_speculative_blocks: int = 0, stage_layers=None) -> Pages:
    """vLLM's ``get_kv_cache_configs`` for one replica.

    ``worker_memory_bytes``: KV memory of every worker, one int per pipeline stage or one
    per rank (tp x pp, rank = stage * tp + tp rank, vLLM's order); a stage counts its
    smallest rank. ``max_model_len`` None means vLLM's auto-fit (``--max-model-len -1``,
    0.14.0+) below the model's max_position_embeddings. ``stage_layers`` overrides vLLM's
    pipeline split (tests that give each worker its own layers)."""
    from kvplan.layer_sums import pp_stage_ranges

    ranges = list(stage_layers) if stage_layers is not None else pp_stage_ranges(spec.num_layers, pp)
    mem = tuple(worker_memory_bytes)
    if len(mem) == len(ranges) * tp and tp > 1:
        mem = tuple(min(mem[s * tp:(s + 1) * tp]) for s in range(len(ranges)))
    if len(mem) != len(ranges):
        raise BadInputError(f"give KV memory for each of the {len(ranges)} pipeline stages or each of the "
                            f"{len(ranges) * tp} ranks, got {len(mem)} values")
    layouts = tuple(pool_layout(spec, r, fmt, block_size, tp, paging, hybrid=hybrid) for r in ranges)
    # 0.14.0-0.16.0 check the global groups (all stages' layers) against one worker's memory
    model_layout = (pool_layout(spec, range(spec.num_layers), fmt, block_size, tp, paging, hybrid=hybrid)
                    if paging.memory_check_scope == "model" and len(ranges) > 1 else None)
    if paging.grouping == "per_worker":
        # Up to 0.10.2 each worker groups its own layers and unify_kv_cache_configs asserts that
        # every worker's groups have rank 0's specs: stages holding different cache kinds (full
        # attention on one, sliding windows on another) do not start. Planning them with one
        # stage's groups overcommitted the others (a window layer takes a block more).
        # vLLM sorts each worker's groups by spec and asserts them pairwise equal to rank 0's.
        specs = {tuple(sorted(repr((kind, block)) for kind, tables, block in lay.groups for _ in range(tables)))
                 for lay in layouts if lay.unit_bytes}
        if len(specs) > 1:
            raise paging.refuse("pipeline stages whose KV cache groups differ (other cache kinds, or other counts "
                                "of them) do not start: every worker's groups must be rank 0's (use pp 1, or vLLM "
                                "0.11.0+, which groups the whole model)",
                                _KCU + ": unify_kv_cache_configs asserts each rank's group specs")
    stage_blocks = tuple(None if lay.unit_bytes == 0 else
                         (num_gpu_blocks_override if num_gpu_blocks_override is not None
                          else _blocks_of(paging, max(m, 0), lay.unit_bytes, lay.block_size))
                         for m, lay in zip(mem, layouts))
    paged = [n for n in stage_blocks if n is not None]
    num_blocks = min(paged) if paged else 0
    derived = spec.max_position_embeddings
    pages = Pages(paging, layouts, mem, stage_blocks, num_blocks, max_model_len or derived, max_num_batched_tokens,
                  lookahead_tokens, num_speculative_blocks, num_gpu_blocks_override, derived,
                  auto_fit=max_model_len is None, model_layout=model_layout)
    if max_model_len is None and pages.paged:
        if not paging.auto_fit_max_model_len:
            raise paging.refuse("has no auto-fit of max_model_len (--max-model-len -1 needs vLLM 0.14.0 or later)",
                                paging.sources.get("auto_fit_max_model_len", ""))
        fitted = pages.estimated_max_model_len(derived)
        if fitted <= 0:
            raise paging.refuse("cannot auto-fit max_model_len: not enough KV memory for a single token",
                                _KCU + ": _auto_fit_max_model_len")
        pages = dataclasses.replace(pages, max_model_len=fitted)
    return pages

__all__ = [
    "BOOK", "KERNEL_BLOCK_ALIGNMENT", "LayerSet", "Pages", "Paging", "PoolLayout", "RELEASES", "RULES", "blocks_per_request",
    "longest_fitting", "minimum", "needed_bytes", "page_replica", "paging_for", "pool_layout", "vllm_paging",
]
