"""How long one engine step takes: the step-time protocol the simulator asks.

A step-time model answers one question:

    step_seconds(num_decode_seqs, decode_kv_tokens, num_prefill_tokens) -> seconds

for an engine step in which ``num_decode_seqs`` sequences each decode one token while
reading ``decode_kv_tokens`` cached tokens between them, and ``num_prefill_tokens`` prompt
tokens are computed. kvplan's speed model (bytes and FLOPs over the GPU's bandwidth and
FLOP/s) plugs in here by implementing the same method; until it does, the simulator uses
:class:`ConstantStepTime`, a stated constant per step plus a stated time per prefill token,
printed beside every result and overridable (``--step-ms``, ``--prefill-ms-per-token``).

A model that ignores the KV read may say so (``uses_kv_tokens = False``) and the simulator
passes 0 instead of counting it. The simulator jumps over runs of steps in which only
decodes happen. A model may offer
``decode_run_seconds(num_seqs, kv_tokens, kv_growth, num_steps)`` (the sum over those steps,
the KV read growing by ``kv_growth`` tokens per step) to make that jump O(1); without it the
steps are summed one by one (exact, slower). Times are floats of seconds: they are
measurements of a model, not counts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from kvplan.errors import BadInputError

#: Default decode step: 25 ms. A stated assumption, not a measurement: OPT-13B's fp16
#: weights (12,853,473,280 parameters x 2 B = 25.7 GB, kvplan.params) read once per step
#: from an A100-40GB's 1,555 GB/s (datasheet) take 16.5 ms; reading the KV of a batch of
#: 30 ShareGPT sequences (14,400 tokens x 819,200 B = 11.8 GB) 7.6 ms more: 24.1 ms.
DEFAULT_STEP_S = 0.025
#: Default prefill cost: 0.2 ms per prompt token. Also stated, not measured: OPT-13B does
#: 2 x 12.85e9 = 25.7 GFLOP per token, 0.082 ms at the A100's 312 TFLOP/s dense FP16/BF16
#: peak (datasheet); 0.2 ms is that at 41% of peak.
DEFAULT_PREFILL_TOKEN_S = 0.0002


@runtime_checkable
class StepTimeModel(Protocol):
    """What the simulator needs from a speed model."""

    def step_seconds(self, num_decode_seqs: int, decode_kv_tokens: int, num_prefill_tokens: int) -> float:
        """Seconds for one engine step with this content."""
        ...

    def describe(self) -> str:
        """One line for the report: what the model assumes."""
        ...


@dataclass(frozen=True)
class ConstantStepTime:
    """``step_s`` per engine step plus ``prefill_token_s`` per prompt token computed in it.

    The KV read does not enter: every step costs the same (a memory-bound decode whose
    weight read dominates). A step of 20 decodes and a 300-token prompt chunk at the
    defaults takes 25 ms + 300 x 0.2 ms = 85 ms."""

    step_s: float = DEFAULT_STEP_S
    prefill_token_s: float = DEFAULT_PREFILL_TOKEN_S
    source: str = "default"
    #: the KV read does not enter: the simulator may skip counting it
    uses_kv_tokens = False

    def __post_init__(self):
        for what, v in (("step time", self.step_s), ("prefill time per token", self.prefill_token_s)):
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
                raise BadInputError(f"{what} must be a finite number of seconds >= 0, got {v!r}")
        if self.step_s <= 0:
            raise BadInputError(f"step time must be positive, got {self.step_s!r} s")

    def step_seconds(self, num_decode_seqs: int, decode_kv_tokens: int, num_prefill_tokens: int) -> float:
        return self.step_s + self.prefill_token_s * num_prefill_tokens

    def decode_run_seconds(self, num_seqs: int, kv_tokens: int, kv_growth: int, num_steps: int) -> float:
        return self.step_s * num_steps

    def describe(self) -> str:
        why = "assumed defaults, not measured" if self.source == "default" else self.source
        return (f"constant {1000 * self.step_s:g} ms per step + {1000 * self.prefill_token_s:g} ms per prefill "
                f"token ({why}; --step-ms, --prefill-ms-per-token)")

    def to_dict(self) -> dict:
        return {"kind": "constant", "step_s": self.step_s, "prefill_token_s": self.prefill_token_s,
                "source": self.source}


@dataclass(frozen=True)
class SpeculativeStepTime:
    """A step-time model seen through speculative decoding (mean field).

    Each engine step verifies ``num_speculative_tokens`` = k draft tokens per sequence and
    keeps on average ``tokens_per_step`` = (1 - a^(k+1)) / (1 - a) of them (a = acceptance
    rate; Leviathan et al., "Fast Inference from Transformers via Speculative Decoding",
    ICML 2023, eq. (1)), after k draft steps of ``draft_step_s`` each. The simulator counts
    one token per sequence per *token step*, so a token step of decodes takes
    (target step + k x draft step) / tokens_per_step; prompt tokens cost what the base
    model says. k = 4, a = 0.8: 3.36 tokens per step."""

    base: StepTimeModel
    num_speculative_tokens: int
    acceptance: float
    draft_step_s: float = 0.0
    #: Slots the drafter writes past the verified tokens (vLLM's num_lookahead_tokens: k for
    #: draft_model / eagle / mtp, 0 for ngram; kvplan.speculative.Speculative.lookahead_tokens).
    lookahead_tokens: int = 0

    def __post_init__(self):
        if not isinstance(self.num_speculative_tokens, int) or self.num_speculative_tokens < 1:
            raise BadInputError(f"--spec-tokens must be a whole number >= 1, got {self.num_speculative_tokens!r}")
        if not (0.0 <= self.acceptance < 1.0):
            raise BadInputError(f"--acceptance must be in [0, 1), got {self.acceptance!r}")
        if not (math.isfinite(self.draft_step_s) and self.draft_step_s >= 0):
            raise BadInputError(f"--draft-step-ms must be >= 0, got {self.draft_step_s!r}")

    @property
    def uses_kv_tokens(self) -> bool:
        return getattr(self.base, "uses_kv_tokens", True)

    @property
    def tokens_per_step(self) -> float:
        a, k = self.acceptance, self.num_speculative_tokens
        return (1.0 - a ** (k + 1)) / (1.0 - a)

    def _decode_part(self, seconds: float, steps: int) -> float:
        return (seconds + steps * self.num_speculative_tokens * self.draft_step_s) / self.tokens_per_step

    def step_seconds(self, num_decode_seqs: int, decode_kv_tokens: int, num_prefill_tokens: int) -> float:
        if not num_decode_seqs:
            return self.base.step_seconds(0, 0, num_prefill_tokens)
        dec = self.base.step_seconds(num_decode_seqs, decode_kv_tokens, 0)
        pre = self.base.step_seconds(num_decode_seqs, decode_kv_tokens, num_prefill_tokens) - dec
        return self._decode_part(dec, 1) + pre

    def decode_run_seconds(self, num_seqs: int, kv_tokens: int, kv_growth: int, num_steps: int) -> float:
        return self._decode_part(decode_run_seconds(self.base, num_seqs, kv_tokens, kv_growth, num_steps), num_steps)

    def describe(self) -> str:
        draft = (f"{1000 * self.draft_step_s:g} ms per draft step" if self.draft_step_s
                 else "draft steps not timed (--draft-step-ms)")
        return (f"{self.base.describe()}; speculative: k = {self.num_speculative_tokens}, acceptance "
                f"{self.acceptance:g} -> {self.tokens_per_step:.3f} tokens per step, {draft}")

    def to_dict(self) -> dict:
        base = self.base.to_dict() if hasattr(self.base, "to_dict") else {"kind": type(self.base).__name__}
        return {"kind": "speculative", "base": base, "num_speculative_tokens": self.num_speculative_tokens,
                "acceptance": self.acceptance, "tokens_per_step": self.tokens_per_step,
                "draft_step_s": self.draft_step_s}


@dataclass(frozen=True)
class SpeedModelStepTime:
    """kvplan's speed model (``kvplan.speed``: bytes and FLOPs per step over the GPU's
    bandwidth and FLOP/s, for the same capacity pool) as the simulator's step time.

    A run of decode-only steps is summed exactly up to 16 steps and, beyond, by the
    trapezoid rule over 16 equal parts of the run (the step time is piecewise linear in the
    KV read, so the error is that of a kink inside one part: well under 1% of a run)."""

    setup: object  # kvplan.speed.Setup
    label: str = ""
    uses_kv_tokens = True

    def step_seconds(self, num_decode_seqs: int, decode_kv_tokens: int, num_prefill_tokens: int) -> float:
        from kvplan.speed import engine_step_seconds

        return engine_step_seconds(self.setup, num_decode_seqs, decode_kv_tokens, num_prefill_tokens)

    def decode_run_seconds(self, num_seqs: int, kv_tokens: int, kv_growth: int, num_steps: int) -> float:
        if num_steps <= 16:
            return sum(self.step_seconds(num_seqs, kv_tokens + j * kv_growth, 0) for j in range(num_steps))
        parts = 16
        xs = [round(i * (num_steps - 1) / parts) for i in range(parts + 1)]
        ys = [self.step_seconds(num_seqs, kv_tokens + x * kv_growth, 0) for x in xs]
        inner = sum((xs[i + 1] - xs[i]) * (ys[i] + ys[i + 1]) / 2 for i in range(parts))
        return inner + (ys[0] + ys[-1]) / 2  # the trapezoid spans num_steps - 1 gaps; add the end halves

    def describe(self) -> str:
        return (f"kvplan speed model ({self.label}; docs/speed.md): each step's weights, KV read, compute and "
                f"collectives from the same capacity pool; sequences at their mean length")


def decode_run_seconds(model: StepTimeModel, num_seqs: int, kv_tokens: int, kv_growth: int, num_steps: int) -> float:
    """Seconds for ``num_steps`` decode-only steps, the first reading ``kv_tokens``."""
    if num_steps <= 0:
        return 0.0
    fast = getattr(model, "decode_run_seconds", None)
    if fast is not None:
        return fast(num_seqs, kv_tokens, kv_growth, num_steps)
    return sum(model.step_seconds(num_seqs, kv_tokens + j * kv_growth, 0) for j in range(num_steps))


def steps_until(model: StepTimeModel, clock: float, target: float, num_seqs: int, kv_tokens: int,
                kv_growth: int, limit: int) -> int:
    """The fewest decode steps j (0 <= j <= limit) after which ``clock`` reaches ``target``;
    ``limit`` if even that many do not reach it."""
    if clock >= target:
        return 0
    if isinstance(model, ConstantStepTime) or (
            isinstance(model, SpeculativeStepTime) and isinstance(model.base, ConstantStepTime)):
        per = decode_run_seconds(model, num_seqs, kv_tokens, kv_growth, 1)
        j = min(limit, max(0, math.ceil((target - clock) / per)))
        while j < limit and clock + per * j < target:  # float rounding guards
            j += 1
        while j > 0 and clock + per * (j - 1) >= target:
            j -= 1
        return j
    lo, hi = 0, limit  # clock + run(lo) < target; find the least j with run(j) >= target - clock
    if clock + decode_run_seconds(model, num_seqs, kv_tokens, kv_growth, hi) < target:
        return limit
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if clock + decode_run_seconds(model, num_seqs, kv_tokens, kv_growth, mid) >= target:
            hi = mid
        else:
            lo = mid
    return hi
