"""How the simulated engine serves: time model, token budget, retention window, lookahead, tiers.

The defaults reproduce the offline step model (every prompt in its admission step, full
retention, no lookahead, no tiers) with the stated constant step time of
kvplan.fragment.timing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kvplan.errors import BadInputError
from kvplan.fragment.timing import ConstantStepTime, SpeculativeStepTime, StepTimeModel
from kvplan.gpus import pcie_bytes_per_s

#: PCIe 4.0 x16, one direction, after 128b/130b encoding: 16e9 x 16 x 128 / 130 / 8 =
#: 31,507,692,307 B/s, from the one PCIe rule (kvplan.gpus.pcie_bytes_per_s; the catalog's
#: pcie4 x16 links are the same figure). The stated default with --kv-pool-tokens (no GPU);
#: with --gpu the catalog's host link is used, and a GPU without one is refused
#: (--host-bandwidth overrides both).
DEFAULT_HOST_BANDWIDTH = pcie_bytes_per_s("pcie4", 16)
#: One PCIe 4.0 x4 NVMe SSD reading sequentially: about 7 GB/s (e.g. Samsung 990 PRO
#: datasheet, 7,450 MB/s); a stated default (--disk-bandwidth overrides it).
DEFAULT_DISK_BANDWIDTH = 7_000_000_000


@dataclass(frozen=True)
class Retention:
    """What a sequence keeps: everything, or its first ``sinks`` tokens plus its last
    ``window`` (StreamingLLM, Xiao et al., ICLR 2024: attention sinks + a rolling window;
    sinks = 0 is a plain sliding window). Paged: the blocks overlapping those tokens."""

    window: int | None = None
    sinks: int = 0

    def __post_init__(self):
        if self.window is not None and (not isinstance(self.window, int) or self.window < 1):
            raise BadInputError(f"--window must be a whole number of tokens >= 1, got {self.window!r}")
        if not isinstance(self.sinks, int) or self.sinks < 0:
            raise BadInputError(f"--sinks must be a whole number of tokens >= 0, got {self.sinks!r}")
        if self.sinks and self.window is None:
            raise BadInputError("--sinks needs --window (sinks are kept beside a rolling window)")

    @property
    def cap(self) -> int | None:
        """Tokens a sequence attends to at most (sinks + window), None for full retention."""
        return None if self.window is None else self.window + self.sinks

    def describe(self) -> str:
        if self.window is None:
            return "full"
        return f"window {self.window:,}" + (f" + {self.sinks} sink tokens" if self.sinks else "")


@dataclass(frozen=True)
class Tiers:
    """Memory below the GPU for evicted prefix-cache blocks (bytes), and its links (bytes/s)."""

    cpu_bytes: int = 0
    disk_bytes: int = 0
    bytes_per_token: int = 0  # per GPU, of the model's KV (all layers)
    host_bandwidth: int = DEFAULT_HOST_BANDWIDTH
    host_bandwidth_source: str = "default: PCIe 4.0 x16 after encoding, 31.51 GB/s"
    disk_bandwidth: int = DEFAULT_DISK_BANDWIDTH

    def __post_init__(self):
        for what, v in (("--cpu-kv-gib", self.cpu_bytes), ("--disk-kv-gib", self.disk_bytes)):
            if not isinstance(v, int) or v < 0:
                raise BadInputError(f"{what} must be >= 0, got {v!r}")
        for what, v in (("--host-bandwidth", self.host_bandwidth), ("--disk-bandwidth", self.disk_bandwidth)):
            if not isinstance(v, int) or v <= 0:
                raise BadInputError(f"{what} must be a positive number of bytes per second, got {v!r}")
        if (self.cpu_bytes or self.disk_bytes) and self.bytes_per_token <= 0:
            raise BadInputError("tiers need the model's KV bytes per token")

    @property
    def enabled(self) -> bool:
        return bool(self.cpu_bytes or self.disk_bytes)

    def blocks(self, block_size: int) -> tuple[int, int]:
        """(CPU blocks, disk blocks) of ``block_size`` tokens."""
        unit = block_size * self.bytes_per_token
        return self.cpu_bytes // unit, self.disk_bytes // unit

    def load_seconds(self, cpu_blocks: int, disk_blocks: int, block_size: int) -> float:
        """Copying blocks up to the GPU: CPU ones over the host link, disk ones at the slower
        of the disk and the host link."""
        unit = block_size * self.bytes_per_token
        return (cpu_blocks * unit / self.host_bandwidth
                + disk_blocks * unit / min(self.disk_bandwidth, self.host_bandwidth))


@dataclass(frozen=True)
class ServingConfig:
    """Everything about the engine the simulator needs besides the pool and the policy."""

    step_time: StepTimeModel = field(default_factory=ConstantStepTime)
    max_num_batched_tokens: int | None = None  # None: each prompt computed in its admission step
    retention: Retention = field(default_factory=Retention)
    tiers: Tiers = field(default_factory=Tiers)
    #: A prefix-cache hit gives up its last GPU block (vLLM with an EAGLE, EAGLE-3 or MTP
    #: drafter: kvplan.fragment.run.Speculative.drops_last_hit_block).
    drops_last_hit_block: bool = False

    def __post_init__(self):
        t = self.max_num_batched_tokens
        if t is not None and (not isinstance(t, int) or t < 1):
            raise BadInputError(f"--max-num-batched-tokens must be a whole number >= 1, got {t!r}")

    @property
    def lookahead(self) -> int:
        """Slots allocated beyond each decoding sequence's tokens under speculative decoding:
        the k tokens being verified plus the drafter's lookahead (kvplan.speculative: a
        request of n tokens reserves min(n + 2k, max_model_len) slots with a draft model,
        EAGLE or MTP; n + k with n-gram lookup)."""
        st = self.step_time
        if not isinstance(st, SpeculativeStepTime):
            return 0
        return st.num_speculative_tokens + st.lookahead_tokens

    @property
    def decode_tokens(self) -> int:
        """Budget tokens one decoding sequence takes per step: 1 + k (the sampled token and
        the k draft tokens verified)."""
        st = self.step_time
        return 1 + (st.num_speculative_tokens if isinstance(st, SpeculativeStepTime) else 0)
