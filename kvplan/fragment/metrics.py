"""Closed-form step sums and the per-policy result.

The simulator never walks token by token: a sequence's stored tokens grow by one per
step, so its contribution over a run of steps is an arithmetic series, and its paged
allocation is a staircase whose sum has a closed form. Every figure here is an exact
integer of token-steps (one token slot held for one step); shares are ratios of them.

Accounting (one step, one sequence that will end at ``final`` tokens, holding ``n`` now,
with ``A`` slots allocated):

    token states   n
    reserved       min(A, final) - n      slots it will still fill
    internal       A - min(A, final)      slots it will never fill
    external       pool slots allocated to no sequence while a request waits for memory
    seat cap       pool slots free while a request waits for a seat (max_num_seqs binds)
    budget cap     pool slots free while a request waits for the step's token budget

Free pool space while nothing waits is idle, not waste, and is left out (the paper's
vLLM bar, measured below saturation, counts only allocated memory; its Orca(Max) bar
counts the unusable 8.9% tail of a full pool). Memory free because a cap (seats, token
budget) binds is not fragmentation either; it is reported as its own share. Shares divide
by allocated + external + seat cap + budget cap. Static batching's padding is a part of
internal reported on its own; sharing's extra readers are counted in ``shared_reads``.
"""

from __future__ import annotations

from dataclasses import dataclass, field


def pages_upto(m: int, block: int) -> int:
    """sum over y = 1..m of cdiv(y, block): the block-steps of a sequence growing 1..m.

    With m = q * block + r: block * q * (q + 1) / 2 + r * (q + 1).
    Block 4, m = 5: 1 + 1 + 1 + 1 + 2 = 6 = 4 * 1 * 2 / 2 + 1 * 2."""
    if m <= 0:
        return 0
    q = m // block
    return block * q * (q + 1) // 2 + (m - q * block) * (q + 1)


def floors_upto(m: int, block: int) -> int:
    """sum over y = 0..m of floor(y / block). With m = q * block + r: block * q * (q - 1) / 2
    + q * (r + 1). Block 4, m = 5: 0 + 0 + 0 + 0 + 1 + 1 = 2 = 0 + 1 * 2."""
    if m < 0:
        return 0
    q, r = divmod(m, block)
    return block * q * (q - 1) // 2 + q * (r + 1)


def contiguous_sums(c: int, final: int, reserved: int, s0: int, s1: int,
                    cap: int | None = None) -> tuple[int, int, int, int]:
    """(steps, token-steps, allocated slot-steps, min(alloc, final) slot-steps) over steps
    s0..s1 of a sequence holding ``t - c`` tokens at step t in a chunk of ``reserved`` slots.
    ``cap``: a window (sinks + window tokens) that the chunk holds at most, as a ring."""
    cnt = s1 - s0 + 1
    n0 = s0 - c
    tok = cnt * n0 + cnt * (cnt - 1) // 2
    if cap is not None:
        final = min(final, cap)  # a ring of cap slots never holds more
        if s1 - c > cap:  # min(n, cap): tokens past the cap stay at cap
            over = s1 - c - max(n0, cap + 1) + 1
            tok -= (over * (over + 1)) // 2 + over * (max(n0, cap + 1) - cap - 1)
    return cnt, tok, reserved * cnt, (reserved if reserved < final else final) * cnt


