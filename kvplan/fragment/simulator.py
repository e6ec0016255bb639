"""Event-driven simulation of continuous (or static) batching on a fixed KV pool, in time.

One step = one engine iteration. At step s, in this order:

1. decode: every sequence decoding before s stores one more token (a paged sequence
   whose blocks are full takes a new block; with a retention window, blocks that left the
   window are released first; when the pool has too few free blocks the most recently
   admitted request is preempted, all its blocks freed, and it goes back to the front of
   the queue keeping its tokens, to be recomputed: vLLM's recompute preemption);
2. prefill: requests still computing their prompt get the step's token budget first, in
   admission order (``max_num_batched_tokens`` less one token per decoding sequence);
3. admission, unless step s preempted: first come, first served among the requests that
   have arrived, while the head of the queue fits (contiguous: a first-fit chunk per
   sample; paged: its blocks plus vLLM's 1% watermark, cached prefix blocks reused), the
   batch stays within ``max_seqs`` and budget is left; its blocks are allocated at once
   (vLLM v0's block manager), its prompt computed in chunks of the budget;
4. the step is measured (see kvplan.fragment.metrics) and timed (its decodes, prefill
   tokens and tier transfers through the step-time model);
5. every sequence that reached its final length (prompt + output) completes and frees.

A request with prompt P and output O that is admitted at step s with its whole prompt
(no budget) holds P + k tokens k steps later and completes at s + O: resident O + 1
steps. Its first token comes at the end of the step that finishes its prompt (TTFT).
The order follows CacheFlow, vLLM's prototype (vllm-project/vllm,
cacheflow/master/scheduler.py, e.g. commit 7e5f604e): running groups reserve slots first,
evicting the most recently added group; new groups join only if none was evicted in the
step. Nothing but decode happens between events (a completion, an arrival the engine can
take, the admission step after memory was freed, a preemption, a sequence whose window
starts sliding; not the would-be completion of a preempted sequence, nor the step after a
preemption unless the preempted request could be readmitted in it, see head_waits), so the
loop jumps from event to event: contiguous sequences keep a constant chunk, and the blocks
paged sequences take in between are counted from a histogram of their phases (a sequence
needs a block at step t when t - 1 - c is a multiple of the block size, c = the step at
which it would hold 0 tokens, shifted by the lookahead). Memory is linear in running
sequences; the workload is read as a stream.
"""

from __future__ import annotations

from typing import Any, Final
import heapq
from heapq import heappop, heappush
from array import array
from collections import deque

from kvplan.errors import BadInputError, DoesNotFitError
from kvplan.fragment.allocators import ALLOCATORS
from kvplan.fragment.config import ServingConfig
from kvplan.fragment.metrics import (
    WAIT_BUDGET,
    WAIT_MEMORY,
    WAIT_NONE,
    WAIT_SEATS,
    CacheStats,
    PolicyResult,
    TimeStats,
    Usage,
    contiguous_sums,
    paged_sums,
    percentiles,
)
from kvplan.fragment.policies import Policy
from kvplan.fragment.prefix_cache import BlockCache, Tier
from kvplan.fragment.timing import decode_run_seconds, steps_until
from kvplan.speculative import reserved_slots

#: vLLM's default cap on running sequences on GPUs below 70 GiB and on A100s
#: (EngineArgs.max_num_seqs = 256, vllm/engine/arg_utils.py); `fragment --gpu` takes the
#: engine profile's value instead (1,024 on larger GPUs; kvplan.engines).
VLLM_MAX_NUM_SEQS = 256
#: vLLM's admission watermark: a prompt is admitted only if free blocks - its blocks >=
#: int(0.01 * total blocks) (BlockSpaceManager(watermark=0.01), vllm/core/block_manager.py).
VLLM_WATERMARK = 0.01

_NEVER: Final = 1 << 62
_KEY_SPAN = 1 << 20  # block index limit inside one key: 2^20 blocks of >= 1 token each


class _Seq:
    """A paged sequence (one sample of a request) while it decodes."""

    __slots__ = ("c", "final", "base", "ph", "seg", "group", "dead", "fph", "sat")

    def __init__(self, c: int, final: int, base: int, ph: int, seg: int, group: _Group):
        self.c = c  # holds (t - c) tokens at step t
        self.final = final  # tokens when it completes
        self.base = base  # leading tokens held in cached (keyed) blocks, a multiple of the block
        self.ph = ph  # phase of its block needs
        self.seg = seg  # first step not yet added to the usage sums
        self.group = group
        self.dead: bool = False  # preempted: its heap entry is stale
        self.fph = -1  # with a window: phase of its block releases, once sliding
        self.sat: bool = False  # with a window: attends to a constant sinks + window tokens


class _ChunkSeq:
    """A contiguous sequence: a chunk of the pool from admission to completion."""

    __slots__ = ("c", "final", "seg", "group", "size", "start", "slack")

    def __init__(self, c: int, final: int, seg: int, group: _Group, size: int, start: int, slack: int):
        self.c = c  # holds the prompt length until decoding starts, then (t - c) tokens at step t
        self.final = final  # tokens when it completes
        self.seg = seg  # first step not yet added to the usage sums
        self.group = group
        self.size = size  # chunk slots
        self.start = start  # chunk address
        self.slack = slack  # chunk slots beyond the reservation (buddy rounding)


class _Group:
    """A request: its n samples, admitted and preempted together."""

    __slots__ = ("rid", "seqs", "prompt", "outs", "arrival", "hashes", "lens", "finals", "keys", "todo",
                 "first_start", "ttft", "readers", "started", "sizes", "need")

    def __init__(self, rid: int, prompt: int, outs, arrival, hashes):
        self.rid = rid
        self.seqs: list = []
        self.prompt = prompt  # system prompt + own prompt
        self.outs = outs
        self.arrival = arrival
        self.hashes = hashes
        # tokens per sample to hold after the (re)fill, and at completion (never changed in place)
        if len(outs) == 1:
            self.lens: Any = (prompt,)
            self.finals: Any = (prompt + outs[0],)
        else:
            self.lens = (prompt,) * len(outs)
            self.finals = tuple(prompt + o for o in outs)
        self.keys: list[int] | tuple = ()  # keyed (cached) blocks it references (never changed in place)
        self.todo: int = 0  # prompt tokens still to compute
        self.first_start: Any = None  # time of its first admission step's start
        self.ttft: Any = None
        self.readers: int = 0  # live samples reading its keyed blocks
        self.started: bool = False  # decoding (its samples are in the heap)
        self.sizes: Any = None  # contiguous: (reservation, chunk) per sample; paged with sharing: prompt block keys
        self.need: int = 0  # paged: blocks its lens hold with nothing cached


def simulate(
    workload,
    policy: Policy,
    pool_tokens: int,
    *,
    max_model_len: int,
    max_seqs: int = VLLM_MAX_NUM_SEQS,
    watermark: float = VLLM_WATERMARK,
    allocator: str = "first-fit",
    serving: ServingConfig | None = None,
    progress=None,
    max_request_tokens: int | None = None,
) -> PolicyResult:
    """Run ``workload`` through ``policy`` on a pool of ``pool_tokens`` KV slots.

    ``allocator`` places contiguous chunks: ``first-fit`` (default) or ``buddy`` (the
    paper's assumption for Orca; chunks rounded up to powers of two). ``serving`` sets the
    time model, token budget, retention window, lookahead and tiers (defaults: whole
    prompts per step, full retention). ``progress(k)`` (optional) is called as requests
    complete, with the number completed since the last call. ``max_request_tokens``: the
    longest request the engine runs (kvplan.capacity.Pool.max_request_tokens: SGLang stops one
    2 tokens short of min(context_len, pool)); None: max_model_len. A longer request is refused
    (BadInputError): load the workload clipped to it. Raises DoesNotFitError if one request
    alone cannot fit the pool."""
    cfg = serving or ServingConfig()
    if pool_tokens < 1:
        raise BadInputError(f"KV pool must hold at least 1 token, got {pool_tokens}")
    if max_seqs < workload.n:
        raise BadInputError(f"--max-seqs {max_seqs} is below the {workload.n} samples of one request")
    if allocator not in ALLOCATORS:
        raise BadInputError(f"unknown allocator {allocator!r}; use {' or '.join(ALLOCATORS)}")
    budget = cfg.max_num_batched_tokens
    if budget is not None and budget < max_seqs * cfg.decode_tokens:
        raise BadInputError(
            f"--max-num-batched-tokens {budget:,} is below --max-seqs {max_seqs} x {cfg.decode_tokens} decode "
            f"token(s) per sequence; vLLM requires max_num_batched_tokens >= max_num_seqs (raise it, or lower "
            "--max-seqs)")
    run: _Run
    if policy.static:
        run = _StaticRun(workload, policy, pool_tokens, cfg, max_model_len, progress, max_request_tokens)
    elif policy.contiguous:
        run = _ContiguousRun(workload, policy, pool_tokens, cfg, max_model_len, max_seqs, ALLOCATORS[allocator],
                             progress, max_request_tokens)
    elif policy.share:
        run = _SharedPagedRun(workload, policy, pool_tokens, cfg, max_model_len, max_seqs, watermark, progress,
                              max_request_tokens)
    else:
        run = _PagedRun(workload, policy, pool_tokens, cfg, max_model_len, max_seqs, watermark, progress,
                        max_request_tokens)
    return run.run()


