"""How many programs (thread blocks) of a compiled kernel one SM holds at once.

Used to size split-KV decode grids (kvplan.kernels.decode.default_num_splits) from the
real kernel, and by compile_check to report occupancy without a GPU. The rule (CUDA C
Programming Guide, "Occupancy" and "Technical Specifications per Compute Capability"):
registers are allocated per warp in units of 256 (8 per thread), shared memory per block
plus 1 KB the system reserves, and an SM also caps warps and blocks. sm_90 (H100/H200):
64 K registers, 64 warps, 32 blocks and 228 KB shared memory per SM.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SMLimits:
    registers: int = 65536
    warps: int = 64
    blocks: int = 32
    shared_bytes: int = 228 * 1024
    shared_reserved_per_block: int = 1024
    register_unit_per_warp: int = 256


SM90 = SMLimits()


def resident_blocks(registers_per_thread: int, shared_bytes: int, num_warps: int,
                    limits: SMLimits = SM90) -> tuple[int, str]:
    """(blocks per SM, what limits them: registers, warps, shared or blocks).

    Worked number: 168 registers x 32 threads = 5,376, rounded up to 5,376 (a multiple of
    256) per warp; 65,536 // 5,376 = 12 warps; 4-warp blocks -> 3 per SM."""
    unit = limits.register_unit_per_warp
    warp_regs = -(-registers_per_thread * 32 // unit) * unit
    by = {
        "registers": (limits.registers // warp_regs) // num_warps if warp_regs else limits.blocks,
        "warps": limits.warps // num_warps,
        "shared": limits.shared_bytes // (shared_bytes + limits.shared_reserved_per_block),
        "blocks": limits.blocks,
    }
    limit = min(by, key=by.get)
    return by[limit], limit


def device_limits(device) -> SMLimits:
    """The SM limits of a CUDA device as torch reports them (sm_90 values where it does not)."""
    import torch

    props = torch.cuda.get_device_properties(device)
    return SMLimits(
        registers=int(getattr(props, "regs_per_multiprocessor", SM90.registers)),
        warps=int(getattr(props, "max_threads_per_multi_processor", SM90.warps * 32)) // 32,
        shared_bytes=int(getattr(props, "shared_memory_per_multiprocessor", SM90.shared_bytes)),
    )


def compiled_resident_blocks(compiled, device) -> int | None:
    """Blocks per SM of a triton CompiledKernel on ``device`` (None if triton does not
    expose its registers: the caller then falls back to a default)."""
    try:
        if getattr(compiled, "n_regs", None) is None or getattr(compiled, "module", None) is None:
            compiled._init_handles()  # loads the binary: registers per thread become known
        regs = int(compiled.n_regs)
        shared = int(compiled.metadata.shared)
        warps = int(compiled.metadata.num_warps)
    except Exception:  # noqa: BLE001 - a triton without these attributes: use the default
        return None
    blocks, _ = resident_blocks(regs, shared, warps, device_limits(device))
    return max(1, blocks)