def pages_upto_capped(m: int, block: int, limit: int | None) -> int:
    """sum over y = 1..m of cdiv(min(y, limit), block): ``pages_upto`` of slots that stop
    growing at ``limit`` (None: no limit). Block 4, limit 5, m = 7: 1 + 1 + 1 + 1 + 2 + 2 + 2 =
    pages_upto(5, 4) + 2 x cdiv(5, 4) = 6 + 4 = 10."""
    if limit is None or m <= limit:
        return pages_upto(m, block)
    return pages_upto(limit, block) + (m - limit) * -(-limit // block)


def paged_sums(c: int, final: int, base: int, block: int, s0: int, s1: int, look: int = 0,
               window: int | None = None, sink_blocks: int = 0, limit: int | None = None) -> tuple[int, int, int, int]:
    """The same for a paged sequence owning the blocks past its first ``base`` tokens
    (``base`` is a multiple of ``block``; those blocks are shared and counted elsewhere).

    ``look`` slots beyond its tokens are allocated too (speculative lookahead: a sequence
    holding n tokens has cdiv(min(n + look, limit), block) blocks, ``limit`` = max_model_len,
    kvplan.speculative.reserved_slots). With a ``window`` it keeps only the
    blocks overlapping its last ``window`` tokens and its first ``sink_blocks`` blocks:
    freed(n) = max(0, floor((n - window) / block) - sink_blocks) blocks are released."""
    cnt = s1 - s0 + 1
    n0 = s0 - c
    n1 = s1 - c
    tok = cnt * (n0 - base) + cnt * (cnt - 1) // 2
    capped = look and limit is not None  # without lookahead no sequence passes max_model_len: no cap to apply
    top = pages_upto_capped(n1 + look, block, limit) if capped else pages_upto(n1 + look, block)
    below = pages_upto_capped(n0 - 1 + look, block, limit) if capped else pages_upto(n0 - 1 + look, block)
    alloc = block * (top - below) - base * cnt
    # min(allocated, final) is final from the first length lo whose n + look passes the start
    # of the final block (n + look > last_full); before that it is the allocation (the limit
    # is at least final, so it does not move lo).
    lo = (-(-final // block) - 1) * block + 1 - look
    minal = alloc
    if n1 >= lo:
        if lo > n0:
            below = pages_upto_capped(lo - 1 + look, block, limit) if capped else pages_upto(lo - 1 + look, block)
        else:
            lo = n0
        minal -= block * (top - below) - final * (n1 - lo + 1)
    if window is not None:
        start = max(n0, window + block * (sink_blocks + 1))  # first length with a freed block
        if n1 >= start:
            freed = (floors_upto(n1 - window, block) - floors_upto(start - 1 - window, block)
                     - sink_blocks * (n1 - start + 1))
            tok -= block * freed
            alloc -= block * freed
            minal -= block * freed
    return cnt, tok, alloc, minal


#: Why a request that has arrived is not admitted (the steps are counted per reason).
WAIT_NONE, WAIT_MEMORY, WAIT_SEATS, WAIT_BUDGET = 0, 1, 2, 3
WAIT_NAMES = {WAIT_MEMORY: "memory", WAIT_SEATS: "seats", WAIT_BUDGET: "token budget"}


@dataclass
class Usage:
    """Exact integer sums over all steps of a run (token-steps)."""

    seq_steps: int = 0  # sum over steps of running sequences (batch size)
    token: int = 0  # token states (a shared block's tokens once)
    allocated: int = 0  # slots allocated to sequences (incl. shared blocks)
    fillable: int = 0  # sum of min(allocated, final): token + reserved
    steps: int = 0  # steps from the first to the last completion
    rounding: int = 0  # part of internal: chunk slots beyond the reservation (buddy allocator)
    padding: int = 0  # part of internal: slots of padding tokens (static batching)
    shared_reads: int = 0  # token states read by more sequences than store them: sum of (readers - 1)
    # per reason (index WAIT_*): steps at which a request waited, and slots allocated then
    wait_steps: list = field(default_factory=lambda: [0, 0, 0, 0])
    alloc_wait: list = field(default_factory=lambda: [0, 0, 0, 0])

    @property
    def waiting_steps(self) -> int:
        """Steps at which at least one arrived request waited after admission."""
        return self.wait_steps[1] + self.wait_steps[2] + self.wait_steps[3]

    @property
    def allocated_waiting(self) -> int:
        return self.alloc_wait[1] + self.alloc_wait[2] + self.alloc_wait[3]

    def add(self, sums: tuple[int, int, int, int], waiting: int) -> None:
        cnt, tok, alloc, minal = sums
        self.seq_steps += cnt
        self.token += tok
        self.allocated += alloc
        self.fillable += minal
        if waiting:
            self.alloc_wait[waiting] += alloc

    def add_shared(self, tokens: int, cnt: int, waiting: int) -> None:
        """Full shared blocks: every slot holds a token state, no batch entry."""
        self.token += tokens * cnt
        self.allocated += tokens * cnt
        self.fillable += tokens * cnt
        if waiting:
            self.alloc_wait[waiting] += tokens * cnt


def percentile(values, q: float) -> float:
    """Nearest-rank percentile (the smallest value with at least q% of values at or below it)."""
    return percentiles(values, (q,))[0]


def percentiles(values, qs) -> tuple[float, ...]:
    """``percentile(values, q)`` for each q in ``qs``, sorting the values once."""
    if not values:
        return tuple(0.0 for _ in qs)
    ordered = sorted(values)
    n = len(ordered)
    return tuple(float(ordered[int(max(1, -(-n * q // 100))) - 1]) for q in qs)


@dataclass(frozen=True)
class TimeStats:
    """What the clock says: per-request delays and throughput (seconds)."""

    step_model: str
    makespan_s: float  # first arrival to last completion
    busy_s: float  # time the engine ran steps
    queue_delay_s: tuple[float, float, float]  # mean, p50, p99: arrival to first scheduled
    ttft_s: tuple[float, float, float]  # arrival to the end of the step that finished the prompt
    latency_s: tuple[float, float, float]  # arrival to the last token
    output_tokens: int
    prefill_tokens: int  # prompt tokens computed (incl. recomputation after preemption)
    recomputed_tokens: int  # of which recomputed after a preemption

    @property
    def requests_per_s(self) -> float:
        return self._rate(1)

    def _rate(self, x):
        return x / self.makespan_s if self.makespan_s > 0 else 0.0

    def to_dict(self, completed: int) -> dict:
        def trio(t):
            return {"mean": round(t[0], 6), "p50": round(t[1], 6), "p99": round(t[2], 6)}

        return {
            "step_model": self.step_model,
            "makespan_s": round(self.makespan_s, 6),
            "busy_s": round(self.busy_s, 6),
            "requests_per_s": round(self._rate(completed), 6),
            "output_tokens_per_s": round(self._rate(self.output_tokens), 3),
            "queue_delay_s": trio(self.queue_delay_s),
            "ttft_s": trio(self.ttft_s),
            "latency_s": trio(self.latency_s),
            "output_tokens": self.output_tokens,
            "prefill_tokens": self.prefill_tokens,
            "recomputed_tokens": self.recomputed_tokens,
        }


@dataclass(frozen=True)
class CacheStats:
    """Prefix caching: what the first admission of each request found (tokens). With n samples
    a request counts n times, as vLLM V1 counts its n child requests: n prompts queried, and the
    blocks its samples share are hits for all but the first (kvplan.fragment.simulator admit)."""

    block_size: int
    prompt_tokens: int  # prompts of all requests (first admissions), n per request with n samples
    gpu_hit_tokens: int  # served from GPU-cached blocks (a request's shared blocks, for its other samples)
    tier_hit_tokens: tuple[int, ...]  # loaded from the CPU, disk tiers
    tier_names: tuple[str, ...]
    tier_capacity_tokens: tuple[int, ...]
    tier_peak_tokens: tuple[int, ...]
    tier_end_tokens: tuple[int, ...]
    transfer_s: float  # loading tier blocks at the link bandwidths
    recompute_s_avoided: float  # what computing the loaded tokens would have cost
    evicted_blocks: int
    key_source: str  # how blocks were named (trace hash ids, system prompt, samples)

    @property
    def hit_tokens(self) -> int:
        return self.gpu_hit_tokens + sum(self.tier_hit_tokens)

    @property
    def hit_rate(self) -> float:
        return self.hit_tokens / self.prompt_tokens if self.prompt_tokens else 0.0

    def to_dict(self) -> dict:
        tiers = {
            name: {"hit_tokens": hit, "capacity_tokens": cap, "peak_tokens": peak, "end_tokens": end}
            for name, hit, cap, peak, end in zip(self.tier_names, self.tier_hit_tokens, self.tier_capacity_tokens,
                                                self.tier_peak_tokens, self.tier_end_tokens)
        }
        return {
            "block_size": self.block_size,
            "keys": self.key_source,
            "prompt_tokens": self.prompt_tokens,
            "hit_rate": round(self.hit_rate, 6),
            "gpu_hit_tokens": self.gpu_hit_tokens,
            "prefill_tokens_saved": self.hit_tokens,
            "tiers": tiers,
            "transfer_s": round(self.transfer_s, 6),
            "recompute_s_avoided": round(self.recompute_s_avoided, 6),
            "evicted_blocks": self.evicted_blocks,
        }


@dataclass(frozen=True)
class PolicyResult:
    """What one policy did with one workload on one pool."""

    policy: str
    description: str
    pool_tokens: int  # slots in the pool (paged: whole blocks only)
    block_size: int | None
    requests: int
    completed: int
    preemptions: int
    peak_batch: int
    usage: Usage
    timing: TimeStats | None = None
    cache: CacheStats | None = None
    static: bool = False  # static batching: a request waits for the running batch, not for a seat

    def _free_while(self, kind: int) -> int:
        return self.pool_tokens * self.usage.wait_steps[kind] - self.usage.alloc_wait[kind]

    @property
    def external(self) -> int:
        """Free pool slots while a request waited for memory."""
        return self._free_while(WAIT_MEMORY)

    @property
    def seat_cap(self) -> int:
        """Free pool slots while a request waited for a seat (max_num_seqs binds, not memory)."""
        return self._free_while(WAIT_SEATS)

    @property
    def budget_cap(self) -> int:
        """Free pool slots while a request waited for the step's token budget."""
        return self._free_while(WAIT_BUDGET)

    @property
    def accounted(self) -> int:
        return self.usage.allocated + self.external + self.seat_cap + self.budget_cap

    def _share(self, part: int) -> float:
        return part / self.accounted if self.accounted else 0.0

    @property
    def token_state_share(self) -> float:
        return self._share(self.usage.token)

    @property
    def reserved_share(self) -> float:
        return self._share(self.usage.fillable - self.usage.token)

    @property
    def internal_share(self) -> float:
        """Slots never filled, padding excluded (it has its own share)."""
        return self._share(self.usage.allocated - self.usage.fillable - self.usage.padding)

    @property
    def padding_share(self) -> float:
        return self._share(self.usage.padding)

    @property
    def external_share(self) -> float:
        return self._share(self.external)

    @property
    def seat_cap_share(self) -> float:
        return self._share(self.seat_cap)

    @property
    def budget_cap_share(self) -> float:
        return self._share(self.budget_cap)

    @property
    def rounding_share(self) -> float:
        """The part of internal_share that is the allocator's power-of-two rounding (buddy)."""
        return self._share(self.usage.rounding)

    @property
    def shared_reads_share(self) -> float:
        """Token states that sharing served to more than one sequence, beyond the one stored."""
        return self._share(self.usage.shared_reads)

    @property
    def served_share(self) -> float:
        """The headline: token states as the sequences read them (a shared block counts once
        per reader) per slot of accounted memory. Equals token_state_share without sharing;
        with sharing it can pass 100%: one slot serves several sequences."""
        return self._share(self.usage.token + self.usage.shared_reads)

    @property
    def mean_batch(self) -> float:
        return self.usage.seq_steps / self.usage.steps if self.usage.steps else 0.0

    @property
    def completed_per_1000_steps(self) -> float:
        return 1000.0 * self.completed / self.usage.steps if self.usage.steps else 0.0

    def to_dict(self) -> dict:
        u = self.usage
        d = {
            "policy": self.policy,
            "description": self.description,
            "served_share": round(self.served_share, 6),
            "token_state_share": round(self.token_state_share, 6),
            "reserved_share": round(self.reserved_share, 6),
            "internal_share": round(self.internal_share, 6),
            "padding_share": round(self.padding_share, 6),
            "external_share": round(self.external_share, 6),
            "seat_cap_share": round(self.seat_cap_share, 6),
            "budget_cap_share": round(self.budget_cap_share, 6),
            "shared_reads_share": round(self.shared_reads_share, 6),
            "allocator_rounding_share": round(self.rounding_share, 6),
            "mean_batch": round(self.mean_batch, 3),
            "peak_batch": self.peak_batch,
            "completed_per_1000_steps": round(self.completed_per_1000_steps, 3),
            "preemptions": self.preemptions,
            "completed": self.completed,
            "requests": self.requests,
            "steps": u.steps,
            "block_size": self.block_size,
            "pool_tokens": self.pool_tokens,
            "token_steps": {
                "token_states": u.token,
                "reserved": u.fillable - u.token,
                "internal": u.allocated - u.fillable - u.padding,
                "padding": u.padding,
                "external": self.external,
                "seat_cap": self.seat_cap,
                "budget_cap": self.budget_cap,
                "shared_reads": u.shared_reads,
                "allocator_rounding": u.rounding,
                "allocated": u.allocated,
                "waiting_steps": u.waiting_steps,
                "waiting_steps_by_reason": {WAIT_NAMES[k]: u.wait_steps[k] for k in WAIT_NAMES},
                "sequence_steps": u.seq_steps,
            },
        }
        if self.timing is not None:
            d["time"] = self.timing.to_dict(self.completed)
        if self.cache is not None:
            d["prefix_cache"] = self.cache.to_dict()
        return d