class _Run:
    """What every policy shares: the arrival queue, the clock, waiting reasons, request times.

    Runs have __slots__: with 35-66 attributes an instance dict is too large for CPython's
    shared-key dicts (at most 30 keys), and slots keep every attribute access in the loops fast.
    Attributes are annotated for mypyc (setup.py compiles this module): an ``int`` counter
    becomes a machine integer, ``Any`` marks values that may be int, float or None (clocks,
    arrival times)."""

    prefilling: list[_Group]  # requests still computing their prompt, in admission order (set by subclasses)

    __slots__ = ("wl", "policy", "pool_tokens", "cfg", "model", "budget", "max_model_len", "max_request", "max_seqs",
                 "progress",
                 "S", "n", "usage", "stream", "rid", "nxt", "requeued", "now", "clock", "busy", "first_arrival",
                 "blocked", "blocked_need", "cur_wait", "since", "completed", "reported", "preemptions", "peak",
                 "ttft", "qdelay", "latency", "out_tokens", "prefill_tokens", "recomputed", "prefilling",
                 "done_prompts")

    def __init__(self, wl, policy, pool_tokens, cfg: ServingConfig, max_model_len, max_seqs, progress,
                 max_request_tokens=None):
        self.wl = wl
        self.policy = policy
        self.pool_tokens = pool_tokens
        self.cfg = cfg
        self.model = cfg.step_time
        self.budget = cfg.max_num_batched_tokens
        self.max_model_len = max_model_len
        self.max_request = max_model_len if max_request_tokens is None else max_request_tokens
        self.max_seqs = max_seqs
        self.progress = progress
        self.S = wl.system_prompt
        self.n = wl.n
        self.usage = Usage()
        self.stream = iter(wl.iter_requests())
        self.rid: int = 0
        self.nxt: _Group | None = None  # the next request not yet taken from the stream: a _Group
        self.requeued: deque[_Group] = deque()  # preempted requests, ahead of the stream
        self.now: int = 0
        self.clock: Any = 0.0  # seconds at the end of step `now`
        self.busy: Any = 0.0
        self.first_arrival: Any = None
        self.blocked: _Group | None = None  # the request at the head of the queue when admission last stopped
        self.blocked_need: int = 0  # paged: free blocks it needs, when memory stopped it
        self.cur_wait: int = WAIT_NONE
        self.since: int = 1
        self.completed: int = 0
        self.reported: int = 0
        self.preemptions: int = 0
        self.peak: int = 0
        # per-request times, for exact percentiles: 8 bytes each (array), 24 bytes per request
        self.ttft = array("d")
        self.qdelay = array("d")
        self.latency = array("d")
        self.out_tokens: int = 0
        self.prefill_tokens: int = 0
        self.recomputed: int = 0
        self.pull()

    # -- the queue --------------------------------------------------------------------
    def pull(self) -> None:
        item = next(self.stream, None)
        if item is None:
            self.nxt = None
            return
        prompt, outs, t, hashes = item
        rid = self.rid
        self.rid += 1
        longest = self.S + prompt + (outs[0] if len(outs) == 1 else max(outs))
        if longest > self.max_request:
            what = (f"max_model_len {self.max_model_len}" if self.max_request == self.max_model_len else
                    f"the {self.max_request} tokens the engine runs a request to (max_model_len {self.max_model_len})")
            raise BadInputError(f"request #{rid + 1} of {longest} tokens exceeds {what}; clip the workload to it")
        if self.first_arrival is None:
            self.first_arrival = t
        grp = _Group(rid, self.S + prompt, outs, t, hashes)
        self.check_fits(grp)
        self.nxt = grp

    def check_fits(self, grp: _Group) -> None:
        raise NotImplementedError

    def start_decoding(self, grp: _Group, s: int) -> None:
        """The group's prompt is complete at step s: its samples join the decode."""
        raise NotImplementedError

    def eligible(self) -> bool:
        """Some request has arrived (by the start of the next step) and waits."""
        return bool(self.requeued) or (self.nxt is not None and self.nxt.arrival <= self.clock)

    def head(self) -> _Group:
        """The first waiting request (only asked when one waits)."""
        if self.requeued:
            return self.requeued[0]
        assert self.nxt is not None
        return self.nxt

    def pop_head(self) -> None:
        if self.requeued:
            self.requeued.popleft()
        else:
            self.pull()

    # -- time -------------------------------------------------------------------------
    def advance(self, seconds: float) -> None:
        self.clock += seconds
        self.busy += seconds

    def first_admission(self, grp: _Group, step_start: float) -> None:
        if grp.first_start is None:
            grp.first_start = step_start
            self.qdelay.append(step_start - grp.arrival)

    def prompts_done(self, groups) -> None:
        """The step that just ended finished these requests' prompts: their first token is now
        (TTFT), unless a preemption had them recompute a prompt already done."""
        clock, ttft = self.clock, self.ttft
        for grp in groups:
            if grp.ttft is None:
                grp.ttft = clock - grp.arrival
                ttft.append(grp.ttft)

    def request_done(self, grp: _Group) -> None:
        self.latency.append(self.clock - grp.arrival)
        self.out_tokens += sum(grp.outs)
        self.completed += 1
        if self.progress is not None and self.completed - self.reported >= 1024:
            self.progress(self.completed - self.reported)
            self.reported = self.completed

    # -- waiting reasons -------------------------------------------------------------------
    def set_wait(self, s: int, kind: int) -> None:
        """From step s on, requests wait for ``kind`` (WAIT_NONE: nobody waits)."""
        if kind == self.cur_wait:
            return
        self.flush(s)
        if self.cur_wait:
            self.usage.wait_steps[self.cur_wait] += s - self.since
        self.cur_wait, self.since = kind, s

    def flush(self, s: int) -> None:
        """Add every running sequence's sums up to step s - 1."""
        raise NotImplementedError

    def finish(self, extra_cache=None) -> PolicyResult:
        u = self.usage
        if self.cur_wait:  # pragma: no cover - the queue is empty when the run ends
            u.wait_steps[self.cur_wait] += self.now + 1 - self.since
        u.steps = self.now
        if self.progress is not None and self.completed > self.reported:
            self.progress(self.completed - self.reported)

        def trio(xs):
            return (sum(xs) / len(xs) if xs else 0.0, *percentiles(xs, (50, 99)))

        timing = TimeStats(
            step_model=self.model.describe(),
            makespan_s=self.clock - (self.first_arrival or 0.0),
            busy_s=self.busy,
            queue_delay_s=trio(self.qdelay),
            ttft_s=trio(self.ttft),
            latency_s=trio(self.latency),
            output_tokens=self.out_tokens,
            prefill_tokens=self.prefill_tokens,
            recomputed_tokens=self.recomputed,
        )
        return PolicyResult(
            policy=self.policy.name,
            description=self.policy.describe(),
            pool_tokens=self.pool_tokens,
            block_size=self.policy.block_size,
            requests=self.rid,
            completed=self.completed,
            preemptions=self.preemptions,
            peak_batch=self.peak,
            usage=u,
            timing=timing,
            cache=extra_cache,
            static=self.policy.static,
        )

    def prefill_chunks(self, s: int, budget_left, done_prompts: list) -> tuple:
        """Step ``s``'s chunked prefill of the requests still computing their prompt, in
        admission order, within ``budget_left`` tokens (None: no budget); a request whose
        prompt completes starts decoding. Returns (budget left, prompt tokens computed)."""
        keep, prefill = [], 0
        for grp in self.prefilling:
            if budget_left is not None and budget_left <= 0:
                keep.append(grp)
                continue
            chunk = grp.todo if budget_left is None else min(grp.todo, budget_left)
            grp.todo -= chunk
            prefill += chunk
            if budget_left is not None:
                budget_left -= chunk
            if grp.todo == 0:
                self.start_decoding(grp, s)
                done_prompts.append(grp)
            else:
                keep.append(grp)
        self.prefilling[:] = keep
        return budget_left, prefill


