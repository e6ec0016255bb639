"""KV allocation policies: contiguous reservations (Orca baselines) and paged blocks.

Names follow the PagedAttention paper (Kwon et al., SOSP 2023, arXiv 2309.06180, §6.1),
whose Orca baselines reserve one contiguous chunk per request:

    orca-max     max_model_len slots per sequence ("always reserves the space up to the
                 maximum sequence length of the model, i.e., 2048 tokens")
    orca-pow2    the next power of two of the final length (prompt + output), at most
                 max_model_len
    orca-pow2-output  the paper's own Pow2: the prompt plus the next power of two of the
                 output ("if the true output length is 25, it reserves 32 positions for
                 outputs"), at most max_model_len
    orca-oracle  exactly the final length (the output length is known in advance)
    paged-B      blocks of B tokens (1 <= B <= 256), allocated on demand, one per B tokens
    paged-B-share  the same, plus a vLLM-style prefix cache: full prompt blocks named by
                 their prefix (a common system prompt, a request's prompt for its n
                 parallel samples, a trace's hash ids) are stored once, reference-counted,
                 and stay cached (evictable, in vLLM V1's free queue) after their requests end
    static, static-N  static batching (Hugging Face ``generate`` with padding,
                 FasterTransformer-style serving): batches of N requests (default: as many
                 max_model_len rows as fit the pool), one at a time, every row padded to
                 the batch's longest prompt plus its longest output and held until the
                 whole batch finishes
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kvplan.errors import BadInputError, UnknownNameError

#: The paper's Figure 18b sweeps block sizes 1 .. 256; so do we.
MAX_BLOCK_SIZE = 256



def _reserve_max(final_len: int, max_model_len: int, prompt_len: int) -> int:
    return max_model_len


def _reserve_pow2(final_len: int, max_model_len: int, prompt_len: int) -> int:
    return min(1 << (final_len - 1).bit_length(), max_model_len)


def _reserve_pow2_output(final_len: int, max_model_len: int, prompt_len: int) -> int:
    return min(prompt_len + (1 << (final_len - prompt_len - 1).bit_length()), max_model_len)


def _reserve_oracle(final_len: int, max_model_len: int, prompt_len: int) -> int:
    return final_len


#: Each contiguous policy's reservation rule: (final length, max_model_len, prompt length) -> slots.
_RESERVATIONS = {"max": _reserve_max, "pow2": _reserve_pow2, "pow2-output": _reserve_pow2_output,
                 "oracle": _reserve_oracle}
_RESERVE = tuple(_RESERVATIONS)
_PAGED = re.compile(r"^paged-(\d+)(-share)?$")
_STATIC = re.compile(r"^static(?:-(\d+))?$")


@dataclass(frozen=True)
class Policy:
    """One allocation policy. ``reserve`` is set for contiguous policies, ``block_size`` for paged."""

    name: str
    reserve: str | None = None
    block_size: int | None = None
    share: bool = False
    static: bool = False
    batch_size: int | None = None  # static: requests per batch (None: pool // max_model_len)

    @property
    def contiguous(self) -> bool:
        return self.reserve is not None

    @property
    def watermark_applies(self) -> bool:
        """Whether admission keeps vLLM V0's watermark of free blocks (BlockSpaceManager(watermark=0.01),
        vllm/core/block_manager.py, the block manager of the PagedAttention paper's vLLM, which
        the paged-B reproduction follows). paged-B-share models vLLM V1's KVCacheManager, whose
        prefix cache it reproduces, and V1 has no watermark: a request is admitted while its new
        blocks fit the free ones (v0.10.0 vllm/v1/core/kv_cache_manager.py:271, "if
        num_blocks_to_allocate > self.block_pool.get_num_free_blocks(): return None"; no
        watermark in vllm/v1/core of v0.8.0 or v0.19.1)."""
        return not self.share

    def reservation(self, final_len: int, max_model_len: int, prompt_len: int = 0) -> int:
        """Contiguous slots reserved for a sequence of ``prompt_len`` prompt tokens that will
        end at ``final_len`` tokens.

        orca-pow2 of 300 tokens reserves 512; of 1,500 with max_model_len 2,048 reserves 2,048.
        orca-pow2-output of prompt 100 + output 25 reserves 100 + 32 = 132."""
        return self.reservation_rule(final_len, max_model_len, prompt_len)

    @property
    def reservation_rule(self):
        """``reservation`` as a plain function of (final_len, max_model_len, prompt_len), for
        a simulator that asks it once per request."""
        rule = _RESERVATIONS.get(self.reserve)
        if rule is None:
            raise BadInputError(f"policy {self.name} is paged: it reserves no contiguous chunk")
        return rule

    def describe(self) -> str:
        if self.reserve == "max":
            return "contiguous, max_model_len per sequence"
        if self.reserve == "pow2":
            return "contiguous, next power of two of the final length"
        if self.reserve == "pow2-output":
            return "contiguous, prompt + next power of two of the output"
        if self.reserve == "oracle":
            return "contiguous, exact final length"
        if self.static:
            n = f"{self.batch_size} requests" if self.batch_size else "pool // max_model_len requests"
            return f"static batches of {n}, padded to the longest prompt + output, one at a time"
        extra = ", prefix cache (shared prompt blocks, vLLM V1's free queue, no watermark)" if self.share else ""
        return f"paged, {self.block_size}-token blocks on demand{extra}"


def known_policy_names() -> list[str]:
    return ["orca-max", "orca-pow2", "orca-pow2-output", "orca-oracle", "paged-16", "paged-16-share", "paged-1",
            "static", "static-8"]


def parse_policy(name: str) -> Policy:
    """``'orca-pow2'`` or ``'paged-32'`` / ``'paged-32-share'`` -> Policy."""
    key = str(name).strip().lower()
    if key.startswith("orca-") and key[5:] in _RESERVE:
        return Policy(name=key, reserve=key[5:])
    m = _PAGED.match(key)
    if m:
        block = int(m.group(1))
        if not 1 <= block <= MAX_BLOCK_SIZE:
            raise BadInputError(
                f"policy {name!r}: block size must be 1 to {MAX_BLOCK_SIZE} tokens, got {block} (e.g. paged-16)"
            )
        return Policy(name=f"paged-{block}{'-share' if m.group(2) else ''}", block_size=block, share=bool(m.group(2)))
    m = _STATIC.match(key)
    if m:
        size = int(m.group(1)) if m.group(1) else None
        if size is not None and size < 1:
            raise BadInputError(f"policy {name!r}: a static batch needs at least 1 request (e.g. static-8)")
        return Policy(name=key, static=True, batch_size=size)
    raise UnknownNameError(
        "policy", name, known_policy_names(),
        "use orca-max, orca-pow2, orca-pow2-output, orca-oracle, paged-B, paged-B-share, static or static-N"
    )


def parse_policies(text: str) -> list[Policy]:
    """Comma-separated policy names, deduplicated, order kept."""
    items = [t.strip() for t in str(text).split(",")]
    if not str(text).strip() or any(not t for t in items):
        raise BadInputError(f"--policies: empty item in {text!r} (e.g. orca-max,paged-16)")
    out: list[Policy] = []
    for item in items:
        pol = parse_policy(item)
        if pol not in out:
            out.append(pol)
    return out


def default_policies(block_size: int = 16, share: bool = True) -> list[Policy]:
    """The defaults: the paper's three Orca baselines, static batching, paged-B (vLLM's B =
    16), paged-B-share (left out with ``share=False``, e.g. beside a retention window), and
    paged-1 (the limit of paging: no block rounding at all, the smallest size in the
    paper's block-size sweep, Figure 18b)."""
    names = ["orca-max", "orca-pow2", "orca-oracle", "static", f"paged-{block_size}"]
    if share:
        names.append(f"paged-{block_size}-share")
    names.append("paged-1")
    out: list[Policy] = []
    for n in names:
        pol = parse_policy(n)
        if pol not in out:
            out.append(pol)
    return out