def _no_fit(policy: Policy, rid: int, need: int, have: int, pool_tokens: int, unit: str) -> DoesNotFitError:
    return DoesNotFitError(
        f"{policy.name}: request #{rid + 1} alone needs {need:,} {unit} but the KV pool has {have:,} "
        f"({pool_tokens:,} tokens); use a larger --kv-pool-tokens or GPU, or a smaller --max-model-len"
    )


# -- paged --------------------------------------------------------------------------------------
class _PagedRun(_Run):
    __slots__ = ("B", "look", "window", "sink_blocks", "cap", "num_blocks", "wm", "share", "cache", "hash_block",
                 "sys_keys", "free", "running", "heap", "wheap", "hist", "fhist", "ndec", "nfree", "nrun", "gn",
                 "gsumc", "satkv", "uid", "cseg", "users", "hit", "prompt_total", "transfer_s", "avoided_s",
                 "ncapped", "stop_at")

    def __init__(self, wl, policy, pool_tokens, cfg, max_model_len, max_seqs, watermark, progress,
                 max_request_tokens=None):
        B: int = policy.block_size
        self.B: int = B
        self.look: int = cfg.lookahead
        ret = cfg.retention
        self.window: Any = ret.window
        self.sink_blocks: int = -(-ret.sinks // B)
        self.cap: Any = ret.cap
        self.num_blocks: int = pool_tokens // B
        self.wm: int = int(watermark * self.num_blocks) if policy.watermark_applies else 0
        self.share: bool = bool(policy.share)
        if self.share and self.window is not None:
            raise BadInputError(f"{policy.name}: prefix sharing with --window is not modelled (a window releases "
                                "shared blocks per sequence); use paged-B without -share")
        tiers = []
        if cfg.tiers.enabled:
            if not self.share:
                tiers = []
            else:
                cpu, disk = cfg.tiers.blocks(B)
                tiers = [Tier("cpu", cpu), Tier("disk", disk)]
        self.cache = BlockCache(tiers) if self.share else None
        self.hash_block = wl.hash_block
        self.sys_keys = [-(j + 1) for j in range(wl.system_prompt // B)] if self.share else []
        self.free: int = self.num_blocks  # blocks neither allocated nor cached
        self.running: dict[_Group, None] = {}  # admission order
        self.prefilling: list[_Group] = []
        self.heap: list[tuple[int, int, _Seq]] = []  # (completion step, uid, seq)
        self.wheap: list[tuple[int, int, _Seq, int]] = []  # (end of step, uid, seq, kind): window events
        self.hist: list[int] = [0] * B  # decoding sequences by need phase
        self.fhist: list[int] = [0] * B  # sliding sequences by release phase
        self.ndec: int = 0  # decoding sequences
        self.nfree: int = 0  # sliding sequences
        self.nrun: int = 0  # sequences running (decoding + prefilling)
        self.gn: int = 0  # decoding sequences whose attended tokens still grow
        self.gsumc: int = 0  # sum of c over those
        self.satkv: int = 0  # attended tokens of the saturated ones
        self.uid: int = 0
        self.cseg: int = 1  # first step whose cache occupancy is not yet in the sums
        self.users: int = 0  # sum over keyed blocks in use of their readers
        self.hit = [0, 0, 0]  # prompt tokens of first admissions served from GPU, CPU, disk (each sample)
        self.prompt_total: int = 0  # prompt tokens of first admissions, each of a request's samples (-share)
        self.transfer_s: Any = 0.0
        self.avoided_s: Any = 0.0
        # Lookahead slots stop at max_model_len (kvplan.speculative.reserved_slots): a decoding
        # sequence holds cdiv(min(n + look, max_model_len), B) blocks, so it takes no block from
        # the length stop_at = cdiv(max_model_len, B) x B + 1 - look on (the first n whose
        # n + look - 1 is a multiple of B past max_model_len); ncapped of them are out of hist.
        self.ncapped: int = 0
        self.stop_at: int = -(-max_model_len // B) * B + 1 - self.look
        if self.cache is not None:  # paged-B-share (_SharedPagedRun): one free queue, the whole pool at its head
            self.cache.append_free(self.free)
            self.free = 0
        super().__init__(wl, policy, pool_tokens, cfg, max_model_len, max_seqs, progress, max_request_tokens)

    # -- blocks -------------------------------------------------------------------------
    def slots(self, n: int) -> int:
        """Slots a sequence of n tokens holds, its lookahead included (capped at max_model_len)."""
        return reserved_slots(n, self.look, self.max_model_len) if self.look else n

    def freed(self, n: int) -> int:
        """Blocks a sequence of n tokens has released to its window."""
        w = self.window
        if w is None or n < w:
            return 0
        return max(0, (n - w) // self.B - self.sink_blocks)

    def held(self, n: int) -> int:
        """Blocks a sequence of n tokens holds (including the shared ones)."""
        look = self.look
        blocks = -(-(reserved_slots(n, look, self.max_model_len) if look else n) // self.B)
        return blocks - self.freed(n) if self.window is not None else blocks

    def keys_of(self, grp: _Group) -> list[int]:
        """Keys of the full prompt blocks this request can share (cached, reference-counted)."""
        if not self.share:
            return []
        B, P = self.B, grp.prompt
        # The samples of a request share only the full blocks before its prompt's last token.
        # vLLM V1 runs n samples as n child requests with the same prompt (v0.19.1
        # vllm/v1/engine/llm_engine.py:279-281, async_llm.py:396-397; no block-table fork), and
        # each child's cache hit stops at num_tokens - 1 tokens (kv_cache_manager.py:201,
        # v0.24.0 :227; find_longest_cache_hit takes max_length // block_size blocks,
        # single_type_kv_cache_manager.py:445), so every child computes the block holding the
        # prompt's last token into a block of its own. P = 2, B = 2, n = 2: (2 - 1) // 2 = 0
        # shared, 2 blocks, not 1; P = 3: 1 shared block and a partial block each, 3 blocks.
        # Alone (n = 1) a request names all P // B of its full blocks, the last one included,
        # for later requests to hit. vLLM names each sample's copy of that block too
        # (block_pool.py:33-52, "we don't de-duplicate"); kvplan leaves the copies unnamed.
        full = P // B if self.n == 1 else (P - 1) // B
        if grp.hashes is not None:
            # Engine block j holds tokens [jB, (j+1)B); the trace id of the hash block holding
            # its last token names every token up to that block's end, so (id, j) names block j.
            H = self.hash_block
            h = grp.hashes
            return [h[((j + 1) * B - 1) // H] * _KEY_SPAN + j for j in range(full)]
        keys = list(self.sys_keys)  # S // B <= (P - 1) // B: a prompt has at least one token past S
        if self.n > 1:
            base = -(grp.rid + 1) * _KEY_SPAN
            keys.extend(base - j for j in range(len(keys), full))
        return keys

    def most_held(self, P: int, f: int) -> int:
        """The most blocks a sequence holds between P and f tokens: at f, or with a window
        somewhere in its last block-long stretch (holdings oscillate by one block)."""
        if self.window is None:
            return self.held(f)
        return max(self.held(x) for x in range(max(P, f - self.B), f + 1))

    def check_fits(self, grp: _Group) -> None:
        B, P = self.B, grp.prompt
        if self.share:
            grp.sizes = self.keys_of(grp)  # the prompt's block keys, computed once
        if not grp.sizes and self.window is None:  # nothing to share: the common case, without the general helpers
            slots = self.slots
            at_prompt = grp.need = len(grp.outs) * -(-slots(P) // B)
            at_end = 0
            for o in grp.outs:
                at_end += -(-slots(P + o) // B)
            if at_prompt + self.wm <= self.num_blocks and at_end <= self.num_blocks:
                return
        K = len(grp.sizes) if self.share else 0
        grp.need = self.n * self.held(P)
        at_prompt = K + grp.need - self.n * K
        at_end = K + sum(self.most_held(P, P + o) - K for o in grp.outs)
        if at_prompt + self.wm > self.num_blocks:
            raise _no_fit(self.policy, grp.rid, (at_prompt + self.wm) * B, self.num_blocks * B, self.pool_tokens,
                          "tokens of blocks (prompt + admission watermark)")
        if at_end > self.num_blocks:
            raise _no_fit(self.policy, grp.rid, at_end * B, self.num_blocks * B, self.pool_tokens,
                          "tokens of blocks")

    def avail(self) -> int:
        return self.free + (self.cache.evictable if self.cache is not None else 0)

    def take(self, x: int) -> None:
        """Allocate x blocks: free ones first, then evict cached ones (LRU)."""
        if x <= self.free:
            self.free -= x
        else:
            self.cache.evict(x - self.free)
            self.free = 0

    # -- cache occupancy ----------------------------------------------------------------
    def cflush(self, upto: int) -> None:
        """Add the keyed blocks in use (and their extra readers) for steps cseg .. upto - 1."""
        cnt = upto - self.cseg
        if cnt > 0 and self.cache is not None:
            ref = self.cache.referenced
            if ref:
                self.usage.add_shared(ref * self.B, cnt, self.cur_wait)
                self.usage.shared_reads += (self.users - ref) * self.B * cnt
        if cnt > 0:
            self.cseg = upto

    def flush(self, s: int) -> None:
        B, look, w, sb, mml = self.B, self.look, self.window, self.sink_blocks, self.max_model_len
        add = self.usage.add
        for grp in self.running:
            if not grp.started:
                continue
            for seq in grp.seqs:
                if seq.seg < s:
                    add(paged_sums(seq.c, seq.final, seq.base, B, seq.seg, s - 1, look, w, sb, mml), self.cur_wait)
                    seq.seg = s
        self.cflush(s)

    # -- sequences ----------------------------------------------------------------------
    def start_decoding(self, grp: _Group, s: int) -> None:
        """The group's prompt is complete at step s: its samples join the decode."""
        B, look, windowed = self.B, self.look, self.window is not None
        base = len(grp.keys) * B
        grp.started = True
        hist, heap, seqs = self.hist, self.heap, grp.seqs
        sumc = 0
        stop = self.stop_at if look else None  # without lookahead no sequence outgrows max_model_len
        for x, f in zip(grp.lens, grp.finals):  # kept as they are until a preemption sets them again
            c = s - x
            ph = (c - look) % B
            seq = _Seq(c, f, base, ph, s, grp)
            seqs.append(seq)
            if stop is not None and stop <= x + 1:  # at its max_model_len blocks already: takes none
                seq.ph = -1
                self.ncapped += 1
            else:
                hist[ph] += 1
                if stop is not None and stop <= f:  # stops taking blocks before it completes
                    heappush(self.wheap, (c + stop - 1, self.uid, seq, 2))
                    self.uid += 1
            heappush(heap, (s + f - x, self.uid, seq))
            self.uid += 1
            if windowed:
                self.track_window(seq, s)  # its attention grows until it saturates
            else:
                sumc += c
        k = len(grp.lens)
        if not windowed:
            self.gn += k
            self.gsumc += sumc
        self.ndec += k

    def track_window(self, seq: _Seq, s: int) -> None:
        """Schedule (or apply) when its blocks start leaving the window and its attention saturates."""
        c = seq.c
        slide = c + self.window + self.B * (self.sink_blocks + 1)  # first step that releases a block
        if slide - 1 <= s:
            self.start_sliding(seq)
        else:
            heapq.heappush(self.wheap, (slide - 1, self.uid, seq, 0))
            self.uid += 1
        sat = c + self.cap  # from this step on it attends to cap tokens
        if sat <= s + 1:
            seq.sat = True
            self.satkv += self.cap
        else:
            self.gn += 1
            self.gsumc += c
            heapq.heappush(self.wheap, (sat - 1, self.uid, seq, 1))
            self.uid += 1

    def start_sliding(self, seq: _Seq) -> None:
        seq.fph = (seq.c + self.window - 1) % self.B
        self.fhist[seq.fph] += 1
        self.nfree += 1

    def drop_seq(self, seq: _Seq) -> None:
        """Remove a decoding sequence from the aggregates."""
        self.unhist(seq)
        self.ndec -= 1
        if seq.fph >= 0:
            self.fhist[seq.fph] -= 1
            self.nfree -= 1
        if seq.sat:
            self.satkv -= self.cap
        else:
            self.gn -= 1
            self.gsumc -= seq.c

    def unhist(self, seq: _Seq) -> None:
        """Take a decoding sequence out of the block takers (or out of the capped ones)."""
        if seq.ph >= 0:
            self.hist[seq.ph] -= 1
        else:
            self.ncapped -= 1

    def stop_growing(self, seq: _Seq) -> None:
        """The sequence holds its max_model_len blocks: it takes no more (see stop_at)."""
        self.hist[seq.ph] -= 1
        seq.ph = -1
        self.ncapped += 1

    def kv_at(self, t: int) -> int:
        return self.gn * t - self.gsumc + self.satkv

    # -- admission ----------------------------------------------------------------------
    def admit(self, s: int, budget_left):
        """Admit from the head of the queue; returns (budget left, wait reason, prefill tokens)."""
        B, cache, wm, max_seqs = self.B, self.cache, self.wm, self.max_seqs
        prefill = 0
        start_clock = self.clock
        requeued = self.requeued
        running, done_prompts = self.running, self.done_prompts
        while True:
            if requeued:
                grp = requeued[0]
            else:
                nxt = self.nxt
                if nxt is None or nxt.arrival > start_clock:
                    break
                grp = nxt
            lens = grp.lens
            k = len(lens)
            if self.nrun + k > max_seqs:
                return budget_left, WAIT_SEATS, prefill
            if budget_left is not None and budget_left <= 0:
                return budget_left, WAIT_BUDGET, prefill
            if cache is None or not grp.sizes:  # nothing of it can be cached
                need = grp.need
                if self.free + (cache.evictable if cache is not None else 0) - need < wm:
                    self.blocked_need = need + wm  # free blocks it waits for
                    return budget_left, WAIT_MEMORY, prefill
                self.pop_head()
                self.take(need)
                hits = loaded = 0
                found: Any = ()
                K = 0
            else:
                keys = grp.sizes
                limit = min(len(keys), (min(lens) - 1) // B)  # at least the last token is computed
                h, ev, found = cache.lookup(keys, limit, self.cfg.drops_last_hit_block)
                loaded = sum(found)
                hits = h
                ref = cache.ref
                if any(x in ref for x in keys[h:]):
                    # blocks cached beyond the hit (a whole prompt's last block, an EAGLE-dropped
                    # block) are computed into fresh blocks of the request's own, unnamed (vLLM
                    # allocates new blocks past the hit; their hash stays with the cached copy)
                    keys = keys[:h] + [x for x in keys[h:] if x not in ref]
                K = len(keys)
                need = K - h - k * K + grp.need
                if self.free + cache.evictable - need - ev < wm:
                    self.blocked_need = need + ev + wm
                    return budget_left, WAIT_MEMORY, prefill
                self.pop_head()
                self.cflush(s)
                cache.acquire(keys[:h])
                self.take(need)
                if loaded:
                    cache.load(keys[h:h + loaded])
                    secs = self.cfg.tiers.load_seconds(found[0], found[1], B)
                    self.transfer_s += secs
                    self.clock += secs  # kvplan's assumption: the step waits for the copy (an upper bound on the stall)
                    self.busy += secs
                    self.avoided_s += self.model.step_seconds(0, 0, loaded * B) - self.model.step_seconds(0, 0, 0)
                cache.register(keys[h:])
                grp.readers = k
                self.users += k * K
                grp.keys = keys
            P = grp.prompt
            if cache is None and lens[0] == P and lens[-1] == P and (k < 3 or all(x == P for x in lens)):
                todo = P  # paged-B (vLLM V0): one prefill per sequence group, for all its samples
            else:  # each sample computes its own tokens past the K shared blocks (those once), as a
                # V1 child request does at first admission (see keys_of) and every sample after a preemption
                todo = (K - hits - loaded) * B + (sum(lens) - k * K * B)
            if grp.first_start is None:
                grp.first_start = start_clock
                self.qdelay.append(start_clock - grp.arrival)
                if cache is not None:
                    # vLLM V1's prefix-cache counters, one lookup per child request (v0.19.1
                    # kv_cache_manager.py:208-214 records num_tokens as queries and the hit as hits;
                    # PrefixCacheStats.record, metrics/stats.py:131-142): each of the k samples asks
                    # for its P prompt tokens; the first finds what the cache held (hits, and the
                    # tiers' found), each of the k - 1 others its K shared blocks, which the first
                    # sample's allocation named (K * B tokens it does not compute; todo above).
                    # P = 33, B = 16, k = 4, empty cache: K = (33 - 1) // 16 = 2, queries 4 x 33 =
                    # 132, hits 3 x 2 x 16 = 96 = 4 x 33 - todo (todo = 2 x 16 + 132 - 4 x 2 x 16 = 36).
                    self.prompt_total += k * P
                    self.hit[0] += (hits + (k - 1) * K) * B
                    for i, f in enumerate(found):
                        self.hit[1 + i] += f * B
            else:
                self.recomputed += todo
            running[grp] = None
            self.nrun += k
            if budget_left is None:
                chunk = todo
            else:
                chunk = min(todo, budget_left)
                budget_left -= chunk
            grp.todo = todo - chunk
            prefill += chunk
            if grp.todo == 0:
                self.start_decoding(grp, s)
                done_prompts.append(grp)
            else:
                self.prefilling.append(grp)
        return budget_left, WAIT_NONE, prefill

    def head_waits(self, s: int) -> bool:
        """After a preemption at step s, with nothing completing or prefilling: will step
        s + 1's admission stop at the head of the queue (the request just preempted) for memory?
        Then the loop need not stop at s + 1 to try. The checks are admit's, in its order (seats,
        token budget, then free blocks after s + 1's decodes take theirs); only a request with
        nothing cacheable is predicted. Sets what a failed attempt sets."""
        grp = self.requeued[0]
        cache = self.cache
        if cache is not None and grp.sizes:
            return False
        if self.nrun + len(grp.lens) > self.max_seqs:
            return False
        if self.budget is not None and self.budget - self.ndec * self.cfg.decode_tokens <= 0:
            return False
        avail = self.free + (cache.evictable if cache is not None else 0) - self.hist[s % self.B]
        if avail - grp.need >= self.wm:
            return False
        self.blocked = grp
        self.blocked_need = grp.need + self.wm
        return True

    # -- leaving ------------------------------------------------------------------------
    def release_keys(self, grp: _Group, readers_gone: int) -> None:
        if grp.keys:
            self.users -= readers_gone * len(grp.keys)
            grp.readers -= readers_gone
            if grp.readers == 0:
                self.cache.release(grp.keys)

    def preempt(self, s: int, u: int, need: int) -> int:
        """Preempt the newest groups until ``need`` blocks (due at phase u of step s) fit."""
        B, look = self.B, self.look
        cache = self.cache
        if cache is not None:
            self.cflush(s)
        running = self.running
        while need > self.free + (cache.evictable if cache is not None else 0):
            grp = running.popitem()[0]
            if grp.started:
                lens, finals = [], []
                held_blocks = 0
                for seq in grp.seqs:
                    if seq.ph == u:
                        need -= 1
                    if seq.fph == u:
                        self.free -= 1  # its release due at s was already given back by the caller
                    self.drop_seq(seq)
                    held = s - 1 - seq.c
                    if seq.seg < s:
                        self.usage.add(paged_sums(seq.c, seq.final, seq.base, B, seq.seg, s - 1, look, self.window,
                                                  self.sink_blocks, self.max_model_len), self.cur_wait)
                    h = self.held(held)
                    held_blocks += h
                    self.free += h - len(grp.keys)
                    seq.dead = True
                    lens.append(held)
                    finals.append(seq.final)
                grp.lens, grp.finals = lens, finals
                grp.need = held_blocks
            else:
                self.prefilling.remove(grp)
                self.free += sum(self.held(x) - len(grp.keys) for x in grp.lens)
                grp.todo = 0
            self.nrun -= len(grp.lens)
            if grp.keys:
                self.release_keys(grp, grp.readers)
                grp.keys = ()
            grp.seqs = []
            grp.started = False
            self.requeued.appendleft(grp)
            self.preemptions += 1
        return need

    def complete(self, seq: _Seq, s: int) -> None:
        grp = seq.group
        seq.dead = True
        if self.window is None:  # held() and unhist() inlined: once per request, on the hot path
            B, look, mml, f = self.B, self.look, self.max_model_len, seq.final
            self.usage.add(paged_sums(seq.c, f, seq.base, B, seq.seg, s, look, limit=mml), self.cur_wait)
            self.free += -(-(reserved_slots(f, look, mml) if look else f) // B) - len(grp.keys)
            if seq.ph >= 0:
                self.hist[seq.ph] -= 1
            else:
                self.ncapped -= 1
            self.ndec -= 1
            self.gn -= 1
            self.gsumc -= seq.c
        else:
            self.usage.add(paged_sums(seq.c, seq.final, seq.base, self.B, seq.seg, s, self.look, self.window,
                                      self.sink_blocks, self.max_model_len), self.cur_wait)
            self.free += self.held(seq.final) - len(grp.keys)
            self.drop_seq(seq)
        self.nrun -= 1
        grp.seqs.remove(seq)
        if grp.keys:
            self.cflush(s + 1)
            self.release_keys(grp, 1)
        if not grp.seqs:
            del self.running[grp]
            self.request_done(grp)

    # -- the loop -----------------------------------------------------------------------
    def run(self) -> PolicyResult:
        B = self.B
        hist, fhist = self.hist, self.fhist
        heap, wheap = self.heap, self.wheap
        model = self.model
        step_seconds = model.step_seconds
        run_seconds = getattr(model, "decode_run_seconds", None) or (
            lambda n, kv, g, k: decode_run_seconds(model, n, kv, g, k))
        kv_on = getattr(model, "uses_kv_tokens", True)
        windowed = self.window is not None
        decode_tokens = self.cfg.decode_tokens
        requeued, prefilling = self.requeued, self.prefilling
        cache, budget, running = self.cache, self.budget, self.running
        admit_queue, complete, prefill_chunks = self.admit, self.complete, self.prefill_chunks
        never = _NEVER
        admit = True
        done_prompts: list[_Group] = []
        self.done_prompts = done_prompts
        now = self.now
        prefill_tokens = self.prefill_tokens
        while running or requeued or self.nxt is not None:
            while heap and heap[0][2].dead:  # a preempted sequence's entry: nothing happens at its step
                heappop(heap)
            s = heap[0][0] if heap else never
            if wheap and wheap[0][0] < s:
                s = wheap[0][0]
            if prefilling and now + 1 < s:
                s = now + 1
            arrival_at = -1
            nxt = self.nxt
            if requeued or (nxt is not None and nxt.arrival <= self.clock):
                if not admit and (requeued[0] if requeued else nxt) is not self.blocked:
                    admit = True  # it arrived after the last attempt: try it
                if admit and now + 1 < s:
                    s = now + 1
            elif nxt is not None:
                if not self.nrun:  # idle: the clock jumps to the next arrival
                    if nxt.arrival > self.clock:
                        self.clock = nxt.arrival
                    s = arrival_at = now + 1
                else:
                    limit = s - now - 1 if s != never else 1 << 62
                    j = steps_until(model, self.clock, nxt.arrival, self.ndec,
                                    self.kv_at(now + 1) if kv_on else 0, self.gn, limit)
                    if now + 1 + j <= s:
                        s = arrival_at = now + 1 + j
            if windowed and not admit and self.nfree and self.cur_wait == WAIT_MEMORY and self.blocked is not None:
                # windows release blocks as they slide: the first step (within a cycle; later
                # cycles only take more) at which the waiting head would fit
                avail = self.free
                cum = 0
                for i in range(1, min(B, s - now) + 1):
                    u = (now + i - 1) % B
                    cum += hist[u] - fhist[u]
                    if avail - cum >= self.blocked_need:
                        s = arrival_at = now + i
                        break
            if s == never:  # pragma: no cover - excluded by the fit check
                raise RuntimeError("paged simulation stalled with requests waiting")
            preempted = False
            ndec = self.ndec
            if ndec:
                # Blocks the decodes of steps now+1 .. s take, less those windows release.
                nfree = self.nfree
                u0 = now % B
                if s - now == 1:
                    take = hist[u0]
                    give = fhist[u0] if nfree else 0
                else:
                    full, rem = divmod(s - now, B)
                    take = full * (ndec - self.ncapped)
                    give = full * nfree
                    if rem == 1:
                        take += hist[u0]
                        if nfree:
                            give += fhist[u0]
                    elif rem:
                        end = u0 + rem
                        take += sum(hist[u0:end]) if end <= B else sum(hist[u0:]) + sum(hist[: end - B])
                        if nfree:
                            give += sum(fhist[u0:end]) if end <= B else sum(fhist[u0:]) + sum(fhist[: end - B])
                net = take - give
                free = self.free
                avail = free + cache.evictable if cache is not None else free
                if net <= avail and (not nfree or self.first_shortfall(now, avail, s)[0] > s):
                    if 0 <= net <= free:
                        self.free = free - net
                    else:
                        self.apply_net(net)
                else:
                    t, used, u = self.first_shortfall(now, avail)
                    self.apply_net(used)
                    s = t
                    preempted = True
                if s - now > 1:  # time of the decode-only steps now+1 .. s-1
                    secs = run_seconds(ndec, self.kv_at(now + 1) if kv_on else 0, self.gn, s - now - 1)
                    self.clock += secs
                    self.busy += secs
                if preempted:
                    self.take(self.preempt(s, u, hist[u]))
            ndec_s = self.ndec  # the decodes of step s
            dec_kv = self.kv_at(s) if kv_on and ndec_s else 0
            budget_left = None if budget is None else budget - ndec_s * decode_tokens
            prefill = 0
            if prefilling:  # requests still computing their prompt, in admission order
                budget_left, prefill = prefill_chunks(s, budget_left, done_prompts)
            if s == arrival_at:
                admit = True
            if admit and not preempted:
                budget_left, reason, more = admit_queue(s, budget_left)
                prefill += more
                self.blocked = (requeued[0] if requeued else self.nxt) if reason else None
                if self.nrun > self.peak:
                    self.peak = self.nrun
                admit = reason == WAIT_BUDGET  # the budget is back next step: try again then
            else:  # no attempt: still blocked as before (after a preemption: for memory)
                reason = WAIT_MEMORY if preempted else (self.cur_wait or WAIT_MEMORY)
                if preempted:
                    admit = True
            if reason:
                nxt = self.nxt
                if not (requeued or (nxt is not None and nxt.arrival <= self.clock)):
                    reason = WAIT_NONE
            if reason != self.cur_wait:
                self.set_wait(s, reason)
            # steps of requests still mid-prompt: their computed tokens are token states, the
            # rest of their (already allocated) prompt is reserved
            if prefilling:
                for grp in prefilling:
                    self.prefill_step(grp)
            prefill_tokens += prefill
            secs = step_seconds(ndec_s, dec_kv, prefill)
            self.clock += secs
            self.busy += secs
            if done_prompts:
                self.prompts_done(done_prompts)
                done_prompts.clear()
            nrun = self.nrun
            while heap and heap[0][0] == s:
                seq = heappop(heap)[2]
                if seq.dead:
                    continue
                complete(seq, s)
                admit = True
            while wheap and wheap[0][0] == s:  # window events; a sequence reaching its max_model_len blocks
                _, _, seq, kind = heappop(wheap)
                if seq.dead:
                    continue
                if kind == 2:
                    self.stop_growing(seq)
                elif kind == 0:
                    self.start_sliding(seq)
                else:
                    seq.sat = True
                    self.gn -= 1
                    self.gsumc -= seq.c
                    self.satkv += self.cap
            # after the events: a sequence that stopped growing at s takes no block at s + 1
            if preempted and self.nrun == nrun and not windowed and not prefilling and self.head_waits(s):
                admit = False  # step s + 1 would only find the preempted head still waiting for memory
            now = s
        self.now = now
        self.prefill_tokens = prefill_tokens
        self.cflush(now + 1)
        return self.finish(self.cache_stats())

    def prefill_step(self, grp: _Group) -> None:
        B, K = self.B, len(grp.keys)
        alloc = tok = fill = 0
        for x, f in zip(grp.lens, grp.finals):
            a = self.held(x) * B - K * B
            alloc += a
            tok += x - self.freed(x) * B - K * B
            fill += min(-(-self.slots(x) // B) * B, f) - self.freed(x) * B - K * B
        # Tokens not yet computed are reserved. With a window the blocks held are those of the
        # prompt's end, which its last chunks fill: the computed tokens in them are what the
        # uncomputed ones leave (never below none). Without a window the group's keyed blocks
        # are counted full elsewhere, and tok - todo is the whole group's computed tokens.
        tok = max(0, tok - grp.todo) if self.window is not None else tok - grp.todo
        self.usage.add((len(grp.lens), tok, alloc, fill), self.cur_wait)

    # -- decode arithmetic with windows -------------------------------------------------------
    def give(self, x: int) -> None:
        self.free += x

    def apply_net(self, net: int) -> None:
        if net >= 0:
            self.take(net)
        else:
            self.give(-net)

    def first_shortfall(self, now: int, avail: int, limit: int | None = None):
        """The first step t > now at which the decodes need more blocks than are free (a
        step's window releases counted before its needs): (t, net blocks taken over
        now+1 .. t-1 less t's releases, phase of t). With ``limit``, stops after step
        ``limit`` and returns limit + 1 if there is no shortfall up to it."""
        B, hist, fhist = self.B, self.hist, self.fhist
        takers = self.ndec - self.ncapped
        u = now % B
        if not self.nfree:  # needs only: skip the whole cycles that fit
            if not takers:  # every decoding sequence holds its max_model_len blocks
                return (limit + 1 if limit is not None else 1 << 62), 0, u
            k = avail // takers
            t, used = now + k * B, k * takers
        else:
            cum = peak = 0
            for i in range(B):  # one cycle of net needs from phase u
                ph = (u + i) % B
                cum += hist[ph] - fhist[ph]
                peak = max(peak, cum)
            drift = cum  # net blocks per cycle: decoding minus sliding sequences
            if peak <= avail and drift <= 0:
                return (limit + 1 if limit is not None else 1 << 62), 0, u
            k = (avail - peak) // drift + 1 if peak <= avail else 0  # cycles that cannot fall short
            t, used = now + k * B, k * drift
        while True:
            if limit is not None and t >= limit:
                return limit + 1, used, u
            t += 1
            net = used - fhist[u]
            need = hist[u]
            if net + need > avail:
                return t, net, u
            used = net + need
            u = u + 1 if u + 1 < B else 0

    # -- results ------------------------------------------------------------------------------
    def cache_stats(self) -> CacheStats | None:
        if self.cache is None:
            return None
        B = self.B
        tiers = self.cache.tiers
        if self.hash_block:
            src = f"trace hash_ids ({self.hash_block}-token prefix blocks; engine block j named by the id of the " \
                  f"hash block holding its last token)"
        elif self.n > 1:
            src = "system prompt blocks and each request's prompt blocks for its samples"
        else:
            src = "system prompt blocks" if self.sys_keys else "none (nothing to share)"
        return CacheStats(
            block_size=B,
            prompt_tokens=self.prompt_total,
            gpu_hit_tokens=self.hit[0],
            tier_hit_tokens=tuple(self.hit[1:1 + len(tiers)]),
            tier_names=tuple(t.name for t in tiers),
            tier_capacity_tokens=tuple(t.capacity * B for t in tiers),
            tier_peak_tokens=tuple(t.peak * B for t in tiers),
            tier_end_tokens=tuple(len(t.keys) * B for t in tiers),
            transfer_s=self.transfer_s,
            recompute_s_avoided=self.avoided_s,
            evicted_blocks=self.cache.evicted,
            key_source=src,
        )


class _SharedPagedRun(_PagedRun):
    """paged-B-share: the free blocks form vLLM V1's one free queue (kvplan.fragment.prefix_cache):
    ``free`` stays 0 and every free block, unnamed or cached, waits in the cache's queue. A
    finished (or preempted) request's unnamed blocks join its tail before its named blocks (vLLM
    frees a request's blocks tail first), and new blocks come from its head."""

    __slots__ = ()

    # No __init__ of its own (mypyc 2.4 crashes on one calling super().__init__ here):
    # _PagedRun.__init__ puts the whole pool, never cached, at the head of the queue.

    def queue_freed(self) -> None:
        if self.free:
            self.cache.append_free(self.free)
            self.free = 0

    def take(self, x: int) -> None:
        self.cache.evict(x)

    def release_keys(self, grp: _Group, readers_gone: int) -> None:
        self.queue_freed()
        super().release_keys(grp, readers_gone)

    def complete(self, seq: _Seq, s: int) -> None:
        super().complete(seq, s)
        self.queue_freed()

    def preempt(self, s: int, u: int, need: int) -> int:
        need = super().preempt(s, u, need)
        self.queue_freed()
        return need


# -- contiguous -----------------------------------------------------------------------------------
class _ContiguousRun(_Run):
    __slots__ = ("alloc_cls", "reserve", "ff", "largest", "cap", "look", "running", "heap", "uid", "ndec", "nrun",
                 "sumc")

    def __init__(self, wl, policy, pool_tokens, cfg, max_model_len, max_seqs, alloc_cls, progress,
                 max_request_tokens=None):
        self.alloc_cls = alloc_cls
        self.reserve = policy.reservation_rule
        self.ff = alloc_cls(pool_tokens)
        self.largest = self.ff.largest_hole  # first-fit: the pool; buddy: its largest arena
        self.cap = cfg.retention.cap
        self.look = cfg.lookahead
        self.running: dict[_Group, None] = {}  # admission order
        self.prefilling: list[_Group] = []
        self.heap: list[tuple[int, int, _ChunkSeq]] = []
        self.uid: int = 0
        self.ndec: int = 0
        self.nrun: int = 0
        self.sumc: int = 0
        super().__init__(wl, policy, pool_tokens, cfg, max_model_len, max_seqs, progress, max_request_tokens)

    def check_fits(self, grp: _Group) -> None:
        """Sets grp.sizes, (reservation, chunk) per sample, and refuses a request that cannot
        fit the pool alone."""
        reservation, mml, P, cap, look, chunk = (self.reserve, self.max_model_len, grp.prompt, self.cap, self.look,
                                                 self.alloc_cls.chunk)
        grp.sizes = res = []
        for f in grp.finals:
            want = reservation(f, mml, P)
            if cap is not None:
                want = min(want, cap)
            if look:  # the lookahead past the reservation, up to max_model_len (kvplan.speculative)
                want = max(want, reserved_slots(want, look, mml))
            res.append((want, chunk(want)))
        if len(res) == 1:
            size = res[0][1]
            if size <= self.largest and size <= self.pool_tokens:
                return
        sizes = [c for _, c in res]
        too_big = max(sizes) > self.largest or sum(sizes) > self.pool_tokens
        if too_big or (len(sizes) > 1 and not _fits_alone(self.alloc_cls, self.pool_tokens, sizes)):
            raise DoesNotFitError(
                f"{self.policy.name}: request #{grp.rid + 1} alone needs {len(sizes)} chunk(s) of "
                f"{', '.join(f'{x:,}' for x in sizes)} contiguous slots but the {self.pool_tokens:,}-token KV pool's "
                f"largest free range is {self.largest:,}; use a larger --kv-pool-tokens or GPU, or a smaller "
                "--max-model-len"
            )

    def flush(self, s: int) -> None:
        for grp in self.running:
            if not grp.started:
                continue
            for seq in grp.seqs:
                if seq.seg < s:
                    self.add_seq(seq, seq.seg, s - 1)
                    seq.seg = s

    def add_seq(self, seq: _ChunkSeq, s0: int, s1: int) -> None:
        self.usage.add(contiguous_sums(seq.c, seq.final, seq.size, s0, s1, self.cap), self.cur_wait)
        self.usage.rounding += seq.slack * (s1 - s0 + 1)

    def start_decoding(self, grp: _Group, s: int) -> None:
        heap, uid = self.heap, self.uid
        for seq in grp.seqs:
            x = seq.c  # holds the length until decoding starts
            seq.c = c = s - x
            seq.seg = s
            heappush(heap, (s + seq.final - x, uid, seq))
            uid += 1
            self.sumc += c
        self.uid = uid
        self.ndec += len(grp.seqs)
        grp.started = True

    def admit(self, s: int, budget_left):
        prefill = 0
        start_clock = self.clock
        requeued = self.requeued
        alloc, max_seqs = self.ff.alloc, self.max_seqs
        while True:
            if requeued:
                grp = requeued[0]
            else:
                nxt = self.nxt
                if nxt is None or nxt.arrival > start_clock:
                    break
                grp = nxt
            finals = grp.finals
            k = len(finals)
            if self.nrun + k > max_seqs:
                return budget_left, WAIT_SEATS, prefill
            if budget_left is not None and budget_left <= 0:
                return budget_left, WAIT_BUDGET, prefill
            P = grp.prompt
            if k == 1:
                want, size = grp.sizes[0]
                start = alloc(size)
                if start < 0:
                    return budget_left, WAIT_MEMORY, prefill
                seqs = [_ChunkSeq(P, finals[0], s, grp, size, start, size - want)]
            else:
                seqs = []
                for (want, size), f in zip(grp.sizes, finals):
                    start = alloc(size)
                    if start < 0:
                        for seq in seqs:
                            self.ff.free(seq.start, seq.size)
                        return budget_left, WAIT_MEMORY, prefill
                    seqs.append(_ChunkSeq(P, f, s, grp, size, start, size - want))
            self.pop_head()
            grp.seqs = seqs
            self.first_admission(grp, start_clock)
            self.running[grp] = None
            self.nrun += k
            todo = grp.prompt
            chunk = todo if budget_left is None else min(todo, budget_left)
            grp.todo = todo - chunk
            prefill += chunk
            if budget_left is not None:
                budget_left -= chunk
            if grp.todo == 0:
                self.start_decoding(grp, s)
                self.done_prompts.append(grp)
            else:
                self.prefilling.append(grp)
        return budget_left, WAIT_NONE, prefill

    def prefill_step(self, grp: _Group) -> None:
        cap = self.cap
        tok = alloc = fill = 0
        for seq in grp.seqs:
            x = seq.c
            alloc += seq.size
            held = x if cap is None else min(x, cap)
            tok += held
            fill += min(seq.size, seq.final if cap is None else min(seq.final, cap))
        tok = max(0, tok - grp.todo) if cap is not None else tok - grp.todo  # see _PagedRun.prefill_step
        self.usage.add((len(grp.seqs), tok, alloc, fill), self.cur_wait)
        self.usage.rounding += sum(seq.slack for seq in grp.seqs)

    def run(self) -> PolicyResult:
        heap = self.heap
        model = self.model
        step_seconds = model.step_seconds
        run_seconds = getattr(model, "decode_run_seconds", None) or (
            lambda n, kv, g, k: decode_run_seconds(model, n, kv, g, k))
        kv_on = getattr(model, "uses_kv_tokens", True)
        decode_tokens = self.cfg.decode_tokens
        requeued, prefilling = self.requeued, self.prefilling
        heappop = heapq.heappop
        ff_free = self.ff.free
        usage, cap = self.usage, self.cap
        budget, running = self.budget, self.running
        admit_queue, prefill_chunks, request_done = self.admit, self.prefill_chunks, self.request_done
        never = _NEVER
        admit = True
        grown = 0  # the largest free range a completion made since the last admission attempt
        done_prompts: list[_Group] = []
        self.done_prompts = done_prompts
        now = self.now
        prefill_tokens = self.prefill_tokens
        while running or requeued or self.nxt is not None:
            s = heap[0][0] if heap else never
            if prefilling and now + 1 < s:
                s = now + 1
            arrival_at = -1
            nxt = self.nxt
            if requeued or (nxt is not None and nxt.arrival <= self.clock):
                if not admit and (requeued[0] if requeued else nxt) is not self.blocked:
                    admit = True  # it arrived after the last attempt: try it
                if admit and now + 1 < s:
                    s = now + 1
            elif nxt is not None:
                if not self.nrun:
                    if nxt.arrival > self.clock:
                        self.clock = nxt.arrival
                    s = arrival_at = now + 1
                else:
                    limit = s - now - 1 if s != never else 1 << 62
                    j = steps_until(model, self.clock, nxt.arrival, self.ndec,
                                    self.kv_at(now + 1) if kv_on else 0, self.ndec, limit)
                    if now + 1 + j <= s:
                        s = arrival_at = now + 1 + j
            if s == never:  # pragma: no cover - excluded by the fit check above
                raise RuntimeError("contiguous simulation stalled with requests waiting")
            ndec_s = self.ndec
            if ndec_s:
                if s - now > 1:  # time of the decode-only steps now+1 .. s-1
                    secs = run_seconds(ndec_s, self.kv_at(now + 1) if kv_on else 0, ndec_s, s - now - 1)
                    self.clock += secs
                    self.busy += secs
                dec_kv = self.kv_at(s) if kv_on else 0
            else:
                dec_kv = 0
            budget_left = None if budget is None else budget - ndec_s * decode_tokens
            prefill = 0
            if prefilling:  # requests still computing their prompt, in admission order
                budget_left, prefill = prefill_chunks(s, budget_left, done_prompts)
            if s == arrival_at:
                admit = True
            if admit:
                budget_left, reason, more = admit_queue(s, budget_left)
                prefill += more
                self.blocked = (requeued[0] if requeued else self.nxt) if reason else None
                grown = 0
                if self.nrun > self.peak:
                    self.peak = self.nrun
                admit = reason == WAIT_BUDGET  # the budget is back next step: try again then
            else:
                reason = self.cur_wait or WAIT_MEMORY  # no attempt: still blocked as before
            if reason:
                nxt = self.nxt
                if not (requeued or (nxt is not None and nxt.arrival <= self.clock)):
                    reason = WAIT_NONE
            if reason != self.cur_wait:
                self.set_wait(s, reason)
            if prefilling:
                for grp in prefilling:
                    self.prefill_step(grp)
            prefill_tokens += prefill
            secs = step_seconds(ndec_s, dec_kv, prefill)
            self.clock += secs
            self.busy += secs
            if done_prompts:
                self.prompts_done(done_prompts)
                done_prompts.clear()
            while heap and heap[0][0] == s:
                seq = heappop(heap)[2]
                c = seq.c
                usage.add(contiguous_sums(c, seq.final, seq.size, seq.seg, s, cap), self.cur_wait)
                if seq.slack:
                    usage.rounding += seq.slack * (s - seq.seg + 1)
                hole = ff_free(seq.start, seq.size)
                if hole > grown:
                    grown = hole
                self.nrun -= 1
                self.ndec -= 1
                self.sumc -= c
                grp = seq.group
                seqs = grp.seqs
                if len(seqs) == 1:
                    seqs.clear()  # no cycle left between the group and its sequence: freed at once, not by the GC
                    del running[grp]
                    request_done(grp)
                else:
                    seqs.remove(seq)
                admit = True
            nxt = self.nxt
            if admit and nxt is self.blocked and nxt is not None and grown < nxt.sizes[0][1] and not prefilling \
                    and len(nxt.sizes) == 1 and self.cur_wait == WAIT_MEMORY and not requeued:
                # The head last failed for memory and only frees happened since (FCFS admits no one
                # behind it): no hole a free made since is as large as its chunk, so step s + 1's
                # attempt would fail again (its seat and budget were there then and still are).
                admit = False
            now = s
        self.now = now
        self.prefill_tokens = prefill_tokens
        return self.finish()

    def kv_at(self, t: int) -> int:
        n = self.ndec * t - self.sumc
        return n  # contiguous: the decodes read every stored token (a window caps the chunk, not the count)


def _fits_alone(alloc_cls, pool_tokens: int, sizes: list[int]) -> bool:
    pool = alloc_cls(pool_tokens)
    return all(pool.alloc(x) >= 0 for x in sizes)


# -- static batching ----------------------------------------------------------------------------------
class _StaticRun(_Run):
    """Fixed batches, one at a time: up to ``batch`` waiting requests, every row padded to the
    batch's longest prompt plus its longest output (the cache a padded ``generate`` call holds),
    held until the whole batch is done."""

    __slots__ = ("batch",)

    def __init__(self, wl, policy, pool_tokens, cfg, max_model_len, progress, max_request_tokens=None):
        self.batch = policy.batch_size or max(1, pool_tokens // max_model_len)
        super().__init__(wl, policy, pool_tokens, cfg, max_model_len, 1 << 62, progress, max_request_tokens)

    def check_fits(self, grp: _Group) -> None:
        row = grp.prompt + max(grp.outs)
        if len(grp.outs) * row > self.pool_tokens:
            raise _no_fit(self.policy, grp.rid, len(grp.outs) * row, self.pool_tokens, self.pool_tokens,
                          "slots of padded rows")

    def flush(self, s: int) -> None:  # a batch's sums are added whole when it ends
        pass

    def run(self) -> PolicyResult:
        model = self.model
        u = self.usage
        while self.requeued or self.nxt is not None:
            if not self.eligible():  # idle: the clock jumps to the next arrival
                assert self.nxt is not None
                self.clock = max(self.clock, self.nxt.arrival)
            s = self.now + 1
            start_clock = self.clock
            batch: list[_Group] = []
            pmax = omax = rows = 0
            while self.eligible() and len(batch) < self.batch:
                grp = self.head()
                p2, o2 = max(pmax, grp.prompt), max(omax, max(grp.outs))
                r2 = rows + len(grp.outs)
                if batch and r2 * (p2 + o2) > self.pool_tokens:
                    break
                self.pop_head()
                batch.append(grp)
                pmax, omax, rows = p2, o2, r2
            for grp in batch:
                self.first_admission(grp, start_clock)
            if rows > self.peak:
                self.peak = rows
            end = s + omax  # resident omax + 1 steps, like a continuous-batching request
            cnt = omax + 1
            width = pmax + omax
            for grp in batch:
                for o in grp.outs:
                    p = grp.prompt
                    u.seq_steps += cnt
                    u.token += cnt * p + o * (o + 1) // 2 + (omax - o) * o  # p + min(k, o), k = 0 .. omax
                    u.fillable += cnt * (p + o)
                    u.allocated += cnt * width
                    u.padding += cnt * (width - p - o)
            self.prefill_tokens += rows * pmax
            prefill_s = model.step_seconds(0, 0, rows * pmax)
            self.advance(prefill_s)
            self.prompts_done(batch)
            # requests that arrive while the batch runs wait for it: its seats are closed
            if not self.requeued and self.nxt is not None:
                arrive = self.nxt.arrival
                if arrive <= start_clock:
                    first = s
                elif arrive <= self.clock:
                    first = s + 1
                else:
                    first = s + 1 + steps_until(model, self.clock, arrive, rows, rows * (pmax + 1), rows, omax + 1)
                if first <= end:
                    u.wait_steps[WAIT_SEATS] += end - first + 1
                    u.alloc_wait[WAIT_SEATS] += rows * width * (end - first + 1)
            if omax:  # every row decodes (finished rows generate padding) until the longest output ends
                self.advance(decode_run_seconds(model, rows, rows * (pmax + 1), rows, omax))
            for grp in batch:
                self.request_done(grp)
            self.now = end
        return self.finish()
